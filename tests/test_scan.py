"""Tests for funnelkit._scan: the columnar path gives exactly the general path's results.

The general path (``prepare`` on the whole normalized frame, then the kernel) is the
reference; it is forced by making the columnar path decline. Block and bucket sizes
are made tiny and threads are forced so that the split by unit range, the merge of
the buckets and the threaded scan really happen on small data.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from unittest import mock

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import funnelkit as fk
from funnelkit import _prepare, _scan
from funnelkit.errors import (
    FunnelkitWarning,
    NullValuesError,
    OverlappingRulesError,
    TimezoneError,
    UnknownEventError,
)
from test_engines import assert_same

EVENTS = ["a", "b", "c", "x", "noise"]


@contextlib.contextmanager
def tiny_blocks(bucket_rows: int = 4, block_rows: int = 3, threads: int = 3):
    """Many blocks, many buckets and a thread pool, on a few rows."""
    with mock.patch.object(_scan, "BUCKET_ROWS", bucket_rows), \
            mock.patch.object(_scan, "FRAME_BLOCK_ROWS", block_rows), \
            mock.patch.object(_scan, "THREADS_MIN_ROWS", 0), \
            mock.patch.dict(os.environ, {"FUNNELKIT_NUM_THREADS": str(threads)}):
        yield


def _decline(*args, **kwargs):
    raise _scan.NotApplicable("forced: the general path is the reference")


@contextlib.contextmanager
def general_path():
    with mock.patch.object(_scan, "funnel_units", _decline):
        yield


class Spy:
    """Records whether the columnar path produced the result."""

    def __init__(self) -> None:
        self.calls = 0
        self.attr_cols: list = []
        self.sources: list = []  # "path" or "frame": what the columnar path read
        self._real = _scan.funnel_units

    def __call__(self, *args, **kwargs):
        out = self._real(*args, **kwargs)
        self.calls += 1
        self.attr_cols.append(kwargs.get("attr_col"))
        self.sources.append("frame" if isinstance(args[0], pd.DataFrame) else "path")
        return out


@contextlib.contextmanager
def spy():
    s = Spy()
    with mock.patch.object(_scan, "funnel_units", s):
        yield s


@st.composite
def logs(draw, max_users: int = 12):
    n_users = draw(st.integers(1, max_users))
    rows = []
    for u in range(n_users):
        for _ in range(draw(st.integers(0, 7))):
            rows.append((u, draw(st.integers(0, 8)), draw(st.sampled_from(EVENTS))))
    if not rows:
        rows.append((0, 0, "a"))
    if draw(st.booleans()):  # time-ordered input (the radix branch) or any order
        rows.sort(key=lambda r: r[1])
    else:
        order = draw(st.permutations(range(len(rows))))
        rows = [rows[i] for i in order]
    kind = draw(st.sampled_from(["dense", "sparse", "string"]))
    ids = [r[0] * 3 - 5 if kind == "dense" else (r[0] * 7919 if kind == "sparse" else f"u{r[0]:02d}")
           for r in rows]
    return pd.DataFrame({
        "user_id": ids,
        "timestamp": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta([r[1] for r in rows], unit="min"),
        "event": [r[2] for r in rows],
    })


STEPS = st.sampled_from([["a", "b", "c"], ["a", "a", "b"], [["a", "b"], "c"], ["b", "a"], ["c"]])
KW = dict(
    mode=st.sampled_from(["ordered", "strict", "any_order"]),
    window=st.sampled_from(["2min", "1h", None]),
    window_from=st.sampled_from(["entry", "previous"]),
    exclude=st.booleans(),
    start=st.sampled_from([None, "2024-01-01 00:02"]),
    end=st.sampled_from([None, "2024-01-01 00:06"]),
)


def _kwargs(mode, window, window_from, exclude, start, end):
    kw = dict(mode=mode, window=window, window_from=window_from, start=start, end=end)
    if exclude and mode != "any_order":
        kw["exclude"] = [("x", 1, 2)]
    return kw


def _both(events, steps, kw, *, expect_columnar: bool = True, expect_source: str | None = None):
    """(columnar result, general result), or the same error from both.

    ``expect_source``: "path" when the Parquet reader itself must take a file, "frame"
    when it declines it and the frame read by read_events takes the columnar path.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FunnelkitWarning)
        try:
            with general_path():
                ref = fk.funnel(events, steps, **kw)
        except fk.errors.FunnelkitError as exc:
            with pytest.raises(type(exc)) as err, tiny_blocks():
                fk.funnel(events, steps, **kw)
            assert str(err.value) == str(exc)
            return None, None
        with tiny_blocks(), spy() as s:
            got = fk.funnel(events, steps, **kw)
        if expect_columnar is not None:
            assert s.calls == int(expect_columnar)
        if expect_source is not None:
            assert s.sources == [expect_source]
    return got, ref


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ev=logs(), steps=STEPS, **KW)
def test_property_frame_columnar_equals_general(ev, steps, mode, window, window_from, exclude, start, end):
    kw = _kwargs(mode, window, window_from, exclude, start, end)
    before = ev.copy()
    got, ref = _both(ev, steps, kw)
    pd.testing.assert_frame_equal(ev, before)  # the caller's frame is never modified
    if got is not None:
        assert_same(got, ref)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ev=logs(), steps=STEPS, row_group=st.integers(1, 6), **KW)
