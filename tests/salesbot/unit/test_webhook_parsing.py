"""The inbound webhook contract: HMAC signatures and envelope/payload parsing with named errors."""

import hashlib
import hmac
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from salesbot.pipeline.events import WebhookError
from salesbot.providers import simple as wh

SECRET = "s3cret-for-tests"
BODY = b'{"event_id":"evt_1","event":"tips.received"}'


def envelope(event="messages.received", **overrides):
    data = {
        "event_id": "evt_1",
        "event": event,
        "account_id": "acct_demo",
        "created_at": "2026-11-24T18:00:00Z",
        "payload": {
            "fan": {"id": 42, "name": "Sam"},
            "message": {"id": 900, "text": "hey", "createdAt": "2026-11-24T18:00:05Z"},
        },
    }
    data.update(overrides)
    return data


def tip(amount):
    return wh.parse_envelope(envelope("tips.received", payload={"fan": {"id": 42}, "amount": amount}))


# --- signatures ----------------------------------------------------------------------------------


def test_sign_is_hmac_sha256_of_the_raw_body():
    expected = "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert wh.sign(SECRET, BODY) == expected


def test_signature_round_trip():
    assert wh.signature_ok(SECRET, BODY, wh.sign(SECRET, BODY)) is True
    assert wh.signature_ok(SECRET, BODY, "  " + wh.sign(SECRET, BODY) + "\n") is True


@pytest.mark.parametrize(
    "secret,body,header",
    [
        (SECRET, BODY, wh.sign("another-secret", BODY)),  # wrong secret
        (SECRET, BODY + b" ", wh.sign(SECRET, BODY)),  # tampered body
        (SECRET, BODY.replace(b"1", b"2"), wh.sign(SECRET, BODY)),  # tampered body
        (SECRET, BODY, None),  # missing header
        (SECRET, BODY, ""),  # empty header
        (SECRET, BODY, wh.sign(SECRET, BODY)[len("sha256=") :]),  # digest without the scheme
        ("", BODY, wh.sign("", BODY)),  # creator without a secret
    ],
)
def test_bad_signatures_are_rejected(secret, body, header):
    assert wh.signature_ok(secret, body, header) is False


# --- envelope --------------------------------------------------------------------------------------


def test_parse_envelope_reads_every_field():
    env = wh.parse_envelope(envelope())
    assert (env.event_id, env.event, env.account_id) == ("evt_1", "messages.received", "acct_demo")
    assert env.created_at == datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
    assert env.payload["fan"] == {"id": 42, "name": "Sam"}


def test_created_at_without_zone_is_utc():
    env = wh.parse_envelope(envelope(created_at="2026-11-24T18:00:00"))
    assert env.created_at == datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize("field", ["event_id", "event", "account_id", "created_at", "payload"])
def test_missing_envelope_field_is_named(field):
    data = envelope()
    del data[field]
    with pytest.raises(WebhookError, match=f"missing field '{field}'"):
        wh.parse_envelope(data)


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("event_id", 17, "field 'event_id' must be a string"),
        ("payload", [], "field 'payload' must be an object"),
        ("created_at", "yesterday", "field 'created_at' must be an ISO-8601 time"),
    ],
)
def test_wrongly_typed_envelope_field_is_named(field, value, message):
    with pytest.raises(WebhookError, match=message):
        wh.parse_envelope(envelope(**{field: value}))


@pytest.mark.parametrize(
    "body,message",
    [(b"{not json", "not valid JSON"), (b"[1, 2]", "must be a JSON object"), (b"\xff\xfe", "not valid JSON")],
)
def test_body_must_be_a_json_object(body, message):
    with pytest.raises(WebhookError, match=message):
        wh.parse_json(body)


def test_parse_json_round_trip():
    assert wh.parse_json(json.dumps(envelope()).encode()) == envelope()


