r"""Association in 2×2 tables of counts: odds ratio with CI, Fisher's exact and χ² tests.

The frictions analysis (:func:`funnelkit.frictions`) asks, per candidate (an event or
a property value), whether the units that saw it converted more or less often than
those that did not. Each candidate is a 2×2 table of unit counts::

                  converted   dropped
    with              a          b
    without           c          d

* Odds ratio :math:`OR = ad / (bc)`; its CI is Woolf's (log scale),
  :math:`\exp(\ln OR \pm z_{1-\alpha/2}\sqrt{1/a + 1/b + 1/c + 1/d})`. When a cell is
  zero, the zero cells are taken as 0.5 first (a Haldane-type correction), exactly as
  ``statsmodels.stats.contingency_tables.Table2x2(..., shift_zeros=True)`` does.
* p-value (two-sided): Fisher's exact test when the smallest expected count is below
  5 (Cochran's rule), else Pearson's χ² with one degree of freedom and Yates'
  continuity correction — ``scipy.stats.fisher_exact`` and
  ``scipy.stats.chi2_contingency`` (its default ``correction=True``).

These are associations between counts: they say nothing about what causes what.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._lazy import lazy_module
from ..errors import ParameterError
from ._core import as_numbers, check_alpha

special = lazy_module("scipy.special")

__all__ = ["AssociationTest", "association_test", "chi2_pvalue", "fisher_pvalue", "odds_ratio"]

Test = Literal["auto", "fisher", "chi2"]


def _cells(a: Any, b: Any, c: Any, d: Any) -> tuple[np.ndarray, ...]:
    arrs = []
    for v, nm in ((a, "a"), (b, "b"), (c, "c"), (d, "d")):
        x = as_numbers(v, name=nm)
        if np.any(x < 0) or np.any(x != np.round(x)):
            bad = x[(x < 0) | (x != np.round(x))].flat[0]
            raise ParameterError(f"`{nm}` holds {bad!r}; cells of a 2×2 table are counts (non-negative integers).")
        arrs.append(x)
    return tuple(np.broadcast_arrays(*arrs))


def odds_ratio(a: Any, b: Any, c: Any, d: Any, *, alpha: float = 0.05,
               shift_zeros: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Odds ratio ``ad/(bc)`` and Woolf's CI, vectorized over tables.

    Examples
    --------
    >>> [round(float(x), 4) for x in np.ravel(odds_ratio(10, 5, 20, 40))]
    [4.0, 1.2045, 13.2835]
    """
    alpha = check_alpha(alpha)
    a, b, c, d = (x.astype(float) for x in _cells(a, b, c, d))
    if shift_zeros:
        z = (a == 0) | (b == 0) | (c == 0) | (d == 0)
        a, b, c, d = (np.where(z & (x == 0), 0.5, x) for x in (a, b, c, d))
    with np.errstate(divide="ignore", invalid="ignore"):
        orr = (a * d) / (b * c)
        se = np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
        q = float(special.ndtri(1 - alpha / 2))
        lo = np.exp(np.log(orr) - q * se)
        hi = np.exp(np.log(orr) + q * se)
    return orr, lo, hi


