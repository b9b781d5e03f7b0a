"""engine/thin.py: per (unit, window, carried values), exactly the rows at the extreme times."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelkit.engine.drive import _split
from funnelkit.engine import thin as _thin
from funnelkit.engine.thin import SCRATCH_CELLS, parts_width, split_thinned, thin_block


def _window5(t: np.ndarray) -> np.ndarray:
    return t // 5


def _reference(off: np.ndarray, t: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """The obvious rule: a row stays when it is at its group's earliest or latest time."""
    df = pd.DataFrame({"off": off, "w": t // 5, "b": bits, "t": t})
    g = df.groupby(["off", "w", "b"])["t"]
    return np.flatnonzero((df["t"] == g.transform("min")) | (df["t"] == g.transform("max")))


_rows = st.lists(st.tuples(st.integers(0, 40), st.integers(-20, 60), st.integers(0, 3)), min_size=0, max_size=80)


def _arrays(rows):
    off = np.array([r[0] for r in rows], dtype=np.int64)
    t = np.array([r[1] for r in rows], dtype=np.int64)
    bits = np.array([r[2] for r in rows], dtype=np.uint8)
    return off, t, bits


@settings(max_examples=60, deadline=None)
@given(rows=_rows)
def test_thin_block_keeps_exactly_the_extreme_rows_of_each_group(rows) -> None:
    off, t, bits = _arrays(rows)
    got = thin_block(off, t, [bits], _window5(t))
    want = _reference(off, t, bits)
    if got is None:  # nothing to drop: every row is an extreme of its group
        assert len(want) == len(rows)
    else:
        np.testing.assert_array_equal(got, want)
    kept = np.arange(len(rows)) if got is None else got
    # a group of two rows or more keeps two rows or more
    df = pd.DataFrame({"off": off, "w": t // 5, "b": bits})
    sizes = df.groupby(["off", "w", "b"]).size()
    kept_sizes = df.iloc[kept].groupby(["off", "w", "b"]).size().reindex(sizes.index, fill_value=0)
    assert ((kept_sizes >= 2) | (sizes < 2)).all()


def test_known_block() -> None:
    # unit 0: window 0 holds t = 0, 1, 2, 4 (keep 0 and 4), window 1 holds t = 5 only;
    # unit 1: two rows at one instant (both kept), and a row with other bits (its own group)
    off = np.array([0, 0, 0, 0, 0, 1, 1, 1], dtype=np.int64)
    t = np.array([2, 0, 4, 1, 5, 3, 3, 3], dtype=np.int64)
    bits = np.array([0, 0, 0, 0, 0, 0, 0, 1], dtype=np.uint8)
    np.testing.assert_array_equal(thin_block(off, t, [bits], t // 5), [1, 2, 4, 5, 6, 7])


def test_thinned_parts_hold_no_view_of_the_block() -> None:
    # the buckets keep every part until the block's units run: a part that dropped nothing
    # must not be a view of the block's arrays, or those arrays (all rows) stay alive
    # beside the thinned copies (50M events: 730 -> 510 MB peak for weekly retention)
    off = np.array([0, 0, 0, 1, 2, 2, 3], dtype=np.int64)
    t = np.array([1, 2, 3, 1, 1, 4, 9], dtype=np.int64)
    w = np.zeros(len(t), dtype=np.int64)
    pos = np.arange(len(t), dtype=np.int64)
    cells, lo, span = parts_width(2, w, [])
    for n_buckets, shift in ((2, 1), (1, 2)):  # units 0-1 | 2-3, and one bucket
        got = split_thinned(off, [t, pos], 1, w, shift, n_buckets, np.uint16, lo, span)
        kept = np.concatenate([g[1] for g in got if g is not None])
        np.testing.assert_array_equal(np.sort(kept), [1, 1, 1, 3, 4, 9])  # unit 0 drops its middle row
        for g in got:
            for a in g:
                assert not any(np.shares_memory(a, b) for b in (off, t, w, pos))
    # a block where nothing drops (every unit one row), in one bucket and in two
    o2, t2 = np.array([0, 1, 2, 3], dtype=np.int64), np.array([5, 6, 7, 8], dtype=np.int64)
    w2, p2 = np.zeros(4, dtype=np.int64), np.arange(4, dtype=np.int64)
    for n_buckets, shift in ((1, 2), (2, 1)):
        got = split_thinned(o2, [t2, p2], 1, w2, shift, n_buckets, np.uint16, lo, span)
        assert sum(len(g[1]) for g in got if g is not None) == 4
        for g in got:
            for a in g:
                assert not any(np.shares_memory(a, b) for b in (o2, t2, w2, p2))


_dense_rows = st.lists(st.tuples(st.integers(0, 7), st.integers(0, 14), st.integers(0, 1)), min_size=8, max_size=60)


@settings(max_examples=80, deadline=None)
@given(rows=st.one_of(_rows, _dense_rows), shift=st.integers(0, 4), fill=st.sampled_from([1, 7, 1 << 15]))
def test_split_thinned_equals_thinning_the_block_then_splitting(rows, shift, fill) -> None:
    # one pass (order by bucket, thin several buckets per fill of the table, gather only the
    # rows kept) gives exactly the parts of keeping the reference's rows, then cutting
    off, t, bits = _arrays(rows)
    n_buckets = max(1, -(-41 // (1 << shift)))
    w = _window5(t)
    pos = np.arange(len(t), dtype=np.int64)  # rides along, not a key
    cells, lo, span = parts_width(1 << shift, w, [bits])
    assert cells <= SCRATCH_CELLS
    keep = _reference(off, t, bits)
    want = _split(off[keep], [t[keep], bits[keep], pos[keep]], shift, n_buckets, np.uint16)
    old = _thin._FILL_CELLS
    _thin._FILL_CELLS = fill  # 1: one bucket per fill; 1 << 15: every bucket in one fill
    try:
        got = split_thinned(off, [t, bits, pos], 2, w, shift, n_buckets, np.uint16, lo, span)
    finally:
        _thin._FILL_CELLS = old
    assert len(got) == len(want)
    for g, e in zip(got, want):
        if e is None:
            assert g is None
            continue
        assert len(g) == len(e) == 4  # the window column is dropped
        for a, b in zip(g, e):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(t[g[3]], g[1])  # each row's position travels with it
    mn, mx = _thin._scratch()  # the table is left clean for the next block
    assert (mn == np.iinfo(np.int64).max).all() and (mx == np.iinfo(np.int64).min).all()


def test_split_thinned_keeps_buckets_sharing_a_fill_apart() -> None:
    # units 0 and 1 are in different buckets (shift 0) but the same fill of the table:
    # unit 0's latest row (t=3) is an extreme of its own group, not of unit 1's
    off = np.array([0, 0, 0, 1], dtype=np.int64)
    t = np.array([1, 2, 3, 5], dtype=np.int64)
    w = np.zeros(4, dtype=np.int64)
    cells, lo, span = parts_width(1, w, [])
    got = split_thinned(off, [t], 1, w, 0, 2, np.uint16, lo, span)
    np.testing.assert_array_equal(got[0][1], [1, 3])
    np.testing.assert_array_equal(got[1][1], [5])
