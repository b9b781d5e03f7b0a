"""Tests of funnelkit.stats against independent references.

References used (each test says which):
* DESIGN.md §6 table of known values (checked to the printed precision);
* statsmodels: proportion_confint, proportions_ztest, confint_proportions_2indep,
  multipletests, NormalIndPower + proportion_effectsize, power_proportions_2indep,
  samplesize_proportions_2indep_onetail;
* scipy: ttest_ind_from_stats (Welch), chisquare, integrate.quad;
* closed forms written out here (Evan Miller's Bayesian formula, the mSPRT of Johari
  et al., a numerical-gradient delta method), seeded Monte Carlo and A/A simulations.
"""

from __future__ import annotations

import doctest
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy import integrate, special
from scipy import stats as sps

import funnelkit.stats as fs
from funnelkit.errors import ParameterError, StatisticsWarning
from funnelkit.stats import (
    BayesTest,
    DiffTest,
    LiftTest,
    SequentialTest,
    SRMResult,
    adjust_pvalues,
    bayes_test,
    diff_test,
    lift_test,
    mde,
    power,
    proportion_ci,
    sample_size,
    sequential_test,
    srm_test,
)

smp = pytest.importorskip("statsmodels.stats.proportion")
from statsmodels.stats.multitest import multipletests  # noqa: E402
from statsmodels.stats.power import NormalIndPower, normal_sample_size_one_tail  # noqa: E402

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALTERNATIVES = ("two-sided", "larger", "smaller")
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


def test_public_api():
    assert set(fs.__all__) == {
        "proportion_ci", "diff_test", "lift_test", "srm_test", "adjust_pvalues",
        "bayes_test", "sequential_test", "power", "mde", "sample_size",
        "DiffTest", "LiftTest", "SRMResult", "BayesTest", "SequentialTest",
    }  # fmt: skip
    for name in fs.__all__:
        assert getattr(fs, name).__doc__


