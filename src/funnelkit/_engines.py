"""Engines for event logs larger than memory: chunked Parquet and Dask (private).

DESIGN §2, "Engines share one kernel": the work of one unit (a user, or a session)
does not depend on any other unit, so the data is split by unit, every part runs
the in-memory pipeline (normalization, :func:`funnelkit._prepare.prepare`, the
kernel, :func:`funnelkit.funnel.unit_arrays`) and the small per-unit results are
merged (:func:`funnelkit.funnel.concat_units`, then
:func:`funnelkit.funnel.result_from_units`). The result is *identical* to
``funnel(read_events(path), ...)`` in memory, because

* every row of a unit lands in the same part (a stable hash of the normalized user
  id, or of the session id with ``unit="session"``), in input order (batches are
  read and written in file order and a stable sort groups them by part; the Dask
  engine carries an explicit input row number through the shuffle and sorts on it),
  so the kernels' tie-break by input row order sees the same order;
* the event names (categories) are collected over all the data in pass 1 and every
  part's ``event`` categorical is set to that global, sorted list: typo checks run
  once on it, and the stage of an event never depends on the part;
* property columns get the pandas dtype they have in the whole file (an integer
  column with nulls is ``float64`` in memory even in a part without nulls), so a
  breakdown value or a variant reads the same in every part;
* the end of the data (censoring) is the maximum over all rows, and rows dropped
  with ``dropna=True`` are counted once, over all the data.

Entry points: :func:`funnel_chunked`, :func:`experiment_chunked`, :func:`funnel_dask`,
:func:`experiment_dask`; ``funnel()`` / ``experiment()`` route large inputs to them
through :func:`is_large_source` and :func:`dispatch_funnel` / :func:`dispatch_experiment`
(a dask DataFrame always; a Parquet path when its estimated in-memory size exceeds
:data:`LARGE_SOURCE_FRACTION` of the physical memory). Dask is imported lazily.

Two engines sit behind :func:`funnel_chunked` / :func:`experiment_chunked`. The
columnar one (:mod:`funnelkit._scan`, tried first) reads only the funnel's rows (and
each user's variant), groups them into buckets by user-id *range* and spills buckets to
disk beyond ``memory_budget``: ranges keep the buckets in unit order, so no merge is
needed, and each bucket's sort is a small radix sort. It takes plain journeys (a
``by=`` column of strings included) on Parquet with integer ids; the hash split
described above takes the rest.

Measured (benchmarks/_data, 50.1M events, 4.0M users, 48 row groups, 253 MB zstd; the
normalized frame is 1.40 GB in memory; 2 cores): the five-step funnel with a 1-day
window took 3.0 s and 571 MB peak RSS with ``memory_budget="64MB"`` (benchmarks/RESULTS.md),
the experiment 7.1 s and 1.05 GB; the hash split took 102 s and 2.49 GB for the funnel
with ``by="channel"`` (4 parts). Results are identical to the in-memory path.
"""

from __future__ import annotations

import importlib
import inspect
import math
import os
import re
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import _schema
from . import io as _io
from ._progress import _Bar, _progress_enabled
from ._params import check_choice
from ._prepare import needed_columns, Prepared, prepare, resolve_steps
from ._schema import EVENT, TIME, USER
from .errors import (
    DroppedRowsWarning,
    EmptyEventLogError,
    EventSourceError,
    FunnelkitError,
    MissingColumnError,
    NullValuesError,
    ParameterError,
    TimestampError,
    TimezoneError,
    UnknownEventError,
)
from .stages import AfterRule, RepeatRule, Rule, _suggest

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "funnel_chunked",
    "experiment_chunked",
    "funnel_dask",
    "experiment_dask",
    "is_large_source",
    "dispatch_funnel",
    "dispatch_experiment",
    "choose_partitions",
]

#: Default ``memory_budget`` of :func:`funnel_chunked`: the peak memory the engine
#: aims at while it processes one part (read, normalize, sort, kernel), in bytes.
DEFAULT_MEMORY_BUDGET = 2 * 1024**3
#: Working memory per row of one part, as a multiple of the row's normalized size
#: (arrow table + pandas frame + the sort and kernel temporaries). Measured: a 5M-row
#: part of user/time/event (17 bytes per normalized row) peaks at ~136 bytes per row.
_WORK_FACTOR = 8.0
#: Rows per batch read in pass 1.
DEFAULT_BATCH_ROWS = 1 << 20
#: :func:`is_large_source` routes a Parquet source to the chunked engine when its
#: estimated in-memory size exceeds this share of the machine's physical memory.
LARGE_SOURCE_FRACTION = 0.25

_DROP_ORDER = ("null_user_id", "null_timestamp", "null_event")
_ROW_RE = re.compile(r"\brow (\d+)")
_TS_UNIT = "ns"


def _fm() -> Any:
    """funnelkit.funnel (the module: the package rebinds the name ``funnel`` to the function)."""
    return importlib.import_module(".funnel", __package__)


def _em() -> Any:
    return importlib.import_module(".experiment", __package__)


# ======================================================================================
# parameters
# ======================================================================================

_FUNNEL_KW = ("window", "mode", "window_from", "unit", "by", "attribution", "max_groups", "exclude",
              "start", "end", "lang", "session_col")


@dataclass
class _Job:
    """Everything a part needs to run the in-memory pipeline (picklable, for Dask)."""

    journey_or_steps: Any
    params: dict[str, Any]  # FunnelResult.params
    lang: str | None
    session_col: str
    names: pd.Index | None = None  # global event categories (sorted)
    prop_dtypes: dict[Any, Any] = field(default_factory=dict)  # dtype of each property in memory
    variant_col: str | None = None  # experiments: per-user variant

    @property
    def unit_col(self) -> str:
        return USER if self.params["unit"] == "user" else self.session_col


def _funnel_params(kwargs: dict[str, Any], *, caller: str = "funnel_chunked") -> tuple[dict[str, Any], Any, str]:
    """The checks of :func:`funnelkit.funnel` (same order, same errors); returns (params, lang, session_col)."""
    fm = _fm()
    sig = inspect.signature(fm.funnel)
    known = [p for p in sig.parameters if p not in ("events", "journey_or_steps")]
    unknown = [k for k in kwargs if k not in known]
    if unknown:
        raise TypeError(f"{caller}() got an unexpected keyword argument {unknown[0]!r}")
    unsupported = [k for k in known if k not in _FUNNEL_KW and k in kwargs]
    if unsupported:  # pragma: no cover - funnel() grew a parameter the engines do not know yet
        raise ParameterError(f"{caller}() does not support `{unsupported[0]}=` yet; use funnelkit.funnel().")
    kw = {p: sig.parameters[p].default for p in known}
    kw.update(kwargs)
    params, _, _ = fm._checked_params(**{k: kw[k] for k in (
        "window", "mode", "window_from", "unit", "by", "attribution", "max_groups", "exclude", "start", "end",
        "lang")})
    lang = kw["lang"]
    return params, lang, kw["session_col"]


def _needed_props(job: _Job) -> list[Any]:
    """Property columns the computation reads: by, session, variant and where= columns."""
    return needed_columns(job.journey_or_steps, by=job.params["by"], unit=job.params["unit"],
                          session_col=job.session_col, variant_col=job.variant_col, lang=job.lang)


