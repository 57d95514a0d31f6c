"""The rule engine on the demo creator: bounds 8..60, entry price 18, and this paid ladder:
tier 1 combo1 $12, combo3 $18; tier 2 combo5 $25; tier 3 combo7 $35; tier 4 video_long $50.
Free: gfe_selfie (greeting's selfie), tease_pic, sexting1_pic (free_hook's picture)."""

from decimal import Decimal

import pytest

from salesbot.pipeline import engine, rules
from tests.factories import FanFactory
from tests.salesbot.unit.helpers import hours, sent

GREETINGS_FOR_JOHN = {"hey John 💕 so happy you're here", "hiii John! welcome 🥰"}
PPV_TEXTS = {"i've never shown this to anyone 🥺", "only sending this to a few people tonight 🤫"}
REENGAGE_TEXTS = {"you went quiet on me 🥺", "tell me something about you 💭"}
TEASE_TEXTS = {"i just took something you'd like 🙈", "guess what i'm wearing rn 😏"}
ALL_PAID = ["combo1", "combo3", "combo5", "combo7", "video_long"]


@pytest.fixture
def john(demo):
    return FanFactory(creator=demo, fan_id=777, name="John", state="engaged")


def decide(creator, fan, reason="message", text=""):
    return engine.decide(engine.build_context(creator, fan, reason=reason, last_text=text))


def test_welcome_sends_the_greeting_selfie_as_free_media(demo, john):
    d = rules.greet(engine.build_context(demo, john, reason="welcome"))
    assert (d.action, d.content_key, d.hook) == ("free_media", "gfe_selfie", "curiosity")
    assert d.text in GREETINGS_FOR_JOHN


def test_greeting_is_text_only_once_the_selfie_was_sent(demo, john):
    john.content_sent = ["gfe_selfie"]
    d = rules.greet(engine.build_context(demo, john, reason="welcome"))
    assert (d.action, d.content_key) == ("text", "")
    assert d.text in GREETINGS_FOR_JOHN


def test_name_placeholder_falls_back_to_babe_for_a_nameless_fan(demo):
    fan = FanFactory(creator=demo, name="")
    d = rules.greet(engine.build_context(demo, fan, reason="welcome"))
    assert d.text in {"hey babe 💕 so happy you're here", "hiii babe! welcome 🥰"}
    assert "{name}" not in d.text


def test_zero_dollar_fan_gets_lowest_tier_at_the_entry_price(demo, john):
    d = rules.ppv(engine.build_context(demo, john))
    # tier 1 holds combo1 ($12) and combo3 ($18): the cheaper one first, offered at entry price $18.
    assert (d.action, d.content_key, d.price) == ("ppv", "combo1", Decimal("18"))
    assert d.text in PPV_TEXTS and d.hook == "vulnerability"


def test_ppv_never_offers_content_the_fan_already_has(demo, john):
    john.content_sent = ["combo1", "combo3"]
    d = rules.ppv(engine.build_context(demo, john))
    assert (d.content_key, d.price) == ("combo5", Decimal("18"))


def test_spender_gets_the_items_own_price(demo, john):
    john.total_spent = Decimal("30")
    john.content_sent = ["combo1", "combo3"]
    d = rules.ppv(engine.build_context(demo, john))
    assert (d.content_key, d.price) == ("combo5", Decimal("25"))


def test_entry_price_is_raised_into_the_creators_minimum(demo, john):
    demo.ppv_min_price = Decimal("20")
    demo.save()
    d = rules.ppv(engine.build_context(demo, john))
    assert (d.content_key, d.price) == ("combo1", Decimal("20"))


def test_item_price_is_lowered_to_the_creators_maximum(demo, john):
    demo.ppv_max_price = Decimal("30")
    demo.save()
    john.total_spent = Decimal("40")
    john.content_sent = ["combo1", "combo3", "combo5"]
    d = rules.ppv(engine.build_context(demo, john))
    assert (d.content_key, d.price) == ("combo7", Decimal("30"))


def test_item_without_platform_media_is_never_offered(demo, john):
    demo.vault_items.filter(content_key="combo1").update(media_ids=[])
    assert rules.ppv(engine.build_context(demo, john)).content_key == "combo3"


def test_no_unsent_paid_item_falls_back_to_a_reengage_text(demo, john):
    john.content_sent = list(ALL_PAID)
    d = rules.ppv(engine.build_context(demo, john))
    assert (d.action, d.content_key, d.price) == ("text", "", None)
    assert d.text in REENGAGE_TEXTS


