"""Tests for funnelkit.plotting.timing: the histogram and the "converted within t" curve."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from _plotting_helpers import ES, assert_ticks_do_not_overlap, new_ax, ticks

import funnelkit as fk
from funnelkit import plotting
from funnelkit.datasets._journeys import shop_journey
from funnelkit.errors import ParameterError


@pytest.fixture(scope="module")
def events():
    return fk.datasets.make_shop(n_users=3000, seed=1)


@pytest.fixture(scope="module")
def tb(events):
    return fk.funnel(events, shop_journey(), window="7D", by="channel").time_between()


@pytest.fixture(scope="module")
def exp(events):
    return fk.experiment(events, shop_journey(), variant_col="variant", control="A", window="7D")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_time_hist_all_transitions(tb):
    ax = new_ax()
    assert plotting.time_hist(tb, ax=ax) is ax
    assert len(ax.patches) == len(tb.table)  # one step outline per transition
    assert ax.get_xscale() == "log"
    legend = [x.get_text() for x in ax.get_legend().get_texts()]
    assert len(legend) == len(tb.table)
    assert legend[0].startswith("Discovery → Consideration (median ")
    xt = ticks(ax)
    assert xt and all(t.split()[-1] in ("s", "min", "h", "d") for t in xt)
    assert_ticks_do_not_overlap(ax)


def test_time_hist_one_transition_spanish_labels(tb):
    ax = new_ax()
    plotting.time_hist(tb, "purchase", ax=ax, lang="es", labels=ES, bins=20)
    assert ax.get_title(loc="left") == "Tiempo entre etapas: Consideración → Compra"
    assert len(ax.patches) == 1  # one filled step outline
    d = tb.durations.loc[tb.durations["to_step"] == "purchase", "duration"].dt.total_seconds().to_numpy()
    d = d[d > 0]
    expected, _ = np.histogram(d, bins=np.geomspace(d.min(), d.max(), 21))
    assert ax.patches[0].get_xy()[:, 1].max() == expected.max()
    assert ax.get_xlabel() == "Tiempo desde la etapa anterior"
    med = tb.table.set_index("to_step").loc["purchase", "median"].total_seconds()
    vlines = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(vlines) == 1 and vlines[0].get_xdata()[0] == pytest.approx(med)
    ax.figure.canvas.draw()


def test_time_hist_linear_and_custom_bins(tb):
    ax = plotting.time_hist(tb, 1, log=False, bins=[0, 60, 600, 3600, 86400, 7 * 86400])
    assert ax.get_xscale() == "linear"
    ax.figure.canvas.draw()
    with pytest.raises(ParameterError):
        plotting.time_hist(tb, 1, bins=[10, 5])
    with pytest.raises(ParameterError):
        plotting.time_hist(tb, 1, bins=[0, 10, 20], log=True)
    with pytest.raises(ParameterError, match="labels"):
        plotting.time_hist(tb, labels=["just one"])


def test_time_cumulative_ends_at_the_transition_rate(tb):
    ax = new_ax()
    assert plotting.time_cumulative(tb, ax=ax) is ax
    lines = ax.get_lines()
    assert len(lines) == len(tb.table)
    for ln, rate in zip(lines, tb.table["rate"]):
        assert ln.get_ydata()[-1] == pytest.approx(rate)
        assert np.all(np.diff(ln.get_ydata()) >= 0)
    assert ax.get_yaxis().get_major_formatter()(0.25, 0) == "25%"
    ax.figure.canvas.draw()


def test_time_cumulative_several_results_on_one_axes(exp):
    ax = new_ax()
    for i, v in enumerate(exp.variants):
        plotting.time_cumulative(exp.funnels[v].time_between(), 2, ax=ax, label=v, color=plotting.PALETTE[i],
                                 lang="es", labels=ES)
    assert [x.get_text() for x in ax.get_legend().get_texts()] == list(exp.variants)
    ax.figure.canvas.draw()


def test_time_to_convert_hist_draws_the_bins_median_and_cumulative_curve(events):
    from funnelkit.analyses.timing import time_to_convert
    from funnelkit.plotting.timing import time_to_convert_hist

    ttc = time_to_convert(events, shop_journey(), from_step=1, to_step=3, window="7D", bins=12)
    ax = new_ax()
    assert time_to_convert_hist(ttc, ax=ax) is ax
    assert len(ax.patches) == 12
    heights = [p.get_height() for p in ax.patches]
    assert heights == ttc.table["units"].tolist()
    widths = [p.get_width() for p in ax.patches]
    assert widths == pytest.approx((ttc.table["bin_end"] - ttc.table["bin_start"]).dt.total_seconds().tolist())
    med = [ln for ln in ax.get_lines() if ln.get_gid() == "funnelkit-median"]
    assert med[0].get_xdata()[0] == pytest.approx(ttc.summary["median"].iloc[0].total_seconds())
    cum = [ln for ln in ax.funnelkit_twin.get_lines() if ln.get_gid() == "funnelkit-cumulative"][0]
    assert cum.get_ydata()[-1] == pytest.approx(ttc.table["cumulative_conversion_rate"].iloc[-1])
    legend = [x.get_text() for x in ax.get_legend().get_texts()]
    assert legend[0].startswith("median ") and "zero durations included" in legend[0]
    assert ax.get_title(loc="left") == "Time to convert: Discovery → Purchase"
    ax = ttc.plot(lang="es", cumulative=False, title=False)
    assert not hasattr(ax, "funnelkit_twin") and ax.get_ylabel() == "Unidades convertidas"
    with pytest.raises(ParameterError, match="takes a TimeToConvertResult"):
        time_to_convert_hist(ttc.table)
