"""Tests for funnelkit._engines: chunked Parquet and Dask engines equal the in-memory path.

Every comparison is exact (``assert_frame_equal`` on table, units, breakdown and
censored; equality of diagnostics and params), with a forced, small number of parts
so that the split and the merge really happen.
"""

from __future__ import annotations

import os
import tempfile
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import funnelkit as fk
from funnelkit import _engines
from funnelkit.errors import (
    DroppedRowsWarning,
    FunnelkitWarning,
    MissingColumnError,
    NullValuesError,
    ParameterError,
    UnknownEventError,
)

STEPS = ["landing", "product_view", "add_to_cart", "purchase"]


# --------------------------------------------------------------------------- helpers


def assert_same(a, b):
    """Two FunnelResults are identical (tables, per-unit frame, breakdown, censoring, diagnostics)."""
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.units, b.units)
    assert (a.breakdown is None) == (b.breakdown is None)
    if a.breakdown is not None:
        pd.testing.assert_frame_equal(a.breakdown, b.breakdown)
    assert (a.censored is None) == (b.censored is None)
    if a.censored is not None:
        pd.testing.assert_frame_equal(a.censored, b.censored)
    assert a.diagnostics == b.diagnostics
    assert list(a.diagnostics["rows_dropped_on_read"]) == list(b.diagnostics["rows_dropped_on_read"])
    assert a.params == b.params
    assert a.steps == b.steps and a.labels == b.labels
    assert a.journey == b.journey


