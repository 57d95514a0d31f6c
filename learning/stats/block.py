"""The [STATS] block (docs/learning.md#the-statistics): the learning stats squeezed into a few prompt lines.

The seed's format is kept, but the seed's lines would have the model trust noise ("$15: 33.3% (6 sent)"
beating "$18: 26.7% (45 sent)"). So every cell is read through its Beta posterior (learning.bayes):
lines are ranked by revenue per send (price lines) or posterior conversion (hooks, content, hours) with
the cells that have at least the creator's min_sample sends first, and a cell under it is marked
"N sent — too few to trust" and never ranked above a trusted one. The rule engine (salesbot.pipeline.rules)
reads the same posteriors, so the model and the rules see the same evidence in the same order.

The prompt budget is small (LLM_PROMPT_TOKEN_LIMIT), so each line keeps at most MAX_ENTRIES entries and a line
whose data is empty is left out rather than printed blank.
"""

import json

from learning import bayes

COLD_START = "[STATS]\nNo data yet — use playbook defaults.\n[/STATS]"
MAX_ENTRIES = 8
BEST_HOURS = 3
DEFAULT_MIN_SAMPLE = 20  # Creator.min_sample's default, for stats dicts that predate the posteriors
THIN = "too few to trust"


def _pct(rate) -> str:
    return f"{float(rate):.1f}%"


def _cells(stats: dict, seed_key: str, posterior_key: str, min_sample: int, priced=False) -> dict:
    """{key: (seed cell, posterior cell)}: the posterior from the stats, or from the seed's counts."""
    posteriors = stats.get(posterior_key) or {}
    out = {}
    for key, seed in (stats.get(seed_key) or {}).items():
        post = posteriors.get(key) or bayes.cell(
            seed["sent"], seed["bought"], min_sample=min_sample, price=key if priced else None
        )
        out[key] = (seed, post)
    return out


def _ranked(cells: dict, value) -> list:
    """Trusted cells first, best `value` (a posterior estimate) first; thin cells after, in the same order."""
    return sorted(cells.items(), key=lambda kv: (kv[1][1]["thin"], -value(kv[0], kv[1][1]), -kv[1][0]["sent"], kv[0]))[
        :MAX_ENTRIES
    ]


def _revenue(key, post) -> float:
    rps = post.get("revenue_per_send")
    return float(rps["mean"]) if rps else float(key) * post["mean"]


def _conversion(key, post) -> float:
    return post["mean"]


def _evidence(seed: dict, post: dict, extra: str = "") -> str:
    if post["thin"]:
        return f"({seed['sent']} sent — {THIN})"
    return f"({seed['sent']} sent{extra})"


def _price_line(name: str, cells: dict) -> str | None:
    """Prices by expected revenue per send (price × posterior conversion), the figure a price should maximise."""
    items = _ranked(cells, _revenue)
    if not items:
        return None
    return f"{name}: " + ", ".join(
        f"${price}: {_pct(seed['rate'])} {_evidence(seed, post, f', ${_revenue(price, post):.2f}/send')}"
        for price, (seed, post) in items
    )


def _rate_line(name: str, cells: dict) -> str | None:
    items = _ranked(cells, _conversion)
    if not items:
        return None
    return f"{name}: " + ", ".join(
        f"{key}: {_pct(seed['rate'])} {_evidence(seed, post)}" for key, (seed, post) in items
    )


def _hooks_line(hooks: list) -> str | None:
    """The seed's usage count, kept as it is: how often a hook was used, not how well it sold."""
    if not hooks:
        return None
    return "top_hooks: " + ", ".join(f"{hook}: {count}x" for hook, count in hooks[:MAX_ENTRIES])


def _hours_line(cells: dict) -> str | None:
    """The top hours by posterior conversion; a thin hour only shows (marked) when too few hours are trusted."""
    items = sorted(cells.items(), key=lambda kv: (kv[1][1]["thin"], -kv[1][1]["mean"], -kv[1][0]["sent"], int(kv[0])))[
        :BEST_HOURS
    ]
    if not items:
        return None
    return "best_hours: " + ", ".join(
        f"{int(hour)}:00 UTC: {_pct(seed['rate'])}" + (f" {_evidence(seed, post)}" if post["thin"] else "")
        for hour, (seed, post) in items
    )


