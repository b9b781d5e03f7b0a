"""Reading event logs from pandas, Arrow, polars, Parquet and CSV (``read_events``)."""

from __future__ import annotations

import difflib
import json
import os
import re
import sys
from collections.abc import Hashable, Iterable
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from ._names import EVENT, TIME, USER
from .columns import (
    _check_columns_param,
    _check_mapping,
    _check_time_unit,
    _check_tz,
    resolve_columns,
)
from .normalize import arrow_to_series, normalize
from .._params import cut_value
from ..errors import ColumnTypeError, EmptyEventLogError, EventLogError, EventSourceError, ParameterError

__all__ = ["read_events", "SUPPORTED_SUFFIXES"]

#: File suffixes :func:`read_events` reads (besides directories of Parquet files).
SUPPORTED_SUFFIXES = (".parquet", ".pq", ".csv", ".csv.gz", ".tsv", ".tsv.gz")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz")
#: Separators recognised in a CSV header line when sep= is not given.
_SEPARATORS = (",", ";", "\t", "|")
_SEP_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_INDEX_COLUMN = re.compile(r"__index_level_\d+__")
# pandas' default missing-value markers (read_csv); kept for timestamps and properties,
# while user ids and events treat only empty fields as missing ("NA" may be a real name).
_CSV_NA = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
           "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
_ACCEPTED = (
    "a pandas DataFrame, a pyarrow Table, a polars DataFrame, or a path to a Parquet file, "
    "a directory of Parquet files or a CSV/TSV file"
)


