"""Tests for funnelkit.analyses.timing.time_to_convert: the histogram between two steps, by hand and
against a slow per-unit reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import funnelkit as fk
from funnelkit.analyses.timing import TTC_COLUMNS, TTC_SUMMARY_COLUMNS, TimeToConvertResult, time_to_convert
from funnelkit.errors import ParameterError, UnknownStageError

T0 = pd.Timestamp("2024-01-01", tz="UTC")


def log(rows):
    """rows: (user, minutes after T0, event)."""
    return pd.DataFrame({"user_id": [r[0] for r in rows],
                         "timestamp": T0 + pd.to_timedelta([r[1] for r in rows], unit="min"),
                         "event": [r[2] for r in rows]})


@pytest.fixture(scope="module")
def three_steps():
    # durations landing -> purchase: u1 0 min (same instant), u2 30, u3 60, u4 90 (via cart);
    # u5 reaches cart only, u6 lands only
    return log([(1, 0, "landing"), (1, 0, "cart"), (1, 0, "purchase"),
                (2, 0, "landing"), (2, 10, "cart"), (2, 30, "purchase"),
                (3, 0, "landing"), (3, 50, "cart"), (3, 60, "purchase"),
                (4, 0, "landing"), (4, 80, "cart"), (4, 90, "purchase"),
                (5, 0, "landing"), (5, 5, "cart"), (6, 0, "landing")])


STEPS = ["landing", "cart", "purchase"]


def test_explicit_edges_by_hand(three_steps):
    ttc = time_to_convert(three_steps, STEPS, window="1D", bins=["0s", "30min", "1h", "2h"])
    assert isinstance(ttc, TimeToConvertResult)
    t = ttc.table
    assert list(t.columns) == list(TTC_COLUMNS)
    assert t["bin_start"].tolist() == [pd.Timedelta(0), pd.Timedelta("30min"), pd.Timedelta("1h")]
    assert t["bin_end"].tolist() == [pd.Timedelta("30min"), pd.Timedelta("1h"), pd.Timedelta("2h")]
    assert t["units"].tolist() == [1, 1, 2]  # [0, 30min): 0; [30min, 1h): 30; [1h, 2h]: 60, 90
    assert t["share"].tolist() == [0.25, 0.25, 0.5]
    assert t["cumulative_units"].tolist() == [1, 2, 4]
    assert t["cumulative_share"].tolist() == [0.25, 0.5, 1.0]
    assert (t["units_converted"] == 4).all() and (t["units_from"] == 6).all()
    assert t["cumulative_conversion_rate"].tolist() == pytest.approx([1 / 6, 2 / 6, 4 / 6])
    s = ttc.summary.iloc[0]
    assert list(ttc.summary.columns) == list(TTC_SUMMARY_COLUMNS)
    assert (s["from_step"], s["to_step"], s["units_from"], s["units_converted"]) == ("landing", "purchase", 6, 4)
    assert s["zero_durations"] == 1 and s["attempt"] == "reported" and bool(s["zero_durations_in_stats"])
    assert s["mean"] == pd.Timedelta("45min") and s["median"] == pd.Timedelta("45min")  # 0, 30, 60, 90
    assert s["mean_nonzero"] == pd.Timedelta("60min") and s["median_nonzero"] == pd.Timedelta("60min")
    assert (s["below_range"], s["above_range"]) == (0, 0)
    assert ttc.attempt == "reported" and ttc.zero_durations == "included"
    assert ttc.durations["duration"].tolist() == [pd.Timedelta(m, unit="min") for m in (0, 30, 60, 90)]
    assert ttc.durations["user_id"].tolist() == [1, 2, 3, 4]


def test_any_two_steps_and_a_bin_count(three_steps):
    ttc = time_to_convert(three_steps, STEPS, from_step="cart", to_step=3, window="1D", bins=2)
    # cart -> purchase: u1 0, u2 20, u3 10, u4 10 min; 2 bins over [0, 20min]
    t = ttc.table
    assert t["bin_start"].tolist() == [pd.Timedelta(0), pd.Timedelta("10min")]
    assert t["bin_end"].tolist() == [pd.Timedelta("10min"), pd.Timedelta("20min")]
    assert t["units"].tolist() == [1, 3]  # the last bin is closed: 20 min falls in it
    assert (t["units_from"] == 5).all() and ttc.summary["units_from"].iloc[0] == 5
    assert ttc.params["from_step"] == "cart" and ttc.params["to_step"] == "purchase" and ttc.params["bins"] == 2


def test_auto_bins_follow_posthogs_count(three_steps):
    ttc = time_to_convert(three_steps, STEPS, window="1D")
    assert len(ttc.table) == 2  # ceil(cbrt(4)) = 2
    ev = log([(u, 0, "landing") for u in range(70)] + [(u, u, "purchase") for u in range(70)])
    assert len(time_to_convert(ev, ["landing", "purchase"], window="1D").table) == 5  # ceil(cbrt(70)) = 5


def test_out_of_range_durations_are_counted_not_dropped(three_steps):
    ttc = time_to_convert(three_steps, STEPS, window="1D", bins=["10min", "1h"])
    assert ttc.table["units"].tolist() == [2]  # 30 and 60 min; 0 below, 90 above
    s = ttc.summary.iloc[0]
    assert (s["below_range"], s["above_range"]) == (1, 1)
    assert ttc.table["cumulative_share"].iloc[-1] == 0.5


def test_from_a_funnel_result_and_its_plot(three_steps):
    res = fk.funnel(three_steps, STEPS, window="1D")
    a = time_to_convert(res, bins=3)
    b = time_to_convert(three_steps, STEPS, window="1D", bins=3)
    pd.testing.assert_frame_equal(a.table, b.table)
    with pytest.raises(ParameterError, match="fixed by the result"):
        time_to_convert(res, STEPS)
    assert "<table" in a._repr_html_() and "zero durations included" in a._repr_html_()


def test_no_conversion_gives_empty_bins():
    ev = log([(1, 0, "landing"), (2, 0, "landing"), (3, 5, "purchase")])
    ttc = time_to_convert(ev, ["landing", "purchase"], window="1D", bins=3)
    assert ttc.table["units"].sum() == 0 and ttc.table["share"].isna().all()
    assert pd.isna(ttc.summary["mean"].iloc[0]) and ttc.summary["units_from"].iloc[0] == 2


@pytest.mark.parametrize("kw, exc, match", [
    (dict(bins=0), ParameterError, "between 1 and 10000"),
    (dict(bins="many"), ParameterError, "'auto'"),
    (dict(bins=["1h", "30min"]), ParameterError, "must increase"),
    (dict(bins=[0, 60]), ParameterError, "bare number"),
    (dict(bins=["1h"]), ParameterError, "at least two"),
    (dict(bins=True), ParameterError, "bins"),
    (dict(from_step=3, to_step=2), ParameterError, "must come before"),
    (dict(to_step="buy"), UnknownStageError, "not a step"),
    (dict(from_step=9), ParameterError, "numbered 1..3"),
])
def test_parameter_errors_before_any_work(kw, exc, match):
    with pytest.raises(exc, match=match):
        time_to_convert("/no/such/file.parquet", STEPS, **kw)


def test_keyword_only_after_the_data(three_steps):
    with pytest.raises(TypeError):
        time_to_convert(three_steps, STEPS, 1)  # type: ignore[misc]


# --------------------------------------------------------------------------- against a slow reference
def _ref_hist(res, i_from, i_to, edges):
    """Per unit, in Python: its duration on the reported attempt, then the bin it falls in."""
    counts = [0] * (len(edges) - 1)
    names = list(res.steps)
    for _, row in res.units.iterrows():
        if row["level"] < i_to + 1:
            continue
        d = (row[names[i_to]] - row[names[i_from]]).value
        for j in range(len(edges) - 1):
            last = j == len(edges) - 2
            if edges[j] <= d < edges[j + 1] or (last and d == edges[j + 1]):
                counts[j] += 1
                break
    return counts


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover
    given = None

if given is not None:
    @settings(max_examples=30, deadline=None)
    @given(rows=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 120), st.sampled_from(STEPS + ["x"])),
                         min_size=1, max_size=24),
           pair=st.sampled_from([(1, 2), (1, 3), (2, 3)]),
           edges=st.lists(st.integers(0, 150), min_size=2, max_size=6, unique=True))
    def test_histogram_equals_a_per_unit_reference(rows, pair, edges):
        ev = log(rows)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = fk.funnel(ev, STEPS, window="1h")
        edges = sorted(edges)
        ttc = time_to_convert(res, from_step=pair[0], to_step=pair[1], bins=[f"{m}min" for m in edges])
        ns = [m * 60 * 10**9 for m in edges]
        assert ttc.table["units"].tolist() == _ref_hist(res, pair[0] - 1, pair[1] - 1, ns)
        s = ttc.summary.iloc[0]
        inside = int(ttc.table["units"].sum())
        assert inside + s["below_range"] + s["above_range"] == s["units_converted"]


# --------------------------------------------------------------------------- mutation audit (sessions, trends, timing)
def test_time_between_by_hand(three_steps):
    # landing -> cart: 6 units reached landing, 5 reached cart: u1 0, u2 10, u3 50, u4 80, u5 5 min
    # (u6 never reached cart: left out); sorted 0, 5, 10, 50, 80: linear quantiles (numpy's
    # default) p25 = 5, median = 10, p75 = 50, p90 = 50 + 0.6 * 30 = 68; mean 145 / 5 = 29.
    # cart -> purchase: 5 reached cart, 4 bought: 0, 20, 10, 10 -> sorted 0, 10, 10, 20:
    # p25 = 0.75 * 10 = 7.5, median 10, p75 = 10 + 0.25 * 10 = 12.5, p90 = 10 + 0.7 * 10 = 17.
    tb = fk.time_between(three_steps, STEPS, window="1D")
    t = tb.table
    mins = lambda *v: [pd.Timedelta(minutes=x) for x in v]  # noqa: E731
    assert t["transition"].tolist() == ["landing → cart", "cart → purchase"]
    assert t["units_from"].tolist() == [6, 5] and t["units"].tolist() == [5, 4]
    assert t["rate"].tolist() == pytest.approx([5 / 6, 4 / 5])
    assert t["zero_durations"].tolist() == [1, 1]
    assert t["min"].tolist() == mins(0, 0) and t["max"].tolist() == mins(80, 20)
    assert t["p25"].tolist() == mins(5, 7.5) and t["median"].tolist() == mins(10, 10)
    assert t["p75"].tolist() == mins(50, 12.5) and t["p90"].tolist() == mins(68, 17)
    assert t["mean"].tolist() == mins(29, 10)
    for tr, d in (("landing → cart", [0, 10, 50, 80, 5]), ("cart → purchase", [0, 20, 10, 10])):
        for q, col in ((0.25, "p25"), (0.75, "p75"), (0.9, "p90")):  # the numpy reference
            assert t.loc[t["transition"] == tr, col].iloc[0] == pd.Timedelta(minutes=float(np.quantile(d, q)))
    dur = tb.durations
    assert dur.loc[dur["transition"] == "landing → cart", "user_id"].tolist() == [1, 2, 3, 4, 5]
    assert dur.loc[dur["transition"] == "cart → purchase", "user_id"].tolist() == [1, 2, 3, 4]


def test_time_between_one_nanosecond_is_not_a_zero_duration():
    # purchase 1 ns after landing: a duration of 1 ns, not zero
    ev = pd.DataFrame({"user_id": [1, 1], "timestamp": [T0, T0 + pd.Timedelta(1, "ns")],
                       "event": ["landing", "purchase"]})
    row = fk.time_between(ev, ["landing", "purchase"], window="1D").table.iloc[0]
    assert row["zero_durations"] == 0 and row["min"] == pd.Timedelta(1, "ns")


def test_time_between_cumulative_counts_durations_up_to_and_including_t(three_steps):
    # landing -> cart durations 0, 5, 10, 50, 80 min of 6 units: converted within t counts
    # durations <= t: 1, 2, 3, 4, 5. With points=4 (fewer than the 5 distinct durations) the
    # grid is the observed durations at the quantiles 0, 1/3, 2/3, 1 (inverted CDF: the first
    # duration whose share reaches q): 0, 5 (2/5 >= 1/3), 50 (4/5 >= 2/3), 80.
    tb = fk.time_between(three_steps, STEPS, window="1D")
    c = tb.cumulative("cart")
    assert c["duration"].tolist() == [pd.Timedelta(minutes=m) for m in (0, 5, 10, 50, 80)]
    assert c["converted"].tolist() == [1, 2, 3, 4, 5]
    assert c["share"].tolist() == pytest.approx([1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6])
    c4 = tb.cumulative("cart", points=4)
    assert c4["duration"].tolist() == [pd.Timedelta(minutes=m) for m in (0, 5, 50, 80)]
    assert c4["converted"].tolist() == [1, 2, 4, 5]
