"""Tests for funnelkit.plotting.journey_map: the picture of a JourneyMapResult."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
from _plotting_helpers import ES, assert_ticks_do_not_overlap, new_ax, num, pct, texts, ticks

import funnelkit as fk
from funnelkit import plotting
from funnelkit.datasets._journeys import shop_journey
from funnelkit.errors import ParameterError
from funnelkit.analyses.journey_map import journey_map


@pytest.fixture(scope="module")
def events():
    return fk.datasets.make_shop(n_users=3000, seed=1)


@pytest.fixture(scope="module")
def jm(events):
    return journey_map(events, shop_journey(), touchpoint="channel", window="7D")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_journey_map_plot(jm):
    ax = new_ax(10, 6)
    assert plotting.journey_map(jm, ax=ax, lang="es") is ax
    cells = jm.table
    G = cells["touchpoint"].nunique()
    K = cells["step"].nunique()
    assert len([p for p in ax.patches if p.get_gid() == "funnelkit-cell"]) == (G + 1) * K
    assert len([p for p in ax.patches if p.get_gid() == "funnelkit-friction"]) == 3
    ranks = sorted(t.get_text() for t in ax.texts if t.get_gid() == "funnelkit-friction-rank")
    assert ranks == ["1", "2", "3"]
    assert tuple(ticks(ax)) == ES
    assert ticks(ax, "y") == ["Total", *jm.touchpoints]
    tx = texts(ax)
    for r in cells.itertuples():
        assert num(r.units, "es") in tx
    # the top row is the whole funnel
    for n in cells.drop_duplicates("step")["stage_units"]:
        assert num(n, "es") in tx
    later = cells[cells["step"] != "discovery"]
    for r in later.itertuples():
        assert pct(r.step_conversion_rate, "es") in tx
    assert [t for t in ax.texts if t.get_gid() == "funnelkit-map-note"]
    assert_ticks_do_not_overlap(ax)
    assert_ticks_do_not_overlap(ax, "y")


def test_journey_map_plot_language_follows_the_result(events):
    jm_es = journey_map(events, shop_journey(), lang="es")
    ax = jm_es.plot()  # JourneyMapResult.plot delegates to plotting.journey_map
    assert tuple(ticks(ax)) == ES and ax.get_title(loc="left") == "Mapa del recorrido por channel"
    ax = jm_es.plot(lang="en", note=False, title="Map")
    assert ticks(ax)[0] == "Discovery" and ax.get_title(loc="left") == "Map"
    assert not [t for t in ax.texts if t.get_gid() == "funnelkit-map-note"]


def test_journey_map_without_frictions(events):
    jm0 = journey_map(events, shop_journey(), highlight=0)
    ax = plotting.journey_map(jm0)
    assert not [p for p in ax.patches if p.get_gid() == "funnelkit-friction"]


def test_journey_map_refuses_events(events):
    with pytest.raises(ParameterError, match="takes a JourneyMapResult, not a DataFrame: pass journey_map"):
        plotting.journey_map(events, shop_journey())  # the old call: events and journey
    with pytest.raises(ParameterError, match="plotting functions take results"):
        plotting.journey_map(events)
