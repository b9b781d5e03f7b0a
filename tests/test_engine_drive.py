"""engine/drive.py: the generic driver gives every bucket function whole, sorted units."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pandas as pd
import pytest

import funnelkit as fk
from funnelkit.engine.drive import BucketRows, DriveRequest, drive, recode, run_units


def _log(n_users: int = 300, n: int = 4000, seed: int = 0, str_ids: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    users = rng.integers(0, n_users, n)
    ev = pd.DataFrame({
        "user_id": [f"u{u:05d}" for u in users] if str_ids else users,
        "timestamp": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 50, n), unit="min"),
        "event": rng.choice(["view", "cart", "buy", "help"], n),
        "channel": rng.choice(["ads", "mail", None], n),
    })
    return ev


def _sequences(rows: BucketRows) -> dict[str, np.ndarray]:
    """Per row: unit (global index), time, event code, attribute code, stage bits."""
    return {"unit": rows.u + rows.unit0, "t": rows.t, "event": rows.event, "attr": rows.attr,
            "stage": rows.stage_bits().astype(np.int64)}


def _collect(d) -> pd.DataFrame:
    parts = [pd.DataFrame(r) for r in d.results]
    out = pd.concat(parts, ignore_index=True)
    out["unit"] = d.unit_ids[out["unit"].to_numpy()]
    out["event"] = np.asarray(d.event_names, dtype=object)[out["event"].to_numpy()]
    if out["attr"].notna().all():
        vals = np.asarray(list(d.attr_values) + [None], dtype=object)
        out["attr"] = vals[out["attr"].to_numpy().astype(np.int64)]
    return out


def _expected(ev: pd.DataFrame) -> pd.DataFrame:
    """The obvious reference: every row, sorted by (unit, time, event, channel)."""
    e = ev.assign(t=ev["timestamp"].astype("int64"), attr=ev["channel"])
    e = e.sort_values(["user_id", "t", "event", "attr"], na_position="first", kind="stable")
    return e[["user_id", "t", "event", "attr"]].reset_index(drop=True)


def _journey() -> fk.Journey:
    return fk.Journey({"browse": ["view", "cart"], "buy": "buy", "second": fk.repeat("buy", nth=2)})


@pytest.mark.parametrize("str_ids", [False, True])
def test_rows_sorted_by_value_whatever_the_input_order(str_ids: bool) -> None:
    ev = _log(str_ids=str_ids)
    req = DriveRequest(journey=_journey(), events=True, attr_col="channel")
    got = _collect(drive(ev, req, _sequences))
    want = _expected(ev)
    # nulls sort first within ties (code -1); compare the multiset and the order keys
    assert len(got) == len(ev)
    assert got["unit"].tolist() == want["user_id"].tolist()
    assert got["t"].tolist() == want["t"].tolist()
    assert got["event"].tolist() == want["event"].tolist()
    shuffled = ev.sample(frac=1, random_state=3).reset_index(drop=True)
    again = _collect(drive(shuffled, req, _sequences))
    pd.testing.assert_frame_equal(got, again)


def test_stage_bits_settle_repeat_rules_on_the_sorted_history() -> None:
    ev = pd.DataFrame({
        "user_id": [1, 1, 1, 2, 2],
        "timestamp": pd.to_datetime([3, 1, 2, 1, 1], unit="s", utc=True),
        "event": ["buy", "buy", "view", "buy", "help"],
    })
    got = _collect(drive(ev, DriveRequest(journey=_journey(), events=True), _sequences))
    # user 1: buy@1 (stage buy, bit 1), view@2 (browse, bit 0), buy@3 = 2nd buy (bit 2)
    assert got["stage"].tolist() == [2, 1, 4, 2, 0]
    assert got["event"].tolist() == ["buy", "view", "buy", "buy", "help"]


def test_keep_matched_drops_rows_without_a_rule_and_counts() -> None:
    ev = _log()
    d = drive(ev, DriveRequest(journey=_journey(), keep="matched"), _sequences)
    assert d.rows_kept == int(ev["event"].isin(["view", "cart", "buy"]).sum())
    assert d.n_rows == len(ev)
    # units with only unmatched rows are present but receive no rows
    assert len(d.unit_ids) == ev["user_id"].nunique()


def test_spilled_parquet_and_dask_equal_in_memory(tmp_path) -> None:
    ev = _log(n_users=2000, n=30000, str_ids=True)
    req = DriveRequest(journey=_journey(), events=True, attr_col="channel")
    want = _collect(drive(ev, req, _sequences))
    path = tmp_path / "ev.parquet"
    ev.to_parquet(path, row_group_size=4000)
    spilled = drive(str(path), DriveRequest(journey=_journey(), events=True, attr_col="channel",
                                            memory_budget=1 << 14), _sequences)
    assert spilled.spilled
    pd.testing.assert_frame_equal(_collect(spilled), want)
    dd = pytest.importorskip("dask.dataframe")
    import dask

    with dask.config.set(scheduler="synchronous"):
        parts = run_units(dd.from_pandas(ev, npartitions=3), req, _sequences)
    got = pd.concat([_collect(p) for p in parts], ignore_index=True)
    got = got.sort_values(["unit", "t", "event", "attr"], na_position="first", kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)


def test_data_range_and_units_without_journey() -> None:
    ev = _log(str_ids=True)
    d = drive(ev, DriveRequest(), functools.partial(lambda rows: rows.n_units))
    assert sum(d.results) == ev["user_id"].nunique()
    # per-unit inputs by id: each bucket reads its own units' values
    count = ev.groupby("user_id").size()
    got = drive(ev, DriveRequest(), lambda rows: (rows.unit_values(count, 0), np.bincount(rows.u)))
    for want, have in got.results:
        assert want.tolist() == have.tolist()
    assert d.data_start == int(ev["timestamp"].min().value)
    assert d.data_end == int(ev["timestamp"].max().value)


def test_recode_merges_sorted_dictionaries() -> None:
    values, luts = recode([["b", "d"], ["a", "b", "c"]])
    assert values == ["a", "b", "c", "d"]
    assert luts[0].tolist() == [1, 3, -1]
    assert luts[1].tolist() == [0, 1, 2, -1]
    assert luts[0][np.array([1, -1])].tolist() == [3, -1]


def test_funnel_steps_order_rows_as_the_funnel_kernel_needs() -> None:
    """With steps=, rows carry positions and a bucket function running the funnel kernel
    gets the levels of fk.funnel (ties at one time included)."""
    from funnelkit.engine.bucket_funnel import FunnelKernel, code_lut, run_bucket
    from funnelkit.engine.plan import rule_bits
    from funnelkit.journey.steps import resolve_steps

    rng = np.random.default_rng(5)
    n = 3000
    ev = pd.DataFrame({
        "user_id": rng.integers(0, 200, n),
        "timestamp": pd.to_datetime(rng.integers(0, 40, n) * 60, unit="s", utc=True),
        "event": rng.choice(["view", "cart", "buy"], n),
    })
    steps = ["view", "cart", "buy"]
    spec = resolve_steps(steps)
    journey = spec.journey
    st = np.asarray(spec.steps, dtype=np.int64)
    rb = rule_bits(journey, st, (), ())
    kern = FunnelKernel(mode="ordered", window=10 * 60 * 10**9, window_from="entry", steps=st, exclude=(),
                        bits=rb, after_order=tuple(journey._after_order()),
                        stage_of={s.name: i for i, s in enumerate(journey._all_stages())},
                        step_names=tuple(spec.names), code_lut=code_lut(st, rb))

    def levels(rows: BucketRows) -> np.ndarray:
        res, _ = run_bucket(kern, rows.u, rows.t, rows.bits, rows.pos, None, rows.n_units)
        return np.asarray(res.level)

    d = drive(ev, DriveRequest(journey=journey, steps=tuple(int(s) for s in st), keep="matched"), levels)
    got = np.zeros(len(d.unit_ids), dtype=np.int64)
    for a, lv in zip(d.unit_starts, d.results):
        got[a:a + len(lv)] = lv
    want = fk.funnel(ev, steps, window="10min").units["level"]
    assert got.tolist() == want.reindex(d.unit_ids).tolist()


# -------------------------------------------------------------------------------------
# thinning (DriveRequest.thin): per (unit, window, carried values), the extreme rows
# -------------------------------------------------------------------------------------


# the thinning rule itself is tested in tests/test_engine_thin.py; here, that the driver
# applies it only where it may


def test_thin_is_off_with_repeat_rules_and_on_without() -> None:
    ev = _log(n_users=20, n=2000)

    def count(rows: BucketRows) -> int:
        return len(rows.u)

    all_rows = sum(drive(ev, DriveRequest(), count).results)
    assert all_rows == len(ev)
    thinned = sum(drive(ev, DriveRequest(thin=_hour), count).results)
    assert thinned < len(ev) / 5  # 20 users x 4 events x a few extreme rows
    with_repeat = sum(drive(ev, DriveRequest(journey=_journey(), thin=_hour), count).results)
    assert with_repeat == len(ev)  # repeat("buy", nth=2) counts every buy: no thinning


def _hour(t: np.ndarray) -> np.ndarray:
    return t // 3_600_000_000_000


# -------------------------------------------------------------------------------------
# what the funnel asks of the driver: attributes folded per unit, the names used, the
# rows matched, ready() before the buckets, outputs written in place, a source opened by
# the caller, input positions, the threads threshold
# -------------------------------------------------------------------------------------

import contextlib  # noqa: E402
import os  # noqa: E402
import warnings  # noqa: E402
from unittest import mock  # noqa: E402

from funnelkit.engine import buckets as _buckets  # noqa: E402
from funnelkit.engine import sources as _sources  # noqa: E402
from funnelkit.engine.sources import open_source  # noqa: E402
from funnelkit.errors import ParameterError  # noqa: E402


def _attr_log(n_users: int = 150, n: int = 3000, seed: int = 1, str_ids: bool = False,
              many_values: bool = False) -> pd.DataFrame:
    """Times with many ties (whole minutes 0..30), a nullable attribute; ``many_values``:
    40 values (more than the 16 the plan folds as per-value flags)."""
    rng = np.random.default_rng(seed)
    users = rng.integers(0, n_users, n)
    vals = [f"v{i:02d}" for i in range(40 if many_values else 3)]
    chan = rng.choice(np.array(vals + [None], dtype=object), n)
    chan[users % 7 == 0] = None  # some users never have a value
    return pd.DataFrame({
        "user_id": [f"u{u:05d}" for u in users] if str_ids else users,
        "timestamp": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 31, n), unit="min"),
        "event": rng.choice(["view", "cart", "buy", "help"], n),
        "channel": chan,
    })


def _ref_fold(ev: pd.DataFrame, mode: str) -> tuple[pd.Series, pd.Series | None]:
    """The obvious reference, by user id: codes are positions among the sorted values; range:
    min and max code over every row; touch: the code at the earliest (latest) time with a
    value, the smallest code at ties; -1 where a user has no value."""
    vals = sorted(ev["channel"].dropna().unique())
    code = ev["channel"].map({v: i for i, v in enumerate(vals)})
    e = ev.assign(code=code, t=ev["timestamp"].astype("int64"))
    users = pd.Index(sorted(ev["user_id"].unique()))
    has = e.dropna(subset=["code"])
    if mode == "range":
        g = has.groupby("user_id")["code"]
        return (g.min().reindex(users, fill_value=-1).astype(np.int64),
                g.max().reindex(users, fill_value=-1).astype(np.int64))
    best = has.groupby("user_id")["t"].transform("min" if mode == "first_touch" else "max")
    at = has[has["t"] == best].groupby("user_id")["code"].min()
    return at.reindex(users, fill_value=-1).astype(np.int64), None


@contextlib.contextmanager
def _threads(bucket_rows: int = 40, block_rows: int = 250, threads: int = 3):
    """Many buckets and blocks, run on a pool (the per-thread accumulators merge)."""
    with mock.patch.object(_buckets, "BUCKET_ROWS", bucket_rows), \
            mock.patch.object(_sources, "FRAME_BLOCK_ROWS", block_rows), \
            mock.patch.object(_sources, "SUB_BLOCK_ROWS", block_rows + 1), \
            mock.patch.dict(os.environ, {"FUNNELKIT_NUM_THREADS": str(threads)}):
        yield


def _rows_seen(rows: BucketRows) -> tuple[int, bool]:
    return len(rows.u), rows.attr is None


@pytest.mark.parametrize("mode", ["range", "first_touch", "last_touch"])
@pytest.mark.parametrize("many_values", [False, True])
@pytest.mark.parametrize("where", ["frame", "parquet", "spilled", "threads"])
def test_attributes_folded_per_unit_over_every_row(mode, many_values, where, tmp_path) -> None:
    ev = _attr_log(str_ids=where == "parquet", many_values=many_values)
    # keep="matched" keeps only the buys; the fold still reads every row of the log
    req = DriveRequest(journey=fk.Journey({"buy": "buy"}), keep="matched", attr_col="channel", attr_mode=mode)
    src: object = ev
    if where in ("parquet", "spilled"):
        src = str(tmp_path / "ev.parquet")
        ev.to_parquet(src, row_group_size=700)
    if where == "spilled":
        req = dataclasses.replace(req, memory_budget=1, tmp_dir=str(tmp_path))
    ctx = _threads() if where == "threads" else contextlib.nullcontext()
    with ctx, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = drive(src, req, _rows_seen, threads_min_rows=1 if where == "threads" else None)
    lo, hi = _ref_fold(ev, mode)
    assert d.attr_values == sorted(ev["channel"].dropna().unique())
    assert d.unit_ids.tolist() == lo.index.tolist()
    assert d.unit_attr.tolist() == lo.tolist()
    if mode == "range":
        assert d.unit_attr_max.tolist() == hi.tolist()
        assert (d.unit_attr >= 0).sum() < len(lo)  # users without a value: -1
    else:
        assert d.unit_attr_max is None
    assert all(no_attr for _, no_attr in d.results)  # folded: not carried on the rows
    assert sum(n for n, _ in d.results) == d.rows_kept == d.rows_matched == int((ev["event"] == "buy").sum())
    if where == "spilled":
        assert d.spilled


def test_attribute_ignored_is_read_but_neither_carried_nor_folded() -> None:
    ev = _attr_log()
    d = drive(ev, DriveRequest(attr_col="channel", attr_mode="ignore"), _rows_seen)
    assert d.attr_values == sorted(ev["channel"].dropna().unique())
    assert d.unit_attr is None and all(no_attr for _, no_attr in d.results)
    rows = drive(ev, DriveRequest(attr_col="channel"), _rows_seen)  # attr_mode="rows": carried
    assert not any(no_attr for _, no_attr in rows.results)


def test_used_names_and_rows_matched() -> None:
    ev = _log()
    ev = ev[ev["event"] != "help"].reset_index(drop=True)
    ev["event"] = pd.Categorical(ev["event"], categories=["buy", "cart", "help", "view", "zzz"])  # two unused
    journey = fk.Journey({"buy": "buy", "cart": "cart"})
    n_match = int(ev["event"].isin(["buy", "cart"]).sum())
    every = drive(ev, DriveRequest(journey=journey, used_names=True), _rows_seen)
    assert every.used == {"buy", "cart", "view"}  # the names the rows hold, not the categories
    assert every.rows_matched == n_match and every.rows_kept == len(ev) == every.n_rows
    matched = drive(ev, DriveRequest(journey=journey, keep="matched", used_names=True), _rows_seen)
    assert matched.used == {"buy", "cart", "view"}  # every row, kept or not
    assert matched.rows_matched == matched.rows_kept == n_match
    assert drive(ev, DriveRequest(journey=journey), _rows_seen).used is None  # not asked for
    assert drive(ev, DriveRequest(), _rows_seen).rows_matched == 0  # no rules


def test_ready_once_before_any_bucket_with_final_counters(tmp_path) -> None:
    ev = _log(n_users=400, n=6000)
    calls: list[object] = []

    def ready(d) -> None:
        calls.append(("ready", d.n_units, d.rows_kept, d.rows_matched, d.data_start, d.data_end,
                      sorted(d.used), d.spilled, len(d.results)))

    def fn(rows: BucketRows) -> int:
        calls.append("bucket")
        return rows.n_units

    req = DriveRequest(journey=_journey(), keep="matched", used_names=True, memory_budget=1, tmp_dir=str(tmp_path))
    with _threads(bucket_rows=300, block_rows=500), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = drive(str(_parquet(ev, tmp_path)), req, fn, ready=ready, threads_min_rows=1)
    assert calls[0] == ("ready", len(d.unit_ids), d.rows_kept, d.rows_matched, d.data_start, d.data_end,
                        sorted(ev["event"].unique()), True, 0)
    assert calls[1:] == ["bucket"] * len(d.results) and len(d.results) > 3
    assert sum(d.results) == d.n_units == ev["user_id"].nunique()
    assert d.data_start == int(ev["timestamp"].min().value) and d.data_end == int(ev["timestamp"].max().value)


def _parquet(ev: pd.DataFrame, tmp_path) -> object:
    path = tmp_path / "ev.parquet"
    ev.to_parquet(path, row_group_size=800)
    return path


def test_an_error_in_ready_stops_before_any_bucket_and_cleans_up(tmp_path) -> None:
    ev = _log(n_users=400, n=6000)
    ran: list[int] = []

    def ready(d) -> None:
        raise ParameterError("no such event")

    req = DriveRequest(journey=_journey(), memory_budget=1, tmp_dir=str(tmp_path))
    with pytest.raises(ParameterError, match="no such event"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        drive(str(_parquet(ev, tmp_path)), req, lambda rows: ran.append(1), ready=ready)
    assert ran == []
    assert not [p for p in os.listdir(tmp_path) if p.startswith(_buckets.SPILL_PREFIX)]  # spilled files removed


@pytest.mark.parametrize("str_ids", [False, True])
def test_outputs_written_in_place_at_unit0(str_ids) -> None:
    """ready() allocates per-unit arrays; each bucket writes [unit0, unit0 + n_units); units of
    buckets without kept rows keep ready()'s value."""
    ev = _log(n_users=500, n=4000, str_ids=str_ids)
    out: dict[str, np.ndarray] = {}

    def ready(d) -> None:
        out["n"] = np.full(d.n_units, -1, dtype=np.int64)

    def fn(rows: BucketRows) -> int:
        out["n"][rows.unit0:rows.unit0 + rows.n_units] = np.bincount(rows.u, minlength=rows.n_units)
        return rows.n_units

    req = DriveRequest(journey=fk.Journey({"buy": "buy"}), keep="matched")
    with _threads(bucket_rows=2, block_rows=700):
        d = drive(ev, req, fn, ready=ready, threads_min_rows=1)
    buys = ev[ev["event"] == "buy"].groupby("user_id").size().reindex(d.unit_ids, fill_value=0)
    ran = np.zeros(d.n_units, dtype=bool)
    for a, n in zip(d.unit_starts, d.results):
        ran[a:a + n] = True
    assert not ran.all()  # some buckets hold units but no buy: never handed to fn
    np.testing.assert_array_equal(out["n"][ran], buys.to_numpy()[ran])
    assert (out["n"][~ran] == -1).all() and (buys.to_numpy()[~ran] == 0).all()


