"""`manage.py export_seed_logs OUTROOT --creator SLUG`: write a creator's data back in the seed's formats."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from learning.seed_io import export_seed_logs
from models_registry.models import Creator


class Command(BaseCommand):
    help = ("Write OUTROOT/research/bot-outcomes/SLUG/{fan_id}.jsonl and OUTROOT/research/bot-state/SLUG/"
            "{fan_id}.json (seed §3, §4, §7) for every fan, action and outcome of the creator.")

    def add_arguments(self, parser):
        parser.add_argument("outroot", type=Path)
        parser.add_argument("--creator", required=True, help="Creator slug.")

    def handle(self, outroot, creator, **options):
        try:
            obj = Creator.objects.get(slug=creator)
        except Creator.DoesNotExist:
            raise CommandError(f"no creator with slug {creator!r}") from None
        r = export_seed_logs(obj, outroot)
        self.stdout.write(f"Exported {r.fans} fans, {r.actions} actions, {r.outcomes} outcomes "
                          f"into {r.files} files under {outroot}.")
