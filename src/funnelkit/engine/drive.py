"""The engine's generic driver: source -> plan -> buckets -> any bucket function (private).

Every analysis that needs each unit's sorted history (paths, retention, ...) runs
through :func:`drive`, the same way :func:`funnelkit.engine.run.run_funnel` runs the
funnel:

1. the source (:func:`.sources.open_source`) yields blocks of the needed columns of a
   frame, a Parquet file read row group by row group, or anything the io layer reads;
2. the plan evaluates the journey's rules per block into rule bits (bit ``i`` is the
   plain rules of stage ``i``; ``repeat()``/``after()`` rules get their own bits and are
   settled in the bucket by :meth:`BucketRows.stage_bits`), and the rows are split by
   unit range into bucket parts carrying ``(unit, time, bits[, event][, attribute])``;
3. buckets of whole units are spilled to a temporary directory beyond
   ``memory_budget`` and, one at a time per core, sorted by value keys
   ``(unit, time, event name, attribute value, bits)`` -- never by input position, so
   no result depends on the row order -- and handed to the bucket function;
4. the bucket function returns a mergeable partial result for its units; :func:`drive`
   returns them in unit order with the codes' values (:class:`Driven`).

On a Dask DataFrame, :func:`drive_dask` shuffles on the unit and runs :func:`drive`
per partition on the workers: one :class:`Driven` per partition, whose partials the
analysis merges (codes are recoded to one sorted dictionary with :func:`recode`).

Event names (``events=True``) and attribute values (``attr_col=``) reach the bucket
as ``int32`` codes numbered by sorted value (``-1``: null attribute), so the bucket
function works on small integers and results come out in a deterministic order.
"""

from __future__ import annotations

import dataclasses
import shutil
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._progress import _Bar, _progress_enabled
from ..io import _names
from ._parallel import n_threads, ordered_map
from .buckets import THREADS_MIN_ROWS, Buckets, layout, order, run_ordered, temp_dir
from .plan import Plan, RuleBits, rule_bits
from .sources import Block, Source, _value_order, open_source

__all__ = ["BucketRows", "DriveRequest", "Driven", "drive", "drive_dask", "recode", "run_units"]

_NAT = np.iinfo(np.int64).min


@dataclass(frozen=True)
class DriveRequest:
    """What :func:`drive` reads and carries to the bucket function (checked by the caller).

    Parameters
    ----------
    journey : Journey, optional
        Its stages' rules become the rows' bits (bit ``i``: stage ``i`` of
        ``journey._all_stages()``). ``None``: no rules, every row's bits are 0.
    unit_col : str
        The unit column (``"user_id"``, or a session column).
    events : bool
        Carry each row's event name as a code into :attr:`Driven.event_names`.
    attr_col : column, optional
        Carry each row's value of this column as a code into :attr:`Driven.attr_values`.
    keep : {"all", "matched"}
        Keep every row, or only rows matching at least one rule.
    needed : tuple
        Property columns the computation reads (for the io layer).
    memory_budget, tmp_dir, progress
        As for a funnel: spill beyond this many bytes, where, and a progress bar.
    purpose : str
        Completes "needed for ..." in a missing-column message.
    steps : tuple of int, optional
        A funnel's steps (the stage index of each). Rows then also carry their
        *position* (the first step they can fill, ``K`` for none) and sort by
        ``(unit, time, position, bits, event, attribute)``, the order the funnel
        kernels need (:mod:`.bucket_funnel`).
    exclude, exclude_rules : tuple
        A funnel's exclusions: ``(symbol, from, to)`` per exclusion and its rule (as
        :func:`funnelkit.journey.steps.symbol_table` gives them); each rule gets a bit
        after the stages'.
    thin : callable, optional
        A block combiner for bucket functions that only ask *whether* and *when first and
        last* a unit did something in a window of time (retention). ``thin(t)`` maps the
        rows' int64 UTC nanoseconds to an int64 *window* index, non-decreasing in time.
        Each block is then cut, before it is bucketed, to the earliest and the latest
        rows (every row at those two instants) of each group of rows equal in (unit,
        window, bits, position, event, attribute): two rows or more of a group stay two
        rows or more. The bucket function must give the same result on every subset of
        a unit's rows that keeps them (see :func:`_thin`). Ignored when the journey has
        ``repeat()``/``after()`` rules, which count or order every row.
    """

    journey: Any = None
    unit_col: str = _names.USER
    events: bool = False
    attr_col: Any = None
    keep: Literal["all", "matched"] = "all"
    needed: tuple[Any, ...] = ()
    memory_budget: int | None = None
    tmp_dir: Any = None
    progress: bool = False
    purpose: str = "this computation"
    steps: tuple[int, ...] | None = None
    exclude: tuple[tuple[int, int, int], ...] = ()
    exclude_rules: tuple[Any, ...] = ()
    thin: Callable[[np.ndarray], np.ndarray] | None = None


