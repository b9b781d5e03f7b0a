"""Tests of funnelkit.stats.sequential (sequential_test) against independent references.

References used (each test says which):
* DESIGN.md §6 table of known values (checked to the printed precision);
* the mSPRT of Johari et al. written out here, and a seeded A/A simulation with peeking.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from funnelkit.errors import ParameterError, StatisticsWarning
from funnelkit.stats import SequentialTest, diff_test, sequential_test

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def interior_arm(draw, max_n=5000):
    """An arm with 0 < conversions < users (non-degenerate variance)."""
    n = draw(st.integers(min_value=2, max_value=max_n))
    x = draw(st.integers(min_value=1, max_value=n - 1))
    return x, n


@pytest.fixture
def no_stat_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error", StatisticsWarning)
        yield


# =====================================================================================
# sequential_test
# =====================================================================================


def test_sequential_design_value(no_stat_warnings):
    # DESIGN §6: C 1396/3000, T 2422/3461, relative, N* = 5000 ->
    # L 0.50386, SE 0.03386, CI (0.40098, 0.60675)
    res = sequential_test(1396, 3000, 2422, 3461, relative=True, n_star=5000)
    assert isinstance(res, SequentialTest)
    assert round(res.estimate, 5) == 0.50386
    assert round(res.se, 5) == 0.03386
    assert round(res.ci_low, 5) == 0.40098
    assert round(res.ci_high, 5) == 0.60675
    assert res.p_value < 1e-10
    assert len(res.to_frame()) == 1


def _msprt_p(cc, nc, ct, nt, alpha, n_star):
    """Johari et al. mSPRT with normal mixing variance τ² = 2ρ²V (equal arms of size m)."""
    assert nc == nt
    m = nc
    pc, pt = cc / m, ct / m
    v = pc * (1 - pc) + pt * (1 - pt)  # per-arm variance sum V
    rho2 = (-2 * math.log(alpha) + math.log(1 - 2 * math.log(alpha))) / n_star
    tau2 = 2 * rho2 * v
    diff = pt - pc
    lam = math.sqrt(v / (v + m * tau2)) * math.exp(m**2 * tau2 * diff**2 / (2 * v * (v + m * tau2)))
    return min(1.0, 1.0 / lam)


@pytest.mark.parametrize(
    "counts", [(100, 1000, 120, 1000), (480, 5000, 560, 5000), (30, 300, 29, 300), (10, 50, 20, 50)]
)
@pytest.mark.parametrize("n_star", [1000, 5000, 20000])
def test_sequential_equals_msprt(counts, n_star, no_stat_warnings):
    res = sequential_test(*counts, n_star=n_star)
    assert res.p_value == pytest.approx(_msprt_p(*counts, 0.05, n_star), rel=1e-10)


@SETTINGS
@given(interior_arm(max_n=20000), interior_arm(max_n=20000), st.booleans(),
       st.sampled_from([0.01, 0.05, 0.1]), st.sampled_from([500, 5000, 50000]))  # fmt: skip
def test_sequential_properties(c, t, relative, alpha, n_star):
    res = sequential_test(*c, *t, relative=relative, alpha=alpha, n_star=n_star)
    assert res.ci_low <= res.estimate <= res.ci_high
    assert 0 <= res.p_value <= 1
    # duality: p < alpha exactly when 0 is outside the confidence sequence
    margin = min(abs(res.ci_low), abs(res.ci_high))
    if margin > 1e-9 * max(1.0, abs(res.estimate)):
        assert (res.p_value < alpha) == (res.ci_low > 0 or res.ci_high < 0)
    # always wider than the fixed-horizon normal interval est ± z·SE (since z² <= 2 ln(1/α)),
    # hence never a smaller p-value than the fixed-horizon z test
    z = sps.norm.isf(alpha / 2)
    assert res.ci_high - res.ci_low >= 2 * z * res.se
    assert res.p_value >= 2 * sps.norm.sf(abs(res.estimate / res.se)) - 1e-12


def test_sequential_edges_and_arguments():
    with pytest.warns(StatisticsWarning, match="control rate is 0"):
        res = sequential_test(0, 100, 5, 100, relative=True)
    assert math.isnan(res.estimate) and math.isnan(res.p_value)
    with warnings.catch_warnings():
        warnings.simplefilter("error", StatisticsWarning)
        assert sequential_test(0, 100, 5, 100).p_value < 1  # absolute difference is fine
    with pytest.warns(StatisticsWarning, match="standard error"):
        assert math.isnan(sequential_test(0, 100, 0, 100).p_value)
    with pytest.raises(ParameterError, match="n_star"):
        sequential_test(1, 10, 2, 10, n_star=0)
    with pytest.raises(ParameterError, match="relative"):
        sequential_test(1, 10, 2, 10, relative="yes")


# =====================================================================================
# A/A simulation: false-positive rate under peeking
# =====================================================================================


def test_aa_peeking_sequential_stays_below_alpha_naive_does_not():
    rng = np.random.default_rng(12)
    sims, looks, per_look, p, alpha = 2000, 20, 100, 0.1, 0.05
    cum = rng.binomial(per_look, p, (2, sims, looks)).cumsum(axis=2)
    n = per_look * np.arange(1, looks + 1)  # daily looks, 2000 per arm at the end
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticsWarning)  # rare all-zero early looks
        seq_p = sequential_test(cum[0], n, cum[1], n, alpha=alpha).p_value
        naive_p = diff_test(cum[0], n, cum[1], n).p_value
    se = math.sqrt(alpha * (1 - alpha) / sims)
    seq_rate = np.mean(np.nanmin(seq_p, axis=1) < alpha)
    naive_rate = np.mean(np.nanmin(naive_p, axis=1) < alpha)
    assert seq_rate <= alpha + 3 * se
    assert naive_rate > alpha + 3 * se  # why the sequential test exists
    # the fixed-horizon test at the last look alone is still fine
    assert abs(np.mean(naive_p[:, -1] < alpha) - alpha) < 4 * se
