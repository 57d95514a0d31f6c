"""`manage.py learning_stats SLUG [--block]`: the stats' quick health check from the command line
(docs/learning.md#the-statistics).

Always computed fresh (never the cache), so what staff read is what the database says now.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from learning.stats import aggregate_learning_stats
from learning.stats.block import format_stats_block
from models_registry.models import Creator


class Command(BaseCommand):
    help = "Print one creator's learning stats as JSON (or, with --block, as the LLM's [STATS] block)."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The creator's slug.")
        parser.add_argument("--block", action="store_true", help="Print the [STATS] prompt block instead of JSON.")

    def handle(self, *args, slug, block=False, **options):
        creator = Creator.objects.filter(slug=slug).first()
        if creator is None:
            known = ", ".join(Creator.objects.order_by("slug").values_list("slug", flat=True)) or "(none)"
            raise CommandError(f"Unknown creator slug {slug!r}. Known slugs: {known}")
        stats = aggregate_learning_stats(creator, use_cache=False)
        self.stdout.write(format_stats_block(stats) if block else json.dumps(stats, indent=2, sort_keys=False))
