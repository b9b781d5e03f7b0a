"""The analyses: each turns the engine's merged partial results into a tidy result object.

``funnel`` (FunnelResult), ``timing`` (time between steps, time to convert), ``trends``
(conversion by entry period), ``experiment`` and ``metrics`` (A/B comparison, per-user
metrics), ``sessions`` (sessionize), ``journey_map`` (stages by touchpoints), ``paths``
(top paths, drop-off paths, transition and step matrices), ``frictions`` (what goes with
dropping out) and ``retention`` (cohort retention, loyalty). Presentation (:mod:`funnelkit.plotting`,
:mod:`funnelkit.report`) takes their results and never recomputes them.
"""

from . import trends
from .experiment import ExperimentResult, experiment
from .frictions import FrictionsResult, frictions
from .funnel import FunnelResult, funnel
from .journey_map import JourneyMapResult, journey_map
from .metrics import Metric, parse_metric_spec
from .paths import (DropoffPathsResult, PathsResult, StepMatrixResult, TransitionMatrixResult, dropoff_paths, paths,
                    step_matrix, transition_matrix)
from .retention import LoyaltyResult, RetentionResult, loyalty, retention
from .sessions import session_summary, sessionize
from .timing import TimeBetweenResult, TimeToConvertResult, time_between, time_to_convert
from .trends import TrendResult, trend

__all__ = [
    "DropoffPathsResult", "ExperimentResult", "FrictionsResult", "FunnelResult", "JourneyMapResult", "LoyaltyResult",
    "Metric", "PathsResult", "RetentionResult", "StepMatrixResult", "TimeBetweenResult", "TimeToConvertResult",
    "TransitionMatrixResult", "TrendResult",
    "dropoff_paths", "experiment", "frictions", "funnel", "journey_map", "loyalty", "parse_metric_spec", "paths",
    "retention", "session_summary", "sessionize", "step_matrix", "time_between", "time_to_convert",
    "transition_matrix", "trend", "trends",
]
