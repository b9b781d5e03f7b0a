"""The figure machinery: new Axes, the layout engine, text boxes and their overlaps.

matplotlib is only imported inside these functions, when a plot is drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def pyplot() -> Any:
    """``matplotlib.pyplot``, imported on first use."""
    import matplotlib.pyplot as plt

    return plt


def new_ax(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """``ax`` itself, or the Axes of a new figure of ``figsize`` inches (constrained layout)."""
    if ax is not None:
        return fresh(ax)
    _, ax = pyplot().subplots(figsize=figsize, layout="constrained")
    return fresh(ax)


def renderer(fig: Figure) -> Any:
    """The figure's renderer (to measure text), or ``None`` on backends without one."""
    try:
        return fig.canvas.get_renderer()
    except AttributeError:
        try:
            return fig._get_renderer()
        except Exception:  # pragma: no cover - exotic backends
            return None


def overlaps(boxes: Sequence[Any], pad: float = 1.0) -> bool:
    """Whether any two of the bounding boxes (display units) overlap, ``pad`` pixels included."""
    for i in range(len(boxes)):
        a = boxes[i]
        for j in range(i + 1, len(boxes)):
            b = boxes[j]
            if a.x0 < b.x1 + pad and b.x0 < a.x1 + pad and a.y0 < b.y1 + pad and b.y0 < a.y1 + pad:
                return True
    return False


def layout(ax: Axes, *, force: bool = False) -> None:
    """Run the figure's layout engine (if any) so that ``ax``'s position is final enough to measure.

    Layouts are expensive (every text is laid out), so one plotting call runs it at
    most once for its Axes unless ``force`` (the flag is reset by :func:`fresh`).
    """
    fig = ax.figure
    if fig.get_layout_engine() is None or (getattr(ax, "_funnelkit_laid_out", False) and not force):
        return
    try:
        fig.get_layout_engine().execute(fig)
    except Exception:  # pragma: no cover
        pass
    ax._funnelkit_laid_out = True  # type: ignore[attr-defined]


def fresh(ax: Axes) -> Axes:
    """Mark ``ax`` as not laid out yet (start of a plotting call)."""
    ax._funnelkit_laid_out = False  # type: ignore[attr-defined]
    return ax


def text_height_data(ax: Axes, fontsize: float, lines: int) -> float:
    """Height of ``lines`` lines of text in data units of the y axis (linear scale)."""
    fig = ax.figure
    px = fontsize * 1.3 * lines * fig.dpi / 72
    y0, y1 = ax.get_ylim()
    return px / max(ax.bbox.height, 1.0) * (y1 - y0)