def _check_columns(job: _Job, available: Sequence[Any]) -> None:
    """The column errors the in-memory path raises, before any row is read."""
    empty = pd.DataFrame(columns=list(available))
    if job.variant_col is not None:
        _schema.require_columns(empty, [job.variant_col], purpose="the experiment (variant_col)")
    if job.params["by"] is not None:
        _schema.require_columns(empty, [job.params["by"]], purpose="this funnel")
    if job.params["unit"] == "session" and job.session_col not in available:
        raise MissingColumnError(
            f"unit='session' needs a {job.session_col!r} column, which the event log does not have. "
            "The large-data engines split the data by unit and cannot sessionize across parts: "
            "add the column first, e.g. funnelkit.sessionize(events, timeout='30min') and write the "
            "result to Parquet (or pass session_col= with the name of your session column)."
        )
    spec = resolve_steps(job.journey_or_steps, lang=job.lang)
    for st in spec.journey._all_stages():
        for r in st.rules:
            base = r.rule if isinstance(r, (RepeatRule, AfterRule)) else r
            if base.where:
                base._row_mask(empty, np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64))


def _check_names(job: _Job, names: Sequence[str]) -> None:
    """prepare()'s event-name checks, run once on the event names of all the data."""
    from ._prepare import _step_index

    spec = resolve_steps(job.journey_or_steps, lang=job.lang)
    cats = [str(c) for c in names]
    spec.journey.check_events(cats)
    stage_names = [s.name for s in spec.journey._all_stages()]
    for item in job.params["exclude"]:
        if not (isinstance(item, (tuple, list)) and len(item) == 3):
            continue  # prepare() raises the ParameterError
        what, a, b = item
        _step_index(a, spec.names, "exclude from_step")
        _step_index(b, spec.names, "exclude to_step")
        if isinstance(what, str) and what not in stage_names and Rule(what)._unmatched(cats):
            raise UnknownEventError(
                f"exclude={item!r}: the event log has no event {what!r}." + _suggest(what, cats)
            )


# ======================================================================================
# one part: the in-memory pipeline
# ======================================================================================


@dataclass
class _PartResult:
    ua: Any  # funnel.UnitArrays
    data_end: int
    variant: np.ndarray | None = None  # object (n_units,), experiments
    multi: int = 0
    without: int = 0
    spec: Any = None


def _harmonize(frame: pd.DataFrame, job: _Job) -> pd.DataFrame:
    """Global event categories and in-memory property dtypes on a part's normalized frame."""
    new: dict[Any, Any] = {}
    if job.names is not None:
        ev = frame[EVENT]
        if not ev.cat.categories.equals(job.names):
            new[EVENT] = ev.cat.set_categories(job.names)
    for col, dtype in job.prop_dtypes.items():
        if col in frame.columns:
            s = frame[col]
            if s.dtype != dtype and not isinstance(s.dtype, pd.CategoricalDtype) \
                    and not isinstance(dtype, pd.CategoricalDtype):
                new[col] = s.astype(dtype)
    return frame.assign(**new) if new else frame


def _run_part(frame: pd.DataFrame, job: _Job) -> _PartResult:
    """normalized part -> prepare -> kernel -> per-unit arrays (the in-memory pipeline)."""
    fm = _fm()
    frame = _harmonize(frame, job)
    p = job.params
    prep: Prepared = prepare(
        frame,
        job.journey_or_steps,
        unit=p["unit"],
        session_col=job.session_col,
        keep_all=(p["mode"] == "strict"),
        exclude=p["exclude"] or None,
        lang=job.lang,
        extra_columns=[p["by"]] if p["by"] is not None else (),
        check_events=False,
    )
    kres = fm._run_kernel(prep, mode=p["mode"], window=p["window"], window_from=p["window_from"],
                          start_ns=fm._to_ns(p["start"], "start"), end_ns=fm._to_ns(p["end"], "end"))
    ua = fm.unit_arrays(prep, kres, params=p)
    out = _PartResult(ua=ua, data_end=int(prep.data_end), spec=prep.spec)
    if job.variant_col is not None:
        uv, multi, without = _em()._user_variants(prep.frame, job.variant_col, prep.unit_ids)
        out.variant = uv.to_numpy(dtype=object)
        out.multi, out.without = int(multi), int(without)
    return out


def _merge(parts: list[_PartResult], job: _Job, *, dropped: dict[str, int] | None = None,
           data_end: int | None = None) -> tuple[Any, Any, np.ndarray | None, int, int]:
    """concat_units + result_from_units; returns (FunnelResult, ua, variant, multi, without)."""
    fm = _fm()
    parts[:] = [q for q in parts if len(q.ua.unit_ids)]  # in place: the parts are freed below
    if not parts:  # pragma: no cover - callers check for empty logs first
        raise EmptyEventLogError("The event log is empty: there is nothing to compute a funnel on.")
    variant = None
    if job.variant_col is not None:
        ids = parts[0].ua.unit_ids.append([q.ua.unit_ids for q in parts[1:]]) if len(parts) > 1 \
            else parts[0].ua.unit_ids
        order = np.argsort(ids.to_numpy(), kind="stable")  # the order concat_units uses
        variant = np.concatenate([q.variant for q in parts])[order]
    multi, without = sum(q.multi for q in parts), sum(q.without for q in parts)
    ua = fm.concat_units([q.ua for q in parts])
    if dropped is None:
        dropped = {}
        for q in parts:
            for k, v in q.ua.dropped.items():
                dropped[k] = dropped.get(k, 0) + v
    ua.dropped = {k: dropped[k] for k in _DROP_ORDER if dropped.get(k)} | {
        k: v for k, v in dropped.items() if k not in _DROP_ORDER and v}
    end = max(q.data_end for q in parts) if data_end is None else data_end
    spec = parts[0].spec
    parts.clear()
    res = fm.result_from_units(ua, names=spec.names, labels=spec.labels, journey=spec.journey,
                               params=job.params, data_end=end)
    return res, ua, variant, multi, without


# ======================================================================================
# hashing units to parts
# ======================================================================================


def _splitmix64(x: np.ndarray) -> np.ndarray:
    z = x.astype(np.uint64, copy=True)
    z += np.uint64(0x9E3779B97F4A7C15)
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


