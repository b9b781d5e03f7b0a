"""Wall-clock edges shared by trend and retention periods (engine/_wallclock.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

import funnelkit as fk
from funnelkit.engine._wallclock import first_instants, local_ns, skipped_hours


def _naive(*stamps: str) -> np.ndarray:
    return np.array([pd.Timestamp(s).as_unit("ns").value for s in stamps], dtype=np.int64)


def _utc(ns: np.ndarray) -> list[str]:
    return [pd.Timestamp(int(v), tz="UTC").isoformat() for v in ns]


def test_first_instants_of_existing_repeated_and_skipped_local_times():
    # Madrid: 12:00 exists once (CET, 11:00 UTC); 2024-10-27 02:30 happens twice (00:30 and
    # 01:30 UTC): the first; 2024-03-31 02:30 does not exist: the clocks jump at 01:00 UTC
    got = first_instants(_naive("2024-01-15 12:00", "2024-10-27 02:30", "2024-03-31 02:30", "2024-03-31 02:00"),
                         "Europe/Madrid")
    assert _utc(got) == ["2024-01-15T11:00:00+00:00", "2024-10-27T00:30:00+00:00",
                         "2024-03-31T01:00:00+00:00", "2024-03-31T01:00:00+00:00"]
    # Lord Howe moves 02:00 -> 02:30 (+10:30 -> +11) on 2024-10-06: 02:00 and 02:15 start at
    # the jump, 15:30 UTC = 02:30 local (pandas' shift_forward says 03:00, half an hour late)
    got = first_instants(_naive("2024-10-06 02:00", "2024-10-06 02:15", "2024-10-06 02:30"), "Australia/Lord_Howe")
    assert _utc(got) == ["2024-10-05T15:30:00+00:00"] * 3
    assert (local_ns(got, "Australia/Lord_Howe") == _naive("2024-10-06 02:30")).all()
    assert (first_instants(_naive("2024-03-31 02:30"), "UTC") == _naive("2024-03-31 02:30")).all()


def test_skipped_hours_are_the_whole_hours_in_a_gap():
    hour = 3_600 * 10**9
    madrid = skipped_hours("Europe/Madrid")
    in_2024 = madrid[(madrid >= _naive("2024-01-01")[0] // hour) & (madrid < _naive("2025-01-01")[0] // hour)]
    assert [str(pd.Timestamp(int(h) * hour)) for h in in_2024] == ["2024-03-31 02:00:00"]
    ny = skipped_hours("America/New_York")
    assert _naive("2024-03-10 02:00")[0] // hour in set(ny.tolist())
    lh = skipped_hours("Australia/Lord_Howe")  # 30-minute changes since 1986 skip no whole hour
    assert not ((lh >= _naive("2000-01-01")[0] // hour)).any()
    assert len(skipped_hours("Asia/Kolkata")) == 2 and len(skipped_hours("UTC")) == 0
    assert (np.diff(madrid) > 0).all()


def test_hourly_retention_has_no_cell_for_the_hour_clocks_jump_over():
    # Madrid, 2024-03-31. User 1 starts 00:30 UTC (01:30 CET) and returns 01:30 UTC (03:30
    # CEST) and 02:30 UTC (04:30): offsets 1 and 2, since local 02:00-03:00 is no hour (it
    # used to be offset 1, always empty, a drop that never happened). User 2 starts 01:10
    # UTC (03:10 CEST) and returns 02:10 UTC: offset 1.
    ev = pd.DataFrame({"user_id": [1, 1, 1, 2, 2],
                       "timestamp": pd.to_datetime(["2024-03-31 00:30", "2024-03-31 01:30", "2024-03-31 02:30",
                                                    "2024-03-31 01:10", "2024-03-31 02:10"], utc=True),
                       "event": ["a"] * 5})
    res = fk.retention(ev, period="h", tz="Europe/Madrid", periods=3,  # offsets 0..3
                       observed_until=pd.Timestamp("2024-03-31 06:00", tz="UTC"))
    t = res.table
    assert t[["period", "cohort_size", "retained"]].values.tolist() == [
        [0, 1, 0], [1, 1, 1], [2, 1, 1], [3, 1, 0], [0, 1, 0], [1, 1, 1], [2, 1, 0], [3, 1, 0]]
    assert [c.isoformat() for c in t["cohort"].unique()] == ["2024-03-31T01:00:00+01:00", "2024-03-31T03:00:00+02:00"]
    assert (t["cohort_end"].iloc[0] - t["cohort"].iloc[0]) == pd.Timedelta("1h")
    assert res.curve["retained"].tolist() == [0, 2, 1, 0]


def test_hourly_trend_period_starts_where_a_half_hour_change_lands():
    # Lord Howe, 2024-10-06: local 02:00-02:30 does not exist; the hour 02 is 02:30-03:00
    # (half an hour). An entry at 15:40 UTC (02:40 local) is in it, one at 16:10 (03:10) in 03
    ev = pd.DataFrame({"user_id": [1, 2], "timestamp": pd.to_datetime(["2024-10-05 15:40", "2024-10-05 16:10"], utc=True),
                       "event": ["a", "a"]})
    t = fk.trend(ev, ["a"], freq="h", tz="Australia/Lord_Howe", window="1h").table
    got = [(p.isoformat(), e.isoformat(), n) for p, e, n in zip(t["period"], t["period_end"], t["entered"])]
    assert got == [("2024-10-06T02:30:00+11:00", "2024-10-06T03:00:00+11:00", 1),
                   ("2024-10-06T03:00:00+11:00", "2024-10-06T04:00:00+11:00", 1)]


def test_docstring_examples_run():
    import doctest

    import funnelkit.engine._wallclock as wallclock

    result = doctest.testmod(wallclock, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 2 and result.failed == 0
