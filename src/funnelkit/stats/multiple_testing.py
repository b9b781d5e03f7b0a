"""Multiple comparisons: Holm and Benjamini–Hochberg adjusted p-values."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from .._params import check_choice
from ..errors import ParameterError
from ._core import as_numbers

__all__ = ["adjust_pvalues"]


def adjust_pvalues(p: Any, *, method: Literal["holm", "bh", "none"] = "holm") -> np.ndarray:
    r"""Adjust a family of p-values for multiple comparisons.

    With the m non-NaN p-values sorted, :math:`p_{(1)} \le \dots \le p_{(m)}`:

    * ``"holm"`` (default; controls the family-wise error rate, Holm 1979):
      :math:`\tilde p_{(i)} = \max_{j \le i} \min(1, (m - j + 1)\, p_{(j)})`.
    * ``"bh"`` (Benjamini–Hochberg 1995, controls the false discovery rate):
      :math:`\tilde p_{(i)} = \min_{j \ge i} \min(1, m\, p_{(j)} / j)`.
    * ``"none"``: a copy of ``p``.

    Both are the exact monotone step-down / step-up algorithms, equal to
    ``statsmodels.stats.multitest.multipletests(p, method="holm" / "fdr_bh")``.

    Parameters
    ----------
    p : array_like
        p-values in [0, 1], any shape (e.g. steps × variants: the whole array is one
        family). NaN entries (untestable comparisons) stay NaN and are not counted in m.
    method : {"holm", "bh", "none"}

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, same shape as ``p``.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, 0.03, 0.005, 0.55, 0.6])
    array([0.05, 0.12, 0.12, 0.03, 1.  , 1.  ])
    >>> adjust_pvalues([0.01, 0.04, np.nan, 0.03], method="bh")
    array([0.03, 0.04,  nan, 0.04])
    """
    method = check_choice(method, name="method", choices=("holm", "bh", "none"))
    if isinstance(p, str):
        raise ParameterError(f"`p` must be an array of p-values, not the string {p!r}.")
    arr = as_numbers(p, name="p", allow_nan=True)
    outside = (arr < 0) | (arr > 1)
    if np.any(outside):
        raise ParameterError(
            f"`p` holds {arr[outside].flat[0]!r}; p-values must lie in [0, 1] (NaN is allowed "
            "and marks an untestable comparison)."
        )
    if method == "none":
        return arr
    flat = arr.ravel()
    keep = ~np.isnan(flat)
    vals = flat[keep]
    m = vals.size
    res = np.full(flat.shape, np.nan)
    if m:
        order = np.argsort(vals, kind="stable")
        ranked = vals[order]
        i = np.arange(1, m + 1)
        if method == "holm":
            adj = np.maximum.accumulate(np.minimum((m - i + 1) * ranked, 1.0))
        else:
            adj = np.minimum.accumulate(np.minimum(m * ranked / i, 1.0)[::-1])[::-1]
        back = np.empty(m)
        back[order] = adj
        res[keep] = back
    return res.reshape(arr.shape)
