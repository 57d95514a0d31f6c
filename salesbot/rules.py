"""The rule engine: cheap, predictable decisions from the creator's templates and vault ladder.

Never offers content the fan already has (content_sent); PPV prices stay within the creator's bounds.
A PPV's price, hook and content follow the learning evidence (Beta posteriors, learning.bayes): the
best-evidenced choice, or, for a share of offers, a Thompson sample (see choose_offer).
"""
import random
from dataclasses import dataclass, field
from decimal import Decimal

from learning import bayes
from learning.models import HOOKS
from learning.stats import price_key
from models_registry.models import ResponseTemplate, VaultItem
from salesbot.decisions import Context, Decision

K = ResponseTemplate.Kind
FALLBACK_TEXT = {
    K.GREETING: "hey {name} 💕", K.TEASE: "i have something you might like 🙈", K.REENGAGE: "tell me about you 💭",
    K.BUMP: "did you see what i sent? 👀", K.REKINDLE: "missed you 💕", K.PPV: "just for you 🥺",
    K.FREE_HOOK: "a little something for you 😘", K.AFTERCARE: "did you like it? 🥰",
}


def _rng(ctx: Context) -> random.Random:
    return random.Random(f"{ctx.fan.pk}:{ctx.fan.event_seq}")


def template(ctx: Context, kind: str) -> tuple[str, ResponseTemplate | None]:
    t = next((t for t in ctx.creator.templates.all() if t.kind == kind), None)
    variants = (t.variants if t else None) or [FALLBACK_TEXT[kind]]
    text = _rng(ctx).choice(variants)
    try:
        text = text.format(name=ctx.fan.name or "babe")
    except (KeyError, IndexError, ValueError):
        pass
    return text, t


def unsent_items(ctx: Context, paid: bool) -> list[VaultItem]:
    sent = set(ctx.fan.content_sent or [])
    items = [v for v in ctx.creator.vault_items.all() if v.content_key not in sent and v.media_ids]
    items = [v for v in items if (v.default_price is not None) == paid]
    return sorted(items, key=lambda v: (v.ladder_tier, v.default_price or 0, v.content_key))


def clamp_price(creator, price) -> Decimal:
    return min(max(Decimal(str(price)), creator.ppv_min_price), creator.ppv_max_price)


def text_decision(ctx, kind, action="text", reason="") -> Decision:
    text, t = template(ctx, kind)
    return Decision(action=action, text=text, hook=(t.hook if t else ""), reason=reason or kind)


def greet(ctx: Context) -> Decision:
    """Welcome once; a fan the bot already greeted gets conversation, not a second hello."""
    if ctx.fan.messages_sent > 0:
        return tease(ctx)
    text, t = template(ctx, K.GREETING)
    key = t.content_key if t else ""
    if key and key not in (ctx.fan.content_sent or []) and any(
            v.content_key == key and v.media_ids and v.default_price is None for v in ctx.creator.vault_items.all()):
        return Decision("free_media", text=text, content_key=key, hook=t.hook, reason="greet + selfie")
    return Decision("text", text=text, hook=t.hook if t else "", reason="greet")


def tease(ctx: Context) -> Decision:
    return text_decision(ctx, K.TEASE, reason="tease")


def free_hook(ctx: Context) -> Decision:
    text, t = template(ctx, K.FREE_HOOK)
    items = unsent_items(ctx, paid=False)
    preferred = [v for v in items if t and v.content_key == t.content_key]
    item = (preferred or items or [None])[0]
    if item is None:
        return tease(ctx)
    return Decision("free_media", text=text, content_key=item.content_key, hook=t.hook if t else "",
                    reason="free hook")


def tease_or_free_hook(ctx: Context) -> Decision:
    return free_hook(ctx) if ctx.fan.messages_received >= 3 else tease(ctx)


def ppv(ctx: Context) -> Decision:
    """Next rung of the ladder; a fan who never paid gets the creator's entry price. Those defaults stand
    until the evidence trusts something better, or this offer is one the creator lets explore."""
    items = unsent_items(ctx, paid=True)
    if not items:
        return reengage(ctx)
    text, t = template(ctx, K.PPV)
    default_hook = (t.hook if t else "") or "vulnerability"
    default_price = ctx.creator.entry_price if ctx.fan.total_spent <= 0 else items[0].default_price
    chooser = getattr(ctx, "choose_offer", None) or choose_offer
    offer = chooser(offer_candidates(ctx.creator, items, default_price, default_hook),
                    load_evidence(ctx), segment(ctx.fan.total_spent), _rng(ctx))
    if offer.hook != default_hook:
        text = HOOK_LINES.get(offer.hook, text)
    d = Decision("ppv", text=text, content_key=offer.item.content_key, price=offer.price, hook=offer.hook,
                 reason=f"ladder tier {offer.item.ladder_tier}" + (" (exploring)" if offer.explored else ""))
    if offer.explored:
        d.extra["explored"] = True
    return d


# --- PPV offers: which price, hook and content ---------------------------------------------------

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
    """Beta posteriors as (a, b, effective sends): price per fan segment, hook, content; and the knobs."""
    price: dict = field(default_factory=dict)      # {"new"|"buyer": {price_key: (a, b, n)}}
    hook: dict = field(default_factory=dict)       # {hook: (a, b, n)}
    content: dict = field(default_factory=dict)    # {content_key: (a, b, n)}
    min_sample: int = 20
    explore: bool = True
    share: float = 0.2

    @property
    def cold(self) -> bool:
        return not (self.hook or self.content or any(self.price.values()))


