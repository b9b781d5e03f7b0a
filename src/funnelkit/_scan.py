"""The columnar funnel path: event log -> per-unit funnel results, block by block (private).

When a funnel needs nothing from a row but its unit, its time and its event name
(every journey rule is a plain :class:`~funnelkit.stages.Rule` without ``where=``,
no ``by=`` breakdown), the event log does not have to become one sorted frame:

1. **scan**: the log is read in blocks (the row groups of a Parquet file, or slices
   of a normalized frame), on all cores. Each block's event names are mapped to
   kernel symbols through its own small dictionary, rows outside the funnel are
   dropped at once, and the kept rows are split by *unit range* into buckets (rows
   keep their input order inside a bucket). Every unit id is marked present, with
   or without funnel events, so units of level 0 exist as in memory.
2. **buckets**: each bucket holds whole units (a contiguous range of unit codes),
   so it is sorted by (unit, time, step position, input row) and run through the
   same kernel as the in-memory path, independently, on all cores. A bucket holds
   about ``BUCKET_ROWS`` input rows' worth of users: its arrays stay in cache and its
   temporaries are small and reused, where one sort of the whole log would touch
   fresh memory.
3. each bucket writes its units' slice of the per-unit results (bucket order is unit
   order), which become the ``units`` frame without a copy.

Out of core (``memory_budget``), buckets are appended to files in a temporary directory
whenever the rows held exceed the budget, and read back one by one in step 2. With
``attr_col`` (an experiment's variant), every row's value also updates its user's
smallest and largest value code, which tell one variant, several, or none.

The result is identical to ``prepare`` + kernel on the whole log (tested): units
are numbered by sorted id in both, the sort key is the same, and input row order
breaks the remaining ties in both.

Parquet inputs are read without building a DataFrame, and only three columns of
the funnel's rows are ever held. They must be what ``read_events`` would accept
without conversion: integer user ids with row-group statistics (min/max) and a
dense range, tz-aware timestamps, string or dictionary event names, no nulls.
Anything else raises :class:`NotApplicable` (internal), and ``funnel()`` takes the
general path, which validates and reports as usual.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import _kernels, _schema
from ._prepare import StepSpec, _sort_order, _unit_codes, plain_codes, symbol_table

__all__ = ["NotApplicable", "funnel_units", "is_plain"]

#: Rows per block of an in-memory frame.
FRAME_BLOCK_ROWS = 1 << 20
#: Target input rows per bucket (the kernel's working set); buckets are unit ranges.
BUCKET_ROWS = 1 << 17
#: Below this many input rows everything runs on the calling thread.
THREADS_MIN_ROWS = 1 << 19
#: Rows of a Parquet row group processed at once after decoding (bounds the temporaries).
SUB_BLOCK_ROWS = 1 << 18

_NS_PER = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_NS_MIN = int(pd.Timestamp.min.value)
_NS_MAX = int(pd.Timestamp.max.value)


class NotApplicable(Exception):
    """The columnar path cannot take this input as it is; the general path will."""


# --------------------------------------------------------------------------- sources


@dataclass
class _Block:
    """One block of the log: user ids (or codes), ns times, event indices into ``cats``."""

    user: np.ndarray  # int64
    t: np.ndarray  # int64 times since the epoch, UTC, in units of `t_factor` ns
    ev: np.ndarray  # integer indices into cats
    cats: tuple[str, ...]
    t_factor: int = 1  # ns per unit of `t` (the file's unit; scaled on the kept rows only)
    attr: np.ndarray | None = None  # per-user attribute (experiment variant): codes, -1 null
    attr_values: tuple[Any, ...] | None = None  # the values of those codes
    row0: int = 0  # input position of the block's first row (first/last touch ties)


@dataclass
class _Source:
    """Blocks to read, and the range of the integer user ids (or codes) they hold."""

    n_rows: int
    lo: int  # smallest user id / code
    hi: int  # largest user id / code
    n_items: int
    read: Callable[[int], list[_Block]]
    ids_of: Callable[[np.ndarray], pd.Index]  # present offsets -> unit ids
    categories: Sequence[str] | None = None  # all event names (a frame's categories)
    dropped: dict[str, int] = field(default_factory=dict)


def _frame_source(frame: pd.DataFrame, unit: str, session_col: str, attr_col: Any = None) -> _Source:
    if len(frame) == 0:
        raise NotApplicable("empty")
    attr = attr_values = None
    if attr_col is not None:
        a = frame[attr_col]
        if isinstance(a.dtype, pd.CategoricalDtype):
            attr = a.cat.codes.to_numpy()
            attr_values = tuple(a.cat.categories)
        else:
            attr, uniq = pd.factorize(a, use_na_sentinel=True)
            attr_values = tuple(uniq)
    col = _schema.USER if unit == "user" else session_col
    s = frame[col] if col in frame.columns else None
    raw = s.to_numpy() if s is not None and isinstance(s.dtype, np.dtype) and s.dtype.kind in "iu" else None
    lo = hi = 0
    if raw is not None:  # dense integer ids: blocks mark them present, no codes for every row
        lo, hi = int(raw.min()), int(raw.max())
        if hi - lo > 4 * len(raw) + 1024 or raw.dtype == np.uint64:
            raw = None
    if raw is not None:
        codes = raw
        ids = None
    else:
        codes, ids, _ = _unit_codes(frame, unit, session_col)
        lo, hi = 0, max(len(ids) - 1, 0)
    ev = frame[_schema.EVENT]
    cats = tuple(str(c) for c in ev.cat.categories)
    ev_codes = ev.cat.codes.to_numpy()
    ts = frame[_schema.TIME]
    if ts.dt.tz is None or str(ts.dt.tz) != "UTC":  # pragma: no cover - normalized frames are UTC
        raise NotApplicable("timestamps are not UTC")
    t = ts.to_numpy(dtype="datetime64[ns]").view(np.int64)
    n = len(frame)
    starts = list(range(0, n, FRAME_BLOCK_ROWS))

    def read(i: int) -> list[_Block]:
        a = starts[i]
        b = min(a + FRAME_BLOCK_ROWS, n)
        return [_Block(codes[a:b].astype(np.int64, copy=False), t[a:b], ev_codes[a:b], cats,
                       attr=None if attr is None else attr[a:b], attr_values=attr_values, row0=a)]

    def ids_of(offsets: np.ndarray) -> pd.Index:
        if ids is None:
            return pd.Index((offsets + lo).astype(s.dtype), name=col)
        return ids if len(offsets) == len(ids) else ids[offsets]

    return _Source(n_rows=n, lo=lo, hi=hi, n_items=len(starts), read=read,
                   ids_of=ids_of, categories=cats,
                   dropped=dict(frame.attrs.get("funnelkit_dropped", {}) or {}))


def _parquet_source(path: Any, attr_col: Any = None) -> _Source:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from . import io as _io

    p = Path(os.fspath(path)).expanduser()
    if p.is_dir():
        files = _io._parquet_files(p)
    elif p.is_file() and _io._suffix(p) in _io._PARQUET_SUFFIXES:
        files = [p]
    else:
        raise NotApplicable("not a Parquet file or directory")
    if not files:
        raise NotApplicable("no Parquet files")
    items: list[tuple[int, int]] = []
    item_row0: list[int] = []  # input position of each row group's first row
    lo = hi = None
    n_rows = 0
    user, time, event = _schema.USER, _schema.TIME, _schema.EVENT
    for fi, f in enumerate(files):
        try:
            md = pq.read_metadata(f)
            schema = md.schema.to_arrow_schema()
        except Exception as exc:
            raise NotApplicable(f"unreadable: {exc}") from None
        names = schema.names
        if any(names.count(c) != 1 for c in (user, time, event)):
            raise NotApplicable("columns missing or repeated")
        ut, tt, et = schema.field(user).type, schema.field(time).type, schema.field(event).type
        if not (pa.types.is_integer(ut) and not (pa.types.is_unsigned_integer(ut) and ut.bit_width == 64)):
            raise NotApplicable("user ids are not int8..int64 / uint8..uint32")
        if not (pa.types.is_timestamp(tt) and tt.tz is not None):
            raise NotApplicable("timestamps are not tz-aware")
        vt = et.value_type if pa.types.is_dictionary(et) else et
        if not (pa.types.is_string(vt) or pa.types.is_large_string(vt)):
            raise NotApplicable("event names are not strings")
        if attr_col is not None:
            if names.count(attr_col) != 1:
                raise NotApplicable("no attribute column")  # the general path names the problem
            at = schema.field(attr_col).type
            at = at.value_type if pa.types.is_dictionary(at) else at
            if not (pa.types.is_string(at) or pa.types.is_large_string(at) or pa.types.is_null(at)):
                raise NotApplicable("attribute values are not strings")
        ucol = _leaf_index(md, user)
        for rg in range(md.num_row_groups):
            rmd = md.row_group(rg)
            if rmd.num_rows == 0:
                continue
            st = rmd.column(ucol).statistics
            if st is None or not st.has_min_max:
                raise NotApplicable("no min/max statistics for the user ids")
            mn, mx = int(st.min), int(st.max)
            lo = mn if lo is None else min(lo, mn)
            hi = mx if hi is None else max(hi, mx)
            items.append((fi, rg))
            item_row0.append(n_rows)
            n_rows += rmd.num_rows
    if not n_rows or lo is None or hi is None:
        raise NotApplicable("no rows")
    if hi - lo > 4 * n_rows + 1024:
        raise NotApplicable("user ids are not dense")
    local = threading.local()

    def read(i: int) -> list[_Block]:
        fi, rg = items[i]
        handles = getattr(local, "files", None)
        if handles is None:
            handles = local.files = {}
        pf = handles.get(fi)
        if pf is None:
            dict_cols = [event] if attr_col is None else [event, attr_col]
            pf = handles[fi] = pq.ParquetFile(files[fi], read_dictionary=dict_cols)
        cols = [user, time, event] if attr_col is None else [user, time, event, attr_col]
        table = pf.read_row_group(rg, columns=cols, use_threads=False)
        out = []
        row0 = item_row0[i]
        for batch in table.to_batches():
            ua, ta, ea = batch.column(0), batch.column(1), batch.column(2)
            attr = attr_values = None
            if attr_col is not None:
                aa = batch.column(3)
                if pa.types.is_null(aa.type):  # a column with no value at all
                    attr, attr_values = np.full(len(aa), -1, dtype=np.int64), ()
                else:
                    if not pa.types.is_dictionary(aa.type):
                        aa = aa.dictionary_encode()
                    idx = aa.indices.fill_null(-1) if aa.null_count else aa.indices
                    attr, attr_values = idx.to_numpy(), tuple(aa.dictionary.to_pylist())
            if ua.null_count or ta.null_count or ea.null_count:
                raise NotApplicable("null values")
            if not pa.types.is_dictionary(ea.type):
                ea = ea.dictionary_encode()
            factor = _NS_PER[ta.type.unit]
            t = ta.view(pa.int64()).to_numpy()  # in the file's unit: no full-size ns copy
            if len(t) and factor > 1:
                lo_t, hi_t = int(t.min()), int(t.max())
                if not (_NS_MIN <= lo_t * factor and hi_t * factor <= _NS_MAX):
                    raise NotApplicable("timestamps out of the nanosecond range")
            if ua.type != pa.int64():
                ua = ua.cast(pa.int64())
            cats = tuple(ea.dictionary.to_pylist())
            if any(c is None for c in cats):  # pragma: no cover - null dictionary entries
                raise NotApplicable("null event names")
            u, ev = ua.to_numpy(), ea.indices.to_numpy()
            for a in range(0, len(t), SUB_BLOCK_ROWS):  # smaller temporaries per step
                z = a + SUB_BLOCK_ROWS
                out.append(_Block(u[a:z], t[a:z], ev[a:z], cats, factor,
                                  None if attr is None else attr[a:z], attr_values, row0 + a))
            row0 += len(t)
        return out

    def ids_of(offsets: np.ndarray) -> pd.Index:
        return pd.Index(offsets.astype(np.int64) + lo, name=_schema.USER)

    return _Source(n_rows=n_rows, lo=int(lo), hi=int(hi), n_items=len(items), read=read, ids_of=ids_of)


def _leaf_index(md: Any, name: str) -> int:
    for j in range(md.num_columns):
        if md.schema.column(j).path == name:
            return j
    raise NotApplicable(f"no leaf column {name!r}")  # pragma: no cover - nested columns


# --------------------------------------------------------------------------- plan


def is_plain(spec: StepSpec, exclude: Sequence[Any] | None) -> bool:
    """Whether the stage of an event depends only on its name (no where=, repeat, after)."""
    from .stages import Rule

    rules = [r for st in spec.journey._all_stages() for r in st.rules]
    if not all(isinstance(r, Rule) and not r.where for r in rules):
        return False
    stage_names = {st.name: st for st in spec.journey._all_stages()}
    for item in exclude or ():
        if isinstance(item, (tuple, list)) and len(item) == 3 and item[0] in stage_names:
            if not all(isinstance(r, Rule) and not r.where for r in stage_names[item[0]].rules):
                return False
    return True


def _n_threads() -> int:
    from .funnel import _n_threads as n

    return n()


@dataclass
class _Plan:
    spec: StepSpec
    exclude: Sequence[Any] | None
    keep_all: bool
    lo: int
    shift: int  # bucket b holds ids lo + [b << shift, (b + 1) << shift)
    n_buckets: int
    present: np.ndarray  # bool over hi - lo + 1 ids
    _luts: dict[tuple[str, ...], np.ndarray] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # per-user attribute: global value codes, and per thread the smallest / largest code seen
    # ("range": an experiment's variant), the first / last non-null value by (time, row)
    # ("first_touch" / "last_touch"), or the value on each kept row ("step", for step:N)
    attr_mode: str | None = None
    attr_index: dict[Any, int] = field(default_factory=dict)
    _attr_luts: dict[tuple[Any, ...], np.ndarray] = field(default_factory=dict)
    _attr_acc: list[tuple[np.ndarray, ...]] = field(default_factory=list)  # one per thread
    _local: threading.local = field(default_factory=threading.local)

    @property
    def local_dtype(self) -> Any:
        """dtype of a row's id offset within its bucket."""
        return np.uint16 if self.shift <= 16 else (np.uint32 if self.shift <= 32 else np.int64)

    def attr_lut(self, values: tuple[Any, ...]) -> np.ndarray:
        """Global codes of a block's attribute values (the last entry maps code -1 to -1)."""
        with self._lock:
            got = self._attr_luts.get(values)
            if got is None:
                idx = self.attr_index
                got = np.array([idx.setdefault(v, len(idx)) for v in values] + [-1], dtype=np.int64)
                self._attr_luts[values] = got
        return got

    def attr_acc(self) -> tuple[np.ndarray, np.ndarray]:
        """This thread's (min code, max code) per user id; combined in :meth:`attr_result`."""
        acc = getattr(self._local, "acc", None)
        if acc is None:
            n = len(self.present)
            acc = self._local.acc = (np.full(n, np.iinfo(np.int64).max, dtype=np.int64),
                                     np.full(n, -1, dtype=np.int64))
            with self._lock:
                self._attr_acc.append(acc)
        return acc

    def touch_acc(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """This thread's best (time, row, code) per user id for first/last touch."""
        acc = getattr(self._local, "touch", None)
        if acc is None:
            n = len(self.present)
            first = self.attr_mode == "first_touch"
            edge = np.iinfo(np.int64).max if first else np.iinfo(np.int64).min
            acc = self._local.touch = (np.full(n, edge, dtype=np.int64), np.full(n, edge, dtype=np.int64),
                                       np.full(n, -1, dtype=np.int64))
            with self._lock:
                self._attr_acc.append(acc)
        return acc

    def touch_result(self) -> np.ndarray:
        """Per user id: the code of the first (last) non-null value, -1 for none."""
        first = self.attr_mode == "first_touch"
        if not self._attr_acc:
            return np.full(len(self.present), -1, dtype=np.int64)
        bt, br, bc = self._attr_acc[0]
        for t, r, c in self._attr_acc[1:]:
            better = (t < bt) | ((t == bt) & (r < br)) if first else (t > bt) | ((t == bt) & (r > br))
            better &= c >= 0
            bt[better], br[better], bc[better] = t[better], r[better], c[better]
        return bc

    def values(self) -> list[Any]:
        values = [None] * len(self.attr_index)
        for v, c in self.attr_index.items():
            values[c] = v
        return values

    def attr_result(self) -> tuple[np.ndarray, np.ndarray, list[Any]] | None:
        """Per user id: smallest and largest attribute code (-1: none), and the values."""
        if not self._attr_acc:
            return None
        vmin, vmax = self._attr_acc[0]
        for a, b in self._attr_acc[1:]:
            np.minimum(vmin, a, out=vmin)
            np.maximum(vmax, b, out=vmax)
        return vmin, vmax, self.values()

    def lut(self, cats: tuple[str, ...]) -> np.ndarray:
        got = self._luts.get(cats)
        if got is None:
            syms = symbol_table(self.spec, cats, self.exclude, check_events=False)
            # overlaps are checked once, on the names present in the data (funnel_units)
            code = plain_codes(self.spec, syms, cats, check_overlap=False)
            if code is None:  # pragma: no cover - checked by is_plain
                raise NotApplicable("rules need more than event names")
            with self._lock:
                self._luts[cats] = got = code
        return got


@dataclass
class _Scanned:
    buckets: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]]
    used: set[str]
    kept: int
    t_max: int
    spill: Any = None  # _Spill holding the parts written to disk, if any


