"""Frictions: the events and property values that go with dropping out at a funnel step
(PostHog's correlation analysis; DESIGN §7, semantics in ``docs/paths.md``).

For the units of a funnel that reached step k, each *candidate* (an event name, or a
``column=value`` of a property) splits them into those that saw it and those that did
not, within the observation range of each unit: from its step-1 event to its step-k+1
event (excluded) if it converted, to the funnel's deadline (included) if it dropped
out. The 2×2 table of (saw, did not see) × (converted, dropped) gives an odds ratio
with a CI and a p-value (:mod:`funnelkit.stats.association`), adjusted by
Benjamini–Hochberg over the candidates.

This is association, not cause: a help-page visit that goes with dropping out may be
a symptom of the friction, not the friction itself.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._polars import PolarsMixin

from ..errors import MissingColumnError, ParameterError

__all__ = ["FRICTIONS_COLUMNS", "FrictionsResult", "frictions"]

#: Columns of :attr:`FrictionsResult.table`, in order.
FRICTIONS_COLUMNS: tuple[str, ...] = (
    "rank", "candidate", "kind", "column", "value",
    "converted_with", "dropped_with", "converted_without", "dropped_without",
    "units_with", "units_total", "conversion_rate_with", "conversion_rate_without",
    "odds_ratio", "ci_low", "ci_high", "p_value", "test", "p_adjusted", "significant", "direction",
)


@dataclass(frozen=True)
class FrictionsResult(PolarsMixin):
    """The result of :func:`frictions`.

    Attributes
    ----------
    table : DataFrame
        One row per candidate with the columns of :data:`FRICTIONS_COLUMNS`, ranked by
        ``p_adjusted`` (then the size of the log odds ratio, then the candidate):
        the four cells (``converted_with``, ``dropped_with``, ``converted_without``,
        ``dropped_without``: units), ``units_with`` and ``units_total`` (units that
        reached the step), the conversion rate to the next step with and without the
        candidate, ``odds_ratio`` (of converting, with vs without; > 1: goes with
        converting, ``direction="positive"``; < 1: goes with dropping out,
        ``"negative"``) with ``ci_low``/``ci_high``, ``p_value`` and its ``test``
        (``"fisher"`` or ``"chi2"``), ``p_adjusted`` (Benjamini–Hochberg over the
        table's candidates) and ``significant`` (``p_adjusted < alpha``).
    params : dict
        Step, next step, properties, ``alpha``, ``min_units``, the funnel's window and unit,
        and ``candidates_left_out`` (seen by fewer than ``min_units`` units or by all).
    """

    table: pd.DataFrame
    params: dict[str, Any]

    def to_frame(self) -> pd.DataFrame:
        """The ranked table (a copy)."""
        return self.table.copy()

    def strongest(self, n: int = 5) -> pd.DataFrame:
        """The ``n`` strongest significant signals of each direction (by log odds ratio)."""
        t = self.table[self.table["significant"]]
        lor = np.log(t["odds_ratio"].astype(float))
        pos = t.loc[lor.sort_values(ascending=False, kind="stable").index].head(n)
        neg = t.loc[lor.sort_values(ascending=True, kind="stable").index].head(n)
        return pd.concat([pos[pos["odds_ratio"] > 1], neg[neg["odds_ratio"] < 1]], ignore_index=True)

    def plot(self, *, ax: Any = None, **kwargs: Any):
        """The strongest positive and negative signals (:func:`funnelkit.plotting.paths.frictions_chart`)."""
        from ..plotting.paths import frictions_chart

        return frictions_chart(self, ax=ax, **kwargs)

    def _repr_html_(self) -> str:
        p = self.params
        cap = html.escape(f"Frictions at step {p['step']!r} → {p['next_step']!r} (association, not cause)")
        shown = self.table.head(30).copy()
        body = shown.to_html(index=False, escape=True, border=0)
        return f"<div class='funnelkit-result'><p><b>{cap}</b></p>{body}</div>"


def frictions(
    events: Any,
    result: Any,
    *,
    step: int | str,
    properties: Sequence[str] = (),
    min_units: int = 5,
    alpha: float = 0.05,
    until: Literal["conversion", "deadline"] = "conversion",
    session_col: str = "session_id",
    memory_budget: int | str | None = None,
    tmp_dir: Any = None,
) -> FrictionsResult:
    """Events and property values associated with converting from ``step`` to the next one.

    Parameters
    ----------
    events : the funnel's event log
    result : FunnelResult
        ``fk.funnel(events, ...)`` (its window, unit and per-unit step times are used).
    step : int (1-based) or str
        A step with a next step.
    properties : sequence of str
        Property columns whose values are candidates too (``"channel"`` gives
        ``channel=ads``, ...; null values are not candidates). One extra pass over the
        log per property after the first.
    min_units : int, default 5
        Candidates seen by fewer units (or by every unit) are left out of the table and
        of the Benjamini–Hochberg family.
    alpha : float, default 0.05
    until : {"conversion", "deadline"}, default "conversion"
        Where a converter's observation range ends: at its step-k+1 event, excluded
        (PostHog; events after converting never count), or at the deadline like the
        units that dropped out (then post-conversion events count too). With
        ``"conversion"`` dropped units are observed longer, so an event that tends to
        happen late (after the time converters convert) leans negative; with
        ``"deadline"``, events caused by converting lean positive. See ``docs/paths.md``.
    session_col : str, default "session_id"
        The session column, for a funnel with ``unit="session"``.
    memory_budget, tmp_dir : optional
        As for :func:`funnelkit.paths`: spill beyond this many bytes for a Parquet path, and
        where (checked before any work).

    Returns
    -------
    FrictionsResult

    Examples
    --------
    >>> import pandas as pd, funnelkit as fk
    >>> from funnelkit.analyses.frictions import frictions
    >>> rows = []
    >>> for u in range(40):
    ...     rows += [(u, 0, "view"), (u, 1, "help" if u % 2 else "scroll")]
    ...     if u % 2 == 0 or u % 10 == 1:
    ...         rows.append((u, 2, "buy"))
    >>> ev = pd.DataFrame(rows, columns=["user_id", "timestamp", "event"])
    >>> ev["timestamp"] = pd.to_datetime(ev["timestamp"], unit="m", utc=True)
    >>> res = fk.funnel(ev, ["view", "buy"], window="1h")
    >>> fr = frictions(ev, res, step=1)
    >>> fr.table[["candidate", "converted_with", "dropped_with", "direction", "test"]]
      candidate  converted_with  dropped_with direction  test
    0      help               4            16  negative  chi2
    1    scroll              20             0  positive  chi2
    """
    from ..engine.bucket_paths import PathSpec
    from ..engine.drive import DriveRequest
    from ..stats._core import check_alpha
    from ..stats.association import association_test
    from ..stats.multiple_testing import adjust_pvalues
    from ..io.columns import log_columns
    from .paths import _check_int, _drive, _funnel_groups, _memory_budget, _ns, _tmp_dir, _unit_col

    k, step_name, units, level = _funnel_groups(result, step, "frictions")
    if isinstance(properties, str):
        properties = [properties]
    props = list(properties)
    for c in props:
        if not isinstance(c, str):
            raise ParameterError(f"`properties` holds {c!r}; give column names, e.g. properties=['channel'].")
    cols = log_columns(events)
    if cols is not None:
        for c in props:
            if c not in cols:
                raise MissingColumnError(
                    f"properties= names {c!r}, which is not a column of the event log "
                    f"(columns: {', '.join(cols[:12])}). Drop it or fix the name."
                )
    min_units = _check_int(min_units, "min_units", 1)
    from .._params import check_choice

    until = check_choice(until, name="until", choices=("conversion", "deadline"))  # type: ignore[assignment]
    alpha = check_alpha(alpha)
    unit = result.params.get("unit", "user")
    unit_col = _unit_col(events, unit, session_col)
    budget = _memory_budget(events, memory_budget)
    tmp_dir = _tmp_dir(tmp_dir)
    reached = level >= k + 1
    idx = units.index[reached]
    conv = level[reached] >= k + 2
    grp = pd.Series(conv.astype(np.int64), index=idx)
    t1 = _ns(units[result.steps[0]])[reached]
    tk = _ns(units[step_name])[reached]
    tnext = _ns(units[result.steps[k + 1]])[reached]
    win = result.params.get("window")
    big = np.iinfo(np.int64).max
    if win is None:
        deadline = np.full(len(tk), big - 1)
    else:
        w = int(pd.Timedelta(win).value)
        deadline = (t1 if result.params.get("window_from", "entry") == "entry" else tk) + w
    hi = np.where(conv, tnext, deadline + 1) if until == "conversion" else deadline + 1
    spec = PathSpec(tokens="event", length=1, collapse=False, ranged=True, lo=pd.Series(t1, index=idx),
                    hi=pd.Series(hi, index=idx), lo_incl=True, hi_incl=False, group=grp, want=("frictions",))
    totals = np.bincount(conv.astype(np.int64), minlength=2)  # [dropped, converted]
    rows = []
    for i, prop in enumerate(props or [None]):
        needed = tuple(c for c in (unit_col if unit_col != "user_id" else None, prop) if c is not None)
        req = DriveRequest(unit_col=unit_col, events=True, attr_col=prop, needed=needed, memory_budget=budget,
                           tmp_dir=tmp_dir, progress=True, purpose="frictions")
        tables, ev_names, at_values, _ = _drive(events, req, spec)
        fk_, fv = tables.get("frictions", (np.zeros((0, 3), np.int64), np.zeros((0, 2), np.int64)))
        for kind in (0, 1):
            if kind == 0 and i > 0:
                continue
            m = fk_[:, 1] == kind
            codes = np.unique(fk_[m, 2])
            cnt = np.zeros((len(codes), 2), dtype=np.int64)
            for g in (0, 1):
                mg = m & (fk_[:, 0] == g)
                pos = np.searchsorted(codes, fk_[mg, 2])
                cnt[pos, g] = fv[mg, 1]
            names = ev_names if kind == 0 else at_values
            for code, (dw, cw) in zip(codes.tolist(), cnt.tolist()):
                val = names[code]
                rows.append(dict(candidate=str(val) if kind == 0 else f"{prop}={val}",
                                 kind="event" if kind == 0 else "property", column=None if kind == 0 else prop,
                                 value=val, converted_with=cw, dropped_with=dw))
    t = pd.DataFrame(rows, columns=["candidate", "kind", "column", "value", "converted_with", "dropped_with"])
    t["converted_with"] = t["converted_with"].astype(np.int64)
    t["dropped_with"] = t["dropped_with"].astype(np.int64)
    t["converted_without"] = int(totals[1]) - t["converted_with"]
    t["dropped_without"] = int(totals[0]) - t["dropped_with"]
    t["units_with"] = t["converted_with"] + t["dropped_with"]
    n_total = int(totals.sum())
    t["units_total"] = n_total
    keep = (t["units_with"] >= min_units) & (t["units_with"] < n_total)
    left_out = int((~keep).sum())
    t = t[keep].reset_index(drop=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        t["conversion_rate_with"] = t["converted_with"] / t["units_with"]
        t["conversion_rate_without"] = t["converted_without"] / (n_total - t["units_with"])
    if len(t):
        r = association_test(t["converted_with"].to_numpy(), t["dropped_with"].to_numpy(),
                             t["converted_without"].to_numpy(), t["dropped_without"].to_numpy(), alpha=alpha)
        t["odds_ratio"], t["ci_low"], t["ci_high"] = r.odds_ratio, r.ci_low, r.ci_high
        t["p_value"], t["test"] = r.p_value, r.test
        t["p_adjusted"] = adjust_pvalues(r.p_value, method="bh")
    else:
        for c in ("odds_ratio", "ci_low", "ci_high", "p_value", "p_adjusted"):
            t[c] = np.zeros(0)
        t["test"] = pd.Series([], dtype=object)
    t["significant"] = (t["p_adjusted"] < alpha).astype(bool)
    t["direction"] = np.where(t["odds_ratio"] > 1, "positive", np.where(t["odds_ratio"] < 1, "negative", "none"))
    lor = np.abs(np.log(t["odds_ratio"].astype(float)))
    order = np.lexsort((t["candidate"].to_numpy(dtype=str), -lor.to_numpy(), t["p_adjusted"].to_numpy()))
    t = t.iloc[order].reset_index(drop=True)
    t.insert(0, "rank", np.arange(1, len(t) + 1, dtype=np.int64))
    t = t[list(FRICTIONS_COLUMNS)]
    params = dict(step=step_name, step_number=k + 1, next_step=result.steps[k + 1], properties=props,
                  alpha=alpha, min_units=min_units, until=until, window=win, window_from=result.params.get("window_from", "entry"),
                  unit=unit, candidates_left_out=left_out, units_converted=int(totals[1]),
                  units_dropped=int(totals[0]))
    return FrictionsResult(table=t, params=params)
