"""The live loop over real HTTP: signed webhooks into a live Django server, sends out to the fake
platform running as its own process. Processing runs through django-q2 in sync mode."""

from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from django_q.conf import Conf

from fans.models import Fan
from learning.models import Action, Outcome
from models_registry.services import onboard_from_files
from salesbot.models import QueueItem, WebhookEvent
from salesbot.pipeline import intake, queue, worker
from salesbot.providers.simple import PlatformClient
from tests.fake_processes import ACCOUNT, API_KEY, SECRET

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def loop(live_server, fake_platform, monkeypatch, settings):
    monkeypatch.setattr(Conf, "SYNC", True)
    settings.PLATFORM_BACKOFF_S = 0.05
    creator = onboard_from_files(
        "demo/content-map.json",
        "demo/playbook.md",
        slug="demo",
        account_id=ACCOUNT,
        api_base_url=fake_platform.url,
        api_key=API_KEY,
        webhook_secret=SECRET,
    )
    r = requests.post(
        f"{fake_platform.api}/webhooks",
        headers=fake_platform.auth,
        timeout=5,
        json={"url": f"{live_server.url}/api/{creator.slug}/webhook/of-event", "events": []},
    )
    r.raise_for_status()
    return creator, fake_platform


def fan_says(fake, fan_id, text, msg_id, event_id=None, name="Sam"):
    body = {
        "event": "messages.received",
        "payload": {
            "fan": {"id": fan_id, "name": name},
            "message": {"id": msg_id, "text": text, "createdAt": "2026-11-24T18:00:00Z"},
        },
    }
    if event_id:
        body["event_id"] = event_id
    out = fake.fake("POST", "webhook", json=body)
    assert out["status"] == 200, out
    return out


def sent_to(fake, fan_id):
    return [m for m in fake.fake("GET", "messages")["messages"] if m["fan_id"] == fan_id]


def test_signed_fan_message_produces_exactly_one_outbound_message(loop):
    creator, fake = loop
    fan_says(fake, 501, "hey there", msg_id=1)
    msgs = sent_to(fake, 501)
    assert len(msgs) == 1
    fan = Fan.objects.get(creator=creator, fan_id=501)
    assert fan.messages_received == 1 and fan.messages_sent == 1
    action = Action.objects.get(fan=fan)
    assert action.status == "sent" and action.platform_message_id == msgs[0]["id"]
    assert msgs[0]["idempotency_key"] == str(action.uuid)


def test_duplicate_event_produces_nothing_more(loop):
    creator, fake = loop
    fan_says(fake, 502, "hello", msg_id=2, event_id="evt_same")
    fan_says(fake, 502, "hello", msg_id=2, event_id="evt_same")
    assert len(sent_to(fake, 502)) == 1
    assert Outcome.objects.filter(fan__fan_id=502, event="replied").count() == 1


def test_purchase_webhook_is_attributed_to_its_ppv(loop):
    creator, fake = loop
    Fan.objects.create(creator=creator, fan_id=503, name="Ann", state="engaged", messages_received=5)
    fan_says(fake, 503, "how much for more?", msg_id=3)
    [ppv_msg] = sent_to(fake, 503)
    assert ppv_msg["price"] > 0 and ppv_msg["mediaFiles"]
    out = fake.fake(
        "POST",
        "webhook",
        json={
            "event": "messages.ppv.unlocked",
            "payload": {"fan": {"id": 503, "name": "Ann"}, "message_id": ppv_msg["id"], "amount": ppv_msg["price"]},
        },
    )
    assert out["status"] == 200
    ppv = Action.objects.get(fan__fan_id=503, action="ppv")
    purchase = Outcome.objects.get(fan__fan_id=503, event="purchased")
    assert purchase.action == ppv and ppv.purchased
    fan = Fan.objects.get(fan_id=503)
    assert fan.state == "buyer" and float(fan.total_spent) == ppv_msg["price"]


def test_handed_off_fan_gets_nothing(loop):
    creator, fake = loop
    Fan.objects.create(creator=creator, fan_id=504, state="handed_off", messages_received=3)
    fan_says(fake, 504, "hi again, you there?", msg_id=4)
    assert sent_to(fake, 504) == []
    assert not Action.objects.filter(fan__fan_id=504, status="sent").exists()


def test_safety_phrase_hands_off_and_nothing_is_sent(loop):
    creator, fake = loop
    fan_says(fake, 505, "can we video call tonight?", msg_id=5)
    assert sent_to(fake, 505) == []
    fan = Fan.objects.get(fan_id=505)
    assert fan.state == "handed_off" and "video call" in fan.handoff_reason


def test_platform_500s_then_recovery_yields_exactly_one_send(loop):
    creator, fake = loop
    fake.fake("POST", "fail", json={"status": 500, "times": 2})
    fan_says(fake, 506, "hey", msg_id=6)
    assert len(sent_to(fake, 506)) == 1
    assert Action.objects.get(fan__fan_id=506).status == "sent"