def test_a_source_opened_by_the_caller(tmp_path) -> None:
    ev = _log(n_users=300, n=5000, str_ids=True)
    path = str(_parquet(ev, tmp_path))
    req = DriveRequest(journey=_journey(), events=True, attr_col="channel")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = _collect(drive(path, req, _sequences))
        src = open_source(path, unit_col="user_id", attr_col="channel", props=[], needed=[],
                          attr_purpose="a test")
        calls = []
        real = src.ids_of
        src.ids_of = lambda off: calls.append(len(off)) or real(off)
        d = drive(src, req, _sequences)
    pd.testing.assert_frame_equal(_collect(d), want)
    assert calls == [d.n_units]  # the bucket function read no ids: they were built once, at the end


@pytest.mark.parametrize("steps", [None, (0, 1)])
def test_rows_carry_input_positions(steps, tmp_path) -> None:
    ev = _log(n_users=60, n=1500)
    journey = fk.Journey({"browse": ["view", "cart"], "buy": "buy"})
    req = DriveRequest(journey=journey, keep="matched", events=True, rows=True, steps=steps)

    def fn(rows: BucketRows) -> dict[str, np.ndarray]:
        return {"unit": rows.u + rows.unit0, "t": rows.t, "event": rows.event, "row": rows.row}

    for src in (ev, str(_parquet(ev, tmp_path))):
        with _threads(bucket_rows=50, block_rows=200), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d = drive(src, req, fn, threads_min_rows=1)
        got = pd.concat([pd.DataFrame(r) for r in d.results], ignore_index=True)
        back = ev.iloc[got["row"].to_numpy()]
        assert back["user_id"].tolist() == d.unit_ids[got["unit"].to_numpy()].tolist()
        assert back["timestamp"].astype("int64").tolist() == got["t"].tolist()
        assert back["event"].tolist() == np.asarray(d.event_names)[got["event"].to_numpy()].tolist()
        assert sorted(got["row"]) == np.flatnonzero(ev["event"].isin(["view", "cart", "buy"])).tolist()
        # rows alike in every value (duplicates) come in input order
        dup = got.duplicated(["unit", "t", "event"], keep=False)
        for _, g in got[dup].groupby(["unit", "t", "event"]):
            assert g["row"].is_monotonic_increasing


