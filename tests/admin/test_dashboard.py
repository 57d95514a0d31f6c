"""The per-creator learning dashboard: numbers, credible intervals, and SVG drawn on the server."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from learning.models import Action
from learning.services import record_action, record_outcome
from salesbot.dashboard import learning as D
from salesbot.dashboard.charts import Bar, Chart, bar_chart, nice_max
from salesbot.models import LLMCall
from tests.admin.conftest import at, converse
from tests.factories import FanFactory


def url(creator):
    return reverse("admin:models_registry_creator_dashboard", args=[creator.pk])


# --- the Beta interval (the stats' prior and level) ----------------------------------------------


def test_uniform_prior_gives_the_5_and_95_percent_points():
    assert D.credible_interval(0, 0) == pytest.approx((0.5, 0.05, 0.95), abs=1e-6)


def test_one_sale_in_one_send_is_beta_2_1():
    # Beta(2, 1) has CDF x², so its quantiles are square roots.
    assert D.credible_interval(1, 1) == pytest.approx((2 / 3, 0.05**0.5, 0.95**0.5), abs=1e-6)


def test_a_cell_without_a_posterior_gets_one_from_its_counts():
    cell = D._posterior_cell({"sent": 10, "bought": 3, "rate": 30.0}, min_sample=20)
    # Beta(4, 8): 5% and 95% points 0.13508 and 0.56437 (scipy.stats.beta.ppf).
    assert cell["ci90"] == pytest.approx([0.13508, 0.56437], abs=1e-4) and cell["thin"] is True
    given = {"sent": 10, "bought": 3, "mean": 0.3, "ci90": [0.1, 0.5]}
    assert D._posterior_cell(given, min_sample=20) is given


# --- the SVG ---------------------------------------------------------------------------------------


def test_bar_chart_draws_bars_whiskers_and_escapes_labels():
    svg = bar_chart(Chart("t", "%", [Bar("<b>", 20, 10, 35, "tip & more"), Bar("b", 5, faded=True)]))
    assert svg.startswith("<svg") and svg.count("<rect") == 2
    assert svg.count('class="whisker"') == 3  # one line and two caps for the bar with an interval
    assert "&lt;b&gt;" in svg and "<b>" not in svg and "tip &amp; more" in svg
    assert svg.count('fill-opacity="0.4"') == 1 and 'class="bar thin"' in svg  # the thin bar is pale


def test_empty_chart_says_so():
    assert "No data yet." in bar_chart(Chart("t", "$"))


@pytest.mark.parametrize("value,top", [(0, 1), (0.3, 0.5), (7, 10), (12, 20), (23, 25), (180, 200), (1000, 1000)])
def test_axis_tops_are_round(value, top):
    assert nice_max(value) == pytest.approx(top)


@pytest.mark.parametrize(
    "unit,highest,ticks",
    [
        ("%", 46, ["0%", "10%", "20%", "30%", "40%", "50%"]),
        ("%", 80, ["0%", "25%", "50%", "75%", "100%"]),
        ("$", 18.3, ["$0", "$5", "$10", "$15", "$20"]),
        ("n", 30, ["0", "10", "20", "30", "40", "50"]),
        ("n", 3, ["0", "1", "2", "3", "4", "5"]),  # counts never get fractional ticks
    ],
)
def test_axis_ticks_are_round_numbers(unit, highest, ticks):
    svg = bar_chart(Chart("t", unit, [Bar("a", highest)]))
    assert re.findall(r'class="tick">([^<]+)<', svg) == ticks


def test_a_value_with_no_room_above_its_whisker_is_written_inside_the_bar():
    svg = bar_chart(Chart("t", "%", [Bar("a", 30, 18, 48), Bar("b", 31, 17, 44)]))
    assert svg.count('class="value"') == 1 and svg.count('class="value inside"') == 1


# --- the page ------------------------------------------------------------------------------------


@pytest.fixture
def sales(demo):
    fan = FanFactory(creator=demo, name="John")
    converse(fan)
    for i, (price, hook, bought) in enumerate(
        [("25", "scarcity", False), ("25", "scarcity", True), ("35", "challenge", False)]
    ):
        other = FanFactory(creator=demo)
        record_action(
            other,
            "ppv",
            ts=at(20 + i),
            price=Decimal(price),
            hook=hook,
            fan_state="pitched",
            source=Action.Source.LLM,
            status=Action.Status.SENT,
        )
        if bought:
            record_outcome(other, "purchased", ts=at(30 + i), amount=Decimal(price))
        else:
            record_outcome(other, "ghosted", ts=at(30 + i))
    LLMCall.objects.create(
        creator=demo,
        model="claude-opus",
        outcome="accepted",
        cost_usd=Decimal("0.0420"),
        input_tokens=2000,
        output_tokens=80,
    )
    LLMCall.objects.create(creator=demo, model="claude-opus", outcome="rejected", cost_usd=Decimal("0.0180"))
    return demo


def test_dashboard_shows_charts_with_intervals(admin_client, sales):
    r = admin_client.get(url(sales))
    assert r.status_code == 200
    body = r.content.decode()
    for text in [
        "Conversion by price",
        "Revenue per PPV sent by price",
        "Conversion by hook",
        "Conversion by hour",
        "Ghost rate by fan stage",
        "Fans by state now",
        "Who decided the actions",
        "LLM calls by outcome",
        "LLM cost",
        "$0.0600",
        "$43.00",
        "90% credible interval",
        "pale: fewer than 20 sends",
    ]:
        assert text in body, text
    assert body.count("<svg") >= 10 and 'class="whisker"' in body
    # $25: one of two bought → Beta(2, 2): mean 50%, 5%/95% points 13.5%/86.5%.
    assert "$25: 1/2 bought (50.0% observed) · posterior 50.0%, 90% CI 13.5–86.5% · thin: under 20 sends" in body
    assert "scarcity: 1/2 bought" in body
    d = r.context["d"]
    conversion_by_price, revenue_by_price = d["rows"][0]
    assert [b.label for b in conversion_by_price.bars] == ["$18", "$25", "$35"]
    assert all(b.faded for b in conversion_by_price.bars)  # 1–2 sends each: all thin
    c25 = conversion_by_price.bars[1]
    assert (c25.value, c25.lo, c25.hi) == pytest.approx((50.0, 13.535, 86.465), abs=0.01)
    r25 = revenue_by_price.bars[1]
    assert (r25.value, r25.lo, r25.hi) == pytest.approx((12.5, 3.38, 21.62), abs=0.01)  # $25 × the interval
    hooks = {b.label: b for b in d["rows"][1][1].bars}
    assert hooks["scarcity"].value == pytest.approx(12.5, abs=0.01)  # avg price sent $25 × posterior 50%
    ghost = {b.label: b for b in d["funnel"][1].bars}
    assert ghost["pitched"].value == pytest.approx(100 * 2 / 3)
    assert ghost["pitched"].lo < ghost["pitched"].value < ghost["pitched"].hi
    assert d["llm"]["llm_share"] == pytest.approx(60.0)  # 3 of the 5 sent actions came from the LLM


def test_dashboard_loads_nothing_from_elsewhere(admin_client, sales):
    body = admin_client.get(url(sales)).content.decode()
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", body)
    assert refs and not [u for u in refs if re.match(r"^(https?:)?//", u)]
    assert "<script" not in body.split("<!-- END SVGs -->")[0].split('id="content-main"')[1]


def test_dashboard_draws_the_posterior_cells_of_the_stats(admin_client, demo, monkeypatch):
    """The same numbers the rule engine acts on: nothing re-derived, revenue per send as the stats say."""
    stats = {
        "totals": {"actions": 40, "outcomes": 9},
        "computed_at": "now",
        "min_sample": 20,
        "conversion_by_price": {"18": {"sent": 40, "bought": 9, "rate": 22.5}},
        "posterior_by_price": {
            "18": {
                "sent": 40,
                "bought": 9,
                "mean": 0.2381,
                "ci90": [0.1357, 0.3528],
                "thin": False,
                "revenue_per_send": {"mean": 4.29, "ci90": [2.44, 6.35]},
            }
        },
        "posterior_by_hour": {"21": {"sent": 5, "bought": 1, "mean": 0.2857, "ci90": [0.0628, 0.5818], "thin": True}},
    }
    monkeypatch.setattr(D, "refresh_learning_stats", lambda creator: stats)
    d = admin_client.get(url(demo)).context["d"]
    conversion, revenue = d["rows"][0]
    bar = conversion.bars[0]
    assert (bar.value, bar.lo, bar.hi, bar.faded) == pytest.approx((23.81, 13.57, 35.28, False))
    assert (revenue.bars[0].value, revenue.bars[0].lo, revenue.bars[0].hi) == pytest.approx((4.29, 2.44, 6.35))
    hour = d["rows"][2][0].bars[0]
    assert (hour.label, hour.faded) == ("21h", True) and hour.hi == pytest.approx(58.18)


def test_dashboard_of_a_new_creator_says_there_is_no_data(admin_client, demo):
    body = admin_client.get(url(demo)).content.decode()
    assert "No PPVs with a price yet." in body and "No data yet." in body


def test_dashboard_is_linked_from_the_creator_pages(admin_client, demo):
    assert url(demo) in admin_client.get("/admin/models_registry/creator/").content.decode()
    assert url(demo) in admin_client.get(f"/admin/models_registry/creator/{demo.pk}/change/").content.decode()


def test_dashboard_needs_staff(client, demo):
    assert client.get(url(demo)).status_code == 302


def test_dashboard_shows_the_holdout_experiment_per_arm(admin_client, demo):
    from learning import experiments

    assert "No holdout experiment yet" in admin_client.get(url(demo)).content.decode()
    experiments.start(demo, 0.5, by="alice")
    for i in range(6):
        fan = FanFactory(creator=demo, fan_id=500 + i)
        a = record_action(fan, "ppv", price=Decimal("18"), hook="curiosity", status=Action.Status.SENT)
        if i % 2:
            record_outcome(fan, "purchased", amount=Decimal("18"), action=a, pinned=True)
    r = admin_client.get(url(demo))
    body = r.content.decode()
    for text in [
        "Holdout experiment",
        "running",
        "started by alice",
        "Not enough data yet",
        "Revenue per fan by arm",
        "PPV conversion by arm",
        "Ghost rate by arm",
        "P(learning beats control)",
    ]:
        assert text in body, text
    x = r.context["d"]["experiment"]
    assert sum(v["fans"] for v in x["arms"].values()) == 6
    assert [b.label for b in x["charts"][0].bars] == ["learning", "control"]
    experiments.stop(demo)
    assert "stopped" in admin_client.get(url(demo)).content.decode()
