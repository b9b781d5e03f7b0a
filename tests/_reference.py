"""Slow, obviously-correct reference funnels written straight from DESIGN.md §4.

Used by the property tests (``from _reference import ...`` with ``tests/`` on
``sys.path``, which pytest's default rootdir import mode provides). Everything works
per unit on plain Python lists and enumerates chains exhaustively, so keep the inputs
small (a handful of events per unit, a few steps).

The functions take the same arguments as the kernels in ``funnelkit.engine.kernels`` and
return the same :class:`~funnelkit.engine.kernels.KernelResult`. ``ref_ordered(...,
event=...)`` is the reference for overlapping steps (role rows, one event per step of a
chain), see :func:`ref_chains`.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np

from funnelkit.engine.kernels import NAT, KernelResult

__all__ = ["ref_ordered", "ref_strict", "ref_strict_repeats", "ref_any_order", "ref_chains"]

Chain = tuple[int, ...]  # global positions of the chain's events, one per step


def _units(unit: Sequence[int], n_units: int) -> list[list[int]]:
    """Global positions of each unit's events, in sort order."""
    out: list[list[int]] = [[] for _ in range(n_units)]
    for p, u in enumerate(unit):
        out[int(u)].append(p)
    return out


def ref_chains(
    ev: list[int],
    t: list[int],
    code: list[int],
    steps: list[int],
    *,
    window: int | None,
    window_from: str,
    strict: bool,
    can_start: list[bool],
    event: list[int] | None = None,
) -> list[Chain]:
    """Every valid chain (of any length 1..K) of one unit whose events are ``ev``.

    A chain is a tuple of increasing positions (distinct events, in sort order) with
    ``code[e_i] == steps[i]``, a first event allowed by ``can_start``, the window rule
    (``entry``: last minus first <= window; ``previous``: every gap <= window) and, when
    ``strict``, adjacent positions within the unit.

    With ``event`` the positions are role rows (one row per step symbol an event
    matches, sharing the event's unit and time) and the chain's rows must belong to
    distinct events: ``(t[p], event[p])`` identifies an event within the unit (the
    kernel's contract only asks ids to differ between events of one unit and time).
    """
    chains: list[Chain] = []
    # Only events carrying a step symbol can be in a chain (a pure speed-up: the loop
    # below checks every rule on the unit's own indexes).
    usable = [i for i, p in enumerate(ev) if code[p] in steps]
    for k in range(1, len(steps) + 1):
        for idx in combinations(usable, k):
            ch = tuple(ev[i] for i in idx)
            if any(code[p] != steps[i] for i, p in enumerate(ch)):
                continue
            if not can_start[ch[0]]:
                continue
            if event is not None and len({(t[p], event[p]) for p in ch}) < k:
                continue  # one event fills at most one step
            if strict and any(idx[i + 1] != idx[i] + 1 for i in range(k - 1)):
                continue
            if window is not None:
                if window_from == "entry":
                    if t[ch[-1]] - t[ch[0]] > window:
                        continue
                elif any(t[ch[i + 1]] - t[ch[i]] > window for i in range(k - 1)):
                    continue
            chains.append(ch)
    return chains


def _key(ch: Chain, t: list[int]) -> tuple[tuple[int, ...], Chain]:
    """Order of chains: by (t(e1), t(e2), ...), ties by positions."""
    return tuple(t[p] for p in ch), ch


def _tainted(
    ch: Chain,
    ev: list[int],
    t: list[int],
    code: list[int],
    exclude: Sequence[tuple[int, int, int]],
    window: int | None,
    window_from: str,
) -> bool:
    """Whether an exclusion taints the attempt ``ch`` (its full, deepest chain)."""
    d = len(ch)
    for x, a, b in exclude:
        if d <= a:  # never reached step a
            continue
        ta = t[ch[a]]
        xs = [t[q] for q in ev if code[q] == x]
        if d > b:
            if any(ta < tx < t[ch[b]] for tx in xs):
                return True
        else:
            if window is None:
                deadline = None
            elif window_from == "entry":
                deadline = t[ch[0]] + window
            else:
                deadline = t[ch[-1]] + window
            if any(tx > ta and (deadline is None or tx <= deadline) for tx in xs):
                return True
    return False


