"""Timestamps of event logs -> ``datetime64[ns, UTC]`` (private; see :func:`_convert_time`).

tz-aware datetimes, naive datetimes with ``tz=``, ISO 8601 strings and epoch numbers
with ``time_unit=``; every message about timestamps and time zones (out-of-range
values, DST gaps and overlaps, mixed offsets) lives here.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import (
    is_bool_dtype,
    is_float_dtype,
    is_numeric_dtype,
    is_string_dtype,
)

from ._ids import _numeric_to_int64, _object_kind
from ._names import (
    TIME_DTYPE,
    _FIX_TZ,
    _I8_MAX,
    _INTEGER_RE,
    _ISO_START_RE,
    _NS_PER,
    _NUMBER_RE,
    _OFFSET_RE,
    _OFFSET_TAIL_RE,
    _UNIT_WORDS,
    _first,
    _row,
    _show,
)
from ..errors import ColumnTypeError, FunnelkitWarning, ParameterError, TimestampError, TimezoneError


def _stacklevel() -> int:
    """Stack level pointing at the first frame outside funnelkit."""
    import sys

    level = 1
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("funnelkit"):
        frame = frame.f_back
        level += 1
    return level


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
    _warn_implausible_unit(ns, f, name=name, time_unit=time_unit)
    out = pd.Series(ns.view("datetime64[ns]"), index=num.index, copy=False)
    return out.dt.tz_localize("UTC")


#: Epoch readings in this range (1990-01-01 .. 2100-01-01) look like real event times.
_PLAUSIBLE_NS = (631_152_000 * 10**9, 4_102_444_800 * 10**9)


def _warn_implausible_unit(ns: np.ndarray, f: int, *, name: Any, time_unit: str) -> None:
    """Warn when epoch numbers read in ``time_unit`` all land near 1970 while a coarser unit
    would put them all in 1990..2100 (epoch seconds read with time_unit='ns', say)."""
    if not len(ns):
        return
    lo, hi = int(ns.min()), int(ns.max())
    if _PLAUSIBLE_NS[0] <= lo and hi < _PLAUSIBLE_NS[1]:
        return
    raw_lo, raw_hi = lo // f, hi // f
    for unit, g in sorted(_NS_PER.items(), key=lambda kv: -kv[1]):
        if g <= f:
            break
        if _PLAUSIBLE_NS[0] <= raw_lo * g and raw_hi * g < _PLAUSIBLE_NS[1]:
            first = pd.Timestamp(lo, unit="ns", tz="UTC")
            last = pd.Timestamp(hi, unit="ns", tz="UTC")
            alt = pd.Timestamp(raw_lo * g, unit="ns", tz="UTC")
            warnings.warn(
                f"Column {name!r} read with time_unit={time_unit!r} gives times from {first} to "
                f"{last}, which is implausible for an event log; read as {_UNIT_WORDS[unit]} "
                f"(time_unit={unit!r}) they would start at {alt}. Fix: pass time_unit={unit!r} "
                f"if the numbers are {_UNIT_WORDS[unit]}; ignore this warning if the times "
                "are right.",
                FunnelkitWarning,
                stacklevel=_stacklevel(),
            )
            return

