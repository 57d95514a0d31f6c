"""Safety before selling: triggers hand the fan to a human, "stop" opts out, ordinary chat does neither."""

import pytest

from fans.models import FanTransition
from fans.selectors import SAFETY_REASONS
from salesbot.models import QueueItem
from salesbot.pipeline import intake
from salesbot.pipeline.safety import screen_message
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

BENIGN = [
    "i'm 25",
    "stop it you're so funny",
    "don't stop",
    "i'm 18",
    "love your pics",
    "what's up",
    "i'm 6ft",
    "i'm 2 hours away",
    "how much for the video?",
]


@pytest.mark.parametrize("text,reason", TRIGGERS)
def test_trigger_hands_the_fan_off(creator, text, reason):
    fan = FanFactory(creator=creator, state="engaged")
    assert screen_message(creator, fan, text) is True
    fan.refresh_from_db()
    assert fan.state == "handed_off"
    safety = reason in SAFETY_REASONS  # the others ask a person to take the sale over: no safety flag
    assert fan.handoff_reason == f"{'safety' if safety else 'needs a human'}: {reason}"
    assert fan.safety_flag is safety
    assert fan.opted_out is False
    t = FanTransition.objects.get(fan=fan)
    assert (t.from_state, t.to_state, t.by_staff) == ("engaged", "handed_off", False)
    assert t.reason == fan.handoff_reason


@pytest.mark.parametrize("state", ["new", "greeted", "pitched", "buyer", "whale_candidate", "dormant"])
def test_trigger_hands_off_from_any_state(creator, state):
    fan = FanFactory(creator=creator, state=state)
    assert screen_message(creator, fan, "i'm 16") is True
    fan.refresh_from_db()
    assert (fan.state, fan.safety_flag) == ("handed_off", True)
    assert FanTransition.objects.filter(fan=fan, from_state=state, to_state="handed_off").count() == 1


@pytest.mark.parametrize(
    "text",
    [
        "stop",
        "STOP!",
        "please stop",
        "pls stop now",
        "unsubscribe",
        "please unsubscribe me",
        "stop messaging me",
        "leave me alone",
    ],
)
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
    assert fan.state == "handed_off" and fan.safety_flag is (text == "i'm 16 btw")
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


# --- phone keyboards, fillers, spelled-out ages, slang (normalised text) ---------------------------

NEW_TRIGGERS = [
    ("i\u2019m 16", "possible minor"),  # curly apostrophe (iOS)
    ("I\u2019m 15 lol", "possible minor"),
    ("i\u2018m 14", "possible minor"),
    ("i\u02bcm 17", "possible minor"),
    ("im only 16", "possible minor"),
    ("i'm just 15 tho", "possible minor"),
    ("I am literally 14", "possible minor"),
    ("I am sixteen", "possible minor"),
    ("im fifteen lol", "possible minor"),
    ("i'm twelve", "possible minor"),
    ("im  \t only   16", "possible minor"),  # collapsed whitespace
    ("\uff49\u2019\uff4d \uff11\uff16", "possible minor"),  # full-width "i’m 16" (NFKC)
    ("16yo here", "possible minor"),
    ("16 y.o. btw", "possible minor"),
    ("seventeen years old", "possible minor"),
    ("i wanna die", "mentions self-harm"),
    ("honestly kms", "mentions self-harm"),
    ("i want to kill myself", "mentions self-harm"),
    ("i wanna kill myself", "mentions self-harm"),
    ("im gonna kill myself", "mentions self-harm"),
    ("i just want to die", "mentions self-harm"),
    ("i want to end my life", "mentions self-harm"),
    ("i don\u2019t want to live anymore", "mentions self-harm"),
    ("what\u2019s your real name?", "claims to know the creator's real identity"),
]

