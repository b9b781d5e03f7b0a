"""Funnels: how many units reach each step of a journey, drop-off and time between steps.

The exact semantics (ordered, strict and any-order funnels, windows, the reported
attempt, exclusions, breakdowns) are those of the design document, §4; the heavy
lifting happens in :mod:`funnelkit._kernels`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from . import _kernels
from ._params import check_choice, parse_duration, parse_timestamp
from ._prepare import Prepared, prepare, read_if_path
from .errors import ParameterError

__all__ = ["funnel", "FunnelResult", "TABLE_COLUMNS"]  # UnitArrays & co. are for engines

Mode = Literal["ordered", "strict", "any_order"]
WindowFrom = Literal["entry", "previous"]
Unit = Literal["user", "session"]

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


@dataclass(frozen=True)
class FunnelResult:
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
        of steps reached, 0..K) and one timestamp column per step (the reported
        attempt's event time, ``NaT`` where not reached).
    breakdown : DataFrame or None
        With ``by=``: the table's columns for each group (first column named after
        ``by``); the groups' ``units`` sum to the table's.
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

    # -- views ---------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """The step table (a copy), ready for ``to_csv`` or further pandas work."""
        return self.table.copy()

    def time_between(self, **kwargs: Any):
        """Time between consecutive steps; see :func:`funnelkit.time_between`."""
        from .timing import time_between

        return time_between(self, **kwargs)

    def plot(self, kind: str = "bars", *, ax: Any = None, **kwargs: Any):
        """Plot the funnel; delegates to :mod:`funnelkit.plotting` (returns the Axes)."""
        from . import plotting

        return plotting.plot_result(self, kind=kind, ax=ax, **kwargs)

    def report(self, path: Any, *, lang: Literal["en", "es"] | None = None, **kwargs: Any):
        """Write a self-contained HTML page of this funnel; see :mod:`funnelkit.report`."""
        from . import report

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
        if self.diagnostics.get("units_excluded"):
            notes.append(f"{self.diagnostics['units_excluded']} units left out by exclusions.")
        if self.censored is not None and int(self.censored["censored"].sum()):
            notes.append(
                f"{int(self.censored['censored'].sum())} units still inside their window at the end of the data (censored)."
            )
        foot = "".join(f"<p style='margin:2px 0;color:#555'>{html.escape(n)}</p>" for n in notes)
        return f"<div class='funnelkit-result'><p><b>{caption}</b></p>{body}{foot}</div>"


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
    mode : {"ordered", "strict", "any_order"}
        ``ordered``: steps in order, other events may lie between them (ClickHouse
        ``windowFunnel(..., 'strict_once')``); ``strict``: consecutive steps must be
        adjacent among all the unit's events; ``any_order``: the number of distinct
        steps within one window span.
    window_from : {"entry", "previous"}
        Measure the window from the first step (default) or from the previous step.
    unit : {"user", "session"}
        What converts: users, or sessions (needs :func:`funnelkit.sessionize` first).
    by : str, optional
        A property column to break the funnel down by (e.g. ``"channel"``).
    attribution : {"first_touch", "last_touch", "step:N"}
        Which value of ``by`` a unit is attributed to: the first (last) non-null value
        on the unit's events, or the value on the reported attempt's step-N event
        (1-based; units that did not reach step N go to ``"(missing)"``).
    max_groups : int, default 25
        At most this many groups (largest first); the others are merged as ``"Other"``.
    exclude : list of (event_or_stage, from_step, to_step)
        Attempts with that event strictly between the two steps (steps as names or
        1-based numbers) do not count; units with no clean attempt are left out.
    start, end : datetime-like, optional
        Only step-1 events in ``[start, end)`` start attempts (later steps may fall
        after ``end``). Naive values are taken as UTC.
    lang : {"en", "es"}, optional
        Language of the ``label`` column (default: the journey's).
    session_col : str, default "session_id"
        The session column used with ``unit="session"``.
    memory_budget : int or str, optional
        For a Parquet path only: process it out of core, holding at most about this
        much of the log in memory (``"512MB"``, ``"2GB"`` or bytes) and spilling to a
        temporary directory beyond it, with a progress bar. By default a path is read
        into memory unless its estimated in-memory size exceeds a quarter of RAM, in
        which case a 2 GiB budget applies. The result is identical either way.

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
    """
    from . import _engines

    kwargs_large = {}
    if memory_budget is not None:
        import os

        if not isinstance(events, (str, os.PathLike)):
            raise ParameterError(
                f"`memory_budget`={memory_budget!r} applies to a Parquet path (read out of core); "
                f"the events given are a {type(events).__name__}, already in memory. Drop the argument."
            )
        kwargs_large["memory_budget"] = memory_budget
    if kwargs_large or _engines.is_large_source(events):  # large Parquet, or a Dask DataFrame
        return _engines.dispatch_funnel(
            events, journey_or_steps, window=window, mode=mode, window_from=window_from, unit=unit, by=by,
            attribution=attribution, max_groups=max_groups, exclude=exclude, start=start, end=end, lang=lang,
            session_col=session_col, **kwargs_large,
        )
    params, s_ns, e_ns = _checked_params(window=window, mode=mode, window_from=window_from, unit=unit, by=by,
                                         attribution=attribution, max_groups=max_groups, exclude=exclude,
                                         start=start, end=end, lang=lang)
    mode, window_from, unit, win = params["mode"], params["window_from"], params["unit"], params["window"]
    events, fast, _ = _columnar(events, journey_or_steps, params, lang=lang, session_col=session_col,
                                start_ns=s_ns, end_ns=e_ns)
    if fast is not None:
        return fast
    import os

    if isinstance(events, (str, os.PathLike)):
        # A file the columnar reader declined (string user ids, sparse ids, no statistics...):
        # read_events validates and normalizes it, and the frame may still take the path.
        events = read_if_path(events, journey_or_steps, by=by, unit=unit, session_col=session_col, lang=lang)
        events, fast, _ = _columnar(events, journey_or_steps, params, lang=lang, session_col=session_col,
                                    start_ns=s_ns, end_ns=e_ns)
        if fast is not None:
            return fast
    prep = prepare(
        events,
        journey_or_steps,
        unit=unit,
        session_col=session_col,
        keep_all=(mode == "strict"),
        exclude=exclude,
        lang=lang,
        extra_columns=[by] if by is not None else (),
    )
    kres = _run_kernel(prep, mode=mode, window=win, window_from=window_from, start_ns=s_ns, end_ns=e_ns)
    return _build_result(prep, kres, params=params)


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
) -> tuple[dict[str, Any], int | None, int | None]:
    """:func:`funnel`'s parameter checks, in order, before any data is read.

    Returns the ``params`` dict of the result and ``start``/``end`` in ns. The engines
    (:mod:`funnelkit._engines`) and :func:`funnelkit.experiment` call it too, so the
    same arguments fail with the same errors everywhere.
    """
    mode = check_choice(mode, name="mode", choices=("ordered", "strict", "any_order"))
    window_from = check_choice(window_from, name="window_from", choices=("entry", "previous"))
    unit = check_choice(unit, name="unit", choices=("user", "session"))
    win = parse_duration(window, name="window", allow_none=True, allow_zero=True)
    if isinstance(max_groups, bool) or not isinstance(max_groups, (int, np.integer)) or max_groups < 1:
        raise ParameterError(f"`max_groups`={max_groups!r} must be a positive integer.")
    if exclude is not None and mode == "any_order":
        raise ParameterError("`exclude=` needs an order of steps; it cannot be used with mode='any_order'.")
    if lang is not None:
        check_choice(lang, name="lang", choices=("en", "es"))
    if not isinstance(attribution, str) or not (
        attribution in ("first_touch", "last_touch") or attribution.startswith("step:")
    ):
        raise ParameterError(f"`attribution`={attribution!r}: use 'first_touch', 'last_touch' or 'step:N'.")
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
    )
    return params, s_ns, e_ns