def _scan_block(blk: _Block, plan: _Plan) -> tuple[list[Any], set[str], int, int]:
    """One block: mark its units present, keep the funnel's rows, split them by bucket.

    Each bucket part holds the rows' id offsets *within the bucket* (uint16 when a
    bucket spans at most 65,536 ids), their ns times and kernel symbols, in input order.
    """
    lut = plan.lut(blk.cats)
    used_mask = np.zeros(len(blk.cats), dtype=bool)
    used_mask[blk.ev] = True
    used = {c for c, m in zip(blk.cats, used_mask) if m}
    off = blk.user - plan.lo if plan.lo else blk.user
    plan.present[off] = True
    g = None
    if blk.attr is not None:  # the user's attribute, over all of their rows
        g = plan.attr_lut(blk.attr_values)[blk.attr]  # -1 (null) indexes the final -1
        if plan.attr_mode == "range":
            ok = np.flatnonzero(g >= 0)
            vmin, vmax = plan.attr_acc()
            np.minimum.at(vmin, off[ok], g[ok])
            np.maximum.at(vmax, off[ok], g[ok])
        elif plan.attr_mode in ("first_touch", "last_touch"):
            _touch(plan, off, blk, g)
    t_max = int(blk.t.max()) * blk.t_factor if len(blk.t) else _NS_MIN
    code = lut[blk.ev]
    step_attr = plan.attr_mode == "step" and g is not None
    gk = None
    if plan.keep_all:  # strict funnels: every event matters
        uk, tk, ck = off, blk.t, code
        kept = int(np.count_nonzero(code >= 0))
        if step_attr:
            gk = g.astype(np.int32)
    else:
        keep = np.flatnonzero(code >= 0)
        uk, tk, ck = off[keep], blk.t[keep], code[keep]
        kept = len(uk)
        if step_attr:
            gk = g[keep].astype(np.int32)
    if blk.t_factor != 1:
        tk = tk * blk.t_factor  # range checked by the source
    out: list[Any] = [None] * plan.n_buckets
    local_type = plan.local_dtype
    if plan.n_buckets == 1:
        out[0] = (uk.astype(local_type), tk, ck) + (() if gk is None else (gk,))
        return out, used, kept, t_max
    b = (uk >> plan.shift).astype(np.uint16 if plan.n_buckets <= 1 << 16 else np.int64)
    order = np.argsort(b, kind="stable")  # radix sort for 16-bit keys; keeps input order
    cnt = np.bincount(b, minlength=plan.n_buckets)
    bounds = np.concatenate(([0], np.cumsum(cnt)))
    uk = uk[order]
    uk &= (1 << plan.shift) - 1  # offset within the bucket
    uk = uk.astype(local_type)
    tk, ck = tk[order], ck[order]
    if gk is not None:
        gk = gk[order]
    for j in np.flatnonzero(cnt):
        a, z = int(bounds[j]), int(bounds[j + 1])
        out[j] = (uk[a:z], tk[a:z], ck[a:z]) + (() if gk is None else (gk[a:z],))
    return out, used, kept, t_max


