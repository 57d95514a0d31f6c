"""Per-fan prices (issue 24): what a fan has shown about the prices they pay, and which prices the learned
offer may give them. salesbot.pipeline.rules.ppv reads it; salesbot.pipeline.offers decides.

The learned policy keeps Beta posteriors of each price per fan context (offers' module doc). Beside the
context, each fan brings their own evidence, read here at decision time:

  shown    their spend (purchases and tips), the dearest PPV price they paid, the cheapest price they left
           unbought above it (their ceiling), whether the whale score (learning.whales, seed §8) or their
           state marks them a whale candidate, and whether they were offered a PPV before.
  context  new:first / new:declined / buyer:low / buyer:big (spent at least the ladder's dearest rung); a
           buyer the whale score marks counts as a big spender whatever they spent so far.
  options  the prices the learned policy may give this fan: the creator's grid (entry price and ladder
           prices) and, for a big spender, rungs above the dearest one up to the creator's ppv_max_price
           (a whale is tested upward); never above the fan's ceiling: a fan who said no at $25 is not offered
           $35 by the learning, exploring or not, and a thrifty fan is not pushed.
  upward   whether one exploring offer may try every option above the chosen price (big spenders) or only
           the rungs next to it (everyone else).

The ladder's own price stays the default whatever the options: the safe-improvement rule (offers._safe)
leaves it only when the context's posteriors are 95% sure another option earns more per send, so a fan's
evidence narrows or widens what may be tried, never what the playbook guarantees.
"""

from dataclasses import dataclass
from decimal import Decimal

from fans.state_machine import FanState
from learning import selectors
from learning.whales import WHALE_THRESHOLD

NEW_FIRST, NEW_DECLINED, LOW, BIG = "new:first", "new:declined", "buyer:low", "buyer:big"
MIN_STEP = Decimal("1.2")  # rungs above the ladder are at least 20% apart (a handful cover any price bounds)
MAX_UPWARD = 3  # at most this many rungs above the ladder's dearest (the price bound always among them)


@dataclass(frozen=True)
class Shown:
    """What the bot knows of a fan's prices when it offers (never anything hidden)."""

    spent: Decimal = Decimal("0")  # purchases and tips
    offered: bool = False  # had a PPV before
    paid: Decimal | None = None  # the dearest PPV price they paid (and kept)
    ceiling: Decimal | None = None  # the cheapest PPV price they left unbought above `paid`
    whale: bool = False  # whale_candidate, or a whale score at the seed's threshold


def is_whale(fan) -> bool:
    return (
        getattr(fan, "state", "") == FanState.WHALE_CANDIDATE
        or (getattr(fan, "whale_score", 0) or 0) >= WHALE_THRESHOLD
    )


def from_fields(fan) -> Shown:
    """What the Fan row alone says (spend, last PPV price, whale score): no query, no price history."""
    return Shown(spent=fan.total_spent, offered=fan.last_ppv_price is not None, whale=is_whale(fan))


def shown(fan) -> Shown:
    """from_fields plus the fan's PPV history (one query): the dearest price paid and the ceiling."""
    history = selectors.ppv_prices(fan) if getattr(fan, "pk", None) else []
    paid = max((p for p, bought in history if bought), default=None)
    refused = [p for p, bought in history if not bought and (paid is None or p > paid)]
    base = from_fields(fan)
    return Shown(
        spent=base.spent,
        offered=base.offered or bool(history),
        paid=paid,
        ceiling=min(refused, default=None),
        whale=base.whale,
    )


def context(s: Shown, prices: list) -> str:
    """The fan's price context; `prices` is the creator's grid (its dearest rung marks the big spenders)."""
    if s.spent <= 0:
        return NEW_DECLINED if s.offered else NEW_FIRST
    return BIG if s.whale or (prices and s.spent >= max(prices)) else LOW


def rungs_above(prices: list, bound: Decimal) -> list[Decimal]:
    """Prices above the grid's dearest rung up to `bound` (the creator's ppv_max_price): spaced like the
    grid's top two rungs (at least MIN_STEP apart), whole dollars, the bound itself always the last."""
    grid = sorted(prices)
    if not grid or bound <= grid[-1]:
        return []
    step = max(grid[-1] / grid[-2], MIN_STEP) if len(grid) > 1 and grid[-2] > 0 else MIN_STEP
    out, p = [], grid[-1] * step
    while p < bound:
        out.append(p.quantize(Decimal("1")))
        p *= step
    return [*out[: MAX_UPWARD - 1], bound]


def options(creator, prices: list, ctx: str, s: Shown) -> list[Decimal]:
    """The prices the learned policy may offer this fan (see the module doc), sorted; may be empty."""
    grid = set(prices)
    if ctx == BIG:
        grid |= set(rungs_above(prices, creator.ppv_max_price))
    if s.ceiling is not None:
        grid = {p for p in grid if p <= s.ceiling}
    return sorted(grid)


def fan_context(fan, c) -> str:
    """The fan's price context from Fan fields alone (spend, last PPV price, whale score): no query."""
    return context(from_fields(fan), c.prices)


def for_fan(creator, c, fan) -> tuple:
    """(c, context): the fan's offers.Candidates `c` given the prices the learned policy may offer them and
    whether exploring may go upward, and their context; one query (shown)."""
    s = shown(fan)
    ctx = context(s, c.prices)
    c.options, c.upward = options(creator, c.prices, ctx, s), ctx == BIG
    return c, ctx
