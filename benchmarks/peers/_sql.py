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


def step_conditions(shape: str = "a") -> list[str]:
    """One SQL boolean per step. Shape c: step WHERE_STEP also needs ``WHERE_COL = WHERE_VALUE``
    (funnelkit's ``Rule(..., where={WHERE_COL: WHERE_VALUE})``); the other shapes: event names."""
    from spec import WHERE_COL, WHERE_STEP, WHERE_VALUE

    conds = [f"event IN {in_list(s)}" for s in STEPS]
    if shape == "c":
        k = WHERE_STEP - 1
        conds[k] = f"({conds[k]} AND {WHERE_COL} = {quote(WHERE_VALUE)})"
    return conds


def case_of(conds: list[str]) -> str:
    """``CASE`` giving the 1-based step of a row (NULL: in no step; steps are disjoint)."""
    return "CASE " + " ".join(f"WHEN {c} THEN {k}" for k, c in enumerate(conds, 1)) + " END"


def filter_of(conds: list[str], shape: str = "a") -> str:
    """The ``WHERE`` keeping the funnel's rows: the event names (plus, for shape c, the rule)."""
    if shape == "c":
        return "(" + " OR ".join(conds) + ")"
    return FUNNEL_FILTER
