"""From an event log and a journey to the sorted integer arrays the kernels take (private).

This is the one place where the funnel's inputs are validated and laid out:

1. the event log is normalized (``_schema.ensure_events``);
2. units (users or sessions) are factorized on *all* rows, so a unit without any
   journey event still exists (level 0: experiments need it);
3. funnel steps become symbols; rows that no rule can select are dropped before the
   sort when the mode allows it (ordered / any-order funnels ignore other events);
4. one stable sort by (unit, timestamp, step position) -- input row order breaks the
   remaining ties -- then repeat()/after() rules are applied on the sorted rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import _schema
from .errors import JourneyError, MissingColumnError, ParameterError, UnknownStageError
from .stages import AfterRule, Journey, RepeatRule, Rule, _RowsView, _suggest

__all__ = ["Prepared", "prepare", "resolve_steps", "StepSpec", "needed_columns", "read_if_path"]


@dataclass(frozen=True)
class StepSpec:
    """The funnel's steps: a journey of distinct symbols and the symbol of each step."""

    journey: Journey  # one stage per distinct symbol (plus hidden stages for after())
    steps: np.ndarray  # symbol index of each step, length K
    names: tuple[str, ...]  # unique step names (table's `step` column)
    labels: tuple[str, ...]  # labels in the journey's language


def resolve_steps(journey_or_steps: Any, *, lang: str | None = None) -> StepSpec:
    """Turn a Journey or a plain list of events / event lists into a :class:`StepSpec`."""
    if isinstance(journey_or_steps, Journey):
        j = journey_or_steps if lang is None else journey_or_steps.with_lang(lang)  # type: ignore[arg-type]
        return StepSpec(j, np.arange(len(j), dtype=np.int16), j.names, j.labels())
    if isinstance(journey_or_steps, (str, bytes)) or not isinstance(journey_or_steps, Sequence):
        raise JourneyError(
            "The funnel's steps must be a funnelkit.Journey or a list of event names, e.g. "
            f"['landing', 'product_view', 'purchase']; got {type(journey_or_steps).__name__} "
            f"{journey_or_steps!r}."
        )
    items = list(journey_or_steps)
    if not items:
        raise JourneyError("The funnel needs at least one step; got an empty list.")
    keys: list[str] = []
    specs: dict[str, Any] = {}
    for it in items:
        if isinstance(it, str):
            key, spec = it, it
        elif isinstance(it, Sequence) and it and all(isinstance(x, str) for x in it):
            key, spec = " | ".join(it), list(it)
        elif isinstance(it, (Rule, RepeatRule, AfterRule)):
            raise JourneyError(
                "Rules (Rule, repeat, after) need a stage name: build a funnelkit.Journey, "
                "e.g. fk.Journey({'buy': 'purchase', 'rebuy': fk.repeat('purchase', 2)})."
            )
        else:
            raise JourneyError(
                f"Funnel step {it!r} is neither an event name nor a list of event names."
            )
        keys.append(key)
        specs.setdefault(key, spec)
    j = Journey(dict(specs), lang=lang or "en")  # type: ignore[arg-type]
    sym = {k: i for i, k in enumerate(specs)}
    steps = np.array([sym[k] for k in keys], dtype=np.int16)
    names: list[str] = []
    seen: dict[str, int] = {}
    for k in keys:
        seen[k] = seen.get(k, 0) + 1
        names.append(k if seen[k] == 1 else f"{k} ({seen[k]})")
    return StepSpec(j, steps, tuple(names), tuple(names))


def needed_columns(
    journey_or_steps: Any,
    *,
    by: str | None = None,
    unit: str = "user",
    session_col: str = "session_id",
    variant_col: str | None = None,
    lang: str | None = None,
) -> list[Any]:
    """Property columns a computation reads besides user, time and event.

    The ``by=`` column, the session column (``unit="session"``), the variant column and
    every column a journey rule's ``where=`` condition looks at.
    """
    spec = resolve_steps(journey_or_steps, lang=lang)
    cols: list[Any] = []

    def add(c: Any) -> None:
        if c is not None and c not in cols and c not in _schema.REQUIRED:
            cols.append(c)

    add(by)
    if unit == "session":
        add(session_col)
    add(variant_col)
    for st in spec.journey._all_stages():
        for r in st.rules:
            base = r.rule if isinstance(r, (RepeatRule, AfterRule)) else r
            for c, _ in base.where:
                add(c)
    return cols


def read_if_path(events: Any, journey_or_steps: Any, **needed: Any) -> Any:
    """Read a file path with only the columns the computation needs; other inputs unchanged."""
    import os

    if isinstance(events, (str, os.PathLike)):
        from .io import read_events

        return read_events(events, columns=needed_columns(journey_or_steps, **needed))
    return events


