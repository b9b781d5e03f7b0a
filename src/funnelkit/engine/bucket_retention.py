"""Bucket functions of retention and loyalty (private; run by :func:`.drive.run_units`).

:func:`run_retention` maps one sorted bucket of whole units (:class:`.drive.BucketRows`)
to **mergeable counts**: cohort sizes per ``(cohort, group)``, retained units per
``(cohort, group, offset)`` (an offset is a period index, or a bracket index), and the
earliest and latest anchor time per cohort (which decide whether a cell's period has
fully elapsed). Counts of several buckets, spilled buckets or Dask partitions merge by
summation (times by min/max), so every execution path gives the same table.

:func:`run_loyalty` maps a bucket to per-unit times (first occurrence, second and n-th
occurrence, first event) that merge by concatenation: the Kaplan–Meier estimate needs
each unit's duration.

Semantics (``docs/retention.md``): the rows carry bit 0 = start rule and bit 1 = return
rule of a small journey (either may be absent: the unit's first event / any event).
An *anchor* is the unit's first start row (``cohort="first"``), or its first start row
in each cohort period (``"recurring"``). A return row pairs with every anchor of its
unit at or before its time, except the anchor row itself; its offset is
``(t - t_anchor) // period`` for a fixed period, or the difference of calendar period
indices in the time zone. All numpy, no loop over units: the loop over ``lag`` runs
once per anchor a return row can see (one round for ``cohort="first"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._wallclock import first_instants, local_ns, skipped_hours
from .drive import BucketRows

__all__ = ["LoyaltySpec", "RetentionSpec", "calendar_index", "period_start_ns", "run_loyalty", "run_retention",
           "thin_window"]

_DAY = 86_400_000_000_000
_HOUR = 3_600_000_000_000
_NAT = np.iinfo(np.int64).min


@dataclass(frozen=True)
class RetentionSpec:
    """What :func:`run_retention` computes (checked by :func:`funnelkit.analyses.retention.retention`)."""

    kind: str = "n_period"  # "n_period" | "unbounded" | "bracket"
    cohort: str = "first"  # "first" | "recurring"
    period_ns: int | None = None  # fixed period length, or None for a calendar period
    period_cal: str | None = "D"  # "h" | "D" | "W" | "M" (calendar periods)
    cohort_cal: str = "D"  # calendar period of cohorts
    tz: str = "UTC"
    brackets: tuple[tuple[int, int], ...] = ()
    max_offset: int | None = None
    has_start: bool = False  # bit 0 is the start rule (else: first event / every event)
    has_return: bool = False  # bit 1 (or bit 0 without a start rule) is the return rule
    group: str = "none"  # "none" | "anchor" (by= at the anchor row) | "unit" (variant, unit-wide)


def calendar_index(t: np.ndarray, cal: str, tz: str) -> np.ndarray:
    """Index of the calendar period (``"h"``, ``"D"``, ``"W"`` from Monday, ``"M"``) of
    each UTC time in ``tz``: hours, days, weeks or months since 1970-01 local."""
    loc = local_ns(t, tz)
    if cal == "h":
        w = loc // _HOUR
        gone = skipped_hours(tz)
        if not len(gone):
            return w
        # hours that exist: a wall-clock hour skipped by a forward change is no period
        return w - (np.searchsorted(gone, w) - np.searchsorted(gone, 0))
    if cal == "D":
        return loc // _DAY
    if cal == "W":  # 1970-01-01 was a Thursday: weeks start on Monday
        return (loc + 3 * _DAY) // (7 * _DAY)  # = (loc // day + 3) // 7, one division
    if cal == "M":
        return loc.view("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
    raise ValueError(cal)  # pragma: no cover - checked by the analysis


def period_start_ns(idx: np.ndarray, cal: str, tz: str) -> np.ndarray:
    """UTC nanoseconds at which calendar period ``idx`` starts in ``tz``: the first
    instant the wall clock reads its local start (an ambiguous start: its first copy), or
    the instant it jumps past it (a start in a gap). Hours wholly in a gap are no period
    (:func:`calendar_index` leaves them out)."""
    idx = np.asarray(idx, dtype=np.int64)
    if cal == "h":
        gone = skipped_hours(tz)
        if len(gone):  # back to wall-clock hours, past the skipped ones
            at = gone - (np.arange(len(gone)) - np.searchsorted(gone, 0))  # index of the hour after each
            idx = idx + (np.searchsorted(at, idx, side="right") - np.searchsorted(at, 0, side="right"))
        naive = idx * _HOUR
    elif cal == "D":
        naive = idx * _DAY
    elif cal == "W":
        naive = (idx * 7 - 3) * _DAY
    else:
        naive = idx.astype("datetime64[M]").astype("datetime64[ns]").astype(np.int64)
    return first_instants(naive, tz)


def thin_window(t: np.ndarray, spec: RetentionSpec) -> np.ndarray:
    """The windows by which the driver may thin a block for :func:`run_retention`
    (``DriveRequest.thin``): the return periods (calendar periods in the time zone, or
    epoch-aligned slices of the fixed period's length), cut also at cohort periods with
    ``cohort="recurring"``.

    :func:`run_retention` reads a unit's rows only through its anchors (the earliest
    start row, of the unit or of each cohort period), whether a return row other than
    the anchor falls in each offset's time range, and the latest return: a window is
    never longer than the period, so an offset's range meets a window at one end or
    contains it, and the window's earliest or latest row is in that range whenever any
    of its rows is. The sum of two non-decreasing indices changes exactly when one of
    them does, so it numbers the cut windows."""
    if spec.period_ns is None:
        w = calendar_index(t, spec.period_cal or "D", spec.tz)
    else:
        w = t // spec.period_ns
    if spec.cohort == "recurring":
        w = w + calendar_index(t, spec.cohort_cal, spec.tz)
    return w


def _unit_variant(rows: BucketRows) -> np.ndarray:
    """Per unit: its attribute code when all its non-null values agree, -1 when it has
    none (not exposed), -2 when it has several (mixed: left out)."""
    a = rows.attr
    starts = rows.starts()
    big = np.iinfo(np.int32).max
    mn = np.minimum.reduceat(np.where(a >= 0, a, big), starts)
    mx = np.maximum.reduceat(np.where(a >= 0, a, -1), starts)
    out = np.where(mx < 0, -1, np.where(mn == mx, mx, -2)).astype(np.int64)
    return out


def _counts(keys: list[np.ndarray], weights: np.ndarray | None = None) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of ``keys`` (int64 columns) and how many times (or weight) each occurs."""
    if len(keys[0]) == 0:
        return [k[:0].astype(np.int64) for k in keys], np.zeros(0, dtype=np.int64)
    lo = [int(k.min()) for k in keys]
    span = [int(k.max()) - m + 1 for k, m in zip(keys, lo)]
    code = np.zeros(len(keys[0]), dtype=np.int64)
    for k, m, s in zip(keys, lo, span):
        code = code * s + (k - m)
    width = int(np.prod(np.asarray(span, dtype=np.float64)))
    if weights is None and len(code) > 1 and bool((code[1:] >= code[:-1]).all()):  # sorted already: runs
        brk = np.flatnonzero(code[1:] != code[:-1]) + 1
        first = np.concatenate(([0], brk))
        uniq = code[first]
        cnt = np.diff(np.append(first, len(code)))
    elif weights is None and width <= max(4 * len(code), 1 << 16):  # few codes: count densely, no sort
        full = np.bincount(code, weights=weights, minlength=width)
        uniq = np.flatnonzero(full)
        cnt = full[uniq]
    else:
        uniq, inv = np.unique(code, return_inverse=True)
        cnt = np.bincount(inv, weights=weights, minlength=len(uniq))
    out = []
    rest = uniq
    for m, s in reversed(list(zip(lo, span))):
        out.append(rest % s + m)
        rest = rest // s
    return out[::-1], cnt.astype(np.int64) if weights is None else cnt


