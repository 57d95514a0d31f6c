"""Incremental counters behind the learning stats: what every write changes, recorded with the write.

Why: the row queries of learning.stats scan every action of a creator (about 2 s at a million events);
the counters make the same numbers a read of a few hundred rows. Each write that changes what the stats
count appends its deltas as StatsCell rows in the same transaction as the write itself, so a rolled
back write leaves no count behind and concurrent writers never touch a shared row (no lost updates, no
waits, no deadlocks). A cell's value is the sum of its rows; compact() folds them now and then.

Who records: learning.services (record_action, record_outcome, set_action_status), learning.attribution (flag changes by
live attribution and by reattribute_fan), learning.seed_io (the importer's bulk paths), the admin's
Action/Outcome saves and, by signal, every deletion of an Action or Outcome (learning.apps). Anything
else that writes these rows directly (raw SQL, queryset.update() of a counted field) must run
`manage.py rebuild_learning_stats`, which recomputes a creator's counters from the row queries of
learning.stats (the reference implementation). A creator without the `built` marker (rows that
existed before this module, or a bulk load) is rebuilt on its first stats read.

An action counts only while its status is counted (learning.stats.COUNTED_STATUSES: `sent`, `logged`):
action_cells() of a pending, failed or refused action is empty, so recording it, flagging it or deleting
it changes nothing, and a status change is recorded as "old cells out, new cells in" by
learning.services.set_action_status (the sender and the worker) or the admin's save, in the same
transaction as the status itself. A bare `Action.objects.update(status=...)` elsewhere would drift.

`avg_msgs_to_first_buy` is per fan, not a sum of cells: BuyerStat keeps each buyer's first purchase and
the replies before it, updated by record_outcome and the importer (refresh_buyer) under the fan's row
lock that next_seq takes.
"""
import datetime
import logging
from collections import defaultdict
from decimal import Decimal

from django.db import DatabaseError, connection, transaction
from django.db.backends.utils import format_number
from django.db.models import Count, F, Q, Sum

from learning.models import Action, BuyerStat, Outcome, StatsCell
from learning.stats import COUNTED_STATUSES, price_key

log = logging.getLogger(__name__)

TOTAL, BUILT = "total", "built"                          # key "actions"/"outcomes": n; the rebuilt marker
PRICE, CONTENT, HOOK, HOUR = "price", "content", "hook", "hour"   # PPVs: n sent, hit bought
PRICE_HOOK, SEG_PRICE = "price_hook", "seg_price"        # key price × key2 hook; key segment × key2 price
STAGE, HOOK_USED = "stage", "hook_used"                  # any action: n, hit ghosted; n with that hook
COMPACT_ROWS = 2000  # fold a creator's rows once there are this many more rows than cells


def _money(value, field: str) -> Decimal | None:
    """The value as the database stores it (quantized to the field's decimal places)."""
    if value is None:
        return None
    f = Action._meta.get_field(field)
    return Decimal(format_number(Decimal(str(value)), f.max_digits, f.decimal_places))


def action_cells(a, sign: int = 1) -> list[tuple]:
    """[(dimension, key, key2, n, hit)] that one action adds to the stats (sign=-1: takes away); none
    while its status is not counted (pending, failed, refused)."""
    if a.status not in COUNTED_STATUSES:
        return []
    bought, ghosted = int(bool(a.purchased)), int(bool(a.ghosted))
    out = [(TOTAL, "actions", "", sign, 0)]
    if a.hook:
        out.append((HOOK_USED, a.hook, "", sign, 0))
    if a.fan_state:
        out.append((STAGE, a.fan_state, "", sign, sign * ghosted))
    if a.action == Action.Kind.PPV:
        cells = [(HOUR, str(a.ts.astimezone(datetime.timezone.utc).hour), "")]
        if a.content_key:
            cells.append((CONTENT, a.content_key, ""))
        if a.hook:
            cells.append((HOOK, a.hook, ""))
        price = _money(a.price, "price")
        if price is not None:
            p = price_key(price)
            parent = "buyer" if (_money(a.fan_total_spent, "fan_total_spent") or 0) > 0 else "new"
            cells += [(PRICE, p, ""), (SEG_PRICE, parent, p)]
            if a.segment:
                cells.append((SEG_PRICE, a.segment, p))
            if a.hook:
                cells.append((PRICE_HOOK, p, a.hook))
        out += [(d, k, k2, sign, sign * bought) for d, k, k2 in cells]
    return out


