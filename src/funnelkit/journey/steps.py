"""A funnel's steps, resolved from a journey or a list of events, and its exclusions (private).

:func:`resolve_steps` turns what the user passes (a :class:`~funnelkit.Journey`, or a
list of event names / lists of names, names may repeat) into a :class:`StepSpec`:
one journey stage per distinct step and the stage of each step. :func:`symbol_table`
validates the exclusions against the funnel (steps given by name or 1-based number,
an excluded event that is also a step) and numbers them for the kernels.
:func:`needed_columns` lists the property columns a computation reads. The engine
(:mod:`funnelkit.engine`) takes it from there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..io import _names
from ..errors import JourneyError, ParameterError, UnknownStageError
from .rules import OptionalStep
from .stages import AfterRule, Journey, RepeatRule, Rule, _closest, _suggest

__all__ = ["StepSpec", "Symbols", "needed_columns", "resolve_steps", "symbol_table"]


@dataclass(frozen=True)
class StepSpec:
    """The funnel's steps: a journey of distinct symbols and the symbol of each step."""

    journey: Journey  # one stage per distinct symbol (plus hidden stages for after())
    steps: np.ndarray  # symbol index of each step, length K
    names: tuple[str, ...]  # unique step names (table's `step` column)
    labels: tuple[str, ...]  # labels in the journey's language
    optional: tuple[bool, ...] = ()  # per step: may be skipped (funnelkit.optional); () = none

    @property
    def any_optional(self) -> bool:
        return any(self.optional)


def resolve_steps(journey_or_steps: Any, *, lang: str | None = None) -> StepSpec:
    """Turn a Journey or a plain list of events / event lists into a :class:`StepSpec`."""
    if isinstance(journey_or_steps, Journey):
        j = journey_or_steps if lang is None else journey_or_steps.with_lang(lang)  # type: ignore[arg-type]
        opt = tuple(bool(s.optional) for s in j.stages)
        _check_optional(opt, j.names)
        return StepSpec(j, np.arange(len(j), dtype=np.int16), j.names, j.labels(), opt if any(opt) else ())
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
    opt: list[bool] = []
    for it in items:
        opt.append(isinstance(it, OptionalStep))
        if isinstance(it, OptionalStep):
            it = it.spec
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
    _check_optional(tuple(opt), names)
    return StepSpec(j, steps, tuple(names), tuple(names), tuple(opt) if any(opt) else ())


def _check_optional(opt: tuple[bool, ...], names: Sequence[str]) -> None:
    """The first step cannot be optional; an optional step's event may not repeat another step's."""
    if opt and opt[0]:
        raise JourneyError(
            f"The first step {names[0]!r} cannot be optional: every attempt starts with it. "
            "Fix: make it required, or drop it."
        )


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
        if c is not None and c not in cols and c not in _names.REQUIRED:
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
    """A funnel's exclusions, validated against its steps and the log's event names.

    ``exclude`` holds the kernels' ``(symbol, from_step, to_step)`` triples (exclusion
    symbols come after the journey's stages, hidden ones included), ``exclude_rules``
    the rule selecting each excluded event. Which rows each rule selects, and at which
    position, the engine's plan evaluates block by block.
    """

    exclude: tuple[tuple[int, int, int], ...]
    exclude_rules: list[Rule]
    exclude_names: tuple[str, ...]


def symbol_table(
    spec: StepSpec,
    categories: Sequence[str],
    exclude: Sequence[tuple[Any, Any, Any]] | None,
    *,
    check_events: bool = True,
    on_unknown: str = "warn",
) -> Symbols:
    """Validate the exclusions and map every category to its role (see :class:`Symbols`).

    With ``check_events``, an excluded event that the log does not have warns (it then
    excludes nothing) or, with ``on_unknown="raise"``, raises ``UnknownEventError``.
    """
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
                if on_unknown == "raise":
                    from ..errors import UnknownEventError

                    raise UnknownEventError(
                        f"exclude={item!r}: the event log has no event {what!r} ({_closest(what, categories)})."
                        " Check the spelling, or pass on_unknown='warn' to exclude nothing."
                    )
                import warnings

                from ..errors import FunnelkitWarning
                from ..io.normalize import _stacklevel

                warnings.warn(
                    f"exclude={item!r}: the event log has no event {what!r} ({_closest(what, categories)}); "
                    "it excludes nothing (on_unknown='raise' makes this an error).",
                    FunnelkitWarning, stacklevel=_stacklevel(),
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

    return Symbols(tuple(excl), excl_rules, tuple(excl_names))
