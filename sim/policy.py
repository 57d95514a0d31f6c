"""In-process simulation: simulated fans answer the real engine, thousands of them per run.

Why: to measure whether a PPV policy earns more, thousands of conversations are needed, and the live
simulation (webhooks, HTTP, django-q) manages hundreds. Here the bot's side is the worker's own calls,
engine.build_context + engine.decide (router, rule steps, offers, the 24h spend cap; the LLM's rows as
they go without an API key), each decision written by sender.log_decision as a sent Action; the fans'
replies, purchases and tips are written by learning.services.record_outcome, so the stats every offer
reads are the real ones, and the report's revenue and conversions are read back from those rows. It all
happens in a throw-away database (sim.sandbox), a fresh one per policy run: the user's data is never read
or written. Not run: HTTP and signatures, the queue and its leases, the platform send and the sender's
last gate and the checkers; the fan fields the engine reads (messages, signals, spend, content sent, last
PPV price, state, whale score) are booked as intake.on_message / on_purchase / on_tip and the sender book them.

The policies compared are creator settings (Creator.offer_policy), not code of their own:

  static  "ladder": the playbook's ladder (entry price for a $0 fan, the item's price after, template hook).
  seed    "raw_rates": the seed's greedy reading of its raw conversion rates (pooled, no sample guard,
          never tries anything new).
  bayes   "learned": Beta posteriors per fan context with the creator's exploration knobs.

The fans come from a FanModel (sim.fan_model; DemoFans unless another is given). Each fan arrives at a
simulated hour (fans spread evenly over DAYS) and its whole conversation happens then; rows carry the wall
clock, so the spend cap's real 24h window spans each simulated fan's conversation, as it would in a day.
"""

import importlib
import importlib.util
import json
import random
import sys
from collections import Counter
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db.models import Sum

from fans.models import Fan
from fans.state_machine import FanState, can_transition, transition
from learning import experiments, offpolicy
from learning.models import Action, Outcome
from learning.services import record_outcome
from learning.whales import update_whale_score
from models_registry.models import Creator
from models_registry.services import onboard_creator
from salesbot.pipeline import engine, offers, safety, sender
from salesbot.pipeline.cues import detect
from salesbot.pipeline.intake import REENGAGE_ON_MESSAGE
from sim.fan_model import BotMessage, DemoFans, missing_methods
from sim.sandbox import sandbox

POLICIES = {
    "static": Creator.OfferPolicy.LADDER,
    "seed": Creator.OfferPolicy.RAW_RATES,
    "bayes": Creator.OfferPolicy.LEARNED,
}
DAYS = 30  # the simulated fans subscribe evenly over this many days
PROGRESS_EVERY = 100  # fans between two progress reports
REACTION_KINDS = {"reply", "purchase", "tip", "nothing"}


@dataclass
class Result:
    policy: str
    fans: int = 0
    decisions: int = 0  # engine.decide calls, one Action each
    routes: Counter = field(default_factory=Counter)  # router row -> Actions it decided
    offers: int = 0
    explored: int = 0
    conversions: int = 0
    revenue: float = 0.0
    tips: float = 0.0
    expected: float | None = 0.0  # Σ price × true purchase probability of the offers made (None: model can't say)
    arm_value: dict = field(default_factory=dict)  # (price, hook) -> Σ its expected revenue on the same offers
    cumulative: list = field(default_factory=list)  # revenue after each fan
    experiment: dict | None = None  # learning.experiments.results() when the run held an experiment
    policy_truth: dict = field(default_factory=dict)  # policy -> [Σ true value of its offer, offers] (same contexts)
    offpolicy: dict = field(default_factory=dict)  # policy -> learning.offpolicy.estimate() from the logs

    def truth_per_offer(self, policy: str) -> float | None:
        total, n = self.policy_truth.get(policy, (0.0, 0))
        return total / n if n else None

    @property
    def revenue_per_fan(self) -> float:
        return self.revenue / self.fans if self.fans else 0.0

    @property
    def best_fixed(self) -> tuple:
        """The single (price, hook) that would have earned most on the same offers, in hindsight."""
        return max(self.arm_value.items(), key=lambda kv: kv[1]) if self.arm_value else ((None, None), 0.0)

    @property
    def regret(self) -> float:
        return self.best_fixed[1] - (self.expected or 0.0)

    def lines(self) -> list[str]:
        (price, hook), best = self.best_fixed
        share = f"{100 * self.regret / best:.1f}%" if best else "n/a"
        rows = ", ".join(f"{name} {n}" for name, n in self.routes.most_common(5))
        lines = [
            f"policy:            {self.policy}",
            f"fans:              {self.fans}",
            f"decisions:         {self.decisions} by engine.decide (router rows: {rows or 'none'})",
            f"PPVs sent:         {self.offers} ({self.explored} exploring)",
            f"conversions:       {self.conversions} ({100 * self.conversions / max(self.offers, 1):.1f}%)",
            f"revenue:           ${self.revenue:,.2f} (+ ${self.tips:,.2f} tips)",
            f"revenue per fan:   ${self.revenue_per_fan:.3f}",
        ]
        if self.expected is None:
            return lines + [
                "expected revenue:  n/a (the fan model gives no purchase_probability)",
                "best fixed policy: n/a",
                "regret:            n/a",
            ]
        return (
            lines
            + [
                f"expected revenue:  ${self.expected:,.2f} (Σ price × true purchase odds of the PPVs sent)",
                f"best fixed policy: ${best:,.2f} (${price} with '{hook}' on every one of those PPVs)",
                f"regret:            ${self.regret:,.2f} ({share} of the best fixed policy)",
            ]
            + [
                f"off-policy {name:9} DR ${e['dr']['estimate']:.2f} per offer (90% ${e['dr']['interval'][0]:.2f}–"
                f"${e['dr']['interval'][1]:.2f}), truth ${self.truth_per_offer(name):.2f}"
                for name, e in self.offpolicy.items()
                if "dr" in e and self.truth_per_offer(name) is not None
            ]
        )


