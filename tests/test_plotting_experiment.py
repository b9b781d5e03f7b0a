"""Tests for funnelkit.plotting.experiment: conversion by variant with confidence intervals."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
from _plotting_helpers import EN, ES, assert_ticks_do_not_overlap, boxes, draw, new_ax, overlapping, pct, texts, ticks

import funnelkit as fk
from funnelkit import plotting
from funnelkit.datasets._journeys import shop_journey


@pytest.fixture(scope="module")
def exp():
    events = fk.datasets.make_shop(n_users=3000, seed=1)
    return fk.experiment(events, shop_journey(), variant_col="variant", control="A", window="7D")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


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


def test_variant_conversion_without_annotations(exp):
    ax = plotting.variant_conversion(exp, annotate=False)
    assert not [t for t in ax.texts if t.get_gid() == "funnelkit-rate-label"]


def test_value_labels_are_legible_at_the_report_size(exp):
    # issue 16: value labels were 7.5 pt; at the report's figure size (10 in wide shown at about
    # 1,080 px) they must read like the body text (>= 9 pt, rotated or not)
    import matplotlib.pyplot as plt

    from funnelkit.plotting.experiment import LABEL_SIZE

    fig = plt.figure(figsize=(10, 4.8))
    ax = plotting.variant_conversion(exp, ax=fig.add_subplot())
    labels = [t for t in ax.texts if t.get_gid() == "funnelkit-rate-label"]
    assert labels and min(t.get_fontsize() for t in labels) >= 9.0
    assert LABEL_SIZE >= 9.0
    plt.close(fig)


def test_metric_rows_do_not_reach_the_conversion_plot():
    import funnelkit as fk
    from funnelkit.analyses.metrics import Metric

    ev = fk.datasets.make_shop(n_users=1500, seed=3)
    e = fk.experiment(ev, fk.datasets.shop_journey(), variant_col="variant", control="A",
                      metrics=[Metric.count("purchase", name="orders")])
    ax = plotting.variant_conversion(e)
    assert len(ax.containers) == 4