def _touch(plan: _Plan, off: np.ndarray, blk: _Block, g: np.ndarray) -> None:
    """Fold a block's non-null values into this thread's first (last) touch per user.

    The best row of a user is the smallest (largest) (time, input row) among its rows
    with a value. Per block: the best time per user (ufunc ``at``), users whose best time
    changed forget their best row, then the best row among the rows at the best time, and
    the code of that row (rows are unique, so one row wins).
    """
    first = plan.attr_mode == "first_touch"
    ok = np.flatnonzero(g >= 0)
    if not len(ok):
        return
    u = off[ok]
    t = blk.t[ok] * blk.t_factor if blk.t_factor != 1 else blk.t[ok]
    row = ok + blk.row0
    code = g[ok]
    bt, br, bc = plan.touch_acc()
    before = bt[u]
    (np.minimum if first else np.maximum).at(bt, u, t)
    now = bt[u]
    moved = u[now != before]
    br[moved] = np.iinfo(np.int64).max if first else np.iinfo(np.int64).min
    at_best = np.flatnonzero(t == now)
    (np.minimum if first else np.maximum).at(br, u[at_best], row[at_best])
    win = at_best[row[at_best] == br[u[at_best]]]
    bc[u[win]] = code[win]


class _Spill:
    """Bucket parts written to disk, in input order: one raw file per bucket and array."""

    def __init__(self, root: Path, dtypes: Sequence[Any]) -> None:
        self.root, self.dtypes = root, [np.dtype(d) for d in dtypes]
        self.rows: dict[int, int] = {}
        self.written = 0  # rows written in all

    def _path(self, j: int, k: int) -> Path:
        return self.root / f"bucket-{j}.{k}.bin"

    def write(self, j: int, parts: list[tuple[np.ndarray, ...]]) -> None:
        for k, dt in enumerate(self.dtypes):
            with open(self._path(j, k), "ab") as fh:
                for part in parts:
                    np.ascontiguousarray(part[k], dtype=dt).tofile(fh)
        n = sum(len(p[0]) for p in parts)
        self.rows[j] = self.rows.get(j, 0) + n
        self.written += n

    def take(self, j: int) -> tuple[np.ndarray, ...] | None:
        """The bucket's spilled rows (files removed), or None."""
        if j not in self.rows:
            return None
        out = []
        for k, dt in enumerate(self.dtypes):
            path = self._path(j, k)
            out.append(np.fromfile(path, dtype=dt))
            path.unlink()
        del self.rows[j]
        return tuple(out)


