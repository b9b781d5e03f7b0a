"""Sessionization of event logs (DESIGN.md section 5).

:func:`sessionize` adds a ``session_id`` column to a normalized event log;
:func:`session_summary` turns a sessionized log into one row per session.

This module holds the public API, its parameter checks and the access to the
log's columns; the computation lives in the engine, one implementation for every
log: :func:`funnelkit.engine.bucket_sessions.session_ids` splits the rows by user
range into buckets and sorts and runs each bucket on all cores, and the session
kernel :func:`funnelkit.engine.kernels.sessions.new_sessions` flags where sessions
start in one sorted bucket (comparisons of neighbouring events; the only
sequential rule, ``max_duration``, in a bounded number of array rounds, never a
loop over users or events).

Rules (applied per user, on the user's events in sorted order)
--------------------------------------------------------------
A new session starts at an event when any of these holds:

1. it is the user's first event;
2. the gap to the user's previous event is strictly greater than ``timeout``
   (a gap equal to the timeout stays in the session);
3. ``split_at_midnight`` is set and its calendar day in ``tz`` (local wall-clock
   time, so DST days of 23 or 25 hours work) differs from the previous event's;
4. a ``split_on`` column holds a non-null value that differs from the last
   non-null value of that column among the user's earlier events (nulls never
   split and never reset the comparison; the comparison is over the user's
   history, so it also reaches across session boundaries made by other rules);
5. ``max_duration`` is set and the event's time minus the start time of the
   session it would join is strictly greater than ``max_duration``; the new
   session starts at that event (so the rule is sequential: the session start
   moves with each split, it is not a fixed grid).

Rules 1-4 do not depend on where sessions start, so they are computed first;
rule 5 then splits each of those segments greedily from its first event.

Ordering and determinism
------------------------
Events are sorted by (user, timestamp) with a stable sort. With ``split_on``
the sort key is (user, timestamp, value of each ``split_on`` column in the
order given, nulls last, then input row), so events that share a timestamp are
ordered by their property values and not by their position in the input
(values in sorted order: category order for categoricals; values of types that
do not compare with each other by type name, then ``repr``). Rows that remain
tied have equal keys and always fall into the same session (equal timestamps
never split by the time rules), so the sessions do not depend on the input's
row order. Session ids are ``0 .. S-1`` in order of
(user, session start time, the tie-break key above): the order of ``user_id``
values for integer ids, the category order for categorical ids (sorted strings
in a normalized log).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from datetime import tzinfo
from typing import Any

import numpy as np
import pandas as pd

from ..io import _names
from ..io import columns as _columns
from ..io import normalize as _schema
from .._params import duration_ns, parse_duration
from .._params import cut_value as _cut
from ..engine.bucket_sessions import session_ids
from ..errors import (
    ColumnTypeError,
    EventLogError,
    NullValuesError,
    ParameterError,
)

__all__ = ["sessionize", "session_summary"]


# --------------------------------------------------------------------------- API


def sessionize(
    events: pd.DataFrame,
    timeout: str | pd.Timedelta | None = "30min",
    *,
    max_duration: str | pd.Timedelta | None = None,
    split_at_midnight: bool = False,
    tz: str | tzinfo | None = None,
    split_on: str | Sequence[str] | None = None,
    session_col: str = "session_id",
) -> pd.DataFrame:
    """Assign every event to a session and return the log with a session id column.

    A new session starts at a user's first event, after a gap longer than
    ``timeout``, when a session would last longer than ``max_duration``, at a
    local calendar-day change (``split_at_midnight``) and when a ``split_on``
    property changes to a different non-null value. See the module docstring
    (``funnelkit.analyses.sessions``) for the exact rules.

    Parameters
    ----------
    events : DataFrame
        Event log with the canonical columns ``user_id``, ``timestamp`` and
        ``event`` (anything :func:`funnelkit.read_events` accepts with those
        names); other columns are kept as properties.
    timeout : str, Timedelta or None, default "30min"
        Inactivity limit. A gap *strictly greater* than ``timeout`` between two
        consecutive events of a user starts a new session; a gap equal to it
        does not. Bare numbers are refused (``"1800s"``, not ``1800``).
        ``None`` disables the rule.
    max_duration : str, Timedelta or None, default None
        Longest session. An event whose time minus the start of its session is
        strictly greater than ``max_duration`` starts a new session, which
        starts at that event (sequential rule, not a fixed time grid).
    split_at_midnight : bool, default False
        Start a new session when the calendar day in ``tz`` changes between two
        consecutive events of a user. Requires ``tz``.
    tz : str or tzinfo, optional
        IANA time-zone name (``"Europe/Madrid"``) whose local days are used by
        ``split_at_midnight``. Days are taken in local wall-clock time, so the
        23- and 25-hour days of daylight-saving changes are handled. Ignored
        (but still validated) when ``split_at_midnight`` is False.
    split_on : str or list of str, optional
        Property column(s), e.g. ``"utm_campaign"``. An event whose value is
        non-null and differs from the last non-null value of the same column
        among the user's earlier events starts a new session. Nulls never split
        and never reset. At equal timestamps, events are ordered by these
        values (nulls last) so that the result does not depend on row order.
    session_col : str, default "session_id"
        Name of the new column. It must not exist in ``events`` yet.

    Returns
    -------
    DataFrame
        A new frame: the normalized event log with the same rows in the same
        order, plus ``session_col`` (int64) as its last column. A log that is
        already normalized (the output of :func:`funnelkit.read_events`) keeps
        its columns and index; other input is normalized first (canonical
        dtypes, fresh ``RangeIndex``, see CONTRIBUTING.md). Session ids run from
        0 to S-1 in order of (user, session start time) and are the same for
        any row order of the same events. The caller's object is not modified.

    Raises
    ------
    ParameterError
        Bare numbers or invalid durations, ``split_at_midnight`` without ``tz``,
        an unknown time zone, an invalid ``split_on``, or a ``session_col`` that
        already exists.
    MissingColumnError
        A ``split_on`` column is not in ``events``.

    See Also
    --------
    session_summary : one row per session.

    Examples
    --------
    >>> import pandas as pd
    >>> from funnelkit.analyses.sessions import sessionize
    >>> events = pd.DataFrame({
    ...     "user_id": [1, 2, 1, 1, 1],
    ...     "timestamp": pd.to_datetime([
    ...         "2024-05-01 10:00", "2024-05-01 10:05", "2024-05-01 10:30",
    ...         "2024-05-01 11:10", "2024-05-01 11:20"], utc=True),
    ...     "event": pd.Categorical(
    ...         ["landing", "landing", "product_view", "landing", "purchase"]),
    ... })
    >>> sessionize(events, timeout="30min")
       user_id                 timestamp         event  session_id
    0        1 2024-05-01 10:00:00+00:00       landing           0
    1        2 2024-05-01 10:05:00+00:00       landing           2
    2        1 2024-05-01 10:30:00+00:00  product_view           0
    3        1 2024-05-01 11:10:00+00:00       landing           1
    4        1 2024-05-01 11:20:00+00:00      purchase           1

    The 30-minute gap (10:00 to 10:30) stays in the session; the 40-minute gap
    (10:30 to 11:10) starts a new one. With ``max_duration="20min"`` the
    session that starts at 10:00 cannot include 10:30:

    >>> sessionize(events, timeout="30min", max_duration="20min")["session_id"].tolist()
    [0, 3, 1, 2, 2]
    """
    timeout_td = parse_duration(timeout, name="timeout", allow_none=True)
    max_td = parse_duration(max_duration, name="max_duration", allow_none=True)
    split_at_midnight = _check_bool(split_at_midnight, name="split_at_midnight")
    zone = _check_tz(tz)
    if split_at_midnight and zone is None:
        raise ParameterError(
            "`split_at_midnight=True` needs `tz`, the time zone whose local midnight "
            "ends a day, e.g. tz='Europe/Madrid' (or tz='UTC' for UTC days)."
        )
    session_col = _check_session_col(session_col)
    split_cols = _check_split_on(split_on)

    ev = _schema.ensure_events(events)
    if session_col in ev.columns:
        raise ParameterError(
            f"`session_col`={_cut(session_col)}: the event log already has a column named "
            f"{_cut(session_col)}. Choose another name (e.g. session_col="
            f"{_free_name(session_col, ev.columns)!r}) or drop the existing column first "
            f"(events.drop(columns=[{_cut(session_col)}]))."
        )
    if split_cols:
        _columns.require_columns(ev, split_cols, purpose=f"split_on={_cut(split_on)}")

    ids = session_ids(
        _user_key(ev[_names.USER]),
        _time_ns(ev[_names.TIME]),
        codes=[_value_codes(ev[c], name=c) for c in split_cols],
        timeout_ns=duration_ns(timeout_td),
        max_ns=duration_ns(max_td),
        zone=zone if split_at_midnight else None,
    )
    out = ev.copy(deep=not _copy_on_write())
    out[session_col] = ids
    return out


def session_summary(events: pd.DataFrame, *, session_col: str = "session_id") -> pd.DataFrame:
    """Summarize a sessionized event log: one row per session.

    Parameters
    ----------
    events : DataFrame
        Event log with a session id column, usually the output of
        :func:`sessionize`. Each session must belong to one user.
    session_col : str, default "session_id"
        Name of the session id column.

    Returns
    -------
    DataFrame
        One row per session, sorted by session id, with the columns
        ``user_id``, ``session_col`` (``session_id`` by default), ``start``,
        ``end`` (timestamps of the first and last event), ``duration``
        (``end - start``, zero for one-event sessions), ``n_events``,
        ``first_event`` and ``last_event``. Events sharing a timestamp are
        ordered by event name (category order), so the result does not depend
        on the input's row order.

    Raises
    ------
    MissingColumnError
        ``session_col`` is not in ``events`` (run :func:`sessionize` first).
    NullValuesError
        The session column holds nulls.
    EventLogError
        A session holds events of more than one user.

    Examples
    --------
    >>> import pandas as pd
    >>> from funnelkit.analyses.sessions import sessionize, session_summary
    >>> events = pd.DataFrame({
    ...     "user_id": [1, 2, 1, 1, 1],
    ...     "timestamp": pd.to_datetime([
    ...         "2024-05-01 10:00", "2024-05-01 10:05", "2024-05-01 10:30",
    ...         "2024-05-01 11:10", "2024-05-01 11:20"], utc=True),
    ...     "event": pd.Categorical(
    ...         ["landing", "landing", "product_view", "landing", "purchase"]),
    ... })
    >>> summary = session_summary(sessionize(events, timeout="30min"))
    >>> summary[["user_id", "session_id", "duration", "n_events", "first_event", "last_event"]]
       user_id  session_id        duration  n_events first_event    last_event
    0        1           0 0 days 00:30:00         2     landing  product_view
    1        1           1 0 days 00:10:00         2     landing      purchase
    2        2           2 0 days 00:00:00         1     landing       landing
    """
    session_col = _check_session_col(session_col)
    ev = _schema.ensure_events(events)
    _columns.require_columns(
        ev, session_col, purpose="session_summary; run funnelkit.sessionize() first to add it"
    )

    sess = ev[session_col]
    null = sess.isna().to_numpy()
    if null.any():
        raise NullValuesError(
            f"Column {_cut(session_col)} holds {int(null.sum())} null session id(s), first at row "
            f"{int(np.argmax(null))}. Fix: run funnelkit.sessionize() on the whole log so that "
            "every event has a session."
        )
    s_codes, s_uniques = _factorize_total(sess, name=session_col)
    u_key = _user_key(ev[_names.USER])
    t = _time_ns(ev[_names.TIME])
    e_rank = ev[_names.EVENT].cat.codes.to_numpy()  # sorted string categories, no nulls

    n = len(ev)
    order = np.lexsort((e_rank, t, s_codes))
    s_sorted = s_codes[order]
    is_first = np.ones(n, dtype=bool)
    is_first[1:] = s_sorted[1:] != s_sorted[:-1]
    first_pos = np.flatnonzero(is_first)
    ends = np.append(first_pos[1:], n) if n else first_pos
    last_pos = ends - 1
    counts = ends - first_pos

    u_sorted = u_key[order]
    if n:
        u_min = np.minimum.reduceat(u_sorted, first_pos)
        u_max = np.maximum.reduceat(u_sorted, first_pos)
        mixed = np.flatnonzero(u_min != u_max)
        if mixed.size:
            rows = order[first_pos[mixed[0]] : last_pos[mixed[0]] + 1]
            users = pd.unique(ev[_names.USER].iloc[rows].to_numpy())[:3]
            raise EventLogError(
                f"Session {_cut(_py(s_uniques[mixed[0]]))} in column {_cut(session_col)} holds events "
                f"of more than one user ({', '.join(repr(_py(u)) for u in users)}); session "
                "ids must be unique across users. Fix: recompute them with "
                "funnelkit.sessionize()."
            )

    first_rows = order[first_pos]
    last_rows = order[last_pos]
    start = ev[_names.TIME].iloc[first_rows].reset_index(drop=True)
    end = ev[_names.TIME].iloc[last_rows].reset_index(drop=True)
    return pd.DataFrame(
        {
            _names.USER: ev[_names.USER].iloc[first_rows].reset_index(drop=True),
            session_col: sess.iloc[first_rows].reset_index(drop=True),
            "start": start,
            "end": end,
            "duration": end - start,
            "n_events": counts.astype(np.int64),
            "first_event": ev[_names.EVENT].iloc[first_rows].reset_index(drop=True),
            "last_event": ev[_names.EVENT].iloc[last_rows].reset_index(drop=True),
        }
    )


# --------------------------------------------------------------- column access


def _user_key(col: pd.Series) -> np.ndarray:
    """Integers whose order is the order of the user ids (int64 ids, or category codes)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return col.cat.codes.to_numpy()
    return col.to_numpy()


