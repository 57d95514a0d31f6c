"""What a fan's message asks for (salesbot.pipeline.intents): one intent, the template kind answering it."""

import pytest

from salesbot.pipeline.intents import detect


@pytest.mark.parametrize(
    "text,intent",
    [
        ("how much?", "price"),
        ("what's the price", "price"),
        ("how much is it", "price"),
        ("show me more", "more"),
        ("more please", "more"),
        ("what do you have?", "more"),
        ("haha you're cute", "compliment"),
        ("you look amazing", "compliment"),
        ("😍", "compliment"),
        ("where are you from?", "about_me"),
        ("how are you?", "about_me"),
        ("do you ever sleep?", "about_me"),
        ("hey", "hello"),
        ("good morning ☀️", "hello"),
        ("hii 👋", "hello"),
        ("lol", ""),
        ("long day at work", ""),
        ("", ""),
    ],
)
def test_intents_of_common_messages(text, intent):
    assert detect(text) == intent


@pytest.mark.parametrize(
    "text,intent",
    [
        ("ok send it 😏", "offer_yes"),
        ("yes", "offer_yes"),
        ("i'll buy it", "offer_yes"),
        ("maybe later", "offer_no"),
        ("too expensive", "offer_no"),
        ("i'm broke rn 😅", "offer_no"),
        ("how much?", "price"),
        ("hmm not sure", ""),
    ],
)
def test_yes_and_no_answer_a_waiting_offer(text, intent):
    assert detect(text, offer_waiting=True) == intent


@pytest.mark.parametrize("text", ["yes", "no", "maybe later", "ok"])
def test_yes_and_no_without_an_offer_are_no_answer(text):
    assert detect(text, offer_waiting=False) not in ("offer_yes", "offer_no")
