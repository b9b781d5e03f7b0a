"""The funnel bars: units reaching each step, conversion from entry and drop-off between steps."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._canvas import layout, new_ax, text_height_data
from ._format import Lang, check_lang, num, pct
from ._inputs import require
from ._style import GHOST, INK, PALETTE, clean, draw_title, labels_for, legend_above, unit_word
from ._text import TEXT
from ._ticks import count_axis, fit_xticklabels

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ..analyses.funnel import FunnelResult

__all__ = ["funnel_bars"]


def funnel_bars(
    result: FunnelResult,
    *,
    ax: Axes | None = None,
    lang: Lang | None = None,
    color: str | None = None,
    title: str | bool | None = None,
) -> Axes:
    """Bars of the units reaching each step, with conversion and drop-off annotated.

    Each bar is annotated with its units and its conversion from step 1 (the
    table's ``conversion_rate``). Above each later bar a light hatched block shows
    the units lost since the previous step, annotated with the table's
    ``dropoff_rate`` and ``dropoff``.

    Parameters
    ----------
    result : FunnelResult
        The result of :func:`funnelkit.funnel`.
    ax : matplotlib Axes, optional
        Where to draw (a new figure when omitted).
    lang : {"en", "es"}, optional
        Language of step labels, title and number formats (default: the journey's).
    color : str, optional
        Bar colour (default: Okabe–Ito blue).
    title : str or bool, optional
        A title, or ``False`` for none.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import funnelkit as fk
    >>> ev = fk.datasets.make_shop(n_users=2000, seed=1)
    >>> res = fk.funnel(ev, fk.datasets.shop_journey(), window="7D")
    >>> ax = funnel_bars(res, lang="es")
    >>> [t.get_text() for t in ax.get_xticklabels()][:2]
    ['Descubrimiento', 'Consideración']
    """
    require(result, "FunnelResult", func="funnel_bars")
    lang = check_lang(lang, result.journey)
    tx = TEXT[lang]
    table = result.table
    labels = labels_for(result.steps, result.labels, result.journey, lang)
    K = len(table)
    ax = new_ax(ax, (max(6.0, 1.25 * K + 1.5), 4.2))
    units = table["units"].to_numpy(dtype=float)
    conv = table["conversion_rate"].to_numpy(dtype=float)
    drop = table["dropoff"].to_numpy(dtype=float)
    drop_rate = table["dropoff_rate"].to_numpy(dtype=float)
    x = np.arange(K)
    width = 0.62
    top = float(np.nanmax(units)) if K and np.nanmax(units) > 0 else 1.0
    prev = np.r_[units[:1], units[:-1]] if K else units
    if K > 1:
        ax.bar(x[1:], (prev - units)[1:], width=width, bottom=units[1:], color=GHOST, hatch="///",
               edgecolor="#BBBBBB", linewidth=0, zorder=1, label=tx["dropped"], gid="funnelkit-dropoff")
    ax.bar(x, units, width=width, color=color or PALETTE[0], zorder=2, label=tx["reached"], gid="funnelkit-bars")
    ax.set_xlim(-0.6, K - 0.4)
    ax.set_ylim(0, top * 1.08)
    clean(ax)
    count_axis(ax.yaxis, lang)
    ax.set_ylabel(unit_word(result, lang))
    ax.grid(axis="y", color="#EEEEEE", zorder=0)
    ax.set_axisbelow(True)
    draw_title(ax, tx["funnel"], title)
    handles, _ = ax.get_legend_handles_labels()
    legend_above(ax, handles=handles[::-1])
    fit_xticklabels(ax, labels)

    fs = 8.5
    layout(ax, force=True)
    h2 = text_height_data(ax, fs, 2) * 1.1
    pad = 0.2 * h2
    highest = top
    for k in range(K):
        u = units[k]
        lab = f"{num(u, lang)}\n{pct(conv[k], lang)}"
        if u >= h2 + 2 * pad:
            ax.text(x[k], u - pad, lab, ha="center", va="top", fontsize=fs, color="white",
                    fontweight="bold", zorder=3, gid="funnelkit-bar-label")
            used = u
        else:
            ax.text(x[k], u + pad, lab, ha="center", va="bottom", fontsize=fs, color=INK, zorder=3,
                    gid="funnelkit-bar-label")
            used = u + pad + h2
        if k == 0 or not np.isfinite(drop_rate[k]):
            highest = max(highest, used)
            continue
        dlab = f"−{pct(drop_rate[k], lang)}\n(−{num(drop[k], lang)})"
        free = prev[k] - used
        if free >= h2 + 2 * pad:
            y = used + free / 2
            ax.text(x[k], y, dlab, ha="center", va="center", fontsize=fs, color=INK, zorder=3,
                    gid="funnelkit-dropoff-label")
            highest = max(highest, used + free)
        else:
            y = max(prev[k], used) + pad
            ax.text(x[k], y, dlab, ha="center", va="bottom", fontsize=fs, color=INK, zorder=3,
                    gid="funnelkit-dropoff-label")
            highest = max(highest, y + h2)
    if highest > top * 1.08:
        ax.set_ylim(0, highest + pad)
    return ax

