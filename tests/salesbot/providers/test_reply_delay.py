"""The creator's chosen reply delay is a schedule, never a worker waiting: the fan's item is due at the drawn
delay less the typing lead, the worker decides then, shows the provider's typing indicator and puts the send
in the queue for the lead's end; the send then goes once, with the decision's own idempotency key."""

from datetime import timedelta

from django.utils import timezone

from learning.models import Action
from salesbot.models import QueueItem
from salesbot.pipeline import pacing, worker
from tests.factories import FanFactory
from tests.salesbot.unit.helpers import Chat


def due_now(fan):
    QueueItem.objects.filter(fan=fan, status="pending").update(not_before=timezone.now())


def test_a_delayed_reply_is_scheduled_decided_then_sent_once(db, demo, monkeypatch):
    demo.reply_delay_min_s, demo.reply_delay_max_s = 8, 20
    demo.save()
    chat = Chat(demo, monkeypatch).subscribe()  # the welcome is not a reply: at once
    assert len(chat.sent) == 1
    before = timezone.now()
    assert chat.says("how are you?") == []  # nothing yet, and no worker waited for it
    item = QueueItem.objects.get(fan=chat.fan, status="pending")
    lead = timedelta(seconds=pacing.TYPING_LEAD_S)
    assert before + timedelta(seconds=8) - lead <= item.not_before <= timezone.now() + timedelta(seconds=20) - lead
    assert item.action_id is None  # decided at its time, on the fan's latest state

    due_now(chat.fan)
    worker.drain(demo)  # decides, shows typing, schedules the send
    item.refresh_from_db()
    assert item.status == "pending" and item.action_id and item.result.startswith("typing: sends at")
    assert timezone.now() < item.not_before <= timezone.now() + lead
    assert len(chat.sent) == 1 and Action.objects.get(pk=item.action_id).status == "pending"
    key = Action.objects.get(pk=item.action_id).uuid

    due_now(chat.fan)
    worker.drain(demo)
    assert len(chat.sent) == 2  # one send for the one decision
    item.refresh_from_db()
    action = Action.objects.get(pk=item.action_id)
    assert item.status == "done" and action.status == "sent" and action.uuid == key
    assert Action.objects.filter(fan=chat.fan, source__in=["rules", "llm"]).count() == 2


def test_no_delay_by_default(db, demo, monkeypatch):
    assert (demo.reply_delay_min_s, demo.reply_delay_max_s) == (0, 0) and pacing.decide_at(demo) is None
    chat = Chat(demo, monkeypatch).subscribe()
    assert len(chat.says("how are you?")) == 1


def test_the_typing_indicator_is_shown_through_the_provider(creator, fake):
    fan = FanFactory(creator=creator, fan_id=5150)
    at = pacing.typing_then_send_at(creator, fan)
    assert fake.fake("GET", "typing")["fans"] == [5150]
    assert at > timezone.now()
