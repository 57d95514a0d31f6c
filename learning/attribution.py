"""Which bot action an outcome answers — the one rule every statistic depends on.

Events of one fan are ordered by (ts, arrival). A `purchased` outcome belongs to the latest earlier
`ppv` not already bought; any other outcome to the latest earlier action of any kind; with none it
stays unattributed (it still counts in the totals). Every flag change is also recorded in the stats
counters (learning.stats.counters) in the same transaction.

"Action" here means an action that reached the fan: status `sent` or `logged` (learning.stats.
COUNTED_STATUSES, the actions the stats count). A pending, failed or refused action was never seen by
the fan, so no outcome answers it: it is skipped when looking for the latest earlier action (a reply
after a refused PPV answers the message before it; a purchase never lands on a PPV that was never
delivered). A purchase pinned by the platform (`pinned`, the unlocked message's PPV, which is `sent`
since the platform message id is only stored with that status) is taken as given.
"""

from datetime import datetime

from django.db import transaction
from django.db.models import Q

import sqlonce
from learning.models import Action, Outcome
from learning.stats import cells, counters
from learning.stats.cells import COUNTED_STATUSES

# `ghosted` means no activity after our action, and a reply, a purchase and a tip are all activity
# (docs/learning.md#ghosted).
ACTIVITY = (Outcome.Event.REPLIED, Outcome.Event.PURCHASED, Outcome.Event.TIPPED)


def activity_after(action_ts, action_seq, action_id) -> Q:
    """Outcomes (of the action's fan) that show the fan was active after the action: later in the fan's
    order, or attributed to it (a platform-pinned purchase whose clock runs a little behind ours). The
    arguments may be values or OuterRefs, so the repair of old ghosts (learning migration 0007) uses it too."""
    later = Q(ts__gt=action_ts) | Q(ts=action_ts, seq__gt=action_seq) | Q(action_id=action_id)
    return Q(event__in=ACTIVITY) & later


def answered(action) -> bool:
    """Did the fan reply, buy or tip after this action? Then it was not ghosted, however quiet the fan is now."""
    return (
        Outcome.objects.filter(fan_id=action.fan_id).filter(activity_after(action.ts, action.seq, action.pk)).exists()
    )


def pick_action(event: str, earlier_actions):
    """earlier_actions: the fan's counted actions before the outcome, oldest first, as Action objects."""
    if event == Outcome.Event.PURCHASED:
        for action in reversed(earlier_actions):
            if action.action == Action.Kind.PPV and not action.purchased:
                return action
        return None
    return earlier_actions[-1] if earlier_actions else None


def mark(action, event: str) -> list[str]:
    """Set the flag the outcome puts on its action; return the changed field names."""
    if action is None:
        return []
    if event == Outcome.Event.PURCHASED and not action.purchased:
        action.purchased = True
        return ["purchased"]
    if event == Outcome.Event.GHOSTED and not action.ghosted:
        action.ghosted = True
        return ["ghosted"]
    return []


def _earlier(fan_id, ts, seq):
    return Action.objects.filter(fan_id=fan_id, status__in=COUNTED_STATUSES).filter(
        Q(ts__lt=ts) | Q(ts=ts, seq__lt=seq)
    )


# The action an outcome answers: the fan's latest counted one before it (a purchase: its latest unbought PPV).
# Every fan message looks it up (sqlonce: compiled once).
_LATEST = sqlonce.objects(
    lambda fan_id, ts, seq: _earlier(fan_id, ts, seq).order_by("-ts", "-seq")[:1], int, datetime, int
)
_LATEST_PPV = sqlonce.objects(
    lambda fan_id, ts, seq: (
        _earlier(fan_id, ts, seq).filter(action=Action.Kind.PPV, purchased=False).order_by("-ts", "-seq")[:1]
    ),
    int,
    datetime,
    int,
)


_LOCKED_FLAGS = sqlonce.select(
    lambda pk: (
        Action.objects.select_for_update().filter(pk=pk).order_by().values_list("status", "purchased", "ghosted")
    ),
    int,
)


def attribute_live(outcome: Outcome, action: Action | None = None, pinned: bool = False) -> Outcome:
    """Attribute a just-arrived outcome. `pinned`: the platform named the action (a PPV unlock names
    its message), so `action` is taken as given, even None for a message we never sent."""
    if action is None and not pinned:
        latest = _LATEST_PPV if outcome.event == Outcome.Event.PURCHASED else _LATEST
        action = latest.first(outcome.fan_id, outcome.ts, outcome.seq)
    outcome.action = action
    if action is not None and action.pk is not None:
        # the stored status and flags, locked: the counted cells follow them, not a stale copy
        row = _LOCKED_FLAGS.first(action.pk)
        if row is not None:
            action.status, action.purchased, action.ghosted = row
    if action is None:
        return outcome
    before = (action.purchased, action.ghosted)
    changed = mark(action, outcome.event)
    if changed:
        action.save(update_fields=changed)
        counters.record(action.creator_id, cells.flag_cells(action, *before))
    return outcome


@transaction.atomic
def reattribute_fan(fan) -> int:
    """Recompute every attribution of one fan from scratch (after an out-of-order import).

    Purchases pinned to a PPV by the platform (platform_event_id set and action set) keep their PPV;
    every other outcome goes to a counted (sent or logged) action, as live attribution does.
    Returns the number of outcomes whose action changed.
    """
    actions = list(Action.objects.filter(fan=fan).order_by("ts", "seq"))
    outcomes = list(Outcome.objects.filter(fan=fan).order_by("ts", "seq"))
    pinned = {
        o.id: o.action_id
        for o in outcomes
        if o.event == Outcome.Event.PURCHASED and o.platform_event_id and o.action_id
    }
    by_id = {a.id: a for a in actions}
    before = {a.id: (a.purchased, a.ghosted) for a in actions}
    for a in actions:
        a.purchased = a.ghosted = False
    for aid in pinned.values():
        if aid in by_id:
            by_id[aid].purchased = True

    changed_outcomes = []
    i = 0
    earlier: list[Action] = []
    for o in outcomes:
        while i < len(actions) and (actions[i].ts, actions[i].seq) < (o.ts, o.seq):
            if actions[i].status in COUNTED_STATUSES:
                earlier.append(actions[i])
            i += 1
        if o.id in pinned and pinned[o.id] in by_id:
            target = by_id[pinned[o.id]]
        else:
            target = pick_action(o.event, earlier)
            mark(target, o.event)
        new_id = target.id if target else None
        if new_id != o.action_id:
            o.action_id = new_id
            changed_outcomes.append(o)
    Outcome.objects.bulk_update(changed_outcomes, ["action"], batch_size=500)
    dirty = [a for a in actions if before[a.id] != (a.purchased, a.ghosted)]
    Action.objects.bulk_update(dirty, ["purchased", "ghosted"], batch_size=500)
    for creator_id in {a.creator_id for a in dirty}:
        counters.record(
            creator_id, [c for a in dirty if a.creator_id == creator_id for c in cells.flag_cells(a, *before[a.id])]
        )
    return len(changed_outcomes)
