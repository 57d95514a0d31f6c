"""Each person's page after login: what waits for them, today's sales, and the ways in."""
from datetime import datetime, time

from django.db.models import Q, Sum
from django.utils import timezone

from learning.models import Outcome
from salesbot.inbox import selectors
from salesbot.models import Draft
from team import scope

MONEY = [Outcome.Event.PURCHASED, Outcome.Event.TIPPED]


def _today_start():
    now = timezone.localtime()
    return timezone.make_aware(datetime.combine(now.date(), time.min), now.tzinfo)


def context(request) -> dict:
    user = request.user
    if not user.is_authenticated or not user.is_staff:
        return {}
    ids = scope.creator_ids(user)
    money = Outcome.objects.filter(event__in=MONEY, ts__gte=_today_start())
    drafts = Draft.objects.filter(status=Draft.Status.OPEN)
    if ids is not scope.ALL:
        money, drafts = money.filter(creator_id__in=ids), drafts.filter(creator_id__in=ids)
    mine = money.filter(Q(action__sent_by=user) & (Q(action__source="staff") | Q(action__review="edited")))
    return {"home": {
        "awaiting": selectors.awaiting_count(user) if user.has_perm("fans.view_fan") else 0,
        "drafts": drafts.count(),
        "mine_today": mine.aggregate(s=Sum("amount"))["s"] or 0,
        "team_today": money.aggregate(s=Sum("amount"))["s"] or 0,
        "is_manager": scope.is_manager(user),
        "needs_human": sum(1 for r in selectors.conversations(user, show="human", limit=500) if r.awaiting),
    }}
