"""Holdout experiments in admin: a manager starts one from the creator's dashboard (control share) and stops it
after a confirmation; the experiments list shows every one with its per-arm results and who started and stopped
it; a chatter reads only their creators' experiments and can neither start nor stop one."""

from decimal import Decimal

import pytest

from fans.models import Fan
from learning import experiments
from learning.models import Action
from learning.services import record_action, record_outcome
from models_registry.models import Experiment
from tests.factories import CreatorFactory, FanFactory
from tests.team_helpers import chatter, manager

LIST = "/admin/models_registry/experiment/"
START = LIST + "start/"


def dashboard(creator):
    return f"/admin/models_registry/creator/{creator.pk}/dashboard/"


@pytest.fixture
def luna(db):
    return CreatorFactory(slug="luna", display_name="Luna", account_id="acct_luna")


@pytest.fixture
def nova(db):
    return CreatorFactory(slug="nova", display_name="Nova", account_id="acct_nova")


@pytest.fixture
def boss(db, client):
    user = manager("boss")
    client.force_login(user)
    return client


def sell(creator, n=12):
    """n new fans while the experiment runs: a PPV each, every other one bought."""
    for i in range(n):
        fan = FanFactory(creator=creator, fan_id=600 + i)
        action = record_action(fan, "ppv", price=Decimal("18"), hook="curiosity", status=Action.Status.SENT)
        if i % 2:
            record_outcome(fan, "purchased", amount=Decimal("18"), action=action, pinned=True)


def test_a_manager_starts_and_stops_an_experiment_from_admin(boss, luna):
    page = boss.get(dashboard(luna)).content.decode()
    assert "POST /api" not in page and 'id="experiment-start"' in page and 'name="control_percent"' in page
    r = boss.post(START, {"creator": luna.pk, "control_percent": "50", "next": dashboard(luna)})
    assert r.status_code == 302 and r["Location"] == dashboard(luna)
    exp = Experiment.objects.get(creator=luna)
    assert exp.running and exp.control_share == 0.5
    assert (exp.started_by, exp.started_by_user.username) == ("boss", "boss")
    page = boss.get(r["Location"]).content.decode()
    assert "started by boss" in page and 'id="experiment-stop"' in page and 'id="experiment-start"' not in page

    # a second start is refused while one runs, with the reason on the form
    r = boss.post(START, {"creator": luna.pk, "control_percent": "20"})
    assert r.status_code == 200 and "already running" in r.content.decode()

    sell(luna)
    listing = boss.get(LIST).content.decode()
    results = experiments.results(exp)
    for arm in ("learning", "control"):
        v = results["arms"][arm]
        assert f"{v['fans']} fans" in listing
        assert f"${v['revenue_per_fan']['mean']:.2f} per fan" in listing
        lo, hi = v["revenue_per_fan"]["interval_90"]
        assert f"90% ${lo:.2f} – ${hi:.2f}" in listing
    assert sum(results["arms"][a]["fans"] for a in ("learning", "control")) == 12
    p = results["comparison"]["p_learning_beats_control_revenue"]
    assert f"{p:.2f}" in listing and "Not enough data yet" in listing and "running" in listing
    assert "P(learning beats control)" in listing and "by boss" in listing

    # stop: a confirmation page first (GET changes nothing), then the POST
    stop = f"{LIST}{exp.pk}/stop/"
    assert stop in listing
    confirm = boss.get(stop + "?next=" + dashboard(luna))
    assert confirm.status_code == 200 and "Yes, stop experiment" in confirm.content.decode()
    assert Experiment.objects.get(pk=exp.pk).running
    r = boss.post(stop, {"next": dashboard(luna)})
    assert r.status_code == 302 and r["Location"] == dashboard(luna)
    exp.refresh_from_db()
    assert not exp.running and (exp.stopped_by, exp.stopped_by_user.username) == ("boss", "boss")
    listing = boss.get(LIST).content.decode()
    assert "stopped" in listing and listing.count("by boss") == 2 and stop not in listing
    page = boss.get(dashboard(luna)).content.decode()
    assert 'id="experiment-start"' in page and "Start a new experiment" in page
    # the fans keep their arm; the results stay
    assert Fan.objects.filter(creator=luna).exclude(arm="").count() == 12


