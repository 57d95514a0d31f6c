"""The LLM branch against the fake Claude server over real HTTP, through the anthropic SDK."""

import json
import logging

import pytest

from fans.models import Message
from learning.models import Action
from salesbot.models import LLMCall
from salesbot.pipeline import engine, worker
from salesbot.pipeline.llm import client as llm
from salesbot.pipeline.llm.prompt import build_prompt, count_tokens
from tests.factories import FanFactory
from tests.fake_processes import FakeLLMProcess


@pytest.fixture
def buyer(demo):
    fan = FanFactory(creator=demo, state="buyer", total_spent=18, messages_received=6, content_sent=["combo1"])
    Message.objects.create(fan=fan, direction="in", text="that was amazing")
    return fan


def decide(creator, fan, text="that was amazing"):
    return engine.decide(engine.build_context(creator, fan, last_text=text))


def test_spender_goes_to_the_llm_and_a_valid_reply_is_used(llm_on, demo, buyer):
    d = decide(demo, buyer)
    assert (d.route, d.source, d.action) == ("spent_1_plus", "llm", "ppv")
    assert d.content_key in {"combo3", "combo5", "combo7", "video_long"}  # the vault's unsent paid items
    assert demo.ppv_min_price <= d.price <= demo.ppv_max_price
    call = LLMCall.objects.get()
    assert call.outcome == "accepted" and call.input_tokens > 0 and call.output_tokens > 0 and call.cost_usd > 0


@pytest.mark.parametrize(
    "mode,why",
    [
        ("prose", "not valid JSON"),
        ("two_lines", "exactly one JSON line"),
        ("unknown_key", "unknown content_key"),
        ("bad_price", "outside the creator's bounds"),
    ],
)
def test_unusable_replies_are_rejected_stored_and_rules_decide(llm_on, demo, buyer, mode, why):
    llm_on.fake("POST", "mode", json={"mode": mode})
    d = decide(demo, buyer)
    assert d.source == "rules" and why in d.extra["llm_fallback"]
    call = LLMCall.objects.get()
    assert call.outcome == "rejected" and why in call.error and call.raw_reply


@pytest.mark.parametrize("mode", ["500", "429", "529"])
def test_api_errors_fall_back_to_rules(llm_on, demo, buyer, mode):
    llm_on.fake("POST", "mode", json={"mode": mode})
    d = decide(demo, buyer)
    assert d.source == "rules" and "LLM error" in d.extra["llm_fallback"]
    assert LLMCall.objects.get().outcome == "error"


def test_sdk_retries_a_429_then_uses_the_answer(llm_on, demo, buyer, settings):
    settings.LLM_MAX_RETRIES = 2
    llm_on.fake("POST", "mode", json={"mode": "429", "times": 1})
    d = decide(demo, buyer)
    assert d.source == "llm"


def test_slow_llm_times_out_and_rules_decide(demo, buyer, settings):
    slow = FakeLLMProcess("--mode", "slow", "--delay", "2")  # its own server: the late reply stays there
    try:
        settings.ANTHROPIC_API_KEY, settings.ANTHROPIC_BASE_URL = "test-key", slow.url
        settings.LLM_TIMEOUT_S, settings.LLM_MAX_RETRIES = 0.5, 0
        d = decide(demo, buyer)
    finally:
        slow.stop()
    assert d.source == "rules" and "Timeout" in d.extra["llm_fallback"]
    assert LLMCall.objects.get().outcome == "error"


def test_without_a_key_rules_decide_and_say_so_once(demo, buyer, settings, caplog, monkeypatch):
    settings.ANTHROPIC_API_KEY = ""
    monkeypatch.setattr(llm, "_warned_no_key", False)
    with caplog.at_level(logging.WARNING, logger="salesbot.pipeline.llm.client"):
        first, second = decide(demo, buyer), decide(demo, buyer)
    assert first.source == second.source == "rules"
    assert sum("ANTHROPIC_API_KEY is not set" in r.message for r in caplog.records) == 1
    assert not LLMCall.objects.exists()


def test_prompt_has_state_sections_stats_and_cache_marker(demo, buyer):
    p = build_prompt(demo, buyer)
    assert p.sections == [1, 2, 6, 7, 9, 14]  # buyer: content, pricing, aftercare (+ voice, boundaries, words)
    kwargs = p.as_api_kwargs()
    assert kwargs["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert "[STATS]" in p.system and "[/STATS]" in p.system and "[STATS]" not in p.user  # the creator's part
    fan_json = json.loads(p.user.split("FAN: ", 1)[1].splitlines()[0])
    assert fan_json["fan_id"] == buyer.fan_id and fan_json["last_messages"][-1]["text"] == "that was amazing"
    assert "combo1" not in p.user.split("ALLOWED_CONTENT_KEYS: ", 1)[1].splitlines()[0]


def test_whale_prompt_gets_whale_sections(demo):
    whale = FanFactory(creator=demo, state="whale_candidate", total_spent=300)
    assert build_prompt(demo, whale).sections == [1, 2, 10, 11, 14]


def test_prompt_is_trimmed_oldest_messages_first_to_fit(demo, buyer):
    for i in range(10):
        Message.objects.create(fan=buyer, direction="in", text=f"message {i} " + "blah " * 300)
    full = build_prompt(demo, buyer, limit=100_000)
    limit = full.tokens - 600
    p = build_prompt(demo, buyer, limit=limit)
    assert p.tokens <= limit and p.trimmed >= 1
    kept = json.loads(p.user.split("FAN: ", 1)[1].splitlines()[0])["last_messages"]
    assert kept[-1]["text"].startswith("message 9")  # the newest survive
    assert count_tokens(p.system) + count_tokens(p.user) == p.tokens


def test_worker_links_the_llm_call_to_the_action_it_produced(llm_on, demo, buyer, fake_platform, settings):
    from salesbot.pipeline.queue import enqueue

    type(demo).objects.filter(pk=demo.pk).update(api_base_url=fake_platform.url, api_key=fake_platform.api_key)
    enqueue(buyer, "message")
    worker.drain(demo)
    action = Action.objects.get(fan=buyer)
    assert action.source == "llm" and action.status == "sent" and action.route == "spent_1_plus"
    assert LLMCall.objects.get().action == action
