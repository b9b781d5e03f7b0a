"""Retention figures: the cohort triangle, retention curves with CI bands, and the
Kaplan–Meier curve of the time to the n-th occurrence.

Each takes a result (:class:`funnelkit.analyses.retention.RetentionResult` or
:class:`~funnelkit.analyses.retention.LoyaltyResult`), ``ax=None`` and returns the
Axes. matplotlib is imported inside the functions.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ._style import INK, MUTED, PALETTE

__all__ = ["retention_curve", "retention_triangle", "time_to_nth_curve"]

_T = {
    "en": {"period": "Period since start", "cohort": "Cohort", "rate": "Retained", "censored": "hatched: not complete yet",
           "survival": "Not yet reached", "days": "Days since origin", "title": "Retention by cohort",
           "curve": "Retention curve (complete cells)", "km": "Time to occurrence {n} (Kaplan–Meier)",
           "size": "size"},
    "es": {"period": "Periodo desde el inicio", "cohort": "Cohorte", "rate": "Retenidos",
           "censored": "rayado: aún incompleto", "survival": "Aún sin alcanzar", "days": "Días desde el origen",
           "title": "Retención por cohorte", "curve": "Curva de retención (celdas completas)",
           "km": "Tiempo hasta la ocurrencia {n} (Kaplan–Meier)", "size": "tamaño"},
}


def _lang(lang: Any) -> str:
    if lang not in ("en", "es"):
        raise ParameterError(f"`lang`={lang!r} is not supported; use 'en' or 'es'.")
    return lang


def _pct(v: float, lang: str) -> str:
    s = f"{v * 100:.0f}"
    return s + ("\u00a0%" if lang == "es" else "%")


def _ax(ax: Any, w: float = 8, h: float = 4.5) -> Any:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(w, h), layout="constrained")
    return ax


def retention_triangle(result: Any, ax: Any = None, *, group: str | None = None, lang: Literal["en", "es"] = "en",
                       annotate: bool | None = None, max_periods: int = 24) -> Any:
    """The classic retention triangle: cohorts as rows, periods as columns, the rate as
    colour (a sequential colour-blind-safe scale from 0 to the largest rate after period
    0), censored cells hatched.

    Parameters
    ----------
    result : RetentionResult
    ax : matplotlib Axes, optional
    group : str, optional
        With ``by=``/``compare=``, the group drawn (default: the first).
    lang : {"en", "es"}
    annotate : bool, optional
        Write the rate in each cell (default: when there are at most 16 columns and 30 rows).
    max_periods : int, default 24
        Columns drawn at most.

    Returns
    -------
    matplotlib.axes.Axes
    """
    lang = _lang(lang)
    tx = _T[lang]
    t = result.table
    if "group" in t.columns:
        groups = list(pd.unique(t["group"]))
        g = groups[0] if group is None else group
        if g not in groups:
            raise ParameterError(f"`group`={group!r} is not in the result; groups: {groups[:8]}.")
        t = t[t["group"] == g]
    t = t[t["period"] < max_periods]
    ax = _ax(ax)
    cohorts = sorted(pd.unique(t["cohort"]))
    periods = sorted(pd.unique(t["period"]))
    ci = {c: i for i, c in enumerate(cohorts)}
    pi = {p: i for i, p in enumerate(periods)}
    grid = np.full((len(cohorts), len(periods)), np.nan)
    r = t["cohort"].map(ci).to_numpy()
    c = t["period"].map(pi).to_numpy()
    grid[r, c] = t["rate"].to_numpy(dtype=float)
    later = t.loc[t["period"] > 0, "rate"]
    vmax = float(np.nanmax(later)) if len(later) and np.isfinite(later).any() else 1.0
    vmax = max(vmax, 0.01)
    img = ax.imshow(grid, aspect="auto", cmap="YlGnBu", vmin=0, vmax=vmax,
                    interpolation="nearest")
    img.set_gid("retention-cells")
    import matplotlib.patches as mpatches

    for (rr, cc), comp in zip(zip(r, c), t["complete"].to_numpy(dtype=bool)):
        if not comp:
            p = mpatches.Rectangle((cc - 0.5, rr - 0.5), 1, 1, fill=False, hatch="///", edgecolor=MUTED,
                                   linewidth=0, gid="censored")
            ax.add_patch(p)
    if annotate is None:
        annotate = len(periods) <= 16 and len(cohorts) <= 30
    if annotate:
        for (rr, cc), v in zip(zip(r, c), t["rate"].to_numpy(dtype=float)):
            if np.isfinite(v):
                ax.text(cc, rr, _pct(v, lang), ha="center", va="center", fontsize=7,
                        color="white" if v > 0.6 * vmax else INK)
    freq = result.params.get("cohort_period", "D")
    fmt = "%Y-%m-%d %H:%M" if freq == "h" else ("%Y-%m" if freq == "M" else "%Y-%m-%d")
    sizes = t.drop_duplicates("cohort").set_index("cohort")["cohort_size"]
    ax.set_yticks(range(len(cohorts)))
    ax.set_yticklabels([f"{pd.Timestamp(co).strftime(fmt)} ({int(sizes[co]):,})" for co in cohorts], fontsize=7)
    labels = t.drop_duplicates("period").set_index("period")["period_label"]
    ax.set_xticks(range(len(periods)))
    ax.set_xticklabels([str(labels[p]) for p in periods], fontsize=8)
    ax.set_xlabel(tx["period"])
    ax.set_ylabel(f"{tx['cohort']} ({tx['size']})")
    ax.set_title(tx["title"] + f" ({tx['censored']})", fontsize=10, loc="left")
    cb = ax.figure.colorbar(img, ax=ax, fraction=0.04)
    cb.ax.yaxis.set_major_formatter(lambda v, _pos: _pct(v, lang))
    cb.set_label(tx["rate"])
    return ax


def retention_curve(result: Any, ax: Any = None, *, lang: Literal["en", "es"] = "en",
                    skip_zero: bool = False) -> Any:
    """Retention curves (one per group or variant) with their Wilson CI bands, from
    complete cells only (periods without a complete cell are not drawn).

    Returns
    -------
    matplotlib.axes.Axes
    """
    lang = _lang(lang)
    tx = _T[lang]
    cur = result.curve
    cur = cur[cur["cohort_size"] > 0]
    if skip_zero:
        cur = cur[cur["period"] > 0]
    ax = _ax(ax)
    groups = list(pd.unique(cur["group"])) if "group" in cur.columns else [None]
    for i, g in enumerate(groups):
        sub = cur if g is None else cur[cur["group"] == g]
        col = PALETTE[i % len(PALETTE)]
        x = sub["period"].to_numpy()
        ax.plot(x, sub["rate"], marker="o", ms=3, color=col, label=None if g is None else str(g), gid=f"curve-{g}")
        ax.fill_between(x, sub["ci_low"], sub["ci_high"], color=col, alpha=0.2, linewidth=0, gid=f"band-{g}")
    labels = cur.drop_duplicates("period").set_index("period")["period_label"]
    if len(labels) <= 20:
        ax.set_xticks(labels.index.to_numpy())
        ax.set_xticklabels([str(v) for v in labels.to_numpy()])
    ax.yaxis.set_major_formatter(lambda v, _pos: _pct(v, lang))
    ax.set_ylim(bottom=0)
    ax.set_xlabel(tx["period"])
    ax.set_ylabel(tx["rate"])
    ax.set_title(tx["curve"], fontsize=10, loc="left")
    if groups != [None]:
        ax.legend(frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def time_to_nth_curve(result: Any, ax: Any = None, *, lang: Literal["en", "es"] = "en") -> Any:
    """Kaplan–Meier curve(s) of the time to the n-th occurrence (share of units that have
    not reached it yet), with log-log CI bands and the median marked.

    Returns
    -------
    matplotlib.axes.Axes
    """
    lang = _lang(lang)
    tx = _T[lang]
    s = result.survival
    ax = _ax(ax)
    groups = list(pd.unique(s["group"])) if "group" in s.columns else [None]
    med = result.medians
    for i, g in enumerate(groups):
        sub = s if g is None else s[s["group"] == g]
        col = PALETTE[i % len(PALETTE)]
        ax.step(sub["time_days"], sub["survival"], where="post", color=col, label=None if g is None else str(g),
                gid=f"km-{g}")
        ax.fill_between(sub["time_days"], sub["ci_low"], sub["ci_high"], step="post", color=col, alpha=0.2,
                        linewidth=0, gid=f"km-band-{g}")
        m = med if g is None else med[med["group"] == g]
        if len(m) and np.isfinite(m["median_days"].iloc[0]):
            ax.axvline(float(m["median_days"].iloc[0]), color=col, linestyle=":", linewidth=1, gid=f"median-{g}")
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(lambda v, _pos: _pct(v, lang))
    ax.set_xlabel(tx["days"])
    ax.set_ylabel(tx["survival"])
    ax.set_title(tx["km"].format(n=result.params.get("nth", 2)), fontsize=10, loc="left")
    if groups != [None]:
        ax.legend(frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return ax
