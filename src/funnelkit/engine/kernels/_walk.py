"""The attempt walker shared by the ordered and strict kernels, exclusions, per-unit reduction.

:func:`_walk` follows every attempt one step at a time (one vectorized pass per step);
a kernel supplies the ``successor`` of an attempt's current step. Exclusion rules taint
attempts as they go. :func:`_per_unit` reduces the attempts to per-unit levels and picks
each unit's reported attempt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ._common import Anchor, Exclusion, _run_ends, _sat_add

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
    """Exclusion rules with what :func:`_first_after` needs to apply them."""

    rules: list[Exclusion]
    x_pos: list[np.ndarray]  # positions (in the working arrays) of each rule's symbol
    run_ends: np.ndarray  # see _run_ends


def _make_exclusions(
    rules: list[Exclusion], unit: np.ndarray, t: np.ndarray, code: np.ndarray
) -> _Exclusions | None:
    """Positions of each rule's symbol in the working arrays (None without rules)."""
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
# per-unit reduction
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