def chi2_pvalue(a: Any, b: Any, c: Any, d: Any, *, correction: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Pearson's χ² (1 df; Yates-corrected by default) and its p-value, vectorized.

    NaN where a row or column of the table is empty (nothing to compare).

    Examples
    --------
    >>> [round(float(x), 6) for x in chi2_pvalue(10, 5, 20, 40)]
    [4.253472, 0.03917]
    """
    a, b, c, d = (x.astype(float) for x in _cells(a, b, c, d))
    n = a + b + c + d
    r1, r2, c1, c2 = a + b, c + d, a + c, b + d
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.zeros_like(n)
        for o, r, k in ((a, r1, c1), (b, r1, c2), (c, r2, c1), (d, r2, c2)):
            e = r * k / n
            dev = np.abs(o - e)
            if correction:
                dev = np.maximum(dev - 0.5, 0.0)
            stat = stat + dev ** 2 / e
        empty = (r1 == 0) | (r2 == 0) | (c1 == 0) | (c2 == 0)
        stat = np.where(empty, np.nan, stat)
        p = special.chdtrc(1, stat)
    return stat, p


def fisher_pvalue(a: Any, b: Any, c: Any, d: Any) -> np.ndarray:
    """Two-sided p-value of Fisher's exact test (as ``scipy.stats.fisher_exact``): the
    total probability, under the hypergeometric law of the table with its margins, of
    tables no more likely than the one observed (relative tolerance 1e-7).

    Examples
    --------
    >>> round(float(fisher_pvalue(8, 2, 1, 5)), 6)
    0.034965
    """
    a, b, c, d = _cells(a, b, c, d)
    shape = a.shape
    a, b, c, d = (np.ravel(x).astype(np.int64) for x in (a, b, c, d))
    out = np.empty(len(a))
    for i in range(len(a)):  # one small support per table (a loop over candidates, not units)
        r1, r2, c1 = a[i] + b[i], c[i] + d[i], a[i] + c[i]
        n = r1 + r2
        lo, hi = max(0, c1 - r2), min(r1, c1)
        x = np.arange(lo, hi + 1)
        logp = (special.gammaln(r1 + 1) + special.gammaln(r2 + 1) + special.gammaln(c1 + 1)
                + special.gammaln(n - c1 + 1) - special.gammaln(n + 1) - special.gammaln(x + 1)
                - special.gammaln(r1 - x + 1) - special.gammaln(c1 - x + 1) - special.gammaln(r2 - c1 + x + 1))
        pr = np.exp(logp - logp.max())
        obs = pr[a[i] - lo]
        out[i] = min(1.0, pr[pr <= obs * (1 + 1e-7)].sum() / pr.sum())
    return out.reshape(shape)


@dataclass(frozen=True)
class AssociationTest:
    """Per 2×2 table: counts, odds ratio with CI, p-value and the test that gave it."""

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    d: np.ndarray
    odds_ratio: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    p_value: np.ndarray
    test: np.ndarray
    alpha: float

    def to_frame(self) -> pd.DataFrame:
        """One row per table."""
        return pd.DataFrame({
            "a": np.ravel(self.a), "b": np.ravel(self.b), "c": np.ravel(self.c), "d": np.ravel(self.d),
            "odds_ratio": np.ravel(self.odds_ratio), "ci_low": np.ravel(self.ci_low),
            "ci_high": np.ravel(self.ci_high), "p_value": np.ravel(self.p_value), "test": np.ravel(self.test),
        })


def association_test(a: Any, b: Any, c: Any, d: Any, *, alpha: float = 0.05, test: Test = "auto",
                     correction: bool = True) -> AssociationTest:
    """Odds ratio, CI and p-value of each 2×2 table ``[[a, b], [c, d]]``.

    ``test="auto"`` uses Fisher's exact test when the smallest expected count is
    below 5, else χ² (Yates-corrected unless ``correction=False``).

    Examples
    --------
    >>> r = association_test([10, 8], [5, 2], [20, 1], [40, 5])
    >>> r.test.tolist(), [round(float(p), 6) for p in r.p_value]
    (['chi2', 'fisher'], [0.03917, 0.034965])
    """
    from .._params import check_choice

    test = check_choice(test, name="test", choices=("auto", "fisher", "chi2"))  # type: ignore[assignment]
    a, b, c, d = _cells(a, b, c, d)
    orr, lo, hi = odds_ratio(a, b, c, d, alpha=alpha)
    n = a + b + c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        emin = np.min(np.stack([(a + b) * (a + c), (a + b) * (b + d), (c + d) * (a + c), (c + d) * (b + d)]), axis=0) / n
    use_f = np.broadcast_to(test == "fisher", a.shape) if test != "auto" else ~(emin >= 5)
    p = np.full(a.shape, np.nan)
    if np.any(~use_f):
        p = np.where(use_f, p, chi2_pvalue(a, b, c, d, correction=correction)[1])
    if np.any(use_f):
        f = np.full(a.shape, np.nan)
        f[use_f] = fisher_pvalue(a[use_f], b[use_f], c[use_f], d[use_f])
        p = np.where(use_f, f, p)
    return AssociationTest(a=a, b=b, c=c, d=d, odds_ratio=orr, ci_low=lo, ci_high=hi, p_value=p,
                           test=np.where(use_f, "fisher", "chi2"), alpha=float(alpha))
