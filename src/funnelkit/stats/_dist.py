"""Distribution functions from :mod:`scipy.special` (private).

``import scipy.stats`` costs about half a second and 45 MB of resident memory, more than
many of funnelkit's analyses take on a million events; ``scipy.special`` costs a fifth of
that. The functions here evaluate the same special functions that ``scipy.stats.norm``,
``t``, ``chi2`` and ``beta`` call (``ndtr``/``ndtri``, ``stdtr``/``stdtrit``,
``chdtrc``, ``betaincinv``/``betainccinv``), with ``scipy.stats``' answers at the edges:
a shape parameter outside its domain or a probability outside [0, 1] gives NaN, a
quantile at probability 0 or 1 the end of the support, a chi-square survival below its
support 1. ``tests/test_stats_dist.py`` checks them equal to ``scipy.stats`` on grids
that include those edges.

Scalar inputs give NumPy float scalars, arrays give arrays, as in ``scipy.stats``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._lazy import lazy_module

special = lazy_module("scipy.special")

__all__ = ["beta_isf", "beta_ppf", "chi2_sf", "norm_cdf", "norm_isf", "norm_ppf", "norm_sf", "t_cdf",
           "t_ppf", "t_sf"]


def _out(x: np.ndarray) -> Any:
    return x[()] if np.ndim(x) == 0 else x


def _f(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def norm_cdf(x: Any) -> Any:
    """``scipy.stats.norm.cdf``."""
    return _out(special.ndtr(_f(x)))


def norm_sf(x: Any) -> Any:
    """``scipy.stats.norm.sf``."""
    return _out(special.ndtr(-_f(x)))


def norm_ppf(q: Any) -> Any:
    """``scipy.stats.norm.ppf`` (NaN outside [0, 1], -inf / inf at 0 / 1)."""
    return _out(special.ndtri(_f(q)))


def norm_isf(q: Any) -> Any:
    """``scipy.stats.norm.isf``."""
    return _out(-special.ndtri(_f(q)))


def _t_df(df: Any) -> np.ndarray:
    d = _f(df)
    return np.where(d > 0, d, np.nan)  # scipy.stats: df > 0 (inf: the normal distribution)


def t_cdf(x: Any, df: Any) -> Any:
    """``scipy.stats.t.cdf``."""
    return _out(special.stdtr(_t_df(df), _f(x)))


def t_sf(x: Any, df: Any) -> Any:
    """``scipy.stats.t.sf``."""
    return _out(special.stdtr(_t_df(df), -_f(x)))


def t_ppf(q: Any, df: Any) -> Any:
    """``scipy.stats.t.ppf``."""
    q = _f(q)
    d = _t_df(df)
    with np.errstate(invalid="ignore"):
        out = special.stdtrit(d, np.clip(q, 0.0, 1.0))
    out = np.where(q == 0.0, -np.inf, np.where(q == 1.0, np.inf, out))
    return _out(np.where((q >= 0.0) & (q <= 1.0) & ~np.isnan(d), out, np.nan))


def chi2_sf(x: Any, df: Any) -> Any:
    """``scipy.stats.chi2.sf`` (1 below the support)."""
    x = _f(x)
    d = _f(df)
    ok = d > 0
    with np.errstate(invalid="ignore"):
        out = special.chdtrc(np.where(ok, d, 1.0), np.maximum(x, 0.0))
    out = np.where(x == np.inf, 0.0, out)
    return _out(np.where(ok & ~np.isnan(x), out, np.nan))


def _beta_inverse(fn: Any, q: Any, a: Any, b: Any, at0: float, at1: float) -> Any:
    """``fn(a, b, q)`` (``special.betaincinv`` or ``betainccinv``) where ``a, b > 0`` and
    ``q`` in [0, 1], ``at0`` / ``at1`` at ``q`` = 0 / 1, NaN elsewhere."""
    q, a, b = np.broadcast_arrays(_f(q), _f(a), _f(b))
    ok = (a > 0) & (b > 0) & (q >= 0.0) & (q <= 1.0)
    with np.errstate(invalid="ignore"):
        out = fn(np.where(ok, a, 1.0), np.where(ok, b, 1.0), np.where(ok, q, 0.5))
    out = np.where(q == 0.0, at0, np.where(q == 1.0, at1, out))
    return _out(np.where(ok, out, np.nan))


def beta_ppf(q: Any, a: Any, b: Any) -> Any:
    """``scipy.stats.beta.ppf``."""
    return _beta_inverse(special.betaincinv, q, a, b, 0.0, 1.0)


def beta_isf(q: Any, a: Any, b: Any) -> Any:
    """``scipy.stats.beta.isf``."""
    return _beta_inverse(special.betainccinv, q, a, b, 1.0, 0.0)
