"""Webhook intake over Django's test client: signature, persist-then-ack, duplicates, bad input."""

import json

import pytest

from salesbot.models import WebhookEvent
from salesbot.providers.simple import sign

SECRET = "test-webhook-secret"


def envelope(event="messages.received", event_id="evt_1", account_id="acct_demo", **payload):
    payload = payload or {
        "fan": {"id": 42, "name": "Sam"},
        "message": {"id": 900, "text": "hey", "createdAt": "2026-11-24T18:00:00Z"},
    }
    return {
        "event_id": event_id,
        "event": event,
        "account_id": account_id,
        "created_at": "2026-11-24T18:00:00Z",
        "payload": payload,
    }


def post(client, url, body, secret=SECRET, signature=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {}
    if signature is not False:
        headers["HTTP_X_SIGNATURE"] = signature or sign(secret, raw)
    return client.post(url, data=raw, content_type="application/json", **headers)


@pytest.fixture
def url(creator):
    return f"/api/{creator.slug}/webhook/of-event"


def test_signed_event_is_stored_then_acknowledged(client, url):
    r = post(client, url, envelope())
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    ev = WebhookEvent.objects.get()
    assert (ev.event_id, ev.event, ev.status) == ("evt_1", "messages.received", "received")
    assert json.loads(ev.raw_body)["payload"]["message"]["text"] == "hey"


@pytest.mark.parametrize("signature", [False, "sha256=deadbeef", "garbage"])
def test_bad_or_missing_signature_is_refused_and_nothing_stored(client, url, signature):
    r = post(client, url, envelope(), signature=signature)
    assert r.status_code == 401
    assert not WebhookEvent.objects.exists()


def test_signature_with_another_secret_is_refused(client, url):
    assert post(client, url, envelope(), secret="other").status_code == 401


def test_repeated_event_id_is_acknowledged_once(client, url):
    assert post(client, url, envelope()).json()["status"] == "accepted"
    r = post(client, url, envelope())
    assert r.status_code == 200 and r.json()["status"] == "duplicate"
    assert WebhookEvent.objects.count() == 1


def test_malformed_json_is_400_and_kept_for_replay(client, url):
    r = post(client, url, b'{"event_id": "evt_1", "event": ')
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]
    ev = WebhookEvent.objects.get()
    assert ev.status == "failed" and ev.raw_body == '{"event_id": "evt_1", "event": '


def test_missing_field_is_named(client, url):
    body = envelope(fan={"name": "no id"}, message={"id": 1, "text": "x"})
    r = post(client, url, body)
    assert r.status_code == 400
    assert "payload.fan.id" in r.json()["error"]
    assert WebhookEvent.objects.get().status == "failed"


def test_unknown_event_is_acknowledged_stored_and_ignored(client, url):
    r = post(client, url, envelope(event="fans.birthday", something=1))
    assert r.status_code == 200 and r.json()["status"] == "ignored"
    assert WebhookEvent.objects.get().status == "ignored"


def test_event_for_another_account_is_refused(client, url):
    r = post(client, url, envelope(account_id="acct_someone_else"))
    assert r.status_code == 400 and "does not belong" in r.json()["error"]


def test_purpose_endpoint_rejects_other_events(client, creator):
    r = post(client, f"/api/{creator.slug}/webhook/purchase", envelope())
    assert r.status_code == 400 and "not accepted" in r.json()["error"]


def test_unified_endpoint_finds_creator_by_account(client, creator):
    r = post(client, "/api/webhook/of-event", envelope(account_id=creator.account_id))
    assert r.status_code == 200
    assert WebhookEvent.objects.get().creator == creator


def test_unified_endpoint_unknown_account_is_refused(client, creator):
    r = post(client, "/api/webhook/of-event", envelope(account_id="acct_nobody"))
    assert r.status_code == 401
    assert not WebhookEvent.objects.exists()


def test_unknown_creator_slug_is_404(client, db):
    assert post(client, "/api/nobody/webhook/of-event", envelope()).status_code == 404


@pytest.mark.parametrize("path", ["/api/demo/webhook/of-event", "/api/webhook/of-event"])
def test_body_over_the_upload_limit_is_a_clear_413_and_logged(client, creator, settings, caplog, path):
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE is refused unread like any other refusal (JSON naming the
    limit), not with Django's bare 'Bad Request (400)' page. Its signature cannot be checked without reading
    it, so (like a bad signature) it is logged, not stored; the platform was not told it was taken."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert limit == 2621440  # Django's default: 2.5 MB
    body = envelope(fan={"id": 42}, message={"id": 1, "text": "x" * limit})
    raw = json.dumps(body).encode()
    with caplog.at_level("WARNING", logger="salesbot.api.webhook_views"):
        r = post(client, path, raw)
    assert r.status_code == 413
    assert r.json() == {
        "error": f"body of {len(raw)} bytes is over the webhook size limit of {limit} bytes (2.5 MB)",
        "limit_bytes": limit,
    }
    assert not WebhookEvent.objects.exists()
    logged = [rec.getMessage() for rec in caplog.records if rec.name == "salesbot.api.webhook_views"]
    where = "demo" if "/demo/" in path else "the account-routed endpoint"
    assert logged == [
        f"webhook for {where} refused: body of {len(raw)} bytes is over the webhook size limit "
        f"of {limit} bytes (2.5 MB)"
    ], logged
    # Just under the limit is taken as usual.
    body["payload"]["message"]["text"] = "x" * (limit - 1000)
    assert post(client, path, body).json()["status"] == "accepted"
