"""What every provider's HTTP client shares: the error classes the queue understands (transient →
deferred and retried with the same Idempotency-Key, permanent → the Action fails with the message),
the sent-message answer, and one-attempt-per-call plumbing.

A transient error says whether the send's outcome is unknown (`outcome_unknown`): a timeout after the
request went out, 408, 409 (the first request with this key is still running) or a 5xx may each have
sent the message, so the Action stays pending until an answer, its `messages.sent` echo or a replay of
the same key settles it. Only a definite refusal (a 4xx other than 408/409/429, or any answer saying
`request_outcome: "not_sent"`) proves nothing went out."""

import logging
import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Protocol

import requests
from django.conf import settings

from salesbot.providers import credits

log = logging.getLogger(__name__)


class PlatformError(Exception):
    transient = False


class PermanentError(PlatformError):
    """400/404/422 and friends: refused, nothing was sent, retrying cannot help."""


class RefusedError(PermanentError):
    """The provider's own guard refused the message's words (a 422 listing them): a refusal, recorded
    with the words, not a failure."""

    def __init__(self, message, words=()):
        super().__init__(message)
        self.words = list(words)


class TransientError(PlatformError):
    """408, 409, 429, 5xx, timeouts, refused connections: worth retrying later with the same key.
    `outcome_unknown`: the message may have gone out (see the module docstring)."""

    transient = True
    retry_after: float | None = None
    outcome_unknown = False


# The statuses the provider's SDK retries; 408/409/5xx leave a send's outcome unknown, 429 does not
# (the request was turned away before it ran).
RETRY_STATUSES = {408, 409, 429}
UNKNOWN_OUTCOME_STATUSES = {408, 409}


@dataclass(frozen=True)
class SentMessage:
    id: int
    created_at: str


class MessageSender(Protocol):
    """A provider's Client as the sender uses it (each provider module's Client.send_message)."""

    def send_message(
        self,
        fan_id: int,
        text: str,
        media_ids: Sequence[str | int] = (),
        price: Decimal | int | None = 0,  # None or 0: free
        *,
        idempotency_key: uuid.UUID,
    ) -> SentMessage: ...


def environment_session(base: str) -> requests.Session:
    """A session that reads the proxy and CA-bundle environment once, here: with `trust_env` requests reads it
    again on every call (proxy variables, no_proxy matching, netrc), which cost a send about half a millisecond."""
    session = requests.Session()
    session.proxies = requests.utils.get_environ_proxies(base)
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    session.trust_env = False
    return session


class HttpClient:
    """One attempt per call, bounded by PLATFORM_TIMEOUT_S (the provider SDK's 60 s): retrying is the
    queue's job (worker.work_one defers the item, honouring Retry-After in any of its forms), so a failing
    platform never holds a worker task and there is exactly one retry layer. Retries are safe: every send
    carries the Action's uuid as Idempotency-Key."""

    def __init__(self, creator, base: str, *, timeout=None, session=None):
        self.creator = creator
        self.base = base
        self.timeout = timeout or settings.PLATFORM_TIMEOUT_S
        self.session = session or environment_session(base)

    def _headers(self, idempotency_key=None):
        h = {"Authorization": f"Bearer {self.creator.api_key}", "Accept": "application/json"}
        if idempotency_key:
            h["Idempotency-Key"] = str(idempotency_key)
        return h

    def _call(self, method, path, *, json=None, params=None, idempotency_key=None) -> dict:
        """One call; raises a PlatformError subclass saying whether a retry could help."""
        url = self.base + path
        try:
            r = self.session.request(
                method, url, json=json, params=params, timeout=self.timeout, headers=self._headers(idempotency_key)
            )
        except requests.RequestException as e:
            error = TransientError(f"{method} {path}: {type(e).__name__}: {e}")
            error.outcome_unknown = not _never_connected(e)
            raise error from e
        self.answered(r)
        credits.count(getattr(self.creator, "pk", None), calls=1, credits=self.credits_spent(method, path, r))
        if r.status_code < 300:
            try:
                return r.json()
            except ValueError:  # taken, but the answer is unreadable: a replay of the same key tells
                error = TransientError(f"{method} {path}: platform answered {r.status_code} with non-JSON body")
                error.outcome_unknown = True
                raise error from None
        message = self.error_text(r)
        not_sent = _request_outcome(r) == "not_sent"
        if r.status_code in RETRY_STATUSES or r.status_code >= 500:
            error = TransientError(f"{method} {path}: {r.status_code} {message}")
            error.retry_after = retry_after(r.headers)
            error.outcome_unknown = (r.status_code in UNKNOWN_OUTCOME_STATUSES or r.status_code >= 500) and not not_sent
            raise error
        raise self.refusal(r, f"{method} {path}: {r.status_code} {message}")

    def refusal(self, r, message: str) -> PermanentError:
        """The error for a definite refusal (a provider may tell a guard's refusal apart)."""
        return PermanentError(message)

    def error_text(self, r) -> str:
        """The provider's message in an error answer, for the Action and the log."""
        return _error_text(r)

    def answered(self, response) -> None:
        """Hook for a provider that reads something from every answer (rate limits)."""

    def credits_spent(self, method: str, path: str, response) -> int | None:
        """What the call cost in provider credits (None: one, the usual price)."""
        return None


def retry_after(headers, now: float | None = None) -> float | None:
    """Seconds to wait as the provider's SDK reads them: `retry-after-ms`, else `Retry-After` in seconds
    or as an HTTP date; None when absent or unreadable. Never negative."""
    ms = headers.get("retry-after-ms")
    try:
        if ms is not None:
            return max(0.0, float(ms) / 1000)
    except (TypeError, ValueError):
        pass
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        pass
    try:
        when = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _never_connected(e: Exception) -> bool:
    """The request never reached the provider (no connection made): nothing can have been sent."""
    return isinstance(e, requests.ConnectTimeout) or (
        isinstance(e, requests.ConnectionError) and "NewConnectionError" in str(e)
    )


def _request_outcome(r) -> str | None:
    try:
        data = r.json()
    except ValueError:
        return None
    value = data.get("request_outcome") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def _error_text(r) -> str:
    try:
        data = r.json()
        return str(data.get("error") or data.get("message") or data)[:300]
    except ValueError:
        return r.text[:300]
