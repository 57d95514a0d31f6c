"""A chatter of creator A, on creator B: every admin page and every ops API route is refused, and no page
shows B's rows. The pages and routes are read from the admin site and the URL resolver, not listed by hand."""

import re

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.api.test_auth import PROTECTED_CALLS, call, concrete
from tests.team.conftest import SECRET

OBJECT_ROUTES = re.compile(r"<path:object_id>")
# django-simple-history's one past version of an object (a re_path), walked like the object routes
HISTORY_VERSION = ("^([^/]+)/history/([^/]+)/$", "<path:object_id>/history/<version_id>/")


def admin_pages():
    """(model label, route) for every page of every registered model admin."""
    for model, model_admin in admin.site._registry.items():
        for pattern in model_admin.get_urls():
            route = str(pattern.pattern)
            route = HISTORY_VERSION[1] if route == HISTORY_VERSION[0] else route
            if route == "<path:object_id>/" or ("<" in route and not OBJECT_ROUTES.search(route)):
                continue  # the stock redirect to change/ (its target is walked)
            yield model._meta.label_lower, route


PAGES = sorted(set(admin_pages()))


def test_the_walk_sees_the_pages_that_matter():
    labels = {label for label, _ in PAGES}
    assert {"fans.fan", "fans.needshumanfan", "models_registry.creator", "learning.action"} <= labels
    routes = {route for _, route in PAGES}
    assert {"<path:object_id>/timeline/", "<path:object_id>/dashboard/", "<path:object_id>/change/"} <= routes


@pytest.mark.parametrize("label,route", PAGES)
def test_every_admin_page_refuses_creator_b(chatter_client, two_creators, label, route):
    _, b = two_creators
    app, model = label.split(".")
    obj = b.get(label)
    if OBJECT_ROUTES.search(route):
        # not a creator's object (users, tokens, tasks): a chatter has no permission there at all
        obj_id = get_user_model().objects.first().pk if obj is None else obj.pk
        path = f"/admin/{app}/{model}/" + route.replace("<path:object_id>", str(obj_id))
        if "<version_id>" in path:
            version = obj.history.latest("history_id").history_id if hasattr(obj, "history") else 1
            path = path.replace("<version_id>", str(version))
        r = chatter_client.get(path)
        if obj is None and r.status_code == 302:  # no such object of that model: sent to the index
            assert r["Location"] == "/admin/", path
        else:
            assert r.status_code in (403, 404), (path, r.status_code)
    else:
        path = f"/admin/{app}/{model}/{route}"
        r = chatter_client.get(path)
        assert r.status_code in (200, 403), (path, r.status_code)
        assert SECRET not in r.content.decode().lower(), path


def test_the_chatter_works_creator_a(chatter_client, two_creators):
    """The control: the same pages open on the chatter's own creator."""
    a, _ = two_creators
    fan, creator = a["fans.fan"], a["models_registry.creator"]
    for path in [
        f"/admin/fans/fan/{fan.pk}/timeline/",
        f"/admin/fans/fan/{fan.pk}/change/",
        f"/admin/models_registry/creator/{creator.pk}/dashboard/",
        "/admin/fans/needshumanfan/",
    ]:
        assert chatter_client.get(path).status_code == 200, path
    page = chatter_client.get("/admin/fans/fan/").content.decode()
    assert "alphafan" in page and SECRET not in page.lower()


def test_admin_index_lists_only_what_a_chatter_may_see(chatter_client, two_creators):
    page = chatter_client.get("/admin/").content.decode()
    assert "Fans" in page and "Team members" not in page and "Staff API tokens" not in page


@pytest.mark.parametrize("route,method", [c for c in PROTECTED_CALLS if "<slug:creator_slug>" in c[0]])
def test_every_api_route_refuses_creator_b(chatter_api, two_creators, route, method):
    _, b = two_creators
    r = call(chatter_api, method, concrete(route, b["models_registry.creator"], b["fans.fan"]))
    assert r.status_code == 403, r.content


@pytest.mark.parametrize(
    "route,method", [c for c in PROTECTED_CALLS if "<slug:creator_slug>" in c[0] and c[1] == "get"]
)
def test_api_reads_answer_for_creator_a(chatter_api, two_creators, route, method):
    a, _ = two_creators
    r = call(chatter_api, method, concrete(route, a["models_registry.creator"], a["fans.fan"]))
    assert 200 <= r.status_code < 300, r.content


@pytest.mark.parametrize("path", ["enable", "disable"])
def test_a_chatter_reads_creator_settings_but_cannot_change_them(chatter_api, two_creators, path):
    """Read vs change, as in admin: chatters have view_creator, not change_creator."""
    assert chatter_api.post(f"/api/alpha/{path}").status_code == 403


@pytest.mark.parametrize("route,method", [c for c in PROTECTED_CALLS if "<slug:creator_slug>" in c[0]])
def test_a_staff_token_without_permissions_opens_nothing(db, two_creators, route, method):
    """The probe of the issue: a staff user admin refuses everywhere could disable creators, hand off fans
    and reactivate dormant fans with an API token."""
    user = get_user_model().objects.create_user("bare", password="x", is_staff=True)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    a, _ = two_creators
    r = call(api, method, concrete(route, a["models_registry.creator"], a["fans.fan"]))
    assert r.status_code == 403, (route, method, r.status_code)


@pytest.mark.parametrize("side", ["member", "creator"])
def test_a_chatter_taken_off_a_creator_loses_its_fans_on_the_next_request(demo, side):
    """team.scope keeps a person's scope for a few seconds (the live inbox asks it on every poll); a change of
    creators must still apply at once, from either side of the relation."""
    from django.test import Client

    from team.models import TeamMember
    from tests.factories import FanFactory
    from tests.team_helpers import chatter

    maria = chatter("maria", demo)
    fan = FanFactory(creator=demo, name="Fay")
    c = Client()
    c.force_login(maria)
    assert c.get(f"/admin/inbox/{fan.pk}/").status_code == 200
    member = TeamMember.objects.get(user=maria)
    if side == "member":
        member.creators.remove(demo)
    else:
        demo.team_members.remove(member)
    assert c.get(f"/admin/inbox/{fan.pk}/").status_code == 403