def test_threads_min_rows_is_the_callers() -> None:
    ev = _log(n=500)
    with mock.patch.dict(os.environ, {"FUNNELKIT_NUM_THREADS": "two"}):
        drive(ev, DriveRequest(), _rows_seen)  # 500 rows: the calling thread, the setting unread
        with pytest.raises(ParameterError, match="FUNNELKIT_NUM_THREADS"):
            drive(ev, DriveRequest(), _rows_seen, threads_min_rows=1)


def test_positions_are_sorted_with_the_rows() -> None:
    """BucketRows.pos is each row's first step, in the sorted order (sorted on first use)."""
    ev = _log(n_users=40, n=800)
    journey = fk.Journey({"view": "view", "cart": "cart", "buy": "buy"})
    first = {"view": 0, "cart": 1, "buy": 2}

    def fn(rows: BucketRows) -> tuple[np.ndarray, np.ndarray]:
        return rows.pos, rows.event

    with _threads(bucket_rows=30, block_rows=100):
        d = drive(shuffled_log(ev), DriveRequest(journey=journey, events=True, steps=(0, 1, 2)), fn,
                  threads_min_rows=1)
    names = np.asarray(d.event_names)
    for pos, e in d.results:
        assert pos.tolist() == [first.get(n, 3) for n in names[e]]


