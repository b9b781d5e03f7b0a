"""What the plotting functions accept: result objects, never event logs.

Plotting draws what an analysis computed (DESIGN §2: analyses → results →
presentation). Handing a plotting function the event log itself, or another
kind of result, fails at once with a message that says which call makes the
result it needs.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import ParameterError

#: How to make each result, for the messages.
MAKES: dict[str, str] = {
    "FunnelResult": "fk.funnel(events, journey)",
    "ExperimentResult": "fk.experiment(events, journey, variant_col='variant', control='A')",
    "TimeBetweenResult": "fk.time_between(fk.funnel(events, journey))",
    "TrendResult": "fk.trends.trend(events, journey)",
    "JourneyMapResult": "journey_map(events, journey, touchpoint='channel')",
    "TimeToConvertResult": "fk.time_to_convert(fk.funnel(events, journey), from_step=1)",
    "PathsResult": "fk.paths(events, length=5)",
    "DropoffPathsResult": "fk.dropoff_paths(events, fk.funnel(events, journey), step=2)",
    "TransitionMatrixResult": "fk.transition_matrix(events)",
    "StepMatrixResult": "fk.step_matrix(events)",
    "FrictionsResult": "fk.frictions(events, fk.funnel(events, journey), step=2)",
    "RetentionResult": "fk.retention(events, period='W')",
    "LoyaltyResult": "fk.loyalty(events, event='purchase')",
}

_DATA_LIBRARIES = ("pandas", "polars", "pyarrow", "dask", "numpy", "modin")


def is_data(obj: Any) -> bool:
    """Whether ``obj`` looks like an event log (a frame, an array, a table or a path) rather than a result.

    >>> import pandas as pd
    >>> is_data(pd.DataFrame()), is_data("events.parquet"), is_data(object())
    (True, True, False)
    """
    if isinstance(obj, (str, bytes, os.PathLike)):
        return True
    return type(obj).__module__.split(".")[0] in _DATA_LIBRARIES


def kind_of(obj: Any) -> str | None:
    """The name of the funnelkit result class ``obj`` is (or derives from), else ``None``."""
    for cls in type(obj).__mro__:
        if cls.__name__ in MAKES:
            return cls.__name__
    return None


def require(obj: Any, kind: str, *, func: str, make: str | None = None, who: str = "plotting functions") -> None:
    """Raise :class:`~funnelkit.errors.ParameterError` unless ``obj`` is a ``kind`` result.

    ``make`` is the call that makes the result (default: :data:`MAKES`\\[kind]); ``who``
    names the functions in the message ("plotting functions", "reports").

    >>> import pandas as pd
    >>> require(pd.DataFrame(), "TrendResult", func="conversion_trend")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    funnelkit.errors.ParameterError: conversion_trend() takes a TrendResult, not a DataFrame: pass ...
    """
    if kind_of(obj) == kind:
        return
    how = make or MAKES[kind]
    want, got = _a(kind), _a(type(obj).__name__)
    if is_data(obj):
        raise ParameterError(f"{func}() takes {want}, not {got}: pass {how} — {who} take results, not event logs.")
    raise ParameterError(f"{func}() takes {want} (from {how}), not {got}.")


def _a(name: str) -> str:
    """``name`` with its indefinite article: ``a TrendResult``, ``an ExperimentResult``."""
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"