def _hash_values(s: pd.Series) -> np.ndarray:
    """A stable (not Python's randomized ``hash``) uint64 hash per value; equal values, equal hashes."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats = s.cat.categories
        h = _hash_values(pd.Series(cats)) if len(cats) else np.zeros(0, np.uint64)
        codes = s.cat.codes.to_numpy()
        return np.where(codes >= 0, h[np.maximum(codes, 0)] if len(h) else 0, 0).astype(np.uint64)
    if pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_extension_array_dtype(dtype):
        return _splitmix64(s.to_numpy().astype(np.int64, copy=False))
    if pd.api.types.is_float_dtype(dtype) and not pd.api.types.is_extension_array_dtype(dtype):
        a = s.to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(a) & (a == np.floor(a)) & (np.abs(a) <= 2.0**53)
        ints = np.where(whole, a, 0).astype(np.int64)
        bits = np.where(np.isnan(a), 0, a).view(np.int64)
        return _splitmix64(np.where(whole, ints, bits))
    return pd.util.hash_array(s.to_numpy(dtype=object), categorize=True)


def _part_of(s: pd.Series, n_parts: int) -> np.ndarray:
    if n_parts == 1:
        return np.zeros(len(s), dtype=np.int64)
    return (_hash_values(s) % np.uint64(n_parts)).astype(np.int64)


# ======================================================================================
# Parquet sources
# ======================================================================================


@dataclass
class _Source:
    path: Path
    files: list[Path]
    is_dir: bool
    schema: Any  # unified pyarrow schema (with the first file's metadata)
    src: dict[str, Hashable]  # canonical -> source column
    props: list[Any]  # property columns read_events keeps (columns= applied)
    num_rows: int
    nbytes: int  # on disk

    def dictionary_columns(self) -> list[Any]:
        return _io._dictionary_columns(self.schema, self.src)

    def batches(self, columns: list[Any], batch_rows: int) -> Iterator[Any]:
        """Record batches of ``columns`` in file order (the in-memory row order)."""
        import pyarrow.dataset as ds
        import pyarrow.parquet as pq

        dict_cols = self.dictionary_columns()
        if not self.is_dir:
            pf = pq.ParquetFile(self.path, read_dictionary=dict_cols)
            yield from pf.iter_batches(batch_size=batch_rows, columns=columns, use_threads=True)
            return
        fmt = ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(dictionary_columns=dict_cols))
        dataset = ds.dataset([str(f) for f in self.files], schema=self.schema, format=fmt,
                             partitioning="hive", partition_base_dir=str(self.path))
        scanner = dataset.scanner(columns=columns, batch_size=batch_rows, batch_readahead=2,
                                  fragment_readahead=1, use_threads=True)
        yield from scanner.to_batches()  # ordered: fragments in path order, batches in file order


def _open_parquet(source: Any, sel: dict[str, Any], *, caller: str) -> _Source:
    import pyarrow.parquet as pq

    if not isinstance(source, (str, os.PathLike)):
        raise ParameterError(
            f"{caller}() reads a Parquet file or a directory of Parquet files given by its path, "
            f"not a {type(source).__module__}.{type(source).__qualname__}. For data in memory use "
            "funnelkit.funnel(); for a dask DataFrame, the Dask engine."
        )
    path = Path(os.fspath(source)).expanduser()
    if path.is_dir():
        files = _io._parquet_files(path)
        if not files:
            raise EventSourceError(
                f"The directory {str(path)!r} holds no Parquet files (*.parquet, *.pq; hidden and "
                "'_'-prefixed files are skipped). Fix: point read_events at the directory of the "
                "Parquet dataset, or at a single file."
            )
        import pyarrow.dataset as ds

        paths = [str(f) for f in files]
        try:
            found = ds.dataset(paths, format="parquet", partitioning="hive", partition_base_dir=str(path)).schema
            schema = _io._unify_schemas([found] + [pq.read_schema(p) for p in paths])
            num_rows = sum(pq.ParquetFile(p).metadata.num_rows for p in paths)
        except Exception as exc:
            raise _io._unreadable(path, "a Parquet dataset", exc) from None
        nbytes = sum(f.stat().st_size for f in files)
        is_dir = True
    else:
        if not path.exists():
            raise _io._missing_path(path)
        if _io._suffix(path) not in _io._PARQUET_SUFFIXES:
            raise ParameterError(
                f"{caller}() reads Parquet data (a .parquet/.pq file or a directory of them), not "
                f"{str(path)!r}. Fix: convert it once, e.g. funnelkit.read_events(path, ...)"
                ".to_parquet('events.parquet') in pieces, or use funnelkit.funnel() if it fits in memory."
            )
        try:
            schema = pq.read_schema(path)
            num_rows = pq.ParquetFile(path).metadata.num_rows
        except Exception as exc:
            raise _io._unreadable(path, "Parquet", exc) from None
        files, nbytes, is_dir = [path], path.stat().st_size, False
    src, props = _io._columns_of(schema, **sel)
    return _Source(path=path, files=files, is_dir=is_dir, schema=schema, src=src, props=props,
                   num_rows=int(num_rows), nbytes=int(nbytes))


def _bytes_per_row(schema: Any, columns: Iterable[Any]) -> float:
    """Rough size of one normalized row: user + timestamp + event codes + properties."""
    import pyarrow as pa

    total = 8.0 + 8.0 + 2.0
    for c in columns:
        try:
            t = schema.field(c).type
        except KeyError:
            total += 8
            continue
        if pa.types.is_dictionary(t):
            total += 2
        elif _io._is_text(t) or pa.types.is_large_string(t):
            total += 24
        elif pa.types.is_null(t):  # no values: an all-null object column in memory
            total += 8
        else:
            try:
                total += max(t.bit_width / 8, 1)
            except ValueError:  # not a fixed-width type (lists, structs...)
                total += 16
    return total


def _parse_bytes(value: Any, name: str) -> int:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0:
        return int(value)
    if isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kKmMgGtT]?)i?[bB]?\s*", value)
        if m:
            mult = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}[m.group(2).lower()]
            out = int(float(m.group(1)) * mult)
            if out > 0:
                return out
    raise ParameterError(f"`{name}`={value!r}: give a number of bytes or a size such as '2GB' or '512MB'.")


def choose_partitions(num_rows: int, bytes_per_row: float, memory_budget: Any = DEFAULT_MEMORY_BUDGET) -> int:
    """Number of parts so that processing one part stays within ``memory_budget``.

    One part holds about ``num_rows / P`` rows; processing it needs about
    ``_WORK_FACTOR`` times the normalized frame's size (Arrow table, pandas frame,
    the sort and the kernel's temporaries).

    Examples
    --------
    >>> choose_partitions(50_000_000, 18.0, "2GB")
    4
    >>> choose_partitions(1000, 18.0)
    1
    """
    budget = _parse_bytes(memory_budget, "memory_budget")
    need = num_rows * bytes_per_row * _WORK_FACTOR
    return max(1, int(math.ceil(need / budget)))


# ======================================================================================
# pass 1: read in file order, normalize, split by unit hash
# ======================================================================================


@dataclass
class _Split:
    tmpdir: Path
    counts: np.ndarray  # rows per part
    names: pd.Index
    data_end: int
    dropped: dict[str, int]
    rows_read: int
    prop_dtypes: dict[Any, Any]
    dict_cols: list[str]

    def part_path(self, p: int) -> Path:
        return self.tmpdir / f"part-{p:05d}.parquet"


def _remap_error(exc: FunnelkitError, rows: np.ndarray | None, offset: int) -> FunnelkitError:
    """The same error with 'row N' counted in the whole input (not in the batch)."""

    def sub(m: re.Match) -> str:
        i = int(m.group(1))
        g = offset + (int(rows[i]) if rows is not None and i < len(rows) else i)
        return f"row {g}"

    msg = _ROW_RE.sub(sub, str(exc))
    try:
        new = type(exc)(msg)
    except Exception:  # pragma: no cover - exotic constructor
        return exc
    return new


class _TimeText:
    """Pass-1 guard for string timestamps: the in-memory parser decides per column what the
    strings are (epoch numbers or ISO 8601, with or without offsets); a batch decides on
    its own rows, so the batches must agree, as the whole column would."""

    def __init__(self, name: Any) -> None:
        self.name = name
        self.first: dict[str, tuple[Any, int]] = {}

    def check(self, col: Any, keep_rows: np.ndarray | None, offset: int) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        if not _io._is_text(col.type):
            return
        if keep_rows is not None:
            col = col.take(pa.array(keep_rows))
            rows = keep_rows
        else:
            rows = None
        if len(col) == 0:
            return
        st = pc.utf8_trim_whitespace(col)
        numeric = pc.match_substring_regex(st, "^(?:" + _schema._NUMBER_RE + ")$")
        if pc.all(numeric).as_py():
            kind = "epoch numbers"
        else:
            off = pc.match_substring_regex(st, _schema._OFFSET_RE)
            if pc.all(off).as_py():
                kind = "date-times with a UTC offset"
            elif not pc.any(off).as_py():
                kind = "date-times without a UTC offset"
            else:
                return  # mixed inside the batch: normalize() raises the in-memory error
        if kind not in self.first:
            self.first[kind] = (col[0].as_py(), offset + (int(rows[0]) if rows is not None else 0))
        if len(self.first) > 1:
            (k1, (v1, r1)), (k2, (v2, r2)) = list(self.first.items())[:2]
            cls = TimezoneError if "epoch numbers" not in (k1, k2) else TimestampError
            raise cls(
                f"Column {self.name!r} holds {k1}, e.g. {v1!r} at row {r1}, and {k2}, e.g. {v2!r} "
                f"at row {r2}. Fix: write every timestamp the same way (ISO 8601 with an offset or "
                "'Z', or epoch numbers with time_unit=), or parse the column yourself and pass "
                "tz-aware datetimes."
            )


def _arrow_user_overflows(source: _Source, batch_rows: int) -> bool:
    """uint64 ids above the int64 range make the whole column strings in memory."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = source.src[USER]
    t = source.schema.field(col).type
    if not (pa.types.is_uint64(t)):
        return False
    limit = np.iinfo(np.int64).max
    for b in source.batches([col], batch_rows):
        m = pc.max(b.column(0)).as_py()
        if m is not None and m > limit:
            return True
    return False


