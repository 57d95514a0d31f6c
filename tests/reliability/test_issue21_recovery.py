"""Issue 21, recover in seconds: a dead worker's fan and a lost drain task are taken over at once, and a
deferred retry is woken at its time (not at the sweeper's minute or the lease's 180 s)."""

import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from salesbot.models import IntakeDrain, QueueItem
from salesbot.pipeline import checkers, queue, recovery
from tests.factories import FanFactory
from tests.reliability.system import System, wait_until
from tests.salesbot.unit.helpers import message_payload, store_event


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@pytest.fixture
def woken(monkeypatch):
    calls = {"worker": 0, "drain": 0}
    monkeypatch.setattr(
        queue,
        "async_task",
        lambda func, *a, **k: calls.__setitem__(
            "drain" if func.__name__ == "drain_webhooks" else "worker",
            calls["drain" if func.__name__ == "drain_webhooks" else "worker"] + 1,
        ),
    )
    return calls


def test_a_dead_workers_item_is_taken_over_at_once(demo, woken):
    fan = FanFactory(creator=demo, fan_id=21500, state="engaged")
    item = queue.enqueue(fan, "message")
    now = timezone.now()
    dead = f"{recovery._HOST}:{_dead_pid()}:1"
    QueueItem.objects.filter(pk=item.pk).update(status="working", claimed_at=now, claimed_by=dead)
    type(fan).objects.filter(pk=fan.pk).update(lease_until=now + queue.lease())
    assert not recovery.owner_alive(dead) and recovery.owner_alive(recovery.worker_id())
    assert recovery.owner_alive(f"elsewhere:{_dead_pid()}:1")  # another host: its lease decides
    queue._last_reclaim = 0.0
    claimed = queue.claim_next(demo)
    assert claimed is not None and claimed.pk == item.pk and claimed.claimed_by == recovery.worker_id()


def test_a_live_workers_item_is_left_alone(demo, woken):
    fan = FanFactory(creator=demo, fan_id=21501, state="engaged")
    item = queue.enqueue(fan, "message")
    now = timezone.now()
    QueueItem.objects.filter(pk=item.pk).update(status="working", claimed_at=now, claimed_by=recovery.worker_id())
    type(fan).objects.filter(pk=fan.pk).update(lease_until=now + queue.lease())
    assert recovery.reclaim_dead() == 0
    queue._last_reclaim = 0.0
    assert queue.claim_next(demo) is None


def test_a_stale_drain_flag_is_taken_over_by_the_next_webhook(demo, woken):
    IntakeDrain.objects.update_or_create(
        pk=1, defaults={"queued": True, "changed_at": timezone.now() - timedelta(seconds=30)}
    )
    assert queue.wake_drain() is True and woken["drain"] == 1
    assert queue.wake_drain() is False and woken["drain"] == 1  # fresh again: one drain queued
    IntakeDrain.objects.filter(pk=1).update(changed_at=timezone.now() - timedelta(seconds=2))
    assert queue.wake_drain() is False  # a flag set 2 s ago still has its drain coming


def test_the_ticker_wakes_a_retry_at_its_time_and_events_left_waiting(demo, woken):
    fan = FanFactory(creator=demo, fan_id=21502, state="engaged")
    item = queue.enqueue(fan, "message")
    QueueItem.objects.filter(pk=item.pk).update(not_before=timezone.now() + timedelta(seconds=5))
    assert checkers.recover()["woke_worker"] is False  # not due yet
    QueueItem.objects.filter(pk=item.pk).update(not_before=timezone.now() - timedelta(seconds=0.5))
    assert checkers.recover()["woke_worker"] is True and woken["worker"] == 1
    store_event(demo, "messages.received", message_payload(21503, "hi", 1))
    from salesbot.models import WebhookEvent

    WebhookEvent.objects.update(received_at=timezone.now() - timedelta(seconds=10))
    IntakeDrain.objects.update_or_create(
        pk=1, defaults={"queued": True, "changed_at": timezone.now() - timedelta(seconds=30)}
    )
    out = checkers.recover()
    assert out["stale_flag"] and out["woke_drain"] and woken["drain"] == 1


# --- the real thing: qcluster killed -9, then started again ------------------------------------------

FAN = 4712


def _no_sweeper(s):
    """The minute sweeper is the slow path this is about: put it out of the test's way."""
    s.sql("update django_q_schedule set next_run = datetime('now', '+1 hour')")


@pytest.mark.integration
def test_after_a_cluster_kill_the_fan_in_flight_is_answered_within_seconds(tmp_path):
    with System(tmp_path, settings="tests.reliability.recovery_settings") as s:
        s.fake.fake("POST", "fail", json={"delay": 3, "times": 1})
        s.fake.fake("POST", "webhook", json={"event": "subscriptions.new", "payload": {"fan": {"id": FAN}}})
        assert wait_until(lambda: s.fake.fake("GET", "stats")["delayed"] == 1), s.output()
        s.kill_cluster()
        assert wait_until(lambda: s.sent_to(FAN), timeout=10)  # the platform has it; nobody here knows
        _no_sweeper(s)
        s.start_cluster()
        started = time.monotonic()
        done = wait_until(lambda: s.sql("select status from salesbot_queueitem where status = 'done'"), timeout=30)
        took = time.monotonic() - started
        assert done and took < 10, (took, s.output())  # not the 180 s lease nor the broker's 180 s retry
        wait_until(lambda: False, timeout=1.5)
        assert len(s.sent_to(FAN)) == 1  # resent with the same idempotency key: one message


@pytest.mark.integration
def test_a_drain_task_lost_with_the_cluster_does_not_hold_new_webhooks(tmp_path):
    with System(tmp_path, settings="tests.reliability.recovery_settings") as s:
        s.kill_cluster()
        # the flag says a drain is queued, but its task went with the killed cluster (a Redis broker pops it)
        s.sql(
            "insert or replace into salesbot_intakedrain (id, queued, changed_at) "
            "values (1, 1, datetime('now', '-30 seconds'))"
        )
        s.sql("delete from django_q_ormq")
        _no_sweeper(s)
        s.start_cluster()
        s.fake.fake(
            "POST",
            "webhook",
            json={
                "event": "messages.received",
                "payload": {"fan": {"id": FAN + 1}, "message": {"id": 1, "text": "hey"}},
            },
        )
        started = time.monotonic()
        assert wait_until(lambda: s.sent_to(FAN + 1), timeout=30), s.output()
        assert time.monotonic() - started < 10, s.output()


@pytest.mark.integration
def test_a_retry_after_5_s_is_sent_at_its_time(tmp_path):
    with System(tmp_path, settings="tests.reliability.recovery_settings") as s:
        _no_sweeper(s)
        s.fake.fake("POST", "fail", json={"status": 429, "retry_after": 5, "times": 1})
        s.fake.fake("POST", "webhook", json={"event": "subscriptions.new", "payload": {"fan": {"id": FAN + 2}}})
        assert wait_until(
            lambda: s.sql("select 1 from salesbot_queueitem where result like 'retrying:%'"), timeout=20
        ), s.output()
        refused = time.monotonic()
        assert wait_until(lambda: s.sent_to(FAN + 2), timeout=40), s.output()
        assert time.monotonic() - refused < 9, s.output()  # 5 s, plus a tick, not the sweeper's minute
