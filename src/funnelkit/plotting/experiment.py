"""Experiments: the share of each variant's exposed users reaching each step, with confidence intervals."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._canvas import new_ax, overlaps, renderer, text_height_data
from ._format import Lang, check_lang, pct
from ._inputs import require
from ._style import INK, PALETTE, clean, draw_title, labels_for, legend_above, mt
from ._text import TEXT
from ._ticks import fit_xticklabels, percent_axis

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ..analyses.experiment import ExperimentResult

__all__ = ["variant_conversion"]


#: Font size (pt) of the value labels above the bars, and when rotated to avoid overlaps.
LABEL_SIZE = 9.5
LABEL_SIZE_ROTATED = 9.0


def variant_conversion(
    exp_result: ExperimentResult,
    *,
    ax: Axes | None = None,
    lang: Lang | None = None,
    annotate: bool = True,
    title: str | bool | None = None,
) -> Axes:
    """Share of each variant's exposed users reaching each step, with confidence intervals.

    One bar per (step, variant), height ``rate`` of :attr:`ExperimentResult.table`,
    error bars from ``rate_ci_low`` / ``rate_ci_high``; treatment bars whose
    ``verdict`` is significant are marked with ``*``.

    Parameters
    ----------
    exp_result : ExperimentResult
        The result of :func:`funnelkit.experiment`.
    ax : matplotlib Axes, optional
    lang : {"en", "es"}, optional
        Language of labels and number formats (default: the journey's).
    annotate : bool, default True
        Print each rate above its error bar.
    title : str or bool, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import funnelkit as fk
    >>> ev = fk.datasets.make_shop(n_users=2000, seed=1)
    >>> exp = fk.experiment(ev, fk.datasets.shop_journey(), variant_col="variant", control="A")
    >>> ax = variant_conversion(exp)
    >>> len(ax.containers)  # bars and error bars of the two variants
    4
    """
    require(exp_result, "ExperimentResult", func="variant_conversion")
    # value labels legible at the report's size (the figure is ~10 in wide shown ~1,080 px wide:
    # 9.5 pt reads as ~14 px, the body text's size; issue 16)
    lang = check_lang(lang, exp_result.journey)
    tx = TEXT[lang]
    t = exp_result.table
    if "kind" in t.columns:  # the funnel rows (metric rows have no step)
        t = t[t["kind"] == "conversion"]
    steps = list(exp_result.steps)
    labels = labels_for(steps, exp_result.labels, exp_result.journey, lang)
    variants = [str(v) for v in exp_result.variants]
    control = str(exp_result.control)
    K, V = len(steps), len(variants)
    ax = new_ax(ax, (max(6.5, 1.35 * K + 1.5), 4.4))
    group = 0.8
    w = group / max(V, 1)
    x = np.arange(K)
    vcol = t["variant"].astype(str)
    texts = []
    ymax = 0.0
    for i, v in enumerate(variants):
        sub = t.loc[vcol == v].set_index("step").reindex(steps)
        rate = sub["rate"].to_numpy(dtype=float)
        lo = sub["rate_ci_low"].to_numpy(dtype=float)
        hi = sub["rate_ci_high"].to_numpy(dtype=float)
        xs = x - group / 2 + w * (i + 0.5)
        name = f"{mt(v)} ({tx['control']})" if v == control and v.strip().lower() != tx["control"] else mt(v)
        ax.bar(xs, rate, width=w * 0.9, color=PALETTE[i % len(PALETTE)], label=name, zorder=2)
        yerr = np.vstack([np.clip(rate - lo, 0, None), np.clip(hi - rate, 0, None)])
        ax.errorbar(xs, rate, yerr=np.nan_to_num(yerr), fmt="none", ecolor=INK, elinewidth=1, capsize=3,
                    zorder=3)
        ymax = max(ymax, float(np.nanmax(np.r_[hi, rate, 0])))
        if annotate:
            verdict = sub["verdict"].astype(str).to_numpy()
            for k in range(K):
                if not np.isfinite(rate[k]):
                    continue
                star = "*" if verdict[k].startswith("significant") else ""
                y = hi[k] if np.isfinite(hi[k]) else rate[k]
                texts.append(ax.text(xs[k], y, f"{pct(rate[k], lang)}{star}", ha="center", va="bottom",
                                     fontsize=LABEL_SIZE, color=INK, zorder=4, gid="funnelkit-rate-label"))
    clean(ax)
    ax.set_xlim(-0.6, K - 0.4)
    ax.set_ylim(0, max(ymax, 0.01) * 1.12)
    percent_axis(ax.yaxis, lang)
    ax.set_ylabel(tx["variant_y"])
    ax.grid(axis="y", color="#EEEEEE", zorder=0)
    ax.set_axisbelow(True)
    conf = pct(1 - float(exp_result.params.get("alpha", 0.05)), lang, 0)
    draw_title(ax, tx["variant_title"].format(conf=conf), title)
    extra = []
    if any(t_.get_text().endswith("*") for t_ in texts):
        from matplotlib.lines import Line2D

        extra.append(Line2D([], [], ls="none", label=tx["signif"]))
    legend_above(ax, extra=extra)
    fit_xticklabels(ax, labels)
    # small offsets above the caps; rotate when neighbours collide
    fig = ax.figure
    r = renderer(fig)
    if texts:
        off = text_height_data(ax, LABEL_SIZE, 1) * 0.25
        for tt in texts:
            tt.set_y(tt.get_position()[1] + off)
        if r is not None and overlaps([tt.get_window_extent(r) for tt in texts], pad=1.0):
            for tt in texts:
                tt.set_rotation(90)
                tt.set_fontsize(LABEL_SIZE_ROTATED)
        if r is not None:
            inv = ax.transData.inverted()
            tops = [inv.transform((0, tt.get_window_extent(r).y1))[1] for tt in texts]
            y0, y1 = ax.get_ylim()
            if max(tops) > y1:
                ax.set_ylim(0, max(tops) + (y1 - y0) * 0.03)
    return ax

