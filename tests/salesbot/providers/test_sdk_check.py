"""Each mismatch of ../shared/providers/onlyfansapi-sdk-check.md, as a test named after it, through the fake
platform process speaking the provider's SDK shapes (webhook list with `url`, PUT without a secret,
409 while a key's first request runs, 408, Retry-After as a date, mass-message echoes, account events).
The fake's deliveries are read from its outbox (signed as it sent them) and posted to our endpoint.
The flows that need a live server (a slow send and its echo racing, a dead session, a typing fan) are in
tests/salesbot/test_live_sdk_check.py."""

from decimal import Decimal

import pytest
import requests

from fans.models import Fan, Message
from learning.models import Action
from models_registry.services import onboard_from_files
from salesbot.models import QueueItem, WebhookEvent
from salesbot.pipeline import intake, queue, sender, worker
from salesbot.providers.base import PermanentError, RefusedError, TransientError, retry_after
from salesbot.providers.onlyfansapi import Client, setup
from tests.fake_processes import ACCOUNT, API_KEY, SECRET, wait_until

pytestmark = [pytest.mark.integration]

URL = "/api/providers/onlyfansapi/webhook"
BASE = "http://127.0.0.1:9"
ONLINE = {
    "event": "users.online",
    "payload": {"user": {"id": 99}},
}  # a harmless event every webhook takes   # nothing listens: the fake's own delivery attempts fail; tests forward its outbox


def forward(client, fake, after=0, event=None) -> list:
    """Post the fake's deliveries (after the first `after`) to our endpoint as it signed them."""
    out = []
    for d in fake.fake("GET", "outbox", params={"after": after})["deliveries"]:
        if event and d["event"] != event:
            continue
        headers = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in d["headers"].items()}
        out.append(client.post(URL, data=d["body"].encode(), content_type="application/json", **headers))
    return out


@pytest.fixture
def registered(creator, fake):
    """The creator's webhook registered (its URL unreachable: the deliveries are forwarded from the outbox)."""
    setup.register_webhook(creator, BASE)
    creator.refresh_from_db()
    return creator


def outbox_size(fake) -> int:
    return fake.fake("GET", "outbox")["total"]


def hooks(fake) -> list[dict]:
    return requests.get(f"{fake.url}/api/webhooks", headers=fake.auth, timeout=5).json()["data"]


def full_hooks(fake) -> list[dict]:
    return fake.fake("GET", "webhooks")["webhooks"]


def second_creator(fake, slug="other", account="acct_other", secret=SECRET):
    return onboard_from_files(
        "demo/content-map.json",
        "demo/playbook.md",
        slug=slug,
        account_id=account,
        provider="onlyfansapi",
        api_base_url=f"{fake.url}/api",
        api_key=API_KEY,
        webhook_secret=secret,
    )


# --- §6 Vault and webhook registration ---------------------------------------------------------------------


def test_list_answer_has_url_not_endpoint_url_so_register_three_times_leaves_one_webhook(creator, fake):
    first = setup.register_webhook(creator, BASE)
    [hook] = hooks(fake)
    assert set(hook) == {"id", "url", "events", "enabled", "has_signing_secret", "created_at"}  # the SDK's list
    assert "endpoint_url" not in hook
    for _ in range(2):
        again = setup.register_webhook(creator, BASE + "/")
        assert again.updated and again.answer["id"] == first.answer["id"]
    assert len(hooks(fake)) == 1
    [state] = full_hooks(fake)
    assert state["account_ids"] == [ACCOUNT] and state["secret"] == SECRET
    creator.refresh_from_db()
    assert creator.webhook_id == first.answer["id"] and creator.webhook_secret_registered == SECRET


def test_list_answer_a_webhook_for_the_url_from_before_is_adopted_not_duplicated(creator, fake):
    """One registered by the earlier code (no id stored on the creator) is found by its `url`."""
    Client(creator).create_webhook(BASE + setup.WEBHOOK_PATH, ["messages.received"], [ACCOUNT], SECRET)
    done = setup.register_webhook(creator, BASE)
    assert done.updated
    [hook] = hooks(fake)
    assert "messages.sent" in hook["events"] and hook["id"] == done.answer["id"]


