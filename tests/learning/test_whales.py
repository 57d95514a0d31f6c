"""Whale scoring (docs/architecture.md#whale-candidates): each signal's points, 3+ points turns a buyer into a
whale_candidate."""

from decimal import Decimal

import pytest

from fans.models import FanTransition
from learning.services import record_outcome
from learning.whales import detect_whale_signals, update_whale_score
from salesbot.pipeline import intake
from tests.factories import FanFactory
from tests.salesbot.unit.helpers import hours, sent, store_event


@pytest.fixture
def old_fan(creator, now):
    """A buyer who subscribed ten days ago, so nothing below falls in the first 24h unless placed there."""
    return FanFactory(creator=creator, state="buyer", created_ts=now - hours(240))


def buy(fan, amount, ts, n=1):
    for _ in range(n):
        record_outcome(fan, "purchased", ts=ts, amount=Decimal(amount))


def set_spent(fan, total):
    fan.total_spent = Decimal(total)
    fan.save()


def test_nothing_scores_zero(old_fan):
    assert detect_whale_signals(old_fan) == (0, [])


def test_100_in_first_24h_is_two_points(old_fan):
    buy(old_fan, "60", old_fan.created_ts + hours(2))
    buy(old_fan, "40", old_fan.created_ts + hours(23))
    set_spent(old_fan, "100")
    assert detect_whale_signals(old_fan) == (2, ["$100+ spent in first 24h"])


def test_tips_count_toward_the_first_day(old_fan):
    buy(old_fan, "50", old_fan.created_ts + hours(1))
    record_outcome(old_fan, "tipped", ts=old_fan.created_ts + hours(3), amount=Decimal("50"))
    set_spent(old_fan, "100")
    assert detect_whale_signals(old_fan)[0] == 2


@pytest.mark.parametrize("amount,after", [("99.99", 2), ("100", 25)])
def test_under_100_or_after_day_one_is_no_first_day_points(old_fan, amount, after):
    buy(old_fan, amount, old_fan.created_ts + hours(after))
    set_spent(old_fan, amount)
    assert detect_whale_signals(old_fan) == (0, [])


def test_custom_request_is_two_points(old_fan):
    old_fan.signals = ["custom_request"]
    assert detect_whale_signals(old_fan) == (2, ["custom content request"])


def test_buying_everything_is_two_points(old_fan, now):
    buy(old_fan, "10", now - hours(5), n=5)
    set_spent(old_fan, "50")
    assert detect_whale_signals(old_fan) == (2, ["buys everything (5+ items, $50+ total)"])


@pytest.mark.parametrize("items,each,total", [(4, "15", "60"), (5, "9.99", "49.95")])
def test_four_items_or_under_50_is_not_buying_everything(old_fan, now, items, each, total):
    buy(old_fan, each, now - hours(5), n=items)
    set_spent(old_fan, total)
    assert detect_whale_signals(old_fan) == (0, [])


def test_200_total_is_two_points(old_fan):
    set_spent(old_fan, "200")
    assert detect_whale_signals(old_fan) == (2, ["$200+ total spend"])


def test_199_total_is_no_points(old_fan):
    set_spent(old_fan, "199.99")
    assert detect_whale_signals(old_fan) == (0, [])


def test_emotional_attachment_is_one_point(old_fan):
    old_fan.signals = ["emotional", "sexual"]
    assert detect_whale_signals(old_fan) == (1, ["emotional attachment"])


@pytest.mark.parametrize("msgs,points", [(9, 0), (10, 1), (40, 1)])
def test_ten_messages_is_one_point(old_fan, msgs, points):
    old_fan.messages_received = msgs
    assert detect_whale_signals(old_fan)[0] == points


def test_signals_add_up(old_fan):
    old_fan.signals = ["custom_request", "emotional"]
    old_fan.messages_received = 12
    set_spent(old_fan, "250")
    assert detect_whale_signals(old_fan)[0] == 2 + 2 + 1 + 1


def test_three_points_turn_a_buyer_into_a_whale_candidate(old_fan):
    old_fan.signals = ["custom_request", "emotional"]
    old_fan.save()
    assert update_whale_score(old_fan) == 3
    old_fan.refresh_from_db()
    assert (old_fan.state, old_fan.whale_score) == ("whale_candidate", 3)
    t = FanTransition.objects.get(fan=old_fan)
    assert (t.from_state, t.to_state) == ("buyer", "whale_candidate")
    assert "custom content request" in t.reason and "emotional attachment" in t.reason


def test_two_points_keep_a_buyer_a_buyer_but_store_the_score(old_fan):
    old_fan.signals = ["custom_request"]
    old_fan.save()
    assert update_whale_score(old_fan) == 2
    old_fan.refresh_from_db()
    assert (old_fan.state, old_fan.whale_score) == ("buyer", 2)
    assert not FanTransition.objects.filter(fan=old_fan).exists()


@pytest.mark.parametrize("state", ["engaged", "pitched", "new", "dormant"])
def test_a_non_buyer_with_three_points_keeps_its_state(creator, now, state):
    fan = FanFactory(creator=creator, state=state, signals=["custom_request", "emotional"], created_ts=now - hours(240))
    assert update_whale_score(fan) == 3
    fan.refresh_from_db()
    assert (fan.state, fan.whale_score) == (state, 3)
    assert not FanTransition.objects.filter(fan=fan).exists()


def test_score_drops_are_stored_too(old_fan):
    old_fan.whale_score = 4
    old_fan.save()
    assert update_whale_score(old_fan) == 0
    old_fan.refresh_from_db()
    assert old_fan.whale_score == 0


def test_a_big_unlock_makes_a_custom_asking_fan_a_whale_in_one_event(creator, now):
    fan = FanFactory(
        creator=creator, fan_id=321, state="pitched", signals=["custom_request"], created_ts=now - hours(240)
    )
    sent(fan, "ppv", now - hours(1), content_key="combo7", price=Decimal("35"), platform_message_id=7001)
    event = store_event(
        creator,
        "messages.ppv.unlocked",
        {"fan": {"id": 321, "name": "Big"}, "message_id": 7001, "amount": 200},
        created_at=now,
    )
    intake.process_event(event)
    fan.refresh_from_db()
    # custom request 2 + $200 total 2 = 4 points: pitched -> buyer -> whale_candidate.
    assert (fan.state, fan.whale_score, fan.total_spent) == ("whale_candidate", 4, Decimal("200"))
    assert list(fan.transitions.values_list("to_state", flat=True)) == ["buyer", "whale_candidate"]
