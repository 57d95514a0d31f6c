"""manage.py evaluate_policy SLUG --policy ladder|raw_rates|learned [--since YYYY-MM-DD]: what another offer
policy would have earned per offer on the logged PPVs (learning.offpolicy: SNIPS and doubly robust, 90%)."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date, parse_datetime

from learning import offpolicy
from models_registry.models import Creator


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--policy", choices=offpolicy.POLICIES, required=True)
        parser.add_argument("--since", help="only offers from this date or time on")
        parser.add_argument("--json", action="store_true", help="print the estimate as JSON")

    def handle(self, slug, policy, since=None, **opts):
        creator = Creator.objects.filter(slug=slug).first()
        if creator is None:
            raise CommandError(f"no creator {slug!r}")
        when = None
        if since:
            when = parse_datetime(since) or parse_date(since)
            if when is None:
                raise CommandError("--since takes YYYY-MM-DD or an ISO date-time")
        result = offpolicy.estimate(offpolicy.logged_offers(creator, when), policy)
        if opts["json"]:
            self.stdout.write(json.dumps(result))
            return
        if not result["offers"]:
            raise CommandError(result["error"])
        self.stdout.write(
            f"{policy} on {result['offers']} logged offers ({result['matched']} where it agrees with "
            f"what was offered); logged revenue per offer ${result['logged_revenue_per_offer']:.2f}"
        )
        for name in ("dr", "snips"):
            if name in result:
                e = result[name]
                self.stdout.write(
                    f"  {name:5} ${e['estimate']:.2f} per offer (90% ${e['interval'][0]:.2f} – ${e['interval'][1]:.2f})"
                )
