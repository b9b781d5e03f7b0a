"""analyses/frictions.py: candidate counts against a per-unit reference, statistics against
scipy/statsmodels, the journey map's frictions explained by the table, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funnelkit as fk
from funnelkit.analyses.frictions import FRICTIONS_COLUMNS, frictions
from funnelkit.errors import MissingColumnError, ParameterError

pytestmark = pytest.mark.filterwarnings("ignore::funnelkit.errors.DuplicateEventsWarning")


def random_log(seed: int, n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "user_id": rng.integers(0, 25, n),
        "timestamp": pd.to_datetime(rng.integers(0, 10, n) * 60, unit="s", utc=True),
        "event": rng.choice(["a", "b", "c", "help", "promo"], n),
        "channel": rng.choice(["ads", "mail", None], n),
    })


def ref_counts(ev, res, k):
    """{candidate: (converted_with, dropped_with)} from each unit's observation range."""
    units = res.units
    win = res.params["window"]
    out: dict = {}
    e = ev.assign(t=ev["timestamp"].astype("int64"))
    for uid, row in units.iterrows():
        lv = row["level"]
        if lv < k + 1:
            continue
        conv = lv >= k + 2
        t1 = row[res.steps[0]].value
        if conv:
            sel = e[(e["user_id"] == uid) & (e["t"] >= t1) & (e["t"] < row[res.steps[k + 1]].value)]
        else:
            hi = np.inf if win is None else t1 + win.value
            sel = e[(e["user_id"] == uid) & (e["t"] >= t1) & (e["t"] <= hi)]
        seen = set(sel["event"]) | {f"channel={v}" for v in sel["channel"].dropna()}
        for c in seen:
            cw, dw = out.get(c, (0, 0))
            out[c] = (cw + conv, dw + (not conv))
    return out


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10**6), window=st.sampled_from(["4min", None]))
def test_candidate_counts_equal_the_reference(seed, window):
    ev = random_log(seed)
    res = fk.funnel(ev, ["a", "b", "c"], window=window)
    for k in (0, 1):
        lv = res.units["level"]
        if not (lv >= k + 1).any():
            continue
        fr = frictions(ev, res, step=k + 1, properties=["channel"], min_units=1)
        want = ref_counts(ev, res, k)
        n = int((lv >= k + 1).sum())
        want = {c: v for c, v in want.items() if sum(v) < n}
        got = {c: (a, b) for c, a, b in zip(fr.table["candidate"], fr.table["converted_with"], fr.table["dropped_with"])}
        assert got == want
        t = fr.table
        assert ((t["converted_with"] + t["converted_without"]) == int((lv >= k + 2).sum())).all()
        assert ((t["dropped_with"] + t["dropped_without"]) == int((lv == k + 1).sum())).all()


def _shop_result():
    rng = np.random.default_rng(11)
    rows = []
    for u in range(400):
        ch = "ads" if u % 3 else "mail"
        rows.append((u, 0, "view", ch))
        helped = rng.random() < 0.3
        if helped:
            rows.append((u, 1, "help", ch))
        if rng.random() < (0.2 if helped else 0.6):
            rows.append((u, 2, "buy", ch))
        if rng.random() < 0.5:
            rows.append((u, 3, "scroll", ch))
    ev = pd.DataFrame(rows, columns=["user_id", "timestamp", "event", "channel"])
    ev["timestamp"] = pd.to_datetime(ev["timestamp"], unit="m", utc=True)
    return ev, fk.funnel(ev, ["view", "buy"], window="1h")


def test_statistics_equal_scipy_and_statsmodels():
    scipy_stats = pytest.importorskip("scipy.stats")
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    tables = pytest.importorskip("statsmodels.stats.contingency_tables")
    ev, res = _shop_result()
    fr = frictions(ev, res, step=1, properties="channel")
    t = fr.table
    assert list(t.columns) == list(FRICTIONS_COLUMNS)
    for _, r in t.iterrows():
        tab = [[r["converted_with"], r["dropped_with"]], [r["converted_without"], r["dropped_without"]]]
        if r["test"] == "chi2":
            assert r["p_value"] == pytest.approx(scipy_stats.chi2_contingency(tab)[1])
        else:
            assert r["p_value"] == pytest.approx(scipy_stats.fisher_exact(tab).pvalue)
        t22 = tables.Table2x2(np.asarray(tab, dtype=float))
        assert r["odds_ratio"] == pytest.approx(t22.oddsratio)
        assert (r["ci_low"], r["ci_high"]) == pytest.approx(t22.oddsratio_confint())
    np.testing.assert_allclose(t["p_adjusted"], multitest.multipletests(t["p_value"], method="fdr_bh")[1])
    helprow = t[t["candidate"] == "help"].iloc[0]
    assert helprow["direction"] == "negative" and helprow["significant"]
    # scroll happens after buying: converters are observed until they convert, so it is never
    # in their range and leans negative (the documented bias of until="conversion") ...
    srow = t[t["candidate"] == "scroll"].iloc[0]
    assert srow["converted_with"] == 0 and srow["direction"] == "negative"
    assert set(fr.strongest(2)["candidate"]) == {"help", "scroll"}
    # ... while until="deadline" observes both groups over the window: scroll has no signal
    t2 = frictions(ev, res, step=1, until="deadline").table.set_index("candidate")
    assert not t2.loc["scroll", "significant"]
    assert t2.loc["help", "significant"] and t2.loc["help", "direction"] == "negative"
    with pytest.raises(ParameterError, match="until"):
        frictions(ev, res, step=1, until="end")


