from django.core.management.base import BaseCommand, CommandError

from team.models import TeamMember
from team.services import add_member

Creator = TeamMember.creators.field.related_model  # team sits below models_registry: no import


class Command(BaseCommand):
    help = "Team members: `team add USERNAME --role chatter|manager [--creator SLUG …] [--token]`."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="op", required=True)
        add = sub.add_parser("add", help="create or update a member")
        add.add_argument("username")
        add.add_argument("--role", choices=TeamMember.Role.values, required=True)
        add.add_argument("--creator", action="append", default=[], help="a creator's slug (repeatable)")
        add.add_argument("--password", help="admin login password (else the user logs in only after a reset)")
        add.add_argument("--token", action="store_true", help="create an API token, printed once")
        add.add_argument("--token-name", default="", help="what the token is for (shown in admin)")
        sub.add_parser("list", help="members, roles and creators")

    def handle(self, *args, **opts):
        if opts["op"] == "list":
            for m in TeamMember.objects.select_related("user").prefetch_related("creators"):
                slugs = (
                    "every creator"
                    if m.role == TeamMember.Role.MANAGER
                    else ", ".join(c.slug for c in m.creators.all())
                )
                self.stdout.write(f"{m.user.username}\t{m.role}\t{slugs}")
            return
        slugs = opts["creator"]
        creators = list(Creator.objects.filter(slug__in=slugs))
        missing = set(slugs) - {c.slug for c in creators}
        if missing:
            raise CommandError(f"unknown creator(s): {', '.join(sorted(missing))}")
        if opts["role"] == TeamMember.Role.CHATTER and not creators:
            self.stderr.write("note: a chatter without creators sees nothing until one is assigned")
        member, key = add_member(
            opts["username"],
            opts["role"],
            creators,
            password=opts["password"],
            token=opts["token"],
            token_name=opts["token_name"] or "manage.py team",
        )
        self.stdout.write(
            f"{member.user.username}: {member.role}"
            + (f" of {', '.join(c.slug for c in creators)}" if creators else "")
        )
        if key:
            self.stdout.write(f"API token (shown once, copy it now): {key}")
            info = getattr(member.user.auth_token, "info", None)
            if info is not None:
                self.stdout.write(
                    f"it expires {info.expires_at:%Y-%m-%d %H:%M} UTC" if info.expires_at else "it never expires"
                )
