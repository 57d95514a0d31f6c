"""Processing a stored webhook event: the fan's books, outcomes, state, and a place in the queue."""

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

import sqlonce
from fans.models import Fan, Message
from fans.services import get_or_create_fan
from fans.state_machine import FanState, transition
from learning.models import Outcome
from learning.services import record_outcome
from learning.whales import update_whale_score
from models_registry.models import Creator
from salesbot import providers
from salesbot.models import QueueItem, WebhookEvent
from salesbot.pipeline import account, account_health, books, pacing, queue, subscriptions
from salesbot.pipeline import events as wh
from salesbot.pipeline.cues import detect
from salesbot.pipeline.inbound import Inbound, believable, latest  # noqa: F401  (also used from here by tests)
from salesbot.pipeline.memory import learn_from_message
from salesbot.pipeline.safety import screen_message

log = logging.getLogger(__name__)

# A fan's message brings these states back to engaged (docs/architecture.md#the-fans-states).
REENGAGE_ON_MESSAGE = {FanState.GREETED, FanState.PITCHED, FanState.DORMANT}


def process_event(event: WebhookEvent) -> str:
    """Apply one stored event exactly once; returns the new status. Safe to call again on a processed event
    (staff replays and tests call it; drains take events with process_next)."""
    with transaction.atomic():
        event = _locking(WebhookEvent.objects, skip_locked=False).filter(pk=event.pk).first()
        if event is None:
            return "gone"
        return _apply(event)


def _locking(events, skip_locked: bool):
    """The events, each row locked as it is read (PostgreSQL; SQLite's IMMEDIATE transaction locks it all)."""
    return events.select_for_update(skip_locked=skip_locked, of=("self",)).select_related("creator")


def _apply(event: WebhookEvent) -> str:
    """The event's effects, inside the caller's transaction that holds its row."""
    if event.status != WebhookEvent.Status.RECEIVED:
        return event.status
    event.attempts += 1
    creator = event.creator
    assert creator is not None, "a stored event to apply has its creator"  # those without are stored failed
    try:
        provider = providers.get(creator.provider)
        env, parsed = provider.parse_stored(event.raw_body.encode(), event.event_id)
    except wh.WebhookError as e:
        # Kept with its raw body; staff can correct it in admin and replay it.
        event.status, event.error = WebhookEvent.Status.FAILED, str(e)
        event.save(update_fields=["status", "attempts", "error"])
        return event.status
    handler = HANDLERS.get(type(parsed))
    if handler is None:
        event.status = WebhookEvent.Status.IGNORED
    else:
        try:
            with transaction.atomic():
                handler(creator, Inbound(env, parsed, event.received_at))
        except wh.WebhookError as e:  # the event cannot apply (yet): kept as failed with why, replayable
            event.status, event.error = WebhookEvent.Status.FAILED, str(e)
            event.save(update_fields=["status", "attempts", "error"])
            return event.status
        event.status = WebhookEvent.Status.PROCESSED
    event.processed_at = timezone.now()
    _APPLIED.run(event.pk, event.status, event.attempts, event.processed_at)
    return event.status


_APPLIED = sqlonce.update(  # every event ends here (sqlonce: compiled once)
    lambda pk, status, attempts, at: (
        WebhookEvent.objects.filter(pk=pk),
        {"status": status, "attempts": attempts, "processed_at": at},
    ),
    int,
    str,
    int,
    datetime,
)


# --- the stored events are the queue: one drain task works them, woken by a flag ------------------

MAX_ATTEMPTS = 5  # an event that crashed this often is marked failed and waits for staff to replay it


def drain(seconds: float = 20.0, older_than=None, clear_flag: bool = True) -> int:
    """Process stored events (oldest first) until none is left or `seconds` have passed; returns how
    many were processed. A drain task clears the wake flag first (see IntakeDrain); the sweeper's pass
    (`older_than`: only events received before it) leaves the flag and fresh events to the drain task."""
    if older_than is None and clear_flag:
        queue.drain_started()
    deadline, last_pk, processed = time.monotonic() + seconds, 0, 0
    waiting = None if older_than is None else _waiting().filter(received_at__lt=older_than)
    while True:
        got = process_next(waiting, after_pk=last_pk)
        if got is None:
            return processed
        last_pk, status = got
        processed += status == WebhookEvent.Status.PROCESSED
        if time.monotonic() > deadline:
            if older_than is None:
                queue.wake_drain()  # a fresh task carries on; this one ends well inside the task timeout
            return processed


def _waiting():
    return WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED, attempts__lt=MAX_ATTEMPTS)


# The drain's next event (every event is read through it: sqlonce, compiled once).
_NEXT = sqlonce.objects(
    lambda after: _locking(_waiting(), skip_locked=True).filter(pk__gt=after).order_by("pk")[:1], int
)


