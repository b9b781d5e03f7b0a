"""funnelkit: clickstream funnel analytics.

Validate and sessionize event logs, assign events to customer-journey stages, and
compute drop-off, time between stages and A/B significance.

>>> import funnelkit as fk
>>> events = fk.load_sample("shop")                      # doctest: +SKIP
>>> res = fk.funnel(events, fk.datasets.shop_journey(), window="7D")  # doctest: +SKIP
"""

from . import datasets, errors, plotting, report, stats
from .analyses import (
    ExperimentResult,
    FunnelResult,
    JourneyMapResult,
    TimeBetweenResult,
    TrendResult,
    experiment,
    funnel,
    journey_map,
    session_summary,
    sessionize,
    time_between,
    trend,
    trends,
)
from .datasets import load_sample
from .io import read_events
from .journey import Journey, Rule, Stage, after, repeat

__version__ = "0.1.0.dev0"

__all__ = [
    "ExperimentResult",
    "FunnelResult",
    "Journey",
    "JourneyMapResult",
    "Rule",
    "Stage",
    "TimeBetweenResult",
    "TrendResult",
    "after",
    "datasets",
    "errors",
    "experiment",
    "funnel",
    "journey_map",
    "load_sample",
    "plotting",
    "read_events",
    "repeat",
    "report",
    "session_summary",
    "sessionize",
    "stats",
    "time_between",
    "trend",
    "trends",
]
