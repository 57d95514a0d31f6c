"""In-memory state of the fake creator platform, and its signed webhook delivery.

Kept apart from the HTTP layer so the rules (validation, idempotency, injected failures, delivery with
retries) read in one place. Standard library only: the fake must start fast and never import Django.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import math
import threading
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime

CREATOR_USER_ID = 1
# The demo vault (demo/content-map.json): media id -> type.
VAULT = ([(m, "photo") for m in (101, 102, 103, 201, 202, 203, 204, 205, 206, 207)]
         + [(208, "video"), (301, "video"), (302, "video")])
VAULT_LIST = [{"id": m, "type": t, "createdAt": f"2026-01-{i + 1:02d}T12:00:00Z"} for i, (m, t) in enumerate(VAULT)]
RETRIES = 5
WEBHOOK_TIMEOUT_S = 10


def iso_now(ms=True) -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z" if ms else now.strftime("%Y-%m-%dT%H:%M:%SZ")


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class ApiError(Exception):
    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


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


class FakePlatform:
    """One creator account: sent messages, chats, idempotency keys, failure plans, webhooks, counters."""

    def __init__(self, account_id, api_key, webhook_url=None, webhook_secret="", backoff=0.5, log=print):
        self.account_id, self.api_key = account_id, api_key
        self.webhook_url, self.webhook_secret = webhook_url, webhook_secret
        self.backoff, self.log = backoff, log
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.next_id = 5_000_001
        self.names: dict[int, str] = {}    # fan id -> name, for logs and payloads
        self.listeners = []                # callables(message dict) told about every accepted send
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
            self.webhooks: dict[str, dict] = {}
            fans = getattr(self, "stats", {}).get("fans", 0)
            self.stats = {"sends": 0, "sends_by_kind": {"text": 0, "free": 0, "ppv": 0},
                          "webhooks_posted": 0, "webhooks_failed": 0, "webhooks_dropped": 0,
                          "purchases": 0, "tips": 0, "replies": 0, "openers": 0, "fans": fans,
                          "revenue": 0.0, "tips_amount": 0.0, "delayed": 0}

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
        if status is not None and (not isinstance(status, int) or not 400 <= status <= 599):
            raise ApiError(400, "status must be an HTTP error status (4xx/5xx)")
        if not isinstance(times, int) or times < 1:
            raise ApiError(400, "times must be a positive integer")
        if isinstance(retry_after, bool) or not isinstance(retry_after, (int, float)) or retry_after < 0:
            raise ApiError(400, "retry_after must be a number >= 0")
        plan = {"status": status, "times": times, "retry_after": retry_after}
        if delay:
            plan["delay"] = delay
        with self.lock:
            self.fail_plans.append(plan)
        return dict(plan)

    def send(self, fan_id: int, body, idem_key: str | None) -> dict:
        """Record one outbound message (or replay / fail); returns the contract's reply body."""
        if not idem_key:
            raise ApiError(400, "missing Idempotency-Key header")
        plan = None
        with self.lock:
            if self.fail_plans:
                plan = self.fail_plans[0]
                plan["times"] -= 1
                if plan["times"] <= 0:
                    self.fail_plans.pop(0)
                plan = dict(plan)
                self.stats["delayed"] += bool(plan.get("delay"))
        if plan and plan.get("delay"):
            self.log(f"fail  stalling a send to {self.fan_label(fan_id)} for {plan['delay']} s")
            if self.stopping.wait(plan["delay"]):
                raise ApiError(503, "shutting down")
        if plan and plan["status"] is not None:
            headers = {"Retry-After": str(plan["retry_after"])} if plan["status"] == 429 else {}
            raise ApiError(plan["status"], f"injected failure ({plan['status']})", headers)
        with self.lock:
            if idem_key in self.idem:
                return self.idem[idem_key]
            text, media, price, kind = validate_send(body)
            msg = {"id": self._new_id(), "fan_id": fan_id, "text": text, "mediaFiles": media, "price": price,
                   "idempotency_key": idem_key, "createdAt": iso_now()}
            self.messages.append(msg)
            self.chats.setdefault(fan_id, []).append(
                {"id": msg["id"], "text": text, "fromUser": {"id": CREATOR_USER_ID}, "createdAt": msg["createdAt"],
                 "price": price, "isOpened": price == 0})
            self.stats["sends"] += 1
            self.stats["sends_by_kind"][kind] += 1
            reply = {"data": {"id": msg["id"], "createdAt": msg["createdAt"]}}
            self.idem[idem_key] = reply
            listeners = list(self.listeners)
        label = {"text": "text", "free": f"free media {media}", "ppv": f"PPV ${price:.2f} media {media}"}[kind]
        self.log(f"bot>  {self.fan_label(fan_id)}: {label} “{_short(text)}”")
        for listener in listeners:
            listener(dict(msg))
        return reply

    def add_fan_message(self, fan_id: int, text: str) -> dict:
        """A message written by a fan, visible in recent chat."""
        entry = {"id": self._new_id(), "text": text, "fromUser": {"id": fan_id}, "createdAt": iso_now(),
                 "price": 0, "isOpened": True}
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

    def recent_chat(self, fan_id: int, limit: int) -> list[dict]:
        """Last `limit` messages both ways, oldest first."""
        with self.lock:
            return [json.loads(json.dumps(e)) for e in self.chats.get(fan_id, [])[-limit:]]

    def register_webhook(self, body) -> str:
        if not isinstance(body, dict) or not isinstance(body.get("url"), str) \
                or not body["url"].startswith(("http://", "https://")):
            raise ApiError(400, "url must be an http(s) URL")
        events = body.get("events", [])
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            raise ApiError(400, "events must be a list of strings")
        wh_id = "wh_" + uuid.uuid4().hex[:16]
        with self.lock:
            self.webhooks[body["url"]] = {"id": wh_id, "url": body["url"], "events": events}
        self.log(f"hook  webhook registered → {body['url']} ({', '.join(events) or 'all events'})")
        return wh_id

    def fan_label(self, fan_id: int) -> str:
        name = self.names.get(fan_id)
        return f"{name} #{fan_id}" if name else f"fan #{fan_id}"

    def snapshot_stats(self) -> dict:
        with self.lock:
            return json.loads(json.dumps(self.stats))

    # -- webhooks ----------------------------------------------------------------------------------
    def _targets(self, event: str) -> list[str]:
        with self.lock:
            regs = [w["url"] for w in self.webhooks.values() if not w["events"] or event in w["events"]]
            if not self.webhooks and self.webhook_url:
                return [self.webhook_url]
        return regs

    def emit(self, event: str, payload: dict, event_id: str | None = None) -> dict:
        """Post one signed event to every target: first attempt now, retries in the background."""
        envelope = {"event_id": event_id or "evt_" + uuid.uuid4().hex, "event": event,
                    "account_id": self.account_id, "created_at": iso_now(ms=False), "payload": payload}
        body = json.dumps(envelope).encode()
        deliveries, targets = [], self._targets(event)
        if not targets and not self._warned_no_target:
            self._warned_no_target = True
            self.log("hook  no webhook url yet: events are dropped until one is registered")
        for url in targets:
            status = self._attempt(url, body)
            deliveries.append({"url": url, "status": status})
            if not _ok(status):
                self.log(f"hook  {event} {envelope['event_id'][:12]} → {status or 'connection error'}; will retry")
                threading.Thread(target=self._retry, args=(url, body, event), daemon=True).start()
        return {"event_id": envelope["event_id"], "deliveries": deliveries,
                "status": deliveries[0]["status"] if deliveries else None}

    def _attempt(self, url: str, body: bytes) -> int | None:
        req = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "X-Signature": sign(self.webhook_secret, body)})
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

    def _retry(self, url: str, body: bytes, event: str) -> None:
        for i in range(RETRIES):
            if self.stopping.wait(self.backoff * 2 ** i):
                return
            if _ok(self._attempt(url, body)):
                return
        with self.lock:
            self.stats["webhooks_dropped"] += 1
        self.log(f"hook  {event} to {url} dropped after {RETRIES} retries")


def _ok(status) -> bool:
    return status is not None and 200 <= status < 300


def _short(text: str, n=60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
