"""Fan lifecycle operations used by webhooks, workers, staff and imports."""

from django.db import transaction
from django.utils import timezone

import sqlonce
from fans.models import Fan, SafetyClearance
from fans.signals import left_the_bot
from fans.state_machine import FanState, StaleState, transition
from team import scope


class NotAllowed(Exception):
    """The person may not do this to the fan; the message says why (shown to them)."""


# The fan of every event, read through statements compiled once (sqlonce).
_FOUND = sqlonce.objects(lambda cid, fid: Fan.objects.filter(creator_id=cid, fan_id=fid).order_by(), int, int)
_LOCKED = sqlonce.objects(
    lambda cid, fid: Fan.objects.select_for_update().filter(creator_id=cid, fan_id=fid).order_by(), int, int
)


def get_or_create_fan(creator, fan_id: int, name: str = "", *, lock: bool = False) -> tuple[Fan, bool]:
    """`lock`: the row stays locked until the caller's transaction ends (PostgreSQL), so what was read stays
    true while the caller writes from it."""
    fan, created = (_LOCKED if lock else _FOUND).first(creator.pk, int(fan_id)), False
    if fan is None:  # a new fan (or a race with one being created): the ORM's own get_or_create
        fans = Fan.objects.select_for_update() if lock else Fan.objects
        fan, created = fans.get_or_create(creator=creator, fan_id=int(fan_id), defaults={"name": name or ""})
    fan.creator = creator  # already loaded by the caller
    if name and fan.name != name and not created:
        fan.name = name
        fan.save(update_fields=["name"])
    return fan, created


@transaction.atomic
def hand_off(fan: Fan, reason: str, by_staff: bool = False, safety: bool = False, by_user=None) -> Fan:
    """Give the fan to a human: the bot never messages them again until staff resume."""
    fan.handoff_reason = reason[:200]
    fan.safety_flag = fan.safety_flag or safety
    fan.needs_human_since = fan.needs_human_since or timezone.now()
    fan.save(update_fields=["handoff_reason", "safety_flag", "needs_human_since"])
    if fan.state != FanState.HANDED_OFF:
        try:
            transition(fan, FanState.HANDED_OFF, reason, by_staff=by_staff, by_user=by_user)
        except StaleState:  # moved meanwhile (fan.state is now fresh): a handoff is legal from anywhere
            if fan.state != FanState.HANDED_OFF:
                transition(fan, FanState.HANDED_OFF, reason, by_staff=by_staff, by_user=by_user)
    left_the_bot.send(sender=Fan, fan=fan, why="handed_off")
    return fan


@transaction.atomic
def opt_out(fan: Fan) -> Fan:
    """The fan asked not to be messaged: nobody writes to them again (the contact rule), and what waited for them
    (a draft to approve) is closed."""
    fan.opted_out = True
    fan.save(update_fields=["opted_out"])
    left_the_bot.send(sender=Fan, fan=fan, why="opted_out")
    return fan


@transaction.atomic
def resume(fan: Fan, reason: str = "resumed by staff", by_user=None) -> Fan:
    """Staff give a handed-off fan back to the bot."""
    transition(fan, FanState.ENGAGED, reason, by_staff=True, by_user=by_user)
    fan.handoff_reason, fan.needs_human_since, fan.assigned_to, fan.assigned_at = "", None, None, None
    fan.save(update_fields=["handoff_reason", "needs_human_since", "assigned_to", "assigned_at"])
    return fan


@transaction.atomic
def clear_safety_flag(fan: Fan, user, reason: str) -> Fan:
    """The one way a safety flag is lifted: a manager, with a written reason, audited (SafetyClearance). The fan
    stays with the people (handed off) until someone resumes it."""
    reason = " ".join((reason or "").split())
    if not scope.is_manager(user):
        raise NotAllowed("Only a manager can clear a safety flag.")
    if len(reason) < 5:
        raise NotAllowed("Write why the flag can be cleared (a few words at least).")
    locked = Fan.objects.select_for_update().get(pk=fan.pk)
    if not locked.safety_flag:
        raise NotAllowed("This fan has no safety flag.")
    SafetyClearance.objects.create(
        fan=locked, by_user=user, reason=reason[:500], was=locked.handoff_reason, ts=timezone.now()
    )
    Fan.objects.filter(pk=fan.pk).update(safety_flag=False, handoff_reason=f"safety flag cleared by {user}"[:200])
    fan.safety_flag, fan.handoff_reason = False, f"safety flag cleared by {user}"[:200]
    return fan