def read_events(
    source: Any,
    *,
    user_col: Hashable = USER,
    time_col: Hashable = TIME,
    event_col: Hashable = EVENT,
    tz: Any = None,
    time_unit: Literal["s", "ms", "us", "ns"] | None = None,
    columns: Iterable[Hashable] | None = None,
    dropna: bool = False,
    dedupe: bool = False,
    sep: str | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read and validate an event log, returning the normalized frame.

    Parameters
    ----------
    source
        A ``pandas.DataFrame``; a ``pyarrow.Table`` or ``RecordBatch``; a polars
        ``DataFrame``/``LazyFrame`` (polars is only touched when the object is
        one); any object exporting an Arrow stream (``__arrow_c_stream__``); or a
        path (``str``/``os.PathLike``) to a Parquet file (``.parquet``, ``.pq``), a
        directory of Parquet files (read recursively in sorted path order; hidden
        and ``_``-prefixed files are skipped; ``key=value`` directories become
        columns), or a CSV/TSV file (``.csv``, ``.csv.gz``, ``.tsv``, ``.tsv.gz``).
    user_col, time_col, event_col
        Names of the columns holding user ids, timestamps and events in
        ``source``; they become ``user_id``, ``timestamp`` and ``event``.
    tz
        IANA zone (``"Europe/Madrid"``) of *naive* timestamps (datetimes or
        strings without offset). Required for them; tz-aware data and strings with
        offsets need none. Given for such data, it must agree with it (reading
        the written wall-clock times in ``tz`` gives the same instants), otherwise
        :class:`~funnelkit.errors.TimezoneError`: funnelkit never relabels zones.
    time_unit
        Unit of epoch numbers (``"s"``, ``"ms"``, ``"us"``, ``"ns"`` since
        1970-01-01 UTC). Required when timestamps are numbers, refused otherwise.
    columns
        Property columns to keep, in this order (default: all, in source order).
        For Parquet only these (and the three required columns) are read.
    dropna
        Drop rows missing a user id, timestamp or event instead of raising
        :class:`~funnelkit.errors.NullValuesError`. The counts go to
        ``df.attrs["funnelkit_dropped"]`` (``{"null_user_id": n, "null_timestamp":
        n, "null_event": n}``, non-zero reasons only; a row counts under its first
        missing column) and a :class:`~funnelkit.errors.DroppedRowsWarning` is
        issued.
    dedupe
        Drop exact duplicate rows (equal to an earlier row in every column: user,
        timestamp, event and properties), keeping the first copy. They are counted
        in ``df.attrs["funnelkit_dropped"]["duplicate"]`` and announced with a
        :class:`~funnelkit.errors.DroppedRowsWarning`. Without it, duplicates are kept
        and reported with a :class:`~funnelkit.errors.DuplicateEventsWarning` (their
        number is in ``df.attrs["funnelkit_duplicates"]``).
    sep
        Field separator of a CSV/TSV file. Default: detected from the header line
        (``,``, ``;``, tab or ``|``; ``.tsv`` files: tab). Refused for other sources.
    encoding
        Text encoding of a CSV/TSV file (default ``"utf-8"``; e.g. ``"latin-1"``,
        ``"cp1252"``). Refused for other sources.

    Returns
    -------
    pandas.DataFrame
        ``user_id`` (``int64`` for integer ids, else ``category`` of sorted
        strings), ``timestamp`` (``datetime64[ns, UTC]``), ``event`` (``category``
        of sorted strings), then the property columns as given; input row order,
        fresh ``RangeIndex``. The input object is never modified. The columns are
        renamed to those three canonical names; the input's own names are kept in
        ``df.attrs["funnelkit_columns"]`` (``{"user_id": user_col, "timestamp":
        time_col, "event": event_col}``), so ``df.rename(columns=
        df.attrs["funnelkit_columns"])`` gives them back (``funnelkit sessionize``
        writes its output under them).

    Raises
    ------
    EventSourceError
        The path does not exist, or a directory holds no Parquet files.
    MissingColumnError, NullValuesError, TimestampError, TimezoneError, EmptyEventLogError
        The event log cannot be used as given; each message names the column, an
        offending value with its row (0-based position in the input) and the fix.
    ColumnTypeError
        Also for inputs of the wrong type (a list, a dict, an array) and files whose
        suffix is not one of ``SUPPORTED_SUFFIXES``.

    Notes
    -----
    * Timestamps: tz-aware datetimes of any zone and resolution; naive datetimes
      with ``tz=``; ISO 8601 strings (``"2024-03-01T10:00:00+01:00"``, ``"...Z"``:
      with offsets they are instants and may mix offsets; without offsets they
      need ``tz=``; a mix of both is refused); epoch numbers with ``time_unit=``.
      Blank timestamp strings count as missing. Ambiguous or non-existent local
      times (DST changes) are refused with the row and a ``tz_localize`` recipe.
      Values outside 1677-09-21 .. 2262-04-11 (nanosecond range) are refused.
    * User ids: integers of any width -> ``int64`` (``uint64`` beyond the ``int64``
      range -> strings); floats only when all are whole numbers within +-2**53;
      strings -> categorical. In CSV files (no types) an id column whose values
      all read as whole numbers (``"42"``, ``"42.0"``) becomes ``int64``; ids with
      leading zeros (``"007"``) keep the column as strings.
    * Events: strings, or integer codes which become their decimal text.
    * Parquet: user/event string columns are read dictionary-encoded straight into
      categoricals (no per-row Python strings).

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"uid": [2, 1, 2], "name": ["view", "view", "buy"],
    ...                     "ts": ["2024-03-01 10:00", "2024-03-01 10:05", "2024-03-01 10:07"],
    ...                     "channel": ["ads", "seo", "ads"]})
    >>> ev = read_events(raw, user_col="uid", time_col="ts", event_col="name",
    ...                  tz="Europe/Madrid")
    >>> ev
       user_id                 timestamp event channel
    0        2 2024-03-01 09:00:00+00:00  view     ads
    1        1 2024-03-01 09:05:00+00:00  view     seo
    2        2 2024-03-01 09:07:00+00:00   buy     ads
    >>> ev.dtypes.astype(str).tolist()[:3]
    ['int64', 'datetime64[ns, UTC]', 'category']
    """
    # Parameters are checked before any file is read.
    _check_mapping(user_col, time_col, event_col)
    _check_tz(tz)
    _check_time_unit(time_unit)
    columns = _check_columns_param(columns)
    csv = _check_csv_options(source, sep=sep, encoding=encoding)
    sel = dict(user_col=user_col, time_col=time_col, event_col=event_col, columns=columns)
    frame = _load(source, csv=csv, **sel)
    out = normalize(frame, tz=tz, time_unit=time_unit, dropna=dropna, dedupe=dedupe, **sel)
    out.attrs["funnelkit_columns"] = {"user_id": user_col, "timestamp": time_col, "event": event_col}
    return out


# --------------------------------------------------------------------------------------
# dispatch
# --------------------------------------------------------------------------------------


def _check_csv_options(source: Any, *, sep: Any, encoding: Any) -> dict[str, Any]:
    """``sep=`` and ``encoding=``: valid values, and only for a CSV/TSV path."""
    if sep is None and encoding is None:
        return {}
    given = ", ".join(f"{k}={v!r}" for k, v in (("sep", sep), ("encoding", encoding)) if v is not None)
    is_csv = isinstance(source, (str, os.PathLike)) and _suffix(Path(os.fspath(source))) in _CSV_SUFFIXES
    if not is_csv:
        what = (f"the path {cut_value(os.fspath(source))}" if isinstance(source, (str, os.PathLike))
                else f"a {type(source).__name__}")
        raise ParameterError(
            f"{given} applies to CSV/TSV files only, but read_events got {what}. Fix: leave "
            "out sep= and encoding= (they are for .csv, .csv.gz, .tsv and .tsv.gz files)."
        )
    if sep is not None and not (isinstance(sep, str) and len(sep) == 1 and sep not in "\"\r\n"):
        raise ParameterError(
            f"`sep`={cut_value(sep)} must be one character, e.g. sep=',', sep=';', sep='\\t' or "
            "sep='|'. Fix: pass the field separator of the file."
        )
    if encoding is not None:
        import codecs

        try:
            if not isinstance(encoding, str):
                raise LookupError
            codecs.lookup(encoding)
        except LookupError:
            raise ParameterError(
                f"`encoding`={cut_value(encoding)} is not a text encoding Python knows. Fix: pass "
                "e.g. encoding='utf-8', 'latin-1' or 'cp1252'."
            ) from None
    return {"sep": sep, "encoding": encoding}


def _load(source: Any, *, csv: dict[str, Any] | None = None, **sel: Any) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source
    if isinstance(source, (str, os.PathLike)):
        return _read_path(source, csv=csv or {}, **sel)
    polars = sys.modules.get("polars")
    if polars is not None and isinstance(source, (polars.DataFrame, polars.LazyFrame)):
        return _from_polars(source, **sel)
    if type(source).__module__.split(".")[0] == "pyarrow":
        import pyarrow as pa

        if isinstance(source, pa.RecordBatch):
            source = pa.Table.from_batches([source])
        if isinstance(source, pa.Table):
            return _from_arrow_table(source, **sel)
    if isinstance(source, pd.Series):
        raise ColumnTypeError(
            f"read_events() got a pandas Series ({source.name!r}), but an event log needs "
            f"three columns (user ids, timestamps, events); it accepts {_ACCEPTED}. Fix: pass "
            "the DataFrame the Series came from."
        )
    if hasattr(source, "__arrow_c_stream__") and not isinstance(source, type):
        import pyarrow as pa

        try:
            table = pa.table(source)
        except Exception as exc:
            raise ColumnTypeError(
                f"read_events() cannot read the Arrow stream of a {type(source).__name__}: "
                f"{exc}. Fix: pass a table-like object ({_ACCEPTED})."
            ) from None
        return _from_arrow_table(table, **sel)
    fix = {
        dict: "build a frame first, e.g. pd.DataFrame(obj) (a dict of columns)",
        list: "build a frame first, e.g. pd.DataFrame(records) (a list of row dicts)",
        tuple: "build a frame first, e.g. pd.DataFrame(list(records))",
    }.get(type(source), "convert it to a pandas DataFrame first")
    if type(source).__module__ == "numpy":
        fix = ("build a frame first, e.g. "
               "pd.DataFrame(arr, columns=['user_id', 'timestamp', 'event'])")
    raise ColumnTypeError(
        f"read_events() cannot read a {type(source).__module__}.{type(source).__qualname__}"
        .replace("builtins.", "")
        + f"; it accepts {_ACCEPTED}. Fix: {fix}."
    )


def _needed(src: dict, props: list) -> list:
    return [src[USER], src[TIME], src[EVENT], *props]


# --------------------------------------------------------------------------------------
# Arrow and polars
# --------------------------------------------------------------------------------------


def _is_text(t: Any) -> bool:
    import pyarrow as pa

    return (pa.types.is_string(t) or pa.types.is_large_string(t)
            or getattr(pa.types, "is_string_view", lambda _t: False)(t))


def _strip_index_metadata(table: Any) -> Any:
    """Drop the index description of pandas metadata (funnelkit always resets the index)."""
    meta = table.schema.metadata
    if not meta or b"pandas" not in meta:
        return table
    try:
        info = json.loads(meta[b"pandas"])
        info["index_columns"] = []
        new = dict(meta)
        new[b"pandas"] = json.dumps(info).encode()
        return table.replace_schema_metadata(new)
    except Exception:  # pragma: no cover - foreign metadata: drop it
        return table.replace_schema_metadata(None)


def _props_to_pandas(table: Any) -> pd.DataFrame:
    """Property columns -> pandas, integers kept exact: an integer column holding nulls
    becomes the nullable ``Int64`` (``UInt64``...) rather than float64, from every source
    (pandas metadata of a file, when it names a dtype, still wins). Without nulls integers
    stay ``int64``, as in a pandas frame."""
    import pyarrow as pa

    table = _strip_index_metadata(table)
    nullable = {f.name for f, col in zip(table.schema, table.columns)
                if pa.types.is_integer(f.type) and col.null_count}
    if not nullable:
        return table.to_pandas()

    def mapper(t: Any) -> Any:
        if pa.types.is_integer(t):
            return pd.api.types.pandas_dtype(("UInt" if pa.types.is_unsigned_integer(t) else "Int")
                                             + str(t.bit_width))
        return None

    plain = [n for n in table.column_names if n not in nullable]
    out = table.select(plain).to_pandas() if plain else pd.DataFrame(index=pd.RangeIndex(table.num_rows))
    ints = table.select([n for n in table.column_names if n in nullable])
    ints = ints.replace_schema_metadata(None).to_pandas(types_mapper=mapper)
    data = {n: (ints[n] if n in nullable else out[n]) for n in table.column_names}
    return pd.DataFrame(data, copy=False)


def _index_columns(schema: Any) -> list[str]:
    """Columns that hold a pandas index (pandas metadata), which funnelkit leaves out."""
    meta = schema.metadata or {}
    try:
        info = json.loads(meta[b"pandas"]) if b"pandas" in meta else {}
    except Exception:  # pragma: no cover - foreign metadata
        info = {}
    named = [c for c in info.get("index_columns", []) if isinstance(c, str)]
    return named + [n for n in schema.names if _INDEX_COLUMN.fullmatch(n) and n not in named]


def _columns_of(schema: Any, **sel: Any) -> tuple[dict, list]:
    """resolve_columns on an Arrow schema, leaving out pandas index columns."""
    index = _index_columns(schema)
    names = [n for n in schema.names if n not in index]
    return resolve_columns(names, index_names=index, **sel)


def _out_of_range_times(col: Any, name: Any) -> Exception:
    """The io layer's message for Arrow timestamps beyond the nanosecond range (1677..2262)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from ._names import _I8_MAX, _NS_PER
    from ..errors import TimestampError

    unit = col.type.unit
    limit = _I8_MAX // _NS_PER[unit]
    v = pc.cast(col, pa.int64())
    bad = pc.or_(pc.greater(v, limit), pc.less(v, -limit))
    n_bad = pc.sum(bad).as_py() or 0
    i = pc.index(bad, True).as_py()
    if i is None or i < 0:  # pragma: no cover - the cast failed for another reason
        i = 0
    raw = v[i].as_py()
    try:
        shown = repr(col[i].as_py().isoformat())
    except (OverflowError, ValueError, AttributeError):  # beyond Python's datetime (year 9999)
        shown = f"{raw} {unit} since 1970-01-01 (about year {1970 + raw * _NS_PER[unit] // 10**9 // 31_556_952:,})"
    return TimestampError(
        f"Column {name!r} has a timestamp outside the range funnelkit supports "
        f"(1677-09-21 to 2262-04-11, nanosecond precision): {shown} at row {i} ({n_bad} such "
        "values). Fix: correct or drop those rows (they are often placeholders such as "
        "9999-12-31 or 0001-01-01), e.g. with pyarrow.compute.filter before read_events."
    )


