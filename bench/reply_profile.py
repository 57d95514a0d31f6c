"""Where one reply's database time goes: the real webhook view and drain task in this process (no
qcluster), each query attributed to the project function that issued it. Prints queries per reply by
function and the CPU profile's top entries. For the latency work of issue 13; bench/replies.py measures
the whole system.

    .venv/bin/python bench/reply_profile.py --db postgres --fans 200
"""

import argparse
import collections
import cProfile
import io
import json
import os
import pstats
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    BEFORE_ISSUE_26,
    ROOT,
    database_url,
    drop_database,
    migrate_in_subprocess,
    report,
    run_on_baseline,
)
from intake import free_port  # noqa: E402

sys.path.insert(0, str(ROOT))

PROJECT = ("salesbot", "fans", "learning", "models_registry", "team")


def _caller() -> str:
    for frame in reversed(traceback.extract_stack()[:-3]):
        rel = os.path.relpath(frame.filename, ROOT)
        if rel.split(os.sep)[0] in PROJECT:
            return f"{rel}:{frame.name}"
    return "?"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    ap.add_argument("--fans", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=2, help="messages per fan (the first round is a warm-up)")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--sort", default="cumulative", help="pstats sort key (cumulative, tottime)")
    ap.add_argument("--show-sql", action="store_true", help="list the last reply's queries with their callers")
    ap.add_argument(
        "--cpu-rounds",
        type=int,
        default=3,
        help="rounds of one message per fan timed with time.process_time (no profiler, no recording)",
    )
    ap.add_argument(
        "--baseline",
        nargs="?",
        const=BEFORE_ISSUE_26,
        default=None,
        metavar="REF",
        help=f"also run on the code at REF (default {BEFORE_ISSUE_26}, before issue 26) and print ratios",
    )
    ap.add_argument("--json", help="append figures to this JSON-lines file (bench/run_all.py)")
    a = ap.parse_args(argv)
    name = "bench_profile" + ("_before" if os.environ.get("BENCH_CODE_ROOT") else "")
    drop_database(a.db, name)
    env = {
        **os.environ,
        "DATABASE_URL": database_url(a.db, name),
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "salesbot.settings",
    }
    for k in ("REDIS_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
        env.pop(k, None)
    os.environ.clear()
    os.environ.update(env)
    migrate_in_subprocess(env)
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from models_registry.services import onboard_from_files
    from salesbot import tasks
    from salesbot.providers import simple
    from sim.management.commands.run_demo import DEMO, DEMO_KEY, DEMO_SECRET

    port = free_port()
    creator = onboard_from_files(
        DEMO / "content-map.json",
        DEMO / "playbook.md",
        provider="simple",
        api_base_url=f"http://127.0.0.1:{port}",
        api_key=DEMO_KEY,
        webhook_secret=DEMO_SECRET,
    )
    platform = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim.platform_server",
            "--port",
            str(port),
            "--account-id",
            creator.account_id,
            "--api-key",
            DEMO_KEY,
            "--webhook-secret",
            DEMO_SECRET,
            "--dialect",
            "simple",
            "--webhook-url",
            "http://127.0.0.1:9/none",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(1.5)
    client = Client()
    url = f"/api/{creator.slug}/webhook/of-event"
    ids = iter(range(1, 10**9))
    texts = ["hey", "how are you?", "you're gorgeous", "how much?", "send more", "i had a long day at work"]
    by_caller, by_phase = collections.Counter(), collections.Counter()
    phase = ["-"]

    last_sql = []

    def record(execute, sql, params, many, context):
        caller = _caller()
        by_caller[caller] += 1
        if phase[0] == "webhook view" and last_sql and last_sql[-1][0] == "drain task":
            last_sql.clear()
        last_sql.append((phase[0], caller, " ".join(sql.split())[:150]))
        by_phase[phase[0]] += 1
        return execute(sql, params, many, context)

    def one_round(r, measure):
        prof = cProfile.Profile() if measure else None
        t_web = t_drain = 0.0
        for fan in range(1, a.fans + 1):
            body = json.dumps(
                {
                    "event": "messages.received",
                    "account_id": creator.account_id,
                    "event_id": f"e{next(ids)}",
                    "created_at": "2026-12-04T10:00:00Z",
                    "payload": {
                        "fan": {"id": fan, "name": f"Fan{fan}"},
                        "message": {"id": next(ids), "text": texts[(fan + r) % len(texts)]},
                    },
                }
            ).encode()
            sig = simple.sign(DEMO_SECRET, body)
            phase[0] = "webhook view"
            t0 = time.perf_counter()
            if prof:
                prof.enable()
            resp = client.post(url, body, content_type="application/json", HTTP_X_SIGNATURE=sig)
            t1 = time.perf_counter()
            phase[0] = "drain task"
            tasks.drain_webhooks()
            if prof:
                prof.disable()
            t2 = time.perf_counter()
            assert resp.status_code == 200, resp.content
            t_web += t1 - t0
            t_drain += t2 - t1
        return prof, t_web, t_drain

    try:
        for r in range(a.rounds):
            measure = r == a.rounds - 1
            if measure:
                by_caller.clear()
                by_phase.clear()
                with connection.execute_wrapper(record):
                    one_round(r, False)
                prof, t_web, t_drain = one_round(r + 1, True)
            else:
                one_round(r, False)
        cpu0 = time.process_time()
        for r in range(a.cpu_rounds):
            one_round(a.rounds + 1 + r, False)
        cpu_ms = (time.process_time() - cpu0) * 1000 / max(a.cpu_rounds * a.fans, 1)
    finally:
        os.killpg(platform.pid, signal.SIGTERM)
    n = a.fans
    print(f"reply profile [{a.db}]: {n} fans, one message each (after {a.rounds - 1} warm-up round(s))")
    print(f"  wall per reply: webhook view {t_web / n * 1000:.1f} ms, drain task {t_drain / n * 1000:.1f} ms")
    queries = sum(by_phase.values()) / n
    print(f"  queries per reply: {queries:.1f} (" + ", ".join(f"{k} {v / n:.1f}" for k, v in by_phase.items()) + ")")
    print(
        f"  in-process CPU per reply (webhook view + drain task, time.process_time over "
        f"{a.cpu_rounds * n} replies): {cpu_ms:.2f} ms"
    )
    code = "before" if os.environ.get("BENCH_CODE_ROOT") else "this"
    tag = {"db": a.db, "fans": n, "code": code}
    report(a.json, "reply_profile", f"queries per reply [{a.db}, {code} code]", round(queries, 1), "", **tag)
    report(a.json, "reply_profile", f"in-process CPU per reply [{a.db}, {code} code]", round(cpu_ms, 2), "ms", **tag)
    if a.baseline:
        print(f"  the same on the code at {a.baseline} (before issue 26), in its own process:")
        before = {
            r["figure"].split(" [")[0]: r["value"]
            for r in run_on_baseline(
                "reply_profile.py",
                [
                    "--db",
                    a.db,
                    "--fans",
                    str(n),
                    "--rounds",
                    str(a.rounds),
                    "--cpu-rounds",
                    str(a.cpu_rounds),
                    "--top",
                    "0",
                ],
                a.baseline,
            )
        }
        for what, now in (("queries per reply", queries), ("in-process CPU per reply", cpu_ms)):
            if before.get(what):
                ratio = now / before[what]
                print(f"  {what}: {now:.2f} now, {before[what]:.2f} before: {ratio:.2f}x")
                report(
                    a.json,
                    "reply_profile",
                    f"{what} [{a.db}] now / before issue 26",
                    round(ratio, 3),
                    "x",
                    before=before[what],
                    now=round(now, 2),
                    **tag,
                )
    for k, v in by_caller.most_common(a.top):
        print(f"  {v / n:6.2f}  {k}")
    if a.show_sql:
        for ph, caller, sql in last_sql:
            print(f"  {ph[:7]:7} {caller:50} {sql}")
    if a.top:
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats(a.sort).print_stats(a.top)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
