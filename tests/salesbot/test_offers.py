"""Guarded exploration in the rule engine's PPV offers (salesbot.pipeline.offers.choose_offer / rules.ppv), on the demo creator:
bounds 8..60, entry price 18, paid ladder combo1 $12, combo3 $18 (tier 1), combo5 $25 (2), combo7 $35 (3),
video_long $50 (4). Random draws are seeded; statistical checks use many draws and loose tolerances.
"""

import random
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.utils import timezone

from learning import bayes
from learning.models import Action
from learning.services import record_action
from salesbot.pipeline import engine, fan_prices, rules, sender
from salesbot.pipeline import offers as offer_api
from tests.factories import FanFactory

LADDER_PRICES = {Decimal(p) for p in ("12", "18", "25", "35", "50")}
HOOKS_ALL = tuple(offer_api.HOOK_LINES)


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def john(demo):
    return FanFactory(creator=demo, fan_id=777, name="John", state="engaged")


def candidates(demo):
    items = rules.unsent_items(SimpleNamespace(creator=demo, fan=SimpleNamespace(content_sent=[])), paid=True)
    return offer_api.offer_candidates(demo, items, demo.entry_price, "vulnerability")


def evidence(share=0.2, explore=True, **cells):
    """Evidence with one $18 cell for new fans (so it is not a cold start) unless cells say otherwise."""
    price = cells.pop("price", {"new": {"18": (*bayes.posterior(30, 9), 30)}})
    return offer_api.Evidence(price=price, min_sample=20, explore=explore, share=share, **cells)


# --- choose_offer ----------------------------------------------------------------------------------


def test_candidates_stay_within_bounds_ladder_and_the_two_lowest_tiers(demo):
    c = candidates(demo)
    assert set(c.prices) == LADDER_PRICES  # entry price and ladder prices, all in 8..60
    assert [v.content_key for v in c.items] == ["combo1", "combo3", "combo5"]
    demo.ppv_max_price = Decimal("30")
    assert max(candidates(demo).prices) == Decimal("30")  # clamped to the creator's bounds


def test_exploration_is_the_share_scaled_by_the_thin_cells(demo):
    """Only the $18 cell is trusted. An exploring offer may try the rungs next to the chosen price ($12, $25),
    any hook and any item: 12 of those 13 cells (3 prices, 7 hooks, 3 items) are thin, so the creator's share
    is scaled by 12/13."""
    c, rng = candidates(demo), random.Random(1)
    for share in (0.1, 0.3):
        offers = [offer_api.choose_offer(c, evidence(share=share), "new", rng) for _ in range(4000)]
        explored = sum(o.explored for o in offers) / len(offers)
        assert explored == pytest.approx(share * 12 / 13, abs=0.03)


def test_exploration_fades_as_the_cells_fill_and_never_exceeds_the_share(demo):
    c = candidates(demo)
    trusted = (*bayes.posterior(40, 10), 40)
    settled = (*bayes.posterior(200, 50), 200)  # 10 × min_sample: even alike options need no more tries
    prices = {"new": {str(p).removesuffix(".00"): settled for p in c.prices}}
    hooks = {h: trusted for h in c.hooks}
    content = {v.content_key: trusted for v in c.items}

    def rate(**cells):
        rng = random.Random(7)
        offers = [offer_api.choose_offer(c, evidence(share=0.5, **cells), "new", rng) for _ in range(3000)]
        return sum(o.explored for o in offers) / len(offers)

    thin_everywhere_but_18 = rate()
    # every price converts 25%: $50 is surely the best per send, its one neighbour ($35) surely worse;
    # 10 of the 12 cells left to try (2 prices, 7 hooks, 3 items) are thin
    prices_known = rate(price=prices)
    assert offer_api.choose_offer(c, evidence(share=0.0, price=prices), "new", random.Random(1)).price == 50
    hooks_alike = rate(price=prices, hook=hooks, content=content)  # alike and still open (40 sends each)
    all_known = rate(
        price=prices, hook={h: settled for h in c.hooks}, content={v.content_key: settled for v in c.items}
    )
    assert thin_everywhere_but_18 <= 0.5 + 0.03
    assert prices_known == pytest.approx(0.5 * 10 / 12, abs=0.03)
    assert prices_known < thin_everywhere_but_18
    assert 0 < hooks_alike < prices_known
    assert all_known == 0.0  # nothing left to learn: never explores