def test_free_hook_sends_the_templates_picture(demo, john):
    d = rules.free_hook(engine.build_context(demo, john))
    assert (d.action, d.content_key, d.text, d.hook) == (
        "free_media",
        "sexting1_pic",
        "here's a little something for you 😘",
        "sexual_match",
    )


def test_free_hook_takes_another_free_item_once_the_templates_was_sent(demo, john):
    john.content_sent = ["sexting1_pic", "gfe_selfie"]
    assert rules.free_hook(engine.build_context(demo, john)).content_key == "tease_pic"


def test_free_hook_with_every_free_item_sent_teases_instead(demo, john):
    john.content_sent = ["sexting1_pic", "gfe_selfie", "tease_pic"]
    d = rules.free_hook(engine.build_context(demo, john))
    assert (d.action, d.content_key) == ("text", "") and d.text in TEASE_TEXTS


def test_creator_without_templates_still_gets_a_named_fallback(creator):
    fan = FanFactory(creator=creator, name="Ann")
    d = rules.greet(engine.build_context(creator, fan, reason="welcome"))
    assert (d.action, d.text) == ("text", "hey Ann 💕")


# --- engine.decide: route row recorded, rules run on the table's rows ---------------------------


@pytest.mark.parametrize(
    "msgs,row,action",
    [(1, "msg_1_2", "free_media"), (3, "msg_3_4", "text"), (5, "msg_5", "free_media"), (7, "msg_6_8", "ppv")],
)
def test_decide_records_the_route_row(demo, john, msgs, row, action):
    john.messages_received = msgs
    d = decide(demo, john, text="ok")
    assert (d.route, d.action) == (row, action)
    assert "llm_fallback" not in d.extra


def test_decide_on_buying_words_sends_the_entry_ppv(demo, john):
    john.messages_received = 1
    d = decide(demo, john, text="how much for something spicy?")
    assert (d.route, d.action, d.content_key, d.price) == ("buying_signal", "ppv", "combo1", Decimal("18"))


def test_decide_skips_a_handed_off_fan(demo, john):
    john.state = "handed_off"
    d = decide(demo, john, text="how much?")
    assert (d.route, d.action, d.reason) == ("no_contact", "skip", "fan is handed off to a human")


def test_decide_bump_and_rekindle_use_their_templates(demo, john):
    bump = decide(demo, john, reason="bump")
    assert (bump.route, bump.action, bump.text) == ("bump", "bump", "did you see what i sent you? 👀")
    rekindle = decide(demo, john, reason="rekindle")
    assert (rekindle.route, rekindle.action, rekindle.text) == (
        "rekindle",
        "rekindle",
        "missed you 💕 been thinking about you",
    )


def test_llm_row_for_a_spender_is_handled_by_rules_and_marked(demo, john, now):
    john.total_spent = Decimal("25")
    john.save()
    d = decide(demo, john, text="what else do you have for me?")
    assert d.route == "spent_1_plus"
    assert d.extra["llm_fallback"] == "no LLM configured"
    assert (d.action, d.content_key, d.price) == ("ppv", "combo1", Decimal("12"))
    assert d.reason.startswith("LLM route handled by rules")


def test_llm_row_after_a_bought_ppv_sends_aftercare(demo, john, now):
    john.total_spent = Decimal("18")
    john.save()
    sent(john, "ppv", now - hours(2), content_key="combo1", price=Decimal("18"), purchased=True)
    d = decide(demo, john, text="that was amazing")
    assert (d.route, d.action, d.text) == ("spent_1_plus", "text", "did you like it? 🥰 tell me your favourite part")
    assert d.extra["llm_fallback"]


def test_llm_row_with_an_unanswered_ppv_keeps_rapport(demo, john, now):
    john.total_spent = Decimal("18")
    john.save()
    sent(john, "ppv", now - hours(2), content_key="combo3", price=Decimal("25"))
    d = decide(demo, john, text="not sure about that one")
    assert (d.action, d.content_key) == ("text", "") and d.text in REENGAGE_TEXTS
    assert d.extra["llm_fallback"]


def test_msg_9_plus_zero_dollar_fan_goes_to_the_llm_row(demo, john):
    john.messages_received = 11
    d = decide(demo, john, text="so what now")
    assert d.route == "msg_9_plus" and d.extra["llm_fallback"] == "no LLM configured"
    assert (d.action, d.content_key, d.price) == ("ppv", "combo1", Decimal("18"))


def test_greeting_selfie_without_media_falls_back_to_text(demo, john):
    demo.vault_items.filter(content_key="gfe_selfie").update(media_ids=[])
    d = rules.greet(engine.build_context(demo, john, reason="welcome"))
    assert (d.action, d.content_key) == ("text", "")
    assert d.text in GREETINGS_FOR_JOHN
