"""The stage-assignment bucket function: the journey stage of every event (private).

Behind :meth:`funnelkit.Journey.assign_stages`. Here stages must *partition* the
events: an event matched by the plain rules of two stages, or picked by two
``repeat()``/``after()`` rules, raises :class:`~funnelkit.errors.OverlappingRulesError`
(``repeat()``/``after()`` take precedence over plain rules). Funnels, whose steps may
overlap, use :mod:`.bucket_funnel` instead.

The rows that match a rule are kept with their input position, split by unit range,
sorted per bucket as for a funnel, and the stage of each row is scattered back to
input order.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from ..errors import OverlappingRulesError
from ._parallel import n_threads
from .bucket_funnel import stage_bits
from .buckets import THREADS_MIN_ROWS, Buckets, layout, order, run_ordered
from .drive import fill
from .plan import Plan, rule_bits
from .run import where_columns
from .sources import frame_source

__all__ = ["assign_stages"]


def _popcount(x: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x)
    out = np.zeros(len(x), dtype=np.uint8)  # pragma: no cover - numpy < 2
    y = x.copy()
    while y.any():
        out += (y & 1).astype(np.uint8)
        y >>= 1
    return out


def assign_stages(frame: pd.DataFrame, journey: Any, *, unit_col: str) -> np.ndarray:
    """Stage index of every row of the normalized ``frame`` (int16, -1: no stage)."""
    from ..journey.steps import resolve_steps

    spec = resolve_steps(journey)
    src = frame_source(frame, unit_col=unit_col, props=where_columns(journey))
    journey.check_events(src.categories or [])
    rb = rule_bits(journey, spec.steps, (), ())
    n_ids = src.hi - src.lo + 1
    threads = n_threads() if src.n_rows >= THREADS_MIN_ROWS else 1
    shift, n_buckets = layout(n_ids, src.n_rows, threads)
    plan = Plan(bits=rb, keep_all=False, lo=src.lo, shift=shift, n_buckets=n_buckets,
                present=np.zeros(n_ids, dtype=bool), carry_rows=True, k_steps=len(spec.steps))
    stages = journey._all_stages()
    after = tuple(journey._after_order())
    stage_of = {s.name: i for i, s in enumerate(stages)}
    out = np.full(len(frame), -1, dtype=np.int16)
    pool = ThreadPoolExecutor(threads) if threads > 1 else None
    buckets = Buckets(n_buckets, plan.part_dtypes())
    try:
        fill(src, plan, buckets, pool, threads, False)
        width = 1 << shift
        cats = list(src.categories or [])

        def work(j: int) -> None:
            cols = buckets.take(j)
            if cols is None:
                return
            off, t, bits, pos, rows = cols
            u = off.astype(np.int64)  # bucket-local: the order of the units
            perm = order(u, t, pos, [bits, rows], n_units=width, n_pos=len(spec.steps) + 1)
            if perm is not None:
                u, t, bits, rows = u[perm], t[perm], bits[perm], rows[perm]
            plain = bits & bits.dtype.type(rb.stage_mask)
            if (_popcount(plain) > 1).any():
                raise OverlappingRulesError(journey._overlap_message(cats))
            cur, hits = stage_bits(bits, u, rb, after, stage_of)
            if hits is not None and (hits > 1).any():
                ev = frame["event"].to_numpy()[rows[hits > 1]]
                raise OverlappingRulesError(
                    f"Event(s) {sorted({str(e) for e in ev})} are selected by more than one "
                    "repeat()/after() rule. Make the rules disjoint (e.g. different events or a "
                    "where= condition)."
                )
            code = np.full(len(cur), -1, dtype=np.int16)
            dt = cur.dtype.type
            for si in range(rb.n_stages):
                code[(cur & dt(1 << si)) != 0] = si
            out[rows] = code

        run_ordered(pool, work, n_buckets, threads)
    finally:
        if pool is not None:
            pool.shutdown()
    return out
