"""Power analysis of two-arm conversion tests: power, minimum detectable effect and
sample size, with a named formula (welch, the test funnelkit runs, by default; evanmiller,
pooled, cohen_h), for fixed-horizon or sequential tests and a level corrected for a
family of tests."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from .._lazy import lazy_module

special = lazy_module("scipy.special")  # imported on first use (import funnelkit stays light)
from . import _dist  # scipy.special: scipy.stats (~0.5 s, 45 MB) is not loaded

from .._params import check_choice
from ..errors import ParameterError
from ._core import (
    ALTERNATIVES,
    Alternative,
    FloatOrArray,
    as_numbers,
    bisect_increasing,
    broadcast,
    check_alpha,
    check_probability_array,
    count_note,
    out,
    warn,
)

__all__ = ["power", "mde", "sample_size"]

_POWER_METHODS = ("welch", "evanmiller", "pooled", "cohen_h")

_POWER_DOC_METHODS = r"""
    All methods use the normal approximation with n users per arm, control rate
    :math:`p_1`, treatment rate :math:`p_2 = p_1 + \delta`, :math:`z_a = \Phi^{-1}(1 - \alpha/2)`
    (two-sided) or :math:`\Phi^{-1}(1 - \alpha)` (one-sided):

    * ``"welch"`` (default): the test :func:`diff_test` runs (unpooled SE, Welch t,
      which is normal at these sizes), whose statistic has the *same* variance under H0
      and H1: :math:`\text{power} = \Phi(|\delta|\sqrt n / s_1 - c) + \Phi(-|\delta|\sqrt n / s_1 - c)`
      with :math:`s_1 = \sqrt{p_1(1-p_1) + p_2(1-p_2)}` and the critical value
      :math:`c = z_a` (the second term only for two-sided tests). It agrees with the
      exact power of the Welch test (enumeration of both binomials) within 0.01 for
      arms with 100 or more expected conversions (``tests/test_stats_power_analysis.py``).
      With ``sequential=True`` (two-sided only) :math:`c` is the critical value of the
      always-valid p-value of :func:`sequential_test` at the final look,
      :math:`c^2 = 2\frac{N\rho^2+1}{N\rho^2}\ln\frac{\sqrt{N\rho^2+1}}{\alpha}`,
      :math:`N = 2n`, ρ tuned by ``n_star``.
    * ``"evanmiller"``: Evan Miller's sample-size calculator formula,
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

    ``n_tests > 1`` runs the test at level :math:`\alpha/m` (Bonferroni), the level at
    which Holm (and Benjamini–Hochberg when only this effect is real) rejects the family's
    smallest p-value: the power of a test that survives the correction.

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


def check_design(
    alpha: Any, alternative: Any, sequential: Any, n_star: Any, n_tests: Any, method: str = "welch"
) -> tuple[float, str, bool, float, int]:
    """Checks shared by every power function: the level, the alternative and the design
    of the test (sequential, n_star, n_tests); returns the level per test (alpha / n_tests)."""
    alternative = check_choice(alternative, name="alternative", choices=ALTERNATIVES)
    alpha = check_alpha(alpha)
    if not isinstance(sequential, (bool, np.bool_)):
        raise ParameterError(f"`sequential`={sequential!r} must be True or False.")
    check_n_star(n_star)
    if (isinstance(n_tests, (bool, np.bool_)) or not isinstance(n_tests, (int, np.integer))
            or n_tests < 1):
        raise ParameterError(
            f"`n_tests`={n_tests!r} must be a positive integer: the number of tests in the "
            "corrected family (1 without a correction)."
        )
    if sequential and method != "welch":
        raise ParameterError(
            f"`sequential=True` describes the always-valid Welch test; method={method!r} has no "
            "sequential form. Use method='welch'."
        )
    if sequential and alternative != "two-sided":
        raise ParameterError(
            f"`sequential=True` with alternative={alternative!r}: the always-valid test is "
            "two-sided only. Use alternative='two-sided'."
        )
    return alpha / int(n_tests), alternative, bool(sequential), float(n_star), int(n_tests)


def check_n_star(n_star: Any) -> float:
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
    return float(n_star)


