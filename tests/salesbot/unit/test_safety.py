"""Safety before selling: triggers hand the fan to a human, "stop" opts out, ordinary chat does neither."""
import pytest

from fans.models import FanTransition
from salesbot import intake
from salesbot.models import QueueItem
from salesbot.safety import screen_message
from tests.factories import FanFactory
from tests.salesbot.unit.helpers import message_payload, store_event

TRIGGERS = [
    ("i'm 16", "possible minor"),
    ("im 15 lol", "possible minor"),
    ("I am 17 years old", "possible minor"),
    ("still in high school tho", "possible minor"),
    ("sometimes i want to kill myself", "mentions self-harm"),
    ("i've been thinking about suicide", "mentions self-harm"),
    ("i know who you really are", "claims to know the creator's real identity"),
    ("what's your real name?", "claims to know the creator's real identity"),
    ("can we video call tonight?", "video call request"),
    ("facetime me babe", "video call request"),
    ("let's meet up irl", "restricted content"),
    ("are you an escort?", "restricted content"),
]

BENIGN = ["i'm 25", "stop it you're so funny", "don't stop", "i'm 18", "love your pics", "what's up",
          "i'm 6ft", "i'm 2 hours away", "how much for the video?"]


@pytest.mark.parametrize("text,reason", TRIGGERS)
def test_trigger_hands_the_fan_off(creator, text, reason):
    fan = FanFactory(creator=creator, state="engaged")
    assert screen_message(creator, fan, text) is True
    fan.refresh_from_db()
    assert fan.state == "handed_off"
    assert fan.handoff_reason == f"safety: {reason}"
    assert fan.safety_flag is True
    assert fan.opted_out is False
    t = FanTransition.objects.get(fan=fan)
    assert (t.from_state, t.to_state, t.by_staff) == ("engaged", "handed_off", False)
    assert t.reason == f"safety: {reason}"


@pytest.mark.parametrize("state", ["new", "greeted", "pitched", "buyer", "whale_candidate", "dormant"])
def test_trigger_hands_off_from_any_state(creator, state):
    fan = FanFactory(creator=creator, state=state)
    assert screen_message(creator, fan, "i'm 16") is True
    fan.refresh_from_db()
    assert (fan.state, fan.safety_flag) == ("handed_off", True)
    assert FanTransition.objects.filter(fan=fan, from_state=state, to_state="handed_off").count() == 1


@pytest.mark.parametrize("text", ["stop", "STOP!", "please stop", "pls stop now", "unsubscribe", "please unsubscribe me",
                                  "stop messaging me", "leave me alone"])
def test_stop_opts_the_fan_out_without_changing_state(creator, text):
    fan = FanFactory(creator=creator, state="pitched")
    assert screen_message(creator, fan, text) is True
    fan.refresh_from_db()
    assert fan.opted_out is True
    assert (fan.state, fan.safety_flag, fan.handoff_reason) == ("pitched", False, "")
    assert not FanTransition.objects.filter(fan=fan).exists()


@pytest.mark.parametrize("text", BENIGN)
def test_ordinary_chat_triggers_nothing(creator, text):
    fan = FanFactory(creator=creator, state="engaged")
    assert screen_message(creator, fan, text) is False
    fan.refresh_from_db()
    assert (fan.state, fan.opted_out, fan.safety_flag, fan.handoff_reason) == ("engaged", False, False, "")
    assert not FanTransition.objects.filter(fan=fan).exists()


# The age pattern reads any small number after "i'm"/"im"/"only" as an age: a fan giving his height,
# asking for a number of pics or mentioning "him" is silently handed to a human.
@pytest.mark.parametrize("text", ["i'm 6 foot", "i'm 6 feet tall", "only 5 pics?", "i saw him 5 times"])
def test_heights_and_counts_are_not_ages(creator, text):
    fan = FanFactory(creator=creator, state="engaged")
    assert screen_message(creator, fan, text) is False
    fan.refresh_from_db()
    assert fan.state == "engaged"


def test_already_handed_off_fan_stays_silent_on_benign_text(creator):
    fan = FanFactory(creator=creator, state="handed_off")
    assert screen_message(creator, fan, "hey") is True


def test_opted_out_fan_stays_silent_on_benign_text(creator):
    fan = FanFactory(creator=creator, state="engaged", opted_out=True)
    assert screen_message(creator, fan, "hey") is True


# --- through intake: a trigger in a real webhook leaves nothing for the bot to answer -------------

@pytest.mark.parametrize("text", ["i'm 16 btw", "can we facetime?"])
def test_safety_message_via_intake_leaves_no_pending_queue_item(creator, text):
    event = store_event(creator, "messages.received", message_payload(555, text, 9001))
    assert intake.process_event(event) == "processed"
    fan = creator.fans.get(fan_id=555)
    assert fan.state == "handed_off" and fan.safety_flag is True
    assert fan.messages.get().text == text  # the message is still kept for the human
    assert not QueueItem.objects.filter(fan=fan, status="pending").exists()


def test_stop_via_intake_opts_out_and_queues_nothing(creator):
    fan = FanFactory(creator=creator, fan_id=556, state="greeted")
    event = store_event(creator, "messages.received", message_payload(556, "stop", 9002))
    intake.process_event(event)
    fan.refresh_from_db()
    assert fan.opted_out is True
    assert not QueueItem.objects.filter(fan=fan).exists()


def test_benign_message_via_intake_is_queued(creator):
    event = store_event(creator, "messages.received", message_payload(557, "i'm 25 and bored", 9003))
    intake.process_event(event)
    fan = creator.fans.get(fan_id=557)
    assert fan.state == "new" and not fan.safety_flag
    assert QueueItem.objects.filter(fan=fan, status="pending").count() == 1
