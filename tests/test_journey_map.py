"""Tests for funnelkit.analyses.journey_map: the journey map's cells, on hand-made logs with known reach."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import funnelkit as fk
from funnelkit.datasets._journeys import shop_journey
from funnelkit.errors import ParameterError
from funnelkit.analyses.journey_map import JOURNEY_MAP_COLUMNS, JourneyMapResult, journey_map, journey_map_table

STEPS = ["landing", "product_view", "purchase"]
T0 = pd.Timestamp("2024-01-01 10:00", tz="UTC")


def log(rows):
    """rows: (user, minutes after T0, event, channel)."""
    return pd.DataFrame({
        "user_id": [r[0] for r in rows],
        "timestamp": (T0 + pd.to_timedelta([r[1] for r in rows], unit="min")).as_unit("ns"),
        "event": [r[2] for r in rows],
        "channel": pd.array([r[3] for r in rows], dtype="string"),
    })


@pytest.fixture(scope="module")
def small():
    # ads (first touch): u1 buys, u2 and u3 view, u4 only lands -> 4 / 3 / 1
    # email: u5 and u6 buy, u7 only lands -> 3 / 2 / 2
    # u2 lands from ads and views from email: first touch ads, last touch email
    return log([
        (1, 0, "landing", "ads"), (1, 5, "product_view", "ads"), (1, 9, "purchase", "ads"),
        (2, 0, "landing", "ads"), (2, 5, "product_view", "email"),
        (3, 0, "landing", "ads"), (3, 7, "product_view", "ads"),
        (4, 0, "landing", "ads"),
        (5, 0, "landing", "email"), (5, 3, "product_view", "email"), (5, 4, "purchase", "email"),
        (6, 0, "landing", "email"), (6, 30, "product_view", "email"), (6, 60, "purchase", "email"),
        (7, 0, "landing", "email"),
    ])


@pytest.fixture(scope="module")
def jm(small):
    return journey_map(small, STEPS, window="1D", min_units=1, min_z=0)


def cell(jm, touchpoint, step):
    t = jm.table
    row = t[(t["touchpoint"] == touchpoint) & (t["step"] == step)]
    assert len(row) == 1
    return row.iloc[0]


def test_result_object(jm):
    assert isinstance(jm, JourneyMapResult)
    assert list(jm.table.columns) == list(JOURNEY_MAP_COLUMNS)
    assert jm.steps == tuple(STEPS) and jm.labels == tuple(STEPS)
    assert jm.touchpoints == ("ads", "email")  # largest first
    assert jm.params["touchpoint"] == "channel" and jm.params["min_units"] == 1 and jm.params["min_z"] == 0.0
    assert jm.params["window"] == pd.Timedelta("1D") and jm.params["attribution"] == "first_touch"
    assert "by" not in jm.params
    with pytest.raises(dataclasses.FrozenInstanceError):
        jm.params = {}  # type: ignore[misc]
    frame = jm.to_frame()
    frame.loc[0, "units"] = -1
    assert jm.table.loc[0, "units"] == 4


def test_reach_per_cell(jm):
    t = jm.table
    assert t["touchpoint"].tolist() == ["ads"] * 3 + ["email"] * 3
    assert t["step"].tolist() == STEPS * 2
    assert t["units"].tolist() == [4, 3, 1, 3, 2, 2]
    assert t["entered"].tolist() == [4, 4, 4, 3, 3, 3]
    assert t["units_previous"].tolist() == [4, 4, 3, 3, 3, 2]
    assert t["dropoff"].tolist() == [0, 1, 2, 0, 1, 0]
    assert t["stage_units"].tolist() == [7, 5, 3] * 2
    assert t["stage_units_previous"].tolist() == [7, 7, 5] * 2
    assert t["conversion_rate"].to_numpy() == pytest.approx([1, 3 / 4, 1 / 4, 1, 2 / 3, 2 / 3])
    assert t["step_conversion_rate"].to_numpy() == pytest.approx([1, 3 / 4, 1 / 3, 1, 2 / 3, 1])
    assert t["dropoff_rate"].to_numpy() == pytest.approx([0, 1 / 4, 2 / 3, 0, 1 / 3, 0])
    assert t["share_of_stage"].to_numpy() == pytest.approx([4 / 7, 3 / 5, 1 / 3, 3 / 7, 2 / 5, 2 / 3])
    assert t["stage_step_conversion_rate"].to_numpy() == pytest.approx([1, 5 / 7, 3 / 5] * 2)
    assert t["stage_dropoff_rate"].to_numpy() == pytest.approx([0, 2 / 7, 2 / 5] * 2)


def test_excess_dropoff_and_frictions(jm):
    buy = cell(jm, "ads", "purchase")
    assert buy["excess_dropoff_rate"] == pytest.approx(2 / 3 - 2 / 5)
    assert buy["excess_dropoff"] == pytest.approx(3 * (2 / 3 - 2 / 5))
    assert buy["excess_z"] == pytest.approx((2 / 3 - 2 / 5) / np.sqrt(0.4 * 0.6 / 3))
    view = cell(jm, "email", "product_view")
    assert view["excess_dropoff_rate"] == pytest.approx(1 / 3 - 2 / 7)
    assert cell(jm, "email", "purchase")["excess_dropoff_rate"] == pytest.approx(-2 / 5)
    assert jm.table.loc[jm.table["step"] == "landing", ["excess_dropoff_rate", "excess_z"]].isna().all().all()
    fr = jm.frictions
    assert list(zip(fr["touchpoint"], fr["step"], fr["friction_rank"])) == [
        ("ads", "purchase", 1), ("email", "product_view", 2)]
    assert int(jm.table["friction"].sum()) == 2


def test_rates_are_fractions_with_their_denominators(jm):
    t = jm.table
    for rate, numerator, denominator in (("conversion_rate", "units", "entered"),
                                         ("step_conversion_rate", "units", "units_previous"),
                                         ("dropoff_rate", "dropoff", "units_previous"),
                                         ("share_of_stage", "units", "stage_units")):
        assert t[rate].between(0, 1).all(), rate
        assert (t[rate] * t[denominator]).to_numpy() == pytest.approx(t[numerator].to_numpy()), rate
        # each rate sits next to (or one column from) its denominator
        cols = list(t.columns)
        assert abs(cols.index(rate) - cols.index(denominator)) <= 3, rate


def test_guards_on_frictions(small):
    assert not journey_map(small, STEPS, window="1D").table["friction"].any()  # min_units=30 by default
    strict = journey_map(small, STEPS, window="1D", min_units=1, min_z=1.0)
    assert not strict.table["friction"].any()  # z = 0.94 for the worst cell
    one = journey_map(small, STEPS, window="1D", min_units=1, min_z=0, highlight=1)
    assert one.frictions["step"].tolist() == ["purchase"]
    none = journey_map(small, STEPS, window="1D", min_units=1, min_z=0, highlight=0)
    assert not none.table["friction"].any() and none.table["friction_rank"].isna().all()


def test_last_touch_moves_the_switching_user(small):
    last = journey_map(small, STEPS, window="1D", attribution="last_touch")
    assert last.touchpoints == ("email", "ads")  # email now has 4 entries
    t = last.table.set_index(["touchpoint", "step"])["units"]
    assert [t[("email", s)] for s in STEPS] == [4, 3, 2]
    assert [t[("ads", s)] for s in STEPS] == [3, 2, 1]
    assert last.params["attribution"] == "last_touch"


def test_missing_touchpoint_values_get_their_own_row(small):
    ev = pd.concat([small, log([(8, 0, "landing", None), (8, 2, "product_view", None)])], ignore_index=True)
    j = journey_map(ev, STEPS, window="1D")
    assert j.touchpoints[-1] == "(missing)"
    row = j.table[j.table["touchpoint"] == "(missing)"]
    assert row["units"].tolist() == [1, 1, 0]
    for step, n in zip(STEPS, [8, 6, 3]):
        assert j.table.loc[j.table["step"] == step, "units"].sum() == n


def test_window_is_passed_to_the_funnel(small):
    # u6 buys 60 minutes after landing: out of a 30-minute window
    j = journey_map(small, STEPS, window="30min")
    assert cell(j, "email", "purchase")["units"] == 1


def test_labels_follow_the_language(small):
    jj = fk.Journey({"entry": "landing", "view": "product_view", "buy": "purchase"},
                    labels={"entry": ("Entry", "Entrada"), "view": ("View", "Vista"), "buy": ("Buy", "Compra")})
    es = journey_map(small, jj, window="1D", lang="es")
    assert es.labels == ("Entrada", "Vista", "Compra") and es.params["lang"] == "es"
    assert es.table["label"].tolist()[:3] == ["Entrada", "Vista", "Compra"]


def test_repr_and_html(jm):
    text = repr(jm)
    assert text.splitlines()[0] == ("JourneyMapResult(touchpoint='channel', 2 touchpoints × 3 stages, "
                                    "window=1 days 00:00:00, 2 frictions)")
    assert "2 (66.7%) [2]" in text and "1 (33.3%) [1]" in text and "4 (57.1%)" in text
    html = jm._repr_html_()
    assert html.startswith("<div class='funnelkit-result'>") and "<table" in html and "[1]" in html


def test_table_shortcut_and_parameter_errors(small):
    pd.testing.assert_frame_equal(journey_map_table(small, STEPS, window="1D"),
                                  journey_map(small, STEPS, window="1D").table)
    for kw, match in ((dict(highlight=-1), "highlight"), (dict(min_units=0), "min_units"),
                      (dict(min_z=-1), "min_z"), (dict(by="channel"), "touchpoint="),
                      (dict(touchpoint=""), "touchpoint")):
        with pytest.raises(ParameterError, match=match):
            journey_map(small, STEPS, **kw)
    with pytest.raises(TypeError):
        journey_map(small, STEPS, "channel")  # keyword-only after the data


def _lazy_plot(env):
    """A fresh interpreter's journey map and plot (a second or two: run in the background
    after collection, tests/conftest.py)."""
    code = ("import sys, pandas as pd; from funnelkit import journey_map; "
            "ev = pd.DataFrame({'user_id': [1, 1], 'timestamp': pd.to_datetime(['2024-01-01', '2024-01-02'], utc=True),"
            " 'event': ['a', 'b'], 'channel': ['x', 'x']}); jm = journey_map(ev, ['a', 'b']); "
            "assert 'matplotlib' not in sys.modules; import matplotlib; matplotlib.use('Agg'); "
            "ax = jm.plot(); print(type(ax).__name__)")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


def background_jobs(background, items):
    if any(item.name == "test_plot_imports_plotting_lazily" for item in items):
        return {"journey_map:lazy-plot": _lazy_plot}
    return {}


def test_plot_imports_plotting_lazily(background):
    out = background.result("journey_map:lazy-plot", _lazy_plot)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Axes"


# --------------------------------------------------------------------------- on the shop sample
@pytest.fixture(scope="module")
def shop():
    return fk.datasets.make_shop(n_users=3000, seed=1)


def test_cells_add_up_to_the_funnel(shop):
    j = journey_map(shop, shop_journey(), touchpoint="channel", window="7D")
    res = fk.funnel(shop, shop_journey(), window="7D")
    cells = j.table
    assert len(cells) == len(res.steps) * cells["touchpoint"].nunique()
    for step, n in zip(res.steps, res.table["units"]):
        assert cells.loc[cells["step"] == step, "units"].sum() == n
        assert (cells.loc[cells["step"] == step, "stage_units"] == n).all()
        assert cells.loc[cells["step"] == step, "share_of_stage"].sum() == pytest.approx(1.0)
    later = cells[cells["step"] != res.steps[0]]
    assert later["excess_dropoff_rate"].to_numpy() == pytest.approx(
        (later["dropoff_rate"] - later["stage_dropoff_rate"]).to_numpy())
    fr = j.frictions
    assert fr["friction_rank"].tolist() == [1, 2, 3]
    assert (fr["units_previous"] >= 30).all() and (fr["excess_dropoff_rate"] > 0).all()
    p0 = later["stage_dropoff_rate"]
    z = later["excess_dropoff_rate"] / np.sqrt(p0 * (1 - p0) / later["units_previous"])
    assert later["excess_z"].to_numpy() == pytest.approx(z.to_numpy(), nan_ok=True)
    # the ranked cells are the largest eligible excesses (big enough and >= 2 standard errors)
    elig = later[(later["units_previous"] >= 30) & (later["excess_dropoff_rate"] > 0) & (later["excess_z"] >= 2)]
    assert (fr["excess_z"] >= 2).all()
    assert fr["excess_dropoff_rate"].tolist() == sorted(elig["excess_dropoff_rate"], reverse=True)[:3]


def test_options_on_the_sample(shop):
    assert not journey_map(shop, shop_journey(), min_units=10**6).table["friction"].any()
    assert not journey_map(shop, shop_journey(), min_z=50).table["friction"].any()
    assert journey_map(shop, shop_journey(), min_z=0).table["friction"].sum() == 3
    es = journey_map(shop, shop_journey(), lang="es")
    assert tuple(pd.unique(es.table["label"])) == ("Descubrimiento", "Consideración", "Compra", "Uso",
                                                  "Fidelización")


# --------------------------------------------------------------------------- mutation audit (funnel analysis and driver)


def test_a_cell_at_the_stages_average_is_no_friction():
    """A friction needs a positive excess drop-off, also with min_z=0 and min_units=1.

    ads: u1 lands and views, u2 only lands; email: u3 lands and views, u4 only lands.
    product_view: each touchpoint drops 1 of 2 (0.5), the stage 2 of 4 (0.5): excess 0,
    so no cell is a friction."""
    ev = log([(1, 0, "landing", "ads"), (1, 5, "product_view", "ads"), (2, 0, "landing", "ads"),
              (3, 0, "landing", "email"), (3, 5, "product_view", "email"), (4, 0, "landing", "email")])
    jm = journey_map(ev, ["landing", "product_view"], window="1D", min_units=1, min_z=0)
    t = jm.table
    assert t["dropoff_rate"].tolist() == [0.0, 0.5, 0.0, 0.5]
    assert t.loc[t["step"] == "product_view", "excess_dropoff_rate"].tolist() == [0.0, 0.0]
    assert not t["friction"].any() and len(jm.frictions) == 0
