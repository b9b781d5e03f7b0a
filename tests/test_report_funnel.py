"""Tests for funnelkit.report.funnel: the page of a FunnelResult."""

from __future__ import annotations

import pytest
from _report_helpers import EN, ES, EVIL_CHANNEL, EVIL_EVENT, assert_self_contained, num, parse, pct

import funnelkit as fk
from funnelkit import report
from funnelkit.datasets._journeys import shop_journey
from funnelkit.analyses.journey_map import journey_map
from funnelkit.analyses.trends import trend


@pytest.fixture(scope="module")
def events():
    return fk.datasets.make_shop(n_users=3000, seed=1)


@pytest.fixture(scope="module")
def res(events):
    return fk.funnel(events, shop_journey(), window="7D", by="channel")


@pytest.fixture(scope="module")
def analyses(events):
    return dict(trend=trend(events, shop_journey(), window="7D"),
                journey_map=journey_map(events, shop_journey(), touchpoint="channel", window="7D"))


@pytest.fixture(scope="module")
def funnel_pages(res, analyses, tmp_path_factory):
    d = tmp_path_factory.mktemp("fun")
    return {"en": report.funnel_report(res, d / "f_en.html", lang="en", **analyses).read_text(encoding="utf-8"),
            "es": report.funnel_report(res, d / "f_es.html", lang="es").read_text(encoding="utf-8")}


def test_funnel_report_en(res, funnel_pages):
    doc = parse(funnel_pages["en"])
    heads = [h for _, h in doc.headings]
    assert heads == ["Funnel report", "Summary", "Design", "Journey stages", "Conversion by step",
                     "Breakdown by channel", "Time between stages", "Conversion trend", "Shifts detected",
                     "Journey map", "Top frictions"]
    text = doc.alltext
    for r in res.table.itertuples():
        assert num(r.units, "en") in text and pct(r.conversion_rate) in text
    for r in res.table.iloc[1:].itertuples():
        assert pct(r.dropoff_rate) in text and pct(r.step_conversion_rate) in text
    cens = int(res.censored["censored"].sum())
    assert f"{num(cens)} units were still inside their window" in text
    assert len(doc.imgs) == 6  # bars, breakdown, histogram, cumulative, trend, map
    assert "Data: " in text  # the date range, from the trend
    assert_self_contained(funnel_pages["en"])


def test_funnel_report_es(res, funnel_pages):
    doc = parse(funnel_pages["es"])
    heads = [h for _, h in doc.headings]
    for h in ("Informe del embudo", "Resumen", "Diseño", "Conversión por etapa", "Desglose por channel",
              "Tiempo entre etapas"):
        assert h in heads, h
    text = doc.alltext
    for lab in ES:
        assert lab in text
    for lab in EN[1:]:
        assert lab not in text
    for r in res.table.itertuples():
        assert num(r.units, "es") in text and pct(r.conversion_rate, "es") in text
    assert "primer contacto" in text
    assert "trend=" in text and "journey_map=" in text  # no analyses: announced, not drawn
    assert "Datos: " not in text
    assert len(doc.imgs) == 4
    assert_self_contained(funnel_pages["es"])


def test_funnel_report_map_in_another_language_than_computed(res, events, tmp_path):
    jm_en = journey_map(events, shop_journey(lang="en"))
    text = report.funnel_report(res, tmp_path / "x.html", lang="es", journey_map=jm_en).read_text(encoding="utf-8")
    doc = parse(text)
    assert "Principales fricciones" in doc.alltext
    for lab in EN[1:]:  # the frictions table relabels the stages through the journey
        assert lab not in doc.alltext


def test_funnel_report_default_language_and_method(events, tmp_path):
    res_es = fk.funnel(events, shop_journey(lang="es"), window="7D")
    out = res_es.report(tmp_path / "r.html")
    assert out == tmp_path / "r.html"
    text = out.read_text(encoding="utf-8")
    assert "Informe del embudo" in text and "<html lang='es'>" in text


def test_funnel_report_plain_steps_and_no_window(events, tmp_path):
    res = fk.funnel(events, ["landing", "product_view", "purchase"], window=None)
    tr = trend(events, ["landing", "product_view", "purchase"], window=None)
    text = report.funnel_report(res, tmp_path / "p.html", trend=tr).read_text(encoding="utf-8")
    doc = parse(text)
    assert "no limit" in doc.alltext
    assert "landing → product_view → purchase" in doc.alltext
    assert "Conversion trend" in [h for _, h in doc.headings]


def test_funnel_report_escapes_step_names(tmp_path):
    ev = fk.datasets.make_shop(n_users=1500, seed=2)
    ev = ev.assign(event=ev["event"].astype(str).replace({"purchase": EVIL_EVENT}),
                   channel=ev["channel"].astype(str).replace({"paid_ads": EVIL_CHANNEL}))
    steps = ["landing", EVIL_EVENT]
    res = fk.funnel(ev, steps, window="7D", by="channel")
    text = report.funnel_report(res, tmp_path / "evil.html", trend=trend(ev, steps),
                                journey_map=journey_map(ev, steps, min_z=0)).read_text(encoding="utf-8")
    assert EVIL_EVENT not in text and EVIL_CHANNEL not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    doc = parse(text)
    assert EVIL_EVENT in doc.alltext and EVIL_CHANNEL in doc.alltext
    assert_self_contained(text)
