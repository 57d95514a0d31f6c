"""Staff API tokens carry a name, creation time, last use and expiry (salesbot.models.TokenInfo): an expired or
revoked token answers 401 on every ops route (the same resolver walk as test_auth), a manager revokes any token
in admin, and every token made or revoked is on the audit trail."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from salesbot import security
from salesbot.models import SecurityEvent, TokenInfo
from tests.api.test_auth import PROTECTED_CALLS, call, concrete
from tests.team_helpers import chatter, manager


def _api(key):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


@pytest.fixture
def boss(db):
    return manager("boss")


@pytest.fixture
def expired_api(boss):
    token = security.create_token(boss, "old integration")
    TokenInfo.objects.filter(token=token).update(expires_at=timezone.now() - timedelta(seconds=1))
    return _api(token.key)


@pytest.fixture
def revoked_api(boss):
    token = security.create_token(boss, "leaked laptop")
    security.revoke_token(token, by=boss)
    return _api(token.key)


@pytest.mark.parametrize("route,method", PROTECTED_CALLS)
def test_an_expired_token_is_401_on_every_ops_route(expired_api, creator, fan, route, method):
    r = call(expired_api, method, concrete(route, creator, fan))
    assert r.status_code == 401, (route, method, r.status_code)


@pytest.mark.parametrize("route,method", PROTECTED_CALLS)
def test_a_revoked_token_is_401_on_every_ops_route(revoked_api, creator, fan, route, method):
    r = call(revoked_api, method, concrete(route, creator, fan))
    assert r.status_code == 401, (route, method, r.status_code)


def test_a_token_has_a_name_an_expiry_and_notes_its_last_use(boss, creator, settings):
    settings.API_TOKEN_DAYS = 30
    token = security.create_token(boss, "ops dashboard")
    info = TokenInfo.objects.get(token=token)
    assert info.name == "ops dashboard" and info.last_used is None
    assert timedelta(days=29) < info.expires_at - timezone.now() <= timedelta(days=30)
    assert _api(token.key).get(f"/api/{creator.slug}/stats").status_code == 200
    info.refresh_from_db()
    assert info.last_used is not None and info.last_used_ip == "127.0.0.1"
    r = _api(token.key).get(f"/api/{creator.slug}/stats")
    assert r.status_code == 200
    TokenInfo.objects.filter(pk=info.pk).update(expires_at=timezone.now())
    r = _api(token.key).get(f"/api/{creator.slug}/stats")
    assert r.status_code == 401 and r.json()["error"] == "Token expired."


def test_tokens_made_in_tests_and_scripts_get_details_too(boss):
    """DRF's Token.objects.create (team add --token, older scripts) still makes a token with an expiry."""
    token = Token.objects.create(user=boss)
    assert TokenInfo.objects.get(token=token).expires_at > timezone.now()


def test_team_add_names_the_token_and_says_when_it_expires(db, capsys):
    call_command("team", "add", "ops", "--role", "manager", "--token", "--token-name", "grafana")
    out = capsys.readouterr().out
    assert "API token (shown once" in out and "it expires 20" in out
    assert TokenInfo.objects.get(token__user__username="ops").name == "grafana"


def test_a_manager_sees_every_token_named_and_revokes_any(client, boss, creator):
    maria = chatter("maria", creator)
    token = security.create_token(maria, "maria's phone")
    client.force_login(boss)
    page = client.get("/admin/salesbot/stafftoken/").content.decode()
    assert "maria&#x27;s phone" in page and token.key not in page and "never" in page  # never used yet
    r = client.post(f"/admin/salesbot/stafftoken/{maria.pk}/delete/", {"post": "yes"}, follow=True)
    assert r.status_code == 200 and not Token.objects.filter(user=maria).exists()
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.TOKEN_REVOKED)
    assert event.user == maria and event.by_user == boss and "maria's phone" in event.detail
    assert _api(token.key).get(f"/api/{creator.slug}/stats").status_code == 401


def test_a_manager_makes_a_named_token_that_expires(client, boss, creator):
    maria = chatter("maria", creator)
    client.force_login(boss)
    r = client.post(
        "/admin/salesbot/stafftoken/add/", {"user": maria.pk, "name": "reporting", "expires_in_days": 7}, follow=True
    )
    key = Token.objects.get(user=maria).key
    assert key in r.content.decode()
    info = TokenInfo.objects.get(token_id=key)
    assert info.name == "reporting" and timedelta(days=6) < info.expires_at - timezone.now() <= timedelta(days=7)
    assert SecurityEvent.objects.filter(kind="token_created", user=maria, by_user=boss).exists()


def test_only_a_superuser_revokes_a_superusers_token(boss):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", "r@x.test", "x")
    token = security.create_token(root, "root's")
    assert not security.may_revoke(boss, token) and security.may_revoke(root, token)
    assert security.may_revoke(boss, security.create_token(boss, "mine"))