def assert_same_experiment(a, b):
    for name in ("table", "health", "timing", "power", "exposure"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.diagnostics == b.diagnostics
    assert a.params == b.params
    np.testing.assert_array_equal(a.srm.observed, b.srm.observed)
    assert np.isclose(a.srm.chi2, b.srm.chi2, equal_nan=True) and a.srm.flagged == b.srm.flagged
    assert a.funnels.keys() == b.funnels.keys()
    for k in a.funnels:
        pd.testing.assert_frame_equal(a.funnels[k].table, b.funnels[k].table)
        pd.testing.assert_frame_equal(a.funnels[k].units, b.funnels[k].units)


def chunked(path, steps, **kw):
    kw.setdefault("partitions", 7)
    kw.setdefault("progress", False)
    return _engines.funnel_chunked(path, steps, **kw)


# --------------------------------------------------------------------------- data


@pytest.fixture(scope="module")
def shop():
    return fk.datasets.make_shop(n_users=2000, seed=3)


@pytest.fixture(scope="module")
def shop_file(shop, tmp_path_factory):
    path = tmp_path_factory.mktemp("shop") / "shop.parquet"
    shop.to_parquet(path)
    return path


@pytest.fixture(scope="module")
def shop_dir(shop, tmp_path_factory):
    """Four files of consecutive rows (users span files), one of them in a subdirectory."""
    root = tmp_path_factory.mktemp("shopdir")
    (root / "more").mkdir()
    bounds = np.linspace(0, len(shop), 5).astype(int)
    for i in range(4):
        sub = root / "more" if i == 3 else root
        shop.iloc[bounds[i]:bounds[i + 1]].to_parquet(sub / f"part-{i}.parquet")
    return root


@pytest.fixture(scope="module")
def shop_mem(shop_file):
    return fk.read_events(shop_file)


# --------------------------------------------------------------------------- chunked == memory

CASES = [
    dict(),
    dict(by="channel"),
    dict(by="channel", attribution="last_touch", max_groups=3),
    dict(by="device", attribution="step:2"),
    dict(mode="strict"),
    dict(mode="any_order", window="1D", by="channel"),
    dict(window_from="previous", window="1h"),
    dict(window=None),
    dict(start="2026-03-10", end="2026-04-01"),
    dict(lang="es"),
]


@pytest.mark.parametrize("kw", CASES, ids=[str(c) for c in CASES])
def test_chunked_file_equals_memory_journey(shop_file, shop_mem, kw):
    journey = fk.datasets.shop_journey()  # after() and repeat() rules: order-dependent stages
    assert_same(fk.funnel(shop_mem, journey, **kw), chunked(shop_file, journey, **kw))


@pytest.mark.parametrize(
    "kw",
    [dict(window="1D"), dict(exclude=[("search", 2, 4)]),
     dict(mode="strict", exclude=[("page_view", "landing", "product_view")], by="channel")],
)
def test_chunked_file_equals_memory_steps_and_exclusions(shop_file, shop_mem, kw):
    a = fk.funnel(shop_mem, STEPS, **kw)
    b = chunked(shop_file, STEPS, partitions=3, **kw)
    assert_same(a, b)
    if "exclude" in kw:
        assert a.diagnostics["units_excluded"] > 0


@pytest.mark.parametrize("kw", [dict(), dict(by="channel", mode="strict")])
def test_chunked_directory_equals_memory(shop_dir, kw):
    journey = fk.datasets.shop_journey()
    mem = fk.read_events(shop_dir)
    assert_same(fk.funnel(mem, journey, **kw), chunked(shop_dir, journey, batch_rows=997, **kw))


def test_one_part_and_default_partitions(shop_file, shop_mem):
    a = fk.funnel(shop_mem, STEPS)
    assert_same(a, chunked(shop_file, STEPS, partitions=1))
    assert_same(a, _engines.funnel_chunked(shop_file, STEPS, progress=False))  # P from the budget
    assert_same(a, chunked(shop_file, STEPS, partitions=50, batch_rows=1000))  # many empty-ish parts


def test_sessions(shop, tmp_path):
    ev = fk.sessionize(shop, timeout="30min")
    path = tmp_path / "sessions.parquet"
    ev.to_parquet(path)
    mem = fk.read_events(path)
    for kw in (dict(unit="session", window="1h"), dict(unit="session", by="channel", mode="strict")):
        assert_same(fk.funnel(mem, STEPS, **kw), chunked(path, STEPS, **kw))


def test_sessions_need_a_column(shop_file):
    with pytest.raises(MissingColumnError, match="sessionize"):
        chunked(shop_file, STEPS, unit="session")


def test_ties_string_ids_and_column_mapping(tmp_path):
    """Equal timestamps: input row order breaks ties, in every part."""
    t = pd.Timestamp("2024-05-01 10:00")
    raw = pd.DataFrame({
        "uid": ["b", "a", "a", "b", "c", "a", "c", "c", "b", "a"],
        "when": [t, t, t, t, t, t + pd.Timedelta("1min"), t, t, t, t + pd.Timedelta("1min")],
        "what": ["y", "y", "x", "x", "x", "z", "z", "y", "z", "z"],
        "src": ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10"],
    })
    path = tmp_path / "ties.parquet"
    raw.to_parquet(path)
    kw = dict(user_col="uid", time_col="when", event_col="what", tz="Europe/Madrid")
    mem = fk.read_events(path, **kw)
    for fkw in (dict(by="src", attribution="step:1"), dict(by="src", attribution="last_touch", mode="strict"),
                dict(mode="any_order", by="src")):
        a = fk.funnel(mem, ["x", "y", "z"], **fkw)
        b = chunked(path, ["x", "y", "z"], partitions=2, **kw, **fkw)
        assert_same(a, b)
    # user a: x then y at the same instant, z a minute later: all three steps
    assert a.units.loc["a", "level"] == 3


def test_property_dtypes_follow_the_whole_file(tmp_path):
    """An int column with nulls is float64 in memory, also in parts that have no null."""
    n = 400
    rng = np.random.default_rng(1)
    user = rng.integers(0, 60, n)
    tier = pa.array([None if u == 7 else int(u % 3) for u in user], type=pa.int64())
    flag = pa.array([None if u == 8 else bool(u % 2) for u in user], type=pa.bool_())
    table = pa.table({
        "user_id": pa.array(user, type=pa.int64()),
        "timestamp": pa.array(pd.Timestamp("2024-01-01", tz="UTC").value + rng.integers(0, 10**12, n) * 1000,
                              type=pa.timestamp("ns", tz="UTC")),
        "event": pa.array(rng.choice(["a", "b", "c"], n)),
        "tier": tier,
        "flag": flag,
    })
    path = tmp_path / "nulls.parquet"
    pq.write_table(table, path)  # no pandas metadata: dtypes come from Arrow and the nulls
    mem = fk.read_events(path)
    assert mem["tier"].dtype == np.float64
    for by in ("tier", "flag"):
        a = fk.funnel(mem, ["a", "b", "c"], by=by)
        b = chunked(path, ["a", "b", "c"], by=by, partitions=6)
        assert_same(a, b)
        assert b.breakdown[by].str.contains(r"\.0|True|False|missing").all()


def test_uint64_ids_beyond_int64_become_strings_everywhere(tmp_path):
    rng = np.random.default_rng(0)
    n = 600
    u = rng.integers(0, 50, n).astype(np.uint64)
    u[u == 3] = np.uint64(2**63 + 5)  # one id beyond int64: the whole column is text in memory
    table = pa.table({
        "user_id": pa.array(u, pa.uint64()),
        "timestamp": pa.array(rng.integers(0, 10**6, n) * 10**9, pa.timestamp("ns", tz="UTC")),
        "event": pa.array(rng.choice(["a", "b"], n)),
    })
    path = tmp_path / "u64.parquet"
    pq.write_table(table, path)
    mem = fk.read_events(path)
    assert isinstance(mem["user_id"].dtype, pd.CategoricalDtype)
    assert_same(fk.funnel(mem, ["a", "b"]), chunked(path, ["a", "b"], partitions=3, batch_rows=100))


def test_dropna_counts_and_one_warning(tmp_path):
    rng = np.random.default_rng(2)
    n = 3000
    raw = pd.DataFrame({
        "user_id": pd.array(rng.integers(0, 200, n), dtype="Int64"),
        "timestamp": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 10**6, n), unit="s"),
        "event": rng.choice(["a", "b", "c", "d"], n),
    })
    raw.loc[rng.choice(n, 30, replace=False), "user_id"] = pd.NA
    raw.loc[rng.choice(n, 10, replace=False), "event"] = None
    raw.loc[rng.choice(n, 5, replace=False), "timestamp"] = pd.NaT
    path = tmp_path / "holes.parquet"
    raw.to_parquet(path)
    with pytest.raises(NullValuesError) as mem_err:
        fk.read_events(path)
    with pytest.raises(NullValuesError) as eng_err:
        chunked(path, ["a", "b"], batch_rows=256)
    assert str(eng_err.value) == str(mem_err.value)  # counts and first rows over the whole input
    with pytest.warns(DroppedRowsWarning):
        mem = fk.read_events(path, dropna=True)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        b = chunked(path, ["a", "b", "c"], dropna=True, batch_rows=256)
    assert sum(issubclass(w.category, DroppedRowsWarning) for w in rec) == 1
    a = fk.funnel(mem, ["a", "b", "c"])
    assert_same(a, b)
    assert sum(a.diagnostics["rows_dropped_on_read"].values()) > 0


