"""Tests for funnelkit.analyses.trends: hand-made logs with known per-period conversion."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import funnelkit as fk
from funnelkit.errors import ParameterError
from funnelkit.analyses.trends import TREND_COLUMNS, TrendResult, trend, trend_table
from funnelkit.engine import buckets as _buckets

T0 = pd.Timestamp("2024-01-01", tz="UTC")  # a Monday


def log(rows, **props):
    """rows: (user, hours after T0, event)."""
    df = pd.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "timestamp": (T0 + pd.to_timedelta([r[1] for r in rows], unit="h")).as_unit("ns"),
            "event": pd.Categorical([r[2] for r in rows]),
        }
    )
    for k, v in props.items():
        df[k] = v
    return df


def day_rows(day, n_enter, n_buy, uid0, hour=10):
    rows = []
    for i in range(n_enter):
        u = uid0 + i
        rows.append((u, 24 * day + hour, "landing"))
        if i < n_buy:
            rows.append((u, 24 * day + hour + 1, "purchase"))
    return rows


@pytest.fixture(scope="module")
def three_days():
    # day 0: 4 enter, 2 buy; day 1: 2 enter, 0 buy; day 3: 1 enters and buys (day 2 empty);
    # the data ends on day 5 at 12:00.
    rows = day_rows(0, 4, 2, 1) + day_rows(1, 2, 0, 10) + day_rows(3, 1, 1, 20) + [(99, 24 * 5 + 12, "page_view")]
    return log(rows)


# --------------------------------------------------------------------------- trend() and TrendResult
def test_trend_returns_a_result_with_its_parameters(three_days):
    tr = trend(three_days, ["landing", "purchase"], window="1D", freq="D", tz="UTC", alpha=0.05, min_units=3)
    assert isinstance(tr, TrendResult)
    assert list(tr.table.columns) == list(TREND_COLUMNS)
    assert tr.steps == ("landing", "purchase") and tr.labels == ("landing", "purchase")
    p = tr.params
    assert (p["freq"], p["tz"], p["alpha"], p["min_units"]) == ("D", "UTC", 0.05, 3)
    assert p["window"] == pd.Timedelta("1D") and p["horizon"] == pd.Timedelta("1D")
    assert p["mode"] == "ordered" and p["window_from"] == "entry" and p["unit"] == "user"
    assert p["data_start"] == T0 + pd.Timedelta(hours=10)
    assert p["data_end"] == T0 + pd.Timedelta(days=5, hours=12)
    assert "by" not in p
    assert tr.n_periods == 4
    with pytest.raises(dataclasses.FrozenInstanceError):
        tr.table = None  # type: ignore[misc]


def test_trend_values_on_a_hand_made_log(three_days):
    tr = trend(three_days, ["landing", "purchase"], window="1D")
    t = tr.table
    assert t["period"].tolist() == [T0 + pd.Timedelta(days=d) for d in range(4) for _ in range(2)]
    assert t["step"].tolist() == ["landing", "purchase"] * 4
    assert t["entered"].tolist() == [4, 4, 2, 2, 0, 0, 1, 1]
    assert t["units"].tolist() == [4, 2, 2, 0, 0, 0, 1, 1]
    assert t["units_previous"].tolist() == [4, 4, 2, 2, 0, 0, 1, 1]
    assert t["step_conversion_rate"].tolist()[:4] == [1.0, 0.5, 1.0, 0.0]
    assert t["complete"].all() and not t["shift"].any()
    # conversion_rate = units / entered, the denominator beside it
    ok = t["entered"] > 0
    assert (t.loc[ok, "conversion_rate"] * t.loc[ok, "entered"]).tolist() == t.loc[ok, "units"].tolist()


def test_trend_table_is_the_results_table(three_days):
    tr = trend(three_days, ["landing", "purchase"], window="2D", freq="W")
    pd.testing.assert_frame_equal(trend_table(three_days, ["landing", "purchase"], window="2D", freq="W"), tr.table)
    frame = tr.to_frame()
    frame.loc[0, "units"] = -1
    assert tr.table.loc[0, "units"] != -1


def test_trend_is_keyword_only_after_the_data(three_days):
    with pytest.raises(TypeError):
        trend(three_days, ["landing", "purchase"], "D")  # type: ignore[misc]


def test_trend_horizon_with_window_from_previous():
    rows = day_rows(0, 2, 1, 1) + [(1, 20, "review"), (50, 24 * 3 + 12, "page_view")]
    tr = trend(log(rows), ["landing", "purchase", "review"], window="2D", window_from="previous")
    assert tr.params["horizon"] == pd.Timedelta("4D") and tr.params["window_from"] == "previous"
    assert trend(log(rows), ["landing"], window=None).params["horizon"] == pd.Timedelta(0)


def test_trend_repr_and_html(three_days):
    tr = trend(three_days, ["landing", "purchase"], window="2D")
    lines = repr(tr).splitlines()
    assert lines[0] == ("TrendResult(freq='D', tz='UTC', window=2 days 00:00:00, 4 periods (1 incomplete), "
                        "2 steps, 0 shifts)")
    assert lines[1].split() == ["period", "entered", "complete", "landing", "purchase"]
    assert lines[2].split() == ["2024-01-01", "4", "True", "100.0%", "50.0%"]
    assert lines[4].split() == ["2024-01-03", "0", "True", "–", "–"]
    assert lines[5].split() == ["2024-01-04", "1", "False", "100.0%", "100.0%"]
    html = tr._repr_html_()
    assert html.startswith("<div class='funnelkit-result'>") and "<table" in html and "2024-01-04" in html


def test_trend_marks_shifts_in_its_summary():
    tr = trend(_incident_log(), ["landing", "purchase"], window="1D")
    assert "1 shifts" in repr(tr).splitlines()[0]
    assert "10.0%*" in repr(tr)


def test_trend_labels_and_journey():
    ev = log(day_rows(0, 3, 1, 1) + [(99, 48, "page_view")])
    j = fk.Journey({"discovery": "landing", "purchase": "purchase"},
                   labels={"discovery": ("Discovery", "Descubrimiento"), "purchase": ("Purchase", "Compra")})
    tr = trend(ev, j, window="1D", lang="es")
    assert tr.labels == ("Descubrimiento", "Compra") and tr.journey is not None and tr.params["lang"] == "es"


def test_empty_trend_is_a_result_too():
    ev = log([(1, 10, "page_view")])
    with pytest.warns(Warning):
        tr = trend(ev, ["landing", "purchase"], window="1D")
    assert list(tr.table.columns) == list(TREND_COLUMNS) and not len(tr.table) and tr.n_periods == 0
    assert "0 periods" in repr(tr)


def _lazy_plot(env):
    """A fresh interpreter's trend and plot (a second or two: run in the background after
    collection, tests/conftest.py)."""
    code = ("import sys, pandas as pd; import funnelkit as fk; "
            "ev = pd.DataFrame({'user_id': [1, 1], 'timestamp': pd.to_datetime(['2024-01-01', '2024-01-02'], utc=True),"
            " 'event': ['a', 'b']}); tr = fk.trends.trend(ev, ['a', 'b'], window='1D'); "
            "assert 'matplotlib' not in sys.modules; import matplotlib; matplotlib.use('Agg'); "
            "ax = tr.plot(); print(ax.get_title(loc='left'))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


def background_jobs(background, items):
    if any(item.name == "test_plot_imports_plotting_lazily" for item in items):
        return {"trends:lazy-plot": _lazy_plot}
    return {}


def test_plot_imports_plotting_lazily(background):
    out = background.result("trends:lazy-plot", _lazy_plot)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Conversion by entry day"


# --------------------------------------------------------------------------- the table
def test_counts_and_rates_per_day(three_days):
    t = trend_table(three_days, ["landing", "purchase"], window="1D")
    assert list(t.columns) == list(TREND_COLUMNS)
    buy = t[t["step"] == "purchase"].reset_index(drop=True)
    assert buy["period"].tolist() == [T0 + pd.Timedelta(days=d) for d in range(4)]
    assert buy["entered"].tolist() == [4, 2, 0, 1]
    assert buy["units"].tolist() == [2, 0, 0, 1]
    assert buy["conversion_rate"].tolist()[:2] == [0.5, 0.0]
    assert np.isnan(buy["conversion_rate"].iloc[2])  # a period without entries is kept, rate undefined
    assert buy["conversion_rate"].iloc[3] == 1.0
    assert buy["units_previous"].tolist() == [4, 2, 0, 1]
    land = t[t["step"] == "landing"]
    assert land["conversion_rate"].dropna().eq(1.0).all()
    assert (buy["period_end"] - buy["period"]).eq(pd.Timedelta("1D")).all()


def test_entered_sums_to_funnel_total(three_days):
    t = trend_table(three_days, ["landing", "purchase"], window="1D")
    res = fk.funnel(three_days, ["landing", "purchase"], window="1D")
    for step, n in zip(res.steps, res.table["units"]):
        assert t.loc[t["step"] == step, "units"].sum() == n


def test_incomplete_window_flag(three_days):
    # data end = day 5 12:00; a day is complete when its end + window <= data end
    t = trend_table(three_days, ["landing", "purchase"], window="1D")
    comp = t.drop_duplicates("period")["complete"].tolist()
    assert comp == [True, True, True, True]  # day 3 ends day 4 00:00, + 1D = day 5 00:00 <= day 5 12:00
    t = trend_table(three_days, ["landing", "purchase"], window="2D")
    comp = t.drop_duplicates("period")["complete"].tolist()
    assert comp == [True, True, True, False]  # day 3 + 2D = day 6 > day 5 12:00


def test_complete_edge_is_inclusive():
    rows = day_rows(0, 2, 1, 1) + [(50, 48, "page_view")]  # data ends exactly at day 2 00:00
    t = trend_table(log(rows), ["landing", "purchase"], window="1D")
    assert bool(t["complete"].iloc[0]) is True
    t = trend_table(log(rows), ["landing", "purchase"], window="25h")
    assert bool(t["complete"].iloc[0]) is False


def test_window_from_previous_uses_whole_horizon():
    rows = day_rows(0, 2, 1, 1) + [(1, 20, "review"), (50, 24 * 3 + 12, "page_view")]  # end day 3 12:00
    ev = log(rows)
    steps = ["landing", "purchase", "review"]
    entry = trend_table(ev, steps, window="2D")
    prev = trend_table(ev, steps, window="2D", window_from="previous")
    assert bool(entry["complete"].iloc[0]) is True  # day 1 00:00 + 2D <= day 3 12:00
    assert bool(prev["complete"].iloc[0]) is False  # + 2 * 2D > day 3 12:00


def test_weekly_periods_start_on_monday():
    rows = day_rows(0, 1, 1, 1) + day_rows(6, 1, 0, 5) + day_rows(7, 2, 2, 10) + [(99, 24 * 30, "page_view")]
    t = trend_table(log(rows), ["landing", "purchase"], window="1D", freq="W")
    buy = t[t["step"] == "purchase"]
    assert buy["period"].tolist() == [T0, T0 + pd.Timedelta(days=7)]
    assert buy["entered"].tolist() == [2, 2]
    assert buy["units"].tolist() == [1, 2]


def test_time_zone_cuts_local_days():
    # 23:30 UTC on Jan 1 is 00:30 on Jan 2 in Madrid
    rows = [(1, 23.5, "landing"), (2, 10, "landing"), (99, 24 * 10, "page_view")]
    utc = trend_table(log(rows), ["landing"], window="1D")
    assert utc["entered"].tolist() == [2]
    mad = trend_table(log(rows), ["landing"], window="1D", tz="Europe/Madrid")
    assert mad["entered"].tolist() == [1, 1]
    assert str(mad["period"].iloc[1].tz) == "Europe/Madrid"
    assert mad["period"].iloc[1] == pd.Timestamp("2024-01-02", tz="Europe/Madrid")


def _incident_log(days=12, n=200, base=0.5, bad_day=5, bad=0.1):
    rows = []
    uid = 1
    for d in range(days):
        k = int(n * (bad if d == bad_day else base))
        rows += day_rows(d, n, k, uid)
        uid += n
    rows.append((10**7, 24 * (days + 3), "page_view"))
    return log(rows)


def test_shift_flags_the_incident_only():
    t = trend_table(_incident_log(), ["landing", "purchase"], window="1D")
    flagged = t[t["shift"]]
    assert flagged["step"].tolist() == ["purchase"]
    assert flagged["period"].tolist() == [T0 + pd.Timedelta(days=5)]
    row = flagged.iloc[0]
    assert row["step_conversion_rate"] == pytest.approx(0.1)
    assert row["expected_step_rate"] == pytest.approx(0.5)  # leave-one-out: the other days
    assert row["z"] < -10
    # step 1 is never tested
    assert t.loc[t["step"] == "landing", "p_value"].isna().all()


def test_shift_not_tested_on_incomplete_or_small_periods():
    ev = _incident_log(days=6, bad_day=5)
    # the data ends on day 9: with a 9-day window no day is complete
    t = trend_table(ev, ["landing", "purchase"], window="9D")
    assert not t["complete"].any()
    assert t["p_value"].isna().all() and not t["shift"].any()
    t = trend_table(_incident_log(), ["landing", "purchase"], window="1D", min_units=500)
    assert t["p_value"].isna().all() and not t["shift"].any()


def test_row_order_does_not_matter():
    ev = _incident_log(days=5)
    a = trend_table(ev, ["landing", "purchase"], window="1D")
    b = trend_table(ev.sample(frac=1, random_state=3).reset_index(drop=True), ["landing", "purchase"], window="1D")
    pd.testing.assert_frame_equal(a, b)


def test_labels_follow_journey_language():
    ev = log(day_rows(0, 3, 1, 1) + [(99, 48, "page_view")])
    j = fk.Journey({"discovery": "landing", "purchase": "purchase"},
                   labels={"discovery": ("Discovery", "Descubrimiento"), "purchase": ("Purchase", "Compra")})
    t = trend_table(ev, j, window="1D", lang="es")
    assert t["label"].tolist() == ["Descubrimiento", "Compra"]


def test_the_sample_incident_shows_itself():
    ev = fk.load_sample("shop")
    from funnelkit.datasets._journeys import shop_journey

    t = trend_table(ev, shop_journey(), freq="D", window="7D")
    flagged = t[t["shift"]]
    assert set(flagged["step"]) == {"purchase"}
    days = sorted(p.strftime("%Y-%m-%d") for p in flagged["period"])
    assert days == ["2026-03-20", "2026-03-21", "2026-03-22"]
    # the last 7 days (plus the day the data ends) are incomplete
    per = t.drop_duplicates("period")
    assert (~per["complete"]).sum() == 8
    assert per["complete"].iloc[: len(per) - 8].all()


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(freq="2D"), "multiple"),
        (dict(freq="fortnight"), "period length"),
        (dict(alpha=0), "alpha"),
        (dict(min_units=0), "min_units"),
        (dict(by="channel"), "by="),
        (dict(tz="Mars/Olympus"), "time zone"),
    ],
)
def test_parameter_errors(three_days, kw, match):
    with pytest.raises(ParameterError, match=match):
        trend_table(three_days, ["landing", "purchase"], window="1D", **kw)


# --------------------------------------------------------------------------- issue 11: attempts by period
def _old_trend(ev, steps, window, freq="W"):
    """The numbers before issue 11: fk.funnel's units split by the period of their
    reported attempt's step-1 time (only periods with entries)."""
    res = fk.funnel(ev, steps, window=window)
    u = res.units[res.units["level"] >= 1]
    per = u[steps[0]].dt.tz_localize(None).dt.to_period(freq)
    g = u.groupby(per)["level"]
    return pd.DataFrame({"entered": g.size(), "converted": g.apply(lambda s: int((s >= len(steps)).sum()))})


