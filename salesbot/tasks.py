"""django-q2 task entry points: thin wrappers, the logic lives in the modules they call. Tasks are
queued only by salesbot.pipeline.queue; each ends inside the cluster's timeout (queue.task_budget_s)."""

import logging
import threading
import time

from django.db import close_old_connections, connection

from salesbot.campaigns import sending
from salesbot.inbox import assignment
from salesbot.pipeline import batches, checkers, intake, queue, worker
from salesbot.providers.onlyfansapi import chargebacks

log = logging.getLogger(__name__)


def drain_webhooks() -> int:
    """Process every stored event waiting (see queue.wake_drain) and answer the fans they queued in this
    same task, no second task hop; again while new events come, within the task budget. A fan another
    worker holds is left to it (the lease; worker._after_item); what the budget leaves is handed on
    (intake.drain queues a successor drain, worker.drain a queue task)."""
    deadline = time.monotonic() + queue.task_budget_s()
    processed, rounds = 0, 0
    while True:
        # The wake flag is cleared once, as the task starts: whoever sets it again queues a task of its own.
        n = intake.drain(seconds=max(deadline - time.monotonic(), 0.0), clear_flag=not rounds)
        processed += n
        rounds += 1
        left = deadline - time.monotonic()
        if left <= 0:
            if queue.workable().exists():
                queue.wake_worker(1)
            return processed
        if rounds > 1 and not n:
            return processed  # the queue was worked empty just before, and no new event queued more
        worker.drain(limit=500, seconds=left)


def work_queue(limit: int = 50) -> int:
    return worker.drain(limit=limit, seconds=queue.task_budget_s())


def send_campaigns() -> int:
    return sending.send_due()


def pull_chargebacks() -> int:
    return chargebacks.pull_all()


def dormancy_checker() -> int:
    return checkers.mark_dormant()


def bump_checker() -> int:
    n = checkers.enqueue_bumps()
    if n:
        queue.wake_worker(n)
    return n


def llm_batches() -> dict:
    """Follow-ups the model writes in batches (salesbot.pipeline.batches): results in, queued requests out."""
    return batches.run()


def check_experiments() -> int:
    """Stop holdout experiments whose guardrail is breached (learning.experiments.enforce_guardrails)."""
    from learning import experiments

    return experiments.check_all()


def refresh_stats() -> int:
    return checkers.refresh_all_stats()


def sweeper() -> dict:
    """Recover work a lost or skipped task left behind: stored events still waiting after a few
    seconds (processed here), and unworked queue items. Half the budget each."""
    half = queue.task_budget_s() / 2
    events = checkers.drain_stuck_events(seconds=half)
    worked = worker.drain(limit=200, seconds=half)
    return {"events_processed": events, "queue_worked": worked}


def assign_waiting() -> int:
    """Route fans who need a person and wait unassigned to the chatters on duty."""
    return assignment.assign_waiting()


_ticker: threading.Thread | None = None


def start_recovery_ticker(**_) -> None:
    """In a qcluster worker process (django-q2's post_spawn): checkers.recover every second in a daemon
    thread, so a crash or an outage's end is answered within seconds, not at the sweeper's minute."""
    global _ticker
    if _ticker is not None and _ticker.is_alive():
        return
    _ticker = threading.Thread(target=_tick_forever, name="salesbot-recovery", daemon=True)
    _ticker.start()


def _tick_forever():
    while True:
        time.sleep(checkers.TICK_S)
        try:
            close_old_connections()
            checkers.recover()
        except Exception:
            log.exception("recovery tick failed; trying again in a second")
            try:
                connection.close()
            except Exception:
                log.debug("closing the ticker's connection failed", exc_info=True)
