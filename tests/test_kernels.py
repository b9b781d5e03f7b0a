"""Tests of funnelkit.engine.kernels: hand-made cases for every rule of DESIGN §4, and
hypothesis property tests against the slow reference in tests/_reference.py.

Set ``HYPOTHESIS_PROFILE=thorough`` to run the property tests with many more examples.
"""

from __future__ import annotations

import doctest
import os
from collections.abc import Sequence
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import funnelkit.engine.kernels as kernels
from _reference import ref_any_order, ref_ordered, ref_strict_repeats
from funnelkit.engine.kernels import _common, any_order, ordered, strict
from funnelkit.engine.kernels import (
    NAT,
    KernelResult,
    any_order_funnel,
    ordered_funnel,
    strict_funnel,
)

A, B, C, X, Y = 0, 1, 2, 3, 4  # step symbols A, B, C; exclusion symbols X, Y
N = -1  # an event outside the funnel

_THOROUGH = os.environ.get("HYPOTHESIS_PROFILE", "") == "thorough"


def _settings(n: int) -> settings:
    """``n`` examples (20x with HYPOTHESIS_PROFILE=thorough), no deadline (shared CI boxes)."""
    return settings(
        max_examples=n * 20 if _THOROUGH else n,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


def log(*units: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrays for units given as lists of ``(t, code)`` events, already in sort order."""
    unit = [u for u, evs in enumerate(units) for _ in evs]
    t = [e[0] for evs in units for e in evs]
    code = [e[1] for evs in units for e in evs]
    return np.array(unit, dtype=np.int64), np.array(t, dtype=np.int64), np.array(code, np.int16)


def run(kind: str, units: Sequence[Sequence[tuple[int, int]]], steps: Sequence[int],
        **kw: Any) -> KernelResult:
    unit, t, code = log(*units)
    kw.setdefault("n_units", len(units))
    kw.setdefault("window", None)
    fn = {"ordered": ordered_funnel, "strict": strict_funnel, "any": any_order_funnel}[kind]
    return fn(unit, t, code, np.array(steps), **kw)


def assert_same(got: KernelResult, want: KernelResult, fields: Sequence[str] = ()) -> None:
    for f in fields or KernelResult._fields:
        np.testing.assert_array_equal(getattr(got, f), getattr(want, f), err_msg=f)


# ---------------------------------------------------------------------------
# hand-made cases
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ordered", "strict"])
@pytest.mark.parametrize("window_from", ["entry", "previous"])
def test_window_edge_is_inclusive(kind: str, window_from: str) -> None:
    units = [[(0, A), (10, B)]]
    assert run(kind, units, [A, B], window=10, window_from=window_from).level[0] == 2
    assert run(kind, units, [A, B], window=9, window_from=window_from).level[0] == 1
    assert run("any", units, [A, B], window=10).level[0] == 2
    assert run("any", units, [A, B], window=9).level[0] == 1


def test_entry_window_counts_from_first_step() -> None:
    units = [[(0, A), (6, B), (12, C)]]
    assert run("ordered", units, [A, B, C], window=12).level[0] == 3
    assert run("ordered", units, [A, B, C], window=11).level[0] == 2
    # anchored on the previous step, each gap of 6 fits a window of 6
    assert run("ordered", units, [A, B, C], window=6, window_from="previous").level[0] == 3
    assert run("ordered", units, [A, B, C], window=5, window_from="previous").level[0] == 1


def test_same_timestamp_converts_in_step_order() -> None:
    res = run("ordered", [[(5, A), (5, B), (5, C)]], [A, B, C], window=0)
    assert res.level[0] == 3
    assert res.step_time[0].tolist() == [5, 5, 5]
    assert res.step_pos[0].tolist() == [0, 1, 2]
    assert run("strict", [[(5, A), (5, B), (5, C)]], [A, B, C], window=0).level[0] == 3


def test_repeated_step_needs_distinct_events() -> None:
    assert run("ordered", [[(0, A), (1, B)]], [A, A, B]).level[0] == 1
    res = run("ordered", [[(0, A), (1, A), (2, B)]], [A, A, B])
    assert res.level[0] == 3
    assert res.step_pos[0].tolist() == [0, 1, 2]
    assert run("ordered", [[(0, A), (1, B), (2, A)]], [A, A, B]).level[0] == 2
    assert run("strict", [[(0, A), (1, A), (2, B)]], [A, A, B]).level[0] == 3


def test_later_entry_converts_and_reports_its_timings() -> None:
    res = run("ordered", [[(0, A), (100, A), (105, B)]], [A, B], window=10)
    assert res.level[0] == 2
    assert res.step_time[0].tolist() == [100, 105]
    assert res.step_pos[0].tolist() == [1, 2]
    assert res.n_attempts[0] == 2


def test_reported_attempt_is_earliest_by_step_times() -> None:
    # Two attempts reach step 2; the reported one starts first.
    res = run("ordered", [[(0, A), (1, A), (3, B)]], [A, B], window=10)
    assert res.step_time[0].tolist() == [0, 3]
    # Same entry time: ties go to position; its chain is also the earliest.
    res = run("ordered", [[(0, A), (0, A), (2, B), (4, B)]], [A, B], window=10)
    assert res.step_pos[0].tolist() == [0, 2]
    # An earlier attempt that stops short does not win over a deeper later one.
    res = run("ordered", [[(0, A), (5, B), (20, A), (21, B), (22, C)]], [A, B, C], window=5)
    assert res.level[0] == 3
    assert res.step_time[0].tolist() == [20, 21, 22]
    # previous anchoring: both starts reach C; the first start is reported.
    res = run("ordered", [[(0, A), (4, A), (5, B), (9, C)]], [A, B, C], window=5,
              window_from="previous")
    assert res.step_time[0].tolist() == [0, 5, 9]


def test_previous_anchor_is_not_greedy() -> None:
    units = [[(0, A), (5, B), (6, B), (12, C)]]
    res = run("ordered", units, [A, B, C], window=6, window_from="previous")
    assert res.level[0] == 3
    assert res.step_time[0].tolist() == [0, 6, 12]
    assert res.step_pos[0].tolist() == [0, 2, 3]
    # anchored on entry, the earliest B is fine (only C's distance to A matters)
    res = run("ordered", units, [A, B, C], window=12)
    assert res.step_time[0].tolist() == [0, 5, 12]


def test_strict_breaks_on_any_event_between() -> None:
    units = [[(0, A), (1, N), (2, B)]]
    assert run("strict", units, [A, B]).level[0] == 1
    assert run("ordered", units, [A, B]).level[0] == 2
    res = run("strict", [[(0, A), (1, N), (2, A), (3, B)]], [A, B])
    assert res.level[0] == 2
    assert res.step_pos[0].tolist() == [2, 3]
    # a step event of the wrong symbol breaks it too
    assert run("strict", [[(0, A), (1, C), (2, B)]], [A, B]).level[0] == 1


def test_strict_lets_repeats_of_the_current_step_pass() -> None:
    """PostHog's strict funnel: a a b b c c reaches 3; the chain keeps each run's first event."""
    res = run("strict", [[(0, A), (1, A), (2, B), (3, B), (4, C), (5, C)]], [A, B, C])
    assert res.level[0] == 3
    assert res.step_pos[0].tolist() == [0, 2, 4]
    # a repeat of an earlier step (not the current one) breaks it: a b a c stops at 2
    assert run("strict", [[(0, A), (1, B), (2, A), (3, C)]], [A, B, C]).level[0] == 2
    # a b a b c: the second a starts an attempt of its own that reaches 3
    assert run("strict", [[(0, A), (1, B), (2, A), (3, B), (4, C)]], [A, B, C]).level[0] == 3
    # a repeated symbol in the steps needs the very next event: [a, a, b] on a a a b
    res = run("strict", [[(0, A), (1, A), (2, A), (3, B)]], [A, A, B])
    assert res.level[0] == 3 and res.step_pos[0].tolist() == [0, 1, 3]
    assert run("strict", [[(0, A), (1, B)]], [A, A, B]).level[0] == 1


def test_exclusion_strictly_between_steps_taints() -> None:
    res = run("ordered", [[(0, A), (3, X), (5, B)]], [A, B], exclude=[(X, 0, 1)])
    assert res.level[0] == 0
    assert res.excluded[0]
    assert res.n_attempts[0] == 1
    assert res.step_time[0].tolist() == [NAT, NAT]
    assert res.step_pos[0].tolist() == [-1, -1]


@pytest.mark.parametrize("tx", [0, 5])
def test_exclusion_at_the_same_instant_as_a_step_does_not_taint(tx: int) -> None:
    events = sorted([(0, A), (5, B), (tx, X)], key=lambda e: e[0])
    res = run("ordered", [events], [A, B], exclude=[(X, 0, 1)])
    assert res.level[0] == 2
    assert not res.excluded[0]


def test_exclusion_only_between_its_steps() -> None:
    # X before step 1 or after step 2 (of a 3-step funnel, rule 0 -> 1) is harmless
    units = [[(0, X), (1, A), (2, B), (3, X), (4, C)]]
    assert run("ordered", units, [A, B, C], exclude=[(X, 0, 1)]).level[0] == 3
    assert run("ordered", units, [A, B, C], exclude=[(X, 1, 2)]).excluded[0]
    assert run("ordered", units, [A, B, C], exclude=[(X, 0, 2)]).excluded[0]
    assert run("ordered", units, [A, B, C], exclude=[(Y, 0, 2)]).level[0] == 3


def test_exclusion_when_to_step_is_not_reached() -> None:
    # tainted within the window after step a, clean after the deadline
    assert run("ordered", [[(0, A), (3, X)]], [A, B], window=10, exclude=[(X, 0, 1)]).excluded[0]
    assert run("ordered", [[(0, A), (10, X)]], [A, B], window=10, exclude=[(X, 0, 1)]).excluded[0]
    res = run("ordered", [[(0, A), (11, X)]], [A, B], window=10, exclude=[(X, 0, 1)])
    assert res.level[0] == 1 and not res.excluded[0]
    # no window: any later X taints
    assert run("ordered", [[(0, A), (10**6, X)]], [A, B], exclude=[(X, 0, 1)]).excluded[0]
    # previous anchoring: the deadline runs from the last reached step
    units = [[(0, A), (8, B), (15, X)]]
    kw: dict[str, Any] = dict(window=10, exclude=[(X, 1, 2)])
    assert run("ordered", units, [A, B, C], window_from="previous", **kw).excluded[0]
    res = run("ordered", units, [A, B, C], **kw)  # entry deadline is 10
    assert res.level[0] == 2 and not res.excluded[0]
    # attempts that never reach step a are never tainted by the rule
    res = run("ordered", [[(0, A), (1, X)]], [A, B, C], exclude=[(X, 1, 2)])
    assert res.level[0] == 1 and not res.excluded[0]


def test_tainted_attempt_does_not_count_but_a_clean_one_does() -> None:
    units = [[(0, A), (1, X), (2, B), (3, A), (4, B)]]
    res = run("ordered", units, [A, B], exclude=[(X, 0, 1)])
    assert res.level[0] == 2
    assert res.step_time[0].tolist() == [3, 4]
    assert not res.excluded[0]
    assert res.n_attempts[0] == 2
    # the deepest clean attempt sets the level even when a tainted one went deeper
    units = [[(0, A), (1, X), (2, B), (3, C), (4, A)]]
    res = run("ordered", units, [A, B, C], exclude=[(X, 0, 1)])
    assert res.level[0] == 1
    assert res.step_pos[0].tolist() == [4, -1, -1]


def test_all_attempts_tainted_means_excluded() -> None:
    units = [[(0, A), (1, X), (2, A), (3, X), (4, B)], [(0, A), (4, B)], []]
    for kind in ("ordered", "strict"):
        res = run(kind, units, [A, B], exclude=[(X, 0, 1)], window=10)
        assert res.excluded.tolist() == [True, False, False]
        assert res.level.tolist() == [0, 2, 0]
        assert res.n_attempts.tolist() == [2, 1, 0]


def test_strict_exclusion_after_last_step() -> None:
    res = run("strict", [[(0, A), (1, X), (2, B)]], [A, B], exclude=[(X, 0, 1)])
    assert res.excluded[0]  # step B is not adjacent, and X follows A in the window
    res = run("strict", [[(0, A), (0, X), (2, B)]], [A, B], exclude=[(X, 0, 1)])
    assert res.level[0] == 1 and not res.excluded[0]  # X at A's instant does not taint


def test_can_start_restricts_entries_only() -> None:
    units = [[(0, A), (1, B), (2, A), (3, B)]]
    cs = np.array([False, True, True, True])
    res = run("ordered", units, [A, B], can_start=cs)
    assert res.step_time[0].tolist() == [2, 3]
    assert res.n_attempts[0] == 1
    res = run("ordered", [[(0, A), (1, B)]], [A, B], can_start=np.array([False, True]))
    assert res.level[0] == 0 and res.n_attempts[0] == 0 and not res.excluded[0]
    res = run("strict", units, [A, B], can_start=cs)
    assert res.step_pos[0].tolist() == [2, 3]
    # any order: the window must start at an allowed funnel event
    res = run("any", [[(0, B), (1, A)]], [A, B], can_start=np.array([False, True]))
    assert res.level[0] == 1 and res.n_attempts[0] == 1


def test_any_order_basic_and_repeated_symbols() -> None:
    res = run("any", [[(0, C), (1, B), (2, A)]], [A, B, C], window=2)
    assert res.level[0] == 3
    assert res.step_time[0].tolist() == [0, 1, 2]
    assert res.step_pos[0].tolist() == [0, 1, 2]
    units = [[(0, B), (1, A), (2, A)]]
    res = run("any", units, [A, A, B], window=2)
    assert res.level[0] == 3
    res = run("any", units, [A, A, B], window=1)
    assert res.level[0] == 2
    assert res.step_time[0].tolist() == [0, 1, NAT]  # earliest start B@0 with A@1
    # a third A does not fill more than two A steps; fill times are ascending
    res = run("any", [[(0, A), (1, A), (2, A), (3, B)]], [A, A, B], window=10)
    assert res.level[0] == 3
    assert res.step_pos[0].tolist() == [0, 1, 3]
    assert res.n_attempts[0] == 4


def test_any_order_reports_earliest_best_window() -> None:
    units = [[(0, A), (10, A), (11, B), (12, C), (30, A), (31, B), (32, C)]]
    res = run("any", units, [A, B, C], window=5)
    assert res.level[0] == 3
    assert res.step_time[0].tolist() == [10, 11, 12]


def test_empty_input_and_units_without_events() -> None:
    empty = np.array([], dtype=np.int64)
    for fn in (ordered_funnel, strict_funnel, any_order_funnel):
        res = fn(empty, empty, empty.astype(np.int16), [A, B], n_units=3, window=5)
        assert res.level.tolist() == [0, 0, 0]
        assert res.level.dtype == np.int16
        assert res.step_time.shape == (3, 2) and (res.step_time == NAT).all()
        assert res.step_pos.shape == (3, 2) and (res.step_pos == -1).all()
        assert not res.excluded.any() and not res.n_attempts.any()
        assert fn(empty, empty, empty, [A], n_units=0, window=None).level.shape == (0,)
    unit = np.array([1, 1, 3])
    t = np.array([0, 1, 0])
    code = np.array([A, B, A], dtype=np.int16)
    for fn in (ordered_funnel, strict_funnel, any_order_funnel):
        res = fn(unit, t, code, [A, B], n_units=5, window=None)
        assert res.level.tolist() == [0, 2, 0, 1, 0]
        # any order counts every funnel event as a window start
        starts_1 = 2 if fn is any_order_funnel else 1
        assert res.n_attempts.tolist() == [0, starts_1, 0, 1, 0]
    # no funnel events at all
    res = ordered_funnel(unit, t, np.full(3, N, np.int16), [A, B], n_units=5, window=3,
                         window_from="previous")
    assert not res.level.any()


def test_result_types() -> None:
    res = run("ordered", [[(0, A), (1, B)], []], [A, B, C])
    assert isinstance(res, KernelResult)
    assert res.level.dtype == np.int16 and res.level.shape == (2,)
    assert res.step_time.dtype == np.int64 and res.step_time.shape == (2, 3)
    assert res.step_pos.dtype == np.int64 and res.step_pos.shape == (2, 3)
    assert res.excluded.dtype == np.bool_ and res.n_attempts.dtype == np.int64
    assert NAT == np.iinfo(np.int64).min


def test_extreme_timestamps_do_not_overflow() -> None:
    big, small = np.iinfo(np.int64).max, np.iinfo(np.int64).min
    units = [[(small, A), (small + 5, B)], [(big - 5, A), (big, B), (big, C)],
             [(small + 1, A), (big, B)]]
    for window in (None, 5, big):
        for wf in ("entry", "previous"):
            for kind in ("ordered", "strict"):
                got = run(kind, units, [A, B, C], window=window, window_from=wf,
                          exclude=[(X, 0, 1)])
                ref = (ref_ordered if kind == "ordered" else ref_strict_repeats)(
                    *log(*units), [A, B, C], n_units=3, window=window, window_from=wf,
                    exclude=[(X, 0, 1)])
                assert_same(got, ref)
        assert_same(run("any", units, [A, B, C], window=window),
                    ref_any_order(*log(*units), [A, B, C], n_units=3, window=window))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(exclude=[(A, 0, 1)]), "also a funnel step"),
        (dict(exclude=[(X, 1, 1)]), "from_step < to_step"),
        (dict(exclude=[(X, 0, 2)]), "from_step < to_step"),
        (dict(exclude=[(X, 0)]), "triple"),
        (dict(window=-1), "window"),
        (dict(window=1.5), "window"),
        (dict(window_from="last"), "window_from"),
        (dict(can_start=np.array([1, 0])), "can_start"),
        (dict(n_units=1), "n_units"),
    ],
)
def test_invalid_parameters_raise_value_error(kwargs: dict[str, Any], match: str) -> None:
    unit, t, code = log([(0, A)], [(0, B)])
    kw: dict[str, Any] = dict(n_units=2, window=None)
    kw.update(kwargs)
    with pytest.raises(ValueError, match=match):
        ordered_funnel(unit, t, code, [A, B], **kw)


def test_invalid_arrays_raise_value_error() -> None:
    unit, t, code = log([(0, A), (1, B)])
    with pytest.raises(ValueError, match="steps"):
        ordered_funnel(unit, t, code, [], n_units=1, window=None)
    with pytest.raises(ValueError, match="steps"):
        ordered_funnel(unit, t, code, [A] * 65, n_units=1, window=None)
    with pytest.raises(ValueError, match="same length"):
        ordered_funnel(unit, t[:1], code, [A], n_units=1, window=None)
    with pytest.raises(ValueError, match="non-decreasing"):
        ordered_funnel(unit, t[::-1].copy(), code, [A], n_units=1, window=None)
    with pytest.raises(ValueError, match="non-decreasing"):
        strict_funnel(np.array([1, 0]), t, code, [A], n_units=2, window=None)
    with pytest.raises(ValueError, match="integers"):
        any_order_funnel(unit, t.astype(float), code, [A], n_units=1, window=None)
    ordered_funnel(unit, t, code, [A] * 64, n_units=1, window=None)  # 64 steps are fine


@pytest.mark.parametrize("module", [ordered, strict, any_order])
def test_docstring_examples(module: Any) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 3 and result.failed == 0


def test_package_exports() -> None:
    assert kernels.__all__ == ["NAT", "KernelResult", "ordered_funnel", "strict_funnel",
                               "any_order_funnel", "clickhouse_funnel"]
    assert kernels.ordered_funnel is ordered.ordered_funnel
    assert kernels.KernelResult is _common.KernelResult


# ---------------------------------------------------------------------------
# private helpers against brute force
# ---------------------------------------------------------------------------


@given(st.lists(st.integers(0, 5), min_size=1, max_size=100), st.data())
@_settings(150)
def test_range_argmax(vals: list[int], data: st.DataObject) -> None:
    m = len(vals)
    pairs = data.draw(st.lists(st.tuples(st.integers(0, m - 1), st.integers(1, m)), max_size=40))
    pairs = [(lo, hi) for lo, hi in pairs if lo < hi]
    lo = np.array([p[0] for p in pairs], dtype=np.int64)
    hi = np.array([p[1] for p in pairs], dtype=np.int64)
    got = _common._range_argmax(np.array(vals, dtype=np.int16), lo, hi)
    want = [int(np.argmax(vals[a:b])) + a for a, b in pairs]  # argmax: first maximum
    assert got.tolist() == want


@given(st.lists(st.lists(st.integers(0, 30), max_size=8), min_size=1, max_size=5),
       st.one_of(st.none(), st.integers(0, 12)), st.sampled_from([1, 7, 10**12]),
       st.booleans())
@_settings(100)
def test_window_end(units: list[list[int]], window: int | None, scale: int,
                    force_fallback: bool) -> None:
    unit = np.array([u for u, ts in enumerate(units) for _ in ts], dtype=np.int64)
    t = np.array([x * scale for ts in units for x in sorted(ts)], dtype=np.int64)
    w = None if window is None else window * scale
    limit = 0 if force_fallback else _common._KEY_LIMIT
    with mock.patch.object(_common, "_KEY_LIMIT", limit):
        got = _common._window_end(t, w, _common._blocks(unit))
    want = [max(q for q in range(len(t)) if unit[q] == unit[p] and (w is None or t[q] <= t[p] + w))
            for p in range(len(t))]
    assert got.tolist() == want


# ---------------------------------------------------------------------------
# property tests against the reference
# ---------------------------------------------------------------------------


@st.composite
def event_logs(draw: st.DrawFn, *, noise: bool = True, max_events: int = 7,
               t_max: int = 6) -> dict[str, Any]:
    """A small random log: several units (some empty), small timestamps (so ties and exact
    window edges are common), steps with repeated symbols, exclusions and can_start."""
    n_units = draw(st.integers(1, 4))
    lo_code = N if noise else A
    units = []
    for _ in range(n_units):
        evs = draw(st.lists(st.tuples(st.integers(0, t_max), st.integers(lo_code, Y)),
                            max_size=max_events))
        units.append(sorted(evs, key=lambda e: e[0]))  # stable: ties keep drawn order
    unit, t, code = log(*units)
    k = draw(st.integers(1, 4))
    steps = draw(st.lists(st.integers(A, C), min_size=k, max_size=k))
    window = draw(st.one_of(st.none(), st.integers(0, t_max + 1)))
    exclude = []
    if k >= 2:
        rules = st.tuples(st.sampled_from([X, Y]), st.integers(0, k - 2), st.integers(1, k - 1))
        exclude = [r for r in draw(st.lists(rules, max_size=2)) if r[1] < r[2]]
    can_start = draw(st.one_of(st.none(), st.lists(st.booleans(), min_size=t.size,
                                                   max_size=t.size).map(np.array)))
    if can_start is not None:
        can_start = can_start.astype(bool).reshape(-1)
    scale = draw(st.sampled_from([1, 1, 1000, 10**9]))
    offset = draw(st.sampled_from([0, 0, -(2**62), 2**62 - 10**11]))
    return dict(unit=unit, t=t * scale + offset, code=code, steps=steps, n_units=n_units,
                window=None if window is None else window * scale,
                window_from=draw(st.sampled_from(["entry", "previous"])),
                exclude=exclude, can_start=can_start)


def _call(fn: Any, case: dict[str, Any], **over: Any) -> KernelResult:
    kw = {**case, **over}
    args = [kw.pop(k) for k in ("unit", "t", "code", "steps")]
    if fn in (any_order_funnel, ref_any_order):
        kw.pop("window_from")
        kw.pop("exclude")
    return fn(*args, **kw)


@given(event_logs())
@_settings(400)
def test_ordered_matches_reference(case: dict[str, Any]) -> None:
    assert_same(_call(ordered_funnel, case), _call(ref_ordered, case))


@given(event_logs())
@_settings(150)
def test_ordered_matches_reference_without_exclusions(case: dict[str, Any]) -> None:
    # without exclusions the reference reports the earliest of *all* chains at the level
    assert_same(_call(ordered_funnel, case, exclude=()), _call(ref_ordered, case, exclude=()))


@given(event_logs())
@_settings(300)
def test_strict_matches_reference(case: dict[str, Any]) -> None:
    assert_same(_call(strict_funnel, case), _call(ref_strict_repeats, case))


@given(event_logs())
@_settings(300)
def test_any_order_matches_reference(case: dict[str, Any]) -> None:
    assert_same(_call(any_order_funnel, case), _call(ref_any_order, case))


@given(event_logs(max_events=12, t_max=40))
@_settings(100)
def test_window_end_fallback_gives_the_same_results(case: dict[str, Any]) -> None:
    with mock.patch.object(_common, "_KEY_LIMIT", 0):
        slow = [_call(fn, case) for fn in (ordered_funnel, any_order_funnel)]
    fast = [_call(fn, case) for fn in (ordered_funnel, any_order_funnel)]
    for a, b in zip(slow, fast):
        assert_same(a, b)
    assert_same(fast[0], _call(ref_ordered, case))


@given(event_logs(), st.data())
@_settings(200)
def test_ordered_ignores_events_outside_the_funnel(case: dict[str, Any],
                                                   data: st.DataObject) -> None:
    """Adding code -1 events changes positions only (ordered and any order)."""
    n = case["t"].size
    # insert each noise event right after a random existing position (same unit and time)
    after = data.draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=5)) if n else []
    src = np.sort(np.concatenate([np.arange(n), np.array(after, dtype=np.int64)]))
    is_new = np.concatenate([[False], src[1:] == src[:-1]])
    noisy = dict(case, unit=case["unit"][src], t=case["t"][src],
                 code=np.where(is_new, N, case["code"][src]).astype(np.int16))
    if case["can_start"] is not None:
        noisy["can_start"] = case["can_start"][src] & ~is_new
    old_pos = np.append(np.where(is_new, -1, src), -1)  # original position; [-1] -> -1
    for fn in (ordered_funnel, any_order_funnel):
        base, got = _call(fn, case), _call(fn, noisy)
        assert_same(got, base, ["level", "step_time", "excluded", "n_attempts"])
        mapped = old_pos[got.step_pos]
        np.testing.assert_array_equal(mapped, base.step_pos)


@given(event_logs())
@_settings(200)
def test_result_invariants(case: dict[str, Any]) -> None:
    steps = np.array(case["steps"])
    k = steps.size
    for fn in (ordered_funnel, strict_funnel, any_order_funnel):
        res = _call(fn, case)
        counts = [(res.level >= j + 1).sum() for j in range(k)]
        assert all(a >= b for a, b in zip(counts, counts[1:]))  # never increase along steps
        reached = np.arange(k) < res.level[:, None]
        assert ((res.step_pos >= 0) == reached).all()
        assert ((res.step_time != NAT) == reached).all()
        assert not (res.excluded & (res.level > 0)).any()
        assert (res.level <= np.minimum(k, res.n_attempts * k)).all()
        pos = res.step_pos
        valid = pos[:, 1:] >= 0
        assert (pos[:, 1:] > pos[:, :-1])[valid].all()  # strictly increasing positions
        np.testing.assert_array_equal(res.step_time[reached], case["t"][pos[reached]])
        if fn is not any_order_funnel:
            np.testing.assert_array_equal(case["code"][pos[reached]],
                                          np.broadcast_to(steps, pos.shape)[reached])
        if fn is strict_funnel:
            # PostHog's strict funnel: between consecutive steps of the chain only repeats of
            # the step just reached may occur (rows of the unit, in sorted order)
            code = case["code"]
            for u, j in zip(*np.nonzero(valid)):
                between = code[pos[u, j] + 1:pos[u, j + 1]]
                assert (between == steps[j]).all(), (u, j, between)


@given(event_logs())
@_settings(200)
def test_modes_and_windows_are_nested(case: dict[str, Any]) -> None:
    """Without exclusions: strict <= ordered(entry) <= any order, and a wider window or
    'previous' anchoring never lowers the level."""
    case = dict(case, exclude=(), window_from="entry")
    strict = _call(strict_funnel, case).level
    ordered = _call(ordered_funnel, case).level
    prev = _call(ordered_funnel, case, window_from="previous").level
    anyo = _call(any_order_funnel, case).level
    assert (strict <= ordered).all() and (ordered <= anyo).all() and (ordered <= prev).all()
    if case["window"] is not None:
        wider = _call(ordered_funnel, case, window=case["window"] + 1).level
        unlimited = _call(ordered_funnel, case, window=None).level
        assert (ordered <= wider).all() and (wider <= unlimited).all()


# --------------------------------------------------------------------------- mutation audit (kernels)


def test_strict_window_anchor_entry_versus_previous() -> None:
    # a@0 b@6 c@12, window 6. Entry: c is 12 - 0 = 12 > 6 after a -> level 2.
    # Previous: each gap is 6 <= 6 -> level 3.
    units = [[(0, A), (6, B), (12, C)]]
    res = run("strict", units, [A, B, C], window=6)
    assert res.level[0] == 2 and res.step_time[0].tolist() == [0, 6, NAT]
    res = run("strict", units, [A, B, C], window=6, window_from="previous")
    assert res.level[0] == 3 and res.step_time[0].tolist() == [0, 6, 12]


def test_any_order_exclusion_tied_with_the_to_step_does_not_taint() -> None:
    # rule (X, 0, 1): the window at a@0 fills a@0 then b@5; x@5 is not strictly before
    # b's fill time 5 -> clean, level 2. x@3 is strictly between -> tainted; the only
    # other window (start b@5) fills 1 and sees no x after 5 -> level 1.
    res = run("any", [[(0, A), (5, B), (5, X)]], [A, B], exclude=[(X, 0, 1)])
    assert res.level[0] == 2 and not res.excluded[0]
    res = run("any", [[(0, A), (3, X), (5, B)]], [A, B], exclude=[(X, 0, 1)])
    assert res.level[0] == 1 and not res.excluded[0]


def test_any_order_exclusion_deadline_is_inclusive() -> None:
    # window 10, rule (X, 0, 1), a@0 is the only window start and fills 1 step: an x
    # after a and by t(start) + window = 10 taints it. x@10 -> excluded, x@11 -> level 1.
    res = run("any", [[(0, A), (10, X)]], [A, B], window=10, exclude=[(X, 0, 1)])
    assert res.excluded[0] and res.level[0] == 0
    res = run("any", [[(0, A), (11, X)]], [A, B], window=10, exclude=[(X, 0, 1)])
    assert res.level[0] == 1 and not res.excluded[0]


def test_clickhouse_increasing_times_skips_events_at_the_previous_steps_instant() -> None:
    # a@0 b@0 b@1 c@1 (ClickHouse order), strict_increase: b@0 is not strictly after
    # a@0, so step 2 is b@1; c@1 is not strictly after b@1 -> level 2, times [0, 1, -].
    # The same in the default walk (reuse_events=True).
    from funnelkit.engine.kernels import clickhouse_funnel

    unit, t, code = log([(0, A), (0, B), (1, B), (1, C)])
    for reuse in (False, True):
        res = clickhouse_funnel(unit, t, code, [A, B, C], n_units=1, window=None,
                                increasing_times=True, reuse_events=reuse)
        assert res.level.tolist() == [2], reuse
        assert res.step_time.tolist() == [[0, 1, NAT]], reuse
        # without strict_increase the tie b@0 is taken and c@1 completes the funnel
        res = clickhouse_funnel(unit, t, code, [A, B, C], n_units=1, window=None, reuse_events=reuse)
        assert res.level.tolist() == [3], reuse