def test_explored_offers_never_leave_the_bounds_or_ladder(demo):
    demo.ppv_min_price, demo.ppv_max_price = Decimal("15"), Decimal("40")
    c, rng = candidates(demo), random.Random(2)
    offers = [offer_api.choose_offer(c, evidence(share=1.0), "new", rng) for _ in range(2000)]
    explored = [o for o in offers if o.explored]
    assert len(explored) > 1500  # share 1.0 × 12 of 13 cells thin
    assert {o.price for o in offers} <= set(c.prices)
    assert all(Decimal("15") <= o.price <= Decimal("40") for o in offers)
    assert {o.price for o in explored} <= {Decimal("15"), Decimal("18"), Decimal("25")}  # next to $18 only
    assert {o.item.content_key for o in offers} <= {"combo1", "combo3", "combo5"}
    assert {o.hook for o in offers} <= set(offer_api.HOOK_LINES)
    assert len({o.price for o in explored}) > 1 and len({o.hook for o in explored}) > 1  # it does try things


def test_exploring_prices_tries_the_neighbouring_rungs_within_the_budget(demo):
    """An exploring offer tries the rungs next to the chosen price, never a far one, and only while what the
    sends so far earned (each price's sends × its revenue per send) is within 1% of what the ladder's price
    would have earned on them (a conservative bandit)."""
    c, hooks = candidates(demo), {h: (*bayes.posterior(500, 100), 500) for h in HOOKS_ALL}
    content = {key: (*bayes.posterior(500, 100), 500) for key in ("combo1", "combo3", "combo5")}

    def prices(**cells):
        cells = {k: (*bayes.posterior(*v), v[0]) for k, v in cells.items()}
        ev = evidence(share=1.0, price={"new": cells}, hook=hooks, content=content)
        rng = random.Random(12)
        return [offer_api.choose_offer(c, ev, "new", rng).price for _ in range(1000)]

    tried = prices(**{"18": (100, 30)})
    assert set(tried) == {Decimal("12"), Decimal("18"), Decimal("25")}
    # $25 sold none of 15: ~$22 earned where the ladder's $18 would have earned ~$82 on them, over the budget
    assert set(prices(**{"18": (100, 30), "25": (15, 0)})) == {Decimal("18")}
    # the same 15 sends selling 6 times earned more than the ladder would have: exploring goes on
    assert Decimal("25") in prices(**{"18": (100, 30), "25": (15, 6)})


def test_switch_off_never_explores(demo):
    c, rng = candidates(demo), random.Random(3)
    offers = [offer_api.choose_offer(c, evidence(share=1.0, explore=False), "new", rng) for _ in range(500)]
    assert not any(o.explored for o in offers)


def test_cold_start_never_explores_and_takes_the_playbook_ladder(demo):
    c, rng = candidates(demo), random.Random(4)
    cold = offer_api.Evidence(min_sample=20, explore=True, share=1.0)
    offers = [offer_api.choose_offer(c, cold, "new", rng) for _ in range(500)]
    assert not any(o.explored for o in offers)
    assert {(o.price, o.hook, o.item.content_key) for o in offers} == {(Decimal("18"), "vulnerability", "combo1")}


