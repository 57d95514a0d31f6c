"""Holdout experiments: does the learning earn more than the playbook would have? (issue #13)

Assignment. Staff start an experiment with a control share (models_registry.Experiment; start/stop below).
Every fan who subscribes after it started (Fan.created_ts >= started_at) is assigned once, on the first
thing recorded or decided for them (arm_of), to `control` with probability control_share, else to
`learning`. The draw (learning.assignment) is a hash of (experiment id, platform fan id), so it is sticky
and the same whatever process asks first; the conditional UPDATE writes it only if no arm is set yet. Fans
who were there before the experiment started are in no arm, are served as the creator's offer_policy says
and are not in the results. The arm is kept on the fan (Fan.arm, Fan.experiment) and on each Action recorded
while its experiment runs (learning.services.record_action): after a stop, new actions carry no arm.

Control behaviour. While the experiment runs, a control fan's rule-engine PPVs are the playbook ladder
(salesbot.pipeline.offers.load_evidence: the ladder policy, no stats read, no exploration) and the LLM's
prompt gets no [STATS] block (cold-start text). Everything else (router, contact rule, safety, the 24h
spend cap, the sender's last gate) is the same for both arms.

Stats separation. The learning statistics (/learning/stats, the [STATS] block, the offers' posteriors)
leave out control-arm actions entirely: learning.stats.cells.action_cells gives them no counter cells and
learning.stats.from_rows.counted() filters them out, so the counters and the reference row queries agree and
`rebuild_learning_stats --check` holds. The control arm therefore never teaches the learning arm, and the
learned prices are not diluted by ladder sends. Per-fan figures not read by decisions (totals.outcomes,
avg_msgs_to_first_buy) stay over all fans. The control arm's own numbers are read here, from the rows.

Results (results()), per arm, over the experiment's window (started_at .. stopped_at or now):
  fans                 fans assigned to the arm
  revenue per fan      PPV purchases / fans (the revenue the offer policy moves; tips, mostly a few whales'
                       and barely moved by a price, would only add noise: shown apart as tips_per_fan).
                       Interval: normal approximation of each arm's mean
                       (sample variance / n; revenue is skewed, so it needs some fans: see ENOUGH), and for
                       the difference learning − control; P(learning > control) = Φ(diff / se); the relative
                       lift (learning / control − 1) by the delta method.
  PPV conversion       bought / PPVs sent (counted statuses): Beta(1 + bought, 1 + not bought) posterior,
                       90% credible interval; P(learning > control) from DRAWS paired posterior draws.
  ghost rate           ghosted / counted actions, same Beta treatment (here "beats" = ghosts less).
Too few fans or PPVs in either arm and the verdict says so instead of naming a winner.

Hygiene (issue 24, learning.experiment_checks): a sample-ratio-mismatch test (p < 0.001: the results are
marked untrustworthy and the verdict says only that); every difference and lift also gets an always-valid
90% interval (an asymptotic confidence sequence) and the verdict names a winner only from it, so looking
every day is safe; revenue is net (a sale taken back is no longer a purchase); an experiment over all fans
(population "all") also reports the CUPED-adjusted difference on each fan's spend before the start;
guardrails (opt-outs, safety handoffs, expiries, chargebacks per fan) breach beyond the harm limit and stop
the experiment when it was started with stop_on_harm (enforce_guardrails, on a schedule and on each read of
the results pages).
"""

import logging
import math
import random
from collections.abc import Mapping
from statistics import NormalDist
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

import sqlonce
from fans.models import Fan
from learning import assignment, bayes
from learning import experiment_checks as checks
from learning.models import Action, Outcome
from learning.stats.cells import COUNTED_STATUSES
from models_registry.models import Experiment

log = logging.getLogger(__name__)

LEARNING, CONTROL = Experiment.Arm.LEARNING.value, Experiment.Arm.CONTROL.value
ARMS = (LEARNING, CONTROL)
LEVEL = 0.90
Z = NormalDist().inv_cdf(0.5 + LEVEL / 2)  # 1.645
ENOUGH = {"fans": 30, "ppvs": 20}  # per arm, before a verdict is given
DRAWS = 4000


class ExperimentError(ValueError):
    pass


# --- starting, stopping, assignment ------------------------------------------------------------------


def running(creator) -> Experiment | None:
    return _running(creator.pk)


