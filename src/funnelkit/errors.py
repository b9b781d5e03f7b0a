"""Exceptions and warnings raised by funnelkit.

Every problem funnelkit detects in its input is reported with one of the
classes below, so ``except funnelkit.errors.FunnelkitError`` catches them all.
Each message names what is wrong (the column, the parameter or the stage), shows
an offending value where there is one, and says how to fix it.

Most classes also derive from the matching built-in exception (``ValueError``,
``TypeError``), so code written against the built-ins keeps working.
"""

from __future__ import annotations

__all__ = [
    "FunnelkitError",
    "EventLogError",
    "MissingColumnError",
    "NullValuesError",
    "TimestampError",
    "TimezoneError",
    "EmptyEventLogError",
    "ColumnTypeError",
    "EventSourceError",
    "ParameterError",
    "JourneyError",
    "UnknownStageError",
    "UnknownEventError",
    "OverlappingRulesError",
    "FunnelkitWarning",
    "DroppedRowsWarning",
    "StatisticsWarning",
]


class FunnelkitError(Exception):
    """Base class of every exception raised by funnelkit."""


# --- the event log --------------------------------------------------------


class EventLogError(FunnelkitError, ValueError):
    """The event log cannot be used as given (base class)."""


class MissingColumnError(EventLogError):
    """A required column is absent from the event log."""


class NullValuesError(EventLogError):
    """A required column holds nulls (missing user ids, timestamps or events)."""


class TimestampError(EventLogError):
    """Timestamps cannot be parsed, or their unit is ambiguous."""


class TimezoneError(TimestampError):
    """Timestamps are naive and no ``tz=`` was given, or time zones conflict."""


class EmptyEventLogError(EventLogError):
    """The event log has no rows (or none left after filtering)."""


class ColumnTypeError(EventLogError, TypeError):
    """A column, or the input object itself, has a type funnelkit cannot use."""


class EventSourceError(EventLogError, FileNotFoundError):
    """The file or directory to read events from does not exist or holds no event files."""


# --- parameters and journeys ------------------------------------------------


class ParameterError(FunnelkitError, ValueError):
    """A parameter has an invalid value (a window, a mode, a duration...)."""


class JourneyError(FunnelkitError, ValueError):
    """A journey or a list of funnel steps is invalid (base class)."""


class UnknownStageError(JourneyError):
    """A stage name is not part of the journey (often a typo)."""


class UnknownEventError(JourneyError):
    """An event name does not occur in the event log (often a typo)."""


class OverlappingRulesError(JourneyError):
    """One event matches the rules of more than one stage."""


# --- warnings -----------------------------------------------------------------


class FunnelkitWarning(UserWarning):
    """Base class of every warning issued by funnelkit."""


class DroppedRowsWarning(FunnelkitWarning):
    """Rows were dropped on purpose (e.g. ``dropna=True``); the count and reason are given."""


class StatisticsWarning(FunnelkitWarning):
    """A statistic is undefined or unreliable for the data at hand (e.g. a zero control rate)."""


class DuplicateEventsWarning(FunnelkitWarning):
    """The event log holds exact duplicate rows (same user, time, event and properties),
    which count as separate events; ``read_events(..., dedupe=True)`` drops them."""


__all__.append("DuplicateEventsWarning")
