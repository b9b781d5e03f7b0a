"""Tests of funnelkit.stats.srm (srm_test) against independent references.

References used (each test says which):
* DESIGN.md §6 table of known values (checked to the printed precision);
* scipy: chisquare.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from funnelkit.errors import ParameterError
from funnelkit.stats import SRMResult, srm_test


# =====================================================================================
# srm_test
# =====================================================================================


def test_srm_design_value():
    # DESIGN §6: counts [5000, 5200], 50/50 -> χ² 3.92157, p 0.047670
    res = srm_test([5000, 5200], [0.5, 0.5])
    assert isinstance(res, SRMResult)
    assert round(res.chi2, 5) == 3.92157
    assert round(res.p_value, 6) == 0.047670
    assert res.dof == 1 and not res.flagged and not res.skipped
    frame = res.to_frame()
    assert list(frame.columns) == [
        "k", "n_total", "chi2", "dof", "p_value", "threshold", "flagged", "skipped", "reason",
    ]  # fmt: skip
    assert len(frame) == 1
    arms = res.arms_frame()
    assert list(arms.columns) == ["arm", "observed", "expected", "observed_share", "expected_share"]
    assert arms["expected"].tolist() == [5100.0, 5100.0]


@pytest.mark.parametrize(
    ("counts", "weights"),
    [
        ([5000, 5200], None),
        ([1000, 2100, 950], [1, 2, 1]),
        ([120, 80, 100, 95], [25, 25, 25, 25]),
        ([10, 30], [0.2, 0.8]),
    ],
)
def test_srm_matches_scipy_chisquare(counts, weights):
    # scipy.stats.chisquare(f_obs=counts, f_exp=total * normalized weights), ddof=0
    res = srm_test(counts, weights)
    w = np.ones(len(counts)) if weights is None else np.asarray(weights, float)
    exp = np.sum(counts) * w / w.sum()
    ref = sps.chisquare(counts, f_exp=exp)
    assert res.chi2 == pytest.approx(ref.statistic, rel=1e-12)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    np.testing.assert_allclose(res.expected, exp)
    assert res.flagged == (ref.pvalue < 0.001)


def test_srm_flags_and_mappings():
    res = srm_test({"A": 5000, "B": 5600})
    assert res.flagged and res.arms == ("A", "B")
    res = srm_test(pd.Series({"ctl": 1000, "new": 1000}), {"new": 1, "ctl": 3})
    assert res.expected.tolist() == [1500.0, 500.0]
    assert res.flagged


def test_srm_skipped_below_min_expected_count():
    # the minimum applies to the *expected* counts (issue 14, defect 2)
    res = srm_test([3, 9])
    assert res.skipped and not res.flagged
    assert "arm '0' expects 6 users" in res.reason and "min_count=8" in res.reason
    assert math.isnan(res.chi2) and math.isnan(res.p_value)
    assert not srm_test([7, 30]).skipped  # expects 18.5 each: tested
    assert srm_test([0, 0]).skipped
    assert srm_test([2, 100], [1, 99]).skipped  # the small arm expects 1.02


def test_srm_flags_an_arm_that_received_nobody():
    # issue 14: srm_test([5000, 0]) was "skipped"; scipy.stats.chisquare([5000, 0]) -> chi2 5000
    res = srm_test([5000, 0])
    assert not res.skipped and res.flagged
    assert res.chi2 == pytest.approx(5000.0)
    assert srm_test({"A": 4000, "B": 3990, "C": 0}).flagged


@pytest.mark.parametrize(
    ("counts", "weights", "match"),
    [
        ([5000], None, "at least 2 arms"),
        ([5000, -1], None, "negative"),
        ([10, 10], [1, 1, 1], "one weight per arm"),
        ([10, 10], [1, 0], "positive"),
        ({"A": 10, "B": 10}, {"A": 1, "C": 1}, "must match"),
    ],
)
def test_srm_bad_arguments(counts, weights, match):
    with pytest.raises(ParameterError, match=match):
        srm_test(counts, weights)
