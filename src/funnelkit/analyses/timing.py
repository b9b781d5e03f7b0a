"""Time between stages: duration distributions on the reported attempt.

For each transition (step i-1 -> step i) the duration is ``t(e_i) - t(e_{i-1})`` on
the unit's reported attempt (DESIGN §4). Zero durations (both steps at the same
instant) are kept and counted, unlike PostHog which drops them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ParameterError, UnknownStageError

__all__ = ["time_between", "TimeBetweenResult"]

_DEFAULT_Q = (0.25, 0.5, 0.75, 0.9)


@dataclass(frozen=True)
class TimeBetweenResult:
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
    from .funnel import FunnelResult, funnel

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
    level = units["level"].to_numpy()
    names = list(res.steps)
    rows = []
    parts = []
    for k in range(1, len(names)):
        tr = f"{names[k - 1]} → {names[k]}"
        ok = level >= k + 1
        a = units[names[k - 1]].to_numpy(dtype="datetime64[ns]")[ok]
        b = units[names[k]].to_numpy(dtype="datetime64[ns]")[ok]
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
