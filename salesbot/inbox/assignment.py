"""Who answers a fan who needs a person: shifts (clock in, clock out) and routing to the chatters on duty.

A fan who needs a person (handed off, or safety-flagged) is assigned to an on-duty chatter of that fan's creator:
the chatter with the fewest such fans, then the one assigned longest ago (round robin), never over their
capacity; the most valuable, longest-waiting fans first. A chatter going off duty hands their fans back to the
pool; a manager may reassign. The claim is one conditional UPDATE on the fan (and the chatter's row is locked
while their load is counted), so two runs at once never give one fan to two people nor a chatter one too many."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from fans.models import Fan
from fans.selectors import needs_a_human
from team.models import Shift, TeamMember


class AssignmentError(Exception):
    """Why the fan cannot be given to that person (shown to the manager)."""


# --- shifts -----------------------------------------------------------------------------------------


def on_duty(user) -> Shift | None:
    return Shift.objects.filter(user=user, ended_at__isnull=True).first()


def clock_in(user) -> Shift:
    with transaction.atomic():
        shift = on_duty(user) or Shift.objects.create(user=user, started_at=timezone.now())
    assign_waiting()
    return shift


def clock_out(user) -> int:
    """End the shift; the person's fans go back to the pool (and to whoever else is on duty)."""
    Shift.objects.filter(user=user, ended_at__isnull=True).update(ended_at=timezone.now())
    released = Fan.objects.filter(assigned_to=user).update(assigned_to=None, assigned_at=None)
    assign_waiting()
    return released


def team_on_duty():
    """Everyone clocked in now, with their shift."""
    return Shift.objects.filter(ended_at__isnull=True).select_related("user").order_by("started_at")


# --- routing ----------------------------------------------------------------------------------------


def _pool(creator_ids=None):
    fans = Fan.objects.filter(needs_a_human(), assigned_to__isnull=True, opted_out=False)
    return fans if creator_ids is None else fans.filter(creator_id__in=creator_ids)


def _value_order(fans):
    """Most valuable first, then the longest waiting (needs_human_since)."""
    return sorted(
        fans, key=lambda f: (-(float(f.total_spent) + 25 * f.whale_score), f.needs_human_since or f.created_ts)
    )


def _candidates(creator_id):
    """On-duty chatters of the creator with room, the least loaded and longest unassigned first."""
    on = Shift.objects.filter(ended_at__isnull=True).values("user_id")
    members = TeamMember.objects.filter(
        user_id__in=on, role=TeamMember.Role.CHATTER, creators=creator_id, user__is_active=True
    ).annotate(load=Count("user__assigned_fans", distinct=True))
    return [
        m for m in members.order_by("load", F("last_assigned_at").asc(nulls_first=True), "id") if m.load < m.capacity
    ]


def _give(fan, member) -> bool:
    """Claim `fan` for `member` if it is still unassigned and the member still has room (row lock)."""
    with transaction.atomic():
        locked = TeamMember.objects.select_for_update().get(pk=member.pk)
        if Fan.objects.filter(assigned_to_id=locked.user_id).count() >= locked.capacity:
            return False
        now = timezone.now()
        if not Fan.objects.filter(pk=fan.pk, assigned_to__isnull=True).update(
            assigned_to_id=locked.user_id, assigned_at=now
        ):
            return False
        TeamMember.objects.filter(pk=locked.pk).update(last_assigned_at=now)
    return True


def assign_waiting(creator_ids=None) -> int:
    """Route every unassigned fan who needs a person to an on-duty chatter with room; returns how many."""
    given = 0
    for fan in _value_order(_pool(creator_ids)):
        for member in _candidates(fan.creator_id):
            if _give(fan, member):
                given += 1
                break
    return given


def reassign(fan, to_user, by_user) -> None:
    """A manager gives the fan to someone (or to nobody: back to the pool)."""
    if to_user is not None:
        member = TeamMember.objects.filter(user=to_user).first()
        if member is None or (
            member.role == TeamMember.Role.CHATTER and not member.creators.filter(pk=fan.creator_id).exists()
        ):
            raise AssignmentError(f"{to_user} does not work {fan.creator.slug}'s fans.")
    Fan.objects.filter(pk=fan.pk).update(assigned_to=to_user, assigned_at=timezone.now() if to_user else None)
    fan.assigned_to = to_user


def assignable_people(fan):
    """Who a manager may give the fan to: the creator's chatters and the managers."""
    users = get_user_model().objects.filter(is_active=True)
    return (
        users.filter(Q(team_member__role=TeamMember.Role.MANAGER) | Q(team_member__creators=fan.creator_id))
        .distinct()
        .order_by("username")
    )
