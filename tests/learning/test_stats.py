"""learning.stats: every statistic (docs/learning.md#the-statistics) against hand-computed scenarios.

Data goes through learning.services so attribution (the purchased/ghosted flags) is applied the
way production applies it; expected numbers are worked out by hand in each test.
"""

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.core.cache import cache

from learning import stats as learning_stats_api
from learning.services import record_action, record_outcome
from learning.stats import from_rows
from learning.stats.cells import price_key
from tests.factories import CreatorFactory, FanFactory

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ppv(fan, minute, price="18", **fields):
    return record_action(fan, "ppv", ts=t(minute), price=None if price is None else Decimal(price), **fields)


def conv(sent, bought, rate):
    return {"sent": sent, "bought": bought, "rate": rate}


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()
    yield
    cache.clear()


# --- conversion ---------------------------------------------------------------------------------


def test_conversion_by_price_counts_sent_and_bought(creator, fan):
    ppv(fan, 1), ppv(fan, 2), ppv(fan, 3)  # 3 × $18 ...
    record_outcome(fan, "purchased", ts=t(4), amount=Decimal("18"))  # ... 1 bought: 33.3%
    other = FanFactory(creator=creator)
    ppv(other, 1, price="25")  # 1 × $25, never bought
    ppv(other, 2, price=None)  # no price: left out of this grouping
    record_action(other, "text", ts=t(3), price=Decimal("18"))  # not a PPV: left out
    assert from_rows.conversion_by_price(creator) == {"18": conv(3, 1, 33.3), "25": conv(1, 0, 0.0)}


def test_price_keys_have_no_trailing_zeros_or_exponent(creator, fan):
    for minute, price in enumerate(["100", "12.5", "18.00", "18", "12.50"]):
        ppv(fan, minute, price=price)
    result = from_rows.conversion_by_price(creator)
    assert list(result) == ["12.5", "18", "100"]  # numeric order, plain strings
    assert result == {"12.5": conv(2, 0, 0.0), "18": conv(2, 0, 0.0), "100": conv(1, 0, 0.0)}


@pytest.mark.parametrize(
    "price,key",
    [("100.00", "100"), ("12.50", "12.5"), ("18", "18"), ("0.50", "0.5"), ("7.05", "7.05"), ("1000", "1000")],
)
def test_price_key(price, key):
    assert price_key(Decimal(price)) == key


def test_purchase_credits_latest_unbought_ppv_then_the_earlier_one(creator, fan):
    ppv(fan, 1, price="18", content_key="pic_a", hook="scarcity")
    ppv(fan, 2, price="25", content_key="vid_b", hook="vulnerability")
    record_action(fan, "text", ts=t(3), hook="curiosity")  # a text never takes a purchase
    record_outcome(fan, "purchased", ts=t(4), amount=Decimal("25"))
    assert from_rows.conversion_by_price(creator) == {"18": conv(1, 0, 0.0), "25": conv(1, 1, 100.0)}
    assert from_rows.conversion_by_content(creator) == {"pic_a": conv(1, 0, 0.0), "vid_b": conv(1, 1, 100.0)}
    assert from_rows.conversion_by_hook(creator) == {"scarcity": conv(1, 0, 0.0), "vulnerability": conv(1, 1, 100.0)}

    record_outcome(fan, "purchased", ts=t(5), amount=Decimal("18"))  # the $25 is taken: credits $18
    assert from_rows.conversion_by_price(creator) == {"18": conv(1, 1, 100.0), "25": conv(1, 1, 100.0)}

    record_outcome(fan, "purchased", ts=t(6), amount=Decimal("18"))  # nothing left to credit
    assert from_rows.conversion_by_price(creator) == {"18": conv(1, 1, 100.0), "25": conv(1, 1, 100.0)}
    assert from_rows.totals(creator) == {"actions": 3, "outcomes": 3}


def test_purchase_before_any_ppv_is_unattributed_but_counted(creator, fan):
    record_outcome(fan, "purchased", ts=t(0), amount=Decimal("18"))
    ppv(fan, 1)
    assert from_rows.conversion_by_price(creator) == {"18": conv(1, 0, 0.0)}
    assert from_rows.totals(creator) == {"actions": 1, "outcomes": 1}


