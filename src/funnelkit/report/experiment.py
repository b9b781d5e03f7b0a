"""The experiment report: the self-contained "test and optimize" page of an :class:`~funnelkit.ExperimentResult`.

Design, health banners, the per-step table with CIs, lifts, adjusted p-values and
chance to beat control, the figures, a plain-language conclusion per step and the
power table; with ``trend=`` and ``journey_map=``, the conversion trend and the
journey map too.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .. import plotting
from ..plotting._inputs import require
from ._analyses import analyses_sections, check_analyses, data_range, time_between_of
from ._health import health_messages
from ._html import banner, cards, close, dl, esc, fig_html, html_table, new_fig, page, version
from ._i18n import chance, check_lang, date, dec, dur, num, pct, pts, pval, step_labels, window_text
from ._stages import stages_table
from ._i18n_experiment import control_phrase, exp_text, plural
from ._metrics_section import metrics_section
from .conclusions import _conclusions, effect_lines

if TYPE_CHECKING:  # pragma: no cover
    from ..analyses.experiment import ExperimentResult
    from ..analyses.journey_map import JourneyMapResult
    from ..analyses.trends import TrendResult

__all__ = ["experiment_report"]


def _verdict_class(v: str) -> str:
    """The CSS class of a verdict's pill."""
    return {"significant increase": "up", "significant decrease": "down", "control": "ctrl", "not worse": "up",
            "worse": "down"}.get(v, "none")


