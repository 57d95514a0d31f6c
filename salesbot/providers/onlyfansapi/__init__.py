"""OnlyFansAPI.com (../shared/providers/onlyfansapi.md): its webhooks, verified and parsed into the
project's own events, and its HTTP client (client.py). Parsed defensively: unknown fields are ignored,
a missing field is a WebhookError naming it (the event is stored as failed, visible and replayable)."""

import hashlib
import hmac
import re
from decimal import Decimal, InvalidOperation

from salesbot.pipeline.events import (
    CENT,
    MAX_AMOUNT,
    MAX_EVENT,
    MAX_EVENT_ID,
    AccountState,
    Envelope,
    Event,
    Expiry,
    FanMessage,
    NewSubscriber,
    Presence,
    Purchase,
    Renewal,
    Reversal,
    SentByAccount,
    Tip,
    WebhookError,
    fan_ref,
    parse_json,
    parse_time,
    require,
)
from salesbot.providers.onlyfansapi.client import DEFAULT_BASE_URL, Client  # noqa: F401  (the seam's names)
from salesbot.providers.onlyfansapi.text import html_to_text

NAME = "onlyfansapi"
SIGNATURE_HEADER = "HTTP_SIGNATURE"
IDEMPOTENCY_HEADER = "HTTP_X_OFAPI_IDEMPOTENCY_KEY"
REDELIVERY_HEADER = "HTTP_X_OFAPI_REDELIVERY_OF"

RECEIVED, SENT, UNLOCKED = "messages.received", "messages.sent", "messages.ppv.unlocked"
TIPS, TRANSACTIONS = "tips.received", "transactions.new"
SUB_NEW, SUB_RENEWED, SUB_EXPIRED = "subscriptions.new", "subscriptions.renewed", "subscriptions.expired"
# The account's session, as the provider sees it: anything but reconnected means every send would fail.
ACCOUNT_HEALTH = {
    "accounts.session_expired": "session_expired",
    "accounts.authentication_failed": "authentication_failed",
    "accounts.otp_code_required": "otp_code_required",
    "accounts.reconnected": "ok",
}
# A chargeback read from the API (salesbot.providers.onlyfansapi.chargebacks stores each as an event).
CHARGEBACK = "chargebacks.pulled"
KNOWN_EVENTS = {
    RECEIVED,
    SENT,
    UNLOCKED,
    TIPS,
    TRANSACTIONS,
    SUB_NEW,
    SUB_RENEWED,
    SUB_EXPIRED,
    *ACCOUNT_HEALTH,
    CHARGEBACK,
}
# No idempotency key, never stored: applied at the door (salesbot.pipeline.presence) and answered 200.
TYPING, ONLINE, OFFLINE = "users.typing", "users.online", "users.offline"
EPHEMERAL = {TYPING, ONLINE, OFFLINE}
# What `register_webhook` subscribes to (the pulled chargebacks are no webhook).
EVENTS = sorted((KNOWN_EVENTS | EPHEMERAL) - {CHARGEBACK})
FIRST_ID = re.compile(r"firstId=(\d+)")


