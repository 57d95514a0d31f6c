"""learning.stats.block: the [STATS] prompt block (docs/learning.md#the-statistics), compared as exact text.

Expected revenue per send is worked out by hand with the uniform prior: price × (bought + 1) / (sent + 2).
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache

from learning.services import record_action, record_outcome
from learning.stats import aggregate_learning_stats
from learning.stats.block import format_stats_block
from tests.factories import FanFactory

COLD = "[STATS]\nNo data yet — use playbook defaults.\n[/STATS]"


def conv(sent, bought, rate):
    return {"sent": sent, "bought": bought, "rate": rate}


def ghost(sent, ghosted, rate):
    return {"sent": sent, "ghosted": ghosted, "rate": rate}


def empty_stats(actions=0, outcomes=0):
    return {
        "totals": {"actions": actions, "outcomes": outcomes},
        "conversion_by_price": {},
        "conversion_by_content": {},
        "conversion_by_hook": {},
        "conversion_by_hour": {},
        "ghost_rate_by_stage": {},
        "avg_msgs_to_first_buy": None,
        "top_hooks": [],
        "computed_at": "2024-05-01T12:00:00+00:00",
    }


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()
    yield
    cache.clear()


def test_cold_start_exact_text():
    assert format_stats_block(empty_stats()) == COLD


def test_cold_start_from_an_empty_database(creator):
    assert format_stats_block(aggregate_learning_stats(creator)) == COLD


THIN = "too few to trust"
FOOTER = (
    "Ranked by Bayesian revenue per send / conversion. Trust only cells with 20+ sent; "
    "for cells marked 'too few to trust' use the playbook defaults."
)


def test_seed_example_keeps_its_format_and_marks_the_thin_cell():
    stats = empty_stats(234, 89)
    stats["conversion_by_price"] = {"15": conv(6, 2, 33.3), "18": conv(45, 12, 26.7), "25": conv(20, 3, 15.0)}
    stats["top_hooks"] = [["vulnerability", 34], ["scarcity", 18], ["sexual_match", 12]]
    stats["conversion_by_hour"] = {
        "2": conv(4, 1, 25.0),
        "9": conv(10, 1, 10.0),
        "21": conv(25, 7, 28.0),
        "22": conv(20, 7, 35.0),
    }
    stats["ghost_rate_by_stage"] = {
        "engaged": ghost(30, 0, 0.0),
        "greeted": ghost(40, 10, 25.0),
        "pitched": ghost(50, 20, 40.0),
    }
    stats["avg_msgs_to_first_buy"] = 5.3
    # $18: 18 × 13/47 = $4.98 a send; $25: 25 × 4/22 = $4.55; $15 rests on 6 sends: never ranked, marked.
    assert format_stats_block(stats) == (
        "[STATS]\n"
        "Data: 234 actions, 89 outcomes\n"
        "conversion_by_price: $18: 26.7% (45 sent, $4.98/send), $25: 15.0% (20 sent, $4.55/send), "
        "$15: 33.3% (6 sent — too few to trust)\n"
        "top_hooks: vulnerability: 34x, scarcity: 18x, sexual_match: 12x\n"
        "best_hours: 22:00 UTC: 35.0%, 21:00 UTC: 28.0%, 2:00 UTC: 25.0% (4 sent — too few to trust)\n"
        "ghost_rate_by_stage: pitched: 40.0%, greeted: 25.0%\n"
        "avg_msgs_to_first_buy: 5.3\n"
        f"{FOOTER}\n"
        "[/STATS]"
    )


def test_prices_rank_by_revenue_per_send_not_raw_rate():
    stats = empty_stats(200, 50)
    stats["conversion_by_price"] = {"12": conv(100, 30, 30.0), "25": conv(100, 20, 20.0)}
    # $12: 12 × 31/102 = $3.65; $25: 25 × 21/102 = $5.15 — the lower rate earns more per send.
    assert format_stats_block(stats).splitlines()[2] == (
        "conversion_by_price: $25: 20.0% (100 sent, $5.15/send), $12: 30.0% (100 sent, $3.65/send)"
    )


def test_a_thin_cell_never_outranks_a_trusted_one_however_good_it_looks():
    stats = empty_stats(60, 10)
    stats["conversion_by_price"] = {"40": conv(5, 5, 100.0), "18": conv(50, 5, 10.0)}
    stats["conversion_by_hook"] = {"scarcity": conv(3, 3, 100.0), "vulnerability": conv(50, 5, 10.0)}
    lines = format_stats_block(stats).splitlines()
    assert lines[2] == "conversion_by_price: $18: 10.0% (50 sent, $2.08/send), $40: 100.0% (5 sent — too few to trust)"
    assert (
        lines[3] == "conversion_by_hook: vulnerability: 10.0% (50 sent), scarcity: 100.0% (3 sent — too few to trust)"
    )


def test_min_sample_comes_from_the_creator_stats():
    stats = empty_stats(60, 10)
    stats["min_sample"] = 5
    stats["conversion_by_price"] = {"40": conv(5, 5, 100.0), "18": conv(50, 5, 10.0)}
    lines = format_stats_block(stats).splitlines()
    # 5 sends are enough now: $40 × 6/7 = $34.29 a send leads.
    assert lines[2] == "conversion_by_price: $40: 100.0% (5 sent, $34.29/send), $18: 10.0% (50 sent, $2.08/send)"
    assert lines[-2].startswith("Ranked by Bayesian revenue per send / conversion. Trust only cells with 5+ sent")


def test_posterior_cells_of_the_stats_are_used_when_present():
    """With a half-life the stats' posterior differs from the raw counts; the block follows the posterior."""
    stats = empty_stats(40, 10)
    stats["conversion_by_price"] = {"18": conv(40, 10, 25.0)}
    stats["posterior_by_price"] = {
        "18": {
            "sent": 40,
            "bought": 10,
            "mean": 0.3,
            "thin": True,
            "revenue_per_send": {"mean": 5.4, "ci90": [3.0, 8.0]},
        }
    }
    assert format_stats_block(stats).splitlines()[2] == "conversion_by_price: $18: 25.0% (40 sent — too few to trust)"


