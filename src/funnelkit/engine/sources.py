"""Sources: an event log as blocks of only the columns a computation needs (private).

A :class:`Source` tells the engine how many rows the log has, the range of its unit
codes, and how to read block ``i`` (:class:`Block`): unit ids or codes, times, event
indices into the block's own small dictionary of names, the ``where=`` columns of the
block and the global code of the attribute (``by=`` value, experiment variant) of each
row. Blocks are read in parallel by the engine.

Where the data comes from:

* a normalized pandas frame (:func:`frame_source`): 1M-row slices. Arrow tables,
  polars frames and anything else :func:`funnelkit.read_events` takes are normalized
  by the io layer first (validation and messages live there), then sliced;
* a Parquet file or a directory of files (:func:`parquet_source`): row groups read
  straight from the file, only the needed columns, when the file holds what
  ``read_events`` would accept without conversion (tz-aware times, string event
  names, integer or string unit ids, no nulls per the row-group statistics). Other
  files are read and validated by ``read_events`` and then sliced like a frame, so
  every problem gets the io layer's message.

Unit codes. Integer ids in a dense range are used as they are (offsets from the
smallest). Any other ids -- strings (UUIDs, GA4's ``user_pseudo_id``), sparse
integers -- get codes from **one global sorted dictionary**: for a frame, the
categories of the normalized column; for Parquet, the row groups' own dictionaries
merged in a first pass over that column alone (never a frame of 10M strings), each row
group's dictionary mapped once to global codes. Units are therefore numbered by sorted
id everywhere, and results never depend on how the log was read.

Attribute codes are global too, and sorted by value, so that ties ("the first value
at the earliest time") are broken by value and not by row order.
"""

from __future__ import annotations

import numbers
import os
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..io import _duplicates as _dup
from ..io import _names
from ..io import columns as _columns
from ..io import normalize as _schema
from .._params import cut_text, cut_value
from ..errors import ColumnTypeError, MissingColumnError, ParameterError, TimestampError
from ._parallel import n_threads

__all__ = ["Block", "Source", "frame_source", "parquet_source", "unit_codes", "sorted_codes"]

#: Rows per block of an in-memory frame.
FRAME_BLOCK_ROWS = 1 << 20
#: Rows of a Parquet row group processed at once after decoding (bounds the temporaries).
SUB_BLOCK_ROWS = 1 << 18

_NS_PER = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_NS_MIN = int(pd.Timestamp.min.value)
_NS_MAX = int(pd.Timestamp.max.value)


class _Declined(Exception):
    """This Parquet file needs the io layer (conversion, validation or its messages)."""


@dataclass
class Block:
    """One block of the log (positional arrays of equal length)."""

    unit: np.ndarray  # int64 unit ids (dense integer range) or global unit codes
    t: np.ndarray  # int64 times since the epoch, UTC, in units of `t_factor` ns
    ev: np.ndarray  # integer indices into `cats`
    cats: tuple[str, ...]
    t_factor: int = 1
    attr: np.ndarray | None = None  # int64 global attribute codes (-1: null)
    props: Mapping[Any, pd.Series] = field(default_factory=dict)  # where= columns, positional
    row0: int = 0  # input position of the block's first row


@dataclass
class Source:
    """Blocks to read, and the range of the unit ids (or codes) they hold."""

    n_rows: int
    lo: int  # smallest unit id / code
    hi: int  # largest unit id / code
    n_items: int
    read: Callable[[int], Iterable[Block]]  # the blocks of item i, in input order
    ids_of: Callable[[np.ndarray], pd.Index]  # present offsets -> unit ids
    unit_name: str
    categories: Sequence[str] | None = None  # every event name, when known up front
    attr_values: list[Any] | None = None  # value of each attribute code
    dropped: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------- codes


def _value_order(values: Sequence[Any]) -> list[int]:
    """Positions of ``values`` in sorted order (by type name, then repr, when they do not compare)."""
    idx = list(range(len(values)))
    try:
        return sorted(idx, key=values.__getitem__)
    except TypeError:
        return sorted(idx, key=lambda i: (type(values[i]).__name__, repr(values[i])))


