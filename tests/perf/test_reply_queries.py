"""What one reply costs the database, pinned: the real webhook view and the real drain task answer a fan's
message through the fake platform process, and the queries they issue are counted. A change that adds queries
to every reply fails here and has to say why (raise the pin with the reason, or find the query)."""

import json

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from models_registry.services import onboard_from_files
from salesbot import tasks
from salesbot.providers import credits, simple
from tests.fake_processes import ACCOUNT, API_KEY, SECRET

# Queries per answered fan message (webhook view + drain task): 72 on either database on 2026-12-07, 64 after
# issue 26 (the fan's queue item inserted without a look-up or savepoint, no savepoint around booking the send,
# the creator's pause read with the claimed item, templates cached per creator, one read after an item). The
# figure is kept per database, since locks and leases are SQL of their own. One full-suite run once measured 74
# after the live-loop tests; run after them today it is 64.0 (SQLite) and 64.8 (PostgreSQL), and the cause of
# that 74 was not found, so the pin keeps its margin: it still catches a change that adds queries to every reply.
# 63.0 on either database on 2026-12-08, after most of these statements became sqlonce's (compiled once: the same
# statements, cheaper to issue) and a drain task's idle second pass went.
PIN = {"sqlite": 76, "postgresql": 76}
FANS = 4

pytestmark = pytest.mark.django_db(transaction=True)


def test_queries_per_reply_stay_pinned(client, fake_platform, settings):
    cache.clear()  # what earlier tests left in the process-wide cache and credit counts is not this reply's
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
    ids = iter(range(1, 10**6))

    def fan_writes(fan_id, text):
        body = json.dumps(
            {
                "event": "messages.received",
                "account_id": ACCOUNT,
                "event_id": f"e{next(ids)}",
                "created_at": "2026-12-04T10:00:00Z",
                "payload": {"fan": {"id": fan_id, "name": f"Fan{fan_id}"}, "message": {"id": next(ids), "text": text}},
            }
        ).encode()
        r = client.post(
            f"/api/{creator.slug}/webhook/of-event",
            body,
            content_type="application/json",
            HTTP_X_SIGNATURE=simple.sign(SECRET, body),
        )
        assert r.status_code == 200, r.content
        tasks.drain_webhooks()

    for fan in range(1, FANS + 1):  # warm-up: each fan's first message (welcome), caches filled
        fan_writes(fan, "hey")
    sent_before = len(fake_platform.fake("GET", "messages")["messages"])
    with CaptureQueriesContext(connection) as queries:
        for fan in range(1, FANS + 1):
            fan_writes(fan, "how are you?")
    answered = len(fake_platform.fake("GET", "messages")["messages"]) - sent_before
    assert answered == FANS
    per_reply = len(queries) / FANS
    print(f"queries per reply on {connection.vendor}: {per_reply:.1f}")
    assert per_reply <= PIN[connection.vendor], (
        f"{per_reply:.1f} queries per reply, pinned at {PIN[connection.vendor]}: see bench/reply_profile.py "
        f"--show-sql for where they go"
    )