def critical_value(alpha: float, alternative: str, sequential: bool, n_star: float,
                   n_total: Any) -> np.ndarray:
    """|z| beyond which the test rejects: the normal quantile, or the boundary of the
    always-valid p-value of :func:`sequential_test` at ``n_total`` users."""
    if not sequential:
        return np.asarray(_z_alpha(alpha, alternative), dtype=float)
    la = np.log(alpha)
    rho2 = (-2.0 * la + np.log(1.0 - 2.0 * la)) / n_star
    n = np.asarray(n_total, dtype=float)
    nr2 = n * rho2 + 1.0
    return np.sqrt(2.0 * nr2 / (n * rho2) * (0.5 * np.log(nr2) - la))


def power_from_z(signed_z: np.ndarray, crit: np.ndarray, alternative: str) -> np.ndarray:
    """Power of a normal test whose statistic is N(signed_z, 1) (signed towards H1)."""
    if alternative == "two-sided":
        return special.ndtr(np.abs(signed_z) - crit) + special.ndtr(-np.abs(signed_z) - crit)
    return special.ndtr(signed_z - crit)


def _check_power_common(
    p_c: Any, alpha: float, alternative: str, method: str, relative: Any,
    sequential: Any = False, n_star: Any = 5000, n_tests: Any = 1,
) -> tuple[np.ndarray, float, str, str, bool, bool, float]:
    method = check_choice(method, name="method", choices=_POWER_METHODS)
    alpha, alternative, sequential, n_star, _ = check_design(
        alpha, alternative, sequential, n_star, n_tests, method)
    if not isinstance(relative, (bool, np.bool_)):
        raise ParameterError(f"`relative`={relative!r} must be True or False.")
    p1 = check_probability_array(
        p_c, name="p_c", low_open=True, high_open=True,
        hint="the baseline rate is a fraction (0.2 for 20 %)",
    )  # fmt: skip
    return p1, alpha, alternative, method, bool(relative), sequential, n_star


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
    return float(_dist.norm_isf(alpha / 2.0 if alternative == "two-sided" else alpha))