def sign(secret: str, body: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of the raw body, no prefix (what the provider sends as `Signature`)."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, meta: dict) -> bool:
    header = (meta.get(SIGNATURE_HEADER) or "").strip().lower()
    return bool(secret and header) and hmac.compare_digest(sign(secret, body), header)


def inbound(data: dict, meta: dict) -> Envelope:
    """The envelope of a request: the dedupe key is the X-OFAPI-Idempotency-Key header (there is no
    event id in the body), absent only on ephemeral events."""
    event = require(data, "event", str, "")[:MAX_EVENT]
    key = (meta.get(IDEMPOTENCY_HEADER) or "").strip() or None
    if key is None and event not in EPHEMERAL:
        raise WebhookError("missing header 'X-OFAPI-Idempotency-Key'")
    if key is not None and len(key) > MAX_EVENT_ID:
        raise WebhookError(f"header 'X-OFAPI-Idempotency-Key' must be at most {MAX_EVENT_ID} characters")
    return Envelope(
        event_id=key,
        event=event,
        account_id=require(data, "account_id", str, ""),
        created_at=None,
        payload=require(data, "payload", dict, ""),
    )


def parse_stored(body: bytes, event_id: str | None) -> tuple[Envelope, Event | None]:
    """A stored event (its key was stored beside the body) as envelope and typed event."""
    env = inbound(parse_json(body), {IDEMPOTENCY_HEADER: event_id or ""})
    return env, parse_event(env)


def parse_event(env: Envelope) -> Event | None:
    p = env.payload
    parse = PARSERS.get(env.event)
    return parse(p) if parse else None


def parse_presence(env: Envelope) -> Presence | None:
    """An ephemeral event about a fan (typing, online, offline), or None if it names no fan we can read."""
    p = env.payload
    who = next((p[k] for k in ("user", "fromUser", "fan") if isinstance(p.get(k), dict)), None)
    try:
        fan = fan_ref(who, "payload.user.") if who is not None else None
    except WebhookError:
        return None
    return Presence(fan, env.event.rsplit(".", 1)[-1]) if fan else None


def _time(p: dict, key: str):
    return parse_time(p[key], f"payload.{key}") if p.get(key) is not None else None


def _text(p: dict) -> str:
    text = p.get("text")
    if text is not None and not isinstance(text, str):
        raise WebhookError("field 'payload.text' must be a string")
    return html_to_text(text or "")


def dollars(value, where: str) -> Decimal:
    """An amount as the provider writes it: a number, or a string like "$13.00" or "1,013.50"."""
    if isinstance(value, str):
        cleaned = value.strip().lstrip("$").replace(",", "").strip()
        try:
            amount = Decimal(cleaned)
        except InvalidOperation:
            raise WebhookError(f"field '{where}' must be an amount like \"$13.00\"") from None
        if not amount.is_finite() or not 0 <= amount <= MAX_AMOUNT:
            raise WebhookError(f"field '{where}' must be an amount in 0..{MAX_AMOUNT}")
        return amount.quantize(CENT)
    key = where.rsplit(".", 1)[-1]
    return require({key: value}, key, Decimal, where[: -len(key)])


def _pair(p: dict, name: str):
    pairs = p.get("replacePairs")
    return pairs.get(name) if isinstance(pairs, dict) else None


def _message(p: dict, who: str):
    fan = fan_ref(require(p, who, dict, "payload."), f"payload.{who}.")
    return fan, require(p, "id", int, "payload."), _text(p), _time(p, "createdAt")


def _received(p):
    return FanMessage(*_message(p, "fromUser"))


def _sent(p):
    fan, message_id, text, at = _message(p, "toUser")
    price = p.get("price")
    price = Decimal("0") if price in (None, "", False) else dollars(price, "payload.price")
    queue_id = p.get("queueId")
    queue_id = (
        queue_id
        if isinstance(queue_id, int) and not isinstance(queue_id, bool) and queue_id > 0
        else (int(queue_id) if isinstance(queue_id, str) and queue_id.isdigit() and int(queue_id) > 0 else None)
    )
    mass = p.get("isFromQueue") is True or queue_id is not None
    return SentByAccount(fan, message_id, text, price, at, mass=mass, queue_id=queue_id)


def _unlocked(p):
    fan = fan_ref(require(p, "user", dict, "payload."), "payload.user.")
    amount = _pair(p, "{AMOUNT}")
    if amount is None:
        raise WebhookError("missing field 'payload.replacePairs.{AMOUNT}'")
    link = _pair(p, "{MESSAGE_LINK}")
    found = FIRST_ID.search(link) if isinstance(link, str) else None
    if found is None:
        raise WebhookError("missing the unlocked message id ('firstId=' in payload.replacePairs.{MESSAGE_LINK})")
    return Purchase(fan, int(found.group(1)), dollars(amount, "payload.replacePairs.{AMOUNT}"), _time(p, "createdAt"))


def _tip(p):
    fan = fan_ref(require(p, "user", dict, "payload."), "payload.user.")
    return Tip(
        fan,
        dollars(require(p, "amountGross", object, "payload."), "payload.amountGross"),
        _time(p, "createdAt"),
        source=TIPS,
    )


def _transaction(p):
    """A tip (counted once with its tips.received twin), an undo (money taken back); others are ignored."""
    fan = fan_ref(require(p, "fan", dict, "payload."), "payload.fan.")
    kind, state = require(p, "type", str, "payload."), require(p, "status", str, "payload.")
    amount = dollars(require(p, "amount", object, "payload."), "payload.amount")
    if state == "undo":
        return Reversal(fan, "tip" if kind == "tip" else "purchase", amount)
    if kind == "tip" and state == "done":
        return Tip(fan, amount, _time(p, "created_at"), source=TRANSACTIONS)
    return None  # a pending transaction, or a purchase (counted from messages.ppv.unlocked)


def _subscriber(p):
    """The price when `{PRICE}` is an amount; a free trial or an unreadable price is no price, not an
    error (the subscription itself is what matters)."""
    fan = fan_ref(require(p, "user", dict, "payload."), "payload.user.")
    price = _pair(p, "{PRICE}")
    try:
        return fan, None if price is None else dollars(price, "payload.replacePairs.{PRICE}")
    except WebhookError:
        return fan, Decimal("0") if isinstance(price, str) and "free" in price.lower() else None


def _expired(p):
    return Expiry(fan_ref(require(p, "user", dict, "payload."), "payload.user."), _time(p, "expiredAt"))


def _account(event: str):
    def parse(p):
        state = p.get("state")
        return AccountState(ACCOUNT_HEALTH[event], state[:200] if isinstance(state, str) else "")

    return parse


def _chargeback(p):
    """A chargeback as the API lists it: `payment{amount, description, user{id}}`; a tip's or a
    purchase's money taken back."""
    payment = require(p, "payment", dict, "payload.")
    fan = fan_ref(require(payment, "user", dict, "payload.payment."), "payload.payment.user.")
    amount = dollars(require(payment, "amount", object, "payload.payment."), "payload.payment.amount")
    what = " ".join(str(payment.get(k) or "") for k in ("description", "type")) + " " + str(p.get("paymentType") or "")
    return Reversal(fan, "tip" if "tip" in what.lower() else "purchase", amount)


PARSERS = {
    RECEIVED: _received,
    SENT: _sent,
    UNLOCKED: _unlocked,
    TIPS: _tip,
    TRANSACTIONS: _transaction,
    SUB_NEW: lambda p: NewSubscriber(*_subscriber(p)),
    SUB_RENEWED: lambda p: Renewal(*_subscriber(p)),
    SUB_EXPIRED: _expired,
    CHARGEBACK: _chargeback,
    **{event: _account(event) for event in ACCOUNT_HEALTH},
}
