"""Issue 21: GET /metrics answers in Prometheus text format with what an operator watches, behind a token."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from learning.services import record_action
from salesbot import metrics
from salesbot.models import Draft, LLMCall, QueueItem, WebhookEvent
from salesbot.pipeline import queue, worker
from salesbot.providers.base import PermanentError, TransientError
from tests.factories import FanFactory

FAMILIES = {
    "salesbot_webhook_events",
    "salesbot_webhook_oldest_waiting_seconds",
    "salesbot_queue_items",
    "salesbot_queue_workable",
    "salesbot_queue_oldest_wait_seconds",
    "salesbot_fans_awaiting_human",
    "salesbot_drafts_open",
    "salesbot_reply_latency_seconds",
    "salesbot_sends",
    "salesbot_sends_pending",
    "salesbot_provider_errors",
    "salesbot_provider_paused_creators",
    "salesbot_model_calls",
    "salesbot_model_tokens",
    "salesbot_model_cost_usd",
}


def scrape(client, token="s3cret"):
    return client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")


def samples(text):
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }


def test_metrics_are_off_without_a_token_and_refused_with_a_wrong_one(client, db, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    settings.METRICS_TOKEN = "s3cret"
    assert client.get("/metrics").status_code == 401
    assert scrape(client, "wrong").status_code == 401


def test_metrics_answer_every_family_in_prometheus_text(client, demo, settings):
    settings.METRICS_TOKEN = "s3cret"
    now = timezone.now()
    fan = FanFactory(creator=demo, fan_id=21600, state="engaged")
    FanFactory(creator=demo, fan_id=21601, state="handed_off", safety_flag=True)
    WebhookEvent.objects.create(creator=demo, event_id="e1", raw_body="{}", received_at=now - timedelta(seconds=30))
    item = queue.enqueue(fan, "message", waiting_since=now - timedelta(seconds=12))
    record_action(fan, "text", status="sent", response_time_s=0.8, message_text="a")
    record_action(fan, "text", status="sent", response_time_s=45.0, message_text="b", source="llm")
    record_action(fan, "text", status="refused", message_text="c")
    Draft.objects.create(creator=demo, fan=fan, action="text", text="hi")
    LLMCall.objects.create(
        creator=demo,
        fan=fan,
        model="m",
        outcome="accepted",
        input_tokens=100,
        output_tokens=20,
        cost_usd=Decimal("0.0012"),
    )
    metrics.bump("provider_errors", metrics.provider_error_kind(TransientError("POST /x: 429 slow down")))
    metrics.bump("provider_errors", metrics.provider_error_kind(PermanentError("POST /x: 400 bad")))
    r = scrape(client)
    assert r.status_code == 200 and r["Content-Type"].startswith("text/plain; version=0.0.4")
    text = r.content.decode()
    assert {f.name for f in text_string_to_metric_families(text)} >= FAMILIES
    got = samples(text)
    assert got[("salesbot_webhook_events", (("status", "received"),))] == 1
    assert got[("salesbot_webhook_oldest_waiting_seconds", ())] >= 29
    assert got[("salesbot_queue_items", (("status", "pending"),))] == 1
    assert got[("salesbot_queue_oldest_wait_seconds", ())] >= 11
    assert got[("salesbot_fans_awaiting_human", ())] == 1 and got[("salesbot_drafts_open", ())] == 1
    assert got[("salesbot_reply_latency_seconds_bucket", (("le", "1.0"),))] == 1
    assert got[("salesbot_reply_latency_seconds_bucket", (("le", "+Inf"),))] == 2
    assert got[("salesbot_reply_latency_seconds_count", ())] == 2
    assert got[("salesbot_sends_total", (("result", "sent"),))] == 2
    assert got[("salesbot_sends_total", (("result", "refused"),))] == 1
    assert got[("salesbot_provider_errors_total", (("kind", "rate_limited"),))] == 1
    assert got[("salesbot_provider_errors_total", (("kind", "permanent"),))] == 1
    assert got[("salesbot_model_calls_total", (("outcome", "accepted"),))] == 1
    assert got[("salesbot_model_tokens_total", (("kind", "input"),))] == 100
    assert abs(got[("salesbot_model_cost_usd_total", ())] - 0.0012) < 1e-9
    assert item.pk


def test_a_failed_send_is_counted_as_a_provider_error(demo, monkeypatch):
    def failing(action, client=None):
        e = TransientError("POST /messages: 503 down")
        raise e

    monkeypatch.setattr("salesbot.pipeline.sender.deliver", failing)
    fan = FanFactory(creator=demo, fan_id=21602, state="engaged", messages_received=1)
    queue.enqueue(fan, "message")
    worker.work_one(demo)
    from salesbot.models import MetricCount

    assert MetricCount.objects.get(name="provider_errors", label="transient").value == 1
    assert QueueItem.objects.get(fan=fan).status == "pending"
