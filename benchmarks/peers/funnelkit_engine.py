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
