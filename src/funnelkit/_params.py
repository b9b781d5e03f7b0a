"""Validation of keyword parameters shared by the public functions (private)."""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from .errors import ParameterError

__all__ = ["parse_duration", "parse_timestamp", "check_choice", "duration_ns", "cut_text", "cut_value",
           "MESSAGE_VALUE_CHARS"]

#: Characters of one value shown in a message (longer values are cut with an ellipsis).
MESSAGE_VALUE_CHARS = 80


def cut_text(text: str, limit: int = MESSAGE_VALUE_CHARS) -> str:
    """``text`` cut to about ``limit`` characters for a message, saying how long it was.

    Examples
    --------
    >>> cut_text("checkout")
    'checkout'
    >>> cut_text("x" * 1_000_000, 10)
    'xxxxxxxxxx… (1000000 characters)'
    """
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


def cut_value(value: Any, limit: int = MESSAGE_VALUE_CHARS) -> str:
    """``repr(value)`` for a message, cut to about ``limit`` characters (a 1 MB step name
    gives a line, not a megabyte). The repr of huge containers is not even built in full.

    Examples
    --------
    >>> cut_value("purchase")
    "'purchase'"
    >>> cut_value("y" * 500, 12)
    "'yyyyyyyyyyyy… (500 characters)"
    """
    if isinstance(value, str) and len(value) > limit:
        return f"{repr(value[:limit])[:-1]}… ({len(value)} characters)"
    if isinstance(value, (list, tuple, set, dict)) and len(value) > limit:
        kind = type(value).__name__
        return f"<{kind} of {len(value)} items>"
    try:
        text = repr(value)
    except Exception:  # pragma: no cover - a broken __repr__
        text = f"<{type(value).__name__}>"
    return cut_text(text, limit)


#: The longest duration funnelkit accepts (100 years): a window added to any timestamp up
#: to 2162 stays within the nanosecond range (2262-04-11), so deadlines never overflow.
MAX_DURATION = pd.Timedelta(days=36_500)

_NS = 1_000_000_000
# Units of "<number><unit>" durations, parsed here (no pandas deprecation warnings for
# 'H', 'T', 'S', 'd'...); case-insensitive except that 'M' (months) is refused.
_DURATION_UNITS = {
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), 7 * 86_400 * _NS),
    **dict.fromkeys(("d", "day", "days"), 86_400 * _NS),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3_600 * _NS),
    **dict.fromkeys(("min", "mins", "minute", "minutes", "m", "t"), 60 * _NS),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), _NS),
    **dict.fromkeys(("ms", "milli", "millis", "millisecond", "milliseconds", "l"), 1_000_000),
    **dict.fromkeys(("us", "µs", "micro", "micros", "microsecond", "microseconds", "u"), 1_000),
    **dict.fromkeys(("ns", "nano", "nanos", "nanosecond", "nanoseconds", "n"), 1),
}
_DURATION_RE = None


def _simple_duration(text: str) -> tuple[int, str] | None:
    """``"7D"``, ``"1.5h"``, ``"30 min"`` -> (exact nanoseconds, unit); None for other forms."""
    import re
    from fractions import Fraction

    global _DURATION_RE
    if _DURATION_RE is None:
        _DURATION_RE = re.compile(r"\s*([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\s*([A-Za-zµ]+)\s*")
    m = _DURATION_RE.fullmatch(text)
    if not m:
        return None
    unit = m.group(2)
    if unit == "M":
        return None
    factor = _DURATION_UNITS.get(unit.lower())
    if factor is None:
        return None
    return round(Fraction(m.group(1)) * factor), unit


#: Parameters whose durations are added to timestamps (deadlines): capped at MAX_DURATION.
_DEADLINE_PARAMS = ("window", "within")


