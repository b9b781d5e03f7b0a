"""Ordered funnel kernel (ClickHouse ``windowFunnel`` with ``strict_once``).

Entry anchoring follows each start's greedy chain; previous anchoring follows pointers
from a backward pass. With ``event`` the input rows are *role rows* (an event matching
several steps comes once per step symbol) and a chain never uses one event twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...errors import ParameterError
from ._common import (
    Anchor,
    Exclusion,
    KernelResult,
    _assemble,
    _blocks,
    _check_anchor,
    _check_common,
    _check_event,
    _check_exclude,
    _empty_result,
    _range_argmax,
    _symbol_mask,
    _window_end,
    _window_keys,
)
from ._walk import _make_exclusions, _per_unit, _walk

__all__ = ["ordered_funnel"]


def ordered_funnel(
    unit: np.ndarray,
    t: np.ndarray,
    code: np.ndarray,
    steps: np.ndarray | Sequence[int],
    *,
    n_units: int,
    window: int | None,
    window_from: Anchor = "entry",
    exclude: Sequence[Exclusion] = (),
    can_start: np.ndarray | None = None,
    event: np.ndarray | None = None,
) -> KernelResult:
    """Ordered funnel (ClickHouse ``windowFunnel`` with ``strict_once``; DESIGN §4).

    A unit reaches step ``k`` when distinct events ``e1 < ... < ek`` (positions in the
    sorted arrays) carry the symbols ``steps[0..k-1]`` and fit the window: with
    ``window_from="entry"`` ``t(ek) - t(e1) <= window``, with ``"previous"`` every gap
    ``t(ei) - t(ei-1) <= window`` (edges inclusive). Other events may lie in between.

    Parameters
    ----------
    unit, t, code : numpy.ndarray
        Sorted event arrays (int64 unit codes, int64 ns timestamps, int16 symbols with
        ``-1`` for events outside the funnel). With ``event`` they hold role rows.
    steps : array_like of int
        Symbol of each step, ``1 <= K <= 64``; symbols may repeat.
    n_units : int
        Number of units (``unit`` codes are ``0 .. n_units-1``).
    window : int or None
        Conversion window in ns (inclusive); ``None`` for no limit.
    window_from : {"entry", "previous"}
        Anchor of the window: the step-1 event, or the previous step's event.
    exclude : sequence of (symbol, from_step, to_step)
        Exclusion rules with 0-based steps; ``symbol`` must not be a step symbol.
    can_start : numpy.ndarray of bool, optional
        Events allowed to start an attempt (date range on step-1 events); default all.
    event : numpy.ndarray of int, optional
        Overlapping steps: the rows are *role rows*, an event matching several step
        symbols appears once per symbol (each copy with that symbol in ``code``, at the
        event's unit and time), sorted by ``(unit, t, position of the step the copy
        plays, tie)``. ``event[i]`` identifies the event of row ``i`` (any integers,
        equal for the copies of one event; ids need only differ between distinct
        events of the same unit and timestamp). One event then fills at most one step
        of a chain. Needs ``window_from="entry"`` or ``window=None``. Default None:
        every row is its own event.

    Returns
    -------
    KernelResult
        With ``event``, ``step_pos`` are positions of role rows.

    Raises
    ------
    funnelkit.errors.ParameterError
        (a ``ValueError``) for inconsistent arrays or parameters, and for ``event``
        with ``window_from="previous"`` and a window.

    Notes
    -----
    Entry anchoring: each start's attempt is its greedy chain (the next event of each
    step, found with ``searchsorted`` on that step's positions); it is the earliest
    chain of maximal depth from that start. Previous anchoring: a backward pass gives,
    for each event usable as step ``j``, the deepest level reachable from it and the
    leftmost successor achieving it (sparse-table range argmax over the successor
    candidates, i.e. later step-``j+1`` events within ``window``); attempts follow
    these pointers.

    Overlapping steps (``event``): the greedy successor for step ``j`` is the earliest
    step-``j`` role row after the current one whose event the chain has not used yet;
    a used event has the candidate's timestamp, so only the chain's last steps at that
    timestamp are compared, and a conflicted attempt moves to the next candidate (at
    most ``j`` times). Each attempt's step positions are kept in an
    ``(attempts, K)`` int64 matrix.

    Known limitation: the greedy is exact (deepest, and earliest, chain of each start)
    unless, at one timestamp of a unit, an event playing two or more steps competes
    with another event for one of those steps. The greedy then takes whichever role
    row comes first in sort order (the engine orders ties by value), which can miss a
    deeper assignment: with steps ``[x, b, c]``, an event ``e`` at time ``T`` matching
    ``b`` and ``c`` and an event ``f`` at ``T`` matching only ``b``, in the order
    ``e``-as-``b``, ``f``-as-``b``, ``e``-as-``c``, the greedy fills ``b`` with ``e``
    and finds no ``c`` (level 2) although ``x, f, e`` reaches level 3. No tie order
    is right in every such case (it is a matching problem within the timestamp). The
    same competition can change which attempt is reported: the first start reaching
    the level, which then need not be the earliest by later step times (steps
    ``[b, a]``, ``e`` matching both and ``f`` only ``b`` at ``T``, another ``a`` after
    ``T``: ``e``'s attempt is reported, ``f``'s has the earlier step 2). Without such
    competition the level, every start's attempt and the reported attempt are exact.

    Examples
    --------
    >>> import numpy as np
    >>> unit = np.array([0, 0, 0, 1, 1])
    >>> t = np.array([0, 5, 9, 0, 20])
    >>> code = np.array([0, -1, 1, 0, 1], dtype=np.int16)
    >>> res = ordered_funnel(unit, t, code, [0, 1], n_units=2, window=10)
    >>> res.level.tolist()
    [2, 1]
    >>> res.step_pos.tolist()
    [[0, 2], [3, -1]]

    Overlapping steps ``[a, b, a]`` have the symbols 0, 1 and 2, and an ``a`` event
    matches symbols 0 and 2. Events ``a@0`` (id 0), ``b@1`` (id 1) and ``a@1`` (id 2)
    give five role rows, sorted by time, then step:

    >>> unit = np.zeros(5, dtype=np.int64)
    >>> t = np.array([0, 0, 1, 1, 1])
    >>> code = np.array([0, 2, 0, 1, 2], dtype=np.int16)
    >>> event = np.array([0, 0, 2, 1, 2])
    >>> res = ordered_funnel(unit, t, code, [0, 1, 2], n_units=1, window=None, event=event)
    >>> res.level.tolist(), res.step_pos.tolist()
    ([3], [[0, 3, 4]])

    With only ``a@0`` and ``b@0``, the ``a`` event cannot fill both step 1 and step 3:

    >>> code = np.array([0, 1, 2], dtype=np.int16)
    >>> zeros = np.zeros(3, dtype=np.int64)
    >>> ordered_funnel(zeros, zeros, code, [0, 1, 2], n_units=1, window=None,
    ...                event=np.array([0, 1, 0])).level.tolist()
    [2]
    """
    u, tt, c, st, n_units, window, cs = _check_common(unit, t, code, steps, n_units, window, can_start)
    _check_anchor(window_from)
    rules = _check_exclude(exclude, st)
    ev = None if event is None else _check_event(event, u.size)
    if ev is not None and window_from == "previous" and window is not None:
        raise ParameterError(
            "overlapping steps need window_from='entry' (or no window): `event` was given "
            "with window_from='previous' and a window."
        )
    k = st.size
    if u.size == 0:
        return _empty_result(n_units, k)

    # Work on the events that can matter: step symbols and excluded symbols.
    symbols = sorted(set(st.tolist()) | {x for x, _, _ in rules})
    orig = np.flatnonzero(_symbol_mask(c, symbols))
    wu, wt, wc = u[orig], tt[orig], c[orig]
    lists = {s: np.flatnonzero(wc == s) for s in set(st.tolist())}
    step_lists = [lists[s] for s in st.tolist()]
    starts = step_lists[0]
    if cs is not None:
        starts = starts[cs[orig[starts]]]
    excl = _make_exclusions(rules, wu, wt, wc)
    su = wu[starts]

    if ev is not None:
        # Greedy chains that never reuse an event; the state is the attempt's row in
        # `chain`, which holds its step positions.
        wev = ev[orig]
        chain = np.empty((starts.size, k), dtype=np.int64)
        chain[:, 0] = starts

        def successor(
            j: int, state: np.ndarray, pos: np.ndarray, d0: np.ndarray | None
        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            return _overlap_step(j, state, pos, d0, step_lists, wu, wt, wev, chain)

        state0 = np.arange(starts.size)
    elif window_from == "entry" or window is None:
        # Greedy chains (without a window, both anchors impose nothing: same thing).

        def successor(
            j: int, state: np.ndarray, pos: np.ndarray, d0: np.ndarray | None
        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            lj = step_lists[j]
            if lj.size == 0:
                return pos, pos, np.zeros(pos.size, dtype=bool)
            i = np.searchsorted(lj, pos, side="right")  # next step-j event after pos
            ok = i < lj.size
            nxt = lj[np.minimum(i, lj.size - 1)]
            ok &= wu[nxt] == wu[pos]
            if d0 is not None:
                ok &= wt[nxt] <= d0
            return nxt, nxt, ok

        state0 = starts
    else:
        # Backward pass: depth_j[i] = deepest level reachable when step_lists[j][i] is
        # step j (counting it), best_j[i] = index in step_lists[j+1] of the leftmost
        # successor achieving it (-1: none). For j = 0 only the starts are evaluated.
        blocks = _blocks(wu)
        keys = _window_keys(wt, window, blocks)  # None: keys would overflow, use positions
        dl = _window_end(wt, window, blocks) if keys is None else None
        best: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * max(k - 1, 0)
        depth_next = np.ones(step_lists[k - 1].size, dtype=np.int16)
        for j in range(k - 2, -1, -1):
            queries = starts if j == 0 else step_lists[j]
            succ = step_lists[j + 1]
            # candidates: succ[lo:hi], later events of the unit within the window
            lo = np.searchsorted(succ, queries, side="right")
            if keys is None:
                assert dl is not None
                hi = np.searchsorted(succ, dl[queries], side="right")
            else:
                hi = np.searchsorted(keys[0][succ], keys[1][queries], side="right")
            nonempty = np.flatnonzero(lo < hi)
            b = np.full(queries.size, -1, dtype=np.int64)
            b[nonempty] = _range_argmax(depth_next, lo[nonempty], hi[nonempty])
            d = np.ones(queries.size, dtype=np.int16)
            d[nonempty] += depth_next[b[nonempty]]
            best[j] = b
            depth_next = d

        def successor(
            j: int, state: np.ndarray, pos: np.ndarray, d0: np.ndarray | None
        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            nxt_state = best[j - 1][state]
            ok = nxt_state >= 0
            nxt_pos = step_lists[j][np.where(ok, nxt_state, 0)] if ok.any() else pos
            return nxt_state, nxt_pos, ok

        state0 = np.arange(starts.size)

    depth, tainted, _ = _walk(
        state0, starts, k, successor, wu, wt, window=window, window_from=window_from, excl=excl
    )
    level, excluded, n_att, first = _per_unit(su, depth, tainted, n_units)
    # Re-walk only the reported attempts, recording their step positions.
    _, _, rec = _walk(
        state0[first], starts[first], k, successor, wu, wt,
        window=window, window_from=window_from, record=True,
    )
    assert rec is not None
    return _assemble(level, excluded, n_att, su[first], rec, wt, orig, k)


# ---------------------------------------------------------------------------
# overlapping steps: greedy chains that never reuse an event
# ---------------------------------------------------------------------------


def _overlap_step(
    j: int,
    state: np.ndarray,
    pos: np.ndarray,
    d0: np.ndarray | None,
    step_lists: list[np.ndarray],
    wu: np.ndarray,
    wt: np.ndarray,
    wev: np.ndarray,
    chain: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entry-anchored greedy successor when one event may come as several role rows.

    Parameters
    ----------
    j : int
        The step to reach (``>= 1``).
    state : numpy.ndarray
        The alive attempts' rows in ``chain``.
    pos : numpy.ndarray
        Their step-``j-1`` working positions.
    d0 : numpy.ndarray or None
        Their deadlines ``t(e1) + window`` (None: no window).
    step_lists : list of numpy.ndarray
        Sorted working positions of each step's symbol.
    wu, wt, wev : numpy.ndarray
        Unit, time and event id of each working position.
    chain : numpy.ndarray
        int64, ``(n_attempts, K)``: row ``r`` holds attempt ``r``'s step positions
        (column 0 preset to the starts); column ``j`` is written here.

    Returns
    -------
    state, pos, ok : numpy.ndarray
        ``state`` unchanged; the earliest step-``j`` position after ``pos`` in the same
        unit whose event the attempt has not used; whether it exists by ``d0``.
    """
    lj = step_lists[j]
    if lj.size == 0:
        return state, pos, np.zeros(pos.size, dtype=bool)
    last = lj.size - 1
    i = np.searchsorted(lj, pos, side="right")  # next step-j role row after pos
    ok = i < lj.size
    nxt = lj[np.minimum(i, last)]
    ok &= wu[nxt] == wu[pos]
    # A used event has the candidate's time, which is then also t(pos): only such
    # candidates are checked. Each skip passes one used event, so there are at most j
    # rounds for valid role rows (and the loop ends anyway once no candidate is used).
    sub = np.flatnonzero(ok)
    sub = sub[wt[nxt[sub]] == wt[pos[sub]]]
    while sub.size:
        sub = sub[_used(chain, state[sub], j, nxt[sub], wt, wev)]
        if sub.size == 0:
            break
        i_s = i[sub] + 1
        i[sub] = i_s
        ok_s = i_s < lj.size
        n_s = lj[np.minimum(i_s, last)]
        p_s = pos[sub]
        ok_s &= wu[n_s] == wu[p_s]
        nxt[sub] = n_s
        ok[sub] = ok_s
        sub = sub[ok_s & (wt[n_s] == wt[p_s])]
    if d0 is not None:
        ok &= wt[nxt] <= d0
    chain[state, j] = nxt
    return state, nxt, ok


def _used(
    chain: np.ndarray,
    rows: np.ndarray,
    j: int,
    cand: np.ndarray,
    wt: np.ndarray,
    wev: np.ndarray,
) -> np.ndarray:
    """Whether the event of each candidate ``cand`` already fills a step ``< j`` of its chain.

    Walks back from step ``j-1`` while the chain's step time equals the candidate's
    (positions of a chain are sorted, so its steps at that time are its last ones).
    ``rows`` are the attempts' rows in ``chain``; all lie in the candidates' units.
    """
    tc, ec = wt[cand], wev[cand]
    used = np.zeros(rows.size, dtype=bool)
    idx = np.arange(rows.size)  # candidates still compared
    for m in range(j - 1, -1, -1):
        p = chain[rows[idx], m]
        same = wt[p] == tc[idx]
        idx, p = idx[same], p[same]
        if idx.size == 0:
            break
        hit = wev[p] == ec[idx]
        used[idx[hit]] = True
        idx = idx[~hit]
    return used
