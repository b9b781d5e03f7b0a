"""Tests for funnelkit.experiment: per-step A/B comparisons, health checks, power."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

import funnelkit as fk
from funnelkit import stats
from funnelkit.errors import MissingColumnError, ParameterError
from funnelkit.analyses.experiment import EXPERIMENT_COLUMNS

T0 = pd.Timestamp("2024-03-01", tz="UTC")
STEPS = ["visit", "cart", "buy"]


def arm_log(variant: str, reach: list[int], *, start_uid: int = 0, gap_s: int = 60) -> pd.DataFrame:
    """An arm whose users reach the steps: reach[k] users reach step k (non-increasing).

    Users start 1 minute apart; user i of the arm who reaches step k does so
    (k * gap_s + i) seconds after entering (so durations differ between users).
    """
    n = reach[0]
    rows_u, rows_t, rows_e = [], [], []
    for k, c in enumerate(reach):
        uids = np.arange(c) + start_uid
        rows_u.append(uids)
        rows_t.append((uids - start_uid) * 60 + k * gap_s + (uids - start_uid) * (k > 0))
        rows_e.append(np.full(c, STEPS[k]))
    df = pd.DataFrame(
        {
            "user_id": np.concatenate(rows_u),
            "timestamp": (T0 + pd.to_timedelta(np.concatenate(rows_t), unit="s")).as_unit("ns"),
            "event": pd.Categorical(np.concatenate(rows_e), categories=STEPS),
        }
    )
    df["variant"] = variant
    assert df["user_id"].nunique() == n
    return df


def two_arms(reach_a, reach_b, **kw):
    a = arm_log("A", reach_a)
    b = arm_log("B", reach_b, start_uid=10**6, **kw)
    return pd.concat([a, b], ignore_index=True)


def test_table_matches_stats_and_scipy():
    ev = two_arms([1000, 400, 100], [1000, 420, 140])
    exp = fk.experiment(ev, STEPS, variant_col="variant", control="A", window="1D")
    t = exp.table
    assert tuple(t.columns) == EXPERIMENT_COLUMNS
    assert t["variant"].tolist() == ["A"] * 3 + ["B"] * 3
    assert t["users"].tolist() == [1000] * 6
    assert t["converters"].tolist() == [1000, 400, 100, 1000, 420, 140]
    np.testing.assert_allclose(t["rate"], [1, 0.4, 0.1, 1, 0.42, 0.14])
    np.testing.assert_allclose(t["step_rate"], [1, 0.4, 0.25, 1, 0.42, 140 / 420])
    # control rows carry NaN in every comparison column
    assert t.loc[:2, "abs_diff":"expected_loss"].isna().all().all()
    # Wilson CIs (statsmodels' proportion_confint(method="wilson") is checked in test_stats)
    lo, hi = stats.proportion_ci(140, 1000)
    assert t.loc[5, "rate_ci_low"] == pytest.approx(lo) and t.loc[5, "rate_ci_high"] == pytest.approx(hi)
    # Welch test against scipy.stats.ttest_ind_from_stats (per-user sd sqrt(p(1-p)), equal_var=False)
    pa, pb = 0.1, 0.14
    ref = sps.ttest_ind_from_stats(pb, np.sqrt(pb * (1 - pb)), 1000, pa, np.sqrt(pa * (1 - pa)), 1000, equal_var=False)
    assert t.loc[5, "p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert t.loc[5, "abs_diff"] == pytest.approx(0.04)
    assert t.loc[5, "rel_lift"] == pytest.approx(0.4)
    # Holm over steps x variants (here: the 3 steps of B)
    np.testing.assert_allclose(
        t.loc[3:5, "p_adjusted"], stats.adjust_pvalues(t.loc[3:5, "p_value"].to_numpy(), method="holm"), equal_nan=True
    )
    # step 1: every user of both arms reached it (100 % vs 100 %): no test, no verdict (issue 16)
    assert t.loc[3, "verdict"] == "" and np.isnan(t.loc[3, "chance_to_beat_control"])
    assert t.loc[5, "verdict"] == "significant increase"
    assert 0.99 < t.loc[5, "chance_to_beat_control"] <= 1
    assert exp.srm.p_value == pytest.approx(1.0)
    assert exp.health.empty


def test_three_variants_family_and_verdicts():
    a = arm_log("A", [500, 200, 50])
    b = arm_log("B", [500, 200, 80], start_uid=10**6)
    c = arm_log("C", [500, 150, 40], start_uid=2 * 10**6)
    ev = pd.concat([a, b, c], ignore_index=True)
    exp = fk.experiment(ev, STEPS, variant_col="variant", control="A", window="1D", correction="bh")
    t = exp.table
    comp = t[t["variant"] != "A"]
    assert len(comp) == 6
    np.testing.assert_allclose(
        comp["p_adjusted"], stats.adjust_pvalues(comp["p_value"].to_numpy(), method="bh"), equal_nan=True
    )
    assert exp.variants == ("A", "B", "C")
    verdict = comp.set_index(["variant", "step"])["verdict"]
    assert verdict[("B", "buy")] == "significant increase"
    assert verdict[("C", "cart")] == "significant decrease"


def test_multiple_exposure_and_users_without_variant_are_reported():
    ev = two_arms([100, 50, 10], [100, 50, 10])
    extra = ev[ev["user_id"] == 0].copy()
    extra["variant"] = "B"  # user 0 seen in A and B
    none = ev[ev["user_id"] == 1].copy()
    none["user_id"] = 5_000_000
    none["variant"] = None
    ev2 = pd.concat([ev, extra, none], ignore_index=True)
    exp = fk.experiment(ev2, STEPS, variant_col="variant", control="A", window="1D", min_users=10)
    assert exp.table.loc[exp.table["variant"] == "A", "users"].iloc[0] == 99
    assert exp.diagnostics["multiple_exposure_users"] == 1
    assert exp.diagnostics["users_without_variant"] == 1
    assert set(exp.health["check"]) == {"multiple_exposure", "no_variant"}
    assert "more than one variant" in exp.health.set_index("check").loc["multiple_exposure", "message"]


def test_edge_cases_do_not_crash():
    # zero-conversion control at the last step
    ev = two_arms([200, 50, 0], [200, 50, 5])
    exp = fk.experiment(ev, STEPS, variant_col="variant", control="A", window="1D")
    row = exp.table.iloc[5]
    assert np.isnan(row["rel_lift"]) and row["abs_diff"] == pytest.approx(0.025)
    assert "zero_control" in set(exp.health["check"])
    # 100% conversion in both arms
    full = two_arms([50, 50, 50], [50, 50, 50])
    exp = fk.experiment(full, STEPS, variant_col="variant", control="A", window="1D", min_users=10)
    assert (exp.table["verdict"].iloc[3:] == "").all()  # 100 % vs 100 %: no test, no verdict
    # a single variant
    single = arm_log("A", [30, 10, 3])
    exp = fk.experiment(single, STEPS, variant_col="variant", control="A", window="1D")
    assert exp.table["variant"].unique().tolist() == ["A"]
    assert "single_variant" in set(exp.health["check"])
    # an arm planned in `weights` without any user
    exp = fk.experiment(single, STEPS, variant_col="variant", control="A", window="1D", weights={"A": 1, "B": 1})
    b = exp.table[exp.table["variant"] == "B"]
    assert b["users"].tolist() == [0, 0, 0] and b["rate"].isna().all()
    assert (b["verdict"] == "too few users to conclude").all()


def test_srm_and_suspicious_lift_and_small_arms():
    ev = two_arms([1000, 100, 10], [700, 200, 60])
    exp = fk.experiment(ev, STEPS, variant_col="variant", control="A", window="1D")
    checks = set(exp.health["check"])
    assert exp.srm.flagged and "srm" in checks
    assert exp.srm.chi2 == pytest.approx(sps.chisquare([1000, 700]).statistic)
    assert "suspicious_lift" in checks
    from funnelkit.analyses.experiment import HEALTH_COLUMNS

    assert tuple(exp.health.columns) == HEALTH_COLUMNS
    sus = exp.health[exp.health["check"] == "suspicious_lift"].set_index("step")
    assert set(sus["variant"]) == {"B"}
    t = exp.table.set_index(["variant", "step"])
    for step, row in sus.iterrows():
        assert row["value"] == pytest.approx(t.loc[("B", step), "rel_lift"])
    small = two_arms([20, 5, 1], [20, 8, 2])
    exp = fk.experiment(small, STEPS, variant_col="variant", control="A", window="1D")
    assert "too_few_users" in set(exp.health["check"])
    assert (exp.table["verdict"].iloc[3:] == "too few users to conclude").all()


def test_sequential_and_alternative_options():
    ev = two_arms([1000, 400, 100], [1000, 420, 140])
    seq = fk.experiment(ev, STEPS, variant_col="variant", control="A", window="1D", sequential=True)
    with pytest.warns(fk.errors.StatisticsWarning):  # step 1: both rates are 1, SE = 0
        ref = stats.sequential_test([1000, 400, 100], [1000] * 3, [1000, 420, 140], [1000] * 3)
    np.testing.assert_allclose(seq.table["p_value"].iloc[3:], ref.p_value, equal_nan=True)
    np.testing.assert_allclose(seq.table["abs_diff_ci_low"].iloc[3:], ref.ci_low, equal_nan=True)
    fixed = fk.experiment(ev, STEPS, variant_col="variant", control="A", window="1D")
    assert seq.table["p_value"].iloc[5] > fixed.table["p_value"].iloc[5]
    one = fk.experiment(ev, STEPS, variant_col="variant", control="A", window="1D", alternative="larger")
    assert one.table["p_value"].iloc[5] == pytest.approx(fixed.table["p_value"].iloc[5] / 2, rel=1e-6)
    pooled = fk.experiment(ev, STEPS, variant_col="variant", control="A", window="1D", test="z_pooled")
    from statsmodels.stats.proportion import proportions_ztest

    assert pooled.table["p_value"].iloc[5] == pytest.approx(proportions_ztest([140, 100], [1000, 1000])[1])


def test_timing_and_power_tables():
    ev = two_arms([300, 200, 100], [300, 200, 100], gap_s=120)
    exp = fk.experiment(ev, STEPS, variant_col="variant", control="A", window="1D", min_users=10)
    tm = exp.timing
    assert tm["transition"].tolist() == ["visit → cart", "cart → buy"]
    ua = exp.funnels["A"].units
    ub = exp.funnels["B"].units
    da = (ua["cart"] - ua["visit"]).dropna().dt.total_seconds().to_numpy()
    db = (ub["cart"] - ub["visit"]).dropna().dt.total_seconds().to_numpy()
    ref = sps.mannwhitneyu(db, da, alternative="two-sided")
    assert tm.loc[0, "p_value"] == pytest.approx(ref.pvalue)
    assert tm.loc[0, "n_control"] == 200 and tm.loc[0, "n_variant"] == 200
    pw = exp.power.set_index("step")
    # the Welch test at the Holm family's level (2 testable comparisons: cart and buy)
    need = stats.sample_size(200 / 300, 0.10, relative=True, method="welch", n_tests=2)
    assert pw.loc["cart", "needed_per_arm"] == pytest.approx(need)
    assert pw.loc["cart", "still_needed"] == max(0, np.ceil(need - 300))
    assert pw.loc["cart", "mde_abs"] == pytest.approx(stats.mde(200 / 300, 300, n_tests=2))
    assert np.isnan(pw.loc["visit", "mde_abs"])  # baseline rate 1: no power analysis


def test_bad_inputs():
    ev = two_arms([10, 5, 1], [10, 5, 1])
    with pytest.raises(ParameterError, match=r"control='a'.*Did you mean 'A'"):
        fk.experiment(ev, STEPS, variant_col="variant", control="a")
    with pytest.raises(MissingColumnError, match="variant"):
        fk.experiment(ev, STEPS, variant_col="varaint", control="A")
    with pytest.raises(ParameterError, match="alpha"):
        fk.experiment(ev, STEPS, variant_col="variant", control="A", alpha=5)
    with pytest.raises(ParameterError, match="weights"):
        fk.experiment(ev, STEPS, variant_col="variant", control="A", weights=[1, 2, 3])
    before = ev.copy(deep=True)
    fk.experiment(ev, STEPS, variant_col="variant", control="A", window="1D")
    pd.testing.assert_frame_equal(ev, before)


def test_bundled_sample_finds_the_planted_lift():
    from funnelkit.datasets import shop_journey

    ev = fk.load_sample("shop")
    exp = fk.experiment(ev, shop_journey(), variant_col="variant", control="A", window="7D")
    t = exp.table.set_index(["variant", "step"])
    buy = t.loc[("B", "purchase")]
    assert buy["verdict"] == "significant increase"
    # the planted lift is x1.20 on consideration -> purchase; its CI covers it
    assert buy["rel_lift_ci_low"] < 0.20 < buy["rel_lift_ci_high"]
    # steps without a planted effect are not flagged
    assert t.loc[("B", "consideration"), "verdict"] == "no significant difference"
    assert t.loc[("B", "discovery"), "verdict"] == ""  # 100 % vs 100 %: no verdict
    assert not exp.srm.flagged
    # downstream steps differ only because more users purchased: the sentence says so
    text = exp.conclusions("en")
    assert len(text) == 5
    assert "raises" in text[2] and "Purchase" in text[2] and "earlier steps" not in text[2]
    assert "earlier steps" in text[3] and "Use" in text[3]
    es = exp.conclusions("es")
    assert "aumenta" in es[2] and "Compra" in es[2] and "etapas anteriores" in es[3]


def _user_variants_reference(frame, col, unit_ids):
    """The pandas formulation: drop nulls, distinct (user, variant) pairs, count per user."""
    sub = frame[["user_id", col]].dropna(subset=[col])
    pairs = sub.drop_duplicates()
    n_var = pairs.groupby("user_id", observed=True, sort=False)[col].nunique()
    one = pairs[pairs["user_id"].isin(n_var.index[n_var == 1])].drop_duplicates(subset=["user_id"])
    mapping = dict(zip(one["user_id"], one[col]))
    values = [mapping.get(u) for u in unit_ids]
    return values, int((n_var > 1).sum()), int(len(unit_ids) - len(n_var))


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(0, 6), st.sampled_from(["A", "B", "C", None])), min_size=1, max_size=30),
    categorical=st.booleans(),
    string_ids=st.booleans(),
)
def test_user_variants_match_pandas_reference(rows, categorical, string_ids):
    """The engine's per-user variant (smallest and largest value code per user, folded
    block by block) equals the pandas formulation."""
    import importlib

    from funnelkit.io.normalize import ensure_events
    from funnelkit.journey.steps import resolve_steps
    from funnelkit.analyses.experiment import _variants_from_codes

    fm = importlib.import_module("funnelkit.analyses.funnel")
    ev = ensure_events(pd.DataFrame({
        "user_id": [f"u{u}" if string_ids else u * 10 for u, _ in rows],
        "timestamp": pd.to_datetime(range(len(rows)), unit="s", utc=True),
        "event": ["x"] * len(rows),
        "variant": pd.Categorical([v for _, v in rows]) if categorical else pd.Series([v for _, v in rows], dtype=object),
    }))
    ids = pd.Index(sorted(ev["user_id"].unique()), name="user_id")
    params, s_ns, e_ns = fm._checked_params(window=None, mode="ordered", window_from="entry", unit="user",
                                            by=None, attribution="first_touch", max_groups=25, exclude=None,
                                            start=None, end=None, lang=None)
    req = fm._request(resolve_steps(["x"]), params, s_ns, e_ns, session_col="session_id",
                      attr_col="variant", attr_mode="range")
    part = fm.compute(ev, req)
    assert part.unit_ids.equals(ids)
    uv, multi, without = _variants_from_codes(part.attr, part.attr_max, np.asarray(part.attr_values, dtype=object),
                                              part.unit_ids)
    ref, ref_multi, ref_without = _user_variants_reference(ev, "variant", ids)
    assert (multi, without) == (ref_multi, ref_without)
    assert [None if pd.isna(v) else v for v in uv.tolist()] == ref
    assert uv.index.equals(ids)


# --------------------------------------------------------------------------- issue 14 defects


def test_power_describes_the_welch_test_run_sequential_and_corrected():
    # issue 14, defect 1: control 5 %, 2,000 users per arm
    ev = two_arms([2000, 100], [2000, 100])
    base = dict(variant_col="variant", control="A", window="1D", steps=None)
    base.pop("steps")
    fixed = fk.experiment(ev, STEPS[:2], correction="none", **base).power.set_index("step")
    m = fixed.loc["cart", "mde_rel"]
    assert m == pytest.approx(stats.mde(0.05, 2000, relative=True, method="welch"))
    assert m > stats.mde(0.05, 2000, relative=True, method="evanmiller") + 0.02  # no longer optimistic
    seq = fk.experiment(ev, STEPS[:2], correction="none", sequential=True, **base).power.set_index("step")
    assert seq.loc["cart", "mde_rel"] == pytest.approx(stats.mde(0.05, 2000, relative=True, sequential=True))
    assert seq.loc["cart", "mde_rel"] > m
    ev3 = two_arms([2000, 100, 50], [2000, 100, 50])
    holm = fk.experiment(ev3, STEPS, **base).power.set_index("step")  # 2 testable comparisons
    assert holm.loc["cart", "mde_rel"] == pytest.approx(stats.mde(0.05, 2000, relative=True, n_tests=2))
    assert holm.loc["cart", "power_at_target"] == pytest.approx(
        stats.power(0.05, 0.10, 2000, relative=True, n_tests=2))


def test_srm_flags_a_planned_arm_without_users():
    # issue 14, defect 2: a planned arm that received nobody raises the alarm
    ev = two_arms([300, 100, 10], [300, 100, 10])
    exp = fk.experiment(ev, STEPS, variant_col="variant", control="A", window="1D",
                        weights={"A": 1, "B": 1, "C": 1})
    assert exp.exposure["variant"].tolist() == ["A", "B", "C"]
    assert exp.srm.flagged and not exp.srm.skipped
    assert "srm" in exp.health["check"].tolist()


def test_alternative_smaller_runs_and_powers_a_decrease():
    # issue 14, defect 3: alternative="smaller" raised ParameterError from the power step
    ev = two_arms([1000, 420, 140], [1000, 400, 100])
    exp = fk.experiment(ev, STEPS, variant_col="variant", control="A", window="1D", alternative="smaller")
    assert exp.table.loc[5, "verdict"] == "significant decrease"
    pw = exp.power.set_index("step")
    assert pw.loc["buy", "mde_abs"] < 0
    assert pw.loc["buy", "power_at_target"] == pytest.approx(
        stats.power(0.14, -0.10, 1000, relative=True, alternative="smaller", n_tests=2))


@pytest.mark.parametrize("alternative", ["larger", "smaller"])
def test_one_sided_sequential_is_refused(alternative):
    # issue 14, defect 4: it used to run a two-sided sequential test silently
    ev = two_arms([100, 40, 10], [100, 42, 14])
    with pytest.raises(ParameterError, match="two-sided only"):
        fk.experiment(ev, STEPS, variant_col="variant", control="A", sequential=True, alternative=alternative)


def staggered(n_per_arm: int = 400, days: int = 14) -> pd.DataFrame:
    """Two arms whose users arrive uniformly over ``days`` days; everyone visits, a third buy."""
    rng = np.random.default_rng(3)
    u = np.arange(2 * n_per_arm)
    t0 = T0 + pd.to_timedelta(np.sort(rng.uniform(0, days * 86400, u.size)).round(), unit="s")
    t0 = t0[rng.permutation(u.size)]
    buy = u % 3 == 0
    ev = pd.DataFrame({
        "user_id": np.concatenate([u, u[buy]]),
        "timestamp": np.concatenate([t0, t0[buy] + pd.Timedelta("1h")]),
        "event": ["visit"] * u.size + ["buy"] * int(buy.sum()),
    })
    ev["variant"] = np.where(ev["user_id"] % 2 == 0, "A", "B")
    return ev, pd.Series(t0, index=u)


def test_end_bounds_first_exposure_and_every_denominator():
    # issue 14, defect 5: with end= on day 3 of 14, only the users exposed by then count
    ev, first = staggered()
    end = T0 + pd.Timedelta("3D")
    exp = fk.experiment(ev, ["visit", "buy"], variant_col="variant", control="A", window="1D", end=end)
    by_arm = first[first < end].groupby(np.where(first[first < end].index % 2 == 0, "A", "B")).size()
    t = exp.table.set_index(["variant", "step"])
    assert t.loc[("A", "visit"), "users"] == by_arm["A"] and t.loc[("B", "visit"), "users"] == by_arm["B"]
    assert exp.exposure["users"].sum() == (first < end).sum() < 800
    assert t.loc[("A", "visit"), "rate"] == 1.0  # every user exposed by then visited by then
    assert exp.diagnostics["users_exposed_outside_range"] == 800 - (first < end).sum()
    start = T0 + pd.Timedelta("10D")
    late = fk.experiment(ev, ["visit", "buy"], variant_col="variant", control="A", window="1D", start=start)
    assert late.exposure["users"].sum() == (first >= start).sum()
    assert late.table["rate"].iloc[0] == 1.0
    assert "exposed_outside_range" in late.health["check"].tolist()
    assert late.params["start"] == start


@pytest.mark.parametrize("kw, match", [
    (dict(alpha="x"), "alpha"), (dict(alpha=True), "alpha"), (dict(n_star="5000"), "n_star"),
    (dict(sequential="yes"), "sequential"), (dict(bayes=1), "bayes"), (dict(target_lift="0.1"), "target_lift"),
    (dict(target_lift=float("nan")), "target_lift"), (dict(power_target=1.5), "power_target"),
    (dict(power_target="0.8"), "power_target"), (dict(min_users=-1), "min_users"),
    (dict(min_users=2.5), "min_users"), (dict(weights="50/50"), "weights"), (dict(weights=[1, -1]), "weights"),
    (dict(weights={"A": 1, "B": "x"}), "weights"), (dict(variant_col=3), "variant_col"),
    (dict(control=None), "control"), (dict(correction="holms"), "correction"), (dict(test="t"), "test"),
    (dict(ci_method="exact"), "ci_method"), (dict(alternative="greater"), "alternative"),
    (dict(start="yesterday-ish"), "start"), (dict(window="7 parsecs"), "window"),
])
def test_every_argument_is_checked_at_the_boundary(kw, match):
    # issue 14, defect 6: alpha="x" gave "ValueError: could not convert string to float"
    ev = two_arms([10, 5, 1], [10, 5, 1])
    args = dict(variant_col="variant", control="A") | kw
    with pytest.raises(ParameterError, match=match):
        fk.experiment(ev, STEPS, **args)


def test_tmp_dir_refused_before_any_work(tmp_path):
    from funnelkit.errors import FunnelkitError, ParameterError

    ev = fk.load_sample("shop")
    with pytest.raises(FunnelkitError, match="does not exist"):
        fk.experiment(ev, fk.datasets.shop_journey(), variant_col="variant", control="A", tmp_dir=tmp_path / "nope")
    with pytest.raises(ParameterError, match="tmp_dir"):
        fk.experiment(ev, fk.datasets.shop_journey(), variant_col="variant", control="A", tmp_dir=3)


def test_timing_reads_step_times_when_a_step_is_named_like_a_units_column():
    # a step named "level" collides with the units' level column: the time between steps
    # must come from the step's times (it read the level numbers once: -19724 days)
    rows = []
    for u in range(20):
        arm, gap = ("A", 60) if u % 2 else ("B", 30)
        t0 = T0 + pd.Timedelta(minutes=u)
        rows += [(u, t0, "visit", arm), (u, t0 + pd.Timedelta(seconds=gap + u), "level", arm),
                 (u, t0 + pd.Timedelta(seconds=3 * gap + u), "buy", arm)]
    ev = pd.DataFrame(rows, columns=["user_id", "timestamp", "event", "variant"])
    exp = fk.experiment(ev, ["visit", "level", "buy"], variant_col="variant", control="A")
    t = exp.timing.set_index("transition")
    # control (odd ids 1..19): visit -> level takes 60 + u s, median 70 s; B (even 0..18): 30 + u, median 39 s
    assert t.loc["visit → level", "median_control"] == pd.Timedelta(seconds=70)
    assert t.loc["visit → level", "median_variant"] == pd.Timedelta(seconds=39)
    assert t.loc["level → buy", "median_control"] == pd.Timedelta(seconds=120)
    assert t.loc["level → buy", "median_variant"] == pd.Timedelta(seconds=60)
    assert (t["n_control"] == 10).all() and (t["n_variant"] == 10).all()
    # the per-variant funnels are built on first access, with the same step times
    assert list(exp.funnels) == ["A", "B"] and len(exp.funnels) == 2
    a = exp.funnels["A"]
    assert a is exp.funnels["A"] and a.table["units"].tolist() == [10, 10, 10]
    assert a.step_times["level"].tolist() == [T0 + pd.Timedelta(minutes=u, seconds=60 + u) for u in range(1, 20, 2)]


# --------------------------------------------------------------------------- mutation audit (experiment and stats)


def test_range_bounds_first_exposure_half_open():
    # [start, end) bounds first exposure: 8 users, user i exposed (visit) at T0 + i h, buys 10 min
    # later; even ids A, odd B. start = 2 h, end = 6 h -> users 2, 3, 4, 5 are in (user 2 exactly
    # at start is in, user 6 exactly at end is out): 2 per arm, 4 outside (users 0, 1, 6, 7).
    u = np.arange(8)
    t = T0 + pd.to_timedelta(u, unit="h")
    ev = pd.DataFrame({"user_id": np.r_[u, u], "timestamp": np.r_[t, t + pd.Timedelta("10min")],
                       "event": ["visit"] * 8 + ["buy"] * 8})
    ev["variant"] = np.where(ev["user_id"] % 2 == 0, "A", "B")
    exp = fk.experiment(ev, ["visit", "buy"], variant_col="variant", control="A", window="1D",
                        start=T0 + pd.Timedelta("2h"), end=T0 + pd.Timedelta("6h"), min_users=1)
    assert exp.exposure["users"].tolist() == [2, 2]
    assert exp.diagnostics["users_exposed_outside_range"] == 4
    assert exp.table["users"].tolist() == [2, 2, 2, 2]


def test_verdict_uses_the_corrected_p_value():
    # B: buy 130/1000 vs 100/1000, cart 400 vs 400. Welch p(buy) = 0.0354 (z = 0.03 / 0.01425),
    # p(cart) = 1; Holm over the 2 testable steps: 2 x 0.0354 = 0.0708 > 0.05 -> not significant,
    # although the raw p-value is below alpha.
    ev = two_arms([1000, 400, 100], [1000, 400, 130])
    exp = fk.experiment(ev, STEPS, variant_col="variant", control="A", window="1D")
    r = exp.table.set_index(["variant", "step"]).loc[("B", "buy")]
    assert r["p_value"] < 0.05 and r["p_adjusted"] == pytest.approx(2 * r["p_value"])
    assert r["verdict"] == "no significant difference"


def test_power_of_unequal_arms_uses_the_harmonic_mean():
    # A 1000 users (300 reach cart), B 3000 (900): power at the harmonic mean
    # 2 / (1/1000 + 1/3000) = 1500 users per arm (not the arithmetic 2000); one testable step.
    a = arm_log("A", [1000, 300])
    b = arm_log("B", [3000, 900], start_uid=10**6)
    ev = pd.concat([a, b], ignore_index=True)
    exp = fk.experiment(ev, STEPS[:2], variant_col="variant", control="A", window="1D", weights=[1, 3])
    pw = exp.power.set_index("step").loc["cart"]
    assert pw["users_per_arm"] == pytest.approx(1500.0)
    assert pw["mde_abs"] == pytest.approx(stats.mde(0.3, 1500, method="welch"))
    assert pw["power_at_target"] == pytest.approx(stats.power(0.3, 0.10, 1500, relative=True))
