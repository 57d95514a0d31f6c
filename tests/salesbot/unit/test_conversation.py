"""A fan's whole conversation through intake, queue, worker and the sender's gate (platform faked in
process): the bot never sends a fan the same line twice and answers what the fan said."""

import pytest

from learning.models import Action
from salesbot.pipeline.repeats import normalise
from tests.salesbot.unit.helpers import Chat, one_variant_creator

# The loop, and more of what fans write.
TWENTY = [
    "hey",
    "haha you're cute",
    "hmm maybe",
    "show me more",
    "you're so hot",
    "how much?",
    "lol",
    "ok",
    "what are you up to",
    "you're gorgeous",
    "tell me about you",
    "haha",
    "nice",
    "i want to see more",
    "how much is it",
    "not today",
    "hey again",
    "😍",
    "what's your favourite food?",
    "ok cool",
]


@pytest.fixture
def fresh(db, settings):
    settings.ANTHROPIC_API_KEY = ""  # rules only
    return one_variant_creator()


def lines(chat) -> list[str]:
    return [normalise(m["text"], chat.name) for m in chat.sent]


def test_a_fan_who_writes_20_times_never_gets_a_line_twice(fresh, monkeypatch):
    chat = Chat(fresh, monkeypatch).subscribe()
    for text in TWENTY:
        chat.says(text)
    assert len(lines(chat)) == len(set(lines(chat))), chat.sent
    assert len(chat.sent) >= 12  # still a conversation, not silence
    waits = Action.objects.filter(fan=chat.fan, action="skip")
    assert all(a.reason.startswith("waiting for the fan: no unused") for a in waits)
    assert not Action.objects.filter(fan=chat.fan, status="refused").exists()  # the rules chose fresh lines


def test_variants_rotate_per_fan_before_any_comes_back(demo, monkeypatch, settings):
    settings.ANTHROPIC_API_KEY = ""
    chat = Chat(demo, monkeypatch).subscribe()
    chat.says("lol")  # msg 1-2 after the welcome: a tease
    chat.says("lol")  # msg 3: tease
    chat.says("lol")  # msg 4: tease; the demo has two tease lines
    teases = [m["text"] for m in chat.sent[1:3]]
    assert set(teases) == {"i just took something you'd like 🙈", "guess what i'm wearing rn 😏"}
    assert chat.sent[3]["text"] not in teases


def test_how_much_after_a_ppv_gets_its_price_not_a_second_ppv(demo, monkeypatch, settings):
    settings.ANTHROPIC_API_KEY = ""
    chat = Chat(demo, monkeypatch).subscribe()
    [offer] = chat.says("how much for something spicy?")
    assert offer["price"] == 18.0 and offer["media"]
    [answer] = chat.says("how much?")
    assert answer["price"] == 0 and not answer["media"]
    assert "$18" in answer["text"]
    assert Action.objects.filter(fan=chat.fan, action="ppv").count() == 1
    action = Action.objects.filter(fan=chat.fan).latest("id")
    assert action.extra["template"] == "price" and action.reason == "the fan asks the waiting offer's price"


def test_yes_and_no_to_a_waiting_offer_are_answered_not_offered_again(demo, monkeypatch, settings):
    settings.ANTHROPIC_API_KEY = ""
    chat = Chat(demo, monkeypatch).subscribe()
    chat.says("what do you have?")
    [yes] = chat.says("ok send it 😏")
    assert yes["price"] == 0 and not yes["media"]
    [no] = chat.says("too expensive")
    assert no["price"] == 0
    assert Action.objects.filter(fan=chat.fan, action="ppv").count() == 1
    assert [a.extra.get("template") for a in Action.objects.filter(fan=chat.fan).order_by("id")][-2:] == [
        "offer_yes",
        "offer_no",
    ]


@pytest.mark.parametrize(
    "text,kind",
    [
        ("you're gorgeous", "compliment"),
        ("where are you from?", "about_me"),
        ("hey", "hello"),
        ("i want to see more", "more"),
    ],
)
def test_small_talk_gives_way_to_an_answer_of_what_the_fan_said(demo, monkeypatch, settings, text, kind):
    settings.ANTHROPIC_API_KEY = ""
    chat = Chat(demo, monkeypatch).subscribe()
    chat.says("lol")
    chat.says(text)
    last = Action.objects.filter(fan=chat.fan).latest("id")
    assert (last.action, last.extra["template"]) == ("text", kind)


def test_a_sale_still_stands_over_small_talk_and_records_its_offer(demo, monkeypatch, settings):
    settings.ANTHROPIC_API_KEY = ""
    chat = Chat(demo, monkeypatch).subscribe()
    chat.says("i want it, how much?")  # buying words, no offer waiting yet: the ladder's PPV
    ppv = Action.objects.get(fan=chat.fan, action="ppv")
    assert (ppv.content_key, ppv.price, ppv.hook, ppv.segment) == ("combo1", 18, "vulnerability", "new:first")
