"""Tests of funnelkit.stats.means, .moments (ratio, CUPED) and .bayes_means against
GrowthBook's gbstats and scipy.

gbstats is not a dependency: the reference values below were computed once with
gbstats 0.8.0 (``pip install gbstats`` in a separate environment; script in the comments)
from the same sums, and copied here:

    from gbstats.models.statistics import SampleMeanStatistic as S, RatioStatistic, \
        RegressionAdjustedStatistic
    from gbstats.frequentist.tests import TwoSidedTTest, OneSidedTreatmentGreaterTTest, \
        OneSidedTreatmentLesserTTest, SequentialTwoSidedTTest, FrequentistConfig, SequentialConfig
    from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig
    a = S(n=3407, sum=76987.9, sum_squares=5473432.0); b = S(n=3395, sum=84210.3, sum_squares=6231100.5)
    TwoSidedTTest(a, b, FrequentistConfig(difference_type="absolute")).compute_result()  # etc.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats as sps

from funnelkit.errors import ParameterError, StatisticsWarning
from funnelkit.stats.bayes_means import mean_bayes_test
from funnelkit.stats.means import mean_test
from funnelkit.stats.moments import cuped, ratio_moments, sample_moments

A = dict(n=3407, total=76987.9, sum_squares=5473432.0)
B = dict(n=3395, total=84210.3, sum_squares=6231100.5)


def moments():
    ma, va = sample_moments(**A)
    mb, vb = sample_moments(**B)
    return ma, va, A["n"], mb, vb, B["n"]


def test_sample_moments_match_gbstats():
    ma, va = sample_moments(**A)
    assert ma == pytest.approx(22.596976812444964, rel=1e-12)
    assert va == pytest.approx(1096.2237841635845, rel=1e-12)


def test_two_sided_matches_gbstats_and_scipy():
    r = mean_test(*moments())
    # gbstats TwoSidedTTest, difference_type="absolute"
    assert r.abs_diff == pytest.approx(2.207235264138248, rel=1e-12)
    assert (r.abs_ci_low, r.abs_ci_high) == pytest.approx((0.5892319760600322, 3.825238552216464), rel=1e-10)
    assert r.p_value == pytest.approx(0.0075086093033542856, rel=1e-9)
    # difference_type="relative"
    assert r.lift == pytest.approx(0.09767834354384275, rel=1e-12)
    assert (r.lift_ci_low, r.lift_ci_high) == pytest.approx((0.022691072578141736, 0.17266561450954376), rel=1e-10)
    assert r.lift_p_value == pytest.approx(0.010686232759435033, rel=1e-9)
    # scipy's Welch test from the same moments
    ma, va, na, mb, vb, nb = moments()
    ref = sps.ttest_ind_from_stats(mb, np.sqrt(vb), nb, ma, np.sqrt(va), na, equal_var=False)
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-10)


def test_one_sided_match_gbstats():
    g = mean_test(*moments(), alternative="larger")
    assert g.p_value == pytest.approx(0.0037543046516771428, rel=1e-9)
    assert g.abs_ci_low == pytest.approx(0.8494209993105128, rel=1e-10) and g.abs_ci_high == np.inf
    assert g.lift_p_value == pytest.approx(0.005343116379717516, rel=1e-9)
    assert g.lift_ci_low == pytest.approx(0.0347496789682183, rel=1e-10)
    s = mean_test(*moments(), alternative="smaller")
    assert s.p_value == pytest.approx(0.9962456953483229, rel=1e-9)
    assert s.lift_p_value == pytest.approx(0.9946568836202825, rel=1e-9)
    # gbstats' OneSidedTreatmentLesserTTest reports [-inf, estimate - width]; the upper bound of a
    # "smaller" interval is estimate + width (we check it against the two-sided 90 % interval)
    two90 = mean_test(*moments(), alpha=0.10)
    assert s.abs_ci_low == -np.inf and s.abs_ci_high == pytest.approx(two90.abs_ci_high)


def test_sequential_matches_gbstats():
    r = mean_test(*moments(), sequential=True, n_star=5000)
    assert (r.abs_ci_low, r.abs_ci_high) == pytest.approx((-0.3020795065644166, 4.716550034840912), rel=1e-10)
    assert r.p_value == pytest.approx(0.13020099204612645, rel=1e-9)
    assert (r.lift_ci_low, r.lift_ci_high) == pytest.approx((-0.018617258594525996, 0.2139739456822115), rel=1e-9)
    assert r.lift_p_value == pytest.approx(0.1737876071176022, rel=1e-9)
    with pytest.raises(ParameterError, match="two-sided only"):
        mean_test(*moments(), sequential=True, alternative="larger")


def test_noninferiority_matches_gbstats_test_value():
    # gbstats OneSidedTreatmentGreaterTTest(difference_type="relative", test_value=-0.05)
    r = mean_test(*moments(), margin=0.05)
    assert r.noninferiority_p_value == pytest.approx(5.708014301342157e-05, rel=1e-8)
    assert np.isnan(mean_test(*moments()).noninferiority_p_value)
    # lower is better: H0 L >= margin; by symmetry, the mirrored arms give the same p
    low = mean_test(*moments(), margin=0.05, higher_is_better=False)
    r0 = mean_test(*moments())
    assert low.noninferiority_p_value == pytest.approx(sps.t.cdf((r0.lift - 0.05) / r0.lift_se, r0.dof))
    with pytest.raises(ParameterError, match="margin"):
        mean_test(*moments(), margin=-0.1)


def test_ratio_matches_gbstats():
    ra = ratio_moments(3407, 76987.9, 5473432.0, 1702, 2510, 101234.5)
    rb = ratio_moments(3395, 84210.3, 6231100.5, 1768, 2644, 113050.2)
    # gbstats RatioStatistic .mean / .variance
    assert ra == pytest.approx((45.23378378378378, 1706.694227465095), rel=1e-10)
    assert rb == pytest.approx((47.63026018099548, 1586.3758673698549), rel=1e-10)
    r = mean_test(ra[0], ra[1], 3407, rb[0], rb[1], 3395)
    assert r.abs_diff == pytest.approx(2.3964763972117, rel=1e-10)
    assert (r.abs_ci_low, r.abs_ci_high) == pytest.approx((0.4675780801631846, 4.3253747142602155), rel=1e-9)
    assert r.p_value == pytest.approx(0.014896502352739871, rel=1e-8)
    assert r.lift == pytest.approx(0.05297979069508733, rel=1e-10)
    assert (r.lift_ci_low, r.lift_ci_high) == pytest.approx((0.009153492279465818, 0.09680608911070884), rel=1e-8)
    assert r.lift_p_value == pytest.approx(0.017828321772443312, rel=1e-8)


def test_ratio_delta_method_by_simulation():
    # the delta-method variance of sum(m)/sum(d) is close to the spread of simulated ratios
    rng = np.random.default_rng(0)
    n = 2000
    d = rng.poisson(1.5, (300, n)).astype(float)
    m = d * rng.gamma(2.0, 20.0, (300, n))
    ratios = m.sum(1) / d.sum(1)
    _, v = ratio_moments(n, m[0].sum(), (m[0] ** 2).sum(), d[0].sum(), (d[0] ** 2).sum(), (m[0] * d[0]).sum())
    assert np.sqrt(v / n) == pytest.approx(ratios.std(ddof=1), rel=0.15)


def cuped_inputs():
    return (3407, 76987.9, 5473432.0, 70111.2, 4990000.0, 2890000.0,
            3395, 84210.3, 6231100.5, 69987.0, 4985000.0, 3120000.0)


def test_cuped_matches_gbstats():
    c = cuped(*cuped_inputs())
    # gbstats compute_theta / RegressionAdjustedStatistic
    assert c.theta == pytest.approx(0.3794175633528443, rel=1e-10)
    assert (c.mean_c, c.mean_t) == pytest.approx((14.789104588275919, 16.98262238398365), rel=1e-10)
    assert (c.var_c, c.var_t) == pytest.approx((955.2485117939119, 1061.2887004301813), rel=1e-10)
    r = mean_test(c.mean_c, c.var_c, 3407, c.mean_t, c.var_t, 3395, base_c=c.base_c, base_t=c.base_t)
    assert r.abs_diff == pytest.approx(2.1935177957077308, rel=1e-10)
    assert (r.abs_ci_low, r.abs_ci_high) == pytest.approx((0.6839720889778742, 3.7030635024375873), rel=1e-9)
    assert r.p_value == pytest.approx(0.00440542094004126, rel=1e-8)
    assert r.lift == pytest.approx(0.0970712947096393, rel=1e-10)
    assert (r.lift_ci_low, r.lift_ci_high) == pytest.approx((0.027107113983224698, 0.1670354754360539), rel=1e-9)
    assert r.lift_p_value == pytest.approx(0.006548325372832675, rel=1e-8)
    assert 0 < c.variance_reduction < 1
    u = mean_test(*moments())
    assert c.variance_reduction == pytest.approx(1 - r.abs_se**2 / u.abs_se**2)


def test_cuped_without_pre_period_variance_is_no_adjustment():
    c = cuped(3, 6.0, 14.0, 0.0, 0.0, 0.0, 3, 9.0, 29.0, 0.0, 0.0, 0.0)
    assert c.theta == 0 and c.variance_reduction == 0
    assert (c.mean_c, c.mean_t) == (2.0, 3.0)


def test_cuped_equals_ols_on_simulated_units():
    # the adjusted difference equals the OLS coefficient of the arm in y ~ arm + x (pooled theta)
    rng = np.random.default_rng(1)
    x = rng.gamma(2, 10, 4000)
    arm = np.arange(4000) % 2
    y = 0.6 * x + rng.normal(0, 5, 4000) + 1.5 * arm
    s = lambda v: (v.sum(), (v**2).sum())  # noqa: E731
    c_, t_ = arm == 0, arm == 1
    res = cuped(c_.sum(), *s(y[c_]), *s(x[c_]), (x[c_] * y[c_]).sum(),
                t_.sum(), *s(y[t_]), *s(x[t_]), (x[t_] * y[t_]).sum())
    theta = np.cov(x, y)[0, 1] / x.var(ddof=1)
    assert res.theta == pytest.approx(theta, rel=1e-10)
    assert res.mean_t - res.mean_c == pytest.approx((y[t_].mean() - y[c_].mean()) - theta * (x[t_].mean() - x[c_].mean()))
    assert res.variance_reduction == pytest.approx(72 / 97, abs=0.03)  # corr(x, y)² = 0.36·200 / (72 + 25)


def test_bayes_means_match_gbstats():
    ma, va, na, mb, vb, nb = moments()
    rel = mean_bayes_test(ma, va, na, mb, vb, nb)  # gbstats EffectBayesianABTest, flat prior, relative
    assert rel.chance_to_beat_control == pytest.approx(0.9946677335938082, rel=1e-9)
    assert (rel.expected_loss_control, rel.expected_loss) == pytest.approx(
        (0.09774321631542177, 6.487277157902932e-05), rel=1e-7)
    ab = mean_bayes_test(ma, va, na, mb, vb, nb, relative=False)
    assert ab.chance_to_beat_control == pytest.approx(0.9962546802021336, rel=1e-9)
    assert (ab.expected_loss_control, ab.expected_loss) == pytest.approx(
        (2.20818699337293, 0.0009517292346819635), rel=1e-7)
    c = cuped(*cuped_inputs())
    ra = mean_bayes_test(c.mean_c, c.var_c, 3407, c.mean_t, c.var_t, 3395, base_c=c.base_c, base_t=c.base_t)
    assert ra.chance_to_beat_control == pytest.approx(0.9967341609237468, rel=1e-9)
    assert ra.expected_loss == pytest.approx(3.545436684781991e-05, rel=1e-7)


def test_edge_cases_are_nan_with_warnings():
    with pytest.warns(StatisticsWarning, match="fewer than 2"):
        r = mean_test(1.0, 0.0, 1, 2.0, 1.0, 10)
    assert np.isnan(r.p_value)
    with pytest.warns(StatisticsWarning, match="control mean is 0"):
        r = mean_test(0.0, 1.0, 10, 2.0, 1.0, 10)
    assert np.isnan(r.lift) and np.isfinite(r.p_value)
    with pytest.warns(StatisticsWarning, match="standard error"):
        mean_test(1.0, 0.0, 10, 1.0, 0.0, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = mean_test([1.0, 2.0], 1.0, 100, [1.1, 2.5], 1.0, 100)
    assert out.to_frame().shape[0] == 2


@pytest.mark.parametrize("call", [
    lambda: mean_test(1, -1, 10, 1, 1, 10),
    lambda: mean_test(1, 1, -10, 1, 1, 10),
    lambda: mean_test("a", 1, 10, 1, 1, 10),
    lambda: mean_test(1, 1, 10, 1, 1, 10, alpha="x"),
    lambda: mean_test(1, 1, 10, 1, 1, 10, sequential=1),
    lambda: mean_bayes_test(1, 1, 10, 1, 1, 10, relative="no"),
    lambda: ratio_moments(-1, 1, 1, 1, 1, 1),
    lambda: cuped(*(["x"] + [1] * 11)),
])
def test_bad_arguments(call):
    with pytest.raises(ParameterError):
        call()
