"""The priority worker: the most urgent fan first, one fan never handled by two workers
(docs/architecture.md#the-queue-and-the-background-checks).

A claimed item is first checked against the contact rule: a fan nobody may write to is closed with the
reason before any decision or model call. Then the fan's mode (salesbot.pipeline.autonomy): `off` closes the
item undecided, `approve` turns the decision into a draft a person approves (salesbot.pipeline.drafts).
A worker that dies leaves its lease to expire; the item is then
claimed again and its pending Action resent with the same idempotency key, so the fan still gets exactly
one message.
A bump, rekindle or re-engage item may be held for the model's next batch (salesbot.pipeline.batches); its result
comes back as an item of the same kind, decided from that result.
"""

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

import sqlonce
from fans.models import Message
from learning.models import Action
from learning.services import set_action_status
from salesbot import metrics
from salesbot.models import Draft, LLMCall, QueueItem
from salesbot.pipeline import (
    account,
    account_health,
    autonomy,
    batches,
    drafts,
    engine,
    pacing,
    presence,
    queue,
    sender,
)
from salesbot.pipeline.contact import contact_block
from salesbot.providers.base import PlatformError, TransientError
from team.models import Autonomy

log = logging.getLogger(__name__)

# A retry due this soon is waited for inside the draining task (if its budget allows) rather than left
# to the next wake-up or the sweeper.
SHORT_WAIT_S = 2.0


# Items that wait out a human's hold on the fan (pipeline.account) instead of being closed by it; a bump or
# rekindle is closed (the checkers queue it again if it is still due).
WAIT_OUT_HOLD = {QueueItem.Reason.MESSAGE, QueueItem.Reason.WELCOME, QueueItem.Reason.EXPIRED}


class SendLater(Exception):
    """The item's send is decided and waits for its time (the creator's reply delay, pipeline.pacing)."""

    def __init__(self, until):
        self.until = until
        super().__init__(f"sends at {until:%H:%M:%S}")


class Deferred(Exception):
    """The item cannot be worked yet, only later: it goes back to the queue until `until`."""

    def __init__(self, until, why: str):
        self.until, self.why = until, why
        super().__init__(why)


# The item's own writes and the read after it, compiled once (sqlonce): they run for every reply.
_SET_ACTION = sqlonce.update(
    lambda pk, action_id: (QueueItem.objects.filter(pk=pk), {"action_id": action_id}), int, int
)
_CLOSE = sqlonce.update(
    lambda pk, status, finished_at, result, not_before: (
        QueueItem.objects.filter(pk=pk),
        {"status": status, "finished_at": finished_at, "result": result, "not_before": not_before},
    ),
    int,
    str,
    datetime,
    str,
    datetime,
)
_LAST_IN = sqlonce.objects(
    lambda fan_id: Message.objects.filter(fan_id=fan_id, direction=Message.Direction.IN).order_by("-id")[:1], int
)
_AFTER = sqlonce.select(
    lambda fan_id, pk, now: (
        QueueItem.objects.filter(fan_id=fan_id)
        .filter(Q(pk=pk) | Q(status=QueueItem.Status.PENDING, not_before__lte=now))
        .order_by()
        .values_list("pk", "followup_since")
    ),
    int,
    int,
    datetime,
)