def test_exploit_takes_the_best_trusted_revenue_per_send_not_the_best_rate(demo):
    c = candidates(demo)
    # The ladder's $18 converts 25% ($4.50 a send), $12 40% ($4.80, not surely more), $25 30% ($7.50, surely
    # more): $25 earns more per send.
    ev = evidence(
        share=0.0,
        price={
            "new": {
                "12": (*bayes.posterior(100, 40), 100),
                "18": (*bayes.posterior(100, 25), 100),
                "25": (*bayes.posterior(100, 30), 100),
            }
        },
    )
    assert offer_api.choose_offer(c, ev, "new", random.Random(5)).price == Decimal("25")


def test_learning_keeps_the_ladders_price_until_the_evidence_is_strong(demo):
    """Safe policy improvement: the ladder's $18 stands unless another price surely (95%) earns more per send."""
    c = candidates(demo)

    def price(**cells):
        ev = evidence(share=0.0, price={"new": {k: (*bayes.posterior(*v), v[0]) for k, v in cells.items()}})
        return offer_api.choose_offer(c, ev, "new", random.Random(5)).price

    assert price(**{"25": (100, 40)}) == Decimal("18")  # $10 a send, but $18 never tried: 58%
    assert price(**{"18": (40, 12), "25": (12, 5)}) == Decimal("18")  # $10.71 vs $5.57 a send, 12 sends: 93%
    assert price(**{"18": (40, 12), "25": (30, 12)}) == Decimal("25")  # $10.16 vs $5.57, 30 sends: 97%
    assert price(**{"18": (200, 60), "12": (200, 90)}) == Decimal("18")  # as good as the ladder is not enough


def test_exploit_ignores_thin_cells_that_only_look_good(demo):
    c = candidates(demo)
    # $25 sold 4 of 10: $10.42 a send on average beats $18's $5.63, but only with 90% probability, so the
    # thin price cell waits. scarcity's 2 of 4 (50%) does not surely beat the template's vulnerability (20%);
    # exclusivity's 16 of 40 does.
    ev = evidence(
        share=0.0,
        price={"new": {"25": (*bayes.posterior(10, 4), 10), "18": (*bayes.posterior(30, 9), 30)}},
        hook={
            "scarcity": (*bayes.posterior(4, 2), 4),
            "exclusivity": (*bayes.posterior(40, 16), 40),
            "vulnerability": (*bayes.posterior(40, 8), 40),
        },
    )
    offer = offer_api.choose_offer(c, ev, "new", random.Random(6))
    assert (offer.price, offer.hook, offer.explored) == (Decimal("18"), "exclusivity", False)


def test_exploit_takes_a_thin_price_that_clearly_beats_the_trusted_one(demo):
    c = candidates(demo)
    # $50 sold 3 of 3: even the low end of its 90% interval (0.47 × $50) beats $18's mean ($5.63 a send).
    ev = evidence(share=0.0, price={"new": {"50": (*bayes.posterior(3, 3), 3), "18": (*bayes.posterior(30, 9), 30)}})
    offer = offer_api.choose_offer(c, ev, "new", random.Random(6))
    assert (offer.price, offer.explored) == (Decimal("50"), False)


def test_exploit_reads_the_fans_segment(demo):
    c = candidates(demo)
    ev = evidence(
        share=0.0,
        price={
            "new": {"18": (*bayes.posterior(50, 15), 50)},
            "buyer": {"35": (*bayes.posterior(50, 25), 50), "18": (*bayes.posterior(50, 30), 50)},
        },
    )
    assert offer_api.choose_offer(c, ev, "new", random.Random(7)).price == Decimal("18")
    assert offer_api.choose_offer(c, ev, "buyer", random.Random(7)).price == Decimal("35")  # 35 × .5 > 18 × .6


def test_fan_context_from_what_the_bot_knows(demo):
    c = candidates(demo)  # dearest rung: $50
    fan = SimpleNamespace(total_spent=Decimal("0"), last_ppv_price=None)
    assert fan_prices.fan_context(fan, c) == "new:first"
    fan.last_ppv_price = Decimal("18")
    assert fan_prices.fan_context(fan, c) == "new:declined"
    fan.total_spent = Decimal("18")
    assert fan_prices.fan_context(fan, c) == "buyer:low"
    fan.total_spent = Decimal("68")  # a purchase and a $50 tip
    assert fan_prices.fan_context(fan, c) == "buyer:big"


