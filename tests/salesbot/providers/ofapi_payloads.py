"""OnlyFansAPI.com webhook bodies shaped as ../shared/providers/onlyfansapi.md describes them, and a poster
that signs them the provider's way (plain hex HMAC in `Signature`, key in X-OFAPI-Idempotency-Key)."""

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime

URL = "/api/providers/onlyfansapi/webhook"
SECRET = "test-webhook-secret"
ACCOUNT = "acct_of"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def body(event, payload, account=ACCOUNT) -> bytes:
    return json.dumps({"event": event, "account_id": account, "payload": payload}).encode()


def post(client, event, payload, *, key=None, secret=SECRET, signature=None, redelivery=False, account=ACCOUNT):
    raw = body(event, payload, account)
    headers = {"HTTP_USER_AGENT": "OnlyFansAPI.com/Webhook-Client"}
    if signature is not False:
        headers["HTTP_SIGNATURE"] = signature or hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    if key is not False:
        headers["HTTP_X_OFAPI_IDEMPOTENCY_KEY"] = key or f"evt_{uuid.uuid4().hex}"
    if redelivery:
        headers["HTTP_X_OFAPI_REDELIVERY_OF"] = "dlv_1"
    return client.post(URL, data=raw, content_type="application/json", **headers)


def user(fan_id, name="Sam"):
    return {"id": fan_id, "name": name, "username": f"u{fan_id}"}


def received(fan_id, msg_id, text, at=None):
    return {
        "id": msg_id,
        "text": text,
        "createdAt": at or now_iso(),
        "price": 0,
        "isFree": True,
        "isTip": False,
        "mediaCount": 0,
        "media": [],
        "fromUser": user(fan_id),
    }


def sent(fan_id, msg_id, text, price=0, at=None):
    return {
        "id": msg_id,
        "text": text,
        "createdAt": at or now_iso(),
        "price": price,
        "isFree": not price,
        "isTip": False,
        "mediaCount": 1 if price else 0,
        "media": [],
        "toUser": {"id": fan_id},
    }


def unlocked(fan_id, msg_id, amount="$13.00", at=None):
    link = f'<a href="https://onlyfans.com/my/chats/chat/{fan_id}?firstId={msg_id}">message</a>'
    return {
        "user_id": "999",
        "user": {"id": str(fan_id), "name": "Sam", "username": "sam"},
        "createdAt": at or now_iso(),
        "replacePairs": {"{AMOUNT}": amount, "{MESSAGE_LINK}": link},
    }


def tip(fan_id, gross=10.0, at=None):
    return {
        "user_id": "999",
        "user": {"id": str(fan_id), "name": "Sam"},
        "amountGross": gross,
        "amountNet": round(gross * 0.8, 2),
        "createdAt": at or now_iso(),
        "text": "tipped you",
    }


def transaction(fan_id, amount=10.0, kind="tip", status="done", at=None):
    return {
        "id": f"tr_{uuid.uuid4().hex[:8]}",
        "type": kind,
        "status": status,
        "amount": amount,
        "net_amount": round(amount * 0.8, 2),
        "created_at": at or now_iso(),
        "fan": {"id": fan_id, "name": "Sam"},
    }


def subscription(fan_id, price="$4.00", at=None):
    return {
        "user_id": "999",
        "user": user(fan_id),
        "replacePairs": {"{PRICE}": price},
        "subType": "paid",
        "createdAt": at or now_iso(),
    }
