"""Staff services on one fan: a safety flag survives "mark dormant" and only a manager clears it.
Through the real sender path (queue item → worker → sender.prepare/refusal): no send follows for a
flagged fan after mark-dormant, the reactivation checker, and a new fan message."""

from decimal import Decimal

import pytest

from fans import staff
from fans.models import Fan, FanTransition
from learning.models import Action
from salesbot.models import QueueItem
from salesbot.pipeline import checkers, intake, worker
from salesbot.pipeline.queue import enqueue
from salesbot.providers.simple import PlatformClient
from tests.factories import FanFactory
from tests.salesbot.unit.helpers import message_payload, store_event

FLAG = "fan has a safety flag: only a manager clears it"


@pytest.fixture
def no_platform(monkeypatch):
    """Any call to the platform fails the test: nothing may be sent to a flagged fan."""
    calls = []

    def send_message(self, *a, **kw):
        calls.append((a, kw))
        raise AssertionError(f"a message was sent: {a}")

    monkeypatch.setattr(PlatformClient, "send_message", send_message)
    monkeypatch.setattr("salesbot.pipeline.queue.async_task", lambda *a, **kw: None)
    return calls


@pytest.fixture
def flagged(demo):
    """A spender who wrote something that flagged them, handed off by the safety screen."""
    fan = FanFactory(creator=demo, fan_id=4242, state="buyer", total_spent=Decimal("60"))
    intake.process_event(store_event(demo, "messages.received", message_payload(4242, "i\u2019m only 16", 1)))
    fan.refresh_from_db()
    assert (fan.state, fan.safety_flag, fan.handoff_reason) == ("handed_off", True, "safety: possible minor")
    return fan


def test_mark_dormant_keeps_the_flag(flagged):
    assert staff.staff_mark_dormant(flagged, "ops") is True
    flagged.refresh_from_db()
    assert (flagged.state, flagged.safety_flag) == ("dormant", True)
    t = FanTransition.objects.filter(fan=flagged).latest("id")
    assert (t.from_state, t.to_state, t.by_staff) == ("handed_off", "dormant", True)


def test_no_send_follows_for_a_flagged_fan_after_mark_dormant_reactivation_and_a_new_message(
    demo, flagged, no_platform
):
    staff.staff_mark_dormant(flagged, "ops")
    # the reactivation checker skips the fan ...
    assert checkers.enqueue_reactivation(demo) == 0
    # ... and a rekindle queued anyway (e.g. before the flag, or by hand) is closed before any decision
    item = enqueue(flagged, QueueItem.Reason.REKINDLE)
    worker.drain(demo)
    item.refresh_from_db()
    assert item.result == f"blocked: {FLAG}"
    assert not Action.objects.filter(fan=flagged, action="rekindle").exists()
    # a new, harmless fan message: nothing is queued, the fan is back in the staff queue
    intake.process_event(store_event(demo, "messages.received", message_payload(4242, "hey you there?", 2)))
    worker.drain(demo)
    flagged.refresh_from_db()
    assert (flagged.state, flagged.safety_flag) == ("handed_off", True)
    assert not QueueItem.objects.filter(fan=flagged, status="pending").exists()
    assert not Action.objects.filter(fan=flagged, status__in=["sent", "pending"]).exists()
    assert flagged.messages_sent == 0 and no_platform == []


def test_a_pending_action_prepared_before_the_flag_is_refused_at_delivery(demo, no_platform):
    from salesbot.pipeline import sender
    from salesbot.pipeline.decisions import Decision

    fan = FanFactory(creator=demo, fan_id=4343, state="dormant", total_spent=Decimal("30"))
    action = sender.prepare(demo, fan, Decision("rekindle", text="missed you 💕", route="rekindle"))
    assert action.status == "pending"
    Fan.objects.filter(pk=fan.pk).update(safety_flag=True)
    sender.deliver(action)
    assert (action.status, action.error) == ("refused", FLAG) and no_platform == []


@pytest.mark.parametrize("parked", [False, True])
def test_only_a_manager_clears_the_flag_with_a_reason_and_it_is_audited(flagged, parked):
    from fans.models import SafetyClearance
    from fans.services import NotAllowed, clear_safety_flag
    from tests.team_helpers import chatter, manager

    if parked:
        staff.staff_mark_dormant(flagged, "ops")
    assert staff.staff_resume(flagged, "alice") is False  # nobody resumes a flagged fan
    with pytest.raises(NotAllowed, match="Only a manager"):
        clear_safety_flag(flagged, chatter("chloe", flagged.creator), "looks fine to me")
    boss = manager("boss")
    with pytest.raises(NotAllowed, match="Write why"):
        clear_safety_flag(flagged, boss, "  ")
    flagged.refresh_from_db()
    assert flagged.safety_flag is True
    clear_safety_flag(flagged, boss, "checked the ID with the platform: 24 years old")
    flagged.refresh_from_db()
    assert flagged.safety_flag is False
    cleared = SafetyClearance.objects.get(fan=flagged)
    assert (cleared.by_user, cleared.was) == (boss, "safety: possible minor")
    if not parked:
        assert staff.staff_resume(flagged, "alice") is True
        flagged.refresh_from_db()
        assert (flagged.state, flagged.handoff_reason) == ("engaged", "")


def test_resume_of_an_unflagged_handed_off_fan_is_unchanged(demo):
    fan = FanFactory(creator=demo, state="handed_off", handoff_reason="wants a custom")
    assert staff.staff_resume(fan, "alice") is True
    assert FanTransition.objects.get(fan=fan).reason == "resumed by alice in admin"


def test_resume_refuses_a_fan_that_is_neither_handed_off_nor_flagged_and_dormant(demo):
    assert staff.staff_resume(FanFactory(creator=demo, state="dormant"), "alice") is False
    assert staff.staff_resume(FanFactory(creator=demo, state="engaged", safety_flag=True), "alice") is False


def test_staff_actions_read_the_stored_state_not_a_stale_copy(demo):
    fan = FanFactory(creator=demo, state="handed_off")
    stale = Fan.objects.get(pk=fan.pk)
    staff.staff_mark_dormant(fan, "ops")  # meanwhile, in another tab
    assert staff.staff_mark_dormant(stale, "bob") is False  # already dormant: nothing written
    assert staff.staff_resume(Fan.objects.get(pk=fan.pk), "alice") is False  # dormant, not flagged
    assert FanTransition.objects.filter(fan=fan).count() == 1
