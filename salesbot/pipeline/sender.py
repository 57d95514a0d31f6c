"""Turning a decision into a platform send: the Action row first, then the call, then the books.

`refusal()` is the last gate before any send. It holds whatever the caller asked.
"""
import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from fans.models import Fan, Message
from fans.selectors import spend_capped
from fans.state_machine import NO_CONTACT, FanState, can_transition, transition
from learning.models import PRICE_CONTEXTS, Action
from learning.services import record_action, set_action_status
from salesbot.pipeline import repeats
from salesbot.pipeline.decisions import Decision
from salesbot.pipeline.platform_client import PlatformClient, PlatformError

log = logging.getLogger(__name__)

# After a successful send of this action, the fan moves (if the move is legal from where it is).
STATE_AFTER_SEND = {"ppv": FanState.PITCHED}


def refusal(creator, fan: Fan, decision: Decision) -> str | None:
    """Why this send must not happen, or None. Checked against fresh rows, never cached ones."""
    fan.refresh_from_db(fields=["state", "opted_out", "content_sent", "safety_flag"])
    creator.refresh_from_db(fields=["enabled", "excluded_fan_ids", "ppv_min_price", "ppv_max_price",
                                    "daily_spend_cap"])
    if not creator.enabled:
        return "creator's bot is disabled"
    if fan.safety_flag:
        # Whatever the state (a flagged fan parked as dormant, re-engaged, rekindled): only a staff resume clears it.
        return "fan has a safety flag: only a staff resume clears it"
    if fan.state in NO_CONTACT:
        return "fan is handed off to a human"
    if fan.opted_out:
        return "fan opted out"
    if creator.is_excluded(fan.fan_id):
        return "fan is on the creator's exclude list"
    if decision.content_key:
        item = creator.vault_items.filter(content_key=decision.content_key).first()
        if item is None:
            return f"unknown content_key '{decision.content_key}'"
        if not item.media_ids:
            return f"content_key '{decision.content_key}' has no platform media ids"
        if decision.content_key in (fan.content_sent or []):
            return f"content_key '{decision.content_key}' was already sent to this fan"
        if decision.action != "ppv" and item.default_price is not None:
            return f"content_key '{decision.content_key}' is paid content and cannot go out free"
    if decision.action == "ppv":
        if decision.price is None or not decision.content_key:
            return "a PPV needs content and a price"
        if not creator.price_in_bounds(decision.price):
            return f"price {decision.price} outside the creator's bounds"
        if spend_capped(fan):
            return "fan reached the 24h spend cap: PPV offers are paused"
    if decision.action in ("text", "bump", "rekindle") and not decision.text.strip():
        return "empty message text"
    return repeats.refusal(fan, decision)


def log_decision(creator, fan: Fan, decision: Decision, status: str, *, response_time_s=None, error="") -> Action:
    return record_action(
        fan, decision.action, content_key=decision.content_key, price=decision.price, hook=decision.hook,
        message_text=decision.text, source=decision.source, reason=decision.reason[:300], route=decision.route,
        status=status, response_time_s=response_time_s, error=error, extra=decision.extra,
        explored=bool(decision.extra.get("explored", False)),
        segment=decision.extra.get("segment") if decision.extra.get("segment") in PRICE_CONTEXTS else "")


def prepare(creator, fan: Fan, decision: Decision, response_time_s=None) -> Action:
    """Write the Action before any call, so a crash mid-send leaves a pending row to resume."""
    if decision.action == "skip":
        return log_decision(creator, fan, decision, Action.Status.LOGGED, response_time_s=response_time_s)
    why = refusal(creator, fan, decision)
    if why:
        log.info("refused send to fan %s: %s", fan.fan_id, why)
        return log_decision(creator, fan, decision, Action.Status.REFUSED, error=why, response_time_s=response_time_s)
    return log_decision(creator, fan, decision, Action.Status.PENDING, response_time_s=response_time_s)


def deliver(action: Action, client: PlatformClient | None = None) -> Action:
    """Send a pending Action (again, if a worker died): the uuid makes the platform dedupe."""
    if action.status != Action.Status.PENDING:
        return action
    creator, fan = action.creator, action.fan
    decision = Decision(action.action, text=action.message_text, content_key=action.content_key,
                        price=action.price, route="resend")
    why = refusal(creator, fan, decision)
    if why:
        set_action_status(action, Action.Status.REFUSED, error=why)
        return action
    media = []
    if action.content_key:
        media = creator.vault_items.get(content_key=action.content_key).media_ids
    price = action.price if action.action == "ppv" else Decimal("0")
    client = client or PlatformClient(creator)
    try:
        sent = client.send_message(fan.fan_id, action.message_text, media, price, idempotency_key=action.uuid)
    except PlatformError as e:
        if not e.transient:
            set_action_status(action, Action.Status.FAILED, error=str(e)[:2000])
        else:
            action.error = str(e)[:2000]
            action.save(update_fields=["error"])
        raise
    _book_sent(action, sent.id)
    return action


@transaction.atomic
def _book_sent(action: Action, platform_message_id: int):
    now = timezone.now()
    set_action_status(action, Action.Status.SENT, platform_message_id=platform_message_id, error="")
    fan = Fan.objects.select_for_update().get(pk=action.fan_id)
    Message.objects.create(fan=fan, direction=Message.Direction.OUT, text=action.message_text,
                           platform_message_id=platform_message_id, ts=now)
    fields = {"messages_sent": F("messages_sent") + 1, "last_interaction_ts": now}
    if action.content_key and action.content_key not in fan.content_sent:
        fields["content_sent"] = fan.content_sent + [action.content_key]
    if action.action == "ppv":
        fields["last_ppv_price"] = action.price
    Fan.objects.filter(pk=fan.pk).update(**fields)
    fan.refresh_from_db()
    target = STATE_AFTER_SEND.get(action.action)
    if fan.state == FanState.NEW:
        transition(fan, FanState.GREETED, "welcome sent")
    elif target and fan.state != target and can_transition(fan.state, target):
        transition(fan, target, f"{action.action} sent")
