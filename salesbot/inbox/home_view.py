"""Each person's page after login: what waits for them, their sales and the team's in a period, who is on
duty, and the ways in."""

from django.db.models import Sum
from django.utils import timezone

from learning.models import Outcome
from salesbot import periods
from salesbot.inbox import assignment, selectors
from salesbot.inbox.reports_view import period_context
from salesbot.models import Draft
from salesbot.team_performance import credited_to_person
from team import scope


def context(request) -> dict:
    user = request.user
    if not user.is_authenticated or not user.is_staff:
        return {}
    period = periods.parse(request.GET, default="today")
    ids = scope.creator_ids(user)
    money = Outcome.objects.filter(period.q(), event__in=periods.MONEY, import_key__isnull=True)
    drafts = Draft.objects.filter(status=Draft.Status.OPEN)
    if ids is not scope.ALL:
        money, drafts = money.filter(creator_id__in=ids), drafts.filter(creator_id__in=ids)
    mine = money.filter(credited_to_person("action__"), action__sent_by=user)
    rows = selectors.conversations(user, limit=500) if user.has_perm("fans.view_fan") else []
    return {
        "home": {
            "awaiting": selectors.awaiting_count(user) if rows else 0,
            "drafts": drafts.count(),
            "mine": mine.aggregate(s=Sum("amount"))["s"] or 0,
            "team": money.aggregate(s=Sum("amount"))["s"] or 0,
            "history": periods.money(period, None if ids is scope.ALL else ids, history=True),
            "is_manager": scope.is_manager(user),
            "needs_human": sum(1 for r in rows if r.needs_human and r.awaiting),
            "breached": sum(1 for r in rows if r.target and r.target["state"] == "breached"),
            "shift": assignment.on_duty(user),
            "on_duty": list(assignment.team_on_duty()),
            "now": timezone.now(),
            "unhealthy": selectors.unhealthy_accounts(user),
        },
        **period_context(request, period),
    }
