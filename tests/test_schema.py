"""Tests for funnelkit.io.normalize: the normalized event log contract (CONTRIBUTING.md)."""

from __future__ import annotations

import copy
import doctest
import re
import warnings

import numpy as np
import pandas as pd
import pytest

import funnelkit.io._names as names_module
import funnelkit.io.normalize as schema_module
from funnelkit.io._names import EVENT, TIME, TIME_DTYPE, USER
from funnelkit.io.columns import require_columns, resolve_columns
from funnelkit.io.normalize import ensure_events, normalize, normalized_dtypes_ok
from funnelkit.errors import (
    ColumnTypeError,
    DroppedRowsWarning,
    EmptyEventLogError,
    EventLogError,
    FunnelkitError,
    MissingColumnError,
    NullValuesError,
    ParameterError,
)

STR_DTYPE = pd.Index(["a"]).dtype  # "str" on pandas 3, object on pandas 2


def msg(*parts: str) -> str:
    """A regex matching the given literal parts in order."""
    return ".*".join(re.escape(p) for p in parts)


def normalized(*, str_users: bool = False) -> pd.DataFrame:
    """A normalized event log of 4 rows."""
    users = ["u1", "u0", "u1", "u2"] if str_users else [1, 0, 1, 2]
    return pd.DataFrame(
        {
            USER: pd.Categorical(users) if str_users else np.asarray(users, dtype=np.int64),
            TIME: pd.Series(pd.date_range("2024-03-01", periods=4, freq="min", tz="UTC")
                            .as_unit("ns")),
            EVENT: pd.Categorical(["view", "cart", "buy", "view"]),
            "channel": ["ads", "seo", "ads", "mail"],
        }
    )


def raw(**overrides) -> pd.DataFrame:
    base = {
        USER: [3, 1, 3, 2],
        TIME: pd.to_datetime(["2024-03-01 10:00", "2024-03-01 10:01", "2024-03-01 10:02",
                              "2024-03-01 10:03"]).tz_localize("UTC"),
        EVENT: ["view", "view", "buy", "cart"],
        "channel": ["ads", "seo", "ads", None],
    }
    base.update(overrides)
    return pd.DataFrame(base)


def assert_unchanged(before: pd.DataFrame, after: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(before, after, check_exact=True)
    pd.testing.assert_index_equal(before.index, after.index, exact=True)
    assert list(before.dtypes) == list(after.dtypes)
    assert before.attrs == after.attrs


# --------------------------------------------------------------------------------------
# constants and layout checks
# --------------------------------------------------------------------------------------


def test_canonical_names_and_dtype():
    assert (USER, TIME, EVENT) == ("user_id", "timestamp", "event")
    assert names_module.REQUIRED == (USER, TIME, EVENT)
    assert str(TIME_DTYPE) == "datetime64[ns, UTC]"


def test_doctests():
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    res = doctest.testmod(schema_module, optionflags=flags)
    assert res.failed == 0 and res.attempted > 0


@pytest.mark.parametrize("str_users", [False, True])
def test_normalized_dtypes_ok_true(str_users):
    assert normalized_dtypes_ok(normalized(str_users=str_users))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d[[TIME, USER, EVENT, "channel"]],  # order
        lambda d: d.rename(columns={USER: "uid"}),
        lambda d: d.assign(**{TIME: d[TIME].dt.as_unit("us")}),  # resolution
        lambda d: d.assign(**{TIME: d[TIME].dt.tz_convert("Europe/Madrid")}),  # zone
        lambda d: d.assign(**{TIME: d[TIME].dt.tz_localize(None)}),  # naive
        lambda d: d.assign(**{EVENT: d[EVENT].astype(str)}),  # not categorical
        lambda d: d.assign(**{EVENT: d[EVENT].cat.reorder_categories(
            sorted(d[EVENT].cat.categories, reverse=True))}),  # unsorted categories
        lambda d: d.assign(**{EVENT: d[EVENT].cat.as_ordered()}),
        lambda d: d.assign(**{USER: d[USER].astype("int32")}),
        lambda d: d.assign(**{USER: d[USER].astype("float64")}),
        lambda d: d.assign(**{USER: d[USER].astype("Int64")}),
        lambda d: pd.concat([d, d[["channel"]]], axis=1),  # duplicate column names
        lambda d: d[[USER, TIME]],
        lambda d: d.to_dict(),
    ],
)
def test_normalized_dtypes_ok_false(mutate):
    assert not normalized_dtypes_ok(mutate(normalized()))


