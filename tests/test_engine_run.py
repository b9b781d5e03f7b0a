"""funnelkit.engine.run: the driver (source -> plan -> buckets -> bucket function -> partial).

One implementation behind every funnel: a frame in memory, a Parquet path read
directly, the same path spilled to disk (``memory_budget=1`` byte), many tiny buckets
on threads, and (tests/test_engine_dask.py) Dask give identical results, whatever the
row order of the input. The results themselves are checked against the slow
reference of tests/_reference.py (``ref_funnel``) here for the driver's inputs (id
kinds, sessions, experiments, ``by=``) and in tests/test_engine_bucket_funnel.py for
every funnel shape.

The helpers of this module (strategies, runners, comparisons) are shared by the other
``test_engine_*`` modules.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import warnings
from collections.abc import Iterator
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import funnelkit as fk
from _reference import RefRule, ref_funnel, ref_stages
from funnelkit.engine import buckets as _buckets
from funnelkit.engine import run as _run
from funnelkit.engine import sources as _sources
from funnelkit.errors import FunnelkitError, ParameterError

T0 = pd.Timestamp("2024-01-01", tz="UTC")
MIN = 60 * 10**9
EVENTS = ["a", "b", "c", "x", "n"]  # x: the excluded event, n: noise outside every funnel
_THOROUGH = os.environ.get("HYPOTHESIS_PROFILE", "") == "thorough"


def examples(n: int) -> settings:
    """``n`` examples (10x with HYPOTHESIS_PROFILE=thorough), no deadline."""
    return settings(max_examples=n * 10 if _THOROUGH else n, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --------------------------------------------------------------------------- data


def hex_id(u: int) -> str:
    """A 32-hex id (UUID-like); their sorted order is not the order of ``u``."""
    return hashlib.md5(f"user-{u}".encode()).hexdigest()


def make_ids(units: list[int], kind: str) -> list[Any]:
    if kind == "dense":
        return [u * 3 - 5 for u in units]
    if kind == "sparse":
        return [u * 10**9 + 7 for u in units]
    return [hex_id(u) for u in units]


@st.composite
def logs(draw: Any, *, max_units: int = 8, max_events: int = 7, t_max: int = 6,
         ids: str | None = None, events: list[str] = EVENTS) -> pd.DataFrame:
    """A small event log in a random row order: <= ``max_units`` units of <= ``max_events``
    events at whole minutes ``0..t_max`` (ties are common), a ``url`` property for
    ``where=`` rules and a ``channel`` property for ``by=`` (both with nulls); unit ids
    dense integers, sparse integers or 32-hex strings."""
    n_units = draw(st.integers(1, max_units))
    rows = []
    for u in range(n_units):
        for _ in range(draw(st.integers(0, max_events))):
            rows.append((u, draw(st.integers(0, t_max)), draw(st.sampled_from(events)),
                         draw(st.sampled_from(["/", "/checkout", "/checkout", None])),
                         draw(st.sampled_from([None, "p", "q", "r"]))))
    if not rows:
        rows.append((0, 0, events[0], "/", None))
    if draw(st.booleans()):
        rows.sort(key=lambda r: r[1])  # time-ordered input (most exports)
    else:
        perm = draw(st.permutations(range(len(rows))))
        rows = [rows[i] for i in perm]
    kind = ids or draw(st.sampled_from(["dense", "sparse", "string"]))
    return pd.DataFrame({
        "user_id": make_ids([r[0] for r in rows], kind),
        "timestamp": T0 + pd.to_timedelta([r[1] for r in rows], unit="min"),
        "event": [r[2] for r in rows],
        "url": [r[3] for r in rows],
        "channel": [r[4] for r in rows],
    })


def with_variants(draw: Any, ev: pd.DataFrame) -> pd.DataFrame:
    """``variant`` per user: A, B or none; some users see both, or have rows without it.
    The first two users (in row order) are pure A and pure B."""
    users = list(dict.fromkeys(ev["user_id"]))
    arm = {u: draw(st.sampled_from(["A", "B", None])) for u in users}
    noisy = {u: draw(st.booleans()) for u in users}
    arm[users[0]], noisy[users[0]] = "A", False
    if len(users) > 1:
        arm[users[1]], noisy[users[1]] = "B", False
    out = []
    for i, u in enumerate(ev["user_id"]):
        v = arm[u]
        if noisy[u] and i % 3 == 0:
            v = None if v is not None else "B"
        if noisy[u] and i % 5 == 1:
            v = "A" if v == "B" else "B"
        out.append(v)
    return ev.assign(variant=out)


def shuffled(ev: pd.DataFrame, seed: int) -> pd.DataFrame:
    return ev.sample(frac=1.0, random_state=seed).reset_index(drop=True)


# --------------------------------------------------------------------------- running


@contextlib.contextmanager
def tiny_buckets(threads: int = 2, bucket_rows: int = 1, block_rows: int = 3) -> Iterator[None]:
    """Buckets of one unit code (``bucket_rows`` rows of input each), blocks of 3 rows
    (Parquet row groups cut in sub-blocks of 4), a thread pool of ``threads``."""
    with mock.patch.object(_buckets, "BUCKET_ROWS", bucket_rows), \
            mock.patch.object(_run, "THREADS_MIN_ROWS", 1), \
            mock.patch.object(_sources, "FRAME_BLOCK_ROWS", block_rows), \
            mock.patch.object(_sources, "SUB_BLOCK_ROWS", block_rows + 1), \
            mock.patch.dict(os.environ, {"FUNNELKIT_NUM_THREADS": str(threads)}):
        yield


def quiet(fn: Any, *args: Any, **kw: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


PATHS = ("frame", "parquet", "spilled", "tiny", "tiny_spilled")


def run_on(path: str, fn: Any, ev: pd.DataFrame, *args: Any, tmp: str, row_group_size: int = 7,
           **kw: Any) -> Any:
    """``fn(events, *args, **kw)`` with the log given as ``path`` says (see PATHS)."""
    if path in ("frame", "tiny"):
        src: Any = ev
    else:
        src = os.path.join(tmp, "ev.parquet")
        if not os.path.exists(src):
            ev.to_parquet(src, row_group_size=row_group_size)
    ctx = contextlib.ExitStack()
    if path in ("spilled", "tiny_spilled"):
        kw = dict(kw, memory_budget=1)
        spill = os.path.join(tmp, "spill")  # the spilled buckets' directory goes here
        os.makedirs(spill, exist_ok=True)
        ctx.enter_context(mock.patch.object(tempfile, "tempdir", spill))
    if path.startswith("tiny"):
        ctx.enter_context(tiny_buckets())
    with ctx:
        return quiet(fn, src, *args, **kw)


def outcome(fn: Any, *args: Any, **kw: Any) -> Any:
    """The result, or ``(error type, message)``."""
    try:
        return fn(*args, **kw)
    except FunnelkitError as exc:
        return type(exc), str(exc)


# --------------------------------------------------------------------------- comparisons


def assert_same(a: Any, b: Any) -> None:
    """Two FunnelResults are identical (tables, units, breakdown, censoring, diagnostics)."""
    if isinstance(a, tuple) or isinstance(b, tuple):
        assert a == b
        return
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.units, b.units)
    assert (a.breakdown is None) == (b.breakdown is None)
    if a.breakdown is not None:
        pd.testing.assert_frame_equal(a.breakdown, b.breakdown)
    assert (a.censored is None) == (b.censored is None)
    if a.censored is not None:
        pd.testing.assert_frame_equal(a.censored, b.censored)
    assert a.diagnostics == b.diagnostics
    assert a.params == b.params
    assert a.steps == b.steps and a.labels == b.labels
    assert a.journey == b.journey


def assert_same_experiment(a: Any, b: Any) -> None:
    if isinstance(a, tuple) or isinstance(b, tuple):
        assert a == b
        return
    for name in ("table", "health", "timing", "power", "exposure"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.diagnostics == b.diagnostics
    assert a.params == b.params
    np.testing.assert_array_equal(a.srm.observed, b.srm.observed)
    assert np.isclose(a.srm.chi2, b.srm.chi2, equal_nan=True) and a.srm.flagged == b.srm.flagged
    assert a.funnels.keys() == b.funnels.keys()
    for k in a.funnels:
        assert_same(a.funnels[k], b.funnels[k])


def ref_kwargs(kw: dict[str, Any]) -> dict[str, Any]:
    """fk.funnel keyword arguments -> ref_funnel's."""
    win = kw.get("window", "7D")
    out: dict[str, Any] = dict(
        mode=kw.get("mode", "ordered"),
        window=None if win is None else int(pd.Timedelta(win).value),
        window_from=kw.get("window_from", "entry"),
        exclude=[(RefRule((x,)), a - 1, b - 1) for x, a, b in kw.get("exclude") or []],
        start=None if kw.get("start") is None else int(pd.Timestamp(kw["start"], tz="UTC").value),
        end=None if kw.get("end") is None else int(pd.Timestamp(kw["end"], tz="UTC").value),
        by=kw.get("by"),
        attribution=kw.get("attribution", "first_touch"),
    )
    if kw.get("unit") == "session":
        out["unit_col"] = "session_id"
    return out


