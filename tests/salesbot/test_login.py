"""The staff door (issue 28): password + TOTP on the admin login page, recovery codes, two-factor required for
managers by default, lockout after ten failures (per user and per address) that a manager lifts, idle sessions
ending, every login and failure on the audit page, and the Content-Security-Policy on admin pages."""

import time

import pytest
from django.contrib.auth import get_user_model
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from salesbot import two_factor
from salesbot.models import SecurityEvent
from tests.team_helpers import chatter, manager

LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture(autouse=True)
def required_for_managers(settings):
    settings.TWO_FACTOR_REQUIRED = "managers"  # the default (tests/conftest.py turns it off elsewhere)


def code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def enrolled(user) -> tuple[TOTPDevice, list[str]]:
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=False)
    return device, two_factor.enroll(user, device)


def login(client, username, password="x", otp=""):
    return client.post(LOGIN, {"username": username, "password": password, "otp_token": otp, "next": "/admin/"})


def test_the_login_page_asks_for_the_code_and_carries_the_csp(client, db):
    r = client.get(LOGIN)
    assert r.status_code == 200 and 'name="otp_token"' in r.content.decode()
    csp = r["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp


def test_a_manager_logs_in_with_password_and_totp(client, db):
    boss = manager("boss")
    device, _ = enrolled(boss)
    r = login(client, "boss")  # no code
    assert r.status_code == 200 and "Enter the two-factor code" in r.content.decode()
    r = login(client, "boss", otp="000000" if code(device) != "000000" else "111111")
    assert r.status_code == 200 and "not right" in r.content.decode()
    assert login(client, "boss", otp=code(device)).status_code == 200  # django-otp: a pause after a wrong code
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    r = login(client, "boss", otp=code(device))
    assert r.status_code == 302 and r["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/fans/fan/").status_code == 200
    kinds = list(SecurityEvent.objects.filter(user=boss).values_list("kind", "detail"))
    assert kinds[0] == ("login", "with two-factor (authenticator app)")
    assert ("login_failed", "right password, wrong two-factor code") in kinds


def test_a_recovery_code_logs_in_once(client, db):
    boss = manager("boss")
    _, codes = enrolled(boss)
    assert len(codes) == 10 and StaticToken.objects.filter(device__user=boss).count() == 10
    assert login(client, "boss", otp=codes[0]).status_code == 302
    assert SecurityEvent.objects.filter(user=boss, kind="recovery_used").exists()
    client.logout()
    assert login(client, "boss", otp=codes[0]).status_code == 200  # used up
    assert StaticToken.objects.filter(device__user=boss).count() == 9


def test_a_manager_without_two_factor_must_set_it_up_first(client, db):
    boss = manager("boss")
    r = login(client, "boss")
    assert r.status_code == 302
    r = client.get("/admin/fans/fan/")
    assert r.status_code == 302 and r["Location"].startswith("/admin/account/security/")
    page = client.get(r["Location"]).content.decode()
    assert "required for your account" in page
    device = TOTPDevice.objects.get(user=boss, confirmed=False)
    assert two_factor.secret_of(device) in page
    r = client.post(
        "/admin/account/security/", {"op": "enroll", "code": "123456" if code(device) != "123456" else "654321"}
    )
    assert "not right" in r.content.decode()
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    r = client.post("/admin/account/security/", {"op": "enroll", "code": code(device)})
    page = r.content.decode()
    assert 'id="recovery-codes"' in page and page.count("<li><code>") == 10
    assert client.get("/admin/fans/fan/").status_code == 200  # verified in this session now
    assert SecurityEvent.objects.filter(user=boss, kind="two_factor").exists()
    # the API by this session too; before two-factor it did not open
    assert client.get("/api/health").status_code == 200


def test_an_unverified_managers_session_does_not_open_the_api(client, creator, db):
    boss = manager("boss")
    login(client, "boss")
    assert client.get(f"/api/{creator.slug}/stats").status_code in (401, 403)
    client.logout()
    client.force_login(boss)
    assert client.get("/admin/").status_code == 302  # force_login passed no second factor


def test_chatters_need_it_only_when_the_setting_says_everyone(client, creator, settings):
    chatter("maria", creator)
    assert login(client, "maria").status_code == 302
    assert client.get("/admin/fans/fan/").status_code == 200
    settings.TWO_FACTOR_REQUIRED = "everyone"
    assert client.get("/admin/fans/fan/").status_code == 302
    settings.TWO_FACTOR_REQUIRED = "off"
    client.logout()
    assert login(client, "boss-less", password="nope").status_code == 200


def test_ten_wrong_passwords_lock_the_account_until_a_manager_lifts_it(client, creator, db):
    maria = chatter("maria", creator)
    for _ in range(9):
        assert login(client, "maria", password="wrong").status_code == 200
    r = login(client, "maria", password="wrong")
    assert r.status_code == 429 and 'id="locked-out"' in r.content.decode()
    assert login(client, "maria").status_code == 429  # the right password no longer opens it
    assert SecurityEvent.objects.filter(user=maria, kind="locked_out").exists()
    assert SecurityEvent.objects.filter(user=maria, kind="login_failed").count() >= 10

    boss = manager("boss")
    device, _ = enrolled(boss)
    staff = client_class_for(client)
    staff.force_login(boss)
    from django_otp import DEVICE_ID_SESSION_KEY

    session = staff.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    audit = staff.get("/admin/reports/audit/").content.decode()
    assert "failed login: maria" in audit and "locked out" in audit
    page = staff.get("/admin/security/lockouts/").content.decode()
    assert "maria" in page
    from axes.models import AccessAttempt

    attempt = AccessAttempt.objects.filter(username="maria").first()
    r = staff.post("/admin/security/lockouts/", {"attempt": attempt.pk}, follow=True)
    assert "Lifted the lockout of maria" in r.content.decode()
    assert SecurityEvent.objects.filter(kind="unlocked", user=maria, by_user=boss).exists()
    assert login(client, "maria").status_code == 302
    assert "lockout lifted: maria" in staff.get("/admin/reports/audit/").content.decode()


def client_class_for(client):
    return type(client)()


def test_chatters_do_not_see_lockouts_or_others_logins(client, creator, db):
    maria = chatter("maria", creator)
    chatter("lee", creator)
    login(client.__class__(), "lee", password="wrong")
    client.force_login(maria)
    assert client.get("/admin/security/lockouts/").status_code == 403
    assert "failed login: lee" not in client.get("/admin/reports/audit/").content.decode()


def test_an_idle_session_ends(client, creator, settings):
    settings.SESSION_IDLE_MINUTES = 1
    maria = chatter("maria", creator)
    assert login(client, "maria").status_code == 302
    assert client.get("/admin/").status_code == 200
    session = client.session
    session[two_factor.LAST_SEEN] = time.time() - 50
    session.save()
    client.get("/admin/inbox/live/")  # the inbox's poll is not activity
    assert client.session[two_factor.LAST_SEEN] < time.time() - 45
    session = client.session
    session[two_factor.LAST_SEEN] = time.time() - 61
    session.save()
    r = client.get("/admin/")
    assert r.status_code == 302 and r["Location"].startswith("/admin/login/")
    assert SecurityEvent.objects.filter(user=maria, kind="idle_logout").exists()


def test_a_person_makes_and_revokes_their_own_token(client, creator, db):
    from rest_framework.authtoken.models import Token

    maria = chatter("maria", creator)
    client.force_login(maria)
    r = client.post("/admin/account/security/", {"op": "new_token", "name": "my script"}, follow=True)
    key = Token.objects.get(user=maria).key
    assert key in r.content.decode() and "my script" in r.content.decode()
    page = client.get("/admin/account/security/").content.decode()
    assert key not in page and key[-4:] in page
    client.post("/admin/account/security/", {"op": "revoke_token"})
    assert not Token.objects.filter(user=maria).exists()
    assert SecurityEvent.objects.filter(user=maria, kind="token_revoked", by_user=None).exists()


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/fans/fan/",
        "/admin/inbox/",
        "/admin/reports/audit/",
        "/admin/account/security/",
        "/admin/models_registry/creator/",
    ],
)
def test_every_admin_page_carries_the_csp(admin_client, creator, path, settings):
    settings.TWO_FACTOR_REQUIRED = "off"
    r = admin_client.get(path)
    assert r.status_code == 200 and "script-src 'self'" in r["Content-Security-Policy"], path


