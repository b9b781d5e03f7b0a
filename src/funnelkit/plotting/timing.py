"""Time between steps: the histogram of durations and the "converted within t" curve; time to convert in bins."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ._canvas import new_ax
from ._format import Lang, check_lang, fmt_duration, num
from ._inputs import require
from ._style import INK, PALETTE, clean, draw_title, legend_above, mt
from ._text import TEXT
from ._ticks import count_axis, duration_axis, percent_axis

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ..analyses.timing import TimeBetweenResult, TimeToConvertResult

__all__ = ["time_cumulative", "time_hist", "time_to_convert_hist"]


def _timing_labels(tr: TimeBetweenResult, labels: Sequence[str] | None) -> dict[str, str]:
    """Transition -> "Label a → Label b"."""
    steps = list(tr.steps)
    labs = list(labels) if labels is not None else list(tr.labels)
    if len(labs) != len(steps):
        raise ParameterError(f"`labels` has {len(labs)} entries for {len(steps)} steps; give one per step.")
    m = dict(zip(steps, labs))
    return {r.transition: f"{m.get(r.from_step, r.from_step)} → {m.get(r.to_step, r.to_step)}"
            for r in tr.table.itertuples()}


def _which(tr: TimeBetweenResult, transition: str | int | None) -> list[str]:
    """The transitions to draw: one (by to-step, name or number) or all."""
    if transition is None:
        return tr.table["transition"].tolist()
    return [tr._resolve(transition)]


def time_hist(
    timing_result: TimeBetweenResult,
    transition: str | int | None = None,
    *,
    ax: Axes | None = None,
    bins: int | Sequence[float] = 30,
    log: bool = True,
    lang: Lang | None = None,
    labels: Sequence[str] | None = None,
    color: str | None = None,
    title: str | bool | None = None,
) -> Axes:
    """Histogram of the time between consecutive steps (one transition or all).

    Durations come from :attr:`TimeBetweenResult.durations`; the dashed line of each
    transition is its median (the table's ``median``). With ``log=True`` zero
    durations cannot be drawn: their number is given in the legend.

    Parameters
    ----------
    timing_result : TimeBetweenResult
        The result of :func:`funnelkit.time_between` (or ``FunnelResult.time_between()``).
    transition : str or int, optional
        A transition (its to-step, its "a → b" name or its 1-based number); default: all.
    ax : matplotlib Axes, optional
    bins : int or sequence of float, default 30
        Number of bins, or bin edges in seconds.
    log : bool, default True
        Logarithmic duration axis (durations span seconds to days).
    lang : {"en", "es"}, optional
        Language of titles and number formats.
    labels : sequence of str, optional
        Step labels to use (e.g. ``journey.labels("es")``); default: the result's.
    color : str, optional
        Colour (only with one transition).
    title : str or bool, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import funnelkit as fk
    >>> ev = fk.datasets.make_shop(n_users=2000, seed=1)
    >>> tb = fk.funnel(ev, fk.datasets.shop_journey(), window="7D").time_between()
    >>> ax = time_hist(tb, "purchase")
    """
    require(timing_result, "TimeBetweenResult", func="time_hist")
    lang = check_lang(lang)
    tx = TEXT[lang]
    names = _timing_labels(timing_result, labels)
    which = _which(timing_result, transition)
    ax = new_ax(ax, (7.0, 4.0))
    d = timing_result.durations
    secs = {tr: d.loc[d["transition"] == tr, "duration"].dt.total_seconds().to_numpy(dtype=float) for tr in which}
    allpos = np.concatenate([s[s > 0] for s in secs.values()] + [np.array([])])
    if len(allpos) == 0:
        lo, hi = 1.0, 10.0
    else:
        lo, hi = float(allpos.min()), float(allpos.max())
        if hi <= lo:
            hi = lo * 10 if log else lo + 1
    if np.ndim(bins) == 0:
        nb = int(bins)  # type: ignore[arg-type]
        if nb < 1:
            raise ParameterError(f"`bins`={bins!r} must be a positive number of bins or a list of edges.")
        edges = np.geomspace(lo, hi, nb + 1) if log else np.linspace(0 if len(allpos) else lo, hi, nb + 1)
    else:
        edges = np.asarray(bins, dtype=float)
        if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
            raise ParameterError("`bins` edges must be an increasing list of at least two durations in seconds.")
        if log and edges[0] <= 0:
            raise ParameterError("With log=True the bin edges must be positive (seconds).")
    tab = timing_result.table.set_index("transition")
    single = len(which) == 1
    for i, tr in enumerate(which):
        s = secs[tr]
        c = color if (color and single) else PALETTE[i % len(PALETTE)]
        data = s[s > 0] if log else s
        zeros = int((s == 0).sum())
        lab = names[tr]
        med = tab.loc[tr, "median"] if "median" in tab.columns else pd.NaT
        if pd.notna(med):
            lab += f" ({tx['median']} {fmt_duration(pd.Timedelta(med).total_seconds(), lang)})"
        if log and zeros:
            lab += "; " + tx["zero"].format(n=num(zeros, lang))
        ax.hist(data, bins=edges, histtype="stepfilled" if single else "step", alpha=0.85 if single else 1.0,
                color=c, edgecolor=c, linewidth=1.6, label=mt(lab), zorder=2)
        if pd.notna(med) and (pd.Timedelta(med).total_seconds() > 0 or not log):
            ax.axvline(pd.Timedelta(med).total_seconds(), color=INK if single else c, ls="--", lw=1.2, zorder=3)
    if log:
        ax.set_xscale("log")
    ax.set_xlim(edges[0], edges[-1])
    duration_axis(ax.xaxis, edges[0], edges[-1], log=log, lang=lang)
    count_axis(ax.yaxis, lang)
    ax.set_xlabel(tx["time_x"])
    ax.set_ylabel(tx["session"] if "session" in str(timing_result.unit_name) else tx["user"])
    clean(ax)
    default = tx["time_title"] + (f": {names[which[0]]}" if single else "")
    draw_title(ax, default, title)
    if single:
        ax.legend(loc="upper right", frameon=False, fontsize=8.5)
    else:
        legend_above(ax, ncol=2)
    return ax


def time_cumulative(
    timing_result: TimeBetweenResult,
    transition: str | int | None = None,
    *,
    ax: Axes | None = None,
    lang: Lang | None = None,
    labels: Sequence[str] | None = None,
    color: str | None = None,
    label: str | None = None,
    log: bool = True,
    title: str | bool | None = None,
) -> Axes:
    """The "converted within t" curve: share of the previous step converted by time t.

    Draws :meth:`TimeBetweenResult.cumulative` (``share`` = units that made the
    transition within ``t`` / units that reached the from-step), so each curve ends
    at the transition's conversion ``rate``.

    Parameters
    ----------
    timing_result : TimeBetweenResult
    transition : str or int, optional
        One transition (to-step, "a → b" name or 1-based number); default: all.
    ax : matplotlib Axes, optional
    lang : {"en", "es"}, optional
    labels : sequence of str, optional
        Step labels to use; default: the result's.
    color, label : str, optional
        Colour and legend label of the curve (one transition only): draw several
        results on one Axes, e.g. one per variant.
    log : bool, default True
        Logarithmic duration axis.
    title : str or bool, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import funnelkit as fk
    >>> ev = fk.datasets.make_shop(n_users=2000, seed=1)
    >>> tb = fk.funnel(ev, fk.datasets.shop_journey(), window="7D").time_between()
    >>> ax = time_cumulative(tb, 2)
    >>> len(ax.get_lines())
    1
    """
    require(timing_result, "TimeBetweenResult", func="time_cumulative")
    lang = check_lang(lang)
    tx = TEXT[lang]
    names = _timing_labels(timing_result, labels)
    which = _which(timing_result, transition)
    single = len(which) == 1
    ax = new_ax(ax, (7.0, 4.0))
    cum = timing_result.cumulative(None if transition is None else which[0])
    for i, tr in enumerate(which):
        c = cum[cum["transition"] == tr]
        if not len(c):
            continue
        secs = c["duration"].dt.total_seconds().to_numpy(dtype=float)
        share = c["share"].to_numpy(dtype=float)
        if log:
            pos = secs[secs > 0]
            floor = pos.min() / 2 if len(pos) else 0.5
            secs = np.where(secs > 0, secs, floor)
        col = color if (color and single) else PALETTE[i % len(PALETTE)]
        lab = label if (label is not None and single) else names[tr]
        ax.step(np.r_[secs[0], secs], np.r_[0.0, share], where="post", color=col, lw=1.8, label=mt(lab),
                zorder=2)
    if log:
        ax.set_xscale("log")
    lines = ax.get_lines()
    if lines:
        xs = np.concatenate([ln.get_xdata() for ln in lines]).astype(float)
        ys = np.concatenate([ln.get_ydata() for ln in lines]).astype(float)
        lo, hi = float(np.nanmin(xs)), float(np.nanmax(xs))
        if hi <= lo:
            hi = lo * 10
        ax.set_xlim(lo, hi)
        duration_axis(ax.xaxis, lo, hi, log=log, lang=lang)
        ax.set_ylim(0, max(float(np.nanmax(ys)), 0.01) * 1.1)
    percent_axis(ax.yaxis, lang)
    ax.set_xlabel(tx["time_x"])
    ax.set_ylabel(tx["cum_y"])
    ax.grid(color="#EEEEEE", zorder=0)
    ax.set_axisbelow(True)
    clean(ax)
    default = tx["cum_title"] + (f": {names[which[0]]}" if single and label is None else "")
    draw_title(ax, default, title)
    if not single:
        legend_above(ax, ncol=2)
    elif label is not None or len(lines) > 1:
        ax.legend(loc="upper left", frameon=False, fontsize=8.5)
    return ax



_TTC_TEXT = {
    "en": {"title": "Time to convert", "y": "Converted units", "cum": "Converted within t (of {step})",
           "median": "median {d}", "mean": "mean {d}", "zeros": "zero durations included: {n}",
           "x": "Time from {a} to {b}"},
    "es": {"title": "Tiempo hasta convertir", "y": "Unidades convertidas", "cum": "Convertidas en t (de {step})",
           "median": "mediana {d}", "mean": "media {d}", "zeros": "duraciones cero incluidas: {n}",
           "x": "Tiempo de {a} a {b}"},
}
_TTC_MAKE = "fk.analyses.timing.time_to_convert(events, journey, bins=...)"


def time_to_convert_hist(
    ttc_result: TimeToConvertResult,
    ax: Axes | None = None,
    *,
    cumulative: bool = True,
    lang: Lang | None = None,
    labels: Sequence[str] | None = None,
    color: str | None = None,
    title: str | bool | None = None,
) -> Axes:
    """The time-to-convert histogram: converted units per bin, the median, and the cumulative curve.

    Draws :attr:`TimeToConvertResult.table` as bars (one per bin, its width the
    bin's), a dashed line at the median (zero durations included, on the reported
    attempt; the legend says so) and, with ``cumulative=True``, the "converted
    within t" curve (``cumulative_conversion_rate``, of the units that reached the
    from-step) on a percent axis at the right.

    Parameters
    ----------
    ttc_result : TimeToConvertResult
        The result of :func:`funnelkit.analyses.timing.time_to_convert`.
    ax : matplotlib Axes, optional
        Where to draw (a new figure when omitted).
    cumulative : bool, default True
        Add the cumulative curve on a twin axis.
    lang : {"en", "es"}, optional
        Language of titles and number formats (default: the journey's).
    labels : sequence of str, optional
        Step labels to use; default: the result's.
    color : str, optional
        Colour of the bars.
    title : str or bool, optional
        A title, or ``False`` for none.

    Returns
    -------
    matplotlib Axes
        The histogram's Axes (the cumulative curve's twin is ``ax.funnelkit_twin``).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import funnelkit as fk
    >>> ev = fk.datasets.make_shop(n_users=2000, seed=1)
    >>> ttc = fk.analyses.timing.time_to_convert(ev, fk.datasets.shop_journey(), from_step=1, to_step=3,
    ...                                          window="7D", bins=12)
    >>> ax = time_to_convert_hist(ttc)
    >>> len(ax.patches)
    12
    """
    if type(ttc_result).__name__ != "TimeToConvertResult":
        require(ttc_result, "TimeToConvertResult", func="time_to_convert_hist", make=_TTC_MAKE)
    lang = check_lang(lang, ttc_result.journey)
    tx = _TTC_TEXT[lang]
    steps = list(ttc_result.steps)
    labs = list(labels) if labels is not None else list(ttc_result.labels)
    if len(labs) != len(steps):
        raise ParameterError(f"`labels` has {len(labs)} entries for {len(steps)} steps; give one per step.")
    lab = dict(zip(steps, labs))
    s = ttc_result.summary.iloc[0]
    a, b = mt(lab.get(s["from_step"], s["from_step"])), mt(lab.get(s["to_step"], s["to_step"]))
    t = ttc_result.table
    ax = new_ax(ax, (7.0, 4.0))
    c = color or PALETTE[0]
    x0 = t["bin_start"].dt.total_seconds().to_numpy(dtype=float)
    x1 = t["bin_end"].dt.total_seconds().to_numpy(dtype=float)
    ax.bar(x0, t["units"].to_numpy(dtype=float), width=x1 - x0, align="edge", color=c, alpha=0.85,
           edgecolor="white", linewidth=0.6, zorder=2)
    handles = []
    from matplotlib.lines import Line2D

    med = s["median"]
    if pd.notna(med):
        ms = pd.Timedelta(med).total_seconds()
        ax.axvline(ms, color=INK, ls="--", lw=1.2, zorder=3, gid="funnelkit-median")
        handles.append(Line2D([], [], color=INK, ls="--", lw=1.2,
                              label=tx["median"].format(d=fmt_duration(ms, lang)) + "; "
                              + tx["zeros"].format(n=num(int(s["zero_durations"]), lang))))
    lo, hi = (float(x0[0]), float(x1[-1])) if len(x0) else (0.0, 1.0)
    ax.set_xlim(lo, hi)
    duration_axis(ax.xaxis, lo, hi, log=False, lang=lang)
    count_axis(ax.yaxis, lang)
    ax.set_xlabel(tx["x"].format(a=a, b=b))
    ax.set_ylabel(tx["y"])
    if cumulative and len(t):
        tw = ax.twinx()
        y = t["cumulative_conversion_rate"].to_numpy(dtype=float)
        tw.step(np.r_[x0[:1], x1], np.r_[0.0, y], where="pre", color=PALETTE[1], lw=1.6, zorder=4,
                gid="funnelkit-cumulative")
        tw.set_ylim(0, max(float(np.nanmax(np.r_[y, 0])), 0.01) * 1.1)
        percent_axis(tw.yaxis, lang)
        tw.set_ylabel(tx["cum"].format(step=a))
        for side in ("top",):
            tw.spines[side].set_visible(False)
        handles.append(Line2D([], [], color=PALETTE[1], lw=1.6, label=tx["cum"].format(step=a)))
        ax.funnelkit_twin = tw  # type: ignore[attr-defined]
    clean(ax)
    draw_title(ax, f"{tx['title']}: {a} → {b}", title)
    if handles:
        ax.legend(handles=handles, loc="center right", frameon=False, fontsize=8.5)
    return ax
