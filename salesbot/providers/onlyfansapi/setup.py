"""Setting a creator's OnlyFansAPI.com account up: the deployment's webhook registered for the account,
and the account's vault media mapped to content keys. One implementation for the `register_webhook` and
`sync_vault` commands and the creator admin's actions (salesbot.providers.setup_admin)."""
from dataclasses import dataclass

from salesbot.providers.base import PlatformError
from salesbot.providers.onlyfansapi import EVENTS, NAME, Client

WEBHOOK_PATH = "/api/providers/onlyfansapi/webhook"


class SetupError(Exception):
    """Why the step could not be done, in words staff can act on."""


@dataclass(frozen=True)
class Registration:
    endpoint: str
    updated: bool       # an existing webhook for this URL was updated rather than a new one registered
    events: list
    answer: dict        # the provider's answer (its webhook id …)

    def summary(self, creator) -> str:
        return (f"{'Updated' if self.updated else 'Registered'} {self.endpoint} for {creator.account_id}: "
                f"{', '.join(self.events)}")


@dataclass(frozen=True)
class VaultSync:
    media: list         # every vault media the provider listed
    unmapped: list      # those no content key of the creator maps yet

    def summary(self) -> str:
        return f"{len(self.media)} vault media, {len(self.unmapped)} not mapped to a content key"


def _check(creator) -> None:
    if creator.provider != NAME:
        raise SetupError(f"Creator '{creator.slug}' uses the {creator.provider} provider, not {NAME}.")


def register_webhook(creator, base_url: str) -> Registration:
    """Register (or update: safe to repeat) this deployment's webhook, `base_url` + WEBHOOK_PATH, for the
    creator's account, with the events the pipeline handles and the creator's signing secret."""
    _check(creator)
    base_url = (base_url or "").strip().rstrip("/")
    if not base_url.startswith(("https://", "http://")):
        raise SetupError(f"'{base_url}' is not this deployment's public base URL (https://host).")
    endpoint = base_url + WEBHOOK_PATH
    try:
        answer = Client(creator).register_webhook(endpoint, EVENTS, creator.webhook_secret)
    except PlatformError as e:
        raise SetupError(f"The provider refused: {e}") from e
    updated = bool(answer.pop("updated"))
    return Registration(endpoint=endpoint, updated=updated, events=list(EVENTS), answer=answer)


def unmapped(creator, media: list[dict]) -> list[dict]:
    """Vault media no content key of the creator uses yet."""
    mapped = {int(m) for item in creator.vault_items.all() for m in item.media_ids}
    return [m for m in media if int(m["id"]) not in mapped]


def sync_vault(creator) -> VaultSync:
    """The creator's vault as the provider lists it (paged through hasMore), and what is not mapped yet."""
    _check(creator)
    try:
        media = Client(creator).vault()
    except PlatformError as e:
        raise SetupError(f"The provider refused: {e}") from e
    return VaultSync(media=media, unmapped=unmapped(creator, media))


def media_ids(values) -> list[int]:
    try:
        return [int(str(v).strip()) for v in values if str(v).strip()]
    except (TypeError, ValueError):
        raise SetupError(f"media ids must be integers: {list(values)}") from None


def map_media(creator, content_key: str, ids) -> list[int]:
    """Add these vault media ids to the creator's content key; returns the key's media ids."""
    _check(creator)
    item = creator.vault_items.filter(content_key=content_key).first()
    ids = media_ids(ids)
    if item is None:
        raise SetupError(f"'{content_key}' is not a content key of {creator.slug}.")
    if not ids:
        raise SetupError("no media ids to map")
    item.media_ids = sorted({*media_ids(item.media_ids), *ids})
    item.save(update_fields=["media_ids"])
    return item.media_ids
