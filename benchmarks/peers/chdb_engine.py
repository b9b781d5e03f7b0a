"""ClickHouse (embedded, ``chdb``): ``windowFunnel(window, 'strict_once')`` and window-function sessions.

``windowFunnel`` refuses ``DateTime64`` (ClickHouse 26.x: "must be Unsigned Number,
Date, DateTime"), and ``DateTime`` has whole seconds, which would turn events a few
hundred milliseconds apart into ties. The timestamp is therefore passed as UInt64
milliseconds since the epoch (``toUnixTimestamp64Milli``); the window is then in
milliseconds too (86,400,000 = 1 day). ClickHouse sorts each unit's events by
(timestamp, condition index): ties convert in step order, as in funnelkit.
"""

from __future__ import annotations

from typing import Any

from peers._sql import FUNNEL_FILTER, in_list, quote
from spec import STEPS

chdb: Any = None
_NO_WINDOW_MS = 10**15  # ~31,700 years: "no window" for windowFunnel
_SETTINGS = "SETTINGS schema_inference_make_columns_nullable = 0"


def load() -> None:
    global chdb
    import chdb as _chdb

    chdb = _chdb


def version() -> str:
    ch = chdb.query("SELECT version()", "CSV").bytes().decode().strip().strip('"')
    return f"{chdb.__version__} (ClickHouse {ch})"


def _conds() -> str:
    return ", ".join(f"event IN {in_list(s)}" for s in STEPS)


def funnel_sql(path: str, window_ms: int | None) -> str:
    w = _NO_WINDOW_MS if window_ms is None else int(window_ms)
    return f"""
SELECT level, count() AS n FROM (
  SELECT user_id,
         windowFunnel({w}, 'strict_once')(toUInt64(toUnixTimestamp64Milli(timestamp)), {_conds()}) AS level
  FROM file({quote(path)}, Parquet)
  WHERE {FUNNEL_FILTER}
  GROUP BY user_id)
GROUP BY level ORDER BY level
{_SETTINGS}"""


def _levels_to_counts(text: str) -> list[int]:
    k = len(STEPS)
    by_level = [0] * (k + 1)
    for line in text.strip().splitlines():
        level, n = line.split(",")
        by_level[int(level)] += int(n)
    # units reaching step k = units whose level is >= k
    return [sum(by_level[j:]) for j in range(1, k + 1)]


def funnel(path: str, window_ms: int | None) -> list[int]:
    res = chdb.query(funnel_sql(path, window_ms), "CSV")
    return _levels_to_counts(res.bytes().decode())


def sessions_sql(path: str, timeout_ms: int) -> str:
    return f"""
SELECT count() FROM (
  SELECT user_id, session_no, min(t), max(t), count()
  FROM (
    SELECT user_id, t,
           sum(new_session) OVER (PARTITION BY user_id ORDER BY t
                                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS session_no
    FROM (
      SELECT user_id, t,
             if(row_number() OVER w = 1 OR t - lagInFrame(t) OVER w > {int(timeout_ms)}, 1, 0) AS new_session
      FROM (SELECT user_id, toInt64(toUnixTimestamp64Milli(timestamp)) AS t FROM file({quote(path)}, Parquet))
      WINDOW w AS (PARTITION BY user_id ORDER BY t ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)))
  GROUP BY user_id, session_no)
{_SETTINGS}"""


def sessions(path: str, timeout_ms: int) -> int:
    res = chdb.query(sessions_sql(path, timeout_ms), "CSV")
    return int(res.bytes().decode().strip())


# --------------------------------------------------------------------------- shapes (run.py --shapes)
#
# Every shape's window is 1 day (spec.WINDOW_MS). t is the timestamp in UInt64 ms, as above.
# Non-funnel rows match no condition and windowFunnel ignores them, so the queries that
# must read all rows anyway (d: the first channel over all events; f: the variant of every
# user, including those who never enter) compute the level in the same GROUP BY instead of
# joining it from a second, filtered scan: at 10M, in fresh processes (one round, loaded
# machine), the single pass took 2.4 s (d) and 1.9 s (f), the join 2.6 s and 3.5 s.
# With schema_inference_make_columns_nullable = 0 a NULL string reads as '' (Nullable
# columns cost about 2x on d), so d and f take '' for "no value"; make_shop has no NULLs
# and no empty strings, and the shape probe (run.py) checks the NULL cases.