def units_frame(res: Any) -> pd.DataFrame:
    """The engine's per-unit result in ref_funnel's shape (times as int ns, NAT for none)."""
    out = pd.DataFrame({"level": res.units["level"].astype(np.int64)}, index=res.units.index)
    for k, name in enumerate(res.steps):
        col = res.units[name]
        out[f"t{k}"] = np.where(col.isna(), np.iinfo(np.int64).min,
                                col.dt.tz_convert("UTC").astype("datetime64[ns, UTC]").astype(np.int64))
    out["excluded"] = res.units["excluded"].astype(bool)
    return out


def check_reference(res: Any, ref: pd.DataFrame, *, times: bool = True, by: str | None = None) -> None:
    """The engine's levels (and reported times, exclusions, by= groups, table and
    breakdown counts) equal the reference's."""
    got = units_frame(res)
    assert got.index.tolist() == ref.index.tolist()
    np.testing.assert_array_equal(got["level"].to_numpy(), ref["level"].to_numpy(), err_msg="level")
    np.testing.assert_array_equal(got["excluded"].to_numpy(), ref["excluded"].to_numpy(), err_msg="excluded")
    if times:
        for k in range(len(res.steps)):
            np.testing.assert_array_equal(got[f"t{k}"].to_numpy(), ref[f"t{k}"].to_numpy(), err_msg=f"t{k}")
    K = len(res.steps)
    lev = ref["level"].to_numpy()
    want = [int((lev >= k + 1).sum()) for k in range(K)]
    assert res.table["units"].tolist() == want
    if by is not None:
        labels = ["(missing)" if v is None else str(v) for v in ref["value"]]
        entered = sorted({g for g, lv in zip(labels, lev) if lv >= 1})
        # units that never entered keep their value only if it names a group ("Other" else)
        labels = [g if lv >= 1 or g in entered or g == "(missing)" else "Other" for g, lv in zip(labels, lev)]
        assert res.units[by].tolist() == labels
        bd = res.breakdown
        assert sorted(bd[by].unique().tolist()) == entered
        for g in entered:
            m = np.array([x == g for x in labels])
            assert bd.loc[bd[by] == g, "units"].tolist() == [int((lev[m] >= k + 1).sum()) for k in range(K)]


