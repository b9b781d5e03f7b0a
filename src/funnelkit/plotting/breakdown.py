"""Conversion to one step per group of a funnel's breakdown (channel, touchpoint, device...)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ._canvas import new_ax
from ._format import Lang, check_lang, num, pct
from ._inputs import require
from ._style import INK, PALETTE, clean, draw_title, labels_for, legend_above
from ._text import TEXT
from ._ticks import fit_yticklabels, percent_axis

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ..analyses.funnel import FunnelResult

__all__ = ["breakdown"]


def breakdown(
    result: FunnelResult,
    *,
    ax: Axes | None = None,
    step: str | int | None = None,
    lang: Lang | None = None,
    title: str | bool | None = None,
) -> Axes:
    """Conversion to one step for each group of ``result.breakdown`` (channel, touchpoint...).

    Horizontal bars of each group's ``conversion_rate`` (from its own entries), in
    the order of the breakdown (largest groups first), annotated with the rate and
    ``units of entered``; the dashed line is the whole funnel's rate.

    Parameters
    ----------
    result : FunnelResult
        A funnel computed with ``by=`` (e.g. ``fk.funnel(ev, journey, by="channel")``).
    ax : matplotlib Axes, optional
    step : str or int, optional
        The step (name or 1-based number); default: the last step.
    lang : {"en", "es"}, optional
    title : str or bool, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import funnelkit as fk
    >>> ev = fk.datasets.make_shop(n_users=2000, seed=1)
    >>> res = fk.funnel(ev, fk.datasets.shop_journey(), by="channel")
    >>> ax = breakdown(res, step="purchase")
    """
    require(result, "FunnelResult", func="breakdown", make="fk.funnel(events, journey, by='channel')")
    if result.breakdown is None:
        raise ParameterError(
            "This funnel has no breakdown: compute it with `by=`, e.g. fk.funnel(events, journey, by='channel')."
        )
    lang = check_lang(lang, result.journey)
    tx = TEXT[lang]
    steps = list(result.steps)
    if step is None:
        sname = steps[-1]
    elif isinstance(step, (int, np.integer)) and not isinstance(step, bool):
        if not 1 <= step <= len(steps):
            raise ParameterError(f"`step`={step!r}: steps are numbered 1..{len(steps)}.")
        sname = steps[int(step) - 1]
    elif step in steps:
        sname = str(step)
    else:
        raise ParameterError(f"`step`={step!r} is not a step of the funnel ({', '.join(steps)}).")
    labels = dict(zip(steps, labels_for(steps, result.labels, result.journey, lang)))
    bd = result.breakdown
    by = bd.columns[0]
    groups = list(pd.unique(bd[by].astype(str)))
    first = bd[bd["step"] == steps[0]].set_index(bd[bd["step"] == steps[0]][by].astype(str))["units"]
    sub = bd[bd["step"] == sname].copy()
    sub.index = sub[by].astype(str)
    sub = sub.reindex(groups)
    n = len(groups)
    ax = new_ax(ax, (7.5, max(2.5, 0.45 * n + 1.4)))
    y = np.arange(n)
    rates = sub["conversion_rate"].to_numpy(dtype=float)
    ax.barh(y, np.nan_to_num(rates), height=0.62, color=PALETTE[0], zorder=2, gid="funnelkit-breakdown")
    overall = float(result.table.set_index("step").loc[sname, "conversion_rate"])
    ax.axvline(overall, color=PALETTE[3], ls="--", lw=1.4, zorder=3,
               label=tx["overall"].format(v=pct(overall, lang)))
    xmax = max(float(np.nanmax(np.r_[rates, overall, 0])), 0.01)
    for i, g in enumerate(groups):
        if not np.isfinite(rates[i]):
            continue
        ent = first.get(g, np.nan)
        ax.text(rates[i] + xmax * 0.015, y[i], f"{pct(rates[i], lang)}  ({num(sub['units'].iloc[i], lang)} "
                f"{tx['of']} {num(ent, lang)})", va="center", ha="left", fontsize=8, color=INK, zorder=4,
                bbox=dict(facecolor="white", edgecolor="none", pad=1.5))
    ax.set_xlim(0, xmax * 1.45)
    ax.set_ylim(n - 0.5, -0.5)
    fit_yticklabels(ax, groups)
    percent_axis(ax.xaxis, lang)
    ax.set_xlabel(tx["breakdown_x"])
    ax.grid(axis="x", color="#EEEEEE", zorder=0)
    ax.set_axisbelow(True)
    clean(ax)
    draw_title(ax, tx["breakdown_title"].format(step=labels[sname], by=by), title)
    legend_above(ax)
    return ax

