"""funnelkit: ``read_events`` + ``funnel`` / ``sessionize`` (the library under test)."""

from __future__ import annotations

from typing import Any

from spec import SESSION_TIMEOUT, STEPS, WINDOW

fk: Any = None


def load() -> None:
    global fk
    import funnelkit

    fk = funnelkit


def version() -> str:
    return str(fk.__version__)


def _read(path: str, columns: str) -> Any:
    # columns="all": read_events(path) as a user would write it (all property columns);
    # columns="none": read_events(path, columns=[]) (only user_id, timestamp, event).
    if columns == "none":
        return fk.read_events(path, columns=[])
    return fk.read_events(path)


def funnel(path: str, window_ms: int | None, columns: str = "all") -> list[int]:
    # columns="all": fk.funnel(path, ...) as a user writes it (funnelkit reads the columns it needs);
    # columns="none": read_events(path, columns=[]) then funnel (the two steps apart).
    # columns="chunked": the out-of-core engine (what fk.funnel(path) uses for data too large for
    # memory) with a small budget, so that at 50M events the funnel rows really go to disk.
    window = None if window_ms is None else (WINDOW if window_ms == 86_400_000 else f"{window_ms}ms")
    if columns == "chunked":
        from funnelkit import _engines

        res = _engines.funnel_chunked(path, STEPS, window=window, mode="ordered", memory_budget="64MB",
                                      progress=False)
        return [int(x) for x in res.table["units"]]
    events = path if columns == "all" else _read(path, columns)
    res = fk.funnel(events, STEPS, window=window, mode="ordered")
    return [int(x) for x in res.table["units"]]


def sessions(path: str, timeout_ms: int, columns: str = "all") -> int:
    events = _read(path, columns)
    timeout = SESSION_TIMEOUT if timeout_ms == 30 * 60 * 1000 else f"{timeout_ms}ms"
    out = fk.sessionize(events, timeout=timeout)
    return int(out["session_id"].max()) + 1


# --------------------------------------------------------------------------- shapes (run.py --shapes)


def shape_journey() -> Any:
    """Shape c's journey: the 5 steps, step WHERE_STEP as a Rule with ``where=``."""
    from spec import STEP_NAMES, WHERE_COL, WHERE_STEP, WHERE_VALUE

    stages = {}
    for k, (name, events) in enumerate(zip(STEP_NAMES, STEPS), 1):
        if k == WHERE_STEP:
            stages[f"{name} ({WHERE_COL}={WHERE_VALUE})"] = fk.Rule(events[0] if len(events) == 1 else events,
                                                                   where={WHERE_COL: WHERE_VALUE})
        else:
            stages[name] = list(events)
    return fk.Journey(stages)


def _units(res: Any) -> list[int]:
    return [int(x) for x in res.table["units"]]


def shape(path: str, shape: str, memory_budget: str | None = None) -> Any:
    """The answer of one benchmark shape (see spec.SHAPES and README.md), from the path.

    a, b, c, e: units reaching each step; d: {channel: units per step}; f: {variant:
    [exposed users, converters per step]}. ``memory_budget``: the out-of-core row.
    """
    import inspect

    from peers import NotApplicable
    from spec import ATTRIBUTION, BY_COL, CONTROL, VARIANT_COL

    kw = {} if memory_budget is None else {"memory_budget": memory_budget}
    if shape in ("a", "b"):
        return _units(fk.funnel(path, STEPS, window=WINDOW, **kw))
    if shape == "c":
        return _units(fk.funnel(path, shape_journey(), window=WINDOW, **kw))
    if shape == "d":
        res = fk.funnel(path, STEPS, window=WINDOW, by=BY_COL, attribution=ATTRIBUTION, **kw)
        out: dict[str, list[int]] = {}
        for g, u in zip(res.breakdown[BY_COL], res.breakdown["units"]):
            out.setdefault(str(g), []).append(int(u))
        return dict(sorted(out.items()))
    if shape == "e":
        if memory_budget is not None:
            raise NotApplicable("not applicable: sessionize takes a frame in memory, and "
                                "funnel(memory_budget=) applies to a Parquet path only")
        ev = fk.sessionize(fk.read_events(path, columns=[]), timeout=SESSION_TIMEOUT)
        return _units(fk.funnel(ev, STEPS, window=WINDOW, unit="session"))
    if shape == "f":
        if memory_budget is not None and "memory_budget" not in inspect.signature(fk.experiment).parameters:
            raise NotApplicable("not supported: fk.experiment has no memory_budget parameter in this "
                                "funnelkit (it goes out of core only on its own, for a Parquet file "
                                "larger than a quarter of RAM)")
        exp = fk.experiment(path, STEPS, variant_col=VARIANT_COL, control=CONTROL, window=WINDOW, **kw)
        out = {}
        for v, users, conv in zip(exp.table["variant"], exp.table["users"], exp.table["converters"]):
            out.setdefault(str(v), [int(users)]).append(int(conv))
        return dict(sorted(out.items()))
    raise ValueError(f"unknown shape {shape!r}")
