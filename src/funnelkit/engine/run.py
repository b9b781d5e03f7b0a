"""The funnel on the engine's driver: source -> plan -> buckets -> funnel bucket function (private).

:func:`run_funnel` is the one implementation behind every funnel computation
(``fk.funnel``, ``fk.experiment``, ``fk.time_between``, trends; in memory, out of
core and, partition by partition, on Dask). It is a client of the engine's one driver,
:func:`funnelkit.engine.drive.drive`:

1. the exclusions' shape, the columns and (when the source knows them up front) the
   event names are checked before any work;
2. :func:`~funnelkit.engine.drive.drive` reads the blocks on all cores; its plan keeps
   the rows a rule matches (every row in strict and uninterrupted modes), folds the
   per-unit attributes (an experiment's variant range, first/last touch) and fills the
   buckets (spilled to a temporary directory beyond ``memory_budget``);
3. once every block is read, the event names of a Parquet file read directly are
   checked (``ready``) and the per-unit output arrays are allocated;
4. each bucket, sorted by the driver, goes through the funnel bucket function
   (:func:`.bucket_funnel.run_sorted`), on all cores, writing its units' slice of the
   per-unit outputs;
5. the result is a :class:`FunnelPartial`: per-unit arrays plus counters, mergeable
   with :func:`merge` (Dask partitions hold disjoint units).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .bucket_funnel import FunnelKernel, code_lut, run_sorted
from .buckets import THREADS_MIN_ROWS
from .drive import BucketRows, DriveRequest, Driven, drive
from .kernels import NAT
from .plan import rule_bits
from .sources import open_source

__all__ = ["FunnelRequest", "FunnelPartial", "run_funnel", "merge", "where_columns"]


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


class _Outputs:
    """The per-unit outputs of one funnel run, allocated once the unit count is known and
    written bucket by bucket (each bucket its own slice ``[unit0, unit0 + n_units)``)."""

    def __init__(self, n_units: int, k: int, fk: FunnelKernel) -> None:
        self.level = np.zeros(n_units, dtype=np.int16)
        # NAT is written where no bucket ran (units without kept rows), after the run
        self.step_time = np.empty((n_units, k), dtype=np.int64, order="F")  # columns: the units frame
        self.excluded = np.zeros(n_units, dtype=bool)
        self.n_att = np.zeros(n_units, dtype=np.int64)
        self.step_attr: np.ndarray | None = None
        if fk.step_attr is not None:
            self.step_attr = np.full(n_units, -1, dtype=np.int64)
        if fk.all_step_attrs:
            self.step_attr = np.full((n_units, k), -1, dtype=np.int64)


def _funnel_bucket(fk: FunnelKernel, out: list[_Outputs], rows: BucketRows) -> int:
    """The funnel on one sorted bucket, written into the run's outputs; returns its unit count."""
    res, got = run_sorted(fk, rows.u, rows.t, rows.bits, rows.attr, rows.n_units)
    o = out[0]
    a, z = rows.unit0, rows.unit0 + rows.n_units
    o.level[a:z] = res.level
    o.step_time[a:z] = res.step_time
    o.excluded[a:z] = res.excluded
    o.n_att[a:z] = res.n_attempts
    if o.step_attr is not None and got is not None:
        o.step_attr[a:z] = got
    return rows.n_units


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
    steps = np.asarray(spec.steps, dtype=np.int64)
    rb = rule_bits(journey, steps, syms.exclude, syms.exclude_rules)
    K = len(spec.steps)
    # how the attribute reaches the funnel: folded per unit while reading (a variant's range,
    # first/last touch over the unit), or carried per row and read at step events
    with_attr = req.attr_col is not None and req.attr_mode is not None
    per_row = with_attr and req.attr_mode in ("step", "steps")
    attr_mode = "ignore" if not with_attr else ("rows" if per_row else req.attr_mode)
    stages = journey._all_stages()
    fk = FunnelKernel(
        mode=req.mode, window=req.window, window_from=req.window_from,
        steps=steps, exclude=tuple(syms.exclude), bits=rb,
        after_order=tuple(journey._after_order()), stage_of={s.name: i for i, s in enumerate(stages)},
        step_names=tuple(spec.names), start_ns=req.start_ns, end_ns=req.end_ns,
        step_attr=req.step_attr if per_row and req.attr_mode == "step" else None,
        all_step_attrs=per_row and req.attr_mode == "steps",
        code_lut=code_lut(steps, rb),
        reuse_events=req.reuse_events, increasing_times=req.increasing_times, stop_at_repeat=req.stop_at_repeat,
        out_of_order=req.out_of_order, optional=tuple(spec.optional),
    )
    dreq = DriveRequest(
        journey=journey, unit_col=req.unit_col, attr_col=req.attr_col, attr_mode=attr_mode,  # type: ignore[arg-type]
        keep="all" if req.mode in ("strict", "uninterrupted") else "matched",  # any event breaks adjacency
        used_names=True, memory_budget=req.memory_budget, tmp_dir=req.tmp_dir, progress=req.progress,
        purpose=req.attr_purpose, steps=tuple(int(s) for s in steps), exclude=tuple(syms.exclude),
        exclude_rules=tuple(syms.exclude_rules),
    )
    out: list[_Outputs] = []

    def ready(d: Driven) -> None:
        if src.categories is None:  # names known only now (Parquet read directly)
            names = sorted(d.used or ())
            if req.check_events:
                journey.check_events(names, on_unknown=req.on_unknown)
            symbol_table(spec, names, req.exclude, check_events=req.check_events, on_unknown=req.on_unknown)
        out.append(_Outputs(d.n_units, K, fk))

    d = drive(src, dreq, lambda rows: _funnel_bucket(fk, out, rows), ready=ready,
              threads_min_rows=THREADS_MIN_ROWS)  # read here at call time: tests lower it
    o = out[0]
    end = 0
    for a, n in zip(d.unit_starts, d.results):  # units of buckets without kept rows: not reached
        o.step_time[end:a] = NAT
        end = a + n
    o.step_time[end:] = NAT
    attr, attr_max = (o.step_attr, None) if per_row else (d.unit_attr, d.unit_attr_max)
    return FunnelPartial(
        unit_ids=d.unit_ids, level=o.level.astype(np.int64), step_time=o.step_time,
        excluded=o.excluded, n_attempts=o.n_att, attr=attr, attr_max=attr_max,
        attr_values=d.attr_values, n_rows=d.n_rows, rows_in_funnel=d.rows_matched,
        data_end=d.data_end, dropped=d.dropped, used=d.used or set(),
        spilled=d.spilled, exclude=list(syms.exclude),
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
