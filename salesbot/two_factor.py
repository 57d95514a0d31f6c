"""The admin login that holds (issue 28): password + TOTP code (django-otp) on the one login page, recovery codes,
two-factor required for managers by default (TWO_FACTOR_REQUIRED = managers | everyone | off), sessions that
end after idle time, and the lockouts (django-axes) a manager sees and lifts.

- The login form (SalesbotAdminSite.login_form) asks for the code of a person who set up two-factor; a wrong
  code counts as a failed login for the lockout, like a wrong password.
- TwoFactorMiddleware sends a person two-factor is required for, and whose session did not pass it, to
  "Account security" (/admin/account/security/) until they set it up or enter a code; nothing else in admin
  opens meanwhile, nor does the API by session (salesbot.api.authentication.VerifiedSessionAuthentication).
- The same middleware ends a session idle for SESSION_IDLE_MINUTES; the inbox's background poll is not activity.
"""

import base64
import time

from django import forms
from django.conf import settings
from django.contrib import admin, auth, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from salesbot import security
from salesbot.models import SecurityEvent, TokenInfo
from team import scope

RECOVERY_CODES = 10
LAST_SEEN = "_salesbot_last_seen"
# Requests that are not a person's activity (the inbox polls every 1.5 s while its tab is open).
PASSIVE_PATHS = ("/admin/inbox/live/",)


def required_for(user) -> bool:
    policy = getattr(settings, "TWO_FACTOR_REQUIRED", "managers")
    if policy == "everyone":
        return True
    if policy == "managers":
        return scope.is_manager(user)
    return False


def needs_second_factor(request) -> bool:
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated and user.is_staff):
        return False
    verified = getattr(user, "is_verified", None)
    return required_for(user) and not (verified and verified())


def has_two_factor(user) -> bool:
    return user_has_device(user, confirmed=True)


# --- the login form ---------------------------------------------------------------------------------------


class OTPAdminLoginForm(AdminAuthenticationForm):
    otp_token = forms.CharField(
        label="Two-factor code",
        required=False,
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text="6 digits from your authenticator app, or one of your recovery codes.",
    )

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "otp_required": "Enter the two-factor code from your authenticator app (or a recovery code).",
        "otp_invalid": "That two-factor code is not right (or was already used). Try the current one.",
    }

    def clean(self):
        cleaned = super().clean()  # password checked (and counted by django-axes when wrong)
        user = self.get_user()
        if user is None or not has_two_factor(user):
            return cleaned
        token = (cleaned.get("otp_token") or "").replace(" ", "").strip()
        if not token:
            raise forms.ValidationError(self.error_messages["otp_required"], code="otp_required")
        device = match_token(user, token)
        if device is None:
            # Counted like a wrong password: ten wrong codes lock the account as ten wrong passwords do.
            self.request._login_failure_reason = "right password, wrong two-factor code"
            user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=self.request)
            if getattr(self.request, "axes_locked_out", False):
                raise PermissionDenied("locked out")
            raise forms.ValidationError(self.error_messages["otp_invalid"], code="otp_invalid")
        user.otp_device = device  # django-otp marks the session verified when the login completes
        return cleaned


# --- the middleware -------------------------------------------------------------------------------------


