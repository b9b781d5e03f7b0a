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

from peers._sql import FUNNEL_FILTER, case_of, quote, step_case
from spec import STEPS

duckdb: Any = None


def load() -> None:
    global duckdb
    import duckdb as _duckdb

    duckdb = _duckdb


def version() -> str:
    return str(duckdb.__version__)


def funnel_sql(path: str, window_ms: int | None, conds: list[str] | None = None, where: str | None = None) -> str:
    """The funnel of the plain steps; ``conds`` (one SQL boolean per step) and ``where``
    (the row filter) replace the steps' event-name conditions (shape c's where= rule)."""
    k_steps = len(STEPS)
    src = f"read_parquet({quote(path)})"
    case = step_case() if conds is None else case_of(conds)
    ctes = [
        f"ev AS (SELECT user_id, epoch_ms(timestamp) AS t, {case} AS step "
        f"FROM {src} WHERE {FUNNEL_FILTER if where is None else where})"
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


# --------------------------------------------------------------------------- shapes (run.py --shapes)


def _attempt_ctes(keys: list[str], window_ms: int | None) -> list[str]:
    """The ASOF chain of ``funnel_sql`` over ``ev(keys..., t, step)``, for any unit key:
    ``a{k}`` holds the live attempts at step k (one row per unit and step-k event)."""
    k_steps = len(STEPS)
    kl = ", ".join(keys)
    on = " AND ".join(f"a.{c} = e.{c}" for c in keys)
    ctes = [f"e{k} AS (SELECT {kl}, t FROM ev WHERE step = {k})" for k in range(2, k_steps + 1)]
    dl = "NULL::BIGINT" if window_ms is None else f"t + {int(window_ms)}"
    ctes.append(f"a1 AS (SELECT {kl}, t AS tp, {dl} AS dl FROM ev WHERE step = 1)")
    for k in range(2, k_steps + 1):
        cond = "" if window_ms is None else " WHERE e.t <= a.dl"
        ctes.append(
            f"a{k} AS (SELECT {', '.join('a.' + c for c in keys)}, e.t AS tp, max(a.dl) AS dl "
            f"FROM a{k - 1} a ASOF JOIN e{k} e ON {on} AND e.t >= a.tp"
            f"{cond} GROUP BY {', '.join('a.' + c for c in keys)}, e.t)"
        )
    # reach: one row per (unit, step k it reaches)
    ctes.append("reach AS (" + " UNION ALL ".join(
        f"SELECT DISTINCT {kl}, {k} AS k FROM a{k}" for k in range(1, k_steps + 1)) + ")")
    return ctes


def shape_sql(path: str, shape: str) -> str:
    from peers._sql import filter_of, step_conditions
    from spec import BY_COL, SESSION_TIMEOUT_MS, VARIANT_COL, WINDOW_MS

    src = f"read_parquet({quote(path)})"
    conds = step_conditions(shape)
    ev = (f"ev AS (SELECT user_id, epoch_ms(timestamp) AS t, {case_of(conds)} AS step "
          f"FROM {src} WHERE {filter_of(conds, shape)})")
    if shape in ("a", "b"):  # the funnel_1d query
        return funnel_sql(path, WINDOW_MS)
    if shape == "c":  # the same with step 4's rule in the CASE and the filter
        return funnel_sql(path, WINDOW_MS, conds, filter_of(conds, shape))
    if shape == "d":  # first non-null channel by time over all of the user's events
        ctes = [ev] + _attempt_ctes(["user_id"], WINDOW_MS) + [
            f"ft AS (SELECT user_id, arg_min({BY_COL}, timestamp) AS g FROM {src} "
            f"WHERE {BY_COL} IS NOT NULL GROUP BY user_id)"]
        return ("WITH " + ",\n".join(ctes) +
                "\nSELECT coalesce(ft.g, '(missing)') AS g, r.k, count(*) FROM reach r LEFT JOIN ft USING (user_id)"
                "\nGROUP BY ALL ORDER BY ALL")
    if shape == "e":  # sessions of all events (gap > timeout starts one), then a funnel per session
        sess = f"""ses AS (
  SELECT user_id, t, event,
         sum(new_session) OVER (PARTITION BY user_id ORDER BY t
                                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS sid
  FROM (SELECT user_id, t, event,
               CASE WHEN t - lag(t) OVER (PARTITION BY user_id ORDER BY t) <= {int(SESSION_TIMEOUT_MS)}
                    THEN 0 ELSE 1 END AS new_session
        FROM (SELECT user_id, epoch_ms(timestamp) AS t, event FROM {src})))"""
        ev_s = (f"ev AS (SELECT user_id, sid, t, {case_of(conds)} AS step "
                f"FROM ses WHERE {filter_of(conds, shape)})")
        ctes = [sess, ev_s] + _attempt_ctes(["user_id", "sid"], WINDOW_MS)
        return "WITH " + ",\n".join(ctes) + "\nSELECT k, count(*) FROM reach GROUP BY k ORDER BY k"
    if shape == "f":  # exposed = users with exactly one non-null variant value; level 0 included
        ctes = [ev] + _attempt_ctes(["user_id"], WINDOW_MS) + [
            f"uv AS (SELECT user_id, min({VARIANT_COL}) AS v FROM {src} GROUP BY user_id "
            f"HAVING count({VARIANT_COL}) > 0 AND min({VARIANT_COL}) = max({VARIANT_COL}))"]
        return ("WITH " + ",\n".join(ctes) +
                "\nSELECT v, 0 AS k, count(*) FROM uv GROUP BY v"
                "\nUNION ALL SELECT uv.v, r.k, count(*) FROM reach r JOIN uv USING (user_id) GROUP BY ALL"
                "\nORDER BY 1, 2")
    raise ValueError(f"unknown shape {shape!r}")


def shape(path: str, shape: str) -> Any:
    con = duckdb.connect()
    rows = con.execute(shape_sql(path, shape)).fetchall()
    k_steps = len(STEPS)
    if shape in ("a", "b", "c"):
        return [int(x) for x in rows[0]]
    if shape == "e":
        counts = [0] * k_steps
        for k, n in rows:
            counts[int(k) - 1] = int(n)
        return counts
    first = 0 if shape == "f" else 1  # f: k = 0 is the exposed users
    out: dict[str, list[int]] = {}
    for g, k, n in rows:
        out.setdefault(str(g), [0] * (k_steps + 1 - first))[int(k) - first] = int(n)
    return dict(sorted(out.items()))
