"""The sessions bucket function and its driver: session ids of every row (private).

:func:`session_ids` is the one implementation behind :func:`funnelkit.sessionize`,
for logs of any size and any user ids:

1. user keys that are not a dense integer range (sparse ids, ``uint64``) are mapped to
   dense codes in the users' order (one vectorized factorization);
2. rows are split block by block by user *range* into buckets (:func:`.buckets.layout`,
   :class:`.buckets.Buckets`), as the funnel engine splits its rows: each block's split
   is a small stable radix sort, and a bucket keeps, in input order, its rows'
   positions, users within the bucket (16 bits for most layouts) and ``split_on``
   codes;
3. each bucket (whole users) gathers its times, is sorted by (user, time, ``split_on``
   value ranks with nulls last, input row) -- :func:`.kernels.sessions.user_time_order`
   (a radix sort on the user when the rows are in time order, as exports usually are)
   or, with ``split_on``, :func:`.buckets.order` -- and its session starts are flagged
   by the session kernel (:func:`.kernels.sessions.new_sessions`), on all cores;
4. buckets are in user order, so numbering the sessions bucket after bucket gives ids
   ``0 .. S-1`` in (user, session start, tie key) order: the ids one global sort of the
   whole log would give, whatever the number of buckets or threads and the row order.
   Each bucket's ids are written back at its rows in increasing row order.

A small log is one bucket, run on the calling thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import tzinfo

import numpy as np
import pandas as pd

from ..errors import ParameterError
from . import buckets
from ._parallel import n_threads, ordered_map
from .kernels.sessions import new_sessions, user_time_order

__all__ = ["session_ids"]

#: Rows per block of the split by user range (each block's split stays in cache).
_BLOCK_ROWS = 1 << 18


def session_ids(
    user_key: np.ndarray,
    t: np.ndarray,
    *,
    codes: Sequence[np.ndarray] = (),
    timeout_ns: int | None,
    max_ns: int | None,
    zone: tzinfo | None,
) -> np.ndarray:
    """Session id (int64) of every row, in input order.

    Parameters
    ----------
    user_key : ndarray of int
        Integers whose order is the users' order: int64 ids or category codes. Any
        range: keys that are not dense (``max - min > 4 * n + 1024``, or ``uint64``)
        are mapped to dense codes first.
    t : ndarray of int64
        UTC nanoseconds of each row.
    codes : sequence of ndarray of int64
        One array per ``split_on`` column, in the order given: value codes whose order
        is the values' order, ``-1`` for null. They break timestamp ties (nulls last)
        and split sessions where a non-null value changes.
    timeout_ns, max_ns : int or None
        ``timeout`` and ``max_duration`` in ns (None: the rule is off).
    zone : tzinfo or None
        Split at local midnights of this zone (None: off).

    Returns
    -------
    ndarray of int64
        Session ids ``0 .. S-1`` numbered in (user, session start, tie key) order.

    Examples
    --------
    >>> import numpy as np
    >>> from funnelkit.engine.bucket_sessions import session_ids
    >>> m = 60 * 10**9  # one minute in ns
    >>> user = np.array([7, 3, 7, 7, 3])
    >>> t = np.array([0, 5, 30, 71, 6]) * m
    >>> session_ids(user, t, timeout_ns=30 * m, max_ns=None, zone=None)
    array([1, 0, 1, 2, 0])

    Sparse ids (here far beyond ``4 * n``) number the same way:

    >>> session_ids(user * 10**12, t, timeout_ns=30 * m, max_ns=None, zone=None)
    array([1, 0, 1, 2, 0])

    Equal timestamps are ordered by the ``split_on`` codes, nulls (-1) last:

    >>> campaign = np.array([1, 0, 0, -1, 1])
    >>> session_ids(user, np.zeros(5, dtype=np.int64), codes=[campaign],
    ...             timeout_ns=None, max_ns=None, zone=None)
    array([3, 0, 2, 3, 1])
    """
    n = len(user_key)
    if len(t) != n or any(len(c) != n for c in codes):
        raise ParameterError("session_ids: user_key, t and every codes array must have one value per row.")
    if n == 0:
        return np.empty(0, dtype=np.int64)
    t = np.asarray(t, dtype=np.int64)
    key, lo, n_ids = _dense_keys(np.asarray(user_key))
    cols = [np.asarray(c) for c in codes]
    n_values = [int(c.max()) + 1 for c in cols]  # a null's rank: after every value
    code_type = np.int32 if max(n_values, default=0) < 2**31 else np.int64
    cols = [c.astype(code_type, copy=False) for c in cols]

    threads = n_threads() if n >= buckets.THREADS_MIN_ROWS else 1
    shift, n_buckets = buckets.layout(n_ids, n, threads)
    width = 1 << shift
    local_type = np.uint16 if shift <= 16 else np.uint32 if shift <= 32 else np.int64
    row_type = np.int32 if n < 2**31 else np.int64
    bucket_type = np.uint16 if n_buckets <= 1 << 16 else np.int64
    n_blocks = -(-n // _BLOCK_ROWS)

    def split(i: int) -> list[tuple[np.ndarray, ...] | None]:
        """Block ``i`` per bucket: (user within the bucket, row, codes), in input order."""
        a = i * _BLOCK_ROWS
        z = min(a + _BLOCK_ROWS, n)
        off = key[a:z].astype(np.int64, copy=False)
        if lo:
            off = off - lo
        if n_buckets == 1:
            return [(off.astype(local_type), np.arange(a, z, dtype=row_type),
                     *(c[a:z] for c in cols))]
        b = (off >> shift).astype(bucket_type)
        order = np.argsort(b, kind="stable")  # radix sort: small keys, input order kept
        cnt = np.bincount(b, minlength=n_buckets)
        bounds = np.concatenate(([0], np.cumsum(cnt)))
        loc = off[order]
        loc &= width - 1
        rows = order.astype(row_type)
        rows += a
        block = [loc.astype(local_type), rows, *(c[a:z][order] for c in cols)]
        out: list[tuple[np.ndarray, ...] | None] = [None] * n_buckets
        for j in np.flatnonzero(cnt):  # a loop over buckets, not rows
            lo_j, hi_j = int(bounds[j]), int(bounds[j + 1])
            out[j] = tuple(x[lo_j:hi_j] for x in block)
        return out

    def run(j: int) -> tuple[np.ndarray, np.ndarray, int] | None:
        """Bucket ``j`` sorted and run by the session kernel.

        Returns its rows (increasing), their bucket-local session ids plus one (same
        order) and the bucket's number of sessions; None for an empty bucket.
        """
        got = parts.take(j)
        if got is None:
            return None
        loc, rows, *vals = got
        tt = t[rows]
        n_units = min(width, n_ids - j * width)
        if vals:  # (user, time, split_on ranks with nulls last); ties keep input order
            ranks = [np.where(v < 0, nv, v) for v, nv in zip(vals, n_values)]
            perm = buckets.order(loc, tt, ranks[0], ranks[1:], n_units=n_units, n_pos=n_values[0] + 1)
        else:
            perm = user_time_order(loc, tt, n_units)
        if perm is not None:
            loc, tt = loc[perm], tt[perm]
            vals = [v[perm] for v in vals]
        new = new_sessions(loc, tt, timeout_ns=timeout_ns, max_ns=max_ns, zone=zone, codes=vals)
        sid = np.cumsum(new, dtype=np.int64)  # bucket-local ids + 1, sorted order
        count = int(sid[-1])
        if perm is not None:
            back = np.empty_like(sid)
            back[perm] = sid  # back to the bucket's input order (in cache)
            sid = back
        return rows, sid, count

    ids = np.empty(n, dtype=np.int64)

    def scatter(rows: np.ndarray, sid: np.ndarray, first: int) -> None:
        """Shift a bucket's ids by ``first`` and write them to its rows (increasing)."""
        sid += first - 1
        ids[rows] = sid

    pool = ThreadPoolExecutor(threads) if threads > 1 else None
    parts = buckets.Buckets(n_buckets, [local_type, row_type] + [code_type] * len(cols))
    try:
        for out in ordered_map(pool, split, n_blocks, 2 * threads):  # block order: input order
            parts.add(out)
        first = 0  # sessions in the buckets before (buckets are in user order)
        written: list[Future[None]] = []
        for res in ordered_map(pool, run, n_buckets, 2 * threads):  # bucket order: user order
            if res is None:
                continue
            rows, sid, count = res
            if pool is None:
                scatter(rows, sid, first)
            else:
                written.append(pool.submit(scatter, rows, sid, first))
            first += count
        for f in written:
            f.result()
    finally:
        if pool is not None:
            pool.shutdown()
    return ids


