"""In-memory state of the fake creator platform, and its signed webhook delivery.

Kept apart from the HTTP layer so the rules (validation, idempotency, injected failures, delivery with
retries) read in one place. Standard library only: the fake must start fast and never import Django.
"""

from __future__ import annotations

import email.utils
import json
import math
import random
import threading
import time
import urllib.error
import urllib.request
import uuid

from sim.platform_dialects import CREATOR_USER_ID, DIALECTS, iso_now, price_errors
from sim.platform_mass import MassMessaging

# The demo vault (demo/content-map.json): media id -> type.
VAULT = [(m, "photo") for m in (101, 102, 103, 201, 202, 203, 204, 205, 206, 207)] + [
    (208, "video"),
    (301, "video"),
    (302, "video"),
]
VAULT_LIST = [{"id": m, "type": t, "createdAt": f"2026-01-{i + 1:02d}T12:00:00Z"} for i, (m, t) in enumerate(VAULT)]
RETRIES = 5
WEBHOOK_TIMEOUT_S = 10


class ApiError(Exception):
    def __init__(self, status, message, headers=None, body=None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}
        self.body = body or {"error": message}


def validate_send(body) -> tuple[str, list, float | int, str]:
    """The send body per contract, or ApiError(400). Returns text, media, price, kind."""
    if not isinstance(body, dict):
        raise ApiError(400, "body must be a JSON object")
    text = body.get("text", "")
    media = body.get("mediaFiles", [])
    price = body.get("price", 0)
    if not isinstance(text, str):
        raise ApiError(400, "text must be a string")
    if not isinstance(media, list) or any(isinstance(m, bool) or not isinstance(m, int) for m in media):
        raise ApiError(400, "mediaFiles must be a list of integer media ids")
    if isinstance(price, bool) or not isinstance(price, (int, float)) or not math.isfinite(price) or price < 0:
        raise ApiError(400, "price must be a number >= 0")
    if price > 0 and not media:
        raise ApiError(400, "a PPV (price > 0) needs mediaFiles")
    if not text.strip() and not media:
        raise ApiError(400, "empty message: give text or mediaFiles")
    kind = "ppv" if price > 0 else ("free" if media else "text")
    return text, media, price, kind


