"""The fake Anthropic API, run as a subprocess and driven through the REAL `anthropic` SDK.

Everything that talks to the LLM in tests and `make run` goes through this fake, so the SDK must parse
its replies and map its failures to the same exceptions as against the real API.
"""

import json
import math
import os
import time

import anthropic
import pytest
import requests

from tests.fake_processes import FakeLLMProcess

pytestmark = pytest.mark.integration

MODEL = "claude-sonnet-4-6"
KEYS = ["combo5", "solo2", "tease1"]
PROMPT = (
    f"You are the creator's sales assistant.\nALLOWED_CONTENT_KEYS: {', '.join(KEYS)}\n"
    "PRICE_BOUNDS: 12.5-40\nAnswer with exactly ONE JSON line."
)
USER = "fan: hey babe what are you up to tonight?"


@pytest.fixture
def llm(fake_llm):
    return fake_llm


def ask(client, system=PROMPT, user=USER, **kw):
    return client.messages.create(
        model=MODEL, max_tokens=300, system=system, messages=[{"role": "user", "content": user}], **kw
    )


def reply_text(message) -> str:
    assert message.type == "message" and message.role == "assistant" and message.stop_reason == "end_turn"
    assert len(message.content) == 1 and message.content[0].type == "text"
    return message.content[0].text


def test_valid_mode_returns_one_json_line_within_the_prompt_constraints(llm):
    message = ask(llm.client())
    text = reply_text(message)
    assert "\n" not in text
    decision = json.loads(text)
    assert decision["action"] == "ppv" and decision["content_key"] in KEYS
    assert 12.5 <= decision["price"] <= 40 and decision["price"] == 13
    assert decision["message_text"] and decision["hook"] == "vulnerability" and decision["reason"] == "fake llm"
    assert message.id.startswith("msg_") and message.model == MODEL and message.stop_sequence is None
    usage = message.usage
    assert usage.input_tokens == math.ceil((len(PROMPT) + len(USER)) / 4)
    assert usage.output_tokens > 0 and usage.cache_creation_input_tokens == 0 and usage.cache_read_input_tokens == 0


@pytest.mark.parametrize("system", ["You are a sales assistant.", "ALLOWED_CONTENT_KEYS:\nPRICE_BOUNDS: 5-10"])
def test_valid_mode_without_allowed_keys_answers_a_text_action(llm, system):
    decision = json.loads(reply_text(ask(llm.client(), system=system)))
    assert decision == {
        "action": "text",
        "message_text": "tell me more about you 💕",
        "hook": "curiosity",
        "reason": "fake llm",
    }


def test_prompt_lines_are_found_in_messages_and_system_blocks(llm):
    system = [{"type": "text", "text": "You sell."}, {"type": "text", "text": "PRICE_BOUNDS: 7.2-7.5"}]
    decision = json.loads(reply_text(ask(llm.client(), system=system, user="ALLOWED_CONTENT_KEYS: solo9")))
    assert decision["content_key"] == "solo9" and decision["price"] == 7.2  # ceil(7.2) is out of bounds


def test_bad_output_modes(llm):
    client = llm.client()
    llm.fake("POST", "mode", json={"mode": "prose"})
    prose = reply_text(ask(client))
    with pytest.raises(ValueError):
        json.loads(prose)
    assert "{" not in prose

    llm.fake("POST", "mode", json={"mode": "two_lines"})
    lines = reply_text(ask(client)).split("\n")
    assert len(lines) == 2 and all(isinstance(json.loads(line), dict) for line in lines)

    llm.fake("POST", "mode", json={"mode": "unknown_key"})
    decision = json.loads(reply_text(ask(client)))
    assert decision["action"] == "ppv" and decision["content_key"] == "not_in_vault" and 12.5 <= decision["price"] <= 40

    llm.fake("POST", "mode", json={"mode": "bad_price"})
    decision = json.loads(reply_text(ask(client)))
    assert decision["content_key"] in KEYS and decision["price"] == 99999

    llm.fake("POST", "mode", json={"mode": "fenced"})
    text = reply_text(ask(client))
    assert text.startswith("```json\n") and text.endswith("\n```")
    assert json.loads(text[len("```json\n") : -len("\n```")])["content_key"] in KEYS


