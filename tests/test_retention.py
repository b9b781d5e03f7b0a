"""analyses/retention.py: cohort tables of every kind against hand-made logs and a slow
obvious reference; censoring, time zones and DST; variants; loyalty."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

import funnelkit as fk
from funnelkit.analyses.retention import loyalty, retention
from funnelkit.errors import ParameterError

UTC = "UTC"
MAD = "Europe/Madrid"


def _log(rows: list[tuple], tz: str = UTC) -> pd.DataFrame:
    """rows: (user, local time string in tz, event[, channel])."""
    df = pd.DataFrame(rows, columns=["user_id", "ts", "event", "channel"][: len(rows[0])])
    ts = pd.to_datetime(df.pop("ts"))
    df.insert(1, "timestamp", ts.dt.tz_localize(tz).dt.tz_convert("UTC"))
    return df


def _cells(res, cols=("period", "cohort_size", "retained", "complete")) -> list[tuple]:
    return [tuple(r) for r in res.table[["cohort", *cols]].assign(
        cohort=lambda d: d["cohort"].dt.strftime("%m-%d")).itertuples(index=False)]


# -------------------------------------------------------------------------------------
# the slow obvious reference
# -------------------------------------------------------------------------------------


def _pidx(ts: pd.Timestamp, cal: str, tz: str) -> int:
    loc = ts.tz_convert(tz).tz_localize(None)
    return int(loc.to_period({"h": "h", "D": "D", "W": "W-SUN", "M": "M"}[cal]).ordinal)


def _pstart(ts: pd.Timestamp, cal: str, tz: str, plus: int) -> pd.Timestamp:
    loc = ts.tz_convert(tz).tz_localize(None)
    p = loc.to_period({"h": "h", "D": "D", "W": "W-SUN", "M": "M"}[cal]) + plus
    return p.start_time.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")


def ref_retention(ev: pd.DataFrame, *, start=None, returning=None, period="D", kind="n_period", brackets=None,
                  cohort="first", cohort_period=None, tz=UTC, by=None, periods=None) -> pd.DataFrame:
    """Row by row: per user, anchors, then every return's offset; cells as in the docs."""
    fixed = None if period in ("h", "D", "W", "M") else pd.Timedelta(period)
    cp = cohort_period or (period if fixed is None else "D")
    e = ev.copy()
    e["aval"] = e[by].astype(object).where(e[by].notna(), None) if by else None
    # ties at one instant: by value nulls last, then the engine's rule bits (start-only first)
    e["akey"] = e["aval"].map(lambda v: (1, "") if v is None else (0, str(v))) if by else 0
    s_ = e["event"].eq(start) if start is not None else None
    r_ = e["event"].eq(returning) if returning is not None else pd.Series(True, index=e.index)
    e["bits"] = (s_.astype(int) + 2 * r_.astype(int)) if s_ is not None else r_.astype(int)
    e = e.sort_values(["user_id", "timestamp", "akey", "bits"], kind="stable").reset_index(drop=True)
    obs = e["timestamp"].max() + pd.Timedelta(1, "ns")
    sizes: dict = {}
    cells: dict = {}
    trange: dict = {}
    for _, g in e.groupby("user_id", sort=True):
        rows = list(g.itertuples(index=False))
        is_s = [start is None or r.event == start for r in rows]
        is_r = [returning is None or r.event == returning for r in rows]
        anchors = []
        seen = set()
        for i, r in enumerate(rows):
            if not is_s[i]:
                continue
            c = _pidx(r.timestamp, cp, tz)
            if cohort == "first" and anchors:
                break
            if cohort == "recurring" and c in seen:
                continue
            seen.add(c)
            anchors.append((i, c))
            if start is None and cohort == "first":
                break
        for i, c in anchors:
            ta = rows[i].timestamp
            grp = (rows[i].aval if rows[i].aval is not None else "(missing)") if by else None
            sizes[(c, grp)] = sizes.get((c, grp), 0) + 1
            lo, hi = trange.get(c, (ta, ta))
            trange[c] = (min(lo, ta), max(hi, ta))
            offs = set()
            for j, r in enumerate(rows):
                if j == i or not is_r[j] or r.timestamp < ta:
                    continue
                if fixed is not None:
                    o = (r.timestamp - ta) // fixed
                else:
                    o = _pidx(r.timestamp, period, tz) - _pidx(ta, period, tz)
                offs.add(int(o))
            if kind == "n_period":
                got = offs
            elif kind == "unbounded":
                got = set(range(max(offs) + 1)) if offs else set()
            else:
                got = {b for b, (a, z) in enumerate(brackets) if any(a <= o <= z for o in offs)}
            for o in got:
                cells[(c, grp, o)] = cells.get((c, grp, o), 0) + 1
    out = []
    for (c, grp), n in sorted(sizes.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        lo, hi = trange[c]
        o = 0
        while True:
            first_o, last_o = (brackets[o] if kind == "bracket" else (o, o)) if (kind != "bracket" or o < len(brackets)) else (None, None)
            if first_o is None or (periods is not None and o > periods):
                break
            if fixed is not None:
                began = lo + first_o * fixed < obs
                done = hi + (last_o + 1) * fixed <= obs
            else:
                began = _pstart(lo, period, tz, first_o) < obs
                done = _pstart(hi, period, tz, last_o + 1) <= obs
            if not began:
                break
            out.append({"cohort_i": c, "group": grp, "period": o, "cohort_size": n,
                        "retained": cells.get((c, grp, o), 0), "complete": bool(done)})
            o += 1
    return pd.DataFrame(out)


def _compare_ref(res, ref: pd.DataFrame, by=None) -> None:
    got = res.table
    cols = ["period", "cohort_size", "retained", "complete"] + (["group"] if by else [])
    g = got[cols].reset_index(drop=True)
    r = ref[cols].reset_index(drop=True) if len(ref) else pd.DataFrame(columns=cols)
    key = (["group"] if by else []) + ["period"]
    # the table is sorted by (cohort, group by value, period); the reference by (cohort, str(group), period)
    g = g.assign(_c=got["cohort"].rank(method="dense").to_numpy()).sort_values(["_c", *key], kind="stable")
    r = r.assign(_c=ref["cohort_i"].rank(method="dense").to_numpy() if len(ref) else []).sort_values(["_c", *key], kind="stable")
    pd.testing.assert_frame_equal(g.reset_index(drop=True).astype({"complete": bool}),
                                  r.reset_index(drop=True).astype(g.dtypes.to_dict()), check_dtype=False)


# -------------------------------------------------------------------------------------
# hand-made logs with known cohort tables
# -------------------------------------------------------------------------------------


@pytest.fixture
def daily() -> pd.DataFrame:
    return _log([
        (1, "2024-01-01 10:00", "a"), (1, "2024-01-02 09:00", "b"), (1, "2024-01-04 12:00", "a"),
        (2, "2024-01-01 23:00", "a"), (2, "2024-01-01 23:30", "b"),
        (3, "2024-01-02 08:00", "a"), (3, "2024-01-03 08:00", "a"), (3, "2024-01-04 23:59", "b"),
    ])


def test_n_period_daily_known_table_with_censored_cells(daily) -> None:
    res = retention(daily, period="D")
    # data end 01-04 23:59 (+1ns): day 3 of 01-01 ends 01-05 00:00 -> censored; 01-02's day 2 too
    assert _cells(res) == [
        ("01-01", 0, 2, 1, True), ("01-01", 1, 2, 1, True), ("01-01", 2, 2, 0, True), ("01-01", 3, 2, 1, False),
        ("01-02", 0, 1, 0, True), ("01-02", 1, 1, 1, True), ("01-02", 2, 1, 1, False),
    ]
    # the curve weights complete cells only: period 2 is 0/2 (01-02's censored 1/1 left out)
    cur = res.curve.set_index("period")
    assert cur.loc[2, ["cohorts", "cohort_size", "retained"]].tolist() == [1, 2, 0]
    assert cur.loc[3, "cohort_size"] == 0 and np.isnan(cur.loc[3, "rate"])
    assert cur.loc[1, "rate"] == pytest.approx(2 / 3)
    lo, hi = fk.stats.proportion_ci(2, 3)
    assert (cur.loc[1, "ci_low"], cur.loc[1, "ci_high"]) == pytest.approx((lo, hi))


def test_unbounded_and_bracket_known_tables(daily) -> None:
    res = retention(daily, period="D", kind="unbounded")
    assert [r[1:4] for r in _cells(res)] == [(0, 2, 2), (1, 2, 1), (2, 2, 1), (3, 2, 1), (0, 1, 1), (1, 1, 1), (2, 1, 1)]
    assert res.table["period_label"].tolist()[:2] == ["0+", "1+"]
    res = retention(daily, period="D", kind="bracket", brackets=[(0, 0), (1, 2), (3, 5)])
    assert _cells(res, ("period_label", "cohort_size", "retained", "complete")) == [
        ("01-01", "0", 2, 1, True), ("01-01", "1-2", 2, 1, True), ("01-01", "3-5", 2, 1, False),
        ("01-02", "0", 1, 0, True), ("01-02", "1-2", 1, 1, False),
    ]


def test_unbounded_with_periods_counts_later_returns() -> None:
    ev = _log([(1, "2024-01-01 10:00", "a"), (1, "2024-01-04 10:00", "a"), (2, "2024-01-01 11:00", "a")])
    res = retention(ev, period="D", kind="unbounded", periods=1)
    assert res.table[["period", "cohort_size", "retained"]].values.tolist() == [[0, 2, 1], [1, 2, 1]]
    n = retention(ev, period="D", periods=1)
    assert n.table["retained"].tolist() == [0, 0]


def test_start_and_return_events_and_fixed_periods(daily) -> None:
    res = retention(daily, start="a", returning="b", period="1D")
    # user 1: a@01-01 10:00, b 23h later (offset 0); user 2: b 30 min later (0); user 3: b 2d15h59 (2)
    t = res.table
    assert t["period"].max() == 3
    assert t.groupby("period")["retained"].sum().tolist() == [2, 0, 1, 0]
    # fixed periods: completeness from the cohort's latest start (01-01 23:00 + 4 days > end)
    assert t.loc[(t["period"] == 3), "complete"].tolist() == [False]


def test_recurring_cohorts(daily) -> None:
    res = retention(daily, period="D", cohort="recurring")
    cells = {(c, p): (n, r) for c, p, n, r, _ in _cells(res)}
    # 01-02 cohort: user 1 (active 01-02) and user 3; user 3 returns 01-03 and 01-04, user 1 on 01-04
    assert cells[("01-02", 0)] == (2, 0)
    assert cells[("01-02", 1)] == (2, 1)
    assert cells[("01-02", 2)] == (2, 2)
    assert cells[("01-04", 0)] == (2, 0)
    _compare_ref(res, ref_retention(daily, period="D", cohort="recurring"))


def test_recurring_monthly_cohorts_of_weekly_periods_across_a_month_start() -> None:
    # the week of 2024-01-29 (Mon) holds January's last and February's first starts: the
    # February anchor is 02-01, so 02-02 is a return in the anchor's own week (offset 0)
    ev = _log([(1, "2024-01-30 10:00", "a"), (1, "2024-02-01 10:00", "a"), (1, "2024-02-02 10:00", "a"),
               (1, "2024-02-06 10:00", "a"), (2, "2024-02-01 09:00", "a")])
    res = retention(ev, period="W", cohort_period="M", cohort="recurring")
    cells = {(c, p): (n, r) for c, p, n, r, _ in _cells(res)}
    assert cells[("01-01", 0)] == (1, 1)  # 01-30, then 02-01 and 02-02 in its week
    assert cells[("01-01", 1)] == (1, 1)  # 02-06
    assert cells[("02-01", 0)] == (2, 1)  # user 1: 02-02 after its 02-01 anchor; user 2: nothing
    assert cells[("02-01", 1)] == (2, 1)
    _compare_ref(res, ref_retention(ev, period="W", cohort_period="M", cohort="recurring"))


def test_dst_and_time_zone_edges() -> None:
    # Madrid springs forward on 2024-03-31 (02:00 -> 03:00): that local day has 23 hours
    ev = _log([
        (1, "2024-03-30 12:00", "a"), (1, "2024-03-31 11:30", "a"),  # 22.5 h later, next local day
        (2, "2024-03-30 23:30", "a"), (2, "2024-03-31 00:30", "a"),  # 00:30 local = 22:30 UTC on the 30th
        (3, "2024-04-02 12:00", "a"),
    ], tz=MAD)
    cal = retention(ev, period="D", tz=MAD)
    fixed = retention(ev, period="1D", tz=MAD)
    utc = retention(ev, period="D", tz=UTC)
    day1 = lambda r: r.table.query("cohort == cohort.min() and period == 1")["retained"].item()  # noqa: E731
    day0 = lambda r: r.table.query("cohort == cohort.min() and period == 0")["retained"].item()  # noqa: E731
    assert (day0(cal), day1(cal)) == (0, 2)  # both returned the next Madrid day
    assert (day0(fixed), day1(fixed)) == (2, 0)  # both within 24 hours
    # in UTC user 2's two events (22:30 and 23:30 UTC on the 30th) fall on one UTC day
    assert utc.table.query("period == 0")["retained"].sum() == 1
    # calendar cohorts start at local midnight; the DST day ends 23 hours after it starts
    t = cal.table.drop_duplicates("cohort")
    assert t["cohort"].dt.strftime("%Y-%m-%d %H:%M").tolist() == ["2024-03-30 00:00", "2024-04-02 00:00"]
    from funnelkit.engine.bucket_retention import calendar_index, period_start_ns

    d31 = calendar_index(np.array([pd.Timestamp("2024-03-31 12:00", tz=MAD).value]), "D", MAD)
    bounds = period_start_ns(np.concatenate([d31, d31 + 1]), "D", MAD)
    assert (bounds[1] - bounds[0]) / 3.6e12 == 23.0
    # a cohort cell on that day is complete only once the 23-hour day is over
    short = retention(ev.iloc[:2], period="D", tz=MAD, observed_until=pd.Timestamp(bounds[1], tz="UTC"))
    assert short.table["complete"].tolist() == [True, True]
    short = retention(ev.iloc[:2], period="D", tz=MAD, observed_until=pd.Timestamp(bounds[1] - 1, tz="UTC"))
    assert short.table["complete"].tolist() == [True, False]
    _compare_ref(cal, ref_retention(ev, period="D", tz=MAD))
    _compare_ref(fixed, ref_retention(ev, period="1D", tz=MAD))


def test_dst_autumn_week_and_month_periods() -> None:
    ev = _log([
        (1, "2024-10-26 12:00", "a"), (1, "2024-10-27 02:30", "b"),  # ambiguous local hour (fall back)
        (1, "2024-11-04 00:10", "a"), (2, "2024-10-31 23:50", "a"), (2, "2024-11-01 00:10", "a"),
    ][:2] + [(1, "2024-11-04 00:10", "a"), (2, "2024-10-31 23:50", "a"), (2, "2024-11-01 00:10", "a")], tz="UTC")
    for period in ("W", "M", "h"):
        for tz in (UTC, MAD, "America/New_York"):
            _compare_ref(retention(ev, period=period, tz=tz), ref_retention(ev, period=period, tz=tz))
    m = retention(ev, period="M", tz=MAD)
    # user 2: 23:50 UTC on Oct 31 is 00:50 Nov 1 in Madrid: both events in November there
    assert m.table.query("cohort.dt.month == 11 and period == 0")["retained"].item() == 1


def test_by_value_at_the_cohort_start_ties_by_value() -> None:
    ev = _log([
        (1, "2024-01-01 10:00", "a", "y"), (1, "2024-01-01 10:00", "a", "x"), (1, "2024-01-02 10:00", "a", "y"),
        (2, "2024-01-01 11:00", "a", None), (2, "2024-01-02 11:00", "a", "x"),
    ])
    res = retention(ev, period="D", by="channel")
    t = res.table.query("period == 1")
    assert t[["group", "cohort_size", "retained"]].values.tolist() == [["x", 1, 1], ["(missing)", 1, 1]]
    _compare_ref(res, ref_retention(ev, period="D", by="channel"), by="channel")


def test_compare_variants_welch_and_holm() -> None:
    rng = np.random.default_rng(5)
    n = 400
    rows = []
    for u in range(n):
        v = "A" if u % 2 else "B"
        t0 = pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(int(rng.integers(0, 5)), "D")
        rows.append((u, t0, "visit", v))
        for d in range(1, 4):
            if rng.random() < (0.3 if v == "A" else 0.45) / d:
                rows.append((u, t0 + pd.Timedelta(d, "D") + pd.Timedelta(1, "h"), "visit", v))
    rows.append((n, pd.Timestamp("2024-01-02", tz="UTC"), "visit", "A"))
    rows.append((n, pd.Timestamp("2024-01-03", tz="UTC"), "visit", "B"))  # mixed: left out
    ev = pd.DataFrame(rows, columns=["user_id", "timestamp", "event", "variant"])
    ev = pd.concat([ev, pd.DataFrame({"user_id": [n + 1], "timestamp": [pd.Timestamp("2024-01-20", tz="UTC")],
                                      "event": ["visit"], "variant": ["A"]})], ignore_index=True)
    with pytest.warns(fk.errors.FunnelkitWarning, match="two or more values"):
        res = retention(ev, period="D", compare="variant", control="A", periods=3)
    assert res.params["excluded"]["mixed"] == 1
    cmp_ = res.comparison
    assert cmp_["variant"].unique().tolist() == ["B"]
    row = cmp_.query("period == 1").iloc[0]
    d = fk.stats.diff_test(row.retained_control, row.cohort_size_control, row.retained, row.cohort_size)
    assert (row.abs_diff, row.ci_low, row.ci_high, row.p_value) == pytest.approx((d.abs_diff, d.ci_low, d.ci_high, d.p_value))
    from statsmodels.stats.multitest import multipletests

    fin = cmp_["p_value"].notna()
    assert cmp_.loc[fin, "p_adjusted"].to_numpy() == pytest.approx(multipletests(cmp_.loc[fin, "p_value"], method="holm")[1])
    bh = retention(ev.query("user_id != @n"), period="D", compare="variant", control="A", periods=3, correction="bh")
    fin = bh.comparison["p_value"].notna()
    assert bh.comparison.loc[fin, "p_adjusted"].to_numpy() == pytest.approx(
        multipletests(bh.comparison.loc[fin, "p_value"], method="fdr_bh")[1])
    # B's planted lift shows at day 1
    assert row.abs_diff > 0 and row.p_value < 0.05


# -------------------------------------------------------------------------------------
# hypothesis against the reference; row order
# -------------------------------------------------------------------------------------


@st.composite
def _logs(draw):
    n = draw(st.integers(1, 25))
    users = draw(st.lists(st.integers(1, 5), min_size=n, max_size=n))
    mins = draw(st.lists(st.integers(0, 60 * 24 * 20), min_size=n, max_size=n))
    evs = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n))
    ch = draw(st.lists(st.sampled_from(["x", "y", None]), min_size=n, max_size=n))
    base = pd.Timestamp("2024-03-25", tz="UTC")
    return pd.DataFrame({"user_id": users, "timestamp": [base + pd.Timedelta(m * 7, "min") for m in mins],
                         "event": evs, "channel": ch})


