"""Plots of funnelkit results (presentation only: nothing here recomputes a statistic).

Every function follows the seaborn conventions: matplotlib is imported inside the
function (``import funnelkit`` stays light), the target Axes is ``ax=`` (a new
figure when omitted) and the Axes is returned. Labels come from the journey, in
English or Spanish (``lang=``, default: the journey's language); titles, axis labels
and number formats follow ``lang`` too (``56.6%`` / ``56,6 %``). Colours are the
Okabe–Ito palette (:data:`PALETTE`), which stays distinct for colour-blind readers.

=======================  ===============================================================
function                 shows
=======================  ===============================================================
:func:`funnel_bars`      units per step, conversion from entry, drop-off between steps
:func:`variant_conversion`  share of exposed users reaching each step, per variant, with CIs
:func:`time_hist`        distribution of the time between consecutive steps
:func:`time_cumulative`  "converted within t": share of the previous step converted by t
:func:`conversion_trend` conversion by entry period; incomplete windows and shifts flagged
:func:`breakdown`        conversion per touchpoint / channel (``funnel(..., by=)``)
:func:`journey_map`      stages × touchpoints: reach, step conversion, frictions (DESIGN §7)
:func:`plot_result`      the dispatcher behind ``FunnelResult.plot`` & co.
=======================  ===============================================================

The tables behind the two plots that need a computation are public and tidy:
:func:`trend_table` (from :mod:`funnelkit.trends`) and :func:`journey_map_table`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import ParameterError
from .trends import trend_table

__all__ = [
    "JOURNEY_MAP_COLUMNS",
    "PALETTE",
    "breakdown",
    "conversion_trend",
    "funnel_bars",
    "journey_map",
    "journey_map_table",
    "plot_result",
    "time_cumulative",
    "time_hist",
    "trend_table",
    "variant_conversion",
]

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
_GHOST = "#D9D9D9"
_INK = "#222222"
_MUTED = "#666666"

Lang = Literal["en", "es"]

_T: dict[str, dict[str, str]] = {
    "en": {
        "funnel": "Funnel",
        "user": "Users",
        "session": "Sessions",
        "reached": "Reached the step",
        "dropped": "Dropped off since the previous step",
        "variant_title": "Conversion by variant ({conf} CI)",
        "variant_y": "Exposed users reaching the step",
        "control": "control",
        "signif": "* significant vs control",
        "time_title": "Time between steps",
        "time_x": "Time since the previous step",
        "count": "Units",
        "cum_title": "Converted within t",
        "cum_y": "Share of the previous step",
        "median": "median",
        "zero": "{n} at 0 s",
        "trend_title": "Conversion by entry {period}",
        "trend_y": "Conversion from entry",
        "trend_y_step": "Conversion from the previous step",
        "incomplete": "Window not complete yet",
        "shift": "Shift in step conversion",
        "h": "hour",
        "D": "day",
        "W": "week",
        "M": "month",
        "breakdown_title": "Conversion to {step} by {by}",
        "breakdown_x": "Conversion from entry",
        "overall": "All: {v}",
        "of": "of",
        "map_title": "Journey map by {tp}",
        "all": "All",
        "map_note": "Cells: units reaching the stage and the share of the previous stage who did "
        "(first stage: share of entries). Colour: step conversion minus the stage's, "
        "brown = lower, teal = higher. Boxed: the {n} worst frictions.",
        "map_note0": "Cells: units reaching the stage and the share of the previous stage who did "
        "(first stage: share of entries). Colour: step conversion minus the stage's, "
        "brown = lower, teal = higher.",
    },
    "es": {
        "funnel": "Embudo",
        "user": "Usuarios",
        "session": "Sesiones",
        "reached": "Alcanzaron la etapa",
        "dropped": "Abandonaron desde la etapa anterior",
        "variant_title": "Conversión por variante (IC {conf})",
        "variant_y": "Usuarios expuestos que alcanzan la etapa",
        "control": "control",
        "signif": "* significativo frente al control",
        "time_title": "Tiempo entre etapas",
        "time_x": "Tiempo desde la etapa anterior",
        "count": "Unidades",
        "cum_title": "Convertidos en un tiempo t",
        "cum_y": "Porcentaje de la etapa anterior",
        "median": "mediana",
        "zero": "{n} en 0 s",
        "trend_title": "Conversión por {period} de entrada",
        "trend_y": "Conversión desde la entrada",
        "trend_y_step": "Conversión desde la etapa anterior",
        "incomplete": "Ventana aún incompleta",
        "shift": "Cambio en la conversión de la etapa",
        "h": "hora",
        "D": "día",
        "W": "semana",
        "M": "mes",
        "breakdown_title": "Conversión a {step} por {by}",
        "breakdown_x": "Conversión desde la entrada",
        "overall": "Total: {v}",
        "of": "de",
        "map_title": "Mapa del recorrido por {tp}",
        "all": "Total",
        "map_note": "Celdas: unidades que alcanzan la etapa y porcentaje de la etapa anterior que lo "
        "hizo (primera etapa: porcentaje de las entradas). Color: conversión de la etapa menos "
        "la media de la etapa, marrón = menor, verde azulado = mayor. Recuadro: las {n} "
        "mayores fricciones.",
        "map_note0": "Celdas: unidades que alcanzan la etapa y porcentaje de la etapa anterior que lo "
        "hizo (primera etapa: porcentaje de las entradas). Color: conversión de la etapa menos "
        "la media de la etapa, marrón = menor, verde azulado = mayor.",
    },
}

_MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "es": ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"),
}


# =========================================================================== helpers
def _check_lang(lang: Any, journey: Any = None) -> str:
    if lang is None:
        lang = getattr(journey, "lang", None) or "en"
    if lang not in _T:
        raise ParameterError(f"`lang`={lang!r} is not supported; use 'en' or 'es'.")
    return str(lang)


def _labels_for(steps: Sequence[str], labels: Sequence[str], journey: Any, lang: str) -> list[str]:
    """Step labels in ``lang``: the journey's stage labels, else the result's labels."""
    try:
        mapping = {s.name: s.label(lang) for s in journey.stages}
    except Exception:
        return [str(x) for x in labels]
    return [str(mapping.get(s, lab)) for s, lab in zip(steps, labels)]


def _mt(text: Any) -> str:
    """Text safe for matplotlib: ``$`` would start mathtext."""
    return str(text).replace("$", r"\$")


def _num(n: Any, lang: str) -> str:
    """An integer with thousands separators (``1,234`` / ``1.234``)."""
    if pd.isna(n):
        return "–"
    s = f"{int(round(float(n))):,}"
    return s.replace(",", ".") if lang == "es" else s


def _dec(x: float, digits: int, lang: str, sign: bool = False) -> str:
    s = f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"
    s = s.replace("-", "−")
    return s.replace(".", ",") if lang == "es" else s


def _pct(v: Any, lang: str, digits: int = 1, sign: bool = False) -> str:
    """A fraction as a percentage: ``0.566`` -> ``56.6%`` (en) / ``56,6 %`` (es)."""
    if v is None or pd.isna(v):
        return "–"
    s = _dec(float(v) * 100, digits, lang, sign)
    return f"{s}\u00a0%" if lang == "es" else f"{s}%"


def _fmt_duration(seconds: float, lang: str = "en") -> str:
    """A duration in seconds, humanly: ``45 s``, ``6.0 min``, ``3.5 h``, ``2 d``."""
    if seconds is None or not np.isfinite(seconds):
        return "–"
    s = float(seconds)
    if s == 0:
        return "0 s"
    a = abs(s)
    if a < 1:
        return f"{_dec(s * 1000, 0, lang)} ms"
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0), ("s", 1.0)):
        if a >= size or unit == "s":
            v = s / size
            digits = 0 if (abs(v) >= 10 or float(v).is_integer()) else 1
            return f"{_dec(v, digits, lang)} {unit}"
    return f"{s} s"  # pragma: no cover


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def _new_ax(ax: Any, figsize: tuple[float, float]):
    if ax is not None:
        return _fresh(ax)
    plt = _pyplot()
    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return _fresh(ax)


def _renderer(fig: Any):
    try:
        return fig.canvas.get_renderer()
    except AttributeError:
        try:
            return fig._get_renderer()
        except Exception:  # pragma: no cover - exotic backends
            return None


def _overlaps(boxes: Sequence[Any], pad: float = 1.0) -> bool:
    for i in range(len(boxes)):
        a = boxes[i]
        for j in range(i + 1, len(boxes)):
            b = boxes[j]
            if a.x0 < b.x1 + pad and b.x0 < a.x1 + pad and a.y0 < b.y1 + pad and b.y0 < a.y1 + pad:
                return True
    return False


def _layout(ax: Any, *, force: bool = False) -> None:
    """Run the figure's layout engine (if any) so that ``ax``'s position is final enough to measure.

    Layouts are expensive (every text is laid out), so one plotting call runs it at
    most once for its Axes unless ``force`` (the flag is reset by :func:`_fresh`).
    """
    fig = ax.figure
    if fig.get_layout_engine() is None or (getattr(ax, "_funnelkit_laid_out", False) and not force):
        return
    try:
        fig.get_layout_engine().execute(fig)
    except Exception:  # pragma: no cover
        pass
    ax._funnelkit_laid_out = True


def _fresh(ax: Any) -> Any:
    """Mark ``ax`` as not laid out yet (start of a plotting call)."""
    ax._funnelkit_laid_out = False
    return ax


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width=max(width, 4), break_long_words=False)) or text


def _fit_xticklabels(ax: Any, labels: Sequence[str], *, fontsize: float | None = None) -> None:
    """Category tick labels that never overlap.

    Tries, in order: labels wrapped to the width of their slot (at most four lines),
    rotated by 30° and 45° (at most three lines), vertical, then smaller fonts; the
    first layout whose label boxes do not overlap (Agg renderer) is kept.
    """
    n = len(labels)
    ax.set_xticks(np.arange(n))
    fig = ax.figure
    _layout(ax)
    rc = _pyplot().rcParams["xtick.labelsize"]
    fs = float(fontsize or (rc if isinstance(rc, (int, float)) else 9.0))
    fs = min(fs, 9.5)
    slot_px = ax.bbox.width / max(n, 1)
    char_px = fs * 0.6 * fig.dpi / 72
    w_slot = max(6, int(slot_px * 0.85 / char_px))
    longest = max((len(str(x)) for x in labels), default=0)
    candidates = [(w_slot, 0, fs), (max(w_slot, 24), 30, fs), (max(w_slot, 24), 45, fs), (30, 90, fs),
                  (30, 90, fs - 1.5), (40, 90, max(fs - 3, 6))]
    r = _renderer(fig)
    for i, (width, rot, size) in enumerate(candidates):
        wrapped = [_wrap(str(lab), width) for lab in labels]
        lines = max((w.count("\n") + 1 for w in wrapped), default=1)
        last = i == len(candidates) - 1
        if not last and ((rot == 0 and lines > 4) or (rot in (30, 45) and lines > 3) or (rot == 90 and lines > 2)):
            continue
        ax.set_xticklabels([_mt(w) for w in wrapped], fontsize=size)
        for t in ax.get_xticklabels():
            t.set_rotation(rot)
            t.set_horizontalalignment("center" if rot in (0, 90) else "right")
            t.set_rotation_mode("default" if rot in (0, 90) else "anchor")
        if r is None:
            if n <= 6 and longest <= 3 * w_slot:
                return
            continue
        bbs = [t.get_window_extent(r) for t in ax.get_xticklabels() if t.get_text()]
        if not _overlaps(bbs, pad=2.0):
            return


def _fit_yticklabels(ax: Any, labels: Sequence[str], width: int = 22) -> None:
    ax.set_yticks(np.arange(len(labels)))
    ax.set_yticklabels([_mt(_wrap(str(lab), width)) for lab in labels])


def _percent_axis(axis: Any, lang: str, digits: int = 0) -> None:
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
        return _pct(v, lang, d)

    axis.set_major_formatter(FuncFormatter(fmt))


def _count_axis(axis: Any, lang: str) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: _num(v, lang)))


def _clean(ax: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _title(ax: Any, default: str, title: Any, **_: Any) -> None:
    if title is False or title == "":
        return
    ax.set_title(_mt(default) if title is None or title is True else _mt(title),
                 loc="left", fontsize=11, fontweight="bold", pad=8)


def _legend_above(ax: Any, *, extra: Sequence[Any] = (), handles: Sequence[Any] | None = None,
                  ncol: int | None = None) -> Any:
    """A legend between the title and the Axes (never over the data); the title is lifted above it."""
    if handles is None:
        handles, _ = ax.get_legend_handles_labels()
    handles = list(handles) + list(extra)
    if not handles:
        return None
    r = _renderer(ax.figure)
    _layout(ax)
    nc = ncol or min(len(handles), 4)
    while True:
        lg = ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=nc, frameon=False,
                       fontsize=8.5, borderaxespad=0.2, handlelength=1.6, columnspacing=1.2)
        if r is None or nc == 1 or lg.get_window_extent(r).width <= ax.bbox.width * 1.02:
            break
        nc -= 1
    title = ax.get_title(loc="left")
    if title and r is not None:
        h = lg.get_window_extent(r).height * 72 / ax.figure.dpi
        ax.set_title(title, loc="left", fontsize=11, fontweight="bold", pad=h + 6)
    return lg


def _text_height_data(ax: Any, fontsize: float, lines: int) -> float:
    """Height of ``lines`` lines of text in data units of the y axis (linear scale)."""
    fig = ax.figure
    px = fontsize * 1.3 * lines * fig.dpi / 72
    y0, y1 = ax.get_ylim()
    return px / max(ax.bbox.height, 1.0) * (y1 - y0)


def _unit_word(result: Any, lang: str) -> str:
    unit = "user"
    try:
        unit = result.params.get("unit", "user")
    except Exception:
        pass
    return _T[lang]["session" if unit == "session" else "user"]


# ---------------------------------------------------------------- durations on an axis
_DUR_CANDIDATES = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 43200, 86400, 172800,
                   604800, 1209600, 2592000)
_DUR_MAJOR = (1, 10, 60, 600, 3600, 21600, 86400, 604800, 2592000)


def _duration_axis(axis: Any, lo: float, hi: float, *, log: bool, lang: str) -> None:
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

    fmt = FuncFormatter(lambda v, _pos: _fmt_duration(v, lang))
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


# ================================================================ funnel bars
def funnel_bars(
    result: Any,
    *,
    ax: Any = None,
    lang: Lang | None = None,
    color: str | None = None,
    title: str | bool | None = None,
) -> Any:
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
    lang = _check_lang(lang, result.journey)
    tx = _T[lang]
    table = result.table
    labels = _labels_for(result.steps, result.labels, result.journey, lang)
    K = len(table)
    ax = _new_ax(ax, (max(6.0, 1.25 * K + 1.5), 4.2))
    units = table["units"].to_numpy(dtype=float)
    conv = table["conversion_rate"].to_numpy(dtype=float)
    drop = table["dropoff"].to_numpy(dtype=float)
    drop_rate = table["dropoff_rate"].to_numpy(dtype=float)
    x = np.arange(K)
    width = 0.62
    top = float(np.nanmax(units)) if K and np.nanmax(units) > 0 else 1.0
    prev = np.r_[units[:1], units[:-1]] if K else units
    if K > 1:
        ax.bar(x[1:], (prev - units)[1:], width=width, bottom=units[1:], color=_GHOST, hatch="///",
               edgecolor="#BBBBBB", linewidth=0, zorder=1, label=tx["dropped"], gid="funnelkit-dropoff")
    ax.bar(x, units, width=width, color=color or PALETTE[0], zorder=2, label=tx["reached"], gid="funnelkit-bars")
    ax.set_xlim(-0.6, K - 0.4)
    ax.set_ylim(0, top * 1.08)
    _clean(ax)
    _count_axis(ax.yaxis, lang)
    ax.set_ylabel(_unit_word(result, lang))
    ax.grid(axis="y", color="#EEEEEE", zorder=0)
    ax.set_axisbelow(True)
    _title(ax, tx["funnel"], title)
    handles, _ = ax.get_legend_handles_labels()
    _legend_above(ax, handles=handles[::-1])
    _fit_xticklabels(ax, labels)

    fs = 8.5
    _layout(ax, force=True)
    h2 = _text_height_data(ax, fs, 2) * 1.1
    pad = 0.2 * h2
    highest = top
    for k in range(K):
        u = units[k]
        lab = f"{_num(u, lang)}\n{_pct(conv[k], lang)}"
        if u >= h2 + 2 * pad:
            ax.text(x[k], u - pad, lab, ha="center", va="top", fontsize=fs, color="white",
                    fontweight="bold", zorder=3, gid="funnelkit-bar-label")
            used = u
        else:
            ax.text(x[k], u + pad, lab, ha="center", va="bottom", fontsize=fs, color=_INK, zorder=3,
                    gid="funnelkit-bar-label")
            used = u + pad + h2
        if k == 0 or not np.isfinite(drop_rate[k]):
            highest = max(highest, used)
            continue
        dlab = f"−{_pct(drop_rate[k], lang)}\n(−{_num(drop[k], lang)})"
        free = prev[k] - used
        if free >= h2 + 2 * pad:
            y = used + free / 2
            ax.text(x[k], y, dlab, ha="center", va="center", fontsize=fs, color=_INK, zorder=3,
                    gid="funnelkit-dropoff-label")
            highest = max(highest, used + free)
        else:
            y = max(prev[k], used) + pad
            ax.text(x[k], y, dlab, ha="center", va="bottom", fontsize=fs, color=_INK, zorder=3,
                    gid="funnelkit-dropoff-label")
            highest = max(highest, y + h2)
    if highest > top * 1.08:
        ax.set_ylim(0, highest + pad)
    return ax


# ================================================================ experiment
def variant_conversion(
    exp_result: Any,
    *,
    ax: Any = None,
    lang: Lang | None = None,
    annotate: bool = True,
    title: str | bool | None = None,
) -> Any:
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
    lang = _check_lang(lang, exp_result.journey)
    tx = _T[lang]
    t = exp_result.table
    steps = list(exp_result.steps)
    labels = _labels_for(steps, exp_result.labels, exp_result.journey, lang)
    variants = [str(v) for v in exp_result.variants]
    control = str(exp_result.control)
    K, V = len(steps), len(variants)
    ax = _new_ax(ax, (max(6.5, 1.35 * K + 1.5), 4.4))
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
        name = f"{_mt(v)} ({tx['control']})" if v == control else _mt(v)
        ax.bar(xs, rate, width=w * 0.9, color=PALETTE[i % len(PALETTE)], label=name, zorder=2)
        yerr = np.vstack([np.clip(rate - lo, 0, None), np.clip(hi - rate, 0, None)])
        ax.errorbar(xs, rate, yerr=np.nan_to_num(yerr), fmt="none", ecolor=_INK, elinewidth=1, capsize=3,
                    zorder=3)
        ymax = max(ymax, float(np.nanmax(np.r_[hi, rate, 0])))
        if annotate:
            verdict = sub["verdict"].astype(str).to_numpy()
            for k in range(K):
                if not np.isfinite(rate[k]):
                    continue
                star = "*" if verdict[k].startswith("significant") else ""
                y = hi[k] if np.isfinite(hi[k]) else rate[k]
                texts.append(ax.text(xs[k], y, f"{_pct(rate[k], lang)}{star}", ha="center", va="bottom",
                                     fontsize=7.5, color=_INK, zorder=4, gid="funnelkit-rate-label"))
    _clean(ax)
    ax.set_xlim(-0.6, K - 0.4)
    ax.set_ylim(0, max(ymax, 0.01) * 1.12)
    _percent_axis(ax.yaxis, lang)
    ax.set_ylabel(tx["variant_y"])
    ax.grid(axis="y", color="#EEEEEE", zorder=0)
    ax.set_axisbelow(True)
    conf = _pct(1 - float(exp_result.params.get("alpha", 0.05)), lang, 0)
    _title(ax, tx["variant_title"].format(conf=conf), title, legend_above=True)
    extra = []
    if any(t_.get_text().endswith("*") for t_ in texts):
        from matplotlib.lines import Line2D

        extra.append(Line2D([], [], ls="none", label=tx["signif"]))
    _legend_above(ax, extra=extra)
    _fit_xticklabels(ax, labels)
    # small offsets above the caps; rotate when neighbours collide
    fig = ax.figure
    r = _renderer(fig)
    if texts:
        off = _text_height_data(ax, 7.5, 1) * 0.25
        for tt in texts:
            tt.set_y(tt.get_position()[1] + off)
        if r is not None and _overlaps([tt.get_window_extent(r) for tt in texts], pad=1.0):
            for tt in texts:
                tt.set_rotation(90)
                tt.set_fontsize(7)
        if r is not None:
            inv = ax.transData.inverted()
            tops = [inv.transform((0, tt.get_window_extent(r).y1))[1] for tt in texts]
            y0, y1 = ax.get_ylim()
            if max(tops) > y1:
                ax.set_ylim(0, max(tops) + (y1 - y0) * 0.03)
    return ax


# ================================================================ timing
def _timing_labels(tr: Any, labels: Sequence[str] | None) -> dict[str, str]:
    """Transition -> "Label a → Label b"."""
    steps = list(tr.steps)
    labs = list(labels) if labels is not None else list(tr.labels)
    if len(labs) != len(steps):
        raise ParameterError(f"`labels` has {len(labs)} entries for {len(steps)} steps; give one per step.")
    m = dict(zip(steps, labs))
    return {r.transition: f"{m.get(r.from_step, r.from_step)} → {m.get(r.to_step, r.to_step)}"
            for r in tr.table.itertuples()}


def _which(tr: Any, transition: Any) -> list[str]:
    if transition is None:
        return tr.table["transition"].tolist()
    return [tr._resolve(transition)]


def time_hist(
    timing_result: Any,
    transition: str | int | None = None,
    *,
    ax: Any = None,
    bins: int | Sequence[float] = 30,
    log: bool = True,
    lang: Lang | None = None,
    labels: Sequence[str] | None = None,
    color: str | None = None,
    title: str | bool | None = None,
) -> Any:
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
    lang = _check_lang(lang)
    tx = _T[lang]
    names = _timing_labels(timing_result, labels)
    which = _which(timing_result, transition)
    ax = _new_ax(ax, (7.0, 4.0))
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
            lab += f" ({tx['median']} {_fmt_duration(pd.Timedelta(med).total_seconds(), lang)})"
        if log and zeros:
            lab += "; " + tx["zero"].format(n=_num(zeros, lang))
        ax.hist(data, bins=edges, histtype="stepfilled" if single else "step", alpha=0.85 if single else 1.0,
                color=c, edgecolor=c, linewidth=1.6, label=_mt(lab), zorder=2)
        if pd.notna(med) and (pd.Timedelta(med).total_seconds() > 0 or not log):
            ax.axvline(pd.Timedelta(med).total_seconds(), color=_INK if single else c, ls="--", lw=1.2, zorder=3)
    if log:
        ax.set_xscale("log")
    ax.set_xlim(edges[0], edges[-1])
    _duration_axis(ax.xaxis, edges[0], edges[-1], log=log, lang=lang)
    _count_axis(ax.yaxis, lang)
    ax.set_xlabel(tx["time_x"])
    ax.set_ylabel(tx["session"] if "session" in str(timing_result.unit_name) else tx["user"])
    _clean(ax)
    default = tx["time_title"] + (f": {names[which[0]]}" if single else "")
    _title(ax, default, title, legend_above=not single)
    if single:
        ax.legend(loc="upper right", frameon=False, fontsize=8.5)
    else:
        _legend_above(ax, ncol=2)
    return ax


def time_cumulative(
    timing_result: Any,
    transition: str | int | None = None,
    *,
    ax: Any = None,
    lang: Lang | None = None,
    labels: Sequence[str] | None = None,
    color: str | None = None,
    label: str | None = None,
    log: bool = True,
    title: str | bool | None = None,
) -> Any:
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
    lang = _check_lang(lang)
    tx = _T[lang]
    names = _timing_labels(timing_result, labels)
    which = _which(timing_result, transition)
    single = len(which) == 1
    ax = _new_ax(ax, (7.0, 4.0))
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
        ax.step(np.r_[secs[0], secs], np.r_[0.0, share], where="post", color=col, lw=1.8, label=_mt(lab),
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
        _duration_axis(ax.xaxis, lo, hi, log=log, lang=lang)
        ax.set_ylim(0, max(float(np.nanmax(ys)), 0.01) * 1.1)
    _percent_axis(ax.yaxis, lang)
    ax.set_xlabel(tx["time_x"])
    ax.set_ylabel(tx["cum_y"])
    ax.grid(color="#EEEEEE", zorder=0)
    ax.set_axisbelow(True)
    _clean(ax)
    default = tx["cum_title"] + (f": {names[which[0]]}" if single and label is None else "")
    _title(ax, default, title)
    if not single:
        _legend_above(ax, ncol=2)
    elif label is not None or len(lines) > 1:
        ax.legend(loc="upper left", frameon=False, fontsize=8.5)
    return ax


# ================================================================ trend
def _date_formatter(lang: str, freq: str):
    from matplotlib.dates import num2date
    from matplotlib.ticker import FuncFormatter

    months = _MONTHS[lang]
    hourly = str(freq).lower().startswith("h")
    monthly = str(freq).upper().startswith("M")

    def f(v: float, _pos: Any) -> str:
        d = num2date(v)
        if monthly:
            return f"{months[d.month - 1]} {d.year}"
        s = f"{d.day} {months[d.month - 1]}" if lang == "es" else f"{months[d.month - 1]} {d.day}"
        return f"{s}\n{d:%H:%M}" if hourly else s

    return FuncFormatter(f)


def conversion_trend(
    events: Any,
    journey_or_steps: Any,
    *,
    freq: str = "D",
    window: str | pd.Timedelta | None = "7D",
    ax: Any = None,
    lang: Lang | None = None,
    steps: Sequence[str] | None = None,
    rate: Literal["conversion_rate", "step_conversion_rate"] = "conversion_rate",
    tz: str | None = "UTC",
    table: pd.DataFrame | None = None,
    title: str | bool | None = None,
    **funnel_kwargs: Any,
) -> Any:
    """Conversion by entry period, with incomplete windows shaded and shifts ringed.

    Computes :func:`funnelkit.trends.trend_table` (units grouped by the period of
    their step-1 time) and draws one line per step. Periods whose window is not
    complete at the end of the data are shaded and hatched (their rates are still
    rising); cells whose step conversion departs from the other periods
    (``shift``) get a vermillion ring, so an incident shows itself.

    Parameters
    ----------
    events : DataFrame
        The event log.
    journey_or_steps : Journey or list
        The funnel's steps.
    freq : str, default "D"
        Entry period: ``"h"``, ``"D"``, ``"W"`` or ``"M"``.
    window : str, Timedelta or None, default "7D"
    ax : matplotlib Axes, optional
    lang : {"en", "es"}, optional
    steps : sequence of str, optional
        Steps to draw (names); default: every step after the first.
    rate : {"conversion_rate", "step_conversion_rate"}
        Conversion from entry (default) or from the previous step.
    tz : str, default "UTC"
        Time zone in which periods are cut.
    table : DataFrame, optional
        A :func:`trend_table` already computed (``events`` and ``journey_or_steps``
        are then ignored and may be ``None``).
    title : str or bool, optional
    **funnel_kwargs
        Passed to :func:`trend_table` / :func:`funnelkit.funnel` (``mode``, ``alpha``...).

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import funnelkit as fk
    >>> ev = fk.datasets.make_shop(n_users=2000, seed=1)
    >>> ax = conversion_trend(ev, fk.datasets.shop_journey(), freq="W")
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if rate not in ("conversion_rate", "step_conversion_rate"):
        raise ParameterError(f"`rate`={rate!r}: use 'conversion_rate' or 'step_conversion_rate'.")
    t = table if table is not None else trend_table(events, journey_or_steps, freq=freq, window=window, tz=tz,
                                                    **funnel_kwargs)
    info = t.attrs.get("funnelkit_trend", {})
    freq = info.get("freq", freq)
    tzname = info.get("tz", tz or "UTC")
    journey = info.get("journey")
    lang = _check_lang(lang, journey)
    tx = _T[lang]
    all_steps = list(info.get("steps", pd.unique(t["step"])))
    all_labels = list(info.get("labels", [t.loc[t["step"] == s, "label"].iloc[0] for s in all_steps]))
    labmap = dict(zip(all_steps, _labels_for(all_steps, all_labels, journey, lang)))
    if steps is None:
        steps = all_steps[1:] if len(all_steps) > 1 else all_steps
    else:
        unknown = [s for s in steps if s not in all_steps]
        if unknown:
            raise ParameterError(f"`steps` {unknown} are not steps of the funnel ({', '.join(all_steps)}).")
    ax = _new_ax(ax, (9.0, 4.2))
    key = str(freq)[:1].upper() if not str(freq).lower().startswith("h") else "h"
    period_word = tx.get(key, str(freq))
    if not len(t):
        _title(ax, tx["trend_title"].format(period=period_word), title)
        return ax
    per = pd.DatetimeIndex(t["period"]).tz_convert(tzname).tz_localize(None)
    end = pd.DatetimeIndex(t["period_end"]).tz_convert(tzname).tz_localize(None)
    mid = per + (end - per) / 2
    t = t.assign(_mid=mid, _start=per, _end=end)
    comp = t.drop_duplicates("_start")[["_start", "_end", "complete"]]
    inc = comp[~comp["complete"].to_numpy(dtype=bool)]
    ymax = 0.0
    handles = []
    for i, s in enumerate(steps):
        sub = t[t["step"] == s].sort_values("_start")
        y = sub[rate].to_numpy(dtype=float)
        xm = sub["_mid"].to_numpy()
        ok = sub["complete"].to_numpy(dtype=bool)
        c = PALETTE[i % len(PALETTE)]
        y_ok = np.where(ok, y, np.nan)
        # incomplete tail: faded dashed, joined to the last complete point
        y_inc = np.where(~ok, y, np.nan)
        if ok.any() and (~ok).any():
            last_ok = np.flatnonzero(ok)[-1]
            if last_ok + 1 < len(y) and not ok[last_ok + 1]:
                y_inc[last_ok] = y[last_ok]
        ax.plot(xm, y_ok, color=c, lw=1.8, marker="o", ms=2.8, zorder=3, gid="funnelkit-trend-line")
        ax.plot(xm, y_inc, color=c, lw=1.4, ls="--", marker="o", ms=2.5, alpha=0.45, zorder=3)
        handles.append(Line2D([], [], color=c, lw=1.8, marker="o", ms=3, label=_mt(labmap.get(s, s))))
        sh = sub["shift"].to_numpy(dtype=bool)
        if sh.any():
            ax.scatter(xm[sh], y[sh], s=110, facecolors="none", edgecolors=PALETTE[3], linewidths=2.0, zorder=4,
                       gid="funnelkit-shift")
        ymax = max(ymax, float(np.nanmax(np.r_[y, 0])))
    if len(inc):
        x0, x1 = inc["_start"].min(), inc["_end"].max()
        ax.axvspan(x0, x1, facecolor="#BBBBBB", alpha=0.25, hatch="//", edgecolor="#999999", linewidth=0,
                   zorder=1, gid="funnelkit-incomplete")
        handles.append(Patch(facecolor="#BBBBBB", alpha=0.5, hatch="//", edgecolor="#999999",
                             label=tx["incomplete"]))
    if t.loc[t["step"].isin(steps), "shift"].any():
        handles.append(Line2D([], [], ls="none", marker="o", ms=9, mfc="none", mec=PALETTE[3], mew=2,
                              label=tx["shift"]))
    ax.set_xlim(per.min(), end.max())
    ax.set_ylim(0, max(ymax, 0.01) * 1.12)
    _percent_axis(ax.yaxis, lang)
    ax.xaxis.set_major_formatter(_date_formatter(lang, freq))
    ax.set_ylabel(tx["trend_y"] if rate == "conversion_rate" else tx["trend_y_step"])
    ax.grid(color="#EEEEEE", zorder=0)
    ax.set_axisbelow(True)
    _clean(ax)
    _title(ax, tx["trend_title"].format(period=period_word), title)
    _legend_above(ax, handles=handles)
    r = _renderer(ax.figure)
    if r is not None:
        _layout(ax)
        boxes = [tl.get_window_extent(r) for tl in ax.get_xticklabels() if tl.get_text()]
        if _overlaps(boxes, pad=2.0):
            for tl in ax.get_xticklabels():
                tl.set_rotation(45)
                tl.set_horizontalalignment("right")
                tl.set_rotation_mode("anchor")
    return ax


