"""retentioneering: ``Eventstream(...).funnel_data(steps)`` (ordered funnel, no window).

retentioneering's funnel steps are single event names, so each event is first renamed
to its step (``s1`` .. ``s5``; other events keep their name); that renaming is part of
the timed work. A path (user) reaches step k when events of steps 1..k occur in that
order (strictly increasing position; no window). Positions come from sorting each
user's events by (timestamp, subindex) with pandas ``sort_values``; equal timestamps
keep the input row order, where funnelkit and ClickHouse order them by step.

Telemetry: retentioneering reports usage to PostHog unless RETENTIONEERING_NO_TRACK
is set; the harness sets it (and the machine has no network to send it anyway).
"""

from __future__ import annotations

import os
from typing import Any

from spec import STEPS

os.environ.setdefault("RETENTIONEERING_NO_TRACK", "1")
rete: Any = None
pd: Any = None
np: Any = None


def load() -> None:
    global rete, pd, np
    import numpy as _np
    import pandas as _pd
    import retentioneering as _rete

    rete, pd, np = _rete, _pd, _np


def version() -> str:
    return str(rete.__version__)


def funnel(path: str, window_ms: int | None) -> list[int]:
    if window_ms is not None:
        raise ValueError("retentioneering's funnel has no time window")
    df = pd.read_parquet(path, columns=["user_id", "timestamp", "event"])
    ev = df["event"].astype("category")
    cats = [str(c) for c in ev.cat.categories]
    step_of = {e: f"s{k}" for k, names in enumerate(STEPS, 1) for e in names}
    new_names = sorted({step_of.get(c, c) for c in cats})
    lut = np.array([new_names.index(step_of.get(c, c)) for c in cats], dtype=np.int32)
    codes = lut[ev.cat.codes.to_numpy()]
    df["event"] = pd.Categorical.from_codes(codes, categories=new_names)
    stream = rete.Eventstream(df)
    out = stream.funnel_data(steps=[f"s{k}" for k in range(1, len(STEPS) + 1)])
    return [int(s["unique_paths"]) for s in out["steps"]]
