"""Fans answered, end to end: many simulated fans write through the fake platform (a real HTTP process),
which posts signed webhooks to gunicorn; a real qcluster drains them, decides and sends the reply back
to the platform. Per fan message: the time from the fan's message leaving the platform to the bot's
answer reaching it (the platform's own receive time), p50 / p90 / p99, and the replies per second
sustained. Baseline: engine.decide on the same fans in the same run (what a decision costs), so the
ratio is what the queue hops, polling and I/O add around a decision.

    .venv/bin/python bench/replies.py --db sqlite --broker orm
    .venv/bin/python bench/replies.py --db postgres --broker redis --rate 40 --messages 1200
    .venv/bin/python bench/replies.py --db postgres --broker redis --capacity    # offered 1.5x the goal's rate

Bounded: --messages fan messages at an offered --rate (a fan writes again only once answered, so at
most --fans are waiting), a reply not seen within --reply-timeout counts as unanswered, and the whole
run stops after --max-seconds. Loopback only; every process it starts is stopped at the end.

What bounds it: the CPU of each process (qcluster, gunicorn, the fake platform, the PostgreSQL server's
backends, this driver) and of everything else on the machine, over the run. The goals are for this machine
alone: a run that shares the cores with other work (another benchmark, a test suite) says so, and its
figures are then much worse (on 2 cores, p50 8-10 s at 15 replies/s instead of 0.12 s at 33/s).
"""

import argparse
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from burst import BurstDriver  # noqa: E402
from common import (  # noqa: E402
    BENCH_DIR,
    REDIS_BASE,
    ROOT,
    database_url,
    drop_database,
    median,
    migrate_in_subprocess,
    pct,
    redis_answers,
    report,
)
from intake import free_port, server_command, start_server  # noqa: E402

sys.path.insert(0, str(ROOT))  # before bench/: bench/learning.py would hide the `learning` app

TEXTS = [
    "hey",
    "how are you?",
    "you're gorgeous",
    "what are you up to tonight?",
    "how much?",
    "send more 😍",
    "i had a long day at work",
    "what do you like to do for fun?",
    "hi babe",
    "do you have anything new?",
    "my dog max says hi",
    "you up?",
]
GOAL = {"sqlite/orm": (None, 1.5, 15), "postgres/redis": (0.3, 1.0, 30)}  # p50 s, p99 s, replies/s


def _cpu_of(keep) -> float:
    """User + system CPU seconds of every live process whose (name, stat fields) `keep` accepts (/proc; Linux),
    with its children that ended and were waited for (a qcluster recycles its workers; PostgreSQL's postmaster
    reaps the backends of closed connections): their CPU would otherwise leave the count with them."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            head, rest = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)
        except OSError:
            continue
        fields = rest.split()
        if keep(head.split("(", 1)[1], fields):
            total += sum(int(x) for x in fields[11:15]) / tick  # utime, stime, cutime, cstime
    return total


def cpu_seconds(pgid: int) -> float:
    """CPU of a process group (field 5 of stat)."""
    return _cpu_of(lambda name, fields: int(fields[2]) == pgid)


def group_pids(pgid: int) -> list[int]:
    """The live processes of a process group (a qcluster and its workers)."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                found.append(int(pid))
    return found


def items_per_cluster(cluster_of: dict) -> dict:
    """Queue items finished by each qcluster, from each item's worker id (host:pid:start)."""
    from salesbot.models import QueueItem

    out = dict.fromkeys(set(cluster_of.values()), 0)
    for claimed_by in QueueItem.objects.exclude(claimed_by="").values_list("claimed_by", flat=True).iterator():
        parts = claimed_by.split(":")
        pid = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        if pid in cluster_of:
            out[cluster_of[pid]] += 1
    return out


def named_cpu_seconds(prefix: str) -> float:
    """CPU of every process whose name starts with `prefix` (the database server's backends)."""
    return _cpu_of(lambda name, fields: name.startswith(prefix))


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat (all cores)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields) - idle) / tick, sum(fields) / tick


def platform_time(created_at: str) -> float:
    return datetime.fromisoformat(created_at.replace("Z", "+00:00")).timestamp()