@dataclass
class Prepared:
    """Sorted arrays for the kernels and what is needed to map results back."""

    frame: pd.DataFrame  # the normalized event log (all rows)
    n_rows: int
    rows: np.ndarray  # positions in `frame` of the kept rows, in sorted order
    unit: np.ndarray  # int64 unit code per kept row (sorted)
    t: np.ndarray  # int64 ns per kept row
    stage_code: np.ndarray  # int16 stage index per kept row (-1 none; >= n_stages hidden)
    code: np.ndarray  # int16 kernel symbol per kept row (-1 none; exclusions appended)
    unit_ids: pd.Index  # unit id of each unit code
    unit_name: str  # "user_id" or the session column
    spec: StepSpec
    exclude: list[tuple[int, int, int]] = field(default_factory=list)
    exclude_names: list[str] = field(default_factory=list)
    data_end: int = 0  # ns of the last event in the log
    unit_all: np.ndarray | None = None  # unit code of every row of `frame` (frame order)
    dropped: dict[str, int] = field(default_factory=dict)

    @property
    def n_units(self) -> int:
        return len(self.unit_ids)


def _unit_codes(frame: pd.DataFrame, unit: str, session_col: str) -> tuple[np.ndarray, pd.Index, str]:
    if unit == "user":
        col = _schema.USER
    elif unit == "session":
        col = session_col
        if col not in frame.columns:
            raise MissingColumnError(
                f"unit='session' needs a {col!r} column, which the event log does not have. "
                f"Fix: run events = funnelkit.sessionize(events, timeout='30min') first."
            )
    else:  # pragma: no cover - checked by callers
        raise ParameterError(f"`unit`={unit!r}: use 'user' or 'session'.")
    s = frame[col]
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy().astype(np.int64, copy=False)
        cats = s.cat.categories
        used = np.zeros(len(cats), dtype=bool)
        used[codes] = True
        if used.all():
            return codes, pd.Index(cats, name=col), col
        remap = np.cumsum(used) - 1
        return remap[codes].astype(np.int64), pd.Index(cats[used], name=col), col
    if s.isna().any():
        raise ParameterError(f"Column {col!r} has null values; units must be defined for every event.")
    if s.dtype.kind in "iu" and len(s):
        v = s.to_numpy()
        lo, hi = int(v.min()), int(v.max())
        if hi - lo <= 4 * len(v) + 1024:
            # dense integer ids (the usual case): a lookup table instead of hashing
            off = (v - lo).astype(np.intp, copy=False)
            present = np.zeros(hi - lo + 1, dtype=bool)
            present[off] = True
            rank = np.cumsum(present, dtype=np.int64) - 1
            ids = (np.flatnonzero(present) + lo).astype(s.dtype, copy=False)
            return rank[off], pd.Index(ids, name=col), col
    codes, uniques = pd.factorize(s, sort=True)
    return codes.astype(np.int64, copy=False), pd.Index(uniques, name=col), col


def _time_ns(frame: pd.DataFrame) -> np.ndarray:
    ts = frame[_schema.TIME]
    arr = ts.to_numpy(dtype="datetime64[ns]") if ts.dt.tz is None else ts.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    return arr.view(np.int64)


