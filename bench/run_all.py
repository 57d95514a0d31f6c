"""`make bench`: every benchmark, each in its own process on its own bench database, then one table.

    .venv/bin/python bench/run_all.py                  # the full set (~15 min on 2 cores)
    .venv/bin/python bench/run_all.py --quick          # small sizes, for a smoke run
    .venv/bin/python bench/run_all.py --only stats,intake --events 200000
    .venv/bin/python bench/run_all.py --only replies                   # fans answered end to end
    .venv/bin/python bench/run_all.py --only campaigns                 # the reply burst after a campaign
    .venv/bin/python bench/run_all.py --only capacity --no-before      # CPU per reply, burst, two qclusters

PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379/5) parts are skipped with a note when they do
not answer. Figures are ratios against a baseline measured in the same run (see each bench's doc).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BEFORE_ISSUE_26, BENCH_DIR, ROOT, baseline_tree, pg_answers, redis_answers  # noqa: E402

HERE = Path(__file__).resolve().parent


def run(script: str, *args, results: str, notes: list, timeout: int = 1800, before: bool = False) -> int:
    """One bench in its own process; `before`: on the code before issue 26 (common.baseline_tree)."""
    cmd = [sys.executable, str(HERE / script), *map(str, args)] + (["--json", results] if results else [])
    env = dict(os.environ)
    if before:
        tree = baseline_tree()
        if tree is None:
            notes.append(f"{script}: the code before issue 26 ({BEFORE_ISSUE_26}) could not be extracted")
            return -1
        env["BENCH_CODE_ROOT"] = str(tree)
        env.pop("PYTHONPATH", None)
    print(
        f"\n$ {' '.join(Path(c).name if c == sys.executable else c for c in cmd[1:])}"
        + (f"   (on the code at {BEFORE_ISSUE_26}, before issue 26)" if before else ""),
        flush=True,
    )
    t0 = time.perf_counter()
    try:
        rc = subprocess.run(cmd, cwd=ROOT, timeout=timeout, env=env).returncode
    except subprocess.TimeoutExpired:
        rc = -1
    took = time.perf_counter() - t0
    print(f"  ({script} {' '.join(map(str, args))}: exit {rc}, {took:.0f} s)", flush=True)
    if rc:
        notes.append(f"{script} {' '.join(map(str, args))} exited {rc}")
    return rc


def learning_bench(args: list, notes: list, rows: list):
    """bench/learning.py (issue 5's policies bench, another part of the project): its main(), in its own
    process on a bench database; its summary lines go into the table."""
    if not (HERE / "learning.py").exists():
        notes.append("bench/learning.py not present: learning policies bench skipped")
        return
    env_db = f"sqlite:///{BENCH_DIR / 'bench_learning.sqlite3'}"
    code = (
        "import importlib.util, sys; "  # by file path: a 'learning' on sys.path would hide the app
        "spec = importlib.util.spec_from_file_location('bench_learning', 'bench/learning.py'); "
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
        f"sys.exit(m.main({args!r}))"
    )
    print(f"\n$ bench/learning.py {' '.join(args)}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**__import__("os").environ, "DATABASE_URL": env_db},
    )
    for line in proc.stdout:
        print(line, end="", flush=True)
        if line.startswith("bayes / "):
            head, _, rest = line.partition(":")
            value, _, expected = rest.partition("expected:")
            rows.append(
                {
                    "bench": "learning",
                    "figure": f"{head.strip()} (mean ± sd; expected {expected.split()[0]})",
                    "value": value.split("(")[0].strip(),
                    "unit": "x",
                }
            )
    rc = proc.wait()
    print(f"  (learning.py: exit {rc}, {time.perf_counter() - t0:.0f} s)")
    if rc:
        notes.append(f"bench/learning.py exited {rc}")


def capacity(a, dbs: list, brokers: list, results: str, notes: list):
    """Queries and in-process CPU per reply (reply_profile, with its own run on the code before issue 26),
    then at scale (PostgreSQL + Redis when they answer): capacity, the burst, and two qclusters, each also
    on the code before issue 26 unless --no-before. Every run is bounded (messages, seconds)."""
    for db in dbs:
        run(
            "reply_profile.py",
            "--db",
            db,
            "--fans",
            30 if a.quick else 60,
            "--top",
            0,
            "--cpu-rounds",
            2 if a.quick else 5,
            *([] if a.no_before else ["--baseline"]),
            results=results,
            notes=notes,
        )
    db, broker = ("postgres", "redis") if "postgres" in dbs and "redis" in brokers else ("sqlite", "orm")
    burst = ["--burst", 100, "--burst-seconds", 10] if a.quick else ["--burst", a.burst, "--burst-seconds", 60]
    cap = ["--capacity", "--messages", 300 if a.quick else 1350, "--max-seconds", 60 if a.quick else 120]
    for before in [False] + ([] if a.no_before else [True]):
        run("replies.py", "--db", db, "--broker", broker, *cap, results=results, notes=notes, before=before)
        run(
            "replies.py",
            "--db",
            db,
            "--broker",
            broker,
            *burst,
            results=results,
            notes=notes,
            before=before,
            timeout=600,
        )
    run("replies.py", "--db", db, "--broker", broker, *cap, "--clusters", 2, results=results, notes=notes)


def cluster_ratio(rows: list) -> list:
    """Two qclusters' sustained capacity against one's, from this run's figures."""

    def sustained(match):
        return next(
            (
                r["value"]
                for r in rows
                if r["figure"].startswith("replies sustained [") and "overloaded" in r["figure"] and match(r["figure"])
            ),
            None,
        )

    one = sustained(lambda f: "qclusters" not in f and "before" not in f and "burst" not in f)
    two = sustained(lambda f: "2 qclusters" in f)
    if not one or not two:
        return []
    return [
        {
            "bench": "replies",
            "figure": "two qclusters / one, sustained when overloaded (same run)",
            "value": two / one,
            "unit": "x",
        }
    ]


def table(rows: list) -> str:
    width = max([len(r["figure"]) for r in rows] + [20])
    out = [f"{'bench':<10} {'figure':<{width}} {'value':>22}  unit   goal", "-" * (width + 50)]
    for r in rows:
        v = r["value"]
        shown = f"{v:,.3f}" if isinstance(v, float) else str(v)
        goal = {True: "met", False: "MISSED"}.get(r.get("ok"), "")
        out.append(f"{r['bench']:<10} {r['figure']:<{width}} {shown:>22}  {r['unit']:<6} {goal}")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run of every bench)")
    ap.add_argument("--only", default="stats,intake,decisions,replies,capacity,campaigns,learning")
    ap.add_argument("--burst", type=int, default=1000, help="fans in the burst run (default 1,000; quick 100)")
    ap.add_argument(
        "--no-before",
        action="store_true",
        help="skip the runs on the code before issue 26 (the baselines of the capacity figures)",
    )
    ap.add_argument("--events", type=int, help="stats bench size (default 1,000,000; quick 50,000)")
    ap.add_argument("--requests", type=int, help="intake requests per run (default 4,000; quick 500)")
    ap.add_argument("--fans", type=int, help="decisions bench fans (default 150; quick 30)")
    ap.add_argument(
        "--replies-messages",
        type=int,
        help="fan messages per replies run (default: 30 s at its offered rate; quick 150)",
    )
    ap.add_argument(
        "--learning-args",
        default=None,
        help="arguments for bench/learning.py (default: its own; quick '--fans 300 --seeds 1')",
    )
    a = ap.parse_args(argv)
    only = set(a.only.split(","))
    events = a.events or (50_000 if a.quick else 1_000_000)
    n_requests = a.requests or (500 if a.quick else 4000)
    fans = a.fans or (30 if a.quick else 150)
    learning_args = (a.learning_args or ("--fans 300 --seeds 1" if a.quick else "")).split()
    dbs = ["sqlite"] + (["postgres"] if pg_answers() else [])
    notes = [] if "postgres" in dbs else ["PostgreSQL does not answer on 127.0.0.1:5432: its runs skipped"]
    brokers = ["orm"] + (["redis"] if redis_answers() else [])
    if "redis" not in brokers:
        notes.append("Redis does not answer: the Redis broker runs skipped")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    results = tempfile.NamedTemporaryFile("w", suffix=".jsonl", dir=BENCH_DIR, delete=False).name
    started = time.perf_counter()
    if "stats" in only:
        for db in dbs:
            run("stats.py", "--db", db, "--events", events, results=results, notes=notes)
    if "intake" in only:
        for db in dbs:
            for broker in brokers:
                run("intake.py", "--db", db, "--broker", broker, "--requests", n_requests, results=results, notes=notes)
    if "decisions" in only:
        run("decisions.py", "--fans", fans, results=results, notes=notes)
    if "replies" in only:  # the embedded default, and the at-scale pair when both answer
        for db, broker in [("sqlite", "orm")] + (
            [("postgres", "redis")] if "postgres" in dbs and "redis" in brokers else []
        ):
            extra = ["--messages", a.replies_messages or 150] if (a.quick or a.replies_messages) else []
            run("replies.py", "--db", db, "--broker", broker, *extra, results=results, notes=notes)
            if db == "postgres" and not a.quick:  # the at-scale capacity: offered more than it can answer
                run("replies.py", "--db", db, "--broker", broker, "--capacity", results=results, notes=notes)
    if "capacity" in only:  # issue 26: cost per reply, bursts, two machines' worth; beside the code before it
        capacity(a, dbs, brokers, results, notes)
    if "campaigns" in only:  # the reply burst after a campaign (issue 25), bounded
        run("campaign_burst.py", "--fans", 300 if a.quick else 2000, results=results, notes=notes)
    rows = [json.loads(line) for line in Path(results).read_text().splitlines() if line.strip()]
    rows += cluster_ratio(rows)
    if "learning" in only:
        learning_bench(learning_args, notes, rows)
    Path(results).unlink()
    print(
        f"\n==== bench figures ({time.perf_counter() - started:.0f} s, "
        f"{time.strftime('%Y-%m-%d %H:%M')}; each figure vs a baseline from the same run) ===="
    )
    print(table(rows) if rows else "(no figures)")
    for note in notes:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