def test_normalized_dtypes_ok_integer_categories_refused():
    df = normalized().assign(**{EVENT: pd.Categorical([1, 2, 1, 3])})
    assert not normalized_dtypes_ok(df)


# --------------------------------------------------------------------------------------
# ensure_events: fast path and normalization path
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("str_users", [False, True])
def test_ensure_events_fast_path_returns_same_object(str_users):
    df = normalized(str_users=str_users)
    assert ensure_events(df) is df
    assert ensure_events(ensure_events(df)) is df


def test_ensure_events_copy_true():
    df = normalized()
    out = ensure_events(df, copy=True)
    assert out is not df
    pd.testing.assert_frame_equal(out, df)


def test_ensure_events_fast_path_keeps_attrs():
    df = normalized()
    df.attrs["funnelkit_dropped"] = {"null_event": 2}
    assert ensure_events(df).attrs == {"funnelkit_dropped": {"null_event": 2}}


def test_ensure_events_normalizes_raw_frame():
    src = raw()
    before = copy.deepcopy(src)
    out = ensure_events(src)
    assert out is not src
    assert list(out.columns) == [USER, TIME, EVENT, "channel"]
    assert normalized_dtypes_ok(out)
    assert out[USER].tolist() == [3, 1, 3, 2]
    assert list(out[EVENT].cat.categories) == ["buy", "cart", "view"]
    assert ensure_events(out) is out
    assert_unchanged(before, src)


def test_ensure_events_filtered_frame_gets_range_index():
    df = normalized()
    sub = df[df[EVENT] != "cart"]
    out = ensure_events(sub)
    assert out is not sub
    assert isinstance(out.index, pd.RangeIndex) and out.index.start == 0
    pd.testing.assert_frame_equal(out, sub.reset_index(drop=True).assign(
        **{EVENT: sub[EVENT].cat.remove_unused_categories().reset_index(drop=True)}))


def test_ensure_events_reorders_columns():
    df = normalized()
    out = ensure_events(df[["channel", EVENT, TIME, USER]])
    pd.testing.assert_frame_equal(out, df)


def test_ensure_events_fixes_resolution_and_zone():
    df = normalized()
    odd = df.assign(**{TIME: df[TIME].dt.tz_convert("Asia/Kolkata").dt.as_unit("ms")})
    pd.testing.assert_frame_equal(ensure_events(odd), df)


def test_ensure_events_nulls_in_normalized_dtypes():
    df = normalized()
    ts = df[TIME].copy()
    ts.iloc[2] = pd.NaT
    with pytest.raises(NullValuesError, match=msg("Column 'timestamp'", "1 missing", "row 2",
                                                  "Fix:", "dropna=True")):
        ensure_events(df.assign(**{TIME: ts}))
    ev = df[EVENT].copy()
    ev.iloc[1] = np.nan
    with pytest.raises(NullValuesError, match=msg("Column 'event'", "row 1", "dropna=True")):
        ensure_events(df.assign(**{EVENT: ev}))


def test_ensure_events_empty():
    with pytest.raises(EmptyEventLogError, match="no rows"):
        ensure_events(normalized().iloc[:0])
    with pytest.raises(EmptyEventLogError, match="empty"):
        ensure_events(pd.DataFrame())


def test_ensure_events_missing_canonical_columns_mentions_mapping():
    df = raw().rename(columns={TIME: "ts"})
    with pytest.raises(MissingColumnError, match=msg("Column 'timestamp'", "closest match: 'ts'",
                                                     "Available columns", "Fix:",
                                                     "time_col='ts'")):
        ensure_events(df)


def test_ensure_events_accepts_arrow_and_paths(tmp_path):
    pa = pytest.importorskip("pyarrow")
    df = normalized()
    pd.testing.assert_frame_equal(ensure_events(pa.table(df)), df)
    df.to_parquet(tmp_path / "e.parquet")
    pd.testing.assert_frame_equal(ensure_events(tmp_path / "e.parquet"), df)
    pd.testing.assert_frame_equal(ensure_events(str(tmp_path / "e.parquet")), df)


