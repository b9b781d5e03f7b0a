"""Tests for funnelkit.report.experiment: the "test and optimize" page of an ExperimentResult."""

from __future__ import annotations

import base64
import re

import pandas as pd
import pytest
from _report_helpers import (
    EN,
    ES,
    EVIL_CHANNEL,
    EVIL_EVENT,
    EVIL_VARIANT,
    NBSP,
    assert_self_contained,
    num,
    parse,
    pct,
)

import funnelkit as fk
from funnelkit import report
from funnelkit.datasets._journeys import shop_journey
from funnelkit.analyses.journey_map import journey_map
from funnelkit.analyses.trends import trend


@pytest.fixture(scope="module")
def events():
    return fk.datasets.make_shop(n_users=3000, seed=1)


@pytest.fixture(scope="module")
def exp(events):
    return fk.experiment(events, shop_journey(), variant_col="variant", control="A", window="7D")


@pytest.fixture(scope="module")
def analyses(events):
    return dict(trend=trend(events, shop_journey(), window="7D"),
                journey_map=journey_map(events, shop_journey(), touchpoint="channel", window="7D"))


@pytest.fixture(scope="module")
def exp_pages(exp, analyses, tmp_path_factory):
    d = tmp_path_factory.mktemp("exp")
    out = {}
    for lang in ("en", "es"):
        path = report.experiment_report(exp, d / f"exp_{lang}.html", lang=lang, **analyses)
        out[lang] = path.read_text(encoding="utf-8")
    return out


def test_experiment_report_headings_en(exp_pages):
    doc = parse(exp_pages["en"])
    heads = [h for _, h in doc.headings]
    assert heads == ["A/B test report", "Summary", "Significant effects", "Bottom line", "Health checks", "Design", "Journey stages",
                     "Results by step", "Conclusions", "Conversion by variant", "Time to convert",
                     "Conversion trend", "Shifts detected", "Journey map", "Top frictions", "Power and sample size"]
    assert "<html lang='en'>" in exp_pages["en"]


def test_experiment_report_headings_es(exp_pages):
    doc = parse(exp_pages["es"])
    heads = [h for _, h in doc.headings]
    assert heads[0] == "Informe del test A/B"
    for h in ("Resumen", "Comprobaciones", "Diseño", "Etapas del recorrido", "Resultados por etapa", "Conclusiones",
              "Conversión por variante", "Tiempo hasta convertir", "Tendencia de la conversión",
              "Mapa del recorrido", "Potencia y tamaño muestral"):
        assert h in heads, h
    assert "Testea y optimiza" in doc.alltext
    assert "<html lang='es'>" in exp_pages["es"]


@pytest.mark.parametrize("lang, labels, other", [("en", EN, ES), ("es", ES, EN)])
def test_experiment_report_stage_labels(exp_pages, lang, labels, other):
    doc = parse(exp_pages[lang])
    for lab in labels:
        assert lab in doc.alltext
    for lab in other[1:]:  # English labels never leak into the Spanish page and vice versa
        assert lab not in doc.alltext, lab
    assert " → ".join(labels) in doc.alltext


def test_experiment_report_data_range_comes_from_the_trend(exp_pages, analyses):
    start = analyses["trend"].params["data_start"]
    end = analyses["trend"].params["data_end"]
    text = parse(exp_pages["en"]).alltext
    assert f"Data: {start:%b} {start.day}, {start.year} – {end:%b} {end.day}, {end.year}" in text


@pytest.mark.parametrize("lang", ["en", "es"])
def test_experiment_report_numbers_from_the_table(exp, exp_pages, lang):
    text = parse(exp_pages[lang]).alltext
    for r in exp.table.itertuples():
        assert pct(r.rate, lang) in text
        assert num(r.converters, lang) in text
        assert f"{pct(r.rate_ci_low, lang)} – {pct(r.rate_ci_high, lang)}" in text
        if str(r.variant) != "A" and pd.notna(r.p_adjusted):
            assert pct(r.rel_lift, lang, sign=True) in text
            p = r.p_adjusted
            ptxt = "0.001" if p < 0.001 else f"{p:.3f}"
            assert (ptxt.replace(".", ",") if lang == "es" else ptxt) in text
            ctb = min(r.chance_to_beat_control, 0.999)
            assert pct(ctb, lang) in text
    for r in exp.power.dropna(subset=["still_needed"]).itertuples():
        assert num(r.still_needed, lang) in text
    for r in exp.exposure.itertuples():
        assert num(r.users, lang) in text


def test_experiment_report_design_block(exp_pages):
    en = parse(exp_pages["en"]).alltext
    for s in ("A (control), B", "7 days (measured from the first step)", "Significance level α 0.05",
              "Holm (over steps × variants)", "Welch test of the difference of rates", "Wilson",
              "no (fixed horizon", "landing, ad_click, store_visit", "occurrence #2 of purchase",
              "after reaching Purchase"):
        assert s in en, s
    es = parse(exp_pages["es"]).alltext
    for s in ("A (control), B", "7 días (medida desde la primera etapa)", "Nivel de significación α 0,05",
              "Holm (sobre etapas × variantes)", "2.ª aparición de purchase", "después de alcanzar Compra"):
        assert s in es, s


