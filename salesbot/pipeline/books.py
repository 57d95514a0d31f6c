"""The fan's money: purchases, tips, and money the platform takes back. Each amount is booked once on
the fan (total_spent), as an outcome for the learning stats, and on the timeline."""

import logging
from datetime import timedelta
from decimal import Decimal

from django.db.models import DecimalField, F, Value
from django.db.models.functions import Greatest, Least
from django.utils import timezone

from fans.models import Fan
from fans.services import get_or_create_fan
from fans.state_machine import FanState, can_transition, transition
from learning.models import Action, Outcome
from learning.services import record_outcome, reverse_outcome
from learning.whales import update_whale_score
from models_registry.models import Creator
from salesbot.models import PendingReversal
from salesbot.pipeline import events
from salesbot.pipeline.inbound import Inbound, believable, latest

log = logging.getLogger(__name__)

# Fan.total_spent is DECIMAL(10, 2): the running total saturates there instead of failing the event.
MAX_TOTAL_SPENT = Decimal("99999999.99")
# One tip reported under two events (tips.received and transactions.new) carries times this close.
TWIN_WINDOW = timedelta(minutes=5)


def on_purchase(creator: Creator, inbound: Inbound[events.Purchase]):
    """A PPV message is bought once per fan: a second unlock of the same message (under a new idempotency
    key) is a logged no-op, and an unlock whose amount is not the PPV's price books the money as what it
    is (`amount_differs`), not as that PPV's purchase. The fan's row is locked first, so two drains
    booking the same message one beside the other are taken one after the other."""
    buy = inbound.event
    ts = believable(buy.sent_at or inbound.envelope.created_at, inbound.arrived_at)
    fan, _ = get_or_create_fan(creator, buy.fan.id, buy.fan.name, lock=True)
    if Outcome.objects.filter(fan=fan, event=Outcome.Event.PURCHASED, extra__message_id=buy.message_id).exists():
        log.warning(
            "second unlock of message %s by fan %s ($%s, event %s): already bought once, not booked again",
            buy.message_id,
            buy.fan.id,
            buy.amount,
            inbound.event_id,
        )
        return
    ppv = Action.objects.filter(creator=creator, fan=fan, platform_message_id=buy.message_id).first()
    extra: dict[str, object] = {"message_id": buy.message_id}
    if ppv is None:
        # Booked now, attributed when the message turns up (learning.services.attach_purchases): a
        # purchase can arrive before the webhook of a human's message it unlocks, or before the worker
        # has booked our own send's message id (sender._book_sent attaches it then).
        log.info("purchase of message %s by fan %s before its message: attributed later", buy.message_id, buy.fan.id)
    elif amount_differs(ppv, buy.amount):
        log.warning(
            "unlock of message %s by fan %s for $%s, but its price is $%s: booked as that amount, not as "
            "the PPV's purchase",
            buy.message_id,
            buy.fan.id,
            buy.amount,
            ppv.price,
        )
        extra["amount_differs"] = {"price": str(ppv.price), "action_id": ppv.pk}
        ppv = None
    _add_spend(fan, buy.amount, ts)
    bought = record_outcome(
        fan,
        Outcome.Event.PURCHASED,
        ts=ts,
        amount=buy.amount,
        action=ppv,
        pinned=True,
        platform_event_id=inbound.event_id,
        extra=extra,
    )
    fan.refresh_from_db()
    if fan.state != FanState.BUYER and can_transition(fan.state, FanState.BUYER):
        transition(fan, FanState.BUYER, "fan purchases")
    _apply_waiting_reversal(fan, bought)
    update_whale_score(fan)


def amount_differs(ppv: Action, amount) -> bool:
    return (
        ppv.action == Action.Kind.PPV
        and ppv.price is not None
        and amount is not None
        and (Decimal(amount).quantize(Decimal("0.01")) != Decimal(ppv.price).quantize(Decimal("0.01")))
    )


