"""One measurement in a fresh interpreter (started by run.py; not meant to be run by hand).

Usage: python _worker.py '<json job>'

The job says which engine module of ``peers/`` to use, which task (``funnel``,
``sessions`` or ``shape``) and its keyword arguments, or ``probe`` (several small files,
no timing), or ``generate`` / ``generate_strid`` (write a data file). An engine raising
``peers.NotApplicable`` (an option it does not have) is reported as skipped, with the
reason. It prints one line ``@@RESULT@@ {json}`` with the answer, the wall and CPU
seconds of the task alone, the import time and the resident memory after the imports;
the parent reads the peak RSS of the whole process from ``os.wait4``.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
MARK = "@@RESULT@@ "


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _emit(obj: dict) -> None:
    sys.stdout.write(MARK + json.dumps(obj) + "\n")
    sys.stdout.flush()


def main() -> None:
    job = json.loads(sys.argv[1])
    kind = job["kind"]
    if kind == "generate":
        from _datagen import generate

        _emit({"ok": True, "result": generate(**job["args"])})
        return
    if kind == "generate_strid":
        from _datagen import generate_strid

        _emit({"ok": True, "result": generate_strid(**job["args"])})
        return
    t_imp = time.perf_counter()
    try:
        mod = importlib.import_module(f"peers.{job['engine']}")
        mod.load()
    except Exception as exc:  # a missing optional peer
        _emit({"ok": False, "skipped": True, "error": f"{type(exc).__name__}: {exc}"})
        return
    import_s = time.perf_counter() - t_imp
    rss_import = _status_mb("VmRSS")
    if kind == "probe":
        out = {}
        for name, path in job["paths"].items():
            try:
                out[name] = getattr(mod, job["task"])(path, **job["args"])
            except Exception as exc:
                out[name] = f"error: {type(exc).__name__}: {exc}"
        _emit({"ok": True, "result": out, "version": mod.version()})
        return
    fn = getattr(mod, job["task"])
    from peers import NotApplicable

    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    try:
        result = fn(job["path"], **job["args"])
    except NotApplicable as exc:  # an option this engine does not have: no time, the reason
        _emit({"ok": False, "skipped": True, "error": str(exc)})
        return
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    _emit(
        {
            "ok": True,
            "result": result,
            "wall_s": wall,
            "cpu_s": cpu,
            "sys_s": ru1.ru_stime - ru0.ru_stime,
            "minor_faults": ru1.ru_minflt - ru0.ru_minflt,
            "import_s": import_s,
            "rss_import_mb": rss_import,
            "hwm_mb": _status_mb("VmHWM"),
            "version": mod.version(),
        }
    )


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:
        _emit({"ok": False, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()})
        sys.exit(1)
