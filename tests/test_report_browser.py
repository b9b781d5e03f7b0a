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
    exp = fk.experiment(ev, shop_journey(), variant_col="variant", control="A", window="7D")
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
    for r in exp.table.itertuples():
        assert f"{r.rate * 100:.1f}%" in dom
        assert f"{r.converters:,}" in dom
    assert dom.count("data:image/png;base64,") == 4


def test_dom_spanish_report_shows_spanish_labels(rendered, pages):
    _, dom = rendered["es"]
    for s in ("Informe del test A/B", "Resultados por etapa", "Conclusiones", "Potencia y tamaño muestral", *ES):
        assert s in dom, s
    assert "Consideration" not in dom and "Loyalty" not in dom
    exp = pages["exp"]
    for r in exp.table.itertuples():
        assert f"{r.rate * 100:.1f}".replace(".", ",") + " %" in dom
        assert f"{r.converters:,}".replace(",", ".") in dom
