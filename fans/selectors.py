"""Read-only questions about a fan."""
from datetime import timedelta
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils import timezone

from fans.state_machine import FanState


def needs_a_human() -> Q:
    """Fans only a person may answer: handed off, or safety-flagged in any state (the sender refuses a
    flagged fan until a staff resume, so a flagged fan parked elsewhere must not drop out of sight)."""
    return Q(state=FanState.HANDED_OFF) | Q(safety_flag=True)


def spent_last_24h(fan, now=None) -> Decimal:
    from learning.models import Outcome

    now = now or timezone.now()
    total = (Outcome.objects.filter(fan=fan, event__in=[Outcome.Event.PURCHASED, Outcome.Event.TIPPED],
                                    ts__gt=now - timedelta(hours=24)).aggregate(s=Sum("amount"))["s"])
    return total or Decimal("0")


def spend_capped(fan, now=None) -> bool:
    cap = fan.creator.daily_spend_cap
    return cap is not None and cap > 0 and spent_last_24h(fan, now) >= cap
