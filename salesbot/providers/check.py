"""Does a key work? One authenticated call, the cheapest the provider has that also proves the account: the
first page of its vault (`GET /{account}/media/vault?limit=10`; the simple contract's
`GET /api/{account}/media/vault?limit=1`). Asked by the onboarding form's "Test connection" button and before
onboarding saves, with a key that is not stored yet (an unsaved Creator carries it)."""

from dataclasses import dataclass

import requests

from models_registry.models import Creator
from salesbot import providers

CHECK_TIMEOUT_S = 15.0
NAMES = {"onlyfansapi": "OnlyFansAPI.com", "simple": "the platform"}
PATHS = {"onlyfansapi": ("/{account}/media/vault", {"limit": 10}), "simple": ("/media/vault", {"limit": 1})}


@dataclass(frozen=True)
class Check:
    ok: bool
    message: str
    reached: bool = True  # False: the provider could not be asked (network, timeout, 5xx): nothing is known

    @property
    def refused(self) -> bool:
        """The provider answered and said no (a wrong key, an unknown account)."""
        return self.reached and not self.ok

    def as_json(self) -> dict:
        return {"ok": self.ok, "reached": self.reached, "message": self.message}


def check_connection(provider: str, account_id: str, api_key: str, api_base_url: str = "") -> Check:
    name = NAMES.get(provider, provider)
    if provider not in PATHS:
        return Check(False, f"Unknown provider '{provider}'.", reached=False)
    if not api_key:
        return Check(False, "Give the API key first: there is nothing to test.", reached=False)
    if not account_id:
        return Check(
            False, "Give the platform account id first (the acct_… id of the creator's account).", reached=False
        )
    if provider == "simple" and not api_base_url:
        return Check(False, "The simple contract needs the platform's API base URL.", reached=False)
    creator = Creator(provider=provider, account_id=account_id, api_key=api_key, api_base_url=api_base_url or "")
    client = providers.get(provider).Client(creator)
    path, params = PATHS[provider]
    url = client.base + path.format(account=account_id)
    try:
        r = client.session.get(
            url, params=params, headers=client._headers(), timeout=min(client.timeout, CHECK_TIMEOUT_S)
        )
    except requests.RequestException as e:
        return Check(
            False,
            f"Could not reach {name} at {client.base}: {type(e).__name__}. Check the base URL "
            f"and this server's network, then test again.",
            reached=False,
        )
    if r.status_code < 300:
        return Check(True, f"OK: {name} accepted the key for account {account_id}.")
    said = client.error_text(r)
    if r.status_code in (401, 403):
        return Check(
            False,
            f"{name} refused the API key ({r.status_code}): {said}. Copy the key again from the provider's dashboard.",
        )
    if r.status_code == 404:
        return Check(
            False,
            f"{name} accepted the key but does not know account {account_id} (404): {said}. Check the account id.",
        )
    if r.status_code == 429 or r.status_code >= 500:
        return Check(
            False, f"{name} could not answer now ({r.status_code}): {said}. Test again in a minute.", reached=False
        )
    return Check(False, f"{name} answered {r.status_code}: {said}.")
