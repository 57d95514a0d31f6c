"""The audit: who changed a creator's settings (a key only as "changed", never its value), who decided a
draft, who sent from the console, who handed off and resumed a fan, and when — in admin, scoped."""

from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from fans.models import FanTransition
from learning.models import Action
from models_registry.models import Creator
from salesbot.pipeline import drafts
from tests.team.conftest import SECRET
from tests.team_helpers import chatter, manager

NEW_KEY = "sk_live_TOPSECRETVALUE_9f3a"
AUDIT = "/admin/reports/audit/"


def creator_page_data(client, creator, **changes):
    """The creator change page posted back as a browser would, with `changes` made."""
    r = client.get(reverse("admin:models_registry_creator_change", args=[creator.pk]))
    form = r.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("api_key", "webhook_secret")}
    data.update({"excluded_fan_ids": "[]", "restricted_words": "[]", "signal_keywords": "{}"})
    for formset in r.context["inline_admin_formsets"]:
        mgmt = formset.formset.management_form
        data.update({f"{mgmt.prefix}-{name}": mgmt[name].value() for name in mgmt.fields})
        for i, f in enumerate(formset.formset.initial_forms):
            data.update({f"{formset.formset.prefix}-{i}-{name}": f[name].value() or "" for name in f.fields})
    return {**data, **changes}


@pytest.fixture
def alpha(two_creators):
    return two_creators[0]["models_registry.creator"]


@pytest.fixture
def boss(client, two_creators):
    user = manager("boss")
    client.force_login(user)
    return user


def _change(client, creator, **changes):
    r = client.post(
        reverse("admin:models_registry_creator_change", args=[creator.pk]),
        creator_page_data(client, creator, **changes),
    )
    assert r.status_code == 302, r.context["adminform"].form.errors if r.context else r
    creator.refresh_from_db()


def test_price_and_key_changes_show_who_and_when_never_the_key(client, boss, alpha, chatter_a):
    old_key = alpha.api_key
    _change(client, alpha, entry_price="22.00")
    _change(client, alpha, api_key=NEW_KEY)
    assert alpha.entry_price == Decimal("22.00") and alpha.api_key == NEW_KEY

    price, key = alpha.history.order_by("-history_id")[:2][::-1]
    assert price.history_user == boss and price.keys_changed == ""
    assert key.history_user == boss and key.keys_changed == "API key"
    assert not hasattr(key, "api_key") and not hasattr(key, "webhook_secret")

    for who in (client, None):  # the manager who made them, then the creator's chatter
        if who is None:
            client.force_login(chatter_a)
        for url in (
            reverse("admin:models_registry_creator_history", args=[alpha.pk]),
            AUDIT,
            f"{AUDIT}?creator={alpha.pk}",
            reverse("admin:models_registry_creator_simple_history", args=[alpha.pk, key.history_id]),
        ):
            page = client.get(url)
            assert page.status_code == 200, url
            html = page.content.decode()
            assert NEW_KEY not in html and NEW_KEY[-4:] not in html, url
            if old_key:
                assert old_key not in html, url
            assert alpha.webhook_secret not in html, url
            if "history/" in url and url.endswith(f"/{key.history_id}/"):
                continue
            assert "boss" in html, url
            assert "API key" in html, url
            assert "entry_price" in html or "Entry PPV price" in html or "entry PPV price" in html, url
            assert "22.00" in html, url

    audit_html = client.get(AUDIT).content.decode()
    assert "API key changed (value not shown)" in audit_html
    assert key.history_date.strftime("%Y-%m-%d %H:%M") in audit_html


def test_a_chatter_sees_only_their_creators_history(chatter_client, two_creators):
    bravo = two_creators[1]["models_registry.creator"]
    bravo.entry_price = Decimal("19")
    bravo.save()
    assert chatter_client.get(reverse("admin:models_registry_creator_history", args=[bravo.pk])).status_code == 403
    record = bravo.history.latest("history_id")
    assert (
        chatter_client.get(
            reverse("admin:models_registry_creator_simple_history", args=[bravo.pk, record.history_id])
        ).status_code
        == 403
    )
    assert chatter_client.get(f"{AUDIT}?creator={bravo.pk}").status_code == 403
    html = chatter_client.get(AUDIT).content.decode()
    assert SECRET not in html


def test_handoff_and_resume_show_who(client, boss, two_creators):
    fan = two_creators[0]["fans.fan"]
    fan.safety_flag = False
    fan.save()
    url = reverse("admin:fans_fan_timeline", args=[fan.pk])
    assert client.post(url, {"op": "hand_off", "reason": "asks for a call"}).status_code == 302
    assert client.post(url, {"op": "resume"}).status_code == 302
    moves = list(FanTransition.objects.filter(fan=fan, by_staff=True).order_by("id"))
    assert [(m.to_state, m.by_user) for m in moves] == [("handed_off", boss), ("engaged", boss)]

    html = client.get(AUDIT).content.decode()
    assert f"handed off fan alphafan ({fan.fan_id})" in html and f"resumed fan alphafan ({fan.fan_id})" in html
    assert "asks for a call" in html
    assert html.count('<td class="who">boss</td>') >= 2
    assert "by boss" in client.get(url).content.decode()  # the fan's timeline names the person too


def test_api_handoff_and_mode_change_name_the_token_user(chatter_api, chatter_a, two_creators):
    fan = two_creators[0]["fans.fan"]
    alpha = two_creators[0]["models_registry.creator"]
    r = chatter_api.post(f"/api/alpha/fan/{fan.fan_id}/handoff", {"reason": "vip"}, format="json")
    assert r.status_code == 200, r.content
    assert FanTransition.objects.filter(fan=fan, to_state="handed_off").latest("id").by_user == chatter_a
    boss = manager("boss2")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=boss).key}")
    assert api.post("/api/alpha/mode", {"mode": "approve"}, format="json").status_code == 200
    record = Creator.history.filter(id=alpha.pk).latest("history_id")
    assert record.history_user == boss and record.autonomy == "approve"


def test_draft_decisions_and_console_sends_show_who(client, two_creators, platform):
    alpha = two_creators[0]["models_registry.creator"]
    fan = two_creators[0]["fans.fan"]
    fan.safety_flag = False
    fan.save()
    user = chatter("ann", alpha)
    draft = two_creators[0]["salesbot.draft"]
    drafts.reject(draft, user, "too pushy")
    Action.objects.create(
        creator=alpha, fan=fan, action="text", message_text="hey you", status="sent", source="staff", sent_by=user
    )
    client.force_login(user)
    html = client.get(AUDIT).content.decode()
    assert "too pushy" in html and "draft for fan" in html
    assert "from the console" in html and "hey you" in html
    assert html.count('<td class="who">ann</td>') >= 2
