"""GET /metrics: what an operator watches, in Prometheus text format (prometheus-client).

Every figure is read from the database at scrape time, so it is the same whichever web process answers
and covers every qcluster worker on every machine: webhook events by status and the oldest one waiting,
queue depth and the oldest workable item's wait, fans awaiting a human, drafts waiting, reply latency
(a histogram of the sent actions' response times), sends by result, provider errors and rate-limit pauses
(MetricCount, bumped by the worker), model calls, tokens and cost. Docs and starter alert rules:
docs/operations.md.
"""

import hmac

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Min, Q, Sum
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from fans.models import Fan
from fans.selectors import needs_a_human
from learning.models import Action
from models_registry.models import Creator
from salesbot.models import Draft, LLMCall, MetricCount, QueueItem, WebhookEvent

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds from the fan's message to our answer (Action.response_time_s); the goal is p99 under 30 s.
LATENCY_BUCKETS = (0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
SEND_RESULTS = (Action.Status.SENT, Action.Status.FAILED, Action.Status.REFUSED)
BOT_SOURCES = (Action.Source.RULES, Action.Source.LLM, Action.Source.STAFF)


# --- counters no row keeps ------------------------------------------------------------------------


def bump(name: str, label: str = "", by: int = 1) -> None:
    """Add to a MetricCount; never raises into the caller (a metric must not fail a send)."""
    try:
        if not MetricCount.objects.filter(name=name, label=label).update(value=F("value") + by):
            try:
                with transaction.atomic():
                    MetricCount.objects.create(name=name, label=label, value=by)
            except IntegrityError:
                MetricCount.objects.filter(name=name, label=label).update(value=F("value") + by)
    except Exception:  # noqa: BLE001  (the metric is lost, the work is not)
        import logging

        logging.getLogger(__name__).warning("could not count metric %s{%s}", name, label, exc_info=True)


def provider_error_kind(error) -> str:
    """rate_limited (429, or a send held by the provider's per-minute limit), transient or permanent."""
    text = str(error)
    if " 429 " in f" {text} " or "rate limit" in text.lower():
        return "rate_limited"
    return "transient" if getattr(error, "transient", False) else "permanent"


# --- the collector --------------------------------------------------------------------------------


class SalesbotCollector:
    def collect(self):
        now = timezone.now()
        yield from _webhooks(now)
        yield from _queue(now)
        yield from _humans()
        yield from _latency()
        yield from _sends()
        yield from _provider(now)
        yield from _model()


def _webhooks(now):
    g = GaugeMetricFamily(
        "salesbot_webhook_events",
        "Stored webhook events by status (received = waiting to be applied).",
        labels=["status"],
    )
    by = dict(WebhookEvent.objects.order_by().values_list("status").annotate(n=Count("id")))
    for status in WebhookEvent.Status.values:
        g.add_metric([status], by.get(status, 0))
    yield g
    oldest = WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED).aggregate(t=Min("received_at"))["t"]
    yield GaugeMetricFamily(
        "salesbot_webhook_oldest_waiting_seconds",
        "Age of the oldest stored event not yet applied (0: none).",
        value=_age(now, oldest),
    )


