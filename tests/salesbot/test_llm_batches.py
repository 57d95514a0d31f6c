"""Follow-ups the model writes through the Message Batches API (salesbot.pipeline.batches), against the fake Claude
and the fake platform as real processes: the worker holds the follow-up, the schedule's pass sends the batch and
reads its results, the worker applies them through the live reply's check and the one sender."""

import time
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone

from fans.models import Message
from learning.models import Action
from salesbot.models import LLMBatchRequest, LLMCall, QueueItem
from salesbot.pipeline import batches, checkers, intake, queue, worker
from salesbot.pipeline.llm import client as llm
from salesbot.pipeline.llm.prompt import build_prompt
from salesbot.pipeline.llm.reply import RejectedReply, validate
from sim.llm_decisions import FOLLOW_UP_LINES
from tests.factories import FanFactory
from tests.fake_processes import wait_until
from tests.salesbot.unit.helpers import message_payload, sent, store_event

pytestmark = pytest.mark.integration


@pytest.fixture
def batching(llm_on, demo, fake_platform):
    """The demo creator sends to the fake platform and batches its follow-ups; the fake's batches end in 0.3 s."""
    type(demo).objects.filter(pk=demo.pk).update(
        api_base_url=fake_platform.url, api_key=fake_platform.api_key, llm_batch_followups=True
    )
    demo.refresh_from_db()
    llm_on.fake("POST", "batch", json={"seconds": 0.3})
    return llm_on, fake_platform


def pitched_fan(demo, spent=18, **kw):
    """A fan who was offered combo3 five hours ago and has not bought it: due a bump (the model's fan when spent)."""
    fan = FanFactory(
        creator=demo, state="pitched", total_spent=spent, messages_received=6, content_sent=["combo1", "combo3"], **kw
    )
    Message.objects.create(fan=fan, direction="in", text="ok babe", ts=timezone.now() - timedelta(hours=5, minutes=1))
    sent(fan, "ppv", timezone.now() - timedelta(hours=5), content_key="combo3", price=Decimal("18"))
    return fan


def to_fan(platform, fan) -> list[dict]:
    return [m for m in platform.fake("GET", "messages")["messages"] if m["fan_id"] == fan.fan_id]


def held_and_sent(demo, fan) -> LLMBatchRequest:
    """The bump checker and the worker hold the bump; the schedule's pass sends it in a batch."""
    assert checkers.enqueue_bumps() == 1
    worker.drain(demo)
    assert "queued for the model's batch" in QueueItem.objects.get(fan=fan).result
    assert batches.run()["submitted"] == 1
    return LLMBatchRequest.objects.get(fan=fan)


def results_in() -> int:
    return wait_until(batches.poll, timeout=10, every=0.1)


def ended_then_results_in() -> int:
    """The batch ends before the schedule looks (0.3 s): its result arrives for a fan who moved on meanwhile
    (a batch still running when all its fans moved on is cancelled instead: see the tests at the end)."""
    time.sleep(0.4)
    return results_in()


def fan_writes(demo, fan, text, msg_id):
    intake.process_event(store_event(demo, "messages.received", message_payload(fan.fan_id, text, msg_id)))


