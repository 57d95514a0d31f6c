"""The `--simulate` audience: new subscribers arrive and react to what the bot sends them.

One scheduler thread runs timed tasks in order (so a fan's subscription is posted before its first
message); fan behaviour itself comes from fan_model, so it stays deterministic for a seed.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from datetime import UTC, datetime

from learning import assignment
from sim import fan_model


class Simulator:
    def __init__(
        self,
        platform,
        seed=None,
        rate=6.0,
        speed=1.0,
        max_fans=0,
        log=print,
        chat_boost=0.0,
        human_rate=0.0,
        experiment: tuple | None = None,
        true_lift: float = 0.0,
    ):
        """experiment: (id, control_share) of the bot's holdout experiment, and true_lift: the learning arm's fans
        buy (1 + true_lift) times as often (SimFan.buy_boost), a known effect for the experiment to measure. The
        simulator tosses the bot's own coin (learning.assignment) to know a fan's arm, as no real fan could."""
        self.experiment, self.true_lift = experiment, true_lift
        self.human_rate = human_rate  # share of fans a human chatter also writes to (in the platform's UI)
        self.platform, self.log = platform, log
        self.rng = random.Random(seed)
        self.rate, self.speed, self.max_fans = max(rate, 0.01), max(speed, 0.001), max_fans
        self.chat_boost = chat_boost  # a livelier audience for demos: added to every fan's reply probability
        self.fans: dict[int, fan_model.SimFan] = {}
        self.cond = threading.Condition()
        self.heap: list = []
        self.seq = itertools.count()
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="fan-simulator", daemon=True)
        platform.listeners.append(self.on_bot_message)

    # -- scheduling --------------------------------------------------------------------------------
    def start(self):
        self.schedule(1.0, self._new_fan)
        self.thread.start()

    def stop(self):
        self.stop_event.set()
        with self.cond:
            self.cond.notify_all()
        if self.thread.is_alive():
            self.thread.join(timeout=2)

    def schedule(self, delay_s: float, fn, *args):
        """Run fn(*args) on the simulator thread after delay_s simulated seconds (divided by --speed)."""
        with self.cond:
            heapq.heappush(self.heap, (time.monotonic() + delay_s / self.speed, next(self.seq), fn, args))
            self.cond.notify_all()

    def _loop(self):
        while not self.stop_event.is_set():
            with self.cond:
                now = time.monotonic()
                if not self.heap or self.heap[0][0] > now:
                    self.cond.wait(timeout=(self.heap[0][0] - now) if self.heap else 1.0)
                    continue
                _, _, fn, args = heapq.heappop(self.heap)
            try:
                fn(*args)
            except Exception as e:  # a demo must keep running; say what broke
                self.log(f"sim   error in {getattr(fn, '__name__', fn)}: {type(e).__name__}: {e}")

    # -- fans --------------------------------------------------------------------------------------
    def _new_fan(self):
        with self.cond:
            if not self.max_fans or len(self.fans) < self.max_fans:
                fan = fan_model.make_fan(self.rng)
                while fan.id in self.fans:
                    fan = fan_model.make_fan(self.rng)
                fan.chattiness = min(0.97, fan.chattiness + self.chat_boost)
                self.boost(fan)
                self.fans[fan.id] = fan
                opens = fan_model.opens_conversation(fan, self.rng)
                gap = 60.0 / self.rate * self.rng.uniform(0.5, 1.5)
            else:
                fan, opens, gap = None, False, 60.0 / self.rate
        self.schedule(gap, self._new_fan)
        if fan is None:
            return
        self.platform.names[fan.id] = fan.name
        with self.platform.lock:
            self.platform.stats["fans"] += 1
        tags = [t for t in ("whale" if fan.is_whale else "", fan.quirk or "") if t]
        self.log(
            f"fan+  {self.platform.fan_label(fan.id)} subscribed"
            f" (pays up to ~${fan.max_price:.0f}{', ' + ', '.join(tags) if tags else ''})"
        )
        self.platform.tell(self.platform.dialect.subscribed(self._fan_ref(fan)))
        with self.cond:
            human = self.rng.random() < self.human_rate
            human_delay = self.rng.uniform(8.0, 30.0)
        if human:
            self.schedule(human_delay, self._human_writes, fan.id)
        if opens:
            with self.cond:
                text = fan_model.opening_message(fan, self.rng)
                delay = self.rng.uniform(1.0, 4.0)
            self.schedule(delay, self._fan_says, fan.id, text, "openers")

    def boost(self, fan):
        """The known lift: a learning-arm fan of the bot's experiment buys (1 + true_lift) times as often."""
        if (
            self.experiment
            and self.true_lift
            and assignment.arm(self.experiment[0], fan.id, self.experiment[1]) == "learning"
        ):
            fan.buy_boost = 1.0 + self.true_lift

    def on_bot_message(self, msg: dict):
        """Called by the platform after each accepted send; only simulated fans react."""
        fan = self.fans.get(msg["fan_id"])
        if fan is None:
            return
        hour = datetime.now(UTC).hour
        with self.cond:
            reactions = fan_model.react(fan, msg, self.rng, hour=hour)
            t = self.rng.uniform(1.5, 6.0)
            plan = []
            for r in reactions:
                if r.kind == "nothing":
                    continue
                plan.append((t, r))
                t += self.rng.uniform(1.0, 4.0)
        for delay, r in plan:
            if r.kind == "reply":
                self.schedule(delay, self._fan_says, fan.id, r.text, "replies")
            elif r.kind == "purchase":
                self.schedule(delay, self._fan_buys, fan.id, r.message_id, r.amount)
            elif r.kind == "tip":
                self.schedule(delay, self._fan_tips, fan.id, r.amount)
        if not plan:
            self.log(f"...   {self.platform.fan_label(fan.id)} left it on read")

    def _fan_ref(self, fan) -> dict:
        return {"id": fan.id, "name": fan.name}

    def _fan_says(self, fan_id: int, text: str, counter: str):
        fan = self.fans[fan_id]
        entry = self.platform.add_fan_message(fan_id, text)
        with self.platform.lock:
            self.platform.stats[counter] += 1
        self.log(f"fan>  {self.platform.fan_label(fan_id)}: {text}")
        self.platform.tell(self.platform.dialect.fan_message(self._fan_ref(fan), entry))

    def _human_writes(self, fan_id: int):
        """A chatter of the agency answers this fan by hand: the bot must hold off for the quiet period."""
        self.platform.human_send(fan_id, "hey it's really me 💕 how's your day going?")

    def _fan_buys(self, fan_id: int, message_id: int, amount):
        fan = self.fans[fan_id]
        self.platform.unlock(fan_id, message_id, amount)
        self.log(f"$$$   {self.platform.fan_label(fan_id)} unlocked message {message_id} for ${amount:.2f}")
        self.platform.tell(self.platform.dialect.unlocked(self._fan_ref(fan), message_id, amount))

    def _fan_tips(self, fan_id: int, amount):
        fan = self.fans[fan_id]
        with self.platform.lock:
            self.platform.stats["tips"] += 1
            self.platform.stats["tips_amount"] += float(amount)
        self.log(f"tip   {self.platform.fan_label(fan_id)} tipped ${amount:.2f}")
        with self.cond:
            events = self.platform.dialect.tipped(self._fan_ref(fan), amount, self.rng)
        self.platform.tell(events)

    def describe_fans(self) -> list[dict]:
        """The hidden truth about every simulated fan, for debugging and demos."""
        with self.cond:
            return [
                {
                    "id": f.id,
                    "name": f.name,
                    "max_price": round(f.max_price, 2),
                    "is_whale": f.is_whale,
                    "chattiness": round(f.chattiness, 2),
                    "favourite_hooks": list(f.favourite_hooks),
                    "favourite_content": list(f.favourite_content),
                    "quirk": f.quirk,
                    "stopped": f.stopped,
                    "purchased": sorted(f.purchased),
                    "total_spent": f.total_spent,
                }
                for f in self.fans.values()
            ]