def test_property_parquet_columnar_equals_general(ev, steps, row_group, mode, window, window_from, exclude,
                                                  start, end):
    kw = _kwargs(mode, window, window_from, exclude, start, end)
    columnar = not isinstance(ev["user_id"].iloc[0], str) and ev["user_id"].nunique() * 7919 < 10**6
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ev.parquet")
        ev.to_parquet(path, row_group_size=row_group)
        dense = ev["user_id"].dtype.kind == "i" and (ev["user_id"].max() - ev["user_id"].min()) <= 4 * len(ev) + 1024
        got, ref = _both(path, steps, kw, expect_source="path" if columnar and dense else "frame")
        if got is not None:
            assert_same(got, ref)
            # and the same as reading the file first
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FunnelkitWarning)
                assert_same(got, fk.funnel(fk.read_events(path), steps, **kw))


def test_hand_made_log_many_buckets():
    # users 0..5, 2 ids per bucket: buckets {0,1} {2,3} {4,5}; known answer
    ev = pd.DataFrame({
        "user_id": [5, 0, 1, 2, 0, 5, 3, 1, 4, 0],
        "timestamp": pd.to_datetime([9, 1, 2, 3, 4, 5, 6, 7, 8, 9], unit="m", utc=True),
        "event": ["c", "a", "a", "a", "b", "a", "b", "b", "noise", "c"],
    })
    with tiny_blocks(bucket_rows=1, block_rows=4), spy() as s:
        res = fk.funnel(ev, ["a", "b", "c"], window="1h")
    assert s.calls == 1
    assert res.table["units"].tolist() == [4, 2, 1]  # a: 0 1 2 5; b after a: 0 1; c after b: 0
    assert res.units["level"].tolist() == [3, 2, 1, 0, 0, 1]
    assert res.units.index.tolist() == [0, 1, 2, 3, 4, 5]
    assert res.diagnostics["rows_in_funnel"] == 9


def test_buckets_wider_than_16_bits_and_shuffled():
    # > 65,536 units in one bucket: the two-pass radix sort; then the same rows shuffled
    rng = np.random.default_rng(3)
    n = 150_000
    user = rng.integers(0, 70_000, n)
    minute = np.sort(rng.integers(0, 500, n))
    ev = pd.DataFrame({
        "user_id": user,
        "timestamp": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(minute, unit="min"),
        "event": rng.choice(np.array(EVENTS), n),
    })
    kw = dict(window="1h")
    with general_path():
        ref = fk.funnel(ev, ["a", "b", "c"], **kw)
    with tiny_blocks(bucket_rows=n, block_rows=40_000, threads=2), spy() as s:
        got = fk.funnel(ev, ["a", "b", "c"], **kw)
        shuffled = fk.funnel(ev.sample(frac=1, random_state=1), ["a", "b", "c"], **kw)
    assert s.calls == 2
    assert_same(got, ref)
    pd.testing.assert_frame_equal(shuffled.table, ref.table)  # same ties broken by input order


@pytest.mark.parametrize("case", ["sorted", "time_sorted", "tie_positions", "wide", "unsorted"])
def test_bucket_order_matches_lexsort(case):
    rng = np.random.default_rng(0)
    n = 5_000
    n_units = 70_000 if case == "wide" else 300
    u = rng.integers(0, n_units, n)
    t = np.sort(rng.integers(0, 50, n)) if case != "unsorted" else rng.integers(0, 50, n)
    pos = rng.integers(0, 4, n).astype(np.int16)
    if case == "sorted":
        o = np.lexsort((pos, t, u))
        u, t, pos = u[o], t[o], pos[o]
    if case == "time_sorted":
        pos[:] = 0  # ties of (unit, time) never need the position
    ref = np.lexsort((pos, t, u))
    got = _scan._bucket_order(u, t, pos, n_units, 5)
    if case == "sorted":
        assert got is None
        return
    assert got is not None
    np.testing.assert_array_equal(got, ref)


