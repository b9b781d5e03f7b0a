"""Statistics for A/B tests on conversion counts (no event log needed).

Every function takes plain counts (conversions and users per arm) and is vectorized
over arrays of counts: pass arrays (e.g. one entry per funnel step) and get arrays
back, or scalars and get Python floats. Results of tests are frozen dataclasses
whose ``.to_frame()`` gives one row per test with fixed snake_case columns.

Conventions (DESIGN §6):

* "control" is arm C, "treatment" is arm T; differences are T - C.
* ``alternative="larger"`` means the treatment rate is larger than the control
  rate (H1: pT > pC), ``"smaller"`` means pT < pC.
* A rate's variance per user is p(1 - p) (no n/(n - 1) correction), as in
  GrowthBook's gbstats.
* Undefined statistics (an arm without users, a zero control rate for a relative
  lift, a zero standard error) are NaN and announced with a
  :class:`~funnelkit.errors.StatisticsWarning`; they never raise. Bad arguments
  (negative counts, conversions above users, unknown methods) raise
  :class:`~funnelkit.errors.ParameterError`.

Functions
---------
proportion_ci    Confidence interval of one rate (Wilson, Wald, Agresti–Coull,
                 Clopper–Pearson, Jeffreys).
diff_test        Absolute difference pT - pC: Welch t test (default) or pooled z test.
lift_test        Relative lift (pT - pC) / pC with delta-method SE and Welch t.
srm_test         Sample-ratio mismatch: Pearson chi-square against the planned split.
adjust_pvalues   Holm or Benjamini–Hochberg adjusted p-values.
bayes_test       Chance to beat control and expected loss with Beta posteriors.
sequential_test  Always-valid p-value and confidence sequence (peeking-safe).
power, mde, sample_size
                 Power analysis with a named formula (evanmiller, pooled, cohen_h).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Union

import numpy as np
import pandas as pd
from ._lazy import lazy_module

special = lazy_module("scipy.special")  # imported on first use (import funnelkit stays light)
stats = lazy_module("scipy.stats")

from ._params import check_choice
from ._stats_core import (
    TidyResult,
    as_numbers,
    beta_compare,
    bisect_increasing,
    broadcast,
    check_alpha,
    check_counts,
    check_probability_array,
    count_note,
    interval,
    out,
    p_value as _p_value,
    warn,
    welch_dof,
)
from .errors import ParameterError

__all__ = [
    "proportion_ci",
    "diff_test",
    "lift_test",
    "srm_test",
    "adjust_pvalues",
    "bayes_test",
    "sequential_test",
    "power",
    "mde",
    "sample_size",
    "DiffTest",
    "LiftTest",
    "SRMResult",
    "BayesTest",
    "SequentialTest",
]

Alternative = Literal["two-sided", "larger", "smaller"]
_ALTERNATIVES = ("two-sided", "larger", "smaller")
_CI_METHODS = ("wilson", "wald", "agresti_coull", "clopper_pearson", "jeffreys")
_POWER_METHODS = ("evanmiller", "pooled", "cohen_h")

FloatOrArray = Union[float, np.ndarray]  # float for scalar inputs, ndarray otherwise


# =====================================================================================
# Shared preparation of two-arm inputs
# =====================================================================================


def _two_arms(
    conv_c: Any, n_c: Any, conv_t: Any, n_t: Any
) -> tuple[bool, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate and broadcast; rates are NaN (with a warning) for arms without users."""
    cc, nc = check_counts(conv_c, n_c, conv_name="conv_c", n_name="n_c")
    ct, nt = check_counts(conv_t, n_t, conv_name="conv_t", n_name="n_t")
    scalar = all(np.ndim(a) == 0 for a in (cc, nc, ct, nt))
    cc, nc, ct, nt = broadcast(cc, nc, ct, nt, names=("conv_c", "n_c", "conv_t", "n_t"))
    empty = (nc == 0) | (nt == 0)
    if np.any(empty):
        which = " and ".join(
            nm for nm, arr in (("n_c", nc), ("n_t", nt)) if np.any(arr == 0)
        )
        warn(
            f"An arm has no users ({which} = 0){count_note(empty)}: its rate and every "
            "statistic that needs it are NaN.",
            stacklevel=4,
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        pc = np.where(nc > 0, cc / np.where(nc > 0, nc, 1.0), np.nan)
        pt = np.where(nt > 0, ct / np.where(nt > 0, nt, 1.0), np.nan)
    return scalar, cc, nc, ct, nt, pc, pt


def _warn_zero_se(se: np.ndarray, valid: np.ndarray, what: str) -> None:
    zero = valid & ~(se > 0)
    if np.any(zero):
        warn(
            f"The standard error of the {what} is 0{count_note(zero)} (each arm's rate is "
            "0 or 1): the test statistic, p-value and interval are NaN.",
            stacklevel=4,
        )


# =====================================================================================
# 1. Confidence interval of one proportion
# =====================================================================================


def proportion_ci(
    count: Any,
    nobs: Any,
    *,
    alpha: float = 0.05,
    method: Literal["wilson", "wald", "agresti_coull", "clopper_pearson", "jeffreys"] = "wilson",
) -> tuple[FloatOrArray, FloatOrArray]:
    r"""Two-sided confidence interval of a conversion rate ``count / nobs``.

    Parameters
    ----------
    count : int or array_like
        Conversions (successes), ``0 <= count <= nobs``.
    nobs : int or array_like
        Users (trials); broadcast against ``count``.
    alpha : float, default 0.05
        The interval has coverage ``1 - alpha``.
    method : {"wilson", "wald", "agresti_coull", "clopper_pearson", "jeffreys"}
        With :math:`\hat p = x/n` and :math:`z = \Phi^{-1}(1 - \alpha/2)`:

        * ``"wilson"`` (default), Wilson score interval:
          :math:`\frac{\hat p + z^2/2n \pm z\sqrt{\hat p(1-\hat p)/n + z^2/4n^2}}{1 + z^2/n}`.
        * ``"wald"``: :math:`\hat p \pm z\sqrt{\hat p(1-\hat p)/n}`.
        * ``"agresti_coull"``: Wald on :math:`\tilde p = (x + z^2/2)/(n + z^2)` with
          :math:`\tilde n = n + z^2`.
        * ``"clopper_pearson"`` (exact): Beta quantiles
          :math:`B(\alpha/2; x, n-x+1)` and :math:`B(1-\alpha/2; x+1, n-x)`, with 0 when
          ``count == 0`` and 1 when ``count == nobs``.
        * ``"jeffreys"``: quantiles :math:`\alpha/2`, :math:`1-\alpha/2` of
          Beta(x + 1/2, n - x + 1/2) (not forced to 0 or 1 at the edges).

        The first three are clipped to [0, 1]. Every method gives the same numbers as
        ``statsmodels.stats.proportion.proportion_confint`` (where ``"wald"`` is called
        ``"normal"`` and ``"clopper_pearson"`` is called ``"beta"``).

    Returns
    -------
    (ci_low, ci_high) : tuple of float or numpy.ndarray
        Floats for scalar input, arrays of the broadcast shape otherwise. NaN, with a
        :class:`~funnelkit.errors.StatisticsWarning`, where ``nobs == 0``.

    Raises
    ------
    ParameterError
        Negative or non-finite counts, ``count > nobs``, an unknown ``method``.

    Examples
    --------
    >>> low, high = proportion_ci(3, 40)
    >>> round(low, 6), round(high, 6)
    (0.025836, 0.198642)
    >>> low, high = proportion_ci([0, 40], 40, method="clopper_pearson")
    >>> low.round(4), high.round(4)
    (array([0.    , 0.9119]), array([0.0881, 1.    ]))
    """
    method = check_choice(method, name="method", choices=_CI_METHODS)
    alpha = check_alpha(alpha)
    x, n = check_counts(count, nobs, conv_name="count", n_name="nobs")
    scalar = np.ndim(x) == 0 and np.ndim(n) == 0
    x, n = broadcast(x, n, names=("count", "nobs"))
    empty = n == 0
    if np.any(empty):
        warn(f"`nobs` is 0{count_note(empty)}: the rate and its interval are NaN.", stacklevel=3)
    ns = np.where(empty, 1.0, n)  # safe denominators; empty entries are reset to NaN below
    q = x / ns
    a2 = alpha / 2.0
    z = stats.norm.isf(a2)
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "wald":
            half = z * np.sqrt(q * (1.0 - q) / ns)
            low, high = q - half, q + half
        elif method == "agresti_coull":
            n_c = ns + z**2
            q_c = (x + z**2 / 2.0) / n_c
            half = z * np.sqrt(q_c * (1.0 - q_c) / n_c)
            low, high = q_c - half, q_c + half
        elif method == "wilson":
            denom = 1.0 + z**2 / ns
            center = (q + z**2 / (2.0 * ns)) / denom
            half = z * np.sqrt(q * (1.0 - q) / ns + z**2 / (4.0 * ns**2)) / denom
            low, high = center - half, center + half
        elif method == "clopper_pearson":
            low = stats.beta.ppf(a2, np.where(x > 0, x, 1.0), ns - x + 1.0)
            high = stats.beta.isf(a2, x + 1.0, np.where(x < ns, ns - x, 1.0))
            low = np.where(x == 0, 0.0, low)
            high = np.where(x == ns, 1.0, high)
        else:  # jeffreys
            low = stats.beta.ppf(a2, x + 0.5, ns - x + 0.5)
            high = stats.beta.isf(a2, x + 0.5, ns - x + 0.5)
    low = np.clip(low, 0.0, 1.0)
    high = np.clip(high, 0.0, 1.0)
    low = np.where(empty, np.nan, low)
    high = np.where(empty, np.nan, high)
    return out(low, scalar), out(high, scalar)


# =====================================================================================
# 2. Difference of proportions
# =====================================================================================


@dataclass(frozen=True, eq=False)
class DiffTest(TidyResult):
    """Result of :func:`diff_test` (arrays for array input, floats for scalars).

    Attributes
    ----------
    conv_c, n_c, rate_c, conv_t, n_t, rate_t
        The inputs and the rates ``conv / n``.
    abs_diff
        Δ = rate_t - rate_c.
    se
        Unpooled standard error of Δ, √(pT(1-pT)/nT + pC(1-pC)/nC); the interval uses it.
    ci_low, ci_high
        Confidence interval of Δ (half-infinite for one-sided alternatives).
    statistic
        Δ / se (Welch t) or Δ / se₀ with the pooled null SE (z test).
    dof
        Welch–Satterthwaite degrees of freedom; ``inf`` for the z test.
    p_value
        p-value for ``alternative``.
    alpha, alternative, test
        The parameters used.
    """

    conv_c: FloatOrArray
    n_c: FloatOrArray
    rate_c: FloatOrArray
    conv_t: FloatOrArray
    n_t: FloatOrArray
    rate_t: FloatOrArray
    abs_diff: FloatOrArray
    se: FloatOrArray
    ci_low: FloatOrArray
    ci_high: FloatOrArray
    statistic: FloatOrArray
    dof: FloatOrArray
    p_value: FloatOrArray
    alpha: float
    alternative: str
    test: str

    _columns = (
        "conv_c", "n_c", "rate_c", "conv_t", "n_t", "rate_t", "abs_diff", "se",
        "ci_low", "ci_high", "statistic", "dof", "p_value", "alpha", "alternative", "test",
    )  # fmt: skip


def diff_test(
    conv_c: Any,
    n_c: Any,
    conv_t: Any,
    n_t: Any,
    *,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    test: Literal["welch", "z_pooled"] = "welch",
) -> DiffTest:
    r"""Test the absolute difference of two conversion rates, Δ = pT - pC.

    Parameters
    ----------
    conv_c, n_c : int or array_like
        Conversions and users of the control arm.
    conv_t, n_t : int or array_like
        Conversions and users of the treatment arm (all four broadcast together).
    alpha : float, default 0.05
        Level of the confidence interval (coverage ``1 - alpha``).
    alternative : {"two-sided", "larger", "smaller"}
        H1: pT ≠ pC, pT > pC ("larger") or pT < pC ("smaller").
    test : {"welch", "z_pooled"}
        * ``"welch"`` (default, as GrowthBook's gbstats frequentist engine):
          :math:`SE = \sqrt{p_T(1-p_T)/n_T + p_C(1-p_C)/n_C}`, statistic
          :math:`t = \Delta/SE`, Welch–Satterthwaite degrees of freedom

          .. math:: \nu = \frac{(v_T/n_T + v_C/n_C)^2}
                              {v_T^2/(n_T^2(n_T-1)) + v_C^2/(n_C^2(n_C-1))},
                    \quad v = p(1-p),

          p-value from Student's t with ν degrees of freedom (two-sided
          :math:`2(1 - F_\nu(|t|))`) and interval :math:`\Delta \pm t_{1-\alpha/2,\nu} SE`.
        * ``"z_pooled"``: the classic two-proportion z test,
          :math:`z = \Delta / \sqrt{\bar p(1-\bar p)(1/n_C + 1/n_T)}` with the pooled rate
          :math:`\bar p = (x_C + x_T)/(n_C + n_T)` and normal p-values. It equals
          ``statsmodels.stats.proportion.proportions_ztest([conv_t, conv_c], [n_t, n_c])``
          (treatment first, ``value=0``, ``prop_var=False``). Its interval is the unpooled
          Wald interval :math:`\Delta \pm z_{1-\alpha/2} SE` (the pooled SE only holds
          under H0); ``se`` is always the unpooled SE.

        One-sided alternatives give the p-value of that tail and a half-infinite
        interval (e.g. ``(Δ - t_{1-α,ν} SE, inf)`` for "larger").

    Returns
    -------
    DiffTest
        Fields ``abs_diff, se, ci_low, ci_high, statistic, dof, p_value`` and the
        inputs/rates; ``.to_frame()`` gives one row per test.

    Notes
    -----
    Edge cases return results, not errors: an arm without users gives NaN everywhere
    (with a :class:`~funnelkit.errors.StatisticsWarning`); a zero standard error (both
    arms at 0 % or 100 %, or one at 0 % and the other at 100 %) gives NaN statistic,
    degrees of freedom, p-value and interval, with a warning, while ``abs_diff`` is still
    reported. A zero control rate is fine for the difference.

    Examples
    --------
    >>> res = diff_test(14, 28, 16, 30)
    >>> round(res.abs_diff, 5), round(res.se, 5), round(res.dof, 2), round(res.p_value, 5)
    (0.03333, 0.13124, 55.71, 0.80045)
    >>> res = diff_test([100, 100], 1000, [130, 100], 1000, test="z_pooled")
    >>> res.p_value.round(4)
    array([0.0355, 1.    ])
    >>> res.to_frame()[["abs_diff", "ci_low", "ci_high", "p_value"]].round(4)
       abs_diff  ci_low  ci_high  p_value
    0      0.03  0.0021   0.0579   0.0355
    1      0.00 -0.0263   0.0263   1.0000
    """
    alternative = check_choice(alternative, name="alternative", choices=_ALTERNATIVES)
    test = check_choice(test, name="test", choices=("welch", "z_pooled"))
    alpha = check_alpha(alpha)
    scalar, cc, nc, ct, nt, pc, pt = _two_arms(conv_c, n_c, conv_t, n_t)
    valid = (nc > 0) & (nt > 0)
    vc, vt = pc * (1.0 - pc), pt * (1.0 - pt)
    diff = pt - pc
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(vt / nt + vc / nc)
        if test == "welch":
            _warn_zero_se(se, valid, "difference")
            dof = np.where(se > 0, welch_dof(vc, nc, vt, nt), np.nan)
            statistic = np.where(se > 0, diff / se, np.nan)
        else:
            pooled = (cc + ct) / (nc + nt)
            se0 = np.sqrt(pooled * (1.0 - pooled) * (1.0 / nc + 1.0 / nt))
            _warn_zero_se(se0, valid, "difference under H0 (pooled)")
            only_ci = valid & (se0 > 0) & ~(se > 0)
            if np.any(only_ci):
                warn(
                    f"The unpooled standard error is 0{count_note(only_ci)} (one arm at 0 %, "
                    "the other at 100 %): the z test is defined but the interval is NaN.",
                    stacklevel=3,
                )
            dof = np.where(se0 > 0, np.inf, np.nan)
            statistic = np.where(se0 > 0, diff / se0, np.nan)
    p = _p_value(statistic, dof, alternative)
    ci_dof = np.where(se > 0, np.inf if test == "z_pooled" else dof, np.nan)
    low, high = interval(diff, se, ci_dof, alpha, alternative)
    return DiffTest(
        conv_c=out(cc, scalar), n_c=out(nc, scalar), rate_c=out(pc, scalar),
        conv_t=out(ct, scalar), n_t=out(nt, scalar), rate_t=out(pt, scalar),
        abs_diff=out(diff, scalar), se=out(se, scalar),
        ci_low=out(low, scalar), ci_high=out(high, scalar),
        statistic=out(statistic, scalar), dof=out(dof, scalar), p_value=out(p, scalar),
        alpha=alpha, alternative=alternative, test=test,
    )  # fmt: skip


# =====================================================================================
# 3. Relative lift
# =====================================================================================


@dataclass(frozen=True, eq=False)
class LiftTest(TidyResult):
    """Result of :func:`lift_test`.

    Attributes
    ----------
    conv_c, n_c, rate_c, conv_t, n_t, rate_t
        The inputs and the rates.
    lift
        L = (pT - pC) / pC (NaN when pC = 0).
    se
        Delta-method standard error of L.
    ci_low, ci_high
        Interval L ± t quantile × se (half-infinite for one-sided alternatives).
    statistic
        L / se.
    dof
        Welch–Satterthwaite degrees of freedom of the two rates.
    p_value
        p-value from Student's t with ``dof`` degrees of freedom.
    alpha, alternative
        The parameters used.
    """

    conv_c: FloatOrArray
    n_c: FloatOrArray
    rate_c: FloatOrArray
    conv_t: FloatOrArray
    n_t: FloatOrArray
    rate_t: FloatOrArray
    lift: FloatOrArray
    se: FloatOrArray
    ci_low: FloatOrArray
    ci_high: FloatOrArray
    statistic: FloatOrArray
    dof: FloatOrArray
    p_value: FloatOrArray
    alpha: float
    alternative: str

    _columns = (
        "conv_c", "n_c", "rate_c", "conv_t", "n_t", "rate_t", "lift", "se",
        "ci_low", "ci_high", "statistic", "dof", "p_value", "alpha", "alternative",
    )  # fmt: skip


def _lift_and_se(
    pc: np.ndarray, nc: np.ndarray, pt: np.ndarray, nt: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Relative lift, its delta-method SE, and the mask of zero control rates."""
    zero_c = pc == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        pcs = np.where(zero_c, np.nan, pc)
        lift = (pt - pcs) / pcs
        var = pt * (1.0 - pt) / (pcs**2 * nt) + pcs * (1.0 - pcs) * pt**2 / (pcs**4 * nc)
    return lift, np.sqrt(var), zero_c


def lift_test(
    conv_c: Any,
    n_c: Any,
    conv_t: Any,
    n_t: Any,
    *,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
) -> LiftTest:
    r"""Test the relative lift L = (pT - pC) / pC (GrowthBook gbstats frequentist engine).

    Delta-method variance of the ratio of two independent rates:

    .. math:: SE^2 = \frac{p_T(1-p_T)}{p_C^2\, n_T} + \frac{p_C(1-p_C)\, p_T^2}{p_C^4\, n_C}.

    The statistic :math:`L/SE` is referred to Student's t with the Welch–Satterthwaite
    degrees of freedom of the two *rates* (the ν of :func:`diff_test`, computed from
    :math:`v = p(1-p)` per arm, not from the delta-method terms); the interval is
    :math:`L \pm t_{1-\alpha/2,\nu}\, SE`. This reproduces DESIGN §6: C 14/28, T 16/30
    gives L = 0.06667, SE = 0.27170, CI (-0.47767, 0.61101), p = 0.80707 (ν = 55.71;
    ν = n_C + n_T - 2 or a normal quantile give different last digits).

    Parameters
    ----------
    conv_c, n_c, conv_t, n_t : int or array_like
        Conversions and users of control and treatment (broadcast together).
    alpha : float, default 0.05
        Level of the interval.
    alternative : {"two-sided", "larger", "smaller"}
        H1: L ≠ 0, L > 0 (treatment better) or L < 0.

    Returns
    -------
    LiftTest
        Fields ``lift, se, ci_low, ci_high, statistic, dof, p_value`` and the inputs.

    Notes
    -----
    When pC = 0 the lift is undefined: every field but the inputs and rates is NaN,
    with a :class:`~funnelkit.errors.StatisticsWarning` (use :func:`diff_test`, which
    stays defined). A zero SE (e.g. pT = 0, or both rates 100 %) gives NaN statistic,
    p-value and interval with a warning; an arm without users gives NaN with a warning.

    Examples
    --------
    >>> res = lift_test(14, 28, 16, 30)
    >>> [round(v, 5) for v in (res.lift, res.se, res.ci_low, res.ci_high, res.p_value)]
    [0.06667, 0.2717, -0.47767, 0.61101, 0.80707]
    """
    alternative = check_choice(alternative, name="alternative", choices=_ALTERNATIVES)
    alpha = check_alpha(alpha)
    scalar, cc, nc, ct, nt, pc, pt = _two_arms(conv_c, n_c, conv_t, n_t)
    valid = (nc > 0) & (nt > 0)
    lift, se, zero_c = _lift_and_se(pc, nc, pt, nt)
    if np.any(zero_c & valid):
        warn(
            f"The control rate is 0{count_note(zero_c & valid)}: the relative lift is "
            "undefined (NaN); use diff_test for the absolute difference.",
            stacklevel=3,
        )
    _warn_zero_se(se, valid & ~zero_c, "relative lift")
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = se > 0
        dof = np.where(ok, welch_dof(pc * (1 - pc), nc, pt * (1 - pt), nt), np.nan)
        statistic = np.where(ok, lift / se, np.nan)
    p = _p_value(statistic, dof, alternative)
    low, high = interval(lift, se, dof, alpha, alternative)
    return LiftTest(
        conv_c=out(cc, scalar), n_c=out(nc, scalar), rate_c=out(pc, scalar),
        conv_t=out(ct, scalar), n_t=out(nt, scalar), rate_t=out(pt, scalar),
        lift=out(lift, scalar), se=out(se, scalar),
        ci_low=out(low, scalar), ci_high=out(high, scalar),
        statistic=out(statistic, scalar), dof=out(dof, scalar), p_value=out(p, scalar),
        alpha=alpha, alternative=alternative,
    )  # fmt: skip


# =====================================================================================
# 4. Sample-ratio mismatch
# =====================================================================================


@dataclass(frozen=True, eq=False)
class SRMResult(TidyResult):
    """Result of :func:`srm_test`.

    Attributes
    ----------
    arms : tuple of str
        Arm labels (the mapping keys, or ``"0", "1", ...``).
    observed : numpy.ndarray
        Users per arm.
    expected : numpy.ndarray
        Expected users per arm, total × normalized weight.
    observed_share, expected_share : numpy.ndarray
        Observed fraction of users per arm, and the planned fraction.
    n_total : float
        Total users.
    chi2 : float
        Pearson statistic Σ (O - E)² / E (NaN when skipped).
    dof : int
        K - 1.
    p_value : float
        Upper tail of χ²(K - 1) (NaN when skipped).
    threshold : float
        Flag when ``p_value < threshold``.
    flagged : bool
        A sample-ratio mismatch was detected.
    skipped : bool
        The check was not run (an arm has fewer than ``min_count`` users).
    reason : str
        Why it was skipped ("" otherwise).
    """

    arms: tuple[str, ...]
    observed: np.ndarray
    expected: np.ndarray
    observed_share: np.ndarray
    expected_share: np.ndarray
    n_total: float
    chi2: float
    dof: int
    p_value: float
    threshold: float
    flagged: bool
    skipped: bool
    reason: str = field(default="")

    _columns = (
        "k", "n_total", "chi2", "dof", "p_value", "threshold", "flagged", "skipped", "reason",
    )  # fmt: skip

    @property
    def k(self) -> int:
        """Number of arms."""
        return len(self.arms)

    def to_frame(self) -> pd.DataFrame:
        """One row: ``k, n_total, chi2, dof, p_value, threshold, flagged, skipped, reason``."""
        return pd.DataFrame({c: [getattr(self, c)] for c in self._columns})

    def arms_frame(self) -> pd.DataFrame:
        """One row per arm: ``arm, observed, expected, observed_share, expected_share``."""
        return pd.DataFrame(
            {
                "arm": pd.Series(self.arms, dtype=str),
                "observed": self.observed,
                "expected": self.expected,
                "observed_share": self.observed_share,
                "expected_share": self.expected_share,
            }
        )


def srm_test(
    counts: Sequence[float] | Mapping[Any, float] | np.ndarray | pd.Series,
    weights: Sequence[float] | Mapping[Any, float] | np.ndarray | pd.Series | None = None,
    *,
    threshold: float = 0.001,
    min_count: int = 8,
) -> SRMResult:
    r"""Sample-ratio mismatch check: Pearson χ² of users per arm against the planned split.

    .. math:: \chi^2 = \sum_k \frac{(O_k - E_k)^2}{E_k}, \quad E_k = N w_k / \textstyle\sum_j w_j,
              \quad df = K - 1,

    the same as ``scipy.stats.chisquare(counts, f_exp=expected)``.

    Parameters
    ----------
    counts : sequence, mapping or Series of numbers
        Users per arm (K >= 2). Mapping keys / Series index become the arm labels.
    weights : sequence, mapping or Series, optional
        Planned allocation (any positive scale, normalized here); equal split by default.
        A mapping is aligned with a mapping ``counts`` by key.
    threshold : float, default 0.001
        ``flagged`` when ``p_value < threshold`` (the strict level usual for SRM alarms).
    min_count : int, default 8
        When any arm has fewer users, the χ² approximation is not trusted: the check is
        skipped (``skipped=True``, ``flagged=False``, ``chi2``/``p_value`` NaN, ``reason``
        saying which arm).

    Returns
    -------
    SRMResult

    Examples
    --------
    >>> res = srm_test([5000, 5200])
    >>> round(res.chi2, 5), round(res.p_value, 6), res.flagged
    (3.92157, 0.04767, False)
    >>> srm_test({"A": 5000, "B": 5600}).flagged
    True
    >>> srm_test([3, 9]).reason
    "arm '0' has 3 users (fewer than min_count=8): too few for the chi-square approximation"
    """
    threshold = check_alpha(threshold, name="threshold")
    if (
        isinstance(min_count, (bool, np.bool_))
        or not isinstance(min_count, (int, np.integer))
        or min_count < 0
    ):
        raise ParameterError(f"`min_count`={min_count!r} must be a non-negative integer.")
    if isinstance(counts, pd.Series):
        counts = counts.to_dict()
    if isinstance(weights, pd.Series):
        weights = weights.to_dict()
    if isinstance(counts, Mapping):
        arms = tuple(str(k) for k in counts)
        keys = list(counts)
        values: Any = [counts[k] for k in keys]
        if isinstance(weights, Mapping):
            missing = [k for k in keys if k not in weights]
            if missing or len(weights) != len(keys):
                raise ParameterError(
                    f"`weights` keys {list(weights)!r} must match the arms of `counts` {keys!r}."
                )
            weights = [weights[k] for k in keys]
    else:
        values = counts
        arms = ()
        if isinstance(weights, Mapping):
            raise ParameterError(
                "`weights` is a mapping but `counts` is not; give both as mappings keyed by arm, "
                "or both as sequences in the same order."
            )
    obs = as_numbers(values, name="counts")
    if obs.ndim != 1 or obs.size < 2:
        raise ParameterError(
            f"`counts` must be one number per arm with at least 2 arms, got {np.asarray(values)!r}."
        )
    if np.any(obs < 0):
        raise ParameterError(
            f"`counts` holds a negative value ({obs[obs < 0][0]:g}); users per arm are >= 0."
        )
    if not arms:
        arms = tuple(str(i) for i in range(obs.size))
    if weights is None:
        w = np.ones(obs.size)
    else:
        w = as_numbers(weights, name="weights")
        if w.shape != obs.shape:
            raise ParameterError(
                f"`weights` has {w.size} values but `counts` has {obs.size} arms; "
                "give one weight per arm."
            )
        if np.any(w <= 0):
            raise ParameterError(
                f"`weights` must be positive (got {w[w <= 0][0]:g}); "
                "drop arms that receive no traffic."
            )
    share = w / w.sum()
    total = float(obs.sum())
    expected = total * share
    with np.errstate(invalid="ignore", divide="ignore"):
        observed_share = obs / total if total > 0 else np.full(obs.size, np.nan)
    dof = int(obs.size - 1)
    small = obs < min_count
    if np.any(small):
        i = int(np.nonzero(small)[0][0])
        reason = (
            f"arm {arms[i]!r} has {obs[i]:g} users (fewer than min_count={min_count}): "
            "too few for the chi-square approximation"
        )
        return SRMResult(
            arms=arms, observed=obs, expected=expected, observed_share=observed_share,
            expected_share=share, n_total=total, chi2=np.nan, dof=dof, p_value=np.nan,
            threshold=threshold, flagged=False, skipped=True, reason=reason,
        )  # fmt: skip
    chi2 = float(np.sum((obs - expected) ** 2 / expected))
    p = float(stats.chi2.sf(chi2, dof))
    return SRMResult(
        arms=arms, observed=obs, expected=expected, observed_share=observed_share,
        expected_share=share, n_total=total, chi2=chi2, dof=dof, p_value=p,
        threshold=threshold, flagged=bool(p < threshold), skipped=False, reason="",
    )  # fmt: skip


# =====================================================================================
# 5. Multiple comparisons
# =====================================================================================


def adjust_pvalues(p: Any, *, method: Literal["holm", "bh", "none"] = "holm") -> np.ndarray:
    r"""Adjust a family of p-values for multiple comparisons.

    With the m non-NaN p-values sorted, :math:`p_{(1)} \le \dots \le p_{(m)}`:

    * ``"holm"`` (default; controls the family-wise error rate, Holm 1979):
      :math:`\tilde p_{(i)} = \max_{j \le i} \min(1, (m - j + 1)\, p_{(j)})`.
    * ``"bh"`` (Benjamini–Hochberg 1995, controls the false discovery rate):
      :math:`\tilde p_{(i)} = \min_{j \ge i} \min(1, m\, p_{(j)} / j)`.
    * ``"none"``: a copy of ``p``.

    Both are the exact monotone step-down / step-up algorithms, equal to
    ``statsmodels.stats.multitest.multipletests(p, method="holm" / "fdr_bh")``.

    Parameters
    ----------
    p : array_like
        p-values in [0, 1], any shape (e.g. steps × variants: the whole array is one
        family). NaN entries (untestable comparisons) stay NaN and are not counted in m.
    method : {"holm", "bh", "none"}

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, same shape as ``p``.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, 0.03, 0.005, 0.55, 0.6])
    array([0.05, 0.12, 0.12, 0.03, 1.  , 1.  ])
    >>> adjust_pvalues([0.01, 0.04, np.nan, 0.03], method="bh")
    array([0.03, 0.04,  nan, 0.04])
    """
    method = check_choice(method, name="method", choices=("holm", "bh", "none"))
    if isinstance(p, str):
        raise ParameterError(f"`p` must be an array of p-values, not the string {p!r}.")
    arr = as_numbers(p, name="p", allow_nan=True)
    outside = (arr < 0) | (arr > 1)
    if np.any(outside):
        raise ParameterError(
            f"`p` holds {arr[outside].flat[0]!r}; p-values must lie in [0, 1] (NaN is allowed "
            "and marks an untestable comparison)."
        )
    if method == "none":
        return arr
    flat = arr.ravel()
    keep = ~np.isnan(flat)
    vals = flat[keep]
    m = vals.size
    res = np.full(flat.shape, np.nan)
    if m:
        order = np.argsort(vals, kind="stable")
        ranked = vals[order]
        i = np.arange(1, m + 1)
        if method == "holm":
            adj = np.maximum.accumulate(np.minimum((m - i + 1) * ranked, 1.0))
        else:
            adj = np.minimum.accumulate(np.minimum(m * ranked / i, 1.0)[::-1])[::-1]
        back = np.empty(m)
        back[order] = adj
        res[keep] = back
    return res.reshape(arr.shape)


# =====================================================================================
# 6. Bayesian comparison
# =====================================================================================


@dataclass(frozen=True, eq=False)
class BayesTest(TidyResult):
    """Result of :func:`bayes_test`.

    Attributes
    ----------
    conv_c, n_c, rate_c, conv_t, n_t, rate_t
        The inputs and the observed rates.
    prior_alpha, prior_beta
        The Beta prior used for both arms.
    chance_to_beat_control
        P(pT > pC | data).
    expected_loss
        E[max(pC - pT, 0)]: expected rate lost by shipping the treatment.
    expected_loss_control
        E[max(pT - pC, 0)]: expected rate lost by keeping the control.
        ``expected_loss_control - expected_loss`` equals the difference of posterior means.
    """

    conv_c: FloatOrArray
    n_c: FloatOrArray
    rate_c: FloatOrArray
    conv_t: FloatOrArray
    n_t: FloatOrArray
    rate_t: FloatOrArray
    prior_alpha: float
    prior_beta: float
    chance_to_beat_control: FloatOrArray
    expected_loss: FloatOrArray
    expected_loss_control: FloatOrArray

    _columns = (
        "conv_c", "n_c", "rate_c", "conv_t", "n_t", "rate_t", "prior_alpha", "prior_beta",
        "chance_to_beat_control", "expected_loss", "expected_loss_control",
    )  # fmt: skip


def bayes_test(
    conv_c: Any,
    n_c: Any,
    conv_t: Any,
    n_t: Any,
    *,
    prior: tuple[float, float] = (1.0, 1.0),
) -> BayesTest:
    r"""Bayesian comparison with Beta posteriors: chance to beat control and expected loss.

    With a Beta(a, b) prior per arm, the posteriors are
    :math:`p_C \sim \mathrm{Beta}(a + x_C, b + n_C - x_C)` and likewise for T. The
    function returns

    * ``chance_to_beat_control`` :math:`= P(p_T > p_C)`,
    * ``expected_loss`` :math:`= E[\max(p_C - p_T, 0)]` (risk of shipping T),
    * ``expected_loss_control`` :math:`= E[\max(p_T - p_C, 0)]` (risk of keeping C).

    They are computed deterministically, not by Monte Carlo: for the more concentrated
    posterior X (smaller sd) and the other one Y,
    :math:`E[h(X)] = \int_0^1 h(Q_X(u))\,du` with the conditional quantities in closed
    form through the regularized incomplete beta :math:`I_x` (``scipy.special.betainc``),
    e.g. :math:`P(Y > x) = 1 - I_x(a_Y, b_Y)` and
    :math:`E[\max(x - Y, 0)] = x I_x(a_Y, b_Y) - m_Y I_x(a_Y + 1, b_Y)`. The u-integral
    uses composite 20-point Gauss–Legendre panels graded towards 0 and 1; it agrees
    with adaptive quadrature to about 1e-13 and with Evan Miller's closed form for integer
    parameters.

    Parameters
    ----------
    conv_c, n_c, conv_t, n_t : int or array_like
        Conversions and users per arm (broadcast together).
    prior : (float, float), default (1.0, 1.0)
        Beta prior parameters (a, b) > 0 shared by both arms; (1, 1) is uniform.

    Returns
    -------
    BayesTest

    Notes
    -----
    An arm without users gives NaN (with a :class:`~funnelkit.errors.StatisticsWarning`),
    as in the other tests: its posterior would be the prior alone. Zero conversions or
    100 % conversion are fine.

    Examples
    --------
    >>> res = bayes_test(14, 28, 16, 30)
    >>> round(res.chance_to_beat_control, 6), round(res.expected_loss, 6)
    (0.598548, 0.035971)
    >>> bayes_test(50, 1000, 50, 1000).chance_to_beat_control
    0.5
    """
    if (
        not isinstance(prior, (tuple, list, np.ndarray))
        or len(prior) != 2
        or not all(
            isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_))
            for v in prior
        )
        or not all(np.isfinite(v) and v > 0 for v in prior)
    ):
        raise ParameterError(
            f"`prior`={prior!r} must be a pair (a, b) of positive numbers, e.g. (1.0, 1.0)."
        )
    a0, b0 = float(prior[0]), float(prior[1])
    scalar, cc, nc, ct, nt, pc, pt = _two_arms(conv_c, n_c, conv_t, n_t)
    chance, loss_t, loss_c = beta_compare(a0 + cc, b0 + nc - cc, a0 + ct, b0 + nt - ct)
    empty = (nc == 0) | (nt == 0)
    chance, loss_t, loss_c = (np.where(empty, np.nan, v) for v in (chance, loss_t, loss_c))
    return BayesTest(
        conv_c=out(cc, scalar), n_c=out(nc, scalar), rate_c=out(pc, scalar),
        conv_t=out(ct, scalar), n_t=out(nt, scalar), rate_t=out(pt, scalar),
        prior_alpha=a0, prior_beta=b0,
        chance_to_beat_control=out(chance, scalar),
        expected_loss=out(loss_t, scalar), expected_loss_control=out(loss_c, scalar),
    )  # fmt: skip


# =====================================================================================
# 7. Sequential testing
# =====================================================================================


@dataclass(frozen=True, eq=False)
class SequentialTest(TidyResult):
    """Result of :func:`sequential_test`.

    Attributes
    ----------
    conv_c, n_c, rate_c, conv_t, n_t, rate_t
        The inputs and the rates.
    relative : bool
        Whether ``estimate`` is the relative lift (True) or the absolute difference.
    estimate
        L = (pT - pC)/pC or Δ = pT - pC.
    se
        Its standard error (delta method, or unpooled).
    ci_low, ci_high
        The always-valid (1 - alpha) confidence sequence at this look.
    p_value
        The always-valid p-value at this look.
    n
        Total users n_C + n_T (the "time" of the sequence).
    rho
        Mixing parameter tuned from ``n_star``.
    alpha, n_star
        The parameters used.
    """

    conv_c: FloatOrArray
    n_c: FloatOrArray
    rate_c: FloatOrArray
    conv_t: FloatOrArray
    n_t: FloatOrArray
    rate_t: FloatOrArray
    relative: bool
    estimate: FloatOrArray
    se: FloatOrArray
    ci_low: FloatOrArray
    ci_high: FloatOrArray
    p_value: FloatOrArray
    n: FloatOrArray
    rho: float
    alpha: float
    n_star: float

    _columns = (
        "conv_c", "n_c", "rate_c", "conv_t", "n_t", "rate_t", "relative", "estimate", "se",
        "ci_low", "ci_high", "p_value", "n", "rho", "alpha", "n_star",
    )  # fmt: skip


def sequential_test(
    conv_c: Any,
    n_c: Any,
    conv_t: Any,
    n_t: Any,
    *,
    alpha: float = 0.05,
    relative: bool = False,
    n_star: float = 5000,
) -> SequentialTest:
    r"""Always-valid (peeking-safe) p-value and confidence sequence for pT vs pC.

    Asymptotic confidence sequence of Waudby-Smith et al. (2023, "Time-uniform central
    limit theory and asymptotic confidence sequences", eq. 9, two-sided), as used by
    GrowthBook's gbstats sequential engine. With the estimate θ̂ (Δ, or the lift L when
    ``relative=True``), its standard error SE (as in :func:`diff_test` /
    :func:`lift_test`), the total sample size :math:`n = n_C + n_T` and the
    per-observation variance :math:`\hat\sigma^2 = n\,SE^2`:

    .. math::
        \rho = \sqrt{\frac{-2\ln\alpha + \ln(1 - 2\ln\alpha)}{N^*}}, \qquad
        \hat\theta \pm \hat\sigma \sqrt{\frac{2(n\rho^2 + 1)}{n^2\rho^2}
        \ln\frac{\sqrt{n\rho^2 + 1}}{\alpha}}.

    This ρ (approximately) minimizes the width of the sequence at :math:`n = N^*`
    (``n_star``, the total sample size expected at the end of the experiment). The dual always-valid p-value is the reciprocal of
    the Gaussian-mixture martingale, with :math:`z = \hat\theta/SE`:

    .. math::
        p = \min\Bigl(1,\ \sqrt{n\rho^2 + 1}\,
        \exp\Bigl(-\frac{\rho^2 n z^2}{2(n\rho^2 + 1)}\Bigr)\Bigr),

    so ``p < alpha`` exactly when 0 is outside the sequence. With equal arms
    (:math:`n_C = n_T = m`, per-arm variance sum :math:`V = m\,SE^2`) this is the mSPRT of
    Johari et al. with mixing variance :math:`\tau^2 = 2\rho^2 V`.

    The guarantee holds over all looks: P(some look has p < alpha | H0) <= alpha, and the
    sequence covers the truth at all looks simultaneously with probability >= 1 - alpha.
    Across looks the running minimum of the p-values (and the running intersection of
    the intervals) is also valid; each call gives the value at one look.

    Parameters
    ----------
    conv_c, n_c, conv_t, n_t : int or array_like
        Cumulative conversions and users per arm at this look (broadcast together; pass
        one entry per look to get the whole sequence).
    alpha : float, default 0.05
        Level (two-sided).
    relative : bool, default False
        Test the relative lift instead of the absolute difference.
    n_star : float, default 5000
        Tuning parameter N* > 0: total users where the sequence should be tightest.

    Returns
    -------
    SequentialTest

    Notes
    -----
    Relative with pC = 0, an arm without users, or SE = 0: NaN with a
    :class:`~funnelkit.errors.StatisticsWarning` (same policy as :func:`diff_test`).
    The sequence is asymptotic (it relies on the CLT), like gbstats.

    Examples
    --------
    >>> res = sequential_test(1396, 3000, 2422, 3461, relative=True, n_star=5000)
    >>> [round(v, 5) for v in (res.estimate, res.se, res.ci_low, res.ci_high)]
    [0.50386, 0.03386, 0.40098, 0.60675]
    >>> res.p_value < 1e-10
    True
    """
    alpha = check_alpha(alpha)
    if not isinstance(relative, (bool, np.bool_)):
        raise ParameterError(f"`relative`={relative!r} must be True or False.")
    if (
        isinstance(n_star, (bool, np.bool_))
        or not isinstance(n_star, (int, float, np.number))
        or not np.isfinite(n_star)
        or n_star <= 0
    ):
        raise ParameterError(
            f"`n_star`={n_star!r} must be a positive number: the total users where the "
            "confidence sequence should be tightest (default 5000)."
        )
    scalar, cc, nc, ct, nt, pc, pt = _two_arms(conv_c, n_c, conv_t, n_t)
    valid = (nc > 0) & (nt > 0)
    if relative:
        est, se, zero_c = _lift_and_se(pc, nc, pt, nt)
        if np.any(zero_c & valid):
            warn(
                f"The control rate is 0{count_note(zero_c & valid)}: the relative lift is "
                "undefined (NaN); use relative=False for the absolute difference.",
                stacklevel=3,
            )
        _warn_zero_se(se, valid & ~zero_c, "relative lift")
    else:
        est = pt - pc
        with np.errstate(invalid="ignore", divide="ignore"):
            se = np.sqrt(pt * (1 - pt) / nt + pc * (1 - pc) / nc)
        _warn_zero_se(se, valid, "difference")
    log_alpha = np.log(alpha)
    rho = float(np.sqrt((-2.0 * log_alpha + np.log(1.0 - 2.0 * log_alpha)) / float(n_star)))
    n = nc + nt
    ok = se > 0
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        nr2 = n * rho**2 + 1.0
        half = se * np.sqrt(n) * np.sqrt(2.0 * nr2 / (n * rho) ** 2 * np.log(np.sqrt(nr2) / alpha))
        z2 = (est / se) ** 2
        log_p = 0.5 * np.log(nr2) - rho**2 * n * z2 / (2.0 * nr2)
        p = np.exp(np.minimum(log_p, 0.0))
    half = np.where(ok, half, np.nan)
    p = np.where(ok, p, np.nan)
    return SequentialTest(
        conv_c=out(cc, scalar), n_c=out(nc, scalar), rate_c=out(pc, scalar),
        conv_t=out(ct, scalar), n_t=out(nt, scalar), rate_t=out(pt, scalar),
        relative=bool(relative), estimate=out(est, scalar), se=out(se, scalar),
        ci_low=out(est - half, scalar), ci_high=out(est + half, scalar),
        p_value=out(p, scalar), n=out(n, scalar), rho=rho, alpha=alpha, n_star=float(n_star),
    )  # fmt: skip


# =====================================================================================
# 8. Power, minimum detectable effect, sample size
# =====================================================================================

_POWER_DOC_METHODS = r"""
    All methods use the normal approximation with n users per arm, control rate
    :math:`p_1`, treatment rate :math:`p_2 = p_1 + \delta`, :math:`z_a = \Phi^{-1}(1 - \alpha/2)`
    (two-sided) or :math:`\Phi^{-1}(1 - \alpha)` (one-sided):

    * ``"evanmiller"`` (default): Evan Miller's sample-size calculator formula,
      :math:`\text{power} = \Phi\bigl((|\delta|\sqrt n - z_a s_0)/s_1\bigr)` with
      :math:`s_0 = \sqrt{2 p_1(1-p_1)}` (null variance at the control rate) and
      :math:`s_1 = \sqrt{p_1(1-p_1) + p_2(1-p_2)}`; hence
      :math:`n = \bigl((z_a s_0 + z_b s_1)/\delta\bigr)^2`.
    * ``"pooled"``: pooled-variance normal approximation (Fleiss, without continuity
      correction): as above with :math:`s_0 = \sqrt{2\bar p(1-\bar p)}`,
      :math:`\bar p = (p_1 + p_2)/2`.
    * ``"cohen_h"``: Cohen's arcsine effect size
      :math:`h = 2\arcsin\sqrt{p_2} - 2\arcsin\sqrt{p_1}` with
      :math:`\text{power} = \Phi(|h|\sqrt{n/2} - z_a) + \Phi(-|h|\sqrt{n/2} - z_a)`
      (two-sided; the second, wrong-direction term is dropped for one-sided tests), as
      ``statsmodels.stats.power.NormalIndPower`` with
      ``effect_size=proportion_effectsize(p2, p1)`` and ``ratio=1``.

    ``"evanmiller"`` and ``"pooled"`` neglect the chance of a two-sided rejection in the
    wrong direction (as their textbook closed forms do); for one-sided
    ``"larger"`` (``"smaller"``) alternatives :math:`|\delta|` is replaced by
    :math:`\delta` (:math:`-\delta`), so an effect in the wrong direction has almost no
    power.