def _too_long(name: str, value: Any, ns: int | None, limit: pd.Timedelta) -> ParameterError:
    days = "" if ns is None else f" ({ns / (86_400 * _NS):,.0f} days)"
    what = ("100 years, so that a deadline never overflows" if limit == MAX_DURATION
            else "the longest a pandas.Timedelta holds")
    return ParameterError(
        f"`{name}`={cut_value(value)} is longer than the longest {name} funnelkit accepts, "
        f"{limit.days:,} days ({what}){days}. Fix: give at most '{limit.days}D'"
        + (", or window=None for no time limit" if name == "window" else "") + "."
    )


def parse_duration(
    value: Any, *, name: str, allow_none: bool = False, allow_zero: bool = False,
    limit: pd.Timedelta | None = None,
) -> pd.Timedelta | None:
    """Turn ``value`` (a string such as ``"30min"``/``"7D"`` or a timedelta) into a Timedelta.

    Bare numbers are refused: ``1800`` could mean seconds, milliseconds or days,
    so the caller must say which (``"1800s"``). A number and a unit (``"7D"``,
    ``"7d"``, ``"1.5h"``, ``"30min"``, ``"90s"``, ``"2W"``; also the words ``days``,
    ``hours``...) are parsed exactly by funnelkit, without pandas' deprecation warnings
    for ``'H'``, ``'T'``, ``'S'``; other forms (``"1h30min"``, ``"1 days 02:00:00"``) go to
    ``pandas.Timedelta``. Durations longer than ``limit`` are refused naming it; by
    default :data:`MAX_DURATION` (100 years) for ``window`` and ``within`` (added to
    timestamps: ``timestamp + window`` never overflows), else the Timedelta range
    (106,751 days; ``sessionize`` handles such timeouts exactly).

    Examples
    --------
    >>> parse_duration("30min", name="timeout")
    Timedelta('0 days 00:30:00')
    >>> parse_duration("7d", name="window")
    Timedelta('7 days 00:00:00')
    >>> parse_duration(None, name="window", allow_none=True) is None
    True
    """
    if limit is None:
        limit = MAX_DURATION if name in _DEADLINE_PARAMS else pd.Timedelta.max.floor("D")
    if value is None:
        if allow_none:
            return None
        raise ParameterError(
            f"`{name}` is required: give a duration such as '30min', '1h' or '7D'."
        )
    if isinstance(value, (bool, np.bool_)):
        raise ParameterError(
            f"`{name}` must be a duration such as '30min' or '7D', not the boolean {value!r}."
        )
    if isinstance(value, numbers.Number):
        shown = cut_value(value)
        raise ParameterError(
            f"`{name}`={shown} is a bare number, so its unit is ambiguous. "
            f"Give a duration with a unit, e.g. '{shown}s', '{shown}min' or '{shown}D', "
            "or a pandas.Timedelta."
        )
    if isinstance(value, (pd.Timedelta, timedelta, np.timedelta64)):
        try:
            td = pd.Timedelta(value)
        except (ValueError, OverflowError):
            raise _too_long(name, value, None, limit) from None
    elif isinstance(value, str):
        text = value.strip()
        try:
            float(text)
        except ValueError:
            pass
        else:  # "3600" would silently mean 3600 nanoseconds to pandas
            shown = cut_text(text, 20)
            raise ParameterError(
                f"`{name}`={cut_value(value)} is a bare number, so its unit is ambiguous. "
                f"Give a duration with a unit, e.g. '{shown}s', '{shown}min' or '{shown}D'."
            )
        simple = _simple_duration(text) if len(text) < 100 else None
        if simple is None and len(text) >= 100:
            raise ParameterError(
                f"`{name}`={cut_value(value)} is not a duration funnelkit understands. "
                "Use a number with a unit, e.g. '30min', '90s', '12h', '7D' or '2W'."
            )
        if simple is not None:
            ns, _unit = simple
            if ns > limit.value:
                raise _too_long(name, value, ns, limit)
            td = pd.Timedelta(ns, unit="ns")
        else:
            import warnings

            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", FutureWarning)  # pandas' unit deprecations
                    td = pd.Timedelta(text)
            except (ValueError, TypeError, OverflowError) as exc:
                if "out of bounds" in str(exc).lower() or "overflow" in str(exc).lower() \
                        or isinstance(exc, OverflowError) or "cannot convert input" in str(exc):
                    raise _too_long(name, value, None, limit) from None
                hint = ""
                if text.endswith("M") and _simple_duration(text[:-1] + "D") is not None:
                    hint = " Months and years have no fixed length: use days, e.g. '30D'."
                raise ParameterError(
                    f"`{name}`={cut_value(value)} is not a duration funnelkit understands. "
                    "Use a number with a unit, e.g. '30min', '90s', '12h', '7D' or '2W' "
                    f"(units: ns, us, ms, s, min, h, D, W).{hint}"
                ) from None
    else:
        raise ParameterError(
            f"`{name}` must be a duration string such as '30min' or a pandas.Timedelta, "
            f"not {type(value).__name__} {cut_value(value)}."
        )
    if td is pd.NaT or pd.isna(td):
        raise ParameterError(f"`{name}` must be a duration, not NaT.")
    if td < pd.Timedelta(0) or (td == pd.Timedelta(0) and not allow_zero):
        raise ParameterError(
            f"`{name}`={cut_value(value)} must be a positive duration, e.g. '30min' or '7D'."
        )
    if td > limit:
        raise _too_long(name, value, int(td.value), limit)
    return td


