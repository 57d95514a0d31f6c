"""Issue 25's Done-when through the fake platform process speaking OnlyFansAPI.com: a segment of 300 fans with
opted-out, flagged, capped and lately-written fans among them; a campaign approved, scheduled and sent once,
as one mass message to a user list of exactly the eligible fans minus the holdout; the recipients' echoes
booked against it; purchases back by webhook; results with revenue, lift and its interval; a second scheduler
run sends nothing twice; a campaign cancelled before its time sends nothing; unsend after the send."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token

from fans.models import Message
from learning.models import Action, Outcome
from learning.stats import aggregate_learning_stats
from learning.stats import campaigns as campaign_stats
from salesbot.campaigns import sending
from salesbot.campaigns.models import Campaign, Recipient, Segment
from salesbot.pipeline import intake
from salesbot.providers.onlyfansapi import setup
from tests.factories import FanFactory
from tests.fake_processes import wait_until
from tests.salesbot.providers.test_sdk_check import BASE, forward, outbox_size

pytestmark = [pytest.mark.integration]


@pytest.fixture
def audience(creator):
    """300 fans: 10 opted out, 10 safety-flagged, 10 at the 24h spend cap, 5 written to an hour ago."""
    setup.register_webhook(creator, BASE)
    fans = [FanFactory(creator=creator, fan_id=90_000 + i, name=f"Fan{i}", state="engaged") for i in range(300)]
    for f in fans[:10]:
        f.opted_out = True
    for f in fans[10:20]:
        f.safety_flag = True
    for f in fans[:20]:
        f.save()
    for f in fans[20:30]:
        Outcome.objects.create(
            creator=creator, fan=f, event="purchased", amount=Decimal("500"), ts=timezone.now() - timedelta(hours=2)
        )
    for f in fans[30:35]:
        Message.objects.create(fan=f, direction="out", text="hey you", ts=timezone.now() - timedelta(hours=1))
    return fans


@pytest.fixture
def boss(db):
    user = get_user_model().objects.create_superuser("boss", "b@example.com", "pw")
    return user, Token.objects.create(user=user).key


def api(client, token, method, path, **body):
    call = getattr(client, method)
    return call(f"/api/demo/{path}", data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}")


def test_a_campaign_through_the_fake_platform(client, creator, fake, audience, boss):
    _, token = boss
    segment = Segment.objects.create(creator=creator, name="engaged fans", states=["engaged"])
    when = timezone.now() + timedelta(hours=2)
    r = api(
        client,
        token,
        "post",
        "campaigns",
        name="Friday set",
        segment=segment.pk,
        text="new set just for you 💕",
        content_key="combo3",
        price="18",
        hook="exclusivity",
        holdout_share=0.2,
        send_at=when.isoformat(),
    )
    assert r.status_code == 201, r.content
    cid = r.json()["id"]
    assert r.json()["status"] == "draft"
    assert sending.send_due(now=when + timedelta(minutes=1)) == 0  # not approved: never sent
    assert api(client, token, "post", f"campaigns/{cid}/approve").json()["status"] == "approved"
    assert sending.send_due() == 0  # approved, but its time has not come
    assert fake.fake("GET", "mass")["mass"] == []

    start = outbox_size(fake)
    assert sending.send_due(now=when + timedelta(minutes=1)) == 1
    campaign = Campaign.objects.get(pk=cid)
    assert campaign.status == "sent"
    [mass] = fake.fake("GET", "mass")["mass"]
    rows = {r.fan.fan_id: r for r in Recipient.objects.filter(campaign=campaign).select_related("fan")}
    protected = {f.fan_id for f in audience[:35]}
    assert {fid for fid, r in rows.items() if r.role == "left_out"} == protected
    held = {fid for fid, r in rows.items() if r.role == "holdout"}
    sent = {fid for fid, r in rows.items() if r.role == "sent"}
    assert sent | held == {f.fan_id for f in audience[35:]} and not sent & held
    assert 20 <= len(held) <= 90  # about 20% of 265
    assert sorted(mass["userIds"]) == sorted(sent) and mass["price"] == 18 and mass["mediaFiles"] == [203, 204, 205]
    assert campaign.left_out == {
        "fan opted out": 10,
        "fan has a safety flag": 10,
        "fan reached the 24h spend cap": 10,
        "written to in the last 24 h": 5,
    }

    # every recipient's echo books their campaign Action, once; nobody is held, no human PPV is credited
    wait_until(lambda: outbox_size(fake) >= start + len(sent), timeout=30)
    forward(client, fake, after=start, event="messages.sent")
    intake.drain()
    actions = Action.objects.filter(source="campaign")
    assert actions.filter(status="sent").count() == len(sent) and not actions.exclude(status="sent").exists()
    assert not Action.objects.exclude(source="campaign").exists()

    # purchases back by webhook: 30 recipients buy
    buyers = sorted(sent)[:30]
    start = outbox_size(fake)
    for fid in buyers:
        fake.fake("POST", "mass/buy", json={"fan_id": fid, "queue_id": mass["id"]})
    forward(client, fake, after=start, event="messages.ppv.unlocked")
    intake.drain()
    r = api(client, token, "get", f"campaigns/{cid}").json()["results"]
    assert r["bought"] == 30 and r["revenue"] == "540.00" and r["sent"] == len(sent)
    assert r["provider"]["buyers"] == 30 and r["provider"]["sentCount"] == len(sent)
    lift = r["lift"]
    assert lift["per_fan_holdout"] == 0 and lift["per_fan_lift"] == pytest.approx(540 / len(sent), abs=0.01)
    assert lift["ci90"][0] < lift["per_fan_lift"] < lift["ci90"][1] and lift["ci90"][0] > 0

    # campaign sends are their own kind: not in the one-to-one figures, in the campaign posteriors
    assert aggregate_learning_stats(creator, use_cache=False)["totals"]["actions"] == 0
    suggestion = campaign_stats.suggestion(creator, segment.pk)
    assert suggestion["price"]["value"] == "18" and suggestion["price"]["sent"] == len(sent)

    # the scheduler again: nothing twice
    assert sending.send_due(now=when + timedelta(hours=1)) == 0
    assert len(fake.fake("GET", "mass")["mass"]) == 1

    # cancelled before its time: nothing goes out
    r = api(
        client,
        token,
        "post",
        "campaigns",
        name="Later",
        segment=segment.pk,
        text="something else 🔥",
        send_at=(when + timedelta(hours=3)).isoformat(),
    )
    later = r.json()["id"]
    api(client, token, "post", f"campaigns/{later}/approve")
    assert api(client, token, "post", f"campaigns/{later}/cancel").json()["status"] == "canceled"
    assert sending.send_due(now=when + timedelta(days=1)) == 0
    assert len(fake.fake("GET", "mass")["mass"]) == 1 and not Recipient.objects.filter(campaign_id=later).exists()

    # after the send: unsend where the provider allows
    assert api(client, token, "post", f"campaigns/{cid}/cancel").json()["status"] == "unsent"
    assert fake.fake("GET", "mass")["mass"][0]["isCanceled"]


def test_a_bad_body_is_a_json_400_naming_the_field(client, creator, fake, boss):
    _, token = boss
    segment = Segment.objects.create(creator=creator, name="all")
    for body, field in (
        ({"segment": segment.pk, "text": "hi"}, "name"),
        ({"name": "x", "segment": 999, "text": "hi"}, "segment"),
        ({"name": "x", "segment": segment.pk, "text": "hi", "price": "18"}, "price"),
        ({"name": "x", "segment": segment.pk, "text": "hi", "content_key": "combo3", "price": "500"}, "price"),
        ({"name": "x", "segment": segment.pk, "text": "hi", "holdout_share": 0.9}, "holdout_share"),
        ({"name": "x", "segment": segment.pk, "text": "hi", "send_at": "tomorrow"}, "send_at"),
    ):
        r = api(client, token, "post", "campaigns", **body)
        assert r.status_code == 400 and r.json()["field"] == field, (body, r.content)
    r = client.post(
        "/api/demo/campaigns", data="{nope", content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}"
    )
    assert r.status_code == 400 and r.json()["field"] == "body"
