"""Creating team members (admin and `manage.py team`)."""

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token

from team.models import TeamMember


@transaction.atomic
def add_member(
    username: str, role: str, creators=(), *, password: str | None = None, token: bool = False, token_name: str = ""
) -> tuple[TeamMember, str | None]:
    """Create (or update) a staff user with its role and creators; returns the member and, when asked, a
    new API token key (the caller shows it once: it is never shown again)."""
    user, created = get_user_model().objects.get_or_create(username=username, defaults={"is_staff": True})
    if password:
        user.set_password(password)
        user.save(update_fields=["password"])
    elif created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    member, _ = TeamMember.objects.update_or_create(user=user, defaults={"role": role})
    member.creators.set(list(creators))
    key = None
    if token:
        Token.objects.filter(user=user).delete()
        made = Token.objects.create(user=user)
        info = getattr(made, "info", None)  # the token's name and expiry (salesbot.models.TokenInfo)
        if info is not None and token_name:
            info.name = token_name[:80]
            info.save(update_fields=["name"])
        key = made.key
    return member, key
