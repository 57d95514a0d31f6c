"""Which price, hook and content a PPV offer gets: the learning evidence (Beta posteriors, learning.bayes)
read by the rule engine (salesbot.pipeline.rules.ppv), which the in-process simulator (sim.policy) runs too.

Creator.offer_policy picks how (choose_offer): "learned" (the default, below), "ladder" (the playbook's
ladder, no learning) or "raw_rates" (the seed's greedy reading of its raw conversion rates). The last two
are the baselines `manage.py simulate` measures the learned offers against, on this same code.

Prices are learnt per fan *context*, from what the bot knows when it offers (never anything hidden):

  new:first     never paid, never offered a PPV
  new:declined  never paid, offered before (the last offer was not bought)
  buyer:low     paid, less in all than the dearest rung of the creator's ladder
  buyer:big     paid at least the dearest rung (purchases and tips), or whale-scored: the big spenders

Each context's parent segment ("new" / "buyer", rules' old split, the one imported seed rows carry) is
learnt too: a context with no sends of its own decides on its parent's cells, then on the playbook.

Within its context each fan brings their own evidence (salesbot.pipeline.fan_prices): the prices the learned
policy may give them (Candidates.options: a big spender's reach above the ladder up to the creator's price
bound, never above a price the fan refused) and how far one exploring offer may stray (Candidates.upward).

The learned policy is safe policy improvement on the playbook (choose_offer): the ladder's price, hook and
item stand unless the evidence is 95% sure something else earns more per send, and exploring is cheap and
bounded (neighbouring rungs only, every rung above for a big spender; at most 1% of the ladder's estimated
revenue given up per dimension).
"""

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from statistics import NormalDist

from learning import bayes
from learning.experiments import in_control
from learning.models import HOOKS, PRICE_CONTEXTS
from learning.stats.cells import price_key
from models_registry.models import Creator, VaultItem

# A PPV line per hook, for when the chosen hook is not the one the creator's PPV template is written in.
HOOK_LINES = {
    "vulnerability": "i've never shown this to anyone 🥺",
    "scarcity": "only sending this to a few people tonight 🤫",
    "challenge": "bet you can't handle this one 😈",
    "conditional": "if you unlock it i'll tell you what i was thinking 🙈",
    "exclusivity": "i made this just for you 💕",
    "sexual_match": "you'll love what i'm wearing in this 😏",
    "curiosity": "guess what's in this one 👀",
}

CONTEXTS = tuple(PRICE_CONTEXTS)
LEARNED, LADDER, RAW_RATES = Creator.OfferPolicy.LEARNED, Creator.OfferPolicy.LADDER, Creator.OfferPolicy.RAW_RATES


def clamp_price(creator, price) -> Decimal:
    return min(max(Decimal(str(price)), creator.ppv_min_price), creator.ppv_max_price)


@dataclass
class Candidates:
    """What an offer may be: prices within bounds, every hook, the two lowest ladder tiers left."""

    prices: list[Decimal]
    hooks: list[str]
    items: list[VaultItem]
    default_price: Decimal
    default_hook: str
    options: list[Decimal] | None = None  # this fan's prices for the learned policy (fan_prices); None: `prices`
    upward: bool = False  # an exploring offer may try every option above the chosen price (fan_prices)

    @property
    def learned_prices(self) -> list[Decimal]:
        return self.prices if self.options is None else self.options


@dataclass
class Offer:
    price: Decimal
    hook: str
    item: VaultItem
    explored: bool = False
    # logged for off-policy evaluation, not part of what the offer is (equality compares the offer alone):
    propensity: float = field(default=1.0, compare=False)  # P(the policy made this offer), exploring included
    choices: dict = field(default_factory=dict, compare=False)  # what the other policies would have offered


def as_logged(o: Offer) -> list:
    return [str(o.price), o.hook, o.item.content_key]


@dataclass
class Evidence:
    """Beta posteriors as (a, b, effective sends): price per segment and context, hook, content; the knobs;
    for the raw_rates policy the raw pooled counts as (sent, bought) per price key, hook and content key."""

    price: dict = field(default_factory=dict)  # {"new"|"buyer"|context: {price_key: (a, b, n)}}
    hook: dict = field(default_factory=dict)  # {hook: (a, b, n)}
    content: dict = field(default_factory=dict)  # {content_key: (a, b, n)}
    min_sample: int = 20
    explore: bool = True
    share: float = 0.2
    policy: str = LEARNED
    raw: dict = field(default_factory=dict)  # {"price"|"hook"|"content": {key: (sent, bought)}}

    @property
    def cold(self) -> bool:
        return not (self.hook or self.content or any(self.price.values()))