def test_mode_times_reverts_to_the_previous_mode(llm):
    client = llm.client()
    llm.fake("POST", "mode", json={"mode": "fenced"})
    state = llm.fake("POST", "mode", json={"mode": "prose", "times": 2})
    assert state["mode"] == "fenced" and state["override"] == {"mode": "prose", "delay": None, "remaining": 2}
    texts = [reply_text(ask(client)) for _ in range(3)]
    assert "{" not in texts[0] and "{" not in texts[1] and texts[2].startswith("```json")
    assert [r["mode"] for r in llm.fake("GET", "requests")["requests"]] == ["prose", "prose", "fenced"]


def test_unknown_mode_or_bad_times_is_rejected(llm):
    assert requests.post(f"{llm.url}/_fake/mode", json={"mode": "nope"}, timeout=5).status_code == 400
    assert requests.post(f"{llm.url}/_fake/mode", json={"mode": "429", "times": 0}, timeout=5).status_code == 400
    assert llm.fake("GET", "stats")["mode"] == "valid"


def test_429_raises_rate_limit_error_without_retries(llm):
    llm.fake("POST", "mode", json={"mode": "429"})
    with pytest.raises(anthropic.RateLimitError) as exc:
        ask(llm.client(max_retries=0))
    assert exc.value.status_code == 429 and exc.value.response.headers["retry-after"] == "0"
    assert exc.value.body["error"]["type"] == "rate_limit_error"
    assert exc.value.request_id and exc.value.request_id.startswith("req_")


def test_429_once_then_the_sdk_retry_succeeds(llm):
    llm.fake("POST", "mode", json={"mode": "429", "times": 1})
    decision = json.loads(reply_text(ask(llm.client(max_retries=2))))
    assert decision["content_key"] in KEYS
    received = llm.fake("GET", "requests")["requests"]
    assert [(r["mode"], r["status"]) for r in received] == [("429", 429), ("valid", 200)]
    assert received[0]["body"] == received[1]["body"]


def test_500_and_529_raise_server_errors(llm):
    llm.fake("POST", "mode", json={"mode": "500"})
    with pytest.raises(anthropic.InternalServerError) as exc:
        ask(llm.client())
    assert exc.value.status_code == 500 and exc.value.body["error"]["type"] == "api_error"
    assert not isinstance(exc.value, anthropic.OverloadedError)

    llm.fake("POST", "mode", json={"mode": "529"})
    with pytest.raises(anthropic.OverloadedError) as exc:
        ask(llm.client())
    assert exc.value.status_code == 529 and exc.value.body["error"]["type"] == "overloaded_error"


def test_slow_mode_times_out_the_client(llm):
    llm.fake("POST", "mode", json={"mode": "slow"})  # default delay: 30 s
    started = time.monotonic()
    with pytest.raises(anthropic.APITimeoutError):
        ask(llm.client(timeout=0.5, max_retries=0))
    assert time.monotonic() - started < 5


def test_slow_mode_with_short_delay_answers_valid(llm):
    llm.fake("POST", "mode", json={"mode": "slow", "delay": 0.3, "times": 1})
    started = time.monotonic()
    assert json.loads(reply_text(ask(llm.client(timeout=5))))["content_key"] in KEYS
    assert time.monotonic() - started >= 0.3


def test_cache_control_creates_then_reads_the_cached_prefix(llm):
    client = llm.client()
    big = "Creator persona and rules. " * 200
    system = [{"type": "text", "text": big, "cache_control": {"type": "ephemeral"}}, {"type": "text", "text": PROMPT}]
    total = math.ceil((len(big) + len(PROMPT) + len(USER)) / 4)
    cached = math.ceil(len(big) / 4)

    first = ask(client, system=system).usage
    assert (first.cache_creation_input_tokens, first.cache_read_input_tokens) == (cached, 0)
    assert first.input_tokens == total - cached
    second = ask(client, system=system, user=USER + " again").usage
    assert (second.cache_creation_input_tokens, second.cache_read_input_tokens) == (0, cached)
    assert second.input_tokens == math.ceil((len(big) + len(PROMPT) + len(USER + " again")) / 4) - cached

    changed = [{**system[0], "text": big + "!"}, system[1]]
    assert ask(client, system=changed).usage.cache_creation_input_tokens == math.ceil((len(big) + 1) / 4)
    count = client.messages.count_tokens(model=MODEL, system=system, messages=[{"role": "user", "content": USER}])
    assert count.input_tokens == total

    llm.fake("POST", "reset")
    assert ask(client, system=system).usage.cache_creation_input_tokens == cached


