"""Slow, obviously-correct reference funnels written straight from DESIGN.md §4.

Used by the property tests (``from _reference import ...`` with ``tests/`` on
``sys.path``, which pytest's default rootdir import mode provides). Everything works
per unit on plain Python lists and enumerates chains exhaustively, so keep the inputs
small (a handful of events per unit, a few steps).

The functions take the same arguments as the kernels in ``funnelkit.engine.kernels`` and
return the same :class:`~funnelkit.engine.kernels.KernelResult`. ``ref_ordered(...,
event=...)`` is the reference for overlapping steps (role rows, one event per step of a
chain), see :func:`ref_chains`.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np

from funnelkit.engine.kernels import NAT, KernelResult

__all__ = ["ref_ordered", "ref_strict", "ref_any_order", "ref_chains"]

Chain = tuple[int, ...]  # global positions of the chain's events, one per step


def _units(unit: Sequence[int], n_units: int) -> list[list[int]]:
    """Global positions of each unit's events, in sort order."""
    out: list[list[int]] = [[] for _ in range(n_units)]
    for p, u in enumerate(unit):
        out[int(u)].append(p)
    return out


def ref_chains(
    ev: list[int],
    t: list[int],
    code: list[int],
    steps: list[int],
    *,
    window: int | None,
    window_from: str,
    strict: bool,
    can_start: list[bool],
    event: list[int] | None = None,
) -> list[Chain]:
    """Every valid chain (of any length 1..K) of one unit whose events are ``ev``.

    A chain is a tuple of increasing positions (distinct events, in sort order) with
    ``code[e_i] == steps[i]``, a first event allowed by ``can_start``, the window rule
    (``entry``: last minus first <= window; ``previous``: every gap <= window) and, when
    ``strict``, adjacent positions within the unit.

    With ``event`` the positions are role rows (one row per step symbol an event
    matches, sharing the event's unit and time) and the chain's rows must belong to
    distinct events: ``(t[p], event[p])`` identifies an event within the unit (the
    kernel's contract only asks ids to differ between events of one unit and time).
    """
    chains: list[Chain] = []
    # Only events carrying a step symbol can be in a chain (a pure speed-up: the loop
    # below checks every rule on the unit's own indexes).
    usable = [i for i, p in enumerate(ev) if code[p] in steps]
    for k in range(1, len(steps) + 1):
        for idx in combinations(usable, k):
            ch = tuple(ev[i] for i in idx)
            if any(code[p] != steps[i] for i, p in enumerate(ch)):
                continue
            if not can_start[ch[0]]:
                continue
            if event is not None and len({(t[p], event[p]) for p in ch}) < k:
                continue  # one event fills at most one step
            if strict and any(idx[i + 1] != idx[i] + 1 for i in range(k - 1)):
                continue
            if window is not None:
                if window_from == "entry":
                    if t[ch[-1]] - t[ch[0]] > window:
                        continue
                elif any(t[ch[i + 1]] - t[ch[i]] > window for i in range(k - 1)):
                    continue
            chains.append(ch)
    return chains


def _key(ch: Chain, t: list[int]) -> tuple[tuple[int, ...], Chain]:
    """Order of chains: by (t(e1), t(e2), ...), ties by positions."""
    return tuple(t[p] for p in ch), ch


def _tainted(
    ch: Chain,
    ev: list[int],
    t: list[int],
    code: list[int],
    exclude: Sequence[tuple[int, int, int]],
    window: int | None,
    window_from: str,
) -> bool:
    """Whether an exclusion taints the attempt ``ch`` (its full, deepest chain)."""
    d = len(ch)
    for x, a, b in exclude:
        if d <= a:  # never reached step a
            continue
        ta = t[ch[a]]
        xs = [t[q] for q in ev if code[q] == x]
        if d > b:
            if any(ta < tx < t[ch[b]] for tx in xs):
                return True
        else:
            if window is None:
                deadline = None
            elif window_from == "entry":
                deadline = t[ch[0]] + window
            else:
                deadline = t[ch[-1]] + window
            if any(tx > ta and (deadline is None or tx <= deadline) for tx in xs):
                return True
    return False