def _ordered_map(pool: ThreadPoolExecutor | None, fn: Callable[[int], Any], n: int, ahead: int) -> Any:
    """``map(fn, range(n))`` in order, with at most ``ahead`` calls running or waiting to be
    consumed (``pool.map`` would submit all of them and hold every result)."""
    if pool is None:
        yield from map(fn, range(n))
        return
    from collections import deque

    pending: deque[Any] = deque()
    nxt = 0
    while nxt < n or pending:
        while nxt < n and len(pending) < ahead:
            pending.append(pool.submit(fn, nxt))
            nxt += 1
        yield pending.popleft().result()


def _scan(src: _Source, plan: _Plan, pool: ThreadPoolExecutor | None, *, threads: int,
          budget: int | None = None, spill: _Spill | None = None, bar: Any = None) -> _Scanned:
    buckets: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = [[] for _ in range(plan.n_buckets)]
    used: set[str] = set()
    kept = 0
    t_max = _NS_MIN
    held = 0  # bytes of bucket parts in memory

    def work(i: int) -> list[Any]:
        return [_scan_block(blk, plan) for blk in src.read(i)]

    for res in _ordered_map(pool, work, src.n_items, 2 * threads):  # in block order: input order
        for parts, u, k, tm in res:
            for j, part in enumerate(parts):
                if part is not None:
                    buckets[j].append(part)
                    held += sum(a.nbytes for a in part)
            used |= u
            kept += k
            t_max = max(t_max, tm)
        if budget is not None and spill is not None and held > budget:
            for j, bparts in enumerate(buckets):
                if bparts:
                    spill.write(j, bparts)
                    buckets[j] = []
            held = 0
        if bar is not None:
            bar.update(1)
    return _Scanned(buckets, used, kept, t_max, spill)