def test_platform_429_is_retried_after_its_delay(loop):
    creator, fake = loop
    fake.fake("POST", "fail", json={"status": 429, "times": 1, "retry_after": 0.2})
    fan_says(fake, 507, "hey", msg_id=7)
    assert len(sent_to(fake, 507)) == 1


def test_permanent_error_marks_action_failed_with_platform_message(loop):
    creator, fake = loop
    fake.fake("POST", "fail", json={"status": 400, "times": 1})
    fan_says(fake, 508, "hey", msg_id=8)
    assert sent_to(fake, 508) == []
    action = Action.objects.get(fan__fan_id=508)
    assert action.status == "failed" and "400" in action.error
    assert QueueItem.objects.get(fan__fan_id=508).status == "failed"


def test_disabled_creator_sends_nothing(loop):
    creator, fake = loop
    type(creator).objects.filter(pk=creator.pk).update(enabled=False)
    fan_says(fake, 509, "hey", msg_id=9)
    assert sent_to(fake, 509) == []
    # The contact rule stops it before any decision: no Action, no model call, nothing queued for the fan.
    assert not Action.objects.filter(fan__fan_id=509).exists()
    assert not QueueItem.objects.filter(fan__fan_id=509, status="pending").exists()


def test_worker_dying_after_the_send_does_not_send_twice(loop, monkeypatch):
    """The platform accepted the send but the worker died before booking it: the retry resends
    the same Action (same Idempotency-Key) and the fan still has exactly one message."""
    creator, fake = loop
    monkeypatch.setattr(Conf, "SYNC", False)  # keep the queue item for us to work by hand
    fan_says(fake, 510, "hey", msg_id=10)
    intake.process_event(WebhookEvent.objects.get(creator=creator, status="received"))
    item = queue.claim_next(creator)
    real_deliver = worker.sender.deliver

    def die_after_send(action, client=None):
        PlatformClient(action.creator).send_message(
            action.fan.fan_id, action.message_text, [], 0, idempotency_key=action.uuid
        )
        raise SystemExit("worker killed")

    monkeypatch.setattr(worker.sender, "deliver", die_after_send)
    with pytest.raises(SystemExit):
        worker.handle(item)
    monkeypatch.setattr(worker.sender, "deliver", real_deliver)
    # The lease and claim expire; the next worker takes the item again.
    QueueItem.objects.filter(pk=item.pk).update(claimed_at=timezone.now() - timedelta(minutes=5))
    Fan.objects.filter(fan_id=510).update(lease_until=None)
    assert worker.work_one(creator) is not None
    assert len(sent_to(fake, 510)) == 1
    assert Action.objects.filter(fan__fan_id=510).count() == 1
    assert Action.objects.get(fan__fan_id=510).status == "sent"


def test_flagged_fan_parked_dormant_gets_no_rekindle_and_no_reply_until_resumed(loop):
    """Safety flag over real HTTP: 'i’m 16' (curly apostrophe) → handoff; staff mark dormant; the
    reactivation checker and a queued rekindle send nothing; the fan writes again and gets nothing;
    nobody resumes the fan until a manager clears the flag with a reason; then a resume gives it back to the bot."""
    from fans import staff
    from fans.services import clear_safety_flag
    from salesbot.pipeline import checkers
    from salesbot.pipeline.queue import enqueue
    from tests.team_helpers import manager

    creator, fake = loop
    Fan.objects.create(creator=creator, fan_id=511, name="Kid", state="buyer", messages_received=4, total_spent=60)
    fan_says(fake, 511, "i\u2019m only 16 btw", msg_id=11)
    fan = Fan.objects.get(fan_id=511)
    assert (fan.state, fan.safety_flag) == ("handed_off", True)
    assert staff.staff_mark_dormant(fan, "ops") is True
    assert checkers.enqueue_reactivation(creator) == 0
    item = enqueue(fan, QueueItem.Reason.REKINDLE)  # queued anyway: the worker's contact check closes it
    worker.drain(creator)
    item.refresh_from_db()
    assert item.result == "blocked: fan has a safety flag: only a manager clears it"
    assert not Action.objects.filter(fan=fan, action="rekindle").exists()
    fan_says(fake, 511, "hey, you there?", msg_id=12)
    assert sent_to(fake, 511) == []
    fan.refresh_from_db()
    assert (fan.state, fan.safety_flag) == ("handed_off", True)
    assert not Action.objects.filter(fan=fan, status="sent").exists()
    assert staff.staff_resume(fan, "alice") is False
    clear_safety_flag(fan, manager("boss"), "the platform confirmed the fan's age: 22")
    assert staff.staff_resume(fan, "alice") is True
    fan_says(fake, 511, "so what's new", msg_id=13)
    assert len(sent_to(fake, 511)) == 1
