"""The routing table (docs/architecture.md#routing): each row fires for a fan crafted for it, first match wins."""

from decimal import Decimal

import pytest

from salesbot.pipeline import engine
from salesbot.pipeline.cues import detect
from salesbot.pipeline.decisions import Context
from salesbot.pipeline.router import ROUTES, route
from tests.factories import CreatorFactory, FanFactory


def ctx(state="engaged", msgs=0, spent="0", signals=(), reason="message", opted_out=False, text="tell me more"):
    creator = CreatorFactory.build()
    fan = FanFactory.build(
        creator=creator, state=state, messages_received=msgs, total_spent=Decimal(spent), opted_out=opted_out
    )
    return Context(creator=creator, fan=fan, reason=reason, signals=set(signals), last_text=text)


# One crafted fan per row of ROUTES (the catchall is covered separately: no count reaches it).
ROW_CASES = {
    "no_contact": (ctx(state="handed_off", msgs=3), "skip"),
    "welcome": (ctx(state="new", reason="welcome"), "greet"),
    "bump": (ctx(state="pitched", msgs=7, reason="bump"), "bump"),
    "rekindle": (ctx(state="dormant", msgs=12, spent="30", reason="rekindle"), "rekindle"),
    "expired": (ctx(state="buyer", msgs=6, spent="30", reason="expired"), "expired"),
    "filler": (ctx(state="buyer", msgs=4, spent="18", text="haha 😂"), "light_reply"),
    "spent_1_plus": (ctx(state="buyer", msgs=4, spent="18"), "llm"),
    "buying_signal": (ctx(msgs=2, signals={"buying"}), "ppv"),
    "sexual_4_plus": (ctx(msgs=4, signals={"sexual"}), "ppv"),
    "sexual_under_4": (ctx(msgs=3, signals={"sexual"}), "free_hook"),
    "interest": (ctx(msgs=7, signals={"interest"}), "tease_or_free_hook"),
    "msg_1_2": (ctx(state="greeted", msgs=1), "greet"),
    "msg_3_4": (ctx(msgs=3), "tease"),
    "msg_5": (ctx(msgs=5), "free_hook"),
    "msg_6_8": (ctx(msgs=6), "ppv"),
    "msg_9_plus": (ctx(msgs=9), "llm"),
}


@pytest.mark.parametrize("row", list(ROW_CASES))
def test_each_row_fires_for_its_fan(row):
    context, step = ROW_CASES[row]
    assert route(context) == (row, step)


def test_every_row_but_the_catchall_has_a_crafted_fan():
    assert [name for name, _, _ in ROUTES] == list(ROW_CASES) + ["catchall"]


@pytest.mark.parametrize("text", ["😍", "ok", "lol", "thanks!", "haha ok", "❤️❤️"])
def test_filler_from_an_llm_bound_fan_stays_with_the_rules(text):
    assert route(ctx(state="buyer", msgs=12, spent="40", text=text)) == ("filler", "light_reply")


def test_filler_from_an_early_fan_follows_the_message_ladder():
    assert route(ctx(state="greeted", msgs=1, text="hey"))[0] == "msg_1_2"


def test_opted_out_fan_is_skipped_even_when_spending_and_asking_to_buy():
    assert route(ctx(state="buyer", msgs=6, spent="50", signals={"buying"}, opted_out=True)) == ("no_contact", "skip")


def test_handed_off_beats_one_dollar_spent():
    assert route(ctx(state="handed_off", msgs=9, spent="250")) == ("no_contact", "skip")


def test_handed_off_beats_a_welcome_or_bump_request():
    assert route(ctx(state="handed_off", reason="welcome"))[1] == "skip"
    assert route(ctx(state="handed_off", reason="bump"))[1] == "skip"


@pytest.mark.parametrize(
    "spent,expected", [("1.00", "spent_1_plus"), ("0.99", "buying_signal"), ("0", "buying_signal")]
)
def test_one_dollar_spent_beats_a_buying_signal(spent, expected):
    assert route(ctx(state="buyer", msgs=2, spent=spent, signals={"buying", "sexual"}))[0] == expected


def test_buying_signal_beats_message_count_and_sexual_signal():
    assert route(ctx(msgs=1, signals={"buying", "sexual"})) == ("buying_signal", "ppv")
    assert route(ctx(msgs=10, signals={"buying"})) == ("buying_signal", "ppv")


