"""In-process fan simulator: simulated fans through the project's real decision code, fast.

Why: to measure whether a PPV policy earns more, thousands of conversations are needed, and the live
simulation (webhooks, HTTP, django-q) manages hundreds. Here the router (salesbot.pipeline.router), the rule
steps (salesbot.pipeline.replies over salesbot.pipeline.rules, including the LLM stand-in on the LLM's rows,
never a line twice to a fan) and the safety screen run unchanged on an unsaved Fan; the fans are
sim.fan_model's, with hidden preferences. Only the PPV chooser differs between policies:

  static  the playbook's ladder: entry price for a $0 fan, the item's price after, template hook.
  seed    what the seed's "stats override your instincts" does: greedy on raw conversion rates
          (pooled over all fans, no sample-size guard, never tries anything new).
  bayes   offers.choose_offer, the rule engine's own choice, with the creator's exploration knobs.

Outcomes are learnt in memory with the functions production uses (learning.bayes via offers.Evidence),
so nothing is written; the demo creator itself is built in memory (demo_creator), never saved.
"""
import json
import random
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from fans.models import Fan
from fans.state_machine import FanState
from learning import bayes
from models_registry.models import Creator, PlaybookSection, ResponseTemplate, VaultItem
from models_registry.services import parse_playbook, validate_content_map
from salesbot.pipeline import offers, repeats, replies, router, rules, safety, sender
from salesbot.pipeline.decisions import Context
from salesbot.pipeline.signals import detect
from sim import fan_model

POLICIES = ("static", "seed", "bayes")
DAYS = 30                      # the simulated fans subscribe evenly over this many days


@dataclass
class SimContext(Context):
    """A Context that carries what live decisions read from the database."""
    evidence: offers.Evidence | None = None
    last_sent: object = None
    choose_offer: object = None


@dataclass
class LastSent:
    action: str
    purchased: bool = False


class Learner:
    """Purchase counts per cell, exposed as the offers.Evidence the rule engine reads."""

    def __init__(self, creator):
        self.counts: dict = {}
        self.evidence = offers.Evidence(price={s: {} for s in ("new", "buyer", *offers.CONTEXTS)},
                                       min_sample=creator.min_sample, explore=creator.exploration_enabled,
                                       share=creator.exploration_share)

    def observe(self, context: str, price, hook: str, content: str, bought: bool):
        """One PPV's outcome, counted in its context's price cell and its parent segment's (as the stats do)."""
        key, segments = offers.price_key(price), dict.fromkeys((context, offers.parent(context)))
        for table, name, cells in (*(("price:" + s, key, self.evidence.price.setdefault(s, {})) for s in segments),
                                   ("pooled", key, None), ("hook", hook, self.evidence.hook),
                                   ("content", content, self.evidence.content)):
            c = self.counts.setdefault((table, name), [0, 0])
            c[0] += 1
            c[1] += bought
            if cells is not None:
                cells[name] = (*bayes.posterior(c[0], c[1]), c[0])

    def raw_rate(self, table: str, name: str):
        sent, bought = self.counts.get((table, name), (0, 0))
        return bought / sent if sent else None


def static_chooser(c: offers.Candidates, evidence, seg, rng) -> offers.Offer:
    return offers.Offer(price=c.default_price, hook=c.default_hook, item=c.items[0])


def seed_chooser(learner: Learner):
    """The seed's reading of its stats: the best raw rate among what has been tried, however little."""
    def best(options, table, key, default):
        rated = [(learner.raw_rate(table, key(o)), -i) for i, o in enumerate(options)]
        rated = [r for r in rated if r[0] is not None]
        return options[-max(rated)[1]] if rated else default

    def choose(c: offers.Candidates, evidence, seg, rng) -> offers.Offer:
        return offers.Offer(price=best(c.prices, "pooled", offers.price_key, c.default_price),
                           hook=best(c.hooks, "hook", str, c.default_hook),
                           item=best(c.items, "content", lambda v: v.content_key, c.items[0]))
    return choose


@dataclass
class Result:
    policy: str
    fans: int = 0
    offers: int = 0
    explored: int = 0
    conversions: int = 0
    revenue: float = 0.0
    tips: float = 0.0
    expected: float = 0.0          # Σ price × true purchase probability of the offers made
    arm_value: dict = field(default_factory=dict)   # (price, hook) -> Σ its expected revenue on the same offers
    cumulative: list = field(default_factory=list)  # revenue after each fan

    @property
    def revenue_per_fan(self) -> float:
        return self.revenue / self.fans if self.fans else 0.0

    @property
    def best_fixed(self) -> tuple:
        """The single (price, hook) that would have earned most on the same offers, in hindsight."""
        return max(self.arm_value.items(), key=lambda kv: kv[1]) if self.arm_value else ((None, None), 0.0)

    @property
    def regret(self) -> float:
        return self.best_fixed[1] - self.expected

    def lines(self) -> list[str]:
        (price, hook), best = self.best_fixed
        share = f"{100 * self.regret / best:.1f}%" if best else "n/a"
        return [
            f"policy:            {self.policy}",
            f"fans:              {self.fans}",
            f"PPVs sent:         {self.offers} ({self.explored} exploring)",
            f"conversions:       {self.conversions} ({100 * self.conversions / max(self.offers, 1):.1f}%)",
            f"revenue:           ${self.revenue:,.2f} (+ ${self.tips:,.2f} tips)",
            f"revenue per fan:   ${self.revenue_per_fan:.3f}",
            f"expected revenue:  ${self.expected:,.2f} (Σ price × true purchase odds of the PPVs sent)",
            f"best fixed policy: ${best:,.2f} (${price} with '{hook}' on every one of those PPVs)",
            f"regret:            ${self.regret:,.2f} ({share} of the best fixed policy)",
        ]


