"""learning.stats.counters: the stats read from the incremental counters equal the row queries (the reference).

Random event streams (seeded, so a failure replays) go through every write path that keeps the
counters: record_action / record_outcome (live attribution, pinned purchases, out-of-order ts), status
changes through set_action_status (pending → sent, pending → failed/refused, refused at creation, and
other changes such as a staff correction; only sent/logged actions count), the seed-log importer (bulk
inserts and reattribution), admin edits and deletions of actions, outcomes and fans. After each stream the whole stats dict from the counters must equal the row queries' one,
key order included, without the counters ever being rebuilt from the rows on the way.
"""

import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from fans.models import Fan
from learning.models import Action, BuyerStat, Outcome, StatsCell
from learning.seed.files import import_seed_logs
from learning.services import record_action, record_outcome, reverse_outcome, set_action_status
from learning.stats import cells, counters
from learning.stats.cells import COUNTED_STATUSES
from learning.stats.from_counters import stats_from_rollup
from learning.stats.from_rows import compute_learning_stats_from_rows
from tests.factories import CreatorFactory, FanFactory

T0 = datetime(2024, 5, 1, tzinfo=UTC)
KINDS = ["ppv", "ppv", "ppv", "text", "bump", "free_media", "welcome"]
PRICES = [None, "12.5", "18", "18.00", "25", "100", "7.05"]
CONTENT = ["", "pic_a", "vid_b", "combo1", "Zed", "_x"]
HOOKS = ["", "scarcity", "vulnerability", "curiosity", "Challenge"]
STATES = ["", "new", "greeted", "pitched", "buyer", "dormant"]
SEGMENTS = ["", "", "new:first", "new:declined", "buyer:low", "buyer:big"]
EVENTS = ["purchased", "replied", "replied", "ghosted", "tipped"]
# at creation: imported/skip (logged), written before the send (pending), refused by the last gate, and
# rows written already sent or failed (e.g. by a test helper or a staff tool)
STATUSES = ["logged", "logged", "pending", "pending", "pending", "sent", "refused", "failed"]
SENDERS = [
    {},
    {},
    {"source": "llm"},
    {"source": "staff"},
    {"source": "human"},
    {"source": "import"},
    {"review": "approved"},
    {"review": "edited"},
]


def same(creator):
    """The counters' stats, the row queries' stats: equal in value and in key order."""
    fast = {k: v for k, v in stats_from_rollup(creator).items() if k != "computed_at"}
    rows = {k: v for k, v in compute_learning_stats_from_rows(creator).items() if k != "computed_at"}
    assert json.dumps(fast) == json.dumps(rows)
    return fast


@pytest.fixture
def no_rebuild(monkeypatch):
    """The counters must be kept by the writes themselves, never repaired from the rows on a read."""

    def refuse(creator):
        raise AssertionError("the counters were rebuilt from the rows")

    monkeypatch.setattr(counters, "rebuild", refuse)


def random_action(rng, fan, ts):
    price = rng.choice(PRICES)
    return record_action(
        fan,
        rng.choice(KINDS),
        ts=ts,
        price=None if price is None else Decimal(price),
        content_key=rng.choice(CONTENT),
        hook=rng.choice(HOOKS),
        fan_state=rng.choice(STATES),
        fan_total_spent=Decimal(rng.choice(["0", "0", "5", "30.50"])),
        segment=rng.choice(SEGMENTS),
        status=rng.choice(STATUSES),
        **rng.choice(SENDERS),
    )


def change_status(rng, creator):
    """What the sender and the worker do to a pending action (sent, failed, refused at the resend), or
    now and then any other change (a staff correction: sent → failed, refused → sent, …)."""
    pending = Action.objects.filter(creator=creator, status="pending").order_by("?").first()
    if pending is not None and rng.random() < 0.85:
        status = rng.choice(["sent", "sent", "sent", "failed", "refused"])
        fields = {"platform_message_id": rng.randint(1, 10**9), "error": ""} if status == "sent" else {"error": "x"}
        assert set_action_status(pending, status, **fields)
        return
    a = Action.objects.filter(creator=creator).order_by("?").first()
    if a is not None:
        set_action_status(a, rng.choice(["logged", "pending", "sent", "failed", "refused"]))


