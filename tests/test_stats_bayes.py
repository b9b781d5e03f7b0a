"""Tests of funnelkit.stats.bayes (bayes_test) against independent references.

References used (each test says which):
* scipy: integrate.quad;
* Evan Miller's closed form for integer parameters, exact values by symmetry, and a
  seeded Monte Carlo.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import integrate, special
from scipy import stats as sps

from funnelkit.errors import ParameterError, StatisticsWarning
from funnelkit.stats import BayesTest, bayes_test

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def arm(draw, max_n=5000, min_n=1):
    n = draw(st.integers(min_value=min_n, max_value=max_n))
    x = draw(st.integers(min_value=0, max_value=n))
    return x, n


@pytest.fixture
def no_stat_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error", StatisticsWarning)
        yield


# =====================================================================================
# bayes_test
# =====================================================================================


def _evan_miller_chance(a_c, b_c, a_t, b_t):
    """P(pT > pC), Evan Miller's closed form (integer a_t), summed in log space."""
    i = np.arange(int(a_t))
    log_terms = (
        special.betaln(a_c + i, b_c + b_t)
        - np.log(b_t + i)
        - special.betaln(1 + i, b_t)
        - special.betaln(a_c, b_c)
    )
    return float(np.exp(log_terms).sum())


def _quad_reference(a_c, b_c, a_t, b_t):
    """Adaptive quad in x of f_C(x) P(T > x) and f_C(x) E[max(x - T, 0)] (scipy.integrate.quad)."""
    fc, ft, ft1 = sps.beta(a_c, b_c), sps.beta(a_t, b_t), sps.beta(a_t + 1, b_t)
    lo, hi = fc.ppf(1e-15), fc.isf(1e-15)
    pts = [v for v in (fc.mean(), ft.mean()) if lo < v < hi]
    kw = dict(points=pts, epsabs=1e-14, epsrel=1e-12, limit=500)
    chance = integrate.quad(lambda x: fc.pdf(x) * ft.sf(x), lo, hi, **kw)[0]
    loss = integrate.quad(lambda x: fc.pdf(x) * (x * ft.cdf(x) - ft.mean() * ft1.cdf(x)), lo, hi, **kw)[0]
    return chance, loss


@SETTINGS
@given(arm(max_n=400), arm(max_n=400))
def test_bayes_matches_evan_miller_closed_form(c, t):
    res = bayes_test(*c, *t)
    a_c, b_c = 1 + c[0], 1 + c[1] - c[0]
    a_t, b_t = 1 + t[0], 1 + t[1] - t[0]
    assert res.chance_to_beat_control == pytest.approx(_evan_miller_chance(a_c, b_c, a_t, b_t), abs=1e-9)
    # E[max(pT - pC, 0)] - E[max(pC - pT, 0)] = E[pT] - E[pC]
    assert res.expected_loss_control - res.expected_loss == pytest.approx(
        a_t / (a_t + b_t) - a_c / (a_c + b_c), abs=1e-12
    )
    assert res.expected_loss >= 0 and res.expected_loss_control >= 0


@pytest.mark.parametrize(
    ("counts", "prior"),
    [
        ((14, 28, 16, 30), (1, 1)),
        ((0, 100, 5, 100), (1, 1)),
        ((0, 100000, 3, 100000), (1, 1)),
        ((3000, 1_000_000, 3100, 1_000_000), (1, 1)),
        ((50, 100, 500, 1000), (1, 1)),
        ((0, 20, 0, 5), (0.5, 0.5)),  # Jeffreys prior, singular densities at 0
        ((20, 20, 19, 20), (2.0, 3.0)),
    ],
)
def test_bayes_matches_adaptive_quadrature(counts, prior):
    res = bayes_test(*counts, prior=prior)
    cc, nc, ct, nt = counts
    chance, loss = _quad_reference(prior[0] + cc, prior[1] + nc - cc, prior[0] + ct, prior[1] + nt - ct)
    assert res.chance_to_beat_control == pytest.approx(chance, abs=1e-9)
    assert res.expected_loss == pytest.approx(loss, rel=1e-7, abs=1e-12)


def test_bayes_against_seeded_monte_carlo():
    # Large seeded Monte Carlo; tolerance = 5 Monte Carlo standard errors.
    rng = np.random.default_rng(20240611)
    draws = 2_000_000
    for cc, nc, ct, nt in [(14, 28, 16, 30), (120, 1000, 140, 1000), (3, 60, 1, 70)]:
        res = bayes_test(cc, nc, ct, nt)
        pc = rng.beta(1 + cc, 1 + nc - cc, draws)
        pt = rng.beta(1 + ct, 1 + nt - ct, draws)
        win = pt > pc
        loss_t = np.maximum(pc - pt, 0)
        loss_c = np.maximum(pt - pc, 0)
        for value, sample in [
            (res.chance_to_beat_control, win),
            (res.expected_loss, loss_t),
            (res.expected_loss_control, loss_c),
        ]:
            se = sample.std() / math.sqrt(draws)
            assert abs(value - sample.mean()) < 5 * se + 1e-12


def test_bayes_symmetric_cases(no_stat_warnings):
    for counts in [(50, 1000, 50, 1000), (0, 10, 0, 10), (7, 7, 7, 7), (0, 1, 0, 1)]:
        res = bayes_test(*counts)
        assert res.chance_to_beat_control == 0.5
        assert res.expected_loss == pytest.approx(res.expected_loss_control, abs=1e-15)
    # Swapping the arms: chance -> 1 - chance, losses swap.
    a = bayes_test(30, 200, 41, 210)
    b = bayes_test(41, 210, 30, 200)
    assert a.chance_to_beat_control == pytest.approx(1 - b.chance_to_beat_control, abs=1e-12)
    assert a.expected_loss == pytest.approx(b.expected_loss_control, abs=1e-14)
    # C ~ Beta(1, 2), T ~ Beta(2, 1): P(T > C) = ∫ 2(1 - x)(1 - x²) dx = 5/6 exactly.
    assert bayes_test(0, 1, 1, 1).chance_to_beat_control == pytest.approx(5 / 6, abs=1e-12)
    # C, T iid Beta(2, 1) (one converted user each):
    # E[max(C - T, 0)] = ∫∫_{x>y} (x - y) 2x 2y dy dx = 4 ∫ x⁴/6 dx = 2/15.
    res = bayes_test(1, 1, 1, 1)
    assert res.expected_loss == pytest.approx(2 / 15, abs=1e-12)


def test_bayes_vectorized_tidy_and_edges():
    res = bayes_test([10, 0, 100], [100, 100, 100], [12, 3, 100], 100)
    assert isinstance(res, BayesTest)
    assert res.chance_to_beat_control.shape == (3,)
    assert list(res.to_frame().columns) == [
        "conv_c", "n_c", "rate_c", "conv_t", "n_t", "rate_t", "prior_alpha", "prior_beta",
        "chance_to_beat_control", "expected_loss", "expected_loss_control",
    ]  # fmt: skip
    assert res.chance_to_beat_control[2] == 0.5  # both at 100 %
    with pytest.warns(StatisticsWarning, match="no users"):
        empty = bayes_test(0, 0, 3, 10)
    assert math.isnan(empty.chance_to_beat_control)
    for bad in [(0, 1), (1,), "flat", (1, -1), (np.nan, 1)]:
        with pytest.raises(ParameterError, match="prior"):
            bayes_test(1, 10, 2, 10, prior=bad)