def _time_ns(col: pd.Series) -> np.ndarray:
    """UTC nanoseconds (int64) of the normalized ``timestamp`` column."""
    return pd.DatetimeIndex(col).as_unit("ns").asi8


def _factorize_total(col: pd.Series, *, name: str) -> tuple[np.ndarray, Any]:
    """Codes (int64, -1 for null) whose order is a total order of the values independent of row order."""
    try:
        codes, uniques = pd.factorize(col, sort=True)
    except TypeError:
        try:
            codes, uniques = pd.factorize(col, sort=False)
        except TypeError as err:
            raise ColumnTypeError(
                f"Column {_cut(name)} holds values that cannot be compared ({err}), e.g. "
                f"{_cut(_first_unhashable(col))}. Fix: convert the column to strings or numbers "
                f"first, e.g. events[{_cut(name)}].astype(str)."
            ) from None
        keys = [(type(v).__name__, repr(v)) for v in uniques]  # loop over distinct values
        rank = np.empty(len(keys), dtype=np.int64)
        rank[sorted(range(len(keys)), key=keys.__getitem__)] = np.arange(len(keys))
        codes = np.where(codes >= 0, rank[np.maximum(codes, 0)], -1)
    return np.asarray(codes, dtype=np.int64), uniques


def _first_unhashable(col: pd.Series) -> Any:
    for v in col:  # only on the error path
        try:
            hash(v)
        except TypeError:
            return v
    return col.iloc[0]  # pragma: no cover


