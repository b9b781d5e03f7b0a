"""Plain-language conclusions of an experiment: one sentence per (treatment variant, step), and bottom lines."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import pandas as pd

from ..plotting._inputs import require
from ._i18n import chance, check_lang, p_eq, pct, pts, step_labels

if TYPE_CHECKING:  # pragma: no cover
    from ..analyses.experiment import ExperimentResult

__all__ = ["experiment_conclusions"]


def experiment_conclusions(exp: ExperimentResult, lang: Literal["en", "es"] = "en") -> list[str]:
    """One plain-language sentence per (treatment variant, step) of an ExperimentResult.

    Each sentence reads the row of ``exp.table``: the verdict, the rates of the
    variant and the control, the difference in points and the relative lift with
    their confidence intervals, the adjusted p-value and the chance to beat control
    (the minimum detectable effect when nothing is significant). When the step rate
    hardly moved, the sentence says that the difference comes from earlier steps.

    Parameters
    ----------
    exp : ExperimentResult
        The result of :func:`funnelkit.experiment`.
    lang : {"en", "es"}, default "en"
        Language of the sentences, numbers and stage labels.

    Returns
    -------
    list of str
        One sentence per treatment variant and step, in the table's order.

    Examples
    --------
    >>> import funnelkit as fk
    >>> ev = fk.datasets.make_shop(n_users=2000, seed=1)
    >>> exp = fk.experiment(ev, fk.datasets.shop_journey(), variant_col="variant", control="A")
    >>> sentences = experiment_conclusions(exp, "es")
    >>> len(sentences) == len(exp.steps)
    True
    >>> sentences[2][:60]
    'La variante B aumenta el porcentaje de usuarios expuestos qu'
    >>> experiment_conclusions(exp)[0]
    'Every exposed user of both arms reaches Discovery (B and control A): nothing to compare.'

    """
    require(exp, "ExperimentResult", func="experiment_conclusions", who="reports")
    lang = check_lang(lang)
    from ._i18n_experiment import exp_text

    return _conclusions(exp, lang, exp_text(lang, exp.control), step_labels(exp, lang))[0]


def _conclusions(exp: ExperimentResult, lang: str, tx: dict[str, str], labels: list[str]) -> tuple[list[str], list[str]]:
    """Plain-language sentences per (treatment variant, step) and the bottom lines, from the table."""
    t = exp.table
    if "kind" in t.columns:
        t = t[t["kind"] == "conversion"].reset_index(drop=True)
    control = exp.control
    vcol = t["variant"].astype(str)
    ctrl = t[vcol == control].set_index("step")
    lab = dict(zip(exp.steps, labels))
    conf = pct(1 - float(exp.params["alpha"]), lang, 0)
    power = exp.power.copy()
    power["variant"] = power["variant"].astype(str)
    pw = power.set_index(["variant", "step"]) if len(power) else None
    sentences, bottom = [], []
    for v in [x for x in exp.variants if str(x) != control]:
        ups, downs, few = [], [], 0
        for r in t[vcol == str(v)].itertuples():
            c = ctrl.loc[r.step]
            stage = lab.get(r.step, r.label)
            fmt = dict(v=v, c=control, stage=stage, rt=pct(r.rate, lang), rc=pct(c["rate"], lang), conf=conf,
                       d=pts(r.abs_diff, lang), lo=pts(r.abs_diff_ci_low, lang), hi=pts(r.abs_diff_ci_high, lang),
                       l=pct(r.rel_lift, lang, sign=True), llo=pct(r.rel_lift_ci_low, lang, sign=True),
                       lhi=pct(r.rel_lift_ci_high, lang, sign=True), p=p_eq(r.p_adjusted, lang),
                       ctb=chance(r.chance_to_beat_control, lang))
            if r.verdict == "too few users to conclude":
                s = tx["c_few"].format(n=exp.params.get("min_users", 100), **fmt)
                few += 1
            elif r.verdict in ("significant increase", "significant decrease"):
                s = tx["c_up" if r.verdict == "significant increase" else "c_down"].format(**fmt)
                i = list(exp.steps).index(r.step)
                if i and _inherited(r.rate, c["rate"], r.step_rate, c["step_rate"]):
                    s += tx["c_inherited"].format(prev=lab.get(exp.steps[i - 1]), srt=pct(r.step_rate, lang),
                                                  src=pct(c["step_rate"], lang))
                (ups if r.verdict == "significant increase" else downs).append(stage)
            elif r.verdict == "no significant difference":
                s = tx["c_none"].format(**fmt)
                if pw is not None and (str(v), r.step) in pw.index:
                    m = pw.loc[(str(v), r.step), "mde_abs"]
                    if pd.notna(m):
                        s += tx["c_mde"].format(m=pts(m, lang, sign=False))
            elif r.rate == 1.0 and c["rate"] == 1.0:  # no verdict: 100 % vs 100 %
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


def _inherited(rate: float, control_rate: float, step_rate: float, control_step_rate: float) -> bool:
    """True when the conditional step rate changed by less than half as much (relatively) as
    the rate itself: the difference at this step was made at earlier steps (descriptive only,
    conditional rates are never tested)."""
    vals = (rate, control_rate, step_rate, control_step_rate)
    if not all(pd.notna(x) and x > 0 for x in vals):
        return False
    return abs(step_rate / control_step_rate - 1) < 0.5 * abs(rate / control_rate - 1)


def effect_lines(exp: ExperimentResult, lang: str, tx: dict[str, str], labels: list[str]) -> list[str]:
    """The size of every significant effect, for the report's first screen, e.g.
    "B: purchase +2.7 points (+21%, CI +12.6% to +29.3%)"; and each guardrail's verdict."""
    from ._i18n_experiment import digits_for, signed_value

    t = exp.table
    lab = dict(zip(exp.steps, labels))
    metrics = {m.name: m for m in exp.params.get("metrics", [])}
    out = []
    sig = t["verdict"].isin(["significant increase", "significant decrease"])
    for r in t[sig].itertuples():
        fmt = dict(v=r.variant, l=pct(r.rel_lift, lang, 0, sign=True), llo=pct(r.rel_lift_ci_low, lang, sign=True),
                   lhi=pct(r.rel_lift_ci_high, lang, sign=True))
        kind = getattr(r, "kind", "conversion")
        if kind == "conversion":
            out.append(tx["eff_step"].format(stage=lab.get(r.step, r.label), d=pts(r.abs_diff, lang), **fmt))
        else:
            m = metrics.get(r.metric)
            name = m.display(lang) if m is not None else r.label
            d = signed_value(r.abs_diff, lang, digits_for(r.mean))
            out.append(tx["eff_ratio" if kind == "ratio" else "eff_metric"].format(metric=name, d=d, **fmt))
    if "role" in t.columns:
        for r in t[(t["role"] == "guardrail") & (t["verdict"].isin(["not worse", "worse", "inconclusive"]))].itertuples():
            m = metrics.get(r.metric)
            out.append(tx["eff_guard"].format(metric=m.display(lang) if m is not None else r.label, v=r.variant,
                                              verdict=tx.get("v_" + r.verdict, r.verdict),
                                              margin=pct(r.margin, lang, 0)))
    return out
