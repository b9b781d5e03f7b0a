"""engine/bucket_retention.py: mergeable counts per bucket, calendar arithmetic in a time zone."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

import funnelkit as fk
from funnelkit.engine.bucket_retention import (LoyaltySpec, RetentionSpec, calendar_index, local_ns,
                                               period_start_ns, run_loyalty, run_retention)
from funnelkit.engine.drive import DriveRequest, drive


def _ns(*stamps: str, tz: str = "UTC") -> np.ndarray:
    return np.array([pd.Timestamp(s, tz=tz).value for s in stamps], dtype=np.int64)


@pytest.mark.parametrize("tz", ["UTC", "Europe/Madrid", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe"])
def test_local_time_and_calendar_index_equal_pandas(tz: str) -> None:
    rng = np.random.default_rng(0)
    t = pd.Timestamp("2024-01-01", tz="UTC").value + rng.integers(0, 366 * 86_400, 5000) * 1_000_000_000
    t.sort()
    loc = pd.DatetimeIndex(t.view("datetime64[ns]")).tz_localize("UTC").tz_convert(tz).tz_localize(None)
    assert (local_ns(t, tz) == loc.asi8).all()
    for cal, freq in (("h", "h"), ("D", "D"), ("W", "W-SUN"), ("M", "M")):
        want = loc.to_period(freq).asi8
        got = calendar_index(t, cal, tz)
        if cal == "h":  # wall-clock hours that exist: an hour wholly in a spring gap is none
            hours = np.arange(want[0], want[-1] + 1)
            quarters = (hours[:, None] * 4 + np.arange(4)[None, :]).ravel() * 900 * 10**9
            seen = pd.DatetimeIndex(quarters.view("datetime64[ns]")).tz_localize(
                tz, ambiguous=np.ones(len(quarters), dtype=bool), nonexistent="NaT")
            exists = np.asarray(seen.notna()).reshape(-1, 4).any(axis=1)  # some quarter of it exists
            rank = np.cumsum(exists) - 1  # the n-th existing hour
            want = rank[want - hours[0]]
            assert (~exists).sum() == (1 if tz in ("Europe/Madrid", "America/New_York") else 0)
        assert (got - got[0] == want - want[0]).all(), cal  # same periods (pandas counts weeks from another origin)
        # the period starts at its local midnight (shifted forward when it does not exist)
        starts = period_start_ns(got[:50], cal, tz)
        assert (calendar_index(starts, cal, tz) == got[:50]).all()
        assert (starts <= t[:50]).all()


def test_week_starts_monday_and_dst_day_lengths() -> None:
    mon = calendar_index(_ns("2024-04-01 00:00", "2024-04-07 23:59", "2024-04-08 00:00"), "W", "UTC")
    assert mon[0] == mon[1] != mon[2]
    d = calendar_index(_ns("2024-10-27 12:00", tz="Europe/Madrid"), "D", "Europe/Madrid")
    b = period_start_ns(np.array([d[0], d[0] + 1]), "D", "Europe/Madrid")
    assert (b[1] - b[0]) / 3.6e12 == 25.0  # the autumn day has 25 hours


def _rows(ev, spec, attr=None, journey=None):
    return drive(ev, DriveRequest(journey=journey, attr_col=attr), functools.partial(run_retention, spec=spec))


@pytest.mark.filterwarnings("ignore::funnelkit.errors.DuplicateEventsWarning")
def test_counts_merge_across_buckets_and_recurring_lags() -> None:
    base = pd.Timestamp("2024-01-01", tz="UTC")
    ev = pd.DataFrame({"user_id": [1, 1, 1, 1, 2], "timestamp": [base + pd.Timedelta(d, "D") for d in (0, 1, 2, 2, 1)],
                       "event": ["a"] * 5})
    spec = RetentionSpec(kind="n_period", cohort="recurring", period_cal="D", cohort_cal="D")
    d = _rows(ev, spec)
    (r,) = d.results
    sc, sg, size = r["size"]
    assert size.tolist() == [1, 2, 1]  # day 0: user 1; day 1: users 1, 2; day 2: user 1
    cc, cg, co, ret = r["cells"]
    got = sorted(zip((cc - cc.min()).tolist(), co.tolist(), ret.tolist()))
    # user 1: anchor day 0 sees returns on days 1, 2; anchor day 1 sees day 2 (offset 1);
    # anchor day 2 sees its second event on day 2 (offset 0: same day, another row)
    assert got == [(0, 1, 1), (0, 2, 1), (1, 1, 1), (2, 0, 1)]
    tc, tmin, tmax = r["trange"]
    assert (tmax - tmin).tolist() == [0, 0, 0]


def test_unit_variant_mixed_and_unexposed_are_counted() -> None:
    ev = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "timestamp": pd.to_datetime([1, 2, 1, 2, 1], unit="D", utc=True),
                       "event": ["a"] * 5, "variant": ["A", None, "A", "B", None]})
    spec = RetentionSpec(group="unit")
    (r,) = _rows(ev, spec, attr="variant").results
    assert r["excluded"] == {"mixed": 1, "unexposed": 1}
    assert r["size"][2].tolist() == [1]


def test_loyalty_times_per_unit() -> None:
    ev = pd.DataFrame({"user_id": [1, 1, 1, 2, 3], "timestamp": pd.to_datetime([3, 1, 5, 2, 1], unit="D", utc=True),
                       "event": ["buy", "buy", "buy", "buy", "view"]})
    j = fk.Journey({"x": "buy"})
    d = drive(ev, DriveRequest(journey=j), functools.partial(run_loyalty, spec=LoyaltySpec(nth=3)))
    (r,) = d.results
    day = 86_400_000_000_000
    assert (r["t1"] // day).tolist() == [1, 2, np.iinfo(np.int64).min // day]
    assert (r["t2"][:1] // day).tolist() == [3]
    assert (r["tn"][:1] // day).tolist() == [5]
    assert r["tn"][1] == np.iinfo(np.int64).min


# --------------------------------------------------------------------------- mutation audit (retention)


def test_ambiguous_hour_starts_at_its_first_instance() -> None:
    # Madrid falls back on 2024-10-27 at 01:00 UTC (03:00 CEST -> 02:00 CET): local 02:00-03:00
    # happens twice, 00:00-01:00 UTC and 01:00-02:00 UTC. The docs take the first: the local
    # hour 02 starts at 00:00 UTC.
    mad = "Europe/Madrid"
    h2 = calendar_index(_ns("2024-10-27 01:30"), "h", mad)  # 02:30 CET, the second 02:xx
    assert period_start_ns(h2, "h", mad).tolist() == _ns("2024-10-27 00:00").tolist()
    # a user anchored at 01:30 CEST (23:30 UTC) with a return at 02:10 CEST (00:10 UTC):
    # offset 0 (local hour 01) ends at 00:00 UTC, so with observed_until 00:30 UTC it is
    # complete; offset 1 (local hour 02, both instances) ends at 03:00 CET = 02:00 UTC: censored
    ev = pd.DataFrame({"user_id": [1, 1], "timestamp": pd.to_datetime(["2024-10-26 23:30", "2024-10-27 00:10"], utc=True),
                       "event": ["a", "a"]})
    res = fk.retention(ev, period="h", tz=mad, observed_until=pd.Timestamp("2024-10-27 00:30", tz="UTC"))
    assert res.table[["period", "retained", "complete"]].values.tolist() == [[0, 0, True], [1, 1, False]]
    assert res.table["cohort_end"].iloc[0] == pd.Timestamp("2024-10-27 00:00", tz="UTC")
