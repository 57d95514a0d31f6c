"""Which price, hook and content a PPV offer gets: the learning evidence (Beta posteriors, learning.bayes)
read by the rule engine (salesbot.pipeline.rules.ppv), which the in-process simulator (sim.policy) runs too.

Creator.offer_policy picks how (choose_offer): "learned" (the default, below), "ladder" (the playbook's
ladder, no learning) or "raw_rates" (the seed's greedy reading of its raw conversion rates). The last two
are the baselines `manage.py simulate` measures the learned offers against, on this same code.

Prices are learnt per fan *context*, from what the bot knows when it offers (never anything hidden):

  new:first     never paid, never offered a PPV
  new:declined  never paid, offered before (the last offer was not bought)
  buyer:low     paid, less in all than the dearest rung of the creator's ladder
  buyer:big     paid at least the dearest rung (purchases and tips): the big spenders

Each context's parent segment ("new" / "buyer", rules' old split, the one imported seed rows carry) is
learnt too: a context with no trusted price cell yet falls back to its parent's, then to the playbook.
"""
import random
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from learning import bayes
from learning.cells import price_key
from learning.experiments import in_control
from learning.models import HOOKS, PRICE_CONTEXTS
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


@dataclass
class Offer:
    price: Decimal
    hook: str
    item: VaultItem
    explored: bool = False


@dataclass
class Evidence:
    """Beta posteriors as (a, b, effective sends): price per segment and context, hook, content; the knobs;
    for the raw_rates policy the raw pooled counts as (sent, bought) per price key, hook and content key."""
    price: dict = field(default_factory=dict)      # {"new"|"buyer"|context: {price_key: (a, b, n)}}
    hook: dict = field(default_factory=dict)       # {hook: (a, b, n)}
    content: dict = field(default_factory=dict)    # {content_key: (a, b, n)}
    min_sample: int = 20
    explore: bool = True
    share: float = 0.2
    policy: str = LEARNED
    raw: dict = field(default_factory=dict)        # {"price"|"hook"|"content": {key: (sent, bought)}}

    @property
    def cold(self) -> bool:
        return not (self.hook or self.content or any(self.price.values()))


def segment(total_spent) -> str:
    """Fans who never paid and buyers answer prices differently, so their price cells are kept apart."""
    return "buyer" if total_spent > 0 else "new"


def parent(context: str) -> str:
    """"buyer:big" -> "buyer"; a plain segment is its own parent."""
    return context.split(":", 1)[0]


def fan_context(fan, c: Candidates) -> str:
    """The fan's price context (see the module doc) from Fan fields alone: total_spent (purchases and tips)
    and last_ppv_price (set when a PPV is sent), so a decision needs no query for it."""
    if fan.total_spent <= 0:
        return "new:first" if fan.last_ppv_price is None else "new:declined"
    return "buyer:big" if c.prices and fan.total_spent >= max(c.prices) else "buyer:low"


def offer_candidates(creator, items: list[VaultItem], default_price, default_hook: str) -> Candidates:
    tiers = sorted({v.ladder_tier for v in items})[:2]
    grid = {clamp_price(creator, p) for p in [creator.entry_price, default_price]
            + [v.default_price for v in creator.vault_items.all() if v.default_price is not None]}
    return Candidates(prices=sorted(grid), hooks=list(HOOKS), items=[v for v in items if v.ladder_tier in tiers],
                      default_price=clamp_price(creator, default_price), default_hook=default_hook)


def _cells(stats: dict, key: str) -> dict:
    return {k: (c["alpha"], c["beta"], c["effective_sent"]) for k, c in (stats.get(key) or {}).items()}


def _raw(stats: dict, key: str) -> dict:
    return {k: (c["sent"], c["bought"]) for k, c in (stats.get(key) or {}).items()}


def evidence_from_stats(creator, stats: dict) -> Evidence:
    """The posteriors (and raw rates) of aggregate_learning_stats() in the shape choose_offer reads."""
    by_segment = stats.get("posterior_by_segment_price") or {}
    return Evidence(price={s: _cells(by_segment, s) for s in by_segment},
                    hook=_cells(stats, "posterior_by_hook"), content=_cells(stats, "posterior_by_content"),
                    min_sample=creator.min_sample, explore=creator.exploration_enabled,
                    share=creator.exploration_share, policy=creator.offer_policy,
                    raw={"price": _raw(stats, "conversion_by_price"), "hook": _raw(stats, "conversion_by_hook"),
                         "content": _raw(stats, "conversion_by_content")})


def load_evidence(ctx) -> Evidence:
    """The creator's (cached) learning stats; the ladder reads none. A fan in the control arm of a running
    holdout experiment (learning.experiments) gets the ladder too: no learned prices, no exploration."""
    if ctx.creator.offer_policy == LADDER or in_control(ctx.fan):
        return Evidence(policy=LADDER)
    from learning.stats import aggregate_learning_stats
    return evidence_from_stats(ctx.creator, aggregate_learning_stats(ctx.creator))