def _running(creator_id) -> Experiment | None:
    return Experiment.objects.filter(creator_id=creator_id, stopped_at__isnull=True).first()


def _who(by) -> tuple[str, User | None]:
    """`by` is a user (admin, ops API: recorded as the user and by name) or a name (scripts, the simulator)."""
    if getattr(by, "is_authenticated", False) and getattr(by, "pk", None) is not None:
        return by.get_username()[:150], by
    return str(by or "")[:150], None


def start(
    creator,
    control_share: float = 0.2,
    by="",
    *,
    population: str = "new",
    harm_limit: float = 0.02,
    stop_on_harm: bool = False,
) -> Experiment:
    """Start a holdout experiment; refused while one runs or with a share outside 0.01..0.99. `by`: the user
    (or a name) who starts it; `population`: "new" (fans who subscribe after the start) or "all" (every fan of
    the creator, each fan's earlier spend then used by CUPED); guardrails breach beyond `harm_limit` and stop
    the experiment when `stop_on_harm`."""
    if population not in ("new", "all"):
        raise ExperimentError('population must be "new" or "all"')
    try:
        harm = float(harm_limit)
    except (TypeError, ValueError):
        raise ExperimentError("harm_limit must be a number between 0 and 1") from None
    if not 0 <= harm <= 1:
        raise ExperimentError("harm_limit must be between 0 and 1")
    try:
        share = float(control_share)
    except (TypeError, ValueError):
        raise ExperimentError("control_share must be a number between 0.01 and 0.99") from None
    if not 0.01 <= share <= 0.99 or math.isnan(share):
        raise ExperimentError("control_share must be between 0.01 and 0.99")
    already = ExperimentError("an experiment is already running for this creator: stop it first")
    name, user = _who(by)
    try:
        with transaction.atomic():
            if running(creator):
                raise already
            exp = Experiment.objects.create(
                creator=creator,
                control_share=share,
                started_by=name,
                started_by_user=user,
                population=population,
                harm_limit=harm,
                stop_on_harm=bool(stop_on_harm),
            )
    except IntegrityError:  # another request started one at the same instant (one running per creator)
        raise already from None
    log.info("holdout experiment %s started for %s by %s: control share %.2f", exp.pk, creator.slug, name or "?", share)
    return exp


def stop(creator, by="", reason: str = "") -> Experiment | None:
    """Stop the running experiment (its fans keep their arm, its results stay); None when none runs."""
    exp = running(creator)
    if exp is None:
        return None
    exp.stopped_by, exp.stopped_by_user = _who(by)
    exp.stopped_at = timezone.now()
    exp.stop_reason = reason[:200]
    exp.save(update_fields=["stopped_at", "stopped_by", "stopped_by_user", "stop_reason"])
    log.info("holdout experiment %s stopped for %s by %s", exp.pk, creator.slug, exp.stopped_by or "?")
    return exp


def arm_of(fan) -> str:
    """The fan's arm in the creator's running experiment ("" when none runs or the fan is in none),
    assigning a fan who subscribed after it started on first ask. One query (the running experiment, read
    fresh so a stop takes effect at once); an assignment adds a conditional UPDATE. Updates `fan` in place."""
    exp = _RUNNING.first(fan.creator_id)
    if exp is None:
        return ""
    exp_id, population, started_at, control_share = exp
    if fan.arm:
        return fan.arm if fan.experiment_id == exp_id else ""
    if fan.pk is None or (population == "new" and fan.created_ts < started_at):
        return ""
    arm = assignment.arm(exp_id, fan.fan_id, control_share)
    if not Fan.objects.filter(pk=fan.pk, arm="").update(arm=arm, experiment_id=exp_id):
        arm, fan.experiment_id = Fan.objects.filter(pk=fan.pk).values_list("arm", "experiment_id").get()
        fan.arm = arm
        return arm if fan.experiment_id == exp_id else ""
    fan.arm, fan.experiment_id = arm, exp_id
    return arm


# The running experiment's fields arm_of reads, for every action the bot records (sqlonce: compiled once).
_RUNNING = sqlonce.select(
    lambda creator_id: (
        Experiment.objects.filter(creator_id=creator_id, stopped_at__isnull=True)
        .order_by("-started_at", "-id")
        .values_list("pk", "population", "started_at", "control_share")[:1]
    ),
    int,
)


def in_control(fan) -> bool:
    """Serve this fan as the control arm: the playbook ladder, no learned stats, no exploration."""
    return arm_of(fan) == CONTROL


