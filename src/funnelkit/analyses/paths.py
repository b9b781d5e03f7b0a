"""Paths: the most frequent paths of units, drop-off paths of a funnel step, transition
and step matrices (DESIGN §7; semantics in ``docs/paths.md``).

Every function here runs the engine's generic driver (:mod:`funnelkit.engine.drive`)
with the paths bucket function (:mod:`funnelkit.engine.bucket_paths`), so a frame, a
Parquet file read out of core (``memory_budget=``) and a Dask DataFrame give the same
numbers; this module turns the merged count tables into tidy result objects.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._params import check_choice
from .._polars import PolarsMixin
from ..errors import JourneyError, MissingColumnError, ParameterError
from ..io.columns import log_columns

__all__ = [
    "DropoffPathsResult",
    "PATHS_COLUMNS",
    "PathsResult",
    "StepMatrixResult",
    "TransitionMatrixResult",
    "dropoff_paths",
    "paths",
    "step_matrix",
    "transition_matrix",
]

Unit = Literal["user", "session"]
Occurrences = Literal["first", "every"]
Direction = Literal["after", "before"]

ARROW = " → "
ELLIPSIS = "…"
OTHER = "other"
END = "(end)"
NO_EVENT = {"after": "(no further event)", "before": "(no earlier event)"}

#: Columns of :attr:`PathsResult.table`, in order.
PATHS_COLUMNS: tuple[str, ...] = (
    "rank", "path", "tokens", "n_tokens", "elided", "units", "units_total", "unit_share",
    "paths", "paths_total", "path_share", "median_time",
)
LINK_COLUMNS: tuple[str, ...] = ("position", "source", "target", "units", "paths", "units_total", "unit_share")
NODE_COLUMNS: tuple[str, ...] = ("position", "token", "units", "paths", "units_total", "unit_share")


# --------------------------------------------------------------------------- results


def _html_table(caption: str, table: pd.DataFrame, notes: Sequence[str] = ()) -> str:
    shown = table.drop(columns=[c for c in ("tokens",) if c in table.columns])
    body = shown.to_html(index=False, escape=True, border=0, max_rows=40)
    foot = "".join(f"<p style='margin:2px 0;color:#555'>{html.escape(n)}</p>" for n in notes)
    return f"<div class='funnelkit-result'><p><b>{html.escape(caption)}</b></p>{body}{foot}</div>"


@dataclass(frozen=True)
class PathsResult(PolarsMixin):
    """The result of :func:`paths`.

    Attributes
    ----------
    table : DataFrame
        The top paths, most units first, with the columns of :data:`PATHS_COLUMNS`:
        ``path`` (tokens joined by ``" → "``; ``"…"`` marks tokens left out of a path
        between two anchors longer than ``length``), ``tokens`` (a tuple), ``units``
        (distinct units with the path), ``unit_share`` = ``units / units_total``
        (units with any path), ``paths`` (occurrences), ``path_share`` = ``paths /
        paths_total`` and ``median_time`` (from the path's first to its last token, see
        ``docs/paths.md`` for its resolution). The last row, ``"other"``, gathers the
        paths below ``top`` / ``min_share`` (its ``units`` is ``<NA>`` with
        ``occurrences="every"``, where a unit may have several of them).
    links : DataFrame
        Flow-diagram links over *all* paths: ``position`` (of the source token,
        1-based), ``source``, ``target``, ``units``, ``paths``, ``units_total``,
        ``unit_share``.
    nodes : DataFrame
        Tokens per position: ``position``, ``token``, ``units``, ``paths``,
        ``units_total``, ``unit_share``; positions past a path's end count as ``"(end)"``.
    params : dict
        The parameters that made the result.
    diagnostics : dict
        Units in the log, units with a path, rows read.
    """

    table: pd.DataFrame
    links: pd.DataFrame
    nodes: pd.DataFrame
    params: dict[str, Any]
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The path table (a copy)."""
        return self.table.copy()

    def plot(self, *, ax: Any = None, **kwargs: Any):
        """A flow diagram of the paths (:func:`funnelkit.plotting.paths.flow`); returns the Axes."""
        from ..plotting.paths import flow

        return flow(self, ax=ax, **kwargs)

    def _repr_html_(self) -> str:
        p = self.params
        cap = f"Paths: length {p['length']} · tokens {p['tokens']} · unit {p['unit']} · {p['occurrences']} occurrence"
        return _html_table(cap, _fmt(self.table), [f"{self.diagnostics.get('units_with_path', 0)} units with a path."])

    def __repr__(self) -> str:
        return f"PathsResult({len(self.table)} rows, length={self.params['length']})\n" + \
            _fmt(self.table).drop(columns="tokens").to_string(index=False)


@dataclass(frozen=True)
class DropoffPathsResult(PolarsMixin):
    """The result of :func:`dropoff_paths`: what the units that dropped out at a step did
    next (or before), beside what the units that converted did.

    Attributes
    ----------
    table : DataFrame
        One row per path (most dropped units first, ``"other"`` last): ``path``,
        ``tokens``, ``n_tokens``, ``dropped_units``, ``dropped_total``,
        ``dropped_share``, ``converted_units``, ``converted_total``,
        ``converted_share``, ``share_difference`` (``dropped_share -
        converted_share``), ``median_time_dropped``, ``median_time_converted``. A unit
        with no event in the range has the empty path ``"(no further event)"``
        (``"(no earlier event)"`` before the step).
    params : dict
        The step, direction, length and the funnel's window and unit.
    """

    table: pd.DataFrame
    params: dict[str, Any]

    def to_frame(self) -> pd.DataFrame:
        """The table (a copy)."""
        return self.table.copy()

    def plot(self, *, ax: Any = None, **kwargs: Any):
        """Dropped vs converted shares per path (:func:`funnelkit.plotting.paths.dropoff`)."""
        from ..plotting.paths import dropoff

        return dropoff(self, ax=ax, **kwargs)

    def _repr_html_(self) -> str:
        p = self.params
        cap = f"Paths {p['direction']} step {p['step']!r} ({p['step_number']}): dropped vs converted"
        return _html_table(cap, _fmt(self.table))


