"""The kill check (issue 21): fans keep writing while the qcluster is SIGKILLed (its whole process group) three
times and restarted, beside CPU-bound neighbours; at the end, who still waits and for how long, the reply
latency, answered / offered, and sends beyond one per decision.

    .venv/bin/python bench/kills.py                      # 120 fans, 3 messages/s for 90 s, 3 kills, 2 CPU hogs
    .venv/bin/python bench/kills.py --kills 5 --hogs 0 --seconds 120

Real processes: the fake platform, gunicorn (gunicorn.conf.py) and `manage.py qcluster`, on PostgreSQL
(BENCH_PG_URL, default 127.0.0.1:5432, database wt21b_kills) and a private redis-server on a free loopback
port (broker and cache; nobody else's keys). Bounded: --seconds of offered messages, then at most --settle
seconds for the last answers, and --max-seconds for the whole run. Loopback only; every process it started
(the CPU hogs too) is stopped at the end.

Goals: at the end of the offer no fan waiting more than 10 s; p99 reply latency under 30 s; every message
answered; no send beyond one per decision (each idempotency key once on the platform, each a sent Action).
"""

import argparse
import os
import random
import signal
import sys
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, pct, report  # noqa: E402
from faults import (  # noqa: E402
    FanDriver,
    PrivateRedis,
    Proc,
    boot_demo,
    cpu_hogs,
    events_accounting,
    free_port,
    fresh_pg_database,
    log_file,
    platform_sends,
    sends_accounting,
    stop_hogs,
    summary,
)
from intake import server_command  # noqa: E402

sys.path.insert(0, str(ROOT))