def test_the_api_is_left_out_of_the_csp(client, db):
    assert "Content-Security-Policy" not in client.get("/api/health")


def test_a_locked_out_login_is_counted_for_the_address_too(client, creator, db):
    chatter("maria", creator)
    chatter("lee", creator)
    for i in range(10):
        login(client, f"nobody{i}", password="wrong")  # ten different names from one address
    assert login(client, "lee").status_code == 429
    assert get_user_model().objects.filter(username="lee").exists()


def test_behind_a_proxy_the_address_is_the_clients_not_the_proxys(client, creator, settings):
    """PROXY_HOPS=1 (the PRODUCTION default): ten failures from one client lock that client's address, not the
    proxy's, so the rest of the team still logs in; a forged X-Forwarded-For entry further left changes nothing."""
    settings.PROXY_HOPS = 1
    chatter("maria", creator)
    for i in range(10):
        client.post(
            LOGIN,
            {"username": f"nobody{i}", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"6.6.6.{i}, 203.0.113.7",
            REMOTE_ADDR="10.0.0.2",
        )
    assert (
        client.post(
            LOGIN, {"username": "maria", "password": "x"}, HTTP_X_FORWARDED_FOR="203.0.113.7", REMOTE_ADDR="10.0.0.2"
        ).status_code
        == 429
    )
    assert (
        client.post(
            LOGIN,
            {"username": "maria", "password": "x", "next": "/admin/"},
            HTTP_X_FORWARDED_FOR="198.51.100.4",
            REMOTE_ADDR="10.0.0.2",
        ).status_code
        == 302
    )
    assert SecurityEvent.objects.filter(kind="login_failed", ip="203.0.113.7").count() == 11  # + the refused one
