"""What each ops endpoint says, against small scenarios whose numbers are worked out by hand."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from fans.models import FanTransition, Message
from fans.state_machine import transition
from learning.models import Action
from learning.services import record_action, record_outcome
from models_registry.models import Creator
from salesbot.models import LLMCall, QueueItem, WebhookEvent
from tests.factories import CreatorFactory, FanFactory

T0 = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


def t(minutes):
    return T0 + timedelta(minutes=minutes)


def test_fan_detail_shows_state_history_and_recent_messages(staff_api, creator, fan):
    Message.objects.create(fan=fan, direction="in", text="hey gorgeous", ts=t(0))
    Message.objects.create(fan=fan, direction="out", text="hiii John 🥰", ts=t(1))
    transition(fan, "greeted", "welcome sent", at=t(1))
    transition(fan, "engaged", "fan replies", at=t(2))
    record_action(fan, "ppv", ts=t(3), price=Decimal("18"), content_key="combo3", status=Action.Status.SENT)
    body = staff_api.get(f"/api/{creator.slug}/fan/{fan.fan_id}").json()
    assert body["fan_id"] == fan.fan_id and body["state"] == "engaged" and body["name"] == "John"
    assert [(h["from"], h["to"], h["reason"]) for h in body["history"]] == [
        ("new", "greeted", "welcome sent"),
        ("greeted", "engaged", "fan replies"),
    ]
    assert [(m["direction"], m["text"]) for m in body["recent_messages"]] == [
        ("in", "hey gorgeous"),
        ("out", "hiii John 🥰"),
    ]
    assert body["recent_actions"][0]["content_key"] == "combo3" and body["recent_actions"][0]["price"] == 18.0


def test_fan_of_another_creator_is_404(staff_api, creator):
    other_fan = FanFactory(creator=CreatorFactory())
    assert staff_api.get(f"/api/{creator.slug}/fan/{other_fan.fan_id}").status_code == 404


def test_handoff_moves_the_fan_and_records_the_reason(staff_api, creator, fan):
    r = staff_api.post(
        f"/api/{creator.slug}/fan/{fan.fan_id}/handoff", {"reason": "asks for a video call"}, format="json"
    )
    assert r.status_code == 200
    assert r.json() == {"fan_id": fan.fan_id, "state": "handed_off", "handoff_reason": "asks for a video call"}
    fan.refresh_from_db()
    assert fan.state == "handed_off" and fan.handoff_reason == "asks for a video call"
    move = FanTransition.objects.get(fan=fan)
    assert (move.to_state, move.reason, move.by_staff) == ("handed_off", "asks for a video call", True)


def test_handoff_without_reason_names_the_staff_user(staff_api, creator, fan):
    r = staff_api.post(f"/api/{creator.slug}/fan/{fan.fan_id}/handoff")
    assert r.json()["handoff_reason"] == "handed off by ops"


def test_disable_then_enable_flip_the_switch(staff_api, creator):
    r = staff_api.post(f"/api/{creator.slug}/disable")
    assert r.json() == {"creator": creator.slug, "enabled": False}
    assert Creator.objects.get(pk=creator.pk).enabled is False
    assert staff_api.get(f"/api/{creator.slug}/health").json()["enabled"] is False
    assert staff_api.post(f"/api/{creator.slug}/enable").json()["enabled"] is True
    assert Creator.objects.get(pk=creator.pk).enabled is True


def test_performance_from_a_crafted_scenario(staff_api, creator):
    whale, buyer, lurker = (FanFactory(creator=creator, name=n) for n in ("Whale", "Buyer", "Lurker"))
    # 4 PPVs: whale buys 2 ($18, $35), buyer buys 1 ($25), lurker buys none; the whale also tips $10.
    record_action(whale, "ppv", ts=t(0), price=Decimal("18"))
    record_outcome(whale, "purchased", ts=t(1), amount=Decimal("18"))
    record_action(whale, "ppv", ts=t(2), price=Decimal("35"))
    record_outcome(whale, "purchased", ts=t(3), amount=Decimal("35"))
    record_outcome(whale, "tipped", ts=t(4), amount=Decimal("10"))
    record_action(buyer, "ppv", ts=t(0), price=Decimal("25"))
    record_outcome(buyer, "purchased", ts=t(1), amount=Decimal("25"))
    record_action(lurker, "ppv", ts=t(0), price=Decimal("18"))
    record_outcome(lurker, "replied", ts=t(1))
    for f, spent in ((whale, "63"), (buyer, "25")):
        f.total_spent = Decimal(spent)
        f.save()
    FanFactory(creator=CreatorFactory(), total_spent=Decimal("999"))  # another creator's fan: not counted

    body = staff_api.get(f"/api/{creator.slug}/performance").json()
    assert body["revenue"] == 88.0  # 18 + 35 + 25 + 10
    assert (body["purchases"], body["tips"]) == (3, 1)
    assert (body["ppv_sent"], body["ppv_bought"], body["ppv_conversion"]) == (4, 3, 75.0)
    assert [f["name"] for f in body["top_fans"]] == ["Whale", "Buyer", "Lurker"]
    assert body["top_fans"][0]["total_spent"] == 63.0


def test_performance_counts_only_ppvs_that_went_out_like_learning_stats(staff_api, creator):
    """A refused, failed or pending PPV never reached the fan: /performance used to count it as sent."""
    buyer, quiet = FanFactory(creator=creator), FanFactory(creator=creator)
    bought = record_action(
        buyer,
        "ppv",
        ts=t(0),
        price=Decimal("18"),
        hook="vulnerability",
        content_key="combo3",
        status=Action.Status.SENT,
    )
    record_outcome(buyer, "purchased", ts=t(1), amount=Decimal("18"), action=bought, pinned=True)
    record_action(
        quiet, "ppv", ts=t(0), price=Decimal("25"), hook="scarcity", content_key="combo5", status=Action.Status.SENT
    )
    for status in (Action.Status.REFUSED, Action.Status.FAILED, Action.Status.PENDING):
        record_action(quiet, "ppv", ts=t(2), price=Decimal("25"), hook="scarcity", content_key="combo7", status=status)

    body = staff_api.get(f"/api/{creator.slug}/performance").json()
    learning = staff_api.get(f"/api/{creator.slug}/learning/stats").json()
    assert (body["ppv_sent"], body["ppv_bought"], body["ppv_conversion"]) == (2, 1, 50.0)
    assert body["ppv_sent"] == sum(c["sent"] for c in learning["conversion_by_price"].values())
    assert (
        body["conversion_by_price"]
        == learning["conversion_by_price"]
        == {"18": {"sent": 1, "bought": 1, "rate": 100.0}, "25": {"sent": 1, "bought": 0, "rate": 0.0}}
    )
    assert body["conversion_by_hook"] == learning["conversion_by_hook"]
    assert body["conversion_by_content"] == learning["conversion_by_content"]
    assert "combo7" not in body["conversion_by_content"]


def test_stats_counts_webhooks_sends_errors_and_llm_cost(staff_api, creator, fan):
    for status in ("processed", "processed", "failed", "ignored"):
        WebhookEvent.objects.create(creator=creator, raw_body="{}", status=status)
    record_action(fan, "text", source=Action.Source.RULES, status=Action.Status.SENT)
    record_action(fan, "ppv", source=Action.Source.LLM, status=Action.Status.SENT, price=Decimal("18"))
    record_action(fan, "text", source=Action.Source.LLM, status=Action.Status.FAILED, error="platform 500")
    record_action(fan, "ppv", source=Action.Source.IMPORT, status=Action.Status.LOGGED)  # history: not counted
    LLMCall.objects.create(
        creator=creator,
        fan=fan,
        model="claude",
        outcome="accepted",
        cost_usd=Decimal("0.0125"),
        input_tokens=1000,
        output_tokens=50,
    )
    LLMCall.objects.create(creator=creator, fan=fan, model="claude", outcome="error", cost_usd=Decimal("0"))
    body = staff_api.get(f"/api/{creator.slug}/stats").json()
    assert body["webhooks"] == {"processed": 2, "failed": 1, "ignored": 1}
    assert (body["sends"], body["send_errors"]) == (2, 1)
    assert body["decisions_by_source"] == {"rules": 1, "llm": 2}
    assert body["llm"]["calls"] == 2 and body["llm"]["cost_usd"] == pytest.approx(0.0125)
    assert body["llm"]["by_outcome"] == {"accepted": 1, "error": 1}
    assert body["llm"]["tokens"]["input"] == 1000


def test_queue_lists_waiting_fans_richest_first_and_who_needs_a_human(staff_api, creator):
    poor, rich = (
        FanFactory(creator=creator, name="Poor"),
        FanFactory(creator=creator, name="Rich", total_spent=Decimal("300")),
    )
    QueueItem.objects.create(creator=creator, fan=poor)
    QueueItem.objects.create(creator=creator, fan=rich)
    flagged = FanFactory(creator=creator, name="Flagged", state="handed_off", safety_flag=True)
    parked = FanFactory(creator=creator, name="Parked", state="dormant", safety_flag=True)
    handed = FanFactory(creator=creator, name="Handed", state="handed_off")
    body = staff_api.get(f"/api/{creator.slug}/queue").json()
    assert body["depth"] == 2 and [i["name"] for i in body["items"]] == ["Rich", "Poor"]
    names = [h["name"] for h in body["needs_human"]]
    assert sorted(names[:2]) == sorted([flagged.name, parked.name]) and names[2:] == [handed.name]


def test_training_and_learning_stats_carry_the_learning_numbers(staff_api, creator, fan):
    record_action(fan, "ppv", ts=t(0), price=Decimal("18"), hook="vulnerability")
    record_outcome(fan, "purchased", ts=t(1), amount=Decimal("18"))
    stats = staff_api.get(f"/api/{creator.slug}/learning/stats").json()
    assert stats["conversion_by_price"] == {"18": {"sent": 1, "bought": 1, "rate": 100.0}}
    assert stats["top_hooks"] == [["vulnerability", 1]]
    cell = stats["posterior_by_price"]["18"]
    assert cell["mean"] == pytest.approx(2 / 3, abs=1e-4) and cell["thin"] is True
    training = staff_api.get(f"/api/{creator.slug}/training").json()
    assert training["learning_stats"]["totals"] == {"actions": 1, "outcomes": 1}


def test_training_summary_says_what_the_stats_rest_on(staff_api, creator, fan):
    record_action(fan, "ppv", ts=t(0), price=Decimal("18"), source=Action.Source.IMPORT)
    record_outcome(fan, "purchased", ts=t(1), amount=Decimal("18"))
    record_action(fan, "text", ts=t(60), source=Action.Source.RULES, status=Action.Status.SENT)
    record_outcome(fan, "replied", ts=t(61))
    FanFactory(creator=creator)  # a fan with no history yet
    record_action(FanFactory(creator=CreatorFactory()), "ppv", price=Decimal("9"))  # another creator's
    s = staff_api.get(f"/api/{creator.slug}/training").json()["summary"]
    assert (s["actions"], s["outcomes"], s["fans"], s["fans_with_actions"]) == (2, 2, 2, 1)
    assert s["actions_by_source"] == {"import": 1, "rules": 1}
    assert s["actions_by_kind"] == {"ppv": 1, "text": 1}
    assert s["outcomes_by_event"] == {"purchased": 1, "replied": 1}
    assert (s["ppv_sent"], s["ppv_bought"]) == (1, 1)
    assert s["first_action_ts"].startswith("2026-11-20T18:00") and s["last_action_ts"].startswith("2026-11-20T19:00")
    assert s["min_sample"] == creator.min_sample and s["exploration_enabled"] is True
    assert s["offer_policy"] == "learned"


def test_reactivate_queues_dormant_spenders_once(staff_api, creator):
    spender = FanFactory(creator=creator, state="dormant", total_spent=Decimal("40"))
    FanFactory(creator=creator, state="dormant")  # never spent: left alone
    FanFactory(creator=creator, state="engaged", total_spent=Decimal("40"))  # not dormant
    assert staff_api.post(f"/api/{creator.slug}/reactivate").json() == {"queued": 1}
    item = QueueItem.objects.get()
    assert (item.fan, item.reason) == (spender, "rekindle")
    staff_api.post(f"/api/{creator.slug}/reactivate")
    assert QueueItem.objects.count() == 1  # asked twice, still queued once
