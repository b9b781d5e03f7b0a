"""Tests for funnelkit.analyses.sessions (DESIGN.md section 5)."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import funnelkit.analyses.sessions as sessions_module
from funnelkit.io.normalize import ensure_events
from funnelkit.errors import (
    ColumnTypeError,
    EmptyEventLogError,
    EventLogError,
    FunnelkitError,
    MissingColumnError,
    NullValuesError,
    ParameterError,
)
from funnelkit.analyses.sessions import session_summary, sessionize

NS = pd.Timedelta(1, "ns")


def make_log(users, times, events=None, index=None, **props) -> pd.DataFrame:
    """A normalized event log (int64 users, UTC ns timestamps, categorical events)."""
    n = len(users)
    ts = pd.Series([pd.Timestamp(x) for x in times], dtype=object)
    ts = pd.to_datetime(ts, utc=True).dt.as_unit("ns")
    df = pd.DataFrame(
        {
            "user_id": np.asarray(users, dtype=np.int64),
            "timestamp": ts.array,
            "event": pd.Categorical(list(events) if events is not None else ["view"] * n),
        }
    )
    for name, values in props.items():
        df[name] = values
    if index is not None:
        df.index = index
    return df


def ids(df: pd.DataFrame, col: str = "session_id") -> list[int]:
    return df[col].tolist()


# ---------------------------------------------------------------- the reference


def _is_null(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and v != v)


def reference_sessions(df, timeout="30min", max_duration=None, split_at_midnight=False,
                       tz=None, split_on=None):
    """Slow, obvious sessionization written from DESIGN.md section 5.

    Per user, walk the events sorted by (timestamp, split_on values with nulls
    last, input row) and start a session at the first event, after a gap >
    timeout, when time - session start > max_duration, when the local date in
    tz changes, or when a split_on value is non-null and differs from the last
    non-null value seen for the user. Ids count sessions in (user, start) order.
    """
    timeout = None if timeout is None else pd.Timedelta(timeout)
    max_duration = None if max_duration is None else pd.Timedelta(max_duration)
    cols = [] if split_on is None else ([split_on] if isinstance(split_on, str) else list(split_on))
    users = df["user_id"].tolist()
    times = list(df["timestamp"])
    values = {c: df[c].tolist() for c in cols}

    def key(i):
        vals = tuple((1, "") if _is_null(values[c][i]) else (0, values[c][i]) for c in cols)
        return (users[i], times[i], vals, i)

    out = [None] * len(df)
    sid = -1
    prev_user = object()
    for i in sorted(range(len(df)), key=key):
        t = times[i]
        if users[i] != prev_user:
            new = True
            last = {c: None for c in cols}
        else:
            new = False
            if timeout is not None and t - prev_t > timeout:
                new = True
            if max_duration is not None and t - start > max_duration:
                new = True
            if split_at_midnight and t.tz_convert(tz).date() != prev_t.tz_convert(tz).date():
                new = True
            for c in cols:
                v = values[c][i]
                if not _is_null(v) and last[c] is not None and v != last[c]:
                    new = True
        for c in cols:
            if not _is_null(values[c][i]):
                last[c] = values[c][i]
        if new:
            sid += 1
            start = t
        out[i] = sid
        prev_t = t
        prev_user = users[i]
    return out


# ------------------------------------------------------------------ timeout


def test_timeout_boundary_equal_gap_stays_one_ns_more_splits():
    t0 = pd.Timestamp("2024-05-01 10:00", tz="UTC")
    to = pd.Timedelta("30min")
    df = make_log([1, 1, 1, 1], [t0, t0 + to, t0 + 2 * to + NS, t0 + 3 * to + NS])
    assert ids(sessionize(df, timeout="30min")) == [0, 0, 1, 1]
    assert ids(sessionize(df, timeout=to)) == [0, 0, 1, 1]
    assert ids(sessionize(df, timeout=to + NS)) == [0, 0, 0, 0]
    assert ids(sessionize(df, timeout=to - NS)) == [0, 1, 2, 3]


def test_default_timeout_is_30_minutes():
    df = make_log([1, 1, 1], ["2024-05-01 10:00", "2024-05-01 10:30", "2024-05-01 11:00:01"])
    assert ids(sessionize(df)) == [0, 0, 1]


def test_timeout_none_disables_the_gap_rule():
    df = make_log([1, 1, 2], ["2024-05-01", "2024-06-01", "2024-05-02"])
    assert ids(sessionize(df, timeout=None)) == [0, 0, 1]


def test_equal_timestamps_never_split():
    df = make_log([1, 1, 1], ["2024-05-01 10:00"] * 3, events=["a", "b", "c"])
    out = sessionize(df, timeout="1s", max_duration="1s", split_at_midnight=True, tz="UTC")
    assert ids(out) == [0, 0, 0]


# ------------------------------------------------------------- max_duration


def test_max_duration_is_sequential_from_each_session_start():
    # events every 10 minutes; sessions of at most 25 minutes restart at the
    # event that overflows: [0, 10, 20] [30, 40, 50] [60] (a fixed 25-minute grid
    # from the first event would give [0, 10, 20] [30, 40] [50, 60]).
    t0 = pd.Timestamp("2024-05-01 10:00", tz="UTC")
    times = [t0 + pd.Timedelta(minutes=10 * k) for k in range(7)]
    df = make_log([1] * 7, times)
    assert ids(sessionize(df, timeout="30min", max_duration="25min")) == [0, 0, 0, 1, 1, 1, 2]


def test_max_duration_boundary_is_inclusive():
    t0 = pd.Timestamp("2024-05-01 10:00", tz="UTC")
    df = make_log([1, 1, 1], [t0, t0 + pd.Timedelta("1h"), t0 + pd.Timedelta("2h") + NS])
    out = sessionize(df, timeout="2h", max_duration="1h")
    assert ids(out) == [0, 0, 1]


def test_max_duration_long_chain_in_one_user():
    # one event per minute for 3 days, sessions of at most 1 hour: 72 sessions of 60 events
    t0 = pd.Timestamp("2024-05-01", tz="UTC")
    n = 3 * 24 * 60
    df = make_log([7] * n, [t0 + pd.Timedelta(minutes=k) for k in range(n)])
    out = sessionize(df, timeout="5min", max_duration="59min")
    assert ids(out) == [k // 60 for k in range(n)]


def test_huge_max_duration_and_far_apart_events():
    # 550 years between the first and last event: more than the int64 range of ns
    df = make_log([1, 1, 1], ["1700-01-01", "2024-05-01", "2250-01-01"])
    assert ids(sessionize(df, timeout=None, max_duration="36500D")) == [0, 1, 2]
    # 100000 days (274 years): 1700 -> 2024 is longer, 2024 -> 2250 is shorter
    assert ids(sessionize(df, timeout=None, max_duration="100000D")) == [0, 1, 1]
    assert ids(sessionize(df, timeout="100000D")) == [0, 1, 1]
    df = make_log([1, 1, 1], ["1700-01-01", "1800-01-01", "1960-01-01"])
    assert ids(sessionize(df, timeout=None, max_duration="100000D")) == [0, 0, 0]


def test_max_duration_restarts_after_a_timeout_split():
    t0 = pd.Timestamp("2024-05-01 10:00", tz="UTC")
    m = pd.Timedelta("1min")
    # session 1: 0, 20 | gap 40 > 30 -> 60 starts session 2; 60, 80, 95 (95-60 > 30 -> new)
    df = make_log([1] * 5, [t0, t0 + 20 * m, t0 + 60 * m, t0 + 80 * m, t0 + 95 * m])
    assert ids(sessionize(df, timeout="30min", max_duration="30min")) == [0, 0, 1, 1, 2]


# ------------------------------------------------------------------ midnight


def _midnight_ids(times, tz):
    df = make_log([1] * len(times), times)
    return ids(sessionize(df, timeout=None, split_at_midnight=True, tz=tz))


def test_midnight_local_not_utc():
    # 23:30Z and 00:10Z on 1-2 May are 01:30 and 02:10 the same day in Madrid (CEST, UTC+2)
    times = ["2024-05-01 23:30Z", "2024-05-02 00:10Z"]
    assert _midnight_ids(times, "Europe/Madrid") == [0, 0]
    assert _midnight_ids(times, "UTC") == [0, 1]
    # 21:50Z and 22:10Z are 23:50 and 00:10 in Madrid: a local midnight, not a UTC one
    times = ["2024-05-01 21:50Z", "2024-05-01 22:10Z"]
    assert _midnight_ids(times, "Europe/Madrid") == [0, 1]
    assert _midnight_ids(times, "UTC") == [0, 0]


def test_midnight_spring_dst_night_madrid():
    # 2024-03-31: clocks go 02:00 CET -> 03:00 CEST, the local day has 23 hours.
    times = [
        "2024-03-30 22:50Z",  # 23:50 CET, Mar 30
        "2024-03-30 23:10Z",  # 00:10 CET, Mar 31 -> split
        "2024-03-31 00:50Z",  # 01:50 CET
        "2024-03-31 01:10Z",  # 03:10 CEST (same day, across the jump)
        "2024-03-31 21:50Z",  # 23:50 CEST, Mar 31
        "2024-03-31 22:10Z",  # 00:10 CEST, Apr 1 -> split (a fixed UTC+1 offset would miss it)
    ]
    assert _midnight_ids(times, "Europe/Madrid") == [0, 1, 1, 1, 1, 2]


def test_midnight_autumn_dst_night_madrid():
    # 2024-10-27: clocks go 03:00 CEST -> 02:00 CET, the local day has 25 hours.
    times = [
        "2024-10-26 21:50Z",  # 23:50 CEST, Oct 26
        "2024-10-26 22:10Z",  # 00:10 CEST, Oct 27 -> split
        "2024-10-27 00:50Z",  # 02:50 CEST
        "2024-10-27 01:10Z",  # 02:10 CET (wall clock goes back, same day)
        "2024-10-27 22:30Z",  # 23:30 CET, Oct 27 (a fixed UTC+2 offset would say Oct 28)
        "2024-10-27 23:10Z",  # 00:10 CET, Oct 28 -> split
    ]
    assert _midnight_ids(times, "Europe/Madrid") == [0, 1, 1, 1, 1, 2]


def test_midnight_accepts_tzinfo_objects():
    import zoneinfo

    times = ["2024-05-01 21:50Z", "2024-05-01 22:10Z"]
    assert _midnight_ids(times, zoneinfo.ZoneInfo("Europe/Madrid")) == [0, 1]


def test_tz_without_split_at_midnight_changes_nothing():
    df = make_log([1, 1], ["2024-05-01 21:50Z", "2024-05-01 22:10Z"])
    assert ids(sessionize(df, tz="Europe/Madrid")) == [0, 0]


# ------------------------------------------------------------------ split_on


def test_split_on_nulls_neither_split_nor_reset():
    camp = ["a", None, "a", None, "b", None, "b", "a"]
    t0 = pd.Timestamp("2024-05-01 10:00", tz="UTC")
    df = make_log([1] * 8, [t0 + pd.Timedelta(minutes=k) for k in range(8)], utm_campaign=camp)
    assert ids(sessionize(df, split_on="utm_campaign")) == [0, 0, 0, 0, 1, 1, 1, 2]


def test_split_on_first_value_after_nulls_does_not_split():
    t0 = pd.Timestamp("2024-05-01 10:00", tz="UTC")
    df = make_log([1] * 3, [t0, t0 + pd.Timedelta("1min"), t0 + pd.Timedelta("2min")],
                  utm_campaign=[None, None, "a"])
    assert ids(sessionize(df, split_on="utm_campaign")) == [0, 0, 0]


def test_split_on_compares_with_user_history_across_sessions():
    # a (timeout) null b: the null starts session 1 by timeout; b differs from the
    # last non-null value of the user (a), so it starts session 2.
    t0 = pd.Timestamp("2024-05-01 10:00", tz="UTC")
    times = [t0, t0 + pd.Timedelta("2h"), t0 + pd.Timedelta("2h1min"), t0 + pd.Timedelta("3h")]
    df = make_log([1] * 4, times, utm_campaign=["a", None, "b", "b"])
    assert ids(sessionize(df, split_on="utm_campaign", timeout="30min")) == [0, 1, 2, 3]
    df2 = make_log([1] * 3, times[:3], utm_campaign=["a", None, "a"])
    assert ids(sessionize(df2, split_on="utm_campaign", timeout="30min")) == [0, 1, 1]


def test_split_on_history_is_per_user():
    t0 = pd.Timestamp("2024-05-01 10:00", tz="UTC")
    times = [t0 + pd.Timedelta(minutes=k) for k in range(4)]
    df = make_log([1, 2, 2, 1], times, utm_campaign=["a", "b", None, "a"])
    assert ids(sessionize(df, split_on="utm_campaign")) == [0, 1, 1, 0]


def test_split_on_several_columns_and_categorical_values():
    t0 = pd.Timestamp("2024-05-01 10:00", tz="UTC")
    times = [t0 + pd.Timedelta(minutes=k) for k in range(5)]
    df = make_log(
        [1] * 5, times,
        campaign=["a", "a", None, "a", "a"],
        device=pd.Categorical(["m", None, "m", "d", "d"]),
    )
    assert ids(sessionize(df, split_on=["campaign", "device"])) == [0, 0, 0, 1, 1]
    assert ids(sessionize(df, split_on=("device",))) == [0, 0, 0, 1, 1]
    assert ids(sessionize(df, split_on=["campaign"])) == [0, 0, 0, 0, 0]


def test_split_on_numeric_property_with_nan():
    t0 = pd.Timestamp("2024-05-01 10:00", tz="UTC")
    times = [t0 + pd.Timedelta(minutes=k) for k in range(4)]
    df = make_log([1] * 4, times, store=[3.0, np.nan, 3.0, 4.0])
    assert ids(sessionize(df, split_on="store")) == [0, 0, 0, 1]


def test_split_on_values_of_mixed_types_are_ordered_deterministically():
    # values that Python cannot sort together (a Timestamp and an int) still
    # get a total order, so ties at one timestamp are row-order invariant
    t0 = pd.Timestamp("2024-05-01 10:00", tz="UTC")
    values = [pd.Timestamp("2024-01-01"), 3, "a", None, 3]
    df = make_log([1] * 5, [t0] * 5, tag=pd.Series(values, dtype=object))
    out = sessionize(df, split_on="tag")
    assert ids(out) == [ids(out)[0], ids(out)[1], ids(out)[2], ids(out)[3], ids(out)[1]]
    assert sorted(set(ids(out))) == [0, 1, 2]
    for perm in ([4, 3, 2, 1, 0], [2, 0, 4, 1, 3]):
        shuffled = sessionize(df.iloc[perm].reset_index(drop=True), split_on="tag")
        assert ids(shuffled) == [ids(out)[k] for k in perm]


def test_split_on_unhashable_values_are_refused():
    t0 = pd.Timestamp("2024-05-01 10:00", tz="UTC")
    df = make_log([1, 1], [t0, t0], tag=pd.Series([["a"], "b"], dtype=object))
    with pytest.raises(ColumnTypeError, match=r"Column 'tag' holds values that cannot be compared"):
        sessionize(df, split_on="tag")


def test_split_on_ties_are_ordered_by_value_not_row_order():
    # previous value "a"; at 10:05 two events "b" and "a" (and a null). Ties are
    # ordered by value, nulls last: a (stays), b (splits), null (joins b).
    t0 = pd.Timestamp("2024-05-01 10:00", tz="UTC")
    t1 = t0 + pd.Timedelta("5min")
    df = make_log([1] * 4, [t0, t1, t1, t1], utm_campaign=["a", "b", None, "a"])
    expected = [0, 1, 1, 0]
    assert ids(sessionize(df, split_on="utm_campaign")) == expected
    rev = df.iloc[::-1].reset_index(drop=True)
    assert ids(sessionize(rev, split_on="utm_campaign")) == expected[::-1]


# ----------------------------------------------------- ids, order, the frame


def test_interleaved_users_keep_row_order_index_and_columns():
    t = pd.Timestamp("2024-05-01 10:00", tz="UTC")
    m = pd.Timedelta("1min")
    df = make_log(
        [2, 1, 2, 1, 3, 1, 2],
        [t + 5 * m, t, t + 120 * m, t + 10 * m, t - 60 * m, t + 100 * m, t + 121 * m],
        events=["a", "b", "c", "d", "e", "f", "g"],
        index=pd.Index(["r6", "r0", "r5", "r1", "r2", "r4", "r3"]),
        channel=["x", "y", "z", "x", "y", "z", "x"],
    )
    expected = [2, 0, 3, 0, 4, 1, 3]
    # user 1: [t, t+10] -> 0, [t+100] -> 1; user 2: [t+5] -> 2, [t+120, t+121] -> 3; user 3 -> 4
    normalized = df.reset_index(drop=True)
    out = sessionize(normalized, timeout="30min")
    assert ids(out) == expected
    assert list(out.columns) == ["user_id", "timestamp", "event", "channel", "session_id"]
    assert out["session_id"].dtype == np.int64
    pd.testing.assert_frame_equal(out.drop(columns="session_id"), normalized)
    # a log that is not normalized (here: its index) is normalized first, rows kept in order
    out = sessionize(df, timeout="30min")
    assert ids(out) == expected
    assert out.index.equals(pd.RangeIndex(len(df)))
    pd.testing.assert_frame_equal(out.drop(columns="session_id"), normalized)


def test_raw_input_is_normalized_first():
    raw = pd.DataFrame({
        "user_id": ["bob", "alice", "bob", "bob"],
        "timestamp": ["2024-05-01T12:00:00+02:00", "2024-05-01T10:00:00Z",
                      "2024-05-01T10:20:00Z", "2024-05-01T11:00:00Z"],
        "event": ["a", "b", "c", "d"],
        "utm_campaign": ["x", None, None, "y"],
    }, index=[10, 11, 12, 13])
    before = raw.copy(deep=True)
    out = sessionize(raw, timeout="30min", split_on="utm_campaign")
    pd.testing.assert_frame_equal(raw, before)
    assert out["user_id"].dtype == "category"
    assert out["timestamp"].dtype == pd.DatetimeTZDtype("ns", "UTC")
    # bob: 10:00Z (x), 10:20Z, 11:00Z (gap 40 min, y) ; alice first in category order
    assert ids(out) == [1, 0, 1, 2]


def test_ids_follow_user_then_start_not_global_time():
    df = make_log([2, 1], ["2024-01-01", "2024-12-31"])
    assert ids(sessionize(df)) == [1, 0]


def test_categorical_users_are_numbered_in_category_order():
    df = make_log([0, 0, 0], ["2024-05-01 10:00", "2024-05-01 09:00", "2024-05-01 12:00"])
    df["user_id"] = pd.Categorical(["bob", "alice", "bob"], categories=["alice", "bob"])
    assert ids(sessionize(df)) == [1, 0, 2]


def test_callers_frame_is_not_modified():
    df = make_log([1, 1, 2], ["2024-05-01 10:00", "2024-05-01 12:00", "2024-05-01 10:00"],
                  utm_campaign=["a", "b", None])
    df.attrs["funnelkit_dropped"] = {"null_user": 2}
    before = df.copy(deep=True)
    out = sessionize(df, max_duration="1h", split_on="utm_campaign",
                     split_at_midnight=True, tz="Europe/Madrid")
    pd.testing.assert_frame_equal(df, before)
    assert "session_id" not in df.columns
    assert out is not df
    assert out.attrs == {"funnelkit_dropped": {"null_user": 2}}
    out.loc[out.index[0], "utm_campaign"] = "changed"
    pd.testing.assert_frame_equal(df, before)


def test_empty_log_is_refused_by_the_schema():
    with pytest.raises(EmptyEventLogError):
        sessionize(make_log([], []))


def test_custom_session_col():
    df = make_log([1, 1], ["2024-05-01 10:00", "2024-05-01 12:00"])
    out = sessionize(df, session_col="visit")
    assert ids(out, "visit") == [0, 1]
    assert "session_id" not in out.columns


# ---------------------------------------------------------------- validation


@pytest.fixture
def small_log():
    return make_log([1, 1], ["2024-05-01 10:00", "2024-05-01 10:10"], utm_campaign=["a", "b"])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(timeout=1800), r"`timeout`=1800 is a bare number"),
        (dict(timeout=1800.0), r"bare number"),
        (dict(max_duration=60), r"`max_duration`=60 is a bare number"),
        (dict(timeout="-5min"), r"positive duration"),
        (dict(timeout="0s"), r"positive duration"),
        (dict(timeout="soon"), r"not a duration"),
        (dict(max_duration="1 fortnight"), r"max_duration"),
        (dict(split_at_midnight=True), r"split_at_midnight=True` needs `tz`"),
        (dict(split_at_midnight="yes", tz="UTC"), r"`split_at_midnight` must be True or False"),
        (dict(split_at_midnight=True, tz="Europe/Madird"), r"not a known IANA.*'Europe/Madrid'"),
        (dict(tz="Mars/Olympus_Mons"), r"`tz`='Mars/Olympus_Mons' is not a known IANA"),
        (dict(split_at_midnight=True, tz=2), r"`tz` must be an IANA time-zone name"),
        (dict(split_on=3), r"`split_on` must be a column name"),
        (dict(split_on={"utm_campaign"}), r"`split_on` must be a column name"),
        (dict(split_on=["utm_campaign", 3]), r"`split_on` holds 3"),
        (dict(split_on="timestamp"), r"key column"),
        (dict(session_col=""), r"`session_col` must be a non-empty"),
        (dict(session_col=None), r"`session_col` must be a non-empty"),
        (dict(session_col="utm_campaign"),
         r"already has a column named 'utm_campaign'.*session_col='utm_campaign_2'.*drop"),
    ],
)
def test_bad_parameters(small_log, kwargs, match):
    with pytest.raises(ParameterError, match=match) as info:
        sessionize(small_log, **kwargs)
    assert isinstance(info.value, FunnelkitError)


def test_sessionizing_twice_names_the_collision(small_log):
    out = sessionize(small_log)
    with pytest.raises(ParameterError, match=r"'session_id'.*session_id_2.*drop\(columns"):
        sessionize(out)


def test_missing_split_on_column_suggests_close_match(small_log):
    with pytest.raises(MissingColumnError, match=r"campain") as info:
        sessionize(small_log, split_on="utm_campain")
    assert "utm_campaign" in str(info.value)
    with pytest.raises(MissingColumnError):
        sessionize(small_log, split_on=["utm_campaign", "device"])


# ----------------------------------------------------------- session_summary


def test_session_summary_known_values():
    t = pd.Timestamp("2024-05-01 10:00", tz="UTC")
    m = pd.Timedelta("1min")
    df = make_log(
        [1, 2, 1, 1, 1, 1],
        [t, t + 5 * m, t + 30 * m, t + 70 * m, t + 80 * m, t + 80 * m],
        events=["landing", "landing", "product_view", "landing", "purchase", "add_to_cart"],
    )
    summary = session_summary(sessionize(df, timeout="30min"))
    expected = pd.DataFrame({
        "user_id": np.array([1, 1, 2], dtype=np.int64),
        "session_id": np.array([0, 1, 2], dtype=np.int64),
        "start": pd.to_datetime([t, t + 70 * m, t + 5 * m], utc=True).as_unit("ns"),
        "end": pd.to_datetime([t + 30 * m, t + 80 * m, t + 5 * m], utc=True).as_unit("ns"),
        "duration": pd.to_timedelta(["30min", "10min", "0min"]).as_unit("ns"),
        "n_events": np.array([2, 3, 1], dtype=np.int64),
        # the tie at t + 80min is ordered by event name: add_to_cart, purchase
        "first_event": pd.Categorical(["landing", "landing", "landing"],
                                      categories=df["event"].cat.categories),
        "last_event": pd.Categorical(["product_view", "purchase", "landing"],
                                     categories=df["event"].cat.categories),
    })
    pd.testing.assert_frame_equal(summary, expected)
    reversed_summary = session_summary(sessionize(df.iloc[::-1], timeout="30min"))
    pd.testing.assert_frame_equal(reversed_summary, expected)


def test_session_summary_custom_column_and_errors():
    df = make_log([1, 1, 2], ["2024-05-01 10:00", "2024-05-01 12:00", "2024-05-01 10:00"])
    summary = session_summary(sessionize(df, session_col="visit"), session_col="visit")
    assert summary["visit"].tolist() == [0, 1, 2]
    with pytest.raises(MissingColumnError, match="session_id"):
        session_summary(df)
    mixed = df.assign(session_id=[0, 0, 0])
    with pytest.raises(EventLogError, match=r"more than one user"):
        session_summary(mixed)
    nulls = df.assign(session_id=[0.0, np.nan, 1.0])
    with pytest.raises(NullValuesError, match=r"null session id"):
        session_summary(nulls)


def test_docstring_examples_run():
    result = doctest.testmod(sessions_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


# --------------------------------------------------------- property tests

BASES = [
    pd.Timestamp("2024-03-30 21:00", tz="UTC"),  # spring DST night in Europe
    pd.Timestamp("2024-10-26 21:00", tz="UTC"),  # autumn DST night in Europe
    pd.Timestamp("2024-06-30 23:30", tz="UTC"),
]
UNITS = [pd.Timedelta("1min"), pd.Timedelta("7min"), pd.Timedelta("1h")]


@st.composite
def cases(draw, max_rows=30):
    """A small random log and sessionize() parameters on the log's time grid.

    Timestamps are ``base + k * unit`` (plus or minus 1 ns now and then) and the
    durations are mostly small multiples of the same unit, so gaps equal to the
    timeout, sessions exactly max_duration long, equal timestamps and DST
    midnights (the bases sit just before the European DST nights) are common.
    """
    n = draw(st.integers(1, max_rows))
    base = draw(st.sampled_from(BASES))
    unit = draw(st.sampled_from(UNITS))
    lists = lambda elements: st.lists(elements, min_size=n, max_size=n)  # noqa: E731
    users = draw(lists(st.integers(0, draw(st.integers(0, 3)))))
    span = draw(st.sampled_from([3, 10, 40]))  # small spans make equal timestamps common
    steps = draw(lists(st.integers(0, span)))
    jitter = draw(lists(st.sampled_from([0, 0, 0, 0, 0, 1, -1])))  # +-1 ns around boundaries
    campaign = draw(lists(st.sampled_from(["a", "b", "c", None])))
    device = draw(lists(st.sampled_from(["m", "d", None])))
    times = [base + s * unit + j * NS for s, j in zip(steps, jitter)]
    df = make_log(
        users,
        times,
        events=draw(lists(st.sampled_from(["x", "y", "z"]))),
        # a RangeIndex keeps the log normalized; another index goes through normalize()
        index=draw(st.sampled_from([None, pd.Index(np.arange(n, dtype=np.int64) * 3 + 100)])),
        campaign=campaign,  # str dtype with NaN on pandas 3, object with None on pandas 2
        device=pd.Categorical(device, categories=["d", "m"]),
    )
    duration = st.one_of(
        st.integers(1, 8).map(lambda k: k * unit),
        st.sampled_from(["1min", "5min", "30min", "2h", "7h"]),
    )
    p = {
        "timeout": draw(st.one_of(st.none(), duration)),
        "max_duration": draw(st.one_of(st.none(), duration)),
        "split_at_midnight": draw(st.booleans()),
        "tz": draw(st.sampled_from(["Europe/Madrid", "UTC", "America/New_York", "Asia/Kolkata"])),
        "split_on": draw(st.sampled_from([None, "campaign", ["campaign", "device"], ["device"]])),
    }
    return df, p


# 100 examples (each 2-4 sessionize calls of ~10 ms fixed cost, plus drawing the log):
# 150 took 5-7 s per test
SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@settings(SETTINGS, max_examples=120)
@given(case=cases())
def test_matches_slow_reference(case):
    df, p = case
    before = df.copy(deep=True)
    out = sessionize(df, **p)
    assert ids(out) == reference_sessions(df, **p)
    pd.testing.assert_frame_equal(df, before)  # caller's frame untouched
    pd.testing.assert_frame_equal(out.drop(columns="session_id"), ensure_events(df))
    assert out["session_id"].dtype == np.int64
    assert sorted(set(ids(out))) == list(range(len(set(ids(out)))))


@SETTINGS
@given(case=cases(), data=st.data())
def test_invariant_to_row_order(case, data):
    df, p = case
    perm = data.draw(st.permutations(range(len(df))))
    shuffled = df.iloc[list(perm)]
    out = sessionize(df, **p)
    out_shuffled = sessionize(shuffled, **p)
    # rows stay in input order, so row k of the shuffled output is row perm[k] of the log
    expected = out["session_id"].to_numpy()[list(perm)]
    np.testing.assert_array_equal(out_shuffled["session_id"].to_numpy(), expected)


@SETTINGS
@given(case=cases())
def test_idempotent(case):
    df, p = case
    out = sessionize(df, **p)
    again = sessionize(out.drop(columns="session_id"), **p)
    pd.testing.assert_frame_equal(again, out)
    # each session, sessionized on its own (session as the unit), splits nothing
    per_session = out.assign(user_id=out["session_id"]).drop(columns="session_id")
    resplit = sessionize(per_session, **p)
    assert ids(resplit) == ids(out)


@settings(max_examples=50, deadline=None)
@given(case=cases(max_rows=40), data=st.data())
def test_summary_consistent_with_sessionize(case, data):
    df, p = case
    out = sessionize(df, **p)
    summary = session_summary(out)
    assert len(summary) == out["session_id"].nunique()
    assert summary["n_events"].sum() == len(df)
    assert (summary["duration"] >= pd.Timedelta(0)).all()
    if p["max_duration"] is not None:
        assert (summary["duration"] <= pd.Timedelta(p["max_duration"])).all()
    shuffled = out.iloc[list(data.draw(st.permutations(range(len(out)))))]
    pd.testing.assert_frame_equal(session_summary(shuffled), summary)


def _tiny_layout():
    """Buckets of about 2 rows, blocks of 3 rows, 2 threads from the first row.

    The engine's layout on small logs: many buckets (``engine.buckets.BUCKET_ROWS``),
    several blocks per bucket and a thread pool (``THREADS_MIN_ROWS``,
    ``FUNNELKIT_NUM_THREADS=2``), so every merge step of ``session_ids`` is exercised.
    """
    import contextlib
    import os
    from unittest import mock

    from funnelkit.engine import bucket_sessions, buckets

    stack = contextlib.ExitStack()
    stack.enter_context(mock.patch.object(buckets, "BUCKET_ROWS", 2))
    stack.enter_context(mock.patch.object(buckets, "THREADS_MIN_ROWS", 0))
    stack.enter_context(mock.patch.object(bucket_sessions, "_BLOCK_ROWS", 3))
    stack.enter_context(mock.patch.dict(os.environ, {"FUNNELKIT_NUM_THREADS": "2"}))
    return stack


def _with_ids(df: pd.DataFrame, kind: str) -> pd.DataFrame:
    """``df`` with its small int user ids recoded, keeping their order.

    ``dense``: as they are; ``sparse``: far apart (and negative), beyond the dense
    range the engine takes as is; ``string``: text ids (categories after
    normalization); ``categorical``: a categorical column.
    """
    u = df["user_id"].to_numpy()
    if kind == "sparse":
        return df.assign(user_id=(u - 2) * 10**12)
    if kind == "string":
        return df.assign(user_id=pd.Series([f"user-{k:03d}" for k in u], dtype=object).to_numpy())
    if kind == "categorical":
        cats = [f"u{k}" for k in range(int(u.max()) + 2)]  # one unused category
        return df.assign(user_id=pd.Categorical([f"u{k}" for k in u], categories=cats))
    return df


@SETTINGS
@given(case=cases(), kind=st.sampled_from(["dense", "sparse", "string", "categorical"]),
       tiny=st.booleans(), data=st.data())
def test_engine_matches_slow_reference(case, kind, tiny, data):
    # every input goes through engine.bucket_sessions: any id type, one bucket or many
    # buckets on 2 threads; in input order and shuffled (same id per row)
    import contextlib

    df, p = case
    df = _with_ids(df, kind)
    perm = list(data.draw(st.permutations(range(len(df)))))
    with _tiny_layout() if tiny else contextlib.nullcontext():
        out = sessionize(df, **p)
        shuffled = sessionize(df.iloc[perm], **p)
    assert ids(out) == reference_sessions(df, **p)
    np.testing.assert_array_equal(shuffled["session_id"].to_numpy(), out["session_id"].to_numpy()[perm])


def _global_sort_ids(user, t, codes, **p):
    """The ids of one global sort (the pre-engine path): lexsort, kernel, scatter."""
    from funnelkit.engine.kernels.sessions import new_sessions

    ranks = [np.where(c < 0, c.max() + 1, c) for c in codes]  # nulls last
    order = np.lexsort((*reversed(ranks), t, user))
    new = new_sessions(user[order], t[order], codes=[c[order] for c in codes], **p)
    out = np.empty(len(user), dtype=np.int64)
    out[order] = np.cumsum(new) - 1
    return out


@pytest.mark.parametrize("layout", ["default", "one_wide_bucket", "tiny"])
def test_engine_equals_the_global_sort_on_a_large_log(layout):
    # 200,000 rows of 80,000 users, time-ordered with ties, and a split_on column with
    # ties at equal timestamps: the engine's buckets (many, on 2 threads; or one bucket
    # of > 65,536 users, two radix passes) give the global sort's ids, also shuffled
    import contextlib
    import os
    from unittest import mock

    from funnelkit.engine import bucket_sessions, buckets

    rng = np.random.default_rng(5)
    n = 200_000
    users = rng.integers(0, 80_000, n)
    t = np.sort(rng.integers(0, 3 * 86_400, n))
    camp = rng.choice(np.array(["a", "b", "c", None], dtype=object), n)
    df = make_log(users, pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(t, unit="s"),
                  utm_campaign=camp)
    stack = contextlib.ExitStack()
    stack.enter_context(mock.patch.dict(os.environ, {"FUNNELKIT_NUM_THREADS": "2"}))
    stack.enter_context(mock.patch.object(buckets, "THREADS_MIN_ROWS", 0))
    if layout == "one_wide_bucket":
        stack.enter_context(mock.patch.object(buckets, "BUCKET_ROWS", 4 * n))
        stack.enter_context(mock.patch.dict(os.environ, {"FUNNELKIT_NUM_THREADS": "1"}))
    elif layout == "tiny":
        # ~300 buckets of 256 users (~640 rows), each filled from all 200 blocks of 1,000
        # rows a few rows at a time (buckets of 64 rows gave 2,500 buckets: the same merge
        # paths at 2.5x the test's time, in the per-block loop over buckets)
        stack.enter_context(mock.patch.object(buckets, "BUCKET_ROWS", 512))
        stack.enter_context(mock.patch.object(bucket_sessions, "_BLOCK_ROWS", 1000))
    perm = rng.permutation(n)
    p = dict(timeout_ns=30 * 60 * 10**9, max_ns=2 * 3600 * 10**9, zone=None)
    user, tns = df["user_id"].to_numpy(), sessions_module._time_ns(df["timestamp"])
    codes = [sessions_module._value_codes(df["utm_campaign"], name="utm_campaign")]
    with stack:
        got = sessionize(df, timeout="30min", max_duration="2h")
        got_split = sessionize(df, timeout="30min", max_duration="2h", split_on="utm_campaign")
        shuffled = sessionize(df.iloc[perm], timeout="30min", max_duration="2h",
                              split_on="utm_campaign")
    np.testing.assert_array_equal(got["session_id"].to_numpy(), _global_sort_ids(user, tns, [], **p))
    np.testing.assert_array_equal(got_split["session_id"].to_numpy(),
                                  _global_sort_ids(user, tns, codes, **p))
    np.testing.assert_array_equal(shuffled["session_id"].to_numpy(),
                                  got_split["session_id"].to_numpy()[perm])
    assert got["session_id"].nunique() == got["session_id"].max() + 1