def process_next(waiting=None, after_pk: int = 0) -> tuple[int, str] | None:
    """Take the oldest of the `waiting` events (None: every waiting one) after `after_pk` that no other drain
    holds, and apply it: (its pk, its new status), or None when none is left. One query finds and locks it
    (SKIP LOCKED), so drains working side by side never spend a query on each other's events. A crash is booked
    on the event (_book_crash), not raised, so one bad event never stops the drain behind it."""
    pk = None
    try:
        with transaction.atomic():
            if waiting is None:
                event = _NEXT.first(after_pk)
            else:
                event = _locking(waiting, skip_locked=True).filter(pk__gt=after_pk).order_by("pk").first()
            if event is None:
                return None
            pk = event.pk
            return pk, _apply(event)
    except Exception as e:
        if pk is None:
            raise
        _book_crash(pk, e)
        return pk, "crashed"


def _book_crash(pk: int, e: Exception) -> None:
    """The crash counts as an attempt, with its error; out of attempts, the event is marked failed."""
    log.exception("webhook event %s crashed while processing", pk)
    error = f"{type(e).__name__}: {e}"[:1900]
    WebhookEvent.objects.filter(pk=pk).update(attempts=F("attempts") + 1, error=error)
    # Out of attempts: marked failed, so staff see it among the failed events (admin, /stats) and
    # can replay it, rather than it waiting unseen as "received".
    WebhookEvent.objects.filter(pk=pk, status=WebhookEvent.Status.RECEIVED, attempts__gte=MAX_ATTEMPTS).update(
        status=WebhookEvent.Status.FAILED, error=f"gave up after {MAX_ATTEMPTS} attempts; last error: {error}"
    )


# A fan message's statements, compiled once (sqlonce): they run for every message.
_SEEN = sqlonce.select(
    lambda fan_id, message_id: (
        Message.objects.filter(fan_id=fan_id, direction=Message.Direction.IN, platform_message_id=message_id)
        .order_by()
        .values_list("id")[:1]
    ),
    int,
    int,
)
_COUNT_IN = sqlonce.update(
    lambda pk, ts: (
        Fan.objects.filter(pk=pk),
        {
            "messages_received": F("messages_received") + 1,
            "last_interaction_ts": latest(ts),
            "event_seq": F("event_seq") + 1,
        },
    ),
    int,
    datetime,
)


def on_message(creator: Creator, inbound: Inbound[wh.FanMessage]):
    msg = inbound.event
    claimed = msg.sent_at or inbound.envelope.created_at
    ts = believable(claimed, inbound.arrived_at)
    # Locked until the event's transaction ends: the fan read here stays the fan written below.
    fan, _ = get_or_create_fan(creator, msg.fan.id, msg.fan.name, lock=True)
    if _SEEN.first(fan.pk, msg.message_id):
        return
    signals = sorted(detect(creator, msg.text))  # read once; the router and safety use these
    sqlonce.insert(
        Message(
            fan=fan,
            direction=Message.Direction.IN,
            text=msg.text,
            platform_message_id=msg.message_id,
            ts=ts,
            claimed_ts=claimed if claimed != ts else None,
            signals=signals,
        )
    )
    learn_from_message(fan, msg.text, ts)
    (seq,) = _COUNT_IN.returning("event_seq", fan.pk, ts)  # the outcome's arrival number, in the same statement
    fan.messages_received += 1
    fan.last_interaction_ts = max(fan.last_interaction_ts or ts, ts)
    fan.event_seq = seq
    record_outcome(fan, Outcome.Event.REPLIED, ts=ts, platform_event_id=inbound.event_id, seq=seq)
    if fan.state in REENGAGE_ON_MESSAGE:
        transition(fan, FanState.ENGAGED, "fan replies" if fan.state != FanState.DORMANT else "fan re-engages")
    new_signals = set(signals) - set(fan.signals)  # also for a fan handed off below: staff read them
    if new_signals:
        fan.signals = sorted(set(fan.signals) | new_signals)
        fan.save(update_fields=["signals"])
    held_until = None
    if screen_message(creator, fan, msg.text):
        held_until = account.hold_end(creator, fan)
        if held_until is None:
            return  # handed off, opted out or otherwise not to be contacted: nobody from the bot answers
        # Only a human's hold: the message waits for its end, when the worker asks the contact rule again.
    update_whale_score(fan)
    queue.enqueue(fan, QueueItem.Reason.MESSAGE, waiting_since=ts, not_before=held_until or pacing.decide_at(creator))


# By the event's type. Each handler takes Inbound[that type]: Any here, since a dict cannot tie key to value.
HANDLERS: dict[type, Callable[[Creator, Inbound[Any]], object]] = {
    wh.FanMessage: on_message,
    wh.NewSubscriber: subscriptions.on_subscription,
    wh.Renewal: subscriptions.on_renewal,
    wh.Expiry: subscriptions.on_expiry,
    wh.Purchase: books.on_purchase,
    wh.Tip: books.on_tip,
    wh.Reversal: books.on_reversal,
    wh.SentByAccount: account.on_sent_by_account,
    wh.AccountState: account_health.on_account_state,
}
