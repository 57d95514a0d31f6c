"""Whale scoring (docs/architecture.md#whale-candidates): 3+ points makes a buyer a whale_candidate."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, F, Q, Sum

import sqlonce
from fans.state_machine import FanState, transition
from learning.models import Outcome

WHALE_THRESHOLD = 3
FIRST_DAY = timedelta(hours=24)
MONEY = [Outcome.Event.PURCHASED, Outcome.Event.TIPPED]


def _money(first_day_end) -> dict:
    return {
        "first_day": Sum("amount", filter=Q(ts__lte=first_day_end)),
        "items": Count("id", filter=Q(event=Outcome.Event.PURCHASED)),
    }


def _points(fan, agg) -> tuple[int, list[str]]:
    """The whale table, given the fan and its money aggregates (first-24h spend, items bought)."""
    signals = {s for s in fan.signals or [] if isinstance(s, str)}  # imported files may hold anything
    table = [
        (2, "$100+ spent in first 24h", (agg["first_day"] or 0) >= 100),
        (2, "custom content request", "custom_request" in signals),
        (2, "buys everything (5+ items, $50+ total)", agg["items"] >= 5 and fan.total_spent >= Decimal("50")),
        (2, "$200+ total spend", fan.total_spent >= 200),
        (1, "emotional attachment", "emotional" in signals),
        (1, "10+ messages received", fan.messages_received >= 10),
    ]
    hits = [(pts, why) for pts, why, hit in table if hit]
    return sum(p for p, _ in hits), [why for _, why in hits]


def detect_whale_signals(fan) -> tuple[int, list[str]]:
    """(points, reasons) from the whale table."""
    row = _MONEY_OF.first(fan.pk, fan.created_ts + FIRST_DAY)
    return _points(fan, {"first_day": row[0], "items": row[1]} if row else {"first_day": None, "items": 0})


# Every fan message scores the fan (sqlonce: compiled once).
_MONEY_OF = sqlonce.select(
    lambda fan_id, first_day_end: (
        Outcome.objects.filter(fan_id=fan_id, event__in=MONEY)
        .order_by()
        .values("fan_id")
        .annotate(**_money(first_day_end))
        .values_list("first_day", "items")  # type: ignore[misc]  # the stubs cannot see annotate(**dict)
    ),
    int,
    datetime,
)


def detect_whale_signals_bulk(fans) -> dict[int, tuple[int, list[str]]]:
    """detect_whale_signals for many stored fans in one query (the seed-log import scores all it imports)."""
    rows = (
        Outcome.objects.filter(fan__in=[f.pk for f in fans], event__in=MONEY)
        .order_by()
        .values("fan_id")
        .annotate(**_money(F("fan__created_ts") + FIRST_DAY))
    )
    by_fan = {r["fan_id"]: r for r in rows}
    return {f.pk: _points(f, by_fan.get(f.pk, {"first_day": None, "items": 0})) for f in fans}


def update_whale_score(fan, scored: tuple[int, list[str]] | None = None) -> int:
    """Store the score and make a qualifying buyer a whale_candidate; `scored` if already computed."""
    score, reasons = scored or detect_whale_signals(fan)
    if score != fan.whale_score:
        fan.whale_score = score
        fan.save(update_fields=["whale_score"])
    if score >= WHALE_THRESHOLD and fan.state == FanState.BUYER:
        transition(fan, FanState.WHALE_CANDIDATE, "whale signals: " + ", ".join(reasons))
    return score
