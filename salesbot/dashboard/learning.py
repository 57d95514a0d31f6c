"""The learning dashboard of one creator (admin page): what the numbers say, with how sure we are.

Conversion is drawn from the Beta posteriors learning.stats already carries (`posterior_by_price`,
`_hook`, `_hour`: mean, 90% credible interval, revenue per send, thin): the dashboard shows the
same numbers the rule engine acts on, and never re-derives them. Bars are posterior means, whiskers
the 90% equal-tailed credible intervals, pale bars cells under the creator's min_sample sends.
"""

import datetime
from numbers import Real

from django.db.models import Avg, Count, Q, Sum
from django.db.models.functions import ExtractHour

from fans.models import Fan
from fans.state_machine import FanState
from learning import bayes, experiments
from learning.models import Action
from learning.stats import refresh_learning_stats
from learning.stats.cells import price_key
from salesbot.api import selectors
from salesbot.dashboard import cost
from salesbot.dashboard.charts import Bar, Chart


def credible_interval(hits: int, n: int) -> tuple[float, float, float]:
    """(mean, low, high) of Beta(1 + hits, 1 + n − hits): the same prior and level as the stats."""
    a, b = bayes.posterior(n, hits)
    lo, hi = bayes.interval(a, b)
    return bayes.mean(a, b), lo, hi


def _posterior_cell(cell: dict, min_sample: int) -> dict:
    """A stats cell with its posterior: the stats' own when present, else computed from the counts."""
    if isinstance(cell.get("mean"), Real) and isinstance(cell.get("ci90"), (list, tuple)):
        return cell
    sent, bought = int(cell.get("sent", 0)), int(cell.get("bought", 0))
    return {**bayes.cell(sent, bought, min_sample=min_sample), **cell}


# ---- data ---------------------------------------------------------------------------------------

DIMENSIONS = [("price", "price", "$"), ("hook", "hook", ""), ("hour", "hour (UTC)", "")]


def _money_by(creator, dimension: str) -> dict:
    """{key: (revenue of bought PPVs, average price sent)} for one grouping of the PPVs."""
    ppvs = Action.objects.filter(creator=creator, action=Action.Kind.PPV)
    if dimension == "price":
        ppvs, field, key = ppvs.filter(price__isnull=False), "price", price_key
    elif dimension == "hook":
        ppvs, field, key = ppvs.exclude(hook=""), "hook", str
    else:
        ppvs, field, key = ppvs.annotate(hour=ExtractHour("ts", tzinfo=datetime.UTC)), "hour", str
    rows = (
        ppvs.order_by().values(field).annotate(revenue=Sum("price", filter=Q(purchased=True)), avg_price=Avg("price"))
    )
    return {key(r[field]): (float(r["revenue"] or 0), float(r["avg_price"] or 0)) for r in rows}


def _ordered(dimension: str, cells: dict) -> list:
    if dimension == "hook":
        return sorted(cells, key=lambda k: (-cells[k].get("sent", 0), k))
    try:
        return sorted(cells, key=float)
    except ValueError:
        return list(cells)


def _dimension_charts(creator, stats: dict, dimension: str, label: str, prefix: str) -> tuple[Chart, Chart]:
    cells = stats.get(f"posterior_by_{dimension}") or stats.get(f"conversion_by_{dimension}") or {}
    min_sample = int(stats.get("min_sample") or creator.min_sample)
    money = _money_by(creator, dimension)
    pale = f"pale: fewer than {min_sample} sends"
    conversion = Chart(
        f"Conversion by {label}", "%", note=f"bar: posterior mean · whisker: 90% credible interval · {pale}"
    )
    revenue = Chart(
        f"Revenue per PPV sent by {label}",
        "$",
        note=(
            "price × conversion, with its 90% credible interval"
            if dimension == "price"
            else "average price sent × conversion, with its 90% credible interval"
        )
        + f" · {pale}",
    )
    for key in _ordered(dimension, cells):
        cell = _posterior_cell(cells[key], min_sample)
        sent, bought = int(cell.get("sent", 0)), int(cell.get("bought", 0))
        if not sent:
            continue
        mean, (lo, hi), thin = cell["mean"], cell["ci90"], bool(cell.get("thin"))
        earned, avg_price = money.get(key, (0.0, 0.0))
        per_send = cell.get("revenue_per_send")
        if isinstance(per_send, dict):
            r_mean, (r_lo, r_hi) = per_send["mean"], per_send["ci90"]
        else:
            r_mean, r_lo, r_hi = mean * avg_price, lo * avg_price, hi * avg_price
        name = f"{int(key):02d}h" if dimension == "hour" and str(key).isdigit() else f"{prefix}{key}"
        thin_note = f" · thin: under {min_sample} sends" if thin else ""
        conversion.bars.append(
            Bar(
                name,
                100 * mean,
                100 * lo,
                100 * hi,
                f"{name}: {bought}/{sent} bought ({100 * bought / sent:.1f}% observed) · "
                f"posterior {100 * mean:.1f}%, 90% CI {100 * lo:.1f}–{100 * hi:.1f}%{thin_note}",
                faded=thin,
            )
        )
        revenue.bars.append(
            Bar(
                name,
                r_mean,
                r_lo,
                r_hi,
                f"{name}: ${r_mean:.2f} per send (90% CI ${r_lo:.2f}–${r_hi:.2f}) · "
                f"${earned:.2f} earned from {sent} sent{thin_note}",
                faded=thin,
            )
        )
    conversion.empty = revenue.empty = f"No PPVs with a {label} yet."
    return conversion, revenue


