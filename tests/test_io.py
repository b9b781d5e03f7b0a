"""Tests for funnelkit.io.read_events: sources, timestamp forms, errors, round trips."""

from __future__ import annotations

import copy
import datetime as dt
import doctest
import re
import subprocess
import sys
import warnings
import zoneinfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import funnelkit.io.read as io_module
from funnelkit.io._names import EVENT, TIME, TIME_DTYPE, USER
from funnelkit.io.normalize import normalized_dtypes_ok
from funnelkit.errors import (
    ColumnTypeError,
    DroppedRowsWarning,
    EmptyEventLogError,
    EventLogError,
    EventSourceError,
    MissingColumnError,
    NullValuesError,
    ParameterError,
    TimestampError,
    TimezoneError,
)
from funnelkit.io import read_events

STR_DTYPE = pd.Index(["a"]).dtype


def msg(*parts: str) -> str:
    """A regex matching the given literal parts in order."""
    return ".*".join(re.escape(p) for p in parts)


def assert_same(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """assert_frame_equal; on pandas 2, None and NaN in object columns count as equal."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Mismatched null-like values", FutureWarning)
        pd.testing.assert_frame_equal(left, right)


def utc(*values: str) -> list[pd.Timestamp]:
    return [pd.Timestamp(v, tz="UTC") for v in values]


def times_of(df: pd.DataFrame) -> list[pd.Timestamp]:
    assert df[TIME].dtype == TIME_DTYPE
    return list(df[TIME])


def source_frame() -> pd.DataFrame:
    """An event log with other column names, tz-aware times in Madrid and properties."""
    return pd.DataFrame(
        {
            "uid": [3, 1, 3, 2, 1],
            "ts": pd.to_datetime(["2024-03-01 10:00", "2024-03-01 10:01", "2024-03-01 10:02",
                                  "2024-03-01 10:03", "2024-03-01 10:04"])
            .tz_localize("Europe/Madrid"),
            "name": ["view", "view", "cart", "buy", "cart"],
            "channel": ["ads", "seo", "ads", np.nan, "seo"],
            "revenue": [0.0, 0.0, 0.0, 9.5, np.nan],
            "qty": [1, 2, 3, 4, 5],
        },
        index=pd.Index([10, 11, 12, 13, 14], name="row"),
    )


MAP = dict(user_col="uid", time_col="ts", event_col="name")


def expected() -> pd.DataFrame:
    src = source_frame()
    return pd.DataFrame(
        {
            USER: np.array([3, 1, 3, 2, 1], dtype=np.int64),
            TIME: pd.Series(src["ts"].dt.tz_convert("UTC").dt.as_unit("ns").to_numpy(),
                            dtype=TIME_DTYPE),
            EVENT: pd.Categorical(["view", "view", "cart", "buy", "cart"],
                                  categories=pd.Index(["buy", "cart", "view"], dtype=STR_DTYPE)),
            "channel": src["channel"].reset_index(drop=True),
            "revenue": src["revenue"].reset_index(drop=True),
            "qty": src["qty"].reset_index(drop=True),
        }
    )


def test_doctests():
    res = doctest.testmod(io_module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0 and res.attempted > 0


def test_expected_is_normalized():
    assert normalized_dtypes_ok(expected())


# --------------------------------------------------------------------------------------
# input types
# --------------------------------------------------------------------------------------


def test_pandas_input_and_caller_unchanged():
    src = source_frame()
    src.attrs["origin"] = ["crm"]
    before = copy.deepcopy(src)
    out = read_events(src, **MAP)
    assert_same(out, expected())
    pd.testing.assert_frame_equal(src, before, check_exact=True)
    pd.testing.assert_index_equal(src.index, before.index, exact=True)
    assert src.attrs == before.attrs and list(src.dtypes) == list(before.dtypes)
    out.attrs["origin"].append("changed")
    assert src.attrs == {"origin": ["crm"]}


def test_pyarrow_table_and_record_batch():
    table = pa.Table.from_pandas(source_frame())
    assert_same(read_events(table, **MAP), expected())
    batch = table.to_batches()[0]
    assert_same(read_events(batch, **MAP), expected())
    # several chunks, dictionary-encoded events
    chunked = pa.concat_tables([table.slice(0, 2), table.slice(2)])
    chunked = chunked.set_column(2, "name", chunked.column("name").dictionary_encode())
    assert_same(read_events(chunked, **MAP), expected())


def test_arrow_c_stream_object():
    table = pa.Table.from_pandas(source_frame())

    class Stream:
        def __arrow_c_stream__(self, requested_schema=None):
            return table.__arrow_c_stream__(requested_schema)

    assert_same(read_events(Stream(), **MAP), expected())


def test_polars_dataframe_and_lazyframe():
    pl = pytest.importorskip("polars")
    frame = pl.from_pandas(source_frame().reset_index(drop=True))
    assert_same(read_events(frame, **MAP), expected())
    assert_same(read_events(frame.lazy(), **MAP), expected())
    cat = frame.with_columns(pl.col("name").cast(pl.Categorical))
    assert_same(read_events(cat, **MAP), expected())


def test_polars_series_is_refused():
    pl = pytest.importorskip("polars")
    with pytest.raises(ColumnTypeError, match=msg("Fix:")):
        read_events(pl.Series("uid", [1, 2]))


def _fresh_import(env):
    """A fresh interpreter's ``import funnelkit`` (a second or two: run in the background
    after collection, tests/conftest.py)."""
    code = ("import sys, funnelkit, funnelkit.io, funnelkit.io.normalize; "
            "assert 'polars' not in sys.modules, 'polars imported'")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


def background_jobs(background, items):
    if any(item.name == "test_polars_not_imported_by_funnelkit" for item in items):
        return {"io:fresh-import": _fresh_import}
    return {}


def test_polars_not_imported_by_funnelkit(background):
    out = background.result("io:fresh-import", _fresh_import)
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("suffix", [".parquet", ".pq"])
def test_parquet_file(tmp_path, suffix):
    path = tmp_path / f"events{suffix}"
    source_frame().to_parquet(path)  # with its non-default index
    out = read_events(path, **MAP)
    assert_same(out, expected())
    assert_same(read_events(str(path), **MAP), expected())


def test_parquet_reads_only_needed_columns_dictionary_encoded(tmp_path, spy_calls):
    path = tmp_path / "events.parquet"
    source_frame().to_parquet(path)
    calls = spy_calls(pq, "read_table")
    out = read_events(path, columns=["qty"], **MAP)
    assert list(out.columns) == [USER, TIME, EVENT, "qty"]
    # two reads: the required columns (events dictionary-encoded), then the properties
    assert sorted(calls[0]["columns"]) == sorted(["uid", "ts", "name"])
    assert calls[0]["read_dictionary"] == ["name"]
    assert [c["columns"] for c in calls[1:]] == [["qty"]]


def test_parquet_string_users_dictionary(tmp_path):
    src = source_frame().assign(uid=["c", "a", "c", "b", "a"])
    src.to_parquet(tmp_path / "e.parquet")
    out = read_events(tmp_path / "e.parquet", **MAP)
    assert list(out[USER].cat.categories) == ["a", "b", "c"]
    assert out[USER].astype(str).tolist() == ["c", "a", "c", "b", "a"]


def test_parquet_directory(tmp_path):
    src = source_frame()
    d = tmp_path / "events"
    d.mkdir()
    src.iloc[:2].to_parquet(d / "part-000.parquet")
    src.iloc[2:4].to_parquet(d / "part-001.parquet")
    (d / "x-nested").mkdir()  # files are read in sorted path order
    src.iloc[4:].to_parquet(d / "x-nested" / "part-002.pq")
    (d / "_SUCCESS").write_text("")
    (d / ".part-000.parquet.crc").write_text("junk")
    (d / "_tmp").mkdir()
    src.iloc[:1].to_parquet(d / "_tmp" / "part-999.parquet")  # skipped
    (d / "README.txt").write_text("not parquet")
    assert_same(read_events(d, **MAP), expected())
    assert_same(read_events(str(d), **MAP), expected())


def test_parquet_directory_files_with_different_schemas(tmp_path):
    base = pd.DataFrame({USER: [1], TIME: pd.to_datetime(["2024-03-01"], utc=True), EVENT: ["a"]})
    pq.write_table(pa.table({USER: [1], TIME: pa.array(base[TIME]), EVENT: ["a"],
                             "note": pa.nulls(1)}), tmp_path / "a.parquet")
    pq.write_table(pa.table({USER: [2], TIME: pa.array(base[TIME]), EVENT: ["b"],
                             "note": ["hello"], "extra": [1.5]}), tmp_path / "b.parquet")
    out = read_events(tmp_path)
    assert out[USER].tolist() == [1, 2]
    assert out["note"].tolist()[1] == "hello" and pd.isna(out["note"].iloc[0])
    assert pd.isna(out["extra"].iloc[0]) and out["extra"].iloc[1] == 1.5


def test_parquet_directory_many_files_keeps_order(tmp_path):
    n = 25
    for i in range(n):
        pd.DataFrame({USER: [i, i], TIME: pd.to_datetime([i, i + 1], unit="s", utc=True),
                      EVENT: ["a", "b"]}).to_parquet(tmp_path / f"part-{i:03d}.parquet")
    out = read_events(tmp_path)
    assert out[USER].tolist() == [i for i in range(n) for _ in range(2)]


def test_parquet_hive_partitions_become_columns(tmp_path):
    src = source_frame().reset_index(drop=True)
    for ch in ["ads", "seo"]:
        part = tmp_path / f"channel={ch}"
        part.mkdir()
        src[src["channel"] == ch].drop(columns="channel").to_parquet(part / "p.parquet")
    out = read_events(tmp_path, **MAP)
    assert list(out.columns)[:3] == [USER, TIME, EVENT]
    assert "channel" in out.columns
    assert out["channel"].astype(str).tolist() == ["ads", "ads", "seo", "seo"]


@pytest.mark.parametrize("suffix, sep", [(".csv", ","), (".csv.gz", ","), (".tsv", "\t"),
                                         (".tsv.gz", "\t")])
def test_csv_and_tsv(tmp_path, suffix, sep):
    path = tmp_path / f"events{suffix}"
    source_frame().to_csv(path, sep=sep, index=False)
    out = read_events(path, **MAP)
    assert_same(out, expected())


def test_csv_user_ids_text_rules(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("user_id,timestamp,event\n"
                    "007,2024-03-01T10:00:00Z,NA\n"
                    "7,2024-03-01T10:01:00Z,null\n")
    out = read_events(path)
    assert out[USER].astype(str).tolist() == ["007", "7"]  # leading zeros keep strings
    assert out[EVENT].astype(str).tolist() == ["NA", "null"]  # names, not missing
    path.write_text("user_id,timestamp,event\n1.0,2024-03-01T10:00:00Z,a\n,2024-03-01T10:01:00Z,b\n"
                    "9007199254740993,2024-03-01T10:02:00Z,c\n")
    with pytest.warns(DroppedRowsWarning):
        out = read_events(path, dropna=True)
    assert out[USER].dtype == np.int64 and out[USER].tolist() == [1, 9007199254740993]


def test_csv_missing_values_are_counted(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("user_id,timestamp,event\n1,2024-03-01T10:00:00Z,a\n2,,b\n3,NaT,c\n,x,\n")
    with pytest.raises(NullValuesError, match=msg("Column 'user_id'", "1 missing value",
                                                  "row 3", "column 'timestamp'", "2 missing",
                                                  "row 1", "Fix: pass dropna=True")):
        read_events(path)


def test_csv_epoch_numbers(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("user_id,timestamp,event\n1,1709287200123,a\n2,1709287200124,b\n")
    out = read_events(path, time_unit="ms")
    assert times_of(out) == utc("2024-03-01 10:00:00.123", "2024-03-01 10:00:00.124")


def test_csv_columns_selection(tmp_path):
    path = tmp_path / "e.csv"
    source_frame().to_csv(path, index=False)
    out = read_events(path, columns=["qty", "channel"], **MAP)
    assert list(out.columns) == [USER, TIME, EVENT, "qty", "channel"]


# --------------------------------------------------------------------------------------
# source errors
# --------------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    (tmp_path / "events.parquet").write_bytes(b"")
    path = tmp_path / "event.parquet"
    with pytest.raises(EventSourceError, match=msg("No file or directory at", "event.parquet",
                                                   "Did you mean", "events.parquet", "Fix:")):
        read_events(path)
    with pytest.raises(FileNotFoundError):
        read_events(str(tmp_path / "nope" / "x.csv"))
    with pytest.raises(EventLogError, match="does not exist either"):
        read_events(str(tmp_path / "nope" / "x.csv"))


def test_unknown_suffix(tmp_path):
    path = tmp_path / "events.json"
    path.write_text("{}")
    with pytest.raises(ColumnTypeError, match=msg("File", "events.json", "suffix '.json'",
                                                  "Supported: .parquet, .pq, .csv, .csv.gz, "
                                                  ".tsv, .tsv.gz", "Fix:")):
        read_events(path)


def test_directory_without_parquet(tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    with pytest.raises(EventSourceError, match=msg("holds no Parquet files", "Fix:")):
        read_events(tmp_path)


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"this is not parquet")
    with pytest.raises(ColumnTypeError, match=msg("cannot be read as Parquet", "Fix:")):
        read_events(path)


def test_empty_csv_files(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(EmptyEventLogError, match=msg("is empty", "Fix:")):
        read_events(path)
    path.write_text("user_id,timestamp,event\n")
    with pytest.raises(EmptyEventLogError, match=msg("no rows", "Fix:")):
        read_events(path)


def test_missing_columns_in_files_before_reading(tmp_path):
    source_frame().to_parquet(tmp_path / "e.parquet")
    with pytest.raises(MissingColumnError, match=msg("Column 'timestamp'", "closest match: 'ts'",
                                                     "Available columns: 'uid', 'ts'",
                                                     "time_col='ts'")):
        read_events(tmp_path / "e.parquet", user_col="uid", event_col="name")
    source_frame().to_csv(tmp_path / "e.csv", index=False)
    with pytest.raises(MissingColumnError, match=msg("Column 'usr'", "closest match: 'uid'",
                                                     "user_col='uid'")):
        read_events(tmp_path / "e.csv", user_col="usr", time_col="ts", event_col="name")
    with pytest.raises(MissingColumnError, match=msg("Column 'chanel' (listed in columns=)")):
        read_events(tmp_path / "e.parquet", columns=["chanel"], **MAP)


@pytest.mark.parametrize(
    "obj, words",
    [
        ([1, 2, 3], ["cannot read a list", "Fix:", "pd.DataFrame(records)"]),
        ({"user_id": [1]}, ["cannot read a dict", "Fix:", "pd.DataFrame(obj)"]),
        (np.zeros((2, 3)), ["cannot read a numpy.ndarray", "Fix:", "pd.DataFrame(arr, columns="]),
        (pd.Series([1, 2], name="uid"), ["got a pandas Series ('uid')", "three columns", "Fix:"]),
        (42, ["cannot read a int", "Fix:"]),
    ],
)
def test_wrong_source_types(obj, words):
    with pytest.raises(ColumnTypeError, match=msg(*words)):
        read_events(obj)
    with pytest.raises(TypeError, match="accepts a pandas DataFrame"):
        read_events(obj)


def test_parameters_checked_before_reading(tmp_path):
    with pytest.raises(ParameterError, match="time_unit"):
        read_events(tmp_path / "does-not-exist.parquet", time_unit="minutes")


# --------------------------------------------------------------------------------------
# timestamps
# --------------------------------------------------------------------------------------


def frame_with_times(times, **extra) -> pd.DataFrame:
    n = len(times)
    data = {USER: list(range(n)), TIME: times, EVENT: ["e"] * n}
    data.update(extra)
    return pd.DataFrame(data)


def test_naive_with_tz_across_dst():
    # Europe/Madrid: CET (+1) until 2024-03-31 02:00, CEST (+2) until 2024-10-27 03:00
    local = pd.to_datetime(["2024-03-31 01:30", "2024-03-31 03:30", "2024-10-27 01:30",
                            "2024-10-27 03:30", "2024-07-01 12:00"])
    out = read_events(frame_with_times(local), tz="Europe/Madrid")
    assert times_of(out) == utc("2024-03-31 00:30", "2024-03-31 01:30", "2024-10-26 23:30",
                                "2024-10-27 02:30", "2024-07-01 10:00")


def test_naive_tz_as_tzinfo():
    local = pd.to_datetime(["2024-01-01 12:00"])
    for tz in (zoneinfo.ZoneInfo("America/New_York"), dt.timezone(dt.timedelta(hours=-5))):
        out = read_events(frame_with_times(local), tz=tz)
        assert times_of(out) == utc("2024-01-01 17:00")


def test_naive_without_tz():
    local = pd.to_datetime(["2024-03-01 10:00", "2024-03-01 11:00"])
    with pytest.raises(TimezoneError, match=msg("Column 'timestamp' holds naive timestamps",
                                                "'2024-03-01 10:00:00' at row 0", "Fix: pass tz=")):
        read_events(frame_with_times(local))
    with pytest.raises(TimezoneError, match=msg("Column 'when' holds naive", "Fix: pass tz=")):
        read_events(frame_with_times(local).rename(columns={TIME: "when"}), time_col="when")


def test_ambiguous_local_time():
    local = pd.to_datetime(["2024-10-27 01:00", "2024-10-27 02:30"])
    with pytest.raises(TimezoneError, match=msg("Column 'timestamp'", "'2024-10-27 02:30:00' at "
                                                "row 1", "ambiguous in 'Europe/Madrid'", "Fix:",
                                                "ambiguous='infer'")):
        read_events(frame_with_times(local), tz="Europe/Madrid")


def test_nonexistent_local_time():
    local = pd.to_datetime(["2024-03-31 01:00", "2024-03-31 02:30"])
    with pytest.raises(TimezoneError, match=msg("Column 'timestamp'", "'2024-03-31 02:30:00' at "
                                                "row 1", "does not exist in 'Europe/Madrid'",
                                                "Fix:", "nonexistent='shift_forward'")):
        read_events(frame_with_times(local), tz="Europe/Madrid")


def test_nonexistent_local_time_in_strings():
    with pytest.raises(TimezoneError, match=msg("'2024-03-31T02:30:00' at row 0",
                                                "does not exist")):
        read_events(frame_with_times(["2024-03-31T02:30:00"]), tz="Europe/Madrid")


@pytest.mark.parametrize("zone", ["UTC", "Europe/Madrid", "America/New_York", "Asia/Kolkata",
                                  "Pacific/Chatham"])
def test_aware_in_any_zone(zone):
    instants = pd.DatetimeIndex(utc("2024-03-01 10:00", "2024-06-15 23:59:59.123456789"))
    out = read_events(frame_with_times(instants.tz_convert(zone)))
    assert times_of(out) == list(instants)


def test_aware_with_agreeing_tz_is_accepted():
    instants = pd.DatetimeIndex(utc("2024-03-01 10:00", "2024-07-01 10:00"))
    for data_zone, tz in [("Europe/Madrid", "Europe/Madrid"), ("UTC", "UTC"),
                          ("UTC", dt.timezone.utc), ("Europe/Madrid", "CET")]:
        out = read_events(frame_with_times(instants.tz_convert(data_zone)), tz=tz)
        assert times_of(out) == list(instants)


def test_aware_with_conflicting_tz_raises():
    aware = pd.DatetimeIndex(utc("2024-03-01 10:00")).tz_convert("America/New_York")
    with pytest.raises(TimezoneError, match=msg("Column 'timestamp' already holds tz-aware",
                                                "'America/New_York'", "row 0",
                                                "tz='Europe/Madrid'", "Fix: leave out tz=")):
        read_events(frame_with_times(aware), tz="Europe/Madrid")


def test_iso_strings_with_mixed_offsets():
    strings = ["2024-03-01T10:00:00+01:00", "2024-03-01T09:00:00Z", "2024-03-01T04:00:00-05:00",
               "2024-03-01 14:30:00+0530", "2024-03-01T09:00:00.5Z", "20240301T100000+0100"]
    out = read_events(frame_with_times(strings))
    assert times_of(out) == utc("2024-03-01 09:00", "2024-03-01 09:00", "2024-03-01 09:00",
                                "2024-03-01 09:00", "2024-03-01 09:00:00.5", "2024-03-01 09:00")


def test_iso_strings_with_offsets_and_tz():
    strings = ["2024-03-01T10:00:00+01:00", "2024-07-01T10:00:00+02:00"]
    out = read_events(frame_with_times(strings), tz="Europe/Madrid")  # agrees: accepted
    assert times_of(out) == utc("2024-03-01 09:00", "2024-07-01 08:00")
    with pytest.raises(TimezoneError, match=msg("Column 'timestamp' already holds tz-aware",
                                                "'2024-07-01T10:00:00Z' at row 1",
                                                "Fix: leave out tz=")):
        read_events(frame_with_times(["2024-03-01T10:00:00+01:00", "2024-07-01T10:00:00Z"]),
                    tz="Europe/Madrid")


def test_iso_strings_without_offsets_need_tz():
    strings = ["2024-03-01T10:00:00", "2024-03-01 11:00", "2024-03-02"]
    out = read_events(frame_with_times(strings), tz="Europe/Madrid")
    assert times_of(out) == utc("2024-03-01 09:00", "2024-03-01 10:00", "2024-03-01 23:00")
    with pytest.raises(TimezoneError, match=msg("naive", "'2024-03-01T10:00:00' at row 0",
                                                "Fix: pass tz=")):
        read_events(frame_with_times(strings))


def test_mixed_offset_and_naive_strings():
    strings = ["2024-03-01T10:00:00", "2024-03-01T10:00:00+01:00", "2024-03-01T10:00:00"]
    with pytest.raises(TimezoneError, match=msg("Column 'timestamp' mixes timestamps with a UTC "
                                                "offset", "'2024-03-01T10:00:00+01:00' at row 1",
                                                "without one", "'2024-03-01T10:00:00' at row 0",
                                                "Fix:")):
        read_events(frame_with_times(strings), tz="UTC")


def test_unparseable_strings_reported_before_offset_checks():
    strings = ["2024-03-01T10:00:00Z", "01/03/2024 10:00"]
    with pytest.raises(TimestampError, match=msg("not an ISO 8601", "'01/03/2024 10:00' at row 1",
                                                 "(1 such value)", "Fix:")):
        read_events(frame_with_times(strings))


def test_offsets_with_seconds_are_not_iso():
    with pytest.raises(TimestampError, match=msg("not an ISO 8601", "'1900-01-01 00:00:00-00:14:44'"
                                                 " at row 1")):
        read_events(frame_with_times(["2024-03-01T10:00:00Z", "1900-01-01 00:00:00-00:14:44"]))


def test_unparseable_strings():
    strings = ["2024-03-01T10:00:00Z", "2024-03-01T10:00:00Z", "yesterday", "nope"]
    with pytest.raises(TimestampError, match=msg("Column 'timestamp'", "not an ISO 8601 timestamp",
                                                 "'yesterday' at row 2", "(2 such values)",
                                                 "Fix:")):
        read_events(frame_with_times(strings))


def test_blank_strings_are_missing():
    strings = ["2024-03-01T10:00:00Z", "  ", "", "2024-03-01T10:01:00Z"]
    with pytest.raises(NullValuesError, match=msg("2 missing or blank values (first at row 1)")):
        read_events(frame_with_times(strings))
    with pytest.warns(DroppedRowsWarning, match="null_timestamp: 2"):
        out = read_events(frame_with_times(strings), dropna=True)
    assert out.attrs["funnelkit_dropped"] == {"null_timestamp": 2}


@pytest.mark.parametrize(
    "unit, values",
    [
        ("s", [1709287200, 1709287201]),
        ("ms", [1709287200000, 1709287201000]),
        ("us", [1709287200000000, 1709287201000000]),
        ("ns", [1709287200000000000, 1709287201000000000]),
    ],
)
def test_epoch_numbers(unit, values):
    expected_times = utc("2024-03-01 10:00:00", "2024-03-01 10:00:01")
    for conv in (lambda v: v, lambda v: np.asarray(v, dtype="int32") if unit == "s" else v,
                 lambda v: pd.array(v, dtype="Int64"), lambda v: [str(x) for x in v]):
        out = read_events(frame_with_times(conv(values)), time_unit=unit)
        assert times_of(out) == expected_times


def test_epoch_floats_keep_fractions():
    out = read_events(frame_with_times([1709287200.25, 1709287200.5]), time_unit="s")
    assert times_of(out) == utc("2024-03-01 10:00:00.25", "2024-03-01 10:00:00.5")


def test_epoch_nullable_ns_is_exact_through_arrow():
    ns = [1709287200123456789, None]
    table = pa.table({USER: [1, 2], TIME: pa.array(ns, pa.int64()), EVENT: ["a", "b"]})
    with pytest.warns(DroppedRowsWarning):
        out = read_events(table, time_unit="ns", dropna=True)
    assert out[TIME].iloc[0].value == 1709287200123456789


@pytest.mark.parametrize(
    "value, digits, unit, word",
    [
        (1709287200, 10, "s", "seconds"),
        (1709287200000, 13, "ms", "milliseconds"),
        (1709287200000000, 16, "us", "microseconds"),
        (1709287200000000000, 19, "ns", "nanoseconds"),
    ],
)
def test_epoch_without_unit_is_ambiguous(value, digits, unit, word):
    with pytest.raises(TimestampError, match=msg("Column 'timestamp' holds numbers",
                                                 f"{value} at row 0",
                                                 "unit is ambiguous", f"{digits} digits look like "
                                                 f"{word}", "2024-03-01 10:00:00",
                                                 f"Fix: pass time_unit='{unit}'")):
        read_events(frame_with_times([value, value]))


def test_epoch_out_of_range():
    with pytest.raises(TimestampError, match=msg("Column 'timestamp' has an epoch value outside",
                                                 "time_unit='s'", "10000000000000 at row 1",
                                                 "Fix: check time_unit=")):
        read_events(frame_with_times([1709287200, 10**13]), time_unit="s")
    with pytest.raises(TimestampError, match="outside"):
        read_events(frame_with_times([1709287200.0, 1e300]), time_unit="s")
    huge = ["1709287200123456789", "99999999999999999999"]
    for values in (huge, pd.Series([int(v) for v in huge], dtype=object)):
        with pytest.raises(TimestampError, match=msg("outside", "99999999999999999999",
                                                     "at row 1")):
            read_events(frame_with_times(values), time_unit="ns")


def test_time_unit_with_datetimes_is_refused():
    with pytest.raises(ParameterError, match=msg("`time_unit`='ms' applies only to epoch numbers",
                                                 "column 'timestamp' holds", "Fix: leave out")):
        read_events(frame_with_times(utc("2024-03-01")), time_unit="ms")
    with pytest.raises(ParameterError, match="date-time strings"):
        read_events(frame_with_times(["2024-03-01T00:00Z"]), time_unit="ms")


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_datetime64_resolutions_same_instants(unit):
    naive = pd.Series(pd.to_datetime(["2024-03-01 10:00:00", "2024-10-27 03:00:01"]))
    naive = naive.dt.as_unit(unit)
    out = read_events(frame_with_times(naive), tz="Europe/Madrid")
    assert times_of(out) == utc("2024-03-01 09:00:00", "2024-10-27 02:00:01")
    aware = naive.dt.tz_localize("UTC")
    assert times_of(read_events(frame_with_times(aware))) == utc("2024-03-01 10:00:00",
                                                                 "2024-10-27 03:00:01")


def test_numpy_datetime64_arrays_of_other_resolutions():
    arr = np.array(["2024-03-01T10:00:00", "2024-03-01T10:00:01"], dtype="datetime64[s]")
    out = read_events(frame_with_times(arr), tz="UTC")
    assert times_of(out) == utc("2024-03-01 10:00:00", "2024-03-01 10:00:01")


def test_out_of_ns_range_datetimes():
    far = pd.Series(np.array(["2024-03-01", "3000-01-01"], dtype="datetime64[s]"))
    with pytest.raises(TimestampError, match=msg("Column 'timestamp' has a timestamp outside",
                                                 "'3000-01-01 00:00:00' at row 1", "Fix:")):
        read_events(frame_with_times(far), tz="UTC")
    with pytest.raises(TimestampError, match=msg("outside", "'9999-12-31T00:00:00Z' at row 1",
                                                 "Fix:")):
        read_events(frame_with_times(["2024-03-01T00:00:00Z", "9999-12-31T00:00:00Z"]))


def test_object_datetimes():
    aware = pd.Series([dt.datetime(2024, 3, 1, 10, tzinfo=zoneinfo.ZoneInfo("Europe/Madrid")),
                       dt.datetime(2024, 3, 1, 9, tzinfo=dt.timezone.utc)], dtype=object)
    assert times_of(read_events(frame_with_times(aware))) == utc("2024-03-01 09:00",
                                                                  "2024-03-01 09:00")
    naive = pd.Series([dt.datetime(2024, 3, 1, 10), dt.date(2024, 3, 2)], dtype=object)
    assert times_of(read_events(frame_with_times(naive), tz="UTC")) == utc("2024-03-01 10:00",
                                                                           "2024-03-02")
    mixed = pd.Series([dt.datetime(2024, 3, 1, 10),
                       dt.datetime(2024, 3, 1, 9, tzinfo=dt.timezone.utc)], dtype=object)
    with pytest.raises(TimezoneError, match=msg("mixes timestamps with a UTC offset", "row 1",
                                                "without one", "row 0")):
        read_events(frame_with_times(mixed), tz="UTC")


def test_arrow_timestamps_and_dates():
    table = pa.table({USER: [1, 2], EVENT: ["a", "b"],
                      TIME: pa.array([1709287200, 1709287260], pa.timestamp("s", tz="Asia/Tokyo"))})
    assert times_of(read_events(table)) == utc("2024-03-01 10:00", "2024-03-01 10:01")
    table = pa.table({USER: [1, 2], EVENT: ["a", "b"],
                      TIME: pa.array([dt.date(2024, 3, 1), dt.date(2024, 3, 2)], pa.date32())})
    assert times_of(read_events(table, tz="UTC")) == utc("2024-03-01", "2024-03-02")


@pytest.mark.parametrize(
    "values, reason",
    [
        ([True, False], "holds booleans"),
        (pd.to_timedelta(["1h", "2h"]), "has dtype timedelta64"),
        (pd.period_range("2024-01", periods=2, freq="M"), "has dtype period[M]"),
    ],
)
def test_bad_timestamp_types(values, reason):
    with pytest.raises(ColumnTypeError, match=msg("Column 'timestamp' (timestamps)", reason,
                                                  "Fix:")):
        read_events(frame_with_times(values))


# --------------------------------------------------------------------------------------
# dropna across sources
# --------------------------------------------------------------------------------------


def test_dropna_from_parquet(tmp_path):
    src = pd.DataFrame({USER: pd.array([1, None, 3, 4], dtype="Int64"),
                        TIME: pd.to_datetime(["2024-03-01", "2024-03-02", None, "2024-03-04"],
                                             utc=True),
                        EVENT: ["a", "b", "c", None]})
    src.to_parquet(tmp_path / "e.parquet")
    with pytest.warns(DroppedRowsWarning, match=msg("dropped 3 of 4 rows", "null_user_id: 1",
                                                    "null_timestamp: 1", "null_event: 1")):
        out = read_events(tmp_path / "e.parquet", dropna=True)
    assert out.attrs["funnelkit_dropped"] == {"null_user_id": 1, "null_timestamp": 1,
                                              "null_event": 1}
    assert out[USER].tolist() == [1] and out[USER].dtype == np.int64


# --------------------------------------------------------------------------------------
# hypothesis: every source gives the same normalized frame
# --------------------------------------------------------------------------------------

ZONES = ["UTC", "Europe/Madrid", "America/New_York", "Asia/Kolkata"]
TEXT = st.text(alphabet="abcXYZ _-,'\"é€0123456789", min_size=1, max_size=6)


@st.composite
def event_logs(draw):
    n = draw(st.integers(1, 12))
    if draw(st.booleans()):
        users = draw(st.lists(st.integers(-(2**62), 2**62), min_size=n, max_size=n))
    else:
        users = ["u" + s for s in draw(st.lists(TEXT, min_size=n, max_size=n))]
    lo, hi = 0, 2**62  # ns since 1970 (before, some zones have offsets in seconds)
    ns = draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n))
    unit = draw(st.sampled_from(["s", "ms", "us", "ns"]))
    zone = draw(st.sampled_from(ZONES))
    ts = (pd.Series(pd.to_datetime(ns, unit="ns", utc=True)).dt.floor(
        {"s": "s", "ms": "ms", "us": "us", "ns": "ns"}[unit]).dt.as_unit(unit)
          .dt.tz_convert(zone))
    events = draw(st.lists(TEXT, min_size=n, max_size=n))
    floats = draw(st.lists(st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False,
                                                          width=64)), min_size=n, max_size=n))
    words = draw(st.lists(st.one_of(st.none(), TEXT.map(lambda s: "p" + s)), min_size=n,
                          max_size=n))
    words[0] = words[0] or "p"  # an all-missing text column reads back from CSV as float
    ints = draw(st.lists(st.integers(-(2**40), 2**40), min_size=n, max_size=n))
    return pd.DataFrame({"uid": users, "ts": ts, "name": events,
                         "f": pd.array([np.nan if v is None else v for v in floats],
                                       dtype="float64"),
                         "w": pd.Series(words, dtype=STR_DTYPE if STR_DTYPE != object else object),
                         "i": np.asarray(ints, dtype=np.int64)})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event_logs())
def test_round_trip_through_every_source(tmp_path_factory, frame):
    d = tmp_path_factory.mktemp("rt")
    ref = read_events(frame, **MAP)
    assert normalized_dtypes_ok(ref)
    assert ref[USER].astype(str).tolist() == [str(u) for u in frame["uid"]]
    assert list(ref[TIME]) == list(frame["ts"].dt.tz_convert("UTC"))
    assert ref[EVENT].astype(str).tolist() == frame["name"].tolist()
    # parquet file and directory
    frame.to_parquet(d / "e.parquet")
    assert_same(read_events(d / "e.parquet", **MAP), ref)
    (d / "dir").mkdir()
    frame.iloc[: len(frame) // 2].to_parquet(d / "dir" / "a.parquet")
    frame.iloc[len(frame) // 2:].to_parquet(d / "dir" / "b.parquet")
    assert_same(read_events(d / "dir", **MAP), ref)
    # CSV (timestamps written with their offsets)
    frame.to_csv(d / "e.csv", index=False)
    assert_same(read_events(d / "e.csv", **MAP), ref)
    # Arrow
    assert_same(read_events(pa.Table.from_pandas(frame), **MAP), ref)
    # already normalized: unchanged by a second pass
    assert_same(read_events(ref), ref)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(-9 * 10**9, 9 * 10**9),
                          st.sampled_from("abc")),
                min_size=1, max_size=20),
       st.sampled_from(["s", "ms", "us", "ns"]))
def test_epoch_property_matches_reference(rows, unit):
    users, values, events = map(list, zip(*rows))
    out = read_events(pd.DataFrame({USER: users, TIME: values, EVENT: events}), time_unit=unit)
    factor = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[unit]
    assert [t.value for t in out[TIME]] == [v * factor for v in values]
    assert out[USER].tolist() == users
    assert out[EVENT].astype(str).tolist() == events


# --------------------------------------------------------------------------------------
# exact duplicates (issue 15)
# --------------------------------------------------------------------------------------

from funnelkit.errors import DuplicateEventsWarning  # noqa: E402
from funnelkit.io import _duplicates as dup_module  # noqa: E402
from funnelkit.io.normalize import ensure_events  # noqa: E402


@st.composite
def logs_with_duplicates(draw):
    n = draw(st.integers(1, 40))
    rows = draw(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4), st.sampled_from("ab"),
                                   st.sampled_from([None, "x", "y"]), st.sampled_from([np.nan, 1.0])),
                         min_size=n, max_size=n))
    df = pd.DataFrame(rows, columns=[USER, TIME, EVENT, "p", "q"])
    df[TIME] = pd.to_datetime(df[TIME], unit="s", utc=True)
    df["r"] = pd.array(draw(st.lists(st.one_of(st.none(), st.integers(0, 1)), min_size=n, max_size=n)), dtype="Int64")
    df["c"] = pd.Categorical(draw(st.lists(st.sampled_from([None, "k", "l"]), min_size=n, max_size=n)))
    df["d"] = pd.to_datetime(draw(st.lists(st.sampled_from([None, 0, 60]), min_size=n, max_size=n)), unit="s")
    order = draw(st.sampled_from(["as drawn", "time", "user-time"]))
    if order == "time":
        df = df.sort_values(TIME, kind="stable", ignore_index=True)
    elif order == "user-time":
        df = df.sort_values([USER, TIME], kind="stable", ignore_index=True)
    return df


@settings(max_examples=60, deadline=None)
@given(logs_with_duplicates())
def test_duplicates_match_pandas_in_any_order(df):
    want = df.duplicated(keep="first").to_numpy()
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        ev = read_events(df)
    got, example = dup_module.duplicate_rows(ev)
    assert got.tolist() == np.flatnonzero(want).tolist()
    dups = [w for w in rec if issubclass(w.category, DuplicateEventsWarning)]
    assert len(dups) == (1 if want.any() else 0)
    assert ev.attrs["funnelkit_duplicates"] == int(want.sum())
    if want.any():
        i, j = example
        assert j < i and df.iloc[[i]].reset_index(drop=True).equals(df.iloc[[j]].reset_index(drop=True))
        assert f"row {i} repeats row {j}" in str(dups[0].message)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = read_events(df, dedupe=True)
    assert len(out) == len(df) - int(want.sum())
    assert out.attrs["funnelkit_dropped"] == ({"duplicate": int(want.sum())} if want.any() else {})
    assert not any(issubclass(w.category, DuplicateEventsWarning) for w in rec)
    pd.testing.assert_frame_equal(out, read_events(df[~want].reset_index(drop=True)) if want.any() else out)


def test_dedupe_and_dropna_count_separately_with_input_rows():
    df = pd.DataFrame({USER: [1, 1, None, 2, 1], TIME: pd.to_datetime(["2024-03-01"] * 5, utc=True),
                       EVENT: ["a", "b", "a", "a", "a"]})
    with pytest.warns(DroppedRowsWarning) as rec:
        out = read_events(df, dropna=True, dedupe=True)
    assert out.attrs["funnelkit_dropped"] == {"null_user_id": 1, "duplicate": 1}
    text = " ".join(str(w.message) for w in rec)
    assert "row 4 repeats row 0" in text  # positions in the caller's input, after dropna
    assert out[USER].tolist() == [1, 1, 2]


def test_ensure_events_warns_for_new_duplicates_only():
    df = pd.DataFrame({USER: [1, 1], TIME: pd.to_datetime(["2024-03-01"] * 2, utc=True), EVENT: ["a", "a"]})
    with pytest.warns(DuplicateEventsWarning):
        ev = read_events(df)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ensure_events(ev) is ev  # already announced: same count in attrs
    twice = pd.concat([ev, ev], ignore_index=True)  # attrs kept by concat, count changed
    with pytest.warns(DuplicateEventsWarning, match="3 exact duplicate rows"):
        ensure_events(twice)
    hand = ev.copy()
    hand.attrs = {}
    with pytest.warns(DuplicateEventsWarning, match="1 exact duplicate rows"):
        ensure_events(hand)


def test_unhashable_properties_are_compared_by_value():
    df = pd.DataFrame({USER: [1, 1, 1], TIME: pd.to_datetime(["2024-03-01"] * 3, utc=True), EVENT: ["a"] * 3,
                       "meta": [{"k": [1]}, {"k": [1]}, {"k": [2]}]})
    with pytest.warns(DuplicateEventsWarning, match="1 exact duplicate rows"):
        read_events(df)


# --------------------------------------------------------------------------------------
# exact integers, same labels from every source (issue 15)
# --------------------------------------------------------------------------------------


def test_integer_property_with_nulls_is_exact_and_labels_agree(tmp_path):
    import funnelkit as fk
    import polars as pl

    big = 2**60
    t = pa.table({USER: pa.array([1, 2, 3, 4], pa.int64()),
                  TIME: pa.array([0, 1, 2, 3], pa.timestamp("s", tz="UTC")),
                  EVENT: ["a", "a", "a", "a"],
                  "tier": pa.array([big + 1, None, big + 2, big + 1], pa.int64())})
    pq.write_table(t, tmp_path / "t.parquet")
    sources = {"arrow": t, "polars": pl.from_arrow(t), "parquet": str(tmp_path / "t.parquet"),
               "pandas": t.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)}
    tables = {}
    for name, src in sources.items():
        ev = read_events(src)
        assert ev["tier"].dtype == "Int64", name
        assert ev["tier"].tolist()[0] == big + 1 and ev["tier"].tolist()[2] == big + 2
        res = fk.funnel(src, ["a"], by="tier")
        tables[name] = res.breakdown[["tier", "units"]].astype({"tier": str}).values.tolist()
    assert all(v == tables["pandas"] for v in tables.values()), tables
    assert any(str(big + 1) == row[0] for row in tables["pandas"])  # '1152921504606846977', not '1.15e18'


# --------------------------------------------------------------------------------------
# CSV separators (issue 15)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_csv_separator_detected(tmp_path, sep):
    p = tmp_path / "ev.csv"
    p.write_text(sep.join([USER, TIME, EVENT, "note"]) + "\n"
                 + sep.join(["1", "2024-03-01T10:00:00Z", "view", '"a,b;c"']) + "\n")
    out = read_events(p)
    assert out[EVENT].tolist() == ["view"] and out["note"].tolist() == ["a,b;c"]
    pd.testing.assert_frame_equal(read_events(p, sep=sep), out)


def test_tsv_default_and_sep_refused_for_parquet(tmp_path):
    p = tmp_path / "ev.tsv"
    p.write_text("user_id\ttimestamp\tevent\n1\t2024-03-01T10:00:00Z\tview\n")
    assert read_events(p)[EVENT].tolist() == ["view"]
    src = tmp_path / "ev.parquet"
    read_events(p).to_parquet(src)
    with pytest.raises(ParameterError, match="applies to CSV/TSV files only"):
        read_events(src, sep=";")


def test_read_events_records_the_input_column_names():
    raw = pd.DataFrame({"uid": [2, 1], "name": ["view", "buy"], "ts": ["2024-03-01 10:00", "2024-03-01 10:05"]})
    ev = read_events(raw, user_col="uid", time_col="ts", event_col="name", tz="UTC")
    assert ev.attrs["funnelkit_columns"] == {"user_id": "uid", "timestamp": "ts", "event": "name"}
    assert list(ev.rename(columns=ev.attrs["funnelkit_columns"]).columns) == ["uid", "ts", "name"]
    assert "funnelkit_columns" not in raw.attrs


# --------------------------------------------------------------------------- log_columns


def test_log_columns_lists_what_the_reader_makes_columns_of(tmp_path):
    from funnelkit.io.columns import log_columns

    ev = pd.DataFrame({"user_id": [1, 2], "timestamp": pd.to_datetime([1, 2], unit="s", utc=True),
                       "event": ["a", "b"], "country": ["ES", "FR"]})
    assert log_columns(ev) == ["user_id", "timestamp", "event", "country"]
    ev.to_parquet(tmp_path / "f.pq")  # a .pq file
    assert log_columns(tmp_path / "f.pq") == ["user_id", "timestamp", "event", "country"]
    with_index = tmp_path / "g.parquet"
    ev.set_index(pd.Index([5, 6])).to_parquet(with_index)  # an unnamed index: __index_level_0__
    assert log_columns(with_index) == ["user_id", "timestamp", "event", "country"]
    # a directory: the reader's schema, the first file's columns with the hive partitions, then
    # those only later files have (the second file has one more)
    d = tmp_path / "dir"
    (d / "country=ES").mkdir(parents=True)
    (d / "country=FR").mkdir()
    ev.drop(columns="country").iloc[:1].to_parquet(d / "country=ES" / "a.parquet")
    ev.drop(columns="country").iloc[1:].assign(device="ios").to_parquet(d / "country=FR" / "b.parquet")
    assert log_columns(d) == ["user_id", "timestamp", "event", "country", "device"]
    assert sorted(log_columns(d)) == sorted(read_events(d).columns)  # what the reader makes of it
    # anything else: None, and the reader says what is wrong
    (tmp_path / "e.csv").write_text("user_id,timestamp,event\n1,2024-01-01T00:00:00Z,a\n")
    (tmp_path / "bad.parquet").write_text("not parquet")
    (tmp_path / "empty").mkdir()
    for other in (tmp_path / "e.csv", tmp_path / "bad.parquet", tmp_path / "missing.parquet", tmp_path / "empty",
                  12, None):
        assert log_columns(other) is None


# --------------------------------------------------------------------------- mutation audit (journey and input)


def test_datetimes_before_the_ns_range_are_refused():
    # 0001-01-01 (a placeholder) lies before 1677-09-21: TimestampError naming it and its row
    early = pd.Series(np.array(["0001-01-01", "2024-03-01"], dtype="datetime64[s]"))
    with pytest.raises(TimestampError, match=msg("Column 'timestamp' has a timestamp outside",
                                                 "'0001-01-01 00:00:00' at row 0", "Fix:")):
        read_events(frame_with_times(early), tz="UTC")


def test_minus_zero_equals_zero_in_duplicates():
    # 0.0 == -0.0: the second row repeats the first in every column (pandas' duplicated agrees)
    df = pd.DataFrame({USER: [1, 1], TIME: pd.to_datetime(["2024-03-01"] * 2, utc=True), EVENT: ["a", "a"],
                       "discount": [0.0, -0.0]})
    assert df.duplicated().tolist() == [False, True]
    with pytest.warns(DuplicateEventsWarning, match="1 exact duplicate rows.*row 1 repeats row 0"):
        read_events(df)


def test_duplicates_found_in_rows_sorted_by_user_but_not_by_time():
    # user 1's rows are not in time order (10:00, 10:05, 10:00): row 2 repeats row 0 although
    # they are not neighbours -> 1 duplicate
    df = pd.DataFrame({USER: [1, 1, 1, 2],
                       TIME: pd.to_datetime(["2024-03-01 10:00", "2024-03-01 10:05", "2024-03-01 10:00",
                                             "2024-03-01 10:00"], utc=True),
                       EVENT: ["a", "b", "a", "a"]})
    with pytest.warns(DuplicateEventsWarning, match="1 exact duplicate rows.*row 2 repeats row 0"):
        ev = read_events(df)
    assert ev.attrs["funnelkit_duplicates"] == 1


def test_tsv_header_with_as_many_commas_as_tabs_stays_tab_separated(tmp_path):
    # header: 4 tabs and 4 commas (inside two column names): a tie goes to the .tsv default, tab
    p = tmp_path / "ev.tsv"
    p.write_text("user_id\ttimestamp\tevent\tcity, region, country\tlat, lon, alt\n"
                 "1\t2024-03-01T10:00:00Z\tview\tMadrid, MD, ES\t40.4, -3.7, 650\n")
    out = read_events(p)
    assert list(out.columns) == [USER, TIME, EVENT, "city, region, country", "lat, lon, alt"]
    assert out["city, region, country"].tolist() == ["Madrid, MD, ES"]


# --------------------------------------------------------------------------- mutation audit (sessions, trends, timing)


def test_block_duplicates_compare_the_extra_columns():
    # four rows with the same unit, time and event; the extra (variant) codes 0, 1, 0, 1:
    # row 2 repeats row 0 and row 3 repeats row 1 -> 2 copies (3 without the variant)
    u = np.array([7, 7, 7, 7])
    t = np.array([5, 5, 5, 5])
    ev = np.array([0, 0, 0, 0])
    variant = np.array([0, 1, 0, 1])
    assert dup_module.count_block_duplicates(u, t, ev, (variant,)) == 2
    assert dup_module.count_block_duplicates(u, t, ev) == 3


def test_epoch_float_fractions_round_to_the_nearest_ns():
    # 1709287200123 + 2**-10 ms is exact in float64; 2**-10 ms = 976.5625 ns -> 977 ns
    out = read_events(frame_with_times([1709287200123 + 2**-10, 1709287200124.0]), time_unit="ms")
    assert out[TIME].iloc[0].value == 1709287200123 * 10**6 + 977
    assert out[TIME].iloc[1].value == 1709287200124 * 10**6


def test_epoch_before_1677_is_out_of_range():
    # -10**10 s is about 1653 (317 years before 1970): before 1677-09-21, so refused, not wrapped
    with pytest.raises(TimestampError, match=msg("has an epoch value outside", "time_unit='s'",
                                                 "-10000000000 at row 1")):
        read_events(frame_with_times([1709287200, -10**10]), time_unit="s")
