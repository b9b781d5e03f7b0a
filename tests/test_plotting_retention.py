"""plotting/retention.py: the triangle hatches censored cells, curves carry CI bands, KM curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _plotting_helpers import new_ax, ticks

from funnelkit.analyses.retention import loyalty, retention
from funnelkit.plotting.retention import retention_curve, retention_triangle, time_to_nth_curve


@pytest.fixture(scope="module")
def ev() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 3000
    users = rng.integers(0, 300, n)
    return pd.DataFrame({"user_id": users,
                         "timestamp": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 20 * 24, n), "h"),
                         "event": rng.choice(["view", "buy"], n, p=[0.8, 0.2]),
                         "variant": np.where(users % 2, "A", "B")}).drop_duplicates()


def test_triangle_hatches_exactly_the_censored_cells(ev) -> None:
    res = retention(ev, period="D")
    ax = retention_triangle(res, ax=new_ax(), max_periods=30)
    hatched = [p for p in ax.patches if p.get_gid() == "censored"]
    assert len(hatched) == int((~res.table["complete"]).sum())
    img = [im for im in ax.images if im.get_gid() == "retention-cells"][0]
    arr = img.get_array()
    assert arr.shape == (res.table["cohort"].nunique(), res.table["period"].nunique())
    assert ticks(ax)[:3] == ["0", "1", "2"]
    assert res.plot() is not None


def test_curve_bands_by_variant_and_language(ev) -> None:
    res = retention(ev, period="D", compare="variant", periods=6)
    ax = retention_curve(res, ax=new_ax(), lang="es")
    gids = {a.get_gid() for a in ax.lines} | {c.get_gid() for c in ax.collections}
    assert {"curve-A", "curve-B", "band-A", "band-B"} <= gids
    assert ax.get_ylabel() == "Retenidos"
    line = [a for a in ax.lines if a.get_gid() == "curve-A"][0]
    want = res.curve.query("group == 'A' and cohort_size > 0")["rate"].to_numpy()
    assert line.get_ydata() == pytest.approx(want)
    assert res.plot(kind="curve").get_xlabel() == "Period since start"


def test_km_curve_with_median(ev) -> None:
    res = loyalty(ev, event="buy", compare="variant", within="3D")
    ax = time_to_nth_curve(res, ax=new_ax())
    gids = {a.get_gid() for a in ax.lines}
    assert {"km-A", "km-B"} <= gids
    assert ("median-A" in gids) == bool(np.isfinite(res.medians.query("group == 'A'")["median_days"].item()))
    assert res.plot().get_title(loc="left").startswith("Time to occurrence 2")
