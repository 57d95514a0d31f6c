"""The learning stats through the real sender path (salesbot.pipeline.sender.prepare / deliver and the worker):
a PPV refused by the last gate or failed at the platform never reached the fan and leaves every
statistic — conversion_by_price, totals, the posteriors — as it was; a sent one counts, and its
purchase webhook is still attributed to it."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from learning.models import Action, Outcome
from learning.stats import aggregate_learning_stats
from learning.stats.from_rows import compute_learning_stats_from_rows
from models_registry.models import Creator
from models_registry.services import onboard_from_files
from salesbot.models import QueueItem
from salesbot.pipeline import intake, sender, worker
from salesbot.pipeline.decisions import Decision
from salesbot.providers.simple import PermanentError, SentMessage, TransientError
from tests.factories import FanFactory
from tests.salesbot.unit.helpers import message_payload, store_event

ROOT = Path(__file__).resolve().parents[2]


class Platform:
    """Stands in for PlatformClient: accepts sends (ids from 9001) or raises the given error."""

    def __init__(self, error=None):
        self.error, self.sent, self.next_id = error, [], 9001

    def send_message(self, fan_id, text, media_ids=(), price=0, *, idempotency_key):
        if self.error is not None:
            raise self.error
        self.sent.append((fan_id, price))
        self.next_id += 1
        return SentMessage(id=self.next_id - 1, created_at="")


@pytest.fixture
def creator(db):
    return onboard_from_files(ROOT / "demo" / "content-map.json", ROOT / "demo" / "playbook.md")


@pytest.fixture
def fan(creator):
    return FanFactory(creator=creator, fan_id=4711, name="Leo", state="engaged")


def ppv8():
    return Decision(
        "ppv",
        text="just for you 🥺",
        content_key="combo3",
        price=Decimal("8"),
        hook="scarcity",
        extra={"segment": "new:first"},
    )


def learning_stats(creator) -> dict:
    """The served stats (the counters), checked equal to the row queries and to a rebuild."""
    served = {k: v for k, v in aggregate_learning_stats(creator, use_cache=False).items() if k != "computed_at"}
    rows = {k: v for k, v in compute_learning_stats_from_rows(creator).items() if k != "computed_at"}
    assert served == rows
    call_command("rebuild_learning_stats", creator.slug, "--check", stdout=StringIO())
    return served


def watched(stats) -> dict:
    return {
        k: stats[k]
        for k in (
            "totals",
            "conversion_by_price",
            "posterior_by_price",
            "posterior_by_segment_price",
            "posterior_by_price_hook",
            "top_hooks",
            "ghost_rate_by_stage",
        )
    }


def test_a_ppv_refused_at_the_gate_changes_no_statistic(creator, fan):
    before = learning_stats(creator)
    Creator.objects.filter(pk=creator.pk).update(enabled=False)
    action = sender.prepare(creator, fan, ppv8())
    assert action.status == "refused" and "disabled" in action.error
    assert learning_stats(creator) == before
    assert learning_stats(creator)["conversion_by_price"] == {}


def test_a_ppv_refused_at_the_resend_changes_no_statistic(creator, fan):
    before = learning_stats(creator)
    action = sender.prepare(creator, fan, ppv8())
    assert action.status == "pending"
    assert learning_stats(creator) == before  # pending: not sent yet
    fan.state = "handed_off"  # a handoff raced the send
    fan.save(update_fields=["state"])
    platform = Platform()
    sender.deliver(action, client=platform)
    assert Action.objects.get(pk=action.pk).status == "refused" and platform.sent == []
    assert learning_stats(creator) == before


def test_a_ppv_failed_at_the_platform_changes_no_statistic(creator, fan):
    before = learning_stats(creator)
    action = sender.prepare(creator, fan, ppv8())
    with pytest.raises(PermanentError):
        sender.deliver(action, client=Platform(PermanentError("400 bad request")))
    assert Action.objects.get(pk=action.pk).status == "failed"
    assert learning_stats(creator) == before


def test_a_ppv_the_worker_gives_up_on_changes_no_statistic(creator, fan, monkeypatch):
    """Transient errors until the last attempt: the worker marks the pending action failed."""
    before = learning_stats(creator)
    action = sender.prepare(creator, fan, ppv8())
    QueueItem.objects.create(
        creator=creator,
        fan=fan,
        action=action,
        attempts=settings.SEND_MAX_ATTEMPTS - 1,
        not_before=timezone.now() - timedelta(seconds=1),
    )
    monkeypatch.setattr(sender.providers, "client_for", lambda c: Platform(TransientError("503")))
    item = worker.work_one(creator)
    assert item.status == "failed"
    assert Action.objects.get(pk=action.pk).status == "failed"
    assert learning_stats(creator) == before


def test_a_sent_ppv_counts_and_its_purchase_is_attributed(creator, fan):
    before = learning_stats(creator)
    Creator.objects.filter(pk=creator.pk).update(enabled=False)
    assert sender.prepare(creator, fan, ppv8()).status == "refused"  # stays out
    Creator.objects.filter(pk=creator.pk).update(enabled=True)
    creator.refresh_from_db()
    platform = Platform()
    action = sender.deliver(sender.prepare(creator, fan, ppv8()), client=platform)
    assert action.status == "sent" and platform.sent == [(4711, Decimal("8.00"))]
    after = learning_stats(creator)
    assert watched(after) != watched(before)
    assert after["totals"] == {"actions": 1, "outcomes": 0}
    assert after["conversion_by_price"] == {"8": {"sent": 1, "bought": 0, "rate": 0.0}}
    assert after["posterior_by_price"]["8"]["sent"] == 1
    assert after["posterior_by_segment_price"]["new:first"]["8"]["sent"] == 1

    # the fan unlocks it: the platform's purchase webhook names the sent message
    event = store_event(
        creator,
        "messages.ppv.unlocked",
        {"fan": {"id": 4711, "name": "Leo"}, "amount": 8, "message_id": action.platform_message_id},
    )
    assert intake.process_event(event) == "processed"
    bought = learning_stats(creator)
    assert Action.objects.get(pk=action.pk).purchased
    assert bought["conversion_by_price"] == {"8": {"sent": 1, "bought": 1, "rate": 100.0}}
    assert bought["totals"] == {"actions": 1, "outcomes": 1}

    # the next PPV is refused (spend cap, disabled creator …); the fan's next message still answers
    # the PPV it got, not the refused one written after it
    Creator.objects.filter(pk=creator.pk).update(enabled=False)
    refused = sender.prepare(creator, fan, ppv8())
    assert refused.status == "refused"
    assert learning_stats(creator) == bought
    intake.process_event(store_event(creator, "messages.received", message_payload(4711, "thanks babe", 1)))
    assert learning_stats(creator)["totals"] == {"actions": 1, "outcomes": 2}
    reply = Outcome.objects.get(fan=fan, event="replied")
    assert reply.action_id == action.pk
