"""Never the same line twice to a fan: what counts as "the same line", and which lines a fan already had.

A fan who gets one line again sees a loop, not a person. Lines are compared normalised (case, spacing and
the fan's own name do not make a line new), so "hey John 💕" and "Hey  john 💕" are one line.
"""

import re
from datetime import datetime

import sqlonce
from fans.models import Message
from learning.models import Action


def normalise(text: str, fan_name: str = "") -> str:
    """The line as a fan would recognise it: case, spacing and the fan's name left out."""
    out = (text or "").casefold()
    name = (fan_name or "").strip().casefold()
    if name:
        out = re.sub(r"(?<!\w)" + re.escape(name) + r"(?!\w)", "{name}", out)
    return " ".join(out.split())


def sent_texts(fan) -> list[str]:
    """Every line the fan got from the bot, oldest first: sent here, or logged by the seed's bot (imports)."""
    return [text for (text,) in _SENT_TEXTS.rows(fan.pk)]


_SENT_TEXTS = sqlonce.select(
    lambda fan_id: (
        Action.objects.filter(fan_id=fan_id, status__in=[Action.Status.SENT, Action.Status.LOGGED])
        .exclude(action=Action.Kind.SKIP)
        .exclude(message_text="")
        .order_by("ts", "seq")
        .values_list("message_text")
    ),
    int,
)


def already_had(fan, text: str) -> bool:
    """Whether the fan already got this line (read fresh: for the gate and the model's reply)."""
    line = normalise(text, fan.name)
    return bool(line) and line in {normalise(t, fan.name) for t in sent_texts(fan)}


def had(ctx) -> set[str]:
    """The fan's lines, normalised, read once per decision (the in-process simulator hands its own in)."""
    if getattr(ctx, "sent_lines", None) is None:
        ctx.sent_lines = {normalise(t, ctx.fan.name) for t in sent_texts(ctx.fan)}
    return ctx.sent_lines


def unsent(ctx, lines: list[str]) -> list[str]:
    """The lines, in order, that the fan never had (two lines that normalise alike count once)."""
    seen, out = set(had(ctx)), []
    for line in lines:
        key = normalise(line, ctx.fan.name)
        if key and key not in seen:
            seen.add(key)
            out.append(line)
    return out


def offer_unanswered(fan) -> bool:
    """The fan's last PPV has had no message from the fan since (messages compared in stored order, which
    the platform's and our clocks cannot disturb; by time for a PPV with no stored message)."""
    last = _LAST_PPV.first(fan.pk)
    if last is None:
        return False
    ts, message_id = last
    out = _OUT_MESSAGE.first(fan.pk, message_id) if message_id is not None else None
    later = _IN_AFTER_ID.first(fan.pk, out[0]) if out else _IN_AFTER_TS.first(fan.pk, ts)
    return later is None


def _messages():
    return Message.objects.order_by()


# The unanswered-offer check runs before every PPV (sqlonce: compiled once).
_LAST_PPV = sqlonce.select(
    lambda fan_id: (
        Action.objects.filter(fan_id=fan_id, action=Action.Kind.PPV, status=Action.Status.SENT)
        .order_by("-ts", "-seq")
        .values_list("ts", "platform_message_id")[:1]
    ),
    int,
)
_OUT_MESSAGE = sqlonce.select(
    lambda fan_id, message_id: (
        _messages()
        .filter(fan_id=fan_id, direction=Message.Direction.OUT, platform_message_id=message_id)
        .order_by("-id")
        .values_list("id")[:1]
    ),
    int,
    int,
)
_IN_AFTER_ID = sqlonce.select(
    lambda fan_id, after: (
        _messages().filter(fan_id=fan_id, direction=Message.Direction.IN, id__gt=after).values_list("id")[:1]
    ),
    int,
    int,
)
_IN_AFTER_TS = sqlonce.select(
    lambda fan_id, ts: (
        _messages().filter(fan_id=fan_id, direction=Message.Direction.IN, ts__gt=ts).values_list("id")[:1]
    ),
    int,
    datetime,
)


def refusal(fan, action: str, text: str) -> str | None:
    """The last gate's share (salesbot.pipeline.contact.message_block): a line this fan already had, or a
    second PPV on top of one the fan has not answered (a bump is a text, so it still goes)."""
    if already_had(fan, text):
        return "the fan already had this line: never the same line twice"
    if action == Action.Kind.PPV and offer_unanswered(fan):
        return "the fan has not answered the last PPV yet: no second offer before the fan writes"
    return None