def _ghost_funnel(stats: dict) -> Chart:
    chart = Chart(
        "Ghost rate by fan stage",
        "%",
        note="share of actions at each stage the fan never answered · whisker: 90% credible interval",
    )
    cells = stats.get("ghost_rate_by_stage") or {}
    for state in [s for s in FanState.values if s in cells] + [s for s in cells if s not in FanState.values]:
        sent, ghosted = int(cells[state].get("sent", 0)), int(cells[state].get("ghosted", 0))
        if sent:
            _, lo, hi = credible_interval(ghosted, sent)
            chart.bars.append(
                Bar(
                    state,
                    100 * ghosted / sent,
                    100 * lo,
                    100 * hi,
                    f"{state}: {ghosted}/{sent} ghosted (90% CI {100 * lo:.1f}–{100 * hi:.1f}%)",
                )
            )
    return chart


def _fans_by_state(creator) -> Chart:
    counts = dict(Fan.objects.filter(creator=creator).order_by().values_list("state").annotate(n=Count("pk")))
    return Chart(
        "Fans by state now",
        "n",
        [Bar(s, counts[s], tooltip=f"{s}: {counts[s]} fans") for s in FanState.values if counts.get(s)],
        note="the funnel today",
    )


def _llm(runtime: dict) -> dict:
    usage = runtime["llm"]
    sources = runtime.get("decisions_by_source") or {}
    decided = sum(sources.values())
    share = Chart("Who decided the actions", "%", note="share of this system's actions by source")
    for source, n in sorted(sources.items(), key=lambda kv: -kv[1]):
        share.bars.append(Bar(source, 100 * n / decided, tooltip=f"{source}: {n} of {decided} actions"))
    outcomes = Chart(
        "LLM calls by outcome",
        "n",
        [Bar(k, v, tooltip=f"{k}: {v} calls") for k, v in sorted(usage["by_outcome"].items())],
    )
    accepted = usage["by_outcome"].get("accepted", 0)
    calls = usage["calls"] or 0
    return {
        "share": share,
        "outcomes": outcomes,
        "calls": calls,
        "cost_usd": usage["cost_usd"],
        "llm_share": round(100 * sources.get("llm", 0) / decided, 1) if decided else None,
        "cost_per_call": usage["cost_usd"] / calls if calls else None,
        "cost_per_accepted": usage["cost_usd"] / accepted if accepted else None,
        "tokens": usage["tokens"],
    }


def _experiment(creator) -> dict | None:
    """The holdout experiment panel (learning.experiments): per arm revenue per fan, PPV conversion and ghost
    rate with their 90% intervals, the lift, P(learning beats control) and the plain verdict."""
    rep = experiments.report(creator)
    exp = rep["experiment"]
    if exp is None:
        return None
    arms = exp["arms"]
    revenue = Chart(
        "Revenue per fan by arm",
        "$",
        note="PPV purchases per assigned fan (tips apart) · whisker: 90% interval (normal approximation)",
    )
    conversion = Chart("PPV conversion by arm", "%", note="whisker: 90% credible interval (Beta posterior)")
    ghosts = Chart("Ghost rate by arm", "%", note="share of actions the fan never answered · 90% credible interval")
    for arm, v in arms.items():
        r = v["revenue_per_fan"]
        revenue.bars.append(
            Bar(
                arm,
                r["mean"],
                max(r["interval_90"][0], 0),
                r["interval_90"][1],
                f"{arm}: ${r['mean']:.2f} per fan over {v['fans']} fans "
                f"(90% ${r['interval_90'][0]:.2f}–${r['interval_90'][1]:.2f})",
            )
        )
        for chart, key, word in ((conversion, "ppv_conversion", "bought"), (ghosts, "ghost_rate", "ghosted")):
            c = v[key]
            if c["n"]:
                lo, hi = c["interval_90"]
                chart.bars.append(
                    Bar(
                        arm,
                        100 * c["hits"] / c["n"],
                        100 * lo,
                        100 * hi,
                        f"{arm}: {c['hits']}/{c['n']} {word} (90% CI {100 * lo:.1f}–{100 * hi:.1f}%)",
                    )
                )
    return {
        **exp,
        "charts": [revenue, conversion, ghosts],
        "earlier": rep["earlier"],
        "started": _when(exp["started_at"]),
        "stopped": _when(exp["stopped_at"]) if exp["stopped_at"] else None,
    }


def _when(iso):
    try:
        return datetime.datetime.fromisoformat(iso).astimezone(datetime.UTC)
    except (TypeError, ValueError):
        return iso


def creator_dashboard(creator) -> dict:
    """Everything the dashboard page shows, computed fresh (the stats cache is refreshed on the way)."""
    stats = refresh_learning_stats(creator)
    perf = selectors.performance(creator)
    runtime = selectors.runtime_stats(creator)
    rows = []
    for dimension, label, prefix in DIMENSIONS:
        rows.append(_dimension_charts(creator, stats, dimension, label, prefix))
    return {
        "computed_at": _when(stats.get("computed_at")),
        "totals": stats.get("totals", {}),
        "avg_msgs_to_first_buy": stats.get("avg_msgs_to_first_buy"),
        "performance": perf,
        "runtime": runtime,
        "rows": rows,
        "funnel": [_fans_by_state(creator), _ghost_funnel(stats)],
        "llm": _llm(runtime),
        "cost": cost.panel(creator, runtime["llm"]),
        "experiment": _experiment(creator),
        "posterior_from_stats": any(f"posterior_by_{d}" in stats for d, _, _ in DIMENSIONS),
    }