def _write(path, table, **kw):
    pq.write_table(table, path, **kw)
    return path


def _base_table(n=40):
    rng = np.random.default_rng(1)
    ts = pd.Timestamp("2024-03-01", tz="UTC") + pd.to_timedelta(np.sort(rng.integers(0, 10_000, n)), unit="s")
    return {
        "user_id": rng.integers(0, 8, n),
        "timestamp": ts,
        "event": rng.choice(np.array(["a", "b", "c", "noise"]), n),
    }


@pytest.mark.parametrize("variant", ["int32_ids", "uint32_ids", "us_madrid", "plain_strings", "directory"])
def test_parquet_types_taken_columnar(tmp_path, variant):
    cols = _base_table()
    user = pa.array(cols["user_id"], pa.int64())
    ts = pa.array(cols["timestamp"]).cast(pa.timestamp("ms", tz="UTC"))
    event = pa.array(cols["event"]).dictionary_encode()
    if variant == "int32_ids":
        user = user.cast(pa.int32())
    if variant == "uint32_ids":
        user = user.cast(pa.uint32())
    if variant == "us_madrid":
        ts = ts.cast(pa.timestamp("us", tz="Europe/Madrid"))
    if variant == "plain_strings":
        event = pa.array(cols["event"], pa.large_string())
    table = pa.table({"user_id": user, "timestamp": ts, "event": event, "channel": pa.array(["x"] * len(user))})
    if variant == "directory":
        os.makedirs(tmp_path / "ds")
        _write(tmp_path / "ds" / "part-0.parquet", table.slice(0, 25), row_group_size=7)
        _write(tmp_path / "ds" / "part-1.parquet", table.slice(25), row_group_size=7)
        path = tmp_path / "ds"
    else:
        path = _write(tmp_path / "ev.parquet", table, row_group_size=9)
    src = _scan._parquet_source(path)  # does not decline
    assert src.n_rows == 40
    got, ref = _both(str(path), ["a", "b", "c"], dict(window="1h"))
    assert_same(got, ref)


@pytest.mark.parametrize("variant,error", [
    ("string_ids", None),
    ("sparse_ids", None),
    ("no_statistics", None),
    ("null_event", NullValuesError),
    ("null_user", NullValuesError),
    ("naive_times", TimezoneError),
    ("int_events", None),
])
def test_parquet_declined_goes_the_general_way(tmp_path, variant, error):
    cols = _base_table()
    user = pa.array(cols["user_id"], pa.int64())
    ts = pa.array(cols["timestamp"]).cast(pa.timestamp("ms", tz="UTC"))
    event = pa.array(cols["event"])
    kw = {}
    if variant == "string_ids":
        user = user.cast(pa.string())
    if variant == "sparse_ids":
        user = pa.array(cols["user_id"] * 10**9, pa.int64())
    if variant == "no_statistics":
        kw["write_statistics"] = False
    if variant == "null_event":
        event = pa.array([None] + list(cols["event"][1:]))
    if variant == "null_user":
        user = pa.array([None] + list(cols["user_id"][1:]), pa.int64())
    if variant == "naive_times":
        ts = ts.cast(pa.timestamp("ms"))
    if variant == "int_events":
        event = pa.array(np.arange(len(user)) % 3)
    path = _write(tmp_path / "ev.parquet", pa.table({"user_id": user, "timestamp": ts, "event": event}), **kw)
    steps = ["0", "1"] if variant == "int_events" else ["a", "b", "c"]
    if variant not in ("null_event", "null_user"):
        with pytest.raises(_scan.NotApplicable):
            src = _scan._parquet_source(path)
            src.read(0)
    if error is not None:
        with pytest.raises(error) as a:
            fk.funnel(str(path), steps)
        with pytest.raises(error) as b, general_path():
            fk.funnel(fk.read_events(str(path)), steps)
        assert str(a.value) == str(b.value)
        return
    with spy() as s:
        got = fk.funnel(str(path), steps, window="1h")
    assert s.calls == 1  # the file was declined, then read by read_events: the frame takes the path
    with general_path():
        ref = fk.funnel(fk.read_events(str(path)), steps, window="1h")
    assert_same(got, ref)


