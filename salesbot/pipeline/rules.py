"""The rule engine: cheap, predictable decisions from the creator's templates and vault ladder.

Never offers content the fan already has (content_sent); PPV prices stay within the creator's bounds.
A PPV's price, hook and content follow the learning evidence (Beta posteriors, learning.bayes): the
best-evidenced choice, or, for a share of offers, a Thompson sample; prices are learnt per fan context
(salesbot.pipeline.offers, where that code lives).
"""
import random

from models_registry.models import ResponseTemplate, VaultItem
from salesbot.pipeline.decisions import Context, Decision
from salesbot.pipeline.offers import HOOK_LINES, choose_offer, fan_context, load_evidence, offer_candidates

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
    candidates = offer_candidates(ctx.creator, items, default_price, default_hook)
    context = fan_context(ctx.fan, candidates)
    offer = choose_offer(candidates, load_evidence(ctx), context, _rng(ctx))
    if offer.hook != default_hook:
        text = HOOK_LINES.get(offer.hook, text)
    d = Decision("ppv", text=text, content_key=offer.item.content_key, price=offer.price, hook=offer.hook,
                 reason=f"ladder tier {offer.item.ladder_tier}" + (" (exploring)" if offer.explored else ""))
    d.extra["segment"] = context
    if offer.explored:
        d.extra["explored"] = True
    return d


def reengage(ctx: Context) -> Decision:
    return text_decision(ctx, K.REENGAGE, reason="re-engage")


def bump(ctx: Context) -> Decision:
    return text_decision(ctx, K.BUMP, action="bump", reason="bump after 4h unbought PPV")


def rekindle(ctx: Context) -> Decision:
    return text_decision(ctx, K.REKINDLE, action="rekindle", reason="rekindle dormant spender")


def _last_sent(ctx: Context, skip_too: bool):
    """The fan's last sent action."""
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
