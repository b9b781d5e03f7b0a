"""ClickHouse ``windowFunnel`` kernel: every mode and combination, equal to ClickHouse.

:func:`clickhouse_funnel` reproduces ``windowFunnel(window, modes...)`` (the funnelkit
parameters that select it are in :func:`funnelkit.funnel`). ClickHouse keeps, per
unit, a state per level and walks the unit's entries (one per (event, step it
matches), sorted by time, then step) once; some modes *stop* the walk early. That
walk is sequential, but its parts are not:

1. ``E[k]``, the first entry at which level ``k+1`` is reached, does not depend on the
   stops (the state before a stop is the state without stops). With one event allowed
   to fill several steps (ClickHouse's default, no ``strict_once``) the state of level
   ``k`` is set by the last *successful* step-``k`` entry; an entry succeeds when the
   last successful step-``k-1`` entry before it fits the window from its first step
   (and, with ``increasing_times``, was strictly earlier). That is one
   ``searchsorted`` per step. With ``strict_once`` ClickHouse searches every chain of
   distinct events; the earliest chain of each start is the greedy one, so ``E[k]`` is
   the minimum over the starts' greedy chains (one vectorized pass per step).
2. The stops are then flags on entries: ``stop_at_repeat`` (``strict_deduplication``)
   stops at a step-``m`` entry (``m >= 2``) once level ``m`` was reached before it;
   ``uninterrupted`` (``strict_order``) stops at the first event outside the funnel
   after the first step-1 entry, and (unless ``out_of_order="ignore"``, ClickHouse's
   ``allow_reentry``) at a step-``m`` entry whose previous step was not reached yet.
3. The level is the number of levels reached strictly before the unit's first stop.

Numpy only; loops run over the ``K`` steps (and the bounded skip rounds of the
overlapping-steps successor).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from ...errors import ParameterError
from ._common import KernelResult, _check_common, _check_event, _empty_result, _run_ends, _sat_add
from ._walk import _walk
from .ordered import _overlap_step

__all__ = ["clickhouse_funnel"]

_BIG = np.iinfo(np.int64).max


def clickhouse_funnel(
    unit: np.ndarray,
    t: np.ndarray,
    code: np.ndarray,
    steps: np.ndarray | Sequence[int],
    *,
    n_units: int,
    window: int | None,
    reuse_events: bool = False,
    increasing_times: bool = False,
    stop_at_repeat: bool = False,
    uninterrupted: bool = False,
    out_of_order: Literal["stop", "ignore"] = "stop",
    can_start: np.ndarray | None = None,
    event: np.ndarray | None = None,
) -> KernelResult:
    """ClickHouse ``windowFunnel`` with any combination of its modes.

    Parameters
    ----------
    unit, t, code, n_units, window, can_start
        As in :func:`~funnelkit.engine.kernels.ordered_funnel`. The rows are sorted by
        (unit, time, ClickHouse's tie order): at one timestamp, rows outside the funnel
        (``code == -1``, only read with ``uninterrupted``) come first, then the rows in
        step order. Step-1 rows that ``can_start`` refuses are ignored.
    steps : array_like of int
        Distinct symbols, one per step. A symbol playing several steps (``[a, a, b]``)
        or an event matching several steps comes as *role rows*: one row per step it
        plays, with ``steps = 0 .. K-1`` and ``event`` telling the rows of one event.
    reuse_events : bool
        One event may fill several steps of a chain (ClickHouse's default mode);
        False is ClickHouse's ``strict_once``.
    increasing_times : bool
        Consecutive steps need strictly increasing times (``strict_increase``).
    stop_at_repeat : bool
        An event of a step already reached (other than step 1) ends the walk
        (``strict_deduplication``).
    uninterrupted : bool
        After the first step-1 event, an event outside the funnel ends the walk, and
        so does an event of a step whose previous step was not reached yet
        (``strict_order``).
    out_of_order : {"stop", "ignore"}
        With ``uninterrupted``: ``"ignore"`` skips events of steps whose previous step
        was not reached instead of stopping (``allow_reentry``).
    event : numpy.ndarray of int, optional
        Event id of each role row (see ``steps``); None: every row is its own event.

    Returns
    -------
    KernelResult
        ``level`` as ClickHouse returns it; the reported chain is the one that first
        reached the level (its step times and positions); ``excluded`` is all False;
        ``n_attempts`` counts step-1 rows.

    Examples
    --------
    ``a a b b c c`` reaches 3 with ``strict_order``; an event ``x`` between the steps
    stops it; with ``strict_deduplication`` a second ``b`` ends the walk:

    >>> import numpy as np
    >>> unit = np.zeros(6, dtype=np.int64)
    >>> t = np.arange(6)
    >>> code = np.array([0, 0, 1, 1, 2, 2], dtype=np.int16)
    >>> clickhouse_funnel(unit, t, code, [0, 1, 2], n_units=1, window=10, uninterrupted=True).level.tolist()
    [3]
    >>> code_x = np.array([0, 0, 1, -1, 2, 2], dtype=np.int16)
    >>> clickhouse_funnel(unit, t, code_x, [0, 1, 2], n_units=1, window=10, uninterrupted=True).level.tolist()
    [2]
    >>> clickhouse_funnel(unit, t, code, [0, 1, 2], n_units=1, window=10, stop_at_repeat=True).level.tolist()
    [2]
    """
    u, tt, c, st, n_units, window, cs = _check_common(unit, t, code, steps, n_units, window, can_start)
    if out_of_order not in ("stop", "ignore"):
        raise ParameterError(f"`out_of_order`={out_of_order!r} is not valid; choose 'stop' or 'ignore'.")
    k = st.size
    if len(set(st.tolist())) < k:
        raise ParameterError(
            "`steps` repeat a symbol: give role rows (one row per step an event plays, steps 0..K-1) "
            "and their `event` ids instead."
        )
    ev = None if event is None else _check_event(event, u.size)
    if u.size == 0:
        return _empty_result(n_units, k)
    lut = np.full(1 << 16, -1, dtype=np.int16)
    lut[st] = np.arange(k, dtype=np.int16)
    m = lut[c.view(np.uint16)]  # step index per row; -1: outside the funnel
    if cs is not None:
        m[(m == 0) & ~cs] = -2  # refused starts: ignored
    keep = np.flatnonzero((m >= 0) | (m == -1)) if uninterrupted else np.flatnonzero(m >= 0)
    wu, wt, wm = u[keep], tt[keep], m[keep]
    nw = keep.size
    # E[:, j]: first working position reaching level j+1 (nw: never)
    E = np.full((n_units, k), nw, dtype=np.int64)
    if reuse_events:
        chains = _state_machine(wu, wt, wm, k, window, increasing_times, E)
    else:
        chains = _strict_once(wu, wt, wm, k, window, increasing_times, E, None if ev is None else ev[keep])
    stop = np.full(n_units, nw, dtype=np.int64)
    cand: list[np.ndarray] = []
    pos = np.arange(nw, dtype=np.int64)
    if stop_at_repeat:
        q = np.flatnonzero(wm >= 1)
        cand.append(q[E[wu[q], wm[q]] < q])
    if uninterrupted:
        e0 = E[wu, 0]
        q = np.flatnonzero(wm == -1)
        cand.append(q[e0[q] < q])
        if out_of_order == "stop":
            q = np.flatnonzero(wm >= 1)
            cand.append(q[(e0[q] < q) & (E[wu[q], wm[q] - 1] >= q)])
    if cand:
        allq = np.concatenate(cand)
        np.minimum.at(stop, wu[allq], pos[allq])
    level = (E < stop[:, None]).sum(axis=1).astype(np.int16)
    n_att = np.bincount(wu[wm == 0], minlength=n_units).astype(np.int64)
    step_pos = np.full((n_units, k), -1, dtype=np.int64)
    step_time = np.full((n_units, k), np.iinfo(np.int64).min, dtype=np.int64)
    rec = chains(level)  # (n_units, K) working positions of the reported chain, -1 padded
    ok = rec >= 0
    safe = np.where(ok, rec, 0)
    step_pos[ok] = keep[safe[ok]]
    step_time[ok] = wt[safe[ok]]
    return KernelResult(level, step_time, step_pos, np.zeros(n_units, dtype=bool), n_att)


def _state_machine(wu: np.ndarray, wt: np.ndarray, wm: np.ndarray, k: int, window: int | None,
                   increasing: bool, E: np.ndarray):
    """ClickHouse's one-state-per-level walk (events may fill several steps), per step.

    Fills ``E`` and returns a function of the final levels giving each unit's reported
    chain (the one that first reached its level), followed back through the entries
    each successful entry extended.
    """
    S = np.flatnonzero(wm == 0)
    first = wt[S]
    succ = [S]
    preds: list[np.ndarray] = [np.empty(0, dtype=np.int64)]
    for j in range(1, k):
        Q = np.flatnonzero(wm == j)
        if S.size == 0 or Q.size == 0:
            S = np.empty(0, dtype=np.int64)
            first = np.empty(0, dtype=np.int64)
            succ.append(S)
            preds.append(S)
            continue
        i = np.searchsorted(S, Q, side="left") - 1  # last successful step-(j-1) entry before q
        ok = i >= 0
        ii = np.maximum(i, 0)
        p = S[ii]
        ok &= wu[p] == wu[Q]
        if window is not None:
            ok &= wt[Q] <= _sat_add(first[ii], window)
        if increasing:
            ok &= wt[p] < wt[Q]
        S = Q[ok]
        first = first[ii[ok]]
        succ.append(S)
        preds.append(ii[ok])
    first_idx: list[np.ndarray] = []
    for j in range(k):
        s = succ[j]
        su = wu[s]
        head = np.flatnonzero(np.concatenate(([True], su[1:] != su[:-1]))) if s.size else s
        E[su[head], j] = s[head]
        fi = np.full(E.shape[0], -1, dtype=np.int64)
        fi[su[head]] = head
        first_idx.append(fi)

    def chains(level: np.ndarray) -> np.ndarray:
        rec = np.full((level.size, k), -1, dtype=np.int64)
        for L in range(1, k + 1):
            units = np.flatnonzero(level == L)
            if units.size == 0:
                continue
            idx = first_idx[L - 1][units]
            for j in range(L - 1, -1, -1):
                rec[units, j] = succ[j][idx]
                if j:
                    idx = preds[j][idx]
        return rec

    return chains


def _strict_once(wu: np.ndarray, wt: np.ndarray, wm: np.ndarray, k: int, window: int | None,
                 increasing: bool, E: np.ndarray, wev: np.ndarray | None):
    """Chains of distinct events (``strict_once``): every start's greedy chain, per step.

    Fills ``E`` with the earliest position reaching each level over all starts, and
    returns a function of the final levels giving the chain of the first start that
    reached the unit's level there.
    """
    starts = np.flatnonzero(wm == 0)
    step_lists = [np.flatnonzero(wm == j) for j in range(k)]
    run_end = _run_ends(wu, wt) if increasing else None

    def after(pos: np.ndarray) -> np.ndarray:
        """Where the search for the next step starts: pos, or the last row at t(pos)."""
        if run_end is None:
            return pos
        return run_end[np.searchsorted(run_end, pos)]

    if wev is not None:
        chain = np.empty((starts.size, k), dtype=np.int64)
        chain[:, 0] = starts

        def successor(j, state, pos, d0):
            _, nxt, ok = _overlap_step(j, state, after(pos), d0, step_lists, wu, wt, wev, chain)
            return state, nxt, ok

        state0 = np.arange(starts.size)
    else:
        def successor(j, state, pos, d0):
            lj = step_lists[j]
            if lj.size == 0:
                return pos, pos, np.zeros(pos.size, dtype=bool)
            i = np.searchsorted(lj, after(pos), side="right")
            ok = i < lj.size
            nxt = lj[np.minimum(i, lj.size - 1)]
            ok &= wu[nxt] == wu[pos]
            if d0 is not None:
                ok &= wt[nxt] <= d0
            return nxt, nxt, ok

        state0 = starts
    _, _, rec = _walk(state0, starts, k, successor, wu, wt, window=window, window_from="entry", record=True)
    assert rec is not None
    su = wu[starts]
    for j in range(k):
        r = rec[:, j]
        hit = r >= 0
        np.minimum.at(E[:, j], su[hit], r[hit])

    def chains(level: np.ndarray) -> np.ndarray:
        out = np.full((level.size, k), -1, dtype=np.int64)
        L = level[su].astype(np.int64)
        has = L > 0
        col = np.maximum(L - 1, 0)
        end = rec[np.arange(su.size), col]
        mine = has & (end >= 0) & (end == E[su, col])
        a = np.flatnonzero(mine)
        au = su[a]
        head = a[np.concatenate(([True], au[1:] != au[:-1]))] if a.size else a
        hu = su[head]
        keep_cols = np.arange(k)[None, :] < L[head][:, None]
        out[hu] = np.where(keep_cols, rec[head], -1)
        return out

    return chains
