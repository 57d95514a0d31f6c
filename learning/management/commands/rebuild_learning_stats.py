"""`manage.py rebuild_learning_stats [SLUG ...] [--check]`: recompute the stats counters from the rows.

The repair for anything that wrote actions or outcomes around learning.stats.counters (raw SQL, a bulk load, a
queryset.update() of a counted field): each creator's StatsCell and BuyerStat rows are rebuilt from the
row queries of learning.stats (the reference implementation) in one transaction. With --check nothing
is written: the counters' stats are compared with the row queries' and any difference is an error.
"""

from django.core.management.base import BaseCommand, CommandError

from learning.stats import counters
from learning.stats.from_counters import stats_from_rollup
from learning.stats.from_rows import compute_learning_stats_from_rows
from models_registry.models import Creator


class Command(BaseCommand):
    help = "Rebuild the learning-stats counters of the given creators (all without a slug) from their rows."

    def add_arguments(self, parser):
        parser.add_argument("slugs", nargs="*", metavar="SLUG", help="Creator slugs (default: every creator).")
        parser.add_argument(
            "--check",
            action="store_true",
            help="Only compare the counters with the row queries; exit 1 on a difference.",
        )

    def handle(self, *args, slugs, check=False, **options):
        creators = Creator.objects.order_by("slug")
        if slugs:
            creators = creators.filter(slug__in=slugs)
            missing = sorted(set(slugs) - set(creators.values_list("slug", flat=True)))
            if missing:
                raise CommandError(f"Unknown creator slug(s): {', '.join(missing)}")
        differ = []
        for creator in creators:
            if check:
                creator.stats_half_life_days = None  # the counters hold undecayed counts (not saved)
                fast = {k: v for k, v in stats_from_rollup(creator).items() if k != "computed_at"}
                rows = {k: v for k, v in compute_learning_stats_from_rows(creator).items() if k != "computed_at"}
                bad = [k for k in rows if rows[k] != fast.get(k)]
                differ += [f"{creator.slug}: {k}" for k in bad]
                self.stdout.write(
                    f"{creator.slug}: "
                    + ("counters match the rows" if not bad else f"counters differ on {', '.join(bad)}")
                )
                continue
            info = counters.rebuild(creator)
            self.stdout.write(
                f"{creator.slug}: rebuilt {info['cells']} cells and {info['buyers']} buyers from the rows"
            )
        if differ:
            raise CommandError("counters differ from the rows (run without --check to rebuild): " + "; ".join(differ))
