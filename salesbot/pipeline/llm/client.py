"""The LLM branch: one Claude call per decision through the anthropic SDK, every call recorded.

Errors, timeouts and unusable replies never block a fan: the rule engine decides instead.
"""

import logging
import time
from datetime import timedelta
from decimal import Decimal

import anthropic
from django.conf import settings
from django.utils import timezone

from learning.models import Action
from salesbot.llm_tables import BATCH_DISCOUNT, DEFAULT_PRICES, lookup
from salesbot.models import LLMCall
from salesbot.pipeline import repeats, rules
from salesbot.pipeline.decisions import Context, Decision
from salesbot.pipeline.llm.prompt import build_prompt
from salesbot.pipeline.llm.reply import RejectedReply, parse_reply, validate
from salesbot.pipeline.memory import learn_from_reply

log = logging.getLogger(__name__)
_warned_no_key = False


def configured() -> bool:
    return bool(settings.ANTHROPIC_API_KEY)


def client() -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key=settings.ANTHROPIC_API_KEY,
        base_url=settings.ANTHROPIC_BASE_URL,
        timeout=settings.LLM_TIMEOUT_S,
        max_retries=settings.LLM_MAX_RETRIES,
    )


def cost_usd(model: str, usage, batch: bool = False) -> Decimal:
    """What one call cost at settings.LLM_PRICES (per model, dated): fresh input, cache writes and reads,
    output; a Message Batches call (`batch`, or a usage whose service_tier says "batch") costs half."""
    batch = batch or getattr(usage, "service_tier", None) == "batch"
    p_in, p_out, p_write, p_read = lookup(settings.LLM_PRICES, model, DEFAULT_PRICES)
    fresh = getattr(usage, "input_tokens", 0) or 0
    write = getattr(usage, "cache_creation_input_tokens", 0) or 0
    read = getattr(usage, "cache_read_input_tokens", 0) or 0
    out = getattr(usage, "output_tokens", 0) or 0
    total = (fresh * p_in + write * p_write + read * p_read + out * p_out) / 1_000_000
    return Decimal(str(round(total * (BATCH_DISCOUNT if batch else 1), 6)))


def budget_allows(creator, now=None) -> bool:
    """Whether the model may take a fan the rules have no fresh line for: the creator's LLM calls of the
    last day stay under settings.LLM_MAX_SHARE of its decisions (the seed keeps the model near 20%)."""
    since = (now or timezone.now()) - timedelta(days=1)
    calls = LLMCall.objects.filter(creator=creator, ts__gte=since).count()
    decisions = Action.objects.filter(creator=creator, ts__gte=since).exclude(source=Action.Source.IMPORT).count()
    return calls < settings.LLM_MAX_SHARE * (decisions + 1)


def fallback(ctx: Context, why: str) -> Decision:
    """The rules decide for the model (its answer failed, or there is none); with no fresh line, the bot waits."""
    from salesbot.pipeline import replies

    try:
        decision = replies.decide(ctx, "llm")
    except rules.NoFreshLine as spent:
        decision = rules.wait(ctx, f"{spent}; {why}")
    decision.extra["llm_fallback"] = why
    return decision


def decide(ctx: Context) -> Decision:
    global _warned_no_key
    if not configured():
        if not _warned_no_key:
            log.warning("ANTHROPIC_API_KEY is not set: the LLM rows of the router are decided by rules")
            _warned_no_key = True
        return fallback(ctx, "no LLM configured")
    creator, fan = ctx.creator, ctx.fan
    prompt = build_prompt(creator, fan, had=repeats.sent_texts(fan))
    call = LLMCall(
        creator=creator,
        fan=fan,
        model=creator.llm_model,
        prompt_tokens=prompt.tokens,
        trimmed=min(prompt.trimmed, 32767),
    )  # a small-integer column; a long history leaves out more
    started = time.monotonic()
    try:
        reply = client().messages.create(
            model=creator.llm_model, max_tokens=settings.LLM_MAX_OUTPUT_TOKENS, **prompt.as_api_kwargs()
        )
    except anthropic.APIError as e:
        call.latency_ms = int((time.monotonic() - started) * 1000)
        call.outcome, call.error = LLMCall.Outcome.ERROR, f"{type(e).__name__}: {e}"[:2000]
        call.save()
        log.warning("LLM call for fan %s failed (%s); rules decide", fan.fan_id, type(e).__name__)
        return _with_call(fallback(ctx, f"LLM error: {type(e).__name__}"), call)
    call.latency_ms = int((time.monotonic() - started) * 1000)
    usage = reply.usage
    call.input_tokens = usage.input_tokens or 0
    call.output_tokens = usage.output_tokens or 0
    call.cache_creation_tokens = getattr(usage, "cache_creation_input_tokens", 0) or 0
    call.cache_read_tokens = getattr(usage, "cache_read_input_tokens", 0) or 0
    call.cost_usd = cost_usd(creator.llm_model, usage)
    call.raw_reply = reply_text(reply)
    return use_reply(ctx, call)


def reply_text(message) -> str:
    """The text of the model's answer (a Message), as stored on its LLMCall."""
    return "".join(b.text for b in message.content if getattr(b, "type", "") == "text")[:5000]


def use_reply(ctx: Context, call: LLMCall, follow_up: str = "", stand_in=None) -> Decision:
    """The model's answer (call.raw_reply) checked and turned into the decision, the same for a live call and
    a batch result (salesbot.pipeline.batches): parsed, its facts learnt, validated against the creator's and
    the last gate's rules; the call is saved with its outcome. A rejected answer is stored with why, and
    `stand_in(why)` decides instead (default: the rules on the model's rows). `follow_up`: the model wrote
    that follow-up (reply.validate)."""
    fan = ctx.fan
    stand_in = stand_in or (lambda why: fallback(ctx, why))
    try:
        data = parse_reply(call.raw_reply)
        _learn(fan, data)
        decision = validate(data, ctx.creator, fan, follow_up=follow_up)
    except RejectedReply as e:
        call.outcome, call.error = LLMCall.Outcome.REJECTED, str(e)
        call.save()
        log.info("LLM reply for fan %s rejected: %s", fan.fan_id, e)
        return _with_call(stand_in(f"LLM reply rejected: {e}"), call)
    except Exception as e:  # the model's reply is untrusted input: a bug checking it must not lose the fan
        call.outcome, call.error = LLMCall.Outcome.REJECTED, f"could not check the reply: {type(e).__name__}: {e}"
        call.save()
        log.exception("LLM reply for fan %s could not be checked; rules decide", fan.fan_id)
        return _with_call(stand_in(f"LLM reply rejected: {type(e).__name__}"), call)
    call.outcome = LLMCall.Outcome.ACCEPTED
    call.save()
    return _with_call(decision, call)


def _learn(fan, data: dict):
    """The reply's facts are what the model read about the fan, kept even when its message is not used."""
    _, refused = learn_from_reply(fan, data)
    if refused:
        log.info("LLM facts for fan %s refused: %s", fan.fan_id, "; ".join(refused))


def _with_call(decision: Decision, call: LLMCall) -> Decision:
    decision.extra["llm_call_id"] = call.pk
    return decision
