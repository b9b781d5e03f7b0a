"""Tests for funnelkit.plotting.breakdown: conversion per group of a funnel's ``by=``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from _plotting_helpers import assert_ticks_do_not_overlap, new_ax, pct, texts, ticks

import funnelkit as fk
from funnelkit import plotting
from funnelkit.datasets._journeys import shop_journey
from funnelkit.errors import ParameterError


@pytest.fixture(scope="module")
def events():
    return fk.datasets.make_shop(n_users=3000, seed=1)


@pytest.fixture(scope="module")
def res(events):
    return fk.funnel(events, shop_journey(), window="7D", by="channel")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_breakdown_bars(res):
    ax = new_ax()
    assert plotting.breakdown(res, ax=ax, step="purchase", lang="es") is ax
    bd = res.breakdown
    groups = list(pd.unique(bd["channel"]))
    bars = [p for p in ax.patches if p.get_gid() == "funnelkit-breakdown"]
    assert len(bars) == len(groups)
    assert ticks(ax, "y") == groups
    sub = bd[bd["step"] == "purchase"]
    assert [b.get_width() for b in bars] == pytest.approx(sub["conversion_rate"].tolist())
    tx = texts(ax)
    for r in sub.itertuples():
        assert any(x.startswith(pct(r.conversion_rate, "es")) for x in tx)
    overall = res.table.set_index("step").loc["purchase", "conversion_rate"]
    assert [x.get_text() for x in ax.get_legend().get_texts()] == [f"Total: {pct(overall, 'es')}"]
    assert ax.get_title(loc="left") == "Conversión a Compra por channel"
    assert_ticks_do_not_overlap(ax, "y")


def test_breakdown_step_by_number_and_default(res):
    by_number = plotting.breakdown(res, step=3)
    by_name = plotting.breakdown(res, step="purchase")
    widths = [[p.get_width() for p in a.patches if p.get_gid() == "funnelkit-breakdown"] for a in (by_number, by_name)]
    assert widths[0] == widths[1]
    last = plotting.breakdown(res)
    assert "Loyalty" in last.get_title(loc="left")
    for bad in (0, 6, "nope"):
        with pytest.raises(ParameterError, match="step"):
            plotting.breakdown(res, step=bad)


def test_breakdown_needs_by(events):
    plain = fk.funnel(events, shop_journey(), window="7D")
    with pytest.raises(ParameterError, match="by="):
        plotting.breakdown(plain)
