"""The burst driver of bench/replies.py --burst N: N fans write within one second (as after a mass message
or a creator's post), and each fan writes again within a second of every answer, for --burst-seconds. What
counts: every message answered, none twice, and how long the first wave took to clear (from its first
message to the last of its answers).

Bounded: the run stops offering at --burst-seconds and waits at most --reply-timeout for the last answers."""

import heapq
import itertools
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import requests

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
    "you up?",
]


def platform_time(created_at: str) -> float:
    return datetime.fromisoformat(created_at.replace("Z", "+00:00")).timestamp()


class BurstDriver:
    def __init__(self, platform_url: str, fans: list[int], seconds: float, reply_timeout: float, seed: int = 26):
        self.url, self.fans, self.seconds, self.reply_timeout = platform_url, fans, seconds, reply_timeout
        self.rng = random.Random(seed)
        self.due: list[tuple[float, int]] = []  # heap of (when, fan) still to write
        self.waiting: dict[int, tuple[float, bool]] = {}  # fan -> (when its message left, first wave?)
        self.latencies, self.first_wave_done = [], []
        self.unanswered = self.extra = self.errors = self.sent = 0
        self.overdue: set[int] = set()
        self.unacked: set[int] = set()  # delivery timed out at the platform; we may have stored it all the same
        self.answered_unacked = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.ids = itertools.count(20_000_000)
        self.seen = 0
        self.start = self.end_offer = 0.0

    def _post(self, fan: int, first: bool):
        body = {
            "event": "messages.received",
            "payload": {
                "fan": {"id": fan, "name": f"Fan{fan}"},
                "message": {"id": next(self.ids), "text": TEXTS[(fan + self.sent) % len(TEXTS)]},
            },
        }
        with self.lock:
            self.waiting[fan] = (time.time(), first)
            self.sent += 1
        try:
            r = requests.post(f"{self.url}/_fake/webhook", json=body, timeout=30)
            if r.status_code != 200 or r.json().get("status") != 200:
                raise RuntimeError(r.text[:200])
        except Exception as e:  # not acknowledged: the bot owes no answer
            print(f"\n  webhook failed for fan {fan}: {e}", flush=True)
            with self.lock:
                self.errors += 1
                self.waiting.pop(fan, None)
                self.unacked.add(fan)

    def _poll(self):
        session = requests.Session()
        while not self.stop.is_set():
            try:
                got = session.get(f"{self.url}/_fake/messages", params={"after": self.seen}, timeout=10).json()
            except requests.RequestException:
                time.sleep(0.05)
                continue
            now = time.time()
            with self.lock:
                for m in got["messages"]:
                    self.seen += 1
                    fan = m["fan_id"]
                    left = self.waiting.pop(fan, None)
                    if left is None:
                        if fan in self.overdue:
                            self.overdue.discard(fan)
                        elif fan in self.unacked:
                            self.unacked.discard(fan)
                            self.answered_unacked += 1  # stored although the platform's delivery timed out
                        else:
                            self.extra += 1  # a second answer to one message: must not happen
                        continue
                    at = platform_time(m["createdAt"])
                    self.latencies.append(at - left[0])
                    if left[1]:
                        self.first_wave_done.append(at)
                    nxt = now + self.rng.uniform(0.0, 1.0)
                    if nxt < self.end_offer:
                        heapq.heappush(self.due, (nxt, fan))
                for fan, (t0, _) in list(self.waiting.items()):
                    if now - t0 > self.reply_timeout:
                        del self.waiting[fan]
                        self.unanswered += 1
                        self.overdue.add(fan)
            time.sleep(0.02)

    def run(self) -> float:
        """Offer for `seconds`, then wait for the last answers; returns the wall time."""
        self.start = time.time()
        self.end_offer = self.start + self.seconds
        with self.lock:
            for fan in self.fans:
                heapq.heappush(self.due, (self.start + self.rng.uniform(0.0, 1.0), fan))
        first = set(self.fans)
        poller = threading.Thread(target=self._poll, daemon=True)
        poller.start()
        pool = ThreadPoolExecutor(32)
        while time.time() < self.end_offer:
            with self.lock:
                ready = []
                while self.due and self.due[0][0] <= time.time():
                    ready.append(heapq.heappop(self.due)[1])
            for fan in ready:
                pool.submit(self._post, fan, fan in first)
                first.discard(fan)
            time.sleep(0.005)
        pool.shutdown(wait=True)
        deadline = time.time() + self.reply_timeout
        while time.time() < deadline:
            with self.lock:
                if not self.waiting:
                    break
            time.sleep(0.05)
        self.stop.set()
        poller.join(timeout=15)
        with self.lock:
            self.unanswered += len(self.waiting)
        return time.time() - self.start

    def first_wave_cleared_s(self) -> float | None:
        """Seconds from the burst's start until every fan's first message was answered (None: some never were)."""
        if len(self.first_wave_done) < len(self.fans):
            return None
        return max(self.first_wave_done) - self.start
