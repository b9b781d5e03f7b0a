"""A/B experiments on funnels: per-step significance, health checks, power ("testea y optimiza").

The unit of randomization is the user (DESIGN §6). A variant's *exposed* users are
all users whose events carry that variant value; a user seen with two values is
reported and left out. An exposed user who never enters the funnel counts with
level 0. Every step's rate has the exposed users of its variant as denominator;
conditional step rates are shown but never tested across arms.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._polars import PolarsMixin

from .. import stats
from .._params import check_choice
from ..errors import ParameterError, StatisticsWarning
from .funnel import FunnelResult

__all__ = ["experiment", "ExperimentResult", "EXPERIMENT_COLUMNS"]

#: Columns of :attr:`ExperimentResult.table`, in order. Conversion rows (one per variant
#: and funnel step, ``metric="conversion"``) fill ``converters``/``rate``/``step_rate`` and
#: leave the metric columns NaN; per-user metric rows (one per metric and variant,
#: ``step`` None) fill ``mean``/``std``/``total`` and leave the rate columns NaN.
EXPERIMENT_COLUMNS: tuple[str, ...] = (
    "metric",
    "kind",
    "role",
    "variant",
    "step",
    "label",
    "users",
    "converters",
    "rate",
    "rate_ci_low",
    "rate_ci_high",
    "step_rate",
    "mean",
    "mean_ci_low",
    "mean_ci_high",
    "std",
    "total",
    "denominator_total",
    "abs_diff",
    "abs_diff_ci_low",
    "abs_diff_ci_high",
    "rel_lift",
    "rel_lift_ci_low",
    "rel_lift_ci_high",
    "p_value",
    "p_adjusted",
    "chance_to_beat_control",
    "expected_loss",
    "margin",
    "cap",
    "variance_reduction",
    "verdict",
)

#: Verdicts of guardrail metrics (non-inferiority with a margin).
GUARDRAIL_VERDICTS = ("not worse", "worse", "inconclusive")

SUSPICIOUS_LIFT = 0.5

#: Columns of :attr:`ExperimentResult.health`: the check's structured fields (variant,
#: step, value: a count, a p-value or a lift) and an English message built from them.
HEALTH_COLUMNS: tuple[str, ...] = ("severity", "check", "variant", "step", "value", "message")


@dataclass(frozen=True)
class ExperimentResult(PolarsMixin):
    """The result of :func:`experiment`.

    Attributes
    ----------
    table : DataFrame
        Tidy, with :data:`EXPERIMENT_COLUMNS`: one row per (variant, step) of the funnel
        (``metric="conversion"``), then one row per (metric, variant) of each per-user
        metric. ``users`` is the denominator: the variant's exposed users (for a ``mean``
        metric, those with a value); ``converters`` those who reached the step; ``mean``
        the metric per user (a ratio: Σ numerator / Σ denominator, with ``total`` and
        ``denominator_total``), ``std`` its per-user standard deviation, ``mean_ci_*`` the
        arm's interval. For CUPED metrics ``mean`` is unadjusted and ``abs_diff``/``rel_lift``
        are adjusted, with ``variance_reduction``; ``cap`` is the winsorizing value used;
        ``margin`` a guardrail's non-inferiority margin (its ``p_value`` is the
        non-inferiority test's). Comparison columns are NaN on control rows. ``abs_diff`` is
        the difference of rates, ``rel_lift`` the relative lift (delta-method CI);
        ``p_value`` is from the chosen test (sequential when ``sequential=True``),
        ``p_adjusted`` corrected over the primary family (steps × variants and primary
        metrics × variants; guardrails form their own family); ``chance_to_beat_control``
        and ``expected_loss`` are Bayesian (Beta(1, 1) priors for rates, the normal
        approximation for metrics, loss in the metric's units). ``verdict`` is empty
        where no test makes sense (every user of both arms reached the step: 100 % vs
        100 %); guardrails get "not worse", "worse" or "inconclusive".
    srm : stats.SRMResult
        Sample-ratio check of exposed users against the planned weights.
    health : DataFrame
        One row per warning (:data:`HEALTH_COLUMNS`): ``severity`` ("error", "warning",
        "info"), ``check`` (srm, multiple_exposure, no_variant, single_variant,
        too_few_users, zero_control, suspicious_lift), the ``variant``/``step``/``value``
        it concerns and a plain-language English ``message``. Empty when all is well.
    timing : DataFrame
        Time-to-convert per transition and variant compared with control
        (Mann–Whitney U): medians, sizes, ``u_statistic`` and ``p_value``.
    power : DataFrame
        Per (variant, step): the minimum detectable effect at the current sample size
        (absolute and relative), the power to detect ``target_lift`` and the users per
        arm still needed for it.
    exposure : DataFrame
        Exposed users per variant, their share and the planned share.
    funnels : Mapping
        The :class:`~funnelkit.FunnelResult` of each variant's exposed users, by variant
        name (a read-only mapping: each one is built on first access).
    diagnostics : dict
        Users seen in several variants (left out), users without a variant, etc.
    params : dict
        The parameters that made the result.
    """

    table: pd.DataFrame
    srm: Any
    health: pd.DataFrame
    timing: pd.DataFrame
    power: pd.DataFrame
    exposure: pd.DataFrame
    funnels: Mapping[str, FunnelResult]
    diagnostics: dict[str, Any]
    params: dict[str, Any]
    steps: tuple[str, ...]
    labels: tuple[str, ...]
    journey: Any = field(repr=False, default=None)

    @property
    def control(self) -> str:
        return str(self.params["control"])

    @property
    def variants(self) -> tuple[str, ...]:
        return tuple(self.exposure["variant"].astype(str))

    @property
    def conversion(self) -> pd.DataFrame:
        """The funnel rows of :attr:`table` (one per variant and step)."""
        return self.table[self.table["kind"] == "conversion"].reset_index(drop=True)

    @property
    def metrics(self) -> pd.DataFrame:
        """The per-user metric rows of :attr:`table` (one per metric and variant)."""
        return self.table[self.table["kind"] != "conversion"].reset_index(drop=True)

    def to_frame(self) -> pd.DataFrame:
        """The per-(variant, step) table (a copy)."""
        return self.table.copy()

    def summary(self) -> pd.DataFrame:
        """The comparison rows only (treatment variants), with the key columns."""
        cols = ["metric", "variant", "step", "rate", "mean", "abs_diff", "rel_lift", "rel_lift_ci_low",
                "rel_lift_ci_high", "p_adjusted", "chance_to_beat_control", "verdict"]
        return self.table.loc[self.table["variant"] != self.control, cols].reset_index(drop=True)

    def conclusions(self, lang: Literal["en", "es"] = "en") -> list[str]:
        """One plain-language sentence per (treatment variant, step), in English or Spanish."""
        from ..report import experiment_conclusions

        return experiment_conclusions(self, lang)

    def _labels(self, lang: str) -> tuple[str, ...]:
        try:
            return tuple(self.journey.labels(lang))
        except Exception:
            return self.labels

    def plot(self, kind: str = "conversion", *, ax: Any = None, **kwargs: Any):
        """Step conversion by variant with CI error bars; see :mod:`funnelkit.plotting`."""
        from .. import plotting

        return plotting.plot_result(self, kind=kind, ax=ax, **kwargs)

    def report(self, path: Any, *, lang: Literal["en", "es"] = "en", **kwargs: Any):
        """Write the self-contained HTML experiment report; see :mod:`funnelkit.report`."""
        from .. import report

        return report.experiment_report(self, path, lang=lang, **kwargs)

    def __repr__(self) -> str:
        p = self.params
        head = (
            f"ExperimentResult(variants={list(self.variants)}, control={self.control!r}, "
            f"{len(self.steps)} steps, alpha={p['alpha']}, correction={p['correction']!r})"
        )
        cols = ["metric", "variant", "step", "users", "rate", "mean", "rel_lift", "p_adjusted", "verdict"]
        with pd.option_context("display.width", 160, "display.max_columns", 20):
            body = self.table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}")
        warn_lines = [f"[{r.severity}] {r.message}" for r in self.health.itertuples()]
        return "\n".join([head, body, *warn_lines])

    def _repr_html_(self) -> str:
        cols = ["metric", "variant", "step", "users", "converters", "rate", "rate_ci_low", "rate_ci_high", "mean",
                "rel_lift", "rel_lift_ci_low", "rel_lift_ci_high", "p_adjusted", "chance_to_beat_control", "verdict"]
        t = self.table[cols].copy()
        for c in ("rate", "rate_ci_low", "rate_ci_high", "rel_lift", "rel_lift_ci_low", "rel_lift_ci_high",
                  "chance_to_beat_control"):
            t[c] = t[c].map(lambda v: "" if pd.isna(v) else f"{v:.1%}")
        t["p_adjusted"] = t["p_adjusted"].map(lambda v: "" if pd.isna(v) else f"{v:.4f}")
        t["mean"] = t["mean"].map(lambda v: "" if pd.isna(v) else f"{v:.4g}")
        t["step"] = t["step"].map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else v)
        banners = "".join(
            f"<p style='margin:2px 0;color:{'#b00' if r.severity == 'error' else '#a60'}'>"
            f"{html.escape(r.message)}</p>"
            for r in self.health.itertuples()
        )
        cap = html.escape(
            f"Experiment: control {self.control}, α = {self.params['alpha']}, correction {self.params['correction']}"
        )
        return f"<div class='funnelkit-result'><p><b>{cap}</b></p>{banners}{t.to_html(index=False, border=0)}</div>"


# --------------------------------------------------------------------------- main API


def experiment(
    events: Any,
    journey_or_steps: Any,
    *,
    variant_col: str,
    control: Any,
    window: str | pd.Timedelta | None = "7D",
    mode: Literal["ordered", "strict", "any_order"] = "ordered",
    window_from: Literal["entry", "previous"] = "entry",
    weights: Sequence[float] | Mapping[Any, float] | None = None,
    alpha: float = 0.05,
    alternative: Literal["two-sided", "larger", "smaller"] = "two-sided",
    correction: Literal["holm", "bh", "none"] = "holm",
    test: Literal["welch", "z_pooled"] = "welch",
    ci_method: Literal["wilson", "wald", "agresti_coull", "clopper_pearson", "jeffreys"] = "wilson",
    sequential: bool = False,
    n_star: float = 5000,
    bayes: bool = True,
    target_lift: float = 0.10,
    power_target: float = 0.8,
    min_users: int = 100,
    exclude: Sequence[tuple[Any, Any, Any]] | None = None,
    start: Any = None,
    end: Any = None,
    lang: Literal["en", "es"] | None = None,
    memory_budget: int | str | None = None,
    metrics: Sequence[Any] | None = None,
    tmp_dir: Any = None,
) -> ExperimentResult:
    """Compare a funnel and per-user metrics across the variants of an A/B(/n) test.

    Parameters
    ----------
    events : DataFrame or anything :func:`funnelkit.read_events` accepts
        The event log; ``variant_col`` holds each user's variant.
    journey_or_steps : Journey or list
        The funnel (as for :func:`funnelkit.funnel`).
    variant_col : str
        Column with the variant of the user (on at least one of their events).
    control : scalar
        The control variant's value; every other variant is compared with it.
    window, mode, window_from, exclude, lang, memory_budget, tmp_dir
        As in :func:`funnelkit.funnel` (the unit is always the user).
    start, end : str or Timestamp, optional
        The analysed range ``[start, end)``: it bounds each user's *first exposure* (their
        first event with a ``variant_col`` value), so a user first exposed outside it is
        in no arm and in no denominator (counted in ``diagnostics`` and ``health``); as in
        :func:`funnelkit.funnel`, step-1 events must also fall within it. The report
        states the range.
    weights : sequence or mapping, optional
        Planned traffic split for the sample-ratio check (default: equal).
    alpha : float, default 0.05
    alternative : {"two-sided", "larger", "smaller"}
        "larger": the variant is hoped to raise conversion, "smaller": to lower it (the
        power columns then describe a decrease of ``target_lift``). One-sided tests are
        fixed-horizon only: with ``sequential=True`` they raise ``ParameterError``.
    correction : {"holm", "bh", "none"}
        Multiple-comparison correction over steps × variants.
    test : {"welch", "z_pooled"}
        Test of the difference of rates (fixed horizon).
    ci_method : str
        Confidence interval of each arm's rate (see :func:`funnelkit.stats.proportion_ci`).
    sequential : bool, default False
        Use always-valid p-values and confidence sequences (safe when you look at the
        results every day); ``n_star`` tunes them.
    bayes : bool, default True
        Add the Bayesian chance to beat control and expected loss.
    target_lift : float, default 0.10
        Relative lift used for the power / sample-size columns. Power, MDE and sample
        size describe the test that is run: Welch (or the always-valid test with
        ``sequential=True``) at the level ``alpha / m`` of the corrected family of ``m``
        testable comparisons (``correction="none"``: ``alpha``); see
        :func:`funnelkit.stats.power`.
    power_target : float, default 0.8
    min_users : int, default 100
        Arms with fewer exposed users get a "too few users" warning and no verdict.
    metrics : list of Metric or str, optional
        Per-user metrics to compare beside the funnel (:class:`funnelkit.analyses.metrics.Metric`,
        e.g. ``Metric.sum("order_value", events="purchase", name="revenue")``, or the
        command line's texts such as ``"revenue=sum:order_value@purchase"``). Each
        exposed user's value counts their events from their first exposure to ``end``;
        arms are compared by Welch on means with a delta-method relative lift (ratios by
        the delta method, CUPED when asked), as GrowthBook's gbstats. Primary metrics
        join the steps in the corrected family; guardrails are tested for
        non-inferiority within ``margin`` and get their own verdict. See
        ``docs/experiments.md``.

    Returns
    -------
    ExperimentResult

    Examples
    --------
    >>> import funnelkit as fk
    >>> ev = fk.datasets.make_shop(n_users=4000, seed=1)
    >>> exp = fk.experiment(ev, fk.datasets.shop_journey(), variant_col="variant", control="A")
    >>> exp.table.columns[:6].tolist()
    ['metric', 'kind', 'role', 'variant', 'step', 'label']
    >>> from funnelkit.analyses.metrics import Metric
    >>> exp = fk.experiment(ev, fk.datasets.shop_journey(), variant_col="variant", control="A",
    ...                     metrics=[Metric.sum("order_value", events="purchase", name="revenue")])
    >>> exp.metrics[["metric", "variant", "users"]].values.tolist()
    [['revenue', 'A', 1985], ['revenue', 'B', 2015]]
    """
    _check_args(variant_col=variant_col, control=control, weights=weights, alpha=alpha,
                alternative=alternative, correction=correction, test=test, ci_method=ci_method,
                sequential=sequential, n_star=n_star, bayes=bayes, target_lift=target_lift,
                power_target=power_target, min_users=min_users)
    from .metrics import check_metrics

    metric_list = check_metrics(metrics)
    options = dict(window=window, mode=mode, window_from=window_from, weights=weights, alpha=alpha,
                   alternative=alternative, correction=correction, test=test, ci_method=ci_method,
                   sequential=sequential, n_star=n_star, bayes=bayes, target_lift=target_lift,
                   power_target=power_target, min_users=min_users, exclude=exclude, start=start, end=end,
                   lang=lang)
    import importlib

    fm = importlib.import_module(".funnel", __package__)  # the module: the package's `funnel` is the function
    from ..journey.steps import resolve_steps

    params, s_ns, e_ns = fm._checked_params(
        window=window, mode=mode, window_from=window_from, unit="user", by=None, attribution="first_touch",
        max_groups=25, exclude=exclude, start=start, end=end, lang=lang)
    spec = resolve_steps(journey_or_steps, lang=lang)
    tmp_dir = fm._tmp_dir(tmp_dir)
    # The funnel of all users, each user's variant read along (smallest and largest
    # variant value per user): one pass of the engine.
    req = fm._request(spec, params, s_ns, e_ns, session_col="session_id", attr_col=variant_col,
                      attr_mode="range", memory_budget=fm._memory_budget(events, memory_budget),
                      attr_purpose="the experiment (variant_col)", tmp_dir=tmp_dir,
                      progress=True)
    part = fm.compute(events, req)
    res_all = fm.result_from_partial(part, spec, params)
    user_var, multi, n_without = _variants_from_codes(part.attr, part.attr_max,
                                                      np.asarray(part.attr_values, dtype=object),
                                                      res_all.units.index)
    outside = 0
    metric_data = None
    if s_ns is not None or e_ns is not None or metric_list:
        # start/end bound *first exposure* (and so every denominator), not only step-1 events;
        # metrics count each user's events from their first exposure. Both through the engine.
        from ._exposure import in_range
        from ._metric_engine import first_exposure_engine

        if metric_list and isinstance(events, pd.DataFrame):
            from ._metric_values import check_metric_columns

            check_metric_columns(events, metric_list)  # before any work
        mb = fm._memory_budget(events, memory_budget)
        first = first_exposure_engine(events, variant_col, memory_budget=mb, tmp_dir=tmp_dir)
        if metric_list:
            metric_data = (events, first, e_ns, metric_list, mb, tmp_dir)
        ok = in_range(first, res_all.units.index, s_ns, e_ns)
        out_mask = ~ok & user_var.notna().to_numpy()
        outside = int(out_mask.sum())
        if outside:
            user_var = user_var.copy()
            user_var[out_mask] = np.nan
    return _experiment_from_funnel(res_all, user_var, multi, n_without, variant_col=variant_col,
                                   control=control, exposed_outside=outside, metric_data=metric_data,
                                   **options)


def _experiment_from_funnel(
    res_all: FunnelResult,
    user_var: pd.Series,
    multi: int,
    n_without: int,
    *,
    variant_col: str,
    control: Any,
    window: Any,
    mode: str,
    window_from: str,
    weights: Any,
    alpha: float,
    alternative: str,
    correction: str,
    test: str,
    ci_method: str,
    sequential: bool,
    n_star: float,
    bayes: bool,
    target_lift: float,
    power_target: float,
    min_users: int,
    exclude: Any,
    start: Any,
    end: Any,
    lang: Any,
    exposed_outside: int = 0,
    metric_data: Any = None,
) -> ExperimentResult:
    """The experiment from the funnel of all users and each user's variant.

    Shared by the in-memory path and the partitioned engines (which build ``res_all``
    and ``user_var`` part by part). Parameters are those of :func:`experiment`,
    already validated.
    """
    alpha_f = float(alpha)
    units = res_all.units
    present = sorted(pd.unique(user_var[user_var.notna()]).tolist(), key=str)
    if not any(_same(v, control) for v in present):
        from ..journey.stages import _suggest

        raise ParameterError(
            f"control={control!r} is not a value of column {variant_col!r} "
            f"(values: {', '.join(map(repr, present)) or 'none'})." + _suggest(str(control), map(str, present))
        )
    if isinstance(weights, Mapping):
        # arms planned in `weights` but without any user still get a row (0 users)
        present += [w for w in weights if not any(_same(w, v) for v in present)]
    control_v = next(v for v in present if _same(v, control))
    variants = [control_v] + [v for v in present if not _same(v, control)]
    steps, labels = res_all.steps, res_all.labels
    K = len(steps)
    level = units["level"].to_numpy()

    health: list[dict[str, str]] = []
    if multi:
        health.append(dict(severity="warning", check="multiple_exposure", value=multi,
                           message=f"{multi} users were seen in more than one variant; they are left out of every arm."))
    if n_without:
        health.append(dict(severity="info", check="no_variant", value=n_without,
                           message=f"{n_without} users have no {variant_col!r} value and are not part of the experiment."))
    if exposed_outside:
        health.append(dict(severity="info", check="exposed_outside_range", value=exposed_outside,
                           message=f"{exposed_outside} users were first exposed outside the analysed range "
                                   f"({_range_text(start, end)}) and are not part of the experiment."))
    # counts per variant ---------------------------------------------------------------------
    masks = [(user_var == v).to_numpy(dtype=bool) for v in variants]  # one comparison per arm
    n_users = np.array([int(m.sum()) for m in masks], dtype=np.int64)
    # converters at step k: users of the arm with level >= k + 1
    conv = np.array([np.bincount(level[m].astype(np.int64), minlength=K + 1)[::-1].cumsum()[::-1][1:]
                     for m in masks], dtype=np.int64).reshape(len(variants), K)
    srm = _srm(variants, n_users, weights)
    if srm.flagged:
        health.append(dict(severity="error", check="srm", value=srm.p_value,
                           message=f"Sample-ratio mismatch: the split of users differs from the plan "
                                   f"(χ² = {srm.chi2:.2f}, p = {srm.p_value:.2g}). Results may be biased: "
                                   "check the assignment and tracking before trusting them."))
    if len(variants) < 2:
        health.append(dict(severity="error", check="single_variant", variant=control_v,
                           message=f"Only one variant ({control_v!r}) has users: there is nothing to compare."))
    for v, n in zip(variants, n_users):
        if n < min_users:
            health.append(dict(severity="warning", check="too_few_users", variant=v, value=int(n),
                               message=f"Variant {v!r} has only {int(n)} users (< {min_users}): too few to conclude."))
    # statistics ------------------------------------------------------------------------------
    rows = []
    lo, hi = _rate_ci(conv, n_users, alpha_f, ci_method)
    for i, v in enumerate(variants):
        for k in range(K):
            prev = n_users[i] if k == 0 else conv[i, k - 1]
            rows.append(dict(metric="conversion", kind="conversion", role="primary", variant=v, step=steps[k],
                             label=labels[k], users=int(n_users[i]),
                             converters=int(conv[i, k]),
                             rate=conv[i, k] / n_users[i] if n_users[i] else np.nan,
                             rate_ci_low=lo[i, k], rate_ci_high=hi[i, k],
                             step_rate=conv[i, k] / prev if prev else np.nan))
    table = pd.DataFrame(rows)
    for c in EXPERIMENT_COLUMNS:
        if c not in table.columns:
            table[c] = np.nan if c != "verdict" else ""
    comp_idx = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticsWarning)
        for i in range(1, len(variants)):
            cc, nc = conv[0], np.full(K, n_users[0])
            ct, nt = conv[i], np.full(K, n_users[i])
            if sequential:
                d = stats.sequential_test(cc, nc, ct, nt, alpha=alpha_f, relative=False, n_star=n_star)
                l = stats.sequential_test(cc, nc, ct, nt, alpha=alpha_f, relative=True, n_star=n_star)
                d_est, d_lo, d_hi, p = d.estimate, d.ci_low, d.ci_high, d.p_value
                l_est, l_lo, l_hi = l.estimate, l.ci_low, l.ci_high
            else:
                d = stats.diff_test(cc, nc, ct, nt, alpha=alpha_f, alternative=alternative, test=test)
                l = stats.lift_test(cc, nc, ct, nt, alpha=alpha_f, alternative=alternative)
                d_est, d_lo, d_hi, p = d.abs_diff, d.ci_low, d.ci_high, d.p_value
                l_est, l_lo, l_hi = l.lift, l.ci_low, l.ci_high
            if bayes:
                b = stats.bayes_test(cc, nc, ct, nt)
                ctb, loss = b.chance_to_beat_control, b.expected_loss
            else:
                ctb = loss = np.full(K, np.nan)
            sl = slice(i * K, (i + 1) * K)
            idx = table.index[sl]
            table.loc[idx, "abs_diff"] = np.asarray(d_est, float)
            table.loc[idx, "abs_diff_ci_low"] = np.asarray(d_lo, float)
            table.loc[idx, "abs_diff_ci_high"] = np.asarray(d_hi, float)
            table.loc[idx, "rel_lift"] = np.asarray(l_est, float)
            table.loc[idx, "rel_lift_ci_low"] = np.asarray(l_lo, float)
            table.loc[idx, "rel_lift_ci_high"] = np.asarray(l_hi, float)
            table.loc[idx, "p_value"] = np.asarray(p, float)
            table.loc[idx, "chance_to_beat_control"] = np.asarray(ctb, float)
            table.loc[idx, "expected_loss"] = np.asarray(loss, float)
            comp_idx.extend(idx)
    if metric_data is not None:
        table = _add_metric_rows(table, metric_data, res_all.units.index, user_var, variants, alpha=alpha_f,
                                 alternative=alternative, sequential=sequential, n_star=n_star, bayes=bayes,
                                 lang=lang or "en")
    metric_cmp = table.index[(table["kind"] != "conversion") & ~table["variant"].map(lambda x: _same(x, control_v))]
    primary = list(comp_idx) + [i for i in metric_cmp if table.loc[i, "role"] == "primary"]
    guard = [i for i in metric_cmp if table.loc[i, "role"] == "guardrail"]
    for fam in (primary, guard):
        if fam:
            table.loc[fam, "p_adjusted"] = stats.adjust_pvalues(table.loc[fam, "p_value"].to_numpy(float),
                                                                method=correction)
    if (conv[0] == 0).any() and len(variants) > 1:
        for k in range(K):
            if conv[0, k] == 0:
                health.append(dict(severity="info", check="zero_control", variant=control_v, step=steps[k],
                                   message=f"Control has no converters at step {steps[k]}: the relative lift "
                                           "is undefined there."))
    for i in list(comp_idx) + [j for j in primary if j not in set(comp_idx)]:
        r = table.loc[i]
        small_arm = n_users[variants.index(r["variant"])] < min_users or n_users[0] < min_users
        if (not small_arm and pd.notna(r["rel_lift"]) and abs(r["rel_lift"]) > SUSPICIOUS_LIFT
                and pd.notna(r["p_adjusted"]) and r["p_adjusted"] < alpha_f):
            health.append(dict(severity="warning", check="suspicious_lift", variant=r["variant"],
                               step=r["step"], value=float(r["rel_lift"]),
                               message=f"Variant {r['variant']!r} changes {r['step'] if r['kind'] == 'conversion' else r['metric']} by {r['rel_lift']:+.0%}: "
                                       "lifts this large are rare; check tracking and assignment before celebrating."))
    small = {v for v, n in zip(variants, n_users) if n < min_users}
    ctrl_rate = table[table["variant"].map(lambda x: _same(x, control_v)) & (table["kind"] == "conversion")] \
        .set_index("step")["rate"]
    aux = table.assign(control_rate=table["step"].map(ctrl_rate.to_dict()).astype(float),
                       higher_is_better=table["metric"].map(_direction(metric_data)))
    table["verdict"] = [_verdict(r, control_v, alpha_f, small) for r in aux.itertuples(index=False)]
    both_full = (table["verdict"] == "").to_numpy()
    table.loc[both_full, ["chance_to_beat_control", "expected_loss"]] = np.nan
    table = table[list(EXPERIMENT_COLUMNS)]
    table["users"] = table["users"].astype(np.int64)
    table["converters"] = table["converters"].astype("Int64")  # <NA> on metric rows
    # funnels per variant, timing, power -----------------------------------------------------------
    funnels = _VariantFunnels(res_all, {str(v): keep for v, keep in zip(variants, masks)})
    timing = _timing(level, _step_ns(res_all), masks, [str(v) for v in variants], steps, alpha_f)
    n_tests = int(np.isfinite(table.loc[primary, "p_value"].to_numpy(float)).sum()) if primary else 1
    power_df = _power(conv, n_users, variants, steps, alpha_f, alternative, target_lift, power_target,
                      sequential=sequential, n_star=n_star,
                      n_tests=max(n_tests, 1) if correction != "none" else 1)
    expected = srm.expected_share
    exposure = pd.DataFrame({"variant": variants, "users": n_users,
                             "share": n_users / n_users.sum() if n_users.sum() else np.nan,
                             "planned_share": expected})
    health_df = pd.DataFrame(health, columns=list(HEALTH_COLUMNS))
    return ExperimentResult(
        table=table,
        srm=srm,
        health=health_df,
        timing=timing,
        power=power_df,
        exposure=exposure,
        funnels=funnels,
        diagnostics={"multiple_exposure_users": multi, "users_without_variant": n_without,
                     "users_exposed_outside_range": exposed_outside,
                     **{k: v for k, v in res_all.diagnostics.items() if k != "units"}},
        params=dict(variant_col=variant_col, control=control_v, window=res_all.params["window"], mode=mode,
                    window_from=window_from, weights=weights, alpha=alpha_f, alternative=alternative,
                    correction=correction, test=test, ci_method=ci_method, sequential=sequential,
                    n_star=n_star, bayes=bayes, target_lift=target_lift, power_target=power_target,
                    min_users=min_users, exclude=list(exclude or []), start=start, end=end,
                    metrics=[] if metric_data is None else list(metric_data[3])),
        steps=steps,
        labels=labels,
        journey=res_all.journey,
    )


# --------------------------------------------------------------------------- helpers


def _same(a: Any, b: Any) -> bool:
    return a == b or str(a) == str(b)


def _variants_from_codes(vmin: np.ndarray, vmax: np.ndarray, values: np.ndarray,
                         unit_ids: pd.Index) -> tuple[pd.Series, int, int]:
    """The variant of each user (NaN: none or several), #multi-exposed, #without variant,
    from each user's smallest and largest variant code
    (``vmax < 0``: no variant) and the values of the codes."""
    n = len(unit_ids)
    has = vmax >= 0
    one = has & (vmin == vmax)
    multi = int((has & ~one).sum())
    without = int(n - has.sum())
    if one.any():
        out = np.full(n, np.nan, dtype=object)
        out[one] = values[vmin[one]]
    else:
        out = np.full(n, None, dtype=object)
    return pd.Series(out, index=unit_ids), multi, without


def _srm(variants: list[Any], n_users: np.ndarray, weights: Any):
    if weights is None:
        w = None
    elif isinstance(weights, Mapping):
        missing = [v for v in variants if v not in weights and str(v) not in weights]
        if missing:
            raise ParameterError(f"`weights` has no entry for variant(s) {missing}; give one per variant.")
        w = [weights.get(v, weights.get(str(v))) for v in variants]
    else:
        w = list(weights)
        if len(w) != len(variants):
            raise ParameterError(
                f"`weights` has {len(w)} entries but there are {len(variants)} variants ({variants}); "
                "give one per variant, control first, or a mapping {variant: weight}."
            )
    if len(variants) < 2:
        obs = n_users.astype(float)
        return stats.SRMResult(arms=tuple(map(str, variants)), observed=obs, expected=obs.copy(),
                               observed_share=np.ones(len(obs)), expected_share=np.ones(len(obs)),
                               n_total=float(obs.sum()), chi2=np.nan, dof=0, p_value=np.nan, threshold=0.001,
                               flagged=False, skipped=True, reason="only one variant: no split to check")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticsWarning)
        return stats.srm_test(dict(zip(map(str, variants), n_users.tolist())),
                              None if w is None else dict(zip(map(str, variants), w)))


def _rate_ci(conv: np.ndarray, n: np.ndarray, alpha: float, method: str) -> tuple[np.ndarray, np.ndarray]:
    nn = np.broadcast_to(n[:, None], conv.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticsWarning)
        lo, hi = stats.proportion_ci(conv, nn, alpha=alpha, method=method)
    return np.asarray(lo, float).reshape(conv.shape), np.asarray(hi, float).reshape(conv.shape)


def _verdict(r: Any, control: Any, alpha: float, small: set) -> str:
    if _same(r.variant, control):
        return "control"
    if r.variant in small or control in small:
        return "too few users to conclude"
    if r.role == "guardrail":
        if pd.isna(r.p_adjusted):
            return "not testable"
        if r.p_adjusted < alpha:
            return "not worse"
        bad = r.rel_lift_ci_high < 0 if r.higher_is_better else r.rel_lift_ci_low > 0
        return "worse" if bad else "inconclusive"
    if pd.isna(r.p_adjusted):
        if r.kind == "conversion" and r.rate == 1.0 and r.control_rate == 1.0:
            return ""  # every user of both arms reached the step (100 % vs 100 %): no test makes sense
        if r.users and pd.notna(r.abs_diff) and r.abs_diff == 0:
            return "no difference"
        return "not testable"
    if r.p_adjusted < alpha:
        return "significant increase" if r.abs_diff > 0 else "significant decrease"
    return "no significant difference"


def _direction(metric_data: Any) -> dict[str, bool]:
    out = {"conversion": True}
    if metric_data is not None:
        out.update({m.name: bool(m.higher_is_better) for m in metric_data[3]})
    return out


def _add_metric_rows(table: pd.DataFrame, metric_data: Any, units: pd.Index, user_var: pd.Series,
                     variants: list[Any], **kw: Any) -> pd.DataFrame:
    """Append the rows of each per-user metric (control first) to the conversion rows."""
    from ._metric_engine import metric_values_engine
    from ._metric_rows import metric_rows

    events, first, end_ns, metric_list, mb, tmp_dir = metric_data
    exposed = user_var.notna().to_numpy()
    users = units[exposed]
    uv_arm = user_var[exposed]
    masks = [(uv_arm == v).to_numpy(dtype=bool) for v in variants]
    rows = []
    for m in metric_list:  # a loop over metrics (few), each one pass of the engine
        uv = metric_values_engine(events, m, users, first, end_ns, memory_budget=mb, tmp_dir=tmp_dir)
        rows.extend(metric_rows(m, uv, masks, variants, **kw))
    extra = pd.DataFrame(rows)
    for c in EXPERIMENT_COLUMNS:
        if c not in extra.columns:
            extra[c] = np.nan if c != "verdict" else ""
    return pd.concat([table, extra[table.columns]], ignore_index=True)


def _step_ns(res: FunnelResult) -> np.ndarray:
    """Each unit's time at each step, int64 ns (NaT: int64 min), one column per step."""
    from .funnel import step_time_frame

    times = step_time_frame(res)
    if not len(res.steps):
        return np.zeros((len(res.units), 0), np.int64)
    return np.stack([times[s].to_numpy(dtype="datetime64[ns]").view(np.int64) for s in res.steps], axis=1)


def _sub_result(res: FunnelResult, keep: np.ndarray) -> FunnelResult:
    from .funnel import _step_table, step_columns

    units = res.units.loc[keep]
    renamed = res.step_times is not None and step_columns(res.steps, res.params.get("by")) != list(res.steps)
    times = res.step_times.loc[keep] if renamed else units  # copied only when a name collides
    st = _step_ns(res)[keep]
    table = _step_table(units["level"].to_numpy(), st, res.steps, res.labels,
                        optional=bool(res.params.get("optional")))  # optional steps: units that passed them
    return FunnelResult(table=table, units=units, breakdown=None, censored=None,
                        diagnostics={"units": int(keep.sum())}, params=res.params, steps=res.steps,
                        labels=res.labels, journey=res.journey,
                        step_times=times if renamed else None)


class _VariantFunnels(Mapping):
    """``ExperimentResult.funnels``: each variant's :class:`FunnelResult`, built from the
    funnel of all users when first asked for (each is a copy of its users' rows, which an
    experiment's table, timing and power do not need)."""

    def __init__(self, res: FunnelResult, masks: dict[str, np.ndarray]) -> None:
        self._res, self._masks, self._built = res, masks, {}

    def __getitem__(self, variant: str) -> FunnelResult:
        got = self._built.get(variant)
        if got is None:
            got = self._built[variant] = _sub_result(self._res, self._masks[variant])
        return got

    def __iter__(self) -> Any:
        return iter(self._masks)

    def __len__(self) -> int:
        return len(self._masks)

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{v!r}: <FunnelResult of {int(m.sum())} units>" for v, m in self._masks.items()) + "}"


