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
given, on a fresh ``RangeIndex``. All validation of event logs, and every error
message about them, lives here (and in :mod:`funnelkit.io` for reading files).

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
* **Timestamps.** See :func:`_convert_time`: tz-aware datetimes of any zone and
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
import datetime as _dt
import difflib
import warnings
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import (
    infer_dtype,
    is_bool_dtype,
    is_float_dtype,
    is_integer_dtype,
    is_numeric_dtype,
    is_string_dtype,
)

from .._params import check_choice
from ..errors import (
    ColumnTypeError,
    DroppedRowsWarning,
    EmptyEventLogError,
    EventLogError,
    MissingColumnError,
    NullValuesError,
    ParameterError,
    TimestampError,
    TimezoneError,
)

__all__ = [
    "USER",
    "TIME",
    "EVENT",
    "REQUIRED",
    "TIME_DTYPE",
    "TIME_UNITS",
    "ensure_events",
    "normalize",
    "normalized_dtypes_ok",
    "require_columns",
    "resolve_columns",
]

USER = "user_id"
TIME = "timestamp"
EVENT = "event"
REQUIRED = (USER, TIME, EVENT)

#: dtype of the normalized ``timestamp`` column.
TIME_DTYPE = pd.DatetimeTZDtype("ns", "UTC")
#: accepted values of ``time_unit=`` (epoch numbers).
TIME_UNITS = ("s", "ms", "us", "ns")

# The default string dtype of the running pandas: "str" on pandas 3, object on 2.
_STR_DTYPE = pd.Index(["a"]).dtype
_INT64 = np.dtype("int64")
_I8_MAX = np.iinfo(np.int64).max
_NS_PER = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_UNIT_WORDS = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
_FLOAT_INT_LIMIT = 2.0**53

_PARAM = {USER: "user_col", TIME: "time_col", EVENT: "event_col"}
_WHAT = {USER: "user ids", TIME: "timestamps", EVENT: "events"}
_DROP_REASON = {USER: "null_user_id", TIME: "null_timestamp", EVENT: "null_event"}
# Names often used for the required columns, to suggest a mapping.
_ALIASES = {
    USER: ("user", "uid", "userid", "user_id", "customer_id", "customer", "client_id",
           "distinct_id", "visitor_id", "person_id", "account_id", "anonymous_id", "id"),
    TIME: ("ts", "time", "timestamp", "datetime", "date", "event_time", "event_timestamp",
           "created_at", "occurred_at", "time_stamp", "dt", "when"),
    EVENT: ("event", "event_name", "event_type", "action", "name", "type", "activity",
            "page", "step"),
}

# A time part followed by an explicit UTC offset (ISO 8601): "...T10:00:00+01:00", "...Z".
# (Plain character classes rather than \s and \d, so pyarrow-backed strings use RE2.)
_D2 = "[0-9]{2}"
_OFFSET_RE = (
    rf"[T ]{_D2}(?::?{_D2}(?::?{_D2}(?:[.,][0-9]+)?)?)? *(?:Z|[+-]{_D2}(?::?{_D2}(?::?{_D2})?)?)$"
)
_OFFSET_TAIL_RE = rf" *(?:Z|[+-]{_D2}(?::?{_D2}(?::?{_D2})?)?)$"
# What an ISO 8601 date-time starts with ("2024-03-01", "20240301").
_ISO_START_RE = r"[+-]?[0-9]{4}-?[0-9]{2}-?[0-9]{2}"
_NUMBER_RE = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_INTEGER_RE = r"[+-]?[0-9]+"
# Texts that stand for a missing timestamp (as pandas.to_datetime reads them).
_MISSING_TIME_TEXT = ["", "nat", "nan", "none", "null"]

_FIX_TZ = (
    "pass tz='Europe/Madrid' (the IANA zone the times were recorded in; tz='UTC' if they "
    "are UTC) to funnelkit.read_events, or make the column tz-aware yourself with "
    ".dt.tz_localize(...)"
)


# --------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------


def _fmt_cols(cols: Sequence[Any], limit: int = 30) -> str:
    shown = ", ".join(repr(c) for c in list(cols)[:limit])
    if len(cols) > limit:
        shown += f", ... ({len(cols) - limit} more)"
    return shown or "(none)"


def _show(value: Any) -> str:
    """A value for a message: numpy scalars as Python values, timestamps as text."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (pd.Timestamp, _dt.datetime, _dt.date, np.datetime64)):
        return repr(str(value))
    return repr(value)


def _row(i: int, pos: np.ndarray | None) -> int:
    """Position in the caller's input of working row ``i``."""
    return int(i if pos is None else pos[i])


def _first(mask: np.ndarray) -> int:
    return int(np.argmax(mask))


def _suggest(name: Any, available: Sequence[Any], canonical: str | None = None) -> Any | None:
    """A close match for a missing column ``name`` among ``available``."""
    by_text = {str(c): c for c in available}
    close = difflib.get_close_matches(str(name), list(by_text), n=1, cutoff=0.6)
    if close:
        return by_text[close[0]]
    lowered = {str(c).lower(): c for c in available}
    if str(name).lower() in lowered:
        return lowered[str(name).lower()]
    if canonical is not None:
        for alias in _ALIASES[canonical]:
            if alias in lowered:
                return lowered[alias]
    return None


