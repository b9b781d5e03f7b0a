"""Survival statistics on plain numbers: Kaplan–Meier with Greenwood intervals and the
log-rank test (time to the n-th purchase with censoring; DESIGN §7).

Both are vectorized numpy (one sort, a few cumulative sums); they reproduce
``lifelines.KaplanMeierFitter`` (estimate, exponential-Greenwood "log-log" interval,
median and its interval) and ``lifelines.statistics.multivariate_logrank_test`` /
``statsmodels.duration.survfunc.survdiff``, and ``scipy.stats.ecdf`` on
``scipy.stats.CensoredData`` (``method="log-log"``), as the tests check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._lazy import lazy_module
from ..errors import ParameterError
from ._core import check_alpha

stats = lazy_module("scipy.stats")
from . import _dist

__all__ = ["KM_COLUMNS", "KaplanMeier", "LogRankTest", "kaplan_meier", "logrank_test"]

#: Columns of :attr:`KaplanMeier.table`, in order.
KM_COLUMNS: tuple[str, ...] = ("time", "at_risk", "events", "censored", "survival", "ci_low", "ci_high")


def _check_durations(durations: Any, observed: Any) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(durations, dtype=float).ravel()
    if observed is None:
        e = np.ones(len(t), dtype=bool)
    else:
        raw = np.asarray(observed).ravel()
        if raw.shape != t.shape:
            raise ParameterError(
                f"`observed` has {raw.size} values but `durations` has {t.size}; give one flag per duration."
            )
        if raw.dtype != bool and not np.isin(raw, (0, 1)).all():
            bad = raw[~np.isin(raw, (0, 1))][0]
            raise ParameterError(
                f"`observed` must be booleans (True: the event happened, False: censored); got {bad!r}."
            )
        e = raw.astype(bool)
    if not np.isfinite(t).all() or (t < 0).any():
        bad = t[~np.isfinite(t) | (t < 0)][0]
        raise ParameterError(
            f"`durations` must be finite and >= 0; got {bad!r}. Drop or fix that unit's duration."
        )
    return t, e


@dataclass(frozen=True)
class KaplanMeier:
    """A Kaplan–Meier estimate: :func:`kaplan_meier`'s result.

    Attributes
    ----------
    table : DataFrame
        One row per distinct time (a first row at time 0), columns :data:`KM_COLUMNS`:
        ``at_risk`` (units whose duration is >= time), ``events``, ``censored``,
        ``survival`` S(t) and its interval ``ci_low`` / ``ci_high``.
    median, median_ci_low, median_ci_high : float
        The first time at which S (resp. the lower, upper band) is <= 0.5;
        ``inf`` when it never gets there.
    n, n_events : int
        Units and observed events.
    alpha : float
    """

    table: pd.DataFrame
    median: float
    median_ci_low: float
    median_ci_high: float
    n: int
    n_events: int
    alpha: float

    def to_frame(self) -> pd.DataFrame:
        """The table (a copy)."""
        return self.table.copy()

    def survival_at(self, times: Any) -> np.ndarray:
        """S(t) at the given times (a right-continuous step function)."""
        tt = np.asarray(times, dtype=float)
        idx = np.searchsorted(self.table["time"].to_numpy(), tt, side="right") - 1
        return self.table["survival"].to_numpy()[np.maximum(idx, 0)]

    def _repr_html_(self) -> str:
        return (f"<p><b>KaplanMeier</b>: n={self.n}, events={self.n_events}, median={self.median:g} "
                f"({self.median_ci_low:g}, {self.median_ci_high:g})</p>" + self.table.head(20).to_html(index=False))


def kaplan_meier(durations: Any, observed: Any = None, *, alpha: float = 0.05) -> KaplanMeier:
    r"""Kaplan–Meier estimate of the survival function with Greenwood intervals.

    Parameters
    ----------
    durations : array_like
        Time from the origin to the event, or to censoring, per unit (>= 0).
    observed : array_like of bool, optional
        True where the event happened, False where the unit was censored (default:
        every event observed).
    alpha : float, default 0.05
        Intervals have coverage ``1 - alpha``.

    Returns
    -------
    KaplanMeier

    Notes
    -----
    At each distinct time :math:`t_j` with :math:`n_j` units at risk and :math:`d_j`
    events, :math:`S(t) = \prod_{t_j \le t} (1 - d_j/n_j)`. The interval is the
    exponential-Greenwood ("log-log") one, as lifelines' ``KaplanMeierFitter`` and
    ``scipy.stats.ecdf(...).sf.confidence_interval(method="log-log")``:
    with :math:`V = \sum_{t_j\le t} d_j / (n_j (n_j - d_j))`,
    :math:`S^{\exp(\pm z \sqrt{V} / \log S)}`; it is (1, 1) before the first event and
    collapses to 0 where S reaches 0. The median is the first time with
    :math:`S \le 0.5` (lifelines' ``median_survival_time_``); its interval is where the
    bands cross 0.5 (lifelines' ``median_survival_times`` of the interval).

    Examples
    --------
    >>> km = kaplan_meier([1, 2, 2, 3, 5, 8], [True, True, False, True, False, True])
    >>> km.table[["time", "at_risk", "events", "survival"]].round(4)
       time  at_risk  events  survival
    0   0.0        6       0    1.0000
    1   1.0        6       1    0.8333
    2   2.0        5       1    0.6667
    3   3.0        3       1    0.4444
    4   5.0        2       0    0.4444
    5   8.0        1       1    0.0000
    >>> km.median
    3.0
    """
    alpha = check_alpha(alpha)
    t, e = _check_durations(durations, observed)
    n = len(t)
    if n == 0:
        tab = pd.DataFrame({"time": [0.0], "at_risk": [0], "events": [0], "censored": [0],
                            "survival": [1.0], "ci_low": [np.nan], "ci_high": [np.nan]})
        return KaplanMeier(tab, np.inf, np.inf, np.inf, 0, 0, alpha)
    times, inv = np.unique(t, return_inverse=True)
    d = np.bincount(inv, weights=e, minlength=len(times)).astype(np.int64)
    c = np.bincount(inv, minlength=len(times)).astype(np.int64) - d
    removed = d + c
    at_risk = n - np.concatenate(([0], np.cumsum(removed)[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.cumprod(1.0 - d / at_risk)
        gw = np.cumsum(np.where(d > 0, d / (at_risk * (at_risk - d)), 0.0))
        z = float(_dist.norm_ppf(1 - alpha / 2))
        logs = np.log(s)
        k = z * np.sqrt(gw) / logs
        low = s ** np.exp(-k)  # log S < 0, so exp(-k) > 1 and S ** ... is the lower band
        high = s ** np.exp(k)
    one = s >= 1.0
    low = np.where(one, 1.0, low)
    high = np.where(one, 1.0, high)
    zero = s <= 0.0
    low = np.where(zero, 0.0, low)
    high = np.where(zero, 0.0, high)
    if times[0] > 0:
        times = np.concatenate(([0.0], times))
        at_risk = np.concatenate(([n], at_risk))
        d, c = np.concatenate(([0], d)), np.concatenate(([0], c))
        s, low, high = (np.concatenate(([1.0], a)) for a in (s, low, high))
    tab = pd.DataFrame({"time": times, "at_risk": at_risk.astype(np.int64), "events": d, "censored": c,
                        "survival": s, "ci_low": low, "ci_high": high})

    def first_below(curve: np.ndarray) -> float:
        hit = np.flatnonzero(curve <= 0.5)
        return float(times[hit[0]]) if len(hit) else float("inf")

    return KaplanMeier(tab, first_below(s), first_below(low), first_below(high), n, int(e.sum()), alpha)


@dataclass(frozen=True)
class LogRankTest:
    """The log-rank test of equal survival across groups (:func:`logrank_test`).

    Attributes
    ----------
    table : DataFrame
        One row per group (sorted by value): ``group``, ``n``, ``observed`` events,
        ``expected`` events under H0.
    statistic : float
        The chi-squared statistic.
    dof : int
        Groups minus one.
    p_value : float
    """

    table: pd.DataFrame
    statistic: float
    dof: int
    p_value: float

    def to_frame(self) -> pd.DataFrame:
        """The per-group table with the test's statistic, dof and p-value on every row."""
        return self.table.assign(statistic=self.statistic, dof=self.dof, p_value=self.p_value)

    def _repr_html_(self) -> str:
        return (f"<p><b>LogRankTest</b>: chi2={self.statistic:.4g}, dof={self.dof}, p={self.p_value:.4g}</p>"
                + self.table.to_html(index=False))


def logrank_test(durations: Any, observed: Any, groups: Any) -> LogRankTest:
    r"""Log-rank (Mantel–Cox) test that all groups share one survival function.

    Parameters
    ----------
    durations, observed : array_like
        As for :func:`kaplan_meier`.
    groups : array_like
        The group of each unit (two or more distinct values).

    Returns
    -------
    LogRankTest

    Notes
    -----
    At each distinct event time with :math:`n_j` at risk and :math:`d_j` events, group
    g expects :math:`E_{gj} = d_j n_{gj}/n_j`; with :math:`O - E` summed over times and
    the hypergeometric covariance
    :math:`V_{gh} = \sum_j d_j (n_j - d_j)/(n_j - 1) \cdot (n_{gj}/n_j)(\delta_{gh} - n_{hj}/n_j)`,
    the statistic :math:`(O-E)^\top V^- (O-E)` is chi-squared with K - 1 degrees of
    freedom (the last group dropped). Equal to lifelines'
    ``multivariate_logrank_test`` (``logrank_test`` for two groups) and statsmodels'
    ``survdiff``.

    Examples
    --------
    >>> res = logrank_test([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 0, 1], ["a", "a", "b", "a", "b", "b"])
    >>> round(res.statistic, 4), res.dof, round(res.p_value, 4)
    (2.5567, 1, 0.1098)
    """
    t, e = _check_durations(durations, observed)
    g = np.asarray(groups).ravel()
    if len(g) != len(t):
        raise ParameterError(f"`groups` has {len(g)} values but `durations` has {len(t)}; give one per duration.")
    labels, gi = np.unique(g, return_inverse=True)
    k = len(labels)
    if k < 2:
        raise ParameterError(
            f"`groups` has {k} distinct value(s) ({list(labels)!r}); the log-rank test needs at least two."
        )
    times, ti = np.unique(t, return_inverse=True)
    m = len(times)
    dg = np.zeros((k, m))
    rg = np.zeros((k, m))
    np.add.at(dg, (gi, ti), e.astype(float))
    np.add.at(rg, (gi, ti), 1.0)
    # at risk per group at each time: units whose duration >= time
    ng = rg[:, ::-1].cumsum(axis=1)[:, ::-1]
    n = ng.sum(axis=0)
    d = dg.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(n > 0, ng / n, 0.0)
        exp_ = (frac * d).sum(axis=1)
        w = np.where(n > 1, d * (n - d) / (n - 1), 0.0)
    obs = dg.sum(axis=1)
    v = np.einsum("j,gj,hj->gh", w, frac, frac) * -1.0
    v[np.diag_indices(k)] += (w * frac).sum(axis=1)
    oe = (obs - exp_)[:-1]
    vv = v[:-1, :-1]
    stat = float(oe @ np.linalg.pinv(vv) @ oe)
    dof = k - 1
    p = float(_dist.chi2_sf(stat, dof))
    tab = pd.DataFrame({"group": labels, "n": np.bincount(gi, minlength=k).astype(np.int64),
                        "observed": obs, "expected": exp_})
    return LogRankTest(tab, stat, dof, p)
