"""learning.bayes: the Beta-Binomial maths against closed forms worked out independently.

Reference values come from identities, not from the code under test:
- Beta(1, 1) is uniform: cdf(x) = x, so the 90% interval is [0.05, 0.95];
- Beta(a, 1) has cdf x**a, so its q-quantile is q**(1/a); Beta(1, b) has cdf 1 - (1 - x)**b;
- Beta(2, 2) has cdf 3x² − 2x³;
- for integer a, b: I_x(a, b) = P(Binomial(a + b − 1, x) >= a), summed here with math.comb.
"""

import math
import random

import pytest

from learning import bayes


def binomial_tail(a: int, b: int, x: float) -> float:
    n = a + b - 1
    return sum(math.comb(n, j) * x**j * (1 - x) ** (n - j) for j in range(a, n + 1))


# --- posterior and mean ---------------------------------------------------------------------------


def test_posterior_adds_purchases_and_misses_to_the_uniform_prior():
    assert bayes.posterior(45, 12) == (13.0, 34.0)  # seed example "$18: 12 of 45"
    assert bayes.posterior(0, 0) == (1.0, 1.0)  # no data: the prior itself
    assert bayes.posterior(2.5, 0.5) == (1.5, 3.0)  # decayed (fractional) counts are fine


@pytest.mark.parametrize("sent,bought", [(3, 4), (-1, 0), (2, -1)])
def test_impossible_counts_are_refused(sent, bought):
    with pytest.raises(ValueError):
        bayes.posterior(sent, bought)


def test_mean_shrinks_thin_cells_towards_one_half():
    assert bayes.mean(*bayes.posterior(6, 2)) == pytest.approx(3 / 8)  # raw 33.3% -> 37.5%
    assert bayes.mean(*bayes.posterior(0, 0)) == 0.5
    assert bayes.mean(2, 2) == 0.5


# --- cdf ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("x", [0.01, 0.2, 0.5, 0.73, 0.99])
def test_cdf_of_uniform_is_x(x):
    assert bayes.cdf(1, 1, x) == pytest.approx(x, abs=1e-12)


@pytest.mark.parametrize("a", [0.5, 2, 3, 7.5])
@pytest.mark.parametrize("x", [0.05, 0.4, 0.9])
def test_cdf_of_beta_a_1_is_x_to_the_a(a, x):
    assert bayes.cdf(a, 1, x) == pytest.approx(x**a, rel=1e-10)


@pytest.mark.parametrize("b", [2, 5])
@pytest.mark.parametrize("x", [0.1, 0.6])
def test_cdf_of_beta_1_b(b, x):
    assert bayes.cdf(1, b, x) == pytest.approx(1 - (1 - x) ** b, rel=1e-10)


@pytest.mark.parametrize("x", [0.1, 0.3, 0.5, 0.8])
def test_cdf_of_beta_2_2(x):
    assert bayes.cdf(2, 2, x) == pytest.approx(3 * x**2 - 2 * x**3, rel=1e-10)


@pytest.mark.parametrize("a,b", [(13, 34), (4, 3), (2, 60), (151, 251)])
@pytest.mark.parametrize("x", [0.05, 0.2, 0.28, 0.4, 0.7])
def test_cdf_matches_the_binomial_tail_for_integer_parameters(a, b, x):
    assert bayes.cdf(a, b, x) == pytest.approx(binomial_tail(a, b, x), rel=1e-8, abs=1e-13)


def test_cdf_edges_and_bad_parameters():
    assert bayes.cdf(3, 4, 0.0) == 0.0 and bayes.cdf(3, 4, 1.0) == 1.0
    assert bayes.cdf(3, 4, -0.5) == 0.0 and bayes.cdf(3, 4, 1.5) == 1.0
    with pytest.raises(ValueError):
        bayes.cdf(0, 1, 0.5)


# --- quantile and interval ------------------------------------------------------------------------


def test_interval_of_uniform_is_5_to_95_percent():
    lo, hi = bayes.interval(1, 1)
    assert lo == pytest.approx(0.05, abs=1e-9) and hi == pytest.approx(0.95, abs=1e-9)


@pytest.mark.parametrize("a", [2, 3, 10])
def test_interval_of_beta_a_1_inverts_x_to_the_a(a):
    lo, hi = bayes.interval(a, 1)
    assert lo == pytest.approx(0.05 ** (1 / a), abs=1e-9)
    assert hi == pytest.approx(0.95 ** (1 / a), abs=1e-9)


def test_interval_of_beta_1_b():
    lo, hi = bayes.interval(1, 4)  # 1 - (1 - x)^4 = q  ->  x = 1 - (1 - q)^(1/4)
    assert lo == pytest.approx(1 - 0.95**0.25, abs=1e-9)
    assert hi == pytest.approx(1 - 0.05**0.25, abs=1e-9)


