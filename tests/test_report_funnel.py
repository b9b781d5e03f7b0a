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
    for h in ("Informe del embudo", "Resumen", "Diseño", "Conversión por etapa", "Desglose por canal",
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


# --------------------------------------------------------------------------- issue 15 / 16


def _tiny(event_b="b", channel=("s", "s", "t", "t", "s")):
    import pandas as pd

    return pd.DataFrame({
        "user_id": [1, 1, 2, 2, 3],
        "timestamp": pd.to_datetime(["2024-03-01 10:00", "2024-03-01 10:05", "2024-03-01 11:00",
                                     "2024-03-01 11:02", "2024-03-01 12:00"], utc=True),
        "event": ["a", event_b, "a", event_b, "a"], "channel": list(channel)})


def test_report_into_a_missing_directory_fails_before_any_work(res, tmp_path, monkeypatch):
    from funnelkit import plotting

    def boom(*a, **k):
        raise AssertionError("a figure was drawn before the path was checked")

    monkeypatch.setattr(plotting, "funnel_bars", boom)
    with pytest.raises(fk.errors.ParameterError, match="does not exist"):
        report.funnel_report(res, tmp_path / "missing_dir" / "x.html")
    with pytest.raises(fk.errors.ParameterError, match="is a directory"):
        res.report(tmp_path)
    assert not (tmp_path / "missing_dir").exists()


def test_huge_event_names_are_cut_in_figures_and_kept_in_the_stages_table(tmp_path, monkeypatch):
    from funnelkit import plotting
    from funnelkit.plotting._style import labels_for
    from funnelkit.report._i18n import LABEL_LIMIT

    big = "checkout_" + "x" * 1_000_000
    ev = _tiny(big, channel=("s", "s", "c" * 200_000, "c" * 200_000, "s"))
    r = fk.funnel(ev, ["a", big], window="1D", by="channel")
    drawn = []
    for name in ("funnel_bars", "breakdown", "time_hist", "time_cumulative"):
        real = getattr(plotting, name)

        def spy(result, *a, _real=real, **k):
            drawn.append([*labels_for(result.steps, result.labels, result.journey, "en"), k.get("title") or ""])
            if getattr(result, "breakdown", None) is not None:
                drawn.append(result.breakdown.iloc[:, 0].astype(str).tolist())
            return _real(result, *a, **k)

        monkeypatch.setattr(plotting, name, spy)
    html = report.funnel_report(r, tmp_path / "big.html", lang="en").read_text(encoding="utf-8")
    assert len(drawn) >= 3
    assert max(len(t) for texts in drawn for t in texts) <= LABEL_LIMIT + 60  # titles hold a cut label
    assert all(len(t) <= LABEL_LIMIT for texts in drawn[:1] for t in texts[:-1])
    assert "checkout_xxx" in html and "…" in html
    assert big in html  # in full, in the table of stages
    doc = parse(html)
    assert not doc.errors


def test_plurals_in_both_languages(tmp_path):
    from funnelkit.report._i18n import TEXT, plural

    assert TEXT["en"]["n_warnings"].format(n=1) == "1 warning"
    assert TEXT["es"]["n_warnings"].format(n=1) == "1 aviso"
    assert TEXT["en"]["n_errors"].format(n=2) == "2 errors"
    assert plural(1, "n_errors", "es") == "1 error" and plural(5, "n_errors", "es") == "5 errores"
    ev = _tiny().iloc[[0, 1]]
    r = fk.funnel(ev, ["a", "b"], window="1D")
    en = report.funnel_report(r, tmp_path / "en.html", lang="en").read_text(encoding="utf-8")
    es = report.funnel_report(r, tmp_path / "es.html", lang="es").read_text(encoding="utf-8")
    assert "1 unit entered the funnel." in en and "1 units" not in en
    assert "1 unidad entró en el embudo." in es and "1 unidades" not in es
    assert ">1 day<" in en or "1 day (" in en
    assert "1 días" not in es and "1 día" in es


def test_spanish_report_names_columns_in_spanish_or_as_the_user_says(events, tmp_path, monkeypatch):
    from funnelkit import plotting

    titles = []
    real = plotting.journey_map

    def spy(result, *a, **k):
        titles.append(k.get("title"))
        return real(result, *a, **k)

    monkeypatch.setattr(plotting, "journey_map", spy)
    r = fk.funnel(events, shop_journey(), window="7D", by="channel")
    jm = journey_map(events, shop_journey(), touchpoint="channel", window="7D")
    html = report.funnel_report(r, tmp_path / "es.html", lang="es", journey_map=jm).read_text(encoding="utf-8")
    assert titles == ["Mapa del recorrido por canal"]
    assert "Desglose por canal" in html and "por channel" not in html and "de channel" not in html
    html = report.funnel_report(r, tmp_path / "es2.html", lang="es", journey_map=jm,
                                column_labels={"channel": {"es": "canal de venta", "en": "sales channel"}}
                                ).read_text(encoding="utf-8")
    assert titles[-1] == "Mapa del recorrido por canal de venta" and "Desglose por canal de venta" in html
    en = report.funnel_report(r, tmp_path / "en.html", lang="en", column_labels={"channel": {"en": "sales channel"}}
                              ).read_text(encoding="utf-8")
    assert "Breakdown by sales channel" in en


def test_journey_with_only_english_labels_reads_in_english_in_spanish(tmp_path):
    j = fk.Journey([fk.Stage("a", (fk.Rule("a"),), label_en="Landing"),
                    fk.Stage("b", (fk.Rule("b"),), label_en="Basket", label_es="Cesta")])
    r = fk.funnel(_tiny(), j, window="1D")
    doc = parse(report.funnel_report(r, tmp_path / "es.html", lang="es").read_text(encoding="utf-8"))
    text = " ".join(doc.text)
    assert "Landing → Cesta" in text
    from funnelkit.report._i18n import step_labels

    assert step_labels(r, "es") == ["Landing", "Cesta"] and step_labels(r, "en") == ["Landing", "Basket"]


def test_i18n_examples_run():
    import doctest

    from funnelkit.report import _html, _i18n

    for m in (_i18n, _html):
        res = doctest.testmod(m)
        assert res.attempted and not res.failed


def test_funnel_report_takes_dropoff_frictions_and_retention_results(tmp_path):
    import funnelkit as fk
    from funnelkit.errors import ParameterError

    ev = fk.load_sample("shop")
    ev = ev[ev["user_id"] < 3000]
    res = fk.funnel(ev, ["landing", "product_view", "purchase"])
    dp, fr = fk.dropoff_paths(ev, res, step=2), fk.frictions(ev, res, step=2, properties=["channel"])
    ret, loy = fk.retention(ev, period="W"), fk.loyalty(ev, event="purchase")
    out = res.report(tmp_path / "f.html", lang="es", dropoff=dp, frictions=fr, retention=ret, loyalty=loy)
    html = out.read_text(encoding="utf-8")
    assert "¿Adónde fueron" in html and "asociación, no causa" in html
    assert "Retención" in html
    with pytest.raises(ParameterError, match="`dropoff=` takes a DropoffPathsResult, not an event log"):
        res.report(tmp_path / "g.html", dropoff=ev)
    with pytest.raises(ParameterError, match="pass both"):
        res.report(tmp_path / "g.html", frictions=fr)
    assert not (tmp_path / "g.html").exists()
