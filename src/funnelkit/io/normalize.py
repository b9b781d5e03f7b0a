"""Validation and normalization of event logs (private).

Every public entry point turns its input into one *normalized event log*: a
``pandas.DataFrame`` whose first three columns are

========== ============================================================ ==========
column     dtype                                                        nulls
========== ============================================================ ==========
user_id    ``int64`` when the ids are integers, else ``category`` with  none
           string categories (sorted, all used)
timestamp  ``datetime64[ns, UTC]``                                      none
event      ``category`` with string categories (sorted, all used)       none
========== ============================================================ ==========

followed by any other columns ("properties": channel, device, variant...) as
given, on a fresh ``RangeIndex``. This module holds the entry points
(:func:`ensure_events`, :func:`normalize`, :func:`normalized_dtypes_ok`), the
conversion of Arrow-backed columns and the missing-value handling; the rest of
the validation, and every error message about it, lives beside it in
:mod:`funnelkit.io`:

* ``_names.py``: the canonical names (``USER``, ``TIME``, ``EVENT``, ``REQUIRED``),
  ``TIME_DTYPE``, ``TIME_UNITS`` and the other constants, and small message helpers;
* ``columns.py``: the column mapping and column checks
  (:func:`~funnelkit.io.columns.resolve_columns`,
  :func:`~funnelkit.io.columns.require_columns`, the ``tz=``, ``time_unit=`` and
  ``columns=`` checks);
* ``_ids.py``: user ids and events;
* ``_times.py``: timestamps;
* ``read.py``: reading files and other sources (:func:`funnelkit.read_events`).

Decisions (documented in :func:`funnelkit.io.read_events` as well):

* **User ids.** Integer ids of any width become ``int64`` (``uint64`` ids above
  the ``int64`` range become string categories, so no id is altered). Float ids
  are accepted only when every value is a whole number within +-2**53 (a float
  column of ids is usually an integer column that held nulls); otherwise
  :class:`ColumnTypeError`. Strings become a categorical of sorted string
  categories; strings that look like numbers stay strings (only CSV input, which
  has no types, reads whole-number id columns as integers). Booleans, datetimes
  and columns mixing numbers and strings are refused.
* **Events.** Strings; integer event codes (and whole-number floats) are
  accepted and turned into their decimal text (``3`` -> ``"3"``). Categories are
  sorted as strings (code point order).
* **Timestamps.** See ``_times._convert_time``: tz-aware datetimes of any zone and
  resolution are converted to UTC; naive ones need ``tz=``; ISO 8601 strings with
  offsets are parsed as instants; epoch numbers need ``time_unit=``. Empty or
  blank timestamp strings count as missing values. ``tz=`` given for data that
  already carries offsets is accepted only when it agrees with them (reading the
  wall-clock times in ``tz`` gives the same instants); otherwise
  :class:`TimezoneError`, because honouring it would change the instants.
  Ambiguous or non-existent local times (DST changes) raise
  :class:`TimezoneError` naming the row and showing how to resolve them.
* **Missing values** in the three required columns raise
  :class:`NullValuesError` unless ``dropna=True``, which drops the rows, counts
  them in ``df.attrs["funnelkit_dropped"]`` (a row is counted under its first
  missing column, in the order user id, timestamp, event) and warns with
  :class:`DroppedRowsWarning`.
* Row numbers in messages are 0-based positions in the input (for files, the
  n-th data row).
"""

from __future__ import annotations

import copy as _copy
import warnings
from collections.abc import Hashable, Iterable
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_string_dtype

from ._duplicates import describe_columns, duplicate_rows
from ._ids import _convert_event, _convert_user
from ._names import (
    EVENT,
    REQUIRED,
    TIME,
    TIME_DTYPE,
    USER,
    _DROP_REASON,
    _INT64,
    _MISSING_TIME_TEXT,
    _WHAT,
    _first,
    _fmt_cols,
    _is_str_categories,
    _row,
)
from .._params import cut_value as _cut_value
from ._times import _convert_time
from .columns import _check_time_unit, _check_tz, resolve_columns
from ..errors import (
    ColumnTypeError,
    DroppedRowsWarning,
    DuplicateEventsWarning,
    EmptyEventLogError,
    NullValuesError,
    ParameterError,
)

__all__ = ["ensure_events", "normalize", "normalized_dtypes_ok"]



# --------------------------------------------------------------------------------------
# dtype checks
# --------------------------------------------------------------------------------------