def reference_of(ev: pd.DataFrame, steps: Any, kw: dict[str, Any]) -> pd.DataFrame:
    stages, spec, _ = ref_stages(steps)
    return ref_funnel(ev, stages, spec, **ref_kwargs(kw))


# --------------------------------------------------------------------------- tests: all paths agree

STEPS = st.sampled_from([["a", "b", "c"], ["a", "a", "b"], [["a", "b"], "c"], ["b", "a"], ["c"],
                         fk.Journey({"home": fk.Rule("a", where={"url": "/"}), "b": "b",
                                     "co": fk.Rule("a", where={"url": "/checkout"})})])
KW = dict(
    mode=st.sampled_from(["ordered", "strict", "any_order"]),
    window=st.sampled_from(["2min", "1h", None]),
    window_from=st.sampled_from(["entry", "previous"]),
    exclude=st.booleans(),
    start=st.sampled_from([None, "2024-01-01 00:02"]),
    end=st.sampled_from([None, "2024-01-01 00:05"]),
    by=st.sampled_from([None, "channel"]),
    attribution=st.sampled_from(["first_touch", "last_touch", "step:1", "step:2"]),
)


def funnel_kwargs(steps: Any, mode: str, window: Any, window_from: str, exclude: bool, start: Any, end: Any,
                  by: Any, attribution: str) -> dict[str, Any]:
    kw: dict[str, Any] = dict(mode=mode, window=window, window_from=window_from, start=start, end=end)
    k = len(steps)
    if exclude and mode != "any_order" and k >= 2:
        kw["exclude"] = [("x", 1, 2)]
    if by is not None:
        kw["by"] = by
        kw["attribution"] = attribution if not attribution.startswith("step:") or int(attribution[5:]) <= k \
            else "step:1"
    return kw