def test_conversion_by_content_and_hook_skip_empty_values(creator, fan):
    ppv(fan, 1, content_key="pic_a", hook="scarcity")
    ppv(fan, 2, content_key="pic_a", hook="")
    ppv(fan, 3, content_key="", hook="scarcity")
    record_outcome(fan, "purchased", ts=t(4))  # credits the t3 PPV (no content_key)
    ppv(fan, 5, content_key="vid_b", hook="challenge")
    record_outcome(fan, "purchased", ts=t(6))  # credits the t5 PPV
    assert from_rows.conversion_by_content(creator) == {"pic_a": conv(2, 0, 0.0), "vid_b": conv(1, 1, 100.0)}
    assert from_rows.conversion_by_hook(creator) == {"challenge": conv(1, 1, 100.0), "scarcity": conv(2, 1, 50.0)}


def test_rates_round_to_one_decimal(creator, fan):
    for minute in range(3):
        ppv(fan, minute * 2, content_key="x")
        if minute < 2:
            record_outcome(fan, "purchased", ts=t(minute * 2 + 1))
    assert from_rows.conversion_by_content(creator) == {"x": conv(3, 2, 66.7)}


def test_conversion_by_hour_buckets_in_utc(settings, creator, fan):
    settings.TIME_ZONE = "Asia/Tokyo"  # the server zone must not shift the buckets
    new_york_winter = timezone(timedelta(hours=-5))
    record_action(fan, "ppv", ts=datetime(2024, 1, 1, 23, 30, tzinfo=new_york_winter), price=Decimal("18"))
    record_outcome(fan, "purchased", ts=datetime(2024, 1, 2, 4, 45, tzinfo=UTC))  # 23:30 EST = 04:30 UTC
    record_action(fan, "ppv", ts=datetime(2024, 1, 2, 0, 15, tzinfo=UTC))
    record_action(fan, "ppv", ts=datetime(2024, 1, 2, 22, 59, tzinfo=UTC))
    record_action(fan, "ppv", ts=datetime(2024, 1, 3, 22, 0, tzinfo=UTC))
    record_action(fan, "text", ts=datetime(2024, 1, 3, 5, 0, tzinfo=UTC))  # not a PPV
    assert from_rows.conversion_by_hour(creator) == {
        "0": conv(1, 0, 0.0),
        "4": conv(1, 1, 100.0),
        "22": conv(2, 0, 0.0),
    }


# --- ghosting -----------------------------------------------------------------------------------


def test_ghost_rate_by_stage(creator, fan):
    record_action(fan, "welcome", ts=t(0), fan_state="greeted")
    record_action(fan, "text", ts=t(1), fan_state="greeted")
    record_outcome(fan, "ghosted", ts=t(2))  # -> the t1 text (greeted)
    record_outcome(fan, "ghosted", ts=t(3))  # same action again: still one ghosted action
    record_action(fan, "text", ts=t(4), fan_state="greeted")
    record_action(fan, "bump", ts=t(5), fan_state="greeted")
    record_outcome(fan, "replied", ts=t(6))  # a reply never marks a ghost
    other = FanFactory(creator=creator)
    ppv(other, 0, fan_state="pitched")
    record_outcome(other, "ghosted", ts=t(1))  # -> the PPV (pitched)
    record_action(other, "text", ts=t(2), fan_state="pitched")
    record_action(other, "text", ts=t(3), fan_state="engaged")
    record_action(other, "text", ts=t(4), fan_state="")  # no stage: skipped
    record_outcome(other, "ghosted", ts=t(5))  # -> the stageless text: only in totals
    assert from_rows.ghost_rate_by_stage(creator) == {
        "engaged": {"sent": 1, "ghosted": 0, "rate": 0.0},
        "greeted": {"sent": 4, "ghosted": 1, "rate": 25.0},
        "pitched": {"sent": 2, "ghosted": 1, "rate": 50.0},
    }


# --- messages to first buy ----------------------------------------------------------------------


def test_avg_msgs_to_first_buy_orders_by_ts_then_seq(creator):
    a = FanFactory(creator=creator)
    record_outcome(a, "replied", ts=t(0))  # counts
    ppv(a, 1)
    record_outcome(a, "replied", ts=t(2))  # counts
    record_outcome(a, "replied", ts=t(5))  # same ts as the purchase, earlier seq: counts
    record_outcome(a, "purchased", ts=t(5))  # first purchase of a
    record_outcome(a, "replied", ts=t(5))  # same ts, later seq: after the buy
    record_outcome(a, "replied", ts=t(6))
    ppv(a, 7)
    record_outcome(a, "purchased", ts=t(8))  # a second purchase changes nothing
    # a: 3 replies before the first buy.
    b = FanFactory(creator=creator)
    ppv(b, 0)
    record_outcome(b, "replied", ts=t(1))  # counts
    record_outcome(b, "purchased", ts=t(3))
    record_outcome(b, "replied", ts=t(2))  # arrived late but its ts is earlier: counts
    # b: 2 replies before the first buy.
    c = FanFactory(creator=creator)
    record_outcome(c, "purchased", ts=t(0))  # unattributed purchase still makes c a buyer
    record_outcome(c, "replied", ts=t(1))
    # c: 0 replies before the first buy.
    d = FanFactory(creator=creator)
    record_outcome(d, "replied", ts=t(0))  # never bought: not in the mean
    record_outcome(d, "replied", ts=t(1))
    assert from_rows.avg_msgs_to_first_buy(creator) == 1.7  # (3 + 2 + 0) / 3 = 1.666…


