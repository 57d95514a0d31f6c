"""The bot's queues and the only place that queues django-q2 tasks.

Two durable queues live in the database: stored webhook events (status `received`) and QueueItems (a fan
waiting for the bot: docs/architecture.md#the-queue-and-the-background-checks). Tasks only wake workers to
look at them; a lost task loses nothing, the sweeper finds the rows. A fan is held by one worker at a time
through a lease on its row, taken with a conditional UPDATE (a row lock on PostgreSQL, the database lock on
SQLite), so it holds on both back-ends and across machines.

Time budgets: every task ends well inside the cluster's task timeout. `item_worst_case_s()` is the
longest one queue item can take (an LLM call with its retries, then one platform send); a draining task
starts no item it could not finish in time, and queues its successor instead.
"""

import logging
import os
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.tasks import async_task

import sqlonce
from fans.models import Fan
from salesbot.models import IntakeDrain, QueueItem, WebhookEvent
from salesbot.pipeline import recovery

log = logging.getLogger(__name__)

TASK_MARGIN_S = 10.0
RECLAIM_EVERY_S = 1.0
_last_reclaim = 0.0
# Spent money first, then whale score, then who has waited longest.
PRIORITY = ["-fan__total_spent", "-fan__whale_score", "waiting_since", "id"]


# --- time budgets -------------------------------------------------------------------------------


def item_worst_case_s() -> float:
    """The longest one queue item may take: the model with its retries, then one send (no retry
    inside: a failed send goes back to the queue with a backoff, see worker.work_one)."""
    llm = settings.LLM_TIMEOUT_S * (settings.LLM_MAX_RETRIES + 1)
    return llm + settings.PLATFORM_TIMEOUT_S


def task_budget_s() -> float:
    """Seconds a draining task may keep starting work: whatever is left of the task timeout after
    the worst-case item and a margin (salesbot.checks says at start-up when nothing is left)."""
    timeout = float(Conf.TIMEOUT or 60)
    return max(timeout - item_worst_case_s() - min(TASK_MARGIN_S, timeout / 10), 0.0)


def lease() -> timedelta:
    """How long a worker holds a fan (settings.WORKER_LEASE_S); a dead worker's fan and item are
    taken again once it has passed (salesbot.checks warns when it is shorter than an item can take)."""
    return timedelta(seconds=float(settings.WORKER_LEASE_S))


# --- waking workers -----------------------------------------------------------------------------


_brokers: dict[tuple, object] = {}


def _broker():
    """This process's django-q2 broker, made once: without one, async_task makes a broker per call, which for
    Redis is a new connection (connect, health check) per queued task, i.e. per webhook that wakes a drain.
    Per process id, so a forked worker never shares its parent's socket; per broker settings, for tests."""
    key = (os.getpid(), repr(Conf.REDIS), Conf.ORM, Conf.CLUSTER_NAME)
    broker = _brokers.get(key)
    if broker is None:
        _brokers.clear()
        broker = _brokers[key] = get_broker()
    return broker


def wake_worker(n: int = 1) -> None:
    """Queue a task that works the fan queue; the items are already stored, so a failure here only
    delays them until the sweeper (logged, never raised into the caller's transaction)."""
    from salesbot import tasks

    try:
        async_task(tasks.work_queue, max(int(n), 1), group="queue", broker=_broker())
    except Exception:
        log.exception("could not queue a worker task; the sweeper will work the queue")


def wake_drain() -> bool:
    """After an event is stored: queue a drain task unless one is queued and not yet started (one read
    in the common case). True if this call queued it. If queueing fails the flag is put back, so the
    next webhook tries again; the sweeper drains whatever is left meanwhile."""
    from salesbot import tasks

    queued, since = drain_flag()
    now = timezone.now()
    if queued and (
        since is None or (now - since).total_seconds() < recovery.STALE_FLAG_S or not recovery.stale_drain_flag(now)
    ):
        return False
    # not queued, or queued seconds ago with no drain started (its task lost with a killed cluster): queue one
    if not _FLAG_ON.run(now):
        try:
            with transaction.atomic():
                IntakeDrain.objects.create(pk=1, queued=True, changed_at=now)
        except IntegrityError:
            return False  # another request created the row, and queues the drain
    try:
        async_task(tasks.drain_webhooks, group="webhooks", broker=_broker())
    except Exception:
        IntakeDrain.objects.filter(pk=1).update(queued=False, changed_at=timezone.now())
        raise
    return True


