"""Issue 21, the spec audit and export/import: rekindles to dormant fans can ghost, /training and
/performance count what the stats count, "ok babe" stays away from the model, and a fan's protection,
arm and marks survive an export and an import into an empty database."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from fans.models import Fan
from learning.models import Action, Outcome
from learning.seed.files import export_seed_logs, import_seed_logs
from learning.services import record_action, record_outcome
from learning.stats import compute_learning_stats
from salesbot.api import selectors
from salesbot.pipeline import checkers
from salesbot.pipeline.cues import is_filler
from tests.factories import FanFactory


def test_an_unanswered_rekindle_to_a_dormant_fan_is_ghosted(demo):
    now = timezone.now()
    fan = FanFactory(
        creator=demo,
        fan_id=21300,
        state="dormant",
        total_spent=Decimal("30"),
        last_interaction_ts=now - timedelta(days=5),
    )
    rekindle = record_action(fan, "rekindle", ts=now - timedelta(hours=25), status="sent", message_text="miss u")
    answered = FanFactory(creator=demo, fan_id=21301, state="dormant", last_interaction_ts=now - timedelta(days=5))
    fresh = record_action(answered, "rekindle", ts=now - timedelta(hours=30), status="sent", message_text="hey")
    record_outcome(answered, "replied", ts=now - timedelta(hours=29))
    checkers.mark_dormant(now=now)
    rekindle.refresh_from_db()
    fresh.refresh_from_db()
    assert rekindle.ghosted and Outcome.objects.filter(action=rekindle, event="ghosted").count() == 1
    assert not fresh.ghosted
    checkers.mark_dormant(now=now + timedelta(hours=1))  # once
    assert Outcome.objects.filter(action=rekindle, event="ghosted").count() == 1
    stage = compute_learning_stats(demo)["ghost_rate_by_stage"]["dormant"]
    assert stage["ghosted"] == 1


def test_training_summary_counts_the_ppvs_the_stats_count(demo):
    fan = FanFactory(creator=demo, fan_id=21302, state="pitched")
    for status in ("sent", "sent", "refused", "failed", "pending"):
        record_action(fan, "ppv", price=Decimal("18"), content_key="combo3", status=status)
    record_action(fan, "ppv", price=Decimal("18"), content_key="combo3", status="sent", arm="control")
    record_action(fan, "ppv", price=Decimal("18"), content_key="combo3", status="logged")
    summary = selectors.training_summary(demo)
    stats = compute_learning_stats(demo)
    assert summary["ppv_sent"] == 3 == sum(c["sent"] for c in stats["conversion_by_price"].values())


def test_performance_leaves_the_control_arm_out_of_revenue_too(demo):
    fan = FanFactory(creator=demo, fan_id=21303, state="pitched")
    ctl = FanFactory(creator=demo, fan_id=21304, state="pitched", arm="control")
    ppv = record_action(fan, "ppv", price=Decimal("18"), content_key="combo3", status="sent", platform_message_id=1)
    cppv = record_action(
        ctl, "ppv", price=Decimal("25"), content_key="combo3", status="sent", arm="control", platform_message_id=2
    )
    record_outcome(fan, "purchased", amount=Decimal("18"), action=ppv, pinned=True)
    record_outcome(ctl, "purchased", amount=Decimal("25"), action=cppv, pinned=True)
    perf = selectors.performance(demo)
    assert (perf["ppv_sent"], perf["ppv_bought"]) == (1, 1)
    assert perf["revenue"] == 18.0 and perf["control_arm_revenue"] == 25.0


@pytest.mark.parametrize(
    "text", ["ok babe", "thx babe", "lol babe", "ty babe 😘", "hey love", "wassup babe", "okkk babe!!", "haha love"]
)
def test_small_talk_with_a_pet_name_is_filler(text):
    assert is_filler(text)


@pytest.mark.parametrize("text", ["ok babe send it", "i want the bundle babe", "how much babe?", "love your pics"])
def test_a_real_message_is_not_filler(text):
    assert not is_filler(text)


# --- export / import keeps what protects a fan and what the stats need ------------------------------


def _live_run(demo):
    now = timezone.now().replace(microsecond=0) - timedelta(days=1)
    minor = FanFactory(
        creator=demo,
        fan_id=21401,
        state="handed_off",
        safety_flag=True,
        handoff_reason="possible minor: said they are 16",
    )
    FanFactory(creator=demo, fan_id=21402, state="engaged", opted_out=True)
    FanFactory(creator=demo, fan_id=21403, state="engaged")
    demo.excluded_fan_ids = [21403]
    demo.save(update_fields=["excluded_fan_ids"])
    ctl = FanFactory(creator=demo, fan_id=21404, state="buyer", arm="control")
    learner = FanFactory(creator=demo, fan_id=21405, state="buyer", arm="learning")
    for f, arm, explored, segment in ((ctl, "control", False, ""), (learner, "learning", True, "new:first")):
        for k in range(3):
            ppv = record_action(
                f,
                "ppv",
                ts=now + timedelta(minutes=10 * k, microseconds=250000),
                price=Decimal("18"),
                content_key="combo3",
                hook="curiosity",
                status="sent",
                arm=arm,
                explored=explored,
                segment=segment,
                fan_state="engaged",
            )
            if k == 0:
                record_outcome(
                    f,
                    "purchased",
                    ts=now + timedelta(minutes=10 * k + 1),
                    amount=Decimal("18"),
                    action=ppv,
                    pinned=True,
                )
                Fan.objects.filter(pk=f.pk).update(total_spent=Decimal("18"))
    record_action(minor, "text", ts=now, status="sent", message_text="hi", fan_state="engaged")
    return now


def _snapshot(demo):
    demo.refresh_from_db()
    fans = {
        f.fan_id: (
            f.state,
            f.safety_flag,
            f.handoff_reason,
            f.opted_out,
            demo.is_excluded(f.fan_id),
            f.arm,
            f.total_spent,
        )
        for f in Fan.objects.filter(creator=demo)
    }
    actions = sorted(
        (a.fan.fan_id, a.ts, a.action, a.price, a.arm, a.explored, a.segment, a.purchased)
        for a in Action.objects.filter(creator=demo).select_related("fan")
    )
    money = sorted(
        (o.fan.fan_id, o.event, o.amount) for o in Outcome.objects.filter(creator=demo).select_related("fan")
    )
    stats = compute_learning_stats(demo)
    stats.pop("computed_at", None)
    # who sent it is history after a round trip: imported rows are "imported", whatever sent them live
    stats.pop("by_sender", None)
    return fans, actions, money, json.loads(json.dumps(stats, default=str))


def test_export_then_import_into_an_empty_database_keeps_protection_arms_and_stats(demo, tmp_path):
    _live_run(demo)
    before = _snapshot(demo)
    export_seed_logs(demo, tmp_path)
    log = (tmp_path / "research/bot-outcomes/demo/21404.jsonl").read_text().splitlines()
    first = json.loads(log[0])
    assert isinstance(first["ts"], int) and first["arm"] == "control"  # the seed's ts: whole seconds
    # an empty database: the creator's fans, their books and the exclusions gone
    Fan.objects.filter(creator=demo).delete()
    demo.excluded_fan_ids = []
    demo.save(update_fields=["excluded_fan_ids"])
    import_seed_logs(tmp_path, "demo")
    after = _snapshot(demo)
    assert after[0] == before[0]  # the same fans, flagged, opted out, excluded, in their arms
    assert after[1] == before[1]  # the same actions, with arm, explored and segment
    assert after[2] == before[2]  # the same books
    assert after[3] == before[3]  # the same learning stats (the control arm still left out)


def test_a_state_file_never_clears_a_protection(demo, tmp_path):
    _live_run(demo)
    export_seed_logs(demo, tmp_path)
    import_seed_logs(tmp_path, "demo")  # the base
    path = tmp_path / "research/bot-state/demo/21401.json"
    state = json.loads(path.read_text())
    state.update(safety_flag=False, handoff_reason="", opted_out=False)
    path.write_text(json.dumps(state))
    import_seed_logs(tmp_path, "demo")
    fan = Fan.objects.get(creator=demo, fan_id=21401)
    assert fan.safety_flag and fan.handoff_reason.startswith("possible minor")