def segment(total_spent) -> str:
    """Fans who never paid and buyers answer prices differently, so their price cells are kept apart."""
    return "buyer" if total_spent > 0 else "new"


def parent(context: str) -> str:
    """ "buyer:big" -> "buyer"; a plain segment is its own parent."""
    return context.split(":", 1)[0]


def offer_candidates(creator, items: list[VaultItem], default_price, default_hook: str) -> Candidates:
    tiers = sorted({v.ladder_tier for v in items})[:2]
    grid = {
        clamp_price(creator, p)
        for p in [creator.entry_price, default_price]
        + [v.default_price for v in creator.vault_items.all() if v.default_price is not None]
    }
    return Candidates(
        prices=sorted(grid),
        hooks=list(HOOKS),
        items=[v for v in items if v.ladder_tier in tiers],
        default_price=clamp_price(creator, default_price),
        default_hook=default_hook,
    )


def _cells(stats: dict, key: str) -> dict:
    return {k: (c["alpha"], c["beta"], c["effective_sent"]) for k, c in (stats.get(key) or {}).items()}


def _raw(stats: dict, key: str) -> dict:
    return {k: (c["sent"], c["bought"]) for k, c in (stats.get(key) or {}).items()}


def evidence_from_stats(creator, stats: dict) -> Evidence:
    """The posteriors (and raw rates) of aggregate_learning_stats() in the shape choose_offer reads."""
    by_segment = stats.get("posterior_by_segment_price") or {}
    return Evidence(
        price={s: _cells(by_segment, s) for s in by_segment},
        hook=_cells(stats, "posterior_by_hook"),
        content=_cells(stats, "posterior_by_content"),
        min_sample=creator.min_sample,
        explore=creator.exploration_enabled,
        share=creator.exploration_share,
        policy=creator.offer_policy,
        raw={
            "price": _raw(stats, "conversion_by_price"),
            "hook": _raw(stats, "conversion_by_hook"),
            "content": _raw(stats, "conversion_by_content"),
        },
    )


def load_evidence(ctx) -> Evidence:
    """The creator's (cached) learning stats; the ladder reads none. A fan in the control arm of a running
    holdout experiment (learning.experiments) gets the ladder too: no learned prices, no exploration."""
    if ctx.creator.offer_policy == LADDER or in_control(ctx.fan):
        return Evidence(policy=LADDER)
    from learning.stats import aggregate_learning_stats

    return evidence_from_stats(ctx.creator, aggregate_learning_stats(ctx.creator))


CONFIDENCE = 0.95  # how sure the posteriors must be that an option beats the ladder's before it replaces it
_Z_SURE = NormalDist().inv_cdf(CONFIDENCE)
PLAUSIBLE = 1 - CONFIDENCE  # an option still this likely to beat the current choice is worth exploring
SETTLED = 5  # an option with this many × min_sample sends is known well enough: no more exploring for it
PRIOR_WEIGHT = 2.0  # pseudo-sends of an untried neighbour's prior (centred on the chosen price's revenue per send)
BUDGET = 0.01  # exploring stops while the estimated revenue falls short of the ladder's by more than this share
NO_CELL = (*bayes.PRIOR, 0)


def _better(o, cell, base, base_cell, value) -> float:
    """P(option `o` with `cell` earns more per send than `base` with `base_cell`), learning.bayes.prob_better."""
    return bayes.prob_better(value(o), cell[0], cell[1], value(base), base_cell[0], base_cell[1])


def _safe(options: list, default, cell_of, value):
    """Safe policy improvement: the ladder's `default`, unless the posteriors say with probability at least
    CONFIDENCE that another option earns more per send (value × conversion) than it; of those sure winners
    the one whose pessimistic value (mean less _Z_SURE standard deviations) is best, so 2 sales of 2 do not
    outrank 24 of 40. Thin evidence never moves the offer off the playbook, however good it looks
    (the winner's curse of taking the best of several noisy means); strong evidence moves it before
    min_sample sends (a small context such as the big spenders would never get there)."""
    base_cell = cell_of(default)
    best, bar = default, None
    for o in options:
        cell = cell_of(o)
        if o == default or cell[2] <= 0 or _better(o, cell, default, base_cell, value) < CONFIDENCE:
            continue
        low = value(o) * (bayes.mean(*cell[:2]) - _Z_SURE * math.sqrt(bayes.variance(*cell[:2])))
        if bar is None or low > bar:
            best, bar = o, low
    return best


