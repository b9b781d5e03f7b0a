"""Hand-made cases for ``kernels.clickhouse_funnel`` (ClickHouse windowFunnel's walk).

The expected levels were checked in chdb (``tests/test_peers_chdb.py`` runs the same
kind of logs against it in bulk).
"""

from __future__ import annotations

import numpy as np
import pytest

from funnelkit.engine.kernels import NAT, clickhouse_funnel
from funnelkit.errors import ParameterError

A, B, C = 0, 1, 2
X = -1  # outside the funnel


def run(rows, steps=(A, B, C), window=100, **kw):
    """rows: (time, code) of one unit, already in ClickHouse's order."""
    t = np.array([r[0] for r in rows], dtype=np.int64)
    code = np.array([r[1] for r in rows], dtype=np.int16)
    return clickhouse_funnel(np.zeros(len(rows), dtype=np.int64), t, code, list(steps), n_units=1,
                             window=window, **kw)


def seq(codes):
    return [(i, c) for i, c in enumerate(codes)]


def test_default_and_strict_once_differ_on_one_event_filling_two_steps():
    # one event matching steps 1 and 2 comes as two role rows of one event
    t = np.array([0, 0, 1], dtype=np.int64)
    code = np.array([0, 1, 2], dtype=np.int16)
    ev = np.array([7, 7, 8])
    u = np.zeros(3, dtype=np.int64)
    reuse = clickhouse_funnel(u, t, code, [0, 1, 2], n_units=1, window=None, reuse_events=True, event=ev)
    once = clickhouse_funnel(u, t, code, [0, 1, 2], n_units=1, window=None, increasing_times=False,
                             stop_at_repeat=True, event=ev)
    assert reuse.level.tolist() == [3]
    assert reuse.step_pos.tolist() == [[0, 1, 2]]
    assert once.level.tolist() == [1]  # the event fills step 1 only; step 2 never comes


@pytest.mark.parametrize("codes, kw, want", [
    ([A, A, B, B, C, C], dict(uninterrupted=True), 3),
    ([A, B, A, B, C], dict(uninterrupted=True), 3),
    ([A, X, B, C], dict(uninterrupted=True), 1),
    ([X, A, B, C], dict(uninterrupted=True), 3),  # before the first step-1 event: ignored
    ([A, C, B, C], dict(uninterrupted=True), 1),
    ([A, C, B, C], dict(uninterrupted=True, out_of_order="ignore"), 3),
    ([A, C, X, B, C], dict(uninterrupted=True, out_of_order="ignore"), 1),  # outside events still stop
    ([A, B, B, C], dict(stop_at_repeat=True), 2),
    ([A, B, A, C], dict(stop_at_repeat=True), 3),  # a repeated step 1 restarts, no stop
    ([A, B, C], dict(), 3),
])
def test_stops(codes, kw, want):
    for reuse in (False, True):
        assert run(seq(codes), reuse_events=reuse, **kw).level.tolist() == [want], (codes, kw, reuse)


def test_increasing_times_default_walk_keeps_the_latest_start():
    """ClickHouse's default walk keeps one state per level: a@0, a@5, b@5, c@6 with
    strict_increase reaches 1 (the a@5 start cannot take b@5), strict_once's search 3."""
    rows = [(0, A), (5, A), (5, B), (6, C)]
    assert run(rows, reuse_events=True, increasing_times=True).level.tolist() == [1]
    res = run(rows, increasing_times=True)
    assert res.level.tolist() == [3]
    assert res.step_time.tolist() == [[0, 5, 6]]


def test_window_from_the_first_step_inclusive():
    rows = [(0, A), (5, B), (10, C)]
    for reuse in (False, True):
        assert run(rows, window=10, reuse_events=reuse).level.tolist() == [3]
        res = run(rows, window=9, reuse_events=reuse)
        assert res.level.tolist() == [2]
        assert res.step_time.tolist() == [[0, 5, NAT]]


def test_can_start_refuses_starts_and_units_are_independent():
    u = np.array([0, 0, 1, 1], dtype=np.int64)
    t = np.array([0, 1, 0, 1], dtype=np.int64)
    code = np.array([A, B, A, B], dtype=np.int16)
    cs = np.array([False, True, True, True])
    res = clickhouse_funnel(u, t, code, [A, B], n_units=3, window=None, can_start=cs, reuse_events=True)
    assert res.level.tolist() == [0, 2, 0]
    assert res.n_attempts.tolist() == [0, 1, 0]


def test_bad_arguments():
    with pytest.raises(ParameterError, match="out_of_order"):
        run(seq([A]), out_of_order="skip")
    with pytest.raises(ParameterError, match="role rows"):
        run(seq([A, A, B]), steps=(A, A, B))
