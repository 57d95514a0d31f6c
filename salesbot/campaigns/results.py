"""What a campaign earned, and what it earned beyond what its fans would have spent anyway.

Per campaign: recipients (sent, pending, held out, left out by reason), viewed where the provider reports it,
bought and revenue (purchases attributed to the recipients' campaign Actions: pinned by the purchase webhook's
message id, learning.attribution), revenue per recipient, replies and tips within the window, opt-outs and
expiries after the send.

Lift: money per fan (purchases and tips of any kind) within the window, recipients against the holdout,
both drawn from the same eligible fans by the same coin. The difference of means with a 90% interval from
the normal approximation (sample variances over n, as learning.experiments does for its arms); times the
recipients, the incremental revenue. Too few held-out fans and the verdict says so.
"""

import math
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from statistics import NormalDist

from django.db.models import Count, Sum
from django.utils import timezone

from fans.models import Fan
from learning.models import Action, Outcome
from salesbot.campaigns.models import Recipient

Z90 = NormalDist().inv_cdf(0.95)
ENOUGH = 10  # held-out fans before the lift is worth a verdict


def _mean_var(values: list[float]) -> tuple[float, float]:
    n = len(values)
    if n == 0:
        return 0.0, 0.0
    m = sum(values) / n
    return m, (sum((v - m) ** 2 for v in values) / (n - 1) if n > 1 else 0.0)


def lift(treated: list[float], control: list[float]) -> dict:
    """Difference of mean money per fan, recipients − holdout, with its 90% interval."""
    mt, vt = _mean_var(treated)
    mc, vc = _mean_var(control)
    diff = mt - mc
    se = math.sqrt((vt / len(treated) if treated else 0.0) + (vc / len(control) if control else 0.0))
    enough = len(control) >= ENOUGH and len(treated) >= ENOUGH
    if not enough:
        verdict = f"not enough data yet: {len(control)} held-out fans (at least {ENOUGH} to tell)"
    elif diff - Z90 * se > 0:
        verdict = "the campaign earned more than its holdout (90% interval above zero)"
    elif diff + Z90 * se < 0:
        verdict = "the campaign earned less than its holdout (90% interval below zero)"
    else:
        verdict = "no clear difference from the holdout yet (90% interval spans zero)"
    return {
        "per_fan_recipients": round(mt, 2),
        "per_fan_holdout": round(mc, 2),
        "per_fan_lift": round(diff, 2),
        "ci90": [round(diff - Z90 * se, 2), round(diff + Z90 * se, 2)],
        "incremental_revenue": round(diff * len(treated), 2),
        "incremental_ci90": [round((diff - Z90 * se) * len(treated), 2), round((diff + Z90 * se) * len(treated), 2)],
        "enough": enough,
        "verdict": verdict,
    }


def _money_per_fan(fan_ids, start, end) -> dict:
    rows = (
        Outcome.objects.filter(
            fan_id__in=fan_ids, ts__gte=start, ts__lte=end, event__in=(Outcome.Event.PURCHASED, Outcome.Event.TIPPED)
        )
        .values("fan_id")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    return {r["fan_id"]: float(r["total"] or 0) for r in rows}


def results(campaign, now=None) -> dict:
    now = now or timezone.now()
    roles = defaultdict(list)
    for fan_id, role in campaign.recipients.values_list("fan_id", "role"):
        roles[role].append(fan_id)
    sent_ids, held = roles[Recipient.Role.SENT], roles[Recipient.Role.HOLDOUT]
    actions = Action.objects.filter(campaign_recipient__campaign=campaign)
    by_status = dict(actions.values_list("status").annotate(n=Count("id")).order_by())
    bought = Outcome.objects.filter(action__in=actions, event=Outcome.Event.PURCHASED)
    revenue = bought.aggregate(s=Sum("amount"))["s"] or Decimal("0")
    delivered = by_status.get(Action.Status.SENT, 0)
    out = {
        "id": campaign.pk,
        "name": campaign.name,
        "status": campaign.status,
        "send_at": campaign.send_at,
        "sent_at": campaign.sent_at,
        "segment_fans": sum(len(v) for v in roles.values()),
        "recipients": len(sent_ids),
        "sent": delivered,
        "pending": by_status.get(Action.Status.PENDING, 0),
        "failed": by_status.get(Action.Status.FAILED, 0) + by_status.get(Action.Status.REFUSED, 0),
        "holdout": len(held),
        "left_out": campaign.left_out or {},
        "viewed": (campaign.provider_stats or {}).get("viewedCount"),
        "bought": bought.count(),
        "revenue": str(revenue.quantize(Decimal("0.01"))),
        "revenue_per_recipient": str((revenue / delivered).quantize(Decimal("0.01")) if delivered else "0.00"),
        "provider": campaign.provider_stats or {},
    }
    if campaign.sent_at is None:
        return {**out, "window": None, "lift": None}
    start, end = campaign.sent_at, min(now, campaign.sent_at + timedelta(hours=campaign.window_hours))
    after = Outcome.objects.filter(fan_id__in=sent_ids, ts__gte=start, ts__lte=end)
    counts = dict(after.values_list("event").annotate(n=Count("fan_id", distinct=True)).order_by())
    fans = Fan.objects.filter(pk__in=sent_ids)
    money = _money_per_fan(sent_ids + held, start, end)
    out.update(
        {
            "window": {"from": start, "to": end, "hours": campaign.window_hours},
            "replied": counts.get(Outcome.Event.REPLIED, 0),
            "tipped": counts.get(Outcome.Event.TIPPED, 0),
            "tips": str(after.filter(event=Outcome.Event.TIPPED).aggregate(s=Sum("amount"))["s"] or Decimal("0")),
            "opted_out": fans.filter(opted_out=True).count(),
            "expired": fans.filter(subscription_expired_at__gte=start).count(),
            "lift": lift([money.get(f, 0.0) for f in sent_ids], [money.get(f, 0.0) for f in held]),
        }
    )
    return out
