"""Every route under /api/ needs a staff token, except the few listed here as open or HMAC-signed.

The routes are read from the project's URL resolver, not from a list kept by hand: a new endpoint is
token-protected by these tests the moment it is routed, and one that should be open must be named below.
"""

import re

import pytest
from django.urls import URLResolver, get_resolver

# Routes that answer without a token, and why.
OPEN = {
    "api/health": "service health for load balancers and uptime checks",
    "api/<slug:creator_slug>/health": "per-creator health: version and on/off switch, nothing private",
}
# Routes the platform calls: they take an HMAC signature, never a token.
SIGNED = {
    "api/webhook/<str:kind>",
    "api/<slug:creator_slug>/webhook/<str:kind>",
    "api/providers/<str:provider>/webhook",
}
# The ops endpoints of docs/api.md#ops-api (a floor: the resolver must find at least these as protected).
SEED_OPS = {
    "stats",
    "queue",
    "performance",
    "training",
    "learning/stats",
    "fan/<int:fan_id>",
    "fan/<int:fan_id>/handoff",
    "enable",
    "disable",
    "reactivate",
}
METHODS = ("get", "post", "put", "patch", "delete")


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        else:
            yield prefix + str(p.pattern), p.callback


def api_routes() -> dict:
    """{route: view class} for every URL pattern under /api/ in the project's resolver."""
    return {
        route: getattr(callback, "cls", getattr(callback, "view_class", None))
        for route, callback in _walk(get_resolver().url_patterns)
        if route.startswith("api/")
    }


ROUTES = api_routes()
PROTECTED = sorted(set(ROUTES) - set(OPEN) - SIGNED)
PROTECTED_CALLS = [(route, m) for route in PROTECTED for m in METHODS if hasattr(ROUTES[route], m)]


def concrete(route: str, creator, fan) -> str:
    """The route with its parameters filled in; an unknown parameter fails loudly (teach this function)."""
    values = {
        "creator_slug": creator.slug,
        "fan_id": fan.fan_id,
        "kind": "of-event",
        "provider": "simple",
        "draft_id": lambda: open_draft(creator, fan),
        "campaign_id": lambda: a_campaign(creator),
    }

    def fill(match):
        assert match[1] in values, f"no test value for <{match[0]}> in {route}"
        value = values[match[1]]
        return str(value() if callable(value) else value)

    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", fill, route)


def open_draft(creator, fan) -> int:
    """An open draft of this fan (an unknown creator: any id, the route answers before looking it up)."""
    from salesbot.models import Draft

    if getattr(creator, "pk", None) is None or getattr(fan, "creator_id", None) != creator.pk:
        return 999999
    draft = Draft.objects.filter(fan=fan, status=Draft.Status.OPEN).first() or Draft.objects.create(
        creator=creator, fan=fan, action="text", text="a line only this draft says", source="rules"
    )
    return draft.pk


def a_campaign(creator) -> int:
    """A campaign of this creator waiting for approval (an unknown creator: any id)."""
    from salesbot.campaigns.models import Campaign, Segment

    if getattr(creator, "pk", None) is None:
        return 999999
    segment, _ = Segment.objects.get_or_create(creator=creator, name="everyone")
    return Campaign.objects.create(creator=creator, name="c", segment=segment, text="hi there").pk


# What a POST needs to be valid (the routes answer 400 to an empty body).
BODIES = {"mode": {"mode": "approve"}, "reject": {"reason": "too pushy"}}


def campaign_body(path) -> dict:
    """A valid new campaign for the creator in the path (its first segment, made if missing)."""
    from models_registry.models import Creator
    from salesbot.campaigns.models import Segment

    creator = Creator.objects.filter(slug=path.split("/")[2]).first()
    segment = Segment.objects.get_or_create(creator=creator, name="everyone")[0].pk if creator else 1
    return {"name": "c", "segment": segment, "text": "hi there"}


def call(client, method, path):
    body = next((b for suffix, b in BODIES.items() if path.endswith("/" + suffix)), None) if method == "post" else None
    if method == "post" and path.endswith("/campaigns"):
        body = campaign_body(path)
    return getattr(client, method)(path, body, format="json")