def test_ensure_events_rejects_non_frames():
    with pytest.raises(ColumnTypeError, match="accepts a pandas DataFrame"):
        ensure_events([1, 2, 3])


# --------------------------------------------------------------------------------------
# the caller's object is never modified
# --------------------------------------------------------------------------------------


def test_caller_frame_unchanged_including_index_dtypes_and_attrs():
    src = raw(**{TIME: ["2024-03-01 10:00", "2024-03-01 10:01", "", "2024-03-01 10:03"],
                 USER: [3.0, np.nan, 3.0, 2.0]})
    src.index = pd.Index([10, 11, 12, 13], name="row")
    src.attrs["source"] = {"note": "x"}
    before = copy.deepcopy(src)
    with pytest.warns(DroppedRowsWarning):
        out = normalize(src, tz="Europe/Madrid", dropna=True)
    assert_unchanged(before, src)
    # writing into the result later must not reach the caller's frame either
    out.loc[0, "channel"] = "changed"
    out.attrs["source"]["note"] = "changed"
    assert_unchanged(before, src)


def test_output_does_not_share_writes_with_input_properties():
    src = raw()
    before = copy.deepcopy(src)
    out = normalize(src)
    out.iloc[0, out.columns.get_loc("channel")] = "zzz"
    assert_unchanged(before, src)


# --------------------------------------------------------------------------------------
# row order, index and properties
# --------------------------------------------------------------------------------------


def test_row_order_kept_and_index_reset():
    src = raw()
    src.index = [7, 3, 3, 1]  # duplicated, unsorted labels
    out = normalize(src)
    assert isinstance(out.index, pd.RangeIndex) and list(out.index) == [0, 1, 2, 3]
    assert out[USER].tolist() == [3, 1, 3, 2]
    assert out[EVENT].astype(str).tolist() == ["view", "view", "buy", "cart"]
    assert out["channel"].tolist()[:3] == ["ads", "seo", "ads"]


def test_properties_kept_as_given():
    src = raw(num=pd.array([1, None, 3, 4], dtype="Int64"), flag=[True, False, True, True],
              when=pd.date_range("2024-01-01", periods=4))
    out = normalize(src)
    assert list(out.columns) == [USER, TIME, EVENT, "channel", "num", "flag", "when"]
    for c in ["channel", "num", "flag", "when"]:
        assert out[c].dtype == src[c].dtype
        pd.testing.assert_series_equal(out[c], src[c].reset_index(drop=True))


def test_columns_param_selects_and_orders_properties():
    src = raw(device=["m", "d", "m", "d"])
    out = normalize(src, columns=["device", "channel"])
    assert list(out.columns) == [USER, TIME, EVENT, "device", "channel"]
    assert list(normalize(src, columns=[]).columns) == [USER, TIME, EVENT]
    # a required column listed in columns= is simply kept once
    assert list(normalize(src, columns=[EVENT, "device"]).columns) == [USER, TIME, EVENT, "device"]


def test_mapping_renames_and_puts_required_first():
    src = pd.DataFrame({"channel": ["a"], "name": ["view"], "uid": [5],
                        "ts": pd.to_datetime(["2024-03-01"], utc=True)})
    out = normalize(src, user_col="uid", time_col="ts", event_col="name")
    assert list(out.columns) == [USER, TIME, EVENT, "channel"]


def test_non_string_property_names():
    src = raw()
    src[0] = [1, 2, 3, 4]
    out = normalize(src)
    assert list(out.columns)[-1] == 0


# --------------------------------------------------------------------------------------
# column mapping problems
# --------------------------------------------------------------------------------------


def test_missing_column_lists_available_and_suggests():
    src = raw().rename(columns={USER: "uid", TIME: "time_stamp"})
    with pytest.raises(MissingColumnError) as exc:
        normalize(src)
    text = str(exc.value)
    assert "Column 'user_id' (user ids, the default user_col=)" in text
    assert "closest match: 'uid'" in text and "closest match: 'time_stamp'" in text
    assert "Available columns: 'uid', 'time_stamp', 'event', 'channel'" in text
    assert "Fix: pass user_col='uid', time_col='time_stamp'" in text
    assert "df.rename(columns={'uid': 'user_id', 'time_stamp': 'timestamp'})" in text