def _kind(v: Any) -> str:
    """The kind of an attribute value: numbers (ints, floats, Decimals) are one kind."""
    if isinstance(v, (bool, np.bool_)):
        return "bool"
    if isinstance(v, (numbers.Number, Decimal)) and not isinstance(v, (bool, np.bool_)):
        return "number"
    if isinstance(v, (str, np.str_)):
        return "str"
    return type(v).__name__


def _check_attr_values(s: pd.Series, uniq: Sequence[Any], purpose: str) -> None:
    """Refuse attribute values of mixed kinds (``1`` and ``'1'``: distinct values that print
    the same label), on the distinct values only (a few per column)."""
    if not (s.dtype == object or isinstance(s.dtype, pd.CategoricalDtype)):
        return
    from pandas.api.types import infer_dtype

    if infer_dtype(uniq, skipna=True) in ("string", "integer", "floating", "mixed-integer-float",
                                          "boolean", "decimal", "empty", "datetime", "date"):
        return
    kinds: dict[str, Any] = {}
    for v in uniq:
        kinds.setdefault(_kind(v), v)
        if len(kinds) > 1:
            break
    if len(kinds) < 2:
        return
    (k1, v1), (k2, v2) = list(kinds.items())[:2]
    vals = s.to_numpy(dtype=object)
    r1 = _first_row(vals, v1, k1)
    r2 = _first_row(vals, v2, k2)
    raise ColumnTypeError(
        f"Column {s.name!r} (needed for {purpose}) mixes values of different types: "
        f"{cut_value(v1)} ({type(v1).__name__}) at row {r1} and {cut_value(v2)} "
        f"({type(v2).__name__}) at row {r2}. They are different values that may print the same "
        "label, so units would be split between them or match neither. Fix: give the column one "
        f"type first, e.g. events[{s.name!r}] = events[{s.name!r}].astype(str) (or pd.to_numeric)."
    )


def _first_row(vals: np.ndarray, v: Any, kind: str) -> int:
    """Row of the first value of ``kind`` equal to ``v`` (error path only)."""
    for i, x in enumerate(vals):
        if _kind(x) == kind and x == v:
            return i
    return 0  # pragma: no cover


def _unhashable_error(s: pd.Series, purpose: str) -> ColumnTypeError:
    vals = s.to_numpy(dtype=object)
    i, v = next(((i, x) for i, x in enumerate(vals) if not isinstance(x, Hashable)), (0, vals[0] if len(vals) else None))
    return ColumnTypeError(
        f"Column {s.name!r} (needed for {purpose}) holds {type(v).__name__} values, e.g. "
        f"{cut_value(v)} at row {i}; a breakdown or variant needs one plain value per event "
        "(a string, a number, a boolean). Fix: pick a field first, e.g. "
        f"events['plan'] = events[{s.name!r}].str.get('plan') (or .map(str) to group by the "
        "whole value)."
    )