class Simulation:
    """One audience (fans + taste) for a seed; run() plays it through one policy."""

    def __init__(self, creator, n_fans: int, seed: int, *, taste: float = 1.0, max_turns: int = 30):
        self.creator, self.seed, self.max_turns = creator, seed, max_turns
        weights = fan_model.audience_taste(random.Random(f"{seed}:taste"), taste) if taste else (None, None)
        self.hook_weights, self.content_weights = weights
        self.fans = fan_model.make_fans(random.Random(seed), n_fans, hook_weights=weights[0],
                                        content_weights=weights[1])
        self.media = {v.content_key: v.media_ids for v in creator.vault_items.all()}
        self.paid = {v.content_key for v in creator.vault_items.all() if v.default_price is not None}
        self.arms = [(float(p), h) for p in offers.offer_candidates(creator, list(creator.vault_items.all()),
                                                                    creator.entry_price, "vulnerability").prices
                     for h in offers.HOOK_LINES]
        self.detect = lru_cache(maxsize=None)(lambda text: frozenset(detect(creator, text)))

    def run(self, policy: str, progress=None) -> Result:
        learner = Learner(self.creator)
        chooser = {"static": static_chooser, "seed": seed_chooser(learner), "bayes": offers.choose_offer}[policy]
        result = Result(policy)
        for i, simfan in enumerate(self.fans):
            hour = int(i * DAYS * 24 / len(self.fans)) % 24
            self._play(_fresh(simfan), hour, learner, chooser, result)
            result.fans += 1
            result.cumulative.append(round(result.revenue, 2))
            if progress and ((i + 1) % 100 == 0 or i + 1 == len(self.fans)):
                progress(policy, i + 1, len(self.fans))
        return result

    def _play(self, sf, hour: int, learner: Learner, chooser, result: Result):
        """One fan's conversation: welcome, then answer each reply; one bump after an unbought PPV."""
        rng = random.Random(f"{self.seed}:{sf.id}:fan")
        fan = Fan(id=sf.id, creator=self.creator, fan_id=sf.id, name=sf.name, state=FanState.NEW,
                  total_spent=Decimal("0"), content_sent=[], signals=[])
        reason, text, last, bumped, lines = "welcome", "", None, False, set()
        if fan_model.opens_conversation(sf, rng):
            reason, text = "message", fan_model.opening_message(sf, rng)
            if not self._fan_wrote(fan, text):
                return
        for msg_id in range(1, self.max_turns + 1):
            ctx = SimContext(creator=self.creator, fan=fan, reason=reason, last_text=text,
                             signals=set(self.detect(text)) if text else set(), evidence=learner.evidence,
                             last_sent=last, choose_offer=chooser, sent_lines=lines)
            row, step = router.route(ctx)
            if step == "skip":
                return
            try:
                d = replies.decide(ctx, step)
                if d.action == "ppv" and fan.total_spent >= self.creator.daily_spend_cap:
                    d = rules.text_decision(ctx, rules.K.AFTERCARE, reason="24h spend cap reached")
            except rules.NoFreshLine:
                return  # the fan had every fitting line: the bot waits, and this fan has nothing to answer
            lines.add(repeats.normalise(d.text, fan.name))
            fan.event_seq += 1
            reactions = self._send(sf, fan, d, msg_id, hour, rng, learner, result)
            bought = any(r.kind == "purchase" for r in reactions)
            last = LastSent(d.action, bought)
            said = [r for r in reactions if r.kind == "reply"]
            if said:
                reason, text = "message", said[0].text
                if not self._fan_wrote(fan, text):
                    return
            elif d.action == "ppv" and not bought and not bumped:
                reason, text, bumped = "bump", "", True
            else:
                return

    def _send(self, sf, fan, d, msg_id, hour, rng, learner, result) -> list:
        """Deliver one decision, book the fan's reactions, and learn from a PPV's outcome."""
        ppv, seg = d.action == "ppv", d.extra.get("segment") or offers.segment(fan.total_spent)
        msg = {"id": msg_id, "text": d.text, "mediaFiles": self.media.get(d.content_key, []),
               "price": float(d.price) if ppv else 0, "hook": d.hook or None, "content_key": d.content_key or None}
        fan.messages_sent += 1
        if d.content_key:
            fan.content_sent = fan.content_sent + [d.content_key]
        fan.state = sender.state_after_send(fan.state, d.action) or fan.state
        reactions = fan_model.react(sf, msg, rng, hour=hour)
        bought = any(r.kind == "purchase" for r in reactions)
        for r in reactions:
            if r.kind in ("purchase", "tip"):
                fan.total_spent += Decimal(str(r.amount))
                fan.state = FanState.BUYER
                if r.kind == "tip":
                    result.tips += r.amount
        if ppv:
            learner.observe(seg, d.price, d.hook, d.content_key, bought)
            result.offers += 1
            result.explored += bool(d.extra.get("explored"))
            result.conversions += bought
            result.revenue += float(d.price) if bought else 0.0
            result.expected += float(d.price) * fan_model.purchase_probability(sf, d.price, d.hook, d.content_key,
                                                                               hour)
            for arm in self.arms:
                value = arm[0] * fan_model.purchase_probability(sf, arm[0], arm[1], d.content_key, hour)
                result.arm_value[arm] = result.arm_value.get(arm, 0.0) + value
            fan.last_ppv_price = d.price
        return reactions

    def _fan_wrote(self, fan, text: str) -> bool:
        """The intake's books and safety screen for one fan message; False when the bot must stop."""
        fan.messages_received += 1
        if safety.handoff_reason(self.creator, text):
            fan.state = FanState.HANDED_OFF
            return False
        if safety.wants_out(text):
            fan.opted_out = True
            return False
        fan.signals = sorted(set(fan.signals) | self.detect(text))
        return True