def _ordered_or_strict(
    unit: np.ndarray,
    t: np.ndarray,
    code: np.ndarray,
    steps: Sequence[int],
    *,
    n_units: int,
    window: int | None,
    window_from: str,
    exclude: Sequence[tuple[int, int, int]],
    can_start: np.ndarray | None,
    strict: bool,
    event: np.ndarray | None = None,
) -> KernelResult:
    tl, cl, sl = [int(v) for v in t], [int(v) for v in code], [int(v) for v in steps]
    el = None if event is None else [int(v) for v in event]
    k = len(sl)
    cs = [True] * len(tl) if can_start is None else [bool(v) for v in can_start]
    level = np.zeros(n_units, dtype=np.int16)
    step_time = np.full((n_units, k), NAT, dtype=np.int64)
    step_pos = np.full((n_units, k), -1, dtype=np.int64)
    excluded = np.zeros(n_units, dtype=bool)
    n_attempts = np.zeros(n_units, dtype=np.int64)
    for u, ev in enumerate(_units(unit, n_units)):
        chains = ref_chains(ev, tl, cl, sl, window=window, window_from=window_from,
                            strict=strict, can_start=cs, event=el)
        starts = [p for p in ev if cl[p] == sl[0] and cs[p]]
        n_attempts[u] = len(starts)
        # The attempt of each start: the earliest of its deepest chains.
        attempts: list[Chain] = []
        for s in starts:
            mine = [ch for ch in chains if ch[0] == s]
            deepest = max(len(ch) for ch in mine)  # (s,) itself is a chain
            attempts.append(min((ch for ch in mine if len(ch) == deepest),
                                key=lambda ch: _key(ch, tl)))
        clean = [a for a in attempts
                 if not _tainted(a, ev, tl, cl, exclude, window, window_from)]
        if not clean:
            excluded[u] = bool(attempts)
            continue
        lev = max(len(a) for a in clean)
        if exclude:
            # The earliest clean attempt at the level.
            best = min((a for a in clean if len(a) == lev), key=lambda ch: _key(ch, tl))
        else:
            # Literally DESIGN §4: the earliest of all chains reaching the level.
            best = min((ch for ch in chains if len(ch) == lev), key=lambda ch: _key(ch, tl))
        level[u] = lev
        for i, p in enumerate(best):
            step_pos[u, i] = p
            step_time[u, i] = tl[p]
    return KernelResult(level, step_time, step_pos, excluded, n_attempts)


def ref_ordered(
    unit: np.ndarray,
    t: np.ndarray,
    code: np.ndarray,
    steps: Sequence[int],
    *,
    n_units: int,
    window: int | None,
    window_from: str = "entry",
    exclude: Sequence[tuple[int, int, int]] = (),
    can_start: np.ndarray | None = None,
    event: np.ndarray | None = None,
) -> KernelResult:
    """Reference for :func:`funnelkit.engine.kernels.ordered_funnel`.

    With ``event`` (role rows): every chain of role rows with strictly increasing
    positions (``t`` non-decreasing, ties in sort order), distinct events, ``e_i``
    matching step ``i`` and the window; an exhaustive search, so unlike the kernel's
    greedy it never misses a deeper assignment of the events at one timestamp.
    """
    return _ordered_or_strict(unit, t, code, steps, n_units=n_units, window=window,
                              window_from=window_from, exclude=exclude,
                              can_start=can_start, strict=False, event=event)


def ref_strict(
    unit: np.ndarray,
    t: np.ndarray,
    code: np.ndarray,
    steps: Sequence[int],
    *,
    n_units: int,
    window: int | None,
    window_from: str = "entry",
    exclude: Sequence[tuple[int, int, int]] = (),
    can_start: np.ndarray | None = None,
) -> KernelResult:
    """Reference for :func:`funnelkit.engine.kernels.strict_funnel`."""
    return _ordered_or_strict(unit, t, code, steps, n_units=n_units, window=window,
                              window_from=window_from, exclude=exclude,
                              can_start=can_start, strict=True)


def ref_any_order(
    unit: np.ndarray,
    t: np.ndarray,
    code: np.ndarray,
    steps: Sequence[int],
    *,
    n_units: int,
    window: int | None,
    can_start: np.ndarray | None = None,
) -> KernelResult:
    """Reference for :func:`funnelkit.engine.kernels.any_order_funnel`.

    For every allowed funnel event ``s`` of a unit, the window holds the unit's events
    at or after ``s`` with ``t - t(s) <= window``; a symbol needed ``m`` times is filled
    by its first ``m`` events there. Level = best fill; reported = first best start.
    """
    tl, cl, sl = [int(v) for v in t], [int(v) for v in code], [int(v) for v in steps]
    k = len(sl)
    need = {s: sl.count(s) for s in set(sl)}
    cs = [True] * len(tl) if can_start is None else [bool(v) for v in can_start]
    level = np.zeros(n_units, dtype=np.int16)
    step_time = np.full((n_units, k), NAT, dtype=np.int64)
    step_pos = np.full((n_units, k), -1, dtype=np.int64)
    n_attempts = np.zeros(n_units, dtype=np.int64)
    for u, ev in enumerate(_units(unit, n_units)):
        best: list[int] = []
        for i, s in enumerate(ev):
            if cl[s] not in need or not cs[s]:
                continue
            n_attempts[u] += 1
            inside = [q for q in ev[i:] if window is None or tl[q] - tl[s] <= window]
            taken = []
            for sym, m in need.items():
                taken += [q for q in inside if cl[q] == sym][:m]
            if len(taken) > len(best):
                best = sorted(taken)
        level[u] = len(best)
        for j, p in enumerate(best):
            step_pos[u, j] = p
            step_time[u, j] = tl[p]
    return KernelResult(level, step_time, step_pos, np.zeros(n_units, dtype=bool), n_attempts)
