"""The history staff look at in the browser journey: one fan's whole conversation, and enough PPVs
across prices, hooks and hours that the dashboard has something to say (some cells thin, most not)."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from fans.facts import remember
from fans.models import FanFact, Message
from fans.services import hand_off
from fans.state_machine import transition
from learning.models import Action
from learning.services import record_action, record_outcome
from salesbot.models import LLMCall
from tests.factories import FanFactory

T0 = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
# price → chance a fan buys; hooks and hours are drawn independently.
PRICES = {"12": 0.45, "18": 0.38, "25": 0.25, "35": 0.15, "50": 0.1}
HOOKS = ["vulnerability", "scarcity", "challenge", "exclusivity"]
HOURS = [14, 18, 21, 23]
STATES = ["pitched", "buyer", "engaged", "dormant", "greeted"]


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def maya(creator):
    """A fan whose timeline has every kind of entry: messages both ways, actions, outcomes, moves."""
    fan = FanFactory(creator=creator, fan_id=77001234, name="Maya")

    def say(minute, direction, text):
        return Message.objects.create(fan=fan, direction=direction, text=text, ts=at(minute))

    transition(fan, "greeted", "welcome sent", at=at(0))
    record_action(
        fan,
        "welcome",
        ts=at(0),
        content_key="gfe_selfie",
        message_text="hey Maya 💕 so happy you're here",
        status=Action.Status.SENT,
        source=Action.Source.RULES,
        fan_state="new",
    )
    say(0, "out", "hey Maya 💕 so happy you're here")
    say(4, "in", "hi! love your pics")
    record_outcome(fan, "replied", ts=at(4))
    transition(fan, "engaged", "fan replies", at=at(4))
    record_action(
        fan,
        "tease",
        ts=at(5),
        content_key="tease_pic",
        message_text="made this one just for you 😏",
        status=Action.Status.SENT,
        source=Action.Source.LLM,
    )
    say(5, "out", "made this one just for you 😏")
    say(9, "in", "omg. do you have more?")
    record_outcome(fan, "replied", ts=at(9))
    record_action(
        fan,
        "ppv",
        ts=at(10),
        content_key="combo3",
        price=Decimal("18"),
        hook="vulnerability",
        message_text="i've never shown this set to anyone 🥺",
        status=Action.Status.SENT,
        source=Action.Source.LLM,
    )
    say(10, "out", "i've never shown this set to anyone 🥺")
    transition(fan, "pitched", "PPV sent", at=at(10))
    record_outcome(fan, "purchased", ts=at(14), amount=Decimal("18"))
    transition(fan, "buyer", "fan purchases", at=at(14))
    say(15, "in", "worth it 🔥")
    record_outcome(fan, "replied", ts=at(15))
    fan.total_spent, fan.messages_received, fan.messages_sent, fan.last_interaction_ts = Decimal("18"), 3, 3, at(15)
    fan.signals = ["buying", "emotional"]
    fan.save(update_fields=["total_spent", "messages_received", "messages_sent", "last_interaction_ts", "signals"])
    remember(fan, "dog's name: Biscuit", key="pet:dog", source=FanFact.Source.RULES, ts=at(9))
    remember(
        fan,
        "bought combo3 ($18), then said: \u201cworth it 🔥\u201d",
        key="reaction:combo3",
        source=FanFact.Source.RULES,
        ts=at(15),
    )
    return fan


def sales(creator, fans: int = 120, seed: int = 6):
    """`fans` one-PPV fans: the rule engine or the LLM pitched each once; some bought, others ghosted.
    A few more were offered the top-tier video at $50: a thin cell, drawn pale with a wide whisker."""
    rng = random.Random(seed)
    prices = [list(PRICES)[i % 4] for i in range(fans)] + ["50"] * 6
    for i, price in enumerate(prices):
        fan = FanFactory(creator=creator, state=rng.choice(STATES))
        ts = T0.replace(hour=rng.choice(HOURS)) + timedelta(days=i % 7)
        source = Action.Source.LLM if rng.random() < 0.4 else Action.Source.RULES
        record_action(
            fan,
            "ppv",
            ts=ts,
            price=Decimal(price),
            hook=rng.choice(HOOKS),
            fan_state="pitched",
            content_key="combo3",
            source=source,
            status=Action.Status.SENT,
        )
        if rng.random() < PRICES[price]:
            record_outcome(fan, "purchased", ts=ts + timedelta(minutes=7), amount=Decimal(price))
        else:
            record_outcome(fan, "ghosted", ts=ts + timedelta(hours=25))
    for outcome, cost in [
        ("accepted", "0.041"),
        ("accepted", "0.038"),
        ("accepted", "0.044"),
        ("rejected", "0.035"),
        ("error", "0"),
    ]:
        LLMCall.objects.create(
            creator=creator,
            model=creator.llm_model,
            outcome=outcome,
            cost_usd=Decimal(cost),
            input_tokens=2100,
            output_tokens=90,
        )


def safety_case(creator):
    """A fan the safety check handed to a human: the "needs a human" list shows them before anyone else."""
    fan = FanFactory(creator=creator, fan_id=77009999, name="Kai", state="engaged", last_interaction_ts=at(-60))
    return hand_off(fan, "says they are 17", safety=True)