def _unique_or_raise(columns: Sequence[Any]) -> None:
    seen: dict[Any, int] = {}
    for c in columns:
        seen[c] = seen.get(c, 0) + 1
    dups = [c for c, n in seen.items() if n > 1]
    if dups:
        c = dups[0]
        raise EventLogError(
            f"Column {c!r} appears {seen[c]} times in the event log"
            + (f" (also duplicated: {_fmt_cols(dups[1:])})" if len(dups) > 1 else "")
            + ". Fix: drop or rename the duplicates first, e.g. "
            "df.loc[:, ~df.columns.duplicated()]."
        )


def _check_tz(tz: Any) -> Any:
    """Validate ``tz=`` and return it (a zone name or a tzinfo)."""
    if tz is None:
        return None
    if isinstance(tz, _dt.tzinfo):
        return tz
    if not isinstance(tz, str):
        raise ParameterError(
            f"`tz` must be an IANA time-zone name such as 'Europe/Madrid' or 'UTC', "
            f"or a tzinfo, not {type(tz).__name__} {tz!r}."
        )
    try:
        pd.Timestamp("2000-01-01").tz_localize(tz)
    except Exception:
        hint = ""
        try:
            import zoneinfo

            close = difflib.get_close_matches(tz, sorted(zoneinfo.available_timezones()), n=1)
            if close:
                hint = f" Did you mean {close[0]!r}?"
        except Exception:  # pragma: no cover - no tz database available
            pass
        raise ParameterError(
            f"`tz`={tz!r} is not a time zone funnelkit knows.{hint} "
            "Fix: use an IANA name such as 'Europe/Madrid', 'America/New_York' or 'UTC'."
        ) from None
    return tz


def _check_time_unit(time_unit: Any) -> str | None:
    if time_unit is None:
        return None
    return check_choice(time_unit, name="time_unit", choices=TIME_UNITS)


def _check_mapping(user_col: Any, time_col: Any, event_col: Any) -> dict[str, Hashable]:
    src = {USER: user_col, TIME: time_col, EVENT: event_col}
    for canonical, name in src.items():
        param = _PARAM[canonical]
        if name is None or isinstance(name, (list, tuple, set, dict)):
            raise ParameterError(
                f"`{param}` must be the name of one column, not {name!r}. "
                f"Fix: pass e.g. {param}={canonical!r}."
            )
        try:
            hash(name)
        except TypeError:
            raise ParameterError(
                f"`{param}` must be a column name, not {type(name).__name__} {name!r}."
            ) from None
    names = list(src.items())
    for i, (ci, ni) in enumerate(names):
        for cj, nj in names[i + 1 :]:
            if ni == nj:
                raise ParameterError(
                    f"`{_PARAM[ci]}` and `{_PARAM[cj]}` both name column {ni!r}; "
                    "user ids, timestamps and events must be three different columns. "
                    f"Fix: pass the right column to `{_PARAM[ci]}=` or `{_PARAM[cj]}=`."
                )
    return src


def _check_columns_param(columns: Any) -> list | None:
    if columns is None:
        return None
    if isinstance(columns, (str, bytes)) or not isinstance(columns, Iterable):
        raise ParameterError(
            f"`columns` must be a list of property column names, e.g. columns=['channel'], "
            f"not {columns!r}."
        )
    out = list(columns)
    seen = set()
    for c in out:
        try:
            hash(c)
        except TypeError:
            raise ParameterError(f"`columns` must hold column names, not {c!r}.") from None
        if c in seen:
            raise ParameterError(
                f"`columns` lists {c!r} twice. Fix: list each property column once."
            )
        seen.add(c)
    return out


