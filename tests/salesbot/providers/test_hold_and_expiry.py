"""What waits and what is sent later, through the real webhook endpoint, the drain and the worker, with
the fake platform speaking OnlyFansAPI.com as its own process: a fan's message during a human's hold
(answered when the hold ends, left to the human who answered it), and the re-engage message to a fan
whose subscription expired (once per expiry, only when the creator enables it, never to a blocked fan)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from fans.models import Fan
from learning.models import Action
from models_registry.models import ResponseTemplate
from salesbot.models import QueueItem
from salesbot.pipeline import intake, worker
from tests.fake_processes import ACCOUNT
from tests.salesbot.providers import ofapi_payloads as of

pytestmark = [pytest.mark.integration]


def webhook(client, event, payload):
    """The provider posts; the drain applies it; the worker works whatever is due (as the tasks would)."""
    r = of.post(client, event, payload, account=ACCOUNT)
    assert r.status_code == 200, r.content
    intake.drain()
    worker.drain()


def sent_to(fake, fan_id) -> list[dict]:
    return [m for m in fake.fake("GET", "messages")["messages"] if m["fan_id"] == fan_id]


def later(fan_id):
    """The human's hold has run out: what 30 minutes of waiting would do to the rows."""
    past = timezone.now() - timedelta(seconds=1)
    Fan.objects.filter(fan_id=fan_id).update(human_hold_until=past)
    QueueItem.objects.filter(fan__fan_id=fan_id, status="pending", not_before__gt=past).update(not_before=past)
    worker.drain()


def human_writes(client, fan_id, msg_id, text="hey, it's really me"):
    webhook(client, "messages.sent", of.sent(fan_id, msg_id, f"<p>{text}</p>"))


# --- a fan's message during a human's hold ------------------------------------------------------------------


def test_a_message_during_a_hold_is_answered_once_the_hold_ends(client, creator, fake):
    human_writes(client, 701, 90001)
    webhook(client, "messages.received", of.received(701, 1, "omg hi!! what are you up to"))
    assert sent_to(fake, 701) == []  # the bot does not talk over the human
    item = QueueItem.objects.get(fan__fan_id=701)
    hold = Fan.objects.get(fan_id=701).human_hold_until
    assert (item.status, item.not_before) == ("pending", hold)  # waits for the hold's end, not dropped
    later(701)
    assert len(sent_to(fake, 701)) == 1  # ... and is answered then, without a new message
    item.refresh_from_db()
    assert item.status == "done" and item.action.status == "sent"


def test_a_human_who_writes_again_extends_the_wait_and_a_message_they_answered_is_left_to_them(client, creator, fake):
    human_writes(client, 702, 90002)
    webhook(client, "messages.received", of.received(702, 2, "are you there?"))
    item = QueueItem.objects.get(fan__fan_id=702)
    # The first hold's end comes; meanwhile the human answered the fan, which holds the fan longer.
    QueueItem.objects.filter(pk=item.pk).update(not_before=timezone.now() - timedelta(seconds=1))
    human_writes(client, 702, 90003, text="yes babe, right here")
    item.refresh_from_db()
    hold = Fan.objects.get(fan_id=702).human_hold_until
    assert (item.status, item.not_before) == ("pending", hold)  # claimed, asked the contact rule, waits again
    assert item.result.startswith("waiting: held by a human until")
    later(702)
    item.refresh_from_db()
    assert sent_to(fake, 702) == []  # the human answered it: not answered twice
    assert item.status == "done" and item.result.startswith("closed: a human wrote to the fan since")
    assert not Action.objects.filter(fan__fan_id=702).exclude(source="human").exists()
    webhook(client, "messages.received", of.received(702, 3, "so what's new?"))
    assert len(sent_to(fake, 702)) == 1  # the fan's next message is the bot's again


def test_a_fan_the_contact_rule_blocks_otherwise_is_not_queued_during_a_hold(client, creator, fake):
    human_writes(client, 703, 90004)
    webhook(client, "messages.received", of.received(703, 4, "stop messaging me"))  # opts out
    assert not QueueItem.objects.filter(fan__fan_id=703).exists()
    later(703)
    assert sent_to(fake, 703) == []


# --- re-engaging a fan whose subscription expired ---------------------------------------------------------


def expired(fan_id):
    return {"user_id": "999", "user": of.user(fan_id), "expiredAt": of.now_iso()}


