"""Beta-Binomial posteriors for conversion cells, in plain stdlib maths (scipy is not a dependency).

Why: a raw rate such as "2 of 6 = 33.3%" hides how little six PPVs say. With a Beta prior and
`bought` successes out of `sent`, the posterior of the conversion probability is
Beta(prior_a + bought, prior_b + sent - bought): its mean shrinks thin cells towards the prior, its
equal-tailed 90% credible interval shows how unsure we are, and one random draw from it is a Thompson
sample. Revenue per send is price × p, so its mean and interval are the conversion's times the price.

Prior: uniform Beta(1, 1) (PRIOR). It needs no data to set, never looks at other cells (so cells stay
independent and comparable) and is the prior of the closed-form checks; its pull (two pseudo-sends)
is gone after a handful of real sends. Counts may be fractional: time decay weights old sends less.
"""

import math
import random
from statistics import NormalDist

PRIOR = (1.0, 1.0)
LEVEL = 0.90
_EPS = 1e-15
_TINY = 1e-300
_Z = NormalDist()


def posterior(sent: float, bought: float, prior: tuple = PRIOR) -> tuple[float, float]:
    """(a, b) of the Beta posterior after `bought` purchases out of `sent` PPVs."""
    if sent < 0 or bought < 0 or bought > sent + 1e-9:
        raise ValueError(f"need 0 <= bought <= sent, got bought={bought} sent={sent}")
    return prior[0] + bought, prior[1] + max(sent - bought, 0.0)


def mean(a: float, b: float) -> float:
    return a / (a + b)


def _continued_fraction(a: float, b: float, x: float) -> float:
    """Lentz's evaluation of the incomplete beta continued fraction (Numerical Recipes §6.4)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            return h
    return h  # converged to double precision long before this for any realistic count


def cdf(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta I_x(a, b): P(p <= x) for p ~ Beta(a, b)."""
    if a <= 0 or b <= 0:
        raise ValueError("Beta parameters must be positive")
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _continued_fraction(a, b, x) / a
    return 1.0 - front * _continued_fraction(b, a, 1.0 - x) / b


def quantile(a: float, b: float, q: float) -> float:
    """The x with I_x(a, b) = q: Newton steps on the exact cdf from a normal-approximation start,
    inside a bracket that every evaluation narrows (a step leaving it bisects instead), so it always
    converges; stops when a step moves x by less than 1e-12, typically after 3-5 cdf evaluations
    where plain bisection to the same 1e-12 needed about 40."""
    if not 0.0 <= q <= 1.0:
        raise ValueError("q must lie in [0, 1]")
    if q in (0.0, 1.0):
        return q
    if a <= 0 or b <= 0:
        raise ValueError("Beta parameters must be positive")
    log_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    lo, hi = 0.0, 1.0
    x = _normal_start(a, b, q)
    for _ in range(200):
        f = cdf(a, b, x) - q
        if f == 0.0:
            return x
        if f < 0.0:
            lo = x
        else:
            hi = x
        log_pdf = log_norm + (a - 1.0) * math.log(x) + (b - 1.0) * math.log1p(-x)
        new = x - f / math.exp(log_pdf) if log_pdf > -700.0 else lo - 1.0
        if not lo < new < hi:
            new = (lo + hi) / 2
        if abs(new - x) < 1e-12 or hi - lo < 1e-12:
            return new
        x = new
    return x


def _normal_start(a: float, b: float, q: float) -> float:
    """Mean + z_q × sd of Beta(a, b), kept inside (0, 1): close enough for Newton to converge fast."""
    n = a + b
    mu = a / n
    x = mu + _Z.inv_cdf(q) * math.sqrt(a * b / (n * n * (n + 1.0)))
    return x if 0.0 < x < 1.0 else mu


def interval(a: float, b: float, level: float = LEVEL) -> tuple[float, float]:
    """Equal-tailed credible interval: (1 - level) / 2 of the posterior mass outside on each side."""
    tail = (1.0 - level) / 2
    return quantile(a, b, tail), quantile(a, b, 1.0 - tail)


def revenue_per_send(price: float, a: float, b: float, level: float = LEVEL) -> dict:
    """Expected money per PPV sent at `price`, with the interval (price × p is monotone in p)."""
    lo, hi = interval(a, b, level)
    price = float(price)
    return {"mean": round(price * mean(a, b), 2), "ci90": [round(price * lo, 2), round(price * hi, 2)]}


def variance(a: float, b: float) -> float:
    n = a + b
    return a * b / (n * n * (n + 1.0))


def prob_better(value: float, a: float, b: float, base_value: float, base_a: float, base_b: float) -> float:
    """P(value × p > base_value × q) for independent p ~ Beta(a, b), q ~ Beta(base_a, base_b): how sure the
    posteriors are that one option earns more per send than another (the revenue per send of a price, or a
    hook's conversion with value 1). A normal approximation of the difference, O(1) and deterministic; with
    a handful of sends on either side the spread is wide and the answer stays near 1/2, as it should."""
    diff = value * mean(a, b) - base_value * mean(base_a, base_b)
    sd = math.sqrt(value * value * variance(a, b) + base_value * base_value * variance(base_a, base_b))
    return _Z.cdf(diff / sd) if sd > 0 else float(diff > 0)


def thompson(rng: random.Random, a: float, b: float) -> float:
    """One draw of the conversion probability: Thompson sampling picks the arm whose draw is best."""
    return rng.betavariate(a, b)


def decay_weight(age_days: float, half_life_days: float | None) -> float:
    """0.5 ** (age / half_life): an event one half-life old counts half. None or 0 turns decay off."""
    if not half_life_days:
        return 1.0
    return 0.5 ** (max(age_days, 0.0) / float(half_life_days))


def cell(
    sent: int,
    bought: int,
    *,
    min_sample: int,
    price=None,
    weighted_sent: float | None = None,
    weighted_bought: float | None = None,
    prior: tuple = PRIOR,
) -> dict:
    """One statistics cell: raw counts, the (decayed) counts the posterior uses, mean, 90% interval,
    revenue per send where a price applies, and `thin` when the evidence is under min_sample sends."""
    n = float(sent if weighted_sent is None else weighted_sent)
    k = float(bought if weighted_bought is None else weighted_bought)
    a, b = posterior(n, k, prior)
    lo, hi = interval(a, b)
    out = {
        "sent": sent,
        "bought": bought,
        "effective_sent": round(n, 3),
        "effective_bought": round(k, 3),
        "alpha": round(a, 4),
        "beta": round(b, 4),
        "mean": round(mean(a, b), 4),
        "ci90": [round(lo, 4), round(hi, 4)],
        "thin": n < min_sample,
    }
    if price is not None:
        out["revenue_per_send"] = revenue_per_send(price, a, b)
    return out
