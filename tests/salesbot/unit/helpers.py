"""Plain helpers shared by the salesbot unit tests (explicit clocks, sent actions, stored envelopes)."""
import json
import uuid
from datetime import timedelta

from django.utils import timezone

from learning.services import record_action
from salesbot.models import WebhookEvent


def hours(n) -> timedelta:
    return timedelta(hours=n)


def iso(dt) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def sent(fan, action, ts, **fields):
    """An action the bot really sent, at an explicit time."""
    fields.setdefault("status", "sent")
    return record_action(fan, action, ts=ts, **fields)


def store_event(creator, event, payload, *, event_id=None, created_at=None):
    """Store an envelope exactly as the platform contract shapes it (shared/platform-api.md)."""
    envelope = {
        "event_id": event_id or f"evt_{uuid.uuid4().hex[:12]}",
        "event": event,
        "account_id": creator.account_id,
        "created_at": iso(created_at or timezone.now()),
        "payload": payload,
    }
    return WebhookEvent.objects.create(creator=creator, event_id=envelope["event_id"], event=event,
                                       raw_body=json.dumps(envelope))


def message_payload(fan_id, text, msg_id, *, name="Sam", at=None):
    message = {"id": msg_id, "text": text}
    if at is not None:
        message["createdAt"] = iso(at)
    return {"fan": {"id": fan_id, "name": name}, "message": message}
