"""Parsing and validating the model's answer (seed §9: exactly one JSON line).

Anything that is not a usable decision is rejected with a reason; the rule engine then decides.
"""
import json
import re
from decimal import Decimal, InvalidOperation

from learning.models import HOOKS
from salesbot.pipeline.decisions import Decision
from salesbot.pipeline.llm.prompt import ACTIONS
from salesbot.pipeline.repeats import already_had


class RejectedReply(ValueError):
    pass


def parse_reply(raw: str) -> dict:
    lines = [ln for ln in (raw or "").strip().splitlines() if ln.strip()]
    if len(lines) != 1:
        raise RejectedReply(f"expected exactly one JSON line, got {len(lines)} lines")
    try:
        data = json.loads(lines[0])
    except json.JSONDecodeError as e:
        raise RejectedReply(f"not valid JSON: {e.msg}")
    if not isinstance(data, dict):
        raise RejectedReply("the JSON line is not an object")
    return data


def validate(data: dict, creator, fan) -> Decision:
    action = data.get("action")
    if action not in ACTIONS:
        raise RejectedReply(f"action {action!r} is not one of {ACTIONS}")
    text = data.get("message_text")
    if action != "skip" and (not isinstance(text, str) or not text.strip()):
        raise RejectedReply("message_text is missing or empty")
    text = (text or "").strip()
    bad = [w for w in (creator.restricted_words or []) if re.search(r"(?<!\w)" + re.escape(w.lower()) + r"(?!\w)",
                                                                   text.lower())]
    if bad:
        raise RejectedReply(f"message_text uses restricted word(s): {', '.join(bad)}")
    if text and fan.pk and already_had(fan, text):
        raise RejectedReply("message_text is a line this fan already had")
    hook = data.get("hook") or ""
    if hook and hook not in HOOKS:
        raise RejectedReply(f"hook {hook!r} is not one of {HOOKS}")
    key = data.get("content_key") or ""
    price = None
    if action in ("ppv", "free_media"):
        if not isinstance(key, str) or not key:
            raise RejectedReply(f"a {action} needs a content_key")
        item = next((v for v in creator.vault_items.all() if v.content_key == key), None)
        if item is None:
            raise RejectedReply(f"content_key {key!r} is not in the creator's vault")
        if key in (fan.content_sent or []):
            raise RejectedReply(f"content_key {key!r} was already sent to this fan")
        if action == "free_media" and item.default_price is not None:
            raise RejectedReply(f"content_key {key!r} is paid content and cannot be sent free")
    elif key:
        raise RejectedReply(f"a {action} must not carry content ({key!r})")
    if action == "ppv":
        raw_price = data.get("price")
        if isinstance(raw_price, bool) or not isinstance(raw_price, (int, float, str)):
            raise RejectedReply(f"price {raw_price!r} is not a number")
        try:
            price = Decimal(str(raw_price))
        except InvalidOperation:
            raise RejectedReply(f"price {raw_price!r} is not a number")
        if not price.is_finite() or not creator.price_in_bounds(price):
            raise RejectedReply(f"price {raw_price} is outside the creator's bounds "
                                f"{creator.ppv_min_price}–{creator.ppv_max_price}")
        price = price.quantize(Decimal("0.01"))
    return Decision(action=action, text=text, content_key=key, price=price, hook=hook,
                    reason=str(data.get("reason") or "")[:200], source="llm")
