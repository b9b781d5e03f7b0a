"""Each user's first exposure: the time of their first event that carries a variant value.

An experiment's analysis range (``start``/``end`` of :func:`funnelkit.experiment`) bounds
*first exposure*: a user belongs to the experiment when their first exposed event falls
within ``[start, end)``, so every denominator counts only the users exposed by then. The
same times start each user's metric window (:mod:`funnelkit.analyses.metrics`) and end
their pre-exposure period (CUPED).

Computed on the normalized event log with one vectorized group-by (no loop over users).
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from ..io._names import TIME, USER

__all__ = ["first_exposure", "in_range"]


def first_exposure(ev: pd.DataFrame, variant_col: str) -> pd.Series:
    """Time (int64 ns since the epoch) of each user's first event with a variant value.

    Parameters
    ----------
    ev : DataFrame
        A normalized event log (:func:`funnelkit.io.normalize.ensure_events`).
    variant_col : str
        The column holding the variant.

    Returns
    -------
    Series
        int64 ns, indexed by ``user_id`` (users without any variant value are absent).

    Examples
    --------
    >>> import pandas as pd
    >>> from funnelkit.io.normalize import ensure_events
    >>> ev = ensure_events(pd.DataFrame({"user_id": [1, 1, 2], "event": ["a", "b", "a"],
    ...     "timestamp": pd.to_datetime(["2024-01-02", "2024-01-01", "2024-01-05"], utc=True),
    ...     "variant": [None, "A", "B"]}))
    >>> pd.to_datetime(first_exposure(ev, "variant"), utc=True).dt.strftime("%m-%d").to_dict()
    {1: '01-01', 2: '01-05'}
    """
    has = ev[variant_col].notna().to_numpy()
    t = ev[TIME].to_numpy(dtype="datetime64[ns]").view(np.int64)[has]
    u = ev[USER].to_numpy()[has] if not isinstance(ev[USER].dtype, pd.CategoricalDtype) else \
        ev[USER].cat.codes.to_numpy()[has]
    s = pd.Series(t).groupby(u, sort=True).min()
    if isinstance(ev[USER].dtype, pd.CategoricalDtype):
        s.index = ev[USER].cat.categories[s.index.to_numpy()]
    s.index.name = USER
    return s.astype(np.int64)


def in_range(first_ns: pd.Series, index: pd.Index, start_ns: int | None, end_ns: int | None) -> np.ndarray:
    """Whether each user of ``index`` was first exposed within ``[start_ns, end_ns)``
    (users never exposed: False)."""
    missing = np.iinfo(np.int64).min
    t = first_ns.reindex(index, fill_value=missing).to_numpy(dtype=np.int64)
    ok = t != missing
    if start_ns is not None:
        ok &= t >= start_ns
    if end_ns is not None:
        ok &= t < end_ns
    return ok
