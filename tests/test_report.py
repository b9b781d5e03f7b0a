"""Tests for the funnelkit.report package: its names, number formats, page skeleton, what it accepts.

Each report has its own tests (tests/test_report_funnel.py, test_report_experiment.py,
test_report_conclusions.py); test_report_browser.py renders a page in Chromium.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _report_helpers import assert_self_contained, parse

import funnelkit as fk
from funnelkit import report
from funnelkit.datasets._journeys import shop_journey
from funnelkit.errors import ParameterError
from funnelkit.analyses.journey_map import journey_map
from funnelkit.report._html import esc, html_table, page
from funnelkit.report._i18n import TEXT, chance, date, pct, pts, pval, window_text
from funnelkit.analyses.trends import trend


@pytest.fixture(scope="module")
def events():
    return fk.datasets.make_shop(n_users=2000, seed=1)


@pytest.fixture(scope="module")
def exp(events):
    return fk.experiment(events, shop_journey(), variant_col="variant", control="A", window="7D")


@pytest.fixture(scope="module")
def res(events):
    return fk.funnel(events, shop_journey(), window="7D")


def test_public_names():
    assert sorted(report.__all__) == ["experiment_conclusions", "experiment_report", "funnel_report"]
    for name in report.__all__:
        assert callable(getattr(report, name))


def test_bad_language(exp, res, tmp_path):
    with pytest.raises(ParameterError, match="lang"):
        report.experiment_report(exp, tmp_path / "x.html", lang="fr")
    with pytest.raises(ParameterError, match="lang"):
        report.funnel_report(res, tmp_path / "x.html", lang="de")


def test_number_formats():
    assert pval(0.0004, "en") == "<\u20090.001" and pval(0.01234, "es") == "0,012"
    assert chance(0.99996, "en") == ">99.9%" and chance(0.00001, "en") == "<0.1%"
    assert pts(0.0381, "es") == "+3,8"
    assert np.isnan(np.nan) and pct(np.nan, "en") == "–"
    assert window_text(pd.Timedelta("7D"), TEXT["es"], "es") == "7 días"
    assert window_text(None, TEXT["en"], "en") == "no limit"
    assert window_text(pd.Timedelta("30min"), TEXT["en"], "en") == "30 min"
    assert date(pd.Timestamp("2026-03-05"), "en") == "Mar 5, 2026"
    assert date(pd.Timestamp("2026-03-05"), "es") == "5 mar 2026"


def test_both_languages_have_the_same_words():
    assert set(TEXT["en"]) == set(TEXT["es"])


def test_page_skeleton_is_self_contained_and_escaped():
    html = page("<T>", html_table(["<h>"], [[esc("<c>")]]), lang="es")
    doc = parse(html)
    assert html.startswith("<!DOCTYPE html>") and "<html lang='es'>" in html
    assert "&lt;T&gt;" in html and "&lt;h&gt;" in html and "&lt;c&gt;" in html
    assert "<h>" not in html and "<c>" not in html
    assert doc.alltext.strip().startswith("<T>")
    assert_self_contained(html)


# --------------------------------------------------------------------------- results only
def test_reports_take_results_not_event_logs(exp, res, events, tmp_path):
    with pytest.raises(ParameterError, match=r"takes a FunnelResult, not a DataFrame.*reports take results"):
        report.funnel_report(events, tmp_path / "x.html")
    with pytest.raises(ParameterError, match=r"takes an ExperimentResult, not a DataFrame"):
        report.experiment_report(events, tmp_path / "x.html")
    with pytest.raises(ParameterError, match=r"`trend=` takes a TrendResult, not an event log: pass "
                                             r"trend=fk\.trends\.trend\(events, journey\)"):
        report.funnel_report(res, tmp_path / "x.html", trend=events)
    with pytest.raises(ParameterError, match=r"`journey_map=` takes a JourneyMapResult, not a FunnelResult"):
        exp.report(tmp_path / "x.html", journey_map=res)
    with pytest.raises(TypeError, match="events"):  # the old keyword is gone
        res.report(tmp_path / "x.html", events=events)
    assert not (tmp_path / "x.html").exists()


def test_analyses_must_be_on_the_same_steps(exp, res, events, tmp_path):
    other = ["landing", "purchase"]
    with pytest.raises(ParameterError, match="same journey"):
        report.funnel_report(res, tmp_path / "x.html", trend=trend(events, other))
    with pytest.raises(ParameterError, match="same journey"):
        report.experiment_report(exp, tmp_path / "x.html", journey_map=journey_map(events, other))
