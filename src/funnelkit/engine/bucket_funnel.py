"""The funnel bucket function: one sorted bucket of whole units -> per-unit funnel results (private).

Input: a bucket's rows (bucket-local unit codes, ns times, rule bits, positions and,
for ``attribution="step:N"``, attribute codes), in input order (:func:`run_bucket`) or
sorted by the driver (:func:`run_sorted`). Steps:

1. sort by (unit, time, position, rule bits, attribute) -- value keys break the last
   ties, so no result depends on the input's row order (:func:`.buckets.order`);
2. evaluate ``repeat()`` and ``after()`` rules, which need each unit's whole sorted
   history (:func:`stage_bits`); they take precedence over plain rules, as in
   :meth:`funnelkit.Journey.assign_stages`;
3. turn stage bits into the kernels' symbols. A row matching one funnel step (the
   usual case) is one kernel row. A row matching several (overlapping steps:
   ``pageview`` and ``pageview where url=/checkout``; one event in two steps) becomes
   one *role row* per step symbol, each sorted at the position of the step it plays,
   with its event id, so the kernel lets one event fill at most one step of a chain;
4. run the mode's kernel (:mod:`.kernels`): ordered, strict (PostHog's), any-order, or
   ClickHouse's walk (``mode="uninterrupted"`` and the ``windowFunnel`` options, rows
   in ClickHouse's order: outside-funnel rows first at their timestamp); with optional
   steps, the required steps' funnel and then each optional step's event
   (:func:`_with_optional`);
5. read the ``by=`` attribute at the reported attempt's step-N event, or at every step
   event (``all_step_attrs``: first/last touch and ``all_events`` attribution).

Results are per unit of the bucket; buckets are independent, so the engine runs them
on all cores and concatenates their outputs in unit order.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..journey.rules import RepeatRule, _after_first, _nth_in_unit
from . import kernels
from .buckets import order
from .plan import RuleBits

__all__ = ["FunnelKernel", "code_lut", "stage_bits", "run_bucket", "run_sorted"]


@dataclass(frozen=True)
class FunnelKernel:
    """What the funnel bucket function computes (one per funnel call)."""

    mode: str  # "ordered", "strict", "uninterrupted", "any_order"
    window: int | None  # ns
    window_from: str
    steps: np.ndarray  # kernel symbol (stage index) of each step
    exclude: tuple[tuple[int, int, int], ...]
    bits: RuleBits
    after_order: tuple[int, ...]  # stage indices, every after() target before its users
    stage_of: dict[str, int]  # stage name -> index
    step_names: tuple[str, ...]
    start_ns: int | None = None
    end_ns: int | None = None
    step_attr: int | None = None  # 0-based step whose event's attribute is read
    all_step_attrs: bool = False  # read the attribute on every step event of the reported attempt
    code_lut: np.ndarray | None = None  # see code_lut()
    # ClickHouse windowFunnel modes (kernels.clickhouse_funnel)
    reuse_events: bool = False  # one event may fill several steps (no strict_once)
    increasing_times: bool = False  # strict_increase
    stop_at_repeat: bool = False  # strict_deduplication
    out_of_order: str = "stop"  # with mode="uninterrupted": "ignore" is allow_reentry
    optional: tuple[bool, ...] = ()  # per step: may be skipped (fk.optional)

    @property
    def k(self) -> int:
        return len(self.steps)

    @property
    def clickhouse(self) -> bool:
        """Whether the funnel runs ClickHouse's walk (kernels.clickhouse_funnel)."""
        return (self.mode == "uninterrupted" or self.reuse_events or self.increasing_times
                or self.stop_at_repeat)

    @functools.cached_property
    def rpos_of(self) -> np.ndarray:
        """Step position of each kernel symbol (``K``: none; the last entry is symbol -1)."""
        n_sym = max(self.bits.n_stages, max((s for _, s, _ in self.bits.excl), default=0) + 1)
        out = np.full(n_sym + 1, self.k, dtype=np.int16)
        for k in range(self.k - 1, -1, -1):
            out[int(self.steps[k])] = k
        return out


