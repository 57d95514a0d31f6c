"""The dashboard prices the follow-ups sent through the Message Batches API at half price and shows them apart:
a manager sees what batching cost and saved, and the cost per 1,000 decisions is what was billed."""

from decimal import Decimal

from django.conf import settings
from django.urls import reverse

from salesbot.api.selectors import llm_usage
from salesbot.dashboard import cost
from salesbot.llm_tables import DEFAULT_PRICES, lookup
from salesbot.models import LLMCall
from tests.factories import FanFactory


def call(demo, fan, *, batched, tokens=10_000):
    p_in = lookup(settings.LLM_PRICES, demo.llm_model, DEFAULT_PRICES)[0]
    full = Decimal(str(round(tokens * p_in / 1_000_000, 6)))
    return LLMCall.objects.create(
        creator=demo,
        fan=fan,
        model=demo.llm_model,
        outcome="accepted",
        input_tokens=tokens,
        batched=batched,
        cost_usd=full / 2 if batched else full,
    )


def test_batched_calls_are_priced_at_half_and_shown_apart(demo, admin_client):
    fan = FanFactory(creator=demo)
    live, batched = call(demo, fan, batched=False), call(demo, fan, batched=True)
    panel = cost.panel(demo, llm_usage(demo))
    billed = float(live.cost_usd + batched.cost_usd)
    assert panel["per_1000_decisions"] == 1000 * billed / 2  # not both at the full price
    assert panel["batched"] == {
        "calls": 1,
        "cost_usd": float(batched.cost_usd),
        "saved_usd": float(live.cost_usd - batched.cost_usd),
    }
    page = admin_client.get(reverse("admin:models_registry_creator_dashboard", args=[demo.pk])).content.decode()
    row = page.split('id="batched-cost"')[1].split("</tr>")[0]
    assert "1 call," in row and f"${float(batched.cost_usd):.4f}" in row and "saved" in row


def test_a_creator_without_batches_says_none(demo, admin_client):
    call(demo, FanFactory(creator=demo), batched=False)
    page = admin_client.get(reverse("admin:models_registry_creator_dashboard", args=[demo.pk])).content.decode()
    assert "none" in page.split('id="batched-cost"')[1].split("</tr>")[0]