def test_typos_warnings_and_overlaps_on_parquet(tmp_path):
    cols = _base_table()
    path = str(tmp_path / "ev.parquet")
    pd.DataFrame(cols).to_parquet(path, row_group_size=10)
    with pytest.raises(UnknownEventError, match="'nosie'.*'noise'"):
        fk.funnel(path, ["a", "nosie"])
    with pytest.raises(UnknownEventError, match="'nosie'"):
        fk.funnel(path, ["a", "b"], exclude=[("nosie", "a", "b")])
    with pytest.warns(FunnelkitWarning, match="refund_requested") as rec:
        res = fk.funnel(path, ["a", "refund_requested"])
    assert rec[0].filename == __file__  # the warning points at the caller
    assert res.table["units"].tolist()[1] == 0
    # two stages selecting an event present in the data
    j = fk.Journey({"first": ["a", "b"], "second": ["b", "c"]})
    with pytest.raises(OverlappingRulesError) as a:
        fk.funnel(path, j)
    with pytest.raises(OverlappingRulesError) as b, general_path():
        fk.funnel(fk.read_events(path), j)
    assert str(a.value) == str(b.value)
    # ... and one that is not in the data (a dictionary entry no row uses) is no error
    j2 = fk.Journey({"first": ["a", "zz"], "second": ["zz", "c"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FunnelkitWarning)
        got = fk.funnel(path, j2)
        with general_path():
            ref = fk.funnel(fk.read_events(path), j2)
    assert_same(got, ref)


def test_plain_rules_only():
    spec = _prepare.resolve_steps(["a", ["b", "c"]])
    assert _scan.is_plain(spec, None)
    assert not _scan.is_plain(_prepare.resolve_steps(fk.Journey({"a": "a", "again": fk.repeat("a", 2)})), None)
    assert not _scan.is_plain(_prepare.resolve_steps(fk.Journey({"a": fk.Rule("a", where={"p": 1})})), None)
    # by= too: first touch is the first value by time
    ev = pd.DataFrame({"user_id": [1, 1], "timestamp": pd.to_datetime([2, 1], unit="m", utc=True),
                       "event": ["b", "a"], "channel": ["y", "x"]})
    with spy() as s:
        res = fk.funnel(ev, ["a", "b"], by="channel")
        last = fk.funnel(ev, ["a", "b"], by="channel", attribution="last_touch")
    assert s.attr_cols == ["channel", "channel"]
    assert res.breakdown["channel"].tolist() == ["x", "x"]
    assert last.breakdown["channel"].tolist() == ["y", "y"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ev=logs(), steps=STEPS, row_group=st.integers(1, 5), budget=st.sampled_from([1, 64, 10**9]), **KW)
def test_property_spilled_buckets_equal_general(ev, steps, row_group, budget, mode, window, window_from,
                                                exclude, start, end):
    # funnel_chunked with a memory budget: buckets go to disk beyond it and are read back
    from funnelkit import _engines

    kw = _kwargs(mode, window, window_from, exclude, start, end)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ev.parquet")
        ev.to_parquet(path, row_group_size=row_group)
        tmp = os.path.join(d, "tmp")
        os.mkdir(tmp)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FunnelkitWarning)
            try:
                with general_path():
                    ref = fk.funnel(fk.read_events(path), steps, **kw)
            except fk.errors.FunnelkitError as exc:
                with pytest.raises(type(exc)) as err:
                    _engines.funnel_chunked(path, steps, memory_budget=budget, tmp_dir=tmp, progress=False, **kw)
                assert str(err.value) == str(exc)
                return
            with tiny_blocks():
                got = _engines.funnel_chunked(path, steps, memory_budget=budget, tmp_dir=tmp, progress=False, **kw)
        assert_same(got, ref)
        assert os.listdir(tmp) == []  # temporary buckets removed


def test_spill_happens_and_is_cleaned_up(tmp_path):
    from funnelkit import _engines

    rng = np.random.default_rng(2)
    n = 5_000
    ev = pd.DataFrame({
        "user_id": rng.integers(0, 400, n),
        "timestamp": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.sort(rng.integers(0, 10**6, n)), unit="s"),
        "event": rng.choice(np.array(EVENTS), n),
    })
    path = tmp_path / "ev.parquet"
    ev.to_parquet(path, row_group_size=500)
    written = []
    real = _scan._Spill.write

    def spy_write(self, j, parts):
        written.append(sum(len(p[0]) for p in parts))
        return real(self, j, parts)

    with mock.patch.object(_scan._Spill, "write", spy_write), tiny_blocks(bucket_rows=200, block_rows=100):
        got = _engines.funnel_chunked(str(path), ["a", "b", "c"], window="1D", memory_budget=1000,
                                      tmp_dir=tmp_path, progress=False)
    assert sum(written) > 0.5 * (ev["event"].isin(["a", "b", "c"])).sum()  # most rows went to disk
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev.parquet"]
    with general_path():
        assert_same(got, fk.funnel(ev, ["a", "b", "c"], window="1D"))


