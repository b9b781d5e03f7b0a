"""The words of the figures, in English and Spanish (titles, axis labels, legends, notes)."""

from __future__ import annotations

#: ``TEXT[lang][key]``; keys with ``{...}`` are formatted by the plotting functions.
TEXT: dict[str, dict[str, str]] = {
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

