"""refusal(): the last gate before any send, checked against fresh rows (no platform call here)."""

from decimal import Decimal

import pytest

from fans.models import Fan
from learning.models import Action
from models_registry.models import Creator
from salesbot.pipeline import sender
from salesbot.pipeline.decisions import Decision
from tests.factories import FanFactory


def refusal(creator, fan, d):
    """The last gate asked about a Decision's message."""
    return sender.refusal(creator, fan, d.action, text=d.text, content_key=d.content_key, price=d.price)


@pytest.fixture
def fan(demo):
    return FanFactory(creator=demo, fan_id=31337, name="Leo", state="engaged")


def ppv(key="combo3", price="18"):
    return Decision("ppv", text="just for you 🥺", content_key=key, price=None if price is None else Decimal(price))


def test_a_valid_ppv_is_allowed(demo, fan):
    assert refusal(demo, fan, ppv()) is None


@pytest.mark.parametrize(
    "decision",
    [
        Decision("text", text="hey 💕"),
        Decision("free_media", text="for you", content_key="gfe_selfie"),
        Decision("bump", text="did you see it?"),
    ],
)
def test_ordinary_sends_are_allowed(demo, fan, decision):
    assert refusal(demo, fan, decision) is None


@pytest.mark.parametrize("price", ["8", "60", "33.50"])
def test_prices_at_and_inside_the_bounds_are_allowed(demo, fan, price):
    assert refusal(demo, fan, ppv(price=price)) is None


def test_handed_off_fan_is_refused(demo, fan):
    Fan.objects.filter(pk=fan.pk).update(state="handed_off")  # the in-memory fan is stale on purpose
    assert refusal(demo, fan, ppv()) == "fan is handed off to a human"


def test_opted_out_fan_is_refused(demo, fan):
    Fan.objects.filter(pk=fan.pk).update(opted_out=True)
    assert refusal(demo, fan, Decision("text", text="hey")) == "fan opted out"


def test_fan_on_the_exclude_list_is_refused(demo, fan):
    Creator.objects.filter(pk=demo.pk).update(excluded_fan_ids=[1, 31337])
    assert refusal(demo, fan, Decision("text", text="hey")) == "fan is on the creator's exclude list"


def test_exclude_list_with_ids_stored_as_strings_still_refuses(demo, fan):
    Creator.objects.filter(pk=demo.pk).update(excluded_fan_ids=["31337"])
    assert refusal(demo, fan, Decision("text", text="hey")) == "fan is on the creator's exclude list"


def test_disabled_creator_is_refused(demo, fan):
    Creator.objects.filter(pk=demo.pk).update(enabled=False)
    assert refusal(demo, fan, Decision("text", text="hey")) == "creator's bot is disabled"


def test_unknown_content_key_is_refused(demo, fan):
    assert refusal(demo, fan, ppv(key="combo99")) == "unknown content_key 'combo99'"


def test_content_without_media_is_refused(demo, fan):
    demo.vault_items.filter(content_key="combo3").update(media_ids=[])
    assert refusal(demo, fan, ppv()) == "content_key 'combo3' has no platform media ids"


def test_content_already_sent_is_refused(demo, fan):
    Fan.objects.filter(pk=fan.pk).update(content_sent=["gfe_selfie", "combo3"])
    assert refusal(demo, fan, ppv()) == "content_key 'combo3' was already sent to this fan"
    free = Decision("free_media", text="again", content_key="gfe_selfie")
    assert refusal(demo, fan, free) == "content_key 'gfe_selfie' was already sent to this fan"


@pytest.mark.parametrize("price", ["7.99", "60.01", "0", "500"])
def test_ppv_price_outside_the_bounds_is_refused(demo, fan, price):
    assert refusal(demo, fan, ppv(price=price)) == f"price {Decimal(price)} outside the creator's bounds"


def test_bounds_are_read_fresh(demo, fan):
    Creator.objects.filter(pk=demo.pk).update(ppv_max_price=Decimal("15"))
    assert refusal(demo, fan, ppv(price="18")) == "price 18 outside the creator's bounds"


def test_ppv_without_price_is_refused(demo, fan):
    assert refusal(demo, fan, ppv(price=None)) == "a PPV needs content and a price"


def test_ppv_without_content_is_refused(demo, fan):
    assert refusal(demo, fan, ppv(key="")) == "a PPV needs content and a price"


