"""The sdk-check mismatches that need the whole loop live (../shared/providers/onlyfansapi-sdk-check.md): the
fake platform as its own process speaking the provider's SDK shapes, signed webhooks into a live Django
server (django-q2 in sync mode), the webhook registered through setup.register_webhook. A slow send and its
echo race; a dead session pauses sends; a typing fan delays the reply."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from fans.models import Fan, Message
from learning.models import Action
from salesbot.models import QueueItem
from tests.fake_processes import wait_until
from tests.salesbot.test_live_loop_onlyfansapi import fan_says, sent_to, start

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def loop(live_server, start_fake_platform, monkeypatch, settings):
    return start(live_server, start_fake_platform, monkeypatch, settings)


def test_timeout_a_slow_send_is_retried_gets_409_and_ends_as_one_sent_action_credited_to_the_bot(loop, settings):
    """§4 Timeout / §5 409 / §5 request_outcome: the send takes longer than the timeout; the retry with the
    same key meets the first request still running (409); the message went out once, its echo is ours."""
    creator, fake = loop
    settings.PLATFORM_TIMEOUT_S = 1.0
    fake.fake("POST", "fail", json={"delay": 2.5})  # the provider is slow, then sends
    fan_says(fake, 801, "hey there, you around?", 1)
    [msg] = wait_until(lambda: sent_to(fake, 801), timeout=15)
    assert fake.fake("GET", "stats")["conflicts"] >= 1  # a retry did meet the running first request
    action = wait_until(lambda: Action.objects.filter(fan__fan_id=801, status="sent").first(), timeout=15)
    assert action.platform_message_id == msg["id"] and action.source in ("rules", "llm")
    assert "outcome_unknown" not in action.extra
    assert wait_until(lambda: Action.objects.get(pk=action.pk).extra.get("echo_event_id"), timeout=10)
    fan = Fan.objects.get(fan_id=801)
    assert fan.human_hold_until is None  # the echo is never a human's
    assert list(Action.objects.filter(fan=fan).values_list("status", flat=True)) == ["sent"]
    assert not Message.objects.filter(fan=fan, by_human=True).exists()
    assert Message.objects.filter(fan=fan, direction="out").count() == 1
    assert len(sent_to(fake, 801)) == 1


def test_account_session_expired_pauses_sends_and_reconnected_resumes_them_with_nothing_lost(loop):
    """§3 accounts.*: while the session is dead every send would fail; the fan's reply waits, queued."""
    creator, fake = loop
    fake.fake("POST", "account", json={"state": "session_expired"})
    creator.refresh_from_db()
    assert creator.account_health == "session_expired" and creator.account_health_since is not None
    fan_says(fake, 802, "hiii", 2)
    assert sent_to(fake, 802) == []
    item = QueueItem.objects.get(fan__fan_id=802)
    assert item.status == "pending" and item.result.startswith("waiting: account session expired")
    assert item.not_before > timezone.now() + timedelta(minutes=4)
    assert not Action.objects.filter(fan__fan_id=802, status="failed").exists()
    fake.fake("POST", "account", json={"state": "ok"})  # accounts.reconnected
    creator.refresh_from_db()
    assert creator.account_health == "ok"
    [msg] = wait_until(lambda: sent_to(fake, 802), timeout=10)
    item.refresh_from_db()
    assert item.status == "done" and item.action.status == "sent" and item.action.platform_message_id == msg["id"]


def test_account_otp_code_required_and_authentication_failed_also_pause(loop):
    creator, fake = loop
    for state in ("otp_code_required", "authentication_failed"):
        fake.fake("POST", "account", json={"state": state})
        creator.refresh_from_db()
        assert creator.account_health == state


def test_users_typing_delays_the_queued_reply_until_the_fan_stops(loop):
    """§3 users.typing: the reply waits while the fan types (bounded), instead of answering half a thought."""
    creator, fake = loop
    fan_says(fake, 803, "hey", 3)  # the fan exists, the bot answered
    assert len(sent_to(fake, 803)) == 1
    fake.fake("POST", "presence", json={"fan_id": 803, "kind": "typing"})
    assert Fan.objects.get(fan_id=803).typing_until > timezone.now()
    began = timezone.now()
    fan_says(fake, 803, "so i was thinking", 4)
    # answered later (maybe by another delivery's drain): wait for it, then read when it went out
    answers = wait_until(lambda: sent_to(fake, 803)[1:], timeout=15)
    assert len(answers) == 1, list(QueueItem.objects.filter(fan__fan_id=803).values_list("status", "result"))
    took = (datetime.fromisoformat(answers[0]["createdAt"].replace("Z", "+00:00")) - began).total_seconds()
    assert 2.5 <= took <= 10.5, took  # held ~4 s after the typing, never past 10 s


def test_users_online_offline_are_kept_on_the_fan(loop):
    creator, fake = loop
    fan_says(fake, 804, "hey", 5)
    fake.fake("POST", "presence", json={"fan_id": 804, "kind": "online"})
    fan = Fan.objects.get(fan_id=804)
    assert fan.online is True and fan.online_changed_at is not None
    fake.fake("POST", "presence", json={"fan_id": 804, "kind": "offline"})
    assert Fan.objects.get(fan_id=804).online is False