def stage_bits(bits: np.ndarray, u: np.ndarray, rb: RuleBits, after_order: tuple[int, ...],
               stage_of: dict[str, int]) -> tuple[np.ndarray, np.ndarray | None]:
    """Final stage bits of sorted rows, and which rows a repeat()/after() rule picked.

    Plain rules give their stage's bit. Then, in dependency order, ``repeat(e, n)``
    picks the n-th row of its unit matching ``e`` and ``after(s, e)`` the rows matching
    ``e`` strictly after the unit's first row of stage ``s`` (in sorted order); a picked
    row leaves its plain stages for the rule's stage.
    """
    dt = bits.dtype.type
    cur = bits & dt(rb.stage_mask)
    if not rb.special:
        return cur, None
    by_stage = rb.special_by_stage()
    picked = np.zeros(len(bits), dtype=bool)
    hits = np.zeros(len(bits), dtype=np.int16)
    for si in after_order:
        for bit, r in by_stage.get(si, []):
            m = (bits & dt(1 << bit)) != 0
            if isinstance(r, RepeatRule):
                sel = _nth_in_unit(m, u, r.nth)
            else:
                tgt = stage_of[r.stage]
                sel = m & _after_first((cur & dt(1 << tgt)) != 0, u)
            if sel.any():
                fresh = sel & ~picked
                cur[fresh] = 0  # repeat/after take precedence over plain rules
                cur[sel] |= dt(1 << si)
                picked |= sel
                hits += sel
    return cur, hits


