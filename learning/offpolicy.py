"""Off-policy evaluation (issue 24): what would another offer policy have earned per offer, on the offers
already made? Every rule-engine PPV logs the probability its policy had of making it (Action.propensity:
exploration's coin and the Thompson draws included, salesbot.pipeline.offers) and what the ladder, the raw
rates and the learned policy without exploring would have offered instead (extra["policy_choices"]).

The target policies are deterministic given the logged context, so each logged offer either matches the
target's offer (weight 1 / propensity) or not (weight 0). Two estimators of revenue per offer, both net (a
sale taken back earns nothing):
  snips  self-normalised inverse propensity scoring: Σ w·r / Σ w; interval from its linearisation.
  dr     doubly robust: a reward model q(context, offer) = price × the Beta(1, 1) posterior mean conversion
         of (fan context, price) over the logs, plus the weighted residual of the offers the target would
         have made: mean of q(x, target) + w·(r − q(x, logged)); interval from the terms' standard error.
Written here in a few lines rather than with Open Bandit Pipeline or Vowpal Wabbit: both estimators are a
weighted mean, and those libraries would bring numpy/scikit-learn/pandas (or a C++ binary) for it.
"""

import math
from collections import defaultdict
from decimal import Decimal
from statistics import NormalDist

from learning.models import Action
from learning.stats.cells import COUNTED_STATUSES

POLICIES = ("ladder", "raw_rates", "learned")
LEVEL = 0.90


def logged_offers(creator, since=None) -> list[dict]:
    """The creator's rule-engine PPVs with a logged propensity: context, logged offer, targets, reward."""
    qs = (
        Action.objects.filter(
            creator=creator, action=Action.Kind.PPV, status__in=COUNTED_STATUSES, propensity__isnull=False
        )
        .exclude(arm="control")
        .order_by("ts", "seq")
    )
    if since is not None:
        qs = qs.filter(ts__gte=since)
    rows = []
    for a in qs.only("price", "hook", "content_key", "purchased", "propensity", "segment", "extra"):
        assert a.propensity is not None  # the query keeps only offers with a logged propensity
        extra = a.extra or {}
        logged = extra.get("offer") or [str(a.price), a.hook, a.content_key]
        rows.append(
            {
                "context": a.segment or "",
                "logged": [str(float(logged[0])), *logged[1:]],
                "choices": {k: [str(float(v[0])), *v[1:]] for k, v in (extra.get("policy_choices") or {}).items()},
                "p": float(a.propensity),
                "reward": float(_price(a)) if a.purchased else 0.0,
            }
        )
    return rows


def _price(a: Action) -> Decimal:
    assert a.price is not None  # a PPV is offered at a price
    return a.price


def _reward_model(rows) -> dict:
    counts: defaultdict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        acc = counts[(r["context"], r["logged"][0])]
        acc[0] += 1
        acc[1] += r["reward"] > 0
    return {k: (1 + hit) / (2 + n) for k, (n, hit) in counts.items()}


def estimate(rows: list[dict], policy: str) -> dict:
    """Revenue per offer the `policy` would have earned on the logged contexts, by SNIPS and DR, with intervals."""
    z = NormalDist().inv_cdf(0.5 + LEVEL / 2)
    used = [r for r in rows if policy in r["choices"] and r["p"] > 0]
    if not used:
        return {"policy": policy, "offers": 0, "error": f"no logged offer says what {policy} would have offered"}
    w = [float(r["logged"] == r["choices"][policy]) / r["p"] for r in used]
    rewards = [r["reward"] for r in used]
    out = {
        "policy": policy,
        "offers": len(used),
        "matched": sum(1 for x in w if x > 0),
        "level": LEVEL,
        "logged_revenue_per_offer": round(sum(rewards) / len(used), 4),
    }
    total = sum(w)
    if total > 0:
        v = sum(x * y for x, y in zip(w, rewards, strict=True)) / total
        se = math.sqrt(sum((x * (y - v)) ** 2 for x, y in zip(w, rewards, strict=True))) / total
        out["snips"] = {"estimate": round(v, 4), "interval": [round(v - z * se, 4), round(v + z * se, 4)]}
    conv = _reward_model(used)
    prior = sum(1 for r in used if r["reward"] > 0) / len(used)

    def q(context, offer):
        return float(offer[0]) * conv.get((context, offer[0]), prior)

    terms = [
        q(r["context"], r["choices"][policy]) + x * (r["reward"] - q(r["context"], r["logged"]))
        for r, x in zip(used, w, strict=True)
    ]
    m = sum(terms) / len(terms)
    sd = math.sqrt(sum((t - m) ** 2 for t in terms) / (len(terms) - 1)) if len(terms) > 1 else 0.0
    se = sd / math.sqrt(len(terms))
    out["dr"] = {"estimate": round(m, 4), "interval": [round(m - z * se, 4), round(m + z * se, 4)]}
    return out
