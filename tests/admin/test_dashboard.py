"""The per-creator learning dashboard: numbers, credible intervals, and SVG drawn on the server."""
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from learning.models import Action
from learning.services import record_action, record_outcome
from salesbot import dashboard as D
from salesbot.models import LLMCall
from salesbot.svg_charts import Bar, Chart, bar_chart, nice_max
from tests.admin.conftest import at, converse
from tests.factories import FanFactory


def url(creator):
    return reverse("admin:models_registry_creator_dashboard", args=[creator.pk])


# --- the Beta interval ---------------------------------------------------------------------------

def test_uniform_prior_gives_the_5_and_95_percent_points():
    assert D.credible_interval(0, 0) == pytest.approx((0.5, 0.05, 0.95), abs=1e-9)


def test_one_sale_in_one_send_is_beta_2_1():
    # Beta(2, 1) has CDF x², so its quantiles are square roots.
    mean, lo, hi = D.credible_interval(1, 1)
    assert (mean, lo, hi) == pytest.approx((2 / 3, 0.05 ** 0.5, 0.95 ** 0.5), abs=1e-9)


def test_interval_matches_reference_values():
    # Beta(4, 8): 5% and 95% points 0.13508 and 0.56437 (scipy.stats.beta.ppf).
    assert D.credible_interval(3, 10)[1:] == pytest.approx((0.13508, 0.56437), abs=1e-4)


def test_large_counts_use_the_normal_approximation_and_stay_tight():
    mean, lo, hi = D.credible_interval(3000, 10000)
    assert lo < 0.3 < hi and hi - lo == pytest.approx(0.0151, abs=5e-4)


@pytest.mark.parametrize("cell,expected", [
    ({"mean": 0.25, "ci90": [0.1, 0.4]}, (0.25, 0.1, 0.4)),          # fractions
    ({"mean": 25.0, "ci90": [10.0, 40.0]}, (0.25, 0.1, 0.4)),        # percentages
    ({"mean": 0.25, "ci90": {"low": 0.1, "high": 0.4}}, (0.25, 0.1, 0.4)),
    ({"mean": 0.25}, None),
    ({"ci90": [0.1, 0.4]}, None),
    ({"mean": "x", "ci90": [0.1, 0.4]}, None),
])
def test_posterior_cells_are_read_in_either_convention(cell, expected):
    got = D._given_interval(cell, sent=10, bought=2)
    assert got == (pytest.approx(expected) if expected else None)


# --- the SVG ---------------------------------------------------------------------------------------

def test_bar_chart_draws_bars_whiskers_and_escapes_labels():
    svg = bar_chart(Chart("t", "%", [Bar("<b>", 20, 10, 35, "tip & more"), Bar("b", 5)]))
    assert svg.startswith("<svg") and svg.count("<rect") == 2
    assert svg.count('class="whisker"') == 3           # one line and two caps for the bar with an interval
    assert "&lt;b&gt;" in svg and "<b>" not in svg and "tip &amp; more" in svg


def test_empty_chart_says_so():
    assert "No data yet." in bar_chart(Chart("t", "$"))


@pytest.mark.parametrize("value,top", [(0, 1), (0.3, 0.5), (7, 10), (12, 20), (23, 25), (180, 200), (1000, 1000)])
def test_axis_tops_are_round(value, top):
    assert nice_max(value) == pytest.approx(top)


# --- the page ------------------------------------------------------------------------------------

@pytest.fixture
def sales(demo):
    fan = FanFactory(creator=demo, name="John")
    converse(fan)
    for i, (price, hook, bought) in enumerate([("25", "scarcity", False), ("25", "scarcity", True),
                                               ("35", "challenge", False)]):
        other = FanFactory(creator=demo)
        record_action(other, "ppv", ts=at(20 + i), price=Decimal(price), hook=hook, fan_state="pitched",
                      source=Action.Source.LLM, status=Action.Status.SENT)
        if bought:
            record_outcome(other, "purchased", ts=at(30 + i), amount=Decimal(price))
        else:
            record_outcome(other, "ghosted", ts=at(30 + i))
    LLMCall.objects.create(creator=demo, model="claude-opus", outcome="accepted", cost_usd=Decimal("0.0420"),
                           input_tokens=2000, output_tokens=80)
    LLMCall.objects.create(creator=demo, model="claude-opus", outcome="rejected", cost_usd=Decimal("0.0180"))
    return demo


def test_dashboard_shows_charts_with_intervals(admin_client, sales):
    r = admin_client.get(url(sales))
    assert r.status_code == 200
    body = r.content.decode()
    for text in ["Conversion by price", "Revenue per PPV sent by price", "Conversion by hook", "Conversion by hour",
                 "Ghost rate by fan stage", "Fans by state now", "Who decided the actions", "LLM calls by outcome",
                 "LLM cost", "$0.0600", "$43.00"]:
        assert text in body, text
    assert body.count("<svg") >= 10 and 'class="whisker"' in body
    assert "$25: 1/2 bought = 50.0% (90% CI" in body
    assert "scarcity: 1/2 bought" in body
    d = r.context["d"]
    conversion_by_price, revenue_by_price = d["rows"][0]
    assert [b.label for b in conversion_by_price.bars] == ["$18", "$25", "$35"]
    assert [b.value for b in revenue_by_price.bars] == pytest.approx([18.0, 12.5, 0.0])
    ghost = {b.label: b.value for b in d["funnel"][1].bars}
    assert ghost["pitched"] == pytest.approx(100 * 2 / 3)
    assert d["llm"]["llm_share"] == pytest.approx(60.0)   # 3 of the 5 sent actions came from the LLM


def test_dashboard_loads_nothing_from_elsewhere(admin_client, sales):
    body = admin_client.get(url(sales)).content.decode()
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", body)
    assert refs and not [u for u in refs if re.match(r"^(https?:)?//", u)]
    assert "<script" not in body.split("<!-- END SVGs -->")[0].split('id="content-main"')[1]


def test_dashboard_prefers_the_posterior_cells_of_the_stats(admin_client, demo, monkeypatch):
    stats = {"totals": {"actions": 40, "outcomes": 9}, "computed_at": "now",
             "conversion_by_price": {"18": {"sent": 40, "bought": 9, "rate": 22.5}},
             "posterior_by_price": {"18": {"sent": 40, "bought": 9, "mean": 0.2381, "ci90": [0.1357, 0.3528],
                                           "revenue_per_send": 4.05}}}
    monkeypatch.setattr(D, "refresh_learning_stats", lambda creator: stats)
    d = admin_client.get(url(demo)).context["d"]
    conversion, revenue = d["rows"][0]
    assert (conversion.bars[0].lo, conversion.bars[0].hi) == pytest.approx((13.57, 35.28))
    assert revenue.bars[0].value == pytest.approx(4.05)
    assert d["posterior_from_stats"] is True


def test_dashboard_of_a_new_creator_says_there_is_no_data(admin_client, demo):
    body = admin_client.get(url(demo)).content.decode()
    assert "No PPVs with a price yet." in body and "No data yet." in body


def test_dashboard_is_linked_from_the_creator_pages(admin_client, demo):
    assert url(demo) in admin_client.get("/admin/models_registry/creator/").content.decode()
    assert url(demo) in admin_client.get(f"/admin/models_registry/creator/{demo.pk}/change/").content.decode()


def test_dashboard_needs_staff(client, demo):
    assert client.get(url(demo)).status_code == 302