def test_the_resolver_walk_finds_every_seed_endpoint():
    """Guards the walk itself: an empty or wrong walk would make every test below pass vacuously."""
    per_creator = {r.removeprefix("api/<slug:creator_slug>/") for r in PROTECTED}
    assert per_creator >= SEED_OPS
    assert set(OPEN) | SIGNED <= set(ROUTES), "an open or signed route listed here is no longer routed"
    assert all(cls is not None for cls in ROUTES.values()), "a view without a class cannot be checked for methods"
    assert len(PROTECTED_CALLS) >= len(SEED_OPS)


@pytest.mark.parametrize("route,method", PROTECTED_CALLS)
def test_no_token_is_401(anon_api, creator, fan, route, method):
    r = call(anon_api, method, concrete(route, creator, fan))
    assert r.status_code == 401
    assert r["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("route,method", PROTECTED_CALLS)
def test_unknown_token_is_401(bad_token_api, creator, fan, route, method):
    assert call(bad_token_api, method, concrete(route, creator, fan)).status_code == 401


@pytest.mark.parametrize("route,method", PROTECTED_CALLS)
def test_non_staff_token_is_403(user_api, creator, fan, route, method):
    assert call(user_api, method, concrete(route, creator, fan)).status_code == 403


@pytest.mark.parametrize("route,method", PROTECTED_CALLS)
def test_staff_token_is_2xx(staff_api, creator, fan, route, method):
    r = call(staff_api, method, concrete(route, creator, fan))
    assert 200 <= r.status_code < 300, r.content


@pytest.mark.parametrize("route", PROTECTED)
def test_options_also_needs_the_token(anon_api, creator, fan, route):
    """OPTIONS describes the endpoint; it must not be a way round the token either."""
    assert anon_api.options(concrete(route, creator, fan)).status_code == 401


@pytest.mark.parametrize("route,method", PROTECTED_CALLS)
def test_unsupported_methods_are_405_for_staff(staff_api, creator, fan, route, method):
    for other in METHODS:
        if not hasattr(ROUTES[route], other):
            assert call(staff_api, other, concrete(route, creator, fan)).status_code == 405, other


@pytest.mark.parametrize("route,method", [c for c in PROTECTED_CALLS if "<slug:creator_slug>" in c[0]])
def test_auth_is_checked_before_the_creator_is_looked_up(anon_api, staff_api, fan, route, method):
    missing = concrete(route, type("Nobody", (), {"slug": "nobody"}), fan)
    assert call(anon_api, method, missing).status_code == 401
    assert call(staff_api, method, missing).status_code == 404


def test_session_login_of_a_non_staff_user_is_403(client, django_user_model, creator, fan):
    user = django_user_model.objects.create_user("viewer", password="pw")
    client.force_login(user)
    assert client.get(f"/api/{creator.slug}/stats").status_code == 403


def test_staff_logged_into_admin_can_read_the_api_in_the_browser(admin_client, creator):
    assert admin_client.get(f"/api/{creator.slug}/stats").status_code == 200


@pytest.mark.parametrize("route", sorted(OPEN))
@pytest.mark.parametrize("who", ["anon_api", "user_api"])
def test_open_routes_answer_without_a_staff_token(request, creator, fan, route, who):
    api = request.getfixturevalue(who)
    r = api.get(concrete(route, creator, fan))
    assert r.status_code == 200, r.content


@pytest.mark.parametrize("route", sorted(OPEN))
def test_a_forged_token_is_refused_even_on_open_routes(bad_token_api, creator, fan, route):
    """DRF refuses an invalid token wherever it is presented: a typo in a script shows up at once."""
    assert bad_token_api.get(concrete(route, creator, fan)).status_code == 401


def test_health_says_ok(anon_api, creator):
    assert anon_api.get("/api/health").json()["status"] == "ok"
    body = anon_api.get(f"/api/{creator.slug}/health").json()
    assert body == {"status": "ok", "version": "0.1.0", "creator": creator.slug, "enabled": True}


@pytest.mark.parametrize("route", sorted(SIGNED))
def test_webhooks_ignore_tokens_and_need_the_signature(staff_api, anon_api, creator, fan, route):
    body = {
        "event_id": "e1",
        "event": "messages.received",
        "account_id": creator.account_id,
        "created_at": "2026-11-24T18:00:00Z",
        "payload": {},
    }
    path = concrete(route, creator, fan)
    assert staff_api.post(path, body, format="json").status_code == 401
    assert anon_api.post(path, body, format="json").status_code == 401
