"""funnelkit.engine.bucket_funnel: the funnel of whole units, against the slow reference.

``fk.funnel(...)`` (levels, reported step times, exclusions, table and breakdown
counts) is compared with ``ref_funnel`` of tests/_reference.py, which evaluates the
rules row by row and searches every chain of every unit exhaustively, for every
shape of funnel: ordered / strict / any_order, windows, ``window_from``, exclusions,
``start``/``end``, repeated steps, ``where=`` rules, overlapping steps (an event
matching several steps: role rows), ``repeat()``/``after()`` journeys (against
``Journey.assign_stages`` and the reference over the stages it gives), and ``by=``.

Overlapping steps: the ordered kernel's greedy is exact unless, at one timestamp of a
unit, an event playing two or more steps competes with another event for one of them
(tests/test_kernels_overlap.py, ``ordered_funnel``'s Notes). The comparison is exact
where ``ref_greedy_exact`` says so; elsewhere the engine must not beat the reference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

import funnelkit as fk
from _reference import ref_funnel, ref_greedy_exact, ref_stage_code, ref_stages
from funnelkit.journey.steps import needed_columns
from funnelkit.errors import ParameterError
from test_engine_run import (
    T0,
    check_reference,
    examples,
    logs,
    outcome,
    quiet,
    ref_kwargs,
    reference_of,
    units_frame,
)

J = fk.Journey
R = fk.Rule


def _log(rows, **cols):
    """A log from (unit, minute, event) rows, plus property columns."""
    df = pd.DataFrame({
        "user_id": [r[0] for r in rows],
        "timestamp": T0 + pd.to_timedelta([r[1] for r in rows], unit="min"),
        "event": [r[2] for r in rows],
    })
    for k, v in cols.items():
        df[k] = v
    return df


def levels(res) -> list[int]:
    return res.units["level"].tolist()


# --------------------------------------------------------------------------- hand-made cases

ABA = J({"a1": "a", "b": "b", "a2": R("a")})  # steps [a, b, a] with two a stages: overlapping


def test_a_b_a_reaches_three_with_two_a_events():
    """DESIGN §4: steps [a, b, a] on a@0, b@1, a@1 reach 3 (ClickHouse strict_once);
    on a@0, b@0 they reach 2 (one event fills one step)."""
    ev = _log([(1, 0, "a"), (1, 1, "b"), (1, 1, "a"), (2, 0, "a"), (2, 0, "b")])
    res = fk.funnel(ev, ABA, window=None)
    assert levels(res) == [3, 2]
    assert res.units.loc[1, "a2"] == T0 + pd.Timedelta("1min")
    assert res.table["units"].tolist() == [2, 2, 1]
    # the order of the rows changes nothing
    assert levels(fk.funnel(ev.iloc[::-1].reset_index(drop=True), ABA, window=None)) == [3, 2]
    # a window of 0 from entry: only a@1 can start there, and it cannot also be step 3
    assert levels(fk.funnel(ev, ABA, window="0s")) == [2, 2]
    assert levels(fk.funnel(ev, ABA, window="1min")) == [3, 2]


def test_a_b_a_as_a_list_reaches_three():
    ev = _log([(1, 0, "a"), (1, 1, "b"), (1, 1, "a"), (2, 0, "a"), (2, 0, "b")])
    assert levels(fk.funnel(ev, ["a", "b", "a"], window=None)) == [3, 2]
    assert levels(fk.funnel(ev, ["a", "b", "a"], window="0s")) == [2, 2]
    # strict / any_order / previous keep one symbol per name (nothing overlaps there)
    assert levels(fk.funnel(ev, ["a", "b", "a"], mode="strict", window=None)) == [2, 2]
    assert levels(fk.funnel(ev, ["a", "b", "a"], mode="any_order", window=None)) == [3, 2]


def test_repeated_list_step_with_exclusion_equals_the_journey_form():
    ev = _log([(1, 0, "a"), (1, 0, "a"), (1, 1, "x"), (1, 2, "b")])
    journey = fk.funnel(ev, J({"a1": "a", "a2": R("a"), "b": "b"}), window=None, exclude=[("x", 2, 3)])
    assert levels(journey) == [0] and journey.units["excluded"].tolist() == [True]
    listed = fk.funnel(ev, ["a", "a", "b"], window=None, exclude=[("x", 2, 3)])
    assert levels(listed) == [0] and listed.units["excluded"].tolist() == [True]


def test_one_event_fills_one_step():
    # the same event in two steps through a Journey of Rules
    j = J({"s1": "a", "s2": R(["a", "b"])})
    ev = _log([(1, 0, "a"), (2, 0, "a"), (2, 0, "a"), (3, 0, "b"), (3, 1, "a"), (4, 0, "a"), (4, 0, "b")])
    assert levels(fk.funnel(ev, j, window=None)) == [1, 2, 1, 2]  # 3: b before a fills step 2 of nothing
    # a step that is any event
    j = J({"any": R(regex=".*"), "b": "b"})
    ev = _log([(1, 0, "b"), (2, 0, "n"), (2, 0, "b"), (3, 0, "b"), (3, 0, "b")])
    assert levels(fk.funnel(ev, j, window=None)) == [1, 2, 2]


def test_where_overlap_pageview_then_checkout_pageview():
    """Step 1 pageview, step 3 pageview where url = /checkout."""
    j = J({"pv": "pageview", "cart": "add_to_cart", "co": R("pageview", where={"url": "/checkout"})})
    ev = _log([(1, 0, "pageview"), (1, 1, "add_to_cart"), (1, 2, "pageview"),
               (2, 0, "pageview"), (2, 1, "add_to_cart"),
               (3, 0, "pageview"), (3, 0, "add_to_cart"), (3, 0, "pageview"),
               (4, 0, "pageview"),
               (5, 3, "pageview"), (5, 1, "add_to_cart"), (5, 2, "pageview")],
              url=["/", None, "/checkout", "/checkout", None, "/checkout", None, "/checkout", "/checkout",
                   "/checkout", None, "/"])
    res = fk.funnel(ev, j, window=None)
    # 1: pv, cart, pv(/checkout). 2: the checkout pageview is step 1 and cannot be step 3 too.
    # 3: two checkout pageviews at one instant fill steps 1 and 3. 4: one event, step 1 only.
    # 5: cart before any pageview: pv@2 then pv(/checkout)@3 but no cart between them.
    assert levels(res) == [3, 2, 3, 1, 1]
    stages, spec, _ = ref_stages(j)
    assert ref_funnel(ev, stages, spec)["level"].tolist() == [3, 2, 3, 1, 1]


@pytest.mark.parametrize("kw, fix", [(dict(mode="strict"), "mode='ordered'"),
                                     (dict(mode="any_order"), "mode='ordered'"),
                                     (dict(window_from="previous", window="1h"), "window_from='entry'")])
def test_overlapping_steps_need_ordered_from_entry(kw, fix):
    ev = _log([(1, 0, "a"), (1, 1, "b"), (1, 1, "a")])
    with pytest.raises(ParameterError) as err:
        fk.funnel(ev, ABA, **kw)
    msg = str(err.value)
    assert "'a1' and 'a2'" in msg and fix in msg
    # a where= overlap names its steps too
    j = J({"pv": "a", "b": "b", "co": R("a", where={"url": "/checkout"})})
    with pytest.raises(ParameterError, match=r"'pv' and 'co'"):
        fk.funnel(ev.assign(url="/checkout"), j, **kw)
    # rules that could overlap but no row matches both: no error
    assert levels(fk.funnel(ev.assign(url="/"), j, **kw)) == [2]
    # without a window both anchors are the same search: allowed
    if "window_from" in kw:
        assert levels(fk.funnel(ev, ABA, window_from="previous", window=None)) == [3]


def test_touch_reads_the_reported_attempt_and_unit_wide_is_explicit():
    """first/last touch read the reported attempt's step events (DESIGN §4); the
    unit-wide reading (every event of the unit, before and after) is *_unit."""
    ev = _log([(1, 0, "n"), (1, 1, "a"), (1, 2, "b"), (1, 3, "n")], channel=["r", "p", "q", "s"])
    assert fk.funnel(ev, ["a", "b"], by="channel").units["channel"].tolist() == ["p"]
    assert fk.funnel(ev, ["a", "b"], by="channel", attribution="last_touch").units["channel"].tolist() == ["q"]
    assert fk.funnel(ev, ["a", "b"], by="channel", attribution="first_touch_unit").units["channel"].tolist() == ["r"]
    assert fk.funnel(ev, ["a", "b"], by="channel", attribution="last_touch_unit").units["channel"].tolist() == ["s"]
    assert fk.funnel(ev, ["a", "b"], by="channel", attribution="step:2").units["channel"].tolist() == ["q"]
    # last touch stops at the deepest step reached: a value after it never counts
    ev = _log([(1, 0, "a"), (1, 1, "b"), (1, 2, "a")], channel=["safari", None, "firefox"])
    assert fk.funnel(ev, ["a", "b", "c"], by="channel", attribution="last_touch").units["channel"].tolist() \
        == ["safari"]


def test_touch_ties_break_by_value():
    ev = _log([(1, 0, "a"), (1, 0, "a"), (1, 1, "b"), (1, 1, "n")], channel=["q", "p", "s", "r"])
    for order in ([0, 1, 2, 3], [3, 2, 1, 0], [1, 0, 3, 2]):
        e = ev.iloc[order].reset_index(drop=True)
        assert fk.funnel(e, ["a", "b"], by="channel").units["channel"].tolist() == ["p"]
        assert fk.funnel(e, ["a", "b"], by="channel", attribution="last_touch").units["channel"].tolist() == ["s"]
        assert fk.funnel(e, ["a", "b"], by="channel", attribution="first_touch_unit").units["channel"].tolist() \
            == ["p"]
        assert fk.funnel(e, ["a", "b"], by="channel", attribution="last_touch_unit").units["channel"].tolist() \
            == ["r"]
    # step:N among events tied at one instant (same rule bits): the smallest value
    ev = _log([(1, 0, "a"), (1, 0, "a"), (1, 1, "b")], channel=["q", "p", "s"])
    for order in ([0, 1, 2], [1, 0, 2]):
        res = fk.funnel(ev.iloc[order].reset_index(drop=True), ["a", "b"], by="channel", attribution="step:1")
        assert res.units["channel"].tolist() == ["p"]
    # a step event and a non-step event at one time: first touch reads the step event only
    ev = _log([(1, 0, "n"), (1, 0, "a"), (1, 1, "b")], channel=["a_val", "z_val", None])
    assert fk.funnel(ev, ["a", "b"], by="channel").units["channel"].tolist() == ["z_val"]
    assert fk.funnel(ev, ["a", "b"], by="channel", attribution="first_touch_unit").units["channel"].tolist() \
        == ["a_val"]


# --------------------------------------------------------------------------- property tests

PLAIN = {
    "abc": ["a", "b", "c"],
    "aab": ["a", "a", "b"],
    "ab|c": [["a", "b"], "c"],
    "ba": ["b", "a"],
    "c": ["c"],
    "abca": ["a", "b", "c", "a"],  # repeated, not adjacent: role rows in ordered funnels
    "where": J({"home": R("a", where={"url": "/"}), "b": "b", "co": R("a", where={"url": "/checkout"})}),
    "glob": J({"ab": R(["[ab]"]), "c": R(regex="c|x_never")}),
}

OVERLAP = {
    "any_b_c": J({"any": R(regex=".*"), "b": "b", "c": "c"}),
    "a_ab_c": J({"s1": "a", "s2": R(["a", "b"]), "s3": "c"}),
    "pv_b_co": J({"pv": "a", "b": "b", "co": R("a", where={"url": "/checkout"})}),
    "a_b_a": ABA,
    "b_any": J({"b": "b", "any": R(regex="[abc]")}),
    "ab_b_ab": J({"s1": ["a", "b"], "s2": "b", "s3": R(["a", "b"])}),
}

WINDOWS = st.sampled_from([None, "0s", "1min", "2min", "1h"])
STARTS = st.sampled_from([None, "2024-01-01 00:02"])
ENDS = st.sampled_from([None, "2024-01-01 00:05"])
ATTR = st.sampled_from([None, "first_touch", "last_touch", "step:1", "step:2", "step:3"])


def _kw(steps, *, mode, window, window_from, exclude, start, end, attribution):
    k = len(steps)
    kw = dict(mode=mode, window=window, window_from=window_from, start=start, end=end)
    if exclude is not None and mode != "any_order" and k >= 2:
        a, b = exclude
        kw["exclude"] = [("x", min(a, k - 1), min(b, k))] if min(a, k - 1) < min(b, k) else [("x", 1, 2)]
    if attribution is not None:
        kw["by"] = "channel"
        kw["attribution"] = attribution if not attribution.startswith("step:") or int(attribution[5:]) <= k \
            else "step:1"
    return kw


EXCL = st.one_of(st.none(), st.sampled_from([(1, 2), (2, 3), (1, 3)]))


@given(ev=logs(), name=st.sampled_from(sorted(PLAIN)), mode=st.sampled_from(["ordered", "strict", "any_order"]),
       window=WINDOWS, window_from=st.sampled_from(["entry", "previous"]), exclude=EXCL, start=STARTS,
       end=ENDS, attribution=ATTR)
@examples(120)  # ~50 ms an example (fk.funnel's fixed cost on a tiny log); 200 took 9-16 s
def test_property_plain_steps_match_reference(ev, name, mode, window, window_from, exclude, start, end,
                                              attribution):
    steps = PLAIN[name]
    kw = _kw(steps, mode=mode, window=window, window_from=window_from, exclude=exclude, start=start, end=end,
             attribution=attribution)
    res = outcome(quiet, fk.funnel, ev, steps, **kw)
    if isinstance(res, tuple):  # e.g. the log has no 'x' to exclude
        event("error: no x to exclude")
        assert res[0] is fk.errors.UnknownEventError and "'x'" in res[1]
        assert "x" not in set(ev["event"])
        return
    check_reference(res, reference_of(ev, steps, kw), by=kw.get("by"))


@given(ev=logs(events=["a", "b", "c", "x", "n", "a", "b"]), name=st.sampled_from(sorted(OVERLAP)),
       window=WINDOWS, previous=st.booleans(), exclude=EXCL, start=STARTS, end=ENDS, attribution=ATTR)
@examples(120)  # as above: 200 took 10-16 s
def test_property_overlapping_steps_match_reference(ev, name, window, previous, exclude, start, end, attribution):
    steps = OVERLAP[name]
    if name == "any_b_c":
        exclude = None  # 'x' is an event of the any-event step: it cannot be excluded
    kw = _kw(steps, mode="ordered", window=window, window_from="previous" if previous and window is None else "entry",
             exclude=exclude, start=start, end=end, attribution=attribution)
    res = outcome(quiet, fk.funnel, ev, steps, **kw)
    if isinstance(res, tuple):
        assert res[0] is fk.errors.UnknownEventError and "x" not in set(ev["event"])
        return
    stages, spec, _ = ref_stages(steps)
    ref = ref_funnel(ev, stages, spec, **ref_kwargs(kw))
    if ref_greedy_exact(ev, stages, spec):
        event("greedy exact: every output compared")
        check_reference(res, ref, by=kw.get("by"))
        return
    event("crosswise competition: bounds only")
    got = units_frame(res)
    if len(spec) <= 2:  # a conflict needs a third step: each start's attempt is exact
        np.testing.assert_array_equal(got["level"], ref["level"])
        np.testing.assert_array_equal(got["excluded"], ref["excluded"])
    elif "exclude" not in kw:
        assert (got["level"].to_numpy() <= ref["level"].to_numpy()).all()  # never beats the exhaustive search
        assert (got["level"].to_numpy() >= np.minimum(ref["level"].to_numpy(), 2)).all()


REPEAT_AFTER = {
    "repeat": J({"visit": "a", "buy": "b", "again": fk.repeat("b", 2)}),
    "repeat3_where": J({"visit": "a", "again": fk.repeat(R("b", where={"url": "/checkout"}), 2), "c": "c"}),
    "after": J({"visit": "a", "buy": "b", "use": fk.after("buy", ["c", "a"])}),
    "after_repeat": J({"visit": "a", "buy": "b", "use": fk.after("buy", "c"), "loyal": fk.repeat("b", 3)}),
    "selected": J({"visit": "a", "buy": "b", "use": fk.after("buy", "c")}).select(["visit", "use"]),
}


@given(ev=logs(), name=st.sampled_from(sorted(REPEAT_AFTER)), mode=st.sampled_from(["ordered", "strict", "any_order"]),
       window=WINDOWS, window_from=st.sampled_from(["entry", "previous"]), exclude=EXCL, start=STARTS,
       attribution=st.sampled_from([None, "first_touch", "last_touch"]))
@examples(50)  # two assign_stages and a funnel an example: 80 took 6-8 s
def test_property_repeat_and_after_match_assign_stages(ev, name, mode, window, window_from, exclude, start,
                                                       attribution):
    """repeat()/after() are evaluated in the bucket, on each unit's whole sorted history:
    the funnel equals the reference over the stages Journey.assign_stages gives."""
    journey = REPEAT_AFTER[name]
    kw = _kw(journey.names, mode=mode, window=window, window_from=window_from, exclude=exclude, start=start,
             end=None, attribution=attribution)
    res = outcome(quiet, fk.funnel, ev, journey, **kw)
    if isinstance(res, tuple):
        assert res[0] is fk.errors.UnknownEventError and "x" not in set(ev["event"])
        return
    stage = quiet(journey.assign_stages, ev)
    codes = stage.cat.codes.to_numpy()
    k = len(journey)
    staged = ev.assign(stage_code=codes)
    ref = ref_funnel(staged, [ref_stage_code(i) for i in range(k)], list(range(k)), **ref_kwargs(kw))
    check_reference(res, ref, by=kw.get("by"))
    # assign_stages does not depend on the row order either, up to rows that every rule
    # sees alike (same unit, time, event and where= columns): those may swap the n-th
    # occurrence (ties by input row, as repeat() documents), so compare multisets
    rev = ev.iloc[::-1].reset_index(drop=True)
    back = quiet(journey.assign_stages, rev)
    key = ["user_id", "timestamp", "event"] + needed_columns(journey)

    def per_key(frame, stages):
        f = frame.assign(stage=[str(v) for v in stages.tolist()]).fillna({"url": "-"})
        return f.groupby(key)["stage"].agg(lambda s: sorted(s))

    pd.testing.assert_series_equal(per_key(rev, back), per_key(ev, stage))


@given(ev=logs(), mode=st.sampled_from(["ordered", "strict", "any_order"]), window=WINDOWS)
@examples(40)
def test_property_sessions_match_reference(ev, mode, window):
    sess = fk.sessionize(ev, timeout="1min")
    kw = dict(mode=mode, window=window, unit="session", by="channel", attribution="last_touch")
    res = quiet(fk.funnel, sess, ["a", "b", "c"], **kw)
    check_reference(res, reference_of(sess, ["a", "b", "c"], kw), by="channel")


# --------------------------------------------------------------------------- mutation audit (kernels)


def test_clickhouse_modes_end_is_exclusive_start_inclusive():
    # user 1: a@0 b@1, user 2: a@5 b@6 (minutes). end=5min excludes the a@5 start
    # (end is exclusive) -> [2, 0]; start=5min keeps it (start is inclusive) -> [0, 2].
    ev = _log([(1, 0, "a"), (1, 1, "b"), (2, 5, "a"), (2, 6, "b")])
    cut = T0 + pd.Timedelta("5min")
    for kw in (dict(mode="uninterrupted"), dict(reuse_events=True), dict(stop_at_repeat=True)):
        assert levels(fk.funnel(ev, ["a", "b"], window="1h", end=cut, **kw)) == [2, 0], kw
        assert levels(fk.funnel(ev, ["a", "b"], window="1h", start=cut, **kw)) == [0, 2], kw


def test_uninterrupted_puts_events_outside_the_funnel_first_at_their_time():
    # docs/funnels.md: a@0, b@1, x@1 reaches 1 (x sorts before b at t=1 and stops the
    # walk); with x@2 after b the walk already reached 2.
    ev = _log([(1, 0, "a"), (1, 1, "b"), (1, 1, "x"), (2, 0, "a"), (2, 1, "b"), (2, 2, "x")])
    assert levels(fk.funnel(ev, ["a", "b"], mode="uninterrupted", window="1h")) == [1, 2]


def test_simultaneous_role_rows_take_the_event_needed_least_later():
    # docs/funnels.md: steps [a], [a, c], [a] on a, a, c at one instant reach 3: c plays
    # step 2 (it can play no later step) and the two a events fill steps 1 and 3.
    j = J({"s1": "a", "s2": R(["a", "c"]), "s3": "a"})
    ev = _log([(1, 0, "a"), (1, 0, "a"), (1, 0, "c")])
    assert levels(quiet(fk.funnel, ev, j, window=None)) == [3]  # quiet: the two a rows are duplicates


def test_optional_step_window_edge_is_inclusive():
    # window 1h, B never reached: O passes when t(O) - t(A) <= 60 min.
    # user 1: O at exactly 60 -> passed (level 2); user 2: O at 61 -> not (level 1).
    ev = _log([(1, 0, "A"), (1, 60, "O"), (2, 0, "A"), (2, 61, "O")])
    res = quiet(fk.funnel, ev, ["A", fk.journey.optional("O"), "B"], window="1h")
    assert levels(res) == [2, 1]
    assert res.table["units"].tolist() == [2, 1, 0]


def test_optional_step_window_from_previous_runs_from_the_previous_step_passed():
    # window 1h from previous, B never reached. user 1: A@0, O1@50 (50 <= 60 after A),
    # O2@100 (50 <= 60 after O1) -> passes both, level 3. user 2: O2@111 is 61 after
    # O1@50 -> not passed, level 2. (From entry O2@100 would be 100 > 60 after A.)
    ev = _log([(1, 0, "A"), (1, 50, "O1"), (1, 100, "O2"), (2, 0, "A"), (2, 50, "O1"), (2, 111, "O2")])
    steps = ["A", fk.journey.optional("O1"), fk.journey.optional("O2"), "B"]
    assert levels(quiet(fk.funnel, ev, steps, window="1h", window_from="previous")) == [3, 2]
    assert levels(quiet(fk.funnel, ev, steps, window="1h")) == [2, 2]


def test_optional_step_is_not_passed_by_the_next_required_steps_event():
    # steps a, optional(b), b on a@0 b@1: the required chain is a@0 -> b@1; the optional
    # step needs a b strictly before b@1 (one event fills one step) -> not passed.
    ev = _log([(1, 0, "a"), (1, 1, "b")])
    res = fk.funnel(ev, ["a", fk.journey.optional("b"), "b"], window="1h")
    assert levels(res) == [3]
    assert res.table["units"].tolist() == [1, 0, 1]
