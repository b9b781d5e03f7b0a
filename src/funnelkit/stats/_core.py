"""Private helpers shared by the modules of :mod:`funnelkit.stats`: argument checks,
broadcasting, tidy results, the preparation of two-arm inputs, t / normal p-values and
intervals, and vectorized root finding.

Nothing here is public API; the public modules document the formulas.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar, Literal, Union

import numpy as np
import pandas as pd
from ..errors import ParameterError, StatisticsWarning
from . import _dist  # scipy.special's t functions: scipy.stats (~0.5 s, 45 MB) is not loaded

__all__: list[str] = []

Alternative = Literal["two-sided", "larger", "smaller"]
ALTERNATIVES = ("two-sided", "larger", "smaller")

FloatOrArray = Union[float, np.ndarray]  # float for scalar inputs, ndarray otherwise


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


# --- two-arm inputs -----------------------------------------------------------------


def two_arms(
    conv_c: Any, n_c: Any, conv_t: Any, n_t: Any
) -> tuple[bool, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate and broadcast; rates are NaN (with a warning) for arms without users."""
    cc, nc = check_counts(conv_c, n_c, conv_name="conv_c", n_name="n_c")
    ct, nt = check_counts(conv_t, n_t, conv_name="conv_t", n_name="n_t")
    scalar = all(np.ndim(a) == 0 for a in (cc, nc, ct, nt))
    cc, nc, ct, nt = broadcast(cc, nc, ct, nt, names=("conv_c", "n_c", "conv_t", "n_t"))
    empty = (nc == 0) | (nt == 0)
    if np.any(empty):
        which = " and ".join(
            nm for nm, arr in (("n_c", nc), ("n_t", nt)) if np.any(arr == 0)
        )
        warn(
            f"An arm has no users ({which} = 0){count_note(empty)}: its rate and every "
            "statistic that needs it are NaN.",
            stacklevel=4,
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        pc = np.where(nc > 0, cc / np.where(nc > 0, nc, 1.0), np.nan)
        pt = np.where(nt > 0, ct / np.where(nt > 0, nt, 1.0), np.nan)
    return scalar, cc, nc, ct, nt, pc, pt


def warn_zero_se(se: np.ndarray, valid: np.ndarray, what: str) -> None:
    zero = valid & ~(se > 0)
    if np.any(zero):
        warn(
            f"The standard error of the {what} is 0{count_note(zero)} (each arm's rate is "
            "0 or 1): the test statistic, p-value and interval are NaN.",
            stacklevel=4,
        )


def lift_and_se(
    pc: np.ndarray, nc: np.ndarray, pt: np.ndarray, nt: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Relative lift, its delta-method SE, and the mask of zero control rates."""
    zero_c = pc == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        pcs = np.where(zero_c, np.nan, pc)
        lift = (pt - pcs) / pcs
        var = pt * (1.0 - pt) / (pcs**2 * nt) + pcs * (1.0 - pcs) * pt**2 / (pcs**4 * nc)
    return lift, np.sqrt(var), zero_c


# --- t / normal helpers -----------------------------------------------------------


def p_value(statistic: np.ndarray, dof: np.ndarray, alternative: str) -> np.ndarray:
    """p-value of a t statistic (``dof = inf`` gives the normal distribution)."""
    with np.errstate(invalid="ignore"):
        if alternative == "two-sided":
            return 2.0 * _dist.t_sf(np.abs(statistic), dof)
        if alternative == "larger":
            return _dist.t_sf(statistic, dof)
        return _dist.t_cdf(statistic, dof)


def interval(
    estimate: np.ndarray, se: np.ndarray, dof: np.ndarray, alpha: float, alternative: str
) -> tuple[np.ndarray, np.ndarray]:
    """Estimate ± t quantile × SE; one-sided alternatives give a half-infinite interval."""
    with np.errstate(invalid="ignore"):
        if alternative == "two-sided":
            half = _dist.t_ppf(1.0 - alpha / 2.0, dof) * se
            return estimate - half, estimate + half
        half = _dist.t_ppf(1.0 - alpha, dof) * se
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