# --- results -----------------------------------------------------------------------------------------


def _mean_var(values: list[float]) -> tuple[float, float]:
    n = len(values)
    if not n:
        return 0.0, 0.0
    m = sum(values) / n
    return m, (sum((v - m) ** 2 for v in values) / (n - 1) if n > 1 else 0.0)


def _beta_block(hit: int, n: int) -> dict:
    a, b = bayes.posterior(n, hit)
    lo, hi = bayes.interval(a, b)
    return {
        "n": n,
        "hits": hit,
        "rate": round(hit / n, 4) if n else None,
        "mean": round(bayes.mean(a, b), 4),
        "interval_90": [round(lo, 4), round(hi, 4)],
    }


def _p_greater(block_l: dict, block_c: dict, rng: random.Random, lower_is_better=False) -> float:
    al, bl = bayes.posterior(block_l["n"], block_l["hits"])
    ac, bc = bayes.posterior(block_c["n"], block_c["hits"])
    wins = sum(
        (rng.betavariate(al, bl) < rng.betavariate(ac, bc))
        if lower_is_better
        else (rng.betavariate(al, bl) > rng.betavariate(ac, bc))
        for _ in range(DRAWS)
    )
    return round(wins / DRAWS, 3)


def _per_fan(exp: Experiment, end) -> dict:
    """{fan pk: {"arm", "revenue", "pre", guardrail flags}}: net PPV revenue in the window (a sale taken back is
    no longer `purchased`), net spend before the start (purchases and tips), and the harm flags."""
    fans = {
        f["pk"]: {
            "arm": f["arm"],
            "revenue": 0.0,
            "pre": 0.0,
            "opted_out": int(f["opted_out"]),
            "safety_handoff": int(f["safety_flag"]),
            "expired": int(f["subscription_status"] == "expired"),
            "chargeback": 0,
        }
        for f in Fan.objects.filter(experiment=exp, arm__in=ARMS).values(
            "pk", "arm", "opted_out", "safety_flag", "subscription_status"
        )
    }
    money = Outcome.objects.filter(fan__experiment=exp)
    for fan_id, s in (
        money.filter(event=Outcome.Event.PURCHASED, ts__gte=exp.started_at, ts__lte=end)
        .values("fan_id")
        .annotate(s=Sum("amount"))
        .values_list("fan_id", "s")
    ):
        fans[fan_id]["revenue"] = float(s or 0)
    for fan_id, s in (
        money.filter(event__in=[Outcome.Event.PURCHASED, Outcome.Event.TIPPED], ts__lt=exp.started_at)
        .values("fan_id")
        .annotate(s=Sum("amount"))
        .values_list("fan_id", "s")
    ):
        fans[fan_id]["pre"] = float(s or 0)
    for fan_id in (
        money.filter(event=Outcome.Event.REVERSED, ts__gte=exp.started_at, ts__lte=end)
        .values_list("fan_id", flat=True)
        .distinct()
    ):
        fans[fan_id]["chargeback"] = 1
    return fans


