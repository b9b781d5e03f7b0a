"""The engine on a Dask cluster (private): shuffle on the unit, the same driver per partition.

A ``dask.dataframe.DataFrame`` is not a second implementation. Its columns are checked
and its event names collected (one reduction, so typos fail before any shuffle); the
data is shuffled on the unit column so that every unit's rows sit in one partition;
each partition is then normalized by the io layer and run through
:func:`funnelkit.engine.run.run_funnel` on its worker (the engine's one driver,
:func:`funnelkit.engine.drive.drive`, with the same sources, plan, buckets and bucket
function as in memory), and the per-unit partials are merged.
Results do not depend on the input's row order (ties are broken by value), so they
equal the in-memory ones whatever order the shuffle leaves.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import numpy as np
import pandas as pd

from ..io import _ids
from ..io import _names
from ..io import columns as _columns
from ..io import normalize as _schema
from ..errors import EmptyEventLogError, ParameterError
from .run import FunnelPartial, FunnelRequest, merge, run_funnel, where_columns
from .sources import _check_columns

__all__ = ["is_dask_frame", "run_funnel_dask"]


def is_dask_frame(obj: Any) -> bool:
    """Whether ``obj`` is a ``dask.dataframe.DataFrame`` (without importing dask)."""
    mod = sys.modules.get("dask.dataframe")
    return mod is not None and isinstance(obj, mod.DataFrame)


def _partition(pdf: pd.DataFrame, req: FunnelRequest) -> FunnelPartial | None:
    if len(pdf) == 0:
        return None
    frame = _schema.ensure_events(pdf.reset_index(drop=True))
    return run_funnel(frame, req)


def run_funnel_dask(ddf: Any, req: FunnelRequest) -> FunnelPartial:
    """The funnel of a Dask DataFrame with the canonical columns (see the module docstring)."""
    try:
        import dask
    except ImportError:  # pragma: no cover - a Dask frame implies dask
        raise ParameterError("Dask is not installed: pip install 'funnelkit[dask]'.") from None
    from ..journey.steps import symbol_table

    cols = list(ddf.columns)
    _columns.resolve_columns(cols)  # the in-memory MissingColumnError for user_id / timestamp / event
    syms = symbol_table(req.spec, [], req.exclude, check_events=False)
    # the same messages as for a frame or a file (sources._check_columns)
    _check_columns(cols, unit_col=req.unit_col, attr_col=req.attr_col,
                   props=where_columns(req.spec.journey, syms.exclude_rules), attr_purpose=req.attr_purpose)
    raw = dask.compute(ddf[_names.EVENT].dropna().unique())[0]
    raw = pd.Series(np.asarray(raw, dtype=object))
    if len(raw) == 0:
        raise EmptyEventLogError("The event log is empty: there is nothing to compute a funnel on.")
    names = sorted(_ids._convert_event(raw, name=_names.EVENT, pos=None).cat.categories.tolist())
    if req.check_events:
        req.spec.journey.check_events(names, on_unknown=req.on_unknown)
    symbol_table(req.spec, names, req.exclude, check_events=req.check_events, on_unknown=req.on_unknown)
    local = dataclasses.replace(req, check_events=False, memory_budget=None, progress=False)
    shuffled = ddf.shuffle(req.unit_col)
    jobs = [dask.delayed(_partition)(d, local) for d in shuffled.to_delayed()]
    parts = [p for p in dask.compute(*jobs) if p is not None]
    if not parts:
        raise EmptyEventLogError("The event log is empty: there is nothing to compute a funnel on.")
    return merge(parts)
