"""Retention and loyalty: who comes back, when, and how a change moves it (DESIGN §7).

:func:`retention` builds cohort tables (N-period, unbounded and bracketed retention;
first or recurring start; fixed or calendar periods in a time zone), flags the cells
whose period has not fully elapsed by the end of the data, draws the overall curve
from complete cells only, and compares variants period by period (``compare=``).
:func:`loyalty` gives the repeat rate within a horizon and the time to the n-th
occurrence of an event (Kaplan–Meier with censoring, medians, log-rank test).

Both run on the engine (:func:`funnelkit.engine.drive.run_units`) with the bucket
functions of :mod:`funnelkit.engine.bucket_retention`: a frame, a Parquet file read
out of core (``memory_budget=``) and a Dask DataFrame go through the same code and
give the same numbers. The exact semantics are in ``docs/retention.md``.

Why ``compare=`` here rather than a metric of :func:`funnelkit.experiment`: retention
is a table over (cohort, period), not one number per user, and the cells that may be
tested depend on censoring, which only this analysis knows; keeping the comparison
beside the cohort table also keeps the one pass over the log (variants are read as
:func:`funnelkit.experiment` reads them: a unit seen with two values is left out and
counted).
"""

from __future__ import annotations

import functools
import html
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._polars import PolarsMixin

from .._params import check_choice, parse_bytes, parse_duration, parse_timestamp
from ..errors import FunnelkitWarning, ParameterError
from ..io import _names

__all__ = ["CURVE_COLUMNS", "LoyaltyResult", "RETENTION_COLUMNS", "RetentionResult", "loyalty", "retention"]

#: Columns of :attr:`RetentionResult.table` (``group`` only with ``by=``/``compare=``).
RETENTION_COLUMNS: tuple[str, ...] = ("cohort", "cohort_end", "period", "period_label", "group", "cohort_size",
                                      "retained", "rate", "ci_low", "ci_high", "complete")
#: Columns of :attr:`RetentionResult.curve` (``group`` only with ``by=``/``compare=``).
CURVE_COLUMNS: tuple[str, ...] = ("period", "period_label", "group", "cohorts", "cohort_size", "retained",
                                  "rate", "ci_low", "ci_high")
MISSING = "(missing)"
_CAL = ("h", "D", "W", "M")
_NAT = np.iinfo(np.int64).min
_DAY = 86_400_000_000_000

Kind = Literal["n_period", "unbounded", "bracket"]
Cohort = Literal["first", "recurring"]
Correction = Literal["holm", "bh", "none"]


# -------------------------------------------------------------------------------------
# results
# -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionResult(PolarsMixin):
    """The result of :func:`retention`.

    Attributes
    ----------
    table : DataFrame
        The cohort table, one row per (cohort, period[, group]) whose period has begun
        by ``params["observed_until"]``: columns :data:`RETENTION_COLUMNS`. ``rate`` is
        ``retained / cohort_size`` with its Wilson interval; ``complete`` is False where
        the period has not fully elapsed for every unit of the cohort (censored: the
        count can still grow, it is not a drop).
    curve : DataFrame
        The overall curve per period (and group): columns :data:`CURVE_COLUMNS`, summing
        only complete cells (``cohorts`` of them); NaN where no cell is complete.
    comparison : DataFrame or None
        With ``compare=``: per (period, variant) against the control, the Welch
        difference of the curve's rates with its interval, ``p_value`` and
        ``p_adjusted`` (``params["correction"]`` over every row).
    params : dict
        The parameters, ``observed_until``, ``data_start``/``data_end`` and the units
        left out (``excluded``).
    """

    table: pd.DataFrame
    curve: pd.DataFrame
    params: dict[str, Any]
    comparison: pd.DataFrame | None = None

    def to_frame(self) -> pd.DataFrame:
        """The cohort table (a copy)."""
        return self.table.copy()

    def plot(self, ax: Any = None, *, kind: Literal["triangle", "curve"] = "triangle", **kwargs: Any) -> Any:
        """Draw the retention triangle (default) or the curves; returns the Axes."""
        from ..plotting import retention as _plt

        kind = check_choice(kind, name="kind", choices=("triangle", "curve"))
        if kind == "triangle":
            return _plt.retention_triangle(self, ax=ax, **kwargs)
        return _plt.retention_curve(self, ax=ax, **kwargs)

    def _summary(self) -> str:
        p = self.params
        t = self.table
        n_coh = int(t["cohort"].nunique()) if len(t) else 0
        n_inc = int((~t["complete"]).sum()) if len(t) else 0
        return (f"RetentionResult(kind={p['kind']!r}, period={p['period']!r}, cohort={p['cohort']!r}, "
                f"{n_coh} cohorts, {len(t)} cells ({n_inc} censored))")

    def __repr__(self) -> str:
        return self._summary() + "\n" + self.curve.to_string(index=False, max_rows=12)

    def _repr_html_(self) -> str:
        cur = self.curve.copy()
        body = cur.to_html(index=False, border=0, max_rows=20, float_format=lambda v: f"{v:.4f}")
        return (f"<div class='funnelkit-result'><p><b>{html.escape(self._summary())}</b></p>{body}"
                "<p style='margin:2px 0;color:#555'>Curve from complete cells only; "
                "censored cells are flagged in <code>.table</code> (complete = False).</p></div>")