def _columnar(
    events: Any,
    journey_or_steps: Any,
    params: dict[str, Any],
    *,
    lang: str | None,
    session_col: str,
    start_ns: int | None,
    end_ns: int | None,
    **scan_options: Any,
) -> tuple[Any, FunnelResult | None, Any]:
    """The funnel through :mod:`funnelkit._scan` when it can take the input, else None.

    Returns the events to give the general path (a frame normalized here is passed on,
    not normalized twice), the result if any, and the per-unit attribute of
    ``scan_options["attr_col"]`` (see ``FastUnits.attr``). ``scan_options``
    (``memory_budget``, ``tmp_dir``, ``progress``, ``attr_col``) go to
    :func:`funnelkit._scan.funnel_units`.
    """
    import os

    from . import _scan
    from ._prepare import resolve_steps
    from ._schema import ensure_events

    spec = resolve_steps(journey_or_steps, lang=lang)
    if not _scan.is_plain(spec, params["exclude"]):
        return events, None, None
    if not isinstance(events, (str, os.PathLike)):
        events = ensure_events(events)
    by = params["by"]
    if by is not None:
        if scan_options.get("attr_col") is not None:  # pragma: no cover - experiments have no by=
            raise AssertionError("by= and attr_col together")
        if not isinstance(events, (str, os.PathLike)) and by not in events.columns:
            return events, None, None  # the general path names the missing column
        scan_options = {**scan_options, "attr_col": by, "attr_mode": params["attribution"]}
    try:
        fu = _scan.funnel_units(
            events, spec, kern=_kernel_factory(params, spec.steps), keep_all=params["mode"] == "strict",
            exclude=params["exclude"], unit=params["unit"], session_col=session_col,
            start_ns=start_ns, end_ns=end_ns, **scan_options,
        )
    except _scan.NotApplicable:
        return events, None, None
    attributed = None
    if by is not None:  # the by= value of each unit, None where it has none
        codes, _, values = fu.attr
        vals = np.asarray(values + [None], dtype=object)  # code -1 -> None
        attributed = _nullify(vals[codes])
    ua = UnitArrays(
        unit_ids=fu.unit_ids,
        level=fu.kres.level.astype(np.int64),
        step_time=fu.kres.step_time,
        excluded=np.asarray(fu.kres.excluded, dtype=bool),
        n_attempts=np.asarray(fu.kres.n_attempts, dtype=np.int64),
        attributed=attributed,
        rows=fu.n_rows,
        rows_in_funnel=fu.rows_in_funnel,
        dropped=dict(fu.dropped),
    )
    res = result_from_units(ua, names=spec.names, labels=spec.labels, journey=spec.journey,
                            params=params, data_end=fu.data_end)
    return events, res, fu.attr


