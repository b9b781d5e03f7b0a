"""funnelkit: clickstream funnel analytics.

Validate and sessionize event logs, assign events to customer-journey stages, and
compute drop-off, time between stages and A/B significance.

>>> import funnelkit as fk
>>> events = fk.load_sample("shop")                      # doctest: +SKIP
>>> res = fk.funnel(events, fk.datasets.shop_journey(), window="7D")  # doctest: +SKIP
"""

from . import datasets, errors, plotting, report, stats, trends
from .datasets import load_sample
from .experiment import ExperimentResult, experiment
from .funnel import FunnelResult, funnel
from .io import read_events
from .journey_map import JourneyMapResult, journey_map
from .sessions import session_summary, sessionize
from .stages import Journey, Rule, Stage, after, repeat
from .timing import TimeBetweenResult, time_between
from .trends import TrendResult, trend

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
