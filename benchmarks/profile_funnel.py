"""Where funnelkit's time and memory go: read_events + funnel (and sessionize) on one file.

    python benchmarks/profile_funnel.py                 # the 10M file of run.py (generated if missing)
    python benchmarks/profile_funnel.py --size 1M --top 30
    python benchmarks/profile_funnel.py --cprofile      # also function-level cProfile totals

Views, each of one run in this process:

0. the columnar path of ``fk.funnel(path, ...)`` (what run.py's main funnelkit row
   measures): its scan, bucket and result phases, cold then warm;
1. phases of the general path, untraced, first call then second
   call (warm): ``read_events``, ``_prepare.prepare``, the kernel call
   (``funnel._run_kernel``) and ``funnel._build_result``, the pieces of
   ``funnelkit.funnel``; wall and CPU seconds, and for memory the RSS before, the
   peak during (Linux ``/proc/self/clear_refs`` resets the high-water mark between
   phases) and the RSS after;
2. lines: a ``sys.settrace`` line tracer on funnelkit's own source files; for each
   line, the inclusive CPU time (callees included; CPU time, not wall, so that other
   processes competing for the cores do not inflate it) and the peak RSS above the RSS when
   the line started. Tracing adds overhead per Python line, little next to numpy
   calls on millions of rows, but the totals are a little above view 1;
3. optionally cProfile totals, where numpy's C functions (``lexsort``,
   ``searchsorted``...) appear by name.

Numbers go to the terminal; nothing is asserted. funnelkit is not modified: the
phases call the same private functions ``funnel()`` calls, in the same order.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import sys
import time
from collections import defaultdict
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _datagen import data_path, generate, parse_size  # noqa: E402
from spec import SEED, SESSION_TIMEOUT, STEPS, WINDOW  # noqa: E402


# --------------------------------------------------------------------------- memory


def _status() -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB."""
    rss = hwm = float("nan")
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    return rss, hwm


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def phase(name: str, fn: Callable[[], Any], rows: list) -> Any:
    rss0, _ = _status()
    _reset_peak()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    rss1, hwm = _status()
    rows.append((name, dt, dc, rss0, hwm, rss1, ru1.ru_stime - ru0.ru_stime, ru1.ru_minflt - ru0.ru_minflt))
    return out


def print_phases(rows: list, n: int) -> None:
    total = sum(r[1] for r in rows)
    ctotal = sum(r[2] for r in rows)
    print(f"{'phase':<44} {'wall s':>7} {'CPU s':>6} {'(sys)':>6} {'CPU %':>6} {'CPU ns/ev':>9} "
          f"{'page faults':>11} {'RSS before':>11} {'peak':>8} {'peak-before':>12} {'RSS after':>10}")
    for name, dt, dc, rss0, hwm, rss1, sys_s, flt in rows:
        print(f"{name:<44} {dt:7.2f} {dc:6.2f} {sys_s:6.2f} {dc / ctotal:6.1%} {dc / n * 1e9:9.0f} "
              f"{flt:11,d} {rss0:9.0f}MB {hwm:6.0f}MB {hwm - rss0:10.0f}MB {rss1:8.0f}MB")
    print(f"{'total':<44} {total:7.2f} {ctotal:6.2f}   (load average now {os.getloadavg()[0]:.1f})")


# --------------------------------------------------------------------------- line tracer


