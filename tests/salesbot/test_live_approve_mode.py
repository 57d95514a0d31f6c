"""Approve mode over real HTTP: signed webhooks into a live Django server, the fake platform as its own
process. The bot's answers pile up as drafts and the platform receives nothing; an approval sends once,
however many times it is clicked."""

import pytest
import requests
from django.test import Client
from django.urls import reverse
from django_q.conf import Conf
from rest_framework.authtoken.models import Token

from learning.models import Action
from models_registry.services import onboard_from_files
from salesbot.models import Draft
from tests.fake_processes import ACCOUNT, API_KEY, SECRET
from tests.salesbot.test_live_loop import fan_says, sent_to
from tests.team_helpers import chatter, manager

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def approve_loop(live_server, fake_platform, monkeypatch, settings):
    monkeypatch.setattr(Conf, "SYNC", True)
    settings.PLATFORM_BACKOFF_S = 0.05
    creator = onboard_from_files(
        "demo/content-map.json",
        "demo/playbook.md",
        slug="demo",
        account_id=ACCOUNT,
        api_base_url=fake_platform.url,
        api_key=API_KEY,
        webhook_secret=SECRET,
    )
    requests.post(
        f"{fake_platform.api}/webhooks",
        headers=fake_platform.auth,
        timeout=5,
        json={"url": f"{live_server.url}/api/{creator.slug}/webhook/of-event", "events": []},
    ).raise_for_status()
    boss, user = manager("boss"), chatter("casey", creator)
    ops = session(boss)
    assert ops.post(f"{live_server.url}/api/demo/mode", json={"mode": "approve"}, timeout=5).json() == {
        "mode": "approve"
    }
    assert creator.history.latest("history_id").history_user == boss  # the audit names who switched
    api = session(user)
    return creator, fake_platform, api, live_server.url, user


def session(user):
    api = requests.Session()
    api.headers["Authorization"] = f"Token {Token.objects.create(user=user).key}"
    return api


def all_sent(fake):
    return fake.fake("GET", "messages")["messages"]


def test_drafts_pile_up_and_an_approval_sends_exactly_once(approve_loop):
    creator, fake, api, base, user = approve_loop
    fan_says(fake, 601, "hey there", msg_id=61, name="Ann")
    fan_says(fake, 602, "hi, new here", msg_id=62, name="Bo")
    fan_says(fake, 603, "hello gorgeous", msg_id=63, name="Cy")
    fan_says(fake, 601, "you there?", msg_id=64, name="Ann")  # writes again: the older draft is superseded

    assert all_sent(fake) == [], "approve mode: nothing reaches the platform before a person approves"
    assert not Action.objects.filter(creator=creator, status="sent").exists()
    listed = api.get(f"{base}/api/demo/drafts", timeout=5).json()
    drafts = listed["drafts"] if isinstance(listed, dict) else listed
    assert sorted(d["fan_id"] for d in drafts) == [601, 602, 603]
    assert Draft.objects.filter(creator=creator, fan__fan_id=601, status="superseded").count() == 1

    target = next(d for d in drafts if d["fan_id"] == 602)
    first = api.post(f"{base}/api/demo/drafts/{target['id']}/approve", timeout=10)
    again = api.post(f"{base}/api/demo/drafts/{target['id']}/approve", timeout=10)
    assert first.status_code == 200, first.text
    assert again.status_code == 400, again.text  # already decided: refused, nothing sent

    admin = Client()
    admin.force_login(user)  # and once more from the admin review page
    r = admin.post(reverse("admin:salesbot_draft_review", args=[target["id"]]), {"op": "approve"}, follow=True)
    assert "Not sent" in r.content.decode()

    sent = all_sent(fake)
    assert [m["fan_id"] for m in sent] == [602], sent
    action = Action.objects.get(creator=creator, fan__fan_id=602, status="sent")
    assert sent[0]["idempotency_key"] == str(action.uuid)
    draft = Draft.objects.get(pk=target["id"])
    assert draft.status == "approved" and draft.decided_by == user and draft.sent_action == action
    assert Draft.objects.filter(creator=creator, status="open").count() == 2  # the others still wait
    assert sent_to(fake, 601) == [] and sent_to(fake, 603) == []
