"""funnelkit.engine.sources: an event log as blocks of the needed columns, unit codes.

Parquet files the io layer would accept as they are (tz-aware times in any unit,
string event names plain or dictionary-encoded, integer or string unit ids, no nulls
per the statistics) are read straight from their row groups; every other input goes
through the io layer and gets ``read_events``' errors. Either way the result equals
``fk.funnel(fk.read_events(path), ...)``. Unit ids that are not a dense integer range
get codes from one global sorted dictionary, so units are numbered by sorted id
whatever the input.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import funnelkit as fk
from funnelkit.io import normalize as _schema
from funnelkit.engine import sources as S
from funnelkit.errors import (
    EmptyEventLogError,
    MissingColumnError,
    NullValuesError,
    ParameterError,
    TimezoneError,
)
from test_engine_run import assert_same, hex_id, quiet, shuffled, tiny_buckets

STEPS = ["a", "b", "c"]


def _base(n: int = 40, seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    ts = pd.Timestamp("2024-03-01", tz="UTC") + pd.to_timedelta(np.sort(rng.integers(0, 10_000, n)), unit="s")
    return {
        "user_id": rng.integers(0, 8, n),
        "timestamp": ts,
        "event": rng.choice(np.array(["a", "b", "c", "noise"]), n),
        "channel": rng.choice(np.array(["p", "q", "r"]), n),
    }


def _write(path, table, **kw):
    pq.write_table(table, path, **kw)
    return path


def _same_as_read_events(path, steps=STEPS, **kw):
    want = quiet(fk.funnel, fk.read_events(path), steps, **kw)
    assert_same(quiet(fk.funnel, str(path), steps, **kw), want)
    with tiny_buckets():
        assert_same(quiet(fk.funnel, str(path), steps, memory_budget=1, **kw), want)
    return want


# --------------------------------------------------------------------------- Parquet taken directly

VARIANTS = ["int32_ids", "uint32_ids", "ms_utc", "us_madrid", "ms_madrid", "plain_strings", "large_strings",
            "dictionary_strings", "directory", "string_ids", "string_ids_dictionary", "sparse_ids"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_parquet_types_read_directly(tmp_path, variant):
    cols = _base()
    user = pa.array(cols["user_id"], pa.int64())
    ts = pa.array(cols["timestamp"]).cast(pa.timestamp("ms", tz="UTC"))
    event = pa.array(cols["event"]).dictionary_encode()
    if variant == "int32_ids":
        user = user.cast(pa.int32())
    if variant == "uint32_ids":
        user = user.cast(pa.uint32())
    if variant == "us_madrid":
        ts = ts.cast(pa.timestamp("us", tz="Europe/Madrid"))
    if variant == "ms_madrid":
        ts = ts.cast(pa.timestamp("ms", tz="Europe/Madrid"))
    if variant == "plain_strings":
        event = pa.array(cols["event"], pa.string())
    if variant == "large_strings":
        event = pa.array(cols["event"], pa.large_string())
    if variant.startswith("string_ids"):
        user = pa.array([hex_id(int(u)) for u in cols["user_id"]], pa.string())
        if variant == "string_ids_dictionary":
            user = user.dictionary_encode()
    if variant == "sparse_ids":
        user = pa.array(cols["user_id"] * 10**12 + 3, pa.int64())
    table = pa.table({"user_id": user, "timestamp": ts, "event": event,
                      "channel": pa.array(cols["channel"]).dictionary_encode()})
    if variant == "directory":
        os.makedirs(tmp_path / "ds" / "more")
        _write(tmp_path / "ds" / "part-0.parquet", table.slice(0, 25), row_group_size=7)
        _write(tmp_path / "ds" / "more" / "part-1.parquet", table.slice(25), row_group_size=7)
        path = tmp_path / "ds"
    else:
        path = _write(tmp_path / "ev.parquet", table, row_group_size=9)
    src = S.parquet_source(path, unit_col="user_id")  # not declined
    assert src.n_rows == 40
    assert sum(len(b.t) for i in range(src.n_items) for b in src.read(i)) == 40
    want = _same_as_read_events(path, window="1h")
    _same_as_read_events(path, window=None, by="channel", attribution="step:2")
    # units are numbered by sorted id, as in memory
    assert list(want.units.index) == sorted(want.units.index)


def test_string_ids_global_dictionary_over_row_groups(tmp_path):
    """Every row group has its own dictionary; the codes come from one sorted global one."""
    rng = np.random.default_rng(4)
    n = 300
    users = rng.integers(0, 60, n)
    ev = pd.DataFrame({
        "user_id": [hex_id(int(u)) for u in users],
        "timestamp": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 200, n), unit="min"),
        "event": rng.choice(["a", "b", "c", "n"], n),
        "channel": rng.choice(["p", "q", None], n),
    })
    path = tmp_path / "ev.parquet"
    shuffled(ev, 3).to_parquet(path, row_group_size=7)
    src = S.parquet_source(path, unit_col="user_id", attr_col="channel")
    assert src.n_items == -(-n // 7)
    assert src.hi - src.lo + 1 == ev["user_id"].nunique()
    codes = np.concatenate([b.unit for i in range(src.n_items) for b in src.read(i)])
    ids = src.ids_of(np.arange(src.hi + 1))
    assert list(ids) == sorted(set(ev["user_id"]))
    back = pq.read_table(path).column("user_id").to_pylist()
    assert [ids[c] for c in codes] == back
    assert src.attr_values == ["p", "q"]
    for kw in (dict(), dict(by="channel"), dict(by="channel", attribution="last_touch", mode="strict"),
               dict(by="channel", attribution="step:2", window=None)):
        want = fk.funnel(ev, STEPS, **kw)
        assert_same(fk.funnel(str(path), STEPS, **kw), want)
        assert_same(fk.funnel(str(path), STEPS, memory_budget=1, **kw), want)


# --------------------------------------------------------------------------- through the io layer


@pytest.mark.parametrize("variant,error", [
    ("no_statistics", None),
    ("int_events", None),
    ("partitioned", None),
    ("uint64_ids", None),
    ("null_event", NullValuesError),
    ("null_user", NullValuesError),
    ("null_time", NullValuesError),
    ("naive_times", TimezoneError),
    ("no_event_column", MissingColumnError),
])
def test_parquet_through_the_io_layer(tmp_path, variant, error):
    cols = _base()
    user = pa.array(cols["user_id"], pa.int64())
    ts = pa.array(cols["timestamp"]).cast(pa.timestamp("ms", tz="UTC"))
    event = pa.array(cols["event"])
    kw = {}
    if variant == "no_statistics":
        kw["write_statistics"] = False
    if variant == "int_events":
        event = pa.array(np.arange(len(user)) % 3)
    if variant == "uint64_ids":
        u = cols["user_id"].astype(np.uint64)
        u[u == 3] = np.uint64(2**63 + 5)  # beyond int64: ids become text in memory
        user = pa.array(u, pa.uint64())
    if variant == "null_event":
        event = pa.array([None] + list(cols["event"][1:]))
    if variant == "null_user":
        user = pa.array([None] + list(cols["user_id"][1:]), pa.int64())
    if variant == "null_time":
        ts = pa.array([None] + list(cols["timestamp"][1:]), pa.timestamp("ms", tz="UTC"))
    if variant == "naive_times":
        ts = ts.cast(pa.timestamp("ms"))
    table = pa.table({"user_id": user, "timestamp": ts, "event": event})
    if variant == "no_event_column":
        table = table.drop(["event"])
    if variant == "partitioned":  # hive directories: the partition key becomes a column
        path = tmp_path / "ds"
        pq.write_to_dataset(table.append_column("day", pa.array(np.arange(len(user)) % 2)), path,
                            partition_cols=["day"])
    else:
        path = _write(tmp_path / "ev.parquet", table, **kw)
    steps = ["0", "1"] if variant == "int_events" else STEPS
    with pytest.raises(S._Declined):
        S.parquet_source(path, unit_col="user_id")
    if error is not None:
        with pytest.raises(error) as a:
            fk.funnel(str(path), steps)
        with pytest.raises(error) as b:
            fk.read_events(str(path))
        assert str(a.value) == str(b.value)
        with pytest.raises(error) as c:
            fk.funnel(str(path), steps, memory_budget=1)
        assert str(c.value) == str(b.value)
        return
    _same_as_read_events(path, steps, window="1h")


def test_frames_arrow_polars_csv_go_through_the_io_layer(tmp_path):
    import polars as pl

    ev = pd.DataFrame(_base(60))
    want = fk.funnel(ev, STEPS, by="channel")
    assert_same(fk.funnel(pa.Table.from_pandas(ev), STEPS, by="channel"), want)
    assert_same(fk.funnel(pl.from_pandas(ev), STEPS, by="channel"), want)
    csv = tmp_path / "ev.csv"
    ev.assign(timestamp=ev["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_csv(csv, index=False)
    assert_same(fk.funnel(str(csv), STEPS, by="channel"), fk.funnel(fk.read_events(str(csv)), STEPS, by="channel"))
    # the same errors as read_events, for frames too
    bad = ev.assign(user_id=ev["user_id"].astype("Int64"))
    bad.loc[3, "user_id"] = pd.NA
    for frame, error in ((bad, NullValuesError),
                         (ev.assign(timestamp=ev["timestamp"].dt.tz_localize(None)), TimezoneError),
                         (ev.drop(columns=["event"]), MissingColumnError),
                         (ev.iloc[:0], EmptyEventLogError)):
        with pytest.raises(error) as a:
            fk.funnel(frame, STEPS)
        with pytest.raises(error) as b:
            fk.read_events(frame)
        assert str(a.value) == str(b.value)


def test_missing_columns(tmp_path):
    ev = pd.DataFrame(_base())
    path = tmp_path / "ev.parquet"
    ev.to_parquet(path)
    with pytest.raises(MissingColumnError, match="chanel.*closest match: 'channel'"):
        fk.funnel(ev, STEPS, by="chanel")
    with pytest.raises(MissingColumnError, match="chanel"):
        fk.funnel(str(path), STEPS, by="chanel")
    with pytest.raises(MissingColumnError, match="sessionize"):
        fk.funnel(ev, STEPS, unit="session")
    with pytest.raises(MissingColumnError, match="session_id"):
        fk.funnel(str(path), STEPS, unit="session")
    with pytest.raises(fk.errors.JourneyError, match="where=.*'url'"):
        fk.funnel(ev, fk.Journey({"a": fk.Rule("a", where={"url": "/"})}))


@pytest.mark.parametrize("kw", [dict(by="chanel"), dict(unit="session"),
                                dict(steps=fk.Journey({"a": fk.Rule("a", where={"url": "/"})}))],
                         ids=["by", "session", "where"])
def test_missing_column_of_a_path_has_the_frames_message(tmp_path, kw):
    ev = pd.DataFrame(_base())
    path = tmp_path / "ev.parquet"
    ev.to_parquet(path)
    kw = dict(kw)
    steps = kw.pop("steps", STEPS)
    with pytest.raises(fk.errors.FunnelkitError) as a:
        fk.funnel(fk.read_events(str(path)), steps, **kw)
    with pytest.raises(fk.errors.FunnelkitError) as b:
        fk.funnel(str(path), steps, **kw)
    assert type(b.value) is type(a.value) and str(b.value) == str(a.value)


def test_timestamps_beyond_pandas_range(tmp_path):
    t = pa.table({"user_id": pa.array([1, 1], pa.int64()),
                  "timestamp": pa.array([0, 10**16], pa.timestamp("ms", tz="UTC")),
                  "event": pa.array(["a", "b"])})
    path = _write(tmp_path / "far.parquet", t)
    with pytest.raises(fk.errors.TimestampError, match="outside the range funnelkit supports"):
        fk.funnel(str(path), ["a", "b"])


def test_read_events_refuses_timestamps_beyond_pandas_range_with_a_funnelkit_error(tmp_path):
    t = pa.table({"user_id": pa.array([1, 1], pa.int64()),
                  "timestamp": pa.array([0, 10**16], pa.timestamp("ms", tz="UTC")),
                  "event": pa.array(["a", "b"])})
    path = _write(tmp_path / "far.parquet", t)
    with pytest.raises(fk.errors.TimestampError, match="outside the range funnelkit supports.*row 1"):
        fk.read_events(str(path))


def test_integer_property_with_nulls_same_groups_from_a_path(tmp_path):
    n = 200
    rng = np.random.default_rng(1)
    user = rng.integers(0, 30, n)
    table = pa.table({
        "user_id": pa.array(user, pa.int64()),
        "timestamp": pa.array(rng.integers(0, 10**6, n) * 10**9, pa.timestamp("ns", tz="UTC")),
        "event": pa.array(rng.choice(["a", "b", "c"], n)),
        "tier": pa.array([None if u == 7 else int(u % 3) for u in user], pa.int64()),
    })
    path = _write(tmp_path / "nulls.parquet", table, row_group_size=50)  # no pandas metadata
    want = fk.funnel(fk.read_events(str(path)), STEPS, by="tier")
    assert_same(fk.funnel(str(path), STEPS, by="tier"), want)


def test_boolean_property_with_nulls_and_where_on_a_path(tmp_path):
    n = 200
    rng = np.random.default_rng(2)
    user = rng.integers(0, 30, n)
    table = pa.table({
        "user_id": pa.array(user, pa.int64()),
        "timestamp": pa.array(rng.integers(0, 10**6, n) * 10**9, pa.timestamp("ns", tz="UTC")),
        "event": pa.array(rng.choice(["a", "b", "c"], n)),
        "flag": pa.array([None if u == 8 else bool(u % 2) for u in user], pa.bool_()),
        "tier": pa.array([None if u == 7 else int(u % 3) for u in user], pa.int64()),
    })
    path = _write(tmp_path / "nulls.parquet", table, row_group_size=50)
    for kw in (dict(by="flag"), dict(by="flag", attribution="step:2")):
        _same_as_read_events(path, **kw)
    j = fk.Journey({"a": "a", "b": fk.Rule("b", where={"tier": 1}), "c": fk.Rule("c", where={"flag": True})})
    _same_as_read_events(path, j)


# --------------------------------------------------------------------------- codes


def test_unit_codes_number_units_by_sorted_id():
    s = pd.DataFrame({"u": pd.Categorical(["z", "a", "m", "a"], categories=["z", "m", "a", "unused"])})
    codes, ids = S.unit_codes(s, "u")
    assert list(ids) == sorted(ids) and [ids[c] for c in codes] == ["z", "a", "m", "a"]
    # an unused category may keep a code, but never becomes a unit of a result
    ev = pd.DataFrame({"user_id": s["u"], "timestamp": pd.Timestamp("2024-01-01", tz="UTC"), "event": "a"})
    assert fk.funnel(ev, ["a"]).units.index.tolist() == ["a", "m", "z"]
    s = pd.DataFrame({"u": pd.Categorical(["b", "a"], categories=["a", "b", "c"])})  # sorted, one unused
    codes, ids = S.unit_codes(s, "u")
    assert list(ids) == ["a", "b"] and codes.tolist() == [1, 0]
    codes, ids = S.unit_codes(pd.DataFrame({"u": [7, 3, 7, 5]}), "u")  # dense: a lookup table
    assert list(ids) == [3, 5, 7] and codes.tolist() == [2, 0, 2, 1]
    codes, ids = S.unit_codes(pd.DataFrame({"u": [10**15, -(10**15), 0]}), "u")  # sparse: factorized
    assert list(ids) == [-(10**15), 0, 10**15] and codes.tolist() == [2, 0, 1]
    with pytest.raises(ParameterError, match="null"):
        S.unit_codes(pd.DataFrame({"u": pd.array([1, None], dtype="Int64")}), "u")
    with pytest.raises(ParameterError, match="null"):
        S.unit_codes(pd.DataFrame({"u": pd.Categorical(["a", None])}), "u")


def test_sorted_codes_are_by_value_with_nulls_minus_one():
    codes, values = S.sorted_codes(pd.Series(["q", None, "p", "q"]))
    assert values == ["p", "q"] and codes.tolist() == [1, -1, 0, 1]
    codes, values = S.sorted_codes(pd.Series(pd.Categorical(["q", "p"], categories=["q", "p"])))
    assert values == ["p", "q"] and codes.tolist() == [1, 0]
    codes, values = S.sorted_codes(pd.Series([3, 1.5, 3.0], dtype=object))  # numbers are one kind
    assert values == [1.5, 3] and codes.tolist() == [1, 0, 1]
    # values of different kinds (1 and '1' print the same label) are refused, naming rows
    with pytest.raises(fk.errors.ColumnTypeError, match=r"'v' \(needed for by='v'\) mixes values.*"
                       r"3 \(int\) at row 0 and 'a' \(str\) at row 1"):
        S.sorted_codes(pd.Series([3, "a", 1.5], dtype=object, name="v"), purpose="by='v'")
    with pytest.raises(fk.errors.ColumnTypeError, match=r"holds dict values, e.g. \{'k': 1\} at row 1"):
        S.sorted_codes(pd.Series([None, {"k": 1}], dtype=object, name="v"), purpose="by='v'")


def test_frame_source_blocks(monkeypatch):
    monkeypatch.setattr(S, "FRAME_BLOCK_ROWS", 4)
    ev = _schema.ensure_events(pd.DataFrame(_base(10)))
    src = S.frame_source(ev, unit_col="user_id", attr_col="channel", props=["channel"])
    assert src.n_items == 3 and src.n_rows == 10
    blocks = [b for i in range(src.n_items) for b in src.read(i)]
    assert [b.row0 for b in blocks] == [0, 4, 8]
    assert np.concatenate([b.unit for b in blocks]).tolist() == ev["user_id"].tolist()  # dense ids as they are
    assert all(len(b.props["channel"]) == len(b.t) for b in blocks)
    assert src.attr_values == sorted(set(ev["channel"]))
    # ids of a string column come from the sorted categories
    ev2 = ev.assign(user_id=[hex_id(int(u)) for u in ev["user_id"]])
    src = S.frame_source(_schema.ensure_events(ev2), unit_col="user_id")
    assert list(src.ids_of(np.arange(src.hi + 1))) == sorted(set(ev2["user_id"]))


def test_the_callers_objects_are_not_modified(tmp_path):
    ev = pd.DataFrame(_base(50))
    ev["user_id"] = [hex_id(int(u)) for u in ev["user_id"]]
    before = ev.copy()
    fk.funnel(ev, STEPS, by="channel")
    arm = ev.assign(variant=ev["user_id"].map(lambda u: "A" if u < "8" else "B"))
    before_arm = arm.copy()
    quiet(fk.experiment, arm, STEPS, variant_col="variant", control="A")
    pd.testing.assert_frame_equal(arm, before_arm)
    pd.testing.assert_frame_equal(ev, before)


@pytest.mark.parametrize("case", ["by_and_where_same_column", "by_event", "where_on_event", "variant_in_where"])
def test_a_column_read_for_two_purposes(tmp_path, case):
    ev = pd.DataFrame(_base(60))
    ev["variant"] = np.where(ev["user_id"] % 2, "A", "B")
    path = tmp_path / "ev.parquet"
    ev.to_parquet(path, row_group_size=20)
    if case == "variant_in_where":
        j = fk.Journey({"a": "a", "b": fk.Rule("b", where={"variant": "A"}), "c": "c"})
        want = quiet(fk.experiment, ev, j, variant_col="variant", control="A")
        from test_engine_run import assert_same_experiment

        assert_same_experiment(quiet(fk.experiment, str(path), j, variant_col="variant", control="A"), want)
        return
    steps, kw = STEPS, {}
    if case == "by_and_where_same_column":
        steps, kw = fk.Journey({"a": fk.Rule("a", where={"channel": ["p", "q"]}), "b": "b"}), dict(by="channel")
    elif case == "by_event":
        kw = dict(by="event", attribution="step:2")
    else:
        steps = fk.Journey({"a": fk.Rule("a", where={"event": "a"}), "b": "b"})
    want = quiet(fk.funnel, ev, steps, **kw)
    assert_same(quiet(fk.funnel, str(path), steps, **kw), want)


def test_block_duplicate_count_matches_pandas():
    from funnelkit.io import _duplicates as D

    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(2, 60))
        u, t, e, a = (rng.integers(lo, hi, n) for lo, hi in ((0, 3), (0, 4), (0, 2), (-1, 2)))
        if rng.random() < 0.5:  # time-ordered blocks take the neighbour pass
            o = np.argsort(t, kind="stable")
            u, t, e, a = u[o], t[o], e[o], a[o]
        want = int(pd.DataFrame({"u": u, "t": t, "e": e, "a": a}).duplicated().sum())
        assert D.count_block_duplicates(u, t, e, (a,)) == want


def test_direct_parquet_path_warns_once_about_duplicates(tmp_path):
    import warnings

    ev = pd.DataFrame(_base())
    dup = pd.concat([ev.iloc[[0]], ev], ignore_index=True)  # a copy in the same row group
    path = _write(tmp_path / "dup.parquet", pa.Table.from_pandas(dup, preserve_index=False), row_group_size=4)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        fk.funnel(str(path), STEPS)
    got = [w for w in rec if issubclass(w.category, fk.errors.DuplicateEventsWarning)]
    assert len(got) == 1 and "read_events(path, dedupe=True)" in str(got[0].message)
    assert got[0].filename == __file__  # points at the caller
    clean = _write(tmp_path / "clean.parquet", pa.Table.from_pandas(ev, preserve_index=False), row_group_size=4)
    far = _write(tmp_path / "far.parquet", pa.Table.from_pandas(pd.concat([ev, ev.iloc[[0]]], ignore_index=True),
                                                              preserve_index=False), row_group_size=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", fk.errors.DuplicateEventsWarning)
        fk.funnel(str(clean), STEPS)
        fk.funnel(str(far), STEPS)  # documented limit: a copy in another row group is not seen here
    with pytest.warns(fk.errors.DuplicateEventsWarning):
        fk.read_events(str(far))  # ... while read_events checks the whole file


# --------------------------------------------------------------------------- mutation audit (funnel analysis and driver)


def test_string_ids_sorted_whole_across_row_groups_sharing_prefixes(tmp_path):
    """Parquet string ids are numbered by their sorted value even when ids share their first
    8 bytes ("customer-10" < "customer-2" < "customer-9": only whole strings tell them apart)
    or one is a prefix of another ("ab" < "aba", though "ab" is followed by "zz" in the
    row group's dictionary). Sorted: ab, aba, customer-10, customer-2, customer-9, zz.
    Every user has an a; ab and customer-2 also a b (level 2), the others level 1."""
    ids = ["customer-10", "customer-9", "customer-2", "ab", "zz", "aba"]
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    ev = pd.DataFrame({"user_id": ids + ["customer-2", "ab"],
                       "timestamp": [t0] * 6 + [t0 + pd.Timedelta("1min")] * 2,
                       "event": ["a"] * 6 + ["b"] * 2})
    path = tmp_path / "ev.parquet"
    ev.to_parquet(path, row_group_size=3)  # row groups: customer-10 9 2 | ab zz aba | customer-2 ab
    want = sorted(ids)
    assert want == ["ab", "aba", "customer-10", "customer-2", "customer-9", "zz"]
    src = S.parquet_source(path, unit_col="user_id")  # read directly (no io layer)
    assert list(src.ids_of(np.arange(src.hi + 1))) == want
    res = fk.funnel(str(path), ["a", "b"])
    assert res.units.index.tolist() == want
    assert res.units["level"].tolist() == [2, 1, 1, 2, 1, 1]
    assert_same(res, fk.funnel(ev, ["a", "b"]))