def test_a_bump_goes_through_a_batch_and_is_sent_once_with_the_result(batching, demo):
    fake_llm, platform = batching
    fan = pitched_fan(demo)
    assert checkers.enqueue_bumps() == 1
    worker.drain(demo)
    req = LLMBatchRequest.objects.get(fan=fan)
    assert (req.kind, req.status, req.fan_state) == ("bump", "queued", "pitched")
    assert req.last_in_id == fan.messages.get().pk
    assert not Action.objects.filter(fan=fan, action="bump").exists() and to_fan(platform, fan) == []
    assert checkers.enqueue_bumps() == 0  # no second bump while the model writes this one

    assert batches.run() == {"results": 0, "swept": 0, "submitted": 1}
    req.refresh_from_db()
    assert req.status == "submitted" and req.batch_id.startswith("msgbatch_") and req.prompt_tokens > 0
    assert results_in() == 1
    req.refresh_from_db()
    assert (req.status, req.result) == ("ready", "succeeded")
    assert QueueItem.objects.filter(fan=fan, reason="bump", status="pending").exists()

    worker.drain(demo)
    bump = Action.objects.get(fan=fan, action="bump")
    assert (bump.source, bump.status, bump.route) == ("llm", "sent", "bump")
    assert bump.message_text in FOLLOW_UP_LINES
    messages = to_fan(platform, fan)
    assert [(m["text"], m["idempotency_key"]) for m in messages] == [(bump.message_text, str(bump.uuid))]
    req.refresh_from_db()
    assert (req.status, req.action) == ("applied", bump)
    call = LLMCall.objects.get()
    assert (call.batched, call.outcome, call.action, req.llm_call) == (True, "accepted", bump, call)
    usage = SimpleNamespace(
        input_tokens=call.input_tokens,
        output_tokens=call.output_tokens,
        cache_creation_input_tokens=call.cache_creation_tokens,
        cache_read_input_tokens=call.cache_read_tokens,
    )
    full = llm.cost_usd(call.model, usage)
    assert call.cost_usd == llm.cost_usd(call.model, usage, batch=True) == req.cost_usd
    assert abs(call.cost_usd * 2 - full) <= Decimal("0.000002") and call.cost_usd > 0

    # what the fake received: one batch with this request, the follow-up said in the fan's part of the prompt
    (batch,) = fake_llm.fake("GET", "batches")["batches"]
    assert (batch["id"], batch["custom_ids"]) == (req.batch_id, [req.custom_id])
    (received,) = fake_llm.fake("GET", "requests")["requests"]
    assert received["batch"] is True and "FOLLOW_UP (bump)" in received["body"]["messages"][0]["content"]
    assert received["usage"]["service_tier"] == "batch"

    # nothing more goes out: another pass, another worker run, another checker pass
    assert batches.run() == {"results": 0, "swept": 0, "submitted": 0}
    assert checkers.enqueue_bumps() == 0
    worker.drain(demo)
    assert len(to_fan(platform, fan)) == 1


def test_a_result_that_comes_after_the_fan_wrote_is_dropped_and_the_fan_gets_its_normal_reply(batching, demo):
    _, platform = batching
    fan = pitched_fan(demo)
    req = held_and_sent(demo, fan)
    fan_writes(demo, fan, "what are you up to tonight?", 501)  # the inbound path answers at once
    worker.drain(demo)
    (reply,) = to_fan(platform, fan)
    assert ended_then_results_in() == 1
    req.refresh_from_db()
    assert req.status == "stale" and "the fan wrote" in req.error
    call = LLMCall.objects.get(batched=True)
    assert call.outcome == "stale" and call.cost_usd > 0 and call.action is None  # paid for, booked, not used
    worker.drain(demo)
    assert to_fan(platform, fan) == [reply]
    assert not Action.objects.filter(fan=fan, action="bump").exists()


def test_a_fan_who_writes_after_the_result_came_before_its_turn_gets_only_the_normal_reply(batching, demo):
    _, platform = batching
    fan = pitched_fan(demo)
    req = held_and_sent(demo, fan)
    assert results_in() == 1
    fan_writes(demo, fan, "hey you", 502)  # the pending bump item now answers the fan's message
    assert QueueItem.objects.get(fan=fan, status="pending").reason == "message"
    worker.drain(demo)
    assert len(to_fan(platform, fan)) == 1
    assert not Action.objects.filter(fan=fan, action="bump").exists()
    assert batches.sweep(now=timezone.now() + batches.READY_RETRY * 2) == 1  # the result left behind is dropped
    req.refresh_from_db()
    assert req.status == "stale" and "the fan wrote" in req.error
    worker.drain(demo)
    assert len(to_fan(platform, fan)) == 1


@pytest.mark.parametrize("change", ["opted out", "handed off", "a person wrote", "bought"])
def test_a_result_for_a_fan_who_moved_on_is_dropped_and_nothing_is_sent(batching, demo, change):
    _, platform = batching
    fan = pitched_fan(demo)
    req = held_and_sent(demo, fan)
    if change == "opted out":
        type(fan).objects.filter(pk=fan.pk).update(opted_out=True)
    elif change == "handed off":
        type(fan).objects.filter(pk=fan.pk).update(state="handed_off")
    elif change == "a person wrote":
        Message.objects.create(fan=fan, direction="out", by_human=True, text="hey it's me")
    else:
        type(fan).objects.filter(pk=fan.pk).update(state="buyer")
    assert ended_then_results_in() == 1
    req.refresh_from_db()
    assert req.status == "stale" and req.error
    assert LLMCall.objects.get(batched=True).outcome == "stale"
    worker.drain(demo)
    assert to_fan(platform, fan) == [] and not Action.objects.filter(fan=fan, action="bump").exists()