def _timing(level: np.ndarray, st: np.ndarray, masks: Sequence[np.ndarray], variants: list[str],
            steps: Sequence[str], alpha: float) -> pd.DataFrame:
    """Time between consecutive steps, each treatment against control (Mann–Whitney U),
    from the funnel of all users: ``level`` and step times ``st`` per user, ``masks`` the
    arms' users (control first)."""
    from ..stats._mannwhitney import mannwhitney_u  # scipy.stats' test, without loading scipy.stats

    rows = []

    def durs(m: np.ndarray, k: int) -> np.ndarray:
        ok = m & (level >= k + 1)
        return (st[ok, k] - st[ok, k - 1]) / 1e9

    for v, mv in zip(variants[1:], masks[1:]):
        for k in range(1, len(steps)):
            dc, dt = durs(masks[0], k), durs(mv, k)
            if len(dc) and len(dt):
                stat, p = mannwhitney_u(dt, dc)
            else:
                stat, p = np.nan, np.nan
            rows.append(dict(variant=v, transition=f"{steps[k - 1]} → {steps[k]}", n_control=len(dc),
                             n_variant=len(dt),
                             median_control=pd.Timedelta(np.median(dc), unit="s") if len(dc) else pd.NaT,
                             median_variant=pd.Timedelta(np.median(dt), unit="s") if len(dt) else pd.NaT,
                             u_statistic=float(stat), p_value=float(p),
                             significant=bool(p < alpha) if np.isfinite(p) else False))
    return pd.DataFrame(rows, columns=["variant", "transition", "n_control", "n_variant", "median_control",
                                       "median_variant", "u_statistic", "p_value", "significant"])


