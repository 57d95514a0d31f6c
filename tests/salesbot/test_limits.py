"""Per-fan 24h spend cap and the custom-request approval limit."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from learning.services import record_outcome
from salesbot.pipeline import engine, sender
from salesbot.pipeline.decisions import Decision
from salesbot.pipeline.safety import screen_message
from tests.factories import FanFactory


def refusal(creator, fan, d):
    """The last gate asked about a Decision's message."""
    return sender.refusal(creator, fan, d.action, text=d.text, content_key=d.content_key, price=d.price)


@pytest.fixture
def demo(demo):
    """The shared demo creator with a low spend cap and approval limit."""
    c = demo
    c.daily_spend_cap = Decimal("100")
    c.custom_approval_limit = Decimal("300")
    c.save()
    return c


def test_fan_over_the_24h_cap_gets_no_ppv_offer(demo):
    fan = FanFactory(creator=demo, state="engaged", messages_received=6)
    record_outcome(fan, "purchased", amount=Decimal("60"))
    record_outcome(fan, "tipped", amount=Decimal("40"))
    d = engine.decide(engine.build_context(demo, fan, last_text="how much for the next one?"))
    assert d.action == "text" and "spend cap" in d.reason
    ppv = Decision("ppv", text="x", content_key="combo3", price=Decimal("18"))
    assert "spend cap" in refusal(demo, fan, ppv)


def test_spend_older_than_24h_does_not_count(demo):
    fan = FanFactory(creator=demo, state="engaged", messages_received=6)
    record_outcome(fan, "purchased", amount=Decimal("150"), ts=timezone.now() - timedelta(hours=25))
    d = engine.decide(engine.build_context(demo, fan, last_text="how much?"))
    assert d.action == "ppv"


OVER, NEW_CONTENT = "custom request over the approval limit", "custom request needs new content"


# Issue #15: a custom under the limit still needs new content, so it goes to a human too (was: not handed off).
@pytest.mark.parametrize(
    "text,reason",
    [
        ("can you make me a custom video? i'll pay $400", OVER),
        ("custom for 300 dollars?", OVER),
        ("can you make me a custom? $50", NEW_CONTENT),
        ("i'd pay $400 for that", None),  # no custom request
    ],
)
def test_custom_request_at_or_over_the_limit_goes_to_a_human(demo, text, reason):
    handed = reason is not None
    fan = FanFactory(creator=demo, state="buyer")
    assert screen_message(demo, fan, text) is handed
    fan.refresh_from_db()
    assert (fan.state == "handed_off") is handed
    if handed:
        assert fan.handoff_reason == f"needs a human: {reason}" and not fan.safety_flag  # a sale, not a safety case
