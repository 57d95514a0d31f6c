"""The background checks (docs/architecture.md#the-queue-and-the-background-checks) with an explicit clock:
dormancy, one bump after 4h, reactivation."""

from decimal import Decimal

import pytest

from fans.models import FanTransition
from learning.models import Action, Outcome
from learning.services import record_action, record_outcome
from salesbot.models import QueueItem
from salesbot.pipeline import checkers, sender
from salesbot.pipeline.decisions import Decision
from tests.factories import FanFactory
from tests.salesbot.unit.helpers import hours, sent


def make_fan(creator, state, quiet_since, **kw):
    return FanFactory(
        creator=creator, state=state, last_interaction_ts=quiet_since, created_ts=quiet_since - hours(48), **kw
    )


# --- mark_dormant --------------------------------------------------------------------------------


def test_fan_quiet_24h_after_a_ppv_goes_dormant_and_the_ppv_is_ghosted(creator, now):
    fan = make_fan(creator, "pitched", now - hours(25))
    ppv = sent(fan, "ppv", now - hours(25), content_key="combo3", price=Decimal("18"))
    assert checkers.mark_dormant(now=now) == 1
    fan.refresh_from_db()
    assert fan.state == "dormant"
    assert FanTransition.objects.get(fan=fan).reason == "24h no activity"
    ghost = Outcome.objects.get(fan=fan, event="ghosted")
    assert (ghost.action, ghost.ts) == (ppv, now)
    ppv.refresh_from_db()
    assert ppv.ghosted is True


def test_fan_who_replied_after_the_last_action_is_not_ghosted(creator, now):
    fan = make_fan(creator, "engaged", now - hours(30))
    text = sent(fan, "text", now - hours(31))
    record_outcome(fan, "replied", ts=now - hours(30))
    assert checkers.mark_dormant(now=now) == 1
    fan.refresh_from_db()
    assert fan.state == "dormant"
    assert not Outcome.objects.filter(fan=fan, event="ghosted").exists()
    text.refresh_from_db()
    assert text.ghosted is False


@pytest.mark.parametrize("event", ["purchased", "tipped"])
def test_fan_who_bought_or_tipped_after_the_ppv_and_went_quiet_is_not_ghosted(creator, now, event):
    """docs/learning.md#ghosted: ghosted = no activity after our action; a purchase or a tip is activity. The bot sends
    nothing after a purchase by itself, so every quiet buyer used to count as a ghost of its stage."""
    from io import StringIO

    from django.core.management import call_command

    from learning.stats import compute_learning_stats
    from learning.stats.from_rows import ghost_rate_by_stage

    fan = make_fan(creator, "pitched", now - hours(29))
    ppv = sent(fan, "ppv", now - hours(30), content_key="combo3", price=Decimal("18"))
    record_outcome(
        fan,
        event,
        ts=now - hours(29),
        amount=Decimal("18"),
        action=ppv if event == "purchased" else None,
        pinned=event == "purchased",
    )
    assert checkers.mark_dormant(now=now) == 1
    fan.refresh_from_db()
    assert fan.state == "dormant"
    assert not Outcome.objects.filter(fan=fan, event="ghosted").exists()
    ppv.refresh_from_db()
    assert ppv.ghosted is False
    assert ghost_rate_by_stage(creator)["pitched"] == {"sent": 1, "ghosted": 0, "rate": 0.0}
    assert compute_learning_stats(creator)["ghost_rate_by_stage"]["pitched"]["ghosted"] == 0
    call_command("rebuild_learning_stats", creator.slug, "--check", stdout=StringIO())


def test_a_purchase_pinned_to_the_ppv_counts_even_if_the_platform_clock_is_behind(creator, now):
    fan = make_fan(creator, "buyer", now - hours(30))
    ppv = sent(fan, "ppv", now - hours(30), content_key="combo3", price=Decimal("18"))
    record_outcome(fan, "purchased", ts=now - hours(30.01), amount=Decimal("18"), action=ppv, pinned=True)
    checkers.mark_dormant(now=now)
    assert not Outcome.objects.filter(fan=fan, event="ghosted").exists()


def test_fan_with_no_bot_action_goes_dormant_without_a_ghost(creator, now):
    fan = make_fan(creator, "new", now - hours(30))
    checkers.mark_dormant(now=now)
    fan.refresh_from_db()
    assert fan.state == "dormant" and not Outcome.objects.filter(fan=fan).exists()


def test_never_active_fan_older_than_a_day_goes_dormant(creator, now):
    fan = FanFactory(creator=creator, state="new", last_interaction_ts=None, created_ts=now - hours(26))
    assert checkers.mark_dormant(now=now) == 1
    fan.refresh_from_db()
    assert fan.state == "dormant"


@pytest.mark.parametrize("quiet", [1, 23.5])
def test_fan_active_within_24h_is_untouched(creator, now, quiet):
    fan = make_fan(creator, "pitched", now - hours(quiet))
    sent(fan, "ppv", now - hours(quiet), content_key="combo3", price=Decimal("18"))
    assert checkers.mark_dormant(now=now) == 0
    fan.refresh_from_db()
    assert fan.state == "pitched" and not Outcome.objects.exists()


