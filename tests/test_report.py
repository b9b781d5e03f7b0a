"""Tests for funnelkit.report: structure of the self-contained HTML pages."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import funnelkit as fk  # noqa: E402
from funnelkit import report  # noqa: E402
from funnelkit.datasets._journeys import shop_journey  # noqa: E402
from funnelkit.errors import ParameterError  # noqa: E402

EN = ("Discovery", "Consideration", "Purchase", "Use", "Loyalty")
ES = ("Descubrimiento", "Consideración", "Compra", "Uso", "Fidelización")
NBSP = "\u00a0"

EVIL_EVENT = "<script>alert(1)</script>"
EVIL_CHANNEL = "<img src=x onerror=alert(1)>"
EVIL_VARIANT = "<b>B</b>"


# --------------------------------------------------------------------------- helpers
class _Doc(HTMLParser):
    VOID = {"meta", "img", "br", "hr", "link", "input", "col", "source", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.tags, self.imgs, self.headings = [], [], [], [], []
        self.text = []
        self._h = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a)
        if tag in ("h1", "h2", "h3"):
            self._h = [tag, ""]
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
            return
        self.stack.pop()
        if tag in ("h1", "h2", "h3") and self._h:
            self.headings.append((self._h[0], self._h[1].strip()))
            self._h = None

    def handle_data(self, data):
        self.text.append(data)
        if self._h is not None:
            self._h[1] += data


def parse(html_text):
    d = _Doc()
    d.feed(html_text)
    d.close()
    assert not d.errors, d.errors[:5]
    assert not d.stack, d.stack
    d.alltext = re.sub(r"\s+", " ", " ".join(d.text).replace(NBSP, " "))
    return d


def pct(v, lang="en", digits=1, sign=False):
    s = f"{v * 100:+.{digits}f}" if sign else f"{v * 100:.{digits}f}"
    s = s.replace("-", "−")
    return s.replace(".", ",") + " %" if lang == "es" else s + "%"


def num(n, lang="en"):
    s = f"{int(round(n)):,}"
    return s.replace(",", ".") if lang == "es" else s


def assert_self_contained(text):
    low = text.lower()
    assert "http://" not in low and "https://" not in low
    assert not re.search(r"(src|href)\s*=\s*['\"]?\s*(https?:|//)", low)
    assert "<script" not in low and "<link" not in low and "@import" not in low and "url(" not in low
    assert "<iframe" not in low and "<object" not in low


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def events():
    return fk.datasets.make_shop(n_users=3000, seed=1)


@pytest.fixture(scope="module")
def exp(events):
    return fk.experiment(events, shop_journey(), variant_col="variant", control="A", window="7D")


@pytest.fixture(scope="module")
def exp_pages(exp, events, tmp_path_factory):
    d = tmp_path_factory.mktemp("exp")
    out = {}
    for lang in ("en", "es"):
        path = report.experiment_report(exp, d / f"exp_{lang}.html", lang=lang, events=events)
        out[lang] = path.read_text(encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def res(events):
    return fk.funnel(events, shop_journey(), window="7D", by="channel")


@pytest.fixture(scope="module")
def funnel_pages(res, events, tmp_path_factory):
    d = tmp_path_factory.mktemp("fun")
    out = {"en": report.funnel_report(res, d / "f_en.html", lang="en", events=events).read_text(encoding="utf-8"),
           "es": report.funnel_report(res, d / "f_es.html", lang="es").read_text(encoding="utf-8")}
    return out


# --------------------------------------------------------------------------- experiment report
def test_experiment_report_headings_en(exp_pages):
    doc = parse(exp_pages["en"])
    heads = [h for _, h in doc.headings]
    assert heads[0] == "A/B test report"
    for h in ("Summary", "Health checks", "Design", "Journey stages", "Results by step", "Conclusions",
              "Conversion by variant", "Time to convert", "Conversion trend", "Journey map",
              "Power and sample size"):
        assert h in heads, h
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


def test_experiment_report_trend_and_frictions(exp_pages):
    en = parse(exp_pages["en"]).alltext
    assert "Shifts detected" in en and "Top frictions" in en
    assert "Window not complete yet" not in en  # legend text lives in the figure, the caption explains
    assert "hatched" in en.lower()


def test_experiment_result_report_method_without_events(exp, tmp_path):
    out = exp.report(tmp_path / "m.html", lang="es")
    assert out == tmp_path / "m.html"
    text = out.read_text(encoding="utf-8")
    doc = parse(text)
    assert "Informe del test A/B" in text
    assert len(doc.imgs) == 2  # conversion by variant, time to convert
    assert "events=" in doc.alltext
    assert_self_contained(text)


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
    ev = ev.assign(event=ev["event"].astype(str).replace({"purchase": EVIL_EVENT}),
                   channel=ev["channel"].astype(str).replace({"paid_ads": EVIL_CHANNEL}),
                   variant=ev["variant"].astype(str).replace({"B": EVIL_VARIANT}))
    return ev


def test_experiment_report_escapes_user_strings(evil_events, tmp_path):
    steps = ["landing", "product_view", EVIL_EVENT]
    exp = fk.experiment(evil_events, steps, variant_col="variant", control="A", window="7D")
    for lang, ev in (("en", evil_events), ("es", None)):  # with events: trend and journey map tables too
        text = report.experiment_report(exp, tmp_path / f"evil_{lang}.html", lang=lang, events=ev,
                                        title="<i>my test</i>").read_text(encoding="utf-8")
        assert EVIL_EVENT not in text and EVIL_CHANNEL not in text and EVIL_VARIANT not in text
        assert "<i>my test</i>" not in text and "&lt;i&gt;my test&lt;/i&gt;" in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert "&lt;b&gt;B&lt;/b&gt;" in text
        assert_self_contained(text)
        doc = parse(text)
        assert EVIL_EVENT in doc.alltext  # shown as text
        assert all(i["src"].startswith("data:image/png;base64,") for i in doc.imgs)


def test_funnel_report_escapes_step_names(evil_events, tmp_path):
    res = fk.funnel(evil_events, ["landing", EVIL_EVENT], window="7D", by="channel")
    text = report.funnel_report(res, tmp_path / "evil.html", events=evil_events).read_text(encoding="utf-8")
    assert EVIL_EVENT not in text and EVIL_CHANNEL not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    doc = parse(text)
    assert EVIL_EVENT in doc.alltext and EVIL_CHANNEL in doc.alltext
    assert_self_contained(text)


# --------------------------------------------------------------------------- funnel report
def test_funnel_report_en(res, funnel_pages):
    doc = parse(funnel_pages["en"])
    heads = [h for _, h in doc.headings]
    for h in ("Funnel report", "Summary", "Design", "Journey stages", "Conversion by step", "Breakdown by channel",
              "Time between stages", "Conversion trend", "Journey map"):
        assert h in heads, h
    text = doc.alltext
    for r in res.table.itertuples():
        assert num(r.units, "en") in text and pct(r.conversion_rate) in text
    for r in res.table.iloc[1:].itertuples():
        assert pct(r.dropoff_rate) in text and pct(r.step_conversion_rate) in text
    cens = int(res.censored["censored"].sum())
    assert f"{num(cens)} units were still inside their window" in text
    assert len(doc.imgs) == 6  # bars, breakdown, histogram, cumulative, trend, map
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
    assert "events=" in text  # no events: the trend and the map are announced, not drawn
    assert len(doc.imgs) == 4
    assert_self_contained(funnel_pages["es"])


def test_funnel_report_default_language_and_method(events, tmp_path):
    res_es = fk.funnel(events, shop_journey(lang="es"), window="7D")
    out = res_es.report(tmp_path / "r.html")
    assert out == tmp_path / "r.html"
    text = out.read_text(encoding="utf-8")
    assert "Informe del embudo" in text and "<html lang='es'>" in text


def test_funnel_report_plain_steps_and_no_window(events, tmp_path):
    res = fk.funnel(events, ["landing", "product_view", "purchase"], window=None)
    text = report.funnel_report(res, tmp_path / "p.html").read_text(encoding="utf-8")
    doc = parse(text)
    assert "no limit" in doc.alltext
    assert "landing → product_view → purchase" in doc.alltext


def test_bad_language(exp, res, tmp_path):
    with pytest.raises(ParameterError, match="lang"):
        report.experiment_report(exp, tmp_path / "x.html", lang="fr")
    with pytest.raises(ParameterError, match="lang"):
        report.funnel_report(res, tmp_path / "x.html", lang="de")


def test_number_formats():
    assert report._pval(0.0004, "en") == "<\u20090.001" and report._pval(0.01234, "es") == "0,012"
    assert report._chance(0.99996, "en") == ">99.9%"
    assert report._pts(0.0381, "es") == "+3,8"
    assert np.isnan(np.nan) and report._pct(np.nan, "en") == "–"