def _repeat_visitors():
    """Weekly repeat visitors, late converters (T0 is a Monday; weeks 0-3, data ends week 5).

    users 1-4 land every Monday at 10:00 of weeks 0..3; user 1 buys at 11:00 in week 3,
    user 2 at 11:00 in week 1; users 3, 4 never buy. Users 10, 11 land in week 0 only,
    user 10 buys an hour later.
    """
    rows = []
    for w in range(4):
        for u in (1, 2, 3, 4):
            rows.append((u, 24 * 7 * w + 10, "landing"))
    rows += [(1, 24 * 7 * 3 + 11, "purchase"), (2, 24 * 7 * 1 + 11, "purchase"),
             (10, 10, "landing"), (10, 11, "purchase"), (11, 10, "landing"), (99, 24 * 7 * 5, "page_view")]
    return log(rows)


def test_repeat_visitors_count_in_every_week_they_start_an_attempt():
    ev = _repeat_visitors()
    t = trend_table(ev, ["landing", "purchase"], window="3D", freq="W", min_entries=5)
    buy = t[t["step"] == "purchase"].reset_index(drop=True)
    assert buy["period"].tolist() == [T0 + pd.Timedelta(weeks=w) for w in range(4)]
    # week 0: 1, 2, 3, 4, 10, 11 enter, 10 buys; weeks 1-3: 1..4 enter, 2 buys in week 1, 1 in week 3
    assert buy["entered"].tolist() == [6, 4, 4, 4]
    assert buy["units"].tolist() == [1, 1, 0, 1]
    assert buy["conversion_rate"].tolist() == [1 / 6, 0.25, 0.0, 0.25]
    assert buy["units_previous"].tolist() == [6, 4, 4, 4]
    assert buy["too_few"].tolist() == [False, True, True, True]
    assert buy["complete"].all() and (buy["excluded"] == 0).all()
    # before issue 11: users 1 and 2 entered only the week of their purchase, users 3 and 4
    # only week 0, so weeks 1 and 3 read 100 % and week 2 had no entries at all
    old = _old_trend(ev, ["landing", "purchase"], "3D")
    assert old["entered"].tolist() == [4, 1, 1] and old["converted"].tolist() == [1, 1, 1]
    assert [str(p) for p in old.index] == ["2024-01-01/2024-01-07", "2024-01-08/2024-01-14",
                                           "2024-01-22/2024-01-28"]


