"""The HTML report in a real headless Chromium: it renders, shows its figures and its numbers.

Needs the ``chromium`` (or ``chromium-browser``) binary. Without it the tests are
skipped, except in CI (``CI=true``), where ``.ci/system-deps`` installs it, so a
missing browser is a failure there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import funnelkit as fk  # noqa: E402
from funnelkit import report  # noqa: E402
from funnelkit.datasets._journeys import shop_journey  # noqa: E402
from funnelkit.analyses.journey_map import journey_map  # noqa: E402
from funnelkit.analyses.trends import trend  # noqa: E402

ES = ("Descubrimiento", "Consideración", "Compra", "Uso", "Fidelización")
BLUE, ORANGE = (0, 114, 178), (230, 159, 0)  # Okabe–Ito: variant A / variant B bars


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _require_browser() -> str:
    """The browser's path; skip (locally) or fail (``CI=true``) when there is none."""
    path = _browser()
    if path is None:
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail("CI=true but no `chromium`/`chromium-browser` binary on PATH: .ci/system-deps should "
                        "have installed it (apt-get install chromium).")
        pytest.skip("headless browser test skipped: no `chromium` or `chromium-browser` binary on PATH "
                    "(install it, e.g. `apt-get install chromium`, or run .ci/system-deps).")
    return path


@pytest.fixture(scope="module")
def chromium():
    return _require_browser()


def test_missing_browser_skips_locally_and_fails_in_ci(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no `chromium`"):
        _require_browser()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        _require_browser()


def _run(binary, url, tmp_path, *extra):
    profile = tmp_path / f"profile-{uuid.uuid4().hex}"
    cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--hide-scrollbars", f"--user-data-dir={profile}", *extra, url]
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=180)
    except subprocess.TimeoutExpired:  # pragma: no cover
        pytest.fail(f"chromium did not finish within 180 s: {' '.join(cmd)}")
    return out


def _read_png(path):
    try:
        from PIL import Image

        return np.asarray(Image.open(path).convert("RGB")).astype(np.int16)
    except ImportError:  # pragma: no cover - matplotlib can read PNGs too
        import matplotlib.image as mpimg

        a = mpimg.imread(path)[..., :3]
        return (a * 255).round().astype(np.int16)


def _near(img, rgb, tol=28):
    return int((np.abs(img - np.array(rgb, dtype=np.int16)).max(axis=2) <= tol).sum())


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    d = tmp_path_factory.mktemp("browser")
    ev = fk.datasets.make_shop(n_users=3000, seed=1)
    from funnelkit.analyses.metrics import Metric

    rev = Metric.sum("order_value", events="purchase", name="revenue", label_es="ingresos")
    orders = Metric.count("purchase", name="orders", label_es="pedidos")
    exp = fk.experiment(ev, shop_journey(), variant_col="variant", control="A", window="7D",
                        metrics=[rev, orders, Metric.ratio(rev, orders, name="aov", label_es="ticket_medio")])
    analyses = dict(trend=trend(ev, shop_journey(), window="7D"), journey_map=journey_map(ev, shop_journey()))
    en = report.experiment_report(exp, d / "report_en.html", lang="en", **analyses)
    es = report.experiment_report(exp, d / "report_es.html", lang="es")
    return {"en": en, "es": es, "exp": exp}


@pytest.fixture(scope="module")
def rendered(chromium, pages, tmp_path_factory):
    d = tmp_path_factory.mktemp("shots")
    out = {}
    for lang in ("en", "es"):
        url = pages[lang].resolve().as_uri()
        png = d / f"{lang}.png"
        shot = _run(chromium, url, d, f"--screenshot={png}", "--window-size=1280,4000")
        assert png.exists(), shot.stderr.decode(errors="replace")[-2000:]
        dom = _run(chromium, url, d, "--dump-dom", "--window-size=1280,4000")
        assert dom.returncode == 0, dom.stderr.decode(errors="replace")[-2000:]
        text = dom.stdout.decode("utf-8").replace("&nbsp;", " ").replace("\u00a0", " ")
        out[lang] = (png, text)
    return out


@pytest.mark.parametrize("lang", ["en", "es"])
def test_screenshot_is_not_blank_and_shows_figures(rendered, lang):
    png, _ = rendered[lang]
    full = _read_png(png)
    assert full.shape[0] >= 3000 and full.shape[1] == 1280
    img = full[::2, ::2]  # a quarter of the pixels is plenty (and 4x faster)
    gray = img.mean(axis=2)
    assert gray.std() > 12  # text, tables and figures, not an empty page
    assert (gray < 100).mean() > 0.003  # dark text is present
    # the bars of the conversion figure (variant A blue, variant B orange) are drawn
    assert _near(img, BLUE) > 5_000
    assert _near(img, ORANGE) > 5_000