def _kernel_factory(params: dict[str, Any], steps: np.ndarray) -> Any:
    """``make(exclude) -> kern(unit, t, code, n_units, can_start)`` for the funnel's mode."""
    win = params["window"]
    w = None if win is None else int(win.value)
    mode, window_from = params["mode"], params["window_from"]

    def make(exclude: Sequence[tuple[int, int, int]]) -> Any:
        if mode == "any_order":
            def kern(unit, t, code, n_units, can):
                return _kernels.any_order_funnel(unit, t, code, steps, n_units=n_units, window=w, can_start=can)
        else:
            base = _kernels.ordered_funnel if mode == "ordered" else _kernels.strict_funnel

            def kern(unit, t, code, n_units, can):
                return base(unit, t, code, steps, n_units=n_units, window=w, can_start=can,
                            window_from=window_from, exclude=exclude)
        return kern

    return make


def _to_ns(value: Any, name: str) -> int | None:
    return None if value is None else int(parse_timestamp(value, name=name).as_unit("ns").value)


def _run_kernel(
    prep: Prepared,
    *,
    mode: str,
    window: pd.Timedelta | None,
    window_from: str,
    start_ns: int | None,
    end_ns: int | None,
) -> _kernels.KernelResult:
    """Run the mode's kernel; ``start_ns``/``end_ns`` (validated) bound the step-1 events."""
    s_ns, e_ns = start_ns, end_ns
    can_start = None
    if s_ns is not None or e_ns is not None:
        can_start = np.ones(len(prep.t), dtype=bool)
        if s_ns is not None:
            can_start &= prep.t >= s_ns
        if e_ns is not None:
            can_start &= prep.t < e_ns
    make = _kernel_factory(dict(window=window, mode=mode, window_from=window_from), prep.spec.steps)
    return _parallel_by_unit(make(prep.exclude), prep.unit, prep.t, prep.code, prep.n_units, can_start)


