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
    ``event`` (:func:`ordered_funnel` only, optional)
        overlapping steps (an event matching several step rules, e.g. step 1
        ``pageview`` and step 3 ``pageview where url=/checkout``): the rows are then
        *role rows*, an event appears once per step symbol it matches, each copy with
        that symbol in ``code``, sorted by ``(unit, t, position of the step the copy
        plays, tie)``; ``event[i]`` (integers) is equal for the copies of one event.
        ``None`` (the default): every row is its own event.

Output: a :class:`KernelResult` per unit, see its docstring.

Semantics (DESIGN.md §4, condensed)
    * ordered: step ``k`` is reached by a chain of distinct events ``e1 < ... < ek``
      (positions) with the step symbols and ``t(ek) - t(e1) <= window``
      (``window_from="entry"``) or every gap ``t(ei) - t(ei-1) <= window``
      (``"previous"``). Each step-1 event allowed by ``can_start`` starts an attempt;
      the attempt of a start is the lexicographically earliest of its deepest chains.
      With ``event`` the chain is one of role rows (positions strictly increasing)
      and one event fills at most one step of it; this needs ``window_from="entry"``
      (or no window), and the greedy walk can miss a deeper chain (or report a later
      one) when events at one timestamp compete crosswise for several steps (see
      :func:`ordered_funnel`).
    * strict (PostHog's strict funnel): as ordered, but every event of the unit between
      ``e(i)`` and ``e(i+1)`` is a repeat of step ``i`` (``a a b b c`` reaches 3).
    * clickhouse: ClickHouse ``windowFunnel`` with any combination of its modes
      (:func:`clickhouse_funnel`).
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
    levels, the binary-search fallback of ``_window_end``; with ``event``, at most
    ``j`` skip rounds at step ``j`` over the conflicted attempts). All searches use
    ``np.searchsorted`` with *sorted* queries (cache friendly), and memory is
    ``O(n)`` temporaries plus the ``(n_units, K)`` outputs (with ``event``, also an
    ``(attempts, K)`` int64 matrix of step positions).

Modules: ``_common`` (result type, validation, helpers, output assembly), ``_walk``
(attempt walker, exclusions, per-unit reduction), ``ordered``, ``strict``,
``any_order``, ``clickhouse``.
"""

from __future__ import annotations

from ._common import NAT, KernelResult
from .any_order import any_order_funnel
from .clickhouse import clickhouse_funnel
from .ordered import ordered_funnel
from .strict import strict_funnel

__all__ = ["NAT", "KernelResult", "ordered_funnel", "strict_funnel", "any_order_funnel", "clickhouse_funnel"]
