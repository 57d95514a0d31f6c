"""What the fake Claude (sim/llm_server.py) answers: a decision built from the prompt's own lines, like a model
that follows its instructions. Used for live calls and for each request of a batch alike (sim/llm_batches.py).

ALLOWED_CONTENT_KEYS and PRICE_BOUNDS make it offer the first key at the lowest whole price in bounds; with no key
it chats; a FOLLOW_UP line (a bump, rekindle or re-engage the model writes, salesbot.pipeline.llm.prompt) makes it
write one short text; lines_this_fan_already_had makes it pick a line the fan did not have. The mode bends the
answer (prose, two lines, an unknown key, a price out of bounds, a fenced block). ApiError is the API's error
shape, raised by either fake module.
"""

import json
import math
import re

KEYS_RE = re.compile(r"^\s*ALLOWED_CONTENT_KEYS:(.*)$", re.M)
BOUNDS_RE = re.compile(r"^\s*PRICE_BOUNDS:\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)", re.M)
HAD_RE = re.compile(r"^\s*lines_this_fan_already_had[^:]*:\s*(\[.*\])\s*$", re.M)
# Like a model told which lines the fan already had: the first line not among them (the first when all are).
PPV_LINES = (
    "babe i made something just for you 🙈",
    "this one is only for you, don't tell anyone 🤫",
    "i was thinking of you when i made this 😏",
    "you're going to love this one 🥺",
)
CHAT_LINES = (
    "tell me more about you 💕",
    "what made you smile today? 🥰",
    "i love talking to you 🙈 what's new?",
    "you're sweet 😘 what are you up to tonight?",
    "so what do you like to do for fun? 💭",
)
FOLLOW_UP_RE = re.compile(r"^\s*FOLLOW_UP \((\w+)\):", re.M)
FOLLOW_UP_LINES = (
    "hey you 🙈 did you get a chance to look at what i sent?",
    "still thinking about you 💭 did you see my message?",
    "i miss talking to you 🥺 come say hi",
)


class ApiError(Exception):
    """Answered as `{"type": "error", "error": {"type": kind, "message": message}}` with `status`."""

    def __init__(self, status, kind, message, headers=None):
        super().__init__(message)
        self.status, self.kind, self.message, self.headers = status, kind, message, headers or {}


def decision(text: str, mode: str, facts=None) -> str:
    """The reply text for a non-error mode, built from ALLOWED_CONTENT_KEYS / PRICE_BOUNDS lines; `facts`
    (unless None) goes in as the decision's "facts"."""
    if mode == "prose":
        return "I think you should send them something sweet and see how they respond."
    keys_lines = KEYS_RE.findall(text)
    keys = [k.strip() for k in (keys_lines[-1] if keys_lines else "").split(",") if k.strip()]
    bounds = BOUNDS_RE.findall(text)
    lo, hi = (float(bounds[-1][0]), float(bounds[-1][1])) if bounds else (20.0, 20.0)
    price = math.ceil(lo) if math.ceil(lo) <= hi else lo
    price = int(price) if float(price).is_integer() else price
    had = _had(text)
    ppv = {
        "action": "ppv",
        "content_key": keys[0] if keys else "not_in_vault",
        "price": price,
        "message_text": _fresh(PPV_LINES, had),
        "hook": "vulnerability",
        "reason": "fake llm",
    }
    chat = {"action": "text", "message_text": _fresh(CHAT_LINES, had), "hook": "curiosity", "reason": "fake llm"}
    follow_up = FOLLOW_UP_RE.findall(text)
    if follow_up:  # a follow-up is one short text, never an offer
        keys, chat = [], {**chat, "message_text": _fresh(FOLLOW_UP_LINES, had), "reason": f"fake {follow_up[-1]}"}
    if facts is not None:
        ppv["facts"] = chat["facts"] = facts
    dump = lambda d: json.dumps(d, ensure_ascii=False, separators=(",", ":"))  # noqa: E731
    if mode == "unknown_key":
        return dump({**ppv, "content_key": "not_in_vault"})
    if mode == "bad_price":
        return dump({**ppv, "price": 99999})
    valid = dump(ppv if keys else chat)
    if mode == "two_lines":
        return valid + "\n" + dump(chat)
    if mode == "fenced":
        return f"```json\n{valid}\n```"
    return valid  # valid, slow


def _had(text: str) -> set:
    found = HAD_RE.findall(text)
    try:
        return {line.casefold() for line in json.loads(found[-1])} if found else set()
    except (json.JSONDecodeError, AttributeError):
        return set()


def _fresh(lines: tuple, had: set) -> str:
    return next((line for line in lines if line.casefold() not in had), lines[0])