def _value_codes(col: pd.Series, *, name: str) -> np.ndarray:
    codes, _ = _factorize_total(col, name=name)
    return codes


# ------------------------------------------------------------------ parameters


def _check_bool(value: Any, *, name: str) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ParameterError(f"`{name}` must be True or False, not {_cut(value)}.")


def _check_tz(tz: Any) -> tzinfo | None:
    """Validate ``tz`` (IANA name or tzinfo) and return a tzinfo, or None."""
    if tz is None or isinstance(tz, tzinfo):
        return tz
    if not isinstance(tz, str):
        raise ParameterError(
            f"`tz` must be an IANA time-zone name such as 'Europe/Madrid' or 'UTC', "
            f"not {type(tz).__name__} {_cut(tz)}."
        )
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, KeyError, OSError):
        pass
    names = sorted(zoneinfo.available_timezones())
    lowered = {nm.lower(): nm for nm in names}
    close = difflib.get_close_matches(tz.strip().lower(), list(lowered), n=1, cutoff=0.6)
    hint = f" Did you mean {lowered[close[0]]!r}?" if close else ""
    raise ParameterError(
        f"`tz`={_cut(tz)} is not a known IANA time zone. Use a name such as 'Europe/Madrid', "
        f"'America/New_York' or 'UTC' (see zoneinfo.available_timezones()).{hint}"
    )


