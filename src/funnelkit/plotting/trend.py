"""Conversion by entry period (a :class:`~funnelkit.TrendResult`): incomplete windows and shifts flagged."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ._canvas import new_ax
from ._format import Lang, check_lang
from ._inputs import require
from ._style import PALETTE, clean, draw_title, labels_for, legend_above, mt
from ._text import TEXT
from ._ticks import date_formatter, percent_axis, rotate_if_crowded

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ..analyses.trends import TrendResult

__all__ = ["conversion_trend"]

#: Legend note of the periods with too few entries to read (``TrendResult.table["too_few"]``).
_TOO_FEW = {"en": "Too few entries to read (< {n})", "es": "Muy pocas entradas para leerlo (< {n})"}
_GREY = "#9A9A9A"


def conversion_trend(
    trend_result: TrendResult,
    ax: Axes | None = None,
    *,
    lang: Lang | None = None,
    steps: Sequence[str] | None = None,
    rate: Literal["conversion_rate", "step_conversion_rate"] = "conversion_rate",
    title: str | bool | None = None,
) -> Axes:
    """Conversion by entry period, with incomplete windows shaded, thin periods greyed and shifts ringed.

    Draws the table of a :class:`~funnelkit.TrendResult` (each period's entries:
    the units that started an attempt in it), one line per step. Periods whose
    window is not complete at the end of the data are shaded and hatched (their
    rates are still rising). Periods with too few entries to read (``too_few``:
    fewer than the trend's ``min_entries``) are left off the lines and drawn as
    hollow grey markers (an upward triangle at the top edge when the rate lies
    above the axis, which is scaled to the readable periods), with a legend note,
    so one entry that converts is never a 100 % spike. Cells whose step
    conversion departs from the other periods (``shift``) get a vermillion ring,
    so an incident shows itself.

    Parameters
    ----------
    trend_result : TrendResult
        The result of :func:`funnelkit.trends.trend` (``fk.trends.trend(events, journey)``).
    ax : matplotlib Axes, optional
        Where to draw (a new figure when omitted).
    lang : {"en", "es"}, optional
        Language of labels, title and dates (default: the journey's).
    steps : sequence of str, optional
        Steps to draw (names); default: every step after the first.
    rate : {"conversion_rate", "step_conversion_rate"}
        Conversion from entry (default) or from the previous step.
    title : str or bool, optional
        A title, or ``False`` for none.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    funnelkit.errors.ParameterError
        When given anything but a TrendResult (an event log: compute the trend first),
        an unknown step or rate.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import funnelkit as fk
    >>> ev = fk.datasets.make_shop(n_users=2000, seed=1)
    >>> tr = fk.trends.trend(ev, fk.datasets.shop_journey(), freq="W")
    >>> ax = conversion_trend(tr, lang="es")       # or tr.plot(lang="es")
    >>> ax.get_title(loc="left")
    'Conversión por semana de entrada'
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    require(trend_result, "TrendResult", func="conversion_trend")
    if rate not in ("conversion_rate", "step_conversion_rate"):
        raise ParameterError(f"`rate`={rate!r}: use 'conversion_rate' or 'step_conversion_rate'.")
    t = trend_result.table
    params = trend_result.params
    freq = str(params.get("freq", "D"))
    tzname = params.get("tz") or "UTC"
    journey = trend_result.journey
    lang = check_lang(lang, journey)
    tx = TEXT[lang]
    all_steps = list(trend_result.steps)
    labmap = dict(zip(all_steps, labels_for(all_steps, trend_result.labels, journey, lang)))
    if steps is None:
        steps = all_steps[1:] if len(all_steps) > 1 else all_steps
    else:
        unknown = [s for s in steps if s not in all_steps]
        if unknown:
            raise ParameterError(f"`steps` {unknown} are not steps of the funnel ({', '.join(all_steps)}).")
    ax = new_ax(ax, (9.0, 4.2))
    key = freq[:1].upper() if not freq.lower().startswith("h") else "h"
    period_word = tx.get(key, freq)
    if not len(t):
        draw_title(ax, tx["trend_title"].format(period=period_word), title)
        return ax
    per = pd.DatetimeIndex(t["period"]).tz_convert(tzname).tz_localize(None)
    end = pd.DatetimeIndex(t["period_end"]).tz_convert(tzname).tz_localize(None)
    mid = per + (end - per) / 2
    t = t.assign(_mid=mid, _start=per, _end=end)
    comp = t.drop_duplicates("_start")[["_start", "_end", "complete"]]
    inc = comp[~comp["complete"].to_numpy(dtype=bool)]
    thin = t["too_few"].to_numpy(dtype=bool) if "too_few" in t.columns else np.zeros(len(t), dtype=bool)
    t = t.assign(_thin=thin)
    readable = t[t["step"].isin(steps) & ~t["_thin"]][rate].to_numpy(dtype=float)
    if not np.isfinite(readable).any():  # nothing readable: scale to what there is
        readable = t[t["step"].isin(steps)][rate].to_numpy(dtype=float)
    top = max(float(np.nanmax(np.r_[readable, 0])), 0.01) * 1.12
    handles = []
    any_thin = False
    for i, s in enumerate(steps):
        sub = t[t["step"] == s].sort_values("_start")
        y = sub[rate].to_numpy(dtype=float)
        xm = sub["_mid"].to_numpy()
        ok = sub["complete"].to_numpy(dtype=bool)
        few = sub["_thin"].to_numpy(dtype=bool)
        c = PALETTE[i % len(PALETTE)]
        y_ok = np.where(ok & ~few, y, np.nan)
        # incomplete tail: faded dashed, joined to the last complete point
        y_inc = np.where(~ok & ~few, y, np.nan)
        if ok.any() and (~ok).any():
            last_ok = np.flatnonzero(ok)[-1]
            if last_ok + 1 < len(y) and not ok[last_ok + 1] and not few[last_ok]:
                y_inc[last_ok] = y[last_ok]
        ax.plot(xm, y_ok, color=c, lw=1.8, marker="o", ms=2.8, zorder=3, gid="funnelkit-trend-line")
        ax.plot(xm, y_inc, color=c, lw=1.4, ls="--", marker="o", ms=2.5, alpha=0.45, zorder=3)
        handles.append(Line2D([], [], color=c, lw=1.8, marker="o", ms=3, label=mt(labmap.get(s, s))))
        show = few & np.isfinite(y)
        if show.any():
            any_thin = True
            inside = show & (y <= top)
            above = show & (y > top)
            if inside.any():
                ax.scatter(xm[inside], y[inside], s=22, facecolors="none", edgecolors=_GREY, linewidths=1.2,
                           zorder=3, gid="funnelkit-too-few")
            if above.any():
                ax.scatter(xm[above], np.full(int(above.sum()), top * 0.985), s=26, marker="^", facecolors="none",
                           edgecolors=_GREY, linewidths=1.2, zorder=3, gid="funnelkit-too-few", clip_on=False)
        sh = sub["shift"].to_numpy(dtype=bool)
        if sh.any():
            ax.scatter(xm[sh], y[sh], s=110, facecolors="none", edgecolors=PALETTE[3], linewidths=2.0, zorder=4,
                       gid="funnelkit-shift")
    if len(inc):
        x0, x1 = inc["_start"].min(), inc["_end"].max()
        ax.axvspan(x0, x1, facecolor="#BBBBBB", alpha=0.25, hatch="//", edgecolor="#999999", linewidth=0,
                   zorder=1, gid="funnelkit-incomplete")
        handles.append(Patch(facecolor="#BBBBBB", alpha=0.5, hatch="//", edgecolor="#999999",
                             label=tx["incomplete"]))
    if any_thin:
        n_min = int(params.get("min_entries", 30))
        handles.append(Line2D([], [], ls="none", marker="o", ms=5, mfc="none", mec=_GREY, mew=1.2,
                              label=_TOO_FEW[lang].format(n=n_min)))
    if t.loc[t["step"].isin(steps), "shift"].any():
        handles.append(Line2D([], [], ls="none", marker="o", ms=9, mfc="none", mec=PALETTE[3], mew=2,
                              label=tx["shift"]))
    ax.set_xlim(per.min(), end.max())
    ax.set_ylim(0, top)
    percent_axis(ax.yaxis, lang)
    ax.xaxis.set_major_formatter(date_formatter(lang, freq))
    ax.set_ylabel(tx["trend_y"] if rate == "conversion_rate" else tx["trend_y_step"])
    ax.grid(color="#EEEEEE", zorder=0)
    ax.set_axisbelow(True)
    clean(ax)
    draw_title(ax, tx["trend_title"].format(period=period_word), title)
    legend_above(ax, handles=handles)
    rotate_if_crowded(ax)
    return ax