def handle(item: QueueItem) -> str:
    """Decide (once) and deliver the item's action; returns a short result for the item row."""
    fan, creator = item.fan, item.creator
    action = item.action
    paused = account_health.paused(creator, fresh=False)  # read with the item by queue.claim_next
    if paused:  # every send would fail while the account's session is dead: queued, not failed
        raise Deferred(account_health.paused_until(), paused)
    if action is None and item.reason == QueueItem.Reason.MESSAGE:
        typing = presence.typing_wait(fan, item.waiting_since)
        if typing is not None:  # the fan is still typing: answer the whole thought, not half of it
            raise Deferred(min(typing, timezone.now() + timedelta(seconds=SHORT_WAIT_S)), "the fan is typing")
    if action is None:
        ready, dropped = batches.take_ready(item)  # a follow-up the model wrote in a batch (pipeline.batches)
        if dropped:
            return dropped
        blocked = contact_block(creator, fan)
        if blocked:
            held_until = account.hold_end(creator, fan) if item.reason in WAIT_OUT_HOLD else None
            if held_until is not None:
                raise Deferred(held_until, blocked)
            return f"blocked: {blocked}"
        mode = autonomy.mode(creator, fan)
        if mode == Autonomy.OFF:
            return "blocked: mode off: people write to this fan (console)"
        last_in = None
        if item.reason == QueueItem.Reason.MESSAGE:
            # The latest message by arrival: a message's own clock can be wrong (see intake.message_time).
            last_in = _LAST_IN.first(fan.pk)
            if last_in is not None:
                last_in.fan = fan
        if fan.human_hold_until is not None and account.answered_by_human(
            fan, since_message=last_in, since=None if last_in else item.enqueued_at
        ):
            return "closed: a human wrote to the fan since (left to the human)"
        ctx = engine.build_context(creator, fan, reason=item.reason, message=last_in)
        if ready is not None:
            decision = batches.decide(ctx, ready)
        else:
            decision = engine.decide(ctx)
            held = batches.hold(item, ctx, decision)  # the model writes it in the next batch instead
            if held:
                return held
        waited = (timezone.now() - item.waiting_since).total_seconds()
        if mode == Autonomy.APPROVE and decision.action != Action.Kind.SKIP:
            proposed = drafts.propose(creator, fan, decision, item.waiting_since)
            if isinstance(proposed, Draft):
                return f"drafted {decision.action}: waits for a person (draft {proposed.pk})"
            return f"{proposed.action}: {proposed.status} ({proposed.error})"
        with transaction.atomic():  # the action and the item that holds it commit together (one commit)
            action = sender.prepare(creator, fan, decision, response_time_s=round(waited, 3))
            if decision.extra.get("llm_call_id"):
                LLMCall.objects.filter(pk=decision.extra["llm_call_id"]).update(action=action)
            batches.link(decision, action)
            item.action = action
            _SET_ACTION.run(item.pk, action.pk)
        if (
            item.reason == QueueItem.Reason.MESSAGE
            and action.status == Action.Status.PENDING
            and pacing.delayed(creator)
        ):
            raise SendLater(pacing.typing_then_send_at(creator, fan))
    if action.status == Action.Status.PENDING:
        sender.deliver(action)
    return f"{action.action}: {action.status}" + (f" ({action.error})" if action.error else "")


def work_one(creator=None) -> QueueItem | None:
    item = queue.claim_next(creator)
    if item is None:
        return None
    try:
        item.result = handle(item)[:300]
        item.status, item.finished_at = QueueItem.Status.DONE, timezone.now()
    except Deferred as d:
        _defer(item, d)
    except SendLater as later:
        _send_later(item, later.until)
    except PlatformError as e:
        _after_failed_send(item, e)
    except Exception:
        item.status, item.result = QueueItem.Status.FAILED, "crashed: see logs"
        log.exception("queue item %s crashed", item.pk)
        raise
    finally:
        with transaction.atomic():  # one commit closes the item and frees the fan
            _CLOSE.run(item.pk, item.status, item.finished_at, item.result, item.not_before)
            queue.release_fan(item.fan_id)
        _after_item(item)
    return item


def _after_item(item):
    """What closing the item leaves, in one read: a fan who wrote while its decided send waited gets an item
    of its own (queue.follow_up), and a message that arrived while the fan was leased got a pending item
    whose task found the fan busy and gave up: a task is queued for it now, or it would wait for the sweeper."""
    rows = dict(_AFTER.rows(item.fan_id, item.pk, timezone.now()))
    since = rows.pop(item.pk, None)
    followed = None
    if item.status != QueueItem.Status.PENDING and item.action_id is not None and since is not None:
        followed = queue.follow_up(item, since=since)
    if rows or followed is not None:
        queue.wake_worker(1)


