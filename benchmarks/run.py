"""funnelkit against the fastest peers: one command, side by side, same Parquet file.

    python benchmarks/run.py                      # 1M and 10M events, 3 runs each
    python benchmarks/run.py --sizes 1M --repeat 1
    python benchmarks/run.py --sizes 1M,10M,50M   # adds the optional 50M point
    python benchmarks/run.py --sizes 10M,50M --shapes a,b,c,d,e,f   # the six shapes only

For every size it generates the event log once with ``funnelkit.datasets.make_shop``
(cached in ``benchmarks/_data/``), then times each engine from the Parquet file to the
answer, each run in a fresh interpreter (so the peak RSS is that engine's alone):

* ordered funnel, 5 steps, 1-day window: funnelkit, ClickHouse (chdb,
  ``windowFunnel``), DuckDB SQL;
* ordered funnel without window: funnelkit, retentioneering, ClickHouse, DuckDB;
* sessionization (30 min): funnelkit, DuckDB and ClickHouse window functions;
* with ``--shapes a,b,c,d,e,f``: six shapes of the 1-day funnel (integer ids, string ids,
  a ``where=`` rule, ``by="channel"``, sessions as units, an experiment), each by
  funnelkit in memory and out of core, chdb and DuckDB, summed up in one table.

Before any time is reported, every engine's answer is compared with funnelkit's:
a row whose answer differs is marked MISMATCH and both answers are printed. Peers are
optional: a peer that is not installed is reported as skipped, with the reason.
The results go to ``benchmarks/RESULTS.md`` (and to the terminal). There are no
timing assertions anywhere. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _datagen import DATA_DIR, data_path, parse_size, size_label  # noqa: E402
from spec import (  # noqa: E402
    BROWSE_EVENTS,
    OOC_BUDGET,
    PARQUET_COMPRESSION,
    SEED,
    SESSION_TIMEOUT_MS,
    SHAPES,
    STEP_NAMES,
    STEPS,
    WINDOW_MS,
)

WORKER = os.path.join(HERE, "_worker.py")
MARK = "@@RESULT@@ "
FUNNELKIT_SRC = ""  # --funnelkit-src: a directory holding the `funnelkit` package to measure


# --------------------------------------------------------------------------- engines


@dataclass(frozen=True)
class Engine:
    key: str  # row id
    label: str  # shown in the tables
    module: str  # peers.<module>
    task: str  # "funnel" | "sessions"
    args: dict
    python: str = "default"  # "default" (this interpreter) or "rete" (--rete-python)
    data: str = "main"  # which file of the size: "main" or "strid" (spec.SHAPES)

    @property
    def short(self) -> str:
        return ENGINE_SHORT[self.key]


ENGINE_SHORT = {"fk": "funnelkit", "fk_cols": "funnelkit (cols)", "fk_ooc": "funnelkit (out-of-core)",
                "ch": "ClickHouse", "duck": "DuckDB", "rete": "retentioneering"}


FUNNEL_1D = [
    Engine("fk", "funnelkit", "funnelkit_engine", "funnel", {"window_ms": WINDOW_MS}),
    Engine("fk_cols", "funnelkit, read_events(columns=[])", "funnelkit_engine", "funnel",
           {"window_ms": WINDOW_MS, "columns": "none"}),
    Engine("fk_ooc", "funnelkit out-of-core (memory_budget=64MB: buckets of users spilled to disk)", "funnelkit_engine",
           "funnel", {"window_ms": WINDOW_MS, "columns": "chunked"}),
    Engine("ch", "ClickHouse (chdb) windowFunnel", "chdb_engine", "funnel", {"window_ms": WINDOW_MS}),
    Engine("duck", "DuckDB SQL (ASOF joins)", "duckdb_engine", "funnel", {"window_ms": WINDOW_MS}),
]
FUNNEL_NOWIN = [
    Engine("fk", "funnelkit (window=None)", "funnelkit_engine", "funnel", {"window_ms": None}),
    Engine("rete", "retentioneering funnel_data", "retentioneering_engine", "funnel",
           {"window_ms": None}, python="rete"),
    Engine("ch", "ClickHouse (chdb) windowFunnel, huge window", "chdb_engine", "funnel", {"window_ms": None}),
    Engine("duck", "DuckDB SQL (ASOF joins)", "duckdb_engine", "funnel", {"window_ms": None}),
]
SESSIONS = [
    Engine("fk", "funnelkit sessionize", "funnelkit_engine", "sessions", {"timeout_ms": SESSION_TIMEOUT_MS}),
    Engine("fk_cols", "funnelkit sessionize, read_events(columns=[])", "funnelkit_engine", "sessions",
           {"timeout_ms": SESSION_TIMEOUT_MS, "columns": "none"}),
    Engine("duck", "DuckDB SQL (LAG + SUM OVER)", "duckdb_engine", "sessions", {"timeout_ms": SESSION_TIMEOUT_MS}),
    Engine("ch", "ClickHouse (chdb) lagInFrame + SUM OVER", "chdb_engine", "sessions",
           {"timeout_ms": SESSION_TIMEOUT_MS}),
]
TASKS = {
    "funnel_1d": ("Ordered funnel, 5 steps, window 1 day (from step 1, inclusive)", FUNNEL_1D),
    "funnel_nowin": ("Ordered funnel, 5 steps, no window", FUNNEL_NOWIN),
    "sessions": ("Sessionization, 30-minute inactivity timeout", SESSIONS),
}


def shape_engines(shape: str) -> list[Engine]:
    """The rows of one shape (--shapes): funnelkit in memory, out of core, chdb, DuckDB."""
    data = SHAPES[shape][1]
    return [
        Engine("fk", "funnelkit", "funnelkit_engine", "shape", {"shape": shape}, data=data),
        Engine("fk_ooc", f"funnelkit out-of-core (memory_budget={OOC_BUDGET!r})", "funnelkit_engine", "shape",
               {"shape": shape, "memory_budget": OOC_BUDGET}, data=data),
        Engine("ch", "ClickHouse (chdb)", "chdb_engine", "shape", {"shape": shape}, data=data),
        Engine("duck", "DuckDB SQL", "duckdb_engine", "shape", {"shape": shape}, data=data),
    ]


#: The shapes as tasks "shape_a" .. "shape_f" (README.md: what each runs, with the SQL).
for _s, (_title, _data) in SHAPES.items():
    TASKS[f"shape_{_s}"] = (f"Shape {_title}, ordered funnel, 5 steps, window 1 day", shape_engines(_s))
OLD_TASKS = ("funnel_1d", "funnel_nowin", "sessions")


# --------------------------------------------------------------------------- running


@dataclass
class Run:
    ok: bool
    result: Any = None
    wall_s: float = float("nan")
    cpu_s: float = float("nan")
    sys_s: float = float("nan")  # kernel part of cpu_s (page faults of fresh memory, I/O)
    minor_faults: float = float("nan")
    import_s: float = float("nan")
    rss_import_mb: float = float("nan")
    peak_rss_mb: float = float("nan")
    child_cpu_s: float = float("nan")
    version: str = ""
    error: str = ""
    skipped: bool = False
    load1: float = float("nan")  # 1-minute load average when the run started


def run_worker(job: dict, python: str, timeout: float) -> Run:
    """Run one job in a fresh interpreter; peak RSS and CPU of that process from wait4."""
    env = dict(os.environ)
    env["RETENTIONEERING_NO_TRACK"] = "1"
    if FUNNELKIT_SRC:
        env["PYTHONPATH"] = FUNNELKIT_SRC + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("PYTHONHASHSEED", "0")
    load1 = os.getloadavg()[0]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([python, WORKER, json.dumps(job)], stdout=out, stderr=err,
                                cwd=HERE, env=env)
        deadline = time.monotonic() + timeout
        status, ru = None, None
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                _, status, ru = os.wait4(proc.pid, 0)
                proc.returncode = -9
                return Run(ok=False, error=f"timed out after {timeout:.0f} s")
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    payload = None
    for line in stdout.splitlines():
        if line.startswith(MARK):
            payload = json.loads(line[len(MARK):])
    if payload is None:
        tail = (stderr or stdout).strip().splitlines()[-5:]
        return Run(ok=False, error=f"exit code {proc.returncode}: " + " | ".join(tail))
    r = Run(ok=bool(payload.get("ok")), result=payload.get("result"),
            error=payload.get("error", ""), skipped=bool(payload.get("skipped")),
            version=payload.get("version", ""))
    if r.ok and "wall_s" in payload:
        r.wall_s, r.cpu_s = payload["wall_s"], payload["cpu_s"]
        r.sys_s, r.minor_faults = payload.get("sys_s", float("nan")), payload.get("minor_faults", float("nan"))
        r.import_s, r.rss_import_mb = payload["import_s"], payload["rss_import_mb"]
    r.load1 = load1
    r.peak_rss_mb = ru.ru_maxrss / 1024  # KiB on Linux
    r.child_cpu_s = ru.ru_utime + ru.ru_stime
    if not r.ok and payload.get("traceback"):
        r.error += " :: " + payload["traceback"].strip().splitlines()[-1]
    return r


@dataclass
class Row:
    task: str
    engine: Engine
    runs: list[Run] = field(default_factory=list)

    @property
    def good(self) -> list[Run]:
        return [r for r in self.runs if r.ok]

    def med(self, attr: str) -> float:
        vals = [getattr(r, attr) for r in self.good]
        return statistics.median(vals) if vals else float("nan")

    @property
    def answers(self) -> list[Any]:
        return [r.result for r in self.good]


def pythons(args: argparse.Namespace) -> dict[str, str]:
    return {"default": sys.executable, "rete": args.rete_python or sys.executable}


# --------------------------------------------------------------------------- machine


def machine_info(py: dict[str, str]) -> dict[str, Any]:
    info: dict[str, Any] = {}
    cpu = {}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if ":" in line:
                    k, v = (x.strip() for x in line.split(":", 1))
                    cpu.setdefault(k, v)
    except OSError:
        pass
    info["cpu"] = cpu.get("model name", platform.processor() or "unknown")
    info["cpu_mhz"] = cpu.get("cpu MHz", "?")
    info["cache"] = cpu.get("cache size", "?")
    info["cores"] = os.cpu_count()
    try:
        info["usable_cores"] = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        info["usable_cores"] = os.cpu_count()
    mem = "?"
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    if mem == "?":  # not Linux: psutil (in the bench extra) if present
        try:
            import psutil

            mem = f"{psutil.virtual_memory().total / 2**30:.1f} GiB"
        except ImportError:
            pass
    info["ram"] = mem
    info["os"] = f"{platform.system()} {platform.release()} ({platform.machine()})"
    info["python"] = f"{platform.python_implementation()} {platform.python_version()}"
    code = (
        "import importlib.metadata as m, json\n"
        "out = {}\n"
        "for p in ['funnelkit','numpy','pandas','pyarrow','duckdb','chdb','chdb-core','retentioneering','psutil']:\n"
        "    try: out[p] = m.version(p)\n"
        "    except Exception: out[p] = None\n"
        "print(json.dumps(out))\n"
    )
    info["packages"] = json.loads(subprocess.run([py["default"], "-c", code], capture_output=True,
                                                 text=True, check=True).stdout)
    if py["rete"] != py["default"]:
        rp = json.loads(subprocess.run([py["rete"], "-c", code], capture_output=True, text=True).stdout or "{}")
        info["packages"]["retentioneering"] = rp.get("retentioneering")
        info["rete_python"] = py["rete"]
    code_src = (
        "import funnelkit, hashlib, pathlib\n"
        "root = pathlib.Path(funnelkit.__file__).parent\n"
        "h = hashlib.sha256()\n"
        "for p in sorted(root.rglob('*.py')): h.update(p.read_bytes())\n"
        "print(str(root) + ' ' + h.hexdigest()[:12])\n"
    )
    env = dict(os.environ)
    if FUNNELKIT_SRC:
        env["PYTHONPATH"] = FUNNELKIT_SRC + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([py["default"], "-c", code_src], capture_output=True, text=True, env=env).stdout.split()
    info["funnelkit_src"] = (out[0], out[1]) if len(out) == 2 else ("?", "?")
    info["env_notes"] = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}
    return info


# --------------------------------------------------------------------------- probes

T0 = 1_772_400_000_000  # 2026-03-01 21:20 UTC, in ms
DAY = 86_400_000


def _probe_cases() -> dict[str, tuple[str, int, int, list[tuple[str, int]]]]:
    """name -> (what it checks, expected level with the 1-day window, expected level
    with no window, rows (event, ms offset) in FILE order). One user per case."""
    return {
        "tie_step2_row_first": (
            "product_view and landing at the same millisecond, product_view's row first",
            2, 2, [("product_view", 0), ("landing", 0)]),
        "window_edge_inclusive": (
            "product_view exactly 1 day after landing", 2, 2, [("landing", 0), ("product_view", DAY)]),
        "window_edge_plus_1ms": (
            "product_view 1 day + 1 ms after landing", 1, 2, [("landing", 0), ("product_view", DAY + 1)]),
        "later_attempt_wins": (
            "first landing too early; a second landing 20 h later reaches purchase",
            4, 4, [("landing", 0), ("landing", 20 * 3_600_000), ("product_view", 30 * 3_600_000),
                   ("checkout_start", 31 * 3_600_000), ("purchase", 32 * 3_600_000)]),
        "purchase_before_checkout": (
            "purchase before checkout_start: step 4 needs a purchase after the checkout",
            3, 3, [("landing", 0), ("add_to_cart", 1000), ("purchase", 2000), ("checkout_start", 3000),
                   ("page_view", 4000)]),
        "same_ms_chain": (
            "all five steps at one millisecond, rows in reverse step order",
            5, 5, [("review", 0), ("purchase", 0), ("checkout_start", 0), ("add_to_cart", 0), ("ad_click", 0)]),
    }


def write_probe_files() -> dict[str, str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    d = os.path.join(DATA_DIR, "probe")
    os.makedirs(d, exist_ok=True)
    paths = {}
    # A filler user (id 2) has every funnel event, steps in reverse order days apart:
    # it reaches exactly step 1 in every engine, and makes every step's events exist
    # (funnelkit and retentioneering refuse a step whose events are not in the log).
    filler = [(e, -(10 - k) * DAY) for k, names in enumerate(reversed(STEPS)) for e in names]
    for name, (_, _, _, rows) in _probe_cases().items():
        table = pa.table({
            "user_id": pa.array([2] * len(filler) + [1] * len(rows), pa.int64()),
            "timestamp": pa.array([T0 + off for _, off in filler + rows], pa.timestamp("ms", tz="UTC")),
            "event": pa.array([e for e, _ in filler + rows], pa.string()).dictionary_encode(),
        })
        p = os.path.join(d, f"{name}.parquet")
        pq.write_table(table, p)
        paths[name] = p
    return paths


def run_semantic_probe(py: dict[str, str], timeout: float) -> dict[str, dict[str, Any]]:
    """Per engine and window: the level each single-user probe file gets."""
    paths = write_probe_files()
    out: dict[str, dict[str, Any]] = {}
    for task, engines in (("funnel_1d", FUNNEL_1D), ("funnel_nowin", FUNNEL_NOWIN)):
        for e in engines:
            if e.key == "fk_cols":
                continue
            job = {"kind": "probe", "engine": e.module, "task": e.task, "args": e.args, "paths": paths}
            r = run_worker(job, py[e.python], timeout)
            col = f"{task}:{e.key}"
            if not r.ok:
                out[col] = {"error": r.error, "label": e.label}
                continue
            levels = {}
            for name, counts in r.result.items():
                if isinstance(counts, list):  # minus the filler user's [1, 0, 0, 0, 0]
                    levels[name] = sum(1 for k, c in enumerate(counts) if c - (k == 0))
                else:
                    levels[name] = counts
            out[col] = {"levels": levels, "label": e.short}
    return out


# --------------------------------------------------------------------------- shape probe

PROBE_ENGINES = ("fk", "fk_ooc", "ch", "duck")
MIN = 60_000


def _shape_probe_rows() -> list[tuple[int, int, str, str | None, str | None]]:
    """(user, ms offset, event, channel, variant), in time order per user. Comments: what each
    user checks, and its level with the plain 5-step funnel (1-day window)."""
    pa_, org, soc, sto, ref, nl = "paid_ads", "organic_search", "social", "store", "referral", "newsletter"
    return [
        # 100: all five steps in minutes, a paid_ads purchase: level 5 everywhere
        (100, 0, "landing", pa_, "A"), (100, 1 * MIN, "product_view", pa_, "A"),
        (100, 2 * MIN, "checkout_start", pa_, "A"), (100, 3 * MIN, "purchase", pa_, "A"),
        (100, 4 * MIN, "app_open", pa_, "A"),
        # 200: the step-1 events no one else has (so every step name exists): level 1
        (200, 0, "ad_click", sto, "A"), (200, 1, "store_visit", sto, "A"),
        # 1: first channel on a browse event (social), then paid_ads on the funnel's rows: level 2
        (1, 0, "page_view", soc, "A"), (1, 1 * MIN, "landing", pa_, "A"), (1, 2 * MIN, "product_view", pa_, "A"),
        # 2: first channel NULL, then store: first non-null = store; level 2
        (2, 0, "landing", None, "B"), (2, 1 * MIN, "product_view", sto, "B"),
        # 3: no channel at all: "(missing)"; level 1
        (3, 0, "landing", None, "B"),
        # 4: two variants (A, B): left out of the experiment; level 2
        (4, 0, "landing", pa_, "A"), (4, 1 * MIN, "product_view", pa_, "B"),
        # 5: no variant: not exposed; level 1
        (5, 0, "landing", org, None),
        # 6: its variant only on a browse event: exposed (B); level 1
        (6, 0, "page_view", ref, "B"), (6, 1 * MIN, "landing", ref, None),
        # 7: never enters (browse only), variant A: exposed with level 0
        (7, 0, "page_view", soc, "A"),
        # 8: its purchases have a NULL and another channel: level 5, but 3 with the where= rule
        (8, 0, "landing", nl, "A"), (8, 1 * MIN, "add_to_cart", nl, "A"), (8, 2 * MIN, "checkout_start", nl, "A"),
        (8, 3 * MIN, "purchase", None, "A"), (8, 4 * MIN, "purchase", org, "A"), (8, 5 * MIN, "app_open", nl, "A"),
        # 9: a paid_ads purchase: level 5 with the rule too
        (9, 0, "landing", pa_, "B"), (9, 1 * MIN, "product_view", pa_, "B"), (9, 2 * MIN, "checkout_start", pa_, "B"),
        (9, 3 * MIN, "purchase", pa_, "B"), (9, 4 * MIN, "review", pa_, "B"),
        # 10: gaps of exactly 30 min (same session) then 30 min + 1 ms (a new session): level 3
        # as a user; sessions: [landing, product_view] level 2 and [checkout_start] level 0
        (10, 0, "landing", sto, "B"), (10, 30 * MIN, "product_view", sto, "B"),
        (10, 60 * MIN + 1, "checkout_start", sto, "B"),
    ]


#: The expected answer of each shape on that file (by hand, from the docstrings).
SHAPE_PROBE_EXPECTED: dict[str, Any] = {
    "a": [11, 7, 4, 3, 3],
    "b": [11, 7, 4, 3, 3],
    "c": [11, 7, 4, 2, 2],
    "d": {"(missing)": [1, 0, 0, 0, 0], "newsletter": [1, 1, 1, 1, 1], "organic_search": [1, 0, 0, 0, 0],
          "paid_ads": [3, 3, 2, 2, 2], "referral": [1, 0, 0, 0, 0], "social": [1, 1, 0, 0, 0],
          "store": [3, 2, 1, 0, 0]},
    "e": [11, 7, 3, 3, 3],
    "f": {"A": [5, 4, 3, 2, 2, 2], "B": [5, 5, 3, 2, 1, 1]},
}


def write_shape_probe_files() -> dict[str, str]:
    """The probe log as Parquet: integer ids ("main") and md5-hex ids ("strid")."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from _datagen import hex_user_id

    rows = _shape_probe_rows()
    d = os.path.join(DATA_DIR, "probe")
    os.makedirs(d, exist_ok=True)
    cols = {
        "timestamp": pa.array([T0 + off for _, off, *_ in rows], pa.timestamp("ms", tz="UTC")),
        "event": pa.array([r[2] for r in rows], pa.string()).dictionary_encode(),
        "channel": pa.array([r[3] for r in rows], pa.string()).dictionary_encode(),
        "variant": pa.array([r[4] for r in rows], pa.string()).dictionary_encode(),
    }
    out = {}
    for kind, ids in (("main", pa.array([r[0] for r in rows], pa.int64())),
                      ("strid", pa.array([hex_user_id(r[0]) for r in rows], pa.string()))):
        p = os.path.join(d, f"shapes_{kind}.parquet")
        pq.write_table(pa.table({"user_id": ids, **cols}), p)
        out[kind] = p
    return out


