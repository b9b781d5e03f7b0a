"""Plots of funnelkit results (presentation only: nothing here computes an analysis).

Every function takes a result object, never the event log: compute the analysis
first (``fk.funnel``, ``fk.experiment``, ``fk.time_between``, ``fk.trend``,
``fk.journey_map``), then draw it (``result.plot()`` calls these).
Passing an event log raises :class:`~funnelkit.errors.ParameterError` naming the
call that makes the right result.

The functions follow the seaborn conventions: matplotlib is imported inside the
function (``import funnelkit`` stays light), the target Axes is ``ax=`` (a new
figure when omitted) and the Axes is returned. Labels come from the journey, in
English or Spanish (``lang=``, default: the journey's language); titles, axis labels
and number formats follow ``lang`` too (``56.6%`` / ``56,6 %``). Colours are the
Okabe–Ito palette (:data:`PALETTE`), which stays distinct for colour-blind readers.

==========================  =================  ===================================================================
function                    takes              shows
==========================  =================  ===================================================================
:func:`funnel_bars`         FunnelResult       units per step, conversion from entry, drop-off between steps
:func:`breakdown`           FunnelResult       conversion per touchpoint / channel (``funnel(..., by=)``)
:func:`variant_conversion`  ExperimentResult   share of exposed users reaching each step, per variant, with CIs
:func:`time_hist`           TimeBetweenResult  distribution of the time between consecutive steps
:func:`time_cumulative`     TimeBetweenResult  "converted within t": share of the previous step converted by t
:func:`conversion_trend`    TrendResult        conversion by entry period; incomplete windows and shifts flagged
:func:`journey_map`         JourneyMapResult   stages × touchpoints: reach, step conversion, frictions (DESIGN §7)
:func:`time_to_convert_hist` TimeToConvertResult histogram of the time to convert between two steps
:func:`flow`                PathsResult        flow (alluvial) diagram of the top paths
:func:`dropoff`             DropoffPathsResult what drop-outs did next, beside converters
:func:`transition_heatmap`  TransitionMatrix   next-token probabilities (or their difference between groups)
:func:`step_heatmap`        StepMatrixResult   share of units with each token at each position
:func:`frictions_chart`     FrictionsResult    strongest positive and negative associations with dropping out
:func:`retention_triangle`  RetentionResult    cohort × period heatmap, censored cells hatched
:func:`retention_curve`     RetentionResult    retention curve(s) with CI bands, by segment or variant
:func:`time_to_nth_curve`   LoyaltyResult      Kaplan–Meier curve of the time to the n-th occurrence
:func:`plot_result`         any of them        the dispatcher behind ``FunnelResult.plot`` & co.
==========================  =================  ===================================================================

``trend_table``, ``journey_map_table`` and ``JOURNEY_MAP_COLUMNS`` are analyses, kept
importable from here as before; they live in :mod:`funnelkit.analyses.trends` and
:mod:`funnelkit.analyses.journey_map`.
"""

from ..analyses.journey_map import JOURNEY_MAP_COLUMNS, journey_map_table
from ..analyses.trends import trend_table
from ._style import PALETTE
from .breakdown import breakdown
from .dispatch import plot_result
from .experiment import variant_conversion
from .funnel import funnel_bars
from .journey_map import journey_map
from .paths import dropoff, flow, frictions_chart, step_heatmap, transition_heatmap
from .retention import retention_curve, retention_triangle, time_to_nth_curve
from .timing import time_cumulative, time_hist, time_to_convert_hist
from .trend import conversion_trend

__all__ = [
    "JOURNEY_MAP_COLUMNS",
    "PALETTE",
    "breakdown",
    "conversion_trend",
    "dropoff",
    "flow",
    "frictions_chart",
    "funnel_bars",
    "journey_map",
    "journey_map_table",
    "plot_result",
    "retention_curve",
    "retention_triangle",
    "step_heatmap",
    "time_cumulative",
    "time_hist",
    "time_to_convert_hist",
    "time_to_nth_curve",
    "transition_heatmap",
    "trend_table",
    "variant_conversion",
]
