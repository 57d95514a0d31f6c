"""The project's own simple contract (../shared/platform-api.md): its webhook format and HTTP client.

The fake platform speaks it with `--dialect simple`; older tests and the per-creator webhook URLs
(/api/<slug>/webhook/<kind>) use it. Everything about this wire format lives in this module."""

import hashlib
import hmac
from decimal import Decimal

from salesbot.pipeline.events import (  # noqa: F401  (re-exported: the typed events this format yields)
    CENT,
    MAX_EVENT,
    MAX_EVENT_ID,
    Envelope,
    Event,
    FanMessage,
    FanRef,
    NewSubscriber,
    Purchase,
    Tip,
    WebhookError,
    fan_ref,
    parse_json,
    parse_time,
    require,
)
from salesbot.providers.base import (  # noqa: F401  (re-exported)
    HttpClient,
    PermanentError,
    PlatformError,
    SentMessage,
    TransientError,
)

NAME = "simple"
SIGNATURE_HEADER = "HTTP_X_SIGNATURE"

MESSAGE_RECEIVED = "messages.received"
SUBSCRIPTION_NEW = "subscriptions.new"
PPV_UNLOCKED = "messages.ppv.unlocked"
TIP_RECEIVED = "tips.received"
KNOWN_EVENTS = {MESSAGE_RECEIVED, SUBSCRIPTION_NEW, PPV_UNLOCKED, TIP_RECEIVED}

# Which events each per-purpose endpoint accepts (of-event takes them all; docs/api.md#webhooks).
ENDPOINT_EVENTS = {
    "fan-message": {MESSAGE_RECEIVED},
    "new-subscriber": {SUBSCRIPTION_NEW},
    "purchase": {PPV_UNLOCKED, TIP_RECEIVED},
    "of-event": None,
}


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    if not header or not secret:
        return False
    return hmac.compare_digest(sign(secret, body), header.strip())


def verify(secret: str, body: bytes, meta: dict) -> bool:
    """The request's signature (meta: Django's request.META) against the creator's secret."""
    return signature_ok(secret, body, meta.get(SIGNATURE_HEADER))


def parse_envelope(data: dict) -> Envelope:
    event_id = require(data, "event_id", str, "")
    if not 1 <= len(event_id) <= MAX_EVENT_ID:
        raise WebhookError(f"field 'event_id' must be 1 to {MAX_EVENT_ID} characters")
    return Envelope(
        event_id=event_id,
        event=require(data, "event", str, "")[:MAX_EVENT],  # longer can only be an unknown event
        account_id=require(data, "account_id", str, ""),
        created_at=parse_time(require(data, "created_at", str, ""), "created_at"),
        payload=require(data, "payload", dict, ""),
    )


def inbound(data: dict, meta: dict) -> Envelope:
    """The envelope of a request body already read as JSON (the dedupe key is in the body here)."""
    return parse_envelope(data)


def parse_fan(payload: dict) -> FanRef:
    return fan_ref(require(payload, "fan", dict, "payload."), "payload.fan.")


def parse_event(env: Envelope) -> Event | None:
    """The typed event of a known envelope (None for an event we do not handle); WebhookError names
    the first field missing or wrong, so a bad event is refused at the door (400)."""
    if env.event not in KNOWN_EVENTS:
        return None
    p = env.payload
    fan = parse_fan(p)
    if env.event == MESSAGE_RECEIVED:
        msg = require(p, "message", dict, "payload.")
        sent_at = parse_time(msg["createdAt"], "payload.message.createdAt") if "createdAt" in msg else None
        return FanMessage(
            fan, require(msg, "id", int, "payload.message."), require(msg, "text", str, "payload.message."), sent_at
        )
    if env.event == PPV_UNLOCKED:
        return Purchase(fan, require(p, "message_id", int, "payload."), require(p, "amount", Decimal, "payload."))
    if env.event == TIP_RECEIVED:
        return Tip(fan, require(p, "amount", Decimal, "payload."))
    return NewSubscriber(fan)


def parse_body(body: bytes) -> tuple[Envelope, Event | None]:
    envelope = parse_envelope(parse_json(body))
    return envelope, parse_event(envelope)


def parse_stored(body: bytes, event_id: str | None) -> tuple[Envelope, Event | None]:
    """A stored event's envelope and typed event (the key is in the body: event_id is not needed)."""
    return parse_body(body)


class Client(HttpClient):
    """The simple contract's calls: `{base}/api/{account_id}/…`."""

    def __init__(self, creator, **kw):
        super().__init__(creator, creator.api_base_url.rstrip("/") + f"/api/{creator.account_id}", **kw)

    def send_message(self, fan_id: int, text: str, media_ids=(), price=0, *, idempotency_key) -> SentMessage:
        body = {"text": text, "mediaFiles": [int(m) for m in media_ids], "price": float(price or 0)}
        data = self._call("POST", f"/chats/{int(fan_id)}/messages", json=body, idempotency_key=idempotency_key)
        try:
            return SentMessage(id=int(data["data"]["id"]), created_at=data["data"].get("createdAt", ""))
        except (KeyError, TypeError, ValueError):
            raise PermanentError(f"send to fan {fan_id}: unexpected reply {str(data)[:200]}") from None


PlatformClient = Client  # the name tests and scripts have used