@pytest.mark.parametrize("state", ["handed_off", "dormant"])
def test_handed_off_and_dormant_fans_are_untouched(creator, now, state):
    fan = make_fan(creator, state, now - hours(72))
    sent(fan, "text", now - hours(72), fan_state="engaged")  # sent before the fan went quiet
    assert checkers.mark_dormant(now=now) == 0
    fan.refresh_from_db()
    assert fan.state == state
    assert not Outcome.objects.exists() and not FanTransition.objects.exists()


def test_ghost_lands_on_the_last_sent_action_not_a_later_failed_one(creator, now):
    fan = make_fan(creator, "pitched", now - hours(30))
    ppv = sent(fan, "ppv", now - hours(30), content_key="combo3", price=Decimal("18"))
    record_action(fan, "bump", ts=now - hours(26), status="failed", error="400 chat closed")
    checkers.mark_dormant(now=now)
    assert Outcome.objects.get(fan=fan, event="ghosted").action == ppv


# --- enqueue_bumps -------------------------------------------------------------------------------


def pitched(creator, now, ppv_age, **ppv_fields):
    fan = make_fan(creator, "pitched", now - hours(ppv_age))
    ppv = sent(fan, "ppv", now - hours(ppv_age), content_key="combo3", price=Decimal("18"), **ppv_fields)
    return fan, ppv


@pytest.mark.parametrize("age", [4, 5, 20])
def test_one_bump_for_an_unbought_ppv_4h_old(creator, now, age):
    fan, _ = pitched(creator, now, age)
    assert checkers.enqueue_bumps(now=now) == 1
    assert list(QueueItem.objects.filter(fan=fan).values_list("reason", "status")) == [("bump", "pending")]
    assert checkers.enqueue_bumps(now=now + hours(1)) == 0
    assert QueueItem.objects.filter(fan=fan).count() == 1


def test_no_bump_when_the_ppv_was_bought(creator, now):
    pitched(creator, now, 6, purchased=True)
    assert checkers.enqueue_bumps(now=now) == 0
    assert not QueueItem.objects.exists()


def test_no_bump_when_a_bump_was_already_sent_after_that_ppv(creator, now):
    fan, ppv = pitched(creator, now, 9)
    sent(fan, "bump", now - hours(4))
    assert checkers.enqueue_bumps(now=now) == 0


def test_a_bump_for_an_older_ppv_does_not_block_the_newer_one(creator, now):
    fan, _ = pitched(creator, now, 30)
    sent(fan, "bump", now - hours(25))
    sent(fan, "ppv", now - hours(6), content_key="combo5", price=Decimal("25"))
    assert checkers.enqueue_bumps(now=now) == 1


def test_no_bump_when_the_ppv_is_younger_than_4h(creator, now):
    pitched(creator, now, 3.9)
    assert checkers.enqueue_bumps(now=now) == 0


def test_no_bump_for_a_refused_ppv(creator, now):
    pitched(creator, now, 6, status="refused")
    assert checkers.enqueue_bumps(now=now) == 0


@pytest.mark.parametrize("change", ["opted_out", "disabled", "engaged"])
def test_no_bump_for_opted_out_disabled_or_no_longer_pitched(creator, now, change):
    fan, _ = pitched(creator, now, 6)
    if change == "opted_out":
        fan.opted_out = True
        fan.save()
    elif change == "disabled":
        creator.enabled = False
        creator.save()
    else:
        fan.state = "engaged"
        fan.save()
    assert checkers.enqueue_bumps(now=now) == 0


def test_a_ppv_to_a_brand_new_fan_pitches_the_fan_and_is_bumped_after_4h(demo):
    """A first message with a buying signal gets a PPV at once (docs/architecture.md#the-fans-states). The fan used to go new → greeted,
    so the 4h bump (which looks for pitched fans) never found that PPV."""
    from salesbot.pipeline import engine, intake
    from tests.salesbot.unit.helpers import message_payload, store_event

    intake.process_event(store_event(demo, "messages.received", message_payload(777, "how much for your pics?", 1)))
    fan = demo.fans.get(fan_id=777)
    assert fan.state == "new"
    decision = engine.decide(engine.build_context(demo, fan, last_text="how much for your pics?"))
    assert (decision.route, decision.action) == ("buying_signal", "ppv")
    QueueItem.objects.filter(fan=fan).update(status="done")  # the worker took the message ...
    action = sender.prepare(demo, fan, decision)
    sender._book_sent(action, 80002)  # ... and the platform accepted the PPV (no HTTP here)
    fan.refresh_from_db()
    assert fan.state == "pitched"
    move = FanTransition.objects.get(fan=fan)
    assert (move.from_state, move.to_state, move.reason) == ("new", "pitched", "ppv sent")
    assert checkers.enqueue_bumps(now=action.ts + hours(3.9)) == 0
    assert checkers.enqueue_bumps(now=action.ts + hours(4)) == 1
    assert QueueItem.objects.filter(fan=fan, reason="bump", status="pending").count() == 1