@dataclass(frozen=True)
class BucketRows:
    """One bucket of whole units, sorted by (unit, time, event, attribute, bits) or, with
    funnel steps, by (unit, time, position, bits, event, attribute).

    ``u`` are bucket-local unit indices ``0 .. n_units - 1`` (non-decreasing); unit
    ``i`` of the bucket is unit ``unit0 + i`` of :attr:`Driven.unit_ids`.
    """

    u: np.ndarray  # int64, non-decreasing
    t: np.ndarray  # int64 ns since the epoch, UTC
    bits: np.ndarray  # unsigned rule bits (0: no rule)
    event: np.ndarray | None  # int32 codes into Driven.event_names
    attr: np.ndarray | None  # int32 codes into Driven.attr_values (-1: null)
    n_units: int
    unit0: int
    rules: RuleBits | None = field(default=None, repr=False)
    journey: Any = field(default=None, repr=False)
    pos: np.ndarray | None = None  # int16 first funnel step each row can fill (with steps=)
    ids: pd.Index | None = field(default=None, repr=False)  # the id of each of the n_units units

    def unit_values(self, per_id: pd.Series, fill: Any) -> np.ndarray:
        """``per_id`` (indexed by unit id) read for each unit of the bucket, ``fill`` where
        absent: how a bucket function takes per-unit inputs (a funnel's step times)."""
        assert self.ids is not None
        return per_id.reindex(self.ids, fill_value=fill).to_numpy()

    def stage_bits(self) -> np.ndarray:
        """Per row, the bits of the stages it belongs to, ``repeat()``/``after()`` settled
        on the unit's sorted history (they take precedence over plain rules)."""
        from .bucket_funnel import stage_bits

        if self.rules is None:
            return np.zeros(len(self.u), dtype=np.uint8)
        stages = self.journey._all_stages()
        cur, _ = stage_bits(self.bits, self.u, self.rules, tuple(self.journey._after_order()),
                            {s.name: i for i, s in enumerate(stages)})
        return cur

    def starts(self) -> np.ndarray:
        """Index of each unit's first row (``n_units`` entries; units without rows are
        not possible: every unit present has at least one row when ``keep="all"``)."""
        return np.searchsorted(self.u, np.arange(self.n_units, dtype=np.int64), side="left")


@dataclass
class Driven:
    """What :func:`drive` returns: the bucket function's partials in unit order, with
    the values of the codes and the counters of the run."""

    unit_ids: pd.Index  # every unit of the log (or partition), in code order
    results: list[Any]  # one per bucket holding units, in unit order
    unit_starts: list[int]  # index into unit_ids of each result's first unit
    event_names: list[str]
    attr_values: list[Any]
    n_rows: int = 0
    rows_kept: int = 0
    data_start: int = int(_NAT)  # earliest time of the log (ns), NaT when empty
    data_end: int = int(_NAT)  # latest time of the log (ns)
    dropped: dict[str, int] = field(default_factory=dict)
    spilled: bool = False


class _Names:
    """Global codes of event names, in first-seen order (thread-safe); sorted at the end."""

    def __init__(self, known: Sequence[str] | None) -> None:
        self.names: list[str] = []
        self.index: dict[str, int] = {}
        self.luts: dict[tuple[str, ...], np.ndarray] = {}
        self.lock = threading.Lock()
        if known is not None:
            self.lut(tuple(sorted(known)))

    def lut(self, cats: tuple[str, ...]) -> np.ndarray:
        got = self.luts.get(cats)
        if got is not None:
            return got
        with self.lock:
            got = self.luts.get(cats)
            if got is None:
                codes = []
                for c in cats:
                    if c not in self.index:
                        self.index[c] = len(self.names)
                        self.names.append(c)
                    codes.append(self.index[c])
                got = self.luts[cats] = np.asarray(codes, dtype=np.int32)
        return got

    def sorted(self) -> tuple[list[str], np.ndarray]:
        """The names sorted, and the rank of each first-seen code."""
        srt = sorted(range(len(self.names)), key=self.names.__getitem__)
        rank = np.empty(len(self.names), dtype=np.int32)
        rank[np.asarray(srt, dtype=np.int64)] = np.arange(len(srt), dtype=np.int32)
        return [self.names[i] for i in srt], rank