class Simulation:
    """One audience (a FanModel built from the seed) played through each policy on an empty database."""

    def __init__(
        self, n_fans: int, seed: int, *, fan_model=None, max_turns: int = 30, experiment: float | None = None, **knobs
    ):
        """fan_model: a FanModel class (or any callable of the seed); knobs: Creator fields for the creator;
        experiment: a control share, to run a holdout experiment (learning.experiments) from the first fan:
        every fan is assigned an arm, the model's optional `assigned(fan, arm)` hears it, and the result
        carries the experiment's report."""
        self.n_fans, self.seed, self.max_turns, self.knobs = n_fans, seed, max_turns, knobs
        self.experiment = experiment
        self.make_model = fan_model or DemoFans
        root = Path(settings.BASE_DIR) / "demo"
        self.content_map = json.loads((root / "content-map.json").read_text(encoding="utf-8"))
        self.playbook = (root / "playbook.md").read_text(encoding="utf-8")

    def run(self, policy: str, progress=None) -> Result:
        result = Result(policy)
        try:
            model = self.make_model(self.seed)
        except Exception as e:
            name = getattr(self.make_model, "__name__", type(self.make_model).__name__)
            raise FanModelError(f"{name}({self.seed}) failed: {type(e).__name__}: {e}") from e
        with sandbox():
            creator = self._creator(policy)
            exp = experiments.start(creator, self.experiment, by="simulator") if self.experiment else None
            self.media = {v.content_key: tuple(v.media_ids) for v in creator.vault_items.all()}
            self.arms = [
                (float(p), h)
                for p in offers.offer_candidates(
                    creator, list(creator.vault_items.all()), creator.entry_price, "vulnerability"
                ).prices
                for h in offers.HOOK_LINES
            ]
            if not callable(getattr(model, "purchase_probability", None)):
                result.expected = None
            for i in range(self.n_fans):
                self._play(creator, model, i, result)
                result.fans += 1
                result.cumulative.append(round(result.revenue, 2))
                if progress and ((i + 1) % PROGRESS_EVERY == 0 or i + 1 == self.n_fans):
                    progress(policy, i + 1, self.n_fans)
            self._read_books(creator, result)
            rows = offpolicy.logged_offers(creator)
            result.offpolicy = {
                name: offpolicy.estimate(rows, name)
                for name in offpolicy.POLICIES
                if any(name in r["choices"] for r in rows)
            }
            if exp is not None:
                result.experiment = experiments.results(exp)
        return result

    def _creator(self, policy: str) -> Creator:
        """The demo creator, onboarded as staff onboard one, with the policy's offer_policy and the knobs."""
        made = onboard_creator(
            self.content_map, self.playbook, slug=f"sim-{policy}", **{"offer_policy": POLICIES[policy], **self.knobs}
        )
        # The same rows the worker's creator reads, fetched once instead of on every decision.
        return Creator.objects.prefetch_related("vault_items", "templates").get(pk=made.pk)

    def _play(self, creator, model, i: int, result: Result):
        """One fan's conversation as the worker would hold it: the welcome (unless the fan writes first),
        then an answer to each reply; one bump after an unbought PPV the fan did not answer."""
        fan_id = i + 1
        simfan = model.make_fan(fan_id, random.Random(f"{self.seed}:{fan_id}:make"))
        rng = random.Random(f"{self.seed}:{fan_id}:fan")
        hour = int(i * DAYS * 24 / self.n_fans) % 24
        fan = Fan.objects.create(creator=creator, fan_id=fan_id, name=str(getattr(simfan, "name", "") or "")[:200])
        if self.experiment and callable(getattr(model, "assigned", None)):
            model.assigned(simfan, experiments.arm_of(fan))
        reason, text, bumped = "welcome", "", False
        opening = model.first_message(simfan, rng)
        if opening is not None:
            reason, text = "message", str(opening)
            if not self._fan_wrote(creator, fan, text):
                return
        for _ in range(self.max_turns):
            decision = engine.decide(engine.build_context(creator, fan, reason=reason, last_text=text))
            if decision.action == "skip":
                sender.log_decision(creator, fan, decision, Action.Status.LOGGED)
                return
            action = self._sent(creator, fan, decision)
            ppv = decision.action == "ppv"
            message = BotMessage(
                id=action.pk,
                text=decision.text,
                price=float(decision.price) if ppv else 0.0,
                content_key=decision.content_key or None,
                hook=decision.hook or None,
                media_ids=self.media.get(decision.content_key, ()),
                hour=hour,
            )
            reactions = _checked(model.react(simfan, message, rng), model)
            bought = self._paid(fan, action, message, reactions, result)
            if ppv:
                self._value_offer(model, simfan, message, result)
                self._value_choices(model, simfan, message, decision.extra.get("policy_choices") or {}, result)
            replies = [r for r in reactions if r.kind == "reply"]
            if replies:
                reason, text = "message", str(replies[0].text or "")
                if not self._fan_wrote(creator, fan, text):
                    return
            elif ppv and not bought and not bumped:
                reason, text, bumped = "bump", "", True
            else:
                return

    def _sent(self, creator, fan, decision) -> Action:
        """The Action the sender writes, as it stands after a successful send, and the sender's fan books."""
        action = sender.log_decision(creator, fan, decision, Action.Status.SENT)
        fan.messages_sent += 1
        if decision.content_key and decision.content_key not in fan.content_sent:
            fan.content_sent = fan.content_sent + [decision.content_key]
        if decision.action == "ppv":
            fan.last_ppv_price = decision.price
        fan.save(update_fields=["messages_sent", "content_sent", "last_ppv_price"])
        target = sender.state_after_send(fan.state, decision.action)
        if target is not None:
            transition(fan, target, "welcome sent" if target == FanState.GREETED else f"{decision.action} sent")
        return action

    def _paid(self, fan, action, message, reactions, result: Result) -> bool:
        """Purchases (of this PPV, at its price, once) and tips, written as intake writes them."""
        bought = False
        for r in reactions:
            if r.kind == "purchase" and message.price > 0 and not bought:
                bought, amount = True, Decimal(str(message.price))
                fan.total_spent += amount
                fan.save(update_fields=["total_spent"])
                record_outcome(fan, Outcome.Event.PURCHASED, amount=amount, action=action, pinned=True)
                if fan.state != FanState.BUYER and can_transition(fan.state, FanState.BUYER):
                    transition(fan, FanState.BUYER, "fan purchases")
                result.revenue += message.price
            elif r.kind == "tip" and r.amount and r.amount > 0:
                amount = Decimal(str(r.amount)).quantize(Decimal("0.01"))
                fan.total_spent += amount
                fan.save(update_fields=["total_spent"])
                record_outcome(fan, Outcome.Event.TIPPED, amount=amount)
                result.tips += float(amount)
        if any(r.kind in ("purchase", "tip") for r in reactions):
            update_whale_score(fan)  # as intake's on_purchase / on_tip
        return bought

    def _fan_wrote(self, creator, fan, text: str) -> bool:
        """The fan's message as intake.on_message books it; False when the bot must not answer (safety)."""
        fan.messages_received += 1
        record_outcome(fan, Outcome.Event.REPLIED)
        if fan.state in REENGAGE_ON_MESSAGE:
            transition(fan, FanState.ENGAGED, "fan replies" if fan.state != FanState.DORMANT else "fan re-engages")
        answer = not safety.screen_message(creator, fan, text)
        if answer:
            fan.signals = sorted(set(fan.signals) | detect(creator, text))
        fan.save(update_fields=["messages_received", "signals"])
        if answer:
            update_whale_score(fan)  # as intake.on_message (10+ messages, an emotional fan)
        return answer

    def _value_offer(self, model, simfan, message, result: Result):
        """What the fan's true odds say this PPV was worth, and what each fixed (price, hook) would have been."""
        if result.expected is None:
            return
        odds = partial(model.purchase_probability, simfan)
        result.expected += message.price * odds(message)
        for arm in self.arms:
            value = arm[0] * odds(replace(message, price=arm[0], hook=arm[1]))
            result.arm_value[arm] = result.arm_value.get(arm, 0.0) + value

    @staticmethod
    def _value_choices(model, simfan, message, choices: dict, result: Result):
        """The truth off-policy evaluation is checked against (learning.offpolicy): what each policy's offer
        in this very context was worth by the fan's true odds (price × P(buy)), summed per policy."""
        if result.expected is None:
            return
        for policy, (price, hook, content_key) in choices.items():
            offer = replace(message, price=float(price), hook=hook or None, content_key=content_key or None)
            acc = result.policy_truth.setdefault(policy, [0.0, 0])
            acc[0] += float(price) * model.purchase_probability(simfan, offer)
            acc[1] += 1

    @staticmethod
    def _read_books(creator, result: Result):
        """What the rows say: every Action's router row, and the PPV books the report shows."""
        actions = Action.objects.filter(creator=creator)
        result.routes = Counter(actions.values_list("route", flat=True))
        result.decisions = sum(result.routes.values())
        ppvs = actions.filter(action=Action.Kind.PPV)
        result.offers, result.explored = ppvs.count(), ppvs.filter(explored=True).count()
        result.conversions = ppvs.filter(purchased=True).count()
        paid = Outcome.objects.filter(creator=creator, event=Outcome.Event.PURCHASED).aggregate(s=Sum("amount"))
        result.revenue = float(paid["s"] or 0)


