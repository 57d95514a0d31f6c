"""Processing stored webhook events (shared/platform-api.md envelopes) into fans, outcomes and the queue."""

from decimal import Decimal

import pytest

from fans.models import Fan, FanTransition, Message
from learning.models import Outcome
from learning.services import record_action
from salesbot.models import QueueItem, WebhookEvent
from salesbot.pipeline import intake
from tests.salesbot.unit.helpers import hours, message_payload, sent, store_event


def fan_ref(fan_id, name="Sam"):
    return {"fan": {"id": fan_id, "name": name}}


def pending(fan):
    return QueueItem.objects.filter(fan=fan, status="pending")


def snapshot(creator):
    return (
        Fan.objects.filter(creator=creator).count(),
        Message.objects.count(),
        Outcome.objects.count(),
        QueueItem.objects.count(),
        FanTransition.objects.count(),
        list(Fan.objects.values_list("messages_received", "total_spent", "state")),
    )


# --- messages.received ---------------------------------------------------------------------------


def test_first_message_creates_the_fan_and_stores_everything(creator, now):
    event = store_event(
        creator,
        "messages.received",
        message_payload(4242, "hey gorgeous", 9001, name="Mike", at=now - hours(1)),
        created_at=now,
    )
    assert intake.process_event(event) == "processed"
    fan = Fan.objects.get(creator=creator, fan_id=4242)
    assert (fan.name, fan.state, fan.messages_received) == ("Mike", "new", 1)
    assert fan.last_interaction_ts == now - hours(1)
    msg = Message.objects.get(fan=fan)
    assert (msg.direction, msg.text, msg.platform_message_id, msg.ts) == ("in", "hey gorgeous", 9001, now - hours(1))
    outcome = Outcome.objects.get(fan=fan)
    assert (outcome.event, outcome.action, outcome.platform_event_id) == ("replied", None, event.event_id)
    item = pending(fan).get()
    assert (item.reason, item.waiting_since) == ("message", now - hours(1))
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("processed", 1) and event.processed_at is not None


def test_message_without_created_at_uses_the_envelope_time(creator, now):
    intake.process_event(store_event(creator, "messages.received", message_payload(1, "hi", 5), created_at=now))
    assert Message.objects.get().ts == now


def test_reply_is_attributed_to_the_bots_last_action(fan, now):
    older = sent(fan, "free_media", now - hours(3), content_key="gfe_selfie")
    latest = sent(fan, "text", now - hours(1), message_text="how's your day?")
    intake.process_event(
        store_event(fan.creator, "messages.received", message_payload(fan.fan_id, "good, you?", 9100, at=now))
    )
    outcome = Outcome.objects.get(fan=fan, event="replied")
    assert outcome.action == latest and outcome.action != older


def test_reply_before_the_latest_action_goes_to_the_one_before(fan, now):
    first = sent(fan, "text", now - hours(3))
    sent(fan, "text", now - hours(1))
    intake.process_event(
        store_event(
            fan.creator, "messages.received", message_payload(fan.fan_id, "late reply", 9101, at=now - hours(2))
        )
    )
    assert Outcome.objects.get(fan=fan).action == first


@pytest.mark.parametrize("state", ["greeted", "pitched", "dormant"])
def test_message_brings_the_fan_back_to_engaged(fan, now, state):
    Fan.objects.filter(pk=fan.pk).update(state=state)
    intake.process_event(store_event(fan.creator, "messages.received", message_payload(fan.fan_id, "hey", 1, at=now)))
    fan.refresh_from_db()
    assert fan.state == "engaged"
    assert list(FanTransition.objects.filter(fan=fan).values_list("from_state", "to_state")) == [(state, "engaged")]


@pytest.mark.parametrize("state", ["new", "engaged", "buyer", "whale_candidate"])
def test_message_leaves_other_states_alone(fan, now, state):
    Fan.objects.filter(pk=fan.pk).update(state=state)
    intake.process_event(store_event(fan.creator, "messages.received", message_payload(fan.fan_id, "hey", 1, at=now)))
    fan.refresh_from_db()
    assert fan.state == state and not FanTransition.objects.filter(fan=fan).exists()


