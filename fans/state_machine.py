"""The fan state machine (docs/architecture.md#the-fans-states): the states and every legal move, as data.

Beyond the seed: a purchase makes a buyer from any selling state (fans often reply to a PPV
before unlocking it), and safety or staff handoff is reachable from every state, because a
safety concern cannot wait for a fan to become a whale. A PPV sent to a new or greeted fan (a
first message with a buying signal gets one at once) pitches the fan like any other
PPV, so it is held and bumped once after 4h. `handed_off` is left only by staff.
"""

from django.db import models, transaction
from django.utils import timezone

import sqlonce


class FanState(models.TextChoices):
    NEW = "new"
    GREETED = "greeted"
    ENGAGED = "engaged"
    PITCHED = "pitched"
    BUYER = "buyer"
    WHALE_CANDIDATE = "whale_candidate"
    HANDED_OFF = "handed_off"
    DORMANT = "dormant"


S = FanState
_SELLING = {S.NEW, S.GREETED, S.ENGAGED, S.PITCHED, S.BUYER, S.WHALE_CANDIDATE, S.DORMANT}

# (from, to) -> what the move means. The seed's moves first, then the additions named above.
TRANSITIONS: dict[tuple[str, str], str] = {
    (S.NEW, S.GREETED): "welcome sent",
    (S.GREETED, S.ENGAGED): "fan replies",
    (S.ENGAGED, S.PITCHED): "PPV sent",
    (S.PITCHED, S.BUYER): "fan purchases",
    (S.PITCHED, S.ENGAGED): "fan replies without buying",
    (S.BUYER, S.WHALE_CANDIDATE): "whale signals detected",
    (S.WHALE_CANDIDATE, S.HANDED_OFF): "needs a human",
    (S.DORMANT, S.ENGAGED): "fan re-engages",
    **{(s, S.PITCHED): "PPV sent before any rapport (buying signal)" for s in (S.NEW, S.GREETED)},
    **{(s, S.DORMANT): "24h no activity" for s in _SELLING if s != S.DORMANT},
    **{(s, S.BUYER): "fan purchases" for s in (S.NEW, S.GREETED, S.ENGAGED, S.DORMANT)},
    **{(s, S.HANDED_OFF): "handoff" for s in _SELLING if s != S.WHALE_CANDIDATE},
}

# Moves only a person may make, never the bot.
STAFF_ONLY: set[tuple[str, str]] = {(S.HANDED_OFF, S.ENGAGED), (S.HANDED_OFF, S.DORMANT)}

# States in which the bot must not send anything.
NO_CONTACT = {S.HANDED_OFF}


class IllegalTransition(ValueError):
    pass


class StaleState(IllegalTransition):
    """The fan's stored state is no longer the one the caller read: another process moved the fan
    meanwhile. Nothing was written; the in-memory fan now holds the stored state."""


def can_transition(from_state: str, to_state: str, by_staff: bool = False) -> bool:
    if (from_state, to_state) in TRANSITIONS:
        return True
    return by_staff and (from_state, to_state) in STAFF_ONLY


def _move(pk, old, new):
    from fans.models import Fan

    return Fan.objects.filter(pk=pk, state=old), {"state": new}


_MOVE = sqlonce.update(_move, int, str, str)  # every move runs it (sqlonce: compiled once)


def transition(fan, new_state: str, reason: str, by_staff: bool = False, at=None, by_user=None):
    """Apply one legal move and record it; raise IllegalTransition otherwise.

    The write is conditional on the stored state still being the one read (`fan.state`), so a move
    never overwrites a state another process set meanwhile (a checker marking dormant a fan that was
    just handed off): then StaleState is raised, nothing is written and `fan.state` is refreshed."""
    from fans.models import FanTransition

    old = fan.state
    if not can_transition(old, new_state, by_staff):
        who = "staff" if by_staff else "the bot"
        raise IllegalTransition(f"fan {fan.fan_id}: {old} → {new_state} is not a legal move for {who}")
    # No savepoint (it ran on every message): nothing raises inside the block, so a caller that catches
    # StaleState keeps its own transaction usable.
    with transaction.atomic(savepoint=False):
        moved = _MOVE.run(fan.pk, old, new_state) == 1
        if moved:
            sqlonce.insert(
                FanTransition(
                    fan=fan,
                    from_state=old,
                    to_state=new_state,
                    reason=reason,
                    by_staff=by_staff or by_user is not None,
                    by_user=by_user,
                    ts=at or timezone.now(),
                )
            )
    if not moved:
        fan.refresh_from_db(fields=["state"])
        raise StaleState(f"fan {fan.fan_id}: expected {old} but it is now {fan.state}; {old} → {new_state} not applied")
    fan.state = new_state
    return fan
