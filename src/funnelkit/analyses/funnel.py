"""Funnels: how many units reach each step of a journey, drop-off and time between steps.

The exact semantics (ordered, strict and any-order funnels, windows, the reported
attempt, exclusions, breakdowns) are those of the design document, §4; the heavy
lifting happens in the engine (:mod:`funnelkit.engine`, see ``docs/engine.md``) and its
kernels; ``docs/funnels.md`` states the semantics in full.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._polars import PolarsMixin

from .._params import check_choice, parse_bytes, parse_duration, parse_timestamp, physical_memory
from ..errors import ParameterError

__all__ = ["funnel", "FunnelResult", "TABLE_COLUMNS", "step_columns"]

Mode = Literal["ordered", "strict", "uninterrupted", "any_order"]
OutOfOrder = Literal["stop", "ignore"]
WindowFrom = Literal["entry", "previous"]
Unit = Literal["user", "session"]
OnUnknown = Literal["warn", "raise"]

#: Columns of :attr:`FunnelResult.table`, in order (DESIGN §4).
TABLE_COLUMNS: tuple[str, ...] = (
    "step",
    "label",
    "units",
    "conversion_rate",
    "step_conversion_rate",
    "dropoff",
    "dropoff_rate",
    "median_time_from_previous",
    "mean_time_from_previous",
    "p90_time_from_previous",
)

_TIME_DTYPE = pd.DatetimeTZDtype("ns", "UTC")

OTHER = "Other"
MISSING = "(missing)"
#: ``attribution=`` values besides ``"step:N"``.
ATTRIBUTIONS: tuple[str, ...] = ("first_touch", "last_touch", "all_events", "first_touch_unit", "last_touch_unit")


@dataclass(frozen=True)
class FunnelResult(PolarsMixin):
    """The result of :func:`funnel`.

    Attributes
    ----------
    table : DataFrame
        One row per step with the columns of :data:`TABLE_COLUMNS`: ``units`` reaching
        the step, ``conversion_rate`` (of the units that reached step 1),
        ``step_conversion_rate`` (of the previous step), ``dropoff`` and
        ``dropoff_rate`` (units of the previous step that did not reach this one, and
        their share of the previous step), and the median, mean and 90th percentile of
        the time from the previous step on the reported attempt.
    units : DataFrame
        One row per unit of the event log (indexed by the unit id): ``level`` (number
        of steps reached, 0..K), one timestamp column per step (the reported
        attempt's event time, ``NaT`` where not reached), ``excluded`` and, with
        ``by=``, the unit's group. A step named like one of the frame's own columns
        (``level``, ``excluded``, the ``by`` column) has its column as ``"step:<name>"``
        (:func:`step_columns`), so no column is ever overwritten.
    step_times : DataFrame
        The step times alone: one column per step, named exactly as the steps, indexed
        by unit (the same data as the step columns of ``units``). Code reading a
        step's times should read them here.
    breakdown : DataFrame or None
        With ``by=``: the table's columns for each group (first column named after
        ``by``); the groups' ``units`` sum to the table's, except with
        ``attribution="all_events"`` (``breakdown.attrs["groups_sum_to_total"]`` and
        ``breakdown.attrs["note"]`` say which).
    censored : DataFrame or None
        Per step, units that reached the previous step but not this one and whose
        window was still open at the end of the data (they may yet convert).
        ``None`` when there is no window.
    diagnostics : dict
        Units left out by exclusions, rows dropped while reading, attempts counted...
    params : dict
        The parameters that made the result.
    """

    table: pd.DataFrame
    units: pd.DataFrame
    breakdown: pd.DataFrame | None
    censored: pd.DataFrame | None
    diagnostics: dict[str, Any]
    params: dict[str, Any]
    steps: tuple[str, ...]
    labels: tuple[str, ...]
    journey: Any = field(repr=False, default=None)
    step_times: pd.DataFrame | None = field(repr=False, default=None)

    # -- views ---------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """The step table (a copy), ready for ``to_csv`` or further pandas work."""
        return self.table.copy()

    def time_between(self, **kwargs: Any):
        """Time between consecutive steps; see :func:`funnelkit.time_between`."""
        from .timing import time_between

        return time_between(self, **kwargs)

    def time_to_convert(self, **kwargs: Any):
        """Time to convert between two steps as a histogram; see :func:`funnelkit.time_to_convert`."""
        from .timing import time_to_convert

        return time_to_convert(self, **kwargs)

    def dropoff_paths(self, events: Any, **kwargs: Any):
        """Where the units that stopped at a step went next, beside converters; see
        :func:`funnelkit.dropoff_paths` (the result keeps no event log: pass the one it
        was computed on)."""
        from .paths import dropoff_paths

        return dropoff_paths(events, self, **kwargs)

    def frictions(self, events: Any, **kwargs: Any):
        """Events and property values associated with dropping out at a step; see
        :func:`funnelkit.frictions` (pass the event log the result was computed on)."""
        from .frictions import frictions

        return frictions(events, self, **kwargs)

    def plot(self, kind: str = "bars", *, ax: Any = None, **kwargs: Any):
        """Plot the funnel; delegates to :mod:`funnelkit.plotting` (returns the Axes)."""
        from .. import plotting

        return plotting.plot_result(self, kind=kind, ax=ax, **kwargs)

    def report(self, path: Any, *, lang: Literal["en", "es"] | None = None, **kwargs: Any):
        """Write a self-contained HTML page of this funnel; see :mod:`funnelkit.report`."""
        from .. import report

        return report.funnel_report(self, path, lang=lang, **kwargs)

    def __repr__(self) -> str:
        p = self.params
        head = (
            f"FunnelResult({len(self.steps)} steps, mode={p['mode']!r}, window={p['window']!s}, "
            f"unit={p['unit']!r}, {int(self.table['units'].iloc[0]) if len(self.table) else 0} entered)"
        )
        with pd.option_context("display.width", 160, "display.max_columns", 20):
            return head + "\n" + _format_table(self.table).to_string(index=False)

    def _repr_html_(self) -> str:
        p = self.params
        caption = html.escape(
            f"Funnel: {len(self.steps)} steps · mode {p['mode']} · window {p['window']} · unit {p['unit']}"
        )
        body = _format_table(self.table).to_html(index=False, escape=True, border=0)
        notes = []
        if self.breakdown is not None and not self.breakdown.attrs.get("groups_sum_to_total", True):
            notes.append(self.breakdown.attrs.get("note", ""))
        if self.diagnostics.get("units_excluded"):
            notes.append(f"{self.diagnostics['units_excluded']} units left out by exclusions.")
        if self.censored is not None and int(self.censored["censored"].sum()):
            notes.append(
                f"{int(self.censored['censored'].sum())} units still inside their window at the end of the data (censored)."
            )
        foot = "".join(f"<p style='margin:2px 0;color:#555'>{html.escape(n)}</p>" for n in notes)
        return f"<div class='funnelkit-result'><p><b>{caption}</b></p>{body}{foot}</div>"


def step_time_frame(res: FunnelResult) -> pd.DataFrame:
    """Each unit's step times under the exact step names: ``res.step_times``, or the units'
    own columns when the result carries none (then no step name collides with them)."""
    return res.step_times if res.step_times is not None else res.units


def step_columns(names: Sequence[str], by: Any = None) -> list[str]:
    """The column of each step in :attr:`FunnelResult.units`: its name, or ``"step:<name>"``
    (more colons if needed) when the name is one of the frame's own columns.

    Examples
    --------
    >>> step_columns(["visit", "level", "excluded"], by="visit")
    ['step:visit', 'step:level', 'step:excluded']
    """
    reserved = {"level", "excluded"} | ({by} if by is not None else set())
    taken = set(names) | reserved
    out = []
    for n in names:
        c = n
        if n in reserved:
            c = "step:" + n
            while c in taken:
                c = "step:" + c
            taken.add(c)
        out.append(c)
    return out


def _format_table(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for c in ("conversion_rate", "step_conversion_rate", "dropoff_rate"):
        out[c] = out[c].map(lambda v: "" if pd.isna(v) else f"{v:.1%}")
    for c in ("median_time_from_previous", "mean_time_from_previous", "p90_time_from_previous"):
        out[c] = out[c].map(_fmt_td)
    return out


def _fmt_td(v: Any) -> str:
    if pd.isna(v):
        return ""
    s = pd.Timedelta(v).total_seconds()
    if s < 60:
        return f"{s:.0f}s"
    if s < 3600:
        return f"{s / 60:.1f}min"
    if s < 86400:
        return f"{s / 3600:.1f}h"
    return f"{s / 86400:.1f}d"


# --------------------------------------------------------------------------- main API


def funnel(
    events: Any,
    journey_or_steps: Any,
    *,
    window: str | pd.Timedelta | None = "7D",
    mode: Mode = "ordered",
    window_from: WindowFrom = "entry",
    unit: Unit = "user",
    by: str | None = None,
    attribution: str = "first_touch",
    max_groups: int = 25,
    exclude: Sequence[tuple[Any, Any, Any]] | None = None,
    start: Any = None,
    end: Any = None,
    lang: Literal["en", "es"] | None = None,
    session_col: str = "session_id",
    memory_budget: int | str | None = None,
    on_unknown: OnUnknown = "warn",
    reuse_events: bool = False,
    increasing_times: bool = False,
    stop_at_repeat: bool = False,
    out_of_order: OutOfOrder = "stop",
    tmp_dir: Any = None,
) -> FunnelResult:
    """Compute a conversion funnel: units reaching each step, drop-off and timings.

    Parameters
    ----------
    events : DataFrame or anything :func:`funnelkit.read_events` accepts
        The event log with columns ``user_id``, ``timestamp``, ``event`` (use
        :func:`funnelkit.read_events` to map other column names).
    journey_or_steps : Journey or list
        A :class:`funnelkit.Journey` (each stage is a step), or a list of event names
        or of lists of event names (``["landing", ["product_view", "add_to_cart"],
        "purchase"]``). A name may repeat: ``["A", "A", "B"]`` needs two A events.
    window : str, Timedelta or None, default "7D"
        Conversion window (``"30min"``, ``"1D"``...); ``None`` means no limit.
        Edges are inclusive: a step exactly ``window`` after the anchor converts.
    mode : {"ordered", "strict", "uninterrupted", "any_order"}
        ``ordered`` (default): steps in order, other events may lie between them, one
        event fills one step (ClickHouse ``windowFunnel(..., 'strict_once')``,
        PostHog's ordered funnel). ``strict`` (PostHog's strict funnel): between two
        consecutive steps only repeats of the earlier step may occur (``a a b b c``
        reaches step 3 of ``[a, b, c]``; ``a x b`` stops at 1). ``uninterrupted``
        (ClickHouse ``strict_order``): after the unit's first step-1 event, the first
        event outside the funnel ends its funnel, and so does an event of a step whose
        previous step was not reached yet; repeats of reached steps pass, and a new
        step-1 event restarts the chain (``a b a c`` reaches 3). ``any_order``: the
        number of distinct steps within one window span.
    window_from : {"entry", "previous"}
        Measure the window from the first step (default) or from the previous step.
    unit : {"user", "session"}
        What converts: users, or sessions (needs :func:`funnelkit.sessionize` first).
    by : str, optional
        A property column to break the funnel down by (e.g. ``"channel"``).
    attribution : {"first_touch", "last_touch", "step:N", "all_events", "first_touch_unit", "last_touch_unit"}
        Which value of ``by`` a unit is attributed to. ``first_touch`` (default): the
        first non-null value on the reported attempt's step events; ``last_touch``:
        the last one at or before its deepest step (never a value seen after the
        conversion); ``step:N``: the value on its step-N event (1-based);
        ``all_events`` (PostHog's "all events"): the unit counts in every group whose
        value it carries on one of those step events, so the groups' ``units`` need
        not sum to the table's (the breakdown says so in ``breakdown.attrs``);
        ``first_touch_unit`` / ``last_touch_unit``: the first / last non-null value on
        *any* event of the unit, before or after the funnel (the channel that brought
        the user, for marketing attribution). Ties at one timestamp go to the
        smallest value, never to row order. Units without a value (or that did not
        enter, or did not reach step N) form the missing-value group, whose label is
        ``"(missing)"`` unless a real value is spelled so (then it gets a longer
        label no value of the data takes; ``res.diagnostics["missing_label"]``).
    max_groups : int, default 25
        At most this many groups (largest first); the others are merged as ``"Other"``.
    exclude : list of (event_or_stage, from_step, to_step)
        Attempts with that event strictly between the two steps (steps as names or
        1-based numbers) do not count; units with no clean attempt are left out. With
        ``mode="any_order"`` the steps count in the order the window filled them
        (``("x", 1, 3)``: an ``x`` after the first step filled and before the third).
    start, end : datetime-like, optional
        Only step-1 events in ``[start, end)`` start attempts (later steps may fall
        after ``end``). Naive values are taken as UTC.
    lang : {"en", "es"}, optional
        Language of the ``label`` column (default: the journey's).
    session_col : str, default "session_id"
        The session column used with ``unit="session"``.
    memory_budget : int or str, optional
        For a Parquet path only: hold at most about this much of the funnel's rows in
        memory (``"256MB"``, ``"2GB"`` or bytes) while the file is read, spilling
        buckets of units to a temporary directory beyond it (a progress bar shows on a
        terminal). By default a path spills beyond a quarter of the machine's memory.
        The result is identical either way.
    tmp_dir : str or path, optional
        Where buckets spill beyond ``memory_budget`` (default: the system temporary
        directory, ``TMPDIR``). Checked before any work: it must exist and be writable.
        Spill directories are named after the process, so a later run removes those
        left behind by a killed one.
    on_unknown : {"warn", "raise"}, default "warn"
        A step (or excluded event) that no event of the log matches counts zero
        units, with a :class:`~funnelkit.errors.FunnelkitWarning` naming the closest
        event names (PostHog also returns 0 for such a step); ``"raise"`` makes it an
        :class:`~funnelkit.errors.UnknownEventError` instead, so typos fail.
    reuse_events : bool, default False
        Let one event fill several steps of a chain (``[a, a, b]`` reached by one
        ``a`` and a ``b``; an event matching steps 1 and 2 fills both): ClickHouse
        ``windowFunnel``'s default mode. False: one event fills one step
        (``strict_once``, PostHog). ``mode="ordered"`` or ``"uninterrupted"``.
    increasing_times : bool, default False
        Consecutive steps need strictly increasing timestamps (ClickHouse
        ``strict_increase``); by default equal timestamps convert in step order.
    stop_at_repeat : bool, default False
        An event of a step the unit already reached (other than step 1) ends its
        funnel (ClickHouse ``strict_deduplication``): ``a b b c`` reaches 2.
    out_of_order : {"stop", "ignore"}, default "stop"
        With ``mode="uninterrupted"``: an event of a step whose previous step was not
        reached yet stops the funnel (``strict_order``) or is ignored (``"ignore"``,
        ClickHouse ``allow_reentry``); events outside the funnel stop it either way.

    Notes
    -----
    Steps may overlap (step 1 ``pageview``, step 3 ``Rule("pageview", where={"url":
    "/checkout"})``; the same event in two steps): an event that matches several steps
    is a candidate for each, and fills at most one step of a chain. Ties at one
    timestamp are ordered by the position of the step each event plays, then by value,
    never by row order. Overlapping steps need ``mode="ordered"`` with
    ``window_from="entry"``.

    ClickHouse ``windowFunnel(window, modes...)`` in funnelkit parameters (each
    equals chdb on random logs, ``tests/test_peers_chdb.py``; the window is measured
    from entry, so these options need ``window_from="entry"``, and exclusions are not
    available with them):

    ====================================  =============================================
    ClickHouse                            funnelkit
    ====================================  =============================================
    ``windowFunnel(w)``                   ``reuse_events=True``
    ``'strict_once'``                     the default
    ``'strict_deduplication'``            ``stop_at_repeat=True, reuse_events=True``
    ``'strict_increase'``                 ``increasing_times=True, reuse_events=True``
    ``'strict_order'``                    ``mode="uninterrupted", reuse_events=True``
    ``'strict_order', 'allow_reentry'``   ``mode="uninterrupted", out_of_order="ignore", reuse_events=True``
    ``..., 'strict_once'``                the same without ``reuse_events=True``
    ====================================  =============================================

    With these options the reported attempt (timings, ``step:N``) is the chain that
    first reached the unit's level, as ClickHouse walks the events.

    Returns
    -------
    FunnelResult

    Examples
    --------
    >>> import funnelkit as fk, pandas as pd
    >>> ev = pd.DataFrame({
    ...     "user_id": [1, 1, 1, 2, 2, 3],
    ...     "timestamp": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:02", "2024-01-01 10:30",
    ...                                  "2024-01-02 09:00", "2024-01-02 09:10", "2024-01-03 12:00"], utc=True),
    ...     "event": ["landing", "product_view", "purchase", "landing", "product_view", "landing"]})
    >>> res = fk.funnel(ev, ["landing", "product_view", "purchase"], window="1D")
    >>> res.table[["step", "units", "conversion_rate", "dropoff"]]
               step  units  conversion_rate  dropoff
    0       landing      3         1.000000        0
    1  product_view      2         0.666667        1
    2      purchase      1         0.333333        1

    An event may be a candidate for several steps, and fills one of them: at 10:01,
    ``b`` plays step 2 before the second ``a`` plays step 3 (as ClickHouse
    ``windowFunnel(..., 'strict_once')``); user 2's single ``a`` cannot fill steps 1 and 3.

    >>> tie = pd.DataFrame({
    ...     "user_id": [1, 1, 1, 2, 2],
    ...     "timestamp": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:01", "2024-01-01 10:01",
    ...                                  "2024-01-01 10:00", "2024-01-01 10:00"], utc=True),
    ...     "event": ["a", "b", "a", "a", "b"]})
    >>> fk.funnel(tie, ["a", "b", "a"], window="1h").units["level"].tolist()
    [3, 2]

    PostHog's strict funnel lets repeats of the current step pass, but nothing else;
    ClickHouse's ``strict_order`` (``mode="uninterrupted"``) lets any step event pass
    whose previous step was reached (``a b a c``: the second ``a`` restarts step 1 and
    ``c`` extends the ``a b`` already reached):

    >>> rep = pd.DataFrame({
    ...     "user_id": [1] * 6 + [2] * 4,
    ...     "timestamp": pd.to_datetime([60 * i for i in list(range(6)) + list(range(4))], unit="s", utc=True),
    ...     "event": list("aabbcc") + list("abac")})
    >>> fk.funnel(rep, ["a", "b", "c"], mode="strict").units["level"].tolist()
    [3, 2]
    >>> fk.funnel(rep, ["a", "b", "c"], mode="uninterrupted").units["level"].tolist()
    [3, 3]
    >>> fk.funnel(rep, ["a", "b", "c"], stop_at_repeat=True, reuse_events=True).units["level"].tolist()
    [2, 3]
    """
    params, s_ns, e_ns = _checked_params(window=window, mode=mode, window_from=window_from, unit=unit, by=by,
                                         attribution=attribution, max_groups=max_groups, exclude=exclude,
                                         start=start, end=end, lang=lang, on_unknown=on_unknown,
                                         reuse_events=reuse_events, increasing_times=increasing_times,
                                         stop_at_repeat=stop_at_repeat, out_of_order=out_of_order)
    from ..journey.steps import resolve_steps

    spec = resolve_steps(journey_or_steps, lang=lang)
    _check_optional_steps(spec, params)
    params["optional"] = [spec.names[k] for k, o in enumerate(spec.optional) if o]
    budget = _memory_budget(events, memory_budget)
    tmp_dir = _tmp_dir(tmp_dir)
    attr_mode, step_attr = _attribution(params["attribution"], len(spec.steps)) if by is not None else (None, None)
    req = _request(spec, params, s_ns, e_ns, session_col=session_col, attr_col=by, attr_mode=attr_mode,
                   step_attr=step_attr, memory_budget=budget, progress=True, tmp_dir=tmp_dir)
    part = compute(events, req)
    return result_from_partial(part, spec, params)


def _check_optional_steps(spec: Any, params: dict[str, Any]) -> None:
    """Optional steps (fk.optional) are defined for the default ordered funnel only."""
    if not any(spec.optional):
        return
    names = [n for n, o in zip(spec.names, spec.optional) if o]
    ch = [k for k in ("reuse_events", "increasing_times", "stop_at_repeat") if params.get(k)]
    if params["mode"] != "ordered" or ch:
        what = f"mode={params['mode']!r}" if params["mode"] != "ordered" else f"{ch[0]}=True"
        raise ParameterError(
            f"Optional steps ({', '.join(map(repr, names))}) are defined for ordered funnels; {what} is not. "
            "Fix: use the default mode, or make the steps required."
        )
    opt_idx = {k for k, o in enumerate(spec.optional) if o}
    from ..journey.steps import _step_index

    for item in params["exclude"]:
        if isinstance(item, (tuple, list)) and len(item) == 3:
            for v, what in ((item[1], "from_step"), (item[2], "to_step")):
                if _step_index(v, spec.names, f"exclude {what}") in opt_idx:
                    raise ParameterError(
                        f"exclude={tuple(item)!r}: {what} is the optional step {spec.names[_step_index(v, spec.names, what)]!r}; "
                        "exclusions run between required steps. Fix: name required steps."
                    )


def _tmp_dir(tmp_dir: Any) -> Any:
    """``tmp_dir=`` checked before any work (missing, not a directory, not writable)."""
    if tmp_dir is None:
        return None
    from ..engine.buckets import temp_dir

    temp_dir(tmp_dir)  # raises naming the directory and the fix; creates nothing
    return tmp_dir


def _memory_budget(events: Any, memory_budget: Any) -> int | None:
    """The spill budget in bytes: the one given for a path, else a quarter of the RAM for a
    path, None for data already in memory."""
    import os

    is_path = isinstance(events, (str, os.PathLike))
    if memory_budget is not None:
        if not is_path:
            raise ParameterError(
                f"`memory_budget`={memory_budget!r} applies to a Parquet path (read out of core); "
                f"the events given are a {type(events).__name__}, already in memory. Drop the argument."
            )
        return parse_bytes(memory_budget, name="memory_budget")
    return physical_memory() // 4 if is_path else None


def _attribution(attribution: str, k: int) -> tuple[str, int | None]:
    """The engine's attribute mode for a ``by=`` attribution, and the 0-based step of step:N.

    ``first_touch``, ``last_touch`` and ``all_events`` read the attribute on every step
    event of the reported attempt (``"steps"``); the ``*_unit`` readings fold it over
    every event of the unit while the log is read.
    """
    if attribution.startswith("step:"):
        try:
            n = int(attribution.split(":", 1)[1])
        except ValueError:
            n = 0
        if not 1 <= n <= k:
            raise ParameterError(
                f"`attribution`={attribution!r}: use 'step:N' with N between 1 and {k} (1-based step number)."
            )
        return "step", n - 1
    if attribution in ("first_touch_unit", "last_touch_unit"):
        return attribution[: -len("_unit")], None
    return "steps", None


def _touch_codes(codes: np.ndarray, step_time: np.ndarray, level: np.ndarray, last: bool) -> np.ndarray:
    """First (last) non-null code on the reported attempt's step events, per unit (-1: none).

    ``codes`` and ``step_time`` are ``(n_units, K)``; steps beyond a unit's level carry -1.
    At the earliest (latest) time with a value, the smallest code (codes are sorted by
    value) wins.
    """
    n, k = codes.shape
    if k == 0 or n == 0:
        return np.full(n, -1, dtype=np.int64)
    has = (codes >= 0) & (np.arange(k)[None, :] < level[:, None])
    t = np.where(has, step_time, np.iinfo(np.int64).min if last else np.iinfo(np.int64).max)
    best_t = t.max(axis=1) if last else t.min(axis=1)
    at = has & (t == best_t[:, None])
    big = np.iinfo(np.int64).max
    out = np.where(at, codes, big).min(axis=1)
    return np.where(out == big, -1, out)


def _labels(values: Sequence[Any]) -> tuple[list[str], str, str]:
    """Labels of the values, and labels for the missing-value group and the overflow
    group that no value of the data takes (``"(missing)"``/``"Other"`` unless taken)."""
    labels = [str(v) for v in values]
    taken = set(labels)
    missing, other = MISSING, OTHER
    while missing in taken:
        missing = "(" + missing + ")"
    while other in taken or other == missing:
        other = "(" + other + ")"
    return labels, missing, other


def _request(spec: Any, params: dict[str, Any], s_ns: int | None, e_ns: int | None, *, session_col: str,
             attr_col: Any = None, attr_mode: str | None = None, step_attr: int | None = None,
             memory_budget: int | None = None, progress: bool = False, tmp_dir: Any = None,
             attr_purpose: str | None = None) -> Any:
    """The engine request of a funnel with checked ``params``."""
    from ..journey.steps import needed_columns
    from ..io._names import USER
    from ..engine import FunnelRequest

    win = params["window"]
    unit_col = USER if params["unit"] == "user" else session_col
    needed = needed_columns(spec.journey, by=attr_col, unit=params["unit"], session_col=session_col)
    return FunnelRequest(
        spec=spec, mode=params["mode"], window=None if win is None else int(win.value),
        window_from=params["window_from"], exclude=params["exclude"], unit_col=unit_col,
        attr_col=attr_col, attr_mode=attr_mode, step_attr=step_attr, start_ns=s_ns, end_ns=e_ns,
        needed=tuple(needed), memory_budget=memory_budget, progress=progress, tmp_dir=tmp_dir,
        attr_purpose=attr_purpose or f"by={attr_col!r}", on_unknown=params.get("on_unknown", "warn"),
        reuse_events=bool(params.get("reuse_events", False)),
        increasing_times=bool(params.get("increasing_times", False)),
        stop_at_repeat=bool(params.get("stop_at_repeat", False)),
        out_of_order=params.get("out_of_order", "stop"),
    )


def compute(events: Any, req: Any) -> Any:
    """Run the engine on ``events``: a Dask DataFrame partition by partition, else here."""
    from ..engine import run_funnel
    from ..engine.dask import is_dask_frame, run_funnel_dask

    if is_dask_frame(events):
        return run_funnel_dask(events, req)
    return run_funnel(events, req)


def _checked_params(
    *,
    window: Any,
    mode: Any,
    window_from: Any,
    unit: Any,
    by: Any,
    attribution: Any,
    max_groups: Any,
    exclude: Any,
    start: Any,
    end: Any,
    lang: Any,
    on_unknown: Any = "warn",
    reuse_events: Any = False,
    increasing_times: Any = False,
    stop_at_repeat: Any = False,
    out_of_order: Any = "stop",
) -> tuple[dict[str, Any], int | None, int | None]:
    """:func:`funnel`'s parameter checks, in order, before any data is read.

    Returns the ``params`` dict of the result and ``start``/``end`` in ns. The engines
    (for a Dask frame too) and :func:`funnelkit.experiment` call it, so the
    same arguments fail with the same errors everywhere.
    """
    from ..journey.stages import _check_on_unknown

    on_unknown = _check_on_unknown(on_unknown)
    mode = check_choice(mode, name="mode", choices=("ordered", "strict", "uninterrupted", "any_order"))
    window_from = check_choice(window_from, name="window_from", choices=("entry", "previous"))
    _check_clickhouse_options(mode, window_from, exclude, reuse_events=reuse_events,
                              increasing_times=increasing_times, stop_at_repeat=stop_at_repeat,
                              out_of_order=out_of_order)
    unit = check_choice(unit, name="unit", choices=("user", "session"))
    win = parse_duration(window, name="window", allow_none=True, allow_zero=True)
    if isinstance(max_groups, bool) or not isinstance(max_groups, (int, np.integer)) or max_groups < 1:
        raise ParameterError(f"`max_groups`={max_groups!r} must be a positive integer.")
    if lang is not None:
        check_choice(lang, name="lang", choices=("en", "es"))
    if not isinstance(attribution, str) or not (
        attribution in ATTRIBUTIONS or attribution.startswith("step:")
    ):
        raise ParameterError(
            f"`attribution`={attribution!r}: use 'first_touch', 'last_touch', 'step:N', 'all_events', "
            "'first_touch_unit' or 'last_touch_unit'."
        )
    s_ns, e_ns = _to_ns(start, "start"), _to_ns(end, "end")  # bad dates fail before any work
    if s_ns is not None and e_ns is not None and s_ns >= e_ns:
        raise ParameterError(f"`start`={start!r} must be before `end`={end!r}.")
    params = dict(
        window=win,
        mode=mode,
        window_from=window_from,
        unit=unit,
        by=by,
        attribution=attribution,
        max_groups=int(max_groups),
        exclude=list(exclude or []),
        start=start,
        end=end,
        on_unknown=on_unknown,
        reuse_events=reuse_events,
        increasing_times=increasing_times,
        stop_at_repeat=stop_at_repeat,
        out_of_order=out_of_order,
    )
    return params, s_ns, e_ns


def _check_clickhouse_options(mode: str, window_from: str, exclude: Any, **opts: Any) -> None:
    """The ClickHouse-mode options: exact types, and only where they are defined."""
    for name in ("reuse_events", "increasing_times", "stop_at_repeat"):
        v = opts[name]
        if not isinstance(v, (bool, np.bool_)):
            raise ParameterError(f"`{name}`={v!r} must be True or False.")
    check_choice(opts["out_of_order"], name="out_of_order", choices=("stop", "ignore"))
    on = [n for n in ("reuse_events", "increasing_times", "stop_at_repeat") if opts[n]]
    if on and mode not in ("ordered", "uninterrupted"):
        raise ParameterError(
            f"`{on[0]}=True` is a ClickHouse windowFunnel option; mode={mode!r} does not take it. "
            "Fix: use mode='ordered' or mode='uninterrupted', or drop the option."
        )
    if opts["out_of_order"] != "stop" and mode != "uninterrupted":
        raise ParameterError(
            f"`out_of_order`={opts['out_of_order']!r} applies to mode='uninterrupted' (ClickHouse strict_order "
            f"with allow_reentry); mode={mode!r}. Fix: pass mode='uninterrupted' or drop out_of_order."
        )
    what = on[0] + "=True" if on else ("mode='uninterrupted'" if mode == "uninterrupted" else None)
    if what is not None and window_from != "entry":
        raise ParameterError(
            f"{what} follows ClickHouse windowFunnel, whose window is measured from the first step; "
            f"window_from={window_from!r} is not defined there. Fix: window_from='entry'."
        )
    if what is not None and exclude:
        raise ParameterError(
            f"`exclude=` is not defined with {what} (ClickHouse windowFunnel has no exclusions). "
            "Fix: drop the exclusions, or use the default ordered funnel."
        )


def _to_ns(value: Any, name: str) -> int | None:
    return None if value is None else int(parse_timestamp(value, name=name).as_unit("ns").value)


def _step_durations(level: np.ndarray, columns: np.ndarray) -> list[np.ndarray]:
    """int64 ns from step k-1 to step k (k = 1..K-1) of the units that reached step k.

    ``columns`` is the step times transposed, ``(K, n_units)`` and C-contiguous, so each
    step's times are one contiguous array.
    """
    out = []
    for k in range(1, columns.shape[0]):
        ok = level >= k + 1
        out.append((columns[k][ok] - columns[k - 1][ok]).astype(np.int64, copy=False))
    return out


def _optional_durations(step_time: np.ndarray) -> list[np.ndarray]:
    """With optional steps: ns from the previous step *passed* to step k, units that passed k."""
    from ..engine.kernels import NAT

    st = np.asarray(step_time)
    out = []
    prev = st[:, 0].copy()
    for k in range(1, st.shape[1]):
        col = st[:, k]
        ok = col != NAT
        out.append((col[ok] - prev[ok]).astype(np.int64, copy=False))
        prev = np.where(ok, col, prev)
    return out


def _step_table(level: np.ndarray, step_time: np.ndarray, names: Sequence[str], labels: Sequence[str],
                *, durations: list[np.ndarray] | None = None, optional: bool = False) -> pd.DataFrame:
    """The §4 table from per-unit levels and step times (units with level 0 ignored).

    With ``optional`` steps a step's ``units`` are the units that passed it (their step
    time is set), and times run from the previous step passed.
    """
    from ..engine.kernels import NAT

    K = len(names)
    if optional:
        if durations is None:
            durations = _optional_durations(step_time)
        reached = (np.asarray(step_time) != NAT).sum(axis=0).astype(np.int64) if len(level) \
            else np.zeros(K, dtype=np.int64)
    else:
        if durations is None:
            durations = _step_durations(level, np.ascontiguousarray(step_time.T))
        counts = np.bincount(level.astype(np.int64), minlength=K + 1)
        reached = counts[::-1].cumsum()[::-1][1:]  # units with level >= k, k = 1..K
    first = reached[0] if K else 0
    prev = np.r_[first, reached[:-1]]
    with np.errstate(invalid="ignore", divide="ignore"):
        conv = np.where(first > 0, reached / max(first, 1), np.nan)
        step_conv = np.where(prev > 0, reached / np.maximum(prev, 1), np.nan)
    dropoff = prev - reached
    drop_rate = np.where(prev > 0, dropoff / np.maximum(prev, 1), np.nan)
    med, mean, p90 = [pd.NaT], [pd.NaT], [pd.NaT]
    for d in durations:
        if len(d):
            med.append(pd.Timedelta(int(np.round(np.median(d))), unit="ns"))
            mean.append(pd.Timedelta(int(np.round(d.mean())), unit="ns"))
            p90.append(pd.Timedelta(int(np.round(np.quantile(d, 0.9))), unit="ns"))
        else:
            med.append(pd.NaT)
            mean.append(pd.NaT)
            p90.append(pd.NaT)
    step_conv[0] = 1.0 if first > 0 else np.nan
    drop_rate[0] = 0.0 if first > 0 else np.nan
    return pd.DataFrame(
        {
            "step": list(names),
            "label": list(labels),
            "units": reached.astype(np.int64),
            "conversion_rate": conv.astype(float),
            "step_conversion_rate": step_conv.astype(float),
            "dropoff": dropoff.astype(np.int64),
            "dropoff_rate": drop_rate.astype(float),
            "median_time_from_previous": pd.to_timedelta(pd.Series(med, dtype="timedelta64[ns]")),
            "mean_time_from_previous": pd.to_timedelta(pd.Series(mean, dtype="timedelta64[ns]")),
            "p90_time_from_previous": pd.to_timedelta(pd.Series(p90, dtype="timedelta64[ns]")),
        },
        columns=list(TABLE_COLUMNS),
    )


def _group_codes(codes: np.ndarray, values: Sequence[Any], level: np.ndarray,
                 max_groups: int) -> pd.Categorical:
    """The ``by`` group of each unit from its value code (-1: none), without a string per unit.

    A value's label is ``str(value)``; units without one get the missing label (see
    :func:`_labels`). The ``max_groups`` labels with the most entered units are kept
    (ties by label; the missing group never displaces a real group), the rest become
    the overflow group.
    """
    labels, missing, other = _labels(values)
    names = sorted(set(labels) | {missing})
    index = {name: i for i, name in enumerate(names)}
    of_code = np.array([index[lab] for lab in labels] + [index[missing]], dtype=np.int64)  # last: code -1
    lab = of_code[codes]
    entered = np.bincount(lab[level >= 1], minlength=len(names))
    ranked = sorted((n for n in names if entered[index[n]]), key=lambda n: (-entered[index[n]], n))
    keep = [n for n in ranked if n != missing][:max_groups]
    cats = keep + [missing, other]
    pos = {n: i for i, n in enumerate(cats)}
    to_group = np.array([pos[n] if (n in keep or n == missing) else pos[other] for n in names],
                        dtype=np.int64)
    return pd.Categorical.from_codes(to_group[lab], categories=cats)


def _all_events_groups(codes: np.ndarray, values: Sequence[Any], level: np.ndarray,
                       max_groups: int) -> tuple[list[str], np.ndarray, str, str]:
    """``attribution="all_events"``: group labels and a ``(n_units, groups)`` membership matrix.

    A unit is in the group of every value it carries on a reported step event; a unit
    carrying values outside the ``max_groups`` largest is in the overflow group (once);
    a unit carrying none is in the missing group.
    """
    labels, missing, other = _labels(values)
    n, k = codes.shape
    reached = (codes >= 0) & (np.arange(k)[None, :] < level[:, None])
    nv = len(labels)
    member = np.zeros((n, nv + 1), dtype=bool)
    rows = np.repeat(np.arange(n), k).reshape(n, k)[reached]
    member[rows, codes[reached]] = True
    member = member[:, :nv]
    entered = member[level >= 1].sum(axis=0)
    ranked = sorted((i for i in range(nv) if entered[i]), key=lambda i: (-entered[i], labels[i]))
    keep = ranked[:max_groups]
    cols = [member[:, i] for i in keep]
    names = [labels[i] for i in keep]
    rest = np.setdiff1d(np.arange(nv), np.asarray(keep, dtype=np.int64))
    cols.append(~member.any(axis=1))
    names.append(missing)
    cols.append(member[:, rest].any(axis=1) if rest.size else np.zeros(n, dtype=bool))
    names.append(other)
    return names, np.stack(cols, axis=1), missing, other


def result_from_partial(part: Any, spec: Any, params: dict[str, Any]) -> FunnelResult:
    """Build the :class:`FunnelResult` from the engine's per-unit arrays (a ``FunnelPartial``)."""
    if any(spec.optional) and not params.get("optional"):  # callers that build params themselves
        params = {**params, "optional": [n for n, o in zip(spec.names, spec.optional) if o]}
    groups = None
    if params["by"] is not None:  # the by= group of each unit
        att = params["attribution"]
        codes = part.attr
        if att == "all_events":
            groups = _all_events_groups(codes, part.attr_values, part.level, params["max_groups"])
        else:
            if att in ("first_touch", "last_touch"):
                codes = _touch_codes(codes, part.step_time, part.level, last=att == "last_touch")
            groups = _group_codes(codes, part.attr_values, part.level, params["max_groups"])
    return _result(part, groups, names=spec.names, labels=spec.labels, journey=spec.journey,
                   params=params)