def _is_canonical_categorical(dtype: Any) -> bool:
    return (
        isinstance(dtype, pd.CategoricalDtype)
        and not dtype.ordered
        and _is_str_categories(dtype.categories)
    )


def normalized_dtypes_ok(df: Any) -> bool:
    """Whether ``df`` has the columns and dtypes of a normalized event log.

    Only the layout is checked (first three columns ``user_id``, ``timestamp``,
    ``event`` and their dtypes, unique column names), not the values: this is
    O(1) in the number of rows. :func:`ensure_events` adds the null checks.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"user_id": [1], "event": pd.Categorical(["view"]),
    ...                    "timestamp": pd.to_datetime(["2024-03-01"], utc=True).as_unit("ns")})
    >>> normalized_dtypes_ok(df)  # columns in the wrong order
    False
    >>> ok = df[["user_id", "timestamp", "event"]]
    >>> normalized_dtypes_ok(ok)
    True
    >>> normalized_dtypes_ok(ok.astype({"timestamp": "datetime64[ms, UTC]"}))  # resolution
    False
    """
    if not isinstance(df, pd.DataFrame):
        return False
    cols = df.columns
    if len(cols) < 3 or not cols.is_unique:
        return False
    if not (cols[0] == USER and cols[1] == TIME and cols[2] == EVENT):
        return False
    dtypes = df.dtypes
    u, t, e = dtypes.iloc[0], dtypes.iloc[1], dtypes.iloc[2]
    if not (u == _INT64 or _is_canonical_categorical(u)):
        return False
    if not (isinstance(t, pd.DatetimeTZDtype) and t == TIME_DTYPE):
        return False
    return _is_canonical_categorical(e)


def _is_normalized(df: pd.DataFrame) -> bool:
    """Layout, index and null checks: O(1) dtype checks plus one vectorized null scan."""
    if len(df) == 0 or not normalized_dtypes_ok(df):
        return False
    idx = df.index
    if not (isinstance(idx, pd.RangeIndex) and idx.start == 0 and idx.step == 1):
        return False
    if df.dtypes.iloc[0] != _INT64 and (df[USER].array.codes < 0).any():
        return False
    if df[TIME].isna().any():
        return False
    return not (df[EVENT].array.codes < 0).any()


# --------------------------------------------------------------------------------------
# public helpers
# --------------------------------------------------------------------------------------


def ensure_events(obj: Any, *, copy: bool = False) -> pd.DataFrame:
    """Return ``obj`` as a normalized event log (see CONTRIBUTING.md).

    What every public function calls first. ``obj`` may be anything
    :func:`funnelkit.read_events` accepts (DataFrame, Arrow table, polars frame,
    file path) that already uses the canonical column names ``user_id``,
    ``timestamp`` and ``event``. A DataFrame that is already normalized is
    returned as it is (the same object, unless ``copy=True``) after O(1) dtype
    checks and a vectorized null check; anything else goes through the full
    validation and normalization (a new frame; the caller's object is never
    modified).

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"user_id": [7, 7], "event": ["view", "buy"],
    ...                     "timestamp": ["2024-03-01T10:00:00+01:00", "2024-03-01T09:05:00Z"]})
    >>> ev = ensure_events(raw)
    >>> ev.dtypes.astype(str).tolist()
    ['int64', 'datetime64[ns, UTC]', 'category']
    >>> ensure_events(ev) is ev
    True
    """
    if isinstance(obj, pd.DataFrame):
        if _is_normalized(obj):
            _warn_duplicates(obj)
            return obj.copy() if copy else obj
        return normalize(obj)
    from . import read_events

    return read_events(obj)


# --------------------------------------------------------------------------------------
# normalization
# --------------------------------------------------------------------------------------


