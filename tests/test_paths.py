"""analyses/paths.py: hand-made logs with known answers, drop-off paths against a reference,
matrices (and their group differences), parameter errors, retentioneering where installed."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funnelkit as fk
from funnelkit.analyses.paths import (PATHS_COLUMNS, dropoff_paths, paths, step_matrix,
                                      transition_matrix)
from funnelkit.errors import JourneyError, MissingColumnError, ParameterError, UnknownStageError

pytestmark = pytest.mark.filterwarnings("ignore::funnelkit.errors.DuplicateEventsWarning")


def log(rows) -> pd.DataFrame:
    """rows: (user, minute, event[, page])"""
    cols = ["user_id", "timestamp", "event", "page"][: len(rows[0])]
    ev = pd.DataFrame(rows, columns=cols)
    ev["timestamp"] = pd.to_datetime(ev["timestamp"] * 60, unit="s", utc=True)
    return ev


HAND = log([
    (1, 0, "home"), (1, 1, "home"), (1, 2, "search"), (1, 5, "cart"), (1, 6, "buy"),
    (2, 0, "home"), (2, 3, "search"), (2, 4, "help"),
    (3, 0, "ad"), (3, 1, "home"), (3, 2, "search"), (3, 3, "cart"),
    (4, 0, "search"), (4, 0, "home"),  # a tie at one time: ordered by value (home < search)
])


def test_hand_made_paths_from_the_start():
    res = paths(HAND, length=3)
    t = res.table
    assert list(t.columns) == list(PATHS_COLUMNS)
    got = dict(zip(t["path"], t["units"]))
    assert got == {"home → search → cart": 1, "home → search → help": 1, "ad → home → search": 1,
                   "home → search": 1}
    assert (t["units_total"] == 4).all()
    assert t["unit_share"].sum() == pytest.approx(1.0)
    # user 1: home@0 (repeat at 1 collapsed) ... cart@5: 5 minutes along the path
    row = t[t["path"] == "home → search → cart"].iloc[0]
    assert abs(row["median_time"] - pd.Timedelta("5min")) < pd.Timedelta("5min") * 0.023


def test_hand_made_anchors():
    assert paths(HAND, start="search", length=2).table.set_index("path")["units"].to_dict() == \
        {"search → cart": 2, "search → help": 1, "search": 1}
    end = paths(HAND, end="cart", length=3).table
    assert end.set_index("path")["units"].to_dict() == {"home → search → cart": 2}
    assert (end["units_total"] == 2).all()
    between = paths(HAND, start="home", end="buy", length=3).table
    assert between["path"].tolist() == ["home → search → … → buy"]
    assert between["elided"].tolist() == [True]
    rule = paths(HAND, start=fk.Rule(["ad", "help"]), length=2).table
    assert set(rule["path"]) == {"ad → home", "help"}


def test_unknown_anchor_warns_with_the_closest_name():
    with pytest.warns(fk.errors.FunnelkitWarning, match="search"):
        res = paths(HAND, start="serch")
    assert res.table.empty or res.table["units_total"].eq(0).all()


def test_no_collapse_every_occurrence_top_and_other():
    res = paths(HAND, length=2, collapse=False, occurrences="every", top=2)
    t = res.table
    assert t["path"].tolist()[:2] == ["home → search", "search → cart"]
    assert t["path"].iloc[-1] == "other"
    assert t["units"].iloc[-1] is pd.NA  # a unit may have several other paths
    total = t["paths"].sum()
    assert total == t["paths_total"].iloc[0] == 10  # windows of 2 tokens: 4 + 2 + 3 + 1
    assert res.links["units"].isna().all()  # several paths per unit: link units unknown
    assert t["path_share"].sum() == pytest.approx(1.0)
    ms = paths(HAND, length=3, min_share=0.3, top=None).table
    assert ms["path"].tolist() == ["other"]  # every path has 1 of 4 units


def test_links_and_nodes_of_the_flow():
    res = paths(HAND, length=3)
    links = res.links
    first = links[links["position"] == 1].set_index(["source", "target"])["units"].to_dict()
    assert first == {("home", "search"): 3, ("ad", "home"): 1}
    nodes = res.nodes
    p3 = nodes[nodes["position"] == 3].set_index("token")["units"].to_dict()
    assert p3 == {"cart": 1, "help": 1, "search": 1, "(end)": 1}


def test_property_and_stage_tokens():
    ev = log([(1, 0, "v", "/a"), (1, 1, "v", "/b"), (1, 2, "v", None), (1, 3, "v", "/b"),
              (2, 0, "v", "/b"), (2, 0, "v", "/a")])
    t = paths(ev, attr_col="page", length=3).table
    assert dict(zip(t["path"], t["units"])) == {"/a → /b": 2}
    j = fk.Journey({"discover": ["home", "ad"], "consider": ["search", "cart"], "buy": "buy"})
    st_ = paths(HAND, journey=j, length=3).table
    assert dict(zip(st_["path"], st_["units"])) == {"discover → consider → buy": 1, "discover → consider": 3}
    es = paths(HAND, journey=j, length=2, start="consider", lang="es").table
    assert set(es["path"]) == {"consider → buy", "consider"} or all("→" in p or p for p in es["path"])


def test_sessions_as_units():
    ev = fk.sessionize(HAND, timeout="2min")
    res = paths(ev, unit="session", length=2)
    assert res.table["units_total"].iloc[0] == ev["session_id"].nunique()
    with pytest.raises(MissingColumnError, match="sessionize"):
        paths(HAND, unit="session")


@pytest.mark.parametrize("kw, err, match", [
    (dict(length=0), ParameterError, "length"),
    (dict(length=2.5), ParameterError, "length"),
    (dict(unit="visit"), ParameterError, "unit"),
    (dict(occurrences="all"), ParameterError, "occurrences"),
    (dict(top=0), ParameterError, "top"),
    (dict(min_share=2), ParameterError, "min_share"),
    (dict(start=3), ParameterError, "start"),
    (dict(journey="five_stage"), JourneyError, "journey"),
    (dict(journey=fk.Journey({"a": "home"}), attr_col="page"), ParameterError, "either"),
    (dict(journey=fk.Journey({"a": "home"}), start="b"), UnknownStageError, "b"),
    (dict(memory_budget="1GB"), ParameterError, "memory_budget"),
    (dict(collapse="yes"), ParameterError, "collapse"),
])
def test_bad_parameters_raise_before_work(kw, err, match):
    with pytest.raises(err, match=match):
        paths(HAND, **kw)


def test_caller_frame_not_modified_and_row_order_invariant():
    before = HAND.copy()
    a = paths(HAND, length=3, occurrences="every")
    pd.testing.assert_frame_equal(HAND, before)
    b = paths(HAND.iloc[::-1].reset_index(drop=True), length=3, occurrences="every")
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.links, b.links)


# --------------------------------------------------------------------------- drop-off paths


def ref_dropoff(ev, res, k, length, direction):
    """Per group (0 dropped, 1 converted): Counter of paths, from the funnel's units."""
    units = res.units
    win = res.params["window"]
    e = ev.assign(t=ev["timestamp"].astype("int64"), tok=ev["event"].astype(str)).sort_values(
        ["user_id", "t", "tok"], kind="stable")
    by_unit = {u: g for u, g in e.groupby("user_id")}
    out = {0: Counter(), 1: Counter()}
    for uid, row in units.iterrows():
        lv = row["level"]
        if lv < k + 1:
            continue
        g = 1 if lv >= k + 2 else 0
        tk = row[res.steps[k]].value
        t1 = row[res.steps[0]].value
        rows = by_unit[uid]
        if direction == "after":
            hi = np.inf if win is None else t1 + win.value
            sel = rows[(rows["t"] > tk) & (rows["t"] <= hi)]
        else:
            lo = -np.inf if win is None else tk - win.value
            sel = rows[(rows["t"] < tk) & (rows["t"] >= lo)]
        toks = []
        for x in sel["tok"]:
            if not toks or toks[-1] != x:
                toks.append(x)
        toks = toks[:length] if direction == "after" else toks[-length:]
        out[g][tuple(toks)] += 1
    return out


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10**6), length=st.integers(1, 3), direction=st.sampled_from(["after", "before"]),
       window=st.sampled_from(["3min", None]))
