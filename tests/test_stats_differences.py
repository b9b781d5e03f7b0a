"""Tests of funnelkit.stats.differences (diff_test, lift_test) against independent references.

References used (each test says which):
* DESIGN.md §6 table of known values (checked to the printed precision);
* statsmodels: proportions_ztest, confint_proportions_2indep;
* scipy: ttest_ind_from_stats (Welch);
* a numerical-gradient delta method written out here, and a seeded A/A simulation.
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
from funnelkit.stats import DiffTest, LiftTest, diff_test, lift_test

smp = pytest.importorskip("statsmodels.stats.proportion")

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALTERNATIVES = ("two-sided", "larger", "smaller")


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
# A/A simulation: false-positive rate
# =====================================================================================


def test_aa_fixed_horizon_false_positive_rate_is_alpha():
    rng = np.random.default_rng(11)
    sims, n, p, alpha = 20_000, 2000, 0.1, 0.05
    cc = rng.binomial(n, p, sims)
    ct = rng.binomial(n, p, sims)
    rate = np.mean(diff_test(cc, n, ct, n).p_value < alpha)
    se = math.sqrt(alpha * (1 - alpha) / sims)
    assert abs(rate - alpha) < 4 * se