def parse_timestamp(value: Any, *, name: str) -> pd.Timestamp:
    """Turn a date or time parameter into a UTC Timestamp (naive values are taken as UTC).

    Examples
    --------
    >>> parse_timestamp("2026-03-01", name="start")
    Timestamp('2026-03-01 00:00:00+0000', tz='UTC')
    """
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ParameterError(
            f"`{name}`={cut_value(value)} is not a date or time; use e.g. '2026-03-01' or a pandas.Timestamp."
        ) from None
    if ts is pd.NaT or pd.isna(ts):
        raise ParameterError(f"`{name}` must be a date or time such as '2026-03-01', not NaT.")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def duration_ns(td: pd.Timedelta | None) -> int | None:
    """Nanoseconds in ``td`` as a Python int (``None`` stays ``None``)."""
    return None if td is None else int(td.value)


def check_choice(value: Any, *, name: str, choices: Iterable[str]) -> str:
    """Check that ``value`` is one of ``choices`` and return it.

    Examples
    --------
    >>> check_choice("ordered", name="mode", choices=("ordered", "strict", "any_order"))
    'ordered'
    """
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        hint = ""
        if isinstance(value, str) and len(value) < 1000:
            import difflib

            close = difflib.get_close_matches(value, choices, n=1)
            if close:
                hint = f" Did you mean {close[0]!r}?"
        raise ParameterError(
            f"`{name}`={cut_value(value)} is not valid; choose one of "
            + ", ".join(repr(c) for c in choices)
            + "."
            + hint
        )
    return value


def parse_bytes(value: Any, *, name: str) -> int:
    """A size in bytes: a positive int, or a string such as ``"512MB"``, ``"2GB"``, ``"64 MiB"``.

    Examples
    --------
    >>> parse_bytes("512MB", name="memory_budget")
    536870912
    >>> parse_bytes(4096, name="memory_budget")
    4096
    """
    import re

    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0:
        return int(value)
    if isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kKmMgGtT]?)i?[bB]?\s*", value)
        if m:
            mult = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}[m.group(2).lower()]
            out = int(float(m.group(1)) * mult)
            if out > 0:
                return out
    raise ParameterError(f"`{name}`={cut_value(value)}: give a number of bytes or a size such as '2GB' or '512MB'.")


def physical_memory() -> int:
    """Bytes of physical memory of this machine (16 GiB when it cannot be read)."""
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 16 * 1024**3