def _weekly_log(n_users=3000, weeks=10, p_visit=0.6, p_buy=0.08, seed=7):
    """Users visit each week with p_visit and convert on a visit with p_buy (a constant
    per-attempt rate), a day later; the data runs two weeks past the last visit."""
    rng = np.random.default_rng(seed)
    visit = rng.random((n_users, weeks)) < p_visit
    u, w = np.nonzero(visit)
    hour = rng.integers(0, 24 * 5, len(u))
    t = 24 * 7 * w + hour
    buy = rng.random(len(u)) < p_buy
    rows = [(int(a), int(b), "landing") for a, b in zip(u, t)]
    rows += [(int(a), int(b) + 24, "purchase") for a, b in zip(u[buy], t[buy])]
    rows.append((10**6, 24 * 7 * (weeks + 2), "page_view"))
    return log(rows)


def test_last_periods_no_longer_jump_to_100_percent():
    ev = _weekly_log()
    steps = ["landing", "purchase"]
    t = trend_table(ev, steps, window="3D", freq="W")
    buy = t[t["step"] == "purchase"]
    assert len(buy) == 10 and buy["complete"].all() and not buy["too_few"].any()
    rate = buy["conversion_rate"].to_numpy()
    # the per-attempt rate is 8 %, and so is every week's (within 3 points)
    assert np.all(np.abs(rate - 0.08) < 0.03), rate
    # the old split by reported attempt: non-converters stayed in their first week and
    # late converters moved to the week they bought, so the rate climbed to 100 %
    # (12 %, 23 %, 40 %, 59 %, 71 %, 94 %, 95 %, 98 %, 100 %, 100 %)
    old = _old_trend(ev, steps, "3D")
    old_rate = (old["converted"] / old["entered"]).to_numpy()
    assert old_rate[0] < 0.15 and old_rate[-1] == 1.0 and np.all(np.diff(old_rate) >= 0), old_rate


