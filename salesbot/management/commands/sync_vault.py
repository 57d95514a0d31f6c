"""`manage.py sync_vault SLUG`: pull the creator's vault from OnlyFansAPI.com (paged through hasMore)
and list the media no content key maps yet; `--map KEY=ID[,ID]` adds media ids to a content key."""
from django.core.management.base import BaseCommand, CommandError

from models_registry.models import Creator
from salesbot.providers import onlyfansapi
from salesbot.providers.base import PlatformError


def unmapped(creator, media: list[dict]) -> list[dict]:
    """Vault media no content key of the creator uses yet."""
    mapped = {int(m) for item in creator.vault_items.all() for m in item.media_ids}
    return [m for m in media if int(m["id"]) not in mapped]


class Command(BaseCommand):
    help = "Pull a creator's vault from OnlyFansAPI.com and show (or map) media not yet mapped to a content key."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--map", dest="maps", action="append", default=[], metavar="KEY=ID[,ID]",
                            help="add these vault media ids to content key KEY (repeatable)")

    def handle(self, *args, slug, maps, **opts):
        creator = Creator.objects.filter(slug=slug, provider=onlyfansapi.NAME).first()
        if creator is None:
            raise CommandError(f"No OnlyFansAPI.com creator '{slug}'.")
        for spec in maps:
            key, _, ids = spec.partition("=")
            item = creator.vault_items.filter(content_key=key).first()
            if item is None or not ids:
                raise CommandError(f"--map {spec}: expected an existing content key and media ids (KEY=ID,ID).")
            item.media_ids = sorted({*map_ids(item.media_ids), *map_ids(ids.split(","))})
            item.save(update_fields=["media_ids"])
            self.stdout.write(f"mapped {key} → {item.media_ids}")
        try:
            media = onlyfansapi.Client(creator).vault()
        except PlatformError as e:
            raise CommandError(f"The provider refused: {e}") from e
        left = unmapped(creator, media)
        self.stdout.write(self.style.SUCCESS(f"{len(media)} vault media, {len(left)} not mapped to a content key"))
        for m in left:
            self.stdout.write(f"  {m['id']}  {m.get('type', '?')}  {m.get('createdAt', '')}")


def map_ids(values) -> list[int]:
    try:
        return [int(v) for v in values]
    except (TypeError, ValueError):
        raise CommandError(f"media ids must be integers: {values}") from None
