"""Shared bench plumbing: pick the database before Django starts, time things, hand figures to run_all.

Every bench is its own process (Django settings are per process), writes human output to stdout and,
with --json FILE, appends one JSON line per figure so bench/run_all.py can print the final table.
"""

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
# The code measured: this tree, or another one (BENCH_CODE_ROOT, e.g. the code before a change, extracted by
# baseline_tree) whose figures are printed beside this tree's in the same run.
ROOT = Path(os.environ.get("BENCH_CODE_ROOT") or HERE).resolve()
BENCH_DIR = HERE / "var" / "bench"
PG_BASE = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_BASE = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
# PostgreSQL bench databases are named after the checkout (e.g. wt26_bench_replies), so benches run from two
# checkouts on one server never drop each other's database.
PG_PREFIX = os.environ.get("BENCH_DB_PREFIX", "".join(c if c.isalnum() else "_" for c in HERE.name.lower()) + "_")
# The figures before issue 26 (cost and capacity), measured in the same run: `make bench` extracts this commit.
BEFORE_ISSUE_26 = "db8cc15"
if str(ROOT) in sys.path:  # first, before bench/ (bench/learning.py would hide the `learning` app)
    sys.path.remove(str(ROOT))
sys.path.insert(0, str(ROOT))
if ROOT != HERE:  # every process a bench starts imports the measured code
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])


def database_url(db: str, name: str) -> str:
    """A bench-only database: var/bench/NAME.sqlite3, or PostgreSQL database NAME (created if missing)."""
    if db == "sqlite":
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{BENCH_DIR / name}.sqlite3"
    if db == "postgres":
        ensure_pg_database(PG_PREFIX + name)
        return f"{PG_BASE}/{PG_PREFIX}{name}"
    raise SystemExit(f"unknown --db {db!r} (sqlite or postgres)")


def drop_database(db: str, name: str):
    """Start a bench database from nothing (faster than deleting a million rows)."""
    if db == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            (BENCH_DIR / f"{name}.sqlite3{suffix}").unlink(missing_ok=True)
    else:
        import psycopg

        with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as conn:
            conn.execute(f'drop database if exists "{PG_PREFIX}{name}" with (force)')


def ensure_pg_database(name: str):
    import psycopg

    with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
            conn.execute(f'create database "{name}"')


def pg_answers() -> bool:
    try:
        import psycopg

        psycopg.connect(f"{PG_BASE}/postgres", connect_timeout=2).close()
        return True
    except Exception:
        return False


def redis_answers() -> bool:
    try:
        import redis

        return redis.Redis.from_url(REDIS_BASE, socket_connect_timeout=1).ping()
    except Exception:
        return False


def setup_django(url: str, **env):
    """Point Django at the bench database, migrate it quietly, and return the settings module."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesbot.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from django.conf import settings

    return settings


def migrate_in_subprocess(env: dict):
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=600
    )


def baseline_tree(ref: str = BEFORE_ISSUE_26) -> Path | None:
    """The project's code at `ref` (git archive), extracted once into var/bench/src-REF; None without git."""
    dest = BENCH_DIR / f"src-{ref}"
    if (dest / "manage.py").exists():
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    try:
        archive = subprocess.run(
            ["git", "-C", str(HERE), "archive", ref], check=True, capture_output=True, timeout=120
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    return dest


def run_on_baseline(script: str, args: list, ref: str = BEFORE_ISSUE_26, timeout: float = 900) -> list[dict]:
    """Run one of this tree's benches on the code at `ref`, in its own process; its figures (JSON lines)."""
    tree = baseline_tree(ref)
    if tree is None:
        print(f"  (no baseline: could not extract {ref})")
        return []
    out = BENCH_DIR / f"baseline-{Path(script).stem}-{os.getpid()}.jsonl"
    out.unlink(missing_ok=True)
    env = {**os.environ, "BENCH_CODE_ROOT": str(tree)}
    env.pop("PYTHONPATH", None)
    subprocess.run(
        [sys.executable, str(HERE / "bench" / script), *args, "--json", str(out)], env=env, timeout=timeout, check=False
    )
    if not out.exists():
        return []
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    out.unlink()
    return rows


def timed(fn, *args, **kw) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return time.perf_counter() - t0, out


def pct(values, p: float) -> float:
    """The p-th percentile (nearest rank) of values."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))
    return s[k]


def median(values) -> float:
    return statistics.median(values) if values else float("nan")


def progress(done: int, total: int, what: str, t0: float):
    rate = done / max(time.perf_counter() - t0, 1e-9)
    eta = (total - done) / rate if rate else 0
    print(
        f"\r  {what}: {done:,}/{total:,} ({100 * done / max(total, 1):.0f}%, {rate:,.0f}/s, eta {eta:.0f}s)   ",
        end="",
        flush=True,
    )
    if done >= total:
        print()


def report(json_path, bench: str, figure: str, value, unit: str = "", **extra):
    """Print one figure and append it to the run_all results file."""
    shown = f"{value:,.3f}" if isinstance(value, float) else f"{value}"
    print(f"  => {figure}: {shown} {unit}".rstrip())
    if json_path:
        with open(json_path, "a") as f:
            f.write(json.dumps({"bench": bench, "figure": figure, "value": value, "unit": unit, **extra}) + "\n")