def test_docstring_examples_run():
    """The numpydoc examples are doctests; they must print what they claim."""
    res = doctest.testmod(fs, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 15
    assert res.failed == 0


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


# =====================================================================================
# diff_test
# =====================================================================================


def _welch_reference(cc, nc, ct, nt, alternative):
    # scipy.stats.ttest_ind_from_stats(equal_var=False) is Welch's test; with the
    # per-unit sd sqrt(p(1-p)) (gbstats' variance, no n/(n-1)) passed as "std" it gives
    # SE = sqrt(vT/nT + vC/nC) and the Welch–Satterthwaite df with (n - 1) terms.
    pc, pt = cc / nc, ct / nt
    alt = {"two-sided": "two-sided", "larger": "greater", "smaller": "less"}[alternative]
    return sps.ttest_ind_from_stats(
        mean1=pt, std1=math.sqrt(pt * (1 - pt)), nobs1=nt,
        mean2=pc, std2=math.sqrt(pc * (1 - pc)), nobs2=nc,
        equal_var=False, alternative=alt,
    )  # fmt: skip


@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize(
    "counts", [(14, 28, 16, 30), (100, 1000, 130, 1000), (0, 50, 4, 60), (1396, 3000, 2422, 3461)]
)
def test_welch_matches_scipy(counts, alternative, no_stat_warnings):
    res = diff_test(*counts, alternative=alternative)
    ref = _welch_reference(*counts, alternative)
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
    # CI: Δ ± t_{ν}·SE with SE = Δ/t from scipy and ν from the Welch formula.
    cc, nc, ct, nt = counts
    pc, pt = cc / nc, ct / nt
    vc, vt = pc * (1 - pc), pt * (1 - pt)
    nu = (vt / nt + vc / nc) ** 2 / (vt**2 / (nt**2 * (nt - 1)) + vc**2 / (nc**2 * (nc - 1)))
    assert res.dof == pytest.approx(nu, rel=1e-12)
    se = (pt - pc) / ref.statistic
    assert res.se == pytest.approx(se, rel=1e-12)
    if alternative == "two-sided":
        q = sps.t.ppf(0.975, nu)
        assert (res.ci_low, res.ci_high) == pytest.approx((pt - pc - q * se, pt - pc + q * se))
    elif alternative == "larger":
        assert res.ci_low == pytest.approx(pt - pc - sps.t.ppf(0.95, nu) * se)
        assert res.ci_high == math.inf
    else:
        assert res.ci_low == -math.inf
        assert res.ci_high == pytest.approx(pt - pc + sps.t.ppf(0.95, nu) * se)


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_z_pooled_matches_statsmodels(alternative, no_stat_warnings):
    # statsmodels.stats.proportion.proportions_ztest(count=[conv_t, conv_c],
    # nobs=[n_t, n_c], value=None (-> 0), alternative, prop_var=False (pooled)):
    # treatment first so that "larger" means pT > pC. The interval is checked against
    # confint_proportions_2indep(conv_t, n_t, conv_c, n_c, method="wald", compare="diff").
    cc = np.array([100, 14, 0, 50, 990])
    nc = np.array([1000, 28, 50, 50, 1000])
    ct = np.array([130, 16, 4, 45, 1000])
    nt = np.array([1000, 30, 60, 55, 1000])
    res = diff_test(cc, nc, ct, nt, test="z_pooled", alternative=alternative)
    for i in range(cc.size):
        z, p = smp.proportions_ztest([ct[i], cc[i]], [nt[i], nc[i]], alternative=alternative)
        assert res.statistic[i] == pytest.approx(z, rel=1e-12)
        assert res.p_value[i] == pytest.approx(p, rel=1e-10)
        assert res.dof[i] == math.inf
        if alternative == "two-sided":
            lo, hi = smp.confint_proportions_2indep(
                ct[i], nt[i], cc[i], nc[i], method="wald", compare="diff"
            )
            assert (res.ci_low[i], res.ci_high[i]) == pytest.approx((lo, hi), rel=1e-10)


def test_diff_vectorized_and_tidy(no_stat_warnings):
    res = diff_test(np.array([[10], [20]]), 100, [12, 15, 30], 100)
    assert isinstance(res, DiffTest)
    assert res.p_value.shape == (2, 3)
    frame = res.to_frame()
    assert list(frame.columns) == [
        "conv_c", "n_c", "rate_c", "conv_t", "n_t", "rate_t", "abs_diff", "se",
        "ci_low", "ci_high", "statistic", "dof", "p_value", "alpha", "alternative", "test",
    ]  # fmt: skip
    assert len(frame) == 6
    assert frame["p_value"].iloc[4] == pytest.approx(diff_test(20, 100, 15, 100).p_value)
    assert (frame["test"] == "welch").all()
    one = diff_test(1, 10, 2, 10)
    assert isinstance(one.p_value, float)
    assert len(one.to_frame()) == 1
    assert "<table" in one._repr_html_()


def test_diff_zero_control_is_defined(no_stat_warnings):
    res = diff_test(0, 200, 10, 200)
    assert res.abs_diff == pytest.approx(0.05)
    assert 0 < res.p_value < 0.01
    # With pC = 0, only the treatment term contributes and ν = nT - 1.
    assert res.dof == pytest.approx(199)


def test_diff_zero_se_gives_nan_with_warning():
    for args in [(0, 100, 0, 80), (100, 100, 80, 80), (0, 100, 80, 80)]:
        with pytest.warns(StatisticsWarning, match="standard error"):
            res = diff_test(*args)
        assert not math.isnan(res.abs_diff)
        assert res.se == 0
        assert all(math.isnan(v) for v in (res.statistic, res.dof, res.p_value, res.ci_low, res.ci_high))
    # z test: pooled SE is 0 when both arms are 0 %: NaN as well.
    with pytest.warns(StatisticsWarning):
        assert math.isnan(diff_test(0, 100, 0, 80, test="z_pooled").p_value)
    # 0 % vs 100 %: the pooled z test is defined (matches statsmodels), the Wald CI is not.
    with pytest.warns(StatisticsWarning, match="interval is NaN"):
        res = diff_test(0, 100, 80, 80, test="z_pooled")
    assert res.p_value == pytest.approx(smp.proportions_ztest([80, 0], [80, 100])[1])
    assert math.isnan(res.ci_low)


def test_diff_empty_arm_nan_with_warning():
    with pytest.warns(StatisticsWarning, match="n_c = 0"):
        res = diff_test([0, 5], [0, 50], [3, 6], [40, 50])
    assert np.isnan(res.rate_c[0]) and np.isnan(res.p_value[0]) and np.isnan(res.abs_diff[0])
    assert np.isfinite(res.p_value[1])


def test_diff_full_conversion(no_stat_warnings):
    res = diff_test(100, 100, 95, 100)  # control at 100 %: variance from treatment only
    assert res.abs_diff == pytest.approx(-0.05)
    assert res.dof == pytest.approx(99)
    assert 0 < res.p_value < 0.1


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((5, 10, 12, 10), r"`conv_t`=12 exceeds `n_t`=10"),
        ((-1, 10, 2, 10), r"`conv_c`=-1 is negative"),
        ((1, 10, 2, -10), r"`n_t`=-10 is negative"),
        ((1, 10, 2, [10, np.inf]), r"`n_t` must be finite"),
        ((True, 10, 2, 10), r"`conv_c` must be a number"),
        (([1, 2], 10, [1, 2, 3], 10), r"cannot be broadcast"),
    ],
)
def test_diff_bad_counts(args, match):
    with pytest.raises(ParameterError, match=match):
        diff_test(*args)