def test_empty_lines_are_left_out():
    assert format_stats_block(empty_stats(3, 0)) == "[STATS]\nData: 3 actions, 0 outcomes\n[/STATS]"
    # only unattributed outcomes (no actions) is still data, not a cold start
    assert format_stats_block(empty_stats(0, 2)) == "[STATS]\nData: 0 actions, 2 outcomes\n[/STATS]"


def test_ghost_line_needs_a_ghosting():
    stats = empty_stats(5, 1)
    stats["ghost_rate_by_stage"] = {"greeted": ghost(3, 0, 0.0), "pitched": ghost(2, 0, 0.0)}
    stats["avg_msgs_to_first_buy"] = 2.0
    assert format_stats_block(stats) == "[STATS]\nData: 5 actions, 1 outcomes\navg_msgs_to_first_buy: 2.0\n[/STATS]"


def test_best_hours_trusted_first_then_by_posterior():
    stats = empty_stats(130, 20)
    stats["conversion_by_hour"] = {
        "1": conv(30, 6, 20.0),
        "3": conv(30, 6, 20.0),
        "4": conv(2, 2, 100.0),
        "5": conv(40, 8, 20.0),
        "6": conv(25, 9, 36.0),
    }
    # 6 leads (10/27); 1, 3 and 5 all convert 20%, the posteriors 7/32, 7/32, 9/42 put 1 and 3 (equal,
    # earlier hour first) ahead; the 100% hour rests on 2 sends and is not shown: trusted hours fill the line.
    assert format_stats_block(stats).splitlines()[2] == "best_hours: 6:00 UTC: 36.0%, 1:00 UTC: 20.0%, 3:00 UTC: 20.0%"


