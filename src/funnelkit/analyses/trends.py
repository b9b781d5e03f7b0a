"""Conversion trends: the funnel by entry period, with incomplete windows and shifts flagged.

DESIGN §7: conversion by entry period (hour, day, week, month), flagging periods
whose windows are not complete yet and the (period, step) cells whose step
conversion departs from the other periods, so that an incident shows itself.

Everything is computed from one :func:`funnelkit.funnel` call: each unit that
entered the funnel is assigned to the period of its step-1 time (on the reported
attempt, DESIGN §4), and the period's counts per step are those of its units.
:func:`trend` returns a :class:`TrendResult` (the tidy table and the parameters
that made it; ``.plot()`` draws it); :func:`trend_table` is a shortcut to its table.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

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
    "expected_step_rate",
    "z",
    "p_value",
    "p_adjusted",
    "shift",
)


@dataclass(frozen=True)
class TrendResult:
    """The result of :func:`trend`: conversion of each step by entry period.

    Attributes
    ----------
    table : DataFrame
        One row per (period, step) with the columns of :data:`TREND_COLUMNS` (see
        :func:`trend` for their meaning).
    params : dict
        The parameters that made the result: the funnel's (``window``, ``mode``,
        ``window_from``, ``unit``, ``exclude``, ``start``, ``end``) and the trend's
        (``freq``, ``tz``, ``alpha``, ``min_units``, ``lang``), plus ``horizon`` (the
        time after a period's end that its units need to convert) and
        ``data_start`` / ``data_end`` (the first and last event of the log).
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
        foot = ("<p style='margin:2px 0;color:#555'>Conversion from entry by entry period; * marks a shift in "
                "step conversion; complete = False: the window is not over yet (rates still rising).</p>")
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
    **funnel_kwargs: Any,
) -> TrendResult:
    """Conversion of each step by the period in which units entered the funnel.

    Parameters
    ----------
    events : DataFrame or anything :func:`funnelkit.read_events` accepts
        The event log (canonical columns ``user_id``, ``timestamp``, ``event``).
    journey_or_steps : Journey or list
        The funnel's steps, as for :func:`funnelkit.funnel`.
    freq : str, default "D"
        Length of an entry period: ``"h"``, ``"D"``, ``"W"`` (weeks starting on
        Monday; ``"W-SUN"`` etc. for another anchor) or ``"M"``.
    window : str, Timedelta or None, default "7D"
        The conversion window (passed to :func:`funnelkit.funnel`).
    tz : str, default "UTC"
        Time zone in which periods are cut (e.g. ``"Europe/Madrid"`` for local days).
    alpha : float, default 0.01
        Family-wise error rate of the shift flags (Holm over every tested cell).
    min_units : int, default 30
        Cells whose previous step has fewer units are not tested for a shift.
    **funnel_kwargs
        Any other keyword of :func:`funnelkit.funnel` (``mode``, ``window_from``,
        ``unit``, ``exclude``, ``start``, ``end``, ``lang``...). ``by`` is not allowed.

    Returns
    -------
    TrendResult
        Its ``table`` has one row per (period, step) with the columns of
        :data:`TREND_COLUMNS`:

        - ``period``, ``period_end``: the entry period ``[period, period_end)``
          (tz-aware, in ``tz``); every period between the first and last entry
          is present, also those without entries;
        - ``entered``: units whose step-1 time falls in the period (the
          denominator of ``conversion_rate``); ``units``: those of them that
          reached the step; ``conversion_rate`` = units / entered;
        - ``units_previous``: those that reached the previous step (the
          denominator of ``step_conversion_rate``);
        - ``complete``: every unit of the period had its whole window before the
          end of the data (``period_end + window <= last event``; with
          ``window_from="previous"`` the horizon is ``(steps - 1) * window``).
          Incomplete periods under-count conversions: compare them with care.
          With ``window=None`` nothing bounds a conversion, and ``complete`` only
          says the period ended before the data did;
        - ``expected_step_rate``: the step conversion of the *other* complete
          periods together (leave-one-out); ``z`` and ``p_value``: a two-sided
          binomial z-test of the cell against it (steps 2..K of complete periods
          whose ``units_previous >= min_units``, NaN elsewhere); ``p_adjusted``:
          Holm-adjusted over all tested cells; ``shift``: ``p_adjusted < alpha``.

    See Also
    --------
    trend_table : the same table, directly.
    funnelkit.plotting.conversion_trend : the plot of a TrendResult (``TrendResult.plot()``).

    Examples
    --------
    >>> import funnelkit as fk, pandas as pd
    >>> ev = pd.DataFrame({
    ...     "user_id": [1, 1, 2, 3, 3],
    ...     "timestamp": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 11:00", "2024-01-01 12:00",
    ...                                  "2024-01-02 09:00", "2024-01-09 10:00"], utc=True),
    ...     "event": ["landing", "purchase", "landing", "landing", "purchase"]})
    >>> tr = fk.trends.trend(ev, ["landing", "purchase"], window="1D")
    >>> tr.params["freq"], tr.steps, tr.n_periods
    ('D', ('landing', 'purchase'), 2)
    >>> tr.table[["step", "entered", "units", "conversion_rate", "complete"]]
           step  entered  units  conversion_rate  complete
    0   landing        2      2              1.0      True
    1  purchase        2      1              0.5      True
    2   landing        1      1              1.0      True
    3  purchase        1      0              0.0      True
    """
    from .funnel import funnel

    if "by" in funnel_kwargs:
        raise ParameterError("trend() does not take `by=`: call it once per group instead.")
    alpha_f = float(alpha)
    if not 0 < alpha_f < 1:
        raise ParameterError(f"`alpha`={alpha!r} must be in (0, 1), e.g. 0.01.")
    if isinstance(min_units, bool) or not isinstance(min_units, (int, np.integer)) or min_units < 1:
        raise ParameterError(f"`min_units`={min_units!r} must be a positive integer, e.g. 30.")
    frame = _schema.ensure_events(events)
    res = funnel(frame, journey_or_steps, window=window, **funnel_kwargs)
    tzinfo = _check_tz(tz)
    _check_freq(freq)
    steps, labels = list(res.steps), list(res.labels)
    K = len(steps)
    data_start, data_end = frame[_names.TIME].min(), frame[_names.TIME].max()
    win = res.params["window"]
    if win is None:
        horizon = pd.Timedelta(0)
    elif res.params.get("window_from") == "previous" and res.params.get("mode") != "any_order":
        horizon = win * max(K - 1, 1)
    else:
        horizon = win
    params = {k: v for k, v in res.params.items() if k not in ("by", "attribution", "max_groups")}
    params.update(freq=freq, tz=str(tzinfo), alpha=alpha_f, min_units=int(min_units),
                  lang=funnel_kwargs.get("lang"), horizon=horizon, data_start=data_start, data_end=data_end)

    def result(table: pd.DataFrame) -> TrendResult:
        return TrendResult(table=table, params=params, steps=tuple(steps), labels=tuple(labels),
                           journey=res.journey)

    level = res.units["level"].to_numpy()
    entered_mask = level >= 1
    t1 = res.units[steps[0]][entered_mask]
    if not len(t1):
        return result(pd.DataFrame({c: pd.Series(dtype=object) for c in TREND_COLUMNS}))
    local = t1.dt.tz_convert(tzinfo).dt.tz_localize(None)
    per = local.dt.to_period(freq)
    prange = pd.period_range(per.min(), per.max(), freq=per.dt.freq)
    codes = np.searchsorted(prange.asi8, per.array.asi8)
    P = len(prange)
    lv = level[entered_mask]
    reached = np.stack([np.bincount(codes[lv >= k + 1], minlength=P) for k in range(K)], axis=1)  # P x K

    starts = _localize(prange.start_time, tzinfo)
    ends = _localize((prange + 1).start_time, tzinfo)
    complete = (ends + horizon) <= data_end.tz_convert(tzinfo)
    complete = np.asarray(complete, dtype=bool)

    entered = reached[:, 0]
    prev = np.concatenate([reached[:, :1], reached[:, :-1]], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        conv = np.where(entered[:, None] > 0, reached / np.maximum(entered[:, None], 1), np.nan)
        step_conv = np.where(prev > 0, reached / np.maximum(prev, 1), np.nan)

    expected, z, p = (np.full((P, K), np.nan) for _ in range(3))
    from scipy.special import ndtr

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
    shift = np.where(ok, p_adj < alpha_f, False)

    out = pd.DataFrame(
        {
            "period": np.repeat(starts, K),
            "period_end": np.repeat(ends, K),
            "step": np.tile(steps, P),
            "label": np.tile(labels, P),
            "entered": np.repeat(entered, K).astype(np.int64),
            "units": reached.ravel().astype(np.int64),
            "conversion_rate": conv.ravel(),
            "units_previous": prev.ravel().astype(np.int64),
            "step_conversion_rate": step_conv.ravel(),
            "complete": np.repeat(complete, K),
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
    return result(out)


def trend_table(
    events: Any,
    journey_or_steps: Any,
    *,
    freq: str = "D",
    window: str | pd.Timedelta | None = "7D",
    tz: str | None = "UTC",
    alpha: float = 0.01,
    min_units: int = 30,
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
                 **funnel_kwargs).table


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


def _localize(naive: pd.DatetimeIndex, tz: Any) -> pd.DatetimeIndex:
    return naive.tz_localize(tz, ambiguous=np.ones(len(naive), dtype=bool), nonexistent="shift_forward")
