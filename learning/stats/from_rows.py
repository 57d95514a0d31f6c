"""The learning statistics (docs/learning.md#the-statistics), one function per statistic, all computed in the database.

Every function takes one Creator and returns plain JSON-able data (str/int/float/list/dict/None),
so the result can be cached, served as JSON and printed by `manage.py learning_stats` unchanged.
Attribution (which action an outcome answers) is already stored by learning.attribution as the
`Action.purchased` / `Action.ghosted` flags, so conversion and ghost rates are grouped counts.

Beside the seed's raw rates, every conversion cell also gets a Beta posterior (learning.bayes) under
`posterior_by_*`: mean, 90% credible interval, revenue per send where a price applies, and `thin` when
it rests on fewer than the creator's min_sample sends. With Creator.stats_half_life_days set, sends
are weighted 0.5 ** (age in days / half-life) so old behaviour fades. Explored PPVs (Action.explored)
are counted like any other: Thompson sampling is on-policy, the explored sends are exactly the evidence
the sampler asked for, and leaving them out would starve the cells exploration exists to fill. The
flag is kept so an analysis can still split exploring from exploiting sends. `posterior_by_segment_price`
holds the "new"/"buyer" segments and the price contexts of salesbot.pipeline.offers ("buyer:big", …).

Two ways to the same numbers: the row queries below (`compute_learning_stats_from_rows`, the reference
implementation: full grouped scans of a creator's actions), and the incremental counters of
learning.stats.counters that every write keeps current (`compute_learning_stats`'s path, a read of a few
hundred rows however many events there are). With a half-life the weights depend on today's date, so
decayed stats keep using the row queries (grouped by UTC day). tests/learning/test_rollup.py holds
the two paths equal on random event streams.

Which actions count: only those that reached the fan. An Action is written `pending` before the
platform call (salesbot.pipeline.sender), then becomes `sent`, `failed` or `refused` (the last gate, e.g. a
disabled creator, the spend cap, a handoff race); imported seed rows and the bot's `skip` decisions are
`logged`. The seed logs the actions it took and computes every statistic
from that log, so here every statistic — the conversions ("PPV actions sent"), the ghost rates and
top_hooks ("all actions"), totals.actions and the posteriors — counts only status `sent` or `logged`
(COUNTED_STATUSES). A `pending`, `failed` or `refused` action is left out of all of them: a refused or
failed PPV is not a "sent, not bought" and must not pull conversion down. `skip` is `logged` and counts
where the seed counts actions of any kind (it logs skips too), never in a conversion (not a PPV).
When a status changes (pending → sent, pending → failed, a staff edit …) the counters of
learning.stats.counters move with it (learning.services.set_action_status), and attribution
(learning.attribution) picks only counted actions, so an outcome never lands on a message the fan
never got. Outcomes all count in totals.outcomes, attributed or not.
"""

import datetime

from django.db.models import Avg, Case, CharField, Count, Exists, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, TruncDate

from fans.models import Fan
from learning import bayes
from learning.models import Action, Outcome
from learning.stats.cells import CAMPAIGN_SOURCE, CONTROL_ARM, COUNTED_STATUSES, SENDERS, price_key, rate, sender_kind


def counted(creator):
    """The creator's actions that the statistics count: sent by the bot, or logged (imported, skip); never a
    holdout experiment's control-arm action (learning.experiments: the control arm teaches nothing), never a
    campaign's mass message (its own kind: learning.stats.campaigns)."""
    return (
        Action.objects.filter(creator=creator, status__in=COUNTED_STATUSES)
        .exclude(arm=CONTROL_ARM)
        .exclude(source=CAMPAIGN_SOURCE)
    )


def _ppvs(creator):
    return counted(creator).filter(action=Action.Kind.PPV)