@settings(max_examples=40, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(ev=_logs(), period=st.sampled_from(["D", "W", "1D", "2D", "12h", "36h"]),
       kind=st.sampled_from(["n_period", "unbounded", "bracket"]), cohort=st.sampled_from(["first", "recurring"]),
       tz=st.sampled_from([UTC, MAD]), se=st.sampled_from([(None, None), ("a", None), ("a", "b"), (None, "c")]),
       by=st.sampled_from([None, "channel"]), periods=st.sampled_from([None, 1]),
       cp=st.sampled_from([None, "D", "W", "M"]))
@pytest.mark.filterwarnings("ignore::funnelkit.errors.DuplicateEventsWarning")
@pytest.mark.filterwarnings("ignore:`start`=.*matched no event:funnelkit.errors.FunnelkitWarning")
def test_against_reference(ev, period, kind, cohort, tz, se, by, periods, cp) -> None:
    # cohort periods that do not nest in the return periods (weeks across a month's
    # start, 2-day or 36-hour slices across days) check the engine's thinning too
    br = [(0, 0), (1, 2), (4, 9)] if kind == "bracket" else None
    if cp is None:
        cp = None if period in ("D", "W") else "D"
    periods = None if kind == "bracket" else periods
    kw = dict(start=se[0], returning=se[1], period=period, kind=kind, brackets=br, cohort=cohort, tz=tz, by=by,
              periods=periods)
    got = retention(ev, cohort_period=cp, **kw)
    _compare_ref(got, ref_retention(ev, cohort_period=cp, **kw), by=by)
    again = retention(ev.sample(frac=1, random_state=1).reset_index(drop=True), cohort_period=cp, **kw)
    pd.testing.assert_frame_equal(got.table, again.table)
    pd.testing.assert_frame_equal(got.curve, again.curve)


def test_caller_frame_not_modified(daily) -> None:
    before = daily.copy()
    retention(daily, period="D", by="event")
    loyalty(daily, event="a")
    pd.testing.assert_frame_equal(daily, before)


# -------------------------------------------------------------------------------------
# every engine path gives the same numbers
# -------------------------------------------------------------------------------------


def _sample(n_users=1500, n=20000, seed=2, str_ids=False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    users = rng.integers(0, n_users, n)
    return pd.DataFrame({
        "user_id": [f"u{u:05d}" for u in users] if str_ids else users,
        "timestamp": pd.Timestamp("2024-03-20", tz="UTC") + pd.to_timedelta(rng.integers(0, 30 * 24 * 60, n), unit="min"),
        "event": rng.choice(["view", "buy", "help"], n, p=[0.7, 0.2, 0.1]),
        "variant": np.where(users % 2 == 0, "A", "B"),
    })


@pytest.mark.parametrize("kw", [dict(period="D", tz=MAD, cohort="recurring"),
                                dict(start="buy", returning="buy", period="7D", compare="variant")])
def test_frame_parquet_spilled_and_dask_equal(tmp_path, kw) -> None:
    ev = _sample(str_ids=True)
    want = retention(ev, **kw)
    path = tmp_path / "ev.parquet"
    ev.to_parquet(path, row_group_size=3000)
    spilled = retention(str(path), memory_budget=1 << 14, **kw)
    pd.testing.assert_frame_equal(spilled.table, want.table)
    dd = pytest.importorskip("dask.dataframe")
    import dask

    with dask.config.set(scheduler="synchronous"):
        got = retention(dd.from_pandas(ev, npartitions=3), **kw)
    pd.testing.assert_frame_equal(got.table, want.table)
    pd.testing.assert_frame_equal(got.curve, want.curve)
    if want.comparison is not None:
        pd.testing.assert_frame_equal(got.comparison, want.comparison)
    lw = loyalty(ev, event="buy", compare="variant")
    with dask.config.set(scheduler="synchronous"):
        ld = loyalty(dd.from_pandas(ev, npartitions=3), event="buy", compare="variant")
    pd.testing.assert_frame_equal(ld.repeat, lw.repeat)
    pd.testing.assert_frame_equal(ld.survival, lw.survival)
    pd.testing.assert_frame_equal(loyalty(str(path), event="buy", compare="variant", memory_budget=1 << 14).medians,
                                  lw.medians)


def test_session_unit() -> None:
    ev = _log([(1, "2024-01-01 10:00", "a"), (1, "2024-01-01 10:10", "b"), (1, "2024-01-02 10:00", "a")])
    ev = fk.sessionize(ev, timeout="30min")
    res = retention(ev, period="D", unit="session")
    assert res.table.query("period == 0")["cohort_size"].sum() == 2
    assert res.table.query("period == 0")["retained"].sum() == 1


# -------------------------------------------------------------------------------------
# loyalty
# -------------------------------------------------------------------------------------


def test_loyalty_repeat_rate_and_km_known_values() -> None:
    ev = _log([
        (1, "2024-01-01", "buy"), (1, "2024-01-05", "buy"),  # repeat after 4 days
        (2, "2024-01-01", "buy"), (2, "2024-01-20", "buy"),  # repeat after 19 days (outside 7D)
        (3, "2024-01-02", "buy"),  # no repeat, censored at the end (01-30)
        (4, "2024-01-28", "buy"),  # horizon not elapsed: not eligible
        (5, "2024-01-03", "view"), (5, "2024-01-30", "view"),
    ])
    res = loyalty(ev, event="buy", within="7D")
    assert res.repeat[["buyers", "eligible", "repeaters"]].values.tolist() == [[4, 3, 1]]
    assert res.repeat["rate"].item() == pytest.approx(1 / 3)
    d = res.durations.sort_values("time_days")
    end = pd.Timestamp("2024-01-30", tz="UTC") + pd.Timedelta(1, "ns")
    want = sorted([4.0, 19.0, (end - pd.Timestamp("2024-01-02", tz="UTC")) / pd.Timedelta("1D"),
                   (end - pd.Timestamp("2024-01-28", tz="UTC")) / pd.Timedelta("1D")])
    assert d["time_days"].tolist() == pytest.approx(want)
    lifelines = pytest.importorskip("lifelines")
    kmf = lifelines.KaplanMeierFitter().fit(d["time_days"], d["observed"])
    assert res.survival["survival"].to_numpy() == pytest.approx(kmf.survival_function_.iloc[:, 0].to_numpy())
    assert res.medians["median_days"].item() == pytest.approx(kmf.median_survival_time_)


def test_loyalty_by_variant_logrank_against_lifelines() -> None:
    lifelines = pytest.importorskip("lifelines")
    from lifelines.statistics import logrank_test as ll_logrank

    ev = _sample(n_users=800, n=6000, seed=4)
    res = loyalty(ev, event="buy", compare="variant", within="5D")
    d = res.durations
    a, b = d[d["group"] == "A"], d[d["group"] == "B"]
    want = ll_logrank(a["time_days"], b["time_days"], a["observed"], b["observed"])
    assert res.logrank.statistic == pytest.approx(want.test_statistic)
    assert res.logrank.p_value == pytest.approx(want.p_value)
    row = res.comparison.iloc[0]
    assert row.variant == "B" and row.control == "A"
    rep = res.repeat.set_index("group")
    dt = fk.stats.diff_test(rep.loc["A", "repeaters"], rep.loc["A", "eligible"], rep.loc["B", "repeaters"],
                            rep.loc["B", "eligible"])
    assert row.p_value == pytest.approx(dt.p_value)


def test_loyalty_origin_first_event_and_nth_three() -> None:
    ev = _log([(1, "2024-01-01", "view"), (1, "2024-01-03", "buy"), (1, "2024-01-04", "buy"),
               (1, "2024-01-06", "buy"), (2, "2024-01-02", "view"), (2, "2024-01-09", "view")])
    r1 = loyalty(ev, event="buy", nth=1, origin="first_event")
    assert sorted(r1.durations["time_days"].round(6).tolist()) == [2.0, 7.000000]
    assert r1.durations["observed"].tolist() == [True, False]
    r3 = loyalty(ev, event="buy", nth=3)
    assert r3.durations["time_days"].tolist() == [3.0]


# -------------------------------------------------------------------------------------
# parameter errors, raised before any work
# -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kw, match", [
    (dict(period="d"), "calendar periods"),
    (dict(period="7"), "bare number"),
    (dict(kind="n_day"), "kind"),
    (dict(kind="bracket"), "needs `brackets`"),
    (dict(kind="bracket", brackets=[(1, 3), (2, 5)]), "overlap"),
    (dict(kind="bracket", brackets=[(3, 1)]), "first <= last"),
    (dict(brackets=[(0, 1)]), "kind='bracket'"),
    (dict(cohort="every"), "cohort"),
    (dict(tz="Mars/Olympus"), "time zone"),
    (dict(periods=-1), "periods"),
    (dict(by="event", compare="event"), "both given"),
    (dict(compare="variant", cohort="recurring"), "cohort='first'"),
    (dict(control="A"), "needs `compare=`"),
    (dict(start=3), "not an event, stage or rule"),
    (dict(correction="bonferroni"), "correction"),
    (dict(memory_budget="lots"), "memory_budget"),
])
def test_parameter_errors(daily, kw, match) -> None:
    with pytest.raises(ParameterError, match=match):
        retention(daily.assign(variant="A"), **kw)


