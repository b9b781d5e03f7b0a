"""Paths benchmark: top paths of length 5 and the transition matrix, funnelkit beside DuckDB and chdb.

    python benchmarks/paths.py                       # 10M in memory + 50M out of core, writes RESULTS_paths.md
    python benchmarks/paths.py --sizes 1M --no-ooc   # a quick look

Tasks, each timed from the Parquet path to the answer, each engine in its own fresh
interpreter (``python benchmarks/paths.py --worker JOB``) so the peak RSS (``ru_maxrss``
from ``os.wait4``, as ``run.py`` measures) is that engine's alone:

* ``top5``: every 5-gram of each user's events (sorted by time, then event name; no
  collapsing), and a user with fewer than 5 events its whole path; per n-gram the
  occurrences, the distinct users and the median time from its first to its last event;
  the top 20 by occurrences. funnelkit: ``fk.paths(path, length=5, occurrences="every",
  collapse=False, top=20)``; DuckDB: ``LEAD`` window functions and an n-gram ``GROUP BY``;
  chdb: ``groupArray`` per user, n-grams by ``arrayJoin``.
* ``transitions``: every pair of consecutive events of a user: count, distinct users,
  median time. funnelkit: ``fk.transition_matrix(path)``; DuckDB ``LEAD``; chdb ``groupArray``.

Answers are checked: counts and users exactly, medians within funnelkit's stated
resolution (its medians come from a log-binned histogram: within a factor
``2 ** (1 / 32)`` of the exact lower median, which the SQL computes with
``quantile_disc`` / ``quantileExactLow``). The out-of-core rows run funnelkit with
``memory_budget="256MB"`` on 50M events beside DuckDB, and must give identical answers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "_data")
MARK = "@@RESULT@@ "
TOP = 20
L = 5


def data_path(size: str) -> str:
    return os.path.join(DATA, f"shop_{size}_seed0_browse4.parquet")


# --------------------------------------------------------------------------- engines (worker side)


def fk_top5(path: str, budget: str | None) -> list:
    from funnelkit.analyses.paths import paths

    t = paths(path, length=L, occurrences="every", collapse=False, top=TOP, memory_budget=budget).table
    t = t[t["path"] != "other"]
    return [[list(r.tokens), int(r.paths), int(r.units), float(r.median_time.value) / 1e6] for r in t.itertuples()]


def fk_transitions(path: str, budget: str | None) -> list:
    from funnelkit.analyses.paths import transition_matrix

    t = transition_matrix(path, memory_budget=budget).table
    return sorted([[r.source, r.target, int(r.transitions), int(r.units), float(r.median_time.value) / 1e6]
                   for r in t.itertuples()])


def duck_sql(path: str, task: str) -> str:
    src = f"read_parquet('{path}')"
    if task == "top5":
        leads = ", ".join(f"LEAD(event, {i}) OVER w AS e{i}" for i in range(1, L))
        return f"""
WITH s AS (
  SELECT user_id, event, {leads},
         epoch_ms(COALESCE(LEAD(timestamp, {L - 1}) OVER w, LAST_VALUE(timestamp) OVER wa)) - epoch_ms(timestamp) AS d,
         ROW_NUMBER() OVER w AS rn, COUNT(*) OVER (PARTITION BY user_id) AS n
  FROM {src}
  WINDOW w AS (PARTITION BY user_id ORDER BY timestamp, event),
         wa AS (PARTITION BY user_id ORDER BY timestamp, event ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING))
SELECT event, e1, e2, e3, e4, count(*) AS paths, count(DISTINCT user_id) AS units, quantile_disc(d, 0.5) AS med
FROM s WHERE e{L - 1} IS NOT NULL OR (rn = 1 AND n < {L})
GROUP BY ALL ORDER BY paths DESC, units DESC, event, e1, e2, e3, e4 LIMIT {TOP}"""
    return f"""
WITH s AS (
  SELECT user_id, event, LEAD(event) OVER w AS nxt,
         epoch_ms(LEAD(timestamp) OVER w) - epoch_ms(timestamp) AS d
  FROM {src} WINDOW w AS (PARTITION BY user_id ORDER BY timestamp, event))
