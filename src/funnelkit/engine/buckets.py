"""Buckets of whole units: filled block by block, spilled beyond a budget, sorted, run (private).

Units are split by *range* of their code (ids of a dense integer range, or positions in
the global sorted dictionary): bucket ``b`` holds codes ``[b << shift, (b + 1) << shift)``.
Ranges keep buckets in unit order (outputs are written slice by slice, no merge sort)
and let a row's unit be stored as a 16-bit offset within its bucket. A bucket holds
about :data:`BUCKET_ROWS` input rows' worth of units, so its arrays stay in cache.

While blocks are read, every bucket's parts are kept in input order; when the parts
held exceed ``memory_budget`` they are appended to one file per bucket and array in a
temporary directory, and read back (spilled rows first: they were read first) when the
bucket's turn comes (see :class:`Buckets`: checked writes, the spill directory created at
the first spill and named for its owner process, stale ones of killed runs removed). The
layout (bucket count) depends on the rows, never on the budget, so a tiny budget means at
most one spill per block read, not more buckets. Buckets then run on all cores, at most a few at a time, each
sorted on its own by :func:`order` (unit, time, step position, then the rows' values).
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._params import cut_value
from ..errors import FunnelkitError, ParameterError

__all__ = ["BUCKET_ROWS", "THREADS_MIN_ROWS", "Buckets", "layout", "order", "temp_dir", "remove_stale",
           "SPILL_PREFIX"]

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


#: Spill directories are named ``funnelkit-spill-<pid>-<random>`` and hold an owner file
#: with the pid and the process start time, so that a later run recognises the directories
#: of processes that are gone (a killed run) and removes them.
SPILL_PREFIX = "funnelkit-spill-"
_OWNER = "owner.txt"


def _start_time(pid: int) -> str | None:
    """The start time of process ``pid`` (Linux /proc; None when unknown)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode(errors="replace")
        return stat.rsplit(")", 1)[1].split()[19]  # field 22 (starttime), after "comm)"
    except (OSError, IndexError):
        return None


def _alive(pid: int, start: str | None) -> bool:
    """Whether the process that wrote an owner file still runs (pid reuse is told apart by
    the start time where /proc has it)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, another user's: not ours to judge
    if start is not None:
        now = _start_time(pid)
        if now is not None and now != start:
            return False  # the pid was reused by another process
    return True


def remove_stale(parent: Path) -> list[Path]:
    """Remove spill directories in ``parent`` whose owner process is gone; return them.

    Only directories named ``funnelkit-spill-<pid>-*`` that hold an owner file naming that
    pid are touched (the name alone is not enough), never another user's or a live run's.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    me = os.getuid() if hasattr(os, "getuid") else None
    for entry in entries:
        if not entry.name.startswith(SPILL_PREFIX):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            if me is not None and entry.stat(follow_symlinks=False).st_uid != me:
                continue
            pid = int(entry.name[len(SPILL_PREFIX):].split("-", 1)[0])
            owner = Path(entry.path) / _OWNER
            fields = owner.read_text().split()
            if not fields or int(fields[0]) != pid:
                continue
            start = fields[1] if len(fields) > 1 and fields[1] != "-" else None
        except (OSError, ValueError):
            continue
        if not _alive(pid, start):
            shutil.rmtree(entry.path, ignore_errors=True)
            if not os.path.exists(entry.path):
                removed.append(Path(entry.path))
    return removed


def _tmp_fix() -> str:
    return ("Fix: pass tmp_dir= a writable directory with free space (--tmp-dir in the CLI), "
            "or set the TMPDIR environment variable")


