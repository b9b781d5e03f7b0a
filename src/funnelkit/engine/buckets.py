"""Buckets of whole units: filled block by block, spilled beyond a budget, sorted, run (private).

Units are split by *range* of their code (ids of a dense integer range, or positions in
the global sorted dictionary): bucket ``b`` holds codes ``[b << shift, (b + 1) << shift)``.
Ranges keep buckets in unit order (outputs are written slice by slice, no merge sort)
and let a row's unit be stored as a 16-bit offset within its bucket. A bucket holds
about :data:`BUCKET_ROWS` input rows' worth of units, so its arrays stay in cache.

While blocks are read, every bucket's parts are kept in input order; when the parts
held exceed ``memory_budget`` they are appended to one file per bucket and array in a
temporary directory, and read back (spilled rows first: they were read first) when the
bucket's turn comes. Buckets then run on all cores, at most a few at a time, each
sorted on its own by :func:`order` (unit, time, step position, then the rows' values).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FunnelkitError

__all__ = ["BUCKET_ROWS", "THREADS_MIN_ROWS", "Buckets", "layout", "order", "temp_dir"]

#: Target input rows per bucket (the kernels' working set).
BUCKET_ROWS = 1 << 17
#: Below this many input rows everything runs on the calling thread.
THREADS_MIN_ROWS = 1 << 19


def layout(n_ids: int, n_rows: int, threads: int) -> tuple[int, int]:
    """``(shift, n_buckets)`` for ``n_ids`` unit codes and ``n_rows`` rows."""
    want = max(1, -(-n_rows // BUCKET_ROWS))
    if threads > 1:
        want = max(want, 2 * threads)
    shift = max(0, int(np.ceil(np.log2(max(n_ids / want, 1)))))
    return shift, max(1, -(-n_ids // (1 << shift)))


def temp_dir(tmp_dir: Any) -> Path:
    """A new private directory for spilled buckets (removed by the caller)."""
    try:
        return Path(tempfile.mkdtemp(prefix="funnelkit-buckets-",
                                     dir=None if tmp_dir is None else os.fspath(tmp_dir)))
    except (OSError, TypeError) as exc:
        where = tmp_dir if tmp_dir is not None else tempfile.gettempdir()
        raise FunnelkitError(
            f"Cannot create a temporary directory for spilled buckets in {str(where)!r}: {exc}. "
            "Fix: pass tmp_dir= a writable directory with free space, or set TMPDIR."
        ) from None


class Buckets:
    """Parts of every bucket, in input order, in memory or spilled to disk."""

    def __init__(self, n_buckets: int, dtypes: Sequence[Any], *, budget: int | None = None,
                 tmp: Path | None = None) -> None:
        self.n = n_buckets
        self.dtypes = [np.dtype(d) for d in dtypes]
        self.parts: list[list[tuple[np.ndarray, ...]]] = [[] for _ in range(n_buckets)]
        self.budget, self.tmp = budget, tmp
        self.held = 0  # bytes in memory
        self.spilled_rows: dict[int, int] = {}
        self.written = 0

    def add(self, parts: Sequence[tuple[np.ndarray, ...] | None]) -> None:
        for j, part in enumerate(parts):
            if part is not None and len(part[0]):
                self.parts[j].append(part)
                self.held += sum(a.nbytes for a in part)
        if self.budget is not None and self.tmp is not None and self.held > self.budget:
            for j, bparts in enumerate(self.parts):
                if bparts:
                    self._write(j, bparts)
                    self.parts[j] = []
            self.held = 0

    def _path(self, j: int, k: int) -> Path:
        assert self.tmp is not None
        return self.tmp / f"bucket-{j}.{k}.bin"

    def _write(self, j: int, parts: list[tuple[np.ndarray, ...]]) -> None:
        for k, dt in enumerate(self.dtypes):
            path = self._path(j, k)
            try:
                with open(path, "ab") as fh:
                    for part in parts:
                        np.ascontiguousarray(part[k], dtype=dt).tofile(fh)
            except OSError as exc:
                raise FunnelkitError(
                    f"Writing spilled rows to {str(path)!r} failed: {exc}. Fix: free disk space "
                    "there, pass tmp_dir= another directory, or raise memory_budget=."
                ) from None
        n = sum(len(p[0]) for p in parts)
        self.spilled_rows[j] = self.spilled_rows.get(j, 0) + n
        self.written += n

    def take(self, j: int) -> tuple[np.ndarray, ...] | None:
        """Bucket ``j``'s rows, spilled ones first (files removed); None when it has none."""
        parts = self.parts[j]
        self.parts[j] = []
        if j in self.spilled_rows:
            cols = []
            for k, dt in enumerate(self.dtypes):
                path = self._path(j, k)
                cols.append(np.fromfile(path, dtype=dt))
                path.unlink()
            del self.spilled_rows[j]
            parts = [tuple(cols), *parts]
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]
        return tuple(np.concatenate([p[i] for p in parts]) for i in range(len(self.dtypes)))


