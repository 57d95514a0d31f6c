"""Everything about the platform's inbound webhook format (shared/platform-api.md) lives here,
so adapting to another provider means changing this file and platform_client.py only."""
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from learning.seed_format import storable

SIGNATURE_HEADER = "HTTP_X_SIGNATURE"

MESSAGE_RECEIVED = "messages.received"
SUBSCRIPTION_NEW = "subscriptions.new"
PPV_UNLOCKED = "messages.ppv.unlocked"
TIP_RECEIVED = "tips.received"
KNOWN_EVENTS = {MESSAGE_RECEIVED, SUBSCRIPTION_NEW, PPV_UNLOCKED, TIP_RECEIVED}

# Which events each per-purpose endpoint of seed §13 accepts (of-event takes them all).
ENDPOINT_EVENTS = {
    "fan-message": {MESSAGE_RECEIVED},
    "new-subscriber": {SUBSCRIPTION_NEW},
    "purchase": {PPV_UNLOCKED, TIP_RECEIVED},
    "of-event": None,
}


class WebhookError(ValueError):
    """A payload we cannot use; the message names the field."""


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    if not header or not secret:
        return False
    return hmac.compare_digest(sign(secret, body), header.strip())


@dataclass(frozen=True)
class Envelope:
    event_id: str
    event: str
    account_id: str
    created_at: datetime
    payload: dict


@dataclass(frozen=True)
class FanRef:
    id: int
    name: str


# Storage limits of WebhookEvent / Fan / Message: an event beyond them is refused at the door (400),
# never turned into a database error (500) or a task that can never be processed.
MAX_EVENT_ID = 120
MAX_EVENT = 80
MAX_NAME = 200
MAX_ID = 2**63 - 1
MAX_AMOUNT = Decimal("99999999.99")
CENT = Decimal("0.01")


def parse_json(body: bytes) -> dict:
    try:
        data = json.loads(body.decode("utf-8"))
    except ValueError as e:  # undecodable bytes, invalid JSON, an integer too long to convert
        raise WebhookError(f"body is not valid JSON: {e}") from e
    except RecursionError:
        raise WebhookError("body is not valid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise WebhookError("body must be a JSON object")
    if b"\\u" not in body:  # NUL and lone surrogates can only arrive through \\u escapes
        return data
    try:
        return storable(data, max_depth=None)
    except RecursionError:
        raise WebhookError("body is not valid JSON: nested too deeply") from None


def _require(obj: dict, key: str, kind, where: str):
    if not isinstance(obj, dict) or key not in obj:
        raise WebhookError(f"missing field '{where}{key}'")
    value = obj[key]
    if kind is int:
        if isinstance(value, str) and value.isascii() and value.isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise WebhookError(f"field '{where}{key}' must be an integer")
        if not 0 <= value <= MAX_ID:
            raise WebhookError(f"field '{where}{key}' must be an integer in 0..{MAX_ID}")
    if kind is str and not isinstance(value, str):
        raise WebhookError(f"field '{where}{key}' must be a string")
    if kind is dict and not isinstance(value, dict):
        raise WebhookError(f"field '{where}{key}' must be an object")
    if kind is Decimal:
        if isinstance(value, bool):
            raise WebhookError(f"field '{where}{key}' must be a number")
        try:
            value = Decimal(str(value))
        except InvalidOperation:
            raise WebhookError(f"field '{where}{key}' must be a number") from None
        if not value.is_finite() or value < 0:
            raise WebhookError(f"field '{where}{key}' must be a non-negative number")
        if value > MAX_AMOUNT:
            raise WebhookError(f"field '{where}{key}' must be at most {MAX_AMOUNT}")
        value = value.quantize(CENT)
    return value


def parse_time(value, where: str) -> datetime:
    if not isinstance(value, str):
        raise WebhookError(f"field '{where}' must be an ISO-8601 time")
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)
    except (ValueError, OverflowError):  # not ISO-8601, or off the calendar once in UTC
        raise WebhookError(f"field '{where}' must be an ISO-8601 time") from None


def parse_envelope(data: dict) -> Envelope:
    event_id = _require(data, "event_id", str, "")
    if not 1 <= len(event_id) <= MAX_EVENT_ID:
        raise WebhookError(f"field 'event_id' must be 1 to {MAX_EVENT_ID} characters")
    return Envelope(
        event_id=event_id,
        event=_require(data, "event", str, "")[:MAX_EVENT],  # longer can only be an unknown event
        account_id=_require(data, "account_id", str, ""),
        created_at=parse_time(_require(data, "created_at", str, ""), "created_at"),
        payload=_require(data, "payload", dict, ""),
    )


def parse_fan(payload: dict) -> FanRef:
    fan = _require(payload, "fan", dict, "payload.")
    name = fan.get("name", "")
    return FanRef(id=_require(fan, "id", int, "payload.fan."), name=name[:MAX_NAME] if isinstance(name, str) else "")


# --- the project's own event types: what a webhook body becomes, parsed once ----------------------

@dataclass(frozen=True)
class FanMessage:
    fan: FanRef
    message_id: int
    text: str
    sent_at: datetime | None  # the message's own clock (createdAt), if it gave one


@dataclass(frozen=True)
class NewSubscriber:
    fan: FanRef


@dataclass(frozen=True)
class Purchase:
    fan: FanRef
    message_id: int  # the PPV message the fan unlocked
    amount: Decimal


@dataclass(frozen=True)
class Tip:
    fan: FanRef
    amount: Decimal


Event = FanMessage | NewSubscriber | Purchase | Tip


def parse_event(env: Envelope) -> Event | None:
    """The typed event of a known envelope (None for an event we do not handle); WebhookError names
    the first field missing or wrong, so a bad event is refused at the door (400)."""
    if env.event not in KNOWN_EVENTS:
        return None
    p = env.payload
    fan = parse_fan(p)
    if env.event == MESSAGE_RECEIVED:
        msg = _require(p, "message", dict, "payload.")
        sent_at = parse_time(msg["createdAt"], "payload.message.createdAt") if "createdAt" in msg else None
        return FanMessage(fan, _require(msg, "id", int, "payload.message."),
                          _require(msg, "text", str, "payload.message."), sent_at)
    if env.event == PPV_UNLOCKED:
        return Purchase(fan, _require(p, "message_id", int, "payload."), _require(p, "amount", Decimal, "payload."))
    if env.event == TIP_RECEIVED:
        return Tip(fan, _require(p, "amount", Decimal, "payload."))
    return NewSubscriber(fan)


def parse_body(body: bytes) -> tuple[Envelope, Event | None]:
    envelope = parse_envelope(parse_json(body))
    return envelope, parse_event(envelope)
