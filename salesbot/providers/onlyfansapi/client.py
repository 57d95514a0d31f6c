"""OnlyFansAPI.com's HTTP API: Bearer auth, sends with Idempotency-Key, its price rules checked before
sending, its per-minute rate limits (`_meta._rate_limits`) respected per account, its error answers
(422 field errors, ONLYFANS_COM_ERROR) turned into messages staff can read on the Action, its banned-words
guard (`blockBannedWords`) asked on every send, a dead session (Creator.account_health) waited out."""

import logging
import re
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from models_registry.providers import ONLYFANSAPI_BASE_URL, ONLYFANSAPI_MAX_PRICE, ONLYFANSAPI_MIN_PRICE
from salesbot.providers.base import (
    HttpClient,
    PermanentError,
    RefusedError,
    SentMessage,
    TransientError,
    _error_text,
    retry_after,
)
from salesbot.providers.onlyfansapi.text import text_to_html

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = ONLYFANSAPI_BASE_URL
MIN_PRICE, MAX_PRICE = ONLYFANSAPI_MIN_PRICE, ONLYFANSAPI_MAX_PRICE
RATE_WINDOW_S = 60.0  # the limits are per minute; when the window resets is not documented
# A send while the account's session is dead waits this long before the creator's state is asked again
# (accounts.reconnected wakes the waiting items at once).
HEALTH_WAIT_S = 300.0
BANNED_WORDS_MODES = ("strict_ban", "risky", "replace_soften")
WORDS_IN_TEXT = re.compile(r"banned words?:?\s*(.+)$", re.IGNORECASE)


def banned_words(data) -> list[str]:
    """The offending words of a 422 from the banned-words guard, as far as the answer names them: a list
    under `banned_words`/`bannedWords`/`words`, or "…banned words: a, b" in a field error."""
    if not isinstance(data, dict):
        return []
    for key in ("banned_words", "bannedWords", "words"):
        found = data.get(key)
        if isinstance(found, list):
            return [str(w) for w in found if isinstance(w, (str, int))][:50]
    errors = data.get("errors")
    texts = []
    if isinstance(errors, dict):
        for value in errors.values():
            texts += value if isinstance(value, list) else [value]
    texts.append(data.get("message"))
    for text in texts:
        found = WORDS_IN_TEXT.search(text) if isinstance(text, str) else None
        if found:
            return [w.strip(" .\"'") for w in found.group(1).split(",") if w.strip(" .\"'")][:50]
    return []


def price_problem(price, media_ids) -> str | None:
    """Why the provider would refuse this price, or None: 0, or 3–200 dollars with at least one media."""
    price = Decimal(str(price or 0))
    if price == 0:
        return None
    if not MIN_PRICE <= price <= MAX_PRICE:
        return f"price {price} is not allowed by OnlyFansAPI.com: 0 or {MIN_PRICE}–{MAX_PRICE}"
    if not media_ids:
        return "a paid message needs at least one vault media on OnlyFansAPI.com"
    return None


