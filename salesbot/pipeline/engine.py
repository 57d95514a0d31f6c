"""decide(): the bot's one entry point for choosing what to do for a fan."""

import logging
from decimal import Decimal

from learning.models import Action
from learning.selectors import spend_capped, spent_last_24h
from salesbot.models import QueueItem
from salesbot.pipeline import replies, router, rules
from salesbot.pipeline.contact import contact_block
from salesbot.pipeline.cues import detect
from salesbot.pipeline.decisions import Context, Decision

log = logging.getLogger(__name__)


def build_context(creator, fan, reason="message", last_text="", message=None) -> Context:
    """The fan's latest message brings the signals intake read from it (detected once, on arrival)."""
    if message is not None:
        last_text = message.text
        if message.signals is not None:
            return Context(creator=creator, fan=fan, reason=reason, last_text=last_text, signals=set(message.signals))
    return Context(
        creator=creator,
        fan=fan,
        reason=reason,
        last_text=last_text,
        signals=detect(creator, last_text) if last_text else set(),
    )


def decide(ctx: Context) -> Decision:
    row, step = router.route(ctx)
    if step == "skip":
        return Decision("skip", reason=contact_block(ctx.creator, ctx.fan) or "no contact", route=row)
    try:
        decision = llm_decide(ctx) if step == "llm" else replies.decide(ctx, step)
        if decision.action == Action.Kind.PPV and spend_capped(ctx.fan):
            decision = capped(ctx, decision)
    except rules.NoFreshLine as spent:
        decision = instead(ctx, step, spent)
    decision.route = row
    return decision


def capped(ctx: Context, offer: Decision) -> Decision:
    """The per-fan 24h spend cap protects fans, whales in mid-sale too: the PPV becomes aftercare, and the
    blocked offer is kept on the Action (extra["capped_offer"]) so the fan's timeline shows the cap at work."""
    spent, cap = _money(spent_last_24h(ctx.fan)), _money(ctx.fan.creator.daily_spend_cap)
    d = rules.text_decision(
        ctx, rules.K.AFTERCARE, reason=f"24h spend cap reached: no PPV offers (${spent} spent, cap ${cap})"
    )
    d.extra = {k: v for k, v in offer.extra.items() if k not in ("explored", "segment")}  # they describe the PPV
    d.extra["capped_offer"] = {
        "content_key": offer.content_key,
        "hook": offer.hook,
        "source": offer.source,
        "price": None if offer.price is None else _money(offer.price),
        "spent_24h": spent,
        "cap": cap,
    }
    return d


def _money(value) -> str:
    return f"{Decimal(str(value)):.2f}"


def instead(ctx: Context, step: str, spent: rules.NoFreshLine) -> Decision:
    """The fan had every fitting line: the LLM writes a new one when there is one and the budget allows
    (only for a fan's message: a bump or rekindle stays what it is), otherwise the bot waits for the fan."""
    from salesbot.pipeline.llm import client as llm

    why = str(spent)
    if ctx.reason == QueueItem.Reason.MESSAGE and step != "llm":
        if not llm.configured():
            why += "; no LLM configured"
        elif not llm.budget_allows(ctx.creator):
            why += "; the LLM budget is spent"
        else:
            decision = llm_decide(ctx)
            if "llm_fallback" in decision.extra:
                # No usable answer: the rules' stand-in serves the LLM's own rows, not this one.
                waiting = rules.wait(ctx, f"{why}; {decision.extra['llm_fallback']}")
                waiting.extra.update({k: v for k, v in decision.extra.items() if k == "llm_call_id"})
                return waiting
            decision.extra["instead_of_rules"] = why
            decision.reason = f"LLM instead of rules ({why}): {decision.reason}"[:300]
            return decision
    return rules.wait(ctx, why)


def llm_decide(ctx: Context) -> Decision:
    from salesbot.pipeline.llm import client as llm

    return llm.decide(ctx)