def test_missing_column_alias_suggestion():
    src = pd.DataFrame({"customer_id": [1], "created_at": ["2024-01-01T00:00Z"], "action": ["x"]})
    with pytest.raises(MissingColumnError, match=msg("user_col='customer_id'",
                                                     "time_col='created_at'",
                                                     "event_col='action'")):
        normalize(src)


def test_missing_column_without_suggestion():
    src = raw().rename(columns={TIME: "moment"})
    with pytest.raises(MissingColumnError, match=msg("Column 'zzz' (timestamps, time_col='zzz')",
                                                     "not in the event log.",
                                                     "Fix: pass time_col='<column>'")):
        normalize(src, time_col="zzz")


def test_missing_column_that_is_the_index():
    src = raw().set_index(USER)
    with pytest.raises(MissingColumnError, match=msg("Column 'user_id'", "is the index",
                                                     "Fix: call df.reset_index() first")):
        normalize(src)


def test_missing_property_in_columns_param():
    with pytest.raises(MissingColumnError, match=msg("Column 'chanel' (listed in columns=)",
                                                     "closest match: 'channel'", "Fix:")):
        normalize(raw(), columns=["chanel"])


def test_duplicate_after_mapping():
    src = raw().rename(columns={TIME: "ts"}).assign(timestamp="2024-01-01")
    with pytest.raises(EventLogError, match=msg("Column 'ts' is mapped to 'timestamp'",
                                                "already has another column named 'timestamp'",
                                                "Fix:", "df.drop(columns='timestamp')")):
        normalize(src, time_col="ts")
    # leaving the other column out with columns= is fine
    out = normalize(src, time_col="ts", columns=["channel"])
    assert list(out.columns) == [USER, TIME, EVENT, "channel"]
    # listing that other column in columns= asks for it: the same collision, not a silent drop
    with pytest.raises(EventLogError, match="already has another column named 'timestamp'"):
        normalize(src, time_col="ts", columns=["channel", "timestamp"])
    # the required names of an unmapped log in columns= are those columns
    out = normalize(raw(), columns=[USER, TIME, EVENT, "channel"])
    assert list(out.columns) == [USER, TIME, EVENT, "channel"]


def test_duplicate_column_names_in_input():
    src = pd.concat([raw(), raw()[[EVENT]]], axis=1)
    with pytest.raises(EventLogError, match=msg("Column 'event' appears 2 times", "Fix:")):
        normalize(src)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(user_col="x", event_col="x"), "`user_col` and `event_col` both name column 'x'"),
        (dict(time_col=None), "`time_col` must be the name of one column"),
        (dict(user_col=["a", "b"]), "`user_col` must be the name of one column"),
        (dict(columns="channel"), "`columns` must be a list"),
        (dict(columns=["channel", "channel"]), "lists 'channel' twice"),
        (dict(tz="Europe/Madird"), "Did you mean 'Europe/Madrid'"),
        (dict(tz=5), "`tz` must be an IANA time-zone name"),
        (dict(time_unit="sec"), "`time_unit`='sec' is not valid"),
        (dict(dropna="yes"), "`dropna` must be True or False"),
    ],
)
def test_parameter_errors(kwargs, pattern):
    with pytest.raises(ParameterError, match=re.escape(pattern)):
        normalize(raw(), **kwargs)


def test_resolve_columns_returns_mapping_and_properties():
    src, props = resolve_columns(["a", "uid", "b", "ts", "ev"], user_col="uid", time_col="ts",
                                 event_col="ev")
    assert src == {USER: "uid", TIME: "ts", EVENT: "ev"}
    assert props == ["a", "b"]


# --------------------------------------------------------------------------------------
# require_columns
# --------------------------------------------------------------------------------------


def test_require_columns_ok_and_missing():
    df = normalized()
    assert require_columns(df, "channel", purpose="by='channel'") is None
    assert require_columns(df, ["channel", USER], purpose="x") is None
    with pytest.raises(MissingColumnError, match=msg("Column 'chanel' (needed for by='chanel')",
                                                     "closest match: 'channel'",
                                                     "Available columns", "Fix:")):
        require_columns(df, "chanel", purpose="by='chanel'")
    with pytest.raises(MissingColumnError, match=msg("Column 'variant' (needed for "
                                                     "variant_col='variant')", "Fix:")):
        require_columns(df, ["channel", "variant"], purpose="variant_col='variant'")