@pytest.mark.parametrize(
    "fake,why",
    [
        ({"mode": "500"}, "batch request errored: api_error"),
        ({"outcome": "expired"}, "batch request expired"),
        ({"outcome": "canceled"}, "batch request canceled"),
        ({"mode": "unknown_key"}, "LLM reply rejected: a bump follow-up is a text or a skip, not a ppv"),
    ],
)
def test_no_usable_result_falls_back_to_the_rules_bump(batching, demo, fake, why):
    fake_llm, platform = batching
    fake_llm.fake("POST", "mode" if "mode" in fake else "batch", json=fake)
    fan = pitched_fan(demo)
    req = held_and_sent(demo, fan)
    assert results_in() == 1
    worker.drain(demo)
    bump = Action.objects.get(fan=fan, action="bump")
    assert (bump.source, bump.status, bump.route) == ("rules", "sent", "bump")
    assert why in bump.extra["llm_fallback"]
    assert [m["text"] for m in to_fan(platform, fan)] == [bump.message_text]
    req.refresh_from_db()
    assert (req.status, req.action) == ("fell_back", bump)
    calls = {c.outcome: c for c in LLMCall.objects.filter(batched=True)}
    if "mode" in fake and fake["mode"] == "500":
        assert calls["error"].cost_usd == 0 and "api_error" in calls["error"].error
    elif "outcome" in fake:
        assert calls == {}  # an expired or canceled request never ran: nothing to book
    else:
        assert calls["rejected"].cost_usd > 0 and calls["rejected"].action == bump


def test_a_batch_the_api_does_not_take_is_sent_again_then_the_rules_bump(batching, demo, settings):
    _, platform = batching
    fan = pitched_fan(demo)
    assert checkers.enqueue_bumps() == 1
    worker.drain(demo)
    settings.ANTHROPIC_BASE_URL = "http://127.0.0.1:9"  # nothing listens: the create call fails
    for attempt in range(1, batches.SUBMIT_ATTEMPTS + 1):
        assert batches.submit() == 0
        assert LLMBatchRequest.objects.get(fan=fan).attempts == attempt
    req = LLMBatchRequest.objects.get(fan=fan)
    assert (req.status, req.result) == ("ready", "errored") and "not accepted" in req.error
    worker.drain(demo)
    bump = Action.objects.get(fan=fan, action="bump")
    assert bump.source == "rules" and bump.status == "sent" and len(to_fan(platform, fan)) == 1


def test_a_create_whose_answer_was_lost_is_not_sent_again_and_the_model_is_paid_once(batching, demo):
    fake_llm, platform = batching
    fan = pitched_fan(demo)
    assert checkers.enqueue_bumps() == 1
    worker.drain(demo)
    fake_llm.fake("POST", "batch", json={"lose_answers": 1})  # created at the API, answered 500
    assert batches.submit() == 1  # found at the API: taken as sent, not sent again
    (batch,) = fake_llm.fake("GET", "batches")["batches"]
    req = LLMBatchRequest.objects.get(fan=fan)
    assert (req.status, req.batch_id, req.attempts) == ("submitted", batch["id"], 1)
    assert results_in() == 1
    worker.drain(demo)
    assert len(fake_llm.fake("GET", "batches")["batches"]) == 1 and LLMCall.objects.filter(batched=True).count() == 1
    assert [m["text"] for m in to_fan(platform, fan)] == [LLMBatchRequest.objects.get(fan=fan).action.message_text]


def test_with_the_setting_off_a_bump_is_decided_at_once_as_before(batching, demo):
    fake_llm, platform = batching
    type(demo).objects.filter(pk=demo.pk).update(llm_batch_followups=False)
    fan = pitched_fan(demo)
    assert checkers.enqueue_bumps() == 1
    worker.drain(demo)
    bump = Action.objects.get(fan=fan, action="bump")
    assert (bump.source, bump.status) == ("rules", "sent") and len(to_fan(platform, fan)) == 1
    assert not LLMBatchRequest.objects.exists() and fake_llm.fake("GET", "batches")["batches"] == []
    assert batches.run() == {"results": 0, "swept": 0, "submitted": 0}


def test_a_fan_off_the_models_rows_gets_the_rules_bump_at_once(batching, demo):
    _, platform = batching
    fan = pitched_fan(demo, spent=0)  # 6 messages, nothing spent: a rules fan
    assert checkers.enqueue_bumps() == 1
    worker.drain(demo)
    assert Action.objects.get(fan=fan, action="bump").source == "rules"
    assert not LLMBatchRequest.objects.exists()


