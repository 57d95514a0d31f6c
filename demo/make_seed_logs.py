"""Write deterministic demo data in the seed's log formats (docs/operations.md#importing-the-seeds-logs).

    python demo/make_seed_logs.py            # -> demo/research/bot-{outcomes,state}/demo/

Fans go through a plausible funnel (welcome → chat → free tease → PPV → bump → upsell) and buy
less often at higher prices, so `import_seed_logs demo --creator demo` gives the stats something
to learn. Same seed, same bytes: timestamps end at a fixed epoch instead of "now".
"""

import argparse
import json
import random
from pathlib import Path

END = 1_795_000_000
START = END - 14 * 86400
HOUR, DAY = 3600, 86400
PRICES = [12, 15, 18, 25, 35]
BASE_BUY = {12: 0.4, 15: 0.34, 18: 0.28, 25: 0.18, 35: 0.11}  # price-sensitive purchase rate
HOOK_LIFT = {
    "vulnerability": 1.15,
    "scarcity": 1.1,
    "sexual_match": 1.1,
    "exclusivity": 1.05,
    "challenge": 0.95,
    "conditional": 0.9,
    "curiosity": 1.0,
}
PPV_KEYS = {
    12: ["sexting1_pic", "lingerie_set1"],
    15: ["mirror_set2", "sexting2_pic"],
    18: ["combo3", "shower_tease"],
    25: ["combo5", "video_solo1"],
    35: ["combo7", "bundle_b"],
}
FREE_KEYS = ["gfe_selfie", "bed_selfie", "gym_pic", "mirror_tease"]
NAMES = [
    "John",
    "Mike",
    "Chris",
    "Dave",
    "Alex",
    "Sam",
    "Tom",
    "Ryan",
    "Matt",
    "Nick",
    "Jake",
    "Ben",
    "Luis",
    "Carlos",
    "Ahmed",
    "Kenji",
    "Oliver",
    "Liam",
    "Noah",
    "Ethan",
    "Marco",
    "Pete",
    "Steve",
    "Greg",
    "",
]


