"""Writing actions and outcomes: the only place that assigns arrival order and attribution, and records
what each write changes in the stats counters (learning.rollup) in the same transaction."""
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from learning import rollup
from learning.attribution import attribute_live
from learning.models import Action, Outcome


def next_seq(fan) -> int:
    """Reserve the fan's next arrival number (atomic across workers)."""
    type(fan).objects.filter(pk=fan.pk).update(event_seq=F("event_seq") + 1)
    fan.refresh_from_db(fields=["event_seq"])
    return fan.event_seq


@transaction.atomic
def record_action(fan, action: str, *, ts=None, **fields) -> Action:
    """Log what the bot (or staff) did, snapshotting the fan as seed §3 asks."""
    fields.setdefault("fan_state", fan.state)
    fields.setdefault("fan_total_spent", fan.total_spent)
    created = Action.objects.create(creator_id=fan.creator_id, fan=fan, action=action, ts=ts or timezone.now(),
                                    seq=next_seq(fan), **fields)
    rollup.action_added(created)
    return created


@transaction.atomic
def record_outcome(fan, event: str, *, ts=None, amount=None, action: Action | None = None,
                   platform_event_id: str | None = None, pinned: bool = False) -> Outcome:
    """Log how the fan answered and attribute it to the action it answers."""
    outcome = Outcome(creator_id=fan.creator_id, fan=fan, event=event, ts=ts or timezone.now(),
                      seq=next_seq(fan), amount=amount, platform_event_id=platform_event_id)
    attribute_live(outcome, action, pinned=pinned)
    outcome.save()
    rollup.outcome_recorded(outcome)
    return outcome