def shuffled_log(ev: pd.DataFrame) -> pd.DataFrame:
    return ev.sample(frac=1.0, random_state=7).reset_index(drop=True)


def test_unit_values_from_every_thread_at_once_on_a_fresh_index() -> None:
    # pandas fills an index's lookup table on first use, not thread-safely: without the
    # engine's lock, buckets reading the same per-unit Series at once saw "duplicate
    # labels" or silently missed ids (dropoff_paths on a 10M-event file, two threads)
    import threading
    from concurrent.futures import ThreadPoolExecutor

    n, width, workers = 600_000, 20_000, 8
    empty = np.zeros(0, dtype=np.int64)
    for trial in range(3):
        ids = np.arange(n, dtype=np.int64) * 3 + trial  # a fresh index each time
        per_id = pd.Series(ids * 2, index=pd.Index(ids))
        gate = threading.Barrier(workers)

        def one(j: int) -> bool:
            want = ids[j * width:(j + 1) * width]
            rows = BucketRows(u=empty, t=empty, bits=empty.astype(np.uint8), event=None, attr=None,
                              n_units=len(want), unit0=0, ids_of=lambda w=want: pd.Index(np.append(w, -1)))
            gate.wait()
            got = rows.unit_values(per_id, -7)
            return bool((got[:-1] == want * 2).all() and got[-1] == -7)

        with ThreadPoolExecutor(workers) as pool:
            assert all(pool.map(one, range(workers)))
