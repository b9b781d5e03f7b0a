"""Exact duplicate events: detection in a normalized log, cheaply (private).

An *exact duplicate* is a row equal to an earlier row in every column: the same user,
timestamp, event and properties (nulls equal nulls). Exported logs (GA4, Segment,
re-sent batches) often hold them, and each copy counts as one more event: a
``repeat("purchase", nth=2)`` stage or a time-to-convert curve changes.

Detection runs in two stages so that a log without duplicates costs little:

1. *Candidates* from the user ids and timestamps alone (two int64 arrays): duplicates
   share both. When the rows are in time order (most exports) or in (user, time) order,
   candidates are rows whose neighbour has the same time (and user): one pass of
   comparisons. Otherwise a 32-bit hash of (user, time) per row is sorted, and rows
   whose hash occurs more than once (plus a few hash collisions) are candidates.
2. The candidate rows, usually a tiny share, are compared whole with
   ``DataFrame.duplicated`` (every column; unhashable values such as dicts by their
   ``repr``).

The first occurrence is the original, later copies are the duplicates (so the kept rows,
and every result, do not depend on the row order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from ._names import EVENT, TIME, USER

__all__ = ["duplicate_rows", "candidate_rows", "time_ns", "user_key"]

_C1 = np.uint64(0x9E3779B97F4A7C15)
_C2 = np.uint64(0xC2B2AE3D27D4EB4F)
_C3 = np.uint64(0x165667B19E3779F9)


def user_key(s: pd.Series) -> np.ndarray:
    """int64 key of a normalized user id column (the ids, or the category codes)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy().astype(np.int64, copy=False)
    return s.to_numpy(dtype=np.int64)


def time_ns(s: pd.Series) -> np.ndarray:
    """int64 nanoseconds of a normalized timestamp column (no copy where pandas allows)."""
    return s.to_numpy(dtype="datetime64[ns]").view(np.int64)


def candidate_rows(u: np.ndarray, t: np.ndarray) -> np.ndarray | None:
    """Positions of rows that may repeat another row (same user and time), sorted; None if none.

    Every row that has an equal row in ``(u, t)`` is returned (a superset of the
    duplicates; with unsorted rows a few hash collisions too).
    """
    n = len(t)
    if n < 2:
        return None
    t_up = t[1:] >= t[:-1]
    if t_up.all():
        eq = t[1:] == t[:-1]  # runs of equal times (users within a run may interleave)
    else:
        same_u = u[1:] == u[:-1]
        if (u[1:] >= u[:-1]).all() and (t_up | ~same_u).all():  # sorted by (user, time)
            eq = same_u & (t[1:] == t[:-1])
        else:
            eq = None
    del t_up
    if eq is not None:
        if not eq.any():
            return None
        mask = np.zeros(n, dtype=bool)
        mask[1:] = eq
        mask[:-1] |= eq
        return np.flatnonzero(mask)
    h = u.astype(np.uint64) * _C1
    h ^= t.view(np.uint64) * _C2
    h ^= h >> np.uint64(29)
    h *= _C3
    h32 = (h >> np.uint64(32)).astype(np.uint32)
    del h
    s = np.sort(h32)
    rep = s[1:][s[1:] == s[:-1]]
    del s
    if not rep.size:
        return None
    table = np.zeros(1 << 24, dtype=bool)  # 16 MB: which top-24-bit prefixes repeat
    table[rep >> np.uint32(8)] = True
    return np.flatnonzero(table[h32 >> np.uint32(8)])


