"""Wall-clock time in a time zone, vectorized (private): local nanoseconds of UTC
instants, the UTC instant at which a local period starts, and the local hours that do
not exist.

Calendar periods (trend periods, retention periods and cohorts) are cut by the wall
clock. Two edges need a rule, the same everywhere:

* a local start that happens twice (clocks go back) is its **first** instant, so the
  period holds both copies of the repeated hour;
* a local start that does not exist (clocks go forward) is the **first instant after the
  gap**. pandas' ``nonexistent="shift_forward"`` is not used for it: on a 30-minute change
  (Australia/Lord_Howe) it moves 02:00 to 03:00 instead of 02:30, and its
  ``"shift_backward"`` is off by an hour on Europe/Madrid's spring change (pandas 2.3).
  A local hour that lies wholly in a gap is no period at all (:func:`skipped_hours`).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

__all__ = ["first_instants", "local_ns", "skipped_hours"]

_DAY = 86_400_000_000_000
_HOUR = 3_600_000_000_000
_GRID = 900_000_000_000  # 15 min: every modern UTC offset change falls on this grid
_NAT = np.iinfo(np.int64).min


def local_ns(t: np.ndarray, tz: str) -> np.ndarray:
    """Wall-clock nanoseconds in ``tz`` of UTC nanoseconds ``t`` (vectorized)."""
    if tz == "UTC" or len(t) == 0:
        return t
    lo, hi = int(t.min()) // _GRID, int(t.max()) // _GRID
    if hi - lo > 2_000_000:  # very long spans: let pandas convert row by row
        idx = pd.DatetimeIndex(t.view("datetime64[ns]")).tz_localize("UTC").tz_convert(tz).tz_localize(None)
        return idx.asi8
    grid = np.arange(lo, hi + 1, dtype=np.int64) * _GRID
    gi = pd.DatetimeIndex(grid.view("datetime64[ns]")).tz_localize("UTC").tz_convert(tz).tz_localize(None)
    off = gi.asi8 - grid
    return t + off[t // _GRID - lo]


def first_instants(naive: np.ndarray, tz: str) -> np.ndarray:
    """UTC nanoseconds of the first instant at which the wall clock of ``tz`` reads each
    local time ``naive`` (nanoseconds since 1970-01-01 local), or first passes it when the
    time does not exist (the instant the clocks jump over it).

    Examples
    --------
    >>> import pandas as pd
    >>> madrid = lambda s: pd.Timestamp(s).as_unit("ns").value
    >>> utc = lambda ns: [str(pd.Timestamp(int(v), tz="UTC")) for v in ns]
    >>> utc(first_instants(np.array([madrid("2024-03-31 02:30"), madrid("2024-10-27 02:30")]), "Europe/Madrid"))
    ['2024-03-31 01:00:00+00:00', '2024-10-27 00:30:00+00:00']
    """
    naive = np.asarray(naive, dtype=np.int64)
    if tz == "UTC" or len(naive) == 0:
        return naive
    di = pd.DatetimeIndex(naive.view("datetime64[ns]"))
    n = len(naive)
    a = di.tz_localize(tz, ambiguous=np.ones(n, dtype=bool), nonexistent="NaT").asi8
    b = di.tz_localize(tz, ambiguous=np.zeros(n, dtype=bool), nonexistent="NaT").asi8
    out = np.where((a != _NAT) & (b != _NAT), np.minimum(a, b), np.maximum(a, b))
    gap = np.flatnonzero(out == _NAT)
    if len(gap):
        # the jump is on the 15-min grid, within 15 h of the naive time read as UTC (offsets
        # span -12 h .. +14 h): the first grid instant whose wall clock is at or past it
        w = naive[gap]
        steps = np.arange(-60, 61, dtype=np.int64) * _GRID
        g = (w // _GRID * _GRID)[:, None] + steps[None, :]
        past = local_ns(g.ravel(), tz).reshape(g.shape) >= w[:, None]
        out[gap] = g[np.arange(len(gap)), past.argmax(axis=1)]
    return out


@functools.lru_cache(maxsize=32)
def skipped_hours(tz: str) -> np.ndarray:
    """Sorted wall-clock hour indices (hours since 1970-01-01 local) that do not exist in
    ``tz`` at all: the whole hour lies in the gap of a forward change (02:00-03:00 in
    Europe/Madrid on the last Sunday of March; a 30-minute change skips no whole hour).

    Found from the offsets at every UTC midnight of the nanosecond range and, on the days
    they rise, at every 15 minutes; cached per zone (about 10 ms).

    Examples
    --------
    >>> h = skipped_hours("Europe/Madrid")
    >>> str(pd.Timestamp(int(h[h >= 473_000][0]) * _HOUR))
    '2024-03-31 02:00:00'
    """
    if tz == "UTC":
        return np.empty(0, dtype=np.int64)
    days = np.arange(-106_000, 106_000, dtype=np.int64) * _DAY  # 1679-10 .. 2260-03
    off = local_ns(days, tz) - days
    out: list[int] = []
    for i in np.flatnonzero(np.diff(off) > 0):  # a few hundred days at most
        grid = days[i] + np.arange(0, _DAY // _GRID + 1, dtype=np.int64) * _GRID
        g_off = local_ns(grid, tz) - grid
        for j in np.flatnonzero(np.diff(g_off) > 0):
            at = int(grid[j + 1])  # the change: the wall clock jumps from at + g_off[j] to at + g_off[j + 1]
            w0, w1 = at + int(g_off[j]), at + int(g_off[j + 1])
            out.extend(range(-(-w0 // _HOUR), w1 // _HOUR))  # the whole hours inside [w0, w1)
    return np.asarray(out, dtype=np.int64)
