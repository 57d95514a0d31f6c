"""django-q2 task entry points: thin wrappers, the logic lives in the modules they call."""
import logging

from django_q.conf import Conf
from django_q.tasks import async_task
from salesbot.pipeline import checkers
from salesbot.pipeline import intake
from salesbot.pipeline import worker
from salesbot.models import WebhookEvent

log = logging.getLogger(__name__)


def process_webhook(event_pk: int) -> str:
    event = WebhookEvent.objects.filter(pk=event_pk).first()
    if event is None:
        return "gone"
    try:
        status = intake.process_event(event)
    except Exception as e:
        WebhookEvent.objects.filter(pk=event_pk).update(error=f"{type(e).__name__}: {e}"[:2000])
        raise
    if status == WebhookEvent.Status.PROCESSED:
        async_task("salesbot.tasks.work_queue", 1, group="queue")
    return status


def budget() -> float:
    """Seconds a draining task may work: well inside the cluster's task timeout, so it is never killed
    mid-batch (a drain that runs out queues its successor)."""
    return min(20.0, (Conf.TIMEOUT or 60) / 3)


def drain_webhooks() -> int:
    """Process every stored event waiting (see intake.wake_drain), then wake the queue worker once."""
    processed = intake.drain(seconds=budget())
    if processed:
        async_task("salesbot.tasks.work_queue", processed, group="queue")
    return processed


def work_queue(limit: int = 50) -> int:
    return worker.drain(limit=limit)


def dormancy_checker() -> int:
    return checkers.mark_dormant()


def bump_checker() -> int:
    n = checkers.enqueue_bumps()
    if n:
        async_task("salesbot.tasks.work_queue", n, group="queue")
    return n


def refresh_stats() -> int:
    return checkers.refresh_all_stats()


def sweeper() -> dict:
    """Recover work a lost or skipped task left behind: stored events still waiting after a few
    seconds (processed here), and unworked queue items."""
    events = checkers.drain_stuck_events(seconds=budget())
    worked = worker.drain(limit=200)
    return {"events_processed": events, "queue_worked": worked}
