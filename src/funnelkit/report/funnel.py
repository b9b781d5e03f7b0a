"""The funnel report: one self-contained HTML page of a :class:`~funnelkit.FunnelResult`.

The page has the design, the step table, the funnel bars, the breakdown (with
``by=``), the time between stages and, when given, the conversion trend
(``trend=``) and the journey map (``journey_map=``).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .. import plotting
from ..plotting._inputs import require
from ._analyses import analyses_sections, check_analyses, data_range, time_between_of
from ._html import cards, check_out_path, close, dl, esc, fig_html, html_table, new_fig, page, version
from ._i18n import TEXT, check_lang, column_label, date, dur, for_display, num, pct, short, step_labels, window_text
from ._stages import stages_table

if TYPE_CHECKING:  # pragma: no cover
    from ..analyses.funnel import FunnelResult
    from ..analyses.journey_map import JourneyMapResult
    from ..analyses.trends import TrendResult

__all__ = ["funnel_report"]


def funnel_report(
    result: FunnelResult,
    path: str | Path,
    *,
    lang: Literal["en", "es"] | None = None,
    trend: TrendResult | None = None,
    journey_map: JourneyMapResult | None = None,
    title: str | None = None,
    column_labels: dict[str, Any] | None = None,
    dropoff: Any = None,
    frictions: Any = None,
    retention: Any = None,
    loyalty: Any = None,
) -> Path:
    """Write a self-contained HTML page of a funnel.

    Parameters
    ----------
    result : FunnelResult
        The result of :func:`funnelkit.funnel`.
    path : str or Path
        The HTML file to write.
    lang : {"en", "es"}, optional
        Language of the page and of the stage labels (default: the journey's).
    trend : TrendResult, optional
        The conversion trend of the same funnel (``fk.trends.trend(events, journey,
        window=...)``): adds the trend figure (incomplete windows and shifts flagged),
        the table of shifts, and the data's date range under the title.
    journey_map : JourneyMapResult, optional
        The journey map of the same stages (``journey_map(events, journey,
        touchpoint="channel")`` from :mod:`funnelkit.analyses.journey_map`): adds the map and
        its top frictions.
    title : str, optional
        The page title (default: "Funnel report" / "Informe del embudo").
    dropoff, frictions : DropoffPathsResult, FrictionsResult, optional
        Where the units that stopped at a step went next, beside converters
        (``fk.dropoff_paths(events, result, step=k)``), and what goes with dropping out
        there (``fk.frictions(events, result, step=k)``; association, not cause): adds
        that section (usually for the step with the largest drop-off,
        ``funnelkit.report._paths.largest_dropoff_step(result)``).
    retention, loyalty : RetentionResult, LoyaltyResult, optional
        Who comes back (``fk.retention(events, period="W")``) and repeat purchase
        (``fk.loyalty(events, event="purchase")``): adds the retention section.
    column_labels : dict, optional
        How headings and figures name property columns (``by=``, the journey map's
        touchpoint): ``{"channel": "canal"}``, or ``{"channel": {"en": "channel", "es":
        "canal"}}``. Common columns (channel, device, country, campaign...) have built-in
        words in both languages; other columns show their name.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ParameterError
        ``path`` cannot be written (its directory does not exist, it is a directory, no
        permission): checked before any figure is drawn.

    Notes
    -----
    Labels longer than 60 characters (event names used as step labels, property values)
    are cut with an ellipsis in figures, summary cards and tables; the table of the
    journey's stages shows them in full.

    Examples
    --------
    >>> import funnelkit as fk, tempfile, pathlib
    >>> ev = fk.datasets.make_shop(n_users=2000, seed=1)
    >>> res = fk.funnel(ev, fk.datasets.shop_journey(), window="7D")
    >>> tr = fk.trends.trend(ev, fk.datasets.shop_journey(), window="7D")
    >>> out = funnel_report(res, pathlib.Path(tempfile.mkdtemp()) / "funnel.html", lang="es", trend=tr)
    >>> text = out.read_text(encoding="utf-8")
    >>> "Descubrimiento" in text, "Tendencia de la conversión" in text
    (True, True)
    """
    require(result, "FunnelResult", func="funnel_report", who="reports")
    out = check_out_path(path, func="funnel_report")  # before any work
    check_analyses(result, trend, journey_map, dropoff=dropoff, frictions=frictions, retention=retention,
                   loyalty=loyalty)
    lang = check_lang(lang or getattr(result.journey, "lang", None) or "en")
    tx = TEXT[lang]
    p = result.params
    full_labels = step_labels(result, lang)
    labels = [short(x) for x in full_labels]  # figures, cards and tables; the stages table has them in full
    shown = for_display(result, lang)
    table = result.table
    name = getattr(result.journey, "name", None)
    head_title = title or tx["title"]
    parts = ["<header class='top'>", f"<h1>{esc(head_title)}</h1>"]
    sub = [" → ".join(labels)]
    if name:
        sub.insert(0, tx["journey_named"].format(name=name))
    rng = data_range(trend)
    if rng:
        sub.append(f"{tx['period']}: {date(rng[0], lang)} – {date(rng[1], lang)}")
    parts.append(f"<p class='sub'>{esc(' · '.join(sub))}</p></header>")

    # summary --------------------------------------------------------------------------
    entered = int(table["units"].iloc[0]) if len(table) else 0
    last = table.iloc[-1] if len(table) else None
    worst = None
    if len(table) > 1:
        k = int(np.nanargmax(table["dropoff_rate"].to_numpy(dtype=float)[1:])) + 1
        worst = (labels[k], table["dropoff_rate"].iloc[k])
    summary = [(tx["col_units"], num(entered, lang), ""),
             (f"{tx['col_conversion']}: {labels[-1]}" if len(labels) else tx["col_conversion"],
              pct(last["conversion_rate"], lang) if last is not None else "–", "")]
    if worst:
        summary.append((f"{tx['col_dropoff_rate']}: {worst[0]}", pct(worst[1], lang), "warning"))
    summary.append((tx["window"], esc(window_text(p["window"], tx, lang)), ""))
    parts.append(f"<h2 id='summary'>{esc(tx['summary'])}</h2>")
    parts.append(cards(summary))

    # design ---------------------------------------------------------------------------
    parts.append(f"<h2 id='design'>{esc(tx['design'])}</h2>")
    items = [(tx["window"], esc(window_text(p["window"], tx, lang)) + (
        "" if p["window"] is None else f" ({esc(tx['window_from_' + p['window_from']])})")),
             (tx["mode"], esc(tx.get("mode_" + p["mode"], p["mode"]))),
             (tx["unit"], esc(tx.get("unit_" + p["unit"], p["unit"])))]
    if p.get("exclude"):
        items.append((tx["exclusions"], esc("; ".join(map(str, p["exclude"])))))
    by_label = short(column_label(p["by"], lang, column_labels)) if p.get("by") else ""
    if p.get("by"):
        att = str(p.get("attribution", ""))
        att_txt = tx.get("att_" + att, att)
        if att.startswith("step:"):
            att_txt = tx["att_step"].format(n=att.split(":", 1)[1])
        items.append((tx["breakdown"].format(by=by_label), esc(att_txt)))
    parts.append(dl(items))
    parts.append(f"<h3>{esc(tx['stages'])}</h3>")
    parts.append(stages_table(result, lang, tx))

    # table ----------------------------------------------------------------------------
    parts.append(f"<h2 id='table'>{esc(tx['table'])}</h2>")
    notes = [tx["entered"].format(n=num(entered, lang))]
    if result.diagnostics.get("units_excluded"):
        notes.append(tx["excluded"].format(n=num(result.diagnostics["units_excluded"], lang)))
    if result.censored is not None and int(result.censored["censored"].sum()):
        notes.append(tx["censored"].format(n=num(int(result.censored["censored"].sum()), lang)))
    rows = []
    for i, r in enumerate(table.itertuples()):
        rows.append([f"<b>{esc(labels[i])}</b>", num(r.units, lang), pct(r.conversion_rate, lang),
                     pct(r.step_conversion_rate, lang) if i else "–", num(r.dropoff, lang) if i else "–",
                     pct(r.dropoff_rate, lang) if i else "–", dur(r.median_time_from_previous, lang)])
    parts.append(html_table([tx["col_step"], tx["col_units"], tx["col_conversion"], tx["col_step_rate"],
                             tx["col_dropoff"], tx["col_dropoff_rate"], tx["col_median_prev"]], rows))
    parts.append("".join(f"<p class='note'>{esc(n)}</p>" for n in notes))

    # figures ----------------------------------------------------------------------------
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = new_fig(max(7.5, 1.5 * len(table) + 2), 4.6)
        plotting.funnel_bars(shown, ax=fig.add_subplot(), lang=lang)
        parts.append(fig_html(fig, tx["fig_bars_alt"].format(stages=", ".join(labels))))
        close(fig)
        if result.breakdown is not None:
            groups = result.breakdown.iloc[:, 0].nunique()
            parts.append(f"<h2 id='breakdown'>{esc(tx['breakdown'].format(by=by_label))}</h2>")
            fig = new_fig(9, max(2.8, 0.45 * groups + 1.6))
            plotting.breakdown(shown, ax=fig.add_subplot(), lang=lang,
                               title=tx["breakdown_title"].format(step=labels[-1], by=by_label))
            parts.append(fig_html(fig, tx["breakdown_alt"].format(by=by_label)))
            close(fig)
        tb = time_between_of(result) if len(table) > 1 else None
        if tb is not None and len(tb.table):
            parts.append(f"<h2 id='time'>{esc(tx['time_between'])}</h2>")
            fig = new_fig(10, 4.4)
            plotting.time_hist(for_display(tb, lang), ax=fig.add_subplot(), lang=lang, labels=labels)
            parts.append(fig_html(fig, tx["time_alt"]))
            close(fig)
            fig = new_fig(10, 4.4)
            plotting.time_cumulative(for_display(tb, lang), ax=fig.add_subplot(), lang=lang, labels=labels)
            parts.append(fig_html(fig, tx["time_alt"], tx["time_note"]))
            close(fig)
            trows = []
            lab = dict(zip(result.steps, labels))
            for r in tb.table.itertuples():
                trows.append([esc(f"{lab.get(r.from_step, r.from_step)} → {lab.get(r.to_step, r.to_step)}"),
                              num(r.units_from, lang), num(r.units, lang), pct(r.rate, lang),
                              dur(getattr(r, "p25", None), lang), dur(getattr(r, "median", None), lang),
                              dur(getattr(r, "p75", None), lang), dur(getattr(r, "p90", None), lang)])
            parts.append(html_table([tx["col_transition"], tx["col_from"], tx["col_units"], tx["col_conv"],
                                     tx["col_p25"], tx["col_median"], tx["col_p75"], tx["col_p90"]], trows))
    parts.extend(analyses_sections(result, trend=trend, journey_map=journey_map, lang=lang, tx=tx,
                                   column_labels=column_labels, dropoff=dropoff, frictions=frictions,
                                   retention=retention, loyalty=loyalty))
    parts.append(f"<footer>{esc(tx['footer'].format(version=version()))}</footer>")
    out.write_text(page(head_title, "".join(parts), lang=lang), encoding="utf-8")
    return out