def _from_arrow_table(table: Any, **sel: Any) -> pd.DataFrame:
    """Arrow table -> pandas frame with only the needed columns (original names)."""
    import pyarrow.compute as pc

    src, props = _columns_of(table.schema, **sel)
    data: dict[Any, pd.Series] = {}
    import pyarrow as pa

    plain: dict[Any, Any] = {}  # null-free columns: converted together, table-level
    for canonical in (USER, TIME, EVENT):
        col = table.column(src[canonical])
        if canonical != TIME and _is_text(col.type):
            col = pc.dictionary_encode(col)  # categorical without per-row Python strings
        elif canonical == TIME and pa.types.is_timestamp(col.type) and col.type.unit != "ns":
            try:  # to nanoseconds in Arrow: cheaper than in pandas; out-of-range values fail here
                col = pc.cast(col, pa.timestamp("ns", tz=col.type.tz))
            except (pa.ArrowInvalid, OverflowError):
                raise _out_of_range_times(col, src[TIME]) from None
        if col.null_count:
            data[src[canonical]] = arrow_to_series(col)
        else:
            plain[src[canonical]] = col
    if plain:
        # Table.to_pandas builds tz-aware columns without the copy (and 0.1-0.4 s of page
        # faults at 10M rows) that ChunkedArray.to_pandas spends on tz_localize.
        names = list(plain)
        front = pa.Table.from_arrays(list(plain.values()), names=[f"c{i}" for i in range(len(names))]).to_pandas()
        for i, name in enumerate(names):
            data[name] = front[f"c{i}"].rename(name)
        data = {src[c]: data[src[c]] for c in (USER, TIME, EVENT)}  # canonical order
    if props:
        rest = _props_to_pandas(table.select(props))
        for p in props:
            data[p] = rest[p]
    return pd.DataFrame(data, copy=False)


