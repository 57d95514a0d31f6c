"""How much the bot may write on its own for one fan: the fan's override, else the creator's mode
(team.models.Autonomy). The worker asks after the contact rule, so safety and the rule hold in every mode.

Changing a mode goes through `set_creator_mode` / `set_fan_mode` (admin, ops API, the creator form): leaving
`approve` hands the open drafts back to the bot, which decides each fan afresh, so no fan is left waiting on
a draft nobody will read."""

from django.db import transaction
from django.utils import timezone

from salesbot.models import Draft, QueueItem
from salesbot.pipeline import queue
from team.models import Autonomy


def mode(creator, fan) -> str:
    return getattr(fan, "autonomy", "") or creator.autonomy or Autonomy.AUTOPILOT


def set_creator_mode(creator, new_mode: str, user=None) -> int:
    """Set the creator's mode (the creator's history names `user`); returns the drafts handed back to the bot."""
    if new_mode not in Autonomy.values:
        raise ValueError(f"mode must be one of {', '.join(Autonomy.values)}")
    creator.autonomy = new_mode
    if user is not None:
        creator._history_user = user  # token auth: the history middleware sees no user
    creator.save(update_fields=["autonomy"])
    return hand_back_drafts(creator)


def set_fan_mode(fan, new_mode: str) -> int:
    """A fan's own mode ("" = the creator's); returns the drafts handed back to the bot."""
    if new_mode and new_mode not in Autonomy.values:
        raise ValueError(f"mode must be empty or one of {', '.join(Autonomy.values)}")
    type(fan).objects.filter(pk=fan.pk).update(autonomy=new_mode)
    fan.autonomy = new_mode
    return hand_back_drafts(fan.creator, fan)


def hand_back_drafts(creator, fan=None) -> int:
    """Open drafts of fans no longer in `approve` mode go back to the bot: closed as returned, and each fan
    queued so the bot decides afresh (in autopilot it sends, in off it stays silent)."""
    drafts = Draft.objects.filter(creator=creator, status=Draft.Status.OPEN).select_related("fan")
    if fan is not None:
        drafts = drafts.filter(fan=fan)
    returned = 0
    for draft in drafts:
        draft.fan.creator = creator
        if mode(creator, draft.fan) == Autonomy.APPROVE:
            continue
        with transaction.atomic():
            if not Draft.objects.filter(pk=draft.pk, status=Draft.Status.OPEN).update(
                status=Draft.Status.RETURNED, decided_at=timezone.now()
            ):
                continue  # decided meanwhile by a person
            queue.enqueue(draft.fan, QueueItem.Reason.MESSAGE, waiting_since=draft.waiting_since)
        returned += 1
    if returned:
        queue.wake_worker(min(returned, 4))
    return returned