def resolve_columns(
    available: Sequence[Any],
    *,
    user_col: Hashable = USER,
    time_col: Hashable = TIME,
    event_col: Hashable = EVENT,
    columns: Iterable[Hashable] | None = None,
    index_names: Sequence[Any] = (),
) -> tuple[dict[str, Hashable], list]:
    """Check the column mapping against ``available`` column names.

    Returns ``({canonical: source column}, [property columns in output order])``.
    Raises :class:`MissingColumnError` (with close-match suggestions), or
    :class:`EventLogError` for duplicated names / names colliding after mapping.
    """
    src = _check_mapping(user_col, time_col, event_col)
    cols = _check_columns_param(columns)
    available = list(available)
    _unique_or_raise(available)
    avail_set = set(available)

    missing = [(c, n) for c, n in src.items() if n not in avail_set]
    if missing:
        mapped = {n for n in src.values() if n in avail_set}
        candidates = [c for c in available if c not in mapped]
        parts, maps, renames, index_hint = [], [], [], False
        for canonical, name in missing:
            param = _PARAM[canonical]
            how = f"the default {param}=" if name == canonical else f"{param}={name!r}"
            text = f"Column {name!r} ({_WHAT[canonical]}, {how})"
            if name in index_names:
                text += " is the index of the frame, not a column."
                index_hint = True
                parts.append(text)
                continue
            guess = _suggest(name, candidates, canonical)
            if guess is not None:
                candidates.remove(guess)
            text += " is not in the event log"
            text += f"; closest match: {guess!r}." if guess is not None else "."
            parts.append(text)
            maps.append(f"{param}={guess if guess is not None else '<column>'!r}")
            renames.append(f"{guess if guess is not None else '<column>'!r}: {canonical!r}")
        fixes = []
        if index_hint:
            fixes.append("call df.reset_index() first")
        if maps:
            fixes.append(
                f"pass {', '.join(maps)} to funnelkit.read_events, or rename the column"
                f"{'s' if len(maps) > 1 else ''} (df.rename(columns={{{', '.join(renames)}}}))"
            )
        raise MissingColumnError(
            " ".join(parts) + f" Available columns: {_fmt_cols(available)}. Fix: "
            + "; ".join(fixes) + "."
        )

    sources = set(src.values())
    if cols is None:
        props = [c for c in available if c not in sources]
    else:
        absent = [c for c in cols if c not in avail_set]
        if absent:
            name = absent[0]
            guess = _suggest(name, available)
            raise MissingColumnError(
                f"Column {name!r} (listed in columns=) is not in the event log"
                + (f"; closest match: {guess!r}" if guess is not None else "")
                + f". Available columns: {_fmt_cols(available)}. "
                "Fix: list only existing property columns in columns=, or leave it out "
                "to keep them all."
            )
        props = [c for c in cols if c not in sources and c not in REQUIRED]

    for canonical, name in src.items():
        if name != canonical and canonical in props:
            raise EventLogError(
                f"Column {name!r} is mapped to {canonical!r} ({_PARAM[canonical]}={name!r}), "
                f"but the event log already has another column named {canonical!r}. Fix: drop "
                f"or rename that column first (df.drop(columns={canonical!r})), pass "
                f"{_PARAM[canonical]}={canonical!r} to use it instead, or leave it out by "
                "listing the properties to keep in columns=."
            )
    return src, props


# --------------------------------------------------------------------------------------
# dtype checks
# --------------------------------------------------------------------------------------


def _is_str_categories(cats: pd.Index) -> bool:
    if cats.dtype != _STR_DTYPE:
        return False
    if _STR_DTYPE == object and cats.inferred_type not in ("string", "empty"):
        return False
    return bool(cats.is_monotonic_increasing)


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


def require_columns(df: pd.DataFrame, cols: Hashable | Iterable[Hashable], *, purpose: str) -> None:
    """Raise :class:`MissingColumnError` unless every column in ``cols`` is in ``df``.

    For property columns a function needs, e.g. ``by="channel"`` or
    ``variant_col="variant"``. ``purpose`` completes the sentence "needed for
    ...", e.g. ``purpose="by='channel'"``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"user_id": [1], "channel": ["ads"]})
    >>> require_columns(df, "channel", purpose="by='channel'")
    >>> require_columns(df, "chanel", purpose="by='chanel'")
    Traceback (most recent call last):
    ...
    funnelkit.errors.MissingColumnError: Column 'chanel' (needed for by='chanel') ...
    """
    if isinstance(cols, str) or not isinstance(cols, Iterable):
        cols = [cols]
    available = list(df.columns)
    have = set(available)
    for name in cols:
        if name in have:
            continue
        guess = _suggest(name, [c for c in available if c not in REQUIRED])
        raise MissingColumnError(
            f"Column {name!r} (needed for {purpose}) is not in the event log"
            + (f"; closest match: {guess!r}" if guess is not None else "")
            + f". Available columns: {_fmt_cols(available)}. Fix: pass the name of an "
            "existing column, or add the column to the event log (funnelkit.read_events "
            "keeps every column unless columns= restricts them)."
        )


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
    if dropna:
        prev = dict(attrs.get("funnelkit_dropped") or {})
        for k, v in dropped.items():
            prev[k] = prev.get(k, 0) + v
        attrs["funnelkit_dropped"] = prev
    if attrs:
        out.attrs = attrs
    if dropped:  # announced once the log is known to be usable
        warnings.warn(
            f"dropna=True dropped {total} of {len(any_null)} rows with a missing user id, "
            f"timestamp or event ({detail}); the counts are in "
            "df.attrs['funnelkit_dropped'].",
            DroppedRowsWarning,
            stacklevel=_stacklevel(),
        )
    return out


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


# --- user ids ------------------------------------------------------------------------


class _Bad(Exception):
    """Internal: value ``i`` (working position) cannot be converted; ``reason`` says why."""

    def __init__(self, i: int, reason: str) -> None:
        super().__init__(reason)
        self.i = i
        self.reason = reason


