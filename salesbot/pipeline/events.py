"""The project's own inbound event types, and the parsing helpers every provider shares.

A provider module (salesbot.providers.*) turns its wire format into these; nothing after intake knows
which provider a webhook came from."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from learning.seed.format import storable


class WebhookError(ValueError):
    """A payload we cannot use; the message names the field."""


@dataclass(frozen=True)
class Envelope:
    event_id: str | None  # the provider's dedupe key (None: an ephemeral event, never stored)
    event: str
    account_id: str
    created_at: datetime | None  # when the provider says the event happened, if it says
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


def require(obj: dict, key: str, kind, where: str):
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
    price: Decimal | None = None


@dataclass(frozen=True)
class Purchase:
    fan: FanRef
    message_id: int  # the PPV message the fan unlocked
    amount: Decimal
    sent_at: datetime | None = None


@dataclass(frozen=True)
class Tip:
    fan: FanRef
    amount: Decimal
    sent_at: datetime | None = None  # the provider's own time of the tip (used to see a tip twice)
    source: str = ""  # which provider event told us (a provider may report one tip under two events)


@dataclass(frozen=True)
class SentByAccount:
    """A message the creator's account sent: our own send echoed back, or a human typing in the
    platform's UI (told apart by message id in intake)."""

    fan: FanRef
    message_id: int
    text: str
    price: Decimal
    sent_at: datetime | None
    mass: bool = False  # sent from a mass message's queue (isFromQueue / queueId): a campaign
    queue_id: int | None = None  # that mass message's queue id, when given


@dataclass(frozen=True)
class Renewal:
    fan: FanRef
    price: Decimal | None


@dataclass(frozen=True)
class Expiry:
    fan: FanRef
    expired_at: datetime | None


@dataclass(frozen=True)
class Reversal:
    """Money the platform took back (a refund or chargeback): `kind` is "tip" or "purchase"."""

    fan: FanRef
    kind: str
    amount: Decimal


@dataclass(frozen=True)
class AccountState:
    """What the provider says about the creator's account session: `health` is "ok" (reconnected) or
    why sends cannot work now (session_expired, authentication_failed, otp_code_required)."""

    health: str
    detail: str = ""


@dataclass(frozen=True)
class Presence:
    """An ephemeral signal about a fan (never stored): "typing", "online" or "offline"."""

    fan: FanRef
    kind: str


Event = FanMessage | NewSubscriber | Purchase | Tip | SentByAccount | Renewal | Expiry | Reversal | AccountState


def fan_ref(obj, where: str) -> FanRef:
    """{"id": int, "name": str} under `where` (e.g. "payload.fromUser.") as a FanRef."""
    name = obj.get("name", "") if isinstance(obj, dict) else ""
    return FanRef(id=require(obj, "id", int, where), name=name[:MAX_NAME] if isinstance(name, str) else "")
