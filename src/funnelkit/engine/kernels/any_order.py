"""Any-order funnel kernel: the most steps filled by events within one window span."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._common import (
    Exclusion,
    KernelResult,
    _assemble,
    _blocks,
    _check_common,
    _check_exclude,
    _empty_result,
    _sat_add,
    _symbol_mask,
    _window_end,
)
from ._walk import _first_after, _make_exclusions, _per_unit

__all__ = ["any_order_funnel"]


def any_order_funnel(
    unit: np.ndarray,
    t: np.ndarray,
    code: np.ndarray,
    steps: np.ndarray | Sequence[int],
    *,
    n_units: int,
    window: int | None,
    can_start: np.ndarray | None = None,
    exclude: Sequence[Exclusion] = (),
) -> KernelResult:
    """Any-order funnel: the most steps filled by events within one window span.

    A window starts at a funnel event ``s`` allowed by ``can_start`` and holds the
    unit's events at or after ``s`` (in sort order) with ``t <= t(s) + window`` (the
    whole rest of the unit when ``window`` is None). It fills a step symbol repeated
    ``m`` times with up to ``m`` distinct events. The level is the best fill over all
    windows; the reported window is the earliest start achieving it, filled with the
    earliest events. ``step_time[:, j]`` is when that window had completed ``j+1``
    steps (fill times in ascending order, ties in position order).

    Parameters
    ----------
    unit, t, code, steps, n_units, window, can_start
        As in :func:`~funnelkit.engine.kernels.ordered_funnel`.
    exclude : sequence of (symbol, from_step, to_step)
        Exclusion rules, 0-based steps counted in *fill order*: a window is tainted by
        an ``x`` event strictly after the time it filled its ``from_step+1``-th step
        and strictly before it filled its ``to_step+1``-th, or, when it filled fewer,
        strictly after the former and by ``t(start) + window``. Tainted windows do not
        count; a unit whose windows are all tainted is ``excluded``.

    Returns
    -------
    KernelResult
        ``n_attempts`` counts the window starts considered.

    Notes
    -----
    For each symbol, the count of its events inside each window is a difference of
    its cumulative counts at the window's first and last positions; the window end
    comes from :func:`._common._window_end`.

    Examples
    --------
    >>> import numpy as np
    >>> unit = np.array([0, 0, 0])
    >>> t = np.array([0, 5, 30])
    >>> code = np.array([1, 0, 2], dtype=np.int16)
    >>> res = any_order_funnel(unit, t, code, [0, 1, 2], n_units=1, window=10)
    >>> res.level.tolist(), res.step_time.tolist()
    ([2], [[0, 5, -9223372036854775808]])
    """
    u, tt, c, st, n_units, window, cs = _check_common(unit, t, code, steps, n_units, window, can_start)
    rules = _check_exclude(exclude, st)
    k = st.size
    if u.size == 0:
        return _empty_result(n_units, k)
    syms, mult = np.unique(st, return_counts=True)
    if rules:
        orig = np.flatnonzero(_symbol_mask(c, syms.tolist() + [x for x, _, _ in rules]))
    else:
        orig = np.flatnonzero(_symbol_mask(c, syms.tolist()))
    wu, wt, wc = u[orig], tt[orig], c[orig]
    is_step = _symbol_mask(wc, syms.tolist()) if rules else None
    if cs is None:
        starts = np.arange(orig.size) if is_step is None else np.flatnonzero(is_step)
    else:
        ok_start = cs[orig] if is_step is None else cs[orig] & is_step
        starts = np.flatnonzero(ok_start)
    su = wu[starts]
    # last working position in each window
    ends = _window_end(wt, window, _blocks(wu), None if cs is None and is_step is None else starts)
    nw = orig.size
    cdt = np.int32 if nw < 2**31 else np.int64
    after_end = ends + 1
    cum = np.zeros(nw + 1, dtype=cdt)  # cum[p]: events of the symbol before position p
    fill = np.zeros(starts.size, dtype=cdt)
    for sym, m in zip(syms.tolist(), mult.tolist()):
        np.cumsum(wc == sym, out=cum[1:])
        cnt = cum[after_end]
        cnt -= cum[:-1] if cs is None and is_step is None else cum[starts]  # events of sym inside each window
        fill += np.minimum(cnt, m, out=cnt)  # a symbol fills at most its m steps
    fill = fill.astype(np.int16)
    tainted = None
    if rules:
        taken_all = _taken(starts, ends, wc, syms, mult, k)
        tainted = _tainted(rules, taken_all, fill, starts, wu, wt, wc, window)
    level, excluded, n_att, first = _per_unit(su, fill, tainted, n_units)

    # Reported windows: take the first m events of each symbol, then sort by position.
    rec = _taken(starts[first], ends[first], wc, syms, mult, k)
    return _assemble(level, excluded, n_att, su[first], rec, wt, orig, k)


def _taken(rs: np.ndarray, re: np.ndarray, wc: np.ndarray, syms: np.ndarray, mult: np.ndarray,
           k: int) -> np.ndarray:
    """Positions filling each window ``[rs, re]`` (the first ``m`` events of each symbol), in
    position order, ``-1`` padded: ``(windows, K)``."""
    big = np.iinfo(np.int64).max
    taken = np.full((rs.size, k), big, dtype=np.int64)
    col = 0
    for sym, m in zip(syms.tolist(), mult.tolist()):
        lst = np.flatnonzero(wc == sym)
        lo = np.searchsorted(lst, rs, side="left")
        hi = np.searchsorted(lst, re, side="right")
        for r in range(m):
            ok = lo + r < hi
            taken[ok, col] = lst[lo[ok] + r]
            col += 1
    taken.sort(axis=1)
    return np.where(taken == big, -1, taken)


def _tainted(rules: list[Exclusion], taken: np.ndarray, fill: np.ndarray, starts: np.ndarray,
             wu: np.ndarray, wt: np.ndarray, wc: np.ndarray, window: int | None) -> np.ndarray:
    """Which windows an exclusion taints (see :func:`any_order_funnel`)."""
    ex = _make_exclusions(rules, wu, wt, wc)
    assert ex is not None
    out = np.zeros(starts.size, dtype=bool)
    deadline = None if window is None else _sat_add(wt[starts], window)
    for e, (_, a, b) in enumerate(rules):
        w = np.flatnonzero(fill > a)
        if w.size == 0:
            continue
        pa = taken[w, a]
        has, tx = _first_after(ex, ex.x_pos[e], pa, wu, wt)
        reached = fill[w] > b
        tb = wt[np.where(reached, taken[w, b], 0)]
        hit = has & np.where(reached, tx < tb, True if deadline is None else tx <= deadline[w])
        out[w[hit]] = True
    return out