def test_errors_before_heavy_work_and_cleanup(shop_file, shop_mem, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(UnknownEventError) as mem_err:
        fk.funnel(shop_mem, ["landing", "purchse"])
    with pytest.raises(UnknownEventError) as eng_err:
        chunked(shop_file, ["landing", "purchse"], tmp_dir=work)
    assert str(eng_err.value) == str(mem_err.value)
    with pytest.raises(UnknownEventError, match="exclude"):
        chunked(shop_file, STEPS, exclude=[("serch", 1, 2)], tmp_dir=work)
    with pytest.raises(MissingColumnError) as mem_err:
        fk.funnel(shop_mem, STEPS, by="chanel")
    with pytest.raises(MissingColumnError) as eng_err:
        chunked(shop_file, STEPS, by="chanel", tmp_dir=work)
    assert str(eng_err.value) == str(mem_err.value)
    with pytest.raises(ParameterError, match="mode"):
        chunked(shop_file, STEPS, mode="fast")
    with pytest.raises(ParameterError, match="Parquet"):
        chunked(tmp_path / "x.csv", STEPS) if (tmp_path / "x.csv").write_text("a,b\n") else None
    with pytest.raises(TypeError, match="windw"):
        chunked(shop_file, STEPS, windw="1D")
    # a successful run leaves nothing behind either
    chunked(shop_file, STEPS, tmp_dir=work)
    assert list(work.iterdir()) == []


def test_timestamp_kinds_must_agree_across_batches(tmp_path):
    raw = pd.DataFrame({"user_id": [1, 1, 2, 2], "event": ["a", "b", "a", "b"],
                        "timestamp": ["2024-01-01T10:00:00Z", "2024-01-01T10:01:00Z",
                                      "2024-01-01 10:00:00", "2024-01-01 10:01:00"]})
    path = tmp_path / "mixed.parquet"
    raw.to_parquet(path)
    with pytest.raises(fk.errors.TimezoneError):
        fk.read_events(path, tz="UTC")
    with pytest.raises(fk.errors.TimezoneError, match="row 2"):
        chunked(path, ["a", "b"], tz="UTC", batch_rows=2)


# --------------------------------------------------------------------------- experiments


def test_experiment_chunked_equals_experiment(shop, tmp_path):
    ev = shop.copy()
    # a few users exposed to both variants (left out), some without a variant
    users = ev["user_id"].to_numpy()
    v = ev["variant"].astype(object).to_numpy().copy()
    first_rows = np.array([np.flatnonzero(users == u)[0] for u in (5, 6, 7, 8, 9)])
    v[first_rows] = np.where(v[first_rows] == "A", "B", "A")
    v[np.isin(users, [11, 12])] = None
    ev["variant"] = v
    path = tmp_path / "exp.parquet"
    ev.to_parquet(path)
    journey = fk.datasets.shop_journey()
    for kw in (dict(), dict(window="1D", mode="strict", sequential=True, weights={"A": 1, "B": 1})):
        a = fk.experiment(fk.read_events(path), journey, variant_col="variant", control="A", **kw)
        b = _engines.experiment_chunked(path, journey, variant_col="variant", control="A", partitions=5,
                                        progress=False, **kw)
        assert_same_experiment(a, b)
    assert b.diagnostics["multiple_exposure_users"] > 0 and b.diagnostics["users_without_variant"] == 2
    with pytest.raises(ParameterError, match="control"):
        _engines.experiment_chunked(path, journey, variant_col="variant", control="C", partitions=2, progress=False)
    with pytest.raises(MissingColumnError, match="variant_col"):
        _engines.experiment_chunked(path, journey, variant_col="varaint", control="A", progress=False)


# --------------------------------------------------------------------------- property test

_EVENTS = ["a", "b", "c", "x"]


@st.composite
def small_logs(draw):
    n_users = draw(st.integers(1, 7))
    rows = []
    for u in range(n_users):
        for _ in range(draw(st.integers(0, 6))):
            rows.append((u, draw(st.integers(0, 6)), draw(st.sampled_from(_EVENTS)),
                         draw(st.sampled_from([None, "p", "q"]))))
    if not rows:
        rows.append((0, 0, "a", None))
    order = draw(st.permutations(range(len(rows))))
    rows = [rows[i] for i in order]
    string_ids = draw(st.booleans())
    ids = [f"user-{r[0]}" if string_ids else r[0] * 7919 - 3 for r in rows]
    return pd.DataFrame({
        "user_id": ids,
        "timestamp": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta([r[1] for r in rows], unit="min"),
        "event": [r[2] for r in rows],
        "channel": [r[3] for r in rows],
    })


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ev=small_logs(),
    steps=st.sampled_from([["a", "b", "c"], ["a", "a", "b"], [["a", "b"], "c"], ["b", "a"]]),
    mode=st.sampled_from(["ordered", "strict", "any_order"]),
    window=st.sampled_from(["2min", "1h", None]),
    by=st.sampled_from([None, "channel"]),
    attribution=st.sampled_from(["first_touch", "last_touch", "step:1"]),
    exclude=st.booleans(),
    parts=st.integers(1, 4),
)
def test_property_chunked_equals_memory(ev, steps, mode, window, by, attribution, exclude, parts):
    kw = dict(mode=mode, window=window, by=by, attribution=attribution)
    if exclude and mode != "any_order":
        kw["exclude"] = [("x", 1, 2)]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ev.parquet")
        ev.to_parquet(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FunnelkitWarning)
            try:
                a = fk.funnel(fk.read_events(path), steps, **kw)
            except fk.errors.FunnelkitError as exc:
                with pytest.raises(type(exc)) as err:
                    chunked(path, steps, partitions=parts, batch_rows=5, tmp_dir=d, **kw)
                assert str(err.value) == str(exc)
                return
            b = chunked(path, steps, partitions=parts, batch_rows=5, tmp_dir=d, **kw)
        assert_same(a, b)
        assert sorted(os.listdir(d)) == ["ev.parquet"]


