"""Tests for funnelkit.plotting: structure, not pixels (Agg backend)."""

from __future__ import annotations

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import funnelkit as fk  # noqa: E402
from funnelkit import plotting  # noqa: E402
from funnelkit.datasets._journeys import shop_journey  # noqa: E402
from funnelkit.errors import ParameterError  # noqa: E402

EN = ("Discovery", "Consideration", "Purchase", "Use", "Loyalty")
ES = ("Descubrimiento", "Consideración", "Compra", "Uso", "Fidelización")


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def events():
    return fk.datasets.make_shop(n_users=3000, seed=1)


@pytest.fixture(scope="module")
def res(events):
    return fk.funnel(events, shop_journey(), window="7D", by="channel")


@pytest.fixture(scope="module")
def exp(events):
    return fk.experiment(events, shop_journey(), variant_col="variant", control="A", window="7D")


@pytest.fixture(scope="module")
def tb(res):
    return res.time_between()


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def new_ax(w=8, h=4.5):
    fig, ax = plt.subplots(figsize=(w, h), layout="constrained")
    return ax


def pct(v, lang="en", digits=1):
    s = f"{v * 100:.{digits}f}"
    return s.replace(".", ",") + "\u00a0%" if lang == "es" else s + "%"


def num(n, lang="en"):
    s = f"{int(n):,}"
    return s.replace(",", ".") if lang == "es" else s


def ticks(ax, axis="x"):
    labels = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    return [t.get_text().replace("\n", " ") for t in labels if t.get_text()]


def texts(ax):
    return [t.get_text() for t in ax.texts]


def boxes(artists, renderer):
    return [a.get_window_extent(renderer) for a in artists if a.get_visible() and a.get_text()]


def overlapping(bbs):
    for i in range(len(bbs)):
        for j in range(i + 1, len(bbs)):
            a, b = bbs[i], bbs[j]
            if a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1:
                return True
    return False


def draw(ax):
    fig = ax.figure
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def assert_ticks_do_not_overlap(ax, axis="x"):
    r = draw(ax)
    labels = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    assert not overlapping(boxes(labels, r)), [t.get_text() for t in labels]


# --------------------------------------------------------------------------- funnel bars
@pytest.mark.parametrize("lang, labels", [("en", EN), ("es", ES)])
def test_funnel_bars_structure(res, lang, labels):
    ax = new_ax()
    out = plotting.funnel_bars(res, ax=ax, lang=lang)
    assert out is ax
    bars = [p for p in ax.patches if p.get_gid() == "funnelkit-bars"]
    ghosts = [p for p in ax.patches if p.get_gid() == "funnelkit-dropoff"]
    assert len(bars) == len(res.table) and len(ghosts) == len(res.table) - 1
    assert [b.get_height() for b in bars] == res.table["units"].tolist()
    assert tuple(ticks(ax)) == labels
    tx = texts(ax)
    for r in res.table.itertuples():
        assert any(pct(r.conversion_rate, lang) in t and num(r.units, lang) in t for t in tx)
    for r in res.table.iloc[1:].itertuples():
        assert any(pct(r.dropoff_rate, lang) in t and num(r.dropoff, lang) in t for t in tx)
    assert ax.get_title(loc="left") == ("Funnel" if lang == "en" else "Embudo")
    assert ax.get_ylabel() == ("Users" if lang == "en" else "Usuarios")


def test_funnel_bars_annotations_and_ticks_do_not_overlap(res):
    ax = new_ax(6.4, 4.0)
    plotting.funnel_bars(res, ax=ax)
    r = draw(ax)
    assert not overlapping(boxes(ax.texts, r))
    assert_ticks_do_not_overlap(ax)
    # every annotation stays inside the Axes
    inside = ax.get_window_extent(r)
    for b in boxes(ax.texts, r):
        assert b.y1 <= inside.y1 + 1 and b.y0 >= inside.y0 - 1


def test_funnel_bars_new_figure_and_default_language(events):
    res_es = fk.funnel(events, shop_journey(lang="es"), window="7D")
    ax = plotting.funnel_bars(res_es)
    assert tuple(ticks(ax)) == ES
    ax.figure.canvas.draw()


