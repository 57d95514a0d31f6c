"""Turning a decision into a platform send: the Action row first, then the call, then the books.

`refusal()` is the last gate before any send (the check step). It holds whatever the caller asked, and it is
asked in full once per send, on fresh rows: by `prepare()`, or by a caller that must show a person the reason
(the console, drafts), which then records the decision with `record()` and the answer it got. `deliver()`
right after asks the contact rule once more (one query: a handoff or a safety flag that landed in between
still stops the send); an Action read back from the database (a crashed worker's pending send, a retry after a
platform hiccup) gets the whole gate again.
"""

import logging
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

import sqlonce
from fans.models import Fan, Message
from fans.state_machine import FanState, can_transition, transition
from learning.models import PRICE_CONTEXTS, Action
from learning.services import attach_purchases, record_action, set_action_status
from models_registry.models import VaultItem
from salesbot import providers
from salesbot.pipeline.contact import BOT, DRAFT, HUMAN, contact_block, message_block
from salesbot.pipeline.decisions import Decision
from salesbot.providers.base import MessageSender, PlatformError, RefusedError

log = logging.getLogger(__name__)

# After a successful send of this action, the fan moves (if the move is legal from where it is).
STATE_AFTER_SEND = {"ppv": FanState.PITCHED}


def state_after_send(state: str, action: str) -> str | None:
    """Where a delivered action moves the fan, or None: a PPV pitches the fan wherever that move is legal
    (a new fan's first PPV too, so it gets its bump), any other first message greets a new fan."""
    target = STATE_AFTER_SEND.get(action)
    if target and state != target and can_transition(state, target):
        return target
    return FanState.GREETED if state == FanState.NEW else None


def refusal(
    creator,
    fan: Fan,
    action: str,
    *,
    text: str = "",
    content_key: str = "",
    price: Decimal | None = None,
    writer: str = BOT,
) -> str | None:
    """Why this send must not happen, or None: the contact rule for this writer and the message rules
    (salesbot.pipeline.contact), checked against fresh rows, never cached ones."""
    return contact_block(creator, fan, fresh=True, writer=writer) or message_block(
        creator, fan, action, text=text, content_key=content_key, price=price, writer=writer
    )


def writer_of(action: Action) -> str:
    """Whose contact rule an Action's send follows: a reviewed bot draft, a person's console message, the bot."""
    if action.review:
        return DRAFT
    return HUMAN if action.sent_by_id and action.source == Action.Source.STAFF else BOT


def log_decision(
    creator, fan: Fan, decision: Decision, status: str, *, response_time_s=None, error="", by=None, review=""
) -> Action:
    return record_action(
        fan,
        decision.action,
        content_key=decision.content_key,
        price=decision.price,
        hook=decision.hook,
        message_text=decision.text,
        source=decision.source,
        reason=decision.reason[:300],
        route=decision.route,
        status=status,
        response_time_s=response_time_s,
        error=error,
        extra=decision.extra,
        explored=bool(decision.extra.get("explored", False)),
        sent_by=by,
        review=review,
        propensity=decision.extra.get("propensity"),
        segment=decision.extra.get("segment") if decision.extra.get("segment") in PRICE_CONTEXTS else "",
    )


def prepare(
    creator, fan: Fan, decision: Decision, response_time_s=None, *, by=None, review="", writer: str = BOT
) -> Action:
    """The check step and the record step together: ask the last gate for this decision, then write the Action
    (pending, refused or logged) before any call, so a crash mid-send leaves a pending row to resume. `by`: the
    person sending (console) or approving (`review`: a bot draft approved or edited)."""
    why = (
        None
        if decision.action == Action.Kind.SKIP
        else refusal(
            creator,
            fan,
            decision.action,
            text=decision.text,
            content_key=decision.content_key,
            price=decision.price,
            writer=writer,
        )
    )
    return record(creator, fan, decision, why, response_time_s, by=by, review=review)


def record(
    creator, fan: Fan, decision: Decision, refused: str | None, response_time_s=None, *, by=None, review=""
) -> Action:
    """The record step alone, for a caller that asked `refusal()` for this very decision a moment ago (the
    console and drafts must show a person the reason): `refused` is what it answered (None: no objection)."""
    who = {"response_time_s": response_time_s, "by": by, "review": review}
    if decision.action == Action.Kind.SKIP:
        return log_decision(creator, fan, decision, Action.Status.LOGGED, **who)
    if refused:
        log.info("refused send to fan %s: %s", fan.fan_id, refused)
        return log_decision(creator, fan, decision, Action.Status.REFUSED, error=refused, **who)
    action = log_decision(creator, fan, decision, Action.Status.PENDING, **who)
    action.creator = creator
    action.gate_passed = True  # in memory only: deliver() right after asks only the contact rule again
    return action