def test_big_spenders_get_their_own_price_and_a_context_never_borrows_its_parents_winner(demo):
    c = candidates(demo)
    buyer = {"18": (*bayes.posterior(60, 30), 60), "35": (*bayes.posterior(60, 40), 60)}  # $9 vs $23
    big = {"50": (*bayes.posterior(20, 16), 20), "18": (*bayes.posterior(20, 18), 20)}  # $38.6 vs $15.8
    ev = evidence(
        share=0.0,
        price={
            "new": {"18": (*bayes.posterior(30, 9), 30)},
            "buyer": buyer,
            "buyer:big": big,
            "buyer:low": {"35": (*bayes.posterior(2, 0), 2)},
        },
    )
    assert offer_api.choose_offer(c, ev, "buyer:big", random.Random(9)).price == Decimal("50")
    # the buyers' $35 (the big spenders' sends among them) is no evidence for the low spenders: the ladder
    assert offer_api.choose_offer(c, ev, "buyer:low", random.Random(9)).price == Decimal("18")
    assert offer_api.choose_offer(c, ev, "buyer", random.Random(9)).price == Decimal("35")
    assert offer_api.choose_offer(c, ev, "new:first", random.Random(9)).price == Decimal("18")  # no cells


def test_rule_engine_records_the_fans_price_context(demo):
    _trusted_history(demo)
    fan = FanFactory(
        creator=demo, fan_id=4545, name="Sam", state="buyer", total_spent=Decimal("120"), last_ppv_price=Decimal("25")
    )
    d = rules.ppv(engine.build_context(demo, fan))
    assert d.extra["segment"] == "buyer:big"
    action = sender.prepare(demo, fan, d)
    assert Action.objects.get(pk=action.pk).segment == "buyer:big"
    new_fan = FanFactory(creator=demo, fan_id=4646, name="Al", state="engaged")
    action = sender.prepare(demo, new_fan, rules.ppv(engine.build_context(demo, new_fan)))
    assert Action.objects.get(pk=action.pk).segment == "new:first"


def test_thompson_explores_the_uncertain_arm_more_than_the_known_bad_one(demo):
    c, rng = candidates(demo), random.Random(8)
    # (vulnerability, the template's hook, carries most sends, so the scarcity tries cost under the budget)
    hooks = {"vulnerability": (*bayes.posterior(5000, 1500), 5000), "scarcity": (*bayes.posterior(50, 3), 50)}
    offers = [offer_api.choose_offer(c, evidence(share=1.0, hook=hooks), "new", rng) for _ in range(3000)]
    offers = [o for o in offers if o.explored]  # the others exploit the known 30%
    share = {h: sum(o.hook == h for o in offers) / len(offers) for h in ("vulnerability", "scarcity", "challenge")}
    # untried hooks draw from the uniform prior and often beat a known 30%; a known 5% almost never wins
    assert share["challenge"] > share["vulnerability"] > share["scarcity"]
    assert share["scarcity"] < 0.01


# --- through the rule engine and the sender ---------------------------------------------------------


def _trusted_history(demo, n=30):
    """Enough priced PPVs that the stats are not a cold start and some cells are trusted."""
    fan = FanFactory(creator=demo)
    t0 = timezone.now() - timedelta(days=1)
    for i in range(n):
        record_action(
            fan,
            "ppv",
            ts=t0 + timedelta(minutes=i),
            price=Decimal("18"),
            hook="vulnerability",
            content_key="combo1",
            purchased=i % 3 == 0,
            status="sent",
        )


