"""What every provider's HTTP client shares: the error classes the queue understands (transient →
deferred and retried with the same Idempotency-Key, permanent → the Action fails with the message),
the sent-message answer, and one-attempt-per-call plumbing."""
import logging
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
    retry_after: float | None = None


@dataclass(frozen=True)
class SentMessage:
    id: int
    created_at: str


class HttpClient:
    """One attempt per call, bounded by PLATFORM_TIMEOUT_S: retrying is the queue's job (worker.work_one
    defers the item, honouring Retry-After), so a slow or failing platform never holds a worker task and
    there is exactly one retry layer. Retries are safe: every send carries the Action's uuid as
    Idempotency-Key."""

    def __init__(self, creator, base: str, *, timeout=None, session=None):
        self.creator = creator
        self.base = base
        self.timeout = timeout or settings.PLATFORM_TIMEOUT_S
        self.session = session or requests.Session()

    def _headers(self, idempotency_key=None):
        h = {"Authorization": f"Bearer {self.creator.api_key}", "Accept": "application/json"}
        if idempotency_key:
            h["Idempotency-Key"] = str(idempotency_key)
        return h

    def _call(self, method, path, *, json=None, params=None, idempotency_key=None) -> dict:
        """One call; raises a PlatformError subclass saying whether a retry could help."""
        url = self.base + path
        try:
            r = self.session.request(method, url, json=json, params=params, timeout=self.timeout,
                                     headers=self._headers(idempotency_key))
        except requests.RequestException as e:
            raise TransientError(f"{method} {path}: {type(e).__name__}: {e}") from e
        self.answered(r)
        if r.status_code < 300:
            try:
                return r.json()
            except ValueError:
                raise PermanentError(f"{method} {path}: platform answered {r.status_code} with non-JSON body") from None
        message = self.error_text(r)
        if r.status_code == 429 or r.status_code >= 500:
            error = TransientError(f"{method} {path}: {r.status_code} {message}")
            error.retry_after = _retry_after(r)
            raise error
        raise PermanentError(f"{method} {path}: {r.status_code} {message}")

    def error_text(self, r) -> str:
        """The provider's message in an error answer, for the Action and the log."""
        return _error_text(r)

    def answered(self, response) -> None:
        """Hook for a provider that reads something from every answer (rate limits)."""


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
