"""Two-arm tests of conversion rates: the absolute difference pT - pC (Welch t or pooled
z test) and the relative lift (pT - pC) / pC (delta method, Welch t)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .._params import check_choice
from ._core import (
    ALTERNATIVES,
    Alternative,
    FloatOrArray,
    TidyResult,
    check_alpha,
    count_note,
    interval,
    lift_and_se,
    out,
    p_value as _p_value,
    two_arms,
    warn,
    warn_zero_se,
    welch_dof,
)

__all__ = ["diff_test", "lift_test", "DiffTest", "LiftTest"]


# =====================================================================================
# Difference of proportions
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
    alternative = check_choice(alternative, name="alternative", choices=ALTERNATIVES)
    test = check_choice(test, name="test", choices=("welch", "z_pooled"))
    alpha = check_alpha(alpha)
    scalar, cc, nc, ct, nt, pc, pt = two_arms(conv_c, n_c, conv_t, n_t)
    valid = (nc > 0) & (nt > 0)
    vc, vt = pc * (1.0 - pc), pt * (1.0 - pt)
    diff = pt - pc
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(vt / nt + vc / nc)
        if test == "welch":
            warn_zero_se(se, valid, "difference")
            dof = np.where(se > 0, welch_dof(vc, nc, vt, nt), np.nan)
            statistic = np.where(se > 0, diff / se, np.nan)
        else:
            pooled = (cc + ct) / (nc + nt)
            se0 = np.sqrt(pooled * (1.0 - pooled) * (1.0 / nc + 1.0 / nt))
            warn_zero_se(se0, valid, "difference under H0 (pooled)")
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
# Relative lift
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
    alternative = check_choice(alternative, name="alternative", choices=ALTERNATIVES)
    alpha = check_alpha(alpha)
    scalar, cc, nc, ct, nt, pc, pt = two_arms(conv_c, n_c, conv_t, n_t)
    valid = (nc > 0) & (nt > 0)
    lift, se, zero_c = lift_and_se(pc, nc, pt, nt)
    if np.any(zero_c & valid):
        warn(
            f"The control rate is 0{count_note(zero_c & valid)}: the relative lift is "
            "undefined (NaN); use diff_test for the absolute difference.",
            stacklevel=3,
        )
    warn_zero_se(se, valid & ~zero_c, "relative lift")
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
