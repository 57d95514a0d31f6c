"""The staff door: who logged in, who failed, who was locked out and who lifted it, two-factor, API tokens
(named, expiring, revocable). Every such event is a SecurityEvent, shown on the audit page (salesbot.audit)."""

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from salesbot.models import SecurityEvent, TokenInfo
from team import scope

Kind = SecurityEvent.Kind


def client_address(request) -> str | None:
    """The address a login comes from (django-axes counts failures per address with it: AXES_CLIENT_IP_CALLABLE).
    Behind PROXY_HOPS trusted proxies (1 with PRODUCTION: gunicorn behind one proxy) it is the entry that many
    hops from the right of X-Forwarded-For, which the client cannot forge; else the connection's address."""
    hops = getattr(settings, "PROXY_HOPS", 0)
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if hops and len(forwarded) >= hops:
        return forwarded[-hops]
    return request.META.get("REMOTE_ADDR") or None


def client_ip(request) -> str | None:
    if request is None:
        return None
    return getattr(request, "axes_ip_address", None) or client_address(request)


def record(kind: str, *, user=None, username: str = "", by=None, request=None, detail: str = "") -> SecurityEvent:
    return SecurityEvent.objects.create(
        kind=kind,
        user=user if getattr(user, "pk", None) else None,
        username=username or getattr(user, "username", "") or "",
        by_user=by if getattr(by, "pk", None) else None,
        ip=client_ip(request),
        detail=detail[:300],
    )


# --- logins -----------------------------------------------------------------------------------------


@receiver(user_logged_in, dispatch_uid="salesbot.security.logged_in")
def _logged_in(sender, request, user, **kwargs):
    if request is None or "REMOTE_ADDR" not in request.META:
        return  # a test client's force_login, a script: no one came through the door
    kind = type(getattr(user, "otp_device", None)).__name__  # django-otp's device that took the code, if any
    if kind == "StaticDevice":
        record(Kind.RECOVERY_USED, user=user, request=request, detail="with a recovery code")
    else:
        record(
            Kind.LOGIN,
            user=user,
            request=request,
            detail="with two-factor (authenticator app)" if kind == "TOTPDevice" else "password only",
        )


@receiver(user_login_failed, dispatch_uid="salesbot.security.login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    if request is None:
        return  # authenticate() outside a request (a script, a test client's login): nobody knocked
    username = str(credentials.get("username", ""))[:150]
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=username).first()
    reason = getattr(request, "_login_failure_reason", "") or (
        "refused: locked out" if getattr(request, "axes_locked_out", False) else "wrong password or unknown user"
    )
    record(Kind.LOGIN_FAILED, user=user, username=username, request=request, detail=reason)


@receiver(user_locked_out, dispatch_uid="salesbot.security.locked_out")
def _locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    locked_out(request, username or "")


def locked_out(request, username: str) -> None:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=username).first()
    record(
        Kind.LOCKED_OUT,
        user=user,
        username=username,
        request=request,
        detail="too many failed logins: locked until the cool-off passes or a manager lifts it",
    )


def lockouts() -> list:
    """The login lockouts in force now (django-axes' attempts at or over the limit, within the cool-off)."""
    from axes.conf import settings as axes_settings
    from axes.helpers import get_failure_limit
    from axes.models import AccessAttempt

    rows = AccessAttempt.objects.order_by("-attempt_time")
    limit = get_failure_limit(None, {})
    if axes_settings.AXES_COOLOFF_TIME:
        from axes.helpers import get_cool_off
        from django.utils import timezone

        rows = rows.filter(attempt_time__gte=timezone.now() - get_cool_off())
    return [a for a in rows if a.failures_since_start >= limit]


def unlock(attempt_id: int, by, request=None) -> str:
    """Lift one lockout (a manager's act, on the lockouts page): the username's and the address's counts."""
    from axes.models import AccessAttempt

    attempt = AccessAttempt.objects.filter(pk=attempt_id).first()
    if attempt is None:
        return ""
    what = " from ".join(x for x in (attempt.username, attempt.ip_address) if x)
    with transaction.atomic():
        if attempt.username:
            AccessAttempt.objects.filter(username=attempt.username).delete()
        if attempt.ip_address:
            AccessAttempt.objects.filter(ip_address=attempt.ip_address).delete()
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=attempt.username).first() if attempt.username else None
    record(
        Kind.UNLOCKED,
        user=user,
        username=attempt.username or "",
        by=by,
        request=request,
        detail=f"lifted the lockout of {what}",
    )
    return what


# --- API tokens ---------------------------------------------------------------------------------------


@receiver(post_save, sender=Token, dispatch_uid="salesbot.security.token_info")
def _token_made(sender, instance, created, **kwargs):
    if created:
        TokenInfo.objects.get_or_create(token=instance)


def create_token(user, name: str = "", *, by=None, request=None, days: int | None = None) -> Token:
    """A new API token for `user` (DRF keeps one per user: an earlier one is revoked). The caller shows the
    key once."""
    from datetime import timedelta

    from django.utils import timezone

    with transaction.atomic():
        for old in Token.objects.filter(user=user):
            revoke_token(old, by=by or user, request=request, detail="replaced by a new token")
        token = Token.objects.create(user=user)
        info, _ = TokenInfo.objects.get_or_create(token=token)
        info.name = name[:80]
        if days is not None:
            info.expires_at = timezone.now() + timedelta(days=days) if days else None
        info.save()
        record(
            Kind.TOKEN_CREATED,
            user=user,
            by=by if by is not None and by != user else None,
            request=request,
            detail=f"'{info.name or 'unnamed'}', expires {info.expires_at:%Y-%m-%d}"
            if info.expires_at
            else f"'{info.name or 'unnamed'}', never expires",
        )
    return token


def may_revoke(person, token) -> bool:
    """A person revokes their own token; a manager any token of a person in their scope."""
    if token.user_id == person.pk:
        return True
    return scope.is_manager(person) and (person.is_superuser or not token.user.is_superuser)


def revoke_token(token, *, by, request=None, detail: str = "") -> None:
    info = TokenInfo.objects.filter(token=token).first()
    name = info.name if info and info.name else "unnamed"
    user, key = token.user, token.key
    token.delete()
    record(
        Kind.TOKEN_REVOKED,
        user=user,
        by=by if by is not None and by != user else None,
        request=request,
        detail=f"'{name}' ending …{key[-4:]}" + (f": {detail}" if detail else ""),
    )
