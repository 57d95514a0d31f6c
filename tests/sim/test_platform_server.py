"""The fake platform, driven over real HTTP as a subprocess, must honour platform-api.md.

Integration tests of the project trust this fake, so its contract (auth, validation, idempotency,
failures, signed webhooks with retries) is pinned here.
"""

import hashlib
import hmac
import json
import time
import uuid

import pytest
import requests

pytestmark = pytest.mark.integration


def send(fp, fan_id, body, key=None, headers=None):
    h = {**fp.auth, "Idempotency-Key": key or str(uuid.uuid4()), **(headers or {})}
    return requests.post(f"{fp.api}/chats/{fan_id}/messages", json=body, headers=h, timeout=5)


def test_auth_required_and_unknown_account(fake_platform):
    url = f"{fake_platform.api}/media/vault"
    assert requests.get(url, timeout=5).status_code == 401
    r = requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=5)
    assert r.status_code == 401 and "error" in r.json()
    r = requests.get(f"{fake_platform.url}/api/acct_other/media/vault", headers=fake_platform.auth, timeout=5)
    assert r.status_code == 404 and "acct_other" in r.json()["error"]
    assert send(fake_platform, 7, {"text": "hi"}, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert fake_platform.fake("GET", "messages")["messages"] == []


def test_text_free_and_ppv_sends_are_recorded(fake_platform):
    bodies = [
        {"text": "hey 💕", "mediaFiles": [], "price": 0},
        {"text": "for you", "mediaFiles": [101], "price": 0},
        {"text": "i've never shown this 🥺", "mediaFiles": [203, 204, 205], "price": 18.0},
    ]
    keys = [str(uuid.uuid4()) for _ in bodies]
    ids = []
    for body, key in zip(bodies, keys, strict=False):
        r = send(fake_platform, 12345678, body, key)
        assert r.status_code == 200, r.text
        data = r.json()["data"]
        assert isinstance(data["id"], int) and data["createdAt"].endswith("Z")
        ids.append(data["id"])
    assert len(set(ids)) == 3
    messages = fake_platform.fake("GET", "messages")["messages"]
    assert [m["id"] for m in messages] == ids
    for m, body, key in zip(messages, bodies, keys, strict=False):
        assert set(m) == {"id", "fan_id", "text", "mediaFiles", "price", "idempotency_key", "createdAt"}
        assert (m["fan_id"], m["text"], m["mediaFiles"], m["price"], m["idempotency_key"]) == (
            12345678,
            body["text"],
            body["mediaFiles"],
            body["price"],
            key,
        )
    stats = fake_platform.fake("GET", "stats")
    assert stats["sends"] == 3 and stats["sends_by_kind"] == {"text": 1, "free": 1, "ppv": 1}


@pytest.mark.parametrize(
    "body",
    [
        {"text": 5},
        {"text": "x", "mediaFiles": "101"},
        {"text": "x", "mediaFiles": ["101"]},
        {"text": "x", "mediaFiles": [True]},
        {"text": "x", "mediaFiles": [101], "price": -1},
        {"text": "x", "mediaFiles": [101], "price": "18"},
        {"text": "buy this", "price": 18},
        {"text": "", "mediaFiles": []},
        ["not", "an", "object"],
    ],
)
def test_invalid_send_body_is_400(fake_platform, body):
    r = send(fake_platform, 1, body)
    assert r.status_code == 400 and r.json()["error"]
    assert fake_platform.fake("GET", "messages")["messages"] == []


def test_invalid_json_and_missing_idempotency_key_are_400(fake_platform):
    url = f"{fake_platform.api}/chats/1/messages"
    r = requests.post(url, data=b"{nope", headers={**fake_platform.auth, "Idempotency-Key": "k"}, timeout=5)
    assert r.status_code == 400
    r = requests.post(url, json={"text": "hi"}, headers=fake_platform.auth, timeout=5)
    assert r.status_code == 400 and "Idempotency-Key" in r.json()["error"]
    assert fake_platform.fake("GET", "stats")["sends"] == 0


def test_repeated_idempotency_key_replays_first_reply(fake_platform):
    first = send(fake_platform, 42, {"text": "hello"}, key="action-1")
    again = send(fake_platform, 42, {"text": "hello"}, key="action-1")
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert len(fake_platform.fake("GET", "messages")["messages"]) == 1
    assert send(fake_platform, 42, {"text": "hello"}, key="action-2").json()["data"]["id"] != first.json()["data"]["id"]


def test_injected_500_twice_then_success(fake_platform):
    fake_platform.fake("POST", "fail", json={"status": 500, "times": 2})
    codes = [send(fake_platform, 9, {"text": "hi"}, key="k1").status_code for _ in range(3)]
    assert codes == [500, 500, 200]
    assert len(fake_platform.fake("GET", "messages")["messages"]) == 1


def test_injected_429_carries_retry_after(fake_platform):
    fake_platform.fake("POST", "fail", json={"status": 429, "times": 1, "retry_after": 7})
    r = send(fake_platform, 9, {"text": "hi"})
    assert r.status_code == 429 and r.headers["Retry-After"] == "7" and r.json()["error"]
    assert send(fake_platform, 9, {"text": "hi"}).status_code == 200


def test_reset_clears_messages_keys_and_plans(fake_platform):
    send(fake_platform, 1, {"text": "a"}, key="same")
    fake_platform.fake("POST", "fail", json={"status": 503, "times": 5})
    fake_platform.fake("POST", "reset")
    assert fake_platform.fake("GET", "messages")["messages"] == []
    r = send(fake_platform, 1, {"text": "b"}, key="same")
    assert r.status_code == 200
    assert [m["text"] for m in fake_platform.fake("GET", "messages")["messages"]] == ["b"]


def test_vault_pagination(fake_platform):
    seen, offset = [], 0
    while True:
        r = requests.get(
            f"{fake_platform.api}/media/vault",
            params={"limit": 5, "offset": offset},
            headers=fake_platform.auth,
            timeout=5,
        )
        data = r.json()["data"]
        seen += data["list"]
        offset += 5
        if not data["hasMore"]:
            break
    assert [m["id"] for m in seen] == [101, 102, 103, *range(201, 209), 301, 302]
    assert {m["type"] for m in seen} == {"photo", "video"} and all(m["createdAt"] for m in seen)
    r = requests.get(f"{fake_platform.api}/media/vault", params={"limit": "x"}, headers=fake_platform.auth, timeout=5)
    assert r.status_code == 400


def test_recent_chat_returns_last_messages(fake_platform):
    for i in range(4):
        send(
            fake_platform, 77, {"text": f"msg {i}", "mediaFiles": [201] if i == 3 else [], "price": 12 if i == 3 else 0}
        )
    send(fake_platform, 78, {"text": "other fan"})
    r = requests.get(
        f"{fake_platform.api}/chats/77/messages", params={"limit": 3}, headers=fake_platform.auth, timeout=5
    )
    chat = r.json()["data"]["list"]
    assert [m["text"] for m in chat] == ["msg 1", "msg 2", "msg 3"]
    for m in chat:
        assert set(m) >= {"id", "text", "fromUser", "createdAt", "price", "isOpened"}
        assert m["fromUser"] == {"id": 1}
    assert chat[-1]["price"] == 12 and chat[-1]["isOpened"] is False and chat[0]["isOpened"] is True


def verify_signature(req, secret):
    expected = "sha256=" + hmac.new(secret.encode(), req["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(req["headers"]["X-Signature"], expected)


def test_registered_webhook_gets_signed_envelope(fake_platform, webhook_receiver):
    r = requests.post(
        f"{fake_platform.api}/webhooks",
        headers=fake_platform.auth,
        timeout=5,
        json={"url": webhook_receiver.url, "events": ["messages.received", "tips.received"]},
    )
    assert r.status_code == 200 and r.json()["data"]["id"].startswith("wh_")
    payload = {"fan": {"id": 5, "name": "John"}, "message": {"id": 9, "text": "hey", "createdAt": "x"}}
    result = fake_platform.fake("POST", "webhook", json={"event": "messages.received", "payload": payload})
    assert result["status"] == 200 and result["event_id"].startswith("evt_")
    [req] = webhook_receiver.requests
    assert req["headers"]["Content-Type"] == "application/json"
    assert verify_signature(req, fake_platform.secret)
    envelope = json.loads(req["body"])
    assert envelope == {
        "event_id": result["event_id"],
        "event": "messages.received",
        "account_id": "acct_demo",
        "created_at": envelope["created_at"],
        "payload": payload,
    }
    assert envelope["created_at"].endswith("Z") and "T" in envelope["created_at"]
    # events the registration did not ask for are not posted
    with pytest.raises(requests.HTTPError):
        fake_platform.fake("POST", "webhook", json={"event": "subscriptions.new", "payload": {}})
    assert fake_platform.fake("GET", "stats")["webhooks_posted"] == 1


def test_webhook_is_retried_after_500(fake_platform, webhook_receiver):
    webhook_receiver.responses = [500, 503]
    requests.post(
        f"{fake_platform.api}/webhooks",
        headers=fake_platform.auth,
        timeout=5,
        json={"url": webhook_receiver.url, "events": []},
    )
    result = fake_platform.fake(
        "POST", "webhook", json={"event": "tips.received", "payload": {"fan": {"id": 5, "name": "J"}, "amount": 5}}
    )
    assert result["status"] == 500
    reqs = webhook_receiver.wait_for(lambda rs: len(rs) >= 3)
    assert [r["status"] for r in reqs] == [500, 503, 200]
    assert len({r["body"] for r in reqs}) == 1  # same event, same bytes, same event_id
    assert all(verify_signature(r, fake_platform.secret) for r in reqs)
    time.sleep(0.1)
    stats = fake_platform.fake("GET", "stats")
    assert (stats["webhooks_posted"], stats["webhooks_failed"]) == (1, 2)


def test_fan_pays_is_recorded_and_told(fake_platform, webhook_receiver):
    """The fault checks' fans pay through the platform (bench/soak.py): it books the money, then tells the bot."""
    requests.post(
        f"{fake_platform.api}/webhooks",
        headers=fake_platform.auth,
        timeout=5,
        json={"url": webhook_receiver.url, "events": []},
    )
    [bought] = fake_platform.fake("POST", "purchase", json={"fan_id": 5, "message_id": 77, "amount": 18})["webhooks"]
    [tipped] = fake_platform.fake("POST", "tip", json={"fan_id": 5, "amount": 10})["webhooks"]
    assert bought["status"] == tipped["status"] == 200 and bought["event_id"] != tipped["event_id"]
    bodies = [json.loads(r["body"]) for r in webhook_receiver.requests]
    assert [(b["event"], b["event_id"]) for b in bodies] == [
        ("messages.ppv.unlocked", bought["event_id"]),
        ("tips.received", tipped["event_id"]),
    ]
    assert bodies[0]["payload"]["message_id"] == 77 and bodies[1]["payload"]["amount"] == 10
    stats = fake_platform.fake("GET", "stats")
    assert (stats["purchases"], stats["revenue"], stats["tips"], stats["tips_amount"]) == (1, 18.0, 1, 10.0)
    for name, body in [
        ("purchase", {"fan_id": 5, "amount": 18}),
        ("tip", {"fan_id": 5, "amount": 0}),
        ("tip", {"fan_id": "5", "amount": 3}),
    ]:
        r = requests.post(f"{fake_platform.url}/_fake/{name}", json=body, timeout=5)
        assert r.status_code == 400, (name, body)


def test_webhook_without_target_is_400(fake_platform):
    r = requests.post(f"{fake_platform.url}/_fake/webhook", json={"event": "x", "payload": {}}, timeout=5)
    assert r.status_code == 400


def test_cli_webhook_url_and_clean_sigterm(start_fake_platform, webhook_receiver):
    fp = start_fake_platform("--webhook-url", webhook_receiver.url)
    result = fp.fake("POST", "webhook", json={"event": "subscriptions.new", "payload": {"fan": {"id": 1, "name": "A"}}})
    assert result["status"] == 200 and verify_signature(webhook_receiver.requests[0], fp.secret)
    assert fp.stop() == 0
    assert f"fake platform listening on http://127.0.0.1:{fp.port}" in fp.output()


def test_project_platform_client_speaks_to_fake(fake_platform):
    """The project's real client and this fake agree on the contract."""
    from types import SimpleNamespace

    from salesbot.providers.simple import PlatformClient, TransientError

    creator = SimpleNamespace(api_base_url=fake_platform.url, account_id="acct_demo", api_key=fake_platform.api_key)
    client = PlatformClient(creator)
    fake_platform.fake("POST", "fail", json={"status": 503, "times": 1})
    with pytest.raises(TransientError):  # one attempt per call: the queue retries (salesbot.pipeline.worker)
        client.send_message(55, "hi", [203], 18, idempotency_key="a-1")
    sent = client.send_message(55, "hi", [203], 18, idempotency_key="a-1")
    assert client.send_message(55, "hi", [203], 18, idempotency_key="a-1").id == sent.id
    listed = requests.get(f"{fake_platform.api}/chats/55/messages", headers=fake_platform.auth, timeout=5).json()
    assert [m["id"] for m in listed["data"]["list"]] == [sent.id]


def test_simulated_fans_subscribe_talk_and_buy_only_what_they_were_sent(start_fake_platform, webhook_receiver):
    fp = start_fake_platform(
        "--webhook-url",
        webhook_receiver.url,
        "--simulate",
        "--sim-seed",
        "3",
        "--sim-rate",
        "60",
        "--speed",
        "40",
        "--sim-max-fans",
        "8",
    )
    reqs = webhook_receiver.wait_for(
        lambda rs: sum(json.loads(r["body"])["event"] == "subscriptions.new" for r in rs) >= 8, timeout=20
    )
    assert all(verify_signature(r, fp.secret) for r in reqs)
    fans = [e["payload"]["fan"]["id"] for e in webhook_receiver.events() if e["event"] == "subscriptions.new"]
    sent = {}  # message id -> (fan id, price)
    for fan in fans:
        for price in (1, 2):
            r = send(fp, fan, {"text": "just for you 🥺", "mediaFiles": [203], "price": price})
            sent[r.json()["data"]["id"]] = (fan, price)
    send(fp, 99999, {"text": "not a simulated fan", "mediaFiles": [203], "price": 1})
    webhook_receiver.wait_for(
        lambda rs: any(json.loads(r["body"])["event"] == "messages.ppv.unlocked" for r in rs), timeout=20
    )
    time.sleep(1.0)
    events = webhook_receiver.events()
    unlocks = [e["payload"] for e in events if e["event"] == "messages.ppv.unlocked"]
    assert len({u["message_id"] for u in unlocks}) == len(unlocks)
    for u in unlocks:
        assert sent[u["message_id"]] == (u["fan"]["id"], u["amount"])
    assert all(e["payload"]["fan"]["id"] in fans for e in events if "fan" in e["payload"])
    chats = [
        m
        for e in events
        if e["event"] == "messages.received"
        for m in [e["payload"]["message"]]
        if isinstance(m["text"], str) and m["text"]
    ]
    assert chats, "simulated fans should talk"
    stats = fp.fake("GET", "stats")
    assert stats["fans"] == 8 and stats["purchases"] == len(unlocks)
    assert len(fp.fake("GET", "fans")["fans"]) == 8
    assert "fan+" in fp.output() and "$$$" in fp.output()
