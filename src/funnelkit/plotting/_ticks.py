"""Tick labels that never overlap (wrapped, rotated or smaller), and the axes' number formats.

Category labels (stages, touchpoints) are wrapped or rotated until their boxes do
not overlap; value axes show counts, percentages, durations and dates in the
figure's language.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._canvas import layout, overlaps, pyplot, renderer
from ._format import MONTHS, fmt_duration, num, pct
from ._style import mt

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.ticker import Formatter

_DUR_CANDIDATES = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 43200, 86400, 172800,
                   604800, 1209600, 2592000)
_DUR_MAJOR = (1, 10, 60, 600, 3600, 21600, 86400, 604800, 2592000)


def wrap(text: str, width: int) -> str:
    """``text`` wrapped on words to lines of at most ``width`` characters.

    >>> wrap("Experiencia posterior a la compra", 12)
    'Experiencia\\nposterior a\\nla compra'
    """
    return "\n".join(textwrap.wrap(text, width=max(width, 4), break_long_words=False)) or text


def fit_xticklabels(ax: Axes, labels: Sequence[str], *, fontsize: float | None = None) -> None:
    """Category tick labels that never overlap.

    Tries, in order: labels wrapped to the width of their slot (at most four lines),
    rotated by 30° and 45° (at most three lines), vertical, then smaller fonts; the
    first layout whose label boxes do not overlap (Agg renderer) is kept.
    """
    n = len(labels)
    ax.set_xticks(np.arange(n))
    fig = ax.figure
    layout(ax)
    rc = pyplot().rcParams["xtick.labelsize"]
    fs = float(fontsize or (rc if isinstance(rc, (int, float)) else 9.0))
    fs = min(fs, 9.5)
    slot_px = ax.bbox.width / max(n, 1)
    char_px = fs * 0.6 * fig.dpi / 72
    w_slot = max(6, int(slot_px * 0.85 / char_px))
    longest = max((len(str(x)) for x in labels), default=0)
    candidates = [(w_slot, 0, fs), (max(w_slot, 24), 30, fs), (max(w_slot, 24), 45, fs), (30, 90, fs),
                  (30, 90, fs - 1.5), (40, 90, max(fs - 3, 6))]
    r = renderer(fig)
    for i, (width, rot, size) in enumerate(candidates):
        wrapped = [wrap(str(lab), width) for lab in labels]
        lines = max((w.count("\n") + 1 for w in wrapped), default=1)
        last = i == len(candidates) - 1
        if not last and ((rot == 0 and lines > 4) or (rot in (30, 45) and lines > 3) or (rot == 90 and lines > 2)):
            continue
        ax.set_xticklabels([mt(w) for w in wrapped], fontsize=size)
        for t in ax.get_xticklabels():
            t.set_rotation(rot)
            t.set_horizontalalignment("center" if rot in (0, 90) else "right")
            t.set_rotation_mode("default" if rot in (0, 90) else "anchor")
        if r is None:
            if n <= 6 and longest <= 3 * w_slot:
                return
            continue
        bbs = [t.get_window_extent(r) for t in ax.get_xticklabels() if t.get_text()]
        if not overlaps(bbs, pad=2.0):
            return


def fit_yticklabels(ax: Axes, labels: Sequence[str], width: int = 22) -> None:
    """Category tick labels on the y axis, wrapped to ``width`` characters."""
    ax.set_yticks(np.arange(len(labels)))
    ax.set_yticklabels([mt(wrap(str(lab), width)) for lab in labels])


def rotate_if_crowded(ax: Axes) -> None:
    """Rotate the x tick labels by 45° when they overlap (e.g. many dates)."""
    r = renderer(ax.figure)
    if r is None:
        return
    layout(ax)
    boxes = [tl.get_window_extent(r) for tl in ax.get_xticklabels() if tl.get_text()]
    if overlaps(boxes, pad=2.0):
        for tl in ax.get_xticklabels():
            tl.set_rotation(45)
            tl.set_horizontalalignment("right")
            tl.set_rotation_mode("anchor")


def percent_axis(axis: Axis, lang: str, digits: int = 0) -> None:
    """Percent tick labels with as many decimals as the ticks need (2.5% is not shown as 2%)."""
    from matplotlib.ticker import FuncFormatter

    def fmt(v: float, _pos: Any) -> str:
        d = digits
        try:
            locs = np.asarray(axis.get_majorticklocs(), dtype=float) * 100
        except Exception:  # pragma: no cover
            locs = np.array([v * 100])
        while d < 3 and np.any(np.abs(locs * 10**d - np.round(locs * 10**d)) > 1e-6):
            d += 1
        return pct(v, lang, d)

    axis.set_major_formatter(FuncFormatter(fmt))


def count_axis(axis: Axis, lang: str) -> None:
    """Integer ticks with thousands separators."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: num(v, lang)))


def duration_axis(axis: Axis, lo: float, hi: float, *, log: bool, lang: str) -> None:
    """Ticks at round durations (1 s, 1 min, 1 h, 1 d, 1 week...) between ``lo`` and ``hi`` seconds."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

    fmt = FuncFormatter(lambda v, _pos: fmt_duration(v, lang))
    if log:
        ticks = [t for t in _DUR_MAJOR if lo <= t <= hi]
        if len(ticks) < 3:
            ticks = [t for t in _DUR_CANDIDATES if lo <= t <= hi]
        if len(ticks) < 2:
            ticks = [lo, hi]
        axis.set_major_locator(FixedLocator(ticks))
        axis.set_minor_locator(NullLocator())
        axis.set_major_formatter(fmt)
        return
    for size in (86400.0, 3600.0, 60.0, 1.0):
        if hi >= 2 * size or size == 1.0:
            break
    loc = MaxNLocator(nbins=7, steps=[1, 2, 2.5, 5, 10])
    ticks = loc.tick_values(lo / size, hi / size) * size
    axis.set_major_locator(FixedLocator([t for t in ticks if lo - 1e-9 <= t <= hi + 1e-9] or [lo, hi]))
    axis.set_major_formatter(fmt)


def date_formatter(lang: str, freq: str) -> Formatter:
    """Dates as ``Mar 5`` / ``5 mar`` (hours below for hourly periods, ``Mar 2026`` for months)."""
    from matplotlib.dates import num2date
    from matplotlib.ticker import FuncFormatter

    months = MONTHS[lang]
    hourly = str(freq).lower().startswith("h")
    monthly = str(freq).upper().startswith("M")

    def f(v: float, _pos: Any) -> str:
        d = num2date(v)
        if monthly:
            return f"{months[d.month - 1]} {d.year}"
        s = f"{d.day} {months[d.month - 1]}" if lang == "es" else f"{months[d.month - 1]} {d.day}"
        return f"{s}\n{d:%H:%M}" if hourly else s

    return FuncFormatter(f)
