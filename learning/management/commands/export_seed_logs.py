"""`manage.py export_seed_logs OUTROOT --creator SLUG`: write a creator's data back in the seed's formats."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from learning.seed.files import export_seed_logs
from models_registry.models import Creator


class Command(BaseCommand):
    help = (
        "Write OUTROOT/research/bot-outcomes/SLUG/{fan_id}.jsonl and OUTROOT/research/bot-state/SLUG/"
        "{fan_id}.json (docs/operations.md#importing-the-seeds-logs) for every fan, action and outcome of the creator."
    )

    def add_arguments(self, parser):
        parser.add_argument("outroot", type=Path)
        parser.add_argument("--creator", required=True, help="Creator slug.")
        parser.add_argument(
            "--progress-every",
            type=int,
            default=100,
            metavar="N",
            help="Print a progress line every N files when there are more than N (default 100).",
        )

    def handle(self, outroot, creator, progress_every, **options):
        try:
            obj = Creator.objects.get(slug=creator)
        except Creator.DoesNotExist:
            raise CommandError(f"no creator with slug {creator!r}") from None
        step = max(1, progress_every)

        def progress(done, total):
            if total > step and (done % step == 0 or done == total):
                self.stdout.write(f"exported {done}/{total} files ({done * 100 // total}%)")

        r = export_seed_logs(obj, outroot, progress=progress)
        self.stdout.write(
            f"Exported {r.fans} fans, {r.actions} actions, {r.outcomes} outcomes into {r.files} files under {outroot}."
        )