def test_too_few_entries_are_marked():
    ev = log(day_rows(0, 3, 1, 1) + day_rows(1, 40, 10, 100) + [(999, 24 * 5, "page_view")])
    t = trend_table(ev, ["landing", "purchase"], window="1D")
    per = t.drop_duplicates("period")
    assert per["entered"].tolist() == [3, 40]
    assert per["too_few"].tolist() == [True, False]  # default min_entries=30
    t = trend_table(ev, ["landing", "purchase"], window="1D", min_entries=3)
    assert not t["too_few"].any()
    with pytest.raises(ParameterError, match="min_entries"):
        trend_table(ev, ["landing", "purchase"], window="1D", min_entries=0)


def test_exclusions_leave_a_unit_out_of_one_period_only():
    # user 1: day 0 landing, help, purchase (tainted); day 1 landing, purchase (clean)
    rows = [(1, 10, "landing"), (1, 11, "help"), (1, 12, "purchase"),
            (1, 34, "landing"), (1, 35, "purchase"), (99, 24 * 5, "page_view")]
    t = trend_table(log(rows), ["landing", "purchase"], window="3h", exclude=[("help", 1, 2)])
    per = t.drop_duplicates("period")
    assert per["entered"].tolist() == [0, 1] and per["excluded"].tolist() == [1, 0]
    assert t.loc[t["step"] == "purchase", "units"].tolist() == [0, 1]