def test_a_rekindle_goes_through_a_batch(batching, demo):
    _, platform = batching
    fan = FanFactory(creator=demo, state="dormant", total_spent=30, messages_received=12, content_sent=["combo1"])
    Message.objects.create(fan=fan, direction="in", text="thanks", ts=timezone.now() - timedelta(days=2))
    assert checkers.enqueue_reactivation(demo) == 1
    worker.drain(demo)
    assert batches.run()["submitted"] == 1
    assert checkers.enqueue_reactivation(demo) == 0  # none while the model writes it
    assert results_in() == 1
    worker.drain(demo)
    rekindle = Action.objects.get(fan=fan, action="rekindle")
    assert (rekindle.source, rekindle.status, rekindle.route) == ("llm", "sent", "rekindle")
    assert [m["text"] for m in to_fan(platform, fan)] == [rekindle.message_text]


@pytest.mark.parametrize("renews", [False, True])
def test_a_re_engage_message_to_an_expired_fan_goes_through_a_batch(batching, demo, renews):
    _, platform = batching
    type(demo).objects.filter(pk=demo.pk).update(reengage_expired=True)
    fan = FanFactory(creator=demo, state="buyer", total_spent=25, messages_received=10, subscription_status="expired")
    queue.enqueue(fan, QueueItem.Reason.EXPIRED)
    worker.drain(demo)
    assert batches.run()["submitted"] == 1
    if renews:  # the fan subscribed again while the batch worked
        type(fan).objects.filter(pk=fan.pk).update(subscription_status="active")
    assert results_in() == 1
    worker.drain(demo)
    req = LLMBatchRequest.objects.get(fan=fan)
    if renews:
        assert req.status == "stale" and "subscribed again" in req.error and to_fan(platform, fan) == []
        return
    action = Action.objects.get(fan=fan)
    assert (action.action, action.source, action.route, action.status) == ("text", "llm", "expired", "sent")
    assert req.status == "applied" and [m["text"] for m in to_fan(platform, fan)] == [action.message_text]


def test_the_follow_up_prompt_and_its_check(demo):
    fan = pitched_fan(demo)
    prompt = build_prompt(demo, fan, follow_up="bump")
    assert "FOLLOW_UP (bump)" in prompt.user and "FOLLOW_UP" not in prompt.system  # the cached part is unchanged
    assert prompt.system == build_prompt(demo, fan).system
    text = {"action": "text", "message_text": "did you see it? 🙈", "hook": "curiosity"}
    assert validate(text, demo, fan, follow_up="bump").action == "bump"
    assert validate(text, demo, fan, follow_up="rekindle").action == "rekindle"
    assert validate(text, demo, fan, follow_up="expired").action == "text"
    assert validate({"action": "skip"}, demo, fan, follow_up="bump").action == "skip"
    with pytest.raises(RejectedReply, match="not a ppv"):
        validate({**text, "action": "ppv", "content_key": "combo5", "price": 20}, demo, fan, follow_up="bump")


def test_a_running_batch_whose_every_follow_up_went_stale_is_cancelled_and_nothing_is_billed(batching, demo):
    fake_llm, platform = batching
    fake_llm.fake("POST", "batch", json={"seconds": 60})  # still running when the fan writes
    fan = pitched_fan(demo)
    req = held_and_sent(demo, fan)
    fan_writes(demo, fan, "hey are you there", 502)
    worker.drain(demo)
    (reply,) = to_fan(platform, fan)
    assert batches.poll() == 0  # not ended: cancelled instead of waited for
    assert results_in() == 1  # the fake ends a cancelled batch with every request "canceled"
    req.refresh_from_db()
    assert (req.status, req.result) == ("stale", "canceled") and "the fan wrote" in req.error
    assert not LLMCall.objects.filter(batched=True).exists()  # canceled before it ran: no model call to pay
    worker.drain(demo)
    assert to_fan(platform, fan) == [reply]


def test_a_running_batch_with_a_follow_up_that_still_fits_is_left_to_run(batching, demo):
    fake_llm, _ = batching
    fake_llm.fake("POST", "batch", json={"seconds": 60})
    stale, _still_fits = pitched_fan(demo), pitched_fan(demo)
    assert checkers.enqueue_bumps() == 2
    worker.drain(demo)
    assert batches.run()["submitted"] == 2
    fan_writes(demo, stale, "hey are you there", 503)
    worker.drain(demo)
    assert batches.poll() == 0
    assert batches.poll() == 0 and LLMBatchRequest.objects.filter(status="submitted").count() == 2  # asked again
    assert not fake_llm.fake("GET", "batches")["batches"][0]["ended"]
