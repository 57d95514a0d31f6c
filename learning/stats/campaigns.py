"""Campaign sends as a learning kind of their own: Beta posteriors of a mass PPV's conversion per segment and
price, per segment and hook, so the next campaign's form can suggest a price and a hook per segment, saying
how sure it is. Read from the rows (Action.source = campaign); the one-to-one chat statistics never count
these (learning.stats.cells.action_cells, learning.stats.from_rows.counted) unless a caller merges them.

A campaign Action keeps its segment in `extra["segment"]` (the Segment's id) and the campaign in
`extra["campaign"]`; its hour is `utc_hour`, its content `content_key`, as for any action.
"""

from collections import defaultdict

from learning import bayes
from learning.models import Action
from learning.stats.cells import CAMPAIGN_SOURCE, COUNTED_STATUSES, price_key

DIMENSIONS = ("price", "hook", "content", "hour")


def rows(creator):
    """The creator's counted campaign PPVs (sent), as (segment, price, hook, content, hour, bought)."""
    qs = Action.objects.filter(
        creator=creator,
        source=CAMPAIGN_SOURCE,
        action=Action.Kind.PPV,
        status__in=COUNTED_STATUSES,
        price__isnull=False,
    ).values_list("extra__segment", "price", "hook", "content_key", "utc_hour", "purchased")
    return [
        (str(seg or ""), price_key(price), hook, content, hour, bought)
        for seg, price, hook, content, hour, bought in qs.iterator()
    ]


def counts(creator) -> dict:
    """{segment: {dimension: {key: [sent, bought]}}}, with "" as every segment together."""
    out: dict = defaultdict(lambda: {d: defaultdict(lambda: [0, 0]) for d in DIMENSIONS})
    for seg, price, hook, content, hour, bought in rows(creator):
        keys = {"price": price, "hook": hook, "content": content, "hour": str(hour)}
        for segment in {seg, ""}:
            for dim, key in keys.items():
                if key in ("", "None"):
                    continue
                cell = out[segment][dim][key]
                cell[0] += 1
                cell[1] += int(bool(bought))
    return out


def posteriors(creator) -> dict:
    """{segment: {dimension: {key: bayes.cell}}}: price cells carry revenue per send."""
    result = {}
    for segment, dims in counts(creator).items():
        result[segment] = {
            dim: {
                key: bayes.cell(n, k, min_sample=creator.min_sample, price=float(key) if dim == "price" else None)
                for key, (n, k) in cells.items()
            }
            for dim, cells in dims.items()
        }
    return result


def _sureness(best: tuple, runner_up: tuple | None, dim: str, min_sample: int) -> str:
    """How sure the posteriors are that the best option beats the next: P(best earns more per send)."""
    (key, cell) = best
    if cell["thin"]:
        return f"unsure: {cell['sent']} campaign sends, fewer than the {min_sample} it takes to trust"
    if runner_up is None:
        return "only one option tried so far"
    factor = (lambda k: float(k)) if dim == "price" else (lambda k: 1.0)
    p = bayes.prob_better(
        factor(key), cell["alpha"], cell["beta"], factor(runner_up[0]), runner_up[1]["alpha"], runner_up[1]["beta"]
    )
    return f"{round(100 * p)}% sure it beats the next best ({runner_up[0]})"


def suggestion(creator, segment_id=None) -> dict:
    """The price (by posterior revenue per send) and the hook (by posterior conversion) to use for a
    segment's next campaign, from its own campaign sends or, when it has none, every segment's."""
    every = posteriors(creator)
    key = str(segment_id or "")
    cells, scope = (every[key], "this segment") if key in every else (every.get(""), "all segments")
    if not cells:
        return {
            "price": None,
            "hook": None,
            "scope": "no campaign sends yet",
            "note": "no campaign PPV has been sent yet: no suggestion",
        }
    out: dict = {"scope": scope}
    rank = {"price": lambda kv: kv[1]["revenue_per_send"]["mean"], "hook": lambda kv: kv[1]["mean"]}
    for dim in ("price", "hook"):
        ranked = sorted(cells[dim].items(), key=rank[dim], reverse=True)
        if not ranked:
            out[dim] = None
            continue
        best_key, best = ranked[0]
        out[dim] = {
            "value": best_key,
            "sent": best["sent"],
            "bought": best["bought"],
            "mean": best["mean"],
            "ci90": best["ci90"],
            "thin": best["thin"],
            "sure": _sureness(ranked[0], ranked[1] if len(ranked) > 1 else None, dim, creator.min_sample),
        }
        if dim == "price":
            out[dim]["revenue_per_send"] = best["revenue_per_send"]
    return out
