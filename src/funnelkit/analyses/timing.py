"""Time between stages and time to convert: duration distributions on the reported attempt.

For each transition (step i-1 -> step i) the duration is ``t(e_i) - t(e_{i-1})`` on
the unit's reported attempt (DESIGN §4). Zero durations (both steps at the same
instant) are kept and counted, unlike PostHog which drops them.
:func:`time_to_convert` bins the durations between any two steps (``bins=``), with
the shares, the cumulative curve and the statistics saying which attempt they
measure and how they treat zero durations (``docs/trends.md``).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union

import numpy as np
import pandas as pd

from .._polars import PolarsMixin

from ..errors import ParameterError, UnknownStageError

__all__ = ["TTC_COLUMNS", "TTC_SUMMARY_COLUMNS", "TimeBetweenResult", "TimeToConvertResult", "time_between",
           "time_to_convert"]

_DEFAULT_Q = (0.25, 0.5, 0.75, 0.9)


@dataclass(frozen=True)
class TimeBetweenResult(PolarsMixin):
    """Durations between consecutive funnel steps.

    Attributes
    ----------
    table : DataFrame
        One row per transition: ``transition`` ("a → b"), ``from_step``, ``to_step``,
        ``units_from`` (units that reached the from-step: the denominator),
        ``units`` (units that made the transition), ``rate`` (units / units_from),
        ``zero_durations``, ``min``, the quantiles (``p25``, ``median``, ``p75``,
        ``p90`` by default), ``mean`` and ``max``.
    durations : DataFrame
        One row per unit and transition made: the unit id, ``transition``,
        ``from_step``, ``to_step`` and ``duration``.
    """

    table: pd.DataFrame
    durations: pd.DataFrame
    steps: tuple[str, ...]
    labels: tuple[str, ...]
    unit_name: str
    journey: Any = None

    def to_frame(self) -> pd.DataFrame:
        """The per-transition table (a copy)."""
        return self.table.copy()

    def cumulative(self, transition: str | int | None = None, *, points: int = 200) -> pd.DataFrame:
        """The "converted within t" curve of one transition (or all).

        For each duration ``t`` on a grid (the observed durations when there are
        few, else ``points`` quantiles), ``converted`` is the number of units that
        made the transition within ``t`` and ``share`` = converted / ``units_from``.

        Parameters
        ----------
        transition : str or int, optional
            The transition's to-step name, its "a → b" label, or its 1-based number
            (1 = step 1 -> step 2); default: every transition.
        points : int
            Maximum number of grid points per transition.
        """
        rows = []
        which = self.table["transition"].tolist() if transition is None else [self._resolve(transition)]
        for tr in which:
            info = self.table.loc[self.table["transition"] == tr].iloc[0]
            d = np.sort(self.durations.loc[self.durations["transition"] == tr, "duration"].to_numpy(dtype="timedelta64[ns]").view(np.int64))
            if len(d) == 0:
                continue
            grid = np.unique(d) if len(np.unique(d)) <= points else np.unique(np.quantile(d, np.linspace(0, 1, points), method="inverted_cdf").astype(np.int64))
            conv = np.searchsorted(d, grid, side="right")
            denom = int(info["units_from"])
            rows.append(
                pd.DataFrame(
                    {
                        "transition": tr,
                        "duration": pd.to_timedelta(grid, unit="ns"),
                        "converted": conv.astype(np.int64),
                        "units_from": denom,
                        "share": conv / denom if denom else np.nan,
                    }
                )
            )
        if not rows:
            return pd.DataFrame(columns=["transition", "duration", "converted", "units_from", "share"])
        return pd.concat(rows, ignore_index=True)

    def _resolve(self, transition: str | int) -> str:
        tl = self.table["transition"].tolist()
        if isinstance(transition, (int, np.integer)) and not isinstance(transition, bool):
            if not 1 <= transition <= len(tl):
                raise ParameterError(f"transition={transition!r}: transitions are numbered 1..{len(tl)}.")
            return tl[int(transition) - 1]
        if transition in tl:
            return str(transition)
        to = self.table["to_step"].tolist()
        if transition in to:
            return tl[to.index(transition)]
        raise UnknownStageError(f"No transition {transition!r}; transitions: {', '.join(tl)}.")

    def plot(self, kind: str = "hist", *, ax: Any = None, **kwargs: Any):
        """Histogram (``kind="hist"``) or cumulative curve (``kind="cumulative"``)."""
        from .. import plotting

        return plotting.plot_result(self, kind=kind, ax=ax, **kwargs)

    def _repr_html_(self) -> str:
        out = self.table.copy()
        for c in out.columns:
            if pd.api.types.is_timedelta64_dtype(out[c]):
                out[c] = out[c].astype(str)
        out["rate"] = out["rate"].map(lambda v: "" if pd.isna(v) else f"{v:.1%}")
        return "<div class='funnelkit-result'><p><b>Time between steps</b></p>" + out.to_html(index=False, border=0) + "</div>"


def time_between(
    result_or_events: Any,
    journey_or_steps: Any = None,
    *,
    quantiles: Sequence[float] = _DEFAULT_Q,
    **funnel_kwargs: Any,
) -> TimeBetweenResult:
    """Durations between consecutive steps of a funnel, on each unit's reported attempt.

    Parameters
    ----------
    result_or_events : FunnelResult or event log
        A :class:`~funnelkit.FunnelResult`, or an event log together with
        ``journey_or_steps`` and any :func:`funnelkit.funnel` keyword.
    journey_or_steps : Journey or list, optional
        Needed when an event log is given.
    quantiles : sequence of float
        Quantiles in (0, 1) reported in the table, named ``pNN`` (0.5 is ``median``).

    Returns
    -------
    TimeBetweenResult

    Examples
    --------
    >>> import funnelkit as fk, pandas as pd
    >>> ev = pd.DataFrame({"user_id": [1, 1, 2, 2],
    ...     "timestamp": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:10",
    ...                                  "2024-01-01 11:00", "2024-01-01 11:30"], utc=True),
    ...     "event": ["landing", "purchase", "landing", "purchase"]})
    >>> tb = fk.time_between(ev, ["landing", "purchase"], window="1D")
    >>> tb.table[["transition", "units_from", "units", "median"]]
               transition  units_from  units          median
    0  landing → purchase           2      2 0 days 00:20:00
    """
    from .funnel import FunnelResult, funnel, step_time_frame

    if isinstance(result_or_events, FunnelResult):
        if journey_or_steps is not None or funnel_kwargs:
            raise ParameterError(
                "time_between(result) takes no steps or funnel options: they are fixed by the result."
            )
        res = result_or_events
    else:
        if journey_or_steps is None:
            raise ParameterError(
                "time_between(events, journey_or_steps, ...) needs the funnel's steps when given an event log."
            )
        res = funnel(result_or_events, journey_or_steps, **funnel_kwargs)
    qs = []
    for q in quantiles:
        if not (isinstance(q, (int, float)) and 0 < q < 1):
            raise ParameterError(f"quantiles must be in (0, 1); got {q!r}.")
        qs.append(float(q))
    units = res.units
    times = step_time_frame(res)  # exact step names, never a units column
    level = units["level"].to_numpy()
    names = list(res.steps)
    rows = []
    parts = []
    for k in range(1, len(names)):
        tr = f"{names[k - 1]} → {names[k]}"
        ok = level >= k + 1
        a = times[names[k - 1]].to_numpy(dtype="datetime64[ns]")[ok]
        b = times[names[k]].to_numpy(dtype="datetime64[ns]")[ok]
        d = (b - a).astype("timedelta64[ns]")
        units_from = int((level >= k).sum())
        di = d.view(np.int64)
        row: dict[str, Any] = {
            "transition": tr,
            "from_step": names[k - 1],
            "to_step": names[k],
            "units_from": units_from,
            "units": int(ok.sum()),
            "rate": ok.sum() / units_from if units_from else np.nan,
            "zero_durations": int((di == 0).sum()),
            "min": pd.Timedelta(int(di.min()), unit="ns") if len(di) else pd.NaT,
        }
        for q in qs:
            key = "median" if q == 0.5 else f"p{round(q * 100):d}"
            row[key] = pd.Timedelta(int(np.round(np.quantile(di, q))), unit="ns") if len(di) else pd.NaT
        row["mean"] = pd.Timedelta(int(np.round(di.mean())), unit="ns") if len(di) else pd.NaT
        row["max"] = pd.Timedelta(int(di.max()), unit="ns") if len(di) else pd.NaT
        rows.append(row)
        parts.append(
            pd.DataFrame(
                {
                    units.index.name or "unit": units.index[ok],
                    "transition": tr,
                    "from_step": names[k - 1],
                    "to_step": names[k],
                    "duration": pd.to_timedelta(d),
                }
            )
        )
    table = pd.DataFrame(rows)
    for c in table.columns:
        if c not in ("transition", "from_step", "to_step", "units_from", "units", "rate", "zero_durations"):
            table[c] = pd.to_timedelta(table[c])
    durations = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=[units.index.name or "unit", "transition", "from_step", "to_step", "duration"])
    )
    return TimeBetweenResult(
        table=table,
        durations=durations,
        steps=tuple(names),
        labels=tuple(res.labels),
        unit_name=units.index.name or "unit",
        journey=res.journey,
    )


# --------------------------------------------------------------------------- time to convert (histogram)
Bins = Union[int, Literal["auto"], Sequence[Any]]

#: Columns of :attr:`TimeToConvertResult.table`, in order.
TTC_COLUMNS: tuple[str, ...] = (
    "bin",
    "bin_start",
    "bin_end",
    "units",
    "share",
    "cumulative_units",
    "cumulative_share",
    "units_converted",
    "cumulative_conversion_rate",
    "units_from",
)

#: Columns of :attr:`TimeToConvertResult.summary` (one row).
TTC_SUMMARY_COLUMNS: tuple[str, ...] = (
    "from_step",
    "to_step",
    "units_from",
    "units_converted",
    "conversion_rate",
    "zero_durations",
    "mean",
    "median",
    "mean_nonzero",
    "median_nonzero",
    "below_range",
    "above_range",
    "attempt",
    "zero_durations_in_stats",
)


@dataclass(frozen=True)
class TimeToConvertResult(PolarsMixin):
    """Time to convert between two steps, as a histogram (see :func:`time_to_convert`).

    Attributes
    ----------
    table : DataFrame
        One row per bin with the columns of :data:`TTC_COLUMNS`: ``bin`` (0-based),
        ``bin_start`` / ``bin_end`` (durations; bins are ``[start, end)``, the last
        one ``[start, end]``), ``units`` converting in the bin, ``share`` = units /
        ``units_converted``, ``cumulative_units`` and ``cumulative_share`` (of
        ``units_converted``), ``cumulative_conversion_rate`` = cumulative_units /
        ``units_from`` (the "converted within t" curve).
    summary : DataFrame
        One row with the columns of :data:`TTC_SUMMARY_COLUMNS`: the denominators,
        ``zero_durations`` (conversions at the same instant), ``mean`` and
        ``median`` **with** zero durations, ``mean_nonzero`` / ``median_nonzero``
        without them (closer to PostHog, which does not count a step at the same
        instant as converting), ``below_range`` / ``above_range`` (durations outside
        explicit bin edges, in no bin), ``attempt`` (``"reported"``: funnelkit
        measures each unit's reported attempt, the earliest of its deepest chains;
        PostHog measures the latest start) and ``zero_durations_in_stats`` (True).
    durations : DataFrame
        One row per converted unit: its id and ``duration``.
    params : dict
        ``from_step``, ``to_step``, ``bins`` as given, and the funnel's parameters.
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    durations: pd.DataFrame
    params: dict[str, Any]
    steps: tuple[str, ...]
    labels: tuple[str, ...]
    unit_name: str
    journey: Any = None
    attempt: str = "reported"
    zero_durations: str = "included"

    def to_frame(self) -> pd.DataFrame:
        """The histogram table (a copy)."""
        return self.table.copy()

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Draw the histogram and its cumulative curve; see
        :func:`funnelkit.plotting.timing.time_to_convert_hist` (returns the Axes)."""
        from ..plotting.timing import time_to_convert_hist

        return time_to_convert_hist(self, ax=ax, **kwargs)

    def _repr_html_(self) -> str:
        out = self.table.copy()
        for c in ("bin_start", "bin_end"):
            out[c] = out[c].astype(str)
        for c in ("share", "cumulative_share", "cumulative_conversion_rate"):
            out[c] = out[c].map(lambda v: "" if pd.isna(v) else f"{v:.1%}")
        s = self.summary.iloc[0]
        note = (f"{s['units_converted']} of {s['units_from']} units converted from {s['from_step']} to "
                f"{s['to_step']}; mean {s['mean']}, median {s['median']} on the reported attempt, "
                f"{s['zero_durations']} zero durations included.")
        return ("<div class='funnelkit-result'><p><b>Time to convert</b></p>" + out.to_html(index=False, border=0)
                + f"<p style='margin:2px 0;color:#555'>{html.escape(note)}</p></div>")


def time_to_convert(
    result_or_events: Any,
    journey_or_steps: Any = None,
    *,
    from_step: str | int = 1,
    to_step: str | int | None = None,
    bins: Bins = "auto",
    **funnel_kwargs: Any,
) -> TimeToConvertResult:
    """Time to convert from one step to a later one, as a histogram with bins.

    The duration of a unit is ``t(to_step) - t(from_step)`` on its **reported
    attempt** (DESIGN §4: among the chains reaching the unit's level, the earliest),
    for the units that reached ``to_step``. Zero durations (both steps at the same
    instant, which funnelkit's ordered funnel allows) are **included** in the bins
    and in ``mean`` / ``median``; ``mean_nonzero`` / ``median_nonzero`` leave them
    out. PostHog measures the attempt of the latest step-1 event before the
    conversion and does not count a step at the same instant as converting (see
    ``docs/trends.md``).

    Parameters
    ----------
    result_or_events : FunnelResult or event log
        A :class:`~funnelkit.FunnelResult`, or an event log together with
        ``journey_or_steps`` and any :func:`funnelkit.funnel` keyword.
    journey_or_steps : Journey or list, optional
        Needed when an event log is given.
    from_step, to_step : str or int
        Step names or 1-based numbers, ``from_step < to_step``; default: the first
        and the last step.
    bins : "auto", int or sequence of durations, default "auto"
        ``"auto"``: PostHog's bin count, ``ceil(cbrt(n))`` clamped to 1..60 for ``n``
        converted units; an int: that many bins of equal width from the shortest to
        the longest duration; a sequence: the bin edges as durations (``["0s",
        "1min", "1h", "1D"]`` or Timedeltas, increasing; bare numbers are refused).
        Durations outside explicit edges are in no bin and are counted in
        ``summary`` (``below_range``, ``above_range``).

    Returns
    -------
    TimeToConvertResult

    Raises
    ------
    funnelkit.errors.ParameterError
        For bad ``bins`` or steps (``from_step`` not before ``to_step``), before any work.

    Examples
    --------
    >>> import funnelkit as fk, pandas as pd
    >>> ev = pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 3, 4],
    ...     "timestamp": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:00", "2024-01-01 11:00",
    ...                                  "2024-01-01 11:30", "2024-01-01 12:00", "2024-01-01 13:00",
    ...                                  "2024-01-01 14:00"], utc=True),
    ...     "event": ["landing", "purchase", "landing", "purchase", "landing", "purchase", "landing"]})
    >>> ttc = fk.analyses.timing.time_to_convert(ev, ["landing", "purchase"], window="1D",
    ...                                          bins=["0s", "10min", "1h"])
    >>> ttc.table[["bin_start", "bin_end", "units", "share", "cumulative_conversion_rate"]]
            bin_start         bin_end  units     share  cumulative_conversion_rate
    0 0 days 00:00:00 0 days 00:10:00      1  0.333333                        0.25
    1 0 days 00:10:00 0 days 01:00:00      2  0.666667                        0.75
    >>> s = ttc.summary.iloc[0]
    >>> str(s["mean"]), str(s["median"]), int(s["zero_durations"]), s["attempt"]
    ('0 days 00:30:00', '0 days 00:30:00', 1, 'reported')
    >>> str(s["mean_nonzero"])
    '0 days 00:45:00'
    """
    from ..journey.steps import _step_index, resolve_steps
    from .funnel import FunnelResult, funnel, step_time_frame

    if isinstance(result_or_events, FunnelResult):
        if journey_or_steps is not None or funnel_kwargs:
            raise ParameterError(
                "time_to_convert(result) takes no steps or funnel options: they are fixed by the result."
            )
        names = list(result_or_events.steps)
    else:
        if journey_or_steps is None:
            raise ParameterError(
                "time_to_convert(events, journey_or_steps, ...) needs the funnel's steps when given an event log."
            )
        names = list(resolve_steps(journey_or_steps, lang=funnel_kwargs.get("lang")).names)
    if len(names) < 2:
        raise ParameterError(f"time_to_convert needs a funnel of at least two steps; got {names!r}.")
    i_from = _step_index(from_step, names, "from_step")
    i_to = len(names) - 1 if to_step is None else _step_index(to_step, names, "to_step")
    if i_from >= i_to:
        raise ParameterError(
            f"from_step={from_step!r} must come before to_step={to_step if to_step is not None else names[-1]!r} "
            "(a later step); e.g. from_step=1, to_step=3."
        )
    edges_given = _check_bins(bins)
    res = result_or_events if isinstance(result_or_events, FunnelResult) else funnel(
        result_or_events, journey_or_steps, **funnel_kwargs)
    units = res.units
    times = step_time_frame(res)  # exact step names, never a units column
    level = units["level"].to_numpy()
    conv = level >= i_to + 1
    a = times[names[i_from]].to_numpy(dtype="datetime64[ns]")[conv].view(np.int64)
    b = times[names[i_to]].to_numpy(dtype="datetime64[ns]")[conv].view(np.int64)
    d = np.sort(b - a)
    n_from = int((level >= i_from + 1).sum())
    n_conv = int(conv.sum())
    if edges_given is not None:
        edges = edges_given
    else:
        lo, hi = (int(d[0]), int(d[-1])) if len(d) else (0, 0)
        count = int(bins) if not isinstance(bins, str) else min(60, max(1, int(np.ceil(np.cbrt(n_conv) - 1e-9))))
        if hi == lo:
            hi = lo + 10**9  # one second wide, all durations in it
        edges = np.linspace(lo, hi, count + 1).round().astype(np.int64)
        edges = np.unique(edges)
    nb = len(edges) - 1
    idx = np.searchsorted(edges, d, side="right") - 1
    idx[d == edges[-1]] = nb - 1  # the last bin is closed
    inside = (idx >= 0) & (idx < nb) & (d <= edges[-1])
    counts = np.bincount(idx[inside], minlength=nb)[:nb].astype(np.int64)
    cum = np.cumsum(counts)
    with np.errstate(invalid="ignore", divide="ignore"):
        table = pd.DataFrame(
            {
                "bin": np.arange(nb, dtype=np.int64),
                "bin_start": pd.to_timedelta(edges[:-1], unit="ns"),
                "bin_end": pd.to_timedelta(edges[1:], unit="ns"),
                "units": counts,
                "share": counts / n_conv if n_conv else np.full(nb, np.nan),
                "cumulative_units": cum,
                "cumulative_share": cum / n_conv if n_conv else np.full(nb, np.nan),
                "units_converted": np.full(nb, n_conv, dtype=np.int64),
                "cumulative_conversion_rate": cum / n_from if n_from else np.full(nb, np.nan),
                "units_from": np.full(nb, n_from, dtype=np.int64),
            },
            columns=list(TTC_COLUMNS),
        )
    nz = d[d > 0]

    def td(x: Any) -> Any:
        return pd.Timedelta(int(np.round(x)), unit="ns") if x is not None else pd.NaT

    summary = pd.DataFrame([{
        "from_step": names[i_from],
        "to_step": names[i_to],
        "units_from": n_from,
        "units_converted": n_conv,
        "conversion_rate": n_conv / n_from if n_from else np.nan,
        "zero_durations": int((d == 0).sum()),
        "mean": td(d.mean()) if len(d) else pd.NaT,
        "median": td(np.median(d)) if len(d) else pd.NaT,
        "mean_nonzero": td(nz.mean()) if len(nz) else pd.NaT,
        "median_nonzero": td(np.median(nz)) if len(nz) else pd.NaT,
        "below_range": int((d < edges[0]).sum()),
        "above_range": int((d > edges[-1]).sum()),
        "attempt": "reported",
        "zero_durations_in_stats": True,
    }], columns=list(TTC_SUMMARY_COLUMNS))
    for c in ("mean", "median", "mean_nonzero", "median_nonzero"):
        summary[c] = pd.Series([summary[c].iloc[0]], dtype="timedelta64[ns]")
    uname = units.index.name or "unit"
    order = np.argsort(b - a, kind="stable")
    durations = pd.DataFrame({uname: units.index[conv][order], "duration": pd.to_timedelta(d, unit="ns")})
    params = dict(res.params)
    params.update(from_step=names[i_from], to_step=names[i_to], bins=bins)
    return TimeToConvertResult(table=table, summary=summary, durations=durations, params=params,
                               steps=tuple(names), labels=tuple(res.labels), unit_name=uname, journey=res.journey)


def _check_bins(bins: Any) -> np.ndarray | None:
    """``bins`` checked: None for a count ("auto" or an int), else the edges in ns."""
    from .._params import parse_duration

    if isinstance(bins, str):
        if bins != "auto":
            raise ParameterError(
                f"`bins`={bins!r}: give 'auto', a number of bins (e.g. 20) or bin edges as durations "
                "(e.g. ['0s', '1min', '1h', '1D'])."
            )
        return None
    if isinstance(bins, (bool, np.bool_)):
        raise ParameterError(f"`bins`={bins!r} must be 'auto', a number of bins or a list of durations.")
    if isinstance(bins, (int, np.integer)):
        if not 1 <= int(bins) <= 10_000:
            raise ParameterError(f"`bins`={bins!r} must be between 1 and 10000 bins, e.g. 20.")
        return None
    if not isinstance(bins, Sequence) and not isinstance(bins, (np.ndarray, pd.Index, pd.Series)):
        raise ParameterError(
            f"`bins`={bins!r}: give 'auto', a number of bins or bin edges as durations (e.g. ['0s', '1h'])."
        )
    items = list(bins)
    if len(items) < 2:
        raise ParameterError(f"`bins`={bins!r}: bin edges need at least two durations, e.g. ['0s', '1h', '1D'].")
    edges = np.array([int(parse_duration(x, name="bins", allow_zero=True).value) for x in items], dtype=np.int64)
    bad = np.flatnonzero(np.diff(edges) <= 0)
    if len(bad):
        i = int(bad[0])
        raise ParameterError(
            f"`bins` edges must increase: {items[i + 1]!r} comes after {items[i]!r}. Sort them, e.g. ['0s', '1h', '1D']."
        )
    return edges