def test_dropoff_paths_equal_the_reference(seed, length, direction, window):
    rng = np.random.default_rng(seed)
    n = 80
    ev = pd.DataFrame({"user_id": rng.integers(0, 10, n),
                       "timestamp": pd.to_datetime(rng.integers(0, 8, n) * 60, unit="s", utc=True),
                       "event": rng.choice(["a", "b", "c", "x"], n)})
    res = fk.funnel(ev, ["a", "b", "c"], window=window)
    for k in (0, 1):
        got = dropoff_paths(ev, res, step=k + 1, length=length, direction=direction, top=None).table
        want = ref_dropoff(ev, res, k, length, direction)
        for g, col in ((0, "dropped_units"), (1, "converted_units")):
            have = {tuple(t): int(n) for t, n in zip(got["tokens"], got[col]) if n}
            assert have == dict(want[g])
        lv = res.units["level"]
        assert (got["dropped_total"] == int((lv == k + 1).sum())).all()
        assert (got["converted_total"] == int((lv >= k + 2).sum())).all()


def test_dropoff_paths_hand_made_shares_and_difference():
    ev = log([(1, 0, "view"), (1, 1, "cart"), (1, 2, "buy"),
              (2, 0, "view"), (2, 1, "help"),
              (3, 0, "view"), (3, 1, "help"), (3, 2, "cart"),
              (4, 0, "view")])
    res = fk.funnel(ev, ["view", "buy"], window="1h")
    t = dropoff_paths(ev, res, step="view", length=1).table.set_index("path")
    assert t.loc["help", "dropped_units"] == 2 and t.loc["help", "dropped_total"] == 3
    assert t.loc["help", "dropped_share"] == pytest.approx(2 / 3)
    assert t.loc["(no further event)", "dropped_units"] == 1
    assert t.loc["cart", "converted_share"] == 1.0
    assert t.loc["cart", "share_difference"] == pytest.approx(0 - 1.0)
    before = dropoff_paths(ev, res, step=1, length=2, direction="before").table
    assert before["path"].tolist() == ["(no earlier event)"]
    with pytest.raises(ParameterError, match="last step"):
        dropoff_paths(ev, res, step=2)
    with pytest.raises(ParameterError, match="FunnelResult"):
        dropoff_paths(ev, "res", step=1)
    with pytest.raises(ParameterError, match="direction"):
        dropoff_paths(ev, res, step=1, direction="sideways")


