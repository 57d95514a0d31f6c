"""When the rules have no unused line left for a fan, a creator with the LLM configured hands the fan to
the model (fake Claude over real HTTP), which is told the lines the fan already had."""

import json

import pytest

from learning.models import Action
from salesbot.models import LLMCall
from salesbot.pipeline.llm.prompt import build_prompt
from salesbot.pipeline.llm.reply import RejectedReply, validate
from salesbot.pipeline.repeats import normalise, sent_texts
from tests.factories import FanFactory
from tests.salesbot.unit.helpers import Chat, one_variant_creator

pytestmark = pytest.mark.integration
LLM_ROWS = {"spent_1_plus", "msg_9_plus"}


def test_the_fan_goes_to_the_llm_once_the_variants_run_out(llm_on, db, monkeypatch):
    chat = Chat(one_variant_creator(), monkeypatch).subscribe()
    for text in ["lol", "hmm", "i see", "lol ok then", "right", "cool story"]:
        chat.says(text)
    handed = Action.objects.filter(fan=chat.fan, source="llm", extra__has_key="instead_of_rules")
    assert handed.exists()
    action = handed.first()
    assert action.route not in LLM_ROWS and action.status == "sent"  # a rule row, taken over by the model
    assert action.extra["instead_of_rules"].startswith("no unused ")
    assert LLMCall.objects.filter(action=action, outcome="accepted").exists()
    lines = [normalise(m["text"], chat.name) for m in chat.sent]
    assert len(lines) == len(set(lines))
    prompt = llm_on.fake("GET", "requests")["requests"][-1]["body"]["messages"][0]["content"]
    assert "lines_this_fan_already_had (never send one again): " in prompt
    assert "i just took something you'd like 🙈" in prompt  # the one tease line, already sent


def test_a_model_reply_repeating_a_line_is_rejected(db):
    creator = one_variant_creator()
    fan = FanFactory(creator=creator, name="Sam")
    Action.objects.create(creator=creator, fan=fan, action="text", status="sent", message_text="tell me more 💕")
    with pytest.raises(RejectedReply, match="the fan already had this line"):
        validate({"action": "text", "message_text": "Tell me  more 💕", "hook": "curiosity"}, creator, fan)


def test_the_fans_part_lists_the_fans_lines_for_the_model(db):
    creator = one_variant_creator()
    fan = FanFactory(creator=creator, name="Sam")
    Action.objects.create(creator=creator, fan=fan, action="text", status="sent", message_text="heyy you 😊")
    prompt = build_prompt(creator, fan, had=sent_texts(fan))
    block = prompt.user  # the fan's own part, after the creator's cached one
    assert "(never send one again)" not in prompt.system
    assert 'lines_this_fan_already_had (never send one again): ["heyy you 😊"]' in block
    assert json.loads(block.split("again): ")[1].splitlines()[0]) == ["heyy you 😊"]


def test_without_a_fresh_line_a_failing_llm_leaves_the_fan_waiting(llm_on, db, monkeypatch):
    chat = Chat(one_variant_creator(), monkeypatch).subscribe()
    llm_on.fake("POST", "mode", json={"mode": "500"})
    for text in ["lol", "hmm", "i see", "lol ok then", "right", "cool story"]:
        chat.says(text)
    waits = Action.objects.filter(fan=chat.fan, action="skip")
    assert waits.exists() and all("waiting for the fan: no unused" in a.reason for a in waits)
    assert "LLM error: InternalServerError" in waits.first().reason
    assert LLMCall.objects.filter(action=waits.first(), outcome="error").exists()
    assert not Action.objects.filter(fan=chat.fan, source="llm").exists()
    assert not Action.objects.filter(fan=chat.fan, action="ppv", route="msg_3_4").exists()  # no early stand-in PPV
