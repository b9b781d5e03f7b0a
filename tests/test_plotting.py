"""Tests for the funnelkit.plotting package: its names, the dispatcher, what it accepts.

Each plotting module has its own tests (tests/test_plotting_<module>.py).
"""

from __future__ import annotations

import subprocess
import sys

import matplotlib.pyplot as plt
import pytest
from _plotting_helpers import new_ax

import funnelkit as fk
from funnelkit import plotting
from funnelkit.datasets._journeys import shop_journey
from funnelkit.errors import ParameterError
from funnelkit.analyses.journey_map import journey_map
from funnelkit.plotting._format import check_lang, fmt_duration, num, pct
from funnelkit.analyses.trends import trend


@pytest.fixture(scope="module")
def events():
    return fk.datasets.make_shop(n_users=3000, seed=1)


@pytest.fixture(scope="module")
def res(events):
    return fk.funnel(events, shop_journey(), window="7D", by="channel")


@pytest.fixture(scope="module")
def exp(events):
    return fk.experiment(events, shop_journey(), variant_col="variant", control="A", window="7D")


@pytest.fixture(scope="module")
def tb(res):
    return res.time_between()


@pytest.fixture(scope="module")
def tr(events):
    return trend(events, shop_journey(), freq="W")


@pytest.fixture(scope="module")
def jm(events):
    return journey_map(events, shop_journey())


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_public_names():
    assert sorted(plotting.__all__) == sorted([
        "JOURNEY_MAP_COLUMNS", "PALETTE", "breakdown", "conversion_trend", "dropoff", "flow", "frictions_chart",
        "funnel_bars", "journey_map", "journey_map_table", "plot_result", "retention_curve", "retention_triangle",
        "step_heatmap", "time_cumulative", "time_hist", "time_to_convert_hist", "time_to_nth_curve",
        "transition_heatmap", "trend_table", "variant_conversion"])
    for name in plotting.__all__:
        assert hasattr(plotting, name)
    assert plotting.trend_table is fk.trends.trend_table


def _fresh_imports(env):
    """Two fresh interpreters: ``import funnelkit``, then funnelkit with its plotting and report
    modules (each a second or two: run in the background after collection, tests/conftest.py)."""
    first = subprocess.run([sys.executable, "-c", "import funnelkit, sys; assert 'matplotlib' not in sys.modules"],
                           capture_output=True, text=True, env=env)
    code = ("import sys, funnelkit, funnelkit.plotting, funnelkit.report, funnelkit.analyses.trends, funnelkit.analyses.journey_map; "
            "print('matplotlib' in sys.modules)")
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    return first, second


def background_jobs(background, items):
    if any(item.name == "test_import_funnelkit_does_not_import_matplotlib" for item in items):
        return {"plotting:fresh-imports": _fresh_imports}
    return {}


def test_import_funnelkit_does_not_import_matplotlib(background):
    out, second = background.result("plotting:fresh-imports", _fresh_imports)
    assert out.returncode == 0, out.stderr
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "False"


def test_palette_is_okabe_ito():
    assert plotting.PALETTE[:4] == ("#0072B2", "#E69F00", "#009E73", "#D55E00")


# --------------------------------------------------------------------------- dispatcher
def test_plot_result_dispatch(res, tb, exp, tr, jm):
    ax = res.plot()
    assert [p.get_gid() for p in ax.patches].count("funnelkit-bars") == len(res.table)
    ax = res.plot("breakdown", step=2)
    assert len([p for p in ax.patches if p.get_gid() == "funnelkit-breakdown"]) == res.breakdown["channel"].nunique()
    ax = tb.plot()
    assert ax.get_xscale() == "log"
    ax = tb.plot("cumulative")
    assert len(ax.get_lines()) == len(tb.table)
    ax = exp.plot()
    assert len(ax.containers) == 2 * len(exp.variants)
    mine = new_ax()
    assert plotting.plot_result(res, "bars", ax=mine) is mine
    ax = plotting.plot_result(tr)
    assert [ln for ln in ax.get_lines() if ln.get_gid() == "funnelkit-trend-line"]
    ax = plotting.plot_result(jm, "map")
    assert [p for p in ax.patches if p.get_gid() == "funnelkit-cell"]


