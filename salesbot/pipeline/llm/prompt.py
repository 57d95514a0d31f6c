"""The LLM prompt of seed §9: playbook excerpt for the fan's state (stable, cached), the [STATS]
block, and the fan's context, kept under the token limit by trimming the oldest context first."""
import json
import math
from dataclasses import dataclass, field

from django.conf import settings

from learning.models import HOOKS
from learning.stats import aggregate_learning_stats
from learning.stats_block import format_stats_block

ACTIONS = ["ppv", "text", "free_media", "skip"]

INSTRUCTIONS = """You write the next direct message of a subscription-content creator to one fan.
Follow the playbook below. Stats override your instincts: data > vibes, but only where the stats say
the sample is large enough; otherwise use the playbook defaults.

Answer with exactly ONE line of JSON and nothing else, with these keys:
{"action": one of %(actions)s, "content_key": a vault key or "", "price": number or null,
 "message_text": the message to send, "hook": one of %(hooks)s, "reason": a few words}
A ppv needs a content_key from ALLOWED_CONTENT_KEYS and a price within PRICE_BOUNDS. free_media needs a
content_key from FREE_CONTENT_KEYS. Never offer content the fan already has, and never send a line the fan
already had (listed in the [STATS] block): answer what the fan just wrote."""


def count_tokens(text: str) -> int:
    """A deliberately conservative count (≈3 bytes a token; real tokenizers give fewer), so a
    prompt that passes here is under the limit at the API too."""
    return math.ceil(len(text.encode("utf-8")) / 3)


@dataclass
class Prompt:
    system: str                     # stable: instructions + playbook excerpt (prompt-cached)
    user: str                       # changing: stats, vault, fan context
    tokens: int
    trimmed: int = 0
    sections: list = field(default_factory=list)

    def as_api_kwargs(self) -> dict:
        return {"system": [{"type": "text", "text": self.system, "cache_control": {"type": "ephemeral"}}],
                "messages": [{"role": "user", "content": self.user}]}


def playbook_sections(creator, state: str) -> list:
    return [s for s in creator.playbook_sections.all() if state in (s.serves_states or [])]


def fan_context(fan, messages) -> dict:
    return {
        "fan_id": fan.fan_id, "name": fan.name, "state": fan.state, "total_spent": float(fan.total_spent),
        "signals": fan.signals, "content_sent": fan.content_sent, "messages_received": fan.messages_received,
        "last_ppv_price": float(fan.last_ppv_price) if fan.last_ppv_price is not None else None,
        "last_messages": [{"from": "fan" if m.direction == "in" else "creator", "text": m.text[:500]}
                          for m in messages],
    }


def _user_text(creator, fan, stats_block: str, ctx: dict) -> str:
    sent = set(fan.content_sent or [])
    unsent = [v for v in creator.vault_items.all() if v.content_key not in sent]
    paid = [v.content_key for v in unsent if v.default_price is not None]
    free = [v.content_key for v in unsent if v.default_price is None]
    return "\n".join([
        stats_block,
        f"ALLOWED_CONTENT_KEYS: {', '.join(paid)}",
        f"FREE_CONTENT_KEYS: {', '.join(free)}",
        f"PRICE_BOUNDS: {creator.ppv_min_price.normalize():f}-{creator.ppv_max_price.normalize():f}",
        f"ENTRY_PRICE: {creator.entry_price.normalize():f}",
        "FAN: " + json.dumps(ctx, ensure_ascii=False, default=str),
        "Reply with exactly one JSON line.",
    ])


def build_prompt(creator, fan, limit: int | None = None, had: list | None = None) -> Prompt:
    """`had`: the lines the fan already got, shown in the [STATS] block so the model writes a new one."""
    limit = limit or settings.LLM_PROMPT_TOKEN_LIMIT
    sections = playbook_sections(creator, fan.state)
    instructions = INSTRUCTIONS % {"actions": ACTIONS, "hooks": HOOKS}
    stats_block = format_stats_block(aggregate_learning_stats(creator), had=had)
    messages = list(reversed(fan.messages.order_by("-ts", "-id")[:10]))
    trimmed = 0
    while True:
        system = instructions + "\n\n" + "\n\n".join(f"## §{s.number} {s.title}\n{s.body}" for s in sections)
        user = _user_text(creator, fan, stats_block, fan_context(fan, messages))
        tokens = count_tokens(system) + count_tokens(user)
        if tokens <= limit:
            return Prompt(system, user, tokens, trimmed, [s.number for s in sections])
        # Oldest context goes first: the oldest messages, then the least specific playbook sections.
        if messages:
            messages.pop(0)
        elif sections:
            sections.pop()
        else:
            raise ValueError(f"the prompt needs {tokens} tokens even with no context (limit {limit})")
        trimmed += 1
