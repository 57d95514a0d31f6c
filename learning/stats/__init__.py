"""The learning statistics (docs/learning.md#the-statistics) for one creator: what /learning/stats serves,
the [STATS] block reads and the rule engine's offers weigh, cached for LEARNING_STATS_CACHE_SECONDS.

Two ways to the same numbers: the row queries of learning.stats.from_rows (the reference: one function per
statistic, full grouped scans), and the counters of learning.stats.counters that every write keeps current
(read by learning.stats.from_counters: a few hundred rows however many events there are). With a half-life
the weights depend on today's date, so decayed stats use the row queries. tests/learning/test_rollup.py
holds the two paths equal on random event streams. What counts, and why, is in learning.stats.from_rows.
"""

from django.conf import settings
from django.core.cache import cache

from learning.stats.from_counters import stats_from_rollup
from learning.stats.from_rows import compute_learning_stats_from_rows

CACHE_KEY = "learning_stats:{creator_id}"


def compute_learning_stats(creator) -> dict:
    """All statistics, freshly computed: from the rollup counters, or with time decay from the rows."""
    if creator.stats_half_life_days:
        return compute_learning_stats_from_rows(creator)
    return stats_from_rollup(creator)


def ppv_totals(stats: dict) -> tuple[int, int]:
    """(sent, bought) over all counted PPVs, read from a stats dict so a report agrees with /learning/stats:
    every counted PPV sits in exactly one conversion_by_hour cell (each row has its UTC hour)."""
    cells = stats.get("conversion_by_hour") or {}
    return sum(c["sent"] for c in cells.values()), sum(c["bought"] for c in cells.values())


def _cache_key(creator) -> str:
    """Also keyed by the settings the numbers depend on (a changed half-life must not wait for the
    TTL) and by creation time, so a re-created creator that reuses an id never reads old numbers."""
    created = creator.created_at.timestamp() if creator.created_at else ""
    return CACHE_KEY.format(creator_id=creator.pk) + f":{created}:{creator.min_sample}:{creator.stats_half_life_days}"


def aggregate_learning_stats(creator, use_cache: bool = True) -> dict:
    """The learning stats for one creator, cached for LEARNING_STATS_CACHE_SECONDS.

    Prompts are built far more often than the numbers move, so a slightly stale dict is fine;
    use_cache=False computes fresh and leaves the cache untouched.
    """
    if not use_cache:
        return compute_learning_stats(creator)
    stats = cache.get(_cache_key(creator))
    if stats is None:
        stats = refresh_learning_stats(creator)
    return stats


def refresh_learning_stats(creator) -> dict:
    """Recompute now and overwrite the cached dict (e.g. after an import or on a schedule)."""
    stats = compute_learning_stats(creator)
    cache.set(_cache_key(creator), stats, settings.LEARNING_STATS_CACHE_SECONDS)
    return stats