#: Rows above which the kernel runs on several threads (numpy releases the GIL).
PARALLEL_MIN_ROWS = 1_000_000


def _n_threads() -> int:
    """Threads for the kernel: ``FUNNELKIT_NUM_THREADS`` or the usable cores (at most 8)."""
    import os

    env = os.environ.get("FUNNELKIT_NUM_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise ParameterError(
                f"FUNNELKIT_NUM_THREADS={env!r} must be a whole number of threads, e.g. 2."
            ) from None
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def _parallel_by_unit(kern: Any, unit: np.ndarray, t: np.ndarray, code: np.ndarray, n_units: int,
                      can_start: np.ndarray | None) -> _kernels.KernelResult:
    """Run ``kern`` on contiguous blocks of units in threads and stitch the results.

    Units are independent, and the rows are sorted by unit, so each block is a slice
    with its unit codes shifted to start at 0: the result is identical to one call.
    """
    n_threads = _n_threads()
    if n_threads < 2 or len(unit) < PARALLEL_MIN_ROWS or n_units < 2:
        return kern(unit, t, code, n_units, can_start)
    from concurrent.futures import ThreadPoolExecutor

    bounds_u = np.linspace(0, n_units, n_threads + 1).astype(np.int64)
    bounds_r = np.searchsorted(unit, bounds_u).astype(np.int64)
    jobs = []
    for i in range(n_threads):
        r0, r1 = int(bounds_r[i]), int(bounds_r[i + 1])
        u0, u1 = int(bounds_u[i]), int(bounds_u[i + 1])
        can = None if can_start is None else can_start[r0:r1]
        jobs.append((unit[r0:r1] - u0, t[r0:r1], code[r0:r1], u1 - u0, can, r0))
    with ThreadPoolExecutor(n_threads) as ex:
        parts = list(ex.map(lambda j: kern(*j[:5]), jobs))
    step_pos = np.concatenate([np.where(p.step_pos >= 0, p.step_pos + j[5], p.step_pos)
                               for p, j in zip(parts, jobs)])
    return _kernels.KernelResult(
        level=np.concatenate([p.level for p in parts]),
        step_time=np.concatenate([p.step_time for p in parts]),
        step_pos=step_pos,
        excluded=np.concatenate([p.excluded for p in parts]),
        n_attempts=np.concatenate([p.n_attempts for p in parts]),
    )


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


def _step_table(level: np.ndarray, step_time: np.ndarray, names: Sequence[str], labels: Sequence[str],
                *, durations: list[np.ndarray] | None = None) -> pd.DataFrame:
    """The §4 table from per-unit levels and step times (units with level 0 ignored)."""
    K = len(names)
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


