"""The retention section of the funnel and experiment reports, in English and Spanish.

:func:`retention_section` takes a :class:`~funnelkit.analyses.retention.RetentionResult`
(and optionally a :class:`~funnelkit.analyses.retention.LoyaltyResult`) and returns a
self-contained HTML fragment (``<section>``): the curve table from complete cells, the
retention triangle and the curves as embedded figures, the variant comparison when the
result has one, and the repeat rate and time to the n-th purchase. The report modules
call it and append the string; nothing here computes an analysis.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._html import close, esc, fig_html, html_table, new_fig

__all__ = ["TEXT", "loyalty_section", "retention_section"]

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Retention: who comes back",
        "intro": ("Of the {unit}s who started in each cohort ({cohort_period}), the share who returned in each "
                  "period after the start ({kind}, period {period}). The curve sums complete cells only: a cell "
                  "whose period had not ended by {until} is censored (hatched), not a drop."),
        "period": "Period", "cohorts": "Complete cohorts", "size": "Units", "retained": "Returned",
        "rate": "Retention", "ci": "95% CI", "group": "Group",
        "cmp_title": "Retention by variant (against {control})",
        "cmp_intro": ("Difference of retention per period (Welch), p-values adjusted with {correction} across every "
                      "period and variant."),
        "variant": "Variant", "diff": "Difference", "p": "p (adjusted)",
        "triangle_alt": "Retention triangle: cohorts by period since start, censored cells hatched",
        "curve_alt": "Retention curves with 95% confidence bands",
        "loy_title": "Loyalty: repeat purchases",
        "loy_intro": ("Repeat rate: of the buyers whose {within} horizon had elapsed, the share who bought again "
                      "within it. Time to occurrence {nth}: Kaplan–Meier, units without it censored at the end of "
                      "the data."),
        "buyers": "Buyers", "eligible": "Eligible", "repeaters": "Repeated", "repeat": "Repeat rate",
        "median": "Median days to occurrence {nth}", "never": "not reached",
        "logrank": "Log-rank test across groups: χ² = {stat}, p = {p}.",
        "km_alt": "Kaplan–Meier curve of the time to the n-th occurrence",
        "n_period": "N-period", "unbounded": "unbounded", "bracket": "bracketed",
        "user": "user", "session": "session", "none": "no correction",
    },
    "es": {
        "title": "Retención: quién vuelve",
        "intro": ("De los {unit}s que empezaron en cada cohorte ({cohort_period}), la proporción que volvió en cada "
                  "periodo tras el inicio ({kind}, periodo {period}). La curva suma solo celdas completas: una "
                  "celda cuyo periodo no había terminado el {until} está censurada (rayada), no es una caída."),
        "period": "Periodo", "cohorts": "Cohortes completas", "size": "Unidades", "retained": "Volvieron",
        "rate": "Retención", "ci": "IC 95 %", "group": "Grupo",
        "cmp_title": "Retención por variante (frente a {control})",
        "cmp_intro": ("Diferencia de retención por periodo (Welch), p-valores ajustados con {correction} sobre "
                      "todos los periodos y variantes."),
        "variant": "Variante", "diff": "Diferencia", "p": "p (ajustado)",
        "triangle_alt": "Triángulo de retención: cohortes por periodo desde el inicio, celdas censuradas rayadas",
        "curve_alt": "Curvas de retención con bandas de confianza del 95 %",
        "loy_title": "Fidelización: compras repetidas",
        "loy_intro": ("Tasa de repetición: de los compradores cuyo horizonte de {within} había transcurrido, la "
                      "proporción que volvió a comprar en él. Tiempo hasta la ocurrencia {nth}: Kaplan–Meier, con "
                      "las unidades que no la alcanzan censuradas al final de los datos."),
        "buyers": "Compradores", "eligible": "Elegibles", "repeaters": "Repitieron", "repeat": "Tasa de repetición",
        "median": "Mediana de días hasta la ocurrencia {nth}", "never": "no alcanzada",
        "logrank": "Test log-rank entre grupos: χ² = {stat}, p = {p}.",
        "km_alt": "Curva de Kaplan–Meier del tiempo hasta la n-ésima ocurrencia",
        "n_period": "N-periodo", "unbounded": "sin límite", "bracket": "por tramos",
        "user": "usuario", "session": "sesión", "none": "sin corrección",
    },
}


def _lang(lang: Any) -> dict[str, str]:
    if lang not in TEXT:
        from ..errors import ParameterError

        raise ParameterError(f"`lang`={lang!r} is not supported; use 'en' or 'es'.")
    return TEXT[lang]


def _pct(v: Any, lang: str, sign: bool = False) -> str:
    if v is None or not np.isfinite(v):
        return "–"
    s = f"{v * 100:+.1f}" if sign else f"{v * 100:.1f}"
    return (s.replace(".", ",") + "\u00a0%") if lang == "es" else s + "%"


def _num(n: Any, lang: str) -> str:
    s = f"{int(n):,}"
    return s.replace(",", ".") if lang == "es" else s


def _p(p: Any, lang: str) -> str:
    if p is None or not np.isfinite(p):
        return "–"
    s = "<0.001" if p < 0.001 else f"{p:.3f}"
    return s.replace(".", ",") if lang == "es" else s


def _fig(draw: Any, alt: str, w: float = 8, h: float = 4) -> str:
    fig = new_fig(w, h)
    try:
        ax = fig.add_subplot(111)
        draw(ax)
        return fig_html(fig, alt)
    finally:
        close(fig)


def retention_section(result: Any, loyalty: Any = None, *, lang: str = "en", figures: bool = True) -> str:
    """The retention section (HTML string) for a report.

    Parameters
    ----------
    result : RetentionResult
    loyalty : LoyaltyResult, optional
        Adds the repeat rate and the time to the n-th occurrence.
    lang : {"en", "es"}
    figures : bool, default True
        Embed the triangle, the curves and the KM curve (PNG, base64).

    Returns
    -------
    str
        A ``<section class='retention'>`` fragment; every value from the data is escaped.

    Examples
    --------
    >>> import funnelkit as fk
    >>> from funnelkit.analyses.retention import retention
    >>> html = retention_section(retention(fk.load_sample("shop"), period="W"), lang="es", figures=False)
    >>> html.startswith("<section class='retention'>"), "Retención" in html
    (True, True)
    """
    tx = _lang(lang)
    p = result.params
    until = p["observed_until"].tz_convert(p["tz"]).strftime("%Y-%m-%d %H:%M")
    parts = [f"<section class='retention'><h2>{esc(tx['title'])}</h2>",
             "<p>" + esc(tx["intro"].format(unit=tx[p["unit"]], cohort_period=p["cohort_period"], kind=tx[p["kind"]],
                                             period=p["period"], until=until)) + "</p>"]
    cur = result.curve
    grouped = "group" in cur.columns
    head = ([tx["group"]] if grouped else []) + [tx["period"], tx["cohorts"], tx["size"], tx["retained"], tx["rate"],
                                                  tx["ci"]]
    rows = []
    for r in cur.itertuples(index=False):
        rows.append(([esc(r.group)] if grouped else []) + [
            esc(r.period_label), _num(r.cohorts, lang), _num(r.cohort_size, lang), _num(r.retained, lang),
            _pct(r.rate, lang), f"{_pct(r.ci_low, lang)} – {_pct(r.ci_high, lang)}"])
    parts.append(html_table(head, rows, left=2 if grouped else 1))
    if figures:
        from ..plotting.retention import retention_curve, retention_triangle

        parts.append(_fig(lambda ax: retention_triangle(result, ax=ax, lang=lang), tx["triangle_alt"], 8, 5))
        parts.append(_fig(lambda ax: retention_curve(result, ax=ax, lang=lang), tx["curve_alt"]))
    cmp_ = result.comparison
    if cmp_ is not None and len(cmp_):
        corr = tx["none"] if p["correction"] == "none" else {"holm": "Holm", "bh": "Benjamini–Hochberg"}[p["correction"]]
        parts.append(f"<h3>{esc(tx['cmp_title'].format(control=cmp_['control'].iloc[0]))}</h3>")
        parts.append("<p>" + esc(tx["cmp_intro"].format(correction=corr)) + "</p>")
        rows = [[esc(r.variant), esc(r.period_label), _pct(r.rate_control, lang), _pct(r.rate, lang),
                 _pct(r.abs_diff, lang, sign=True), f"{_pct(r.ci_low, lang, True)} – {_pct(r.ci_high, lang, True)}",
                 _p(r.p_adjusted, lang)] for r in cmp_.itertuples(index=False)]
        parts.append(html_table([tx["variant"], tx["period"], esc(cmp_["control"].iloc[0]), tx["rate"], tx["diff"],
                                 tx["ci"], tx["p"]], rows, left=2))
    if loyalty is not None:
        parts.append(loyalty_section(loyalty, lang=lang, figures=figures, wrap=False))
    parts.append("</section>")
    return "".join(parts)


def loyalty_section(result: Any, *, lang: str = "en", figures: bool = True, wrap: bool = True) -> str:
    """The loyalty part (repeat rate, time to the n-th occurrence) as HTML.

    Examples
    --------
    >>> import funnelkit as fk
    >>> from funnelkit.analyses.retention import loyalty
    >>> "Repeat rate" in loyalty_section(loyalty(fk.load_sample("shop")), figures=False)
    True
    """
    tx = _lang(lang)
    p = result.params
    within = f"{p['within'].days} d" if p["within"].seconds == 0 else str(p["within"])
    out = [f"<h3>{esc(tx['loy_title'])}</h3>",
           "<p>" + esc(tx["loy_intro"].format(within=within, nth=p["nth"])) + "</p>"]
    rep = result.repeat
    grouped = "group" in rep.columns
    med = result.medians.set_index("group") if grouped else result.medians
    head = ([tx["group"]] if grouped else []) + [tx["buyers"], tx["eligible"], tx["repeaters"], tx["repeat"], tx["ci"],
                                                  tx["median"].format(nth=p["nth"])]
    rows = []
    for i, r in enumerate(rep.itertuples(index=False)):
        m = med.loc[r.group] if grouped and r.group in med.index else (med.iloc[0] if len(med) and not grouped else None)
        md = "–" if m is None else (tx["never"] if not np.isfinite(m["median_days"]) else f"{m['median_days']:.1f}")
        if lang == "es":
            md = md.replace(".", ",")
        rows.append(([esc(r.group)] if grouped else []) + [
            _num(r.buyers, lang), _num(r.eligible, lang), _num(r.repeaters, lang), _pct(r.rate, lang),
            f"{_pct(r.ci_low, lang)} – {_pct(r.ci_high, lang)}", esc(md)])
    out.append(html_table(head, rows, left=1 if grouped else 0))
    if result.logrank is not None:
        out.append("<p>" + esc(tx["logrank"].format(stat=f"{result.logrank.statistic:.2f}",
                                                     p=_p(result.logrank.p_value, lang))) + "</p>")
    if figures:
        from ..plotting.retention import time_to_nth_curve

        out.append(_fig(lambda ax: time_to_nth_curve(result, ax=ax, lang=lang), tx["km_alt"]))
    body = "".join(out)
    return f"<section class='loyalty'>{body}</section>" if wrap else body