class Driver:
    """Offers fan messages at `rate`; a fan writes again only after its answer arrived. The poller reads
    what the platform received (GET /_fake/messages?after=N) and matches each answer to its fan."""

    def __init__(self, platform_url: str, fans: list[int], rate: float, reply_timeout: float):
        self.url, self.rate, self.reply_timeout = platform_url, rate, reply_timeout
        self.idle = deque(fans)
        self.waiting: dict[int, float] = {}  # fan -> when its message left
        self.latencies, self.unanswered, self.extra, self.errors, self.late = [], 0, 0, 0, 0
        self.overdue: set[int] = set()  # fans whose answer did not come in time: they write no more
        # fans whose webhook the platform saw time out: our side may still have stored it (store-then-ack), so
        # an answer to it is not an extra send; such a fan writes again only after it
        self.unacked: set[int] = set()
        self.answered_unacked = 0
        self.first_sent = self.last_reply = None
        self.seen = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.ids = itertools.count(10_000_000)
        self.session = requests.Session()

    def _post(self, fan: int, t0_box: list):
        body = {
            "event": "messages.received",
            "payload": {
                "fan": {"id": fan, "name": f"Fan{fan}"},
                "message": {"id": next(self.ids), "text": TEXTS[(fan + len(self.latencies)) % len(TEXTS)]},
            },
        }
        try:
            t0_box.append(time.time())
            with self.lock:
                self.waiting[fan] = t0_box[0]
            r = requests.post(f"{self.url}/_fake/webhook", json=body, timeout=30)
            if r.status_code != 200 or r.json().get("status") != 200:
                raise RuntimeError(r.text[:200])
        except Exception as e:  # the webhook was not acknowledged: not a fan message the bot owes an answer
            print(f"\n  webhook failed for fan {fan}: {e}", flush=True)
            with self.lock:
                self.errors += 1
                self.waiting.pop(fan, None)
                self.unacked.add(fan)

    def _poll(self):
        while not self.stop.is_set():
            try:
                got = self.session.get(f"{self.url}/_fake/messages", params={"after": self.seen}, timeout=10).json()
            except requests.RequestException:
                time.sleep(0.05)
                continue
            now = time.time()
            with self.lock:
                for m in got["messages"]:
                    self.seen += 1
                    t0 = self.waiting.pop(m["fan_id"], None)
                    if t0 is None and m["fan_id"] in self.overdue:
                        self.overdue.discard(m["fan_id"])
                        self.late += 1  # answered after --reply-timeout: counted unanswered, not extra
                        continue
                    if t0 is None and m["fan_id"] in self.unacked:
                        self.unacked.discard(m["fan_id"])
                        self.answered_unacked += 1  # stored although the platform's delivery timed out
                        self.idle.append(m["fan_id"])
                        continue
                    if t0 is None:
                        self.extra += 1  # a second message to an answered fan (none expected)
                        continue
                    at = platform_time(m["createdAt"])
                    self.latencies.append(at - t0)
                    self.last_reply = at
                    self.idle.append(m["fan_id"])
                for fan, t0 in list(self.waiting.items()):
                    if now - t0 > self.reply_timeout:
                        del self.waiting[fan]
                        self.unanswered += 1
                        self.overdue.add(fan)
            time.sleep(0.02)

    def run(self, n_messages: int, max_seconds: float) -> float:
        poller = threading.Thread(target=self._poll, daemon=True)
        poller.start()
        pool = ThreadPoolExecutor(16)
        start = time.time()
        self.first_sent = start
        deadline = start + max_seconds
        sent = 0
        while sent < n_messages and time.time() < deadline:
            due = start + sent / self.rate
            if due > time.time():
                time.sleep(due - time.time())
            with self.lock:
                fan = self.idle.popleft() if self.idle else None
            if fan is None:  # every fan waits for an answer: the offered rate is not met
                time.sleep(0.005)
                continue
            pool.submit(self._post, fan, [])
            sent += 1
        offered_s = time.time() - start
        pool.shutdown(wait=True)
        while time.time() < deadline:
            with self.lock:
                if not self.waiting:
                    break
            time.sleep(0.05)
        self.stop.set()
        poller.join(timeout=15)
        with self.lock:
            self.unanswered += len(self.waiting)
        return offered_s


