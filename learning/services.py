"""Writing actions and outcomes: where arrival order (next_seq) and attribution are assigned, and records
what each write changes in the stats counters (learning.stats.counters) in the same transaction. An action's
status changes go through set_action_status, since the stats count only sent/logged actions."""

import copy

from django.db import connection, transaction
from django.utils import timezone

import sqlonce
from learning.attribution import attribute_live
from learning.experiments import arm_of
from learning.models import Action, Outcome
from learning.stats import cells, counters


def next_seq(fan) -> int:
    """Reserve the fan's next arrival number (atomic across workers): one UPDATE … RETURNING (PostgreSQL,
    SQLite >= 3.35), as it runs for every action and outcome. The one other place that bumps `event_seq` is a fan
    message's own UPDATE of the fan (pipeline.intake.on_message), which hands the number to record_outcome."""
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {type(fan)._meta.db_table} SET event_seq = event_seq + 1 WHERE id = %s RETURNING event_seq",
            [fan.pk],
        )
        # fetchall steps the statement to its end: a RETURNING statement left open on SQLite fails the COMMIT
        fan.event_seq = cur.fetchall()[0][0]
    return fan.event_seq


@transaction.atomic(savepoint=False)  # one unit with the caller's transaction: no savepoint round trips
def record_action(fan, action: str, *, ts=None, **fields) -> Action:
    """Log what the bot (or staff) did, snapshotting the fan as a seed log's action line does
    (docs/operations.md#importing-the-seeds-logs)."""
    fields.setdefault("fan_state", fan.state)
    fields.setdefault("fan_total_spent", fan.total_spent)
    fields.setdefault("arm", arm_of(fan))  # the holdout arm while its experiment runs (learning.experiments)
    created = sqlonce.insert(
        Action(creator_id=fan.creator_id, fan=fan, action=action, ts=ts or timezone.now(), seq=next_seq(fan), **fields)
    )
    counters.action_added(created)
    return created


@transaction.atomic(savepoint=False)
def record_outcome(
    fan,
    event: str,
    *,
    ts=None,
    amount=None,
    action: Action | None = None,
    platform_event_id: str | None = None,
    pinned: bool = False,
    extra: dict | None = None,
    seq: int | None = None,
) -> Outcome:
    """Log how the fan answered and attribute it to the action it answers. `seq`: the fan's arrival number if
    the caller reserved it already (next_seq's counter, bumped in the caller's own UPDATE of the fan)."""
    outcome = Outcome(
        creator_id=fan.creator_id,
        fan=fan,
        event=event,
        ts=ts or timezone.now(),
        seq=seq if seq is not None else next_seq(fan),
        amount=amount,
        platform_event_id=platform_event_id,
        extra=extra or {},
    )
    attribute_live(outcome, action, pinned=pinned)
    sqlonce.insert(outcome)
    counters.outcome_recorded(outcome)
    return outcome


STATUS_FIELDS = ("error", "platform_message_id")
_STATUS_KINDS = {"error": str, "platform_message_id": int}
_status_writes: dict[tuple[str, ...], sqlonce.Update] = {}


def _status_write(names: tuple[str, ...]) -> sqlonce.Update:
    """The UPDATE of an action's status and these fields, compiled once per set of fields (sqlonce)."""
    write = _status_writes.get(names)
    if write is None:

        def build(pk, status, *values):
            return Action.objects.filter(pk=pk), {"status": status, **dict(zip(names, values, strict=True))}

        write = _status_writes[names] = sqlonce.update(build, int, str, *(_STATUS_KINDS[n] for n in names))
    return write


@transaction.atomic(savepoint=False)
def set_action_status(action: Action, status: str, *, only_from=None, locked: Action | None = None, **fields) -> bool:
    """Save the action's new status (and `error` / `platform_message_id` if given) and move its counts
    in the stats counters in the same transaction: out under the old status, in under the new one, so
    pending → sent starts counting and pending → failed/refused never does.

    The row is locked and re-read, so the counters follow the stored status and flags, not a stale
    copy. `only_from`: statuses the change applies from (e.g. only a still-pending action becomes
    failed); otherwise nothing is written and False is returned. `action` gets the saved values. `locked`: the
    row as the caller read it with select_for_update in this transaction (not read again)."""
    unknown = set(fields) - set(STATUS_FIELDS)
    if unknown:
        raise TypeError(f"set_action_status() cannot set {sorted(unknown)}")
    old = locked if locked is not None else Action.objects.select_for_update().get(pk=action.pk)
    if only_from is not None and old.status not in only_from:
        return False
    new = copy.copy(old)
    new.status = status
    for name, value in fields.items():
        setattr(new, name, value)
    _status_write(tuple(fields)).run(new.pk, status, *(getattr(new, name) for name in fields))
    counters.record(old.creator_id, cells.action_cells(old, sign=-1) + cells.action_cells(new))
    action.status = status
    for name, value in fields.items():
        setattr(action, name, value)
    return True


# Every send asks it (sqlonce: compiled once; a JSON key's value is a parameter like any other).
_ORPHANS = sqlonce.objects(
    lambda fan_id, message_id: Outcome.objects.filter(
        fan_id=fan_id, event=Outcome.Event.PURCHASED, action__isnull=True, extra__message_id=message_id
    ).order_by("ts", "seq"),
    int,
    int,
)


def attach_purchases(action: Action) -> int:
    """Attribute purchases of this action's platform message that arrived before the message did (they
    were booked unattributed with the message id in `extra`); returns how many."""
    if not action.platform_message_id:
        return 0
    orphans = _ORPHANS.all(action.fan_id, action.platform_message_id)
    count = 0
    for outcome in orphans:
        if (outcome.extra or {}).get("amount_differs"):
            continue
        if action.price is not None and outcome.amount is not None and outcome.amount != action.price:
            # Not the PPV's price: booked as that amount, not as the PPV's purchase (pipeline.books).
            outcome.extra = {**outcome.extra, "amount_differs": {"price": str(action.price), "action_id": action.pk}}
            outcome.save(update_fields=["extra"])
            continue
        attribute_live(outcome, action, pinned=True)
        outcome.save(update_fields=["action"])
        count += 1
    return count


@transaction.atomic
def reverse_outcome(outcome: Outcome, reason: str, platform_event_id: str | None = None) -> Outcome:
    """Money taken back: the purchase or tip becomes a `reversed` outcome (kept, with the reason, for the
    timeline); a reversed purchase no longer makes its PPV bought, in the rows and the counters."""
    was = outcome.event
    outcome.event = Outcome.Event.REVERSED
    outcome.extra = {
        **(outcome.extra or {}),
        "reversed": {"was": was, "reason": reason, "event_id": platform_event_id, "at": timezone.now().isoformat()},
    }
    outcome.save(update_fields=["event", "extra"])
    if was == Outcome.Event.PURCHASED:
        action_id = outcome.action_id
        if action_id and not Outcome.objects.filter(action_id=action_id, event=Outcome.Event.PURCHASED).exists():
            action = Action.objects.select_for_update().get(pk=action_id)
            before = (action.purchased, action.ghosted, action.reversed)
            # net money: the PPV earned nothing, and its price and hook carry the chargeback
            action.purchased, action.reversed = False, True
            action.save(update_fields=["purchased", "reversed"])
            counters.record(action.creator_id, cells.flag_cells(action, *before))
        counters.refresh_buyer(outcome.fan_id, outcome.creator_id)
    return outcome
