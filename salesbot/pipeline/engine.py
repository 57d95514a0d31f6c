"""decide(): the bot's one entry point for choosing what to do for a fan."""
import logging

from fans.selectors import spend_capped
from salesbot.pipeline import router
from salesbot.pipeline import rules
from salesbot.pipeline.contact import contact_block
from salesbot.pipeline.decisions import Context, Decision
from salesbot.pipeline.signals import detect

log = logging.getLogger(__name__)


def build_context(creator, fan, reason="message", last_text="", message=None) -> Context:
    """The fan's latest message brings the signals intake read from it (detected once, on arrival)."""
    if message is not None:
        last_text = message.text
        if message.signals is not None:
            return Context(creator=creator, fan=fan, reason=reason, last_text=last_text, signals=set(message.signals))
    return Context(creator=creator, fan=fan, reason=reason, last_text=last_text,
                   signals=detect(creator, last_text) if last_text else set())


def decide(ctx: Context) -> Decision:
    row, step = router.route(ctx)
    if step == "skip":
        return Decision("skip", reason=contact_block(ctx.creator, ctx.fan) or "no contact", route=row)
    if step == "llm":
        decision = llm_decide(ctx)
    else:
        decision = rules.STEPS[step](ctx)
    if decision.action == "ppv" and spend_capped(ctx.fan):
        capped = rules.text_decision(ctx, rules.K.AFTERCARE, reason="24h spend cap reached: no PPV offers")
        capped.extra = decision.extra
        decision = capped
    decision.route = row
    return decision


def llm_decide(ctx: Context) -> Decision:
    from salesbot.pipeline.llm import client as llm

    return llm.decide(ctx)
