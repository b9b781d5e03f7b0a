"""Tests of funnelkit.stats.power_analysis (power, mde, sample_size) against independent
references.

References used (each test says which):
* DESIGN.md §6 table of known values (checked to the printed precision);
* statsmodels: NormalIndPower + proportion_effectsize, power_proportions_2indep,
  samplesize_proportions_2indep_onetail, normal_sample_size_one_tail;
* Evan Miller's sample-size formula.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from funnelkit.errors import ParameterError, StatisticsWarning
from funnelkit.stats import mde, power, sample_size

smp = pytest.importorskip("statsmodels.stats.proportion")
from statsmodels.stats.power import NormalIndPower, normal_sample_size_one_tail  # noqa: E402

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALTERNATIVES = ("two-sided", "larger", "smaller")


# =====================================================================================
# power, mde, sample_size
# =====================================================================================


def test_sample_size_design_values():
    # DESIGN §6: p = 0.20, δ = +0.05 absolute, power 0.8 -> 1030.22 (evanmiller), 1093.74 (pooled)
    assert round(sample_size(0.20, 0.05, method="evanmiller"), 2) == 1030.22
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
    assert round(sample_size(0.2, 0.05, method="evanmiller")) == 1030
    for p_c, eff, alt in [(0.1, 0.02, "two-sided"), (0.3, -0.05, "smaller"), (0.6, 0.1, "larger")]:
        a = 0.05 / 2 if alt == "two-sided" else 0.05
        ref = normal_sample_size_one_tail(
            abs(eff), 0.8, a, std_null=math.sqrt(2 * p_c * (1 - p_c)),
            std_alternative=math.sqrt(p_c * (1 - p_c) + (p_c + eff) * (1 - p_c - eff)),
        )  # fmt: skip
        assert sample_size(p_c, eff, alternative=alt, method="evanmiller") == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("method", ["welch", "evanmiller", "pooled", "cohen_h"])
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
    st.sampled_from(["welch", "evanmiller", "pooled", "cohen_h"]),
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


# =====================================================================================
# the default describes the test funnelkit runs (issue 14, defect 1)
# =====================================================================================


def exact_welch_power(p1: float, p2: float, n: int, alpha: float = 0.05, alternative: str = "two-sided",
                      sequential: bool = False, n_star: float = 5000) -> float:
    """Exact power of funnelkit's test: every pair of binomial outcomes (within 9 sd) is
    run through fk.stats.diff_test / sequential_test and weighted by its probability."""
    import warnings

    from funnelkit.errors import StatisticsWarning
    from funnelkit.stats import diff_test, sequential_test

    def support(p):
        m, s = n * p, math.sqrt(n * p * (1 - p))
        x = np.arange(max(0, int(m - 9 * s)), min(n, int(m + 9 * s) + 1) + 1)
        return x, sps.binom.pmf(x, n, p)

    xc, wc = support(p1)
    xt, wt = support(p2)
    cc, ct = np.meshgrid(xc, xt, indexing="ij")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticsWarning)
        if sequential:
            pv = sequential_test(cc, n, ct, n, alpha=alpha, n_star=n_star).p_value
        else:
            pv = diff_test(cc, n, ct, n, alpha=alpha, alternative=alternative).p_value
    return float((np.outer(wc, wt) * np.nan_to_num(pv < alpha)).sum())


def test_issue_example_evanmiller_is_optimistic_and_welch_is_exact():
    # issue 14: control 0.05, 2,000 per arm: the evanmiller MDE (+39.6 %) has a real power of ~0.75
    m_em = mde(0.05, 2000, relative=True, method="evanmiller")
    assert m_em == pytest.approx(0.396, abs=5e-4)
    assert exact_welch_power(0.05, 0.05 * (1 + m_em), 2000) == pytest.approx(0.753, abs=0.005)
    m = mde(0.05, 2000, relative=True)  # the default describes the Welch test
    assert m > m_em
    assert exact_welch_power(0.05, 0.05 * (1 + m), 2000) == pytest.approx(0.8, abs=0.01)


@pytest.mark.parametrize("p1, n, lift, alternative", [
    (0.05, 2000, 0.45, "two-sided"), (0.2, 1000, 0.25, "two-sided"), (0.01, 5000, 0.5, "two-sided"),
    (0.05, 2000, -0.35, "two-sided"), (0.1, 1500, 0.25, "larger"), (0.3, 800, -0.2, "smaller"),
])
def test_welch_power_within_001_of_exact(p1, n, lift, alternative):
    ours = power(p1, lift, n, relative=True, alternative=alternative)
    assert ours == pytest.approx(exact_welch_power(p1, p1 * (1 + lift), n, alternative=alternative), abs=0.01)


@pytest.mark.parametrize("p1, n, lift", [(0.2, 1000, 0.35), (0.05, 3000, 0.6), (0.5, 300, 0.3)])
def test_sequential_power_within_001_of_exact(p1, n, lift):
    ours = power(p1, lift, n, relative=True, sequential=True, n_star=5000)
    assert ours < power(p1, lift, n, relative=True)  # always-valid costs power
    assert ours == pytest.approx(exact_welch_power(p1, p1 * (1 + lift), n, sequential=True), abs=0.01)
    # and the MDE / sample size are its inverses
    m = mde(p1, n, relative=True, sequential=True)
    assert power(p1, m, n, relative=True, sequential=True) == pytest.approx(0.8, abs=1e-9)
    assert sample_size(p1, m, relative=True, sequential=True) == pytest.approx(n, rel=1e-6)


def test_n_tests_is_the_bonferroni_level():
    # power of a test that survives Holm over m tests: level alpha / m (statsmodels' NormalIndPower
    # gives the same power for the standardized effect when the variances are known)
    for m in (1, 3, 6):
        assert power(0.2, 0.05, 1000, n_tests=m) == pytest.approx(power(0.2, 0.05, 1000, alpha=0.05 / m))
    assert mde(0.2, 1000, n_tests=6) > mde(0.2, 1000, n_tests=1)


def test_design_arguments_are_checked():
    with pytest.raises(ParameterError, match="n_tests"):
        power(0.2, 0.05, 1000, n_tests=0)
    with pytest.raises(ParameterError, match="sequential"):
        power(0.2, 0.05, 1000, sequential="yes")
    with pytest.raises(ParameterError, match="two-sided only"):
        mde(0.2, 1000, sequential=True, alternative="larger")
    with pytest.raises(ParameterError, match="method='welch'"):
        sample_size(0.2, 0.05, sequential=True, method="pooled")
    with pytest.raises(ParameterError, match="n_star"):
        power(0.2, 0.05, 1000, sequential=True, n_star=-1)
    with pytest.raises(ParameterError, match="alpha"):
        power(0.2, 0.05, 1000, alpha="x")