def test_avg_msgs_to_first_buy_is_none_without_purchases(creator, fan):
    ppv(fan, 0)
    record_outcome(fan, "replied", ts=t(1))
    record_outcome(fan, "tipped", ts=t(2), amount=Decimal("5"))
    assert from_rows.avg_msgs_to_first_buy(creator) is None


# --- hooks and totals ---------------------------------------------------------------------------


def test_top_hooks_by_count_then_name(creator, fan):
    for minute, (kind, hook) in enumerate(
        [
            ("ppv", "curiosity"),
            ("text", "curiosity"),
            ("tease", "curiosity"),
            ("ppv", "vulnerability"),
            ("text", "vulnerability"),
            ("text", "scarcity"),
            ("ppv", "scarcity"),
            ("ppv", "challenge"),
            ("text", ""),
            ("ppv", ""),
        ]
    ):
        record_action(fan, kind, ts=t(minute), hook=hook)
    assert from_rows.top_hooks(creator) == [["curiosity", 3], ["scarcity", 2], ["vulnerability", 2], ["challenge", 1]]


SEED_KEYS = [
    "totals",
    "conversion_by_price",
    "conversion_by_content",
    "conversion_by_hook",
    "conversion_by_hour",
    "ghost_rate_by_stage",
    "avg_msgs_to_first_buy",
    "top_hooks",
]


def seed_part(stats: dict) -> dict:
    """The seed's fields of the stats (the posteriors beside them are tested in test_posterior_stats)."""
    return {k: stats[k] for k in SEED_KEYS}


def test_cold_start(creator):
    stats = seed_part(learning_stats_api.aggregate_learning_stats(creator))
    assert stats == {
        "totals": {"actions": 0, "outcomes": 0},
        "conversion_by_price": {},
        "conversion_by_content": {},
        "conversion_by_hook": {},
        "conversion_by_hour": {},
        "ghost_rate_by_stage": {},
        "avg_msgs_to_first_buy": None,
        "top_hooks": [],
    }


def test_aggregate_key_order_and_json(creator, fan):
    ppv(fan, 0, price="12.5", content_key="pic", hook="scarcity", fan_state="pitched")
    record_outcome(fan, "replied", ts=t(1))
    record_outcome(fan, "purchased", ts=t(2), amount=Decimal("12.5"))
    stats = learning_stats_api.aggregate_learning_stats(creator)
    assert list(stats)[: len(SEED_KEYS)] == SEED_KEYS  # the seed's keys first, in its order
    assert list(stats)[-1] == "computed_at"
    assert json.loads(json.dumps(stats)) == stats  # plain JSON types only
    computed = datetime.fromisoformat(stats["computed_at"])
    assert computed.utcoffset() == timedelta(0)
    assert seed_part(stats) == {
        "totals": {"actions": 1, "outcomes": 2},
        "conversion_by_price": {"12.5": conv(1, 1, 100.0)},
        "conversion_by_content": {"pic": conv(1, 1, 100.0)},
        "conversion_by_hook": {"scarcity": conv(1, 1, 100.0)},
        "conversion_by_hour": {"12": conv(1, 1, 100.0)},
        "ghost_rate_by_stage": {"pitched": {"sent": 1, "ghosted": 0, "rate": 0.0}},
        "avg_msgs_to_first_buy": 1.0,
        "top_hooks": [["scarcity", 1]],
    }


# --- isolation ----------------------------------------------------------------------------------