def test_dropoff_respects_session_units_and_window():
    ev = log([(1, 0, "view"), (1, 1, "help"), (1, 100, "buy"), (1, 101, "view"), (1, 102, "buy")])
    ev = fk.sessionize(ev, timeout="30min")
    res = fk.funnel(ev, ["view", "buy"], window="1h", unit="session")
    t = dropoff_paths(ev, res, step=1, length=2).table.set_index("path")
    assert t.loc["help", "dropped_units"] == 1  # the first session dropped: help, not the later buy
    assert t.loc["buy", "converted_units"] == 1


# --------------------------------------------------------------------------- matrices


def test_transition_matrix_groups_and_difference():
    ev = log([(1, 0, "a"), (1, 1, "b"), (2, 0, "a"), (2, 1, "c"), (3, 0, "a"), (3, 1, "b")])
    ev["variant"] = ev["user_id"].map({1: "A", 2: "B", 3: "B"})
    tm = transition_matrix(ev, by="variant")
    t = tm.table
    assert set(t["group"]) == {"A", "B"}
    d = tm.difference.set_index(["source", "target"])
    assert d.loc[("a", "b"), "probability_a"] == 1.0
    assert d.loc[("a", "b"), "probability_b"] == 0.5
    assert d.loc[("a", "c"), "difference"] == 0.5
    assert tm.matrix(group="B").loc["a", "c"] == 0.5
    seg = pd.Series({1: "x", 2: "y"})  # unit 3 left out
    t2 = transition_matrix(ev, by=seg).table
    assert t2["transitions"].sum() == 2
    with pytest.raises(MissingColumnError):
        transition_matrix(ev, by="nope")
    with pytest.raises(ParameterError, match="groups"):
        transition_matrix(ev, by="variant", groups=("A", "Z"))


def test_step_matrix_shares_sum_to_one_and_difference():
    ev = log([(1, 0, "a"), (1, 1, "b"), (2, 0, "a"), (3, 0, "b"), (3, 1, "a"), (3, 2, "c")])
    ev["variant"] = ev["user_id"].map({1: "A", 2: "A", 3: "B"})
    sm = step_matrix(ev, max_steps=3)
    m = sm.matrix()
    np.testing.assert_allclose(m.sum(axis=0).to_numpy(), 1.0)
    assert m.loc["a", 1] == pytest.approx(2 / 3)
    assert m.loc["(end)", 2] == pytest.approx(1 / 3)
    d = step_matrix(ev, max_steps=2, by="variant").difference.set_index(["position", "token"])
    assert d.loc[(1, "b"), "difference"] == 1.0
    assert d.loc[(1, "a"), "share_a"] == 1.0
    st_ = step_matrix(ev, max_steps=2, start="b").matrix()
    assert st_.loc["b", 1] == 1.0


