"""The journey map (a :class:`~funnelkit.JourneyMapResult`): stages × touchpoints, frictions boxed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._canvas import layout, new_ax
from ._format import Lang, check_lang, num, pct
from ._inputs import require
from ._style import INK, MUTED, labels_for, mt
from ._text import TEXT
from ._ticks import fit_xticklabels, fit_yticklabels, wrap

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ..analyses.journey_map import JourneyMapResult

__all__ = ["journey_map"]


def journey_map(
    journey_map_result: JourneyMapResult,
    ax: Axes | None = None,
    *,
    lang: Lang | None = None,
    note: bool = True,
    title: str | bool | None = None,
) -> Axes:
    """The journey map (DESIGN §7): stages as columns, touchpoints as rows, frictions boxed.

    Each cell of the result's table shows the units that reached the stage and,
    below, the share of the previous stage who did (first stage: the touchpoint's
    share of all entries). The cell's colour is its step conversion minus the
    stage's (brown: lower, teal: higher); the ranked frictions are boxed and
    numbered. The top row is the whole funnel.

    Parameters
    ----------
    journey_map_result : JourneyMapResult
        The result of :func:`funnelkit.journey_map`.
    ax : matplotlib Axes, optional
        Where to draw (a new figure when omitted).
    lang : {"en", "es"}, optional
        Language of labels and numbers (default: the result's, else the journey's).
    note : bool, default True
        Print a one-line reading guide under the map.
    title : str or bool, optional
        A title, or ``False`` for none.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    funnelkit.errors.ParameterError
        When given anything but a JourneyMapResult (an event log: compute the map first).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import funnelkit as fk
    >>> from funnelkit import journey_map as compute_map
    >>> ev = fk.datasets.make_shop(n_users=3000, seed=1)
    >>> jm = compute_map(ev, fk.datasets.shop_journey(), touchpoint="channel")
    >>> ax = journey_map(jm, lang="es")              # or jm.plot(lang="es")
    >>> [t.get_text() for t in ax.get_yticklabels()][0]
    'Total'
    """
    from matplotlib import colormaps
    from matplotlib.colors import Normalize, to_rgb
    from matplotlib.patches import Rectangle

    require(journey_map_result, "JourneyMapResult", func="journey_map")
    cells = journey_map_result.table
    params = journey_map_result.params
    journey = journey_map_result.journey
    lang = check_lang(lang or params.get("lang"), journey)
    tx = TEXT[lang]
    steps = list(journey_map_result.steps)
    labels = labels_for(steps, journey_map_result.labels, journey, lang)
    tp_name = params.get("touchpoint", "touchpoint")
    groups = list(pd.unique(cells["touchpoint"].astype(str)))
    K, G = len(steps), len(groups)
    rows = [tx["all"]] + groups
    R = len(rows)
    ax = new_ax(ax, (max(7.0, 1.55 * K + 2.2), 0.55 * R + 2.0))
    cmap = colormaps["BrBG"]
    pos = cells["step"].map({s: k for k, s in enumerate(steps)}).to_numpy(dtype=float)
    diff = (cells["step_conversion_rate"] - cells["stage_step_conversion_rate"]).to_numpy(dtype=float)
    later = np.where(pos > 0, diff, np.nan)
    vmax = float(np.nanmax(np.abs(later))) if G and K > 1 and np.isfinite(later).any() else 0.1
    vmax = min(max(vmax, 0.05), 0.3)
    norm = Normalize(-vmax, vmax)
    fs = 9.5 if K <= 6 else 8.0

    def cell(r: int, k: int, units: float, sub: str, face: tuple[float, float, float]) -> None:
        ax.add_patch(Rectangle((k - 0.5, r - 0.5), 1, 1, facecolor=face, edgecolor="white", linewidth=2,
                               zorder=1, gid="funnelkit-cell"))
        lum = 0.2126 * face[0] + 0.7152 * face[1] + 0.0722 * face[2]
        tc = "white" if lum < 0.45 else INK
        ax.text(k, r - 0.12, num(units, lang), ha="center", va="center", fontsize=fs + 0.5, color=tc,
                fontweight="bold", zorder=3)
        ax.text(k, r + 0.2, sub, ha="center", va="center", fontsize=fs - 1, color=tc, zorder=3)

    # top row: the whole funnel (the stage columns are the same on every touchpoint's rows)
    if G:
        stage = cells.drop_duplicates("step").set_index("step").reindex(steps)
        for k in range(K):
            sub = pct(1.0 if k == 0 else stage["stage_step_conversion_rate"].iloc[k], lang)
            cell(0, k, stage["stage_units"].iloc[k], sub, to_rgb("#E8E8E8"))
    for g_i, g in enumerate(groups):
        r = g_i + 1
        sub = cells[cells["touchpoint"].astype(str) == g].set_index("step").reindex(steps)
        for k in range(K):
            u = sub["units"].iloc[k]
            if k == 0:
                face = to_rgb("#DCE9F5")
                txt = pct(sub["share_of_stage"].iloc[k], lang)
            else:
                dv = sub["step_conversion_rate"].iloc[k] - sub["stage_step_conversion_rate"].iloc[k]
                face = to_rgb(cmap(norm(dv))) if np.isfinite(dv) else to_rgb("#F2F2F2")
                txt = pct(sub["step_conversion_rate"].iloc[k], lang)
            cell(r, k, u, txt, face)
            rk = sub["friction_rank"].iloc[k]
            if not pd.isna(rk):
                ax.add_patch(Rectangle((k - 0.47, r - 0.47), 0.94, 0.94, facecolor="none", edgecolor=INK,
                                       linewidth=2.6, zorder=4, gid="funnelkit-friction"))
                ax.text(k - 0.36, r - 0.26, str(int(rk)), ha="center", va="center", fontsize=8, color="white",
                        fontweight="bold", zorder=6, gid="funnelkit-friction-rank",
                        bbox=dict(boxstyle="circle,pad=0.3", facecolor=INK, edgecolor="white", lw=1))
    ax.axhline(0.5, color=INK, lw=1.2, zorder=2)
    ax.set_xlim(-0.5, K - 0.5)
    ax.set_ylim(R - 0.5, -0.5)
    ax.set_aspect("auto")
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(length=0)
    ax.xaxis.tick_top()
    fit_xticklabels(ax, labels)
    for tl in ax.get_xticklabels():
        tl.set_fontweight("bold")
    fit_yticklabels(ax, rows)
    ax.get_yticklabels()[0].set_fontweight("bold")
    nhi = int(cells["friction"].sum())
    if title is not False and title != "":
        ax.set_title(mt(tx["map_title"].format(tp=tp_name) if title in (None, True) else title), loc="left",
                     fontsize=11, fontweight="bold", pad=12)
    if note:
        msg = tx["map_note"].format(n=nhi) if nhi else tx["map_note0"]
        layout(ax)
        width = max(40, int(ax.bbox.width / (7.5 * 0.62 * ax.figure.dpi / 72)))
        ax.text(0, -0.02, mt(wrap(msg, width)), transform=ax.transAxes, ha="left", va="top", fontsize=7.5,
                color=MUTED, gid="funnelkit-map-note")
    return ax

