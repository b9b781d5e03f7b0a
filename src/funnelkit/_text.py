"""Plain-language sentences for results, in English and Spanish (private)."""

from __future__ import annotations

from typing import Any

import pandas as pd


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def conclusion(
    row: Any,
    *,
    control: Any,
    alpha: float,
    lang: str = "en",
    label: str | None = None,
    prev_label: str | None = None,
    control_rate: float = float("nan"),
    control_step_rate: float = float("nan"),
) -> str:
    """One sentence on a (variant, step) comparison row of an experiment table.

    The tested rate is the share of the variant's exposed users who reached the step
    (DESIGN §6). When a significant difference at a step comes with a similar
    conditional rate from the previous step, the sentence says the difference was
    inherited from earlier steps (descriptive only: conditional rates are not tested).
    """
    v = str(row["variant"])
    label = label or str(row["label"])
    what = f"{prev_label} → {label}" if prev_label else label
    conf = f"{1 - alpha:.0%}"
    d, lo, hi, p = row["abs_diff"], row["abs_diff_ci_low"], row["abs_diff_ci_high"], row["p_adjusted"]
    verdict = row["verdict"]
    es = lang == "es"
    if verdict == "too few users to conclude":
        return (f"Variante {v}: demasiado pocos usuarios para concluir sobre {what}." if es
                else f"Variant {v}: too few users to conclude on {what}.")
    if verdict == "no difference":
        return (f"{what}: todos los usuarios de ambas variantes llegan a esta etapa; no hay nada que comparar." if es
                else f"{what}: every user of both variants reaches this stage; there is nothing to compare.")
    if pd.isna(d) or pd.isna(p):
        return (f"Variante {v}: {what} no se puede comparar con el control {control}." if es
                else f"Variant {v}: {what} cannot be compared with control {control}.")
    rates = (f"{_pct(row['rate'])} de sus usuarios llegan a {label} frente a {_pct(control_rate)} en el control {control}"
             if es else f"{_pct(row['rate'])} of its users reach {label} vs {_pct(control_rate)} in control {control}")
    ci = (f"IC {conf} de {lo * 100:+.1f} a {hi * 100:+.1f} puntos; p ajustado = {p:.3g}" if es
          else f"{conf} CI {lo * 100:+.1f} to {hi * 100:+.1f} points; adjusted p = {p:.3g}")
    if p < alpha:
        pts = f"{abs(d) * 100:.1f}"
        if es:
            s = f"La variante {v} {'sube' if d > 0 else 'baja'} {what} en {pts} puntos: {rates} ({ci})."
        else:
            s = f"Variant {v} {'raises' if d > 0 else 'lowers'} {what} by {pts} points: {rates} ({ci})."
        sr, csr = row.get("step_rate", float("nan")), control_step_rate
        if prev_label and _inherited(row["rate"], control_rate, sr, csr):
            s += (f" Desde {prev_label} la tasa es parecida ({_pct(sr)} frente a {_pct(csr)}): "
                  "la diferencia viene sobre todo de etapas anteriores." if es else
                  f" From {prev_label} the step rate is similar ({_pct(sr)} vs {_pct(csr)}): "
                  "the difference comes mostly from earlier steps.")
        return s
    if es:
        return f"La variante {v} no muestra una diferencia significativa en {what}: {rates} ({ci})."
    return f"Variant {v} shows no significant difference on {what}: {rates} ({ci})."


def _inherited(rate: float, control_rate: float, step_rate: float, control_step_rate: float) -> bool:
    """True when the relative change of the conditional step rate is less than half the
    relative change of the rate itself (the difference was made at earlier steps)."""
    if not all(pd.notna(x) and x > 0 for x in (rate, control_rate, step_rate, control_step_rate)):
        return False
    rel_rate = rate / control_rate - 1
    rel_step = step_rate / control_step_rate - 1
    return abs(rel_step) < 0.5 * abs(rel_rate)