@pytest.mark.parametrize(
    "msgs,expected",
    [
        (4, ("sexual_4_plus", "ppv")),
        (7, ("sexual_4_plus", "ppv")),
        (3, ("sexual_under_4", "free_hook")),
        (1, ("sexual_under_4", "free_hook")),
    ],
)
def test_sexual_signal_splits_at_four_messages(msgs, expected):
    assert route(ctx(msgs=msgs, signals={"sexual", "interest"})) == expected


def test_interest_beats_message_count():
    assert route(ctx(msgs=1, signals={"interest"})) == ("interest", "tease_or_free_hook")
    assert route(ctx(msgs=12, signals={"interest"})) == ("interest", "tease_or_free_hook")


@pytest.mark.parametrize(
    "msgs,expected",
    [
        (1, ("msg_1_2", "greet")),
        (2, ("msg_1_2", "greet")),
        (3, ("msg_3_4", "tease")),
        (4, ("msg_3_4", "tease")),
        (5, ("msg_5", "free_hook")),
        (6, ("msg_6_8", "ppv")),
        (7, ("msg_6_8", "ppv")),
        (8, ("msg_6_8", "ppv")),
        (9, ("msg_9_plus", "llm")),
        (10, ("msg_9_plus", "llm")),
        (57, ("msg_9_plus", "llm")),
    ],
)
def test_message_count_rows(msgs, expected):
    assert route(ctx(msgs=msgs)) == expected


def test_catchall_is_never_reached_by_a_real_message_count():
    assert all(route(ctx(msgs=n))[0] != "catchall" for n in range(0, 200))
    name, condition, step = ROUTES[-1]
    assert (name, step) == ("catchall", "reengage") and condition(ctx()) is True


def test_welcome_row_greets_even_a_fan_who_already_spent():
    assert route(ctx(state="new", spent="20", reason="welcome")) == ("welcome", "greet")


@pytest.mark.parametrize(
    "text,expected",
    [
        ("how much for the video?", "buying_signal"),
        ("you look so hot", "sexual_under_4"),
        ("show me more", "interest"),
        ("hey there", "msg_3_4"),
    ],
)
def test_the_fans_words_pick_the_row(text, expected):
    fan = FanFactory.build(state="engaged", messages_received=3, total_spent=Decimal("0"))
    context = engine.build_context(fan.creator, fan, last_text=text)
    assert route(context)[0] == expected


# --- simple greetings never reach the model (the filler row; issue #15) ----------------------------

GREETINGS = ["hey babe", "hi there", "good morning babe", "heyyy babe 😘", "hey bianca", "hiii baby 💕", "hello again"]


def greeting_ctx(text, spent, msgs):
    context = ctx(state="buyer", msgs=msgs, spent=spent, text=text)
    context.creator.display_name = "Bianca"
    context.signals = detect(context.creator, text)
    return context


@pytest.mark.parametrize("text", GREETINGS)
@pytest.mark.parametrize("spent,msgs", [("40", 12), ("18", 3), ("0", 10)])
def test_a_greeting_from_a_fan_the_model_would_get_stays_with_the_rules(text, spent, msgs):
    assert route(greeting_ctx(text, spent, msgs)) == ("filler", "light_reply")


@pytest.mark.parametrize("text", ["Good Morning beautiful ☀️", "hey sexy"])
def test_a_buyers_greeting_with_a_compliment_stays_with_the_rules(text):
    assert route(greeting_ctx(text, "40", 12)) == ("filler", "light_reply")


@pytest.mark.parametrize(
    "text",
    [
        "hey babe, how much for the next video?",
        "hi there, i missed you so much",
        "good morning, what are you wearing today?",
    ],
)
def test_a_greeting_with_something_to_answer_still_goes_to_the_model(text):
    assert route(ctx(state="buyer", msgs=12, spent="40", text=text)) == ("spent_1_plus", "llm")


def test_a_zero_dollar_greeting_with_a_signal_takes_its_signal_row():
    assert route(greeting_ctx("hey sexy", "0", 10)) == ("sexual_4_plus", "ppv")


@pytest.mark.parametrize("text", ["hey babe", "hi there", "good morning babe"])
def test_a_buyers_greeting_is_answered_without_an_llm_call(demo, monkeypatch, text):
    calls = []
    monkeypatch.setattr(engine, "llm_decide", lambda c: calls.append(c) or pytest.fail("LLM called"))
    fan = FanFactory(creator=demo, state="buyer", messages_received=6, total_spent=Decimal("36"))
    decision = engine.decide(engine.build_context(demo, fan, last_text=text))
    assert calls == [] and decision.route == "filler" and decision.source == "rules"
    assert decision.action == "text" and decision.text