def run_shape_probe(py: dict[str, str], shapes: list[str], only: set[str], timeout: float) -> dict[str, Any]:
    paths = write_shape_probe_files()
    out: dict[str, Any] = {}
    for s in shapes:
        answers: dict[str, Any] = {}
        for e in shape_engines(s):
            if only and e.key not in only and e.key != "fk":
                continue
            r = run_worker({"kind": "run", "engine": e.module, "task": e.task, "args": e.args,
                            "path": paths[e.data]}, py[e.python], timeout)
            answers[e.key] = r.result if r.ok else {"error": r.error, "skipped": r.skipped}
            print(f"[shape probe {s}] {e.label:<48} -> {answers[e.key]}", flush=True)
        exp = SHAPE_PROBE_EXPECTED[s]
        for k, a in answers.items():
            if a != exp and not (isinstance(a, dict) and a.get("skipped")):
                print(f"!! shape probe {s}: {k} {a} != expected {exp}", flush=True)
        out[s] = {"expected": exp, "answers": answers}
    return out


# --------------------------------------------------------------------------- report


def fmt_s(x: float) -> str:
    if x != x:
        return "—"
    return f"{x:.2f}" if x >= 0.095 else f"{x:.3f}"


def fmt_mb(x: float) -> str:
    return "—" if x != x else f"{x:,.0f}"