NEAR_MISSES = [
    "I'm 6 foot",
    "i\u2019m 6\u20192",
    "im 25",
    "i\u2019m 25",
    "I am 19",
    "this kills me lol",
    "i'm gonna die lol that's so cute",
    "i'm 5 kms away",
    "im only 5 mins away",
    "i'm just 2 pics in",
    "im like 6 feet tall",
    "you're killing me",
    "i'm dying to see more",
    "16 pics for 18?",
    "i could do this all day",
    "I'm one of your biggest fans",
    "stop it you\u2019re so funny",
    "don\u2019t stop",
    "don't text me back too fast lol",
]


@pytest.mark.parametrize("text,reason", NEW_TRIGGERS)
def test_normalised_and_slang_triggers_hand_the_fan_off(creator, text, reason):
    fan = FanFactory(creator=creator, state="engaged")
    assert screen_message(creator, fan, text) is True
    fan.refresh_from_db()
    safety = reason in SAFETY_REASONS
    assert (fan.state, fan.handoff_reason, fan.safety_flag) == (
        "handed_off",
        f"{'safety' if safety else 'needs a human'}: {reason}",
        safety,
    )


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_near_misses_trigger_nothing(creator, text):
    fan = FanFactory(creator=creator, state="engaged")
    assert screen_message(creator, fan, text) is False
    fan.refresh_from_db()
    assert (fan.state, fan.opted_out, fan.safety_flag) == ("engaged", False, False)


@pytest.mark.parametrize(
    "text",
    [
        "stop it",
        "Stop it!",
        "don\u2019t message me",
        "dont text me anymore",
        "stop texting me",
        "pls stop texting me",
        "please don't message me again",
        "STOP\u00a0please",
        "do not contact me",
        "ok but dont text me anymore",
    ],
)
def test_more_stop_wordings_opt_the_fan_out(creator, text):
    fan = FanFactory(creator=creator, state="engaged")
    assert screen_message(creator, fan, text) is True
    fan.refresh_from_db()
    assert (fan.opted_out, fan.state, fan.safety_flag) == (True, "engaged", False)


@pytest.mark.parametrize(
    "text,amounts",
    [
        ("custom video for $1k", [1000]),
        ("i will pay 2000", [2000]),
        ("i'd pay 1.5k", [1500]),
        ("$1,000.", [1000]),
        ("500$ ok?", [500]),
        ("custom for 300 dollars?", [300]),
        ("offering 2 grand", [2000]),
        ("custom for 16 pics", []),
        ("make me a custom for 10 minutes", []),
        ("i'm 6 foot", []),
    ],
)
def test_amounts_read_k_suffixes_and_bare_numbers_after_paying_words(text, amounts):
    from salesbot.pipeline.safety import amounts as read_amounts

    assert read_amounts(text) == amounts


OVER, NEW_CONTENT = "custom request over the approval limit", "custom request needs new content"


# Issue #15: below the limit a custom still needs new content and goes to a human (was: not handed off).
@pytest.mark.parametrize(
    "text,reason",
    [
        ("custom video for $1k", OVER),
        ("can you make me a custom video? i will pay 2000", OVER),
        ("custom vid, i\u2019ll pay 1.2k", OVER),
        ("custom video for $100", NEW_CONTENT),
        ("can you make me a custom for 10 minutes?", NEW_CONTENT),
        ("i will pay 2000 for all your pics", None),  # an amount, but no custom request
    ],
)
def test_custom_request_amounts_in_any_spelling_reach_the_limit(creator, text, reason):
    handed = reason is not None
    assert creator.custom_approval_limit == 500
    fan = FanFactory(creator=creator, state="buyer")
    assert screen_message(creator, fan, text) is handed
    fan.refresh_from_db()
    assert (fan.state == "handed_off") is handed
    if handed:
        assert fan.handoff_reason == f"needs a human: {reason}" and not fan.safety_flag


@pytest.mark.parametrize("state", ["dormant", "engaged"])
def test_a_flagged_fan_writing_again_goes_back_to_the_staff_queue(creator, state):
    """Staff parked a flagged fan (mark dormant) without resuming: a new message is never sold to."""
    fan = FanFactory(creator=creator, state=state, safety_flag=True, handoff_reason="safety: possible minor")
    assert screen_message(creator, fan, "hey, miss me?") is True
    fan.refresh_from_db()
    assert (fan.state, fan.safety_flag, fan.handoff_reason) == ("handed_off", True, "safety: possible minor")


