"""The look shared by every figure: palette, colours, labels in a language, titles, legends.

Colours are the Okabe–Ito palette (:data:`PALETTE`), which stays distinct for
colour-blind readers; step labels come from the journey in the figure's language.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._canvas import layout, renderer
from ._text import TEXT

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.legend import Legend

#: Okabe–Ito colour-blind-safe palette (blue, orange, bluish green, vermillion,
#: reddish purple, sky blue, yellow, black).
PALETTE: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#000000",
)
GHOST = "#D9D9D9"
INK = "#222222"
MUTED = "#666666"


def labels_for(steps: Sequence[str], labels: Sequence[str], journey: Any, lang: str) -> list[str]:
    """Step labels in ``lang``: the journey's stage labels, else the result's labels.

    >>> labels_for(["a", "b"], ["A", "B"], None, "es")
    ['A', 'B']
    """
    try:
        mapping = {s.name: s.label(lang) for s in journey.stages}
    except Exception:
        return [str(x) for x in labels]
    return [str(mapping.get(s, lab)) for s, lab in zip(steps, labels)]


def unit_word(result: Any, lang: str) -> str:
    """"Users" or "Sessions" (in ``lang``), after the result's ``unit`` parameter."""
    unit = "user"
    try:
        unit = result.params.get("unit", "user")
    except Exception:
        pass
    return TEXT[lang]["session" if unit == "session" else "user"]


def mt(text: Any) -> str:
    """Text safe for matplotlib: ``$`` would start mathtext.

    >>> mt("$5 off")
    '\\\\$5 off'
    """
    return str(text).replace("$", r"\$")


def clean(ax: Axes) -> None:
    """No top and right spines."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def draw_title(ax: Axes, default: str, text: Any) -> None:
    """A bold left title: ``default`` when ``text`` is None/True, ``text`` itself, or none when False/""."""
    if text is False or text == "":
        return
    ax.set_title(mt(default) if text is None or text is True else mt(text),
                 loc="left", fontsize=11, fontweight="bold", pad=8)


def legend_above(ax: Axes, *, extra: Sequence[Any] = (), handles: Sequence[Any] | None = None,
                 ncol: int | None = None) -> Legend | None:
    """A legend between the title and the Axes (never over the data); the title is lifted above it."""
    if handles is None:
        handles, _ = ax.get_legend_handles_labels()
    handles = list(handles) + list(extra)
    if not handles:
        return None
    r = renderer(ax.figure)
    layout(ax)
    nc = ncol or min(len(handles), 4)
    while True:
        lg = ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=nc, frameon=False,
                       fontsize=8.5, borderaxespad=0.2, handlelength=1.6, columnspacing=1.2)
        if r is None or nc == 1 or lg.get_window_extent(r).width <= ax.bbox.width * 1.02:
            break
        nc -= 1
    head = ax.get_title(loc="left")
    if head and r is not None:
        h = lg.get_window_extent(r).height * 72 / ax.figure.dpi
        ax.set_title(head, loc="left", fontsize=11, fontweight="bold", pad=h + 6)
    return lg