def _conversion(queryset, field: str, key=str) -> dict:
    """Group PPVs by `field` in SQL: {key: {"sent", "bought", "rate"}} ordered by the field."""
    rows = (
        queryset.order_by()
        .values(field)
        .annotate(sent=Count("pk"), bought=Count("pk", filter=Q(purchased=True)))
        .order_by(field)
    )
    return {
        key(row[field]): {"sent": row["sent"], "bought": row["bought"], "rate": rate(row["bought"], row["sent"])}
        for row in rows
    }


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
    """Conversion by UTC hour of the PPV ("0".."23"), whatever the server's TIME_ZONE (Action.utc_hour,
    the UTC hour stored when the row is written)."""
    return _conversion(_ppvs(creator), "utc_hour")


def chargeback_counts(creator, field: str) -> dict:
    """{value: (bought, taken back)} over the PPVs ever bought (a refund, chargeback or undo leaves the PPV
    `reversed`, no longer `purchased`), by price or hook."""
    rows = (
        _ppvs(creator)
        .filter(Q(purchased=True) | Q(reversed=True))
        .exclude(**{f"{field}__isnull": True})
        .exclude(**({field: ""} if field == "hook" else {}))
        .order_by()
        .values(field)
        .annotate(n=Count("pk"), hit=Count("pk", filter=Q(reversed=True)))
        .order_by(field)
    )
    return {(price_key(r[field]) if field == "price" else r[field]): (r["n"], r["hit"]) for r in rows}


def chargeback_table(counts: dict) -> dict:
    """{key: {"bought", "reversed", "rate"}}: the share of sales taken back (net money), shown per price and hook."""
    return {k: {"bought": n, "reversed": hit, "rate": rate(hit, n)} for k, (n, hit) in counts.items() if n}


def sender_price_counts(creator) -> dict:
    """{(sender kind, price key): (sent, bought)} over priced PPVs (learning.stats.cells.sender_kind)."""
    rows = (
        _ppvs(creator)
        .filter(price__isnull=False)
        .order_by()
        .values("source", "review", "price")
        .annotate(n=Count("pk"), hit=Count("pk", filter=Q(purchased=True)))
    )
    out: dict = {}
    for r in rows:
        key = (sender_kind(r["source"], r["review"]), price_key(r["price"]))
        n, hit = out.get(key, (0, 0))
        out[key] = (n + r["n"], hit + r["hit"])
    return out


def by_sender(counts: dict) -> dict:
    """Net PPV money per sender kind (bot, bot_draft_approved, human_edited, human, imported): each kind is
    marked so an analysis can leave out what a person sent. Revenue is what was bought and not taken back."""
    out = {}
    for kind in SENDERS:
        cells = {p: v for (k, p), v in counts.items() if k == kind}
        sent, bought = sum(n for n, _ in cells.values()), sum(h for _, h in cells.values())
        if not sent:
            continue
        revenue = round(sum(float(p) * h for p, (_, h) in cells.items()), 2)
        out[kind] = {
            "sent": sent,
            "bought": bought,
            "rate": rate(bought, sent),
            "net_revenue": revenue,
            "revenue_per_send": round(revenue / sent, 2),
            "human": kind in ("human_edited", "human"),
        }
    return out


def ghost_rate_by_stage(creator) -> dict:
    """Where fans drop off: share of counted actions (any kind) per fan_state that a ghosting answered."""
    rows = (
        counted(creator)
        .exclude(fan_state="")
        .order_by()
        .values("fan_state")
        .annotate(sent=Count("pk"), ghosted=Count("pk", filter=Q(ghosted=True)))
        .order_by("fan_state")
    )
    return {
        row["fan_state"]: {"sent": row["sent"], "ghosted": row["ghosted"], "rate": rate(row["ghosted"], row["sent"])}
        for row in rows
    }


