"""Tests of funnelkit.stats.proportions (proportion_ci) against independent references.

References used (each test says which):
* DESIGN.md §6 table of known values (checked to the printed precision);
* statsmodels: proportion_confint.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnelkit.errors import ParameterError, StatisticsWarning
from funnelkit.stats import proportion_ci

smp = pytest.importorskip("statsmodels.stats.proportion")

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SM_CI_NAME = {
    "wilson": "wilson",
    "wald": "normal",
    "agresti_coull": "agresti_coull",
    "clopper_pearson": "beta",
    "jeffreys": "jeffreys",
}


@st.composite
def arm(draw, max_n=5000, min_n=1):
    n = draw(st.integers(min_value=min_n, max_value=max_n))
    x = draw(st.integers(min_value=0, max_value=n))
    return x, n


# =====================================================================================
# proportion_ci
# =====================================================================================


def test_wilson_design_value():
    # DESIGN §6: Wilson CI for 3/40 = (0.025836, 0.198642)
    low, high = proportion_ci(3, 40)
    assert isinstance(low, float) and isinstance(high, float)
    assert (round(low, 6), round(high, 6)) == (0.025836, 0.198642)


@pytest.mark.parametrize("method", list(SM_CI_NAME))
@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.01])
def test_proportion_ci_matches_statsmodels(method, alpha):
    # statsmodels.stats.proportion.proportion_confint(count, nobs, alpha, method=<name>),
    # alternative="two-sided" (default); "wald" is statsmodels' "normal", "clopper_pearson"
    # its "beta". Includes the edges count = 0 and count = nobs.
    counts = np.array([0, 1, 3, 7, 20, 39, 40, 0, 1, 500, 999, 1000, 1, 0])
    nobs = np.array([40, 40, 40, 40, 40, 40, 40, 1, 1, 1000, 1000, 1000, 2, 5])
    low, high = proportion_ci(counts, nobs, alpha=alpha, method=method)
    ref_low, ref_high = smp.proportion_confint(counts, nobs, alpha=alpha, method=SM_CI_NAME[method])
    np.testing.assert_allclose(low, ref_low, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(high, ref_high, rtol=1e-10, atol=1e-13)
    for c, n in [(0, 17), (17, 17), (5, 17)]:  # scalar path, edges included
        lo, hi = proportion_ci(c, n, alpha=alpha, method=method)
        rlo, rhi = smp.proportion_confint(c, n, alpha=alpha, method=SM_CI_NAME[method])
        assert lo == pytest.approx(rlo, rel=1e-10, abs=1e-13)
        assert hi == pytest.approx(rhi, rel=1e-10, abs=1e-13)


def test_proportion_ci_edges_exact():
    assert proportion_ci(0, 50, method="clopper_pearson")[0] == 0.0
    assert proportion_ci(50, 50, method="clopper_pearson")[1] == 1.0
    assert proportion_ci(0, 50, method="wilson")[0] == 0.0
    assert proportion_ci(50, 50, method="wilson")[1] == pytest.approx(1.0, abs=1e-15)
    low, high = proportion_ci(0, 50, method="wald")  # degenerate but defined
    assert (low, high) == (0.0, 0.0)


def test_proportion_ci_zero_nobs_is_nan_with_warning():
    with pytest.warns(StatisticsWarning, match="nobs"):
        low, high = proportion_ci([0, 3], [0, 10])
    assert np.isnan(low[0]) and np.isnan(high[0])
    assert np.isfinite(low[1]) and np.isfinite(high[1])
    with pytest.warns(StatisticsWarning):
        low, high = proportion_ci(0, 0, method="jeffreys")
    assert math.isnan(low) and math.isnan(high)


def test_proportion_ci_broadcasts():
    low, high = proportion_ci(np.array([[1], [2]]), np.array([10, 20, 30]))
    assert low.shape == high.shape == (2, 3)
    assert low[1, 2] == pytest.approx(proportion_ci(2, 30)[0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"count": 5, "nobs": 3}, r"`count`=5 exceeds `nobs`=3"),
        ({"count": -1, "nobs": 3}, r"`count`=-1"),
        ({"count": 1, "nobs": [3, -2]}, r"`nobs`=-2 at position 1"),
        ({"count": np.nan, "nobs": 3}, r"`count` must be finite"),
        ({"count": "3", "nobs": 3}, None),
        ({"count": 1, "nobs": 3, "method": "wilsons"}, r"Did you mean 'wilson'"),
        ({"count": 1, "nobs": 3, "method": "beta"}, r"`method`='beta'"),
        ({"count": 1, "nobs": 3, "alpha": 1.5}, r"`alpha`=1.5"),
    ],
)
def test_proportion_ci_bad_arguments(kwargs, match):
    count = kwargs.pop("count")
    nobs = kwargs.pop("nobs")
    if match is None:  # a numeric string is accepted like numpy does
        proportion_ci(count, nobs, **kwargs)
        return
    with pytest.raises(ParameterError, match=match):
        proportion_ci(count, nobs, **kwargs)


@SETTINGS
@given(arm(), st.sampled_from(list(SM_CI_NAME)), st.floats(0.001, 0.3))
def test_proportion_ci_properties(a, method, alpha):
    x, n = a
    low, high = proportion_ci(x, n, alpha=alpha, method=method)
    assert 0.0 <= low <= high <= 1.0
    phat = x / n
    if method != "jeffreys" or 0 < x < n:  # Jeffreys is not forced to 0/1 at the edges
        assert low - 1e-12 <= phat <= high + 1e-12
    # A smaller alpha gives a wider interval.
    low2, high2 = proportion_ci(x, n, alpha=alpha / 2, method=method)
    assert low2 <= low + 1e-12 and high2 >= high - 1e-12
