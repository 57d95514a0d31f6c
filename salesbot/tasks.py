"""django-q2 task entry points: thin wrappers, the logic lives in the modules they call. Tasks are
queued only by salesbot.pipeline.queue; each ends inside the cluster's timeout (queue.task_budget_s)."""
import time

from salesbot.inbox import assignment
from salesbot.pipeline import checkers, intake, queue, worker
from salesbot.providers.onlyfansapi import chargebacks


def drain_webhooks() -> int:
    """Process every stored event waiting (see queue.wake_drain) and answer the fans they queued in this
    same task, no second task hop; again while new events come, within the task budget. A fan another
    worker holds is left to it (the lease; worker._wake_if_waiting); what the budget leaves is handed on
    (intake.drain queues a successor drain, worker.drain a queue task)."""
    deadline = time.monotonic() + queue.task_budget_s()
    processed = 0
    while True:
        n = intake.drain(seconds=max(deadline - time.monotonic(), 0.0))
        processed += n
        left = deadline - time.monotonic()
        if left <= 0:
            if queue.workable().exists():
                queue.wake_worker(1)
            return processed
        worked = worker.drain(limit=500, seconds=left)
        if not n and not worked:
            return processed


def work_queue(limit: int = 50) -> int:
    return worker.drain(limit=limit, seconds=queue.task_budget_s())


def pull_chargebacks() -> int:
    return chargebacks.pull_all()


def dormancy_checker() -> int:
    return checkers.mark_dormant()


def bump_checker() -> int:
    n = checkers.enqueue_bumps()
    if n:
        queue.wake_worker(n)
    return n


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
