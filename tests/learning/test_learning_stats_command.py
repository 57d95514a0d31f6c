"""`manage.py learning_stats`: JSON of the fresh stats, or the [STATS] block with --block."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command

from learning.services import record_action, record_outcome
from learning.stats import aggregate_learning_stats
from tests.factories import CreatorFactory

T0 = datetime(2024, 5, 1, 22, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()
    yield
    cache.clear()


def run(*args) -> str:
    out = StringIO()
    call_command("learning_stats", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def sold(creator, fan):
    record_action(fan, "ppv", ts=T0, price=Decimal("25.00"), content_key="vid", hook="exclusivity", fan_state="pitched")
    record_outcome(fan, "purchased", ts=T0.replace(minute=20), amount=Decimal("25"))
    return creator


def test_prints_the_stats_as_json(sold):
    output = run("demo")
    stats = json.loads(output)
    seed_keys = [
        "totals",
        "conversion_by_price",
        "conversion_by_content",
        "conversion_by_hook",
        "conversion_by_hour",
        "ghost_rate_by_stage",
        "avg_msgs_to_first_buy",
        "top_hooks",
    ]
    assert list(stats)[: len(seed_keys)] == seed_keys
    assert "posterior_by_price" in stats and list(stats)[-1] == "computed_at"
    one = {"sent": 1, "bought": 1, "rate": 100.0}
    assert {k: stats[k] for k in seed_keys} == {
        "totals": {"actions": 1, "outcomes": 1},
        "conversion_by_price": {"25": one},
        "conversion_by_content": {"vid": one},
        "conversion_by_hook": {"exclusivity": one},
        "conversion_by_hour": {"22": one},
        "ghost_rate_by_stage": {"pitched": {"sent": 1, "ghosted": 0, "rate": 0.0}},
        "avg_msgs_to_first_buy": 0.0,
        "top_hooks": [["exclusivity", 1]],
    }
    assert output.startswith('{\n  "totals": {\n    "actions": 1,')  # indent=2, insertion order


def test_block_option(sold):
    assert run("demo", "--block") == (
        "[STATS]\n"
        "Data: 1 actions, 1 outcomes\n"
        "conversion_by_price: $25: 100.0% (1 sent — too few to trust)\n"
        "conversion_by_hook: exclusivity: 100.0% (1 sent — too few to trust)\n"
        "conversion_by_content: vid: 100.0% (1 sent — too few to trust)\n"
        "top_hooks: exclusivity: 1x\n"
        "best_hours: 22:00 UTC: 100.0% (1 sent — too few to trust)\n"
        "avg_msgs_to_first_buy: 0.0\n"
        "Ranked by Bayesian revenue per send / conversion. Trust only cells with 20+ sent; "
        "for cells marked 'too few to trust' use the playbook defaults.\n"
        "[/STATS]\n"
    )


def test_cold_start_block(creator):
    assert run("demo", "--block") == "[STATS]\nNo data yet — use playbook defaults.\n[/STATS]\n"


def test_computes_fresh_despite_a_stale_cache(creator, fan):
    aggregate_learning_stats(creator)  # caches the empty stats
    record_action(fan, "text", ts=T0)
    assert json.loads(run("demo"))["totals"] == {"actions": 1, "outcomes": 0}


def test_unknown_slug_lists_known_ones(creator):
    CreatorFactory(slug="alpha")
    with pytest.raises(CommandError, match=r"Unknown creator slug 'nobody'\. Known slugs: alpha, demo"):
        run("nobody")


def test_unknown_slug_without_creators(db):
    with pytest.raises(CommandError, match=r"Known slugs: \(none\)"):
        run("nobody")