@given(ev=logs(), steps=STEPS, paths=st.lists(st.sampled_from(PATHS[1:]), min_size=1, max_size=2, unique=True),
       **KW)
@examples(60)
def test_property_every_path_equals_the_frame_and_the_reference(ev, steps, paths, mode, window, window_from,
                                                                exclude, start, end, by, attribution):
    kw = funnel_kwargs(steps, mode, window, window_from, exclude, start, end, by, attribution)
    before = ev.copy()
    with tempfile.TemporaryDirectory() as tmp:
        want = outcome(run_on, "frame", fk.funnel, ev, steps, tmp=tmp, **kw)
        pd.testing.assert_frame_equal(ev, before)  # the caller's frame is never modified
        for path in paths:
            assert_same(outcome(run_on, path, fk.funnel, ev, steps, tmp=tmp, **kw), want)
        if os.path.isdir(os.path.join(tmp, "spill")):
            assert os.listdir(os.path.join(tmp, "spill")) == []  # spilled buckets removed
    if not isinstance(want, tuple):
        check_reference(want, reference_of(ev, steps, kw), by=kw.get("by"))


@given(ev=logs(t_max=2), steps=STEPS, seed=st.integers(0, 2**16), path=st.sampled_from(["frame", "parquet", "tiny"]),
       **KW)
@examples(60)
def test_property_row_order_changes_nothing(ev, steps, seed, path, mode, window, window_from, exclude, start,
                                            end, by, attribution):
    """Any permutation of the rows gives identical outputs, by= attribution at tied
    timestamps included (ties break by value, never by row order). Times 0..2 minutes:
    ties everywhere."""
    kw = funnel_kwargs(steps, mode, window, window_from, exclude, start, end, "channel", attribution)
    with tempfile.TemporaryDirectory() as a:
        want = outcome(run_on, path, fk.funnel, ev, steps, tmp=a, **kw)
    for other in (ev.iloc[::-1].reset_index(drop=True), shuffled(ev, seed)):
        with tempfile.TemporaryDirectory() as b:
            assert_same(outcome(run_on, path, fk.funnel, other, steps, tmp=b, **kw), want)


@given(ev=logs(), seed=st.integers(0, 2**16), window=st.sampled_from(["2min", None]),
       paths=st.lists(st.sampled_from(PATHS[1:]), min_size=1, max_size=2, unique=True))
@examples(30)
def test_property_sessions_as_units(ev, seed, window, paths):
    sess = fk.sessionize(ev, timeout="2min")
    kw = dict(unit="session", window=window, by="channel")
    steps = ["a", "b", "c"]
    with tempfile.TemporaryDirectory() as tmp:
        want = outcome(run_on, "frame", fk.funnel, sess, steps, tmp=tmp, **kw)
        for path in paths:
            assert_same(outcome(run_on, path, fk.funnel, sess, steps, tmp=tmp, **kw), want)
    if isinstance(want, tuple):
        return
    assert want.units.index.name == "session_id"
    check_reference(want, reference_of(sess, steps, kw), by="channel")
    # sessionize and the funnel on the shuffled log: the same sessions, the same result
    assert_same(quiet(fk.funnel, fk.sessionize(shuffled(ev, seed), timeout="2min"), steps, **kw), want)


