"""Tests for funnelkit.engine.bucket_sessions: session ids through the engine's buckets."""

from __future__ import annotations

import contextlib
import os
import threading
import zoneinfo
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnelkit.engine import bucket_sessions, buckets
from funnelkit.engine.bucket_sessions import _dense_keys, session_ids
from funnelkit.errors import ParameterError

MIN = 60 * 10**9  # one minute in ns


def reference_ids(u, t, codes=(), *, timeout_ns=None, max_ns=None, zone=None) -> list[int]:
    """Slow, obvious session ids on arrays (the rules of funnelkit.sessionize).

    Rows sorted by (user, time, codes with nulls (-1) last, input row); per user a
    session starts at the first row, after a gap > timeout, when time - session start >
    max_duration, when the local date in ``zone`` changes, or when a non-null code
    differs from the user's last non-null code. Ids count sessions in sorted order.
    """
    u, t = [int(x) for x in u], [int(x) for x in t]
    codes = [[int(x) for x in c] for c in codes]

    def key(i):
        return (u[i], t[i], tuple((1, 0) if c[i] < 0 else (0, c[i]) for c in codes), i)

    def day(ns):
        return pd.Timestamp(ns, tz="UTC").tz_convert(zone).date()

    out = [0] * len(u)
    sid = -1
    prev_user = None
    for i in sorted(range(len(u)), key=key):
        new = u[i] != prev_user
        if new:
            last = [None] * len(codes)
        else:
            new = (timeout_ns is not None and t[i] - prev_t > timeout_ns) \
                or (max_ns is not None and t[i] - start > max_ns) \
                or (zone is not None and day(t[i]) != day(prev_t)) \
                or any(c[i] >= 0 and last[k] is not None and c[i] != last[k] for k, c in enumerate(codes))
        for k, c in enumerate(codes):
            if c[i] >= 0:
                last[k] = c[i]
        if new:
            sid += 1
            start = t[i]
        out[i] = sid
        prev_t, prev_user = t[i], u[i]
    return out


def _keys(u: np.ndarray, kind: str) -> np.ndarray:
    """User keys of ``kind`` in the order of the small ints ``u``."""
    if kind == "dense":
        return u.astype(np.int64) + 1_000  # a dense range that does not start at 0
    if kind == "sparse":
        return (u.astype(np.int64) - 3) * 10**13  # beyond 4 * n + 1024: factorized
    if kind == "uint64":
        return np.uint64(2**63) + u.astype(np.uint64) * np.uint64(2**40)  # beyond int64
    if kind == "codes8":
        return u.astype(np.int8)  # category codes of a small categorical
    raise AssertionError(kind)


@contextlib.contextmanager
def _layout(bucket_rows: int, block_rows: int, threads: int):
    """Force the engine's layout: rows per bucket and per block, threads from row 0."""
    with mock.patch.object(buckets, "BUCKET_ROWS", bucket_rows), \
            mock.patch.object(buckets, "THREADS_MIN_ROWS", 0), \
            mock.patch.object(bucket_sessions, "_BLOCK_ROWS", block_rows), \
            mock.patch.dict(os.environ, {"FUNNELKIT_NUM_THREADS": str(threads)}):
        yield


@st.composite
def logs(draw, max_rows=40):
    """Users, times on a coarse grid (many ties, +-1 ns now and then), split_on codes."""
    n = draw(st.integers(1, max_rows))
    lists = lambda elements: st.lists(elements, min_size=n, max_size=n)  # noqa: E731
    u = np.array(draw(lists(st.integers(0, draw(st.integers(0, 12))))))
    unit = draw(st.sampled_from([MIN, 7 * MIN, 60 * MIN]))
    base = draw(st.sampled_from([1_711_836_000, 1_729_976_400, 1_719_790_200])) * 10**9  # DST nights
    steps = np.array(draw(lists(st.integers(0, draw(st.sampled_from([3, 10, 40]))))))
    jitter = np.array(draw(lists(st.sampled_from([0, 0, 0, 0, 1, -1]))))
    t = base + steps * unit + jitter
    n_codes = draw(st.integers(0, 2))
    codes = [np.array(draw(lists(st.integers(-1, 2)))) for _ in range(n_codes)]
    dur = st.one_of(st.none(), st.integers(1, 8).map(lambda k: k * unit), st.sampled_from([MIN, 30 * MIN]))
    p = {
        "timeout_ns": draw(dur),
        "max_ns": draw(dur),
        "zone": draw(st.sampled_from([None, "Europe/Madrid", "America/New_York"])),
    }
    return u, t, codes, p


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(log=logs(), kind=st.sampled_from(["dense", "sparse", "uint64", "codes8"]),
       layout=st.sampled_from([None, (1, 3, 2), (2, 5, 2), (4, 1, 1)]), data=st.data())
