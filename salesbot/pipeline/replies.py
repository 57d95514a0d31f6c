"""The rule path's answer to a fan: what the fan said first, the ladder second, never a line the fan had.

decide(ctx, step) wraps the router's rule step (salesbot.pipeline.rules.STEPS):

1. An offer waits (the bot's last PPV, unbought, under a day old) and the fan asks its price, says yes or
   says no: the answer is about that offer ("it's $18 babe"), never a second PPV on top of it.
2. Otherwise the step decides; a sale it makes (PPV, free media) stands.
3. A step that would only make small talk gives way to the answer of the message's intent
   (salesbot.pipeline.intents): thanks for a compliment, a word about the creator, a hello, "you want more?".
4. A kind whose every line the fan already had gives way to another fitting kind (ALTERNATIVES).

With nothing fresh left, NoFreshLine reaches salesbot.pipeline.engine, which hands the fan to the LLM
(when configured and within budget) or waits for the fan.
"""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from learning.models import Action
from salesbot.models import QueueItem
from salesbot.pipeline import intents, rules
from salesbot.pipeline.decisions import Context, Decision
from salesbot.pipeline.rules import K, NoFreshLine

OFFER_ANSWER_WINDOW = timedelta(hours=24)
OFFER_INTENTS = {intents.PRICE, intents.YES, intents.NO}
# Lines that only keep the chat going: the answer to what the fan said replaces them (a sale, a free
# picture or aftercare after a purchase stands).
SMALL_TALK = {K.TEASE, K.REENGAGE}
# What else fits when the fan had every line of a kind. A bump or a rekindle is one nudge: nothing else
# stands in for it (the bot waits). An answer about a waiting offer has no stand-in either: a chat line
# would dodge the fan's question, a PPV would be a second offer.
ALTERNATIVES = {
    K.GREETING: [K.HELLO, K.TEASE, K.REENGAGE],
    K.HELLO: [K.REENGAGE, K.TEASE],
    K.TEASE: [K.MORE, K.REENGAGE],
    K.REENGAGE: [K.TEASE, K.ABOUT_ME],
    K.AFTERCARE: [K.COMPLIMENT, K.REENGAGE],
    K.FREE_HOOK: [K.TEASE, K.REENGAGE],
    K.PPV: [K.TEASE, K.REENGAGE],
    K.MORE: [K.TEASE, K.REENGAGE],
    K.ABOUT_ME: [K.REENGAGE],
    K.COMPLIMENT: [K.REENGAGE, K.TEASE],
}


def waiting_offer(ctx: Context):
    """The offer the fan may be answering: the last PPV sent, unbought and recent; None otherwise."""
    ppv = (
        Action.objects.filter(
            fan=ctx.fan, action=Action.Kind.PPV, status=Action.Status.SENT, ts__gte=timezone.now() - OFFER_ANSWER_WINDOW
        )
        .order_by("-ts", "-seq")
        .first()
    )
    return ppv if ppv is not None and not ppv.purchased else None


def price_text(price) -> str:
    """18 → "18", 12.5 → "12.50": how a price reads in a chat."""
    price = Decimal(str(price))
    return f"{price:.0f}" if price == price.to_integral_value() else f"{price:.2f}"


def answer_offer(ctx: Context, intent: str, offer) -> Decision:
    price = getattr(offer, "price", None) or ctx.fan.last_ppv_price
    if intent == intents.PRICE and price is None:
        intent = intents.YES  # an offer whose price is unknown here: point the fan at it
    reason = {
        intents.PRICE: "the fan asks the waiting offer's price",
        intents.YES: "the fan wants the waiting offer",
        intents.NO: "the fan declines the waiting offer",
    }[intent]
    values = {"price": price_text(price)} if intent == intents.PRICE else {}
    return rules.text_decision(ctx, intent, reason=reason, **values)


def decide(ctx: Context, step: str) -> Decision:
    """The step's decision, answering what the fan said, with a line the fan never had (see module doc)."""
    text = ctx.last_text if ctx.reason == QueueItem.Reason.MESSAGE else ""
    intent = intents.detect(text, offer_waiting=True)
    if intent in OFFER_INTENTS:
        offer = waiting_offer(ctx)
        if offer is not None:
            return answer_offer(ctx, intent, offer)
        intent = intents.detect(text, offer_waiting=False)
    spent: NoFreshLine | None = None
    try:
        decision = rules.STEPS[step](ctx)
    except NoFreshLine as e:
        decision, spent = None, e
    small_talk = decision is None or (
        decision.action == Action.Kind.TEXT and decision.extra.get("template") in SMALL_TALK
    )
    if intent and intent not in OFFER_INTENTS and small_talk:
        try:
            return rules.text_decision(ctx, intent, reason=f"answers the fan ({intent})")
        except NoFreshLine:
            pass
    if decision is not None:
        return decision
    assert spent is not None  # the step either decided or raised NoFreshLine
    return alternative(ctx, spent)


def alternative(ctx: Context, spent: NoFreshLine) -> Decision:
    """Another fitting kind when the fan had every line of the step's kind; NoFreshLine when none fits."""
    tried = list(spent.kinds)
    for kind in ALTERNATIVES.get(tried[0], []):
        if kind in tried:
            continue
        try:
            return rules.text_decision(ctx, kind, reason=f"{kind} (the fan had every {tried[0]} line)")
        except NoFreshLine:
            tried.append(kind)
    raise NoFreshLine(*tried)