def test_rule_engine_ppv_explores_and_the_sender_records_it(demo):
    # With the full share, an offer explores as often as its options are still open (offers.choose_offer):
    # each fan's draw is its own (seeded by the fan's row), so of twenty fans some explore.
    _trusted_history(demo)
    demo.exploration_share = 1.0
    demo.save()
    explored = 0
    for i in range(20):
        fan = FanFactory(creator=demo, fan_id=4200 + i, name="Sam", state="engaged")
        d = rules.ppv(engine.build_context(demo, fan))
        assert d.action == "ppv" and demo.ppv_min_price <= d.price <= demo.ppv_max_price
        action = sender.prepare(demo, fan, d)
        assert action.status == Action.Status.PENDING
        is_explored = d.extra.get("explored") is True
        assert ("(exploring)" in d.reason) == is_explored
        assert Action.objects.get(pk=action.pk).explored is is_explored
        explored += is_explored
    assert explored > 0


def test_exploration_off_records_unexplored_actions(demo):
    _trusted_history(demo)
    demo.exploration_enabled, demo.exploration_share = False, 1.0
    demo.save()
    fan = FanFactory(creator=demo, fan_id=4343, name="Sam", state="engaged")
    d = rules.ppv(engine.build_context(demo, fan))
    assert "explored" not in d.extra
    action = sender.prepare(demo, fan, d)
    assert Action.objects.get(pk=action.pk).explored is False


def test_cold_creator_ppv_is_the_playbook_default(demo, john):
    demo.exploration_share = 1.0
    demo.save()
    d = rules.ppv(engine.build_context(demo, john))
    assert (d.content_key, d.price, d.hook, d.extra.get("explored")) == ("combo1", Decimal("18"), "vulnerability", None)


# --- Creator.offer_policy: the baselines `manage.py simulate` compares are settings of this engine ----


def test_one_history_three_offer_policies(demo, john):
    """$25 / scarcity / combo3 converts 60% over 40 sends, the ladder's $18 / vulnerability / combo1 20% over 40;
    $12 / challenge / combo1 2 of 2 (thin)."""
    fan, t0 = FanFactory(creator=demo), timezone.now() - timedelta(days=1)
    for i, (price, hook, key, bought) in enumerate(
        [("25", "scarcity", "combo3", i < 24) for i in range(40)]
        + [("18", "vulnerability", "combo1", i < 8) for i in range(40)]
        + [("12", "challenge", "combo1", True)] * 2
    ):
        record_action(
            fan,
            "ppv",
            ts=t0 + timedelta(minutes=i),
            price=Decimal(price),
            hook=hook,
            content_key=key,
            purchased=bought,
            status="sent",
        )
    demo.exploration_enabled = False

    def offer(policy):
        demo.offer_policy = policy
        d = rules.ppv(engine.build_context(demo, john))
        return d.price, d.hook, d.content_key

    assert offer("learned") == (Decimal("25"), "scarcity", "combo3")  # surely more than the ladder's, per send
    assert offer("raw_rates") == (Decimal("12"), "challenge", "combo3")  # the seed: best raw rate, however thin
    assert offer("ladder") == (Decimal("18"), "vulnerability", "combo1")  # the playbook, whatever the stats say


def test_raw_rates_never_tries_anything_untried(demo):
    c = candidates(demo)
    cold = offer_api.Evidence(policy="raw_rates", explore=True, share=1.0)
    assert offer_api.choose_offer(c, cold, "new", random.Random(1)) == offer_api.ladder_offer(c)
    tried = offer_api.Evidence(policy="raw_rates", raw={"price": {"50": (10, 1)}, "hook": {"curiosity": (3, 0)}})
    offers = [offer_api.choose_offer(c, tried, "new", random.Random(i)) for i in range(50)]
    assert {(o.price, o.hook, o.item.content_key, o.explored) for o in offers} == {
        (Decimal("50"), "curiosity", "combo1", False)
    }


# --- per-fan prices (salesbot.pipeline.fan_prices) ------------------------------------------------------


