"""``plot_result``: the plot of any result object, by kind (behind ``FunnelResult.plot`` and friends)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import ParameterError
from ._inputs import MAKES, is_data, kind_of
from .breakdown import breakdown
from .experiment import variant_conversion
from .funnel import funnel_bars
from .journey_map import journey_map
from .timing import time_cumulative, time_hist
from .trend import conversion_trend

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["plot_result"]

#: The plots of each kind of result (the first is the default).
KINDS: dict[str, dict[str, Callable[..., Any]]] = {
    "FunnelResult": {"bars": funnel_bars, "breakdown": breakdown},
    "TimeBetweenResult": {"hist": time_hist, "cumulative": time_cumulative},
    "ExperimentResult": {"conversion": variant_conversion},
    "TrendResult": {"trend": conversion_trend},
    "JourneyMapResult": {"map": journey_map},
}


def plot_result(result: Any, kind: str | None = None, *, ax: Axes | None = None, **kw: Any) -> Axes:
    """Plot a result object; the function behind ``FunnelResult.plot`` and friends.

    ============================  ================================================
    result                        kinds (first = default)
    ============================  ================================================
    :class:`FunnelResult`         ``"bars"`` (:func:`funnel_bars`), ``"breakdown"``
    :class:`TimeBetweenResult`    ``"hist"`` (:func:`time_hist`), ``"cumulative"``
    :class:`ExperimentResult`     ``"conversion"`` (:func:`variant_conversion`)
    :class:`TrendResult`          ``"trend"`` (:func:`conversion_trend`)
    :class:`JourneyMapResult`     ``"map"`` (:func:`journey_map`)
    ============================  ================================================

    Parameters
    ----------
    result : FunnelResult, TimeBetweenResult, ExperimentResult, TrendResult or JourneyMapResult
        What to draw.
    kind : str, optional
        The plot (default: the first kind of the result's type).
    ax : matplotlib Axes, optional
        Where to draw (a new figure when omitted).
    **kw
        Passed to the plotting function.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    funnelkit.errors.ParameterError
        For an unknown kind (the message lists the kinds), an event log (compute a
        result first) or another object.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import funnelkit as fk
    >>> ev = fk.datasets.make_shop(n_users=2000, seed=1)
    >>> ax = fk.funnel(ev, fk.datasets.shop_journey()).plot()   # plot_result(res, "bars")
    """
    name = kind_of(result)
    if name is None:
        accepted = ", ".join(KINDS)
        if is_data(result):
            raise ParameterError(
                f"plot_result() takes a result ({accepted}), not a {type(result).__name__}: pass e.g. "
                f"{MAKES['FunnelResult']} — plotting functions take results, not event logs."
            )
        raise ParameterError(f"Cannot plot a {type(result).__name__}; plot_result() takes a {accepted}.")
    kinds = KINDS[name]
    if kind is None:
        kind = next(iter(kinds))
    if kind not in kinds:
        raise ParameterError(
            f"kind={kind!r} is not a plot of {type(result).__name__}; use one of: "
            + ", ".join(repr(k) for k in kinds) + "."
        )
    return kinds[kind](result, ax=ax, **kw)
