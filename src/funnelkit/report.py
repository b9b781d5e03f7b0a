"""Self-contained HTML reports (presentation only: nothing is recomputed here).

- :func:`funnel_report` writes one page for a :class:`~funnelkit.FunnelResult`: the
  design, the step table, the funnel bars, the time between stages and, when the
  event log is given, the conversion trend and the journey map.
- :func:`experiment_report` writes the "test and optimize" page of an
  :class:`~funnelkit.ExperimentResult`: design, health banners, the per-step table
  with CIs, lifts, adjusted p-values and chance to beat control, the figures, a
  plain-language conclusion per step and the power table.

Each page is one file: figures are embedded as base64 PNG, the CSS is inline and
nothing refers to an external URL, so it can be mailed, archived or opened offline.
It is responsive (tables scroll sideways on a phone) and printable. Every string
that comes from the data or the user (event, step, variant and property names,
labels, titles) is HTML-escaped. Headings, sentences and number formats are in
English (``lang="en"``) or Spanish (``lang="es"``), with the journey's stage
labels in that language.
"""

from __future__ import annotations

import base64
import html
import io
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import ParameterError

__all__ = ["funnel_report", "experiment_report"]

# --------------------------------------------------------------------------- texts
_TEXT: dict[str, dict[str, str]] = {
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
        "no_events": "Pass the event log (events=...) to add the conversion trend and the journey map.",
        "no_touchpoint": "The event log has no column {tp!r}: the journey map is left out.",
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
        "no_events": "Pase el registro de eventos (events=...) para añadir la tendencia y el mapa del recorrido.",
        "no_touchpoint": "El registro de eventos no tiene la columna {tp!r}: se omite el mapa del recorrido.",
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

_CSS = """
:root{--ink:#1d1d1f;--muted:#5f6368;--line:#e3e3e3;--bg:#fff;--soft:#f6f7f9;--blue:#0072B2;
--ok:#1b7f4b;--okbg:#e8f5ee;--warn:#8a5a00;--warnbg:#fff4de;--err:#a3271b;--errbg:#fdecea;--infobg:#eef4fb}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',Arial,sans-serif;margin:0;color:var(--ink);
background:var(--bg);line-height:1.45;font-size:15px}
main{max-width:1120px;margin:0 auto;padding:1.5rem 1.25rem 3rem}
header.top{border-bottom:3px solid var(--blue);padding-bottom:.6rem;margin-bottom:1rem}
.kicker{color:var(--blue);font-weight:600;text-transform:uppercase;letter-spacing:.06em;font-size:.78rem;margin:0}
h1{font-size:1.75rem;margin:.15rem 0 .2rem;line-height:1.2}
.sub{color:var(--muted);margin:0}
h2{font-size:1.25rem;margin:2.2rem 0 .6rem;padding-bottom:.25rem;border-bottom:1px solid var(--line)}
h3{font-size:1.02rem;margin:1.4rem 0 .4rem}
p{margin:.4rem 0}
.note{color:var(--muted);font-size:.88rem;max-width:75ch}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(190px,1fr));gap:.75rem;margin:.6rem 0}
.card{background:var(--soft);border-radius:8px;padding:.7rem .9rem;border-left:4px solid var(--blue)}
.card .k{font-size:.78rem;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:1.15rem;font-weight:650;margin-top:.15rem}
.card.ok{border-left-color:var(--ok)}.card.error{border-left-color:var(--err)}.card.warning{border-left-color:#E69F00}
.banner{border-radius:8px;padding:.6rem .9rem;margin:.45rem 0;border-left:5px solid;font-size:.95rem}
.banner b{margin-right:.35rem}
.banner.ok{background:var(--okbg);border-color:var(--ok);color:#0f4d2e}
.banner.error{background:var(--errbg);border-color:var(--err);color:#6b1a12}
.banner.warning{background:var(--warnbg);border-color:#E69F00;color:#5c3c00}
.banner.info{background:var(--infobg);border-color:var(--blue);color:#0b3a5c}
.tablewrap{overflow-x:auto;-webkit-overflow-scrolling:touch;margin:.5rem 0 .8rem;border:1px solid var(--line);border-radius:6px}
table{border-collapse:collapse;font-size:.86rem;width:100%;background:#fff}
th,td{padding:.38rem .55rem;border-bottom:1px solid var(--line);text-align:right;vertical-align:top}
td{white-space:nowrap}
th{background:var(--soft);font-weight:600;position:sticky;top:0;vertical-align:bottom;font-size:.8rem;line-height:1.25}
td.t,th.t{text-align:left;white-space:normal;overflow-wrap:break-word}
td.w{white-space:normal;min-width:7.5rem}td.w .pill{white-space:normal}
tr.grp td{border-top:2px solid #cfcfcf}
tr:last-child td{border-bottom:none}
td.num{font-variant-numeric:tabular-nums}
.ci{color:var(--muted);font-size:.76rem;display:block}
.pill{display:inline-block;border-radius:6px;padding:.05rem .55rem;font-size:.78rem;font-weight:600;white-space:nowrap}
.pill.up{background:#e1f0fa;color:#004d7a}.pill.down{background:#fde6d8;color:#8a3300}
.pill.none{background:#eeeeee;color:#444}.pill.ctrl{background:#fff;color:var(--muted);border:1px solid var(--line)}
dl.design{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:.5rem 0}
dl.design dt{color:var(--muted)}dl.design dd{margin:0}
figure{margin:1rem 0 1.4rem}
figure img{display:block;width:100%;max-width:100%;height:auto;border:1px solid var(--line);border-radius:6px;background:#fff}
figcaption{color:var(--muted);font-size:.86rem;margin-top:.35rem;max-width:85ch}
ol.conc,ul.conc{padding-left:1.3rem}ol.conc li,ul.conc li{margin:.35rem 0}
code{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:.85em;background:var(--soft);padding:.05rem .3rem;border-radius:4px}
footer{margin-top:3rem;color:var(--muted);font-size:.8rem;border-top:1px solid var(--line);padding-top:.6rem}
@media (max-width:640px){body{font-size:14px}main{padding:1rem .7rem}h1{font-size:1.4rem}
dl.design{grid-template-columns:1fr}dl.design dt{margin-top:.4rem}}
@media print{body{font-size:11pt}main{max-width:none;padding:0}h2{break-after:avoid}
figure,.tablewrap,.banner,.card{break-inside:avoid}.tablewrap{overflow:visible;border:none}
th{position:static}*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


# --------------------------------------------------------------------------- helpers
def _esc(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _check_lang(lang: Any) -> str:
    if lang not in _TEXT:
        raise ParameterError(f"`lang`={lang!r} is not supported; use 'en' or 'es'.")
    return str(lang)


def page(title: str, body: str, *, lang: str = "en") -> str:
    """Wrap ``body`` (trusted HTML) in a complete, self-contained HTML document."""
    return (
        f"<!DOCTYPE html>\n<html lang='{_esc(lang)}'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<meta name='generator' content='funnelkit'>"
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body><main>{body}</main></body></html>\n"
    )


def _fmt():
    from . import plotting

    return plotting


def _pct(v: Any, lang: str, digits: int = 1, sign: bool = False) -> str:
    return _fmt()._pct(v, lang, digits, sign)


def _num(v: Any, lang: str) -> str:
    return _fmt()._num(v, lang)


def _pts(v: Any, lang: str, digits: int = 1, sign: bool = True) -> str:
    """A difference of rates in percentage points (``+3.8``)."""
    if v is None or pd.isna(v):
        return "–"
    return _fmt()._dec(float(v) * 100, digits, lang, sign)


def _pval(p: Any, lang: str) -> str:
    if p is None or pd.isna(p):
        return "–"
    p = float(p)
    if p < 0.001:
        return "< " + _fmt()._dec(0.001, 3, lang)
    return _fmt()._dec(p, 3, lang)


def _p_eq(p: Any, lang: str) -> str:
    """``= 0.012`` or ``< 0.001`` (for sentences)."""
    s = _pval(p, lang)
    return s.replace("< ", "< ") if s.startswith("<") else f"= {s}"


def _chance(v: Any, lang: str) -> str:
    """A probability as a percentage that never rounds to a certainty (``>99.9%``)."""
    if v is None or pd.isna(v):
        return "–"
    v = float(v)
    if v > 0.999:
        return ">" + _pct(0.999, lang)
    if v < 0.001:
        return "<" + _pct(0.001, lang)
    return _pct(v, lang)


def _dur(v: Any, lang: str) -> str:
    if v is None or pd.isna(v):
        return "–"
    return _fmt()._fmt_duration(pd.Timedelta(v).total_seconds(), lang)


def _window_text(win: Any, tx: dict[str, str], lang: str) -> str:
    if win is None:
        return tx["none"]
    td = pd.Timedelta(win)
    if td % pd.Timedelta("1D") == pd.Timedelta(0):
        return tx["days"].format(n=td.days)
    return _dur(td, lang)


def _labels(obj: Any, lang: str) -> list[str]:
    return _fmt()._labels_for(list(obj.steps), list(obj.labels), obj.journey, lang)


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1,
           row_classes: Sequence[str] | None = None, raw_head: bool = False, wrap: Sequence[int] = ()) -> str:
    """An HTML table. ``head`` is plain text (escaped here); cells are HTML already escaped.

    The first ``left`` columns are text (left-aligned), the others numbers; columns in
    ``wrap`` may wrap.
    """
    ths = "".join(
        f"<th class='{'t' if i < left else ''}' scope='col'>{h if raw_head else _esc(h)}</th>"
        for i, h in enumerate(head))
    body = []
    for j, r in enumerate(rows):
        cls = f" class='{row_classes[j]}'" if row_classes and row_classes[j] else ""
        tds = "".join(f"<td class='{'t' if i < left else 'num'}{' w' if i in wrap else ''}'>{c}</td>"
                      for i, c in enumerate(r))
        body.append(f"<tr{cls}>{tds}</tr>")
    return (f"<div class='tablewrap'><table><thead><tr>{ths}</tr></thead><tbody>{''.join(body)}</tbody>"
            "</table></div>")


def _new_fig(w: float, h: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), layout="constrained", dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _fig_html(fig: Any, alt: str, caption: str | None = None, *, dpi: int = 130) -> str:
    """A figure as an embedded base64 PNG (``alt`` and ``caption`` are plain text, escaped here)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white", metadata={"Software": None})
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    cap = f"<figcaption>{_esc(caption)}</figcaption>" if caption else ""
    return (f"<figure><img src='data:image/png;base64,{data}' alt='{_esc(alt)}' "
            f"width='{int(fig.get_figwidth() * dpi)}' height='{int(fig.get_figheight() * dpi)}'>{cap}</figure>")


def _rule_text(rule: Any, lang: str, stage_labels: dict[str, str]) -> str:
    from .stages import AfterRule, RepeatRule, Rule

    if isinstance(rule, RepeatRule):
        inner = _rule_text(rule.rule, lang, stage_labels)
        return (f"{rule.nth}.ª aparición de {inner}" if lang == "es" else f"occurrence #{rule.nth} of {inner}")
    if isinstance(rule, AfterRule):
        inner = _rule_text(rule.rule, lang, stage_labels)
        st = stage_labels.get(rule.stage, rule.stage)
        return f"{inner} después de alcanzar {st}" if lang == "es" else f"{inner} after reaching {st}"
    if isinstance(rule, Rule):
        parts = list(rule.events)
        if rule.regex is not None:
            parts.append(f"/{rule.regex}/")
        s = ", ".join(parts)
        if rule.where:
            cond = "; ".join(f"{c} ∈ {{{', '.join(map(str, v))}}}" for c, v in rule.where)
            s += f" ({'con' if lang == 'es' else 'where'} {cond})"
        return s
    return str(rule)  # pragma: no cover


def _stages_table(obj: Any, lang: str, tx: dict[str, str]) -> str:
    labels = _labels(obj, lang)
    journey = obj.journey
    stages = {}
    try:
        stages = {s.name: s for s in journey.stages}
        stage_labels = {s.name: s.label(lang) for s in journey._all_stages()}
    except Exception:
        stage_labels = {}
    rows = []
    for i, (name, lab) in enumerate(zip(obj.steps, labels), start=1):
        st = stages.get(name)
        ev = "; ".join(_rule_text(r, lang, stage_labels) for r in st.rules) if st is not None else ""
        rows.append([str(i), f"<b>{_esc(lab)}</b>", f"<code>{_esc(name)}</code>", _esc(ev)])
    return _table([tx["col_n"], tx["col_label"], tx["col_stage"], tx["col_events"]], rows, left=4)


def _dl(items: Sequence[tuple[str, str]]) -> str:
    """A definition list; keys are plain text, values HTML already escaped."""
    return "<dl class='design'>" + "".join(f"<dt>{_esc(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def _cards(items: Sequence[tuple[str, str, str]]) -> str:
    """Summary cards: (key text, value HTML, css class)."""
    return "<div class='cards'>" + "".join(
        f"<div class='card {c}'><div class='k'>{_esc(k)}</div><div class='v'>{v}</div></div>" for k, v, c in items
    ) + "</div>"


def _banner(severity: str, text: str) -> str:
    sev = severity if severity in ("ok", "error", "warning", "info") else "info"
    icon = {"ok": "✓", "error": "✗", "warning": "!", "info": "i"}[sev]
    return f"<div class='banner {sev}' role='status'><b aria-hidden='true'>{icon}</b>{_esc(text)}</div>"


def _timing_frame(obj: Any) -> Any:
    try:
        return obj.time_between()
    except Exception:  # pragma: no cover - a funnel with one step has no transition
        return None


def _close(fig: Any) -> None:
    fig.clear()


def _data_range(events: Any) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    try:
        from . import _schema

        ev = _schema.ensure_events(events)
        return ev[_schema.TIME].min(), ev[_schema.TIME].max()
    except Exception:
        return None


def _date(ts: Any, lang: str) -> str:
    months = _fmt()._MONTHS[lang]
    ts = pd.Timestamp(ts)
    return (f"{ts.day} {months[ts.month - 1]} {ts.year}" if lang == "es"
            else f"{months[ts.month - 1]} {ts.day}, {ts.year}")


def _version() -> str:
    try:
        from . import __version__

        return __version__
    except Exception:  # pragma: no cover
        return ""


# --------------------------------------------------------------------------- sections shared
def _trend_section(events: Any, journey: Any, *, lang: str, tx: dict[str, str], freq: str, params: dict,
                   funnel_kwargs: dict) -> str:
    from . import plotting
    from .trends import trend_table

    table = trend_table(events, journey, freq=freq, window=params.get("window"), lang=lang, **funnel_kwargs)
    info = table.attrs.get("funnelkit_trend", {})
    key = "H" if str(freq).lower().startswith("h") else str(freq)[:1].upper()
    period = tx.get(key, str(freq))
    fig = _new_fig(10, 4.4)
    ax = fig.add_subplot()
    plotting.conversion_trend(None, None, table=table, ax=ax, lang=lang)
    win = _window_text(params.get("window"), tx, lang)
    alpha = _fmt()._dec(info.get("alpha", 0.01), 2, lang)
    out = [f"<h2 id='trend'>{_esc(tx['trend'])}</h2>",
           _fig_html(fig, tx["trend_alt"].format(period=period),
                     tx["trend_note"].format(period=period, window=win, alpha=alpha))]
    _close(fig)
    shifts = table[table["shift"].to_numpy(dtype=bool)]
    out.append(f"<h3>{_esc(tx['shifts'])}</h3>")
    if not len(shifts):
        out.append(f"<p class='note'>{_esc(tx['no_shift'])}</p>")
    else:
        labmap = dict(zip(info.get("steps", ()), _fmt()._labels_for(
            list(info.get("steps", ())), list(info.get("labels", ())), info.get("journey"), lang)))
        rows = []
        for r in shifts.itertuples():
            per = pd.Timestamp(r.period)
            rows.append([_esc(_date(per, lang) + (f" {per:%H:%M}" if key == "H" else "")),
                         _esc(labmap.get(r.step, r.label)), _pct(r.step_conversion_rate, lang),
                         _pct(r.expected_step_rate, lang), _num(r.units_previous, lang), _pval(r.p_adjusted, lang)])
        out.append(_table([tx["col_period"], tx["col_stage"], tx["col_step_conv"], tx["col_expected"],
                           tx["col_prev"], tx["col_p"]], rows, left=2))
    return "".join(out)


def _map_section(events: Any, journey: Any, *, lang: str, tx: dict[str, str], touchpoint: str, params: dict,
                 funnel_kwargs: dict) -> str:
    from . import plotting

    cells = plotting.journey_map_table(events, journey, touchpoint=touchpoint, window=params.get("window"),
                                       lang=lang, **funnel_kwargs)
    info = cells.attrs.get("funnelkit_journey_map", {})
    K = len(info.get("steps", ())) or 1
    G = cells["touchpoint"].nunique()
    fig = _new_fig(max(8.5, 1.7 * K + 2.5), 0.58 * (G + 1) + 1.9)
    ax = fig.add_subplot()
    plotting.journey_map(None, None, table=cells, ax=ax, lang=lang, note=False)
    out = [f"<h2 id='journey-map'>{_esc(tx['journey_map'])}</h2>",
           _fig_html(fig, tx["map_alt"].format(tp=touchpoint),
                     tx["map_note"].format(tp=touchpoint, n=info.get("min_units", 30)) + " " + tx["map_colour"])]
    _close(fig)
    fr = cells[cells["friction"].to_numpy(dtype=bool)].sort_values("friction_rank")
    if len(fr):
        out.append(f"<h3>{_esc(tx['frictions'])}</h3>")
        rows = [[str(int(r.friction_rank)), _esc(r.touchpoint), _esc(r.label), _pct(r.step_conversion_rate, lang),
                 _pct(r.stage_step_conversion_rate, lang), _pts(r.excess_dropoff_rate, lang),
                 _num(r.excess_dropoff, lang)] for r in fr.itertuples()]
        out.append(_table([tx["col_rank"], tx["col_touchpoint"], tx["col_stage"], tx["col_step_conv"],
                           tx["col_stage_avg"], tx["col_excess"], tx["col_lost"]], rows, left=3))
    return "".join(out)


def _funnel_kwargs(params: dict, *, unit: bool = True) -> dict:
    kw = {k: params[k] for k in ("mode", "window_from", "start", "end") if params.get(k) is not None}
    if params.get("exclude"):
        kw["exclude"] = params["exclude"]
    if unit and params.get("unit"):
        kw["unit"] = params["unit"]
    return kw


def _events_sections(events: Any, obj: Any, *, lang: str, tx: dict[str, str], freq: str,
                     touchpoint: str | None, params: dict, unit: bool) -> list[str]:
    out: list[str] = []
    if events is None:
        out.append(f"<p class='note'>{_esc(tx['no_events'])}</p>")
        return out
    journey = obj.journey
    if journey is None or len(journey) != len(obj.steps):
        journey = list(obj.steps)
    kw = _funnel_kwargs(params, unit=unit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out.append(_trend_section(events, journey, lang=lang, tx=tx, freq=freq, params=params, funnel_kwargs=kw))
        if touchpoint:
            cols = getattr(events, "columns", ())
            if touchpoint in cols:
                out.append(_map_section(events, journey, lang=lang, tx=tx, touchpoint=touchpoint, params=params,
                                        funnel_kwargs=kw))
            else:
                out.append(f"<p class='note'>{_esc(tx['no_touchpoint'].format(tp=touchpoint))}</p>")
    return out


# --------------------------------------------------------------------------- funnel report
def funnel_report(
    result: Any,
    path: str | Path,
    *,
    lang: Literal["en", "es"] | None = None,
    events: Any = None,
    touchpoint: str | None = None,
    freq: str = "D",
    title: str | None = None,
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
    events : DataFrame, optional
        The event log the funnel was computed on: adds the conversion trend (with
        incomplete windows and shifts flagged) and the journey map.
    touchpoint : str, optional
        The property used for the journey map (default: the result's ``by``, else
        ``"channel"`` when the events have it).
    freq : str, default "D"
        Entry period of the trend.
    title : str, optional
        The page title (default: "Funnel report" / "Informe del embudo").

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import funnelkit as fk, tempfile, pathlib
    >>> ev = fk.datasets.make_shop(n_users=2000, seed=1)
    >>> res = fk.funnel(ev, fk.datasets.shop_journey(), window="7D")
    >>> out = funnel_report(res, pathlib.Path(tempfile.mkdtemp()) / "funnel.html", lang="es")
    >>> "Descubrimiento" in out.read_text(encoding="utf-8")
    True
    """
    from . import plotting

    lang = _check_lang(lang or getattr(result.journey, "lang", None) or "en")
    tx = _TEXT[lang]
    p = result.params
    labels = _labels(result, lang)
    table = result.table
    name = getattr(result.journey, "name", None)
    head_title = title or tx["title"]
    parts = ["<header class='top'>", f"<h1>{_esc(head_title)}</h1>"]
    sub = [" → ".join(labels)]
    if name:
        sub.insert(0, tx["journey_named"].format(name=name))
    rng = _data_range(events) if events is not None else None
    if rng:
        sub.append(f"{tx['period']}: {_date(rng[0], lang)} – {_date(rng[1], lang)}")
    parts.append(f"<p class='sub'>{_esc(' · '.join(sub))}</p></header>")

    # summary --------------------------------------------------------------------------
    entered = int(table["units"].iloc[0]) if len(table) else 0
    last = table.iloc[-1] if len(table) else None
    worst = None
    if len(table) > 1:
        k = int(np.nanargmax(table["dropoff_rate"].to_numpy(dtype=float)[1:])) + 1
        worst = (labels[k], table["dropoff_rate"].iloc[k])
    cards = [(tx["col_units"], _num(entered, lang), ""),
             (f"{tx['col_conversion']}: {labels[-1]}" if len(labels) else tx["col_conversion"],
              _pct(last["conversion_rate"], lang) if last is not None else "–", "")]
    if worst:
        cards.append((f"{tx['col_dropoff_rate']}: {worst[0]}", _pct(worst[1], lang), "warning"))
    cards.append((tx["window"], _esc(_window_text(p["window"], tx, lang)), ""))
    parts.append(f"<h2 id='summary'>{_esc(tx['summary'])}</h2>")
    parts.append(_cards([(k, v, c) for k, v, c in cards]))

    # design ---------------------------------------------------------------------------
    parts.append(f"<h2 id='design'>{_esc(tx['design'])}</h2>")
    items = [(tx["window"], _esc(_window_text(p["window"], tx, lang)) + (
        "" if p["window"] is None else f" ({_esc(tx['window_from_' + p['window_from']])})")),
             (tx["mode"], _esc(tx.get("mode_" + p["mode"], p["mode"]))),
             (tx["unit"], _esc(tx.get("unit_" + p["unit"], p["unit"])))]
    if p.get("exclude"):
        items.append((tx["exclusions"], _esc("; ".join(map(str, p["exclude"])))))
    if p.get("by"):
        att = str(p.get("attribution", ""))
        att_txt = tx.get("att_" + att, att)
        if att.startswith("step:"):
            att_txt = tx["att_step"].format(n=att.split(":", 1)[1])
        items.append((tx["breakdown"].format(by=p["by"]), _esc(att_txt)))
    parts.append(_dl(items))
    parts.append(f"<h3>{_esc(tx['stages'])}</h3>")
    parts.append(_stages_table(result, lang, tx))

    # table ----------------------------------------------------------------------------
    parts.append(f"<h2 id='table'>{_esc(tx['table'])}</h2>")
    notes = [tx["entered"].format(n=_num(entered, lang))]
    if result.diagnostics.get("units_excluded"):
        notes.append(tx["excluded"].format(n=_num(result.diagnostics["units_excluded"], lang)))
    if result.censored is not None and int(result.censored["censored"].sum()):
        notes.append(tx["censored"].format(n=_num(int(result.censored["censored"].sum()), lang)))
    rows = []
    for i, r in enumerate(table.itertuples()):
        rows.append([f"<b>{_esc(labels[i])}</b>", _num(r.units, lang), _pct(r.conversion_rate, lang),
                     _pct(r.step_conversion_rate, lang) if i else "–", _num(r.dropoff, lang) if i else "–",
                     _pct(r.dropoff_rate, lang) if i else "–", _dur(r.median_time_from_previous, lang)])
    parts.append(_table([tx["col_step"], tx["col_units"], tx["col_conversion"], tx["col_step_rate"],
                         tx["col_dropoff"], tx["col_dropoff_rate"], tx["col_median_prev"]], rows))
    parts.append("".join(f"<p class='note'>{_esc(n)}</p>" for n in notes))

    # figures ----------------------------------------------------------------------------
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = _new_fig(max(7.5, 1.5 * len(table) + 2), 4.6)
        plotting.funnel_bars(result, ax=fig.add_subplot(), lang=lang)
        parts.append(_fig_html(fig, tx["fig_bars_alt"].format(stages=", ".join(labels))))
        _close(fig)
        if result.breakdown is not None:
            by = str(p["by"])
            groups = result.breakdown.iloc[:, 0].nunique()
            parts.append(f"<h2 id='breakdown'>{_esc(tx['breakdown'].format(by=by))}</h2>")
            fig = _new_fig(9, max(2.8, 0.45 * groups + 1.6))
            plotting.breakdown(result, ax=fig.add_subplot(), lang=lang)
            parts.append(_fig_html(fig, tx["breakdown_alt"].format(by=by)))
            _close(fig)
        tb = _timing_frame(result) if len(table) > 1 else None
        if tb is not None and len(tb.table):
            parts.append(f"<h2 id='time'>{_esc(tx['time_between'])}</h2>")
            fig = _new_fig(10, 4.4)
            plotting.time_hist(tb, ax=fig.add_subplot(), lang=lang, labels=labels)
            parts.append(_fig_html(fig, tx["time_alt"]))
            _close(fig)
            fig = _new_fig(10, 4.4)
            plotting.time_cumulative(tb, ax=fig.add_subplot(), lang=lang, labels=labels)
            parts.append(_fig_html(fig, tx["time_alt"], tx["time_note"]))
            _close(fig)
            trows = []
            lab = dict(zip(result.steps, labels))
            for r in tb.table.itertuples():
                trows.append([_esc(f"{lab.get(r.from_step, r.from_step)} → {lab.get(r.to_step, r.to_step)}"),
                              _num(r.units_from, lang), _num(r.units, lang), _pct(r.rate, lang),
                              _dur(getattr(r, "p25", None), lang), _dur(getattr(r, "median", None), lang),
                              _dur(getattr(r, "p75", None), lang), _dur(getattr(r, "p90", None), lang)])
            parts.append(_table([tx["col_transition"], tx["col_from"], tx["col_units"], tx["col_conv"], tx["col_p25"],
                                 tx["col_median"], tx["col_p75"], tx["col_p90"]], trows))
        if touchpoint is None and events is not None:
            touchpoint = p.get("by") or ("channel" if "channel" in getattr(events, "columns", ()) else None)
        parts.extend(_events_sections(events, result, lang=lang, tx=tx, freq=freq, touchpoint=touchpoint,
                                      params=p, unit=True))
    parts.append(f"<footer>{_esc(tx['footer'].format(version=_version()))}</footer>")
    out = Path(path)
    out.write_text(page(head_title, "".join(parts), lang=lang), encoding="utf-8")
    return out


# --------------------------------------------------------------------------- experiment report
def _health_messages(exp: Any, lang: str) -> list[tuple[str, str]]:
    """(severity, message) of each health row, in ``lang`` (English messages are the core's)."""
    h = exp.health
    if lang == "en":
        return [(str(r.severity), str(r.message)) for r in h.itertuples()]
    out = []
    d = exp.diagnostics
    params = exp.params
    for r in h.itertuples():
        c = str(r.check)
        msg = None
        if c == "srm":
            msg = (f"Desajuste en el reparto de usuarios (SRM): el reparto difiere del previsto "
                   f"(χ² = {_fmt()._dec(exp.srm.chi2, 2, lang)}, p = {_pval(exp.srm.p_value, lang)}). Los resultados "
                   "pueden estar sesgados: revise la asignación y el seguimiento antes de fiarse de ellos.")
        elif c == "multiple_exposure":
            msg = (f"{_num(d.get('multiple_exposure_users', 0), lang)} usuarios aparecen en más de una variante; "
                   "se excluyen de todos los grupos.")
        elif c == "no_variant":
            msg = (f"{_num(d.get('users_without_variant', 0), lang)} usuarios no tienen valor en "
                   f"{params.get('variant_col')!r} y no forman parte del experimento.")
        elif c == "too_few_users":
            msg = (f"La variante {str(r.variant)!r} solo tiene {_num(r.value, lang)} usuarios "
                   f"(< {params.get('min_users')}): demasiado pocos para concluir.")
        elif c == "single_variant":
            msg = f"Solo una variante ({exp.control!r}) tiene usuarios: no hay nada que comparar."
        elif c == "zero_control":
            lab = dict(zip(exp.steps, _labels(exp, lang)))
            msg = (f"El control no tiene conversiones en {lab.get(r.step, r.step)}; la mejora relativa no "
                   "está definida ahí.")
        elif c == "suspicious_lift":
            lab = dict(zip(exp.steps, _labels(exp, lang)))
            msg = (f"La variante {str(r.variant)!r} cambia {lab.get(r.step, r.step)} un "
                   f"{_pct(r.value, lang, 0, sign=True)}: mejoras tan grandes son raras; revise el "
                   "seguimiento y la asignación antes de celebrarlo.")
        out.append((str(r.severity), msg or str(r.message)))
    return out


def _verdict_class(v: str) -> str:
    return {"significant increase": "up", "significant decrease": "down", "control": "ctrl"}.get(v, "none")


def _inherited(rate: float, control_rate: float, step_rate: float, control_step_rate: float) -> bool:
    """True when the conditional step rate changed by less than half as much (relatively) as
    the rate itself: the difference at this step was made at earlier steps (descriptive only,
    conditional rates are never tested)."""
    vals = (rate, control_rate, step_rate, control_step_rate)
    if not all(pd.notna(x) and x > 0 for x in vals):
        return False
    return abs(step_rate / control_step_rate - 1) < 0.5 * abs(rate / control_rate - 1)


def experiment_conclusions(exp: Any, lang: str = "en") -> list[str]:
    """One plain-language sentence per (treatment variant, step) of an ExperimentResult."""
    lang = _check_lang(lang)
    return _conclusions(exp, lang, _TEXT[lang], _labels(exp, lang))[0]


def _conclusions(exp: Any, lang: str, tx: dict[str, str], labels: list[str]) -> tuple[list[str], list[str]]:
    """Plain-language sentences per (treatment variant, step) and the bottom lines, from the table."""
    t = exp.table
    control = exp.control
    vcol = t["variant"].astype(str)
    ctrl = t[vcol == control].set_index("step")
    lab = dict(zip(exp.steps, labels))
    conf = _pct(1 - float(exp.params["alpha"]), lang, 0)
    power = exp.power.copy()
    power["variant"] = power["variant"].astype(str)
    pw = power.set_index(["variant", "step"]) if len(power) else None
    sentences, bottom = [], []
    for v in [x for x in exp.variants if str(x) != control]:
        ups, downs, few = [], [], 0
        for r in t[vcol == str(v)].itertuples():
            c = ctrl.loc[r.step]
            stage = lab.get(r.step, r.label)
            fmt = dict(v=v, c=control, stage=stage, rt=_pct(r.rate, lang), rc=_pct(c["rate"], lang), conf=conf,
                       d=_pts(r.abs_diff, lang), lo=_pts(r.abs_diff_ci_low, lang), hi=_pts(r.abs_diff_ci_high, lang),
                       l=_pct(r.rel_lift, lang, sign=True), llo=_pct(r.rel_lift_ci_low, lang, sign=True),
                       lhi=_pct(r.rel_lift_ci_high, lang, sign=True), p=_p_eq(r.p_adjusted, lang),
                       ctb=_chance(r.chance_to_beat_control, lang))
            if r.verdict == "too few users to conclude":
                s = tx["c_few"].format(n=exp.params.get("min_users", 100), **fmt)
                few += 1
            elif r.verdict in ("significant increase", "significant decrease"):
                s = tx["c_up" if r.verdict == "significant increase" else "c_down"].format(**fmt)
                i = list(exp.steps).index(r.step)
                if i and _inherited(r.rate, c["rate"], r.step_rate, c["step_rate"]):
                    s += tx["c_inherited"].format(prev=lab.get(exp.steps[i - 1]), srt=_pct(r.step_rate, lang),
                                                  src=_pct(c["step_rate"], lang))
                (ups if r.verdict == "significant increase" else downs).append(stage)
            elif r.verdict == "no significant difference":
                s = tx["c_none"].format(**fmt)
                if pw is not None and (str(v), r.step) in pw.index:
                    m = pw.loc[(str(v), r.step), "mde_abs"]
                    if pd.notna(m):
                        s += tx["c_mde"].format(m=_pts(m, lang, sign=False))
            elif r.rate == 1.0 and c["rate"] == 1.0:
                s = tx["c_all"].format(**fmt)
            elif r.verdict == "no difference":
                s = tx["c_same"].format(**fmt)
            else:
                s = tx["c_untestable"].format(**fmt)
            sentences.append(s)
        if ups:
            bottom.append(tx["bl_up"].format(v=v, stages=", ".join(ups)))
        if downs:
            bottom.append(tx["bl_down"].format(v=v, stages=", ".join(downs)))
        if few:
            bottom.append(tx["bl_few"].format(v=v))
        elif not ups and not downs:
            bottom.append(tx["bl_none"].format(v=v))
    return sentences, bottom


def experiment_report(
    result: Any,
    path: str | Path,
    *,
    lang: Literal["en", "es"] = "en",
    events: Any = None,
    touchpoint: str | None = "channel",
    freq: str = "D",
    title: str | None = None,
) -> Path:
    """Write the self-contained "test and optimize" HTML page of an A/B(/n) experiment.

    The page has: the title and the journey; a summary (exposed users, the bottom
    line per variant, the sample-ratio check); health banners (sample-ratio
    mismatch, too few users, users in several variants, suspiciously large lifts,
    from ``result.health`` and ``result.srm``); the design (journey stages with
    labels and events, window, variants and control, α, correction, test, CI
    method, sequential or fixed horizon); the per-step table (rates with CIs, step
    rates, difference and relative lift with CIs, adjusted p, chance to beat
    control, verdict); one plain-language conclusion per step; the figures
    (conversion by variant with CIs, time to convert per transition and variant,
    and with ``events=`` the conversion trend with incomplete windows and shifts,
    and the journey map with its top frictions); and the power table (MDE, power,
    users still needed).

    Parameters
    ----------
    result : ExperimentResult
        The result of :func:`funnelkit.experiment`.
    path : str or Path
        The HTML file to write.
    lang : {"en", "es"}, default "en"
        Language of the page, of the numbers (``56,6 %`` in Spanish) and of the
        stage labels.
    events : DataFrame, optional
        The event log of the experiment: adds the trend and the journey map.
    touchpoint : str or None, default "channel"
        The property whose values are the journey map's rows (``None``: no map).
    freq : str, default "D"
        Entry period of the trend (``"h"``, ``"D"``, ``"W"``, ``"M"``).
    title : str, optional
        The page title (default: "A/B test report" / "Informe del test A/B").

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import funnelkit as fk, tempfile, pathlib
    >>> ev = fk.datasets.make_shop(n_users=2000, seed=1)
    >>> exp = fk.experiment(ev, fk.datasets.shop_journey(), variant_col="variant", control="A")
    >>> out = experiment_report(exp, pathlib.Path(tempfile.mkdtemp()) / "ab.html", lang="es", events=ev)
    >>> "Conclusiones" in out.read_text(encoding="utf-8")
    True
    """
    from . import plotting

    lang = _check_lang(lang)
    tx = _TEXT[lang]
    p = result.params
    labels = _labels(result, lang)
    lab = dict(zip(result.steps, labels))
    t = result.table
    control = result.control
    variants = [str(v) for v in result.variants]
    alpha = float(p["alpha"])
    conf = _pct(1 - alpha, lang, 0)
    name = getattr(result.journey, "name", None)
    head_title = title or tx["title_exp"]
    parts = ["<header class='top'>", f"<p class='kicker'>{_esc(tx['kicker_exp'])}</p>", f"<h1>{_esc(head_title)}</h1>"]
    sub = [" → ".join(labels)]
    if name:
        sub.insert(0, tx["journey_named"].format(name=name))
    rng = _data_range(events) if events is not None else None
    if rng:
        sub.append(f"{tx['period']}: {_date(rng[0], lang)} – {_date(rng[1], lang)}")
    parts.append(f"<p class='sub'>{_esc(' · '.join(sub))}</p></header>")

    # summary -----------------------------------------------------------------------------------
    sentences, bottom = _conclusions(result, lang, tx, labels)
    exp_rows = result.exposure
    users_txt = " · ".join(f"{_esc(v)}: {_num(n, lang)}" for v, n in zip(exp_rows["variant"].astype(str),
                                                                        exp_rows["users"]))
    srm = result.srm
    srm_ok = not bool(getattr(srm, "flagged", False))
    n_err = int((result.health["severity"] == "error").sum()) if len(result.health) else 0
    n_warn = int((result.health["severity"] == "warning").sum()) if len(result.health) else 0
    parts.append(f"<h2 id='summary'>{_esc(tx['summary'])}</h2>")
    parts.append(_cards([
        (tx["exposure"], users_txt, ""),
        (tx["window"], _esc(_window_text(p["window"], tx, lang)), ""),
        ("SRM", ("✓ p = " if srm_ok else "✗ p = ") + _pval(getattr(srm, "p_value", np.nan), lang),
         "ok" if srm_ok else "error"),
        (tx["health"], "✓" if not (n_err or n_warn) else " · ".join(
            x for x in (tx["n_errors"].format(n=n_err) if n_err else "",
                        tx["n_warnings"].format(n=n_warn) if n_warn else "") if x),
         "ok" if not (n_err or n_warn) else ("error" if n_err else "warning")),
    ]))
    parts.append(f"<h3>{_esc(tx['bottom_line'])}</h3><ul class='conc'>"
                 + "".join(f"<li>{_esc(b)}</li>" for b in bottom) + "</ul>")

    # health ------------------------------------------------------------------------------------
    parts.append(f"<h2 id='health'>{_esc(tx['health'])}</h2>")
    msgs = _health_messages(result, lang)
    if not [m for m in msgs if m[0] in ("error", "warning")]:
        parts.append(_banner("ok", tx["all_ok"]))
    order = {"error": 0, "warning": 1, "info": 2}
    for sev, m in sorted(msgs, key=lambda sm: order.get(sm[0], 3)):
        parts.append(_banner(sev, m))
    if getattr(srm, "skipped", False):
        parts.append(f"<p class='note'>{_esc(tx['srm_skipped'].format(reason=getattr(srm, 'reason', '')))}</p>")
    else:
        parts.append(f"<p class='note'>{_esc(tx['srm_line'].format(chi2=_fmt()._dec(srm.chi2, 2, lang), p=_pval(srm.p_value, lang), thr=_fmt()._dec(srm.threshold, 3, lang)))}</p>")
    erows = [[_esc(v) + (f" <span class='pill ctrl'>{_esc(tx['control'])}</span>" if v == control else ""),
              _num(n, lang), _pct(s, lang), _pct(ps, lang)]
             for v, n, s, ps in zip(exp_rows["variant"].astype(str), exp_rows["users"], exp_rows["share"],
                                    exp_rows["planned_share"])]
    parts.append(_table([tx["col_variant"], tx["col_users"], tx["col_share"], tx["col_planned"]], erows))

    # design --------------------------------------------------------------------------------------
    parts.append(f"<h2 id='design'>{_esc(tx['design'])}</h2>")
    items = [
        (tx["variants"], ", ".join(_esc(v) + (f" ({_esc(tx['control'])})" if v == control else "") for v in variants)),
        (tx["window"], _esc(_window_text(p["window"], tx, lang)) + (
            "" if p["window"] is None else f" ({_esc(tx['window_from_' + p['window_from']])})")),
        (tx["mode"], _esc(tx.get("mode_" + p["mode"], p["mode"]))),
        (tx["alpha"], _esc(_fmt()._dec(alpha, 2, lang))),
        (tx["alternative"], _esc(tx.get("alt_" + p["alternative"], p["alternative"]))),
        (tx["test"], _esc(tx.get("test_" + p["test"], p["test"]))),
        (tx["correction"], _esc(tx.get("corr_" + p["correction"], p["correction"]))),
        (tx["ci_method"], _esc(str(p["ci_method"]).replace("_", " ").capitalize())),
        (tx["sequential"], _esc(tx["seq_yes"].format(n=_num(p["n_star"], lang)) if p["sequential"] else tx["seq_no"])),
    ]
    if p.get("bayes"):
        items.append((tx["bayes"], _esc(tx["bayes_yes"])))
    if p.get("exclude"):
        items.append((tx["exclusions"], _esc("; ".join(map(str, p["exclude"])))))
    parts.append(_dl(items))
    parts.append(f"<h3>{_esc(tx['stages'])}</h3>")
    parts.append(_stages_table(result, lang, tx))

    # results table ----------------------------------------------------------------------------------
    parts.append(f"<h2 id='results'>{_esc(tx['results'])}</h2>")
    parts.append(f"<p class='note'>{_esc(tx['results_note'].format(corr=tx.get('corr_' + p['correction'], p['correction'])))}</p>")
    rows, classes = [], []
    vcol = t["variant"].astype(str)
    for s in result.steps:
        block = t[t["step"] == s]
        block = pd.concat([block[vcol[block.index] == control], block[vcol[block.index] != control]])
        for j, r in enumerate(block.itertuples()):
            v = str(r.variant)
            is_c = v == control
            rate = f"{_pct(r.rate, lang)}<span class='ci'>{_pct(r.rate_ci_low, lang)} – {_pct(r.rate_ci_high, lang)}</span>"
            if is_c or pd.isna(r.p_adjusted):
                diff = lift = pcell = ctb = "–"
            else:
                diff = (f"{_pts(r.abs_diff, lang)}<span class='ci'>{_pts(r.abs_diff_ci_low, lang)} – "
                        f"{_pts(r.abs_diff_ci_high, lang)}</span>")
                lift = (f"{_pct(r.rel_lift, lang, sign=True)}<span class='ci'>{_pct(r.rel_lift_ci_low, lang, sign=True)}"
                        f" – {_pct(r.rel_lift_ci_high, lang, sign=True)}</span>")
                pcell = _pval(r.p_adjusted, lang)
                ctb = _chance(r.chance_to_beat_control, lang)
            verdict = f"<span class='pill {_verdict_class(r.verdict)}'>{_esc(tx.get('v_' + str(r.verdict), r.verdict))}</span>"
            stage_cell = f"<b>{_esc(lab.get(s, r.label))}</b>" if j == 0 else ""
            rows.append([stage_cell, _esc(v), _num(r.users, lang), _num(r.converters, lang), rate,
                         _pct(r.step_rate, lang), diff, lift, pcell, ctb, verdict])
            classes.append("grp" if j == 0 else "")
    parts.append(_table([tx["col_stage"], tx["col_variant"], tx["col_users"], tx["col_reached"],
                         tx["col_rate"].format(conf=conf), tx["col_step_rate"], tx["col_diff"].format(conf=conf),
                         tx["col_lift"].format(conf=conf), tx["col_p"], tx["col_ctb"], tx["col_verdict"]],
                        rows, left=2, row_classes=classes, wrap=(10,)))

    # conclusions ---------------------------------------------------------------------------------------
    parts.append(f"<h2 id='conclusions'>{_esc(tx['conclusions'])}</h2>")
    if not srm_ok:
        parts.append(_banner("error", tx["srm_caveat"]))
    parts.append("<ol class='conc'>" + "".join(f"<li>{_esc(s)}</li>" for s in sentences) + "</ol>")

    # figures -------------------------------------------------------------------------------------------
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parts.append(f"<h2 id='conversion'>{_esc(tx['fig_variants'])}</h2>")
        fig = _new_fig(max(8.0, 1.6 * len(labels) + 2), 4.8)
        plotting.variant_conversion(result, ax=fig.add_subplot(), lang=lang)
        parts.append(_fig_html(fig, tx["fig_variants_alt"].format(stages=", ".join(labels), conf=conf)))
        _close(fig)

        K = len(result.steps)
        if K > 1:
            parts.append(f"<h2 id='timing'>{_esc(tx['timing'])}</h2>")
            ncols = 2 if K - 1 > 1 else 1
            nrows = int(np.ceil((K - 1) / ncols))
            fig = _new_fig(11 if ncols == 2 else 7, 3.3 * nrows + 0.5)
            axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
            tbs = {v: _timing_frame(result.funnels[v]) for v in variants if v in result.funnels}
            for k in range(1, K):
                ax = axes[k - 1]
                for i, v in enumerate(variants):
                    tb = tbs.get(v)
                    if tb is None or not len(tb.durations):
                        continue
                    tr = tb.table["transition"].iloc[k - 1]
                    if not (tb.durations["transition"] == tr).any():
                        continue
                    plotting.time_cumulative(tb, k, ax=ax, lang=lang, labels=labels,
                                             color=plotting.PALETTE[i % len(plotting.PALETTE)],
                                             label=f"{v} ({tx['control']})" if v == control else v,
                                             title=f"{labels[k - 1]} → {labels[k]}")
                if ax.get_legend() is not None:
                    ax.get_legend().remove()
                if k - 1 < len(axes) - ncols:
                    ax.set_xlabel("")
            for ax in axes[K - 1:]:
                ax.set_visible(False)
            handles, hl = axes[0].get_legend_handles_labels()
            if handles:
                fig.legend(handles, hl, loc="outside upper right", ncols=len(handles), frameon=False, fontsize=9)
            parts.append(_fig_html(fig, tx["timing_alt"], tx["timing_note"]))
            _close(fig)
            if len(result.timing):
                trows = []
                for r in result.timing.itertuples():
                    a, b = (str(r.transition).split(" → ") + [""])[:2]
                    trows.append([_esc(f"{lab.get(a, a)} → {lab.get(b, b)}"), _esc(r.variant),
                                  _dur(r.median_control, lang), _dur(r.median_variant, lang),
                                  _num(r.n_control, lang), _num(r.n_variant, lang), _pval(r.p_value, lang)])
                parts.append(_table([tx["col_transition"], tx["col_variant"], tx["col_median_c"], tx["col_median_v"],
                                     tx["col_n_c"], tx["col_n_v"], tx["col_mw"]], trows, left=2))

        exp_params = dict(p)
        exp_params["unit"] = "user"
        parts.extend(_events_sections(events, result, lang=lang, tx=tx, freq=freq, touchpoint=touchpoint,
                                      params=exp_params, unit=False))

    # power ------------------------------------------------------------------------------------------------
    pw = result.power
    if len(pw):
        lift = _pct(p["target_lift"], lang, 0, sign=True)
        parts.append(f"<h2 id='power'>{_esc(tx['power'])}</h2>")
        parts.append(f"<p class='note'>{_esc(tx['power_note'].format(lift=lift, alpha=_fmt()._dec(alpha, 2, lang), power=_pct(p['power_target'], lang, 0)))}</p>")
        prow = []
        for r in pw.itertuples():
            prow.append([f"<b>{_esc(lab.get(r.step, r.step))}</b>", _esc(r.variant), _pct(r.baseline_rate, lang),
                         _num(r.users_per_arm, lang), _pts(r.mde_abs, lang, sign=False), _pct(r.mde_rel, lang),
                         _pct(r.power_at_target, lang, 0), _num(r.needed_per_arm, lang), _num(r.still_needed, lang)])
        parts.append(_table([tx["col_stage"], tx["col_variant"], tx["col_baseline"], tx["col_per_arm"], tx["col_mde"],
                             tx["col_mde_rel"], tx["col_power"].format(lift=lift), tx["col_needed"],
                             tx["col_still"]], prow, left=2))

    parts.append(f"<footer>{_esc(tx['footer'].format(version=_version()))}</footer>")
    out = Path(path)
    out.write_text(page(head_title, "".join(parts), lang=lang), encoding="utf-8")
    return out
