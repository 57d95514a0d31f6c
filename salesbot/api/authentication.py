"""`Authorization: Token …` as DRF reads it, plus what a token carries (salesbot.models.TokenInfo): an expired
token answers 401 like an unknown or revoked one, and each use is noted (at most once a minute per token)."""

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.authentication import SessionScheme
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication

from salesbot.models import TokenInfo

NOTE_EVERY = timedelta(minutes=1)


class ExpiringTokenAuthentication(TokenAuthentication):
    def authenticate(self, request):
        self._request = request
        return super().authenticate(request)

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        info, _ = TokenInfo.objects.get_or_create(token=token)
        now = timezone.now()
        if info.expires_at is not None and info.expires_at <= now:
            raise exceptions.AuthenticationFailed("Token expired.")
        if info.last_used is None or now - info.last_used >= NOTE_EVERY:
            ip = getattr(self, "_request", None) and self._request.META.get("REMOTE_ADDR")
            TokenInfo.objects.filter(pk=info.pk).update(last_used=now, last_used_ip=ip or None)
        return user, token


class VerifiedSessionAuthentication(SessionAuthentication):
    """An admin session opens the API only once it passed the two-factor step its person needs."""

    def authenticate(self, request):
        found = super().authenticate(request)
        if found is None:
            return None
        from salesbot.two_factor import needs_second_factor

        return None if needs_second_factor(request._request) else found


class VerifiedSessionScheme(SessionScheme):
    """The OpenAPI schema describes it as the admin session cookie it is."""

    target_class = "salesbot.api.authentication.VerifiedSessionAuthentication"