# --------------------------------------------------------------------------- experiments


@st.composite
def experiment_logs(draw: Any) -> pd.DataFrame:
    return with_variants(draw, draw(logs(max_units=10)))


def ref_experiment(ev: pd.DataFrame, steps: Any, kw: dict[str, Any]) -> dict[Any, tuple[int, list[int]]]:
    """Exposed users and converters per step of each variant, from ref_funnel."""
    ref = reference_of(ev, steps, kw)
    seen = ev.dropna(subset=["variant"]).groupby("user_id")["variant"].agg(lambda s: set(s))
    out: dict[Any, tuple[int, list[int]]] = {}
    K = len(ref.columns) - 2
    for v in ("A", "B"):
        users = [u for u, vs in seen.items() if vs == {v}]
        lev = ref.loc[users, "level"].to_numpy()
        out[v] = (len(users), [int((lev >= k + 1).sum()) for k in range(K)])
    return out


@given(ev=experiment_logs(), categorical=st.booleans(), window=st.sampled_from(["2min", None]),
       mode=st.sampled_from(["ordered", "strict", "any_order"]),
       paths=st.lists(st.sampled_from(PATHS[1:]), min_size=1, max_size=2, unique=True), seed=st.integers(0, 99))
@examples(25)
def test_property_experiment_every_path_and_reference(ev, categorical, window, mode, paths, seed):
    if categorical:
        ev = ev.assign(variant=ev["variant"].astype("category"))
    steps = ["a", "b", "c"]
    kw = dict(variant_col="variant", control="A", window=window, mode=mode)
    with tempfile.TemporaryDirectory() as tmp:
        want = outcome(run_on, "frame", fk.experiment, ev, steps, tmp=tmp, **kw)
        for path in paths:
            assert_same_experiment(outcome(run_on, path, fk.experiment, ev, steps, tmp=tmp, **kw), want)
    assert_same_experiment(outcome(quiet, fk.experiment, shuffled(ev, seed), steps, **kw), want)
    if isinstance(want, tuple):
        return
    ref = ref_experiment(ev, steps, dict(window=window, mode=mode))
    tb = want.table
    assert set(tb["variant"].astype(str)) == {v for v, (users, _) in ref.items() if users}
    for v, (users, conv) in ref.items():
        rows = tb[tb["variant"].astype(str) == v]
        if not users:
            continue
        assert rows["users"].tolist() == [users] * len(steps)
        assert rows["converters"].tolist() == conv
    multi = sum(1 for _, g in ev.dropna(subset=["variant"]).groupby("user_id")["variant"] if g.nunique() > 1)
    assert want.diagnostics["multiple_exposure_users"] == multi


def test_experiment_out_of_core_on_the_shop(tmp_path):
    ev = fk.datasets.make_shop(n_users=600, seed=5)
    v = ev["variant"].astype(object).to_numpy().copy()
    users = ev["user_id"].to_numpy()
    first = np.array([np.flatnonzero(users == u)[0] for u in (5, 6, 7)])
    v[first] = np.where(v[first] == "A", "B", "A")  # seen in both arms: left out
    v[np.isin(users, [11, 12])] = None  # no variant
    ev["variant"] = v
    path = tmp_path / "exp.parquet"
    ev.to_parquet(path, row_group_size=500)
    journey = fk.datasets.shop_journey()
    for kw in (dict(), dict(window="1D", mode="strict", sequential=True, weights={"A": 1, "B": 1})):
        want = fk.experiment(fk.read_events(path), journey, variant_col="variant", control="A", **kw)
        assert_same_experiment(fk.experiment(str(path), journey, variant_col="variant", control="A", **kw), want)
        with tiny_buckets(bucket_rows=500, block_rows=300):
            got = fk.experiment(str(path), journey, variant_col="variant", control="A", memory_budget=1, **kw)
        assert_same_experiment(got, want)
    assert want.diagnostics["multiple_exposure_users"] > 0 and want.diagnostics["users_without_variant"] == 2
    with pytest.raises(ParameterError, match="control"):
        fk.experiment(str(path), journey, variant_col="variant", control="C", memory_budget=1)
    with pytest.raises(fk.errors.MissingColumnError, match="varaint"):
        fk.experiment(str(path), journey, variant_col="varaint", control="A", memory_budget=1)