# --------------------------------------------------------------------------- Dask


@pytest.fixture(scope="module")
def dd():
    pytest.importorskip("dask.dataframe")
    import dask
    import dask.dataframe as dd

    dask.config.set(scheduler="synchronous")  # fast and deterministic for small data
    return dd


@pytest.mark.parametrize("kw", [dict(), dict(by="channel", mode="strict"),
                                dict(mode="any_order", window="1D", by="device", attribution="last_touch")])
def test_dask_equals_local(dd, shop, kw):
    journey = fk.datasets.shop_journey()
    shuffled = shop.sample(frac=1.0, random_state=4).reset_index(drop=True)  # ties now in another order
    for ev in (shop, shuffled):
        a = fk.funnel(ev, journey, **kw)
        b = _engines.funnel_dask(dd.from_pandas(ev, npartitions=4, sort=False), journey, **kw)
        assert_same(a, b)


def test_dask_string_ids_sessions_and_ties(dd, shop):
    ev = fk.sessionize(shop, timeout="30min").sample(frac=1.0, random_state=1).reset_index(drop=True)
    ev["user_id"] = "u" + ev["user_id"].astype(str)
    ev["timestamp"] = ev["timestamp"].dt.floor("h")  # many ties
    ddf = dd.from_pandas(ev, npartitions=3, sort=False)
    for kw in (dict(by="channel"), dict(unit="session", window="1h", exclude=[("search", 1, 3)])):
        assert_same(fk.funnel(ev, STEPS, **kw), _engines.funnel_dask(ddf, STEPS, **kw))


