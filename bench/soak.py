"""The soak (issue 21): simulated fans write, buy and tip for --minutes while web (gunicorn) and qcluster process
groups are SIGKILLed at random moments and restarted, PostgreSQL is restarted once and Redis once; at the end,
every promise is checked against what the fake platform saw.

    .venv/bin/python bench/soak.py                 # 30 minutes (make soak)
    .venv/bin/python bench/soak.py --minutes 6     # a short proof

Not part of `make test` or `make bench`. Its own PostgreSQL (initdb in a temp dir, a free loopback port; run as
the `postgres` user when started as root) and its own redis-server (no persistence: a restart loses every queued
task), so restarting them disturbs nobody else. Real processes: the fake platform (webhook retries 1, 2, 4, 8,
16 s), gunicorn (gunicorn.conf.py) and `manage.py qcluster`. A process that dies by itself is restarted (as a
supervisor would) and counted. Bounded: --minutes of offered messages, then at most --settle seconds for the
last answers; --max-minutes for the whole run. Loopback only; everything it started is stopped at the end.

Checks: every webhook event stored and processed once (one outcome each); no duplicate send (each idempotency
key once on the platform, each a sent Action, every sent Action on the platform, no second answer to a fan's
message); every fan answered; money booked (outcomes and the fans' totals) equal to what the platform recorded
the fans paying; p99 reply latency under 10 s outside the fault windows (a fault until its process is back,
plus --fault-settle seconds).
"""

import argparse
import os
import random
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, pct, report  # noqa: E402
from faults import (  # noqa: E402
    FanDriver,
    PrivatePostgres,
    PrivateRedis,
    Proc,
    boot_demo,
    events_accounting,
    free_port,
    latencies,
    log_file,
    money_accounting,
    platform_sends,
    sends_accounting,
    summary,
)
from intake import server_command  # noqa: E402

sys.path.insert(0, str(ROOT))

GOAL_P99_S = 10.0


