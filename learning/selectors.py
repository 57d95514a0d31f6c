"""Read-only questions about a fan's money, answered from the learning books (Outcome rows)."""

from datetime import timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from learning.models import Action, Outcome
from learning.stats.cells import COUNTED_STATUSES


def spent_last_24h(fan, now=None) -> Decimal:
    now = now or timezone.now()
    total = Outcome.objects.filter(
        fan=fan, event__in=[Outcome.Event.PURCHASED, Outcome.Event.TIPPED], ts__gt=now - timedelta(hours=24)
    ).aggregate(s=Sum("amount"))["s"]
    return total or Decimal("0")


def spend_capped(fan, now=None) -> bool:
    cap = fan.creator.daily_spend_cap
    return cap is not None and cap > 0 and spent_last_24h(fan, now) >= cap


def purchases(fan, limit: int = 20) -> list[tuple]:
    """The fan's latest purchases, newest first: (ts, content_key or "", amount)."""
    return list(
        Outcome.objects.filter(fan=fan, event=Outcome.Event.PURCHASED)
        .order_by("-ts", "-seq")
        .values_list("ts", "action__content_key", "amount")[:limit]
    )


def ppv_prices(fan) -> list[tuple[Decimal, bool]]:
    """Every PPV the fan got (sent or logged, priced), oldest first: (price, bought). A purchase taken back
    (refund, chargeback) is not bought: the fan did not keep it at that price."""
    rows = (
        Action.objects.filter(fan=fan, action=Action.Kind.PPV, status__in=COUNTED_STATUSES, price__isnull=False)
        .order_by("ts", "seq")
        .values_list("price", "purchased", "reversed")
    )
    return [(price, bool(bought) and not taken_back) for price, bought, taken_back in rows if price is not None]
