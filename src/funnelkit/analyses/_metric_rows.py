"""The rows of ``exp.table`` for per-user metrics: per-arm means with their intervals and,
for each treatment arm, the comparison with control (Welch on means, delta-method lift,
CUPED, ratios, guardrail margins, Bayesian chance to beat control), from per-user values.

Statistics come from :mod:`funnelkit.stats` (``mean_test``, ``sample_moments``,
``ratio_moments``, ``cuped``, ``mean_bayes_test``); this module only sums per-arm values.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import stats
from ..errors import StatisticsWarning
from ._metric_values import UserValues
from .metrics import Metric

__all__ = ["metric_rows"]


def _sums(x: np.ndarray) -> tuple[float, float, float]:
    return float(x.size), float(x.sum()), float((x * x).sum())


def metric_rows(m: Metric, uv: UserValues, masks: list[np.ndarray], variants: list[Any], *, alpha: float,
                alternative: str, sequential: bool, n_star: float, bayes: bool, lang: str = "en") -> list[dict]:
    """One row per variant (control first) of metric ``m``; comparison columns on treatments."""
    from scipy import stats as sps

    rows = []
    arms = []
    for mask in masks:
        post = uv.post[mask]
        if m.kind == "mean":
            post = post[np.isfinite(post)]
        if m.kind == "ratio":
            assert uv.den is not None
            den = uv.den[mask]
            n, sm, ssm = _sums(post)
            _, sd, ssd = _sums(den)
            mean, var = stats.ratio_moments(n, sm, ssm, sd, ssd, float((post * den).sum()))
            arms.append(dict(n=n, mean=mean, var=var, total=sm, den_total=sd, post=post, den=den))
        else:
            n, s, ss = _sums(post)
            mean, var = stats.sample_moments(n, s, ss)
            pre = uv.pre[mask] if uv.pre is not None else None
            arms.append(dict(n=n, mean=mean, var=var, total=s, den_total=np.nan, post=post, pre=pre))
    label = m.display(lang)
    for i, (v, a) in enumerate(zip(variants, arms)):
        n = a["n"]
        with np.errstate(invalid="ignore", divide="ignore"):
            half = sps.t.ppf(1 - alpha / 2, n - 1) * np.sqrt(a["var"] / n) if n > 1 else np.nan
        rows.append(dict(metric=m.name, kind=m.kind, role=m.role, variant=v, step=None, label=label,
                         users=int(n), mean=a["mean"] if n else np.nan,
                         mean_ci_low=a["mean"] - half, mean_ci_high=a["mean"] + half,
                         std=float(np.sqrt(a["var"])) if n > 1 else np.nan, total=a["total"],
                         denominator_total=a["den_total"], margin=m.margin if m.margin is not None else np.nan,
                         cap=np.nan if uv.cap is None else uv.cap))
    c = arms[0]
    for i in range(1, len(arms)):
        t = arms[i]
        base = dict(base_c=None, base_t=None)
        mc, vc, mt, vt = c["mean"], c["var"], t["mean"], t["var"]
        red = np.nan
        if m.cuped and c.get("pre") is not None:
            cu = stats.cuped(c["n"], c["total"], float((c["post"] ** 2).sum()), float(c["pre"].sum()),
                             float((c["pre"] ** 2).sum()), float((c["post"] * c["pre"]).sum()),
                             t["n"], t["total"], float((t["post"] ** 2).sum()), float(t["pre"].sum()),
                             float((t["pre"] ** 2).sum()), float((t["post"] * t["pre"]).sum()))
            mc, vc, mt, vt = cu.mean_c, cu.var_c, cu.mean_t, cu.var_t
            base = dict(base_c=cu.base_c, base_t=cu.base_t)
            red = cu.variance_reduction
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticsWarning)
            r = stats.mean_test(mc, vc, c["n"], mt, vt, t["n"], alpha=alpha, alternative=alternative,
                                sequential=sequential, n_star=n_star, margin=m.margin,
                                higher_is_better=m.higher_is_better, **base)
            if bayes:
                b = stats.mean_bayes_test(mc, vc, c["n"], mt, vt, t["n"], relative=False, **base)
                ctb, loss = b.chance_to_beat_control, b.expected_loss
                if not m.higher_is_better:
                    ctb, loss = 1 - ctb, b.expected_loss_control
            else:
                ctb = loss = np.nan
        rows[i].update(abs_diff=r.abs_diff, abs_diff_ci_low=r.abs_ci_low, abs_diff_ci_high=r.abs_ci_high,
                       rel_lift=r.lift, rel_lift_ci_low=r.lift_ci_low, rel_lift_ci_high=r.lift_ci_high,
                       p_value=r.noninferiority_p_value if m.role == "guardrail" else r.p_value,
                       chance_to_beat_control=ctb, expected_loss=loss, variance_reduction=red)
    return rows