def _check_parent(parent: Path, *, given: bool) -> None:
    where = "tmp_dir=" if given else "the system temporary directory (TMPDIR)"
    if not parent.exists():
        raise FunnelkitError(
            f"The temporary directory {str(parent)!r} ({where}) for spilled buckets does not "
            f"exist. {_tmp_fix()}, or create it first."
        )
    if not parent.is_dir():
        raise FunnelkitError(
            f"The temporary directory {str(parent)!r} ({where}) for spilled buckets is not a "
            f"directory. {_tmp_fix()}."
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise FunnelkitError(
            f"The temporary directory {str(parent)!r} ({where}) for spilled buckets is not "
            f"writable. {_tmp_fix()}."
        )


def temp_dir(tmp_dir: Any) -> Path:
    """The path of this run's spill directory (created at the first spill; removed by the caller).

    An explicit ``tmp_dir`` is checked now (missing, not a directory, not writable:
    :class:`~funnelkit.errors.FunnelkitError` naming it, before any work); the system
    temporary directory only when a spill happens, so a run that fits in its
    ``memory_budget`` never needs a temporary directory at all.
    """
    given = tmp_dir is not None
    try:
        parent = Path(os.fspath(tmp_dir)).expanduser() if given else Path(tempfile.gettempdir())
    except TypeError:
        raise ParameterError(
            f"`tmp_dir`={cut_value(tmp_dir)} must be a directory path (str or os.PathLike). "
            f"{_tmp_fix()}."
        ) from None
    if given:
        _check_parent(parent, given=True)
    return parent / f"{SPILL_PREFIX}{os.getpid()}-{secrets.token_hex(6)}"


class Buckets:
    """Parts of every bucket, in input order, in memory or spilled to disk.

    Every write is checked (a full disk makes ``ndarray.tofile`` write short): on a short
    or failed write the spill directory is removed and a
    :class:`~funnelkit.errors.FunnelkitError` names it and the space needed. The directory
    is created at the first spill, with an owner file (pid, process start time), and
    stale directories of dead runs in the same parent are removed then.
    """

    def __init__(self, n_buckets: int, dtypes: Sequence[Any], *, budget: int | None = None,
                 tmp: Path | None = None) -> None:
        self.n = n_buckets
        self.dtypes = [np.dtype(d) for d in dtypes]
        self.parts: list[list[tuple[np.ndarray, ...]]] = [[] for _ in range(n_buckets)]
        self.budget, self.tmp = budget, tmp
        self.held = 0  # bytes in memory
        self.spilled_rows: dict[int, int] = {}
        self.written = 0
        self.bytes_written = 0
        self._need = 0  # bytes of the spill under way not yet written (for messages)
        self._ready = False

    def add(self, parts: Sequence[tuple[np.ndarray, ...] | None]) -> None:
        for j, part in enumerate(parts):
            if part is not None and len(part[0]):
                self.parts[j].append(part)
                self.held += sum(a.nbytes for a in part)
        if self.budget is not None and self.tmp is not None and self.held > self.budget:
            self._prepare()
            self._need = self.held
            for j, bparts in enumerate(self.parts):
                if bparts:
                    self._write(j, bparts)
                    self._need -= sum(a.nbytes for p in bparts for a in p)
                    self.parts[j] = []
            self.held = 0

    def _prepare(self) -> None:
        """Create the spill directory (first spill only), after removing stale ones."""
        if self._ready:
            return
        assert self.tmp is not None
        if self.tmp.is_dir():  # a directory the caller made: used as it is
            self._ready = True
            return
        parent = self.tmp.parent
        _check_parent(parent, given=False)
        remove_stale(parent)
        try:
            os.mkdir(self.tmp, 0o700)
            start = _start_time(os.getpid()) or "-"
            (self.tmp / _OWNER).write_text(f"{os.getpid()} {start}\n")
        except OSError as exc:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise FunnelkitError(
                f"Cannot create a directory for spilled buckets in {str(parent)!r}: "
                f"{exc.strerror or exc}. {_tmp_fix()}."
            ) from None
        self._ready = True

    def _path(self, j: int, k: int) -> Path:
        assert self.tmp is not None
        return self.tmp / f"bucket-{j}.{k}.bin"

    def _fail(self, path: Path, exc: BaseException | None, need: int) -> FunnelkitError:
        assert self.tmp is not None
        if self.tmp.name.startswith(SPILL_PREFIX):
            shutil.rmtree(self.tmp, ignore_errors=True)  # leave nothing behind
        else:  # a directory the caller made: empty it, keep it
            for f in self.tmp.glob("bucket-*.bin"):
                f.unlink(missing_ok=True)
        free = ""
        try:
            st = os.statvfs(self.tmp.parent)
            free = f", {_mb(st.f_bavail * st.f_frsize)} free there now"
        except (OSError, AttributeError):
            pass
        why = (exc.strerror or str(exc)) if isinstance(exc, OSError) else (
            str(exc) if exc is not None else "the disk took fewer bytes than were written (full?)")
        return FunnelkitError(
            f"Spilling rows to the temporary directory {str(self.tmp.parent)!r} failed at "
            f"{path.name}: {why}. This spill needed {_mb(need)} more, after {_mb(self.bytes_written)} "
            f"already written{free}; the spilled files were removed. Fix: free disk space there, "
            "pass tmp_dir= a directory with more space (--tmp-dir in the CLI), or raise "
            "memory_budget= so that less is spilled."
        )

    def _write(self, j: int, parts: list[tuple[np.ndarray, ...]]) -> None:
        need = self._need
        for k, dt in enumerate(self.dtypes):
            path = self._path(j, k)
            try:
                with open(path, "ab") as fh:
                    size0 = fh.seek(0, os.SEEK_END)
                    want = 0
                    for part in parts:
                        arr = np.ascontiguousarray(part[k], dtype=dt)
                        _tofile(arr, fh)
                        want += arr.nbytes
                    fh.flush()
                    got = os.fstat(fh.fileno()).st_size - size0
            except OSError as exc:
                raise self._fail(path, exc, need) from None
            if got != want:
                raise self._fail(path, None, need)
            self.bytes_written += want
        n = sum(len(p[0]) for p in parts)
        self.spilled_rows[j] = self.spilled_rows.get(j, 0) + n
        self.written += n

    def take(self, j: int) -> tuple[np.ndarray, ...] | None:
        """Bucket ``j``'s rows, spilled ones first (files removed); None when it has none."""
        parts = self.parts[j]
        self.parts[j] = []
        if j in self.spilled_rows:
            cols = []
            want = self.spilled_rows[j]
            for k, dt in enumerate(self.dtypes):
                path = self._path(j, k)
                try:
                    arr = np.fromfile(path, dtype=dt)
                except OSError as exc:
                    raise self._fail(path, exc, 0) from None
                if len(arr) != want:  # pragma: no cover - every write is checked
                    raise self._fail(path, OSError(0, f"read back {len(arr)} rows of {want}"), 0)
                cols.append(arr)
                path.unlink()
            del self.spilled_rows[j]
            parts = [tuple(cols), *parts]
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]
        return tuple(np.concatenate([p[i] for p in parts]) for i in range(len(self.dtypes)))


def _tofile(arr: np.ndarray, fh: Any) -> None:
    """One array appended to a spill file (a seam for fault-injection tests)."""
    arr.tofile(fh)


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MB" if n >= 2**20 else f"{n:,} bytes"


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
