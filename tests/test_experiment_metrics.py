"""Per-user metrics of fk.experiment (analyses/metrics.py, _metric_values.py, _metric_rows.py):
the per-user values against a pandas reference, the tests against scipy / fk.stats on those
values, capping, ratios, CUPED, guardrails and the corrected family, and the --metric parser."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

import funnelkit as fk
from funnelkit import stats
from funnelkit.analyses.metrics import Metric, check_metrics, parse_metric_spec
from funnelkit.errors import MissingColumnError, ParameterError

T0 = pd.Timestamp("2024-03-01", tz="UTC")


def shop_log(n: int = 3000, lift: float = 0.25, seed: int = 0) -> pd.DataFrame:
    """Users exposed (a 'visit' with their variant) over 10 days; a pre-period of purchases
    (no variant) in the 14 days before, and post-exposure purchases whose value correlates
    with the user's pre-period spend; B spends (1 + lift) times more per order."""
    rng = np.random.default_rng(seed)
    u = np.arange(n)
    arm = np.where(u % 2 == 0, "A", "B")
    expo = T0 + pd.to_timedelta(rng.uniform(0, 10 * 86400, n).round(), unit="s")
    taste = rng.gamma(2.0, 15.0, n)  # per-user spend level, seen before and after exposure
    rows = [pd.DataFrame({"user_id": u, "timestamp": expo, "event": "visit", "variant": arm,
                          "order_value": np.nan})]
    for k in range(2):  # pre-period purchases, before exposure, without a variant
        buy = rng.random(n) < 0.5
        rows.append(pd.DataFrame({"user_id": u[buy], "timestamp": expo[buy] - pd.to_timedelta(
            rng.uniform(3600, 13 * 86400, buy.sum()).round(), unit="s"), "event": "purchase",
            "variant": None, "order_value": (taste[buy] * rng.lognormal(0, 0.3, buy.sum())).round(2)}))
    for k in range(3):  # post-exposure purchases within 20 days
        buy = rng.random(n) < 0.4
        mult = np.where(arm[buy] == "B", 1 + lift, 1.0)
        rows.append(pd.DataFrame({"user_id": u[buy], "timestamp": expo[buy] + pd.to_timedelta(
            rng.uniform(60, 20 * 86400, buy.sum()).round(), unit="s"), "event": "purchase",
            "variant": arm[buy], "order_value": (taste[buy] * mult * rng.lognormal(0, 0.3, buy.sum())).round(2)}))
    ev = pd.concat(rows, ignore_index=True)
    return ev


def reference_values(ev: pd.DataFrame, *, end=None, window=None, pre=None, kind="sum"):
    """Per-user metric by plain pandas: purchases from first exposure (to end / window)."""
    first = ev[ev["variant"].notna()].groupby("user_id")["timestamp"].min()
    arm = ev[ev["variant"].notna()].groupby("user_id")["variant"].first()
    p = ev[ev["event"] == "purchase"].copy()
    p["first"] = p["user_id"].map(first)
    if pre is not None:
        keep = (p["timestamp"] < p["first"]) & (p["timestamp"] >= p["first"] - pd.Timedelta(pre))
    else:
        keep = p["timestamp"] >= p["first"]
        if end is not None:
            keep &= p["timestamp"] < pd.Timestamp(end)
        if window is not None:
            keep &= p["timestamp"] < p["first"] + pd.Timedelta(window)
    p = p[keep]
    g = p.groupby("user_id")["order_value"]
    val = (g.sum() if kind == "sum" else g.size()).reindex(first.index, fill_value=0.0).astype(float)
    return val, arm


REV = Metric.sum("order_value", events="purchase", name="revenue")
ORDERS = Metric.count("purchase", name="orders")


@pytest.fixture(scope="module")
def log():
    return shop_log()


def run(ev, metrics, **kw):
    return fk.experiment(ev, ["visit", "purchase"], variant_col="variant", control="A", window="30D",
                         metrics=metrics, **kw)


