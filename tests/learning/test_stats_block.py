"""learning.stats_block: the [STATS] prompt block of seed §6, compared as exact text."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.core.cache import cache

from learning.services import record_action, record_outcome
from learning.stats import aggregate_learning_stats
from learning.stats_block import format_stats_block
from tests.factories import FanFactory

COLD = "[STATS]\nNo data yet — use playbook defaults.\n[/STATS]"


def conv(sent, bought, rate):
    return {"sent": sent, "bought": bought, "rate": rate}


def ghost(sent, ghosted, rate):
    return {"sent": sent, "ghosted": ghosted, "rate": rate}


def empty_stats(actions=0, outcomes=0):
    return {"totals": {"actions": actions, "outcomes": outcomes}, "conversion_by_price": {},
            "conversion_by_content": {}, "conversion_by_hook": {}, "conversion_by_hour": {},
            "ghost_rate_by_stage": {}, "avg_msgs_to_first_buy": None, "top_hooks": [],
            "computed_at": "2024-05-01T12:00:00+00:00"}


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()
    yield
    cache.clear()


def test_cold_start_exact_text():
    assert format_stats_block(empty_stats()) == COLD


def test_cold_start_from_an_empty_database(creator):
    assert format_stats_block(aggregate_learning_stats(creator)) == COLD


def test_seed_example_exact_text():
    stats = empty_stats(234, 89)
    stats["conversion_by_price"] = {"15": conv(6, 2, 33.3), "18": conv(45, 12, 26.7), "25": conv(20, 3, 15.0)}
    stats["conversion_by_content"] = {"pic": conv(10, 1, 10.0)}    # not part of the block
    stats["top_hooks"] = [["vulnerability", 34], ["scarcity", 18], ["sexual_match", 12]]
    stats["conversion_by_hour"] = {"2": conv(4, 1, 25.0), "9": conv(10, 1, 10.0), "21": conv(25, 7, 28.0),
                                   "22": conv(20, 7, 35.0)}
    stats["ghost_rate_by_stage"] = {"engaged": ghost(30, 0, 0.0), "greeted": ghost(40, 10, 25.0),
                                    "pitched": ghost(50, 20, 40.0)}
    stats["avg_msgs_to_first_buy"] = 5.3
    assert format_stats_block(stats) == (
        "[STATS]\n"
        "Data: 234 actions, 89 outcomes\n"
        "conversion_by_price: $18: 26.7% (45 sent), $25: 15.0% (20 sent), $15: 33.3% (6 sent)\n"
        "top_hooks: vulnerability: 34x, scarcity: 18x, sexual_match: 12x\n"
        "best_hours: 22:00 UTC: 35.0%, 21:00 UTC: 28.0%, 2:00 UTC: 25.0%\n"
        "ghost_rate_by_stage: pitched: 40.0%, greeted: 25.0%\n"
        "avg_msgs_to_first_buy: 5.3\n"
        "[/STATS]"
    )


def test_empty_lines_are_left_out():
    assert format_stats_block(empty_stats(3, 0)) == "[STATS]\nData: 3 actions, 0 outcomes\n[/STATS]"
    # only unattributed outcomes (no actions) is still data, not a cold start
    assert format_stats_block(empty_stats(0, 2)) == "[STATS]\nData: 0 actions, 2 outcomes\n[/STATS]"


def test_ghost_line_needs_a_ghosting():
    stats = empty_stats(5, 1)
    stats["ghost_rate_by_stage"] = {"greeted": ghost(3, 0, 0.0), "pitched": ghost(2, 0, 0.0)}
    stats["avg_msgs_to_first_buy"] = 2.0
    assert format_stats_block(stats) == "[STATS]\nData: 5 actions, 1 outcomes\navg_msgs_to_first_buy: 2.0\n[/STATS]"


def test_best_hours_ties_go_to_more_sent():
    stats = empty_stats(30, 6)
    stats["conversion_by_hour"] = {"1": conv(5, 1, 20.0), "3": conv(10, 2, 20.0), "4": conv(2, 1, 50.0),
                                   "5": conv(10, 2, 20.0), "6": conv(1, 0, 0.0)}
    # 50% first; three hours at 20%: 3 and 5 sent 10 (earlier hour first) beat 1 which sent 5.
    assert format_stats_block(stats).splitlines()[2] == "best_hours: 4:00 UTC: 50.0%, 3:00 UTC: 20.0%, 5:00 UTC: 20.0%"


def test_lines_keep_at_most_eight_entries():
    stats = empty_stats(100, 10)
    stats["conversion_by_price"] = {str(p): conv(p, 0, 0.0) for p in range(5, 15)}   # 10 prices
    stats["top_hooks"] = [[f"h{i}", 20 - i] for i in range(10)]
    lines = format_stats_block(stats).splitlines()
    assert lines[2] == ("conversion_by_price: " + ", ".join(f"${p}: 0.0% ({p} sent)" for p in range(14, 6, -1)))
    assert lines[3] == "top_hooks: " + ", ".join(f"h{i}: {20 - i}x" for i in range(8))


def test_block_from_recorded_data(creator):
    t0 = datetime(2024, 5, 1, 21, 0, tzinfo=timezone.utc)
    fan = FanFactory(creator=creator)
    record_action(fan, "text", ts=t0, hook="curiosity", fan_state="greeted")
    record_outcome(fan, "replied", ts=t0 + timedelta(minutes=1))
    record_action(fan, "ppv", ts=t0 + timedelta(minutes=2), price=Decimal("12.50"), hook="scarcity",
                  fan_state="pitched")
    record_outcome(fan, "purchased", ts=t0 + timedelta(minutes=3), amount=Decimal("12.50"))
    other = FanFactory(creator=creator)
    record_action(other, "ppv", ts=t0 + timedelta(hours=1), price=Decimal("18"), hook="scarcity",
                  fan_state="pitched")
    record_outcome(other, "ghosted", ts=t0 + timedelta(hours=2))
    # pitched: 2 actions, 1 ghosted = 50%; greeted never ghosted; 1 reply before fan's only buy.
    assert format_stats_block(aggregate_learning_stats(creator)) == (
        "[STATS]\n"
        "Data: 3 actions, 3 outcomes\n"
        "conversion_by_price: $12.5: 100.0% (1 sent), $18: 0.0% (1 sent)\n"
        "top_hooks: scarcity: 2x, curiosity: 1x\n"
        "best_hours: 21:00 UTC: 100.0%, 22:00 UTC: 0.0%\n"
        "ghost_rate_by_stage: pitched: 50.0%\n"
        "avg_msgs_to_first_buy: 1.0\n"
        "[/STATS]"
    )