"""


def _with_power_methods(func: Any) -> Any:
    """Insert the shared description of the power formulas into a docstring."""
    func.__doc__ = func.__doc__.replace("    {methods}\n", _POWER_DOC_METHODS.strip("\n") + "\n\n")
    return func


def _check_power_common(
    p_c: Any, alpha: float, alternative: str, method: str, relative: Any
) -> tuple[np.ndarray, float, str, str, bool]:
    alternative = check_choice(alternative, name="alternative", choices=_ALTERNATIVES)
    method = check_choice(method, name="method", choices=_POWER_METHODS)
    alpha = check_alpha(alpha)
    if not isinstance(relative, (bool, np.bool_)):
        raise ParameterError(f"`relative`={relative!r} must be True or False.")
    p1 = check_probability_array(
        p_c, name="p_c", low_open=True, high_open=True,
        hint="the baseline rate is a fraction (0.2 for 20 %)",
    )  # fmt: skip
    return p1, alpha, alternative, method, bool(relative)


def _treatment_rate(p1: np.ndarray, effect: np.ndarray, relative: bool) -> np.ndarray:
    p2 = p1 * (1.0 + effect) if relative else p1 + effect
    bad = (p2 < 0) | (p2 > 1)
    if np.any(bad):
        i = np.nonzero(np.broadcast_to(bad, bad.shape).ravel())[0][0]
        e = np.broadcast_to(effect, bad.shape).ravel()[i]
        p = np.broadcast_to(p1, bad.shape).ravel()[i]
        kind = "relative" if relative else "absolute"
        raise ParameterError(
            f"`effect`={e:g} ({kind}) moves `p_c`={p:g} to {np.ravel(p2)[i]:g}, outside [0, 1]."
        )
    return p2


def _z_alpha(alpha: float, alternative: str) -> float:
    return float(stats.norm.isf(alpha / 2.0 if alternative == "two-sided" else alpha))


def _power_core(
    p1: np.ndarray, p2: np.ndarray, n: np.ndarray, alpha: float, alternative: str, method: str
) -> np.ndarray:
    """Power for treatment rate p2 vs control p1, n per arm (arrays broadcast)."""
    za = _z_alpha(alpha, alternative)
    delta = p2 - p1
    if method == "cohen_h":
        h = 2.0 * np.arcsin(np.sqrt(p2)) - 2.0 * np.arcsin(np.sqrt(p1))
        d = h * np.sqrt(n / 2.0)
        if alternative == "two-sided":
            return special.ndtr(np.abs(d) - za) + special.ndtr(-np.abs(d) - za)
        return special.ndtr((d if alternative == "larger" else -d) - za)
    if method == "evanmiller":
        s0 = np.sqrt(2.0 * p1 * (1.0 - p1))
    else:
        pbar = (p1 + p2) / 2.0
        s0 = np.sqrt(2.0 * pbar * (1.0 - pbar))
    s1 = np.sqrt(p1 * (1.0 - p1) + p2 * (1.0 - p2))
    signed = {"two-sided": np.abs(delta), "larger": delta, "smaller": -delta}[alternative]
    with np.errstate(divide="ignore", invalid="ignore"):
        arg = (signed * np.sqrt(n) - za * s0) / s1
    # s1 = 0 only when p1, p2 are both 0 or 1, i.e. (with 0 < p1 < 1) never.
    return special.ndtr(arg)


@_with_power_methods
def power(
    p_c: Any,
    effect: Any,
    n_per_arm: Any,
    *,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    relative: bool = False,
    method: Literal["pooled", "evanmiller", "cohen_h"] = "evanmiller",
) -> FloatOrArray:
    """Power of a two-arm conversion test with ``n_per_arm`` users in each arm.

    Parameters
    ----------
    p_c : float or array_like
        Baseline (control) conversion rate, in (0, 1).
    effect : float or array_like
        True effect: absolute difference pT - pC, or relative lift (pT - pC)/pC when
        ``relative=True``. pT must stay in [0, 1].
    n_per_arm : float or array_like
        Users per arm (> 0; need not be an integer).
    alpha : float, default 0.05
    alternative : {"two-sided", "larger", "smaller"}
    relative : bool, default False
    method : {"evanmiller", "pooled", "cohen_h"}
        Formula, see below.

    Returns
    -------
    float or numpy.ndarray
        Probability of rejecting H0 (broadcast over the array arguments).

    Notes
    -----
    {methods}
    Examples
    --------
    >>> round(power(0.20, 0.05, 1030.22), 4)
    0.8
    >>> power(0.20, 0.05, [500, 1000, 2000], method="cohen_h").round(3)
    array([0.474, 0.765, 0.967])
    """
    p1, alpha, alternative, method, relative = _check_power_common(
        p_c, alpha, alternative, method, relative
    )
    eff = as_numbers(effect, name="effect")
    n = as_numbers(n_per_arm, name="n_per_arm")
    if np.any(n <= 0):
        raise ParameterError(f"`n_per_arm`={n[n <= 0].flat[0]:g} must be positive (users per arm).")
    scalar = all(np.ndim(a) == 0 for a in (p1, eff, n))
    p1, eff, n = broadcast(p1, eff, n, names=("p_c", "effect", "n_per_arm"))
    p2 = _treatment_rate(p1, eff, relative)
    return out(_power_core(p1, p2, n, alpha, alternative, method), scalar)


def _check_target_power(value: Any) -> np.ndarray:
    return check_probability_array(
        value, name="power", low_open=True, high_open=True, hint="e.g. 0.8 for 80 %"
    )


@_with_power_methods
def sample_size(
    p_c: Any,
    effect: Any,
    *,
    alpha: float = 0.05,
    power: Any = 0.8,
    alternative: Alternative = "two-sided",
    relative: bool = False,
    method: Literal["pooled", "evanmiller", "cohen_h"] = "evanmiller",
) -> FloatOrArray:
    r"""Users needed **per arm** to detect ``effect`` with the given power.

    The inverse of :func:`power` for the same ``method``: ``power(p_c, effect,
    sample_size(p_c, effect, ...), ...)`` returns the requested power. The result is a
    float and is **not rounded**: round up (``math.ceil``) to plan an experiment.

    Parameters
    ----------
    p_c : float or array_like
        Baseline conversion rate in (0, 1).
    effect : float or array_like
        Effect to detect: absolute (pT - pC) or relative lift when ``relative=True``;
        non-zero, positive for ``alternative="larger"``, negative for ``"smaller"``.
    alpha : float, default 0.05
    power : float or array_like, default 0.8
        Target power in (0, 1).
    alternative : {"two-sided", "larger", "smaller"}
    relative : bool, default False
    method : {"evanmiller", "pooled", "cohen_h"}

    Returns
    -------
    float or numpy.ndarray
        Users per arm (0 when even a vanishing sample reaches the target power, which
        only happens for targets at or below the test's size).

    Notes
    -----
    {methods}
    For ``"evanmiller"``/``"pooled"`` and one-sided ``"cohen_h"`` the closed form
    :math:`n = ((z_a s_0 + z_b s_1)/\delta)^2` (resp. :math:`2((z_a + z_b)/h)^2`) is used,
    :math:`z_b = \Phi^{-1}(\text{power})`; two-sided ``"cohen_h"`` is solved numerically
    (bisection) with both tails, like ``NormalIndPower.solve_power``.

    Examples
    --------
    >>> round(sample_size(0.20, 0.05), 2)
    1030.22
    >>> round(sample_size(0.20, 0.05, method="pooled"), 2)
    1093.74
    >>> round(sample_size(0.20, 0.25, relative=True), 2)
    1030.22
    """
    p1, alpha, alternative, method, relative = _check_power_common(
        p_c, alpha, alternative, method, relative
    )
    eff = as_numbers(effect, name="effect")
    target = _check_target_power(power)
    scalar = all(np.ndim(a) == 0 for a in (p1, eff, target))
    p1, eff, target = broadcast(p1, eff, target, names=("p_c", "effect", "power"))
    p2 = _treatment_rate(p1, eff, relative)
    delta = p2 - p1
    if np.any(delta == 0):
        raise ParameterError("`effect` must be non-zero: no sample size detects an effect of 0.")
    if alternative == "larger" and np.any(delta < 0):
        raise ParameterError(
            f"`effect`={eff[delta < 0].flat[0]:g} is negative but alternative='larger' "
            "tests for an increase; give a positive effect or alternative='smaller'."
        )
    if alternative == "smaller" and np.any(delta > 0):
        raise ParameterError(
            f"`effect`={eff[delta > 0].flat[0]:g} is positive but alternative='smaller' "
            "tests for a decrease; give a negative effect or alternative='larger'."
        )
    za = _z_alpha(alpha, alternative)
    zb = special.ndtri(target)
    if method == "cohen_h":
        h = np.abs(2.0 * np.arcsin(np.sqrt(p2)) - 2.0 * np.arcsin(np.sqrt(p1)))
        n_one = 2.0 * (np.maximum(za + zb, 0.0) / h) ** 2
        if alternative != "two-sided":
            return out(n_one, scalar)
        # Both tails: power(n) is increasing, power(0) = alpha and power(n_one) >= target.
        hi = np.maximum(n_one, 1e-300)
        res = bisect_increasing(
            lambda n: _power_core(p1, p2, n, alpha, alternative, method) - target,
            np.zeros_like(hi),
            hi,
        )
        return out(np.where(n_one == 0, 0.0, res), scalar)
    if method == "evanmiller":
        s0 = np.sqrt(2.0 * p1 * (1.0 - p1))
    else:
        pbar = (p1 + p2) / 2.0
        s0 = np.sqrt(2.0 * pbar * (1.0 - pbar))
    s1 = np.sqrt(p1 * (1.0 - p1) + p2 * (1.0 - p2))
    n = (np.maximum(za * s0 + zb * s1, 0.0) / delta) ** 2
    return out(n, scalar)


@_with_power_methods
def mde(
    p_c: Any,
    n_per_arm: Any,
    *,
    alpha: float = 0.05,
    power: Any = 0.8,
    alternative: Alternative = "two-sided",
    relative: bool = False,
    method: Literal["pooled", "evanmiller", "cohen_h"] = "evanmiller",
) -> FloatOrArray:
    """Minimum detectable effect with ``n_per_arm`` users per arm.

    Solves ``power(p_c, effect, n_per_arm, ...) == power`` for ``effect`` numerically
    (vectorized bisection to double precision), so it is the exact inverse of
    :func:`power` for the same ``method``.

    Parameters
    ----------
    p_c : float or array_like
        Baseline conversion rate in (0, 1).
    n_per_arm : float or array_like
        Users per arm (> 0).
    alpha : float, default 0.05
    power : float or array_like, default 0.8
        Target power in (0.5, 1) (below 0.5 the inverse is not unique).
    alternative : {"two-sided", "larger", "smaller"}
        "two-sided" and "larger" return the smallest *increase* detectable (positive);
        "smaller" returns the smallest *decrease* (negative).
    relative : bool, default False
        Return the effect as a relative lift (pT - pC)/pC instead of pT - pC.
    method : {"evanmiller", "pooled", "cohen_h"}

    Returns
    -------
    float or numpy.ndarray
        The effect; NaN with a :class:`~funnelkit.errors.StatisticsWarning` when no
        effect keeps pT within [0, 1] and reaches the power (sample too small).

    Notes
    -----
    {methods}
    Examples
    --------
    >>> round(mde(0.20, 1030.22193), 5)
    0.05
    >>> mde(0.20, [1000, 4000], relative=True).round(4)
    array([0.2538, 0.1261])
    """
    p1, alpha, alternative, method, relative = _check_power_common(
        p_c, alpha, alternative, method, relative
    )
    n = as_numbers(n_per_arm, name="n_per_arm")
    if np.any(n <= 0):
        raise ParameterError(f"`n_per_arm`={n[n <= 0].flat[0]:g} must be positive (users per arm).")
    target = as_numbers(power, name="power")
    if np.any((target <= 0.5) | (target >= 1)):
        raise ParameterError(
            f"`power`={target[(target <= 0.5) | (target >= 1)].flat[0]:g} must lie in (0.5, 1) "
            "for the minimum detectable effect (e.g. 0.8)."
        )
    scalar = all(np.ndim(a) == 0 for a in (p1, n, target))
    p1, n, target = broadcast(p1, n, target, names=("p_c", "n_per_arm", "power"))
    sign = -1.0 if alternative == "smaller" else 1.0
    max_mag = p1 if sign < 0 else 1.0 - p1

    def f(mag: np.ndarray) -> np.ndarray:
        return _power_core(p1, p1 + sign * mag, n, alpha, alternative, method) - target

    reachable = f(max_mag) >= 0
    if np.any(~reachable):
        warn(
            f"No effect within [0, 1] reaches power {float(np.ravel(target)[0]):g} with so few "
            f"users{count_note(~reachable)}: the minimum detectable effect is NaN.",
            stacklevel=3,
        )
    mag = bisect_increasing(f, np.zeros_like(max_mag), max_mag)
    eff = sign * mag
    if relative:
        eff = eff / p1
    return out(np.where(reachable, eff, np.nan), scalar)
