"""Bayesian comparison of two means by the normal approximation (GrowthBook gbstats'
``EffectBayesianABTest`` with its default flat prior): chance to beat control and expected
loss, in closed form (deterministic)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._lazy import lazy_module
from ..errors import ParameterError
from ._core import FloatOrArray, TidyResult, as_numbers, broadcast, out
from .means import check_moments

special = lazy_module("scipy.special")

__all__ = ["mean_bayes_test", "MeanBayesTest"]


@dataclass(frozen=True, eq=False)
class MeanBayesTest(TidyResult):
    """Result of :func:`mean_bayes_test`.

    Attributes
    ----------
    relative : bool
        Whether the effect is the relative lift (True) or the difference of means.
    effect_mean, effect_sd
        The posterior of the effect, N(effect_mean, effect_sd²).
    chance_to_beat_control
        P(effect > 0).
    expected_loss
        E[max(-effect, 0)]: what shipping the treatment is expected to lose (units of the
        effect: per-unit metric for ``relative=False``, a fraction for ``relative=True``).
    expected_loss_control
        E[max(effect, 0)]: what keeping the control is expected to lose.
    """

    relative: bool
    effect_mean: FloatOrArray
    effect_sd: FloatOrArray
    chance_to_beat_control: FloatOrArray
    expected_loss: FloatOrArray
    expected_loss_control: FloatOrArray

    _columns = ("relative", "effect_mean", "effect_sd", "chance_to_beat_control", "expected_loss",
                "expected_loss_control")


def mean_bayes_test(
    mean_c: Any, var_c: Any, n_c: Any, mean_t: Any, var_t: Any, n_t: Any, *,
    relative: bool = True, base_c: Any = None, base_t: Any = None,
) -> MeanBayesTest:
    r"""Chance to beat control and expected loss of a mean metric (normal approximation).

    With a flat prior the posterior of the effect is normal, centred on the observed effect
    (Δ, or the lift L with ``relative=True``) with the standard error of
    :func:`mean_test`: :math:`\theta \sim N(\mu, \sigma^2)`. Then

    .. math:: P(\theta > 0) = \Phi(\mu/\sigma), \quad
              E[\max(-\theta, 0)] = \sigma\varphi(\mu/\sigma) - \mu\,\Phi(-\mu/\sigma),

    and :math:`E[\max(\theta, 0)] = \sigma\varphi(\mu/\sigma) + \mu\,\Phi(\mu/\sigma)`. These are
    gbstats' ``chance_to_win`` and ``risk`` (``[risk_ctrl, risk_trt]``) of
    ``EffectBayesianABTest`` with ``GaussianPrior(proper=False)``.

    Parameters
    ----------
    mean_c, var_c, n_c, mean_t, var_t, n_t : float or array_like
        Per-arm means, per-unit variances (ddof = 1) and units.
    relative : bool, default True
        The effect on the relative scale (gbstats' default) or as the difference of means.
    base_c, base_t : optional
        Unadjusted means for the relative lift (CUPED), as in :func:`mean_test`.

    Returns
    -------
    MeanBayesTest
        NaN where the standard error is 0 or undefined (an arm with < 2 units; a zero control
        base with ``relative=True``).

    Examples
    --------
    >>> r = mean_bayes_test(10.0, 25.0, 1000, 10.6, 30.0, 1000, relative=False)
    >>> round(r.chance_to_beat_control, 5), round(r.expected_loss, 6)
    (0.99474, 0.000392)
    """
    if not isinstance(relative, (bool, np.bool_)):
        raise ParameterError(f"`relative`={relative!r} must be True or False.")
    mc, vc, nc = check_moments(mean_c, var_c, n_c, arm="c")
    mt, vt, nt = check_moments(mean_t, var_t, n_t, arm="t")
    bc = mc if base_c is None else as_numbers(base_c, name="base_c")
    bt = mt if base_t is None else as_numbers(base_t, name="base_t")
    scalar = all(np.ndim(a) == 0 for a in (mc, vc, nc, mt, vt, nt, bc, bt))
    mc, vc, nc, mt, vt, nt, bc, bt = broadcast(mc, vc, nc, mt, vt, nt, bc, bt, names=(
        "mean_c", "var_c", "n_c", "mean_t", "var_t", "n_t", "base_c", "base_t"))
    bad = (nc < 2) | (nt < 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        if relative:
            bad |= bc == 0
            mu = (mt - mc) / bc
            sd = np.sqrt(vt / (bc**2 * nt) + vc * bt**2 / (bc**4 * nc))
        else:
            mu = mt - mc
            sd = np.sqrt(vt / nt + vc / nc)
        ok = ~bad & (sd > 0)
        z = np.where(ok, mu / np.where(ok, sd, 1.0), np.nan)
        pdf = np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
        ctb = special.ndtr(z)
        loss = sd * pdf - mu * special.ndtr(-z)
        loss_c = sd * pdf + mu * ctb
    nan = np.nan
    return MeanBayesTest(relative=bool(relative), effect_mean=out(np.where(bad, nan, mu), scalar),
                         effect_sd=out(np.where(bad, nan, sd), scalar),
                         chance_to_beat_control=out(np.where(ok, ctb, nan), scalar),
                         expected_loss=out(np.where(ok, loss, nan), scalar),
                         expected_loss_control=out(np.where(ok, loss_c, nan), scalar))
