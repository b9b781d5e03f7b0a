"""The paths bucket function: mergeable n-gram, link, position and transition counts (private).

Behind :func:`funnelkit.paths`, :func:`funnelkit.dropoff_paths`,
:func:`funnelkit.transition_matrix`, :func:`funnelkit.step_matrix` and
:func:`funnelkit.frictions`. One bucket of whole units (sorted by the driver) becomes
*count tables*: integer key rows (group, tokens, ...) with integer counts
(occurrences, distinct units, durations per log-bin). Count tables merge by summing
the counts of equal keys, so buckets, spilled buckets and Dask partitions give the same
totals whatever the order they are merged in (units never span two buckets, so
distinct-unit counts add up).

Per bucket, everything is vectorized numpy: a token per row (event, stage or
attribute code; ``-1`` for none), rows outside a per-unit time range dropped, ties at
one time re-sorted by token value, immediate repeats collapsed, path occurrences as
``(first row, end row)`` pairs, the ``(occurrence, position)`` matrix of tokens read
by shifted indices, and the key rows packed (with the unit) into one integer each and
counted with one sort.

Durations are counted in a fixed log-binned histogram: bin 0 holds zero durations,
bin ``b >= 1`` holds ``d`` ns with ``floor(BINS_PER_OCTAVE * log2(d)) = b - 1``. A
median read from it (at the bin's geometric centre) is within a factor
``2 ** (1 / (2 * BINS_PER_OCTAVE))`` (2.2 %) of the exact lower median.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = [
    "BINS_PER_OCTAVE",
    "Accumulator",
    "PathSpec",
    "bin_centre_ns",
    "duration_bins",
    "groupsum",
    "merge_tables",
    "run_bucket",
]

#: Resolution of the duration histograms: bins per doubling of the duration.
BINS_PER_OCTAVE = 16

Tables = dict[str, tuple[np.ndarray, np.ndarray]]

#: Key columns of count tables (codes, positions, bins, groups) are small integers:
#: int32 halves the memory of the tables a long log accumulates.
KEY_DTYPE = np.int32


@dataclass(frozen=True)
class PathSpec:
    """What one bucket computes (picklable, so Dask workers can run it).

    tokens : "event" (event codes), "stage" (lowest stage bit of the settled stage
        bits, i.e. the first matching stage in journey order) or "attr" (attribute
        codes; null values are no token).
    length : path length ``L`` (tokens per path).
    collapse : drop a row whose token equals the previous kept row's of its unit.
    anchor_bits : "raw" (anchors are the rows' rule bits) or "stage" (settled stage bits).
    start_mask, end_mask : bit masks of the start / end anchors (0: none).
    occurrences : "first" (one path per unit) or "every" (one per anchor / position).
    align : "head" (first tokens from the start), "tail" (last tokens up to the end).
    ranged : per-unit time ranges (``lo``, ``hi`` Series by unit id) bound the rows;
        every unit with a group then has a path, possibly empty.
    lo_incl, hi_incl : whether the range's bounds are inclusive.
    group : per-unit group code by unit id (``-1`` / absent: the unit is left out);
        ``None``: every unit is in group 0.
    group_from_attr : the unit's group is the attribute code of its first row with one.
    want : which tables to compute (subset of paths, hist, trans, frictions); the
        analyses derive flow links and per-position tokens from the merged paths.
    """

    tokens: Literal["event", "stage", "attr"] = "event"
    length: int = 5
    collapse: bool = True
    anchor_bits: Literal["raw", "stage"] = "raw"
    start_mask: int = 0
    end_mask: int = 0
    occurrences: Literal["first", "every"] = "first"
    align: Literal["head", "tail"] = "head"
    ranged: bool = False
    lo: Any = field(default=None, repr=False)
    hi: Any = field(default=None, repr=False)
    lo_incl: bool = False
    hi_incl: bool = True
    group: Any = field(default=None, repr=False)
    group_from_attr: bool = False
    want: tuple[str, ...] = ("paths", "hist")


# --------------------------------------------------------------------------- counting helpers


def _dense(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``keys`` (n, c) int64 -> (index of each distinct row's first occurrence,
    in lexicographic order of the rows; inverse code of every row)."""
    n = keys.shape[0]
    k = np.zeros(n, dtype=np.int64)
    if n == 0:
        return np.zeros(0, dtype=np.int64), k
    packed = _pack(keys)
    if packed is not None:
        _, first, inv = np.unique(packed[0], return_index=True, return_inverse=True)
        return first.astype(np.int64), inv.astype(np.int64).reshape(-1)
    for j in range(keys.shape[1]):
        c = keys[:, j] - keys[:, j].min()
        base = int(c.max()) + 1
        if base > 1:
            if int(k.max()) >= (1 << 62) // base:
                k = np.unique(k, return_inverse=True)[1].astype(np.int64).reshape(-1)
            k = k * base + c
    _, first, inv = np.unique(k, return_index=True, return_inverse=True)
    return first.astype(np.int64), inv.astype(np.int64).reshape(-1)


def groupsum(keys: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct key rows (sorted lexicographically) and the column sums of their values."""
    first, inv = _dense(keys)
    m = len(first)
    out = np.zeros((m, vals.shape[1]), dtype=np.int64)
    for j in range(vals.shape[1]):
        out[:, j] = np.bincount(inv, weights=vals[:, j], minlength=m).round().astype(np.int64)
    return keys[first], out


def _first_of_runs(x: np.ndarray) -> np.ndarray:
    """Indices where a sorted array's value changes (its first element included)."""
    if not len(x):
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.concatenate(([True], x[1:] != x[:-1])))


def _sorted_unique(x: np.ndarray) -> np.ndarray:
    """Distinct values of a sorted array (np.unique's hash path is slow on big int64 arrays)."""
    return x[_first_of_runs(x)]


def _pack(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Key rows as one non-negative int64 each (mixed radix, order preserving), with the
    columns' offsets and bases; ``None`` when they do not fit in 62 bits."""
    lo = keys.min(axis=0).astype(np.int64)
    base = keys.max(axis=0).astype(np.int64) - lo + 1
    total = 1.0
    for b in base.tolist():
        total *= b
    if total >= 2.0 ** 62:
        return None
    k = np.zeros(keys.shape[0], dtype=np.int64)
    for j in range(keys.shape[1]):
        if base[j] > 1:
            k *= base[j]
            k += keys[:, j] - lo[j]
    return k, lo, base


def _unpack(k: np.ndarray, lo: np.ndarray, base: np.ndarray) -> np.ndarray:
    out = np.empty((len(k), len(base)), dtype=np.int64)
    rest = k.copy()
    for j in range(len(base) - 1, -1, -1):
        b = int(base[j])
        out[:, j] = rest % b + lo[j]
        rest //= b
    return out


def _count(keys: np.ndarray, unit: np.ndarray, n_units: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct key rows (sorted lexicographically) with (occurrences, distinct units):
    one sort of the packed (key, unit) pairs."""
    nu = max(int(n_units), 1)
    packed = _pack(np.column_stack([keys, unit])) if len(keys) else None
    if packed is None:
        if not len(keys):
            return keys[:0], np.zeros((0, 2), dtype=np.int64)
        first, inv = _dense(keys)
        m = len(first)
        occ = np.bincount(inv, minlength=m)
        pair = _sorted_unique(np.sort(inv * nu + unit))
        units = np.bincount(pair // nu, minlength=m)
        return keys[first], np.stack([occ, units], axis=1).astype(np.int64)
    k, lo, base = packed
    k.sort()
    bu = int(base[-1])
    kk = k // bu
    kb = _first_of_runs(kk)
    newp = np.ones(len(k), dtype=np.int64)
    newp[1:] = k[1:] != k[:-1]
    units = np.add.reduceat(newp, kb) if len(kb) else np.zeros(0, np.int64)
    occ = np.diff(np.append(kb, len(k)))
    ukeys = _unpack(kk[kb], lo[:-1], base[:-1]).astype(KEY_DTYPE)
    return ukeys, np.stack([occ, units], axis=1).astype(np.int64)


def _tally(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct key rows with their number of occurrences (one sort)."""
    if not len(keys):
        return keys[:0], np.zeros((0, 1), dtype=np.int64)
    packed = _pack(keys)
    if packed is None:
        return groupsum(keys, np.ones((len(keys), 1), dtype=np.int64))
    k, lo, base = packed
    k.sort()
    kb = _first_of_runs(k)
    return _unpack(k[kb], lo, base).astype(KEY_DTYPE), np.diff(np.append(kb, len(k)))[:, None].astype(np.int64)


def merge_tables(parts: list[Tables]) -> Tables:
    """Sum several count tables (by name) into one."""
    names: list[str] = []
    for p in parts:
        for k in p:
            if k not in names:
                names.append(k)
    out: Tables = {}
    for name in names:
        got = [p[name] for p in parts if name in p and len(p[name][0])]
        if not got:
            same = next(p[name] for p in parts if name in p)
            out[name] = same
            continue
        if len(got) == 1:
            out[name] = got[0]
            continue
        keys = np.concatenate([g[0] for g in got])
        vals = np.concatenate([g[1] for g in got])
        out[name] = groupsum(keys, vals)
    return out


class Accumulator:
    """A thread-safe running sum of count tables: bucket functions add to it, so a long
    log holds one merged table set instead of one per bucket (the driver keeps every
    bucket's result until the end otherwise)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.merged: Tables | None = None
        self.pending: list[Tables] = []
        self.pending_rows = 0

    @staticmethod
    def _rows(t: Tables) -> int:
        return sum(len(k) for k, _ in t.values())

    def add(self, tables: Tables) -> None:
        with self.lock:
            self.pending.append(tables)
            self.pending_rows += self._rows(tables)
            held = self._rows(self.merged) if self.merged is not None else 0
            if self.pending_rows > max(held, 1 << 18):
                self._fold()

    def _fold(self) -> None:
        parts = ([self.merged] if self.merged is not None else []) + self.pending
        self.merged = merge_tables(parts) if parts else None
        self.pending, self.pending_rows = [], 0

    def result(self) -> Tables | None:
        with self.lock:
            self._fold()
            return self.merged


def duration_bins(d: np.ndarray) -> np.ndarray:
    """Log-bin of each duration in ns (see the module docstring)."""
    out = np.zeros(len(d), dtype=np.int64)
    pos = d > 0
    out[pos] = 1 + np.floor(BINS_PER_OCTAVE * np.log2(d[pos].astype(np.float64))).astype(np.int64)
    return out


def bin_centre_ns(b: np.ndarray) -> np.ndarray:
    """Duration (ns, float) reported for each bin: 0 for bin 0, else the geometric centre."""
    b = np.asarray(b, dtype=np.float64)
    return np.where(b <= 0, 0.0, np.exp2((b - 0.5) / BINS_PER_OCTAVE))


# --------------------------------------------------------------------------- the bucket


def _lowest_bit(x: np.ndarray) -> np.ndarray:
    """Index of the lowest set bit of each value (-1 for 0)."""
    x = x.astype(np.uint64)
    low = x & (~x + np.uint64(1))
    out = np.full(len(x), -1, dtype=np.int64)
    nz = low != 0
    out[nz] = np.log2(low[nz].astype(np.float64)).round().astype(np.int64)
    return out


def _empty(c: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((0, c), dtype=np.int64), np.zeros((0, w), dtype=np.int64)


def run_bucket(spec: PathSpec, rows: Any) -> Tables:
    """The count tables of one bucket (:class:`funnelkit.engine.drive.BucketRows`)."""
    n_units = rows.n_units
    u, t = rows.u.astype(np.int64), rows.t
    # tokens ------------------------------------------------------------------------
    sbits = None
    if spec.tokens == "event":
        tok = rows.event.astype(np.int64)
    elif spec.tokens == "attr":
        tok = rows.attr.astype(np.int64)
    else:
        sbits = rows.stage_bits()
        tok = _lowest_bit(sbits)
    # per-unit group -----------------------------------------------------------------
    if spec.group is not None:
        ugroup = np.asarray(rows.unit_values(spec.group, -1), dtype=np.int64)
    elif spec.group_from_attr:
        at = rows.attr.astype(np.int64)
        has = np.flatnonzero(at >= 0)
        ugroup = np.full(n_units, -1, dtype=np.int64)
        if len(has):
            fu, fi = np.unique(u[has], return_index=True)
            ugroup[fu] = at[has[fi]]
    else:
        ugroup = np.zeros(n_units, dtype=np.int64)
    keep = (tok >= 0) & (ugroup[u] >= 0)
    if spec.ranged:
        lo = np.asarray(rows.unit_values(spec.lo, np.iinfo(np.int64).min), dtype=np.int64)[u]
        hi = np.asarray(rows.unit_values(spec.hi, np.iinfo(np.int64).max), dtype=np.int64)[u]
        keep &= (t >= lo) if spec.lo_incl else (t > lo)
        keep &= (t <= hi) if spec.hi_incl else (t < hi)
    # anchors --------------------------------------------------------------------------
    abits = None
    if spec.start_mask or spec.end_mask:
        if spec.anchor_bits == "stage":
            abits = (sbits if sbits is not None else rows.stage_bits()).astype(np.uint64)
        else:
            abits = rows.bits.astype(np.uint64)
    sel = np.flatnonzero(keep)
    u, t, tok = u[sel], t[sel], tok[sel]
    if abits is not None:
        abits = abits[sel]
    if spec.tokens != "event" and len(u):
        # ties at one time ordered by the token's value (the driver ordered them by event)
        perm = np.lexsort((tok, t, u))
        u, t, tok = u[perm], t[perm], tok[perm]
        if abits is not None:
            abits = abits[perm]
    sflag = eflag = None
    if abits is not None:
        sflag = (abits & np.uint64(spec.start_mask)) != 0 if spec.start_mask else None
        eflag = (abits & np.uint64(spec.end_mask)) != 0 if spec.end_mask else None
    # collapse immediate repeats (a run's anchor flags are the OR of its rows') --------
    if spec.collapse and len(u) > 1:
        head = np.ones(len(u), dtype=bool)
        head[1:] = (u[1:] != u[:-1]) | (tok[1:] != tok[:-1])
        runs = np.flatnonzero(head)
        if sflag is not None:
            sflag = np.maximum.reduceat(sflag.astype(np.uint8), runs).astype(bool)
        if eflag is not None:
            eflag = np.maximum.reduceat(eflag.astype(np.uint8), runs).astype(bool)
        u, t, tok = u[runs], t[runs], tok[runs]
    n = len(u)
    ar_u = np.arange(n_units, dtype=np.int64)
    ustart = np.searchsorted(u, ar_u, side="left")
    uend = np.searchsorted(u, ar_u, side="right")
    out: Tables = {}
    want = spec.want
    if "trans" in want:
        out.update(_transitions(u, t, tok, ugroup, n_units))
    if "frictions" in want:
        out.update(_frictions(rows, sel, u, tok, ugroup, n_units))
    if not {"paths", "hist"} & set(want):
        return out
    # path occurrences: (unit, p0, p1) -----------------------------------------------
    L = spec.length
    mode = spec.align
    if spec.ranged:
        ou = np.flatnonzero(ugroup >= 0)
        p0, p1 = ustart[ou], uend[ou]
    elif sflag is None and eflag is None:
        if spec.occurrences == "first":
            ou = np.flatnonzero(uend > ustart)
            p0, p1 = ustart[ou], uend[ou]
        else:  # every n-gram: the windows of exactly L tokens; a shorter unit, its whole path
            i = np.arange(n, dtype=np.int64)
            ok = (i + L <= uend[u]) | ((i == ustart[u]) & (uend[u] - ustart[u] < L))
            p0 = i[ok]
            ou = u[p0]
            p1 = uend[ou]
    elif eflag is None:  # start only
        s = np.flatnonzero(sflag)
        if spec.occurrences == "first":
            s = s[np.unique(u[s], return_index=True)[1]]
        ou, p0 = u[s], s
        p1 = uend[ou]
    elif sflag is None:  # end only
        e = np.flatnonzero(eflag)
        if spec.occurrences == "first":
            e = e[np.unique(u[e], return_index=True)[1]]
        ou, p1 = u[e], e + 1
        p0 = ustart[ou]
        mode = "tail"
    else:  # between
        s = np.flatnonzero(sflag)
        idx = np.where(eflag, np.arange(n, dtype=np.int64), n)
        nxt = np.append(np.minimum.accumulate(idx[::-1])[::-1], n)  # first end at or after i
        after = nxt[s + 1]
        ok = after < uend[u[s]]
        s, after = s[ok], after[ok]
        if spec.occurrences == "first":
            f = np.unique(u[s], return_index=True)[1]
            s, after = s[f], after[f]
        ou, p0, p1 = u[s], s, after + 1
        mode = "between"
    m = len(ou)
    if "paths" in want:
        pu = _sorted_unique(np.sort(ou[p1 > p0]) if spec.ranged else np.sort(ou))
        tot_k = np.concatenate([ugroup[pu], ugroup[ou]])
        tot_v = np.zeros((len(tot_k), 2), dtype=np.int64)
        tot_v[:len(pu), 0] = 1
        tot_v[len(pu):, 1] = 1
        out["ptot"] = groupsum(tot_k[:, None], tot_v) if len(tot_k) else _empty(1, 2)
    ar = np.arange(L, dtype=np.int64)
    if mode == "tail":
        idx = p1[:, None] - L + ar
        valid = idx >= p0[:, None]
        first = np.maximum(p0, p1 - L)
        elided = np.zeros(m, dtype=np.int64)
    else:
        idx = p0[:, None] + ar
        elided = ((p1 - p0) > L).astype(np.int64) if mode == "between" else np.zeros(m, dtype=np.int64)
        if mode == "between" and L > 1:
            idx[:, L - 1] = np.where(elided == 1, p1 - 1, p0 + L - 1)
        valid = idx < p1[:, None]
        first = p0
    last = np.where(elided == 1, p1 - 1, np.minimum(p1, p0 + L) - 1) if mode != "tail" else p1 - 1
    safe = np.clip(idx, 0, max(n - 1, 0))
    M = np.where(valid, tok[safe] if n else -1, -1)
    g = ugroup[ou]
    if "paths" in want or "hist" in want:
        keys = np.column_stack([g, M, elided]) if m else np.zeros((0, L + 2), dtype=np.int64)
        if "paths" in want:
            out["paths"] = _count(keys, ou, n_units) if m else _empty(L + 2, 2)
        if "hist" in want:
            nonempty = np.flatnonzero(p1 > p0)
            if len(nonempty) and n:
                d = t[last[nonempty]] - t[first[nonempty]]
                out["hist"] = _tally(np.column_stack([keys[nonempty], duration_bins(d)]))
            else:
                out["hist"] = _empty(L + 3, 1)
    return out


def _transitions(u: np.ndarray, t: np.ndarray, tok: np.ndarray, ugroup: np.ndarray, n_units: int) -> Tables:
    nxt = np.flatnonzero(u[1:] == u[:-1]) if len(u) > 1 else np.zeros(0, dtype=np.int64)
    keys = np.column_stack([ugroup[u[nxt]], tok[nxt], tok[nxt + 1]]) if len(nxt) else np.zeros((0, 3), np.int64)
    out: Tables = {"trans": _count(keys, u[nxt], n_units) if len(nxt) else _empty(3, 2)}
    if len(nxt):
        d = t[nxt + 1] - t[nxt]
        out["trans_hist"] = _tally(np.column_stack([keys, duration_bins(d)]))
    else:
        out["trans_hist"] = _empty(4, 1)
    # per-group units with at least one row (the step matrix's and sources' denominators)
    present = _sorted_unique(u)
    out["units"] = groupsum(ugroup[present][:, None], np.ones((len(present), 1), dtype=np.int64)) \
        if len(present) else _empty(1, 1)
    return out


def _frictions(rows: Any, sel: np.ndarray, u: np.ndarray, tok: np.ndarray, ugroup: np.ndarray,
               n_units: int) -> Tables:
    """Distinct units per (group, kind, code): kind 0 = event name, 1 = attribute value."""
    keys = [np.column_stack([ugroup[u], np.zeros(len(u), np.int64), tok])]
    uu = [u]
    if rows.attr is not None and rows.event is not None:
        # tokens are events; the attribute of the same rows (before collapsing)
        ru = rows.u.astype(np.int64)[sel]
        at = rows.attr.astype(np.int64)[sel]
        ok = at >= 0
        keys.append(np.column_stack([ugroup[ru[ok]], np.ones(int(ok.sum()), np.int64), at[ok]]))
        uu.append(ru[ok])
    k = np.concatenate(keys)
    un = np.concatenate(uu)
    if not len(k):
        return {"frictions": _empty(3, 2)}
    return {"frictions": _count(k, un, n_units)}


def unit_series(values: np.ndarray, index: pd.Index) -> pd.Series:
    """A per-unit input for :attr:`PathSpec.lo` / ``hi`` / ``group`` (by unit id)."""
    return pd.Series(np.asarray(values), index=index)