def _split_source(source: _Source, job: _Job, *, n_parts: int, tmpdir: Path, sel: dict[str, Any],
                  tz: Any, time_unit: Any, dropna: bool, props: list[Any], batch_rows: int,
                  progress: bool) -> _Split:
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = source.src
    req_cols = [src[USER], src[TIME], src[EVENT]]
    read_cols = req_cols + [p for p in props if p not in req_cols]
    sel_req = dict(user_col=src[USER], time_col=src[TIME], event_col=src[EVENT], columns=[])
    user_to_text = _arrow_user_overflows(source, batch_rows)
    key_col = job.unit_col  # USER or the session column (a property)
    writers: dict[int, Any] = {}
    out_schema = None
    counts = np.zeros(n_parts, dtype=np.int64)
    names: set[str] = set()
    data_end: int | None = None
    dropped = {k: 0 for k in _DROP_ORDER}
    null_count = {p: 0 for p in props}
    first_batch = None
    time_text = _TimeText(src[TIME])
    # non-dropna: nulls are counted over the whole input for the in-memory message
    null_scan: dict[str, list[int]] | None = None
    offset = 0
    bar = _Bar(source.num_rows, "funnelkit pass 1/2: split by unit", "rows", progress)
    try:
        for batch in source.batches(read_cols, batch_rows):
            n = batch.num_rows
            if n == 0:
                continue
            tbl = pa.Table.from_batches([batch])
            if first_batch is None:
                first_batch = tbl.slice(0, 1)
            for p in props:
                null_count[p] += tbl.column(p).null_count
            req_tbl = tbl.select(req_cols)
            if user_to_text:
                req_tbl = req_tbl.set_column(0, src[USER], req_tbl.column(0).cast(pa.string()))
            req = _io._from_arrow_table(req_tbl, **sel_req)
            work = {c: _schema._from_arrow_dtype(req[src[c]]) for c in _schema.REQUIRED}
            nulls = {USER: _schema._null_mask(work[USER]), TIME: _schema._null_mask(work[TIME], blank=True),
                     EVENT: _schema._null_mask(work[EVENT])}
            any_null = nulls[USER] | nulls[TIME] | nulls[EVENT]
            keep_rows = None
            if any_null.any():
                if not dropna or null_scan is not None:
                    if null_scan is None:
                        null_scan = {c: [0, -1] for c in _schema.REQUIRED}
                    for c in _schema.REQUIRED:
                        m = nulls[c]
                        k = int(m.sum())
                        if k:
                            null_scan[c][0] += k
                            if null_scan[c][1] < 0:
                                null_scan[c][1] = offset + int(np.argmax(m))
                    offset += n
                    bar.update(n)
                    continue
                seen = np.zeros(n, dtype=bool)
                for c, reason in zip(_schema.REQUIRED, _DROP_ORDER):
                    dropped[reason] += int((nulls[c] & ~seen).sum())
                    seen |= nulls[c]
                keep_rows = np.flatnonzero(~any_null)
                req = req.iloc[keep_rows].reset_index(drop=True)
                tbl = tbl.take(pa.array(keep_rows))
            if null_scan is not None:  # an earlier batch had nulls (no dropna): only count
                offset += n
                bar.update(n)
                continue
            if len(req) == 0:
                offset += n
                bar.update(n)
                continue
            time_text.check(req_tbl.column(1), keep_rows, offset)
            try:
                norm = _schema.normalize(req, tz=tz, time_unit=time_unit, **sel_req)
            except FunnelkitError as exc:
                raise _remap_error(exc, keep_rows, offset) from None
            ev = norm[EVENT]
            names.update(ev.cat.categories.tolist())
            t_max = int(norm[TIME].max().value)
            data_end = t_max if data_end is None else max(data_end, t_max)
            # the unit's key, normalized as in memory
            if key_col == USER:
                key = norm[USER]
            else:
                key = _schema.arrow_to_series(tbl.column(key_col))
            part = _part_of(key, n_parts)
            out = _to_arrow_part(norm, tbl.select(props) if props else None)
            if out_schema is None:
                out_schema = out.schema.with_metadata(source.schema.metadata)
            else:
                out = out.cast(out_schema) if not out.schema.equals(out_schema) else out
            out = out.replace_schema_metadata(out_schema.metadata)
            order = np.argsort(part, kind="stable")
            c = np.bincount(part, minlength=n_parts)
            taken = out.take(pa.array(order))
            starts = np.r_[0, np.cumsum(c)[:-1]]
            for p in np.flatnonzero(c):
                w = writers.get(p)
                if w is None:
                    w = writers[p] = pq.ParquetWriter(
                        str(tmpdir / f"part-{p:05d}.parquet"), out_schema, compression="lz4",
                        use_dictionary=[f.name for f in out_schema
                                        if _is_dict(f.type) or _io._is_text(f.type)] or False,
                        write_statistics=False)
                w.write_table(taken.slice(int(starts[p]), int(c[p])))
            counts += c
            offset += n
            bar.update(n)
    finally:
        for w in writers.values():
            w.close()
        bar.close()
    if null_scan is not None:
        masks = {}
        for c in _schema.REQUIRED:
            k, first = null_scan[c]
            m = np.zeros(max(first, 0) + k, dtype=bool)
            if k:
                m[first:] = True
            masks[c] = m
        raise NullValuesError(_schema._null_message(masks, {c: src[c] for c in _schema.REQUIRED}))
    total_dropped = sum(dropped.values())
    if data_end is None:
        if total_dropped:
            detail = ", ".join(f"{k}: {v}" for k, v in dropped.items() if v)
            raise EmptyEventLogError(
                f"The event log has no rows left: dropna=True dropped all {total_dropped} rows, "
                f"each missing a user id, timestamp or event ({detail}). Fix: check the "
                f"columns {src[USER]!r}, {src[TIME]!r} and {src[EVENT]!r}."
            )
        raise EmptyEventLogError("The event log is empty: there is nothing to compute a funnel on.")
    if total_dropped:
        detail = ", ".join(f"{k}: {v}" for k, v in dropped.items() if v)
        warnings.warn(
            f"dropna=True dropped {total_dropped} of {offset} rows with a missing user id, "
            f"timestamp or event ({detail}); the counts are in "
            "result.diagnostics['rows_dropped_on_read'].",
            DroppedRowsWarning,
            stacklevel=_schema._stacklevel(),
        )
    prop_dtypes = _memory_dtypes(first_batch, props, null_count, source.schema.metadata) if props else {}
    dict_cols = [USER, EVENT] if out_schema is not None and _is_dict(out_schema.field(USER).type) else [EVENT]
    return _Split(tmpdir=tmpdir, counts=counts,
                  names=pd.Index(sorted(names), dtype=_schema._STR_DTYPE), data_end=int(data_end),
                  dropped={k: v for k, v in dropped.items() if v}, rows_read=offset,
                  prop_dtypes=prop_dtypes, dict_cols=dict_cols)