class TwoFactorMiddleware:
    """After django-otp's OTPMiddleware: idle sessions end; a person who must use two-factor and has not
    passed it this session reaches only "Account security" (and logout) in admin."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            if self._idle_expired(request):
                security.record(
                    SecurityEvent.Kind.IDLE_LOGOUT,
                    user=user,
                    request=request,
                    detail=f"no activity for {settings.SESSION_IDLE_MINUTES} minutes",
                )
                auth.logout(request)
            elif needs_second_factor(request) and self._guarded(request.path):
                return redirect(f"{reverse('admin:account_security')}?next={request.get_full_path()}")
        return self.get_response(request)

    @staticmethod
    def _idle_expired(request) -> bool:
        idle = getattr(settings, "SESSION_IDLE_MINUTES", 0)
        if not idle:
            return False
        now, last = time.time(), request.session.get(LAST_SEEN)
        if last is not None and now - last > idle * 60:
            return True
        if request.path not in PASSIVE_PATHS and (last is None or now - last > 30):
            request.session[LAST_SEEN] = now  # written at most every 30 s
        return False

    @staticmethod
    def _guarded(path: str) -> bool:
        admin_root = reverse("admin:index")
        if not path.startswith(admin_root):
            return False
        free = [
            reverse("admin:account_security"),
            reverse("admin:logout"),
            reverse("admin:login"),
            reverse("admin:jsi18n"),
        ]
        return not any(path.startswith(p) for p in free)


# --- "Account security": set up two-factor, recovery codes, your own API token -------------------------


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code from your authenticator app",
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


def _pending_device(user) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator app", confirmed=False)


def secret_of(device: TOTPDevice) -> str:
    """The base32 secret an authenticator app takes when typed in (the otpauth URI holds the same)."""
    return base64.b32encode(device.bin_key).decode()


@transaction.atomic
def new_recovery_codes(user) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(user=user, name="recovery codes", defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


@transaction.atomic
def enroll(user, device: TOTPDevice) -> list[str]:
    """Confirm the TOTP device (a code it made was entered) and give the person recovery codes."""
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return new_recovery_codes(user)


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    ok = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return target if ok and target else default


def account_security(request):
    """One page per person: two-factor (set up, or enter a code to continue), new recovery codes, and their
    own API token (make a named one, see its last use, revoke it)."""
    user, ctx = request.user, {}
    home = reverse("admin:index")
    op = request.POST.get("op") if request.method == "POST" else None
    enrolled = has_two_factor(user)
    form = CodeForm(request.POST if op in ("enroll", "verify") else None)
    if op == "enroll" and not enrolled and form.is_valid():
        device = _pending_device(user)
        if device.verify_token(form.cleaned_data["code"].replace(" ", "")):
            ctx["recovery_codes"] = enroll(user, device)
            otp_login(request, device)
            security.record(
                SecurityEvent.Kind.TWO_FACTOR,
                user=user,
                request=request,
                detail="authenticator app set up; recovery codes made",
            )
            enrolled = True
            messages.success(request, "Two-factor is on. Keep the recovery codes below somewhere safe.")
        else:
            form.add_error("code", "That code is not right: check the app's clock and enter the current code.")
    elif op == "verify" and enrolled and form.is_valid():
        device = match_token(user, form.cleaned_data["code"].replace(" ", ""))
        if device is not None:
            otp_login(request, device)
            return HttpResponseRedirect(_safe_next(request, home))
        form.add_error("code", "That code is not right (or was already used).")
    elif op == "recovery" and enrolled and user.is_verified():
        ctx["recovery_codes"] = new_recovery_codes(user)
        security.record(
            SecurityEvent.Kind.RECOVERY_CODES,
            user=user,
            request=request,
            detail="new recovery codes (the old ones no longer work)",
        )
    elif op == "new_token" and not needs_second_factor(request):
        token = security.create_token(user, request.POST.get("name", "").strip(), request=request)
        messages.warning(request, f"Your API token: {token.key} — copy it now, it is not shown again.")
        return HttpResponseRedirect(request.path)
    elif op == "revoke_token" and not needs_second_factor(request):
        for token in Token.objects.filter(user=user):
            security.revoke_token(token, by=user, request=request)
        messages.success(request, "Your API token is revoked: it answers 401 from now on.")
        return HttpResponseRedirect(request.path)

    token = Token.objects.filter(user=user).first()
    info = TokenInfo.objects.filter(token=token).first() if token else None
    pending = None if enrolled else _pending_device(user)
    ctx.update(
        {
            **admin.site.each_context(request),
            "title": "Account security",
            "enrolled": enrolled,
            "verified": bool(user.is_verified()),
            "required": required_for(user),
            "form": form,
            "secret": secret_of(pending) if pending else "",
            "otpauth": pending.config_url if pending else "",
            "recovery_left": StaticToken.objects.filter(device__user=user).count(),
            "token": token,
            "token_info": info,
            "masked_key": f"••••{token.key[-4:]}" if token else "",
            "next": _safe_next(request, ""),
            "is_manager": scope.is_manager(user),
        }
    )
    return TemplateResponse(request, "admin/account_security.html", ctx)


# --- lockouts: seen and lifted by managers ----------------------------------------------------------------


def lockouts_page(request):
    if not scope.is_manager(request.user):
        raise PermissionDenied
    if request.method == "POST":
        what = security.unlock(int(request.POST.get("attempt") or 0), by=request.user, request=request)
        if what:
            messages.success(request, f"Lifted the lockout of {what}: they can log in again.")
        return HttpResponseRedirect(request.path)
    ctx = {
        **admin.site.each_context(request),
        "title": "Locked logins",
        "lockouts": security.lockouts(),
        "limit": settings.AXES_FAILURE_LIMIT,
        "cooloff_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
        if settings.AXES_COOLOFF_TIME
        else None,
    }
    return TemplateResponse(request, "admin/lockouts.html", ctx)