def results(exp: Experiment, now=None) -> dict:
    """Per-arm figures with 90% intervals and the comparison (see the module doc), with the checks of
    learning.experiment_checks: sample-ratio mismatch, always-valid intervals, CUPED, guardrails."""
    end = exp.stopped_at or now or timezone.now()
    per_fan = _per_fan(exp, end)
    tips = dict(
        Outcome.objects.filter(fan__experiment=exp, ts__gte=exp.started_at, ts__lte=end, event=Outcome.Event.TIPPED)
        .values("fan__arm")
        .annotate(s=Sum("amount"))
        .values_list("fan__arm", "s")
    )
    actions = (
        Action.objects.filter(
            creator_id=exp.creator_id,
            fan__experiment=exp,
            status__in=COUNTED_STATUSES,
            ts__gte=exp.started_at,
            ts__lte=end,
        )
        .exclude(arm="")
        .values("arm")
        .annotate(
            n=Count("pk"),
            ghosted=Count("pk", filter=Q(ghosted=True)),
            ppv=Count("pk", filter=Q(action=Action.Kind.PPV)),
            bought=Count("pk", filter=Q(action=Action.Kind.PPV, purchased=True)),
        )
    )
    acts = {r["arm"]: r for r in actions}
    arms, rows = {}, {}
    for arm in ARMS:
        rows[arm] = [f for f in per_fan.values() if f["arm"] == arm]
        values = [f["revenue"] for f in rows[arm]]
        m, var = _mean_var(values)
        se = math.sqrt(var / len(values)) if values else 0.0
        a: Mapping[str, Any] = acts.get(arm, {})
        arms[arm] = {
            "fans": len(values),
            "revenue": round(sum(values), 2),
            "tips_per_fan": round(float(tips.get(arm) or 0) / len(values), 4) if values else 0.0,
            "revenue_per_fan": {
                "mean": round(m, 4),
                "se": round(se, 4),
                "interval_90": [round(m - Z * se, 4), round(m + Z * se, 4)],
            },
            "ppv_conversion": _beta_block(a.get("bought", 0), a.get("ppv", 0)),
            "ghost_rate": _beta_block(a.get("ghosted", 0), a.get("n", 0)),
            "_mv": (m, var, len(values)),
        }
    L, C = arms[LEARNING], arms[CONTROL]
    (ml, vl, nl), (mc, vc, nc) = L.pop("_mv"), C.pop("_mv")
    enough = all(arms[a]["fans"] >= ENOUGH["fans"] and arms[a]["ppv_conversion"]["n"] >= ENOUGH["ppvs"] for a in ARMS)
    comparison: dict = {"enough_data": enough}
    if nl >= 2 and nc >= 2:
        diff, se = ml - mc, math.sqrt(vl / nl + vc / nc)
        comparison["revenue_per_fan_difference"] = {
            "mean": round(diff, 4),
            "interval_90": [round(diff - Z * se, 4), round(diff + Z * se, 4)],
            "always_valid_90": checks.confidence_sequence(diff, se, nl + nc, LEVEL),
        }
        comparison["p_learning_beats_control_revenue"] = (
            round(NormalDist().cdf(diff / se), 3) if se > 0 else (0.5 if diff == 0 else float(diff > 0))
        )
        if mc > 0:
            lift = ml / mc - 1
            se_lift = math.sqrt(vl / nl / mc**2 + ml**2 * vc / nc / mc**4)
            comparison["revenue_per_fan_lift"] = {
                "mean": round(lift, 4),
                "interval_90": [round(lift - Z * se_lift, 4), round(lift + Z * se_lift, 4)],
                "always_valid_90": checks.confidence_sequence(lift, se_lift, nl + nc, LEVEL),
            }
        y_l, x_l, y_c, x_c = [[f[k] for f in rows[arm]] for arm in ARMS for k in ("revenue", "pre")]
        cuped = checks.cuped(y_l, x_l, y_c, x_c, LEVEL)
        if cuped is not None:
            comparison["revenue_per_fan_difference_cuped"] = cuped
    rng = random.Random(f"experiment:{exp.pk}")
    comparison["p_learning_beats_control_conversion"] = _p_greater(L["ppv_conversion"], C["ppv_conversion"], rng)
    comparison["p_learning_ghosts_less"] = _p_greater(L["ghost_rate"], C["ghost_rate"], rng, lower_is_better=True)
    srm = checks.srm(nl, nc, exp.control_share)
    guard = checks.guardrails(
        {k: [f[k] for f in rows[LEARNING]] for k in checks.GUARDRAILS},
        {k: [f[k] for f in rows[CONTROL]] for k in checks.GUARDRAILS},
        exp.harm_limit,
        LEVEL,
    )
    comparison["verdict"] = verdict(comparison, arms, srm, guard)
    return {
        "id": exp.pk,
        "running": exp.running,
        "control_share": exp.control_share,
        "population": exp.population,
        "started_at": exp.started_at.isoformat(),
        "started_by": exp.started_by,
        "stopped_at": exp.stopped_at.isoformat() if exp.stopped_at else None,
        "stopped_by": exp.stopped_by,
        "stop_reason": exp.stop_reason,
        "level": LEVEL,
        "interval_method": INTERVAL_METHOD,
        "trustworthy": not srm["mismatch"],
        "srm": srm,
        "guardrails": guard,
        "guardrail_breached": sorted(k for k, g in guard.items() if g["breached"]),
        "harm_limit": exp.harm_limit,
        "stop_on_harm": exp.stop_on_harm,
        "arms": arms,
        "comparison": comparison,
    }