def _anchors(rows: BucketRows, spec: RetentionSpec, is_start: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Row index and cohort index of every anchor (sorted by row)."""
    u, t = rows.u, rows.t
    by_anchor = spec.group == "anchor" and rows.attr is not None
    if is_start is None:
        cand = rows.starts() if (spec.cohort == "first" and not by_anchor) else np.arange(len(u))
    else:
        cand = np.flatnonzero(is_start)
    coh = calendar_index(t[cand], spec.cohort_cal, spec.tz)
    if len(cand) == 0:
        return cand.astype(np.int64), coh
    cu = u[cand]
    new = np.empty(len(cand), dtype=bool)
    new[0] = True
    new[1:] = cu[1:] != cu[:-1]
    if spec.cohort == "recurring":
        new[1:] |= coh[1:] != coh[:-1]
    pos = np.flatnonzero(new)
    if by_anchor:
        # start rows at one instant are sorted by (attribute, bits), nulls (-1) first: the
        # anchor is the first one with a value (nulls last), else the first one
        ct = t[cand]
        run = np.empty(len(cand), dtype=bool)
        run[0] = True
        run[1:] = (cu[1:] != cu[:-1]) | (ct[1:] != ct[:-1])
        rid = np.cumsum(run) - 1
        run_end = np.append(np.flatnonzero(run)[1:], len(cand))
        nulls = np.bincount(rid, weights=rows.attr[cand] < 0, minlength=len(run_end)).astype(np.int64)
        q = pos + nulls[rid[pos]]
        pos = np.where(q < run_end[rid[pos]], q, pos)
    return cand[pos].astype(np.int64), coh[pos]


def run_retention(rows: BucketRows, spec: RetentionSpec) -> dict[str, Any]:
    """Mergeable retention counts of one bucket (see the module docstring)."""
    u, t = rows.u.astype(np.int64), rows.t
    sb = rows.stage_bits() if (spec.has_start or spec.has_return) else None
    is_start = (sb & 1).astype(bool) if spec.has_start else None
    rbit = 2 if spec.has_start else 1
    is_ret = (sb & rbit).astype(bool) if spec.has_return else None
    a_row, a_coh = _anchors(rows, spec, is_start)
    a_u = u[a_row]
    a_t = t[a_row]
    excluded = {"mixed": 0, "unexposed": 0}
    if spec.group == "anchor":
        a_g = rows.attr[a_row].astype(np.int64)
    elif spec.group == "unit":
        var = _unit_variant(rows)
        a_g = var[a_u]
        has = np.zeros(rows.n_units, dtype=bool)
        has[a_u] = True
        excluded["mixed"] = int((has & (var == -2)).sum())
        excluded["unexposed"] = int((has & (var == -1)).sum())
        keep = a_g >= 0
        a_row, a_coh, a_u, a_t, a_g = a_row[keep], a_coh[keep], a_u[keep], a_t[keep], a_g[keep]
    else:
        a_g = np.zeros(len(a_row), dtype=np.int64)
    # cohort sizes and the anchors' time range per cohort
    (sc, sg), size = _counts([a_coh, a_g])
    (tc,), _ = _counts([a_coh])
    if len(a_row):
        ci = np.searchsorted(tc, a_coh)
        # few cohorts: ufunc.at would update the same cells one after another; sort the
        # anchors by cohort instead (a radix sort of small codes) and reduce each run
        srt = np.argsort(ci.astype(np.uint16) if len(tc) <= 1 << 16 else ci, kind="stable")
        bounds = np.searchsorted(ci[srt], np.arange(len(tc)))
        ts = a_t[srt]
        tmin = np.minimum.reduceat(ts, bounds)
        tmax = np.maximum.reduceat(ts, bounds)
    else:
        tmin = tmax = np.zeros(0, dtype=np.int64)
    if spec.cohort == "first" and is_start is None and spec.group != "anchor":
        pk, po = _pairs_one_anchor(rows, spec, is_ret, a_row, a_u, a_t)
    else:
        pk, po = _pairs(rows, spec, is_start, is_ret, a_row, a_u, a_t)
    if spec.kind == "bracket":
        hi = max(b[1] for b in spec.brackets)
        lut = np.full(hi + 2, -1, dtype=np.int64)
        for j, (lo_b, hi_b) in enumerate(spec.brackets):
            lut[lo_b:hi_b + 1] = j
        po = lut[np.minimum(po, hi + 1)]
        sel = po >= 0
        pk, po = pk[sel], po[sel]
    (pk, po), _ = _counts([pk, po])  # distinct (anchor, offset) pairs, sorted by anchor then offset
    if spec.kind == "unbounded" and len(pk):
        last = np.empty(len(pk), dtype=bool)
        last[-1] = True
        last[:-1] = pk[1:] != pk[:-1]
        pk, po = pk[last], po[last]  # each anchor's latest return offset
    (cc, cg, co), ret = _counts([a_coh[pk], a_g[pk], po])
    return {"size": (sc, sg, size), "cells": (cc, cg, co, ret), "trange": (tc, tmin, tmax),
            "excluded": excluded}


def _pairs(rows: BucketRows, spec: RetentionSpec, is_start: np.ndarray | None, is_ret: np.ndarray | None,
           a_row: np.ndarray, a_u: np.ndarray, a_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (anchor, offset) a return row gives (repeats included), for any anchors: a
    return row pairs with each anchor of its unit at or before its time but itself."""
    u, t = rows.u.astype(np.int64), rows.t
    n = len(u)
    # return rows and their period index (calendar) -------------------------------------
    r_rows = np.flatnonzero(is_ret) if is_ret is not None else np.arange(n)
    # only rows of units with an anchor, at or after the time of the unit's first anchor;
    # without a start rule every unit's first anchor is at its first row's time (unless
    # the unit was left out by its variant): then every row passes and the filter is skipped
    if len(r_rows) and not (is_start is None and spec.group != "unit"):
        first_a = np.full(rows.n_units, np.iinfo(np.int64).max, dtype=np.int64)
        if len(a_row):
            newu = np.empty(len(a_row), dtype=bool)
            newu[0] = True
            newu[1:] = a_u[1:] != a_u[:-1]
            first_a[a_u[newu]] = a_row[newu]  # anchors are sorted: each unit's first one
        fa = first_a[u[r_rows]]
        has_a = fa < n
        r_rows = r_rows[has_a]
        r_rows = r_rows[t[r_rows] >= t[fa[has_a]]]
    cal = spec.period_ns is None
    if cal:
        rp = calendar_index(t[r_rows], spec.period_cal, spec.tz)
        a_rp = calendar_index(a_t, spec.period_cal, spec.tz)
        # per (unit, period) keep the last return row and the one before it (the last may
        # be the anchor itself; the one before counts only at the anchor's time)
        if len(r_rows) > 1:
            ur = u[r_rows]
            brk = np.empty(len(r_rows), dtype=bool)
            brk[-1] = True
            brk[:-1] = (ur[1:] != ur[:-1]) | (rp[1:] != rp[:-1])
            keep = brk.copy()
            keep[:-1] |= brk[1:] & ~brk[:-1]
            r_rows, rp = r_rows[keep], rp[keep]
    # the last row of each run of equal (unit, time): a return row sees every anchor up to it
    brk_all = np.empty(n, dtype=bool)
    if n:
        brk_all[-1] = True
        brk_all[:-1] = (u[1:] != u[:-1]) | (t[1:] != t[:-1])
    ends = np.flatnonzero(brk_all)
    # each row's run of equal (unit, time) is numbered by the run ends before it
    run_of = np.cumsum(brk_all) - brk_all
    tie_last = ends[run_of[r_rows]] if len(r_rows) else r_rows
    # anchors at or before each row: a running count over the rows
    n_anchor = np.zeros(n + 1, dtype=np.int64)
    n_anchor[a_row + 1] = 1
    np.cumsum(n_anchor, out=n_anchor)
    cnt = n_anchor[tie_last + 1]
    ur = u[r_rows]
    tr = t[r_rows]
    got_k: list[np.ndarray] = []
    got_o: list[np.ndarray] = []
    active = np.arange(len(r_rows))
    lag = 0
    while len(active):
        k = cnt[active] - 1 - lag
        ok = k >= 0
        kk = np.where(ok, k, 0)
        ok &= a_u[kk] == ur[active] if len(a_u) else np.zeros(len(k), dtype=bool)
        active, kk = active[ok], kk[ok]
        if not len(active):
            break
        if cal:
            off = rp[active] - a_rp[kk]
        else:
            off = (tr[active] - a_t[kk]) // spec.period_ns
        if spec.max_offset is None:
            within = np.ones(len(active), dtype=bool)
        elif spec.kind == "unbounded":  # a later return still counts at every offset kept
            off = np.minimum(off, spec.max_offset)
            within = np.ones(len(active), dtype=bool)
        else:
            within = off <= spec.max_offset
        active, kk, off = active[within], kk[within], off[within]
        real = a_row[kk] != r_rows[active]
        got_k.append(kk[real])
        got_o.append(off[real])
        lag += 1
    pk = np.concatenate(got_k) if got_k else np.zeros(0, dtype=np.int64)
    po = np.concatenate(got_o) if got_o else np.zeros(0, dtype=np.int64)
    pk = np.concatenate(got_k) if got_k else np.zeros(0, dtype=np.int64)
    po = np.concatenate(got_o) if got_o else np.zeros(0, dtype=np.int64)
    return pk, po


def _pairs_one_anchor(rows: BucketRows, spec: RetentionSpec, is_ret: np.ndarray | None, a_row: np.ndarray,
                      a_u: np.ndarray, a_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_pairs` when every unit has at most one anchor, its first row (``cohort="first"``
    without a start rule): each return row but the anchor itself pairs with its unit's
    anchor, which no row precedes. One vectorized pass over the rows, no loop."""
    u, t = rows.u.astype(np.int64), rows.t
    ret = np.ones(len(u), dtype=bool) if is_ret is None else is_ret.copy()
    ret[a_row] = False  # the anchor row itself is no return
    r_rows = np.flatnonzero(ret)
    anchor_of = np.full(rows.n_units, -1, dtype=np.int64)
    anchor_of[a_u] = np.arange(len(a_u), dtype=np.int64)
    k = anchor_of[u[r_rows]]
    ok = k >= 0  # units left out (mixed or unexposed variant) have no anchor
    if not ok.all():
        r_rows, k = r_rows[ok], k[ok]
    if spec.period_ns is None:
        a_rp = calendar_index(a_t, spec.period_cal, spec.tz)  # type: ignore[arg-type]
        off = calendar_index(t[r_rows], spec.period_cal, spec.tz) - a_rp[k]  # type: ignore[arg-type]
    else:
        off = (t[r_rows] - a_t[k]) // spec.period_ns
    if spec.max_offset is not None:
        if spec.kind == "unbounded":  # a later return still counts at every offset kept
            off = np.minimum(off, spec.max_offset)
        else:
            within = off <= spec.max_offset
            k, off = k[within], off[within]
    return k, off


@dataclass(frozen=True)
class LoyaltySpec:
    """What :func:`run_loyalty` computes."""

    nth: int = 2
    group: str = "none"  # "none" | "anchor" | "unit"


def run_loyalty(rows: BucketRows, spec: LoyaltySpec) -> dict[str, np.ndarray]:
    """Per unit of the bucket: the time of its first event, of the 1st, 2nd and n-th
    occurrence of the event (bit 0; NaT = ``int64`` min when it has fewer), and its group
    (the attribute at the first occurrence, or its unit-wide variant; -2 mixed)."""
    u, t = rows.u.astype(np.int64), rows.t
    nu = rows.n_units
    starts = rows.starts()
    t0 = t[starts]
    occ = np.flatnonzero(rows.stage_bits() & 1)
    uo = u[occ]
    first_pos = np.searchsorted(uo, np.arange(nu), side="left")
    rank = np.arange(len(occ)) - first_pos[uo]

    def nth_time(k: int) -> np.ndarray:
        out = np.full(nu, _NAT, dtype=np.int64)
        sel = rank == k - 1
        out[uo[sel]] = t[occ[sel]]
        return out

    t1 = nth_time(1)
    t2 = nth_time(2)
    tn = nth_time(spec.nth) if spec.nth not in (1, 2) else (t1 if spec.nth == 1 else t2)
    if spec.group == "anchor":
        g = np.full(nu, -1, dtype=np.int64)
        sel = rank == 0
        g[uo[sel]] = rows.attr[occ[sel]]
    elif spec.group == "unit":
        g = _unit_variant(rows)
    else:
        g = np.zeros(nu, dtype=np.int64)
    return {"t0": t0, "t1": t1, "t2": t2, "tn": tn, "group": g}
