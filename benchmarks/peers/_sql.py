"""SQL text shared by the SQL engines (standard library only)."""

from __future__ import annotations

from spec import FUNNEL_EVENTS, STEPS


def quote(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def in_list(names: list[str]) -> str:
    return "(" + ", ".join(quote(n) for n in names) + ")"


def step_case(col: str = "event") -> str:
    """``CASE`` giving the 1-based step of an event (events of no step are filtered out)."""
    whens = " ".join(f"WHEN {col} IN {in_list(s)} THEN {k}" for k, s in enumerate(STEPS, 1))
    return f"CASE {whens} END"


FUNNEL_FILTER = f"event IN {in_list(FUNNEL_EVENTS)}"