def _power(conv, n_users, variants, steps, alpha, alternative, target_lift, power_target, *,
           sequential: bool = False, n_star: float = 5000, n_tests: int = 1) -> pd.DataFrame:
    """Power of the test the experiment runs: Welch (fixed horizon) or always-valid
    (``sequential``), at the level ``alpha / n_tests`` of the corrected family; with
    unequal arms, at the harmonic mean of their sizes."""
    rows = []
    nc = n_users[0]
    design = dict(alpha=alpha, alternative=alternative, method="welch", sequential=sequential,
                  n_star=n_star, n_tests=n_tests)
    sign = -1.0 if alternative == "smaller" else 1.0
    for i in range(1, len(variants)):
        nt = n_users[i]
        n = 2.0 / (1.0 / nc + 1.0 / nt) if nc and nt else 0.0
        for k, s in enumerate(steps):
            pc = conv[0, k] / nc if nc else np.nan
            row = dict(variant=variants[i], step=s, baseline_rate=pc, users_per_arm=n, mde_abs=np.nan,
                       mde_rel=np.nan, power_at_target=np.nan, needed_per_arm=np.nan, still_needed=np.nan)
            ok = np.isfinite(pc) and 0 < pc < 1 and n > 0
            if ok:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", StatisticsWarning)
                    try:
                        m = float(stats.mde(pc, n, power=power_target, **design))
                        row["mde_abs"] = m
                        row["mde_rel"] = m / pc
                    except ParameterError:
                        pass
                    target = sign * target_lift
                    if 0 <= pc * (1 + target) <= 1:
                        row["power_at_target"] = float(stats.power(pc, target, n, relative=True, **design))
                        need = float(stats.sample_size(pc, target, power=power_target, relative=True, **design))
                        row["needed_per_arm"] = need
                        row["still_needed"] = max(0.0, float(np.ceil(need - n)))
            rows.append(row)
    return pd.DataFrame(rows, columns=["variant", "step", "baseline_rate", "users_per_arm", "mde_abs", "mde_rel",
                                       "power_at_target", "needed_per_arm", "still_needed"])