def test_beta_2_2_median_is_one_half_and_interval_is_symmetric():
    assert bayes.quantile(2, 2, 0.5) == pytest.approx(0.5, abs=1e-9)
    lo, hi = bayes.interval(2, 2)
    assert lo + hi == pytest.approx(1.0, abs=1e-9)
    assert 3 * lo**2 - 2 * lo**3 == pytest.approx(0.05, abs=1e-9)


def test_interval_narrows_as_evidence_grows_at_the_same_rate():
    widths = []
    for sent in (6, 45, 450):
        lo, hi = bayes.interval(*bayes.posterior(sent, sent // 3))
        assert lo < bayes.mean(*bayes.posterior(sent, sent // 3)) < hi
        widths.append(hi - lo)
    assert widths[0] > widths[1] > widths[2]
    assert widths[0] > 0.4 and widths[2] < 0.08  # 6 sends say little; 450 pin the rate down


def test_quantile_limits_and_bad_level():
    assert bayes.quantile(3, 5, 0.0) == 0.0 and bayes.quantile(3, 5, 1.0) == 1.0
    with pytest.raises(ValueError):
        bayes.quantile(3, 5, 1.2)


# --- revenue per send, Thompson draws, decay, cells -----------------------------------------------


def test_revenue_per_send_is_price_times_conversion_with_its_interval():
    r = bayes.revenue_per_send(20, 1, 1)
    assert r == {"mean": 10.0, "ci90": [1.0, 19.0]}
    r = bayes.revenue_per_send("18", 3, 1)  # Beta(3, 1): mean 3/4, interval q^(1/3)
    assert r["mean"] == round(18 * 0.75, 2)
    assert r["ci90"] == [round(18 * 0.05 ** (1 / 3), 2), round(18 * 0.95 ** (1 / 3), 2)]


def test_thompson_draws_average_to_the_posterior_mean():
    rng = random.Random(7)
    draws = [bayes.thompson(rng, 13, 34) for _ in range(20_000)]
    assert all(0 < d < 1 for d in draws)
    assert sum(draws) / len(draws) == pytest.approx(13 / 47, abs=0.005)
    # and about 90% of them fall in the 90% interval
    lo, hi = bayes.interval(13, 34)
    assert sum(lo <= d <= hi for d in draws) / len(draws) == pytest.approx(0.90, abs=0.01)


@pytest.mark.parametrize(
    "age,half_life,weight",
    [(0, 14, 1.0), (14, 14, 0.5), (28, 14, 0.25), (7, 14, 2**-0.5), (30, None, 1.0), (30, 0, 1.0), (-3, 14, 1.0)],
)
def test_decay_weight_halves_every_half_life(age, half_life, weight):
    assert bayes.decay_weight(age, half_life) == pytest.approx(weight)


def test_cell_marks_thin_evidence_and_prices_revenue():
    c = bayes.cell(6, 2, min_sample=20, price=15)
    assert c["sent"] == 6 and c["bought"] == 2
    assert (c["alpha"], c["beta"]) == (3.0, 5.0)
    assert c["mean"] == 0.375 and c["thin"] is True
    assert c["revenue_per_send"]["mean"] == round(15 * 0.375, 2)
    lo, hi = c["ci90"]
    assert lo < 0.375 < hi
    assert bayes.cell(45, 12, min_sample=20)["thin"] is False
    assert "revenue_per_send" not in bayes.cell(45, 12, min_sample=20)


def test_cell_uses_decayed_counts_for_the_posterior_but_keeps_raw_counts():
    c = bayes.cell(40, 10, min_sample=20, weighted_sent=15.0, weighted_bought=5.0)
    assert (c["sent"], c["bought"]) == (40, 10)
    assert (c["effective_sent"], c["effective_bought"]) == (15.0, 5.0)
    assert (c["alpha"], c["beta"]) == (6.0, 11.0)
    assert c["thin"] is True  # 40 sends, but after decay only 15 count: under min_sample


def test_prob_better_compares_revenue_per_send_and_agrees_with_sampling():
    rng = random.Random(11)
    cases = [((25, 13, 19), (18, 10, 22)), ((12, 31, 71), (18, 13, 89)), ((50, 2, 9), (18, 7, 15))]
    for (v1, a1, b1), (v0, a0, b0) in cases:
        sampled = sum(v1 * rng.betavariate(a1, b1) > v0 * rng.betavariate(a0, b0) for _ in range(20000)) / 20000
        assert bayes.prob_better(v1, a1, b1, v0, a0, b0) == pytest.approx(sampled, abs=0.04)
    # the same evidence on both sides: a coin toss; more evidence for the same gap: surer
    assert bayes.prob_better(1, 5, 15, 1, 5, 15) == pytest.approx(0.5)
    assert bayes.prob_better(1, 31, 71, 1, 21, 81) < bayes.prob_better(1, 301, 701, 1, 201, 801)
    assert bayes.prob_better(1, 301, 701, 1, 201, 801) > 0.99
