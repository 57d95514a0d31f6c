"""`manage.py import_seed_logs ROOT --creator SLUG`: bring a seed daemon's logs into the database."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from learning.seed.files import SeedIOError, import_seed_logs

STAGES = {"import": ("imported", "files"), "score": ("scored", "fans")}


class Command(BaseCommand):
    help = (
        "Import ROOT/research/bot-outcomes/SLUG/*.jsonl and ROOT/research/bot-state/SLUG/*.json "
        "(docs/operations.md#importing-the-seeds-logs). Safe to re-run: nothing is imported twice. "
        "The files are history: a state file sets all fields of a fan it creates; on a stored fan it "
        "changes a field only if the file changed it since the last import and nothing live changed it "
        "meanwhile, and never moves a handed-off, opted-out or safety-flagged fan. Live values kept are "
        "counted in the summary. "
        "Every imported fan's whale score is then recomputed."
    )

    def add_arguments(self, parser):
        parser.add_argument("root", type=Path, help="The seed's working directory (the one holding research/).")
        parser.add_argument("--creator", required=True, help="Creator slug; created with defaults if missing.")
        parser.add_argument(
            "--progress-every",
            type=int,
            default=100,
            metavar="N",
            help="Print a progress line every N files (or fans scored) when there are more than N (default 100).",
        )

    def handle(self, root, creator, progress_every, **options):
        step = max(1, progress_every)
        last = {}

        def progress(done, total, stage="import"):
            verb, unit = STAGES[stage]
            before = last.get(stage, 0)
            if total > step and (done // step > before // step or done == total):
                self.stdout.write(f"{verb} {done}/{total} {unit} ({done * 100 // total}%)")
            last[stage] = done

        try:
            report = import_seed_logs(root, creator, progress=progress)
        except SeedIOError as e:
            raise CommandError(str(e)) from e
        for line in report.summary_lines():
            self.stdout.write(line)