def test_dom_has_headings_and_numbers_en(rendered, pages):
    _, dom = rendered["en"]
    for s in ("A/B test report", "Health checks", "Results by step", "Conclusions", "Conversion by variant",
              "Time to convert", "Conversion trend", "Journey map", "Power and sample size",
              "Discovery", "Consideration", "Purchase"):
        assert s in dom, s
    exp = pages["exp"]
    for r in exp.conversion.itertuples():
        assert f"{r.rate * 100:.1f}%" in dom
        assert f"{r.converters:,}" in dom
    assert dom.count("data:image/png;base64,") == 4


def test_dom_spanish_report_shows_spanish_labels(rendered, pages):
    _, dom = rendered["es"]
    for s in ("Informe del test A/B", "Resultados por etapa", "Conclusiones", "Potencia y tamaño muestral", *ES):
        assert s in dom, s
    assert "Consideration" not in dom and "Loyalty" not in dom
    exp = pages["exp"]
    for r in exp.conversion.itertuples():
        assert f"{r.rate * 100:.1f}".replace(".", ",") + " %" in dom
        assert f"{r.converters:,}".replace(",", ".") in dom


# --------------------------------------------------------------------------- layout (issue 16)

_MEASURE = """<script>window.addEventListener('load', function () {
  var out = [];
  document.querySelectorAll('.tablewrap').forEach(function (w) {
    var ths = w.querySelectorAll('th'), last = ths[ths.length - 1];
    var b = last.getBoundingClientRect(), r = w.getBoundingClientRect();
    out.push([last.textContent, w.scrollWidth, w.clientWidth, b.right, r.right, innerWidth]);
  });
  document.body.setAttribute('data-tables', JSON.stringify(out));
});</script>"""


def _tables_at(chromium, page, width, tmp_path):
    """Per table of the page at this window width: last header's text, scroll and client
    widths of its wrapper, the header's and the wrapper's right edges, the viewport width."""
    import json
    import re

    src = page.read_text(encoding="utf-8").replace("</body>", _MEASURE + "</body>")
    probe = tmp_path / f"probe-{uuid.uuid4().hex}.html"
    probe.write_text(src, encoding="utf-8")
    out = _run(chromium, probe.resolve().as_uri(), tmp_path, "--dump-dom", "--virtual-time-budget=5000",
               f"--window-size={width},2000")
    m = re.search(r'data-tables="([^"]*)"', out.stdout.decode("utf-8"))
    assert m, out.stderr.decode(errors="replace")[-2000:]
    return json.loads(m.group(1).replace("&quot;", '"'))


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("width", [1024, 1280, 1920])
def test_results_tables_fit_with_the_verdict_visible(chromium, pages, tmp_path, lang, width):
    verdict = {"en": "Verdict", "es": "Veredicto"}[lang]
    tables = [t for t in _tables_at(chromium, pages[lang], width, tmp_path) if t[0] == verdict]
    assert len(tables) == 2  # steps, and metrics
    for head, scroll_w, client_w, right, wrap_right, viewport in tables:
        assert scroll_w <= client_w + 1, f"{lang} {width}px: the table scrolls sideways ({scroll_w} > {client_w})"
        assert right <= wrap_right + 1 and right <= viewport, f"{lang} {width}px: {head} is cut"


def test_headline_states_the_size_of_significant_effects(rendered, pages):
    exp = pages["exp"]
    sig = exp.table[exp.table["verdict"].str.startswith("significant")]
    assert len(sig)
    _, dom_en = rendered["en"]
    _, dom_es = rendered["es"]
    head_en = dom_en[dom_en.index("Significant effects"):dom_en.index("Bottom line")]
    head_es = dom_es[dom_es.index("Efectos significativos"):dom_es.index("En resumen")]
    for r in sig.itertuples():
        assert f"{r.rel_lift * 100:+.0f}%" in head_en
        assert f"{r.rel_lift * 100:+.0f} %" in head_es
        if r.kind == "conversion":
            assert f"{r.abs_diff * 100:+.1f} points" in head_en
            assert f"{r.abs_diff * 100:+.1f} puntos".replace(".", ",") in head_es
    # words (issue 16): no "1 warnings", "a prioris", "control control"
    for dom in (dom_en, dom_es):
        assert "control control" not in dom and "a prioris" not in dom
    assert "a priori Beta(1, 1)" in dom_es
    assert "ingresos" in dom_es and "Ingresos y otras métricas" in dom_es