def segment(total_spent) -> str:
    """Fans who never paid and buyers answer prices differently, so their price cells are kept apart."""
    return "buyer" if total_spent > 0 else "new"


def offer_candidates(creator, items: list[VaultItem], default_price, default_hook: str) -> Candidates:
    tiers = sorted({v.ladder_tier for v in items})[:2]
    grid = {clamp_price(creator, p) for p in [creator.entry_price, default_price]
            + [v.default_price for v in creator.vault_items.all() if v.default_price is not None]}
    return Candidates(prices=sorted(grid), hooks=list(HOOKS), items=[v for v in items if v.ladder_tier in tiers],
                      default_price=clamp_price(creator, default_price), default_hook=default_hook)


def _cells(stats: dict, key: str) -> dict:
    return {k: (c["alpha"], c["beta"], c["effective_sent"]) for k, c in (stats.get(key) or {}).items()}


def evidence_from_stats(creator, stats: dict) -> Evidence:
    """The posteriors of aggregate_learning_stats() in the shape choose_offer reads."""
    by_segment = stats.get("posterior_by_segment_price") or {}
    return Evidence(price={s: _cells(by_segment, s) for s in by_segment},
                    hook=_cells(stats, "posterior_by_hook"), content=_cells(stats, "posterior_by_content"),
                    min_sample=creator.min_sample, explore=creator.exploration_enabled,
                    share=creator.exploration_share)


def load_evidence(ctx: Context) -> Evidence:
    """The in-process simulator hands its evidence in on the context; live decisions read the cached stats."""
    evidence = getattr(ctx, "evidence", None)
    if evidence is None:
        from learning.stats import aggregate_learning_stats
        evidence = evidence_from_stats(ctx.creator, aggregate_learning_stats(ctx.creator))
    return evidence


def _pick(options: list, cells: dict, key, value, default, evidence: Evidence, rng, explore: bool):
    """Exploit: best posterior mean value among trusted cells, else the default. Explore: best Thompson
    draw over every option (an option never tried draws from the prior)."""
    if explore:
        draws = [(value(o) * bayes.thompson(rng, *cells.get(key(o), (*bayes.PRIOR, 0))[:2]), i)
                 for i, o in enumerate(options)]
        return options[max(draws)[1]]
    trusted = [(value(o) * bayes.mean(*cells[key(o)][:2]), -i) for i, o in enumerate(options)
               if key(o) in cells and cells[key(o)][2] >= evidence.min_sample]
    return options[-max(trusted)[1]] if trusted else default


def choose_offer(c: Candidates, evidence: Evidence, seg: str, rng: random.Random) -> Offer:
    """Price by revenue per send (price × p) within the fan's segment; hook and content by conversion.
    No data at all (cold start) never explores, so a new creator gets the playbook's ladder."""
    explore = evidence.explore and not evidence.cold and rng.random() < evidence.share
    price = _pick(c.prices, evidence.price.get(seg, {}), price_key, float, c.default_price, evidence, rng, explore)
    hook = _pick(c.hooks, evidence.hook, str, lambda h: 1.0, c.default_hook, evidence, rng, explore)
    item = _pick(c.items, evidence.content, lambda v: v.content_key, lambda v: 1.0, c.items[0], evidence, rng,
                 explore)
    return Offer(price=price, hook=hook, item=item, explored=explore)


def reengage(ctx: Context) -> Decision:
    return text_decision(ctx, K.REENGAGE, reason="re-engage")


def bump(ctx: Context) -> Decision:
    return text_decision(ctx, K.BUMP, action="bump", reason="bump after 4h unbought PPV")


def rekindle(ctx: Context) -> Decision:
    return text_decision(ctx, K.REKINDLE, action="rekindle", reason="rekindle dormant spender")


def _last_sent(ctx: Context, skip_too: bool):
    """The fan's last sent action (the simulator, which keeps no rows, hands it in as ctx.last_sent)."""
    if hasattr(ctx, "last_sent"):
        return ctx.last_sent
    from learning.models import Action

    sent = Action.objects.filter(fan=ctx.fan, status=Action.Status.SENT)
    return (sent if skip_too else sent.exclude(action="skip")).order_by("-ts", "-seq").first()


def llm_stand_in(ctx: Context) -> Decision:
    """What the rules do on the LLM's rows when no model answers: aftercare after a sale,
    rapport while a PPV is unanswered, otherwise the next ladder offer."""
    last = _last_sent(ctx, skip_too=False)
    if last and last.action == "ppv":
        d = text_decision(ctx, K.AFTERCARE, reason="aftercare") if last.purchased else reengage(ctx)
    else:
        d = ppv(ctx)
    d.reason = f"LLM route handled by rules: {d.reason}"
    return d


def light_reply(ctx: Context) -> Decision:
    """A short answer to filler: aftercare right after a sale, otherwise keep the chat warm."""
    last = _last_sent(ctx, skip_too=True)
    if last and last.action == "ppv" and last.purchased:
        return text_decision(ctx, K.AFTERCARE, reason="aftercare after filler")
    return reengage(ctx)


STEPS = {
    "light_reply": light_reply,
    "greet": greet, "tease": tease, "free_hook": free_hook, "tease_or_free_hook": tease_or_free_hook,
    "ppv": ppv, "reengage": reengage, "bump": bump, "rekindle": rekindle, "llm": llm_stand_in,
}