def _pack_sort(keys: Sequence[np.ndarray], widths: Sequence[int]) -> np.ndarray | None:
    """Stable argsort of rows by ``keys`` (most significant first) packed into one int64,
    or None when they do not fit in 63 bits."""
    if sum(widths) > 63:
        return None
    key = np.zeros(len(keys[0]), dtype=np.int64)
    for k, w in zip(keys, widths):
        key <<= w
        key |= k.astype(np.int64, copy=False)
    return np.argsort(key, kind="stable")


def order(u: np.ndarray, t: np.ndarray, pos: np.ndarray, ties: Sequence[np.ndarray], *,
          n_units: int, n_pos: int) -> np.ndarray | None:
    """Permutation sorting a bucket by (unit, time, position, *ties*); None when sorted.

    ``ties`` are value keys (rule bits, attribute codes) that order rows the first three
    keys leave tied, so the result never depends on the input's row order. When the
    rows are in time order (most exports) a stable radix sort on the unit does most of
    the work; rows still tied are then re-sorted with every key.
    """
    n = len(u)
    if n < 2:
        return None
    perm: np.ndarray | None
    same = u[1:] == u[:-1]
    if bool((u[1:] >= u[:-1]).all()) and not ((t[1:] < t[:-1]) & same).any() \
            and not ((t[1:] == t[:-1]) & same & (pos[1:] < pos[:-1])).any():
        perm = None
    elif bool((t[1:] >= t[:-1]).all()) and n_units <= 1 << 32:
        if n_units <= 1 << 16:
            perm = np.argsort(u.astype(np.uint16), kind="stable")
        else:
            o1 = np.argsort((u & 0xFFFF).astype(np.uint16), kind="stable")
            perm = o1[np.argsort((u[o1] >> 16).astype(np.uint16), kind="stable")]
        ps = pos[perm]
        us, ts = u[perm], t[perm]
        if ((us[1:] == us[:-1]) & (ts[1:] == ts[:-1]) & (ps[1:] < ps[:-1])).any():
            perm = perm[np.lexsort((ps, ts, us))]
    else:
        t0 = int(t.min())
        span = int(t.max()) - t0
        perm = None
        if span < 2**62:
            trel = t - t0
            g = int(np.gcd.reduce(trel)) or 1
            if g > 1:
                trel //= g
            perm = _pack_sort([u, trel, pos], [max(n_units - 1, 0).bit_length(),
                                               (span // g).bit_length(), max(n_pos - 1, 0).bit_length()])
        if perm is None:
            perm = np.lexsort((pos, t, u))
    if not ties:
        return perm
    us, ts, ps = (u, t, pos) if perm is None else (u[perm], t[perm], pos[perm])
    tied = (us[1:] == us[:-1]) & (ts[1:] == ts[:-1]) & (ps[1:] == ps[:-1])
    if not tied.any():
        return perm
    keys = [k if perm is None else k[perm] for k in ties]
    full = np.lexsort(tuple(keys[::-1]) + (ps, ts, us))
    return full if perm is None else perm[full]


def run_ordered(pool: Any, fn: Callable[[int], Any], n: int, threads: int, bar: Any = None) -> None:
    """Run ``fn(j)`` for every bucket, a few at a time (bounded memory)."""
    from ._parallel import ordered_map

    for _ in ordered_map(pool, fn, n, 2 * threads):
        if bar is not None:
            bar.update(1)
