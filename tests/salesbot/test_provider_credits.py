"""Provider credits: each delivered webhook event and each API call is counted per creator and day, written in
batches (no query on the reply's path), and shown on the dashboard beside the model's cost."""

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from models_registry.services import onboard_from_files
from salesbot import tasks
from salesbot.models import ProviderUsage
from salesbot.providers import credits, simple
from tests.fake_processes import ACCOUNT, API_KEY, SECRET

pytestmark = pytest.mark.django_db(transaction=True)


def test_calls_and_webhook_events_are_counted_per_day_and_shown(client, admin_client, fake_platform):
    credits.reset()
    creator = onboard_from_files(
        "demo/content-map.json",
        "demo/playbook.md",
        slug="demo",
        account_id=ACCOUNT,
        api_base_url=fake_platform.url,
        api_key=API_KEY,
        webhook_secret=SECRET,
    )
    for n, text in enumerate(["hey", "how are you?"]):
        body = json.dumps(
            {
                "event": "messages.received",
                "account_id": ACCOUNT,
                "event_id": f"c{n}",
                "created_at": "2026-12-04T10:00:00Z",
                "payload": {"fan": {"id": 42, "name": "Fan42"}, "message": {"id": 900 + n, "text": text}},
            }
        ).encode()
        for _ in range(1 + n):  # the second one delivered twice: a duplicate is billed too
            r = client.post(
                f"/api/{creator.slug}/webhook/of-event",
                body,
                content_type="application/json",
                HTTP_X_SIGNATURE=simple.sign(SECRET, body),
            )
            assert r.status_code == 200
        tasks.drain_webhooks()
    bad = client.post(
        f"/api/{creator.slug}/webhook/of-event", b"{}", content_type="application/json", HTTP_X_SIGNATURE="0" * 64
    )
    assert bad.status_code == 401  # not delivered by the provider: not billed
    sent = len(fake_platform.fake("GET", "messages")["messages"])
    assert sent == 2
    credits.flush()
    row = ProviderUsage.objects.get(creator=creator, day=timezone.now().date())
    assert (row.webhook_events, row.calls, row.credits) == (3, sent, 3 + sent)
    page = admin_client.get(reverse("admin:models_registry_creator_dashboard", args=[creator.pk])).content.decode()
    assert f"<td>{row.calls}</td><td>3</td><td>{row.credits}</td>" in page
