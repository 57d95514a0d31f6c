"""Read-only questions about a creator's configuration."""

from models_registry.models import ResponseTemplate, VaultItem


def templates_using(creator_id, content_key: str):
    """Response templates that send this vault item."""
    if not content_key:
        return ResponseTemplate.objects.none()
    return ResponseTemplate.objects.filter(creator_id=creator_id, content_key=content_key)


def still_needed(items) -> dict[VaultItem, list[str]]:
    """Of these vault items, those a template still sends: {item: [template kinds]}."""
    needed = {}
    for item in items:
        kinds = list(templates_using(item.creator_id, item.content_key).values_list("kind", flat=True))
        if kinds:
            needed[item] = kinds
    return needed


def refusal(item: VaultItem, kinds: list[str]) -> str:
    """The message staff see when a vault item cannot go."""
    return (
        f"Vault item '{item.content_key}' is sent by the {', '.join(sorted(kinds))} template(s) of "
        f"{item.creator.slug}: change or clear those templates' content key first."
    )