@lru_cache(maxsize=65536)
def _lower(a: float, b: float) -> float:
    """The lower end of the cell's 90% credible interval (cached: the simulator asks for the same cells often)."""
    return bayes.interval(a, b)[0]


def _pick(options: list, cells: dict, key, value, default, evidence: Evidence, rng, explore: bool,
          fallback: dict | None = None, clear_wins: bool = False):
    """Explore: best Thompson draw over every option (an option never tried in `cells` draws from its
    `fallback` cell, or from the prior). Exploit: best posterior mean value among the trusted cells (at
    least min_sample sends), else among the trusted fallback (parent) cells, else the default. With
    `clear_wins` a thin cell may still win when even the low end of its 90% interval beats that choice's
    mean: a clear winner need not wait for min_sample sends (a small context such as the big spenders
    would never get there)."""
    fallback = fallback or {}
    if explore:
        prior = (*bayes.PRIOR, 0)
        draws = [(value(o) * bayes.thompson(rng, *cells.get(key(o), fallback.get(key(o), prior))[:2]), i)
                 for i, o in enumerate(options)]
        return options[max(draws)[1]]
    best, bar = default, None
    for table in (cells, fallback):
        trusted = [(value(o) * bayes.mean(*table[key(o)][:2]), -i) for i, o in enumerate(options)
                   if key(o) in table and table[key(o)][2] >= evidence.min_sample]
        if trusted:
            bar, i = max(trusted)
            best = options[-i]
            break
    if bar is None or not clear_wins:
        return best
    clear = [(value(o) * bayes.mean(*cells[key(o)][:2]), -i) for i, o in enumerate(options)
             if key(o) in cells and cells[key(o)][2] < evidence.min_sample
             and value(o) * _lower(*cells[key(o)][:2]) > bar]
    return options[-max(clear)[1]] if clear else best


def _thin_share(c: Candidates, evidence: Evidence, seg: str) -> float:
    """Share of the offer's options (prices in the fan's context, else its parent's cell; hooks; content)
    whose cell is still under min_sample sends: exploration fades as the cells fill, `share` its ceiling."""
    prices, fallback = evidence.price.get(seg, {}), evidence.price.get(parent(seg), {})
    sends = [(prices.get(price_key(p)) or fallback.get(price_key(p)) or (0, 0, 0))[2] for p in c.prices]
    sends += [evidence.hook.get(h, (0, 0, 0))[2] for h in c.hooks]
    sends += [evidence.content.get(v.content_key, (0, 0, 0))[2] for v in c.items]
    return sum(n < evidence.min_sample for n in sends) / len(sends)


def ladder_offer(c: Candidates) -> Offer:
    """The playbook's ladder: entry price for a fan who never paid, the item's price after, template hook."""
    return Offer(price=c.default_price, hook=c.default_hook, item=c.items[0])


def raw_rate_offer(c: Candidates, evidence: Evidence) -> Offer:
    """What the seed's "stats override your instincts" did: for price, hook and content alike the best raw
    conversion rate pooled over all fans among what was tried, however few sends (ties: the first option);
    never anything untried, so nothing new is ever learnt; the ladder until something was tried."""
    def best(options, table, key, default):
        counts = evidence.raw.get(table, {})
        rated = [(counts[key(o)][1] / counts[key(o)][0], -i) for i, o in enumerate(options)
                 if counts.get(key(o), (0, 0))[0]]
        return options[-max(rated)[1]] if rated else default

    return Offer(price=best(c.prices, "price", price_key, c.default_price),
                 hook=best(c.hooks, "hook", str, c.default_hook),
                 item=best(c.items, "content", lambda v: v.content_key, c.items[0]))


def choose_offer(c: Candidates, evidence: Evidence, seg: str, rng: random.Random) -> Offer:
    """The offer under the creator's offer_policy: ladder_offer, raw_rate_offer, or (learned) price by
    revenue per send (price × p) within the fan's context (`seg`, e.g. "buyer:big", or a plain
    segment), falling back to its parent segment's cells, a clear winner taken before min_sample; hook and
    content by conversion among trusted cells only. No data at all (cold start) never explores, so a new
    creator gets the playbook's ladder."""
    if evidence.policy == LADDER:
        return ladder_offer(c)
    if evidence.policy == RAW_RATES:
        return raw_rate_offer(c, evidence)
    top = parent(seg)
    explore = evidence.explore and not evidence.cold and rng.random() < evidence.share * _thin_share(c, evidence, seg)
    price = _pick(c.prices, evidence.price.get(seg, {}), price_key, float, c.default_price, evidence, rng, explore,
                  fallback=evidence.price.get(top, {}) if top != seg else None, clear_wins=True)
    hook = _pick(c.hooks, evidence.hook, str, lambda h: 1.0, c.default_hook, evidence, rng, explore)
    item = _pick(c.items, evidence.content, lambda v: v.content_key, lambda v: 1.0, c.items[0], evidence, rng,
                 explore)
    return Offer(price=price, hook=hook, item=item, explored=explore)
