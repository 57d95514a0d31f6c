"""The period a page's numbers are read over: today, yesterday, the last 7 or 30 days, a custom range, or all
time, in the agency's time zone (settings.TIME_ZONE; rows are stored in UTC). Imported history (seed logs)
is never mixed into a period's live figures: it is its own row, counted only when asked."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils import timezone

from learning.models import Outcome

CHOICES = [
    ("today", "today"),
    ("yesterday", "yesterday"),
    ("7d", "last 7 days"),
    ("30d", "last 30 days"),
    ("all", "all time"),
    ("custom", "custom"),
]
MONEY = [Outcome.Event.PURCHASED, Outcome.Event.TIPPED]


@dataclass(frozen=True)
class Period:
    key: str
    label: str
    start: datetime | None  # None: from the beginning
    end: datetime | None  # exclusive; None: until now

    def q(self, field: str = "ts") -> Q:
        q = Q()
        if self.start is not None:
            q &= Q(**{f"{field}__gte": self.start})
        if self.end is not None:
            q &= Q(**{f"{field}__lt": self.end})
        return q

    def query(self) -> str:
        if self.key == "custom":
            last = (self.end - timedelta(days=1)).date() if self.end else ""
            return f"period=custom&from={self.start.date() if self.start else ''}&to={last}"
        return f"period={self.key}"

    def contains(self, ts) -> bool:
        return (self.start is None or ts >= self.start) and (self.end is None or ts < self.end)


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        return None


def parse(params, default: str = "today") -> Period:
    """From a request's GET: period=today|yesterday|7d|30d|all|custom (&from=YYYY-MM-DD&to=YYYY-MM-DD, both
    days included). Anything unreadable falls back to `default`."""
    key = params.get("period") or default
    today = timezone.localdate()
    labels = dict(CHOICES)
    if key == "today":
        return Period(key, labels[key], _midnight(today), None)
    if key == "yesterday":
        return Period(key, labels[key], _midnight(today - timedelta(days=1)), _midnight(today))
    if key in ("7d", "30d"):
        days = int(key[:-1])
        return Period(key, labels[key], _midnight(today - timedelta(days=days - 1)), None)
    if key == "all":
        return Period(key, labels[key], None, None)
    if key == "custom":
        first, last = _day(params.get("from")), _day(params.get("to"))
        if first and last and first <= last:
            return Period(
                key, f"{first:%b %-d} – {last:%b %-d, %Y}", _midnight(first), _midnight(last + timedelta(days=1))
            )
    return parse({"period": default}, default) if key != default else Period(default, default, None, None)


def money(period: Period, creator_ids=None, *, history: bool = False) -> Decimal:
    """Purchases and tips in the period; imported history only when `history` (then only it)."""
    rows = Outcome.objects.filter(period.q(), event__in=MONEY, import_key__isnull=not history)
    if creator_ids is not None:
        rows = rows.filter(creator_id__in=creator_ids)
    return rows.aggregate(s=Sum("amount"))["s"] or Decimal("0")