SELECT event, nxt, count(*) AS n, count(DISTINCT user_id) AS units, quantile_disc(d, 0.5) AS med
FROM s WHERE nxt IS NOT NULL GROUP BY ALL"""


def duck_run(path: str, task: str, budget: str | None) -> list:
    import duckdb

    rows = duckdb.sql(duck_sql(path, task)).fetchall()
    return _rows(rows, task)


def ch_sql(path: str, task: str) -> str:
    base = f"""
  SELECT user_id, arraySort(x -> (x.1, x.2), groupArray((toUnixTimestamp64Milli(timestamp), toString(event)))) AS s,
         arrayMap(x -> x.2, s) AS ev, arrayMap(x -> x.1, s) AS ts, length(ev) AS n
  FROM file('{path}', Parquet) GROUP BY user_id"""
    if task == "top5":
        return f"""
SELECT w.1 AS g, count() AS paths, uniqExact(user_id) AS units, quantileExactLow(0.5)(w.2) AS med
FROM ({base})
ARRAY JOIN arrayMap(i -> (arraySlice(ev, i, {L}), ts[least(i + {L - 1}, n)] - ts[i]),
                    if(n < {L}, [1], range(1, n - {L - 2}))) AS w
GROUP BY g ORDER BY paths DESC, units DESC, g LIMIT {TOP} FORMAT JSONCompact"""
    return f"""