def _ordered_or_strict(
    unit: np.ndarray,
    t: np.ndarray,
    code: np.ndarray,
    steps: Sequence[int],
    *,
    n_units: int,
    window: int | None,
    window_from: str,
    exclude: Sequence[tuple[int, int, int]],
    can_start: np.ndarray | None,
    strict: bool,
    event: np.ndarray | None = None,
) -> KernelResult:
    tl, cl, sl = [int(v) for v in t], [int(v) for v in code], [int(v) for v in steps]
    el = None if event is None else [int(v) for v in event]
    k = len(sl)
    cs = [True] * len(tl) if can_start is None else [bool(v) for v in can_start]
    level = np.zeros(n_units, dtype=np.int16)
    step_time = np.full((n_units, k), NAT, dtype=np.int64)
    step_pos = np.full((n_units, k), -1, dtype=np.int64)
    excluded = np.zeros(n_units, dtype=bool)
    n_attempts = np.zeros(n_units, dtype=np.int64)
    for u, ev in enumerate(_units(unit, n_units)):
        chains = ref_chains(ev, tl, cl, sl, window=window, window_from=window_from,
                            strict=strict and not _REPEATS[0], can_start=cs, event=el)
        if strict and _REPEATS[0]:
            chains = [ch for ch in chains if _only_repeats_between(ch, ev, cl, sl)]
        starts = [p for p in ev if cl[p] == sl[0] and cs[p]]
        n_attempts[u] = len(starts)
        # The attempt of each start: the earliest of its deepest chains.
        attempts: list[Chain] = []
        for s in starts:
            mine = [ch for ch in chains if ch[0] == s]
            deepest = max(len(ch) for ch in mine)  # (s,) itself is a chain
            attempts.append(min((ch for ch in mine if len(ch) == deepest),
                                key=lambda ch: _key(ch, tl)))
        clean = [a for a in attempts
                 if not _tainted(a, ev, tl, cl, exclude, window, window_from)]
        if not clean:
            excluded[u] = bool(attempts)
            continue
        lev = max(len(a) for a in clean)
        if exclude:
            # The earliest clean attempt at the level.
            best = min((a for a in clean if len(a) == lev), key=lambda ch: _key(ch, tl))
        else:
            # Literally DESIGN §4: the earliest of all chains reaching the level.
            best = min((ch for ch in chains if len(ch) == lev), key=lambda ch: _key(ch, tl))
        level[u] = lev
        for i, p in enumerate(best):
            step_pos[u, i] = p
            step_time[u, i] = tl[p]
    return KernelResult(level, step_time, step_pos, excluded, n_attempts)


def ref_ordered(
    unit: np.ndarray,
    t: np.ndarray,
    code: np.ndarray,
    steps: Sequence[int],
    *,
    n_units: int,
    window: int | None,
    window_from: str = "entry",
    exclude: Sequence[tuple[int, int, int]] = (),
    can_start: np.ndarray | None = None,
    event: np.ndarray | None = None,
) -> KernelResult:
    """Reference for :func:`funnelkit.engine.kernels.ordered_funnel`.

    With ``event`` (role rows): every chain of role rows with strictly increasing
    positions (``t`` non-decreasing, ties in sort order), distinct events, ``e_i``
    matching step ``i`` and the window; an exhaustive search, so unlike the kernel's
    greedy it never misses a deeper assignment of the events at one timestamp.
    """
    return _ordered_or_strict(unit, t, code, steps, n_units=n_units, window=window,
                              window_from=window_from, exclude=exclude,
                              can_start=can_start, strict=False, event=event)


_REPEATS = [False]  # set by ref_strict_repeats while it runs