def test_control_value_checked_before_work(daily) -> None:
    with pytest.raises(ParameterError, match="not a value of column 'variant'"):
        retention(daily.assign(variant="A"), compare="variant", control="Z")
    with pytest.raises(ParameterError, match="nth"):
        loyalty(daily, event="a", nth=1)
    with pytest.raises(ParameterError, match="within"):
        loyalty(daily, event="a", within=7)


def test_journey_stage_and_rules_as_start() -> None:
    ev = _log([(1, "2024-01-01", "view"), (1, "2024-01-02", "buy"), (1, "2024-01-03", "buy"),
               (1, "2024-01-05", "buy"), (2, "2024-01-01", "buy"), (2, "2024-01-02", "buy")])
    j = fk.Journey({"purchase": "buy", "loyal": fk.repeat("buy", nth=2)})
    res = retention(ev, start="loyal", returning="purchase", journey=j, period="D")
    # user 1 is loyal on 01-03 (returns 01-05: offset 2); user 2 on 01-02 (no return)
    t = res.table
    assert t.groupby("cohort")["cohort_size"].first().tolist() == [1, 1]
    assert t.query("retained > 0")[["period", "retained"]].values.tolist() == [[2, 1]]
    res2 = retention(ev, start=fk.repeat("buy", nth=2), returning="buy", period="D")
    pd.testing.assert_frame_equal(res2.table, res.table)