SELECT w.1 AS a, w.2 AS b, count() AS cnt, uniqExact(user_id) AS units, quantileExactLow(0.5)(w.3) AS med
FROM ({base})
ARRAY JOIN arrayMap(i -> (ev[i], ev[i + 1], ts[i + 1] - ts[i]), range(1, n)) AS w
GROUP BY a, b FORMAT JSONCompact"""


def ch_run(path: str, task: str, budget: str | None) -> list:
    import chdb

    data = json.loads(chdb.query(ch_sql(path, task), "JSONCompact").bytes())["data"]
    if task == "top5":
        return [[list(r[0]), int(r[1]), int(r[2]), float(r[3])] for r in data]
    return sorted([[r[0], r[1], int(r[2]), int(r[3]), float(r[4])] for r in data])


def _rows(rows: list, task: str) -> list:
    if task == "top5":
        return [[[e for e in r[:L] if e is not None], int(r[L]), int(r[L + 1]), float(r[L + 2])] for r in rows]
    return sorted([[r[0], r[1], int(r[2]), int(r[3]), float(r[4])] for r in rows])


ENGINES = {
    "funnelkit": {"top5": fk_top5, "transitions": fk_transitions},
    "duckdb": {"top5": duck_run, "transitions": duck_run},
    "chdb": {"top5": ch_run, "transitions": ch_run},
}


def worker(job: dict) -> None:
    import warnings

    if os.environ.get("FUNNELKIT_SRC"):  # a frozen copy of src/ (the tree may be edited meanwhile)
        sys.path.insert(0, os.environ["FUNNELKIT_SRC"])

    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    if job["engine"] == "funnelkit":
        import funnelkit  # noqa: F401
    elif job["engine"] == "duckdb":
        import duckdb  # noqa: F401
    else:
        import chdb  # noqa: F401
    imp = time.perf_counter() - t0
    fn = ENGINES[job["engine"]][job["task"]]
    w0, c0 = time.perf_counter(), time.process_time()
    if job["engine"] == "funnelkit":
        res = fn(job["path"], job.get("budget"))
    else:
        res = fn(job["path"], job["task"], None)
    out = {"wall_s": time.perf_counter() - w0, "cpu_s": time.process_time() - c0, "import_s": imp, "result": res}
    sys.stdout.write(MARK + json.dumps(out) + "\n")


# --------------------------------------------------------------------------- parent side


def run_measured(job: dict, timeout: float) -> dict:
    """One job in a fresh interpreter; its peak RSS from os.wait4 (the child is reaped here)."""
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", json.dumps(job)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    sel.register(proc.stderr, selectors.EVENT_READ)
    chunks: dict = {proc.stdout: [], proc.stderr: []}
    open_ = 2
    while open_ and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1.0):
            data = key.fileobj.read1(1 << 16) if hasattr(key.fileobj, "read1") else os.read(key.fileobj.fileno(), 1 << 16)
            if not data:
                sel.unregister(key.fileobj)
                open_ -= 1
            else:
                chunks[key.fileobj].append(data if isinstance(data, str) else data.decode())
    if open_:
        proc.kill()
    _, _, ru = os.wait4(proc.pid, 0)
    out = "".join(chunks[proc.stdout])
    err = "".join(chunks[proc.stderr])
    line = next((ln for ln in out.splitlines() if ln.startswith(MARK)), None)
    if line is None:
        msg = "timeout" if open_ else (err.strip().splitlines() or ["no output"])[-1][:300]
        return {"ok": False, "error": msg, "peak_rss_mb": ru.ru_maxrss / 1024}
    res = json.loads(line[len(MARK):])
    res.update(ok=True, peak_rss_mb=ru.ru_maxrss / 1024)
    return res


def same(a: list, b: list, task: str) -> bool:
    """Counts exact; medians within funnelkit's resolution (and 1 ms of the SQL's ms rounding)."""
    if len(a) != len(b):
        return False
    f = 2 ** (1 / 32) * 1.0001
    for x, y in zip(a, b):
        if x[:-1] != y[:-1]:
            return False
        m1, m2 = x[-1], y[-1]
        if not (m2 / f - 1 <= m1 <= m2 * f + 1):
            return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker")
    ap.add_argument("--sizes", default="10M")
    ap.add_argument("--ooc-size", default="50M")
    ap.add_argument("--no-ooc", action="store_true")
    ap.add_argument("--engines", default="funnelkit,duckdb,chdb")
    ap.add_argument("--timeout", type=float, default=400)
    ap.add_argument("--out", default=os.path.join(HERE, "RESULTS_paths.md"))
    args = ap.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return
    engines = args.engines.split(",")
    rows = []
    plan = [(s, t, e, None) for s in args.sizes.split(",") for t in ("top5", "transitions") for e in engines]
    if not args.no_ooc:
        plan += [(args.ooc_size, t, e, "256MB" if e == "funnelkit" else None)
                 for t in ("top5", "transitions") for e in ("funnelkit", "duckdb")]
    for size, task, eng, budget in plan:
        path = data_path(size)
        r = run_measured({"engine": eng, "task": task, "path": path, "budget": budget}, args.timeout)
        r.update(size=size, task=task, engine=eng + (f" (memory_budget={budget})" if budget else ""))
        rows.append(r)
        print(f"{size} {task} {r['engine']}: {r.get('wall_s', float('nan')):.2f} s, "
              f"{r.get('peak_rss_mb', float('nan')):.0f} MB {'' if r['ok'] else r['error']}", flush=True)
    with open(os.path.join(DATA, "paths_last_run.json"), "w") as fh:
        json.dump(rows, fh)
    write(rows, args.out)


def write(rows: list, out: str) -> None:
    lines = ["# Paths benchmark", "",
             f"`python benchmarks/paths.py` on {platform.machine()}, {os.cpu_count()} cores "
             f"(shared with other work: load average at the end {os.getloadavg()[0]:.1f}); one run per engine, "
             "each in a fresh interpreter; wall seconds of the task alone (imports excluded), peak RSS of the "
             "whole process. Ratios are funnelkit / the engine (below 1.0: funnelkit faster or smaller). "
             "`check`: the answer equals funnelkit's (counts exact, medians within its stated resolution).", ""]
    for (size, task) in dict.fromkeys((r["size"], r["task"]) for r in rows):
        grp = [r for r in rows if r["size"] == size and r["task"] == task]
        ref = next((r for r in grp if r["engine"].startswith("funnelkit") and r["ok"]), None)
        lines += [f"## {task}, {size} events", "",
                  "| engine | check | wall s | CPU s | peak RSS MB | funnelkit time ratio | funnelkit RSS ratio |",
                  "|---|---|---|---|---|---|---|"]
        for r in grp:
            if not r["ok"]:
                lines.append(f"| {r['engine']} | failed: {r['error']} | | | | | |")
                continue
            chk = "reference" if r is ref else ("same" if ref and same(ref["result"], r["result"], task) else "DIFFERS")
            tr = f"{ref['wall_s'] / r['wall_s']:.2f}" if ref and r is not ref else ""
            mr = f"{ref['peak_rss_mb'] / r['peak_rss_mb']:.2f}" if ref and r is not ref else ""
            lines.append(f"| {r['engine']} | {chk} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['peak_rss_mb']:.0f} | {tr} | {mr} |")
        lines.append("")
    ooc = [r for r in rows if "memory_budget" in r["engine"]]
    if ooc:
        lines += ["Out of core: funnelkit with `memory_budget=\"256MB\"` on the 50M file; `check` against DuckDB "
                  "on the same file (DuckDB's own memory use is not bounded here).", ""]
    with open(out, "w") as fh:
        fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
