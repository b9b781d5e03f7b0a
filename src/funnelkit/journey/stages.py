"""Customer-journey stages: which event belongs to which stage.

A :class:`Journey` is an ordered list of :class:`Stage` objects. Each stage has a
name, an English and a Spanish label, and one or more rules that select the events
belonging to it:

* event names (``"purchase"``), shell-style globs (``"product_*"``) or regular
  expressions (``Rule(regex=r"^checkout_")``), optionally restricted by properties
  (``Rule(["landing"], where={"channel": ["newsletter", "social"]})``);
* :func:`repeat` -- the k-th occurrence of an event in the unit (loyalty = second
  purchase);
* :func:`after` -- events of a rule only once the unit has reached another stage
  (use = app usage after the first purchase).

One event belongs to at most one stage: events matched by the plain rules of two
stages raise :class:`~funnelkit.errors.OverlappingRulesError` naming them, except
that :func:`repeat` and :func:`after` rules take precedence over plain ones.

Four presets from the customer-journey literature give names and labels
(``Journey.preset("five_stage", events={...})``); any other journey can be defined
by hand, from a list of event names, or from a TOML file.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union

import numpy as np
import pandas as pd

from ..errors import JourneyError, ParameterError, UnknownEventError, UnknownStageError
from .rules import AfterRule, AnyRule, OptionalStep, RepeatRule, Rule, after, repeat

__all__ = ["Journey", "Stage", "Rule", "repeat", "after", "PRESETS"]

Lang = Literal["en", "es"]

#: The presets: stage names with their English and Spanish labels (DESIGN §3).
PRESETS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "five_stage": (
        ("discovery", "Discovery", "Descubrimiento"),
        ("consideration", "Consideration", "Consideración"),
        ("purchase", "Purchase", "Compra"),
        ("use", "Use", "Uso"),
        ("loyalty", "Loyalty", "Fidelización"),
    ),
    "digital_four": (
        ("awareness", "Awareness", "Conciencia"),
        ("engagement", "Engagement", "Compromiso"),
        ("transaction", "Transaction", "Transacción"),
        ("retention", "Retention", "Retención"),
    ),
    "three_phase": (
        ("before_purchase", "Before purchase", "Antes de la compra"),
        ("during_purchase", "During purchase", "Durante la compra"),
        ("after_purchase", "After purchase", "Después de la compra"),
    ),
    "seven_stage": (
        ("awareness", "Awareness", "Conciencia"),
        ("consideration", "Consideration", "Consideración"),
        ("decision", "Decision", "Decisión"),
        ("purchase", "Purchase", "Compra"),
        ("post_purchase", "Post-purchase experience", "Experiencia posterior a la compra"),
        ("loyalty", "Loyalty", "Lealtad"),
        ("advocacy", "Advocacy", "Promoción"),
    ),
}



# --------------------------------------------------------------------------- rules












StageSpec = Union[str, Sequence[Union[str, AnyRule]], AnyRule]






def _rules_from_spec(spec: Any, stage: str) -> tuple[AnyRule, ...]:
    if isinstance(spec, (Rule, RepeatRule, AfterRule)):
        return (spec,)
    if isinstance(spec, str):
        return (Rule(spec),)
    if isinstance(spec, Sequence) and not isinstance(spec, (bytes, bytearray)):
        names = [s for s in spec if isinstance(s, str)]
        others = [s for s in spec if not isinstance(s, str)]
        for o in others:
            if not isinstance(o, (Rule, RepeatRule, AfterRule)):
                raise JourneyError(
                    f"Stage {stage!r}: cannot use {o!r} as a rule. Use event names, "
                    "Rule(...), repeat(...) or after(...)."
                )
        rules: list[AnyRule] = [Rule(names)] if names else []
        rules.extend(others)
        if not rules:
            raise JourneyError(f"Stage {stage!r} has no rule: give at least one event name.")
        return tuple(rules)
    raise JourneyError(
        f"Stage {stage!r}: cannot use {type(spec).__name__} {spec!r} as its events. "
        "Give a list of event names, Rule(...), repeat(...) or after(...)."
    )


# --------------------------------------------------------------------------- stages


@dataclass(frozen=True)
class Stage:
    """One stage of a journey: a name, its labels and the rules selecting its events."""

    name: str
    rules: tuple[AnyRule, ...]
    label_en: str = ""
    label_es: str = ""
    optional: bool = False  # as a funnel step: may be skipped (see funnelkit.optional)

    def label(self, lang: Lang = "en") -> str:
        """The stage's label in ``lang``: a Spanish page falls back to the English label, then to
        the name (a journey with only ``label_en`` never shows stage ids)."""
        lab = (self.label_es or self.label_en) if lang == "es" else self.label_en
        return lab or self.name

    def _to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name}
        if self.label_en:
            d["label_en"] = self.label_en
        if self.label_es:
            d["label_es"] = self.label_es
        if self.optional:
            d["optional"] = True
        if len(self.rules) == 1:
            d.update(self.rules[0]._to_dict())
        else:
            d["rules"] = [r._to_dict() for r in self.rules]
        return d


def _rule_from_dict(d: Mapping[str, Any], stage: str) -> AnyRule:
    d = dict(d)
    allowed = {"events", "regex", "where", "after", "repeat"}
    unknown = set(d) - allowed
    if unknown:
        raise JourneyError(
            f"Stage {stage!r}: unknown key(s) {sorted(unknown)} in its rule; allowed: {sorted(allowed)}."
        )
    if "repeat" in d:
        r = dict(d.pop("repeat"))
        nth = r.pop("nth", 2)
        inner = Rule(r.get("events"), regex=r.get("regex"), where=r.get("where"))
        if d:
            raise JourneyError(f"Stage {stage!r}: `repeat` cannot be combined with {sorted(d)}.")
        return repeat(inner, nth=nth)
    base = Rule(d.get("events"), regex=d.get("regex"), where=d.get("where"))
    if "after" in d:
        return after(d["after"], base)
    return base


# --------------------------------------------------------------------------- journey


class Journey:
    """An ordered customer journey: stages and the events that belong to each.

    Parameters
    ----------
    stages : mapping of stage name to events, or sequence of :class:`Stage`
        ``{"discovery": ["landing"], "purchase": "purchase", ...}`` in journey order.
        Each value is an event name, a list of names/globs, a :class:`Rule`,
        :func:`repeat`, :func:`after`, or a list mixing them (their union).
    name : str, optional
        A name for the journey (shown in reports).
    labels : mapping, optional
        ``{stage: (label_en, label_es)}`` labels; default: the stage names.
    lang : {"en", "es"}
        Default language of labels in tables and plots.

    Examples
    --------
    >>> import funnelkit as fk
    >>> j = fk.Journey({"visit": ["landing"], "cart": "add_to_cart", "buy": "purchase"})
    >>> j.names
    ('visit', 'cart', 'buy')
    >>> fk.Journey.preset("five_stage", lang="es", events={
    ...     "discovery": ["landing", "ad_click"], "consideration": ["product_view"],
    ...     "purchase": ["purchase"], "use": fk.after("purchase", ["app_open"]),
    ...     "loyalty": fk.repeat("purchase", nth=2)}).labels()
    ('Descubrimiento', 'Consideración', 'Compra', 'Uso', 'Fidelización')
    """

    def __init__(
        self,
        stages: Mapping[str, StageSpec] | Sequence[Stage],
        *,
        name: str | None = None,
        labels: Mapping[str, tuple[str, str]] | None = None,
        lang: Lang = "en",
    ) -> None:
        if lang not in ("en", "es"):
            raise ParameterError(f"`lang`={lang!r} is not supported; use 'en' or 'es'.")
        built: list[Stage] = []
        if isinstance(stages, Mapping):
            labels = dict(labels or {})
            for sname, spec in stages.items():
                if not isinstance(sname, str) or not sname:
                    raise JourneyError(f"Stage names must be non-empty strings; got {sname!r}.")
                en, es = labels.pop(sname, ("", ""))
                opt = isinstance(spec, OptionalStep)
                built.append(Stage(sname, _rules_from_spec(spec.spec if opt else spec, sname), en, es, opt))
            if labels:
                raise UnknownStageError(
                    f"`labels` names stage(s) {sorted(labels)} that are not in the journey "
                    f"({', '.join(s.name for s in built)})."
                )
        else:
            for s in stages:
                if not isinstance(s, Stage):
                    raise JourneyError(
                        f"Journey(...) takes a mapping {{stage: events}} or a list of Stage; got {s!r}."
                    )
                built.append(s)
        if not built:
            raise JourneyError("A journey needs at least one stage.")
        names = [s.name for s in built]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise JourneyError(f"Stage names must be unique; repeated: {dup}.")
        for s in built:
            for r in s.rules:
                if isinstance(r, AfterRule):
                    if r.stage not in names:
                        raise UnknownStageError(
                            f"Stage {s.name!r} uses after({r.stage!r}, ...) but the journey has no stage "
                            f"{r.stage!r}." + _suggest(r.stage, names)
                        )
                    if r.stage == s.name:
                        raise JourneyError(f"Stage {s.name!r} cannot be after({s.name!r}, ...) itself.")
        self._stages: tuple[Stage, ...] = tuple(built)
        self.name = name
        self.lang: Lang = lang
        self._after_order()  # raises on cycles

    # -- constructors -----------------------------------------------------------
    @classmethod
    def preset(
        cls,
        preset: Literal["five_stage", "digital_four", "three_phase", "seven_stage"] = "five_stage",
        *,
        events: Mapping[str, StageSpec],
        lang: Lang = "en",
        name: str | None = None,
    ) -> Journey:
        """A journey with a preset's stage names and labels and your events.

        Stages of the preset that ``events`` does not mention are left out (with their
        order kept); a key that is not a stage of the preset raises
        :class:`~funnelkit.errors.UnknownStageError` with the closest name.

        Examples
        --------
        >>> Journey.preset("digital_four", events={"awareness": "landing",
        ...     "transaction": "purchase"}).names
        ('awareness', 'transaction')
        """
        if preset not in PRESETS:
            raise ParameterError(
                f"Unknown preset {preset!r}; choose one of {', '.join(map(repr, PRESETS))}."
                + _suggest(str(preset), list(PRESETS))
            )
        spec = PRESETS[preset]
        known = [s[0] for s in spec]
        for key in events:
            if key not in known:
                raise UnknownStageError(
                    f"{key!r} is not a stage of the {preset!r} preset (stages: {', '.join(known)})."
                    + _suggest(str(key), known)
                )
        stages = [
            Stage(sname, _rules_from_spec(getattr(events[sname], "spec", events[sname]), sname), en, es,
                  isinstance(events[sname], OptionalStep))
            for sname, en, es in spec
            if sname in events
        ]
        return cls(stages, name=name or preset, lang=lang)

    @classmethod
    def from_steps(cls, steps: Sequence[str | Sequence[str]], *, lang: Lang = "en") -> Journey:
        """A journey with one stage per event name (or per list of names).

        ``Journey.from_steps(["landing", "product_view", "purchase"])`` is the funnel
        landing -> product_view -> purchase. Repeated names are allowed only in
        :func:`funnelkit.funnel` step lists (``["A", "A", "B"]``), not in journeys.
        """
        mapping: dict[str, StageSpec] = {}
        for s in steps:
            key = s if isinstance(s, str) else " | ".join(s)
            if key in mapping:
                raise JourneyError(
                    f"Step {key!r} appears twice. A journey's stages are distinct; to require "
                    "an event twice pass the plain list to funnelkit.funnel, e.g. ['A', 'A', 'B']."
                )
            mapping[key] = s if isinstance(s, str) else list(s)
        return cls(mapping, lang=lang)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Journey:
        """Build a journey from the dictionary form written by :meth:`to_dict`."""
        if "stages" not in data:
            raise JourneyError("A journey definition needs a `stages` list (see Journey.to_toml).")
        stages = []
        for i, sd in enumerate(data["stages"]):
            sd = dict(sd)
            sname = sd.pop("name", None)
            if not isinstance(sname, str):
                raise JourneyError(f"Stage #{i + 1} of the journey definition has no `name`.")
            if "label" in sd:
                raise JourneyError(
                    f"Stage {sname!r}: there is no bare `label` key; give `label_en` and/or `label_es` "
                    "(the English and Spanish labels; a Spanish page falls back to label_en)."
                )
            en, es = sd.pop("label_en", ""), sd.pop("label_es", "")
            for key, val in (("label_en", en), ("label_es", es)):
                if not isinstance(val, str):
                    raise JourneyError(f"Stage {sname!r}: `{key}` must be text, got {val!r}.")
            opt = sd.pop("optional", False)
            if not isinstance(opt, bool):
                raise JourneyError(f"Stage {sname!r}: `optional` must be true or false, got {opt!r}.")
            if "rules" in sd:
                rules = tuple(_rule_from_dict(r, sname) for r in sd.pop("rules"))
                if sd:
                    raise JourneyError(f"Stage {sname!r}: give either `rules` or one rule's keys, not both.")
            else:
                rules = (_rule_from_dict(sd, sname),)
            stages.append(Stage(sname, rules, en, es, opt))
        preset = data.get("preset")
        if preset is not None:
            table = {n: (en, es) for n, en, es in PRESETS.get(preset, ())}
            stages = [
                Stage(s.name, s.rules, s.label_en or table.get(s.name, ("", ""))[0],
                      s.label_es or table.get(s.name, ("", ""))[1], s.optional)
                for s in stages
            ]
        return cls(stages, name=data.get("name"), lang=data.get("lang", "en"))

    @classmethod
    def from_toml(cls, path: str | Path) -> Journey:
        """Read a journey from a TOML file.

        The file has optional ``name``, ``lang`` and ``preset`` keys and one
        ``[[stages]]`` table per stage, in order::

            name = "shop"
            preset = "five_stage"          # labels come from the preset
            [[stages]]
            name = "discovery"
            events = ["landing", "ad_click"]
            [[stages]]
            name = "use"
            events = ["app_open"]
            after = "purchase"
            [[stages]]
            name = "loyalty"
            repeat = { events = ["purchase"], nth = 2 }

        A stage may also hold several rules as ``rules = [{...}, {...}]`` and a
        ``where = {channel = "store"}`` condition. Labels are ``label_en = "Discovery"`` and
        ``label_es = "Descubrimiento"`` (a Spanish page falls back to ``label_en``, then to
        the name; there is no bare ``label``); ``optional = true`` marks a step that may be
        skipped. ``funnelkit journey init journey.toml`` writes a commented template.
        """
        try:
            import tomllib  # type: ignore[import-not-found]
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib  # type: ignore[no-redef]
        p = Path(path)
        if not p.is_file():
            raise JourneyError(f"Journey file {str(p)!r} does not exist. Check the path.")
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise JourneyError(f"Journey file {str(p)!r} is not valid TOML: {exc}.") from None
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """The journey as plain data (what :meth:`to_toml` writes)."""
        d: dict[str, Any] = {}
        if self.name:
            d["name"] = self.name
        d["lang"] = self.lang
        d["stages"] = [s._to_dict() for s in self._stages]
        return d

    def to_toml(self, path: str | Path | None = None) -> str:
        """Write the journey as TOML to ``path`` (if given) and return the text."""
        import tomli_w

        text = tomli_w.dumps(self.to_dict())
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    # -- accessors ------------------------------------------------------------
    @property
    def stages(self) -> tuple[Stage, ...]:
        return self._stages

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self._stages)

    def labels(self, lang: Lang | None = None) -> tuple[str, ...]:
        """Stage labels in ``lang`` (default: the journey's language)."""
        lang = lang or self.lang
        if lang not in ("en", "es"):
            raise ParameterError(f"`lang`={lang!r} is not supported; use 'en' or 'es'.")
        return tuple(s.label(lang) for s in self._stages)

    def __len__(self) -> int:
        return len(self._stages)

    def __iter__(self):
        return iter(self._stages)

    def __getitem__(self, key: str | int) -> Stage:
        if isinstance(key, str):
            for s in self._stages:
                if s.name == key:
                    return s
            raise UnknownStageError(
                f"The journey has no stage {key!r} (stages: {', '.join(self.names)})."
                + _suggest(key, self.names)
            )
        return self._stages[key]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Journey) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(repr(self.to_dict()))

    def __repr__(self) -> str:
        lines = [f"Journey({self.name!r}, {len(self)} stages, lang={self.lang!r})"]
        for i, s in enumerate(self._stages, 1):
            lines.append(f"  {i}. {s.name} [{s.label(self.lang)}]: " + "; ".join(r._describe() for r in s.rules))
        return "\n".join(lines)

    def with_lang(self, lang: Lang) -> Journey:
        """The same journey with labels in ``lang``."""
        return Journey(list(self._stages), name=self.name, lang=lang)

    def select(self, stages: Sequence[str]) -> Journey:
        """A journey with only ``stages`` (stage names, in the order given).

        Rules of kept stages that refer to a dropped stage with :func:`after` keep
        working: the dropped stage is still evaluated to know when the unit reached it.
        """
        if isinstance(stages, str):
            stages = [stages]
        keep = [self[s] for s in stages]
        if not keep:
            raise JourneyError("select() needs at least one stage name.")
        return _SelectedJourney(self, keep)

    # -- assignment -------------------------------------------------------------
    def _all_stages(self) -> tuple[Stage, ...]:
        """Stages evaluated when assigning codes (visible ones first)."""
        return self._stages

    def _after_order(self) -> list[int]:
        """Indexes of all stages in an order where every after(stage) target comes first."""
        stages = self._all_stages()
        idx = {s.name: i for i, s in enumerate(stages)}
        deps = {i: {idx[r.stage] for r in s.rules if isinstance(r, AfterRule)} for i, s in enumerate(stages)}
        order: list[int] = []
        state: dict[int, int] = {}

        def visit(i: int, path: list[str]) -> None:
            if state.get(i) == 2:
                return
            if state.get(i) == 1:
                raise JourneyError("after(...) rules form a cycle: " + " -> ".join(path + [stages[i].name]) + ".")
            state[i] = 1
            for d in sorted(deps[i]):
                visit(d, path + [stages[i].name])
            state[i] = 2
            order.append(i)

        for i in range(len(stages)):
            visit(i, [])
        return order

    def check_events(self, categories: Iterable[str], *,
                     on_unknown: Literal["warn", "raise"] = "warn") -> None:
        """Check that every event name and pattern of every rule matches an event of the log.

        A step that no event matches is a valid funnel step (the event may not have
        happened yet in this slice of data): it counts zero units. By default such a
        name gets one :class:`~funnelkit.errors.FunnelkitWarning` naming the closest
        event names of the log (``"purchse"``: did you mean ``'purchase'``?). With
        ``on_unknown="raise"`` it raises :class:`~funnelkit.errors.UnknownEventError`
        instead, for users who want typos to fail.

        Parameters
        ----------
        categories : iterable of str
            The event names of the log.
        on_unknown : {"warn", "raise"}, default "warn"
            What a name that matches no event does.

        Examples
        --------
        >>> import warnings, funnelkit as fk
        >>> j = fk.Journey({"visit": "landing", "buy": "purchse"})
        >>> with warnings.catch_warnings(record=True) as w:
        ...     warnings.simplefilter("always")
        ...     j.check_events(["landing", "purchase"])
        >>> "did you mean 'purchase'" in str(w[0].message)
        True
        >>> j.check_events(["landing", "purchase"], on_unknown="raise")
        Traceback (most recent call last):
        ...
        funnelkit.errors.UnknownEventError: The event log has no event matching 'purchse' (stage 'buy'; did you mean 'purchase'?). Check the spelling, or pass on_unknown='warn' to count such steps as zero.
        """
        import warnings

        from .._params import cut_value
        from ..io.normalize import _stacklevel
        from ..errors import FunnelkitWarning

        on_unknown = _check_on_unknown(on_unknown)
        cats = list(categories)
        missing = []
        for s in self._all_stages():
            for r in s.rules:
                base = r.rule if isinstance(r, (RepeatRule, AfterRule)) else r
                for m in base._unmatched(cats):
                    missing.append(f"{cut_value(m)} (stage {cut_value(s.name)}; {_closest(m, cats)})")
        if not missing:
            return
        if on_unknown == "raise":
            raise UnknownEventError(
                "The event log has no event matching " + "; ".join(missing)
                + ". Check the spelling, or pass on_unknown='warn' to count such steps as zero."
            )
        warnings.warn(
            "No event of the log matches " + "; ".join(missing)
            + ": those steps count zero units. Check the names if that is unexpected "
            "(on_unknown='raise' makes this an error).",
            FunnelkitWarning,
            stacklevel=_stacklevel(),
        )

    def _overlap_message(self, categories: Sequence[str]) -> str:
        stages = self._all_stages()
        conflicts: dict[str, list[str]] = {}
        for c, cat in enumerate(categories):
            owners = []
            for s in stages:
                for r in s.rules:
                    if isinstance(r, Rule) and r._match_names([cat])[0]:
                        owners.append(s.name)
                        break
            if len(owners) > 1:
                conflicts[str(cat)] = owners
        detail = "; ".join(f"{ev!r} in stages {', '.join(map(repr, owners))}" for ev, owners in sorted(conflicts.items()))
        return (
            "One event can belong to only one stage, but the journey's rules overlap: "
            + (detail or "some events match several stages under their where= conditions")
            + ". Remove the event from all but one stage, or narrow the rules with where=."
        )

    def assign_stages(self, events: pd.DataFrame, *, unit: Literal["user", "session"] = "user") -> pd.Series:
        """The stage of every event of ``events`` (a categorical Series, NaN = no stage).

        Useful to check a journey before computing a funnel. The result is aligned
        with ``events`` (same index and order).

        Examples
        --------
        >>> import funnelkit as fk, pandas as pd
        >>> ev = pd.DataFrame({"user_id": [1, 1, 1], "event": ["landing", "purchase", "purchase"],
        ...     "timestamp": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:05",
        ...                                  "2024-01-02 09:00"], utc=True)})
        >>> j = fk.Journey({"visit": "landing", "buy": "purchase", "again": fk.repeat("purchase", 2)})
        >>> j.assign_stages(ev).tolist()
        ['visit', 'buy', 'again']
        """
        from ..io import _names
        from ..io import normalize as _schema
        from ..engine.bucket_stages import assign_stages

        frame = _schema.ensure_events(events)
        if unit not in ("user", "session"):
            raise ParameterError(f"`unit`={unit!r}: use 'user' or 'session'.")
        unit_col = _names.USER if unit == "user" else "session_id"
        if unit_col not in frame.columns:
            from ..errors import MissingColumnError

            raise MissingColumnError(
                "unit='session' needs a 'session_id' column, which the event log does not have. "
                "Fix: run events = funnelkit.sessionize(events, timeout='30min') first."
            )
        codes = assign_stages(frame, self, unit_col=unit_col)
        names = list(self.names)
        cat = pd.Categorical.from_codes(np.where(codes >= len(names), -1, codes), categories=names)
        index = events.index if isinstance(events, pd.DataFrame) and len(events) == len(frame) else frame.index
        return pd.Series(cat, index=index, name="stage")


