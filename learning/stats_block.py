"""The [STATS] block of seed §6: the learning stats squeezed into a few prompt lines.

The prompt budget is small (seed §9), so each line keeps at most MAX_ENTRIES entries and a line
whose data is empty is left out rather than printed blank.
"""
COLD_START = "[STATS]\nNo data yet — use playbook defaults.\n[/STATS]"
MAX_ENTRIES = 8
BEST_HOURS = 3


def _pct(rate) -> str:
    return f"{float(rate):.1f}%"


def _price_line(by_price: dict) -> str | None:
    """Most-sent prices first: those are the rates with the most evidence behind them."""
    items = sorted(by_price.items(), key=lambda kv: -kv[1]["sent"])[:MAX_ENTRIES]
    if not items:
        return None
    return "conversion_by_price: " + ", ".join(f"${price}: {_pct(v['rate'])} ({v['sent']} sent)"
                                               for price, v in items)


def _hooks_line(hooks: list) -> str | None:
    if not hooks:
        return None
    return "top_hooks: " + ", ".join(f"{hook}: {count}x" for hook, count in hooks[:MAX_ENTRIES])


def _hours_line(by_hour: dict) -> str | None:
    """The top hours by rate; ties go to the hour with more PPVs sent, then the earlier hour."""
    items = sorted(by_hour.items(), key=lambda kv: (-kv[1]["rate"], -kv[1]["sent"], int(kv[0])))[:BEST_HOURS]
    if not items:
        return None
    return "best_hours: " + ", ".join(f"{int(hour)}:00 UTC: {_pct(v['rate'])}" for hour, v in items)


def _ghost_line(by_stage: dict) -> str | None:
    """Only stages where fans actually ghosted, worst first."""
    items = [(stage, v) for stage, v in by_stage.items() if v["rate"] > 0]
    items = sorted(items, key=lambda kv: (-kv[1]["rate"], -kv[1]["sent"], kv[0]))[:MAX_ENTRIES]
    if not items:
        return None
    return "ghost_rate_by_stage: " + ", ".join(f"{stage}: {_pct(v['rate'])}" for stage, v in items)


def format_stats_block(stats: dict) -> str:
    """Render aggregate_learning_stats() output as the [STATS] block injected into the LLM prompt."""
    totals = stats.get("totals") or {}
    actions, outcomes = totals.get("actions", 0), totals.get("outcomes", 0)
    if not actions and not outcomes:
        return COLD_START
    lines = ["[STATS]", f"Data: {actions} actions, {outcomes} outcomes"]
    lines += [line for line in (
        _price_line(stats.get("conversion_by_price") or {}),
        _hooks_line(stats.get("top_hooks") or []),
        _hours_line(stats.get("conversion_by_hour") or {}),
        _ghost_line(stats.get("ghost_rate_by_stage") or {}),
    ) if line]
    avg = stats.get("avg_msgs_to_first_buy")
    if avg is not None:
        lines.append(f"avg_msgs_to_first_buy: {float(avg):.1f}")
    lines.append("[/STATS]")
    return "\n".join(lines)
