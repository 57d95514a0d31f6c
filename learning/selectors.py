"""Read-only questions about a fan's money, answered from the learning books (Outcome rows)."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

import sqlonce
from learning.models import Action, Outcome
from learning.stats.cells import COUNTED_STATUSES


def spent_last_24h(fan, now=None) -> Decimal:
    now = now or timezone.now()
    row = _SPENT_SINCE.first(fan.pk, now - timedelta(hours=24))
    return (row[0] if row else None) or Decimal("0")


# Every PPV the bot offers asks it (the spend cap): compiled once (sqlonce).
_SPENT_SINCE = sqlonce.select(
    lambda fan_id, since: (
        Outcome.objects.filter(fan_id=fan_id, event__in=[Outcome.Event.PURCHASED, Outcome.Event.TIPPED], ts__gt=since)
        .order_by()
        .values("fan_id")
        .annotate(s=Sum("amount"))
        .values_list("s")
    ),
    int,
    datetime,
)


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


_PPV_PRICES = sqlonce.select(
    lambda fan_id: (
        Action.objects.filter(fan_id=fan_id, action=Action.Kind.PPV, status__in=COUNTED_STATUSES, price__isnull=False)
        .order_by("ts", "seq")
        .values_list("price", "purchased", "reversed")
    ),
    int,
)


def ppv_prices(fan) -> list[tuple[Decimal, bool]]:
    """Every PPV the fan got (sent or logged, priced), oldest first: (price, bought). A purchase taken back
    (refund, chargeback) is not bought: the fan did not keep it at that price."""
    rows = _PPV_PRICES.rows(fan.pk)
    return [(price, bool(bought) and not taken_back) for price, bought, taken_back in rows if price is not None]