def _result(
    ua: Any,
    groups: pd.Categorical | None,
    *,
    names: Sequence[str],
    labels: Sequence[str],
    journey: Any,
    params: dict[str, Any],
) -> FunnelResult:
    """The result's tables from per-unit arrays and each unit's ``by`` group."""
    data_end = ua.data_end
    K = len(names)
    level = ua.level
    step_time = ua.step_time
    optional = bool(params.get("optional"))
    # per-unit frame and the durations between steps, one step column at a time (a
    # Fortran-ordered step_time, as the columnar path makes it, is used without copies)
    cols = step_columns(names, params.get("by"))
    data: dict[str, Any] = {"level": level}
    times: dict[str, Any] = {}
    durations: list[np.ndarray] = []
    prev = None
    for k, name in enumerate(names):
        col = np.ascontiguousarray(step_time[:, k])
        if prev is not None and not optional:
            ok = level >= k + 1
            durations.append(col[ok] - prev[ok])
        times[name] = data[cols[k]] = pd.array(col, dtype=_TIME_DTYPE, copy=False)  # shares col's memory
        prev = col
    del prev, col
    data["excluded"] = ua.excluded
    index = ua.unit_ids.copy()
    units = pd.DataFrame(data, index=index, columns=["level", *cols, "excluded"], copy=False)
    step_times = pd.DataFrame(times, index=index, columns=list(names), copy=False)
    if optional:
        durations = _optional_durations(step_time)
    table = _step_table(level, step_time, names, labels, durations=durations, optional=optional)
    # breakdown -----------------------------------------------------------------------
    breakdown = None
    by = params["by"]
    missing_label = None
    if by is not None:
        parts = []
        if isinstance(groups, tuple):  # all_events: a unit may be in several groups
            gnames, member, missing_label, other_label = groups
            units[by] = [tuple(g for g, m in zip(gnames, row) if m) for row in member]
            masks = [(g, member[:, i]) for i, g in enumerate(gnames)]
        else:
            gcode = groups.codes.astype(np.int64)  # integer masks below, not string comparisons
            guniq = list(groups.categories)
            missing_label, other_label = guniq[-2], guniq[-1]
            units[by] = groups
            masks = [(g, gcode == i) for i, g in enumerate(guniq)]
        entered = {g: int(np.count_nonzero(m & (level >= 1))) for g, m in masks}
        ranked = sorted(((g, m) for g, m in masks if entered[g]),
                        key=lambda gm: (gm[0] in (other_label, missing_label), -entered[gm[0]], gm[0]))
        for g, m in ranked:
            tb = _step_table(level[m], step_time[m], names, labels, optional=optional)
            tb.insert(0, by, g)
            parts.append(tb)
        breakdown = (
            pd.concat(parts, ignore_index=True)
            if parts
            else pd.DataFrame(columns=[by, *TABLE_COLUMNS])
        )
        overlap = isinstance(groups, tuple)
        breakdown.attrs["groups_sum_to_total"] = not overlap
        breakdown.attrs["note"] = (
            "attribution='all_events': a unit counts in every group whose value it carries on a step "
            "event, so the groups need not sum to the total." if overlap
            else "Each unit counts in one group: the groups sum to the total."
        )
    # censoring: units whose window is still open at the end of the data ---------------
    censored = None
    win = params["window"]
    if win is not None:
        w = int(win.value)
        unfinished = (level >= 1) & (level < K)
        if params["mode"] != "any_order" and params["window_from"] == "previous":
            last = np.clip(level - 1, 0, K - 1)
            anchor = step_time[np.arange(len(level)), last]
        else:
            anchor = step_time[:, 0]
        open_ = unfinished & (anchor.astype(np.int64) + w > data_end)
        # a unit at level L is censored at step L+1 (0-based index L)
        cens = np.bincount(level[open_], minlength=K + 1)[:K].astype(np.int64)
        cens[0] = 0
        censored = pd.DataFrame({"step": list(names), "censored": cens})
    diagnostics = {
        "rows": ua.n_rows,
        "rows_in_funnel": ua.rows_in_funnel,
        "units": len(ua.unit_ids),
        "units_entered": int((level >= 1).sum()),
        "units_excluded": int(ua.excluded.sum()),
        "attempts": int(ua.n_attempts.sum()),
        "rows_dropped_on_read": dict(ua.dropped),
        "zero_durations": {names[k]: int(np.count_nonzero(d == 0)) for k, d in enumerate(durations, start=1)},
        "data_end": pd.Timestamp(int(data_end), unit="ns", tz="UTC"),
    }
    if missing_label is not None:
        diagnostics["missing_label"] = missing_label
    return FunnelResult(
        table=table,
        units=units,
        breakdown=breakdown,
        censored=censored,
        diagnostics=diagnostics,
        params=params,
        steps=tuple(names),
        labels=tuple(labels),
        journey=journey,
        step_times=step_times,
    )
