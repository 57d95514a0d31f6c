"""/api/<slug>/experiment: GET the holdout experiment's results, POST to start one, DELETE to stop it."""

from learning import experiments
from tests.factories import FanFactory


def _fans(creator, n, start=1):
    return [FanFactory(creator=creator, fan_id=start + i) for i in range(n)]


def test_the_api_starts_reports_and_stops_and_a_stopped_experiment_keeps_its_results(staff_api, creator):
    url = f"/api/{creator.slug}/experiment"
    assert staff_api.get(url).json() == {"running": False, "experiment": None, "earlier": []}
    r = staff_api.post(url, {"control_share": 0.25}, format="json")
    assert r.status_code == 201 and r.json()["experiment"]["control_share"] == 0.25
    assert staff_api.post(url, {"control_share": 0.25}, format="json").status_code == 409
    for f in _fans(creator, 6):
        experiments.arm_of(f)
    body = staff_api.get(url).json()
    assert body["running"] and sum(a["fans"] for a in body["experiment"]["arms"].values()) == 6
    for arm in body["experiment"]["arms"].values():
        assert {"fans", "revenue_per_fan", "ppv_conversion", "ghost_rate"} <= set(arm)
        assert len(arm["revenue_per_fan"]["interval_90"]) == 2
    stopped = staff_api.delete(url).json()
    assert stopped["running"] is False and stopped["experiment"]["stopped_at"]
    assert sum(a["fans"] for a in stopped["experiment"]["arms"].values()) == 6
    assert staff_api.post(url, {"control_share": 2}, format="json").status_code == 400