# --------------------------------------------------------------------------- the shop: journeys with after()/repeat()

CASES = [
    dict(),
    dict(by="channel"),
    dict(by="channel", attribution="last_touch", max_groups=3),
    dict(by="device", attribution="step:2"),
    dict(mode="strict"),
    dict(mode="any_order", window="1D", by="channel"),
    dict(window_from="previous", window="1h"),
    dict(window=None, exclude=[("search", 2, 3)]),
    dict(start="2026-03-10", end="2026-04-01"),
    dict(lang="es"),
]


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    ev = fk.datasets.make_shop(n_users=1500, seed=3)
    ev["user_id"] = [hex_id(u) for u in ev["user_id"]]  # 32-hex ids
    path = tmp_path_factory.mktemp("shop") / "shop.parquet"
    ev.to_parquet(path, row_group_size=1000)
    return ev, path


@pytest.mark.parametrize("kw", CASES, ids=[str(c) for c in CASES])
def test_shop_journey_every_path(shop, kw):
    ev, path = shop
    journey = fk.datasets.shop_journey()  # after() and repeat() rules
    want = fk.funnel(ev, journey, **kw)
    assert_same(fk.funnel(fk.read_events(path), journey, **kw), want)
    assert_same(fk.funnel(str(path), journey, **kw), want)
    assert_same(fk.funnel(shuffled(ev, 1), journey, **kw), want)
    with tiny_buckets(bucket_rows=1500, block_rows=700):  # ~12 buckets, ~25 blocks
        assert_same(fk.funnel(str(path), journey, memory_budget="1KB", **kw), want)


def test_memory_budget_is_for_paths_only(shop):
    ev, path = shop
    with pytest.raises(ParameterError, match="applies to a Parquet path"):
        fk.funnel(ev, ["landing", "purchase"], memory_budget="1GB")
    with pytest.raises(ParameterError, match="applies to a Parquet path"):
        fk.experiment(ev, ["landing", "purchase"], variant_col="variant", control="A", memory_budget=10)
    with pytest.raises(ParameterError, match="memory_budget"):
        fk.funnel(str(path), ["landing", "purchase"], memory_budget="lots")


# --------------------------------------------------------------------------- merge


def test_merge_of_disjoint_partials_equals_one_run():
    from funnelkit.engine import merge

    ev = fk.datasets.make_shop(n_users=300, seed=2)
    ev["user_id"] = [hex_id(u) for u in ev["user_id"]]
    import importlib

    fm = importlib.import_module("funnelkit.analyses.funnel")
    from funnelkit.journey.steps import resolve_steps

    steps = resolve_steps(fk.datasets.shop_journey())
    params, s, e = fm._checked_params(window="7D", mode="ordered", window_from="entry", unit="user",
                                      by="channel", attribution="first_touch_unit", max_groups=25, exclude=None,
                                      start=None, end=None, lang=None)
    req = fm._request(steps, params, s, e, session_col="session_id", attr_col="channel", attr_mode="first_touch")
    whole = _run.run_funnel(ev, req)
    users = np.array(sorted(set(ev["user_id"])))
    rng = np.random.default_rng(0)
    part_of = dict(zip(users, rng.integers(0, 3, len(users))))
    parts = [_run.run_funnel(g.reset_index(drop=True), req)
             for _, g in ev.groupby(ev["user_id"].map(part_of))]
    merged = merge(parts[::-1])
    assert merged.unit_ids.equals(whole.unit_ids)
    np.testing.assert_array_equal(merged.level, whole.level)
    np.testing.assert_array_equal(merged.step_time, whole.step_time)
    vals = np.asarray(whole.attr_values + [None], dtype=object)
    np.testing.assert_array_equal(np.asarray(merged.attr_values + [None], dtype=object)[merged.attr], vals[whole.attr])
    assert merged.n_rows == whole.n_rows and merged.rows_in_funnel == whole.rows_in_funnel
    assert merged.data_end == whole.data_end
    assert_same(fm.result_from_partial(merged, steps, params), fm.result_from_partial(whole, steps, params))


