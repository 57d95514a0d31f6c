"""The learning statistics of seed §5, one function per statistic, all computed in the database.

Every function takes one Creator and returns plain JSON-able data (str/int/float/list/dict/None),
so the result can be cached, served as JSON and printed by `manage.py learning_stats` unchanged.
Attribution (which action an outcome answers) is already stored by learning.attribution as the
`Action.purchased` / `Action.ghosted` flags, so conversion and ghost rates are grouped counts.
"""
import datetime
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db.models import Avg, Count, Exists, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, ExtractHour

from fans.models import Fan
from learning.models import Action, Outcome

CACHE_KEY = "learning_stats:{creator_id}"


def _rate(part: int, whole: int) -> float:
    """Percentage with one decimal, as every rate of seed §5 is shown."""
    return round(100 * part / whole, 1) if whole else 0.0


def price_key(price) -> str:
    """"18.00" -> "18", "12.50" -> "12.5": never scientific notation like Decimal.normalize()'s "1E+2"."""
    text = format(Decimal(str(price)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _ppvs(creator):
    return Action.objects.filter(creator=creator, action=Action.Kind.PPV)


def _conversion(queryset, field: str, key=str) -> dict:
    """Group PPVs by `field` in SQL: {key: {"sent", "bought", "rate"}} ordered by the field."""
    rows = (queryset.order_by().values(field)
            .annotate(sent=Count("pk"), bought=Count("pk", filter=Q(purchased=True)))
            .order_by(field))
    return {key(row[field]): {"sent": row["sent"], "bought": row["bought"],
                              "rate": _rate(row["bought"], row["sent"])}
            for row in rows}


def conversion_by_price(creator) -> dict:
    """Which price points convert best; PPVs without a price are left out."""
    return _conversion(_ppvs(creator).filter(price__isnull=False), "price", key=price_key)


def conversion_by_content(creator) -> dict:
    """Which vault items sell best (by content_key); PPVs without one are left out."""
    return _conversion(_ppvs(creator).exclude(content_key=""), "content_key")


def conversion_by_hook(creator) -> dict:
    """Which hooks lead to purchases; PPVs without a hook are left out."""
    return _conversion(_ppvs(creator).exclude(hook=""), "hook")


def conversion_by_hour(creator) -> dict:
    """Conversion by UTC hour of the PPV ("0".."23"), whatever the server's TIME_ZONE."""
    queryset = _ppvs(creator).annotate(hour=ExtractHour("ts", tzinfo=datetime.timezone.utc))
    return _conversion(queryset, "hour")


def ghost_rate_by_stage(creator) -> dict:
    """Where fans drop off: share of actions (any kind) per fan_state that a ghosting answered."""
    rows = (Action.objects.filter(creator=creator).exclude(fan_state="").order_by()
            .values("fan_state")
            .annotate(sent=Count("pk"), ghosted=Count("pk", filter=Q(ghosted=True)))
            .order_by("fan_state"))
    return {row["fan_state"]: {"sent": row["sent"], "ghosted": row["ghosted"],
                               "rate": _rate(row["ghosted"], row["sent"])}
            for row in rows}


def avg_msgs_to_first_buy(creator) -> float | None:
    """Mean number of `replied` outcomes before each buyer's first purchase (by ts, then seq).

    One SQL query: each buyer is annotated with its first purchase's (ts, seq) and the count of
    replies ordered before it; the database averages those counts. None when nobody bought.
    """
    purchases = Outcome.objects.filter(fan=OuterRef("pk"), event=Outcome.Event.PURCHASED).order_by("ts", "seq")
    replies_before = (
        Outcome.objects.filter(fan=OuterRef("pk"), event=Outcome.Event.REPLIED)
        .filter(Q(ts__lt=OuterRef("first_buy_ts")) | Q(ts=OuterRef("first_buy_ts"), seq__lt=OuterRef("first_buy_seq")))
        .order_by().values("fan").annotate(n=Count("pk")).values("n")
    )
    buyers = (Fan.objects.filter(creator=creator)
              .filter(Exists(purchases))
              .annotate(first_buy_ts=Subquery(purchases.values("ts")[:1]),
                        first_buy_seq=Subquery(purchases.values("seq")[:1]))
              .annotate(replies=Coalesce(Subquery(replies_before, output_field=IntegerField()), 0)))
    avg = buyers.aggregate(avg=Avg("replies"))["avg"]
    return None if avg is None else round(float(avg), 1)


def top_hooks(creator) -> list:
    """Hooks by how often they were used (any action kind): [[hook, count], ...], ties by name."""
    rows = (Action.objects.filter(creator=creator).exclude(hook="").order_by()
            .values("hook").annotate(count=Count("pk")).order_by("-count", "hook"))
    return [[row["hook"], row["count"]] for row in rows]


def totals(creator) -> dict:
    """How much data the statistics rest on (unattributed outcomes included)."""
    return {"actions": Action.objects.filter(creator=creator).count(),
            "outcomes": Outcome.objects.filter(creator=creator).count()}


def compute_learning_stats(creator) -> dict:
    """All statistics, freshly computed, in the documented key order."""
    return {
        "totals": totals(creator),
        "conversion_by_price": conversion_by_price(creator),
        "conversion_by_content": conversion_by_content(creator),
        "conversion_by_hook": conversion_by_hook(creator),
        "conversion_by_hour": conversion_by_hour(creator),
        "ghost_rate_by_stage": ghost_rate_by_stage(creator),
        "avg_msgs_to_first_buy": avg_msgs_to_first_buy(creator),
        "top_hooks": top_hooks(creator),
        "computed_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    }


def _cache_key(creator) -> str:
    return CACHE_KEY.format(creator_id=creator.pk)


def aggregate_learning_stats(creator, use_cache: bool = True) -> dict:
    """Seed §5's stats for one creator, cached for LEARNING_STATS_CACHE_SECONDS.

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
