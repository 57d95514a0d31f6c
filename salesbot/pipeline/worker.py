"""The priority worker of seed §11: highest priority first, one fan never handled by two workers.

Exclusivity comes from a lease on the fan row taken with a conditional UPDATE (a row lock on
PostgreSQL, the database lock on SQLite), so it holds on both back-ends and across machines.
A worker that dies leaves its lease to expire; the item is then claimed again and its pending
Action resent with the same idempotency key, so the fan still gets exactly one message.
"""
import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from fans.models import Fan
from learning.models import Action
from learning.services import set_action_status
from salesbot.pipeline import engine
from salesbot.pipeline import sender
from salesbot.models import LLMCall, QueueItem
from salesbot.pipeline.platform_client import PlatformError

log = logging.getLogger(__name__)

LEASE_S = 180  # covers an LLM call with its retries and a platform send with its own
MAX_ATTEMPTS = 5
# Spent money first, then whale score, then who has waited longest.
PRIORITY = ["-fan__total_spent", "-fan__whale_score", "waiting_since", "id"]


def lease() -> timedelta:
    """How long a worker holds a fan (settings.WORKER_LEASE_S, default LEASE_S); a dead worker's
    fan and item are taken again once it has passed."""
    return timedelta(seconds=float(getattr(settings, "WORKER_LEASE_S", LEASE_S)))


def _lease(fan_id, now) -> bool:
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    return Fan.objects.filter(pk=fan_id).filter(free).update(lease_until=now + lease()) == 1


def _release(fan_id):
    Fan.objects.filter(pk=fan_id).update(lease_until=None)


def workable(creator=None, now=None):
    now = now or timezone.now()
    abandoned = Q(status=QueueItem.Status.WORKING, claimed_at__lt=now - lease())
    qs = (QueueItem.objects.filter(not_before__lte=now)
          .filter(Q(status=QueueItem.Status.PENDING) | abandoned)
          .exclude(fan__lease_until__gte=now))
    return qs.filter(creator=creator) if creator is not None else qs


def claim_next(creator=None) -> QueueItem | None:
    """Take the most urgent workable item: pending, or working but abandoned by a dead worker."""
    now = timezone.now()
    for item in workable(creator, now).order_by(*PRIORITY).only("id", "fan_id", "status")[:20]:
        if not _lease(item.fan_id, now):
            continue
        taken = QueueItem.objects.filter(pk=item.pk, status=item.status).update(
            status=QueueItem.Status.WORKING, claimed_at=now, attempts=F("attempts") + 1)
        if taken:
            return QueueItem.objects.select_related("fan", "creator", "action").get(pk=item.pk)
        _release(item.fan_id)
    return None


def handle(item: QueueItem) -> str:
    """Decide (once) and deliver the item's action; returns a short result for the item row."""
    fan, creator = item.fan, item.creator
    action = item.action
    if action is None:
        last_in = fan.messages.filter(direction="in").order_by("-ts", "-id").first()
        ctx = engine.build_context(creator, fan, reason=item.reason,
                                   last_text=last_in.text if last_in and item.reason == "message" else "")
        decision = engine.decide(ctx)
        waited = (timezone.now() - item.waiting_since).total_seconds()
        action = sender.prepare(creator, fan, decision, response_time_s=round(waited, 3))
        if decision.extra.get("llm_call_id"):
            LLMCall.objects.filter(pk=decision.extra["llm_call_id"]).update(action=action)
        item.action = action
        item.save(update_fields=["action"])
    if action.status == Action.Status.PENDING:
        sender.deliver(action)
    return f"{action.action}: {action.status}" + (f" ({action.error})" if action.error else "")


def work_one(creator=None) -> QueueItem | None:
    item = claim_next(creator)
    if item is None:
        return None
    try:
        item.result = handle(item)[:300]
        item.status, item.finished_at = QueueItem.Status.DONE, timezone.now()
    except PlatformError as e:
        if e.transient and item.attempts < MAX_ATTEMPTS:
            item.status = QueueItem.Status.PENDING if _no_other_pending(item) else QueueItem.Status.FAILED
            item.not_before = timezone.now() + timedelta(seconds=15 * 2 ** item.attempts)
            item.result = f"retrying: {e}"[:300]
            if item.status == QueueItem.Status.FAILED:
                _hand_action_to_pending(item)
        else:
            item.status, item.finished_at = QueueItem.Status.FAILED, timezone.now()
            item.result = f"failed: {e}"[:300]
            if item.action and item.action.status == Action.Status.PENDING:
                set_action_status(item.action, Action.Status.FAILED, only_from=[Action.Status.PENDING],
                                  error=str(e)[:2000])
        log.warning("queue item %s for fan %s: %s", item.pk, item.fan.fan_id, item.result)
    except Exception:
        item.status, item.result = QueueItem.Status.FAILED, "crashed: see logs"
        log.exception("queue item %s crashed", item.pk)
        raise
    finally:
        item.save(update_fields=["status", "finished_at", "result", "not_before"])
        _release(item.fan_id)
        _wake_if_waiting(item)
    return item


def _wake_if_waiting(item):
    """A message that arrived while this fan was leased got a pending item, but its task found the
    fan busy and gave up: queue a task for it now, or it would wait for the sweeper."""
    waiting = (QueueItem.objects.filter(fan_id=item.fan_id, status=QueueItem.Status.PENDING,
                                        not_before__lte=timezone.now()).exclude(pk=item.pk))
    if not waiting.exists():
        return
    try:
        from django_q.tasks import async_task

        async_task("salesbot.tasks.work_queue", 1, group="queue")
    except Exception:  # the item stays pending; the sweeper works it
        log.exception("could not queue work for fan %s's waiting item", item.fan_id)


def _no_other_pending(item) -> bool:
    return not QueueItem.objects.filter(fan_id=item.fan_id, status=QueueItem.Status.PENDING).exclude(pk=item.pk).exists()


def _hand_action_to_pending(item):
    """A newer pending item exists for the fan: it inherits the unsent action instead of deciding anew."""
    QueueItem.objects.filter(fan_id=item.fan_id, status=QueueItem.Status.PENDING, action__isnull=True).update(
        action=item.action)


def drain(creator=None, limit=500) -> int:
    """Work items until none is workable (or `limit`); returns how many were worked."""
    done = 0
    while done < limit and work_one(creator) is not None:
        done += 1
    return done
