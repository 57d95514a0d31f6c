"""The stored events are the queue: a webhook queues a drain task only when none is waiting, that task
answers the fans itself (no second task hop), and the sweeper processes whatever a lost, skipped or
failed enqueue left behind. Nothing is lost; a fan another worker holds is left to it."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from fans.models import Fan
from learning.models import Outcome
from salesbot import tasks
from salesbot.models import IntakeDrain, QueueItem, WebhookEvent
from salesbot.pipeline import checkers, intake, queue, sender
from salesbot.pipeline.events import FanMessage
from salesbot.providers.base import SentMessage
from salesbot.providers.simple import sign

SECRET = "test-webhook-secret"


def say(client, creator, n, fan_id=42):
    body = json.dumps(
        {
            "event_id": f"evt_{n}",
            "event": "messages.received",
            "account_id": creator.account_id,
            "created_at": "2026-11-24T18:00:00Z",
            "payload": {"fan": {"id": fan_id, "name": "Sam"}, "message": {"id": n, "text": "hey"}},
        }
    ).encode()
    r = client.post(
        f"/api/{creator.slug}/webhook/of-event",
        data=body,
        content_type="application/json",
        HTTP_X_SIGNATURE=sign(SECRET, body),
    )
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.content
    return WebhookEvent.objects.get(event_id=f"evt_{n}")


@pytest.fixture
def queued(monkeypatch):
    """Records the tasks the code queues instead of running them (as with no qcluster up)."""
    calls = []
    monkeypatch.setattr(queue, "async_task", lambda func, *a, **kw: calls.append(f"{func.__module__}.{func.__name__}"))
    return calls


class Platform:
    """Stands in for the platform client: records every send (fan id, idempotency key)."""

    def __init__(self):
        self.sent = []

    def send_message(self, fan_id, text, media_ids=(), price=0, *, idempotency_key):
        self.sent.append((fan_id, idempotency_key))
        return SentMessage(id=9000 + len(self.sent), created_at="")


@pytest.fixture
def platform(monkeypatch):
    p = Platform()
    monkeypatch.setattr(sender.providers, "client_for", lambda creator: p)
    return p


def age(*events, seconds=60):
    WebhookEvent.objects.filter(pk__in=[e.pk for e in events]).update(
        received_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_one_drain_task_for_many_webhooks_answers_the_fans_and_a_new_one_after_it_started(
    client, creator, queued, platform
):
    _a, _b = say(client, creator, 1), say(client, creator, 2, fan_id=43)
    assert queued == ["salesbot.tasks.drain_webhooks"]  # b found a drain waiting: no second task
    assert tasks.drain_webhooks() == 2
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}
    # the same task answered both fans, once each: no queue task hop
    assert sorted(fan for fan, _ in platform.sent) == [42, 43]
    assert set(QueueItem.objects.values_list("status", flat=True)) == {"done"}
    assert queued == ["salesbot.tasks.drain_webhooks"]
    say(client, creator, 3)  # the drain cleared the flag when it started: the next event queues one
    assert queued.count("salesbot.tasks.drain_webhooks") == 2


def test_the_drain_leaves_a_fan_another_worker_holds_to_that_worker(client, creator, queued, platform):
    """Fan 42 is leased by another worker (mid-decision): the drain answers fan 43 and leaves 42's new
    item waiting; once the holder lets go, one task answers it, once."""
    held = Fan.objects.create(creator=creator, fan_id=42, name="Sam", lease_until=timezone.now() + timedelta(minutes=1))
    say(client, creator, 1), say(client, creator, 2, fan_id=43)
    assert tasks.drain_webhooks() == 2
    assert [fan for fan, _ in platform.sent] == [43]
    item = QueueItem.objects.get(fan=held)
    assert item.status == "pending" and item.action_id is None  # nothing decided for the held fan
    queue.release_fan(held.pk)  # the other worker finishes (worker.work_one also wakes a task for the item)
    assert tasks.work_queue() == 1
    assert sorted(fan for fan, _ in platform.sent) == [42, 43]
    assert tasks.drain_webhooks() == 0 and len(platform.sent) == 2  # a late drain sends nothing twice


def test_a_drain_out_of_budget_hands_on_events_and_fans(client, creator, queued, platform, monkeypatch):
    say(client, creator, 1), say(client, creator, 2, fan_id=43)
    queued.clear()
    monkeypatch.setattr(queue, "task_budget_s", lambda: 0.0)
    assert tasks.drain_webhooks() == 1  # the first event is always processed
    assert queued == ["salesbot.tasks.drain_webhooks", "salesbot.tasks.work_queue"]  # successors for both
    assert platform.sent == [] and QueueItem.objects.get().status == "pending"
    monkeypatch.undo()
    monkeypatch.setattr(sender.providers, "client_for", lambda creator: platform)
    monkeypatch.setattr(queue, "async_task", lambda func, *a, **kw: None)
    assert tasks.drain_webhooks() == 1
    assert sorted(fan for fan, _ in platform.sent) == [42, 43]


def test_event_whose_enqueue_failed_is_processed_by_the_sweeper(client, creator, monkeypatch):
    def broker_down(*a, **kw):
        raise ConnectionError("broker down")

    monkeypatch.setattr(queue, "async_task", broker_down)
    event = say(client, creator, 1)  # stored and acknowledged all the same
    assert event.status == "received" and not IntakeDrain.objects.get().queued  # the next webhook retries
    assert checkers.drain_stuck_events() == 0  # too fresh: its drain may still come
    age(event)
    assert tasks.sweeper()["events_processed"] == 1
    event.refresh_from_db()
    assert event.status == "processed" and event.attempts == 1
    assert Outcome.objects.filter(fan__fan_id=42, event="replied").count() == 1


def test_event_whose_enqueue_was_skipped_is_processed_by_the_sweeper(client, creator, queued):
    """The flag says a drain is waiting, but that task was lost (a broker restart, a killed cluster): a
    webhook within seconds of the flag queues nothing; the sweeper processes the event and clears the
    stale flag (a webhook after seconds takes the flag over itself: tests/reliability/test_issue21_recovery)."""
    IntakeDrain.objects.create(pk=1, queued=True, changed_at=timezone.now() - timedelta(seconds=2))
    event = say(client, creator, 1)
    assert queued == []
    IntakeDrain.objects.filter(pk=1).update(changed_at=timezone.now() - timedelta(minutes=5))
    age(event)
    assert tasks.sweeper()["events_processed"] == 1
    event.refresh_from_db()
    assert event.status == "processed"
    assert not IntakeDrain.objects.get().queued
    say(client, creator, 2)
    assert queued == ["salesbot.tasks.drain_webhooks"]  # webhooks queue drains again


def test_sweeper_runs_every_event_once_even_if_the_drain_comes_too(client, creator, queued):
    events = [say(client, creator, n, fan_id=40 + n) for n in range(3)]
    age(*events)
    assert checkers.drain_stuck_events() == 3
    assert tasks.drain_webhooks() == 0  # the late drain finds nothing left
    assert Outcome.objects.filter(event="replied").count() == 3
    assert Fan.objects.filter(messages_received=1).count() == 3


def test_a_crashing_event_does_not_block_the_others_and_stops_after_max_attempts(client, creator, queued, monkeypatch):
    bad, good = say(client, creator, 1, fan_id=7), say(client, creator, 2, fan_id=8)
    real = intake.HANDLERS[FanMessage]

    def crash_for_fan_7(creator, inbound):
        if inbound.event.fan.id == 7:
            raise RuntimeError("boom")
        return real(creator, inbound)

    monkeypatch.setitem(intake.HANDLERS, FanMessage, crash_for_fan_7)
    assert intake.drain() == 1
    bad.refresh_from_db()
    good.refresh_from_db()
    assert good.status == "processed"
    assert (bad.status, bad.attempts) == ("received", 1) and "boom" in bad.error
    for _ in range(intake.MAX_ATTEMPTS + 2):
        intake.drain()
    bad.refresh_from_db()
    assert bad.attempts == intake.MAX_ATTEMPTS
    # out of attempts: shown to staff as failed (admin, /stats), with the last error, not left "received"
    assert bad.status == "failed" and bad.error.startswith(f"gave up after {intake.MAX_ATTEMPTS} attempts")
    assert "boom" in bad.error
    assert not Fan.objects.filter(fan_id=7, messages_received__gt=0).exists()  # each crash rolled back

    monkeypatch.setitem(intake.HANDLERS, FanMessage, real)  # the bug is fixed; staff replay it
    queue.replay(bad)
    assert queued[-1] == "salesbot.tasks.drain_webhooks"  # replay = reset + the one drain path
    tasks.drain_webhooks()  # what the queued task runs
    bad.refresh_from_db()
    assert (bad.status, bad.attempts) == ("processed", 1)
    assert Fan.objects.filter(fan_id=7, messages_received=1).exists()


def test_drain_stops_at_its_time_budget_and_queues_a_successor(client, creator, queued):
    say(client, creator, 1)
    say(client, creator, 2)
    queued.clear()
    assert intake.drain(seconds=0) == 1
    assert queued == ["salesbot.tasks.drain_webhooks"]
    assert WebhookEvent.objects.filter(status="received").count() == 1