def buyers(creator):
    """The creator's fans with a purchase, annotated with their first purchase's (ts, seq) and the
    count of replies ordered before it (also what learning.stats.counters stores per buyer)."""
    purchases = Outcome.objects.filter(fan=OuterRef("pk"), event=Outcome.Event.PURCHASED).order_by("ts", "seq")
    replies_before = (
        Outcome.objects.filter(fan=OuterRef("pk"), event=Outcome.Event.REPLIED)
        .filter(Q(ts__lt=OuterRef("first_buy_ts")) | Q(ts=OuterRef("first_buy_ts"), seq__lt=OuterRef("first_buy_seq")))
        .order_by()
        .values("fan")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Fan.objects.filter(creator=creator)
        .filter(Exists(purchases))
        .annotate(
            first_buy_ts=Subquery(purchases.values("ts")[:1]), first_buy_seq=Subquery(purchases.values("seq")[:1])
        )
        .annotate(replies=Coalesce(Subquery(replies_before, output_field=IntegerField()), 0))
    )


def avg_msgs_to_first_buy(creator) -> float | None:
    """Mean number of `replied` outcomes before each buyer's first purchase (by ts, then seq).

    One SQL query over buyers(); the database averages the counts. None when nobody bought.
    """
    avg = buyers(creator).aggregate(avg=Avg("replies"))["avg"]
    return None if avg is None else round(float(avg), 1)


def top_hooks(creator) -> list:
    """Hooks by how often they were used (counted actions of any kind): [[hook, count], ...], ties by name."""
    rows = (
        counted(creator)
        .exclude(hook="")
        .order_by()
        .values("hook")
        .annotate(count=Count("pk"))
        .order_by("-count", "hook")
    )
    return [[row["hook"], row["count"]] for row in rows]


def totals(creator) -> dict:
    """How much data the statistics rest on: counted actions (sent or logged), every outcome
    (unattributed ones included)."""
    return {"actions": counted(creator).count(), "outcomes": Outcome.objects.filter(creator=creator).count()}


# --- posteriors ----------------------------------------------------------------------------------


def _segment():
    """ "new" for a PPV to a fan who had spent nothing yet, else "buyer" (from the Action's snapshot)."""
    return Case(When(fan_total_spent__gt=0, then=Value("buyer")), default=Value("new"), output_field=CharField())


def segment_price_counts(creator, half_life) -> dict:
    """Price cells per segment ("new"/"buyer", from every row's fan_total_spent snapshot) and per price
    context recorded at decision time (Action.segment, e.g. "buyer:big"; rows without one, such as
    imported seed data, count in their segment only), from one grouped query:
    {(segment, price): [sent, bought, weighted sent, weighted bought]} sorted by (segment, price)."""
    priced = _ppvs(creator).filter(price__isnull=False)
    rows = _weighted_counts(priced.annotate(parent=_segment()), ["parent", "segment", "price"], half_life)
    counts: dict = {}
    for (parent, context, price), acc in rows.items():
        for key in [(parent, price)] + ([(context, price)] if context else []):
            total = counts.setdefault(key, [0, 0, 0.0, 0.0])
            for i, v in enumerate(acc):
                total[i] += v
    return dict(sorted(counts.items()))


def price_hook_counts(creator, half_life) -> dict:
    """{(price, hook): [sent, bought, weighted sent, weighted bought]} over priced PPVs with a hook."""
    return _weighted_counts(_ppvs(creator).filter(price__isnull=False).exclude(hook=""), ["price", "hook"], half_life)


def _weighted_counts(queryset, fields: list, half_life) -> dict:
    """{(field values): [sent, bought, weighted sent, weighted bought]} in one grouped query; with a
    half-life the rows are also grouped by UTC day so each day's sends get their decay weight."""
    group = list(fields)
    if half_life:
        queryset = queryset.annotate(day=TruncDate("ts", tzinfo=datetime.UTC))
        group.append("day")
    rows = (
        queryset.order_by()
        .values(*group)
        .annotate(sent=Count("pk"), bought=Count("pk", filter=Q(purchased=True)))
        .order_by(*group)
    )
    today = datetime.datetime.now(datetime.UTC).date()
    out: dict = {}
    for row in rows:
        w = bayes.decay_weight((today - row["day"]).days, half_life) if half_life else 1.0
        acc = out.setdefault(tuple(row[f] for f in fields), [0, 0, 0.0, 0.0])
        acc[0] += row["sent"]
        acc[1] += row["bought"]
        acc[2] += w * row["sent"]
        acc[3] += w * row["bought"]
    return out


