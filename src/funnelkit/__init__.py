"""funnelkit: clickstream and customer-journey analytics.

Validate and sessionize event logs, assign events to customer-journey stages, and
compute funnels, drop-off, time between stages, trends, paths, frictions, retention
and A/B significance.

>>> import funnelkit as fk
>>> events = fk.load_sample("shop")                      # doctest: +SKIP
>>> res = fk.funnel(events, fk.datasets.shop_journey(), window="7D")  # doctest: +SKIP
"""

from . import datasets, errors, plotting, report, stats
from .analyses import (
    DropoffPathsResult,
    ExperimentResult,
    FrictionsResult,
    FunnelResult,
    JourneyMapResult,
    LoyaltyResult,
    Metric,
    PathsResult,
    RetentionResult,
    StepMatrixResult,
    TimeBetweenResult,
    TimeToConvertResult,
    TransitionMatrixResult,
    TrendResult,
    dropoff_paths,
    experiment,
    frictions,
    funnel,
    journey_map,
    loyalty,
    paths,
    retention,
    session_summary,
    sessionize,
    step_matrix,
    time_between,
    time_to_convert,
    transition_matrix,
    trend,
    trends,
)
from .datasets import load_sample
from .io import read_events
from .journey import Journey, OptionalStep, Rule, Stage, after, optional, repeat

__version__ = "0.1.0.dev0"

__all__ = [
    "DropoffPathsResult",
    "ExperimentResult",
    "FrictionsResult",
    "FunnelResult",
    "Journey",
    "JourneyMapResult",
    "LoyaltyResult",
    "Metric",
    "OptionalStep",
    "PathsResult",
    "RetentionResult",
    "Rule",
    "Stage",
    "StepMatrixResult",
    "TimeBetweenResult",
    "TimeToConvertResult",
    "TransitionMatrixResult",
    "TrendResult",
    "after",
    "datasets",
    "dropoff_paths",
    "errors",
    "experiment",
    "frictions",
    "funnel",
    "journey_map",
    "load_sample",
    "loyalty",
    "optional",
    "paths",
    "plotting",
    "read_events",
    "repeat",
    "report",
    "retention",
    "session_summary",
    "sessionize",
    "stats",
    "step_matrix",
    "time_between",
    "time_to_convert",
    "transition_matrix",
    "trend",
    "trends",
]
