"""The console on a fan's timeline: a person writes (text or a PPV), through the one sender, as their own
Action; they then hold the fan; handed-off and flagged fans are worked here; opted-out fans are not."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from fans.models import Fan, Message
from fans.state_machine import FanState
from learning.models import Action
from learning.services import record_outcome
from salesbot.models import Draft, QueueItem
from salesbot.pipeline import console, queue, worker
from salesbot.team_performance import by_sender
from tests.factories import FanFactory
from tests.team_helpers import chatter, manager


@pytest.fixture
def maria(demo):
    return chatter("maria", demo)


def conversation(fan):
    return f"/admin/inbox/{fan.pk}/"


def test_console_ppv_is_the_persons_action_and_holds_the_fan(client, demo, platform, maria):
    fan = FanFactory(creator=demo, state=FanState.HANDED_OFF, handoff_reason="needs a human: custom request")
    Message.objects.create(fan=fan, direction="in", text="can i get something special?")
    client.force_login(maria)
    page = client.get(conversation(fan)).content.decode()
    assert 'id="composer"' in page and "combo3" in page
    r = client.post(conversation(fan) + "send/", {"text": "only for you babe", "content_key": "combo3", "price": "22"})
    assert r.status_code == 302
    action = Action.objects.get(fan=fan)
    assert (action.action, action.status, action.source, action.sent_by) == ("ppv", "sent", "staff", maria)
    assert action.price == Decimal("22") and action.response_time_s is not None
    assert platform.sends[0]["price"] == Decimal("22") and platform.sends[0]["media"] == [203, 204, 205]
    fan.refresh_from_db()
    assert fan.held_by == maria and fan.human_hold_until > timezone.now()
    assert "Held by <b>you</b>" in client.get(conversation(fan)).content.decode()
    record_outcome(fan, "purchased", amount=Decimal("22"))
    rows = {r["sender"]: r for r in by_sender([demo.pk])["senders"]}
    assert rows["maria"]["revenue"] == 22 and rows["maria"]["ppv_bought"] == 1


def test_the_bot_stays_silent_while_a_person_holds_the_fan(demo, platform, maria):
    fan = FanFactory(creator=demo)
    console.send(fan, maria, text="hey it's me, the real one")
    Message.objects.create(fan=fan, direction="in", text="omg hi")
    queue.enqueue(fan, QueueItem.Reason.MESSAGE)
    # the fan's message waits for the hold to end (then the worker asks the contact rule again)
    assert worker.work_one().result.startswith("waiting: held by a human")
    assert len(platform.sends) == 1


def test_console_refuses_price_out_of_bounds_content_already_bought_and_opted_out(demo, platform, maria):
    fan = FanFactory(creator=demo, content_sent=["combo3", "combo5"])
    Action.objects.create(
        creator=demo, fan=fan, action="ppv", content_key="combo3", price=Decimal("18"), status="sent", purchased=True
    )
    with pytest.raises(console.ConsoleError, match="outside the creator's bounds"):
        console.send(fan, maria, text="x", content_key="combo5", price=Decimal("500"))
    with pytest.raises(console.ConsoleError, match="already bought"):
        console.send(fan, maria, text="x", content_key="combo3", price=Decimal("18"))
    # sent and not bought: a person may offer it again (the bot never repeats itself)
    Message.objects.create(fan=fan, direction="in", text="hmm maybe later")
    assert console.send(fan, maria, text="still want it?", content_key="combo5", price=Decimal("20")).status == "sent"
    platform.sends.clear()
    Fan.objects.filter(pk=fan.pk).update(opted_out=True)
    fan.refresh_from_db()
    with pytest.raises(console.ConsoleError, match="opted out"):
        console.send(fan, maria, text="please come back")
    assert platform.sends == []


def test_a_console_message_supersedes_the_bots_drafts(demo, platform, maria):
    fan = FanFactory(creator=demo)
    draft = Draft.objects.create(creator=demo, fan=fan, action="text", text="bot line")
    console.send(fan, maria, text="i'll take it from here")
    assert Draft.objects.get(pk=draft.pk).status == "superseded"


def test_only_a_manager_releases_a_hold(client, demo, platform, maria):
    fan = FanFactory(creator=demo)
    console.send(fan, maria, text="hello there")
    client.force_login(maria)
    assert client.post(conversation(fan) + "release/").status_code == 403
    client.force_login(manager("boss"))
    client.post(conversation(fan) + "release/")
    fan.refresh_from_db()
    assert fan.human_hold_until is None and fan.held_by is None


def test_draft_review_page_approve_then_edit(client, demo, platform, maria):
    a, b = FanFactory(creator=demo, total_spent=Decimal("90")), FanFactory(creator=demo)
    Message.objects.create(fan=a, direction="in", text="hi from a", ts=timezone.now() - timedelta(minutes=1))
    first = Draft.objects.create(creator=demo, fan=a, action="text", text="hey you, missed me?")
    second = Draft.objects.create(
        creator=demo, fan=b, action="ppv", text="something for you", content_key="combo3", price=Decimal("18")
    )
    client.force_login(maria)
    listing = client.get("/admin/salesbot/draft/", follow=True).content.decode()
    assert listing.index("hey you, missed me?") < listing.index("something for you")  # biggest spender first
    page = client.get(f"/admin/salesbot/draft/{first.pk}/review/").content.decode()
    assert "hi from a" in page and "hey you, missed me?" in page
    r = client.post(f"/admin/salesbot/draft/{first.pk}/review/", {"op": "approve"})
    assert r["Location"].endswith(f"/admin/salesbot/draft/{second.pk}/review/")
    client.post(f"/admin/salesbot/draft/{first.pk}/review/", {"op": "approve"})  # the double click
    client.post(
        f"/admin/salesbot/draft/{second.pk}/review/",
        {"op": "edit", "text": "made this for you", "content_key": "combo3", "price": "24"},
    )
    assert [s["text"] for s in platform.sends] == ["hey you, missed me?", "made this for you"]
    perf = client.get("/admin/reports/performance/").content.decode()
    assert 'data-sender="maria"' in perf


def test_performance_page_refuses_another_creators_figures(client, demo, maria):
    from tests.factories import CreatorFactory

    other = CreatorFactory(slug="other")
    client.force_login(maria)
    assert client.get(f"/admin/reports/performance/?creator={other.pk}").status_code == 403
    assert client.get(f"/admin/reports/performance/?creator={demo.pk}").status_code == 200