def fmt_ratio(a: float, b: float) -> str:
    if a != a or b != b or b == 0:
        return "—"
    return f"{a / b:.2f}"


def status_of(row: Row, ref: Any) -> str:
    if not row.runs:
        return "not run"
    if all(r.skipped for r in row.runs):
        return "SKIPPED"
    if not row.good:
        return "ERROR"
    answers = row.answers
    if any(a != answers[0] for a in answers):
        return "MISMATCH (varies between runs)"
    if ref is None:
        return "no reference"
    return "OK" if answers[0] == ref else "MISMATCH"


def render_task_table(title: str, rows: list[Row], ref_row: Row) -> tuple[list[str], list[str]]:
    """Markdown lines of the timing table and of the answers table."""
    ref = ref_row.answers[0] if ref_row.good else None
    fk_t, fk_m = ref_row.med("wall_s"), ref_row.med("peak_rss_mb")
    lines = [
        f"**{title}**",
        "",
        "| engine | check | median s | min–max s | CPU s (sys) | peak RSS MB | import s / RSS after MB "
        "| funnelkit/peer time | funnelkit/peer memory |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    answers = ["", "| engine | sessions | check |", "|---|---:|---|"]
    is_counts = isinstance(ref, list)
    is_groups = isinstance(ref, dict)
    steps_h = [f"step {k}" for k in range(1, len(STEPS) + 1)]
    if is_counts:
        answers[1] = "| engine | " + " | ".join(steps_h) + " | check |"
        answers[2] = "|---|" + "---:|" * len(STEPS) + "---|"
    if is_groups:  # shape d: {group: units per step}; f: {variant: [exposed users, converters per step]}
        width = len(next(iter(ref.values()), [0] * len(STEPS)))
        head = (["exposed users"] if width == len(STEPS) + 1 else []) + steps_h
        answers[1] = "| engine | group | " + " | ".join(head) + " | check |"
        answers[2] = "|---|---|" + "---:|" * len(head) + "---|"
    for row in rows:
        st = status_of(row, ref)
        walls = [r.wall_s for r in row.good]
        if st in ("SKIPPED", "ERROR", "not run"):
            reason = next((r.error for r in row.runs if r.error), "")
            lines.append(f"| {row.engine.label} | {st}: {reason} | — | — | — | — | — | — | — |")
            continue
        t, m = row.med("wall_s"), row.med("peak_rss_mb")
        if len(row.good) < len(row.runs):  # some runs failed: say so next to the check
            st += f" ({len(row.good)} of {len(row.runs)} runs ran)"
        lines.append(
            f"| {row.engine.label} | {st} | {fmt_s(t)} | {fmt_s(min(walls))}–{fmt_s(max(walls))} "
            f"| {fmt_s(row.med('cpu_s'))} ({fmt_s(row.med('sys_s'))}) | {fmt_mb(m)} "
            f"| {fmt_s(row.med('import_s'))} / {fmt_mb(row.med('rss_import_mb'))} "
            f"| {'1 (ref)' if row is ref_row else fmt_ratio(fk_t, t)} "
            f"| {'1 (ref)' if row is ref_row else fmt_ratio(fk_m, m)} |"
        )
        ans = row.answers[0]
        if is_groups and isinstance(ans, dict):
            if row is not ref_row and st == "OK":  # the groups table is long: agreeing engines in one line
                answers.append(f"| {row.engine.label} | (every group) | same as funnelkit" + " |" * (len(head) - 1)
                               + f" | {st} |")
                continue
            for g, cs in ans.items():
                answers.append(f"| {row.engine.label} | {g} | " + " | ".join(f"{c:,}" for c in cs) + f" | {st} |")
            if st.startswith("MISMATCH"):
                for g, cs in ref.items():
                    answers.append("| ↳ funnelkit (reference) | " + f"{g} | " + " | ".join(f"{c:,}" for c in cs)
                                   + " | |")
            continue
        if is_counts and isinstance(ans, list):
            answers.append(f"| {row.engine.label} | " + " | ".join(f"{c:,}" for c in ans) + f" | {st} |")
        else:
            answers.append(f"| {row.engine.label} | {ans:,} | {st} |" if isinstance(ans, int)
                           else f"| {row.engine.label} | {ans} | {st} |")
        if st.startswith("MISMATCH"):
            answers.append(f"| ↳ funnelkit (reference) | {ref} | |" if not is_counts else
                           f"| ↳ funnelkit (reference) | " + " | ".join(f"{c:,}" for c in ref) + " | |")
    return lines, answers


def _cell(row: Row | None, ref: Any, notes: dict[str, int]) -> tuple[str, str, float, float]:
    """(time cell, memory cell, median s, median MB) of a summary row; times only when the
    answer matches funnelkit's (else the status, and the ratio columns stay empty). The
    reason of a skipped row goes to ``notes`` (message -> footnote number)."""
    if row is None:
        return "not run", "—", float("nan"), float("nan")
    st = status_of(row, ref)
    if st == "SKIPPED":
        reason = next((r.error for r in row.runs if r.error), "skipped")
        n = notes.setdefault(reason, len(notes) + 1)
        short = "n/a" if reason.startswith(("not applicable", "not supported")) else "skipped"
        return f"{short} [{n}]", "—", float("nan"), float("nan")
    if st in ("ERROR", "not run", "no reference"):
        return st, "—", float("nan"), float("nan")
    t, m = row.med("wall_s"), row.med("peak_rss_mb")
    if st.startswith("MISMATCH"):
        return f"{fmt_s(t)} **MISMATCH**", fmt_mb(m), float("nan"), float("nan")
    return fmt_s(t), fmt_mb(m), t, m


def render_shapes_summary(metas: dict, results: dict) -> list[str]:
    """One table: per shape and size, funnelkit / chdb / DuckDB (median s, peak RSS MB),
    the ratios, and funnelkit's out-of-core row against the same peer runs."""
    shapes = [s for s in SHAPES if any(f"shape_{s}" in results[label] for label in metas)]
    if not shapes:
        return []
    L = [
        "## Shapes: funnelkit, ClickHouse (chdb) and DuckDB side by side",
        "",
        "Median wall seconds from the Parquet path to the answer / peak RSS MB of the process, each "
        "engine in a fresh interpreter; ratios funnelkit / peer (above 1: funnelkit slower or bigger). "
        "A time is shown only for an answer equal to funnelkit's (the check column; the detailed tables "
        f"below give every answer, the spread and CPU seconds). The out-of-core row is funnelkit with "
        f"`memory_budget={OOC_BUDGET!r}` against the same peer runs (↑). What each shape runs, with the "
        "SQL: `benchmarks/README.md`.",
        "",
        "| shape | size | funnelkit s | funnelkit MB | chdb s | chdb MB | DuckDB s | DuckDB MB "
        "| fk/chdb time | fk/chdb mem | fk/DuckDB time | fk/DuckDB mem | check |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    notes: dict[str, int] = {}
    for s in shapes:
        for label in metas:
            rows = results[label].get(f"shape_{s}")
            if not rows:
                continue
            by = {r.engine.key: r for r in rows}
            fk = by["fk"]
            ref = fk.answers[0] if fk.good else None
            ch_t, ch_m, ch_ts, ch_ms = _cell(by.get("ch"), ref, notes)
            du_t, du_m, du_ts, du_ms = _cell(by.get("duck"), ref, notes)
            for key, first in (("fk", True), ("fk_ooc", False)):
                row = by.get(key)
                if row is None:
                    continue
                if first:
                    f_t, f_m, f_ts, f_ms = (fmt_s(fk.med("wall_s")), fmt_mb(fk.med("peak_rss_mb")),
                                            fk.med("wall_s"), fk.med("peak_rss_mb")) if fk.good else \
                        (status_of(fk, None), "—", float("nan"), float("nan"))
                else:
                    f_t, f_m, f_ts, f_ms = _cell(row, ref, notes)
                checks = []
                for k in ("ch", "duck") + (() if first else ("fk_ooc",)):
                    if k in by:
                        st = status_of(by[k], ref)
                        if st != "OK" and st != "SKIPPED":
                            checks.append(f"{by[k].engine.short}: {st}")
                check = "OK" if not checks else "; ".join(checks)
                if not first and status_of(row, ref) == "SKIPPED":
                    check = "—"
                if not fk.good:
                    check = "no reference (funnelkit failed)"
                name = SHAPES[s][0] if first else "↳ out of core"
                peers_cells = (f"{ch_t} | {ch_m} | {du_t} | {du_m}" if first else "↑ | ↑ | ↑ | ↑")
                L.append(f"| {name} | {label} | {f_t} | {f_m} | {peers_cells} "
                         f"| {fmt_ratio(f_ts, ch_ts)} | {fmt_ratio(f_ms, ch_ms)} "
                         f"| {fmt_ratio(f_ts, du_ts)} | {fmt_ratio(f_ms, du_ms)} | {check} |")
    if notes:
        L += [""] + [f"[{n}] {msg}." for msg, n in notes.items()]
    return L + [""]


def render_shape_probe(shape_probe: dict) -> list[str]:
    """The answers of every engine on the hand-made file of each shape, with the expected one."""
    L = [
        "## Shape probe: a hand-made file for the shapes' edge cases",
        "",
        "A dozen users (`run.py`, `_shape_probe_rows`): the first channel on a browse event before the "
        "first funnel event, a NULL channel first, no channel at all, two variants, no variant, a "
        "variant only on a browse event, a user who never enters, a purchase with a NULL or another "
        "channel, a session gap of exactly 30 min and of 30 min + 1 ms. Expected answers computed by "
        "hand from the docstrings (funnel: by=/attribution; experiment: exposure).",
        "",
        "| shape | expected | " + " | ".join(ENGINE_SHORT[k] for k in PROBE_ENGINES) + " |",
        "|---|---|" + "---|" * len(PROBE_ENGINES),
    ]
    for s, entry in shape_probe.items():
        exp = entry["expected"]
        cells = []
        for k in PROBE_ENGINES:
            got = entry["answers"].get(k)
            if got is None:
                cells.append("—")
            elif isinstance(got, dict) and "error" in got:
                cells.append(("n/a" if got.get("skipped") else "error: ") + ("" if got.get("skipped") else
                                                                          got["error"][:80]))
            else:
                cells.append("= expected" if got == exp else f"**{_compact(got)}** ≠")
        L.append(f"| {SHAPES[s][0]} | {_compact(exp)} | " + " | ".join(cells) + " |")
    return L + [""]


def _compact(ans: Any) -> str:
    if isinstance(ans, dict):
        return "; ".join(f"{g}: {' '.join(map(str, v))}" for g, v in ans.items())
    if isinstance(ans, list):
        return " ".join(map(str, ans))
    return str(ans)


def _scaling(metas: dict, results: dict) -> list[str]:
    L = [
        "## Scaling (funnelkit)",
        "",
        "Ordered funnel, window 1 day, `fk.funnel(path, ...)` (the columnar path); sessionize is `sessionize(read_events(path))`. Memory per event is "
        "(peak RSS − RSS after import) / rows.",
        "",
        "| size | rows | median s | ns / event | peak RSS MB | over import MB | bytes / event "
        "| sessionize s | sessionize ns / event |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, m in metas.items():
        if "funnel_1d" not in results[label]:
            continue
        fr = results[label]["funnel_1d"][0]
        sr = results[label]["sessions"][0] if "sessions" in results[label] else None
        t, peak, imp = fr.med("wall_s"), fr.med("peak_rss_mb"), fr.med("rss_import_mb")
        st = sr.med("wall_s") if sr is not None else float("nan")
        n = m["rows"]
        L.append(
            f"| {label} | {n:,} | {fmt_s(t)} | {t / n * 1e9:,.0f} | {fmt_mb(peak)} | {fmt_mb(peak - imp)} "
            f"| {(peak - imp) * 2**20 / n:,.0f} | {fmt_s(st)} | {'—' if st != st else f'{st / n * 1e9:,.0f}'} |"
        )
    L.append("")
    return L


def write_report(path: str, args: argparse.Namespace, info: dict, metas: dict, results: dict,
                 tie_results: dict | None, probe: dict | None, started: str, elapsed: float,
                 shape_probe: dict | None = None) -> str:
    L: list[str] = []
    cmd = "python benchmarks/run.py " + " ".join(sys.argv[1:])
    L += [
        "# funnelkit benchmarks: results",
        "",
        f"Generated by `{cmd.strip()}` on {started} (took {elapsed / 60:.1f} min). "
        "Do not edit by hand: rerun the command. What is measured and how: `benchmarks/README.md`.",
        "",
        "## Machine",
        "",
        f"- CPU: {info['cpu']} ({info['cpu_mhz']} MHz, cache {info['cache']}); "
        f"{info['cores']} logical cores ({info['usable_cores']} usable)",
        f"- RAM: {info['ram']}; OS: {info['os']}",
        f"- Python: {info['python']} (`{sys.executable}`)",
        f"- funnelkit measured: `{info['funnelkit_src'][0]}` (sha256 of its .py files: "
        f"{info['funnelkit_src'][1]})",
        "- Packages: " + ", ".join(f"{k} {v}" for k, v in info["packages"].items() if v)
        + (("; not installed: " + ", ".join(k for k, v in info["packages"].items() if not v))
           if any(not v for v in info["packages"].values()) else ""),
    ]
    if info.get("rete_python"):
        L.append(f"- retentioneering runs from `{info['rete_python']}`")
    if info.get("env_notes"):
        L.append("- Environment: " + ", ".join(f"{k}={v}" for k, v in info["env_notes"].items())
                 + " (set by the machine; irrelevant here: nothing measured uses BLAS)")
    loads = [r.load1 for by_task in results.values() for rows in by_task.values()
             for row in rows for r in row.runs if r.ok]
    if loads:
        L.append(f"- Load: the 1-minute load average when a run started was {min(loads):.1f} to "
                 f"{max(loads):.1f} (median {statistics.median(loads):.1f}) on "
                 f"{info['usable_cores']} cores; above the core count, other processes competed "
                 "for the CPU and times are inflated (the min–max column shows the spread).")
    L += [
        "- Threads: funnelkit (blocks and buckets of users, numpy releasing the GIL), DuckDB and "
        f"ClickHouse all use the {info['usable_cores']} cores by default (compare the CPU s column "
        "with the wall time).",
        "",
        "## Data",
        "",
        f"`funnelkit.datasets.make_shop(n_users=..., seed={args.seed}, browse_events={BROWSE_EVENTS:g})`, "
        f"written once to Parquet ({PARQUET_COMPRESSION}, millisecond timestamps, rows in time order, "
        "all 7 columns) and cached in `benchmarks/_data/`.",
        "",
        "| size | rows | users | events/user | funnel events | Parquet MB | row groups "
        "| same user, same ms | same user, same minute |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, m in metas.items():
        L.append(
            f"| {label} | {m['rows']:,} | {m['users']:,} | {m['events_per_user']:.2f} "
            f"| {m['funnel_event_share']:.1%} | {m['parquet_mb']:.1f} | {m['row_groups']} "
            f"| {m['same_user_same_ms_pairs']:,} | {m['same_user_same_minute_pairs']:,} |"
        )
    strid = {label: m["strid"] for label, m in metas.items() if m.get("strid")}
    if strid:
        L += ["", "Shape b reads a second file per size: the same rows, row order and row groups with each "
              "integer `user_id` replaced by the 32-hex-character md5 of its decimal text (a plain Parquet "
              "string column): " + ", ".join(f"{label} {m['parquet_mb']:.1f} MB" for label, m in strid.items())
              + "."]
    L += [
        "",
        "Funnel steps (each a list of event names): "
        + " → ".join(f"`{n}`" for n in STEP_NAMES) + ".",
        "",
        f"Each cell is the median of {args.repeat} run(s), each in a fresh interpreter, timed from "
        "the Parquet path to the answer (reading included; imports excluded and shown apart: "
        "their seconds and the resident memory after them). CPU s counts all threads (user + kernel; the kernel "
        "part, mostly page faults on fresh memory, in brackets). Peak RSS is the whole process's (`os.wait4` "
        "ru_maxrss), imports included. Ratios are funnelkit / peer: above 1 means funnelkit is "
        "slower or bigger. Every answer is checked against funnelkit's before its time is shown.",
        "",
    ]
    pk = info["packages"]
    L += [
        "## Peers",
        "",
        f"- ClickHouse: chdb {pk.get('chdb') or 'not installed'} (chdb-core {pk.get('chdb-core') or '—'}), "
        "in process, `windowFunnel(86400000, 'strict_once')` on `toUnixTimestamp64Milli(timestamp)` "
        "(it refuses DateTime64; DateTime would round to seconds), rows filtered to the funnel's "
        "events in `WHERE`.",
        f"- DuckDB {pk.get('duckdb') or 'not installed'}: an exact window funnel with one ASOF join "
        "per step (`peers/duckdb_engine.py`); sessions with `lag()` and a running `sum()`.",
        ("- retentioneering " + pk["retentioneering"] + ": `Eventstream(df).funnel_data(steps)` "
         "after renaming events to their step; no window (its funnel has none), so it is compared "
         "with funnelkit's `window=None` funnel. Installed with pip beside funnelkit: it changed "
         "none of pandas/numpy/pyarrow (it added scikit-learn, gensim, posthog, mcp...). "
         "Telemetry off (`RETENTIONEERING_NO_TRACK=1`).")
        if pk.get("retentioneering") else
        "- retentioneering: not installed here; its rows say SKIPPED with the import error "
        "(see README.md for running it from a separate virtualenv).",
        "",
    ]
    L += render_shapes_summary(metas, results)
    if shape_probe:
        L += render_shape_probe(shape_probe)
    for label in metas:
        L += [f"## {label} events", ""]
        for task, (title, _) in TASKS.items():
            rows = results[label].get(task)
            if not rows:
                continue
            lines, answers = render_task_table(title, rows, rows[0])
            L += lines + answers + [""]
    # scaling
    if any("funnel_1d" in results[label] for label in metas):
        L += _scaling(metas, results)
    if tie_results:
        label, rows_by_task = tie_results["label"], tie_results["rows"]
        L += [
            f"## Ties: the {label} log with timestamps floored to whole minutes, rows shuffled",
            "",
            "Same events, but each timestamp truncated to its minute, so that events of a user "
            f"share a timestamp ({metas[label]['same_user_same_minute_pairs']:,} pairs of "
            "consecutive events), and the rows written in a random order, so that the file order "
            "says nothing about the order of tied events. Funnelkit's reference answer is for this "
            "file (it differs from the tables above: flooring moves events across window edges). "
            "One run each; answers only (the point is agreement, not speed).",
            "",
        ]
        differ = []
        for task, rows in rows_by_task.items():
            _, answers = render_task_table(TASKS[task][0], rows, rows[0])
            L += [f"**{TASKS[task][0]}**"] + answers + [""]
            ref = rows[0].answers[0] if rows[0].good else None
            differ += [row.engine.key for row in rows[1:] if status_of(row, ref).startswith("MISMATCH")]
        L += [
            "How each engine orders events of one user that share a timestamp:",
            "",
            "* funnelkit: by step position in the funnel, then input row (DESIGN.md §4): a step-k "
            "event can follow a step-(k−1) event at the same timestamp, whatever the row order;",
            "* ClickHouse `windowFunnel`: it sorts each unit's (timestamp, condition index) pairs, "
            "so ties go in step order too — the same as funnelkit;",
            "* the DuckDB query: the next step is searched with `t >= previous step's t`, the same "
            "again;",
            "* retentioneering: `sort_values([user, timestamp, subindex])` keeps the input row order "
            "of tied events, and a step must come at a strictly later position; a step-k row "
            "written before the step-(k−1) row with the same timestamp does not convert.",
            "",
        ]
        if "rete" in differ:
            L += [
                "So retentioneering differs on this file (its rows are shuffled): it counts fewer "
                "users at the later steps (its answer depends on the row order of the file), while funnelkit, ClickHouse and DuckDB agree and do not "
                "depend on the row order. This is a difference of semantics, not a bug of either "
                "side; the main tables above have no such ties (make_shop has no two events of a "
                "user at the same millisecond), so the timed comparisons are like for like. The "
                "probe below shows it on one user.",
                "",
            ]
        elif differ:
            L += [f"Engines that differ here: {', '.join(differ)} (see the answers above).", ""]
    if probe:
        cases = _probe_cases()
        cols = [c for c in probe]
        L += [
            "## Semantic probe: one hand-made user per case",
            "",
            "Level reached (steps 1..5) by user 1 in each engine; the expected value is "
            "DESIGN.md §4's. (Each file also holds a filler user 2 with every funnel event, steps "
            "in reverse order days apart, who reaches step 1 only; its count is subtracted.)",
            "",
            "| case | user 1's rows (file order) | expected, 1D | "
            + " | ".join(f"{probe[c]['label']}, {'1D' if c.startswith('funnel_1d') else 'no window'}"
                         for c in cols) + " | expected, no window |",
            "|---|---|---:|" + "---:|" * len(cols) + "---:|",
        ]
        for name, (what, exp1, exp0, rows) in cases.items():
            cells = []
            for c in cols:
                if "levels" not in probe[c]:
                    cells.append("error")
                    continue
                lv = probe[c]["levels"][name]
                exp = exp1 if c.startswith("funnel_1d") else exp0
                cells.append(f"{lv}" if lv == exp else f"**{lv}** ≠")
            desc = ", ".join(f"{e}@{'+' if o else ''}{_fmt_off(o)}" for e, o in rows)
            L.append(f"| {name}: {what} | {desc} | {exp1} | " + " | ".join(cells) + f" | {exp0} |")
        L.append("")
    text = "\n".join(L) + "\n"
    with open(path, "w") as fh:
        fh.write(text)
    return text


def _fmt_off(ms: int) -> str:
    if ms == 0:
        return "0"
    if ms % DAY == 0:
        return f"{ms // DAY}d"
    if ms % 3_600_000 == 0:
        return f"{ms // 3_600_000}h"
    if ms > DAY:
        return f"1d{ms - DAY}ms"
    return f"{ms}ms"


# --------------------------------------------------------------------------- raw numbers

LAST_RUN = os.path.join(DATA_DIR, "last_run.json")


def _dump_rows(results: dict) -> dict:
    return {label: {task: [{"engine": row.engine.key, "runs": [r.__dict__ for r in row.runs]}
                           for row in rows] for task, rows in by_task.items()}
            for label, by_task in results.items()}


def _load_rows(raw: dict) -> dict:
    out: dict = {}
    for label, by_task in raw.items():
        out[label] = {}
        for task, rows in by_task.items():
            engines = {e.key: e for e in TASKS[task][1]}
            out[label][task] = [Row(task, engines[r["engine"]], [Run(**run) for run in r["runs"]])
                                for r in rows]
    return out


def raw_path(out: str) -> str:
    """Where the raw numbers of a report go: _data/last_run.json for RESULTS.md, else beside --out."""
    if os.path.abspath(out) == os.path.join(HERE, "RESULTS.md"):
        return LAST_RUN
    return os.path.join(DATA_DIR, os.path.basename(out) + ".json")


def report_only(args: argparse.Namespace) -> int:
    """Rewrite RESULTS.md from the raw numbers of the last run (no measurement)."""
    with open(raw_path(args.out)) as fh:
        raw = json.load(fh)
    args.repeat, args.seed = raw["repeat"], raw["seed"]
    sys.argv[1:] = raw["argv"]
    ties = None
    if raw.get("ties"):
        ties = {"label": raw["ties"]["label"], "rows": _load_rows({"t": raw["ties"]["rows"]})["t"]}
    text = write_report(args.out, args, raw["machine"], raw["data"], _load_rows(raw["results"]), ties,
                        raw["probe"], raw["started"], raw["elapsed"], raw.get("shape_probe"))
    print(text)
    return 0


def print_sql() -> int:
    """The exact SQL of every shape, for README.md (path 'events.parquet')."""
    from peers import chdb_engine, duckdb_engine

    for s, (title, data) in SHAPES.items():
        path = "events_strid.parquet" if data == "strid" else "events.parquet"
        for name, mod in (("ClickHouse (chdb)", chdb_engine), ("DuckDB", duckdb_engine)):
            print(f"-- shape {title}: {name}")
            print(mod.shape_sql(path, s).strip() + ";")
            print()
    return 0


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1M,10M", help="event counts, e.g. 1M,10M (add 50M for the big point)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per engine and size (median reported)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--tasks", default=None,
                    help=f"subset of {','.join(OLD_TASKS)} (default: all of them, or none when --shapes is given)")
    ap.add_argument("--shapes", default="",
                    help="benchmark shapes to run, e.g. a,b,c,d,e,f (spec.SHAPES; README.md describes them)")
    ap.add_argument("--engines", default="", help="only these engine keys (fk,fk_cols,fk_ooc,ch,duck,rete)")
    ap.add_argument("--no-ties", action="store_true", help="skip the floored-timestamps agreement check")
    ap.add_argument("--no-probe", action="store_true", help="skip the hand-made semantic probe")
    ap.add_argument("--rete-python", default=os.environ.get("FUNNELKIT_BENCH_RETE_PYTHON", ""),
                    help="interpreter with retentioneering (default: this one); e.g. "
                         "benchmarks/_venv_rete/bin/python when it clashes with this venv")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per run before it is killed")
    ap.add_argument("--funnelkit-src", default="",
                    help="measure the funnelkit package in this directory (e.g. a copy of another "
                         "checkout's src/) instead of the installed one: compare two versions")
    ap.add_argument("--print-sql", action="store_true",
                    help="print the SQL of every shape (chdb and DuckDB) for a placeholder path, and exit")
    ap.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"))
    ap.add_argument("--report-only", action="store_true",
                    help=f"rewrite --out from the raw numbers of the last run ({os.path.relpath(LAST_RUN, HERE)})")
    args = ap.parse_args(argv)
    if args.print_sql:
        return print_sql()
    if args.report_only:
        return report_only(args)

    global FUNNELKIT_SRC
    FUNNELKIT_SRC = os.path.abspath(args.funnelkit_src) if args.funnelkit_src else ""
    started = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    t_start = time.perf_counter()
    py = pythons(args)
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    bad = [s for s in shapes if s not in SHAPES]
    if bad:
        ap.error(f"--shapes: unknown {bad}; choose among {','.join(SHAPES)}")
    if args.tasks is None:
        tasks = [] if shapes else list(OLD_TASKS)
    else:
        tasks = [t for t in args.tasks.split(",") if t]
        if any(t not in OLD_TASKS for t in tasks):
            ap.error(f"--tasks: choose among {','.join(OLD_TASKS)}")
    tasks += [f"shape_{s}" for s in shapes]
    only = {e for e in args.engines.split(",") if e}
    info = machine_info(py)
    print(f"machine: {info['cpu']}, {info['usable_cores']} cores, {info['ram']}; {info['python']}", flush=True)

    metas: dict[str, dict] = {}
    for size in sizes:
        label = size_label(size)
        print(f"[data] {label}: {data_path(size, args.seed)}", flush=True)
        r = run_worker({"kind": "generate", "args": {"size": size, "seed": args.seed}}, py["default"], args.timeout)
        if not r.ok:
            print(f"data generation failed: {r.error}", file=sys.stderr)
            return 2
        metas[label] = r.result
        m = r.result
        print(f"       {m['rows']:,} rows, {m['users']:,} users, {m['events_per_user']:.2f} events/user, "
              f"funnel events {m['funnel_event_share']:.1%}", flush=True)
        if any(SHAPES[s][1] == "strid" for s in shapes):
            r = run_worker({"kind": "generate_strid", "args": {"size": size, "seed": args.seed}}, py["default"],
                           args.timeout)
            if not r.ok:
                print(f"string-id data generation failed: {r.error}", file=sys.stderr)
                return 2
            m["strid"] = r.result
            print(f"       string ids: {r.result['path']} ({r.result['parquet_mb']:.1f} MB)", flush=True)

    results: dict[str, dict[str, list[Row]]] = {}
    for label, m in metas.items():
        results[label] = {}
        for task in tasks:
            engines = [e for e in TASKS[task][1] if not only or e.key in only or e.key == "fk"]
            results[label][task] = [Row(task, e) for e in engines]
        for rep in range(args.repeat):
            for task in tasks:
                for row in results[label][task]:
                    if row.runs and all(r.skipped for r in row.runs):
                        continue  # a missing peer stays missing
                    path = m["path"] if row.engine.data == "main" else m[row.engine.data]["path"]
                    job = {"kind": "run", "engine": row.engine.module, "task": row.engine.task,
                           "args": row.engine.args, "path": path}
                    r = run_worker(job, py[row.engine.python], args.timeout)
                    row.runs.append(r)
                    if r.ok:
                        print(f"[{label} {task} {rep + 1}/{args.repeat}] {row.engine.label:<48} "
                              f"{r.wall_s:8.2f} s  peak {r.peak_rss_mb:8,.0f} MB  -> {r.result}", flush=True)
                    else:
                        print(f"[{label} {task} {rep + 1}/{args.repeat}] {row.engine.label:<48} "
                              f"{'SKIPPED' if r.skipped else 'ERROR'}: {r.error}", flush=True)
        for task in tasks:
            rows = results[label][task]
            ref = rows[0].answers[0] if rows[0].good else None
            for row in rows[1:]:
                st = status_of(row, ref)
                if st.startswith("MISMATCH"):
                    print(f"!! {label} {task}: {row.engine.label} MISMATCH\n   peer:      {row.answers}\n"
                          f"   funnelkit: {ref}", flush=True)

    tie_results = None
    if not args.no_ties and metas and any(t in tasks for t in ("funnel_1d", "funnel_nowin")):
        label = next(iter(metas))
        tie_path = metas[label]["ties_path"]
        rows_by_task: dict[str, list[Row]] = {}
        for task in [t for t in ("funnel_1d", "funnel_nowin") if t in tasks]:
            rows = [Row(task, e) for e in TASKS[task][1] if e.key != "fk_cols" and (not only or e.key in only or e.key == "fk")]
            for row in rows:
                job = {"kind": "run", "engine": row.engine.module, "task": row.engine.task,
                       "args": row.engine.args, "path": tie_path}
                row.runs.append(run_worker(job, py[row.engine.python], args.timeout))
                r = row.runs[-1]
                print(f"[ties {label} {task}] {row.engine.label:<48} -> {r.result if r.ok else r.error}", flush=True)
            rows_by_task[task] = rows
        tie_results = {"label": label, "rows": rows_by_task}

    probe = None if args.no_probe else run_semantic_probe(py, args.timeout)
    shape_probe = None if args.no_probe or not shapes else run_shape_probe(py, shapes, only, args.timeout)

    elapsed = time.perf_counter() - t_start
    os.makedirs(DATA_DIR, exist_ok=True)
    with open(raw_path(args.out), "w") as fh:
        json.dump({"argv": sys.argv[1:], "repeat": args.repeat, "seed": args.seed, "started": started,
                   "elapsed": elapsed, "machine": info, "data": metas, "results": _dump_rows(results),
                   "ties": None if tie_results is None else
                   {"label": tie_results["label"], "rows": _dump_rows({"t": tie_results["rows"]})["t"]},
                   "probe": probe, "shape_probe": shape_probe}, fh, indent=1, default=str)

    text = write_report(args.out, args, info, metas, results, tie_results, probe, started, elapsed, shape_probe)
    print()
    print(text)
    print(f"(written to {args.out}; raw numbers in {raw_path(args.out)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
