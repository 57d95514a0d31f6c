"""Never the same line twice to a fan, never a second PPV on an unanswered one: the sender's last gate
(salesbot.pipeline.repeats.refusal via sender.refusal) and how the rule path chooses around a spent line."""

from decimal import Decimal

import pytest

from fans.models import Message
from salesbot.pipeline import engine, rules, sender
from salesbot.pipeline.decisions import Decision
from salesbot.pipeline.offers import HOOK_LINES
from salesbot.pipeline.repeats import normalise
from tests.factories import FanFactory
from tests.salesbot.unit.helpers import hours, sent


def refusal(creator, fan, d):
    """The last gate asked about a Decision's message."""
    return sender.refusal(creator, fan, d.action, text=d.text, content_key=d.content_key, price=d.price)


@pytest.fixture
def fan(demo):
    return FanFactory(creator=demo, fan_id=4711, name="John", state="engaged", messages_received=3)


def ppv(key="combo3"):
    return Decision("ppv", text="a brand new line 🥺", content_key=key, price=Decimal("18"))


def test_case_spacing_and_the_fans_name_do_not_make_a_line_new():
    assert normalise("Hey  JOHN 💕 so happy", "John") == normalise(
        "hey {name} 💕  so happy".format(name="john"), "John"
    )
    assert normalise("hey John", "John") != normalise("hey Johnny", "John")


def test_the_gate_refuses_a_line_the_fan_already_had(demo, fan, now):
    sent(fan, "text", now - hours(1), message_text="tell me something about you 💭")
    why = refusal(demo, fan, Decision("text", text="Tell me something  about you 💭"))
    assert why == "the fan already had this line: never the same line twice"
    assert refusal(demo, fan, Decision("text", text="what did you do today? 💭")) is None


def test_the_gate_counts_lines_the_seeds_bot_sent_too(demo, fan, now):
    sent(fan, "text", now - hours(30), message_text="missed you John 💕", status="logged", source="import")
    assert refusal(demo, fan, Decision("rekindle", text="missed you john 💕")) is not None


def test_a_refused_repeat_is_logged_with_its_reason_and_not_sent(demo, fan, now):
    sent(fan, "text", now - hours(1), message_text="hey 💕")
    action = sender.prepare(demo, fan, Decision("text", text="hey 💕"))
    assert (action.status, action.error) == ("refused", "the fan already had this line: never the same line twice")


def test_a_second_ppv_before_the_fan_writes_is_refused_but_a_bump_goes(demo, fan, now):
    sent(fan, "ppv", now - hours(5), content_key="combo1", price=Decimal("18"), message_text="for you 🥺")
    assert refusal(demo, fan, ppv()) == (
        "the fan has not answered the last PPV yet: no second offer before the fan writes"
    )
    assert refusal(demo, fan, Decision("bump", text="did you see it? 👀")) is None


def test_a_ppv_after_the_fan_wrote_is_allowed(demo, fan, now):
    sent(fan, "ppv", now - hours(5), content_key="combo1", price=Decimal("18"), message_text="for you 🥺")
    Message.objects.create(fan=fan, direction="in", text="maybe later", ts=now - hours(1))
    assert refusal(demo, fan, ppv()) is None


def test_a_spent_ppv_hook_takes_another_hooks_line_and_records_that_hook(demo, fan, now):
    for i, line in enumerate(["i've never shown this to anyone 🥺", "only sending this to a few people tonight 🤫"]):
        sent(fan, "text", now - hours(3 - i), message_text=line)
    d = rules.ppv(engine.build_context(demo, fan))
    assert d.hook != "vulnerability" and d.text == HOOK_LINES[d.hook]
    assert normalise(d.text) not in {
        "i've never shown this to anyone 🥺",
        "only sending this to a few people tonight 🤫",
    }
    assert (d.action, d.content_key, d.price) == ("ppv", "combo1", Decimal("18"))  # the offer itself is unchanged


def test_with_every_line_spent_and_no_llm_the_bot_waits_and_says_why(demo, fan, now, settings):
    settings.ANTHROPIC_API_KEY = ""
    for i, line in enumerate(
        [
            "i just took something you'd like 🙈",
            "guess what i'm wearing rn 😏",
            "you went quiet on me 🥺",
            "tell me something about you 💭",
        ]
        + rules.DEFAULT_VARIANTS[rules.K.MORE]
    ):
        sent(fan, "text", now - hours(10 - i / 10), message_text=line)
    d = engine.decide(engine.build_context(demo, fan, last_text="lol"))  # msg 3-4: a tease
    assert (d.action, d.route) == ("skip", "msg_3_4")
    assert d.reason == ("waiting for the fan: no unused tease/more/re-engage line left for this fan; no LLM configured")


def test_with_the_llm_budget_spent_the_bot_waits_without_calling_it(demo, fan, now, settings):
    settings.ANTHROPIC_API_KEY, settings.ANTHROPIC_BASE_URL = "key", "http://127.0.0.1:9"  # nothing listens
    settings.LLM_MAX_SHARE = 0
    for i, line in enumerate(
        [
            "i just took something you'd like 🙈",
            "guess what i'm wearing rn 😏",
            "you went quiet on me 🥺",
            "tell me something about you 💭",
        ]
        + rules.DEFAULT_VARIANTS[rules.K.MORE]
    ):
        sent(fan, "text", now - hours(10 - i / 10), message_text=line)
    d = engine.decide(engine.build_context(demo, fan, last_text="lol"))
    assert d.action == "skip" and d.reason.endswith("; the LLM budget is spent")