def _queue(now):
    g = GaugeMetricFamily(
        "salesbot_queue_items", "Fan queue items by status (pending includes deferred retries).", labels=["status"]
    )
    by = dict(
        QueueItem.objects.filter(status__in=[QueueItem.Status.PENDING, QueueItem.Status.WORKING])
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    for status in (QueueItem.Status.PENDING, QueueItem.Status.WORKING):
        g.add_metric([status], by.get(status, 0))
    yield g
    due = QueueItem.objects.filter(status=QueueItem.Status.PENDING, not_before__lte=now)
    yield GaugeMetricFamily(
        "salesbot_queue_workable",
        "Pending items whose time has come (not waiting for a retry or a human's hold).",
        value=due.count(),
    )
    oldest = due.aggregate(t=Min("waiting_since"))["t"]
    yield GaugeMetricFamily(
        "salesbot_queue_oldest_wait_seconds",
        "How long the longest-waiting workable fan has waited for an answer (0: none).",
        value=_age(now, oldest),
    )


def _humans():
    yield GaugeMetricFamily(
        "salesbot_fans_awaiting_human",
        "Fans only a person may answer (handed off or safety-flagged).",
        value=Fan.objects.filter(needs_a_human()).count(),
    )
    yield GaugeMetricFamily(
        "salesbot_drafts_open",
        "Drafts waiting for a person (approve mode).",
        value=Draft.objects.filter(status=Draft.Status.OPEN).count(),
    )


def _latency():
    sent = Action.objects.filter(
        status=Action.Status.SENT, source__in=[Action.Source.RULES, Action.Source.LLM], response_time_s__isnull=False
    )
    agg = sent.aggregate(
        total=Sum("response_time_s"),
        n=Count("id"),
        **{f"le{i}": Count("id", filter=Q(response_time_s__lte=b)) for i, b in enumerate(LATENCY_BUCKETS)},
    )
    buckets = [(str(b), agg[f"le{i}"]) for i, b in enumerate(LATENCY_BUCKETS)] + [("+Inf", agg["n"])]
    yield HistogramMetricFamily(
        "salesbot_reply_latency_seconds",
        "From the fan's message to the bot's answer being sent (sent actions of the rules and the model).",
        buckets=buckets,
        sum_value=float(agg["total"] or 0),
    )


def _sends():
    c = CounterMetricFamily(
        "salesbot_sends",
        "Messages this system tried to send, by result (refused: by the last gate).",
        labels=["result"],
    )
    by = dict(
        Action.objects.filter(source__in=BOT_SOURCES, status__in=SEND_RESULTS)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    for status in SEND_RESULTS:
        c.add_metric([status], by.get(status, 0))
    yield c
    yield GaugeMetricFamily(
        "salesbot_sends_pending",
        "Decided sends not through yet (in flight or waiting for a retry).",
        value=Action.objects.filter(status=Action.Status.PENDING).count(),
    )


def _provider(now):
    counts = dict(MetricCount.objects.filter(name="provider_errors").values_list("label", "value"))
    c = CounterMetricFamily(
        "salesbot_provider_errors",
        "Failed platform sends by kind (rate_limited: a 429 or the provider's per-minute limit).",
        labels=["kind"],
    )
    for kind in ("rate_limited", "transient", "permanent"):
        c.add_metric([kind], counts.get(kind, 0))
    yield c
    yield GaugeMetricFamily(
        "salesbot_provider_paused_creators",
        "Creators whose sends wait out the provider's rate limit right now.",
        value=Creator.objects.filter(api_paused_until__gt=now).count(),
    )


def _model():
    by = {
        row["outcome"]: row
        for row in LLMCall.objects.order_by()
        .values("outcome")
        .annotate(
            n=Count("id"),
            input=Sum("input_tokens"),
            output=Sum("output_tokens"),
            cache_read=Sum("cache_read_tokens"),
            cache_creation=Sum("cache_creation_tokens"),
            cost=Sum("cost_usd"),
        )
    }
    calls = CounterMetricFamily("salesbot_model_calls", "Model calls by outcome.", labels=["outcome"])
    tokens = CounterMetricFamily("salesbot_model_tokens", "Model tokens by kind.", labels=["kind"])
    for outcome in LLMCall.Outcome.values:
        calls.add_metric([outcome], by.get(outcome, {}).get("n", 0))
    for kind in ("input", "output", "cache_read", "cache_creation"):
        tokens.add_metric([kind], sum((row[kind] or 0) for row in by.values()))
    yield calls
    yield tokens
    yield CounterMetricFamily(
        "salesbot_model_cost_usd",
        "What the model calls cost, in US dollars.",
        value=float(sum((row["cost"] or 0) for row in by.values())),
    )


def _age(now, t) -> float:
    return max((now - t).total_seconds(), 0.0) if t else 0.0


# --- the view -------------------------------------------------------------------------------------


def metrics_view(request):
    """Prometheus scrape endpoint: `Authorization: Bearer <METRICS_TOKEN>`; off (404) while the token is unset."""
    token = settings.METRICS_TOKEN
    if not token:
        return JsonResponse({"error": "metrics are off: set METRICS_TOKEN"}, status=404)
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return JsonResponse({"error": "bad or missing metrics token (Authorization: Bearer …)"}, status=401)
    if request.method != "GET":
        return JsonResponse({"error": "GET only"}, status=405)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SalesbotCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE)