GOAL_WAIT_S, GOAL_P99_S = 10.0, 30.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fans", type=int, default=120)
    ap.add_argument("--rate", type=float, default=3.0, help="offered fan messages/s")
    ap.add_argument("--seconds", type=float, default=90.0, help="how long messages are offered")
    ap.add_argument("--kills", type=int, default=3, help="SIGKILLs of the qcluster's process group, spread out")
    ap.add_argument("--restart-after", type=float, default=1.0, help="seconds from a kill to the restart")
    ap.add_argument("--hogs", type=int, default=2, help="CPU-bound neighbour processes")
    ap.add_argument("--settle", type=float, default=60.0, help="at most this long for the last answers")
    ap.add_argument("--max-seconds", type=float, default=300.0, help="the whole run, at most")
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--json", help="append figures to this JSON-lines file (bench/run_all.py)")
    a = ap.parse_args(argv)

    def too_long(*_):
        raise SystemExit(f"kill check: stopped after --max-seconds {a.max_seconds:g}")

    signal.signal(signal.SIGALRM, too_long)
    signal.alarm(int(a.max_seconds))
    log = log_file("kills-procs.log")
    redis = PrivateRedis(free_port(), log)
    redis.start()
    pg_base = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
    env = {
        **os.environ,
        "DATABASE_URL": fresh_pg_database(pg_base, "wt21b_kills"),
        "REDIS_URL": redis.url,
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "salesbot.settings",
        "Q_CLUSTER_NAME": f"wt21bkills{os.getpid()}",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(ROOT),
    }
    hogs, procs = [], {}
    try:
        creator, web_port, platform_port, platform_url, web_url = boot_demo(env)
        from sim.management.commands.run_demo import DEMO_KEY, DEMO_SECRET

        def answers(url):
            return lambda: requests.get(url, timeout=1).ok

        procs["platform"] = Proc(
            "platform",
            [
                sys.executable,
                "-m",
                "sim.platform_server",
                "--port",
                str(platform_port),
                "--account-id",
                creator.account_id,
                "--api-key",
                DEMO_KEY,
                "--webhook-secret",
                DEMO_SECRET,
                "--dialect",
                "simple",
                "--webhook-url",
                f"{web_url}/api/{creator.slug}/webhook/of-event",
            ],
            env,
            log,
            answers(f"{platform_url}/_fake/stats"),
        )
        procs["web"] = Proc(
            "web", server_command(web_port, None, None, None), env, log, answers(f"{web_url}/api/health")
        )
        procs["qcluster"] = Proc("qcluster", [sys.executable, "manage.py", "qcluster"], env, log)
        for p in procs.values():
            p.start()
        print(
            f"kill check: {a.fans} fans at {a.rate:g} messages/s for {a.seconds:g} s, {a.kills} SIGKILLs of the "
            f"qcluster's process group (restarted {a.restart_after:g} s later), {a.hogs} CPU-bound neighbours; "
            f"PostgreSQL (wt21b_kills) + private Redis :{redis.port}; gunicorn + qcluster + fake platform",
            flush=True,
        )
        warm = FanDriver(platform_url, 20, 10, first_fan=900_001)  # imports, connections: not counted
        warm.offer(2)
        warm.settle(60)
        warm.finish()
        if warm.waiting:
            raise SystemExit(f"warm-up: {len(warm.waiting)} of 20 fans unanswered; see {log.name}")

        hogs = cpu_hogs(a.hogs)
        driver = FanDriver(platform_url, a.fans, a.rate, seed=a.seed)
        driver.seen = len(platform_sends(platform_url))
        rng = random.Random(a.seed)
        kills: list[dict] = []
        done = threading.Event()

        def killer():
            start = time.time()
            for k in range(a.kills):  # spread out: one in each slice of the offer, at a random moment in it
                slice_s = a.seconds / a.kills
                at = start + slice_s * k + rng.uniform(0.25, 0.75) * slice_s
                if done.wait(max(at - time.time(), 0)):
                    return
                with driver.lock:
                    at_kill = len(driver.waiting)
                t_kill = time.time()
                procs["qcluster"].kill()
                time.sleep(a.restart_after)
                with driver.lock:  # waiting when it died, or written while it was down
                    caught = dict(driver.waiting)
                procs["qcluster"].start()
                kills.append({"at": t_kill - start, "kill": t_kill, "restart": time.time(), "caught": caught})
                print(
                    f"  {t_kill - start:5.1f} s: qcluster SIGKILLed ({at_kill} fans waiting), restarted "
                    f"{time.time() - t_kill:.1f} s later ({len(caught)} fans waiting then)",
                    flush=True,
                )

        t_start = time.time()
        k_thread = threading.Thread(target=killer, daemon=True)
        k_thread.start()
        driver.offer(a.seconds)
        done.set()
        k_thread.join(timeout=30)
        end_ages = driver.waiting_ages()
        t_end_offer = time.time()
        settle_s = driver.settle(a.settle)
        driver.finish()
        stop_hogs(hogs)
        hogs = []
        left = driver.waiting_ages()

        sends = platform_sends(platform_url)
        sends_acc = sends_accounting(creator, sends[:], driver.extra)
        events_acc = events_accounting(creator, driver.events)
    finally:
        stop_hogs(hogs)
        for p in procs.values():
            p.stop()
        redis.stop()
        log.close()
        signal.alarm(0)

    lat = [t1 - t0 for t0, t1, *_ in driver.answers]
    offered = len(driver.events)
    answered = len(driver.answers)
    print(
        f"  offered {offered} fan messages over {t_end_offer - t_start:.0f} s ({driver.retried} webhooks delivered "
        f"by the platform's retry, {driver.errors} refused by the fake platform); answered {answered}"
    )
    over = [x for x in end_ages if x > GOAL_WAIT_S]
    print(
        f"  at the end of the offer: {len(end_ages)} fans waiting, the longest {max(end_ages, default=0):.1f} s; "
        f"{len(over)} waiting more than {GOAL_WAIT_S:g} s (goal: none)"
    )
    print(
        f"  after {settle_s:.1f} s more: {len(left)} fans still unanswered"
        + (f", the longest waiting {max(left):.1f} s" if left else " (every fan answered)")
    )
    print(f"  reply latency, every message (kills included): {summary(lat)} (goal p99 < {GOAL_P99_S:g} s)")
    for i, k in enumerate(kills, 1):
        caught = k["caught"]
        got = [t1 for t0, t1, fan, *_ in driver.answers if caught.get(fan) == t0]
        last = max(got, default=None)
        print(
            f"  kill {i} at {k['at']:.1f} s: {len(caught)} fans waiting at the restart, {len(got)} of them "
            f"answered, the last "
            + (
                f"{last - k['restart']:.1f} s after the restart ({last - k['kill']:.1f} s after the kill)"
                if last
                else "never"
            )
        )
    print(
        f"  sends: {sends_acc['sends']} on the platform (run and warm-up), {sends_acc['dup_keys']} idempotency keys "
        f"seen twice; {sends_acc['sent_actions']} bot actions booked sent, {sends_acc['sent_not_on_platform']} of "
        f"them not on the platform, {sends_acc['on_platform_not_sent']} platform sends not booked sent, "
        f"{sends_acc['pending_actions']} still pending; sends to fans not waiting: {len(driver.extra)} "
        f"{sends_acc['extra_kinds'] or ''} -> unexpected extra sends {sends_acc['unexpected_extra']} (goal 0)"
    )
    print(
        f"  webhook events: {events_acc['emitted']} emitted, {events_acc['stored']} stored "
        f"({events_acc['stored_twice']} twice), {events_acc['processed']} processed, {events_acc['missing']} "
        f"missing, {events_acc['outcomes']} outcomes ({events_acc['outcome_twice']} twice)"
    )
    p99 = pct(lat, 99) if lat else float("inf")
    ok_wait, ok_p99 = not over, p99 < GOAL_P99_S
    ok_all = not left and answered == offered
    ok_sends = sends_acc["ok"]  # keys once, sent actions = platform sends, no unexpected extra send
    tag = {"fans": a.fans, "rate": a.rate, "kills": len(kills), "hogs": a.hogs}
    report(
        a.json,
        "kills",
        f"fans waiting > {GOAL_WAIT_S:g} s at the end of the offer (goal 0; longest wait)",
        f"{len(over)} ({max(end_ages, default=0):.1f} s)",
        "",
        ok=ok_wait,
        **tag,
    )
    report(
        a.json,
        "kills",
        f"reply p99 with {len(kills)} qcluster kills, {a.hogs} CPU hogs (goal < {GOAL_P99_S:g} s)",
        p99,
        "s",
        ok=ok_p99,
        **tag,
    )
    report(
        a.json,
        "kills",
        "answered / offered (still unanswered)",
        f"{answered} / {offered} ({len(left)})",
        "",
        ok=ok_all,
        **tag,
    )
    report(
        a.json,
        "kills",
        "unexpected extra sends (goal 0; keys twice; sent actions = platform sends)",
        f"{sends_acc['unexpected_extra']} ({sends_acc['dup_keys']}; {'yes' if sends_acc['ok'] else 'NO'})",
        "",
        ok=ok_sends,
        **tag,
    )
    report(
        a.json,
        "kills",
        "webhook events stored and processed exactly once",
        f"{events_acc['processed']} / {events_acc['emitted']}",
        "",
        ok=events_acc["ok"],
        **tag,
    )
    ok = ok_wait and ok_p99 and ok_all and ok_sends and events_acc["ok"] and len(kills) == a.kills
    print(f"  kill check: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
