"""engine/drive.py: the generic driver gives every bucket function whole, sorted units."""

from __future__ import annotations

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

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from funnelkit.engine.drive import _thin  # noqa: E402


def _window5(t: np.ndarray) -> np.ndarray:
    return t // 5


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 6), st.integers(-20, 40), st.integers(0, 3)), min_size=0, max_size=60))
def test_thin_keeps_exactly_the_extreme_rows_of_each_group(rows) -> None:
    off = np.array([r[0] for r in rows], dtype=np.int64)
    t = np.array([r[1] for r in rows], dtype=np.int64)
    bits = np.array([r[2] for r in rows], dtype=np.uint8)
    got = _thin(off, t, [bits], _window5)
    kept = np.arange(len(rows)) if got is None else got
    # the obvious reference: a row stays when it is at its group's earliest or latest time
    df = pd.DataFrame({"off": off, "w": t // 5, "b": bits, "t": t})
    g = df.groupby(["off", "w", "b"])["t"]
    want = np.flatnonzero((df["t"] == g.transform("min")) | (df["t"] == g.transform("max")))
    if got is None:  # nothing to drop: every row is an extreme of its group
        assert len(want) == len(rows)
    else:
        np.testing.assert_array_equal(np.sort(kept), want)
    # a group of two rows or more keeps two rows or more
    sizes = df.groupby(["off", "w", "b"]).size()
    kept_sizes = df.iloc[kept].groupby(["off", "w", "b"]).size().reindex(sizes.index, fill_value=0)
    assert ((kept_sizes >= 2) | (sizes < 2)).all()


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