# --- payloads --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "event,payload,field",
    [
        ("messages.received", {"message": {"id": 1, "text": "x"}}, "payload.fan"),
        ("messages.received", {"fan": {"name": "x"}, "message": {"id": 1, "text": "x"}}, "payload.fan.id"),
        ("messages.received", {"fan": {"id": 1}}, "payload.message"),
        ("messages.received", {"fan": {"id": 1}, "message": {"text": "x"}}, "payload.message.id"),
        ("messages.received", {"fan": {"id": 1}, "message": {"id": 1}}, "payload.message.text"),
        ("subscriptions.new", {}, "payload.fan"),
        ("messages.ppv.unlocked", {"fan": {"id": 1}, "amount": 18}, "payload.message_id"),
        ("messages.ppv.unlocked", {"fan": {"id": 1}, "message_id": 5}, "payload.amount"),
        ("tips.received", {"fan": {"id": 1}}, "payload.amount"),
    ],
)
def test_missing_payload_field_is_named(event, payload, field):
    with pytest.raises(WebhookError, match=f"missing field '{field}'"):
        wh.parse_event(wh.parse_envelope(envelope(event, payload=payload)))


def test_bad_message_time_is_named():
    env = wh.parse_envelope(
        envelope(payload={"fan": {"id": 1}, "message": {"id": 1, "text": "x", "createdAt": "soon"}})
    )
    with pytest.raises(WebhookError, match="payload.message.createdAt"):
        wh.parse_event(env)


def test_unknown_event_payload_is_not_checked():
    assert wh.parse_event(wh.parse_envelope(envelope("posts.liked", payload={}))) is None


@pytest.mark.parametrize(
    "amount,expected", [(0, Decimal("0")), (18, Decimal("18")), (12.5, Decimal("12.5")), ("25.50", Decimal("25.50"))]
)
def test_valid_amounts(amount, expected):
    env = tip(amount)
    assert wh.parse_event(env).amount == expected


@pytest.mark.parametrize(
    "amount,message",
    [
        (-5, "must be a non-negative number"),
        (-0.01, "must be a non-negative number"),
        ("abc", "must be a number"),
        (None, "must be a number"),
        ([18], "must be a number"),
        (True, "must be a number"),
        (False, "must be a number"),
        (float("nan"), "must be a non-negative number"),
        (float("inf"), "must be a non-negative number"),
    ],
)
def test_amount_must_be_a_non_negative_number(amount, message):
    env = tip(amount)
    with pytest.raises(WebhookError, match=f"field 'payload.amount' {message}"):
        wh.parse_event(env)


@pytest.mark.parametrize(
    "where,payload",
    [
        ("payload.fan.id", {"fan": {"id": True}, "message": {"id": 1, "text": "x"}}),
        ("payload.fan.id", {"fan": {"id": 4.0}, "message": {"id": 1, "text": "x"}}),
        ("payload.message.id", {"fan": {"id": 1}, "message": {"id": False, "text": "x"}}),
        ("payload.message.id", {"fan": {"id": 1}, "message": {"id": "-3", "text": "x"}}),
    ],
)
def test_bools_and_non_integers_are_not_ids(where, payload):
    with pytest.raises(WebhookError, match=f"field '{where}' must be an integer"):
        wh.parse_event(wh.parse_envelope(envelope(payload=payload)))


def test_unlock_message_id_must_be_an_integer_not_a_bool():
    env = wh.parse_envelope(
        envelope("messages.ppv.unlocked", payload={"fan": {"id": 1}, "message_id": True, "amount": 5})
    )
    with pytest.raises(WebhookError, match="field 'payload.message_id' must be an integer"):
        wh.parse_event(env)


def test_digit_string_ids_are_accepted_as_integers():
    fan = wh.parse_fan({"fan": {"id": "12345678", "name": "John"}})
    assert fan == wh.FanRef(id=12345678, name="John")


def test_fan_name_that_is_not_a_string_becomes_empty():
    assert wh.parse_fan({"fan": {"id": 7, "name": None}}) == wh.FanRef(id=7, name="")


def test_a_message_event_carries_its_own_time():
    event = wh.parse_event(wh.parse_envelope(envelope()))
    assert event == wh.FanMessage(wh.FanRef(42, "Sam"), 900, "hey", datetime(2026, 11, 24, 18, 0, 5, tzinfo=UTC))
