"""`manage.py simulate`: simulated fans with hidden preferences through the real decision code, in process.

Prints revenue, conversions, revenue per fan and regret against the best fixed (price, hook) per policy;
`--plot FILE.png` runs all three policies on the same fans and draws their revenue over time.
"""
from django.core.management.base import BaseCommand, CommandError

from sim import policy as simulation


class Command(BaseCommand):
    help = "Run N simulated fans through the rule engine with a PPV policy (static, seed or bayes)."

    def add_arguments(self, parser):
        parser.add_argument("--fans", type=int, default=1000, help="number of simulated fans (default 1000)")
        parser.add_argument("--policy", choices=[*simulation.POLICIES, "all"], default="all",
                            help="static: the playbook ladder; seed: greedy raw rates; bayes: posteriors + "
                                 "Thompson exploration; all: each on the same fans (default)")
        parser.add_argument("--seed", type=int, default=1, help="random seed: same seed, same fans, same run")
        parser.add_argument("--plot", metavar="FILE.png", help="draw revenue over time for all three policies")
        parser.add_argument("--exploration-share", type=float, help="override Creator.exploration_share (0..1)")
        parser.add_argument("--no-exploration", action="store_true", help="turn exploration off")
        parser.add_argument("--min-sample", type=int, help="override Creator.min_sample")
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(self, *args, fans, policy, seed, plot, exploration_share, no_exploration, min_sample, quiet,
               **options):
        if fans < 1:
            raise CommandError("--fans must be at least 1")
        if exploration_share is not None and not 0 <= exploration_share <= 1:
            raise CommandError("--exploration-share must lie in [0, 1]")
        knobs = {k: v for k, v in {"exploration_share": exploration_share, "min_sample": min_sample}.items()
                 if v is not None}
        if no_exploration:
            knobs["exploration_enabled"] = False
        policies = simulation.POLICIES if (policy == "all" or plot) else (policy,)
        progress = None if quiet else simulation.text_progress(getattr(self.stderr, "_out", self.stderr))
        results = simulation.simulate(fans, seed, policies, progress=progress, **knobs)
        shown = simulation.POLICIES if policy == "all" else (policy,)
        for name in shown:
            self.stdout.write("\n".join(results[name].lines()) + "\n\n")
        if len(shown) > 1:
            base = results["static"].revenue or 1.0
            self.stdout.write("revenue vs static: " + ", ".join(
                f"{name} {results[name].revenue / base:.3f}x" for name in shown))
        if plot:
            simulation.plot(results, plot, title=f"{fans} simulated fans, seed {seed}")
            self.stdout.write(f"plot written to {plot}")
