"""Report sections on drop-outs (en/es): where the drop-outs went, and what goes with dropping out.

The funnel and experiment reports add these for the step with the largest drop-off.
They take results and compute nothing: :func:`largest_dropoff_step` reads the funnel's
table, the caller computes :func:`funnelkit.analyses.paths.dropoff_paths` and
:func:`funnelkit.analyses.frictions.frictions` for that step and passes them here.

>>> import funnelkit as fk
>>> from funnelkit.analyses.paths import dropoff_paths
>>> from funnelkit.analyses.frictions import frictions
>>> ev = fk.load_sample("shop")
>>> ev = ev[ev["user_id"] < 1500]
>>> res = fk.funnel(ev, ["landing", "product_view", "purchase"], window="7D")
>>> k = largest_dropoff_step(res)
>>> html = dropoff_section(dropoff_paths(ev, res, step=k), frictions(ev, res, step=k), lang="es")
>>> "¿Adónde fueron" in html and "asociación, no causa" in html
True
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ..errors import ParameterError
from ._html import close, esc, fig_html, html_table, new_fig
from ._i18n import num, pct, pval

__all__ = ["TEXT", "dropoff_section", "largest_dropoff_step"]

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Where the drop-outs went",
        "intro": "Of the {n} units that reached “{step}” but not “{next}”, what they did next "
                 "(within the funnel's window), beside the {c} units that went on to “{next}”.",
        "path": "Next events", "dropped": "Dropped out", "converted": "Converted", "diff": "Difference",
        "fr_title": "What goes with dropping out",
        "fr_intro": "Events and property values seen by the units that reached “{step}”, and how their "
                    "conversion to “{next}” differs with and without them: odds ratio (95% CI), p-value "
                    "adjusted by Benjamini–Hochberg over {m} candidates. This is an association, not a cause: "
                    "a signal points where to look, an experiment tells what works.",
        "candidate": "Candidate", "units": "Units", "with": "Conversion with", "without": "without",
        "or": "Odds ratio (95% CI)", "p": "Adjusted p", "none": "No candidate is significant at the 5% level.",
        "alt": "Odds ratios of converting with vs without each candidate",
    },
    "es": {
        "title": "¿Adónde fueron quienes abandonaron?",
        "intro": "De las {n} unidades que llegaron a «{step}» pero no a «{next}», qué hicieron después "
                 "(dentro de la ventana del embudo), junto a las {c} que siguieron hasta «{next}».",
        "path": "Eventos siguientes", "dropped": "Abandonaron", "converted": "Convirtieron", "diff": "Diferencia",
        "fr_title": "Qué acompaña al abandono",
        "fr_intro": "Eventos y valores de propiedades vistos por las unidades que llegaron a «{step}», y cómo "
                    "cambia su conversión a «{next}» con y sin ellos: razón de momios (IC 95 %), valor p "
                    "ajustado por Benjamini–Hochberg sobre {m} candidatos. Es una asociación, no causa: "
                    "una señal indica dónde mirar; un experimento dice qué funciona.",
        "candidate": "Candidato", "units": "Unidades", "with": "Conversión con", "without": "sin",
        "or": "Razón de momios (IC 95 %)", "p": "p ajustado", "none": "Ningún candidato es significativo al 5 %.",
        "alt": "Razones de momios de convertir con y sin cada candidato",
    },
}


def largest_dropoff_step(result: Any) -> int:
    """The 1-based step whose units drop out most before the next step (by units; ties:
    the earlier step). The step to pass to ``dropoff_paths`` / ``frictions``."""
    t = result.table
    if len(t) < 2:
        raise ParameterError("The funnel has a single step: there is no drop-off between steps.")
    drop = t["dropoff"].to_numpy()[1:].astype(float)
    return int(np.argmax(drop)) + 1


def _dec(v: float, lang: str) -> str:
    if v is None or not np.isfinite(v):
        return "–"
    s = f"{v:.2f}"
    return s.replace(".", ",") if lang == "es" else s


def dropoff_section(dropoff: Any, frictions: Any = None, *, lang: Literal["en", "es"] = "en",
                    top: int = 8, chart: bool = True) -> str:
    """The HTML of both sections: the drop-outs' next paths, then (with ``frictions``) the
    candidates that go with dropping out.

    Parameters
    ----------
    dropoff : DropoffPathsResult
        ``dropoff_paths(events, result, step=k)`` (``direction="after"``).
    frictions : FrictionsResult, optional
        ``frictions(events, result, step=k, ...)`` for the same step.
    lang : {"en", "es"}
    top : int
        Rows of each table.
    chart : bool
        Embed the frictions chart.
    """
    if lang not in TEXT:
        raise ParameterError(f"`lang`={lang!r} is not supported; use 'en' or 'es'.")
    if not hasattr(dropoff, "table") or "dropped_units" not in getattr(dropoff, "table", {}):
        raise ParameterError("`dropoff` must be a DropoffPathsResult (funnelkit.dropoff_paths(...)).")
    tx = TEXT[lang]
    p = dropoff.params
    t = dropoff.table
    n_d = int(t["dropped_total"].iloc[0]) if len(t) else 0
    n_c = int(t["converted_total"].iloc[0]) if len(t) else 0
    rows = []
    for r in t.head(top).itertuples():
        rows.append([esc(r.path), f"{num(r.dropped_units, lang)} ({pct(r.dropped_share, lang)})",
                     f"{num(r.converted_units, lang)} ({pct(r.converted_share, lang)})",
                     pct(r.share_difference, lang, sign=True)])
    out = [f"<h2 id='dropoff-paths'>{esc(tx['title'])}</h2>",
           f"<p>{esc(tx['intro'].format(n=num(n_d, lang), step=p['step'], next=p['next_step'], c=num(n_c, lang)))}</p>",
           html_table([tx["path"], tx["dropped"], tx["converted"], tx["diff"]], rows, wrap=(0,))]
    if frictions is not None:
        if not hasattr(frictions, "strongest"):
            raise ParameterError("`frictions` must be a FrictionsResult (funnelkit.frictions(...)).")
        fp = frictions.params
        if fp.get("step") != p["step"]:
            raise ParameterError(f"`frictions` is for step {fp.get('step')!r}, the drop-off paths for {p['step']!r}: "
                                 "compute both for the same step.")
        ft = frictions.table
        out.append(f"<h2 id='frictions'>{esc(tx['fr_title'])}</h2>")
        out.append(f"<p>{esc(tx['fr_intro'].format(step=fp['step'], next=fp['next_step'], m=len(ft)))}</p>")
        sig = ft[ft["significant"]]
        if not len(sig):
            out.append(f"<p>{esc(tx['none'])}</p>")
        frows = []
        for r in ft.head(top).itertuples():
            frows.append([esc(r.candidate), num(r.units_with, lang),
                          f"{pct(r.conversion_rate_with, lang)} / {pct(r.conversion_rate_without, lang)}",
                          f"{_dec(r.odds_ratio, lang)} ({_dec(r.ci_low, lang)}–{_dec(r.ci_high, lang)})",
                          pval(r.p_adjusted, lang)])
        out.append(html_table([tx["candidate"], tx["units"], f"{tx['with']} / {tx['without']}", tx["or"], tx["p"]],
                              frows, wrap=(0,)))
        if chart and len(ft):
            from ..plotting.paths import frictions_chart

            fig = new_fig(8, 0.42 * min(len(ft), 12) + 1.8)
            frictions_chart(frictions, ax=fig.add_subplot(), lang=lang, title=False)
            out.append(fig_html(fig, tx["alt"]))
            close(fig)
    return "\n".join(out)
