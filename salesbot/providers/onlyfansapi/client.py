"""OnlyFansAPI.com's HTTP API: Bearer auth, sends with Idempotency-Key, its price rules checked before
sending, its per-minute rate limits (`_meta._rate_limits`) respected per account, its error answers
(422 field errors, ONLYFANS_COM_ERROR) turned into messages staff can read on the Action."""
import logging
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from models_registry.providers import ONLYFANSAPI_BASE_URL, ONLYFANSAPI_MAX_PRICE, ONLYFANSAPI_MIN_PRICE
from salesbot.providers.base import HttpClient, PermanentError, SentMessage, TransientError, _error_text
from salesbot.providers.onlyfansapi.text import text_to_html

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = ONLYFANSAPI_BASE_URL
MIN_PRICE, MAX_PRICE = ONLYFANSAPI_MIN_PRICE, ONLYFANSAPI_MAX_PRICE
RATE_WINDOW_S = 60.0  # the limits are per minute; when the window resets is not documented


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
    def _paused_for(self) -> float:
        until = (type(self.creator).objects.filter(pk=self.creator.pk)
                 .values_list("api_paused_until", flat=True).first())
        return max(0.0, (until - timezone.now()).total_seconds()) if until else 0.0

    def _pause(self, seconds: float, why: str):
        until = timezone.now() + timedelta(seconds=seconds)
        type(self.creator).objects.filter(pk=self.creator.pk).update(api_paused_until=until)
        log.info("OnlyFansAPI.com %s for %s: sends wait %.0f s", why, self.account, seconds)

    def answered(self, r) -> None:
        if r.status_code == 429:
            try:
                wait = float(r.headers.get("Retry-After"))
            except (TypeError, ValueError):
                wait = RATE_WINDOW_S
            self._pause(wait, "answered 429")
            return
        try:
            limits = r.json().get("_meta", {}).get("_rate_limits", {})
            remaining = limits.get("remaining_minute")
        except (ValueError, AttributeError):
            return
        if isinstance(remaining, (int, float)) and not isinstance(remaining, bool) and remaining <= 0:
            self._pause(RATE_WINDOW_S, "rate limit used up")

    def error_text(self, r) -> str:
        try:
            data = r.json()
        except ValueError:
            return _error_text(r)
        if isinstance(data, dict) and isinstance(data.get("errors"), dict):  # 422: {"errors": {field: [msg]}}
            return "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
                             for k, v in data["errors"].items())[:300]
        if isinstance(data, dict) and data.get("error") == "ONLYFANS_COM_ERROR":
            return f"ONLYFANS_COM_ERROR: {data.get('message') or data.get('onlyfans_response')}"[:300]
        return _error_text(r)

    # -- calls -----------------------------------------------------------------------------------------
    def send_message(self, fan_id: int, text: str, media_ids=(), price=0, *, idempotency_key) -> SentMessage:
        media = [int(m) for m in media_ids]
        problem = price_problem(price, media)
        if problem:
            raise PermanentError(problem)
        wait = self._paused_for()
        if wait > 0:
            error = TransientError(f"OnlyFansAPI.com rate limit for {self.account}: waiting {wait:.0f} s")
            error.retry_after = wait
            raise error
        price = Decimal(str(price or 0))
        body = {"text": text_to_html(text), "price": int(price) if price == int(price) else float(price),
                "mediaFiles": media}
        data = self._call("POST", f"/{self.account}/chats/{int(fan_id)}/messages", json=body,
                          idempotency_key=idempotency_key)
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
        data = self._call("GET", "/webhooks")
        found = (data or {}).get("data")
        if isinstance(found, dict):
            found = found.get("list")
        return [w for w in found or [] if isinstance(w, dict)]

    def register_webhook(self, url: str, events: list[str], secret: str) -> dict:
        """Register (or, if one for this URL exists, update) the deployment's webhook for this account."""
        body = {"endpoint_url": url, "events": events, "account_scope": "inclusive",
                "account_ids": [self.account], "signing_secret": secret}
        same = [w for w in self.webhooks() if w.get("endpoint_url") == url]
        if same and same[0].get("id") is not None:
            data = self._call("PUT", f"/webhooks/{same[0]['id']}", json=body)
            return {"updated": True, **((data or {}).get("data") or {})}
        data = self._call("POST", "/webhooks", json=body)
        return {"updated": False, **((data or {}).get("data") or {})}
