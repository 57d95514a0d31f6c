"""OnlyFansAPI.com webhooks through the real endpoint (/api/providers/onlyfansapi/webhook): signature,
dedupe on X-OFAPI-Idempotency-Key, every event type, out-of-order pairs and bad payloads, and what the
fan's books, the timeline and the learning stats show afterwards."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from fans.models import Fan, Message
from fans.staff import timeline
from learning.models import Action, Outcome
from learning.services import record_action
from learning.stats import from_rows
from salesbot.models import QueueItem, WebhookEvent
from salesbot.pipeline import intake
from salesbot.pipeline.contact import contact_block
from tests.factories import CreatorFactory
from tests.salesbot.providers import ofapi_payloads as of


@pytest.fixture
def creator(db):
    return CreatorFactory(slug="ofc", provider="onlyfansapi", account_id=of.ACCOUNT, webhook_secret=of.SECRET)


def deliver(client, event, payload, **kw):
    """Post like the provider does, then let the drain apply it (as the django-q task would)."""
    r = of.post(client, event, payload, **kw)
    intake.drain()
    return r


def fan(creator, fan_id) -> Fan:
    return Fan.objects.get(creator=creator, fan_id=fan_id)


def our_ppv(creator, fan_id, msg_id, price="18"):
    f = Fan.objects.create(creator=creator, fan_id=fan_id, name="Sam", state="pitched")
    return record_action(
        f,
        "ppv",
        price=Decimal(price),
        content_key="combo",
        hook="curiosity",
        status="sent",
        platform_message_id=msg_id,
        message_text="just for you",
    )


def stats_agree(creator):
    call_command("rebuild_learning_stats", creator.slug, "--check")  # raises if counters and rows differ


# --- the door: signature, dedupe, bad payloads ----------------------------------------------------------


def test_signed_fan_message_is_stored_and_its_html_becomes_plain_text(client, creator):
    r = deliver(
        client, "messages.received", of.received(7, 1001, "<p>hey &amp; hi <b>you</b></p><p>there</p>"), key="evt_a"
    )
    assert r.status_code == 200 and r.json() == {"status": "accepted", "event_id": "evt_a"}
    msg = Message.objects.get(fan__fan_id=7)
    assert (msg.text, msg.platform_message_id) == ("hey & hi you\nthere", 1001)
    assert QueueItem.objects.filter(fan__fan_id=7, status="pending").exists()
    assert WebhookEvent.objects.get(event_id="evt_a").status == "processed"


@pytest.mark.parametrize("signature", [False, "deadbeef", "sha256=0"])
def test_bad_or_missing_signature_is_refused_and_nothing_is_stored(client, creator, signature):
    r = of.post(client, "messages.received", of.received(7, 1, "hi"), signature=signature)
    assert r.status_code == 401
    assert not WebhookEvent.objects.exists()


def test_signature_with_another_secret_is_refused(client, creator):
    assert of.post(client, "messages.received", of.received(7, 1, "hi"), secret="other").status_code == 401


def test_unknown_account_is_refused(client, creator):
    assert of.post(client, "messages.received", of.received(7, 1, "hi"), account="acct_nobody").status_code == 401


def test_duplicate_and_manual_redelivery_count_once(client, creator):
    payload = of.received(8, 2002, "hello")
    assert deliver(client, "messages.received", payload, key="evt_same").json()["status"] == "accepted"
    assert deliver(client, "messages.received", payload, key="evt_same").json()["status"] == "duplicate"
    assert (
        deliver(client, "messages.received", payload, key="evt_same", redelivery=True).json()["status"] == "duplicate"
    )
    f = fan(creator, 8)
    assert f.messages_received == 1
    assert Outcome.objects.filter(fan=f, event="replied").count() == 1


def test_ephemeral_events_are_acknowledged_and_not_stored(client, creator):
    r = of.post(client, "users.typing", {"user": {"id": 7}}, key=False)
    assert (r.status_code, r.json()["status"]) == (200, "ignored")
    assert not WebhookEvent.objects.exists()


def test_unknown_event_is_stored_as_ignored(client, creator):
    r = of.post(client, "posts.liked", {"user": {"id": 7}}, key="evt_x")
    assert r.json()["status"] == "ignored"
    assert WebhookEvent.objects.get().status == "ignored"


@pytest.mark.parametrize(
    "event,payload,key,error",
    [
        ("messages.received", of.received(7, 1, "hi"), False, "X-OFAPI-Idempotency-Key"),
        ("messages.received", {"id": 1, "text": "hi"}, None, "payload.fromUser"),
        ("messages.received", {**of.received(7, 1, "hi"), "id": "abc"}, None, "payload.id"),
        ("messages.ppv.unlocked", {**of.unlocked(7, 5), "replacePairs": {"{AMOUNT}": "$5.00"}}, None, "firstId"),
        ("messages.ppv.unlocked", of.unlocked(7, 5, amount="five dollars"), None, "{AMOUNT}"),
        ("tips.received", {"user": {"id": 7}}, None, "payload.amountGross"),
        ("transactions.new", {"type": "tip", "status": "done", "amount": 5}, None, "payload.fan"),
    ],
)
def test_missing_or_wrong_fields_are_stored_as_failed_and_answered_2xx(client, creator, event, payload, key, error):
    """The provider cannot fix a payload we cannot parse: a non-2xx would only be retried (a credit each
    time) and count toward pausing the endpoint (sdk-check §1, Non-2xx answers)."""
    r = of.post(client, event, payload, key=key)
    assert r.status_code == 200 and r.json()["status"] == "failed" and error in r.json()["error"]
    stored = WebhookEvent.objects.get()
    assert stored.status == "failed" and error in stored.error
    assert stored.event == event and stored.event_id == (None if key is False else stored.event_id)


# --- money: purchases, tips, undo -------------------------------------------------------------------------


def test_ppv_unlock_with_string_amount_is_attributed_to_our_ppv(client, creator):
    ppv = our_ppv(creator, 9, 3003)
    deliver(client, "messages.ppv.unlocked", of.unlocked(9, 3003, amount="$18.00"))
    ppv.refresh_from_db()
    f = fan(creator, 9)
    assert ppv.purchased and (f.total_spent, f.state) == (Decimal("18.00"), "buyer")
    assert Outcome.objects.get(fan=f, event="purchased").action == ppv
    assert from_rows.conversion_by_price(creator)["18"]["bought"] == 1
    stats_agree(creator)


def test_tip_told_twice_is_counted_once_in_either_order(client, creator):
    at = of.now_iso()
    deliver(client, "tips.received", of.tip(10, 25.0, at=at))
    deliver(client, "transactions.new", of.transaction(10, 25.0, at=at))
    deliver(client, "transactions.new", of.transaction(11, 7.5, at=at))  # the other order, another fan
    deliver(client, "tips.received", of.tip(11, 7.5, at=at))
    assert fan(creator, 10).total_spent == Decimal("25.00")
    assert fan(creator, 11).total_spent == Decimal("7.50")
    assert Outcome.objects.filter(event="tipped").count() == 2


def test_two_real_tips_of_the_same_amount_both_count(client, creator):
    deliver(client, "tips.received", of.tip(12, 5.0))
    deliver(client, "tips.received", of.tip(12, 5.0))
    assert fan(creator, 12).total_spent == Decimal("10.00")


def test_undo_reverses_a_purchase_in_books_stats_and_timeline(client, creator):
    ppv = our_ppv(creator, 13, 4004, price="30")
    deliver(client, "messages.ppv.unlocked", of.unlocked(13, 4004, amount="$30.00"))
    deliver(client, "transactions.new", of.transaction(13, 30.0, kind="message", status="undo"))
    ppv.refresh_from_db()
    f = fan(creator, 13)
    assert f.total_spent == Decimal("0.00") and not ppv.purchased
    assert from_rows.conversion_by_price(creator)["30"]["bought"] == 0
    assert not Outcome.objects.filter(fan=f, event="purchased").exists()
    entry = next(e for e in timeline(f) if e.kind == "outcome")
    assert entry.title == "outcome: purchased reversed $30.00"
    assert "the platform reversed this purchase" in " ".join(entry.details)
    stats_agree(creator)


def test_undo_of_a_tip_takes_it_off_the_fan(client, creator):
    deliver(client, "tips.received", of.tip(14, 12.0))
    deliver(client, "transactions.new", of.transaction(14, 12.0, kind="tip", status="undo"))
    assert fan(creator, 14).total_spent == Decimal("0.00")
    assert Outcome.objects.get(fan__fan_id=14).event == "reversed"


def test_undo_of_a_tip_that_arrives_before_the_tip_is_applied_when_the_tip_comes(client, creator):
    deliver(client, "transactions.new", of.transaction(15, 9.0, kind="tip", status="undo"), key="evt_u")
    assert WebhookEvent.objects.get(event_id="evt_u").status == "processed"  # remembered, no staff replay
    assert fan(creator, 15).total_spent == Decimal("0.00")
    at = of.now_iso()
    deliver(client, "tips.received", of.tip(15, 9.0, at=at))
    deliver(client, "transactions.new", of.transaction(15, 9.0, at=at))  # the tip's twin: still counted once
    f = fan(creator, 15)
    assert f.total_spent == Decimal("0.00")
    reversed_tip = Outcome.objects.get(fan=f)
    assert reversed_tip.event == "reversed" and reversed_tip.extra["reversed"]["event_id"] == "evt_u"
    assert "arrived before it" in reversed_tip.extra["reversed"]["reason"]
    deliver(client, "tips.received", of.tip(15, 9.0))  # a later tip of the same amount is the fan's again
    assert fan(creator, 15).total_spent == Decimal("9.00")


def test_undo_of_a_purchase_before_the_unlock_takes_it_off_books_and_stats(client, creator):
    ppv = our_ppv(creator, 22, 9009, price="30")
    deliver(client, "transactions.new", of.transaction(22, 30.0, kind="message", status="undo"))
    deliver(client, "messages.ppv.unlocked", of.unlocked(22, 9009, amount="$30.00"))
    ppv.refresh_from_db()
    f = fan(creator, 22)
    assert f.total_spent == Decimal("0.00") and not ppv.purchased
    assert not Outcome.objects.filter(fan=f, event="purchased").exists()
    assert from_rows.conversion_by_price(creator)["30"]["bought"] == 0
    entry = next(e for e in timeline(f) if e.kind == "outcome")
    assert entry.title == "outcome: purchased reversed $30.00"
    stats_agree(creator)


def test_pending_and_non_tip_transactions_change_nothing(client, creator):
    deliver(client, "transactions.new", of.transaction(16, 9.0, kind="tip", status="pending"))
    deliver(client, "transactions.new", of.transaction(16, 9.0, kind="message", status="done"))
    assert not Outcome.objects.exists()
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"ignored"}


# --- messages the account sent: our echoes and humans ------------------------------------------------------


def test_echo_of_our_send_links_to_the_action_and_adds_nothing(client, creator):
    ppv = our_ppv(creator, 17, 5005)
    deliver(client, "messages.sent", of.sent(17, 5005, "<p>just for you</p>", price=18), key="evt_echo")
    ppv.refresh_from_db()
    assert ppv.extra["echo_event_id"] == "evt_echo"
    f = fan(creator, 17)
    assert not Message.objects.filter(fan=f).exists() and f.human_hold_until is None
    assert Action.objects.filter(fan=f).count() == 1


def test_human_message_goes_on_the_timeline_and_holds_the_bot(client, creator):
    deliver(client, "messages.sent", of.sent(18, 6006, "<p>hey babe, it&#39;s really me</p>"))
    f = fan(creator, 18)
    msg = Message.objects.get(fan=f)
    assert msg.by_human and msg.direction == "out" and msg.text == "hey babe, it's really me"
    assert timezone.now() + timedelta(minutes=29) < f.human_hold_until <= timezone.now() + timedelta(minutes=31)
    assert contact_block(creator, f).startswith("held by a human until ")
    assert any(e.title.startswith("a human wrote") for e in timeline(f))
    Fan.objects.filter(pk=f.pk).update(human_hold_until=timezone.now() - timedelta(seconds=1))
    f.refresh_from_db()
    assert contact_block(creator, f) is None  # the quiet period is over: the bot resumes


def test_purchase_before_the_human_ppv_it_unlocks_is_credited_to_the_human(client, creator):
    deliver(client, "messages.ppv.unlocked", of.unlocked(19, 7007, amount="$20.00"))
    f = fan(creator, 19)
    assert f.total_spent == Decimal("20.00")
    assert Outcome.objects.get(fan=f, event="purchased").action is None  # kept, not yet attributable
    deliver(client, "messages.sent", of.sent(19, 7007, "<p>a little something</p>", price="20.00"))
    human = Action.objects.get(fan=f)
    assert (human.source, human.action, human.price, human.purchased) == ("human", "ppv", Decimal("20.00"), True)
    assert Outcome.objects.get(fan=f, event="purchased").action == human
    assert fan(creator, 19).total_spent == Decimal("20.00")  # counted once
    stats_agree(creator)


# --- subscriptions ---------------------------------------------------------------------------------------


def test_subscription_new_renewed_expired_are_followed_on_the_fan(client, creator):
    deliver(client, "subscriptions.new", of.subscription(20, price="$4.00"))
    f = fan(creator, 20)
    assert (f.subscription_status, f.subscription_price) == ("active", Decimal("4.00"))
    assert QueueItem.objects.filter(fan=f, reason="welcome").exists()
    deliver(client, "subscriptions.expired", {"user_id": "999", "user": {"id": "20"}, "expiredAt": of.now_iso()})
    assert fan(creator, 20).subscription_status == "expired"
    deliver(client, "subscriptions.renewed", of.subscription(20, price="$5.00"))
    f = fan(creator, 20)
    assert (f.subscription_status, f.subscription_renewals, f.subscription_price) == ("active", 1, Decimal("5.00"))


# --- out of order: events that arrive before what they refer to ------------------------------------------


class _Sends:
    """A provider client that answers every send with the given platform message id."""

    def __init__(self, message_id):
        self.message_id = message_id

    def send_message(self, fan_id, text, media, price, *, idempotency_key):
        from salesbot.providers.base import SentMessage

        return SentMessage(id=self.message_id, created_at="")


def test_purchase_of_our_ppv_before_our_send_is_booked_is_attributed_when_it_is(client, creator):
    from salesbot.pipeline import sender
    from tests.factories import VaultItemFactory

    VaultItemFactory(creator=creator, content_key="combo", media_ids=[55], default_price=Decimal("18"))
    f = Fan.objects.create(creator=creator, fan_id=21, name="Sam", state="engaged")
    ppv = record_action(
        f,
        "ppv",
        price=Decimal("18"),
        content_key="combo",
        hook="curiosity",
        status="pending",
        message_text="just for you",
    )
    # The platform took the send and the fan unlocked it at once; its webhook beats our booking of the send.
    deliver(client, "messages.ppv.unlocked", of.unlocked(21, 8008, amount="$18.00"))
    assert Outcome.objects.get(fan=f, event="purchased").action is None
    sender.deliver(ppv, client=_Sends(8008))
    ppv.refresh_from_db()
    assert ppv.status == "sent" and ppv.purchased
    assert Outcome.objects.get(fan=f, event="purchased").action == ppv
    assert fan(creator, 21).total_spent == Decimal("18.00")  # counted once
    assert from_rows.conversion_by_price(creator)["18"]["bought"] == 1
    stats_agree(creator)