def sorted_codes(s: pd.Series, *, purpose: str = "this computation") -> tuple[np.ndarray, list[Any]]:
    """int64 codes of ``s`` numbered by sorted value (-1 for nulls), and the values.

    Values of mixed types (``1`` and ``'1'``) and unhashable values (dicts, lists: Arrow
    structs) raise :class:`~funnelkit.errors.ColumnTypeError`; numbers of different types
    (``1`` and ``1.5``) are one kind and compare as numbers.
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy().astype(np.int64)
        uniq = list(s.cat.categories)
    else:
        try:
            codes, u = pd.factorize(s, use_na_sentinel=True)
        except TypeError:
            raise _unhashable_error(s, purpose) from None
        codes = codes.astype(np.int64, copy=False)
        uniq = list(u)
    _check_attr_values(s, uniq, purpose)
    order = _value_order(uniq)
    rank = np.empty(len(uniq) + 1, dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(uniq))
    rank[-1] = -1  # code -1 indexes the last entry
    return rank[codes], [uniq[i] for i in order]


def unit_codes(frame: pd.DataFrame, col: str) -> tuple[np.ndarray, pd.Index]:
    """int64 code per row (units numbered by sorted id) and the id of each code."""
    s = frame[col]
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy().astype(np.int64, copy=False)
        cats = s.cat.categories
        if (codes < 0).any():
            raise ParameterError(f"Column {col!r} has null values; units must be defined for every event.")
        if not cats.is_monotonic_increasing:
            codes, values = sorted_codes(s)
            return codes, pd.Index(values, name=col)
        used = np.zeros(len(cats), dtype=bool)
        used[codes] = True
        if used.all():
            return codes, pd.Index(cats, name=col)
        remap = np.cumsum(used) - 1
        return remap[codes].astype(np.int64), pd.Index(cats[used], name=col)
    if s.isna().any():
        raise ParameterError(
            f"Column {col!r} has null values; units must be defined for every event. "
            f"Fix: fill or drop them (e.g. events.dropna(subset=[{col!r}]))."
        )
    if s.dtype.kind in "iu" and len(s):
        v = s.to_numpy()
        lo, hi = int(v.min()), int(v.max())
        if hi - lo <= 4 * len(v) + 1024:  # dense ids: a lookup table instead of hashing
            off = (v - lo).astype(np.intp, copy=False)
            present = np.zeros(hi - lo + 1, dtype=bool)
            present[off] = True
            rank = np.cumsum(present, dtype=np.int64) - 1
            ids = (np.flatnonzero(present) + lo).astype(s.dtype, copy=False)
            return rank[off], pd.Index(ids, name=col)
    codes, uniques = pd.factorize(s, sort=True)
    return codes.astype(np.int64, copy=False), pd.Index(uniques, name=col)


# --------------------------------------------------------------------------- frames


def _check_columns(columns: Sequence[Any], *, unit_col: str, attr_col: Any, props: Sequence[Any],
                   attr_purpose: str) -> None:
    """The columns a computation needs, with the same message for a frame and a file."""
    from ..errors import JourneyError

    columns = list(columns)
    if unit_col != _names.USER and unit_col not in columns:
        raise MissingColumnError(
            f"unit='session' needs a {unit_col!r} column, which the event log does not have. "
            f"Fix: run events = funnelkit.sessionize(events, timeout='30min') first."
        )
    if attr_col is not None:
        _columns.require_columns(pd.DataFrame(columns=columns), [attr_col], purpose=attr_purpose)
    for col in props:
        if col not in columns:
            raise JourneyError(
                f"A journey rule has where={{{col!r}: ...}} but the event log has no column {col!r}. "
                f"Available columns: {', '.join(map(str, columns))}."
            )



def frame_source(frame: pd.DataFrame, *, unit_col: str, attr_col: Any = None,
                 props: Sequence[Any] = (), attr_purpose: str = "this computation") -> Source:
    """Blocks of a normalized frame (see the module docstring)."""
    _check_columns(frame.columns, unit_col=unit_col, attr_col=attr_col, props=props, attr_purpose=attr_purpose)
    attr = attr_values = None
    if attr_col is not None:
        attr, attr_values = sorted_codes(frame[attr_col], purpose=attr_purpose)
    s = frame[unit_col]
    raw = s.to_numpy() if isinstance(s.dtype, np.dtype) and s.dtype.kind in "iu" else None
    lo = hi = 0
    if raw is not None and len(raw):
        lo, hi = int(raw.min()), int(raw.max())
        if hi - lo > 4 * len(raw) + 1024 or raw.dtype == np.uint64:
            raw = None
    if raw is not None:
        codes, ids = raw, None
    else:
        codes, ids = unit_codes(frame, unit_col)
        lo, hi = 0, max(len(ids) - 1, 0)
    ev = frame[_names.EVENT]
    cats = tuple(str(c) for c in ev.cat.categories)
    ev_codes = ev.cat.codes.to_numpy()
    t = frame[_names.TIME].to_numpy(dtype="datetime64[ns]").view(np.int64)
    n = len(frame)
    starts = list(range(0, n, FRAME_BLOCK_ROWS))
    prop_cols = {c: frame[c] for c in props}

    def read(i: int) -> list[Block]:
        a = starts[i]
        b = min(a + FRAME_BLOCK_ROWS, n)
        pr = {c: s_.iloc[a:b].reset_index(drop=True) for c, s_ in prop_cols.items()}
        return [Block(codes[a:b].astype(np.int64, copy=False), t[a:b], ev_codes[a:b], cats,
                      attr=None if attr is None else attr[a:b], props=pr, row0=a)]

    def ids_of(offsets: np.ndarray) -> pd.Index:
        if ids is None:
            return pd.Index((offsets + lo).astype(s.dtype), name=unit_col)
        return ids if len(offsets) == len(ids) else ids[offsets]

    return Source(n_rows=n, lo=lo, hi=hi, n_items=len(starts), read=read, ids_of=ids_of,
                  unit_name=unit_col, categories=cats, attr_values=attr_values,
                  dropped=dict(frame.attrs.get("funnelkit_dropped", {}) or {}))


# --------------------------------------------------------------------------- Parquet


def _is_text(t: Any) -> bool:
    import pyarrow as pa

    t = t.value_type if pa.types.is_dictionary(t) else t
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _leaf_index(md: Any, name: str) -> int:
    for j in range(md.num_columns):
        if md.schema.column(j).path == name:
            return j
    raise _Declined(f"no leaf column {name!r}")


@dataclass
class _Files:
    files: list[Path]
    items: list[tuple[int, int]]  # (file, row group)
    row0: list[int]
    n_rows: int
    lo: int | None
    hi: int | None
    unit_is_int: bool


def _inspect(path: Any, unit_col: str, attr_col: Any, props: Sequence[Any]) -> _Files:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..io import read as _io

    p = Path(os.fspath(path)).expanduser()
    if p.is_dir():
        files = _io._parquet_files(p)
        if any("=" in part for f in files for part in f.relative_to(p).parts[:-1]):
            raise _Declined("partition directories become columns")
    elif p.is_file() and _io._suffix(p) in _io._PARQUET_SUFFIXES:
        files = [p]
    else:
        raise _Declined("not a Parquet file or directory")
    if not files:
        raise _Declined("no Parquet files")
    items: list[tuple[int, int]] = []
    row0: list[int] = []
    lo = hi = None
    n_rows = 0
    unit_is_int = None
    need = [unit_col, _names.TIME, _names.EVENT]
    for fi, f in enumerate(files):
        try:
            md = pq.read_metadata(f)
            schema = md.schema.to_arrow_schema()
        except Exception:
            raise _Declined("unreadable") from None
        names = schema.names
        if any(names.count(c) != 1 for c in need + [c for c in [attr_col, *props] if c is not None]):
            raise _Declined("columns missing or repeated")
        ut, tt, et = schema.field(unit_col).type, schema.field(_names.TIME).type, schema.field(_names.EVENT).type
        is_int = pa.types.is_integer(ut) and not (pa.types.is_unsigned_integer(ut) and ut.bit_width == 64)
        if not (is_int or _is_text(ut)):
            raise _Declined("unit ids are neither integers nor strings")
        if unit_is_int is None:
            unit_is_int = is_int
        elif unit_is_int != is_int:
            raise _Declined("files disagree on the unit id type")
        if not (pa.types.is_timestamp(tt) and tt.tz is not None):
            raise _Declined("timestamps are not tz-aware")
        if not _is_text(et):
            raise _Declined("event names are not strings")
        if attr_col is not None and pa.types.is_nested(schema.field(attr_col).type):
            raise _Declined("nested attribute values: the io layer reports them")
        leaves = [_leaf_index(md, c) for c in need]
        for rg in range(md.num_row_groups):
            rmd = md.row_group(rg)
            if rmd.num_rows == 0:
                continue
            for j in leaves:
                st = rmd.column(j).statistics
                if st is None or not st.has_null_count or st.null_count:
                    raise _Declined("nulls, or no statistics to rule them out")
            st = rmd.column(leaves[0]).statistics
            if is_int:
                if not st.has_min_max:
                    unit_is_int = False  # sparse/unknown range: use the dictionary
                else:
                    mn, mx = int(st.min), int(st.max)
                    lo = mn if lo is None else min(lo, mn)
                    hi = mx if hi is None else max(hi, mx)
            items.append((fi, rg))
            row0.append(n_rows)
            n_rows += rmd.num_rows
    if not n_rows:
        raise _Declined("no rows")
    dense = bool(unit_is_int) and lo is not None and hi is not None and hi - lo <= 4 * n_rows + 1024
    return _Files(files, items, row0, n_rows, lo, hi, dense)


class _Readers:
    """One ParquetFile per (thread, file)."""

    def __init__(self, files: list[Path], dict_cols: list[Any]) -> None:
        self.files, self.dict_cols, self.local = files, dict_cols, threading.local()

    def get(self, fi: int) -> Any:
        import pyarrow.parquet as pq

        handles = getattr(self.local, "files", None)
        if handles is None:
            handles = self.local.files = {}
        pf = handles.get(fi)
        if pf is None:
            pf = handles[fi] = pq.ParquetFile(self.files[fi], read_dictionary=self.dict_cols)
        return pf


def _dict_chunks(col: Any) -> Any:
    """A row group's column as one dictionary array (chunks unified)."""
    import pyarrow as pa

    if not pa.types.is_dictionary(col.type):
        col = col.dictionary_encode()
    if isinstance(col, pa.ChunkedArray):
        col = col.unify_dictionaries().combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    return col