def _is_dict(t: Any) -> bool:
    import pyarrow as pa

    return pa.types.is_dictionary(t)


def _to_arrow_part(norm: pd.DataFrame, props: Any) -> Any:
    """Normalized required columns (+ raw Arrow properties) as one Arrow table of fixed types."""
    import pyarrow as pa

    def dict_array(s: pd.Series) -> Any:
        codes = pa.array(s.cat.codes.to_numpy().astype(np.int32, copy=False))
        cats = pa.array(s.cat.categories.to_numpy(dtype=object), type=pa.string())
        return pa.DictionaryArray.from_arrays(codes, cats)

    u = norm[USER]
    user = dict_array(u) if isinstance(u.dtype, pd.CategoricalDtype) else pa.array(u.to_numpy(), type=pa.int64())
    ts = pa.array(norm[TIME].array.asi8, type=pa.timestamp(_TS_UNIT, tz="UTC"))
    arrays = [user, ts, dict_array(norm[EVENT])]
    names = [USER, TIME, EVENT]
    if props is not None:
        for name, col in zip(props.column_names, props.columns):
            arrays.append(col)
            names.append(name)
    return pa.Table.from_arrays(arrays, names=names)


def _memory_dtypes(first: Any, props: list[Any], null_count: dict[Any, int], metadata: Any) -> dict[Any, Any]:
    """The pandas dtype each property has when the whole file is read at once.

    Arrow -> pandas conversion depends on nulls (int64 with a null -> float64, bool with
    a null -> object): one row of the data, plus a null row where the column has nulls
    anywhere, converts like the whole column.
    """
    import pyarrow as pa

    arrays, names = [], []
    for p in props:
        col = first.column(p)
        if null_count.get(p):
            col = pa.chunked_array([col.combine_chunks(), pa.nulls(1, type=col.type)])
        else:
            col = pa.chunked_array([col.combine_chunks(), col.combine_chunks()])
        arrays.append(col)
        names.append(p)
    tiny = pa.Table.from_arrays(arrays, names=names).replace_schema_metadata(metadata)
    frame = _io._strip_index_metadata(tiny).to_pandas()
    return {p: frame[p].dtype for p in props}


def _read_part(path: Path, split: _Split, props: list[Any]) -> pd.DataFrame:
    import pyarrow.parquet as pq

    table = pq.read_table(path, read_dictionary=split.dict_cols)
    return _io.read_events(table, columns=props)


# ======================================================================================
# the chunked Parquet engine
# ======================================================================================


def _run_chunked(source: Any, job: _Job, *, partitions: int | None, memory_budget: Any, progress: Any,
                 user_col: Hashable, time_col: Hashable, event_col: Hashable, tz: Any, time_unit: Any,
                 columns: Iterable[Hashable] | None, dropna: bool, tmp_dir: Any, batch_rows: int,
                 caller: str) -> tuple[Any, Any, np.ndarray | None, int, int, dict[str, Any]]:
    _schema._check_mapping(user_col, time_col, event_col)
    _schema._check_tz(tz)
    _schema._check_time_unit(time_unit)
    columns = _schema._check_columns_param(columns)
    if not isinstance(dropna, (bool, np.bool_)):
        raise ParameterError(f"`dropna` must be True or False, not {dropna!r}.")
    show = _progress_enabled(progress)
    budget = _parse_bytes(memory_budget, "memory_budget")
    if partitions is not None and (isinstance(partitions, bool) or not isinstance(partitions, (int, np.integer))
                                   or partitions < 1):
        raise ParameterError(f"`partitions`={partitions!r} must be a positive integer (or None: chosen "
                             "from the data size and memory_budget).")
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, (int, np.integer)) or batch_rows < 1:
        raise ParameterError(f"`batch_rows`={batch_rows!r} must be a positive integer.")
    resolve_steps(job.journey_or_steps, lang=job.lang)  # journey errors before reading anything
    sel = dict(user_col=user_col, time_col=time_col, event_col=event_col, columns=columns)
    source_info = _open_parquet(source, sel, caller=caller)
    available = [USER, TIME, EVENT, *source_info.props]
    _check_columns(job, available)
    props = [p for p in _needed_props(job) if p in source_info.props]
    if source_info.num_rows == 0:
        _io.read_events(source, **sel)  # raises the in-memory EmptyEventLogError
        raise EmptyEventLogError("The event log is empty: there is nothing to compute a funnel on.")  # pragma: no cover
    n_parts = int(partitions) if partitions is not None else choose_partitions(
        source_info.num_rows, _bytes_per_row(source_info.schema, props), budget)
    tmp_root = None if tmp_dir is None else os.fspath(tmp_dir)
    tmpdir = Path(tempfile.mkdtemp(prefix="funnelkit-chunks-", dir=tmp_root))
    info: dict[str, Any] = dict(engine="chunked", partitions=n_parts, rows=source_info.num_rows)
    try:
        t0 = time.perf_counter()
        split = _split_source(source_info, job, n_parts=n_parts, tmpdir=tmpdir, sel=sel, tz=tz,
                              time_unit=time_unit, dropna=bool(dropna), props=props,
                              batch_rows=int(batch_rows), progress=show)
        info["pass1_seconds"] = time.perf_counter() - t0
        job.names = split.names
        job.prop_dtypes = split.prop_dtypes
        _check_names(job, split.names)
        t1 = time.perf_counter()
        parts: list[_PartResult] = []
        bar = _Bar(int(split.counts.sum()), "funnelkit pass 2/2: funnel per part", "rows", show)
        try:
            for p in range(n_parts):
                if split.counts[p] == 0:
                    continue
                path = split.part_path(p)
                frame = _read_part(path, split, props)
                parts.append(_run_part(frame, job))
                del frame
                path.unlink()
                bar.update(int(split.counts[p]))
        finally:
            bar.close()
        info["pass2_seconds"] = time.perf_counter() - t1
        info["parts_nonempty"] = len(parts)
        res, ua, variant, multi, without = _merge(parts, job, dropped=split.dropped, data_end=split.data_end)
        return res, ua, variant, multi, without, info
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _columnar_out_of_core(source: Any, journey_or_steps: Any, params: dict[str, Any], *, lang: Any,
                          session_col: str, memory_budget: Any, progress: Any, tmp_dir: Any,
                          read: tuple[Any, ...], attr_col: Any = None) -> tuple[Any, Any]:
    """The columnar engine (:mod:`funnelkit._scan`) within ``memory_budget``: (result, attr) or (None, None).

    It holds only the funnel's rows (and each user's ``by=`` value, or with ``attr_col``
    each user's smallest and largest variant code), spilling buckets of users to disk
    beyond the budget. It declines what it cannot take (``where=`` rules, string ids,
    nulls, non-string ``by=`` columns, read options other than the defaults), which the
    hash split handles.
    """
    if read != (USER, TIME, EVENT, None, None, None, False):
        return None, None
    budget = _parse_bytes(memory_budget, "memory_budget")
    show = _progress_enabled(progress)
    if tmp_dir is not None and not Path(os.fspath(tmp_dir)).is_dir():
        raise ParameterError(f"`tmp_dir`={tmp_dir!r} is not a directory.")
    fm = _fm()
    s_ns, e_ns = fm._to_ns(params["start"], "start"), fm._to_ns(params["end"], "end")
    _, res, attr = fm._columnar(source, journey_or_steps, params, lang=lang, session_col=session_col,
                                start_ns=s_ns, end_ns=e_ns, memory_budget=budget, tmp_dir=tmp_dir,
                                progress=show, attr_col=attr_col)
    return res, attr