@pytest.mark.slow  # importing retentioneering takes most of it
def test_against_retentioneering_where_it_installs(monkeypatch):
    monkeypatch.setenv("RETENTIONEERING_NO_TRACK", "1")  # no analytics calls from the test
    pytest.importorskip("retentioneering")
    from retentioneering.eventstream import Eventstream

    rng = np.random.default_rng(2)
    n = 300
    ev = pd.DataFrame({"user_id": rng.integers(0, 40, n),
                       "timestamp": pd.to_datetime(rng.permutation(n) * 60, unit="s", utc=True),
                       "event": rng.choice(["a", "b", "c"], n)})  # distinct times: no tie rules involved
    stream = Eventstream(ev.assign(timestamp=ev["timestamp"].dt.tz_localize(None)))
    real = ["a", "b", "c"]
    got = transition_matrix(ev, collapse=False)
    for weight, value in (("count", "transitions"), ("unique_paths", "units")):
        want = stream.transition_graph_data(edge_weight=weight).loc[real, real]
        have = got.matrix(value).reindex(index=real, columns=real).fillna(0)
        np.testing.assert_allclose(have.to_numpy(), want.to_numpy())
    want = stream.step_matrix_data(max_steps=6).loc[real, [1, 2, 3, 4, 5, 6]]
    have = step_matrix(ev, max_steps=6).matrix().reindex(index=real, columns=[1, 2, 3, 4, 5, 6]).fillna(0)
    np.testing.assert_allclose(have.to_numpy(), want.to_numpy())


def test_dropoff_and_frictions_spilled_and_dask_equal_in_memory(tmp_path):
    from funnelkit.analyses.frictions import frictions

    rng = np.random.default_rng(4)
    n = 5000
    ev = pd.DataFrame({"user_id": rng.integers(0, 300, n),
                       "timestamp": pd.to_datetime(rng.integers(0, 60, n) * 60, unit="s", utc=True),
                       "event": rng.choice(["a", "b", "c", "x", "y"], n),
                       "channel": rng.choice(["ads", "mail", None], n)})
    res = fk.funnel(ev, ["a", "b", "c"], window="20min")
    units_before = res.units.copy()
    want = dropoff_paths(ev, res, step=2, length=2, top=None).table
    want_fr = frictions(ev, res, step=2, properties=["channel"], min_units=1).table
    path = tmp_path / "ev.parquet"
    ev.to_parquet(path, row_group_size=700)
    got = dropoff_paths(str(path), res, step=2, length=2, top=None, memory_budget=1 << 12).table
    pd.testing.assert_frame_equal(got, want)
    got_fr = frictions(str(path), res, step=2, properties=["channel"], min_units=1, memory_budget=1 << 12).table
    pd.testing.assert_frame_equal(got_fr, want_fr)
    dd = pytest.importorskip("dask.dataframe")
    import dask

    with dask.config.set(scheduler="synchronous"):
        got = dropoff_paths(dd.from_pandas(ev, npartitions=3), res, step=2, length=2, top=None).table
        got_fr = frictions(dd.from_pandas(ev, npartitions=3), res, step=2, properties=["channel"], min_units=1).table
    pd.testing.assert_frame_equal(got, want)
    pd.testing.assert_frame_equal(got_fr, want_fr)
    pd.testing.assert_frame_equal(res.units, units_before)  # the caller's result is untouched


def test_results_are_frozen_and_render():
    res = paths(HAND, length=2)
    with pytest.raises(Exception):
        res.table = None  # type: ignore[misc]
    html = res._repr_html_()
    assert "home → search" in html and "<table" in html
    copy = res.to_frame()
    copy.loc[0, "units"] = 99
    assert res.table.loc[0, "units"] != 99
    assert "PathsResult" in repr(res)
    assert "<table" in transition_matrix(HAND)._repr_html_() and "<table" in step_matrix(HAND)._repr_html_()


def test_stage_tokens_settle_repeat_rules():
    ev = log([(1, 0, "buy"), (1, 1, "view"), (1, 2, "buy"), (2, 0, "buy")])
    j = fk.Journey({"browse": "view", "buy": "buy", "rebuy": fk.repeat("buy", nth=2)})
    t = paths(ev, journey=j, length=3).table
    assert dict(zip(t["path"], t["units"])) == {"buy → browse → rebuy": 1, "buy": 1}


