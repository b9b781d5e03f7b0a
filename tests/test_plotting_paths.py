"""plotting/paths.py: structure of the figures and their data twins (Agg, no pixels)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _plotting_helpers import new_ax, ticks

import funnelkit as fk
from funnelkit.analyses.frictions import frictions
from funnelkit.analyses.paths import dropoff_paths, paths, step_matrix, transition_matrix
from funnelkit.errors import ParameterError
from funnelkit.plotting import paths as pp

pytestmark = pytest.mark.filterwarnings("ignore::funnelkit.errors.DuplicateEventsWarning")


@pytest.fixture(scope="module")
def shop():
    ev = fk.load_sample("shop")
    return ev[ev["user_id"] < 1000].reset_index(drop=True)


def test_flow_readable_at_five_positions_and_eight_tokens(shop):
    res = paths(shop, length=5)
    ax = res.plot()
    data = ax.funnelkit_data
    assert set(data["position"]) == {1, 2, 3, 4}
    for p in range(1, 5):
        sub = data[data["position"] == p]
        assert sub["source"].nunique() <= 9 and sub["target"].nunique() <= 9  # 8 tokens + other
    # bands carry every occurrence of the links table
    assert data["paths"].sum() == res.links["paths"].sum()
    assert ticks(ax) == ["1", "2", "3", "4", "5"]
    labels = [t.get_text() for t in ax.texts]
    assert labels and all(lbl for lbl in labels)


def test_flow_ax_passed_is_returned(shop):
    ax = new_ax()
    assert pp.flow(paths(shop, length=3), ax=ax, max_tokens=3) is ax
    with pytest.raises(ParameterError):
        pp.flow(paths(shop, length=3), max_tokens=0)


def test_heatmaps_and_difference(shop):
    tm = transition_matrix(shop, by="variant")
    ax = tm.plot()
    assert len(ax.images) == 1
    assert (ax.funnelkit_data["group"] == tm.table["group"].iloc[0]).all()
    ax2 = pp.transition_heatmap(tm, difference=True)
    assert "difference" in ax2.funnelkit_data.columns
    with pytest.raises(ParameterError, match="by="):
        pp.transition_heatmap(transition_matrix(shop), difference=True)
    sm = step_matrix(shop, max_steps=5)
    ax3 = sm.plot()
    assert ax3.images[0].get_array().shape[1] == 5


def test_dropoff_and_frictions_charts(shop):
    res = fk.funnel(shop, ["landing", "product_view", "purchase"], window="7D")
    dp = dropoff_paths(shop, res, step=2, length=2)
    ax = dp.plot(n=5)
    assert len(ax.funnelkit_data) <= 5
    assert len(ax.patches) == 2 * len(ax.funnelkit_data)
    fr = frictions(shop, res, step=2, properties=["channel", "device"])
    ax = fr.plot(n=4)
    d = ax.funnelkit_data
    assert (d["odds_ratio"] > 1).sum() <= 4 and (d["odds_ratio"] < 1).sum() <= 4
    assert np.all(np.diff(np.log(d["odds_ratio"].to_numpy(dtype=float))) <= 0)
    assert "association, not cause" in ax.get_xlabel()
