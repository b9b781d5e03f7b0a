"""stats/association.py against scipy (Fisher, chi-square) and statsmodels (Table2x2, multipletests)."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelkit.errors import ParameterError
from funnelkit.stats import association as assoc
from funnelkit.stats.multiple_testing import adjust_pvalues

scipy_stats = pytest.importorskip("scipy.stats")
tables = pytest.importorskip("statsmodels.stats.contingency_tables")
multitest = pytest.importorskip("statsmodels.stats.multitest")

cell = st.integers(0, 60)


@settings(max_examples=60, deadline=None)
@given(a=cell, b=cell, c=cell, d=cell)
def test_fisher_and_chi2_equal_scipy(a, b, c, d):
    want = scipy_stats.fisher_exact([[a, b], [c, d]]).pvalue
    assert float(assoc.fisher_pvalue(a, b, c, d)) == pytest.approx(want, rel=1e-9, abs=1e-12)
    if min(a + b, c + d, a + c, b + d) == 0:
        assert np.isnan(assoc.chi2_pvalue(a, b, c, d)[1])
        return
    for corr in (True, False):
        stat, p, _, _ = scipy_stats.chi2_contingency([[a, b], [c, d]], correction=corr)
        got_s, got_p = assoc.chi2_pvalue(a, b, c, d, correction=corr)
        assert float(got_s) == pytest.approx(stat, rel=1e-9, abs=1e-12)
        assert float(got_p) == pytest.approx(p, rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(a=cell, b=cell, c=cell, d=cell)
def test_odds_ratio_and_ci_equal_statsmodels_table2x2(a, b, c, d):
    t = tables.Table2x2(np.array([[a, b], [c, d]], dtype=float), shift_zeros=True)
    orr, lo, hi = assoc.odds_ratio(a, b, c, d)
    wlo, whi = t.oddsratio_confint(alpha=0.05)
    for got, want in ((orr, t.oddsratio), (lo, wlo), (hi, whi)):
        if np.isnan(want):
            assert np.isnan(got)
        else:
            assert float(got) == pytest.approx(want, rel=1e-9)


def test_auto_picks_fisher_below_five_expected_and_vectorizes():
    r = assoc.association_test([30, 3, 0], [30, 1, 10], [30, 2, 5], [30, 9, 5])
    assert r.test.tolist() == ["chi2", "fisher", "fisher"]
    assert r.p_value[0] == pytest.approx(scipy_stats.chi2_contingency([[30, 30], [30, 30]])[1])
    assert r.p_value[2] == pytest.approx(scipy_stats.fisher_exact([[0, 10], [5, 5]]).pvalue)
    assert list(r.to_frame().columns)[:4] == ["a", "b", "c", "d"]


def test_bh_over_candidates_equals_multipletests():
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 0.2, 40)
    want = multitest.multipletests(p, method="fdr_bh")[1]
    np.testing.assert_allclose(adjust_pvalues(p, method="bh"), want)


@pytest.mark.parametrize("bad", [-1, 2.5])
def test_bad_counts_raise(bad):
    with pytest.raises(ParameterError, match="counts"):
        assoc.association_test(bad, 1, 1, 1)
    with pytest.raises(ParameterError, match="alpha"):
        assoc.odds_ratio(1, 1, 1, 1, alpha=2)


def test_docstring_examples():
    res = doctest.testmod(assoc, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0 and res.failed == 0
