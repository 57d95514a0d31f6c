"""The rules' reading of fan messages for lasting facts (salesbot.pipeline.memory), on intake."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from fans.models import Fan, FanFact
from salesbot.pipeline import intake
from salesbot.pipeline.memory import read_facts
from tests.salesbot.unit.helpers import message_payload, sent, store_event

TS = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text,facts",
    [
        ("my dog's name is Biscuit 🐶", [("pet:dog", "dog's name: Biscuit")]),
        ("i have a cat called Luna", [("pet:cat", "cat's name: Luna")]),
        ("im a nurse, night shifts mostly", [("job", "works as a nurse")]),
        ("i work as a truck driver lol", [("job", "works as a truck driver")]),
        ("i live in Denver and i love hiking", [("home", "lives in Denver"), ("", "loves hiking")]),
        ("I’m from the UK", [("from", "is from the UK")]),
        ("I LOVE Taylor Swift!!", [("", "loves Taylor Swift")]),
        ("i love hiking with my dog", [("", "loves hiking with their dog")]),
        ("it's my birthday today!", [("birthday", "birthday: December 2")]),
        ("my bday is tomorrow", [("birthday", "birthday: December 3")]),
        ("my birthday is on March 3rd", [("birthday", "birthday: March 3rd")]),
        ("i'm 34", [("age", "is 34 (said on 2026-12-02)")]),
        ("call me Mikey", [("name", "likes to be called Mikey")]),
        ("i have two kids", [("has:kids", "has two kids")]),
        ("my favourite band is Metallica", [("favourite:band", "favourite band: Metallica")]),
    ],
)
def test_what_a_fan_tells_about_themselves_is_read(text, facts):
    assert read_facts(text, TS) == facts


@pytest.mark.parametrize(
    "text",
    [
        "i love you",
        "i love your pics",
        "i love it",
        "i love talking to you",
        "i really like the way you look",
        "im into you",
        "i'm a big fan",
        "i'm a bit tired",
        "call me later",
        "i'm 30 mins away",
        "i'm from work lol",
        "hey",
        "long day at work",
        "what's your favourite food?",
        "you're so cute",
    ],
)
def test_small_talk_is_not_a_fact(text):
    assert read_facts(text, TS) == []


def says(creator, fan_id, text, msg_id):
    assert (
        intake.process_event(store_event(creator, "messages.received", message_payload(fan_id, text, msg_id)))
        == "processed"
    )
    return Fan.objects.get(creator=creator, fan_id=fan_id)


def test_intake_keeps_what_the_fan_said(creator):
    fan = says(creator, 4242, "my dog's name is Biscuit and i'm a nurse", 1)
    assert {(f.key, f.text, f.source) for f in fan.facts.all()} == {
        ("pet:dog", "dog's name: Biscuit", "rules"),
        ("job", "works as a nurse", "rules"),
    }


def test_a_newer_word_on_a_topic_replaces_the_older(creator):
    says(creator, 4242, "i live in Denver", 1)
    fan = says(creator, 4242, "i live in Austin now", 2)
    assert list(fan.facts.values_list("text", flat=True)) == ["lives in Austin"]


def test_a_fact_with_a_restricted_word_is_never_kept(creator):
    creator.restricted_words = ["snapchat"]
    creator.save()
    fan = says(creator, 4242, "i love snapchat", 1)
    assert not fan.facts.exists()


def test_how_the_fan_took_a_purchase_is_kept(creator, fan):
    sent(fan, "ppv", TS, content_key="combo3", price=Decimal("25"), platform_message_id=555)
    intake.process_event(
        store_event(
            creator,
            "messages.ppv.unlocked",
            {"fan": {"id": fan.fan_id, "name": fan.name}, "message_id": 555, "amount": 25},
        )
    )
    says(creator, fan.fan_id, "omg loved it 😍", 2)
    assert list(fan.facts.values_list("key", "text")) == [
        ("reaction:combo3", "bought combo3 ($25), then said: \u201comg loved it 😍\u201d")
    ]
    says(creator, fan.fan_id, "haha", 3)  # nothing bought since the last message: no new reaction
    assert fan.facts.count() == 1 and FanFact.objects.count() == 1
