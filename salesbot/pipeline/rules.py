"""The rule engine: cheap, predictable decisions from the creator's templates and vault ladder.

Never offers content the fan already has (content_sent), never sends a line the fan already had (a kind's
variants rotate per fan; with none left, NoFreshLine: salesbot.pipeline.replies and the engine choose
differently); PPV prices stay within the creator's bounds.
A PPV's price, hook and content follow the learning evidence (Beta posteriors, learning.bayes): the
best-evidenced choice, or, for a share of offers, a Thompson sample; prices are learnt per fan context
(salesbot.pipeline.offers, where that code lives).
"""

import random
import re

from learning.models import Action
from models_registry.models import ResponseTemplate, VaultItem
from salesbot.pipeline import creator_cache, repeats
from salesbot.pipeline.contact import restricted_words_in
from salesbot.pipeline.decisions import Context, Decision
from salesbot.pipeline.fan_prices import for_fan
from salesbot.pipeline.offers import (
    HOOK_LINES,
    as_logged,
    choose_offer,
    load_evidence,
    offer_candidates,
)

K = ResponseTemplate.Kind
TEMPLATES_TTL_S = 60  # a creator's templates and vault, read once a minute or after an edit (pipeline.creator_cache)
# Lines for a kind the creator's content map leaves out. The answers to what a fan said get a few each,
# so a fan can ask twice; the creator's own lines always win (they are in the creator's voice).
DEFAULT_VARIANTS: dict[str, list[str]] = {
    K.GREETING: ["hey {name} 💕"],
    K.TEASE: ["i have something you might like 🙈"],
    K.REENGAGE: ["tell me about you 💭"],
    K.BUMP: ["did you see what i sent? 👀"],
    K.REKINDLE: ["missed you 💕"],
    K.PPV: ["just for you 🥺"],
    K.FREE_HOOK: ["a little something for you 😘"],
    K.AFTERCARE: ["did you like it? 🥰"],
    K.PRICE: [
        "it's just ${price} babe 🙈 and so worth it",
        "only ${price} for you 😘 it's waiting in your messages",
        "${price} 💕 unlock it and tell me what you think",
    ],
    K.OFFER_YES: [
        "yay 🥰 it's right there in your messages, just unlock it",
        "it's waiting for you babe 😘 tell me when you've seen it",
        "mmm good choice 😏 open it and tell me what you think",
    ],
    K.OFFER_NO: [
        "no worries babe 💕 it's there whenever you want it",
        "that's ok 🥰 tell me about your day instead",
        "no pressure at all 😘 what are you up to?",
    ],
    K.MORE: [
        "mmm you want more? 😏 i've got plenty more where that came from",
        "more is coming babe 🙈 what would you love to see?",
        "greedy 😏 i like that… tell me what you're into",
    ],
    K.ABOUT_ME: [
        "haha you want to know me better? 🙈 you first, tell me something about you",
        "a girl has to keep a few secrets 😏 but ask me anything",
        "just relaxing at home rn 🥰 what about you?",
    ],
    K.COMPLIMENT: ["aww you're so sweet 🥰", "stop it, you're making me blush 🙈", "you always know what to say 💕"],
    K.HELLO: ["heyy 😊 how's your day going?", "hii you 💕 what are you up to?", "hey you 😘 so glad you're here"],
    K.EXPIRED: [
        "i miss you already {name} 🥺 come back, i've been saving something special for you 💕",
        "hey {name}, it's not the same without you here 💭 come back and see what's new 😘",
    ],
}


class NoFreshLine(Exception):
    """Every line of these template kinds was already sent to this fan: the caller must choose differently."""

    def __init__(self, *kinds):
        self.kinds = list(kinds)
        super().__init__(f"no unused {'/'.join(self.kinds)} line left for this fan")


def _rng(ctx: Context) -> random.Random:
    return random.Random(f"{ctx.fan.pk}:{ctx.fan.event_seq}")


def _row(ctx: Context, kind: str) -> ResponseTemplate | None:
    if ctx.templates is None:
        ctx.templates = creator_cache.cached(
            ctx.creator, "templates", lambda: list(ctx.creator.templates.all()), TEMPLATES_TTL_S
        )
    return next((t for t in ctx.templates if t.kind == kind), None)


def fill(ctx: Context, line: str, **values) -> str:
    try:
        return line.format(name=display_name(ctx), **values)
    except (KeyError, IndexError, ValueError):
        return line