def _from_polars(obj: Any, **sel: Any) -> pd.DataFrame:
    import polars as pl

    lazy = isinstance(obj, pl.LazyFrame)
    names = obj.collect_schema().names() if lazy else list(obj.columns)
    src, props = resolve_columns(names, **sel)
    picked = obj.select(_needed(src, props))
    if lazy:
        picked = picked.collect()
    return _from_arrow_table(picked.to_arrow(), **sel)


# --------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suf in sorted(SUPPORTED_SUFFIXES, key=len, reverse=True):
        if name.endswith(suf):
            return suf
    return "".join(path.suffixes[-2:]).lower() if len(path.suffixes) > 1 else path.suffix.lower()


def _missing_path(path: Path) -> EventSourceError:
    where = "" if path.is_absolute() else f" (relative to the current directory {os.getcwd()!r})"
    hint = ""
    parent = path.parent if str(path.parent) else Path(".")
    if parent.is_dir():
        try:
            siblings = [p.name for p in parent.iterdir()]
        except OSError:  # pragma: no cover
            siblings = []
        close = difflib.get_close_matches(path.name, siblings, n=1)
        if close:
            hint = f" Did you mean {str(parent / close[0])!r}?"
    else:
        hint = f" The directory {str(parent)!r} does not exist either."
    return EventSourceError(
        f"No file or directory at {str(path)!r}{where}.{hint} Fix: check the path "
        "(read_events reads a Parquet file, a directory of Parquet files, or a CSV/TSV file)."
    )


