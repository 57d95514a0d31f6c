"""Decision latency and LLM use on simulated traffic: the live simulation (sim.live:
signed webhooks → worker → fake platform, LLM rows → the fake Claude server over HTTP) with every
engine.decide timed. Rule-path latency is compared with the LLM path (baseline, same run) and with
the router alone; the LLM share and prompt sizes come from the same traffic.

    .venv/bin/python bench/decisions.py --fans 300
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import database_url, drop_database, median, pct, report, setup_django  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fans", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument(
        "--bad-llm-every",
        type=int,
        default=0,
        help="every Nth webhook the fake LLM answers badly (0: never, for clean latencies)",
    )
    ap.add_argument("--json", help="append figures to this JSON-lines file (bench/run_all.py)")
    a = ap.parse_args(argv)
    name = "bench_decisions"
    drop_database(a.db, name)
    os.environ.pop("REDIS_URL", None)
    setup_django(database_url(a.db, name))
    from salesbot.models import LLMCall
    from salesbot.pipeline import engine, router
    from sim.live import LLM_ROUTES, LiveSimulation
    from sim.management.commands.simulate_live import _start

    timings = []  # (route row, source, decide seconds, router-only seconds)
    real_decide = engine.decide

    def timed_decide(ctx):
        t0 = time.perf_counter()
        router.route(ctx)
        t1 = time.perf_counter()
        decision = real_decide(ctx)
        timings.append((decision.route, decision.source, time.perf_counter() - t1, t1 - t0))
        return decision

    engine.decide = timed_decide
    platform, platform_url = _start(
        "sim.platform_server", "--account-id", "acct_sim", "--api-key", "sim-key", "--webhook-secret", "sim-secret"
    )
    llm, llm_url = _start("sim.llm_server")
    try:
        print(
            f"decisions bench on {a.db}: {a.fans} simulated fans through the live loop "
            f"(fake platform + fake Claude server over loopback HTTP)"
        )
        sim = LiveSimulation(
            platform_url,
            llm_url,
            seed=a.seed,
            bad_llm_every=a.bad_llm_every,
            progress=lambda i, n: print(f"\r  {i}/{n} fans", end="\n" if i == n else "", flush=True),
        )
        sim.setup()
        t0 = time.perf_counter()
        rep = sim.run(a.fans)
        wall = time.perf_counter() - t0
    finally:
        engine.decide = real_decide
        for proc in (platform, llm):
            proc.terminate()
            proc.wait(timeout=10)

    rules = [t[2] * 1000 for t in timings if t[0] not in LLM_ROUTES and t[0] != "handed_off"]
    llm_path = [t[2] * 1000 for t in timings if t[0] in LLM_ROUTES]
    routing = [t[3] * 1000 for t in timings]
    calls = list(LLMCall.objects.values_list("prompt_tokens", flat=True))
    for line in rep.lines():
        print("  " + line)
    print(f"  simulated traffic took {wall:.1f} s; {len(timings)} decisions timed")
    print(f"  rule path: p50 {pct(rules, 50):.2f} ms, p99 {pct(rules, 99):.2f} ms ({len(rules)} decisions)")
    print(
        f"  LLM path (fake Claude, loopback): p50 {pct(llm_path, 50):.2f} ms, p99 {pct(llm_path, 99):.2f} ms "
        f"({len(llm_path)} decisions)"
    )
    print(f"  router alone: p50 {pct(routing, 50) * 1000:.1f} µs")
    tag = {"db": a.db, "fans": a.fans}
    report(
        a.json,
        "decisions",
        f"rule-path decision p50 / p99 [{a.db}]",
        f"{pct(rules, 50):.2f} / {pct(rules, 99):.2f}",
        "ms",
        n=len(rules),
        **tag,
    )
    report(
        a.json,
        "decisions",
        f"LLM-path decision p50 / p99, fake Claude [{a.db}] (baseline)",
        f"{pct(llm_path, 50):.2f} / {pct(llm_path, 99):.2f}",
        "ms",
        n=len(llm_path),
        **tag,
    )
    if rules and llm_path:
        report(a.json, "decisions", "LLM-path p50 / rule-path p50", pct(llm_path, 50) / pct(rules, 50), "x", **tag)
    report(a.json, "decisions", "router alone p50", pct(routing, 50) * 1000, "µs", **tag)
    report(
        a.json,
        "decisions",
        f"LLM share of decisions, {a.fans} simulated fans (goal <= 20%)",
        rep.llm_share,
        "%",
        ok=rep.llm_share <= 20,
        **tag,
    )
    if calls:
        report(
            a.json,
            "decisions",
            "prompt tokens per LLM call, median / max (limit 15,000)",
            f"{median(calls):.0f} / {max(calls)}",
            "tokens",
            ok=max(calls) <= 15000,
            calls=len(calls),
            **tag,
        )
    cache_figures(a, tag)
    return 0 if not rep.notes else 1


def cache_figures(a, tag: dict, warm_up: int = 5):
    """The prompt cache as the real API would give it (the fake applies the model's floor and the exact-bytes
    rule): the share of input tokens read from the cache after the first `warm_up` calls of each creator, and
    the cost per 1,000 model decisions at the configured model's prices (settings.LLM_PRICES, dated)."""
    from django.conf import settings
    from django.db.models import Sum

    from models_registry.models import Creator
    from salesbot.dashboard.cost import model_cost
    from salesbot.models import LLMCall

    for creator in Creator.objects.all():
        pks = list(LLMCall.objects.filter(creator=creator).order_by("pk").values_list("pk", flat=True))[warm_up:]
        if not pks:
            continue
        agg = LLMCall.objects.filter(pk__in=pks).aggregate(
            input=Sum("input_tokens"),
            output=Sum("output_tokens"),
            cache_read=Sum("cache_read_tokens"),
            cache_write=Sum("cache_creation_tokens"),
        )
        c = model_cost(creator, {k: v or 0 for k, v in agg.items()}, len(pks))
        print(
            f"  prompt cache [{creator.slug}, {c['model']}, floor {c['prefix']['floor']}, cached part about "
            f"{c['prefix']['tokens']} tokens]: {c['cached']:,} input tokens cached, {c['uncached']:,} not, over "
            f"{len(pks)} calls after {warm_up}; ${c['per_1000_decisions']:.2f} per 1,000 model decisions at the "
            f"prices of {settings.LLM_PRICES_AS_OF}"
        )
        report(
            a.json,
            "decisions",
            f"input tokens read from the prompt cache after warm-up [{creator.slug}, {c['model']}] (goal >= 60%)",
            c["cached_share"] or 0.0,
            "%",
            ok=(c["cached_share"] or 0) >= 60,
            **tag,
        )
        report(
            a.json,
            "decisions",
            f"model cost per 1,000 model decisions [{creator.slug}, {c['model']}, prices "
            f"of {settings.LLM_PRICES_AS_OF}]",
            round(c["per_1000_decisions"], 2),
            "$",
            **tag,
        )


if __name__ == "__main__":
    sys.exit(main())
