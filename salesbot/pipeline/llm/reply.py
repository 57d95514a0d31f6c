"""Parsing and validating the model's answer: exactly one JSON line (docs/architecture.md#the-models-call).

Anything that is not a usable decision is rejected with a reason; the rule engine then decides.
"""

import json
from decimal import Decimal, InvalidOperation

from learning.models import HOOKS, Action
from salesbot.pipeline.contact import message_block
from salesbot.pipeline.decisions import Decision
from salesbot.pipeline.llm.prompt import ACTIONS

MAX_PRICE = Decimal("1000000")  # Action.price is DECIMAL(8, 2)
# A follow-up the model writes (prompt.FOLLOW_UPS) is one text message, sent as the follow-up's own action.
FOLLOW_UP_ACTIONS = {"bump": Action.Kind.BUMP, "rekindle": Action.Kind.REKINDLE, "expired": Action.Kind.TEXT}


class RejectedReply(ValueError):
    pass


def parse_reply(raw: str) -> dict:
    lines = [ln for ln in (raw or "").strip().splitlines() if ln.strip()]
    if len(lines) != 1:
        raise RejectedReply(f"expected exactly one JSON line, got {len(lines)} lines")
    try:
        data = json.loads(lines[0])
    except json.JSONDecodeError as e:
        raise RejectedReply(f"not valid JSON: {e.msg}") from e
    if not isinstance(data, dict):
        raise RejectedReply("the JSON line is not an object")
    return data


def validate(data: dict, creator, fan, follow_up: str = "") -> Decision:
    """The model's decision, or RejectedReply. `follow_up`: the model wrote that follow-up (a key of
    FOLLOW_UP_ACTIONS), which may only be a text (sent as the follow-up's action) or a skip."""
    action = data.get("action")
    if action not in ACTIONS:
        raise RejectedReply(f"action {action!r} is not one of {ACTIONS}")
    if follow_up and action not in (Action.Kind.TEXT, Action.Kind.SKIP):
        raise RejectedReply(f"a {follow_up} follow-up is a text or a skip, not a {action}")
    text = data.get("message_text")
    if action != Action.Kind.SKIP and (not isinstance(text, str) or not text.strip()):
        raise RejectedReply("message_text is missing or empty")
    text = (text or "").strip()
    hook = data.get("hook") or ""
    if hook and hook not in HOOKS:
        raise RejectedReply(f"hook {hook!r} is not one of {HOOKS}")
    key = data.get("content_key") or ""
    if not isinstance(key, str):
        raise RejectedReply(f"content_key {key!r} is not a string")
    if action in ("ppv", "free_media") and not key:
        raise RejectedReply(f"a {action} needs a content_key")
    if action not in ("ppv", "free_media") and key:
        raise RejectedReply(f"a {action} must not carry content ({key!r})")
    price = _price(data.get("price")) if action == Action.Kind.PPV else None
    if follow_up and action == Action.Kind.TEXT:
        action = FOLLOW_UP_ACTIONS[follow_up]
    if action != Action.Kind.SKIP:
        # The same rules the sender's last gate applies: a reply that would be refused there is
        # rejected here, so the rules can answer the fan instead.
        why = message_block(creator, fan, action, text=text, content_key=key, price=price)
        if why:
            raise RejectedReply(why)
    return Decision(
        action=action,
        text=text,
        content_key=key,
        price=price,
        hook=hook,
        reason=str(data.get("reason") or "")[:200],
        source=Action.Source.LLM,
    )


def _price(raw) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise RejectedReply(f"price {raw!r} is not a number")
    try:
        price = Decimal(str(raw))
    except InvalidOperation:
        raise RejectedReply(f"price {raw!r} is not a number") from None
    if not price.is_finite():
        raise RejectedReply(f"price {raw!r} is not a number")
    if abs(price) >= MAX_PRICE:  # e.g. 1e30: no price column holds it (and quantize would overflow)
        raise RejectedReply(f"price {raw!r} is out of range")
    return price.quantize(Decimal("0.01"))