# The wake flag's two moves, compiled once (sqlonce): a webhook sets it, a drain task clears it as it starts.
_FLAG_ON = sqlonce.update(
    lambda now: (IntakeDrain.objects.filter(pk=1, queued=False), {"queued": True, "changed_at": now}), datetime
)
_FLAG_OFF = sqlonce.update(
    lambda now: (IntakeDrain.objects.filter(pk=1, queued=True), {"queued": False, "changed_at": now}), datetime
)


def drain_started() -> None:
    """A drain task has started: the next stored event queues a task of its own (see wake_drain)."""
    _FLAG_OFF.run(timezone.now())


def drain_queued() -> bool:
    return drain_flag()[0]


def drain_flag() -> tuple[bool, datetime | None]:
    """The flag and when it last changed, read with plain SQL: this runs on every webhook, and the ORM's
    query building cost more than the query."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT queued, changed_at FROM {IntakeDrain._meta.db_table} WHERE id = 1")
        row = cur.fetchone()
    if not row:
        return False, None
    since = row[1]
    if isinstance(since, str):  # SQLite hands the raw text back
        since = datetime.fromisoformat(since)
    if since is not None and timezone.is_naive(since):
        since = timezone.make_aware(since, UTC)
    return bool(row[0]), since


def replay(event: WebhookEvent) -> None:
    """Staff replay of a failed or stuck event: back to `received`, then the one drain path takes it."""
    WebhookEvent.objects.filter(pk=event.pk).update(status=WebhookEvent.Status.RECEIVED, error="", attempts=0)
    wake_drain()


# --- the fan queue ------------------------------------------------------------------------------


def enqueue(fan: Fan, reason: str, waiting_since=None, not_before=None) -> QueueItem | None:
    """Put the fan in line once; a fan already waiting keeps its place (messages are coalesced).
    `not_before`: not worked before then (a human's hold on the fan, pipeline.account.hold_end); an
    undecided item waiting for a later time is brought forward to the earlier one. A message that comes
    while the pending item holds a decided send (a retry) is never merged into that old answer: the item is
    marked (`followup_since`) and a new item answers the fan once the send is through (worker.work_one)."""
    not_before = not_before or timezone.now()
    for _ in range(3):
        item = _insert_pending(fan, reason, waiting_since or timezone.now(), not_before)
        if item is not None:
            return item
        existing = QueueItem.objects.filter(fan=fan, status=QueueItem.Status.PENDING).first()
        if existing is None:
            continue  # worked or closed meanwhile: try again
        if existing.action_id is not None:
            if reason != QueueItem.Reason.MESSAGE:
                return existing
            marked = QueueItem.objects.filter(pk=existing.pk, status=QueueItem.Status.PENDING).update(
                followup_since=Coalesce("followup_since", Value(waiting_since or timezone.now()))
            )
            if marked:
                return existing
            continue  # claimed meanwhile: the fan gets an item of its own
        if reason == QueueItem.Reason.MESSAGE and existing.reason != reason:
            # The fan wrote while a bump/rekindle waited: answer the fan instead.
            QueueItem.objects.filter(pk=existing.pk, action__isnull=True).update(reason=reason)
        if existing.not_before > not_before:
            # e.g. deferred for a human's hold that has since ended; a send's retry backoff (action set) stays.
            QueueItem.objects.filter(pk=existing.pk, action__isnull=True).update(not_before=not_before)
        return existing
    return QueueItem.objects.filter(fan=fan, status=QueueItem.Status.PENDING).first()


def _insert_pending(fan, reason, waiting_since, not_before) -> QueueItem | None:
    """The fan's new pending item, or None when it already has one (the one_pending_item_per_fan index): one
    INSERT ... ON CONFLICT DO NOTHING, so the common case costs no look-up first and no savepoint."""
    item = QueueItem(
        creator_id=fan.creator_id, fan=fan, reason=reason, waiting_since=waiting_since, not_before=not_before
    )
    return sqlonce.insert(item, ignore_conflicts=True)


def follow_up(item: QueueItem, since=None) -> QueueItem | None:
    """After a decided send's item is closed (sent, or given up): the fan who wrote while it waited for its
    retry gets an item of its own, answering what they wrote (enqueue marked `followup_since`; `since`: that
    mark, when the caller read it already)."""
    if since is None:
        since = QueueItem.objects.filter(pk=item.pk).values_list("followup_since", flat=True).first()
    if since is None:
        return None
    QueueItem.objects.filter(pk=item.pk).update(followup_since=None)
    return enqueue(item.fan, QueueItem.Reason.MESSAGE, waiting_since=since)


def retry_action(action, error) -> QueueItem | None:
    """A person's send (approved draft, console) the platform could not take now: the queue's one retry
    layer resends the same Action, with the same idempotency key, after the platform's wait or a backoff."""
    due = timezone.now() + timedelta(seconds=float(error.retry_after or settings.PLATFORM_BACKOFF_S))
    pending = QueueItem.objects.filter(fan_id=action.fan_id, status=QueueItem.Status.PENDING)
    if not pending.filter(action__isnull=True).update(
        action=action, not_before=due, followup_since=followup_of_taken_item()
    ):
        try:
            with transaction.atomic():
                QueueItem.objects.create(
                    creator_id=action.creator_id,
                    fan_id=action.fan_id,
                    action=action,
                    not_before=due,
                    waiting_since=action.ts,
                )
        except IntegrityError:
            log.warning("fan %s already has a pending send; action %s stays pending", action.fan_id, action.pk)
            return None
    wake_worker(1)
    return pending.first()


def followup_of_taken_item():
    """For an undecided pending item that takes over a decided send: a fan message it was to answer is
    answered after the send (its waiting_since becomes followup_since), never dropped."""
    return Case(
        When(reason=QueueItem.Reason.MESSAGE, then=Coalesce("followup_since", "waiting_since")),
        default=F("followup_since"),
    )


# The claim's statements, compiled once (sqlonce): they run for every reply.
_TAKE_FAN = sqlonce.update(
    lambda pk, now, until: (
        Fan.objects.filter(pk=pk).filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now)),
        {"lease_until": until},
    ),
    int,
    datetime,
    datetime,
)
_RELEASE_FAN = sqlonce.update(lambda pk: (Fan.objects.filter(pk=pk), {"lease_until": None}), int)
_CLAIM = sqlonce.update(
    lambda pk, status, now, by: (
        QueueItem.objects.filter(pk=pk, status=status),
        {"status": QueueItem.Status.WORKING, "claimed_at": now, "claimed_by": by, "attempts": F("attempts") + 1},
    ),
    int,
    str,
    datetime,
    str,
)