# --- custom requests that need new content, and legal threats (issue #15) ----------------------------

CUSTOM_REQUESTS = [
    "can you make me a custom video saying my name",
    "$300 for a custom",
    "I'd love a custom",
    "do you do customs?",
    "could you say my name in a video?",
    "can you record a video just for me?",
    "make me a short clip wearing the red lingerie",
    "i want a personalized video",
    "can i make a special request?",
    "a pic with my name on it",
    "write my name on your body",
]
# Buying what is already made, or "custom"/"make me"/"my name" in other senses.
NOT_CUSTOM = [
    "i'd love the bundle",
    "i'll buy the combo bundle",
    "send me the bundle you posted",
    "send me a video",
    "i'd love a video of you",
    "can i buy the video you posted yesterday?",
    "stuck at customs lol",
    "customer service is so slow",
    "make me an offer",
    "you make me a happy man",
    "is this just for me? \U0001f97a",
    "did you make that video yourself?",
    "say my name again \U0001f60d",
    "my name is John btw, loved the pic",
    "no custom, just send the bundle",
]
LEGAL_THREATS = [
    "my lawyer will contact you",
    "I'll report you to the police",
    "i\u2019m calling the cops",
    "i'm going to sue you",
    "see you in court",
    "my attorney is going to hear about this",
    "i'll call my lawyer",
    "i'm reporting you for scamming",
    "i'll file a chargeback",
    "i will take legal action",
]
NOT_LEGAL = [
    "i'm a lawyer lol",
    "my dad is a cop",
    "i work with the police",
    "someone call the police, you're too hot",
    "law school is killing me",
    "this should be illegal \U0001f525",
    "you should report your taxes lol",
    "my lawyer friend says hi",
    "i got sued once lol",
    "i'm going to the police academy next year",
]


@pytest.mark.parametrize("text", CUSTOM_REQUESTS)
def test_a_custom_request_goes_to_a_human_whatever_the_amount(creator, text):
    fan = FanFactory(creator=creator, state="whale_candidate")
    assert screen_message(creator, fan, text) is True
    fan.refresh_from_db()
    assert (fan.state, fan.handoff_reason) == ("handed_off", f"needs a human: {NEW_CONTENT}")
    t = FanTransition.objects.get(fan=fan)
    assert (t.from_state, t.to_state, t.reason) == ("whale_candidate", "handed_off", f"needs a human: {NEW_CONTENT}")


@pytest.mark.parametrize("text", LEGAL_THREATS)
def test_a_legal_threat_goes_to_a_human(creator, text):
    fan = FanFactory(creator=creator, state="buyer")
    assert screen_message(creator, fan, text) is True
    fan.refresh_from_db()
    assert (fan.state, fan.handoff_reason, fan.safety_flag) == ("handed_off", "needs a human: legal threat", False)


@pytest.mark.parametrize("text", NOT_CUSTOM + NOT_LEGAL)
def test_ready_made_purchases_and_mentions_of_the_law_stay_with_the_bot(creator, text):
    fan = FanFactory(creator=creator, state="whale_candidate")
    assert screen_message(creator, fan, text) is False
    fan.refresh_from_db()
    assert (fan.state, fan.safety_flag, fan.handoff_reason) == ("whale_candidate", False, "")


def test_a_whale_asking_for_a_custom_via_intake_is_handed_off_and_not_answered(creator):
    fan = FanFactory(creator=creator, fan_id=558, state="whale_candidate")
    event = store_event(
        creator, "messages.received", message_payload(558, "$300 for a custom video saying my name?", 9004)
    )
    intake.process_event(event)
    fan.refresh_from_db()
    assert (fan.state, fan.handoff_reason) == ("handed_off", f"needs a human: {NEW_CONTENT}")
    assert not QueueItem.objects.filter(fan=fan, status="pending").exists()
