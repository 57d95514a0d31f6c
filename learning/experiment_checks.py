"""What an experimentation platform checks before it believes a holdout result (issue 24), in plain stdlib
maths so learning.experiments can report it beside the per-arm figures:

- Sample-ratio mismatch (srm): are the arms in the planned split? A chi-square goodness-of-fit test
  (1 degree of freedom); p < SRM_P (0.001, as GrowthBook and Statsig) marks the results untrustworthy: the
  assignment or the data is broken, and no lift read from it means anything.
- Always-valid intervals (confidence_sequence): the asymptotic confidence sequence of Waudby-Smith,
  Arbour, Sinha, Kennedy & Ramdas ("Time-uniform central limit theory and asymptotic confidence
  sequences", 2023), with Robbins' normal mixture, the one GrowthBook's sequential testing uses. It covers
  the true difference at every sample size at once with probability about `level`, so a manager may look
  every day and stop when it excludes 0. Tuned to be narrowest at TUNED_FANS fans.
- CUPED (cuped): the difference of means of Y − θ(X − mean X), with X each fan's spend before the
  experiment started and θ = cov(X, Y) / var(X) pooled over both arms (Deng, Xu, Kohavi & Walker 2013).
  X was fixed before assignment, so the estimate stays unbiased and its variance shrinks by corr(X, Y)².
  Only experiments that include fans who were already there have such an X.
- Guardrails (guardrails): per-fan harm rates (opted out, safety handoff, subscription expired, a sale
  taken back); breached when the always-valid interval of (learning − control) lies above the harm limit.
"""

import math
from statistics import NormalDist

SRM_P = 0.001
TUNED_FANS = 1000
GUARDRAILS = ("opted_out", "safety_handoff", "expired", "chargeback")


def srm(n_learning: int, n_control: int, control_share: float) -> dict:
    """Chi-square test of the observed split against the planned one."""
    n = n_learning + n_control
    if n == 0:
        return {"p": None, "mismatch": False, "expected_control": control_share}
    exp_c, exp_l = n * control_share, n * (1 - control_share)
    chi2 = (n_control - exp_c) ** 2 / exp_c + (n_learning - exp_l) ** 2 / exp_l
    p = math.erfc(math.sqrt(chi2 / 2))  # survival function of chi-square with 1 df
    return {
        "p": round(p, 6),
        "mismatch": p < SRM_P,
        "expected_control": control_share,
        "observed_control": round(n_control / n, 4),
        "chi2": round(chi2, 3),
    }


def cs_radius(se: float, n: int, level: float, tuned: int = TUNED_FANS) -> float:
    """Half-width of the asymptotic confidence sequence for an estimate with standard error `se` from `n` units:
    σ̂·sqrt(2(nρ²+1)/(n²ρ²)·log(sqrt(nρ²+1)/α)) with σ̂ = se·√n and ρ tuned to `tuned` units."""
    if n <= 0 or se <= 0:
        return 0.0
    alpha = 1 - level
    rho2 = (-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / tuned
    t = n * rho2
    return se * math.sqrt(2 * (t + 1) / t * math.log(math.sqrt(t + 1) / alpha))


def confidence_sequence(estimate: float, se: float, n: int, level: float) -> list[float]:
    r = cs_radius(se, n, level)
    return [round(estimate - r, 4), round(estimate + r, 4)]


def _mean(v):
    return sum(v) / len(v) if v else 0.0


def _var(v):
    m = _mean(v)
    return sum((x - m) ** 2 for x in v) / (len(v) - 1) if len(v) > 1 else 0.0


def _cov(x, y):
    mx, my = _mean(x), _mean(y)
    return sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True)) / (len(x) - 1) if len(x) > 1 else 0.0


def difference(y_l: list, y_c: list, level: float) -> dict:
    """Difference of means (learning − control) with its fixed-n normal interval and its always-valid one."""
    z = NormalDist().inv_cdf(0.5 + level / 2)
    diff = _mean(y_l) - _mean(y_c)
    se = math.sqrt(_var(y_l) / len(y_l) + _var(y_c) / len(y_c)) if len(y_l) > 1 and len(y_c) > 1 else 0.0
    return {
        "mean": round(diff, 4),
        "se": round(se, 4),
        "interval": [round(diff - z * se, 4), round(diff + z * se, 4)],
        "always_valid": confidence_sequence(diff, se, len(y_l) + len(y_c), level),
    }


def cuped(y_l: list, x_l: list, y_c: list, x_c: list, level: float) -> dict | None:
    """The CUPED-adjusted difference, or None when no fan has a pre-experiment spend (nothing to adjust by)."""
    x, y = x_l + x_c, y_l + y_c
    if len(x) < 3 or _var(x) <= 0:
        return None
    theta = _cov(x, y) / _var(x)
    mx = _mean(x)
    adj_l = [b - theta * (a - mx) for a, b in zip(x_l, y_l, strict=True)]
    adj_c = [b - theta * (a - mx) for a, b in zip(x_c, y_c, strict=True)]
    plain = _var(y)
    out = difference(adj_l, adj_c, level)
    out.update(
        {
            "theta": round(theta, 4),
            "variance_reduction": round(1 - _var(adj_l + adj_c) / plain, 4) if plain > 0 else 0.0,
            "fans_with_history": sum(1 for a in x if a > 0),
        }
    )
    return out


def guardrails(flags_l: dict, flags_c: dict, harm_limit: float, level: float) -> dict:
    """{metric: {learning, control, increase, always_valid, breached}} from per-fan 0/1 lists per metric."""
    out = {}
    for name in GUARDRAILS:
        a, b = flags_l.get(name, []), flags_c.get(name, [])
        if not a or not b:
            continue
        d = difference(a, b, level)
        out[name] = {
            "learning": round(_mean(a), 4),
            "control": round(_mean(b), 4),
            "increase": d["mean"],
            "always_valid": d["always_valid"],
            "harm_limit": harm_limit,
            "breached": d["always_valid"][0] > harm_limit,
        }
    return out
