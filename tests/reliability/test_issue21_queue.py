"""Issue 21: a fan's message that arrives while their send waits for a retry is answered (never merged into
the old answer and lost)."""

from datetime import timedelta

from django.utils import timezone

from fans.models import Message
from learning.models import Action
from salesbot.models import QueueItem
from salesbot.pipeline import queue, sender, worker
from salesbot.providers.base import TransientError
from tests.factories import FanFactory


def _flaky_sender(monkeypatch, fail_times: int):
    sent, calls = [], {"n": 0}

    def deliver(action, client=None):
        calls["n"] += 1
        if calls["n"] <= fail_times:
            e = TransientError("platform stalled")
            e.retry_after = 30
            raise e
        action.status = Action.Status.SENT
        Action.objects.filter(pk=action.pk).update(status="sent")
        sent.append(action)
        return action

    monkeypatch.setattr(sender, "deliver", deliver)
    return sent


def _write(fan, text):
    Message.objects.create(fan=fan, direction="in", text=text)
    return queue.enqueue(fan, QueueItem.Reason.MESSAGE)


def _due_now():
    QueueItem.objects.filter(status="pending").update(not_before=timezone.now() - timedelta(seconds=1))


def test_a_message_during_a_send_retry_gets_its_own_answer(demo, monkeypatch):
    sent = _flaky_sender(monkeypatch, fail_times=1)
    fan = FanFactory(creator=demo, fan_id=21001, state="engaged", messages_received=1)
    first = _write(fan, "hey there")
    worker.drain(demo)
    first.refresh_from_db()
    assert first.status == "pending" and first.action_id is not None  # waiting for its retry
    merged = _write(fan, "are you there??")  # the fan writes again meanwhile
    assert merged.pk == first.pk
    _due_now()
    worker.drain(demo)
    first.refresh_from_db()
    assert first.status == "done"
    # The old answer went out, and the new message got a decision of its own.
    assert len(sent) == 2, [a.message_text for a in sent]
    assert Action.objects.filter(fan=fan).count() == 2
    assert not QueueItem.objects.filter(fan=fan, status__in=["pending", "working"]).exists()


def test_a_retry_that_gives_up_still_answers_the_newer_message(demo, monkeypatch, settings):
    settings.SEND_MAX_ATTEMPTS = 1
    sent = _flaky_sender(monkeypatch, fail_times=1)
    fan = FanFactory(creator=demo, fan_id=21002, state="engaged", messages_received=1)
    first = _write(fan, "hey")
    # a retry pending with the fan's message merged in, then the retry fails for good
    settings.SEND_MAX_ATTEMPTS = 2
    worker.drain(demo)
    _write(fan, "hello??")
    settings.SEND_MAX_ATTEMPTS = 1
    _flaky_sender(monkeypatch, fail_times=99)
    _due_now()
    worker.drain(demo)
    first.refresh_from_db()
    assert first.status == "failed"
    followup = QueueItem.objects.exclude(pk=first.pk).get(fan=fan)
    assert followup.reason == "message" and followup.action_id != first.action_id
    assert Action.objects.filter(fan=fan).count() == 2  # the newer message was decided on anew
    assert not sent


def test_a_staff_send_taking_over_a_waiting_message_item_keeps_the_message(demo, monkeypatch):
    """retry_action gives a pending message item a person's send: the message is answered after it."""
    monkeypatch.setattr(queue, "wake_worker", lambda n=1: None)
    sent = _flaky_sender(monkeypatch, fail_times=0)
    fan = FanFactory(creator=demo, fan_id=21003, state="engaged", messages_received=1)
    from learning.services import record_action

    staff = record_action(fan, "text", message_text="hi from a person", status="pending", source="staff")
    _write(fan, "anyone?")
    err = TransientError("busy")
    err.retry_after = 0.01
    queue.retry_action(staff, err)
    _due_now()
    worker.drain(demo)
    assert [a.pk for a in sent][:1] == [staff.pk]
    assert len(sent) == 2  # the staff send, then the answer to "anyone?"
