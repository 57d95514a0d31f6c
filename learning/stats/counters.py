"""Incremental counters behind the learning stats: what every write changes, recorded with the write.

Why: the row queries of learning.stats scan every action of a creator (about 2 s at a million events);
the counters make the same numbers a read of a few hundred rows. Each write that changes what the stats
count appends its deltas as StatsCell rows in the same transaction as the write itself, so a rolled
back write leaves no count behind and concurrent writers never touch a shared row (no lost updates, no
waits, no deadlocks). A cell's value is the sum of its rows; compact() folds them now and then.

Who records: learning.services (record_action, record_outcome, set_action_status), learning.attribution (flag changes by
live attribution and by reattribute_fan), learning.seed.files (the importer's bulk paths), the admin's
Action/Outcome saves and, by signal, every deletion of an Action or Outcome (learning.apps). Anything
else that writes these rows directly (raw SQL, queryset.update() of a counted field) must run
`manage.py rebuild_learning_stats`, which recomputes a creator's counters from the row queries of
learning.stats (the reference implementation). A creator without the `built` marker (rows that
existed before this module, or a bulk load) is rebuilt on its first stats read.

An action counts only while its status is counted (learning.stats.cells.COUNTED_STATUSES: `sent`, `logged`):
action_cells() of a pending, failed or refused action is empty, so recording it, flagging it or deleting
it changes nothing, and a status change is recorded as "old cells out, new cells in" by
learning.services.set_action_status (the sender and the worker) or the admin's save, in the same
transaction as the status itself. A bare `Action.objects.update(status=...)` elsewhere would drift.

`avg_msgs_to_first_buy` is per fan, not a sum of cells: BuyerStat keeps each buyer's first purchase and
the replies before it, updated by record_outcome and the importer (refresh_buyer) under the fan's row
lock that next_seq takes.
"""

import logging
from collections import defaultdict
from datetime import datetime

from django.db import DatabaseError, connection, transaction
from django.db.models import Count, F, Q, Sum

import sqlonce
from learning.models import BuyerStat, Outcome, StatsCell
from learning.stats import from_rows
from learning.stats.cells import (
    BUILT,
    CB_HOOK,
    CB_PRICE,
    CONTENT,
    HOOK,
    HOOK_USED,
    HOUR,
    PRICE,
    PRICE_HOOK,
    SEG_PRICE,
    SENDER,
    STAGE,
    TOTAL,
    action_cells,
    price_key,
)

log = logging.getLogger(__name__)

COMPACT_ROWS = 2000  # fold a creator's rows once there are this many more rows than cells


def record(creator_id, cells: list[tuple]):
    """Append the cells' deltas (summed per cell, zeros dropped) in one INSERT."""
    merged: dict = defaultdict(lambda: [0, 0])
    for d, k, k2, n, hit in cells:
        acc = merged[(d, k, k2)]
        acc[0] += n
        acc[1] += hit
    rows = [
        StatsCell(creator_id=creator_id, dimension=d, key=k, key2=k2, n=n, hit=hit)
        for (d, k, k2), (n, hit) in merged.items()
        if n or hit
    ]
    if len(rows) == 1:
        sqlonce.insert(rows[0])  # the usual case (an outcome's one cell): SQL built once
    elif rows:
        StatsCell.objects.bulk_create(rows)


def action_added(action):
    record(action.creator_id, action_cells(action))


def outcomes_added(creator_id, n: int = 1):
    record(creator_id, [(TOTAL, "outcomes", "", n, 0)])


# --- avg_msgs_to_first_buy: one BuyerStat per fan with a purchase ------------------------------------


def refresh_buyer(fan_id, creator_id):
    """Recompute one fan's first purchase and the replies before it (or drop it: no purchase left)."""
    first = (
        Outcome.objects.filter(fan_id=fan_id, event=Outcome.Event.PURCHASED)
        .order_by("ts", "seq")
        .values("ts", "seq")
        .first()
    )
    if first is None:
        BuyerStat.objects.filter(fan_id=fan_id).delete()
        return
    replies = (
        Outcome.objects.filter(fan_id=fan_id, event=Outcome.Event.REPLIED)
        .filter(Q(ts__lt=first["ts"]) | Q(ts=first["ts"], seq__lt=first["seq"]))
        .count()
    )
    BuyerStat.objects.update_or_create(
        fan_id=fan_id,
        defaults={
            "creator_id": creator_id,
            "first_buy_ts": first["ts"],
            "first_buy_seq": first["seq"],
            "replies": replies,
        },
    )


def outcome_recorded(outcome):
    """After record_outcome saved `outcome` (attribution flags are recorded by learning.attribution)."""
    outcomes_added(outcome.creator_id)
    if outcome.event == Outcome.Event.PURCHASED:
        refresh_buyer(outcome.fan_id, outcome.fan.creator_id)
    elif outcome.event == Outcome.Event.REPLIED:  # a reply before a buyer's first purchase counts
        _REPLY_BEFORE_FIRST_BUY.run(outcome.fan_id, outcome.ts, outcome.seq)