class FanSim:
    """One fan's conversation, appended as seed JSONL records in time order."""

    def __init__(self, rng: random.Random, fan_id: int):
        self.rng, self.fan_id = rng, fan_id
        self.lines: list[dict] = []
        self.state, self.spent, self.sent, self.received = "new", 0, 0, 0
        self.content: list[str] = []
        self.last_price = None
        self.created = START + rng.randint(0, 13 * DAY)
        self.t = self.created
        self.last_seen = None
        self.wallet = min(2.5, max(0.3, rng.lognormvariate(0, 0.45)))
        self.chatty = rng.uniform(0.92, 0.995)
        self.tipped = False
        self.ppvs = 0

    def act(self, action, delay, **fields):
        self.t += delay
        if self.t >= END:
            return False
        rec = {"ts": self.t, "type": "action", "action": action}
        rec.update({k: v for k, v in fields.items() if v not in (None, "")})
        rec["fan_state"], rec["fan_total_spent"] = self.state, self.spent
        if action != "welcome" and action != "bump":
            rec["response_time_s"] = round(self.rng.uniform(3, 90), 1)
        self.lines.append(rec)
        self.sent += 1
        if fields.get("content_key"):
            self.content.append(fields["content_key"])
        return True

    def outcome(self, event, delay, amount=None):
        self.t += max(1, int(delay))
        if self.t >= END:
            return False
        rec = {"ts": self.t, "type": "outcome", "event": event}
        if amount is not None:
            rec["amount"] = amount
        self.lines.append(rec)
        if event in ("replied", "purchased", "tipped"):
            self.last_seen = self.t
        self.received += event == "replied"
        return True

    def reply_or_ghost(self, p) -> bool:
        """The fan answers our last action, or goes quiet and is marked ghosted after 24h+."""
        if self.rng.random() < p:
            return self.outcome("replied", self.rng.expovariate(1 / 900))
        if self.outcome("ghosted", DAY + self.rng.randint(0, 6 * HOUR)):
            self.state = "dormant"
        return False

    def run(self):
        r = self.rng
        if not self.act("welcome", r.randint(30, 900), content_key=r.choice(["", "gfe_selfie"]), hook="curiosity"):
            return
        self.state = "greeted"
        if self.reply_or_ghost(self.chatty):
            self.state = "engaged"
        while self.ppvs < 12:
            if self.state == "dormant":
                if r.random() > 0.8 or not self.act(
                    "rekindle", r.randint(DAY, 3 * DAY), hook=r.choice(["vulnerability", "curiosity"])
                ):
                    return
                if not self.reply_or_ghost(self.chatty * 0.6):
                    return
                self.state = "engaged"
            elif self.ppvs:
                self.t += int(r.expovariate(1 / (24 * HOUR)))  # fans come back in sessions
            if not self.chat():
                return
            if self.state != "dormant" and not self.pitch():
                return

    def chat(self) -> bool:
        """A few texts and maybe a free tease; False once time is up."""
        r = self.rng
        for _ in range(r.randint(1, 4)):
            if not self.act("text", r.randint(20, 600)):
                return False
            if not self.reply_or_ghost(self.chatty):
                return True  # dormant: the caller may rekindle
        if r.random() < 0.45:
            hook = r.choice(["curiosity", "sexual_match", "exclusivity"])
            return self.act("free_media", r.randint(60, 1200), content_key=r.choice(FREE_KEYS), hook=hook)
        return True

    def pitch(self) -> bool:
        """One PPV (and at most one bump); True when the conversation goes on."""
        r = self.rng
        self.ppvs += 1
        if self.last_price is None or self.state not in ("buyer", "whale_candidate"):
            price = r.choices(PRICES, weights=[2, 3, 5, 2, 1])[0]
        else:
            price = PRICES[min(PRICES.index(self.last_price) + 1, len(PRICES) - 1)]
        hook = r.choice(list(HOOK_LIFT))
        before = self.state
        if not self.act("ppv", r.randint(60, 1800), content_key=r.choice(PPV_KEYS[price]), price=price, hook=hook):
            return False
        self.state, self.last_price = "pitched", price
        loyalty = 1.1 if before != "engaged" else 1.0  # buyers and rekindled fans buy a little more
        p = min(0.9, BASE_BUY[price] * HOOK_LIFT[hook] * (0.6 + 0.4 * self.wallet) * loyalty)
        if r.random() < p:
            return self.bought(price, r.expovariate(1 / 1800))
        if r.random() < 0.6:
            if not self.outcome("replied", r.expovariate(1 / 1200)):
                return False
            self.state = "engaged"
            return True
        if not self.act("bump", 4 * HOUR + r.randint(0, 2 * HOUR), hook="scarcity"):
            return False
        if r.random() < p * 0.3:
            return self.bought(price, r.expovariate(1 / 3600))
        if self.reply_or_ghost(0.5):
            self.state = "engaged"
        return True

    def bought(self, price, delay) -> bool:
        if not self.outcome("purchased", delay, amount=price):
            return False
        self.spent += price
        self.state = "buyer"
        if self.rng.random() < 0.12 * self.wallet:
            amount = self.rng.choice([5, 10, 20, 50])
            if self.outcome("tipped", self.rng.randint(60, 1800), amount=amount):
                self.spent += amount
                self.tipped = True
        if self.spent >= 90 and self.wallet > 1.2:
            self.state = "whale_candidate"
            if self.rng.random() < 0.3:
                self.state = "handed_off"
                return False
        return self.act("text", self.rng.randint(60, 900))  # aftercare

    def state_file(self, name) -> dict:
        r = self.rng
        if self.state not in ("handed_off", "dormant") and (self.last_seen or self.created) < END - DAY:
            self.state = "dormant"
        signals = [
            s
            for s, on in (
                ("sexual", r.random() < 0.5),
                ("interest", self.received >= 4),
                ("generous", self.tipped),
                ("compliments", r.random() < 0.3),
                ("custom_request", self.spent >= 90 and r.random() < 0.5),
            )
            if on
        ]
        return {
            "fan_id": self.fan_id,
            "state": self.state,
            "name": name,
            "messages_sent": self.sent,
            "messages_received": self.received,
            "total_spent": float(self.spent),
            "last_ppv_price": self.last_price,
            "content_sent": self.content,
            "last_interaction_ts": self.last_seen,
            "created_ts": self.created,
            "signals": signals,
            "notes": "asked about customs" if "custom_request" in signals else "",
        }


def generate(out: Path, slug: str = "demo", fans: int = 150, seed: int = 7) -> tuple[int, int]:
    rng = random.Random(seed)
    logs, states = out / "research" / "bot-outcomes" / slug, out / "research" / "bot-state" / slug
    for d in (logs, states):
        d.mkdir(parents=True, exist_ok=True)
        for old in [*d.glob("*.jsonl"), *d.glob("*.json")]:
            old.unlink()
    ids = rng.sample(range(10_000_000, 99_999_999), fans)
    lines = 0
    for fan_id in ids:
        sim = FanSim(rng, fan_id)
        sim.run()
        body = "".join(json.dumps(rec, separators=(",", ":")) + "\n" for rec in sim.lines)
        (logs / f"{fan_id}.jsonl").write_text(body)
        (states / f"{fan_id}.json").write_text(json.dumps(sim.state_file(rng.choice(NAMES)), indent=2) + "\n")
        lines += len(sim.lines)
    return fans, lines


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    ap.add_argument("--slug", default="demo")
    ap.add_argument("--fans", type=int, default=150)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    n, lines = generate(a.out, a.slug, a.fans, a.seed)
    print(f"wrote {n} fans, {lines} log lines under {a.out / 'research'}")