@dataclass(frozen=True)
class LoyaltyResult(PolarsMixin):
    """The result of :func:`loyalty`.

    Attributes
    ----------
    repeat : DataFrame
        Per group: ``buyers`` (units with a first occurrence), ``eligible`` (whose horizon
        had elapsed by ``observed_until``), ``repeaters`` (of the eligible, a second
        occurrence within the horizon), ``rate``, ``ci_low``, ``ci_high`` (Wilson).
    survival : DataFrame
        The Kaplan–Meier curve of the time to the n-th occurrence per group: ``group``,
        ``time_days``, ``at_risk``, ``events``, ``censored``, ``survival``, ``ci_low``,
        ``ci_high``.
    medians : DataFrame
        Per group: ``units``, ``events``, ``median_days`` and its interval (``inf``: the
        curve never reaches 0.5).
    logrank : LogRankTest or None
        The log-rank test across groups (two or more groups).
    comparison : DataFrame or None
        With ``compare=``: repeat rate per variant against the control (Welch, adjusted).
    params : dict
    """

    repeat: pd.DataFrame
    survival: pd.DataFrame
    medians: pd.DataFrame
    params: dict[str, Any]
    logrank: Any = None
    comparison: pd.DataFrame | None = None
    durations: pd.DataFrame = field(default=None, repr=False)  # type: ignore[assignment]

    @property
    def table(self) -> pd.DataFrame:
        """The repeat-rate table."""
        return self.repeat

    def to_frame(self) -> pd.DataFrame:
        """The repeat-rate table (a copy)."""
        return self.repeat.copy()

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Draw the Kaplan–Meier curve(s) of the time to the n-th occurrence; returns the Axes."""
        from ..plotting import retention as _plt

        return _plt.time_to_nth_curve(self, ax=ax, **kwargs)

    def _summary(self) -> str:
        p = self.params
        return f"LoyaltyResult(event={p['event']!r}, nth={p['nth']}, within={p['within']!s})"

    def __repr__(self) -> str:
        return self._summary() + "\n" + self.repeat.to_string(index=False) + "\n" + self.medians.to_string(index=False)

    def _repr_html_(self) -> str:
        lr = ""
        if self.logrank is not None:
            lr = (f"<p>Log-rank: chi2 = {self.logrank.statistic:.3f}, dof = {self.logrank.dof}, "
                  f"p = {self.logrank.p_value:.4g}</p>")
        return (f"<div class='funnelkit-result'><p><b>{html.escape(self._summary())}</b></p>"
                + self.repeat.to_html(index=False, border=0, float_format=lambda v: f"{v:.4f}")
                + self.medians.to_html(index=False, border=0, float_format=lambda v: f"{v:.3f}") + lr + "</div>")


# -------------------------------------------------------------------------------------
# parameter checks (all before any work)
# -------------------------------------------------------------------------------------


def _check_tz(tz: Any) -> str:
    if not isinstance(tz, str):
        raise ParameterError(f"`tz`={tz!r} is not a time zone name; use e.g. 'UTC' or 'Europe/Madrid'.")
    try:
        pd.Timestamp("2024-01-01").tz_localize(tz)
    except Exception:
        raise ParameterError(f"`tz`={tz!r} is not a time zone; use e.g. 'UTC' or 'Europe/Madrid'.") from None
    return tz


def _check_period(period: Any) -> tuple[str | None, int | None, str]:
    """(calendar unit or None, fixed ns or None, canonical text)."""
    if isinstance(period, str) and period.strip() in _CAL:
        return period.strip(), None, period.strip()
    if isinstance(period, str) and period.strip().lower() in ("d", "w", "m", "h"):
        p = period.strip()
        raise ParameterError(f"`period`={period!r}: calendar periods are 'h', 'D', 'W' or 'M' "
                             f"(did you mean {p.upper() if p != 'H' else 'h'!r}?); fixed durations are '1D', '7D'.")
    td = parse_duration(period, name="period")
    assert td is not None
    return None, int(td.value), str(period) if isinstance(period, str) else str(td)


def _check_rule(spec: Any, name: str, journey: Any) -> Any:
    """A stage spec for the small journey: a stage's rules, event name(s) or a rule."""
    from ..journey.rules import AfterRule, RepeatRule, Rule
    from ..journey.stages import Journey

    if spec is None:
        return None
    if journey is not None and not isinstance(journey, Journey):
        raise ParameterError(f"`journey` must be a funnelkit.Journey, not {type(journey).__name__}.")
    if isinstance(spec, str):
        if not spec:
            raise ParameterError(f"`{name}`='' is empty: give an event name, a stage name or a rule.")
        if journey is not None and spec in journey.names:
            return ("stage", spec)
        return spec
    if isinstance(spec, (Rule, RepeatRule, AfterRule)):
        return spec
    if isinstance(spec, Sequence) and spec and all(isinstance(s, (str, Rule, RepeatRule, AfterRule)) for s in spec):
        return list(spec)
    raise ParameterError(
        f"`{name}`={spec!r} is not an event, stage or rule: give an event name ('purchase'), a list of "
        "names, a rule (funnelkit.Rule / repeat / after) or, with journey=, a stage name."
    )


def _small_journey(start: Any, returning: Any, journey: Any) -> Any:
    """The journey whose stage ``start`` (bit 0) and ``return`` (next bit) the engine reads."""
    from ..journey.stages import Journey, Stage

    specs = [(n, s) for n, s in (("start", start), ("return", returning)) if s is not None]
    if not specs:
        return None
    base: list[Any] = list(journey._all_stages()) if journey is not None else []
    built: list[Any] = []
    for name, s in specs:
        if isinstance(s, tuple) and s[0] == "stage":
            st = journey[s[1]]
            built.append(Stage(f"__fk_{name}", st.rules, "", ""))
        else:
            tmp = Journey({f"__fk_{name}": s})
            built.append(tmp._all_stages()[0])
    # our stages first (bits 0, 1); the user's stages after them, so after(...) rules resolve
    return Journey(built + [b for b in base if b.name not in {x.name for x in built}])


def _check_common(unit: Any, session_col: Any, observed_until: Any, memory_budget: Any, alpha: Any,
                  by: Any, compare: Any) -> dict[str, Any]:
    from ..stats._core import check_alpha

    unit = check_choice(unit, name="unit", choices=("user", "session"))
    if unit == "session" and not isinstance(session_col, str):
        raise ParameterError(f"`session_col`={session_col!r} must name the session column (e.g. 'session_id').")
    if by is not None and compare is not None:
        raise ParameterError(
            f"`by`={by!r} and `compare`={compare!r} were both given; retention is compared across one "
            "column at a time: drop `by` (or run once per column)."
        )
    obs = None if observed_until is None else int(parse_timestamp(observed_until, name="observed_until").value)
    mb = None if memory_budget is None else parse_bytes(memory_budget, name="memory_budget")
    return {"unit": unit, "observed_until": obs, "memory_budget": mb, "alpha": check_alpha(alpha)}