class InboxTabs:
    """`n` staff browser tabs with the inbox open, each polling the live feed every 1.5 s as inbox.js does
    (the stamp it was last given; the list and the open conversation re-rendered only when something landed)."""

    POLL_S = 1.5

    def __init__(self, web_url: str, n: int, usernames: list[str], password: str, fan_pks: list[int]):
        self.url, self.n, self.usernames, self.password, self.fan_pks = web_url, n, usernames, password, fan_pks
        self.stop = threading.Event()
        self.times, self.changed, self.whole, self.errors, self.first_error = [], 0, 0, 0, ""
        self.lock = threading.Lock()
        self.threads = []

    def _session(self, username: str) -> requests.Session:
        s = requests.Session()
        s.get(f"{self.url}/admin/login/", timeout=30)
        r = s.post(
            f"{self.url}/admin/login/",
            timeout=30,
            allow_redirects=False,
            data={
                "username": username,
                "password": self.password,
                "next": "/admin/",
                "csrfmiddlewaretoken": s.cookies.get("csrftoken", ""),
            },
        )
        if r.status_code != 302:
            raise SystemExit(f"inbox tabs: login failed ({r.status_code})")
        return s

    def _tab(self, i: int, s: requests.Session):
        stamp, fan_stamp = "", ""
        fan = str(self.fan_pks[i % len(self.fan_pks)]) if self.fan_pks else ""
        time.sleep(self.POLL_S * i / max(self.n, 1))  # tabs opened at different moments
        while not self.stop.is_set():
            t0 = time.perf_counter()
            try:
                d = s.get(
                    f"{self.url}/admin/inbox/live/",
                    timeout=30,
                    params={"stamp": stamp, "fan_stamp": fan_stamp, "fan": fan, "visible": "1"},
                ).json()
                stamp, fan_stamp = d["stamp"], d.get("fan_stamp", fan_stamp)
                with self.lock:
                    self.times.append(time.perf_counter() - t0)
                    self.changed += bool(d.get("changed"))
                    self.whole += "list" in d
            except (requests.RequestException, ValueError, KeyError) as e:
                with self.lock:
                    self.errors += 1
                    self.first_error = self.first_error or f"{type(e).__name__}: {e}"[:160]
            self.stop.wait(self.POLL_S)

    def start(self):
        """Log every tab in first (a login hashes the password: ~0.5 s of CPU each, which is not the live feed's
        cost and would land on the measured replies), then let them poll."""
        with ThreadPoolExecutor(4) as pool:
            sessions = list(pool.map(self._session, [self.usernames[i % len(self.usernames)] for i in range(self.n)]))
        for i, session in enumerate(sessions):
            t = threading.Thread(target=self._tab, args=(i, session), daemon=True)
            t.start()
            self.threads.append(t)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=35)


