"""Server-rendered SVG bar charts for the admin dashboard: no JavaScript, no CDN.

A bar may carry an interval (lo, hi) drawn as a whisker with caps, and be `faded` (pale: too little
evidence to act on); every bar has a <title> so hovering shows its numbers.
"""

import math
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

COLORS = {"%": "#417690", "$": "#2f855a", "n": "#6b46c1"}


@dataclass
class Bar:
    label: str
    value: float
    lo: float | None = None
    hi: float | None = None
    tooltip: str = ""
    faded: bool = False


@dataclass
class Chart:
    title: str
    unit: str  # "%", "$" or "n"
    bars: list[Bar] = field(default_factory=list)
    note: str = ""
    empty: str = "No data yet."

    @property
    def svg(self) -> SafeString:
        return bar_chart(self)


def fmt(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.0f}%" if value >= 10 or value == 0 else f"{value:.1f}%"
    if unit == "$":
        return f"${value:,.2f}" if value < 100 else f"${value:,.0f}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def tick(value: float, unit: str) -> str:
    """An axis label: like fmt, without the cents or decimals of round values ($5, 10%, 20)."""
    if float(value).is_integer():
        return {"%": f"{value:.0f}%", "$": f"${value:,.0f}"}.get(unit, f"{value:,.0f}")
    return fmt(value, unit)


def intervals(top: float) -> int:
    """How many grid steps make round ticks: 2.5 and 5 split in five, 1 and 2 in four."""
    mantissa = round(top / 10 ** math.floor(math.log10(top)), 6)
    return 5 if mantissa in (2.5, 5) else 4


def nice_max(value: float) -> float:
    """The smallest 1/2/2.5/5 × 10^k at or above value (an axis top with round ticks)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude + 1e-12:
            return step * magnitude
    return 10 * magnitude


def bar_chart(chart: Chart, width: int = 460, height: int = 230) -> SafeString:
    title = escape(chart.title)
    if not chart.bars:
        return mark_safe(
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} 60" role="img" '
            f'aria-label="{title}: no data"><text x="{width / 2}" y="34" text-anchor="middle" '
            f'class="chart-empty">{escape(chart.empty)}</text></svg>'
        )
    left, right, top = 52, 10, 14
    longest = max(len(b.label) for b in chart.bars)
    n = len(chart.bars)
    plot_w = width - left - right
    band = plot_w / n
    rotate = longest * 6.5 > band
    bottom = 22 + (min(longest, 16) * 5 if rotate else 0)
    plot_h = height - top - bottom
    highest = max(max(b.value, b.hi if b.hi is not None else 0) for b in chart.bars)
    top_value = nice_max(max(highest, 5) if chart.unit == "n" else highest)  # counts: whole-number ticks
    y = lambda v: top + plot_h * (1 - min(v, top_value) / top_value)  # noqa: E731
    color = COLORS.get(chart.unit, COLORS["n"])
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{title}">'
    ]
    steps = intervals(top_value)
    for i in range(steps + 1):
        v = top_value * i / steps
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" class="tick">'
            f"{escape(tick(v, chart.unit))}</text>"
        )
    bar_w = band * 0.64
    for i, b in enumerate(chart.bars):
        cx = left + band * (i + 0.5)
        h = max(y(0) - y(b.value), 0)
        tip = escape(b.tooltip or f"{b.label}: {fmt(b.value, chart.unit)}")
        pale = ' fill-opacity="0.4"' if b.faded else ""
        out.append(
            f'<g class="bar{" thin" if b.faded else ""}"><title>{tip}</title>'
            f'<rect x="{cx - bar_w / 2:.1f}" y="{y(b.value):.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
            f'fill="{color}"{pale} rx="2"/>'
        )
        if b.lo is not None and b.hi is not None:
            cap = min(bar_w * 0.45, 10) / 2
            out.append(
                f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(b.lo):.1f}" y2="{y(b.hi):.1f}" class="whisker"/>'
                f'<line x1="{cx - cap:.1f}" x2="{cx + cap:.1f}" y1="{y(b.hi):.1f}" y2="{y(b.hi):.1f}" '
                f'class="whisker"/>'
                f'<line x1="{cx - cap:.1f}" x2="{cx + cap:.1f}" y1="{y(b.lo):.1f}" y2="{y(b.lo):.1f}" '
                f'class="whisker"/>'
            )
        if n <= 12:
            # Above the whisker when there is room under the top of the plot, else inside the bar's top.
            above = y(max(b.value, b.hi or 0)) - 4
            if above >= top + 8:
                out.append(
                    f'<text x="{cx:.1f}" y="{above:.1f}" text-anchor="middle" class="value">'
                    f"{escape(fmt(b.value, chart.unit))}</text>"
                )
            elif h >= 18:
                out.append(
                    f'<text x="{cx + 4:.1f}" y="{y(b.value) + 13:.1f}" text-anchor="start" '
                    f'class="value inside">{escape(fmt(b.value, chart.unit))}</text>'
                )
        label = escape(b.label if len(b.label) <= 16 else b.label[:15] + "…")
        if rotate:
            out.append(
                f'<text transform="translate({cx + 3:.1f},{y(0) + 10:.1f}) rotate(-40)" '
                f'text-anchor="end" class="label">{label}</text>'
            )
        else:
            out.append(f'<text x="{cx:.1f}" y="{y(0) + 15:.1f}" text-anchor="middle" class="label">{label}</text>')
        out.append("</g>")
    out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(0):.1f}" y2="{y(0):.1f}" class="axis"/></svg>')
    return mark_safe("".join(out))