def test_diff_bad_choices():
    with pytest.raises(ParameterError, match="Did you mean 'two-sided'"):
        diff_test(1, 10, 2, 10, alternative="two_sided")
    with pytest.raises(ParameterError, match="`test`='t'"):
        diff_test(1, 10, 2, 10, test="t")
    with pytest.raises(ParameterError, match="`alpha`=0"):
        diff_test(1, 10, 2, 10, alpha=0)


@SETTINGS
@given(interior_arm(), interior_arm(), st.sampled_from(["welch", "z_pooled"]))
def test_diff_properties(c, t, test):
    res = diff_test(*c, *t, test=test)
    assert res.ci_low <= res.abs_diff <= res.ci_high
    assert 0.0 <= res.p_value <= 1.0
    # swapping the arms negates Δ and keeps the two-sided p-value
    swapped = diff_test(*t, *c, test=test)
    assert swapped.abs_diff == pytest.approx(-res.abs_diff, abs=1e-15)
    assert swapped.p_value == pytest.approx(res.p_value, rel=1e-9, abs=1e-15)
    larger = diff_test(*c, *t, test=test, alternative="larger").p_value
    smaller = diff_test(*c, *t, test=test, alternative="smaller").p_value
    assert larger + smaller == pytest.approx(1.0, abs=1e-12)
    if test == "welch":  # duality of the t test and its interval (away from the boundary)
        if abs(res.p_value - 0.05) > 1e-9:
            assert (res.p_value < 0.05) == (res.ci_low > 0 or res.ci_high < 0)


# =====================================================================================
# lift_test
# =====================================================================================


def test_lift_design_value(no_stat_warnings):
    # DESIGN §6: C 14/28, T 16/30 -> L 0.06667, SE 0.27170, CI (-0.47767, 0.61101), p 0.80707
    res = lift_test(14, 28, 16, 30)
    assert isinstance(res, LiftTest)
    assert round(res.lift, 5) == 0.06667
    assert round(res.se, 5) == 0.27170
    assert round(res.ci_low, 5) == -0.47767
    assert round(res.ci_high, 5) == 0.61101
    assert round(res.p_value, 5) == 0.80707
    # The known value pins the degrees of freedom: Welch ν of the two rates (55.71);
    # pooled df (n_C + n_T - 2 = 56) or a normal quantile would miss the 5th decimal.
    assert res.dof == pytest.approx(diff_test(14, 28, 16, 30).dof)
    for q in (sps.t.ppf(0.975, 56), sps.norm.ppf(0.975)):
        assert round(res.lift - q * res.se, 5) != -0.47767


@SETTINGS
@given(interior_arm(), interior_arm())
def test_lift_se_is_the_delta_method(c, t):
    # Independent delta method: numerical gradient of g(pC, pT) = pT/pC - 1 with the
    # covariance diag(pC(1-pC)/nC, pT(1-pT)/nT).
    (xc, nc), (xt, nt) = c, t
    pc, pt = xc / nc, xt / nt
    h = 1e-6 * pc
    dgc = ((pt / (pc + h) - 1) - (pt / (pc - h) - 1)) / (2 * h)
    dgt = 1 / pc
    se = math.sqrt(dgc**2 * pc * (1 - pc) / nc + dgt**2 * pt * (1 - pt) / nt)
    res = lift_test(xc, nc, xt, nt)
    assert res.lift == pytest.approx(pt / pc - 1, rel=1e-12, abs=1e-15)
    assert res.se == pytest.approx(se, rel=1e-6)
    assert res.ci_low <= res.lift <= res.ci_high
    assert 0 <= res.p_value <= 1


def test_lift_zero_control_nan_with_warning():
    with pytest.warns(StatisticsWarning, match="control rate is 0"):
        res = lift_test([0, 10], 100, [5, 12], 100)
    assert np.isnan(res.lift[0]) and np.isnan(res.se[0]) and np.isnan(res.p_value[0])
    assert np.isfinite(res.p_value[1])
    assert res.rate_c[0] == 0.0
    assert len(res.to_frame()) == 2


