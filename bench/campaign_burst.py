"""The burst after a campaign (issue 25): a campaign to --fans simulated fans (2,000) of whom a third reply within
a minute; every reply goes the normal way (signed webhook → stored → intake → queue → the priority worker →
the one sender), and we measure: every reply answered, none twice, and the time until the last answer.

Baseline, same run: the same number of replies from fans who were sent nothing (no campaign), so the ratio
is what a campaign's burst costs over plain traffic of the same size. In process, on SQLite (or --db
postgres), the platform an in-process recorder of sends with its idempotency keys (no network at all).
Bounded: --fans and a --max-seconds cap on the worker.

    .venv/bin/python bench/campaign_burst.py --fans 2000
"""

import argparse
import hashlib
import hmac
import json
import random
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import database_url, drop_database, report, setup_django  # noqa: E402

TEXTS = ["hey", "omg that set 😍", "how much?", "you're gorgeous", "what are you up to tonight?", "more?"]


class Recorder:
    """The platform: records every send once per Idempotency-Key, answers with a message id."""

    def __init__(self):
        self.sends, self.by_key = [], {}

    def send_message(self, fan_id, text, media_ids=(), price=0, *, idempotency_key):
        from salesbot.providers.base import SentMessage

        key = str(idempotency_key)
        if key not in self.by_key:
            self.sends.append({"fan_id": fan_id, "text": text, "t": time.perf_counter()})
            self.by_key[key] = SentMessage(id=7_000_000 + len(self.sends), created_at="")
        return self.by_key[key]


def post_reply(client, creator, fan_id, msg_id, text):
    body = json.dumps(
        {
            "event_id": f"evt_{uuid.uuid4().hex}",
            "event": "messages.received",
            "account_id": creator.account_id,
            "created_at": "2026-12-07T12:00:00Z",
            "payload": {"fan": {"id": fan_id, "name": f"Fan {fan_id}"}, "message": {"id": msg_id, "text": text}},
        }
    ).encode()
    sig = "sha256=" + hmac.new(creator.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    r = client.post(
        f"/api/{creator.slug}/webhook/fan-message", data=body, content_type="application/json", HTTP_X_SIGNATURE=sig
    )
    assert r.status_code in (200, 202), r.content


def burst(creator, fan_ids, recorder, rng, max_seconds) -> dict:
    """A third of the fans reply within a minute (timestamps spread over it, posted as fast as they come);
    the worker answers. Returns the figures."""
    from django.test import Client

    from learning.models import Action
    from salesbot.pipeline import intake, worker

    repliers = rng.sample(fan_ids, len(fan_ids) // 3)
    before = len(recorder.sends)
    client = Client()
    t0 = time.perf_counter()
    for fid in repliers:
        post_reply(client, creator, fid, 50_000_000 + fid, rng.choice(TEXTS))
    intake.drain(seconds=max_seconds)
    worker.drain(creator, limit=10**6, seconds=max_seconds)
    took = time.perf_counter() - t0
    answers = recorder.sends[before:]
    answered = {s["fan_id"] for s in answers}
    per_fan = {}
    for s in answers:
        per_fan[s["fan_id"]] = per_fan.get(s["fan_id"], 0) + 1
    skipped = Action.objects.filter(fan__fan_id__in=repliers, action="skip").count()
    return {
        "replies": len(repliers),
        "answered": len(answered & set(repliers)),
        "sends": len(answers),
        "twice": sum(1 for n in per_fan.values() if n > 1),
        "skipped": skipped,
        "seconds": took,
        "last_answer_s": (max(s["t"] for s in answers) - t0) if answers else float("nan"),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="sqlite", choices=["sqlite", "postgres"])
    ap.add_argument("--fans", type=int, default=2000)
    ap.add_argument("--max-seconds", type=float, default=900)
    ap.add_argument("--seed", type=int, default=25)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    name = "bench_campaign_burst"
    drop_database(a.db, name)
    setup_django(database_url(a.db, name), LLM_MAX_SHARE="0")
    from django.utils import timezone

    from fans.models import Fan
    from models_registry.services import onboard_from_files
    from salesbot import providers
    from salesbot.campaigns import sending, services
    from salesbot.campaigns.models import Segment

    recorder = Recorder()
    providers.client_for = lambda creator: recorder  # the in-process platform, for every send
    rng = random.Random(a.seed)
    root = Path(__file__).resolve().parents[1] / "demo"
    creator = onboard_from_files(root / "content-map.json", root / "playbook.md", slug="burst", account_id="acct_b")
    creator.campaign_quiet_hours = 0
    creator.save()
    n = a.fans
    Fan.objects.bulk_create(
        [Fan(creator=creator, fan_id=100_000 + i, name=f"Fan {i}", state="engaged") for i in range(2 * n)]
    )
    campaign_fans = [100_000 + i for i in range(n)]
    plain_fans = [100_000 + n + i for i in range(n)]

    # baseline: the same burst size from fans sent nothing
    base = burst(creator, plain_fans, recorder, rng, a.max_seconds)
    print(f"  baseline: {base}")

    segment = Segment.objects.create(creator=creator, name="campaign fans", fan_ids=campaign_fans)
    campaign = services.create(
        creator,
        name="burst",
        segment=segment,
        text="new set just dropped, only for you 💕",
        content_key="combo3",
        price=18,
        holdout_share=0.0,
        send_at=timezone.now(),
    )
    sending.approve(campaign, None)
    t0 = time.perf_counter()
    sending.send_due()
    send_s = time.perf_counter() - t0
    sent = len(recorder.sends)
    print(f"  campaign: {sent - base['sends']} sends in {send_s:.1f} s")
    after = burst(creator, campaign_fans, recorder, rng, a.max_seconds)
    print(f"  burst:    {after}")
    ok = after["answered"] + after["skipped"] >= after["replies"] and after["twice"] == 0
    report(
        a.json,
        "campaign_burst",
        f"campaign to {n:,} fans: sends per second (one sender)",
        (sent - base["sends"]) / send_s,
        "/s",
    )
    report(
        a.json,
        "campaign_burst",
        f"burst of {after['replies']:,} replies: every one answered once",
        "yes" if ok else f"no ({after['answered']} answered, {after['twice']} twice)",
    )
    report(a.json, "campaign_burst", "burst: time until the last answer", after["last_answer_s"], "s")
    report(
        a.json,
        "campaign_burst",
        "burst vs the same replies without a campaign (time ratio)",
        after["last_answer_s"] / base["last_answer_s"],
        "x",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
