"""decide(): the bot's one entry point for choosing what to do for a fan."""
import logging

from fans.selectors import spend_capped
from salesbot.pipeline import replies, router, rules
from salesbot.pipeline.decisions import Context, Decision
from salesbot.pipeline.signals import detect

log = logging.getLogger(__name__)


def build_context(creator, fan, reason="message", last_text="") -> Context:
    return Context(creator=creator, fan=fan, reason=reason, last_text=last_text,
                   signals=detect(creator, last_text) if last_text else set())


def decide(ctx: Context) -> Decision:
    row, step = router.route(ctx)
    if step == "skip":
        return Decision("skip", reason="fan is handed off or opted out: a human owns this fan", route=row)
    try:
        decision = llm_decide(ctx) if step == "llm" else replies.decide(ctx, step)
        if decision.action == "ppv" and spend_capped(ctx.fan):
            capped = rules.text_decision(ctx, rules.K.AFTERCARE, reason="24h spend cap reached: no PPV offers")
            capped.extra = {**decision.extra, **capped.extra}
            decision = capped
    except rules.NoFreshLine as spent:
        decision = instead(ctx, step, spent)
    decision.route = row
    return decision


def instead(ctx: Context, step: str, spent: rules.NoFreshLine) -> Decision:
    """The fan had every fitting line: the LLM writes a new one when there is one and the budget allows
    (only for a fan's message: a bump or rekindle stays what it is), otherwise the bot waits for the fan."""
    from salesbot.pipeline.llm import client as llm

    why = str(spent)
    if ctx.reason == "message" and step != "llm":
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
