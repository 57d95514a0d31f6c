"""Webhook intake under load: signed webhooks against gunicorn serving the project (production WSGI
entry point and gunicorn.conf.py) on a bench-only database, with the ORM or the Redis broker; baseline:
GET /api/health on the same server in the same run. Proves every accepted event is stored exactly once
and waits for the one queued drain task; --process then drains them here and proves each was
processed exactly once.

    .venv/bin/python bench/intake.py --broker orm --db sqlite
    .venv/bin/python bench/intake.py --broker redis --db postgres --requests 5000 --concurrency 16
    .venv/bin/python bench/intake.py --worker-class sync --workers 3      # compare server settings
"""

import argparse
import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REDIS_BASE, ROOT, database_url, drop_database, migrate_in_subprocess, pct, redis_answers, report  # noqa: E402
from load import run_load  # noqa: E402

SECRET, ACCOUNT = "bench-webhook-secret", "acct_bench"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def webhooks(n: int, run: str, dup_share: float, seed: int = 5) -> list:
    """n signed webhook requests: mostly fan messages, some subscriptions, unlocks and tips, and a
    share of re-deliveries of an earlier event (the platform retries), all to the per-creator URL."""
    from salesbot.providers.simple import sign

    rng, out, bodies = random.Random(seed), [], []
    for i in range(n):
        if bodies and rng.random() < dup_share:
            body = rng.choice(bodies)
        else:
            fan = {"id": rng.randint(1, max(50, n // 5)), "name": "Fan"}
            kind = rng.choices(
                ["messages.received", "subscriptions.new", "messages.ppv.unlocked", "tips.received"],
                weights=[7, 1, 1, 1],
            )[0]
            payload = {"fan": fan}
            if kind == "messages.received":
                payload["message"] = {"id": i, "text": rng.choice(["hey", "you up?", "how much?", "send more 😍"])}
            elif kind == "messages.ppv.unlocked":
                payload.update(message_id=i, amount=18)
            elif kind == "tips.received":
                payload["amount"] = rng.choice([5, 10, 20])
            body = json.dumps(
                {
                    "event_id": f"{run}-{i}",
                    "event": kind,
                    "account_id": ACCOUNT,
                    "created_at": "2026-11-24T18:00:00Z",
                    "payload": payload,
                }
            ).encode()
            bodies.append(body)
        out.append(
            (
                i,
                "POST",
                "/api/bench/webhook/of-event",
                body,
                {"Content-Type": "application/json", "X-Signature": sign(SECRET, body)},
            )
        )
    return out


def server_command(port: int, workers: int | None, threads: int | None, worker_class: str | None) -> list:
    """The production command (gunicorn.conf.py at the project root), on a loopback port; flags given
    here override the config file, as on the command line."""
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "salesbot.wsgi",
        "-c",
        str(ROOT / "gunicorn.conf.py"),
        "-b",
        f"127.0.0.1:{port}",
    ]
    if workers:
        cmd += ["-w", str(workers)]
    if threads:
        cmd += ["--threads", str(threads)]
    if worker_class:
        cmd += ["-k", worker_class]
    return cmd


def start_server(env: dict, cmd: list, log) -> subprocess.Popen:
    p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    port = int(cmd[cmd.index("-b") + 1].rsplit(":", 1)[1])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/health", timeout=1).ok:
                return p
        except requests.RequestException:
            time.sleep(0.2)
    os.killpg(p.pid, signal.SIGKILL)
    raise SystemExit("gunicorn did not start; see var/bench/intake-server.log")


def summarize(load: dict) -> dict:
    ok = [r for r in load["results"] if 200 <= r[1] < 300]
    lat = [r[2] * 1000 for r in load["results"]]
    return {
        "n": len(load["results"]),
        "ok": len(ok),
        "rate": load["rate"],
        "p50": pct(lat, 50),
        "p99": pct(lat, 99),
        "errors": len(load["results"]) - len(ok),
        "complete": load["complete"],
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--broker", choices=["orm", "redis"], default="orm")
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--workers", type=int, help="gunicorn workers (default: gunicorn.conf.py)")
    ap.add_argument("--threads", type=int, help="threads per worker (default: gunicorn.conf.py)")
    ap.add_argument("--worker-class", help="gunicorn worker class, e.g. sync (default: gunicorn.conf.py)")
    ap.add_argument("--client-processes", type=int, default=2)
    ap.add_argument("--dup-share", type=float, default=0.05, help="share of re-delivered events")
    ap.add_argument(
        "--process",
        action="store_true",
        help="then drain the stored events in this process and prove each was processed once",
    )
    ap.add_argument("--json", help="append figures to this JSON-lines file (bench/run_all.py)")
    a = ap.parse_args(argv)
    if a.broker == "redis" and not redis_answers():
        print(f"intake bench [{a.db}/redis]: skipped, no Redis at {REDIS_BASE}")
        return 0
    name = f"bench_intake_{a.broker}"
    drop_database(a.db, name)
    env = {
        **os.environ,
        "DATABASE_URL": database_url(a.db, name),
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "salesbot.settings",
        "Q_CLUSTER_NAME": f"bench{os.getpid()}",
    }
    env.pop("REDIS_URL", None)
    if a.broker == "redis":
        env["REDIS_URL"] = REDIS_BASE
    os.environ.update({k: v for k, v in env.items() if k in ("DATABASE_URL", "REDIS_URL", "Q_CLUSTER_NAME")})
    if a.broker == "orm":
        os.environ.pop("REDIS_URL", None)
    migrate_in_subprocess(env)
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesbot.settings")
    django.setup()
    from django_q.brokers import get_broker

    from models_registry.models import Creator
    from salesbot.models import WebhookEvent

    broker = get_broker()
    broker.purge_queue()
    creator = Creator.objects.create(slug="bench", display_name="Bench", account_id=ACCOUNT, webhook_secret=SECRET)
    label = f"{a.db}/{a.broker}"
    port = free_port()
    cmd = server_command(port, a.workers, a.threads, a.worker_class)
    print(
        f"intake bench [{label}]: {' '.join(['gunicorn', *cmd[3:]]).replace(str(ROOT) + '/', '')}, "
        f"{a.requests:,} requests, {a.concurrency} concurrent from {a.client_processes} client processes; "
        f"no qcluster (intake only)"
    )
    url = f"http://127.0.0.1:{port}"
    run = f"r{int(time.time())}"
    reqs = webhooks(a.requests, run, a.dup_share)
    health = [(i, "GET", "/api/health", None, {}) for i in range(a.requests)]
    log = open(Path(database_url("sqlite", "x")[len("sqlite:///") :]).parent / "intake-server.log", "a")
    server = start_server(env, cmd, log)
    try:
        run_load(url, health[:200], a.concurrency, a.client_processes)  # warm-up: imports, connections
        base = summarize(run_load(url, health, a.concurrency, a.client_processes))
        load = run_load(url, reqs, a.concurrency, a.client_processes)
        hook = summarize(load)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()

    accepted, answers = set(), {}
    for _idx, status, _, data in load["results"]:
        if status == 200:
            reply = json.loads(data)
            answers[reply["status"]] = answers.get(reply["status"], 0) + 1
            if reply["status"] == "accepted":
                event_id = reply["event_id"]
                assert event_id not in accepted, f"{event_id} accepted twice"
                accepted.add(event_id)
    stored = WebhookEvent.objects.filter(creator=creator).count()
    stored_ids = set(WebhookEvent.objects.filter(creator=creator).values_list("event_id", flat=True))
    waiting = WebhookEvent.objects.filter(creator=creator, status=WebhookEvent.Status.RECEIVED).count()
    # The stored rows are the queue (salesbot.pipeline.intake.wake_drain): with no qcluster running, exactly one
    # drain task is queued for all of them, and every accepted event waits for it.
    queued = broker.queue_size()
    exact = stored == len(accepted) and stored_ids == accepted and waiting == len(accepted) and queued == 1
    print(
        f"  health baseline: {base['rate']:,.0f} req/s, p50 {base['p50']:.1f} ms, p99 {base['p99']:.1f} ms, "
        f"{base['errors']} errors"
    )
    print(
        f"  webhooks:        {hook['rate']:,.0f} req/s, p50 {hook['p50']:.1f} ms, p99 {hook['p99']:.1f} ms, "
        f"{hook['errors']} errors; answers {answers}"
    )
    print(
        f"  exactly once: {len(accepted):,} accepted event ids, {stored:,} WebhookEvent rows, {waiting:,} "
        f"waiting for the drain, {queued:,} drain task queued -> {'OK' if exact else 'MISMATCH'}"
    )
    tag = {"db": a.db, "broker": a.broker}
    report(
        a.json,
        "intake",
        f"webhook intake [{label}] (goal >= 500 req/s)",
        hook["rate"],
        "req/s",
        ok=hook["rate"] >= 500,
        **tag,
    )
    report(
        a.json,
        "intake",
        f"webhook p50 / p99 latency [{label}] (goal p99 < 50 ms)",
        f"{hook['p50']:.1f} / {hook['p99']:.1f}",
        "ms",
        ok=hook["p99"] < 50,
        **tag,
    )
    report(
        a.json,
        "intake",
        f"GET /api/health baseline [{label}]",
        base["rate"],
        "req/s",
        p50=base["p50"],
        p99=base["p99"],
        **tag,
    )
    report(a.json, "intake", f"webhook rate / health rate [{label}]", hook["rate"] / base["rate"], "x", **tag)
    report(
        a.json,
        "intake",
        f"stored exactly once [{label}] (accepted ids = rows = waiting; drain tasks)",
        f"{len(accepted)} = {stored} = {waiting}; {queued}",
        "",
        ok=exact,
        **tag,
    )
    if a.process:
        exact = prove_processed_once(creator, accepted, label, a.json, tag) and exact
    broker.purge_queue()
    return 0 if exact and hook["errors"] == 0 and hook["complete"] else 1


def prove_processed_once(creator, accepted: set, label: str, json_path, tag: dict) -> bool:
    """What the qcluster's drain task does, in this process: every accepted event processed, and one
    outcome per event that logs one (all but subscriptions) -- none twice, none lost."""
    from learning.models import Outcome
    from salesbot.models import WebhookEvent
    from salesbot.pipeline import intake

    logging.getLogger("salesbot.pipeline.intake").setLevel(logging.ERROR)  # bench purchases name no PPV we sent
    t0 = time.perf_counter()
    processed = intake.drain(seconds=3600)
    dt = time.perf_counter() - t0
    expect = set(
        WebhookEvent.objects.filter(creator=creator, event_id__in=accepted)
        .exclude(event="subscriptions.new")
        .values_list("event_id", flat=True)
    )
    logged = list(
        Outcome.objects.filter(creator=creator, platform_event_id__isnull=False).values_list(
            "platform_event_id", flat=True
        )
    )
    done = WebhookEvent.objects.filter(creator=creator, status=WebhookEvent.Status.PROCESSED).count()
    ok = done == processed == len(accepted) and len(logged) == len(set(logged)) and set(logged) == expect
    print(
        f"  processed: {processed:,} events in {dt:.1f} s ({processed / dt:,.0f}/s, one drain, one process); "
        f"{done:,} rows processed, {len(logged):,} outcomes for {len(expect):,} events that log one "
        f"-> {'OK' if ok else 'MISMATCH'}"
    )
    report(
        json_path,
        "intake",
        f"processed exactly once [{label}] (accepted = processed; outcomes = events)",
        f"{len(accepted)} = {done}; {len(logged)} = {len(expect)}",
        "",
        ok=ok,
        **tag,
    )
    return ok


if __name__ == "__main__":
    sys.exit(main())
