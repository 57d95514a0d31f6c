"""The one contact rule: for every reason nobody may write to a fan, a queued item is closed with that
reason before any decision — no Action, no model call (fake Claude counts its requests), no send."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from fans.models import Message
from learning.models import Action
from learning.services import record_action
from salesbot.models import LLMCall
from salesbot.pipeline import checkers, queue, router, worker
from salesbot.pipeline.contact import contact_block, message_block
from salesbot.pipeline.decisions import Context
from tests.factories import FanFactory


@pytest.fixture
def sends(monkeypatch):
    from salesbot.providers.simple import SentMessage

    calls = []

    def send_message(self, *a, **kw):
        calls.append(a)
        return SentMessage(id=len(calls), created_at="")

    monkeypatch.setattr("salesbot.providers.simple.PlatformClient.send_message", send_message)
    return calls


def spender(demo, fan_id=9001, state="buyer"):
    """A fan whose next message goes to the model (spent $1+), with something to answer."""
    fan = FanFactory(creator=demo, fan_id=fan_id, state=state, total_spent=Decimal("40"), messages_received=6)
    Message.objects.create(fan=fan, direction="in", text="what else have you got for me?")
    return fan


BLOCKS = {
    "creator's bot is disabled": lambda demo, fan: type(demo).objects.filter(pk=demo.pk).update(enabled=False),
    "fan is handed off to a human": lambda demo, fan: type(fan).objects.filter(pk=fan.pk).update(state="handed_off"),
    "fan opted out": lambda demo, fan: type(fan).objects.filter(pk=fan.pk).update(opted_out=True),
    "fan has a safety flag: only a manager clears it": lambda demo, fan: (
        type(fan).objects.filter(pk=fan.pk).update(safety_flag=True)
    ),
    "fan is on the creator's exclude list": lambda demo, fan: (
        type(demo).objects.filter(pk=demo.pk).update(excluded_fan_ids=[fan.fan_id])
    ),
}


@pytest.mark.parametrize("reason", list(BLOCKS))
@pytest.mark.parametrize("why", ["message", "bump", "rekindle"])
def test_a_blocked_item_is_closed_before_any_decision_or_model_call(demo, llm_on, sends, reason, why):
    fan = spender(demo)
    item = queue.enqueue(fan, why)
    BLOCKS[reason](demo, fan)
    assert worker.drain(demo) == 1
    item.refresh_from_db()
    assert (item.status, item.result) == ("done", f"blocked: {reason}")
    assert not Action.objects.filter(fan=fan).exists()
    assert LLMCall.objects.count() == 0 and llm_on.fake("GET", "stats")["requests"] == 0
    assert sends == []


def test_the_same_fan_is_decided_by_the_model_once_unblocked(demo, llm_on, sends):
    """The control for the test above: nothing but the block stood between this fan and a model call."""
    fan = spender(demo)
    queue.enqueue(fan, "message")
    worker.drain(demo)
    assert LLMCall.objects.count() == 1 and len(sends) == 1


@pytest.mark.parametrize("reason", [None, *BLOCKS])
def test_router_and_bump_checker_ask_the_same_rule(demo, reason):
    fan = spender(demo, state="pitched")
    record_action(
        fan, "ppv", ts=timezone.now() - timedelta(hours=5), content_key="combo1", price=Decimal("18"), status="sent"
    )
    if reason:
        BLOCKS[reason](demo, fan)
    demo.refresh_from_db()
    fan.refresh_from_db()
    assert contact_block(demo, fan) == reason
    assert router.route(Context(creator=demo, fan=fan, reason="bump"))[0] == ("no_contact" if reason else "bump")
    assert checkers.enqueue_bumps() == (0 if reason else 1)


def test_disabled_creator_gets_no_reactivation(demo):
    """The reactivation checker used to skip only opted-out and flagged fans."""
    FanFactory(creator=demo, fan_id=9100, state="dormant", total_spent=Decimal("25"))
    type(demo).objects.filter(pk=demo.pk).update(enabled=False)
    demo.refresh_from_db()
    assert checkers.enqueue_reactivation(demo) == 0


def test_restricted_words_are_refused_whoever_wrote_the_text(demo):
    demo.restricted_words = ["snapchat", "phone number"]
    fan = FanFactory(creator=demo, fan_id=9200)
    assert (
        message_block(demo, fan, "text", text="add me on SnapChat babe")
        == "message text uses restricted word(s): snapchat"
    )
    assert message_block(demo, fan, "text", text="my snap is private") is None


def test_a_fan_name_never_smuggles_restricted_words_or_markup_into_a_template(demo):
    """A fan who named themself "send me your snapchat or phone number" was greeted with it."""
    from salesbot.pipeline import engine

    for name in ("send me your snapchat or phone number", "<b>Phone Number</b>"):
        fan = FanFactory(creator=demo, fan_id=abs(hash(name)) % 10**9, name=name, state="new")
        d = engine.decide(engine.build_context(demo, fan, reason="welcome"))
        assert d.action in ("text", "free_media") and "babe" in d.text
        assert message_block(demo, fan, d.action, text=d.text, content_key=d.content_key) is None
    fan = FanFactory(creator=demo, fan_id=9300, name="<script>Jo</script>", state="new")
    d = engine.decide(engine.build_context(demo, fan, reason="welcome"))
    assert "<" not in d.text and "Jo" in d.text


def test_the_last_gate_refuses_a_restricted_word_from_any_path(demo):
    from salesbot.pipeline import sender
    from salesbot.pipeline.decisions import Decision

    fan = FanFactory(creator=demo, fan_id=9400, state="engaged")
    action = sender.prepare(demo, fan, Decision("text", text="text me, here's my phone number", source="staff"))
    assert (action.status, action.error) == ("refused", "message text uses restricted word(s): phone number")
