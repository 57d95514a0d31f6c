"""Creating a campaign, checked once for the admin form and the ops API alike: what would make it unsendable
to everyone (an unknown vault item, a price out of bounds, restricted words) is refused at the door, with
the field; what concerns one fan (the contact rule) is asked per fan at the send."""

from decimal import Decimal

from django.utils import timezone

from models_registry.providers import ONLYFANSAPI_MAX_PRICE, ONLYFANSAPI_MIN_PRICE
from salesbot.campaigns.models import Campaign, Segment
from salesbot.pipeline.contact import restricted_words_in

MAX_HOLDOUT = 0.5


def problem(
    creator, *, text: str, content_key: str = "", price=None, holdout_share: float = 0.1, segment: Segment | None = None
) -> tuple[str, str] | None:
    """(field, what is wrong) for a campaign this creator could never send, or None."""
    if segment is not None and segment.creator_id != creator.pk:
        return "segment", "belongs to another creator"
    if not (text or "").strip():
        return "text", "a campaign needs text"
    bad = restricted_words_in(creator, text)
    if bad:
        return "text", f"uses the creator's restricted word(s): {', '.join(bad)}"
    if content_key:
        item = creator.vault_items.filter(content_key=content_key).first()
        if item is None:
            return "content_key", f"no vault item '{content_key}'"
        if not item.media_ids:
            return "content_key", f"vault item '{content_key}' has no platform media ids"
        if not price and item.default_price is not None:
            return "price", f"'{content_key}' is paid content: give it a price"
    if price:
        price = Decimal(str(price))
        if not content_key:
            return "price", "a priced campaign needs a vault item"
        if not creator.price_in_bounds(price):
            return "price", f"outside the creator's bounds {creator.ppv_min_price}–{creator.ppv_max_price}"
        if creator.provider == "onlyfansapi" and not ONLYFANSAPI_MIN_PRICE <= price <= ONLYFANSAPI_MAX_PRICE:
            return "price", f"OnlyFansAPI.com takes 0 or {ONLYFANSAPI_MIN_PRICE}–{ONLYFANSAPI_MAX_PRICE}"
    if not 0 <= float(holdout_share) <= MAX_HOLDOUT:
        return "holdout_share", f"must be between 0 and {MAX_HOLDOUT}"
    return None


def create(creator, *, by=None, **fields) -> Campaign:
    """A campaign waiting for a manager's approval; `send_at` defaults to now."""
    fields.setdefault("send_at", timezone.now())
    if not fields.get("price"):
        fields["price"] = None
    return Campaign.objects.create(creator=creator, created_by=by, **fields)