def _long_funnel():
    names = [f"step number {i} with a rather long descriptive event name" for i in range(1, 9)]
    rng = np.random.default_rng(0)
    rows = []
    for u in range(200):
        depth = rng.integers(1, 9)
        for k in range(depth):
            rows.append((u, k * 60, names[k]))
    ev = pd.DataFrame({"user_id": [r[0] for r in rows],
                       "timestamp": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta([r[1] for r in rows], "s"),
                       "event": [r[2] for r in rows]})
    return fk.funnel(ev, names, window="1D")


@pytest.mark.parametrize("size", [(6.4, 4.0), (4.0, 3.0), (12, 5)])
def test_long_labels_are_wrapped_or_rotated_never_overlapping(size):
    res = _long_funnel()
    ax = new_ax(*size)
    plotting.funnel_bars(res, ax=ax)
    assert_ticks_do_not_overlap(ax)
    assert [t.replace(" ", "") for t in ticks(ax)] == [s.replace(" ", "") for s in res.steps]


def test_dollar_signs_are_not_mathtext():
    ev = pd.DataFrame({"user_id": [1, 1, 2], "timestamp": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:05",
                                                                       "2024-01-01 11:00"], utc=True),
                       "event": ["$5 off banner", "buy for $5", "$5 off banner"]})
    res = fk.funnel(ev, ["$5 off banner", "buy for $5"], window="1D")
    ax = plotting.funnel_bars(res)
    ax.figure.canvas.draw()
    assert "$5 off banner" in ticks(ax)[0].replace("\\$", "$")


# --------------------------------------------------------------------------- experiment
@pytest.mark.parametrize("lang, labels", [("en", EN), ("es", ES)])
def test_variant_conversion_structure(exp, lang, labels):
    ax = new_ax(9, 4.5)
    assert plotting.variant_conversion(exp, ax=ax, lang=lang) is ax
    from matplotlib.container import BarContainer, ErrorbarContainer

    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    errs = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    V, K = len(exp.variants), len(exp.steps)
    assert len(bars) == V and len(errs) == V
    assert sum(len(c.patches) for c in bars) == V * K
    assert tuple(ticks(ax)) == labels
    t = exp.table
    for i, v in enumerate(exp.variants):
        sub = t[t["variant"].astype(str) == str(v)]
        assert [p.get_height() for p in bars[i].patches] == pytest.approx(sub["rate"].tolist())
        segs = errs[i].lines[2][0].get_segments()
        lo = [s[0][1] for s in segs]
        hi = [s[1][1] for s in segs]
        assert lo == pytest.approx(sub["rate_ci_low"].tolist())
        assert hi == pytest.approx(sub["rate_ci_high"].tolist())
    tx = texts(ax)
    for r in t.itertuples():
        assert any(x.startswith(pct(r.rate, lang)) for x in tx)
    sig = t["verdict"].str.startswith("significant")
    assert sum(x.endswith("*") for x in tx) == int(sig.sum())
    title = ax.get_title(loc="left")
    assert title == ("Conversion by variant (95% CI)" if lang == "en" else "Conversión por variante (IC 95\u00a0%)")
    legend = [x.get_text() for x in ax.get_legend().get_texts()]
    assert legend[0] == ("A (control)")
    r = draw(ax)
    assert not overlapping(boxes([x for x in ax.texts], r))
    assert_ticks_do_not_overlap(ax)


def test_variant_conversion_small_axes_rotates_labels(exp):
    ax = new_ax(4, 3)
    plotting.variant_conversion(exp, ax=ax)
    r = draw(ax)
    assert not overlapping(boxes(ax.texts, r))
    assert_ticks_do_not_overlap(ax)


# --------------------------------------------------------------------------- timing
def test_time_hist_all_transitions(tb):
    ax = new_ax()
    assert plotting.time_hist(tb, ax=ax) is ax
    assert len(ax.patches) == len(tb.table)  # one step outline per transition
    assert ax.get_xscale() == "log"
    legend = [x.get_text() for x in ax.get_legend().get_texts()]
    assert len(legend) == len(tb.table)
    assert legend[0].startswith("Discovery → Consideration (median ")
    xt = ticks(ax)
    assert xt and all(t.split()[-1] in ("s", "min", "h", "d") for t in xt)
    assert_ticks_do_not_overlap(ax)