def test_revenue_per_user_matches_pandas_and_welch(log):
    exp = run(log, [REV, ORDERS])
    val, arm = reference_values(log)
    m = exp.metrics.set_index(["metric", "variant"])
    a, b = val[arm == "A"].to_numpy(), val[arm == "B"].to_numpy()
    assert m.loc[("revenue", "A"), "users"] == a.size and m.loc[("revenue", "B"), "users"] == b.size
    assert m.loc[("revenue", "A"), "mean"] == pytest.approx(a.mean(), rel=1e-12)
    assert m.loc[("revenue", "B"), "total"] == pytest.approx(b.sum(), rel=1e-12)
    assert m.loc[("revenue", "B"), "std"] == pytest.approx(b.std(ddof=1), rel=1e-9)
    # Welch's t test on the per-user values (scipy), zeros for users without purchases
    ref = sps.ttest_ind(b, a, equal_var=False)
    assert m.loc[("revenue", "B"), "p_value"] == pytest.approx(ref.pvalue, rel=1e-8)
    assert m.loc[("revenue", "B"), "abs_diff"] == pytest.approx(b.mean() - a.mean(), rel=1e-10)
    lt = stats.mean_test(a.mean(), a.var(ddof=1), a.size, b.mean(), b.var(ddof=1), b.size)
    assert m.loc[("revenue", "B"), "rel_lift_ci_low"] == pytest.approx(lt.lift_ci_low, rel=1e-10)
    bt = stats.mean_bayes_test(a.mean(), a.var(ddof=1), a.size, b.mean(), b.var(ddof=1), b.size, relative=False)
    assert m.loc[("revenue", "B"), "chance_to_beat_control"] == pytest.approx(bt.chance_to_beat_control)
    # arm interval: mean ± t(n-1) sd / sqrt(n)
    half = sps.t.ppf(0.975, a.size - 1) * a.std(ddof=1) / np.sqrt(a.size)
    assert m.loc[("revenue", "A"), "mean_ci_high"] == pytest.approx(a.mean() + half, rel=1e-10)
    # the planted +25 % per order is found, its CI covers it
    assert m.loc[("revenue", "B"), "verdict"] == "significant increase"
    assert m.loc[("revenue", "B"), "rel_lift_ci_low"] < 0.25 < m.loc[("revenue", "B"), "rel_lift_ci_high"]
    cnt, _ = reference_values(log, kind="count")
    assert m.loc[("orders", "A"), "mean"] == pytest.approx(cnt[arm == "A"].mean())
    # tidy: fixed columns, one row per (metric, variant); rates NaN on metric rows
    from funnelkit.analyses.experiment import EXPERIMENT_COLUMNS

    assert tuple(exp.table.columns) == EXPERIMENT_COLUMNS
    assert exp.metrics[["rate", "converters"]].isna().all().all()
    assert exp.metrics["step"].isna().all()


def test_end_and_window_bound_the_events_counted(log):
    end = T0 + pd.Timedelta("12D")
    exp = run(log, [REV, Metric.sum("order_value", events="purchase", name="rev7", window="7D")], end=end)
    val, arm = reference_values(log, end=end)
    m = exp.metrics.set_index(["metric", "variant"])
    assert m.loc[("revenue", "B"), "mean"] == pytest.approx(val[arm == "B"].mean(), rel=1e-12)
    w, _ = reference_values(log, end=end, window="7D")
    assert m.loc[("rev7", "A"), "mean"] == pytest.approx(w[arm == "A"].mean(), rel=1e-12)


def test_capping_fixed_and_pooled_quantile(log):
    exp = run(log, [Metric.sum("order_value", events="purchase", name="capped", cap=100.0),
                    Metric.sum("order_value", events="purchase", name="q99", cap_quantile=0.99)])
    val, arm = reference_values(log)
    m = exp.metrics.set_index(["metric", "variant"])
    assert m.loc[("capped", "A"), "mean"] == pytest.approx(np.minimum(val[arm == "A"], 100).mean())
    q = np.quantile(val.to_numpy(), 0.99)  # pooled over both arms
    assert m.loc[("q99", "B"), "cap"] == pytest.approx(q)
    assert m.loc[("q99", "B"), "mean"] == pytest.approx(np.minimum(val[arm == "B"], q).mean())