class _SelectedJourney(Journey):
    """A journey restricted to some stages; dropped stages stay as hidden ones for after()."""

    def __init__(self, parent: Journey, keep: Sequence[Stage]) -> None:
        self._stages = tuple(keep)
        self.name = parent.name
        self.lang = parent.lang
        kept = {s.name for s in keep}
        needed: list[Stage] = []
        frontier = list(keep)
        while frontier:
            s = frontier.pop()
            for r in s.rules:
                if isinstance(r, AfterRule) and r.stage not in kept:
                    kept.add(r.stage)
                    st = parent[r.stage]
                    needed.append(st)
                    frontier.append(st)
        self._hidden = tuple(needed)
        self._after_order()

    def _all_stages(self) -> tuple[Stage, ...]:
        return self._stages + self._hidden

    def with_lang(self, lang: Lang) -> Journey:
        j = _SelectedJourney.__new__(_SelectedJourney)
        j._stages, j._hidden, j.name, j.lang = self._stages, self._hidden, self.name, lang
        return j






def _suggest(name: str, choices: Iterable[str], *, short: bool = False) -> str:
    """' Did you mean ...?' with the closest choices (case-insensitive), or ''."""
    choices = [str(c) for c in choices]
    lowered: dict[str, str] = {}
    for c in choices:
        lowered.setdefault(c.lower(), c)
    close = difflib.get_close_matches(str(name).lower(), list(lowered), n=3, cutoff=0.6)
    close = [lowered[c] for c in close if lowered[c] != name]
    if not close:
        return ""
    if short:
        return f" (did you mean {', '.join(map(repr, close))}?)"
    return f" Did you mean {', '.join(map(repr, close))}?"


def _closest(name: str, choices: Iterable[str]) -> str:
    """'did you mean ...?' with the close event names, else the closest ones (for messages)."""
    choices = [str(c) for c in choices]
    hint = _suggest(name, choices, short=True).strip()
    if hint:
        return hint[1:-1]  # without the parentheses
    lowered = {c.lower(): c for c in sorted(choices, reverse=True)}
    close = difflib.get_close_matches(str(name).lower(), list(lowered), n=3, cutoff=0.0)
    if not close:
        return "the log has no events"
    return "closest event names: " + ", ".join(repr(lowered[c]) for c in close)


def _check_on_unknown(on_unknown: Any) -> str:
    """``on_unknown`` checked: 'warn' or 'raise' (ParameterError otherwise)."""
    if on_unknown not in ("warn", "raise"):
        raise ParameterError(
            f"`on_unknown`={on_unknown!r} is not valid; choose 'warn' (a step no event matches counts "
            "zero, with a warning) or 'raise' (an UnknownEventError)."
        )
    return str(on_unknown)