def _cells(counts: dict, min_sample: int, key=str, priced=False) -> dict:
    """One-level cells keyed like the seed's conversion dicts; `priced`: the key is the price."""
    return {
        key(k[0]): bayes.cell(
            sent,
            bought,
            min_sample=min_sample,
            price=(k[0] if priced else None),
            weighted_sent=w_sent,
            weighted_bought=w_bought,
        )
        for k, (sent, bought, w_sent, w_bought) in counts.items()
    }


def _nested(counts: dict, min_sample: int, outer=str, inner=str, price_at=None) -> dict:
    """Two-level cells ({outer: {inner: cell}}), e.g. price × hook or segment × price."""
    out: dict = {}
    for k, (sent, bought, w_sent, w_bought) in counts.items():
        out.setdefault(outer(k[0]), {})[inner(k[1])] = bayes.cell(
            sent,
            bought,
            min_sample=min_sample,
            price=(k[price_at] if price_at is not None else None),
            weighted_sent=w_sent,
            weighted_bought=w_bought,
        )
    return out


def posteriors(creator, seed: dict | None = None, crossed: tuple | None = None) -> dict:
    """The Beta posterior of every conversion cell. Without decay the seed's counts (`seed`, the
    conversion_by_* dicts) are reused, so only the two crossed groupings cost a query each, unless
    `crossed` gives them too (price_hook_counts, segment_price_counts; learning.stats.from_counters)."""
    half_life, n = creator.stats_half_life_days, creator.min_sample
    price_hook, segment_price = crossed or (
        price_hook_counts(creator, half_life),
        segment_price_counts(creator, half_life),
    )
    ppvs = _ppvs(creator)

    def counts(queryset, fields, seed_key):
        if seed is not None and not half_life:
            return {(k,): [v["sent"], v["bought"], v["sent"], v["bought"]] for k, v in seed[seed_key].items()}
        return _weighted_counts(queryset, fields, half_life)

    priced = ppvs.filter(price__isnull=False)
    return {
        "min_sample": n,
        "half_life_days": half_life,
        "posterior_by_price": _cells(counts(priced, ["price"], "conversion_by_price"), n, key=price_key, priced=True),
        "posterior_by_content": _cells(
            counts(ppvs.exclude(content_key=""), ["content_key"], "conversion_by_content"), n
        ),
        "posterior_by_hook": _cells(counts(ppvs.exclude(hook=""), ["hook"], "conversion_by_hook"), n),
        "posterior_by_hour": _cells(counts(ppvs, ["utc_hour"], "conversion_by_hour"), n),
        "posterior_by_price_hook": _nested(price_hook, n, outer=price_key, price_at=0),
        "posterior_by_segment_price": _nested(segment_price, n, inner=price_key, price_at=1),
    }


def compute_learning_stats_from_rows(creator) -> dict:
    """The reference: every statistic from the row queries, the seed's keys in the documented order,
    then the posteriors."""
    stats: dict = {
        "totals": totals(creator),
        "conversion_by_price": conversion_by_price(creator),
        "conversion_by_content": conversion_by_content(creator),
        "conversion_by_hook": conversion_by_hook(creator),
        "conversion_by_hour": conversion_by_hour(creator),
        "ghost_rate_by_stage": ghost_rate_by_stage(creator),
        "avg_msgs_to_first_buy": avg_msgs_to_first_buy(creator),
        "top_hooks": top_hooks(creator),
    }
    stats.update(posteriors(creator, seed=stats))
    stats.update(
        {
            "chargeback_rate_by_price": chargeback_table(chargeback_counts(creator, "price")),
            "chargeback_rate_by_hook": chargeback_table(chargeback_counts(creator, "hook")),
            "by_sender": by_sender(sender_price_counts(creator)),
        }
    )
    stats["computed_at"] = datetime.datetime.now(datetime.UTC).isoformat()
    return stats
