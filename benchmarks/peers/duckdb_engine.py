"""DuckDB SQL: an exact ordered window funnel (ASOF joins) and sessionization (LAG + SUM OVER).

The funnel query follows the semantics of DESIGN.md §4 (ClickHouse ``windowFunnel``
``strict_once``), for steps whose event sets are disjoint:

* every step-1 event starts an attempt with deadline ``t1 + window`` (inclusive);
* an attempt at step k-1 (last event at time ``tp``) takes the *earliest* step-k event
  with ``t >= tp`` (``ASOF JOIN ... ON e.t >= a.tp``); equal timestamps convert in step
  order, as in funnelkit (sort by timestamp, then step position) and ClickHouse (events
  sorted by (timestamp, condition index)); it reaches step k if ``t <= deadline``.
  For a fixed start the greedy chain is the deepest one, so the unit's level is the
  deepest over its attempts;
* attempts that sit on the same step-k event are merged keeping the latest deadline
  (it dominates: same continuations, more time), which keeps every join small;
* units reaching step k = distinct users with an attempt alive at step k.
"""

from __future__ import annotations

from typing import Any

from peers._sql import FUNNEL_FILTER, quote, step_case
from spec import STEPS

duckdb: Any = None


def load() -> None:
    global duckdb
    import duckdb as _duckdb

    duckdb = _duckdb


def version() -> str:
    return str(duckdb.__version__)


def funnel_sql(path: str, window_ms: int | None) -> str:
    k_steps = len(STEPS)
    src = f"read_parquet({quote(path)})"
    ctes = [
        f"ev AS (SELECT user_id, epoch_ms(timestamp) AS t, {step_case()} AS step "
        f"FROM {src} WHERE {FUNNEL_FILTER})"
    ]
    for k in range(2, k_steps + 1):
        ctes.append(f"e{k} AS (SELECT user_id, t FROM ev WHERE step = {k})")
    # a1: one row per step-1 event; dl = deadline (NULL: no window)
    dl = "NULL::BIGINT" if window_ms is None else f"t + {int(window_ms)}"
    ctes.append(f"a1 AS (SELECT user_id, t AS tp, {dl} AS dl FROM ev WHERE step = 1)")
    for k in range(2, k_steps + 1):
        cond = "" if window_ms is None else " WHERE e.t <= a.dl"
        ctes.append(
            f"a{k} AS (SELECT a.user_id, e.t AS tp, max(a.dl) AS dl "
            f"FROM a{k - 1} a ASOF JOIN e{k} e ON a.user_id = e.user_id AND e.t >= a.tp"
            f"{cond} GROUP BY a.user_id, e.t)"
        )
    counts = ", ".join(f"(SELECT count(DISTINCT user_id) FROM a{k}) AS s{k}" for k in range(1, k_steps + 1))
    return "WITH " + ",\n".join(ctes) + f"\nSELECT {counts}"


def funnel(path: str, window_ms: int | None) -> list[int]:
    con = duckdb.connect()
    row = con.execute(funnel_sql(path, window_ms)).fetchone()
    return [int(x) for x in row]


def sessions_sql(path: str, timeout_ms: int) -> str:
    src = f"read_parquet({quote(path)})"
    return f"""
WITH ev AS (SELECT user_id, epoch_ms(timestamp) AS t FROM {src}),
flagged AS (
  SELECT user_id, t,
         CASE WHEN t - lag(t) OVER (PARTITION BY user_id ORDER BY t) <= {int(timeout_ms)}
              THEN 0 ELSE 1 END AS new_session
  FROM ev),
numbered AS (
  SELECT user_id, t,
         sum(new_session) OVER (PARTITION BY user_id ORDER BY t
                                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS session_no
  FROM flagged)
SELECT count(*) FROM (SELECT user_id, session_no, min(t), max(t), count(*)
                      FROM numbered GROUP BY user_id, session_no)
"""


def sessions(path: str, timeout_ms: int) -> int:
    con = duckdb.connect()
    return int(con.execute(sessions_sql(path, timeout_ms)).fetchone()[0])