@pytest.mark.parametrize("lang", ["en", "es"])
def test_experiment_report_one_conclusion_per_step(exp, exp_pages, lang):
    html_text = exp_pages[lang]
    block = html_text.split("<ol class='conc'>", 1)[1].split("</ol>", 1)[0]
    items = re.findall(r"<li>(.*?)</li>", block)
    treat = exp.table[exp.table["variant"].astype(str) != "A"]
    assert len(items) == len(treat)
    labels = EN if lang == "en" else ES
    for item, r, lab in zip(items, treat.itertuples(), labels):
        assert lab in item
        if r.verdict == "significant increase":
            assert ("raises" in item) if lang == "en" else ("aumenta" in item)
            assert pct(r.rate, lang).replace(" ", NBSP) in item


def test_experiment_report_health_ok_banner(exp_pages):
    assert "class='banner ok'" in exp_pages["en"]
    assert "All checks passed" in exp_pages["en"]
    assert "Todas las comprobaciones son correctas" in exp_pages["es"]


def test_experiment_report_figures_are_embedded_pngs(exp_pages):
    doc = parse(exp_pages["en"])
    assert len(doc.imgs) == 4  # conversion, time to convert, trend, journey map
    for img in doc.imgs:
        src = img["src"]
        assert src.startswith("data:image/png;base64,")
        raw = base64.b64decode(src.split(",", 1)[1])
        assert raw[:8] == b"\x89PNG\r\n\x1a\n" and len(raw) > 5000
        assert img["alt"]


@pytest.mark.parametrize("lang", ["en", "es"])
def test_experiment_report_is_self_contained(exp_pages, lang):
    assert_self_contained(exp_pages[lang])
    assert "<style>" in exp_pages[lang] and "@media print" in exp_pages[lang]
    assert "name='viewport'" in exp_pages[lang]


def test_experiment_report_trend_and_frictions(exp_pages, analyses):
    en = parse(exp_pages["en"]).alltext
    assert "Shifts detected" in en and "Top frictions" in en
    assert "Window not complete yet" not in en  # legend text lives in the figure, the caption explains
    assert "hatched" in en.lower()
    # the frictions table shows the journey map's ranked cells
    for r in analyses["journey_map"].frictions.itertuples():
        assert f"{r.touchpoint} {dict(zip(EN, EN)).get(r.label, r.label)} {pct(r.step_conversion_rate)}" in en
    # the shifts table shows the trend's flagged cells
    shifts = analyses["trend"].table.query("shift")
    for r in shifts.itertuples():
        assert pct(r.step_conversion_rate) in en and pct(r.expected_step_rate) in en


def test_experiment_report_with_only_a_trend(exp, analyses, tmp_path):
    text = report.experiment_report(exp, tmp_path / "t.html", trend=analyses["trend"]).read_text(encoding="utf-8")
    doc = parse(text)
    heads = [h for _, h in doc.headings]
    assert "Conversion trend" in heads and "Journey map" not in heads
    assert len(doc.imgs) == 3


def test_experiment_result_report_method_without_analyses(exp, tmp_path):
    out = exp.report(tmp_path / "m.html", lang="es")
    assert out == tmp_path / "m.html"
    text = out.read_text(encoding="utf-8")
    doc = parse(text)
    assert "Informe del test A/B" in text
    assert len(doc.imgs) == 2  # conversion by variant, time to convert
    assert "trend=" in doc.alltext and "journey_map=" in doc.alltext  # says how to add them
    assert_self_contained(text)


def test_experiment_result_report_method_passes_analyses_through(exp, analyses, tmp_path):
    text = exp.report(tmp_path / "m.html", lang="en", **analyses).read_text(encoding="utf-8")
    assert len(parse(text).imgs) == 4


