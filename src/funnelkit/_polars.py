"""Results as polars frames (private): the one conversion behind every ``.to_polars()``.

A result's tidy pandas frame goes to polars through Arrow: ``pyarrow.Table.from_pandas``
then ``polars.from_arrow``. Numeric and datetime columns without nulls are not copied on
either step (the polars column reads the pandas column's memory); strings, categoricals
(which become ``pl.Categorical``) and columns with nulls are converted once. Durations stay
durations (``pl.Duration``), tz-aware timestamps keep their zone. A meaningful index (the
unit ids of ``res.units``) becomes the first column; a default ``RangeIndex`` is dropped.

polars is optional: without it, :func:`to_polars` raises
:class:`MissingDependencyError` saying how to install it.
"""

from __future__ import annotations

import importlib
from typing import Any

import pandas as pd

from .errors import ColumnTypeError, FunnelkitError

__all__ = ["MissingDependencyError", "PolarsMixin", "to_polars"]


class MissingDependencyError(FunnelkitError, ImportError):
    """An optional dependency (here polars) is needed and not installed."""


def _polars() -> Any:
    try:
        return importlib.import_module("polars")
    except ImportError:
        raise MissingDependencyError(
            "to_polars() needs polars, which is not installed. Fix: pip install polars "
            "(or use .to_frame() / .table for pandas)."
        ) from None


def _frame_of(obj: Any) -> pd.DataFrame:
    if isinstance(obj, pd.DataFrame):
        return obj
    if isinstance(obj, pd.Series):
        return obj.to_frame()
    to_frame = getattr(obj, "to_frame", None)
    if callable(to_frame):
        got = to_frame()
        if isinstance(got, pd.DataFrame):
            return got
    raise ColumnTypeError(
        f"to_polars() takes a pandas DataFrame or a funnelkit result with .to_frame(), not a "
        f"{type(obj).__name__}."
    )


def to_polars(obj: Any, *, index: bool | None = None) -> Any:
    """A polars DataFrame of a result's frame, without copying where Arrow allows.

    Parameters
    ----------
    obj : pandas.DataFrame or result
        A tidy frame (``res.table``, ``res.units``...) or a result object with
        ``to_frame()``.
    index : bool, optional
        Keep the index as the first column. Default: when it is not a default
        ``RangeIndex`` (``res.units`` is indexed by unit id; ``res.table`` is not).

    Returns
    -------
    polars.DataFrame

    Raises
    ------
    MissingDependencyError
        polars is not installed.
    ColumnTypeError
        ``obj`` is not a frame, or a column cannot be represented in Arrow (mixed
        Python objects); the message names the column.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"step": ["a", "b"], "units": [10, 4],
    ...                    "median": pd.to_timedelta(["0s", "90s"])})
    >>> out = to_polars(df)                                  # doctest: +SKIP
    >>> out.schema                                            # doctest: +SKIP
    Schema([('step', String), ('units', Int64), ('median', Duration(time_unit='ns'))])
    """
    pl = _polars()
    import pyarrow as pa

    frame = _frame_of(obj)
    keep = index if index is not None else not (
        isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0 and frame.index.step == 1
        and frame.index.name is None)
    if keep:
        names = [n if n is not None else ("index" if frame.index.nlevels == 1 else f"level_{i}")
                 for i, n in enumerate(frame.index.names)]
        clash = [n for n in names if n in frame.columns]
        if clash:
            raise ColumnTypeError(f"to_polars(): the index name(s) {clash} are also column names; pass index=False "
                                  "or rename the index.")
        frame = frame.rename_axis(names).reset_index()
    bad = [c for c in frame.columns if not isinstance(c, str)]
    if bad:
        frame = frame.rename(columns={c: str(c) for c in bad})
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as exc:
        col = next((c for c in frame.columns if _fails(frame[c])), None)
        where = f" column {col!r}" if col is not None else ""
        raise ColumnTypeError(f"to_polars(): the{where or ' frame'} cannot be converted to Arrow: {exc}. Fix: give "
                              "the column one type (e.g. .astype(str)).") from None
    table = table.replace_schema_metadata(None)  # pandas' metadata means nothing to polars
    return pl.from_arrow(table, rechunk=False)


def _fails(s: pd.Series) -> bool:
    import pyarrow as pa

    try:
        pa.Array.from_pandas(s)
    except Exception:
        return True
    return False


class PolarsMixin:
    """``.to_polars()`` for result objects: their ``to_frame()`` (or another frame) in polars."""

    def to_polars(self, frame: str | None = None, *, index: bool | None = None) -> Any:
        """The result's tidy table as a polars DataFrame, without a copy where Arrow allows.

        Parameters
        ----------
        frame : str, optional
            The name of another frame of the result (``"units"``, ``"breakdown"``,
            ``"curve"``...); default: the table ``to_frame()`` gives.
        index : bool, optional
            As for :func:`funnelkit._polars.to_polars` (default: keep a meaningful index,
            such as the unit ids of ``units``).

        Returns
        -------
        polars.DataFrame
        """
        if frame is None:
            return to_polars(self, index=index)
        got = getattr(self, frame, None)
        if not isinstance(got, pd.DataFrame):
            from .errors import ParameterError

            names = sorted(k for k, v in vars(self).items() if isinstance(v, pd.DataFrame))
            raise ParameterError(f"`frame`={frame!r} is not a table of this {type(self).__name__}; "
                                 f"its tables: {', '.join(names)}.")
        return to_polars(got, index=index)
