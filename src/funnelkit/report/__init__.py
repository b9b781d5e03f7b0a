"""Self-contained HTML reports (presentation only: nothing here computes an analysis).

- :func:`funnel_report` writes one page for a :class:`~funnelkit.FunnelResult`: the
  design, the step table, the funnel bars, the time between stages and, when given,
  the conversion trend (``trend=``, a :class:`~funnelkit.TrendResult`) and
  the journey map (``journey_map=``, a :class:`~funnelkit.JourneyMapResult`).
- :func:`experiment_report` writes the "test and optimize" page of an
  :class:`~funnelkit.ExperimentResult`: design, health banners, the per-step table
  with CIs, lifts, adjusted p-values and chance to beat control, the figures, a
  plain-language conclusion per step (:func:`experiment_conclusions`) and the power
  table; ``trend=`` and ``journey_map=`` as above.

Each page is one file: figures are embedded as base64 PNG, the CSS is inline and
nothing refers to an external URL, so it can be mailed, archived or opened offline.
It is responsive (tables scroll sideways on a phone) and printable. Every string
that comes from the data or the user (event, step, variant and property names,
labels, titles) is HTML-escaped. Headings, sentences and number formats are in
English (``lang="en"``) or Spanish (``lang="es"``), with the journey's stage
labels in that language.
"""

from .conclusions import experiment_conclusions
from .experiment import experiment_report
from .funnel import funnel_report

__all__ = ["experiment_conclusions", "experiment_report", "funnel_report"]
