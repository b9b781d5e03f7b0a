"""engine/bucket_trend.py: trends by entry period from the funnel kernel, one period's bounds at a time."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd
import pytest

import funnelkit as fk
from funnelkit.engine import bucket_trend as bt
from funnelkit.analyses.trends import trend_table

T0 = pd.Timestamp("2024-01-01", tz="UTC")


def _log(n_users=60, n=900, seed=0, days=40):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "user_id": rng.integers(0, n_users, n),
        "timestamp": T0 + pd.to_timedelta(rng.integers(0, 24 * days, n), unit="h"),
        "event": rng.choice(["a", "b", "c", "x", "y"], n, p=[0.35, 0.25, 0.15, 0.1, 0.15]),
    }).drop_duplicates(ignore_index=True)


def test_ranges_concatenates_aranges():
    a = np.array([3, 0, 7, 7])
    z = np.array([5, 2, 7, 9])
    assert bt._ranges(a, z).tolist() == [3, 4, 0, 1, 7, 8]
    assert bt._ranges(np.array([2]), np.array([2])).tolist() == []


def test_last_within_searches_inside_each_unit():
    t = np.array([0, 5, 5, 9, 1, 2])  # unit 0: rows 0-3, unit 1: rows 4-5
    lo = np.array([0, 1, 4])
    end = np.array([4, 4, 6])
    assert bt._last_within(t, lo, end, np.array([5, 8, 100])).tolist() == [2, 2, 5]


def test_period_grid_cuts_local_months_and_clips_the_range():
    g = bt.PeriodGrid(freq="M", tz="Europe/Madrid", start_ns=pd.Timestamp("2024-02-10", tz="UTC").value)
    s, e = g.cover(pd.Timestamp("2024-02-15", tz="UTC").value, pd.Timestamp("2024-03-15", tz="UTC").value)
    starts = pd.DatetimeIndex(s, tz="UTC").tz_convert("Europe/Madrid")
    assert [x.strftime("%Y-%m-%d %H:%M") for x in starts] == ["2024-01-01 00:00", "2024-02-01 00:00",
                                                              "2024-03-01 00:00", "2024-04-01 00:00"]
    assert (e[:-1] == s[1:]).all()
    lo, hi = g.clipped(s, e)
    assert lo[1] == pd.Timestamp("2024-02-10", tz="UTC").value and hi[1] == e[1] and lo[0] >= hi[0]


@pytest.mark.parametrize("kw", [
    dict(mode="ordered", window="30h"),
    dict(mode="ordered", window="20h", window_from="previous", exclude=[("x", 1, 2)]),
    dict(mode="strict", window="3D"),
    dict(mode="any_order", window="2D"),
    dict(mode="ordered", window=None),
])
@pytest.mark.parametrize("freq, tz", [("D", "UTC"), ("W", "UTC"), ("M", "Europe/Madrid")])
def test_batched_periods_equal_one_kernel_call_per_period(monkeypatch, kw, freq, tz):
    """Shifting each entry's times to its period's start and batching periods of one length
    gives what one run of the kernel per period, on unshifted rows, gives."""
    ev = _log()
    steps = ["a", "b", "c"]
    want = trend_table(ev, steps, freq=freq, tz=tz, **kw)
    assert want["entered"].sum() > 0
    monkeypatch.setattr(bt, "TrendKernel", functools.partial(bt.TrendKernel, batch=False))
    got = trend_table(ev, steps, freq=freq, tz=tz, **kw)
    pd.testing.assert_frame_equal(got, want)
    monkeypatch.setattr(bt, "CHUNK_ROWS", 50)  # many small kernel calls
    pd.testing.assert_frame_equal(trend_table(ev, steps, freq=freq, tz=tz, **kw), want)


def test_repeat_and_after_rules_are_settled_on_the_whole_history():
    # the second purchase of user 1 falls in day 2; day 2 alone holds one purchase, yet it is
    # the second (repeat() reads the whole history, not the entry's rows)
    ev = pd.DataFrame({
        "user_id": [1, 1, 1, 1, 2, 2],
        "timestamp": T0 + pd.to_timedelta([10, 11, 34, 35, 34, 35], unit="h"),
        "event": ["visit", "purchase", "visit", "purchase", "visit", "purchase"],
    })
    j = fk.Journey({"visit": "visit", "rebuy": fk.repeat("purchase", nth=2)})
    t = trend_table(ev, j, window="3h", min_entries=1)
    rebuy = t[t["step"] == "rebuy"]
    assert rebuy["entered"].tolist() == [1, 2] and rebuy["units"].tolist() == [0, 1]
    # the same counts as a funnel bounded to each day
    for day, n in zip(range(2), rebuy["units"]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = fk.funnel(ev, j, window="3h", start=T0 + pd.Timedelta(days=day),
                            end=T0 + pd.Timedelta(days=day + 1))
        assert int(res.table["units"].iloc[1]) == n


def test_merge_sums_counts_by_period():
    p1 = bt.TrendPartial(np.array([10, 20]), np.array([[0, 2, 1], [1, 0, 3]]), np.array([0, 1]))
    p2 = bt.TrendPartial(np.array([20, 30]), np.array([[0, 1, 1], [0, 4, 0]]), np.array([2, 0]))
    m = bt.merge_partials([p1, None, p2], 2)
    assert m.period.tolist() == [10, 20, 30]
    assert m.levels.tolist() == [[0, 2, 1], [1, 1, 4], [0, 4, 0]]
    assert m.excluded.tolist() == [0, 3, 0]
    assert len(bt.merge_partials([], 2).period) == 0