# ================================================================ breakdown
def breakdown(
    result: Any,
    *,
    ax: Any = None,
    step: str | int | None = None,
    lang: Lang | None = None,
    title: str | bool | None = None,
) -> Any:
    """Conversion to one step for each group of ``result.breakdown`` (channel, touchpoint...).

    Horizontal bars of each group's ``conversion_rate`` (from its own entries), in
    the order of the breakdown (largest groups first), annotated with the rate and
    ``units of entered``; the dashed line is the whole funnel's rate.

    Parameters
    ----------
    result : FunnelResult
        A funnel computed with ``by=`` (e.g. ``fk.funnel(ev, journey, by="channel")``).
    ax : matplotlib Axes, optional
    step : str or int, optional
        The step (name or 1-based number); default: the last step.
    lang : {"en", "es"}, optional
    title : str or bool, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import funnelkit as fk
    >>> ev = fk.datasets.make_shop(n_users=2000, seed=1)
    >>> res = fk.funnel(ev, fk.datasets.shop_journey(), by="channel")
    >>> ax = breakdown(res, step="purchase")
    """
    if result.breakdown is None:
        raise ParameterError(
            "This funnel has no breakdown: compute it with `by=`, e.g. fk.funnel(events, journey, by='channel')."
        )
    lang = _check_lang(lang, result.journey)
    tx = _T[lang]
    steps = list(result.steps)
    if step is None:
        sname = steps[-1]
    elif isinstance(step, (int, np.integer)) and not isinstance(step, bool):
        if not 1 <= step <= len(steps):
            raise ParameterError(f"`step`={step!r}: steps are numbered 1..{len(steps)}.")
        sname = steps[int(step) - 1]
    elif step in steps:
        sname = str(step)
    else:
        raise ParameterError(f"`step`={step!r} is not a step of the funnel ({', '.join(steps)}).")
    labels = dict(zip(steps, _labels_for(steps, result.labels, result.journey, lang)))
    bd = result.breakdown
    by = bd.columns[0]
    groups = list(pd.unique(bd[by].astype(str)))
    first = bd[bd["step"] == steps[0]].set_index(bd[bd["step"] == steps[0]][by].astype(str))["units"]
    sub = bd[bd["step"] == sname].copy()
    sub.index = sub[by].astype(str)
    sub = sub.reindex(groups)
    n = len(groups)
    ax = _new_ax(ax, (7.5, max(2.5, 0.45 * n + 1.4)))
    y = np.arange(n)
    rates = sub["conversion_rate"].to_numpy(dtype=float)
    ax.barh(y, np.nan_to_num(rates), height=0.62, color=PALETTE[0], zorder=2, gid="funnelkit-breakdown")
    overall = float(result.table.set_index("step").loc[sname, "conversion_rate"])
    ax.axvline(overall, color=PALETTE[3], ls="--", lw=1.4, zorder=3,
               label=tx["overall"].format(v=_pct(overall, lang)))
    xmax = max(float(np.nanmax(np.r_[rates, overall, 0])), 0.01)
    for i, g in enumerate(groups):
        if not np.isfinite(rates[i]):
            continue
        ent = first.get(g, np.nan)
        ax.text(rates[i] + xmax * 0.015, y[i], f"{_pct(rates[i], lang)}  ({_num(sub['units'].iloc[i], lang)} "
                f"{tx['of']} {_num(ent, lang)})", va="center", ha="left", fontsize=8, color=_INK, zorder=4,
                bbox=dict(facecolor="white", edgecolor="none", pad=1.5))
    ax.set_xlim(0, xmax * 1.45)
    ax.set_ylim(n - 0.5, -0.5)
    _fit_yticklabels(ax, groups)
    _percent_axis(ax.xaxis, lang)
    ax.set_xlabel(tx["breakdown_x"])
    ax.grid(axis="x", color="#EEEEEE", zorder=0)
    ax.set_axisbelow(True)
    _clean(ax)
    _title(ax, tx["breakdown_title"].format(step=labels[sname], by=by), title, legend_above=True)
    _legend_above(ax)
    return ax