def _take_fan(fan_id, now) -> bool:
    return _TAKE_FAN.run(fan_id, now, now + lease()) == 1


def release_fan(fan_id) -> None:
    _RELEASE_FAN.run(fan_id)


def workable(creator=None, now=None):
    now = now or timezone.now()
    return _workable(now, now - lease(), creator.pk if creator is not None else None)


def _workable(now, abandoned_before, creator_id=None):
    abandoned = Q(status=QueueItem.Status.WORKING, claimed_at__lt=abandoned_before)
    qs = (
        QueueItem.objects.filter(not_before__lte=now)
        .filter(Q(status=QueueItem.Status.PENDING) | abandoned)
        .exclude(fan__lease_until__gte=now)
    )
    return qs.filter(creator_id=creator_id) if creator_id is not None else qs


# The most urgent workable items (claim_next), for every creator or one: compiled once each (sqlonce).
_CANDIDATE_FIELDS = ("id", "fan_id", "status", "action_id")
_CANDIDATES = sqlonce.select(
    lambda now, before: _workable(now, before).order_by(*PRIORITY).values_list(*_CANDIDATE_FIELDS)[:20],
    datetime,
    datetime,
)
_CANDIDATES_OF = sqlonce.select(
    lambda now, before, creator_id: (
        _workable(now, before, creator_id).order_by(*PRIORITY).values_list(*_CANDIDATE_FIELDS)[:20]
    ),
    datetime,
    datetime,
    int,
)