def on_tip(creator: Creator, inbound: Inbound[events.Tip]):
    tip = inbound.event
    ts = believable(tip.sent_at or inbound.envelope.created_at, inbound.arrived_at)
    # Locked until the event's transaction ends: the tip's twin, drained beside it, waits here and then
    # finds this tip booked (a twin check without the lock lets both book it).
    fan, _ = get_or_create_fan(creator, tip.fan.id, tip.fan.name, lock=True)
    extra = {}
    if tip.source and tip.sent_at:
        twin = _twin(fan, tip)
        if twin is not None:  # the same tip, told again under the provider's other event: counted once
            twin.extra = {**twin.extra, "twin_event_id": inbound.event_id}
            twin.save(update_fields=["extra"])
            return
        extra = {"source": tip.source, "provider_ts": tip.sent_at.isoformat()}
    _add_spend(fan, tip.amount, ts)
    tipped = record_outcome(
        fan, Outcome.Event.TIPPED, ts=ts, amount=tip.amount, platform_event_id=inbound.event_id, extra=extra or None
    )
    _apply_waiting_reversal(fan, tipped)
    fan.refresh_from_db()
    update_whale_score(fan)


def _twin(fan, tip: events.Tip):
    """A tip of this fan booked from the provider's other event, same amount, about the same time (also
    one the platform has since taken back: its twin must not book it again)."""
    if tip.sent_at is None:  # without the provider's own time there is no twin to tell (on_tip asks only then)
        return None
    for o in Outcome.objects.filter(
        fan=fan,
        event__in=[Outcome.Event.TIPPED, Outcome.Event.REVERSED],
        amount=tip.amount,
        ts__gte=tip.sent_at - TWIN_WINDOW - timedelta(days=7),
    ).order_by("-ts")[:50]:
        extra = o.extra or {}
        if o.event == Outcome.Event.REVERSED and (extra.get("reversed") or {}).get("was") != Outcome.Event.TIPPED:
            continue
        source, at = extra.get("source"), extra.get("provider_ts")
        if not source or source == tip.source or extra.get("twin_event_id") or not at:
            continue
        if abs(events.parse_time(at, "provider_ts") - tip.sent_at) <= TWIN_WINDOW:
            return o
    return None


def on_reversal(creator: Creator, inbound: Inbound[events.Reversal]):
    """The platform took money back (a refund, a chargeback): the latest matching purchase or tip comes
    off the fan's books and the stats, with the reason on the timeline. An undo that arrives before its
    purchase or tip is kept (PendingReversal) and applied when that is booked."""
    undo = inbound.event
    fan, _ = get_or_create_fan(creator, undo.fan.id, undo.fan.name, lock=True)
    event = Outcome.Event.TIPPED if undo.kind == "tip" else Outcome.Event.PURCHASED
    outcome = Outcome.objects.filter(fan=fan, event=event, amount=undo.amount).order_by("-ts", "-seq").first()
    if outcome is None:
        log.info(
            "undo of a %s of $%s by fan %s before it arrived: applied when it does", undo.kind, undo.amount, undo.fan.id
        )
        PendingReversal.objects.create(
            creator=creator, fan=fan, kind=undo.kind, amount=undo.amount, event_id=inbound.event_id or ""
        )
        return
    _reverse(
        fan,
        outcome,
        undo.kind,
        undo.amount,
        f"the platform reversed this {undo.kind} (transactions.new undo)",
        inbound.event_id,
    )


def _apply_waiting_reversal(fan: Fan, outcome: Outcome) -> None:
    """A purchase or tip just booked that an earlier undo already took back: reversed at once."""
    kind = "tip" if outcome.event == Outcome.Event.TIPPED else "purchase"
    if outcome.amount is None:  # nothing to match: every waiting undo has its amount
        return
    waiting = (
        PendingReversal.objects.select_for_update()
        .filter(fan=fan, kind=kind, amount=outcome.amount, applied_at__isnull=True)
        .first()
    )
    if waiting is None:
        return
    PendingReversal.objects.filter(pk=waiting.pk).update(applied_at=timezone.now(), outcome=outcome)
    _reverse(
        fan,
        outcome,
        kind,
        outcome.amount,
        f"the platform reversed this {kind} (transactions.new undo, which arrived before it)",
        waiting.event_id,
    )


def _reverse(fan: Fan, outcome: Outcome, kind: str, amount, reason: str, event_id) -> None:
    reverse_outcome(outcome, reason, platform_event_id=event_id)
    Fan.objects.filter(pk=fan.pk).update(
        total_spent=Greatest(F("total_spent") - amount, Value(Decimal("0"), output_field=DecimalField()))
    )
    fan.refresh_from_db()
    update_whale_score(fan)


def _add_spend(fan: Fan, amount, ts):
    total = Least(F("total_spent") + amount, Value(MAX_TOTAL_SPENT, output_field=DecimalField()))
    Fan.objects.filter(pk=fan.pk).update(total_spent=total, last_interaction_ts=latest(ts))
