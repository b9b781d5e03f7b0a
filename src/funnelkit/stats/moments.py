"""Per-arm moments of per-unit metrics from sums (what a log's aggregation gives): sample
means and variances, ratio metrics by the delta method, and CUPED / regression adjustment
with a pre-exposure covariate, as GrowthBook's gbstats statistics classes.

Each function takes per-arm sums (``n``, Σx, Σx², ...) and returns means and per-unit
variances (ddof = 1) for :func:`funnelkit.stats.mean_test` and
:func:`funnelkit.stats.mean_bayes_test`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ParameterError
from ._core import FloatOrArray, TidyResult, as_numbers, broadcast, out

__all__ = ["sample_moments", "ratio_moments", "cuped", "CupedResult"]


def _n(n: Any, name: str = "n") -> np.ndarray:
    k = as_numbers(n, name=name)
    if np.any(k < 0):
        raise ParameterError(f"`{name}`={k[k < 0].flat[0]:g} is negative; give the number of units.")
    return k


def _var(n: np.ndarray, s: np.ndarray, ss: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 1, np.maximum((ss - s * s / n) / (n - 1.0), 0.0), 0.0)


def _cov(n: np.ndarray, sx: np.ndarray, sy: np.ndarray, sxy: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 1, (sxy - sx * sy / n) / (n - 1.0), 0.0)


def sample_moments(n: Any, total: Any, sum_squares: Any) -> tuple[FloatOrArray, FloatOrArray]:
    r"""Mean :math:`\Sigma x / n` and variance :math:`(\Sigma x^2 - (\Sigma x)^2/n)/(n-1)` of a
    per-unit metric (gbstats ``SampleMeanStatistic``; variance 0 for n <= 1).

    Examples
    --------
    >>> sample_moments(4, 10.0, 30.0)
    (2.5, 1.6666666666666667)
    """
    k = _n(n)
    s = as_numbers(total, name="total")
    ss = as_numbers(sum_squares, name="sum_squares")
    scalar = all(np.ndim(a) == 0 for a in (k, s, ss))
    k, s, ss = broadcast(k, s, ss, names=("n", "total", "sum_squares"))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(k > 0, s / k, 0.0)
    return out(mean, scalar), out(_var(k, s, ss), scalar)


def ratio_moments(
    n: Any, m_sum: Any, m_sum_squares: Any, d_sum: Any, d_sum_squares: Any, m_d_sum_products: Any
) -> tuple[FloatOrArray, FloatOrArray]:
    r"""Ratio :math:`R = \Sigma m / \Sigma d` over units (e.g. revenue / orders) and the per-unit
    variance of its linearization (delta method):

    .. math:: \sigma_R^2 = \frac{s_m^2}{\bar d^2} - 2\frac{\bar m\, s_{md}}{\bar d^3}
              + \frac{\bar m^2 s_d^2}{\bar d^4},

    so that :math:`\sigma_R^2 / n` is the variance of R. This is gbstats'
    ``RatioStatistic`` (mean 0 and variance 0 when Σd = 0 or n <= 1); pass its moments to
    :func:`mean_test` to compare arms.

    Examples
    --------
    >>> m, v = ratio_moments(3, 60.0, 1400.0, 4.0, 6.0, 90.0)
    >>> round(m, 4), round(v, 4)
    (15.0, 14.0625)
    """
    k = _n(n)
    arrs = [as_numbers(a, name=nm) for a, nm in ((m_sum, "m_sum"), (m_sum_squares, "m_sum_squares"),
                                                 (d_sum, "d_sum"), (d_sum_squares, "d_sum_squares"),
                                                 (m_d_sum_products, "m_d_sum_products"))]
    scalar = all(np.ndim(a) == 0 for a in [k, *arrs])
    k, sm, ssm, sd, ssd, smd = broadcast(k, *arrs, names=("n", "m_sum", "m_sum_squares", "d_sum",
                                                           "d_sum_squares", "m_d_sum_products"))
    with np.errstate(divide="ignore", invalid="ignore"):
        mm = np.where(k > 0, sm / k, 0.0)
        md = np.where(k > 0, sd / k, 0.0)
        ratio = np.where(sd != 0, sm / np.where(sd != 0, sd, 1.0), 0.0)
        var = (_var(k, sm, ssm) / md**2 - 2.0 * _cov(k, sm, sd, smd) * mm / md**3
               + mm**2 * _var(k, sd, ssd) / md**4)
        var = np.where((md == 0) | (k <= 1), 0.0, var)
    return out(ratio, scalar), out(var, scalar)


@dataclass(frozen=True, eq=False)
class CupedResult(TidyResult):
    """Result of :func:`cuped`.

    Attributes
    ----------
    theta : float or ndarray
        The regression coefficient, pooled over both arms (0: no adjustment).
    mean_c, var_c, mean_t, var_t
        Adjusted means :math:`\\bar y - \\theta \\bar x` and per-unit variances
        :math:`s_y^2 + \\theta^2 s_x^2 - 2\\theta s_{xy}`.
    base_c, base_t
        The unadjusted post-exposure means (bases of the relative lift).
    var_unadjusted_c, var_unadjusted_t
        The post-exposure variances without adjustment.
    variance_reduction
        :math:`1 - SE^2_{adjusted} / SE^2_{unadjusted}` of the difference of means.
    """

    theta: FloatOrArray
    mean_c: FloatOrArray
    var_c: FloatOrArray
    mean_t: FloatOrArray
    var_t: FloatOrArray
    base_c: FloatOrArray
    base_t: FloatOrArray
    var_unadjusted_c: FloatOrArray
    var_unadjusted_t: FloatOrArray
    variance_reduction: FloatOrArray

    _columns = ("theta", "mean_c", "var_c", "mean_t", "var_t", "base_c", "base_t", "var_unadjusted_c",
                "var_unadjusted_t", "variance_reduction")


def cuped(
    n_c: Any, post_sum_c: Any, post_sum_squares_c: Any, pre_sum_c: Any, pre_sum_squares_c: Any,
    post_pre_sum_products_c: Any,
    n_t: Any, post_sum_t: Any, post_sum_squares_t: Any, pre_sum_t: Any, pre_sum_squares_t: Any,
    post_pre_sum_products_t: Any,
) -> CupedResult:
    r"""CUPED / regression adjustment of a per-unit metric y with a pre-exposure covariate x.

    The coefficient is pooled over both arms (the units of both arms as one sample):
    :math:`\theta = s_{xy} / s_x^2` from the joint sums, and each arm's adjusted mean and
    variance are

    .. math:: \bar y - \theta \bar x, \qquad s_y^2 + \theta^2 s_x^2 - 2\theta s_{xy}.

    As gbstats' ``RegressionAdjustedStatistic`` with ``compute_theta`` (θ = 0, i.e. no
    adjustment, when the joint pre- or post-period variance is 0). Pass the result to
    :func:`mean_test` with ``base_c=res.base_c, base_t=res.base_t``: the relative lift
    divides by the *unadjusted* control mean, as gbstats.

    Parameters
    ----------
    n_c, post_sum_c, post_sum_squares_c, pre_sum_c, pre_sum_squares_c, post_pre_sum_products_c
        Control: units, Σy, Σy², Σx, Σx², Σxy.
    n_t, post_sum_t, post_sum_squares_t, pre_sum_t, pre_sum_squares_t, post_pre_sum_products_t
        Treatment, likewise.

    Returns
    -------
    CupedResult

    Examples
    --------
    >>> r = cuped(3, 6.0, 14.0, 3.0, 5.0, 8.0, 3, 9.0, 29.0, 4.0, 6.0, 13.0)
    >>> round(r.theta, 4), round(r.mean_c, 4), round(r.variance_reduction, 4)
    (1.2353, 0.7647, 0.8356)
    """
    c = [_n(n_c, "n_c")] + [as_numbers(a, name=nm) for a, nm in (
        (post_sum_c, "post_sum_c"), (post_sum_squares_c, "post_sum_squares_c"), (pre_sum_c, "pre_sum_c"),
        (pre_sum_squares_c, "pre_sum_squares_c"), (post_pre_sum_products_c, "post_pre_sum_products_c"))]
    t = [_n(n_t, "n_t")] + [as_numbers(a, name=nm) for a, nm in (
        (post_sum_t, "post_sum_t"), (post_sum_squares_t, "post_sum_squares_t"), (pre_sum_t, "pre_sum_t"),
        (pre_sum_squares_t, "pre_sum_squares_t"), (post_pre_sum_products_t, "post_pre_sum_products_t"))]
    scalar = all(np.ndim(a) == 0 for a in c + t)
    arrs = broadcast(*c, *t, names=tuple(f"arg{i}" for i in range(12)))
    (nc, syc, ssyc, sxc, ssxc, sxyc), (nt, syt, ssyt, sxt, ssxt, sxyt) = arrs[:6], arrs[6:]
    n = nc + nt
    vx = _var(n, sxc + sxt, ssxc + ssxt)
    vy = _var(n, syc + syt, ssyc + ssyt)
    cxy = _cov(n, syc + syt, sxc + sxt, sxyc + sxyt)
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = np.where((vx > 0) & (vy > 0), cxy / np.where(vx > 0, vx, 1.0), 0.0)

    def arm(k, sy, ssy, sx, ssx, sxy):
        with np.errstate(divide="ignore", invalid="ignore"):
            my = np.where(k > 0, sy / k, 0.0)
            mx = np.where(k > 0, sx / k, 0.0)
        vyy, vxx, cc = _var(k, sy, ssy), _var(k, sx, ssx), _cov(k, sy, sx, sxy)
        v = np.where(k > 1, vyy + theta**2 * vxx - 2.0 * theta * cc, 0.0)
        return my - theta * mx, v, my, vyy

    mc, vc, bc, vuc = arm(nc, syc, ssyc, sxc, ssxc, sxyc)
    mt, vt, bt, vut = arm(nt, syt, ssyt, sxt, ssxt, sxyt)
    with np.errstate(divide="ignore", invalid="ignore"):
        red = 1.0 - (vc / nc + vt / nt) / (vuc / nc + vut / nt)
    return CupedResult(theta=out(theta, scalar), mean_c=out(mc, scalar), var_c=out(vc, scalar),
                       mean_t=out(mt, scalar), var_t=out(vt, scalar), base_c=out(bc, scalar),
                       base_t=out(bt, scalar), var_unadjusted_c=out(vuc, scalar),
                       var_unadjusted_t=out(vut, scalar), variance_reduction=out(red, scalar))
