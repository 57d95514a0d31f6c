"""The per-cell maths of the learning stats, shared by the row queries (learning.stats.from_rows), the
counters (learning.stats.counters) and the stats read from them (learning.stats.from_counters): how a rate is shown,
how a price is keyed, which actions count, and which counter cells one action adds.

A counter cell is (dimension, key, key2, n, hit): n sends, hit of them bought (or ghosted, for STAGE).
"""

import datetime
from decimal import Decimal

from django.db.backends.utils import format_number
from django.db.models import DecimalField

from learning.models import Action

TOTAL, BUILT = "total", "built"  # key "actions"/"outcomes": n; the rebuilt marker
PRICE, CONTENT, HOOK, HOUR = "price", "content", "hook", "hour"  # PPVs: n sent, hit bought
PRICE_HOOK, SEG_PRICE = "price_hook", "seg_price"  # key price × key2 hook; key segment × key2 price
STAGE, HOOK_USED = "stage", "hook_used"  # any action: n, hit ghosted; n with that hook
CB_PRICE, CB_HOOK = "cb_price", "cb_hook"  # PPVs ever bought: n, hit taken back (net money)
SENDER = "sender"  # PPVs: key who sent it (sender_kind) × key2 price

# Who sent an action, so the stats can tell the bot's own offers from those a person touched.
SENDERS = ("bot", "bot_draft_approved", "human_edited", "human", "imported")


def sender_kind(source: str, review: str) -> str:
    """bot (rules/LLM, sent as decided), bot_draft_approved, human_edited (a bot draft a person changed),
    human (the console or the platform's own UI), imported (seed logs)."""
    if review == "approved":
        return "bot_draft_approved"
    if review == "edited":
        return "human_edited"
    if source in (Action.Source.STAFF, Action.Source.HUMAN):
        return "human"
    return "imported" if source == Action.Source.IMPORT else "bot"


def rate(part: int, whole: int) -> float:
    """Percentage with one decimal, as every rate of the statistics is shown (docs/learning.md#the-statistics)."""
    return round(100 * part / whole, 1) if whole else 0.0


def price_key(price) -> str:
    """ "18.00" -> "18", "12.50" -> "12.5": never scientific notation like Decimal.normalize()'s "1E+2"."""
    text = format(Decimal(str(price)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


# The statuses of actions that reached the fan (see the module docstring); all others are left out.
COUNTED_STATUSES = (Action.Status.SENT, Action.Status.LOGGED)
# A holdout experiment's control-arm actions teach nothing (learning.experiments: the control stays a control).
CONTROL_ARM = "control"
# Campaign sends (mass messages) are their own kind: learning.stats.campaigns reads them, the one-to-one
# chat figures never count them.
CAMPAIGN_SOURCE = "campaign"


def table(cells: dict, word: str = "bought", sort=None) -> dict:
    """{key: {"sent", word, "rate"}} from {(key, key2): (n, hit)}, as the seed's conversion dicts read."""
    items = cells.items() if sort is None else sorted(cells.items(), key=sort)
    return {k: {"sent": n, word: hit, "rate": rate(hit, n)} for (k, _), (n, hit) in items}


def _money(value, field: str) -> Decimal | None:
    """The value as the database stores it (quantized to the field's decimal places)."""
    if value is None:
        return None
    f = Action._meta.get_field(field)
    assert isinstance(f, DecimalField), f"{field} is a money field"
    text = format_number(Decimal(str(value)), f.max_digits, f.decimal_places)
    assert text is not None  # None only for a None value
    return Decimal(text)


def action_cells(a, sign: int = 1) -> list[tuple]:
    """[(dimension, key, key2, n, hit)] that one action adds to the stats (sign=-1: takes away); none
    while its status is not counted (pending, failed, refused), and none for a holdout experiment's
    control-arm action (learning.experiments)."""
    if (
        a.status not in COUNTED_STATUSES
        or getattr(a, "arm", "") == CONTROL_ARM
        or getattr(a, "source", "") == CAMPAIGN_SOURCE
    ):
        return []
    bought, ghosted = int(bool(a.purchased)), int(bool(a.ghosted))
    out = [(TOTAL, "actions", "", sign, 0)]
    if a.hook:
        out.append((HOOK_USED, a.hook, "", sign, 0))
    if a.fan_state:
        out.append((STAGE, a.fan_state, "", sign, sign * ghosted))
    if a.action == Action.Kind.PPV:
        cells = [(HOUR, str(a.ts.astimezone(datetime.UTC).hour), "")]
        if a.content_key:
            cells.append((CONTENT, a.content_key, ""))
        if a.hook:
            cells.append((HOOK, a.hook, ""))
        price = _money(a.price, "price")
        if price is not None:
            p = price_key(price)
            parent = "buyer" if (_money(a.fan_total_spent, "fan_total_spent") or 0) > 0 else "new"
            cells += [(PRICE, p, ""), (SEG_PRICE, parent, p)]
            if a.segment:
                cells.append((SEG_PRICE, a.segment, p))
            if a.hook:
                cells.append((PRICE_HOOK, p, a.hook))
            cells.append((SENDER, sender_kind(a.source, a.review), p))
        out += [(d, k, k2, sign, sign * bought) for d, k, k2 in cells]
        taken_back = int(bool(getattr(a, "reversed", False)))
        if bought or taken_back:  # chargeback rate: of the PPVs bought, how many were taken back
            if price is not None:
                out.append((CB_PRICE, price_key(price), "", sign, sign * taken_back))
            if a.hook:
                out.append((CB_HOOK, a.hook, "", sign, sign * taken_back))
    return out


def flag_cells(a, was_purchased: bool, was_ghosted: bool, was_reversed: bool | None = None) -> list[tuple]:
    """What changing the action's purchased/ghosted (and reversed) flags from the given old values changes."""
    was_reversed = bool(a.reversed) if was_reversed is None else was_reversed
    if (
        bool(a.purchased) == bool(was_purchased)
        and bool(a.ghosted) == bool(was_ghosted)
        and bool(a.reversed) == bool(was_reversed)
    ):
        return []
    old = _Snapshot(a, purchased=was_purchased, ghosted=was_ghosted, reversed=was_reversed)
    return action_cells(a) + action_cells(old, sign=-1)


class _Snapshot:
    """The action with other flag values (for flag_cells)."""

    def __init__(self, a, **flags):
        self.__dict__.update(
            {
                k: getattr(a, k)
                for k in (
                    "action",
                    "ts",
                    "content_key",
                    "hook",
                    "price",
                    "status",
                    "fan_state",
                    "fan_total_spent",
                    "segment",
                    "arm",
                    "source",
                    "review",
                    "reversed",
                )
            },
            **flags,
        )
