"""Fan memory in the model's prompt, against the fake Claude server over real HTTP: what a fan told long
ago, staff notes and purchases reach the model, the prompt fills its budget with the conversation and
never passes the limit, and the facts the model reports are kept (bad ones refused)."""

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fans import staff
from fans.models import FanFact, Message
from learning.services import record_action, record_outcome
from salesbot.models import LLMCall
from salesbot.pipeline import engine, intake
from salesbot.pipeline.llm.prompt import build_prompt
from tests.factories import FanFactory
from tests.salesbot.unit.helpers import message_payload, store_event

pytestmark = pytest.mark.integration


@pytest.fixture
def buyer(demo):
    """A fan who has spent: the router sends their messages to the model."""
    return FanFactory(
        creator=demo,
        fan_id=5150,
        name="Sam",
        state="buyer",
        total_spent=18,
        messages_received=6,
        content_sent=["combo1"],
    )


def fan_says(fan, text, n, at=None):
    """The fan's message through the real intake (the rules read it there)."""
    event = store_event(
        fan.creator, "messages.received", message_payload(fan.fan_id, text, 80_000 + n, name=fan.name, at=at)
    )
    assert intake.process_event(event) == "processed"


def ask_the_model(fan, text="what's up", used=True):
    decision = engine.decide(engine.build_context(fan.creator, fan, last_text=text))
    assert decision.source == ("llm" if used else "rules")
    return decision


def fan_json(prompt_text: str) -> dict:
    return json.loads(prompt_text.split("FAN: ", 1)[1].splitlines()[0])


def sent_to_the_model(llm) -> dict:
    """The FAN context of the last prompt the fake Claude server received."""
    body = llm.fake("GET", "requests")["requests"][-1]["body"]
    return fan_json(body["messages"][0]["content"])


def test_a_fact_told_50_messages_back_reaches_the_model(llm_on, buyer):
    start = timezone.now() - timedelta(hours=3)
    fan_says(buyer, "my dog's name is Biscuit 🐶", 0, at=start)
    for i in range(1, 51):
        fan_says(buyer, f"haha ok {i}", i, at=start + timedelta(minutes=i))
    ask_the_model(buyer)
    fan = sent_to_the_model(llm_on)
    assert "dog's name: Biscuit" in fan["facts"]
    assert fan["last_messages"][0]["text"] == "my dog's name is Biscuit 🐶"  # 51 short messages all fit now
    assert fan["last_messages"][-1]["text"] == "haha ok 50"


def test_a_staff_note_reaches_the_model(llm_on, buyer):
    staff.add_note(buyer, "prefers evenings; asked about a custom", "maria")
    ask_the_model(buyer)
    notes = sent_to_the_model(llm_on)["staff_notes"]
    assert len(notes) == 1 and notes[0].endswith("] maria: prefers evenings; asked about a custom")


def test_purchases_from_the_books_reach_the_model(llm_on, buyer):
    ppv = record_action(buyer, "ppv", content_key="combo1", price=Decimal("18"), status="sent")
    record_outcome(buyer, "purchased", amount=Decimal("18"), action=ppv, pinned=True)
    ask_the_model(buyer, used=False)  # the fake offers a PPV; the fan must write before another
    assert sent_to_the_model(llm_on)["purchases"] == [f"combo1 $18.00 on {timezone.now():%Y-%m-%d}"]


def test_a_2000_message_fan_fills_the_budget_stays_under_the_limit_and_is_quick(llm_on, buyer, settings):
    start = timezone.now() - timedelta(days=3)  # within intake's believable clock
    fan_says(buyer, "i'm a nurse, night shifts mostly", 0, at=start)
    Message.objects.bulk_create(
        [
            Message(
                fan=buyer,
                direction="in" if i % 2 else "out",
                ts=start + timedelta(minutes=i),
                text=f"message {i} " + "so tell me about your day " * (1 + i % 8),
            )
            for i in range(1, 2000)
        ]
    )
    with CaptureQueriesContext(connection) as queries:
        started = time.monotonic()
        prompt = build_prompt(buyer.creator, buyer)
        took = time.monotonic() - started
    limit = settings.LLM_PROMPT_TOKEN_LIMIT
    assert limit - 200 < prompt.tokens <= limit  # the budget goes to the fan, and no further
    assert len(queries) <= 15 and took < 2.0  # a page of messages per query, not a query per message
    fan = fan_json(prompt.user)
    assert "works as a nurse" in fan["facts"]  # told 2000 messages ago, long out of the conversation
    kept = [m["text"] for m in fan["last_messages"]]
    assert kept[-1].startswith("message 1999 ") and 100 < len(kept) < 2000
    assert kept == [
        f"message {i} " + "so tell me about your day " * (1 + i % 8) for i in range(2000 - len(kept), 2000)
    ]  # the newest, oldest left out first
    assert prompt.trimmed == 2000 - len(kept)

    ask_the_model(buyer)
    call = LLMCall.objects.get()
    sent = llm_on.fake("GET", "requests")["requests"][-1]
    assert call.prompt_tokens <= limit and sent["estimated_input_tokens"] <= limit


def test_facts_and_notes_are_kept_before_old_messages(buyer, settings):
    staff.add_note(buyer, "call him by his nickname, Sammy", "maria")
    FanFact.objects.create(fan=buyer, key="job", text="works as a nurse", source="rules")
    for i in range(40):
        Message.objects.create(fan=buyer, direction="in", text=f"message {i} " + "blah " * 90)
    full = build_prompt(buyer.creator, buyer, limit=100_000)
    prompt = build_prompt(buyer.creator, buyer, limit=full.tokens - 3000)
    fan = fan_json(prompt.user)
    assert fan["facts"] == ["works as a nurse"] and fan["staff_notes"][0].endswith("nickname, Sammy")
    assert 0 < len(fan["last_messages"]) < 40 and fan["last_messages"][-1]["text"].startswith("message 39")
    assert prompt.sections == full.sections  # the playbook goes last of all


def test_the_models_facts_are_kept_and_reach_the_next_prompt(llm_on, buyer):
    llm_on.fake("POST", "mode", json={"mode": "valid", "facts": ["has a dog called Max", "works night shifts"]})
    ask_the_model(buyer)
    assert set(FanFact.objects.filter(fan=buyer, source="llm").values_list("text", flat=True)) == {
        "has a dog called Max",
        "works night shifts",
    }
    ask_the_model(buyer)
    assert {"has a dog called Max", "works night shifts"} <= set(sent_to_the_model(llm_on)["facts"])


def test_bad_facts_from_the_model_are_refused_and_its_message_still_goes(llm_on, buyer):
    good = [f"fact number {i}" for i in range(7)]
    llm_on.fake("POST", "mode", json={"facts": [42, "", "x" * 121, "wants my snapchat", {"a": 1}, *good]})
    decision = ask_the_model(buyer)
    assert decision.action == "ppv" and LLMCall.objects.get().outcome == "accepted"
    assert list(FanFact.objects.filter(fan=buyer).order_by("id").values_list("text", flat=True)) == good[:5]


def test_facts_that_are_not_a_list_are_ignored(llm_on, buyer):
    llm_on.fake("POST", "mode", json={"facts": "has a dog called Max"})
    ask_the_model(buyer)
    assert not FanFact.objects.exists() and LLMCall.objects.get().outcome == "accepted"
