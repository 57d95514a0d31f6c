"""Learning migration 0008: ghosts the old dormancy checker put on PPVs the fan had bought (or answered
with a tip) are removed from the rows and the counters, so `ghost_rate_by_stage` and the [STATS] block
stop counting quiet buyers as drop-offs."""

import importlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

from django.apps import apps
from django.core.management import call_command

from learning.models import Action, Outcome
from learning.services import record_action, record_outcome
from learning.stats import aggregate_learning_stats
from tests.factories import FanFactory

T0 = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
repair = importlib.import_module("learning.migrations.0008_unghost_answered_actions")


def h(n):
    return T0 + timedelta(hours=n)


def old_checker_ghost(fan, action, at):
    """What mark_dormant wrote before the fix: a ghost on the last action whatever the fan bought."""
    return record_outcome(fan, "ghosted", ts=at, action=action, pinned=True)


def test_ghosts_on_bought_or_tipped_actions_are_removed_and_counters_agree(creator):
    buyer, tipper, quiet = (FanFactory(creator=creator) for _ in range(3))
    bought = record_action(buyer, "ppv", ts=h(0), price=Decimal("18"), status="sent", fan_state="pitched")
    record_outcome(buyer, "purchased", ts=h(1), amount=Decimal("18"), action=bought, pinned=True)
    old_checker_ghost(buyer, bought, h(25))
    tipped = record_action(tipper, "text", ts=h(0), status="sent", fan_state="buyer")
    record_outcome(tipper, "tipped", ts=h(2), amount=Decimal("20"))
    old_checker_ghost(tipper, tipped, h(26))
    unanswered = record_action(quiet, "ppv", ts=h(0), price=Decimal("18"), status="sent", fan_state="pitched")
    kept = old_checker_ghost(quiet, unanswered, h(25))
    before = aggregate_learning_stats(creator, use_cache=False)["ghost_rate_by_stage"]
    assert (before["pitched"]["ghosted"], before["buyer"]["ghosted"]) == (2, 1)

    repair.unghost(apps, None)

    assert list(Outcome.objects.filter(event="ghosted")) == [kept]
    assert list(Action.objects.filter(ghosted=True)) == [unanswered]
    call_command("rebuild_learning_stats", creator.slug, "--check", stdout=StringIO())
    after = aggregate_learning_stats(creator, use_cache=False)
    assert after["ghost_rate_by_stage"]["pitched"] == {"sent": 2, "ghosted": 1, "rate": 50.0}
    assert after["ghost_rate_by_stage"]["buyer"] == {"sent": 1, "ghosted": 0, "rate": 0.0}
    assert after["totals"]["outcomes"] == 3  # the purchase, the tip and the true ghost


def test_a_fan_who_came_back_after_the_ghost_keeps_it(creator):
    fan = FanFactory(creator=creator)
    ppv = record_action(fan, "ppv", ts=h(0), price=Decimal("18"), status="sent", fan_state="pitched")
    ghost = old_checker_ghost(fan, ppv, h(25))
    record_outcome(fan, "purchased", ts=h(40), amount=Decimal("18"), action=ppv, pinned=True)  # days later
    repair.unghost(apps, None)
    assert list(Outcome.objects.filter(event="ghosted")) == [ghost]