def _fresh(simfan):
    """A copy with its hidden preferences and no history, so every policy meets the same fan."""
    return fan_model.SimFan(**{k: v for k, v in vars(simfan).items()
                               if k not in ("purchased", "total_spent", "replies", "stopped")})


def _prefetched(instance, name: str, objects: list):
    """Fill a reverse relation's prefetch cache, so `creator.vault_items.all()` reads memory, not the database."""
    queryset = getattr(type(instance), name).rel.related_model.objects.none()
    queryset._result_cache, queryset._prefetch_done = list(objects), True
    instance._prefetched_objects_cache = {**getattr(instance, "_prefetched_objects_cache", {}), name: queryset}


def demo_creator(content_map=None, playbook=None, **knobs) -> Creator:
    """The demo creator (content map + playbook, validated like onboarding) built in memory, never saved:
    a simulation writes nothing and holds no database lock however long it runs; `knobs` are Creator
    fields (min_sample, exploration_share, …)."""
    content_map = content_map or settings.BASE_DIR / "demo/content-map.json"
    data = json.loads(Path(content_map).read_text(encoding="utf-8"))
    errors = validate_content_map(data)
    if errors:
        raise ValueError("; ".join(errors))
    sections = parse_playbook(Path(playbook or settings.BASE_DIR / "demo/playbook.md").read_text(encoding="utf-8"))
    fields = {k: v for k, v in data.get("creator", {}).items() if k not in ("slug", "account_id", "display_name")}
    creator = Creator(id=-1, slug="simulated", account_id="acct_simulated", display_name="Simulated creator",
                      **{**fields, **knobs})
    for name in ("ppv_min_price", "ppv_max_price", "entry_price", "daily_spend_cap", "custom_approval_limit"):
        setattr(creator, name, Decimal(str(getattr(creator, name))))
    creator.restricted_words = creator.restricted_words or data.get("restricted_words", [])
    _prefetched(creator, "vault_items", [
        VaultItem(creator=creator, content_key=v["content_key"], kind=v.get("kind", "photo"),
                  media_ids=v.get("media_ids", []), ladder_tier=v.get("tier", 1),
                  default_price=None if v.get("price") is None else Decimal(str(v["price"])))
        for v in data["vault"]])
    _prefetched(creator, "templates", [
        ResponseTemplate(creator=creator, kind=kind, variants=t["variants"], content_key=t.get("content_key", ""),
                         hook=t.get("hook", "")) for kind, t in data.get("templates", {}).items()])
    _prefetched(creator, "playbook_sections", [
        PlaybookSection(creator=creator, number=x.number, title=x.title, body=x.body, serves_states=x.serves_states)
        for x in sections])
    return creator


def simulate(n_fans: int, seed: int, policies=POLICIES, *, taste: float = 1.0, progress=None,
             **knobs) -> dict[str, Result]:
    """Run each policy on the same fans (the same hidden preferences and the same random streams per fan)."""
    sim = Simulation(demo_creator(**knobs), n_fans, seed, taste=taste)
    return {p: sim.run(p, progress) for p in policies}


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
        right.plot(xs, [(cum[x - 1] - (cum[x - window - 1] if x > window else 0)) / window for x in xs],
                   marker=".", label=policy)
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