def _check_control(events: Any, compare: Any, control: Any) -> None:
    if compare is None:
        if control is not None:
            raise ParameterError(f"`control`={control!r} needs `compare=` (the variant column).")
        return
    if isinstance(events, pd.DataFrame) and compare in events.columns and control is not None:
        vals = pd.unique(events[compare].dropna())
        if control not in set(vals.tolist()):
            raise ParameterError(
                f"`control`={control!r} is not a value of column {compare!r}; its values are "
                f"{sorted(map(str, vals))[:8]}. Pick one of them."
            )


# -------------------------------------------------------------------------------------
# running the engine and merging
# -------------------------------------------------------------------------------------


def _drive(events: Any, journey: Any, attr_col: Any, unit_col: str, needed: list[Any], mb: int | None,
           tmp_dir: Any, progress: bool, fn: Any, purpose: str, thin: Any = None) -> list[Any]:
    from ..engine.drive import DriveRequest, run_units

    req = DriveRequest(journey=journey, unit_col=unit_col, attr_col=attr_col, keep="all", needed=tuple(needed),
                       memory_budget=mb, tmp_dir=tmp_dir, progress=progress, purpose=purpose, thin=thin)
    return run_units(events, req, fn)


def _group_labels(parts: list[Any], attr_col: Any) -> tuple[list[str], list[np.ndarray]]:
    """Labels of the merged group codes (sorted by value, (missing) last) and per part the
    lookup from its codes (index -1: missing)."""
    if attr_col is None:
        return ["all"], [np.array([0, 0], dtype=np.int64) for _ in parts]
    from ..engine.drive import recode

    vals, luts = recode([p.attr_values for p in parts])
    labels = [str(v) for v in vals] + [MISSING]
    miss = len(vals)
    out = []
    for lut in luts:
        lut = lut.copy()
        lut[-1] = miss
        out.append(lut)
    return labels, out


def _observed(parts: list[Any], obs: int | None) -> tuple[int, int, int]:
    starts = [p.data_start for p in parts if p.data_start != _NAT]
    ends = [p.data_end for p in parts if p.data_end != _NAT]
    if not ends:
        from ..errors import EmptyEventLogError

        raise EmptyEventLogError("The event log is empty: there is nothing to compute on.")
    d0, d1 = min(starts), max(ends)
    return d0, d1, (d1 + 1 if obs is None else obs)