def test_start_and_end_bound_the_entries():
    ev = _repeat_visitors()
    t = trend_table(ev, ["landing", "purchase"], window="3D", freq="W",
                    start=T0 + pd.Timedelta(weeks=1), end=T0 + pd.Timedelta(weeks=3))
    buy = t[t["step"] == "purchase"]
    assert buy["period"].tolist() == [T0 + pd.Timedelta(weeks=1), T0 + pd.Timedelta(weeks=2)]
    assert buy["entered"].tolist() == [4, 4] and buy["units"].tolist() == [1, 0]


def test_unknown_keyword_is_refused_before_any_work():
    with pytest.raises(ParameterError, match="unknown keyword 'windw'"):
        trend_table("/no/such/file.parquet", ["landing"], windw="1D")


# --------------------------------------------------------------------------- the reference: a funnel per period
def _ref_trend(ev, steps, *, mode, window, window_from, exclude):
    """Per day of the log: ref_funnel with start/end = the day (slow, obvious)."""
    from _reference import ref_funnel, ref_stages

    stages, st, _ = ref_stages(steps)
    ex = []
    for name, a, b in exclude:
        stages.append(lambda row, n=name: str(row["event"]) == n)
        ex.append((stages[-1], a - 1, b - 1))
    w = None if window is None else int(pd.Timedelta(window).value)
    days = pd.date_range(ev["timestamp"].min().floor("D"), ev["timestamp"].max().floor("D"), freq="D")
    out = {}
    for d in days:
        r = ref_funnel(ev, stages, st, mode=mode, window=w, window_from=window_from, exclude=ex,
                       start=d.value, end=(d + pd.Timedelta("1D")).value)
        lv = np.asarray(r["level"], dtype=np.int64)
        out[d] = ([int((lv >= k).sum()) for k in range(1, len(steps) + 1)], int(np.asarray(r["excluded"]).sum()))
    return out