def test_count_tokens(llm):
    client = llm.client()
    messages = [
        {"role": "user", "content": USER},
        {"role": "assistant", "content": "hi 💕"},
        {"role": "user", "content": [{"type": "text", "text": "send pics"}]},
    ]
    count = client.messages.count_tokens(model=MODEL, system=PROMPT, messages=messages)
    assert count.input_tokens == math.ceil((len(PROMPT) + len(USER) + len("hi 💕") + len("send pics")) / 4)
    assert llm.fake("GET", "stats")["count_tokens"] == 1
    assert llm.fake("GET", "requests")["requests"] == []  # only /v1/messages calls are recorded


def test_api_key_header_is_required(llm):
    body = {"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    for path in ("/v1/messages", "/v1/messages/count_tokens"):
        r = requests.post(llm.url + path, json=body, headers={"anthropic-version": "2023-06-01"}, timeout=5)
        assert r.status_code == 401
        assert r.json() == {
            "type": "error",
            "error": {"type": "authentication_error", "message": "x-api-key header is required"},
        }
    r = requests.post(
        llm.url + "/v1/messages",
        json=body,
        timeout=5,
        headers={"x-api-key": "anything", "anthropic-version": "2023-06-01"},
    )
    assert r.status_code == 200 and r.json()["type"] == "message"
    r = requests.post(llm.url + "/v1/messages", json=body, headers={"Authorization": "Bearer "}, timeout=5)
    assert r.status_code == 401
    r = requests.post(llm.url + "/v1/messages", json=body, headers={"Authorization": "Bearer sk-x"}, timeout=5)
    assert r.status_code == 200  # how anthropic>=2 sends api_key
    assert llm.fake("GET", "stats")["unauthorized"] == 3


def test_invalid_requests_get_anthropic_error_bodies(llm):
    h = {"x-api-key": "x"}
    r = requests.post(llm.url + "/v1/messages", data=b"{nope", headers=h, timeout=5)
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    r = requests.post(llm.url + "/v1/messages", json={"model": MODEL, "messages": []}, headers=h, timeout=5)
    assert r.status_code == 400 and "max_tokens" in r.json()["error"]["message"]
    assert requests.post(llm.url + "/v1/nope", json={}, headers=h, timeout=5).status_code == 404
    with pytest.raises(anthropic.BadRequestError):
        llm.client().messages.create(model=MODEL, max_tokens=10, messages="nope")


def test_requests_and_stats_record_what_was_received(llm):
    client = llm.client()
    ask(client)
    llm.fake("POST", "mode", json={"mode": "500", "times": 1})
    with pytest.raises(anthropic.InternalServerError):
        ask(client)
    received = llm.fake("GET", "requests")["requests"]
    assert len(received) == 2
    assert received[0]["body"]["system"] == PROMPT and received[0]["body"]["max_tokens"] == 300
    assert received[0]["body"]["messages"] == [{"role": "user", "content": USER}]
    first = received[0]
    assert first["mode"] == "valid" and first["usage"]["input_tokens"] == first["estimated_input_tokens"]
    assert received[0]["anthropic_version"] and json.loads(received[0]["reply"])["content_key"] in KEYS
    assert received[1]["mode"] == "500" and received[1]["status"] == 500
    stats = llm.fake("GET", "stats")
    assert stats["by_mode"] == {"valid": 1, "500": 1}
    assert stats["requests"] == 2 and stats["errors"] == 1
    assert stats["input_tokens"] == first["usage"]["input_tokens"] and stats["output_tokens"] > 0
    llm.fake("POST", "reset")
    assert llm.fake("GET", "requests")["requests"] == [] and llm.fake("GET", "stats")["requests"] == 0


def test_cli_mode_flag_and_clean_sigterm_shutdown():
    server = FakeLLMProcess("--mode", "fenced", "--delay", "0")
    try:
        assert reply_text(ask(server.client())).startswith("```json")
        server.fake("POST", "mode", json={"mode": "slow", "times": 1})  # --delay 0 given: no wait
        started = time.monotonic()
        assert json.loads(reply_text(ask(server.client())))["content_key"] in KEYS
        assert time.monotonic() - started < 2
        assert server.fake("POST", "reset")["ok"] and server.fake("GET", "stats")["mode"] == "fenced"
    finally:
        assert server.stop() == 0
        out = server.output()
        os.unlink(server.log.name)
    assert f"listening on http://127.0.0.1:{server.port}" in out and "fake llm stopped" in out
