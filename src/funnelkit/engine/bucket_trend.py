"""The trend bucket function: one sorted bucket of whole units -> per-(period, level) counts (private).

Trends by entry period follow PostHog's funnel trends: a unit counts in **every**
period in which it starts an attempt (a step-1 event; for ``any_order`` any funnel
event, the kernel's window starts), with its best attempt among those starting in
that period. That is the funnel with ``start``/``end`` set to the period's bounds,
once per period, which is how this module computes it: it calls the funnel kernel
(:func:`.bucket_funnel.run_bucket`) with
``dataclasses.replace(fk, start_ns=..., end_ns=...)``, so every mode and exclusion
rule of the funnel gives its own trend (the logic stays in the kernel).

Work stays proportional to the rows, not rows x periods:

1. ``repeat()``/``after()`` rules are settled once on each unit's whole history
   (:func:`.bucket_funnel.stage_bits`); the settled stage bits (and the exclusion
   bits) replace the rule bits, so a restricted history keeps them;
2. an *entry* is a (unit, period) with a start in the period. Its rows are the
   unit's rows from its first start in the period to its last start plus the
   horizon (``window``; ``(K - 1) * window`` with ``window_from="previous"``; the
   end of the unit without a window): no attempt starting in the period can see
   any other row;
3. each entry becomes a unit of its own (a *pseudo-unit*), its times shifted so
   that its period's lower bound is 0; entries of periods of the same length
   (most: hours, days, weeks in UTC; months have four lengths) are run together in
   one kernel call with ``start_ns=0, end_ns=length``. The kernels only compare
   time differences and the bounds, so the shift changes nothing; a test checks the
   batched run against one kernel call per period on the unshifted rows.

A row is copied into each entry whose span covers it: about ``1 + horizon / period``
copies for a unit that starts in every period, so hourly periods with a week-long
window cost more than daily ones (and ``window=None`` the most: every later row).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._wallclock import first_instants
from .bucket_funnel import FunnelKernel, run_bucket, stage_bits

__all__ = ["PeriodGrid", "TrendKernel", "TrendPartial", "merge_partials", "run_trend_bucket"]

#: At most about this many (copied) rows per kernel call; larger batches are split.
CHUNK_ROWS = 1 << 21


@dataclass(frozen=True)
class PeriodGrid:
    """Calendar periods of length ``freq`` cut in time zone ``tz`` (as pandas periods),
    optionally clipped to ``[start_ns, end_ns)`` (the funnel's date range)."""

    freq: str
    tz: str
    start_ns: int | None = None
    end_ns: int | None = None

    def cover(self, t_min: int, t_max: int) -> tuple[np.ndarray, np.ndarray]:
        """UTC ns starts and ends of the periods covering ``[t_min, t_max]`` (one spare
        period on each side), unclipped.

        A local period that does not exist (the hour skipped when clocks go forward)
        starts and ends at the same instant, the jump: it is left out, so that
        the starts are strictly increasing and every instant falls in one period that
        lasts.
        """
        lo = pd.Timestamp(int(t_min), unit="ns", tz="UTC").tz_convert(self.tz).tz_localize(None)
        hi = pd.Timestamp(int(t_max), unit="ns", tz="UTC").tz_convert(self.tz).tz_localize(None)
        p0, p1 = lo.to_period(self.freq) - 1, hi.to_period(self.freq) + 1
        rng = pd.period_range(p0, p1, freq=p0.freq)
        starts = np.asarray(localize(rng.start_time, self.tz).as_unit("ns").asi8, dtype=np.int64)
        ends = np.asarray(localize((rng + 1).start_time, self.tz).as_unit("ns").asi8, dtype=np.int64)
        lasts = ends > starts
        return (starts, ends) if lasts.all() else (starts[lasts], ends[lasts])

    def clipped(self, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The periods' bounds intersected with the date range (empty: ``lo >= hi``)."""
        lo, hi = starts.copy(), ends.copy()
        if self.start_ns is not None:
            np.maximum(lo, self.start_ns, out=lo)
        if self.end_ns is not None:
            np.minimum(hi, self.end_ns, out=hi)
        return lo, hi


def localize(naive: pd.DatetimeIndex, tz: Any) -> pd.DatetimeIndex:
    """Local wall-clock period starts as instants: an ambiguous start at its first
    instant (the daylight-saving side), a start in a gap at the instant the clocks jump
    past it (:func:`._wallclock.first_instants`)."""
    ns = first_instants(np.asarray(naive.as_unit("ns").asi8, dtype=np.int64), str(tz))
    return pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC").tz_convert(tz)


@dataclass(frozen=True)
class TrendKernel:
    """What the trend bucket function computes (one per trend call)."""

    fk: FunnelKernel  # the funnel, built as run_funnel builds it (start/end unset)
    grid: PeriodGrid
    horizon: int | None  # ns after the last start of an entry that its attempts can use
    batch: bool = True  # shift and batch periods of one length (False: one call per period)


@dataclass
class TrendPartial:
    """Counts of one bucket (or merged): per period start (UTC ns, sorted), the entries
    by level ``0 .. K`` and the entries left out by exclusions."""

    period: np.ndarray  # int64 (P,)
    levels: np.ndarray  # int64 (P, K + 1)
    excluded: np.ndarray  # int64 (P,)


def _empty(k: int) -> TrendPartial:
    return TrendPartial(np.zeros(0, np.int64), np.zeros((0, k + 1), np.int64), np.zeros(0, np.int64))


def _ranges(a: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(a[i], z[i])`` (vectorized)."""
    n = z - a
    total = int(n.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    keep = n > 0
    a, n = a[keep], n[keep]
    step = np.ones(total, dtype=np.int64)
    ends = np.cumsum(n)
    step[0] = a[0]
    step[ends[:-1]] = a[1:] - (a[:-1] + n[:-1]) + 1
    return np.cumsum(step)


def run_trend_bucket(tk: TrendKernel, u: np.ndarray, t: np.ndarray, bits: np.ndarray, pos: np.ndarray,
                     n_units: int) -> TrendPartial:
    """Per-(period, level) counts of one sorted bucket (see the module docstring).

    ``u, t, bits, pos`` are the bucket's rows sorted as the funnel kernels need
    (:class:`funnelkit.engine.drive.BucketRows` with ``steps=``).
    """
    fk = tk.fk
    K = fk.k
    if not len(u):
        return _empty(K)
    u = np.asarray(u, dtype=np.int64)
    t = np.asarray(t, dtype=np.int64)
    if fk.bits.special:  # settle repeat()/after() on the whole history, keep exclusion bits
        cur, _ = stage_bits(bits, u, fk.bits, fk.after_order, fk.stage_of)
        dt = bits.dtype.type
        ex_mask = 0
        for bit, _, _ in fk.bits.excl:
            ex_mask |= 1 << bit
        bits = cur | (bits & dt(ex_mask))
    dt = bits.dtype.type
    if fk.mode == "any_order":  # any funnel event starts a window
        m = 0
        for s in set(int(s) for s in fk.steps):
            m |= 1 << s
        can = (bits & dt(m)) != 0
    else:
        can = (bits & dt(1 << int(fk.steps[0]))) != 0
    si = np.flatnonzero(can)
    if not len(si):
        return _empty(K)
    ts = t[si]
    starts, ends = tk.grid.cover(int(ts.min()), int(ts.max()))
    lo, hi = tk.grid.clipped(starts, ends)
    p = np.searchsorted(starts, ts, side="right") - 1
    ok = (ts >= lo[p]) & (ts < hi[p])  # inside the date range (and a non-empty period)
    si, ts, p = si[ok], ts[ok], p[ok]
    if not len(si):
        return _empty(K)
    us = u[si]
    # entries: (unit, period) runs of the starts (sorted by unit, then time, so by period)
    new = np.ones(len(si), dtype=bool)
    new[1:] = (us[1:] != us[:-1]) | (p[1:] != p[:-1])
    first = np.flatnonzero(new)
    last = np.r_[first[1:], len(si)] - 1
    e_u, e_p = us[first], p[first]
    l_t = ts[last]
    # rows of each entry: the unit's rows from its first start (ties at that time included)
    # to its last start + horizon
    ustart = np.searchsorted(u, np.arange(n_units + 1, dtype=np.int64), side="left")
    uend = ustart[e_u + 1]
    a = _run_first(u, t)[si[first]]  # ties at f_t sorted before the first start come too
    if tk.horizon is None:
        z = uend
    else:
        z = _last_within(t, si[last], uend, l_t + tk.horizon) + 1
    if tk.batch:
        dur = hi[e_p] - lo[e_p]
        groups = [(int(d), np.flatnonzero(dur == d)) for d in np.unique(dur)]
    else:
        groups = [(int(q), np.flatnonzero(e_p == q)) for q in np.unique(e_p)]
    P = len(starts)
    levels = np.zeros((P, K + 1), dtype=np.int64)
    excl = np.zeros(P, dtype=np.int64)
    for key, idx in groups:
        for chunk in _chunks(idx, z[idx] - a[idx]):
            rows = _ranges(a[chunk], z[chunk])
            n_e = len(chunk)
            cnt = z[chunk] - a[chunk]
            pu = np.repeat(np.arange(n_e, dtype=np.int64), cnt)
            if tk.batch:
                shift = np.repeat(lo[e_p[chunk]], cnt)
                kern = dataclasses.replace(fk, start_ns=0, end_ns=key)
                tt = t[rows] - shift
            else:
                kern = dataclasses.replace(fk, start_ns=int(lo[key]), end_ns=int(hi[key]))
                tt = t[rows]
            res, _ = run_bucket(kern, pu, tt, bits[rows], pos[rows], None, n_e)
            lv = np.asarray(res.level, dtype=np.int64)
            ep = e_p[chunk]
            levels += np.bincount(ep * (K + 1) + lv, minlength=P * (K + 1)).reshape(P, K + 1)
            excl += np.bincount(ep[np.asarray(res.excluded, dtype=bool)], minlength=P)
    used = np.flatnonzero(levels.sum(axis=1) > 0)
    return TrendPartial(period=starts[used], levels=levels[used], excluded=excl[used])


def _run_first(u: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Per row, the first row of its run of equal (unit, time)."""
    new = np.ones(len(u), dtype=bool)
    new[1:] = (u[1:] != u[:-1]) | (t[1:] != t[:-1])
    heads = np.flatnonzero(new)
    return heads[np.cumsum(new) - 1]


def _last_within(t: np.ndarray, lo: np.ndarray, end: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Per query, the last row in ``[lo, end)`` with ``t <= limit`` (``t[lo] <= limit``; the
    rows of a unit are sorted by time): a vectorized binary search, O(log unit size) rounds."""
    from .kernels._common import last_leq

    return last_leq(t, lo.astype(np.int64, copy=True), end.astype(np.int64) - 1, limit)


def _chunks(idx: np.ndarray, cnt: np.ndarray) -> list[np.ndarray]:
    """``idx`` cut into consecutive pieces of about :data:`CHUNK_ROWS` rows."""
    if int(cnt.sum()) <= CHUNK_ROWS:
        return [idx]
    cut = np.searchsorted(np.cumsum(cnt), np.arange(CHUNK_ROWS, int(cnt.sum()), CHUNK_ROWS), side="left")
    cut = np.unique(np.clip(cut, 1, len(idx)))
    return [c for c in np.split(idx, cut) if len(c)]


def merge_partials(parts: list[TrendPartial], k: int) -> TrendPartial:
    """One :class:`TrendPartial` from several (buckets, Dask partitions): counts summed by period."""
    parts = [x for x in parts if x is not None and len(x.period)]
    if not parts:
        return _empty(k)
    per = np.concatenate([x.period for x in parts])
    keys, inv = np.unique(per, return_inverse=True)
    levels = np.zeros((len(keys), k + 1), dtype=np.int64)
    np.add.at(levels, inv, np.concatenate([x.levels for x in parts]))
    excl = np.bincount(inv, weights=np.concatenate([x.excluded for x in parts]),
                       minlength=len(keys)).astype(np.int64)
    return TrendPartial(period=keys, levels=levels, excluded=excl)
