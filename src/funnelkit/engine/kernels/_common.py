"""Shared pieces of the funnel kernels: the result type, validation, small helpers.

Everything here is private to :mod:`funnelkit.engine.kernels` (numpy only): the
:class:`KernelResult` and :data:`NAT` the package exports, the argument checks every
kernel runs, the vectorized helpers (saturating add, symbol masks, unit blocks, window
ends, sparse-table range maxima) and the scatter of the reported attempts into a
:class:`KernelResult`. The attempt walker lives in :mod:`._walk`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np

from ...errors import ParameterError

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
    """``x`` as a contiguous 1-D ``dtype`` array; ParameterError unless it holds integers in range."""
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


def _check_event(event: object, n: int) -> np.ndarray:
    """Validate the ``event`` ids of the role rows: 1-D integers, one per row, as int64."""
    ev = _as_int_array(event, "event", np.int64)
    if ev.size != n:
        raise ParameterError(
            f"`event` must have one id per row (length {n}, like `unit`), got {ev.size}."
        )
    return ev


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
    return last_leq(t, lo, last, _sat_add(t[lo], window))


def last_leq(t: np.ndarray, lo: np.ndarray, hi: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Per query, the last row in ``[lo, hi]`` with ``t <= limit`` (``t[lo] <= limit``; ``t``
    sorted within each range): a vectorized binary search, O(log range) rounds. ``lo`` is
    overwritten (pass a copy)."""
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
# output assembly
# ---------------------------------------------------------------------------


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
    """The result for an input without rows: every unit at level 0, nothing reached."""
    return KernelResult(
        np.zeros(n_units, dtype=np.int16),
        np.full((n_units, k), NAT, dtype=np.int64),
        np.full((n_units, k), -1, dtype=np.int64),
        np.zeros(n_units, dtype=bool),
        np.zeros(n_units, dtype=np.int64),
    )
