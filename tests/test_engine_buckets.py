"""funnelkit.engine.buckets: whole units per bucket, spilled beyond a budget, sorted, run.

The layout splits unit codes into ranges; parts are kept in input order and spilled
to one file per bucket and array when the parts held exceed ``memory_budget``; each
bucket is sorted by (unit, time, position, then value keys) so that no result depends
on the input's row order; buckets run on a thread pool, a few at a time. Results
never depend on the layout: one bucket, many tiny ones, spilled or not.
"""

from __future__ import annotations

import os
import tempfile
from unittest import mock

import numpy as np
import pandas as pd
import pytest

import funnelkit as fk
from funnelkit.engine import buckets as B
from funnelkit.errors import FunnelkitError, ParameterError
from test_engine_run import assert_same, hex_id, shuffled, tiny_buckets

EVENTS = ["a", "b", "c", "x", "noise"]


# --------------------------------------------------------------------------- layout and sort


def test_layout():
    assert B.layout(10, 10, 1) == (4, 1)  # one bucket of 16 codes
    shift, n = B.layout(1000, 10**6, 1)
    assert n * (1 << shift) >= 1000 and n >= -(-10**6 // B.BUCKET_ROWS) // 2
    shift, n = B.layout(1000, 10, 4)  # threads want at least 2 buckets each
    assert n >= 8 and (n - 1) * (1 << shift) < 1000
    with mock.patch.object(B, "BUCKET_ROWS", 1):
        assert B.layout(6, 10, 1) == (0, 6)  # one unit code per bucket


@pytest.mark.parametrize("case", ["sorted", "time_sorted", "tie_positions", "wide", "unsorted", "big_times",
                                  "ties"])
def test_order_matches_lexsort(case):
    rng = np.random.default_rng(0)
    n = 5_000
    n_units = 70_000 if case == "wide" else 300
    u = rng.integers(0, n_units, n)
    t = np.sort(rng.integers(0, 50, n)) if case != "unsorted" else rng.integers(0, 50, n)
    if case == "big_times":  # spans beyond 2**62: no packed key
        t = np.sort(rng.choice(np.array([-(2**62), 0, 2**62]), n))
    pos = rng.integers(0, 4, n).astype(np.int16)
    bits = rng.integers(0, 8, n).astype(np.uint8)
    attr = rng.integers(-1, 3, n).astype(np.int32)
    if case == "sorted":
        o = np.lexsort((pos, t, u))
        u, t, pos = u[o], t[o], pos[o]
    if case == "time_sorted":
        pos[:] = 0  # ties of (unit, time) never need the position
    ties = [bits, attr] if case == "ties" else []
    ref = np.lexsort(tuple(k for k in ties[::-1]) + (pos, t, u))
    got = B.order(u, t, pos, ties, n_units=n_units, n_pos=5)
    if case == "sorted":
        assert got is None
        return
    assert got is not None
    if ties:
        np.testing.assert_array_equal(got, ref)
    else:  # rows equal in every key may come in any order
        keys = np.stack([u, t, pos])
        np.testing.assert_array_equal(keys[:, got], keys[:, ref])


def test_order_breaks_ties_by_value_not_by_row():
    u = np.zeros(4, np.int64)
    t = np.zeros(4, np.int64)
    pos = np.zeros(4, np.int16)
    bits = np.array([3, 1, 3, 1], np.uint8)
    attr = np.array([2, 5, 0, 5], np.int32)
    got = B.order(u, t, pos, [bits, attr], n_units=1, n_pos=2)
    assert [(bits[i], attr[i]) for i in got] == [(1, 5), (1, 5), (3, 0), (3, 2)]


# --------------------------------------------------------------------------- spilling


def test_buckets_spill_and_read_back(tmp_path):
    dts = [np.uint16, np.int64, np.uint8, np.int16]
    b = B.Buckets(3, dts, budget=40, tmp=tmp_path)
    parts = []
    for k in range(5):
        p = [None, None, None]
        j = k % 3
        p[j] = (np.arange(k + 1, dtype=np.uint16), np.arange(k + 1, dtype=np.int64) * 10 + k,
                np.full(k + 1, k, np.uint8), np.full(k + 1, j, np.int16))
        parts.append(p)
        b.add(p)
    assert b.written > 0 and b.spilled_rows
    for j in range(3):
        got = b.take(j)
        want = [p[j] for p in parts if p[j] is not None]
        for k in range(4):
            np.testing.assert_array_equal(got[k], np.concatenate([w[k] for w in want]))  # input order kept
            assert got[k].dtype == dts[k]
    assert list(tmp_path.iterdir()) == []  # files removed when read back
    assert b.take(0) is None


def test_temp_dir_errors_name_the_fix(tmp_path):
    d = B.temp_dir(tmp_path)
    assert d.parent == tmp_path and d.name.startswith(f"funnelkit-spill-{os.getpid()}-")
    assert not d.exists()  # created at the first spill only
    missing = tmp_path / "no" / "such" / "dir"
    with pytest.raises(FunnelkitError, match=f"{str(missing)!r}.*does not exist.*tmp_dir=.*--tmp-dir"):
        B.temp_dir(missing)
    (tmp_path / "file").write_text("x")
    with pytest.raises(FunnelkitError, match="is not a directory.*tmp_dir="):
        B.temp_dir(tmp_path / "file")
    with pytest.raises(ParameterError, match="tmp_dir"):
        B.temp_dir(3.5)


def _log(n=5_000, users=400, seed=2, ids="dense"):
    rng = np.random.default_rng(seed)
    u = rng.integers(0, users, n)
    return pd.DataFrame({
        "user_id": [hex_id(int(x)) for x in u] if ids == "string" else u,
        "timestamp": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.sort(rng.integers(0, 10**6, n)), unit="s"),
        "event": rng.choice(np.array(EVENTS), n),
        "channel": rng.choice(np.array(["p", "q", "r"]), n),
    })


