"""The plan: a journey's rules evaluated block by block into rule bits (private).

Every rule a computation needs gets one bit:

* one bit per stage of the journey (hidden ``after()`` targets included) for its plain
  rules (event names, globs, regexes, ``where=`` conditions);
* one bit per ``repeat()`` / ``after()`` rule, for the rule it wraps (which events could
  be "the n-th purchase" or "usage after purchase"); the rule itself needs the unit's
  whole sorted history and is evaluated in the bucket (:mod:`.funnel_fn`);
* one bit per exclusion rule.

A row's bits are the OR of the rules it matches; a row may match several (overlapping
funnel steps). Name rules are evaluated once per block dictionary (a lookup table over
the block's event names), ``where=`` rules on the block's property columns. Rows with
no bit are dropped at once (a strict funnel keeps every row: any event breaks
adjacency). The plan also gives each row its *position*: the first funnel step it can
fill (``K`` for none), the tie-break of events at the same time.

The plan then cuts every block in one pass (:meth:`Plan.cut`, the only per-block step of
the driver, :func:`funnelkit.engine.drive.drive`): it marks the block's units present,
collects the event names used, folds the per-unit attributes that need every row (an
experiment's variant, first and last touch) into per-thread accumulators, keeps the rows
that matter with the columns the bucket function asks for (rule bits, positions, event
and attribute codes, input positions), optionally thins them (:mod:`.thin`) and splits
them by unit range into bucket parts (:func:`_split`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from ..errors import ParameterError
from ..journey.rules import Rule
from . import thin as _thin
from .sources import Block

__all__ = ["Cut", "Plan", "RuleBits", "rule_bits"]

_I64_MAX = np.iinfo(np.int64).max
_I64_MIN = np.iinfo(np.int64).min
#: Up to this many attribute values, a range is folded as per-value "seen" flags.
_SEEN_MAX = 16


@dataclass(frozen=True)
class RuleBits:
    """Which bit stands for which rule (see the module docstring)."""

    n_stages: int  # stages of the journey, hidden ones included: bits 0 .. n_stages-1
    plain: tuple[tuple[int, Rule], ...]  # (stage bit, rule)
    special: tuple[tuple[int, int, Any], ...]  # (bit, stage, RepeatRule | AfterRule)
    excl: tuple[tuple[int, int, Rule], ...]  # (bit, kernel symbol, rule)
    step_pos: np.ndarray  # int16 per bit: the first funnel step it can fill (K: none)
    n_bits: int

    @property
    def dtype(self) -> Any:
        for dt in (np.uint8, np.uint16, np.uint32, np.uint64):
            if self.n_bits <= np.iinfo(dt).bits:
                return dt
        raise AssertionError  # pragma: no cover - checked in rule_bits

    @property
    def stage_mask(self) -> int:
        return (1 << self.n_stages) - 1

    def special_by_stage(self) -> dict[int, list[tuple[int, Any]]]:
        out: dict[int, list[tuple[int, Any]]] = {}
        for bit, si, r in self.special:
            out.setdefault(si, []).append((bit, r))
        return out


def rule_bits(journey: Any, steps: np.ndarray, excl: Sequence[tuple[int, int, int]],
              excl_rules: Sequence[Rule]) -> RuleBits:
    """Number the rules of ``journey`` (and the exclusions) as bits."""
    stages = journey._all_stages()
    n = len(stages)
    K = len(steps)
    first_step = np.full(n, K, dtype=np.int16)
    for k in range(K - 1, -1, -1):
        first_step[int(steps[k])] = k
    plain: list[tuple[int, Rule]] = []
    special: list[tuple[int, int, Any]] = []
    pos: list[int] = [int(first_step[si]) for si in range(n)]
    bit = n
    for si, st in enumerate(stages):
        for r in st.rules:
            if isinstance(r, Rule):
                plain.append((si, r))
            else:
                special.append((bit, si, r))
                pos.append(int(first_step[si]))
                bit += 1
    ex: list[tuple[int, int, Rule]] = []
    for (sym, _, _), r in zip(excl, excl_rules):
        ex.append((bit, int(sym), r))
        pos.append(K)
        bit += 1
    if bit > 64:
        raise ParameterError(
            f"This journey and its exclusions have {bit} rules; funnelkit evaluates at most 64 "
            "at once. Fix: merge event lists into fewer rules (one stage may list many events)."
        )
    return RuleBits(n, tuple(plain), tuple(special), tuple(ex), np.asarray(pos, dtype=np.int16), bit)


class _PropsView:
    """The block's ``where=`` columns as ``Rule._row_mask`` reads a frame."""

    def __init__(self, props: Any) -> None:
        self._p = props
        self.columns = list(props)

    def __getitem__(self, col: Any) -> Any:
        return self._p[col]