def _wilson(x: np.ndarray, n: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from ..stats.proportions import proportion_ci

    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    ok = n > 0
    rate = np.full(len(x), np.nan)
    lo = np.full(len(x), np.nan)
    hi = np.full(len(x), np.nan)
    if ok.any():
        rate[ok] = x[ok] / n[ok]
        low, high = proportion_ci(x[ok], n[ok], alpha=alpha, method="wilson")
        lo[ok], hi[ok] = low, high
    return rate, lo, hi


def retention(
    events: Any,
    *,
    start: Any = None,
    returning: Any = None,
    period: str | pd.Timedelta = "D",
    kind: Kind = "n_period",
    brackets: Sequence[tuple[int, int]] | None = None,
    cohort: Cohort = "first",
    cohort_period: Literal["h", "D", "W", "M"] | None = None,
    tz: str = "UTC",
    periods: int | None = None,
    by: Any = None,
    max_groups: int = 25,
    compare: Any = None,
    control: Any = None,
    correction: Correction = "holm",
    unit: Literal["user", "session"] = "user",
    session_col: str = "session_id",
    journey: Any = None,
    alpha: float = 0.05,
    observed_until: Any = None,
    memory_budget: int | str | None = None,
    tmp_dir: Any = None,
    progress: bool = False,
) -> RetentionResult:
    """Cohort retention: of the units that started in each cohort, how many returned in
    each later period.

    Parameters
    ----------
    events : DataFrame, path, Arrow/polars table or Dask DataFrame
        The event log (anything :func:`funnelkit.read_events` takes; Parquet paths are
        read out of core).
    start : event name, list of names, rule or stage name, optional
        What puts a unit in a cohort. Default: the unit's first event.
    returning : event name, list of names, rule or stage name, optional
        What counts as a return. Default: any event.
    period : {"h", "D", "W", "M"} or duration, default "D"
        Calendar periods in ``tz`` (hours, days, weeks from Monday, months; a DST day
        is 23 or 25 hours long), or a fixed duration (``"1D"``, ``"7D"``, ``"12h"``)
        counted from each unit's start time.
    kind : {"n_period", "unbounded", "bracket"}
        Returned in exactly period i (N-day), in period i or later (unbounded), or in any
        period of a bracket (``brackets=``).
    brackets : list of (first, last) period offsets, inclusive
        For ``kind="bracket"``: sorted, non-overlapping, e.g. ``[(0, 0), (1, 7), (8, 30)]``.
    cohort : {"first", "recurring"}
        A unit's cohort is the period of its first start, or every cohort period in
        which it starts (anchored at its first start there).
    cohort_period : {"h", "D", "W", "M"}, optional
        The calendar period that groups starts into cohorts. Default: ``period`` when it
        is calendar; for a fixed period, "D" below 7 days, "W" below 28 days, else "M".
    tz : str, default "UTC"
        Time zone of calendar periods and cohorts.
    periods : int, optional
        Keep offsets 0..periods (default: every offset whose period has begun).
    by : column, optional
        Breakdown by the unit's value at its cohort start (the anchor event; ties at one
        time broken by value); units without one go to ``"(missing)"``.
    max_groups : int, default 25
        With ``by=``: the groups with the most anchors are kept (ties by value;
        ``"(missing)"`` never displaces a real value), the rest summed as ``"Other"``.
    compare, control : column and value, optional
        Compare variants: each unit's variant is its value of ``compare`` (a unit seen
        with two values is left out and counted, as :func:`funnelkit.experiment`); every
        other variant is tested against ``control`` (default: the first by value), per
        period, on the curve of complete cells. Needs ``cohort="first"`` (units must be
        independent).
    correction : {"holm", "bh", "none"}
        Multiple-testing adjustment over every (period, variant) comparison.
    unit : {"user", "session"}
    session_col : str
        The session column with ``unit="session"``.
    journey : Journey, optional
        Lets ``start``/``returning`` name its stages (its ``after()`` rules resolve).
    alpha : float, default 0.05
    observed_until : time, optional
        The end of observation (exclusive); default: just after the latest event. A cell
        is complete when its period ends at or before it.
    memory_budget, tmp_dir, progress
        As for :func:`funnelkit.funnel`: spill beyond this many bytes.

    Returns
    -------
    RetentionResult

    Examples
    --------
    ``make_shop`` plants a weekly return (its truth 10: with ``weekly_return=0.25`` a
    user is active in the k-th 7-day week after its first visit with probability about
    0.31, 0.26, 0.25, ...); fixed 7-day periods from the first event find it:

    >>> from funnelkit.datasets import make_shop
    >>> from funnelkit.analyses.retention import retention
    >>> events = make_shop(5000, seed=1, weekly_return=0.25)
    >>> res = retention(events, period="7D", periods=3)
    >>> res.curve[["period", "cohort_size", "rate"]].round(3)
       period  cohort_size   rate
    0       0         4166  0.983
    1       1         3555  0.292
    2       2         2965  0.278
    3       3         2382  0.241
    >>> bool(res.table["complete"].iloc[-1])  # the last cohort's last period is not over: censored
    False
    """
    start_r = _check_rule(start, "start", journey)
    ret_r = _check_rule(returning, "returning", journey)
    cal, fixed_ns, period_text = _check_period(period)
    kind = check_choice(kind, name="kind", choices=("n_period", "unbounded", "bracket"))
    cohort = check_choice(cohort, name="cohort", choices=("first", "recurring"))
    tz = _check_tz(tz)
    correction = check_choice(correction, name="correction", choices=("holm", "bh", "none"))
    br: tuple[tuple[int, int], ...] = ()
    if kind == "bracket":
        br = _check_brackets(brackets)
    elif brackets is not None:
        raise ParameterError(f"`brackets`={brackets!r} needs kind='bracket' (kind is {kind!r}).")
    if cohort_period is None:
        if cal is not None:
            cohort_period = cal  # type: ignore[assignment]
        else:
            cohort_period = "D" if fixed_ns < 7 * _DAY else ("W" if fixed_ns < 28 * _DAY else "M")  # type: ignore[operator,assignment]
    cohort_period = check_choice(cohort_period, name="cohort_period", choices=_CAL)  # type: ignore[assignment]
    if periods is not None and (isinstance(periods, bool) or not isinstance(periods, (int, np.integer)) or periods < 0):
        raise ParameterError(f"`periods`={periods!r} must be a whole number >= 0 (the last offset kept), or None.")
    if isinstance(max_groups, bool) or not isinstance(max_groups, (int, np.integer)) or max_groups < 1:
        raise ParameterError(f"`max_groups`={max_groups!r} must be a whole number >= 1 (e.g. 25).")
    common = _check_common(unit, session_col, observed_until, memory_budget, alpha, by, compare)
    if compare is not None and cohort != "first":
        raise ParameterError(
            "`compare=` needs cohort='first': with recurring cohorts a unit counts in several cohorts, so the "
            "units of a period are not independent and the test would be wrong. Use cohort='first'."
        )
    _check_control(events, compare, control)
    sm = _small_journey(start_r, ret_r, journey)
    from ..engine.bucket_retention import RetentionSpec, run_retention, thin_window

    max_off = periods
    if kind == "bracket":
        max_off = br[-1][1]
    spec = RetentionSpec(kind=kind, cohort=cohort, period_ns=fixed_ns, period_cal=cal, cohort_cal=cohort_period,
                         tz=tz, brackets=br, max_offset=None if max_off is None else int(max_off),
                         has_start=start_r is not None, has_return=ret_r is not None,
                         group="anchor" if by is not None else ("unit" if compare is not None else "none"))
    attr_col = by if by is not None else compare
    unit_col = _names.USER if common["unit"] == "user" else session_col
    needed = [c for c in (attr_col, unit_col if common["unit"] == "session" else None) if c is not None]
    parts = _drive(events, sm, attr_col, unit_col, needed, common["memory_budget"], tmp_dir, progress,
                   functools.partial(run_retention, spec=spec),
                   f"by={by!r}" if by is not None else f"compare={compare!r}",
                   thin=functools.partial(thin_window, spec=spec))
    d0, d1, obs = _observed(parts, common["observed_until"])
    labels, luts = _group_labels(parts, attr_col)
    size, cells, trange, excluded = _merge_retention(parts, luts)
    if by is not None:
        size, cells, labels = _top_groups(size, cells, labels, int(max_groups))
    params = {"start": start, "returning": returning, "period": period_text, "kind": kind,
              "brackets": list(br) if br else None, "cohort": cohort, "cohort_period": cohort_period, "tz": tz,
              "periods": periods, "by": by, "max_groups": max_groups, "compare": compare, "control": control, "correction": correction,
              "unit": common["unit"], "alpha": common["alpha"], "observed_until": pd.Timestamp(obs, tz="UTC"),
              "data_start": pd.Timestamp(d0, tz="UTC"), "data_end": pd.Timestamp(d1, tz="UTC"),
              "excluded": excluded}
    if start is not None and int(size["n"].sum()) == 0:
        warnings.warn(f"`start`={start!r} matched no event of the log (check the name): every cohort is empty.",
                      FunnelkitWarning, stacklevel=2)
    table = _cohort_table(size, cells, trange, spec, labels, obs, common["alpha"], periods, grouped=attr_col is not None)
    curve = _curve(table, common["alpha"], grouped=attr_col is not None)
    comparison = None
    if compare is not None:
        if excluded["mixed"]:
            warnings.warn(f"{excluded['mixed']} unit(s) carry two or more values of {compare!r}: left out of "
                          "every cohort (params['excluded']).", FunnelkitWarning, stacklevel=2)
        comparison = _compare(curve, labels, control, correction, common["alpha"], compare)
    return RetentionResult(table=table, curve=curve, params=params, comparison=comparison)


def _check_brackets(brackets: Any) -> tuple[tuple[int, int], ...]:
    if brackets is None:
        raise ParameterError("kind='bracket' needs `brackets`, e.g. brackets=[(0, 0), (1, 7), (8, 30)] "
                             "(inclusive period offsets).")
    out: list[tuple[int, int]] = []
    try:
        items = list(brackets)
    except TypeError:
        raise ParameterError(f"`brackets`={brackets!r} must be a list of (first, last) offsets.") from None
    for b in items:
        ok = (isinstance(b, (tuple, list)) and len(b) == 2
              and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in b)
              and 0 <= b[0] <= b[1])
        if not ok:
            raise ParameterError(f"`brackets` entry {b!r} must be a pair (first, last) of offsets with "
                                 "0 <= first <= last, e.g. (1, 7).")
        out.append((int(b[0]), int(b[1])))
    if not out:
        raise ParameterError("`brackets` is empty; give at least one (first, last) pair.")
    for (a0, a1), (b0, b1) in zip(out, out[1:]):
        if b0 <= a1:
            raise ParameterError(f"`brackets` must be sorted and must not overlap: {(a0, a1)} then {(b0, b1)}.")
    return tuple(out)


