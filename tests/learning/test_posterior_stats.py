"""learning.stats posteriors: every conversion cell carries its Beta posterior next to the seed's rate.

Counts are chosen so the expected posteriors are plain arithmetic (uniform prior: a = 1 + bought,
b = 1 + sent − bought); intervals are checked against the Beta(a, 1) closed form where it applies.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from learning import stats as learning_stats_api
from learning.services import record_action
from tests.factories import FanFactory
from tests.team_helpers import manager

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
POSTERIOR_KEYS = [
    "min_sample",
    "half_life_days",
    "posterior_by_price",
    "posterior_by_content",
    "posterior_by_hook",
    "posterior_by_hour",
    "posterior_by_price_hook",
    "posterior_by_segment_price",
]
NET_KEYS = ["chargeback_rate_by_price", "chargeback_rate_by_hook", "by_sender"]  # issue 24: net money, who sent


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()
    yield
    cache.clear()


def sends(fan, n, bought, *, price="18", hook="vulnerability", content_key="combo1", ts=None, spent="0"):
    """n PPVs of which the first `bought` were purchased (flags set as attribution would)."""
    ts = ts or datetime(2024, 5, 1, 21, 0, tzinfo=UTC)
    for i in range(n):
        record_action(
            fan,
            "ppv",
            ts=ts + timedelta(seconds=i),
            price=Decimal(price),
            hook=hook,
            content_key=content_key,
            purchased=i < bought,
            fan_total_spent=Decimal(spent),
        )


def test_stats_keep_every_seed_key_first_and_add_posteriors_under_their_own_keys(creator, fan):
    sends(fan, 3, 1)
    stats = learning_stats_api.aggregate_learning_stats(creator, use_cache=False)
    assert list(stats) == SEED_KEYS + POSTERIOR_KEYS + NET_KEYS + ["computed_at"]
    assert stats["conversion_by_price"] == {"18": {"sent": 3, "bought": 1, "rate": 33.3}}  # seed cell untouched


def test_every_cell_has_mean_interval_and_thin_flag(creator, fan):
    creator.min_sample = 20
    creator.save()
    sends(fan, 6, 2, price="15", hook="scarcity", content_key="combo3")  # the seed's "$15: 33.3% (6 sent)"
    sends(fan, 45, 12, price="18", hook="vulnerability", content_key="combo1")
    stats = learning_stats_api.aggregate_learning_stats(creator, use_cache=False)
    p15, p18 = stats["posterior_by_price"]["15"], stats["posterior_by_price"]["18"]
    assert (p15["alpha"], p15["beta"], p15["mean"], p15["thin"]) == (3.0, 5.0, 0.375, True)
    assert (p18["alpha"], p18["beta"], p18["mean"], p18["thin"]) == (13.0, 34.0, round(13 / 47, 4), False)
    assert p15["revenue_per_send"]["mean"] == round(15 * 3 / 8, 2)
    assert p18["revenue_per_send"]["mean"] == round(18 * 13 / 47, 2)
    assert p15["ci90"][1] - p15["ci90"][0] > p18["ci90"][1] - p18["ci90"][0]  # less evidence, wider
    assert stats["posterior_by_hook"]["scarcity"]["thin"] is True
    assert stats["posterior_by_hook"]["vulnerability"]["mean"] == round(13 / 47, 4)
    assert stats["posterior_by_content"]["combo1"]["sent"] == 45
    assert stats["posterior_by_hour"]["21"]["sent"] == 51
    assert "revenue_per_send" not in stats["posterior_by_hook"]["scarcity"]  # no single price to multiply


def test_price_by_hook_and_segment_by_price_cells(creator, fan):
    sends(fan, 4, 4, price="25", hook="challenge")  # Beta(5, 1): interval 0.05^(1/5)..0.95^(1/5)
    sends(fan, 2, 0, price="25", hook="curiosity", spent="30")
    stats = learning_stats_api.aggregate_learning_stats(creator, use_cache=False)
    cell = stats["posterior_by_price_hook"]["25"]["challenge"]
    assert (cell["alpha"], cell["beta"]) == (5.0, 1.0)
    assert cell["ci90"] == [round(0.05**0.2, 4), round(0.95**0.2, 4)]
    assert cell["revenue_per_send"]["ci90"] == [round(25 * 0.05**0.2, 2), round(25 * 0.95**0.2, 2)]
    assert stats["posterior_by_price_hook"]["25"]["curiosity"]["bought"] == 0
    assert stats["posterior_by_segment_price"]["new"]["25"]["sent"] == 4  # fan had spent nothing then
    assert stats["posterior_by_segment_price"]["buyer"]["25"]["sent"] == 2


def test_segment_price_cells_also_group_by_the_recorded_price_context(creator, fan):
    """Rows with Action.segment count in that context and in its new/buyer segment; rows without one
    (imported seed data) only in the segment their fan_total_spent snapshot gives."""
    for i in range(5):
        record_action(
            fan, "ppv", price=Decimal("50"), purchased=i < 4, fan_total_spent=Decimal("80"), segment="buyer:big"
        )
    for i in range(3):
        record_action(
            fan, "ppv", price=Decimal("18"), purchased=i < 1, fan_total_spent=Decimal("18"), segment="buyer:low"
        )
    sends(fan, 2, 1, price="50", spent="40")  # imported: no context recorded
    sends(fan, 4, 1, price="18")
    by_segment = learning_stats_api.aggregate_learning_stats(creator, use_cache=False)["posterior_by_segment_price"]
    big = by_segment["buyer:big"]["50"]
    assert (big["sent"], big["bought"], big["alpha"], big["beta"]) == (5, 4, 5.0, 2.0)
    assert big["revenue_per_send"]["mean"] == round(50 * 5 / 7, 2)
    assert by_segment["buyer:low"]["18"]["sent"] == 3 and "50" not in by_segment["buyer:low"]
    assert (by_segment["buyer"]["50"]["sent"], by_segment["buyer"]["50"]["bought"]) == (7, 5)
    assert by_segment["buyer"]["18"]["sent"] == 3
    assert by_segment["new"]["18"]["sent"] == 4
    assert set(by_segment) == {"buyer", "buyer:big", "buyer:low", "new"}


def test_half_life_weighs_old_sends_less(creator, fan):
    now = datetime.now(UTC)
    sends(fan, 10, 10, ts=now - timedelta(days=14))  # old: all bought
    sends(fan, 10, 0, ts=now)  # today: none bought
    plain = learning_stats_api.aggregate_learning_stats(creator, use_cache=False)["posterior_by_price"]["18"]
    assert (plain["alpha"], plain["beta"], plain["effective_sent"]) == (11.0, 11.0, 20.0)
    creator.stats_half_life_days = 14
    creator.save()
    decayed = learning_stats_api.aggregate_learning_stats(creator, use_cache=False)
    cell = decayed["posterior_by_price"]["18"]
    assert (cell["sent"], cell["bought"]) == (20, 10)  # raw counts stay
    assert (cell["effective_sent"], cell["effective_bought"]) == (15.0, 5.0)  # old half counts half
    assert (cell["alpha"], cell["beta"]) == (6.0, 11.0)
    assert cell["mean"] < plain["mean"]  # recent behaviour weighs more
    assert decayed["half_life_days"] == 14
    assert decayed["conversion_by_price"]["18"]["rate"] == 50.0  # the seed's rate is not decayed


def test_changing_the_half_life_is_not_hidden_by_the_cache(creator, fan):
    now = datetime.now(UTC)
    sends(fan, 4, 4, ts=now - timedelta(days=10))
    assert learning_stats_api.aggregate_learning_stats(creator)["posterior_by_price"]["18"]["effective_sent"] == 4.0
    creator.stats_half_life_days = 10
    creator.save()
    assert learning_stats_api.aggregate_learning_stats(creator)["posterior_by_price"]["18"]["effective_sent"] == 2.0


def test_thin_follows_the_creators_min_sample(creator, fan):
    sends(fan, 8, 2)
    creator.min_sample = 5
    creator.save()
    assert learning_stats_api.aggregate_learning_stats(creator)["posterior_by_price"]["18"]["thin"] is False
    creator.min_sample = 10
    creator.save()
    assert learning_stats_api.aggregate_learning_stats(creator)["posterior_by_price"]["18"]["thin"] is True


def test_learning_stats_endpoint_serves_seed_fields_and_posteriors(creator, fan):
    other = FanFactory(creator=creator)
    sends(fan, 3, 1)
    sends(other, 1, 0, price="25")
    client = APIClient()
    user = manager("ops")  # a manager: every creator, the role's permissions
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    body = client.get(f"/api/{creator.slug}/learning/stats").json()
    for key in SEED_KEYS + POSTERIOR_KEYS:
        assert key in body
    assert body["conversion_by_price"] == {
        "18": {"sent": 3, "bought": 1, "rate": 33.3},
        "25": {"sent": 1, "bought": 0, "rate": 0.0},
    }
    assert body["posterior_by_price"]["18"]["mean"] == 0.4  # (1 + 1) / (2 + 3)
    assert body["posterior_by_price"]["25"]["thin"] is True
