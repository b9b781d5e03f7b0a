"""The experiment report's own words and number formats, in English and Spanish.

:data:`TEXT_EXP` holds the strings that the experiment report adds to
:data:`funnelkit.report._i18n.TEXT` (effect sizes in the headline, the metrics section,
guardrails, the analysed range), :func:`exp_text` merges both and fixes the words that
read wrong (a control named ``control`` gave "control control"; "1 warnings";
"a prioris"), and the functions format numbers the way each language writes them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ._i18n import TEXT, dec, pct

__all__ = ["TEXT_EXP", "exp_text", "control_phrase", "plural", "value", "signed_value"]

TEXT_EXP: dict[str, dict[str, str]] = {
    "en": {
        "effects": "Significant effects",
        "effects_none": "No significant effect on any step or metric.",
        "eff_step": "{v}: {stage} {d} points ({l}, CI {llo} to {lhi})",
        "eff_metric": "{v}: {metric} {d} per user ({l}, CI {llo} to {lhi})",
        "eff_ratio": "{v}: {metric} {d} ({l}, CI {llo} to {lhi})",
        "eff_guard": "Guardrail {metric}, {v}: {verdict} (margin {margin})",
        "metrics": "Revenue and other metrics",
        "metrics_note": "Per exposed user, counting each user's events from their first exposure{until}. "
        "Welch test on means, relative lift by the delta method (as GrowthBook's gbstats); "
        "chance to beat control by the normal approximation.",
        "until": " until {end}",
        "col_metric": "Metric",
        "col_mean": "Per user ({conf} CI)",
        "col_ratio_mean": "Value ({conf} CI)",
        "col_total": "Total",
        "col_abs": "Δ per user ({conf} CI)",
        "kind_sum": "sum of {col}",
        "kind_count": "count of {ev}",
        "kind_mean": "mean of {col}",
        "kind_ratio": "{num} / {den}",
        "over_events": " over {ev}",
        "cap_fixed": "{metric}: each user's value capped at {cap}.",
        "cap_quantile": "{metric}: each user's value capped at the pooled {q} quantile ({cap}).",
        "cuped_note": "{metric}: CUPED with the same metric in the {days} before first exposure; variance "
        "reduced by {red} ({v}).",
        "guard_note": "{metric} is a guardrail: tested for non-inferiority, no worse than {margin} "
        "(own family of corrections).",
        "range": "Analysed range (first exposure)",
        "range_from_to": "from {start} to {end}",
        "range_from": "from {start}",
        "range_to": "until {end}",
        "range_all": "the whole log",
        "bayes_yes": "Beta(1, 1) priors for rates; normal approximation for metrics",
        "v_not worse": "not worse",
        "v_worse": "worse",
        "v_inconclusive": "inconclusive",
        "role_guardrail": "guardrail",
        "control_word": "control",
        "control_of": "control {c}",
    },
    "es": {
        "effects": "Efectos significativos",
        "effects_none": "Ningún efecto significativo en ninguna etapa ni métrica.",
        "eff_step": "{v}: {stage} {d} puntos ({l}, IC del {llo} al {lhi})",
        "eff_metric": "{v}: {metric} {d} por usuario ({l}, IC del {llo} al {lhi})",
        "eff_ratio": "{v}: {metric} {d} ({l}, IC del {llo} al {lhi})",
        "eff_guard": "Métrica de salvaguarda {metric}, {v}: {verdict} (margen {margin})",
        "metrics": "Ingresos y otras métricas",
        "metrics_note": "Por usuario expuesto, con los eventos de cada usuario desde su primera exposición{until}. "
        "Prueba de Welch sobre medias, mejora relativa por el método delta (como gbstats de GrowthBook); "
        "probabilidad de superar al control por la aproximación normal.",
        "until": " hasta el {end}",
        "col_metric": "Métrica",
        "col_mean": "Por usuario (IC {conf})",
        "col_ratio_mean": "Valor (IC {conf})",
        "col_total": "Total",
        "col_abs": "Δ por usuario (IC {conf})",
        "kind_sum": "suma de {col}",
        "kind_count": "número de {ev}",
        "kind_mean": "media de {col}",
        "kind_ratio": "{num} / {den}",
        "over_events": " en {ev}",
        "cap_fixed": "{metric}: el valor de cada usuario se limita a {cap}.",
        "cap_quantile": "{metric}: el valor de cada usuario se limita al cuantil {q} del conjunto ({cap}).",
        "cuped_note": "{metric}: CUPED con la misma métrica en los {days} anteriores a la primera exposición; "
        "varianza reducida un {red} ({v}).",
        "guard_note": "{metric} es una métrica de salvaguarda: se contrasta la no inferioridad, no peor que un "
        "{margin} (su propia familia de correcciones).",
        "range": "Periodo analizado (primera exposición)",
        "range_from_to": "del {start} al {end}",
        "range_from": "desde el {start}",
        "range_to": "hasta el {end}",
        "range_all": "todo el registro",
        "bayes_yes": "a priori Beta(1, 1) para tasas; aproximación normal para métricas",
        "v_not worse": "no empeora",
        "v_worse": "empeora",
        "v_inconclusive": "no concluyente",
        "role_guardrail": "salvaguarda",
        "control_word": "control",
        "control_of": "control {c}",
    },
}

_PLURALS = {
    "en": {"error": ("{n} error", "{n} errors"), "warning": ("{n} warning", "{n} warnings")},
    "es": {"error": ("{n} error", "{n} errores"), "warning": ("{n} aviso", "{n} avisos")},
}


def plural(word: str, n: int, lang: str) -> str:
    """``"1 warning"`` / ``"2 warnings"``, ``"1 aviso"`` / ``"2 avisos"``.

    >>> plural("warning", 1, "en"), plural("warning", 2, "es"), plural("error", 1, "es")
    ('1 warning', '2 avisos', '1 error')
    """
    one, many = _PLURALS[lang][word]
    return (one if n == 1 else many).format(n=n)


def control_phrase(name: str, lang: str) -> str:
    """How the control arm is named in a sentence: "control A", or just "control" when the
    arm is already called so (no "control control").

    >>> control_phrase("A", "en"), control_phrase("control", "en"), control_phrase("Control", "es")
    ('control A', 'control', 'control')
    """
    if str(name).strip().lower() in ("control", "ctrl", "control group", "grupo de control"):
        return TEXT_EXP[lang]["control_word"]
    return TEXT_EXP[lang]["control_of"].format(c=name)


def exp_text(lang: str, control: str) -> dict[str, str]:
    """The experiment report's strings in ``lang``: the shared ones, with "control {c}"
    phrased by :func:`control_phrase`, and :data:`TEXT_EXP`."""
    cc = control_phrase(control, lang)
    tx = {}
    for k, v in TEXT[lang].items():
        tx[k] = v.replace("control {c}", cc.replace("{", "{{").replace("}", "}}")) if isinstance(v, str) else v
    tx.update(TEXT_EXP[lang])
    return tx


def value(x: Any, lang: str, digits: int = 2) -> str:
    """A metric value with thousands separators and the language's decimal mark
    (``1,234.56`` / ``1.234,56``).

    >>> value(1234.5678, "en"), value(1234.5678, "es"), value(-0.5, "es", 1)
    ('1,234.57', '1.234,57', '−0,5')
    """
    if x is None or pd.isna(x):
        return "–"
    s = f"{float(x):,.{digits}f}".replace("-", "−")
    if lang == "es":
        s = s.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return s


def signed_value(x: Any, lang: str, digits: int = 2) -> str:
    """:func:`value` with its sign (``+3.28`` / ``−0,50``)."""
    if x is None or pd.isna(x):
        return "–"
    s = value(x, lang, digits)
    return s if s.startswith("−") else "+" + s


def digits_for(x: Any) -> int:
    """Decimals that show a per-user value legibly (2 for money-like values, more when small)."""
    try:
        a = abs(float(x))
    except (TypeError, ValueError):
        return 2
    if not a or pd.isna(a) or a >= 1:
        return 2
    return 3 if a >= 0.01 else 4


__all__ += ["digits_for", "pct", "dec"]
