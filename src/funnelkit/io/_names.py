"""Canonical column names, constants and small message helpers of :mod:`funnelkit.io` (private).

Shared by ``columns.py`` (column mapping), ``_ids.py`` (user ids and events),
``_times.py`` (timestamps) and ``normalize.py`` (the normalized event log), so that
none of them imports another in a circle.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ColumnTypeError

__all__ = ["USER", "TIME", "EVENT", "REQUIRED", "TIME_DTYPE", "TIME_UNITS"]

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
    from .._params import cut_value

    shown = ", ".join(cut_value(c) for c in list(cols)[:limit])
    if len(cols) > limit:
        shown += f", ... ({len(cols) - limit} more)"
    return shown or "(none)"


def _show(value: Any) -> str:
    """A value for a message: numpy scalars as Python values, timestamps as text."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (pd.Timestamp, _dt.datetime, _dt.date, np.datetime64)):
        return repr(str(value))
    from .._params import cut_value

    return cut_value(value)


def _row(i: int, pos: np.ndarray | None) -> int:
    """Position in the caller's input of working row ``i``."""
    return int(i if pos is None else pos[i])


def _first(mask: np.ndarray) -> int:
    return int(np.argmax(mask))


def _is_str_categories(cats: pd.Index) -> bool:
    if cats.dtype != _STR_DTYPE:
        return False
    if _STR_DTYPE == object and cats.inferred_type not in ("string", "empty"):
        return False
    return bool(cats.is_monotonic_increasing)


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