def template(ctx: Context, kind: str, **values) -> tuple[str, ResponseTemplate | None]:
    """A line of this kind the fan has not had yet (variants rotate per fan); NoFreshLine when none is left."""
    t = _row(ctx, kind)
    lines = repeats.unsent(ctx, [fill(ctx, v, **values) for v in (t.variants if t else None) or DEFAULT_VARIANTS[kind]])
    if not lines:
        raise NoFreshLine(kind)
    return _rng(ctx).choice(lines), t


_MARKUP = re.compile(r"<[^>]*>|[<>{}]|https?://\S+|\S+@\S+")
NAME_MAX = 24


def display_name(ctx: Context) -> str:
    """The fan's name as a template may say it: a platform display name is whatever the fan typed, so
    markup and links are dropped, it is cut short, and a name using the creator's restricted words (or
    nothing left) becomes "babe". The sender's last gate still checks the whole text."""
    name = " ".join(_MARKUP.sub(" ", ctx.fan.name or "").split())[:NAME_MAX].strip()
    if not name or restricted_words_in(ctx.creator, ctx.fan.name or "", name=True):
        return "babe"
    return name


def unsent_items(ctx: Context, paid: bool) -> list[VaultItem]:
    sent = set(ctx.fan.content_sent or [])
    vault = creator_cache.cached(ctx.creator, "vault", lambda: list(ctx.creator.vault_items.all()), TEMPLATES_TTL_S)
    items = [v for v in vault if v.content_key not in sent and v.media_ids]
    items = [v for v in items if (v.default_price is not None) == paid]
    return sorted(items, key=lambda v: (v.ladder_tier, v.default_price or 0, v.content_key))


def text_decision(ctx, kind, action=Action.Kind.TEXT, reason="", **values) -> Decision:
    text, t = template(ctx, kind, **values)
    return Decision(
        action=action, text=text, hook=(t.hook if t else ""), reason=reason or kind, extra={"template": str(kind)}
    )


def greet(ctx: Context) -> Decision:
    """Welcome once; a fan the bot already greeted gets conversation, not a second hello."""
    if ctx.fan.messages_sent > 0:
        return tease(ctx)
    d = text_decision(ctx, K.GREETING, reason="greet")
    t = _row(ctx, K.GREETING)
    key = t.content_key if t else ""
    if (
        key
        and key not in (ctx.fan.content_sent or [])
        and any(v.content_key == key and v.media_ids and v.default_price is None for v in ctx.creator.vault_items.all())
    ):
        d.action, d.content_key, d.reason = "free_media", key, "greet + selfie"
    return d


def tease(ctx: Context) -> Decision:
    return text_decision(ctx, K.TEASE, reason="tease")


def free_hook(ctx: Context) -> Decision:
    t = _row(ctx, K.FREE_HOOK)
    items = unsent_items(ctx, paid=False)
    preferred = [v for v in items if t and v.content_key == t.content_key]
    chosen = preferred or items
    if not chosen:
        return tease(ctx)
    item = chosen[0]
    d = text_decision(ctx, K.FREE_HOOK, action=Action.Kind.FREE_MEDIA, reason="free hook")
    d.content_key = item.content_key
    return d


def tease_or_free_hook(ctx: Context) -> Decision:
    return free_hook(ctx) if ctx.fan.messages_received >= 3 else tease(ctx)


def ppv(ctx: Context) -> Decision:
    """Next rung of the ladder; a fan who never paid gets the creator's entry price. Those defaults stand
    until the evidence trusts something better, or this offer is one the creator lets explore."""
    items = unsent_items(ctx, paid=True)
    if not items:
        return reengage(ctx)
    t = _row(ctx, K.PPV)
    default_hook = (t.hook if t else "") or "vulnerability"
    default_price = ctx.creator.entry_price if ctx.fan.total_spent <= 0 else items[0].default_price
    candidates = offer_candidates(ctx.creator, items, default_price, default_hook)
    candidates, context = for_fan(ctx.creator, candidates, ctx.fan)
    offer = choose_offer(candidates, load_evidence(ctx), context, _rng(ctx))
    text, hook = ppv_line(ctx, t, offer.hook, default_hook)
    d = Decision(
        "ppv",
        text=text,
        content_key=offer.item.content_key,
        price=offer.price,
        hook=hook,
        reason=f"ladder tier {offer.item.ladder_tier}"
        + (" (exploring)" if offer.explored else "")
        + (f" ({offer.hook} lines already sent to this fan: a {hook} line)" if hook != offer.hook else ""),
    )
    d.extra.update(
        segment=context,
        template=str(K.PPV),
        propensity=offer.propensity,
        policy_choices=offer.choices,
        offer=as_logged(offer),
    )
    if offer.explored:
        d.extra["explored"] = True
    return d