def test_update_has_no_signing_secret_so_a_rotation_creates_then_deletes_and_deliveries_verify_throughout(
    client, creator, fake
):
    old = setup.register_webhook(creator, BASE).answer["id"]

    def deliver_now() -> list[int]:
        """An event happens at the provider now; each of its deliveries reaches us at once."""
        start = outbox_size(fake)
        fake.fake("POST", "webhook", json=ONLINE)
        return [r.status_code for r in forward(client, fake, after=start)]

    assert deliver_now() == [200]  # before: the old secret
    type(creator).objects.filter(pk=creator.pk).update(webhook_secret="rotated-secret-456")
    creator.refresh_from_db()
    assert deliver_now() == [200]  # changed here, not yet at the provider: still verified
    during = []
    real_delete = Client.delete_webhook

    def delete_after_a_delivery(self, wh_id):
        during.append((len(full_hooks(fake)), deliver_now()))  # both webhooks: one delivery signed each way
        real_delete(self, wh_id)

    Client.delete_webhook = delete_after_a_delivery
    try:
        done = setup.register_webhook(creator, BASE)
    finally:
        Client.delete_webhook = real_delete
    assert during == [(2, [200, 200])] and done.rotated_from == old and not done.updated
    [hook] = full_hooks(fake)
    assert hook["id"] != old and hook["secret"] == "rotated-secret-456" and hook["account_ids"] == [ACCOUNT]
    assert deliver_now() == [200]  # after: the new secret
    creator.refresh_from_db()
    assert creator.webhook_secret_registered == "rotated-secret-456"
    stale = fake.fake("GET", "outbox")["deliveries"][0]  # signed with the old secret
    headers = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in stale["headers"].items()}
    assert (
        client.post(URL, data=stale["body"].encode(), content_type="application/json", **headers).status_code == 401
    )  # no longer accepted
    assert setup.register_webhook(creator, BASE).updated and len(hooks(fake)) == 1  # and it converged


def test_update_a_signing_secret_in_a_put_is_ignored_by_the_provider(creator, fake):
    wh = Client(creator).create_webhook("https://x.example/hook", [], [ACCOUNT], "first")
    requests.put(
        f"{fake.url}/api/webhooks/{wh['id']}",
        headers=fake.auth,
        timeout=5,
        json={
            "endpoint_url": "https://x.example/hook",
            "events": [],
            "account_scope": "inclusive",
            "account_ids": [ACCOUNT],
            "signing_secret": "second",
        },
    ).raise_for_status()
    assert full_hooks(fake)[0]["secret"] == "first"


def test_several_creators_one_url_keep_each_others_account_ids(creator, fake):
    other = second_creator(fake)
    a = setup.register_webhook(creator, BASE)
    b = setup.register_webhook(other, BASE)
    assert b.updated and b.answer["id"] == a.answer["id"]
    [state] = full_hooks(fake)
    assert state["account_ids"] == sorted([ACCOUNT, "acct_other"])
    again = setup.register_webhook(creator, BASE)  # a PUT replaces account_ids: the other stays on it
    assert full_hooks(fake)[0]["account_ids"] == sorted([ACCOUNT, "acct_other"]) and again.updated
    assert len(hooks(fake)) == 1


def test_several_creators_one_url_a_rotation_leaves_the_others_on_the_old_webhook(creator, fake):
    other = second_creator(fake)
    shared = setup.register_webhook(creator, BASE).answer["id"]
    setup.register_webhook(other, BASE)
    type(creator).objects.filter(pk=creator.pk).update(webhook_secret="mine-only")
    creator.refresh_from_db()
    done = setup.register_webhook(creator, BASE)
    by_id = {h["id"]: h for h in full_hooks(fake)}
    assert by_id[shared]["account_ids"] == ["acct_other"] and by_id[shared]["secret"] == SECRET
    assert by_id[done.answer["id"]]["account_ids"] == [ACCOUNT]
    assert by_id[done.answer["id"]]["secret"] == "mine-only"