def experiment_report(
    result: ExperimentResult,
    path: str | Path,
    *,
    lang: Literal["en", "es"] = "en",
    trend: TrendResult | None = None,
    journey_map: JourneyMapResult | None = None,
    title: str | None = None,
    dropoff: Any = None,
    frictions: Any = None,
    retention: Any = None,
    loyalty: Any = None,
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
    and, when given, the conversion trend with incomplete windows and shifts
    (``trend=``) and the journey map with its top frictions (``journey_map=``));
    and the power table (MDE, power, users still needed).

    Parameters
    ----------
    result : ExperimentResult
        The result of :func:`funnelkit.experiment`.
    path : str or Path
        The HTML file to write.
    lang : {"en", "es"}, default "en"
        Language of the page, of the numbers (``56,6 %`` in Spanish) and of the
        stage labels.
    trend : TrendResult, optional
        The conversion trend of the experiment's funnel over all its users
        (``fk.trends.trend(events, journey, window=...)``): adds the trend figure,
        the table of shifts and the data's date range under the title.
    journey_map : JourneyMapResult, optional
        The journey map of the same stages (``journey_map(events, journey,
        touchpoint="channel")`` from :mod:`funnelkit.analyses.journey_map`): adds the map and
        its top frictions.
    title : str, optional
        The page title (default: "A/B test report" / "Informe del test A/B").
    dropoff, frictions : DropoffPathsResult, FrictionsResult, optional
        Where the users that stopped at a step went next, beside converters, and what
        goes with dropping out there (association, not cause): adds that section.
    retention, loyalty : RetentionResult, LoyaltyResult, optional
        Retention and repeat purchase, ideally compared across the variants
        (``fk.retention(events, period="W", compare=variant_col, control=...)``,
        ``fk.loyalty(events, event="purchase", compare=variant_col, control=...)``):
        adds the retention section.

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import funnelkit as fk, tempfile, pathlib
    >>> ev = fk.datasets.make_shop(n_users=2000, seed=1)
    >>> exp = fk.experiment(ev, fk.datasets.shop_journey(), variant_col="variant", control="A")
    >>> from funnelkit import journey_map
    >>> jm = journey_map(ev, fk.datasets.shop_journey(), touchpoint="channel")
    >>> out = experiment_report(exp, pathlib.Path(tempfile.mkdtemp()) / "ab.html", lang="es", journey_map=jm)
    >>> text = out.read_text(encoding="utf-8")
    >>> "Conclusiones" in text, "Mapa del recorrido" in text
    (True, True)
    """
    require(result, "ExperimentResult", func="experiment_report", who="reports")
    check_analyses(result, trend, journey_map, dropoff=dropoff, frictions=frictions, retention=retention,
                   loyalty=loyalty)
    lang = check_lang(lang)
    tx = exp_text(lang, result.control)
    p = result.params
    labels = step_labels(result, lang)
    lab = dict(zip(result.steps, labels))
    t = result.table
    if "kind" in t.columns:
        t = t[t["kind"] == "conversion"]
    control = result.control
    variants = [str(v) for v in result.variants]
    alpha = float(p["alpha"])
    conf = pct(1 - alpha, lang, 0)
    name = getattr(result.journey, "name", None)
    head_title = title or tx["title_exp"]
    parts = ["<header class='top'>", f"<p class='kicker'>{esc(tx['kicker_exp'])}</p>", f"<h1>{esc(head_title)}</h1>"]
    sub = [" → ".join(labels)]
    if name:
        sub.insert(0, tx["journey_named"].format(name=name))
    rng = data_range(trend)
    if rng:
        sub.append(f"{tx['period']}: {date(rng[0], lang)} – {date(rng[1], lang)}")
    parts.append(f"<p class='sub'>{esc(' · '.join(sub))}</p></header>")

    # summary -----------------------------------------------------------------------------------
    sentences, bottom = _conclusions(result, lang, tx, labels)
    exp_rows = result.exposure
    users_txt = " · ".join(f"{esc(v)}: {num(n, lang)}" for v, n in zip(exp_rows["variant"].astype(str),
                                                                        exp_rows["users"]))
    srm = result.srm
    srm_ok = not bool(getattr(srm, "flagged", False))
    n_err = int((result.health["severity"] == "error").sum()) if len(result.health) else 0
    n_warn = int((result.health["severity"] == "warning").sum()) if len(result.health) else 0
    parts.append(f"<h2 id='summary'>{esc(tx['summary'])}</h2>")
    parts.append(cards([
        (tx["exposure"], users_txt, ""),
        (tx["window"], esc(window_text(p["window"], tx, lang)), ""),
        ("SRM", ("✓ p = " if srm_ok else "✗ p = ") + pval(getattr(srm, "p_value", np.nan), lang),
         "ok" if srm_ok else "error"),
        (tx["health"], "✓" if not (n_err or n_warn) else " · ".join(
            x for x in (plural("error", n_err, lang) if n_err else "",
                        plural("warning", n_warn, lang) if n_warn else "") if x),
         "ok" if not (n_err or n_warn) else ("error" if n_err else "warning")),
    ]))
    effects = effect_lines(result, lang, tx, labels)
    parts.append(f"<h3 id='effects'>{esc(tx['effects'])}</h3><ul class='conc effects'>"
                 + "".join(f"<li><b>{esc(e)}</b></li>" for e in effects) + "</ul>" if effects
                 else f"<h3 id='effects'>{esc(tx['effects'])}</h3><p>{esc(tx['effects_none'])}</p>")
    parts.append(f"<h3>{esc(tx['bottom_line'])}</h3><ul class='conc'>"
                 + "".join(f"<li>{esc(b)}</li>" for b in bottom) + "</ul>")

    # health ------------------------------------------------------------------------------------
    parts.append(f"<h2 id='health'>{esc(tx['health'])}</h2>")
    msgs = health_messages(result, lang)
    if not [m for m in msgs if m[0] in ("error", "warning")]:
        parts.append(banner("ok", tx["all_ok"]))
    order = {"error": 0, "warning": 1, "info": 2}
    for sev, m in sorted(msgs, key=lambda sm: order.get(sm[0], 3)):
        parts.append(banner(sev, m))
    if getattr(srm, "skipped", False):
        parts.append(f"<p class='note'>{esc(tx['srm_skipped'].format(reason=getattr(srm, 'reason', '')))}</p>")
    else:
        parts.append(f"<p class='note'>{esc(tx['srm_line'].format(chi2=dec(srm.chi2, 2, lang), p=pval(srm.p_value, lang), thr=dec(srm.threshold, 3, lang)))}</p>")
    erows = [[esc(v) + (f" <span class='pill ctrl'>{esc(tx['control'])}</span>" if v == control else ""),
              num(n, lang), pct(s, lang), pct(ps, lang)]
             for v, n, s, ps in zip(exp_rows["variant"].astype(str), exp_rows["users"], exp_rows["share"],
                                    exp_rows["planned_share"])]
    parts.append(html_table([tx["col_variant"], tx["col_users"], tx["col_share"], tx["col_planned"]], erows))

    # design --------------------------------------------------------------------------------------
    parts.append(f"<h2 id='design'>{esc(tx['design'])}</h2>")
    items = [
        (tx["variants"], ", ".join(esc(v) + (f" ({esc(tx['control'])})" if v == control and control_phrase(v, lang) != tx["control"] else "") for v in variants)),
        (tx["window"], esc(window_text(p["window"], tx, lang)) + (
            "" if p["window"] is None else f" ({esc(tx['window_from_' + p['window_from']])})")),
        (tx["mode"], esc(tx.get("mode_" + p["mode"], p["mode"]))),
        (tx["alpha"], esc(dec(alpha, 2, lang))),
        (tx["alternative"], esc(tx.get("alt_" + p["alternative"], p["alternative"]))),
        (tx["test"], esc(tx.get("test_" + p["test"], p["test"]))),
        (tx["correction"], esc(tx.get("corr_" + p["correction"], p["correction"]))),
        (tx["ci_method"], esc(str(p["ci_method"]).replace("_", " ").capitalize())),
        (tx["sequential"], esc(tx["seq_yes"].format(n=num(p["n_star"], lang)) if p["sequential"] else tx["seq_no"])),
    ]
    if p.get("bayes"):
        items.append((tx["bayes"], esc(tx["bayes_yes"])))
    s0, e0 = p.get("start"), p.get("end")
    rng_txt = (tx["range_from_to"].format(start=date(s0, lang), end=date(e0, lang)) if s0 is not None and e0 is not None
               else tx["range_from"].format(start=date(s0, lang)) if s0 is not None
               else tx["range_to"].format(end=date(e0, lang)) if e0 is not None else tx["range_all"])
    items.insert(0, (tx["range"], esc(rng_txt)))
    if p.get("exclude"):
        items.append((tx["exclusions"], esc("; ".join(map(str, p["exclude"])))))
    parts.append(dl(items))
    parts.append(f"<h3>{esc(tx['stages'])}</h3>")
    parts.append(stages_table(result, lang, tx))

    # results table ----------------------------------------------------------------------------------
    parts.append(f"<h2 id='results'>{esc(tx['results'])}</h2>")
    parts.append(f"<p class='note'>{esc(tx['results_note'].format(corr=tx.get('corr_' + p['correction'], p['correction'])))}</p>")
    rows, classes = [], []
    vcol = t["variant"].astype(str)
    for s_ in result.steps:
        block = t[t["step"] == s_]
        block = pd.concat([block[vcol[block.index] == control], block[vcol[block.index] != control]])
        for j, r in enumerate(block.itertuples()):
            v = str(r.variant)
            is_c = v == control
            rate = f"{pct(r.rate, lang)}<span class='ci'>{pct(r.rate_ci_low, lang)} – {pct(r.rate_ci_high, lang)}</span>"
            if is_c or pd.isna(r.p_adjusted):
                diff = lift = pcell = "–"
            else:
                diff = (f"{pts(r.abs_diff, lang)}<span class='ci'>{pts(r.abs_diff_ci_low, lang)} – "
                        f"{pts(r.abs_diff_ci_high, lang)}</span>")
                lift = (f"{pct(r.rel_lift, lang, sign=True)}<span class='ci'>{pct(r.rel_lift_ci_low, lang, sign=True)}"
                        f" – {pct(r.rel_lift_ci_high, lang, sign=True)}</span>")
                pcell = f"{pval(r.p_adjusted, lang)}<span class='ci'>{chance(r.chance_to_beat_control, lang)}</span>"
            verdict = (f"<span class='pill {_verdict_class(r.verdict)}'>{esc(tx.get('v_' + str(r.verdict), r.verdict))}</span>"
                       if r.verdict else "")
            stage_cell = f"<b>{esc(lab.get(s_, r.label))}</b>" if j == 0 else ""
            reached = f"{num(r.converters, lang)}<span class='ci'>/ {num(r.users, lang)}</span>"
            rows.append([stage_cell, esc(v), reached, rate, pct(r.step_rate, lang), diff, lift, pcell, verdict])
            classes.append("grp" if j == 0 else "")
    parts.append(html_table([tx["col_stage"], tx["col_variant"], f"{tx['col_reached']} / {tx['col_users'].lower()}",
                             tx["col_rate"].format(conf=conf), tx["col_step_rate"], tx["col_diff"].format(conf=conf),
                             tx["col_lift"].format(conf=conf), f"{tx['col_p']} / {tx['col_ctb'].lower()}",
                             tx["col_verdict"]], rows, left=2, row_classes=classes, wrap=(8,)))
    parts.extend(metrics_section(result, lang, tx, conf, control, _verdict_class))

    # conclusions ---------------------------------------------------------------------------------------
    parts.append(f"<h2 id='conclusions'>{esc(tx['conclusions'])}</h2>")
    if not srm_ok:
        parts.append(banner("error", tx["srm_caveat"]))
    parts.append("<ol class='conc'>" + "".join(f"<li>{esc(s)}</li>" for s in sentences) + "</ol>")

    # figures -------------------------------------------------------------------------------------------
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parts.append(f"<h2 id='conversion'>{esc(tx['fig_variants'])}</h2>")
        fig = new_fig(max(8.0, 1.6 * len(labels) + 2), 4.8)
        plotting.variant_conversion(result, ax=fig.add_subplot(), lang=lang)
        parts.append(fig_html(fig, tx["fig_variants_alt"].format(stages=", ".join(labels), conf=conf)))
        close(fig)

        K = len(result.steps)
        if K > 1:
            parts.append(f"<h2 id='timing'>{esc(tx['timing'])}</h2>")
            ncols = 2 if K - 1 > 1 else 1
            nrows = int(np.ceil((K - 1) / ncols))
            fig = new_fig(11 if ncols == 2 else 7, 3.3 * nrows + 0.5)
            axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
            tbs = {v: time_between_of(result.funnels[v]) for v in variants if v in result.funnels}
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
                                             label=(f"{v} ({tx['control']})" if control_phrase(v, lang) != tx["control"]
                                                    else v) if v == control else v,
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
            parts.append(fig_html(fig, tx["timing_alt"], tx["timing_note"]))
            close(fig)
            if len(result.timing):
                trows = []
                for r in result.timing.itertuples():
                    a, b = (str(r.transition).split(" → ") + [""])[:2]
                    trows.append([esc(f"{lab.get(a, a)} → {lab.get(b, b)}"), esc(r.variant),
                                  dur(r.median_control, lang), dur(r.median_variant, lang),
                                  num(r.n_control, lang), num(r.n_variant, lang), pval(r.p_value, lang)])
                parts.append(html_table([tx["col_transition"], tx["col_variant"], tx["col_median_c"],
                                         tx["col_median_v"], tx["col_n_c"], tx["col_n_v"], tx["col_mw"]], trows,
                                        left=2))

    parts.extend(analyses_sections(result, trend=trend, journey_map=journey_map, lang=lang, tx=tx,
                                   dropoff=dropoff, frictions=frictions, retention=retention, loyalty=loyalty))

    # power ------------------------------------------------------------------------------------------------
    pw = result.power
    if len(pw):
        lift = pct(p["target_lift"], lang, 0, sign=True)
        parts.append(f"<h2 id='power'>{esc(tx['power'])}</h2>")
        parts.append(f"<p class='note'>{esc(tx['power_note'].format(lift=lift, alpha=dec(alpha, 2, lang), power=pct(p['power_target'], lang, 0)))}</p>")
        prow = []
        for r in pw.itertuples():
            prow.append([f"<b>{esc(lab.get(r.step, r.step))}</b>", esc(r.variant), pct(r.baseline_rate, lang),
                         num(r.users_per_arm, lang), pts(r.mde_abs, lang, sign=False), pct(r.mde_rel, lang),
                         pct(r.power_at_target, lang, 0), num(r.needed_per_arm, lang), num(r.still_needed, lang)])
        parts.append(html_table([tx["col_stage"], tx["col_variant"], tx["col_baseline"], tx["col_per_arm"], tx["col_mde"],
                             tx["col_mde_rel"], tx["col_power"].format(lift=lift), tx["col_needed"],
                             tx["col_still"]], prow, left=2))

    parts.append(f"<footer>{esc(tx['footer'].format(version=version()))}</footer>")
    out = Path(path)
    out.write_text(page(head_title, "".join(parts), lang=lang), encoding="utf-8")
    return out
