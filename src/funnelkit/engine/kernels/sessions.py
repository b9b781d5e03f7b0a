"""Session kernel: "a session starts here" flags of one sorted bucket of whole users.

Numpy only (pandas converts times to a zone's wall clock for ``split_at_midnight``,
nothing else). The caller, :func:`funnelkit.engine.bucket_sessions.session_ids`,
hands over one bucket's rows sorted by (user, time, ``split_on`` value ranks with
nulls last, input row); :func:`new_sessions` flags the rows where a session starts
(the rules are those of :func:`funnelkit.sessionize`, see :mod:`funnelkit.analyses.sessions`).

Rules 1-4 (first event of a user, gap strictly greater than ``timeout``, local
calendar-day change, a non-null ``split_on`` value that differs from the user's last
non-null one) compare neighbouring rows and do not depend on where sessions start, so
they are a few array comparisons. Rule 5 (``max_duration``) is sequential: each
session starts where the previous one overflowed. It is solved over all segments at
once with a vectorized binary search and pointer doubling (``O(log n)`` array rounds),
never with a loop over users or events.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo

import numpy as np

__all__ = ["new_sessions", "user_time_order"]

_NS_PER_DAY = 86_400_000_000_000


def new_sessions(
    u: np.ndarray,
    ts: np.ndarray,
    *,
    timeout_ns: int | None,
    max_ns: int | None,
    zone: tzinfo | None,
    codes: Sequence[np.ndarray] = (),
) -> np.ndarray:
    """"A session starts here" flags of rows sorted by (user, time, ``codes``).

    Any set of whole users may be passed (a bucket of them, or all of them).

    Parameters
    ----------
    u : ndarray of int
        User of each row (any integers; only equality of neighbours is used), each
        user's rows contiguous.
    ts : ndarray of int64
        UTC nanoseconds, non-decreasing within a user.
    timeout_ns : int or None
        A gap strictly greater than this starts a session; None disables the rule.
    max_ns : int or None
        A row whose time minus its session's start is strictly greater than this starts
        a session (sequential rule); None disables it.
    zone : tzinfo or None
        Split where the calendar day in this zone (local wall-clock time) changes;
        None disables the rule.
    codes : sequence of ndarray of int64
        One array per ``split_on`` column: value codes, ``-1`` for null. A non-null
        code that differs from the user's last earlier non-null code starts a session.

    Returns
    -------
    ndarray of bool
        True where a session starts (always at each user's first row).

    Examples
    --------
    >>> import numpy as np
    >>> from funnelkit.engine.kernels.sessions import new_sessions
    >>> m = 60 * 10**9  # one minute in ns
    >>> u = np.array([0, 0, 0, 0, 1, 1])
    >>> ts = np.array([0, 30, 71, 80, 5, 6]) * m
    >>> new_sessions(u, ts, timeout_ns=30 * m, max_ns=None, zone=None).astype(int)
    array([1, 0, 1, 0, 1, 0])
    >>> new_sessions(u, ts, timeout_ns=30 * m, max_ns=5 * m, zone=None).astype(int)
    array([1, 1, 1, 1, 1, 0])
    >>> campaign = np.array([3, -1, 3, 4, 4, 3])  # -1: null
    >>> new_sessions(u, ts, timeout_ns=None, max_ns=None, zone=None,
    ...              codes=[campaign]).astype(int)
    array([1, 0, 0, 1, 1, 1])
    """
    n = len(u)
    new = np.empty(n, dtype=bool)
    if n == 0:
        return new
    new[0] = True
    np.not_equal(u[1:], u[:-1], out=new[1:])
    user_start = new.copy() if len(codes) else new
    if timeout_ns is not None:
        new[1:] |= _gaps(ts[:-1], ts[1:]) > np.uint64(timeout_ns)
    if zone is not None:
        day = _local_day(ts, zone)
        new[1:] |= day[1:] != day[:-1]
    for c in codes:
        new |= _value_changes(c, user_start)
    if max_ns is not None:
        new = _split_long_sessions(ts, new, max_ns)
    return new


def user_time_order(u: np.ndarray, t: np.ndarray, n_keys: int) -> np.ndarray | None:
    """Stable permutation sorting rows by (``u``, ``t``); None when they are sorted already.

    ``u`` holds small non-negative keys (< ``n_keys``, e.g. users within a bucket). Rows
    already in time order (most exports) need only a stable sort on ``u``: radix passes
    of 16 bits; other rows a stable lexicographic sort. Ties keep the input order.

    Examples
    --------
    >>> import numpy as np
    >>> u = np.array([1, 0, 1, 0], dtype=np.uint16)
    >>> user_time_order(u, np.array([1, 2, 3, 4]), 2)  # time-sorted: radix on u
    array([1, 3, 0, 2])
    >>> user_time_order(u, np.array([4, 3, 2, 1]), 2)
    array([3, 1, 2, 0])
    >>> user_time_order(np.sort(u), np.array([1, 2, 3, 4]), 2) is None
    True
    """
    n = len(u)
    if n < 2:
        return None
    if not bool((t[1:] >= t[:-1]).all()):
        return np.lexsort((t, u))
    if bool((u[1:] >= u[:-1]).all()):
        return None
    if n_keys <= 1 << 16:
        return np.argsort(u.astype(np.uint16, copy=False), kind="stable")
    o1 = np.argsort((u & 0xFFFF).astype(np.uint16), kind="stable")
    o2 = np.argsort((u[o1] >> 16).astype(np.uint16), kind="stable")
    return o1[o2]


def _value_changes(codes: np.ndarray, user_start: np.ndarray) -> np.ndarray:
    """Flag rows whose non-null code differs from the user's last earlier non-null code.

    ``codes`` are in sorted order (-1 = null); ``user_start`` flags each user's first row.

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.array([0, -1, 0, 1, -1, 1, 0])
    >>> starts = np.array([True, False, False, False, False, True, False])
    >>> _value_changes(codes, starts).astype(int)
    array([0, 0, 0, 1, 0, 0, 1])
    """
    n = codes.size
    pos = np.arange(n)
    last_nonnull = np.maximum.accumulate(np.where(codes >= 0, pos, -1))
    prev = np.empty(n, dtype=np.int64)
    prev[0] = -1
    prev[1:] = last_nonnull[:-1]  # last non-null strictly before each row
    first_of_user = np.maximum.accumulate(np.where(user_start, pos, 0))
    ok = (codes >= 0) & (prev >= first_of_user)
    change = np.zeros(n, dtype=bool)
    change[ok] = codes[prev[ok]] != codes[ok]
    return change


def _split_long_sessions(ts: np.ndarray, new: np.ndarray, max_ns: int) -> np.ndarray:
    """Apply the ``max_duration`` rule to the segments flagged in ``new`` (sorted order).

    Inside a segment, the sessions start at ``c0`` (the segment's first row),
    ``c1 = next(c0)``, ``c2 = next(c1)``... where ``next(i)`` is the first row of the
    segment with ``t > t[i] + max_ns``. ``next`` is found for every row at once with a
    vectorized binary search (log2(longest segment) rounds); the chains are then
    marked by pointer doubling: after round k every row at chain distance < 2**k from
    its segment start is marked, and ``next`` is squared (log2(longest chain) rounds).

    Examples
    --------
    >>> import numpy as np
    >>> ts = np.array([0, 10, 20, 30, 40, 50, 60])
    >>> new = np.array([True, False, False, False, False, False, False])
    >>> _split_long_sessions(ts, new, 25).astype(int)  # [0, 10, 20] [30, 40, 50] [60]
    array([1, 0, 0, 1, 0, 0, 1])
    """
    n = ts.size
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], n)
    too_long = _gaps(ts[starts], ts[ends - 1]) > np.uint64(max_ns)
    if not too_long.any():
        return new
    seg = np.cumsum(new) - 1
    idx = np.flatnonzero(too_long[seg])  # rows of the segments to split
    m = idx.size
    tl = _gaps(np.full(m, ts[idx].min()), ts[idx])  # uint64 times since the earliest
    lstart = new[idx]
    lseg = np.cumsum(lstart) - 1
    lstarts = np.flatnonzero(lstart)
    seg_end = np.append(lstarts[1:], m)[lseg]  # exclusive end of each row's segment

    cap = np.uint64(np.iinfo(np.uint64).max - max_ns)
    target = np.minimum(tl, cap) + np.uint64(max_ns)  # saturates instead of overflowing
    lo = np.arange(1, m + 1)
    hi = seg_end.copy()
    active = np.flatnonzero(lo < hi)
    while active.size:
        mid = (lo[active] + hi[active]) >> 1
        beyond = tl[mid] > target[active]
        hi[active[beyond]] = mid[beyond]
        lo[active[~beyond]] = mid[~beyond] + 1
        active = active[lo[active] < hi[active]]
    nxt = np.where(lo < seg_end, lo, m)
    jump = np.append(nxt, m)  # node m is the "no further session" sentinel

    marked = np.zeros(m + 1, dtype=bool)
    marked[lstarts] = True
    while True:
        reach = jump[np.flatnonzero(marked[:m])]
        reach = reach[reach < m]
        if reach.size == 0:
            break
        marked[reach] = True
        jump = jump[jump]

    out = new.copy()
    out[idx[marked[:m]]] = True
    return out


def _gaps(earlier: np.ndarray, later: np.ndarray) -> np.ndarray:
    """``later - earlier`` (int64 ns, ``later >= earlier``) as uint64, exact over the full range.

    The difference of two int64 timestamps can exceed the int64 range (e.g. 1700 to
    2250); in uint64 wrap-around arithmetic it is exact for every non-negative
    difference. Pairs with ``later < earlier`` (different users) give meaningless
    values that the callers never use.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([-(2**62), 2**62])  # 2**63 ns apart: beyond int64
    >>> int(_gaps(t[:1], t[1:])[0]) == 2**63
    True
    """
    return later.view(np.uint64) - earlier.view(np.uint64)


def _local_day(ts: np.ndarray, zone: tzinfo) -> np.ndarray:
    """Calendar day number in ``zone`` (local wall-clock time) of UTC nanoseconds ``ts``.

    Examples
    --------
    >>> import zoneinfo
    >>> import numpy as np
    >>> ts = np.array(["2024-05-01T21:50", "2024-05-01T22:10"], dtype="M8[ns]").view("i8")
    >>> d = _local_day(ts, zoneinfo.ZoneInfo("Europe/Madrid"))  # 23:50 and 00:10 local
    >>> (d[1] - d[0]).item()
    1
    """
    import pandas as pd  # the zone's rules (DST) are pandas'

    local = pd.DatetimeIndex(ts.view("M8[ns]")).tz_localize("UTC").tz_convert(zone)
    wall = local.tz_localize(None).as_unit("ns").asi8
    return np.floor_divide(wall, _NS_PER_DAY)