def _type_error(name: Any, canonical: str, s: pd.Series, i: int, reason: str,
                pos: np.ndarray | None, fix: str) -> ColumnTypeError:
    return ColumnTypeError(
        f"Column {name!r} ({_WHAT[canonical]}) {reason}, e.g. {_show(s.iloc[i])} at row "
        f"{_row(i, pos)}. Fix: {fix}"
    )


_USER_FIX = (
    "user ids must be integers or strings; convert the column, e.g. "
    "df[{name!r}].astype('int64') or df[{name!r}].astype(str)."
)


def _floats_to_int64(a: np.ndarray) -> np.ndarray:
    """Whole-number floats within +-2**53 -> int64; raises _Bad otherwise."""
    bad = ~np.isfinite(a)
    if bad.any():
        raise _Bad(_first(bad), "holds non-finite numbers")
    bad = (a != np.floor(a)) | (np.abs(a) > _FLOAT_INT_LIMIT)
    if bad.any():
        raise _Bad(_first(bad), "holds numbers that are not whole numbers within +-2**53")
    return a.astype(np.int64)


def _numeric_to_int64(s: pd.Series) -> np.ndarray | None:
    """Numeric Series without nulls -> int64 array; None if integers overflow int64."""
    if is_float_dtype(s.dtype):
        return _floats_to_int64(s.to_numpy(dtype=np.float64))
    if s.dtype == _INT64:
        return s.to_numpy()
    if s.dtype.kind == "u" or str(s.dtype).startswith("UInt"):
        if len(s) and s.max() > _I8_MAX:
            return None
    return s.to_numpy(dtype=np.int64)


def _object_kind(s: pd.Series) -> str:
    return infer_dtype(s, skipna=True)


def _convert_user(s: pd.Series, *, name: Any, pos: np.ndarray | None) -> pd.Series:
    """User ids -> int64, or a categorical of sorted string categories."""
    dtype = s.dtype
    fix = _USER_FIX.format(name=name)
    try:
        if dtype == _INT64:
            return s
        if isinstance(dtype, pd.CategoricalDtype):
            cats = dtype.categories
            if is_bool_dtype(cats.dtype):
                raise _Bad(0, "holds booleans")
            if is_numeric_dtype(cats.dtype) or (
                cats.dtype == object and _object_kind(pd.Series(cats)) in (
                    "integer", "floating", "mixed-integer-float")
            ):
                codes = s.array.codes
                try:
                    ints = _numeric_to_int64(pd.Series(np.asarray(cats)).infer_objects())
                except _Bad as bad:
                    raise _Bad(_first(codes == bad.i), bad.reason) from None
                if ints is None:
                    return _categorical_series(s, name=name, canonical=USER, pos=pos)
                return pd.Series(ints[codes], index=s.index, copy=False)
            return _categorical_series(s, name=name, canonical=USER, pos=pos)
        if is_bool_dtype(dtype):
            raise _Bad(0, "holds booleans")
        if is_integer_dtype(dtype) or is_float_dtype(dtype):
            ints = _numeric_to_int64(s)
            if ints is None:  # uint64 beyond int64: keep every id exact, as text
                return _categorical_series(s, name=name, canonical=USER, pos=pos)
            return pd.Series(ints, index=s.index, copy=False)
        if dtype == object:
            kind = _object_kind(s)
            if kind == "integer":
                try:
                    return pd.Series(s.to_numpy(dtype=np.int64), index=s.index, copy=False)
                except (OverflowError, ValueError, TypeError):
                    raise _Bad(0, "holds integers beyond the int64 range") from None
            if kind in ("floating", "mixed-integer-float"):
                return pd.Series(_floats_to_int64(s.to_numpy(dtype=np.float64)),
                                 index=s.index, copy=False)
            if kind == "string":
                return _categorical_series(s, name=name, canonical=USER, pos=pos)
            if kind in ("mixed-integer", "mixed"):
                i = _mixed_example(s)
                raise _Bad(i, "mixes values of different types (numbers and strings)")
            raise _Bad(0, f"holds values of type {type(s.iloc[0]).__name__}")
        if is_string_dtype(dtype):
            return _categorical_series(s, name=name, canonical=USER, pos=pos)
        raise _Bad(0, f"has dtype {dtype}")
    except _Bad as bad:
        raise _type_error(name, USER, s, bad.i, bad.reason, pos, fix) from None


def _mixed_example(s: pd.Series) -> int:
    """Position of an odd one out in a column mixing types (error path only).

    With strings and non-strings, the first non-string; otherwise the first value
    whose type differs from the first value's.
    """
    is_str = s.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    if is_str.any() and not is_str.all():
        return _first(~is_str)
    first_type = type(s.iloc[0])
    other = ~s.map(lambda v: type(v) is first_type).to_numpy(dtype=bool)
    return _first(other) if other.any() else 0


# --- events ---------------------------------------------------------------------------


