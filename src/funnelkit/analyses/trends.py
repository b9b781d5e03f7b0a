"""Conversion trends: the funnel by entry period, with incomplete windows and shifts flagged.

DESIGN §7: conversion by entry period (hour, day, week, month), flagging periods
whose windows are not complete yet and the (period, step) cells whose step
conversion departs from the other periods, so that an incident shows itself.

A unit counts in every period in which it starts an attempt, with its best attempt
among those starting there (PostHog's funnel trends; DESIGN §4, ``docs/trends.md``):
per period, the counts of the funnel whose ``start``/``end`` are the period's
bounds. The engine computes all periods in one pass over the log
(:mod:`funnelkit.engine.bucket_trend`, driven by :mod:`funnelkit.engine.drive`), so a
Parquet file larger than memory and a Dask DataFrame work as for a funnel.
:func:`trend` returns a :class:`TrendResult` (the tidy table and the parameters
that made it; ``.plot()`` draws it); :func:`trend_table` is a shortcut to its table.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import inspect
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._polars import PolarsMixin

from ..io import _names
from ..io import normalize as _schema
from ..errors import ParameterError

__all__ = ["TREND_COLUMNS", "TrendResult", "trend", "trend_table"]

#: Columns of :attr:`TrendResult.table` (and of :func:`trend_table`), in order.
TREND_COLUMNS: tuple[str, ...] = (
    "period",
    "period_end",
    "step",
    "label",
    "entered",
    "units",
    "conversion_rate",
    "units_previous",
    "step_conversion_rate",
    "complete",
    "too_few",
    "excluded",
    "expected_step_rate",
    "z",
    "p_value",
    "p_adjusted",
    "shift",
)


@dataclass(frozen=True)
class TrendResult(PolarsMixin):
    """The result of :func:`trend`: conversion of each step by entry period.

    Attributes
    ----------
    table : DataFrame
        One row per (period, step) with the columns of :data:`TREND_COLUMNS` (see
        :func:`trend` for their meaning).
    params : dict
        The parameters that made the result: the funnel's (``window``, ``mode``,
        ``window_from``, ``unit``, ``exclude``, ``start``, ``end``) and the trend's
        (``freq``, ``tz``, ``alpha``, ``min_units``, ``min_entries``, ``lang``), plus
        ``horizon`` (the time after a period's end that its units need to convert),
        ``data_start`` / ``data_end`` (the first and last event of the log) and
        ``semantics="attempts_by_period"`` (a unit counts in every period in which it
        starts an attempt, as PostHog's funnel trends).
    steps : tuple of str
        The funnel's step names, in order.
    labels : tuple of str
        Their labels (in ``params["lang"]``, default the journey's language).
    journey : Journey or None
        The journey the steps come from (used to relabel the steps in another language).
    """

    table: pd.DataFrame
    params: dict[str, Any]
    steps: tuple[str, ...]
    labels: tuple[str, ...]
    journey: Any = field(repr=False, default=None)

    # -- views ---------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """The tidy table (a copy), ready for ``to_csv`` or further pandas work."""
        return self.table.copy()

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Draw the trend; delegates to :func:`funnelkit.plotting.conversion_trend` (returns the Axes)."""
        from .. import plotting

        return plotting.conversion_trend(self, ax=ax, **kwargs)

    @property
    def n_periods(self) -> int:
        """Number of entry periods in the table (also those without entries)."""
        return int(self.table["period"].nunique()) if len(self.table) else 0

    def _summary(self) -> str:
        t = self.table
        n_inc = int((~t.drop_duplicates("period")["complete"].astype(bool)).sum()) if len(t) else 0
        n_shift = int(t["shift"].astype(bool).sum()) if len(t) else 0
        p = self.params
        return (f"TrendResult(freq={p.get('freq')!r}, tz={p.get('tz')!r}, window={p.get('window')!s}, "
                f"{self.n_periods} periods ({n_inc} incomplete), {len(self.steps)} steps, {n_shift} shifts)")

    def _wide(self) -> pd.DataFrame:
        """One row per period: entries, completeness and each step's conversion (``*`` = shift)."""
        t = self.table
        if not len(t):
            return pd.DataFrame(columns=["period", "entered", "complete"])
        hourly = str(self.params.get("freq", "D")).lower().startswith("h")
        fmt = "%Y-%m-%d %H:%M" if hourly else "%Y-%m-%d"
        per = t.drop_duplicates("period")
        out = pd.DataFrame({"period": pd.DatetimeIndex(per["period"]).strftime(fmt),
                            "entered": per["entered"].to_numpy(), "complete": per["complete"].to_numpy()})
        for step, label in zip(self.steps, self.labels):
            sub = t[t["step"] == step]
            rate = sub["conversion_rate"].to_numpy(dtype=float)
            shift = sub["shift"].to_numpy(dtype=bool)
            out[str(label)] = [("–" if np.isnan(r) else f"{r * 100:.1f}%") + ("*" if s else "")
                               for r, s in zip(rate, shift)]
        return out

    def __repr__(self) -> str:
        with pd.option_context("display.width", 160, "display.max_columns", 20):
            return self._summary() + "\n" + self._wide().to_string(index=False, max_rows=12)

    def _repr_html_(self) -> str:
        caption = html.escape(self._summary().removeprefix("TrendResult(").removesuffix(")"))
        body = self._wide().to_html(index=False, escape=True, border=0, max_rows=20)
        n_few = int(self.table.drop_duplicates("period")["too_few"].astype(bool).sum()) if (
            len(self.table) and "too_few" in self.table.columns) else 0
        few = (f" {n_few} periods have fewer than {self.params.get('min_entries', 30)} entries (too_few): "
               "too few to read." if n_few else "")
        foot = ("<p style='margin:2px 0;color:#555'>Conversion from entry by entry period (a unit counts in "
                "every period in which it starts an attempt); * marks a shift in step conversion; "
                "complete = False: the window is not over yet (rates still rising)." + html.escape(few) + "</p>")
        return f"<div class='funnelkit-result'><p><b>Trend: {caption}</b></p>{body}{foot}</div>"


def trend(
    events: Any,
    journey_or_steps: Any,
    *,
    freq: str = "D",
    window: str | pd.Timedelta | None = "7D",
    tz: str | None = "UTC",
    alpha: float = 0.01,
    min_units: int = 30,
    min_entries: int = 30,
    **funnel_kwargs: Any,
) -> TrendResult:
    """Conversion of each step by entry period, counting each period's attempts (PostHog funnel trends).

    A unit counts in **every** period in which it starts an attempt (a step-1 event;
    with ``mode="any_order"``, any funnel event), with its best attempt among those
    starting in that period: the deepest level, the attempt free to continue past
    the period's end within the window. A period's counts are exactly those of
    ``fk.funnel(events, steps, start=period, end=period_end, ...)``. This is what
    PostHog's funnel trends count; it is not the split of :func:`funnelkit.funnel`'s
    units by the start of their reported attempt (funnelkit before issue 11), which
    puts a repeat visitor only in the period of its converting attempt, so the last
    periods held only converters and jumped to 100 %. See ``docs/trends.md``.

    Parameters
    ----------
    events : DataFrame, path or anything :func:`funnelkit.read_events` accepts
        The event log (canonical columns ``user_id``, ``timestamp``, ``event``); a
        Parquet path is read out of core, a Dask DataFrame partition by partition.
    journey_or_steps : Journey or list
        The funnel's steps, as for :func:`funnelkit.funnel`.
    freq : str, default "D"
        Length of an entry period: ``"h"``, ``"D"``, ``"W"`` (weeks starting on
        Monday; ``"W-SUN"`` etc. for another anchor) or ``"M"``.
    window : str, Timedelta or None, default "7D"
        The conversion window (as for :func:`funnelkit.funnel`).
    tz : str, default "UTC"
        Time zone in which periods are cut (e.g. ``"Europe/Madrid"`` for local days).
    alpha : float, default 0.01
        Family-wise error rate of the shift flags (Holm over every tested cell).
    min_units : int, default 30
        Cells whose previous step has fewer units are not tested for a shift.
    min_entries : int, default 30
        Periods with fewer entries than this are marked ``too_few`` (too few to
        read a rate: one entry that converts is a 100 % period); the plot draws
        them as hollow grey markers, off the lines.
    **funnel_kwargs
        Any other keyword of :func:`funnelkit.funnel` (``mode``, ``window_from``,
        ``unit``, ``exclude``, ``start``, ``end``, ``lang``, ``session_col``,
        ``memory_budget``, ``tmp_dir``, ``on_unknown``...). ``by`` is not allowed. ``start`` and
        ``end`` bound the entries as for the funnel: the first and last periods
        then count only the entries inside ``[start, end)``.

    Returns
    -------
    TrendResult
        Its ``table`` has one row per (period, step) with the columns of
        :data:`TREND_COLUMNS`:

        - ``period``, ``period_end``: the entry period ``[period, period_end)``
          (tz-aware, in ``tz``); every period between the first and last entry
          is present, also those without entries;
        - ``entered``: units with a (clean) attempt starting in the period, the
          denominator of ``conversion_rate``; a unit may enter several periods;
          ``units``: those of them whose best attempt of the period reached the
          step; ``conversion_rate`` = units / entered;
        - ``units_previous``: those that reached the previous step (the
          denominator of ``step_conversion_rate``);
        - ``complete``: every attempt of the period had its whole window before
          the end of the data (``period_end + window <= last event``; with
          ``window_from="previous"`` the horizon is ``(steps - 1) * window``).
          Incomplete periods under-count conversions (censoring at the end of the
          data): compare them with care. With ``window=None`` nothing bounds a
          conversion, and ``complete`` only says the period ended before the data did;
        - ``too_few``: ``entered < min_entries`` (periods without entries too);
        - ``excluded``: units whose attempts of the period were all tainted by an
          exclusion (left out of ``entered``);
        - ``expected_step_rate``: the step conversion of the *other* complete
          periods together (leave-one-out); ``z`` and ``p_value``: a two-sided
          binomial z-test of the cell against it (steps 2..K of complete periods
          whose ``units_previous >= min_units``, NaN elsewhere); ``p_adjusted``:
          Holm-adjusted over all tested cells; ``shift``: ``p_adjusted < alpha``.

        The sum of ``entered`` over periods counts unit-periods, not units: it is
        at least the funnel's step-1 count, more with repeat visitors.

    See Also
    --------
    trend_table : the same table, directly.
    funnelkit.plotting.conversion_trend : the plot of a TrendResult (``TrendResult.plot()``).

    Examples
    --------
    User 1 lands on Monday (no purchase) and again on Tuesday, buying an hour
    later: it enters both days, converting on Tuesday only.

    >>> import funnelkit as fk, pandas as pd
    >>> ev = pd.DataFrame({
    ...     "user_id": [1, 1, 1, 2, 2],
    ...     "timestamp": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 10:00", "2024-01-02 11:00",
    ...                                  "2024-01-01 12:00", "2024-01-01 12:30"], utc=True),
    ...     "event": ["landing", "landing", "purchase", "landing", "purchase"]})
    >>> tr = fk.trends.trend(ev, ["landing", "purchase"], window="1h", min_entries=1)
    >>> tr.params["freq"], tr.steps, tr.n_periods
    ('D', ('landing', 'purchase'), 2)
    >>> tr.table[["step", "entered", "units", "conversion_rate", "complete", "too_few"]]
           step  entered  units  conversion_rate  complete  too_few
    0   landing        2      2              1.0      True    False
    1  purchase        2      1              0.5      True    False
    2   landing        1      1              1.0     False    False
    3  purchase        1      1              1.0     False    False
    """
    from ..engine.bucket_trend import PeriodGrid, TrendKernel, merge_partials
    from ..engine.drive import DriveRequest, run_units
    from ..journey.steps import resolve_steps, symbol_table
    from .funnel import _checked_params, _memory_budget, _request, _tmp_dir, funnel

    if "by" in funnel_kwargs:
        raise ParameterError("trend() does not take `by=`: call it once per group (a filtered log) instead.")
    alpha_f = float(alpha) if isinstance(alpha, (int, float, np.number)) and not isinstance(alpha, bool) else -1.0
    if not 0 < alpha_f < 1:
        raise ParameterError(f"`alpha`={alpha!r} must be in (0, 1), e.g. 0.01.")
    for name, val in (("min_units", min_units), ("min_entries", min_entries)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
            raise ParameterError(f"`{name}`={val!r} must be a positive integer, e.g. 30.")
    tzinfo = _check_tz(tz)
    _check_freq(freq)
    fkw = dict(funnel_kwargs)
    lang = fkw.pop("lang", None)
    session_col = fkw.pop("session_col", "session_id")
    memory_budget = fkw.pop("memory_budget", None)
    tmp_dir = _tmp_dir(fkw.pop("tmp_dir", None))  # checked before any work
    accepted = set(inspect.signature(_checked_params).parameters) - {"window", "by", "attribution", "max_groups",
                                                                      "lang"}
    unknown = sorted(set(fkw) - accepted)
    if unknown:
        raise ParameterError(
            f"trend() got an unknown keyword {unknown[0]!r}={fkw[unknown[0]]!r}; it takes the trend's own "
            f"(freq, window, tz, alpha, min_units, min_entries) and these of fk.funnel: "
            f"{', '.join(sorted(accepted | {'lang', 'session_col', 'memory_budget', 'tmp_dir'}))}."
        )
    defaults = {k: v.default for k, v in inspect.signature(funnel).parameters.items()
                if v.default is not inspect.Parameter.empty}
    passed = {k: fkw[k] if k in fkw else defaults[k] for k in accepted if k in fkw or k in defaults}
    params, s_ns, e_ns = _checked_params(window=window, by=None, attribution="first_touch", max_groups=25,
                                         lang=lang, **passed)
    spec = resolve_steps(journey_or_steps, lang=lang)
    budget = _memory_budget(events, memory_budget)
    req = _request(spec, params, s_ns, e_ns, session_col=session_col, memory_budget=budget,
                   tmp_dir=tmp_dir, progress=True, attr_purpose="this trend")
    steps, labels = list(spec.names), list(spec.labels)
    K = len(steps)
    journey = spec.journey
    on_unknown = params.get("on_unknown", "warn")
    syms = symbol_table(spec, [], req.exclude, check_events=False)  # exclusions' shape, before any work
    src, names = _events_up_front(events, req)
    if names is not None:
        journey.check_events(names, on_unknown=on_unknown)
        syms = symbol_table(spec, names, req.exclude, check_events=True, on_unknown=on_unknown)
    fk = _funnel_kernel(req, spec, syms)
    win = params["window"]
    w_ns = None if win is None else int(win.value)
    previous = params["window_from"] == "previous" and params["mode"] != "any_order"
    if win is None:
        horizon = pd.Timedelta(0)
        reach = None
    elif previous:
        horizon = win * max(K - 1, 1)
        reach = min(w_ns * max(K - 1, 0), _MAX_REACH)
    else:
        horizon = win
        reach = min(w_ns, _MAX_REACH)
    tk = TrendKernel(fk=fk, grid=PeriodGrid(freq=str(freq), tz=str(tzinfo), start_ns=s_ns, end_ns=e_ns),
                     horizon=reach)
    dreq = DriveRequest(journey=journey, unit_col=req.unit_col, events=names is None,
                        keep="matched" if params["mode"] in _MATCHED_ONLY else "all", needed=tuple(req.needed),
                        memory_budget=req.memory_budget, tmp_dir=req.tmp_dir, progress=req.progress,
                        purpose=req.attr_purpose, steps=tuple(int(x) for x in spec.steps),
                        exclude=tuple(syms.exclude), exclude_rules=tuple(syms.exclude_rules))
    driven = run_units(src, dreq, functools.partial(_trend_bucket, tk))
    if names is None:  # names known only now (a Parquet file read directly)
        seen = sorted(set().union(*(d.event_names for d in driven)))
        journey.check_events(seen, on_unknown=on_unknown)
        symbol_table(spec, seen, req.exclude, check_events=True, on_unknown=on_unknown)
    merged = merge_partials([r for d in driven for r in d.results], K)
    nat = np.iinfo(np.int64).min
    t0 = min((d.data_start for d in driven if d.data_start != nat), default=nat)
    t1 = max((d.data_end for d in driven), default=nat)
    data_start = pd.Timestamp(t0, unit="ns", tz="UTC") if t0 != nat else pd.NaT
    data_end = pd.Timestamp(t1, unit="ns", tz="UTC") if t1 != nat else pd.NaT
    params = {k: v for k, v in params.items() if k not in ("by", "attribution", "max_groups")}
    params.update(freq=freq, tz=str(tzinfo), alpha=alpha_f, min_units=int(min_units),
                  min_entries=int(min_entries), lang=lang, horizon=horizon, data_start=data_start,
                  data_end=data_end, semantics="attempts_by_period")

    def result(table: pd.DataFrame) -> TrendResult:
        return TrendResult(table=table, params=params, steps=tuple(steps), labels=tuple(labels), journey=journey)

    if not len(merged.period):
        return result(_empty_table())
    grid = tk.grid
    cov_s, cov_e = grid.cover(int(merged.period[0]), int(merged.period[-1]))
    i0 = int(np.searchsorted(cov_s, merged.period[0]))
    i1 = int(np.searchsorted(cov_s, merged.period[-1]))
    starts_ns, ends_ns = cov_s[i0:i1 + 1], cov_e[i0:i1 + 1]
    P = len(starts_ns)
    at = np.searchsorted(starts_ns, merged.period)
    levels = np.zeros((P, K + 1), dtype=np.int64)
    levels[at] = merged.levels
    excluded = np.zeros(P, dtype=np.int64)
    excluded[at] = merged.excluded
    reached = levels[:, ::-1].cumsum(axis=1)[:, ::-1][:, 1:]  # P x K: entries with level >= k
    starts = pd.DatetimeIndex(starts_ns, tz="UTC").tz_convert(tzinfo)
    ends = pd.DatetimeIndex(ends_ns, tz="UTC").tz_convert(tzinfo)
    complete = np.asarray((ends + horizon) <= data_end, dtype=bool)
    return result(_table(reached, excluded, starts, ends, complete, steps, labels,
                         alpha=alpha_f, min_units=int(min_units), min_entries=int(min_entries)))


_MAX_REACH = 1 << 62  # horizon bound in ns (no overflow when added to a time)
#: Modes that never read rows outside the funnel; any other (strict adjacency, ClickHouse's
#: strict_order...) gets every row of the log, as the funnel keeps them.
_MATCHED_ONLY = ("ordered", "any_order")


def _trend_bucket(tk: Any, rows: Any) -> Any:
    """The bucket function handed to the driver (module level: picklable for Dask)."""
    from ..engine.bucket_trend import run_trend_bucket

    return run_trend_bucket(tk, rows.u, rows.t, rows.bits, rows.pos, rows.n_units)


def _funnel_kernel(req: Any, spec: Any, syms: Any) -> Any:
    """The FunnelKernel of a funnel request, built as :func:`funnelkit.engine.run.run_funnel` builds it
    (without ``start``/``end``: the trend sets them per period)."""
    from ..engine.bucket_funnel import FunnelKernel, code_lut
    from ..engine.plan import rule_bits

    journey = spec.journey
    st = np.asarray(spec.steps, dtype=np.int64)
    rb = rule_bits(journey, spec.steps, syms.exclude, syms.exclude_rules)
    stages = journey._all_stages()
    given = dict(
        mode=req.mode, window=req.window, window_from=req.window_from, steps=st, exclude=tuple(syms.exclude),
        bits=rb, after_order=tuple(journey._after_order()), stage_of={s.name: i for i, s in enumerate(stages)},
        step_names=tuple(spec.names), start_ns=None, end_ns=None, step_attr=None, code_lut=code_lut(st, rb),
    )
    # options the kernel reads straight from the request (the ClickHouse modes...): as run_funnel passes them
    for f in dataclasses.fields(FunnelKernel):
        if f.name not in given and hasattr(req, f.name):
            given[f.name] = getattr(req, f.name)
    return FunnelKernel(**given)


def _events_up_front(events: Any, req: Any) -> tuple[Any, list[str] | None]:
    """The input for the driver and, when they can be known before any work, the log's event
    names: a frame is normalized here, a Dask frame's names are collected by one reduction
    (as the funnel does); a path's names come from the run itself (``None``)."""
    import os

    from ..engine.dask import is_dask_frame

    if isinstance(events, (str, os.PathLike)):
        return events, None
    if is_dask_frame(events):
        import dask

        from ..io import _ids
        from ..io import columns as _columns
        from ..engine.run import where_columns
        from ..engine.sources import _check_columns
        from ..errors import EmptyEventLogError
        from ..journey.steps import symbol_table

        cols = list(events.columns)
        _columns.resolve_columns(cols)
        syms = symbol_table(req.spec, [], req.exclude, check_events=False)
        _check_columns(cols, unit_col=req.unit_col, attr_col=None,
                       props=where_columns(req.spec.journey, syms.exclude_rules), attr_purpose=req.attr_purpose)
        raw = dask.compute(events[_names.EVENT].dropna().unique())[0]
        raw = pd.Series(np.asarray(raw, dtype=object))
        if len(raw) == 0:
            raise EmptyEventLogError("The event log is empty: there is nothing to compute a trend on.")
        return events, sorted(_ids._convert_event(raw, name=_names.EVENT, pos=None).cat.categories.tolist())
    frame = _schema.ensure_events(events)
    if len(frame) == 0:
        from ..errors import EmptyEventLogError

        raise EmptyEventLogError("The event log is empty: there is nothing to compute a trend on.")
    return frame, [str(c) for c in frame[_names.EVENT].cat.categories]


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in TREND_COLUMNS})


def _table(reached: np.ndarray, excluded: np.ndarray, starts: pd.DatetimeIndex, ends: pd.DatetimeIndex,
           complete: np.ndarray, steps: list[str], labels: list[str], *, alpha: float, min_units: int,
           min_entries: int) -> pd.DataFrame:
    """The tidy table from per-period counts of entries reaching each step (``reached``, P x K)."""
    from scipy.special import ndtr

    P, K = reached.shape
    entered = reached[:, 0]
    prev = np.concatenate([reached[:, :1], reached[:, :-1]], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        conv = np.where(entered[:, None] > 0, reached / np.maximum(entered[:, None], 1), np.nan)
        step_conv = np.where(prev > 0, reached / np.maximum(prev, 1), np.nan)
    expected, z, p = (np.full((P, K), np.nan) for _ in range(3))
    for k in range(1, K):
        usable = complete & (prev[:, k] > 0)
        S, N = reached[usable, k].sum(), prev[usable, k].sum()
        loo_s = S - np.where(usable, reached[:, k], 0)
        loo_n = N - np.where(usable, prev[:, k], 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            b = np.where(loo_n > 0, loo_s / np.maximum(loo_n, 1), np.nan)
            se = np.sqrt(b * (1 - b) / np.maximum(prev[:, k], 1))
            zz = (step_conv[:, k] - b) / se
        tested = usable & (prev[:, k] >= min_units) & (loo_n > 0) & (se > 0)
        expected[tested, k] = b[tested]
        z[tested, k] = zz[tested]
        p[tested, k] = 2 * ndtr(-np.abs(zz[tested]))
    p_adj = np.full((P, K), np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        from ..stats import adjust_pvalues

        p_adj[ok] = np.asarray(adjust_pvalues(p[ok], method="holm"), float)
    shift = np.where(ok, p_adj < alpha, False)
    out = pd.DataFrame(
        {
            "period": np.repeat(starts, K),
            "period_end": np.repeat(ends, K),
            "step": np.tile(np.asarray(steps, dtype=object), P),
            "label": np.tile(np.asarray(labels, dtype=object), P),
            "entered": np.repeat(entered, K).astype(np.int64),
            "units": reached.ravel().astype(np.int64),
            "conversion_rate": conv.ravel(),
            "units_previous": prev.ravel().astype(np.int64),
            "step_conversion_rate": step_conv.ravel(),
            "complete": np.repeat(complete, K),
            "too_few": np.repeat(entered < min_entries, K),
            "excluded": np.repeat(excluded, K).astype(np.int64),
            "expected_step_rate": expected.ravel(),
            "z": z.ravel(),
            "p_value": p.ravel(),
            "p_adjusted": p_adj.ravel(),
            "shift": shift.ravel().astype(bool),
        },
        columns=list(TREND_COLUMNS),
    )
    out["step"] = out["step"].astype(str)
    out["label"] = out["label"].astype(str)
    return out


def trend_table(
    events: Any,
    journey_or_steps: Any,
    *,
    freq: str = "D",
    window: str | pd.Timedelta | None = "7D",
    tz: str | None = "UTC",
    alpha: float = 0.01,
    min_units: int = 30,
    min_entries: int = 30,
    **funnel_kwargs: Any,
) -> pd.DataFrame:
    """The table of :func:`trend`: ``trend(...).table``.

    Takes the parameters of :func:`trend` and returns its tidy table, one row per
    (period, step) with the columns of :data:`TREND_COLUMNS`.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({
    ...     "user_id": [1, 1, 2, 3, 3],
    ...     "timestamp": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 11:00", "2024-01-01 12:00",
    ...                                  "2024-01-02 09:00", "2024-01-09 10:00"], utc=True),
    ...     "event": ["landing", "purchase", "landing", "landing", "purchase"]})
    >>> t = trend_table(ev, ["landing", "purchase"], window="1D")
    >>> t["period"].dt.strftime("%Y-%m-%d").unique().tolist()
    ['2024-01-01', '2024-01-02']
    """
    return trend(events, journey_or_steps, freq=freq, window=window, tz=tz, alpha=alpha, min_units=min_units,
                 min_entries=min_entries, **funnel_kwargs).table


def _check_tz(tz: Any) -> Any:
    if tz is None:
        return "UTC"
    try:
        pd.Timestamp("2024-01-01").tz_localize(tz)
    except Exception:
        raise ParameterError(f"`tz`={tz!r} is not a time zone; use e.g. 'UTC' or 'Europe/Madrid'.") from None
    return tz


def _check_freq(freq: Any) -> None:
    try:
        p = pd.Period("2024-01-01", freq=freq)
    except Exception:
        raise ParameterError(
            f"`freq`={freq!r} is not a period length; use 'h', 'D', 'W' or 'M'."
        ) from None
    if p.freq.n != 1:
        raise ParameterError(
            f"`freq`={freq!r}: use a single period ('h', 'D', 'W', 'M'), not a multiple; "
            "multiples are not aligned on calendar boundaries."
        )


