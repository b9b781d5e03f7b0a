"""Funnel kernels: ordered, strict and any-order funnels on sorted integer arrays.

These are the numpy-only functions every engine runs (DESIGN.md §2 and §4). No
pandas, no I/O: the callers turn an event log into integer arrays sorted once by
``(unit, timestamp, stage position, input row)`` and get per-unit results back.

Inputs (1-D arrays of equal length ``n``, already sorted)
    ``unit``
        int64 unit codes ``0 .. n_units-1``, non-decreasing (each unit's events are
        contiguous). Codes without events are allowed and get level 0.
    ``t``
        int64 timestamps in nanoseconds, non-decreasing within a unit.
    ``code``
        int16 funnel symbol of each event; ``-1`` marks an event outside the funnel
        (it is kept: it breaks adjacency in strict mode).
    ``steps``
        the symbol of each of the ``K`` steps (``1 <= K <= 64``); a symbol may repeat,
        ``A -> A -> B`` is ``steps=[0, 0, 1]`` and needs two distinct ``A`` events.

Output: a :class:`KernelResult` per unit, see its docstring.

Semantics (DESIGN.md §4, condensed)
    * ordered: step ``k`` is reached by a chain of distinct events ``e1 < ... < ek``
      (positions) with the step symbols and ``t(ek) - t(e1) <= window``
      (``window_from="entry"``) or every gap ``t(ei) - t(ei-1) <= window``
      (``"previous"``). Each step-1 event allowed by ``can_start`` starts an attempt;
      the attempt of a start is the lexicographically earliest of its deepest chains.
    * strict: as ordered, but ``e(i+1)`` is the very next event of the unit.
    * any_order: the largest number of steps filled by events within one span of
      length ``<= window`` that begins at an allowed funnel event.
    * reported attempt: the earliest clean attempt (by ``(t(e1), t(e2), ...)``, ties by
      position) reaching the unit's level.
    * exclusions ``(x, a, b)``: an attempt is tainted by an ``x`` event strictly after
      its step-``a`` event and strictly before its step-``b`` event, or, when step ``b``
      was not reached, strictly after step ``a`` and at or before the attempt's
      deadline. Tainted attempts do not count.

Performance notes
    Everything is vectorized over events/attempts; the only Python loops run over
    the ``K`` steps, the exclusion rules, and ``O(log n)`` rounds (sparse-table
    levels, the binary-search fallback of :func:`_window_end`). All searches use
    ``np.searchsorted`` with *sorted* queries (cache friendly), and memory is
    ``O(n)`` temporaries plus the ``(n_units, K)`` outputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, NamedTuple

import numpy as np

from .errors import ParameterError

__all__ = ["NAT", "KernelResult", "ordered_funnel", "strict_funnel", "any_order_funnel"]

#: Sentinel for "no timestamp" in ``KernelResult.step_time`` (same bits as ``NaT``).
NAT: int = int(np.iinfo(np.int64).min)

_TMAX: int = int(np.iinfo(np.int64).max)
_MAX_STEPS = 64
# The fast path of `_window_end` packs (unit, relative time) into one int64 key and
# needs the sum of the per-unit time spans to stay below this bound.
_KEY_LIMIT = 2**62

Anchor = Literal["entry", "previous"]
Exclusion = tuple[int, int, int]


class KernelResult(NamedTuple):
    """Per-unit result of a funnel kernel.

    Attributes
    ----------
    level : numpy.ndarray
        int16, shape ``(n_units,)``: the deepest step reached, ``0 .. K``.
    step_time : numpy.ndarray
        int64, shape ``(n_units, K)``: the reported attempt's timestamp of each step,
        :data:`NAT` where the step was not reached.
    step_pos : numpy.ndarray
        int64, shape ``(n_units, K)``: positions, in the input arrays, of the reported
        attempt's step events, ``-1`` where the step was not reached.
    excluded : numpy.ndarray
        bool, shape ``(n_units,)``: the unit had attempts but exclusions tainted all of
        them (such a unit has level 0 and no step times).
    n_attempts : numpy.ndarray
        int64, shape ``(n_units,)``: attempts started (step-1 events allowed by
        ``can_start``); for any_order, window starts considered.
    """

    level: np.ndarray
    step_time: np.ndarray
    step_pos: np.ndarray
    excluded: np.ndarray
    n_attempts: np.ndarray


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------


def _as_int_array(x: object, name: str, dtype: type[np.integer]) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ParameterError(f"`{name}` must be a 1-D array, got shape {arr.shape}.")
    if arr.size and arr.dtype.kind not in "iu":
        raise ParameterError(
            f"`{name}` must hold integers, got dtype {arr.dtype}; convert it first "
            f"(e.g. `{name}.astype(np.int64)`)."
        )
    if arr.size and not np.can_cast(arr.dtype, dtype):
        info = np.iinfo(dtype)
        lo, hi = arr.min(), arr.max()
        if lo < info.min or hi > info.max:
            raise ParameterError(
                f"`{name}` holds values outside the {np.dtype(dtype)} range, e.g. "
                f"{hi if hi > info.max else lo}."
            )
    return np.ascontiguousarray(arr, dtype=dtype)


def _check_common(
    unit: object,
    t: object,
    code: object,
    steps: object,
    n_units: int,
    window: int | None,
    can_start: object,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int | None, np.ndarray | None]:
    """Validate and normalize the arguments shared by every kernel."""
    u = _as_int_array(unit, "unit", np.int64)
    tt = _as_int_array(t, "t", np.int64)
    c = _as_int_array(code, "code", np.int16)
    st = _as_int_array(steps, "steps", np.int64)
    n = u.size
    if tt.size != n or c.size != n:
        raise ParameterError(
            f"`unit`, `t` and `code` must have the same length, got {n}, {tt.size} and {c.size}."
        )
    if not 1 <= st.size <= _MAX_STEPS:
        raise ParameterError(f"`steps` must have 1 to {_MAX_STEPS} entries, got {st.size}.")
    if st.min() < 0 or st.max() > np.iinfo(np.int16).max:
        raise ParameterError(
            f"`steps` symbols must be in 0..32767, got {st.min() if st.min() < 0 else st.max()}."
        )
    if isinstance(n_units, (bool, np.bool_)) or not isinstance(n_units, (int, np.integer)):
        raise ParameterError(f"`n_units` must be an int, got {n_units!r}.")
    n_units = int(n_units)
    if n_units < 0:
        raise ParameterError(f"`n_units` must be >= 0, got {n_units}.")
    if n:
        if u[0] < 0 or u[-1] >= n_units:
            bad = u[0] if u[0] < 0 else u[-1]
            raise ParameterError(
                f"`unit` codes must lie in 0..n_units-1 (n_units={n_units}), found {bad}."
            )
        step_u = u[1:] < u[:-1]
        if step_u.any():
            i = int(np.argmax(step_u))
            raise ParameterError(
                f"`unit` must be non-decreasing (sorted); position {i + 1} has "
                f"{u[i + 1]} after {u[i]}. Sort by (unit, timestamp) first."
            )
        back = (tt[1:] < tt[:-1]) & (u[1:] == u[:-1])
        if back.any():
            i = int(np.argmax(back))
            raise ParameterError(
                f"`t` must be non-decreasing within each unit; position {i + 1} has "
                f"{tt[i + 1]} after {tt[i]}. Sort by (unit, timestamp) first."
            )
    if window is not None:
        if isinstance(window, (bool, np.bool_)) or not isinstance(window, (int, np.integer)):
            raise ParameterError(
                f"`window` must be an int number of nanoseconds or None, got {window!r}."
            )
        window = int(window)
        if not 0 <= window <= _TMAX:
            raise ParameterError(f"`window` must be between 0 and 2**63-1 ns, got {window}.")
    cs: np.ndarray | None = None
    if can_start is not None:
        cs = np.asarray(can_start)
        if cs.dtype != np.bool_ or cs.shape != (n,):
            raise ParameterError(
                f"`can_start` must be a boolean array of length {n} (one per event), "
                f"got dtype {cs.dtype} and shape {cs.shape}."
            )
        cs = np.ascontiguousarray(cs)
    return u, tt, c, st, n_units, window, cs


def _check_anchor(window_from: str) -> None:
    if window_from not in ("entry", "previous"):
        raise ParameterError(
            f"`window_from`={window_from!r} is not valid; choose 'entry' or 'previous'."
        )


def _check_exclude(exclude: Sequence[Exclusion], steps: np.ndarray) -> list[Exclusion]:
    """Validate exclusion rules ``(symbol, from_step, to_step)``."""
    out: list[Exclusion] = []
    k = steps.size
    step_syms = set(steps.tolist())
    for rule in exclude:
        try:
            x, a, b = (int(v) for v in rule)
        except (TypeError, ValueError):
            raise ParameterError(
                f"each `exclude` rule must be a (symbol, from_step, to_step) triple of ints, "
                f"got {rule!r}."
            ) from None
        if not 0 <= x <= np.iinfo(np.int16).max:
            raise ParameterError(f"`exclude` symbol must be in 0..32767, got {x} in {rule!r}.")
        if x in step_syms:
            raise ParameterError(
                f"`exclude` symbol {x} in {rule!r} is also a funnel step; an excluded event "
                "must not be part of the funnel."
            )
        if not 0 <= a < b < k:
            raise ParameterError(
                f"`exclude` rule {rule!r} needs 0 <= from_step < to_step < {k} "
                "(0-based step indexes)."
            )
        out.append((x, a, b))
    return out


# ---------------------------------------------------------------------------
# small vectorized helpers
# ---------------------------------------------------------------------------


def _sat_add(a: np.ndarray, w: int) -> np.ndarray:
    """``a + w`` for int64 ``a`` and ``0 <= w <= 2**63-1``, saturating at the int64 max."""
    return np.minimum(a, _TMAX - w) + w


def _symbol_mask(code: np.ndarray, symbols: Sequence[int]) -> np.ndarray:
    """Boolean mask of ``code`` in ``symbols`` via a 65536-entry lookup table."""
    lut = np.zeros(1 << 16, dtype=bool)
    lut[np.asarray(list(symbols), dtype=np.int64)] = True
    return lut[code.view(np.uint16)]  # -1 becomes 65535, never a symbol


def _blocks(unit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous unit blocks: their start positions and end positions (exclusive)."""
    n = unit.size
    new = np.empty(n, dtype=bool)
    if n:
        new[0] = True
        np.not_equal(unit[1:], unit[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    ends = np.empty(starts.size, dtype=np.int64)
    ends[:-1] = starts[1:]
    ends[-1:] = n
    return starts, ends


def _run_ends(unit: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Sorted positions ending a run of equal ``(unit, t)``.

    For a position ``p``, ``ends[searchsorted(ends, p)]`` is the last position with the
    same unit and time: every later event is in a later unit or strictly later in time.
    """
    n = unit.size
    brk = np.empty(n, dtype=bool)
    if n:
        brk[-1] = True
        np.not_equal(unit[1:], unit[:-1], out=brk[:-1])
        brk[:-1] |= t[1:] != t[:-1]
    return np.flatnonzero(brk)


def _window_keys(
    t: np.ndarray, window: int, blocks: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray] | None:
    """Pack ``(unit, t)`` into one int64 key per position, plus each position's window limit.

    ``key`` is non-decreasing over the sorted arrays (unit-major) and, for positions
    ``p`` and ``q`` of the same unit, ``t[q] <= t[p] + window`` exactly when
    ``key[q] <= limit[p]``; ``limit[p]`` never exceeds the key of its unit's last event.
    So ``searchsorted(key[subset], limit[p], "right")`` ends the window of ``p`` in any
    sorted subset of positions.

    Keys are the time since the unit's first event, divided by the gcd of all such
    times, plus a per-unit offset. Returns None when they could overflow (the sum of the
    unit spans exceeds 2**62 ticks, e.g. nanosecond times over many long-lived units).
    """
    bstart, bend = blocks
    if bstart.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    lengths = bend - bstart
    tmin = t[bstart]
    span = t[bend - 1] - tmin  # negative only on int64 overflow (units spanning > 292 years)
    if span.min() < 0:
        return None
    rel = np.repeat(tmin, lengths)
    np.subtract(t, rel, out=rel)  # time since the unit's first event
    g = int(np.gcd.reduce(rel)) or 1
    if g > 1:
        span = span // g
    if float(span.sum(dtype=np.float64)) + span.size >= _KEY_LIMIT:
        return None
    if g > 1:
        rel //= g
    # Differences of times are multiples of g: t' - t <= W  <=>  (t' - t) / g <= W // g.
    w = min(window // g, _KEY_LIMIT)
    off = np.cumsum(span + 1) - (span + 1)  # first key of each unit
    key = rel
    key += np.repeat(off, lengths)
    limit = np.minimum(key + w, np.repeat(off + span, lengths))
    return key, limit


def _window_end(
    t: np.ndarray,
    window: int | None,
    blocks: tuple[np.ndarray, np.ndarray],
    query: np.ndarray | None = None,
) -> np.ndarray:
    """Last position ``q`` in the unit of ``p`` with ``t[q] <= t[p] + window``, per query ``p``.

    ``query`` (sorted positions; default: every position) selects the ``p``. With
    ``window=None`` the answer is the unit's last position.

    Fast path: one ``searchsorted`` with sorted queries on the packed keys of
    :func:`_window_keys`. Fallback (keys would overflow): a vectorized binary search
    inside each unit, ``O(log max unit size)`` rounds.
    """
    bstart, bend = blocks
    if window is not None:
        keys = _window_keys(t, window, blocks)
        if keys is not None:
            key, limit = keys
            return np.searchsorted(key, limit if query is None else limit[query], side="right") - 1
    last = np.repeat(bend - 1, bend - bstart)  # the unit's last position
    if query is not None:
        last = last[query]
    if window is None:
        return last
    lo = np.arange(t.size, dtype=np.int64) if query is None else query.astype(np.int64)
    hi = last
    limit = _sat_add(t[lo], window)
    act = np.flatnonzero(lo < hi)
    while act.size:
        lo_a, hi_a = lo[act], hi[act]
        mid = (lo_a + hi_a + 1) >> 1
        fits = t[mid] <= limit[act]
        lo_a = np.where(fits, mid, lo_a)
        hi_a = np.where(fits, hi_a, mid - 1)
        lo[act] = lo_a
        hi[act] = hi_a
        act = act[lo_a < hi_a]
    return lo


def _sparse_max(key: np.ndarray, lo: np.ndarray, last: np.ndarray) -> np.ndarray:
    """``max(key[lo:last+1])`` per query (``lo <= last``) with a sparse table.

    The table is built one level at a time (``O(m)`` memory): level ``k`` holds the max
    of every window of length ``2**k``; a query of length ``L`` combines two overlapping
    windows of level ``floor(log2 L)``. Levels stop at the longest query.
    """
    out = np.empty(lo.size, dtype=np.int64)
    if lo.size == 0:
        return out
    lev = np.frexp((last - lo + 1).astype(np.float64))[1] - 1  # floor(log2(length)), exact
    max_lev = int(lev.max())
    table = key
    for k in range(max_lev + 1):
        sel = np.flatnonzero(lev == k)
        if sel.size:
            out[sel] = np.maximum(table[lo[sel]], table[last[sel] + 1 - (1 << k)])
        if k < max_lev:
            half = 1 << k
            table = np.maximum(table[:-half], table[half:])
    return out


def _range_argmax(vals: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Leftmost position of the maximum of ``vals[lo:hi]`` for each query (``lo < hi``).

    ``vals`` are small non-negative ints (depths). Each entry is packed as
    ``vals[i] * m + (m - 1 - i)``, so the largest key in a range is the leftmost maximum.
    """
    m = vals.size
    key = vals.astype(np.int64) * m
    key += np.arange(m - 1, -1, -1, dtype=np.int64)
    best = _sparse_max(key, lo, hi - 1)
    return m - 1 - best % m


# ---------------------------------------------------------------------------
# the attempt walker (shared by ordered and strict)
# ---------------------------------------------------------------------------

# successor(j, state, pos, deadline0) -> (state, pos, ok): given the alive attempts'
# step-(j-1) state/position (and their entry deadline t(e1)+window, or None), return
# the step-j state/position and whether the step is reached.
Successor = Callable[
    [int, np.ndarray, np.ndarray, "np.ndarray | None"], tuple[np.ndarray, np.ndarray, np.ndarray]
]


class _Exclusions(NamedTuple):
    rules: list[Exclusion]
    x_pos: list[np.ndarray]  # positions (in the working arrays) of each rule's symbol
    run_ends: np.ndarray  # see _run_ends


def _make_exclusions(
    rules: list[Exclusion], unit: np.ndarray, t: np.ndarray, code: np.ndarray
) -> _Exclusions | None:
    if not rules:
        return None
    x_pos = [np.flatnonzero(code == x) for x, _, _ in rules]
    return _Exclusions(rules, x_pos, _run_ends(unit, t))


def _first_after(
    ex: _Exclusions, x: np.ndarray, pos: np.ndarray, unit: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each position: is there an ``x`` event in the same unit strictly later in time, and its time."""
    if x.size == 0:
        return np.zeros(pos.size, dtype=bool), np.zeros(pos.size, dtype=np.int64)
    last_same = ex.run_ends[np.searchsorted(ex.run_ends, pos)]  # last event at t[pos]
    i = np.searchsorted(x, last_same, side="right")
    has = i < x.size
    cand = x[np.minimum(i, x.size - 1)]
    has &= unit[cand] == unit[pos]
    return has, t[cand]


def _walk(
    state: np.ndarray,
    pos: np.ndarray,
    k: int,
    successor: Successor,
    unit: np.ndarray,
    t: np.ndarray,
    *,
    window: int | None,
    window_from: Anchor,
    excl: _Exclusions | None = None,
    record: bool = False,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Follow every attempt step by step (one vectorized pass per step).

    ``state``/``pos`` describe each attempt's start. Returns the depth of each attempt
    (int16), whether exclusions taint it (None without exclusions) and, with
    ``record=True``, the ``(n_attempts, K)`` positions of its steps (-1 padded).
    """
    ns = pos.size
    depth = np.ones(ns, dtype=np.int16)
    alive = np.arange(ns)  # attempts that reached the current step
    t0 = t[pos]
    deadline0 = None if window is None else _sat_add(t0, window)
    rec = None
    if record:
        rec = np.full((ns, k), -1, dtype=np.int64)
        rec[:, 0] = pos
    rules = [] if excl is None else excl.rules
    tainted = np.zeros(ns, dtype=bool)
    last_t = t0.copy() if rules else t0  # time of the deepest step reached
    # Per rule: is there an x event strictly after the step-a event (same unit), and when.
    x_has = [np.zeros(ns, dtype=bool) for _ in rules]
    x_time = [np.zeros(ns, dtype=np.int64) for _ in rules]
    for j in range(k):
        if j:
            d0 = None if deadline0 is None else deadline0[alive]
            state, pos, ok = successor(j, state, pos, d0)
            alive, state, pos = alive[ok], state[ok], pos[ok]
            if alive.size == 0:
                break
            depth[alive] = j + 1
            if rec is not None:
                rec[alive, j] = pos
            if rules:
                last_t[alive] = t[pos]
        for e, (_, a, b) in enumerate(rules):
            assert excl is not None
            if j == a:
                x_has[e][alive], x_time[e][alive] = _first_after(excl, excl.x_pos[e], pos, unit, t)
            elif j == b:  # reached both steps: is the x event strictly before step b?
                tainted[alive] |= x_has[e][alive] & (x_time[e][alive] < t[pos])
    for e, (_, a, b) in enumerate(rules):
        # Reached step a but not step b: the x event must come by the attempt's deadline.
        pending = x_has[e] & (depth > a) & (depth <= b)
        if window is not None:
            end = deadline0 if window_from == "entry" else _sat_add(last_t, window)
            pending &= x_time[e] <= end
        tainted |= pending
    return depth, (tainted if rules else None), rec


# ---------------------------------------------------------------------------
# per-unit reduction and output assembly
# ---------------------------------------------------------------------------


def _per_unit(
    su: np.ndarray, depth: np.ndarray, tainted: np.ndarray | None, n_units: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Level, excluded flag, attempt count and reported attempt (index) per unit.

    ``su`` (units of the attempts) is sorted; the reported attempt of a unit is its first
    clean attempt at the unit's level.
    """
    d = depth if tainted is None else np.where(tainted, 0, depth).astype(np.int16)
    level = np.zeros(n_units, dtype=np.int16)
    n_att = np.bincount(su, minlength=n_units).astype(np.int64)
    if su.size:
        seg = np.flatnonzero(np.concatenate(([True], su[1:] != su[:-1])))
        level[su[seg]] = np.maximum.reduceat(d, seg)
    excluded = (n_att > 0) & (level == 0)
    cand = np.flatnonzero((d > 0) & (d == level[su]))
    cu = su[cand]
    first = cand[np.concatenate(([True], cu[1:] != cu[:-1]))] if cand.size else cand
    return level, excluded, n_att, first


def _assemble(
    level: np.ndarray,
    excluded: np.ndarray,
    n_att: np.ndarray,
    units: np.ndarray,
    rec: np.ndarray,
    t: np.ndarray,
    orig: np.ndarray | None,
    k: int,
) -> KernelResult:
    """Scatter the reported attempts' working positions ``rec`` into the outputs."""
    n_units = level.size
    step_pos = np.full((n_units, k), -1, dtype=np.int64)
    step_time = np.full((n_units, k), NAT, dtype=np.int64)
    if units.size:
        ok = rec >= 0
        safe = np.where(ok, rec, 0)
        step_time[units] = np.where(ok, t[safe], NAT)
        step_pos[units] = np.where(ok, safe if orig is None else orig[safe], -1)
    return KernelResult(level, step_time, step_pos, excluded, n_att)


def _empty_result(n_units: int, k: int) -> KernelResult:
    return KernelResult(
        np.zeros(n_units, dtype=np.int16),
        np.full((n_units, k), NAT, dtype=np.int64),
        np.full((n_units, k), -1, dtype=np.int64),
        np.zeros(n_units, dtype=bool),
        np.zeros(n_units, dtype=np.int64),
    )


# ---------------------------------------------------------------------------
# public kernels
# ---------------------------------------------------------------------------


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
        ``-1`` for events outside the funnel).
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

    Returns
    -------
    KernelResult

    Raises
    ------
    funnelkit.errors.ParameterError
        (a ``ValueError``) for inconsistent arrays or parameters.

    Notes
    -----
    Entry anchoring: each start's attempt is its greedy chain (the next event of each
    step, found with ``searchsorted`` on that step's positions); it is the earliest
    chain of maximal depth from that start. Previous anchoring: a backward pass gives,
    for each event usable as step ``j``, the deepest level reachable from it and the
    leftmost successor achieving it (sparse-table range argmax over the successor
    candidates, i.e. later step-``j+1`` events within ``window``); attempts follow
    these pointers.

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
    """
    u, tt, c, st, n_units, window, cs = _check_common(unit, t, code, steps, n_units, window, can_start)
    _check_anchor(window_from)
    rules = _check_exclude(exclude, st)
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

    if window_from == "entry" or window is None:
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


def strict_funnel(
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
) -> KernelResult:
    """Strict funnel: as :func:`ordered_funnel`, but consecutive steps must be adjacent.

    Step ``i+1`` must be the very next event of the unit after step ``i`` in the sorted
    arrays; any event in between (including ``code == -1`` events) breaks the chain.
    Parameters and result as in :func:`ordered_funnel`.

    Notes
    -----
    A start determines its chain, so each attempt is followed by checking positions
    ``s+1, s+2, ...`` (one vectorized pass per step).

    Examples
    --------
    >>> import numpy as np
    >>> unit = np.array([0, 0, 0, 1, 1])
    >>> t = np.array([0, 1, 2, 0, 1])
    >>> code = np.array([0, -1, 1, 0, 1], dtype=np.int16)
    >>> strict_funnel(unit, t, code, [0, 1], n_units=2, window=None).level.tolist()
    [1, 2]
    """
    u, tt, c, st, n_units, window, cs = _check_common(unit, t, code, steps, n_units, window, can_start)
    _check_anchor(window_from)
    rules = _check_exclude(exclude, st)
    k = st.size
    n = u.size
    if n == 0:
        return _empty_result(n_units, k)
    # Every event matters (it can break adjacency): work on the full arrays.
    first_step = c == st[0]
    if cs is not None:
        first_step &= cs
    starts = np.flatnonzero(first_step)
    excl = _make_exclusions(rules, u, tt, c)
    step_syms = st.astype(np.int16)

    def successor(
        j: int, state: np.ndarray, pos: np.ndarray, d0: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        nxt = pos + 1
        ok = nxt < n
        nxt = np.minimum(nxt, n - 1)
        ok &= (u[nxt] == u[pos]) & (c[nxt] == step_syms[j])
        if window is not None:
            limit = d0 if window_from == "entry" else _sat_add(tt[pos], window)
            ok &= tt[nxt] <= limit
        return nxt, nxt, ok

    su = u[starts]
    depth, tainted, _ = _walk(
        starts, starts, k, successor, u, tt, window=window, window_from=window_from, excl=excl
    )
    level, excluded, n_att, first = _per_unit(su, depth, tainted, n_units)
    _, _, rec = _walk(
        starts[first], starts[first], k, successor, u, tt,
        window=window, window_from=window_from, record=True,
    )
    assert rec is not None
    return _assemble(level, excluded, n_att, su[first], rec, tt, None, k)


def any_order_funnel(
    unit: np.ndarray,
    t: np.ndarray,
    code: np.ndarray,
    steps: np.ndarray | Sequence[int],
    *,
    n_units: int,
    window: int | None,
    can_start: np.ndarray | None = None,
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
        As in :func:`ordered_funnel`.

    Returns
    -------
    KernelResult
        ``n_attempts`` counts the window starts considered.

    Notes
    -----
    For each symbol, the count of its events inside each window is a difference of
    its cumulative counts at the window's first and last positions; the window end
    comes from :func:`_window_end`.

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
    k = st.size
    if u.size == 0:
        return _empty_result(n_units, k)
    syms, mult = np.unique(st, return_counts=True)
    orig = np.flatnonzero(_symbol_mask(c, syms.tolist()))
    wu, wt, wc = u[orig], tt[orig], c[orig]
    starts = np.arange(orig.size) if cs is None else np.flatnonzero(cs[orig])
    su = wu[starts]
    # last working position in each window
    ends = _window_end(wt, window, _blocks(wu), None if cs is None else starts)
    nw = orig.size
    cdt = np.int32 if nw < 2**31 else np.int64
    after_end = ends + 1
    cum = np.zeros(nw + 1, dtype=cdt)  # cum[p]: events of the symbol before position p
    fill = np.zeros(starts.size, dtype=cdt)
    for sym, m in zip(syms.tolist(), mult.tolist()):
        np.cumsum(wc == sym, out=cum[1:])
        cnt = cum[after_end]
        cnt -= cum[:-1] if cs is None else cum[starts]  # events of sym inside each window
        fill += np.minimum(cnt, m, out=cnt)  # a symbol fills at most its m steps
    fill = fill.astype(np.int16)
    level, excluded, n_att, first = _per_unit(su, fill, None, n_units)

    # Reported windows: take the first m events of each symbol, then sort by position.
    rs, re = starts[first], ends[first]
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
    rec = np.where(taken == big, -1, taken)
    return _assemble(level, excluded, n_att, su[first], rec, wt, orig, k)