def _merge_retention(parts: list[Any], luts: list[np.ndarray]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """Sum the buckets' (and partitions') counts; times by min/max. Arrays are gathered
    first and framed once (one small frame per bucket cost more than the sums)."""
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("sc", "sg", "sn", "cc", "cg", "co", "cn", "tc", "t0", "t1")}
    excluded = {"mixed": 0, "unexposed": 0}
    for p, lut in zip(parts, luts):
        for r in p.results:
            for k, a in zip(("sc", "sg", "sn"), r["size"]):
                cols[k].append(lut[a] if k == "sg" else a)
            for k, a in zip(("cc", "cg", "co", "cn"), r["cells"]):
                cols[k].append(lut[a] if k == "cg" else a)
            for k, a in zip(("tc", "t0", "t1"), r["trange"]):
                cols[k].append(a)
            for k in excluded:
                excluded[k] += r["excluded"][k]

    def cat(k: str) -> np.ndarray:
        return np.concatenate(cols[k]).astype(np.int64, copy=False) if cols[k] else np.zeros(0, np.int64)

    size = pd.DataFrame({"c": cat("sc"), "g": cat("sg"), "n": cat("sn")}).groupby(
        ["c", "g"], as_index=False)["n"].sum()
    cell = pd.DataFrame({"c": cat("cc"), "g": cat("cg"), "o": cat("co"), "n": cat("cn")}).groupby(
        ["c", "g", "o"], as_index=False)["n"].sum()
    tr = pd.DataFrame({"c": cat("tc"), "tmin": cat("t0"), "tmax": cat("t1")}).groupby(
        "c", as_index=False).agg(tmin=("tmin", "min"), tmax=("tmax", "max"))
    return size, cell, tr, excluded