def test_tmp_dir_is_checked_before_any_work_and_receives_the_spills(tmp_path, monkeypatch):
    """paths, dropoff_paths, the matrices and frictions take tmp_dir= as a funnel does."""
    import funnelkit.engine.buckets as buckets
    from funnelkit.errors import FunnelkitError

    ev = fk.load_sample("shop")
    ev = ev[ev["user_id"] < 2000].reset_index(drop=True)
    path = tmp_path / "ev.parquet"
    ev.to_parquet(path)
    res = fk.funnel(ev, ["landing", "product_view", "purchase"])
    missing = tmp_path / "missing"
    calls = [lambda **kw: paths(str(path), length=3, **kw),
             lambda **kw: dropoff_paths(str(path), res, step=2, **kw),
             lambda **kw: transition_matrix(str(path), **kw),
             lambda **kw: step_matrix(str(path), max_steps=3, **kw),
             lambda **kw: fk.frictions(str(path), res, step=2, **kw)]
    for call in calls:
        with pytest.raises(FunnelkitError, match="does not exist"):
            call(memory_budget=1, tmp_dir=missing)
    seen = []
    real = buckets.Buckets._write

    def spy(self, *a, **k):
        seen.append(self.tmp.parent)
        return real(self, *a, **k)

    monkeypatch.setattr(buckets.Buckets, "_write", spy)
    spill = tmp_path / "spill"
    spill.mkdir()
    got = paths(str(path), length=3, memory_budget=1, tmp_dir=spill).table
    assert seen and set(seen) == {spill} and list(spill.iterdir()) == []
    pd.testing.assert_frame_equal(got, paths(ev, length=3).table)


def test_dropoff_and_frictions_with_a_step_named_like_a_units_column():
    # a step named "level" collides with the units' level column: the drop-off paths and
    # frictions must equal those of the same log with the step renamed
    rng = np.random.default_rng(3)
    rows = []
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    for u in range(60):
        t = t0 + pd.Timedelta(minutes=u)
        rows.append((u, t, "visit", "ads" if u % 3 else "seo"))
        if rng.random() < 0.7:
            rows.append((u, t + pd.Timedelta(seconds=30), "level", "ads"))
            rows.append((u, t + pd.Timedelta(seconds=40), rng.choice(["help", "faq"]), "ads"))
            if rng.random() < 0.5:
                rows.append((u, t + pd.Timedelta(seconds=90), "buy", "ads"))
    ev = pd.DataFrame(rows, columns=["user_id", "timestamp", "event", "channel"])
    renamed = ev.assign(event=ev["event"].replace({"level": "lvl"}))
    res = fk.funnel(ev, ["visit", "level", "buy"])
    res2 = fk.funnel(renamed, ["visit", "lvl", "buy"])
    a = fk.dropoff_paths(ev, res, step=2, length=2).table
    b = fk.dropoff_paths(renamed, res2, step=2, length=2).table
    assert a["dropped_units"].sum() > 0
    pd.testing.assert_frame_equal(a.drop(columns=["path", "tokens"], errors="ignore"),
                                  b.drop(columns=["path", "tokens"], errors="ignore"))
    fa = fk.frictions(ev, res, step=2, properties=["channel"]).table
    fb = fk.frictions(renamed, res2, step=2, properties=["channel"]).table
    assert len(fa) > 0
    cols = [c for c in fa.columns if fa[c].dtype.kind in "fiu"]
    pd.testing.assert_frame_equal(fa[cols], fb[cols])


# --------------------------------------------------------------------------- mutation audit


def test_property_tokens_with_event_anchors_order_ties_by_the_property():
    # at t=0 the rows (a, /z) and (b, /y) tie: ordered by the token (/y < /z), not by the
    # event, so the history is /y, /z, /x and the path from the first "a" row is /z → /x
    ev = log([(1, 0, "a", "/z"), (1, 0, "b", "/y"), (1, 1, "c", "/x")])
    assert paths(ev, attr_col="page", start="a", length=3).table["path"].tolist() == ["/z → /x"]


def test_collapsed_run_is_an_anchor_when_any_of_its_rows_is():
    # pages /a /a /b /c /c: the run /a holds v then s (start), the run /c holds v then e
    # (end), so both runs are anchors although their first rows are not
    ev = log([(1, 0, "v", "/a"), (1, 1, "s", "/a"), (1, 2, "v", "/b"), (1, 3, "v", "/c"), (1, 4, "e", "/c")])
    assert paths(ev, attr_col="page", start="s", length=3).table["path"].tolist() == ["/a → /b → /c"]
    assert paths(ev, attr_col="page", end="e", length=3).table["path"].tolist() == ["/a → /b → /c"]