def _power_core(
    p1: np.ndarray, p2: np.ndarray, n: np.ndarray, alpha: float, alternative: str, method: str,
    sequential: bool = False, n_star: float = 5000.0,
) -> np.ndarray:
    """Power for treatment rate p2 vs control p1, n per arm (arrays broadcast)."""
    delta = p2 - p1
    if method == "welch":
        s1 = np.sqrt(p1 * (1.0 - p1) + p2 * (1.0 - p2))
        signed = {"two-sided": delta, "larger": delta, "smaller": -delta}[alternative]
        with np.errstate(divide="ignore", invalid="ignore"):
            z = signed * np.sqrt(n) / s1
        return power_from_z(z, critical_value(alpha, alternative, sequential, n_star, 2.0 * n), alternative)
    za = _z_alpha(alpha, alternative)
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
    method: Literal["welch", "pooled", "evanmiller", "cohen_h"] = "welch",
    sequential: bool = False,
    n_star: float = 5000,
    n_tests: int = 1,
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
    method : {"welch", "evanmiller", "pooled", "cohen_h"}
        Formula, see below.
    sequential : bool, default False
        Power of the always-valid test of :func:`sequential_test` (two-sided, ``welch``).
    n_star : float, default 5000
        Its tuning parameter (total users).
    n_tests : int, default 1
        Tests in the corrected family; the test runs at level ``alpha / n_tests``.

    Returns
    -------
    float or numpy.ndarray
        Probability of rejecting H0 (broadcast over the array arguments).

    Notes
    -----
    {methods}
    Examples
    --------
    >>> round(power(0.20, 0.05, 1030.22, method="evanmiller"), 4)
    0.8
    >>> round(power(0.20, 0.05, 1090.99), 4)  # the Welch test funnelkit runs
    0.8
    >>> round(power(0.20, 0.05, 1090.99, sequential=True), 2)  # the always-valid test
    0.38
    >>> power(0.20, 0.05, [500, 1000, 2000], method="cohen_h").round(3)
    array([0.474, 0.765, 0.967])
    """
    p1, alpha, alternative, method, relative, sequential, n_star = _check_power_common(
        p_c, alpha, alternative, method, relative, sequential, n_star, n_tests
    )
    eff = as_numbers(effect, name="effect")
    n = as_numbers(n_per_arm, name="n_per_arm")
    if np.any(n <= 0):
        raise ParameterError(f"`n_per_arm`={n[n <= 0].flat[0]:g} must be positive (users per arm).")
    scalar = all(np.ndim(a) == 0 for a in (p1, eff, n))
    p1, eff, n = broadcast(p1, eff, n, names=("p_c", "effect", "n_per_arm"))
    p2 = _treatment_rate(p1, eff, relative)
    return out(_power_core(p1, p2, n, alpha, alternative, method, sequential, n_star), scalar)


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
    method: Literal["welch", "pooled", "evanmiller", "cohen_h"] = "welch",
    sequential: bool = False,
    n_star: float = 5000,
    n_tests: int = 1,
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
    method : {"welch", "evanmiller", "pooled", "cohen_h"}
    sequential, n_star, n_tests
        The design of the test, as in :func:`power`.

    Returns
    -------
    float or numpy.ndarray
        Users per arm (0 when even a vanishing sample reaches the target power, which
        only happens for targets at or below the test's size).

    Notes
    -----
    {methods}
    ``"welch"`` is solved numerically (bisection on log n), since with
    ``sequential=True`` the critical value depends on n. For ``"evanmiller"``/``"pooled"`` and one-sided ``"cohen_h"`` the closed form
    :math:`n = ((z_a s_0 + z_b s_1)/\delta)^2` (resp. :math:`2((z_a + z_b)/h)^2`) is used,
    :math:`z_b = \Phi^{-1}(\text{power})`; two-sided ``"cohen_h"`` is solved numerically
    (bisection) with both tails, like ``NormalIndPower.solve_power``.

    Examples
    --------
    >>> round(sample_size(0.20, 0.05), 2)
    1090.99
    >>> round(sample_size(0.20, 0.05, method="evanmiller"), 2)
    1030.22
    >>> round(sample_size(0.20, 0.05, method="pooled"), 2)
    1093.74
    >>> round(sample_size(0.20, 0.25, relative=True), 2)
    1090.99
    """
    p1, alpha, alternative, method, relative, sequential, n_star = _check_power_common(
        p_c, alpha, alternative, method, relative, sequential, n_star, n_tests
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
    if method == "welch":
        return out(_solve_n(lambda n: _power_core(p1, p2, n, alpha, alternative, method, sequential,
                                                  n_star), target), scalar)
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
    method: Literal["welch", "pooled", "evanmiller", "cohen_h"] = "welch",
    sequential: bool = False,
    n_star: float = 5000,
    n_tests: int = 1,
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
    method : {"welch", "evanmiller", "pooled", "cohen_h"}
    sequential, n_star, n_tests
        The design of the test, as in :func:`power`.

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
    >>> round(mde(0.20, 1030.22193, method="evanmiller"), 5)
    0.05
    >>> mde(0.20, [1000, 4000], relative=True).round(4)
    array([0.2616, 0.1281])
    """
    p1, alpha, alternative, method, relative, sequential, n_star = _check_power_common(
        p_c, alpha, alternative, method, relative, sequential, n_star, n_tests
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
        return _power_core(p1, p1 + sign * mag, n, alpha, alternative, method, sequential, n_star) - target

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


def _solve_n(power_of_n: Any, target: np.ndarray) -> np.ndarray:
    """Users per arm where the increasing ``power_of_n`` reaches ``target`` (bisection on
    log n between 1e-6 and 1e15; 0 when the target is at or below the test's size)."""
    lo = np.full(np.shape(target), np.log(1e-6))
    hi = np.full(np.shape(target), np.log(1e15))
    n = np.exp(bisect_increasing(lambda ln: power_of_n(np.exp(ln)) - target, lo, hi, iters=80))
    return np.where(power_of_n(np.full(np.shape(target), 1e-6)) >= target, 0.0, n)
