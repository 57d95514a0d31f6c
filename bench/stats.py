"""Learning stats at scale: `aggregate_learning_stats` (the counters of learning.stats.counters, kept by every
write) against the seed's approach (read every fan's JSONL file, attribute, aggregate in Python), on
the same generated events, in the same process. Both results are compared key by key. The row queries
(learning.stats' reference path, also the path of time-decayed stats) are timed too and must give the
counters' answers exactly.

    .venv/bin/python bench/stats.py                       # 1,000,000 events on SQLite
    .venv/bin/python bench/stats.py --db postgres --events 200000 --repeat 5
"""

import argparse
import importlib.util
import json
import random
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BENCH_DIR, ROOT, database_url, drop_database, median, progress, report, setup_django, timed  # noqa: E402

SLUG = "bench"
CHUNK = 1000  # fans generated, written and inserted at a time (bounded memory)


def fan_sim_class():
    spec = importlib.util.spec_from_file_location("make_seed_logs", ROOT / "demo" / "make_seed_logs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.FanSim


def generate(events: int, seed: int):
    """Yield (fan_id, records) from the demo generator's fan model until `events` records exist."""
    FanSim, rng, total, i = fan_sim_class(), random.Random(seed), 0, 0
    while total < events:
        sim = FanSim(rng, 10_000_000 + i)
        sim.run()
        records = sim.lines[: events - total]
        total += len(records)
        i += 1
        if records:
            yield sim.fan_id, records


# ---- loading: the JSONL files and the database from the same records ------------------------------


class _Act:
    """Just what learning.attribution's pick_action/mark read and set."""

    __slots__ = ("id", "action", "purchased", "ghosted")

    def __init__(self, id, action):
        self.id, self.action, self.purchased, self.ghosted = id, action, False, False


def _inserter(model, connection):
    """INSERT of plain dicts (attname -> value) by executemany: Django's bulk_create spends most of a
    million-row load building model instances, which this bench does not need to measure."""
    import uuid

    from django.db import models

    fields = model._meta.concrete_fields
    qn = connection.ops.quote_name
    sql = (
        f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    defaults = {f.attname: f.get_db_prep_save(f.get_default(), connection) for f in fields}

    def conv(f):
        if isinstance(f, models.UUIDField):
            return lambda v: v if connection.features.has_native_uuid_field else v.hex
        if isinstance(f, models.DateTimeField):
            return connection.ops.adapt_datetimefield_value
        if isinstance(f, models.JSONField):
            return lambda v: f.get_db_prep_save(v, connection)
        return lambda v: v

    plan = [(f.attname, conv(f)) for f in fields]

    fresh_uuid = any(f.attname == "uuid" for f in fields)  # Action.uuid: unique, one per row

    def insert(rows: list[dict]):
        out = []
        for row in rows:
            if fresh_uuid:
                row["uuid"] = uuid.uuid4()
            out.append(tuple(c(row[a]) if a in row else defaults[a] for a, c in plan))
        with connection.cursor() as cur:
            cur.executemany(sql, out)

    return insert


def load(events: int, seed: int, log_dir: Path):
    """Write every fan's JSONL file and insert the same records with attribution set, as the importer
    would (learning.attribution's rules, seed_io's field parsing), only in big raw batches."""
    from django.db import connection, transaction

    from fans.models import Fan
    from learning.attribution import mark, pick_action
    from learning.models import Action, Outcome
    from learning.seed.format import parse_record
    from models_registry.models import Creator

    old = Creator.objects.filter(slug=SLUG).first()
    if old:  # row by row, a cascade over a million rows would take minutes
        for model in (Outcome, Action, Fan):
            model.objects.filter(creator=old)._raw_delete(connection.alias)
        old.delete()
    creator = Creator.objects.create(slug=SLUG, display_name="Bench", account_id="acct_bench")
    log_dir.mkdir(parents=True, exist_ok=True)
    for old in log_dir.glob("*.jsonl"):
        old.unlink()
    if connection.vendor == "sqlite":
        connection.cursor().execute("PRAGMA synchronous=OFF")
    ids = {m: (m.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1 for m in (Fan, Action, Outcome)}
    put = {m: _inserter(m, connection) for m in (Fan, Action, Outcome)}
    t0, done = time.perf_counter(), 0
    fans, actions, outcomes = [], [], []

    def flush():
        with transaction.atomic():
            put[Fan](fans)
            put[Action](actions)
            put[Outcome](outcomes)
        fans.clear(), actions.clear(), outcomes.clear()

    for fan_id, records in generate(events, seed):
        (log_dir / f"{fan_id}.jsonl").write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))
        fan_pk = ids[Fan]
        ids[Fan] += 1
        fans.append(
            {
                "id": fan_pk,
                "creator_id": creator.pk,
                "fan_id": fan_id,
                "event_seq": len(records),
                "created_ts": datetime.fromtimestamp(records[0]["ts"], UTC),
            }
        )
        earlier = []
        for seq, rec in enumerate(records, 1):
            kind, values = parse_record(rec)
            values.update(creator_id=creator.pk, fan_id=fan_pk, seq=seq)
            if kind == "action":
                act = _Act(ids[Action], values["action"])
                ids[Action] += 1
                earlier.append(act)
                values.update(
                    id=act.id,
                    source=Action.Source.IMPORT,
                    status=Action.Status.LOGGED,
                    _flags=act,
                    utc_hour=values["ts"].hour,
                )  # UTC: what Action.utc_hour's pre_save sets
                actions.append(values)
            else:
                values["id"] = ids[Outcome]
                ids[Outcome] += 1
                target = pick_action(values["event"], earlier)
                mark(target, values["event"])
                values["action_id"] = target.id if target else None
                outcomes.append(values)
        for values in actions[len(actions) - len(earlier) :]:
            flags = values.pop("_flags")
            values["purchased"], values["ghosted"] = flags.purchased, flags.ghosted
        done += len(records)
        if len(fans) >= CHUNK:
            flush()
            progress(done, events, "loading events", t0)
    flush()
    progress(done, events, "loading events", t0)
    if connection.vendor == "postgresql":
        from django.core.management.color import no_style

        with connection.cursor() as cur:
            for sql in connection.ops.sequence_reset_sql(no_style(), [Fan, Action, Outcome]):
                cur.execute(sql)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")  # what autovacuum (PostgreSQL) or a periodic ANALYZE (SQLite) keeps current
    from learning.stats import counters

    counters.rebuild(creator)  # raw inserts bypass the counters: build them from the rows, as the command does
    return creator, done, time.perf_counter() - t0


# ---- the baseline: the seed's full rescan ---------------------------------------------------------


def _rate(part, whole):
    return round(100 * part / whole, 1) if whole else 0.0


def seed_rescan(log_dir: Path) -> dict:
    """The statistics as the seed computes them: every file read and parsed, outcomes attributed to the latest
    earlier action (a purchase: the latest earlier unbought PPV), then counted in Python dicts."""
    from learning.stats.cells import price_key

    by = {k: defaultdict(lambda: [0, 0]) for k in ("price", "content", "hook", "hour", "stage")}
    hooks, first_buy = Counter(), []
    for path in log_dir.glob("*.jsonl"):
        acts, replies, bought = [], 0, False
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                if rec.get("type") == "action":
                    rec["_bought"] = rec["_ghosted"] = False
                    acts.append(rec)
                    continue
                event = rec.get("event")
                if event == "purchased":
                    for a in reversed(acts):
                        if a["action"] == "ppv" and not a["_bought"]:
                            a["_bought"] = True
                            break
                    if not bought:
                        first_buy.append(replies)
                        bought = True
                elif event == "ghosted" and acts:
                    acts[-1]["_ghosted"] = True
                elif event == "replied":
                    replies += 1
        for a in acts:
            if a.get("hook"):
                hooks[a["hook"]] += 1
            if a.get("fan_state"):
                cell = by["stage"][a["fan_state"]]
                cell[0] += 1
                cell[1] += a["_ghosted"]
            if a["action"] != "ppv":
                continue
            keys = {
                "hour": str(datetime.fromtimestamp(a["ts"], UTC).hour),
                "content": a.get("content_key"),
                "hook": a.get("hook"),
                "price": price_key(a["price"]) if a.get("price") is not None else None,
            }
            for name, key in keys.items():
                if key:
                    cell = by[name][key]
                    cell[0] += 1
                    cell[1] += a["_bought"]

    def table(name, sort=str, word="bought"):
        return {k: {"sent": s, word: b, "rate": _rate(b, s)} for k, (s, b) in sorted(by[name].items(), key=sort)}

    return {
        "conversion_by_price": table("price", sort=lambda kv: Decimal(kv[0])),
        "conversion_by_content": table("content"),
        "conversion_by_hook": table("hook"),
        "conversion_by_hour": table("hour", sort=lambda kv: int(kv[0])),
        "ghost_rate_by_stage": table("stage", word="ghosted"),
        "avg_msgs_to_first_buy": round(sum(first_buy) / len(first_buy), 1) if first_buy else None,
        "top_hooks": [[h, n] for h, n in sorted(hooks.items(), key=lambda kv: (-kv[1], kv[0]))],
    }


def compare(db: dict, seed: dict) -> list[str]:
    """The keys where the two computations disagree (an empty list: the same answers)."""
    return [k for k in seed if json.loads(json.dumps(db[k])) != json.loads(json.dumps(seed[k]))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--repeat", type=int, default=5, help="timed runs of aggregate_learning_stats (median kept)")
    ap.add_argument("--baseline-repeat", type=int, default=2, help="timed runs of the seed-style rescan")
    ap.add_argument(
        "--rows-repeat",
        type=int,
        default=1,
        help="timed runs of the row-query reference (compute_learning_stats_from_rows); 0: skip",
    )
    ap.add_argument("--fresh", action="store_true", help="regenerate and reload even if the data is there")
    ap.add_argument("--json", help="append figures to this JSON-lines file (bench/run_all.py)")
    a = ap.parse_args(argv)
    name = f"bench_stats_{a.events}"
    marker = BENCH_DIR / f"{name}-{a.db}.json"
    want = {"events": a.events, "seed": a.seed}
    if a.fresh or not marker.exists() or json.loads(marker.read_text()) != want:
        marker.unlink(missing_ok=True)
        drop_database(a.db, name)
    setup_django(database_url(a.db, name))
    from learning.models import Action, Outcome, StatsCell
    from learning.stats import aggregate_learning_stats, cells, counters
    from learning.stats.from_rows import compute_learning_stats_from_rows
    from models_registry.models import Creator

    data_dir = BENCH_DIR / f"seed-{a.events}-{a.seed}"
    log_dir = data_dir / "research" / "bot-outcomes" / SLUG
    creator = Creator.objects.filter(slug=SLUG).first()
    fresh = (
        a.fresh
        or creator is None
        or not marker.exists()
        or json.loads(marker.read_text()) != want
        or not (data_dir / "complete").exists()
        or Action.objects.filter(creator=creator).count() + Outcome.objects.filter(creator=creator).count() != a.events
    )
    print(f"stats bench on {a.db}: {a.events:,} seed-format events")
    if fresh:
        (data_dir / "complete").unlink(missing_ok=True)
        creator, n, secs = load(a.events, a.seed, log_dir)
        (data_dir / "complete").write_text("ok")
        marker.write_text(json.dumps(want))
        print(
            f"  loaded {n:,} events into the database and {len(list(log_dir.glob('*.jsonl'))):,} JSONL files "
            f"in {secs:.1f}s"
        )
    else:
        print(f"  reusing the loaded data ({marker.name}); --fresh reloads it")

    if not StatsCell.objects.filter(creator=creator, dimension=cells.BUILT).exists():
        secs, info = timed(counters.rebuild, creator)  # data loaded before the counters existed
        print(
            f"  built the stats counters from the rows in {secs:.1f}s ({info['cells']} cells, "
            f"{info['buyers']:,} buyers)"
        )
    rows = Action.objects.filter(creator=creator).count() + Outcome.objects.filter(creator=creator).count()
    db_times = []
    for _ in range(a.repeat):
        secs, db_stats = timed(aggregate_learning_stats, creator, use_cache=False)
        db_times.append(secs)
    seed_times = []
    for _ in range(a.baseline_repeat):
        secs, seed_stats = timed(seed_rescan, log_dir)
        seed_times.append(secs)
    row_times, same_rows = [], True
    for _ in range(a.rows_repeat):
        secs, row_stats = timed(compute_learning_stats_from_rows, creator)
        row_times.append(secs)
        same_rows = all(json.dumps(row_stats[k]) == json.dumps(db_stats[k]) for k in db_stats if k != "computed_at")
    bad = compare(db_stats, seed_stats) + ([] if same_rows else ["row-query reference"])
    print(f"  aggregate_learning_stats: {', '.join(f'{t:.3f}' for t in db_times)} s (median {median(db_times):.3f})")
    print(
        f"  seed-style JSONL rescan:  {', '.join(f'{t:.3f}' for t in seed_times)} s (median {median(seed_times):.3f})"
    )
    if row_times:
        print(
            f"  row-query reference:      {', '.join(f'{t:.3f}' for t in row_times)} s "
            f"(median {median(row_times):.3f}; {'identical output, key order included' if same_rows else 'DIFFERS'})"
        )
    print("  same answers on every seed key" if not bad else f"  !! results differ on: {', '.join(bad)}")
    ratio = median(seed_times) / median(db_times)
    tag = dict(db=a.db, events=rows)
    report(a.json, "stats", f"aggregate_learning_stats, {rows:,} events [{a.db}]", median(db_times), "s", **tag)
    report(a.json, "stats", f"seed-style JSONL rescan, same events [{a.db}]", median(seed_times), "s", **tag)
    report(
        a.json,
        "stats",
        f"speed-up vs seed rescan [{a.db}] (goal >= 20x, < 1 s)",
        ratio,
        "x",
        ok=ratio >= 20 and median(db_times) < 1 and not bad,
        **tag,
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
