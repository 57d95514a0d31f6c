"""Shared plumbing of the fault checks (bench/kills.py, bench/soak.py): the system's processes as real process
groups that can be SIGKILLed and restarted, a private PostgreSQL and Redis that can be restarted without
touching anyone else's, a fan driver that survives the faults, and the end-of-run accounting against what
the fake platform saw. Loopback only; everything started here is stopped by its process group.
"""

import itertools
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BENCH_DIR, ROOT, pct  # noqa: E402
from replies import TEXTS, platform_time  # noqa: E402


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, seconds: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except Exception:
            pass
        time.sleep(step)
    return False


class Proc:
    """One of the system's processes (gunicorn, qcluster, the fake platform), the leader of its own process
    group: SIGKILL reaches its workers too, as an OOM kill or a pulled plug would."""

    def __init__(self, name: str, cmd: list, env: dict, log, ready=None):
        self.name, self.cmd, self.env, self.log, self.ready = name, cmd, env, log, ready
        self.p: subprocess.Popen | None = None
        self.starts = self.kills = self.died = 0

    def start(self, wait_s: float = 90.0) -> float:
        """Start it; with `ready`, wait until it answers. Returns the seconds it took."""
        t0 = time.monotonic()
        self.p = subprocess.Popen(
            self.cmd, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.starts += 1
        if self.ready and not wait_until(self.ready, wait_s):
            raise SystemExit(f"{self.name} did not become ready in {wait_s:g} s; see {self.log.name}")
        return time.monotonic() - t0

    def alive(self) -> bool:
        return self.p is not None and self.p.poll() is None

    def kill(self):
        """SIGKILL to the whole group (the leader and every worker it forked)."""
        if self.p is None:
            return
        try:
            os.killpg(self.p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.p.wait(timeout=10)
        self.kills += 1

    def stop(self):
        if self.p is None:
            return
        try:
            os.killpg(self.p.pid, signal.SIGTERM)
            self.p.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            self.kill()
        try:  # whatever of the group outlived its leader
            os.killpg(self.p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def boot_demo(env: dict):
    """Migrate the bench database, set Django up in this process and onboard the demo creator on the simple
    contract at a fresh platform port; returns (creator, web_port, platform_port, platform_url, web_url). The
    process then holds no database connection (the system under test has the database to itself)."""
    for k in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
        env.pop(k, None)  # the rule path: no model is called
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "Q_CLUSTER_NAME", "DJANGO_SETTINGS_MODULE")})
    from common import migrate_in_subprocess

    migrate_in_subprocess(env)
    import django

    django.setup()
    from django.db import connection

    from models_registry.services import onboard_from_files
    from sim.management.commands.run_demo import DEMO, DEMO_KEY, DEMO_SECRET

    web_port, platform_port = free_port(), free_port()
    platform_url, web_url = f"http://127.0.0.1:{platform_port}", f"http://127.0.0.1:{web_port}"
    creator = onboard_from_files(
        DEMO / "content-map.json",
        DEMO / "playbook.md",
        provider="simple",
        api_base_url=platform_url,
        api_key=DEMO_KEY,
        webhook_secret=DEMO_SECRET,
    )
    connection.close()
    return creator, web_port, platform_port, platform_url, web_url


def cpu_hogs(n: int) -> list:
    """n CPU-bound neighbours (`while True: pass`), each its own group; stop with stop_hogs."""
    return [
        subprocess.Popen(
            [sys.executable, "-c", "while True: pass"],
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(n)
    ]


def stop_hogs(hogs: list):
    for h in hogs:
        try:
            os.killpg(h.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        h.wait(timeout=10)


class PrivateRedis:
    """A redis-server of our own on a loopback port, without persistence (a restart loses every queued task,
    which is the point)."""

    def __init__(self, port: int, log):
        self.port, self.log, self.p = port, log, None
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self):
        self.p = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if not wait_until(self.ping, 20):
            raise SystemExit(f"redis-server on port {self.port} did not start; see {self.log.name}")

    def ping(self) -> bool:
        import redis

        return bool(redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5).ping())

    def stop(self):
        if self.p and self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(timeout=5)

    def restart(self) -> float:
        """Stopped (queued tasks lost) and started again; returns the seconds it was down."""
        t0 = time.monotonic()
        self.stop()
        self.start()
        return time.monotonic() - t0


