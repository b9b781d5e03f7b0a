"""stats/survival.py: Kaplan–Meier and log-rank against lifelines, scipy and statsmodels."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelkit.errors import ParameterError
from funnelkit.stats.survival import kaplan_meier, logrank_test

lifelines = pytest.importorskip("lifelines")


def _data(seed: int, n: int = 150):
    rng = np.random.default_rng(seed)
    t = rng.exponential(5, n).round(1)
    e = rng.random(n) < 0.7
    g = rng.choice(["a", "b", "c"], n)
    return t, e, g


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_km_equals_lifelines(seed: int) -> None:
    from lifelines.utils import median_survival_times

    t, e, _ = _data(seed)
    km = kaplan_meier(t, e)
    k = lifelines.KaplanMeierFitter().fit(t, e)
    assert km.table["time"].to_numpy() == pytest.approx(k.timeline)
    assert km.table["survival"].to_numpy() == pytest.approx(k.survival_function_.iloc[:, 0].to_numpy())
    ci = k.confidence_interval_.to_numpy()
    assert km.table["ci_low"].to_numpy() == pytest.approx(ci[:, 0])
    assert km.table["ci_high"].to_numpy() == pytest.approx(ci[:, 1])
    assert km.median == pytest.approx(k.median_survival_time_)
    m = median_survival_times(k.confidence_interval_).to_numpy().ravel()
    assert (km.median_ci_low, km.median_ci_high) == pytest.approx(tuple(m))
    assert km.table["at_risk"].to_numpy()[1:] == pytest.approx(k.event_table["at_risk"].to_numpy()[1:])


def test_km_equals_scipy_ecdf_log_log() -> None:
    from scipy import stats

    t, e, _ = _data(4)
    km = kaplan_meier(t, e, alpha=0.1)
    res = stats.ecdf(stats.CensoredData.right_censored(t, ~e))
    q = km.table["time"].to_numpy()[1:]
    assert km.table["survival"].to_numpy()[1:] == pytest.approx(res.sf.evaluate(q))
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning, match="undefined"):
        ci = res.sf.confidence_interval(confidence_level=0.9, method="log-log")
    s = km.table["survival"].to_numpy()[1:]
    ok = (s > 0) & (s < 1)  # scipy leaves the interval undefined (NaN) where S is 0 or 1; we give 0 / 1
    assert ok.sum() > 50
    assert km.table["ci_low"].to_numpy()[1:][ok] == pytest.approx(ci.low.evaluate(q)[ok])
    assert km.table["ci_high"].to_numpy()[1:][ok] == pytest.approx(ci.high.evaluate(q)[ok])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 20), st.booleans()), min_size=1, max_size=40))
def test_km_against_lifelines_property(rows) -> None:
    t = np.array([r[0] for r in rows], dtype=float)
    e = np.array([r[1] for r in rows])
    km = kaplan_meier(t, e)
    k = lifelines.KaplanMeierFitter().fit(t, e)
    assert km.table["survival"].to_numpy() == pytest.approx(k.survival_function_.iloc[:, 0].to_numpy())
    from lifelines.utils import qth_survival_time

    # the first time S <= 0.5; lifelines computes S as exp(sum(log(1 - d/n))), so where S is
    # exactly 0.5 (a tie) its rounding may put it just above: those cases are not compared
    if not np.isclose(km.table["survival"], 0.5, rtol=0, atol=1e-9).any():
        assert km.median == qth_survival_time(0.5, k.survival_function_.iloc[:, 0]) == k.median_survival_time_


def test_logrank_equals_lifelines_and_statsmodels() -> None:
    from lifelines.statistics import logrank_test as ll2
    from lifelines.statistics import multivariate_logrank_test
    from statsmodels.duration.survfunc import survdiff

    t, e, g = _data(7, 300)
    res = logrank_test(t, e, g)
    m = multivariate_logrank_test(t, g, e)
    assert res.statistic == pytest.approx(m.test_statistic)
    assert res.p_value == pytest.approx(m.p_value)
    assert res.dof == 2
    stat, p = survdiff(t, e.astype(int), g)
    assert (res.statistic, res.p_value) == pytest.approx((stat, p))
    two = g != "c"
    r2 = logrank_test(t[two], e[two], g[two])
    a, b = two & (g == "a"), two & (g == "b")
    w = ll2(t[a], t[b], e[a], e[b])
    assert (r2.statistic, r2.p_value) == pytest.approx((w.test_statistic, w.p_value))
    assert r2.table["observed"].sum() == e[two].sum()


def test_edge_cases_and_errors() -> None:
    km = kaplan_meier([3.0, 3.0], [False, False])
    assert km.table["survival"].tolist() == [1.0, 1.0] and km.median == np.inf
    assert kaplan_meier([], []).n == 0
    with pytest.raises(ParameterError, match="durations"):
        kaplan_meier([1, -2], [True, True])
    with pytest.raises(ParameterError, match="observed"):
        kaplan_meier([1, 2], [True])
    with pytest.raises(ParameterError, match="at least two"):
        logrank_test([1, 2], [1, 1], ["a", "a"])


def test_docstring_examples() -> None:
    import doctest

    import funnelkit.stats.survival as mod

    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0 and res.failed == 0


# --------------------------------------------------------------------------- mutation audit (retention)


def test_km_median_where_survival_is_exactly_one_half() -> None:
    # four events at 1, 2, 3, 4: S = 3/4, 1/2, 1/4, 0. The median is the first time with
    # S <= 0.5, so 2 (not 3: S is exactly 0.5 there, computed as a product)
    km = kaplan_meier([1.0, 2.0, 3.0, 4.0], [True, True, True, True])
    assert km.table["survival"].tolist() == [1.0, 0.75, 0.5, 0.25, 0.0]
    assert km.median == 2.0