@pytest.mark.parametrize("action", ["text", "bump", "rekindle"])
def test_empty_text_is_refused(demo, fan, action):
    assert refusal(demo, fan, Decision(action, text="  ")) == "empty message text"


def test_disabled_creator_is_reported_before_the_fans_own_state(demo, fan):
    Creator.objects.filter(pk=demo.pk).update(enabled=False)
    Fan.objects.filter(pk=fan.pk).update(state="handed_off", opted_out=True)
    assert refusal(demo, fan, ppv()) == "creator's bot is disabled"


def test_prepare_logs_a_refused_send_as_refused_with_the_reason(demo, fan):
    Fan.objects.filter(pk=fan.pk).update(opted_out=True)
    action = sender.prepare(demo, fan, ppv())
    assert (action.status, action.error, action.action) == (Action.Status.REFUSED, "fan opted out", "ppv")


def test_prepare_leaves_an_allowed_send_pending(demo, fan):
    action = sender.prepare(demo, fan, ppv())
    assert (action.status, action.content_key, action.price) == (Action.Status.PENDING, "combo3", Decimal("18"))


@pytest.mark.parametrize("action", ["free_media", "text"])
def test_paid_content_cannot_be_sent_for_free(demo, fan, action):
    decision = Decision(action, text="a gift 😘", content_key="combo7")  # combo7 is the $35 video
    assert refusal(demo, fan, decision) is not None


@pytest.mark.parametrize("state", ["dormant", "engaged", "pitched", "buyer", "handed_off"])
@pytest.mark.parametrize(
    "decision",
    [
        Decision("rekindle", text="missed you 💕"),
        Decision("text", text="hey"),
        Decision("bump", text="did you see it?"),
    ],
)
def test_a_safety_flagged_fan_is_refused_in_any_state(demo, fan, state, decision):
    # e.g. a fan flagged "possible minor", then marked dormant by staff: no rekindle, no reply, ever
    Fan.objects.filter(pk=fan.pk).update(state=state, safety_flag=True)  # in-memory fan stale on purpose
    assert refusal(demo, fan, decision) == "fan has a safety flag: only a manager clears it"


def test_a_safety_flagged_fan_gets_a_refused_action_not_a_pending_one(demo, fan):
    Fan.objects.filter(pk=fan.pk).update(state="dormant", safety_flag=True)
    action = sender.prepare(demo, fan, Decision("rekindle", text="missed you 💕", route="rekindle"))
    assert action.status == Action.Status.REFUSED and "safety flag" in action.error


class Platform:
    """Takes sends and remembers them (deliver's client)."""

    def __init__(self):
        self.sent = []

    def send_message(self, fan_id, text, media_ids=(), price=0, *, idempotency_key):
        from salesbot.providers.simple import SentMessage

        self.sent.append((fan_id, text, price))
        return SentMessage(id=7000 + len(self.sent), created_at="")


def test_a_pending_send_resumed_from_the_database_passes_the_whole_gate_again(demo, fan):
    # A worker died after writing the Action; meanwhile the creator narrowed the price bounds.
    action = sender.prepare(demo, fan, ppv(price="18"))
    Creator.objects.filter(pk=demo.pk).update(ppv_min_price=Decimal("20"))
    platform = Platform()
    sender.deliver(Action.objects.get(pk=action.pk), client=platform)
    action.refresh_from_db()
    assert (action.status, action.error) == (Action.Status.REFUSED, "price 18.00 outside the creator's bounds")
    assert platform.sent == []


def test_a_handoff_between_prepare_and_deliver_still_stops_the_send(demo, fan):
    action = sender.prepare(demo, fan, Decision("text", text="hey 💕"))
    Fan.objects.filter(pk=fan.pk).update(state="handed_off")  # lands between the gate and the call
    platform = Platform()
    sender.deliver(action, client=platform)
    assert (action.status, action.error) == (Action.Status.REFUSED, "fan is handed off to a human")
    assert platform.sent == []


def test_the_console_refusal_is_the_verdict_record_keeps(demo, fan):
    # A caller that asked the gate itself records with its answer: the refused Action carries that reason.
    Fan.objects.filter(pk=fan.pk).update(opted_out=True)
    why = refusal(demo, fan, ppv())
    action = sender.record(demo, fan, ppv(), why)
    assert (action.status, action.error) == (Action.Status.REFUSED, "fan opted out")