def _open(options: list, choice, cell_of, value, min_sample: int) -> list[bool]:
    """Per option, whether there is still something to learn about it: its cell is thin (under min_sample
    sends), or it may yet beat the current choice (a chance between PLAUSIBLE and CONFIDENCE) and has fewer
    than SETTLED × min_sample sends (options that are truly alike would otherwise stay open for ever)."""
    choice_cell = cell_of(choice)
    out = []
    for o in options:
        cell = cell_of(o)
        out.append(
            cell[2] < min_sample
            or (
                o != choice
                and cell[2] < SETTLED * min_sample
                and PLAUSIBLE < _better(o, cell, choice, choice_cell, value) < CONFIDENCE
            )
        )
    return out


def _within_budget(options: list, default, cell_of, value) -> bool:
    """A conservative bandit's check: what the sends so far earned (each option's sends × its posterior
    revenue per send) is still at least (1 - BUDGET) × what the same sends would have earned at the ladder's
    `default`, so exploring one more offer keeps the learned policy within BUDGET of the playbook. Once
    learning has found something better there is slack to explore further; while the ladder looks best,
    exploring is rationed to that share of the revenue."""
    base_cell = cell_of(default)
    ladder = value(default) * bayes.mean(*base_cell[:2])
    sends = [(cell_of(o)[2], value(o) * bayes.mean(*cell_of(o)[:2])) for o in options]
    earned = sum(n * worth for n, worth in sends)
    return earned >= (1 - BUDGET) * ladder * sum(n for n, _ in sends)


PROPENSITY_DRAWS = 200


def _thompson_share(options: list, cell_of, value, chosen) -> float:
    """P(_thompson picks `chosen`), by Monte Carlo on a private generator (the decision's own draws stay
    untouched, so logging propensities changes no offer); at least 1/(draws + 1), never 0."""
    if chosen not in options:
        return 0.0
    rng = random.Random(f"propensity:{len(options)}")
    wins = sum(_thompson(options, cell_of, value, rng) == chosen for _ in range(PROPENSITY_DRAWS))
    return max(wins, 1) / (PROPENSITY_DRAWS + 1) if wins < PROPENSITY_DRAWS else 1.0


def _thompson(options: list, cell_of, value, rng):
    """The option whose draw of value × conversion (from its cell, the prior when it has none) is best."""
    draws = [(value(o) * bayes.thompson(rng, *cell_of(o)[:2]), -i) for i, o in enumerate(options)]
    return options[-max(draws)[1]]


def _reach(prices: list, price, upward: bool = False) -> list:
    """The price and the rungs next to it among the fan's prices (with `upward`, every rung above it too):
    how far one exploring offer may stray. The price itself may lie outside them (the ladder's, above a
    price the fan refused), so only rungs at or under the fan's own ceiling are ever tried."""
    grid = sorted(set(prices) | {price})
    i = grid.index(price)
    return grid[max(i - 1, 0) : len(grid) if upward else i + 2]


def ladder_offer(c: Candidates) -> Offer:
    """The playbook's ladder: entry price for a fan who never paid, the item's price after, template hook."""
    return Offer(price=c.default_price, hook=c.default_hook, item=c.items[0])


def raw_rate_offer(c: Candidates, evidence: Evidence) -> Offer:
    """What the seed's "stats override your instincts" did: for price, hook and content alike the best raw
    conversion rate pooled over all fans among what was tried, however few sends (ties: the first option);
    never anything untried, so nothing new is ever learnt; the ladder until something was tried."""

    def best(options, table, key, default):
        counts = evidence.raw.get(table, {})
        rated = [
            (counts[key(o)][1] / counts[key(o)][0], -i) for i, o in enumerate(options) if counts.get(key(o), (0, 0))[0]
        ]
        return options[-max(rated)[1]] if rated else default

    return Offer(
        price=best(c.prices, "price", price_key, c.default_price),
        hook=best(c.hooks, "hook", str, c.default_hook),
        item=best(c.items, "content", lambda v: v.content_key, c.items[0]),
    )


def choose_offer(c: Candidates, evidence: Evidence, seg: str, rng: random.Random) -> Offer:
    """The offer under the creator's offer_policy: ladder_offer, raw_rate_offer, or (learned) safe policy
    improvement on the ladder. Price (by revenue per send, price × p, within the fan's context `seg`, e.g.
    "buyer:big", or its parent segment while the context has no sends of its own), hook and content (by
    conversion) each stay the ladder's unless the posteriors are CONFIDENCE-sure another earns more (_safe).
    Exploring (a share of offers, scaled by how many options are still open) tries only the rungs next to
    the chosen price, any hook and any item, each dimension only while its budget lasts (_within_budget:
    the estimated revenue of its sends within BUDGET of the ladder's). No data at all (cold start) never
    explores, so a new creator gets the playbook's ladder."""
    if evidence.policy == LADDER:
        offer = ladder_offer(c)
        offer.choices = {"ladder": as_logged(offer)}
        return offer
    if evidence.policy == RAW_RATES:
        offer = raw_rate_offer(c, evidence)
        offer.choices = {"ladder": as_logged(ladder_offer(c)), "raw_rates": as_logged(offer)}
        return offer
    offer = _learned_offer(c, evidence, seg, rng)
    offer.choices = {
        "ladder": as_logged(ladder_offer(c)),
        "raw_rates": as_logged(raw_rate_offer(c, evidence)),
        **offer.choices,
    }
    return offer