def _convert_event(s: pd.Series, *, name: Any, pos: np.ndarray | None) -> pd.Series:
    """Events -> categorical of sorted string categories (numbers become their text)."""
    dtype = s.dtype
    try:
        if is_bool_dtype(dtype):
            raise _Bad(0, "holds booleans")
        if not isinstance(dtype, pd.CategoricalDtype) and not (
            is_numeric_dtype(dtype) or is_string_dtype(dtype) or dtype == object
        ):
            raise _Bad(0, f"has dtype {dtype}")
        if dtype == object and _object_kind(s) in ("mixed", "mixed-integer"):
            raise _Bad(_mixed_example(s), "mixes values of different types")
    except _Bad as bad:
        raise _type_error(name, EVENT, s, bad.i, bad.reason, pos,
                          "events must be strings (or integer codes); convert the "
                          f"column, e.g. df[{name!r}].astype(str).") from None
    return _categorical_series(s, name=name, canonical=EVENT, pos=pos)


def _as_text(values: pd.Series) -> pd.Index:
    """Category values -> strings (integers and whole-number floats as decimal text)."""
    dtype = values.dtype
    if is_bool_dtype(dtype):
        raise _Bad(0, "holds booleans")
    if is_numeric_dtype(dtype):
        ints = _numeric_to_int64(values)
        if ints is None:
            return pd.Index(values.astype(str).to_numpy(dtype=object), dtype=_STR_DTYPE)
        return pd.Index(ints.astype(str).astype(object), dtype=_STR_DTYPE)
    if dtype == object:
        kind = _object_kind(values)
        if kind in ("integer", "floating", "mixed-integer-float"):
            return _as_text(pd.to_numeric(values))
        if kind not in ("string", "empty"):
            i = _mixed_example(values) if kind.startswith("mixed") else 0
            raise _Bad(i, "holds values that are not strings" if not kind.startswith("mixed")
                       else "mixes values of different types")
        return pd.Index(values.to_numpy(dtype=object), dtype=_STR_DTYPE)
    if is_string_dtype(dtype):
        return pd.Index(values, dtype=_STR_DTYPE)
    raise _Bad(0, f"has dtype {dtype}")


