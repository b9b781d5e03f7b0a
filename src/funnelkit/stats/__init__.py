"""Statistics for A/B tests on conversion counts (no event log needed).

Every function takes plain counts (conversions and users per arm) and is vectorized
over arrays of counts: pass arrays (e.g. one entry per funnel step) and get arrays
back, or scalars and get Python floats. Results of tests are frozen dataclasses
whose ``.to_frame()`` gives one row per test with fixed snake_case columns.

Conventions (DESIGN §6):

* "control" is arm C, "treatment" is arm T; differences are T - C.
* ``alternative="larger"`` means the treatment rate is larger than the control
  rate (H1: pT > pC), ``"smaller"`` means pT < pC.
* A rate's variance per user is p(1 - p) (no n/(n - 1) correction), as in
  GrowthBook's gbstats.
* Undefined statistics (an arm without users, a zero control rate for a relative
  lift, a zero standard error) are NaN and announced with a
  :class:`~funnelkit.errors.StatisticsWarning`; they never raise. Bad arguments
  (negative counts, conversions above users, unknown methods) raise
  :class:`~funnelkit.errors.ParameterError`.

Functions
---------
proportion_ci    Confidence interval of one rate (Wilson, Wald, Agresti–Coull,
                 Clopper–Pearson, Jeffreys).
diff_test        Absolute difference pT - pC: Welch t test (default) or pooled z test.
lift_test        Relative lift (pT - pC) / pC with delta-method SE and Welch t.
srm_test         Sample-ratio mismatch: Pearson chi-square against the planned split.
adjust_pvalues   Holm or Benjamini–Hochberg adjusted p-values.
bayes_test       Chance to beat control and expected loss with Beta posteriors.
sequential_test  Always-valid p-value and confidence sequence (peeking-safe).
power, mde, sample_size
                 Power analysis of the test run (welch, sequential, corrected level) or
                 a named textbook formula (evanmiller, pooled, cohen_h).

Per-unit numeric metrics (revenue per user, orders per user, ratios), from per-arm sums:

mean_test        Welch t on the difference of means, delta-method relative lift,
                 sequential intervals, non-inferiority margin (as gbstats).
sample_moments   Mean and variance from n, Σx, Σx².
ratio_moments    A ratio of sums (revenue / orders) by the delta method.
cuped            CUPED / regression adjustment with a pre-exposure covariate.
mean_bayes_test  Chance to beat control and expected loss (normal approximation).

Association (frictions) and survival (loyalty), from plain counts and durations:

association_test Odds ratio with Woolf CI and Fisher's exact or Yates chi-square p-value,
                 per 2x2 table (vectorized).
odds_ratio, fisher_pvalue, chi2_pvalue
                 Its parts.
kaplan_meier     Kaplan–Meier curve with log-log confidence band and median, with censoring.
logrank_test     Log-rank test of equal survival across groups.
"""

from __future__ import annotations

from .association import AssociationTest, association_test, chi2_pvalue, fisher_pvalue, odds_ratio
from .bayes import BayesTest, bayes_test
from .bayes_means import MeanBayesTest, mean_bayes_test
from .means import MeanTest, mean_test
from .moments import CupedResult, cuped, ratio_moments, sample_moments
from .differences import DiffTest, LiftTest, diff_test, lift_test
from .multiple_testing import adjust_pvalues
from .power_analysis import mde, power, sample_size
from .proportions import proportion_ci
from .sequential import SequentialTest, sequential_test
from .srm import SRMResult, srm_test
from .survival import KaplanMeier, LogRankTest, kaplan_meier, logrank_test

__all__ = [
    "proportion_ci",
    "diff_test",
    "lift_test",
    "srm_test",
    "adjust_pvalues",
    "bayes_test",
    "sequential_test",
    "power",
    "mde",
    "sample_size",
    "mean_test",
    "sample_moments",
    "ratio_moments",
    "cuped",
    "mean_bayes_test",
    "MeanTest",
    "CupedResult",
    "MeanBayesTest",
    "DiffTest",
    "LiftTest",
    "SRMResult",
    "BayesTest",
    "SequentialTest",
    "association_test",
    "odds_ratio",
    "fisher_pvalue",
    "chi2_pvalue",
    "AssociationTest",
    "kaplan_meier",
    "logrank_test",
    "KaplanMeier",
    "LogRankTest",
]