def engaged_fan(creator, fan_id, **fields):
    return Fan.objects.create(
        creator=creator,
        fan_id=fan_id,
        name="Sam",
        state="engaged",
        messages_received=3,
        messages_sent=3,
        subscription_status="active",
        **fields,
    )


def test_an_expired_fan_gets_one_re_engage_message_when_the_creator_enables_it(client, creator, fake):
    creator.reengage_expired = True
    creator.save()
    engaged_fan(creator, 710)
    webhook(client, "subscriptions.expired", expired(710))
    [msg] = sent_to(fake, 710)
    action = Action.objects.get(fan__fan_id=710)
    assert (action.action, action.route, action.status, action.platform_message_id) == (
        "text",
        "expired",
        "sent",
        msg["id"],
    )
    assert action.extra["template"] == "expired" and "come back" in msg["text"]
    assert QueueItem.objects.get(fan__fan_id=710).reason == "expired"
    webhook(client, "subscriptions.expired", expired(710))  # told again, under another key
    assert len(sent_to(fake, 710)) == 1  # one message per expiry
    webhook(client, "subscriptions.renewed", of.subscription(710))
    webhook(client, "subscriptions.expired", expired(710))  # a new expiry after the renewal
    assert len(sent_to(fake, 710)) == 2
    assert len({m["text"] for m in sent_to(fake, 710)}) == 2  # never the same line twice


def test_the_creators_own_expired_line_is_used(client, creator, fake):
    creator.reengage_expired = True
    creator.save()
    ResponseTemplate.objects.create(creator=creator, kind="expired", variants=["come back {name}, i miss you 🥺"])
    engaged_fan(creator, 711)
    webhook(client, "subscriptions.expired", expired(711))
    assert [m["text"] for m in sent_to(fake, 711)] == ["come back Sam, i miss you 🥺"]


def test_nothing_is_sent_to_an_expired_fan_when_the_setting_is_off(client, creator, fake):
    assert not creator.reengage_expired  # the default
    engaged_fan(creator, 712)
    webhook(client, "subscriptions.expired", expired(712))
    assert Fan.objects.get(fan_id=712).subscription_status == "expired"
    assert sent_to(fake, 712) == [] and not QueueItem.objects.filter(fan__fan_id=712).exists()


def test_switching_the_setting_off_before_the_worker_runs_sends_nothing(client, creator, fake):
    creator.reengage_expired = True
    creator.save()
    engaged_fan(creator, 713)
    of.post(client, "subscriptions.expired", expired(713), account=ACCOUNT)
    intake.drain()
    creator.reengage_expired = False
    creator.save()
    worker.drain()
    assert sent_to(fake, 713) == []
    assert Action.objects.get(fan__fan_id=713).action == "skip"


def test_a_renewal_before_the_message_goes_out_closes_it(client, creator, fake):
    creator.reengage_expired = True
    creator.save()
    engaged_fan(creator, 714)
    of.post(client, "subscriptions.expired", expired(714), account=ACCOUNT)
    of.post(client, "subscriptions.renewed", of.subscription(714), account=ACCOUNT)
    intake.drain()
    worker.drain()
    assert sent_to(fake, 714) == []
    item = QueueItem.objects.get(fan__fan_id=714)
    assert item.status == "done" and "subscribed again" in item.result


@pytest.mark.parametrize("blocked", [{"opted_out": True}, {"state": "handed_off"}, {"safety_flag": True}])
def test_a_fan_the_contact_rule_blocks_gets_no_re_engage_message(client, creator, fake, blocked):
    creator.reengage_expired = True
    creator.save()
    fan = engaged_fan(creator, 715)
    Fan.objects.filter(pk=fan.pk).update(**blocked)
    webhook(client, "subscriptions.expired", expired(715))
    assert sent_to(fake, 715) == [] and not QueueItem.objects.filter(fan__fan_id=715).exists()


def test_an_expiry_during_a_human_hold_waits_for_its_end(client, creator, fake):
    creator.reengage_expired = True
    creator.save()
    engaged_fan(creator, 716)
    Fan.objects.filter(fan_id=716).update(human_hold_until=timezone.now() + timedelta(minutes=20))
    webhook(client, "subscriptions.expired", expired(716))
    assert sent_to(fake, 716) == []
    assert QueueItem.objects.get(fan__fan_id=716).not_before > timezone.now() + timedelta(minutes=19)
    later(716)
    assert len(sent_to(fake, 716)) == 1
