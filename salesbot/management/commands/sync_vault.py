"""`manage.py sync_vault SLUG`: pull the creator's vault from OnlyFansAPI.com (paged through hasMore)
and list the media no content key maps yet; `--map KEY=ID[,ID]` adds media ids to a content key.
The work is salesbot.providers.onlyfansapi.setup's (the creator admin's actions call it too)."""

from django.core.management.base import BaseCommand, CommandError

from models_registry.models import Creator
from salesbot.providers import onlyfansapi
from salesbot.providers.onlyfansapi import setup


class Command(BaseCommand):
    help = "Pull a creator's vault from OnlyFansAPI.com and show (or map) media not yet mapped to a content key."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument(
            "--map",
            dest="maps",
            action="append",
            default=[],
            metavar="KEY=ID[,ID]",
            help="add these vault media ids to content key KEY (repeatable)",
        )

    def handle(self, *args, slug, maps, **opts):
        creator = Creator.objects.filter(slug=slug, provider=onlyfansapi.NAME).first()
        if creator is None:
            raise CommandError(f"No OnlyFansAPI.com creator '{slug}'.")
        try:
            for spec in maps:
                key, _, ids = spec.partition("=")
                if not key or not ids:
                    raise setup.SetupError(f"--map {spec}: expected a content key and media ids (KEY=ID,ID).")
                self.stdout.write(f"mapped {key} → {setup.map_media(creator, key, ids.split(','))}")
            synced = setup.sync_vault(creator)
        except setup.SetupError as e:
            raise CommandError(str(e)) from e
        self.stdout.write(self.style.SUCCESS(synced.summary()))
        for m in synced.unmapped:
            self.stdout.write(f"  {m['id']}  {m.get('type', '?')}  {m.get('createdAt', '')}")