def _learned_offer(c: Candidates, evidence: Evidence, seg: str, rng: random.Random) -> Offer:
    """choose_offer's learned policy, with the probability it had of making the offer it made."""
    prices, top = evidence.price.get(seg, {}), parent(seg)
    fallback = evidence.price.get(top, {}) if top != seg else {}
    # The fan's context decides on its own sends; one with none yet (e.g. a creator whose history is all
    # imported seed rows, which carry only the segment) on its parent's. Never a mix: the buyers' cells hold
    # the big spenders', whose winning price would mislead the low spenders' context.
    table = prices or fallback

    def price_cell(p):
        return table.get(price_key(p), NO_CELL)

    def explore_cell(p):
        return prices.get(price_key(p)) or fallback.get(price_key(p)) or NO_CELL

    def hook_cell(h):
        return evidence.hook.get(h, NO_CELL)

    def item_cell(v):
        return evidence.content.get(v.content_key, NO_CELL)

    def one(_):
        return 1.0

    options = c.learned_prices
    price = _safe(options, c.default_price, price_cell, float)
    hook = _safe(c.hooks, c.default_hook, hook_cell, one)
    item = _safe(c.items, c.items[0], item_cell, one)
    best = Offer(price=price, hook=hook, item=item)
    best.choices = {"learned": as_logged(best)}
    if not evidence.explore or evidence.cold:
        return best

    choice_cell = explore_cell(price)

    def near_cell(p):
        # an untried rung draws from the chosen price's evidence, as if it earned the same per send
        cell = explore_cell(p)
        if cell[2] > 0 or p == price:
            return cell
        m = min(bayes.mean(*choice_cell[:2]) * float(price) / float(p), 0.97)
        return (PRIOR_WEIGHT * m, PRIOR_WEIGHT * (1 - m), 0)

    # One coin: the creator's share, scaled by how many of the options an exploring offer may try are still
    # open (the chosen price and the rungs next to it, every hook, every item). An exploring offer samples
    # each dimension (Thompson) among its open options, a dimension whose budget is spent keeps its choice.
    near = _reach(options, price, c.upward)
    open_near = _open(near, price, explore_cell, float, evidence.min_sample)
    still = (
        open_near
        + _open(c.hooks, hook, hook_cell, one, evidence.min_sample)
        + _open(c.items, item, item_cell, one, evidence.min_sample)
    )
    q = evidence.share * sum(still) / len(still)
    exploring = rng.random() < q
    near = [p for p, is_open in zip(near, open_near, strict=True) if is_open or p == price]
    tries = [
        len(near) > 1 and _within_budget(sorted(set(c.prices) | set(options)), c.default_price, price_cell, float),
        _within_budget(c.hooks, c.default_hook, hook_cell, one),
        _within_budget(c.items, c.items[0], item_cell, one),
    ]
    if not exploring or not any(tries):
        made = best
    else:
        made = Offer(
            price=_thompson(near, near_cell, float, rng) if tries[0] else price,
            hook=_thompson(c.hooks, hook_cell, one, rng) if tries[1] else hook,
            item=_thompson(c.items, item_cell, one, rng) if tries[2] else item,
            explored=True,
            choices=best.choices,
        )
    # P(made) = P(no exploring coin) · [made is the best] + P(coin) · P(the draws give made)
    same = (made.price, made.hook, made.item) == (price, hook, item)
    if any(tries):
        dims: tuple[tuple[list, Callable, Callable, object, object], ...] = (
            (near, near_cell, float, made.price, price),
            (c.hooks, hook_cell, one, made.hook, hook),
            (c.items, item_cell, one, made.item, item),
        )
        drawn = math.prod(
            _thompson_share(opts, cell, val, x) if t else float(x == b)
            for t, (opts, cell, val, x, b) in zip(tries, dims, strict=True)
        )
    else:
        drawn = float(same)
    made.propensity = round((1 - q) * same + q * drawn, 6)
    return made