# --------------------------------------------------------------------------------------
# user ids
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8", "uint32",
                                   "uint64", "Int32", "Int64", "UInt16", "float32", "float64"])
def test_integer_like_user_ids_become_int64(dtype):
    out = normalize(raw(**{USER: pd.array([3, 1, 3, 2], dtype=dtype)}))
    assert out[USER].dtype == np.int64
    assert out[USER].tolist() == [3, 1, 3, 2]


def test_large_int64_ids_exact():
    big = [2**62 + 1, -(2**62) - 3, 2**62 + 1, 0]
    out = normalize(raw(**{USER: big}))
    assert out[USER].tolist() == big


def test_uint64_beyond_int64_become_strings():
    ids = np.array([2**64 - 1, 1, 2**64 - 1, 2], dtype=np.uint64)
    out = normalize(raw(**{USER: ids}))
    assert isinstance(out[USER].dtype, pd.CategoricalDtype)
    assert out[USER].astype(str).tolist() == [str(2**64 - 1), "1", str(2**64 - 1), "2"]
    assert normalized_dtypes_ok(out)


def test_float_ids_with_nulls_dropped_become_int64():
    with pytest.warns(DroppedRowsWarning):
        out = normalize(raw(**{USER: [3.0, np.nan, 3.0, 2.0]}), dropna=True)
    assert out[USER].dtype == np.int64 and out[USER].tolist() == [3, 3, 2]


@pytest.mark.parametrize(
    "ids, reason, shown, row",
    [
        ([3.0, 1.5, 3.0, 2.0], "not whole numbers", "1.5", 1),
        ([3.0, 1.0, 2.0**60, 2.0], "not whole numbers within +-2**53", "1.152921504606847e+18", 2),
        ([3.0, np.inf, 1.0, 2.0], "non-finite", "inf", 1),
    ],
)
def test_float_ids_refused(ids, reason, shown, row):
    with pytest.raises(ColumnTypeError, match=msg("Column 'user_id' (user ids)", reason, shown,
                                                  f"row {row}", "Fix:", "astype(str)")):
        normalize(raw(**{USER: ids}))


def test_string_ids_categorical_sorted():
    out = normalize(raw(**{USER: ["u3", "u10", "u3", "u2"]}))
    assert isinstance(out[USER].dtype, pd.CategoricalDtype)
    assert list(out[USER].cat.categories) == ["u10", "u2", "u3"]
    assert out[USER].cat.categories.dtype == STR_DTYPE
    assert out[USER].astype(str).tolist() == ["u3", "u10", "u3", "u2"]


def test_numeric_looking_string_ids_stay_strings():
    out = normalize(raw(**{USER: ["007", "1", "007", "2"]}))
    assert isinstance(out[USER].dtype, pd.CategoricalDtype)
    assert out[USER].astype(str).tolist() == ["007", "1", "007", "2"]


def test_object_integer_ids():
    out = normalize(raw(**{USER: pd.Series([3, 1, 3, 2], dtype=object)}))
    assert out[USER].dtype == np.int64


def test_categorical_ids():
    out = normalize(raw(**{USER: pd.Categorical([30, 10, 30, 20])}))
    assert out[USER].dtype == np.int64 and out[USER].tolist() == [30, 10, 30, 20]
    cat = pd.Categorical(["b", "a", "b", "c"], categories=["c", "b", "a", "zzz"])
    out = normalize(raw(**{USER: cat}))
    assert list(out[USER].cat.categories) == ["a", "b", "c"]  # sorted, unused dropped
    assert out[USER].astype(str).tolist() == ["b", "a", "b", "c"]


@pytest.mark.parametrize(
    "ids, reason",
    [
        ([True, False, True, True], "holds booleans"),
        (pd.Series([1, "a", 1, "b"], dtype=object), "mixes values of different types"),
        (pd.to_datetime(["2024-01-01"] * 4), "has dtype datetime64"),
    ],
)
def test_bad_user_id_types(ids, reason):
    with pytest.raises(ColumnTypeError, match=msg("Column 'user_id' (user ids)", reason,
                                                  "Fix: user ids must be integers or strings")):
        normalize(raw(**{USER: ids}))


# --------------------------------------------------------------------------------------
# events
# --------------------------------------------------------------------------------------