def normalize(
    df: pd.DataFrame,
    *,
    user_col: Hashable = USER,
    time_col: Hashable = TIME,
    event_col: Hashable = EVENT,
    tz: Any = None,
    time_unit: str | None = None,
    columns: Iterable[Hashable] | None = None,
    dropna: bool = False,
    dedupe: bool = False,
) -> pd.DataFrame:
    """Validate and normalize an in-memory pandas event log (see the module docstring).

    The engine behind :func:`funnelkit.read_events` and :func:`ensure_events`.
    Never modifies ``df``.
    """
    if not isinstance(df, pd.DataFrame):  # pragma: no cover - internal misuse
        raise ColumnTypeError(f"expected a pandas DataFrame, not {type(df).__name__}.")
    tz = _check_tz(tz)
    time_unit = _check_time_unit(time_unit)
    if not isinstance(dropna, (bool, np.bool_)):
        raise ParameterError(f"`dropna` must be True or False, not {dropna!r}.")
    if not isinstance(dedupe, (bool, np.bool_)):
        raise ParameterError(
            f"`dedupe` must be True or False, not {_cut_value(dedupe)}. Fix: pass dedupe=True to "
            "drop exact duplicate rows (same user, time, event and properties)."
        )
    if len(df.columns) == 0 and len(df) == 0:
        raise EmptyEventLogError(
            "The event log is empty (no rows, no columns). Fix: check the source (file, "
            "filter or query) that produced it."
        )
    src, props = resolve_columns(
        df.columns,
        user_col=user_col,
        time_col=time_col,
        event_col=event_col,
        columns=columns,
        index_names=[n for n in df.index.names if n is not None],
    )
    if len(df) == 0:
        raise EmptyEventLogError(
            f"The event log has no rows (columns: {_fmt_cols(list(df.columns))}). Fix: check "
            "the source (file, filter or query) that produced it."
        )

    # Positional working columns (lazy views under copy-on-write; never written to).
    work = {c: _from_arrow_dtype(df[n].reset_index(drop=True)) for c, n in src.items()}
    prop_data = {p: df[p].reset_index(drop=True) for p in props}

    # --- missing values -------------------------------------------------------------
    nulls = {USER: _null_mask(work[USER]), TIME: _null_mask(work[TIME], blank=True),
             EVENT: _null_mask(work[EVENT])}
    any_null = nulls[USER] | nulls[TIME] | nulls[EVENT]
    pos: np.ndarray | None = None
    dropped: dict[str, int] = {}
    if any_null.any():
        if not dropna:
            raise NullValuesError(_null_message(nulls, src))
        seen = np.zeros(len(any_null), dtype=bool)
        for canonical in REQUIRED:
            n_new = int((nulls[canonical] & ~seen).sum())
            if n_new:
                dropped[_DROP_REASON[canonical]] = n_new
            seen |= nulls[canonical]
        keep = ~any_null
        pos = np.flatnonzero(keep)
        total = int(any_null.sum())
        detail = ", ".join(f"{k}: {v}" for k, v in dropped.items())
        if pos.size == 0:
            raise EmptyEventLogError(
                f"The event log has no rows left: dropna=True dropped all {total} rows, "
                f"each missing a user id, timestamp or event ({detail}). Fix: check the "
                f"columns {src[USER]!r}, {src[TIME]!r} and {src[EVENT]!r}."
            )
        work = {c: s[keep].reset_index(drop=True) for c, s in work.items()}
        prop_data = {p: s[keep].reset_index(drop=True) for p, s in prop_data.items()}

    # --- conversions ------------------------------------------------------------------
    user = _convert_user(work[USER], name=src[USER], pos=pos)
    time = _convert_time(work[TIME], name=src[TIME], tz=tz, time_unit=time_unit, pos=pos)
    event = _convert_event(work[EVENT], name=src[EVENT], pos=pos)

    data = {USER: user, TIME: time, EVENT: event}
    data.update(prop_data)
    out = pd.DataFrame(data, copy=False)
    attrs = _copy.deepcopy(df.attrs) if df.attrs else {}

    # --- exact duplicates (see _duplicates.py) ---------------------------------------
    dup, example = duplicate_rows(out)
    n_in = len(out)
    if len(dup) and dedupe:
        keep = np.ones(n_in, dtype=bool)
        keep[dup] = False
        out = out[keep].reset_index(drop=True)
        dropped["duplicate"] = len(dup)
    if dropna or dedupe:
        prev = dict(attrs.get("funnelkit_dropped") or {})
        for k, v in dropped.items():
            prev[k] = prev.get(k, 0) + v
        attrs["funnelkit_dropped"] = prev
    attrs["funnelkit_duplicates"] = 0 if dedupe else len(dup)
    if attrs:
        out.attrs = attrs
    if len(dup) and not dedupe:
        assert example is not None
        _warn_duplicate_rows(len(dup), n_in, _row(example[0], pos), _row(example[1], pos),
                             describe_columns(out))
    n_null = sum(v for k, v in dropped.items() if k != "duplicate")
    if n_null:  # announced once the log is known to be usable
        warnings.warn(
            f"dropna=True dropped {n_null} of {len(any_null)} rows with a missing user id, "
            f"timestamp or event ({detail}); the counts are in "
            "df.attrs['funnelkit_dropped'].",
            DroppedRowsWarning,
            stacklevel=_stacklevel(),
        )
    if dropped.get("duplicate"):
        assert example is not None
        warnings.warn(
            f"dedupe=True dropped {dropped['duplicate']} of {n_in} rows that repeat an earlier "
            f"row exactly (same {describe_columns(out)}), e.g. row {_row(example[0], pos)} "
            f"repeats row {_row(example[1], pos)}; the first copy of each is kept and the count "
            "is in df.attrs['funnelkit_dropped']['duplicate'].",
            DroppedRowsWarning,
            stacklevel=_stacklevel(),
        )
    return out