# --------------------------------------------------------------------------- buckets


def _bucket_order(u: np.ndarray, t: np.ndarray, pos: np.ndarray, n_units: int, n_pos: int) -> np.ndarray | None:
    """Permutation sorting a bucket by (unit, time, position), input order breaking ties.

    When the rows are already in time order (most exports), a stable radix sort on the
    unit code does it, unless two rows of a unit share a timestamp with their funnel
    positions out of order; otherwise the packed-key sort of ``prepare``. None when
    the rows are sorted already.
    """
    n = len(u)
    if n < 2:
        return None
    if bool((u[1:] >= u[:-1]).all()):
        same = u[1:] == u[:-1]
        if not ((t[1:] < t[:-1]) & same).any() and not ((t[1:] == t[:-1]) & same & (pos[1:] < pos[:-1])).any():
            return None
    elif bool((t[1:] >= t[:-1]).all()) and n_units <= 1 << 32:
        if n_units <= 1 << 16:
            order = np.argsort(u.astype(np.uint16), kind="stable")
        else:
            o1 = np.argsort((u & 0xFFFF).astype(np.uint16), kind="stable")
            o2 = np.argsort((u[o1] >> 16).astype(np.uint16), kind="stable")
            order = o1[o2]
        us, ts = u[order], t[order]
        tie = (us[1:] == us[:-1]) & (ts[1:] == ts[:-1])
        if not tie.any():
            return order
        ps = pos[order]
        if not (tie & (ps[1:] < ps[:-1])).any():
            return order
    return _sort_order(u, t, pos, n_units=n_units, n_pos=n_pos)


