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
