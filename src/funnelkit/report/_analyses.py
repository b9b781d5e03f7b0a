"""The optional sections drawn from analyses passed to a report: the conversion trend, the
journey map, where the drop-outs went and what goes with dropping out, and retention.

A report never computes them: the caller passes ``trend=`` (a
:class:`~funnelkit.TrendResult`) and ``journey_map=`` (a
:class:`~funnelkit.JourneyMapResult`), computed on the same steps as the funnel or
experiment of the page; ``dropoff=`` / ``frictions=`` (a
:class:`~funnelkit.DropoffPathsResult` / :class:`~funnelkit.FrictionsResult` of one step
of the same funnel, usually the one with the largest drop-off); and ``retention=`` /
``loyalty=`` (a :class:`~funnelkit.RetentionResult` / :class:`~funnelkit.LoyaltyResult`
of the same log). Without them the page says how to add the trend and the map.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import pandas as pd

from .. import plotting
from ..errors import ParameterError
from ..plotting._inputs import MAKES, is_data, kind_of
from ._html import close, esc, fig_html, html_table, new_fig
from ._i18n import TEXT, column_label, date, dec, for_display, num, pct, pts, pval, short, step_labels, window_text

if TYPE_CHECKING:  # pragma: no cover
    from ..analyses.journey_map import JourneyMapResult
    from ..analyses.timing import TimeBetweenResult
    from ..analyses.trends import TrendResult

__all__ = ["analyses_sections", "check_analyses", "data_range", "time_between_of"]


def check_analyses(result: Any, trend: Any, journey_map: Any, *, dropoff: Any = None, frictions: Any = None,
                   retention: Any = None, loyalty: Any = None) -> None:
    """Refuse an analysis that is not the right result, or (trend, map) not on the page's steps."""
    for name, obj, kind in (("dropoff", dropoff, "DropoffPathsResult"), ("frictions", frictions, "FrictionsResult"),
                            ("retention", retention, "RetentionResult"), ("loyalty", loyalty, "LoyaltyResult")):
        if obj is not None and kind_of(obj) != kind:
            got = type(obj).__name__
            what = "an event log" if is_data(obj) else f"{'an' if got[:1] in 'AEIOU' else 'a'} {got}"
            raise ParameterError(f"`{name}=` takes a {kind}, not {what}: pass {name}={MAKES[kind]} — reports "
                                 "take results, not event logs.")
    if frictions is not None and dropoff is None:
        raise ParameterError("`frictions=` is shown beside `dropoff=` (where the drop-outs of that step went): "
                             "pass both, computed for the same step.")
    for name, obj, kind in (("trend", trend, "TrendResult"), ("journey_map", journey_map, "JourneyMapResult")):
        if obj is None:
            continue
        if kind_of(obj) != kind:
            got = type(obj).__name__
            what = "an event log" if is_data(obj) else f"{'an' if got[:1] in 'AEIOU' else 'a'} {got}"
            raise ParameterError(f"`{name}=` takes a {kind}, not {what}: pass {name}={MAKES[kind]} — reports "
                                 "take results, not event logs.")
        if tuple(obj.steps) != tuple(result.steps):
            raise ParameterError(
                f"`{name}=` was computed on the steps {list(obj.steps)}, the report's result on "
                f"{list(result.steps)}: compute both on the same journey.")


def time_between_of(result: Any) -> TimeBetweenResult | None:
    """The time between the steps of a funnel result (its own method: no event log), ``None`` if it has none."""
    try:
        return result.time_between()
    except Exception:  # pragma: no cover - a funnel with one step has no transition
        return None


