"""Seed §8 whale scoring: 3+ points makes a buyer a whale_candidate."""
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum

from fans.state_machine import FanState, transition
from learning.models import Outcome

WHALE_THRESHOLD = 3


def detect_whale_signals(fan) -> tuple[int, list[str]]:
    """(points, reasons) from the §8 table."""
    money = Outcome.objects.filter(fan=fan, event__in=[Outcome.Event.PURCHASED, Outcome.Event.TIPPED])
    agg = money.aggregate(
        first_day=Sum("amount", filter=Q(ts__lte=fan.created_ts + timedelta(hours=24))),
        items=Count("id", filter=Q(event=Outcome.Event.PURCHASED)),
    )
    signals = set(fan.signals or [])
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


def update_whale_score(fan) -> int:
    score, reasons = detect_whale_signals(fan)
    if score != fan.whale_score:
        fan.whale_score = score
        fan.save(update_fields=["whale_score"])
    if score >= WHALE_THRESHOLD and fan.state == FanState.BUYER:
        transition(fan, FanState.WHALE_CANDIDATE, "whale signals: " + ", ".join(reasons))
    return score
