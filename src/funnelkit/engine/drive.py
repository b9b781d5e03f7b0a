"""The engine's driver: source -> plan -> buckets -> any bucket function (private).

Every analysis that needs each unit's sorted history runs through :func:`drive`, the
funnel (:func:`funnelkit.engine.run.run_funnel`) as well as paths, retention, trends by
period and experiment metrics:

1. the source (:func:`.sources.open_source`) yields blocks of the needed columns of a
   frame, a Parquet file read row group by row group, or anything the io layer reads;
2. the plan cuts every block in one pass (:meth:`.plan.Plan.cut`): the journey's rules
   become rule bits (bit ``i`` is the plain rules of stage ``i``; ``repeat()``/``after()``
   rules get their own bits and are settled in the bucket by
   :meth:`BucketRows.stage_bits`), per-unit attributes are folded over every row, and
   the rows that matter are split by unit range into bucket parts carrying
   ``(unit, time[, bits][, position][, event][, attribute][, row])``;
3. once every block is read, ``ready`` (if given) sees the run's counters, the unit
   count and the event names used (checks that need them, per-unit output arrays);
4. buckets of whole units are spilled to a temporary directory beyond
   ``memory_budget`` and, one at a time per core, sorted by value keys
   ``(unit, time, event name, attribute value, bits)`` or, with funnel steps,
   ``(unit, time, position, bits, event, attribute)`` -- never by input position, so
   no result depends on the row order -- and handed to the bucket function;
5. the bucket function returns a mergeable partial result for its units; :func:`drive`
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
import functools
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
from ._allocator import settle
from ._parallel import n_threads, ordered_map
from .buckets import THREADS_MIN_ROWS, Buckets, layout, order, run_ordered, temp_dir
from . import plan as _plan
from .plan import Plan, RuleBits, rule_bits
from .sources import Source, _value_order, open_source

__all__ = ["BucketRows", "DriveRequest", "Driven", "Filled", "drive", "drive_dask", "fill", "recode", "run_units"]

# the block helpers moved to the plan (Plan.cut); their tests still import them from here
_split = _plan._split
_NAT = np.iinfo(np.int64).min
#: pandas builds an index's lookup table on its first use, and not thread-safely: a
#: second thread can see a half-filled table, miss ids (filled in as absent, silently)
#: or find "duplicate labels". :meth:`BucketRows.unit_values` builds it under this lock.
_INDEX_LOCK = threading.Lock()
_ATTR_MODES = ("rows", "range", "first_touch", "last_touch", "ignore")


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
        An attribute column, its values coded into :attr:`Driven.attr_values` (sorted;
        ``-1`` for null) and used as ``attr_mode`` says.
    attr_mode : {"rows", "range", "first_touch", "last_touch", "ignore"}
        How the attribute reaches the analysis. ``"rows"``: every kept row carries its
        code (:attr:`BucketRows.attr`). The others fold it per unit over *every* row of
        the log, kept or not, while the blocks are read (per-thread accumulators, merged
        once): ``"range"`` gives each unit's smallest and largest code
        (:attr:`Driven.unit_attr`, :attr:`Driven.unit_attr_max`; an experiment's variant:
        a unit seen with two values has ``min < max``), ``"first_touch"`` /
        ``"last_touch"`` the code at the unit's earliest / latest time with a non-null
        value, the smallest code when several tie (:attr:`Driven.unit_attr`), ``-1`` for a
        unit without any. ``"ignore"``: read and coded only.
    keep : {"all", "matched"}
        Keep every row, or only rows matching at least one rule (either way
        :attr:`Driven.rows_matched` counts the rows matching a rule).
    used_names : bool
        Collect the names of the events the log's rows hold (:attr:`Driven.used`, known
        at ``ready``): for a Parquet file read directly, the names are known only once
        it is read, and a check of the journey's names against them belongs before any
        bucket runs.
    rows : bool
        Carry each kept row's input position (its row in the normalized log;
        :attr:`BucketRows.row`), the last key of the sort, for bucket functions whose
        output goes back to the input rows (stage assignment).
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
        a unit's rows that keeps them (see :mod:`.thin`). Ignored when the journey has
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
    attr_mode: Literal["rows", "range", "first_touch", "last_touch", "ignore"] = "rows"
    used_names: bool = False
    rows: bool = False


@dataclass(frozen=True)
class BucketRows:
    """One bucket of whole units, sorted by (unit, time, event, attribute, bits) or, with
    funnel steps, by (unit, time, position, bits, event, attribute) (then the input
    position, with ``rows=True``).

    ``u`` are bucket-local unit indices ``0 .. n_units - 1`` (non-decreasing); unit
    ``i`` of the bucket is unit ``unit0 + i`` of :attr:`Driven.unit_ids`, so a bucket
    function writing per-unit outputs in place (arrays of :attr:`Driven.n_units` rows,
    allocated in ``ready``) writes ``[unit0, unit0 + n_units)``.
    """

    u: np.ndarray  # int64, non-decreasing
    t: np.ndarray  # int64 ns since the epoch, UTC
    bits: np.ndarray  # unsigned rule bits (0: no rule)
    event: np.ndarray | None  # int32 codes into Driven.event_names
    attr: np.ndarray | None  # int32 codes into Driven.attr_values (-1: null), with attr_mode="rows"
    n_units: int
    unit0: int
    rules: RuleBits | None = field(default=None, repr=False)
    journey: Any = field(default=None, repr=False)
    ids_of: Callable[[], pd.Index] | None = field(default=None, repr=False)  # see ids
    row: np.ndarray | None = None  # int64 input position of each row (with rows=True)
    pos_in: np.ndarray | None = field(default=None, repr=False)  # see pos
    perm: np.ndarray | None = field(default=None, repr=False)  # the sort of pos_in (None: sorted)

    @functools.cached_property
    def ids(self) -> pd.Index:
        """The id of each of the ``n_units`` units (built on first use)."""
        assert self.ids_of is not None
        return self.ids_of()

    @functools.cached_property
    def pos(self) -> np.ndarray | None:
        """int16 first funnel step each row can fill (with ``steps=``), in the rows' order;
        sorted on first use (the funnel's bucket function needs it only to sort)."""
        if self.pos_in is None or self.perm is None:
            return self.pos_in
        return self.pos_in[self.perm]

    def unit_values(self, per_id: pd.Series, fill: Any) -> np.ndarray:
        """``per_id`` (indexed by unit id) read for each unit of the bucket, ``fill`` where
        absent: how a bucket function takes per-unit inputs (a funnel's step times).
        Safe from every bucket thread at once on the same ``per_id``: its index's lookup
        table is built once, under a lock (see ``_INDEX_LOCK``)."""
        index = per_id.index
        with _INDEX_LOCK:
            if not index.is_unique:  # builds pandas' table; the callers give one value per unit
                raise ValueError("per-unit values with repeated unit ids")  # pragma: no cover
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
    the values of the codes and the counters of the run.

    ``ready`` receives it once every block is read, before any bucket runs: everything
    but ``results``, ``unit_starts``, ``unit_ids`` (built last, once) and the folded
    attributes ``unit_attr``/``unit_attr_max`` (merged before or after the buckets,
    whichever holds less memory while they run) is final then.
    """

    unit_ids: pd.Index  # every unit of the log (or partition), in code order
    results: list[Any]  # one per bucket holding units and kept rows, in unit order
    unit_starts: list[int]  # index into unit_ids of each result's first unit
    event_names: list[str]
    attr_values: list[Any]
    n_rows: int = 0
    rows_kept: int = 0  # rows kept for the buckets (before thinning)
    data_start: int = int(_NAT)  # earliest time of the log (ns), NaT when empty
    data_end: int = int(_NAT)  # latest time of the log (ns)
    dropped: dict[str, int] = field(default_factory=dict)
    spilled: bool = False
    n_units: int = 0  # len(unit_ids)
    rows_matched: int = 0  # rows matching at least one rule of the journey
    used: set[str] | None = None  # names of the events the rows hold (with used_names=True)
    unit_attr: np.ndarray | None = None  # int64 per unit (attr_mode range: min; touch: the code)
    unit_attr_max: np.ndarray | None = None  # int64 per unit (attr_mode range: max)


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


@dataclass
class Filled:
    """What reading every block into the buckets found (:func:`fill`)."""

    used: set[str] | None = None
    matched: int = 0
    kept: int = 0
    t_min: int = int(np.iinfo(np.int64).max)
    t_max: int = int(_NAT)


def fill(src: Source, plan: Plan, buckets: Buckets, pool: ThreadPoolExecutor | None, threads: int,
         progress: bool) -> Filled:
    """Read every block (on the pool), cut it with the plan and add its parts to the buckets
    in block order (so each bucket's parts stay in input order)."""
    out = Filled(used=set() if plan.collect_used else None)
    bar = _Bar(src.n_items, "funnelkit 1/2: reading", "blocks", progress)
    try:
        def read(i: int) -> list[Any]:
            return [plan.cut(blk) for blk in src.read(i)]

        for res in ordered_map(pool, read, src.n_items, 2 * threads):  # block order: input order
            for c in res:
                buckets.add(c.parts)
                if out.used is not None and c.used:
                    out.used |= c.used
                out.matched += c.matched
                out.kept += c.kept
                out.t_min = min(out.t_min, c.t_min)
                out.t_max = max(out.t_max, c.t_max)
            bar.update(1)
    finally:
        bar.close()
    return out


def drive(events: Any, req: DriveRequest, bucket_fn: Callable[[BucketRows], Any], *,
          ready: Callable[[Driven], None] | None = None, threads_min_rows: int | None = None) -> Driven:
    """Run ``bucket_fn`` on every bucket of whole units of ``events`` (see the module docstring).

    ``events`` is a path, a frame or anything the io layer takes (not a Dask frame:
    see :func:`run_units`), or a :class:`.sources.Source` the caller opened with the
    columns the request reads (to check the log's event names before any work). An
    explicit ``tmp_dir`` is checked before the source is opened (after, for a source
    given). ``bucket_fn`` receives a :class:`BucketRows` and returns the partial result
    of its units (``None``: nothing to keep); it runs on all cores, so it must not share
    mutable state beyond writing its own units' slice of arrays.

    ``ready(driven)``, when given, is called once, after the last block is read and
    before the first bucket runs, with the :class:`Driven` final but for what the
    buckets and the end of the run fill in (see :class:`Driven`): a check that needs
    the event names used raises there before any bucket work, and a bucket function
    writing per-unit outputs in place allocates them there (``driven.n_units`` rows;
    each bucket writes ``[rows.unit0, rows.unit0 + rows.n_units)``; units of buckets
    without kept rows are never handed to it, so their outputs keep what ``ready``
    put there). Logs under ``threads_min_rows`` rows (default
    :data:`.buckets.THREADS_MIN_ROWS`) run on the calling thread.
    """
    from .run import where_columns

    journey = req.journey
    settle()  # the per-block temporaries reuse freed memory from the first block on
    if req.attr_mode not in _ATTR_MODES:  # pragma: no cover - internal misuse
        raise ValueError(f"attr_mode={req.attr_mode!r}")
    given = isinstance(events, Source)
    tmp = None
    if given:
        src: Source = events
    else:
        # an explicit tmp_dir is checked before any work (the source may read the file already)
        tmp = temp_dir(req.tmp_dir) if req.memory_budget is not None else None
        props = where_columns(journey, req.exclude_rules) if journey is not None else []
        needed = list(req.needed) + [c for c in props if c not in req.needed]
        src = open_source(events, unit_col=req.unit_col, attr_col=req.attr_col, props=props,
                          needed=needed, attr_purpose=req.purpose)
    n_ids = src.hi - src.lo + 1
    min_rows = THREADS_MIN_ROWS if threads_min_rows is None else threads_min_rows
    threads = n_threads() if src.n_rows >= min_rows else 1
    shift, n_buckets = layout(n_ids, src.n_rows, threads)
    with_pos = req.steps is not None
    rb = None
    k_steps = 0
    if journey is not None:
        n_st = len(journey._all_stages())
        steps = np.asarray(req.steps if with_pos else range(n_st), dtype=np.int64)
        rb = rule_bits(journey, steps, req.exclude, req.exclude_rules)
        k_steps = len(steps)
    elif with_pos:
        raise ValueError("steps= needs a journey")  # pragma: no cover - internal misuse
    if given and req.memory_budget is not None:
        tmp = temp_dir(req.tmp_dir)
    with_attr = req.attr_col is not None
    attr_mode = None
    if with_attr and req.attr_mode != "ignore":
        attr_mode = "step" if req.attr_mode == "rows" else req.attr_mode
    carried = attr_mode == "step"  # the attribute rides on every kept row
    names = _Names(src.categories if req.events else None)
    plan = Plan(
        bits=rb, keep_all=req.keep == "all", lo=src.lo, shift=shift, n_buckets=n_buckets,
        present=np.zeros(n_ids, dtype=bool), attr_mode=attr_mode, carry_rows=req.rows, k_steps=k_steps,
        n_attr_values=len(src.attr_values or []), carry_pos=with_pos,
        event_codes=names.lut if req.events else None, collect_used=req.used_names,
        # thinning drops rows that repeat()/after() rules count or order: not with them
        thin=req.thin if (rb is None or not rb.special) else None,
    )
    with_bits = rb is not None  # no journey: no bits column to carry, spill and sort
    progress = _progress_enabled(req.progress)
    pool = ThreadPoolExecutor(threads) if threads > 1 else None
    buckets = Buckets(n_buckets, plan.part_dtypes(), budget=req.memory_budget, tmp=tmp)
    results: list[Any] = [None] * n_buckets
    try:
        got = fill(src, plan, buckets, pool, threads, progress)
        event_names, rank = names.sorted()
        present = plan.present
        urank = np.cumsum(present, dtype=np.int64)
        n_units = int(urank[-1]) if len(urank) else 0
        width = 1 << shift
        edges = np.minimum(np.arange(n_buckets + 1, dtype=np.int64) * width, n_ids)
        code0 = np.concatenate(([0], urank))[edges]
        urank -= 1  # the code of each present id
        driven = Driven(
            unit_ids=None,  # type: ignore[arg-type]  # built last
            results=[], unit_starts=[], event_names=event_names, attr_values=list(src.attr_values or []),
            n_rows=src.n_rows, rows_kept=got.kept,
            data_start=got.t_min if got.t_min != np.iinfo(np.int64).max else int(_NAT),
            data_end=got.t_max, dropped=dict(src.dropped), spilled=bool(buckets.written), n_units=n_units,
            rows_matched=got.matched, used=got.used,
        )
        folded = attr_mode in ("range", "first_touch", "last_touch")
        if folded and _fold_early(plan, n_units):
            driven.unit_attr, driven.unit_attr_max = plan.unit_attributes(np.flatnonzero(present))
            folded = False
        if ready is not None:
            ready(driven)

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
            at = rest.pop(0) if carried else None
            row = rest.pop(0) if req.rows else None
            if ev is not None:
                ev = rank[ev]
            u = urank[j * width + off.astype(np.int64)] - a
            tail = [row] if row is not None else []
            if with_pos:
                ties = [bits] + [k for k in (ev, at) if k is not None] + tail
                perm = order(u, t, pos, ties, n_units=z - a, n_pos=len(req.steps or ()) + 1)
            else:
                ties = [k for k in (ev, at, bits) if k is not None] + tail
                perm = order(u, t, np.zeros(len(u), dtype=np.int16), ties, n_units=z - a, n_pos=1)
            if bits is None:
                bits = np.zeros(len(u), dtype=np.uint8)
            if perm is not None:
                u, t, bits = u[perm], t[perm], bits[perm]
                ev = None if ev is None else ev[perm]
                at = None if at is None else at[perm]
                row = None if row is None else row[perm]
            lo_j = j * width
            ids_of = functools.partial(_ids_of, src, present, lo_j, width)
            results[j] = bucket_fn(BucketRows(u=u, t=t, bits=bits, event=ev, attr=at, n_units=z - a,
                                              unit0=a, rules=rb, journey=journey, ids_of=ids_of, row=row,
                                              pos_in=pos, perm=perm))

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
    offsets = np.flatnonzero(present)
    if folded:
        driven.unit_attr, driven.unit_attr_max = plan.unit_attributes(offsets)
    keep_j = [j for j in range(n_buckets) if results[j] is not None]
    driven.results = [results[j] for j in keep_j]
    driven.unit_starts = [int(code0[j]) for j in keep_j]
    driven.unit_ids = src.ids_of(offsets)
    return driven


def _fold_early(plan: Plan, n_units: int) -> bool:
    """Whether to merge the folded attributes before the buckets run: when the per-thread
    accumulators (per id, per thread) take more memory than the per-unit result, so that
    the buckets run with the smaller of the two held (first/last touch: 16 bytes per id and
    thread against 8 per unit; an experiment's few variants: a flag per value, id and thread
    against 16 bytes per unit, merged after the buckets as before)."""
    held = sum(a.nbytes for acc in plan._acc for a in acc)
    return held > n_units * (16 if plan.attr_mode == "range" else 8)


def _ids_of(src: Source, present: np.ndarray, lo: int, width: int) -> pd.Index:
    """The ids of the units present in the bucket of ids ``[lo, lo + width)``."""
    return src.ids_of(np.flatnonzero(present[lo:lo + width]) + lo)


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