def test_time_hist_one_transition_spanish_labels(tb):
    ax = new_ax()
    plotting.time_hist(tb, "purchase", ax=ax, lang="es", labels=ES, bins=20)
    assert ax.get_title(loc="left") == "Tiempo entre etapas: Consideración → Compra"
    assert len(ax.patches) == 1  # one filled step outline
    d = tb.durations.loc[tb.durations["to_step"] == "purchase", "duration"].dt.total_seconds().to_numpy()
    d = d[d > 0]
    expected, _ = np.histogram(d, bins=np.geomspace(d.min(), d.max(), 21))
    assert ax.patches[0].get_xy()[:, 1].max() == expected.max()
    assert ax.get_xlabel() == "Tiempo desde la etapa anterior"
    med = tb.table.set_index("to_step").loc["purchase", "median"].total_seconds()
    vlines = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(vlines) == 1 and vlines[0].get_xdata()[0] == pytest.approx(med)
    ax.figure.canvas.draw()


def test_time_hist_linear_and_custom_bins(tb):
    ax = plotting.time_hist(tb, 1, log=False, bins=[0, 60, 600, 3600, 86400, 7 * 86400])
    assert ax.get_xscale() == "linear"
    ax.figure.canvas.draw()
    with pytest.raises(ParameterError):
        plotting.time_hist(tb, 1, bins=[10, 5])
    with pytest.raises(ParameterError):
        plotting.time_hist(tb, 1, bins=[0, 10, 20], log=True)


def test_time_cumulative_ends_at_the_transition_rate(tb):
    ax = new_ax()
    assert plotting.time_cumulative(tb, ax=ax) is ax
    lines = ax.get_lines()
    assert len(lines) == len(tb.table)
    for ln, rate in zip(lines, tb.table["rate"]):
        assert ln.get_ydata()[-1] == pytest.approx(rate)
        assert np.all(np.diff(ln.get_ydata()) >= 0)
    assert ax.get_yaxis().get_major_formatter()(0.25, 0) == "25%"
    ax.figure.canvas.draw()


def test_time_cumulative_several_results_on_one_axes(exp):
    ax = new_ax()
    for i, v in enumerate(exp.variants):
        plotting.time_cumulative(exp.funnels[v].time_between(), 2, ax=ax, label=v, color=plotting.PALETTE[i],
                                 lang="es", labels=ES)
    assert [x.get_text() for x in ax.get_legend().get_texts()] == list(exp.variants)
    ax.figure.canvas.draw()


def test_human_durations():
    f = plotting._fmt_duration
    assert [f(0), f(45), f(90), f(360), f(5400), f(86400 * 2.5), f(86400 * 12)] == [
        "0 s", "45 s", "1.5 min", "6 min", "1.5 h", "2.5 d", "12 d"]
    assert f(90, "es") == "1,5 min"


# --------------------------------------------------------------------------- trend
def test_conversion_trend_flags_incomplete_periods(events):
    ax = new_ax(10, 4)
    out = plotting.conversion_trend(events, shop_journey(), ax=ax, lang="es")
    assert out is ax
    assert len([ln for ln in ax.get_lines() if ln.get_gid() == "funnelkit-trend-line"]) == 4
    assert [p for p in ax.patches if p.get_gid() == "funnelkit-incomplete"]
    legend = [x.get_text() for x in ax.get_legend().get_texts()]
    assert legend[:4] == list(ES[1:]) and "Ventana aún incompleta" in legend
    assert ax.get_title(loc="left") == "Conversión por día de entrada"
    assert_ticks_do_not_overlap(ax)