def _top_groups(size: pd.DataFrame, cells: pd.DataFrame, labels: list[str],
                max_groups: int) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Keep the ``max_groups`` largest groups (anchors; ties by value), the rest as "Other"."""
    miss = len(labels) - 1  # the "(missing)" code
    tot = size.groupby("g")["n"].sum()
    real = tot[tot.index != miss]
    if len(real) <= max_groups:
        return size, cells, labels
    order = sorted(real.index, key=lambda g: (-int(real[g]), int(g)))
    kept = sorted(order[:max_groups])
    new_labels = [labels[g] for g in kept] + ["Other"] + [labels[miss]]
    lut = np.full(len(labels), len(kept), dtype=np.int64)  # everything else: "Other"
    lut[np.asarray(kept, dtype=np.int64)] = np.arange(len(kept))
    lut[miss] = len(kept) + 1
    size = size.assign(g=lut[size["g"].to_numpy()]).groupby(["c", "g"], as_index=False)["n"].sum()
    cells = cells.assign(g=lut[cells["g"].to_numpy()]).groupby(["c", "g", "o"], as_index=False)["n"].sum()
    return size, cells, new_labels


def _cohort_table(size: pd.DataFrame, cells: pd.DataFrame, tr: pd.DataFrame, spec: Any, labels: list[str],
                  obs: int, alpha: float, periods: int | None, *, grouped: bool) -> pd.DataFrame:
    from ..engine.bucket_retention import calendar_index, period_start_ns

    size = size[size["n"] > 0]
    tr = tr.set_index("c").loc[np.unique(size["c"].to_numpy())]
    coh = tr.index.to_numpy(dtype=np.int64)
    tmin, tmax = tr["tmin"].to_numpy(np.int64), tr["tmax"].to_numpy(np.int64)
    cal = spec.period_ns is None
    last_ns = np.int64(obs - 1)
    # number of offsets begun per cohort (offset i begun when its earliest unit's period i started)
    if cal:
        rp_min = calendar_index(tmin, spec.period_cal, spec.tz)
        rp_max = calendar_index(tmax, spec.period_cal, spec.tz)
        rp_obs = int(calendar_index(np.array([last_ns]), spec.period_cal, spec.tz)[0])
        n_begun = rp_obs - rp_min + 1
    else:
        n_begun = (last_ns - tmin) // spec.period_ns + 1
    n_begun = np.maximum(n_begun, 0)
    if spec.kind == "bracket":
        lows = np.array([b[0] for b in spec.brackets], dtype=np.int64)
        highs = np.array([b[1] for b in spec.brackets], dtype=np.int64)
        n_off = np.searchsorted(lows, n_begun, side="left")  # brackets whose first period began
    else:
        n_off = n_begun if periods is None else np.minimum(n_begun, periods + 1)
    # rows: every (cohort, group) with its offsets
    sz = size.merge(pd.DataFrame({"c": coh, "n_off": n_off, "ci": np.arange(len(coh))}), on="c")
    reps = sz["n_off"].to_numpy(np.int64)
    c_idx = np.repeat(sz["ci"].to_numpy(np.int64), reps)
    g = np.repeat(sz["g"].to_numpy(np.int64), reps)
    csize = np.repeat(sz["n"].to_numpy(np.int64), reps)
    first = np.repeat(np.cumsum(reps) - reps, reps)
    off = np.arange(int(reps.sum()), dtype=np.int64) - first
    # retained counts
    cnt = cells.copy()
    if spec.kind == "unbounded" and len(cnt):
        # counts are by each anchor's latest offset: retained at i = anchors whose latest >= i
        cnt = cnt.sort_values(["c", "g", "o"], ascending=[True, True, False])
        cnt["n"] = cnt.groupby(["c", "g"])["n"].cumsum()
        keys = pd.DataFrame({"c": coh[c_idx], "g": g, "o": off})
        m = pd.merge_asof(keys.sort_values("o").reset_index(), cnt.sort_values("o"), on="o", by=["c", "g"],
                          direction="forward")
        ret = np.zeros(len(keys), dtype=np.int64)
        ret[m["index"].to_numpy()] = m["n"].fillna(0).to_numpy(np.int64)
    else:
        keys = pd.DataFrame({"c": coh[c_idx], "g": g, "o": off})
        m = keys.merge(cnt, on=["c", "g", "o"], how="left")
        ret = m["n"].fillna(0).to_numpy(np.int64)
    # completeness
    hi_off = highs[off] if spec.kind == "bracket" else off
    if cal:
        end = period_start_ns(rp_max[c_idx] + hi_off + 1, spec.period_cal, spec.tz)
    else:
        end = tmax[c_idx] + (hi_off + 1) * spec.period_ns
    complete = end <= obs
    cstart = period_start_ns(coh, spec.cohort_cal, spec.tz)
    cend = period_start_ns(coh + 1, spec.cohort_cal, spec.tz)
    rate, lo, hi = _wilson(ret, csize, alpha)
    if spec.kind == "bracket":
        plabel = np.array([f"{a}" if a == b else f"{a}-{b}" for a, b in spec.brackets], dtype=object)[off]
    elif spec.kind == "unbounded":
        plabel = np.array([f"{i}+" for i in range(int(off.max()) + 1 if len(off) else 0)], dtype=object)[off]
    else:
        plabel = off.astype(str).astype(object)
    out = pd.DataFrame({
        "cohort": pd.DatetimeIndex(cstart[c_idx].view("datetime64[ns]")).tz_localize("UTC").tz_convert(spec.tz),
        "cohort_end": pd.DatetimeIndex(cend[c_idx].view("datetime64[ns]")).tz_localize("UTC").tz_convert(spec.tz),
        "period": off, "period_label": plabel, "group": np.asarray(labels, dtype=object)[g] if len(g) else [],
        "cohort_size": csize, "retained": ret, "rate": rate, "ci_low": lo, "ci_high": hi,
        "complete": complete.astype(bool),
    })
    out["_g"] = g
    out = out.sort_values(["cohort", "_g", "period"], kind="stable").drop(columns="_g").reset_index(drop=True)
    if not grouped:
        out = out.drop(columns="group")
    return out


def _curve(table: pd.DataFrame, alpha: float, *, grouped: bool) -> pd.DataFrame:
    keys = ["period", "period_label"] + (["group"] if grouped else [])
    t = table.assign(_cs=np.where(table["complete"], table["cohort_size"], 0),
                     _rt=np.where(table["complete"], table["retained"], 0),
                     _n=table["complete"].astype(np.int64))
    if grouped:
        order = {g: i for i, g in enumerate(pd.unique(table["group"]))}
        t = t.assign(_go=t["group"].map(order))
        keys_sort = ["period", "_go"]
    else:
        keys_sort = ["period"]
    agg = t.groupby(keys + (["_go"] if grouped else []), sort=False, as_index=False).agg(
        cohorts=("_n", "sum"), cohort_size=("_cs", "sum"), retained=("_rt", "sum"))
    agg = agg.sort_values(keys_sort).drop(columns=[c for c in ("_go",) if c in agg]).reset_index(drop=True)
    rate, lo, hi = _wilson(agg["retained"].to_numpy(), agg["cohort_size"].to_numpy(), alpha)
    agg["rate"], agg["ci_low"], agg["ci_high"] = rate, lo, hi
    cols = [c for c in CURVE_COLUMNS if grouped or c != "group"]
    return agg[cols].astype({"cohorts": np.int64, "cohort_size": np.int64, "retained": np.int64})


def _compare(curve: pd.DataFrame, labels: list[str], control: Any, correction: str, alpha: float,
             compare: Any) -> pd.DataFrame:
    from ..stats.differences import diff_test
    from ..stats.multiple_testing import adjust_pvalues

    variants = [g for g in pd.unique(curve["group"]) if g != MISSING]
    if control is None:
        if not variants:
            raise ParameterError(f"compare={compare!r}: no unit carries a value of that column.")
        ctrl = variants[0]
    else:
        ctrl = str(control)
        if ctrl not in variants:
            raise ParameterError(f"`control`={control!r} is not a value of {compare!r}; values: {variants[:8]}.")
    c = curve[curve["group"] == ctrl].set_index("period")
    rows = []
    for v in variants:
        if v == ctrl:
            continue
        t = curve[curve["group"] == v].set_index("period")
        per = c.index.intersection(t.index)
        rows.append(pd.DataFrame({
            "period": per.to_numpy(), "period_label": t.loc[per, "period_label"].to_numpy(), "variant": v,
            "control": ctrl, "cohort_size_control": c.loc[per, "cohort_size"].to_numpy(),
            "retained_control": c.loc[per, "retained"].to_numpy(), "rate_control": c.loc[per, "rate"].to_numpy(),
            "cohort_size": t.loc[per, "cohort_size"].to_numpy(), "retained": t.loc[per, "retained"].to_numpy(),
            "rate": t.loc[per, "rate"].to_numpy()}))
    cols = ["period", "period_label", "variant", "control", "cohort_size_control", "retained_control",
            "rate_control", "cohort_size", "retained", "rate", "abs_diff", "ci_low", "ci_high", "p_value",
            "p_adjusted"]
    if not rows:
        return pd.DataFrame(columns=cols)
    out = pd.concat(rows, ignore_index=True)
    ok = (out["cohort_size"] > 0) & (out["cohort_size_control"] > 0)
    for col in ("abs_diff", "ci_low", "ci_high", "p_value"):
        out[col] = np.nan
    if ok.any():
        s = out[ok]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d = diff_test(s["retained_control"].to_numpy(), s["cohort_size_control"].to_numpy(),
                          s["retained"].to_numpy(), s["cohort_size"].to_numpy(), alpha=alpha)
        out.loc[ok, "abs_diff"] = np.asarray(d.abs_diff)
        out.loc[ok, "ci_low"] = np.asarray(d.ci_low)
        out.loc[ok, "ci_high"] = np.asarray(d.ci_high)
        out.loc[ok, "p_value"] = np.asarray(d.p_value)
    out["p_adjusted"] = np.nan
    fin = out["p_value"].notna()
    if fin.any():
        out.loc[fin, "p_adjusted"] = adjust_pvalues(out.loc[fin, "p_value"].to_numpy(), method=correction)
    return out[cols]


# -------------------------------------------------------------------------------------
# loyalty
# -------------------------------------------------------------------------------------


def loyalty(
    events: Any,
    *,
    event: Any = "purchase",
    nth: int = 2,
    within: str | pd.Timedelta = "30D",
    origin: Literal["first_occurrence", "first_event"] = "first_occurrence",
    by: Any = None,
    compare: Any = None,
    control: Any = None,
    correction: Correction = "holm",
    unit: Literal["user", "session"] = "user",
    session_col: str = "session_id",
    journey: Any = None,
    alpha: float = 0.05,
    observed_until: Any = None,
    memory_budget: int | str | None = None,
    tmp_dir: Any = None,
    progress: bool = False,
) -> LoyaltyResult:
    """Repeat rate within a horizon and time to the n-th occurrence of an event.

    Parameters
    ----------
    events : DataFrame, path or Dask DataFrame
    event : event name, list of names, rule or stage name, default "purchase"
        The occurrence counted (a purchase).
    nth : int, default 2
        Time to the ``nth`` occurrence (2: the second purchase).
    within : duration, default "30D"
        Horizon of the repeat rate: a buyer repeats when its second occurrence comes at
        most ``within`` after its first. Buyers whose horizon has not elapsed by
        ``observed_until`` are not eligible (censored, counted in ``buyers``).
    origin : {"first_occurrence", "first_event"}
        Time zero of the time to the n-th occurrence: the first occurrence (units without
        one are not at risk; needs ``nth >= 2``), or the unit's first event.
    by, compare, control, correction
        Segment by the value at the first occurrence (``by``; units without an
        occurrence, at risk with ``origin="first_event"``, go to ``"(missing)"``), or by
        variant (``compare``, as :func:`retention`); a
        log-rank test across the groups, and with ``compare`` the repeat rate of each
        variant against the control (Welch, adjusted).
    unit, session_col, journey, alpha, observed_until, memory_budget, tmp_dir, progress
        As for :func:`retention`.

    Returns
    -------
    LoyaltyResult

    Notes
    -----
    A unit with fewer than ``nth`` occurrences is censored at ``observed_until`` (default
    just after the latest event): Kaplan–Meier
    (:func:`funnelkit.stats.survival.kaplan_meier`), durations in days.

    Examples
    --------
    >>> import funnelkit as fk
    >>> from funnelkit.analyses.retention import loyalty
    >>> res = loyalty(fk.load_sample("shop"), event="purchase", within="30D")
    >>> res.repeat[["buyers", "eligible", "repeaters"]]
       buyers  eligible  repeaters
    0    2810      1310        339
    """
    ev_r = _check_rule(event, "event", journey)
    if ev_r is None:
        raise ParameterError("`event` is required: give the event counted, e.g. event='purchase'.")
    if isinstance(nth, bool) or not isinstance(nth, (int, np.integer)) or nth < 1:
        raise ParameterError(f"`nth`={nth!r} must be a whole number >= 1 (2: the second occurrence).")
    origin = check_choice(origin, name="origin", choices=("first_occurrence", "first_event"))
    if origin == "first_occurrence" and nth < 2:
        raise ParameterError("`nth`=1 with origin='first_occurrence' measures nothing (time 0); use nth >= 2 "
                             "or origin='first_event'.")
    horizon = parse_duration(within, name="within")
    assert horizon is not None
    correction = check_choice(correction, name="correction", choices=("holm", "bh", "none"))
    common = _check_common(unit, session_col, observed_until, memory_budget, alpha, by, compare)
    _check_control(events, compare, control)
    sm = _small_journey(ev_r, None, journey)
    from ..engine.bucket_retention import LoyaltySpec, run_loyalty
    from ..stats.survival import kaplan_meier, logrank_test

    spec = LoyaltySpec(nth=int(nth), group="anchor" if by is not None else ("unit" if compare is not None else "none"))
    attr_col = by if by is not None else compare
    unit_col = _names.USER if common["unit"] == "user" else session_col
    needed = [c for c in (attr_col, unit_col if common["unit"] == "session" else None) if c is not None]
    parts = _drive(events, sm, attr_col, unit_col, needed, common["memory_budget"], tmp_dir, progress,
                   functools.partial(run_loyalty, spec=spec),
                   f"by={by!r}" if by is not None else f"compare={compare!r}")
    d0, d1, obs = _observed(parts, common["observed_until"])
    labels, luts = _group_labels(parts, attr_col)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("t0", "t1", "t2", "tn", "group")}
    mixed = 0
    for p, lut in zip(parts, luts):
        for r in p.results:
            for k in ("t0", "t1", "t2", "tn"):
                cols[k].append(r[k])
            gr = r["group"]
            if spec.group == "unit":
                mixed += int((gr == -2).sum())
                gr = np.where(gr >= 0, lut[np.maximum(gr, 0)], np.where(gr == -1, -1, -2))
            else:
                gr = lut[gr]
            cols["group"].append(gr)
    t0, t1, t2, tn, grp = (np.concatenate(cols[k]) if cols[k] else np.zeros(0, np.int64)
                           for k in ("t0", "t1", "t2", "tn", "group"))
    if spec.group == "unit":
        keep = grp >= 0  # variant known and unique
        t0, t1, t2, tn, grp = t0[keep], t1[keep], t2[keep], tn[keep], grp[keep]
    hz = int(horizon.value)
    buyer = (t1 != _NAT) & (t1 < obs)
    if not buyer.any():
        warnings.warn(f"`event`={event!r} matched no event of the log (check the name): there are no buyers.",
                      FunnelkitWarning, stacklevel=2)
    eligible = buyer & (t1 + hz <= obs)
    rep = eligible & (t2 != _NAT) & (t2 - t1 <= hz)
    order_g = np.unique(grp[buyer]) if spec.group != "none" else np.array([0])
    rows = []
    for gi in order_g:
        m = grp == gi
        rows.append((labels[gi], int((buyer & m).sum()), int((eligible & m).sum()), int((rep & m).sum())))
    repeat = pd.DataFrame(rows, columns=["group", "buyers", "eligible", "repeaters"])
    rate, lo, hi = _wilson(repeat["repeaters"].to_numpy(), repeat["eligible"].to_numpy(), common["alpha"])
    repeat["rate"], repeat["ci_low"], repeat["ci_high"] = rate, lo, hi
    # time to n-th
    o = t1 if origin == "first_occurrence" else t0
    at_risk = (o != _NAT) & (o < obs)
    happened = at_risk & (tn != _NAT) & (tn < obs)
    dur = np.where(happened, tn - o, obs - o)[at_risk] / _DAY
    obs_flag = happened[at_risk]
    g_r = grp[at_risk]
    surv, meds = [], []
    groups_r = np.unique(g_r) if spec.group != "none" else np.array([0])
    for gi in groups_r:
        m = g_r == gi if spec.group != "none" else np.ones(len(g_r), dtype=bool)
        km = kaplan_meier(dur[m], obs_flag[m], alpha=common["alpha"])
        surv.append(km.table.rename(columns={"time": "time_days"}).assign(group=labels[gi]))
        meds.append((labels[gi], km.n, km.n_events, km.median, km.median_ci_low, km.median_ci_high))
    survival = (pd.concat(surv, ignore_index=True) if surv else pd.DataFrame(columns=["time_days"]))
    survival = survival[["group"] + [c for c in survival.columns if c != "group"]] if len(survival) else survival
    medians = pd.DataFrame(meds, columns=["group", "units", "events", "median_days", "ci_low", "ci_high"])
    lr = None
    if spec.group != "none" and len(groups_r) >= 2:
        lr = logrank_test(dur, obs_flag, np.asarray(labels, dtype=object)[g_r])
    if spec.group == "none":
        repeat = repeat.drop(columns="group")
        survival = survival.drop(columns="group")
        medians = medians.drop(columns="group")
    comparison = None
    if compare is not None:
        comparison = _compare_repeat(repeat, control, correction, common["alpha"], compare)
    params = {"event": event, "nth": int(nth), "within": horizon, "origin": origin, "by": by, "compare": compare,
              "control": control, "correction": correction, "unit": common["unit"], "alpha": common["alpha"],
              "observed_until": pd.Timestamp(obs, tz="UTC"), "data_start": pd.Timestamp(d0, tz="UTC"),
              "data_end": pd.Timestamp(d1, tz="UTC"), "excluded": {"mixed": mixed}}
    durations = pd.DataFrame({"group": np.asarray(labels, dtype=object)[g_r] if len(g_r) else [],
                              "time_days": dur, "observed": obs_flag})
    return LoyaltyResult(repeat=repeat, survival=survival, medians=medians, params=params, logrank=lr,
                         comparison=comparison, durations=durations)


def _compare_repeat(repeat: pd.DataFrame, control: Any, correction: str, alpha: float, compare: Any) -> pd.DataFrame:
    from ..stats.differences import diff_test
    from ..stats.multiple_testing import adjust_pvalues

    variants = [g for g in repeat["group"] if g != MISSING]
    if not variants:
        raise ParameterError(f"compare={compare!r}: no buyer carries a value of that column.")
    ctrl = variants[0] if control is None else str(control)
    if ctrl not in variants:
        raise ParameterError(f"`control`={control!r} is not a value of {compare!r}; values: {variants[:8]}.")
    c = repeat[repeat["group"] == ctrl].iloc[0]
    t = repeat[(repeat["group"] != ctrl) & (repeat["group"] != MISSING)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = diff_test(int(c["repeaters"]), int(c["eligible"]), t["repeaters"].to_numpy(), t["eligible"].to_numpy(),
                      alpha=alpha)
    out = pd.DataFrame({"variant": t["group"].to_numpy(), "control": ctrl, "eligible_control": int(c["eligible"]),
                        "repeaters_control": int(c["repeaters"]), "rate_control": float(c["rate"]),
                        "eligible": t["eligible"].to_numpy(), "repeaters": t["repeaters"].to_numpy(),
                        "rate": t["rate"].to_numpy(), "abs_diff": np.atleast_1d(d.abs_diff),
                        "ci_low": np.atleast_1d(d.ci_low), "ci_high": np.atleast_1d(d.ci_high),
                        "p_value": np.atleast_1d(d.p_value)})
    p = out["p_value"].to_numpy(dtype=float)
    adj = np.full(len(p), np.nan)
    fin = np.isfinite(p)
    if fin.any():
        adj[fin] = adjust_pvalues(p[fin], method=correction)
    out["p_adjusted"] = adj
    return out