class Client(HttpClient):
    def __init__(self, creator, **kw):
        self.account = creator.account_id
        super().__init__(creator, (creator.api_base_url or DEFAULT_BASE_URL).rstrip("/"), **kw)

    # -- rate limits: a send waits (deferred by the queue) instead of running into a 429 ---------------
    def _paused_for(self) -> tuple[float, str]:
        """Seconds sends must wait, and why: the rate limit used up, or the account's session dead."""
        until, health = type(self.creator).objects.filter(pk=self.creator.pk).values_list(
            "api_paused_until", "account_health"
        ).first() or (None, "ok")
        if health and health != "ok":
            return HEALTH_WAIT_S, f"account {self.account} needs attention ({health}): sends wait for reconnect"
        wait = max(0.0, (until - timezone.now()).total_seconds()) if until else 0.0
        return wait, f"OnlyFansAPI.com rate limit for {self.account}: waiting {wait:.0f} s"

    def _pause(self, seconds: float, why: str):
        until = timezone.now() + timedelta(seconds=seconds)
        type(self.creator).objects.filter(pk=self.creator.pk).update(api_paused_until=until)
        log.info("OnlyFansAPI.com %s for %s: sends wait %.0f s", why, self.account, seconds)

    def answered(self, r) -> None:
        if r.status_code == 429:
            wait = retry_after(r.headers)
            self._pause(RATE_WINDOW_S if wait is None else wait, "answered 429")
            return
        try:
            limits = r.json().get("_meta", {}).get("_rate_limits", {})
            remaining = limits.get("remaining_minute")
        except (ValueError, AttributeError):
            return
        if isinstance(remaining, (int, float)) and not isinstance(remaining, bool) and remaining <= 0:
            self._pause(RATE_WINDOW_S, "rate limit used up")

    def credits_spent(self, method: str, path: str, r) -> int | None:
        """The answer's `_meta._credits.used` when it says; the typing indicator is free."""
        if path.endswith("/typing"):
            return 0
        try:
            used = r.json().get("_meta", {}).get("_credits", {}).get("used")
        except (ValueError, AttributeError):
            return None
        return used if isinstance(used, int) and not isinstance(used, bool) and used >= 0 else None

    def error_text(self, r) -> str:
        try:
            data = r.json()
        except ValueError:
            return _error_text(r)
        if isinstance(data, dict) and isinstance(data.get("errors"), dict):  # 422: {"errors": {field: [msg]}}
            return "; ".join(
                f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in data["errors"].items()
            )[:300]
        if isinstance(data, dict) and data.get("error") == "ONLYFANS_COM_ERROR":
            return f"ONLYFANS_COM_ERROR: {data.get('message') or data.get('onlyfans_response')}"[:300]
        return _error_text(r)

    def refusal(self, r, message: str) -> PermanentError:
        if r.status_code == 422:
            try:
                words = banned_words(r.json())
            except ValueError:
                words = []
            if words:
                return RefusedError(f"the provider's banned-words guard refused: {', '.join(words)}"[:300], words)
        return PermanentError(message)

    # -- calls -----------------------------------------------------------------------------------------
    def send_message(self, fan_id: int, text: str, media_ids=(), price=0, *, idempotency_key) -> SentMessage:
        media = [int(m) for m in media_ids]
        problem = price_problem(price, media)
        if problem:
            raise PermanentError(problem)
        wait, why = self._paused_for()
        if wait > 0:
            error = TransientError(why)
            error.retry_after = wait
            raise error
        price = Decimal(str(price or 0))
        body = {
            "text": text_to_html(text),
            "price": int(price) if price == int(price) else float(price),
            "mediaFiles": media,
        }
        guard = getattr(settings, "OFAPI_BLOCK_BANNED_WORDS", "strict_ban")
        if guard in BANNED_WORDS_MODES:  # the provider's own screen, behind our last gate's restricted words
            body["blockBannedWords"] = guard
        data = self._call(
            "POST", f"/{self.account}/chats/{int(fan_id)}/messages", json=body, idempotency_key=idempotency_key
        )
        try:
            return SentMessage(id=int(data["data"]["id"]), created_at=data["data"].get("createdAt", ""))
        except (KeyError, TypeError, ValueError):
            raise PermanentError(f"send to fan {fan_id}: unexpected reply {str(data)[:200]}") from None

    def vault_page(self, offset: int = 0, limit: int = 100) -> tuple[list[dict], bool]:
        data = self._call("GET", f"/{self.account}/media/vault", params={"limit": limit, "offset": offset})
        page = (data or {}).get("data") or {}
        items = page.get("list") if isinstance(page, dict) else None
        if not isinstance(items, list):
            raise PermanentError(f"vault: unexpected reply {str(data)[:200]}")
        return [i for i in items if isinstance(i, dict) and "id" in i], bool(page.get("hasMore"))

    def vault(self, limit: int = 100, max_pages: int = 200) -> list[dict]:
        """Every vault media, paged through `hasMore`."""
        items, offset = [], 0
        for _ in range(max_pages):
            page, more = self.vault_page(offset, limit)
            items += page
            offset += len(page)
            if not more or not page:
                break
        return items

    def webhooks(self) -> list[dict]:
        """The API key's webhooks: `{id, url, events, enabled, has_signing_secret, created_at}` (no account
        ids, no scope: the SDK's WebhookListResponse)."""
        data = self._call("GET", "/webhooks")
        found = (data or {}).get("data")
        if isinstance(found, dict):
            found = found.get("list")
        return [w for w in found or [] if isinstance(w, dict) and w.get("id") is not None]

    def create_webhook(self, url: str, events: list[str], account_ids: list[str], secret: str) -> dict:
        body = {
            "endpoint_url": url,
            "events": events,
            "account_scope": "inclusive",
            "account_ids": sorted(account_ids),
            "signing_secret": secret,
        }
        return (self._call("POST", "/webhooks", json=body) or {}).get("data") or {}

    def update_webhook(self, wh_id: str, url: str, events: list[str], account_ids: list[str]) -> dict:
        """PUT replaces the account ids (and cannot set the signing secret: rotate by create + delete)."""
        body = {
            "endpoint_url": url,
            "events": events,
            "account_scope": "inclusive",
            "account_ids": sorted(account_ids),
            "enabled": True,
        }
        return (self._call("PUT", f"/webhooks/{wh_id}", json=body) or {}).get("data") or {}

    def delete_webhook(self, wh_id: str) -> None:
        self._call("DELETE", f"/webhooks/{wh_id}")

    def typing(self, fan_id: int) -> None:
        """The provider's "Model is typing…" indicator in the fan's chat (about 4 s, free)."""
        self._call("POST", f"/{self.account}/chats/{int(fan_id)}/typing")

    def chargebacks(self, start_date: str | None = None, limit: int = 100, max_pages: int = 10) -> list[dict]:
        """The account's chargebacks (`GET /{account}/chargebacks`), paged by offset: each
        `{id, createdAt, paymentType, payment{id, amount, net, fee, currency, status, description, user{id}}}`."""
        items, offset = [], 0
        for _ in range(max_pages):
            params = {"limit": limit, "offset": offset, **({"start_date": start_date} if start_date else {})}
            data = (self._call("GET", f"/{self.account}/chargebacks", params=params) or {}).get("data") or {}
            page = data.get("list") if isinstance(data, dict) else data
            page = [c for c in page or [] if isinstance(c, dict) and c.get("id") is not None]
            items += page
            offset += len(page)
            if len(page) < limit:
                break
        return items

    # -- mass messages (campaigns: salesbot.campaigns.sending) ------------------------------------------
    def create_user_list(self, name: str) -> str:
        """A user list to address one campaign's recipients; its id (the SDK lists ids as strings)."""
        data = (self._call("POST", f"/{self.account}/user-lists", json={"name": name[:64]}) or {}).get("data") or {}
        if data.get("id") is None:
            raise PermanentError(f"user list: unexpected reply {str(data)[:200]}")
        return str(data["id"])

    def add_to_user_list(self, list_id: str, fan_ids, chunk: int = 500) -> None:
        ids = [int(i) for i in fan_ids]
        for start in range(0, len(ids), chunk):
            self._call("POST", f"/{self.account}/user-lists/{list_id}/users", json={"ids": ids[start : start + chunk]})

    def mass_send(self, text: str, *, media_ids=(), price=0, user_lists=(), user_ids=(), idempotency_key) -> int:
        """`POST /{account}/mass-messaging`: one message to lists and ids, its price checked first as for a
        send. The campaign's uuid as Idempotency-Key, so a retry after a timeout never sends twice."""
        media = [int(m) for m in media_ids]
        problem = price_problem(price, media)
        if problem:
            raise PermanentError(problem)
        price = Decimal(str(price or 0))
        body = {
            "text": text_to_html(text),
            "price": int(price) if price == int(price) else float(price),
            "mediaFiles": media,
            "userLists": list(user_lists),
            "userIds": [int(u) for u in user_ids],
        }
        guard = getattr(settings, "OFAPI_BLOCK_BANNED_WORDS", "strict_ban")
        if guard in BANNED_WORDS_MODES:
            body["blockBannedWords"] = guard
        data = self._call("POST", f"/{self.account}/mass-messaging", json=body, idempotency_key=idempotency_key)
        try:
            return int(data["data"]["id"])
        except (KeyError, TypeError, ValueError):
            raise PermanentError(f"mass message: unexpected reply {str(data)[:200]}") from None

    def mass_message(self, queue_id: int) -> dict:
        """The mass message's `queue` object: sentCount, viewedCount, canUnsend, unsendSeconds …"""
        data = (self._call("GET", f"/{self.account}/mass-messaging/{int(queue_id)}") or {}).get("data") or {}
        return data.get("queue") or {}

    def unsend_mass(self, queue_id: int) -> dict:
        """`DELETE …/mass-messaging/{id}`: answers sentCount, viewedCount, canUnsend, unsendSeconds."""
        return (self._call("DELETE", f"/{self.account}/mass-messaging/{int(queue_id)}") or {}).get("data") or {}

    def message_buyers(self, message_id: int, limit: int = 100, max_pages: int = 50) -> list[int]:
        """Who bought a paid message (ids only: the provider gives no amount or time per buyer)."""
        found, offset = [], 0
        for _ in range(max_pages):
            data = (
                self._call(
                    "GET",
                    f"/{self.account}/engagement/messages/{int(message_id)}/buyers",
                    params={"limit": limit, "offset": offset},
                )
                or {}
            ).get("data") or {}
            page = [u for u in data.get("list") or [] if isinstance(u, dict) and u.get("id") is not None]
            found += [int(u["id"]) for u in page]
            offset += len(page)
            if not data.get("hasMore") or not page:
                break
        return found