def _categorical_series(s: pd.Series, *, name: Any, canonical: str,
                        pos: np.ndarray | None) -> pd.Series:
    """Any column without nulls -> categorical with sorted, used, string categories."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        cat = s.array
    else:
        cat = pd.Categorical(s)
    codes = np.asarray(cat.codes)
    cats = cat.categories
    used = np.bincount(codes, minlength=len(cats)) > 0
    if used.all() and not cat.ordered and _is_str_categories(cats):
        if isinstance(s.dtype, pd.CategoricalDtype):
            return s
        return pd.Series(cat, index=s.index, copy=False)
    used_at = np.flatnonzero(used)
    try:
        text = _as_text(pd.Series(cats[used_at]))
    except _Bad as bad:
        i = _first(codes == used_at[bad.i])
        fix = (_USER_FIX.format(name=name) if canonical == USER else
               f"events must be strings (or integer codes); convert the column, e.g. "
               f"df[{name!r}].astype(str).")
        raise _type_error(name, canonical, s, i, bad.reason, pos, fix) from None
    new_codes_of_used, uniq = pd.factorize(text, sort=True)
    mapping = np.full(len(cats), -1, dtype=np.int64)
    mapping[used_at] = new_codes_of_used
    new_cats = pd.Index(uniq, dtype=_STR_DTYPE)
    dtype = pd.CategoricalDtype(new_cats, ordered=False)
    out = pd.Categorical.from_codes(mapping[codes], dtype=dtype)
    return pd.Series(out, index=s.index, copy=False)


# --- timestamps -----------------------------------------------------------------------


def _convert_time(s: pd.Series, *, name: Any, tz: Any, time_unit: str | None,
                  pos: np.ndarray | None) -> pd.Series:
    """Timestamps -> ``datetime64[ns, UTC]``.

    * tz-aware datetimes (any zone, any resolution): converted to UTC;
    * naive datetimes: need ``tz=`` (the zone of the wall-clock times);
    * strings: ISO 8601; all with offsets (``+01:00``, ``Z``) -> instants; all
      without -> naive (need ``tz=``); a mix -> :class:`TimezoneError`;
    * numbers (or numeric strings): epoch values, need ``time_unit=``.
    """
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        s = s.astype(dtype.categories.dtype)
        dtype = s.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        _no_time_unit(time_unit, name, "tz-aware datetimes")
        return _finish_aware(s, name=name, tz=tz, pos=pos)
    if isinstance(dtype, np.dtype) and dtype.kind == "M":
        _no_time_unit(time_unit, name, "datetimes")
        return _finish_naive(s, name=name, tz=tz, pos=pos)
    if is_bool_dtype(dtype):
        raise _time_type_error(name, s, "holds booleans")
    if is_numeric_dtype(dtype) and dtype.kind != "c":
        return _epoch(s, name=name, time_unit=time_unit, pos=pos)
    if dtype == object:
        kind = _object_kind(s)
        if kind == "string":
            return _parse_strings(s, name=name, tz=tz, time_unit=time_unit, pos=pos)
        if kind in ("integer", "floating", "mixed-integer-float", "decimal"):
            return _epoch(pd.to_numeric(s), name=name, time_unit=time_unit, pos=pos, original=s)
        if kind in ("datetime", "datetime64", "date"):
            _no_time_unit(time_unit, name, "datetimes")
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    conv = pd.to_datetime(s)
            except Exception:
                conv = None  # mixed zones, or naive and aware values: sort out as text
            if conv is not None and isinstance(conv.dtype, pd.DatetimeTZDtype):
                return _finish_aware(conv, name=name, tz=tz, pos=pos)
            if conv is not None and conv.dtype.kind == "M":
                return _finish_naive(conv, name=name, tz=tz, pos=pos)
            return _parse_strings(s.astype(str), name=name, tz=tz, time_unit=None, pos=pos,
                                  original=s)
        if kind == "mixed":
            return _parse_strings(s.astype(str), name=name, tz=tz, time_unit=time_unit,
                                  pos=pos, original=s)
        raise _time_type_error(name, s, f"holds values of type {type(s.iloc[0]).__name__}")
    if is_string_dtype(dtype):
        return _parse_strings(s, name=name, tz=tz, time_unit=time_unit, pos=pos)
    raise _time_type_error(name, s, f"has dtype {dtype}")


def _time_type_error(name: Any, s: pd.Series, reason: str) -> ColumnTypeError:
    extra = ""
    if isinstance(s.dtype, pd.PeriodDtype):
        extra = f" (for periods: df[{name!r}].dt.to_timestamp())"
    return ColumnTypeError(
        f"Column {name!r} (timestamps) {reason}, e.g. {_show(s.iloc[0])} at row 0. Fix: give "
        "datetimes, ISO 8601 strings such as '2024-03-01T10:00:00+01:00', or epoch numbers "
        f"with time_unit=; convert the column first{extra}."
    )


def _no_time_unit(time_unit: str | None, name: Any, what: str) -> None:
    if time_unit is not None:
        raise ParameterError(
            f"`time_unit`={time_unit!r} applies only to epoch numbers, but column {name!r} "
            f"holds {what}. Fix: leave out time_unit=."
        )


def _i8(s: pd.Series) -> np.ndarray:
    """Integer view (in the Series' own unit) of a datetime Series."""
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(None)
    return s.to_numpy().view("i8")


def _to_ns(s: pd.Series, *, name: Any, pos: np.ndarray | None, original: pd.Series) -> pd.Series:
    """UTC datetimes of any resolution -> ``datetime64[ns, UTC]``, refusing out-of-range ones."""
    unit = s.dt.unit
    if unit != "ns":
        f = _NS_PER[unit]
        limit = _I8_MAX // f
        lo, hi = s.min(), s.max()  # fast reductions; the row scan only on failure
        lo_v = _i8(pd.Series([lo], dtype=s.dtype))[0]
        hi_v = _i8(pd.Series([hi], dtype=s.dtype))[0]
        bad = np.zeros(0, dtype=bool)
        if hi_v > limit or lo_v < -limit:
            v = _i8(s)
            bad = (v > limit) | (v < -limit)
        if bad.any():
            i = _first(bad)
            raise TimestampError(
                f"Column {name!r} has a timestamp outside the range funnelkit supports "
                f"(1677-09-21 to 2262-04-11, nanosecond precision): {_show(original.iloc[i])} at "
                f"row {_row(i, pos)} ({int(bad.sum())} such values). Fix: correct or drop those "
                "rows (they are often placeholders such as 9999-12-31 or 0001-01-01)."
            )
        s = s.dt.as_unit("ns")
    if s.dtype != TIME_DTYPE:  # pragma: no cover - UTC given by another tzinfo object
        s = s.dt.tz_convert("UTC")
    return s


def _finish_aware(s: pd.Series, *, name: Any, tz: Any, pos: np.ndarray | None,
                  wall: pd.Series | None = None, original: pd.Series | None = None) -> pd.Series:
    """tz-aware datetimes -> UTC ns. ``wall``: the written wall-clock times (for strings)."""
    original = s if original is None else original
    if s.dtype == TIME_DTYPE and tz is None:
        return s
    if tz is not None and not (wall is None and s.dtype == pd.DatetimeTZDtype(s.dt.unit, tz)):
        written = s.dt.tz_localize(None) if wall is None else wall
        in_tz = s.dt.tz_convert(tz).dt.tz_localize(None)
        differ = (written != in_tz).to_numpy(dtype=bool)
        if differ.any():
            i = _first(differ)
            zone = "" if wall is not None else f" in zone {str(s.dt.tz)!r}"
            raise TimezoneError(
                f"Column {name!r} already holds tz-aware timestamps{zone}, e.g. "
                f"{_show(original.iloc[i])} at row {_row(i, pos)}, but tz={str(tz)!r} reads its "
                f"wall-clock time {written.iloc[i]} as a different instant. tz= only says "
                "where naive times were recorded. Fix: leave out tz= (tz-aware timestamps are "
                "converted to UTC as they are); if the stored zone is wrong, relabel it first "
                f"with .dt.tz_localize(None).dt.tz_localize({str(tz)!r})."
            )
    return _to_ns(s.dt.tz_convert("UTC"), name=name, pos=pos, original=original)


def _finish_naive(s: pd.Series, *, name: Any, tz: Any, pos: np.ndarray | None,
                  original: pd.Series | None = None) -> pd.Series:
    """Naive datetimes (wall-clock times in ``tz``) -> UTC ns."""
    original = s if original is None else original
    if tz is None:
        raise TimezoneError(
            f"Column {name!r} holds naive timestamps (no time zone), e.g. "
            f"{_show(original.iloc[0])} at row {_row(0, pos)}. Fix: {_FIX_TZ}."
        )
    try:
        local = s.dt.tz_localize(tz)
    except Exception as exc:
        _raise_dst(s, name=name, tz=tz, pos=pos, original=original, exc=exc)
    return _to_ns(local.dt.tz_convert("UTC"), name=name, pos=pos, original=original)


def _raise_dst(s: pd.Series, *, name: Any, tz: Any, pos: np.ndarray | None,
               original: pd.Series, exc: Exception) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        amb = s.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward").isna()
        non = s.dt.tz_localize(tz, ambiguous=np.zeros(len(s), dtype=bool),
                               nonexistent="NaT").isna()
    amb_m = amb.to_numpy(dtype=bool)
    non_m = non.to_numpy(dtype=bool)
    zone = str(tz)
    if non_m.any() and (not amb_m.any() or _first(non_m) < _first(amb_m)):
        i = _first(non_m)
        raise TimezoneError(
            f"Column {name!r} has the local time {_show(original.iloc[i])} at row {_row(i, pos)} "
            f"({int(non_m.sum())} such values), which does not exist in {zone!r}: the clocks "
            "jump forward over it at the change to summer time. Fix: correct those rows, or "
            f"localize the column yourself, e.g. df[{name!r}].dt.tz_localize({zone!r}, "
            "nonexistent='shift_forward'), and pass the tz-aware column."
        ) from None
    if amb_m.any():
        i = _first(amb_m)
        raise TimezoneError(
            f"Column {name!r} has the local time {_show(original.iloc[i])} at row {_row(i, pos)} "
            f"({int(amb_m.sum())} such values), which is ambiguous in {zone!r}: it happens "
            "twice when the clocks go back at the end of summer time. Fix: store UTC or "
            "offset-aware timestamps, or localize the column yourself, e.g. "
            f"df[{name!r}].dt.tz_localize({zone!r}, ambiguous='infer') for time-sorted rows "
            "(or ambiguous=<array of bools, True = summer time>), and pass the tz-aware column."
        ) from None
    raise TimezoneError(  # pragma: no cover - pandas refused for another reason
        f"Column {name!r} cannot be localized to {zone!r}: {exc}. Fix: localize it yourself "
        "with .dt.tz_localize(...) and pass the tz-aware column."
    ) from exc


def _parse_strings(s: pd.Series, *, name: Any, tz: Any, time_unit: str | None,
                   pos: np.ndarray | None, original: pd.Series | None = None) -> pd.Series:
    """ISO 8601 (or numeric epoch) strings -> UTC ns."""
    original = s if original is None else original
    st = s.str.strip()
    if st.str.fullmatch(_NUMBER_RE).to_numpy(dtype=bool, na_value=False).all():
        if st.str.fullmatch(_INTEGER_RE).to_numpy(dtype=bool, na_value=False).all():
            try:
                num = st.astype(np.int64)  # exact, also beyond 2**53
            except (OverflowError, ValueError, TypeError):
                # beyond 64 bits: such values become NaN and are reported as out of range
                num = pd.to_numeric(st, errors="coerce")
        else:
            num = pd.to_numeric(st)
        return _epoch(num, name=name, time_unit=time_unit, pos=pos, original=original)
    _no_time_unit(time_unit, name, "date-time strings")
    looks = st.str.match(_ISO_START_RE).to_numpy(dtype=bool, na_value=False)
    if not looks.all():
        _raise_unparseable(name, original, ~looks, pos)
    has_off = st.str.contains(_OFFSET_RE).to_numpy(dtype=bool, na_value=False)
    aware = bool(has_off.all())
    if not aware and has_off.any():
        i, j = _first(has_off), _first(~has_off)
        raise TimezoneError(
            f"Column {name!r} mixes timestamps with a UTC offset, e.g. {_show(original.iloc[i])} "
            f"at row {_row(i, pos)}, and without one, e.g. {_show(original.iloc[j])} at row "
            f"{_row(j, pos)}, so the zone of the second kind is unknown. Fix: write every "
            "value with its offset (or 'Z' for UTC), or parse the column yourself with "
            "pd.to_datetime and pass tz-aware datetimes."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(st, utc=aware, format="ISO8601", errors="coerce")
    bad = parsed.isna().to_numpy(dtype=bool)
    if bad.any():
        i = _first(bad)
        value = original.iloc[i]
        try:
            ts = pd.Timestamp(str(st.iloc[i]))
            in_range_issue = ts is not pd.NaT and (
                ts.tz_localize(None) < pd.Timestamp.min or ts.tz_localize(None) > pd.Timestamp.max
            )
        except (OverflowError, pd.errors.OutOfBoundsDatetime):
            in_range_issue = True
        except Exception:
            in_range_issue = False
        if in_range_issue:
            raise TimestampError(
                f"Column {name!r} has a timestamp outside the range funnelkit supports "
                f"(1677-09-21 to 2262-04-11, nanosecond precision): {_show(value)} at row "
                f"{_row(i, pos)}. Fix: correct or drop those rows (they are often placeholders "
                "such as 9999-12-31 or 0001-01-01)."
            )
        _raise_unparseable(name, original, bad, pos)
    if aware:
        wall = None
        if tz is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                wall = pd.to_datetime(st.str.replace(_OFFSET_TAIL_RE, "", regex=True),
                                      format="ISO8601")
        return _finish_aware(parsed, name=name, tz=tz, pos=pos, wall=wall, original=original)
    return _finish_naive(parsed, name=name, tz=tz, pos=pos, original=original)


def _raise_unparseable(name: Any, original: pd.Series, bad: np.ndarray,
                       pos: np.ndarray | None) -> None:
    i = _first(bad)
    n = int(bad.sum())
    raise TimestampError(
        f"Column {name!r} has a value that is not an ISO 8601 timestamp: "
        f"{_show(original.iloc[i])} at row {_row(i, pos)} ({n} such value{'s' if n > 1 else ''}). "
        "Fix: correct or drop those rows, or parse the column yourself, e.g. "
        f"pd.to_datetime(df[{name!r}], format='%d/%m/%Y %H:%M'), and pass datetimes."
    )


def _guess_unit(value: float) -> str:
    digits = len(str(int(abs(value)))) if value else 1
    if digits <= 11:
        return "s"
    if digits <= 14:
        return "ms"
    if digits <= 17:
        return "us"
    return "ns"


def _epoch(num: pd.Series, *, name: Any, time_unit: str | None, pos: np.ndarray | None,
           original: pd.Series | None = None) -> pd.Series:
    """Epoch numbers (no nulls) in ``time_unit`` since 1970-01-01 UTC -> UTC ns."""
    original = num if original is None else original
    if time_unit is None:
        v = num.iloc[0]
        unit = _guess_unit(float(v))
        digits = len(str(int(abs(float(v))))) if float(v) else 1
        try:
            preview = f" ({pd.Timestamp(int(float(v) * _NS_PER[unit]), unit='ns', tz='UTC')})"
        except Exception:
            preview = ""
        hint = ""
        if digits == 8 and float(v) == int(float(v)):
            hint = (f" If these are dates written as digits (20240301), parse them with "
                    f"pd.to_datetime(df[{name!r}].astype(str), format='%Y%m%d') instead.")
        raise TimestampError(
            f"Column {name!r} holds numbers, e.g. {_show(original.iloc[0])} at row {_row(0, pos)}, "
            f"so the time unit is ambiguous: {digits} digits look like {_UNIT_WORDS[unit]} "
            f"since 1970-01-01 UTC{preview}. Fix: pass time_unit={unit!r} (or one of 's', "
            f"'ms', 'us', 'ns') to funnelkit.read_events.{hint}"
        )
    f = _NS_PER[time_unit]
    if num.dtype == object:  # integers beyond 64 bits (error path)
        big = num.map(lambda v: abs(int(v)) > _I8_MAX).to_numpy(dtype=bool)
        num = pd.Series(np.where(big, np.inf, 0.0), index=num.index)
    if is_float_dtype(num.dtype):
        # whole and fractional parts apart, so 1709287200.25 s is exactly .25 s
        a = num.to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            whole = np.floor(a)
            limit = float(_I8_MAX // f - 1)
            bad = ~np.isfinite(a) | (whole > limit) | (whole < -limit)
        if bad.any():
            ns = None
        else:
            ns = whole.astype(np.int64) * f + np.round((a - whole) * f).astype(np.int64)
    else:
        too_big = num.dtype.kind == "u" and num.max() > _I8_MAX
        ints = None if too_big else _numeric_to_int64(num)
        if ints is None:
            bad = (num > _I8_MAX).to_numpy(dtype=bool)
            ns = None
        else:
            limit = _I8_MAX // f
            bad = (ints > limit) | (ints < -limit)
            ns = None if bad.any() else ints * f
    if ns is None:
        i = _first(bad)
        raise TimestampError(
            f"Column {name!r} has an epoch value outside the range funnelkit supports "
            f"(1677-09-21 to 2262-04-11) when read in time_unit={time_unit!r}: "
            f"{_show(original.iloc[i])} at row {_row(i, pos)}. Fix: check time_unit= (seconds, "
            "milliseconds, microseconds or nanoseconds), or correct or drop those rows."
        )
    out = pd.Series(ns.view("datetime64[ns]"), index=num.index, copy=False)
    return out.dt.tz_localize("UTC")