def live_stream(rng, creator, events=250):
    fans = [FanFactory(creator=creator) for _ in range(6)]
    for _ in range(events):
        fan = rng.choice(fans)
        ts = T0 + timedelta(hours=rng.uniform(0, 72))  # out of order on purpose; ties are rare but legal
        if rng.random() < 0.5:
            random_action(rng, fan, ts)
        elif rng.random() < 0.25:
            change_status(rng, creator)
        elif rng.random() < 0.1:  # money taken back (refund, chargeback, undo): net money
            sale = (
                Outcome.objects.filter(fan=fan, event="purchased", action__isnull=False).order_by("?").first()
                or Outcome.objects.filter(fan=fan, event="tipped").first()
            )
            if sale is not None:
                reverse_outcome(sale, "chargeback")
        elif rng.random() < 0.15:  # a platform unlock naming its PPV (or none we know of)
            ppv = Action.objects.filter(fan=fan, action="ppv").order_by("?").first()
            record_outcome(fan, "purchased", ts=ts, action=ppv, pinned=True, platform_event_id=f"e{rng.random()}")
        else:
            record_outcome(fan, rng.choice(EVENTS), ts=ts)
    return fans


@pytest.mark.parametrize("seed", range(6))
def test_live_writes_keep_the_counters_equal_to_the_row_queries(db, no_rebuild, seed):
    creator = CreatorFactory()
    live_stream(random.Random(seed), creator)
    stats = same(creator)
    assert stats["totals"]["actions"] == Action.objects.filter(creator=creator, status__in=COUNTED_STATUSES).count()
    # every status occurs, so the stream really tests leaving the uncounted ones out
    assert set(Action.objects.filter(creator=creator).values_list("status", flat=True)) == set(STATUSES)
    assert Action.objects.filter(creator=creator, reversed=True).exists()  # and chargebacks happened
    call_command("rebuild_learning_stats", creator.slug, "--check", stdout=StringIO())


