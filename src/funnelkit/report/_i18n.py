"""The words and number formats of the reports, in English (``en``) and Spanish (``es``).

:data:`TEXT` holds every heading, sentence and column name; the functions format
numbers the way each language writes them (``56.6%`` / ``56,6 %``, ``+3.8`` points,
``p < 0.001``, ``Mar 5, 2026`` / ``5 mar 2026``). Integers, percentages and durations
are formatted as in the figures (:mod:`funnelkit.plotting._format`).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pandas as pd

from ..plotting._format import MONTHS, check_lang, dec, fmt_duration, num, pct
from ..plotting._style import labels_for

__all__ = ["COLUMN_LABELS", "LABEL_LIMIT", "PLURALS", "Plural", "TEXT", "chance", "check_lang", "column_label", "date",
           "dec", "dur", "for_display", "num", "p_eq", "pct", "plural", "pts", "pval", "short", "stage_label",
           "step_labels", "window_text"]


class Plural(str):
    """A sentence with a count, ``{n}``, whose :meth:`format` picks the singular for one.

    The string itself is the plural form (``"{n} warnings"``), so code that reads it
    as a plain string keeps working; ``.format(n=1)`` gives ``"1 warning"``. ``n`` may
    be a number or a formatted number (``"1"``, ``"1,000"``).

    >>> Plural("{n} warnings", one="{n} warning").format(n=1)
    '1 warning'
    >>> Plural("{n} avisos", one="{n} aviso").format(n="2")
    '2 avisos'
    """

    one: str

    def __new__(cls, other: str, *, one: str) -> Plural:
        obj = super().__new__(cls, other)
        obj.one = one
        return obj

    def format(self, *args: Any, **kwargs: Any) -> str:  # type: ignore[override]
        n = kwargs.get("n")
        form = self.one if _is_one(n) else str(self)
        return form.format(*args, **kwargs)


def _is_one(n: Any) -> bool:
    if n is None:
        return False
    if isinstance(n, (int, float)):
        return n == 1
    digits = re.sub(r"[^0-9]", "", str(n))
    return digits == "1"


#: ``PLURALS[lang][key] = (singular, plural)`` for the :data:`TEXT` keys that hold a count.
PLURALS: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "n_errors": ("{n} error", "{n} errors"),
        "n_warnings": ("{n} warning", "{n} warnings"),
        "entered": ("{n} unit entered the funnel.", "{n} units entered the funnel."),
        "excluded": ("{n} unit was left out by exclusions.", "{n} units were left out by exclusions."),
        "censored": ("{n} unit was still inside its window at the end of the data (censored): it may still "
                     "convert.", "{n} units were still inside their window at the end of the data (censored): "
                     "they may still convert."),
        "days": ("{n} day", "{n} days"),
    },
    "es": {
        "n_errors": ("{n} error", "{n} errores"),
        "n_warnings": ("{n} aviso", "{n} avisos"),
        "entered": ("{n} unidad entró en el embudo.", "{n} unidades entraron en el embudo."),
        "excluded": ("{n} unidad quedó fuera por exclusiones.", "{n} unidades quedaron fuera por exclusiones."),
        "censored": ("{n} unidad seguía dentro de su ventana al final de los datos (censurada): aún puede "
                     "convertir.", "{n} unidades seguían dentro de su ventana al final de los datos "
                     "(censuradas): aún pueden convertir."),
        "days": ("{n} día", "{n} días"),
    },
}


def plural(n: Any, key: str, lang: str) -> str:
    """The sentence ``key`` of :data:`PLURALS` for the count ``n`` (a number or its formatted text).

    >>> plural(1, "n_warnings", "en"), plural(3, "n_warnings", "es"), plural("1", "days", "es")
    ('1 warning', '3 avisos', '1 día')
    """
    one, many = PLURALS[lang][key]
    return (one if _is_one(n) else many).format(n=n)

#: ``TEXT[lang][key]``; keys with ``{...}`` are formatted by the report's sections.
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Funnel report",
        "title_exp": "A/B test report",
        "kicker_exp": "Test and optimize",
        "journey_named": "Journey “{name}”",
        "summary": "Summary",
        "design": "Design",
        "steps": "Steps",
        "stages": "Journey stages",
        "col_n": "#",
        "col_stage": "Stage",
        "col_label": "Label",
        "col_events": "Events",
        "window": "Window",
        "window_from_entry": "measured from the first step",
        "window_from_previous": "measured from the previous step",
        "mode": "Mode",
        "mode_ordered": "ordered (other events may happen between steps)",
        "mode_strict": "strict (consecutive steps with no other event between them)",
        "mode_any_order": "any order (steps within one window, in any order)",
        "unit": "Unit",
        "unit_user": "user",
        "unit_session": "session",
        "none": "no limit",
        "exclusions": "Exclusions",
        "variants": "Variants",
        "control": "control",
        "alpha": "Significance level α",
        "correction": "Multiple-comparison correction",
        "corr_holm": "Holm (over steps × variants)",
        "corr_bh": "Benjamini–Hochberg (over steps × variants)",
        "corr_none": "none",
        "test": "Test",
        "test_welch": "Welch test of the difference of rates",
        "test_z_pooled": "z-test with pooled variance",
        "ci_method": "Confidence interval of each rate",
        "alternative": "Alternative hypothesis",
        "alt_two-sided": "two-sided",
        "alt_larger": "one-sided (the variant converts more)",
        "alt_smaller": "one-sided (the variant converts less)",
        "sequential": "Sequential (always-valid) p-values",
        "seq_yes": "yes (N* = {n}): safe to look every day",
        "seq_no": "no (fixed horizon: read the result once, at the planned end)",
        "bayes": "Bayesian chance to beat control",
        "bayes_yes": "Beta(1, 1) priors",
        "period": "Data",
        "health": "Health checks",
        "all_ok": "All checks passed: the split of users matches the plan, every arm has enough users "
        "and no user was seen in two variants.",
        "srm_line": "Sample-ratio check: χ² = {chi2}, p = {p} (flagged below {thr}).",
        "srm_skipped": "Sample-ratio check skipped: {reason}",
        "exposure": "Exposed users",
        "col_variant": "Variant",
        "col_users": "Users",
        "col_share": "Share",
        "col_planned": "Planned share",
        "results": "Results by step",
        "results_note": "Rate = share of the variant's exposed users who reached the stage (the denominator "
        "is always the arm's exposed users). Step rate = share of those at the previous stage; it is "
        "shown for reading only and never tested, because who reaches a stage differs between arms. "
        "Δ is in percentage points. p-values are adjusted with {corr}.",
        "col_reached": "Reached",
        "col_rate": "Rate ({conf} CI)",
        "col_step_rate": "Step rate",
        "col_diff": "Δ points ({conf} CI)",
        "col_lift": "Relative lift ({conf} CI)",
        "col_p": "Adjusted p",
        "col_ctb": "Chance to beat control",
        "col_verdict": "Verdict",
        "v_control": "control",
        "v_significant increase": "significant increase",
        "v_significant decrease": "significant decrease",
        "v_no significant difference": "no significant difference",
        "v_not testable": "not testable",
        "v_no difference": "no difference",
        "v_too few users to conclude": "too few users to conclude",
        "conclusions": "Conclusions",
        "srm_caveat": "Caution: the sample-ratio check failed, so these conclusions may be biased.",
        "c_up": "Variant {v} raises the share of exposed users reaching {stage} from {rc} (control {c}) to {rt}: "
        "{d} points ({conf} CI {lo} to {hi}), a relative lift of {l} ({conf} CI {llo} to {lhi}); "
        "adjusted p {p}, chance to beat control {ctb}.",
        "c_down": "Variant {v} lowers the share of exposed users reaching {stage} from {rc} (control {c}) to {rt}: "
        "{d} points ({conf} CI {lo} to {hi}), a relative change of {l} ({conf} CI {llo} to {lhi}); "
        "adjusted p {p}, chance to beat control {ctb}.",
        "c_none": "Variant {v} shows no significant difference on {stage}: {rt} versus {rc} in control {c} "
        "({d} points, {conf} CI {lo} to {hi}; adjusted p {p}).",
        "c_mde": " With these users per arm the test detects differences of about {m} points or more.",
        "c_inherited": " From {prev} the step rate is similar ({srt} versus {src}): the difference comes mostly "
                       "from earlier steps.",
        "c_all": "Every exposed user of both arms reaches {stage} ({v} and control {c}): nothing to compare.",
        "c_same": "Variant {v} and control {c} have exactly the same rate at {stage} ({rt}): nothing to test.",
        "c_untestable": "{stage} cannot be compared between variant {v} ({rt}) and control {c} ({rc}).",
        "c_few": "Variant {v}: too few users to conclude on {stage} (fewer than {n} exposed users in an arm).",
        "bottom_line": "Bottom line",
        "bl_up": "Variant {v}: significant increase at {stages}.",
        "bl_down": "Variant {v}: significant decrease at {stages}.",
        "bl_none": "Variant {v}: no significant difference at any stage.",
        "bl_few": "Variant {v}: too few users to conclude yet.",
        "n_errors": "{n} errors",
        "n_warnings": "{n} warnings",
        "figures": "Figures",
        "fig_variants": "Conversion by variant",
        "fig_variants_alt": "Bar chart of the share of exposed users reaching each stage ({stages}) for each "
        "variant, with {conf} confidence intervals.",
        "fig_bars": "Funnel",
        "fig_bars_alt": "Bar chart of the units reaching each step ({stages}) with conversion and drop-off.",
        "timing": "Time to convert",
        "timing_note": "Share of the users at the previous stage who made each transition within a given time, "
        "by variant (logarithmic time axis). The table compares the durations with a Mann–Whitney test.",
        "timing_alt": "Cumulative curves of the time to convert for each transition and variant.",
        "col_transition": "Transition",
        "col_median_c": "Median, control",
        "col_median_v": "Median, variant",
        "col_n_c": "Users, control",
        "col_n_v": "Users, variant",
        "col_mw": "p (Mann–Whitney)",
        "time_between": "Time between stages",
        "time_note": "Distribution of the time from one stage to the next on each unit's reported attempt, "
        "and the share converted within a given time.",
        "time_alt": "Histogram and cumulative curve of the time between consecutive stages.",
        "col_from": "Units at the previous stage",
        "col_units": "Units",
        "col_conv": "Conversion",
        "col_p25": "25th percentile",
        "col_median": "Median",
        "col_p75": "75th percentile",
        "col_p90": "90th percentile",
        "trend": "Conversion trend",
        "trend_note": "Conversion by the {period} users entered the funnel. Hatched: periods whose {window} "
        "window is not complete yet (their rates are still rising). Rings: step conversion significantly "
        "different from the other periods (Holm-adjusted, α = {alpha}): an incident shows itself there.",
        "trend_alt": "Line chart of conversion to each stage by entry {period}.",
        "shifts": "Shifts detected",
        "no_shift": "No period departs significantly from the others.",
        "col_period": "Entry period",
        "col_step_conv": "Step conversion",
        "col_expected": "Other periods",
        "col_prev": "Units at the previous stage",
        "journey_map": "Journey map",
        "map_note": "Stages as columns, {tp} values as rows (first touch). Each cell: units that reached the "
        "stage and the share of the previous stage who did. Boxed: the largest drop-offs relative to "
        "the stage's average (previous stage with at least {n} units).",
        "map_alt": "Journey map of reach and drop-off by stage and {tp}.",
        "map_colour": "Colour: step conversion minus the stage's (brown: lower, teal: higher); the top row "
        "is the whole funnel.",
        "frictions": "Top frictions",
        "col_rank": "Rank",
        "col_touchpoint": "Touchpoint",
        "col_stage_avg": "Stage average",
        "col_excess": "Extra drop-off (points)",
        "col_lost": "Units lost beyond average",
        "no_analyses": "Pass trend= (fk.trend(events, journey)) and journey_map= (fk.journey_map(events, "
        "journey)) to add the conversion trend and the journey map.",
        "power": "Power and sample size",
        "power_note": "Minimum detectable effect (MDE) with the current users per arm, power to detect a "
        "relative lift of {lift}, and the users per arm still needed for it (α = {alpha}, power {power}).",
        "col_baseline": "Control rate",
        "col_per_arm": "Users per arm",
        "col_mde": "MDE (points)",
        "col_mde_rel": "MDE (relative)",
        "col_power": "Power for {lift}",
        "col_needed": "Users per arm needed",
        "col_still": "Still needed",
        "table": "Conversion by step",
        "col_step": "Step",
        "col_conversion": "Conversion from entry",
        "col_dropoff": "Drop-off",
        "col_dropoff_rate": "Drop-off rate",
        "col_median_prev": "Median time from previous",
        "entered": "{n} units entered the funnel.",
        "excluded": "{n} units were left out by exclusions.",
        "censored": "{n} units were still inside their window at the end of the data (censored): "
        "they may still convert.",
        "breakdown": "Breakdown by {by}",
        "att_first_touch": "first touch (the first value on the unit's events)",
        "att_last_touch": "last touch (the last value on the unit's events)",
        "att_step": "the value on the event of step {n}",
        "breakdown_alt": "Horizontal bar chart of conversion by {by}.",
        "footer": "Generated by funnelkit {version}. A self-contained file: it loads nothing from the network.",
        "days": "{n} days",
        "H": "hour",
        "D": "day",
        "W": "week",
        "M": "month",
    },
    "es": {
        "title": "Informe del embudo",
        "title_exp": "Informe del test A/B",
        "kicker_exp": "Testea y optimiza",
        "journey_named": "Recorrido «{name}»",
        "summary": "Resumen",
        "design": "Diseño",
        "steps": "Etapas",
        "stages": "Etapas del recorrido",
        "col_n": "N.º",
        "col_stage": "Etapa",
        "col_label": "Nombre",
        "col_events": "Eventos",
        "window": "Ventana",
        "window_from_entry": "medida desde la primera etapa",
        "window_from_previous": "medida desde la etapa anterior",
        "mode": "Modo",
        "mode_ordered": "ordenado (puede haber otros eventos entre etapas)",
        "mode_strict": "estricto (etapas consecutivas sin otros eventos entre ellas)",
        "mode_any_order": "en cualquier orden (etapas dentro de una ventana, en cualquier orden)",
        "unit": "Unidad",
        "unit_user": "usuario",
        "unit_session": "sesión",
        "none": "sin límite",
        "exclusions": "Exclusiones",
        "variants": "Variantes",
        "control": "control",
        "alpha": "Nivel de significación α",
        "correction": "Corrección por comparaciones múltiples",
        "corr_holm": "Holm (sobre etapas × variantes)",
        "corr_bh": "Benjamini–Hochberg (sobre etapas × variantes)",
        "corr_none": "ninguna",
        "test": "Prueba",
        "test_welch": "prueba de Welch de la diferencia de tasas",
        "test_z_pooled": "prueba z con varianza combinada",
        "ci_method": "Intervalo de confianza de cada tasa",
        "alternative": "Hipótesis alternativa",
        "alt_two-sided": "bilateral",
        "alt_larger": "unilateral (la variante convierte más)",
        "alt_smaller": "unilateral (la variante convierte menos)",
        "sequential": "p-valores secuenciales (siempre válidos)",
        "seq_yes": "sí (N* = {n}): se pueden mirar a diario",
        "seq_no": "no (horizonte fijo: leer el resultado una sola vez, al final previsto)",
        "bayes": "Probabilidad bayesiana de superar al control",
        "bayes_yes": "a prioris Beta(1, 1)",
        "period": "Datos",
        "health": "Comprobaciones",
        "all_ok": "Todas las comprobaciones son correctas: el reparto de usuarios coincide con el plan, cada "
        "grupo tiene suficientes usuarios y ningún usuario aparece en dos variantes.",
        "srm_line": "Comprobación del reparto (SRM): χ² = {chi2}, p = {p} (alerta por debajo de {thr}).",
        "srm_skipped": "Comprobación del reparto omitida: {reason}",
        "exposure": "Usuarios expuestos",
        "col_variant": "Variante",
        "col_users": "Usuarios",
        "col_share": "Proporción",
        "col_planned": "Proporción prevista",
        "results": "Resultados por etapa",
        "results_note": "Tasa = porcentaje de los usuarios expuestos de la variante que alcanzan la etapa (el "
        "denominador es siempre el total de expuestos del grupo). Tasa de paso = porcentaje de los que "
        "estaban en la etapa anterior; se muestra solo como referencia y no se contrasta, porque quién "
        "llega a cada etapa difiere entre grupos. Δ en puntos porcentuales. p-valores ajustados con {corr}.",
        "col_reached": "Alcanzan",
        "col_rate": "Tasa (IC {conf})",
        "col_step_rate": "Tasa de paso",
        "col_diff": "Δ puntos (IC {conf})",
        "col_lift": "Mejora relativa (IC {conf})",
        "col_p": "p ajustado",
        "col_ctb": "Probabilidad de superar al control",
        "col_verdict": "Veredicto",
        "v_control": "control",
        "v_significant increase": "aumento significativo",
        "v_significant decrease": "descenso significativo",
        "v_no significant difference": "sin diferencia significativa",
        "v_not testable": "no contrastable",
        "v_no difference": "sin diferencia",
        "v_too few users to conclude": "muy pocos usuarios para concluir",
        "conclusions": "Conclusiones",
        "srm_caveat": "Atención: la comprobación del reparto ha fallado, así que estas conclusiones pueden "
        "estar sesgadas.",
        "c_up": "La variante {v} aumenta el porcentaje de usuarios expuestos que alcanzan {stage} del {rc} "
        "(control {c}) al {rt}: {d} puntos (IC {conf} de {lo} a {hi}), una mejora relativa del {l} "
        "(IC {conf} de {llo} a {lhi}); p ajustado {p}, probabilidad de superar al control {ctb}.",
        "c_down": "La variante {v} reduce el porcentaje de usuarios expuestos que alcanzan {stage} del {rc} "
        "(control {c}) al {rt}: {d} puntos (IC {conf} de {lo} a {hi}), un cambio relativo del {l} "
        "(IC {conf} de {llo} a {lhi}); p ajustado {p}, probabilidad de superar al control {ctb}.",
        "c_none": "La variante {v} no muestra una diferencia significativa en {stage}: {rt} frente a {rc} en el "
        "control {c} ({d} puntos, IC {conf} de {lo} a {hi}; p ajustado {p}).",
        "c_mde": " Con estos usuarios por grupo, la prueba detecta diferencias a partir de unos {m} puntos.",
        "c_inherited": " Desde {prev} la tasa de paso es parecida ({srt} frente a {src}): la diferencia viene "
                       "sobre todo de etapas anteriores.",
        "c_all": "Todos los usuarios expuestos de ambos grupos alcanzan {stage} ({v} y control {c}): no hay "
        "nada que comparar.",
        "c_same": "La variante {v} y el control {c} tienen exactamente la misma tasa en {stage} ({rt}): no hay "
        "nada que contrastar.",
        "c_untestable": "{stage} no se puede comparar entre la variante {v} ({rt}) y el control {c} ({rc}).",
        "c_few": "Variante {v}: muy pocos usuarios para concluir sobre {stage} (menos de {n} usuarios "
        "expuestos en un grupo).",
        "bottom_line": "En resumen",
        "bl_up": "Variante {v}: aumento significativo en {stages}.",
        "bl_down": "Variante {v}: descenso significativo en {stages}.",
        "bl_none": "Variante {v}: ninguna diferencia significativa en ninguna etapa.",
        "bl_few": "Variante {v}: todavía hay muy pocos usuarios para concluir.",
        "n_errors": "{n} errores",
        "n_warnings": "{n} avisos",
        "figures": "Gráficos",
        "fig_variants": "Conversión por variante",
        "fig_variants_alt": "Gráfico de barras del porcentaje de usuarios expuestos que alcanzan cada etapa "
        "({stages}) por variante, con intervalos de confianza del {conf}.",
        "fig_bars": "Embudo",
        "fig_bars_alt": "Gráfico de barras de las unidades que alcanzan cada etapa ({stages}) con conversión "
        "y abandono.",
        "timing": "Tiempo hasta convertir",
        "timing_note": "Porcentaje de los usuarios de la etapa anterior que completan cada paso en un tiempo "
        "dado, por variante (eje de tiempo logarítmico). La tabla compara las duraciones con una "
        "prueba de Mann–Whitney.",
        "timing_alt": "Curvas acumuladas del tiempo hasta convertir por paso y variante.",
        "col_transition": "Paso",
        "col_median_c": "Mediana, control",
        "col_median_v": "Mediana, variante",
        "col_n_c": "Usuarios, control",
        "col_n_v": "Usuarios, variante",
        "col_mw": "p (Mann–Whitney)",
        "time_between": "Tiempo entre etapas",
        "time_note": "Distribución del tiempo de una etapa a la siguiente en el intento registrado de cada "
        "unidad, y porcentaje convertido en un tiempo dado.",
        "time_alt": "Histograma y curva acumulada del tiempo entre etapas consecutivas.",
        "col_from": "Unidades en la etapa anterior",
        "col_units": "Unidades",
        "col_conv": "Conversión",
        "col_p25": "Percentil 25",
        "col_median": "Mediana",
        "col_p75": "Percentil 75",
        "col_p90": "Percentil 90",
        "trend": "Tendencia de la conversión",
        "trend_note": "Conversión según el {period} en que los usuarios entraron en el embudo. Rayado: periodos "
        "cuya ventana de {window} aún no está completa (sus tasas todavía suben). Círculos: conversión "
        "de la etapa significativamente distinta de la de los demás periodos (ajuste de Holm, "
        "α = {alpha}): ahí se ve una incidencia.",
        "trend_alt": "Gráfico de líneas de la conversión a cada etapa por {period} de entrada.",
        "shifts": "Cambios detectados",
        "no_shift": "Ningún periodo se aparta significativamente de los demás.",
        "col_period": "Periodo de entrada",
        "col_step_conv": "Conversión de la etapa",
        "col_expected": "Resto de periodos",
        "col_prev": "Unidades en la etapa anterior",
        "journey_map": "Mapa del recorrido",
        "map_note": "Etapas en columnas y valores de {tp} en filas (primer contacto). Cada celda: unidades que "
        "alcanzan la etapa y porcentaje de la etapa anterior que lo hace. Recuadro: los mayores "
        "abandonos respecto a la media de la etapa (con al menos {n} unidades en la etapa anterior).",
        "map_alt": "Mapa del recorrido: alcance y abandono por etapa y {tp}.",
        "map_colour": "Color: conversión de la etapa menos la media de la etapa (marrón: menor, verde "
        "azulado: mayor); la fila superior es el embudo completo.",
        "frictions": "Principales fricciones",
        "col_rank": "Puesto",
        "col_touchpoint": "Punto de contacto",
        "col_stage_avg": "Media de la etapa",
        "col_excess": "Abandono adicional (puntos)",
        "col_lost": "Unidades perdidas sobre la media",
        "no_analyses": "Pase trend= (fk.trend(events, journey)) y journey_map= (fk.journey_map(events, "
        "journey)) para añadir la tendencia y el mapa del recorrido.",
        "power": "Potencia y tamaño muestral",
        "power_note": "Efecto mínimo detectable (MDE) con los usuarios actuales por grupo, potencia para detectar "
        "una mejora relativa del {lift} y usuarios por grupo que aún faltan para ello (α = {alpha}, "
        "potencia {power}).",
        "col_baseline": "Tasa del control",
        "col_per_arm": "Usuarios por grupo",
        "col_mde": "MDE (puntos)",
        "col_mde_rel": "MDE (relativo)",
        "col_power": "Potencia para {lift}",
        "col_needed": "Usuarios por grupo necesarios",
        "col_still": "Faltan",
        "table": "Conversión por etapa",
        "col_step": "Etapa",
        "col_conversion": "Conversión desde la entrada",
        "col_dropoff": "Abandonos",
        "col_dropoff_rate": "Tasa de abandono",
        "col_median_prev": "Tiempo mediano desde la anterior",
        "entered": "{n} unidades entraron en el embudo.",
        "excluded": "{n} unidades quedaron fuera por exclusiones.",
        "censored": "{n} unidades seguían dentro de su ventana al final de los datos (censuradas): aún pueden "
        "convertir.",
        "breakdown": "Desglose por {by}",
        "att_first_touch": "primer contacto (el primer valor en los eventos de la unidad)",
        "att_last_touch": "último contacto (el último valor en los eventos de la unidad)",
        "att_step": "el valor en el evento de la etapa {n}",
        "breakdown_alt": "Gráfico de barras horizontales de la conversión por {by}.",
        "footer": "Generado con funnelkit {version}. Archivo autónomo: no carga nada de la red.",
        "days": "{n} días",
        "H": "hora",
        "D": "día",
        "W": "semana",
        "M": "mes",
    },
}


for _lang, _forms in PLURALS.items():  # "1 warnings" -> "1 warning" wherever TEXT is formatted
    for _key, (_one, _many) in _forms.items():
        TEXT[_lang][_key] = Plural(_many, one=_one)

# Words of the funnel report's figures and sections that name a column.
for _lang, _words in {"en": {"map_title": "Journey map by {tp}", "breakdown_title": "Conversion to {step} by {by}"},
                      "es": {"map_title": "Mapa del recorrido por {tp}",
                             "breakdown_title": "Conversión a {step} por {by}"}}.items():
    for _key, _word in _words.items():
        TEXT[_lang].setdefault(_key, _word)

#: Labels of common property columns in reports (``column_labels=`` of a report adds or overrides).
COLUMN_LABELS: dict[str, dict[str, str]] = {
    "en": {"channel": "channel", "device": "device", "country": "country", "source": "source",
           "medium": "medium", "campaign": "campaign", "platform": "platform", "browser": "browser",
           "variant": "variant", "city": "city", "region": "region", "language": "language"},
    "es": {"channel": "canal", "device": "dispositivo", "country": "país", "source": "fuente",
           "medium": "medio", "campaign": "campaña", "platform": "plataforma", "browser": "navegador",
           "variant": "variante", "city": "ciudad", "region": "región", "language": "idioma"},
}

#: Longest label drawn in a figure or shown in a summary (longer ones end in an ellipsis).
LABEL_LIMIT = 60


def column_label(name: Any, lang: str, labels: Any = None) -> str:
    """How a report names a property column: ``labels[name]`` (the caller's), else the
    built-in word for common columns (``channel`` -> ``canal``), else the name itself.

    ``labels`` maps a column to one label, or to ``{"en": ..., "es": ...}``.

    >>> column_label("channel", "es"), column_label("tienda_id", "es"), column_label("tier", "es", {"tier": "nivel"})
    ('canal', 'tienda_id', 'nivel')
    """
    if labels and name in labels:
        got = labels[name]
        if isinstance(got, dict):
            got = got.get(lang) or got.get("en") or next(iter(got.values()), name)
        return str(got)
    return COLUMN_LABELS.get(lang, {}).get(str(name), str(name))


def short(text: Any, limit: int = LABEL_LIMIT) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (figures and summaries; tables keep the full text).

    >>> short("x" * 100, 10), short("purchase")
    ('xxxxxxxxx…', 'purchase')
    """
    s = str(text)
    return s if len(s) <= limit else s[: max(limit - 1, 1)] + "…"


def stage_label(stage: Any, lang: str) -> str:
    """A stage's label in ``lang``: its own, else (Spanish) its English label, else its name.

    A journey with only ``label_en`` reads in English labels in a Spanish report, not in ids.
    """
    own = getattr(stage, "label_es" if lang == "es" else "label_en", "") or ""
    if own:
        return str(own)
    other = getattr(stage, "label_en", "") or ""
    return str(other or stage.name)


_DISPLAY_FRAMES = ("table", "breakdown", "censored")


def for_display(obj: Any, lang: str, limit: int = LABEL_LIMIT) -> Any:
    """A copy of a result for figures: labels in ``lang`` (see :func:`step_labels`) cut to
    ``limit`` characters, and long text values of its small frames too.

    Figures of 100 kB event names took minutes to lay out; the copy draws them cut with an
    ellipsis. The result itself is not modified (results are frozen dataclasses).
    """
    if not dataclasses.is_dataclass(obj):
        return obj
    names = {f.name for f in dataclasses.fields(obj)}
    changes: dict[str, Any] = {}
    if "labels" in names and "steps" in names:
        changes["labels"] = tuple(short(x, limit) for x in step_labels(obj, lang))
        if "journey" in names:
            changes["journey"] = None  # labels now come from `labels`, already in `lang`
    for name in _DISPLAY_FRAMES:
        frame = getattr(obj, name, None) if name in names else None
        if isinstance(frame, pd.DataFrame) and len(frame) <= 100_000:
            changes[name] = _short_frame(frame, limit)
    try:
        return dataclasses.replace(obj, **changes)
    except (TypeError, ValueError):  # pragma: no cover - a result with init=False fields
        return obj


def _unique_short(long: Any, taken: set[str], limit: int) -> dict[str, str]:
    """Cut texts, keeping distinct texts distinct (``…`` then `` (2)``, `` (3)``...)."""
    out: dict[str, str] = {}
    used = {t for t in taken if len(t) <= limit}
    for t in long:
        cand, k = short(t, limit), 1
        while cand in used:
            k += 1
            cand = short(t, limit - len(f" ({k})")) + f" ({k})"
        used.add(cand)
        out[t] = cand
    return out


_KEY_COLUMNS = frozenset({"step", "from_step", "to_step", "stage"})  # looked up by the result's steps: kept


def _short_frame(frame: pd.DataFrame, limit: int) -> pd.DataFrame:
    out = None
    for col in frame.columns:
        if col in _KEY_COLUMNS:
            continue
        s = frame[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = s.cat.categories
            if cats.dtype.kind in "OUT" or str(cats.dtype).startswith("str"):
                lens = cats.astype(str).str.len()
                if len(lens) and lens.max() > limit:
                    texts = cats.astype(str)
                    mapping = _unique_short(texts[texts.str.len() > limit], set(texts), limit)
                    out = frame.copy() if out is None else out
                    out[col] = s.cat.rename_categories([mapping.get(t, t) for t in texts])
        elif s.dtype.kind == "O" or str(s.dtype).startswith(("string", "str")):
            text = s.astype(str)
            if len(text) and text.str.len().max() > limit:
                mapping = _unique_short(pd.unique(text[text.str.len() > limit]), set(text), limit)
                out = frame.copy() if out is None else out
                out[col] = s.where(s.isna(), text.map(lambda v: mapping.get(v, v)))
    return frame if out is None else out


def pts(v: Any, lang: str, digits: int = 1, sign: bool = True) -> str:
    """A difference of rates in percentage points (``+3.8``)."""
    if v is None or pd.isna(v):
        return "–"
    return dec(float(v) * 100, digits, lang, sign)


def pval(p: Any, lang: str) -> str:
    """A p-value with three decimals, ``< 0.001`` below that."""
    if p is None or pd.isna(p):
        return "–"
    p = float(p)
    if p < 0.001:
        return "< " + dec(0.001, 3, lang)
    return dec(p, 3, lang)


def p_eq(p: Any, lang: str) -> str:
    """``= 0.012`` or ``< 0.001`` (for sentences)."""
    s = pval(p, lang)
    return s.replace("< ", "< ") if s.startswith("<") else f"= {s}"


def chance(v: Any, lang: str) -> str:
    """A probability as a percentage that never rounds to a certainty (``>99.9%``)."""
    if v is None or pd.isna(v):
        return "–"
    v = float(v)
    if v > 0.999:
        return ">" + pct(0.999, lang)
    if v < 0.001:
        return "<" + pct(0.001, lang)
    return pct(v, lang)


def dur(v: Any, lang: str) -> str:
    """A duration (Timedelta or anything ``pd.Timedelta`` takes) as ``6 min``, ``1.5 h``..."""
    if v is None or pd.isna(v):
        return "–"
    return fmt_duration(pd.Timedelta(v).total_seconds(), lang)


def window_text(win: Any, tx: dict[str, str], lang: str) -> str:
    """A conversion window as ``7 days`` / ``7 días``, ``30 min``, or ``no limit``."""
    if win is None:
        return tx["none"]
    td = pd.Timedelta(win)
    if td % pd.Timedelta("1D") == pd.Timedelta(0):
        return tx["days"].format(n=td.days)
    return dur(td, lang)


def step_labels(obj: Any, lang: str) -> list[str]:
    """The step labels of a result in ``lang``: the journey's stage labels when it has a
    journey (:func:`stage_label`: a Spanish report falls back to ``label_en``, not to the
    stage id), else the result's labels."""
    journey = getattr(obj, "journey", None)
    try:
        mapping = {s.name: stage_label(s, lang) for s in journey.stages}
    except Exception:
        return labels_for(list(obj.steps), list(obj.labels), journey, lang)
    return [str(mapping.get(s, lab)) for s, lab in zip(obj.steps, obj.labels)]


def date(ts: Any, lang: str) -> str:
    """A date as ``Mar 5, 2026`` / ``5 mar 2026``."""
    months = MONTHS[lang]
    ts = pd.Timestamp(ts)
    return (f"{ts.day} {months[ts.month - 1]} {ts.year}" if lang == "es"
            else f"{months[ts.month - 1]} {ts.day}, {ts.year}")