def _only_repeats_between(ch: Chain, ev: list[int], code: list[int], steps: list[int]) -> bool:
    """PostHog's strict rule: every event between steps i and i+1 carries step i's symbol."""
    where = {p: i for i, p in enumerate(ev)}
    for i in range(len(ch) - 1):
        a, b = where[ch[i]], where[ch[i + 1]]
        if any(code[ev[q]] != steps[i] for q in range(a + 1, b)):
            return False
    return True


def ref_strict_repeats(
    unit: np.ndarray,
    t: np.ndarray,
    code: np.ndarray,
    steps: Sequence[int],
    *,
    n_units: int,
    window: int | None,
    window_from: str = "entry",
    exclude: Sequence[tuple[int, int, int]] = (),
    can_start: np.ndarray | None = None,
) -> KernelResult:
    """Reference for :func:`funnelkit.engine.kernels.strict_funnel` (PostHog's strict funnel):
    chains whose events between steps i and i+1 all carry step i's symbol (repeats pass)."""
    _REPEATS[0] = True
    try:
        return _ordered_or_strict(unit, t, code, steps, n_units=n_units, window=window,
                                  window_from=window_from, exclude=exclude,
                                  can_start=can_start, strict=True)
    finally:
        _REPEATS[0] = False


def ref_strict(
    unit: np.ndarray,
    t: np.ndarray,
    code: np.ndarray,
    steps: Sequence[int],
    *,
    n_units: int,
    window: int | None,
    window_from: str = "entry",
    exclude: Sequence[tuple[int, int, int]] = (),
    can_start: np.ndarray | None = None,
) -> KernelResult:
    """Reference for :func:`funnelkit.engine.kernels.strict_funnel`."""
    return _ordered_or_strict(unit, t, code, steps, n_units=n_units, window=window,
                              window_from=window_from, exclude=exclude,
                              can_start=can_start, strict=True)


def ref_any_order(
    unit: np.ndarray,
    t: np.ndarray,
    code: np.ndarray,
    steps: Sequence[int],
    *,
    n_units: int,
    window: int | None,
    can_start: np.ndarray | None = None,
) -> KernelResult:
    """Reference for :func:`funnelkit.engine.kernels.any_order_funnel`.

    For every allowed funnel event ``s`` of a unit, the window holds the unit's events
    at or after ``s`` with ``t - t(s) <= window``; a symbol needed ``m`` times is filled
    by its first ``m`` events there. Level = best fill; reported = first best start.
    """
    tl, cl, sl = [int(v) for v in t], [int(v) for v in code], [int(v) for v in steps]
    k = len(sl)
    need = {s: sl.count(s) for s in set(sl)}
    cs = [True] * len(tl) if can_start is None else [bool(v) for v in can_start]
    level = np.zeros(n_units, dtype=np.int16)
    step_time = np.full((n_units, k), NAT, dtype=np.int64)
    step_pos = np.full((n_units, k), -1, dtype=np.int64)
    n_attempts = np.zeros(n_units, dtype=np.int64)
    for u, ev in enumerate(_units(unit, n_units)):
        best: list[int] = []
        for i, s in enumerate(ev):
            if cl[s] not in need or not cs[s]:
                continue
            n_attempts[u] += 1
            inside = [q for q in ev[i:] if window is None or tl[q] - tl[s] <= window]
            taken = []
            for sym, m in need.items():
                taken += [q for q in inside if cl[q] == sym][:m]
            if len(taken) > len(best):
                best = sorted(taken)
        level[u] = len(best)
        for j, p in enumerate(best):
            step_pos[u, j] = p
            step_time[u, j] = tl[p]
    return KernelResult(level, step_time, step_pos, np.zeros(n_units, dtype=bool), n_attempts)