def flag_cells(a, was_purchased: bool, was_ghosted: bool) -> list[tuple]:
    """What changing the action's purchased/ghosted flags from the given old values changes."""
    if bool(a.purchased) == bool(was_purchased) and bool(a.ghosted) == bool(was_ghosted):
        return []
    old = _Snapshot(a, purchased=was_purchased, ghosted=was_ghosted)
    return action_cells(a) + action_cells(old, sign=-1)


class _Snapshot:
    """The action with other flag values (for flag_cells)."""

    def __init__(self, a, **flags):
        self.__dict__.update({k: getattr(a, k) for k in ("action", "ts", "content_key", "hook", "price", "status",
                                                         "fan_state", "fan_total_spent", "segment")}, **flags)


def record(creator_id, cells: list[tuple]):
    """Append the cells' deltas (summed per cell, zeros dropped) in one INSERT."""
    merged: dict = defaultdict(lambda: [0, 0])
    for d, k, k2, n, hit in cells:
        acc = merged[(d, k, k2)]
        acc[0] += n
        acc[1] += hit
    rows = [StatsCell(creator_id=creator_id, dimension=d, key=k, key2=k2, n=n, hit=hit)
            for (d, k, k2), (n, hit) in merged.items() if n or hit]
    if rows:
        StatsCell.objects.bulk_create(rows)


def action_added(action):
    record(action.creator_id, action_cells(action))


def outcomes_added(creator_id, n: int = 1):
    record(creator_id, [(TOTAL, "outcomes", "", n, 0)])


# --- avg_msgs_to_first_buy: one BuyerStat per fan with a purchase ------------------------------------

def refresh_buyer(fan_id, creator_id):
    """Recompute one fan's first purchase and the replies before it (or drop it: no purchase left)."""
    first = (Outcome.objects.filter(fan_id=fan_id, event=Outcome.Event.PURCHASED).order_by("ts", "seq")
             .values("ts", "seq").first())
    if first is None:
        BuyerStat.objects.filter(fan_id=fan_id).delete()
        return
    replies = (Outcome.objects.filter(fan_id=fan_id, event=Outcome.Event.REPLIED)
               .filter(Q(ts__lt=first["ts"]) | Q(ts=first["ts"], seq__lt=first["seq"])).count())
    BuyerStat.objects.update_or_create(fan_id=fan_id, defaults={
        "creator_id": creator_id, "first_buy_ts": first["ts"], "first_buy_seq": first["seq"], "replies": replies})


def outcome_recorded(outcome):
    """After record_outcome saved `outcome` (attribution flags are recorded by learning.attribution)."""
    outcomes_added(outcome.creator_id)
    if outcome.event == Outcome.Event.PURCHASED:
        refresh_buyer(outcome.fan_id, outcome.fan.creator_id)
    elif outcome.event == Outcome.Event.REPLIED:  # a reply before a buyer's first purchase counts
        (BuyerStat.objects.filter(fan_id=outcome.fan_id)
         .filter(Q(first_buy_ts__gt=outcome.ts) | Q(first_buy_ts=outcome.ts, first_buy_seq__gt=outcome.seq))
         .update(replies=F("replies") + 1))


# --- reading, folding, rebuilding --------------------------------------------------------------------

def read(creator) -> dict:
    """{dimension: {(key, key2): (n, hit)}} summed over the rows, each dimension in (key2, key) order
    of the database's collation (the order the row queries' ORDER BY gives). Builds the counters from
    the rows first if this creator has none yet; folds the rows when they have piled up."""
    rows = list(StatsCell.objects.filter(creator=creator).order_by().values("dimension", "key", "key2")
                .annotate(sn=Sum("n"), shit=Sum("hit"), rows=Count("pk")).order_by("dimension", "key2", "key"))
    if not any(r["dimension"] == BUILT for r in rows):
        rebuild(creator)
        return read(creator)
    if sum(r["rows"] for r in rows) > len(rows) + COMPACT_ROWS:
        compact(creator)
    out: dict = defaultdict(dict)
    for r in rows:
        if r["sn"] or r["shit"]:
            out[r["dimension"]][(r["key"], r["key2"])] = (int(r["sn"]), int(r["shit"]))  # PG: numeric
    return out


