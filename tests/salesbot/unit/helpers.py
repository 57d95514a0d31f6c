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
    return WebhookEvent.objects.create(
        creator=creator, event_id=envelope["event_id"], event=event, raw_body=json.dumps(envelope)
    )


def message_payload(fan_id, text, msg_id, *, name="Sam", at=None):
    message = {"id": msg_id, "text": text}
    if at is not None:
        message["createdAt"] = iso(at)
    return {"fan": {"id": fan_id, "name": name}, "message": message}


class Chat:
    """One fan's conversation through the real intake, queue, worker and sender's last gate; only the
    platform call is faked in process (every send it accepts is kept in `sent`)."""

    def __init__(self, creator, monkeypatch, fan_id=4242, name="Sam"):
        from salesbot.providers.simple import PlatformClient, SentMessage

        self.creator, self.fan_id, self.name, self.sent, self._msg = creator, fan_id, name, [], 0

        def send_message(client, fan_id, text, media_ids=(), price=0, *, idempotency_key):
            self.sent.append({"text": text, "price": float(price or 0), "media": list(media_ids)})
            return SentMessage(id=900_000 + len(self.sent), created_at="")

        monkeypatch.setattr(PlatformClient, "send_message", send_message)

    def _process(self, event, payload):
        from salesbot.pipeline import intake, worker

        assert intake.process_event(store_event(self.creator, event, payload)) == "processed"
        worker.drain(self.creator)

    def subscribe(self):
        self._process("subscriptions.new", {"fan": {"id": self.fan_id, "name": self.name}})
        return self

    def says(self, text) -> list[dict]:
        """The fan writes; returns what the bot sent back."""
        before = len(self.sent)
        self._msg += 1
        self._process("messages.received", message_payload(self.fan_id, text, 70_000 + self._msg, name=self.name))
        return self.sent[before:]

    @property
    def fan(self):
        from fans.models import Fan

        return Fan.objects.get(creator=self.creator, fan_id=self.fan_id)


# One line per answer kind, as a creator writing her first content map might.
ONE_LINE_ANSWERS = {
    "price": ["it's ${price} babe 🙈"],
    "offer_yes": ["it's waiting in your messages 😘"],
    "offer_no": ["no worries babe 💕"],
    "more": ["you want more? 😏"],
    "about_me": ["i'm a homebody 🥰 you?"],
    "compliment": ["aww stop it 🙈"],
    "hello": ["heyy you 😊"],
}


def one_variant_creator(slug="fresh", answers=True, **fields):
    """The demo creator with one variant per template (and per answer kind, unless `answers` is off)."""
    from pathlib import Path

    from models_registry.services import onboard_creator

    root = Path(__file__).resolve().parents[3] / "demo"
    data = json.loads((root / "content-map.json").read_text(encoding="utf-8"))
    for t in data["templates"].values():
        t["variants"] = t["variants"][:1]
    if answers:
        data["templates"].update({kind: {"variants": lines} for kind, lines in ONE_LINE_ANSWERS.items()})
    return onboard_creator(
        data, (root / "playbook.md").read_text(encoding="utf-8"), slug=slug, account_id=f"acct_{slug}", **fields
    )
