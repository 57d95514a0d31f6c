"""Every ops endpoint needs a staff token; health is open; webhooks take an HMAC, never a token."""
import pytest
from django.urls import get_resolver

from salesbot.api import urls as api_urls

# (method, path under /api/<slug>/) for every token-protected per-creator endpoint.
PROTECTED = [
    ("get", "stats"),
    ("get", "queue"),
    ("get", "performance"),
    ("get", "training"),
    ("get", "learning/stats"),
    ("get", "fan/{fan_id}"),
    ("post", "fan/{fan_id}/handoff"),
    ("post", "enable"),
    ("post", "disable"),
    ("post", "reactivate"),
]
OPEN = [("get", "/api/health"), ("get", "/api/{slug}/health")]
WEBHOOKS = ["/api/{slug}/webhook/of-event", "/api/webhook/of-event"]


def url(path, creator, fan):
    return f"/api/{creator.slug}/" + path.format(fan_id=fan.fan_id)


def call(client, method, path):
    return getattr(client, method)(path, format="json")


def test_every_route_of_the_ops_api_is_covered_here():
    """A new endpoint without an auth test fails this test."""
    routes = {str(p.pattern).removeprefix("<slug:creator_slug>/") for p in api_urls.urlpatterns}
    covered = {p.replace("{fan_id}", "<int:fan_id>") for _, p in PROTECTED} | {"health", "webhook/<str:kind>"}
    assert routes == covered


@pytest.mark.parametrize("method,path", PROTECTED)
def test_no_token_is_401(anon_api, creator, fan, method, path):
    r = call(anon_api, method, url(path, creator, fan))
    assert r.status_code == 401
    assert r["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("method,path", PROTECTED)
def test_unknown_token_is_401(bad_token_api, creator, fan, method, path):
    assert call(bad_token_api, method, url(path, creator, fan)).status_code == 401


@pytest.mark.parametrize("method,path", PROTECTED)
def test_non_staff_token_is_403(user_api, creator, fan, method, path):
    assert call(user_api, method, url(path, creator, fan)).status_code == 403


@pytest.mark.parametrize("method,path", PROTECTED)
def test_staff_token_is_2xx(staff_api, creator, fan, method, path):
    r = call(staff_api, method, url(path, creator, fan))
    assert 200 <= r.status_code < 300, r.content


@pytest.mark.parametrize("method,path", PROTECTED)
def test_wrong_method_is_405_for_staff(staff_api, creator, fan, method, path):
    other = "post" if method == "get" else "get"
    assert call(staff_api, other, url(path, creator, fan)).status_code == 405


@pytest.mark.parametrize("method,path", PROTECTED)
def test_auth_is_checked_before_the_creator_is_looked_up(anon_api, staff_api, fan, method, path):
    missing = f"/api/nobody/" + path.format(fan_id=fan.fan_id)
    assert call(anon_api, method, missing).status_code == 401
    assert call(staff_api, method, missing).status_code == 404


def test_session_login_of_a_non_staff_user_is_403(client, django_user_model, creator, fan):
    user = django_user_model.objects.create_user("viewer", password="pw")
    client.force_login(user)
    assert client.get(f"/api/{creator.slug}/stats").status_code == 403


@pytest.mark.parametrize("method,path", OPEN)
@pytest.mark.parametrize("who", ["anon_api", "user_api", "staff_api"])
def test_health_is_open(request, creator, method, path, who):
    api = request.getfixturevalue(who)
    r = call(api, method, path.format(slug=creator.slug))
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_creator_health_says_version_and_switch(anon_api, creator):
    body = anon_api.get(f"/api/{creator.slug}/health").json()
    assert body == {"status": "ok", "version": "0.1.0", "creator": creator.slug, "enabled": True}


@pytest.mark.parametrize("path", WEBHOOKS)
def test_webhooks_ignore_tokens_and_need_the_signature(staff_api, anon_api, creator, path):
    body = {"event_id": "e1", "event": "messages.received", "account_id": creator.account_id,
            "created_at": "2026-11-24T18:00:00Z", "payload": {}}
    assert staff_api.post(path.format(slug=creator.slug), body, format="json").status_code == 401
    assert anon_api.post(path.format(slug=creator.slug), body, format="json").status_code == 401


def test_admin_and_api_routes_resolve():
    resolver = get_resolver()
    for name in ("schema", "api-docs"):
        assert name in resolver.reverse_dict