def test_ratio_metric_is_the_delta_method_ratio_of_sums(log):
    aov = Metric.ratio(REV, ORDERS, name="aov")
    exp = run(log, [aov])
    val, arm = reference_values(log)
    cnt, _ = reference_values(log, kind="count")
    m = exp.metrics.set_index("variant")
    parts = []
    for v in ("A", "B"):
        x, d = val[arm == v].to_numpy(), cnt[arm == v].to_numpy()
        parts.append(stats.ratio_moments(x.size, x.sum(), (x * x).sum(), d.sum(), (d * d).sum(), (x * d).sum()))
        assert m.loc[v, "mean"] == pytest.approx(x.sum() / d.sum())
        assert m.loc[v, "denominator_total"] == d.sum()
    (ma, va), (mb, vb) = parts
    ref = stats.mean_test(ma, va, (arm == "A").sum(), mb, vb, (arm == "B").sum())
    assert m.loc["B", "p_value"] == pytest.approx(ref.p_value)
    assert m.loc["B", "rel_lift"] == pytest.approx(ref.lift)


def test_cuped_uses_the_pre_period_and_reduces_variance(log):
    cu = Metric.sum("order_value", events="purchase", name="rev_cuped", cuped=True, pre_period="14D")
    exp = run(log, [REV, cu])
    m = exp.metrics.set_index(["metric", "variant"])
    post, arm = reference_values(log)
    pre, _ = reference_values(log, pre="14D")
    a, b = arm == "A", arm == "B"

    def sums(mask):
        y, x = post[mask].to_numpy(), pre[mask].to_numpy()
        return (y.size, y.sum(), (y * y).sum(), x.sum(), (x * x).sum(), (x * y).sum())

    ref = stats.cuped(*sums(a), *sums(b))
    assert m.loc[("rev_cuped", "B"), "variance_reduction"] == pytest.approx(ref.variance_reduction)
    assert m.loc[("rev_cuped", "B"), "variance_reduction"] > 0.1  # spend level seen before exposure
    assert m.loc[("rev_cuped", "B"), "abs_diff"] == pytest.approx(ref.mean_t - ref.mean_c)
    # the adjusted interval is narrower; the unadjusted means are reported
    w = lambda k: m.loc[(k, "B"), "abs_diff_ci_high"] - m.loc[(k, "B"), "abs_diff_ci_low"]  # noqa: E731
    assert w("rev_cuped") < w("revenue")
    assert m.loc[("rev_cuped", "A"), "mean"] == pytest.approx(m.loc[("revenue", "A"), "mean"])


def test_guardrails_have_their_own_family_and_verdicts(log):
    guard = Metric.count("purchase", name="orders_guard", role="guardrail", margin=0.15)
    exp = run(log, [REV, guard])
    t = exp.table
    primary = t[(t["role"] == "primary") & (t["variant"] == "B") & t["p_value"].notna()]
    np.testing.assert_allclose(primary["p_adjusted"],
                               stats.adjust_pvalues(primary["p_value"].to_numpy(), method="holm"))
    g = t[(t["metric"] == "orders_guard") & (t["variant"] == "B")].iloc[0]
    cnt, arm = reference_values(log, kind="count")
    a, b = cnt[arm == "A"].to_numpy(), cnt[arm == "B"].to_numpy()
    ref = stats.mean_test(a.mean(), a.var(ddof=1), a.size, b.mean(), b.var(ddof=1), b.size, margin=0.15)
    assert g["p_value"] == pytest.approx(ref.noninferiority_p_value)
    assert g["p_adjusted"] == pytest.approx(g["p_value"])  # a family of one
    assert g["verdict"] == "not worse"
    worse = shop_log(lift=-0.3, seed=2)
    exp2 = run(worse, [Metric.sum("order_value", events="purchase", name="rev_guard", role="guardrail",
                                  margin=0.02)])
    assert exp2.metrics.set_index("variant").loc["B", "verdict"] == "worse"


def test_metrics_by_spec_text_and_sequential(log):
    exp = run(log, ["revenue=sum:order_value@purchase", "orders=count:purchase", "aov=ratio:revenue/orders"],
              sequential=True)
    m = exp.metrics.set_index(["metric", "variant"])
    val, arm = reference_values(log)
    a, b = val[arm == "A"].to_numpy(), val[arm == "B"].to_numpy()
    ref = stats.mean_test(a.mean(), a.var(ddof=1), a.size, b.mean(), b.var(ddof=1), b.size, sequential=True)
    assert m.loc[("revenue", "B"), "p_value"] == pytest.approx(ref.p_value)
    assert m.loc[("aov", "A"), "kind"] == "ratio"


