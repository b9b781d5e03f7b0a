"""The journey's stages as the reports show them: each stage's label, name and rules in words."""

from __future__ import annotations

from typing import Any

from ._html import esc, html_table
from ._i18n import stage_label, step_labels

__all__ = ["rule_text", "stages_table"]


def rule_text(rule: Any, lang: str, stage_labels: dict[str, str]) -> str:
    """A stage rule in words: event names, patterns, ``where=`` conditions, ``repeat()`` and ``after()``."""
    from ..journey.rules import AfterRule, RepeatRule, Rule

    if isinstance(rule, RepeatRule):
        inner = rule_text(rule.rule, lang, stage_labels)
        return (f"{rule.nth}.ª aparición de {inner}" if lang == "es" else f"occurrence #{rule.nth} of {inner}")
    if isinstance(rule, AfterRule):
        inner = rule_text(rule.rule, lang, stage_labels)
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


def stages_table(obj: Any, lang: str, tx: dict[str, str]) -> str:
    """The table of the journey's stages: number, label, name and the events that make each stage.

    The one place of a page that shows every label, stage name and event name in full
    (figures and the other tables cut long ones with an ellipsis).
    """
    labels = step_labels(obj, lang)
    journey = obj.journey
    stages: dict[str, Any] = {}
    try:
        stages = {s.name: s for s in journey.stages}
        stage_labels = {s.name: stage_label(s, lang) for s in journey._all_stages()}
    except Exception:
        stage_labels = {}
    rows = []
    for i, (name, lab) in enumerate(zip(obj.steps, labels), start=1):
        st = stages.get(name)
        ev = "; ".join(rule_text(r, lang, stage_labels) for r in st.rules) if st is not None else ""
        rows.append([str(i), f"<b>{esc(lab)}</b>", f"<code>{esc(name)}</code>", esc(ev)])
    return html_table([tx["col_n"], tx["col_label"], tx["col_stage"], tx["col_events"]], rows, left=4)

