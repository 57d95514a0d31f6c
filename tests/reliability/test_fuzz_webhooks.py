"""Property-based fuzzing of every webhook endpoint (hypothesis), through Django's test client with
valid signatures: never a 5xx, every valid event stored exactly once and processed without a crash."""

import itertools
import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesbot.models import WebhookEvent
from salesbot.pipeline import intake
from tests.reliability.conftest import FUZZ_RANDOM, examples, signed_post

pytestmark = pytest.mark.django_db

ENDPOINTS = {  # event -> the endpoints that accept it
    "messages.received": ["of-event", "fan-message"],
    "subscriptions.new": ["of-event", "new-subscriber"],
    "messages.ppv.unlocked": ["of-event", "purchase"],
    "tips.received": ["of-event", "purchase"],
}
ALL_KINDS = ["of-event", "fan-message", "new-subscriber", "purchase"]
# Every webhook URL: per creator (/api/demo/webhook/KIND) and by account_id (/api/webhook/KIND).
ALL_URLS = ALL_KINDS + [f"acct:{k}" for k in ALL_KINDS]
_serial = itertools.count()


def fuzz_settings(n):
    return settings(
        max_examples=examples(n),
        deadline=None,
        database=None,
        derandomize=not FUZZ_RANDOM,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# ---- strategies -----------------------------------------------------------------------------------
ids = st.integers(min_value=0, max_value=2**63 - 1)
texts = st.text(max_size=300)  # any code point but lone surrogates (NUL included: it is valid JSON)
iso = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)).map(
    lambda d: d.isoformat().replace("+00:00", "Z")
)
amounts = st.one_of(
    st.integers(min_value=0, max_value=10**6),
    st.floats(min_value=0, max_value=99_999_999.99, allow_nan=False, allow_infinity=False),
)
event_ids = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1, max_size=100)
fans = st.fixed_dictionaries({"id": ids}, optional={"name": texts})
PAYLOADS = {
    "messages.received": st.fixed_dictionaries(
        {"fan": fans, "message": st.fixed_dictionaries({"id": ids, "text": texts}, optional={"createdAt": iso})}
    ),
    "subscriptions.new": st.fixed_dictionaries({"fan": fans}),
    "messages.ppv.unlocked": st.fixed_dictionaries({"fan": fans, "message_id": ids, "amount": amounts}),
    "tips.received": st.fixed_dictionaries({"fan": fans, "amount": amounts}),
}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def valid_envelopes(draw):
    event = draw(st.sampled_from(sorted(PAYLOADS)))
    body = {
        "event_id": f"{next(_serial)}:{draw(event_ids)}",
        "event": event,
        "account_id": "acct_demo",
        "created_at": draw(iso),
        "payload": draw(PAYLOADS[event]),
    }
    kind = draw(st.sampled_from(ENDPOINTS[event]))
    return body, draw(st.sampled_from([kind, f"acct:{kind}"]))


@st.composite
def mutated_envelopes(draw):
    """A valid envelope with 1-3 random edits: a key dropped, a value replaced by any JSON value."""
    body, kind = draw(valid_envelopes())
    for _ in range(draw(st.integers(1, 3))):
        path, node = [], body
        while isinstance(node, dict) and node and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(node)))
            path.append(key)
            node = node[key]
        parent = body
        for key in path[:-1]:
            parent = parent[key]
        if not path or not isinstance(parent, dict):
            continue
        if draw(st.booleans()):
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = draw(json_values)
    return body, kind


def url_for(kind):
    return f"/api/webhook/{kind[5:]}" if kind.startswith("acct:") else f"/api/demo/webhook/{kind}"


def post_and_check(client, body, kind):
    """Post; never a 5xx; an accepted event is stored once and processes without an exception."""
    r = signed_post(client, url_for(kind), body)
    assert r.status_code < 500, (r.status_code, r.content[:300])
    if r.status_code == 200 and r.json()["status"] == "accepted":
        event = WebhookEvent.objects.get(creator__slug="demo", event_id=r.json()["event_id"])
        assert intake.process_event(event) == "processed", event.error
    elif r.status_code == 400:
        assert WebhookEvent.objects.filter(status="failed").exists()
    return r


@fuzz_settings(80)
@given(case=valid_envelopes())
def test_valid_events_are_stored_exactly_once_and_processed(client, creator, case):
    body, kind = case
    r = post_and_check(client, body, kind)
    assert r.status_code == 200 and r.json() == {"status": "accepted", "event_id": body["event_id"]}, r.content
    again = signed_post(client, url_for(kind), body)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    stored = WebhookEvent.objects.filter(creator=creator, event_id=body["event_id"])
    assert stored.count() == 1 and stored.get().status == "processed"
    assert json.loads(stored.get().raw_body) == body


@fuzz_settings(120)
@given(case=mutated_envelopes())
def test_mutated_envelopes_never_5xx(client, creator, case):
    post_and_check(client, *case)


@fuzz_settings(60)
@given(body=json_values, kind=st.sampled_from(ALL_URLS))
def test_random_json_never_5xx(client, creator, body, kind):
    post_and_check(client, json.dumps(body).encode(), kind)


@fuzz_settings(60)
@given(raw=st.binary(max_size=300).filter(lambda b: b"\x00" not in b), kind=st.sampled_from(ALL_URLS))
def test_random_bytes_never_5xx(client, creator, raw, kind):
    post_and_check(client, raw, kind)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"event_id": "e", "event": "messages.received", "account_id": "acct_demo", "created_at": 1e999}',
        b'{"event_id": 1' + b"0" * 5000 + b"}",  # an integer Python refuses to parse
        b"[" * 100_000 + b"]" * 100_000,  # nesting deeper than the recursion limit
        json.dumps(
            {
                "event_id": "x" * 121,
                "event": "tips.received",
                "account_id": "acct_demo",
                "created_at": "2026-01-01T00:00:00Z",
                "payload": {"fan": {"id": 1}, "amount": 1},
            }
        ).encode(),
    ],
)
def test_known_nasty_bodies_are_refused_with_400(client, creator, raw):
    r = signed_post(client, "/api/demo/webhook/of-event", raw)
    assert r.status_code == 400, r.content[:300]


def test_unstorable_characters_are_replaced_not_crashed(client, creator):
    """NUL (PostgreSQL refuses it) and lone surrogates (no UTF-8 encoder takes them) in JSON strings."""
    body = (
        b'{"event_id": "evt_\\ud800\\u0000", "event": "messages.received", "account_id": "acct_demo", '
        b'"created_at": "2026-01-01T00:00:00Z", "payload": {"fan": {"id": 5, "name": "A\\u0000"}, '
        b'"message": {"id": 1, "text": "hi\\u0000 \\udfff"}}}'
    )
    r = signed_post(client, "/api/demo/webhook/of-event", body)
    assert r.status_code == 200 and r.json() == {"status": "accepted", "event_id": "evt_\ufffd\ufffd"}
    assert intake.process_event(WebhookEvent.objects.get(event_id="evt_\ufffd\ufffd")) == "processed"
    assert signed_post(client, "/api/demo/webhook/of-event", body).json()["status"] == "duplicate"


def test_nul_byte_body_is_refused_not_crashed(client, creator):
    """Raw NUL bytes cannot be stored in a PostgreSQL text column; the view keeps the raw body of a
    refused request, so it must replace them (salesbot/api/webhook_views.accept)."""
    r = signed_post(client, "/api/demo/webhook/of-event", b'{"event_id": "e\x00", "x": 1}')
    assert r.status_code == 400