# --------------------------------------------------------------------------- health banners
@pytest.fixture(scope="module")
def unhealthy(events):
    ev = events.copy()
    # drop a third of B's users (sample-ratio mismatch) and put one A user in B as well
    b_users = ev.loc[ev["variant"] == "B", "user_id"].unique()
    drop = set(b_users[: len(b_users) // 3].tolist())
    ev = ev[~ev["user_id"].isin(drop)].copy()
    a_user = ev.loc[ev["variant"] == "A", "user_id"].iloc[0]
    extra = ev[ev["user_id"] == a_user].head(1).copy()
    extra["variant"] = "B"
    ev = pd.concat([ev, extra], ignore_index=True)
    return fk.experiment(ev, shop_journey(), variant_col="variant", control="A", window="7D", min_users=2000)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_health_banners(unhealthy, tmp_path, lang):
    checks = set(unhealthy.health["check"])
    assert {"srm", "multiple_exposure", "too_few_users"} <= checks
    text = report.experiment_report(unhealthy, tmp_path / "h.html", lang=lang).read_text(encoding="utf-8")
    doc = parse(text)
    assert "class='banner error'" in text and "class='banner warning'" in text
    assert "class='banner ok'" not in text
    if lang == "en":
        for s in ("Sample-ratio mismatch", "seen in more than one variant", "too few to conclude",
                  "the sample-ratio check failed"):
            assert s in doc.alltext, s
    else:
        for s in ("Desajuste en el reparto", "aparecen en más de una variante", "demasiado pocos para concluir",
                  "la comprobación del reparto ha fallado"):
            assert s in doc.alltext, s
        assert "Sample-ratio mismatch" not in doc.alltext
    # the errors come first
    assert text.index("class='banner error'") < text.index("class='banner warning'")


# --------------------------------------------------------------------------- escaping
@pytest.fixture(scope="module")
def evil_events():
    ev = fk.datasets.make_shop(n_users=1500, seed=2)
    return ev.assign(event=ev["event"].astype(str).replace({"purchase": EVIL_EVENT}),
                     channel=ev["channel"].astype(str).replace({"paid_ads": EVIL_CHANNEL}),
                     variant=ev["variant"].astype(str).replace({"B": EVIL_VARIANT}))


def test_experiment_report_escapes_user_strings(evil_events, tmp_path):
    steps = ["landing", "product_view", EVIL_EVENT]
    exp = fk.experiment(evil_events, steps, variant_col="variant", control="A", window="7D")
    analyses = dict(trend=trend(evil_events, steps, window="7D"),
                    journey_map=journey_map(evil_events, steps, touchpoint="channel", window="7D", min_z=0))
    for lang, kw in (("en", analyses), ("es", {})):  # with analyses: trend and journey map tables too
        text = report.experiment_report(exp, tmp_path / f"evil_{lang}.html", lang=lang, title="<i>my test</i>",
                                        **kw).read_text(encoding="utf-8")
        assert EVIL_EVENT not in text and EVIL_CHANNEL not in text and EVIL_VARIANT not in text
        assert "<i>my test</i>" not in text and "&lt;i&gt;my test&lt;/i&gt;" in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert "&lt;b&gt;B&lt;/b&gt;" in text
        assert_self_contained(text)
        doc = parse(text)
        assert EVIL_EVENT in doc.alltext  # shown as text
        assert all(i["src"].startswith("data:image/png;base64,") for i in doc.imgs)
        if kw:
            assert EVIL_CHANNEL in doc.alltext  # in the frictions table, escaped


def test_words_plurals_control_named_control_and_range(tmp_path):
    # issue 16: "control control", "1 warnings" / "1 avisos", "a prioris"; issue 14: the range analysed
    from funnelkit.report._i18n_experiment import control_phrase, plural

    assert plural("warning", 1, "en") == "1 warning" and plural("warning", 1, "es") == "1 aviso"
    assert plural("error", 2, "es") == "2 errores"
    ev = fk.datasets.make_shop(n_users=1500, seed=4)
    ev["variant"] = ev["variant"].cat.rename_categories({"A": "control", "B": "treatment"})
    exp = fk.experiment(ev, fk.datasets.shop_journey(), variant_col="variant", control="control",
                        end="2026-04-01", min_users=10_000)  # too few users: warnings
    for lang, one in (("en", "warning"), ("es", "aviso")):
        html = exp.report(tmp_path / f"c_{lang}.html", lang=lang).read_text(encoding="utf-8")
        assert "control control" not in html and "a prioris" not in html
        n = int((exp.health["severity"] == "warning").sum())
        assert plural("warning", n, lang) in html
        assert ("Apr 1, 2026" if lang == "en" else "1 abr 2026") in html
    assert control_phrase("control", "es") == "control"
    assert all("control control" not in s for s in exp.conclusions("en") + exp.conclusions("es"))


def test_metrics_section_in_both_languages(tmp_path):
    from funnelkit.analyses.metrics import Metric

    ev = fk.datasets.make_shop(n_users=2000, seed=2)
    rev = Metric.sum("order_value", events="purchase", name="revenue", label_es="ingresos", cap=500.0)
    exp = fk.experiment(ev, fk.datasets.shop_journey(), variant_col="variant", control="A", metrics=[rev])
    en = exp.report(tmp_path / "m_en.html", lang="en").read_text(encoding="utf-8")
    es = exp.report(tmp_path / "m_es.html", lang="es").read_text(encoding="utf-8")
    r = exp.metrics.set_index("variant").loc["B"]
    assert "Revenue and other metrics" in en and "Ingresos y otras métricas" in es
    assert f"{r['mean']:,.2f}" in en and f"{r['mean']:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".") in es
    assert "capped at 500.00" in en and "se limita a 500,00" in es
