"""Private helpers of :mod:`funnelkit.stats`: validation, broadcasting, tidy results,
vectorized root finding and the Beta-posterior quadrature.

Nothing here is public API; :mod:`funnelkit.stats` documents the formulas.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from ._lazy import lazy_module

# scipy.stats costs ~0.5 s to import: load it on first use, so `import funnelkit` stays light.
special = lazy_module("scipy.special")
stats = lazy_module("scipy.stats")

from .errors import ParameterError, StatisticsWarning

__all__: list[str] = []


# --- validation ----------------------------------------------------------------


def _show(value: Any) -> str:
    """A short representation of an offending value for error messages."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return repr(int(value))
    if isinstance(value, np.generic):
        return repr(value.item())
    return repr(value)


def as_numbers(value: Any, *, name: str, allow_nan: bool = False) -> np.ndarray:
    """``value`` as a float array; refuse strings, booleans, NaN (unless allowed) and infinities."""
    raw = np.asarray(value)
    if raw.dtype.kind == "b":
        raise ParameterError(f"`{name}` must be a number or an array of numbers, not a boolean.")
    if raw.dtype.kind not in "iuf":
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise ParameterError(
                f"`{name}` must be a number or an array of numbers, "
                f"not {type(value).__name__} {value!r}."
            ) from None
    else:
        arr = raw.astype(float, copy=True)
    bad_mask = np.isinf(arr) if allow_nan else ~np.isfinite(arr)
    if np.any(bad_mask):
        bad = arr[bad_mask].flat[0]
        where = _where(arr, bad_mask)
        raise ParameterError(
            f"`{name}` must be finite, but it holds {_show(bad)}{where}. "
            "Give plain counts (missing data must be dropped or filled first)."
        )
    return arr


def _where(arr: np.ndarray, mask: np.ndarray) -> str:
    if arr.ndim == 0:
        return ""
    idx = tuple(int(i[0]) for i in np.nonzero(mask))
    return f" at position {idx[0] if len(idx) == 1 else idx}"