def test_funnel_memory_budget_parameter(tmp_path):
    ev = pd.DataFrame(_base_table(200))
    path = str(tmp_path / "ev.parquet")
    ev.to_parquet(path, row_group_size=30)
    with tiny_blocks(bucket_rows=16, block_rows=10), spy() as s:
        got = fk.funnel(path, ["a", "b", "c"], window="1h", memory_budget=64)
    assert s.calls == 1
    with general_path():
        assert_same(got, fk.funnel(fk.read_events(path), ["a", "b", "c"], window="1h"))
    with pytest.raises(fk.errors.ParameterError, match="applies to a Parquet path"):
        fk.funnel(ev, ["a", "b"], memory_budget="1GB")
    with pytest.raises(fk.errors.ParameterError, match="memory_budget"):
        fk.funnel(path, ["a", "b"], memory_budget="lots")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ev=logs(), steps=STEPS, mode=KW["mode"], window=KW["window"])
def test_property_sessions_as_units_columnar_equals_general(ev, steps, mode, window):
    sess = fk.sessionize(ev, timeout="3min")
    got, ref = _both(sess, steps, dict(mode=mode, window=window, unit="session"))
    if got is not None:
        assert_same(got, ref)
        assert got.units.index.name == "session_id"


@st.composite
def experiment_logs(draw):
    ev = draw(logs(max_users=10))
    users = sorted(ev["user_id"].unique(), key=str)
    arm = {u: draw(st.sampled_from(["A", "B", None])) for u in users}
    noisy = {u: draw(st.booleans()) for u in users}  # some users see both arms, or gaps
    variant = []
    for i, u in enumerate(ev["user_id"]):
        v = arm[u]
        if noisy[u] and i % 3 == 0:
            v = None if v is not None else "B"
        if noisy[u] and i % 5 == 1:
            v = "A" if v == "B" else "B"
        variant.append(v)
    ev["variant"] = variant
    if not any(v == "A" for v in variant):  # the control must exist
        ev.loc[0, "variant"] = "A"
    return ev


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ev=experiment_logs(), as_file=st.booleans(), categorical=st.booleans(),
       window=st.sampled_from(["2min", None]))
def test_property_experiment_columnar_equals_general(ev, as_file, categorical, window):
    from test_engines import assert_same_experiment

    if categorical:
        ev["variant"] = ev["variant"].astype("category")
    kw = dict(variant_col="variant", control="A", window=window)
    steps = ["a", "b", "c"]
    with tempfile.TemporaryDirectory() as d:
        source = ev
        if as_file:
            source = os.path.join(d, "ev.parquet")
            ev.to_parquet(source, row_group_size=4)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                with general_path():
                    ref = fk.experiment(source, steps, **kw)
            except fk.errors.FunnelkitError as exc:  # e.g. the control arm has no user of its own
                with pytest.raises(type(exc)) as err, tiny_blocks():
                    fk.experiment(source, steps, **kw)
                assert str(err.value) == str(exc)
                return
            with tiny_blocks(), spy() as s:
                got = fk.experiment(source, steps, **kw)
    dense = not isinstance(ev["user_id"].iloc[0], str) and (
        ev["user_id"].max() - ev["user_id"].min() <= 4 * len(ev) + 1024)
    # the variant is read along with the funnel, unless the file's ids are strings (then
    # the frame is built, and its funnel alone takes the columnar path)
    assert s.attr_cols == (["variant"] if (dense or not as_file) else [None])
    assert_same_experiment(got, ref)
    pd.testing.assert_frame_equal(got.table, ref.table)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ev=experiment_logs(), budget=st.sampled_from([1, 10**9]))
