"""Each exposed user's value of a :class:`~funnelkit.analyses.metrics.Metric`, from the
normalized event log (vectorized: one ``bincount`` per metric, no loop over users).

The analysis window of user *u* is ``[first_u, end)`` (``first_u`` their first exposure,
``end`` the experiment's ``end`` or, with the metric's ``window``, ``first_u + window`` if
sooner); the CUPED pre-period is ``[first_u - pre_period, first_u)``. Events outside count
for nothing.

:func:`fk.experiment` computes the values through the engine
(:mod:`funnelkit.analyses._metric_engine`, any input: frame, Parquet, spilled, Dask); this
module is the in-memory formulation on the normalized frame (one ``np.bincount`` per metric)
that the engine's results are tested against, and holds what both share (capping, the checks
of metric columns).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import MissingColumnError, ParameterError
from ..io._names import EVENT, TIME, USER
from .metrics import Metric

__all__ = ["UserValues", "metric_values", "check_metric_columns"]


@dataclass(frozen=True)
class UserValues:
    """Per-user arrays aligned with the experiment's users (NaN: no value, mean metrics).

    ``post`` is the analysis-window value, ``pre`` the pre-period value (CUPED) or None;
    for ratios ``post``/``pre`` are the numerator and ``den`` the denominator; ``cap`` is the
    winsorizing value used (None without capping).
    """

    post: np.ndarray
    den: np.ndarray | None
    pre: np.ndarray | None
    cap: float | None
    den_cap: float | None = None


def check_metric_columns(ev: pd.DataFrame, metrics: tuple[Metric, ...]) -> None:
    """Every metric's property column exists and is numeric (before any work)."""
    for m in metrics:
        for col in m.columns():
            if col not in ev.columns:
                import difflib

                close = difflib.get_close_matches(col, [str(c) for c in ev.columns], n=1)
                raise MissingColumnError(
                    f"Metric {m.name!r} reads column {col!r}, which the event log does not have"
                    + (f"; did you mean {close[0]!r}?" if close else f" (columns: {', '.join(map(str, ev.columns))}).")
                )
            if not pd.api.types.is_numeric_dtype(ev[col]) or pd.api.types.is_bool_dtype(ev[col]):
                raise ParameterError(f"Metric {m.name!r} reads column {col!r} of dtype {ev[col].dtype}; a metric "
                                     "needs a numeric property (convert it with pd.to_numeric).")


def _user_positions(ev: pd.DataFrame, users: pd.Index) -> np.ndarray:
    """Position of each row's user in ``users`` (-1: not an analysed user)."""
    col = ev[USER]
    if isinstance(col.dtype, pd.CategoricalDtype):
        cat_pos = users.get_indexer(col.cat.categories)
        codes = col.cat.codes.to_numpy()
        return np.where(codes >= 0, cat_pos[codes], -1)
    return users.get_indexer(col.to_numpy())


def _rows(ev: pd.DataFrame, m: Metric) -> np.ndarray:
    """Rows the metric reads: its events, and a non-null property."""
    keep = np.ones(len(ev), dtype=bool)
    if m.events is not None:
        keep &= ev[EVENT].isin(list(m.events)).to_numpy()
    if m.column is not None:
        keep &= ev[m.column].notna().to_numpy()
    return keep


def _aggregate(ev: pd.DataFrame, m: Metric, pos: np.ndarray, t: np.ndarray, lo: np.ndarray,
               hi: np.ndarray, n_users: int) -> np.ndarray:
    """Per-user sum / count / mean over rows with ``lo[user] <= t < hi[user]``."""
    keep = _rows(ev, m) & (pos >= 0)
    p = pos[keep]
    tt = t[keep]
    inside = (tt >= lo[p]) & (tt < hi[p])
    p = p[inside]
    if m.kind == "count":
        return np.bincount(p, minlength=n_users).astype(float)
    vals = ev[m.column].to_numpy(dtype=float)[keep][inside]
    total = np.bincount(p, weights=vals, minlength=n_users)
    if m.kind == "sum":
        return total
    cnt = np.bincount(p, minlength=n_users)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, total / np.where(cnt > 0, cnt, 1), np.nan)


def _cap_value(m: Metric, post: np.ndarray) -> float | None:
    if m.cap is not None:
        return float(m.cap)
    if m.cap_quantile is not None:
        finite = post[np.isfinite(post)]
        return float(np.quantile(finite, m.cap_quantile)) if finite.size else None
    return None


def _winsorize(v: np.ndarray | None, cap: float | None) -> np.ndarray | None:
    if v is None or cap is None:
        return v
    return np.where(np.isfinite(v), np.minimum(v, cap), v)


def metric_values(ev: pd.DataFrame, m: Metric, users: pd.Index, first_ns: np.ndarray,
                  end_ns: int | None) -> UserValues:
    """Each user's value of ``m`` (users in ``users``, first exposures ``first_ns`` in ns).

    The cap (fixed, or the pooled quantile of the post-exposure values of all ``users``)
    applies to the post values and, with the same value, to the pre-period values.
    """
    n = len(users)
    pos = _user_positions(ev, users)
    t = ev[TIME].to_numpy(dtype="datetime64[ns]").view(np.int64)
    big = np.iinfo(np.int64).max
    hi = np.full(n, big if end_ns is None else end_ns, dtype=np.int64)

    def window_hi(x: Metric) -> np.ndarray:
        if x.window is None:
            return hi
        return np.minimum(hi, first_ns + int(x.window.value))

    if m.kind == "ratio":
        assert m.numerator is not None and m.denominator is not None
        num = _aggregate(ev, m.numerator, pos, t, first_ns, window_hi(m.numerator), n)
        den = _aggregate(ev, m.denominator, pos, t, first_ns, window_hi(m.denominator), n)
        cn, cd = _cap_value(m.numerator, num), _cap_value(m.denominator, den)
        return UserValues(post=_winsorize(num, cn), den=_winsorize(den, cd), pre=None, cap=cn, den_cap=cd)
    post = _aggregate(ev, m, pos, t, first_ns, window_hi(m), n)
    pre = None
    if m.cuped:
        pre = _aggregate(ev, m, pos, t, first_ns - int(m.pre_period.value), first_ns, n)
    cap = _cap_value(m, post)
    return UserValues(post=_winsorize(post, cap), den=None, pre=_winsorize(pre, cap), cap=cap)


def first_ns_of(first: pd.Series, users: pd.Index) -> np.ndarray:
    """First exposures (ns) of ``users`` (each analysed user has one)."""
    return first.reindex(users).to_numpy(dtype=np.int64)