def test_events_categorical_sorted_strings():
    out = normalize(raw(**{EVENT: ["view", "Buy", "view", "cart"]}))
    assert list(out[EVENT].cat.categories) == ["Buy", "cart", "view"]  # code point order
    assert out[EVENT].cat.categories.dtype == STR_DTYPE
    assert not out[EVENT].cat.ordered


def test_event_codes_become_text():
    out = normalize(raw(**{EVENT: [10, 2, 10, 1]}))
    assert list(out[EVENT].cat.categories) == ["1", "10", "2"]
    assert out[EVENT].astype(str).tolist() == ["10", "2", "10", "1"]
    out = normalize(raw(**{EVENT: [10.0, 2.0, 10.0, 1.0]}))
    assert out[EVENT].astype(str).tolist() == ["10", "2", "10", "1"]
    out = normalize(raw(**{EVENT: pd.Categorical([3, 1, 3, 1])}))
    assert out[EVENT].astype(str).tolist() == ["3", "1", "3", "1"]


def test_event_categorical_unused_and_ordered():
    cat = pd.Categorical(["b", "a", "b", "a"], categories=["z", "b", "a"], ordered=True)
    out = normalize(raw(**{EVENT: cat}))
    assert list(out[EVENT].cat.categories) == ["a", "b"] and not out[EVENT].cat.ordered


def test_event_empty_string_is_a_value():
    out = normalize(raw(**{EVENT: ["", "a", "", "b"]}))
    assert list(out[EVENT].cat.categories) == ["", "a", "b"]


@pytest.mark.parametrize(
    "events, reason, shown, row",
    [
        ([1.0, 2.5, 1.0, 1.0], "not whole numbers", "2.5", 1),
        ([True, False, True, True], "holds booleans", "True", 0),
        (pd.Series(["a", 1, "a", "b"], dtype=object), "mixes values", "1", 1),
        (pd.Categorical(["a", 1, "a", "b"]), "mixes values", "1", 1),
    ],
)
def test_bad_event_types(events, reason, shown, row):
    with pytest.raises(ColumnTypeError, match=msg("Column 'event' (events)", reason, shown,
                                                  f"row {row}", "Fix: events must be strings")):
        normalize(raw(**{EVENT: events}))


# --------------------------------------------------------------------------------------
# missing values and dropna
# --------------------------------------------------------------------------------------


def nully() -> pd.DataFrame:
    return pd.DataFrame(
        {
            USER: [1.0, np.nan, 2.0, np.nan, 3.0, 4.0, 5.0],
            TIME: ["2024-03-01T10:00Z", "2024-03-01T10:01Z", None, None, "  ",
                   "2024-03-01T10:05Z", "2024-03-01T10:06Z"],
            EVENT: ["a", "b", "c", None, None, None, "g"],
            "p": list("ABCDEFG"),
        }
    )


def test_nulls_raise_with_counts_rows_and_fix():
    with pytest.raises(NullValuesError) as exc:
        normalize(nully())
    text = str(exc.value)
    assert "Column 'user_id' (user ids) has 2 missing values (first at row 1)" in text
    assert "column 'timestamp' (timestamps) has 3 missing or blank values (first at row 2)" in text
    assert "column 'event' (events) has 3 missing values (first at row 3)" in text
    assert "Fix: pass dropna=True" in text


def test_dropna_accounting_first_null_column():
    src = nully()
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = normalize(src, dropna=True)
    # rows: 1 user(+nothing), 2 time, 3 user(+time+event), 4 time(blank)+event, 5 event
    assert out.attrs["funnelkit_dropped"] == {"null_user_id": 2, "null_timestamp": 2,
                                              "null_event": 1}
    assert out["p"].tolist() == ["A", "G"]
    assert out[USER].tolist() == [1, 5]
    assert isinstance(out.index, pd.RangeIndex)
    dropped = [w for w in rec if issubclass(w.category, DroppedRowsWarning)]
    assert len(dropped) == 1
    text = str(dropped[0].message)
    assert "dropped 5 of 7 rows" in text
    assert "null_user_id: 2, null_timestamp: 2, null_event: 1" in text
    assert dropped[0].filename == __file__  # points at the caller


def test_dropna_without_nulls_records_empty_and_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = normalize(raw(), dropna=True)
    assert out.attrs["funnelkit_dropped"] == {}