try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover
    given = None


if given is not None:
    _row = st.tuples(st.integers(0, 4), st.integers(0, 80), st.sampled_from(["a", "b", "c", "x"]))

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(rows=st.lists(_row, min_size=1, max_size=18),
           mode=st.sampled_from(["ordered", "strict", "any_order"]),
           window=st.sampled_from(["5h", "30h", None]),
           window_from=st.sampled_from(["entry", "previous"]),
           steps=st.sampled_from([["a", "b"], ["a", "b", "c"], ["a", "b", "a"]]),
           excl=st.booleans())
    def test_trend_equals_a_funnel_per_period(rows, mode, window, window_from, steps, excl):
        ev = log(rows)
        exclude = [("x", 1, 2)] if excl and mode != "any_order" else []
        if mode == "any_order" or (mode == "strict" and steps == ["a", "b", "a"]):
            window_from = "entry"
        want = _ref_trend(ev, steps, mode=mode, window=window, window_from=window_from, exclude=exclude)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = trend_table(ev, steps, window=window, mode=mode, window_from=window_from,
                            exclude=exclude or None, min_entries=1)
        got = {}
        for per, g in t.groupby("period", sort=True):
            got[per.tz_convert("UTC")] = (g["units"].tolist(), int(g["excluded"].iloc[0]))
        for d, (units, n_ex) in want.items():
            if d in got:
                assert got[d] == (units, n_ex), (d, got[d], units, n_ex)
            else:
                assert units[0] == 0 and n_ex == 0, (d, units, n_ex)
        assert set(got) <= set(want)


# --------------------------------------------------------------------------- every engine gives the same table
def _engine_log(n_users=400, n=6000, seed=3):
    rng = np.random.default_rng(seed)
    users = rng.integers(0, n_users, n)
    return pd.DataFrame({
        "user_id": [f"u{x:04d}" for x in users],
        "timestamp": T0 + pd.to_timedelta(rng.integers(0, 24 * 20, n), unit="h"),
        "event": rng.choice(["landing", "product_view", "purchase", "help"], n, p=[0.4, 0.3, 0.1, 0.2]),
    }).drop_duplicates(ignore_index=True)


def test_frame_parquet_spilled_and_dask_give_the_same_trend(tmp_path):
    ev = _engine_log()
    steps = ["landing", "product_view", "purchase"]
    kw = dict(window="2D", freq="D", exclude=[("help", 2, 3)], min_entries=10)
    want = trend_table(ev, steps, **kw)
    assert want["entered"].sum() > 0
    path = tmp_path / "ev.parquet"
    ev.to_parquet(path, row_group_size=1000)
    pd.testing.assert_frame_equal(trend_table(str(path), steps, **kw), want)
    pd.testing.assert_frame_equal(trend_table(str(path), steps, memory_budget=1 << 14, **kw), want)
    spill = tmp_path / "spill"
    spill.mkdir()
    seen = []
    real = _buckets.Buckets._write

    def write(self, j, parts):
        seen.append(self.tmp.parent)
        return real(self, j, parts)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_buckets.Buckets, "_write", write)
        got = trend_table(str(path), steps, memory_budget=1 << 14, tmp_dir=spill, **kw)
    pd.testing.assert_frame_equal(got, want)
    assert seen and set(seen) == {spill}  # tmp_dir= took the spilled buckets
    assert list(spill.iterdir()) == []  # and they are gone
    with pytest.raises(fk.errors.FunnelkitError, match="nope"):
        trend_table(str(path), steps, memory_budget=1 << 14, tmp_dir=tmp_path / "nope", **kw)
    shuffled = ev.sample(frac=1, random_state=1).reset_index(drop=True)
    pd.testing.assert_frame_equal(trend_table(shuffled, steps, **kw), want)
    dd = pytest.importorskip("dask.dataframe")
    import dask

    with dask.config.set(scheduler="synchronous"):
        got = trend_table(dd.from_pandas(ev, npartitions=3), steps, **kw)
    pd.testing.assert_frame_equal(got, want)


