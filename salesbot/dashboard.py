"""The learning dashboard of one creator (admin page): what the numbers say, with how sure we are.

Conversion is a Beta-Binomial question: with a uniform prior, after `sent` PPVs of which `bought`
were bought the rate is Beta(1 + bought, 1 + sent − bought); the whiskers are its 90% equal-tailed
credible interval. learning.stats may already carry `posterior_by_*` cells (mean, ci90,
revenue_per_send); they are used when present and computed here when not.
"""
import datetime
import math
from numbers import Real

from django.db.models import Avg, Count, Q, Sum
from django.db.models.functions import ExtractHour

from fans.models import Fan
from fans.state_machine import FanState
from learning.models import Action
from learning.stats import price_key, refresh_learning_stats
from salesbot import selectors
from salesbot.svg_charts import Bar, Chart

# ---- Beta distribution ------------------------------------------------------------------------


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, eps = 1e-300, 1e-14
    qab, qap, qam = a + b, a + 1, a - 1
    c, d = 1.0, 1 - qab * x / qap
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1 + aa * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + aa / c if abs(1 + aa / c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 + aa * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + aa / c if abs(1 + aa / c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1) < eps:
            break
    return h


def beta_cdf(x: float, a: float, b: float) -> float:
    """Regularized incomplete beta I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1) / (a + b + 2):
        return front * _betacf(a, b, x) / a
    return 1 - front * _betacf(b, a, 1 - x) / b


def beta_ppf(p: float, a: float, b: float) -> float:
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if beta_cdf(mid, a, b) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def credible_interval(bought: int, sent: int, mass: float = 0.90) -> tuple[float, float, float]:
    """(posterior mean, low, high) of the purchase rate under Beta(1 + bought, 1 + sent − bought)."""
    a, b = 1 + bought, 1 + max(sent - bought, 0)
    mean = a / (a + b)
    tail = (1 - mass) / 2
    if a + b > 5000:  # the normal approximation is exact enough here and much cheaper
        sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
        z = 1.6448536269514722 if mass == 0.90 else _z(1 - tail)
        return mean, max(mean - z * sd, 0.0), min(mean + z * sd, 1.0)
    return mean, beta_ppf(tail, a, b), beta_ppf(1 - tail, a, b)


def _z(p: float) -> float:
    lo, hi = -10.0, 10.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if 0.5 * math.erfc(-mid / math.sqrt(2)) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _given_interval(cell: dict, sent: int, bought: int):
    """(mean, lo, hi) as fractions from a posterior cell of learning.stats, or None if it has none.

    Whether the cell speaks in fractions or percentages is decided by which reading agrees with
    the counts, so either convention is drawn correctly.
    """
    mean, ci = cell.get("mean"), cell.get("ci90")
    if isinstance(ci, dict):
        ci = [next((ci[k] for k in ("lo", "low", "lower") if k in ci), None),
              next((ci[k] for k in ("hi", "high", "upper") if k in ci), None)]
    if not isinstance(mean, Real) or not isinstance(ci, (list, tuple)) or len(ci) != 2 \
            or not all(isinstance(v, Real) for v in ci):
        return None
    expected = (1 + bought) / (2 + sent)
    scale = 1 if abs(mean - expected) <= abs(mean / 100 - expected) else 100
    return mean / scale, ci[0] / scale, ci[1] / scale


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
        ppvs, field, key = ppvs.annotate(hour=ExtractHour("ts", tzinfo=datetime.timezone.utc)), "hour", str
    rows = (ppvs.order_by().values(field)
            .annotate(revenue=Sum("price", filter=Q(purchased=True)), avg_price=Avg("price")))
    return {key(r[field]): (float(r["revenue"] or 0), float(r["avg_price"] or 0)) for r in rows}


def _dimension_charts(creator, stats: dict, dimension: str, label: str, prefix: str) -> tuple[Chart, Chart]:
    cells = stats.get(f"posterior_by_{dimension}") or stats.get(f"conversion_by_{dimension}") or {}
    money = _money_by(creator, dimension)
    order = list(cells)
    if dimension == "hook":
        order.sort(key=lambda k: -cells[k].get("sent", 0))
    conversion = Chart(f"Conversion by {label}", "%",
                       note="bar: observed rate · whisker: 90% credible interval")
    revenue = Chart(f"Revenue per PPV sent by {label}", "$",
                    note="whisker: the conversion interval × the average price paid")
    for key in order:
        cell = cells[key]
        sent, bought = int(cell.get("sent", 0)), int(cell.get("bought", 0))
        if not sent:
            continue
        given = _given_interval(cell, sent, bought)
        _, lo, hi = given or credible_interval(bought, sent)
        rate = bought / sent
        earned, avg_price = money.get(key, (0.0, 0.0))
        per_send = cell.get("revenue_per_send")
        per_send = float(per_send) if isinstance(per_send, Real) else earned / sent
        paid = earned / bought if bought else avg_price
        name = f"{prefix}{key}"
        conversion.bars.append(Bar(name, 100 * rate, 100 * lo, 100 * hi,
                                   f"{name}: {bought}/{sent} bought = {100 * rate:.1f}% "
                                   f"(90% CI {100 * lo:.1f}–{100 * hi:.1f}%)"))
        revenue.bars.append(Bar(name, per_send, lo * paid, hi * paid,
                                f"{name}: ${per_send:.2f} per send (90% CI ${lo * paid:.2f}–${hi * paid:.2f}), "
                                f"${earned:.2f} from {sent} sent"))
    conversion.empty = revenue.empty = f"No PPVs with a {label} yet."
    return conversion, revenue


def _ghost_funnel(stats: dict) -> Chart:
    chart = Chart("Ghost rate by fan stage", "%", note="share of actions at each stage the fan never answered · "
                                                         "whisker: 90% credible interval")
    cells = stats.get("ghost_rate_by_stage") or {}
    for state in [s for s in FanState.values if s in cells] + [s for s in cells if s not in FanState.values]:
        sent, ghosted = int(cells[state].get("sent", 0)), int(cells[state].get("ghosted", 0))
        if sent:
            _, lo, hi = credible_interval(ghosted, sent)
            chart.bars.append(Bar(state, 100 * ghosted / sent, 100 * lo, 100 * hi,
                                  f"{state}: {ghosted}/{sent} ghosted (90% CI {100 * lo:.1f}–{100 * hi:.1f}%)"))
    return chart


def _fans_by_state(creator) -> Chart:
    counts = dict(Fan.objects.filter(creator=creator).order_by().values_list("state").annotate(n=Count("pk")))
    return Chart("Fans by state now", "n", [Bar(s, counts[s], tooltip=f"{s}: {counts[s]} fans")
                                            for s in FanState.values if counts.get(s)], note="the funnel today")


def _llm(runtime: dict) -> dict:
    usage = runtime["llm"]
    sources = runtime.get("decisions_by_source") or {}
    decided = sum(sources.values())
    share = Chart("Who decided the actions", "%", note="share of this system's actions by source")
    for source, n in sorted(sources.items(), key=lambda kv: -kv[1]):
        share.bars.append(Bar(source, 100 * n / decided, tooltip=f"{source}: {n} of {decided} actions"))
    outcomes = Chart("LLM calls by outcome", "n", [Bar(k, v, tooltip=f"{k}: {v} calls")
                                                   for k, v in sorted(usage["by_outcome"].items())])
    accepted = usage["by_outcome"].get("accepted", 0)
    calls = usage["calls"] or 0
    return {
        "share": share, "outcomes": outcomes, "calls": calls, "cost_usd": usage["cost_usd"],
        "llm_share": round(100 * sources.get("llm", 0) / decided, 1) if decided else None,
        "cost_per_call": usage["cost_usd"] / calls if calls else None,
        "cost_per_accepted": usage["cost_usd"] / accepted if accepted else None,
        "tokens": usage["tokens"],
    }


def creator_dashboard(creator) -> dict:
    """Everything the dashboard page shows, computed fresh (the stats cache is refreshed on the way)."""
    stats = refresh_learning_stats(creator)
    perf = selectors.performance(creator)
    runtime = selectors.runtime_stats(creator)
    rows = []
    for dimension, label, prefix in DIMENSIONS:
        rows.append(_dimension_charts(creator, stats, dimension, label, prefix))
    return {
        "computed_at": stats.get("computed_at"),
        "totals": stats.get("totals", {}),
        "avg_msgs_to_first_buy": stats.get("avg_msgs_to_first_buy"),
        "performance": perf,
        "runtime": runtime,
        "rows": rows,
        "funnel": [_fans_by_state(creator), _ghost_funnel(stats)],
        "llm": _llm(runtime),
        "posterior_from_stats": any(f"posterior_by_{d}" in stats for d, _, _ in DIMENSIONS),
    }