def test_dropna_merges_previous_counts():
    src = nully()
    src.attrs["funnelkit_dropped"] = {"null_event": 4}
    with pytest.warns(DroppedRowsWarning):
        out = normalize(src, dropna=True)
    assert out.attrs["funnelkit_dropped"] == {"null_event": 5, "null_user_id": 2,
                                              "null_timestamp": 2}
    assert src.attrs["funnelkit_dropped"] == {"null_event": 4}


def test_dropna_everything_is_empty_error():
    src = pd.DataFrame({USER: [None, 1], TIME: ["2024-01-01T00:00Z", None], EVENT: ["a", "b"]})
    with pytest.raises(EmptyEventLogError, match=msg("no rows left", "dropped all 2 rows",
                                                     "null_user_id: 1", "null_timestamp: 1",
                                                     "Fix:")):
        normalize(src, dropna=True)


def test_error_rows_refer_to_input_positions_after_dropna():
    src = pd.DataFrame({USER: [None, 1, 2], TIME: ["2024-01-01T00:00Z", "2024-01-01T00:00Z",
                                                   "garbage"], EVENT: ["a", "b", "c"]})
    with pytest.raises(FunnelkitError, match=msg("'garbage' at row 2")):
        normalize(src, dropna=True)


@pytest.mark.parametrize("dtype", ["string", "string[pyarrow]", "object", str])
def test_string_dtypes_for_users_and_events(dtype):
    if dtype == "string[pyarrow]":
        pytest.importorskip("pyarrow")
    src = raw(**{USER: pd.array(["b", "a", "b", "c"], dtype=dtype),
                 EVENT: pd.array(["y", "x", "y", "x"], dtype=dtype)})
    out = normalize(src)
    assert normalized_dtypes_ok(out)
    assert list(out[USER].cat.categories) == ["a", "b", "c"]
    assert out[EVENT].astype(str).tolist() == ["y", "x", "y", "x"]
    cat = normalize(src.astype({USER: "category", EVENT: "category"}))
    pd.testing.assert_frame_equal(cat, out)


def test_pyarrow_backed_columns():
    pytest.importorskip("pyarrow")
    src = raw(channel=["a", "b", "c", "d"]).convert_dtypes(dtype_backend="pyarrow")
    out = normalize(src)
    assert normalized_dtypes_ok(out)
    assert out[USER].tolist() == [3, 1, 3, 2]
    pd.testing.assert_series_equal(out[TIME], normalize(raw())[TIME])


# --------------------------------------------------------------------------- mutation audit (journey and input)


def test_uint64_ids_up_to_the_int64_maximum_stay_integers():
    # 2**63 - 1 fits int64: only ids above it become strings -> int64 [2**63 - 1, 1, 2**63 - 1, 2]
    ids = np.array([2**63 - 1, 1, 2**63 - 1, 2], dtype=np.uint64)
    out = normalize(raw(**{USER: ids}))
    assert out[USER].dtype == np.int64 and out[USER].tolist() == [2**63 - 1, 1, 2**63 - 1, 2]


def test_null_markers_in_timestamps_are_missing_values():
    # 'null', 'None' and ' NaT ' (stripped, any case) are missing timestamps, not unparseable
    # text: 3 missing values, the first at row 1
    times = ["2024-03-01T10:00:00Z", "null", "None", " NaT "]
    with pytest.raises(NullValuesError, match=msg("3 missing or blank values (first at row 1)")):
        normalize(raw(**{TIME: times}))


def test_dedupe_leaves_a_zero_duplicate_count_so_new_copies_are_announced():
    from funnelkit.errors import DuplicateEventsWarning

    # rows 0 and 1 are equal; dedupe drops row 1: the frame then holds 0 duplicates, and its
    # attrs say so. A frame of its first row twice holds 1 duplicate, a new count: announced
    df = pd.DataFrame({USER: [1, 1, 2], TIME: pd.to_datetime(["2024-03-01"] * 3, utc=True), EVENT: ["a", "a", "a"]})
    with pytest.warns(DroppedRowsWarning):
        ev = normalize(df, dedupe=True)
    assert ev.attrs["funnelkit_duplicates"] == 0 and ev.attrs["funnelkit_dropped"] == {"duplicate": 1}
    twice = ev.iloc[[0, 0]].reset_index(drop=True)
    with pytest.warns(DuplicateEventsWarning, match="1 exact duplicate rows"):
        ensure_events(twice)
