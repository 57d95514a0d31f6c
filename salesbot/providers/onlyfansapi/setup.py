"""Setting a creator's OnlyFansAPI.com account up: the deployment's webhook registered for the account,
and the account's vault media mapped to content keys. One implementation for the `register_webhook` and
`sync_vault` commands and the creator admin's actions (salesbot.providers.setup_admin)."""

from dataclasses import dataclass, field

from django.core.cache import cache

from models_registry.models import Creator
from salesbot.providers.base import PlatformError
from salesbot.providers.onlyfansapi import EVENTS, NAME, Client

WEBHOOK_PATH = "/api/providers/onlyfansapi/webhook"


class SetupError(Exception):
    """Why the step could not be done, in words staff can act on."""


@dataclass(frozen=True)
class Registration:
    endpoint: str
    updated: bool  # an existing webhook was updated (or joined) rather than a new one registered
    events: list
    answer: dict  # the provider's answer (its webhook id …)
    account_ids: list = field(default_factory=list)  # every account the webhook serves now
    rotated_from: str = ""  # the webhook removed (or left) after the secret was rotated onto a new one
    others: list = field(default_factory=list)  # other webhooks for the same URL no creator here claims

    def summary(self, creator) -> str:
        text = (
            f"{'Updated' if self.updated else 'Registered'} {self.endpoint} for {creator.account_id}: "
            f"{', '.join(self.events)}"
        )
        if len(self.account_ids) > 1:
            text += f" (webhook {self.answer.get('id')} serves {', '.join(self.account_ids)})"
        if self.rotated_from:
            text += f"; the signing secret was rotated: webhook {self.rotated_from} no longer serves this account"
        if self.others:
            text += (
                f"; {len(self.others)} other webhook(s) for this URL ({', '.join(self.others)}) were not "
                f"registered by any creator here and were left as they are"
            )
        return text


@dataclass(frozen=True)
class VaultSync:
    media: list  # every vault media the provider listed
    unmapped: list  # those no content key of the creator maps yet

    def summary(self) -> str:
        return f"{len(self.media)} vault media, {len(self.unmapped)} not mapped to a content key"


def _check(creator) -> None:
    if creator.provider != NAME:
        raise SetupError(f"Creator '{creator.slug}' uses the {creator.provider} provider, not {NAME}.")


def register_webhook(creator, base_url: str) -> Registration:
    """Register this deployment's webhook, `base_url` + WEBHOOK_PATH, for the creator's account, so that
    repeating it converges: one webhook per URL and signing secret, found by the id stored on the creator
    (else by `url`), updated in place with every account of ours it serves (a PUT replaces the account ids,
    so other creators on it are kept). The secret cannot be changed by PUT: a changed secret is rotated
    onto a new webhook first, then the account leaves the old one (deleted once it serves nobody); the view
    verifies both secrets meanwhile (Creator.webhook_secret_registered), so no delivery fails."""
    _check(creator)
    base_url = (base_url or "").strip().rstrip("/")
    if not base_url.startswith(("https://", "http://")):
        raise SetupError(f"'{base_url}' is not this deployment's public base URL (https://host).")
    endpoint = base_url + WEBHOOK_PATH
    client = Client(creator)
    try:
        return _converge(creator, client, endpoint)
    except PlatformError as e:
        raise SetupError(f"The provider refused: {e}") from e


def _peers(creator):
    """Our other creators whose webhooks the same API key lists (same key, same base URL). The keys are
    encrypted at rest (each encryption differs), so they are compared decrypted, here."""
    same_url = Creator.objects.filter(provider=NAME, api_base_url=creator.api_base_url).exclude(pk=creator.pk)
    return Creator.objects.filter(pk__in=[c.pk for c in same_url.only("pk", "api_key") if c.api_key == creator.api_key])


def _accounts_on(creator, wh_id: str, *, with_self: bool) -> list[str]:
    accounts = set(_peers(creator).filter(webhook_id=wh_id).values_list("account_id", flat=True))
    return sorted(accounts | {creator.account_id} if with_self else accounts)


def _save(creator, **fields):
    for name, value in fields.items():
        setattr(creator, name, value)
    Creator.objects.filter(pk=creator.pk).update(**fields)


