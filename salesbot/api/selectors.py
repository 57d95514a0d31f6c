"""Read-only queries behind the ops API (docs/api.md#ops-api)."""

from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from fans.models import Fan
from fans.selectors import needs_a_human
from learning.models import Action, Outcome
from learning.stats import aggregate_learning_stats, ppv_totals
from learning.stats.cells import CONTROL_ARM
from learning.stats.from_rows import counted
from salesbot.models import LLMCall, QueueItem, WebhookEvent
from salesbot.pipeline.queue import PRIORITY


def queue_snapshot(creator, limit=50) -> dict:
    items = (
        QueueItem.objects.filter(creator=creator, status__in=[QueueItem.Status.PENDING, QueueItem.Status.WORKING])
        .select_related("fan")
        .order_by(*PRIORITY)
    )
    now = timezone.now()
    return {
        "needs_human": needs_human(creator),
        "depth": items.count(),
        "items": [
            {
                "fan_id": i.fan.fan_id,
                "name": i.fan.name,
                "reason": i.reason,
                "status": i.status,
                "total_spent": float(i.fan.total_spent),
                "whale_score": i.fan.whale_score,
                "waiting_s": round((now - i.waiting_since).total_seconds(), 1),
                "attempts": i.attempts,
            }
            for i in items[:limit]
        ],
    }


def runtime_stats(creator) -> dict:
    events = WebhookEvent.objects.filter(creator=creator).values("status").annotate(n=Count("id"))
    actions = Action.objects.filter(creator=creator).exclude(source=Action.Source.IMPORT)
    by_status = dict(actions.values_list("status").annotate(n=Count("id")))
    by_source = dict(actions.values_list("source").annotate(n=Count("id")))
    return {
        "enabled": creator.enabled,
        "webhooks": {e["status"]: e["n"] for e in events},
        "sends": by_status.get(Action.Status.SENT, 0),
        "send_errors": by_status.get(Action.Status.FAILED, 0),
        "refused": by_status.get(Action.Status.REFUSED, 0),
        "pending": by_status.get(Action.Status.PENDING, 0),
        "decisions_by_source": by_source,
        "queue_depth": QueueItem.objects.filter(creator=creator, status=QueueItem.Status.PENDING).count(),
        "llm": llm_usage(creator),
    }


_TOKENS = {
    "input": "input_tokens",
    "output": "output_tokens",
    "cache_read": "cache_read_tokens",
    "cache_write": "cache_creation_tokens",
}


def llm_usage(creator) -> dict:
    """The creator's model calls: count, dollars, outcomes and tokens; `batched`, the part sent through the
    Message Batches API (billed at half price), so the dashboard can price and show it apart."""
    calls = LLMCall.objects.filter(creator=creator)
    batched = Q(batched=True)
    agg = calls.aggregate(
        n=Count("id"),
        cost=Sum("cost_usd"),
        batched_n=Count("id", filter=batched),
        batched_cost=Sum("cost_usd", filter=batched),
        **{key: Sum(column) for key, column in _TOKENS.items()},
        **{f"batched_{key}": Sum(column, filter=batched) for key, column in _TOKENS.items()},
    )
    return {
        "calls": agg["n"],
        "cost_usd": float(agg["cost"] or 0),
        "by_outcome": dict(calls.values_list("outcome").annotate(n=Count("id"))),
        "tokens": {key: agg[key] or 0 for key in _TOKENS},
        "batched": {
            "calls": agg["batched_n"],
            "cost_usd": float(agg["batched_cost"] or 0),
            "tokens": {key: agg[f"batched_{key}"] or 0 for key in _TOKENS},
        },
    }


def needs_human(creator, limit=50) -> list[dict]:
    """Fans a person must look at: safety-flagged first (in any state), then other handoffs, newest first."""
    fans = Fan.objects.filter(needs_a_human(), creator=creator).order_by("-safety_flag", "-last_interaction_ts")[:limit]
    return [
        {
            "fan_id": f.fan_id,
            "name": f.name,
            "safety_flag": f.safety_flag,
            "reason": f.handoff_reason,
            "total_spent": float(f.total_spent),
            "last_interaction_ts": f.last_interaction_ts,
        }
        for f in fans
    ]


