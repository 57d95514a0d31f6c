"""Two creators: A (the chatter's) and B (someone else's), with one object of every scoped model each."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from fans.models import FanTransition, Message
from learning.models import Action, Outcome
from salesbot.models import Draft, LLMCall, QueueItem, WebhookEvent
from tests.factories import (
    CreatorFactory,
    FanFactory,
    PlaybookSectionFactory,
    ResponseTemplateFactory,
    VaultItemFactory,
)
from tests.team_helpers import chatter, fake_platform_client

SECRET = "bravosecret"  # appears only in creator B's rows: no page a chatter of A gets may show it


def world(creator, tag):
    fan = FanFactory(
        creator=creator,
        name=f"{tag}fan",
        fan_id=700 if tag == "alpha" else 800,
        safety_flag=True,
        handoff_reason=f"{tag} reason",
    )
    objs = {
        "models_registry.creator": creator,
        "models_registry.vaultitem": VaultItemFactory(creator=creator, content_key=f"{tag}-item"),
        "models_registry.playbooksection": PlaybookSectionFactory(creator=creator, title=f"{tag} section"),
        "models_registry.responsetemplate": ResponseTemplateFactory(creator=creator, variants=[f"{tag} hi"]),
        "fans.fan": fan,
        "fans.needshumanfan": fan,
        "fans.message": Message.objects.create(fan=fan, direction="in", text=f"{tag} message"),
        "fans.fantransition": FanTransition.objects.create(
            fan=fan, from_state="new", to_state="greeted", reason=f"{tag} move"
        ),
        "learning.action": Action.objects.create(
            creator=creator,
            fan=fan,
            action="ppv",
            price=Decimal("18"),
            content_key=f"{tag}-item",
            message_text=f"{tag} offer",
            status="sent",
        ),
        "salesbot.webhookevent": WebhookEvent.objects.create(
            creator=creator, event_id=f"{tag}-event", raw_body=f"{tag} body"
        ),
        "salesbot.queueitem": QueueItem.objects.create(creator=creator, fan=fan, result=f"{tag} result"),
        "salesbot.llmcall": LLMCall.objects.create(
            creator=creator, fan=fan, model="m", outcome="used", error=f"{tag} call"
        ),
    }
    objs["salesbot.draft"] = Draft.objects.create(creator=creator, fan=fan, action="text", text=f"{tag} draft")
    objs["learning.outcome"] = Outcome.objects.create(
        creator=creator, fan=fan, event="replied", platform_event_id=f"{tag}-outcome"
    )
    return objs


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def two_creators(db):
    a = CreatorFactory(slug="alpha", display_name="Alpha Creator", account_id="acct_alpha")
    b = CreatorFactory(slug=SECRET, display_name=f"{SECRET} Creator", account_id=f"acct_{SECRET}")
    return world(a, "alpha"), world(b, SECRET)


@pytest.fixture
def chatter_a(two_creators):
    return chatter("chatty", two_creators[0]["models_registry.creator"])


@pytest.fixture
def chatter_client(client, chatter_a):
    client.force_login(chatter_a)
    return client


@pytest.fixture
def chatter_api(chatter_a):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=chatter_a).key}")
    return api


@pytest.fixture(autouse=True)
def platform(monkeypatch):
    """No network: sends (an approved draft) go to a recording stand-in for the provider client."""
    return fake_platform_client(monkeypatch)
