"""Two-arm tests of means of a per-user metric (revenue per user, orders per user, a ratio's
linearized value): Welch t on the difference, delta-method relative lift, as GrowthBook's
gbstats frequentist engine; optional always-valid (sequential) intervals and a
non-inferiority margin for guardrails."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._params import check_choice
from ..errors import ParameterError
from ._core import (
    ALTERNATIVES,
    Alternative,
    FloatOrArray,
    TidyResult,
    as_numbers,
    broadcast,
    check_alpha,
    count_note,
    interval,
    out,
    p_value as _p_value,
    warn,
    welch_dof,
)

from . import _dist  # scipy.special: scipy.stats (~0.5 s, 45 MB) is not loaded

__all__ = ["mean_test", "MeanTest", "check_moments"]


@dataclass(frozen=True, eq=False)
class MeanTest(TidyResult):
    """Result of :func:`mean_test` (arrays for array input, floats for scalars).

    Attributes
    ----------
    mean_c, var_c, n_c, mean_t, var_t, n_t
        The inputs: per-arm mean, per-unit variance (ddof = 1) and units.
    abs_diff, abs_se, abs_ci_low, abs_ci_high
        Δ = mean_t - mean_c, √(var_t/n_t + var_c/n_c) and its interval.
    lift, lift_se, lift_ci_low, lift_ci_high
        L = Δ / base_c (base: the unadjusted control mean, = mean_c without CUPED) and its
        delta-method standard error and interval.
    dof
        Welch–Satterthwaite degrees of freedom.
    p_value
        p-value of Δ for ``alternative`` (always-valid when ``sequential``).
    lift_p_value
        p-value of L (what gbstats reports; the same test on the relative scale).
    noninferiority_p_value
        With ``margin``: one-sided p-value of H0: L <= -margin (NaN without a margin).
    alpha, alternative, sequential, n_star, margin
        The parameters used.
    """

    mean_c: FloatOrArray
    var_c: FloatOrArray
    n_c: FloatOrArray
    mean_t: FloatOrArray
    var_t: FloatOrArray
    n_t: FloatOrArray
    abs_diff: FloatOrArray
    abs_se: FloatOrArray
    abs_ci_low: FloatOrArray
    abs_ci_high: FloatOrArray
    lift: FloatOrArray
    lift_se: FloatOrArray
    lift_ci_low: FloatOrArray
    lift_ci_high: FloatOrArray
    dof: FloatOrArray
    p_value: FloatOrArray
    lift_p_value: FloatOrArray
    noninferiority_p_value: FloatOrArray
    alpha: float
    alternative: str
    sequential: bool
    n_star: float
    margin: float

    _columns = (
        "mean_c", "var_c", "n_c", "mean_t", "var_t", "n_t", "abs_diff", "abs_se", "abs_ci_low",
        "abs_ci_high", "lift", "lift_se", "lift_ci_low", "lift_ci_high", "dof", "p_value",
        "lift_p_value", "noninferiority_p_value", "alpha", "alternative", "sequential", "n_star",
        "margin",
    )  # fmt: skip


def check_moments(mean: Any, var: Any, n: Any, *, arm: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate one arm's (mean, variance, units): finite, variance >= 0, units >= 0."""
    m = as_numbers(mean, name=f"mean_{arm}")
    v = as_numbers(var, name=f"var_{arm}")
    k = as_numbers(n, name=f"n_{arm}")
    if np.any(v < 0):
        raise ParameterError(f"`var_{arm}`={v[v < 0].flat[0]:g} is negative; a variance is >= 0.")
    if np.any(k < 0):
        raise ParameterError(f"`n_{arm}`={k[k < 0].flat[0]:g} is negative; give the number of units.")
    return m, v, k


