"""`make bench`: every benchmark, each in its own process on its own bench database, then one table.

    .venv/bin/python bench/run_all.py                  # the full set (~15 min on 2 cores)
    .venv/bin/python bench/run_all.py --quick          # small sizes, for a smoke run
    .venv/bin/python bench/run_all.py --only stats,intake --events 200000
    .venv/bin/python bench/run_all.py --only replies                   # fans answered end to end
    .venv/bin/python bench/run_all.py --only campaigns                 # the reply burst after a campaign

PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379/5) parts are skipped with a note when they do
not answer. Figures are ratios against a baseline measured in the same run (see each bench's doc).
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BENCH_DIR, ROOT, pg_answers, redis_answers  # noqa: E402

HERE = Path(__file__).resolve().parent


def run(script: str, *args, results: str, notes: list, timeout: int = 1800) -> int:
    cmd = [sys.executable, str(HERE / script), *map(str, args)] + (["--json", results] if results else [])
    print(f"\n$ {' '.join(Path(c).name if c == sys.executable else c for c in cmd[1:])}", flush=True)
    t0 = time.perf_counter()
    try:
        rc = subprocess.run(cmd, cwd=ROOT, timeout=timeout).returncode
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
    code = ("import importlib.util, sys; "  # by file path: a 'learning' on sys.path would hide the app
            "spec = importlib.util.spec_from_file_location('bench_learning', 'bench/learning.py'); "
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
            f"sys.exit(m.main({args!r}))")
    print(f"\n$ bench/learning.py {' '.join(args)}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env={**__import__("os").environ, "DATABASE_URL": env_db})
    for line in proc.stdout:
        print(line, end="", flush=True)
        if line.startswith("bayes / "):
            head, _, rest = line.partition(":")
            value, _, expected = rest.partition("expected:")
            rows.append({"bench": "learning", "figure": f"{head.strip()} (mean ± sd; expected {expected.split()[0]})",
                         "value": value.split("(")[0].strip(), "unit": "x"})
    rc = proc.wait()
    print(f"  (learning.py: exit {rc}, {time.perf_counter() - t0:.0f} s)")
    if rc:
        notes.append(f"bench/learning.py exited {rc}")


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
    ap.add_argument("--only", default="stats,intake,decisions,replies,campaigns,learning")
    ap.add_argument("--events", type=int, help="stats bench size (default 1,000,000; quick 50,000)")
    ap.add_argument("--requests", type=int, help="intake requests per run (default 4,000; quick 500)")
    ap.add_argument("--fans", type=int, help="decisions bench fans (default 150; quick 30)")
    ap.add_argument("--replies-messages", type=int,
                    help="fan messages per replies run (default: 30 s at its offered rate; quick 150)")
    ap.add_argument("--learning-args", default=None, help="arguments for bench/learning.py "
                                                          "(default: its own; quick '--fans 300 --seeds 1')")
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
                run("intake.py", "--db", db, "--broker", broker, "--requests", n_requests, results=results,
                    notes=notes)
    if "decisions" in only:
        run("decisions.py", "--fans", fans, results=results, notes=notes)
    if "replies" in only:  # the embedded default, and the at-scale pair when both answer
        for db, broker in [("sqlite", "orm")] + ([("postgres", "redis")] if "postgres" in dbs and "redis" in brokers
                                                 else []):
            extra = ["--messages", a.replies_messages or 150] if (a.quick or a.replies_messages) else []
            run("replies.py", "--db", db, "--broker", broker, *extra, results=results, notes=notes)
            if db == "postgres" and not a.quick:  # the at-scale capacity: offered more than it can answer
                run("replies.py", "--db", db, "--broker", broker, "--capacity", results=results, notes=notes)
    if "campaigns" in only:  # the reply burst after a campaign (issue 25), bounded
        run("campaign_burst.py", "--fans", 300 if a.quick else 2000, results=results, notes=notes)
    rows = [json.loads(line) for line in Path(results).read_text().splitlines() if line.strip()]
    if "learning" in only:
        learning_bench(learning_args, notes, rows)
    Path(results).unlink()
    print(f"\n==== bench figures ({time.perf_counter() - started:.0f} s, "
          f"{time.strftime('%Y-%m-%d %H:%M')}; each figure vs a baseline from the same run) ====")
    print(table(rows) if rows else "(no figures)")
    for note in notes:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