# ---------------------------------------------------------------------------
# whole funnels, at the level of an event log (pandas rows, plain Python)
# ---------------------------------------------------------------------------
#
# ``ref_funnel`` is the reference for ``fk.funnel(...)``: it evaluates the steps' rules
# row by row in plain Python, orders each unit's events as DESIGN §4 says and runs the
# exhaustive kernel references above on them, one unit at a time.
#
# Sort (DESIGN §4, ties by value): an event's key is (time, position, rule bits, value
# rank), where *position* is the first step the event can fill (K for none), *rule
# bits* the mask of the journey stages whose rules it matches (bit i: stage i), and the
# value rank that of its ``by=`` value among the sorted distinct values (-1: null). No
# key uses the input's row order; events equal in every key are interchangeable.
#
# ordered: an event matching several steps is a candidate for each, *at that step's
# position*: the rows searched are role rows (event e as step i, keyed (time, i, key of
# e)), one event fills at most one step of a chain (``ref_ordered(..., event=...)``).
# So a chain is any sequence of distinct events with non-decreasing times that match
# the steps in turn (and fit the window); ties in the reported attempt go by the role
# rows' keys. strict and any_order: every event plays one step (its stage), in the
# event order above; overlapping steps are refused there.

import fnmatch as _fnmatch
import re as _re
from collections.abc import Callable as _Callable
from dataclasses import dataclass as _dataclass
from typing import Any as _Any


@_dataclass(frozen=True)
class RefRule:
    """A rule evaluated on one row (a dict): event names / globs, a regex, where= values."""

    names: tuple[str, ...] = ()
    regex: str | None = None
    where: tuple[tuple[str, tuple[_Any, ...]], ...] = ()

    def __call__(self, row: dict) -> bool:
        ev = str(row["event"])
        hit = any(_fnmatch.fnmatchcase(ev, n) if set("*?[") & set(n) else ev == n for n in self.names)
        if self.regex is not None and _re.fullmatch(self.regex, ev):
            hit = True
        if not hit:
            return False
        for col, vals in self.where:
            v = row.get(col)
            if _is_null(v):
                return False
            if not any(v == w for w in vals):
                return False
        return True


def ref_any_of(*rules: _Callable[[dict], bool]) -> _Callable[[dict], bool]:
    """A stage made of several rules (their union)."""
    return lambda row: any(r(row) for r in rules)


def ref_stages(journey_or_steps: _Any) -> tuple[list[_Callable[[dict], bool]], list[int], list[str]]:
    """(stage predicates, stage of each step, step names) of a list of steps or of a
    Journey made of plain rules, written independently of ``funnelkit.journey.steps``."""
    from funnelkit import Journey, Rule

    if isinstance(journey_or_steps, Journey):
        stages = []
        for st in journey_or_steps.stages:
            rules = []
            for r in st.rules:
                if not isinstance(r, Rule):
                    raise ValueError("ref_stages takes plain rules only (use stage codes for repeat/after)")
                rules.append(RefRule(tuple(r.events), r.regex, tuple(r.where)))
            stages.append(ref_any_of(*rules))
        k = len(stages)
        return stages, list(range(k)), list(journey_or_steps.names)
    keys: list[str] = []
    preds: dict[str, _Callable[[dict], bool]] = {}
    for it in journey_or_steps:
        key = it if isinstance(it, str) else " | ".join(it)
        keys.append(key)
        preds.setdefault(key, RefRule((it,) if isinstance(it, str) else tuple(it)))
    order = list(preds)
    seen: dict[str, int] = {}
    names = []
    for k_ in keys:
        seen[k_] = seen.get(k_, 0) + 1
        names.append(k_ if seen[k_] == 1 else f"{k_} ({seen[k_]})")
    return [preds[k_] for k_ in order], [order.index(k_) for k_ in keys], names


def ref_stage_code(stage: int) -> _Callable[[dict], bool]:
    """A stage selecting the rows whose column ``stage_code`` equals ``stage`` (to run the
    reference over the stages ``Journey.assign_stages`` gave)."""
    return lambda row: row.get("stage_code") == stage