# --------------------------------------------------------------------------- every mode of the funnel
_MODE_OPTIONS = [dict(mode="strict"), dict(reuse_events=True), dict(stop_at_repeat=True, reuse_events=True),
                 dict(increasing_times=True, reuse_events=True), dict(mode="uninterrupted", reuse_events=True),
                 dict(mode="uninterrupted", out_of_order="ignore"), dict(mode="any_order")]


@pytest.mark.parametrize("kw", _MODE_OPTIONS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_every_funnel_mode_gives_its_trend(kw):
    """For each mode and option of fk.funnel, a period's row equals the funnel bounded to it
    (options the funnel does not have yet are skipped)."""
    import inspect
    import warnings

    rng = np.random.default_rng(11)
    n = 500
    ev = pd.DataFrame({"user_id": rng.integers(0, 40, n),
                       "timestamp": T0 + pd.to_timedelta(rng.integers(0, 4 * 24 * 4, n) * 15, unit="min"),
                       "event": rng.choice(["a", "b", "c", "x"], n, p=[0.35, 0.3, 0.2, 0.15])})
    steps = ["a", "b", "c"]
    names = set(inspect.signature(fk.funnel).parameters)
    if not set(kw) <= names:
        pytest.skip(f"fk.funnel has no {sorted(set(kw) - names)} yet")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fk.funnel(ev.head(5), steps, window="1D", **kw)
    except ParameterError as e:
        pytest.skip(f"fk.funnel does not take {kw}: {e}")
    t = trend_table(ev, steps, window="20h", min_entries=1, **kw)
    assert t["entered"].sum() > 0
    for per, g in t.groupby("period", sort=True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = fk.funnel(ev, steps, window="20h", start=per, end=per + pd.Timedelta("1D"), **kw)
        assert g["units"].tolist() == res.table["units"].tolist(), per


# --------------------------------------------------------------------------- mutation audit (sessions, trends, timing)
def _at(rows):
    """rows: (user, UTC timestamp string, event)."""
    return pd.DataFrame({"user_id": [r[0] for r in rows],
                         "timestamp": pd.to_datetime([r[1] for r in rows], utc=True).as_unit("ns"),
                         "event": [r[2] for r in rows]})


def test_shift_test_includes_cells_with_exactly_min_units():
    # day 0: 4 enter, 2 buy; day 1: 2 enter, 2 buy; min_units=2, so day 1's purchase cell
    # (units_previous = 2 = min_units) is tested: leave-one-out rate b = 2/4 = 0.5,
    # se = sqrt(0.5 * 0.5 / 2), z = (1 - 0.5) / se = sqrt(2), p = 2 * Phi(-sqrt(2)) = 0.1573.
    # Day 0's cell has b = 2/2 = 1, so se = 0: not tested.
    rows = day_rows(0, 4, 2, 1) + day_rows(1, 2, 2, 10) + [(99, 24 * 5, "page_view")]
    t = trend_table(log(rows), ["landing", "purchase"], window="1D", min_units=2, min_entries=1)
    buy = t[t["step"] == "purchase"].reset_index(drop=True)
    assert buy["units_previous"].tolist() == [4, 2]
    assert np.isnan(buy.loc[0, "p_value"])
    assert buy.loc[1, "expected_step_rate"] == pytest.approx(0.5)
    assert buy.loc[1, "z"] == pytest.approx(np.sqrt(2))
    assert buy.loc[1, "p_value"] == pytest.approx(0.157299, abs=1e-6)


def test_an_entry_at_end_is_outside_the_date_range():
    # end= is exclusive: user 2's landing at exactly `end` (Jan 2 00:00) enters no period, so
    # the table holds Jan 1 only: users 1 and 3 enter, user 1 buys (30 min later).
    rows = [(1, 10, "landing"), (1, 10.5, "purchase"), (3, 12, "landing"), (2, 24, "landing"),
            (99, 24 * 4, "page_view")]
    t = trend_table(log(rows), ["landing", "purchase"], window="1h", min_entries=1, end=T0 + pd.Timedelta(days=1))
    assert t["period"].tolist() == [T0, T0]
    assert t["entered"].tolist() == [2, 2] and t["units"].tolist() == [2, 1]


def test_a_conversion_exactly_one_window_after_the_start_counts():
    # landing 10:00, purchase 11:00, window 1h: 11:00 - 10:00 = window, inside (as in the funnel)
    ev = log([(1, 10, "landing"), (1, 11, "purchase"), (99, 24 * 4, "page_view")])
    t = trend_table(ev, ["landing", "purchase"], window="1h", min_entries=1)
    assert t["units"].tolist() == [1, 1]
    assert fk.funnel(ev, ["landing", "purchase"], window="1h").table["units"].tolist() == [1, 1]


def test_an_entry_keeps_rows_at_its_first_start_time_sorted_before_it():
    # user 1: "a" on Jan 1 06:00, two "a" on Jan 2 12:00. s2 = the 2nd "a": one of the two
    # Jan 2 rows; the other is an s1 start at the same instant, so Jan 2 converts with a
    # zero duration (1 of 1) while Jan 1 does not (the 2nd "a" is 30 h later, window 12 h).
    # Each day's counts are those of the funnel bounded to the day.
    import warnings

    ev = log([(1, 6, "a"), (1, 36, "a"), (1, 36, "a")], page=["p1", "p2", "p3"])
    j = fk.Journey({"s1": "a", "s2": fk.repeat("a", nth=2)})
    t = trend_table(ev, j, window="12h", min_entries=1)
    assert t["entered"].tolist() == [1, 1, 1, 1]
    assert t["units"].tolist() == [1, 0, 1, 1]
    for day in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = fk.funnel(ev, j, window="12h", start=T0 + pd.Timedelta(days=day),
                            end=T0 + pd.Timedelta(days=day + 1))
        assert t["units"].tolist()[2 * day:2 * day + 2] == res.table["units"].tolist()


# Periods at daylight-saving edges: (zone, freq, landings in UTC, the periods' UTC starts and
# ends, landings per period). The user-99 page view only extends the data.
_DST_EDGES = {
    # Havana, 2024-11-03: clocks go back from 01:00 CDT (-4) to 00:00 CST (-5), so local
    # midnight happens twice; the day starts at the first one, 00:00 CDT = 04:00 UTC. A landing
    # at 04:30 UTC (00:30 CDT) is in Nov 3, which lasts 25 h (to Nov 4 00:00 CST).
    "ambiguous midnight: its first instant": (
        "America/Havana", "D", ["2024-11-02 16:00", "2024-11-03 04:30"],
        ["2024-11-02 04:00", "2024-11-03 04:00"], ["2024-11-03 04:00", "2024-11-04 05:00"], [1, 1]),
    # Havana, 2024-03-10: clocks jump from 00:00 CST (-5) to 01:00 CDT (-4), so midnight does
    # not exist and Mar 10 starts at 01:00 CDT = 05:00 UTC: Mar 9 lasts 24 h, Mar 10 23 h.
    "nonexistent midnight: the jump": (
        "America/Havana", "D", ["2024-03-09 17:00", "2024-03-10 16:00"],
        ["2024-03-09 05:00", "2024-03-10 05:00"], ["2024-03-10 05:00", "2024-03-11 04:00"], [1, 1]),
    # Madrid, 2024-03-31: local 02:00-03:00 does not exist (01:00 UTC is 03:00 CEST). Landings
    # at 00:30, 01:30 and 02:30 UTC are 01:30 CET, 03:30 and 04:30 CEST: three periods of one
    # hour, one landing each; no zero-length 02:00 period (it used to take the 03:30 landing,
    # leaving the real 03:00 period empty, with two rows for 03:00)
    "skipped hour: no period": (
        "Europe/Madrid", "h", ["2024-03-31 00:30", "2024-03-31 01:30", "2024-03-31 02:30"],
        ["2024-03-31 00:00", "2024-03-31 01:00", "2024-03-31 02:00"],
        ["2024-03-31 01:00", "2024-03-31 02:00", "2024-03-31 03:00"], [1, 1, 1]),
    # Lord Howe, 2024-10-06: local 02:00-02:30 does not exist (+10:30 -> +11 at 15:30 UTC); the
    # hour 02 is 02:30-03:00 local (pandas' shift_forward would start it at 03:00). Landings at
    # 15:40 UTC (02:40 local) and 16:10 (03:10)
    "half-hour change: the hour starts at the jump": (
        "Australia/Lord_Howe", "h", ["2024-10-05 15:40", "2024-10-05 16:10"],
        ["2024-10-05 15:30", "2024-10-05 16:00"], ["2024-10-05 16:00", "2024-10-05 17:00"], [1, 1]),
}


@pytest.mark.parametrize("case", list(_DST_EDGES))
def test_periods_at_daylight_saving_edges(case):
    tz, freq, landings, starts, ends, entered = _DST_EDGES[case]
    ev = _at([(u, at, "landing") for u, at in enumerate(landings)] + [(99, "2024-12-20 00:00", "page_view")])
    t = trend_table(ev, ["landing"], freq=freq, window="1h", min_entries=1, tz=tz)
    assert t["period"].tolist() == [pd.Timestamp(s, tz="UTC") for s in starts]
    assert t["period_end"].tolist() == [pd.Timestamp(e, tz="UTC") for e in ends]
    assert t["entered"].tolist() == entered