@pytest.mark.parametrize("seed", range(3))
def test_the_importer_keeps_the_counters_including_reattribution(db, no_rebuild, tmp_path, seed):
    rng = random.Random(100 + seed)
    creator = CreatorFactory(slug=f"imp{seed}")
    log_dir = tmp_path / "research" / "bot-outcomes" / creator.slug
    log_dir.mkdir(parents=True)
    for fan_id in range(1, 6):
        lines = []
        for _ in range(rng.randint(5, 40)):
            ts = 1714521600 + rng.randint(0, 200_000)
            if rng.random() < 0.5:
                rec = {
                    "ts": ts,
                    "type": "action",
                    "action": rng.choice(KINDS),
                    "hook": rng.choice(HOOKS),
                    "content_key": rng.choice(CONTENT),
                    "fan_state": rng.choice(STATES),
                    "fan_total_spent": rng.choice([0, 12.5]),
                }
                price = rng.choice(PRICES)
                if price is not None:
                    rec["price"] = float(price)
            else:
                rec = {"ts": ts, "type": "outcome", "event": rng.choice(EVENTS)}
            lines.append(json.dumps(rec))
        (log_dir / f"{fan_id}.jsonl").write_text("\n".join(lines[: len(lines) // 2]) + "\n")
        (tmp_path / f"{fan_id}.rest").write_text("\n".join(lines[len(lines) // 2 :]) + "\n")
    live_stream(rng, creator, events=60)  # live rows beside the imported fans
    import_seed_logs(tmp_path, creator.slug)
    same(creator)
    for fan_id in range(1, 6):  # the seed daemon appended older and newer lines since
        with open(log_dir / f"{fan_id}.jsonl", "a") as f:
            f.write((tmp_path / f"{fan_id}.rest").read_text())
    import_seed_logs(tmp_path, creator.slug)  # reattributes: flags move between actions
    import_seed_logs(tmp_path, creator.slug)  # nothing new: nothing counted twice
    same(creator)


def test_deletions_move_the_counts(db, no_rebuild):
    """Ledgers are read-only in admin (nobody edits an Action or an Outcome by hand); a row deleted, e.g. with
    its fan, still moves the counters."""
    rng = random.Random(7)
    creator = CreatorFactory()
    fans = live_stream(rng, creator, events=200)
    for a in Action.objects.filter(creator=creator).order_by("?")[:10]:
        a.delete()
    for o in Outcome.objects.filter(creator=creator).order_by("?")[:15]:
        o.delete()
    same(creator)
    fans[0].delete()  # cascades to its actions, outcomes and BuyerStat
    same(creator)


def test_compaction_folds_rows_and_keeps_every_number(db, no_rebuild):
    creator = CreatorFactory()
    live_stream(random.Random(3), creator, events=150)
    before = same(creator)
    rows = StatsCell.objects.filter(creator=creator).count()
    assert counters.compact(creator) > 0
    assert StatsCell.objects.filter(creator=creator).count() < rows
    assert same(creator) == before


def test_a_creator_without_counters_is_built_from_its_rows_on_the_first_read(db):
    creator = CreatorFactory()
    live_stream(random.Random(5), creator, events=80)
    StatsCell.objects.filter(creator=creator).delete()  # e.g. rows older than the counters
    BuyerStat.objects.filter(creator=creator).delete()
    same(creator)
    assert StatsCell.objects.filter(creator=creator, dimension=cells.BUILT).exists()


def test_rebuild_command_checks_and_repairs(db):
    creator = CreatorFactory(slug="rb")
    live_stream(random.Random(9), creator, events=80)
    call_command("rebuild_learning_stats", "rb", "--check", stdout=StringIO())
    StatsCell.objects.filter(creator=creator, dimension=cells.PRICE).delete()  # drift, e.g. from raw SQL
    with pytest.raises(CommandError, match="differ"):
        call_command("rebuild_learning_stats", "rb", "--check", stdout=StringIO())
    out = StringIO()
    call_command("rebuild_learning_stats", "rb", stdout=out)
    assert "rb: rebuilt" in out.getvalue()
    call_command("rebuild_learning_stats", "--check", stdout=StringIO())
    same(creator)
    with pytest.raises(CommandError, match="nope"):
        call_command("rebuild_learning_stats", "nope")


def test_decayed_stats_use_the_row_queries(db, no_rebuild):
    creator = CreatorFactory(stats_half_life_days=7)
    live_stream(random.Random(11), creator, events=40)
    from learning.stats import aggregate_learning_stats

    stats = aggregate_learning_stats(creator, use_cache=False)
    rows = compute_learning_stats_from_rows(creator)
    assert {k: v for k, v in stats.items() if k != "computed_at"} == {
        k: v for k, v in rows.items() if k != "computed_at"
    }


def test_hour_column_is_the_utc_hour_for_every_write_path(db, tmp_path):
    creator = CreatorFactory(slug="hr")
    fan = FanFactory(creator=creator)
    tz = datetime(2024, 5, 1, 23, 30, tzinfo=UTC).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    assert record_action(fan, "ppv", ts=tz).utc_hour == 23  # save()
    log_dir = tmp_path / "research" / "bot-outcomes" / "hr"
    log_dir.mkdir(parents=True)
    (log_dir / "77.jsonl").write_text(
        json.dumps({"ts": 1714521600 + 5 * 3600, "type": "action", "action": "ppv"}) + "\n"
    )
    import_seed_logs(tmp_path, "hr")  # bulk_create
    assert Action.objects.get(fan__fan_id=77).utc_hour == 5
    assert Fan.objects.filter(creator=creator).count() == 2
