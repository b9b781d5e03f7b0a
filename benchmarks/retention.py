"""Retention benchmark: weekly cohort retention, funnelkit beside ClickHouse's ``retention()``
(chdb) and DuckDB SQL, in one run.

    python benchmarks/retention.py                      # 10M and 50M in memory + 50M out of core, 3 rounds
    python benchmarks/retention.py --sizes 1M --no-ooc --repeat 1  # a quick look

Task, timed from the Parquet path to the answer, each engine in its own fresh interpreter
(``python benchmarks/retention.py --worker JOB``) so the peak RSS (``ru_maxrss`` from
``os.wait4``, as ``run.py`` measures) is that engine's alone:

* ``weekly``: every user's cohort is the UTC calendar week (Monday) of its first event;
  for offsets k = 0..8, the users of each cohort with any event in week cohort + k.
  funnelkit: ``retention(path, period="W", periods=8)`` (N-period, first event, any
  event); ClickHouse: ``retention(w = c, w = c + 1, ..., w = c + 8)`` per user, summed
  per cohort; DuckDB: distinct (user, week) pairs joined to each user's first week.

Answers are checked: cohort sizes and retained users at k >= 1 exactly. At k = 0 the
peers count the cohort itself (ClickHouse's first condition is the start); funnelkit
counts users with another event in their first week after the first one (docs/retention.md),
so k = 0 is compared on cohort sizes only. The out-of-core row runs funnelkit with
``memory_budget="256MB"`` on 50M events and must equal the in-memory answer.
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
K = 8


def data_path(size: str) -> str:
    return os.path.join(DATA, f"shop_{size}_seed0_browse4.parquet")


# --------------------------------------------------------------------------- engines (worker side)


def fk_run(path: str, budget: str | None) -> dict:
    import numpy as np

    from funnelkit.analyses.retention import retention

    t = retention(path, period="W", periods=K, memory_budget=budget).table
    days = (t["cohort"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[D]")
            .astype(np.int64))
    week = (days + 3) // 7
    sizes = {str(int(w)): int(n) for w, n in zip(week[t["period"] == 0], t.loc[t["period"] == 0, "cohort_size"])}
    ret = {f"{int(w)}:{int(k)}": int(r) for w, k, r in zip(week, t["period"], t["retained"]) if k >= 1}
    return {"sizes": sizes, "retained": ret}


def ch_sql(path: str) -> str:
    conds = ", ".join(f"w = c + {k}" for k in range(K + 1))
    return f"""
SELECT c, sum(r[1]) AS n, {", ".join(f"sum(r[{k + 1}])" for k in range(1, K + 1))}
FROM (
  SELECT user_id, c, retention({conds}) AS r
  FROM (SELECT user_id, assumeNotNull(intDiv(toUInt32(toDate(timestamp, 'UTC')) + 3, 7)) AS w,
               min(w) OVER (PARTITION BY user_id) AS c
        FROM file('{path}', Parquet))
  GROUP BY user_id, c)
GROUP BY c ORDER BY c"""


def ch_run(path: str, budget: str | None) -> dict:
    import chdb

    data = json.loads(chdb.query(ch_sql(path), "JSONCompact").bytes())["data"]
    sizes = {str(int(r[0])): int(r[1]) for r in data}
    ret = {}
    for r in data:
        for k in range(1, K + 1):
            if int(r[1 + k]):
                ret[f"{int(r[0])}:{k}"] = int(r[1 + k])
    return {"sizes": sizes, "retained": ret}


def duck_sql(path: str) -> str:
    return f"""
