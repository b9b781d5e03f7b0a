"""Rules that select a journey's events (private module of :mod:`funnelkit.journey`).

:class:`Rule` selects events by name, shell-style glob or regular expression, and
optionally by properties (``where=``); :func:`repeat` selects the n-th occurrence of
an event in the unit, :func:`after` the events once the unit reached a stage. The
engine evaluates plain rules block by block and ``repeat``/``after`` inside a bucket
(:func:`_nth_in_unit`, :func:`_after_first`), where each unit's history is whole.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

import numpy as np
import pandas as pd

from ..errors import JourneyError

__all__ = ["AfterRule", "OptionalStep", "RepeatRule", "Rule", "after", "optional", "repeat"]


_GLOB_CHARS = frozenset("*?[")


def _as_names(events: str | Iterable[str] | None) -> tuple[str, ...]:
    if events is None:
        return ()
    if isinstance(events, str):
        return (events,)
    out = tuple(events)
    for e in out:
        if not isinstance(e, str):
            raise JourneyError(
                f"Event names must be strings; got {type(e).__name__} {e!r}. "
                "Write e.g. ['landing', 'ad_click']."
            )
    return out


def _check_where(where: Any) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    if where is None:
        return ()
    if not isinstance(where, Mapping) or not where:
        raise JourneyError(
            f"`where=` must be a non-empty mapping of property column to allowed value(s), "
            f"e.g. where={{'channel': ['newsletter', 'social']}}; got {where!r}."
        )
    out = []
    for col, val in where.items():
        if not isinstance(col, str):
            raise JourneyError(f"`where=` keys must be column names (strings); got {col!r}.")
        vals = tuple(val) if isinstance(val, (list, tuple, set, frozenset)) else (val,)
        if not vals:
            raise JourneyError(f"`where={{{col!r}: ...}}` lists no value.")
        out.append((col, tuple(sorted(vals, key=repr)) if isinstance(val, (set, frozenset)) else vals))
    return tuple(sorted(out))


@dataclass(frozen=True)
class Rule:
    """Select events by name, glob or regular expression, optionally by properties.

    Parameters
    ----------
    events : str or sequence of str, optional
        Event names. A name containing ``*``, ``?`` or ``[`` is a shell-style glob.
    regex : str, optional
        A regular expression matched (``re.fullmatch``) against event names.
    where : mapping, optional
        ``{column: value_or_values}``: the event's property must equal one of them.

    Examples
    --------
    >>> Rule(["landing", "ad_*"], where={"channel": "paid_ads"})
    Rule(events=('landing', 'ad_*'), regex=None, where=(('channel', ('paid_ads',)),))
    """

    events: tuple[str, ...] = ()
    regex: str | None = None
    where: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    def __init__(
        self,
        events: str | Iterable[str] | None = None,
        *,
        regex: str | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> None:
        names = _as_names(events)
        if regex is not None:
            try:
                re.compile(regex)
            except re.error as exc:
                raise JourneyError(f"Invalid regular expression {regex!r}: {exc}.") from None
        if not names and regex is None:
            raise JourneyError(
                "A rule needs event names, a glob or a regex, e.g. Rule(['landing']) "
                "or Rule(regex=r'^checkout_')."
            )
        object.__setattr__(self, "events", names)
        object.__setattr__(self, "regex", regex)
        object.__setattr__(self, "where", _check_where(where))

    # -- matching -------------------------------------------------------------
    def _match_names(self, categories: Sequence[str]) -> np.ndarray:
        """Boolean mask over ``categories`` of the names this rule selects."""
        cats = list(categories)
        mask = np.zeros(len(cats), dtype=bool)
        index = {c: i for i, c in enumerate(cats)}
        for name in self.events:
            if _GLOB_CHARS.intersection(name):
                for i, c in enumerate(cats):
                    if fnmatch.fnmatchcase(c, name):
                        mask[i] = True
            elif name in index:
                mask[index[name]] = True
        if self.regex is not None:
            pat = re.compile(self.regex)
            for i, c in enumerate(cats):
                if pat.fullmatch(c):
                    mask[i] = True
        return mask

    def _unmatched(self, categories: Sequence[str]) -> list[str]:
        """Names and patterns of this rule that select no event of ``categories``."""
        cats = list(categories)
        missing = []
        for name in self.events:
            if _GLOB_CHARS.intersection(name):
                if not any(fnmatch.fnmatchcase(c, name) for c in cats):
                    missing.append(name)
            elif name not in set(cats):
                missing.append(name)
        if self.regex is not None and not any(re.fullmatch(self.regex, c) for c in cats):
            missing.append(f"regex {self.regex!r}")
        return missing

    def _row_mask(self, frame: pd.DataFrame, name_mask: np.ndarray, event_codes: np.ndarray) -> np.ndarray:
        rows = name_mask[event_codes] if len(name_mask) else np.zeros(len(event_codes), bool)
        for col, vals in self.where:
            if col not in frame.columns:
                raise JourneyError(
                    f"A journey rule has where={{{col!r}: ...}} but the event log has no column {col!r}. "
                    f"Available columns: {', '.join(map(str, frame.columns))}."
                )
            rows = rows & frame[col].isin(list(vals)).to_numpy(dtype=bool)
        return rows

    def _to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.events:
            d["events"] = list(self.events)
        if self.regex is not None:
            d["regex"] = self.regex
        if self.where:
            d["where"] = {c: (list(v) if len(v) != 1 else v[0]) for c, v in self.where}
        return d

    def _describe(self) -> str:
        parts = []
        if self.events:
            parts.append(", ".join(self.events))
        if self.regex is not None:
            parts.append(f"/{self.regex}/")
        s = " | ".join(parts)
        if self.where:
            s += " where " + ", ".join(f"{c} in {list(v)}" for c, v in self.where)
        return s


@dataclass(frozen=True)
class RepeatRule:
    """The ``nth`` occurrence of an event in the unit. Built by :func:`repeat`."""

    rule: Rule
    nth: int

    def _to_dict(self) -> dict[str, Any]:
        return {"repeat": {**self.rule._to_dict(), "nth": self.nth}}

    def _describe(self) -> str:
        return f"occurrence #{self.nth} of {self.rule._describe()}"


@dataclass(frozen=True)
class AfterRule:
    """Events of ``rule`` once the unit has reached stage ``stage``. Built by :func:`after`."""

    stage: str
    rule: Rule

    def _to_dict(self) -> dict[str, Any]:
        return {**self.rule._to_dict(), "after": self.stage}

    def _describe(self) -> str:
        return f"{self.rule._describe()} after reaching {self.stage!r}"


AnyRule = Union[Rule, RepeatRule, AfterRule]


def repeat(event: str | Iterable[str] | Rule, nth: int = 2, *, where: Mapping[str, Any] | None = None) -> RepeatRule:
    """Select the ``nth`` occurrence of an event within the unit (user or session).

    ``repeat("purchase", nth=2)`` is the classic loyalty stage: the second purchase.
    Occurrences are counted in the unit's event order (timestamp, then input row).
    The selected occurrence belongs to this stage even if a plain rule of another
    stage also names the event (repeat rules take precedence).

    Examples
    --------
    >>> repeat("purchase", nth=2)
    RepeatRule(rule=Rule(events=('purchase',), regex=None, where=()), nth=2)
    """
    if isinstance(nth, bool) or not isinstance(nth, (int, np.integer)) or nth < 1:
        raise JourneyError(f"repeat(..., nth={nth!r}): nth must be a positive integer such as 2.")
    rule = event if isinstance(event, Rule) else Rule(event, where=where)
    return RepeatRule(rule=rule, nth=int(nth))


def after(stage: str, events: str | Iterable[str] | Rule, *, where: Mapping[str, Any] | None = None) -> AfterRule:
    """Select events only once the unit has reached ``stage``.

    ``after("purchase", ["app_open", "review"])``: app usage counts as the *use*
    stage only after the unit's first purchase; earlier app opens belong to no stage.
    "After" means later in the unit's event order; an event at the same timestamp as
    the stage's first event but later in input order also counts.

    Examples
    --------
    >>> after("purchase", ["app_open", "review"]).stage
    'purchase'
    """
    if not isinstance(stage, str):
        raise JourneyError(f"after(stage, ...) needs a stage name, got {stage!r}.")
    rule = events if isinstance(events, Rule) else Rule(events, where=where)
    return AfterRule(stage=stage, rule=rule)


def _nth_in_unit(mask: np.ndarray, unit_sorted: np.ndarray, nth: int) -> np.ndarray:
    """Rows that are the ``nth`` True of ``mask`` within their unit (rows already sorted)."""
    pos = np.flatnonzero(mask)
    out = np.zeros(len(mask), dtype=bool)
    if len(pos) < nth:
        return out
    u = unit_sorted[pos]
    # the row nth-1 places further among matching rows is in the same unit iff it is the nth.
    first = np.ones(len(pos), dtype=bool)
    first[1:] = u[1:] != u[:-1]
    starts = np.flatnonzero(first)
    cand = starts + (nth - 1)
    ok = cand < len(pos)
    cand, starts = cand[ok], starts[ok]
    same = u[cand] == u[starts]
    out[pos[cand[same]]] = True
    return out


def _after_first(reached: np.ndarray, unit_sorted: np.ndarray) -> np.ndarray:
    """Rows strictly after (in sorted order) their unit's first ``reached`` row."""
    n = len(reached)
    out = np.zeros(n, dtype=bool)
    if n == 0 or not reached.any():
        return out
    idx = np.arange(n)
    first_pos = np.where(reached, idx, n)
    # minimum of first_pos within each unit (units are contiguous runs)
    bounds = np.flatnonzero(np.r_[True, unit_sorted[1:] != unit_sorted[:-1]])
    unit_min = np.minimum.reduceat(first_pos, bounds)
    run_len = np.diff(np.r_[bounds, n])
    first_of_row = np.repeat(unit_min, run_len)
    out = idx > first_of_row
    return out


@dataclass(frozen=True)
class OptionalStep:
    """A funnel step that may be skipped without breaking the chain. Built by :func:`optional`."""

    spec: Any  # what the step would be: an event name, a list of names, or a rule


def optional(step: Any) -> OptionalStep:
    """Mark a funnel step as optional (PostHog's optional steps): units may skip it.

    Use it in a funnel's list of steps, ``["landing", fk.optional("coupon"), "purchase"]``,
    or as a stage of a journey, ``fk.Journey({"in": "landing", "coupon":
    fk.optional("coupon"), "buy": "purchase"})``. The required steps decide each unit's
    attempt and depth; the optional step's row counts the units whose reported attempt
    passed it (an event of it between the attempt's events of the steps around it).
    The first step cannot be optional.

    Examples
    --------
    >>> optional("coupon")
    OptionalStep(spec='coupon')
    """
    if isinstance(step, OptionalStep):
        return step
    return OptionalStep(step)
