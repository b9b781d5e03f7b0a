"""What the command line writes: frames with durations as numbers, the input's column names (private)."""

from __future__ import annotations

from pathlib import Path
from collections.abc import Callable
from typing import Any, TextIO

import pandas as pd

from ..errors import ParameterError

__all__ = ["OUTPUT_SUFFIXES", "input_names", "original_names", "seconds_columns", "write_frame"]

#: File endings the command line writes frames to.
OUTPUT_SUFFIXES = (".parquet", ".csv", ".pq")


def seconds_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Durations as numbers with their unit in the name: ``median_time_from_previous`` ->
    ``median_time_from_previous_s`` (float seconds; empty where there is none).

    Parameters
    ----------
    frame : pandas.DataFrame
        A result table.

    Returns
    -------
    pandas.DataFrame
        A copy whose timedelta columns are float seconds named ``<column>_s``, in place.

    Examples
    --------
    >>> df = pd.DataFrame({"step": ["a", "b"], "median": pd.to_timedelta([None, "90s"])})
    >>> seconds_columns(df)
      step  median_s
    0    a       NaN
    1    b      90.0
    """
    out = {}
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_timedelta64_dtype(s.dtype):
            out[f"{col}_s"] = s.dt.total_seconds()
        else:
            out[col] = s
    return pd.DataFrame(out, index=frame.index)


def original_names(frame: pd.DataFrame, mapping: dict[str, Any]) -> pd.DataFrame:
    """``frame`` with the normalized names (``user_id``, ``timestamp``, ``event``) renamed back.

    ``mapping`` is ``{normalized name: the input's name}``, from what
    :func:`funnelkit.read_events` recorded in ``df.attrs`` when it did (see
    :func:`input_names`) or from the command's ``--user-col``/``--time-col``/``--event-col``.
    """
    ren = {k: v for k, v in mapping.items() if k in frame.columns and k != v}
    clash = [v for v in ren.values() if v in frame.columns and v not in ren]
    if clash:  # pragma: no cover - read_events refuses such logs
        raise ParameterError(f"Cannot write the column(s) {clash} back: the output already has them.")
    return frame.rename(columns=ren)


def input_names(frame: pd.DataFrame, fallback: dict[str, Any]) -> dict[str, Any]:
    """The input's own names of the normalized columns.

    Taken from what :func:`funnelkit.read_events` recorded in ``frame.attrs`` (a
    ``{normalized: original}`` mapping under ``funnelkit_columns``, when it records
    one), else ``fallback`` (the command's column flags).
    """
    for key in ("funnelkit_columns", "funnelkit_renamed", "funnelkit_original_columns"):
        got = frame.attrs.get(key)
        if isinstance(got, dict) and got:
            # either {normalized: original} or {original: normalized}
            if set(got) & {"user_id", "timestamp", "event"}:
                return {**fallback, **got}
            return {**fallback, **{v: k for k, v in got.items()}}
    return dict(fallback)


def write_frame(frame: pd.DataFrame, dest: Path | TextIO) -> None:
    """Write ``frame`` as Parquet or CSV (by the file's ending; a text stream gets CSV)."""
    frame = seconds_columns(frame)
    if not isinstance(dest, Path):
        frame.to_csv(dest, index=False)
        return
    if dest.name.lower().endswith(".csv"):
        frame.to_csv(dest, index=False)
    else:
        frame.to_parquet(dest, index=False)


def emit(frame: pd.DataFrame, dest: Path | None, fmt: str | None, *,
         html: Callable[[], str] | None = None, text: Callable[[], str]) -> None:
    """A command's result: written to ``dest`` (``--out``, announced on stderr), or on
    stdout as CSV, the result's HTML (``--format html``), JSON records (``--format
    json``, durations in seconds) or ``text()`` (the default)."""
    import sys

    if dest is not None:
        write_frame(frame, dest)
        print(f"funnelkit: wrote {dest}", file=sys.stderr)
    elif fmt == "csv":
        write_frame(frame, sys.stdout)
    elif fmt == "html" and html is not None:
        sys.stdout.write(html() + "\n")
    elif fmt == "json":
        sys.stdout.write(seconds_columns(frame).to_json(orient="records", date_format="iso", force_ascii=False) + "\n")
    else:
        sys.stdout.write(text() + "\n")
