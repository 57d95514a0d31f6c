"""Approve mode: the worker drafts instead of sending; a person approves (once), edits (checked by the same
rules), or rejects; a fan who writes again supersedes the draft. Mode off: the bot never writes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from fans.models import Fan, Message
from learning.models import Action
from learning.services import record_outcome
from salesbot.models import Draft, QueueItem
from salesbot.pipeline import drafts, queue, worker
from salesbot.team_performance import by_sender
from tests.factories import FanFactory
from tests.team_helpers import chatter


@pytest.fixture
def maria(demo):
    return chatter("maria", demo)


def fan_writes(fan, text, when=None):
    Message.objects.create(fan=fan, direction="in", text=text, ts=when or timezone.now())
    Fan.objects.filter(pk=fan.pk).update(messages_received=fan.messages_received + 1)
    queue.enqueue(fan, QueueItem.Reason.MESSAGE)
    return worker.work_one()


def set_mode(creator, mode):
    creator.autonomy = mode
    creator.save(update_fields=["autonomy"])


def test_approve_mode_drafts_and_sends_nothing(demo, platform):
    set_mode(demo, "approve")
    fans = [FanFactory(creator=demo, name=f"f{i}") for i in range(3)]
    for f in fans:
        item = fan_writes(f, "hey gorgeous")
        assert item.result.startswith("drafted"), item.result
    assert Draft.objects.filter(status="open").count() == 3
    assert platform.sends == []
    assert not Action.objects.filter(status__in=["pending", "sent"]).exists()


def test_approving_sends_exactly_once_even_clicked_twice(demo, platform, maria):
    set_mode(demo, "approve")
    fan = FanFactory(creator=demo)
    fan_writes(fan, "hey")
    draft = Draft.objects.get(fan=fan, status="open")
    action = drafts.approve(draft, maria)
    with pytest.raises(drafts.DraftError, match="already"):
        drafts.approve(Draft.objects.get(pk=draft.pk), maria)
    assert len(platform.sends) == 1 and platform.sends[0]["text"] == draft.text
    assert action.status == "sent" and action.sent_by == maria and action.review == "approved"
    assert action.source == draft.source  # still the bot's message, approved as drafted
    draft.refresh_from_db()
    assert draft.status == "approved" and draft.sent_action == action and draft.decided_by == maria


def test_edit_is_checked_by_the_offer_rules_then_sent(demo, platform, maria):
    set_mode(demo, "approve")
    fan = FanFactory(creator=demo)
    draft = Draft.objects.create(
        creator=demo,
        fan=fan,
        action="ppv",
        text="just for you",
        content_key="combo3",
        price=Decimal("18"),
        source="rules",
    )
    with pytest.raises(drafts.DraftError, match="outside the creator's bounds"):
        drafts.approve(draft, maria, {"price": Decimal("999")})
    with pytest.raises(drafts.DraftError, match="unknown content_key"):
        drafts.approve(draft, maria, {"content_key": "nope"})
    assert Draft.objects.get(pk=draft.pk).status == "open" and platform.sends == []
    action = drafts.approve(draft, maria, {"text": "made this one for you only", "price": Decimal("25")})
    assert action.review == "edited" and action.price == Decimal("25")
    assert action.extra["drafted"] == {"text": "just for you", "price": "18"}
    assert platform.sends[0]["price"] == Decimal("25") and platform.sends[0]["text"] == "made this one for you only"


def test_reject_needs_a_reason_and_sends_nothing(demo, platform, maria):
    fan = FanFactory(creator=demo)
    draft = Draft.objects.create(creator=demo, fan=fan, action="text", text="hi")
    with pytest.raises(drafts.DraftError):
        drafts.reject(draft, maria, "  ")
    drafts.reject(draft, maria, "too pushy for a new fan")
    assert Draft.objects.get(pk=draft.pk).reject_reason == "too pushy for a new fan"
    with pytest.raises(drafts.DraftError, match="already"):
        drafts.approve(Draft.objects.get(pk=draft.pk), maria)
    assert platform.sends == []


def test_a_fan_who_writes_again_supersedes_the_draft(demo, platform, maria):
    set_mode(demo, "approve")
    fan = FanFactory(creator=demo)
    fan_writes(fan, "hey", when=timezone.now() - timedelta(minutes=5))
    first = Draft.objects.get(fan=fan, status="open")
    Message.objects.create(fan=fan, direction="in", text="are you there?", ts=timezone.now() + timedelta(seconds=1))
    with pytest.raises(drafts.DraftError, match="wrote again"):
        drafts.approve(first, maria)
    assert Draft.objects.get(pk=first.pk).status == "superseded"
    fan_writes(fan, "hello??")
    assert Draft.objects.filter(fan=fan, status="open").count() == 1
    assert platform.sends == []


def test_mode_off_and_the_fan_override(demo, platform):
    set_mode(demo, "off")
    quiet = FanFactory(creator=demo)
    assert fan_writes(quiet, "hey").result.startswith("blocked: mode off")
    whale = FanFactory(creator=demo, autonomy="approve")
    assert fan_writes(whale, "hey").result.startswith("drafted")
    set_mode(demo, "autopilot")
    auto = FanFactory(creator=demo)
    assert fan_writes(auto, "hey").result.startswith("text: sent") or platform.sends
    assert len(platform.sends) == 1 and Draft.objects.filter(status="open").count() == 1


def test_safety_stays_above_every_mode(demo, platform, maria):
    set_mode(demo, "approve")
    fan = FanFactory(creator=demo)
    fan_writes(fan, "hey")
    draft = Draft.objects.get(fan=fan)
    Fan.objects.filter(pk=fan.pk).update(safety_flag=True)
    with pytest.raises(drafts.DraftError, match="safety flag"):
        drafts.approve(draft, maria)
    assert platform.sends == []


def test_drafts_list_is_most_urgent_first(demo):
    small = FanFactory(creator=demo, total_spent=Decimal("5"))
    big = FanFactory(creator=demo, total_spent=Decimal("300"))
    whale = FanFactory(creator=demo, total_spent=Decimal("5"), whale_score=3)
    for f in (small, big, whale):
        Draft.objects.create(creator=demo, fan=f, action="text", text=f"hi {f.pk}")
    assert [d.fan for d in drafts.open_drafts([demo.pk])] == [big, whale, small]


def test_sales_credit_adds_up_to_the_creators_revenue(demo, platform, maria):
    set_mode(demo, "approve")
    fan = FanFactory(creator=demo)
    ppv = Draft.objects.create(
        creator=demo, fan=fan, action="ppv", text="for you", content_key="combo3", price=Decimal("18"), source="rules"
    )
    drafts.approve(ppv, maria, {"price": "20"})
    record_outcome(fan, "purchased", amount=Decimal("20"))
    other = FanFactory(creator=demo)
    bot = Draft.objects.create(
        creator=demo, fan=other, action="ppv", text="a treat", content_key="combo3", price=Decimal("18"), source="llm"
    )
    drafts.approve(bot, maria)
    record_outcome(other, "purchased", amount=Decimal("18"))
    record_outcome(other, "tipped", amount=Decimal("7"))
    stray = FanFactory(creator=demo)
    record_outcome(stray, "tipped", amount=Decimal("3"))
    report = by_sender([demo.pk])
    rows = {r["sender"]: r for r in report["senders"]}
    assert rows["maria"]["revenue"] == 20 and rows["maria"]["ppv_bought"] == 1
    assert rows["maria"]["drafts_edited"] == 1 and rows["maria"]["drafts_approved"] == 1
    assert rows["bot (llm)"]["revenue"] == 25
    assert rows["unattributed (no message before it)"]["revenue"] == 3
    assert sum(r["revenue"] for r in report["senders"]) == report["revenue"] == 48
    assert rows["maria"]["ppv_conversion_ci90"][0] < 1 <= 1


def _drafted_fan(demo, fan_id):
    set_mode(demo, "approve")
    fan = FanFactory(creator=demo, fan_id=fan_id)
    fan_writes(fan, "hey", when=timezone.now() - timedelta(minutes=5))
    return fan, Draft.objects.get(fan=fan, status="open")


@pytest.mark.parametrize("text, why", [("i'm 16 btw", "possible minor"), ("stop messaging me", "opted out")])
def test_a_fan_handed_off_or_opting_out_leaves_the_drafts_queue(demo, platform, text, why):
    from salesbot.pipeline import intake
    from tests.salesbot.unit.helpers import message_payload, store_event

    fan, draft = _drafted_fan(demo, 8801)
    intake.process_event(store_event(demo, "messages.received", message_payload(8801, text, 77)))
    fan.refresh_from_db()
    assert why in fan.handoff_reason or (why == "opted out" and fan.opted_out)
    assert Draft.objects.get(pk=draft.pk).status == "superseded"
    assert list(drafts.open_drafts([demo.pk])) == []  # nobody is asked to approve a message to them
    assert platform.sends == []


def test_a_staff_hand_off_closes_the_fans_open_draft(demo, platform, maria):
    from fans import staff

    fan, draft = _drafted_fan(demo, 8802)
    other, kept = _drafted_fan(demo, 8803)
    staff.staff_hand_off(fan, "maria", "wants a video call", user=maria)
    assert Draft.objects.get(pk=draft.pk).status == "superseded"
    assert Draft.objects.get(pk=kept.pk).status == "open"  # only that fan's