def test_another_creators_data_never_leaks(creator, fan):
    ppv(fan, 0, price="18", content_key="pic", hook="scarcity", fan_state="pitched")
    record_outcome(fan, "replied", ts=t(1))
    record_outcome(fan, "purchased", ts=t(2))

    rival = CreatorFactory()
    rival_fan = FanFactory(creator=rival, fan_id=fan.fan_id)  # same platform id, other creator
    for minute in range(4):
        ppv(rival_fan, minute * 3, price="18", content_key="pic", hook="scarcity", fan_state="pitched")
        record_outcome(rival_fan, "replied", ts=t(minute * 3 + 1))
        record_outcome(rival_fan, "ghosted", ts=t(minute * 3 + 2))
    record_outcome(rival_fan, "purchased", ts=t(20))  # 4 replies before the first buy

    mine = seed_part(learning_stats_api.aggregate_learning_stats(creator, use_cache=False))
    assert mine == {
        "totals": {"actions": 1, "outcomes": 2},
        "conversion_by_price": {"18": conv(1, 1, 100.0)},
        "conversion_by_content": {"pic": conv(1, 1, 100.0)},
        "conversion_by_hook": {"scarcity": conv(1, 1, 100.0)},
        "conversion_by_hour": {"12": conv(1, 1, 100.0)},
        "ghost_rate_by_stage": {"pitched": {"sent": 1, "ghosted": 0, "rate": 0.0}},
        "avg_msgs_to_first_buy": 1.0,
        "top_hooks": [["scarcity", 1]],
    }
    theirs = learning_stats_api.aggregate_learning_stats(rival, use_cache=False)
    assert theirs["totals"] == {"actions": 4, "outcomes": 9}
    assert theirs["conversion_by_price"] == {"18": conv(4, 1, 25.0)}
    assert theirs["ghost_rate_by_stage"] == {"pitched": {"sent": 4, "ghosted": 4, "rate": 100.0}}
    assert theirs["avg_msgs_to_first_buy"] == 4.0
    assert theirs["top_hooks"] == [["scarcity", 4]]


# --- caching ------------------------------------------------------------------------------------


def test_cached_within_ttl_until_refreshed(creator, fan):
    ppv(fan, 0)
    first = learning_stats_api.aggregate_learning_stats(creator)
    assert first["totals"] == {"actions": 1, "outcomes": 0}

    ppv(fan, 1)
    record_outcome(fan, "purchased", ts=t(2))
    assert learning_stats_api.aggregate_learning_stats(creator) == first  # still the cached dict
    assert learning_stats_api.aggregate_learning_stats(creator, use_cache=False)["totals"] == {
        "actions": 2,
        "outcomes": 1,
    }
    assert learning_stats_api.aggregate_learning_stats(creator) == first  # use_cache=False left the cache alone

    refreshed = learning_stats_api.refresh_learning_stats(creator)
    assert refreshed["totals"] == {"actions": 2, "outcomes": 1}
    assert refreshed["conversion_by_price"] == {"18": conv(2, 1, 50.0)}
    assert learning_stats_api.aggregate_learning_stats(creator) == refreshed  # the cache now holds the new dict


def test_cache_is_per_creator(creator, fan):
    ppv(fan, 0)
    assert learning_stats_api.aggregate_learning_stats(creator)["totals"]["actions"] == 1
    other = CreatorFactory()
    assert learning_stats_api.aggregate_learning_stats(other)["totals"] == {"actions": 0, "outcomes": 0}


def test_cache_ttl_comes_from_settings(settings, creator, fan):
    settings.LEARNING_STATS_CACHE_SECONDS = 0  # Django: a zero timeout expires at once
    learning_stats_api.aggregate_learning_stats(creator)
    ppv(fan, 0)
    assert learning_stats_api.aggregate_learning_stats(creator)["totals"]["actions"] == 1


def test_query_count_does_not_grow_with_fans(creator, django_assert_num_queries):
    """Each statistic is one aggregate query, however many fans there are (no per-fan loops)."""
    for _n in range(6):
        buyer = FanFactory(creator=creator)
        ppv(buyer, 0, content_key="pic", hook="scarcity", fan_state="pitched")
        record_outcome(buyer, "replied", ts=t(1))
        record_outcome(buyer, "purchased", ts=t(2))
    # the counters (learning.stats.counters): one grouped read of the cells + one AVG over the buyers
    with django_assert_num_queries(2):
        stats = learning_stats_api.aggregate_learning_stats(creator, use_cache=False)
    assert stats["avg_msgs_to_first_buy"] == 1.0
    assert stats["conversion_by_price"] == {"18": conv(6, 6, 100.0)}
    # the row queries (the reference, and the path of decayed stats): 2 totals + 4 conversions + ghost
    # + avg + hooks + 2 chargeback rates (price, hook) + sender × price + 2 crossed posteriors (price×hook,
    # segment×price)
    with django_assert_num_queries(14):
        rows = from_rows.compute_learning_stats_from_rows(creator)
    assert {k: v for k, v in rows.items() if k != "computed_at"} == {
        k: v for k, v in stats.items() if k != "computed_at"
    }