@pytest.mark.parametrize("metrics, err, match", [
    ([Metric.sum("ordr_value", name="x")], MissingColumnError, "order_value"),
    ([Metric.sum("event", name="x")], ParameterError, "numeric"),
    (["revenue=total:order_value"], ParameterError, "KIND"),
    (["aov=ratio:revenue/orders"], ParameterError, "defined before"),
    ([REV, REV], ParameterError, "named 'revenue'"),
    ([42], ParameterError, "Metric objects"),
    ("revenue", ParameterError, "NAME=KIND"),
])
def test_bad_metrics_fail_before_any_work(log, metrics, err, match):
    with pytest.raises(err, match=match):
        run(log, metrics)


@pytest.mark.parametrize("kw, match", [
    (dict(role="guardrail"), "margin"), (dict(margin=0.1), "role='guardrail'"), (dict(cap=1, cap_quantile=0.9), "not both"),
    (dict(cap_quantile=1.5), "cap_quantile"), (dict(cuped="yes"), "cuped"), (dict(pre_period="soon"), "pre_period"),
    (dict(colour="red"), "Unknown metric option"), (dict(name="my metric"), "identifier"),
])
def test_metric_options_are_checked(kw, match):
    with pytest.raises(ParameterError, match=match):
        Metric.sum("order_value", **({"name": "m"} | kw))
    with pytest.raises(ParameterError, match="cuped"):
        Metric.mean("order_value", cuped=True)


def test_parse_metric_spec():
    m = parse_metric_spec("revenue=sum:order_value@purchase|refund;cap=0.99q;cuped=7D;window=3D;label=Revenue")
    assert (m.kind, m.column, m.events, m.cap_quantile, m.cuped) == ("sum", "order_value", ("purchase", "refund"), 0.99, True)
    assert m.pre_period == pd.Timedelta("7D") and m.window == pd.Timedelta("3D") and m.display() == "Revenue"
    g = parse_metric_spec("refunds=count:refund;role=guardrail;margin=0.05;lower_is_better")
    assert (g.role, g.margin, g.higher_is_better) == ("guardrail", 0.05, False)
    assert parse_metric_spec("n=count:*").events is None
    assert parse_metric_spec("c=sum:order_value;cap=250").cap == 250.0
    assert [x.name for x in check_metrics(["a=sum:order_value", "b=count:purchase", "r=ratio:a/b"])] == ["a", "b", "r"]
    with pytest.raises(ParameterError, match="not a number"):
        parse_metric_spec("x=sum:v;margin=abc")
    with pytest.raises(ParameterError, match="unknown option"):
        parse_metric_spec("x=sum:v;colour=red")


def test_caller_frame_is_not_modified(log):
    before = log.copy(deep=True)
    run(log, [REV, Metric.sum("order_value", events="purchase", name="c", cuped=True)])
    pd.testing.assert_frame_equal(log, before)


def test_engine_paths_equal_the_frame(log, tmp_path):
    # per-user sums go through the engine's driver: a Parquet file, spilled buckets and a Dask
    # frame give the same table as the in-memory frame, and the pandas reference of each value
    import dask
    import dask.dataframe as dd

    from funnelkit.analyses._exposure import first_exposure
    from funnelkit.analyses._metric_engine import first_exposure_engine, metric_values_engine
    from funnelkit.analyses._metric_values import first_ns_of, metric_values
    from funnelkit.io.normalize import ensure_events

    ev = ensure_events(log)
    first = first_exposure(ev, "variant")
    assert first_exposure_engine(log, "variant").sort_index().equals(first.sort_index())
    users = first.index
    cu = Metric.sum("order_value", events="purchase", name="c", cuped=True, window="5D")
    a = metric_values(ev, cu, users, first_ns_of(first, users), None)
    b = metric_values_engine(log, cu, users, first, None)
    np.testing.assert_allclose(a.post, b.post)
    np.testing.assert_allclose(a.pre, b.pre)
    path = tmp_path / "log.parquet"
    ev.to_parquet(path)
    metrics = [REV, ORDERS, Metric.ratio(REV, ORDERS, name="aov"), cu]
    kw = dict(variant_col="variant", control="A", window="30D", metrics=metrics, end=T0 + pd.Timedelta("12D"))
    want = fk.experiment(ev, ["visit", "purchase"], **kw).table
    pd.testing.assert_frame_equal(fk.experiment(str(path), ["visit", "purchase"], **kw).table, want)
    pd.testing.assert_frame_equal(
        fk.experiment(str(path), ["visit", "purchase"], memory_budget="2MB", **kw).table, want)
    with dask.config.set(scheduler="synchronous"):
        got = fk.experiment(dd.from_pandas(ev, npartitions=3), ["visit", "purchase"], **kw).table
    pd.testing.assert_frame_equal(got, want)