def test_plot_result_unknown_kind_lists_kinds(res, tb, exp):
    with pytest.raises(ParameterError, match="'bars', 'breakdown'"):
        res.plot("pie")
    with pytest.raises(ParameterError, match="'hist', 'cumulative'"):
        tb.plot("violin")
    with pytest.raises(ParameterError, match="'conversion'"):
        exp.plot("bars")
    with pytest.raises(ParameterError, match="Cannot plot"):
        plotting.plot_result(object(), "bars")


# --------------------------------------------------------------------------- results only
@pytest.mark.parametrize("name, how", [
    ("funnel_bars", r"fk\.funnel\(events, journey\)"),
    ("breakdown", r"fk\.funnel\(events, journey, by='channel'\)"),
    ("variant_conversion", r"fk\.experiment\(events, journey, variant_col="),
    ("time_hist", r"fk\.time_between\(fk\.funnel\(events, journey\)\)"),
    ("time_cumulative", r"fk\.time_between\(fk\.funnel\(events, journey\)\)"),
    ("conversion_trend", r"fk\.trends\.trend\(events, journey\)"),
    ("journey_map", r"journey_map\(events, journey, touchpoint='channel'\)"),
    ("plot_result", r"fk\.funnel\(events, journey\)"),
])
def test_every_plotting_function_refuses_an_event_log(events, name, how):
    func = getattr(plotting, name)
    for data in (events, "events.parquet"):
        with pytest.raises(ParameterError, match=how + ".*plotting functions take results"):
            func(data)


def test_a_result_of_the_wrong_kind_is_refused(res, exp, tb):
    with pytest.raises(ParameterError, match=r"variant_conversion\(\) takes an ExperimentResult .*not a FunnelResult"):
        plotting.variant_conversion(res)
    with pytest.raises(ParameterError, match="takes a FunnelResult .*not an ExperimentResult"):
        plotting.funnel_bars(exp)
    with pytest.raises(ParameterError, match="takes a JourneyMapResult .*not a TimeBetweenResult"):
        plotting.journey_map(tb)


def test_bad_language(res):
    with pytest.raises(ParameterError, match="lang"):
        plotting.funnel_bars(res, lang="fr")


def test_every_plot_renders(res, tb, exp, tr, jm):
    for make in (lambda ax: plotting.funnel_bars(res, ax=ax), lambda ax: plotting.variant_conversion(exp, ax=ax),
                 lambda ax: plotting.time_hist(tb, ax=ax), lambda ax: plotting.time_cumulative(tb, ax=ax),
                 lambda ax: plotting.breakdown(res, ax=ax), lambda ax: plotting.conversion_trend(tr, ax=ax),
                 lambda ax: plotting.journey_map(jm, ax=ax)):
        ax = new_ax()
        assert make(ax) is ax
        ax.figure.canvas.draw()


# --------------------------------------------------------------------------- number formats
def test_human_durations():
    f = fmt_duration
    assert [f(0), f(45), f(90), f(360), f(5400), f(86400 * 2.5), f(86400 * 12)] == [
        "0 s", "45 s", "1.5 min", "6 min", "1.5 h", "2.5 d", "12 d"]
    assert f(90, "es") == "1,5 min"
    assert f(0.25) == "250 ms" and f(float("nan")) == "–"


def test_numbers_and_languages():
    assert num(1234567, "en") == "1,234,567" and num(1234567, "es") == "1.234.567"
    assert pct(-0.0512, "en", sign=True) == "−5.1%" and pct(0.5, "es", 0) == "50\u00a0%"
    assert check_lang(None, fk.datasets.shop_journey(lang="es")) == "es"
    with pytest.raises(ParameterError, match="lang"):
        check_lang("fr")