def ppv_line(ctx: Context, t: ResponseTemplate | None, hook: str, default_hook: str) -> tuple[str, str]:
    """(line, hook) for an offer: an unused line written in the chosen hook (the template's variants are in
    its hook, HOOK_LINES has one per hook); once the fan had those, an unused line of another hook, whose hook
    is then the one recorded, so the hook stats stay true to what the fan read. NoFreshLine when none is left."""
    variants = [fill(ctx, v) for v in ((t.variants if t else None) or DEFAULT_VARIANTS[K.PPV])]

    def lines(h):
        return (variants if h == default_hook else []) + ([HOOK_LINES[h]] if h in HOOK_LINES else [])

    for h in [hook, default_hook] + [h for h in HOOK_LINES if h not in (hook, default_hook)]:
        fresh = repeats.unsent(ctx, lines(h))
        written = [line for line in fresh if line in variants]
        if fresh:
            return (_rng(ctx).choice(written) if written else fresh[0]), h
    raise NoFreshLine(K.PPV)


def wait(ctx: Context, why: str) -> Decision:
    """Nothing is sent: better silence than a line the fan already had; the fan's next message decides again."""
    return Decision("skip", reason=f"waiting for the fan: {why}"[:300], extra={"waiting": why})


def reengage(ctx: Context) -> Decision:
    return text_decision(ctx, K.REENGAGE, reason="re-engage")


def bump(ctx: Context) -> Decision:
    return text_decision(ctx, K.BUMP, action=Action.Kind.BUMP, reason="bump after 4h unbought PPV")


def rekindle(ctx: Context) -> Decision:
    return text_decision(ctx, K.REKINDLE, action=Action.Kind.REKINDLE, reason="rekindle dormant spender")


def expired(ctx: Context) -> Decision:
    """One re-engage message to a fan whose subscription ran out (Creator.reengage_expired); nothing if the
    creator switched it off or the fan renewed before the message went out."""
    if not ctx.creator.reengage_expired:
        return Decision(Action.Kind.SKIP, reason="re-engaging expired fans is switched off for this creator")
    if getattr(ctx.fan, "subscription_status", "expired") != "expired":
        return Decision(Action.Kind.SKIP, reason="the fan's subscription is active again: no re-engage message")
    return text_decision(ctx, K.EXPIRED, reason="re-engage: the fan's subscription expired")


def _last_sent(ctx: Context, skip_too: bool):
    """The fan's last sent action."""
    sent = Action.objects.filter(fan=ctx.fan, status=Action.Status.SENT)
    return (sent if skip_too else sent.exclude(action=Action.Kind.SKIP)).order_by("-ts", "-seq").first()


def llm_stand_in(ctx: Context) -> Decision:
    """What the rules do on the LLM's rows when no model answers: aftercare after a sale,
    rapport while a PPV is unanswered, otherwise the next ladder offer."""
    last = _last_sent(ctx, skip_too=False)
    if last and last.action == Action.Kind.PPV:
        d = text_decision(ctx, K.AFTERCARE, reason="aftercare") if last.purchased else reengage(ctx)
    else:
        d = ppv(ctx)
    d.reason = f"LLM route handled by rules: {d.reason}"
    return d


def light_reply(ctx: Context) -> Decision:
    """A short answer to filler: aftercare right after a sale, otherwise keep the chat warm."""
    last = _last_sent(ctx, skip_too=True)
    if last and last.action == Action.Kind.PPV and last.purchased:
        return text_decision(ctx, K.AFTERCARE, reason="aftercare after filler")
    return reengage(ctx)


STEPS = {
    "light_reply": light_reply,
    "greet": greet,
    "tease": tease,
    "free_hook": free_hook,
    "tease_or_free_hook": tease_or_free_hook,
    "ppv": ppv,
    "reengage": reengage,
    "bump": bump,
    "rekindle": rekindle,
    "expired": expired,
    "llm": llm_stand_in,
}