def _read_path(source: Any, *, csv: dict[str, Any], **sel: Any) -> pd.DataFrame:
    path = Path(os.fspath(source)).expanduser()
    if path.is_dir():
        return _read_parquet_dir(path, **sel)
    if not path.exists():
        raise _missing_path(path)
    suffix = _suffix(path)
    if suffix in _PARQUET_SUFFIXES:
        return _read_parquet_file(path, **sel)
    if suffix in _CSV_SUFFIXES:
        return _read_csv(path, default_sep="\t" if suffix.startswith(".tsv") else ",",
                         sep=csv.get("sep"), encoding=csv.get("encoding"), **sel)
    raise ColumnTypeError(
        f"File {str(path)!r} has the suffix {suffix or '(none)'!r}, which read_events cannot "
        f"read. Supported: {', '.join(SUPPORTED_SUFFIXES)}, or a directory of Parquet files. "
        "Fix: rename the file if the suffix is wrong, or load it yourself (e.g. "
        "pd.read_json(...)) and pass the DataFrame."
    )


def _unreadable(path: Path, fmt: str, exc: Exception) -> ColumnTypeError:
    return ColumnTypeError(
        f"File {str(path)!r} cannot be read as {fmt}: {exc}. Fix: check that the file is "
        f"valid {fmt} (read_events picks the format from the suffix)."
    )