def funnel_chunked(
    source: Any,
    journey_or_steps: Any,
    *,
    partitions: int | None = None,
    memory_budget: int | str = DEFAULT_MEMORY_BUDGET,
    progress: bool | str = True,
    user_col: Hashable = USER,
    time_col: Hashable = TIME,
    event_col: Hashable = EVENT,
    tz: Any = None,
    time_unit: str | None = None,
    columns: Iterable[Hashable] | None = None,
    dropna: bool = False,
    tmp_dir: str | os.PathLike | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    **funnel_kwargs: Any,
):
    """:func:`funnelkit.funnel` on a Parquet file or directory larger than memory.

    Plain journeys on Parquet with integer user ids take the columnar
    engine (:mod:`funnelkit._scan`; see the module docstring); the rest, or an explicit
    ``partitions=``, the hash split: two passes over the data. Pass 1 streams the needed columns (user, time, event and
    the ``by=``, session and ``where=`` columns) in file order, normalizes each batch
    exactly as :func:`funnelkit.read_events` does, collects the event names and the end
    of the data, and writes every row to one of ``partitions`` temporary Parquet files
    chosen by a stable hash of its unit (user id, or session id with
    ``unit="session"``). Pass 2 runs the in-memory pipeline on each part and keeps only
    the small per-unit results, which are merged at the end. The result is identical to
    ``funnel(read_events(source, ...), journey_or_steps, ...)``.

    Parameters
    ----------
    source : str or os.PathLike
        A Parquet file or a directory of Parquet files (as :func:`funnelkit.read_events`
        reads them: sorted paths, hive ``key=value`` directories become columns).
    journey_or_steps : Journey or list
        As for :func:`funnelkit.funnel`.
    partitions : int, optional
        Number of parts; by default chosen so that one part's processing stays within
        ``memory_budget`` (:func:`choose_partitions`).
    memory_budget : int or str, default 2 GiB
        ``"2GB"``, ``"512MB"`` or bytes. The columnar engine holds at most this much of
        the funnel's rows in memory and spills buckets of users to ``tmp_dir`` beyond it;
        the hash split aims at this peak while one part is processed. Per-unit results of
        *all* units are kept besides (about 8·(K+3) bytes per unit).
    progress : bool or "force", default True
        A progress bar on stderr (tqdm when installed), only when stderr is a terminal;
        ``"force"`` shows it anyway, ``False`` never.
    user_col, time_col, event_col, tz, time_unit, columns, dropna
        As for :func:`funnelkit.read_events`.
    tmp_dir : path, optional
        Where the temporary parts go (default: the system's temporary directory); it
        needs about the compressed size of the columns read. Removed at the end, also on
        errors.
    batch_rows : int
        Rows per batch read in pass 1.
    **funnel_kwargs
        ``window``, ``mode``, ``window_from``, ``unit``, ``by``, ``attribution``,
        ``max_groups``, ``exclude``, ``start``, ``end``, ``lang``, ``session_col``: as for
        :func:`funnelkit.funnel`.

    Returns
    -------
    FunnelResult
    """
    params, lang, session_col = _funnel_params(funnel_kwargs, caller="funnel_chunked")
    if partitions is None:
        res, _ = _columnar_out_of_core(
            source, journey_or_steps, params, lang=lang, session_col=session_col, memory_budget=memory_budget,
            progress=progress, tmp_dir=tmp_dir,
            read=(user_col, time_col, event_col, tz, time_unit, columns, dropna))
        if res is not None:
            return res
    job = _Job(journey_or_steps, params, lang, session_col)
    res, *_ = _run_chunked(source, job, partitions=partitions, memory_budget=memory_budget, progress=progress,
                           user_col=user_col, time_col=time_col, event_col=event_col, tz=tz,
                           time_unit=time_unit, columns=columns, dropna=dropna, tmp_dir=tmp_dir,
                           batch_rows=batch_rows, caller="funnel_chunked")
    return res


# ======================================================================================
# experiments
# ======================================================================================

_EXP_FUNNEL = ("window", "mode", "window_from", "exclude", "start", "end", "lang")


