"""Tests for funnelkit.stats._mannwhitney: the two-sided Mann–Whitney U test equals
scipy.stats.mannwhitneyu (its defaults) on samples with and without ties, small and large."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from funnelkit.stats._mannwhitney import mannwhitney_u

values = st.one_of(st.integers(-3, 3).map(float), st.floats(-1e6, 1e6, allow_nan=False, width=32))


@settings(max_examples=150, deadline=None)
@given(st.lists(values, min_size=1, max_size=30), st.lists(values, min_size=1, max_size=30))
def test_equals_scipy(x, y):
    got = mannwhitney_u(np.array(x), np.array(y))
    want = sps.mannwhitneyu(x, y)
    assert got[0] == want.statistic
    assert got[1] == want.pvalue


def test_large_samples_with_and_without_ties():
    rng = np.random.default_rng(7)
    x, y = rng.exponential(size=20_000), rng.exponential(1.03, size=18_000)
    for a, b in [(x, y), (np.round(x, 1), np.round(y, 1))]:
        got, want = mannwhitney_u(a, b), sps.mannwhitneyu(a, b)
        assert got == (want.statistic, want.pvalue)
    assert mannwhitney_u(x, y)[1] < 0.05 < mannwhitney_u(x, x + 0.0)[1]


def test_known_value():
    # scipy.stats.mannwhitneyu's docstring example: U1 = 17 and, small samples without ties, the exact p = 0.1111
    males = [19, 22, 16, 29, 24]
    females = [20, 11, 17, 12]
    u, p = mannwhitney_u(np.array(males), np.array(females))
    assert u == 17.0
    assert p == sps.mannwhitneyu(males, females).pvalue  # small, no ties: the exact p-value
    assert round(p, 4) == 0.1111


def test_empty_or_nan_give_nan():
    assert all(np.isnan(mannwhitney_u(np.array([]), np.array([1.0]))))
    assert all(np.isnan(mannwhitney_u(np.array([np.nan, 1.0]), np.array([1.0, 2.0]))))