def plan_faults(rng: random.Random, seconds: float, every: float) -> list[tuple[float, str]]:
    """(second of the offer, what): kills of web or qcluster about every `every` seconds, PostgreSQL restarted
    at about 40% of the run and Redis at about 70%, none in the first 20 s or the last 40 s."""
    plan = [(seconds * 0.4, "postgres"), (seconds * 0.7, "redis")]
    t = 20 + rng.uniform(0, every)
    while t < seconds - 40:
        if all(abs(t - at) > 25 for at, _ in plan):
            plan.append((t, rng.choice(["web", "qcluster"])))
        t += every * rng.uniform(0.6, 1.4)
    return sorted(plan)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0, help="how long fans write (default 30)")
    ap.add_argument("--rate", type=float, default=3.0, help="offered fan messages/s")
    ap.add_argument("--fans", type=int, default=150, help="fans writing at any time")
    ap.add_argument("--per-fan", type=int, default=6, help="answers after which a fan leaves and a new one comes")
    ap.add_argument("--buy-share", type=float, default=0.35, help="share of PPVs the fan buys")
    ap.add_argument("--tip-share", type=float, default=0.03, help="share of answers followed by a tip")
    ap.add_argument("--fault-every", type=float, default=60.0, help="a web or qcluster kill about this often (s)")
    ap.add_argument(
        "--fault-settle",
        type=float,
        default=20.0,
        help="seconds after a fault's process is back still counted in its window",
    )
    ap.add_argument("--settle", type=float, default=120.0, help="at most this long for the last answers")
    ap.add_argument("--max-minutes", type=float, default=None, help="the whole run, at most (default --minutes + 10)")
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--keep", action="store_true", help="leave the private PostgreSQL's data directory")
    ap.add_argument("--json", help="append figures to this JSON-lines file")
    a = ap.parse_args(argv)
    seconds = a.minutes * 60

    def too_long(*_):
        raise SystemExit("soak: stopped after --max-minutes")

    signal.signal(signal.SIGALRM, too_long)
    signal.alarm(int(60 * (a.max_minutes or a.minutes + 10)))
    rng = random.Random(a.seed)
    log = log_file("soak-procs.log")
    tmp = Path(tempfile.mkdtemp(prefix="wt21b-soak-"))
    if os.geteuid() == 0:
        os.chmod(tmp, 0o755)
    pg = PrivatePostgres(free_port(), tmp / "pg", tmp / "pg" / "server.log")  # the server writes it
    redis = PrivateRedis(free_port(), log)
    procs: dict[str, Proc] = {}
    faults: list[dict] = []
    try:
        pg.init()
        pg.start()
        redis.start()
        env = {
            **os.environ,
            "DATABASE_URL": pg.create_db("wt21b_soak"),
            "REDIS_URL": redis.url,
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "salesbot.settings",
            "Q_CLUSTER_NAME": f"wt21bsoak{os.getpid()}",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(ROOT),
        }
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
                "--webhook-backoff",
                "1.0",
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
        plan = plan_faults(rng, seconds, a.fault_every)
        print(
            f"soak: {a.minutes:g} min of fans at {a.rate:g} messages/s ({a.fans} at a time, {a.per_fan} answers "
            f"each, {a.buy_share:.0%} of PPVs bought, {a.tip_share:.0%} tips); faults planned: "
            f"{', '.join(f'{w} at {t:.0f} s' for t, w in plan)}; private PostgreSQL :{pg.port} + Redis "
            f":{redis.port}; logs in {log.name}",
            flush=True,
        )
        warm = FanDriver(platform_url, 20, 10, first_fan=900_001)  # imports, connections: not counted
        warm.offer(2)
        warm.settle(60)
        warm.finish()
        if warm.waiting:
            raise SystemExit(f"warm-up: {len(warm.waiting)} of 20 fans unanswered; see {log.name}")

        driver = FanDriver(
            platform_url, a.fans, a.rate, per_fan=a.per_fan, buy_share=a.buy_share, tip_share=a.tip_share, seed=a.seed
        )
        driver.seen = len(platform_sends(platform_url))
        done = threading.Event()
        start = time.time()

        def fault(what: str, by_itself=False):
            t0 = time.time()
            if what == "postgres":
                down = pg.restart()
            elif what == "redis":
                down = redis.restart()
            else:
                if not by_itself:
                    procs[what].kill()
                else:
                    procs[what].died += 1
                    procs[what].stop()  # whatever of its group is left
                procs[what].start()
                down = time.time() - t0
            faults.append({"what": what, "start": t0, "end": time.time(), "by_itself": by_itself})
            with driver.lock:
                waiting = len(driver.waiting)
            how = "died by itself" if by_itself else "SIGKILLed" if what in procs else "restarted"
            print(
                f"  {t0 - start:6.1f} s: {what} {how}, started again in {down:.1f} s ({waiting} fans waiting)",
                flush=True,
            )

        def supervisor():
            todo = list(plan)
            while not done.is_set():
                if todo and time.time() - start >= todo[0][0]:
                    fault(todo.pop(0)[1])
                    continue
                for name in ("web", "qcluster", "platform"):
                    if not procs[name].alive():
                        fault(name, by_itself=True)
                done.wait(0.25)

        sup = threading.Thread(target=supervisor, daemon=True)
        sup.start()
        last_note = [time.time()]

        def note():
            if time.time() - last_note[0] >= 60:
                last_note[0] = time.time()
                lat = [t1 - t0 for t0, t1, *_ in driver.answers[-600:]]
                print(
                    f"  {time.time() - start:6.0f} s: {len(driver.answers)} answered, {len(driver.waiting)} "
                    f"waiting; last {len(lat)} replies {summary(lat)}",
                    flush=True,
                )
            return False

        driver.offer(seconds, should_stop=note)
        t_end_offer = time.time()
        end_ages = driver.waiting_ages()
        settle_s = driver.settle(a.settle)
        done.set()
        sup.join(timeout=120)
        driver.finish()
        left = driver.waiting_ages()
        quiet = quiesce(creator, 90)
        stats = requests.get(f"{platform_url}/_fake/stats", timeout=10).json()
        sends = platform_sends(platform_url)
        sends_acc = sends_accounting(creator, sends, driver.extra)
        events_acc = events_accounting(creator, driver.events)
        money = money_accounting(creator, stats)
    finally:
        for p in procs.values():
            p.stop()
        redis.stop()
        if a.keep:
            pg.stop()
        else:
            pg.remove()
        log.close()
        signal.alarm(0)

    windows = [(f["start"], f["end"]) for f in faults]
    all_lat = [t1 - t0 for t0, t1, *_ in driver.answers]
    calm = latencies(driver.answers, windows, a.fault_settle)
    answered, offered = len(driver.answers), sum(1 for _, kind, _ in driver.events if kind == "message")
    fans = len({fan for _, _, fan, *_ in driver.answers} | set(driver.waiting))
    kinds = {}
    for f in faults:
        key = f["what"] + (" (by itself)" if f["by_itself"] else "")
        kinds[key] = kinds.get(key, 0) + 1
    print(
        f"  faults: {', '.join(f'{k} x{n}' for k, n in kinds.items())}; windows {sum(e - s for s, e in windows):.0f} "
        f"s + {a.fault_settle:g} s settle each"
    )
    print(
        f"  offered {offered} fan messages from {fans} fans over {t_end_offer - start:.0f} s; answered {answered}; "
        f"at the end of the offer {len(end_ages)} waiting (longest {max(end_ages, default=0):.1f} s); after "
        f"{settle_s:.0f} s more {len(left)} unanswered" + (f" (longest {max(left):.0f} s)" if left else "")
    )
    print(
        f"  webhooks: {driver.retried} delivered by the platform's retry, {stats['webhooks_dropped']} dropped after "
        f"every retry, {driver.errors + driver.paid_errors} refused by the fake platform; the database settled: "
        f"{quiet}"
    )
    print(
        f"  reply latency outside the fault windows ({len(calm)} messages): {summary(calm)} "
        f"(goal p99 < {GOAL_P99_S:g} s)"
    )
    print(f"  reply latency, every message: {summary(all_lat)}")
    print(
        f"  webhook events: {events_acc['emitted']} emitted ({events_acc['distinct']} distinct), "
        f"{events_acc['stored']} stored ({events_acc['stored_twice']} twice), {events_acc['processed']} processed, "
        f"{events_acc['missing']} missing {events_acc['missing_ids'] or ''}, {events_acc['outcomes']} outcomes "
        f"({events_acc['outcome_twice']} twice)"
    )
    print(
        f"  sends: {sends_acc['sends']} on the platform, {sends_acc['dup_keys']} idempotency keys twice; "
        f"{sends_acc['sent_actions']} bot actions sent, {sends_acc['sent_not_on_platform']} not on the platform, "
        f"{sends_acc['on_platform_not_sent']} platform sends not booked sent, {sends_acc['pending_actions']} "
        f"pending; sends to fans not waiting {len(driver.extra)} {sends_acc['extra_kinds']}: unexpected "
        f"{sends_acc['unexpected_extra']}"
    )
    print(
        f"  money: the platform recorded {money['platform_purchases']} purchases ${money['platform_ppv']} and "
        f"{money['platform_tip_count']} tips ${money['platform_tips']}; booked purchases ${money['booked_ppv']}, "
        f"tips ${money['booked_tips']}, fans' totals ${money['fans_total_spent']}"
    )
    p99 = pct(calm, 99) if calm else float("inf")
    ok_fans = not left and answered == offered
    ok_events = events_acc["ok"] and stats["webhooks_dropped"] == 0
    tag = {"minutes": a.minutes, "rate": a.rate}
    report(
        a.json,
        "soak",
        "webhook events processed once (processed / emitted)",
        f"{events_acc['processed']} / {events_acc['emitted']}",
        "",
        ok=ok_events,
        **tag,
    )
    report(
        a.json,
        "soak",
        "duplicate sends (keys twice; unexpected extra; sent actions = platform sends)",
        f"{sends_acc['dup_keys']}; {sends_acc['unexpected_extra']}; {'yes' if sends_acc['ok'] else 'NO'}",
        "",
        ok=sends_acc["ok"],
        **tag,
    )
    report(
        a.json,
        "soak",
        "every fan answered (answered / offered; unanswered)",
        f"{answered} / {offered}; {len(left)}",
        "",
        ok=ok_fans,
        **tag,
    )
    report(
        a.json,
        "soak",
        "money booked = platform recorded",
        f"${money['booked_ppv'] + money['booked_tips']} = ${money['platform_ppv'] + money['platform_tips']}",
        "",
        ok=money["ok"],
        **tag,
    )
    report(
        a.json,
        "soak",
        f"reply p99 outside fault windows (goal < {GOAL_P99_S:g} s)",
        p99,
        "s",
        ok=p99 < GOAL_P99_S,
        **tag,
    )
    ok = ok_events and sends_acc["ok"] and ok_fans and money["ok"] and p99 < GOAL_P99_S
    print(f"  soak: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def quiesce(creator, seconds: float) -> str:
    """Wait until no stored event waits and no send is pending (a purchase webhook retried late); says how long."""
    from django.db import close_old_connections

    from learning.models import Action
    from salesbot.models import WebhookEvent

    t0 = time.time()
    while True:
        close_old_connections()
        waiting = WebhookEvent.objects.filter(creator=creator, status=WebhookEvent.Status.RECEIVED).count()
        pending = Action.objects.filter(creator=creator, status=Action.Status.PENDING).count()
        if not waiting and not pending:
            return f"in {time.time() - t0:.1f} s"
        if time.time() - t0 > seconds:
            return f"NOT after {seconds:g} s ({waiting} events waiting, {pending} sends pending)"
        time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