def sequential_bounds(est: np.ndarray, se: np.ndarray, n: np.ndarray, alpha: float,
                      n_star: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Always-valid interval and p-value of an asymptotically normal estimate at ``n`` total
    units (Waudby-Smith et al. 2023, eq. 9; see :func:`funnelkit.stats.sequential_test`)."""
    la = np.log(alpha)
    rho2 = (-2.0 * la + np.log(1.0 - 2.0 * la)) / n_star
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        nr2 = n * rho2 + 1.0
        half = se * np.sqrt(n) * np.sqrt(2.0 * nr2 / (n * n * rho2) * np.log(np.sqrt(nr2) / alpha))
        log_p = 0.5 * np.log(nr2) - rho2 * n * (est / se) ** 2 / (2.0 * nr2)
        p = np.exp(np.minimum(log_p, 0.0))
    ok = se > 0
    return np.where(ok, est - half, np.nan), np.where(ok, est + half, np.nan), np.where(ok, p, np.nan)


def mean_test(
    mean_c: Any,
    var_c: Any,
    n_c: Any,
    mean_t: Any,
    var_t: Any,
    n_t: Any,
    *,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    sequential: bool = False,
    n_star: float = 5000,
    margin: float | None = None,
    base_c: Any = None,
    base_t: Any = None,
    higher_is_better: bool = True,
) -> MeanTest:
    r"""Compare the means of a per-unit metric between control and treatment.

    With per-arm means :math:`\bar x`, per-unit variances :math:`s^2` (ddof = 1) and units
    :math:`n`:

    * difference :math:`\Delta = \bar x_T - \bar x_C`, :math:`SE_\Delta = \sqrt{s_T^2/n_T + s_C^2/n_C}`,
      Welch–Satterthwaite :math:`\nu`, :math:`t = \Delta / SE_\Delta`, interval
      :math:`\Delta \pm t_{1-\alpha/2,\nu} SE_\Delta`;
    * relative lift :math:`L = \Delta / b_C` with the delta-method variance
      :math:`SE_L^2 = s_T^2/(b_C^2 n_T) + s_C^2 b_T^2/(b_C^4 n_C)`, where :math:`b` are the
      arms' unadjusted means (``base_c``/``base_t``; equal to the means unless they were
      regression-adjusted, :func:`funnelkit.stats.cuped`), and the same :math:`\nu`.

    These are gbstats' ``TwoSidedTTest`` (``difference_type="absolute"`` for Δ,
    ``"relative"`` for L), its one-sided tests for ``alternative="larger"/"smaller"``, and with
    ``sequential=True`` its ``SequentialTwoSidedTTest`` (always-valid interval and p-value
    at :math:`N = n_C + n_T`, tuned by ``n_star``). With variances :math:`p(1-p)\,n/(n-1)`
    a rate is a mean (but :func:`diff_test` uses :math:`p(1-p)`, as gbstats' proportions).

    A ratio metric (revenue / orders) goes through the same test with its delta-method
    moments (:func:`ratio_moments`); a CUPED-adjusted metric with its adjusted moments.

    Parameters
    ----------
    mean_c, var_c, n_c : float or array_like
        Control: mean, per-unit variance (ddof = 1), units.
    mean_t, var_t, n_t : float or array_like
        Treatment, likewise (all six broadcast together).
    alpha : float, default 0.05
    alternative : {"two-sided", "larger", "smaller"}
        H1 for Δ and L ("larger": the treatment mean is larger).
    sequential : bool, default False
        Always-valid interval and p-value (two-sided only).
    n_star : float, default 5000
        Tuning of the sequential test (total units where it is tightest).
    margin : float, optional
        Non-inferiority margin on the relative lift (> 0; 0.02 = "at most 2 % worse"):
        ``noninferiority_p_value`` tests H0: L <= -margin against L > -margin (one-sided
        Welch t at the same :math:`\nu`, gbstats' one-sided test with ``test_value=-margin``).
        With ``higher_is_better=False`` (a metric that must not rise, e.g. refunds) it
        tests H0: L >= margin against L < margin.
    base_c, base_t : float or array_like, optional
        Unadjusted means for the relative lift (default: ``mean_c``/``mean_t``).
    higher_is_better : bool, default True
        The direction that the non-inferiority margin protects.

    Returns
    -------
    MeanTest

    Notes
    -----
    A zero control base makes the lift NaN; a zero standard error makes the statistics
    NaN; an arm with fewer than 2 units gives NaN; each with a
    :class:`~funnelkit.errors.StatisticsWarning`, as the other tests.

    Examples
    --------
    >>> r = mean_test(10.0, 25.0, 1000, 10.6, 30.0, 1000)
    >>> round(r.abs_diff, 3), round(r.abs_se, 5), round(r.p_value, 5), round(r.lift, 3)
    (0.6, 0.23452, 0.01059, 0.06)
    >>> round(mean_test(10.0, 25.0, 1000, 9.9, 30.0, 1000, margin=0.05).noninferiority_p_value, 4)
    0.0434
    """
    alternative = check_choice(alternative, name="alternative", choices=ALTERNATIVES)
    alpha = check_alpha(alpha)
    if not isinstance(sequential, (bool, np.bool_)):
        raise ParameterError(f"`sequential`={sequential!r} must be True or False.")
    from .power_analysis import check_n_star

    n_star = check_n_star(n_star)
    if sequential and alternative != "two-sided":
        raise ParameterError(
            f"`alternative`={alternative!r} with sequential=True: the always-valid test is two-sided "
            "only. Use alternative='two-sided'."
        )
    if not isinstance(higher_is_better, (bool, np.bool_)):
        raise ParameterError(f"`higher_is_better`={higher_is_better!r} must be True or False.")
    if margin is not None:
        if isinstance(margin, (bool, np.bool_)) or not isinstance(margin, (int, float, np.number)) \
                or not np.isfinite(margin) or margin <= 0:
            raise ParameterError(f"`margin`={margin!r} must be a positive relative lift, e.g. 0.02 for 2 %.")
    mc, vc, nc = check_moments(mean_c, var_c, n_c, arm="c")
    mt, vt, nt = check_moments(mean_t, var_t, n_t, arm="t")
    bc = mc if base_c is None else as_numbers(base_c, name="base_c")
    bt = mt if base_t is None else as_numbers(base_t, name="base_t")
    scalar = all(np.ndim(a) == 0 for a in (mc, vc, nc, mt, vt, nt, bc, bt))
    mc, vc, nc, mt, vt, nt, bc, bt = broadcast(
        mc, vc, nc, mt, vt, nt, bc, bt,
        names=("mean_c", "var_c", "n_c", "mean_t", "var_t", "n_t", "base_c", "base_t"))
    small = (nc < 2) | (nt < 2)
    if np.any(small):
        warn(f"An arm has fewer than 2 units{count_note(small)}: its variance and every statistic "
             "that needs it are NaN.", stacklevel=3)
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = mt - mc
        se = np.where(small, np.nan, np.sqrt(vt / nt + vc / nc))
        zero_b = bc == 0
        lift = np.where(zero_b, np.nan, diff / np.where(zero_b, np.nan, bc))
        lse = np.where(small | zero_b, np.nan,
                       np.sqrt(vt / (bc**2 * nt) + vc * bt**2 / (bc**4 * nc)))
        dof = np.where(se > 0, welch_dof(vc, nc, vt, nt), np.nan)
        zero_se = ~small & ~(se > 0)
    if np.any(zero_se):
        warn(f"The standard error of the difference is 0{count_note(zero_se)}: statistics are NaN.",
             stacklevel=3)
    if np.any(zero_b & ~small):
        warn(f"The control mean is 0{count_note(zero_b & ~small)}: the relative lift is undefined (NaN).",
             stacklevel=3)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_abs = np.where(se > 0, diff / se, np.nan)
        t_rel = np.where(lse > 0, lift / lse, np.nan)
    if sequential:
        n = nc + nt
        a_lo, a_hi, p = sequential_bounds(diff, se, n, alpha, n_star)
        l_lo, l_hi, lp = sequential_bounds(lift, lse, n, alpha, n_star)
    else:
        p = _p_value(t_abs, dof, alternative)
        lp = _p_value(t_rel, dof, alternative)
        a_lo, a_hi = interval(diff, se, dof, alpha, alternative)
        l_lo, l_hi = interval(lift, lse, dof, alpha, alternative)
    if margin is None:
        ni = np.full(np.shape(lift), np.nan)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            ni = (_dist.t_sf((lift + margin) / lse, dof) if higher_is_better
                  else _dist.t_cdf((lift - margin) / lse, dof))
    return MeanTest(
        mean_c=out(mc, scalar), var_c=out(vc, scalar), n_c=out(nc, scalar),
        mean_t=out(mt, scalar), var_t=out(vt, scalar), n_t=out(nt, scalar),
        abs_diff=out(diff, scalar), abs_se=out(se, scalar), abs_ci_low=out(a_lo, scalar),
        abs_ci_high=out(a_hi, scalar), lift=out(lift, scalar), lift_se=out(lse, scalar),
        lift_ci_low=out(l_lo, scalar), lift_ci_high=out(l_hi, scalar), dof=out(dof, scalar),
        p_value=out(p, scalar), lift_p_value=out(lp, scalar), noninferiority_p_value=out(ni, scalar),
        alpha=alpha, alternative=alternative, sequential=bool(sequential), n_star=float(n_star),
        margin=float("nan") if margin is None else float(margin),
    )  # fmt: skip