def _dictionary_columns(schema: Any, src: dict) -> list:
    """Text user and event columns are read dictionary-encoded (no Python string per row);
    properties keep their type, as with every other source."""
    return [src[c] for c in (USER, EVENT) if _is_text(schema.field(src[c]).type)]


def _release_arrow_memory() -> None:
    """Give the memory Arrow kept after a read back to the system (no effect on results)."""
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except Exception:  # pragma: no cover - older pyarrow
        pass


def _read_parquet_file(path: Path, **sel: Any) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception as exc:
        raise _unreadable(path, "Parquet", exc) from None
    src, props = _columns_of(schema, **sel)
    # Two reads: the required columns, converted and their Arrow memory released, then the
    # properties. The peak holds one group's Arrow buffers besides the frame, not all of them.
    try:
        table = pq.read_table(path, columns=_needed(src, []),
                              read_dictionary=_dictionary_columns(schema, src))
    except Exception as exc:
        raise _unreadable(path, "Parquet", exc) from None
    out = _from_arrow_table(table, **{**sel, "columns": []})
    del table
    _release_arrow_memory()
    if props:
        try:
            table = pq.read_table(path, columns=list(props))
        except Exception as exc:
            raise _unreadable(path, "Parquet", exc) from None
        rest = _props_to_pandas(table)
        del table
        _release_arrow_memory()
        out = pd.concat([out, rest[list(props)]], axis=1)
    return out


def _parquet_files(root: Path) -> list[Path]:
    files = []
    for p in root.rglob("*"):
        rel = p.relative_to(root).parts
        if any(part.startswith((".", "_")) and "=" not in part for part in rel):
            continue
        if p.is_file() and p.name.lower().endswith(_PARQUET_SUFFIXES):
            files.append(p)
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def _unify_schemas(schemas: list) -> Any:
    """One schema for all files (null columns promoted); the first schema's metadata."""
    import pyarrow as pa

    try:
        unified = pa.unify_schemas(schemas, promote_options="permissive")
    except TypeError:  # pragma: no cover - pyarrow < 14
        unified = pa.unify_schemas(schemas)
    return unified.with_metadata(schemas[0].metadata)


def _mixed_schema(root: Path, files: list[Path], schemas: list, exc: Exception,
                  columns: list | None = None) -> ColumnTypeError:
    """The message for files of one directory that cannot be read under one schema: the
    first file whose column types conflict with the files before it, and the column."""
    seen: dict[str, tuple[Any, Path]] = {}
    for f, sc in zip(files, schemas):
        for field in sc:
            if columns is not None and field.name not in columns:
                continue
            prev = seen.get(field.name)
            if prev is None or pa_null(prev[0]):
                seen[field.name] = (field.type, f)
                continue
            if pa_null(field.type) or _same_kind(prev[0], field.type):
                continue
            return ColumnTypeError(
                f"File {str(f)!r} of the Parquet directory {str(root)!r} has column "
                f"{field.name!r} as {field.type}, but {str(prev[1])!r} has it as {prev[0]}: the "
                "files cannot be read as one table. Fix: rewrite that file with the same column "
                f"types (e.g. cast {field.name!r} to {prev[0]}), or move it out of the directory."
            )
    return _unreadable(root, "a Parquet dataset", exc)


def pa_null(t: Any) -> bool:
    import pyarrow as pa

    return pa.types.is_null(t)


def _same_kind(a: Any, b: Any) -> bool:
    """Types Arrow's permissive unification merges (equal, integers of any width, floats,
    strings and their dictionaries, timestamps)."""
    import pyarrow as pa

    def base(t: Any) -> Any:
        return t.value_type if pa.types.is_dictionary(t) else t

    a, b = base(a), base(b)
    if a == b:
        return True
    for test in (pa.types.is_integer, pa.types.is_floating, _is_text, pa.types.is_timestamp):
        if test(a) and test(b):
            return True
    return (pa.types.is_integer(a) or pa.types.is_floating(a)) and (
        pa.types.is_integer(b) or pa.types.is_floating(b))