@dataclass(frozen=True)
class TransitionMatrixResult(PolarsMixin):
    """The result of :func:`transition_matrix`.

    Attributes
    ----------
    table : DataFrame
        One row per (group, source, target): ``group``, ``source``, ``target``,
        ``transitions``, ``source_transitions`` (all transitions out of ``source`` in
        the group), ``probability`` = ``transitions / source_transitions``, ``units``
        (distinct units with the transition), ``median_time``.
    difference : DataFrame or None
        With two groups: per (source, target) the probabilities ``probability_a``,
        ``probability_b`` (and their denominators) and ``difference`` (b − a).
    params : dict
    """

    table: pd.DataFrame
    difference: pd.DataFrame | None
    params: dict[str, Any]

    def matrix(self, value: str = "probability", group: Any = None) -> pd.DataFrame:
        """The (source × target) matrix of ``value`` for one group (default: the first)."""
        t = self.table
        g = t["group"].iloc[0] if group is None and len(t) else group
        sub = t[t["group"] == g]
        return sub.pivot(index="source", columns="target", values=value).fillna(0)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def plot(self, *, ax: Any = None, **kwargs: Any):
        """The matrix as a heatmap (:func:`funnelkit.plotting.paths.transition_heatmap`)."""
        from ..plotting.paths import transition_heatmap

        return transition_heatmap(self, ax=ax, **kwargs)

    def _repr_html_(self) -> str:
        return _html_table("Transition matrix", _fmt(self.table))


@dataclass(frozen=True)
class StepMatrixResult(PolarsMixin):
    """The result of :func:`step_matrix`.

    Attributes
    ----------
    table : DataFrame
        One row per (group, position, token): ``units`` with ``token`` at ``position``
        (1-based) of their path, ``units_total`` (units of the group with a path) and
        ``share``; ``"(end)"`` counts the units whose path ended before.
    difference : DataFrame or None
        With two groups: ``share_a``, ``share_b`` and ``difference`` (b − a).
    params : dict
    """

    table: pd.DataFrame
    difference: pd.DataFrame | None
    params: dict[str, Any]

    def matrix(self, group: Any = None) -> pd.DataFrame:
        """The (token × position) matrix of shares for one group (default: the first)."""
        t = self.table
        g = t["group"].iloc[0] if group is None and len(t) else group
        return t[t["group"] == g].pivot(index="token", columns="position", values="share").fillna(0)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def plot(self, *, ax: Any = None, **kwargs: Any):
        from ..plotting.paths import step_heatmap

        return step_heatmap(self, ax=ax, **kwargs)

    def _repr_html_(self) -> str:
        return _html_table("Step matrix", _fmt(self.table))


def _fmt(table: pd.DataFrame) -> pd.DataFrame:
    from .funnel import _fmt_td

    out = table.copy()
    for c in out.columns:
        if c.endswith("share") or c in ("probability", "share_difference", "difference"):
            out[c] = out[c].map(lambda v: "" if pd.isna(v) else f"{v:.1%}")
        elif c.startswith("median_time"):
            out[c] = out[c].map(_fmt_td)
    return out


# --------------------------------------------------------------------------- parameter checks