@pytest.mark.parametrize("ids", ["dense", "string"])
def test_spill_within_memory_budget_and_cleanup(tmp_path, ids):
    ev = _log(ids=ids)
    path = tmp_path / "ev.parquet"
    ev.to_parquet(path, row_group_size=500)
    spill = tmp_path / "spill"
    spill.mkdir()
    written, held = [], []
    real_write, real_add = B.Buckets._write, B.Buckets.add

    def spy_write(self, j, parts):
        written.append(sum(len(p[0]) for p in parts))
        return real_write(self, j, parts)

    def spy_add(self, parts):
        real_add(self, parts)
        held.append(self.held)

    with mock.patch.object(B.Buckets, "_write", spy_write), mock.patch.object(B.Buckets, "add", spy_add), \
            mock.patch.object(tempfile, "tempdir", str(spill)), tiny_buckets(bucket_rows=200, block_rows=100):
        got = fk.funnel(str(path), ["a", "b", "c"], window="1D", by="channel", memory_budget=1000)
    funnel_rows = int(ev["event"].isin(["a", "b", "c"]).sum())
    assert sum(written) > 0.5 * funnel_rows  # most rows went to disk
    assert max(held) <= 1000  # beyond the budget every part held went to disk
    assert list(spill.iterdir()) == []  # the temporary directory is gone
    assert_same(got, fk.funnel(ev, ["a", "b", "c"], window="1D", by="channel"))


def test_spill_directory_removed_on_error(tmp_path):
    ev = pd.DataFrame({"user_id": [1, 1, 1], "timestamp": pd.to_datetime([0, 1, 1], unit="m", utc=True),
                       "event": ["a", "b", "a"]})
    path = tmp_path / "ev.parquet"
    ev.to_parquet(path)
    spill = tmp_path / "spill"
    spill.mkdir()
    j = fk.Journey({"a1": "a", "b": "b", "a2": fk.Rule("a")})
    with mock.patch.object(tempfile, "tempdir", str(spill)), tiny_buckets():
        with pytest.raises(ParameterError, match="'a1' and 'a2'"):  # raised in a bucket, on a worker thread
            fk.funnel(str(path), j, mode="strict", memory_budget=1)
    assert list(spill.iterdir()) == []