def _ghost_line(by_stage: dict) -> str | None:
    """Only stages where fans actually ghosted, worst first."""
    items = [(stage, v) for stage, v in by_stage.items() if v["rate"] > 0]
    items = sorted(items, key=lambda kv: (-kv[1]["rate"], -kv[1]["sent"], kv[0]))[:MAX_ENTRIES]
    if not items:
        return None
    return "ghost_rate_by_stage: " + ", ".join(f"{stage}: {_pct(v['rate'])}" for stage, v in items)


def _buyer_price_line(stats: dict) -> str | None:
    """Prices among fans who had already paid (the fans the LLM handles), when that evidence exists."""
    buyer = (stats.get("posterior_by_segment_price") or {}).get("buyer") or {}
    cells = {
        k: (
            {
                "sent": c["sent"],
                "bought": c["bought"],
                "rate": round(100 * c["bought"] / c["sent"], 1) if c["sent"] else 0.0,
            },
            c,
        )
        for k, c in buyer.items()
    }
    return _price_line("price_for_buyers", cells)


def _chargeback_line(stats: dict) -> str | None:
    """Prices and hooks whose sales were taken back (refunds, chargebacks, undo), worst first: their revenue
    per send above is already net of them."""
    items = [(f"${k}", v) for k, v in (stats.get("chargeback_rate_by_price") or {}).items() if v["reversed"]]
    items += [(k, v) for k, v in (stats.get("chargeback_rate_by_hook") or {}).items() if v["reversed"]]
    if not items:
        return None
    items = sorted(items, key=lambda kv: (-kv[1]["rate"], kv[0]))[:MAX_ENTRIES]
    return "chargeback_rate (sales taken back, already out of revenue): " + ", ".join(
        f"{k}: {_pct(v['rate'])} ({v['reversed']} of {v['bought']})" for k, v in items
    )


MAX_HAD_LINES = 30


def had_line(lines) -> str | None:
    """The lines this fan already had (latest MAX_HAD_LINES, as JSON strings): the model must write anew."""
    lines = list(dict.fromkeys(t.strip()[:200] for t in lines or () if t and t.strip()))[-MAX_HAD_LINES:]
    if not lines:
        return None
    return "lines_this_fan_already_had (never send one again): " + json.dumps(lines, ensure_ascii=False)


def format_stats_block(stats: dict, had: list | None = None) -> str:
    """Render aggregate_learning_stats() output as the [STATS] block injected into the LLM prompt; `had`:
    the lines the fan being decided for already got (salesbot.pipeline.repeats.sent_texts)."""
    fan_line = had_line(had)
    if fan_line:
        return format_stats_block(stats).replace("[/STATS]", fan_line + "\n[/STATS]")
    totals = stats.get("totals") or {}
    actions, outcomes = totals.get("actions", 0), totals.get("outcomes", 0)
    if not actions and not outcomes:
        return COLD_START
    n = stats.get("min_sample") or DEFAULT_MIN_SAMPLE
    lines = ["[STATS]", f"Data: {actions} actions, {outcomes} outcomes"]
    cells = [
        line
        for line in (
            _price_line(
                "conversion_by_price", _cells(stats, "conversion_by_price", "posterior_by_price", n, priced=True)
            ),
            _buyer_price_line(stats),
            _rate_line("conversion_by_hook", _cells(stats, "conversion_by_hook", "posterior_by_hook", n)),
            _rate_line("conversion_by_content", _cells(stats, "conversion_by_content", "posterior_by_content", n)),
        )
        if line
    ]
    lines += cells + [
        line
        for line in (
            _hooks_line(stats.get("top_hooks") or []),
            _hours_line(_cells(stats, "conversion_by_hour", "posterior_by_hour", n)),
            _ghost_line(stats.get("ghost_rate_by_stage") or {}),
            _chargeback_line(stats),
        )
        if line
    ]
    avg = stats.get("avg_msgs_to_first_buy")
    if avg is not None:
        lines.append(f"avg_msgs_to_first_buy: {float(avg):.1f}")
    if cells or stats.get("conversion_by_hour"):
        lines.append(
            f"Ranked by Bayesian revenue per send / conversion. Trust only cells with {n}+ sent; "
            f"for cells marked '{THIN}' use the playbook defaults."
        )
    lines.append("[/STATS]")
    return "\n".join(lines)
