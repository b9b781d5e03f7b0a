"""Strict funnel kernel (PostHog's strict funnel): between consecutive steps, only repeats
of the earlier step."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._common import (
    Anchor,
    Exclusion,
    KernelResult,
    _assemble,
    _check_anchor,
    _check_common,
    _check_exclude,
    _empty_result,
    _sat_add,
)
from ._walk import _make_exclusions, _per_unit, _walk

__all__ = ["strict_funnel"]


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
    """Strict funnel (PostHog's): between steps ``i`` and ``i+1``, only repeats of step ``i``.

    Every event of the unit strictly between the step-``i`` event and the step-``i+1``
    event (in the sorted arrays) must carry step ``i``'s symbol; any other event
    (including ``code == -1`` events) breaks the chain. So ``a a b b c`` reaches step 3
    of ``[a, b, c]``, ``a x b`` reaches 1. A chain takes the first event of each run of
    repeats (every step-1 event still starts an attempt of its own). Parameters and
    result as in :func:`~funnelkit.engine.kernels.ordered_funnel` (without its
    ``event``: strict funnels take one row per event). ClickHouse's ``strict_order``
    is a different rule (:func:`~funnelkit.engine.kernels.clickhouse_funnel`).

    Notes
    -----
    A start determines its chain: the next step is the first event after the run of
    repeats of the current one (or the very next event when both steps have the same
    symbol), one vectorized pass per step.

    Examples
    --------
    >>> import numpy as np
    >>> unit = np.array([0, 0, 0, 1, 1, 1, 1])
    >>> t = np.array([0, 1, 2, 0, 1, 2, 3])
    >>> code = np.array([0, -1, 1, 0, 0, 1, 1], dtype=np.int16)
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
    # first position of each run of equal (unit, symbol), and the end of the runs
    brk = np.flatnonzero((u[1:] != u[:-1]) | (c[1:] != c[:-1])) + 1
    run_next = np.append(brk, n)  # run_next[searchsorted(brk, p, "right")]: first position after p's run

    def successor(
        j: int, state: np.ndarray, pos: np.ndarray, d0: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if step_syms[j] == step_syms[j - 1]:
            nxt = pos + 1  # a repeat is the next step itself
        else:
            nxt = run_next[np.searchsorted(brk, pos, side="right")]  # past the repeats of step j-1
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
