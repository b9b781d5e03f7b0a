"""Tests for funnelkit._polars: results as polars frames (the helper behind .to_polars())."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

import funnelkit as fk
from funnelkit._polars import MissingDependencyError, to_polars

pl = pytest.importorskip("polars")


@pytest.fixture(scope="module")
def res():
    ev = fk.datasets.make_shop(n_users=800, seed=3)
    return fk.funnel(ev, fk.datasets.shop_journey(), window="7D", by="channel")


def test_table_keeps_values_and_types(res):
    out = to_polars(res.table)
    assert isinstance(out, pl.DataFrame) and out.columns == list(res.table.columns)
    assert out["units"].to_list() == res.table["units"].tolist()
    assert out.schema["units"] == pl.Int64 and out.schema["conversion_rate"] == pl.Float64
    assert out.schema["median_time_from_previous"] == pl.Duration("ns")
    got = out["median_time_from_previous"].to_list()
    want = res.table["median_time_from_previous"].tolist()
    assert [None if pd.isna(w) else w.to_pytimedelta() for w in want] == got


def test_numbers_are_not_copied(res):
    out = to_polars(res.table)
    arrow = out["units"].to_arrow()
    assert arrow.buffers()[1].address == res.table["units"].to_numpy().ctypes.data


def test_meaningful_index_becomes_a_column(res):
    out = to_polars(res.units)
    assert out.columns[0] == res.units.index.name == "user_id"
    assert out.height == len(res.units) and out["user_id"].to_list() == res.units.index.tolist()
    assert out.schema["discovery"] == pl.Datetime("ns", "UTC")
    assert to_polars(res.units, index=False).columns == list(res.units.columns)
    assert "index" not in to_polars(res.table).columns


def test_categoricals_and_results_with_to_frame(res):
    df = pd.DataFrame({"channel": pd.Categorical(["ads", "seo", "ads"]), "n": [1, 2, 3]})
    out = to_polars(df)
    assert out.schema["channel"] == pl.Categorical and out["channel"].to_list() == ["ads", "seo", "ads"]
    assert to_polars(res).shape == res.to_frame().shape


def test_clear_errors(monkeypatch):
    with pytest.raises(fk.errors.ColumnTypeError, match="'mixed'"):
        to_polars(pd.DataFrame({"ok": [1, 2], "mixed": [1, "a"]}))
    with pytest.raises(fk.errors.ColumnTypeError, match="DataFrame"):
        to_polars([1, 2, 3])
    monkeypatch.setitem(sys.modules, "polars", None)  # as if polars were not installed
    with pytest.raises(MissingDependencyError, match="pip install polars") as e:
        to_polars(pd.DataFrame({"a": np.arange(3)}))
    assert isinstance(e.value, fk.errors.FunnelkitError) and isinstance(e.value, ImportError)


@pytest.mark.parametrize("make", [
    lambda ev: fk.funnel(ev, ["landing", "product_view", "purchase"]),
    lambda ev: fk.time_between(fk.funnel(ev, ["landing", "product_view", "purchase"])),
    lambda ev: fk.trend(ev, ["landing", "product_view", "purchase"]),
    lambda ev: fk.paths(ev, length=3),
    lambda ev: fk.retention(ev, period="W"),
    lambda ev: fk.experiment(ev, ["landing", "purchase"], variant_col="variant", control="A"),
], ids=["funnel", "time_between", "trend", "paths", "retention", "experiment"])
def test_every_result_converts_to_polars(make):
    pl = pytest.importorskip("polars")
    ev = fk.load_sample("shop")
    ev = ev[ev["user_id"] < 2000]
    res = make(ev)
    got = res.to_polars()
    want = res.to_frame()
    assert isinstance(got, pl.DataFrame)
    assert got.columns == [str(c) for c in want.columns]
    assert got.height == len(want)


def test_to_polars_of_another_frame_and_bad_name():
    pytest.importorskip("polars")
    from funnelkit.errors import ParameterError

    res = fk.funnel(fk.load_sample("shop"), ["landing", "purchase"])
    units = res.to_polars("units")
    assert units.columns[0] == "user_id" and units.height == len(res.units)
    with pytest.raises(ParameterError, match="its tables: .*units"):
        res.to_polars("nope")
