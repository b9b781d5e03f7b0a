"""The experiment's health checks as banners, in the page's language.

English messages are the core's own (``ExperimentResult.health["message"]``); the
Spanish ones are written here from the same checks and numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._i18n import dec, num, pct, pval, step_labels

if TYPE_CHECKING:  # pragma: no cover
    from ..analyses.experiment import ExperimentResult

__all__ = ["health_messages"]


def health_messages(exp: ExperimentResult, lang: str) -> list[tuple[str, str]]:
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
                   f"(χ² = {dec(exp.srm.chi2, 2, lang)}, p = {pval(exp.srm.p_value, lang)}). Los resultados "
                   "pueden estar sesgados: revise la asignación y el seguimiento antes de fiarse de ellos.")
        elif c == "multiple_exposure":
            msg = (f"{num(d.get('multiple_exposure_users', 0), lang)} usuarios aparecen en más de una variante; "
                   "se excluyen de todos los grupos.")
        elif c == "no_variant":
            msg = (f"{num(d.get('users_without_variant', 0), lang)} usuarios no tienen valor en "
                   f"{params.get('variant_col')!r} y no forman parte del experimento.")
        elif c == "too_few_users":
            msg = (f"La variante {str(r.variant)!r} solo tiene {num(r.value, lang)} usuarios "
                   f"(< {params.get('min_users')}): demasiado pocos para concluir.")
        elif c == "single_variant":
            msg = f"Solo una variante ({exp.control!r}) tiene usuarios: no hay nada que comparar."
        elif c == "zero_control":
            lab = dict(zip(exp.steps, step_labels(exp, lang)))
            msg = (f"El control no tiene conversiones en {lab.get(r.step, r.step)}; la mejora relativa no "
                   "está definida ahí.")
        elif c == "exposed_outside_range":
            msg = (f"{num(r.value, lang)} usuarios tuvieron su primera exposición fuera del periodo analizado y "
                   "no forman parte del experimento.")
        elif c == "suspicious_lift":
            lab = dict(zip(exp.steps, step_labels(exp, lang)))
            msg = (f"La variante {str(r.variant)!r} cambia {lab.get(r.step, r.step)} un "
                   f"{pct(r.value, lang, 0, sign=True)}: mejoras tan grandes son raras; revise el "
                   "seguimiento y la asignación antes de celebrarlo.")
        out.append((str(r.severity), msg or str(r.message)))
    return out