_REPLY_BEFORE_FIRST_BUY = sqlonce.update(  # every fan message runs it (sqlonce: compiled once)
    lambda fan_id, ts, seq: (
        BuyerStat.objects.filter(fan_id=fan_id).filter(
            Q(first_buy_ts__gt=ts) | Q(first_buy_ts=ts, first_buy_seq__gt=seq)
        ),
        {"replies": F("replies") + 1},
    ),
    int,
    datetime,
    int,
)


# --- reading, folding, rebuilding --------------------------------------------------------------------


def read(creator) -> tuple[dict, bool, int]:
    """One grouped query, nothing written: ({dimension: {(key, key2): (n, hit)}} summed over the rows,
    each dimension in (key2, key) order of the database's collation, as the row queries' ORDER BY
    gives), whether the counters are built, and how many rows compaction would fold away."""
    rows = list(
        StatsCell.objects.filter(creator=creator)
        .order_by()
        .values("dimension", "key", "key2")
        .annotate(sn=Sum("n"), shit=Sum("hit"), rows=Count("pk"))
        .order_by("dimension", "key2", "key")
    )
    out: dict = defaultdict(dict)
    for r in rows:
        if r["sn"] or r["shit"]:
            out[r["dimension"]][(r["key"], r["key2"])] = (int(r["sn"]), int(r["shit"]))  # PG: numeric
    built = any(r["dimension"] == BUILT for r in rows)
    return out, built, sum(r["rows"] for r in rows) - len(rows)


def current(creator) -> dict:
    """The counters, made ready first: built from the rows if this creator has none yet (rows that
    existed before the counters, a bulk load), folded when their rows have piled up."""
    cells, built, foldable = read(creator)
    if not built:
        rebuild(creator)
        return read(creator)[0]
    if foldable > COMPACT_ROWS:
        compact(creator)
    return cells


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
                StatsCell.objects.filter(pk__in=ids[i : i + 500]).delete()
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
    outer = connection.in_atomic_block
    with transaction.atomic():
        if not outer:
            _repeatable_read()
        StatsCell.objects.filter(creator=creator).delete()
        BuyerStat.objects.filter(creator=creator).delete()
        cells = [(BUILT, "", "", 1, 0)]
        for k, v in from_rows.totals(creator).items():
            cells.append((TOTAL, k, "", v, 0))
        for dim, fn in (
            (PRICE, from_rows.conversion_by_price),
            (CONTENT, from_rows.conversion_by_content),
            (HOOK, from_rows.conversion_by_hook),
            (HOUR, from_rows.conversion_by_hour),
        ):
            cells += [(dim, k, "", v["sent"], v["bought"]) for k, v in fn(creator).items()]
        cells += [(STAGE, k, "", v["sent"], v["ghosted"]) for k, v in from_rows.ghost_rate_by_stage(creator).items()]
        cells += [(HOOK_USED, hook, "", n, 0) for hook, n in from_rows.top_hooks(creator)]
        cells += [
            (PRICE_HOOK, price_key(price), hook, sent, bought)
            for (price, hook), (sent, bought, _, _) in from_rows.price_hook_counts(creator, None).items()
        ]
        cells += [
            (SEG_PRICE, seg, price_key(price), sent, bought)
            for (seg, price), (sent, bought, _, _) in from_rows.segment_price_counts(creator, None).items()
        ]
        cells += [(CB_PRICE, k, "", n, hit) for k, (n, hit) in from_rows.chargeback_counts(creator, "price").items()]
        cells += [(CB_HOOK, k, "", n, hit) for k, (n, hit) in from_rows.chargeback_counts(creator, "hook").items()]
        cells += [(SENDER, kind, p, n, hit) for (kind, p), (n, hit) in from_rows.sender_price_counts(creator).items()]
        record(creator.pk, cells)
        BuyerStat.objects.bulk_create(
            [
                BuyerStat(
                    fan_id=b["pk"],
                    creator=creator,
                    first_buy_ts=b["first_buy_ts"],
                    first_buy_seq=b["first_buy_seq"],
                    replies=b["replies"],
                )
                for b in from_rows.buyers(creator).values("pk", "first_buy_ts", "first_buy_seq", "replies")
            ],
            batch_size=500,
        )
    return {
        "cells": StatsCell.objects.filter(creator=creator).count(),
        "buyers": BuyerStat.objects.filter(creator=creator).count(),
    }


def mark_built(creator_id):
    """A new creator has no rows yet, so its (empty) counters are complete from the start."""
    StatsCell.objects.create(creator_id=creator_id, dimension=BUILT, n=1)
