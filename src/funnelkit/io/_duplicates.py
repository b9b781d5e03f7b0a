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


def _hashable(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with object columns holding unhashable values (dicts, lists) as their repr."""
    out = None
    for c in frame.columns:
        s = frame[c]
        if s.dtype != object:
            continue
        try:
            pd.util.hash_array(s.to_numpy())
        except TypeError:
            out = frame.copy() if out is None else out
            out[c] = s.map(lambda v: f"{type(v).__name__}:{v!r}")
    return frame if out is None else out


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
    sub = _hashable(df.iloc[cand].reset_index(drop=True))
    dup = sub.duplicated(keep="first").to_numpy()
    if not dup.any():
        return none, None
    first = int(np.argmax(dup))
    head = sub.iloc[:first]
    same = np.ones(first, dtype=bool)
    for c in sub.columns:  # the earlier rows equal to it, column by column
        v = sub[c].iloc[first]
        col = head[c]
        if pd.isna(v) if np.ndim(v) == 0 else False:
            same &= col.isna().to_numpy()
        else:
            same &= (col == v).to_numpy(dtype=bool, na_value=False)
    orig = int(np.argmax(same)) if same.any() else first
    return cand[dup], (int(cand[first]), int(cand[orig]))


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
    keys = [u[cand], t[cand], ev[cand], *(a[cand] for a in extra)]
    order = np.lexsort(keys[::-1])
    same = np.ones(len(cand) - 1, dtype=bool)
    for k in keys:
        ks = k[order]
        same &= ks[1:] == ks[:-1]
    return int(same.sum())  # each row equal to its predecessor in sort order is a copy