class Cut(NamedTuple):
    """One block cut by :meth:`Plan.cut`."""

    parts: list[Any]  # per bucket: a tuple of arrays (see Plan.part_dtypes), None where empty
    used: set[str] | None  # event names of the block's rows (with collect_used)
    matched: int  # rows matching at least one rule (0 without rules)
    kept: int  # rows kept (before thinning)
    t_min: int  # earliest time of the block (ns); int64 max when empty
    t_max: int  # latest time of the block (ns); int64 min when empty


@dataclass
class Plan:
    """Per-block evaluation of the rules, and the split of kept rows into buckets.

    What a bucket part carries, in this order (:meth:`part_dtypes`): each row's unit
    offset within its bucket and its time (ns), then its rule bits and position (with
    ``bits``; the position only with ``carry_pos``), its event code (``event_codes``), its
    attribute code (``attr_mode="step"``) and its input position (``carry_rows``).
    """

    bits: RuleBits | None  # None: no rules (no bits, no positions; every row kept)
    keep_all: bool  # keep rows that match no rule (strict funnels, paths, retention)
    lo: int
    shift: int  # bucket b holds ids lo + [b << shift, (b + 1) << shift)
    n_buckets: int
    present: np.ndarray  # bool over hi - lo + 1 ids
    # the attribute: folded per unit over every row ("range": min/max code; "first_touch"/
    # "last_touch": the code at the earliest/latest time with one), carried per kept row
    # ("step", int32, -1 null), or neither (None)
    attr_mode: str | None = None
    carry_rows: bool = False  # carry each kept row's input position (stage assignment)
    k_steps: int = 0  # K, the number of funnel steps (the position of rows that fill none)
    n_attr_values: int = 0  # distinct attribute values (their codes are 0 .. n-1)
    carry_pos: bool = True  # with bits: carry each row's position
    # carry each row's event code: the codes of a block's dictionary (one int32 per name)
    event_codes: Callable[[tuple[str, ...]], np.ndarray] | None = None
    collect_used: bool = True  # collect the names of the events the rows hold
    thin: Callable[[np.ndarray], np.ndarray] | None = None  # see .thin
    _luts: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray, list[Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _acc: list[tuple[np.ndarray, ...]] = field(default_factory=list)  # one per thread
    _local: threading.local = field(default_factory=threading.local)

    # ----------------------------------------------------------------- layout
    @property
    def local_dtype(self) -> Any:
        """dtype of a row's id offset within its bucket."""
        return np.uint16 if self.shift <= 16 else (np.uint32 if self.shift <= 32 else np.int64)

    def part_dtypes(self) -> list[Any]:
        """dtypes of the arrays of a bucket part, in order."""
        out = [self.local_dtype, np.int64]
        if self.bits is not None:
            out.append(self.bits.dtype)
            if self.carry_pos:
                out.append(np.int16)
        if self.event_codes is not None:
            out.append(np.int32)
        if self.attr_mode == "step":
            out.append(np.int32)
        if self.carry_rows:
            out.append(np.int64)
        return out

    # ----------------------------------------------------------------- rules
    def luts(self, cats: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        """Per event name of a block: bits of its name-only rules, its position, and the
        ``where=`` rules with the names they apply to."""
        got = self._luts.get(cats)
        if got is not None:
            return got
        rb = self.bits
        assert rb is not None
        dt = rb.dtype
        lut = np.zeros(len(cats) + 1, dtype=dt)
        where: list[Any] = []
        entries = [(si, r) for si, r in rb.plain] + [(b, r.rule) for b, _, r in rb.special] \
            + [(b, r) for b, _, r in rb.excl]
        for b, r in entries:
            m = r._match_names(cats)
            if r.where:
                if m.any():
                    where.append((b, r, np.concatenate([m, [False]]), int(rb.step_pos[b])))
            else:
                lut[:-1][m] |= dt(1 << b)
        pos = np.full(len(cats) + 1, self.k_steps, dtype=np.int16)
        for b in range(rb.n_bits):
            if int(rb.step_pos[b]) < self.k_steps:
                hit = (lut & dt(1 << b)) != 0
                pos[hit] = np.minimum(pos[hit], rb.step_pos[b])
        got = (lut, pos, where)
        with self._lock:
            self._luts[cats] = got
        return got

    def evaluate(self, blk: Block, *, with_pos: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """Bits and position of every row of the block (no position when not ``with_pos``)."""
        lut, pos_lut, where = self.luts(blk.cats)
        ev = blk.ev
        bits = lut[ev]
        pos = pos_lut[ev] if with_pos else None
        if where:
            view = _PropsView(blk.props)
            dt = self.bits.dtype  # type: ignore[union-attr]
            for b, rule, name_mask, bpos in where:
                m = rule._row_mask(view, name_mask, ev)
                if m.any():
                    bits[m] |= dt(1 << b)
                    if pos is not None:
                        np.minimum(pos, np.where(m, bpos, self.k_steps).astype(np.int16), out=pos)
        return bits, pos

    # ----------------------------------------------------------------- attributes
    def _thread_acc(self, make: Any) -> tuple[np.ndarray, ...]:
        acc = getattr(self._local, "acc", None)
        if acc is None:
            acc = self._local.acc = make()
            with self._lock:
                self._acc.append(acc)
        return acc

    def _fold_range(self, off: np.ndarray, g: np.ndarray) -> None:
        n = len(self.present)
        if 0 < self.n_attr_values <= _SEEN_MAX:
            # few values (an experiment's arms): which values each unit was seen with, one
            # scatter per value -- ufunc.at would take ~20x longer
            (seen,) = self._thread_acc(lambda: (np.zeros((self.n_attr_values, n), dtype=bool),))
            for c in range(self.n_attr_values):
                seen[c][off[g == c]] = True
            return
        vmin, vmax = self._thread_acc(lambda: (np.full(n, _I64_MAX, np.int64), np.full(n, -1, np.int64)))
        ok = np.flatnonzero(g >= 0)
        np.minimum.at(vmin, off[ok], g[ok])
        np.maximum.at(vmax, off[ok], g[ok])

    def _fold_touch(self, off: np.ndarray, t: np.ndarray, g: np.ndarray) -> None:
        """Best (time, value) per unit: earliest (latest for last touch) time, smallest value."""
        first = self.attr_mode == "first_touch"
        n = len(self.present)
        edge = _I64_MAX if first else _I64_MIN
        bt, bc = self._thread_acc(lambda: (np.full(n, edge, np.int64), np.full(n, _I64_MAX, np.int64)))
        ok = np.flatnonzero(g >= 0)
        if not len(ok):
            return
        u, tt, code = off[ok], t[ok], g[ok]
        before = bt[u]
        (np.minimum if first else np.maximum).at(bt, u, tt)
        now = bt[u]
        bc[u[now != before]] = _I64_MAX  # a better time: forget the value of the old one
        at_best = now == tt
        np.minimum.at(bc, u[at_best], code[at_best])

    def attributes(self, offsets: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Per unit id (or per id at ``offsets``): (code, None) for first/last touch, (min,
        max) codes for a range; -1 for none. The per-thread accumulators are merged into
        the first one."""
        n = len(self.present) if offsets is None else len(offsets)

        def take(a: np.ndarray) -> np.ndarray:
            return a if offsets is None else a[..., offsets]  # gathered before widening

        if self.attr_mode == "range":
            if not self._acc:
                return np.full(n, -1, np.int64), np.full(n, -1, np.int64)
            if len(self._acc[0]) == 1:  # per-value "seen" flags
                seen = self._acc[0][0]
                for (other,) in self._acc[1:]:
                    seen |= other
                seen = take(seen)
                none = ~seen.any(axis=0)
                vmin = np.argmax(seen, axis=0).astype(np.int64, copy=False)
                vmin[none] = -1
                vmax = (len(seen) - 1 - np.argmax(seen[::-1], axis=0)).astype(np.int64, copy=False)
                vmax[none] = -1
                return vmin, vmax
            vmin, vmax = self._acc[0]
            for a, b in self._acc[1:]:
                np.minimum(vmin, a, out=vmin)
                np.maximum(vmax, b, out=vmax)
            vmin = vmin.copy() if offsets is None else take(vmin)
            vmax = take(vmax)
            vmin[vmax < 0] = -1
            return vmin, vmax
        first = self.attr_mode == "first_touch"
        if not self._acc:
            return np.full(n, -1, np.int64), None
        bt, bc = self._acc[0]
        for t, c in self._acc[1:]:
            better = (t < bt) if first else (t > bt)
            better |= (t == bt) & (c < bc)
            bt[better], bc[better] = t[better], c[better]
        bc = take(bc)
        if offsets is None:
            return np.where(bc == _I64_MAX, -1, bc), None
        bc[bc == _I64_MAX] = -1  # a copy already
        return bc, None

    def unit_attributes(self, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """:meth:`attributes` of the units at ``offsets`` (the present ones, in code order);
        the per-thread accumulators are released (call once, after the last block)."""
        out = self.attributes(offsets)
        self._acc = []
        self._local = threading.local()  # the pool threads' references go with it
        return out

    # ----------------------------------------------------------------- cut
    def cut(self, blk: Block) -> Cut:
        """One block, in one pass: mark its units present, collect the names used, fold the
        attribute, keep the rows that matter with the columns asked for, thin them, split
        them by bucket (input order kept within a bucket). See :class:`Cut`."""
        rb = self.bits
        bits = pos = None
        if rb is not None:
            bits, pos = self.evaluate(blk, with_pos=self.carry_pos)
        used = None
        if self.collect_used:
            used_mask = np.zeros(len(blk.cats), dtype=bool)
            used_mask[blk.ev] = True
            used = {c for c, m in zip(blk.cats, used_mask) if m}
        off = blk.unit - self.lo if self.lo else blk.unit
        self.present[off] = True  # every row marks its unit present, kept or not
        t = blk.t
        n = len(t)
        f = blk.t_factor
        t_min, t_max = (int(t.min()) * f, int(t.max()) * f) if n else (_I64_MAX, _I64_MIN)
        g = blk.attr
        if g is not None and self.attr_mode in ("range", "first_touch", "last_touch"):
            if self.attr_mode == "range":
                self._fold_range(off, g)
            else:
                self._fold_touch(off, t * f if f != 1 else t, g)
        keep = None
        matched = 0
        if bits is not None:
            hit = bits != 0
            matched = int(np.count_nonzero(hit))
            if not self.keep_all and matched < n:
                keep = np.flatnonzero(hit)
                off, t, bits = off[keep], t[keep], bits[keep]
                if pos is not None:
                    pos = pos[keep]
        if f != 1:
            t = t * f  # range checked by the source
        cols: list[np.ndarray] = [t]
        if bits is not None:
            cols.append(bits)
            if pos is not None:
                cols.append(pos)
        if self.event_codes is not None:
            cols.append(self.event_codes(blk.cats)[blk.ev if keep is None else blk.ev[keep]])
        if self.attr_mode == "step":
            a = g if g is not None else np.full(n, -1, np.int64)
            cols.append((a if keep is None else a[keep]).astype(np.int32))
        n_keys = len(cols)
        if self.carry_rows:
            r = np.arange(blk.row0, blk.row0 + n, dtype=np.int64)
            cols.append(r if keep is None else r[keep])
        kept = len(off)
        if self.thin is not None and len(off) > 1:
            w = np.asarray(self.thin(cols[0]), dtype=np.int64)
            cells, lo, span = _thin.parts_width(1 << self.shift, w, cols[1:n_keys])
            if cells <= _thin.SCRATCH_CELLS:  # groups numbered densely per bucket part, in cache
                parts = _thin.split_thinned(off, cols, n_keys, w, self.shift, self.n_buckets,
                                            self.local_dtype, lo, span)
                return Cut(parts, used, matched, kept, t_min, t_max)
            sel = _thin.thin_block(off, cols[0], cols[1:n_keys], w)  # many codes: hash the block
            if sel is not None:
                off = off[sel]
                cols = [c[sel] for c in cols]
        return Cut(_split(off, cols, self.shift, self.n_buckets, self.local_dtype), used, matched, kept,
                   t_min, t_max)

    def split(self, blk: Block) -> tuple[list[Any], set[str], int, int]:
        """:meth:`cut`, as ``(parts, names used, rows matching a rule, latest time)``."""
        c = self.cut(blk)
        return c.parts, c.used if c.used is not None else set(), c.matched, c.t_max


def _split(off: np.ndarray, cols: list[np.ndarray], shift: int, n_buckets: int,
           local_dtype: Any) -> list[Any]:
    """Rows (unit offsets and columns) cut by unit range into bucket parts, input order kept:
    ``(offset within the bucket, *cols)`` per bucket, None where empty."""
    out: list[Any] = [None] * n_buckets
    if n_buckets == 1:
        out[0] = (off.astype(local_dtype), *cols)
        return out
    b = (off >> shift).astype(np.uint16 if n_buckets <= 1 << 16 else np.int64)
    perm = np.argsort(b, kind="stable")  # radix sort for 16-bit keys; keeps input order
    cnt = np.bincount(b, minlength=n_buckets)
    bounds = np.concatenate(([0], np.cumsum(cnt)))
    loc = off[perm]
    loc &= (1 << shift) - 1  # offset within the bucket
    cols = [loc.astype(local_dtype)] + [c[perm] for c in cols]
    for j in np.flatnonzero(cnt):
        a, z = int(bounds[j]), int(bounds[j + 1])
        out[j] = tuple(c[a:z] for c in cols)
    return out
