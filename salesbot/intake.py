"""Processing a stored webhook event: the fan's books, outcomes, state, and a place in the queue."""
import logging
import time
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import DateTimeField, DecimalField, F, Value
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone

from fans.models import Fan, Message
from fans.services import get_or_create_fan
from fans.state_machine import FanState, can_transition, transition
from learning.models import Action, Outcome
from learning.services import record_outcome
from salesbot import webhooks as wh
from salesbot.fan_signals import detect
from salesbot.safety import screen_message
from salesbot.whales import update_whale_score
from salesbot.models import IntakeDrain, QueueItem, WebhookEvent

log = logging.getLogger(__name__)

# Seed §7: a fan's message brings these states back to engaged.
REENGAGE_ON_MESSAGE = {FanState.GREETED, FanState.PITCHED, FanState.DORMANT}


def enqueue(fan: Fan, reason: str, waiting_since=None) -> QueueItem | None:
    """Put the fan in line once; a fan already waiting keeps its place (messages are coalesced)."""
    existing = QueueItem.objects.filter(fan=fan, status=QueueItem.Status.PENDING).first()
    if existing:
        if reason == QueueItem.Reason.MESSAGE and existing.reason != reason and existing.action_id is None:
            # The fan wrote while a bump/rekindle waited: answer the fan instead.
            QueueItem.objects.filter(pk=existing.pk).update(reason=reason)
        return existing
    try:
        with transaction.atomic():
            return QueueItem.objects.create(creator_id=fan.creator_id, fan=fan, reason=reason,
                                            waiting_since=waiting_since or timezone.now())
    except IntegrityError:
        return QueueItem.objects.filter(fan=fan, status=QueueItem.Status.PENDING).first()


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
            env = wh.parse_envelope(wh.parse_json(event.raw_body.encode()))
            wh.validate_payload(env)
        except wh.WebhookError as e:
            # Kept with its raw body; staff can correct it in admin and replay it.
            event.status, event.error = WebhookEvent.Status.FAILED, str(e)
            event.save(update_fields=["status", "attempts", "error"])
            return event.status
        handler = HANDLERS.get(env.event)
        if handler is None:
            event.status = WebhookEvent.Status.IGNORED
        else:
            handler(event.creator, env)
            event.status = WebhookEvent.Status.PROCESSED
        event.processed_at = timezone.now()
        event.save(update_fields=["status", "attempts", "processed_at"])
        return event.status


# --- the stored events are the queue: one drain task works them, woken by a flag ------------------

MAX_ATTEMPTS = 5  # an event that crashed this often is marked failed and waits for staff to replay it
BATCH = 100


def wake_drain() -> bool:
    """After an event is stored: queue a drain task unless one is queued and not yet started (one read
    in the common case). True if this call queued it. If queueing fails the flag is put back, so the
    next webhook tries again; the sweeper drains whatever is left meanwhile."""
    if drain_queued():
        return False
    now = timezone.now()
    if not IntakeDrain.objects.filter(pk=1, queued=False).update(queued=True, changed_at=now):
        try:
            with transaction.atomic():
                IntakeDrain.objects.create(pk=1, queued=True, changed_at=now)
        except IntegrityError:
            return False  # another request created the row, and queues the drain
    try:
        from django_q.tasks import async_task

        async_task("salesbot.tasks.drain_webhooks", group="webhooks")
    except Exception:
        IntakeDrain.objects.filter(pk=1).update(queued=False, changed_at=timezone.now())
        raise
    return True


def drain_queued() -> bool:
    """The flag, read with plain SQL: this runs on every webhook, and the ORM's query building cost
    more than the query."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT queued FROM {IntakeDrain._meta.db_table} WHERE id = 1")
        row = cur.fetchone()
    return bool(row and row[0])


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
                    wake_drain()  # a fresh task carries on; this one ends well inside the task timeout
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


def replay(event: WebhookEvent) -> None:
    """Staff replay of a failed or stuck event: processed again from its (possibly corrected) raw body."""
    from django_q.tasks import async_task

    WebhookEvent.objects.filter(pk=event.pk).update(status=WebhookEvent.Status.RECEIVED, error="", attempts=0)
    async_task("salesbot.tasks.process_webhook", event.pk, group="webhooks")


def on_message(creator, env: wh.Envelope):
    ref = wh.parse_fan(env.payload)
    msg_id, text, ts = wh.message_fields(env)
    fan, _ = get_or_create_fan(creator, ref.id, ref.name)
    if Message.objects.filter(fan=fan, direction=Message.Direction.IN, platform_message_id=msg_id).exists():
        return
    Message.objects.create(fan=fan, direction=Message.Direction.IN, text=text, platform_message_id=msg_id, ts=ts)
    Fan.objects.filter(pk=fan.pk).update(messages_received=F("messages_received") + 1, last_interaction_ts=latest(ts))
    fan.refresh_from_db()
    record_outcome(fan, Outcome.Event.REPLIED, ts=ts, platform_event_id=env.event_id)
    if fan.state in REENGAGE_ON_MESSAGE:
        transition(fan, FanState.ENGAGED, "fan replies" if fan.state != FanState.DORMANT else "fan re-engages")
    new_signals = detect(creator, text) - set(fan.signals)  # also for a fan handed off below: staff read them
    if new_signals:
        fan.signals = sorted(set(fan.signals) | new_signals)
        fan.save(update_fields=["signals"])
    if screen_message(creator, fan, text):
        return  # handed off or opted out: nobody from the bot answers
    update_whale_score(fan)
    enqueue(fan, QueueItem.Reason.MESSAGE, waiting_since=ts)


def on_subscription(creator, env: wh.Envelope):
    ref = wh.parse_fan(env.payload)
    fan, created = get_or_create_fan(creator, ref.id, ref.name)
    if created or fan.state == FanState.NEW:
        enqueue(fan, QueueItem.Reason.WELCOME, waiting_since=env.created_at)


def on_purchase(creator, env: wh.Envelope):
    ref = wh.parse_fan(env.payload)
    amount, message_id = wh.amount(env), wh.unlocked_message_id(env)
    fan, _ = get_or_create_fan(creator, ref.id, ref.name)
    ppv = Action.objects.filter(creator=creator, fan=fan, platform_message_id=message_id).first()
    if ppv is None:
        log.warning("purchase of unknown message %s by fan %s: recorded unattributed", message_id, ref.id)
    _add_spend(fan, amount, env.created_at)
    record_outcome(fan, Outcome.Event.PURCHASED, ts=env.created_at, amount=amount, action=ppv, pinned=True,
                   platform_event_id=env.event_id)
    fan.refresh_from_db()
    if fan.state != FanState.BUYER and can_transition(fan.state, FanState.BUYER):
        transition(fan, FanState.BUYER, "fan purchases")
    update_whale_score(fan)


def on_tip(creator, env: wh.Envelope):
    ref = wh.parse_fan(env.payload)
    amount = wh.amount(env)
    fan, _ = get_or_create_fan(creator, ref.id, ref.name)
    _add_spend(fan, amount, env.created_at)
    record_outcome(fan, Outcome.Event.TIPPED, ts=env.created_at, amount=amount, platform_event_id=env.event_id)
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
    wh.MESSAGE_RECEIVED: on_message,
    wh.SUBSCRIPTION_NEW: on_subscription,
    wh.PPV_UNLOCKED: on_purchase,
    wh.TIP_RECEIVED: on_tip,
}
