"""Wall-clock edges shared by trend and retention periods (engine/_wallclock.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

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


def test_docstring_examples_run():
    import doctest

    import funnelkit.engine._wallclock as wallclock

    result = doctest.testmod(wallclock, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 2 and result.failed == 0
