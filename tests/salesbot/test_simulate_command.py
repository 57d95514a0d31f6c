"""`manage.py simulate`: the in-process fan simulator, run as a user runs it (small audiences here).

The simulator runs the real engine in a throw-away database (sim.sandbox); the database access these
tests are granted is only there to prove it never touches the project's own database.
"""

import os
import subprocess
import sys
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from fans.models import Fan
from learning.models import Action, Outcome
from models_registry.models import Creator
from salesbot.pipeline import engine, router
from sim import policy as simulation

pytestmark = pytest.mark.django_db

FIELDS = (
    "policy:",
    "fans:",
    "decisions:",
    "PPVs sent:",
    "conversions:",
    "revenue:",
    "revenue per fan:",
    "best fixed policy:",
    "regret:",
)


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("simulate", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_all_policies_report_revenue_conversions_and_regret_with_a_progress_bar():
    out, err = run("--fans", "300", "--seed", "5")
    for policy in simulation.POLICIES:
        assert f"policy:            {policy}" in out
    lines = out.splitlines()
    for field in FIELDS:
        assert sum(line.startswith(field) for line in lines) == 3
    assert out.count("fans:              300") == 3  # every policy meets the same 300 fans
    assert "revenue vs static: static 1.000x, seed " in out
    assert "bayes [##############################] 300/300" in err


def test_same_seed_same_run_other_seed_other_fans():
    first, _ = run("--fans", "200", "--seed", "11", "--policy", "bayes", "--quiet")
    again, _ = run("--fans", "200", "--seed", "11", "--policy", "bayes", "--quiet")
    other, _ = run("--fans", "200", "--seed", "12", "--policy", "bayes", "--quiet")
    assert first == again
    assert first != other


def test_one_policy_prints_only_that_policy():
    out, err = run("--fans", "200", "--policy", "static", "--quiet")
    assert "policy:            static" in out and "bayes" not in out and "seed" not in out.replace("--seed", "")
    assert "(0 exploring)" in out and err == ""


def test_exploration_switch_off_never_explores():
    out, _ = run("--fans", "400", "--policy", "bayes", "--no-exploration", "--quiet")
    assert "(0 exploring)" in out


def test_full_exploration_explores_every_offer_once_there_is_evidence():
    # every cell stays thin (min_sample 200), so the share is the ceiling itself, never scaled down
    results = simulation.simulate(400, 3, ("bayes",), exploration_share=1.0, min_sample=200)
    bayes = results["bayes"]
    assert bayes.offers > 0
    assert bayes.offers - bayes.explored <= 1  # only the very first offer (cold start) exploits


def test_plot_draws_all_three_policies(tmp_path):
    path = tmp_path / "policies.png"
    out, _ = run("--fans", "200", "--policy", "bayes", "--plot", str(path), "--quiet")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"plot written to {path}" in out


@pytest.mark.parametrize("args", [("--fans", "0"), ("--exploration-share", "1.5")])
def test_bad_arguments_are_refused(args):
    with pytest.raises(CommandError):
        run(*args, "--quiet")


def test_revenue_books_add_up():
    """Revenue is the PPV prices bought; the cumulative curve ends at the total, one point per fan."""
    for result in simulation.simulate(300, 9).values():
        assert len(result.cumulative) == 300
        assert result.cumulative[-1] == pytest.approx(result.revenue)
        assert result.conversions <= result.offers
        assert result.revenue_per_fan == pytest.approx(result.revenue / 300)


# --- the real engine, in a throw-away database -------------------------------------------------------


@pytest.fixture
def decisions(monkeypatch):
    """Every (context, decision, fan's spend then) of engine.decide, the function the worker calls."""
    seen, real = [], engine.decide

    def spy(ctx):
        spent = ctx.fan.total_spent
        decision = real(ctx)
        seen.append((ctx, decision, spent))
        return decision

    monkeypatch.setattr(engine, "decide", spy)
    return seen


def test_every_decision_is_engine_decide_through_the_router_rows_recorded_on_actions(decisions):
    result = simulation.simulate(150, 2, ("bayes",))["bayes"]
    assert result.decisions == len(decisions) > 150  # one Action per engine.decide call
    assert sum(result.routes.values()) == result.decisions
    assert set(result.routes) <= {name for name, _, _ in router.ROUTES}
    assert {"welcome", "msg_1_2"} <= set(result.routes)
    assert result.routes == {row: sum(d.route == row for _, d, _ in decisions) for row in result.routes}


def test_each_policy_is_a_creator_setting_of_the_real_engine(decisions):
    simulation.simulate(60, 3)
    assert {ctx.creator.slug: ctx.creator.offer_policy for ctx, _, _ in decisions} == {
        "sim-static": "ladder",
        "sim-seed": "raw_rates",
        "sim-bayes": "learned",
    }


def test_a_creator_setting_changes_the_routing():
    """Staff's signal keywords are read by the real router: openers like 'hey' become buying signals."""
    plain = simulation.simulate(200, 4, ("static",))["static"]
    eager = simulation.simulate(200, 4, ("static",), signal_keywords={"buying": ["hey", "hi", "hii", "hello"]})[
        "static"
    ]
    assert eager.routes["buying_signal"] > plain.routes["buying_signal"] + 30
    assert eager.offers > plain.offers


def test_the_spend_cap_is_the_engines_24h_cap_over_the_outcomes_written(decisions):
    simulation.simulate(300, 5, ("static",), daily_spend_cap=Decimal("1"))
    capped = [d for _, d, _ in decisions if d.reason.startswith("24h spend cap reached")]
    assert capped
    assert not [d for _, d, spent in decisions if d.action == "ppv" and spent >= 1]


def test_the_projects_database_is_never_touched():
    mine = Creator.objects.create(slug="mine", display_name="Mine", account_id="acct_mine")
    simulation.simulate(80, 6, ("bayes",))
    assert list(Creator.objects.values_list("slug", flat=True)) == ["mine"]
    assert (Fan.objects.count(), Action.objects.count(), Outcome.objects.count()) == (0, 0, 0)
    mine.refresh_from_db()


def test_it_runs_whatever_database_url_says_without_opening_that_database():
    """A database nobody can reach: `manage.py simulate` still runs, on its own throw-away database."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DATABASE_URL": "postgres://nobody@127.0.0.1:9/unreachable", "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "manage.py", "simulate", "--fans", "30", "--policy", "static", "--quiet"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "fans:              30" in done.stdout
