"""What a creator's onboarding must know of each platform provider: its name, its default API address and
the PPV prices it takes. The wire formats themselves live in salesbot.providers (one module per provider),
which reads these facts from here, so a domain app never imports the pipeline."""

from decimal import Decimal

CHOICES = [("onlyfansapi", "OnlyFansAPI.com"), ("simple", "simple contract (fakes, tests)")]
NAMES = [name for name, _ in CHOICES]

ONLYFANSAPI_BASE_URL = "https://app.onlyfansapi.com/api"
# OnlyFansAPI.com takes a price of 0 (free) or 3–200 dollars.
ONLYFANSAPI_MIN_PRICE, ONLYFANSAPI_MAX_PRICE = Decimal("3"), Decimal("200")


def default_base_url(provider: str) -> str:
    return ONLYFANSAPI_BASE_URL if provider == "onlyfansapi" else ""


def bounds_problem(provider: str, min_price, max_price) -> str | None:
    """Why a creator's PPV bounds cannot work on this provider (checked at onboarding), or None."""
    if provider != "onlyfansapi":
        return None
    low, high = ONLYFANSAPI_MIN_PRICE, ONLYFANSAPI_MAX_PRICE
    if min_price is not None and Decimal(str(min_price)) < low:
        return f"OnlyFansAPI.com takes PPV prices of {low}–{high}: the minimum must be at least {low}"
    if max_price is not None and Decimal(str(max_price)) > high:
        return f"OnlyFansAPI.com takes PPV prices of {low}–{high}: the maximum must be at most {high}"
    return None
