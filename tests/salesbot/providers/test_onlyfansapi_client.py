"""The OnlyFansAPI.com client's own rules, before and after a call: price rules, error messages on the
Action, and onboarding refusing bounds the provider cannot take."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from salesbot.providers.base import PermanentError
from salesbot.providers.onlyfansapi import Client
from salesbot.providers.onlyfansapi.text import html_to_text, text_to_html
from tests.factories import CreatorFactory


class Answer:
    def __init__(self, status, body, headers=None):
        self.status_code, self._body, self.headers, self.text = status, body, headers or {}, str(body)

    def json(self):
        return self._body


class Session:
    def __init__(self, answer):
        self.answer, self.calls = answer, []

    def request(self, method, url, **kw):
        self.calls.append((method, url, kw))
        return self.answer


@pytest.fixture
def creator(db):
    return CreatorFactory(provider="onlyfansapi", account_id="acct_of", api_base_url="http://stand-in/api")


@pytest.mark.parametrize(
    "price,media,why",
    [
        (Decimal("2"), [1], "0 or 3"),
        (Decimal("250"), [1], "0 or 3"),
        (Decimal("10"), [], "needs at least one vault media"),
    ],
)
def test_prices_the_provider_refuses_are_never_sent(creator, price, media, why):
    session = Session(Answer(200, {}))
    with pytest.raises(PermanentError, match=why):
        Client(creator, session=session).send_message(5, "hi", media, price, idempotency_key="k")
    assert session.calls == []


def test_send_is_html_escaped_with_bearer_and_idempotency_key(creator):
    session = Session(
        Answer(
            200,
            {
                "data": {"id": 77, "createdAt": "x"},
                "_meta": {"_rate_limits": {"limit_minute": 60, "remaining_minute": 59}},
            },
        )
    )
    sent = Client(creator, session=session).send_message(
        5, "you & me <3\nxo", [9], Decimal("12"), idempotency_key="uuid-1"
    )
    method, url, kw = session.calls[0]
    assert (method, url, sent.id) == ("POST", "http://stand-in/api/acct_of/chats/5/messages", 77)
    assert kw["json"] == {
        "text": "you &amp; me &lt;3<br>xo",
        "price": 12,
        "mediaFiles": [9],
        "blockBannedWords": "strict_ban",
    }
    assert kw["headers"]["Idempotency-Key"] == "uuid-1"
    assert kw["headers"]["Authorization"] == "Bearer test-api-key-123456"
    assert html_to_text(text_to_html("you & me <3\nxo")) == "you & me <3\nxo"


@pytest.mark.parametrize(
    "status,body,message",
    [
        (
            422,
            {"errors": {"price": ["The price must be 0 or between 3 and 200."]}},
            "422 price: The price must be 0 or between 3 and 200.",
        ),
        (
            400,
            {"error": "ONLYFANS_COM_ERROR", "message": "Fan has blocked you", "onlyfans_response": {}},
            "ONLYFANS_COM_ERROR: Fan has blocked you",
        ),
        (401, {"error": "Unauthorized. Bad token"}, "401 Unauthorized. Bad token"),
    ],
)
def test_provider_errors_carry_its_message(creator, status, body, message):
    with pytest.raises(PermanentError, match=message):
        Client(creator, session=Session(Answer(status, body))).send_message(5, "hi", idempotency_key="k")


def test_429_pauses_the_account_for_retry_after(creator):
    from salesbot.providers.base import TransientError

    with pytest.raises(TransientError):
        Client(creator, session=Session(Answer(429, {"error": "slow down"}, {"Retry-After": "30"}))).send_message(
            5, "hi", idempotency_key="k"
        )
    with pytest.raises(TransientError, match="rate limit") as e:
        Client(creator, session=Session(Answer(200, {}))).send_message(5, "hi", idempotency_key="k2")
    assert 25 < e.value.retry_after <= 30


def test_onboarding_refuses_bounds_outside_the_providers_prices(db):
    with pytest.raises(ValidationError, match="at most 200"):
        CreatorFactory.build(provider="onlyfansapi", ppv_max_price=Decimal("300")).full_clean()
    with pytest.raises(ValidationError, match="at least 3"):
        CreatorFactory.build(provider="onlyfansapi", ppv_min_price=Decimal("1")).full_clean()