def decision_baseline(creator, fan_ids: list[int]) -> list[float]:
    """engine.decide (with its context) on this run's fans, in this process, rolled back: the decision
    cost the queue adds to."""
    from django.db import transaction

    from fans.models import Fan, Message
    from salesbot.pipeline import engine

    out = []
    for fan in Fan.objects.filter(creator=creator, fan_id__in=fan_ids):
        last_in = fan.messages.filter(direction=Message.Direction.IN).order_by("-id").first()
        with transaction.atomic():
            t0 = time.perf_counter()
            ctx = engine.build_context(creator, fan, reason="message", message=last_in)
            engine.decide(ctx)
            out.append(time.perf_counter() - t0)
            transaction.set_rollback(True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--broker", choices=["orm", "redis"], default="orm")
    ap.add_argument("--fans", type=int, default=150)
    ap.add_argument("--rate", type=float, default=None, help="offered fan messages/s (default: the goal's rate + 10%%)")
    ap.add_argument("--messages", type=int, default=None, help="fan messages in all (default: 30 s at --rate)")
    ap.add_argument("--q-workers", type=int, default=None, help="qcluster workers (default: settings, Q_WORKERS)")
    ap.add_argument("--reply-timeout", type=float, default=15.0)
    ap.add_argument("--max-seconds", type=float, default=150.0)
    ap.add_argument(
        "--capacity",
        action="store_true",
        help="offer 1.5x the goal's rate: what it sustains when overloaded (latency then has no goal)",
    )
    ap.add_argument(
        "--tab-people",
        type=int,
        default=1,
        help="the --tabs are shared among this many chatters (each with their own unread counts and marks)",
    )
    ap.add_argument(
        "--tabs",
        type=int,
        default=0,
        help="staff tabs with the live inbox open during the run (each polls every 1.5 s)",
    )
    ap.add_argument(
        "--burst",
        type=int,
        default=0,
        metavar="N",
        help="N fans write within one second, each writing again within a second of every answer, "
        "for --burst-seconds (bench/burst.py); replaces --rate/--messages",
    )
    ap.add_argument("--burst-seconds", type=float, default=60.0)
    ap.add_argument(
        "--clusters",
        type=int,
        default=1,
        help="qclusters started as separate process groups on the same database and broker",
    )
    ap.add_argument("--json", help="append figures to this JSON-lines file (bench/run_all.py)")
    a = ap.parse_args(argv)
    label = f"{a.db}/{a.broker}"
    goal_p50, goal_p99, goal_rate = GOAL[label]  # the set-up's goal, however many qclusters share it
    if a.clusters > 1:
        label += f", {a.clusters} qclusters"
    if os.environ.get("BENCH_CODE_ROOT"):  # bench/common.baseline_tree: the code before a change
        label += ", code before issue 26"
    if a.broker == "redis" and not redis_answers():
        print(f"replies bench [{label}]: skipped, no Redis at {REDIS_BASE}")
        return 0
    rate = a.rate or round((goal_rate or 15) * (1.5 if a.capacity else 1.1))
    if a.capacity:  # a backlog builds on purpose: the figure is the rate, the latency only shows the backlog
        goal_p50 = goal_p99 = None
        label += " overloaded"
    if a.tabs:
        label += f", {a.tabs} inbox tabs" + (f" of {a.tab_people} people" if a.tab_people > 1 else "")
    if a.burst:
        goal_p50 = goal_p99 = goal_rate = None
        label += f", burst of {a.burst}"
        a.reply_timeout = max(a.reply_timeout, 60.0)
    n_messages = a.messages or int(rate * 30)
    name = "bench_replies" + ("_before" if os.environ.get("BENCH_CODE_ROOT") else "")
    drop_database(a.db, name)
    env = {
        **os.environ,
        "DATABASE_URL": database_url(a.db, name),
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "salesbot.settings",
        "Q_CLUSTER_NAME": f"benchreplies{os.getpid()}",
        "PYTHONUNBUFFERED": "1",
    }
    for k in ("REDIS_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
        env.pop(k, None)  # the rule path: no model is called
    if a.broker == "redis":
        env["REDIS_URL"] = REDIS_BASE
    if a.q_workers:
        env["Q_WORKERS"] = str(a.q_workers)
    os.environ.update(
        {k: v for k, v in env.items() if k in ("DATABASE_URL", "Q_CLUSTER_NAME", "DJANGO_SETTINGS_MODULE")}
    )
    for k in ("REDIS_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
        os.environ.pop(k, None)
    if a.broker == "redis":
        os.environ["REDIS_URL"] = REDIS_BASE
    migrate_in_subprocess(env)
    import django

    django.setup()
    from django_q.brokers import get_broker

    from models_registry.services import onboard_from_files
    from sim.management.commands.run_demo import DEMO, DEMO_KEY, DEMO_SECRET

    get_broker().purge_queue()
    web_port, platform_port = free_port(), free_port()
    creator = onboard_from_files(
        DEMO / "content-map.json",
        DEMO / "playbook.md",
        provider="simple",
        api_base_url=f"http://127.0.0.1:{platform_port}",
        api_key=DEMO_KEY,
        webhook_secret=DEMO_SECRET,
    )
    tab_password = "inbox-bench"
    tab_people = [f"inboxbench{i}" for i in range(max(1, min(a.tab_people, a.tabs or 1)))]
    if a.tabs:
        from team.models import TeamMember
        from team.services import add_member

        # chatters keep the inbox open all day (and need no second factor by default, as managers do)
        for name in tab_people:
            add_member(name, TeamMember.Role.CHATTER, [creator], password=tab_password)
    from django.db import connection

    connection.close()  # the bench process holds no connection while the system runs
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    log = open(BENCH_DIR / "replies-procs.log", "w")
    procs = {}

    def start(what, cmd):
        procs[what] = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return procs[what]

    platform_url = f"http://127.0.0.1:{platform_port}"
    web_cmd = server_command(web_port, None, None, None)
    q_workers = env.get("Q_WORKERS", "2")
    offered = (
        f"{a.burst} fans writing at once, then again within a second of each answer, for {a.burst_seconds:g} s"
        if a.burst
        else f"{a.fans} fans, {n_messages:,} fan messages offered at {rate:g}/s"
    )
    print(
        f"replies bench [{label}]: {offered}; gunicorn (gunicorn.conf.py) + {a.clusters} qcluster(s) "
        f"({q_workers} workers each) + fake platform, loopback"
    )
    try:
        start(
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
                f"http://127.0.0.1:{web_port}/api/{creator.slug}/webhook/of-event",
            ],
        )
        procs["web"] = start_server(env, web_cmd, log)
        for k in range(a.clusters):  # each its own process group (start_new_session): two machines' worth
            start("qcluster" if a.clusters == 1 else f"qcluster {k + 1}", [sys.executable, "manage.py", "qcluster"])
        for _ in range(100):
            try:
                if requests.get(f"{platform_url}/_fake/stats", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        # Warm-up: every process imports, connects and answers a few fans (not counted).
        warm = Driver(platform_url, list(range(900_001, 900_021)), 10, 30)
        warm.run(20, 60)
        if len(warm.latencies) < 15:
            raise SystemExit(f"warm-up: only {len(warm.latencies)} of 20 answered; see {log.name}")
        tabs = None
        if a.tabs:  # the staff are logged in and their tabs open before the measured run
            from fans.models import Fan

            fan_pks = list(Fan.objects.filter(creator=creator).values_list("pk", flat=True)[: a.tabs])
            connection.close()
            tabs = InboxTabs(f"http://127.0.0.1:{web_port}", a.tabs, tab_people, tab_password, fan_pks)
            tabs.start()
            time.sleep(2 * InboxTabs.POLL_S)  # every tab has loaded its list once
        skip = requests.get(f"{platform_url}/_fake/messages", params={"after": 10**9}).json()["total"]
        cpu0 = {k: cpu_seconds(p.pid) for k, p in procs.items()}
        server = "postgres" if a.db == "postgres" else None
        server0, machine0 = named_cpu_seconds(server) if server else 0.0, machine_busy()
        self0 = sum(os.times()[:2])
        if a.burst:
            driver = BurstDriver(platform_url, list(range(1, a.burst + 1)), a.burst_seconds, a.reply_timeout)
        else:
            driver = Driver(platform_url, list(range(1, a.fans + 1)), rate, a.reply_timeout)
        driver.seen = skip
        offered_s = driver.run() if a.burst else driver.run(n_messages, a.max_seconds)
        if tabs:
            tabs.finish()
        cluster_of = {pid: k for k, p in procs.items() if k.startswith("qcluster") for pid in group_pids(p.pid)}
        cpu = {k: cpu_seconds(p.pid) - cpu0[k] for k, p in procs.items()}
        machine1 = machine_busy()
        if server:
            cpu["postgres server"] = named_cpu_seconds(server) - server0
        driver_cpu = sum(os.times()[:2]) - self0
        other_cpu = (machine1[0] - machine0[0]) - sum(cpu.values()) - driver_cpu
        busy = (machine1[0] - machine0[0]) / max(machine1[1] - machine0[1], 1e-9)
    finally:
        for p in procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        log.close()

    if a.burst:
        n_messages = driver.sent
        driver.late = 0
        driver.first_sent = driver.start
        driver.last_reply = max(driver.first_wave_done + [driver.start + offered_s], default=None)
    lat = driver.latencies
    answered = len(lat)
    span = (driver.last_reply - driver.first_sent) if driver.last_reply else float("nan")
    if a.burst:
        span = offered_s
    sustained = answered / span if answered else 0.0
    base = decision_baseline(creator, list(range(1, a.fans + 1)))
    p50, p90, p99 = pct(lat, 50), pct(lat, 90), pct(lat, 99)
    d50, d99 = median(base) * 1000, pct(base, 99) * 1000
    wall = max(span, 1e-9)
    print(
        f"  answered {answered:,} of {n_messages:,} fan messages ({driver.unanswered} unanswered within "
        f"{a.reply_timeout:g} s, {driver.late} of them later, {driver.extra} unexpected extra sends, "
        f"{driver.errors} webhooks unacknowledged, {driver.answered_unacked} of them answered all the same); "
        f"offered over {offered_s:.1f} s"
    )
    print(
        f"  reply latency: p50 {p50 * 1000:.0f} ms, p90 {p90 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
        f"max {max(lat, default=0) * 1000:.0f} ms; sustained {sustained:.1f} replies/s"
    )
    print(
        f"  decision baseline (engine.decide on the same fans, this process): p50 {d50:.2f} ms, p99 {d99:.2f} ms "
        f"-> reply p50 / decision p50 = {p50 * 1000 / d50:,.0f}x"
    )
    print(
        "  CPU during the run: "
        + ", ".join(f"{k} {v:.1f} s ({100 * v / wall:.0f}% of a core)" for k, v in cpu.items())
        + f"; {sum(cpu.values()) * 1000 / max(answered, 1):.1f} ms CPU per reply in these processes; "
        f"the machine's {os.cpu_count()} cores were {100 * busy:.0f}% busy: also this bench's driver "
        f"{driver_cpu:.1f} s, everything else (kernel, Redis, other programs) {other_cpu:.1f} s"
    )
    if other_cpu / wall > 0.25:
        print(
            f"  NOTE: other programs took {100 * other_cpu / wall:.0f}% of a core during the run: these figures are "
            f"for a shared machine, not for what this one can do alone"
        )
    tag = {"db": a.db, "broker": a.broker, "fans": a.fans, "rate": rate}
    ok_lat = (goal_p50 is None or p50 <= goal_p50) and (goal_p99 is None or p99 <= goal_p99)
    goal_txt = ", ".join(
        x for x in [f"p50 <= {goal_p50} s" if goal_p50 else "", f"p99 <= {goal_p99} s" if goal_p99 else ""] if x
    )
    goal_txt = f" (goal {goal_txt})" if goal_txt else ""
    report(
        a.json,
        "replies",
        f"fan message -> reply p50 / p90 / p99 [{label}]{goal_txt}",
        f"{p50:.3f} / {p90:.3f} / {p99:.3f}",
        "s",
        ok=ok_lat if goal_txt else None,
        **tag,
    )
    report(
        a.json,
        "replies",
        f"replies sustained [{label}]" + (f" (goal >= {goal_rate}/s)" if goal_rate else ""),
        sustained,
        "/s",
        ok=(sustained >= goal_rate) if goal_rate else None,
        **tag,
    )
    report(
        a.json,
        "replies",
        f"answered / offered [{label}] (unanswered, extra sends)",
        f"{answered} / {n_messages} ({driver.unanswered}, {driver.extra})",
        "",
        ok=driver.unanswered == 0 and driver.extra == 0,
        **tag,
    )
    report(
        a.json, "replies", f"decision p50 / p99, same fans [{label}] (baseline)", f"{d50:.2f} / {d99:.2f}", "ms", **tag
    )
    report(a.json, "replies", f"reply p50 / decision p50 [{label}]", p50 * 1000 / d50, "x", **tag)
    if tabs:
        polls = len(tabs.times)
        print(
            f"  inbox tabs: {a.tabs} polling every {tabs.POLL_S:g} s: {polls:,} polls ({polls / wall:.1f}/s), "
            f"{tabs.changed:,} with changes ({tabs.whole:,} of them the whole list), {tabs.errors} errors"
            f"{' (' + tabs.first_error + ')' if tabs.errors else ''}; poll p50 {pct(tabs.times, 50) * 1000:.0f} ms, "
            f"p99 {pct(tabs.times, 99) * 1000:.0f} ms"
        )
        report(
            a.json,
            "replies",
            f"inbox live poll p50 / p99 [{label}]",
            f"{pct(tabs.times, 50) * 1000:.0f} / {pct(tabs.times, 99) * 1000:.0f}",
            "ms",
            ok=tabs.errors == 0,
            **tag,
        )
    if a.burst:
        cleared = driver.first_wave_cleared_s()
        print(
            f"  first burst of {a.burst}: "
            + (
                f"cleared in {cleared:.1f} s"
                if cleared is not None
                else "not cleared (some first messages never answered)"
            )
        )
        report(
            a.json,
            "replies",
            f"first burst cleared [{label}] (goal <= 20 s for 1,000)",
            round(cleared, 2) if cleared is not None else "never",
            "s",
            ok=cleared is not None and cleared <= 20 and driver.unanswered == 0 and driver.extra == 0,
            **tag,
        )
    if a.clusters > 1:
        worked = items_per_cluster(cluster_of)
        print("  queue items worked per qcluster: " + ", ".join(f"{k}: {n:,}" for k, n in sorted(worked.items())))
        report(
            a.json,
            "replies",
            f"items worked per qcluster [{label}] (no fan handled twice: 0 extra sends)",
            " / ".join(f"{n:,}" for _, n in sorted(worked.items())),
            "",
            ok=driver.extra == 0 and len(worked) == a.clusters,
            **tag,
        )
    report(a.json, "replies", f"machine CPU busy during the run [{label}]", 100 * busy, "%", **tag)
    report(
        a.json,
        "replies",
        f"CPU ms per reply ({' + '.join(cpu)}) [{label}]",
        sum(cpu.values()) * 1000 / max(answered, 1),
        "ms",
        **{k: round(v, 2) for k, v in cpu.items()},
        **tag,
    )
    with open(BENCH_DIR / "replies-last.json", "w") as f:
        json.dump({"label": label, "latencies": lat, "cpu": cpu}, f)
    return 0 if answered and driver.extra == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