# --------------------------------------------------------------------------- mutation audit (experiment and stats)


def test_metric_window_boundaries_engine_and_reference():
    # User u (0..3) is first exposed (a visit with the variant) at F = T0 + u days; purchases at
    # F (value 1, counts: the window starts at first exposure, inclusive), F + 1 day (10: counts
    # unless window="1D", whose end is exclusive), F - 14 days (100: the first instant of the
    # 14-day pre-period, counts in pre), F - 14 days - 1 s (1000: before the pre-period) and
    # exactly at end = T0 + 10 days (10000: end is exclusive). So post = 1 + 10 = 11, pre = 100,
    # post with window 1D = 1; with cap=50 the pre-period value is capped too: min(100, 50) = 50.
    from funnelkit.analyses._exposure import first_exposure
    from funnelkit.analyses._metric_engine import metric_values_engine
    from funnelkit.analyses._metric_values import first_ns_of, metric_values
    from funnelkit.io.normalize import ensure_events

    u = np.arange(4)
    f = T0 + pd.to_timedelta(u, unit="D")
    end = T0 + pd.Timedelta("10D")
    parts = [pd.DataFrame({"user_id": u, "timestamp": f, "event": "visit",
                           "variant": np.where(u % 2 == 0, "A", "B"), "order_value": np.nan})]
    for at, value in ((f, 1.0), (f + pd.Timedelta("1D"), 10.0), (f - pd.Timedelta("14D"), 100.0),
                      (f - pd.Timedelta("14D") - pd.Timedelta("1s"), 1000.0),
                      (pd.DatetimeIndex([end] * 4), 10000.0)):
        parts.append(pd.DataFrame({"user_id": u, "timestamp": at, "event": "purchase", "variant": None,
                                   "order_value": value}))
    raw = pd.concat(parts, ignore_index=True)
    ev = ensure_events(raw)
    first = first_exposure(ev, "variant")
    users = first.index
    plain = Metric.sum("order_value", events="purchase", name="p", cuped=True, pre_period="14D")
    win = Metric.sum("order_value", events="purchase", name="w", window="1D")
    capped = Metric.sum("order_value", events="purchase", name="c", cap=50.0, cuped=True, pre_period="14D")
    want = {"p": ([11.0] * 4, [100.0] * 4), "w": ([1.0] * 4, None), "c": ([11.0] * 4, [50.0] * 4)}
    for m in (plain, win, capped):
        for uv in (metric_values_engine(raw, m, users, first, int(end.value)),
                   metric_values(ev, m, users, first_ns_of(first, users), int(end.value))):
            post, pre = want[m.name]
            np.testing.assert_array_equal(uv.post, post)
            if pre is None:
                assert uv.pre is None
            else:
                np.testing.assert_array_equal(uv.pre, pre)


def test_mean_metric_counts_only_users_with_a_value():
    # Metric.mean: per-user mean over their purchases, among users with at least one.
    # A (even ids): user 0 buys 10 and 20 (mean 15), user 2 buys 30, user 4 nothing -> 2 users,
    # mean (15 + 30) / 2 = 22.5; B: user 1 buys 5, user 3 buys 7 and 9 (8), user 5 nothing -> 2
    # users, mean 6.5, abs_diff -16.
    buys = {0: [10.0, 20.0], 2: [30.0], 1: [5.0], 3: [7.0, 9.0]}
    rows = [dict(user_id=i, timestamp=T0 + pd.Timedelta(hours=i), event="visit", order_value=np.nan)
            for i in range(6)]
    rows += [dict(user_id=i, timestamp=T0 + pd.Timedelta(hours=i, minutes=10 + k), event="purchase",
                  order_value=v) for i, vals in buys.items() for k, v in enumerate(vals)]
    ev = pd.DataFrame(rows)
    ev["variant"] = np.where(ev["user_id"] % 2 == 0, "A", "B")
    exp = run(ev, [Metric.mean("order_value", events="purchase", name="aov_user")], min_users=1)
    m = exp.metrics.set_index("variant")
    assert m["users"].tolist() == [2, 2]
    assert m.loc["A", "mean"] == pytest.approx(22.5) and m.loc["B", "mean"] == pytest.approx(6.5)
    assert m.loc["B", "abs_diff"] == pytest.approx(-16.0)