# --------------------------------------------------------------------------- many buckets


def test_hand_made_log_many_buckets_on_threads():
    # users 0..5, one id per bucket; known answer
    ev = pd.DataFrame({
        "user_id": [5, 0, 1, 2, 0, 5, 3, 1, 4, 0],
        "timestamp": pd.to_datetime([9, 1, 2, 3, 4, 5, 6, 7, 8, 9], unit="m", utc=True),
        "event": ["c", "a", "a", "a", "b", "a", "b", "b", "noise", "c"],
    })
    with tiny_buckets():
        res = fk.funnel(ev, ["a", "b", "c"], window="1h")
    assert res.table["units"].tolist() == [4, 2, 1]  # a: 0 1 2 5; b after a: 0 1; c after b: 0
    assert res.units["level"].tolist() == [3, 2, 1, 0, 0, 1]
    assert res.units.index.tolist() == [0, 1, 2, 3, 4, 5]
    assert res.diagnostics["rows_in_funnel"] == 9
    assert_same(res, fk.funnel(ev, ["a", "b", "c"], window="1h"))


def test_buckets_wider_than_16_bits_and_shuffled():
    """> 65,536 units in one bucket: 32-bit local offsets and the two-pass radix sort."""
    rng = np.random.default_rng(3)
    n = 150_000
    ev = pd.DataFrame({
        "user_id": rng.integers(0, 70_000, n),
        "timestamp": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.sort(rng.integers(0, 500, n)), unit="min"),
        "event": rng.choice(np.array(EVENTS), n),
    })
    kw = dict(window="1h")
    want = fk.funnel(ev, ["a", "b", "c"], **kw)
    with mock.patch.object(B, "BUCKET_ROWS", 10**9):  # one bucket of all 70,000 units
        assert_same(fk.funnel(ev, ["a", "b", "c"], **kw), want)
        assert_same(fk.funnel(shuffled(ev, 1), ["a", "b", "c"], **kw), want)
    with tiny_buckets(bucket_rows=40_000, block_rows=40_000):
        assert_same(fk.funnel(ev, ["a", "b", "c"], **kw), want)


@pytest.mark.parametrize("threads", ["1", "3"])
def test_threads_setting(threads):
    ev = _log(n=2_000)
    want = fk.funnel(ev, ["a", "b", "c"], by="channel", attribution="step:2")
    with tiny_buckets(threads=int(threads), bucket_rows=50, block_rows=300):
        assert_same(fk.funnel(ev, ["a", "b", "c"], by="channel", attribution="step:2"), want)
    with mock.patch.dict(os.environ, {"FUNNELKIT_NUM_THREADS": "two"}), \
            mock.patch("funnelkit.engine.run.THREADS_MIN_ROWS", 1):
        with pytest.raises(ParameterError, match="FUNNELKIT_NUM_THREADS"):
            fk.funnel(ev, ["a", "b", "c"])


# --------------------------------------------------------------------------- faults (issue 15)


import contextlib
import signal

import pyarrow.parquet as pq
import subprocess
import sys


def _spill_log(tmp_path, n=3000):
    ev = _log(n=n)
    path = tmp_path / "ev.parquet"
    ev.to_parquet(path, row_group_size=500)
    return ev, path


@contextlib.contextmanager
def _tmpfs(where, options):
    """A small tmpfs mounted at ``where`` (root only; skips otherwise)."""
    where.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True)
    if r.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_missing_or_readonly_system_temp_dir_fails_only_when_spilling(tmp_path):
    ev, path = _spill_log(tmp_path)
    steps = ["a", "b", "c"]
    want = fk.funnel(ev, steps)
    missing = tmp_path / "gone"
    with mock.patch.object(tempfile, "tempdir", str(missing)):
        # the 6-row / '512MB' case: fits in its budget, so no temporary directory is needed
        six = ev.iloc[:6]
        six.to_parquet(tmp_path / "six.parquet")
        assert_same(fk.funnel(str(tmp_path / "six.parquet"), steps, memory_budget="512MB"), fk.funnel(six, steps))
        with pytest.raises(FunnelkitError, match=f"{str(missing)!r}.*does not exist.*tmp_dir=.*--tmp-dir"):
            fk.funnel(str(path), steps, memory_budget=1)
    assert not missing.exists()
    assert_same(fk.funnel(str(path), steps, memory_budget="512MB"), want)


