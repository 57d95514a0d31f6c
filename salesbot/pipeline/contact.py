"""The one answer to "may anything be sent to this fan now?" and "may this message go out?".

Every path that could reach a fan asks here: the router's first row, the worker before it decides
(a blocked item is closed before any rule or LLM call), the checkers before they queue a bump or a
rekindle, intake after safety screening, the LLM reply validation, and the sender's last gate, which
asks again on fresh rows whatever the caller decided. A new path (human sends, drafts, campaigns)
calls the same two functions; nothing else in the project re-states these rules.

Who writes matters (`writer`): the bot (BOT); a person approving the bot's draft (DRAFT: the bot's rule,
except a human's hold, since the approver is that human); a person writing from the console (HUMAN).
Nobody writes to a fan who opted out (they asked) or for a disabled creator (the emergency stop of the
account; mode "off" is how a creator is run by people only). Handed-off, safety-flagged, excluded and held
fans are exactly the ones people work, so those stop only the bot and its drafts.
"""

import re
from decimal import Decimal

from django.utils import timezone

import sqlonce
from fans.models import Fan
from fans.state_machine import NO_CONTACT
from learning.models import Action
from learning.selectors import spend_capped
from salesbot.pipeline import lookalikes, repeats

FREE_ACTIONS_WITH_TEXT = ("text", "bump", "rekindle")


BOT, DRAFT, HUMAN = "bot", "draft", "human"

# The rows' fields the two rules read: what the last gate re-reads before a send (sender.refusal).
FAN_FIELDS = ["state", "opted_out", "safety_flag", "human_hold_until", "content_sent"]
CREATOR_FIELDS = [
    "enabled",
    "excluded_fan_ids",
    "ppv_min_price",
    "ppv_max_price",
    "daily_spend_cap",
    "restricted_words",
]


_ROWS = sqlonce.select(
    lambda pk: (
        Fan.objects.filter(pk=pk).order_by().values_list(*FAN_FIELDS, *(f"creator__{n}" for n in CREATOR_FIELDS))
    ),
    int,
)


def refresh(creator, fan) -> None:
    """Re-read what the rules read: both rows in one query (the gate runs before every send)."""
    row = _ROWS.first(fan.pk)
    if row is None:
        raise Fan.DoesNotExist(f"fan {fan.pk} is gone")
    for name, value in zip(FAN_FIELDS, row[: len(FAN_FIELDS)], strict=True):
        setattr(fan, name, value)
    for name, value in zip(CREATOR_FIELDS, row[len(FAN_FIELDS) :], strict=True):
        setattr(creator, name, value)


def contact_block(creator, fan, *, fresh: bool = False, writer: str = BOT) -> str | None:
    """Why nothing may be sent to this fan now by `writer`, or None. `fresh` re-reads the rows first (the
    last gate does; the router and the worker's claim work from the rows they just read)."""
    if fresh:
        refresh(creator, fan)
    if not creator.enabled:
        return "creator's bot is disabled" if writer != HUMAN else "creator is disabled: nothing is sent"
    if writer == HUMAN:
        return "fan opted out" if fan.opted_out else None
    if fan.safety_flag:
        # Whatever the state (a flagged fan parked as dormant, re-engaged, rekindled): only a manager clears it.
        return "fan has a safety flag: only a manager clears it"
    if fan.state in NO_CONTACT:
        return "fan is handed off to a human"
    if fan.opted_out:
        return "fan opted out"
    if creator.is_excluded(fan.fan_id):
        return "fan is on the creator's exclude list"
    hold = getattr(fan, "human_hold_until", None)
    if writer == BOT and hold is not None and hold > timezone.now():
        # A human wrote to the fan (platform UI or console): the bot must not talk over them.
        return f"held by a human until {timezone.localtime(hold):%H:%M}"
    return None


def restricted_words_in(creator, text: str, *, name: bool = False) -> list[str]:
    """The creator's restricted words (playbook §14) that `text` uses, as whole words, compared after
    Unicode folding (lookalikes.fold: compatibility forms, case, invisible characters, look-alike letters).
    `name`: a display name, where a word hidden inside another ("snapchat_king", "snap.chat") counts too."""
    words = [w for w in (creator.restricted_words or []) if isinstance(w, str) and lookalikes.compact(w)]
    if name:
        squeezed = lookalikes.compact(text)
        return [w for w in words if lookalikes.compact(w) in squeezed]
    low = lookalikes.fold(text)
    return [w for w in words if re.search(r"(?<!\w)" + re.escape(lookalikes.fold(w)) + r"(?!\w)", low)]


def bought(fan, content_key: str) -> bool:
    return Action.objects.filter(fan_id=fan.pk, content_key=content_key, purchased=True).exists()


def message_block(
    creator, fan, action: str, *, text: str = "", content_key: str = "", price: Decimal | None = None, writer: str = BOT
) -> str | None:
    """Why this message must not go out to this fan, or None: its words, its content, its price, and
    whether the fan already had it (salesbot.pipeline.repeats), whoever wrote it (rules, the model, a person).
    A safety-flagged fan is sold nothing and sent no content by anyone: people may only write to them."""
    bad = restricted_words_in(creator, text)
    if bad:
        return f"message text uses restricted word(s): {', '.join(bad)}"
    if getattr(fan, "safety_flag", False) and (content_key or action == Action.Kind.PPV):
        return "fan has a safety flag: nobody sells to them or sends them content, only words"
    if content_key:
        item = next((v for v in creator.vault_items.all() if v.content_key == content_key), None)
        if item is None:
            return f"unknown content_key '{content_key}'"
        if not item.media_ids:
            return f"content_key '{content_key}' has no platform media ids"
        if writer == HUMAN:
            # A person may offer again what the fan saw and did not buy; never sell the same thing twice.
            if fan.pk is not None and bought(fan, content_key):
                return f"content_key '{content_key}' was already bought by this fan"
        elif content_key in (fan.content_sent or []):
            return f"content_key '{content_key}' was already sent to this fan"
        if action != Action.Kind.PPV and item.default_price is not None:
            return f"content_key '{content_key}' is paid content and cannot go out free"
    if action == Action.Kind.PPV:
        if price is None or not content_key:
            return "a PPV needs content and a price"
        if not creator.price_in_bounds(price):
            return f"price {price} outside the creator's bounds"
        if spend_capped(fan):
            return "fan reached the 24h spend cap: PPV offers are paused"
    if action in FREE_ACTIONS_WITH_TEXT and not (text or "").strip():
        return "empty message text"
    if fan.pk is not None:
        return repeats.refusal(fan, action, text)
    return None