def test_cuped_relative_lift_divides_by_the_unadjusted_control_mean(log):
    # docs/statistics.md: the CUPED relative lift is the adjusted difference divided by the
    # *unadjusted* control mean (gbstats); its interval is mean_test's with base_c / base_t.
    cu = Metric.sum("order_value", events="purchase", name="rev_cuped", cuped=True, pre_period="14D")
    exp = run(log, [cu])
    m = exp.metrics.set_index("variant")
    assert m.loc["B", "rel_lift"] == pytest.approx(m.loc["B", "abs_diff"] / m.loc["A", "mean"], rel=1e-12)
    post, arm = reference_values(log)
    pre, _ = reference_values(log, pre="14D")

    def sums(mask):
        y, x = post[mask].to_numpy(), pre[mask].to_numpy()
        return (y.size, y.sum(), (y * y).sum(), x.sum(), (x * x).sum(), (x * y).sum())

    r = stats.cuped(*sums(arm == "A"), *sums(arm == "B"))
    ref = stats.mean_test(r.mean_c, r.var_c, (arm == "A").sum(), r.mean_t, r.var_t, (arm == "B").sum(),
                          base_c=r.base_c, base_t=r.base_t)
    assert m.loc["B", "rel_lift_ci_low"] == pytest.approx(ref.lift_ci_low, rel=1e-10)


def test_guardrails_stay_out_of_the_primary_family_and_inconclusive_is_not_worse(log):
    # Orders per user do not differ between arms: with margin 0.02 the guardrail's lift interval
    # spans 0 (about [-0.067, 0.033]) and its non-inferiority p is large (about 0.46): verdict
    # "inconclusive" (neither "not worse" nor the whole interval on the bad side), for either
    # direction. It must not enter the primary family: Holm over the 2 testable primary
    # comparisons (purchase step, revenue) multiplies the smallest p (revenue) by 2, not 3.
    guard = Metric.count("purchase", name="orders_guard", role="guardrail", margin=0.02)
    guard_low = Metric.count("purchase", name="orders_low", role="guardrail", margin=0.02,
                             higher_is_better=False)
    exp = run(log, [REV, guard, guard_low])
    b = exp.table[exp.table["variant"] == "B"]
    step = b[b["step"] == "purchase"].iloc[0]
    t = b[b["kind"] != "conversion"].set_index("metric")
    assert t.loc["orders_guard", "p_value"] > 0.3
    assert t.loc["orders_guard", "rel_lift_ci_low"] < 0 < t.loc["orders_guard", "rel_lift_ci_high"]
    assert t.loc["orders_guard", "verdict"] == "inconclusive"
    assert t.loc["orders_low", "verdict"] == "inconclusive"
    assert t.loc["revenue", "p_adjusted"] == pytest.approx(2 * t.loc["revenue", "p_value"], rel=1e-12)
    assert step["p_adjusted"] == pytest.approx(step["p_value"], rel=1e-12)  # max(2 p_rev, p_step)


def test_lower_is_better_metric_flips_the_bayesian_columns(log):
    # higher_is_better=False: beating control means a *lower* mean. B spends ~25 % more, so
    # chance = P(effect < 0) = 1 - Phi(mu/sigma) ~ 0 and the loss of shipping B is
    # E[max(effect, 0)] = mean_bayes_test's expected_loss_control (flat-prior normal posterior).
    cost = Metric.sum("order_value", events="purchase", name="cost", higher_is_better=False)
    exp = run(log, [cost])
    r = exp.metrics.set_index("variant").loc["B"]
    val, arm = reference_values(log)
    a, b = val[arm == "A"].to_numpy(), val[arm == "B"].to_numpy()
    bt = stats.mean_bayes_test(a.mean(), a.var(ddof=1), a.size, b.mean(), b.var(ddof=1), b.size, relative=False)
    assert r["chance_to_beat_control"] == pytest.approx(1 - bt.chance_to_beat_control, abs=1e-12)
    assert r["chance_to_beat_control"] < 0.01
    assert r["expected_loss"] == pytest.approx(bt.expected_loss_control, rel=1e-10)