def test_dask_ties_follow_input_order(dd):
    """The shuffle reorders rows; the row number carried through it restores input order."""
    rng = np.random.default_rng(0)
    n = 3000
    ev = pd.DataFrame({
        "user_id": rng.integers(0, 300, n),
        "timestamp": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 3, n), unit="h"),
        "event": rng.choice(["a", "b", "c"], n),
        "src": [f"r{i}" for i in range(n)],  # first touch = first row of the user among ties
    })
    ddf = dd.from_pandas(ev, npartitions=6, sort=False)
    for kw in (dict(by="src", max_groups=5000), dict(by="src", attribution="last_touch", mode="strict")):
        assert_same(fk.funnel(ev, ["a", "b", "c"], **kw), _engines.funnel_dask(ddf, ["a", "b", "c"], **kw))


def test_dask_experiment_and_errors(dd, shop):
    ddf = dd.from_pandas(shop, npartitions=4)
    journey = fk.datasets.shop_journey()
    assert_same_experiment(fk.experiment(shop, journey, variant_col="variant", control="A"),
                           _engines.experiment_dask(ddf, journey, variant_col="variant", control="A"))
    with pytest.raises(UnknownEventError):
        _engines.funnel_dask(ddf, ["landing", "purchse"])
    with pytest.raises(MissingColumnError):
        _engines.funnel_dask(ddf.drop(columns=["event"]), STEPS)


# --------------------------------------------------------------------------- routing, partitions, progress


def test_is_large_source_and_dispatch(dd, shop, shop_file, shop_mem):
    assert not _engines.is_large_source(shop)
    assert not _engines.is_large_source(shop_file)  # small: the in-memory path stays the default
    assert not _engines.is_large_source("/no/such/file.parquet")
    assert _engines.is_large_source(shop_file, threshold=1000)
    assert _engines.is_large_source(dd.from_pandas(shop, npartitions=2))
    assert _engines.estimated_memory(shop_file) > 0
    a = fk.funnel(shop_mem, STEPS)
    assert_same(a, _engines.dispatch_funnel(shop_file, STEPS, progress=False, partitions=3))
    assert_same(a, _engines.dispatch_funnel(dd.from_pandas(shop, npartitions=2), STEPS))


def test_choose_partitions():
    assert _engines.choose_partitions(10, 18.0) == 1
    small = _engines.choose_partitions(50_000_000, 18.0, "8GB")
    big = _engines.choose_partitions(50_000_000, 18.0, "1GB")
    assert 1 <= small < big
    with pytest.raises(ParameterError, match="memory_budget"):
        _engines.choose_partitions(10, 18.0, "lots")


def test_hash_is_stable():
    """Parts come from a fixed hash (not Python's per-process salted hash)."""
    ints = pd.Series(np.array([0, 1, 2, -5, 2**40], dtype=np.int64))
    assert _engines._part_of(ints, 7).tolist() == _engines._part_of(ints.copy(), 7).tolist()
    assert _engines._hash_values(ints)[0] == np.uint64(16294208416658607535)  # splitmix64(0)
    strs = pd.Series(["a", "b", "a"], dtype="category")
    h = _engines._hash_values(strs)
    assert h[0] == h[2] != h[1]
    assert h[0] == pd.util.hash_array(np.array(["a"], dtype=object))[0]
    # floats holding whole numbers hash like the integers they normalize to
    assert (_engines._hash_values(pd.Series([1.0, -0.0])) == _engines._hash_values(pd.Series([1, 0]))).all()


def test_progress_bar(shop_file, capsys, monkeypatch):
    chunked(shop_file, STEPS, progress=False)
    assert capsys.readouterr().err == ""
    chunked(shop_file, STEPS, progress=True)  # stderr is not a terminal under pytest
    assert capsys.readouterr().err == ""
    chunked(shop_file, STEPS, progress="force")
    assert "pass 2/2" in capsys.readouterr().err
    monkeypatch.setitem(__import__("sys").modules, "tqdm", None)  # the built-in text bar
    chunked(shop_file, STEPS, progress="force")
    err = capsys.readouterr().err
    assert "pass 1/2" in err and "100%" in err
    with pytest.raises(ParameterError, match="progress"):
        chunked(shop_file, STEPS, progress="yes")