def _ppv_history(fan, *offers):
    """The fan's earlier PPVs: (price, bought) each, sent a minute apart."""
    t0 = timezone.now() - timedelta(hours=2)
    for i, (price, bought) in enumerate(offers):
        record_action(
            fan,
            "ppv",
            ts=t0 + timedelta(minutes=i),
            price=Decimal(price),
            hook="vulnerability",
            content_key="combo1",
            purchased=bought,
            status="sent",
        )


def test_a_whale_is_tested_upward_to_the_price_bound_and_a_low_spender_only_next_door(demo):
    """Exploring from the same known $35, a big spender's offers try the rungs above the ladder up to the
    creator's $60 bound; a low spender's never stray past the rung next to it ($50)."""
    cell = {"35": (*bayes.posterior(10, 6), 10)}
    ev = evidence(share=1.0, price={"buyer:big": dict(cell), "buyer:low": dict(cell), "new": dict(cell)})
    whale = FanFactory(creator=demo, fan_id=31, state="buyer", total_spent=Decimal("20"), whale_score=3)
    low = FanFactory(creator=demo, fan_id=32, state="buyer", total_spent=Decimal("20"))
    seen = {}
    for fan in (whale, low):
        c, context = fan_prices.for_fan(demo, candidates(demo), fan)
        c.default_price = Decimal("35")
        rng = random.Random(3)
        seen[context] = {offer_api.choose_offer(c, ev, context, rng).price for _ in range(400)}
    assert Decimal("60") in seen["buyer:big"] and max(seen["buyer:low"]) == Decimal("50")
    assert min(seen["buyer:big"]) >= Decimal("25")  # upward, and one rung down at most


def test_a_fan_who_refused_a_price_is_never_offered_more_by_the_learning(demo):
    """The buyers' cells are sure $35 earns most; a buyer who paid $18 and then left a $25 PPV unbought is
    not pushed above $25, exploring or not. A buyer who kept what they bought gets the $35."""
    sure = {p: (*bayes.posterior(80, k), 80) for p, k in (("35", 40), ("25", 30), ("18", 32))}
    ev = evidence(share=1.0, price={"buyer:low": sure, "new": {"18": (*bayes.posterior(30, 9), 30)}})
    refused = FanFactory(creator=demo, fan_id=41, state="buyer", total_spent=Decimal("18"))
    _ppv_history(refused, ("18", True), ("25", False))
    kept = FanFactory(creator=demo, fan_id=42, state="buyer", total_spent=Decimal("18"))
    _ppv_history(kept, ("18", True))
    prices = {}
    for fan in (refused, kept):
        c, context = fan_prices.for_fan(demo, candidates(demo), fan)
        rng = random.Random(5)
        prices[fan.fan_id] = [offer_api.choose_offer(c, ev, context, rng).price for _ in range(300)]
    assert max(prices[41]) <= Decimal("25")
    assert prices[42].count(Decimal("35")) > 150  # the learned price, explored away from now and then


def test_the_fans_prices_come_from_what_they_paid_and_refused(demo):
    fan = FanFactory(creator=demo, fan_id=51, state="buyer", total_spent=Decimal("43"))
    _ppv_history(fan, ("25", False), ("18", True), ("25", True), ("50", False), ("35", False))
    s = fan_prices.shown(fan)
    assert (s.paid, s.ceiling, s.offered) == (Decimal("25"), Decimal("35"), True)  # a $25 refusal then bought
    assert fan_prices.options(demo, candidates(demo).prices, "buyer:low", s) == [Decimal(p) for p in (12, 18, 25, 35)]
    assert fan_prices.options(demo, candidates(demo).prices, "buyer:big", fan_prices.Shown())[-1] == Decimal("60")
    assert fan_prices.rungs_above([Decimal(p) for p in (20, 50, 100)], Decimal("300")) == [200, 300]  # ×2 apart
