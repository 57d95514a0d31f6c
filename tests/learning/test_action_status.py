"""Only actions that reached the fan (status sent or logged) count in the learning stats, and outcomes
are attributed only to them; set_action_status moves the counters with the status."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from learning.attribution import reattribute_fan
from learning.models import Action, Outcome
from learning.services import record_action, record_outcome, set_action_status
from learning.stats.from_counters import stats_from_rollup
from learning.stats.from_rows import compute_learning_stats_from_rows
from tests.factories import CreatorFactory, FanFactory

T0 = datetime(2024, 5, 1, 20, tzinfo=UTC)


def stats(creator):
    """The row queries' stats, after checking the counters give the same."""
    rows = {k: v for k, v in compute_learning_stats_from_rows(creator).items() if k != "computed_at"}
    assert {k: v for k, v in stats_from_rollup(creator).items() if k != "computed_at"} == rows
    call_command("rebuild_learning_stats", creator.slug, "--check", stdout=StringIO())
    return rows


def ppv(fan, status, ts=T0, price="8", **fields):
    return record_action(
        fan,
        "ppv",
        ts=ts,
        price=Decimal(price),
        content_key="combo3",
        hook="scarcity",
        fan_state="engaged",
        status=status,
        **fields,
    )


@pytest.fixture
def fan(db):
    return FanFactory(creator=CreatorFactory(slug="st"))


@pytest.mark.parametrize("status", ["pending", "failed", "refused"])
def test_uncounted_statuses_are_left_out_of_every_statistic(fan, status):
    empty = stats(fan.creator)
    ppv(fan, status)
    record_action(fan, "text", ts=T0, hook="curiosity", fan_state="engaged", status=status)
    assert stats(fan.creator) == {**empty, "totals": {"actions": 0, "outcomes": 0}}


@pytest.mark.parametrize("status", ["sent", "logged"])
def test_sent_and_logged_actions_count(fan, status):
    ppv(fan, status)
    s = stats(fan.creator)
    assert s["totals"] == {"actions": 1, "outcomes": 0}
    assert s["conversion_by_price"] == {"8": {"sent": 1, "bought": 0, "rate": 0.0}}
    assert s["top_hooks"] == [["scarcity", 1]]
    assert s["ghost_rate_by_stage"] == {"engaged": {"sent": 1, "ghosted": 0, "rate": 0.0}}


def test_a_skip_is_logged_and_counts_where_the_seed_counts_any_action(fan):
    record_action(fan, "skip", ts=T0, fan_state="handed_off", status="logged")
    s = stats(fan.creator)
    assert s["totals"]["actions"] == 1 and s["ghost_rate_by_stage"]["handed_off"]["sent"] == 1
    assert s["conversion_by_price"] == {} and s["conversion_by_hour"] == {}


def test_status_changes_move_the_counters(fan):
    a = ppv(fan, "pending")
    assert stats(fan.creator)["totals"]["actions"] == 0
    assert set_action_status(a, "sent", platform_message_id=77, error="")
    a.refresh_from_db()
    assert (a.status, a.platform_message_id) == ("sent", 77)
    assert stats(fan.creator)["conversion_by_price"] == {"8": {"sent": 1, "bought": 0, "rate": 0.0}}
    record_outcome(fan, "purchased", ts=T0 + timedelta(minutes=5), action=a, pinned=True, platform_event_id="e1")
    assert stats(fan.creator)["conversion_by_price"]["8"] == {"sent": 1, "bought": 1, "rate": 100.0}
    set_action_status(a, "failed", error="staff: never arrived")  # a correction takes it all back
    s = stats(fan.creator)
    assert s["conversion_by_price"] == {} and s["totals"] == {"actions": 0, "outcomes": 1}
    set_action_status(a, "sent")  # and back, with its purchase
    assert stats(fan.creator)["conversion_by_price"]["8"]["bought"] == 1


def test_only_from_leaves_an_action_that_moved_on_alone(fan):
    a = ppv(fan, "pending")
    stale = Action.objects.get(pk=a.pk)
    set_action_status(a, "sent", platform_message_id=5)
    assert not set_action_status(stale, "failed", only_from=["pending"], error="late")
    assert Action.objects.get(pk=a.pk).status == "sent" and stale.status == "pending"
    assert stats(fan.creator)["totals"]["actions"] == 1
    with pytest.raises(TypeError):
        set_action_status(a, "sent", purchased=True)


def test_a_stale_copy_does_not_skew_the_counters(fan):
    a = ppv(fan, "sent")
    stale = Action.objects.get(pk=a.pk)
    record_outcome(fan, "purchased", ts=T0 + timedelta(minutes=1))  # flags the stored row, not `stale`
    set_action_status(stale, "failed")
    assert stats(fan.creator)["conversion_by_price"] == {}
    set_action_status(stale, "sent")
    assert stats(fan.creator)["conversion_by_price"]["8"]["bought"] == 1


def test_outcomes_skip_actions_that_never_reached_the_fan(fan):
    sent = ppv(fan, "sent", ts=T0, price="18")
    refused = ppv(fan, "refused", ts=T0 + timedelta(minutes=1))
    pending = ppv(fan, "pending", ts=T0 + timedelta(minutes=2))
    bought = record_outcome(fan, "purchased", ts=T0 + timedelta(minutes=3))
    ghost = record_outcome(fan, "ghosted", ts=T0 + timedelta(days=1))
    assert bought.action_id == sent.pk and ghost.action_id == sent.pk
    assert not Action.objects.filter(pk__in=[refused.pk, pending.pk], purchased=True).exists()
    s = stats(fan.creator)
    assert s["conversion_by_price"] == {"18": {"sent": 1, "bought": 1, "rate": 100.0}}
    assert s["ghost_rate_by_stage"]["engaged"] == {"sent": 1, "ghosted": 1, "rate": 100.0}
    # reattribution from scratch follows the same rule: nothing moves
    assert reattribute_fan(fan) == 0
    assert Outcome.objects.get(pk=bought.pk).action_id == sent.pk
    stats(fan.creator)


def test_a_purchase_pinned_by_the_platform_keeps_its_ppv(fan):
    a = ppv(fan, "pending")
    set_action_status(a, "sent", platform_message_id=4242)
    later = ppv(fan, "sent", ts=T0 + timedelta(minutes=1), price="25")  # a newer unbought PPV
    found = Action.objects.get(creator=fan.creator, platform_message_id=4242)  # as salesbot.pipeline.intake looks it up
    o = record_outcome(
        fan, "purchased", ts=T0 + timedelta(minutes=2), action=found, pinned=True, platform_event_id="evt"
    )
    assert o.action_id == a.pk and not Action.objects.get(pk=later.pk).purchased
    assert reattribute_fan(fan) == 0
    assert stats(fan.creator)["conversion_by_price"]["8"] == {"sent": 1, "bought": 1, "rate": 100.0}