def _converge(creator, client, endpoint) -> Registration:
    hooks = {str(w["id"]): w for w in client.webhooks()}
    secret = creator.webhook_secret
    claimed = {w for w in _peers(creator).exclude(webhook_id="").values_list("webhook_id", flat=True)}
    current = creator.webhook_id if creator.webhook_id in hooks else ""
    if current and hooks[current].get("url") != endpoint:
        current = ""  # moved to another URL: registered afresh; the old one is left for its other accounts
    if not current:
        # Join the webhook a peer with the same secret has for this URL, else adopt one for this URL that
        # no creator here claims (one the provider already had, e.g. from before webhook ids were stored).
        same_secret = {
            c.webhook_id
            for c in _peers(creator).filter(webhook_id__in=list(hooks)).only("webhook_id", "webhook_secret_registered")
            if c.webhook_secret_registered == secret
        }
        at_url = sorted(
            (w for w in hooks.values() if w.get("url") == endpoint),
            key=lambda w: (str(w.get("created_at") or ""), str(w["id"])),
        )
        joined = next((str(w["id"]) for w in at_url if str(w["id"]) in same_secret), "")
        adopted = "" if joined else next((str(w["id"]) for w in at_url if str(w["id"]) not in claimed), "")
        current = joined or adopted
        if current:
            # A webhook registered by the earlier code carries the secret the creator had then.
            _save(creator, webhook_id=current, webhook_secret_registered=creator.webhook_secret_registered or secret)
    others = sorted(
        str(w["id"])
        for w in hooks.values()
        if w.get("url") == endpoint and str(w["id"]) not in claimed and str(w["id"]) != current
    )
    if not current:
        answer = client.create_webhook(endpoint, EVENTS, [creator.account_id], secret)
        _save(creator, webhook_id=str(answer.get("id") or ""), webhook_secret_registered=secret)
        return Registration(endpoint, False, list(EVENTS), answer, [creator.account_id], others=others)
    if creator.webhook_secret_registered and creator.webhook_secret_registered != secret:
        return _rotate(creator, client, endpoint, current, others)
    accounts = _accounts_on(creator, current, with_self=True)
    answer = client.update_webhook(current, endpoint, EVENTS, accounts)
    _save(creator, webhook_secret_registered=secret)
    return Registration(endpoint, True, list(EVENTS), {"id": current, **answer}, accounts, others=others)


def _rotate(creator, client, endpoint, old: str, others) -> Registration:
    """New webhook with the new secret first (deliveries now come signed both ways, both verify), then the
    account leaves the old one; only then is the old secret no longer accepted."""
    answer = client.create_webhook(endpoint, EVENTS, [creator.account_id], creator.webhook_secret)
    new = str(answer.get("id") or "")
    _save(creator, webhook_id=new)  # webhook_secret_registered still holds the old secret: it still verifies
    left = _accounts_on(creator, old, with_self=False)
    if left:
        client.update_webhook(old, endpoint, EVENTS, left)
    else:
        client.delete_webhook(old)
    _save(creator, webhook_secret_registered=creator.webhook_secret)
    return Registration(endpoint, False, list(EVENTS), answer, [creator.account_id], rotated_from=old, others=others)


def unmapped(creator, media: list[dict]) -> list[dict]:
    """Vault media no content key of the creator uses yet."""
    mapped = {int(m) for item in creator.vault_items.all() for m in item.media_ids}
    return [m for m in media if int(m["id"]) not in mapped]


VAULT_CACHE_S = 600  # each page of the listing costs a provider credit


def sync_vault(creator, fresh: bool = True) -> VaultSync:
    """The creator's vault as the provider lists it (paged through hasMore), and what is not mapped yet.
    The listing is kept VAULT_CACHE_S: `fresh=False` (mapping media right after a sync) reuses it instead of
    paying for every page again."""
    _check(creator)
    created = creator.created_at.timestamp() if creator.created_at else ""
    key = f"ofapi-vault:{creator.pk}:{created}:{creator.account_id}"
    media = None if fresh else cache.get(key)
    if media is None:
        try:
            media = Client(creator).vault()
        except PlatformError as e:
            raise SetupError(f"The provider refused: {e}") from e
        cache.set(key, media, VAULT_CACHE_S)
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
