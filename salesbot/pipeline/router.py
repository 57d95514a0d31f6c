"""The routing as one table, read top to bottom; the first matching row decides (docs/architecture.md#routing).

Each row: (name, condition, engine step). Engine steps name functions in salesbot.pipeline.rules,
or "llm" for the model, or "skip".
"""

from collections.abc import Callable

from salesbot.models import QueueItem
from salesbot.pipeline.contact import contact_block
from salesbot.pipeline.cues import is_filler
from salesbot.pipeline.decisions import Context


def _msgs(c: Context) -> int:
    return c.fan.messages_received


def llm_bound(c: Context) -> bool:
    """The fans the model talks to (docs/architecture.md, "The model's call"): spent $1+ or 9+ messages."""
    return c.fan.total_spent >= 1 or _msgs(c) >= 9


def _kept_from_llm(c: Context) -> bool:
    """Greetings, emojis and filler never go to the model (the `filler` row). Only fans the model would get are
    concerned; a $0 fan's greeting with a signal ("hey sexy") takes its signal row, rules as well."""
    if not llm_bound(c) or not is_filler(c.last_text, names=str(c.creator.display_name or "").split()):
        return False
    return c.fan.total_spent >= 1 or not c.signals


ROUTES: list[tuple[str, Callable[[Context], bool], str]] = [
    ("no_contact", lambda c: contact_block(c.creator, c.fan) is not None, "skip"),
    ("welcome", lambda c: c.reason == QueueItem.Reason.WELCOME, "greet"),
    ("bump", lambda c: c.reason == QueueItem.Reason.BUMP, "bump"),
    ("rekindle", lambda c: c.reason == QueueItem.Reason.REKINDLE, "rekindle"),
    ("expired", lambda c: c.reason == QueueItem.Reason.EXPIRED, "expired"),
    # Never call the model for greetings, emojis or filler (docs/architecture.md#routing).
    ("filler", _kept_from_llm, "light_reply"),
    ("spent_1_plus", lambda c: c.fan.total_spent >= 1, "llm"),
    ("buying_signal", lambda c: "buying" in c.signals, "ppv"),
    ("sexual_4_plus", lambda c: "sexual" in c.signals and _msgs(c) >= 4, "ppv"),
    ("sexual_under_4", lambda c: "sexual" in c.signals, "free_hook"),
    ("interest", lambda c: "interest" in c.signals, "tease_or_free_hook"),
    ("msg_1_2", lambda c: _msgs(c) <= 2, "greet"),
    ("msg_3_4", lambda c: _msgs(c) <= 4, "tease"),
    ("msg_5", lambda c: _msgs(c) == 5, "free_hook"),
    ("msg_6_8", lambda c: _msgs(c) <= 8, "ppv"),
    ("msg_9_plus", lambda c: _msgs(c) >= 9, "llm"),
    ("catchall", lambda c: True, "reengage"),
]


def route(ctx: Context) -> tuple[str, str]:
    """Return (row name, engine step) of the first row whose condition holds."""
    for name, condition, step in ROUTES:
        if condition(ctx):
            return name, step
    raise AssertionError("the catchall row always matches")