def _dense_keys(user_key: np.ndarray) -> tuple[np.ndarray, int, int]:
    """``(key, lo, n_ids)``: keys ``lo .. lo + n_ids - 1`` in the users' order.

    Dense integer keys are kept as they are; sparse ones (a range wider than
    ``4 * n + 1024``) and ``uint64`` ones (which need not fit in int64) are replaced by
    their ranks among the distinct keys.

    Examples
    --------
    >>> import numpy as np
    >>> _dense_keys(np.array([12, 10, 12]))
    (array([12, 10, 12]), 10, 3)
    >>> key, lo, n_ids = _dense_keys(np.array([2**40, 5, 2**40], dtype=np.uint64))
    >>> key.tolist(), lo, n_ids
    ([1, 0, 1], 0, 2)
    """
    if user_key.dtype.kind not in "iu":
        raise ParameterError(
            f"session_ids: user keys must be integers (ids or category codes), not {user_key.dtype}."
        )
    n = len(user_key)
    if user_key.dtype != np.uint64:
        lo, hi = int(user_key.min()), int(user_key.max())
        if hi - lo <= 4 * n + 1024:
            return user_key, lo, hi - lo + 1
    codes, uniques = pd.factorize(user_key, sort=True)
    return codes.astype(np.int64, copy=False), 0, len(uniques)
