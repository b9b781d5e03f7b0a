"""Tests for funnelkit.plotting.trend: conversion_trend draws a TrendResult, never events."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from _plotting_helpers import ES, assert_ticks_do_not_overlap, new_ax

import funnelkit as fk
from funnelkit import plotting
from funnelkit.datasets._journeys import shop_journey
from funnelkit.errors import ParameterError
from funnelkit.analyses.trends import trend


@pytest.fixture(scope="module")
def events():
    return fk.datasets.make_shop(n_users=3000, seed=1)


@pytest.fixture(scope="module")
def daily(events):
    return trend(events, shop_journey(), window="7D")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _incident():
    rows = []
    t0 = pd.Timestamp("2024-01-01 10:00", tz="UTC")
    uid = 0
    for d in range(12):
        for i in range(200):
            rows.append((uid, t0 + pd.Timedelta(days=d), "landing"))
            if i < (20 if d == 6 else 100):
                rows.append((uid, t0 + pd.Timedelta(days=d, hours=1), "purchase"))
            uid += 1
    rows.append((uid, t0 + pd.Timedelta(days=15), "landing"))
    return pd.DataFrame(rows, columns=["user_id", "timestamp", "event"])


def test_conversion_trend_flags_incomplete_periods(daily):
    ax = new_ax(10, 4)
    out = plotting.conversion_trend(daily, ax=ax, lang="es")
    assert out is ax
    lines = [ln for ln in ax.get_lines() if ln.get_gid() == "funnelkit-trend-line"]
    assert len(lines) == 4
    # the solid lines are the table's complete periods
    t = daily.table
    buy = t[t["step"] == "purchase"]
    y = lines[1].get_ydata()
    assert pd.Series(y).dropna().tolist() == pytest.approx(buy.loc[buy["complete"], "conversion_rate"].tolist())
    assert [p for p in ax.patches if p.get_gid() == "funnelkit-incomplete"]
    legend = [x.get_text() for x in ax.get_legend().get_texts()]
    assert legend[:4] == list(ES[1:]) and "Ventana aún incompleta" in legend
    assert ax.get_title(loc="left") == "Conversión por día de entrada"
    assert_ticks_do_not_overlap(ax)


def test_trend_result_plot_delegates(events):
    tr = trend(events, shop_journey(), freq="W")
    ax = new_ax()
    assert tr.plot(ax=ax, lang="en") is ax
    assert ax.get_title(loc="left") == "Conversion by entry week"
    ax = tr.plot(rate="step_conversion_rate", title=False)
    assert ax.get_ylabel() == "Conversion from the previous step" and ax.get_title(loc="left") == ""


def test_conversion_trend_rings_the_incident():
    tr = trend(_incident(), ["landing", "purchase"], window="1D")
    ax = plotting.conversion_trend(tr, steps=["purchase"])
    rings = [c for c in ax.collections if c.get_gid() == "funnelkit-shift"]
    assert len(rings) == 1 and len(rings[0].get_offsets()) == 1
    assert rings[0].get_offsets()[0][1] == pytest.approx(0.1)
    assert "Shift in step conversion" in [x.get_text() for x in ax.get_legend().get_texts()]
    ax.figure.canvas.draw()
    with pytest.raises(ParameterError):
        plotting.conversion_trend(tr, steps=["nope"])
    with pytest.raises(ParameterError):
        plotting.conversion_trend(tr, rate="units")


def test_conversion_trend_refuses_events(events):
    with pytest.raises(ParameterError, match=r"pass fk\.trends\.trend\(events, journey\) — plotting functions "
                                             r"take results"):
        plotting.conversion_trend(events, shop_journey())  # the old call: events and journey
    table = fk.trends.trend_table(events, shop_journey())
    with pytest.raises(ParameterError, match="takes a TrendResult, not a DataFrame"):
        plotting.conversion_trend(table)
    res = fk.funnel(events, shop_journey())
    with pytest.raises(ParameterError, match="takes a TrendResult .* not a FunnelResult"):
        plotting.conversion_trend(res)


def test_conversion_trend_of_an_empty_trend():
    ev = pd.DataFrame({"user_id": [1], "timestamp": pd.to_datetime(["2024-01-01"], utc=True),
                       "event": ["page_view"]})
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tr = trend(ev, ["landing", "purchase"], window="1D")
    assert not len(tr.table)
    ax = plotting.conversion_trend(tr)
    assert ax.get_title(loc="left") == "Conversion by entry day" and not ax.get_lines()


def _thin_tail():
    """12 days of 100 entries converting 20 %, then a last day with 2 entries that both buy."""
    rows = []
    t0 = pd.Timestamp("2024-01-01 10:00", tz="UTC")
    uid = 0
    for d in range(13):
        n = 2 if d == 12 else 100
        for i in range(n):
            rows.append((uid, t0 + pd.Timedelta(days=d), "landing"))
            if d == 12 or i < 20:
                rows.append((uid, t0 + pd.Timedelta(days=d, hours=1), "purchase"))
            uid += 1
    rows.append((uid, t0 + pd.Timedelta(days=20), "page_view"))
    return pd.DataFrame(rows, columns=["user_id", "timestamp", "event"])


def test_periods_with_too_few_entries_are_hollow_grey_not_spikes():
    tr = trend(_thin_tail(), ["landing", "purchase"], window="1D")
    buy = tr.table[tr.table["step"] == "purchase"]
    assert buy["too_few"].tolist() == [False] * 12 + [True] and buy["conversion_rate"].iloc[-1] == 1.0
    ax = plotting.conversion_trend(tr)
    line = [ln for ln in ax.get_lines() if ln.get_gid() == "funnelkit-trend-line"][0]
    y = pd.Series(line.get_ydata())
    assert np.isnan(y.iloc[-1]) and y.dropna().tolist() == pytest.approx([0.2] * 12)  # no spike on the line
    hollow = [c for c in ax.collections if c.get_gid() == "funnelkit-too-few"]
    assert len(hollow) == 1 and len(hollow[0].get_offsets()) == 1
    assert ax.get_ylim()[1] < 0.5  # scaled to the readable periods; the 100 % sits at the top edge
    assert ax.get_ylim()[1] * 0.9 < hollow[0].get_offsets()[0][1] <= ax.get_ylim()[1]
    legend = [x.get_text() for x in ax.get_legend().get_texts()]
    assert "Too few entries to read (< 30)" in legend
    ax = plotting.conversion_trend(trend(_thin_tail(), ["landing", "purchase"], window="1D", min_entries=2),
                                   lang="es")
    assert not [c for c in ax.collections if c.get_gid() == "funnelkit-too-few"]
    assert not any("entradas" in x.get_text() for x in ax.get_legend().get_texts())