def test_second_message_coalesces_into_the_pending_item(fan, now):
    intake.process_event(
        store_event(fan.creator, "messages.received", message_payload(fan.fan_id, "hey", 1, at=now - hours(1)))
    )
    intake.process_event(
        store_event(fan.creator, "messages.received", message_payload(fan.fan_id, "you there?", 2, at=now))
    )
    fan.refresh_from_db()
    assert fan.messages_received == 2
    item = pending(fan).get()
    assert item.waiting_since == now - hours(1)  # the oldest unanswered message keeps its place
    assert QueueItem.objects.filter(fan=fan).count() == 1


def test_message_records_new_signals_on_the_fan(fan, now):
    intake.process_event(
        store_event(
            fan.creator,
            "messages.received",
            message_payload(fan.fan_id, "i love you, make me a custom video", 1, at=now),
        )
    )
    fan.refresh_from_db()
    assert fan.signals == ["custom_request", "emotional"]


def test_processing_the_same_event_twice_changes_nothing(fan, now):
    event = store_event(fan.creator, "messages.received", message_payload(fan.fan_id, "hey", 1, at=now))
    assert intake.process_event(event) == "processed"
    before = snapshot(fan.creator)
    assert intake.process_event(event) == "processed"
    assert snapshot(fan.creator) == before
    event.refresh_from_db()
    assert event.attempts == 1


def test_same_platform_message_in_another_event_is_stored_once(fan, now):
    payload = message_payload(fan.fan_id, "hey", 777, at=now)
    intake.process_event(store_event(fan.creator, "messages.received", payload, event_id="evt_a"))
    intake.process_event(store_event(fan.creator, "messages.received", payload, event_id="evt_b"))
    fan.refresh_from_db()
    assert Message.objects.filter(fan=fan).count() == 1
    assert fan.messages_received == 1
    assert Outcome.objects.filter(fan=fan).count() == 1


# --- subscriptions.new ---------------------------------------------------------------------------


def test_new_subscriber_is_created_new_with_a_welcome_item(creator, now):
    event = store_event(creator, "subscriptions.new", fan_ref(600, "Nina"), created_at=now)
    assert intake.process_event(event) == "processed"
    fan = Fan.objects.get(creator=creator, fan_id=600)
    assert (fan.state, fan.name) == ("new", "Nina")
    assert list(pending(fan).values_list("reason", "waiting_since")) == [("welcome", now)]


def test_resubscribing_fan_who_was_greeted_gets_no_second_welcome(fan, now):
    Fan.objects.filter(pk=fan.pk).update(state="greeted")
    intake.process_event(store_event(fan.creator, "subscriptions.new", fan_ref(fan.fan_id), created_at=now))
    assert not QueueItem.objects.filter(fan=fan).exists()


# --- messages.ppv.unlocked -----------------------------------------------------------------------


def test_unlock_is_attributed_to_the_ppv_it_names(fan, now):
    Fan.objects.filter(pk=fan.pk).update(state="pitched")
    bought = record_action(
        fan,
        "ppv",
        price=Decimal("18"),
        content_key="combo3",
        status="sent",
        platform_message_id=5001,
        ts=now - hours(3),
    )
    later = record_action(
        fan,
        "ppv",
        price=Decimal("25"),
        content_key="combo5",
        status="sent",
        platform_message_id=5002,
        ts=now - hours(1),
    )
    event = store_event(
        fan.creator, "messages.ppv.unlocked", {**fan_ref(fan.fan_id), "message_id": 5001, "amount": 18}, created_at=now
    )
    intake.process_event(event)
    outcome = Outcome.objects.get(fan=fan, event="purchased")
    assert (outcome.action, outcome.amount, outcome.platform_event_id) == (bought, Decimal("18"), event.event_id)
    bought.refresh_from_db(), later.refresh_from_db()
    assert (bought.purchased, later.purchased) == (True, False)
    fan.refresh_from_db()
    assert (fan.total_spent, fan.state) == (Decimal("18"), "buyer")
    assert FanTransition.objects.filter(fan=fan, from_state="pitched", to_state="buyer").count() == 1