def test_lines_keep_at_most_eight_entries():
    stats = empty_stats(100, 10)
    stats["conversion_by_price"] = {str(p): conv(p, 0, 0.0) for p in range(5, 15)}  # 10 prices, all thin
    stats["top_hooks"] = [[f"h{i}", 20 - i] for i in range(10)]
    lines = format_stats_block(stats).splitlines()
    # p / (p + 2) grows with p: the dearest thin price has the best (still untrusted) estimate.
    assert lines[2] == (
        "conversion_by_price: " + ", ".join(f"${p}: 0.0% ({p} sent — {THIN})" for p in range(14, 6, -1))
    )
    assert lines[3] == "top_hooks: " + ", ".join(f"h{i}: {20 - i}x" for i in range(8))


def test_block_from_recorded_data(creator):
    t0 = datetime(2024, 5, 1, 21, 0, tzinfo=UTC)
    fan = FanFactory(creator=creator)
    record_action(fan, "text", ts=t0, hook="curiosity", fan_state="greeted")
    record_outcome(fan, "replied", ts=t0 + timedelta(minutes=1))
    record_action(
        fan,
        "ppv",
        ts=t0 + timedelta(minutes=2),
        price=Decimal("12.50"),
        hook="scarcity",
        fan_state="pitched",
        content_key="combo1",
    )
    record_outcome(fan, "purchased", ts=t0 + timedelta(minutes=3), amount=Decimal("12.50"))
    other = FanFactory(creator=creator)
    record_action(
        other,
        "ppv",
        ts=t0 + timedelta(hours=1),
        price=Decimal("18"),
        hook="scarcity",
        fan_state="pitched",
        content_key="combo1",
    )
    record_outcome(other, "ghosted", ts=t0 + timedelta(hours=2))
    # pitched: 2 actions, 1 ghosted = 50%; greeted never ghosted; 1 reply before fan's only buy.
    # Every cell has 1 or 2 sends against min_sample 20: all marked.
    assert format_stats_block(aggregate_learning_stats(creator)) == (
        "[STATS]\n"
        "Data: 3 actions, 3 outcomes\n"
        "conversion_by_price: $12.5: 100.0% (1 sent — too few to trust), $18: 0.0% (1 sent — too few to trust)\n"
        "conversion_by_hook: scarcity: 50.0% (2 sent — too few to trust)\n"
        "conversion_by_content: combo1: 50.0% (2 sent — too few to trust)\n"
        "top_hooks: scarcity: 2x, curiosity: 1x\n"
        "best_hours: 21:00 UTC: 100.0% (1 sent — too few to trust), 22:00 UTC: 0.0% (1 sent — too few to trust)\n"
        "ghost_rate_by_stage: pitched: 50.0%\n"
        "avg_msgs_to_first_buy: 1.0\n"
        f"{FOOTER}\n"
        "[/STATS]"
    )


def test_buyer_prices_get_their_own_line(creator):
    t0 = datetime(2024, 5, 1, 21, 0, tzinfo=UTC)
    creator.min_sample = 2
    creator.save()
    fan = FanFactory(creator=creator)
    for i, bought in enumerate([True, True, False]):
        record_action(
            fan,
            "ppv",
            ts=t0 + timedelta(minutes=i),
            price=Decimal("25"),
            purchased=bought,
            fan_total_spent=Decimal("40"),
        )
    line = [
        x
        for x in format_stats_block(aggregate_learning_stats(creator)).splitlines()
        if x.startswith("price_for_buyers")
    ]
    assert line == ["price_for_buyers: $25: 66.7% (3 sent, $15.00/send)"]  # 25 × 3/5


def test_the_llm_prompt_carries_the_marked_block(creator, fan):
    from salesbot.pipeline.llm.prompt import build_prompt

    record_action(fan, "ppv", ts=datetime(2024, 5, 1, 21, 0, tzinfo=UTC), price=Decimal("15"))
    prompt = build_prompt(creator, fan)
    assert "conversion_by_price: $15: 0.0% (1 sent — too few to trust)" in prompt.system  # the cached part
    assert "only where the stats say" in prompt.system
