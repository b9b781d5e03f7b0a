"""The experiment report's section on per-user metrics (revenue per user, orders, ratios,
guardrails): a table per metric and the notes on capping, CUPED and margins, in the page's
language and number formats."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ._html import esc, html_table
from ._i18n import chance, date, pct, pval
from ._i18n_experiment import digits_for, signed_value, value

if TYPE_CHECKING:  # pragma: no cover
    from ..analyses.experiment import ExperimentResult

__all__ = ["metrics_section"]


def _what(m, tx: dict[str, str]) -> str:
    ev = " | ".join(m.events) if m.events else "*"
    if m.kind == "ratio":
        return tx["kind_ratio"].format(num=m.numerator.display(), den=m.denominator.display())
    if m.kind == "count":
        return tx["kind_count"].format(ev=ev)
    s = tx["kind_" + m.kind].format(col=m.column)
    return s + (tx["over_events"].format(ev=ev) if m.events else "")


def metrics_section(result: ExperimentResult, lang: str, tx: dict[str, str], conf: str, control: str,
                    verdict_class) -> list[str]:
    """HTML parts of the metrics section ([] when the experiment has no metrics)."""
    metrics = list(result.params.get("metrics", []))
    if not metrics:
        return []
    t = result.table
    end = result.params.get("end")
    parts = [f"<h2 id='metrics'>{esc(tx['metrics'])}</h2>",
             f"<p class='note'>{esc(tx['metrics_note'].format(until=tx['until'].format(end=date(end, lang)) if end is not None else ''))}</p>"]
    rows, classes, notes = [], [], []
    for m in metrics:
        block = t[t["metric"] == m.name]
        block = pd.concat([block[block["variant"].astype(str) == control], block[block["variant"].astype(str) != control]])
        dg = digits_for(block["mean"].abs().max())
        for j, r in enumerate(block.itertuples()):
            is_c = str(r.variant) == control
            mean = (f"{value(r.mean, lang, dg)}<span class='ci'>{value(r.mean_ci_low, lang, dg)} – "
                    f"{value(r.mean_ci_high, lang, dg)}</span>")
            if is_c or pd.isna(r.p_value):
                diff = lift = pcell = "–"
            else:
                diff = (f"{signed_value(r.abs_diff, lang, dg)}<span class='ci'>{signed_value(r.abs_diff_ci_low, lang, dg)}"
                        f" – {signed_value(r.abs_diff_ci_high, lang, dg)}</span>")
                lift = (f"{pct(r.rel_lift, lang, sign=True)}<span class='ci'>{pct(r.rel_lift_ci_low, lang, sign=True)}"
                        f" – {pct(r.rel_lift_ci_high, lang, sign=True)}</span>")
                pcell = f"{pval(r.p_adjusted, lang)}<span class='ci'>{chance(r.chance_to_beat_control, lang)}</span>"
            verdict = (f"<span class='pill {verdict_class(r.verdict)}'>{esc(tx.get('v_' + str(r.verdict), r.verdict))}</span>"
                       if r.verdict else "")
            name = ""
            if j == 0:
                role = f" <span class='pill ctrl'>{esc(tx['role_guardrail'])}</span>" if m.role == "guardrail" else ""
                name = f"<b>{esc(m.display(lang))}</b>{role}<span class='ci'>{esc(_what(m, tx))}</span>"
            total = value(r.total, lang, 0 if m.kind == 'count' else 2) + (f"<span class='ci'>/ {value(r.denominator_total, lang, 0)}</span>"
                                              if m.kind == "ratio" else "")
            rows.append([name, esc(str(r.variant)), value(r.users, lang, 0), mean, total, diff, lift, pcell, verdict])
            classes.append("grp" if j == 0 else "")
        r0 = block.iloc[-1]
        if m.cap is not None:
            notes.append(tx["cap_fixed"].format(metric=m.display(lang), cap=value(m.cap, lang)))
        elif m.cap_quantile is not None and pd.notna(r0["cap"]):
            notes.append(tx["cap_quantile"].format(metric=m.display(lang), q=value(m.cap_quantile, lang),
                                                   cap=value(r0["cap"], lang)))
        if m.cuped:
            red = block["variance_reduction"].dropna()
            days = f"{m.pre_period.days} " + ("días" if lang == "es" else "days")
            for v, x in zip(block.loc[red.index, "variant"], red):
                notes.append(tx["cuped_note"].format(metric=m.display(lang), days=days, red=pct(x, lang, 0), v=v))
        if m.role == "guardrail":
            notes.append(tx["guard_note"].format(metric=m.display(lang), margin=pct(m.margin, lang, 0)))
    head = [tx["col_metric"], tx["col_variant"], tx["col_users"], tx["col_mean"].format(conf=conf), tx["col_total"],
            tx["col_abs"].format(conf=conf), tx["col_lift"].format(conf=conf), tx["col_p"], tx["col_verdict"]]
    parts.append(html_table(head, rows, left=2, row_classes=classes, wrap=(0, 8)))
    parts.extend(f"<p class='note'>{esc(n)}</p>" for n in notes)
    return parts