def _sort_order(u: np.ndarray, t: np.ndarray, pos: np.ndarray, *, n_units: int, n_pos: int) -> np.ndarray:
    """Permutation sorting rows by (unit, time, step position), input order breaking ties.

    When the three fit in 63 bits (unit code, time since the first event divided by the
    times' common granularity, position) one stable argsort of a packed int64 key does
    it -- about 1.5x faster than ``np.lexsort`` of three keys; otherwise lexsort.
    """
    n = len(u)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    t0 = int(t.min())
    span = int(t.max()) - t0
    if span < 2**63:
        trel = t - t0
        g = int(np.gcd.reduce(trel)) or 1
        bits_t = (span // g).bit_length()
        bits_u = max(n_units - 1, 0).bit_length()
        bits_p = max(n_pos - 1, 0).bit_length()
        if bits_u + bits_t + bits_p <= 63:
            key = trel // g if g > 1 else trel
            key <<= bits_p
            key |= pos
            key |= u.astype(np.int64, copy=False) << (bits_t + bits_p)
            return np.argsort(key, kind="stable")
    return np.lexsort((pos, t, u))


def _step_index(value: Any, names: Sequence[str], what: str) -> int:
    """1-based step number or step name -> 0-based index."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if not 1 <= int(value) <= len(names):
            raise ParameterError(f"{what}={value!r}: steps are numbered 1..{len(names)}.")
        return int(value) - 1
    if isinstance(value, str):
        if value in names:
            return list(names).index(value)
        raise UnknownStageError(
            f"{what}={value!r} is not a step of the funnel (steps: {', '.join(names)})." + _suggest(value, names)
        )
    raise ParameterError(f"{what}={value!r}: give a step name or a 1-based step number.")


@dataclass(frozen=True)
class Symbols:
    """What each event name (category) is to a funnel computation, before any row is read.

    ``exclude`` holds the kernels' ``(symbol, from_step, to_step)`` triples (exclusion
    symbols come after the journey's stages, hidden ones included), ``relevant`` marks
    the categories some rule can select, ``cat_pos`` is each category's position in
    the funnel (the first step it can fill; ``K`` for the others), the tie-break of
    events at the same time.
    """

    exclude: tuple[tuple[int, int, int], ...]
    exclude_rules: list[Rule]
    exclude_names: tuple[str, ...]
    relevant: np.ndarray  # bool per category
    cat_pos: np.ndarray  # int16 per category


def symbol_table(
    spec: StepSpec,
    categories: Sequence[str],
    exclude: Sequence[tuple[Any, Any, Any]] | None,
    *,
    check_events: bool = True,
) -> Symbols:
    """Validate the exclusions and map every category to its role (see :class:`Symbols`)."""
    journey = spec.journey
    n_stages = len(journey)
    stages_all = journey._all_stages()
    # exclusions: event names (or a stage of the journey outside the funnel) ---------
    excl: list[tuple[int, int, int]] = []
    excl_rules: list[Rule] = []
    excl_names: list[str] = []
    for item in exclude or ():
        if not (isinstance(item, (tuple, list)) and len(item) == 3):
            raise ParameterError(
                f"exclude={item!r}: each exclusion is (event_or_stage, from_step, to_step), "
                "e.g. ('support_contact', 'consideration', 'purchase')."
            )
        what, a, b = item
        ia = _step_index(a, spec.names, "exclude from_step")
        ib = _step_index(b, spec.names, "exclude to_step")
        if ia >= ib:
            raise ParameterError(f"exclude={item!r}: from_step must come before to_step.")
        stage_names = [s.name for s in stages_all]
        if isinstance(what, str) and what in stage_names:
            st = stages_all[stage_names.index(what)]
            if stage_names.index(what) < n_stages and int(stage_names.index(what)) in set(spec.steps.tolist()):
                raise ParameterError(
                    f"exclude={item!r}: {what!r} is a step of the funnel and cannot also be excluded."
                )
            rules = [r for r in st.rules if isinstance(r, Rule)]
            if len(rules) != len(st.rules):
                raise ParameterError(f"exclude: stage {what!r} uses repeat()/after() rules; exclude events instead.")
            rule = Rule([n for r in rules for n in r.events], regex=None) if all(not r.where and r.regex is None for r in rules) else rules[0]
        elif isinstance(what, str):
            rule = Rule(what)
            if check_events and rule._unmatched(categories):
                from .errors import UnknownEventError

                raise UnknownEventError(
                    f"exclude={item!r}: the event log has no event {what!r}." + _suggest(what, categories)
                )
        else:
            raise ParameterError(f"exclude={item!r}: the first element must be an event or stage name.")
        step_syms = set(spec.steps.tolist())
        for si in step_syms:
            for r in stages_all[si].rules:
                base = r.rule if isinstance(r, (RepeatRule, AfterRule)) else r
                if (base._match_names(categories) & rule._match_names(categories)).any() and not rule.where and not base.where:
                    raise ParameterError(
                        f"exclude={item!r}: {what!r} is an event of funnel step {stages_all[si].name!r}; "
                        "an excluded event cannot also be a step."
                    )
        excl_rules.append(rule)
        excl_names.append(str(what))
        excl.append((len(stages_all) + len(excl), ia, ib))

    # rows that can matter ------------------------------------------------------------
    relevant_cat = np.zeros(len(categories), dtype=bool)
    for st in stages_all:
        for r in st.rules:
            base = r.rule if isinstance(r, (RepeatRule, AfterRule)) else r
            relevant_cat |= base._match_names(categories)
    for r in excl_rules:
        relevant_cat |= r._match_names(categories)
    K = len(spec.steps)
    cat_pos = np.full(len(categories), K, dtype=np.int16)
    for k in range(K - 1, -1, -1):
        st = stages_all[int(spec.steps[k])]
        for r in st.rules:
            base = r.rule if isinstance(r, (RepeatRule, AfterRule)) else r
            cat_pos[base._match_names(categories)] = k
    return Symbols(tuple(excl), excl_rules, tuple(excl_names), relevant_cat, cat_pos)


def plain_codes(
    spec: StepSpec, syms: Symbols, categories: Sequence[str], *, check_overlap: bool = True
) -> np.ndarray | None:
    """Kernel symbol of each category, when rows need nothing but their event name.

    That is when every rule of the journey and of the exclusions is a plain
    :class:`Rule` without ``where=``: the stage of an event is then a function of its
    name (no repeat()/after() counting, no property). Returns None otherwise. The
    categories must be ones that occur in the data: two stages selecting one raises
    :class:`~funnelkit.errors.OverlappingRulesError`, as row-level assignment does.
    """
    journey = spec.journey
    stages_all = journey._all_stages()
    rules = [r for st in stages_all for r in st.rules] + list(syms.exclude_rules)
    if not all(isinstance(r, Rule) and not r.where for r in rules):
        return None
    n_stages = len(journey)
    hits = np.zeros(len(categories), dtype=np.int16)
    code = np.full(len(categories), -1, dtype=np.int16)
    for si, st in enumerate(stages_all):
        m = np.zeros(len(categories), dtype=bool)
        for r in st.rules:
            m |= r._match_names(categories)
        hits += m
        code[m] = si if si < n_stages else -1
    if check_overlap and (hits > 1).any():
        from .errors import OverlappingRulesError

        raise OverlappingRulesError(journey._overlap_message(categories))
    for (sym, _, _), rule in zip(syms.exclude, syms.exclude_rules):
        code[(code < 0) & rule._match_names(categories)] = sym
    return code


def prepare(
    events: Any,
    journey_or_steps: Any,
    *,
    unit: str = "user",
    session_col: str = "session_id",
    keep_all: bool = False,
    exclude: Sequence[tuple[Any, Any, Any]] | None = None,
    lang: str | None = None,
    extra_columns: Sequence[str] = (),
    check_events: bool = True,
) -> Prepared:
    """Validate and lay out the inputs of a funnel computation (see module docstring)."""
    frame = _schema.ensure_events(events)
    if len(frame) == 0:
        from .errors import EmptyEventLogError

        raise EmptyEventLogError("The event log is empty: there is nothing to compute a funnel on.")
    for col in extra_columns:
        _schema.require_columns(frame, [col], purpose="this funnel")
    spec = resolve_steps(journey_or_steps, lang=lang)
    journey = spec.journey
    n_stages = len(journey)
    stages_all = journey._all_stages()

    unit_code, unit_ids, unit_name = _unit_codes(frame, unit, session_col)
    ev = frame[_schema.EVENT]
    if not isinstance(ev.dtype, pd.CategoricalDtype):  # pragma: no cover - ensured by _schema
        ev = ev.astype("category")
    categories = [str(c) for c in ev.cat.categories]
    ev_codes = ev.cat.codes.to_numpy()
    if check_events:  # engines working on parts check the names once, on all the data
        journey.check_events(categories)

    syms = symbol_table(spec, categories, exclude, check_events=check_events)
    excl, excl_rules = list(syms.exclude), syms.exclude_rules
    relevant_cat, cat_pos = syms.relevant, syms.cat_pos
    t_all = _time_ns(frame)
    data_end = int(t_all.max())
    if keep_all:  # strict funnels: every event matters
        rows = np.arange(len(frame), dtype=np.int64)
    else:
        rows = np.flatnonzero(relevant_cat[ev_codes]).astype(np.int64, copy=False)
    u = unit_code[rows]
    t = t_all[rows]
    K = len(spec.steps)
    pos = cat_pos[ev_codes[rows]]
    order = _sort_order(u, t, pos, n_units=len(unit_ids), n_pos=K + 1)
    rows, u, t = rows[order], u[order], t[order]
    stage_code = journey._assign(_RowsView(frame, rows), ev_codes[rows], categories, u, check=False)
    if any(not isinstance(r, Rule) for st in stages_all for r in st.rules):
        # repeat()/after() may move an event to a later stage: re-sort ties by final position.
        spos = np.full(len(stages_all) + 1, K, dtype=np.int16)
        for k in range(K - 1, -1, -1):
            spos[int(spec.steps[k])] = k
        final_pos = spos[stage_code]  # -1 -> last entry (K)
        if not np.array_equal(final_pos, pos[order]):
            o2 = np.lexsort((final_pos, t, u))
            rows, u, t, stage_code = rows[o2], u[o2], t[o2], stage_code[o2]
    code = np.where(stage_code < n_stages, stage_code, -1).astype(np.int16)
    # exclusion symbols -----------------------------------------------------------------
    for (sym, _, _), rule in zip(excl, excl_rules):
        m = rule._row_mask(_RowsView(frame, rows), rule._match_names(categories), ev_codes[rows]) & (code < 0)
        code[m] = sym
    return Prepared(
        frame=frame,
        n_rows=len(frame),
        rows=rows,
        unit=u,
        t=t,
        stage_code=stage_code,
        code=code,
        unit_ids=unit_ids,
        unit_name=unit_name,
        spec=spec,
        exclude=excl,
        exclude_names=list(syms.exclude_names),
        data_end=data_end,
        unit_all=unit_code,
        dropped=dict(frame.attrs.get("funnelkit_dropped", {}) or {}),
    )