def test_lift_one_sided():
    res = lift_test(100, 1000, 130, 1000, alternative="larger")
    two = lift_test(100, 1000, 130, 1000)
    assert res.p_value == pytest.approx(two.p_value / 2)
    assert res.ci_high == math.inf and res.ci_low > 0


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
        ([9, 30], [0.2, 0.8]),
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


def test_srm_skipped_below_min_count():
    res = srm_test([7, 30])
    assert res.skipped and not res.flagged
    assert "arm '0' has 7 users" in res.reason and "min_count=8" in res.reason
    assert math.isnan(res.chi2) and math.isnan(res.p_value)
    assert not srm_test([8, 30]).skipped
    assert srm_test([0, 0]).skipped


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


@settings(SETTINGS, max_examples=25)  # multipletests itself takes ~70 ms per call here
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
    np.testing.assert_allclose(holm[keep], multipletests(p[keep], method="holm")[1], rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(bh[keep], multipletests(p[keep], method="fdr_bh")[1], rtol=1e-12, atol=1e-300)


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
# A/A simulations: false-positive rates
# =====================================================================================


def test_aa_fixed_horizon_false_positive_rate_is_alpha():
    rng = np.random.default_rng(11)
    sims, n, p, alpha = 20_000, 2000, 0.1, 0.05
    cc = rng.binomial(n, p, sims)
    ct = rng.binomial(n, p, sims)
    rate = np.mean(diff_test(cc, n, ct, n).p_value < alpha)
    se = math.sqrt(alpha * (1 - alpha) / sims)
    assert abs(rate - alpha) < 4 * se


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


# =====================================================================================
# power, mde, sample_size
# =====================================================================================


def test_sample_size_design_values():
    # DESIGN §6: p = 0.20, δ = +0.05 absolute, power 0.8 -> 1030.22 (evanmiller), 1093.74 (pooled)
    assert round(sample_size(0.20, 0.05), 2) == 1030.22
    assert round(sample_size(0.20, 0.05, method="pooled"), 2) == 1093.74
    assert sample_size(0.20, 0.25, relative=True) == pytest.approx(sample_size(0.20, 0.05))
    assert isinstance(sample_size(0.2, 0.05), float)


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_pooled_matches_statsmodels(alternative):
    # statsmodels.stats.proportion.samplesize_proportions_2indep_onetail(diff, prop2=p_c,
    # power, ratio=1, alpha, alternative) uses the pooled null variance and one tail,
    # i.e. our "pooled" closed form; power_proportions_2indep (nobs1, ratio=1) adds the
    # wrong-direction tail for two-sided tests, so it is an upper bound there.
    for p_c, eff in [(0.2, 0.05), (0.05, 0.01), (0.5, -0.1), (0.9, 0.05)]:
        if (alternative == "larger" and eff < 0) or (alternative == "smaller" and eff > 0):
            eff = -eff
        ref_n = smp.samplesize_proportions_2indep_onetail(eff, p_c, 0.8, alpha=0.05, alternative=alternative)
        assert sample_size(p_c, eff, method="pooled", alternative=alternative) == pytest.approx(ref_n, rel=1e-10)
        ref_pow = smp.power_proportions_2indep(eff, p_c, 777.0, alpha=0.05, alternative=alternative).power
        ours = power(p_c, eff, 777.0, method="pooled", alternative=alternative)
        if alternative == "two-sided":
            pbar = p_c + eff / 2
            s0 = math.sqrt(2 * pbar * (1 - pbar))
            s1 = math.sqrt(p_c * (1 - p_c) + (p_c + eff) * (1 - p_c - eff))
            far_tail = sps.norm.cdf((-abs(eff) * math.sqrt(777.0) - sps.norm.isf(0.025) * s0) / s1)
            assert ours == pytest.approx(ref_pow - far_tail, rel=1e-10)
        else:
            assert ours == pytest.approx(ref_pow, rel=1e-10)


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_cohen_h_matches_statsmodels(alternative):
    # statsmodels.stats.power.NormalIndPower().power / .solve_power with
    # effect_size = proportion_effectsize(p_t, p_c) (2 asin √p_t - 2 asin √p_c), ratio=1.
    for p_c, eff in [(0.2, 0.05), (0.05, 0.01), (0.5, -0.1), (0.9, 0.05)]:
        if (alternative == "larger" and eff < 0) or (alternative == "smaller" and eff > 0):
            eff = -eff
        h = smp.proportion_effectsize(p_c + eff, p_c)
        for n in (50.0, 800.0, 5000.0):
            ref = NormalIndPower().power(h, nobs1=n, alpha=0.05, ratio=1, alternative=alternative)
            assert power(p_c, eff, n, method="cohen_h", alternative=alternative) == pytest.approx(ref, rel=1e-10)
        ref_n = NormalIndPower().solve_power(h, alpha=0.05, power=0.8, ratio=1, alternative=alternative)
        ours = sample_size(p_c, eff, method="cohen_h", alternative=alternative)
        assert ours == pytest.approx(ref_n, rel=1e-6)


def test_evanmiller_formula():
    # Evan Miller's calculator: baseline 20 %, +5 points absolute, 80 % power, 5 % ->
    # "1,030 per variation"; and the generic statsmodels normal_sample_size_one_tail with
    # his null sd √(2p(1-p)) and alternative sd √(p1(1-p1) + p2(1-p2)).
    assert round(sample_size(0.2, 0.05)) == 1030
    for p_c, eff, alt in [(0.1, 0.02, "two-sided"), (0.3, -0.05, "smaller"), (0.6, 0.1, "larger")]:
        a = 0.05 / 2 if alt == "two-sided" else 0.05
        ref = normal_sample_size_one_tail(
            abs(eff), 0.8, a, std_null=math.sqrt(2 * p_c * (1 - p_c)),
            std_alternative=math.sqrt(p_c * (1 - p_c) + (p_c + eff) * (1 - p_c - eff)),
        )  # fmt: skip
        assert sample_size(p_c, eff, alternative=alt) == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("method", ["evanmiller", "pooled", "cohen_h"])
@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize("relative", [False, True])
def test_power_sample_size_mde_round_trips(method, alternative, relative):
    p_c = np.array([0.02, 0.2, 0.5, 0.85])
    eff = np.array([0.005, 0.05, 0.08, 0.1])
    if relative:
        eff = eff / p_c
    if alternative == "smaller":
        eff = -eff
    kw = dict(alternative=alternative, relative=relative, method=method)
    for target in (0.6, 0.8, 0.95):
        n = sample_size(p_c, eff, power=target, **kw)
        np.testing.assert_allclose(power(p_c, eff, n, **kw), target, rtol=1e-9)
        back = mde(p_c, n, power=target, **kw)
        if alternative == "two-sided" and np.any(eff < 0):
            back = -back
        np.testing.assert_allclose(back, eff, rtol=1e-7)


@SETTINGS
@given(
    st.floats(0.01, 0.9),
    st.floats(0.005, 0.09),
    st.floats(10, 1e5),
    st.floats(1.01, 3),
    st.sampled_from(["evanmiller", "pooled", "cohen_h"]),
    st.sampled_from(ALTERNATIVES),
)
def test_power_monotone_in_n_and_effect(p_c, eff, n, factor, method, alternative):
    if alternative == "smaller":
        eff = -eff
        assume(p_c + eff > 0)
    kw = dict(method=method, alternative=alternative)
    base = power(p_c, eff, n, **kw)
    assert 0 <= base <= 1
    assert power(p_c, eff, n * factor, **kw) >= base - 1e-15
    bigger = eff * factor
    if 0 <= p_c + bigger <= 1:
        assert power(p_c, bigger, n, **kw) >= base - 1e-15 or base < 0.5


def test_power_vectorized_and_errors():
    out = power([0.1, 0.2], 0.02, [[100], [1000]])
    assert out.shape == (2, 2)
    with pytest.raises(ParameterError, match=r"`p_c`=0 must lie in \(0, 1\)"):
        power(0, 0.1, 100)
    with pytest.raises(ParameterError, match="outside"):
        power(0.95, 0.1, 100)
    with pytest.raises(ParameterError, match="n_per_arm"):
        power(0.2, 0.1, 0)
    with pytest.raises(ParameterError, match="non-zero"):
        sample_size(0.2, 0.0)
    with pytest.raises(ParameterError, match="alternative='larger'"):
        sample_size(0.2, -0.05, alternative="larger")
    with pytest.raises(ParameterError, match="alternative='smaller'"):
        sample_size(0.2, 0.05, alternative="smaller")
    with pytest.raises(ParameterError, match="Did you mean 'cohen_h'"):
        sample_size(0.2, 0.05, method="cohen")
    with pytest.raises(ParameterError, match="power"):
        mde(0.2, 1000, power=0.3)


def test_mde_unreachable_is_nan_with_warning():
    with pytest.warns(StatisticsWarning, match="minimum detectable effect is NaN"):
        res = mde([0.9, 0.2], [5, 1000])
    assert np.isnan(res[0]) and np.isfinite(res[1])
    assert mde(0.2, 1000, alternative="smaller") < 0
    assert mde(0.2, 1000, alternative="larger") < mde(0.2, 1000)  # one-sided needs less