def test_simulator_lists_webhooks_as_the_sdk_and_signs_each_delivery_with_its_webhooks_secret(client, creator, fake):
    setup.register_webhook(creator, BASE)
    second_creator(fake, slug="third", account="acct_third", secret="another-secret")
    start = outbox_size(fake)
    fake.fake("POST", "webhook", json=ONLINE)
    [delivery] = fake.fake("GET", "outbox", params={"after": start})["deliveries"]
    assert delivery["webhook_id"] == hooks(fake)[0]["id"]
    assert forward(client, fake, after=start)[0].status_code == 200


# --- §1 Webhook delivery: non-2xx answers ----------------------------------------------------------------------


def test_non_2xx_answers_an_authenticated_unparseable_event_gets_2xx_is_failed_and_replayable(
    client, registered, creator, fake
):
    start = outbox_size(fake)
    bad = {
        "user_id": "1",
        "user": {"id": "41", "name": "Ann"},
        "createdAt": "2026-12-07T10:00:00Z",
        "replacePairs": {"{AMOUNT}": "$9.00"},
    }  # a variant without {MESSAGE_LINK}
    fake.fake("POST", "webhook", json={"event": "messages.ppv.unlocked", "payload": bad, "event_id": "evt_nolink"})
    [r] = forward(client, fake, after=start)
    assert r.status_code == 200 and r.json()["status"] == "failed" and "firstId" in r.json()["error"]
    event = WebhookEvent.objects.get(event_id="evt_nolink")
    assert (event.status, event.event) == ("failed", "messages.ppv.unlocked")
    [again] = forward(client, fake, after=start)  # the provider's retry: a duplicate, 2xx
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    # staff correct the parser's input (or the parser learns it) and replay from admin
    WebhookEvent.objects.filter(pk=event.pk).update(
        raw_body=event.raw_body.replace('"{AMOUNT}": "$9.00"', '"{AMOUNT}": "$9.00", "{MESSAGE_LINK}": "?firstId=77"')
    )
    queue.replay(event)
    intake.drain()
    assert WebhookEvent.objects.get(pk=event.pk).status == "processed"
    assert Fan.objects.get(fan_id=41).total_spent == Decimal("9.00")


def test_non_2xx_answers_only_a_bad_signature_or_an_unknown_account_are_refused(client, registered, creator, fake):
    start = outbox_size(fake)
    fake.fake("POST", "webhook", json={"event": "messages.received", "payload": {"id": 1}})
    [d] = fake.fake("GET", "outbox", params={"after": start})["deliveries"]
    assert (
        client.post(
            URL,
            data=d["body"].encode(),
            content_type="application/json",
            HTTP_SIGNATURE="0" * 64,
            HTTP_X_OFAPI_IDEMPOTENCY_KEY="evt_1",
        ).status_code
        == 401
    )
    other = d["body"].replace(ACCOUNT, "acct_nobody").encode()
    assert client.post(URL, data=other, content_type="application/json").status_code == 401
    assert not WebhookEvent.objects.exists()


def test_subscription_price_not_an_amount_is_no_price_not_a_failure(client, registered, creator, fake):
    start = outbox_size(fake)
    fake.fake(
        "POST",
        "webhook",
        json={
            "event": "subscriptions.new",
            "payload": {
                "user_id": "1",
                "user": {"id": "42", "name": "Bo"},
                "replacePairs": {"{PRICE}": "Free trial"},
                "subType": "trial",
            },
        },
    )
    [r] = forward(client, fake, after=start)
    assert r.json()["status"] == "accepted"
    intake.drain()
    assert Fan.objects.get(fan_id=42).subscription_status == "active"


# --- §2 messages.sent: mass / queued sends -------------------------------------------------------------------


def test_mass_queued_sends_an_echo_with_is_from_queue_holds_nobody_and_is_no_human_ppv(
    client, registered, creator, fake
):
    start = outbox_size(fake)
    r = requests.post(
        f"{fake.api}/mass-messaging",
        headers=fake.auth,
        timeout=5,
        json={"text": "new set just dropped 💕", "userIds": [51, 52], "price": 15, "mediaFiles": [101]},
    )
    queue_id = r.json()["data"]["id"]
    wait_until(lambda: outbox_size(fake) >= start + 2, timeout=10)
    answers = forward(client, fake, after=start, event="messages.sent")
    assert [a.json()["status"] for a in answers] == ["accepted", "accepted"]
    intake.drain()
    for fan_id in (51, 52):
        fan = Fan.objects.get(fan_id=fan_id)
        assert fan.human_hold_until is None
        msg = Message.objects.get(fan=fan, direction="out")
        assert not msg.by_human and msg.text.startswith(f"[mass message (queue {queue_id}) $15.00]")
    assert not Action.objects.exists()  # no human PPV credited to anyone