def test_conversion_trend_rings_the_incident():
    rows = []
    t0 = pd.Timestamp("2024-01-01 10:00", tz="UTC")
    uid = 0
    for d in range(12):
        for i in range(200):
            rows.append((uid, t0 + pd.Timedelta(days=d), "landing"))
            if i < (20 if d == 6 else 100):
                rows.append((uid, t0 + pd.Timedelta(days=d, hours=1), "purchase"))
            uid += 1
    rows.append((uid, t0 + pd.Timedelta(days=15), "landing"))
    ev = pd.DataFrame(rows, columns=["user_id", "timestamp", "event"])
    table = plotting.trend_table(ev, ["landing", "purchase"], window="1D")
    ax = plotting.conversion_trend(None, None, table=table, steps=["purchase"])
    rings = [c for c in ax.collections if c.get_gid() == "funnelkit-shift"]
    assert len(rings) == 1 and len(rings[0].get_offsets()) == 1
    assert rings[0].get_offsets()[0][1] == pytest.approx(0.1)
    assert "Shift in step conversion" in [x.get_text() for x in ax.get_legend().get_texts()]
    ax.figure.canvas.draw()
    with pytest.raises(ParameterError):
        plotting.conversion_trend(None, None, table=table, steps=["nope"])
    with pytest.raises(ParameterError):
        plotting.conversion_trend(None, None, table=table, rate="units")


# --------------------------------------------------------------------------- breakdown
def test_breakdown_bars(res):
    ax = new_ax()
    assert plotting.breakdown(res, ax=ax, step="purchase", lang="es") is ax
    bd = res.breakdown
    groups = list(pd.unique(bd["channel"]))
    bars = [p for p in ax.patches if p.get_gid() == "funnelkit-breakdown"]
    assert len(bars) == len(groups)
    assert ticks(ax, "y") == groups
    sub = bd[bd["step"] == "purchase"]
    assert [b.get_width() for b in bars] == pytest.approx(sub["conversion_rate"].tolist())
    tx = texts(ax)
    for r in sub.itertuples():
        assert any(x.startswith(pct(r.conversion_rate, "es")) for x in tx)
    overall = res.table.set_index("step").loc["purchase", "conversion_rate"]
    assert [x.get_text() for x in ax.get_legend().get_texts()] == [f"Total: {pct(overall, 'es')}"]
    assert ax.get_title(loc="left") == "Conversión a Compra por channel"
    assert_ticks_do_not_overlap(ax, "y")


def test_breakdown_needs_by(events):
    plain = fk.funnel(events, shop_journey(), window="7D")
    with pytest.raises(ParameterError, match="by="):
        plotting.breakdown(plain)


# --------------------------------------------------------------------------- journey map
@pytest.fixture(scope="module")
def cells(events):
    return plotting.journey_map_table(events, shop_journey(), touchpoint="channel", window="7D")


def test_journey_map_table(cells, res):
    assert list(cells.columns) == list(plotting.JOURNEY_MAP_COLUMNS)
    K = len(res.steps)
    assert len(cells) == K * cells["touchpoint"].nunique()
    for step, n in zip(res.steps, res.table["units"]):
        assert cells.loc[cells["step"] == step, "units"].sum() == n
        assert cells.loc[cells["step"] == step, "share_of_stage"].sum() == pytest.approx(1.0)
    later = cells[cells["step"] != res.steps[0]]
    assert later["excess_dropoff_rate"].to_numpy() == pytest.approx(
        (later["dropoff_rate"] - later["stage_dropoff_rate"]).to_numpy())
    fr = cells[cells["friction"]].sort_values("friction_rank")
    assert fr["friction_rank"].tolist() == [1, 2, 3]
    assert (fr["units_previous"] >= 30).all() and (fr["excess_dropoff_rate"] > 0).all()
    # excess_z: the excess in standard errors of the stage's drop-off rate
    p0 = later["stage_dropoff_rate"]
    z = later["excess_dropoff_rate"] / np.sqrt(p0 * (1 - p0) / later["units_previous"])
    assert later["excess_z"].to_numpy() == pytest.approx(z.to_numpy(), nan_ok=True)
    # the ranked cells are the largest eligible excesses (big enough and >= 2 standard errors)
    elig = later[(later["units_previous"] >= 30) & (later["excess_dropoff_rate"] > 0) & (later["excess_z"] >= 2)]
    assert (fr["excess_z"] >= 2).all()
    assert fr["excess_dropoff_rate"].tolist() == sorted(elig["excess_dropoff_rate"], reverse=True)[:3]


