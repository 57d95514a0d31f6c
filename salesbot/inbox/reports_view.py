"""The shift and payout report: per team member and period, on the page or as CSV (the same rows)."""

import csv
from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from salesbot import periods, shift_report
from salesbot.inbox import assignment
from team import scope


def period_context(request, period, **keep) -> dict:
    """What the period chooser (templates/admin/reports/_period.html) needs."""
    extra = "".join(f"&{k}={v}" for k, v in keep.items() if v)
    return {
        "period": period,
        "period_choices": periods.CHOICES,
        "tz": settings.TIME_ZONE,
        "keep": keep,
        "extra_query": extra,
        "period_from": period.start.date().isoformat() if period.start else "",
        "period_to": ((period.end or timezone.now()) - timedelta(seconds=1)).date().isoformat(),
    }


def shifts(request):
    if not request.user.has_perm("fans.view_fan"):
        raise PermissionDenied
    period = periods.parse(request.GET, default="today")
    rows = shift_report.by_chatter(request.user, period, timezone.now())
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="shifts-{period.key}.csv"'
        out = csv.writer(response)
        out.writerow([label for _, label in shift_report.COLUMNS])
        for r in rows:
            out.writerow(["" if r[k] is None else r[k] for k, _ in shift_report.COLUMNS])
        return response
    return TemplateResponse(
        request,
        "admin/reports/shifts.html",
        {
            **admin.site.each_context(request),
            "title": f"Shifts and payouts: {period.label}",
            "rows": rows,
            "columns": shift_report.COLUMNS,
            **period_context(request, period),
            "on_duty": list(assignment.team_on_duty()) if scope.is_manager(request.user) else [],
        },
    )
