"""Off-policy evaluation through the whole engine (issue 24): the estimate against the simulated truth.

The learned policy plays simulated fans through the real engine (sim.policy: engine.decide, the sender's
Action rows with their logged propensities, the real outcome writes), in a throw-away in-memory database.
From those rows alone learning.offpolicy estimates what each policy (ladder, raw_rates, learned) would
have earned per offer, SNIPS and doubly robust with 90% intervals; the simulator knows each fan's true odds,
so it sums what each policy's offer in every logged context was truly worth (Result.policy_truth).
Goal: every estimate within 10% of the truth on about 5,000 decisions (--fans 2700 makes about 5,000
engine.decide calls with DemoFans, some 400 of them PPVs) and each truth inside its 90% interval in most
seeds. The error of one run is mostly the luck of its purchase draws (about ±8% at 400 offers), so
--seeds N prints each seed and the mean error.

Run: .venv/bin/python -m bench.offpolicy [--fans 2700] [--seeds 3] [--fan-model sim.fan_models:MidPriceFans]
"""

import argparse
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WITHIN = 0.10


def _setup():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesbot.settings")
    import django

    django.setup()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fans", type=int, default=2700, help="simulated fans per seed (default 2700)")
    parser.add_argument("--seeds", type=int, default=1, help="seeds 1..N (default 1)")
    parser.add_argument("--fan-model", help="FILE.py:Class or package.module:Class (default DemoFans)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a mean error is over 10%%")
    args = parser.parse_args(argv)
    _setup()
    from sim import policy as simulation

    model = simulation.load_fan_model(args.fan_model) if args.fan_model else None
    errors: dict = {}
    print(f"off-policy evaluation through the engine: {args.fans} fans × {args.seeds} seeds, learned policy logs")
    print(
        f"{'seed':>4} {'decisions':>9} {'PPVs':>5} {'policy':>9} {'truth':>7} {'DR (90%)':>22} {'err':>7} "
        f"{'SNIPS':>7} {'err':>7}"
    )
    for seed in range(1, args.seeds + 1):
        r = simulation.Simulation(args.fans, seed, fan_model=model).run("bayes")
        for name, e in r.offpolicy.items():
            truth = r.truth_per_offer(name)
            if "dr" not in e or not truth:
                continue
            dr, snips = e["dr"], e.get("snips", {"estimate": float("nan")})
            err = (dr["estimate"] / truth - 1, snips["estimate"] / truth - 1)
            errors.setdefault(name, []).append(err)
            inside = "in" if dr["interval"][0] <= truth <= dr["interval"][1] else "OUT"
            print(
                f"{seed:>4} {r.decisions:>9} {r.offers:>5} {name:>9} {truth:>7.2f} "
                f"{dr['estimate']:>6.2f} ({dr['interval'][0]:.2f}–{dr['interval'][1]:.2f}) {inside:>3} "
                f"{100 * err[0]:>+6.1f}% {snips['estimate']:>7.2f} {100 * err[1]:>+6.1f}%",
                flush=True,
            )
    ok = True
    for name, errs in errors.items():
        dr, sn = (statistics.mean(e[i] for e in errs) for i in (0, 1))
        met = abs(dr) <= WITHIN and abs(sn) <= WITHIN
        ok &= met
        print(
            f"{name}: mean error DR {100 * dr:+.1f}%, SNIPS {100 * sn:+.1f}% "
            f"({'within' if met else 'NOT within'} {100 * WITHIN:.0f}% of the truth)"
        )
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