# --- enqueue_reactivation ------------------------------------------------------------------------


def test_dormant_spender_is_queued_for_one_rekindle(creator, now):
    fan = make_fan(creator, "dormant", now - hours(72), total_spent=Decimal("30"))
    assert checkers.enqueue_reactivation(creator, now=now) == 1
    checkers.enqueue_reactivation(creator, now=now + hours(1))
    assert list(QueueItem.objects.filter(fan=fan).values_list("reason", "status")) == [("rekindle", "pending")]


@pytest.mark.parametrize(
    "fields", [{"total_spent": Decimal("0")}, {"opted_out": True}, {"state": "engaged"}, {"state": "handed_off"}]
)
def test_reactivation_skips_non_spenders_opted_out_and_active_fans(creator, now, fields):
    fields = {"state": "dormant", "total_spent": Decimal("30"), **fields}
    make_fan(creator, fields.pop("state"), now - hours(72), **fields)
    assert checkers.enqueue_reactivation(creator, now=now) == 0
    assert not QueueItem.objects.exists()


def test_reactivation_is_per_creator(creator, now):
    from tests.factories import CreatorFactory

    other = CreatorFactory()
    make_fan(other, "dormant", now - hours(72), total_spent=Decimal("30"))
    assert checkers.enqueue_reactivation(creator, now=now) == 0


def test_no_second_rekindle_logged_since_the_fan_went_quiet(creator, now):
    fan = make_fan(creator, "dormant", now - hours(72), total_spent=Decimal("30"))
    sent(fan, "rekindle", now - hours(2))
    assert checkers.enqueue_reactivation(creator, now=now) == 0


def test_a_delivered_rekindle_is_not_queued_again(creator, now):
    fan = make_fan(creator, "dormant", now - hours(72), total_spent=Decimal("30"))
    assert checkers.enqueue_reactivation(creator) == 1
    QueueItem.objects.filter(fan=fan).update(status="done")  # the worker took the item ...
    action = sender.prepare(creator, fan, Decision("rekindle", text="missed you 💕", route="rekindle"))
    sender._book_sent(action, 80001)  # ... and the platform accepted the message (no HTTP here)
    fan.refresh_from_db()
    assert fan.state == "dormant" and fan.messages_sent == 1
    assert checkers.enqueue_reactivation(creator) == 0
    assert QueueItem.objects.filter(fan=fan).count() == 1
    assert Action.objects.filter(fan=fan, action="rekindle").count() == 1


# --- safety flags and stale rows ------------------------------------------------------------------


def test_reactivation_skips_a_flagged_fan_staff_marked_dormant(creator, now):
    from fans import staff

    fan = make_fan(
        creator,
        "handed_off",
        now - hours(72),
        total_spent=Decimal("30"),
        safety_flag=True,
        handoff_reason="safety: possible minor",
    )
    assert staff.staff_mark_dormant(fan, "ops") is True
    fan.refresh_from_db()
    assert (fan.state, fan.safety_flag) == ("dormant", True)
    assert checkers.enqueue_reactivation(creator, now=now + hours(1)) == 0
    assert not QueueItem.objects.exists()


def test_no_bump_for_a_flagged_fan(creator, now):
    fan, _ = pitched(creator, now, 6)
    fan.safety_flag = True
    fan.save()
    assert checkers.enqueue_bumps(now=now) == 0
    assert not QueueItem.objects.exists()


def test_dormancy_checker_skips_a_fan_handed_off_after_it_read_the_rows(creator, now, monkeypatch):
    """The checker's queryset is stale: a fan handed off meanwhile is not set back to dormant."""
    from fans.models import Fan
    from fans.services import hand_off

    quiet = make_fan(creator, "pitched", now - hours(30))
    ppv = sent(quiet, "ppv", now - hours(30), content_key="combo3", price=Decimal("18"))
    other = make_fan(creator, "engaged", now - hours(30))
    real_iterator = Fan.objects.none().iterator.__func__

    def stale_iterator(qs, *a, **kw):
        rows = list(real_iterator(qs, *a, **kw))  # the rows as read ...
        hand_off(Fan.objects.get(pk=quiet.pk), "safety: possible minor", safety=True)  # ... then a handoff lands
        return iter(rows)

    monkeypatch.setattr(type(Fan.objects.none()), "iterator", stale_iterator)
    assert checkers.mark_dormant(now=now) == 1  # only the other fan
    quiet.refresh_from_db()
    other.refresh_from_db()
    assert (quiet.state, quiet.safety_flag) == ("handed_off", True)
    assert other.state == "dormant"
    assert list(FanTransition.objects.filter(fan=quiet).values_list("from_state", "to_state")) == [
        ("pitched", "handed_off")
    ]
    assert not Outcome.objects.filter(fan=quiet, event="ghosted").exists()
    ppv.refresh_from_db()
    assert ppv.ghosted is False
