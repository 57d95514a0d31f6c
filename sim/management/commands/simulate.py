"""`manage.py simulate`: simulated fans with hidden preferences answering the real engine, in process.

Prints revenue, conversions, revenue per fan and regret against the best fixed (price, hook) per policy;
`--plot FILE.png` runs all three policies on the same fans and draws their revenue over time. The runs
happen in a throw-away in-memory database (sim.sandbox): the project's database is never opened.
"""

from django.core.management.base import BaseCommand, CommandError

from sim import policy as simulation


class Command(BaseCommand):
    help = (
        "Run N simulated fans through the real engine (engine.decide: router, rules, offers, spend cap) "
        "under each PPV policy, a creator setting: static = offer_policy 'ladder', seed = 'raw_rates', "
        "bayes = 'learned'. Runs in a throw-away in-memory database, one per policy, whatever DATABASE_URL "
        "says: your data is neither read nor written. No LLM is called (its router rows take the rules' "
        "stand-in, as without an API key)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--fans", type=int, default=1000, help="number of simulated fans (default 1000)")
        parser.add_argument(
            "--policy",
            choices=[*simulation.POLICIES, "all"],
            default="all",
            help="static: the playbook ladder; seed: greedy raw rates; bayes: posteriors + "
            "Thompson exploration; all: each on the same fans (default)",
        )
        parser.add_argument("--seed", type=int, default=1, help="random seed: same seed, same fans, same run")
        parser.add_argument("--plot", metavar="FILE.png", help="draw revenue over time for all three policies")
        parser.add_argument(
            "--fan-model",
            metavar="FILE.py:Class",
            help="the audience: a class with make_fan(fan_id, rng), first_message(fan, rng) and "
            "react(fan, message, rng) (see sim.fan_model.FanModel), given as FILE.py:Class "
            "or package.module:Class; default: the built-in sim.fan_model.DemoFans",
        )
        parser.add_argument("--exploration-share", type=float, help="override Creator.exploration_share (0..1)")
        parser.add_argument("--no-exploration", action="store_true", help="turn exploration off")
        parser.add_argument("--min-sample", type=int, help="override Creator.min_sample")
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(
        self,
        *args,
        fans,
        policy,
        seed,
        plot,
        fan_model,
        exploration_share,
        no_exploration,
        min_sample,
        quiet,
        **options,
    ):
        if fans < 1:
            raise CommandError("--fans must be at least 1")
        if exploration_share is not None and not 0 <= exploration_share <= 1:
            raise CommandError("--exploration-share must lie in [0, 1]")
        try:
            model = simulation.load_fan_model(fan_model) if fan_model else None
        except simulation.FanModelError as e:
            raise CommandError(f"--fan-model: {e}") from e
        knobs = {
            k: v for k, v in {"exploration_share": exploration_share, "min_sample": min_sample}.items() if v is not None
        }
        if no_exploration:
            knobs["exploration_enabled"] = False
        policies = tuple(simulation.POLICIES) if (policy == "all" or plot) else (policy,)
        progress = None if quiet else simulation.text_progress(getattr(self.stderr, "_out", self.stderr))
        try:
            results = simulation.simulate(fans, seed, policies, fan_model=model, progress=progress, **knobs)
        except simulation.FanModelError as e:
            raise CommandError(f"--fan-model: {e}") from e
        shown = tuple(simulation.POLICIES) if policy == "all" else (policy,)
        for name in shown:
            self.stdout.write("\n".join(results[name].lines()) + "\n\n")
        if len(shown) > 1:
            base = results["static"].revenue or 1.0
            self.stdout.write(
                "revenue vs static: " + ", ".join(f"{name} {results[name].revenue / base:.3f}x" for name in shown)
            )
        if plot:
            simulation.plot(results, plot, title=f"{fans:,} simulated fans, seed {seed}")
            self.stdout.write(f"plot written to {plot}")