def _wf(conds: list[str], window_ms: int) -> str:
    return (f"windowFunnel({int(window_ms)}, 'strict_once')"
            f"(toUInt64(toUnixTimestamp64Milli(timestamp)), {', '.join(conds)})")


def shape_sql(path: str, shape: str) -> str:
    from peers._sql import filter_of, step_conditions
    from spec import BY_COL, SESSION_TIMEOUT_MS, VARIANT_COL, WINDOW_MS

    src = f"file({quote(path)}, Parquet)"
    conds = step_conditions(shape)
    wf = _wf(conds, WINDOW_MS)
    if shape in ("a", "b"):  # the funnel_1d query
        return funnel_sql(path, WINDOW_MS)
    if shape == "c":  # the same with step 4's rule in its condition and in the filter
        return f"""
SELECT level, count() AS n FROM (
  SELECT user_id, {wf} AS level
  FROM {src}
  WHERE {filter_of(conds, shape)}
  GROUP BY user_id)
GROUP BY level ORDER BY level
{_SETTINGS}"""
    if shape == "d":  # first non-null channel by time over all of the user's events
        # (NULL reads as '' with schema_inference_make_columns_nullable = 0: '' is "no value")
        return f"""
SELECT g, level, count() AS n FROM (
  SELECT user_id, {wf} AS level,
         if(countIf({BY_COL} != '') = 0, '(missing)', argMinIf({BY_COL}, timestamp, {BY_COL} != '')) AS g
  FROM {src}
  GROUP BY user_id)
WHERE level >= 1
GROUP BY g, level ORDER BY g, level
{_SETTINGS}"""
    if shape == "e":  # sessions of all events (gap > timeout starts one), then a funnel per session
        return f"""
SELECT level, count() AS n FROM (
  SELECT user_id, session_no,
         windowFunnel({int(WINDOW_MS)}, 'strict_once')(toUInt64(t), {', '.join(conds)}) AS level
  FROM (
    SELECT user_id, t, event,
           sum(new_session) OVER (PARTITION BY user_id ORDER BY t
                                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS session_no
    FROM (
      SELECT user_id, t, event,
             if(row_number() OVER w = 1 OR t - lagInFrame(t) OVER w > {int(SESSION_TIMEOUT_MS)}, 1, 0) AS new_session
      FROM (SELECT user_id, toInt64(toUnixTimestamp64Milli(timestamp)) AS t, event FROM {src})
      WINDOW w AS (PARTITION BY user_id ORDER BY t ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)))
  WHERE {filter_of(conds, shape)}
  GROUP BY user_id, session_no)
GROUP BY level ORDER BY level
{_SETTINGS}"""
    if shape == "f":  # exposed = users with exactly one non-null variant value; level 0 included
        # ('' is NULL here, as in d)
        return f"""
SELECT v, level, count() AS n FROM (
  SELECT user_id, {wf} AS level,
         minIf({VARIANT_COL}, {VARIANT_COL} != '') AS v,
         maxIf({VARIANT_COL}, {VARIANT_COL} != '') AS v_max,
         countIf({VARIANT_COL} != '') AS n_v
  FROM {src}
  GROUP BY user_id)
WHERE n_v > 0 AND v = v_max
GROUP BY v, level ORDER BY v, level
{_SETTINGS}"""
    raise ValueError(f"unknown shape {shape!r}")


def _grouped(text: str) -> dict[str, list[int]]:
    by: dict[str, list[int]] = {}
    k = len(STEPS)
    for line in text.strip().splitlines():
        g, level, n = line.rsplit(",", 2)
        by.setdefault(g.strip('"'), [0] * (k + 1))[int(level)] += int(n)
    return {g: lv for g, lv in sorted(by.items())}


def shape(path: str, shape: str) -> Any:
    text = chdb.query(shape_sql(path, shape), "CSV").bytes().decode()
    if shape in ("a", "b", "c", "e"):
        return _levels_to_counts(text)
    k = len(STEPS)
    if shape == "d":
        return {g: [sum(lv[j:]) for j in range(1, k + 1)] for g, lv in _grouped(text).items()}
    return {g: [sum(lv)] + [sum(lv[j:]) for j in range(1, k + 1)] for g, lv in _grouped(text).items()}