class LineTracer:
    """Inclusive time and peak memory of each executed line of the traced files."""

    def __init__(self, roots: list[str]):
        self.roots = tuple(os.path.abspath(r) for r in roots)
        self.stats: dict[tuple[str, int], list[float]] = defaultdict(lambda: [0.0, 0, 0.0, 0.0])
        self.open: dict[int, list] = {}  # id(frame) -> [frame, lineno, t0, rss0, peak]
        self.srcs: dict[str, list[str]] = {}
        self.func_of: dict[tuple[str, int], str] = {}

    def _mem(self) -> tuple[float, float]:
        rss, hwm = _status()
        _reset_peak()
        # whatever happened since the last reading belongs to every open line
        for entry in self.open.values():
            if hwm > entry[4]:
                entry[4] = hwm
        return rss, hwm

    def _close(self, fid: int, now: float, rss: float) -> None:
        frame, lineno, t0, rss0, peak = self.open[fid]
        key = (frame.f_code.co_filename, lineno)
        st = self.stats[key]
        st[0] += now - t0
        st[1] += 1
        st[2] = max(st[2], peak - rss0)
        st[3] += rss - rss0
        self.func_of[key] = frame.f_code.co_qualname if hasattr(frame.f_code, "co_qualname") else frame.f_code.co_name

    def _local(self, frame: Any, event: str, arg: Any) -> Any:
        fid = id(frame)
        if event == "line":
            rss, _ = self._mem()
            now = time.process_time()
            if fid in self.open:
                self._close(fid, now, rss)
            self.open[fid] = [frame, frame.f_lineno, time.process_time(), rss, rss]
        elif event == "return":
            rss, _ = self._mem()
            now = time.process_time()
            if fid in self.open:
                self._close(fid, now, rss)
                del self.open[fid]
        return self._local

    def _global(self, frame: Any, event: str, arg: Any) -> Any:
        if event == "call" and frame.f_code.co_filename.startswith(self.roots):
            return self._local
        return None

    def run(self, fn: Callable[[], Any]) -> Any:
        sys.settrace(self._global)
        try:
            return fn()
        finally:
            sys.settrace(None)

    def report(self, top: int, n_rows: int) -> None:
        items = sorted(self.stats.items(), key=lambda kv: -kv[1][0])
        print(f"{'file:line':<28} {'function':<30} {'CPU s':>7} {'hits':>5} {'peak+MB':>8} {'net MB':>7}  source")
        for (fname, lineno), (t, hits, peak, net) in items[:top]:
            src = self._line(fname, lineno)
            short = os.path.relpath(fname, os.path.dirname(os.path.dirname(fname)))
            print(f"{short + ':' + str(lineno):<28} {self.func_of[(fname, lineno)][:30]:<30} {t:7.3f} "
                  f"{int(hits):5d} {peak:8.0f} {net:7.0f}  {src[:110]}")
        print("(inclusive: a line's time includes the functions it calls, so nested lines are counted "
              "again in their callers)")
        del n_rows

    def _line(self, fname: str, lineno: int) -> str:
        if fname not in self.srcs:
            try:
                with open(fname) as fh:
                    self.srcs[fname] = fh.read().splitlines()
            except OSError:
                self.srcs[fname] = []
        lines = self.srcs[fname]
        return lines[lineno - 1].strip() if 0 < lineno <= len(lines) else "?"


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="10M")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--top", type=int, default=40, help="lines / functions to show")
    ap.add_argument("--cprofile", action="store_true", help="also cProfile the whole call")
    ap.add_argument("--no-lines", action="store_true", help="skip the line tracer")
    ap.add_argument("--sessions", action="store_true", help="profile sessionize too")
    ap.add_argument("--lines-first", action="store_true",
                    help="trace lines on the first (cold) call, before the phases")
    ap.add_argument("--no-window", action="store_true", help="also the phases with window=None")
    ap.add_argument("--general-only", action="store_true",
                    help="skip section 0 (the columnar path of fk.funnel(path))")
    args = ap.parse_args(argv)

    size = parse_size(args.size)
    path = data_path(size, args.seed)
    if not os.path.exists(path + ".json"):
        print(f"generating {path} ...", flush=True)
        generate(size, args.seed)

    t0 = time.perf_counter()
    import funnelkit as fk
    fmod = sys.modules["funnelkit.analyses.funnel"]  # (the package attribute `funnel` is the function)
    from funnelkit._params import parse_duration
    from funnelkit._prepare import prepare

    print(f"import funnelkit: {time.perf_counter() - t0:.2f} s; RSS after import {_status()[0]:.0f} MB")
    import pyarrow.parquet as pq

    n = pq.ParquetFile(path).metadata.num_rows
    print(f"file: {path} ({n:,} rows)\n")

    def pipeline(rows: list, window: Any = WINDOW) -> Any:
        ev = phase("read_events(path)", lambda: fk.read_events(path), rows)
        prep = phase("_prepare.prepare(events, steps)", lambda: prepare(ev, STEPS, unit="user"), rows)
        win = parse_duration(window, name="window", allow_none=True, allow_zero=True)
        kres = phase("kernel: funnel._run_kernel (ordered_funnel)",
                     lambda: fmod._run_kernel(prep, mode="ordered", window=win, window_from="entry",
                                              start_ns=None, end_ns=None), rows)
        params = dict(window=win, mode="ordered", window_from="entry", unit="user", by=None,
                      attribution="first_touch", max_groups=25, exclude=[], start=None, end=None)
        res = phase("funnel._build_result", lambda: fmod._build_result(prep, kres, params=params), rows)
        return res

    def trace_lines() -> None:
        import funnelkit

        print(f"\n== 2. lines of funnelkit's source, traced (top {args.top} by inclusive CPU time) ==")
        tracer = LineTracer([os.path.dirname(funnelkit.__file__)])
        t = time.perf_counter()
        tracer.run(lambda: fk.funnel(fk.read_events(path), STEPS, window=WINDOW))
        print(f"traced run: {time.perf_counter() - t:.2f} s wall")
        tracer.report(args.top, n)
        if args.sessions:
            print("\n-- sessionize, traced --")
            tracer = LineTracer([os.path.dirname(funnelkit.__file__)])
            ev = fk.read_events(path)
            tracer.run(lambda: fk.sessionize(ev, timeout=SESSION_TIMEOUT))
            tracer.report(min(args.top, 20), n)
            del ev

    def columnar(rows: list) -> Any:
        """fk.funnel(path): the columnar path's phases (funnelkit._scan), timed in place."""
        from funnelkit import _scan

        saved = []

        def wrap(mod: Any, name: str, label: str) -> None:
            f = getattr(mod, name)
            saved.append((mod, name, f))
            setattr(mod, name, lambda *a, **k: phase(label, lambda: f(*a, **k), rows))

        wrap(_scan, "_scan", "scan: row groups -> funnel rows by bucket")
        wrap(_scan, "_run_buckets", "buckets: sort + kernel, bucket by bucket")
        wrap(fmod, "result_from_units", "result: step table + units frame")
        t = time.perf_counter()
        try:
            out = fk.funnel(path, STEPS, window=WINDOW)
        finally:
            for mod, name, f in saved:
                setattr(mod, name, f)
        rest = time.perf_counter() - t - sum(r[1] for r in rows)
        print(f"(the call: {time.perf_counter() - t:.2f} s wall, of which {rest:.2f} s outside these phases: "
              "metadata, checks, thread pool)")
        return out

    if not args.general_only:
        for which in ("first call in this process (cold, as in run.py)", "second call (warm)"):
            print(f"== 0. phases of fk.funnel(path, window='1D') (columnar path): {which} ==")
            rows = []
            res0 = columnar(rows)
            print_phases(rows, n)
            print(f"peak RSS during this call: {max(r[4] for r in rows):.0f} MB\n")
        print("counts:", res0.table["units"].tolist(), "\n")
        del res0

    if args.lines_first:  # the traced call is this process's first (cold memory peaks)
        trace_lines()

    # 1. phases ---------------------------------------------------------------------
    # The first call in a fresh process is what run.py measures (lazy imports inside
    # read_events, memory pages faulted in for the first time); the second is warm.
    # These are the general path's phases (a frame, prepare, one kernel call): what
    # by=, where=, repeat() and after() funnels run.
    res = None
    for which in ("first call (after section 0: not cold)", "second call (warm)"):
        print(f"== 1. phases of read_events + the general path (prepare, kernel), untraced: {which} ==")
        rows: list = []
        res = pipeline(rows)
        print_phases(rows, n)
        print(f"peak RSS during this call: {max(r[4] for r in rows):.0f} MB\n")
    print("counts:", res.table["units"].tolist())
    del res
    t = time.perf_counter()
    res2 = fk.funnel(fk.read_events(path), STEPS, window=WINDOW)
    print(f"check: the public calls read_events + funnel together (warm): {time.perf_counter() - t:.2f} s wall")
    del res2
    if args.no_window:
        print("\n-- the same with window=None --")
        rows = []
        res = pipeline(rows, None)
        print_phases(rows, n)
        print("counts:", res.table["units"].tolist())
        del res
    if args.sessions:
        rows = []
        ev = phase("read_events(path)", lambda: fk.read_events(path), rows)
        phase("sessionize(events, '30min')", lambda: fk.sessionize(ev, timeout=SESSION_TIMEOUT), rows)
        ev2 = phase("read_events(path, columns=[])", lambda: fk.read_events(path, columns=[]), rows)
        phase("sessionize(events without properties)", lambda: fk.sessionize(ev2, timeout=SESSION_TIMEOUT), rows)
        print()
        print_phases(rows, n)
        del ev, ev2

    if not args.no_lines and not args.lines_first:
        trace_lines()

    # 3. cProfile --------------------------------------------------------------------
    if args.cprofile:
        print(f"\n== 3. cProfile (top {args.top} by own time) ==")
        prof = cProfile.Profile()
        prof.enable()
        fk.funnel(fk.read_events(path), STEPS, window=WINDOW)
        prof.disable()
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(args.top)
        print("\n".join(line for line in s.getvalue().splitlines() if line.strip())[:20000])
    return 0


if __name__ == "__main__":
    sys.exit(main())