def _string_order(arr: Any) -> np.ndarray:
    """argsort of an Arrow string array without nulls, in byte (= code point) order.

    Sorting a million strings with Arrow takes about a second; here they are sorted by
    their first 8 bytes as big-endian integers, and only the strings sharing a prefix
    (rare for ids) are compared whole.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(arr)
    if n < 2:
        return np.arange(n, dtype=np.int64)
    off_t = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=off_t)[arr.offset: arr.offset + n + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(1, np.uint8)
    if not len(data):
        data = np.zeros(1, np.uint8)
    start = offsets[:-1].astype(np.int64)
    length = np.diff(offsets).astype(np.int64)
    key = np.zeros(n, dtype=np.uint64)
    last = len(data) - 1
    for lane in range(8):  # one byte of every string at a time: small temporaries
        pos = start + lane
        byte = data[np.minimum(pos, last)].astype(np.uint64)
        byte[length <= lane] = 0
        key <<= np.uint64(8)
        key |= byte
    del pos, byte, start
    order = np.argsort(key, kind="stable")
    ks = key[order]
    if (ks[1:] == ks[:-1]).any():  # equal prefixes: order those groups by the whole strings
        first = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
        size = np.diff(np.r_[first, n])
        big, lens = first[size > 1], size[size > 1]
        slots = np.repeat(big - np.cumsum(np.r_[0, lens[:-1]]), lens) + np.arange(int(lens.sum()))
        members = order[slots]
        # a lower prefix always sorts lower, so one sort of all members keeps each group in its slots
        order[slots] = members[pc.sort_indices(arr.take(pa.array(members))).to_numpy()]
    return order


class _Sorted:
    """Distinct values (an Arrow array, first-seen order) and their sorted order: value of
    global code ``c`` is ``values[order[c]]`` (no sorted copy of the strings is made)."""

    def __init__(self, values: Any, order: np.ndarray) -> None:
        self.values, self.order = values, order

    def __len__(self) -> int:
        return len(self.order)

    def take(self, codes: np.ndarray) -> Any:
        import pyarrow as pa

        return self.values.take(pa.array(self.order[codes]))

    def to_pylist(self) -> list[Any]:
        return self.take(np.arange(len(self.order))).to_pylist()


def _global_dictionary(dicts: Sequence[Any]) -> tuple[_Sorted, list[np.ndarray]]:
    """The distinct values of the row groups' dictionaries, sorted, and, per row group,
    the global code of each entry of its dictionary (a last entry -1 for nulls).

    The dictionaries are unified by Arrow (one hash pass over their entries, no copy of
    all of them), then the distinct values are sorted.
    """
    import pyarrow as pa

    if not dicts:
        return _Sorted(pa.array([], type=pa.string()), np.zeros(0, np.int64)), []
    typ = dicts[0].type
    # null entries (a dictionary may hold one) are no value: code -1, left out of the union
    valid = [None if not d.null_count else d.is_valid().to_numpy(zero_copy_only=False) for d in dicts]
    clean = [d.cast(typ) if v is None else d.filter(pa.array(v)).cast(typ) for d, v in zip(dicts, valid)]
    chunks = [pa.DictionaryArray.from_arrays(pa.array(np.arange(len(d), dtype=np.int32)), d) for d in clean]
    unified = pa.chunked_array(chunks, type=pa.dictionary(pa.int32(), typ)).unify_dictionaries()
    del chunks
    uniq = unified.chunk(0).dictionary if unified.num_chunks else pa.array([], type=typ)
    if _is_text(uniq.type):
        srt = _string_order(uniq)
    elif pa.types.is_integer(uniq.type) or pa.types.is_floating(uniq.type):
        srt = np.argsort(uniq.to_numpy(), kind="stable")
    else:  # dates, booleans, mixed: Python's order of the values, as for a frame
        srt = np.asarray(_value_order(uniq.to_pylist()), dtype=np.int64)
    code_t = np.int32 if len(uniq) < 2**31 - 1 else np.int64
    rank = np.empty(len(uniq), dtype=code_t)
    rank[srt] = np.arange(len(uniq), dtype=code_t)
    luts = []
    for d, v, ch in zip(dicts, valid, unified.chunks):
        idx = ch.indices.to_numpy()  # position of each valid entry of d in the union
        lut = np.full(len(d) + 1, -1, dtype=code_t)
        if v is None:
            lut[:-1] = rank[idx]
        else:
            lut[:-1][v] = rank[idx]
        luts.append(lut)
    return _Sorted(uniq, srt), luts


def _prepass(fs: _Files, readers: _Readers, col: Any, pool: ThreadPoolExecutor | None,
             keep_indices: bool) -> tuple[Any, list[np.ndarray], list[np.ndarray] | None]:
    """One pass over ``col`` alone: its global sorted dictionary, the per-row-group code
    tables, and (``keep_indices``) each row group's dictionary indices, so the main pass
    need not read the column again."""
    def one(i: int) -> tuple[Any, np.ndarray | None]:
        fi, rg = fs.items[i]
        arr = _dict_chunks(readers.get(fi).read_row_group(rg, columns=[col], use_threads=False).column(0))
        ind = None
        if keep_indices:
            ix = arr.indices
            ind = (ix.fill_null(-1) if ix.null_count else ix).to_numpy().astype(np.int32, copy=False)
        return arr.dictionary, ind

    mapper = map if pool is None else pool.map
    got = list(mapper(one, range(len(fs.items))))
    dicts = [d for d, _ in got]
    indices = [ix for _, ix in got] if keep_indices else None
    del got
    glob, luts = _global_dictionary(dicts)
    del dicts
    import pyarrow as pa

    pa.default_memory_pool().release_unused()  # the dictionaries' memory back to the system
    return glob, luts, indices


def parquet_source(path: Any, *, unit_col: str, attr_col: Any = None, props: Sequence[Any] = ()) -> Source:
    """Row groups of a Parquet file or directory read directly (see the module docstring).

    Raises ``_Declined`` when the io layer must read the file instead.
    """
    import pyarrow as pa

    fs = _inspect(path, unit_col, attr_col, props)
    threads = n_threads() if fs.n_rows >= (1 << 19) else 1
    import pyarrow.parquet as pq

    schema = pq.read_schema(fs.files[0])
    text_props = [c for c in props if _is_text(schema.field(c).type)]  # read as categoricals
    dict_cols = [_names.EVENT] + ([] if fs.unit_is_int else [unit_col]) + text_props
    readers = _Readers(fs.files, dict_cols + ([attr_col] if attr_col is not None else []))
    pool = ThreadPoolExecutor(threads) if threads > 1 else None
    try:
        unit_glob = unit_luts = unit_idx = attr_glob = attr_luts = None
        if not fs.unit_is_int:
            unit_glob, unit_luts, unit_idx = _prepass(fs, readers, unit_col, pool, keep_indices=True)
        if attr_col is not None:
            attr_glob, attr_luts, _ = _prepass(fs, readers, attr_col, pool, keep_indices=False)
    finally:
        if pool is not None:
            pool.shutdown()
    if fs.unit_is_int:
        lo, hi = int(fs.lo), int(fs.hi)  # type: ignore[arg-type]
    else:
        lo, hi = 0, len(unit_glob) - 1
    attr_values = None if attr_glob is None else attr_glob.to_pylist()
    head = [unit_col] if fs.unit_is_int else []  # string ids were read by the first pass
    cols: list[Any] = []
    for c in head + [_names.TIME, _names.EVENT] + ([attr_col] if attr_col is not None else []) + list(props):
        if c not in cols:  # a column may serve twice (by= also in a where= rule): read it once
            cols.append(c)

    # Dictionary columns (event names, the attribute, text where= columns) are small
    # (one index per row) and their dictionaries are the row group's: read whole. The wide
    # ones (times, integer ids, numbers) stream in batches of SUB_BLOCK_ROWS, so a thread
    # holds one batch of them, not the row group's.
    dict_set = set([_names.EVENT] + ([attr_col] if attr_col is not None else []) + text_props)
    whole = [c for c in cols if c in dict_set]
    streamed = [c for c in cols if c not in dict_set]

    def _times(ta: Any, fi: int) -> tuple[np.ndarray, int]:
        factor = _NS_PER[ta.type.unit]
        t = ta.view(pa.int64()).to_numpy()
        if len(t) and factor > 1:
            lo_t, hi_t = int(t.min()), int(t.max())
            if not (_NS_MIN <= lo_t * factor and hi_t * factor <= _NS_MAX):
                raise TimestampError(
                    f"Column 'timestamp' of {str(fs.files[fi])!r} has a timestamp outside the range "
                    "funnelkit supports (1677-09-21 to 2262-04-11, nanosecond precision), e.g. "
                    f"{lo_t if lo_t * factor < _NS_MIN else hi_t} {ta.type.unit} since 1970-01-01. "
                    "Fix: correct or drop those rows (they are often placeholders such as "
                    "9999-12-31 or 0001-01-01) before the analysis."
                )
        return t, factor

    def read(i: int) -> Iterator[Block]:
        """The blocks of item ``i`` (a row group), lazily: each batch is decoded when the
        previous block has been taken."""
        fi, rg = fs.items[i]
        pf = readers.get(fi)
        small = pf.read_row_group(rg, columns=whole, use_threads=False)
        ed = _dict_chunks(small.column(_names.EVENT))
        cats = tuple(ed.dictionary.to_pylist())
        ev_all = ed.indices.to_numpy()
        attr_all = None
        if attr_col is not None:
            ad = _dict_chunks(small.column(attr_col))
            lut = attr_luts[i]  # type: ignore[index]
            idx = ad.indices.fill_null(-1) if ad.null_count else ad.indices
            attr_all = lut[idx.to_numpy()]
        text = {c: _schema.arrow_to_series(small.column(c)) for c in text_props}
        del small, ed
        uidx = None
        if not fs.unit_is_int:
            uidx, unit_idx[i] = unit_idx[i], None  # type: ignore[index]  # read once: free it
        row0 = fs.row0[i]
        a = 0
        for batch in pf.iter_batches(batch_size=SUB_BLOCK_ROWS, row_groups=[rg], columns=streamed,
                                     use_threads=False):
            z = a + batch.num_rows
            t, factor = _times(batch.column(_names.TIME), fi)
            if fs.unit_is_int:
                u = batch.column(unit_col)
                if u.type != pa.int64():
                    u = u.cast(pa.int64())
                u = u.to_numpy()
            else:
                u = unit_luts[i][uidx[a:z]]  # type: ignore[index]
            ev = ev_all[a:z]
            attr = None if attr_all is None else attr_all[a:z]
            pr = {}
            for c in props:
                pr[c] = (text[c].iloc[a:z].reset_index(drop=True) if c in text
                         else _schema.arrow_to_series(batch.column(c)))
            del batch
            dups.add_part(_dup.count_block_duplicates(u, t, ev, () if attr is None else (attr,)),
                          str(fs.files[fi]))
            yield Block(u, t, ev, cats, factor, attr, pr, row0 + a)
            a = z
        dups.done_item()

    dups = _BlockDuplicates(len(fs.items), unit_col, attr_col)

    def ids_of(offsets: np.ndarray) -> pd.Index:
        if fs.unit_is_int:
            return pd.Index(offsets.astype(np.int64) + lo, name=unit_col)
        vals = unit_glob.take(offsets.astype(np.int64))  # type: ignore[union-attr]
        return pd.Index(vals.to_pandas(), name=unit_col)

    return Source(n_rows=fs.n_rows, lo=lo, hi=hi, n_items=len(fs.items), read=read, ids_of=ids_of,
                  unit_name=unit_col, attr_values=attr_values)


class _BlockDuplicates:
    """Rows of a Parquet file read directly that repeat an earlier row of their block (up to
    :data:`SUB_BLOCK_ROWS` consecutive rows of one row group) in the columns read (unit,
    timestamp, event, and the attribute), counted as the blocks are read (on any thread)
    and announced once, after the last row group.

    The direct path reads only the columns a computation needs, and blocks independently:
    comparing every column across the whole file would mean reading all of it. So the check
    is local (a block) and limited to those columns; ``fk.read_events(path)`` makes the
    full check, and ``dedupe=True`` there drops them. See docs/input.md.
    """

    def __init__(self, n_items: int, unit_col: str, attr_col: Any) -> None:
        self.left, self.n, self.lock = n_items, 0, threading.Lock()
        self.unit_col, self.attr_col = unit_col, attr_col
        self.example: str | None = None

    def add_part(self, n: int, where: str) -> None:
        """Count the copies found in one block of an item."""
        with self.lock:
            self.n += n
            if n and self.example is None:
                self.example = where

    def done_item(self) -> None:
        """One item (row group) fully read: after the last one, warn once."""
        with self.lock:
            self.left -= 1
            done = self.left == 0
        if done and self.n:
            import warnings

            from ..errors import DuplicateEventsWarning
            from ..io.normalize import _stacklevel

            cols = f"{self.unit_col!r}, 'timestamp' and 'event'" + (
                f" (and {self.attr_col!r})" if self.attr_col is not None else "")
            warnings.warn(
                f"{self.n} rows of {cut_text(self.example or '', 200)!r} (read directly from Parquet) "
                f"repeat an earlier row of their block in {cols}: probably exact duplicates, "
                "which count as separate events. This check compares only the columns the "
                f"computation reads, within each block of up to {SUB_BLOCK_ROWS:,} consecutive "
                "rows of a row group. Fix: read the log with "
                "events = funnelkit.read_events(path, dedupe=True) (every column, the whole "
                "file; the count goes to the dropped-rows report) and pass events.",
                DuplicateEventsWarning,
                stacklevel=_stacklevel(),
            )


def open_source(events: Any, *, unit_col: str, attr_col: Any, props: Sequence[Any],
                needed: Sequence[Any], attr_purpose: str = "this computation") -> Source:
    """The source of ``events``: a path (Parquet read directly when it can be), or anything
    the io layer normalizes (frames, Arrow, polars, CSV, other Parquet files).

    ``needed`` are the property columns the computation reads (for the io layer).
    """
    if isinstance(events, (str, os.PathLike)):
        try:
            return parquet_source(events, unit_col=unit_col, attr_col=attr_col, props=props)
        except _Declined:
            from ..io import read_events

            have = _columns.log_columns(events)
            if have is not None:  # the frame's messages for the columns the file lacks
                _check_columns(have, unit_col=unit_col, attr_col=attr_col, props=props, attr_purpose=attr_purpose)
            events = read_events(events, columns=list(needed))
    frame = _schema.ensure_events(events)
    if len(frame) == 0:
        from ..errors import EmptyEventLogError

        raise EmptyEventLogError("The event log is empty: there is nothing to compute a funnel on.")
    return frame_source(frame, unit_col=unit_col, attr_col=attr_col, props=props, attr_purpose=attr_purpose)
