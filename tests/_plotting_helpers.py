"""Helpers shared by the plotting tests (``from _plotting_helpers import ...``, ``tests/`` on sys.path).

The plotting tests check structure, not pixels: artists and their gids, tick labels,
texts and that no two labels overlap once drawn (Agg backend).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

EN = ("Discovery", "Consideration", "Purchase", "Use", "Loyalty")
ES = ("Descubrimiento", "Consideración", "Compra", "Uso", "Fidelización")


def new_ax(w=8, h=4.5):
    _, ax = plt.subplots(figsize=(w, h), layout="constrained")
    return ax


def pct(v, lang="en", digits=1):
    s = f"{v * 100:.{digits}f}"
    return s.replace(".", ",") + "\u00a0%" if lang == "es" else s + "%"


def num(n, lang="en"):
    s = f"{int(n):,}"
    return s.replace(",", ".") if lang == "es" else s


def ticks(ax, axis="x"):
    labels = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    return [t.get_text().replace("\n", " ") for t in labels if t.get_text()]


def texts(ax):
    return [t.get_text() for t in ax.texts]


def boxes(artists, renderer):
    return [a.get_window_extent(renderer) for a in artists if a.get_visible() and a.get_text()]


def overlapping(bbs):
    for i in range(len(bbs)):
        for j in range(i + 1, len(bbs)):
            a, b = bbs[i], bbs[j]
            if a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1:
                return True
    return False


def draw(ax):
    fig = ax.figure
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def assert_ticks_do_not_overlap(ax, axis="x"):
    r = draw(ax)
    labels = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    assert not overlapping(boxes(labels, r)), [t.get_text() for t in labels]