def test_every_occurrence_ranks_by_occurrences_then_units():
    # a b a b a b: a → b 3 times (1 unit), b → a twice (1 unit); c → d twice (2 units)
    ev = log([(1, 0, "a"), (1, 1, "b"), (1, 2, "a"), (1, 3, "b"), (1, 4, "a"), (1, 5, "b"),
              (2, 0, "c"), (2, 1, "d"), (3, 0, "c"), (3, 1, "d")])
    t = paths(ev, length=2, collapse=False, occurrences="every").table
    assert t["path"].tolist() == ["a → b", "c → d", "b → a"]
    assert t["paths"].tolist() == [3, 2, 2] and t["units"].tolist() == [1, 2, 1]
    top1 = paths(ev, length=2, collapse=False, occurrences="every", top=1).table
    assert top1["path"].tolist() == ["a → b", "other"] and top1["paths"].tolist() == [3, 4]


def test_min_share_keeps_a_path_exactly_at_the_share():
    # HAND, length 3: four paths, each with 1 of the 4 units (share 0.25, kept by >= 0.25)
    t = paths(HAND, length=3, min_share=0.25, top=None).table
    assert len(t) == 4 and "other" not in set(t["path"])


def test_end_anchored_nodes_do_not_count_positions_before_a_short_path():
    # end="cart", length 4: user 1's path home → search → cart has 3 tokens, right-aligned,
    # so position 1 holds only user 3's "ad" (no "(end)" node before a path)
    r = paths(HAND, end="cart", length=4)
    nodes = r.nodes
    p1 = nodes[nodes["position"] == 1].set_index("token")["units"].to_dict()
    assert p1 == {"ad": 1}
    assert "(end)" not in set(nodes["token"])


def test_dropoff_after_with_window_from_previous_ends_at_step_time_plus_window():
    # window 10min from the previous step; step 2 is cart. User 1: cart@8, buy@30 is too late
    # (dropped); its range is (8, 18]: help@15. User 2 converts (cart@5, buy@14): (5, 15]:
    # faq@12, buy@14. Measured from entry (0 + 10) both ranges would be nearly empty.
    ev = log([(1, 0, "view"), (1, 8, "cart"), (1, 15, "help"), (1, 30, "buy"),
              (2, 0, "view"), (2, 5, "cart"), (2, 12, "faq"), (2, 14, "buy")])
    res = fk.funnel(ev, ["view", "cart", "buy"], window="10min", window_from="previous")
    t = dropoff_paths(ev, res, step=2, length=2).table.set_index("path")
    assert t.loc["help", "dropped_units"] == 1
    assert t.loc["faq → buy", "converted_units"] == 1
    assert "(no further event)" not in t.index


def test_dropoff_paths_rank_dropped_then_converted():
    # x and y both have 1 dropped unit; y also has 1 converted unit, so it comes first
    ev = log([(1, 0, "view"), (1, 1, "x"), (2, 0, "view"), (2, 1, "y"), (3, 0, "view"), (3, 1, "y"),
              (3, 2, "buy"), (4, 0, "view"), (4, 1, "buy")])
    res = fk.funnel(ev, ["view", "buy"], window="1h")
    t = dropoff_paths(ev, res, step=1, length=1).table
    assert t["path"].tolist() == ["y", "x", "buy"]
    assert t["dropped_units"].tolist() == [1, 1, 0] and t["converted_units"].tolist() == [1, 0, 1]


# --------------------------------------------------------------------------- column checks on files


@pytest.mark.parametrize("layout", ["pq_file", "hive_dir"])
def test_column_arguments_are_checked_against_a_parquet_path_before_any_work(parquet_layout, layout, spy_calls):
    # a .pq file and a hive-partitioned directory: a by= or unit='session' column the log
    # lacks is named before the engine runs (the check used to skip both layouts)
    import funnelkit.engine.drive as engine_drive

    ev = HAND.assign(country=np.where(HAND["user_id"].astype(str) < "3", "ES", "FR"))
    path = parquet_layout(ev, layout, "country")
    runs = spy_calls(engine_drive, "drive")
    with pytest.raises(MissingColumnError, match="'nope'"):
        transition_matrix(path, by="nope")
    with pytest.raises(MissingColumnError, match="session"):
        paths(path, unit="session")
    assert runs == []
    # the partition column is a column: by= it works
    assert transition_matrix(path, by="country").table["transitions"].sum() > 0
    assert runs
