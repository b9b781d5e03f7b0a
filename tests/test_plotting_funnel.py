"""Tests for funnelkit.plotting.funnel: the funnel bars (structure, not pixels)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from _plotting_helpers import (
    EN,
    ES,
    assert_ticks_do_not_overlap,
    boxes,
    draw,
    new_ax,
    num,
    overlapping,
    pct,
    texts,
    ticks,
)

import funnelkit as fk
from funnelkit import plotting
from funnelkit.datasets._journeys import shop_journey


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


@pytest.mark.parametrize("lang, labels", [("en", EN), ("es", ES)])
def test_funnel_bars_structure(res, lang, labels):
    ax = new_ax()
    out = plotting.funnel_bars(res, ax=ax, lang=lang)
    assert out is ax
    bars = [p for p in ax.patches if p.get_gid() == "funnelkit-bars"]
    ghosts = [p for p in ax.patches if p.get_gid() == "funnelkit-dropoff"]
    assert len(bars) == len(res.table) and len(ghosts) == len(res.table) - 1
    assert [b.get_height() for b in bars] == res.table["units"].tolist()
    assert tuple(ticks(ax)) == labels
    tx = texts(ax)
    for r in res.table.itertuples():
        assert any(pct(r.conversion_rate, lang) in t and num(r.units, lang) in t for t in tx)
    for r in res.table.iloc[1:].itertuples():
        assert any(pct(r.dropoff_rate, lang) in t and num(r.dropoff, lang) in t for t in tx)
    assert ax.get_title(loc="left") == ("Funnel" if lang == "en" else "Embudo")
    assert ax.get_ylabel() == ("Users" if lang == "en" else "Usuarios")


def test_funnel_bars_annotations_and_ticks_do_not_overlap(res):
    ax = new_ax(6.4, 4.0)
    plotting.funnel_bars(res, ax=ax)
    r = draw(ax)
    assert not overlapping(boxes(ax.texts, r))
    assert_ticks_do_not_overlap(ax)
    # every annotation stays inside the Axes
    inside = ax.get_window_extent(r)
    for b in boxes(ax.texts, r):
        assert b.y1 <= inside.y1 + 1 and b.y0 >= inside.y0 - 1


def test_funnel_bars_new_figure_and_default_language(events):
    res_es = fk.funnel(events, shop_journey(lang="es"), window="7D")
    ax = plotting.funnel_bars(res_es)
    assert tuple(ticks(ax)) == ES
    ax.figure.canvas.draw()


def test_funnel_bars_title_and_colour(res):
    ax = plotting.funnel_bars(res, title=False, color="#000000")
    assert ax.get_title(loc="left") == ""
    bars = [p for p in ax.patches if p.get_gid() == "funnelkit-bars"]
    assert bars[0].get_facecolor()[:3] == (0.0, 0.0, 0.0)
    ax = plotting.funnel_bars(res, title="My $ funnel")
    assert ax.get_title(loc="left") == r"My \$ funnel"


def _long_funnel():
    names = [f"step number {i} with a rather long descriptive event name" for i in range(1, 9)]
    rng = np.random.default_rng(0)
    rows = []
    for u in range(200):
        depth = rng.integers(1, 9)
        for k in range(depth):
            rows.append((u, k * 60, names[k]))
    ev = pd.DataFrame({"user_id": [r[0] for r in rows],
                       "timestamp": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta([r[1] for r in rows], "s"),
                       "event": [r[2] for r in rows]})
    return fk.funnel(ev, names, window="1D")


@pytest.mark.parametrize("size", [(6.4, 4.0), (4.0, 3.0), (12, 5)])
def test_long_labels_are_wrapped_or_rotated_never_overlapping(size):
    res = _long_funnel()
    ax = new_ax(*size)
    plotting.funnel_bars(res, ax=ax)
    assert_ticks_do_not_overlap(ax)
    assert [t.replace(" ", "") for t in ticks(ax)] == [s.replace(" ", "") for s in res.steps]


def test_dollar_signs_are_not_mathtext():
    ev = pd.DataFrame({"user_id": [1, 1, 2], "timestamp": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:05",
                                                                       "2024-01-01 11:00"], utc=True),
                       "event": ["$5 off banner", "buy for $5", "$5 off banner"]})
    res = fk.funnel(ev, ["$5 off banner", "buy for $5"], window="1D")
    ax = plotting.funnel_bars(res)
    ax.figure.canvas.draw()
    assert "$5 off banner" in ticks(ax)[0].replace("\\$", "$")
