"""The queue's promises under a slow platform, a dead worker and lying clocks: tasks end inside their
budget, one fan gets one decision on its latest state, and a message's bad clock never rules its fan."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.utils import timezone

from fans.models import Message
from learning.models import Action
from salesbot.models import QueueItem
from salesbot.pipeline import intake, queue, worker
from tests.factories import FanFactory
from tests.salesbot.unit.helpers import message_payload, store_event


@pytest.fixture
def platform(fake_platform, demo):
    type(demo).objects.filter(pk=demo.pk).update(
        api_base_url=fake_platform.url, api_key=fake_platform.api_key, account_id="acct_demo"
    )
    demo.refresh_from_db()
    return fake_platform


def test_a_stalling_platform_defers_the_item_instead_of_holding_the_task(demo, platform, settings):
    """Platform stalls 3 s per call, client timeout 0.5 s: the send fails fast, the item waits for its
    retry (nothing sent twice), and the draining task returns at once."""
    settings.PLATFORM_TIMEOUT_S, settings.PLATFORM_BACKOFF_S = 0.5, 30
    platform.fake("POST", "fail", json={"delay": 3, "times": 1})
    fan = FanFactory(creator=demo, fan_id=7001, state="engaged", messages_received=1)
    item = queue.enqueue(fan, "message")
    started = time.monotonic()
    worker.drain(demo, seconds=5)
    assert time.monotonic() - started < 2.5
    item.refresh_from_db()
    assert item.status == "pending" and item.not_before > timezone.now() + timedelta(seconds=20)
    assert item.result.startswith("retrying:") and "Timeout" in item.result
    action = Action.objects.get(fan=fan)
    assert action.status == "pending"  # decided once; the retry resends this very Action
    QueueItem.objects.filter(pk=item.pk).update(not_before=timezone.now())
    worker.drain(demo)
    action.refresh_from_db()
    assert action.status == "sent" and Action.objects.filter(fan=fan).count() == 1


def test_drain_stops_at_its_budget_and_wakes_a_successor(demo, monkeypatch, settings):
    woken = []
    monkeypatch.setattr(queue, "wake_worker", lambda n=1: woken.append(n))
    monkeypatch.setattr(worker, "handle", lambda item: "handled")
    for i in range(3):
        queue.enqueue(FanFactory(creator=demo, fan_id=7100 + i), "message")
    assert worker.drain(demo, seconds=0) == 1  # the first item is always worked
    assert woken == [1] and QueueItem.objects.filter(status="pending").count() == 2


def test_task_budget_leaves_room_for_the_worst_item():
    assert queue.task_budget_s() > 0 and queue.task_budget_s() + queue.item_worst_case_s() < 120


def test_check_refuses_settings_that_let_an_item_outlive_its_task(settings):
    settings.LLM_TIMEOUT_S, settings.LLM_MAX_RETRIES = 60, 2
    with pytest.raises(SystemCheckError, match="salesbot.E002"):
        call_command("check")


def test_after_a_worker_crash_the_fan_gets_one_decision_on_the_latest_message(demo, monkeypatch):
    """An item abandoned before any decision and a newer pending item for the same fan: recovery
    decides once (the abandoned item is closed as superseded), not twice in the same instant."""
    sent = []
    monkeypatch.setattr("salesbot.pipeline.sender.deliver", lambda action, client=None: sent.append(action))
    fan = FanFactory(creator=demo, fan_id=7200, state="engaged", messages_received=2)
    abandoned = queue.enqueue(fan, "message")
    QueueItem.objects.filter(pk=abandoned.pk).update(status="working", claimed_at=timezone.now() - timedelta(hours=1))
    newer = queue.enqueue(fan, "message")
    assert newer.pk != abandoned.pk
    worker.drain(demo)
    abandoned.refresh_from_db()
    newer.refresh_from_db()
    assert abandoned.status == "done" and abandoned.result.startswith("superseded")
    assert newer.status == "done" and newer.action_id is not None
    assert Action.objects.filter(fan=fan).count() == 1 and len(sent) == 1


def test_a_message_from_the_far_future_is_booked_at_its_arrival(demo, monkeypatch):
    monkeypatch.setattr("salesbot.pipeline.sender.deliver", lambda action, client=None: action)
    fan = FanFactory(creator=demo, fan_id=7300, state="engaged", messages_received=6)
    future = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    intake.process_event(store_event(demo, "messages.received", message_payload(7300, "hi", 1, at=future)))
    odd = Message.objects.get(fan=fan, platform_message_id=1)
    assert odd.claimed_ts == future and abs((odd.ts - timezone.now()).total_seconds()) < 60
    fan.refresh_from_db()
    assert fan.last_interaction_ts < timezone.now() + timedelta(minutes=1)
    # the next real message is the fan's latest: "how much?" gets a PPV, and response times stay sane
    QueueItem.objects.all().delete()
    intake.process_event(store_event(demo, "messages.received", message_payload(7300, "how much?", 2)))
    item = QueueItem.objects.get(fan=fan, status="pending")
    queue.claim_next(demo)
    item.refresh_from_db()
    worker.handle(item)
    action = Action.objects.get(fan=fan)
    assert action.action == "ppv" and 0 <= action.response_time_s < 60


def test_a_late_delivery_within_a_week_keeps_its_own_time(demo):
    fan = FanFactory(creator=demo, fan_id=7400, state="engaged")
    earlier = timezone.now().replace(microsecond=0) - timedelta(hours=3)
    intake.process_event(store_event(demo, "messages.received", message_payload(7400, "hey", 1, at=earlier)))
    msg = Message.objects.get(fan=fan)
    assert msg.ts == earlier and msg.claimed_ts is None
