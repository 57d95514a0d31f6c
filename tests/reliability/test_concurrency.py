"""Concurrency over real HTTP and real processes: a webhook delivered 50 times at once is one event and
one action; two messages of one fan are handled one after the other (PostgreSQL)."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection
from django.test import Client

from fans.models import Fan, Message
from models_registry.services import onboard_from_files
from salesbot.models import QueueItem, WebhookEvent
from salesbot.pipeline import intake, sender, worker
from salesbot.providers.simple import sign
from tests.fake_processes import ACCOUNT, API_KEY, SECRET
from tests.reliability.system import ACCOUNT as SYS_ACCOUNT
from tests.reliability.system import SECRET as SYS_SECRET
from tests.reliability.system import System, wait_until

pytestmark = pytest.mark.integration


def test_same_webhook_50_times_concurrently_is_one_event_and_one_action(tmp_path):
    with System(tmp_path) as s:
        body = json.dumps(
            {
                "event_id": "evt_storm",
                "event": "messages.received",
                "account_id": SYS_ACCOUNT,
                "created_at": "2026-11-24T18:00:00Z",
                "payload": {"fan": {"id": 31337, "name": "Lee"}, "message": {"id": 1, "text": "hey you"}},
            }
        ).encode()
        headers = {"Content-Type": "application/json", "X-Signature": sign(SYS_SECRET, body)}
        start = threading.Barrier(50)

        def post(_):
            start.wait()
            return requests.post(f"{s.url}/api/demo/webhook/of-event", data=body, headers=headers, timeout=30)

        with ThreadPoolExecutor(50) as pool:
            replies = list(pool.map(post, range(50)))
        assert [r.status_code for r in replies] == [200] * 50, s.output()
        statuses = sorted(r.json()["status"] for r in replies)
        assert statuses == ["accepted"] + ["duplicate"] * 49

        assert wait_until(lambda: s.sent_to(31337)), s.output()
        assert wait_until(
            lambda: s.sql("select count(*) from salesbot_queueitem where status not in ('done', 'failed')") == [(0,)]
        )
        wait_until(lambda: False, timeout=1.5)  # anything extra would show up now
        assert len(s.sent_to(31337)) == 1
        assert s.sql("select count(*) from salesbot_webhookevent where event_id = 'evt_storm'") == [(1,)]
        assert s.sql(
            "select count(*), sum(status = 'sent') from learning_action a join fans_fan f "
            "on a.fan_id = f.id where f.fan_id = 31337"
        ) == [(1, 1)]
        assert s.sql(
            "select count(*) from fans_message m join fans_fan f on m.fan_id = f.id "
            "where f.fan_id = 31337 and direction = 'in'"
        ) == [(1,)]
        assert s.sql("select messages_received from fans_fan where fan_id = 31337") == [(1,)]


@pytest.mark.django_db(transaction=True)
def test_two_messages_of_one_fan_are_handled_one_after_the_other(postgres_only, fake_platform, monkeypatch):
    """Thread A answers message 1 through a slow platform; message 2 arrives meanwhile on thread B,
    whose worker must wait for A's lease: the two sends never overlap and both get answered."""
    creator = onboard_from_files(
        "demo/content-map.json",
        "demo/playbook.md",
        slug="demo",
        account_id=ACCOUNT,
        api_base_url=fake_platform.url,
        api_key=API_KEY,
        webhook_secret=SECRET,
    )
    Fan.objects.create(creator=creator, fan_id=900, name="Ann", state="engaged", messages_received=3)
    fake_platform.fake("POST", "fail", json={"delay": 1.5, "times": 1})  # the first send stalls
    intervals, lock, a_sending = [], threading.Lock(), threading.Event()
    real_deliver = sender.deliver

    def timed_deliver(action, *a, **kw):
        with lock:
            intervals.append(["start", action.pk])
        a_sending.set()
        try:
            return real_deliver(action, *a, **kw)
        finally:
            with lock:
                intervals.append(["end", action.pk])

    monkeypatch.setattr(sender, "deliver", timed_deliver)
    claims: dict[str, list] = {"A": [], "B": []}

    def fan_writes(name, msg_id, text):
        try:
            body = json.dumps(
                {
                    "event_id": f"evt_{msg_id}",
                    "event": "messages.received",
                    "account_id": ACCOUNT,
                    "created_at": "2026-11-24T18:00:00Z",
                    "payload": {"fan": {"id": 900}, "message": {"id": msg_id, "text": text}},
                }
            ).encode()
            r = Client().post(
                "/api/demo/webhook/of-event",
                data=body,
                content_type="application/json",
                HTTP_X_SIGNATURE=sign(SECRET, body),
            )
            assert r.json()["status"] == "accepted"
            intake.process_event(WebhookEvent.objects.get(event_id=f"evt_{msg_id}"))
            for _ in range(100):  # a worker polling until this fan has nothing left to do
                item = worker.work_one(creator)
                claims[name].append(item.pk if item else None)
                if not QueueItem.objects.filter(fan__fan_id=900, status__in=["pending", "working"]).exists():
                    return
                threading.Event().wait(0.05)
        finally:
            connection.close()

    a = threading.Thread(target=fan_writes, args=("A", 1, "hey there"))
    a.start()
    assert a_sending.wait(10), "thread A never reached the platform"
    b = threading.Thread(target=fan_writes, args=("B", 2, "are you there?"))
    b.start()
    a.join(30)
    b.join(30)
    assert [e[0] for e in intervals] == ["start", "end", "start", "end"], intervals  # never overlapping
    assert None in claims["B"], "B never found the fan busy: the test did not exercise the lease"
    fan = Fan.objects.get(fan_id=900)
    assert fan.messages_received == 5
    assert Message.objects.filter(fan=fan, direction="in").count() == 2
    assert set(QueueItem.objects.filter(fan=fan).values_list("status", flat=True)) == {"done"}
    assert len([m for m in fake_platform.fake("GET", "messages")["messages"] if m["fan_id"] == 900]) == 2