def _range_text(start: Any, end: Any) -> str:
    if start is not None and end is not None:
        return f"from {start} to {end}"
    if start is not None:
        return f"from {start}"
    return f"until {end}"


def _is_real(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def _check_args(*, variant_col: Any, control: Any, weights: Any, alpha: Any, alternative: Any,
                correction: Any, test: Any, ci_method: Any, sequential: Any, n_star: Any, bayes: Any,
                target_lift: Any, power_target: Any, min_users: Any) -> None:
    """Every option of :func:`experiment` checked before any data is read."""
    from ..stats._core import check_alpha
    from ..stats.power_analysis import check_n_star

    if not isinstance(variant_col, str) or not variant_col:
        raise ParameterError(f"`variant_col`={variant_col!r} must be the name of a column (a string), "
                             "e.g. variant_col='variant'.")
    if control is None or (isinstance(control, float) and np.isnan(control)):
        raise ParameterError(f"`control`={control!r} must be the control variant's value, e.g. control='A'.")
    check_alpha(alpha)
    check_choice(alternative, name="alternative", choices=("two-sided", "larger", "smaller"))
    check_choice(correction, name="correction", choices=("holm", "bh", "none"))
    check_choice(test, name="test", choices=("welch", "z_pooled"))
    check_choice(ci_method, name="ci_method",
                 choices=("wilson", "wald", "agresti_coull", "clopper_pearson", "jeffreys"))
    for name, v in (("sequential", sequential), ("bayes", bayes)):
        if not isinstance(v, (bool, np.bool_)):
            raise ParameterError(f"`{name}`={v!r} must be True or False.")
    check_n_star(n_star)
    if sequential and alternative != "two-sided":
        raise ParameterError(
            f"`alternative`={alternative!r} with sequential=True: the always-valid p-values and "
            "confidence sequences are two-sided only, and funnelkit never changes the test silently. "
            "Use alternative='two-sided' with sequential=True, or sequential=False for a one-sided "
            "fixed-horizon test."
        )
    if not _is_real(target_lift) or not np.isfinite(target_lift) or target_lift <= 0:
        raise ParameterError(f"`target_lift`={target_lift!r} must be a positive relative lift, e.g. 0.1 for "
                             "+10% (with alternative='smaller' it is the decrease to detect).")
    if not _is_real(power_target) or not 0.5 < float(power_target) < 1:
        raise ParameterError(f"`power_target`={power_target!r} must be a number in (0.5, 1), e.g. 0.8.")
    if isinstance(min_users, (bool, np.bool_)) or not isinstance(min_users, (int, np.integer)) or min_users < 0:
        raise ParameterError(f"`min_users`={min_users!r} must be a non-negative integer, e.g. 100.")
    if weights is not None:
        vals = list(weights.values()) if isinstance(weights, Mapping) else weights
        if isinstance(vals, (str, bytes)) or not isinstance(vals, (Sequence, np.ndarray, pd.Series, list)):
            raise ParameterError(f"`weights`={weights!r} must be a sequence (control first) or a mapping "
                                 "{variant: weight} of positive numbers, e.g. {'A': 50, 'B': 50}.")
        bad = [w for w in list(vals) if not _is_real(w) or not np.isfinite(w) or w <= 0]
        if bad:
            raise ParameterError(f"`weights` holds {bad[0]!r}; planned weights must be positive numbers, "
                                 "e.g. {'A': 50, 'B': 50}.")