def test_readonly_tmp_dir_names_the_directory(tmp_path):
    with _tmpfs(tmp_path / "ro", "ro,size=64k") as ro:
        with pytest.raises(FunnelkitError, match=f"{str(ro)!r}.*not writable.*tmp_dir=.*--tmp-dir"):
            B.temp_dir(ro)  # an explicit tmp_dir: refused before any work
        ev, path = _spill_log(tmp_path)
        with mock.patch.object(tempfile, "tempdir", str(ro)):
            with pytest.raises(FunnelkitError, match=f"{str(ro)!r}.*not writable"):
                fk.funnel(str(path), ["a", "b", "c"], memory_budget=1)


def test_readonly_tmp_dir_without_root(tmp_path):
    with mock.patch.object(B.os, "access", lambda p, mode: False):
        with pytest.raises(FunnelkitError, match="not writable.*tmp_dir="):
            B.temp_dir(tmp_path)


def test_full_disk_tmpfs_raises_naming_directory_and_space_and_leaves_nothing(tmp_path):
    ev, path = _spill_log(tmp_path, n=20_000)
    with _tmpfs(tmp_path / "small", "size=16k") as small:
        with mock.patch.object(tempfile, "tempdir", str(small)):
            with pytest.raises(FunnelkitError, match=f"{str(small)!r} failed.*needed .* more.*tmp_dir=") as exc:
                fk.funnel(str(path), ["a", "b", "c"], memory_budget=1)
        assert "free there now" in str(exc.value)
        assert list(small.iterdir()) == []  # nothing left behind


