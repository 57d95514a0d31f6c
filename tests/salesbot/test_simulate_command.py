"""`manage.py simulate`: the in-process fan simulator, run as a user runs it (small audiences here).

No test here asks for the database: pytest-django refuses any query, so these also prove the simulator
writes nothing and needs no migrated database.
"""
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from sim import policy as simulation

FIELDS = ("policy:", "fans:", "PPVs sent:", "conversions:", "revenue:", "revenue per fan:", "best fixed policy:",
          "regret:")


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
    assert out.count("fans:              300") == 3            # every policy meets the same 300 fans
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
    results = simulation.simulate(400, 3, ("bayes",), exploration_share=1.0)
    bayes = results["bayes"]
    assert bayes.offers > 0
    assert bayes.offers - bayes.explored <= 1             # only the very first offer (cold start) exploits


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