# --------------------------------------------------------------------------- run_funnel on the driver

def _partial_request(steps: Any, **kw: Any) -> Any:
    """The engine request fk.funnel builds (window 10 min, ordered unless ``mode``)."""
    import importlib

    fm = importlib.import_module("funnelkit.analyses.funnel")
    from funnelkit.journey.steps import resolve_steps

    spec = resolve_steps(steps)
    by = kw.pop("by", None)
    attribution = kw.pop("attribution", "first_touch")
    params, s, e = fm._checked_params(window=kw.pop("window", "10min"), mode=kw.pop("mode", "ordered"),
                                      window_from="entry", unit="user", by=by, attribution=attribution,
                                      max_groups=25, exclude=kw.pop("exclude", None), start=None, end=None,
                                      lang=None, on_unknown=kw.pop("on_unknown", "warn"))
    mode, step_attr = fm._attribution(params["attribution"], len(spec.steps)) if by is not None else (None, None)
    return fm._request(spec, params, s, e, session_col="session_id", attr_col=by,
                       attr_mode=kw.pop("attr_mode", mode), step_attr=step_attr, **kw)


def _partial_on(path: str, ev: pd.DataFrame, req: Any, tmp_path: Any) -> Any:
    """run_funnel on ``ev`` given as ``path`` says (see PATHS; spilled: a 1-byte budget)."""
    import dataclasses

    src: Any = ev
    if path not in ("frame", "tiny"):
        src = os.path.join(str(tmp_path), "ev.parquet")
        if not os.path.exists(src):
            ev.to_parquet(src, row_group_size=3)
    if "spilled" in path:
        req = dataclasses.replace(req, memory_budget=1, tmp_dir=str(tmp_path))
    with tiny_buckets() if path.startswith("tiny") else contextlib.nullcontext():
        return quiet(_run.run_funnel, src, req)


def _hand_log() -> pd.DataFrame:
    # user 10: a b c (within 10 min); 20: a, then n only; 30: n only (present, never in the
    # funnel: no rows kept in ordered mode); 40: b a (b before a: level 1). Variants: 10 and 40
    # in one arm each, 20 in both, 30 none.
    rows = [(10, 0, "a", "A"), (10, 1, "b", "A"), (10, 2, "c", None), (20, 0, "a", "A"), (20, 3, "n", "B"),
            (30, 1, "n", None), (30, 2, "n", None), (40, 5, "b", "B"), (40, 6, "a", "B"), (40, 9, "x", None)]
    return pd.DataFrame({"user_id": [r[0] for r in rows], "timestamp": T0 + pd.to_timedelta([r[1] for r in rows], unit="min"),
                         "event": [r[2] for r in rows], "variant": [r[3] for r in rows]})


@pytest.mark.parametrize("path", ["frame", "parquet", "tiny_spilled"])
@pytest.mark.parametrize("mode", ["ordered", "strict"])
def test_funnel_partial_pinned(path, mode, tmp_path):
    ev = _hand_log()
    req = _partial_request(["a", "b", "c"], mode=mode, by="variant", attr_mode="range")
    p = _partial_on(path, ev, req, tmp_path)
    assert p.unit_ids.tolist() == [10, 20, 30, 40]
    assert p.level.tolist() == [3, 1, 0, 1]
    nat = int(_run.NAT)
    t = [int((T0 + pd.Timedelta(minutes=m)).value) for m in range(10)]
    assert p.step_time.tolist() == [[t[0], t[1], t[2]], [t[0], nat, nat], [nat] * 3, [t[6], nat, nat]]
    assert p.excluded.tolist() == [False] * 4
    # the variant folded over every row, kept or not: 20 saw A and B, 30 none
    assert p.attr_values == ["A", "B"]
    assert p.attr.tolist() == [0, 0, -1, 1] and p.attr_max.tolist() == [0, 1, -1, 1]
    # rows matching a step (a strict funnel keeps every row but counts these alike)
    assert p.rows_in_funnel == 6 and p.n_rows == 10
    assert p.used == {"a", "b", "c", "n", "x"}
    assert p.data_end == t[9]
    assert p.spilled == (path == "tiny_spilled")


