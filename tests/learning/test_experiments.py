"""Holdout experiments (learning.experiments): sticky assignment, the control arm on the ladder, the learning
stats kept to the learning arm, the per-arm results, the API, and a simulated audience with a known lift."""

from decimal import Decimal
from functools import partial
from types import SimpleNamespace

import pytest
from django.core.management import call_command

from learning import experiments
from learning.models import Action, Outcome
from learning.services import record_action, record_outcome
from learning.stats import compute_learning_stats
from learning.stats.from_counters import stats_from_rollup
from learning.stats.from_rows import compute_learning_stats_from_rows
from salesbot.pipeline import offers
from sim.fan_models import LiftFans
from sim.policy import Simulation
from tests.factories import FanFactory


def _fans(creator, n, start=1):
    return [FanFactory(creator=creator, fan_id=start + i) for i in range(n)]


def _without_time(stats):
    return {k: v for k, v in stats.items() if k != "computed_at"}


def test_assignment_is_sticky_at_the_share_and_only_for_new_fans(creator):
    before = FanFactory(creator=creator, fan_id=1)
    exp = experiments.start(creator, 0.3, by="alice")
    fans = _fans(creator, 400, start=10)
    arms = [experiments.arm_of(f) for f in fans]
    assert experiments.arm_of(before) == "" and before.arm == ""
    assert set(arms) == {"learning", "control"}
    assert 0.22 < arms.count("control") / len(arms) < 0.38
    for f, arm in zip(fans, arms, strict=True):
        f.refresh_from_db()
        assert (f.arm, f.experiment_id) == (arm, exp.pk)
        assert experiments.arm_of(f) == arm  # sticky, whoever asks again
    experiments.stop(creator)
    assert experiments.arm_of(fans[0]) == ""  # stopped: served as the creator's policy again
    fans[0].refresh_from_db()
    assert fans[0].arm == arms[0]  # ... but the fan keeps the arm it had


def test_start_is_refused_while_one_runs_and_for_a_bad_share(creator):
    experiments.start(creator, 0.2)
    with pytest.raises(experiments.ExperimentError):
        experiments.start(creator, 0.2)
    experiments.stop(creator)
    for bad in (0, 1, -0.5, "x", None):
        with pytest.raises(experiments.ExperimentError):
            experiments.start(creator, bad)


def _learned_evidence(creator, fan_ids):
    """Enough sends at $50 that all bought, so the learned offer for a new fan is $50, not the $18 entry."""
    for i in range(60):
        f = FanFactory(creator=creator, fan_id=900_000 + i)
        a = record_action(
            f, "ppv", price=Decimal("50"), hook="curiosity", content_key="item-a", status="sent", segment="new:first"
        )
        record_outcome(f, Outcome.Event.PURCHASED, amount=Decimal("50"), action=a, pinned=True)


def test_the_control_arm_gets_the_ladder_and_the_learning_arm_the_learned_price(demo):
    demo.exploration_enabled = False
    demo.save()
    _learned_evidence(demo, range(60))
    from learning.stats import refresh_learning_stats

    refresh_learning_stats(demo)
    experiments.start(demo, 0.5)
    fans = _fans(demo, 40, start=1)
    items = list(demo.vault_items.filter(default_price__isnull=False))
    c = offers.offer_candidates(demo, items, demo.entry_price, "vulnerability")
    seen = {}
    for f in fans:
        evidence = offers.load_evidence(SimpleNamespace(creator=demo, fan=f))
        offer = offers.choose_offer(c, evidence, "new:first", __import__("random").Random(1))
        seen.setdefault(f.arm, set()).add((offer.price, offer.explored))
    assert seen["control"] == {(Decimal("18"), False)}
    assert seen["learning"] == {(Decimal("50"), False)}


def test_control_actions_are_recorded_with_their_arm_and_left_out_of_the_learning_stats(creator):
    experiments.start(creator, 0.5)
    fans = _fans(creator, 30)
    for f in fans:
        a = record_action(f, "ppv", price=Decimal("25"), hook="curiosity", content_key="x", status="sent")
        assert a.arm == f.arm != ""
        if f.fan_id % 2:
            record_outcome(f, Outcome.Event.PURCHASED, amount=Decimal("25"), action=a, pinned=True)
        record_action(f, "text", status="sent")
    learning_ppvs = Action.objects.filter(arm="learning", action="ppv")
    stats = compute_learning_stats(creator)
    assert stats["conversion_by_price"]["25"]["sent"] == learning_ppvs.count()
    assert stats["conversion_by_price"]["25"]["bought"] == learning_ppvs.filter(purchased=True).count()
    assert stats["totals"]["actions"] == Action.objects.exclude(arm="control").count()
    assert _without_time(stats_from_rollup(creator)) == _without_time(compute_learning_stats_from_rows(creator))
    call_command("rebuild_learning_stats", creator.slug, "--check")
    experiments.stop(creator)
    after = record_action(fans[0], "text", status="sent")
    assert after.arm == ""  # no arm once the experiment is over


def test_results_say_plainly_when_there_is_not_enough_data(creator):
    exp = experiments.start(creator, 0.5)
    _fans(creator, 4)
    res = experiments.results(exp)
    assert res["comparison"]["enough_data"] is False
    assert res["comparison"]["verdict"].startswith("Not enough data yet")


@pytest.mark.parametrize("seed", [1])
def test_a_simulated_audience_with_a_known_lift_is_measured_within_the_interval(db, seed):
    """LiftFans: the learning arm buys 1.5× as often, the offers are the same in both arms (the learning arm
    cannot learn: no exploration, min_sample out of reach), so the true lift in revenue per fan is 0.5.
    Every decision is the real engine's (sim.policy), the arms the real assignment's."""
    sim = Simulation(
        600,
        seed,
        fan_model=partial(LiftFans, p=0.3, lift=0.5),
        experiment=0.5,
        exploration_enabled=False,
        min_sample=10**6,
    )
    res = sim.run("bayes").experiment
    arms, cmp = res["arms"], res["comparison"]
    assert 240 < arms["control"]["fans"] < 360 and arms["learning"]["fans"] + arms["control"]["fans"] == 600
    assert cmp["enough_data"]
    lo, hi = cmp["revenue_per_fan_lift"]["interval_90"]
    assert lo < 0.5 < hi
    assert lo > 0 and cmp["p_learning_beats_control_revenue"] > 0.95
    assert cmp["verdict"].startswith("Learning earns more")
