"""Tests for funnelkit.funnel: hand-made logs with known answers and property tests."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import funnelkit as fk
from funnelkit.errors import (
    FunnelkitWarning,
    MissingColumnError,
    ParameterError,
    UnknownEventError,
    UnknownStageError,
)
from funnelkit.analyses.funnel import TABLE_COLUMNS

T0 = pd.Timestamp("2024-01-01", tz="UTC")


def log(rows, **props):
    """rows: (user, seconds, event); extra columns as keyword lists."""
    df = pd.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "timestamp": (T0 + pd.to_timedelta([r[1] for r in rows], unit="s")).as_unit("ns"),
            "event": pd.Categorical([r[2] for r in rows]),
        }
    )
    for k, v in props.items():
        df[k] = v
    return df


def counts(res):
    return res.table["units"].tolist()


# --------------------------------------------------------------------------- the table


def test_table_columns_and_values():
    ev = log([
        (1, 0, "A"), (1, 60, "B"), (1, 180, "C"),
        (2, 0, "A"), (2, 120, "B"),
        (3, 0, "A"),
        (4, 0, "B"),  # never enters
    ])
    res = fk.funnel(ev, ["A", "B", "C"], window="1h")
    t = res.table
    assert tuple(t.columns) == TABLE_COLUMNS
    assert t["step"].tolist() == ["A", "B", "C"]
    assert counts(res) == [3, 2, 1]
    np.testing.assert_allclose(t["conversion_rate"], [1, 2 / 3, 1 / 3])
    np.testing.assert_allclose(t["step_conversion_rate"], [1, 2 / 3, 1 / 2])
    assert t["dropoff"].tolist() == [0, 1, 1]
    np.testing.assert_allclose(t["dropoff_rate"], [0, 1 / 3, 1 / 2])
    assert pd.isna(t["median_time_from_previous"].iloc[0])
    assert t["median_time_from_previous"].iloc[1] == pd.Timedelta("90s")
    assert t["mean_time_from_previous"].iloc[1] == pd.Timedelta("90s")
    assert t["p90_time_from_previous"].iloc[1] == pd.Timedelta("114s")  # linear interpolation of 60, 120
    assert t["median_time_from_previous"].iloc[2] == pd.Timedelta("120s")
    u = res.units
    assert u.index.name == "user_id" and u.index.tolist() == [1, 2, 3, 4]
    assert u["level"].tolist() == [3, 2, 1, 0]
    assert u.loc[1, "C"] == T0 + pd.Timedelta("180s")
    assert pd.isna(u.loc[3, "B"])


def test_window_edge_inclusive():
    ev = log([(1, 0, "A"), (1, 3600, "B"), (2, 0, "A"), (2, 3600, "B")])
    ev.loc[3, "timestamp"] += pd.Timedelta(1, "ns")
    res = fk.funnel(ev, ["A", "B"], window="1h")
    assert res.units["level"].tolist() == [2, 1]


def test_same_timestamp_converts_in_step_order():
    # B is listed before A in the input but both at the same instant: converts.
    ev = log([(1, 10, "B"), (1, 10, "A")])
    assert counts(fk.funnel(ev, ["A", "B"], window="1min")) == [1, 1]
    # and the zero duration is reported
    res = fk.funnel(ev, ["A", "B"], window="1min")
    assert res.table["median_time_from_previous"].iloc[1] == pd.Timedelta(0)
    assert res.diagnostics["zero_durations"]["B"] == 1


def test_repeated_step_needs_two_events():
    one = log([(1, 0, "A"), (1, 5, "B")])
    two = log([(1, 0, "A"), (1, 1, "A"), (1, 5, "B")])
    assert counts(fk.funnel(one, ["A", "A", "B"], window="1h")) == [1, 0, 0]
    res = fk.funnel(two, ["A", "A", "B"], window="1h")
    assert counts(res) == [1, 1, 1]
    assert res.table["step"].tolist() == ["A", "A (2)", "B"]


def test_later_entry_converts_and_timings_come_from_it():
    ev = log([(1, 0, "A"), (1, 7200, "A"), (1, 7300, "B")])
    res = fk.funnel(ev, ["A", "B"], window="1h")
    assert counts(res) == [1, 1]
    assert res.units.loc[1, "A"] == T0 + pd.Timedelta("7200s")
    assert res.table["median_time_from_previous"].iloc[1] == pd.Timedelta("100s")


def test_strict_breaks_on_interleaved_event():
    ev = log([(1, 0, "A"), (1, 1, "X"), (1, 2, "B"), (2, 0, "A"), (2, 2, "B")])
    assert counts(fk.funnel(ev, ["A", "B"], window="1h", mode="strict")) == [2, 1]
    assert counts(fk.funnel(ev, ["A", "B"], window="1h", mode="ordered")) == [2, 2]


def test_any_order():
    ev = log([(1, 0, "C"), (1, 10, "A"), (2, 0, "B"), (2, 5000, "A")])
    res = fk.funnel(ev, ["A", "B", "C"], window="1h", mode="any_order")
    assert counts(res) == [2, 1, 0]


def test_window_from_previous():
    ev = log([(1, 0, "A"), (1, 3000, "B"), (1, 6000, "C")])
    assert counts(fk.funnel(ev, ["A", "B", "C"], window="1h")) == [1, 1, 0]
    assert counts(fk.funnel(ev, ["A", "B", "C"], window="1h", window_from="previous")) == [1, 1, 1]


def test_no_window():
    ev = log([(1, 0, "A"), (1, 10**7, "B")])
    assert counts(fk.funnel(ev, ["A", "B"], window=None)) == [1, 1]
    assert fk.funnel(ev, ["A", "B"], window=None).censored is None


def test_exclusion_taints_but_tie_does_not():
    ev = log([
        (1, 0, "A"), (1, 5, "X"), (1, 10, "B"),  # X strictly between: tainted -> left out
        (2, 0, "A"), (2, 10, "X"), (2, 10, "B"),  # X at the same instant as B: clean
        (3, 0, "A"), (3, 10, "B"),
    ])
    res = fk.funnel(ev, ["A", "B"], window="1h", exclude=[("X", "A", "B")])
    assert counts(res) == [2, 2]
    assert res.diagnostics["units_excluded"] == 1
    assert res.units.loc[1, "excluded"]
    with pytest.raises(ParameterError, match="step of the funnel|is an event of funnel step"):
        fk.funnel(ev, ["A", "B"], exclude=[("A", 1, 2)])
    with pytest.warns(FunnelkitWarning, match="no event 'Y'.*excludes nothing"):
        res_y = fk.funnel(ev, ["A", "B"], window="1h", exclude=[("Y", 1, 2)])
    assert counts(res_y) == [3, 3]  # an absent excluded event excludes nothing
    with pytest.raises(UnknownEventError, match="'Y'"):
        fk.funnel(ev, ["A", "B"], exclude=[("Y", 1, 2)], on_unknown="raise")


def test_start_end_bound_entries_only():
    ev = log([(1, 0, "A"), (1, 86400 * 2, "B"), (2, 86400 * 3, "A"), (2, 86400 * 3 + 5, "B")])
    res = fk.funnel(ev, ["A", "B"], window="7D", start=T0, end=T0 + pd.Timedelta("1D"))
    assert counts(res) == [1, 1]  # user 1's B after `end` still converts; user 2 starts too late
    with pytest.raises(ParameterError, match="before"):
        fk.funnel(ev, ["A", "B"], start="2024-02-01", end="2024-01-01")


def test_censored_counts():
    # data ends at t=100s; user 2 entered at t=90 with a 1-minute window still open.
    ev = log([(1, 0, "A"), (2, 90, "A"), (3, 100, "Z")])
    with pytest.warns(FunnelkitWarning, match="'B'"):  # no B event yet: a warning, not an error
        res = fk.funnel(ev, ["A", "B"], window="1min")
    assert res.censored["censored"].tolist() == [0, 1]


def test_breakdown_sums_to_total_and_attribution():
    ev = log(
        [
            (1, 0, "A"), (1, 5, "B"),
            (2, 0, "A"), (2, 5, "B"),
            (3, 0, "A"),
            (4, 0, "A"),
        ],
        channel=["ads", "mail", "mail", None, None, "ads"],
    )
    res = fk.funnel(ev, ["A", "B"], window="1h", by="channel")
    bd = res.breakdown
    assert set(bd.columns) == {"channel", *TABLE_COLUMNS}
    total = bd.groupby("step", sort=False)["units"].sum().tolist()
    assert total == counts(res)
    first = bd[bd["step"] == "A"].set_index("channel")["units"].to_dict()
    assert first == {"ads": 2, "mail": 1, "(missing)": 1}
    last = fk.funnel(ev, ["A", "B"], window="1h", by="channel", attribution="last_touch").breakdown
    assert last[last["step"] == "A"].set_index("channel")["units"].to_dict() == {"mail": 2, "ads": 1, "(missing)": 1}
    s2 = fk.funnel(ev, ["A", "B"], window="1h", by="channel", attribution="step:2").breakdown
    # step:2 = the value on the step-2 event; units that did not reach step 2 are "(missing)"
    assert s2[s2["step"] == "A"].set_index("channel")["units"].to_dict() == {"mail": 1, "(missing)": 3}
    assert s2[s2["step"] == "B"].set_index("channel")["units"].to_dict() == {"mail": 1, "(missing)": 1}


def test_max_groups_merges_other():
    rows = [(u, 0, "A") for u in range(6)]
    ev = log(rows, channel=["a", "a", "b", "b", "c", "d"])
    bd = fk.funnel(ev, ["A"], window="1h", by="channel", max_groups=2).breakdown
    assert bd.set_index("channel")["units"].to_dict() == {"a": 2, "b": 2, "Other": 2}


def test_unit_session():
    ev = log([(1, 0, "A"), (1, 10, "B"), (1, 5000, "A")])
    ses = fk.sessionize(ev, timeout="30min")
    res = fk.funnel(ses, ["A", "B"], window="1D", unit="session")
    assert counts(res) == [2, 1]
    with pytest.raises(MissingColumnError, match="sessionize"):
        fk.funnel(ev, ["A", "B"], unit="session")


def test_journey_funnel_with_repeat_and_after():
    ev = log([
        (1, 0, "landing"), (1, 10, "purchase"), (1, 20, "app_open"), (1, 30, "purchase"),
        (2, 0, "landing"), (2, 5, "app_open"), (2, 10, "purchase"),
    ])
    j = fk.Journey.preset("five_stage", events={
        "discovery": "landing", "purchase": "purchase",
        "use": fk.after("purchase", "app_open"), "loyalty": fk.repeat("purchase", nth=2)})
    res = fk.funnel(ev, j, window="1D")
    assert counts(res) == [2, 2, 1, 1]
    assert res.table["label"].tolist() == ["Discovery", "Purchase", "Use", "Loyalty"]
    assert fk.funnel(ev, j, window="1D", lang="es").table["label"].tolist() == [
        "Descubrimiento", "Compra", "Uso", "Fidelización"]


def test_bad_parameters_are_clear():
    ev = log([(1, 0, "A"), (1, 5, "B")])
    with pytest.raises(ParameterError, match="bare number"):
        fk.funnel(ev, ["A", "B"], window=3600)
    with pytest.raises(ParameterError, match="Did you mean 'ordered'"):
        fk.funnel(ev, ["A", "B"], mode="orderd")
    with pytest.raises(UnknownEventError, match="did you mean 'B'|'Bb'"):
        fk.funnel(ev, ["A", "Bb"], on_unknown="raise")
    with pytest.raises(ParameterError, match="on_unknown.*'warn'.*'raise'"):
        fk.funnel(ev, ["A", "B"], on_unknown="ignore")
    with pytest.raises(MissingColumnError, match="chanel"):
        fk.funnel(ev, ["A", "B"], by="chanel")
    with pytest.raises(ParameterError, match="step:N"):
        ev2 = ev.assign(channel="x")
        fk.funnel(ev2, ["A", "B"], by="channel", attribution="step:9")


def test_caller_frame_not_modified():
    ev = log([(1, 0, "A"), (1, 5, "B"), (2, 1, "A")], channel=["x", None, "y"])
    before = ev.copy(deep=True)
    fk.funnel(ev, ["A", "B"], window="1h", by="channel")
    pd.testing.assert_frame_equal(ev, before)


def test_repr_and_html():
    ev = log([(1, 0, "<b>A</b>"), (1, 5, "B")])
    res = fk.funnel(ev, ["<b>A</b>", "B"], window="1h")
    assert "FunnelResult(2 steps" in repr(res)
    html = res._repr_html_()
    assert "&lt;b&gt;A&lt;/b&gt;" in html and "<b>A</b>" not in html.replace("<b>Funnel", "")
    assert res.to_frame().equals(res.table)


# --------------------------------------------------------------------------- properties

events_st = st.lists(
    st.tuples(st.integers(0, 4), st.integers(0, 40), st.sampled_from(["A", "B", "C", "X"])),
    min_size=1,
    max_size=40,
)


@pytest.mark.filterwarnings("ignore::funnelkit.errors.FunnelkitWarning")
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=events_st, window=st.sampled_from([None, "0s", "5s", "10s", "30s"]),
       mode=st.sampled_from(["ordered", "strict", "any_order"]), seed=st.integers(0, 2**16))
def test_row_order_invariance(rows, window, mode, seed):
    ev = log(rows)
    shuffled = ev.sample(frac=1, random_state=seed).reset_index(drop=True)
    a = fk.funnel(ev, ["A", "B", "C"], window=window, mode=mode)
    b = fk.funnel(shuffled, ["A", "B", "C"], window=window, mode=mode)
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.units, b.units)


@pytest.mark.filterwarnings("ignore::funnelkit.errors.FunnelkitWarning")
@settings(max_examples=100, deadline=None)
@given(rows=events_st, window=st.sampled_from([None, "5s", "30s"]))
def test_counts_never_increase_and_noise_changes_nothing(rows, window):
    ev = log(rows)
    res = fk.funnel(ev, ["A", "B", "A", "C"], window=window)
    c = counts(res)
    assert all(x >= y for x, y in zip(c, c[1:]))
    noise = log(rows + [(u, s, "N") for u, s, _ in rows])
    res2 = fk.funnel(noise, ["A", "B", "A", "C"], window=window)
    assert counts(res2) == c
    pd.testing.assert_frame_equal(res.units, res2.units)


def _reference_funnel(rows, steps, window_s, mode):
    """Plain-Python funnel straight from DESIGN §4: sort each user's events by
    (timestamp, position of the event's first step, input row), then the reference
    kernels on that order; returns (level per user, step times per user)."""
    from _reference import ref_any_order, ref_ordered, ref_strict_repeats as ref_strict

    users = sorted({u for u, _, _ in rows})
    syms = list(dict.fromkeys(steps))
    first_pos = {e: steps.index(e) for e in syms}
    K = len(steps)
    ordered = sorted(
        ((u, s, first_pos.get(e, K), i, e) for i, (u, s, e) in enumerate(rows)),
        key=lambda r: (users.index(r[0]), r[1], r[2], r[3]),
    )
    unit = np.array([users.index(r[0]) for r in ordered], dtype=np.int64)
    t = np.array([r[1] * 10**9 for r in ordered], dtype=np.int64)
    code = np.array([syms.index(r[4]) if r[4] in syms else -1 for r in ordered], dtype=np.int16)
    st = np.array([syms.index(e) for e in steps], dtype=np.int16)
    w = None if window_s is None else window_s * 10**9
    if mode == "any_order":
        res = ref_any_order(unit, t, code, st, n_units=len(users), window=w)
    else:
        f = ref_ordered if mode == "ordered" else ref_strict
        res = f(unit, t, code, st, n_units=len(users), window=w, window_from="entry")
    return users, res


@pytest.mark.filterwarnings("ignore::funnelkit.errors.FunnelkitWarning")
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=events_st, window_s=st.sampled_from([None, 0, 5, 10, 30]),
       mode=st.sampled_from(["ordered", "strict", "any_order"]),
       steps=st.sampled_from([["A", "B", "C"], ["A", "A", "B"], ["B", "A"], ["A", "X", "B", "C"]]))
def test_funnel_equals_reference(rows, window_s, mode, steps):
    ev = log(rows)
    res = fk.funnel(ev, steps, window=None if window_s is None else f"{window_s}s", mode=mode)
    users, ref = _reference_funnel(rows, steps, window_s, mode)
    assert res.units.index.tolist() == users
    np.testing.assert_array_equal(res.units["level"].to_numpy(), ref.level)
    K = len(steps)
    for k in range(K):
        col = res.units.iloc[:, 1 + k].to_numpy(dtype="datetime64[ns]").view(np.int64)
        exp = np.where(ref.step_time[:, k] == np.iinfo(np.int64).min, np.iinfo(np.int64).min,
                       ref.step_time[:, k] + T0.value)
        np.testing.assert_array_equal(col, exp)
    # the table from the levels, counted by hand
    lv = list(ref.level)
    assert res.table["units"].tolist() == [sum(1 for x in lv if x >= k) for k in range(1, K + 1)]


def test_a_parquet_path_is_read_by_the_engine_and_gives_the_same_result(tmp_path, monkeypatch):
    ev = fk.datasets.make_shop(n_users=500, seed=4)
    path = tmp_path / "ev.parquet"
    ev.to_parquet(path)
    seen = {}
    real = fk.io.read_events

    def spy(source, **kw):
        seen["columns"] = kw.get("columns")
        return real(source, **kw)

    monkeypatch.setattr(fk.io, "read_events", spy)
    got = fk.funnel(path, fk.datasets.shop_journey(), window="7D", by="channel")
    assert seen == {}  # row groups read straight from the file, no frame of the log
    want = fk.funnel(ev, fk.datasets.shop_journey(), window="7D", by="channel")
    pd.testing.assert_frame_equal(got.table, want.table)
    pd.testing.assert_frame_equal(got.breakdown, want.breakdown)


@pytest.mark.filterwarnings("ignore::funnelkit.errors.FunnelkitWarning")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=events_st, window=st.sampled_from([None, "5s", "30s"]),
       mode=st.sampled_from(["ordered", "strict", "any_order"]), threads=st.integers(2, 5))
def test_threaded_buckets_give_identical_results(rows, window, mode, threads):
    ev = log(rows, channel=[f"c{u % 3}" if s % 2 else None for u, s, _ in rows])
    ev["event"] = pd.Categorical(ev["event"].astype(str), categories=["A", "B", "C", "X"])  # X may be absent
    kw = dict(window=window, mode=mode, by="channel", attribution="step:2",
              start=T0 + pd.Timedelta("2s"), exclude=None if mode == "any_order" else [("X", 1, 2)])
    one = fk.funnel(ev, ["A", "B", "C"], **kw)
    run = importlib.import_module("funnelkit.engine.run")
    buckets = importlib.import_module("funnelkit.engine.buckets")
    old = run.THREADS_MIN_ROWS, buckets.BUCKET_ROWS
    try:  # every unit range its own bucket, buckets on several threads
        run.THREADS_MIN_ROWS, buckets.BUCKET_ROWS = 1, 1
        import os

        os.environ["FUNNELKIT_NUM_THREADS"] = str(threads)
        many = fk.funnel(ev, ["A", "B", "C"], **kw)
    finally:
        run.THREADS_MIN_ROWS, buckets.BUCKET_ROWS = old
        os.environ.pop("FUNNELKIT_NUM_THREADS", None)
    pd.testing.assert_frame_equal(one.table, many.table)
    pd.testing.assert_frame_equal(one.units, many.units)
    pd.testing.assert_frame_equal(one.breakdown, many.breakdown)
    assert one.diagnostics == many.diagnostics


def test_num_threads_env_is_validated(monkeypatch):
    par = importlib.import_module("funnelkit.engine._parallel")

    monkeypatch.setenv("FUNNELKIT_NUM_THREADS", "two")
    with pytest.raises(ParameterError, match="FUNNELKIT_NUM_THREADS"):
        par.n_threads()
    monkeypatch.setenv("FUNNELKIT_NUM_THREADS", "3")
    assert par.n_threads() == 3


# --------------------------------------------------------------------------- absent steps (issue 11, item 1)


def test_a_step_no_event_matches_counts_zero_with_a_warning():
    ev = log([(1, 0, "step one"), (1, 5, "step two"), (2, 0, "step one")])
    with pytest.warns(FunnelkitWarning, match=r"'step three'.*did you mean 'step two', 'step one'") as rec:
        res = fk.funnel(ev, ["step one", "step two", "step three"], window="1h")
    assert rec[0].filename == __file__  # points at the caller
    assert counts(res) == [2, 1, 0]  # PostHog's [..., 0]
    assert res.table["step_conversion_rate"].tolist()[2] == 0.0
    assert res.units["level"].tolist() == [2, 1]


def test_absent_step_with_no_close_name_names_the_closest_anyway():
    ev = log([(1, 0, "landing"), (1, 5, "purchase")])
    with pytest.warns(FunnelkitWarning, match="'zz_refund'.*closest event names: "):
        res = fk.funnel(ev, ["landing", "zz_refund"])
    assert counts(res) == [1, 0]


def test_on_unknown_raise_makes_absent_steps_fail_before_any_work():
    ev = log([(1, 0, "A"), (1, 5, "B")])
    with pytest.raises(UnknownEventError, match="'C'.*on_unknown='warn'"):
        fk.funnel(ev, ["A", "B", "C"], on_unknown="raise")
    with pytest.raises(UnknownEventError, match="'Bb'.*did you mean 'B'"):
        fk.funnel(ev, fk.Journey({"a": "A", "b": "Bb"}), on_unknown="raise")


def test_an_absent_first_step_gives_an_empty_funnel():
    ev = log([(1, 0, "A"), (1, 5, "B")])
    with pytest.warns(FunnelkitWarning, match="'Z'"):
        res = fk.funnel(ev, ["Z", "A"])
    assert counts(res) == [0, 0]
    assert res.units["level"].tolist() == [0]


def test_experiment_counts_absent_steps_zero_by_default():
    ev = log([(1, 0, "A"), (1, 5, "B"), (2, 0, "A"), (3, 0, "A")], variant=["a", "a", "b", "a"])
    with pytest.warns(FunnelkitWarning, match="'C'"):
        exp = fk.experiment(ev, ["A", "B", "C"], variant_col="variant", control="a", window="1h")
    assert exp is not None


# --------------------------------------------------------------------------- modes (issue 11, item 2)


def _seq(*units):
    return log([(u, i, e) for u, evs in enumerate(units, start=1) for i, e in enumerate(evs)])


def test_strict_is_posthogs_repeats_of_the_current_step_pass():
    ev = _seq("aabbcc", "axbc", "abac")
    res = fk.funnel(ev, ["a", "b", "c"], mode="strict", window="1h")
    assert res.units["level"].tolist() == [3, 1, 2]
    # the chain keeps the first event of each run of repeats
    assert res.units.loc[1, "b"] == T0 + pd.Timedelta("2s")


def test_uninterrupted_is_clickhouse_strict_order():
    ev = _seq("aabbcc", "axbc", "abac", "acbc")
    res = fk.funnel(ev, ["a", "b", "c"], mode="uninterrupted", window="1h")
    assert res.units["level"].tolist() == [3, 1, 3, 1]
    res = fk.funnel(ev, ["a", "b", "c"], mode="uninterrupted", out_of_order="ignore", window="1h")
    assert res.units["level"].tolist() == [3, 1, 3, 3]


def test_clickhouse_options_known_answers():
    ev = _seq("abbc", "ab", "a")
    assert fk.funnel(ev, ["a", "b", "c"], stop_at_repeat=True).units["level"].tolist() == [2, 2, 1]
    # one event fills several steps only with reuse_events=True
    assert fk.funnel(ev, ["a", "a", "b"]).units["level"].tolist() == [1, 1, 1]
    assert fk.funnel(ev, ["a", "a", "b"], reuse_events=True).units["level"].tolist() == [3, 3, 2]
    tie = log([(1, 0, "a"), (1, 0, "b"), (2, 0, "a"), (2, 1, "b")])
    assert fk.funnel(tie, ["a", "b"]).units["level"].tolist() == [2, 2]
    assert fk.funnel(tie, ["a", "b"], increasing_times=True).units["level"].tolist() == [1, 2]


def test_clickhouse_options_are_checked_before_any_work():
    ev = _seq("ab")
    with pytest.raises(ParameterError, match="reuse_events.*mode='strict'"):
        fk.funnel(ev, ["a", "b"], mode="strict", reuse_events=True)
    with pytest.raises(ParameterError, match="out_of_order.*mode='uninterrupted'"):
        fk.funnel(ev, ["a", "b"], out_of_order="ignore")
    with pytest.raises(ParameterError, match="window_from='entry'"):
        fk.funnel(ev, ["a", "b"], mode="uninterrupted", window_from="previous")
    with pytest.raises(ParameterError, match="exclude"):
        fk.funnel(ev, ["a", "b"], stop_at_repeat=True, exclude=[("x", 1, 2)])
    with pytest.raises(ParameterError, match="True or False"):
        fk.funnel(ev, ["a", "b"], increasing_times=1)
    with pytest.raises(ParameterError, match="Did you mean 'uninterrupted'"):
        fk.funnel(ev, ["a", "b"], mode="uninterupted")


# --------------------------------------------------------------------------- any-order exclusions (item 6)


def test_exclusions_in_any_order_funnels_count_steps_in_fill_order():
    ev = log([
        (1, 0, "B"), (1, 5, "X"), (1, 10, "A"),  # X between the 1st and 2nd fill: only A's window is clean
        (2, 0, "B"), (2, 10, "A"), (2, 20, "X"),  # X after both: clean
        (3, 0, "A"), (3, 10, "X"), (3, 10, "B"),  # X tied with the 2nd step: clean
        (4, 0, "A"), (4, 5, "X"),  # 2nd step never filled, X within the window: left out
        (5, 0, "A"), (5, 7200, "X"),  # X after the window: clean
    ])
    res = fk.funnel(ev, ["A", "B"], mode="any_order", window="1h", exclude=[("X", 1, 2)])
    assert res.units["level"].tolist() == [1, 2, 2, 0, 1]
    assert res.units["excluded"].tolist() == [False, False, False, True, False]
    assert counts(res) == [4, 2]
    assert res.diagnostics["units_excluded"] == 1
    assert res.units.loc[1, "A"] == T0 + pd.Timedelta("10s")


def test_any_order_exclusion_keeps_a_clean_later_window():
    # the window from the first B is tainted; the one from A at 10 (A, then B at 20) is clean
    ev = log([(1, 0, "B"), (1, 5, "X"), (1, 10, "A"), (1, 20, "B")])
    res = fk.funnel(ev, ["A", "B"], mode="any_order", window="1h", exclude=[("X", 1, 2)])
    assert res.units["level"].tolist() == [2]
    assert res.units.loc[1, "A"] == T0 + pd.Timedelta("10s")  # step times: 1st and 2nd fill
    assert res.units.loc[1, "B"] == T0 + pd.Timedelta("20s")
    # without the exclusion the earliest window is reported
    assert fk.funnel(ev, ["A", "B"], mode="any_order", window="1h").units.loc[1, "A"] == T0


# --------------------------------------------------------------------------- attribution (item 4)


def test_attribution_reads_the_reported_attempt_safari_then_firefox():
    """A user who bought via Safari and opened the app on Firefox afterwards is Safari's."""
    ev = log([(1, 0, "visit"), (1, 10, "buy"), (1, 20, "app_open"),
              (2, 0, "app_open"), (2, 5, "visit")],
             browser=["Safari", "Safari", "Firefox", "Chrome", "Edge"])
    for att in ("first_touch", "last_touch"):
        res = fk.funnel(ev, ["visit", "buy"], by="browser", attribution=att, window="1h")
        assert res.units["browser"].tolist() == ["Safari", "Edge"]
    res = fk.funnel(ev, ["visit", "buy"], by="browser", attribution="last_touch_unit", window="1h")
    assert res.units["browser"].tolist() == ["Firefox", "Edge"]
    res = fk.funnel(ev, ["visit", "buy"], by="browser", attribution="first_touch_unit", window="1h")
    assert res.units["browser"].tolist() == ["Safari", "Chrome"]
    assert res.breakdown.attrs["groups_sum_to_total"]


def test_all_events_attribution_counts_a_unit_in_every_group():
    ev = log([(1, 0, "A"), (1, 5, "B"), (2, 0, "A"), (2, 5, "B"), (3, 0, "A"), (4, 0, "X")],
             channel=["ads", "mail", "ads", "ads", None, "ads"])
    res = fk.funnel(ev, ["A", "B"], by="channel", attribution="all_events", window="1h")
    bd = res.breakdown.set_index(["channel", "step"])["units"]
    assert bd[("ads", "A")] == 2 and bd[("ads", "B")] == 2
    assert bd[("mail", "A")] == 1 and bd[("mail", "B")] == 1
    assert bd[("(missing)", "A")] == 1  # unit 3 carries no value on its step events
    assert not res.breakdown.attrs["groups_sum_to_total"]
    assert "need not sum" in res.breakdown.attrs["note"]
    assert res.units.loc[1, "channel"] == ("ads", "mail")
    assert res.units.loc[4, "channel"] == ("(missing)",)  # not entered: no step event


def test_a_real_missing_value_never_merges_with_nulls():
    """Issue 15 item 7: a literal "(missing)" (or "Other") value keeps its own group."""
    ev = log([(1, 0, "A"), (2, 0, "A"), (3, 0, "A")], channel=["(missing)", None, "Other"])
    res = fk.funnel(ev, ["A"], by="channel", max_groups=1)
    labels = res.units["channel"].astype(str).tolist()
    assert len(set(labels)) == 3  # (missing), the null group, the overflow group
    null = res.diagnostics["missing_label"]
    assert null not in ("(missing)", "Other") and labels[1] == null
    bd = res.breakdown.set_index("channel")["units"]
    assert bd["(missing)"] == 1 and bd[null] == 1 and bd.sum() == 3


def test_unknown_attribution_is_refused():
    ev = log([(1, 0, "A")], channel=["x"])
    with pytest.raises(ParameterError, match="all_events.*first_touch_unit"):
        fk.funnel(ev, ["A"], by="channel", attribution="posthog")


# --------------------------------------------------------------------------- optional steps (item 7)


def test_optional_step_may_be_skipped_and_counts_who_passed_it():
    ev = log([(1, 0, "landing"), (1, 1, "coupon"), (1, 2, "purchase"),
              (2, 0, "landing"), (2, 2, "purchase"),  # skipped the coupon: still converts
              (3, 0, "landing"), (3, 1, "coupon"),  # coupon, no purchase
              (4, 0, "landing"),
              (5, 0, "landing"), (5, 2, "purchase"), (5, 3, "coupon")])  # coupon after purchase: not passed
    res = fk.funnel(ev, ["landing", fk.journey.optional("coupon"), "purchase"], window="1h")
    assert counts(res) == [5, 2, 3]
    assert res.units["level"].tolist() == [3, 3, 2, 1, 3]
    assert pd.isna(res.units.loc[2, "coupon"]) and pd.isna(res.units.loc[5, "coupon"])
    # time to purchase runs from the previous step passed: 1s (coupon), 2s, 2s (landing)
    assert res.table["median_time_from_previous"].tolist()[2] == pd.Timedelta("2s")
    assert res.params["optional"] == ["coupon"]
    # the same as a journey stage
    j = fk.Journey({"in": "landing", "coupon": fk.journey.optional("coupon"), "buy": "purchase"})
    assert counts(fk.funnel(ev, j, window="1h")) == [5, 2, 3]
    assert j["coupon"].optional and fk.Journey.from_dict(j.to_dict())["coupon"].optional


def test_optional_step_respects_the_window_when_the_next_step_is_missing():
    ev = log([(1, 0, "A"), (1, 30, "O"), (2, 0, "A"), (2, 7200, "O")])
    res = fk.funnel(ev, ["A", fk.journey.optional("O"), "B"], window="1h")
    assert counts(res) == [2, 1, 0]


def test_optional_steps_are_checked():
    ev = log([(1, 0, "A"), (1, 5, "B")])
    with pytest.raises(fk.errors.JourneyError, match="first step.*cannot be optional"):
        fk.funnel(ev, [fk.journey.optional("A"), "B"])
    with pytest.raises(ParameterError, match="Optional steps.*mode='strict'"):
        fk.funnel(ev, ["A", fk.journey.optional("C"), "B"], mode="strict")
    with pytest.raises(ParameterError, match="optional step 'C'"):
        fk.funnel(ev, ["A", fk.journey.optional("C"), "B"], exclude=[("X", "C", "B")])


# --------------------------------------------------------------------------- issue 15 item 5


def test_step_names_never_collide_with_the_units_frame_columns():
    ev = log([(1, 0, "level"), (1, 5, "excluded"), (2, 0, "level")], channel=["x", "y", "z"])
    res = fk.funnel(ev, ["level", "excluded"], by="channel", window="1h")
    assert res.units["level"].tolist() == [2, 1]  # the level, not the step's times
    assert res.units["excluded"].tolist() == [False, False]
    assert res.units.loc[1, "step:level"] == T0
    assert res.units.loc[1, "step:excluded"] == T0 + pd.Timedelta("5s")
    assert list(res.step_times.columns) == ["level", "excluded"]
    assert res.step_times.loc[1, "excluded"] == T0 + pd.Timedelta("5s")
    assert counts(res) == [2, 1]
    assert res.table["median_time_from_previous"].tolist()[1] == pd.Timedelta("5s")
    ev2 = log([(1, 0, "channel"), (1, 5, "buy")], channel=["ads", "ads"])
    res = fk.funnel(ev2, ["channel", "buy"], by="channel", window="1h")  # a by column named like a step
    assert res.units.columns.is_unique and res.units.loc[1, "channel"] == "ads"
    assert res.units.loc[1, "step:channel"] == T0
    plain = fk.funnel(ev, ["level", "excluded"], window="1h")
    assert list(plain.units.columns) == ["level", "step:level", "step:excluded", "excluded"]


def test_tmp_dir_checked_before_any_work_and_used_for_spills(tmp_path, monkeypatch):
    """tmp_dir= (issue 15): a missing directory fails at the call, naming it; a given one
    receives the spill directory, which is removed afterwards."""
    funnel_mod = importlib.import_module("funnelkit.analyses.funnel")
    import funnelkit.engine.buckets as buckets
    from funnelkit.errors import FunnelkitError

    ev = fk.load_sample("shop")
    called = []
    monkeypatch.setattr(funnel_mod, "compute", lambda *a, **k: called.append(1))
    with pytest.raises(FunnelkitError, match="does not exist"):
        fk.funnel(ev, fk.datasets.shop_journey(), tmp_dir=tmp_path / "missing")
    assert not called  # refused before the engine ran
    monkeypatch.undo()
    path = tmp_path / "ev.parquet"
    ev.to_parquet(path)
    seen = []
    real = buckets.Buckets._write

    def spy(self, *a, **k):
        seen.append(self.tmp)
        return real(self, *a, **k)

    monkeypatch.setattr(buckets.Buckets, "_write", spy)
    spill = tmp_path / "spill"
    spill.mkdir()
    res = fk.funnel(str(path), fk.datasets.shop_journey(), memory_budget=1, tmp_dir=spill)
    assert seen and all(p.parent == spill for p in seen)
    assert list(spill.iterdir()) == []
    assert res.table["units"].tolist() == fk.funnel(ev, fk.datasets.shop_journey()).table["units"].tolist()


def test_result_methods_delegate_to_the_path_and_timing_analyses():
    ev = fk.load_sample("shop")
    ev = ev[ev["user_id"] < 1500]
    res = fk.funnel(ev, ["landing", "product_view", "purchase"])
    pd.testing.assert_frame_equal(res.dropoff_paths(ev, step=2).table, fk.dropoff_paths(ev, res, step=2).table)
    pd.testing.assert_frame_equal(res.frictions(ev, step=2).table, fk.frictions(ev, res, step=2).table)
    pd.testing.assert_frame_equal(res.time_to_convert(from_step=1).table,
                                  fk.time_to_convert(res, from_step=1).table)


def test_funnels_ask_for_progress_on_every_call(monkeypatch):
    """Bars show on any long call in a terminal or notebook, not only when spilling (issue 16);
    _progress decides whether the session is interactive."""
    import importlib

    run = importlib.import_module("funnelkit.engine")
    seen = []
    real = run.run_funnel

    def spy(events, req):
        seen.append(req.progress)
        return real(events, req)

    monkeypatch.setattr(run, "run_funnel", spy)
    fk.funnel(fk.load_sample("shop"), ["landing", "purchase"])
    assert seen == [True]


# --------------------------------------------------------------------------- mutation audit (funnel analysis and driver)


def test_max_groups_ranks_groups_by_entered_units_only():
    """The max_groups largest groups are the largest by *entered* units: units that never
    entered carry a value with the *_unit readings but do not make their group rank.

    Users 1-3 (channel z) only have noise; users 4, 5 (a) reach step 2; user 6 (b) reaches
    step 1. Entered per group: a 2, b 1, z 0; with max_groups=1 only "a" is kept, b and z
    go to "Other" (entered: user 6 only, so Other's row is [1, 0])."""
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    m = pd.Timedelta("1min")
    ev = pd.DataFrame({
        "user_id": [1, 2, 3, 4, 4, 5, 5, 6],
        "timestamp": [t0, t0, t0, t0, t0 + m, t0, t0 + m, t0],
        "event": ["n", "n", "n", "s", "t", "s", "t", "s"],
        "channel": ["z", "z", "z", "a", "a", "a", "a", "b"],
    })
    res = fk.funnel(ev, ["s", "t"], by="channel", attribution="first_touch_unit", max_groups=1)
    bd = res.breakdown
    assert bd["channel"].tolist() == ["a", "a", "Other", "Other"]
    assert bd["units"].tolist() == [2, 2, 1, 0]
    assert res.units["channel"].astype(str).tolist() == ["Other", "Other", "Other", "a", "a", "Other"]


def test_step_time_frame_keeps_the_exact_step_names():
    """A step named "level" has its units column as "step:level"; step_time_frame (what
    time_between, paths and experiments read) gives the step times under the exact name.

    User 1: level@0, b@1min; user 2: level@0 only. Times of "level": [t0, t0]; of "b":
    [t0 + 1min, NaT]; time from "level" to "b": 1 minute for the one converter."""
    from funnelkit.analyses.funnel import step_time_frame

    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    ev = pd.DataFrame({"user_id": [1, 1, 2], "timestamp": [t0, t0 + pd.Timedelta("1min"), t0],
                       "event": ["level", "b", "level"]})
    res = fk.funnel(ev, ["level", "b"])
    assert "step:level" in res.units.columns and res.units["level"].tolist() == [2, 1]
    times = step_time_frame(res)
    assert list(times.columns[:2]) == ["level", "b"]
    assert times["level"].tolist() == [t0, t0]
    assert times["b"].iloc[0] == t0 + pd.Timedelta("1min") and pd.isna(times["b"].iloc[1])
    tb = fk.time_between(res)
    assert tb.table["median"].iloc[0] == pd.Timedelta("1min")


def test_breakdown_lists_the_missing_and_overflow_groups_last():
    """Real groups come first (largest first), the missing-value and overflow groups last,
    however large they are.

    Users 1-3: no channel (missing, 3 units); users 4, 5, 6: a, b, c (1 unit each). With
    max_groups=1 "a" is kept (ties by label), b and c become "Other" (2 units).
    Order: a (1), (missing) (3), Other (2)."""
    ev = log([(u, 0, "A") for u in range(1, 7)], channel=[None, None, None, "a", "b", "c"])
    res = fk.funnel(ev, ["A"], by="channel", max_groups=1)
    assert res.breakdown["channel"].tolist() == ["a", "(missing)", "Other"]
    assert res.breakdown["units"].tolist() == [1, 3, 2]


def test_censoring_from_previous_anchors_at_the_last_step_reached():
    """With window_from="previous" a unit's window stays open from its *last* step reached.

    Window 10 min; the data end at 15 min (user 2's c). User 1: a@0, b@8: open until
    8 + 10 = 18 > 15, censored at step c (from a@0 it would have closed at 10). User 3:
    a@12, open until 22: censored at step b. Censored: [0, 1, 1]."""
    m = 60
    ev = log([(1, 0, "a"), (1, 8 * m, "b"), (2, 5 * m, "a"), (2, 10 * m, "b"), (2, 15 * m, "c"),
              (3, 12 * m, "a")])
    res = fk.funnel(ev, ["a", "b", "c"], window="10min", window_from="previous")
    assert res.units["level"].tolist() == [2, 3, 1]
    assert res.censored["censored"].tolist() == [0, 1, 1]


def test_optional_step_times_run_from_the_previous_step_passed():
    """After an optional step, the time to the next step runs from the optional step when the
    unit passed it, else from the step before.

    User 1: a@0, c@120s, b@300s (passed c): c 120s after a, b 180s after c. User 2: a@0,
    b@240s (skipped c): b 240s after a. Step b: median (180 + 240) / 2 = 210s, mean 210s
    (from a for both it would be 270s)."""
    ev = log([(1, 0, "a"), (1, 120, "c"), (1, 300, "b"), (2, 0, "a"), (2, 240, "b")])
    res = fk.funnel(ev, ["a", fk.journey.optional("c"), "b"], window="1h")
    assert counts(res) == [2, 1, 2]
    assert res.table["median_time_from_previous"].tolist()[1:] == [pd.Timedelta("120s"), pd.Timedelta("210s")]
    assert res.table["mean_time_from_previous"].tolist()[2] == pd.Timedelta("210s")


def test_all_events_overflow_group_holds_units_carrying_any_merged_value():
    """attribution="all_events": a unit carrying a value merged into the overflow group is in
    it once, whichever of the merged values it carries.

    User 1: s (a), t (b); user 2: s (a), t (a); user 3: s (b), t (c). Entered: a 2 (users
    1, 2), b 2 (users 1, 3), c 1; max_groups=1 keeps "a" (ties by label), b and c merge:
    Other holds users 1 and 3 (2 units at both steps)."""
    ev = log([(1, 0, "s"), (1, 60, "t"), (2, 0, "s"), (2, 60, "t"), (3, 0, "s"), (3, 60, "t")],
             channel=["a", "b", "a", "a", "b", "c"])
    res = fk.funnel(ev, ["s", "t"], by="channel", attribution="all_events", max_groups=1)
    bd = res.breakdown
    assert bd["channel"].tolist() == ["a", "a", "Other", "Other"]
    assert bd["units"].tolist() == [2, 2, 2, 2]
    assert res.units["channel"].tolist() == [("a", "Other"), ("a",), ("Other",)]
