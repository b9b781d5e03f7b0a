"""Each user's first exposure and per-user metric sums through the engine's generic driver
(:func:`funnelkit.engine.drive.run_units`: source -> plan -> buckets -> bucket function), so a
Parquet file is read row group by row group, spilled beyond ``memory_budget``, and a Dask
frame is shuffled on the user and run per partition.

The bucket functions receive whole users sorted by time. The first-exposure function keeps
each user's first row with a variant value. The metric function keeps, for each row in its
user's analysis window ``[first, end)`` or pre-period ``[first - pre, first)``, the user, the
event code and the property's code (a row of a few integers: the event names and property
values are only known to the driver after the read, so they are applied when the buckets are
merged, vectorized).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from ..io._names import USER
from ._metric_values import UserValues, _cap_value, _winsorize
from .metrics import Metric

__all__ = ["first_exposure_engine", "metric_values_engine"]

_NONE = np.iinfo(np.int64).min


def _first_bucket(rows: Any) -> tuple[np.ndarray, np.ndarray]:
    has = rows.attr >= 0
    u, idx = np.unique(rows.u[has], return_index=True)  # rows sorted by (unit, time): first row per unit
    return u + rows.unit0, rows.t[has][idx]


def first_exposure_engine(events: Any, variant_col: str, *, memory_budget: Any = None,
                          tmp_dir: Any = None) -> pd.Series:
    """Time (int64 ns) of each user's first event with a ``variant_col`` value, by user id."""
    from ..engine.drive import DriveRequest, run_units

    req = DriveRequest(attr_col=variant_col, memory_budget=memory_budget, tmp_dir=tmp_dir,
                       purpose="the experiment's first exposures (variant_col)")
    parts = []
    for d in run_units(events, req, _first_bucket):
        if not d.results:
            continue
        u = np.concatenate([r[0] for r in d.results])
        t = np.concatenate([r[1] for r in d.results])
        parts.append(pd.Series(t, index=d.unit_ids[u]))
    s = pd.concat(parts) if parts else pd.Series([], dtype=np.int64)
    s.index.name = USER
    return s.astype(np.int64)


def _window_bucket(rows: Any, *, first: pd.Series, end_ns: int | None, window_ns: int | None,
                   pre_ns: int | None) -> tuple[np.ndarray, ...]:
    f = rows.unit_values(first, _NONE).astype(np.int64)
    fu = f[rows.u]
    ok = fu != _NONE
    hi = np.full(len(rows.u), np.iinfo(np.int64).max, dtype=np.int64) if end_ns is None else \
        np.full(len(rows.u), end_ns, dtype=np.int64)
    if window_ns is not None:
        hi = np.minimum(hi, fu + window_ns)
    post = ok & (rows.t >= fu) & (rows.t < hi)
    pre = ok & (rows.t < fu) & (rows.t >= fu - pre_ns) if pre_ns is not None else np.zeros_like(post)
    keep = post | pre
    at = rows.attr[keep] if rows.attr is not None else np.zeros(int(keep.sum()), dtype=np.int32)
    return rows.u[keep] + rows.unit0, rows.event[keep], at, post[keep]


def _aggregate(m: Metric, driven: list[tuple[Any, tuple[np.ndarray, ...]]], users: pd.Index,
               pre: bool) -> np.ndarray:
    n = len(users)
    total = np.zeros(n)
    count = np.zeros(n)
    for d, (u, ev, at, is_post) in driven:
        sel = is_post if not pre else ~is_post
        if m.events is not None:
            wanted = np.isin(np.asarray(d.event_names, dtype=object), list(m.events))
            sel = sel & wanted[ev]
        if m.column is not None:
            sel = sel & (at >= 0)
        pos = users.get_indexer(d.unit_ids[u[sel]])
        inside = pos >= 0
        pos = pos[inside]
        count += np.bincount(pos, minlength=n)
        if m.kind in ("sum", "mean"):
            try:
                table = np.asarray(d.attr_values, dtype=float)
            except (TypeError, ValueError):
                from ..errors import ParameterError

                raise ParameterError(
                    f"Metric {m.name!r} reads column {m.column!r}, whose values are not numbers "
                    f"(e.g. {d.attr_values[0]!r}); a metric needs a numeric property "
                    "(convert it with pd.to_numeric).") from None
            vals = table[at[sel][inside]]
            total += np.bincount(pos, weights=vals, minlength=n)
    if m.kind == "count":
        return count
    if m.kind == "sum":
        return total
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.where(count > 0, count, 1), np.nan)


def _run(events: Any, m: Metric, first: pd.Series, end_ns: int | None, memory_budget: Any,
         tmp_dir: Any = None) -> list:
    from ..engine.drive import DriveRequest, run_units

    req = DriveRequest(events=True, attr_col=m.column, needed=() if m.column is None else (m.column,),
                       memory_budget=memory_budget, tmp_dir=tmp_dir, purpose=f"the metric {m.name!r}")
    fn = partial(_window_bucket, first=first, end_ns=end_ns,
                 window_ns=None if m.window is None else int(m.window.value),
                 pre_ns=int(m.pre_period.value) if m.cuped else None)
    out = []
    for d in run_units(events, req, fn):
        if d.results:
            out.append((d, tuple(np.concatenate([r[i] for r in d.results]) for i in range(4))))
    return out


def metric_values_engine(events: Any, m: Metric, users: pd.Index, first: pd.Series, end_ns: int | None, *,
                         memory_budget: Any = None, tmp_dir: Any = None) -> UserValues:
    """Each user's value of ``m`` (users in ``users``; ``first``: first exposures by user id),
    as :func:`funnelkit.analyses._metric_values.metric_values` computes it from a frame."""
    first = first.reindex(users)
    if m.kind == "ratio":
        assert m.numerator is not None and m.denominator is not None
        num = _aggregate(m.numerator, _run(events, m.numerator, first, end_ns, memory_budget, tmp_dir), users, False)
        den = _aggregate(m.denominator, _run(events, m.denominator, first, end_ns, memory_budget, tmp_dir), users, False)
        cn, cd = _cap_value(m.numerator, num), _cap_value(m.denominator, den)
        return UserValues(post=_winsorize(num, cn), den=_winsorize(den, cd), pre=None, cap=cn, den_cap=cd)
    driven = _run(events, m, first, end_ns, memory_budget, tmp_dir)
    post = _aggregate(m, driven, users, False)
    pre = _aggregate(m, driven, users, True) if m.cuped else None
    cap = _cap_value(m, post)
    return UserValues(post=_winsorize(post, cap), den=None, pre=_winsorize(pre, cap), cap=cap)