def check_counts(
    conv: Any, n: Any, *, conv_name: str, n_name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a (conversions, users) pair: finite, non-negative, conversions <= users."""
    c = as_numbers(conv, name=conv_name)
    m = as_numbers(n, name=n_name)
    for arr, nm in ((c, conv_name), (m, n_name)):
        neg = arr < 0
        if np.any(neg):
            raise ParameterError(
                f"`{nm}`={_show(arr[neg].flat[0])}{_where(arr, neg)} is negative; "
                "counts of users and conversions must be >= 0."
            )
    try:
        cb, mb = np.broadcast_arrays(c, m)
    except ValueError:
        raise ParameterError(
            f"`{conv_name}` (shape {c.shape}) and `{n_name}` (shape {m.shape}) "
            "cannot be broadcast together; give arrays of the same shape."
        ) from None
    over = cb > mb
    if np.any(over):
        i = np.nonzero(over.ravel())[0][0]
        raise ParameterError(
            f"`{conv_name}`={_show(cb.ravel()[i])} exceeds `{n_name}`={_show(mb.ravel()[i])}"
            f"{_where(cb, over)}: conversions cannot outnumber the users of the arm. "
            "Check the argument order (conversions first, then users)."
        )
    return c, m


def check_alpha(alpha: Any, *, name: str = "alpha") -> float:
    """A significance level strictly between 0 and 1."""
    if isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, (int, float, np.number)):
        raise ParameterError(f"`{name}` must be a number between 0 and 1, not {alpha!r}.")
    a = float(alpha)
    if not 0.0 < a < 1.0:
        raise ParameterError(f"`{name}`={alpha!r} must be strictly between 0 and 1 (e.g. 0.05).")
    return a


def check_probability_array(
    value: Any, *, name: str, low_open: bool, high_open: bool, hint: str = ""
) -> np.ndarray:
    """Numbers within (0, 1), [0, 1] or a half-open variant."""
    arr = as_numbers(value, name=name)
    bad = (arr <= 0 if low_open else arr < 0) | (arr >= 1 if high_open else arr > 1)
    if np.any(bad):
        lo = "(0" if low_open else "[0"
        hi = "1)" if high_open else "1]"
        raise ParameterError(
            f"`{name}`={_show(arr[bad].flat[0])}{_where(arr, bad)} must lie in {lo}, {hi}"
            + (f"; {hint}." if hint else ".")
        )
    return arr


def broadcast(*arrays: np.ndarray, names: tuple[str, ...]) -> list[np.ndarray]:
    try:
        return [np.array(a, dtype=float) for a in np.broadcast_arrays(*arrays)]
    except ValueError:
        shapes = ", ".join(f"`{n}` {a.shape}" for n, a in zip(names, arrays))
        raise ParameterError(
            f"The inputs cannot be broadcast together ({shapes}); "
            "give scalars or arrays of one shape."
        ) from None


def out(x: np.ndarray, scalar: bool) -> np.ndarray | float:
    """Return a Python float for scalar inputs, the array otherwise."""
    if scalar:
        return float(np.asarray(x).reshape(()))
    return np.asarray(x, dtype=float)


def warn(message: str, stacklevel: int = 3) -> None:
    warnings.warn(message, StatisticsWarning, stacklevel=stacklevel)


def count_note(mask: np.ndarray) -> str:
    """' (k of m tests)' when arrays are involved, '' for a single test."""
    if mask.size <= 1:
        return ""
    return f" ({int(mask.sum())} of {mask.size} tests)"


# --- tidy results ------------------------------------------------------------------


class TidyResult:
    """Mixin for the frozen result dataclasses: ``to_frame()`` and the notebook repr."""

    _columns: ClassVar[tuple[str, ...]] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per test (broadcast inputs flattened in C order), fixed snake_case columns."""
        values = {c: np.asarray(getattr(self, c)) for c in self._columns}
        shape = np.broadcast_shapes(*(v.shape for v in values.values()))
        data = {c: np.broadcast_to(v, shape).ravel() for c, v in values.items()}
        if not shape:
            data = {c: v.reshape(1) for c, v in data.items()}
        return pd.DataFrame(data, columns=list(self._columns))

    def _repr_html_(self) -> str:
        return (
            f"<p><b>{type(self).__name__}</b></p>"
            + self.to_frame()._repr_html_()  # type: ignore[operator]
        )


# --- t / normal helpers -----------------------------------------------------------


def p_value(statistic: np.ndarray, dof: np.ndarray, alternative: str) -> np.ndarray:
    """p-value of a t statistic (``dof = inf`` gives the normal distribution)."""
    with np.errstate(invalid="ignore"):
        if alternative == "two-sided":
            return 2.0 * stats.t.sf(np.abs(statistic), dof)
        if alternative == "larger":
            return stats.t.sf(statistic, dof)
        return stats.t.cdf(statistic, dof)


def interval(
    estimate: np.ndarray, se: np.ndarray, dof: np.ndarray, alpha: float, alternative: str
) -> tuple[np.ndarray, np.ndarray]:
    """Estimate ± t quantile × SE; one-sided alternatives give a half-infinite interval."""
    with np.errstate(invalid="ignore"):
        if alternative == "two-sided":
            half = stats.t.ppf(1.0 - alpha / 2.0, dof) * se
            return estimate - half, estimate + half
        half = stats.t.ppf(1.0 - alpha, dof) * se
        if alternative == "larger":
            return estimate - half, np.where(np.isnan(half), np.nan, np.inf)
        return np.where(np.isnan(half), np.nan, -np.inf), estimate + half


def welch_dof(var_c: np.ndarray, n_c: np.ndarray, var_t: np.ndarray, n_t: np.ndarray) -> np.ndarray:
    """Welch–Satterthwaite degrees of freedom for per-unit variances ``var`` (p(1 - p))."""
    with np.errstate(divide="ignore", invalid="ignore"):
        num = (var_t / n_t + var_c / n_c) ** 2
        den_t = np.where(var_t > 0, var_t**2 / (n_t**2 * (n_t - 1.0)), 0.0)
        den_c = np.where(var_c > 0, var_c**2 / (n_c**2 * (n_c - 1.0)), 0.0)
        den = den_t + den_c
        return np.where(den > 0, num / den, np.nan)


# --- root finding --------------------------------------------------------------------


def bisect_increasing(f: Any, lo: np.ndarray, hi: np.ndarray, iters: int = 120) -> np.ndarray:
    """Vectorized bisection for ``f(x) = 0`` with ``f`` increasing and f(lo) < 0 <= f(hi).

    A fixed number of halvings (120) brings the bracket to the resolution of doubles.
    """
    lo = np.array(lo, dtype=float)
    hi = np.array(hi, dtype=float)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        up = f(mid) >= 0
        hi = np.where(up, mid, hi)
        lo = np.where(up, lo, mid)
    return 0.5 * (lo + hi)


# --- Beta posteriors: deterministic quadrature ---------------------------------------


def _quantile_nodes() -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes/weights on (0, 1), panels graded geometrically towards both ends."""
    inner = [1e-14, 1e-12, 1e-10, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01,
             0.02, 0.04, 0.07, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45]  # fmt: skip
    breaks = np.array([0.0] + inner + [0.5] + [1.0 - b for b in reversed(inner)] + [1.0])
    x, w = np.polynomial.legendre.leggauss(20)
    a, b = breaks[:-1, None], breaks[1:, None]
    nodes = (a + (b - a) * (x[None, :] + 1.0) / 2.0).ravel()
    weights = ((b - a) * w[None, :] / 2.0).ravel()
    return nodes, weights


_U_NODES, _U_WEIGHTS = _quantile_nodes()


def beta_compare(
    a_c: np.ndarray, b_c: np.ndarray, a_t: np.ndarray, b_t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P(pT > pC), E[max(pC - pT, 0)] and E[max(pT - pC, 0)] for independent Betas.

    The expectation over the *outer* Beta X (the one with the smaller posterior sd) is
    written as an integral over its quantile u in (0, 1): E[h(X)] = ∫ h(Q_X(u)) du, and
    computed with graded composite Gauss–Legendre quadrature. The conditional quantities
    given X = x use the inner Beta Y in closed form through the regularized incomplete
    beta function I_x:

        P(Y > x) = 1 - I_x(a_Y, b_Y)
        E[max(x - Y, 0)] = x I_x(a_Y, b_Y) - m_Y I_x(a_Y + 1, b_Y)
        E[max(Y - x, 0)] = m_Y (1 - I_x(a_Y + 1, b_Y)) - x (1 - I_x(a_Y, b_Y))

    with m_Y = a_Y / (a_Y + b_Y). Every integrand is bounded, so the neglected end panels
    (below 1e-14 in probability) cost at most about 1e-14.
    """
    shape = np.broadcast_shapes(a_c.shape, b_c.shape, a_t.shape, b_t.shape)
    a_c, b_c, a_t, b_t = (np.broadcast_to(v, shape).ravel() for v in (a_c, b_c, a_t, b_t))

    def var(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a * b / ((a + b) ** 2 * (a + b + 1.0))

    outer_is_c = var(a_c, b_c) <= var(a_t, b_t)
    a_x = np.where(outer_is_c, a_c, a_t)
    b_x = np.where(outer_is_c, b_c, b_t)
    a_y = np.where(outer_is_c, a_t, a_c)
    b_y = np.where(outer_is_c, b_t, b_c)
    m_y = a_y / (a_y + b_y)

    p_y_gt = np.empty(a_c.size)  # P(Y > X)
    p_y_lt = np.empty(a_c.size)  # P(Y < X)
    loss_x_gt = np.empty(a_c.size)  # E[max(X - Y, 0)]
    loss_y_gt = np.empty(a_c.size)  # E[max(Y - X, 0)]
    u, w = _U_NODES, _U_WEIGHTS
    block = max(1, 200_000 // u.size)
    for start in range(0, a_c.size, block):  # bounded memory; a few blocks at most
        sl = slice(start, start + block)
        ax, bx = a_x[sl, None], b_x[sl, None]
        ay, by, my = a_y[sl, None], b_y[sl, None], m_y[sl, None]
        x = special.betaincinv(ax, bx, u[None, :])
        cdf = special.betainc(ay, by, x)
        sf = special.betainc(by, ay, 1.0 - x)  # 1 - I_x(a, b), without cancellation near 1
        cdf1 = special.betainc(ay + 1.0, by, x)
        sf1 = special.betainc(by, ay + 1.0, 1.0 - x)
        p_y_gt[sl] = sf @ w
        p_y_lt[sl] = cdf @ w
        loss_x_gt[sl] = np.maximum(x * cdf - my * cdf1, 0.0) @ w
        loss_y_gt[sl] = np.maximum(my * sf1 - x * sf, 0.0) @ w

    # X = C: P(T > C) = P(Y > X); loss of choosing T = E[max(C - T, 0)] = E[max(X - Y, 0)].
    chance = np.where(outer_is_c, p_y_gt, p_y_lt)
    loss_t = np.where(outer_is_c, loss_x_gt, loss_y_gt)
    loss_c = np.where(outer_is_c, loss_y_gt, loss_x_gt)
    chance = np.clip(chance, 0.0, 1.0)
    # Identical posteriors: the exact answer is known by symmetry; do not leave 1e-16 noise.
    same = (a_c == a_t) & (b_c == b_t)
    chance = np.where(same, 0.5, chance)
    mean_loss = 0.5 * (loss_t + loss_c)
    loss_t = np.where(same, mean_loss, loss_t)
    loss_c = np.where(same, mean_loss, loss_c)
    return chance.reshape(shape), loss_t.reshape(shape), loss_c.reshape(shape)