def _attribute(prep: Prepared, kres: _kernels.KernelResult, by: str, attribution: str) -> np.ndarray:
    """The ``by`` value attributed to each unit (object array, None where missing)."""
    frame = prep.frame
    col = frame[by]
    n_units = prep.n_units
    out = np.full(n_units, None, dtype=object)
    if attribution.startswith("step:"):
        try:
            k = int(attribution.split(":", 1)[1])
        except ValueError:
            k = 0
        K = len(prep.spec.steps)
        if not 1 <= k <= K:
            raise ParameterError(
                f"`attribution`={attribution!r}: use 'step:N' with N between 1 and {K} (1-based step number)."
            )
        pos = kres.step_pos[:, k - 1]
        ok = pos >= 0
        rows = prep.rows[pos[ok]]
        vals = col.iloc[rows].to_numpy(dtype=object)
        out[np.flatnonzero(ok)] = vals
        return _nullify(out)
    from ._prepare import _time_ns

    unit_all = prep.unit_all
    notnull = col.notna().to_numpy()
    idx = np.flatnonzero(notnull)
    if len(idx) == 0:
        return out
    t = _time_ns(frame)[idx]
    u = unit_all[idx]
    order = np.lexsort((t, u))  # stable: ties keep row order
    idx, u = idx[order], u[order]
    if attribution == "first_touch":
        firsts = np.r_[True, u[1:] != u[:-1]]
    else:
        firsts = np.r_[u[1:] != u[:-1], True]
    sel = idx[firsts]
    out[u[firsts]] = col.iloc[sel].to_numpy(dtype=object)
    return _nullify(out)


def _nullify(a: np.ndarray) -> np.ndarray:
    mask = pd.isna(a)
    a = a.copy()
    a[mask] = None
    return a


def _group_labels(values: np.ndarray, level: np.ndarray, max_groups: int) -> np.ndarray:
    s = pd.Series(values, dtype=object).astype(object)
    s = s.where(s.notna(), MISSING).astype(str)
    entered = s[level >= 1]
    counts = entered.value_counts()
    # largest groups first, ties by name (deterministic); MISSING never displaces a real group
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    keep = [g for g, _ in ranked if g != MISSING]
    if len(keep) > max_groups:
        keep = keep[: max_groups]
    keep_set = set(keep) | {MISSING}
    return np.where(s.isin(keep_set), s, OTHER)


@dataclass
class UnitArrays:
    """Per-unit results of one computation: mergeable by concatenation.

    Engines that split the data by unit (chunked Parquet, Dask) compute one of these
    per part, :func:`concat_units` merges them, and :func:`result_from_units` builds
    the same :class:`FunnelResult` the in-memory path builds.
    """

    unit_ids: pd.Index
    level: np.ndarray  # int64 (n_units,)
    step_time: np.ndarray  # int64 (n_units, K), NAT where not reached
    excluded: np.ndarray  # bool (n_units,)
    n_attempts: np.ndarray  # int64 (n_units,)
    attributed: np.ndarray | None  # object (n_units,): the `by` value of each unit, None if missing
    rows: int = 0
    rows_in_funnel: int = 0
    dropped: dict[str, int] = field(default_factory=dict)


def unit_arrays(prep: Prepared, kres: _kernels.KernelResult, *, params: dict[str, Any]) -> UnitArrays:
    """Collect the kernel's per-unit output (and the ``by`` attribution) of one part."""
    attributed = None
    by = params["by"]
    if by is not None:
        attribution = params["attribution"]
        if not (attribution in ("first_touch", "last_touch") or attribution.startswith("step:")):
            raise ParameterError(
                f"`attribution`={attribution!r}: use 'first_touch', 'last_touch' or 'step:N'."
            )
        attributed = _attribute(prep, kres, by, attribution)
    return UnitArrays(
        unit_ids=prep.unit_ids,
        level=kres.level.astype(np.int64),
        step_time=kres.step_time,
        excluded=np.asarray(kres.excluded, dtype=bool),
        n_attempts=np.asarray(kres.n_attempts, dtype=np.int64),
        attributed=attributed,
        rows=prep.n_rows,
        rows_in_funnel=int(len(prep.rows)) if params["mode"] != "strict" else int((prep.code >= 0).sum()),
        dropped=dict(prep.dropped),
    )