def data_range(trend: TrendResult | None) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last event of the log the trend was computed on (``None`` without a trend)."""
    if trend is None:
        return None
    start, end = trend.params.get("data_start"), trend.params.get("data_end")
    if start is None or end is None or pd.isna(start) or pd.isna(end):
        return None
    return pd.Timestamp(start), pd.Timestamp(end)


def analyses_sections(result: Any, *, trend: TrendResult | None, journey_map: JourneyMapResult | None,
                      lang: str, tx: dict[str, str], column_labels: Any = None, dropoff: Any = None,
                      frictions: Any = None, retention: Any = None, loyalty: Any = None) -> list[str]:
    """The trend and journey-map sections (HTML), or a note saying how to add them.

    ``column_labels`` (``{"channel": "canal"}`` or ``{"channel": {"en": ..., "es": ...}}``)
    names the journey map's touchpoint column in headings and figures
    (:func:`~funnelkit.report._i18n.column_label`: common columns have built-in words).
    Long labels and values are cut with an ellipsis in figures and these tables.
    """
    out: list[str] = []
    if trend is None and journey_map is None:
        out.append(f"<p class='note'>{esc(tx['no_analyses'])}</p>")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if trend is not None:
            out.append(_trend_section(trend, lang=lang, tx=tx))
        if journey_map is not None:
            out.append(_map_section(journey_map, lang=lang, tx=tx, column_labels=column_labels))
        if dropoff is not None:
            from ._paths import dropoff_section

            out.append(dropoff_section(dropoff, frictions, lang=lang))
        if retention is not None:
            from ._retention import retention_section

            out.append(retention_section(retention, loyalty, lang=lang))
        elif loyalty is not None:
            from ._retention import loyalty_section

            out.append(loyalty_section(loyalty, lang=lang))
    return out


def _trend_section(trend: TrendResult, *, lang: str, tx: dict[str, str]) -> str:
    params = trend.params
    freq = str(params.get("freq", "D"))
    key = "H" if freq.lower().startswith("h") else freq[:1].upper()
    period = tx.get(key, freq)
    fig = new_fig(10, 4.4)
    plotting.conversion_trend(for_display(trend, lang), ax=fig.add_subplot(), lang=lang)
    win = window_text(params.get("window"), tx, lang)
    alpha = dec(params.get("alpha", 0.01), 2, lang)
    # issue 11: a user counts in every period in which it starts an attempt; thin periods are greyed
    extra = {"en": " A user counts in every period in which it starts an attempt (as PostHog's funnel trends); "
                   "hollow grey markers: fewer than {n} entries, too few to read.",
             "es": " Un usuario cuenta en cada periodo en que empieza un intento (como las tendencias de embudo "
                   "de PostHog); marcadores grises huecos: menos de {n} entradas, demasiado pocas para leerlas."}
    note = tx["trend_note"].format(period=period, window=win, alpha=alpha)
    note += extra.get(lang, extra["en"]).format(n=num(params.get("min_entries", 30), lang))
    out = [f"<h2 id='trend'>{esc(tx['trend'])}</h2>",
           fig_html(fig, tx["trend_alt"].format(period=period), note)]
    close(fig)
    table = trend.table
    shifts = table[table["shift"].to_numpy(dtype=bool)] if len(table) else table
    out.append(f"<h3>{esc(tx['shifts'])}</h3>")
    if not len(shifts):
        out.append(f"<p class='note'>{esc(tx['no_shift'])}</p>")
    else:
        labmap = dict(zip(trend.steps, step_labels(trend, lang)))
        rows = []
        for r in shifts.itertuples():
            per = pd.Timestamp(r.period)
            rows.append([esc(date(per, lang) + (f" {per:%H:%M}" if key == "H" else "")),
                         esc(short(labmap.get(r.step, r.label))), pct(r.step_conversion_rate, lang),
                         pct(r.expected_step_rate, lang), num(r.units_previous, lang), pval(r.p_adjusted, lang)])
        out.append(html_table([tx["col_period"], tx["col_stage"], tx["col_step_conv"], tx["col_expected"],
                               tx["col_prev"], tx["col_p"]], rows, left=2))
    return "".join(out)


def _map_section(jm: JourneyMapResult, *, lang: str, tx: dict[str, str], column_labels: Any = None) -> str:
    touchpoint = str(jm.params.get("touchpoint", "touchpoint"))
    tp = short(column_label(touchpoint, lang, column_labels))
    K = len(jm.steps) or 1
    G = len(jm.touchpoints)
    fig = new_fig(max(8.5, 1.7 * K + 2.5), 0.58 * (G + 1) + 1.9)
    title = tx.get("map_title", TEXT[lang]["map_title"]).format(tp=tp)
    plotting.journey_map(for_display(jm, lang), ax=fig.add_subplot(), lang=lang, note=False, title=title)
    out = [f"<h2 id='journey-map'>{esc(tx['journey_map'])}</h2>",
           fig_html(fig, tx["map_alt"].format(tp=tp),
                    tx["map_note"].format(tp=tp, n=jm.params.get("min_units", 30)) + " " + tx["map_colour"])]
    close(fig)
    fr = jm.frictions
    if len(fr):
        labmap = dict(zip(jm.steps, step_labels(jm, lang)))
        out.append(f"<h3>{esc(tx['frictions'])}</h3>")
        rows = [[str(int(r.friction_rank)), esc(short(r.touchpoint)), esc(short(labmap.get(r.step, r.label))),
                 pct(r.step_conversion_rate, lang), pct(r.stage_step_conversion_rate, lang),
                 pts(r.excess_dropoff_rate, lang), num(r.excess_dropoff, lang)] for r in fr.itertuples()]
        out.append(html_table([tx["col_rank"], tx["col_touchpoint"], tx["col_stage"], tx["col_step_conv"],
                               tx["col_stage_avg"], tx["col_excess"], tx["col_lost"]], rows, left=3))
    return "".join(out)