WITH uw AS (SELECT DISTINCT user_id, (epoch_ms(timestamp) // 86400000 + 3) // 7 AS w
            FROM read_parquet('{path}')),
     c AS (SELECT user_id, min(w) AS c FROM uw GROUP BY user_id)
SELECT c.c, uw.w - c.c AS k, count(*) FROM uw JOIN c USING (user_id)
WHERE uw.w - c.c <= {K} GROUP BY ALL"""


def duck_run(path: str, budget: str | None) -> dict:
    import duckdb

    rows = duckdb.sql(duck_sql(path)).fetchall()
    sizes = {str(int(c)): int(n) for c, k, n in rows if k == 0}
    ret = {f"{int(c)}:{int(k)}": int(n) for c, k, n in rows if k >= 1}
    return {"sizes": sizes, "retained": ret}


ENGINES = {"funnelkit": fk_run, "chdb": ch_run, "duckdb": duck_run}


def worker(job: dict) -> None:
    import warnings

    if os.environ.get("FUNNELKIT_SRC"):
        sys.path.insert(0, os.environ["FUNNELKIT_SRC"])
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    if job["engine"] == "funnelkit":
        import funnelkit.analyses.retention  # noqa: F401
        import pyarrow.parquet  # noqa: F401  (imported on first use by funnelkit: an import, not the task)
        # (scipy.stats is not imported: the retention task does not load it; with compare=
        # it would, for the Welch tests)
    elif job["engine"] == "duckdb":
        import duckdb  # noqa: F401
    else:
        import chdb  # noqa: F401
    imp = time.perf_counter() - t0
    import resource

    base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # peak so far: the imports'
    w0, c0 = time.perf_counter(), time.process_time()
    res = ENGINES[job["engine"]](job["path"], job.get("budget"))
    out = {"wall_s": time.perf_counter() - w0, "cpu_s": time.process_time() - c0, "import_s": imp,
           "import_rss_mb": base_mb, "result": res}
    sys.stdout.write(MARK + json.dumps(out) + "\n")


# --------------------------------------------------------------------------- parent side


def _popen_peak(job: dict, timeout: float) -> dict:
    """One job in a fresh interpreter, reaped with ``os.wait4`` to read its own peak RSS."""
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", json.dumps(job)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    import threading

    bufs: dict = {"out": [], "err": []}

    def pump(stream, key):
        for ln in stream:
            bufs[key].append(ln)

    th = [threading.Thread(target=pump, args=(proc.stdout, "out")), threading.Thread(target=pump, args=(proc.stderr, "err"))]
    for t in th:
        t.start()
    deadline = time.monotonic() + timeout
    ru = None
    while time.monotonic() < deadline:
        pid, status, r = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            ru = r
            break
        time.sleep(0.2)
    if ru is None:
        proc.kill()
        _, _, ru = os.wait4(proc.pid, 0)
    for t in th:
        t.join()
    proc.returncode = 0
    out, err = "".join(bufs["out"]), "".join(bufs["err"])
    line = next((ln for ln in out.splitlines() if ln.startswith(MARK)), None)
    if line is None:
        return {"ok": False, "error": (err.strip().splitlines() or ["timeout"])[-1][:300],
                "peak_rss_mb": ru.ru_maxrss / 1024}
    res = json.loads(line[len(MARK):])
    res.update(ok=True, peak_rss_mb=ru.ru_maxrss / 1024)
    return res


def same(a: dict, b: dict) -> bool:
    return a["sizes"] == b["sizes"] and a["retained"] == b["retained"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker")
    ap.add_argument("--sizes", default="10M,50M")
    ap.add_argument("--ooc-size", default="50M")
    ap.add_argument("--no-ooc", action="store_true")
    ap.add_argument("--engines", default="funnelkit,chdb,duckdb")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--repeat", type=int, default=3,
                    help="rounds: every engine runs once per round, in turn (the table shows medians)")
    ap.add_argument("--out", default=os.path.join(HERE, "RESULTS_retention.md"))
    args = ap.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return
    engines = args.engines.split(",")
    plan = [(s, e, None) for s in args.sizes.split(",") for e in engines]
    if not args.no_ooc:
        plan.append((args.ooc_size, "funnelkit", "256MB"))
    runs = []
    for rnd in range(max(1, args.repeat)):  # rounds: a slow spell of the machine hits every engine
        for size, eng, budget in plan:
            load = os.getloadavg()[0]
            r = _popen_peak({"engine": eng, "path": data_path(size), "budget": budget}, args.timeout)
            r.update(size=size, engine=eng + (f" (memory_budget={budget})" if budget else ""), load=load, round=rnd)
            runs.append(r)
            print(f"[{rnd + 1}/{args.repeat}] {size} {r['engine']}: {r.get('wall_s', float('nan')):.2f} s, "
                  f"{r.get('peak_rss_mb', float('nan')):.0f} MB, load {load:.1f} {'' if r['ok'] else r['error']}",
                  flush=True)
    with open(os.path.join(DATA, "retention_last_run.json"), "w") as fh:
        json.dump(runs, fh)
    write(summarize(runs), args.out)


def summarize(runs: list) -> list:
    """One row per (size, engine): medians over its runs (and the wall time's range); a
    failed run fails the row; every run's answer is kept for the check."""
    import statistics

    rows = []
    for key in dict.fromkeys((r["size"], r["engine"]) for r in runs):
        grp = [r for r in runs if (r["size"], r["engine"]) == key]
        bad = [r for r in grp if not r["ok"]]
        if bad:
            rows.append(dict(bad[0], n=len(grp)))
            continue
        med = {k: statistics.median(r[k] for r in grp) for k in ("wall_s", "cpu_s", "peak_rss_mb", "import_rss_mb", "load")}
        rows.append(dict(grp[0], **med, n=len(grp), wall_min=min(r["wall_s"] for r in grp),
                         wall_max=max(r["wall_s"] for r in grp), results=[r["result"] for r in grp]))
    return rows


def write(rows: list, out: str) -> None:
    lines = ["# Retention benchmark", "",
             f"`python benchmarks/retention.py` on {platform.machine()}, {os.cpu_count()} cores (shared with other "
             "work; the median 1-minute load average at the start of the runs is shown). Every run in a fresh "
             "interpreter, the engines in turn, for as many rounds as `--repeat` (`runs`); the medians of "
             "the runs: wall seconds of the task alone (imports excluded; min–max beside it), CPU seconds, peak RSS "
             "of the whole process. "
             "Ratios are funnelkit / the engine (above 1.0: funnelkit slower or bigger). `check`: cohort sizes and "
             "retained users at offsets 1..8 equal funnelkit's, in every run. Task: weekly N-period retention (UTC weeks from "
             "Monday, cohort = week of the first event, any event returns), offsets 0..8. `RSS after imports`: the "
             "process's peak before the task starts (its libraries loaded: pandas and pyarrow for funnelkit); the last "
             "column compares what the task itself adds on top of it.", ""]
    for size in dict.fromkeys(r["size"] for r in rows):
        grp = [r for r in rows if r["size"] == size]
        ref = next((r for r in grp if r["engine"] == "funnelkit" and r["ok"]), None)
        lines += [f"## {size} events", "",
                  "| engine | check | runs | wall s (min–max) | CPU s | peak RSS MB | RSS after imports MB | load "
                  "| funnelkit time ratio | funnelkit RSS ratio | funnelkit ratio of RSS above imports |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in grp:
            if not r["ok"]:
                lines.append(f"| {r['engine']} | failed: {r['error']} | {r['n']} | | | {r['peak_rss_mb']:.0f} | | "
                             f"{r['load']:.1f} | | | |")
                continue
            agree = ref is not None and all(same(ref["result"], x) for x in r.get("results", [r["result"]]))
            chk = ("reference" if agree else "DIFFERS between runs") if r is ref else ("same" if agree else "DIFFERS")
            peer = ref is not None and r is not ref and not r["engine"].startswith("funnelkit")
            tr = f"{ref['wall_s'] / r['wall_s']:.2f}" if peer else ""
            mr = f"{ref['peak_rss_mb'] / r['peak_rss_mb']:.2f}" if peer else ""
            base = r.get("import_rss_mb")
            ar = ""
            if peer and base is not None and ref.get("import_rss_mb") is not None:
                ar = f"{(ref['peak_rss_mb'] - ref['import_rss_mb']) / max(r['peak_rss_mb'] - base, 1e-9):.2f}"
            spread = f" ({r['wall_min']:.2f}–{r['wall_max']:.2f})" if r.get("n", 1) > 1 else ""
            lines.append(f"| {r['engine']} | {chk} | {r.get('n', 1)} | {r['wall_s']:.2f}{spread} | {r['cpu_s']:.2f} | "
                         f"{r['peak_rss_mb']:.0f} | "
                         f"{'' if base is None else f'{base:.0f}'} | {r['load']:.1f} | {tr} | {mr} | {ar} |")
        lines.append("")
    with open(out, "w") as fh:
        fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