def _check_session_col(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise ParameterError(
            f"`session_col` must be a non-empty column name such as 'session_id', not {_cut(name)}."
        )
    return name


def _check_split_on(split_on: Any) -> list[str]:
    if split_on is None:
        return []
    if isinstance(split_on, str):
        cols = [split_on]
    elif isinstance(split_on, (list, tuple, pd.Index, np.ndarray)):
        cols = list(split_on)  # ordered: the order is the tie-break order of the sort
    else:
        raise ParameterError(
            "`split_on` must be a column name or a list of column names, e.g. "
            f"split_on='utm_campaign', not {type(split_on).__name__} {_cut(split_on)}."
        )
    out: list[str] = []
    for c in cols:
        if not isinstance(c, str):
            raise ParameterError(
                f"`split_on` holds {_cut(c)}; give column names as strings, e.g. "
                "split_on=['utm_campaign', 'utm_source']."
            )
        if c in (_names.USER, _names.TIME):
            raise ParameterError(
                f"`split_on`={_cut(c)} is a key column of the event log; give a property "
                "column such as 'utm_campaign'."
            )
        if c not in out:
            out.append(c)
    return out


def _py(value: Any) -> Any:
    """A numpy scalar as the Python value (for messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _free_name(name: str, columns: pd.Index) -> str:
    k = 2
    while f"{name}_{k}" in columns:
        k += 1
    return f"{name}_{k}"


def _copy_on_write() -> bool:
    """True when pandas copies lazily on write (pandas >= 3, or the 2.x option)."""
    if int(pd.__version__.split(".")[0]) >= 3:
        return True
    return pd.options.mode.copy_on_write is True