def test_mass_queued_sends_a_person_writing_one_to_one_still_holds_the_fan(client, registered, creator, fake):
    start = outbox_size(fake)
    fake.fake("POST", "human", json={"fan_id": 53, "text": "hey it's really me"})
    forward(client, fake, after=start, event="messages.sent")
    intake.drain()
    assert Fan.objects.get(fan_id=53).human_hold_until is not None


# --- §4 / §5 Send message: timeout, 409, 408, Retry-After, request_outcome ----------------------------------


def send(creator, key="k-1", text="hey you", **kw):
    return Client(creator, **kw).send_message(61, text, idempotency_key=key)


def test_409_while_the_first_request_runs_is_retryable_and_the_outcome_unknown(creator, fake, settings):
    fake.fake("POST", "fail", json={"delay": 2})  # a slow platform that then answers normally
    with pytest.raises(TransientError) as slow:
        send(creator, timeout=0.5)
    assert slow.value.outcome_unknown
    with pytest.raises(TransientError) as conflict:  # same key, first request still running
        send(creator)
    assert "409" in str(conflict.value) and conflict.value.outcome_unknown
    sent = wait_until(lambda: fake.fake("GET", "messages")["messages"], timeout=5)
    assert send(creator).id == sent[0]["id"]  # finished: the same key replays its answer
    assert len(fake.fake("GET", "messages")["messages"]) == 1


def test_408_is_retried_with_the_same_key_and_its_outcome_unknown(creator, fake):
    fake.fake("POST", "fail", json={"status": 408})
    with pytest.raises(TransientError) as e:
        send(creator)
    assert e.value.outcome_unknown


@pytest.mark.parametrize("form", ["seconds", "date", "ms"])
def test_retry_after_as_seconds_an_http_date_or_retry_after_ms(creator, fake, form):
    fake.fake("POST", "fail", json={"status": 503, "retry_after": 30, "retry_after_format": form})
    with pytest.raises(TransientError) as e:
        send(creator)
    assert 27 <= e.value.retry_after <= 30


def test_retry_after_unreadable_or_in_the_past_is_none_or_zero():
    assert retry_after({"Retry-After": "soon"}) is None
    assert retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0


def test_request_outcome_not_sent_is_the_only_proof_a_send_did_not_happen(creator, fake):
    fake.fake("POST", "fail", json={"status": 500, "not_sent": True})
    with pytest.raises(TransientError) as e:
        send(creator)
    assert not e.value.outcome_unknown  # retryable, but known not to have gone out
    fake.fake("POST", "fail", json={"status": 500})
    with pytest.raises(TransientError) as e:
        send(creator, key="k-2")
    assert e.value.outcome_unknown


def test_timeout_an_unknown_outcome_is_never_marked_failed_after_the_last_attempt(creator, fake, settings):
    settings.SEND_MAX_ATTEMPTS, settings.PLATFORM_BACKOFF_S = 1, 0.01
    fan = Fan.objects.create(creator=creator, fan_id=62, name="Cy", state="engaged")
    queue.enqueue(fan, QueueItem.Reason.MESSAGE)
    fake.fake("POST", "fail", json={"status": 502})
    worker.drain()
    item = QueueItem.objects.get(fan=fan)
    action = item.action
    assert item.status == "failed" and "outcome unknown" in item.result
    assert action.status == "pending" and action.extra["outcome_unknown"]  # left for its echo
    assert sender.settle_sent(action, 999) and Action.objects.get(pk=action.pk).status == "sent"


def test_a_definite_refusal_422_fails_the_action(creator, fake):
    fake.fake("POST", "fail", json={"status": 422})
    with pytest.raises(PermanentError):
        send(creator)


# --- §4 blockBannedWords ---------------------------------------------------------------------------------------


