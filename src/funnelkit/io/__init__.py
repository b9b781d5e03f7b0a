"""Input and validation: every event log becomes one normalized frame.

``read.py`` reads pandas, Arrow, polars, Parquet and CSV sources (:func:`read_events`);
``normalize.py`` validates and normalizes their columns (user ids, UTC nanosecond
timestamps, categorical events, properties kept exact), with ``columns.py`` (column
mapping and checks), ``_ids.py`` (user ids, events), ``_times.py`` (timestamps) and
``_names.py`` (canonical names, constants); together they hold every message about
bad input.
"""

from .read import SUPPORTED_SUFFIXES, read_events

__all__ = ["SUPPORTED_SUFFIXES", "read_events"]