def _checked(reactions, model) -> list:
    """A fan model's reactions, refused with a clear error unless each is a Reaction (reply, purchase, tip)."""
    reactions = list(reactions or [])
    for r in reactions:
        if getattr(r, "kind", None) not in REACTION_KINDS:
            raise FanModelError(
                f"{type(model).__name__}.react returned {r!r}: expected sim.fan_model.Reaction "
                f"objects (reply, purchase, tip)"
            )
    return reactions


def simulate(
    n_fans: int, seed: int, policies=tuple(POLICIES), *, fan_model=None, taste: float = 1.0, progress=None, **knobs
) -> dict[str, Result]:
    """Run each policy on the same fans (the same hidden preferences and the same random streams per fan).
    fan_model: a FanModel class; taste: the built-in audience's concentration (sim.fan_model.audience_taste)."""
    sim = Simulation(n_fans, seed, fan_model=fan_model or partial(DemoFans, taste=taste), **knobs)
    return {p: sim.run(p, progress) for p in policies}


class FanModelError(ValueError):
    """A --fan-model spec that cannot be used; the message says why."""


def load_fan_model(spec: str):
    """'path/to/file.py:Class' or 'package.module:Class' -> the class, checked against sim.fan_model.FanModel."""
    where, sep, name = spec.rpartition(":")
    if not sep or not where or not name:
        raise FanModelError(f"'{spec}' is not FILE.py:Class or package.module:Class")
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = Path(where).expanduser().resolve()
        if not path.is_file():
            raise FanModelError(f"no such file: {where}")
        module_spec = importlib.util.spec_from_file_location(f"sim_fan_model_{abs(hash(path))}", path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_spec.name] = module
        try:
            module_spec.loader.exec_module(module)
        except Exception as e:
            del sys.modules[module_spec.name]
            raise FanModelError(f"{where} failed to load: {type(e).__name__}: {e}") from e
    else:
        try:
            module = importlib.import_module(where)
        except Exception as e:
            raise FanModelError(f"cannot import {where}: {type(e).__name__}: {e}") from e
    cls = getattr(module, name, None)
    if cls is None:
        raise FanModelError(f"{where} has no {name}")
    if not isinstance(cls, type):
        raise FanModelError(f"{where}:{name} is not a class")
    missing = missing_methods(cls)
    if missing:
        raise FanModelError(
            f"{where}:{name} does not implement the fan model interface (sim.fan_model.FanModel):"
            f" missing {', '.join(missing)}"
        )
    return cls


def text_progress(stream=sys.stderr, width=30):
    """A plain progress bar on stderr: `bayes [##########----------] 2500/5000`."""

    def show(label, done, total):
        filled = int(width * done / total)
        stream.write(f"\r{label:>6} [{'#' * filled}{'-' * (width - filled)}] {done}/{total}")
        if done == total:
            stream.write("\n")
        stream.flush()

    return show


def plot(results_by_policy: dict, path: str, title: str = "") -> str:
    """Cumulative revenue over fans (left) and revenue per fan in windows of fans (right), per policy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for policy, result in results_by_policy.items():
        cum = result.cumulative
        left.plot(range(1, len(cum) + 1), cum, label=f"{policy} (${cum[-1]:,.0f})" if cum else policy)
        window = max(len(cum) // 20, 1)
        xs = list(range(window, len(cum) + 1, window))
        right.plot(
            xs,
            [(cum[x - 1] - (cum[x - window - 1] if x > window else 0)) / window for x in xs],
            marker=".",
            label=policy,
        )
    left.set(xlabel="fans", ylabel="cumulative PPV revenue ($)", title="Revenue over time")
    right.set(xlabel="fans", ylabel="revenue per fan ($)", title="Revenue per fan, moving window")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