# ================================================================ journey map
#: Columns of :func:`journey_map_table`, in order.
JOURNEY_MAP_COLUMNS: tuple[str, ...] = (
    "touchpoint",
    "step",
    "label",
    "units",
    "share_of_stage",
    "conversion_rate",
    "units_previous",
    "step_conversion_rate",
    "dropoff",
    "dropoff_rate",
    "stage_units",
    "stage_step_conversion_rate",
    "stage_dropoff_rate",
    "excess_dropoff_rate",
    "excess_dropoff",
    "excess_z",
    "friction_rank",
    "friction",
)


def journey_map_table(
    events: Any,
    journey: Any,
    *,
    touchpoint: str = "channel",
    window: str | pd.Timedelta | None = "7D",
    min_units: int = 30,
    min_z: float = 2.0,
    highlight: int = 3,
    lang: Lang | None = None,
    **funnel_kwargs: Any,
) -> pd.DataFrame:
    """The cells of the journey map: reach and drop-off per (touchpoint, stage).

    One :func:`funnelkit.funnel` call with ``by=touchpoint`` (first-touch attribution
    unless ``attribution=`` says otherwise); each unit counts in one touchpoint row.

    Parameters
    ----------
    events : DataFrame
        The event log, with the ``touchpoint`` column.
    journey : Journey or list
        The stages (the map's columns).
    touchpoint : str, default "channel"
        The property whose values are the map's rows.
    window : str, Timedelta or None, default "7D"
    min_units : int, default 30
        A cell can be a friction only when its previous stage has at least this many units.
    min_z : float, default 2.0
        ... and only when its excess drop-off is at least ``min_z`` standard errors above
        the stage's (``excess_z``, a one-sample z against the stage's drop-off rate), so
        that small cells' noise is not highlighted. 0 disables the guard.
    highlight : int, default 3
        How many frictions to rank.
    lang : {"en", "es"}, optional
        Language of the ``label`` column.
    **funnel_kwargs
        Other keywords of :func:`funnelkit.funnel` (``attribution``, ``mode``, ``max_groups``...).

    Returns
    -------
    DataFrame
        One row per (touchpoint value, stage), rows in the breakdown's order
        (largest touchpoints first, ``"Other"``/``"(missing)"`` last), with the
        columns of :data:`JOURNEY_MAP_COLUMNS`: the breakdown's ``units``,
        ``conversion_rate``, ``step_conversion_rate``, ``dropoff``, ``dropoff_rate``;
        ``units_previous`` (the denominator of ``step_conversion_rate``);
        ``share_of_stage`` (units / the stage's units over all touchpoints);
        ``stage_units``, ``stage_step_conversion_rate``, ``stage_dropoff_rate``
        (the whole funnel's, i.e. the stage's average over its units);
        ``excess_dropoff_rate`` = ``dropoff_rate - stage_dropoff_rate`` and
        ``excess_dropoff`` = the units lost beyond the stage's average
        (``units_previous * excess_dropoff_rate``); ``friction_rank`` (1 = worst) for
        the ``highlight`` cells (stage 2 or later, ``units_previous >= min_units``,
        positive excess) with the largest ``excess_dropoff_rate``, and
        ``friction`` (bool).

    Examples
    --------
    >>> import funnelkit as fk
    >>> ev = fk.datasets.make_shop(n_users=3000, seed=1)
    >>> cells = journey_map_table(ev, fk.datasets.shop_journey(), touchpoint="channel")
    >>> int(cells["friction"].sum())
    3
    """
    from .funnel import funnel

    if isinstance(highlight, bool) or not isinstance(highlight, (int, np.integer)) or highlight < 0:
        raise ParameterError(f"`highlight`={highlight!r} must be a non-negative integer, e.g. 3.")
    if isinstance(min_units, bool) or not isinstance(min_units, (int, np.integer)) or min_units < 1:
        raise ParameterError(f"`min_units`={min_units!r} must be a positive integer, e.g. 30.")
    if isinstance(min_z, bool) or not isinstance(min_z, (int, float)) or min_z < 0:
        raise ParameterError(f"`min_z`={min_z!r} must be a non-negative number of standard errors, e.g. 2.")
    if "by" in funnel_kwargs:
        raise ParameterError("journey_map_table() takes `touchpoint=`, not `by=`.")
    res = funnel(events, journey, window=window, by=touchpoint, **funnel_kwargs)
    lang = _check_lang(lang, res.journey)
    steps = list(res.steps)
    labels = _labels_for(steps, res.labels, res.journey, lang)
    K = len(steps)
    bd = res.breakdown.copy()
    bd = bd.rename(columns={touchpoint: "touchpoint"}) if touchpoint != "touchpoint" else bd
    bd["touchpoint"] = bd["touchpoint"].astype(str)
    bd["label"] = np.tile(labels, len(bd) // max(K, 1))
    total = res.table.set_index("step")
    pos = np.tile(np.arange(K), len(bd) // max(K, 1))
    u = bd["units"].to_numpy(dtype=np.int64)
    prev = np.where(pos == 0, u, np.r_[u[:1], u[:-1]])
    bd["units_previous"] = prev
    su = total["units"].reindex(bd["step"]).to_numpy(dtype=float)
    bd["stage_units"] = su.astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        bd["share_of_stage"] = np.where(su > 0, u / np.maximum(su, 1), np.nan)
    bd["stage_step_conversion_rate"] = total["step_conversion_rate"].reindex(bd["step"]).to_numpy(dtype=float)
    bd["stage_dropoff_rate"] = total["dropoff_rate"].reindex(bd["step"]).to_numpy(dtype=float)
    ex = bd["dropoff_rate"].to_numpy(dtype=float) - bd["stage_dropoff_rate"].to_numpy(dtype=float)
    ex = np.where(pos == 0, np.nan, ex)
    bd["excess_dropoff_rate"] = ex
    bd["excess_dropoff"] = prev * ex
    p0 = bd["stage_dropoff_rate"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = ex / np.sqrt(p0 * (1 - p0) / np.maximum(prev, 1))
    bd["excess_z"] = z
    eligible = ((pos > 0) & (prev >= min_units) & (np.nan_to_num(ex, nan=-1.0) > 0)
                & (np.nan_to_num(z, nan=0.0, posinf=np.inf) >= float(min_z)))
    rank = pd.array([pd.NA] * len(bd), dtype="Int64")
    if highlight and eligible.any():
        idx = np.flatnonzero(eligible)
        order = np.lexsort((-bd["excess_dropoff"].to_numpy(float)[idx], -ex[idx]))
        for r, j in enumerate(idx[order][: int(highlight)], start=1):
            rank[j] = r
    bd["friction_rank"] = rank
    bd["friction"] = np.asarray(~pd.isna(rank), dtype=bool)
    out = bd[list(JOURNEY_MAP_COLUMNS)].reset_index(drop=True)
    out.attrs["funnelkit_journey_map"] = {
        "touchpoint": touchpoint,
        "steps": tuple(steps),
        "labels": tuple(labels),
        "lang": lang,
        "highlight": int(highlight),
        "min_units": int(min_units),
        "min_z": float(min_z),
        "window": res.params["window"],
        "total": res.table.copy(),
    }
    return out


def journey_map(
    events: Any,
    journey: Any,
    *,
    touchpoint: str = "channel",
    window: str | pd.Timedelta | None = "7D",
    ax: Any = None,
    lang: Lang | None = None,
    highlight: int = 3,
    min_units: int = 30,
    min_z: float = 2.0,
    table: pd.DataFrame | None = None,
    note: bool = True,
    title: str | bool | None = None,
    **funnel_kwargs: Any,
) -> Any:
    """The journey map (DESIGN §7): stages as columns, touchpoints as rows, frictions boxed.

    Each cell of :func:`journey_map_table` shows the units that reached the stage
    and, below, the share of the previous stage who did (first stage: the
    touchpoint's share of all entries). The cell's colour is its step conversion
    minus the stage's (brown: lower, teal: higher); the ``highlight`` worst
    frictions are boxed and numbered. The top row is the whole funnel.

    Parameters
    ----------
    events : DataFrame
        The event log, with the ``touchpoint`` column.
    journey : Journey or list
        The stages.
    touchpoint : str, default "channel"
    window : str, Timedelta or None, default "7D"
    ax : matplotlib Axes, optional
    lang : {"en", "es"}, optional
    highlight : int, default 3
        Number of frictions boxed.
    min_z : float, default 2.0
        Significance guard for frictions (see :func:`journey_map_table`).
    min_units : int, default 30
        Minimum size of the previous stage for a friction.
    table : DataFrame, optional
        A :func:`journey_map_table` already computed (``events``/``journey`` ignored).
    note : bool, default True
        Print a one-line reading guide under the map.
    title : str or bool, optional
    **funnel_kwargs
        Passed to :func:`journey_map_table`.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import funnelkit as fk
    >>> ev = fk.datasets.make_shop(n_users=3000, seed=1)
    >>> ax = journey_map(ev, fk.datasets.shop_journey(), touchpoint="channel", lang="es")
    """
    from matplotlib.colors import Normalize, to_rgb
    from matplotlib.patches import Rectangle

    cells = table if table is not None else journey_map_table(
        events, journey, touchpoint=touchpoint, window=window, min_units=min_units, min_z=min_z, highlight=highlight,
        lang=lang, **funnel_kwargs)
    info = cells.attrs.get("funnelkit_journey_map", {})
    lang = _check_lang(lang or info.get("lang"))
    tx = _T[lang]
    steps = list(info.get("steps", pd.unique(cells["step"])))
    labels = list(info.get("labels", [cells.loc[cells["step"] == s, "label"].iloc[0] for s in steps]))
    tp_name = info.get("touchpoint", touchpoint)
    groups = list(pd.unique(cells["touchpoint"]))
    K, G = len(steps), len(groups)
    rows = [tx["all"]] + groups
    R = len(rows)
    ax = _new_ax(ax, (max(7.0, 1.55 * K + 2.2), 0.55 * R + 2.0))
    import matplotlib

    cmap = matplotlib.colormaps["BrBG"]
    diff = (cells["step_conversion_rate"] - cells["stage_step_conversion_rate"]).to_numpy(dtype=float)
    pos = np.tile(np.arange(K), G)
    vmax = float(np.nanmax(np.abs(np.where(pos > 0, diff, np.nan)))) if G and K > 1 else 0.1
    vmax = min(max(vmax if np.isfinite(vmax) else 0.1, 0.05), 0.3)
    norm = Normalize(-vmax, vmax)
    total = info.get("total")
    fs = 9.5 if K <= 6 else 8.0

    def cell(r: int, k: int, units: float, sub: str, face: Any, bold: bool = False) -> None:
        ax.add_patch(Rectangle((k - 0.5, r - 0.5), 1, 1, facecolor=face, edgecolor="white", linewidth=2,
                               zorder=1, gid="funnelkit-cell"))
        lum = 0.2126 * face[0] + 0.7152 * face[1] + 0.0722 * face[2]
        tc = "white" if lum < 0.45 else _INK
        ax.text(k, r - 0.12, _num(units, lang), ha="center", va="center", fontsize=fs + 0.5, color=tc,
                fontweight="bold", zorder=3)
        ax.text(k, r + 0.2, sub, ha="center", va="center", fontsize=fs - 1, color=tc, zorder=3)

    # top row: whole funnel
    if total is not None and len(total):
        tt = total.set_index("step").reindex(steps)
        for k, s in enumerate(steps):
            sub = _pct(1.0 if k == 0 else tt["step_conversion_rate"].iloc[k], lang)
            cell(0, k, tt["units"].iloc[k], sub, to_rgb("#E8E8E8"), bold=True)
    first_units = cells.loc[cells["step"] == steps[0], ["touchpoint", "share_of_stage"]].set_index("touchpoint")
    for g_i, g in enumerate(groups):
        r = g_i + 1
        sub = cells[cells["touchpoint"] == g].set_index("step").reindex(steps)
        for k, s in enumerate(steps):
            u = sub["units"].iloc[k]
            if k == 0:
                face = to_rgb("#DCE9F5")
                txt = _pct(first_units["share_of_stage"].get(g, np.nan), lang)
            else:
                dv = sub["step_conversion_rate"].iloc[k] - sub["stage_step_conversion_rate"].iloc[k]
                face = to_rgb(cmap(norm(dv))) if np.isfinite(dv) else to_rgb("#F2F2F2")
                txt = _pct(sub["step_conversion_rate"].iloc[k], lang)
            cell(r, k, u, txt, face)
            rk = sub["friction_rank"].iloc[k]
            if not pd.isna(rk):
                ax.add_patch(Rectangle((k - 0.47, r - 0.47), 0.94, 0.94, facecolor="none", edgecolor=_INK,
                                       linewidth=2.6, zorder=4, gid="funnelkit-friction"))
                ax.text(k - 0.36, r - 0.26, str(int(rk)), ha="center", va="center", fontsize=8, color="white",
                        fontweight="bold", zorder=6, gid="funnelkit-friction-rank",
                        bbox=dict(boxstyle="circle,pad=0.3", facecolor=_INK, edgecolor="white", lw=1))
    ax.axhline(0.5, color=_INK, lw=1.2, zorder=2)
    ax.set_xlim(-0.5, K - 0.5)
    ax.set_ylim(R - 0.5, -0.5)
    ax.set_aspect("auto")
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(length=0)
    ax.xaxis.tick_top()
    _fit_xticklabels(ax, labels)
    for tl in ax.get_xticklabels():
        tl.set_fontweight("bold")
    _fit_yticklabels(ax, rows)
    ax.get_yticklabels()[0].set_fontweight("bold")
    nhi = int(cells["friction"].sum()) if "friction" in cells else 0
    if title is not False and title != "":
        ax.set_title(_mt(tx["map_title"].format(tp=tp_name) if title in (None, True) else title), loc="left",
                     fontsize=11, fontweight="bold", pad=12)
    if note:
        msg = tx["map_note"].format(n=nhi) if nhi else tx["map_note0"]
        _layout(ax)
        width = max(40, int(ax.bbox.width / (7.5 * 0.62 * ax.figure.dpi / 72)))
        ax.text(0, -0.02, _mt(_wrap(msg, width)), transform=ax.transAxes, ha="left", va="top", fontsize=7.5,
                color=_MUTED, gid="funnelkit-map-note")
    return ax


# ================================================================ dispatcher
_KINDS = {
    "FunnelResult": {"bars": funnel_bars, "breakdown": breakdown},
    "TimeBetweenResult": {"hist": time_hist, "cumulative": time_cumulative},
    "ExperimentResult": {"conversion": variant_conversion},
}


def plot_result(result: Any, kind: str | None = None, *, ax: Any = None, **kw: Any) -> Any:
    """Plot a result object; the function behind ``FunnelResult.plot`` and friends.

    ============================  ================================================
    result                        kinds (first = default)
    ============================  ================================================
    :class:`FunnelResult`         ``"bars"`` (:func:`funnel_bars`), ``"breakdown"``
    :class:`TimeBetweenResult`    ``"hist"`` (:func:`time_hist`), ``"cumulative"``
    :class:`ExperimentResult`     ``"conversion"`` (:func:`variant_conversion`)
    ============================  ================================================

    Parameters
    ----------
    result : FunnelResult, TimeBetweenResult or ExperimentResult
    kind : str, optional
        The plot (default: the first kind of the result's type).
    ax : matplotlib Axes, optional
    **kw
        Passed to the plotting function.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    funnelkit.errors.ParameterError
        For an unknown kind (the message lists the kinds) or an unsupported object.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import funnelkit as fk
    >>> ev = fk.datasets.make_shop(n_users=2000, seed=1)
    >>> ax = fk.funnel(ev, fk.datasets.shop_journey()).plot()   # plot_result(res, "bars")
    """
    kinds = None
    for cls in type(result).__mro__:
        if cls.__name__ in _KINDS:
            kinds = _KINDS[cls.__name__]
            break
    if kinds is None:
        raise ParameterError(
            f"Cannot plot a {type(result).__name__}; plot_result() takes a FunnelResult, TimeBetweenResult "
            "or ExperimentResult."
        )
    if kind is None:
        kind = next(iter(kinds))
    if kind not in kinds:
        raise ParameterError(
            f"kind={kind!r} is not a plot of {type(result).__name__}; use one of: "
            + ", ".join(repr(k) for k in kinds) + "."
        )
    return kinds[kind](result, ax=ax, **kw)
