"""Sequential testing: always-valid (peeking-safe) p-values and confidence sequences."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ParameterError
from .power_analysis import check_n_star
from ._core import (
    FloatOrArray,
    TidyResult,
    check_alpha,
    count_note,
    lift_and_se,
    out,
    two_arms,
    warn,
    warn_zero_se,
)

__all__ = ["sequential_test", "SequentialTest"]


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
    check_n_star(n_star)
    scalar, cc, nc, ct, nt, pc, pt = two_arms(conv_c, n_c, conv_t, n_t)
    valid = (nc > 0) & (nt > 0)
    if relative:
        est, se, zero_c = lift_and_se(pc, nc, pt, nt)
        if np.any(zero_c & valid):
            warn(
                f"The control rate is 0{count_note(zero_c & valid)}: the relative lift is "
                "undefined (NaN); use relative=False for the absolute difference.",
                stacklevel=3,
            )
        warn_zero_se(se, valid & ~zero_c, "relative lift")
    else:
        est = pt - pc
        with np.errstate(invalid="ignore", divide="ignore"):
            se = np.sqrt(pt * (1 - pt) / nt + pc * (1 - pc) / nc)
        warn_zero_se(se, valid, "difference")
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