def _symbol_codes(steps: np.ndarray, rb: RuleBits, cur: np.ndarray,
                  bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kernel symbol per row (-1: none; an exclusion's symbol for a row in no step), and
    whether the row plays two steps or more."""
    dt = cur.dtype.type
    syms = sorted(set(int(s) for s in steps))
    mask = 0
    for s in syms:
        mask |= 1 << s
    fb = cur & dt(mask)
    multi = (fb & (fb - dt(1))) != 0
    code = np.full(len(cur), -1, dtype=np.int16)
    for s in syms:
        code[fb == dt(1 << s)] = s
    for bit, sym, _ in rb.excl:
        m = (bits & dt(1 << bit)) != 0
        m &= (code < 0) & ~multi
        code[m] = sym
    return code, multi


def code_lut(steps: np.ndarray, rb: RuleBits) -> np.ndarray | None:
    """:func:`_symbol_codes` of every value the rule bits can take (-2: two steps), when
    the symbols depend on the bits alone (at most 16 bits, no repeat()/after())."""
    if rb.n_bits > 16 or rb.special:
        return None
    v = np.arange(1 << rb.n_bits, dtype=rb.dtype)
    code, multi = _symbol_codes(steps, rb, v & v.dtype.type(rb.stage_mask), v)
    code[multi] = -2
    return code


def _symbols(fk: FunnelKernel, cur: np.ndarray, bits: np.ndarray) -> tuple[np.ndarray, bool]:
    """Kernel symbol per row when no row plays two steps (else ``overlap=True``)."""
    if fk.code_lut is not None:  # one gather instead of a pass per step
        code = fk.code_lut[bits]
        return code, bool((code == -2).any())
    code, multi = _symbol_codes(fk.steps, fk.bits, cur, bits)
    return code, bool(multi.any())


def _overlap_error(fk: FunnelKernel, cur: np.ndarray) -> ParameterError:
    dt = cur.dtype.type
    syms = sorted(set(int(s) for s in fk.steps))
    names = [n for n, s in zip(fk.step_names, fk.steps.tolist())]
    both = []
    for a in syms:
        for b in syms:
            if a < b and ((cur & dt(1 << a)) != 0).__and__((cur & dt(1 << b)) != 0).any():
                na = names[fk.steps.tolist().index(a)]
                nb = names[fk.steps.tolist().index(b)]
                both.append(f"{na!r} and {nb!r}")
    what = "; ".join(both[:3])
    if fk.mode != "ordered":
        fix = "use mode='ordered'"
    else:
        fix = "use window_from='entry' (the default)"
    return ParameterError(
        f"Some events match several steps of this funnel ({what}). Overlapping steps are "
        f"supported by ordered funnels with the window measured from entry; mode={fk.mode!r}, "
        f"window_from={fk.window_from!r} cannot tell which step such an event plays. Fix: {fix}, "
        "or make the steps' rules disjoint (e.g. a where= condition)."
    )


def _roles(fk: FunnelKernel, u: np.ndarray, t: np.ndarray, cur: np.ndarray,
           bits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Role rows: one per (row, step it can play), coded by step position.

    Returns the rows (indices into the sorted bucket) and codes of the role rows, sorted
    by (unit, time, step position, which later steps the event could also play, row),
    and the kernel's steps (``0 .. K-1``): role code ``k`` plays step ``k``, exclusion
    ``e`` is coded ``K + e``. The fourth key makes the chain, at one instant, take for a
    step the event it needs least afterwards (steps ``[a], [a, c], [a]`` on a, a, c at one
    time: ``c`` plays step 2 and both ``a`` fill steps 1 and 3, as ClickHouse finds).
    """
    dt = cur.dtype.type
    K = fk.k
    rows_l, code_l, later_l = [], [], []
    member = [(cur & dt(1 << int(fk.steps[k]))) != 0 for k in range(K)]
    # later[k][r]: which steps after k row r could also play, the nearest as the highest
    # bit; at one instant a chain prefers, for step k, the event it needs least soon
    later = [np.zeros(len(cur), dtype=np.uint64) for _ in range(K)]
    for k in range(K - 2, -1, -1):
        later[k] = (later[k + 1] >> np.uint64(1)) | (member[k + 1].astype(np.uint64) << np.uint64(62))
    step_any = np.zeros(len(cur), dtype=bool)
    for k in range(K):
        r = np.flatnonzero(member[k])
        step_any[r] = True
        rows_l.append(r)
        code_l.append(np.full(len(r), k, dtype=np.int16))
        later_l.append(later[k][r])
    for e, (bit, _, _) in enumerate(fk.bits.excl):
        r = np.flatnonzero(((bits & dt(1 << bit)) != 0) & ~step_any)
        step_any[r] = True
        rows_l.append(r)
        code_l.append(np.full(len(r), K + e, dtype=np.int16))
        later_l.append(np.zeros(len(r), dtype=np.uint64))
    rows = np.concatenate(rows_l)
    code = np.concatenate(code_l)
    lat = np.concatenate(later_l)
    rp = np.minimum(code, K)
    o = np.lexsort((rows, lat, rp, t[rows], u[rows]))
    return rows[o], code[o], np.arange(K, dtype=np.int64)


def _repeats(steps: np.ndarray) -> bool:
    """Whether a symbol plays several steps (``[a, a, b]``, ``[a, b, a]``)."""
    return len(set(steps.tolist())) < len(steps)


def run_bucket(fk: FunnelKernel, u: np.ndarray, t: np.ndarray, bits: np.ndarray, pos: np.ndarray,
               attr: np.ndarray | None, n_units: int) -> tuple[Any, np.ndarray | None]:
    """The funnel on one bucket (see the module docstring).

    ``u`` are bucket-local unit codes ``0 .. n_units-1``. Returns the kernel's result
    (``step_pos`` relative to the kernel rows: not meaningful outside) and, with
    ``fk.step_attr``, each unit's attribute code on its reported step-N event (-1 none).
    """
    ties = [bits] if attr is None else [bits, attr]
    perm = order(u, t, pos, ties, n_units=n_units, n_pos=fk.k + 1)
    if perm is not None:
        u, t, bits = u[perm], t[perm], bits[perm]
        if attr is not None:
            attr = attr[perm]
    return run_sorted(fk, u, t, bits, attr, n_units)


def run_sorted(fk: FunnelKernel, u: np.ndarray, t: np.ndarray, bits: np.ndarray, attr: np.ndarray | None,
               n_units: int) -> tuple[Any, np.ndarray | None]:
    """:func:`run_bucket` on rows already sorted by (unit, time, position, rule bits, attribute),
    as the driver hands them to a bucket function (:class:`.drive.BucketRows` with ``steps=``)."""
    cur, _ = stage_bits(bits, u, fk.bits, fk.after_order, fk.stage_of)
    if any(fk.optional):
        res = _with_optional(fk, u, t, cur, bits, n_units)
        return res, _step_attr(fk, res, None, attr, n_units)
    res, rows = _kernel(fk, u, t, cur, bits, n_units)
    return res, _step_attr(fk, res, rows, attr, n_units)


def _with_optional(fk: FunnelKernel, u: np.ndarray, t: np.ndarray, cur: np.ndarray, bits: np.ndarray,
                   n_units: int) -> Any:
    """Optional steps: the funnel of the required steps, then each optional step's event.

    The required steps decide the attempt and the depth; an optional step counts on the
    reported attempt when an event of it lies after the attempt's event of the step
    before it (the previous optional step found, else the previous required one) and
    before its event of the next required step, or, when that step was not reached,
    within the window. Positions in the result are bucket rows.
    """
    import dataclasses

    K = fk.k
    req = [k for k in range(K) if not fk.optional[k]]
    idx = {k: i for i, k in enumerate(req)}
    steps_r = np.asarray(fk.steps, dtype=np.int64)[req]
    sub = dataclasses.replace(
        fk, steps=steps_r, optional=(), step_names=tuple(fk.step_names[k] for k in req),
        exclude=tuple((x, idx[a], idx[b]) for x, a, b in fk.exclude), step_attr=None, all_step_attrs=False,
        code_lut=code_lut(steps_r, fk.bits))
    res, rows = _kernel(sub, u, t, cur, bits, n_units)
    lev_r = res.level.astype(np.int64)
    kp = res.step_pos if rows is None else np.where(res.step_pos >= 0, rows[np.maximum(res.step_pos, 0)], -1)
    NAT = kernels.NAT
    step_pos = np.full((n_units, K), -1, dtype=np.int64)
    step_time = np.full((n_units, K), NAT, dtype=np.int64)
    for k in req:
        step_pos[:, k] = kp[:, idx[k]]
        step_time[:, k] = res.step_time[:, idx[k]]
    dt = cur.dtype.type
    t0 = res.step_time[:, 0]
    for k in range(K):
        if not fk.optional[k]:
            continue
        before = [r for r in req if r < k]
        after = [r for r in req if r > k]
        if not before:  # checked by the caller: the first step is required
            continue
        prev = np.full(n_units, -1, dtype=np.int64)
        prev_t = np.full(n_units, NAT, dtype=np.int64)
        for q in range(k - 1, -1, -1):  # the nearest step found before k
            fill = (prev < 0) & (step_pos[:, q] >= 0)
            prev[fill] = step_pos[fill, q]
            prev_t[fill] = step_time[fill, q]
        opt = np.flatnonzero((cur & dt(1 << int(fk.steps[k]))) != 0)
        has = prev >= 0
        if opt.size == 0 or not has.any():
            continue
        i = np.searchsorted(opt, prev, side="right")
        ok = has & (i < opt.size)
        cand = opt[np.minimum(i, opt.size - 1)]
        ok &= u[cand] == np.arange(n_units)
        nxt = after[0] if after else None
        if nxt is not None:
            reached = lev_r > idx[nxt]
            ok &= ~reached | (cand < step_pos[:, nxt])
            open_ = ~reached
        else:
            open_ = np.ones(n_units, dtype=bool)
        if fk.window is not None:
            anchor = t0 if fk.window_from == "entry" else prev_t
            limit = np.minimum(anchor, np.iinfo(np.int64).max - fk.window) + fk.window
            ok &= ~open_ | (t[cand] <= limit)
        step_pos[ok, k] = cand[ok]
        step_time[ok, k] = t[cand[ok]]
    reached = step_pos >= 0
    level = np.where(reached.any(axis=1), K - np.argmax(reached[:, ::-1], axis=1), 0).astype(np.int16)
    return kernels.KernelResult(level, step_time, step_pos, res.excluded, res.n_attempts)


def _kernel(fk: FunnelKernel, u: np.ndarray, t: np.ndarray, cur: np.ndarray, bits: np.ndarray,
            n_units: int) -> tuple[Any, np.ndarray | None]:
    """The mode's kernel on sorted bucket rows: its result and the bucket row of each kernel row
    (None: the same rows)."""
    code, overlap = _symbols(fk, cur, bits)
    rows = None
    steps, exclude = fk.steps, fk.exclude
    entry = fk.mode in ("ordered", "uninterrupted") and (fk.window_from == "entry" or fk.window is None)
    if overlap and not entry:
        raise _overlap_error(fk, cur)
    event = None
    if fk.clickhouse:
        return _clickhouse(fk, u, t, cur, bits, code, overlap, n_units)
    if overlap or (entry and _repeats(fk.steps)):
        # an event may play several steps (overlapping rules, or a name repeated in the
        # steps): one role row per step it can play, sorted at that step
        rows, code, steps = _roles(fk, u, t, cur, bits)
        ex_code = {sym: fk.k + e for e, (_, sym, _) in enumerate(fk.bits.excl)}
        exclude = tuple((ex_code[x], a, b) for x, a, b in fk.exclude)
        u, t, event = u[rows], t[rows], rows.astype(np.int64)
    elif fk.bits.special:
        # repeat()/after() may move a row to a later step: re-sort ties by final position
        rp = fk.rpos_of[code.astype(np.int64)]
        same = (u[1:] == u[:-1]) & (t[1:] == t[:-1])
        if (same & (rp[1:] < rp[:-1])).any():
            o = np.lexsort((rp, t, u))
            u, t, code = u[o], t[o], code[o]
            rows = o
    can = None
    if fk.start_ns is not None or fk.end_ns is not None:
        can = np.ones(len(t), dtype=bool)
        if fk.start_ns is not None:
            can &= t >= fk.start_ns
        if fk.end_ns is not None:
            can &= t < fk.end_ns
    if fk.mode == "any_order":
        res = kernels.any_order_funnel(u, t, code, steps, n_units=n_units, window=fk.window, can_start=can,
                                       exclude=exclude)
    elif fk.mode == "strict":
        res = kernels.strict_funnel(u, t, code, steps, n_units=n_units, window=fk.window, can_start=can,
                                    window_from=fk.window_from, exclude=exclude)
    else:
        res = kernels.ordered_funnel(u, t, code, steps, n_units=n_units, window=fk.window, can_start=can,
                                     window_from=fk.window_from, exclude=exclude, event=event)
    return res, rows


def _step_attr(fk: FunnelKernel, res: Any, rows: np.ndarray | None, attr: np.ndarray | None,
               n_units: int) -> np.ndarray | None:
    """Each unit's attribute code on its reported step-N event (-1 none), with ``fk.step_attr``;
    on each step event, ``(n_units, K)``, with ``fk.all_step_attrs``."""
    if fk.all_step_attrs:
        out = np.full((n_units, fk.k), -1, dtype=np.int64)
        if attr is None:
            return out
        p = res.step_pos
        hit = p >= 0
        r = p[hit] if rows is None else rows[p[hit]]
        out[hit] = attr[r]
        return out
    if fk.step_attr is None:
        return None
    got = np.full(n_units, -1, dtype=np.int64)
    p = res.step_pos[:, fk.step_attr]
    hit = p >= 0
    if attr is not None and hit.any():
        r = p[hit] if rows is None else rows[p[hit]]
        got[hit] = attr[r]
    return got


def _can_start(fk: FunnelKernel, t: np.ndarray) -> np.ndarray | None:
    if fk.start_ns is None and fk.end_ns is None:
        return None
    can = np.ones(len(t), dtype=bool)
    if fk.start_ns is not None:
        can &= t >= fk.start_ns
    if fk.end_ns is not None:
        can &= t < fk.end_ns
    return can


def _clickhouse(fk: FunnelKernel, u: np.ndarray, t: np.ndarray, cur: np.ndarray, bits: np.ndarray,
                code: np.ndarray, overlap: bool, n_units: int) -> tuple[Any, np.ndarray]:
    """ClickHouse's walk on one sorted bucket: rows in ClickHouse's order, the kernel's result.

    ClickHouse sorts a unit's entries by (time, step); with ``strict_order`` the rows
    outside the funnel come first at their timestamp. Returns the result and the bucket
    row of each kernel row.
    """
    K = fk.k
    if overlap or _repeats(fk.steps):
        rows, rcode, steps = _roles(fk, u, t, cur, bits)
        rcode = np.where(rcode >= K, -1, rcode).astype(np.int16)
        event = rows.astype(np.int64)
    else:
        rows = np.arange(len(u))
        step_sym = np.zeros(1 << 16, dtype=bool)
        step_sym[fk.steps] = True
        rcode = np.where(step_sym[code.view(np.uint16)], code, -1).astype(np.int16)
        steps = fk.steps
        event = None
    if fk.mode == "uninterrupted" and event is not None:
        # rows in no step: one row each, as ClickHouse's "no condition" entry
        inside = np.zeros(len(u), dtype=bool)
        inside[rows] = True
        rest = np.flatnonzero(~inside)
        rows = np.concatenate((rows, rest))
        rcode = np.concatenate((rcode, np.full(len(rest), -1, dtype=np.int16)))
        event = rows.astype(np.int64)
    if fk.mode != "uninterrupted":
        keep = np.flatnonzero(rcode >= 0)
        rows, rcode = rows[keep], rcode[keep]
        if event is not None:
            event = event[keep]
    step_of = np.full(1 << 16, -1, dtype=np.int64)
    step_of[np.asarray(steps, dtype=np.int64)] = np.arange(K)
    tie = step_of[rcode.view(np.uint16)] + 1  # 0: outside the funnel, first at its time
    o = np.lexsort((tie, t[rows], u[rows]))  # stable: role rows keep their order
    rows, rcode = rows[o], rcode[o]
    if event is not None:
        event = event[o]
    uu, tt = u[rows], t[rows]
    res = kernels.clickhouse_funnel(
        uu, tt, rcode, steps, n_units=n_units, window=fk.window,
        reuse_events=fk.reuse_events, increasing_times=fk.increasing_times, stop_at_repeat=fk.stop_at_repeat,
        uninterrupted=fk.mode == "uninterrupted", out_of_order=fk.out_of_order, can_start=_can_start(fk, tt),
        event=event)
    return res, rows