def test_start_page_from_the_list_asks_for_creator_and_share(boss, luna):
    page = boss.get(LIST).content.decode()
    assert START in page and "Start an experiment" in page
    form = boss.get(START).content.decode()
    assert 'name="creator"' in form and 'name="control_percent"' in form
    r = boss.post(START, {"creator": luna.pk, "control_percent": "0"})
    assert r.status_code == 200 and not Experiment.objects.exists()
    assert boss.post(START, {"creator": luna.pk, "control_percent": "50"})["Location"] == LIST


def test_an_outside_next_is_not_followed(boss, luna):
    r = boss.post(START, {"creator": luna.pk, "control_percent": "20", "next": "https://evil.example/"})
    assert r["Location"] == LIST


def test_a_chatter_reads_only_their_creators_experiments_and_cannot_start_or_stop(client, luna, nova):
    mine = experiments.start(luna, 0.2, by="ops")
    theirs = experiments.start(nova, 0.4, by="ops")
    client.force_login(chatter("chatty", luna))
    listing = client.get(LIST)
    assert listing.status_code == 200
    body = listing.content.decode()
    assert [e.pk for e in listing.context["cl"].result_list] == [mine.pk]
    assert "Luna" in body and "Nova" not in body
    assert START not in body and "/stop/" not in body
    page = client.get(dashboard(luna)).content.decode()
    assert "Only a manager can start or stop" in page and 'id="experiment-stop"' not in page
    assert client.get(START).status_code == 403
    assert client.post(START, {"creator": luna.pk, "control_percent": "20"}).status_code == 403
    for exp in (mine, theirs):
        assert client.get(f"{LIST}{exp.pk}/stop/").status_code == 403
        assert client.post(f"{LIST}{exp.pk}/stop/").status_code == 403
        assert Experiment.objects.get(pk=exp.pk).running
    assert client.get(dashboard(nova)).status_code == 403


def test_nobody_adds_edits_or_deletes_experiments_by_hand(boss, luna):
    exp = experiments.start(luna, 0.2, by="ops")
    assert boss.get(LIST + "add/").status_code == 403
    assert boss.post(f"{LIST}{exp.pk}/delete/").status_code == 403
    assert boss.get(f"{LIST}{exp.pk}/change/").status_code == 200  # read-only
    assert boss.post(f"{LIST}{exp.pk}/change/", {"control_share": "0.9"}).status_code == 403
    assert Experiment.objects.get(pk=exp.pk).control_share == 0.2


def test_the_list_and_dashboard_show_srm_guardrails_and_past_results(boss, luna):
    """A manager starts an experiment over all fans that stops on harm; a broken split shows as untrustworthy in
    the list and on the dashboard, the past experiment stays listed with its checks."""
    r = boss.post(
        START,
        {"creator": luna.pk, "control_percent": "50", "population": "all", "harm_percent": "1", "stop_on_harm": "on"},
    )
    assert r.status_code == 302
    exp = Experiment.objects.get(creator=luna)
    assert (exp.population, exp.harm_limit, exp.stop_on_harm) == ("all", 0.01, True)
    for i in range(100):  # 80 / 20 where 50 / 50 was planned
        fan = FanFactory(creator=luna, fan_id=900 + i)
        Fan.objects.filter(pk=fan.pk).update(arm="learning" if i < 80 else "control", experiment=exp)
    listing = boss.get(LIST).content.decode()
    assert "untrustworthy" in listing and "guardrails ok" in listing and "always-valid 90%" in listing
    page = boss.get(dashboard(luna)).content.decode()
    assert "Untrustworthy: sample-ratio mismatch" in page and "mismatch: results untrustworthy" in page
    assert "all fans in scope (CUPED" in page and "stops the experiment when breached" in page
    experiments.stop(luna, by="boss")
    experiments.start(luna, 0.2)
    page = boss.get(dashboard(luna)).content.decode()
    assert 'class="llm earlier-experiments"' in page and "SRM: untrustworthy" in page
