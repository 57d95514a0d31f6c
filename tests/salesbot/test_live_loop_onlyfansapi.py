"""The live loop in OnlyFansAPI.com's format: the fake platform runs as its own process with
`--dialect onlyfansapi`, the webhook is registered through the provider client, signed webhooks come
into /api/providers/onlyfansapi/webhook of a live Django server (django-q2 in sync mode)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.conf import Conf

from fans.models import Fan, Message
from learning.models import Action, Outcome
from models_registry.services import onboard_from_files
from salesbot.models import QueueItem
from salesbot.pipeline.contact import contact_block
from salesbot.providers.onlyfansapi import setup
from tests.fake_processes import ACCOUNT, API_KEY, SECRET, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def start(live_server, start_fake_platform, monkeypatch, settings, *args):
    monkeypatch.setattr(Conf, "SYNC", True)
    settings.PLATFORM_BACKOFF_S = 0.05
    fake = start_fake_platform("--dialect", "onlyfansapi", "--webhook-backoff", "0.2", *args)
    creator = onboard_from_files(
        "demo/content-map.json",
        "demo/playbook.md",
        slug="demo",
        account_id=ACCOUNT,
        provider="onlyfansapi",
        api_base_url=f"{fake.url}/api",
        api_key=API_KEY,
        webhook_secret=SECRET,
    )
    done = setup.register_webhook(creator, live_server.url)
    assert done.answer["id"]
    creator.refresh_from_db()
    return creator, fake


@pytest.fixture
def loop(live_server, start_fake_platform, monkeypatch, settings):
    return start(live_server, start_fake_platform, monkeypatch, settings)


def fan_says(fake, fan_id, text, msg_id):
    payload = {
        "id": msg_id,
        "text": f"<p>{text}</p>",
        "createdAt": timezone.now().isoformat(),
        "price": 0,
        "isFree": True,
        "isTip": False,
        "mediaCount": 0,
        "media": [],
        "fromUser": {"id": fan_id, "name": "Sam", "username": "sam"},
    }
    out = fake.fake("POST", "webhook", json={"event": "messages.received", "payload": payload})
    assert out["status"] == 200, out


def sent_to(fake, fan_id):
    return [m for m in fake.fake("GET", "messages")["messages"] if m["fan_id"] == fan_id]


def test_fan_message_gets_one_html_send_and_its_echo_adds_nothing(loop):
    creator, fake = loop
    fan_says(fake, 601, "hey &amp; hello", 1)
    [msg] = sent_to(fake, 601)
    action = Action.objects.get(fan__fan_id=601)
    assert action.status == "sent" and action.platform_message_id == msg["id"]
    assert Message.objects.get(fan__fan_id=601, direction="in").text == "hey & hello"
    assert wait_until(lambda: Action.objects.get(pk=action.pk).extra.get("echo_event_id"), timeout=10)
    fan = Fan.objects.get(fan_id=601)
    assert fan.human_hold_until is None and fan.messages_sent == 1
    assert Message.objects.filter(fan=fan, direction="out").count() == 1


def test_human_in_the_platform_ui_silences_the_bot_for_the_quiet_period(loop):
    creator, fake = loop
    fan_says(fake, 602, "hi", 2)
    assert wait_until(lambda: len(sent_to(fake, 602)) == 1, timeout=10)
    fake.fake("POST", "human", json={"fan_id": 602, "text": "hey, it's me for real"})
    fan = wait_until(lambda: Fan.objects.filter(fan_id=602, human_hold_until__isnull=False).first(), timeout=10)
    assert fan.human_hold_until > timezone.now() + timedelta(minutes=29)
    assert Message.objects.get(fan=fan, by_human=True).text == "hey, it's me for real"
    fan_says(fake, 602, "omg hi!! so what are you up to", 3)
    assert len(sent_to(fake, 602)) == 1  # the bot held off
    waiting = QueueItem.objects.get(fan=fan, status="pending")  # queued for the hold's end, not dropped
    assert waiting.not_before == Fan.objects.get(pk=fan.pk).human_hold_until
    assert contact_block(creator, fan).startswith("held by a human until")
    Fan.objects.filter(pk=fan.pk).update(human_hold_until=timezone.now() - timedelta(seconds=1))  # 30 min later
    fan_says(fake, 602, "you still there?", 4)
    # the bot resumed: one answer to both messages (the drain may still be on it when the webhook is acknowledged)
    assert wait_until(lambda: len(sent_to(fake, 602)) >= 2, timeout=10)
    assert len(sent_to(fake, 602)) == 2
    assert QueueItem.objects.filter(fan=fan).count() == 2


def test_ppv_unlock_in_provider_format_is_attributed_and_booked(loop):
    creator, fake = loop
    Fan.objects.create(creator=creator, fan_id=603, name="Ann", state="engaged", messages_received=5)
    fan_says(fake, 603, "how much for more?", 5)
    [ppv] = sent_to(fake, 603)
    assert ppv["price"] > 0 and ppv["mediaFiles"]
    link = f'<a href="https://onlyfans.com/my/chats/chat/603?firstId={ppv["id"]}">msg</a>'
    fake.fake(
        "POST",
        "webhook",
        json={
            "event": "messages.ppv.unlocked",
            "payload": {
                "user_id": "1",
                "user": {"id": "603", "name": "Ann"},
                "createdAt": timezone.now().isoformat(),
                "replacePairs": {"{AMOUNT}": f"${ppv['price']:.2f}", "{MESSAGE_LINK}": link},
            },
        },
    )
    action = Action.objects.get(fan__fan_id=603, action="ppv")
    assert action.purchased and Outcome.objects.get(fan__fan_id=603, event="purchased").action == action
    assert float(Fan.objects.get(fan_id=603).total_spent) == ppv["price"]


def test_used_up_rate_limit_defers_sends_instead_of_hitting_429(
    live_server, start_fake_platform, monkeypatch, settings
):
    creator, fake = start(live_server, start_fake_platform, monkeypatch, settings, "--rate-limit", "1")
    fan_says(fake, 604, "hi", 6)
    assert len(sent_to(fake, 604)) == 1
    creator.refresh_from_db()
    assert creator.api_paused_until > timezone.now() + timedelta(seconds=50)
    fan_says(fake, 605, "hello", 7)
    assert sent_to(fake, 605) == []
    # the drain that took 605's item may still hold it when the webhook is acknowledged (a loaded machine)
    item = wait_until(lambda: QueueItem.objects.filter(fan__fan_id=605, status="pending").first(), timeout=10)
    assert item is not None and "rate limit" in item.result
    assert item.not_before > timezone.now() + timedelta(seconds=50)
    assert fake.fake("GET", "stats")["rate_limited"] == 0  # never ran into the provider's 429