def _dir_schema(root: Path, files: list[Path]) -> tuple[Any, list[Any]]:
    """The one schema a Parquet directory is read under (every file's columns, unified,
    and the hive partition columns), and each file's own schema. Raises the reader's
    messages for an unreadable file or schemas that do not unify."""
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    schemas = []
    for f in files:
        try:
            schemas.append(pq.read_schema(f))
        except Exception as exc:
            raise ColumnTypeError(
                f"File {str(f)!r} of the Parquet directory {str(root)!r} cannot be read as "
                f"Parquet: {cut_value(str(exc), 300)}. Fix: remove or rewrite that file (or move "
                "it out of the directory)."
            ) from None
    try:
        found = ds.dataset([str(f) for f in files], format="parquet", partitioning="hive",
                           partition_base_dir=str(root)).schema
        # Files may differ (a column all-null in one file, present in only some):
        # read them all under one schema rather than the first file's.
        return _unify_schemas([found] + schemas), schemas
    except Exception as exc:
        raise _mixed_schema(root, files, schemas, exc) from None


def _read_parquet_dir(root: Path, **sel: Any) -> pd.DataFrame:
    import pyarrow.dataset as ds

    files = _parquet_files(root)
    if not files:
        raise EventSourceError(
            f"The directory {str(root)!r} holds no Parquet files (*.parquet, *.pq; hidden and "
            "'_'-prefixed files are skipped). Fix: point read_events at the directory of the "
            "Parquet dataset, or at a single file."
        )
    paths = [str(f) for f in files]
    schema, schemas = _dir_schema(root, files)
    src, props = _columns_of(schema, **sel)
    fmt = ds.ParquetFileFormat(
        read_options=ds.ParquetReadOptions(dictionary_columns=_dictionary_columns(schema, src))
    )
    try:
        dataset = ds.dataset(paths, schema=schema, format=fmt, partitioning="hive",
                             partition_base_dir=str(root))
        table = dataset.to_table(columns=_needed(src, props))
    except Exception as exc:
        raise _mixed_schema(root, files, schemas, exc, columns=_needed(src, props)) from None
    out = _from_arrow_table(table, **sel)
    del table
    _release_arrow_memory()
    return out


def _first_line(path: Path, encoding: str) -> str:
    """The header line of a (possibly gzipped) text file, decoded."""
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as fh:  # type: ignore[operator]
        raw = fh.readline(1 << 20)
    return raw.decode(encoding)


def _sniff_sep(header: str, default: str) -> str:
    """The separator occurring most often in the header line (outside quotes); ``default``
    when none occurs or on a tie with it."""
    text = re.sub(r'"[^"]*"', "", header)
    counts = {c: text.count(c) for c in _SEPARATORS}
    best = max(counts.values())
    if best == 0 or counts[default] == best:
        return default
    return next(c for c in _SEPARATORS if counts[c] == best)


def _encoding_error(path: Path, encoding: str, exc: UnicodeDecodeError) -> ColumnTypeError:
    bad = exc.object[exc.start:exc.start + 1] if isinstance(exc.object, (bytes, bytearray)) else b""
    return ColumnTypeError(
        f"File {str(path)!r} is not valid {encoding} text: the byte {bytes(bad)!r} cannot be "
        f"decoded ({exc.reason}). It is probably Latin-1 or Windows-1252 "
        "(accents such as 'é' written as one byte). Fix: pass encoding='latin-1' (or "
        "encoding='cp1252') to funnelkit.read_events (--encoding in the CLI)."
    )