def _warn_duplicate_rows(n: int, n_rows: int, row: int, orig: int, what: str) -> None:
    warnings.warn(
        f"The event log holds {n} exact duplicate rows ({n / n_rows:.2%} of {n_rows}): rows "
        f"that repeat an earlier row's {what}, e.g. row {row} repeats row {orig}. Each copy "
        "counts as another event (repeat stages, time to convert, event counts). Fix: pass "
        "dedupe=True to funnelkit.read_events (--dedupe in the CLI) to drop them (counted in "
        "df.attrs['funnelkit_dropped']), or df.drop_duplicates() if they are not real; "
        "silence this warning with warnings.filterwarnings('ignore', "
        "category=funnelkit.errors.DuplicateEventsWarning) if they are.",
        DuplicateEventsWarning,
        stacklevel=_stacklevel(),
    )


def _warn_duplicates(df: pd.DataFrame) -> None:
    """The duplicate check of an already normalized frame (warns unless the frame's attrs
    record the same count, i.e. read_events already said so)."""
    dup, example = duplicate_rows(df)
    if not len(dup) or df.attrs.get("funnelkit_duplicates") == len(dup):
        return
    assert example is not None
    _warn_duplicate_rows(len(dup), len(df), example[0], example[1], describe_columns(df))


def _stacklevel() -> int:
    """Stack level pointing at the first frame outside funnelkit."""
    import sys

    level = 1
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("funnelkit"):
        frame = frame.f_back
        level += 1
    return level


def _from_arrow_dtype(s: pd.Series) -> pd.Series:
    """pyarrow-backed (``ArrowDtype``) columns -> the matching numpy/pandas dtypes."""
    if isinstance(s.dtype, pd.ArrowDtype):
        chunked = s.array.__arrow_array__()
        return arrow_to_series(chunked).set_axis(s.index)
    return s


def arrow_to_series(chunked: Any) -> pd.Series:
    """Convert one Arrow (chunked) array of a *required* column to a pandas Series.

    Integers become nullable pandas integers (so 64-bit ids and ns epochs holding
    nulls are not rounded through float64), dictionaries become categoricals,
    timestamps keep their resolution and zone.
    """
    import pyarrow as pa

    if chunked.null_count == 0:  # numpy dtypes, zero-copy where Arrow allows
        return chunked.to_pandas()

    def mapper(t: Any) -> Any:
        if pa.types.is_integer(t):
            return pd.api.types.pandas_dtype(("UInt" if pa.types.is_unsigned_integer(t) else "Int")
                                             + str(t.bit_width))
        return None

    return chunked.to_pandas(types_mapper=mapper)


def _null_mask(s: pd.Series, *, blank: bool = False) -> np.ndarray:
    mask = s.isna().to_numpy(dtype=bool)
    if blank and (s.dtype == object or (is_string_dtype(s.dtype)
                                         and not isinstance(s.dtype, pd.CategoricalDtype))):
        try:
            short = s.str.len().to_numpy(dtype=float, na_value=np.inf) <= 12
            if short.any():
                sub = s[short].str.strip().str.lower().isin(_MISSING_TIME_TEXT)
                mask = mask.copy()
                mask[short] |= sub.to_numpy(dtype=bool, na_value=False)
        except AttributeError:  # object column without strings
            return mask
    return mask


def _null_message(nulls: dict[str, np.ndarray], src: dict[str, Hashable]) -> str:
    parts = []
    for canonical in REQUIRED:
        m = nulls[canonical]
        n = int(m.sum())
        if n:
            what = "missing or blank values" if canonical == TIME else "missing values"
            if n == 1:
                what = what.replace("values", "value")
            parts.append(
                f"{'Column' if not parts else 'column'} {src[canonical]!r} ({_WHAT[canonical]}) "
                f"has {n} {what} (first at row {_first(m)})"
            )
    return (
        "; ".join(parts)
        + ". Fix: pass dropna=True to funnelkit.read_events to drop rows missing a user "
        "id, timestamp or event (they are counted in df.attrs['funnelkit_dropped']), or "
        "fill them first."
    )