def test_property_experiment_out_of_core_equals_general(ev, budget):
    from funnelkit import _engines
    from test_engines import assert_same_experiment

    kw = dict(variant_col="variant", control="A", window="2min")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ev.parquet")
        ev.to_parquet(path, row_group_size=3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                with general_path():
                    ref = fk.experiment(fk.read_events(path), ["a", "b", "c"], **kw)
            except fk.errors.FunnelkitError as exc:
                with pytest.raises(type(exc)) as err:
                    _engines.experiment_chunked(path, ["a", "b", "c"], memory_budget=budget, progress=False, **kw)
                assert str(err.value) == str(exc)
                return
            with tiny_blocks():
                got = _engines.experiment_chunked(path, ["a", "b", "c"], memory_budget=budget, progress=False,
                                                  **kw)
    assert_same_experiment(got, ref)



@st.composite
def logs_with_property(draw):
    ev = draw(logs())
    n = len(ev)
    kind = draw(st.sampled_from(["str", "int", "category"]))
    vals = [draw(st.sampled_from([None, "p", "q", "r"])) for _ in range(n)]
    if kind == "int":
        ev["channel"] = pd.array([None if v is None else ord(v) for v in vals], dtype="Int64").astype(object)
    elif kind == "category":
        ev["channel"] = pd.Categorical(vals)
    else:
        ev["channel"] = vals
    if draw(st.booleans()):  # ties: several rows of a user at one time with different values
        ev["timestamp"] = ev["timestamp"].dt.floor("4min")
    return ev


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ev=logs_with_property(), steps=STEPS, as_file=st.booleans(), mode=KW["mode"], window=KW["window"],
       attribution=st.sampled_from(["first_touch", "last_touch", "step:1", "step:2", "step:3", "step:9"]),
       max_groups=st.sampled_from([1, 25]))
def test_property_breakdown_columnar_equals_general(ev, steps, as_file, mode, window, attribution, max_groups):
    kw = dict(mode=mode, window=window, by="channel", attribution=attribution, max_groups=max_groups)
    with tempfile.TemporaryDirectory() as d:
        source = ev
        if as_file:
            if ev["channel"].dtype == object and ev["channel"].map(type).eq(int).any():
                ev = ev.assign(channel=ev["channel"].map(lambda v: None if v is None else str(v)))
            source = os.path.join(d, "ev.parquet")
            ev.to_parquet(source, row_group_size=3)
        dense = ev["user_id"].dtype.kind == "i" and (ev["user_id"].max() - ev["user_id"].min()) <= 4 * len(ev) + 1024
        got, ref = _both(source, steps, kw, expect_source="path" if (as_file and dense) else "frame")
    if got is not None:
        assert_same(got, ref)


@pytest.mark.parametrize("values", [[None] * 6, ["x", None, "y", None, "x", "y"]])
def test_breakdown_from_parquet_with_empty_or_sparse_property(tmp_path, values):
    ev = pd.DataFrame({
        "user_id": [1, 1, 2, 2, 3, 3],
        "timestamp": pd.to_datetime([0, 1, 0, 1, 0, 1], unit="m", utc=True),
        "event": ["a", "b", "a", "c", "b", "a"],
        "channel": pd.Series(values, dtype=object),
    })
    path = str(tmp_path / "ev.parquet")
    ev.to_parquet(path)
    for attribution in ("first_touch", "last_touch", "step:2"):
        got, ref = _both(path, ["a", "b"], dict(by="channel", attribution=attribution), expect_source="path")
        assert_same(got, ref)



@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ev=logs_with_property(), budget=st.sampled_from([1, 10**9]),
       attribution=st.sampled_from(["first_touch", "last_touch", "step:2"]))
def test_property_spilled_breakdown_equals_general(ev, budget, attribution):
    from funnelkit import _engines

    ev = ev.assign(channel=ev["channel"].map(lambda v: None if v is None or v is pd.NA else str(v)))
    kw = dict(window="1h", by="channel", attribution=attribution)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ev.parquet")
        ev.to_parquet(path, row_group_size=4)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FunnelkitWarning)
            with general_path():
                ref = fk.funnel(fk.read_events(path), ["a", "b", "c"], **kw)
            with tiny_blocks():
                got = _engines.funnel_chunked(path, ["a", "b", "c"], memory_budget=budget, progress=False, **kw)
    assert_same(got, ref)
