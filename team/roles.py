"""The two roles as Django groups, so admin and the ops API check the same permissions: a chatter reads
the creators' settings and works fans and drafts; a manager may change everything, team included."""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

CHATTERS, MANAGERS = "chatters", "managers"

CHATTER_PERMS = [
    "models_registry.view_creator",
    "models_registry.view_vaultitem",
    "fans.view_fan",
    "fans.change_fan",
    "fans.view_needshumanfan",
    "fans.change_needshumanfan",
    "fans.view_message",
    "fans.view_fantransition",
    "learning.view_action",
    "learning.view_outcome",
    "salesbot.view_draft",
    "salesbot.change_draft",
    "campaigns.view_segment",
    "campaigns.view_campaign",
]
MANAGER_APPS = ["models_registry", "fans", "learning", "salesbot", "campaigns", "team", "authtoken"]
MANAGER_EXTRA = ["auth.view_user", "auth.add_user", "auth.change_user"]


def _perms(names):
    q = Q(pk__in=[])
    for name in names:
        app, codename = name.split(".")
        q |= Q(content_type__app_label=app, codename=codename)
    return Permission.objects.filter(q)


def sync_groups(**kwargs):
    """Create or refresh the role groups (after migrate; idempotent)."""
    chatters, _ = Group.objects.get_or_create(name=CHATTERS)
    chatters.permissions.set(_perms(CHATTER_PERMS))
    managers, _ = Group.objects.get_or_create(name=MANAGERS)
    managers.permissions.set(
        Permission.objects.filter(content_type__app_label__in=MANAGER_APPS)
        | _perms(MANAGER_EXTRA)
        | _perms(CHATTER_PERMS)
    )


def apply_role(member) -> None:
    """The member's user is staff and in exactly the group of its role."""
    from team.models import TeamMember

    if Group.objects.filter(name__in=[CHATTERS, MANAGERS]).count() < 2:
        sync_groups()
    user = member.user
    groups = Group.objects.filter(name__in=[CHATTERS, MANAGERS])
    user.groups.remove(*groups)
    user.groups.add(groups.get(name=MANAGERS if member.role == TeamMember.Role.MANAGER else CHATTERS))
    if not user.is_staff:
        type(user).objects.filter(pk=user.pk).update(is_staff=True)
        user.is_staff = True
