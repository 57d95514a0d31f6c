"""Net money (issue 24): a chargeback the provider lists (OnlyFansAPI.com `GET /{account}/chargebacks`, served
by the fake platform process) after a webhook-booked purchase takes that sale's money out of its price's
revenue per send in /api/<slug>/learning/stats, and shows in the chargeback rate of the price and the hook."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from fans.models import Fan
from learning.services import record_action
from salesbot.pipeline import intake
from salesbot.providers.onlyfansapi import chargebacks
from tests.fake_processes import ACCOUNT
from tests.salesbot.providers import ofapi_payloads as of
from tests.team_helpers import manager

pytestmark = [pytest.mark.integration]


@pytest.fixture
def ops(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=manager('ops')).key}")
    return client


def stats(ops, creator) -> dict:
    cache.clear()
    r = ops.get(f"/api/{creator.slug}/learning/stats")
    assert r.status_code == 200
    return r.json()


def test_a_chargeback_after_a_purchase_lowers_that_prices_revenue_per_send(client, creator, fake, ops):
    fans = [Fan.objects.create(creator=creator, fan_id=80 + i, name=f"F{i}", state="pitched") for i in range(4)]
    for i, f in enumerate(fans):
        record_action(
            f,
            "ppv",
            price=Decimal("25"),
            content_key="combo",
            hook="scarcity",
            status="sent",
            platform_message_id=8000 + i,
            message_text="for you",
        )
    for i in (0, 1):  # two of the four buy, through the provider's webhook
        of.post(client, "messages.ppv.unlocked", of.unlocked(80 + i, 8000 + i, amount="$25.00"), account=ACCOUNT)
    intake.drain()
    before = stats(ops, creator)
    gross = before["posterior_by_price"]["25"]["revenue_per_send"]["mean"]
    assert before["conversion_by_price"]["25"]["bought"] == 2
    assert before["chargeback_rate_by_price"]["25"] == {"bought": 2, "reversed": 0, "rate": 0.0}

    fake.fake("POST", "chargeback", json={"fan_id": 81, "amount": 25})  # weeks later, on the provider's list
    assert chargebacks.pull(creator) == 1
    intake.drain()

    after = stats(ops, creator)
    net = after["posterior_by_price"]["25"]["revenue_per_send"]["mean"]
    assert net < gross
    assert after["conversion_by_price"]["25"]["bought"] == 1
    assert after["chargeback_rate_by_price"]["25"] == {"bought": 2, "reversed": 1, "rate": 50.0}
    assert after["chargeback_rate_by_hook"]["scarcity"]["reversed"] == 1
    assert after["by_sender"]["bot"]["net_revenue"] == 25.0
    assert Fan.objects.get(fan_id=81).total_spent == Decimal("0.00")