def _is_null(v: _Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def ref_funnel(
    frame: _Any,
    stages: Sequence[_Callable[[dict], bool]],
    steps: Sequence[int],
    *,
    mode: str = "ordered",
    window: int | None = None,
    window_from: str = "entry",
    exclude: Sequence[tuple[_Callable[[dict], bool], int, int]] = (),
    start: int | None = None,
    end: int | None = None,
    unit_col: str = "user_id",
    by: str | None = None,
    attribution: str = "first_touch",
) -> _Any:
    """Per unit (sorted by id): ``level``, ``t0 .. t{K-1}`` (ns, ``NAT`` where not
    reached), ``excluded`` and, with ``by``, ``value`` (None: none) -- for the event log
    ``frame`` (columns user/unit, ``timestamp`` tz-aware, ``event``, properties).

    ``stages``: one predicate per journey stage (bit i = stage i); ``steps``: the stage of
    each funnel step; ``exclude``: (predicate, from_step, to_step) with 0-based steps;
    ``window``, ``start`` and ``end`` in ns; ``attribution``: first_touch, last_touch
    (the first / last non-null value on the reported attempt's step events, by time,
    ties: the smallest value), all_events (the sorted value ranks on those events, a
    tuple), first_touch_unit / last_touch_unit (the same over all of the unit's events)
    or step:N (the value on the reported attempt's step-N event). See the comment above.
    """
    import pandas as pd

    steps = [int(s) for s in steps]
    K = len(steps)
    n_st = len(stages)
    ts = frame["timestamp"].dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    tns = ts.map(lambda x: x.value).to_numpy() if len(ts) else np.zeros(0, np.int64)
    records = frame.to_dict("records")
    rank: dict[_Any, int] = {}
    if by is not None:
        vals = sorted({v for v in frame[by].tolist() if not _is_null(v)})
        rank = {v: i for i, v in enumerate(vals)}
    per_unit: dict[_Any, list[int]] = {}
    for i, r in enumerate(records):
        per_unit.setdefault(r[unit_col], []).append(i)
    ids = sorted(per_unit)
    step_n = int(attribution.split(":")[1]) - 1 if attribution.startswith("step:") else None
    out = []
    for uid in ids:
        evs = []
        for i in per_unit[uid]:
            r = records[i]
            match = {s for s in range(n_st) if stages[s](r)}
            bits = sum(1 << s for s in match)
            fpos = min((k for k in range(K) if steps[k] in match), default=K)
            v = r.get(by) if by is not None else None
            v = None if by is None or _is_null(v) else v
            xs = [j for j, (p, _, _) in enumerate(exclude) if p(r)]
            evs.append(dict(t=int(tns[i]), match=match, bits=bits, fpos=fpos, value=v,
                            vr=-1 if v is None else rank[v], xs=xs))
        evs.sort(key=lambda e: (e["t"], e["fpos"], e["bits"], e["vr"]))
        ok_start = [(start is None or e["t"] >= start) and (end is None or e["t"] < end) for e in evs]
        ex_rules = [(K + j, a, b) for j, (_, a, b) in enumerate(exclude)]
        if mode == "ordered":
            rows = []  # (t, role position, fpos, bits, vr, event, code)
            for ei, e in enumerate(evs):
                roles = [k for k in range(K) if steps[k] in e["match"]]
                for k in roles:
                    rows.append((e["t"], k, e["fpos"], e["bits"], e["vr"], ei, k))
                if not roles:
                    for j in e["xs"]:
                        rows.append((e["t"], K, e["fpos"], e["bits"], e["vr"], ei, K + j))
            rows.sort()
            n = len(rows)
            res = ref_ordered(np.zeros(n, np.int64), np.array([r[0] for r in rows], np.int64),
                              np.array([r[6] for r in rows], np.int16), list(range(K)), n_units=1,
                              window=window, window_from=window_from, exclude=ex_rules,
                              can_start=np.array([ok_start[r[5]] for r in rows], bool),
                              event=np.array([r[5] for r in rows], np.int64))
            ev_of = [r[5] for r in rows]
        else:
            step_stages = set(steps)
            code = []
            for e in evs:
                mine = e["match"] & step_stages
                if len(mine) > 1:
                    raise ValueError("overlapping steps: not defined for strict / any_order")
                if mine:
                    code.append(mine.pop())
                elif e["xs"]:
                    code.append(n_st + e["xs"][0])
                else:
                    code.append(-1)
            n = len(evs)
            args = (np.zeros(n, np.int64), np.array([e["t"] for e in evs], np.int64), np.array(code, np.int16), steps)
            if mode == "strict":  # PostHog's strict funnel (repeats of the current step pass)
                res = ref_strict_repeats(*args, n_units=1, window=window, window_from=window_from,
                                 exclude=[(n_st + j, a, b) for j, (_, a, b) in enumerate(exclude)],
                                 can_start=np.array(ok_start, bool))
            else:
                res = ref_any_order(*args, n_units=1, window=window, can_start=np.array(ok_start, bool))
            ev_of = list(range(n))
        rec = {unit_col: uid, "level": int(res.level[0]), "excluded": bool(res.excluded[0])}
        for k in range(K):
            rec[f"t{k}"] = int(res.step_time[0, k])
        if by is not None:
            nn = [e for e in evs if e["value"] is not None]
            if step_n is not None:
                p = int(res.step_pos[0, step_n])
                rec["value"] = None if p < 0 else evs[ev_of[p]]["value"]
            elif attribution in ("first_touch", "last_touch", "all_events"):
                # the values on the reported attempt's step events (up to its level)
                lev = int(res.level[0])
                mine = [evs[ev_of[int(res.step_pos[0, k])]] for k in range(lev)]
                mine = [e for e in mine if e["value"] is not None]
                if not mine:
                    rec["value"] = None if attribution != "all_events" else ()
                elif attribution == "all_events":
                    rec["value"] = tuple(sorted({e["vr"] for e in mine}))  # value ranks
                elif attribution == "first_touch":
                    rec["value"] = min(mine, key=lambda e: (e["t"], e["vr"]))["value"]
                else:
                    tmax = max(e["t"] for e in mine)
                    rec["value"] = min((e for e in mine if e["t"] == tmax), key=lambda e: e["vr"])["value"]
            elif not nn:
                rec["value"] = None
            elif attribution == "first_touch_unit":
                rec["value"] = min(nn, key=lambda e: (e["t"], e["vr"]))["value"]
            else:  # last_touch_unit
                tmax = max(e["t"] for e in nn)
                rec["value"] = min((e for e in nn if e["t"] == tmax), key=lambda e: e["vr"])["value"]
        out.append(rec)
    cols = [unit_col, "level", *[f"t{k}" for k in range(K)], "excluded"] + (["value"] if by else [])
    df = pd.DataFrame(out, columns=cols)
    if by is not None:
        df["value"] = pd.Series([r["value"] for r in out], dtype=object)  # None stays None
    return df.set_index(unit_col)


def ref_greedy_exact(frame: _Any, stages: Sequence[_Callable[[dict], bool]], steps: Sequence[int],
                     unit_col: str = "user_id") -> bool:
    """Whether the ordered kernel's greedy is exact on this log (tests/test_kernels_overlap.py):
    no event playing two or more steps shares a step with another event of its unit at
    its timestamp."""
    step_stages = set(int(s) for s in steps)
    seen: dict[tuple[_Any, _Any], list[set[int]]] = {}
    for r in frame.to_dict("records"):
        roles = {s for s in step_stages if stages[s](r)}
        seen.setdefault((r[unit_col], r["timestamp"]), []).append(roles)
    for group in seen.values():
        for i, mine in enumerate(group):
            if len(mine) >= 2 and any(mine & other for j, other in enumerate(group) if j != i):
                return False
    return True
