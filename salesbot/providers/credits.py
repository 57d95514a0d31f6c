"""Provider credits per creator per day: every API call and every delivered webhook event is counted here as
the provider prices it (OnlyFansAPI.com: one credit per uncached call and per delivered webhook event, a
call's `_meta._credits.used` when the answer says), and shown beside the model's cost on the dashboard.

Counts are kept in the process and written at most every FLUSH_EVERY_S (one upsert per creator and day), and
at exit: a reply spends no query on them; a process killed outright loses at most those seconds of counts."""

import atexit
import logging
import threading
import time
from datetime import date, timedelta

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

log = logging.getLogger(__name__)

FLUSH_EVERY_S = 5.0
_lock = threading.Lock()
_pending: dict[tuple[int, date], list[int]] = {}  # (creator id, day) -> [calls, webhook events, credits]
_last_flush = time.monotonic()


def count(creator_id, *, calls: int = 0, events: int = 0, credits: int | None = None) -> None:
    """Add one call or webhook event; `credits`: what the provider charged, when it differs from one each."""
    global _last_flush
    if not creator_id:
        return
    key = (creator_id, timezone.now().date())
    with _lock:
        row = _pending.setdefault(key, [0, 0, 0])
        row[0] += calls
        row[1] += events
        row[2] += calls + events if credits is None else credits
        due = time.monotonic() - _last_flush >= FLUSH_EVERY_S
        if due:
            _last_flush = time.monotonic()
    if due:
        flush()


def flush() -> int:
    """Write what was counted; returns the rows written. Never raises into the caller."""
    from salesbot.models import ProviderUsage

    with _lock:
        batch = list(_pending.items())
        _pending.clear()
    if not batch:
        return 0
    table, q = ProviderUsage._meta.db_table, connection.ops.quote_name
    sql = (
        f"INSERT INTO {q(table)} (creator_id, day, calls, webhook_events, credits) VALUES (%s, %s, %s, %s, %s) "
        f"ON CONFLICT (creator_id, day) DO UPDATE SET calls = {q(table)}.calls + excluded.calls, "
        f"webhook_events = {q(table)}.webhook_events + excluded.webhook_events, "
        f"credits = {q(table)}.credits + excluded.credits"
    )
    try:
        with transaction.atomic(), connection.cursor() as cur:
            cur.executemany(sql, [(cid, day, *row) for (cid, day), row in batch])
    except DatabaseError:
        log.warning("could not write provider credit counts (%d rows lost)", len(batch), exc_info=True)
        return 0
    return len(batch)


def reset() -> None:
    """Drop unwritten counts (tests)."""
    with _lock:
        _pending.clear()


def by_day(creator, days: int = 7) -> list[dict]:
    """The creator's last `days` UTC days, newest first (what this process has not written yet included)."""
    from salesbot.models import ProviderUsage

    since = timezone.now().date() - timedelta(days=days - 1)
    rows = {
        r.day: [r.calls, r.webhook_events, r.credits]
        for r in ProviderUsage.objects.filter(creator_id=creator.pk, day__gte=since)
    }
    with _lock:
        for (cid, day), row in _pending.items():
            if cid == creator.pk and day >= since:
                rows[day] = [a + b for a, b in zip(rows.get(day, [0, 0, 0]), row, strict=True)]
    return [
        {"day": day, "calls": c, "webhook_events": e, "credits": k}
        for day, (c, e, k) in sorted(rows.items(), reverse=True)
    ]


def _flush_at_exit():
    try:
        flush()
    except Exception:  # noqa: BLE001  (interpreter shutting down: the counts are lost, nothing else)
        pass


atexit.register(_flush_at_exit)