def test_short_write_raises_and_leaves_nothing(tmp_path):
    """A full disk without root: the writer writes half of an array (as tofile can)."""
    ev, path = _spill_log(tmp_path)
    spill = tmp_path / "spill"
    spill.mkdir()
    calls = []

    def short(arr, fh):
        calls.append(arr.nbytes)
        if len(calls) > 3:
            fh.write(arr.tobytes()[: arr.nbytes // 2])
        else:
            arr.tofile(fh)

    with mock.patch.object(B, "_tofile", short), mock.patch.object(tempfile, "tempdir", str(spill)):
        with pytest.raises(FunnelkitError, match=r"fewer bytes than were written.*This spill needed [0-9,]+ "):
            fk.funnel(str(path), ["a", "b", "c"], memory_budget=1)
    assert list(spill.iterdir()) == []

    def enospc(arr, fh):
        raise OSError(28, "No space left on device")

    with mock.patch.object(B, "_tofile", enospc), mock.patch.object(tempfile, "tempdir", str(spill)):
        with pytest.raises(FunnelkitError, match="No space left on device"):
            fk.funnel(str(path), ["a", "b", "c"], memory_budget=1)
    assert list(spill.iterdir()) == []


def test_killed_runs_leftovers_are_removed_by_the_next_spill(tmp_path):
    parent = tmp_path / "tmp"
    parent.mkdir()
    code = (
        "import os, numpy as np\n"
        "from funnelkit.engine import buckets as B\n"
        f"b = B.Buckets(2, [np.int64], budget=1, tmp=B.temp_dir({str(parent)!r}))\n"
        "b.add([(np.arange(1000),), (np.arange(10),)])\n"
        "os.kill(os.getpid(), 9)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert r.returncode == -signal.SIGKILL
    left = [p for p in parent.iterdir()]
    assert len(left) == 1 and left[0].name.startswith(B.SPILL_PREFIX)
    assert sum(f.stat().st_size for f in left[0].iterdir()) > 8000  # the killed run's spill
    # a live run's directory, a look-alike without owner file and another program's: kept
    live = parent / f"{B.SPILL_PREFIX}{os.getpid()}-live"
    live.mkdir()
    (live / "owner.txt").write_text(f"{os.getpid()} {B._start_time(os.getpid())}\n")
    fake = parent / f"{B.SPILL_PREFIX}1-noowner"
    fake.mkdir()
    other = parent / "someone-else"
    other.mkdir()
    ev, path = _spill_log(tmp_path)
    with mock.patch.object(tempfile, "tempdir", str(parent)):
        assert_same(fk.funnel(str(path), ["a", "b", "c"], memory_budget=1), fk.funnel(ev, ["a", "b", "c"]))
    assert sorted(p.name for p in parent.iterdir()) == sorted([live.name, fake.name, other.name])


def test_reused_pid_counts_as_gone(tmp_path):
    d = tmp_path / f"{B.SPILL_PREFIX}{os.getpid()}-old"
    d.mkdir()
    (d / "owner.txt").write_text(f"{os.getpid()} 1\n")  # this pid, but another start time
    assert B.remove_stale(tmp_path) == [d] and not d.exists()


def test_tiny_budget_does_not_multiply_buckets(tmp_path):
    """The 900-row case: the layout follows the rows, never the budget (one bucket here),
    and a budget of 1 byte means one spill per block read, not 216,000 partitions."""
    ev, path = _spill_log(tmp_path, n=900)
    seen = []
    real_init, real_write = B.Buckets.__init__, B.Buckets._write
    writes = []

    def spy_init(self, n_buckets, dtypes, **kw):
        seen.append((n_buckets, kw.get("budget")))
        real_init(self, n_buckets, dtypes, **kw)

    def spy_write(self, j, parts):
        writes.append(j)
        return real_write(self, j, parts)

    spill = tmp_path / "spill"
    spill.mkdir()
    with mock.patch.object(B.Buckets, "__init__", spy_init), mock.patch.object(B.Buckets, "_write", spy_write), \
            mock.patch.object(tempfile, "tempdir", str(spill)):
        for budget in (1, "512MB"):
            assert_same(fk.funnel(str(path), ["a", "b", "c"], memory_budget=budget), fk.funnel(ev, ["a", "b", "c"]))
    assert seen and all(n == 1 for n, _ in seen)  # one bucket for 900 rows, whatever the budget
    n_blocks = pq.ParquetFile(path).metadata.num_row_groups
    assert 0 < len(writes) <= n_blocks  # budget=1: at most one spill per block; '512MB': none
    assert list(spill.iterdir()) == []


# --------------------------------------------------------------------------- mutation audit (funnel analysis and driver)


def test_packed_sort_key_of_exactly_64_bits_is_not_used():
    """The packed sort key holds at most 63 bits (an int64 without its sign). Two units
    (1 bit), 4 positions (2 bits) and a 40-year span in nanoseconds (61 bits) need 64:
    the rows must still sort by unit, then time.

    User 1: a@1980 (+1 ns), b@2000, c@2020 (level 3); user 2: a@1990, b@2010 (level 2);
    rows out of time order, no window."""
    u = np.array([1, 0, 1, 0, 0], np.int64)
    t = pd.to_datetime(["2010-01-01", "2020-01-01", "1990-01-01", "1980-01-01", "2000-01-01"], utc=True)
    t = t.as_unit("ns").asi8.copy()
    t[3] += 1  # 1980-01-01 plus 1 ns: no common divisor of the times to shorten the key
    pos = np.array([1, 2, 0, 0, 1], np.int16)
    span = int(t.max() - t.min())
    assert span.bit_length() == 61 and np.gcd.reduce(t - t.min()) == 1
    got = B.order(u, t, pos, [], n_units=2, n_pos=4)
    assert got.tolist() == np.lexsort((pos, t, u)).tolist() == [3, 4, 1, 2, 0]
    ev = pd.DataFrame({"user_id": u + 1, "timestamp": pd.to_datetime(t, utc=True),
                       "event": ["b", "c", "a", "a", "b"]})
    res = fk.funnel(ev, ["a", "b", "c"], window=None)
    assert res.units["level"].tolist() == [3, 2]
    assert res.table["units"].tolist() == [2, 2, 1]
