"""Journeys and their rules: stages with names, labels and the rules that select events.

``rules`` (inside ``stages.py``) select events by name, pattern or property
(``Rule``), by occurrence (``repeat``) or after a stage (``after``); ``stages.py`` holds
``Journey`` and its presets; ``steps.py`` resolves a funnel's steps from a journey or a
list of events, and its exclusions.
"""

from .rules import OptionalStep, optional
from .stages import PRESETS, AfterRule, Journey, RepeatRule, Rule, Stage, after, repeat

__all__ = ["PRESETS", "AfterRule", "Journey", "OptionalStep", "RepeatRule", "Rule", "Stage", "after", "optional",
           "repeat"]