def test_journey_map_table_options(events):
    none = plotting.journey_map_table(events, shop_journey(), highlight=0)
    assert not none["friction"].any()
    big = plotting.journey_map_table(events, shop_journey(), min_units=10**6)
    assert not big["friction"].any()
    strict = plotting.journey_map_table(events, shop_journey(), min_z=50)
    assert not strict["friction"].any()
    loose = plotting.journey_map_table(events, shop_journey(), min_z=0)
    assert loose["friction"].sum() == 3
    with pytest.raises(fk.errors.ParameterError, match="min_z"):
        plotting.journey_map_table(events, shop_journey(), min_z=-1)
    es = plotting.journey_map_table(events, shop_journey(), lang="es")
    assert tuple(pd.unique(es["label"])) == ES
    with pytest.raises(ParameterError):
        plotting.journey_map_table(events, shop_journey(), highlight=-1)


def test_journey_map_plot(cells, events):
    ax = new_ax(10, 6)
    assert plotting.journey_map(events, shop_journey(), ax=ax, lang="es") is ax
    G = cells["touchpoint"].nunique()
    K = cells["step"].nunique()
    assert len([p for p in ax.patches if p.get_gid() == "funnelkit-cell"]) == (G + 1) * K
    assert len([p for p in ax.patches if p.get_gid() == "funnelkit-friction"]) == 3
    ranks = sorted(t.get_text() for t in ax.texts if t.get_gid() == "funnelkit-friction-rank")
    assert ranks == ["1", "2", "3"]
    assert tuple(ticks(ax)) == ES
    assert ticks(ax, "y")[0] == "Total"
    tx = texts(ax)
    for r in cells.itertuples():
        assert num(r.units, "es") in tx
    assert_ticks_do_not_overlap(ax)
    assert_ticks_do_not_overlap(ax, "y")


# --------------------------------------------------------------------------- dispatcher
def test_plot_result_dispatch(res, tb, exp):
    ax = res.plot()
    assert [p.get_gid() for p in ax.patches].count("funnelkit-bars") == len(res.table)
    ax = res.plot("breakdown", step=2)
    assert len([p for p in ax.patches if p.get_gid() == "funnelkit-breakdown"]) == res.breakdown["channel"].nunique()
    ax = tb.plot()
    assert ax.get_xscale() == "log"
    ax = tb.plot("cumulative")
    assert len(ax.get_lines()) == len(tb.table)
    ax = exp.plot()
    assert len(ax.containers) == 2 * len(exp.variants)
    mine = new_ax()
    assert plotting.plot_result(res, "bars", ax=mine) is mine


def test_plot_result_unknown_kind_lists_kinds(res, tb, exp):
    with pytest.raises(ParameterError, match="'bars', 'breakdown'"):
        res.plot("pie")
    with pytest.raises(ParameterError, match="'hist', 'cumulative'"):
        tb.plot("violin")
    with pytest.raises(ParameterError, match="'conversion'"):
        exp.plot("bars")
    with pytest.raises(ParameterError, match="Cannot plot"):
        plotting.plot_result(object(), "bars")


def test_bad_language(res):
    with pytest.raises(ParameterError, match="lang"):
        plotting.funnel_bars(res, lang="fr")


def test_every_plot_renders(res, tb, exp, events):
    for make in (lambda ax: plotting.funnel_bars(res, ax=ax), lambda ax: plotting.variant_conversion(exp, ax=ax),
                 lambda ax: plotting.time_hist(tb, ax=ax), lambda ax: plotting.time_cumulative(tb, ax=ax),
                 lambda ax: plotting.breakdown(res, ax=ax),
                 lambda ax: plotting.conversion_trend(events, shop_journey(), freq="W", ax=ax)):
        ax = new_ax()
        assert make(ax) is ax
        ax.figure.canvas.draw()


def test_import_funnelkit_does_not_import_matplotlib():
    code = "import sys, funnelkit, funnelkit.plotting, funnelkit.report, funnelkit.trends; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_palette_is_okabe_ito():
    assert plotting.PALETTE[:4] == ("#0072B2", "#E69F00", "#009E73", "#D55E00")
