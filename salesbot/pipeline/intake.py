"""Processing a stored webhook event: the fan's books, outcomes, state, and a place in the queue."""
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import DecimalField, F, Value
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone

from fans.models import Fan, Message
from fans.services import get_or_create_fan
from fans.state_machine import FanState, can_transition, transition
from learning.models import Action, Outcome
from learning.services import record_outcome
from learning.whales import update_whale_score
from salesbot.models import IntakeDrain, QueueItem, WebhookEvent
from salesbot.pipeline import queue
from salesbot.pipeline import webhooks as wh
from salesbot.pipeline.memory import learn_from_message
from salesbot.pipeline.safety import screen_message
from salesbot.pipeline.signals import detect

log = logging.getLogger(__name__)

# Seed §7: a fan's message brings these states back to engaged.
REENGAGE_ON_MESSAGE = {FanState.GREETED, FanState.PITCHED, FanState.DORMANT}


def process_event(event: WebhookEvent, skip_locked: bool = False) -> str:
    """Apply one event exactly once; returns the new status. Safe to call again on a processed event.
    skip_locked: an event another drain is processing right now is left to it ("busy"; PostgreSQL)."""
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update(skip_locked=skip_locked).filter(pk=event.pk).first()
        if event is None:
            return "busy" if skip_locked else "gone"
        if event.status != WebhookEvent.Status.RECEIVED:
            return event.status
        event.attempts += 1
        try:
            env, parsed = wh.parse_body(event.raw_body.encode())
        except wh.WebhookError as e:
            # Kept with its raw body; staff can correct it in admin and replay it.
            event.status, event.error = WebhookEvent.Status.FAILED, str(e)
            event.save(update_fields=["status", "attempts", "error"])
            return event.status
        handler = HANDLERS.get(type(parsed))
        if handler is None:
            event.status = WebhookEvent.Status.IGNORED
        else:
            handler(event.creator, Inbound(env, parsed, event.received_at))
            event.status = WebhookEvent.Status.PROCESSED
        event.processed_at = timezone.now()
        event.save(update_fields=["status", "attempts", "processed_at"])
        return event.status


# --- the stored events are the queue: one drain task works them, woken by a flag ------------------

MAX_ATTEMPTS = 5  # an event that crashed this often is marked failed and waits for staff to replay it
BATCH = 100


def drain(seconds: float = 20.0, older_than=None) -> int:
    """Process stored events (oldest first) until none is left or `seconds` have passed; returns how
    many were processed. A drain task clears the wake flag first (see IntakeDrain); the sweeper's pass
    (`older_than`: only events received before it) leaves the flag and fresh events to the drain task."""
    if older_than is None:
        IntakeDrain.objects.filter(pk=1, queued=True).update(queued=False, changed_at=timezone.now())
    deadline, last_pk, processed = time.monotonic() + seconds, 0, 0
    waiting = WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED, attempts__lt=MAX_ATTEMPTS)
    if older_than is not None:
        waiting = waiting.filter(received_at__lt=older_than)
    while True:
        pks = list(waiting.filter(pk__gt=last_pk).order_by("pk").values_list("pk", flat=True)[:BATCH])
        for pk in pks:
            last_pk = pk
            processed += process_stored(pk) == WebhookEvent.Status.PROCESSED
            if time.monotonic() > deadline:
                if older_than is None:
                    queue.wake_drain()  # a fresh task carries on; this one ends well inside the task timeout
                return processed
        if not pks:
            return processed


def process_stored(pk: int) -> str:
    """One event by primary key; a crash is booked on the event (attempts, error), not raised, so one
    bad event never stops the drain behind it."""
    event = WebhookEvent.objects.filter(pk=pk).first()
    if event is None:
        return "gone"
    try:
        return process_event(event, skip_locked=True)
    except Exception as e:
        log.exception("webhook event %s crashed while processing", pk)
        error = f"{type(e).__name__}: {e}"[:1900]
        WebhookEvent.objects.filter(pk=pk).update(attempts=F("attempts") + 1, error=error)
        # Out of attempts: marked failed, so staff see it among the failed events (admin, /stats) and
        # can replay it, rather than it waiting unseen as "received".
        WebhookEvent.objects.filter(pk=pk, status=WebhookEvent.Status.RECEIVED, attempts__gte=MAX_ATTEMPTS).update(
            status=WebhookEvent.Status.FAILED, error=f"gave up after {MAX_ATTEMPTS} attempts; last error: {error}")
        return "crashed"


@dataclass(frozen=True)
class Inbound:
    """One stored event as the handlers see it: its envelope, its typed event, when it reached us."""
    envelope: wh.Envelope
    event: wh.Event
    arrived_at: datetime

    @property
    def event_id(self) -> str:
        return self.envelope.event_id


# A sender's clock may be off; beyond these bounds its time is not believed (see believable()).
CLOCK_AHEAD = timedelta(minutes=5)
CLOCK_BEHIND = timedelta(days=7)