def _experiment_params(kwargs: dict[str, Any], caller: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """experiment()'s checks; returns (experiment keyword values, funnel keyword values)."""
    em = _em()
    sig = inspect.signature(em.experiment)
    known = [p for p in sig.parameters if p not in ("events", "journey_or_steps", "variant_col", "control")]
    unknown = [k for k in kwargs if k not in known]
    if unknown:
        raise TypeError(f"{caller}() got an unexpected keyword argument {unknown[0]!r}")
    kw = {p: sig.parameters[p].default for p in known}
    kw.update(kwargs)
    alpha_f = float(kw["alpha"])
    if not 0 < alpha_f < 1:
        raise ParameterError(f"`alpha`={kw['alpha']!r} must be in (0, 1), e.g. 0.05.")
    check_choice(kw["alternative"], name="alternative", choices=("two-sided", "larger", "smaller"))
    check_choice(kw["correction"], name="correction", choices=("holm", "bh", "none"))
    check_choice(kw["test"], name="test", choices=("welch", "z_pooled"))
    check_choice(kw["ci_method"], name="ci_method",
                 choices=("wilson", "wald", "agresti_coull", "clopper_pearson", "jeffreys"))
    tl = kw["target_lift"]
    if not (isinstance(tl, (int, float)) and tl > 0):
        raise ParameterError(f"`target_lift`={tl!r} must be a positive relative lift, e.g. 0.1 for +10%.")
    fkw = {k: kw[k] for k in _EXP_FUNNEL}
    fkw["unit"] = "user"
    return kw, fkw


def _experiment_result(res_all: Any, user_var: pd.Series, multi: int, n_without: int, *, variant_col: str,
                       control: Any, kw: dict[str, Any]):
    """experiment() from the all-users funnel and each user's variant (same code as in memory)."""
    return _em()._experiment_from_funnel(res_all, user_var, multi, n_without, variant_col=variant_col,
                                         control=control, **kw)


def _finish_experiment(res_all: Any, ua: Any, variant: np.ndarray, multi: int, without: int, *,
                       variant_col: str, control: Any, kw: dict[str, Any]):
    user_var = pd.Series(variant, index=ua.unit_ids, dtype=object)
    return _experiment_result(res_all, user_var, multi, without, variant_col=variant_col, control=control, kw=kw)


def experiment_chunked(
    source: Any,
    journey_or_steps: Any,
    *,
    variant_col: str,
    control: Any,
    partitions: int | None = None,
    memory_budget: int | str = DEFAULT_MEMORY_BUDGET,
    progress: bool | str = True,
    user_col: Hashable = USER,
    time_col: Hashable = TIME,
    event_col: Hashable = EVENT,
    tz: Any = None,
    time_unit: str | None = None,
    columns: Iterable[Hashable] | None = None,
    dropna: bool = False,
    tmp_dir: str | os.PathLike | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    **experiment_kwargs: Any,
):
    """:func:`funnelkit.experiment` on a Parquet file or directory larger than memory.

    The funnel of all users is computed as in :func:`funnel_chunked`; each part also
    finds the variant of each of its users (all of a user's rows are in one part, so
    users seen in two variants are detected there). The result is identical to
    ``experiment(read_events(source, ...), ...)``.

    Parameters are those of :func:`funnel_chunked` (reading, parts, progress) and of
    :func:`funnelkit.experiment` (``variant_col``, ``control``, ``window``, ``alpha``...).
    """
    kw, fkw = _experiment_params(experiment_kwargs, "experiment_chunked")
    params, lang, session_col = _funnel_params(fkw, caller="experiment_chunked")
    if partitions is None:
        res_all, attr = _columnar_out_of_core(
            source, journey_or_steps, params, lang=lang, session_col=session_col, memory_budget=memory_budget,
            progress=progress, tmp_dir=tmp_dir, attr_col=variant_col,
            read=(user_col, time_col, event_col, tz, time_unit, columns, dropna))
        if res_all is not None:
            vmin, vmax, values = attr
            user_var, multi, without = _em()._variants_from_codes(
                vmin, vmax, np.asarray(values, dtype=object), res_all.units.index)
            return _experiment_result(res_all, user_var, multi, without, variant_col=variant_col,
                                      control=control, kw=kw)
    job = _Job(journey_or_steps, params, lang, session_col, variant_col=variant_col)
    res_all, ua, variant, multi, without, _ = _run_chunked(
        source, job, partitions=partitions, memory_budget=memory_budget, progress=progress, user_col=user_col,
        time_col=time_col, event_col=event_col, tz=tz, time_unit=time_unit, columns=columns, dropna=dropna,
        tmp_dir=tmp_dir, batch_rows=batch_rows, caller="experiment_chunked")
    return _finish_experiment(res_all, ua, variant, multi, without, variant_col=variant_col, control=control,
                              kw=kw)


# ======================================================================================
# Dask
# ======================================================================================

_ROWNUM = "__funnelkit_row__"


def _import_dask() -> tuple[Any, Any]:
    try:
        import dask
        import dask.dataframe as dd
    except ImportError as exc:  # pragma: no cover - exercised without dask installed
        raise ImportError(
            "The Dask engine needs dask with its dataframe part: pip install 'funnelkit[dask]' "
            f"(or pip install 'dask[dataframe]'). ({exc})"
        ) from None
    return dask, dd


def _is_dask_frame(obj: Any) -> bool:
    mod = sys.modules.get("dask.dataframe")
    if mod is None:
        return False
    return isinstance(obj, mod.DataFrame)


def _dask_meta(job: _Job, K: int) -> pd.DataFrame:
    cols: dict[str, Any] = {"unit": pd.Series([], dtype=object), "level": pd.Series([], dtype=np.int64)}
    for k in range(K):
        cols[f"t{k}"] = pd.Series([], dtype=np.int64)
    cols["excluded"] = pd.Series([], dtype=bool)
    cols["n_attempts"] = pd.Series([], dtype=np.int64)
    if job.params["by"] is not None:
        cols["attributed"] = pd.Series([], dtype=object)
    if job.variant_col is not None:
        cols["variant"] = pd.Series([], dtype=object)
    for c in ("_rows", "_rows_in_funnel", "_data_end", "_multi", "_without", *(f"_dropped_{r}" for r in _DROP_ORDER)):
        cols[c] = pd.Series([], dtype=np.int64)
    return pd.DataFrame(cols)


def _dask_part(df: pd.DataFrame, job: _Job, K: int) -> pd.DataFrame:
    """One shuffled partition: input order back, normalize, the in-memory pipeline, per-unit frame."""
    if len(df) == 0:
        return _dask_meta(job, K)
    df = df.sort_values(_ROWNUM, kind="stable")
    rownum = df[_ROWNUM].to_numpy()
    df = df.drop(columns=[_ROWNUM]).reset_index(drop=True)
    try:
        frame = _schema.ensure_events(df)
    except FunnelkitError as exc:
        raise _remap_error(exc, rownum, 0) from None
    r = _run_part(frame, job)
    ua = r.ua
    n = len(ua.unit_ids)
    out: dict[str, Any] = {"unit": ua.unit_ids.to_numpy(), "level": ua.level.astype(np.int64)}
    for k in range(K):
        out[f"t{k}"] = ua.step_time[:, k].astype(np.int64)
    out["excluded"] = ua.excluded
    out["n_attempts"] = ua.n_attempts.astype(np.int64)
    if job.params["by"] is not None:
        out["attributed"] = ua.attributed
    if job.variant_col is not None:
        out["variant"] = r.variant

    def first(v: int, fill: int = 0) -> np.ndarray:
        a = np.full(n, fill, dtype=np.int64)
        a[0] = v
        return a

    out["_rows"] = first(ua.rows)
    out["_rows_in_funnel"] = first(ua.rows_in_funnel)
    out["_data_end"] = first(r.data_end, np.iinfo(np.int64).min)
    out["_multi"] = first(r.multi)
    out["_without"] = first(r.without)
    for reason in _DROP_ORDER:
        out[f"_dropped_{reason}"] = first(int(ua.dropped.get(reason, 0)))
    return pd.DataFrame(out)


def _from_dask_part(fr: pd.DataFrame, job: _Job, K: int, unit_name: str) -> _PartResult:
    fm = _fm()
    vals = fr["unit"].to_numpy()
    if vals.dtype == object and len(vals) and isinstance(vals[0], str):
        ids = pd.Index(vals, dtype=_schema._STR_DTYPE, name=unit_name)
    else:
        ids = pd.Index(vals, name=unit_name)
    step_time = np.stack([fr[f"t{k}"].to_numpy(dtype=np.int64) for k in range(K)], axis=1) if K else \
        np.zeros((len(fr), 0), np.int64)
    ua = fm.UnitArrays(
        unit_ids=ids,
        level=fr["level"].to_numpy(dtype=np.int64),
        step_time=step_time,
        excluded=fr["excluded"].to_numpy(dtype=bool),
        n_attempts=fr["n_attempts"].to_numpy(dtype=np.int64),
        attributed=fr["attributed"].to_numpy(dtype=object) if "attributed" in fr else None,
        rows=int(fr["_rows"].sum()),
        rows_in_funnel=int(fr["_rows_in_funnel"].sum()),
        dropped={r: int(fr[f"_dropped_{r}"].sum()) for r in _DROP_ORDER if int(fr[f"_dropped_{r}"].sum())},
    )
    return _PartResult(ua=ua, data_end=int(fr["_data_end"].max()),
                       variant=fr["variant"].to_numpy(dtype=object) if "variant" in fr else None,
                       multi=int(fr["_multi"].sum()), without=int(fr["_without"].sum()))


def _run_dask(ddf: Any, job: _Job, *, caller: str) -> tuple[Any, Any, np.ndarray | None, int, int]:
    dask, dd = _import_dask()
    if not isinstance(ddf, dd.DataFrame):
        raise ParameterError(
            f"{caller}() takes a dask.dataframe.DataFrame, not {type(ddf).__module__}.{type(ddf).__name__}; "
            "for pandas frames use funnelkit.funnel()."
        )
    spec = resolve_steps(job.journey_or_steps, lang=job.lang)
    K = len(spec.steps)
    cols = list(ddf.columns)
    _schema.resolve_columns(cols)  # the in-memory MissingColumnError for user_id / timestamp / event
    _check_columns(job, cols)
    if _ROWNUM in cols:
        raise ParameterError(f"Column {_ROWNUM!r} is reserved by {caller}(); rename it.")
    # global event names (one reduction), normalized as the in-memory path does
    raw = dask.compute(ddf[EVENT].dropna().unique())[0]
    raw = pd.Series(np.asarray(raw, dtype=object) if not isinstance(raw, pd.Series) else raw.to_numpy(dtype=object))
    if len(raw) == 0:
        raise EmptyEventLogError("The event log is empty: there is nothing to compute a funnel on.")
    names = _schema._convert_event(raw.reset_index(drop=True), name=EVENT, pos=None).cat.categories
    job.names = pd.Index(sorted(names.tolist()), dtype=_schema._STR_DTYPE)
    _check_names(job, job.names)
    # input row numbers survive the shuffle: ties are broken by input order, as in memory
    ones = ddf.map_partitions(lambda d: pd.Series(np.ones(len(d), dtype=np.int64), index=d.index),
                              meta=pd.Series([], dtype=np.int64, name=_ROWNUM))
    numbered = ddf.assign(**{_ROWNUM: ones.cumsum() - 1})
    shuffled = numbered.shuffle(job.unit_col)
    meta = _dask_meta(job, K)
    per_unit = shuffled.map_partitions(_dask_part, job, K, meta=meta, enforce_metadata=False)
    frames = dask.compute(*per_unit.to_delayed())
    parts = [_from_dask_part(fr, job, K, job.unit_col) for fr in frames if len(fr)]
    if not parts:
        raise EmptyEventLogError("The event log is empty: there is nothing to compute a funnel on.")
    parts[0].spec = spec
    return _merge(parts, job)


def funnel_dask(ddf: Any, journey_or_steps: Any, **funnel_kwargs: Any):
    """:func:`funnelkit.funnel` on a ``dask.dataframe.DataFrame`` (the same numbers as in memory).

    ``ddf`` has the canonical columns ``user_id``, ``timestamp``, ``event`` (plus any
    properties); each partition is validated and normalized like a pandas frame. The
    data is shuffled on the unit column (``user_id``, or the session column with
    ``unit="session"``) after numbering the rows, every partition is put back in input
    order and runs the in-memory pipeline, and the per-unit results are merged. The
    event names are collected first (one reduction), so typos are caught before the
    shuffle.

    Examples
    --------
    >>> import dask.dataframe as dd, funnelkit as fk  # doctest: +SKIP
    >>> ddf = dd.read_parquet("events/")               # doctest: +SKIP
    >>> res = funnel_dask(ddf, ["landing", "purchase"], window="1D")  # doctest: +SKIP
    """
    params, lang, session_col = _funnel_params(funnel_kwargs, caller="funnel_dask")
    job = _Job(journey_or_steps, params, lang, session_col)
    return _run_dask(ddf, job, caller="funnel_dask")[0]


def experiment_dask(ddf: Any, journey_or_steps: Any, *, variant_col: str, control: Any, **experiment_kwargs: Any):
    """:func:`funnelkit.experiment` on a ``dask.dataframe.DataFrame`` (see :func:`funnel_dask`)."""
    kw, fkw = _experiment_params(experiment_kwargs, "experiment_dask")
    params, lang, session_col = _funnel_params(fkw, caller="experiment_dask")
    job = _Job(journey_or_steps, params, lang, session_col, variant_col=variant_col)
    res_all, ua, variant, multi, without = _run_dask(ddf, job, caller="experiment_dask")
    return _finish_experiment(res_all, ua, variant, multi, without, variant_col=variant_col, control=control,
                              kw=kw)


# ======================================================================================
# routing from funnel() / experiment()
# ======================================================================================


def _physical_memory() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 16 * 1024**3


def estimated_memory(source: Any) -> int | None:
    """Estimated bytes of the normalized in-memory frame of a Parquet source (None if not one)."""
    if not isinstance(source, (str, os.PathLike)):
        return None
    try:
        path = Path(os.fspath(source)).expanduser()
        if not (path.is_dir() or (path.is_file() and _io._suffix(path) in _io._PARQUET_SUFFIXES)):
            return None
        info = _open_parquet(path, dict(user_col=USER, time_col=TIME, event_col=EVENT, columns=None),
                             caller="funnel")
    except Exception:
        return None
    return int(info.num_rows * _bytes_per_row(info.schema, info.props))


def is_large_source(obj: Any, *, threshold: int | None = None) -> bool:
    """Whether ``funnel()`` / ``experiment()`` should hand ``obj`` to a large-data engine.

    True for any ``dask.dataframe.DataFrame`` (dask need not be imported for the check
    to be O(1) on other objects), and for a path to a Parquet file or directory whose
    estimated in-memory size (rows from the Parquet metadata times the normalized
    row size) exceeds ``threshold`` bytes (default: :data:`LARGE_SOURCE_FRACTION` of the
    machine's physical memory). Anything else (pandas, Arrow, polars, CSV, small
    Parquet) is False: the in-memory path stays the default. Never raises.
    """
    if _is_dask_frame(obj):
        return True
    if not isinstance(obj, (str, os.PathLike)):
        return False
    est = estimated_memory(obj)
    if est is None:
        return False
    limit = threshold if threshold is not None else int(LARGE_SOURCE_FRACTION * _physical_memory())
    return est > limit


def dispatch_funnel(events: Any, journey_or_steps: Any, **funnel_kwargs: Any):
    """The engine for a large source: Dask for a dask DataFrame, chunked Parquet for a path."""
    if _is_dask_frame(events):
        return funnel_dask(events, journey_or_steps, **funnel_kwargs)
    return funnel_chunked(events, journey_or_steps, **funnel_kwargs)


def dispatch_experiment(events: Any, journey_or_steps: Any, **experiment_kwargs: Any):
    """As :func:`dispatch_funnel`, for :func:`funnelkit.experiment`."""
    if _is_dask_frame(events):
        return experiment_dask(events, journey_or_steps, **experiment_kwargs)
    return experiment_chunked(events, journey_or_steps, **experiment_kwargs)
