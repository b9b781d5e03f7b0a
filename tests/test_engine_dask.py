"""funnelkit.engine.dask: a Dask DataFrame is shuffled on the unit, then every partition
runs the same driver (funnelkit.engine.run) on a worker, and the partials are merged.

On a ``distributed.LocalCluster`` with two workers, ``fk.funnel(ddf, ...)`` and
``fk.experiment(ddf, ...)`` equal the in-memory results exactly (string ids, ``by=``
with every attribution, ``where=`` rules, ``unit="session"``, journeys with
``repeat()``/``after()``); typos fail before any shuffle; missing columns raise
``MissingColumnError``.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import funnelkit as fk
from funnelkit.errors import MissingColumnError, UnknownEventError
from test_engine_run import (
    assert_same,
    assert_same_experiment,
    examples,
    hex_id,
    logs,
    outcome,
    quiet,
    shuffled,
    with_variants,
)

pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

import dask.dataframe as dd  # noqa: E402

STEPS = ["landing", "product_view", "add_to_cart", "purchase"]


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def shop():
    ev = fk.datasets.make_shop(n_users=800, seed=3)
    ev = fk.sessionize(ev, timeout="30min")
    ev["user_id"] = [hex_id(u) for u in ev["user_id"]]  # 32-hex string ids
    return shuffled(ev, 4)


def _ddf(ev, n=4):
    return dd.from_pandas(ev, npartitions=n, sort=False)


CASES = [
    dict(),
    dict(by="channel"),
    dict(by="channel", attribution="last_touch", mode="strict"),
    dict(by="device", attribution="step:2", window="1D"),
    dict(mode="any_order", window="1D", by="device"),
    dict(unit="session", window="1h", exclude=[("search", 1, 3)]),
    dict(unit="session", by="channel", attribution="step:1", window_from="previous", window="30min"),
]


@pytest.mark.parametrize("kw", CASES, ids=[str(c) for c in CASES])
def test_funnel_on_a_cluster_equals_memory(client, shop, kw):
    journey = fk.datasets.shop_journey()  # after() and repeat() rules
    want = fk.funnel(shop, journey, **kw)
    assert_same(fk.funnel(_ddf(shop), journey, **kw), want)
    assert_same(fk.funnel(_ddf(shop, 3), STEPS, **kw), fk.funnel(shop, STEPS, **kw))


def test_where_rules_and_overlapping_steps_on_a_cluster(client, shop):
    j = fk.Journey({"in": fk.Rule(["landing", "ad_click"], where={"device": "mobile"}),
                    "look": "product_view", "buy": "purchase"})
    for kw in (dict(), dict(by="channel", attribution="step:3")):
        assert_same(fk.funnel(_ddf(shop), j, **kw), fk.funnel(shop, j, **kw))
    overlap = fk.Journey({"any": fk.Rule(regex=".*"), "look": "product_view",
                          "mobile_look": fk.Rule("product_view", where={"device": "mobile"})})
    assert_same(fk.funnel(_ddf(shop), overlap, window="1D"), fk.funnel(shop, overlap, window="1D"))


def test_experiment_on_a_cluster_equals_memory(client, shop):
    ev = shop.copy()
    v = ev["variant"].astype(object).to_numpy().copy()
    users = ev["user_id"].to_numpy()
    some = np.unique(users)[:5]
    first = np.array([np.flatnonzero(users == u)[0] for u in some])
    v[first] = np.where(v[first] == "A", "B", "A")  # seen in both arms: left out
    ev["variant"] = v
    journey = fk.datasets.shop_journey()
    for kw in (dict(), dict(window="1D", mode="strict", sequential=True)):
        want = fk.experiment(ev, journey, variant_col="variant", control="A", **kw)
        assert_same_experiment(fk.experiment(_ddf(ev), journey, variant_col="variant", control="A", **kw), want)
    assert want.diagnostics["multiple_exposure_users"] > 0


def test_typos_fail_before_any_shuffle(client, shop):
    ddf = _ddf(shop)

    def no_shuffle(*args, **kwargs):
        raise AssertionError("the data was shuffled before the steps were checked")

    with mock.patch.object(type(ddf), "shuffle", no_shuffle):
        with pytest.raises(UnknownEventError, match="'purchse'.*'purchase'") as err:
            fk.funnel(ddf, ["landing", "purchse"], on_unknown="raise")
        with pytest.raises(UnknownEventError) as mem:
            fk.funnel(shop, ["landing", "purchse"], on_unknown="raise")
        assert str(err.value) == str(mem.value)
        with pytest.raises(UnknownEventError, match="serch"):
            fk.funnel(ddf, STEPS, exclude=[("serch", 1, 2)], on_unknown="raise")
    with pytest.warns(fk.errors.FunnelkitWarning, match="purchse"):
        res = fk.funnel(ddf, ["landing", "purchse"])  # by default: zero units, warned before the shuffle
    assert res.table["units"].tolist()[1] == 0


def test_missing_columns_on_a_cluster(client, shop):
    ddf = _ddf(shop)
    with pytest.raises(MissingColumnError):
        fk.funnel(ddf.drop(columns=["event"]), STEPS)
    with pytest.raises(MissingColumnError, match="chanel"):
        fk.funnel(ddf, STEPS, by="chanel")
    with pytest.raises(MissingColumnError, match="sessionize"):
        fk.funnel(ddf.drop(columns=["session_id"]), STEPS, unit="session")
    with pytest.raises(fk.errors.JourneyError, match="url"):  # as for a frame or a file
        fk.funnel(ddf, fk.Journey({"a": fk.Rule("landing", where={"url": "/"})}))
    with pytest.raises(MissingColumnError, match="varaint"):
        fk.experiment(ddf, STEPS, variant_col="varaint", control="A")


@st.composite
def experiment_logs(draw):
    return with_variants(draw, draw(logs(max_units=10)))


@given(ev=logs(), parts=st.integers(1, 4),
       kw=st.sampled_from([dict(), dict(by="channel"), dict(by="channel", attribution="step:2", mode="strict"),
                           dict(mode="any_order", window="2min", by="channel", attribution="last_touch"),
                           dict(window="2min", exclude=[("x", 1, 2)])]),
       steps=st.sampled_from([["a", "b", "c"], ["a", "b", "a"],
                              fk.Journey({"s1": "a", "s2": fk.Rule(["a", "b"], where={"url": "/checkout"}),
                                          "s3": "c"})]))
@examples(12)
def test_property_dask_equals_memory(client, ev, parts, kw, steps):
    if isinstance(steps, fk.Journey) and kw.get("mode") in ("strict", "any_order"):
        kw = dict(kw, mode="ordered")
    want = outcome(quiet, fk.funnel, ev, steps, **kw)
    assert_same(outcome(quiet, fk.funnel, _ddf(ev, parts), steps, **kw), want)


@given(ev=experiment_logs(), parts=st.integers(1, 3))
@examples(8)
def test_property_dask_experiment_equals_memory(client, ev, parts):
    kw = dict(variant_col="variant", control="A", window="2min")
    want = outcome(quiet, fk.experiment, ev, ["a", "b", "c"], **kw)
    assert_same_experiment(outcome(quiet, fk.experiment, _ddf(ev, parts), ["a", "b", "c"], **kw), want)


# --------------------------------------------------------------------------- mutation audit (funnel analysis and driver)


def test_start_and_end_bound_entries_on_a_cluster(client):
    """start=/end= reach every partition: only step-1 events in [start, end) start attempts.

    User 1: a@00:00, b@00:10 (before start: level 0); user 2: a@00:30, b@00:40 (level 2);
    user 3: a@01:00 (at end, excluded: level 0); user 4: a@00:45, b@01:10 (entered in
    range, b may fall after end: level 2). Table: [2, 2]."""
    import pandas as pd

    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    at = [t0 + pd.Timedelta(minutes=m) for m in (0, 10, 30, 40, 60, 45, 70)]
    ev = pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 4, 4], "timestamp": at,
                       "event": ["a", "b", "a", "b", "a", "a", "b"]})
    kw = dict(window="1h", start="2024-01-01 00:20", end="2024-01-01 01:00")
    want = fk.funnel(ev, ["a", "b"], **kw)
    assert want.units["level"].tolist() == [0, 2, 0, 2]
    got = fk.funnel(_ddf(ev, 2), ["a", "b"], **kw)
    assert got.units["level"].tolist() == [0, 2, 0, 2]
    assert got.table["units"].tolist() == [2, 2]
    assert_same(got, want)
