"""Figures of paths: the flow diagram (alluvial), drop-off paths, the transition and step
matrices as heatmaps, and the frictions chart.

Every function takes a result, draws on ``ax`` (a new figure when ``None``) and returns
the Axes; the frame it drew is attached as ``ax.funnelkit_data`` (its data twin, rows
of the result's table), so what a figure shows can be read back as numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._canvas import new_ax
from ._style import GHOST, INK, MUTED, PALETTE, clean, draw_title, mt

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["dropoff", "flow", "frictions_chart", "step_heatmap", "transition_heatmap"]

OTHER = "other"


def _check_int(v: Any, name: str, lo: int) -> int:
    from ..errors import ParameterError

    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise ParameterError(f"`{name}`={v!r} must be an integer >= {lo}.")
    return int(v)


def _twin(ax: Axes, frame: pd.DataFrame) -> Axes:
    ax.funnelkit_data = frame.reset_index(drop=True)  # type: ignore[attr-defined]
    return ax


def _smooth(n: int = 24) -> tuple[np.ndarray, np.ndarray]:
    t = np.linspace(0.0, 1.0, n)
    return t, t * t * (3 - 2 * t)


def flow(result: Any, ax: Axes | None = None, *, max_tokens: int = 8, title: str | bool | None = None) -> Axes:
    """The flow diagram (alluvial / Sankey) of a :class:`~funnelkit.analyses.paths.PathsResult`.

    One column per position of the paths, one block per token (the ``max_tokens``
    most frequent tokens of each column; the rest as ``"other"``), block heights and
    band widths proportional to path occurrences (the ``links`` table). Each token
    keeps one colour across the columns (the eight most frequent tokens get the
    palette's colours, the others grey).

    Returns
    -------
    matplotlib Axes
        With ``ax.funnelkit_data``: the bands drawn (``position``, ``source``, ``target``, ``paths``).
    """
    max_tokens = _check_int(max_tokens, "max_tokens", 1)
    links = result.links
    nodes = result.nodes
    nodes = nodes[nodes["token"] != "(end)"]
    ax = new_ax(ax, (10, 5.5))
    if not len(nodes):
        ax.text(0.5, 0.5, "no paths", ha="center", va="center", color=MUTED, transform=ax.transAxes)
        ax.set_axis_off()
        return _twin(ax, links.iloc[:0][["position", "source", "target", "paths"]])
    positions = sorted(nodes["position"].unique().tolist())
    keep: dict[int, list[str]] = {}
    for p in positions:
        sub = nodes[nodes["position"] == p].sort_values(["paths", "token"], ascending=[False, True], kind="stable")
        keep[p] = sub["token"].head(max_tokens).tolist()

    def name(p: int, tok: str) -> str:
        return tok if tok in keep.get(p, []) else OTHER

    lk = links.assign(source=[name(p, s) for p, s in zip(links["position"], links["source"])],
                      target=[name(p + 1, t) for p, t in zip(links["position"], links["target"])])
    lk = lk.groupby(["position", "source", "target"], as_index=False, sort=True)["paths"].sum()
    nd = nodes.assign(token=[name(p, t) for p, t in zip(nodes["position"], nodes["token"])])
    nd = nd.groupby(["position", "token"], as_index=False, sort=True)["paths"].sum()
    totals = nodes.groupby("token")["paths"].sum().sort_values(ascending=False, kind="stable")
    ranked = [t for t in totals.index if t != OTHER]
    colour = {t: (PALETTE[i] if i < len(PALETTE) else "#9A9A9A") for i, t in enumerate(ranked)}
    colour[OTHER] = GHOST
    height = max(nd.groupby("position")["paths"].sum().max(), 1)
    gap = 0.02 * height
    width = 0.12
    ypos: dict[tuple[int, str], list[float]] = {}
    for p in positions:
        sub = nd[nd["position"] == p]
        order = [t for t in keep[p] if t in set(sub["token"])] + ([OTHER] if OTHER in set(sub["token"]) else [])
        y = 0.0
        for tok in order:
            h = float(sub.loc[sub["token"] == tok, "paths"].iloc[0])
            ypos[(p, tok)] = [y, y + h, y, y]  # bottom, top, next outgoing, next incoming
            ax.add_patch(_rect(p - width / 2, y, width, h, colour.get(tok, GHOST)))
            if h >= 0.035 * height:
                ax.text(p + width / 2 + 0.02, y + h / 2, mt(tok), va="center", ha="left", fontsize=8, color=INK,
                        clip_on=False)
            y += h + gap
    t, s = _smooth()
    for row in lk.sort_values(["position", "source", "target"], kind="stable").itertuples():
        a, b = ypos.get((row.position, row.source)), ypos.get((row.position + 1, row.target))
        if a is None or b is None:
            continue
        w = float(row.paths)
        y0, y1 = a[2], b[3]
        a[2] += w
        b[3] += w
        x = row.position + width / 2 + t * (1 - width)
        lo = y0 + (y1 - y0) * s
        ax.fill_between(x, lo, lo + w, color=colour.get(row.source, GHOST), alpha=0.35, linewidth=0)
    ax.set_xlim(positions[0] - 0.5, positions[-1] + 0.9)
    ax.set_ylim(-gap, max(v[1] for v in ypos.values()) + gap)
    ax.invert_yaxis()
    ax.set_yticks([])
    ax.set_xticks(positions, [f"{p}" for p in positions])
    ax.set_xlabel("position in the path")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    draw_title(ax, "Top paths", title)
    return _twin(ax, lk)


def _rect(x: float, y: float, w: float, h: float, c: str) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, facecolor=c, edgecolor="white", linewidth=0.5)


def dropoff(result: Any, ax: Axes | None = None, *, n: int = 8, title: str | bool | None = None) -> Axes:
    """Dropped vs converted shares per path of a :class:`~funnelkit.analyses.paths.DropoffPathsResult`."""
    n = _check_int(n, "n", 1)
    t = result.table[result.table["path"] != "other"].head(n)
    ax = new_ax(ax, (9, 0.5 * len(t) + 1.5))
    y = np.arange(len(t))
    ax.barh(y - 0.2, t["dropped_share"].fillna(0), height=0.4, color=PALETTE[3], label="dropped out")
    ax.barh(y + 0.2, t["converted_share"].fillna(0), height=0.4, color=PALETTE[2], label="converted")
    ax.set_yticks(y, [mt(p) for p in t["path"]], fontsize=8)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(_pct_formatter())
    ax.set_xlabel("share of the group's units")
    clean(ax)
    ax.legend(loc="lower right", frameon=False, fontsize=8)
    p = result.params
    draw_title(ax, f"What units did {p['direction']} {p['step']!r}", title)
    return _twin(ax, t)


def _pct_formatter() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)


def _heat(ax: Axes, m: pd.DataFrame, cmap: str, fmt: str, diverging: bool = False) -> None:
    vals = m.to_numpy(dtype=float)
    lim = np.nanmax(np.abs(vals)) if vals.size else 1.0
    lim = lim if lim > 0 else 1.0
    im = ax.imshow(vals, cmap=cmap, aspect="auto", vmin=-lim if diverging else 0, vmax=lim)
    ax.set_xticks(range(m.shape[1]), [mt(c) for c in m.columns], rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(m.shape[0]), [mt(r) for r in m.index], fontsize=8)
    if m.shape[0] * m.shape[1] <= 400:
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                v = vals[i, j]
                if v and not np.isnan(v):
                    ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize=7,
                            color="white" if abs(v) > 0.6 * lim else INK)
    ax.figure.colorbar(im, ax=ax, fraction=0.04)


def transition_heatmap(result: Any, ax: Axes | None = None, *, value: str = "probability", group: Any = None,
                       difference: bool = False, title: str | bool | None = None) -> Axes:
    """The transition matrix (source rows × target columns) as a heatmap; with
    ``difference=True``, the two groups' difference of probabilities."""
    if difference:
        if result.difference is None:
            from ..errors import ParameterError

            raise ParameterError("difference=True needs a result computed with by= and two groups.")
        d = result.difference
        m = d.pivot(index="source", columns="target", values="difference").fillna(0)
        ax = new_ax(ax, (1.0 + 0.55 * m.shape[1], 1.0 + 0.45 * m.shape[0]))
        _heat(ax, m, "RdBu", ".2f", diverging=True)
        draw_title(ax, f"Transition probability: {d['group_b'].iloc[0]} − {d['group_a'].iloc[0]}", title)
        return _twin(ax, d)
    m = result.matrix(value, group=group)
    ax = new_ax(ax, (1.0 + 0.55 * m.shape[1], 1.0 + 0.45 * m.shape[0]))
    _heat(ax, m, "Blues", ".2f" if value == "probability" else ".0f")
    ax.set_xlabel("next token")
    ax.set_ylabel("token")
    draw_title(ax, "Transition matrix", title)
    t = result.table
    g = t["group"].iloc[0] if group is None and len(t) else group
    return _twin(ax, t[t["group"] == g])


def step_heatmap(result: Any, ax: Axes | None = None, *, group: Any = None, title: str | bool | None = None) -> Axes:
    """The step matrix (token rows × position columns) as a heatmap of shares."""
    m = result.matrix(group=group)
    ax = new_ax(ax, (1.5 + 0.6 * m.shape[1], 1.0 + 0.4 * m.shape[0]))
    _heat(ax, m, "Blues", ".2f")
    ax.set_xlabel("position")
    draw_title(ax, "Step matrix", title)
    t = result.table
    g = t["group"].iloc[0] if group is None and len(t) else group
    return _twin(ax, t[t["group"] == g])


XLABEL = {"en": "odds ratio of converting, with vs without (log scale; association, not cause)",
          "es": "razón de momios de convertir, con vs sin (escala log; asociación, no causa)"}


def frictions_chart(result: Any, ax: Axes | None = None, *, n: int = 6, lang: str = "en",
                    title: str | bool | None = None) -> Axes:
    """The strongest positive and negative signals of a :class:`~funnelkit.analyses.frictions.FrictionsResult`:
    odds ratios of converting (log scale) with their CIs; significant ones (after
    Benjamini–Hochberg) in colour, the rest grey."""
    n = _check_int(n, "n", 1)
    from .._params import check_choice

    lang = check_choice(lang, name="lang", choices=("en", "es"))
    t = result.table
    lor = np.log(t["odds_ratio"].astype(float))
    pos = t[lor > 0].assign(_l=lor[lor > 0]).sort_values(["_l", "candidate"], ascending=[False, True]).head(n)
    neg = t[lor < 0].assign(_l=lor[lor < 0]).sort_values(["_l", "candidate"], ascending=[True, True]).head(n)
    sel = pd.concat([pos, neg]).sort_values("_l", ascending=False, kind="stable").drop(columns="_l")
    ax = new_ax(ax, (8, 0.42 * max(len(sel), 1) + 1.6))
    y = np.arange(len(sel))
    orr = sel["odds_ratio"].to_numpy(dtype=float)
    colours = [(PALETTE[2] if o > 1 else PALETTE[3]) if s else GHOST for o, s in zip(orr, sel["significant"])]
    ax.hlines(y, sel["ci_low"], sel["ci_high"], color=colours, linewidth=2)
    ax.scatter(orr, y, color=colours, zorder=3, s=28)
    ax.axvline(1.0, color=MUTED, linewidth=0.8, linestyle="--")
    if len(sel):
        ax.set_xscale("log")
    word = "units" if lang == "en" else "unidades"
    ax.set_yticks(y, [mt(f"{c}  ({u} {word})") for c, u in zip(sel["candidate"], sel["units_with"])], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(XLABEL[lang])
    clean(ax)
    p = result.params
    draw_title(ax, f"What goes with converting from {p['step']!r} to {p['next_step']!r}", title)
    return _twin(ax, sel)