def test_journey_map_frictions_are_explained_by_the_table():
    """With one touchpoint value per unit, the map's cell (touchpoint v, next stage) and the
    candidate 'channel=v' hold the same units."""
    ev, res = _shop_result()
    jm = fk.journey_map(ev, ["view", "buy"], touchpoint="channel", window="1h", min_units=1)
    fr = frictions(ev, res, step=1, properties=["channel"], min_units=1).table.set_index("candidate")
    cells = jm.table[jm.table["step"] == "buy"].set_index("touchpoint")
    for v in ("ads", "mail"):
        assert cells.loc[v, "units"] == fr.loc[f"channel={v}", "converted_with"]
        assert cells.loc[v, "dropoff"] == fr.loc[f"channel={v}", "dropped_with"]


def test_errors_and_filters():
    ev, res = _shop_result()
    with pytest.raises(MissingColumnError, match="nope"):
        frictions(ev, res, step=1, properties=["nope"])
    with pytest.raises(ParameterError, match="last step"):
        frictions(ev, res, step=2)
    with pytest.raises(ParameterError, match="min_units"):
        frictions(ev, res, step=1, min_units=0)
    with pytest.raises(ParameterError, match="alpha"):
        frictions(ev, res, step=1, alpha=1.5)
    fr = frictions(ev, res, step="view")
    assert "view" not in set(fr.table["candidate"])  # seen by every unit: no contrast
    assert fr.params["candidates_left_out"] >= 1
    before = ev.copy()
    frictions(ev.sample(frac=1, random_state=2), res, step=1)
    pd.testing.assert_frame_equal(ev, before)
    a = frictions(ev.sample(frac=1, random_state=2), res, step=1).table
    pd.testing.assert_frame_equal(a, fr.table)


# --------------------------------------------------------------------------- mutation audit


def test_window_from_previous_deadline_runs_from_the_step_time():
    # window 10min from the previous step, step 2 (cart). User 1 drops out: cart@8, so its
    # range ends at 8 + 10 = 18 and holds help@15 (from entry it would end at 0 + 10).
    # User 2 converts at buy@5 (range [0, 5): view, cart).
    ev = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 2],
                       "timestamp": pd.to_datetime([0, 8, 15, 0, 2, 5], unit="m", utc=True),
                       "event": ["view", "cart", "help", "view", "cart", "buy"]})
    res = fk.funnel(ev, ["view", "cart", "buy"], window="10min", window_from="previous")
    t = frictions(ev, res, step=2, min_units=1).table
    assert t["candidate"].tolist() == ["help"]
    assert (t["converted_with"].tolist(), t["dropped_with"].tolist()) == ([0], [1])


def test_conversion_rates_are_those_of_the_2x2_table():
    ev, res = _shop_result()
    t = frictions(ev, res, step=1, properties="channel", min_units=1).table
    with_ = t["converted_with"] / (t["converted_with"] + t["dropped_with"])
    without = t["converted_without"] / (t["converted_without"] + t["dropped_without"])
    np.testing.assert_allclose(t["conversion_rate_with"], with_)
    np.testing.assert_allclose(t["conversion_rate_without"], without)


def test_ranking_breaks_p_adjusted_ties_by_the_size_of_the_log_odds_ratio():
    ev = random_log(0, n=300)  # a log whose table has tied p_adjusted with different odds ratios
    res = fk.funnel(ev, ["a", "b", "c"], window="4min")
    t = frictions(ev, res, step=1, properties=["channel"], min_units=1).table
    lor = np.abs(np.log(t["odds_ratio"].to_numpy()))
    keys = list(zip(t["p_adjusted"], -lor, t["candidate"]))
    assert keys == sorted(keys)
    tied = t.assign(lor=lor).groupby("p_adjusted")["lor"].nunique()
    assert (tied > 1).any()  # the tie-break is exercised
    assert t["rank"].tolist() == list(range(1, len(t) + 1))


@pytest.mark.parametrize("layout", ["pq_file", "hive_dir"])
def test_properties_are_checked_against_a_parquet_path_before_any_work(parquet_layout, layout, spy_calls):
    # a .pq file and a hive-partitioned directory (the check used to skip both): a missing
    # property column is named before the engine runs; the partition column is a property
    import funnelkit.engine.drive as engine_drive

    ev, res = _shop_result()
    path = parquet_layout(ev, layout, "channel")
    runs = spy_calls(engine_drive, "drive")
    with pytest.raises(MissingColumnError, match="nope"):
        frictions(path, res, step=1, properties=["nope"])
    assert runs == []
    got = frictions(path, res, step=1, properties=["channel"], min_units=1).table
    want = frictions(ev, res, step=1, properties=["channel"], min_units=1).table
    pd.testing.assert_frame_equal(got, want)