def believable(claimed: datetime | None, arrived_at: datetime) -> datetime:
    """The time to book an event at: its own time unless it lies in the future or further back than any
    late delivery (a message "sent" on 9999-12-31 would stay the fan's latest forever and make response
    times negative); then the arrival time. Late deliveries within a week keep their own time, so
    attribution and dormancy see when things really happened."""
    if claimed is None or not (arrived_at - CLOCK_BEHIND <= claimed <= arrived_at + CLOCK_AHEAD):
        return arrived_at
    return claimed


def on_message(creator, inbound: Inbound):
    msg: wh.FanMessage = inbound.event
    claimed = msg.sent_at or inbound.envelope.created_at
    ts = believable(claimed, inbound.arrived_at)
    fan, _ = get_or_create_fan(creator, msg.fan.id, msg.fan.name)
    if Message.objects.filter(fan=fan, direction=Message.Direction.IN, platform_message_id=msg.message_id).exists():
        return
    signals = sorted(detect(creator, msg.text))  # read once; the router and safety use these
    Message.objects.create(fan=fan, direction=Message.Direction.IN, text=msg.text, platform_message_id=msg.message_id,
                           ts=ts, claimed_ts=claimed if claimed != ts else None, signals=signals)
    learn_from_message(fan, msg.text, ts)
    Fan.objects.filter(pk=fan.pk).update(messages_received=F("messages_received") + 1, last_interaction_ts=latest(ts))
    fan.refresh_from_db()
    record_outcome(fan, Outcome.Event.REPLIED, ts=ts, platform_event_id=inbound.event_id)
    if fan.state in REENGAGE_ON_MESSAGE:
        transition(fan, FanState.ENGAGED, "fan replies" if fan.state != FanState.DORMANT else "fan re-engages")
    new_signals = set(signals) - set(fan.signals)  # also for a fan handed off below: staff read them
    if new_signals:
        fan.signals = sorted(set(fan.signals) | new_signals)
        fan.save(update_fields=["signals"])
    if screen_message(creator, fan, msg.text):
        return  # handed off, opted out or otherwise not to be contacted: nobody from the bot answers
    update_whale_score(fan)
    queue.enqueue(fan, QueueItem.Reason.MESSAGE, waiting_since=ts)


def on_subscription(creator, inbound: Inbound):
    sub: wh.NewSubscriber = inbound.event
    fan, created = get_or_create_fan(creator, sub.fan.id, sub.fan.name)
    if created or fan.state == FanState.NEW:
        queue.enqueue(fan, QueueItem.Reason.WELCOME,
                      waiting_since=believable(inbound.envelope.created_at, inbound.arrived_at))


def on_purchase(creator, inbound: Inbound):
    buy: wh.Purchase = inbound.event
    ts = believable(inbound.envelope.created_at, inbound.arrived_at)
    fan, _ = get_or_create_fan(creator, buy.fan.id, buy.fan.name)
    ppv = Action.objects.filter(creator=creator, fan=fan, platform_message_id=buy.message_id).first()
    if ppv is None:
        log.warning("purchase of unknown message %s by fan %s: recorded unattributed", buy.message_id, buy.fan.id)
    _add_spend(fan, buy.amount, ts)
    record_outcome(fan, Outcome.Event.PURCHASED, ts=ts, amount=buy.amount, action=ppv, pinned=True,
                   platform_event_id=inbound.event_id)
    fan.refresh_from_db()
    if fan.state != FanState.BUYER and can_transition(fan.state, FanState.BUYER):
        transition(fan, FanState.BUYER, "fan purchases")
    update_whale_score(fan)


def on_tip(creator, inbound: Inbound):
    tip: wh.Tip = inbound.event
    ts = believable(inbound.envelope.created_at, inbound.arrived_at)
    fan, _ = get_or_create_fan(creator, tip.fan.id, tip.fan.name)
    _add_spend(fan, tip.amount, ts)
    record_outcome(fan, Outcome.Event.TIPPED, ts=ts, amount=tip.amount, platform_event_id=inbound.event_id)
    fan.refresh_from_db()
    update_whale_score(fan)


# Fan.total_spent is DECIMAL(10, 2): the running total saturates there instead of failing the event.
MAX_TOTAL_SPENT = Decimal("99999999.99")


def _add_spend(fan: Fan, amount, ts):
    total = Least(F("total_spent") + amount, Value(MAX_TOTAL_SPENT, output_field=DecimalField()))
    Fan.objects.filter(pk=fan.pk).update(total_spent=total, last_interaction_ts=latest(ts))


def latest(ts):
    """A late-delivered old event must not move the fan's last activity backwards."""
    return Greatest(Coalesce("last_interaction_ts", Value(ts)), Value(ts))


HANDLERS = {
    wh.FanMessage: on_message,
    wh.NewSubscriber: on_subscription,
    wh.Purchase: on_purchase,
    wh.Tip: on_tip,
}
