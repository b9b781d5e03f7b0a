"""report/_retention.py: the retention section, en/es, well-formed, escaped."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _report_helpers import EVIL_VARIANT, parse

from funnelkit.analyses.retention import loyalty, retention
from funnelkit.report._retention import loyalty_section, retention_section


@pytest.fixture(scope="module")
def ev() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 2500
    users = rng.integers(0, 250, n)
    return pd.DataFrame({"user_id": users,
                         "timestamp": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 15 * 24 * 60, n), "min"),
                         "event": rng.choice(["view", "buy"], n, p=[0.8, 0.2]),
                         "variant": np.where(users % 2, "A", EVIL_VARIANT)})


@pytest.fixture(scope="module")
def results(ev):
    return (retention(ev, period="D", compare="variant", control="A", periods=5),
            loyalty(ev, event="buy", compare="variant", control="A", within="3D"))


@pytest.mark.parametrize("lang, title, word", [("en", "Retention: who comes back", "Repeat rate"),
                                               ("es", "Retención: quién vuelve", "Tasa de repetición")])
def test_section_in_both_languages_with_comparison(results, lang, title, word) -> None:
    res, loy = results
    html = retention_section(res, loy, lang=lang)
    doc = parse(html)
    assert not doc.errors
    assert doc.headings[0] == ("h2", title)
    assert [h[0] for h in doc.headings] == ["h2", "h3", "h3"]
    text = " ".join(doc.text)
    assert word in text
    assert EVIL_VARIANT not in html  # escaped
    assert len(doc.imgs) == 3
    # the numbers shown are the curve's
    r1 = res.curve.query("group == 'A' and period == 1").iloc[0]
    shown = f"{r1.rate * 100:.1f}"
    assert (shown if lang == "en" else shown.replace(".", ",")) in text


def test_no_figures_and_loyalty_alone(ev) -> None:
    html = retention_section(retention(ev, period="W"), figures=False)
    assert "<img" not in html and html.endswith("</section>")
    lo = loyalty_section(loyalty(ev, event="buy"), lang="es", figures=False)
    assert lo.startswith("<section class='loyalty'>") and "Compradores" in lo
