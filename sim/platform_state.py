"""In-memory state of the fake creator platform, and its signed webhook delivery.

Kept apart from the HTTP layer so the rules (validation, idempotency, injected failures, delivery with
retries) read in one place. Standard library only: the fake must start fast and never import Django.
"""
from __future__ import annotations

import json
import math
import random
import threading
import time
import urllib.error
import urllib.request
import uuid

from sim.platform_dialects import CREATOR_USER_ID, DIALECTS, iso_now, price_errors

# The demo vault (demo/content-map.json): media id -> type.
VAULT = ([(m, "photo") for m in (101, 102, 103, 201, 202, 203, 204, 205, 206, 207)]
         + [(208, "video"), (301, "video"), (302, "video")])
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


class FakePlatform:
    """One creator account: sent messages, chats, idempotency keys, failure plans, webhooks, counters."""

    def __init__(self, account_id, api_key, webhook_url=None, webhook_secret="", backoff=0.5, log=print,
                 dialect="simple", redeliver_rate=0.0, rate_limit=0, seed=None):
        self.dialect = DIALECTS[dialect]()
        self.redeliver_rate, self.rate_limit = redeliver_rate, rate_limit  # rate_limit: sends a minute, 0: none
        self.rng = random.Random(seed)
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
            self.human_messages: list[dict] = []
            self.recent_sends: list[float] = []
            fans = getattr(self, "stats", {}).get("fans", 0)
            self.stats = {"sends": 0, "sends_by_kind": {"text": 0, "free": 0, "ppv": 0},
                          "webhooks_posted": 0, "webhooks_failed": 0, "webhooks_dropped": 0,
                          "purchases": 0, "tips": 0, "replies": 0, "openers": 0, "fans": fans,
                          "revenue": 0.0, "tips_amount": 0.0, "delayed": 0,
                          "human_messages": 0, "echoes": 0, "redeliveries": 0, "rate_limited": 0}

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
            remaining = self._take_rate(body)
            msg = {"id": self._new_id(), "fan_id": fan_id, "text": text, "mediaFiles": media, "price": price,
                   "idempotency_key": idem_key, "createdAt": iso_now()}
            self.messages.append(msg)
            self.chats.setdefault(fan_id, []).append(
                {"id": msg["id"], "text": text, "fromUser": {"id": CREATOR_USER_ID}, "createdAt": msg["createdAt"],
                 "price": price, "isOpened": price == 0})
            self.stats["sends"] += 1
            self.stats["sends_by_kind"][kind] += 1
            reply = {"data": {"id": msg["id"], "createdAt": msg["createdAt"]}}
            if self.dialect.name == "onlyfansapi":
                reply["data"]["text"] = text
                reply["_meta"] = {"_credits": {"used": 1}, "_rate_limits": {
                    "limit_minute": self.rate_limit or 1000, "remaining_minute": remaining}}
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
        msg = {"id": self._new_id(), "fan_id": fan_id, "text": text, "price": price, "mediaFiles": list(media),
               "createdAt": iso_now()}
        with self.lock:
            self.human_messages.append(msg)
            self.stats["human_messages"] += 1
            self.chats.setdefault(fan_id, []).append(
                {"id": msg["id"], "text": text, "fromUser": {"id": CREATOR_USER_ID}, "createdAt": msg["createdAt"],
                 "price": price, "isOpened": not price})
        self.log(f"human {self.fan_label(fan_id)}: “{_short(text)}” (typed in the platform's UI)")
        result = self.tell(self.dialect.account_sent(fan_id, msg))
        return {"message": msg, "webhooks": result}

    def tell(self, events: list) -> list:
        """Post what happened, as the dialect's webhooks (some events are two webhooks)."""
        return [self.emit(event, payload) for event, payload in events]

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

    def register_webhook(self, body, wh_id=None) -> str:
        """Simple: {url, events}; onlyfansapi: {endpoint_url, events, signing_secret, account_ids, ...}."""
        if isinstance(body, dict) and "endpoint_url" in body:
            body = {**body, "url": body["endpoint_url"]}
        if not isinstance(body, dict) or not isinstance(body.get("url"), str) \
                or not body["url"].startswith(("http://", "https://")):
            raise ApiError(400, "url must be an http(s) URL")
        events = body.get("events", [])
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            raise ApiError(400, "events must be a list of strings")
        wh_id = wh_id or "wh_" + uuid.uuid4().hex[:16]
        with self.lock:
            for url in [u for u, w in self.webhooks.items() if w["id"] == wh_id]:
                del self.webhooks[url]
            self.webhooks[body["url"]] = {"id": wh_id, "url": body["url"], "events": events,
                                          "endpoint_url": body["url"], "secret": body.get("signing_secret") or ""}
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
        """Post one signed event to every target: first attempt now, retries in the background; in the
        onlyfansapi dialect some are redelivered later (same key, X-OFAPI-Redelivery-Of)."""
        with self.lock:
            secret = next((w["secret"] for w in self.webhooks.values() if w.get("secret")), self.webhook_secret)
        key, body, headers = self.dialect.wrap(self.account_id, secret, event, payload, event_id)
        deliveries, targets = [], self._targets(event)
        if not targets and not self._warned_no_target:
            self._warned_no_target = True
            self.log("hook  no webhook url yet: events are dropped until one is registered")
        for url in targets:
            status = self._attempt(url, body, headers)
            deliveries.append({"url": url, "status": status})
            if not _ok(status):
                self.log(f"hook  {event} {key[:12]} → {status or 'connection error'}; will retry")
                threading.Thread(target=self._retry, args=(url, body, event, headers), daemon=True).start()
            elif self.redeliver_rate and self.rng.random() < self.redeliver_rate:
                again = {**headers, "X-OFAPI-Redelivery-Of": "dlv_" + uuid.uuid4().hex[:10]}
                threading.Timer(self.rng.uniform(0.5, 3.0), self._redeliver, args=(url, body, again)).start()
        return {"event_id": key, "deliveries": deliveries,
                "status": deliveries[0]["status"] if deliveries else None}

    def _redeliver(self, url, body, headers):
        with self.lock:
            self.stats["redeliveries"] += 1
        self._attempt(url, body, headers)

    def _attempt(self, url: str, body: bytes, headers: dict) -> int | None:
        req = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
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
            if self.stopping.wait(self.backoff * 2 ** i):
                return
            if _ok(self._attempt(url, body, headers)):
                return
        with self.lock:
            self.stats["webhooks_dropped"] += 1
        self.log(f"hook  {event} to {url} dropped after {RETRIES} retries")


def _ok(status) -> bool:
    return status is not None and 200 <= status < 300


def _short(text: str, n=60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
