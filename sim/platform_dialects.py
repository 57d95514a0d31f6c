"""The two wire formats the fake platform can speak: `simple` (../shared/platform-api.md) and
`onlyfansapi` (../shared/providers/onlyfansapi.md). Each turns what happened on the platform (a fan
wrote, subscribed, unlocked, tipped; the account sent) into the webhooks that provider posts, and signs
them its way. Standard library only, like the rest of the fake."""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import random
import uuid
from datetime import UTC, datetime

CREATOR_USER_ID = 1


def iso_now(ms=True) -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z" if ms else now.strftime("%Y-%m-%dT%H:%M:%SZ")


class Simple:
    name = "simple"

    def wrap(self, account_id, secret, event, payload, key=None) -> tuple[str, bytes, dict]:
        """(dedupe key, body, headers) of one signed delivery."""
        key = key or "evt_" + uuid.uuid4().hex
        body = json.dumps(
            {
                "event_id": key,
                "event": event,
                "account_id": account_id,
                "created_at": iso_now(ms=False),
                "payload": payload,
            }
        ).encode()
        sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return key, body, {"X-Signature": sig}

    def fan_message(self, fan, entry):
        return [
            (
                "messages.received",
                {"fan": fan, "message": {"id": entry["id"], "text": entry["text"], "createdAt": entry["createdAt"]}},
            )
        ]

    def subscribed(self, fan):
        return [("subscriptions.new", {"fan": fan})]

    def unlocked(self, fan, message_id, amount):
        return [("messages.ppv.unlocked", {"fan": fan, "message_id": message_id, "amount": amount})]

    def tipped(self, fan, amount, rng=None):
        return [("tips.received", {"fan": fan, "amount": amount})]

    def account_sent(self, fan_id, msg):
        return []  # the simple contract does not tell us what the account sent

    def presence(self, fan, kind):
        return []  # nor whether a fan types or is online


class OnlyFansAPI:
    """Shapes as captured from the provider: HTML text, the fan under fromUser/toUser/user, string amounts,
    the unlocked message id only inside a link, a tip also told as transactions.new (in either order)."""

    name = "onlyfansapi"

    # No idempotency key on these (the provider's delivery docs).
    EPHEMERAL = ("users.typing", "users.online", "users.offline")

    def wrap(self, account_id, secret, event, payload, key=None):
        key = key or "evt_" + uuid.uuid4().hex
        body = json.dumps({"event": event, "account_id": account_id, "payload": payload}).encode()
        headers = {"User-Agent": "OnlyFansAPI.com/Webhook-Client"}
        if secret:  # sent only when the webhook has a secret
            headers["Signature"] = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if event not in self.EPHEMERAL:
            headers["X-OFAPI-Idempotency-Key"] = key
        return key, body, headers

    @staticmethod
    def _user(fan):
        return {"id": str(fan["id"]), "name": fan.get("name", ""), "username": f"u{fan['id']}"}

    def _message(self, msg_id, text, created, price=0, media=()):
        return {
            "id": msg_id,
            "text": f"<p>{html.escape(text, quote=False)}</p>" if not text.startswith("<") else text,
            "createdAt": created,
            "price": price,
            "isFree": not price,
            "isTip": False,
            "mediaCount": len(media),
            "media": [{"id": m, "type": "photo"} for m in media],
        }

    def fan_message(self, fan, entry):
        return [
            (
                "messages.received",
                {
                    **self._message(entry["id"], entry["text"], entry["createdAt"]),
                    "fromUser": {"id": fan["id"], "name": fan.get("name", ""), "username": f"u{fan['id']}"},
                },
            )
        ]

    def subscribed(self, fan):
        return [
            (
                "subscriptions.new",
                {
                    "user_id": str(CREATOR_USER_ID),
                    "user": self._user(fan),
                    "subType": "paid",
                    "replacePairs": {"{PRICE}": "$4.99"},
                    "createdAt": iso_now(),
                },
            )
        ]

    def unlocked(self, fan, message_id, amount):
        link = f'<a href="https://onlyfans.com/my/chats/chat/{fan["id"]}?firstId={message_id}">message</a>'
        return [
            (
                "messages.ppv.unlocked",
                {
                    "user_id": str(CREATOR_USER_ID),
                    "user": self._user(fan),
                    "createdAt": iso_now(),
                    "replacePairs": {"{AMOUNT}": f"${float(amount):.2f}", "{MESSAGE_LINK}": link},
                },
            )
        ]

    def tipped(self, fan, amount, rng=None):
        at = iso_now()
        tip = (
            "tips.received",
            {
                "user_id": str(CREATOR_USER_ID),
                "user": self._user(fan),
                "createdAt": at,
                "amountGross": float(amount),
                "amountNet": round(float(amount) * 0.8, 2),
                "text": "tipped you",
            },
        )
        txn = (
            "transactions.new",
            {
                "id": "tr_" + uuid.uuid4().hex[:10],
                "type": "tip",
                "status": "done",
                "amount": float(amount),
                "net_amount": round(float(amount) * 0.8, 2),
                "created_at": at,
                "fan": {"id": fan["id"], "name": fan.get("name", "")},
            },
        )
        pair = [tip, txn]
        if (rng or random).random() < 0.5:
            pair.reverse()  # the provider promises no order
        return pair

    def account_sent(self, fan_id, msg):
        """The SDK's message object (fromUser is the account, isSentByMe, isFromQueue/queueId for a mass
        message's copy) plus the captured toUser."""
        queue_id = msg.get("queue_id")
        return [
            (
                "messages.sent",
                {
                    **self._message(
                        msg["id"], msg["text"], msg["createdAt"], msg.get("price", 0), msg.get("mediaFiles", [])
                    ),
                    "fromUser": {"id": CREATOR_USER_ID},
                    "isSentByMe": True,
                    "isFromQueue": queue_id is not None,
                    "queueId": queue_id,
                    "toUser": {"id": fan_id},
                },
            )
        ]

    def presence(self, fan, kind):
        return [
            (f"users.{kind}", {"user": {"id": fan["id"], "name": fan.get("name", ""), "username": f"u{fan['id']}"}})
        ]


DIALECTS = {"simple": Simple, "onlyfansapi": OnlyFansAPI}


def price_errors(body) -> dict:
    """OnlyFansAPI.com's send rules as 422 field errors: price 0 or 3–200, a paid message needs media,
    previews must be among the media."""
    errors = {}
    price, media = body.get("price", 0), body.get("mediaFiles", [])
    if isinstance(price, (int, float)) and not isinstance(price, bool) and price and not 3 <= price <= 200:
        errors["price"] = ["The price must be 0 or between 3 and 200."]
    if isinstance(price, (int, float)) and price and not media:
        errors["mediaFiles"] = ["A paid message needs at least one media file."]
    previews = body.get("previews") or []
    if isinstance(previews, list) and isinstance(media, list) and not set(previews) <= set(media):
        errors["previews"] = ["Previews must be a subset of mediaFiles."]
    return errors