class FakePlatform(MassMessaging):
    """One creator account: sent messages, chats, idempotency keys, failure plans, webhooks, counters."""

    def __init__(
        self,
        account_id,
        api_key,
        webhook_url=None,
        webhook_secret="",
        backoff=0.5,
        log=print,
        dialect="simple",
        redeliver_rate=0.0,
        rate_limit=0,
        seed=None,
    ):
        self.dialect = DIALECTS[dialect]()
        self.redeliver_rate, self.rate_limit = redeliver_rate, rate_limit  # rate_limit: sends a minute, 0: none
        self.rng = random.Random(seed)
        self.account_id, self.api_key = account_id, api_key
        self.webhook_url, self.webhook_secret = webhook_url, webhook_secret
        self.backoff, self.log = backoff, log
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.next_id = 5_000_001
        self.names: dict[int, str] = {}  # fan id -> name, for logs and payloads
        self.listeners = []  # callables(message dict) told about every accepted send
        self._warned_no_target = False
        self.reset()

    # -- state -------------------------------------------------------------------------------------
    def reset(self):
        """Forget messages, chats, idempotency keys, failure plans, registrations and counters."""
        with self.lock:
            self.messages: list[dict] = []
            self.chats: dict[int, list[dict]] = {}
            self.idem: dict[str, dict] = {}
            self.fail_plans: list[dict] = []
            self.webhooks: dict[str, dict] = {}  # webhook id -> {id, url, events, account_ids, secret, …}
            self.in_flight: set[str] = set()  # idempotency keys whose first request is still running
            self.outbox: list[dict] = []  # every delivery made (or that had no target), for tests
            self.chargebacks: list[dict] = []
            self.reset_mass()
            self.typing_shown: list[int] = []  # fans shown "Model is typing…"
            self.account_state = "ok"  # ok | session_expired | authentication_failed | otp_code_required
            self.human_messages: list[dict] = []
            self.recent_sends: list[float] = []
            fans = getattr(self, "stats", {}).get("fans", 0)
            self.stats = {
                "sends": 0,
                "sends_by_kind": {"text": 0, "free": 0, "ppv": 0},
                "webhooks_posted": 0,
                "webhooks_failed": 0,
                "webhooks_dropped": 0,
                "purchases": 0,
                "tips": 0,
                "replies": 0,
                "openers": 0,
                "fans": fans,
                "revenue": 0.0,
                "tips_amount": 0.0,
                "delayed": 0,
                "human_messages": 0,
                "echoes": 0,
                "redeliveries": 0,
                "rate_limited": 0,
                "conflicts": 0,
            }

    def _new_id(self) -> int:
        with self.lock:
            self.next_id += 1
            return self.next_id - 1

    def add_fail_plan(self, body) -> dict:
        """The next `times` sends fail with `status`; with `delay` (seconds) they first stall that long,
        and a plan with a delay but no status is a slow platform that then answers normally."""
        if not isinstance(body, dict):
            raise ApiError(400, "body must be a JSON object")
        delay = body.get("delay", 0)
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= 300:
            raise ApiError(400, "delay must be a number of seconds in 0..300")
        status = body.get("status", None if delay and "status" not in body else 500)
        times, retry_after = body.get("times", 1), body.get("retry_after", 1)
        form = body.get("retry_after_format", "seconds" if status == 429 or "retry_after" in body else None)
        if form not in (None, "seconds", "date", "ms"):
            raise ApiError(400, "retry_after_format must be seconds, date or ms")
        if status is not None and (not isinstance(status, int) or not 400 <= status <= 599):
            raise ApiError(400, "status must be an HTTP error status (4xx/5xx)")
        if not isinstance(times, int) or times < 1:
            raise ApiError(400, "times must be a positive integer")
        if isinstance(retry_after, bool) or not isinstance(retry_after, (int, float)) or retry_after < 0:
            raise ApiError(400, "retry_after must be a number >= 0")
        plan = {
            "status": status,
            "times": times,
            "retry_after": retry_after,
            "retry_after_format": form,
            "not_sent": bool(body.get("not_sent")),
        }
        if delay:
            plan["delay"] = delay
        with self.lock:
            self.fail_plans.append(plan)
        return dict(plan)

    def send(self, fan_id: int, body, idem_key: str | None) -> dict:
        """Record one outbound message (or replay / fail); returns the contract's reply body. In the
        onlyfansapi dialect a second request with a key whose first request is still running gets 409
        IDEMPOTENCY_CONFLICT (the provider's docs), and a finished key's result is replayed."""
        if not idem_key:
            raise ApiError(400, "missing Idempotency-Key header")
        ofapi = self.dialect.name == "onlyfansapi"
        with self.lock:
            if ofapi and idem_key in self.in_flight:
                self.stats["conflicts"] += 1
                raise ApiError(
                    409,
                    "IDEMPOTENCY_CONFLICT",
                    body={
                        "error": "IDEMPOTENCY_CONFLICT",
                        "message": "A request with this Idempotency-Key is still being processed. Retry later.",
                    },
                )
            if ofapi and idem_key in self.idem:
                return self.idem[idem_key]
            if ofapi and self.account_state != "ok":
                raise ApiError(
                    400,
                    "ONLYFANS_COM_ERROR",
                    body={
                        "error": "ONLYFANS_COM_ERROR",
                        "message": f"account session: {self.account_state}",
                        "request_outcome": "not_sent",
                    },
                )
            plan = None
            if self.fail_plans:
                plan = self.fail_plans[0]
                plan["times"] -= 1
                if plan["times"] <= 0:
                    self.fail_plans.pop(0)
                plan = dict(plan)
                self.stats["delayed"] += bool(plan.get("delay"))
            self.in_flight.add(idem_key)
        try:
            if plan and plan.get("delay"):
                self.log(f"fail  stalling a send to {self.fan_label(fan_id)} for {plan['delay']} s")
                if self.stopping.wait(plan["delay"]):
                    raise ApiError(503, "shutting down")
            if plan and plan["status"] is not None:
                raise ApiError(
                    plan["status"],
                    f"injected failure ({plan['status']})",
                    _retry_headers(plan),
                    body={
                        "error": f"injected failure ({plan['status']})",
                        **({"request_outcome": "not_sent"} if plan.get("not_sent") else {}),
                    },
                )
            return self._record_send(fan_id, body, idem_key)
        finally:
            with self.lock:
                self.in_flight.discard(idem_key)

    def _record_send(self, fan_id: int, body, idem_key: str) -> dict:
        with self.lock:
            if idem_key in self.idem:
                return self.idem[idem_key]
            text, media, price, kind = validate_send(body)
            remaining = self._take_rate(body)
            msg = {
                "id": self._new_id(),
                "fan_id": fan_id,
                "text": text,
                "mediaFiles": media,
                "price": price,
                "idempotency_key": idem_key,
                "createdAt": iso_now(),
            }
            self.messages.append(msg)
            self.chats.setdefault(fan_id, []).append(
                {
                    "id": msg["id"],
                    "text": text,
                    "fromUser": {"id": CREATOR_USER_ID},
                    "createdAt": msg["createdAt"],
                    "price": price,
                    "isOpened": price == 0,
                }
            )
            self.stats["sends"] += 1
            self.stats["sends_by_kind"][kind] += 1
            reply = {"data": {"id": msg["id"], "createdAt": msg["createdAt"]}}
            if self.dialect.name == "onlyfansapi":
                reply["data"].update(
                    {"text": text, "price": price, "isFree": not price, "mediaCount": len(media), "queueId": None}
                )
                reply["_meta"] = {
                    "_credits": {"used": 1},
                    "_rate_limits": {"limit_minute": self.rate_limit or 1000, "remaining_minute": remaining},
                }
            self.idem[idem_key] = reply
            listeners = list(self.listeners)
        label = {"text": "text", "free": f"free media {media}", "ppv": f"PPV ${price:.2f} media {media}"}[kind]
        self.log(f"bot>  {self.fan_label(fan_id)}: {label} “{_short(text)}”")
        for listener in listeners:
            listener(dict(msg))
        if self.dialect.account_sent(fan_id, msg):  # the provider echoes every message the account sends
            with self.lock:
                self.stats["echoes"] += 1
            threading.Timer(0.2, self.tell, args=(self.dialect.account_sent(fan_id, msg),)).start()
        return reply

    def _take_rate(self, body) -> int:
        """OnlyFansAPI.com's send rules and per-minute limit (under self.lock); the sends left this minute."""
        if self.dialect.name != "onlyfansapi":
            return 0
        errors = price_errors(body)
        if errors:
            raise ApiError(422, "validation failed", body={"errors": errors})
        if body.get("blockBannedWords") in ("strict_ban", "risky", "replace_soften"):
            found = banned_in(body.get("text", ""))
            if found:
                raise ApiError(
                    422,
                    "banned words",
                    body={
                        "message": "The given data was invalid.",
                        "errors": {"text": [f"The message contains banned words: {', '.join(found)}"]},
                    },
                )
        now = time.monotonic()
        self.recent_sends = [t for t in self.recent_sends if now - t < 60]
        limit = self.rate_limit or 1000
        if len(self.recent_sends) >= limit:
            self.stats["rate_limited"] += 1
            retry = max(1, int(60 - (now - self.recent_sends[0])) + 1)
            raise ApiError(429, "Too Many Requests", {"Retry-After": str(retry)})
        self.recent_sends.append(now)
        return limit - len(self.recent_sends)

    def human_send(self, fan_id: int, text: str, price=0, media=()) -> dict:
        """A person typing in the platform's own UI: the provider tells us with messages.sent."""
        msg = {
            "id": self._new_id(),
            "fan_id": fan_id,
            "text": text,
            "price": price,
            "mediaFiles": list(media),
            "createdAt": iso_now(),
        }
        with self.lock:
            self.human_messages.append(msg)
            self.stats["human_messages"] += 1
            self.chats.setdefault(fan_id, []).append(
                {
                    "id": msg["id"],
                    "text": text,
                    "fromUser": {"id": CREATOR_USER_ID},
                    "createdAt": msg["createdAt"],
                    "price": price,
                    "isOpened": not price,
                }
            )
        self.log(f"human {self.fan_label(fan_id)}: “{_short(text)}” (typed in the platform's UI)")
        result = self.tell(self.dialect.account_sent(fan_id, msg))
        return {"message": msg, "webhooks": result}

    def tell(self, events: list) -> list:
        """Post what happened, as the dialect's webhooks (some events are two webhooks)."""
        return [self.emit(event, payload) for event, payload in events]

    def add_fan_message(self, fan_id: int, text: str) -> dict:
        """A message written by a fan, visible in recent chat."""
        entry = {
            "id": self._new_id(),
            "text": text,
            "fromUser": {"id": fan_id},
            "createdAt": iso_now(),
            "price": 0,
            "isOpened": True,
        }
        with self.lock:
            self.chats.setdefault(fan_id, []).append(entry)
        return entry

    def unlock(self, fan_id: int, message_id: int, amount) -> None:
        with self.lock:
            for entry in self.chats.get(fan_id, []):
                if entry["id"] == message_id:
                    entry["isOpened"] = True
            self.stats["purchases"] += 1
            self.stats["revenue"] += float(amount)

    def fan_pays(self, fan_id: int, amount, message_id: int | None = None) -> list:
        """A fan unlocks our PPV `message_id` (or tips, without one): recorded in the platform's stats (revenue,
        tips_amount) and told by webhook, as the simulator's fans do."""
        if message_id is not None:
            self.unlock(fan_id, message_id, amount)
            events = self.dialect.unlocked({"id": fan_id, "name": f"Fan{fan_id}"}, message_id, amount)
        else:
            with self.lock:
                self.stats["tips"] += 1
                self.stats["tips_amount"] += float(amount)
                events = self.dialect.tipped({"id": fan_id, "name": f"Fan{fan_id}"}, amount, self.rng)
        return self.tell(events)

    def recent_chat(self, fan_id: int, limit: int) -> list[dict]:
        """Last `limit` messages both ways, oldest first."""
        with self.lock:
            return [json.loads(json.dumps(e)) for e in self.chats.get(fan_id, [])[-limit:]]

    def register_webhook(self, body, wh_id=None) -> str:
        """Simple: {url, events}. onlyfansapi (the SDK's WebhookCreateParams): {endpoint_url, events,
        account_scope, account_ids, signing_secret}. With `wh_id`: an update (the SDK's
        WebhookUpdateParams: {endpoint_url, events, account_scope, account_ids, enabled}); it replaces the
        account ids and cannot set the secret (a `signing_secret` in a PUT is ignored, as the SDK has none)."""
        if isinstance(body, dict) and "endpoint_url" in body:
            body = {**body, "url": body["endpoint_url"]}
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("url"), str)
            or not body["url"].startswith(("http://", "https://"))
        ):
            raise ApiError(400, "url must be an http(s) URL")
        events = body.get("events", [])
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            raise ApiError(400, "events must be a list of strings")
        accounts = body.get("account_ids")
        if accounts is not None and (not isinstance(accounts, list) or not all(isinstance(a, str) for a in accounts)):
            raise ApiError(422, "validation failed", body={"errors": {"account_ids": ["must be a list of ids"]}})
        updating = wh_id is not None
        with self.lock:
            if updating:
                hook = self.webhooks.get(wh_id)
                if hook is None:
                    raise ApiError(404, f"no webhook {wh_id}")
                hook.update(
                    url=body["url"],
                    events=events,
                    account_ids=accounts,
                    account_scope=body.get("account_scope", hook["account_scope"]),
                    enabled=body.get("enabled", hook["enabled"]) is not False,
                )
            else:
                wh_id = "wh_" + uuid.uuid4().hex[:16]
                self.webhooks[wh_id] = {
                    "id": wh_id,
                    "url": body["url"],
                    "events": events,
                    "account_ids": accounts,
                    "account_scope": body.get("account_scope", "global"),
                    "enabled": True,
                    "secret": body.get("signing_secret") or "",
                    "created_at": iso_now(),
                }
        self.log(
            f"hook  webhook {'updated' if updating else 'registered'} {wh_id} → {body['url']} "
            f"({', '.join(events) or 'all events'})"
        )
        return wh_id

    def delete_webhook(self, wh_id: str) -> None:
        with self.lock:
            if self.webhooks.pop(wh_id, None) is None:
                raise ApiError(404, f"no webhook {wh_id}")
        self.log(f"hook  webhook {wh_id} deleted")

    def list_webhooks(self) -> list[dict]:
        """As the SDK's WebhookListResponse: no account ids, no scope, no secret."""
        with self.lock:
            return [
                {
                    "id": w["id"],
                    "url": w["url"],
                    "events": list(w["events"]),
                    "enabled": w["enabled"],
                    "has_signing_secret": bool(w["secret"]),
                    "created_at": w["created_at"],
                }
                for w in self.webhooks.values()
            ]

    def set_account_state(self, state: str) -> dict:
        """The account's session dies or comes back; the provider tells with accounts.* events."""
        if state not in ("ok", "session_expired", "authentication_failed", "otp_code_required"):
            raise ApiError(400, "state must be ok, session_expired, authentication_failed or otp_code_required")
        with self.lock:
            self.account_state = state
        event = "accounts.reconnected" if state == "ok" else f"accounts.{state}"
        return self.emit(
            event,
            {
                "state": "authenticated" if state == "ok" else state,
                "progress": "done" if state == "ok" else "failed",
                "latestAuthAttempt": {"status": state, "createdAt": iso_now()},
            },
        )

    def add_chargeback(self, body) -> dict:
        """A chargeback as `GET /{account}/chargebacks` lists it (the SDK's ChargebackListResponse)."""
        if not isinstance(body, dict) or not isinstance(body.get("fan_id"), int):
            raise ApiError(400, 'need {"fan_id": int, "amount": number, "description"?: str}')
        amount = body.get("amount", 10)
        item = {
            "id": self._new_id(),
            "createdAt": iso_now(),
            "paymentType": body.get("payment_type", "message"),
            "payment": {
                "id": "pay_" + uuid.uuid4().hex[:10],
                "amount": amount,
                "net": round(amount * 0.8, 2),
                "fee": round(amount * 0.2, 2),
                "currency": "USD",
                "status": "undo",
                "description": body.get("description", "Payment for message"),
                "createdAt": iso_now(),
                "user": {"id": body["fan_id"], "name": "Sam", "username": f"u{body['fan_id']}"},
            },
        }
        with self.lock:
            self.chargebacks.append(item)
        return item

    def fan_label(self, fan_id: int) -> str:
        name = self.names.get(fan_id)
        return f"{name} #{fan_id}" if name else f"fan #{fan_id}"

    def snapshot_stats(self) -> dict:
        with self.lock:
            return json.loads(json.dumps(self.stats))

    # -- webhooks ----------------------------------------------------------------------------------
    def _targets(self, event: str) -> list[tuple[str | None, str, str]]:
        """(webhook id, url, secret) of every enabled webhook that takes this event for this account."""
        with self.lock:
            if not self.webhooks:
                return [(None, self.webhook_url, self.webhook_secret)] if self.webhook_url else []
            return [
                (w["id"], w["url"], w["secret"] or self.webhook_secret)
                for w in self.webhooks.values()
                if w["enabled"]
                and (not w["events"] or event in w["events"])
                and (w["account_scope"] == "global" or w["account_ids"] is None or self.account_id in w["account_ids"])
            ]

    def emit(self, event: str, payload: dict, event_id: str | None = None) -> dict:
        """Post one event to every webhook that takes it, each delivery signed with that webhook's secret:
        first attempt now, retries in the background; in the onlyfansapi dialect some are redelivered later
        (same key, X-OFAPI-Redelivery-Of). Ephemeral events carry no idempotency key."""
        targets = self._targets(event)
        if not targets and not self._warned_no_target:
            self._warned_no_target = True
            self.log("hook  no webhook url yet: events are dropped until one is registered")
        key = event_id or "evt_" + uuid.uuid4().hex
        if not targets:
            _, body, headers = self.dialect.wrap(self.account_id, self.webhook_secret, event, payload, key)
            self._to_outbox(None, None, event, body, headers)
        deliveries = []
        for wh_id, url, secret in targets:
            _, body, headers = self.dialect.wrap(self.account_id, secret, event, payload, key)
            self._to_outbox(wh_id, url, event, body, headers)
            status = self._attempt(url, body, headers)
            deliveries.append({"url": url, "webhook_id": wh_id, "status": status})
            if not _ok(status):
                self.log(f"hook  {event} {key[:12]} → {status or 'connection error'}; will retry")
                threading.Thread(target=self._retry, args=(url, body, event, headers), daemon=True).start()
            elif (
                self.redeliver_rate and self.rng.random() < self.redeliver_rate and "X-OFAPI-Idempotency-Key" in headers
            ):
                again = {**headers, "X-OFAPI-Redelivery-Of": "dlv_" + uuid.uuid4().hex[:10]}
                threading.Timer(self.rng.uniform(0.5, 3.0), self._redeliver, args=(url, body, again)).start()
        return {"event_id": key, "deliveries": deliveries, "status": deliveries[0]["status"] if deliveries else None}

    def _to_outbox(self, wh_id, url, event, body: bytes, headers: dict) -> None:
        with self.lock:
            self.outbox.append(
                {"webhook_id": wh_id, "url": url, "event": event, "body": body.decode(), "headers": dict(headers)}
            )

    def _redeliver(self, url, body, headers):
        with self.lock:
            self.stats["redeliveries"] += 1
        self._attempt(url, body, headers)

    def _attempt(self, url: str, body: bytes, headers: dict) -> int | None:
        req = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
        )
        try:
            with urllib.request.urlopen(req, timeout=WEBHOOK_TIMEOUT_S) as resp:
                resp.read()
                status = resp.status
        except urllib.error.HTTPError as e:
            status = e.code
        except (OSError, ValueError):
            status = None
        with self.lock:
            self.stats["webhooks_posted" if _ok(status) else "webhooks_failed"] += 1
        return status

    def _retry(self, url: str, body: bytes, event: str, headers: dict) -> None:
        for i in range(RETRIES):
            if self.stopping.wait(self.backoff * 2**i):
                return
            if _ok(self._attempt(url, body, headers)):
                return
        with self.lock:
            self.stats["webhooks_dropped"] += 1
        self.log(f"hook  {event} to {url} dropped after {RETRIES} retries")


# Words the fake's banned-words screen refuses (OnlyFans bans sending fans off the platform to pay).
BANNED_WORDS = ("paypal", "venmo", "cashapp", "zelle")


def banned_in(text: str) -> list[str]:
    low = (text or "").lower()
    return [w for w in BANNED_WORDS if w in low]


def _retry_headers(plan) -> dict:
    """Retry-After as the plan asks: seconds, an HTTP date, or retry-after-ms."""
    form, wait = plan.get("retry_after_format"), plan.get("retry_after", 1)
    if form == "seconds":
        return {"Retry-After": str(wait)}
    if form == "date":
        return {"Retry-After": email.utils.formatdate(time.time() + wait, usegmt=True)}
    if form == "ms":
        return {"retry-after-ms": str(int(wait * 1000))}
    return {}


def _ok(status) -> bool:
    return status is not None and 200 <= status < 300


def _short(text: str, n=60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