def _check_field_counts(path: Path, *, sep: str, encoding: str, header: list[Any], fmt: str) -> None:
    """Raise naming the line of the first row whose number of fields differs from the header.

    pandas fills missing trailing fields with NaN and, with ``usecols``, drops extra ones
    silently (an unquoted comma shifts the columns); pyarrow's tokenizer checks every row.
    Only the first column is converted, so this costs one fast multithreaded parse.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    bad: list[Any] = []

    def handler(row: Any) -> str:
        bad.append(row)
        return "error"

    names = [f"c{i}" for i in range(len(header))]

    def scan(threads: bool) -> None:
        reader = pacsv.open_csv(
            pa.input_stream(str(path), compression="detect"),
            read_options=pacsv.ReadOptions(encoding=encoding, column_names=names, skip_rows=1,
                                           use_threads=threads, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True,
                                             invalid_row_handler=handler),
            convert_options=pacsv.ConvertOptions(include_columns=[names[0]],
                                                 column_types={names[0]: pa.string()}),
        )
        for _ in reader:
            pass

    try:
        scan(True)  # fast; row numbers are known only to a single-threaded parse
    except Exception:
        pass  # not a field-count problem (encoding, quoting): pandas reports it below
    if not bad:
        return
    bad.clear()
    try:
        scan(False)  # the error path only: find the line
    except Exception:
        pass
    if not bad:  # pragma: no cover - the threaded parse saw it
        return
    row = bad[0]
    line = f"line {row.number}" if row.number is not None and row.number >= 0 else "a line"
    text = cut_value(row.text)
    fix = 'quote fields that contain the separator ("a,b"), or fix the export'
    raise EventLogError(
        f"File {str(path)!r}: {line} (counting the header as line 1; a quoted value spanning lines "
        f"counts once) has {row.actual_columns} "
        f"fields, but the header has {row.expected_columns} ({_SEP_NAMES.get(sep, repr(sep))}-"
        f"separated): {text}. A separator inside an unquoted value shifts the columns. Fix: "
        f"{fix}; if the file uses another separator, pass sep= to funnelkit.read_events."
    )


def _read_csv(path: Path, *, default_sep: str, sep: str | None, encoding: str | None,
              **sel: Any) -> pd.DataFrame:
    enc = encoding or "utf-8"
    try:
        header_line = _first_line(path, enc)
    except UnicodeDecodeError as exc:
        raise _encoding_error(path, enc, exc) from None
    except OSError as exc:
        raise _unreadable(path, "CSV", exc) from None
    sniffed = sep is None
    if sep is None:
        sep = _sniff_sep(header_line, default_sep)
    fmt = "CSV" if sep != "\t" else "TSV"
    try:
        header = pd.read_csv(path, sep=sep, nrows=0, encoding=enc)
    except pd.errors.EmptyDataError:
        raise EmptyEventLogError(
            f"The file {str(path)!r} is empty (no header, no rows). Fix: check the export "
            "that produced it."
        ) from None
    except UnicodeDecodeError as exc:
        raise _encoding_error(path, enc, exc) from None
    except Exception as exc:
        raise _unreadable(path, fmt, exc) from None
    try:
        src, props = resolve_columns(list(header.columns), **sel)
    except EventLogError as exc:
        if len(header.columns) == 1:
            others = [c for c in _SEPARATORS if c != sep and c in header_line]
            if others:
                how = "detected" if sniffed else "given"
                raise type(exc)(
                    f"The header of {str(path)!r} reads as one column with the {how} separator "
                    f"{sep!r}, but it contains {_SEP_NAMES[others[0]]}s: the file looks "
                    f"{_SEP_NAMES[others[0]]}-separated. Fix: pass sep={others[0]!r} to "
                    "funnelkit.read_events (--sep in the CLI)."
                ) from None
        raise
    needed = _needed(src, props)
    _check_field_counts(path, sep=sep, encoding=enc, header=list(header.columns), fmt=fmt)
    na_values: dict[Any, list[str]] = {c: _CSV_NA for c in needed}
    na_values[src[USER]] = [""]
    na_values[src[EVENT]] = [""]
    try:
        frame = pd.read_csv(
            path, sep=sep, usecols=needed, keep_default_na=False, na_values=na_values,
            dtype={src[USER]: str, src[TIME]: str, src[EVENT]: str}, encoding=enc,
        )
    except UnicodeDecodeError as exc:
        raise _encoding_error(path, enc, exc) from None
    except Exception as exc:
        raise _unreadable(path, fmt, exc) from None
    ids = _csv_ids(frame[src[USER]])
    if ids is not None:
        frame[src[USER]] = ids
    return frame


def _csv_ids(s: pd.Series) -> pd.Series | None:
    """CSV user ids that all read as whole numbers -> nullable Int64 (else None)."""
    text = s.dropna()
    if len(text) == 0:
        return None
    if not text.str.fullmatch(r"(?:0|-?[1-9][0-9]*)(?:\.0*)?").all():
        return None
    try:
        return s.str.replace(r"\.0*$", "", regex=True).astype("Int64")
    except Exception:  # beyond int64: keep the ids as text
        return None