_CLAIMED = sqlonce.objects(
    lambda pk: QueueItem.objects.select_related("fan", "creator", "action").filter(pk=pk).order_by(), int
)


class _Candidate:
    __slots__ = ("pk", "fan_id", "status", "action_id")

    def __init__(self, pk, fan_id, status, action_id):
        self.pk, self.fan_id, self.status, self.action_id = pk, fan_id, status, action_id


def next_retry_in(creator=None, within: float = 0.0) -> float | None:
    """Seconds until the next deferred item is due, if that is at most `within` seconds away."""
    if within <= 0:
        return None
    now = timezone.now()
    until = now + timedelta(seconds=within)
    row = _NEXT_DUE.first(now, until) if creator is None else _NEXT_DUE_OF.first(now, until, creator.pk)
    return None if row is None else max((row[0] - now).total_seconds(), 0.0)


def _due(now, until):
    return QueueItem.objects.filter(status=QueueItem.Status.PENDING, not_before__gt=now, not_before__lte=until)


_NEXT_DUE = sqlonce.select(
    lambda now, until: _due(now, until).order_by("not_before").values_list("not_before")[:1], datetime, datetime
)
_NEXT_DUE_OF = sqlonce.select(
    lambda now, until, creator_id: (
        _due(now, until).filter(creator_id=creator_id).order_by("not_before").values_list("not_before")[:1]
    ),
    datetime,
    datetime,
    int,
)


def claim_next(creator=None) -> QueueItem | None:
    """Take the most urgent workable item: pending, or working but abandoned by a dead worker (noticed at
    once on this host: recovery.reclaim_dead; elsewhere at the lease's end)."""
    global _last_reclaim
    now = timezone.now()
    if time.monotonic() - _last_reclaim >= RECLAIM_EVERY_S:
        _last_reclaim = time.monotonic()
        recovery.reclaim_dead(now)
    before = now - lease()
    rows = _CANDIDATES.rows(now, before) if creator is None else _CANDIDATES_OF.rows(now, before, creator.pk)
    for item in (_Candidate(*row) for row in rows):
        with transaction.atomic():  # the lease and the claim commit together: one commit, never one without the other
            if not _take_fan(item.fan_id, now):
                continue
            if _superseded(item, now):
                release_fan(item.fan_id)
                continue
            if _CLAIM.run(item.pk, item.status, now, recovery.worker_id()):
                claimed = _CLAIMED.first(item.pk)
                if claimed is not None:
                    claimed.fan.creator = claimed.creator  # the same row: the rules read it through the fan too
                    return claimed
            release_fan(item.fan_id)
    return None


def _superseded(item, now) -> bool:
    """One fan, one decision, on the latest state: an item a dead worker abandoned before deciding
    anything is closed when the fan has a newer pending item, which answers everything the fan said."""
    if item.status != QueueItem.Status.WORKING or item.action_id is not None:
        return False
    newer = QueueItem.objects.filter(fan_id=item.fan_id, status=QueueItem.Status.PENDING).exclude(pk=item.pk)
    if not newer.exists():
        return False
    QueueItem.objects.filter(pk=item.pk, status=QueueItem.Status.WORKING).update(
        status=QueueItem.Status.DONE, finished_at=now, result="superseded: the fan's newer item answers instead"
    )
    return True