def concat_units(parts: Sequence[UnitArrays]) -> UnitArrays:
    """Merge the per-unit results of disjoint parts (sorted by unit id, as in memory)."""
    parts = [p for p in parts if len(p.unit_ids)] or list(parts[:1])
    if len(parts) == 1:
        return parts[0]
    ids = parts[0].unit_ids.append([p.unit_ids for p in parts[1:]])
    if ids.has_duplicates:
        raise AssertionError("a unit appears in two parts: the data was not split by unit")  # pragma: no cover
    order = np.argsort(ids.to_numpy(), kind="stable")
    attributed = None
    if parts[0].attributed is not None:
        attributed = np.concatenate([p.attributed for p in parts])[order]
    dropped: dict[str, int] = {}
    for p in parts:
        for k, v in p.dropped.items():
            dropped[k] = dropped.get(k, 0) + v
    return UnitArrays(
        unit_ids=ids[order],
        level=np.concatenate([p.level for p in parts])[order],
        step_time=np.concatenate([p.step_time for p in parts])[order],
        excluded=np.concatenate([p.excluded for p in parts])[order],
        n_attempts=np.concatenate([p.n_attempts for p in parts])[order],
        attributed=attributed,
        rows=sum(p.rows for p in parts),
        rows_in_funnel=sum(p.rows_in_funnel for p in parts),
        dropped=dropped,
    )


def _build_result(prep: Prepared, kres: _kernels.KernelResult, *, params: dict[str, Any]) -> FunnelResult:
    return result_from_units(
        unit_arrays(prep, kres, params=params),
        names=prep.spec.names,
        labels=prep.spec.labels,
        journey=prep.spec.journey,
        params=params,
        data_end=prep.data_end,
    )


def result_from_units(
    ua: UnitArrays,
    *,
    names: Sequence[str],
    labels: Sequence[str],
    journey: Any,
    params: dict[str, Any],
    data_end: int,
) -> FunnelResult:
    """Build the :class:`FunnelResult` from per-unit arrays (``data_end``: ns of the last event)."""
    K = len(names)
    level = ua.level
    step_time = ua.step_time
    # per-unit frame and the durations between steps, one step column at a time (a
    # Fortran-ordered step_time, as the columnar path makes it, is used without copies)
    data: dict[str, Any] = {"level": level}
    durations: list[np.ndarray] = []
    prev = None
    for k, name in enumerate(names):
        col = np.ascontiguousarray(step_time[:, k])
        if prev is not None:
            ok = level >= k + 1
            durations.append(col[ok] - prev[ok])
        data[name] = pd.array(col, dtype=_TIME_DTYPE, copy=False)  # shares col's memory
        prev = col
    del prev, col
    data["excluded"] = ua.excluded
    units = pd.DataFrame(data, index=ua.unit_ids.copy(), columns=["level", *names, "excluded"], copy=False)
    table = _step_table(level, step_time, names, labels, durations=durations)
    # breakdown -----------------------------------------------------------------------
    breakdown = None
    by = params["by"]
    if by is not None:
        groups = _group_labels(ua.attributed, level, params["max_groups"])
        units[by] = groups
        parts = []
        gcode, guniq = pd.factorize(groups)  # integer masks below, not string comparisons
        entered = np.bincount(gcode[level >= 1], minlength=len(guniq))
        order = {g: int(entered[i]) for i, g in enumerate(guniq) if entered[i]}
        ranked = sorted(order.items(), key=lambda kv: (kv[0] in (OTHER, MISSING), -kv[1], kv[0]))
        index = {g: i for i, g in enumerate(guniq)}
        for g, _ in ranked:
            m = gcode == index[g]
            tb = _step_table(level[m], step_time[m], names, labels)
            tb.insert(0, by, g)
            parts.append(tb)
        breakdown = (
            pd.concat(parts, ignore_index=True)
            if parts
            else pd.DataFrame(columns=[by, *TABLE_COLUMNS])
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
        "rows": ua.rows,
        "rows_in_funnel": ua.rows_in_funnel,
        "units": len(ua.unit_ids),
        "units_entered": int((level >= 1).sum()),
        "units_excluded": int(ua.excluded.sum()),
        "attempts": int(ua.n_attempts.sum()),
        "rows_dropped_on_read": dict(ua.dropped),
        "zero_durations": {names[k]: int(np.count_nonzero(d == 0)) for k, d in enumerate(durations, start=1)},
        "data_end": pd.Timestamp(int(data_end), unit="ns", tz="UTC"),
    }
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
    )
