"""The analyses: each turns the engine's merged partial results into a tidy result object.

``funnel`` (FunnelResult), ``timing`` (time between steps), ``trends`` (conversion by
entry period), ``experiment`` (A/B comparison), ``sessions`` (sessionize), and
``journey_map`` (stages by touchpoints). Presentation (:mod:`funnelkit.plotting`,
:mod:`funnelkit.report`) takes their results and never recomputes them.
"""

from . import trends
from .experiment import ExperimentResult, experiment
from .funnel import FunnelResult, funnel
from .journey_map import JourneyMapResult, journey_map
from .sessions import session_summary, sessionize
from .timing import TimeBetweenResult, time_between
from .trends import TrendResult, trend

__all__ = [
    "ExperimentResult", "FunnelResult", "JourneyMapResult", "TimeBetweenResult", "TrendResult",
    "experiment", "funnel", "journey_map", "session_summary", "sessionize", "time_between", "trend", "trends",
]
