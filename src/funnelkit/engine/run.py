"""The engine's driver: source -> plan -> buckets -> bucket function -> partial result (private).

:func:`run_funnel` is the one implementation behind every funnel computation
(``fk.funnel``, ``fk.experiment``, ``fk.time_between``, trends; in memory, out of
core and, partition by partition, on Dask):

1. the source yields blocks of the needed columns, read on all cores;
2. the plan evaluates the rules per block, keeps the rows that matter, folds the
   per-unit attributes and splits the kept rows by unit range into buckets (spilled
   to a temporary directory beyond ``memory_budget``);
3. each bucket is sorted and run through the funnel bucket function, on all cores,
   writing its units' slice of the per-unit outputs;
4. the result is a :class:`FunnelPartial`: per-unit arrays plus counters, mergeable
   with :func:`merge` (Dask partitions hold disjoint units).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._progress import _Bar, _progress_enabled
from ._parallel import n_threads, ordered_map
from .bucket_funnel import FunnelKernel, code_lut, run_bucket
from .buckets import THREADS_MIN_ROWS, Buckets, layout, run_ordered, temp_dir
from .kernels import NAT
from .plan import Plan, rule_bits
from .sources import Source, open_source

__all__ = ["FunnelRequest", "FunnelPartial", "run_funnel", "merge", "where_columns", "scan"]


@dataclass(frozen=True)
class FunnelRequest:
    """Everything a funnel computation needs besides the data (checked by the caller)."""

    spec: Any  # StepSpec
    mode: str = "ordered"
    window: int | None = None  # ns
    window_from: str = "entry"
    exclude: Sequence[Any] | None = None
    unit_col: str = "user_id"
    attr_col: Any = None
    attr_mode: str | None = None  # "range", "first_touch", "last_touch", "step", "steps"
    step_attr: int | None = None  # with attr_mode="step": the 0-based step
    # attr_mode="steps": the attribute on every step event of the reported attempt, (n_units, K)
    start_ns: int | None = None
    end_ns: int | None = None
    check_events: bool = True
    on_unknown: str = "warn"  # a name no event matches: "warn" (counts zero) or "raise"
    reuse_events: bool = False  # ClickHouse modes, see FunnelKernel
    increasing_times: bool = False
    stop_at_repeat: bool = False
    out_of_order: str = "stop"
    needed: tuple[Any, ...] = ()  # property columns the io layer must keep
    memory_budget: int | None = None
    tmp_dir: Any = None
    progress: bool = False
    attr_purpose: str = "this funnel"  # completes "needed for ..." in a missing-column message


@dataclass
class FunnelPartial:
    """Per-unit results of one computation over some units (mergeable)."""

    unit_ids: pd.Index
    level: np.ndarray  # int64
    step_time: np.ndarray  # int64 (n_units, K), NAT where not reached
    excluded: np.ndarray  # bool
    n_attempts: np.ndarray  # int64
    attr: np.ndarray | None = None  # int64 code per unit (-1 none); the min code for a range
    attr_max: np.ndarray | None = None  # the max code per unit, for a range
    attr_values: list[Any] = field(default_factory=list)
    n_rows: int = 0
    rows_in_funnel: int = 0
    data_end: int = int(NAT)
    dropped: dict[str, int] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    spilled: bool = False
    exclude: list[tuple[int, int, int]] = field(default_factory=list)


def where_columns(journey: Any, exclude_rules: Sequence[Any] = ()) -> list[Any]:
    """Property columns the journey's ``where=`` conditions (and the exclusions') read."""
    from ..journey.rules import AfterRule, RepeatRule

    cols: list[Any] = []
    rules = [r for st in journey._all_stages() for r in st.rules] + list(exclude_rules)
    for r in rules:
        base = r.rule if isinstance(r, (RepeatRule, AfterRule)) else r
        for c, _ in base.where:
            if c not in cols:
                cols.append(c)
    return cols


def scan(src: Source, plan: Plan, buckets: Buckets, pool: ThreadPoolExecutor | None, threads: int,
         progress: bool) -> tuple[set[str], int, int]:
    """Read every block, evaluate it and fill the buckets (input order kept per bucket)."""
    used: set[str] = set()
    kept = 0
    t_max = int(NAT)
    bar = _Bar(src.n_items, "funnelkit 1/2: reading", "blocks", progress)
    try:
        def work(i: int) -> list[Any]:
            return [plan.split(blk) for blk in src.read(i)]

        for res in ordered_map(pool, work, src.n_items, 2 * threads):  # block order: input order
            for parts, u, k, tm in res:
                buckets.add(parts)
                used |= u
                kept += k
                t_max = max(t_max, tm)
            bar.update(1)
    finally:
        bar.close()
    return used, kept, t_max


def run_funnel(events: Any, req: FunnelRequest) -> FunnelPartial:
    """The funnel of ``events`` (a path, a frame, anything the io layer takes)."""
    from ..journey.steps import symbol_table

    spec = req.spec
    journey = spec.journey
    syms = symbol_table(spec, [], req.exclude, check_events=False)  # exclusions' shape, before any work
    props = where_columns(journey, syms.exclude_rules)
    needed = list(req.needed) + [c for c in props if c not in req.needed]
    src = open_source(events, unit_col=req.unit_col, attr_col=req.attr_col, props=props, needed=needed,
                      attr_purpose=req.attr_purpose)
    if src.categories is not None:
        if req.check_events:
            journey.check_events(src.categories, on_unknown=req.on_unknown)
        syms = symbol_table(spec, src.categories, req.exclude, check_events=req.check_events,
                            on_unknown=req.on_unknown)
    rb = rule_bits(journey, spec.steps, syms.exclude, syms.exclude_rules)
    K = len(spec.steps)
    n_ids = src.hi - src.lo + 1
    threads = n_threads() if src.n_rows >= THREADS_MIN_ROWS else 1
    shift, n_buckets = layout(n_ids, src.n_rows, threads)
    plan = Plan(bits=rb, keep_all=req.mode in ("strict", "uninterrupted"), lo=src.lo, shift=shift, n_buckets=n_buckets,
                present=np.zeros(n_ids, dtype=bool),
                attr_mode=("step" if req.attr_mode == "steps" else req.attr_mode) if req.attr_col is not None else None,
                k_steps=K, n_attr_values=len(src.attr_values or []))
    stages = journey._all_stages()
    fk = FunnelKernel(
        mode=req.mode, window=req.window, window_from=req.window_from,
        steps=np.asarray(spec.steps, dtype=np.int64), exclude=tuple(syms.exclude), bits=rb,
        after_order=tuple(journey._after_order()), stage_of={s.name: i for i, s in enumerate(stages)},
        step_names=tuple(spec.names), start_ns=req.start_ns, end_ns=req.end_ns,
        step_attr=req.step_attr if plan.attr_mode == "step" and req.attr_mode == "step" else None,
        all_step_attrs=plan.attr_mode == "step" and req.attr_mode == "steps",
        code_lut=code_lut(np.asarray(spec.steps, dtype=np.int64), rb),
        reuse_events=req.reuse_events, increasing_times=req.increasing_times, stop_at_repeat=req.stop_at_repeat,
        out_of_order=req.out_of_order, optional=tuple(spec.optional),
    )
    progress = _progress_enabled(req.progress)  # a bar only on a terminal
    pool = ThreadPoolExecutor(threads) if threads > 1 else None
    tmp = temp_dir(req.tmp_dir) if req.memory_budget is not None else None
    buckets = Buckets(n_buckets, plan.part_dtypes(), budget=req.memory_budget, tmp=tmp)
    try:
        used, kept, t_max = scan(src, plan, buckets, pool, threads, progress)
        if src.categories is None:  # names known only now (Parquet read directly)
            names = sorted(used)
            if req.check_events:
                journey.check_events(names, on_unknown=req.on_unknown)
            symbol_table(spec, names, req.exclude, check_events=req.check_events, on_unknown=req.on_unknown)
        present = plan.present
        rank = np.cumsum(present, dtype=np.int64)
        rank -= 1
        n_units = int(rank[-1]) + 1 if len(rank) else 0
        width = 1 << shift
        edges = np.minimum(np.arange(n_buckets + 1, dtype=np.int64) * width, n_ids)
        code0 = np.concatenate(([0], np.cumsum(present, dtype=np.int64)))[edges]
        level = np.zeros(n_units, dtype=np.int16)
        step_time = np.empty((n_units, K), dtype=np.int64, order="F")  # columns: the units frame
        excluded = np.zeros(n_units, dtype=bool)
        n_att = np.zeros(n_units, dtype=np.int64)
        step_attr = np.full(n_units, -1, dtype=np.int64) if fk.step_attr is not None else None
        if fk.all_step_attrs:
            step_attr = np.full((n_units, K), -1, dtype=np.int64)

        def work(j: int) -> None:
            a, z = int(code0[j]), int(code0[j + 1])
            cols = buckets.take(j)
            if z == a:
                return
            if cols is None:
                step_time[a:z] = NAT
                return
            off, t, bits, pos = cols[:4]
            attr = cols[4] if plan.attr_mode == "step" else None
            u = rank[j * width + off.astype(np.int64)] - a
            res, got = run_bucket(fk, u, t, bits, pos, attr, z - a)
            level[a:z] = res.level
            step_time[a:z] = res.step_time
            excluded[a:z] = res.excluded
            n_att[a:z] = res.n_attempts
            if step_attr is not None and got is not None:
                step_attr[a:z] = got

        bar = _Bar(n_buckets, "funnelkit 2/2: funnel per bucket", "buckets", progress)
        try:
            run_ordered(pool, work, n_buckets, threads, bar)
        finally:
            bar.close()
    finally:
        if pool is not None:
            pool.shutdown()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    offsets = np.flatnonzero(present)
    attr = attr_max = None
    if plan.attr_mode == "step":
        attr = step_attr
    elif plan.attr_mode is not None:
        a1, a2 = plan.attributes()
        attr = a1[offsets]
        attr_max = None if a2 is None else a2[offsets]
    return FunnelPartial(
        unit_ids=src.ids_of(offsets), level=level.astype(np.int64), step_time=step_time,
        excluded=excluded, n_attempts=n_att, attr=attr, attr_max=attr_max,
        attr_values=list(src.attr_values or []), n_rows=src.n_rows, rows_in_funnel=kept,
        data_end=t_max, dropped=dict(src.dropped), used=used,
        spilled=bool(buckets.written), exclude=list(syms.exclude),
    )


def merge(parts: Sequence[FunnelPartial]) -> FunnelPartial:
    """One partial from partials over disjoint units (units sorted by id, as in memory)."""
    parts = [p for p in parts if len(p.unit_ids)] or list(parts[:1])
    if len(parts) == 1:
        return parts[0]
    ids = parts[0].unit_ids.append([p.unit_ids for p in parts[1:]])
    if ids.has_duplicates:  # pragma: no cover - partitions hold whole units
        raise AssertionError("a unit appears in two partitions: the data was not shuffled by unit")
    order = np.argsort(ids.to_numpy(), kind="stable")
    values: list[Any] = []
    attr = attr_max = None
    if parts[0].attr is not None:
        from .sources import _value_order

        allv: list[Any] = []
        index: dict[Any, int] = {}
        for p in parts:
            for v in p.attr_values:
                if v not in index:
                    index[v] = len(allv)
                    allv.append(v)
        srt = _value_order(allv)
        rank = np.empty(len(allv), dtype=np.int64)
        rank[np.asarray(srt, dtype=np.int64)] = np.arange(len(allv))
        values = [allv[i] for i in srt]

        def recode(p: FunnelPartial, a: np.ndarray | None) -> np.ndarray:
            assert a is not None
            lut = np.array([rank[index[v]] for v in p.attr_values] + [-1], dtype=np.int64)
            return lut[a]

        attr = np.concatenate([recode(p, p.attr) for p in parts])[order]
        if parts[0].attr_max is not None:
            attr_max = np.concatenate([recode(p, p.attr_max) for p in parts])[order]
    dropped: dict[str, int] = {}
    for p in parts:
        for k, v in p.dropped.items():
            dropped[k] = dropped.get(k, 0) + v
    return FunnelPartial(
        unit_ids=ids[order],
        level=np.concatenate([p.level for p in parts])[order],
        step_time=np.concatenate([p.step_time for p in parts])[order],
        excluded=np.concatenate([p.excluded for p in parts])[order],
        n_attempts=np.concatenate([p.n_attempts for p in parts])[order],
        attr=attr, attr_max=attr_max, attr_values=values,
        n_rows=sum(p.n_rows for p in parts), rows_in_funnel=sum(p.rows_in_funnel for p in parts),
        data_end=max(p.data_end for p in parts), dropped=dropped,
        used=set().union(*(p.used for p in parts)), spilled=any(p.spilled for p in parts),
        exclude=parts[0].exclude,
    )
