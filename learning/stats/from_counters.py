"""The learning stats read from the counters of learning.stats.counters instead of the rows (learning.stats.from_rows).

Same keys, same values, same order as compute_learning_stats_from_rows (the row queries, which stay
the reference): the seed's conversion dicts, ghost rates and top hooks come from the summed cells, the
posteriors from the same learning.stats.from_rows.posteriors code fed with the cells' counts, and
avg_msgs_to_first_buy from one AVG over the creator's BuyerStat rows. Orders: prices numerically,
hours as numbers, text keys in the database's collation (the cells are read ORDER BY key, as the row
queries order them), segment × price as Python sorts it.
"""

import datetime
from decimal import Decimal

from django.db.models import Avg

from learning.models import BuyerStat
from learning.stats import cells, counters
from learning.stats.from_rows import by_sender, chargeback_table, posteriors


def stats_from_rollup(creator) -> dict:
    counts = counters.current(creator)
    total = counts[cells.TOTAL]
    avg = BuyerStat.objects.filter(creator=creator).aggregate(avg=Avg("replies"))["avg"]
    stats: dict = {
        "totals": {
            "actions": total.get(("actions", ""), (0, 0))[0],
            "outcomes": total.get(("outcomes", ""), (0, 0))[0],
        },
        "conversion_by_price": cells.table(counts[cells.PRICE], sort=lambda kv: Decimal(kv[0][0])),
        "conversion_by_content": cells.table(counts[cells.CONTENT]),
        "conversion_by_hook": cells.table(counts[cells.HOOK]),
        "conversion_by_hour": cells.table(counts[cells.HOUR], sort=lambda kv: int(kv[0][0])),
        "ghost_rate_by_stage": cells.table(counts[cells.STAGE], word="ghosted"),
        "avg_msgs_to_first_buy": None if avg is None else round(float(avg), 1),
        # by count, ties in the collation order the cells were read in (sorted() is stable)
        "top_hooks": [[k, n] for (k, _), (n, _) in sorted(counts[cells.HOOK_USED].items(), key=lambda kv: -kv[1][0])],
    }
    # read in (hook, price) order: a stable sort by price gives the row query's ORDER BY price, hook
    price_hook = {
        (Decimal(p), h): [n, hit, float(n), float(hit)]
        for (p, h), (n, hit) in sorted(counts[cells.PRICE_HOOK].items(), key=lambda kv: Decimal(kv[0][0]))
    }
    segment_price = {
        (seg, Decimal(p)): [n, hit, float(n), float(hit)]
        for (seg, p), (n, hit) in sorted(counts[cells.SEG_PRICE].items(), key=lambda kv: (kv[0][0], Decimal(kv[0][1])))
    }
    stats.update(posteriors(creator, seed=stats, crossed=(price_hook, segment_price)))
    stats.update(
        {
            "chargeback_rate_by_price": chargeback_table(
                {k: v for (k, _), v in sorted(counts[cells.CB_PRICE].items(), key=lambda kv: Decimal(kv[0][0]))}
            ),
            "chargeback_rate_by_hook": chargeback_table({k: v for (k, _), v in counts[cells.CB_HOOK].items()}),
            "by_sender": by_sender(counts[cells.SENDER]),
        }
    )
    stats["computed_at"] = datetime.datetime.now(datetime.UTC).isoformat()
    return stats