def _run_buckets(scanned: _Scanned, plan: _Plan, rank: np.ndarray, kern: Any, K: int, start_ns: int | None,
                 end_ns: int | None, pool: ThreadPoolExecutor | None, *, threads: int = 1,
                 bar: Any = None, step_attr: int | None = None,
                 step_attr_out: np.ndarray | None = None) -> _kernels.KernelResult:
    """Sort and run every bucket; each writes its units' slice of the preallocated outputs.

    With ``step_attr`` (0-based step), the bucket parts carry each row's attribute code
    and ``step_attr_out`` gets, per unit, the code on the reported attempt's event of
    that step (-1: not reached, or no value).
    """
    spec = plan.spec
    n_units = int(rank[-1]) + 1 if len(rank) else 0
    out = _kernels.KernelResult(
        level=np.zeros(n_units, dtype=np.int16),
        step_time=np.empty((n_units, K), dtype=np.int64, order="F"),  # columns: the units frame
        step_pos=np.empty((0, K), dtype=np.int64),  # bucket positions: not meaningful here
        excluded=np.zeros(n_units, dtype=bool),
        n_attempts=np.zeros(n_units, dtype=np.int64),
    )
    pos_lut = np.full(1 << 16, K, dtype=np.int16)  # kernel symbol (int16 as uint16) -> position
    for k in range(K - 1, -1, -1):
        pos_lut[int(spec.steps[k])] = k
    width = 1 << plan.shift
    n_ids = len(plan.present)
    # first unit code of each bucket
    edges = np.minimum(np.arange(plan.n_buckets + 1, dtype=np.int64) * width, n_ids)
    code0 = np.concatenate(([0], np.cumsum(plan.present, dtype=np.int64)))[edges]

    def work(j: int) -> None:
        a, z = int(code0[j]), int(code0[j + 1])
        if z > a:
            res, byc = run(j)
            out.level[a:z] = res.level
            out.step_time[a:z] = res.step_time
            out.excluded[a:z] = res.excluded
            out.n_attempts[a:z] = res.n_attempts
            if step_attr is not None:  # the value on the reported attempt's step-N event
                pos = res.step_pos[:, step_attr]
                got = np.full(z - a, -1, dtype=np.int64)
                if byc is not None:
                    hit = pos >= 0
                    got[hit] = byc[pos[hit]]
                step_attr_out[a:z] = got

    def run(j: int) -> tuple[_kernels.KernelResult, np.ndarray | None]:
        """The kernel's result on bucket ``j``, and its rows' attribute codes in kernel order."""
        parts = scanned.buckets[j]
        scanned.buckets[j] = []  # free the parts once this bucket is done
        spilled = None if scanned.spill is None else scanned.spill.take(j)
        if spilled is not None:  # rows written to disk come first: they were read first
            parts = [spilled, *parts]
        nb = int(code0[j + 1] - code0[j])
        if not parts:
            return kern(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int16), nb, None), None
        width_p = len(parts[0])
        if len(parts) == 1:
            cols = parts[0]
        else:
            cols = tuple(np.concatenate([p[i] for p in parts]) for i in range(width_p))
        del parts
        off, t, c = cols[:3]
        byc = cols[3] if width_p > 3 else None
        first = j * width
        local_rank = rank[first:first + width] - code0[j]  # bucket-local unit codes
        u = local_rank[off]
        order = _bucket_order(u, t, pos_lut[c.view(np.uint16)], nb, K + 1)
        if order is not None:
            u, t, c = u[order], t[order], c[order]
            if byc is not None:
                byc = byc[order]
        can = None
        if start_ns is not None or end_ns is not None:
            can = np.ones(len(t), dtype=bool)
            if start_ns is not None:
                can &= t >= start_ns
            if end_ns is not None:
                can &= t < end_ns
        return kern(u, t, c, nb, can), byc

    for _ in _ordered_map(pool, work, plan.n_buckets, 2 * threads):
        if bar is not None:
            bar.update(1)
    return out


