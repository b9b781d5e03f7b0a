"""Column mapping and column checks of event logs (``user_col=``, ``columns=``, ``tz=``...).

:func:`resolve_columns` checks the mapping of the three required columns and the
property columns against a source's column names; :func:`require_columns` checks the
property columns a function needs; :func:`log_columns` lists a log's columns without
reading its rows, so that an analysis can check its column arguments before any work. Every message about missing, duplicated or
colliding columns, and about the ``tz=`` and ``time_unit=`` parameters, lives here.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import os
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import pandas as pd

from ._names import (
    EVENT,
    REQUIRED,
    TIME,
    TIME_UNITS,
    USER,
    _ALIASES,
    _PARAM,
    _WHAT,
    _fmt_cols,
)
from .._params import check_choice
from ..errors import EventLogError, MissingColumnError, ParameterError

__all__ = ["log_columns", "require_columns", "resolve_columns"]

from .._params import cut_value as _cut


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
            f"Column {_cut(c)} appears {seen[c]} times in the event log"
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
                f"`{param}` must be the name of one column, not {_cut(name)}. "
                f"Fix: pass e.g. {param}={canonical!r}."
            )
        try:
            hash(name)
        except TypeError:
            raise ParameterError(
                f"`{param}` must be a column name, not {type(name).__name__} {_cut(name)}."
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
            raise ParameterError(f"`columns` must hold column names, not {_cut(c)}.") from None
        if c in seen:
            raise ParameterError(
                f"`columns` lists {_cut(c)} twice. Fix: list each property column once."
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
            how = f"the default {param}=" if name == canonical else f"{param}={_cut(name)}"
            text = f"Column {_cut(name)} ({_WHAT[canonical]}, {how})"
            if name in index_names:
                text += " is the index of the frame, not a column."
                index_hint = True
                parts.append(text)
                continue
            guess = _suggest(name, candidates, canonical)
            if guess is not None:
                candidates.remove(guess)
            text += " is not in the event log"
            text += f"; closest match: {_cut(guess)}." if guess is not None else "."
            parts.append(text)
            maps.append(f"{param}={_cut(guess if guess is not None else '<column>')}")
            renames.append(f"{_cut(guess if guess is not None else '<column>')}: {canonical!r}")
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
                f"Column {_cut(name)} (listed in columns=) is not in the event log"
                + (f"; closest match: {guess!r}" if guess is not None else "")
                + f". Available columns: {_fmt_cols(available)}. "
                "Fix: list only existing property columns in columns=, or leave it out "
                "to keep them all."
            )
        # a required name listed in columns= is that column, unless the column is mapped
        # from another one: then the log's own column of that name collides (raised below)
        mapped_away = {canonical for canonical, name in src.items() if name != canonical}
        props = [c for c in cols if c not in sources and (c not in REQUIRED or c in mapped_away)]

    for canonical, name in src.items():
        if name != canonical and canonical in props:
            raise EventLogError(
                f"Column {_cut(name)} is mapped to {canonical!r} ({_PARAM[canonical]}={_cut(name)}), "
                f"but the event log already has another column named {canonical!r}. Fix: drop "
                f"or rename that column first (df.drop(columns={canonical!r})), pass "
                f"{_PARAM[canonical]}={canonical!r} to use it instead, or leave it out by "
                "listing the properties to keep in columns=."
            )
    return src, props


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
            f"Column {_cut(name)} (needed for {purpose}) is not in the event log"
            + (f"; closest match: {guess!r}" if guess is not None else "")
            + f". Available columns: {_fmt_cols(available)}. Fix: pass the name of an "
            "existing column, or add the column to the event log (funnelkit.read_events "
            "keeps every column unless columns= restricts them)."
        )


def log_columns(events: Any) -> list[str] | None:
    """The column names of an event log, without reading its rows.

    A frame's columns (also anything with ``columns``: a Dask or polars frame); for a
    Parquet file or directory (``.parquet``, ``.pq``), the columns the reader makes of
    it: a directory's are those of the one schema ``read_events`` reads it under (every
    file's columns, and the hive partition directories such as ``country=ES/``), without
    pandas' stored index columns. ``None`` for anything else
    (a CSV path, a path that is missing or not Parquet): the reader then says what is
    wrong, so a check that uses this never raises in the reader's place.
    """
    if isinstance(events, pd.DataFrame):
        return [str(c) for c in events.columns]
    if isinstance(events, (str, os.PathLike)):
        return _parquet_columns(events)
    cols = getattr(events, "columns", None)
    if cols is None:
        return None
    try:
        return [str(c) for c in cols]
    except TypeError:  # not a list of names
        return None


def _parquet_columns(path: Any) -> list[str] | None:
    from pathlib import Path

    import pyarrow.parquet as pq

    from . import read as _read

    try:
        p = Path(os.fspath(path)).expanduser()
        if p.is_dir():
            files = _read._parquet_files(p)
            if not files:
                return None
            names = list(_read._dir_schema(p, files)[0].names)  # the schema the reader reads under
        elif p.is_file() and p.name.lower().endswith(_read._PARQUET_SUFFIXES):
            names = list(pq.read_schema(p).names)
        else:
            return None
    except Exception:  # unreadable or not Parquet: the reader's own message follows
        return None
    return [str(c) for c in names if not str(c).startswith("__index_level_")]
