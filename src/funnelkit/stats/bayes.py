"""Bayesian comparison of two conversion rates with Beta posteriors: chance to beat
control and expected loss, by deterministic quadrature."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from .._lazy import lazy_module

special = lazy_module("scipy.special")  # imported on first use (import funnelkit stays light)

from ..errors import ParameterError
from ._core import FloatOrArray, TidyResult, out, two_arms

__all__ = ["bayes_test", "BayesTest"]


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
    scalar, cc, nc, ct, nt, pc, pt = two_arms(conv_c, n_c, conv_t, n_t)
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


# --- Beta posteriors: deterministic quadrature ---------------------------------------


def _quantile_nodes() -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes/weights on (0, 1), panels graded geometrically towards both ends."""
    inner = [1e-14, 1e-12, 1e-10, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01,
             0.02, 0.04, 0.07, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45]  # fmt: skip
    breaks = np.array([0.0] + inner + [0.5] + [1.0 - b for b in reversed(inner)] + [1.0])
    x, w = np.polynomial.legendre.leggauss(20)
    a, b = breaks[:-1, None], breaks[1:, None]
    nodes = (a + (b - a) * (x[None, :] + 1.0) / 2.0).ravel()
    weights = ((b - a) * w[None, :] / 2.0).ravel()
    return nodes, weights


_U_NODES, _U_WEIGHTS = _quantile_nodes()


def beta_compare(
    a_c: np.ndarray, b_c: np.ndarray, a_t: np.ndarray, b_t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P(pT > pC), E[max(pC - pT, 0)] and E[max(pT - pC, 0)] for independent Betas.

    The expectation over the *outer* Beta X (the one with the smaller posterior sd) is
    written as an integral over its quantile u in (0, 1): E[h(X)] = ∫ h(Q_X(u)) du, and
    computed with graded composite Gauss–Legendre quadrature. The conditional quantities
    given X = x use the inner Beta Y in closed form through the regularized incomplete
    beta function I_x:

        P(Y > x) = 1 - I_x(a_Y, b_Y)
        E[max(x - Y, 0)] = x I_x(a_Y, b_Y) - m_Y I_x(a_Y + 1, b_Y)
        E[max(Y - x, 0)] = m_Y (1 - I_x(a_Y + 1, b_Y)) - x (1 - I_x(a_Y, b_Y))

    with m_Y = a_Y / (a_Y + b_Y). Every integrand is bounded, so the neglected end panels
    (below 1e-14 in probability) cost at most about 1e-14.
    """
    shape = np.broadcast_shapes(a_c.shape, b_c.shape, a_t.shape, b_t.shape)
    a_c, b_c, a_t, b_t = (np.broadcast_to(v, shape).ravel() for v in (a_c, b_c, a_t, b_t))

    def var(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a * b / ((a + b) ** 2 * (a + b + 1.0))

    outer_is_c = var(a_c, b_c) <= var(a_t, b_t)
    a_x = np.where(outer_is_c, a_c, a_t)
    b_x = np.where(outer_is_c, b_c, b_t)
    a_y = np.where(outer_is_c, a_t, a_c)
    b_y = np.where(outer_is_c, b_t, b_c)
    m_y = a_y / (a_y + b_y)

    p_y_gt = np.empty(a_c.size)  # P(Y > X)
    p_y_lt = np.empty(a_c.size)  # P(Y < X)
    loss_x_gt = np.empty(a_c.size)  # E[max(X - Y, 0)]
    loss_y_gt = np.empty(a_c.size)  # E[max(Y - X, 0)]
    u, w = _U_NODES, _U_WEIGHTS
    block = max(1, 200_000 // u.size)
    for start in range(0, a_c.size, block):  # bounded memory; a few blocks at most
        sl = slice(start, start + block)
        ax, bx = a_x[sl, None], b_x[sl, None]
        ay, by, my = a_y[sl, None], b_y[sl, None], m_y[sl, None]
        x = special.betaincinv(ax, bx, u[None, :])
        cdf = special.betainc(ay, by, x)
        sf = special.betainc(by, ay, 1.0 - x)  # 1 - I_x(a, b), without cancellation near 1
        cdf1 = special.betainc(ay + 1.0, by, x)
        sf1 = special.betainc(by, ay + 1.0, 1.0 - x)
        p_y_gt[sl] = sf @ w
        p_y_lt[sl] = cdf @ w
        loss_x_gt[sl] = np.maximum(x * cdf - my * cdf1, 0.0) @ w
        loss_y_gt[sl] = np.maximum(my * sf1 - x * sf, 0.0) @ w

    # X = C: P(T > C) = P(Y > X); loss of choosing T = E[max(C - T, 0)] = E[max(X - Y, 0)].
    chance = np.where(outer_is_c, p_y_gt, p_y_lt)
    loss_t = np.where(outer_is_c, loss_x_gt, loss_y_gt)
    loss_c = np.where(outer_is_c, loss_y_gt, loss_x_gt)
    chance = np.clip(chance, 0.0, 1.0)
    # Identical posteriors: the exact answer is known by symmetry; do not leave 1e-16 noise.
    same = (a_c == a_t) & (b_c == b_t)
    chance = np.where(same, 0.5, chance)
    mean_loss = 0.5 * (loss_t + loss_c)
    loss_t = np.where(same, mean_loss, loss_t)
    loss_c = np.where(same, mean_loss, loss_c)
    return chance.reshape(shape), loss_t.reshape(shape), loss_c.reshape(shape)
