from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.cache import cache

from fans.models import Message
from fans.state_machine import transition
from learning.models import Action
from learning.services import record_action, record_outcome

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo"
T0 = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture(autouse=True)
def fresh_stats_cache():
    cache.clear()
    yield
    cache.clear()


def converse(fan):
    """A short sale: welcome, reply, PPV, purchase. Returns nothing; everything lands in the fan's books."""
    transition(fan, "greeted", "welcome sent", at=at(0))
    record_action(
        fan,
        "welcome",
        ts=at(0),
        content_key="gfe_selfie",
        message_text="hey 💕",
        status=Action.Status.SENT,
        fan_state="new",
    )
    Message.objects.create(fan=fan, direction="out", text="hey 💕", ts=at(0))
    Message.objects.create(fan=fan, direction="in", text="hi there", ts=at(5))
    record_outcome(fan, "replied", ts=at(5))
    transition(fan, "engaged", "fan replies", at=at(5))
    record_action(
        fan,
        "ppv",
        ts=at(6),
        content_key="combo3",
        price=Decimal("18"),
        hook="vulnerability",
        message_text="i've never shown this to anyone 🥺",
        status=Action.Status.SENT,
    )
    Message.objects.create(fan=fan, direction="out", text="i've never shown this to anyone 🥺", ts=at(6))
    transition(fan, "pitched", "PPV sent", at=at(6))
    record_outcome(fan, "purchased", ts=at(9), amount=Decimal("18"))
    transition(fan, "buyer", "fan purchases", at=at(9))


@pytest.fixture
def conversation(fan):
    converse(fan)
    return fan