def compact(creator) -> int:
    """Fold every row of the creator into one per cell; returns the rows removed. Safe beside writers:
    only the rows read (locked on PostgreSQL) are deleted, so a delta appended meanwhile stays."""
    try:
        with transaction.atomic():
            qs = StatsCell.objects.filter(creator=creator).order_by("pk")
            if connection.features.has_select_for_update:
                qs = qs.select_for_update()
            rows = list(qs.values_list("pk", "dimension", "key", "key2", "n", "hit"))
            cells = [(d, k, k2, n, hit) for _, d, k, k2, n, hit in rows if d != BUILT]
            cells += [(BUILT, "", "", 1, 0)] if len(cells) < len(rows) else []
            ids = [r[0] for r in rows]
            for i in range(0, len(ids), 500):
                StatsCell.objects.filter(pk__in=ids[i:i + 500]).delete()
            record(creator.pk, cells)
    except DatabaseError as e:  # e.g. a deadlock with another compaction: the counters are still right
        log.warning("stats rollup compaction for %s skipped: %s", creator, e)
        return 0
    return len(ids) - StatsCell.objects.filter(creator=creator).count()


def _repeatable_read():
    """A rebuild reads the rows and rewrites the counters from one snapshot (PostgreSQL REPEATABLE
    READ): a write committed meanwhile keeps its own delta rows and is not in the rows read, so it is
    counted once. SQLite serializes writers, so its write transaction is already such a snapshot."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def rebuild(creator) -> dict:
    """Recompute the creator's counters and BuyerStats from its rows (the reference row queries)."""
    from learning import stats as S

    outer = connection.in_atomic_block
    with transaction.atomic():
        if not outer:
            _repeatable_read()
        StatsCell.objects.filter(creator=creator).delete()
        BuyerStat.objects.filter(creator=creator).delete()
        cells = [(BUILT, "", "", 1, 0)]
        for k, v in S.totals(creator).items():
            cells.append((TOTAL, k, "", v, 0))
        for dim, fn in ((PRICE, S.conversion_by_price), (CONTENT, S.conversion_by_content),
                        (HOOK, S.conversion_by_hook), (HOUR, S.conversion_by_hour)):
            cells += [(dim, k, "", v["sent"], v["bought"]) for k, v in fn(creator).items()]
        cells += [(STAGE, k, "", v["sent"], v["ghosted"]) for k, v in S.ghost_rate_by_stage(creator).items()]
        cells += [(HOOK_USED, hook, "", n, 0) for hook, n in S.top_hooks(creator)]
        cells += [(PRICE_HOOK, price_key(price), hook, sent, bought)
                  for (price, hook), (sent, bought, _, _) in S.price_hook_counts(creator, None).items()]
        cells += [(SEG_PRICE, seg, price_key(price), sent, bought)
                  for (seg, price), (sent, bought, _, _) in S.segment_price_counts(creator, None).items()]
        record(creator.pk, cells)
        BuyerStat.objects.bulk_create(
            [BuyerStat(fan_id=b["pk"], creator=creator, first_buy_ts=b["first_buy_ts"],
                       first_buy_seq=b["first_buy_seq"], replies=b["replies"])
             for b in S.buyers(creator).values("pk", "first_buy_ts", "first_buy_seq", "replies")],
            batch_size=500)
    return {"cells": StatsCell.objects.filter(creator=creator).count(),
            "buyers": BuyerStat.objects.filter(creator=creator).count()}


def mark_built(creator_id):
    """A new creator has no rows yet, so its (empty) counters are complete from the start."""
    StatsCell.objects.create(creator_id=creator_id, dimension=BUILT, n=1)
