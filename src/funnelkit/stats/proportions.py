"""Confidence interval of one conversion rate: Wilson, Wald, Agresti–Coull,
Clopper–Pearson and Jeffreys."""

from __future__ import annotations

from statistics import NormalDist
from typing import Any, Literal

import numpy as np

from . import _dist  # scipy.special: scipy.stats (~0.5 s, 45 MB) is not loaded

from .._params import check_choice
from ._core import FloatOrArray, broadcast, check_alpha, check_counts, count_note, out, warn

__all__ = ["proportion_ci"]

_CI_METHODS = ("wilson", "wald", "agresti_coull", "clopper_pearson", "jeffreys")


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
    # the normal quantile from the standard library (Wichura's AS 241, within 1e-15 of
    # scipy.stats.norm.isf): a Wilson interval does not need scipy.stats (~60 MB) loaded
    z = -NormalDist().inv_cdf(a2)
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
            low = _dist.beta_ppf(a2, np.where(x > 0, x, 1.0), ns - x + 1.0)
            high = _dist.beta_isf(a2, x + 1.0, np.where(x < ns, ns - x, 1.0))
            low = np.where(x == 0, 0.0, low)
            high = np.where(x == ns, 1.0, high)
        else:  # jeffreys
            low = _dist.beta_ppf(a2, x + 0.5, ns - x + 0.5)
            high = _dist.beta_isf(a2, x + 0.5, ns - x + 0.5)
    low = np.clip(low, 0.0, 1.0)
    high = np.clip(high, 0.0, 1.0)
    low = np.where(empty, np.nan, low)
    high = np.where(empty, np.nan, high)
    return out(low, scalar), out(high, scalar)