def test_block_banned_words_is_sent_and_its_422_is_a_refusal_recorded_with_the_words(creator, fake):
    with pytest.raises(RefusedError) as e:
        send(creator, text="tip me on cashapp or venmo instead")
    assert e.value.words == ["venmo", "cashapp"]
    fan = Fan.objects.create(creator=creator, fan_id=63, name="Di", state="engaged")
    action = Action.objects.create(
        creator=creator,
        fan=fan,
        action="text",
        status="pending",
        source="rules",
        message_text="just send it on paypal babe",
    )
    with pytest.raises(RefusedError):
        sender.deliver(action)
    action.refresh_from_db()
    assert action.status == "refused" and action.extra["banned_words"] == ["paypal"]
    assert "banned-words guard refused: paypal" in action.error
    assert fake.fake("GET", "messages")["messages"] == []


# --- §3 / §7 chargebacks: no webhook, an API -------------------------------------------------------------------


def test_chargebacks_are_pulled_from_the_api_and_booked_as_reversals_of_the_purchase_once(
    client, registered, creator, fake
):
    from learning.services import record_action
    from salesbot.providers.onlyfansapi import chargebacks
    from tests.salesbot.providers import ofapi_payloads as of

    fan = Fan.objects.create(creator=creator, fan_id=71, name="Ed", state="pitched")
    ppv = record_action(
        fan,
        "ppv",
        price=Decimal("25"),
        content_key="combo",
        hook="curiosity",
        status="sent",
        platform_message_id=7100,
        message_text="for you",
    )
    of.post(client, "messages.ppv.unlocked", of.unlocked(71, 7100, amount="$25.00"), account=ACCOUNT)
    intake.drain()
    assert Fan.objects.get(pk=fan.pk).total_spent == Decimal("25.00")
    fake.fake("POST", "chargeback", json={"fan_id": 71, "amount": 25})
    assert chargebacks.pull(creator) == 1
    intake.drain()
    ppv.refresh_from_db()
    assert not ppv.purchased and Fan.objects.get(pk=fan.pk).total_spent == Decimal("0.00")
    assert chargebacks.pull(creator) == 0  # listed again: taken once
    assert WebhookEvent.objects.get(event="chargebacks.pulled").status == "processed"


def test_chargebacks_already_told_as_a_transactions_undo_are_not_reversed_twice(client, registered, creator, fake):
    from salesbot.providers.onlyfansapi import chargebacks
    from tests.salesbot.providers import ofapi_payloads as of

    of.post(client, "tips.received", of.tip(72, 30.0), account=ACCOUNT)
    of.post(client, "transactions.new", of.transaction(72, 30.0, kind="tip", status="undo"), account=ACCOUNT)
    intake.drain()
    of.post(client, "tips.received", of.tip(72, 30.0), account=ACCOUNT)  # a later real tip of the same amount
    intake.drain()
    fake.fake(
        "POST", "chargeback", json={"fan_id": 72, "amount": 30, "description": "Tip from Ed", "payment_type": "tip"}
    )
    assert chargebacks.pull(creator) == 0
    assert Fan.objects.get(fan_id=72).total_spent == Decimal("30.00")


def test_request_outcome_an_echo_proves_a_send_the_gate_refused_on_its_retry_did_go_out(client, creator, fake):
    """The retry of an unknown-outcome send met the last gate (the fan opted out meanwhile) and was refused;
    its echo then shows the first request did send it: ours, sent, never a human's."""
    from learning.services import set_action_status
    from tests.salesbot.providers import ofapi_payloads as of

    fan = Fan.objects.create(creator=creator, fan_id=64, name="Flo", state="engaged")
    action = Action.objects.create(
        creator=creator, fan=fan, action="text", status="pending", source="rules", message_text="thinking of you"
    )
    sender.mark_outcome_unknown(action, "ReadTimeout")
    set_action_status(action, "refused", error="opted out")
    of.post(client, "messages.sent", of.sent(64, 6400, "<p>thinking of you</p>"), account=ACCOUNT)
    intake.drain()
    action.refresh_from_db()
    assert (action.status, action.platform_message_id) == ("sent", 6400)
    fan.refresh_from_db()
    assert fan.human_hold_until is None and not Message.objects.filter(fan=fan, by_human=True).exists()
