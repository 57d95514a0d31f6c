"""Everything about calling the creator platform (shared/platform-api.md) lives here.

Retries are safe because every send carries the Action's uuid as Idempotency-Key.
"""
import logging
import time
from dataclasses import dataclass

import requests
from django.conf import settings

log = logging.getLogger(__name__)


class PlatformError(Exception):
    transient = False


class PermanentError(PlatformError):
    """400/404 and friends: retrying cannot help."""


class TransientError(PlatformError):
    """429, 5xx, timeouts, refused connections: worth retrying later."""

    transient = True


@dataclass(frozen=True)
class SentMessage:
    id: int
    created_at: str


class PlatformClient:
    def __init__(self, creator, *, timeout=None, retries=None, backoff=None, session=None):
        self.creator = creator
        self.base = creator.api_base_url.rstrip("/") + f"/api/{creator.account_id}"
        self.timeout = timeout or getattr(settings, "PLATFORM_TIMEOUT_S", 10)
        self.retries = getattr(settings, "PLATFORM_RETRIES", 4) if retries is None else retries
        self.backoff = getattr(settings, "PLATFORM_BACKOFF_S", 0.5) if backoff is None else backoff
        self.session = session or requests.Session()

    def _headers(self, idempotency_key=None):
        h = {"Authorization": f"Bearer {self.creator.api_key}", "Accept": "application/json"}
        if idempotency_key:
            h["Idempotency-Key"] = str(idempotency_key)
        return h

    def _call(self, method, path, *, json=None, params=None, idempotency_key=None) -> dict:
        """One logical call with retries on transient failures; raises PlatformError subclasses."""
        url = self.base + path
        last: PlatformError | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                wait = getattr(last, "retry_after", None) or self.backoff * (2 ** (attempt - 1))
                time.sleep(min(float(wait), 30.0))
            try:
                r = self.session.request(method, url, json=json, params=params, timeout=self.timeout,
                                         headers=self._headers(idempotency_key))
            except requests.RequestException as e:
                last = TransientError(f"{method} {path}: {type(e).__name__}: {e}")
                log.warning("platform call failed (attempt %s): %s", attempt + 1, last)
                continue
            if r.status_code < 300:
                try:
                    return r.json()
                except ValueError:
                    raise PermanentError(f"{method} {path}: platform answered {r.status_code} with non-JSON body")
            message = _error_text(r)
            if r.status_code == 429 or r.status_code >= 500:
                last = TransientError(f"{method} {path}: {r.status_code} {message}")
                last.retry_after = _retry_after(r)
                log.warning("platform call failed (attempt %s): %s", attempt + 1, last)
                continue
            raise PermanentError(f"{method} {path}: {r.status_code} {message}")
        raise last

    def send_message(self, fan_id: int, text: str, media_ids=(), price=0, *, idempotency_key) -> SentMessage:
        body = {"text": text, "mediaFiles": [int(m) for m in media_ids], "price": float(price or 0)}
        data = self._call("POST", f"/chats/{int(fan_id)}/messages", json=body, idempotency_key=idempotency_key)
        try:
            return SentMessage(id=int(data["data"]["id"]), created_at=data["data"].get("createdAt", ""))
        except (KeyError, TypeError, ValueError):
            raise PermanentError(f"send to fan {fan_id}: unexpected reply {str(data)[:200]}")

    def list_vault(self, limit=100, offset=0) -> dict:
        return self._call("GET", "/media/vault", params={"limit": limit, "offset": offset})["data"]

    def recent_chat(self, fan_id: int, limit=10) -> list:
        return self._call("GET", f"/chats/{int(fan_id)}/messages", params={"limit": limit})["data"]["list"]

    def register_webhook(self, url: str, events) -> str:
        return self._call("POST", "/webhooks", json={"url": url, "events": list(events)})["data"]["id"]


def _retry_after(r) -> float | None:
    try:
        return float(r.headers.get("Retry-After"))
    except (TypeError, ValueError):
        return None


def _error_text(r) -> str:
    try:
        data = r.json()
        return str(data.get("error") or data.get("message") or data)[:300]
    except ValueError:
        return r.text[:300]