def test_sample_examples_show_weekly_return() -> None:
    ev = fk.load_sample("shop")
    res = retention(ev, period="W")
    assert res.table["rate"].between(0, 1).all()
    assert (res.table.groupby("cohort")["complete"].apply(lambda s: s.iloc[-1])).eq(False).any()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        repr(res)
        res._repr_html_()


def test_docstring_examples() -> None:
    import doctest

    import importlib

    # the module (funnelkit.analyses.retention is also the name of the function it exports)
    mod = importlib.import_module("funnelkit.analyses.retention")
    rep = importlib.import_module("funnelkit.report._retention")

    for m in (mod, rep):
        res = doctest.testmod(m, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert res.attempted > 0 and res.failed == 0


def test_names_matching_nothing_warn(daily) -> None:
    with pytest.warns(fk.errors.FunnelkitWarning, match="start.*matched no event"):
        res = retention(daily, start="purchse")
    assert len(res.table) == 0 and len(res.curve) == 0
    with pytest.warns(fk.errors.FunnelkitWarning, match="no buyers"):
        loyalty(daily, event="nope")


def test_max_groups_sums_the_rest_as_other() -> None:
    rows = []
    for u, ch in enumerate(["a"] * 3 + ["b"] * 2 + ["c"] * 2 + ["d"] + [None] * 4):
        rows += [(u, "2024-01-01 10:00", "x", ch), (u, "2024-01-02 10:00", "x", ch)]
    ev = _log(rows)
    res = retention(ev, period="D", by="channel", max_groups=2)
    t = res.table.query("period == 1")
    # a (3) kept; b and c tie at 2: b wins by value; c and d summed as Other; missing last
    assert t[["group", "cohort_size", "retained"]].values.tolist() == [
        ["a", 3, 3], ["b", 2, 2], ["Other", 3, 3], ["(missing)", 4, 4]]
    full = retention(ev, period="D", by="channel")
    assert full.table["group"].nunique() == 5
    with pytest.raises(ParameterError, match="max_groups"):
        retention(ev, by="channel", max_groups=0)


# --------------------------------------------------------------------------- mutation audit (retention)


def test_calendar_completeness_waits_for_the_cohorts_latest_anchor() -> None:
    # daily periods, weekly cohorts: u1 anchored Mon 01-01, u2 Wed 01-03 (one cohort, the
    # week of 01-01); both return the next day. observed_until 01-04 12:00.
    # Cells begin from the earliest anchor's day: offsets 0..3 (01-01..01-04 have begun).
    # A cell is complete when the latest anchor's day + i + 1 has started:
    # i=0 -> 01-04 00:00 <= obs (True); i=1 -> 01-05 00:00 > obs (False: u2's day 1 is not over).
    ev = _log([(1, "2024-01-01 10:00", "a"), (1, "2024-01-02 12:00", "a"),
               (2, "2024-01-03 10:00", "a"), (2, "2024-01-04 09:00", "a")])
    res = retention(ev, period="D", cohort_period="W", observed_until="2024-01-04 12:00")
    assert res.table[["period", "cohort_size", "retained", "complete"]].values.tolist() == [
        [0, 2, 0, True], [1, 2, 2, False], [2, 2, 0, False], [3, 2, 0, False]]
    # the censored day-1 cell is not in the curve
    assert res.curve.loc[1, "cohorts"] == 0 and np.isnan(res.curve.loc[1, "rate"])


def test_wilson_intervals_use_alpha(daily) -> None:
    # alpha=0.1: z = 1.645, not 1.96. Curve period 1 is 2/3 (see the known table above);
    # reference: statsmodels' Wilson interval at alpha 0.1
    smp = pytest.importorskip("statsmodels.stats.proportion")
    res = retention(daily, period="D", alpha=0.1)
    cur = res.curve.set_index("period")
    want = smp.proportion_confint(2, 3, alpha=0.1, method="wilson")
    assert (cur.loc[1, "ci_low"], cur.loc[1, "ci_high"]) == pytest.approx(want)
    cell = res.table.iloc[1]  # cohort 01-01, period 1: 1 of 2
    assert (cell.ci_low, cell.ci_high) == pytest.approx(smp.proportion_confint(1, 2, alpha=0.1, method="wilson"))


def test_loyalty_compare_adjusts_p_values_across_variants() -> None:
    # three variants, 10 buyers each (first buy 01-01, repeat 01-03, within 7D, observed to
    # 02-01: all eligible): repeaters A 2, B 8, C 5. Two comparisons (B, C vs A), so Holm
    # doubles the smaller p-value and takes max(p_large, 2 p_small) for the larger.
    rows = []
    for v, k in (("A", 2), ("B", 8), ("C", 5)):
        for i in range(10):
            u = f"{v}{i}"
            rows.append((u, "2024-01-01", "buy", v))
            if i < k:
                rows.append((u, "2024-01-03", "buy", v))
    ev = _log(rows).rename(columns={"channel": "variant"})
    res = loyalty(ev, event="buy", within="7D", compare="variant", control="A", observed_until="2024-02-01")
    cmp_ = res.comparison.set_index("variant")
    assert cmp_[["eligible", "repeaters"]].values.tolist() == [[10, 8], [10, 5]]
    p = cmp_["p_value"].to_numpy()
    lo, hi = sorted(p)
    want = {lo: min(1.0, 2 * lo), hi: max(hi, min(1.0, 2 * lo))}
    assert cmp_["p_adjusted"].to_numpy() == pytest.approx([want[x] for x in p])
    assert cmp_.loc["B", "p_adjusted"] == pytest.approx(2 * cmp_.loc["B", "p_value"])
    res_none = loyalty(ev, event="buy", within="7D", compare="variant", control="A", correction="none",
                       observed_until="2024-02-01")
    assert res_none.comparison["p_adjusted"].to_numpy() == pytest.approx(p)


def test_loyalty_eligible_when_horizon_ends_exactly_at_observed_until() -> None:
    # within 7D, observed_until 01-08 00:00: u1's horizon 01-01 + 7D = 01-08 <= obs
    # (eligible, repeats 01-05); u2's 01-02 + 7D = 01-09 > obs (censored, buyer only)
    ev = _log([(1, "2024-01-01", "buy"), (1, "2024-01-05", "buy"), (2, "2024-01-02", "buy")])
    res = loyalty(ev, event="buy", within="7D", observed_until="2024-01-08")
    assert res.repeat[["buyers", "eligible", "repeaters"]].values.tolist() == [[2, 1, 1]]


def test_loyalty_repeat_exactly_at_the_horizon_counts() -> None:
    # within 7D: u1 repeats exactly 7 days later (inclusive: a repeater); u2 one second
    # later (not). Data end 01-08 00:00:01: both horizons (01-08 00:00) have elapsed.
    ev = _log([(1, "2024-01-01 00:00:00", "buy"), (1, "2024-01-08 00:00:00", "buy"),
               (2, "2024-01-01 00:00:00", "buy"), (2, "2024-01-08 00:00:01", "buy")])
    res = loyalty(ev, event="buy", within="7D")
    assert res.repeat[["buyers", "eligible", "repeaters"]].values.tolist() == [[2, 2, 1]]


def test_loyalty_nth_after_observed_until_is_censored_there() -> None:
    # observed_until 01-06: u1 buys 01-01 and 01-11 (after the end) -> censored at
    # 01-06 - 01-01 = 5 days; u2 buys 01-01 and 01-03 -> event at 2 days.
    # KM: S(2) = 1 - 1/2 = 0.5, S(5) = 0.5 (censored): median 2 days.
    ev = _log([(1, "2024-01-01", "buy"), (1, "2024-01-11", "buy"),
               (2, "2024-01-01", "buy"), (2, "2024-01-03", "buy")])
    res = loyalty(ev, event="buy", observed_until="2024-01-06")
    d = res.durations.sort_values("time_days")
    assert d["time_days"].tolist() == pytest.approx([2.0, 5.0])
    assert d["observed"].tolist() == [True, False]
    assert res.medians["median_days"].item() == 2.0


def test_loyalty_first_occurrence_after_observed_until_is_no_buyer() -> None:
    # observed_until 01-06: u3's first buy (01-08) is after the end: not a buyer
    ev = _log([(1, "2024-01-01", "buy"), (2, "2024-01-02", "buy"), (3, "2024-01-08", "buy")])
    res = loyalty(ev, event="buy", within="3D", observed_until="2024-01-06")
    assert res.repeat[["buyers", "eligible", "repeaters"]].values.tolist() == [[2, 2, 0]]
    assert len(res.durations) == 2


def test_loyalty_km_intervals_use_alpha() -> None:
    # second purchase 1, 2, 3 days after the first for u1..u3, u4 and u5 never (censored at
    # the data end); alpha=0.1: the log-log bands equal lifelines' at alpha 0.1
    lifelines = pytest.importorskip("lifelines")
    ev = _log([(1, "2024-01-01", "buy"), (1, "2024-01-02", "buy"), (2, "2024-01-01", "buy"),
               (2, "2024-01-03", "buy"), (3, "2024-01-01", "buy"), (3, "2024-01-04", "buy"),
               (4, "2024-01-01", "buy"), (5, "2024-01-02", "buy"), (5, "2024-01-09", "view")])
    res = loyalty(ev, event="buy", alpha=0.1)
    d = res.durations
    kmf = lifelines.KaplanMeierFitter(alpha=0.1).fit(d["time_days"], d["observed"])
    ci = kmf.confidence_interval_.to_numpy()
    assert res.survival["ci_low"].to_numpy() == pytest.approx(ci[:, 0])
    assert res.survival["ci_high"].to_numpy() == pytest.approx(ci[:, 1])


def test_hourly_retention_has_no_cell_for_the_hour_clocks_jump_over():
    # Madrid, 2024-03-31. User 1 starts 00:30 UTC (01:30 CET) and returns 01:30 UTC (03:30
    # CEST) and 02:30 UTC (04:30): offsets 1 and 2, since local 02:00-03:00 is no hour (it
    # used to be offset 1, always empty, a drop that never happened). User 2 starts 01:10
    # UTC (03:10 CEST) and returns 02:10 UTC: offset 1.
    ev = pd.DataFrame({"user_id": [1, 1, 1, 2, 2],
                       "timestamp": pd.to_datetime(["2024-03-31 00:30", "2024-03-31 01:30", "2024-03-31 02:30",
                                                    "2024-03-31 01:10", "2024-03-31 02:10"], utc=True),
                       "event": ["a"] * 5})
    res = retention(ev, period="h", tz="Europe/Madrid", periods=3,  # offsets 0..3
                       observed_until=pd.Timestamp("2024-03-31 06:00", tz="UTC"))
    t = res.table
    assert t[["period", "cohort_size", "retained"]].values.tolist() == [
        [0, 1, 0], [1, 1, 1], [2, 1, 1], [3, 1, 0], [0, 1, 0], [1, 1, 1], [2, 1, 0], [3, 1, 0]]
    assert [c.isoformat() for c in t["cohort"].unique()] == ["2024-03-31T01:00:00+01:00", "2024-03-31T03:00:00+02:00"]
    assert (t["cohort_end"].iloc[0] - t["cohort"].iloc[0]) == pd.Timedelta("1h")
    assert res.curve["retained"].tolist() == [0, 2, 1, 0]