def test_matches_slow_reference_in_any_layout_and_row_order(log, kind, layout, data):
    u, t, codes, p = log
    zone = None if p["zone"] is None else zoneinfo.ZoneInfo(p["zone"])
    kw = dict(timeout_ns=p["timeout_ns"], max_ns=p["max_ns"], zone=zone)
    perm = np.array(data.draw(st.permutations(range(len(u)))))
    key = _keys(u, kind)
    with _layout(*layout) if layout else contextlib.nullcontext():
        got = session_ids(key, t, codes=codes, **kw)
        shuffled = session_ids(key[perm], t[perm], codes=[c[perm] for c in codes], **kw)
    assert got.dtype == np.int64
    assert got.tolist() == reference_ids(u, t, codes, **kw)
    np.testing.assert_array_equal(shuffled, got[perm])  # same session per row


def test_many_buckets_on_threads():
    # 3,000 rows of 500 users, buckets of about 8 rows: every bucket runs in the pool
    rng = np.random.default_rng(3)
    n = 3_000
    u = rng.integers(0, 500, n)
    t = rng.integers(0, 200, n) * MIN
    codes = [rng.integers(-1, 3, n)]
    calls: list[tuple[int, bool]] = []
    real = bucket_sessions.new_sessions
    main = threading.get_ident()

    def spy(loc, ts, **kw):
        calls.append((len(loc), threading.get_ident() != main))
        return real(loc, ts, **kw)

    kw = dict(timeout_ns=30 * MIN, max_ns=90 * MIN, zone=None)
    with _layout(8, 256, 2), mock.patch.object(bucket_sessions, "new_sessions", spy):
        got = session_ids(u * 7 + 11, t, codes=codes, **kw)  # dense, not from 0
    assert len(calls) > 100
    assert all(in_pool for _, in_pool in calls)
    assert sum(k for k, _ in calls) == n
    assert got.tolist() == reference_ids(u, t, codes, **kw)


def test_one_bucket_for_a_small_log():
    calls = []
    real = bucket_sessions.new_sessions

    def spy(loc, ts, **kw):
        calls.append(len(loc))
        return real(loc, ts, **kw)

    u = np.array([3, 1, 3, 2, 1])
    t = np.array([0, 1, 2, 3, 50]) * MIN
    with mock.patch.object(bucket_sessions, "new_sessions", spy):
        got = session_ids(u, t, timeout_ns=30 * MIN, max_ns=None, zone=None)
    assert calls == [5]
    assert got.tolist() == [3, 0, 3, 2, 1]


def test_time_unordered_log_and_wide_buckets():
    # rows not in time order (lexsort in the bucket) and > 65,536 users in one bucket
    # (two 16-bit radix passes when the rows are in time order)
    rng = np.random.default_rng(11)
    n = 150_000
    u = rng.integers(0, 70_000, n)
    t = rng.integers(0, 86_400, n) * 10**9
    kw = dict(timeout_ns=30 * MIN, max_ns=None, zone=None)
    order = np.lexsort((t, u))
    new = np.ones(n, dtype=bool)
    us, ts = u[order], t[order]
    new[1:] = (us[1:] != us[:-1]) | (ts[1:] - ts[:-1] > 30 * MIN)
    expected = np.empty(n, dtype=np.int64)
    expected[order] = np.cumsum(new) - 1
    with _layout(4 * n, 1 << 14, 1):
        np.testing.assert_array_equal(session_ids(u, t, **kw), expected)
        ts_order = np.argsort(t, kind="stable")
        np.testing.assert_array_equal(session_ids(u[ts_order], t[ts_order], **kw), expected[ts_order])


def test_dense_keys():
    key = np.array([12, 10, 12])
    got, lo, n_ids = _dense_keys(key)
    assert got is key and (lo, n_ids) == (10, 3)
    codes = np.array([2, 0, 2], dtype=np.int8)
    assert _dense_keys(codes)[0] is codes
    got, lo, n_ids = _dense_keys(np.array([10**15, -(10**15), 10**15, 0]))
    assert got.tolist() == [2, 0, 2, 1] and (lo, n_ids) == (0, 3)
    got, lo, n_ids = _dense_keys(np.array([2**64 - 1, 3, 3], dtype=np.uint64))
    assert got.tolist() == [1, 0, 0] and (lo, n_ids) == (0, 2)


def test_empty_and_bad_inputs():
    kw = dict(timeout_ns=MIN, max_ns=None, zone=None)
    empty = session_ids(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), **kw)
    assert empty.dtype == np.int64 and empty.size == 0
    with pytest.raises(ParameterError, match="one value per row"):
        session_ids(np.zeros(3, dtype=np.int64), np.zeros(2, dtype=np.int64), **kw)
    with pytest.raises(ParameterError, match="one value per row"):
        session_ids(np.zeros(3, dtype=np.int64), np.zeros(3, dtype=np.int64), codes=[np.zeros(2)], **kw)
    with pytest.raises(ParameterError, match="must be integers"):
        session_ids(np.zeros(3), np.zeros(3, dtype=np.int64), **kw)


@pytest.mark.parametrize("name", ["funnelkit.engine.bucket_sessions", "funnelkit.engine.kernels.sessions"])
def test_docstring_examples_run(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