def _check_int(value: Any, name: str, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo or (hi is not None and value > hi):
        rng = f">= {lo}" if hi is None else f"between {lo} and {hi}"
        raise ParameterError(f"`{name}`={value!r} must be an integer {rng}.")
    return int(value)


def _memory_budget(events: Any, memory_budget: Any) -> int | None:
    """As for a funnel (:func:`funnelkit.analyses.funnel._memory_budget`)."""
    from .funnel import _memory_budget as funnel_budget

    return funnel_budget(events, memory_budget)


def _tmp_dir(tmp_dir: Any) -> Any:
    """As for a funnel (:func:`funnelkit.analyses.funnel._tmp_dir`): checked before any work."""
    from .funnel import _tmp_dir as funnel_tmp_dir

    return funnel_tmp_dir(tmp_dir)


def _unit_col(events: Any, unit: str, session_col: str) -> str:
    from ..io._names import USER

    unit = check_choice(unit, name="unit", choices=("user", "session"))
    if unit == "user":
        return USER
    cols = log_columns(events)
    if cols is not None and session_col not in cols:
        raise MissingColumnError(
            f"unit='session' needs the session column {session_col!r}, which the event log lacks "
            f"(columns: {', '.join(cols[:12])}). Run fk.sessionize(events) first, or pass "
            "session_col= naming your session column."
        )
    return session_col


def _anchor_spec(value: Any, name: str) -> Any:
    from ..journey.rules import Rule

    if isinstance(value, str) and value:
        return value
    if isinstance(value, Rule):
        return value
    if isinstance(value, Sequence) and not isinstance(value, str) and value and all(isinstance(x, str) for x in value):
        return list(value)
    raise ParameterError(
        f"`{name}`={value!r}: give an event name, a list of event names or a funnelkit.Rule "
        f"(with journey=, a stage name), e.g. {name}='landing'."
    )


# --------------------------------------------------------------------------- running the engine


def _drive(events: Any, req: Any, spec: Any) -> tuple[Any, list[Any], list[Any]]:
    """Run the paths bucket function; the merged count tables and the codes' values.

    Returns ``(tables, event_names, attr_values, diagnostics)`` folded over Dask partitions
    (each partition's codes recoded to one sorted dictionary)."""
    from ..engine import bucket_paths as bp
    from ..engine.dask import is_dask_frame
    from ..engine.drive import drive, recode, run_units

    if is_dask_frame(events):
        parts = run_units(events, req, functools.partial(bp.run_bucket, spec))
        ev_names, ev_luts = recode([p.event_names for p in parts])
        at_values, at_luts = recode([p.attr_values for p in parts])
        tabs = []
        for p, el, al in zip(parts, ev_luts, at_luts):
            merged = bp.merge_tables(p.results) if p.results else {}
            tabs.append(_recode(merged, spec, el, al))
        tables = bp.merge_tables(tabs) if tabs else {}
        diag = {"rows": sum(p.n_rows for p in parts), "units_in_log": sum(len(p.unit_ids) for p in parts)}
        return tables, ev_names, at_values, diag
    acc = bp.Accumulator()

    def fn(rows: Any) -> None:
        acc.add(bp.run_bucket(spec, rows))

    d = drive(events, req, fn)
    tables = acc.result() or {}
    diag = {"rows": d.n_rows, "units_in_log": len(d.unit_ids), "spilled": d.spilled}
    return tables, list(d.event_names), list(d.attr_values), diag


def _lut_apply(col: np.ndarray, lut: np.ndarray) -> np.ndarray:
    return np.where(col >= 0, lut[np.clip(col, 0, None)], col)


def _recode(tables: dict[str, Any], spec: Any, ev_lut: np.ndarray, at_lut: np.ndarray) -> dict[str, Any]:
    tok_lut = {"event": ev_lut, "attr": at_lut}.get(spec.tokens)
    L = spec.length
    cols = {"paths": range(1, L + 1), "hist": range(1, L + 1), "links": (2, 3), "pos": (2,),
            "trans": (1, 2), "trans_hist": (1, 2)}
    out = {}
    for name, (keys, vals) in tables.items():
        keys = keys.copy()
        if tok_lut is not None and name in cols:
            for c in cols[name]:
                keys[:, c] = _lut_apply(keys[:, c], tok_lut)
        if name == "frictions" and len(keys):
            ev = keys[:, 1] == 0
            keys[ev, 2] = _lut_apply(keys[ev, 2], ev_lut)
            keys[~ev, 2] = _lut_apply(keys[~ev, 2], at_lut)
        if spec.group_from_attr and len(keys):
            keys[:, 0] = _lut_apply(keys[:, 0], at_lut)
        out[name] = (keys, vals)
    return out


def _table(tables: dict[str, Any], name: str, c: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    if name in tables:
        return tables[name]
    return np.zeros((0, c), dtype=np.int64), np.zeros((0, w), dtype=np.int64)


def _medians(path_keys: np.ndarray, hist_keys: np.ndarray, hist_n: np.ndarray) -> np.ndarray:
    """Median duration (ns, float; NaN without durations) of each row of ``path_keys``
    from the log-binned histogram ``hist_keys`` = (path key..., bin) with counts."""
    from ..engine.bucket_paths import _dense, bin_centre_ns

    m = len(path_keys)
    out = np.full(m, np.nan)
    if not m or not len(hist_keys):
        return out
    both = np.concatenate([path_keys, hist_keys[:, :-1]])
    _, inv = _dense(both)
    pcode, hcode = inv[:m], inv[m:]
    order = np.lexsort((hist_keys[:, -1], hcode))
    hc, hb, hn = hcode[order], hist_keys[order, -1], hist_n[order]
    nk = int(inv.max()) + 1
    total = np.bincount(hc, weights=hn, minlength=nk)
    cs = np.cumsum(hn)
    startrow = np.searchsorted(hc, np.arange(nk), side="left")
    before = np.concatenate(([0], cs))[startrow]
    within = cs - before[hc]
    rank = (total + 1) // 2
    hit = np.flatnonzero(within >= rank[hc])
    kk, first = np.unique(hc[hit], return_index=True)
    med = np.full(nk, np.nan)
    med[kk] = bin_centre_ns(hb[hit[first]])
    return med[pcode]


def _top_medians(top_keys: np.ndarray, hist_keys: np.ndarray, hist_n: np.ndarray) -> tuple[np.ndarray, float]:
    """Medians of the kept paths, and of all the others together (their histograms summed),
    without mapping every histogram row to its path (the histogram of a long log is big)."""
    from ..engine.bucket_paths import _pack

    if not len(hist_keys):
        return np.full(len(top_keys), np.nan), float("nan")
    m = len(top_keys)
    packed = _pack(np.concatenate([top_keys, hist_keys[:, :-1]]))
    if packed is None:  # pragma: no cover - keys wider than 62 bits
        mine = np.isin(_owner(top_keys, hist_keys), np.arange(m))
    else:
        k = packed[0]
        mine = np.isin(k[m:], k[:m])
        del k, packed
    med = _medians(top_keys, hist_keys[mine], hist_n[mine]) if m else np.zeros(0)
    bins = hist_keys[:, -1].astype(np.int64)
    nb = int(bins.max()) + 1
    rest = np.bincount(bins, weights=hist_n, minlength=nb) - np.bincount(bins[mine], weights=hist_n[mine], minlength=nb)
    return med, _median_of(np.arange(nb), np.round(rest).astype(np.int64))


def _owner(path_keys: np.ndarray, hist_keys: np.ndarray) -> np.ndarray:
    """For each histogram row (path key..., bin), the row of ``path_keys`` it belongs to
    (-1: none)."""
    from ..engine.bucket_paths import _dense

    m = len(path_keys)
    if not len(hist_keys):
        return np.zeros(0, dtype=np.int64)
    _, inv = _dense(np.concatenate([path_keys, hist_keys[:, :-1]]))
    where = np.full(int(inv.max()) + 1, -1, dtype=np.int64)
    where[inv[:m]] = np.arange(m)
    return where[inv[m:]]


def _median_of(hist_bins: np.ndarray, hist_n: np.ndarray) -> float:
    from ..engine.bucket_paths import bin_centre_ns

    if not len(hist_n) or hist_n.sum() == 0:
        return float("nan")
    order = np.argsort(hist_bins, kind="stable")
    b, nn = hist_bins[order], hist_n[order]
    cs = np.cumsum(nn)
    r = (cs[-1] + 1) // 2
    return float(bin_centre_ns(np.array([b[np.searchsorted(cs, r)]]))[0])


def _td(ns: np.ndarray) -> pd.Series:
    return pd.to_timedelta(pd.Series(np.round(ns)), unit="ns")


def _labeler(kind: str, ev_names: list[str], at_values: list[Any], journey: Any, lang: str | None) -> np.ndarray:
    if kind == "event":
        vals = list(ev_names)
    elif kind == "attr":
        vals = [str(v) for v in at_values]
    else:
        vals = list(journey.labels(lang)) if lang else list(journey.names)
    return np.asarray(vals + [END], dtype=object)  # code -1 -> "(end)"


def _path_strings(M: np.ndarray, elided: np.ndarray, labels: np.ndarray, empty: str) -> tuple[list[str], list[tuple]]:
    names, toks = [], []
    for row, el in zip(M.tolist(), elided.tolist()):
        tt = tuple(str(labels[c]) for c in row if c >= 0)
        toks.append(tt)
        if not tt:
            names.append(empty)
            continue
        parts = list(tt)
        if el:
            parts = parts[:-1] + [ELLIPSIS, parts[-1]]
        names.append(ARROW.join(parts))
    return names, toks


# --------------------------------------------------------------------------- fk.paths


def _request_and_spec(events: Any, *, length: int, start: Any, end: Any, journey: Any, attr_col: Any,
                      unit: str, session_col: str, collapse: bool, occurrences: str,
                      memory_budget: Any, want: tuple[str, ...], extra_needed: Sequence[Any] = (),
                      group_col: Any = None, group: Any = None, tmp_dir: Any = None):
    from ..engine.bucket_paths import PathSpec
    from ..engine.drive import DriveRequest
    from ..journey.stages import Journey

    if journey is not None and attr_col is not None:
        raise ParameterError(
            "Give either journey= (stage tokens) or attr_col= (a property's values as tokens), not both."
        )
    if journey is not None and not isinstance(journey, Journey):
        raise JourneyError(f"`journey` must be a funnelkit.Journey; got {type(journey).__name__} {journey!r}.")
    if group_col is not None and attr_col is not None:
        raise ParameterError(
            f"by={group_col!r} cannot be combined with attr_col={attr_col!r} (both read a property); "
            "pass by= a Series of groups indexed by unit id instead."
        )
    tokens = "stage" if journey is not None else ("attr" if attr_col is not None else "event")
    unit_col = _unit_col(events, unit, session_col)
    if tokens == "attr" and attr_col in (unit_col, "user_id", "timestamp"):
        raise ParameterError(f"`attr_col`={attr_col!r} is a key column; name a property column (e.g. 'page').")
    budget = _memory_budget(events, memory_budget)
    tmp_dir = _tmp_dir(tmp_dir)
    needed: list[Any] = [unit_col] if unit_col != "user_id" else []
    for c in (attr_col, group_col, *extra_needed):
        if c is not None and c not in needed:
            needed.append(c)
    start_mask = end_mask = 0
    anchor_bits = "raw"
    req_journey = None
    if tokens == "stage":
        names = list(journey.names)
        req_journey = journey
        anchor_bits = "stage"
        for val, nm in ((start, "start"), (end, "end")):
            if val is None:
                continue
            if not isinstance(val, str):
                raise ParameterError(f"`{nm}`={val!r}: with journey=, anchors are stage names ({', '.join(names)}).")
            journey[val]  # UnknownStageError naming the stages
        start_mask = 0 if start is None else 1 << names.index(start)
        end_mask = 0 if end is None else 1 << names.index(end)
    elif start is not None or end is not None:
        stages: dict[str, Any] = {}
        if start is not None:
            stages["start"] = _anchor_spec(start, "start")
        if end is not None:
            stages["end"] = _anchor_spec(end, "end")
        req_journey = Journey(stages)
        start_mask = 1 if start is not None else 0
        end_mask = (2 if start is not None else 1) if end is not None else 0
    align = "tail" if (end is not None and start is None) else "head"
    spec = PathSpec(tokens=tokens, length=length, collapse=bool(collapse), anchor_bits=anchor_bits,  # type: ignore[arg-type]
                    start_mask=start_mask, end_mask=end_mask, occurrences=occurrences,  # type: ignore[arg-type]
                    align=align, want=want, group=group, group_from_attr=group_col is not None)  # type: ignore[arg-type]
    req = DriveRequest(journey=req_journey, unit_col=unit_col, events=tokens == "event" or req_journey is not None and tokens != "stage",
                       attr_col=attr_col if attr_col is not None else group_col,
                       keep="matched" if tokens == "stage" else "all", needed=tuple(needed),
                       memory_budget=budget, tmp_dir=tmp_dir, progress=True, purpose="paths")
    return req, spec, tokens


def _check_common(length: Any, collapse: Any, occurrences: Any, top: Any, min_share: Any, lang: Any) -> None:
    _check_int(length, "length", 1, 64)
    if not isinstance(collapse, (bool, np.bool_)):
        raise ParameterError(f"`collapse`={collapse!r} must be True or False.")
    check_choice(occurrences, name="occurrences", choices=("first", "every"))
    if top is not None:
        _check_int(top, "top", 1)
    if min_share is not None and (isinstance(min_share, bool) or not isinstance(min_share, (int, float)) or not 0 <= min_share <= 1):
        raise ParameterError(f"`min_share`={min_share!r} must be a fraction in [0, 1] (e.g. 0.01).")
    if lang is not None:
        check_choice(lang, name="lang", choices=("en", "es"))


def paths(
    events: Any,
    *,
    length: int = 5,
    start: Any = None,
    end: Any = None,
    journey: Any = None,
    attr_col: Any = None,
    unit: Unit = "user",
    session_col: str = "session_id",
    collapse: bool = True,
    occurrences: Occurrences = "first",
    top: int | None = 20,
    min_share: float | None = None,
    lang: Literal["en", "es"] | None = None,
    memory_budget: int | str | None = None,
    tmp_dir: Any = None,
) -> PathsResult:
    """The most frequent paths of units (PostHog Paths, Amplitude Pathfinder).

    Each unit's history is its rows sorted by time (ties at one time by token value);
    its *tokens* are the event names, the journey stages (``journey=``) or the values
    of a property (``attr_col=``); with ``collapse=True`` a token equal to the
    previous one of the unit is dropped. A path is up to ``length`` consecutive
    tokens: from the unit's first token (no anchor), from its first ``start`` (or every
    one, ``occurrences="every"``; with neither anchor, ``"every"`` counts every
    n-gram), up to its first ``end`` (the ``length`` tokens before it and ``end``), or
    from ``start`` to the first ``end`` after it (longer ones keep the first
    ``length - 1`` tokens and ``end``, with ``"…"``). See ``docs/paths.md``.

    Parameters
    ----------
    events : DataFrame, path or anything :func:`funnelkit.read_events` accepts (or a Dask DataFrame)
    length : int, default 5
        Tokens per path (1..64).
    start, end : str, list of str or Rule, optional
        Anchors: an event name, names or a :class:`funnelkit.Rule` (``where=`` on
        properties allowed); with ``journey=``, a stage name.
    journey : Journey, optional
        Tokens are the journey's stages (an event in no stage is not a token; an event
        in several, the first in journey order).
    attr_col : str, optional
        Tokens are this property's values (rows where it is null are not tokens).
    unit : {"user", "session"}
        ``"session"`` needs a session column (:func:`funnelkit.sessionize`).
    session_col : str, default "session_id"
    collapse : bool, default True
        Collapse immediate repeats of a token.
    occurrences : {"first", "every"}
        One path per unit, or one per anchor occurrence (per position without anchor).
    top : int or None, default 20
        Keep at most this many paths, the rest as ``"other"``.
    min_share : float, optional
        Keep only paths with at least this ``unit_share``.
    lang : {"en", "es"}, optional
        Stage labels' language (``journey=``); default: stage names.
    memory_budget : int or str, optional
        For a Parquet path: spill buckets beyond this many bytes (``"256MB"``).
    tmp_dir : str or path, optional
        Where buckets spill beyond ``memory_budget`` (default: the system temporary
        directory); checked before any work, as for :func:`funnelkit.funnel`.

    Returns
    -------
    PathsResult

    Examples
    --------
    >>> import pandas as pd, funnelkit as fk
    >>> ev = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 3],
    ...                    "timestamp": pd.to_datetime([1, 2, 3, 1, 5, 1], unit="m", utc=True),
    ...                    "event": ["home", "home", "cart", "home", "cart", "help"]})
    >>> from funnelkit.analyses.paths import paths
    >>> res = paths(ev, length=2)
    >>> res.table[["path", "units", "unit_share"]]
               path  units  unit_share
    0  home → cart      2    0.666667
    1         help      1    0.333333
    >>> paths(ev, start="cart", length=2).table["path"].tolist()
    ['cart']
    """
    _check_common(length, collapse, occurrences, top, min_share, lang)
    req, spec, tokens = _request_and_spec(
        events, length=length, start=start, end=end, journey=journey, attr_col=attr_col, unit=unit,
        session_col=session_col, collapse=collapse, occurrences=occurrences, memory_budget=memory_budget,
        want=("paths", "hist"), tmp_dir=tmp_dir)
    tables, ev_names, at_values, diag = _drive(events, req, spec)
    if req.journey is not None and tokens != "stage":
        req.journey.check_events(ev_names)  # an anchor no event matches: a warning naming the closest
    labels = _labeler(tokens, ev_names, at_values, journey, lang)
    L = length
    pk, pv = _table(tables, "paths", L + 2, 2)
    hk, hn = _table(tables, "hist", L + 3, 1)
    tk, tv = _table(tables, "ptot", 1, 2)
    units_total = int(tv[:, 0].sum()) if len(tv) else 0
    paths_total = int(tv[:, 1].sum()) if len(tv) else 0
    # rank: units desc, occurrences desc, then tokens by value (the keys' sorted order)
    primary, secondary = (pv[:, 1], pv[:, 0]) if occurrences == "first" else (pv[:, 0], pv[:, 1])
    order = np.lexsort((np.arange(len(pk)), -secondary, -primary)) if len(pk) else np.zeros(0, np.int64)
    shares = pv[:, 1] / units_total if units_total else np.zeros(len(pv))
    keep = order
    if min_share is not None:
        keep = keep[shares[keep] >= min_share]
    if top is not None:
        keep = keep[:top]
    rest = np.setdiff1d(order, keep)
    med, other_med = _top_medians(pk[keep], hk, hn[:, 0])
    names, toks = _path_strings(pk[keep, 1:L + 1], pk[keep, L + 1], labels, END)
    table = pd.DataFrame({
        "rank": np.arange(1, len(keep) + 1, dtype=np.int64),
        "path": names, "tokens": toks, "n_tokens": np.asarray([len(t) for t in toks], dtype=np.int64),
        "elided": pk[keep, L + 1].astype(bool),
        "units": pd.array(pv[keep, 1], dtype="Int64"), "units_total": units_total,
        "unit_share": shares[keep] if len(keep) else np.zeros(0),
        "paths": pv[keep, 0].astype(np.int64), "paths_total": paths_total,
        "path_share": pv[keep, 0] / paths_total if paths_total else np.zeros(len(keep)),
        "median_time": _td(med) if len(keep) else pd.Series([], dtype="timedelta64[ns]"),
    })
    if len(rest):
        o_units = int(pv[rest, 1].sum()) if occurrences == "first" else pd.NA
        other = pd.DataFrame({
            "rank": [pd.NA], "path": [OTHER], "tokens": [()], "n_tokens": [pd.NA], "elided": [False],
            "units": pd.array([o_units], dtype="Int64"), "units_total": [units_total],
            "unit_share": [np.nan if o_units is pd.NA else o_units / units_total],
            "paths": [int(pv[rest, 0].sum())], "paths_total": [paths_total],
            "path_share": [pv[rest, 0].sum() / paths_total],
            "median_time": _td(np.array([other_med])),
        })
        table = pd.concat([table, other], ignore_index=True)
        table["rank"] = table["rank"].astype("Int64")
        table["n_tokens"] = table["n_tokens"].astype("Int64")
    table = table[list(PATHS_COLUMNS)]
    links, nodes = _links_nodes(pk, pv, L, spec.align, occurrences == "first", labels, units_total)
    params = dict(length=length, start=start, end=end, tokens=tokens, attr_col=attr_col, unit=unit,
                  session_col=session_col, collapse=bool(collapse), occurrences=occurrences, top=top,
                  min_share=min_share, lang=lang, align=spec.align if not (start is not None and end is not None) else "between",
                  journey=journey)
    diag.update(units_with_path=units_total, paths_total=paths_total)
    return PathsResult(table=table, links=links, nodes=nodes, params=params, diagnostics=diag)


def _links_nodes(pk: np.ndarray, pv: np.ndarray, L: int, align: str, exact_units: bool, labels: np.ndarray,
                 units_total: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Flow links (position j -> j+1) and tokens per position, summed over every distinct
    path. Units add up exactly when each unit has one path (``occurrences="first"``);
    otherwise they are ``<NA>``."""
    from ..engine.bucket_paths import groupsum

    M = pk[:, 1:L + 1]
    lrows, nrows = [], []
    for j in range(L):
        tok = M[:, j]
        ok = tok >= 0 if align == "tail" else np.ones(len(tok), dtype=bool)
        nrows.append((np.column_stack([np.full(int(ok.sum()), j + 1), tok[ok]]), pv[ok]))
        if j < L - 1:
            ok = (M[:, j] >= 0) & (M[:, j + 1] >= 0)
            lrows.append((np.column_stack([np.full(int(ok.sum()), j + 1), M[ok, j], M[ok, j + 1]]), pv[ok]))

    def build(rows, w):
        if not rows or not sum(len(r[0]) for r in rows):
            return np.zeros((0, w), np.int64), np.zeros((0, 2), np.int64)
        return groupsum(np.concatenate([r[0] for r in rows]), np.concatenate([r[1] for r in rows]))

    def units_col(v):
        arr = pd.array(v[:, 1], dtype="Int64")
        return arr if exact_units else pd.array([pd.NA] * len(v), dtype="Int64")

    lk, lv = build(lrows, 3)
    share = (lv[:, 1] / units_total) if units_total and exact_units else np.full(len(lv), np.nan)
    links = pd.DataFrame({
        "position": lk[:, 0].astype(np.int64), "source": labels[lk[:, 1]].astype(str),
        "target": labels[lk[:, 2]].astype(str), "units": units_col(lv), "paths": lv[:, 0].astype(np.int64),
        "units_total": units_total, "unit_share": share,
    })
    links = links.sort_values(["position", "paths", "source", "target"], ascending=[True, False, True, True],
                              kind="stable").reset_index(drop=True)
    nk, nv = build(nrows, 2)
    share = (nv[:, 1] / units_total) if units_total and exact_units else np.full(len(nv), np.nan)
    nodes = pd.DataFrame({
        "position": nk[:, 0].astype(np.int64), "token": labels[nk[:, 1]].astype(str), "units": units_col(nv),
        "paths": nv[:, 0].astype(np.int64), "units_total": units_total, "unit_share": share,
    })
    nodes = nodes.sort_values(["position", "paths", "token"], ascending=[True, False, True],
                              kind="stable").reset_index(drop=True)
    return links, nodes


# --------------------------------------------------------------------------- drop-off paths


def _funnel_groups(result: Any, step: Any, what: str) -> tuple[int, str, pd.DataFrame, np.ndarray]:
    """The step index, its name, each unit's step times under the exact step names (indexed
    by unit) and each unit's level (steps reached)."""
    from ..journey.steps import _step_index

    if not (hasattr(result, "units") and hasattr(result, "steps") and hasattr(result, "params")):
        raise ParameterError(f"`result` must be a FunnelResult (fk.funnel(...)); got {type(result).__name__}.")
    steps = list(result.steps)
    k = _step_index(step, steps, "step")
    if k >= len(steps) - 1:
        raise ParameterError(
            f"step={step!r} is the funnel's last step: {what} compares the units that reached it and "
            f"the next step with those that did not; use a step from 1 to {len(steps) - 1}."
        )
    if result.params.get("mode", "ordered") == "any_order":
        raise ParameterError("`result` is an any_order funnel: its steps have no order to drop out between.")
    # step times under the exact step names (a step named like a units column, e.g. "level",
    # has its column renamed in result.units); the level apart, for a step may be named so
    from .funnel import step_time_frame

    return k, steps[k], step_time_frame(result), result.units["level"].to_numpy()


def _ns(col: pd.Series) -> np.ndarray:
    return col.to_numpy(dtype="datetime64[ns]").astype(np.int64)


def dropoff_paths(
    events: Any,
    result: Any,
    *,
    step: int | str,
    length: int = 3,
    direction: Direction = "after",
    collapse: bool = True,
    top: int | None = 10,
    session_col: str = "session_id",
    memory_budget: int | str | None = None,
    tmp_dir: Any = None,
) -> DropoffPathsResult:
    """Where the units that dropped out at a funnel step went instead, beside the converters.

    For the units of ``result`` (a :class:`funnelkit.FunnelResult` of the same
    ``events``) that reached ``step`` but not the next one (*dropped*), and those that
    reached the next one (*converted*), the path of the next ``length`` events strictly
    after their step event (``direction="after"``: within the funnel's window, i.e. up
    to the step-1 time + window with ``window_from="entry"``, the step's time + window
    with ``"previous"``), or of the ``length`` events strictly before it
    (``"before"``: within one window before it). Shares of each group, their
    difference, and the median time along the path.

    Parameters
    ----------
    events : the funnel's event log
    result : FunnelResult
    step : int (1-based) or str
        A step with a next step.
    length : int, default 3
    direction : {"after", "before"}
    collapse : bool, default True
    top : int or None, default 10
        Paths kept (the most dropped units first, then the most converted); the rest as
        ``"other"``.
    session_col : str, default "session_id"
        The session column, for a funnel with ``unit="session"``.
    memory_budget, tmp_dir : optional
        As for :func:`paths`: spill beyond this many bytes for a Parquet path, and where.

    Examples
    --------
    >>> import pandas as pd, funnelkit as fk
    >>> from funnelkit.analyses.paths import dropoff_paths
    >>> ev = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 2, 3, 3],
    ...                    "timestamp": pd.to_datetime([1, 2, 3, 1, 2, 3, 1, 2], unit="m", utc=True),
    ...                    "event": ["view", "cart", "buy", "view", "help", "exit", "view", "help"]})
    >>> res = fk.funnel(ev, ["view", "buy"], window="1h")
    >>> dp = dropoff_paths(ev, res, step=1, length=1)
    >>> dp.table[["path", "dropped_units", "dropped_share", "converted_units"]]
       path  dropped_units  dropped_share  converted_units
    0  help              2            1.0                0
    1  cart              0            0.0                1
    """
    from ..engine.bucket_paths import PathSpec
    from ..engine.drive import DriveRequest

    _check_common(length, collapse, "first", top, None, None)
    direction = check_choice(direction, name="direction", choices=("after", "before"))  # type: ignore[assignment]
    k, step_name, units, level = _funnel_groups(result, step, "dropoff_paths")
    unit = result.params.get("unit", "user")
    unit_col = _unit_col(events, unit, session_col)
    budget = _memory_budget(events, memory_budget)
    tmp_dir = _tmp_dir(tmp_dir)
    reached = level >= k + 1
    idx = units.index[reached]
    grp = pd.Series(np.where(level[reached] >= k + 2, 1, 0), index=idx)
    tk = _ns(units[step_name])[reached]
    win = result.params.get("window")
    w = None if win is None else int(pd.Timedelta(win).value)
    big, small = np.iinfo(np.int64).max, np.iinfo(np.int64).min
    if direction == "after":
        lo = tk
        if w is None:
            hi = np.full(len(tk), big)
        else:
            anchor = _ns(units[result.steps[0]])[reached] if result.params.get("window_from", "entry") == "entry" else tk
            hi = anchor + w
        lo_incl, hi_incl = False, True
    else:
        hi = tk
        lo = np.full(len(tk), small) if w is None else tk - w
        lo_incl, hi_incl = True, False
    spec = PathSpec(tokens="event", length=length, collapse=bool(collapse), align="head" if direction == "after" else "tail",
                    ranged=True, lo=pd.Series(lo, index=idx), hi=pd.Series(hi, index=idx),
                    lo_incl=lo_incl, hi_incl=hi_incl, group=grp, want=("paths", "hist"))
    req = DriveRequest(unit_col=unit_col, events=True, needed=(unit_col,) if unit_col != "user_id" else (),
                       memory_budget=budget, tmp_dir=tmp_dir, progress=True, purpose="dropoff_paths")
    tables, ev_names, _, _ = _drive(events, req, spec)
    labels = _labeler("event", ev_names, [], None, None)
    L = length
    pk, pv = _table(tables, "paths", L + 2, 2)
    hk, hn = _table(tables, "hist", L + 3, 1)
    totals = np.bincount(grp.to_numpy(), minlength=2)
    # one row per distinct path (without the group), dropped and converted side by side
    from ..engine.bucket_paths import _dense

    body = pk[:, 1:]
    first, inv = _dense(body) if len(body) else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    P = body[first]
    cnt = np.zeros((len(P), 2), dtype=np.int64)
    for gi in (0, 1):
        m = pk[:, 0] == gi
        cnt[:, gi] = np.bincount(inv[m], weights=pv[m, 1], minlength=len(P)).astype(np.int64)
    meds = []
    for gi in (0, 1):
        hm = hk[:, 0] == gi
        keys = np.column_stack([np.full(len(P), gi), P]) if len(P) else np.zeros((0, L + 2), np.int64)
        meds.append(_medians(keys, hk[hm], hn[hm, 0]))
    order = np.lexsort((np.arange(len(P)), -cnt[:, 1], -cnt[:, 0])) if len(P) else np.zeros(0, np.int64)
    keep = order[:top] if top is not None else order
    rest = np.setdiff1d(order, keep)
    names, toks = _path_strings(P[keep, :L], P[keep, L], labels, NO_EVENT[direction])
    dsh = cnt[keep, 0] / totals[0] if totals[0] else np.full(len(keep), np.nan)
    csh = cnt[keep, 1] / totals[1] if totals[1] else np.full(len(keep), np.nan)
    table = pd.DataFrame({
        "path": names, "tokens": toks, "n_tokens": np.asarray([len(t) for t in toks], dtype=np.int64),
        "dropped_units": cnt[keep, 0], "dropped_total": int(totals[0]), "dropped_share": dsh,
        "converted_units": cnt[keep, 1], "converted_total": int(totals[1]), "converted_share": csh,
        "share_difference": dsh - csh,
        "median_time_dropped": _td(meds[0][keep]) if len(keep) else pd.Series([], dtype="timedelta64[ns]"),
        "median_time_converted": _td(meds[1][keep]) if len(keep) else pd.Series([], dtype="timedelta64[ns]"),
    })
    if len(rest):
        od, oc = int(cnt[rest, 0].sum()), int(cnt[rest, 1].sum())
        owner = _owner(P, hk[:, 1:])
        mo = [(hk[:, 0] == gi) & np.isin(owner, rest) for gi in (0, 1)]
        ods = od / totals[0] if totals[0] else np.nan
        ocs = oc / totals[1] if totals[1] else np.nan
        other = pd.DataFrame({
            "path": [OTHER], "tokens": [()], "n_tokens": [0], "dropped_units": [od], "dropped_total": [int(totals[0])],
            "dropped_share": [ods], "converted_units": [oc], "converted_total": [int(totals[1])],
            "converted_share": [ocs], "share_difference": [ods - ocs],
            "median_time_dropped": _td(np.array([_median_of(hk[mo[0], -1], hn[mo[0], 0])])),
            "median_time_converted": _td(np.array([_median_of(hk[mo[1], -1], hn[mo[1], 0])])),
        })
        table = pd.concat([table, other], ignore_index=True)
    params = dict(step=step_name, step_number=k + 1, next_step=result.steps[k + 1], direction=direction,
                  length=length, collapse=bool(collapse), top=top, window=win,
                  window_from=result.params.get("window_from", "entry"), unit=unit)
    return DropoffPathsResult(table=table, params=params)


# --------------------------------------------------------------------------- matrices


def _group_input(events: Any, by: Any) -> tuple[Any, Any, list[Any] | None]:
    """(group column for the driver, per-unit group Series, group labels) for ``by=``."""
    if by is None:
        return None, None, None
    if isinstance(by, pd.Series):
        vals = pd.Series(by.dropna())
        labels = sorted(vals.unique().tolist(), key=lambda v: (str(type(v)), v))
        codes = pd.Series(pd.Categorical(vals, categories=labels).codes.astype(np.int64), index=vals.index)
        return None, codes, labels
    if isinstance(by, str):
        cols = log_columns(events)
        if cols is not None and by not in cols:
            raise MissingColumnError(f"by={by!r} is not a column of the event log (columns: {', '.join(cols[:12])}).")
        return by, None, None
    raise ParameterError(f"`by`={by!r}: give a column name or a Series of groups indexed by unit id.")


def _two_groups(labels: list[Any], groups: Any) -> tuple[Any, Any] | None:
    if groups is None:
        return (labels[0], labels[1]) if len(labels) == 2 else None
    if not isinstance(groups, (tuple, list)) or len(groups) != 2:
        raise ParameterError(f"`groups`={groups!r}: give two group values (a, b) to compare.")
    for gv in groups:
        if gv not in labels:
            raise ParameterError(f"`groups` holds {gv!r}, which is not a group (groups: {labels[:10]}).")
    return groups[0], groups[1]


def transition_matrix(
    events: Any,
    *,
    journey: Any = None,
    attr_col: Any = None,
    unit: Unit = "user",
    session_col: str = "session_id",
    collapse: bool = False,
    by: Any = None,
    groups: tuple[Any, Any] | None = None,
    lang: Literal["en", "es"] | None = None,
    memory_budget: int | str | None = None,
    tmp_dir: Any = None,
) -> TransitionMatrixResult:
    """Next-token probabilities with counts and median times (retentioneering's transition graph).

    Every pair of consecutive tokens of a unit (``collapse=False`` keeps self-loops) is a
    transition ``source → target``; ``probability`` is its share of the transitions out
    of ``source`` (in the unit's group with ``by=``).

    Parameters
    ----------
    events, journey, attr_col, unit, session_col, collapse, lang, memory_budget, tmp_dir
        As for :func:`paths`.
    by : str or Series, optional
        Groups: a column (a unit's group is its first non-null value, ties by value) or
        a Series of groups indexed by unit id (units absent are left out).
    groups : (a, b), optional
        The two groups whose difference is reported (default: the two groups, if two).

    Examples
    --------
    >>> import pandas as pd
    >>> from funnelkit.analyses.paths import transition_matrix
    >>> ev = pd.DataFrame({"user_id": [1, 1, 1, 2, 2],
    ...                    "timestamp": pd.to_datetime([1, 2, 4, 1, 2], unit="m", utc=True),
    ...                    "event": ["a", "b", "a", "a", "c"]})
    >>> transition_matrix(ev).table[["source", "target", "transitions", "probability"]]
      source target  transitions  probability
    0      a      b            1          0.5
    1      a      c            1          0.5
    2      b      a            1          1.0
    """
    _check_common(1, collapse, "first", None, None, lang)
    group_col, group, glabels = _group_input(events, by)
    req, spec, tokens = _request_and_spec(
        events, length=1, start=None, end=None, journey=journey, attr_col=attr_col, unit=unit,
        session_col=session_col, collapse=collapse, occurrences="first", memory_budget=memory_budget,
        want=("trans",), group_col=group_col, group=group, tmp_dir=tmp_dir)
    tables, ev_names, at_values, diag = _drive(events, req, spec)
    labels = _labeler(tokens, ev_names, at_values, journey, lang)
    gl = _group_labels(glabels, group_col, at_values)
    tk, tv = _table(tables, "trans", 3, 2)
    hk, hn = _table(tables, "trans_hist", 4, 1)
    med = _medians(tk, hk, hn[:, 0]) if len(tk) else np.zeros(0)
    src_key = tk[:, 0].astype(np.int64) * (int(tk[:, 1].max()) + 2 if len(tk) else 1) + tk[:, 1] if len(tk) else np.zeros(0, np.int64)
    _, sinv = np.unique(src_key, return_inverse=True) if len(tk) else (None, np.zeros(0, np.int64))
    sinv = np.asarray(sinv).reshape(-1)
    src_tot = np.bincount(sinv, weights=tv[:, 0]).astype(np.int64)[sinv] if len(tk) else np.zeros(0, np.int64)
    table = pd.DataFrame({
        "group": gl[tk[:, 0]] if len(tk) else [],
        "source": labels[tk[:, 1]].astype(str) if len(tk) else [], "target": labels[tk[:, 2]].astype(str) if len(tk) else [],
        "transitions": tv[:, 0], "source_transitions": src_tot,
        "probability": tv[:, 0] / src_tot if len(tk) else np.zeros(0),
        "units": tv[:, 1], "median_time": _td(med) if len(tk) else pd.Series([], dtype="timedelta64[ns]"),
    })
    diff = None
    pair = _two_groups(list(gl), groups) if by is not None else None
    if pair is not None:
        a = table[table["group"] == pair[0]].set_index(["source", "target"])
        b = table[table["group"] == pair[1]].set_index(["source", "target"])
        idx = a.index.union(b.index)
        diff = pd.DataFrame(index=idx)
        for nm, t in (("a", a), ("b", b)):
            diff[f"transitions_{nm}"] = t["transitions"].reindex(idx, fill_value=0).astype(np.int64)
            st = t.groupby(level="source")["transitions"].sum()
            diff[f"source_transitions_{nm}"] = st.reindex(idx.get_level_values("source"), fill_value=0).to_numpy()
            with np.errstate(invalid="ignore", divide="ignore"):
                diff[f"probability_{nm}"] = diff[f"transitions_{nm}"] / diff[f"source_transitions_{nm}"].replace(0, np.nan)
        diff["difference"] = diff["probability_b"] - diff["probability_a"]
        diff = diff.reset_index()
        diff.insert(0, "group_a", pair[0])
        diff.insert(1, "group_b", pair[1])
    params = dict(tokens=tokens, attr_col=attr_col, unit=unit, collapse=bool(collapse), by=by if isinstance(by, str) else
                  ("series" if by is not None else None), groups=pair, lang=lang, journey=journey)
    return TransitionMatrixResult(table=table, difference=diff, params=params)


def _group_labels(glabels: list[Any] | None, group_col: Any, at_values: list[Any]) -> np.ndarray:
    if group_col is not None:
        return np.asarray(list(at_values), dtype=object)
    if glabels is not None:
        return np.asarray(glabels, dtype=object)
    return np.asarray(["all"], dtype=object)


def step_matrix(
    events: Any,
    *,
    max_steps: int = 10,
    start: Any = None,
    journey: Any = None,
    attr_col: Any = None,
    unit: Unit = "user",
    session_col: str = "session_id",
    collapse: bool = False,
    by: Any = None,
    groups: tuple[Any, Any] | None = None,
    lang: Literal["en", "es"] | None = None,
    memory_budget: int | str | None = None,
    tmp_dir: Any = None,
) -> StepMatrixResult:
    """The share of units with token e at position j of their path (retentioneering's step matrix).

    Each unit's path is its first ``max_steps`` tokens (from its first ``start`` with
    ``start=``); ``"(end)"`` at position j counts the units whose path ended before,
    so every position's shares sum to 1.

    Examples
    --------
    >>> import pandas as pd
    >>> from funnelkit.analyses.paths import step_matrix
    >>> ev = pd.DataFrame({"user_id": [1, 1, 2], "event": ["a", "b", "a"],
    ...                    "timestamp": pd.to_datetime([1, 2, 1], unit="m", utc=True)})
    >>> step_matrix(ev, max_steps=2).matrix()
    position    1    2
    token
    (end)     0.0  0.5
    a         1.0  0.0
    b         0.0  0.5
    """
    _check_common(_check_int(max_steps, "max_steps", 1, 64), collapse, "first", None, None, lang)
    group_col, group, glabels = _group_input(events, by)
    req, spec, tokens = _request_and_spec(
        events, length=max_steps, start=start, end=None, journey=journey, attr_col=attr_col, unit=unit,
        session_col=session_col, collapse=collapse, occurrences="first", memory_budget=memory_budget,
        want=("paths",), group_col=group_col, group=group, tmp_dir=tmp_dir)
    tables, ev_names, at_values, diag = _drive(events, req, spec)
    labels = _labeler(tokens, ev_names, at_values, journey, lang)
    gl = _group_labels(glabels, group_col, at_values)
    pk, pv = _table(tables, "paths", max_steps + 2, 2)
    tk, tv = _table(tables, "ptot", 1, 2)
    from ..engine.bucket_paths import groupsum

    if len(pk):
        cols = [np.column_stack([pk[:, 0], np.full(len(pk), j + 1), pk[:, 1 + j]]) for j in range(max_steps)]
        nk, nv = groupsum(np.concatenate(cols), np.concatenate([pv] * max_steps))
    else:
        nk, nv = np.zeros((0, 3), np.int64), np.zeros((0, 2), np.int64)
    tot = dict(zip(tk[:, 0].tolist(), tv[:, 0].tolist()))
    ut = np.asarray([tot.get(g, 0) for g in nk[:, 0].tolist()], dtype=np.int64)
    table = pd.DataFrame({
        "group": gl[nk[:, 0]] if len(nk) else [], "position": nk[:, 1].astype(np.int64),
        "token": labels[nk[:, 2]].astype(str) if len(nk) else [], "units": nv[:, 1], "units_total": ut,
        "share": nv[:, 1] / np.maximum(ut, 1),
    })
    diff = None
    pair = _two_groups(list(gl), groups) if by is not None else None
    if pair is not None:
        a = table[table["group"] == pair[0]].set_index(["position", "token"])
        b = table[table["group"] == pair[1]].set_index(["position", "token"])
        idx = a.index.union(b.index)
        diff = pd.DataFrame(index=idx)
        diff["share_a"] = a["share"].reindex(idx, fill_value=0.0)
        diff["units_total_a"] = int(tot.get(list(gl).index(pair[0]), 0))
        diff["share_b"] = b["share"].reindex(idx, fill_value=0.0)
        diff["units_total_b"] = int(tot.get(list(gl).index(pair[1]), 0))
        diff["difference"] = diff["share_b"] - diff["share_a"]
        diff = diff.reset_index()
        diff.insert(0, "group_a", pair[0])
        diff.insert(1, "group_b", pair[1])
    params = dict(max_steps=max_steps, start=start, tokens=tokens, unit=unit, collapse=bool(collapse),
                  by=by if isinstance(by, str) else ("series" if by is not None else None), groups=pair, lang=lang)
    return StepMatrixResult(table=table, difference=diff, params=params)