def _thin(off: np.ndarray, t: np.ndarray, rest: list[np.ndarray],
          window: Callable[[np.ndarray], np.ndarray]) -> np.ndarray | None:
    """Rows of a block to keep: per group of rows equal in (unit ``off``, ``window(t)``,
    every column of ``rest``), those at the group's earliest and latest time; None keeps
    every row (fewer than two rows, or keys too wide to combine into 62 bits).

    A bucket function may take thinned rows when its answer depends on a group only
    through whether it has rows, its earliest and latest row, and whether it has more
    than one row: all three survive (a group of two rows or more keeps two rows or
    more, the rows at the two extreme instants). Windows must be intervals of time, so
    that a time range meeting a window meets it at one end or contains it. No row
    order matters: the extremes are minima and maxima of the times, not first
    positions. Hash-grouped (no sort); a dense table of the codes when they are few.
    """
    n = len(t)
    if n < 2:
        return None
    keys = [off, np.asarray(window(t), dtype=np.int64)] + rest
    code = np.zeros(n, dtype=np.int64)
    width = 1
    for k in keys:
        lo, hi = int(k.min()), int(k.max())
        span = hi - lo + 1
        if width * span >= 1 << 62:
            return None
        code *= span
        code += k.astype(np.int64, copy=False) - lo if lo else k
        width *= span
    if width <= 2 * n:
        g, n_groups = code, width
    else:
        g, uniq = pd.factorize(code, sort=False)
        n_groups = len(uniq)
    if n_groups == n:
        return None  # every row its own group: nothing to drop
    mn = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
    mx = np.full(n_groups, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(mn, g, t)
    np.maximum.at(mx, g, t)
    return np.flatnonzero((t == mn[g]) | (t == mx[g]))


def _split(off: np.ndarray, cols: list[np.ndarray], shift: int, n_buckets: int,
           local_dtype: Any) -> list[Any]:
    """Rows (unit offsets and columns) cut by unit range into bucket parts, input order kept."""
    out: list[Any] = [None] * n_buckets
    if n_buckets == 1:
        out[0] = (off.astype(local_dtype), *cols)
        return out
    b = (off >> shift).astype(np.uint16 if n_buckets <= 1 << 16 else np.int64)
    perm = np.argsort(b, kind="stable")
    cnt = np.bincount(b, minlength=n_buckets)
    bounds = np.concatenate(([0], np.cumsum(cnt)))
    loc = off[perm]
    loc &= (1 << shift) - 1
    cols = [loc.astype(local_dtype)] + [c[perm] for c in cols]
    for j in np.flatnonzero(cnt):
        a, z = int(bounds[j]), int(bounds[j + 1])
        out[j] = tuple(c[a:z] for c in cols)
    return out


def drive(events: Any, req: DriveRequest, bucket_fn: Callable[[BucketRows], Any]) -> Driven:
    """Run ``bucket_fn`` on every bucket of whole units of ``events`` (see the module docstring).

    ``events`` is a path, a frame or anything the io layer takes (not a Dask frame:
    see :func:`run_units`). ``bucket_fn`` receives a :class:`BucketRows` and returns
    the partial result of its units; it runs on all cores, so it must not share
    mutable state.
    """
    from .run import where_columns

    journey = req.journey
    # an explicit tmp_dir is checked before any work (the source may read the file already)
    tmp = temp_dir(req.tmp_dir) if req.memory_budget is not None else None
    props = where_columns(journey, req.exclude_rules) if journey is not None else []
    needed = list(req.needed) + [c for c in props if c not in req.needed]
    src: Source = open_source(events, unit_col=req.unit_col, attr_col=req.attr_col, props=props,
                              needed=needed, attr_purpose=req.purpose)
    rb = None
    plan = None
    n_ids = src.hi - src.lo + 1
    threads = n_threads() if src.n_rows >= THREADS_MIN_ROWS else 1
    shift, n_buckets = layout(n_ids, src.n_rows, threads)
    with_pos = req.steps is not None
    if journey is not None:
        n_st = len(journey._all_stages())
        steps = np.asarray(req.steps if with_pos else range(n_st), dtype=np.int64)
        rb = rule_bits(journey, steps, req.exclude, req.exclude_rules)
        plan = Plan(bits=rb, keep_all=True, lo=src.lo, shift=shift, n_buckets=n_buckets,
                    present=np.zeros(0, dtype=bool), k_steps=len(steps))
    elif with_pos:
        raise ValueError("steps= needs a journey")  # pragma: no cover - internal misuse
    # thinning drops rows that repeat()/after() rules count or order: not with them
    thin = req.thin if (rb is None or not rb.special) else None
    bits_dtype = rb.dtype if rb is not None else np.uint8
    local_dtype = np.uint16 if shift <= 16 else (np.uint32 if shift <= 32 else np.int64)
    with_bits = rb is not None  # no journey: no bits column to carry, spill and sort
    dtypes: list[Any] = [local_dtype, np.int64] + ([bits_dtype] if with_bits else [])
    if with_pos:
        dtypes.append(np.int16)
    if req.events:
        dtypes.append(np.int32)
    if req.attr_col is not None:
        dtypes.append(np.int32)
    names = _Names(src.categories if req.events else None)
    present = np.zeros(n_ids, dtype=bool)
    lock = threading.Lock()
    stats = {"kept": 0, "t_min": np.iinfo(np.int64).max, "t_max": int(_NAT)}

    def split(blk: Block) -> list[Any]:
        off = blk.unit - src.lo if src.lo else blk.unit
        present[off] = True  # every row marks its unit present, kept or not
        t = blk.t * blk.t_factor if blk.t_factor != 1 else blk.t
        cols: list[np.ndarray] = [t]
        bits = None
        if plan is not None:
            bits, pos = plan.evaluate(blk)
            cols.append(bits)
            if with_pos:
                cols.append(pos)
        if req.events:
            cols.append(names.lut(blk.cats)[blk.ev])
        if req.attr_col is not None:
            a = blk.attr if blk.attr is not None else np.full(len(t), -1, np.int64)
            cols.append(a.astype(np.int32))
        if len(t):
            with lock:
                stats["t_min"] = min(stats["t_min"], int(t.min()))
                stats["t_max"] = max(stats["t_max"], int(t.max()))
        if req.keep == "matched" and bits is not None:
            keep = np.flatnonzero(bits != 0)
            off = off[keep]
            cols = [c[keep] for c in cols]
        with lock:
            stats["kept"] += len(off)
        if thin is not None:
            keep = _thin(off, cols[0], cols[1:], thin)
            if keep is not None:
                off = off[keep]
                cols = [c[keep] for c in cols]
        return _split(off, cols, shift, n_buckets, local_dtype)

    progress = _progress_enabled(req.progress)
    pool = ThreadPoolExecutor(threads) if threads > 1 else None
    buckets = Buckets(n_buckets, dtypes, budget=req.memory_budget, tmp=tmp)
    results: list[Any] = [None] * n_buckets
    try:
        bar = _Bar(src.n_items, "funnelkit 1/2: reading", "blocks", progress)
        try:
            def read(i: int) -> list[Any]:
                return [split(blk) for blk in src.read(i)]

            for res in ordered_map(pool, read, src.n_items, 2 * threads):
                for parts in res:
                    buckets.add(parts)
                bar.update(1)
        finally:
            bar.close()
        event_names, rank = names.sorted()
        cum = np.cumsum(present, dtype=np.int64)
        width = 1 << shift
        edges = np.minimum(np.arange(n_buckets + 1, dtype=np.int64) * width, n_ids)
        code0 = np.concatenate(([0], cum))[edges]
        urank = cum - 1

        def work(j: int) -> None:
            a, z = int(code0[j]), int(code0[j + 1])
            cols = buckets.take(j)
            if z == a or cols is None:
                return
            off, t = cols[:2]
            rest = list(cols[2:])
            bits = rest.pop(0) if with_bits else None
            pos = rest.pop(0) if with_pos else None
            ev = rest.pop(0) if req.events else None
            at = rest.pop(0) if req.attr_col is not None else None
            if ev is not None:
                ev = rank[ev]
            u = urank[j * width + off.astype(np.int64)] - a
            if with_pos:
                ties = [bits] + [k for k in (ev, at) if k is not None]
                perm = order(u, t, pos, ties, n_units=z - a, n_pos=len(req.steps or ()) + 1)
            else:
                ties = [k for k in (ev, at, bits) if k is not None]
                perm = order(u, t, np.zeros(len(u), dtype=np.int16), ties, n_units=z - a, n_pos=1)
            if bits is None:
                bits = np.zeros(len(u), dtype=np.uint8)
            if perm is not None:
                u, t, bits = u[perm], t[perm], bits[perm]
                pos = None if pos is None else pos[perm]
                ev = None if ev is None else ev[perm]
                at = None if at is None else at[perm]
            lo_j = j * width
            ids = src.ids_of(np.flatnonzero(present[lo_j:lo_j + width]) + lo_j)
            results[j] = bucket_fn(BucketRows(u=u, t=t, bits=bits, event=ev, attr=at, n_units=z - a,
                                              unit0=a, rules=rb, journey=journey, pos=pos, ids=ids))

        bar = _Bar(n_buckets, "funnelkit 2/2: per bucket", "buckets", progress)
        try:
            run_ordered(pool, work, n_buckets, threads, bar)
        finally:
            bar.close()
    finally:
        if pool is not None:
            pool.shutdown()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    keep_j = [j for j in range(n_buckets) if results[j] is not None]
    t_min = stats["t_min"] if stats["t_min"] != np.iinfo(np.int64).max else int(_NAT)
    return Driven(
        unit_ids=src.ids_of(np.flatnonzero(present)), results=[results[j] for j in keep_j],
        unit_starts=[int(code0[j]) for j in keep_j], event_names=event_names,
        attr_values=list(src.attr_values or []), n_rows=src.n_rows, rows_kept=int(stats["kept"]),
        data_start=t_min, data_end=int(stats["t_max"]), dropped=dict(src.dropped),
        spilled=bool(buckets.written),
    )


def _partition(pdf: pd.DataFrame, req: DriveRequest, bucket_fn: Callable[[BucketRows], Any]) -> Driven | None:
    from ..io import normalize as _schema

    if len(pdf) == 0:
        return None
    return drive(_schema.ensure_events(pdf.reset_index(drop=True)), req, bucket_fn)


def drive_dask(ddf: Any, req: DriveRequest, bucket_fn: Callable[[BucketRows], Any]) -> list[Driven]:
    """:func:`drive` on every partition of a Dask DataFrame shuffled on the unit.

    ``bucket_fn`` must be picklable (a module-level function or a
    ``functools.partial`` of one) to run on a distributed cluster.
    """
    import dask

    from ..errors import EmptyEventLogError
    from ..io import columns as _columns
    from .run import where_columns
    from .sources import _check_columns

    cols = list(ddf.columns)
    _columns.resolve_columns(cols)
    props = where_columns(req.journey) if req.journey is not None else []
    _check_columns(cols, unit_col=req.unit_col, attr_col=req.attr_col, props=props, attr_purpose=req.purpose)
    local = dataclasses.replace(req, memory_budget=None, progress=False)
    shuffled = ddf.shuffle(req.unit_col)
    jobs = [dask.delayed(_partition)(d, local, bucket_fn) for d in shuffled.to_delayed()]
    parts = [p for p in dask.compute(*jobs) if p is not None]
    if not parts:
        raise EmptyEventLogError("The event log is empty: there is nothing to compute on.")
    return parts


def run_units(events: Any, req: DriveRequest, bucket_fn: Callable[[BucketRows], Any]) -> list[Driven]:
    """:func:`drive` for any input: one :class:`Driven`, or one per Dask partition."""
    from .dask import is_dask_frame

    if is_dask_frame(events):
        return drive_dask(events, req, bucket_fn)
    return [drive(events, req, bucket_fn)]


def recode(values: Sequence[Sequence[Any]]) -> tuple[list[Any], list[np.ndarray]]:
    """One sorted dictionary for several parts' sorted value lists, and per part the
    lookup table from its codes to the merged codes (its last entry maps -1 to -1)."""
    allv: list[Any] = []
    index: dict[Any, int] = {}
    for vals in values:
        for v in vals:
            if v not in index:
                index[v] = len(allv)
                allv.append(v)
    srt = _value_order(allv)
    rank = np.empty(len(allv), dtype=np.int64)
    rank[np.asarray(srt, dtype=np.int64)] = np.arange(len(allv))
    luts = [np.array([rank[index[v]] for v in vals] + [-1], dtype=np.int64) for vals in values]
    return [allv[i] for i in srt], luts
