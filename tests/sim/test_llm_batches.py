"""The fake Claude's Message Batches API (sim/llm_batches.py), run as a subprocess and driven through the REAL
`anthropic` SDK: the SDK must parse its batches and results as it would the real API's."""

import json
import os
import time

import anthropic
import pytest
import requests

from tests.fake_processes import FakeLLMProcess

pytestmark = pytest.mark.integration

PROMPT = "ALLOWED_CONTENT_KEYS: combo5, solo2\nPRICE_BOUNDS: 12.5-40\nAnswer with exactly ONE JSON line."


def params(user="fan: hey", **kw):
    return {
        "model": "claude-opus-5-5",
        "max_tokens": 300,
        "system": PROMPT,
        "messages": [{"role": "user", "content": user}],
        **kw,
    }


@pytest.fixture
def llm(fake_llm):
    fake_llm.fake("POST", "batch", json={"seconds": 0.3})
    return fake_llm


def ended(client, batch_id, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = client.messages.batches.retrieve(batch_id)
        if batch.processing_status == "ended":
            return batch
        time.sleep(0.05)
    raise AssertionError("the fake batch did not end")


def test_a_batch_is_in_progress_then_ends_with_one_result_per_request(llm):
    client = llm.client()
    batch = client.messages.batches.create(
        requests=[
            {"custom_id": "offer-1", "params": params()},
            {"custom_id": "bump-2", "params": params("FOLLOW_UP (bump): nudge\nReply with one JSON line.")},
        ]
    )
    assert batch.type == "message_batch" and batch.id.startswith("msgbatch_")
    assert batch.processing_status == "in_progress" and batch.results_url is None
    assert batch.request_counts.processing == 2 and batch.request_counts.succeeded == 0
    assert (batch.expires_at - batch.created_at).total_seconds() == 24 * 3600
    done = ended(client, batch.id)
    assert done.request_counts.succeeded == 2 and done.request_counts.processing == 0 and done.ended_at
    assert done.results_url == f"{llm.url}/v1/messages/batches/{batch.id}/results"
    results = {line.custom_id: line.result for line in client.messages.batches.results(batch.id)}
    assert set(results) == {"offer-1", "bump-2"} and {r.type for r in results.values()} == {"succeeded"}
    offer = json.loads(results["offer-1"].message.content[0].text)
    assert offer["action"] == "ppv" and offer["content_key"] == "combo5" and offer["price"] == 13  # as /v1/messages
    bump = json.loads(results["bump-2"].message.content[0].text)
    assert bump["action"] == "text" and "content_key" not in bump  # a follow-up is one short text
    usage = results["offer-1"].message.usage
    assert usage.service_tier == "batch" and usage.input_tokens > 0 and usage.output_tokens > 0
    assert [b["custom_ids"] for b in llm.fake("GET", "batches")["batches"]] == [["offer-1", "bump-2"]]
    assert all(r["batch"] for r in llm.fake("GET", "requests")["requests"])


def test_error_modes_make_errored_results_and_outcomes_expire_or_cancel_them(llm):
    client = llm.client()
    llm.fake("POST", "mode", json={"mode": "529", "times": 1})
    batch = client.messages.batches.create(
        requests=[{"custom_id": "a", "params": params()}, {"custom_id": "b", "params": params()}]
    )
    ended(client, batch.id)
    results = {line.custom_id: line.result for line in client.messages.batches.results(batch.id)}
    assert sorted(r.type for r in results.values()) == ["errored", "succeeded"]
    errored = next(r for r in results.values() if r.type == "errored")
    assert errored.error.type == "error" and errored.error.error.type == "overloaded_error"
    for outcome in ("expired", "canceled"):
        llm.fake("POST", "batch", json={"outcome": outcome})
        batch = client.messages.batches.create(requests=[{"custom_id": "c", "params": params()}])
        assert getattr(ended(client, batch.id).request_counts, outcome) == 1
        assert [line.result.type for line in client.messages.batches.results(batch.id)] == [outcome]


def test_cancel_is_canceling_then_ended_with_every_request_canceled(llm):
    client = llm.client()
    llm.fake("POST", "batch", json={"seconds": 60})
    batch = client.messages.batches.create(requests=[{"custom_id": "a", "params": params()}])
    assert client.messages.batches.cancel(batch.id).processing_status == "canceling"
    done = client.messages.batches.retrieve(batch.id)
    assert done.processing_status == "ended" and done.request_counts.canceled == 1 and done.cancel_initiated_at
    assert [line.result.type for line in client.messages.batches.results(batch.id)] == ["canceled"]


def test_unknown_batches_bad_requests_and_missing_keys_get_the_apis_errors(llm):
    client = llm.client()
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.retrieve("msgbatch_nope")
    with pytest.raises(anthropic.BadRequestError, match="custom_id"):
        client.messages.batches.create(requests=[{"custom_id": "a b", "params": params()}])
    with pytest.raises(anthropic.BadRequestError, match="custom_id"):
        client.messages.batches.create(
            requests=[{"custom_id": "a", "params": params()}, {"custom_id": "a", "params": params()}]
        )
    with pytest.raises(anthropic.BadRequestError, match="max_tokens"):
        client.messages.batches.create(requests=[{"custom_id": "a", "params": {**params(), "max_tokens": 0}}])
    llm.fake("POST", "batch", json={"seconds": 60})
    batch = client.messages.batches.create(requests=[{"custom_id": "a", "params": params()}])
    r = requests.get(f"{llm.url}/v1/messages/batches/{batch.id}/results", headers={"x-api-key": "k"}, timeout=5)
    assert r.status_code == 400 and "still processing" in r.json()["error"]["message"]
    r = requests.get(f"{llm.url}/v1/messages/batches/{batch.id}", timeout=5)
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"


def test_the_processing_time_is_a_flag():
    server = FakeLLMProcess("--batch-seconds", "0")
    try:
        client = server.client()
        batch = client.messages.batches.create(requests=[{"custom_id": "a", "params": params()}])
        assert client.messages.batches.retrieve(batch.id).processing_status == "ended"
    finally:
        server.stop()
        os.unlink(server.log.name)
