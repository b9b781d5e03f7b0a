"""Thinning: keep, per group of rows equal in everything a bucket function reads but the
time, only the rows at the group's earliest and latest time (private).

A request's ``thin`` (:class:`.drive.DriveRequest`) maps the rows' int64 UTC
nanoseconds to a *window* index, non-decreasing in time. A group is the rows of one
unit in one window that carry the same values (rule bits, funnel position, event code,
attribute code). Of a group, every row at its earliest and at its latest time stays, so
a group of two rows or more keeps two rows or more. The extremes are minima and maxima
of the times, never first or last positions, so the rows kept do not depend on the row
order. A bucket function may take thinned rows when its answer depends on a group only
through whether it has rows, its earliest and latest row, and whether it has more than
one (retention: :func:`.bucket_retention.thin_window` gives the argument).

Two ways, the same rows:

* :func:`split_thinned` (what the driver runs, when the table is small enough:
  :func:`parts_width`) cuts a block into bucket parts and thins them in one pass: the
  rows are ordered by bucket once; a row's unit is a small offset within its bucket, so
  a bucket's groups are numbered densely in a small per-thread table that stays in the
  core's cache (consecutive small buckets share one fill of it, numbered apart; its
  cells are reset after each fill); only the rows kept are gathered into the parts,
  which are therefore never views of the block's arrays. The tests hold it to the plain
  per-part form of the rule (thin each part of the cut block on its own).
* :func:`thin_block` groups a whole block by hashing (``pandas.factorize``) when the
  codes are many (long time ranges in one block, many attribute values), or by a dense
  table when they are few.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["SCRATCH_CELLS", "parts_width", "split_thinned", "thin_block"]

#: Cells of the per-thread table :func:`split_thinned` numbers a bucket's groups in (two
#: int64 arrays: 4 MB per thread).
SCRATCH_CELLS = 1 << 18

#: Cells of the table that consecutive buckets of :func:`split_thinned` share in one fill
#: (256 KB per int64 table, within a core's L2 cache: larger fills, fewer calls, measured
#: slower than this on 1 MB of L2).
_FILL_CELLS = 1 << 15

_MAX = np.iinfo(np.int64).max
_MIN = np.iinfo(np.int64).min
_local = threading.local()


def _spans(cols: Sequence[np.ndarray]) -> tuple[list[int], list[int]]:
    lo = [int(c.min()) for c in cols]
    return lo, [int(c.max()) - m + 1 for c, m in zip(cols, lo)]


def thin_block(off: np.ndarray, t: np.ndarray, rest: Sequence[np.ndarray],
               window: np.ndarray) -> np.ndarray | None:
    """Rows of a block to keep (positions, in order), grouping by (``off``, ``window``,
    every column of ``rest``); None keeps every row (fewer than two rows, every row its
    own group, or keys too wide to combine into 62 bits)."""
    n = len(t)
    if n < 2:
        return None
    keys = [off, window, *rest]
    lo, span = _spans(keys)
    code = np.zeros(n, dtype=np.int64)
    width = 1
    for k, m, s in zip(keys, lo, span):
        if width * s >= 1 << 62:
            return None
        code *= s
        code += k.astype(np.int64, copy=False) - m if m else k
        width *= s
    if width <= 2 * n:
        g, n_groups = code, width
    else:
        g, uniq = pd.factorize(code, sort=False)
        n_groups = len(uniq)
        if n_groups == n:
            return None  # every row its own group: nothing to drop
    mn = np.full(n_groups, _MAX, dtype=np.int64)
    mx = np.full(n_groups, _MIN, dtype=np.int64)
    np.minimum.at(mn, g, t)
    np.maximum.at(mx, g, t)
    return np.flatnonzero((t == mn[g]) | (t == mx[g]))


def parts_width(unit_width: int, window: np.ndarray, carried: Sequence[np.ndarray]) -> tuple[int, list[int], list[int]]:
    """Cells a part's table needs for ``unit_width`` bucket-local unit offsets, the block's
    windows and carried columns: ``(cells, lows, spans)`` of ``[window, *carried]``."""
    keys = [window, *carried]
    lo, span = _spans(keys) if len(window) else ([0] * len(keys), [1] * len(keys))
    cells = unit_width
    for s in span:
        cells *= s
    return cells, lo, span


def _scratch() -> tuple[np.ndarray, np.ndarray]:
    got = getattr(_local, "tables", None)
    if got is None:
        got = _local.tables = (np.full(SCRATCH_CELLS, _MAX, dtype=np.int64),
                               np.full(SCRATCH_CELLS, _MIN, dtype=np.int64))
    return got


def split_thinned(off: np.ndarray, cols: Sequence[np.ndarray], n_keys: int, window: np.ndarray, shift: int,
                  n_buckets: int, local_dtype: Any, lo: Sequence[int], span: Sequence[int]) -> list[Any]:
    """The bucket parts of one block, thinned: the parts of :func:`.plan._split`
    ``(off, [*cols, window])``, each thinned on its own, without the window column.

    ``cols[0]`` is the time, ``cols[1:n_keys]`` the carried key columns, the rest ride
    along; ``lo``/``span`` are :func:`parts_width`'s for ``[window, *cols[1:n_keys]]``
    (at most :data:`SCRATCH_CELLS` cells per bucket). Rows stay in input order within a
    part.
    """
    n = len(off)
    out: list[Any] = [None] * n_buckets
    mask = (1 << shift) - 1
    cells = 1 << shift  # a bucket's cells: its units times the spans of the window and keys
    for sp in span:
        cells *= sp
    # consecutive buckets sharing one fill of the table, a power of two: a row's unit within
    # its group of buckets is then its offset's low bits, so one mask numbers the groups of
    # the buckets of a fill apart
    per = 1 << max(0, (_FILL_CELLS // cells).bit_length() - 1)
    code = off & ((per << shift) - 1)  # the group: unit within its buckets, window, key columns
    for k, m, s in zip([window, *cols[1:n_keys]], lo, span):
        code *= s
        code += k.astype(np.int64, copy=False)
        if m:
            code -= m
    if n_buckets == 1:
        perm = None
        cnt = np.array([n], dtype=np.int64)
        g, t = code, cols[0]
    else:
        b = (off >> shift).astype(np.uint16 if n_buckets <= 1 << 16 else np.int64)
        perm = np.argsort(b, kind="stable")  # radix sort for 16-bit keys; keeps input order
        cnt = np.bincount(b, minlength=n_buckets)
        del b
        g, t = code[perm], cols[0][perm]
    del code
    bounds = np.concatenate(([0], np.cumsum(cnt)))
    mn, mx = _scratch()
    keep = np.empty(n, dtype=bool)
    for j0 in range(0, n_buckets, per):
        a, z = int(bounds[j0]), int(bounds[min(j0 + per, n_buckets)])
        if z - a < 2:
            keep[a:z] = True
            continue
        gi, ti = g[a:z], t[a:z]
        np.minimum.at(mn, gi, ti)
        np.maximum.at(mx, gi, ti)
        np.equal(ti, mn[gi], out=keep[a:z])
        keep[a:z] |= ti == mx[gi]
        mn[gi] = _MAX  # reset the cells these buckets used, for the next ones
        mx[gi] = _MIN
    sel = np.flatnonzero(keep)
    del keep, g
    src = sel if perm is None else perm[sel]  # input positions of the rows kept, by bucket
    loc = off[src]
    loc &= mask
    body = [loc.astype(local_dtype), t[sel]] + [c[src] for c in cols[1:]]
    del t, src, loc
    kb = np.searchsorted(sel, bounds)  # the parts' bounds among the rows kept
    for j in np.flatnonzero(cnt):
        a, z = int(kb[j]), int(kb[j + 1])
        out[j] = tuple(c[a:z] for c in body)
    return out
