"""The journey map: reach and drop-off per (stage, touchpoint), with the worst frictions ranked.

DESIGN §7: one picture with stages as columns and touchpoints (channel, campaign,
store vs online) as rows, cells showing reach and drop-off, frictions highlighted.
This module computes the cells; :func:`funnelkit.plotting.journey_map` draws them
(``JourneyMapResult.plot()``).

Everything comes from one :func:`funnelkit.funnel` call with ``by=touchpoint``
(first-touch attribution unless ``attribution=`` says otherwise), so each unit
counts in exactly one touchpoint row and the rows of a stage sum to the stage.
A cell is a *friction* when its units drop out of the stage more than the
stage's units do on average, by enough units and standard errors to not be noise.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._polars import PolarsMixin

from ..errors import ParameterError

__all__ = ["JOURNEY_MAP_COLUMNS", "JourneyMapResult", "journey_map", "journey_map_table"]

#: Columns of :attr:`JourneyMapResult.table`, in order. Every rate sits beside its denominator.
JOURNEY_MAP_COLUMNS: tuple[str, ...] = (
    "touchpoint",
    "step",
    "label",
    "entered",
    "units",
    "conversion_rate",
    "units_previous",
    "step_conversion_rate",
    "dropoff",
    "dropoff_rate",
    "stage_units",
    "share_of_stage",
    "stage_units_previous",
    "stage_step_conversion_rate",
    "stage_dropoff_rate",
    "excess_dropoff_rate",
    "excess_dropoff",
    "excess_z",
    "friction_rank",
    "friction",
)


@dataclass(frozen=True)
class JourneyMapResult(PolarsMixin):
    """The result of :func:`journey_map`: one row per (touchpoint value, stage).

    Attributes
    ----------
    table : DataFrame
        The cells, with the columns of :data:`JOURNEY_MAP_COLUMNS` (see
        :func:`journey_map`), rows grouped by touchpoint in the breakdown's order
        (largest touchpoints first, ``"Other"`` / ``"(missing)"`` last), stages in
        journey order within each touchpoint.
    params : dict
        The parameters that made the result: the funnel's (``window``, ``mode``,
        ``window_from``, ``unit``, ``attribution``, ``max_groups``...) and the map's
        (``touchpoint``: the property whose values are the rows, ``min_units``,
        ``min_z``, ``highlight``, ``lang``).
    steps : tuple of str
        The stage names (the map's columns), in order.
    labels : tuple of str
        Their labels in ``params["lang"]``.
    journey : Journey or None
        The journey (used to relabel the stages in another language).
    """

    table: pd.DataFrame
    params: dict[str, Any]
    steps: tuple[str, ...]
    labels: tuple[str, ...]
    journey: Any = field(repr=False, default=None)

    # -- views ---------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """The tidy table of cells (a copy)."""
        return self.table.copy()

    @property
    def touchpoints(self) -> tuple[str, ...]:
        """The touchpoint values (the map's rows), in order."""
        return tuple(pd.unique(self.table["touchpoint"].astype(str))) if len(self.table) else ()

    @property
    def frictions(self) -> pd.DataFrame:
        """The ranked friction cells (rank 1 = worst), a copy of those rows of :attr:`table`."""
        fr = self.table[self.table["friction"].to_numpy(dtype=bool)]
        return fr.sort_values("friction_rank").reset_index(drop=True)

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Draw the map; delegates to :func:`funnelkit.plotting.journey_map` (returns the Axes)."""
        from .. import plotting

        return plotting.journey_map(self, ax=ax, **kwargs)

    def _summary(self) -> str:
        p = self.params
        return (f"JourneyMapResult(touchpoint={p.get('touchpoint')!r}, {len(self.touchpoints)} touchpoints × "
                f"{len(self.steps)} stages, window={p.get('window')!s}, {len(self.frictions)} frictions)")

    def _wide(self) -> pd.DataFrame:
        """Touchpoints as rows, stages as columns: ``units (step conversion)``, ``[n]`` = friction rank n."""
        t = self.table
        rows = []
        for tp in self.touchpoints:
            sub = t[t["touchpoint"].astype(str) == tp].set_index("step").reindex(list(self.steps))
            row: dict[str, Any] = {"touchpoint": tp}
            for k, (step, label) in enumerate(zip(self.steps, self.labels)):
                r = sub.loc[step]
                rate = r["share_of_stage"] if k == 0 else r["step_conversion_rate"]
                cell = f"{int(r['units']):,} ({'–' if pd.isna(rate) else f'{float(rate) * 100:.1f}%'})"
                if not pd.isna(r["friction_rank"]):
                    cell += f" [{int(r['friction_rank'])}]"
                row[str(label)] = cell
            rows.append(row)
        return pd.DataFrame(rows, columns=["touchpoint", *map(str, self.labels)])

    def __repr__(self) -> str:
        with pd.option_context("display.width", 160, "display.max_columns", 20):
            return self._summary() + "\n" + self._wide().to_string(index=False)

    def _repr_html_(self) -> str:
        caption = html.escape(self._summary().removeprefix("JourneyMapResult(").removesuffix(")"))
        body = self._wide().to_html(index=False, escape=True, border=0)
        foot = ("<p style='margin:2px 0;color:#555'>Cells: units reaching the stage (share of the stage's entries "
                "in the first stage, step conversion after it); [n]: friction rank n (1 = worst).</p>")
        return f"<div class='funnelkit-result'><p><b>Journey map: {caption}</b></p>{body}{foot}</div>"


def journey_map(
    events: Any,
    journey: Any,
    *,
    touchpoint: str = "channel",
    window: str | pd.Timedelta | None = "7D",
    min_units: int = 30,
    min_z: float = 2.0,
    highlight: int = 3,
    lang: Literal["en", "es"] | None = None,
    **funnel_kwargs: Any,
) -> JourneyMapResult:
    """The cells of the journey map: reach and drop-off per (stage, touchpoint value).

    One :func:`funnelkit.funnel` call with ``by=touchpoint`` (first-touch attribution
    unless ``attribution=`` says otherwise); each unit counts in one touchpoint row.

    Parameters
    ----------
    events : DataFrame or anything :func:`funnelkit.funnel` accepts
        The event log, with the ``touchpoint`` column.
    journey : Journey or list
        The stages (the map's columns).
    touchpoint : str, default "channel"
        The property whose values are the map's rows.
    window : str, Timedelta or None, default "7D"
        The conversion window (passed to :func:`funnelkit.funnel`).
    min_units : int, default 30
        A cell can be a friction only when its previous stage has at least this many units.
    min_z : float, default 2.0
        ... and only when its excess drop-off is at least ``min_z`` standard errors above
        the stage's (``excess_z``, a one-sample z against the stage's drop-off rate), so
        that small cells' noise is not highlighted. 0 disables the guard.
    highlight : int, default 3
        How many frictions to rank.
    lang : {"en", "es"}, optional
        Language of the ``label`` column (default: the journey's).
    **funnel_kwargs
        Other keywords of :func:`funnelkit.funnel` (``attribution``, ``mode``,
        ``window_from``, ``unit``, ``max_groups``...). ``by`` is not allowed.

    Returns
    -------
    JourneyMapResult
        Its ``table`` has one row per (touchpoint value, stage) with the columns of
        :data:`JOURNEY_MAP_COLUMNS`:

        - ``touchpoint`` (the value, as text), ``step``, ``label``;
        - ``entered``: the touchpoint's units that entered the funnel (the
          denominator of ``conversion_rate``); ``units``: those that reached the
          stage; ``conversion_rate`` = units / entered;
        - ``units_previous``: the touchpoint's units at the previous stage (at the
          first stage: ``units``), the denominator of ``step_conversion_rate`` =
          units / units_previous and of ``dropoff_rate`` = dropoff / units_previous
          (``dropoff`` = units_previous - units);
        - ``stage_units``: the stage's units over all touchpoints, the denominator of
          ``share_of_stage`` = units / stage_units;
        - ``stage_units_previous``: the whole funnel's units at the previous stage, the
          denominator of ``stage_step_conversion_rate`` and ``stage_dropoff_rate``
          (the stage's averages over its units);
        - ``excess_dropoff_rate`` = ``dropoff_rate - stage_dropoff_rate`` and
          ``excess_dropoff`` = the units lost beyond the stage's average
          (``units_previous * excess_dropoff_rate``); ``excess_z``: the excess in
          standard errors of the stage's drop-off rate (NaN at the first stage);
        - ``friction_rank`` (1 = worst) for the ``highlight`` cells (stage 2 or later,
          ``units_previous >= min_units``, positive excess, ``excess_z >= min_z``)
          with the largest ``excess_dropoff_rate``, and ``friction`` (bool).

    See Also
    --------
    funnelkit.plotting.journey_map : the picture (``JourneyMapResult.plot()``).

    Examples
    --------
    A hand-made log: two channels, three stages.

    >>> import pandas as pd
    >>> ev = pd.DataFrame({
    ...     "user_id": [1, 1, 1, 2, 2, 3, 4, 4],
    ...     "timestamp": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:05", "2024-01-01 10:09",
    ...                                  "2024-01-01 11:00", "2024-01-01 11:05", "2024-01-01 12:00",
    ...                                  "2024-01-01 13:00", "2024-01-01 13:30"], utc=True),
    ...     "event": ["landing", "product_view", "purchase", "landing", "product_view", "landing",
    ...               "landing", "product_view"],
    ...     "channel": ["ads", "ads", "ads", "ads", "ads", "email", "email", "email"]})
    >>> jm = journey_map(ev, ["landing", "product_view", "purchase"], window="1D")
    >>> jm.table[["touchpoint", "step", "units", "units_previous", "step_conversion_rate"]]
      touchpoint          step  units  units_previous  step_conversion_rate
    0        ads       landing      2               2                   1.0
    1        ads  product_view      2               2                   1.0
    2        ads      purchase      1               2                   0.5
    3      email       landing      2               2                   1.0
    4      email  product_view      1               2                   0.5
    5      email      purchase      0               1                   0.0
    >>> jm.table.loc[4, ["stage_units_previous", "stage_dropoff_rate", "excess_dropoff_rate"]].tolist()
    [4.0, 0.25, 0.25]
    """
    from .funnel import funnel

    if isinstance(highlight, bool) or not isinstance(highlight, (int, np.integer)) or highlight < 0:
        raise ParameterError(f"`highlight`={highlight!r} must be a non-negative integer, e.g. 3.")
    if isinstance(min_units, bool) or not isinstance(min_units, (int, np.integer)) or min_units < 1:
        raise ParameterError(f"`min_units`={min_units!r} must be a positive integer, e.g. 30.")
    if isinstance(min_z, bool) or not isinstance(min_z, (int, float, np.integer, np.floating)) or min_z < 0:
        raise ParameterError(f"`min_z`={min_z!r} must be a non-negative number of standard errors, e.g. 2.")
    if "by" in funnel_kwargs:
        raise ParameterError("journey_map() takes `touchpoint=`, not `by=`.")
    if not isinstance(touchpoint, str) or not touchpoint:
        raise ParameterError(f"`touchpoint`={touchpoint!r} must be the name of a property column, e.g. 'channel'.")
    res = funnel(events, journey, window=window, by=touchpoint, lang=lang, **funnel_kwargs)
    steps, labels = list(res.steps), list(res.labels)
    K = len(steps)
    bd = res.breakdown.copy()
    G = len(bd) // max(K, 1)
    bd = bd.rename(columns={touchpoint: "touchpoint"}) if touchpoint != "touchpoint" else bd
    bd["touchpoint"] = bd["touchpoint"].astype(str)
    bd["step"] = bd["step"].astype(str)
    bd["label"] = np.tile(np.asarray(labels, dtype=object), G)
    pos = np.tile(np.arange(K), G)
    u = bd["units"].to_numpy(dtype=np.int64)
    prev = np.where(pos == 0, u, np.r_[u[:1], u[:-1]])
    bd["entered"] = np.repeat(u[::K], K)  # each touchpoint's units at the first stage
    bd["units_previous"] = prev
    total = res.table.set_index("step")
    total.index = total.index.astype(str)
    su = total["units"].reindex(bd["step"]).to_numpy(dtype=np.int64)
    tu = total["units"].to_numpy(dtype=np.int64)
    bd["stage_units"] = su
    bd["stage_units_previous"] = np.tile(np.r_[tu[:1], tu[:-1]], G)
    with np.errstate(invalid="ignore", divide="ignore"):
        bd["share_of_stage"] = np.where(su > 0, u / np.maximum(su, 1), np.nan)
    bd["stage_step_conversion_rate"] = total["step_conversion_rate"].reindex(bd["step"]).to_numpy(dtype=float)
    bd["stage_dropoff_rate"] = total["dropoff_rate"].reindex(bd["step"]).to_numpy(dtype=float)
    ex = bd["dropoff_rate"].to_numpy(dtype=float) - bd["stage_dropoff_rate"].to_numpy(dtype=float)
    ex = np.where(pos == 0, np.nan, ex)
    bd["excess_dropoff_rate"] = ex
    bd["excess_dropoff"] = prev * ex
    p0 = bd["stage_dropoff_rate"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = ex / np.sqrt(p0 * (1 - p0) / np.maximum(prev, 1))
    bd["excess_z"] = z
    eligible = ((pos > 0) & (prev >= min_units) & (np.nan_to_num(ex, nan=-1.0) > 0)
                & (np.nan_to_num(z, nan=0.0, posinf=np.inf) >= float(min_z)))
    rank = pd.array([pd.NA] * len(bd), dtype="Int64")
    if highlight and eligible.any():
        idx = np.flatnonzero(eligible)
        order = np.lexsort((-bd["excess_dropoff"].to_numpy(float)[idx], -ex[idx]))
        for r, j in enumerate(idx[order][: int(highlight)], start=1):
            rank[j] = r
    bd["friction_rank"] = rank
    bd["friction"] = np.asarray(~pd.isna(rank), dtype=bool)
    table = bd[list(JOURNEY_MAP_COLUMNS)].reset_index(drop=True)
    for c in ("entered", "units", "units_previous", "dropoff", "stage_units", "stage_units_previous"):
        table[c] = table[c].astype(np.int64)
    params = {k: v for k, v in res.params.items() if k != "by"}
    params.update(touchpoint=touchpoint, min_units=int(min_units), min_z=float(min_z), highlight=int(highlight),
                  lang=lang if lang is not None else getattr(res.journey, "lang", None))
    return JourneyMapResult(table=table, params=params, steps=tuple(steps), labels=tuple(labels),
                            journey=res.journey)


def journey_map_table(
    events: Any,
    journey: Any,
    *,
    touchpoint: str = "channel",
    window: str | pd.Timedelta | None = "7D",
    min_units: int = 30,
    min_z: float = 2.0,
    highlight: int = 3,
    lang: Literal["en", "es"] | None = None,
    **funnel_kwargs: Any,
) -> pd.DataFrame:
    """The table of :func:`journey_map`: ``journey_map(...).table``.

    Takes the parameters of :func:`journey_map` and returns its tidy table, one row
    per (touchpoint value, stage) with the columns of :data:`JOURNEY_MAP_COLUMNS`.

    Examples
    --------
    >>> import funnelkit as fk
    >>> ev = fk.datasets.make_shop(n_users=3000, seed=1)
    >>> cells = journey_map_table(ev, fk.datasets.shop_journey(), touchpoint="channel")
    >>> int(cells["friction"].sum())
    3
    """
    return journey_map(events, journey, touchpoint=touchpoint, window=window, min_units=min_units, min_z=min_z,
                       highlight=highlight, lang=lang, **funnel_kwargs).table
