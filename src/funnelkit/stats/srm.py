"""Sample-ratio mismatch: Pearson chi-square of users per arm against the planned split."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import _dist  # scipy.special: scipy.stats (~0.5 s, 45 MB) is not loaded

from ..errors import ParameterError
from ._core import TidyResult, as_numbers, check_alpha

__all__ = ["srm_test", "SRMResult"]


@dataclass(frozen=True, eq=False)
class SRMResult(TidyResult):
    """Result of :func:`srm_test`.

    Attributes
    ----------
    arms : tuple of str
        Arm labels (the mapping keys, or ``"0", "1", ...``).
    observed : numpy.ndarray
        Users per arm.
    expected : numpy.ndarray
        Expected users per arm, total × normalized weight.
    observed_share, expected_share : numpy.ndarray
        Observed fraction of users per arm, and the planned fraction.
    n_total : float
        Total users.
    chi2 : float
        Pearson statistic Σ (O - E)² / E (NaN when skipped).
    dof : int
        K - 1.
    p_value : float
        Upper tail of χ²(K - 1) (NaN when skipped).
    threshold : float
        Flag when ``p_value < threshold``.
    flagged : bool
        A sample-ratio mismatch was detected.
    skipped : bool
        The check was not run (an arm expects fewer than ``min_count`` users).
    reason : str
        Why it was skipped ("" otherwise).
    """

    arms: tuple[str, ...]
    observed: np.ndarray
    expected: np.ndarray
    observed_share: np.ndarray
    expected_share: np.ndarray
    n_total: float
    chi2: float
    dof: int
    p_value: float
    threshold: float
    flagged: bool
    skipped: bool
    reason: str = field(default="")

    _columns = (
        "k", "n_total", "chi2", "dof", "p_value", "threshold", "flagged", "skipped", "reason",
    )  # fmt: skip

    @property
    def k(self) -> int:
        """Number of arms."""
        return len(self.arms)

    def to_frame(self) -> pd.DataFrame:
        """One row: ``k, n_total, chi2, dof, p_value, threshold, flagged, skipped, reason``."""
        return pd.DataFrame({c: [getattr(self, c)] for c in self._columns})

    def arms_frame(self) -> pd.DataFrame:
        """One row per arm: ``arm, observed, expected, observed_share, expected_share``."""
        return pd.DataFrame(
            {
                "arm": pd.Series(self.arms, dtype=str),
                "observed": self.observed,
                "expected": self.expected,
                "observed_share": self.observed_share,
                "expected_share": self.expected_share,
            }
        )


def srm_test(
    counts: Sequence[float] | Mapping[Any, float] | np.ndarray | pd.Series,
    weights: Sequence[float] | Mapping[Any, float] | np.ndarray | pd.Series | None = None,
    *,
    threshold: float = 0.001,
    min_count: int = 8,
) -> SRMResult:
    r"""Sample-ratio mismatch check: Pearson χ² of users per arm against the planned split.

    .. math:: \chi^2 = \sum_k \frac{(O_k - E_k)^2}{E_k}, \quad E_k = N w_k / \textstyle\sum_j w_j,
              \quad df = K - 1,

    the same as ``scipy.stats.chisquare(counts, f_exp=expected)``.

    Parameters
    ----------
    counts : sequence, mapping or Series of numbers
        Users per arm (K >= 2). Mapping keys / Series index become the arm labels.
    weights : sequence, mapping or Series, optional
        Planned allocation (any positive scale, normalized here); equal split by default.
        A mapping is aligned with a mapping ``counts`` by key.
    threshold : float, default 0.001
        ``flagged`` when ``p_value < threshold`` (the strict level usual for SRM alarms).
    min_count : int, default 8
        When any arm *expects* fewer users (:math:`E_k` < ``min_count``), the χ²
        approximation is not trusted: the check is skipped (``skipped=True``,
        ``flagged=False``, ``chi2``/``p_value`` NaN, ``reason`` saying which arm). The rule
        is on expected counts, as for any χ² test: a planned arm that received nobody
        (``[5000, 0]``) is tested, and flagged.

    Returns
    -------
    SRMResult

    Examples
    --------
    >>> res = srm_test([5000, 5200])
    >>> round(res.chi2, 5), round(res.p_value, 6), res.flagged
    (3.92157, 0.04767, False)
    >>> srm_test({"A": 5000, "B": 5600}).flagged
    True
    >>> srm_test([5000, 0]).flagged  # a planned arm that received nobody
    True
    >>> srm_test([3, 9]).reason
    "arm '0' expects 6 users (fewer than min_count=8): too few for the chi-square approximation"
    """
    threshold = check_alpha(threshold, name="threshold")
    if (
        isinstance(min_count, (bool, np.bool_))
        or not isinstance(min_count, (int, np.integer))
        or min_count < 0
    ):
        raise ParameterError(f"`min_count`={min_count!r} must be a non-negative integer.")
    if isinstance(counts, pd.Series):
        counts = counts.to_dict()
    if isinstance(weights, pd.Series):
        weights = weights.to_dict()
    if isinstance(counts, Mapping):
        arms = tuple(str(k) for k in counts)
        keys = list(counts)
        values: Any = [counts[k] for k in keys]
        if isinstance(weights, Mapping):
            missing = [k for k in keys if k not in weights]
            if missing or len(weights) != len(keys):
                raise ParameterError(
                    f"`weights` keys {list(weights)!r} must match the arms of `counts` {keys!r}."
                )
            weights = [weights[k] for k in keys]
    else:
        values = counts
        arms = ()
        if isinstance(weights, Mapping):
            raise ParameterError(
                "`weights` is a mapping but `counts` is not; give both as mappings keyed by arm, "
                "or both as sequences in the same order."
            )
    obs = as_numbers(values, name="counts")
    if obs.ndim != 1 or obs.size < 2:
        raise ParameterError(
            f"`counts` must be one number per arm with at least 2 arms, got {np.asarray(values)!r}."
        )
    if np.any(obs < 0):
        raise ParameterError(
            f"`counts` holds a negative value ({obs[obs < 0][0]:g}); users per arm are >= 0."
        )
    if not arms:
        arms = tuple(str(i) for i in range(obs.size))
    if weights is None:
        w = np.ones(obs.size)
    else:
        w = as_numbers(weights, name="weights")
        if w.shape != obs.shape:
            raise ParameterError(
                f"`weights` has {w.size} values but `counts` has {obs.size} arms; "
                "give one weight per arm."
            )
        if np.any(w <= 0):
            raise ParameterError(
                f"`weights` must be positive (got {w[w <= 0][0]:g}); "
                "drop arms that receive no traffic."
            )
    share = w / w.sum()
    total = float(obs.sum())
    expected = total * share
    with np.errstate(invalid="ignore", divide="ignore"):
        observed_share = obs / total if total > 0 else np.full(obs.size, np.nan)
    dof = int(obs.size - 1)
    small = expected < min_count
    if np.any(small):
        i = int(np.nonzero(small)[0][0])
        reason = (
            f"arm {arms[i]!r} expects {expected[i]:g} users (fewer than min_count={min_count}): "
            "too few for the chi-square approximation"
        )
        return SRMResult(
            arms=arms, observed=obs, expected=expected, observed_share=observed_share,
            expected_share=share, n_total=total, chi2=np.nan, dof=dof, p_value=np.nan,
            threshold=threshold, flagged=False, skipped=True, reason=reason,
        )  # fmt: skip
    chi2 = float(np.sum((obs - expected) ** 2 / expected))
    p = float(_dist.chi2_sf(chi2, dof))
    return SRMResult(
        arms=arms, observed=obs, expected=expected, observed_share=observed_share,
        expected_share=share, n_total=total, chi2=chi2, dof=dof, p_value=p,
        threshold=threshold, flagged=bool(p < threshold), skipped=False, reason="",
    )  # fmt: skip