INTERVAL_METHOD = (
    "always_valid_90: asymptotic confidence sequence (Waudby-Smith et al. 2023, normal mixture, "
    f"tuned at {checks.TUNED_FANS} fans), valid however often it is looked at; interval_90: "
    "fixed-sample normal interval, valid only for one look"
)


def verdict(comparison: dict, arms: dict, srm: dict | None = None, guard: dict | None = None) -> str:
    if srm and srm["mismatch"]:
        return (
            f"Untrustworthy: sample-ratio mismatch (control {srm['observed_control']:.1%} of fans, planned "
            f"{srm['expected_control']:.0%}; p = {srm['p']:.2g} < {checks.SRM_P}). The assignment or the data is "
            f"broken: no result of this experiment should be read."
        )
    harm = sorted(k for k, g in (guard or {}).items() if g["breached"])
    prefix = f"Guardrail breached ({', '.join(harm)}). " if harm else ""
    if not comparison["enough_data"]:
        have = ", ".join(f"{a}: {arms[a]['fans']} fans, {arms[a]['ppv_conversion']['n']} PPVs" for a in ARMS)
        return prefix + (
            f"Not enough data yet ({have}); each arm needs at least {ENOUGH['fans']} fans and "
            f"{ENOUGH['ppvs']} PPVs before the figures say anything."
        )
    p = comparison.get("p_learning_beats_control_revenue")
    d = comparison.get("revenue_per_fan_difference") or {}
    diff, valid = d.get("interval_90"), d.get("always_valid_90")
    if p is None or diff is None or valid is None:  # the intervals come together
        return prefix + "No revenue comparison possible yet."
    if valid[0] > 0:
        return prefix + (
            f"Learning earns more per fan than the control (P = {p:.0%}; the always-valid 90% interval "
            f"of the difference is above 0, safe however often it was looked at)."
        )
    if valid[1] < 0:
        return prefix + f"Learning earns less per fan than the control (P(learning better) = {p:.0%})."
    if diff[0] > 0:
        return prefix + (
            f"Learning earns more per fan by the one-look interval (P = {p:.0%}), not yet by the "
            f"always-valid one: keep it running before deciding."
        )
    return prefix + f"No clear difference in revenue per fan yet (P(learning better) = {p:.0%}; the intervals span 0)."


def enforce_guardrails(exp: Experiment) -> list[str]:
    """Stop a running experiment whose guardrail is breached, when it was started with stop_on_harm;
    returns the breached guardrails (the django-q schedule and the results pages call it)."""
    if not exp.running:
        return []
    res = results(exp)
    breached = res["guardrail_breached"]
    if breached and exp.stop_on_harm:
        stop(
            exp.creator,
            by="guardrail",
            reason=f"guardrail breached: {', '.join(breached)} (harm limit {exp.harm_limit:.0%})",
        )
        log.warning("holdout experiment %s stopped: guardrail breached (%s)", exp.pk, ", ".join(breached))
    return breached


def check_all() -> int:
    """Every running experiment's guardrails; returns how many were stopped."""
    stopped = 0
    for exp in Experiment.objects.filter(stopped_at__isnull=True, stop_on_harm=True).select_related("creator"):
        stopped += bool(enforce_guardrails(exp)) and not Experiment.objects.get(pk=exp.pk).running
    return stopped


def report(creator) -> dict:
    """The running experiment's results (else the latest stopped one's), and the earlier ones' ids."""
    exps = list(Experiment.objects.filter(creator=creator).order_by("-started_at", "-id"))
    current = next((e for e in exps if e.running), exps[0] if exps else None)
    return {
        "running": bool(current and current.running),
        "experiment": results(current) if current else None,
        "earlier": [_summary(e) for e in exps if e is not current][:EARLIER],
    }


EARLIER = 10  # past experiments listed with their results


def _summary(e: Experiment) -> dict:
    res = results(e)
    diff = res["comparison"].get("revenue_per_fan_difference") or {}
    return {
        "id": e.pk,
        "control_share": e.control_share,
        "population": e.population,
        "started_at": e.started_at.isoformat(),
        "stopped_at": e.stopped_at.isoformat() if e.stopped_at else None,
        "stop_reason": e.stop_reason,
        "fans": {a: res["arms"][a]["fans"] for a in ARMS},
        "difference": diff.get("mean"),
        "always_valid_90": diff.get("always_valid_90"),
        "trustworthy": res["trustworthy"],
        "guardrail_breached": res["guardrail_breached"],
        "verdict": res["comparison"]["verdict"],
    }