def test_unlock_adds_to_what_the_fan_already_spent(fan, now):
    Fan.objects.filter(pk=fan.pk).update(state="buyer", total_spent=Decimal("30"))
    sent(fan, "ppv", now - hours(1), price=Decimal("25"), content_key="combo5", platform_message_id=5003)
    intake.process_event(
        store_event(
            fan.creator, "messages.ppv.unlocked", {**fan_ref(fan.fan_id), "message_id": 5003, "amount": "25.50"}
        )
    )
    fan.refresh_from_db()
    assert (fan.total_spent, fan.state) == (Decimal("55.50"), "buyer")


def test_unlock_of_an_unknown_message_is_recorded_unattributed(fan, now):
    unbought = sent(fan, "ppv", now - hours(1), price=Decimal("18"), content_key="combo3", platform_message_id=5004)
    intake.process_event(
        store_event(fan.creator, "messages.ppv.unlocked", {**fan_ref(fan.fan_id), "message_id": 99999, "amount": 20})
    )
    outcome = Outcome.objects.get(fan=fan, event="purchased")
    assert (outcome.action, outcome.amount) == (None, Decimal("20"))
    unbought.refresh_from_db()
    assert unbought.purchased is False
    fan.refresh_from_db()
    assert fan.total_spent == Decimal("20")


# --- tips.received -------------------------------------------------------------------------------


def test_tip_is_logged_and_added_to_spend(fan, now):
    Fan.objects.filter(pk=fan.pk).update(state="buyer", total_spent=Decimal("5"))
    event = store_event(fan.creator, "tips.received", {**fan_ref(fan.fan_id), "amount": 20}, created_at=now)
    intake.process_event(event)
    outcome = Outcome.objects.get(fan=fan)
    assert (outcome.event, outcome.amount, outcome.ts) == ("tipped", Decimal("20"), now)
    fan.refresh_from_db()
    assert (fan.total_spent, fan.state) == (Decimal("25"), "buyer")
    assert fan.last_interaction_ts == now


# --- unknown and malformed events ----------------------------------------------------------------


def test_unknown_event_is_ignored(creator):
    event = store_event(creator, "posts.liked", fan_ref(700))
    assert intake.process_event(event) == "ignored"
    event.refresh_from_db()
    assert event.status == "ignored"
    assert not Fan.objects.filter(fan_id=700).exists() and not QueueItem.objects.exists()


def test_payload_without_fan_id_is_marked_failed_naming_the_field(creator):
    event = store_event(creator, "messages.received", {"fan": {"name": "Ghost"}, "message": {"id": 1, "text": "hey"}})
    assert intake.process_event(event) == WebhookEvent.Status.FAILED
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.FAILED and "payload.fan.id" in event.error
    assert not Fan.objects.exists() and not Message.objects.exists()


def test_unlock_without_amount_is_marked_failed_naming_the_field(fan):
    event = store_event(fan.creator, "messages.ppv.unlocked", {**fan_ref(fan.fan_id), "message_id": 5})
    assert intake.process_event(event) == "failed"
    event.refresh_from_db()
    assert event.status == "failed" and "payload.amount" in event.error
    fan.refresh_from_db()
    assert fan.total_spent == 0


def test_a_late_delivered_old_message_does_not_make_an_active_fan_dormant(fan, now):
    from salesbot.pipeline.checkers import mark_dormant

    Fan.objects.filter(pk=fan.pk).update(state="engaged")
    intake.process_event(
        store_event(fan.creator, "messages.received", message_payload(fan.fan_id, "still here 😘", 2, at=now))
    )
    # The platform retried an older message (sent 30h ago) and it arrives only now.
    intake.process_event(
        store_event(fan.creator, "messages.received", message_payload(fan.fan_id, "hello?", 1, at=now - hours(30)))
    )
    fan.refresh_from_db()
    assert fan.last_interaction_ts == now
    assert mark_dormant(now=now + hours(1)) == 0
