"""What each chatter did in a period, to pay them from: hours on duty, fans answered, how fast a fan waiting for
a person got a first answer (median, p90) and the share answered within the creator's target, messages, PPVs,
conversion, the sales credited to them (salesbot.team_performance's rules: a person's console message or edited
draft) and the commission at their rate."""

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from statistics import median

from django.db.models import Q, Sum

from learning.models import Action, Outcome
from learning.stats.cells import COUNTED_STATUSES
from salesbot.periods import MONEY, Period
from salesbot.team_performance import credited_to_person
from team import scope
from team.models import Shift, TeamMember

CENT = Decimal("0.01")
COLUMNS = [
    ("person", "person"),
    ("hours", "hours on duty"),
    ("fans", "fans answered"),
    ("first_reply_median_s", "first reply, median (s)"),
    ("first_reply_p90_s", "first reply, p90 (s)"),
    ("target_met", "answered within target"),
    ("messages", "messages"),
    ("ppv_sent", "PPVs"),
    ("ppv_bought", "PPVs bought"),
    ("conversion", "conversion"),
    ("sales", "sales credited ($)"),
    ("rate", "commission %"),
    ("commission", "commission ($)"),
]


def _p90(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))] if ordered else None


def _hours(user_id, period: Period, now) -> float:
    total = 0.0
    for shift in Shift.objects.filter(user_id=user_id).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=period.start) if period.start else Q()
    ):
        start = max(shift.started_at, period.start) if period.start else shift.started_at
        end = min(shift.ended_at or now, period.end or now)
        total += max((end - start).total_seconds(), 0) / 3600
    return round(total, 2)


def by_chatter(user, period: Period, now) -> list[dict]:
    """One row per team member in the viewer's sight (a chatter sees their own row; a manager everyone's)."""
    members = TeamMember.objects.select_related("user").order_by("user__username")
    if not scope.is_manager(user):
        members = members.filter(user=user)
    ids = scope.creator_ids(user)
    person = credited_to_person()
    actions = Action.objects.filter(
        period.q(), person, sent_by__in=[m.user_id for m in members], status__in=COUNTED_STATUSES
    )
    money = Outcome.objects.filter(period.q(), event__in=MONEY, import_key__isnull=True, action__sent_by__isnull=False)
    money = money.filter(credited_to_person("action__"))
    if ids is not scope.ALL:
        actions, money = actions.filter(creator_id__in=ids), money.filter(creator_id__in=ids)
    per = defaultdict(
        lambda: {"fans": set(), "times": [], "met": 0, "targeted": 0, "messages": 0, "ppv": 0, "bought": 0}
    )
    for a in actions.values("sent_by_id", "fan_id", "action", "purchased", "response_time_s", "extra"):
        r = per[a["sent_by_id"]]
        r["fans"].add(a["fan_id"])
        r["messages"] += 1
        r["ppv"] += a["action"] == Action.Kind.PPV
        r["bought"] += a["action"] == Action.Kind.PPV and a["purchased"]
        if a["response_time_s"] is not None:
            r["times"].append(a["response_time_s"])
            target = (a["extra"] or {}).get("target_s")
            if target:
                r["targeted"] += 1
                r["met"] += a["response_time_s"] <= target
    sales = {
        row["action__sent_by_id"]: row["s"]
        for row in money.values("action__sent_by_id").order_by().annotate(s=Sum("amount"))
    }
    rows = []
    for m in members:
        r = per[m.user_id]
        credited = Decimal(sales.get(m.user_id) or 0).quantize(CENT)
        rows.append(
            {
                "person": m.user.get_username(),
                "user_id": m.user_id,
                "role": m.role,
                "hours": _hours(m.user_id, period, now),
                "fans": len(r["fans"]),
                "first_reply_median_s": round(median(r["times"]), 1) if r["times"] else None,
                "first_reply_p90_s": round(_p90(r["times"]), 1) if r["times"] else None,
                "target_met": round(r["met"] / r["targeted"], 3) if r["targeted"] else None,
                "messages": r["messages"],
                "ppv_sent": r["ppv"],
                "ppv_bought": r["bought"],
                "conversion": round(r["bought"] / r["ppv"], 3) if r["ppv"] else None,
                "sales": credited,
                "rate": m.commission_rate,
                "commission": (credited * m.commission_rate / 100).quantize(CENT, ROUND_HALF_UP),
            }
        )
    return rows