def _after_failed_send(item: QueueItem, e: PlatformError) -> None:
    """The one retry layer for platform sends: a transient failure defers the item (the platform's
    Retry-After, else exponential backoff) instead of holding the task; the same Action is resent with
    the same idempotency key. A permanent failure, or too many attempts, fails the Action, except one whose
    outcome is unknown (it may have gone out): that stays pending, its `messages.sent` echo or a later
    replay of its key settles it (sender.settle_unknown)."""
    unknown = getattr(e, "outcome_unknown", False)  # marked on the Action by sender.deliver
    metrics.bump("provider_errors", metrics.provider_error_kind(e))
    if e.transient and item.attempts < settings.SEND_MAX_ATTEMPTS:
        backoff = settings.PLATFORM_BACKOFF_S * 4 ** (item.attempts - 1)
        if unknown:  # the first request may still be running at the provider: give it time to finish
            first = settings.PLATFORM_UNKNOWN_RETRY_S or settings.PLATFORM_BACKOFF_S * 10
            backoff = max(backoff, first * 2 ** (item.attempts - 1))
        asked = e.retry_after if isinstance(e, TransientError) else None  # every transient error is one
        wait = asked if asked is not None else min(backoff, 300.0)
        item.status = QueueItem.Status.PENDING if _no_other_pending(item) else QueueItem.Status.FAILED
        item.not_before = timezone.now() + timedelta(seconds=float(wait))
        item.result = f"retrying: {e}"[:300]
        if item.status == QueueItem.Status.FAILED:
            _hand_action_to_pending(item)
    elif unknown:
        item.status, item.finished_at = QueueItem.Status.FAILED, timezone.now()
        item.result = f"outcome unknown after {item.attempts} attempts (left pending for its echo): {e}"[:300]
    else:
        item.status, item.finished_at = QueueItem.Status.FAILED, timezone.now()
        item.result = f"failed: {e}"[:300]
        if item.action and item.action.status == Action.Status.PENDING:
            set_action_status(item.action, Action.Status.FAILED, only_from=[Action.Status.PENDING], error=str(e)[:2000])
    log.warning("queue item %s for fan %s: %s", item.pk, item.fan.fan_id, item.result)


def _send_later(item: QueueItem, until) -> None:
    """The decided send waits for its time in the queue; a newer item of the fan takes it over (and answers
    what the fan wrote since after it)."""
    if _no_other_pending(item):
        item.status, item.not_before, item.result = QueueItem.Status.PENDING, until, f"typing: sends at {until}"
    else:
        _hand_action_to_pending(item)
        item.status, item.finished_at = QueueItem.Status.DONE, timezone.now()
        item.result = "its send went to the fan's newer item"


def _defer(item: QueueItem, d: Deferred) -> None:
    """Back in line until `d.until` (nothing was decided); a newer pending item of the fan answers instead."""
    if _no_other_pending(item):
        item.status, item.not_before = QueueItem.Status.PENDING, d.until
        item.result = f"waiting: {d.why}"[:300]
    else:
        item.status, item.finished_at = QueueItem.Status.DONE, timezone.now()
        item.result = "superseded: the fan's newer item answers instead"


def _no_other_pending(item) -> bool:
    others = QueueItem.objects.filter(fan_id=item.fan_id, status=QueueItem.Status.PENDING).exclude(pk=item.pk)
    return not others.exists()


def _hand_action_to_pending(item):
    """A newer pending item exists for the fan: it inherits the unsent action instead of deciding anew."""
    QueueItem.objects.filter(fan_id=item.fan_id, status=QueueItem.Status.PENDING, action__isnull=True).update(
        action=item.action, followup_since=queue.followup_of_taken_item()
    )


def drain(creator=None, limit=500, seconds: float | None = None) -> int:
    """Work items until none is workable, `limit` are done or `seconds` have passed (the first item is
    always worked; a retry due within SHORT_WAIT_S is waited for; a task whose budget runs out wakes its
    successor); returns how many items were finished."""
    deadline = None if seconds is None else time.monotonic() + seconds
    done = 0
    started = False
    while done < limit and (deadline is None or not started or time.monotonic() < deadline):
        item = work_one(creator)
        if item is not None:
            started = True
            done += item.status != QueueItem.Status.PENDING  # a deferred retry is not done yet
            continue
        left = SHORT_WAIT_S if deadline is None else min(SHORT_WAIT_S, deadline - time.monotonic())
        wait = queue.next_retry_in(creator, within=left)
        if wait is None:
            return done
        time.sleep(wait)
    if queue.workable(creator).exists():
        queue.wake_worker(1)
    return done