@pytest.mark.parametrize("attribution,want", [("step:2", [0, -1, -1, -1]),
                                              ("first_touch_unit", [0, 0, -1, 1]),
                                              ("last_touch_unit", [0, 1, -1, 1])])
def test_funnel_partial_attribute_per_row_or_unit(attribution, want, tmp_path):
    ev = _hand_log()
    req = _partial_request(["a", "b", "c"], by="variant", attribution=attribution)
    for path in ("frame", "tiny", "tiny_spilled"):
        p = _partial_on(path, ev, req, tmp_path)
        assert p.attr.tolist() == want and p.attr_max is None
    steps = run_on("parquet", _run.run_funnel, ev, _partial_request(["a", "b", "c"], by="variant",
                                                                     attribution="all_events"), tmp=str(tmp_path))
    # all_events: the variant on every step event of the reported attempt
    assert steps.attr.tolist() == [[0, 0, -1], [0, -1, -1], [-1, -1, -1], [1, -1, -1]]


def test_parquet_names_checked_after_the_read_before_any_bucket(tmp_path):
    """A Parquet file read directly has its event names only once read: the unknown-step check
    runs then, before the funnel runs on any bucket (as the frame's, before any work)."""
    from funnelkit.engine import drive as _drive
    from funnelkit.errors import UnknownEventError

    ev = _hand_log()
    path = tmp_path / "ev.parquet"
    ev.to_parquet(path, row_group_size=3)
    seen: list[str] = []
    real_fill = _drive.fill

    def fill(*a: Any, **k: Any) -> Any:
        seen.append("read")
        return real_fill(*a, **k)

    def bucket(*a: Any, **k: Any) -> Any:
        seen.append("bucket")
        raise AssertionError("no bucket runs")

    req = _partial_request(["a", "zz", "c"], on_unknown="raise")
    with mock.patch.object(_drive, "fill", fill), mock.patch.object(_run, "run_sorted", bucket):
        with pytest.raises(UnknownEventError, match="'zz'"):
            _run.run_funnel(str(path), req)
        assert seen == ["read"]
        seen.clear()
        with pytest.raises(UnknownEventError, match="'zz'"):  # a frame: before any work
            _run.run_funnel(ev, req)
        assert seen == []


# --------------------------------------------------------------------------- mutation audit (funnel analysis and driver)


def test_merge_sums_the_rows_dropped_while_reading_each_part():
    """Partials over disjoint units each count the rows their reading dropped; the merge
    adds them up, as one read of the whole log counts them.

    Part 1: users 1, 2 and a row without a user (null_user_id 1). Part 2: user 3, a row
    without a user and one without a time (null_user_id 1, null_timestamp 1). Merged and
    whole: {null_user_id: 2, null_timestamp: 1}."""
    from funnelkit.engine import merge

    t = [T0, T0 + pd.Timedelta("1min")]
    raw1 = pd.DataFrame({"user_id": [1, 1, 2, None], "timestamp": [t[0], t[1], t[0], t[0]],
                         "event": ["a", "b", "a", "a"]})
    raw2 = pd.DataFrame({"user_id": [3, 3, None, 3], "timestamp": [t[0], t[1], t[0], pd.NaT],
                         "event": ["a", "b", "b", "b"]})
    req = _partial_request(["a", "b"])
    parts = [_run.run_funnel(quiet(fk.read_events, raw, dropna=True), req) for raw in (raw1, raw2)]
    assert parts[0].dropped == {"null_user_id": 1}
    assert parts[1].dropped == {"null_user_id": 1, "null_timestamp": 1}
    merged = merge(parts)
    whole = _run.run_funnel(quiet(fk.read_events, pd.concat([raw1, raw2], ignore_index=True), dropna=True), req)
    assert merged.dropped == whole.dropped == {"null_user_id": 2, "null_timestamp": 1}
    assert merged.level.tolist() == whole.level.tolist() == [2, 1, 2]