# --------------------------------------------------------------------------- entry point


@dataclass
class FastUnits:
    """What the columnar path hands back to ``funnel()``."""

    kres: _kernels.KernelResult  # step_pos is not filled
    unit_ids: pd.Index
    n_rows: int
    rows_in_funnel: int
    data_end: int
    dropped: dict[str, int]
    exclude: list[tuple[int, int, int]]
    spilled: bool = False
    attr: tuple[np.ndarray, np.ndarray, list[Any]] | None = None  # per unit: min/max code, values


def funnel_units(
    events: Any,
    spec: StepSpec,
    *,
    kern: Callable[[list[tuple[int, int, int]]], Any],
    keep_all: bool,
    exclude: Sequence[Any] | None,
    unit: str,
    session_col: str,
    start_ns: int | None,
    end_ns: int | None,
    check_events: bool = True,
    memory_budget: int | None = None,
    tmp_dir: Any = None,
    progress: bool = False,
    attr_col: Any = None,
    attr_mode: str = "range",
) -> FastUnits:
    """Per-unit kernel results of a funnel computed block by block (see the module docstring).

    ``events`` is a path (Parquet) or a normalized frame. ``kern(exclude)`` returns
    the kernel to run, ``f(unit, t, code, n_units, can_start) -> KernelResult``, for
    the exclusion triples. Raises :class:`NotApplicable` when the input is not one
    this path takes; funnelkit errors (typos, overlapping rules...) as ``prepare``.

    With ``memory_budget`` (bytes), the funnel rows held in memory during the scan stay
    under it: beyond, every bucket's rows so far are appended to its files in a
    temporary directory (in ``tmp_dir``), and each bucket is read back when its turn
    comes. Memory is then about the budget, plus one block per thread, plus the
    per-unit results (``2 + 8*K + 9`` bytes per unit). ``progress`` shows bars on stderr.

    ``attr_col`` is read for every row. With ``attr_mode="range"`` (an experiment's
    variant column) each unit gets the smallest and largest code of its non-null values
    (``FastUnits.attr = (min, max, values)``): equal codes mean one value, different
    codes several, -1 none. With ``"first_touch"``, ``"last_touch"`` or ``"step:N"`` (a
    ``by=`` breakdown) each unit gets one code (``FastUnits.attr = (code, None,
    values)``, -1 for none), as ``funnel._attribute`` attributes it.
    """
    if not is_plain(spec, exclude):
        raise NotApplicable("rules need more than event names")
    if isinstance(events, pd.DataFrame):
        src = _frame_source(events, unit, session_col, attr_col)
    elif isinstance(events, (str, os.PathLike)):
        if unit != "user":
            raise NotApplicable("sessions are computed in memory")
        src = _parquet_source(events, attr_col)
    else:  # pragma: no cover - callers pass paths or normalized frames
        raise NotApplicable("not a path or a frame")
    if src.categories is not None and check_events:
        spec.journey.check_events(src.categories)
    step_attr = None
    if attr_col is not None and attr_mode.startswith("step:"):
        try:
            step_attr = int(attr_mode.split(":", 1)[1]) - 1
        except ValueError:
            step_attr = -1
        if not 0 <= step_attr < len(spec.steps):
            raise NotApplicable("bad step:N")  # the general path raises the error
        attr_mode = "step"
    n_ids = src.hi - src.lo + 1
    n_buckets_want = max(1, -(-src.n_rows // BUCKET_ROWS))
    threads = _n_threads() if src.n_rows >= THREADS_MIN_ROWS else 1
    if threads > 1:
        n_buckets_want = max(n_buckets_want, 2 * threads)
    shift = max(0, int(np.ceil(np.log2(max(n_ids / n_buckets_want, 1)))))
    n_buckets = -(-n_ids // (1 << shift))
    plan = _Plan(spec=spec, exclude=exclude, keep_all=keep_all, lo=src.lo, shift=shift, n_buckets=n_buckets,
                 present=np.zeros(n_ids, dtype=bool), attr_mode=None if attr_col is None else attr_mode)
    pool = ThreadPoolExecutor(threads) if threads > 1 else None
    tmp = None
    spill = None
    if memory_budget is not None:
        import tempfile

        tmp = Path(tempfile.mkdtemp(prefix="funnelkit-buckets-", dir=None if tmp_dir is None else os.fspath(tmp_dir)))
        spill = _Spill(tmp, [plan.local_dtype, np.int64, np.int16] + ([np.int32] if step_attr is not None else []))
    from ._progress import _Bar

    bar = _Bar(src.n_items, "funnelkit 1/2: reading", "blocks", progress)
    try:
        try:
            scanned = _scan(src, plan, pool, threads=threads, budget=memory_budget, spill=spill, bar=bar)
        finally:
            bar.close()
        names = sorted(scanned.used)
        if src.categories is None and check_events:
            spec.journey.check_events(names)
        syms = symbol_table(spec, names if src.categories is None else src.categories, exclude,
                            check_events=check_events)
        plain_codes(spec, syms, names)  # overlapping rules among the events present
        present = plan.present
        rank = np.cumsum(present, dtype=np.int32 if len(present) < 2**31 else np.int64)  # unit code per id
        rank -= 1
        n_units = int(rank[-1]) + 1 if len(rank) else 0
        excl = list(syms.exclude)
        bar = _Bar(plan.n_buckets, "funnelkit 2/2: funnel per bucket", "buckets", progress)
        try:
            step_out = None if step_attr is None else np.full(n_units, -1, dtype=np.int64)
            kres = _run_buckets(scanned, plan, rank, kern(excl), len(spec.steps), start_ns, end_ns, pool,
                                threads=threads, bar=bar, step_attr=step_attr, step_attr_out=step_out)
        finally:
            bar.close()
    finally:
        if pool is not None:
            pool.shutdown()
        if tmp is not None:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    assert len(kres.level) == n_units
    offsets = np.flatnonzero(present)
    attr = None
    if attr_col is not None and plan.attr_mode == "step":
        attr = (step_out, None, plan.values())
    elif attr_col is not None and plan.attr_mode in ("first_touch", "last_touch"):
        attr = (plan.touch_result()[offsets], None, plan.values())
    elif attr_col is not None:
        got = plan.attr_result()
        if got is None:  # no rows at all
            attr = (np.full(n_units, -1, np.int64), np.full(n_units, -1, np.int64), [])
        else:
            vmin, vmax, values = got
            vmin, vmax = vmin[offsets], vmax[offsets]
            vmin[vmax < 0] = -1
            attr = (vmin, vmax, values)
    return FastUnits(
        kres=kres,
        unit_ids=src.ids_of(offsets),
        n_rows=src.n_rows,
        rows_in_funnel=scanned.kept,
        data_end=scanned.t_max,
        dropped=src.dropped,
        exclude=excl,
        spilled=spill is not None and bool(spill.written),
        attr=attr,
    )
