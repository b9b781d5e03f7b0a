"""Tests of funnelkit.stats.multiple_testing (adjust_pvalues) against independent references.

References used (each test says which):
* DESIGN.md §6 table of known values;
* statsmodels: multipletests.
"""

from __future__ import annotations

import gc
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from funnelkit.errors import ParameterError
from funnelkit.stats import adjust_pvalues

pytest.importorskip("statsmodels.stats.multitest")
from statsmodels.stats.multitest import multipletests  # noqa: E402

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def statsmodels_adjusted(p: np.ndarray, method: str) -> np.ndarray:
    """``multipletests(p, method=method)[1]``, without the full ``gc.collect()`` its holm
    branch runs on every call (a collection of the whole test process: ~50 ms alone,
    ~300 ms late in the suite). Collecting garbage has no effect on the values."""
    with mock.patch.object(gc, "collect", lambda *args, **kwargs: 0):
        return multipletests(p, method=method)[1]


# =====================================================================================
# adjust_pvalues
# =====================================================================================


def test_holm_design_value():
    # DESIGN §6: Holm on [0.01, 0.04, 0.03, 0.005, 0.55, 0.6] -> [0.05, 0.12, 0.12, 0.03, 1, 1]
    adj = adjust_pvalues([0.01, 0.04, 0.03, 0.005, 0.55, 0.6])
    np.testing.assert_allclose(adj, [0.05, 0.12, 0.12, 0.03, 1, 1], rtol=1e-12)


pvals = st.lists(
    st.one_of(st.floats(0, 1), st.sampled_from([0.0, 0.01, 0.05, 1.0]), st.just(np.nan)),
    min_size=1,
    max_size=30,
)


@SETTINGS  # 60 examples (statsmodels_adjusted: no gc.collect per call)
@given(pvals)
def test_adjust_matches_statsmodels(p):
    # statsmodels.stats.multitest.multipletests(p, method="holm" / "fdr_bh"), on the
    # non-NaN entries only (NaNs are not part of the family).
    p = np.array(p)
    keep = ~np.isnan(p)
    assume(keep.any())
    holm = adjust_pvalues(p, method="holm")
    bh = adjust_pvalues(p, method="bh")
    # atol: subnormal p-values (5e-324) have no relative precision; both round differently
    np.testing.assert_allclose(holm[keep], statsmodels_adjusted(p[keep], "holm"), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(bh[keep], statsmodels_adjusted(p[keep], "fdr_bh"), rtol=1e-12, atol=1e-300)


@settings(SETTINGS, max_examples=200)
@given(pvals)
def test_adjust_properties(p):
    p = np.array(p)
    keep = ~np.isnan(p)
    holm = adjust_pvalues(p, method="holm")
    bh = adjust_pvalues(p, method="bh")
    assert np.array_equal(np.isnan(holm), ~keep) and np.array_equal(np.isnan(bh), ~keep)
    np.testing.assert_array_equal(adjust_pvalues(p, method="none"), p)
    raw, h, b = p[keep], holm[keep], bh[keep]
    assert np.all(h >= raw - 1e-15) and np.all(b >= raw - 1e-15)
    assert np.all(h <= 1) and np.all(b <= 1)
    assert np.all(b <= h + 1e-15)  # BH is never more conservative than Holm
    order = np.argsort(raw, kind="stable")  # adjusted values keep the order of the raw ones
    assert np.all(np.diff(h[order]) >= -1e-15) and np.all(np.diff(b[order]) >= -1e-15)
    # Holm with one test is the identity
    if raw.size == 1:
        assert h[0] == raw[0] and b[0] == raw[0]


def test_adjust_keeps_shape_and_validates():
    p = np.array([[0.01, np.nan], [0.04, 0.03]])
    adj = adjust_pvalues(p, method="bh")
    assert adj.shape == (2, 2) and np.isnan(adj[0, 1])
    np.testing.assert_allclose(adj[~np.isnan(adj)], multipletests([0.01, 0.04, 0.03], method="fdr_bh")[1])
    assert p[0, 0] == 0.01  # input untouched
    with pytest.raises(ParameterError, match=r"\[0, 1\]"):
        adjust_pvalues([0.2, 1.5])
    with pytest.raises(ParameterError, match="Did you mean 'holm'"):
        adjust_pvalues([0.2], method="hom")
    assert adjust_pvalues([]).shape == (0,)
