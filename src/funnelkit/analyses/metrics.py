"""Per-user metrics of an experiment: what to measure on each exposed user, beside the funnel.

A :class:`Metric` says how each exposed user's value is computed from the event log
(:mod:`funnelkit.analyses._metric_values`) and how arms are compared
(:mod:`funnelkit.analyses._metric_rows`, statistics in :mod:`funnelkit.stats`):

* ``Metric.sum("order_value", events="purchase", name="revenue")``: revenue per user, the
  sum of a property over the user's events (0 for a user without such events);
* ``Metric.count("purchase", name="orders")``: events per user (0 when none);
* ``Metric.mean("order_value", events="purchase", name="order_mean")``: the mean of a
  property over the user's events (users without such events are left out, and the
  metric's ``users`` says how many count);
* ``Metric.ratio(revenue, orders, name="aov")``: a ratio of two sums over users (average
  order value = revenue / orders) by the delta method.

Only events within the analysis window count: from the user's first exposure
(inclusive) to ``end`` of :func:`funnelkit.experiment` (exclusive) or, with
``window=``, to that long after the first exposure, whichever is first.

Options: ``cap=`` (a fixed value) or ``cap_quantile=`` (a quantile of the pooled
per-user values of all arms) winsorize each user's value; ``cuped=True`` adjusts with
the same metric in the ``pre_period`` before each user's first exposure (CUPED /
regression adjustment, sum and count metrics); ``role="guardrail"`` with
``margin=`` makes it a non-inferiority check ("nothing important got worse") with its
own verdict, outside the primary family of the multiple-comparison correction.

:func:`parse_metric_spec` reads the command line's ``--metric`` text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._params import check_choice, parse_duration
from ..errors import ParameterError

__all__ = ["Metric", "parse_metric_spec", "check_metrics", "METRIC_KINDS", "METRIC_ROLES"]

MetricKind = Literal["sum", "count", "mean", "ratio"]
MetricRole = Literal["primary", "guardrail"]
METRIC_KINDS: tuple[str, ...] = ("sum", "count", "mean", "ratio")
METRIC_ROLES: tuple[str, ...] = ("primary", "guardrail")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED = ("conversion",)


def _events(events: Any) -> tuple[str, ...] | None:
    if events is None:
        return None
    if isinstance(events, str):
        events = (events,)
    try:
        ev = tuple(events)
    except TypeError:
        raise ParameterError(f"`events`={events!r} must be an event name or a list of them, "
                             "e.g. events='purchase'.") from None
    if not ev or not all(isinstance(e, str) and e for e in ev):
        raise ParameterError(f"`events`={events!r} must be a non-empty event name or list of names.")
    return tuple(sorted(set(ev)))


@dataclass(frozen=True)
class Metric:
    """A per-user metric of an experiment (build it with :meth:`sum`, :meth:`count`,
    :meth:`mean` or :meth:`ratio`).

    Attributes
    ----------
    name : str
        Identifier (snake_case), the ``metric`` column of ``exp.table``.
    kind : {"sum", "count", "mean", "ratio"}
    column : str or None
        The event property (sum, mean; count: optional, counts rows where it is not null).
    events : tuple of str or None
        Only these events count (``None``: every event).
    numerator, denominator : Metric or None
        The two sum/count metrics of a ratio.
    role : {"primary", "guardrail"}
    margin : float or None
        Guardrail: non-inferiority margin on the relative lift (0.02 = "at most 2 % worse").
    higher_is_better : bool
        The good direction (verdicts, guardrails).
    cap, cap_quantile : float or None
        Winsorize each user's value at a fixed value, or at this quantile of the pooled
        per-user values of all arms (for example 0.99).
    cuped : bool
        Adjust with the same metric in ``pre_period`` before each user's first exposure.
    pre_period : Timedelta
    window : Timedelta or None
        Count events up to this long after each user's first exposure.
    label : str or None
        The name shown in reports (default: ``name``); ``label_es`` for Spanish.
    """

    name: str
    kind: MetricKind
    column: str | None = None
    events: tuple[str, ...] | None = None
    numerator: Metric | None = field(default=None, repr=False)
    denominator: Metric | None = field(default=None, repr=False)
    role: MetricRole = "primary"
    margin: float | None = None
    higher_is_better: bool = True
    cap: float | None = None
    cap_quantile: float | None = None
    cuped: bool = False
    pre_period: pd.Timedelta = pd.Timedelta(days=14)
    window: pd.Timedelta | None = None
    label: str | None = None
    label_es: str | None = None

    # ------------------------------------------------------------------ constructors
    @classmethod
    def sum(cls, column: str, *, events: str | Sequence[str] | None = None, name: str | None = None,
            **options: Any) -> Metric:
        """Per user: the sum of ``column`` over their events (0 without such events).

        Examples
        --------
        >>> Metric.sum("order_value", events="purchase", name="revenue").describe()
        'revenue = sum of order_value over purchase events per exposed user'
        """
        return cls._make("sum", column=_column(column), events=events, name=name or f"{column}_sum",
                         **options)

    @classmethod
    def count(cls, events: str | Sequence[str] | None = None, *, column: str | None = None,
              name: str | None = None, **options: Any) -> Metric:
        """Per user: how many of their events are ``events`` (with ``column`` not null, when
        given); 0 without such events.

        Examples
        --------
        >>> Metric.count("purchase", name="orders").describe()
        'orders = count of purchase events per exposed user'
        """
        ev = _events(events)
        default = f"{'_'.join(ev) if ev else 'events'}_count"
        return cls._make("count", column=None if column is None else _column(column), events=ev,
                         name=name or default, **options)

    @classmethod
    def mean(cls, column: str, *, events: str | Sequence[str] | None = None, name: str | None = None,
             **options: Any) -> Metric:
        """Per user: the mean of ``column`` over their events; users without such events
        are left out (the row's ``users`` counts those who have one)."""
        return cls._make("mean", column=_column(column), events=events, name=name or f"{column}_mean",
                         **options)

    @classmethod
    def ratio(cls, numerator: Metric, denominator: Metric, *, name: str | None = None,
              **options: Any) -> Metric:
        """Σ numerator / Σ denominator over the exposed users of an arm (e.g. revenue / orders),
        compared by the delta method; both must be sum or count metrics.

        Examples
        --------
        >>> rev = Metric.sum("order_value", events="purchase", name="revenue")
        >>> Metric.ratio(rev, Metric.count("purchase", name="orders"), name="aov").describe()
        'aov = revenue / orders (ratio of sums over exposed users)'
        """
        for part, nm in ((numerator, "numerator"), (denominator, "denominator")):
            if not isinstance(part, Metric) or part.kind not in ("sum", "count"):
                raise ParameterError(f"`{nm}`={part!r} must be a sum or count Metric, e.g. "
                                     "Metric.ratio(Metric.sum('order_value'), Metric.count('purchase')).")
        if options.get("cuped"):
            raise ParameterError("`cuped=True` is not available for ratio metrics; adjust a sum or count "
                                 "metric instead.")
        return cls._make("ratio", numerator=numerator, denominator=denominator,
                         name=name or f"{numerator.name}_per_{denominator.name}", **options)

    @classmethod
    def _make(cls, kind: str, *, name: Any, events: Any = None, **options: Any) -> Metric:
        allowed = {"column", "numerator", "denominator", "role", "margin", "higher_is_better", "cap",
                   "cap_quantile", "cuped", "pre_period", "window", "label", "label_es"}
        bad = sorted(set(options) - allowed)
        if bad:
            raise ParameterError(f"Unknown metric option {bad[0]!r}; use one of {', '.join(sorted(allowed))}.")
        m = cls(name=name, kind=kind, events=_events(events), **options)
        return m._checked()

    def _checked(self) -> Metric:
        """This metric with its options checked and normalized (durations parsed)."""
        if not isinstance(self.name, str) or not _NAME.match(self.name) or self.name in _RESERVED:
            raise ParameterError(f"Metric `name`={self.name!r} must be an identifier such as 'revenue' "
                                 "(letters, digits, underscores; not 'conversion').")
        check_choice(self.kind, name="kind", choices=METRIC_KINDS)
        check_choice(self.role, name="role", choices=METRIC_ROLES)
        for nm in ("higher_is_better", "cuped"):
            if not isinstance(getattr(self, nm), (bool, np.bool_)):
                raise ParameterError(f"Metric {self.name!r}: `{nm}`={getattr(self, nm)!r} must be True or False.")
        if self.margin is not None and (not _real(self.margin) or not 0 < self.margin < 1):
            raise ParameterError(f"Metric {self.name!r}: `margin`={self.margin!r} must be a relative lift in "
                                 "(0, 1), e.g. 0.02 for 'at most 2 % worse'.")
        if self.role == "guardrail" and self.margin is None:
            raise ParameterError(f"Metric {self.name!r} is a guardrail: give its non-inferiority `margin`, "
                                 "e.g. margin=0.02.")
        if self.role != "guardrail" and self.margin is not None:
            raise ParameterError(f"Metric {self.name!r}: `margin` is for guardrails; add role='guardrail'.")
        if self.cap is not None and self.cap_quantile is not None:
            raise ParameterError(f"Metric {self.name!r}: give `cap` (a fixed value) or `cap_quantile`, not both.")
        if self.cap is not None and (not _real(self.cap) or not np.isfinite(self.cap)):
            raise ParameterError(f"Metric {self.name!r}: `cap`={self.cap!r} must be a finite number.")
        if self.cap_quantile is not None and (not _real(self.cap_quantile) or not 0 < self.cap_quantile < 1):
            raise ParameterError(f"Metric {self.name!r}: `cap_quantile`={self.cap_quantile!r} must be in (0, 1), "
                                 "e.g. 0.99.")
        if self.cuped and self.kind not in ("sum", "count"):
            raise ParameterError(f"Metric {self.name!r}: `cuped=True` needs a sum or count metric (a "
                                 f"{self.kind} metric has no per-user pre-period value for every user).")
        pre = parse_duration(self.pre_period, name="pre_period")
        win = parse_duration(self.window, name="window", allow_none=True)
        for nm in ("label", "label_es"):
            v = getattr(self, nm)
            if v is not None and not isinstance(v, str):
                raise ParameterError(f"Metric {self.name!r}: `{nm}`={v!r} must be a string.")
        return replace(self, pre_period=pre, window=win)

    # ------------------------------------------------------------------ descriptions
    def columns(self) -> tuple[str, ...]:
        """The event-log columns this metric reads."""
        if self.kind == "ratio":
            assert self.numerator is not None and self.denominator is not None
            return tuple(dict.fromkeys(self.numerator.columns() + self.denominator.columns()))
        return () if self.column is None else (self.column,)

    def describe(self) -> str:
        """One line saying what the metric measures (English)."""
        if self.kind == "ratio":
            assert self.numerator is not None and self.denominator is not None
            return f"{self.name} = {self.numerator.name} / {self.denominator.name} (ratio of sums over exposed users)"
        where = f" over {' or '.join(self.events)} events" if self.events else ""
        if self.kind == "count":
            what = f"count of {' or '.join(self.events) if self.events else 'all'} events"
            if self.column:
                what += f" with {self.column}"
            return f"{self.name} = {what} per exposed user"
        return f"{self.name} = {self.kind} of {self.column}{where} per exposed user"

    def display(self, lang: str = "en") -> str:
        """The label shown in reports."""
        if lang == "es" and self.label_es:
            return self.label_es
        return self.label or self.name


def _real(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def _column(column: Any) -> str:
    if not isinstance(column, str) or not column:
        raise ParameterError(f"`column`={column!r} must be the name of an event property (a string), "
                             "e.g. 'order_value'.")
    return column


def check_metrics(metrics: Any) -> tuple[Metric, ...]:
    """``metrics=`` of :func:`funnelkit.experiment` as a tuple of checked metrics: Metric
    objects or ``--metric`` texts (:func:`parse_metric_spec`), names unique."""
    if metrics is None:
        return ()
    if isinstance(metrics, (Metric, str)):
        metrics = [metrics]
    try:
        items = list(metrics)
    except TypeError:
        raise ParameterError(f"`metrics`={metrics!r} must be a list of Metric objects or metric texts "
                             "such as 'revenue=sum:order_value@purchase'.") from None
    out: list[Metric] = []
    for m in items:
        if isinstance(m, str):
            m = parse_metric_spec(m, known={x.name: x for x in out})
        if not isinstance(m, Metric):
            raise ParameterError(f"`metrics` holds {m!r}; give Metric objects (fk.Metric.sum(...)) or texts "
                                 "such as 'revenue=sum:order_value'.")
        out.append(m._checked())
    names = [m.name for m in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ParameterError(f"Two metrics are named {dup[0]!r}; give each metric its own `name`.")
    return tuple(out)


_SPEC = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(sum|count|mean|ratio)\s*:\s*([^;]*?)\s*(?:;(.*))?$")


def parse_metric_spec(text: str, *, known: dict[str, Metric] | None = None) -> Metric:
    """A :class:`Metric` from the command line's ``--metric`` text.

    Grammar: ``NAME=KIND:WHAT[;OPTION=VALUE...]``, where ``KIND:WHAT`` is

    * ``sum:COLUMN[@EVENT[|EVENT...]]`` -- sum of a property (over those events);
    * ``mean:COLUMN[@EVENT...]`` -- mean of a property;
    * ``count:EVENT[|EVENT...]`` -- count of events (``count:*`` counts every event);
    * ``ratio:NUM/DEN`` -- the ratio of two metrics named before (in ``known``).

    Options: ``role=guardrail``, ``margin=0.02``, ``cap=500``, ``cap=0.99q`` (a pooled
    quantile), ``cuped=14D`` (pre-period length) or ``cuped=yes`` (14 days),
    ``window=7D``, ``lower_is_better``, ``label=...``, ``label_es=...``.

    Examples
    --------
    >>> parse_metric_spec("revenue=sum:order_value@purchase;cap=0.99q;cuped=14D").describe()
    'revenue = sum of order_value over purchase events per exposed user'
    >>> parse_metric_spec("refunds=count:refund;role=guardrail;margin=0.05;lower_is_better").role
    'guardrail'
    >>> k = {m.name: m for m in (parse_metric_spec("rev=sum:order_value"), parse_metric_spec("orders=count:purchase"))}
    >>> parse_metric_spec("aov=ratio:rev/orders", known=k).kind
    'ratio'
    """
    if not isinstance(text, str):
        raise ParameterError(f"A metric spec must be text such as 'revenue=sum:order_value', not {text!r}.")
    m = _SPEC.match(text)
    if not m:
        raise ParameterError(
            f"Metric spec {text!r} is not NAME=KIND:WHAT[;OPTION=VALUE...]; e.g. "
            "'revenue=sum:order_value@purchase', 'orders=count:purchase', 'aov=ratio:revenue/orders' "
            "(KIND is sum, count, mean or ratio)."
        )
    name, kind, what, rest = m.group(1), m.group(2), m.group(3), m.group(4)
    options: dict[str, Any] = {}
    for opt in (rest or "").split(";"):
        opt = opt.strip()
        if not opt:
            continue
        key, _, val = opt.partition("=")
        key, val = key.strip(), val.strip()
        try:
            if key == "role":
                options["role"] = val
            elif key == "margin":
                options["margin"] = float(val)
            elif key == "cap":
                if val.endswith("q"):
                    options["cap_quantile"] = float(val[:-1])
                else:
                    options["cap"] = float(val)
            elif key == "cuped":
                if val.lower() in ("", "yes", "true", "1"):
                    options["cuped"] = True
                elif val.lower() in ("no", "false", "0"):
                    options["cuped"] = False
                else:
                    options["cuped"] = True
                    options["pre_period"] = val
            elif key == "window":
                options["window"] = val
            elif key == "lower_is_better" and not val:
                options["higher_is_better"] = False
            elif key in ("label", "label_es"):
                options[key] = val
            else:
                raise ParameterError(
                    f"Metric spec {text!r}: unknown option {key!r}; use role=, margin=, cap=, cuped=, window=, "
                    "lower_is_better, label=, label_es=.")
        except ParameterError:
            raise
        except ValueError:
            raise ParameterError(f"Metric spec {text!r}: option {key}={val!r} is not a number.") from None
    if kind == "ratio":
        num, sep, den = what.partition("/")
        known = known or {}
        missing = [x for x in (num.strip(), den.strip()) if x not in known]
        if not sep or missing:
            raise ParameterError(
                f"Metric spec {text!r}: a ratio is ratio:NUM/DEN with two metrics defined before it"
                + (f" ({missing[0]!r} is not one: {', '.join(known) or 'none yet'})" if sep else "")
                + ", e.g. --metric revenue=sum:order_value --metric orders=count:purchase "
                "--metric aov=ratio:revenue/orders.")
        return Metric.ratio(known[num.strip()], known[den.strip()], name=name, **options)
    if kind == "count":
        events = None if what in ("*", "") else what.split("|")
        return Metric.count(events, name=name, **options)
    col, _, ev = what.partition("@")
    if not col:
        raise ParameterError(f"Metric spec {text!r}: {kind}:COLUMN needs a property column, e.g. "
                             f"'{name}={kind}:order_value'.")
    return getattr(Metric, kind)(col.strip(), events=ev.split("|") if ev else None, name=name, **options)