def _column_keys(s: pd.Series) -> list[np.ndarray]:
    """int64 keys of one column whose equality is the values' equality (nulls equal nulls):
    codes for categoricals and objects, bit patterns for numbers (NaN and -0.0 canonical),
    plus a null mask for masked (nullable) dtypes."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return [s.cat.codes.to_numpy().astype(np.int64, copy=False)]
    if isinstance(dtype, pd.DatetimeTZDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "M"):
        return [s.to_numpy(dtype="datetime64[ns]").view(np.int64)]  # NaT: the smallest int64
    if isinstance(dtype, np.dtype) and dtype.kind == "m":
        return [s.to_numpy(dtype="timedelta64[ns]").view(np.int64)]
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":
        return [s.to_numpy().astype(np.int64, copy=False)]
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        a = s.to_numpy().astype(np.float64) + 0.0  # -0.0 -> 0.0
        a[np.isnan(a)] = np.nan  # one NaN bit pattern
        return [a.view(np.int64)]
    arr = s.array
    masked = (pd.arrays.IntegerArray, pd.arrays.FloatingArray, pd.arrays.BooleanArray)
    if isinstance(arr, masked):  # nullable Int64, Float64, boolean (public API: no private attributes,
        # whose mere lookup warns on Arrow-backed strings)
        mask = np.asarray(arr.isna())
        kind = "float64" if isinstance(arr, pd.arrays.FloatingArray) else "int64"
        inner = pd.Series(arr.to_numpy(dtype=kind, na_value=0), copy=False)
        return [*_column_keys(inner), mask.astype(np.int64)]
    try:
        codes, _ = pd.factorize(s, use_na_sentinel=True)
    except TypeError:  # unhashable values (dicts, lists): by their repr
        codes, _ = pd.factorize(s.map(lambda v: f"{type(v).__name__}:{v!r}"), use_na_sentinel=True)
    return [codes.astype(np.int64, copy=False)]


def _repeats(keys: Callable[[], Iterator[np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Rows equal in every key to an earlier row: their positions and each one's first
    copy (positions into the keys), found by one sort of a 64-bit row hash checked key by
    key (a hash collision, never seen in practice, falls back to a sort on every key).
    ``keys()`` yields the keys one at a time (twice: for the hash, then the check), so that
    only one key is held at a time."""
    h: np.ndarray | None = None
    for i, k in enumerate(keys()):
        x = k.view(np.uint64) + np.uint64((i + 1) * 0x632BE59BD9B4E019 % 2**64)
        x ^= x >> np.uint64(31)
        x *= _C1
        x ^= x >> np.uint64(29)
        if h is None:
            h = x
        else:
            h ^= x
        h *= _C2
    assert h is not None
    n = len(h)
    order = np.argsort(h)  # equal rows adjacent (within a group in any order: see `first`)
    hs = h[order]
    del h
    same_h = hs[1:] == hs[:-1]
    del hs
    same = same_h.copy()
    for k in keys():
        ks = k[order]
        same &= ks[1:] == ks[:-1]
    if (same_h & ~same).any():  # pragma: no cover - a 64-bit collision
        allk = list(keys())
        order = np.lexsort(allk[::-1])
        same = np.ones(n - 1, dtype=bool)
        for k in allk:
            ks = k[order]
            same &= ks[1:] == ks[:-1]
    start = np.flatnonzero(np.r_[True, ~same])  # groups of equal rows in sort order
    group = np.cumsum(np.r_[True, ~same]) - 1
    first = np.minimum.reduceat(order, start)[group]  # each group's earliest row: the original
    dup = order != first
    return order[dup], first[dup]


def duplicate_rows(df: pd.DataFrame) -> tuple[np.ndarray, tuple[int, int] | None]:
    """Positions of the rows of a normalized log that repeat an earlier row exactly,
    and one example ``(duplicate, original)`` (positions), or ``None`` when there is none.

    Examples
    --------
    >>> import warnings
    >>> import pandas as pd
    >>> from funnelkit.io.normalize import normalize
    >>> raw = pd.DataFrame({"user_id": [1, 1, 2], "event": ["a", "a", "a"],
    ...                     "timestamp": pd.to_datetime(["2024-03-01"] * 3, utc=True)})
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # normalize warns about the duplicate
    ...     ev = normalize(raw)
    >>> dup, example = duplicate_rows(ev)
    >>> dup.tolist(), example
    ([1], (1, 0))
    """
    none = np.zeros(0, dtype=np.int64)
    if len(df) < 2:
        return none, None
    cand = candidate_rows(user_key(df[USER]), time_ns(df[TIME]))
    if cand is None:
        return none, None
    whole = len(cand) > len(df) // 2  # most rows are candidates: no gathered copy of the frame

    def keys() -> Iterator[np.ndarray]:
        for c in df.columns:
            col = df[c]
            for k in _column_keys(col if whole else col.iloc[cand]):
                yield k[cand] if whole else k

    rep, orig = _repeats(keys)
    if not len(rep):
        return none, None
    rows = np.sort(cand[rep])
    i = int(np.argmin(rep))
    return rows, (int(cand[rep[i]]), int(cand[orig[i]]))


def describe_columns(df: pd.DataFrame) -> str:
    """'user, time, event and properties' or 'user, time and event' for messages."""
    props = [c for c in df.columns if c not in (USER, TIME, EVENT)]
    return "user, timestamp, event and every property" if props else "user, timestamp and event"


def count_block_duplicates(u: np.ndarray, t: np.ndarray, ev: np.ndarray, extra: Any = ()) -> int:
    """Rows of one block equal to an earlier row of the block in ``u``, ``t``, ``ev`` and
    every array of ``extra`` (int codes): the engine's check on a Parquet row group."""
    cand = candidate_rows(u, t)
    if cand is None:
        return 0
    # One 64-bit hash per candidate, sorted: rows whose hash repeats are the only possible
    # copies. Only those are compared key by key, so a row group with many rows at one
    # time (most candidates, few copies) costs two 8-byte arrays, not a sort of every key.
    cols = (u, t, ev, *extra)
    h = np.zeros(len(cand), dtype=np.uint64)
    for i, c in enumerate(cols):
        x = c[cand].astype(np.int64, copy=False).view(np.uint64) + np.uint64((i + 1) * 0x632BE59BD9B4E019 % 2**64)
        x ^= x >> np.uint64(31)
        x *= _C1
        h ^= x
        h *= _C3
    hs = np.sort(h)
    rep = hs[1:][hs[1:] == hs[:-1]]
    del hs
    if not rep.size:
        return 0
    sub = cand[np.isin(h, rep)]
    del h
    keys = [c[sub] for c in cols]
    order = np.lexsort(keys[::-1])
    same = np.ones(len(sub) - 1, dtype=bool)
    for k in keys:
        ks = k[order]
        same &= ks[1:] == ks[:-1]
    return int(same.sum())  # each row equal to its predecessor in sort order is a copy