def deliver(action: Action, client: MessageSender | None = None) -> Action:
    """Send a pending Action (again, if a worker died): the uuid makes the platform dedupe."""
    if action.status != Action.Status.PENDING:
        return action
    creator, fan = action.creator, action.fan
    if action.gate_passed:  # prepared just now: its message passed the gate
        why = contact_block(creator, fan, fresh=True, writer=writer_of(action))
    else:
        why = refusal(
            creator,
            fan,
            action.action,
            text=action.message_text,
            content_key=action.content_key,
            price=action.price,
            writer=writer_of(action),
        )
    action.gate_passed = False  # once: a resend of this object asks in full
    if why:
        set_action_status(action, Action.Status.REFUSED, error=why)
        return action
    media = []
    if action.content_key:
        row = _MEDIA.first(creator.pk, action.content_key)  # read fresh: what the vault holds at the send
        if row is None:
            raise VaultItem.DoesNotExist(f"no vault item '{action.content_key}' for creator {creator.slug}")
        media = row[0]
    price = action.price if action.action == Action.Kind.PPV else Decimal("0")
    client = client or providers.client_for(creator)
    try:
        sent = client.send_message(fan.fan_id, action.message_text, media, price, idempotency_key=action.uuid)
    except RefusedError as e:  # the provider's banned-words guard: a refusal, with the words
        action.extra = {**(action.extra or {}), "banned_words": e.words}
        Action.objects.filter(pk=action.pk).update(extra=action.extra)
        set_action_status(action, Action.Status.REFUSED, only_from=[Action.Status.PENDING], error=str(e)[:2000])
        raise
    except PlatformError as e:
        if not e.transient:
            set_action_status(action, Action.Status.FAILED, only_from=[Action.Status.PENDING], error=str(e)[:2000])
        elif getattr(e, "outcome_unknown", False):
            mark_outcome_unknown(action, str(e))
        else:
            action.error = str(e)[:2000]
            action.save(update_fields=["error"])
        raise
    settle_sent(action, sent.id)
    return action


def mark_outcome_unknown(action: Action, error: str) -> None:
    """The send may have gone out (timeout, 408, 409, 5xx): the Action stays pending, marked, until an
    answer to a retry with its key, or its `messages.sent` echo, settles it (settle_sent)."""
    extra = {**(action.extra or {}), "outcome_unknown": True}
    Action.objects.filter(pk=action.pk, status=Action.Status.PENDING).update(extra=extra, error=error[:2000])
    action.extra, action.error = extra, error[:2000]
    log.info(
        "send of action %s: outcome unknown (%s); left pending for a retry with its key or its echo",
        action.pk,
        error[:200],
    )


# Booking a send's rows, read locked through statements compiled once (sqlonce): every send books.
_LOCKED_ACTION = sqlonce.objects(lambda pk: Action.objects.select_for_update().filter(pk=pk).order_by(), int)
_LOCKED_FAN = sqlonce.objects(lambda pk: Fan.objects.select_for_update().filter(pk=pk).order_by(), int)


_MEDIA = sqlonce.select(
    lambda creator_id, key: (
        VaultItem.objects.filter(creator_id=creator_id, content_key=key).order_by().values_list("media_ids")
    ),
    int,
    str,
)


@transaction.atomic
def settle_sent(action: Action, platform_message_id: int) -> bool:
    """Book the Action as sent once, whoever learns it first: the send's answer (or a replay of its key)
    or its `messages.sent` echo. False if it was booked already (or is no longer pending)."""
    fresh = _LOCKED_ACTION.first(action.pk)
    unknown = fresh is not None and (fresh.extra or {}).get("outcome_unknown")
    # A send whose outcome was unknown may have been refused or failed here since (the gate asked again
    # on a retry): the echo proves it went out all the same.
    settles = [Action.Status.PENDING, *([Action.Status.REFUSED, Action.Status.FAILED] if unknown else [])]
    if fresh is None or fresh.status not in settles or fresh.platform_message_id is not None:
        if fresh is not None:
            action.status, action.platform_message_id = fresh.status, fresh.platform_message_id
        return False
    if (fresh.extra or {}).get("outcome_unknown"):
        extra = {k: v for k, v in fresh.extra.items() if k != "outcome_unknown"}
        Action.objects.filter(pk=action.pk).update(extra=extra)
        action.extra = fresh.extra = extra
    _book_sent(action, platform_message_id, locked=fresh)
    return True


@transaction.atomic(savepoint=False)  # inside settle_sent's transaction: all of it or none, no savepoint
def _book_sent(action: Action, platform_message_id: int, locked: Action | None = None):
    now = timezone.now()
    set_action_status(action, Action.Status.SENT, platform_message_id=platform_message_id, error="", locked=locked)
    attach_purchases(action)  # a purchase of this message that arrived before it was booked
    fan = _LOCKED_FAN.first(action.fan_id)
    if fan is None:
        raise Fan.DoesNotExist(f"fan {action.fan_id} of action {action.pk} is gone")
    human = writer_of(action) == HUMAN
    sqlonce.insert(
        Message(
            fan=fan,
            direction=Message.Direction.OUT,
            text=action.message_text,
            platform_message_id=platform_message_id,
            ts=now,
            by_human=human,
        )
    )
    fields = {"messages_sent": F("messages_sent") + 1, "last_interaction_ts": now}
    if human:
        # The person who wrote holds the fan: the bot stays silent for the creator's quiet period.
        fields.update(
            human_hold_until=now + timedelta(minutes=action.creator.human_quiet_minutes), held_by_id=action.sent_by_id
        )
    if action.content_key and action.content_key not in fan.content_sent:
        fields["content_sent"] = fan.content_sent + [action.content_key]
    if action.action == Action.Kind.PPV:
        fields["last_ppv_price"] = action.price
    Fan.objects.filter(pk=fan.pk).update(**fields)  # the row is locked: fan.state read above still holds
    target = state_after_send(fan.state, action.action)
    if target is not None:
        transition(fan, target, "welcome sent" if target == FanState.GREETED else f"{action.action} sent")