class PrivatePostgres:
    """A PostgreSQL cluster of our own (initdb in a temp dir, run as the `postgres` user when we are root) on a
    loopback port, so restarting it disturbs nobody else's tests."""

    def __init__(self, port: int, datadir: Path, log_path: Path):
        self.port, self.dir, self.log_path = port, datadir, log_path
        self.base = f"postgres://postgres@127.0.0.1:{port}"

    def _as_owner(self, cmd: list) -> list:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *cmd]
        return cmd

    def init(self):
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        subprocess.run(
            self._as_owner(["initdb", "-D", str(self.dir), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]),
            check=True,
            capture_output=True,
            timeout=120,
        )

    def _ctl(self, *args):
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
            f"-c max_connections=200 -c shared_buffers=64MB"
        )
        r = subprocess.run(
            self._as_owner(
                ["pg_ctl", "-D", str(self.dir), "-l", str(self.log_path), "-w", "-t", "60", "-o", opts, *args]
            ),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if r.returncode:
            raise SystemExit(f"pg_ctl {' '.join(args)} failed: {r.stdout[-500:]} {r.stderr[-500:]}")

    def start(self):
        self._ctl("start")

    def stop(self, mode: str = "fast"):
        if (self.dir / "postmaster.pid").exists():
            self._ctl("stop", "-m", mode)

    def restart(self) -> float:
        """pg_ctl restart -m fast: every session is cut, as a server restart cuts them; returns the seconds."""
        t0 = time.monotonic()
        self._ctl("restart", "-m", "fast")
        return time.monotonic() - t0

    def create_db(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"{self.base}/postgres", autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')
            conn.execute(f'create database "{name}"')
        return f"{self.base}/{name}"

    def remove(self):
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


def fresh_pg_database(base: str, name: str) -> str:
    import psycopg

    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    return f"{base}/{name}"


class FanDriver:
    """Fans writing through the fake platform at `rate` messages/s; a fan writes again only once answered. A
    webhook the platform could not deliver at once (web down, database down) is retried by the platform, so
    the fan keeps waiting for it. After `per_fan` answers a fan leaves and a new one comes (no fan runs out of
    lines). An answered PPV is bought with `buy_share`, any answer is followed by a tip with `tip_share`, both
    through the platform (which books the money). Every emitted event id is kept for the accounting."""

    def __init__(
        self,
        platform_url: str,
        fans: int,
        rate: float,
        per_fan: int = 0,
        buy_share: float = 0.0,
        tip_share: float = 0.0,
        seed: int = 21,
        first_fan: int = 1,
    ):
        self.url, self.rate, self.per_fan = platform_url, rate, per_fan
        self.buy_share, self.tip_share = buy_share, tip_share
        self.rng = random.Random(seed)
        self.next_fan = itertools.count(first_fan + fans)
        self.idle = deque(range(first_fan, first_fan + fans))
        self.answered_by_fan: Counter = Counter()
        self.waiting: dict[int, float] = {}  # fan -> when its message left
        self.answers: list[tuple] = []  # (t0, t1, fan, idempotency key, price)
        self.extra: list[tuple] = []  # (fan, idempotency key, t1): a send to a fan not waiting
        self.events: list[tuple] = []  # (event id, kind, amount)
        self.retried = self.errors = self.offered = 0
        self.paid_errors = 0
        self.seen = 0
        self.lock = threading.Lock()
        self.stop_polling = threading.Event()
        self.ids = itertools.count(20_000_000 + first_fan * 10_000)  # two drivers never share an id
        self.session = requests.Session()
        self.pool = ThreadPoolExecutor(24)
        self.poller = threading.Thread(target=self._poll, daemon=True)

    def _emit(self, path: str, body: dict) -> dict:
        r = requests.post(f"{self.url}/_fake/{path}", json=body, timeout=60)
        r.raise_for_status()
        return r.json()

    def _post(self, fan: int):
        event_id = f"msg-{fan}-{next(self.ids)}"
        body = {
            "event": "messages.received",
            "event_id": event_id,
            "payload": {
                "fan": {"id": fan, "name": f"Fan{fan}"},
                "message": {"id": next(self.ids), "text": self.rng.choice(TEXTS)},
            },
        }
        with self.lock:
            self.waiting[fan] = time.time()
            self.events.append((event_id, "message", 0))
        try:
            status = self._emit("webhook", body).get("status")
        except Exception as e:  # the fake platform itself failed: nothing was told to the bot
            print(f"\n  fake platform refused fan {fan}'s message: {e}", flush=True)
            with self.lock:
                self.errors += 1
                self.waiting.pop(fan, None)
                self.events.pop()
                self.idle.append(fan)
            return
        if not (status and 200 <= status < 300):
            with self.lock:  # the platform retries it in the background (its webhook backoff)
                self.retried += 1

    def _pay(self, fan: int, amount: float, message_id: int | None):
        time.sleep(self.rng.uniform(0.2, 2.0))
        body = {"fan_id": fan, "amount": amount, **({"message_id": message_id} if message_id else {})}
        try:
            got = self._emit("purchase" if message_id else "tip", body)["webhooks"]
        except Exception as e:
            print(f"\n  fake platform refused a payment of fan {fan}: {e}", flush=True)
            with self.lock:
                self.paid_errors += 1
            return
        with self.lock:
            for one in got:
                self.events.append((one["event_id"], "purchase" if message_id else "tip", amount))
                status = one.get("status")
                self.retried += not (status and 200 <= status < 300)

    def _poll(self):
        while not self.stop_polling.is_set():
            try:
                got = self.session.get(f"{self.url}/_fake/messages", params={"after": self.seen}, timeout=10).json()
            except (requests.RequestException, ValueError):
                time.sleep(0.1)
                continue
            pays = []
            with self.lock:
                for m in got["messages"]:
                    self.seen += 1
                    at = platform_time(m["createdAt"])
                    t0 = self.waiting.pop(m["fan_id"], None)
                    if t0 is None:
                        self.extra.append((m["fan_id"], m.get("idempotency_key"), at))
                        continue
                    fan = m["fan_id"]
                    self.answers.append((t0, at, fan, m.get("idempotency_key"), m.get("price") or 0))
                    self.answered_by_fan[fan] += 1
                    if m.get("price") and self.rng.random() < self.buy_share:
                        pays.append((fan, float(m["price"]), m["id"]))
                    if self.tip_share and self.rng.random() < self.tip_share:
                        pays.append((fan, float(self.rng.choice([5, 10, 20])), None))
                    if self.per_fan and self.answered_by_fan[fan] >= self.per_fan:
                        self.idle.append(next(self.next_fan))  # this fan leaves, a new one comes
                    else:
                        self.idle.append(fan)
            for p in pays:
                self.pool.submit(self._pay, *p)
            time.sleep(0.05)

    def offer(self, seconds: float, should_stop=lambda: False):
        """Offer fan messages at the rate for `seconds` (or until should_stop())."""
        if not self.poller.is_alive():
            self.poller.start()
        start = time.time()
        sent = 0
        while time.time() - start < seconds and not should_stop():
            due = start + sent / self.rate
            if due > time.time():
                time.sleep(min(due - time.time(), 0.5))
                continue
            with self.lock:
                fan = self.idle.popleft() if self.idle else None
            if fan is None:  # every fan waits for an answer
                time.sleep(0.01)
                continue
            self.pool.submit(self._post, fan)
            sent += 1
        self.offered += sent
        return sent

    def waiting_ages(self, now=None) -> list[float]:
        now = now or time.time()
        with self.lock:
            return sorted((now - t0 for t0 in self.waiting.values()), reverse=True)

    def settle(self, seconds: float) -> float:
        """Wait (up to `seconds`) until no fan waits; returns how long it took."""
        t0 = time.time()
        while time.time() - t0 < seconds:
            with self.lock:
                if not self.waiting:
                    break
            time.sleep(0.1)
        return time.time() - t0

    def finish(self):
        self.pool.shutdown(wait=True)
        time.sleep(0.5)
        self.stop_polling.set()
        self.poller.join(timeout=15)


def latencies(answers, windows=(), settle_s: float = 0.0) -> list[float]:
    """Reply latencies, leaving out every message whose wait overlaps a fault window (start, end + settle_s)."""
    out = []
    for t0, t1, *_ in answers:
        if any(t0 <= end + settle_s and t1 >= start for start, end in windows):
            continue
        out.append(t1 - t0)
    return out


def platform_sends(platform_url: str) -> list[dict]:
    return requests.get(f"{platform_url}/_fake/messages", params={"after": 0}, timeout=30).json()["messages"]


def sends_accounting(creator, sends: list[dict], extra: list[tuple]) -> dict:
    """Exactly one send per decision: each idempotency key on the platform once, each one a bot Action that is
    booked as sent, every sent bot Action on the platform; the sends to fans who were not waiting, by kind."""
    from learning.models import Action

    keys = Counter(m.get("idempotency_key") for m in sends)
    dup_keys = sum(n - 1 for n in keys.values() if n > 1)
    bot = Action.objects.filter(creator=creator).exclude(source__in=[Action.Source.IMPORT, Action.Source.HUMAN])
    sent = {str(u) for u in bot.filter(status=Action.Status.SENT).values_list("uuid", flat=True)}
    on_platform = set(keys)
    by_uuid = {str(u): k for u, k in bot.filter(uuid__in=[k for _, k, _ in extra if k]).values_list("uuid", "action")}
    extra_kinds = Counter(by_uuid.get(k, "unknown") for _, k, _ in extra)
    unsolicited = {Action.Kind.BUMP, Action.Kind.REKINDLE, Action.Kind.WELCOME}
    unexpected = sum(n for kind, n in extra_kinds.items() if kind not in unsolicited)
    pending = bot.filter(status=Action.Status.PENDING).count()
    return {
        "sends": len(sends),
        "dup_keys": dup_keys,
        "sent_actions": len(sent),
        "sent_not_on_platform": len(sent - on_platform),
        "on_platform_not_sent": len(on_platform - sent),
        "pending_actions": pending,
        "extra_kinds": dict(extra_kinds),
        "unexpected_extra": unexpected,
        "ok": dup_keys == 0 and sent == on_platform and unexpected == 0,
    }


def events_accounting(creator, emitted: list[tuple]) -> dict:
    """Every event the platform was told to deliver is stored once and processed once, each logging one outcome
    (fan messages: replied; purchases and tips: the money)."""
    from learning.models import Outcome
    from salesbot.models import WebhookEvent

    ids = [e for e, _, _ in emitted]
    rows = Counter(WebhookEvent.objects.filter(creator=creator, event_id__in=ids).values_list("event_id", flat=True))
    done = WebhookEvent.objects.filter(creator=creator, event_id__in=ids, status=WebhookEvent.Status.PROCESSED)
    processed = set(done.values_list("event_id", flat=True))
    outcomes = Counter(
        Outcome.objects.filter(creator=creator, platform_event_id__in=ids).values_list("platform_event_id", flat=True)
    )
    missing = [e for e in ids if e not in rows]
    return {
        "emitted": len(ids),
        "distinct": len(set(ids)),
        "stored": sum(rows.values()),
        "stored_twice": sum(1 for n in rows.values() if n > 1),
        "processed": len(processed),
        "not_processed": len(set(ids) - processed),
        "missing": len(missing),
        "missing_ids": missing[:5],
        "outcomes": sum(outcomes.values()),
        "outcome_twice": sum(1 for n in outcomes.values() if n > 1),
        "ok": len(processed) == len(set(ids)) == len(ids)
        and not missing
        and all(n == 1 for n in rows.values())
        and all(n == 1 for n in outcomes.values())
        and len(outcomes) == len(ids),
    }


def money_accounting(creator, platform_stats: dict) -> dict:
    """Money booked (outcomes, and the fans' totals) against what the platform recorded the fans paying."""
    from decimal import Decimal

    from django.db.models import Sum

    from fans.models import Fan
    from learning.models import Outcome

    booked = {
        e: Outcome.objects.filter(creator=creator, event=e).aggregate(s=Sum("amount"))["s"] or Decimal(0)
        for e in (Outcome.Event.PURCHASED, Outcome.Event.TIPPED)
    }
    fans_total = Fan.objects.filter(creator=creator).aggregate(s=Sum("total_spent"))["s"] or Decimal(0)
    paid_ppv = Decimal(str(round(platform_stats["revenue"], 2)))
    paid_tips = Decimal(str(round(platform_stats["tips_amount"], 2)))
    purchased = booked[Outcome.Event.PURCHASED]
    tipped = booked[Outcome.Event.TIPPED]
    return {
        "platform_ppv": paid_ppv,
        "platform_tips": paid_tips,
        "platform_purchases": platform_stats["purchases"],
        "platform_tip_count": platform_stats["tips"],
        "booked_ppv": purchased,
        "booked_tips": tipped,
        "fans_total_spent": fans_total,
        "ok": purchased == paid_ppv and tipped == paid_tips and fans_total == paid_ppv + paid_tips,
    }


def log_file(name: str):
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    return open(BENCH_DIR / name, "w")


def summary(values) -> str:
    if not values:
        return "none"
    return (
        f"p50 {pct(values, 50):.2f} s, p90 {pct(values, 90):.2f} s, p99 {pct(values, 99):.2f} s, "
        f"max {max(values):.2f} s"
    )