def fan_detail(fan: Fan, messages=20) -> dict:
    return {
        "fan_id": fan.fan_id,
        "name": fan.name,
        "state": fan.state,
        "total_spent": float(fan.total_spent),
        "messages_sent": fan.messages_sent,
        "messages_received": fan.messages_received,
        "last_ppv_price": float(fan.last_ppv_price) if fan.last_ppv_price is not None else None,
        "content_sent": fan.content_sent,
        "signals": fan.signals,
        "whale_score": fan.whale_score,
        "opted_out": fan.opted_out,
        "handoff_reason": fan.handoff_reason,
        "notes": fan.notes,
        "last_interaction_ts": fan.last_interaction_ts,
        "created_ts": fan.created_ts,
        "history": [
            {"from": t.from_state, "to": t.to_state, "reason": t.reason, "ts": t.ts, "by_staff": t.by_staff}
            for t in fan.transitions.order_by("ts", "id")
        ],
        "recent_messages": [
            {"direction": m.direction, "text": m.text, "ts": m.ts}
            for m in reversed(fan.messages.order_by("-ts", "-id")[:messages])
        ],
        "recent_actions": [
            {
                "action": a.action,
                "content_key": a.content_key,
                "price": float(a.price) if a.price is not None else None,
                "status": a.status,
                "source": a.source,
                "reason": a.reason,
                "ts": a.ts,
            }
            for a in fan.actions.order_by("-ts", "-seq")[:messages]
        ],
    }


def performance(creator, top=10) -> dict:
    """Revenue, conversion rates and top fans (`performance` in docs/api.md#ops-api). The PPV figures are the
    learning stats' own (the dict /learning/stats serves), so both count only PPVs that reached the fan, never
    refused, failed or pending ones."""
    every = Outcome.objects.filter(creator=creator, event__in=[Outcome.Event.PURCHASED, Outcome.Event.TIPPED])
    # Like the PPV figures, the revenue leaves the holdout's control arm out (shown apart).
    control = Q(action__arm=CONTROL_ARM)
    money = every.exclude(control)
    totals = money.aggregate(
        revenue=Sum("amount"),
        purchases=Count("id", filter=Q(event=Outcome.Event.PURCHASED)),
        tips=Count("id", filter=Q(event=Outcome.Event.TIPPED)),
    )
    control_revenue = every.filter(control).aggregate(revenue=Sum("amount"))["revenue"]
    stats = aggregate_learning_stats(creator)
    sent, bought = ppv_totals(stats)
    fans = Fan.objects.filter(creator=creator).order_by("-total_spent")[:top]
    return {
        "revenue": float(totals["revenue"] or 0),
        "purchases": totals["purchases"],
        "tips": totals["tips"],
        "control_arm_revenue": float(control_revenue or 0),
        "ppv_sent": sent,
        "ppv_bought": bought,
        "ppv_conversion": round(100 * bought / sent, 1) if sent else None,
        "conversion_by_price": stats["conversion_by_price"],
        "conversion_by_hook": stats["conversion_by_hook"],
        "conversion_by_content": stats["conversion_by_content"],
        "stats_computed_at": stats["computed_at"],
        "top_fans": [
            {"fan_id": f.fan_id, "name": f.name, "total_spent": float(f.total_spent), "state": f.state} for f in fans
        ],
    }


def training_summary(creator) -> dict:
    """What the learning stats rest on: how much history, from where (imported seed logs or this
    system's own sends), over which period, and the settings that weigh it."""
    actions = Action.objects.filter(creator=creator)
    outcomes = Outcome.objects.filter(creator=creator)
    span = actions.aggregate(first=Min("ts"), last=Max("ts"))
    ppvs = counted(creator).filter(action=Action.Kind.PPV)  # what the learning stats count (sent, not control)
    return {
        "actions": actions.count(),
        "actions_by_source": dict(actions.order_by().values_list("source").annotate(n=Count("id"))),
        "actions_by_kind": dict(actions.order_by().values_list("action").annotate(n=Count("id"))),
        "outcomes": outcomes.count(),
        "outcomes_by_event": dict(outcomes.order_by().values_list("event").annotate(n=Count("id"))),
        "ppv_sent": ppvs.count(),
        "ppv_bought": ppvs.filter(purchased=True).count(),
        "ppv_explored": ppvs.filter(explored=True).count(),
        "fans": Fan.objects.filter(creator=creator).count(),
        "fans_with_actions": actions.order_by().values("fan").distinct().count(),
        "first_action_ts": span["first"],
        "last_action_ts": span["last"],
        "min_sample": creator.min_sample,
        "half_life_days": creator.stats_half_life_days,
        "exploration_enabled": creator.exploration_enabled,
        "exploration_share": creator.exploration_share,
        "offer_policy": creator.offer_policy,
    }
