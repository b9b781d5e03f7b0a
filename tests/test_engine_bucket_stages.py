"""funnelkit.engine.bucket_stages: the journey stage of every event (Journey.assign_stages).

Stages partition the events: plain rules of two stages matching one event raise
``OverlappingRulesError`` (``repeat()``/``after()`` take precedence over plain rules;
two of them picking one event raise too). The stage of a row never depends on the
bucket layout or the threads, and the result is aligned with the caller's rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given

import funnelkit as fk
from funnelkit.errors import OverlappingRulesError
from test_engine_run import T0, examples, hex_id, logs, quiet, tiny_buckets

J = fk.Journey
R = fk.Rule


def stages(s: pd.Series) -> list:
    return [None if pd.isna(v) else v for v in s.tolist()]


def _log(rows, **cols):
    df = pd.DataFrame({"user_id": [r[0] for r in rows],
                       "timestamp": T0 + pd.to_timedelta([r[1] for r in rows], unit="min"),
                       "event": [r[2] for r in rows]})
    for k, v in cols.items():
        df[k] = v
    return df


def test_repeat_and_after_take_precedence():
    j = J({"visit": ["a", "c"], "buy": "b", "again": fk.repeat("b", 2), "use": fk.after("buy", "c")})
    ev = _log([(1, 0, "c"), (1, 1, "b"), (1, 2, "c"), (1, 3, "b"), (1, 3, "a"), (2, 0, "b"), (2, 0, "c")])
    # unit 2: c at the instant of its first b is a visit candidate (position 1), so it sorts
    # before the b and is not after it: it stays a visit
    want = ["visit", "buy", "use", "again", "visit", "buy", "visit"]
    assert j.assign_stages(ev).tolist() == want
    with tiny_buckets():
        assert j.assign_stages(ev).tolist() == want
        assert j.assign_stages(ev.iloc[::-1].reset_index(drop=True)).tolist() == want[::-1]
    # an event only the after() rule selects sorts at the step it fills, after the b
    j = J({"visit": "a", "buy": "b", "use": fk.after("buy", "c")})
    assert quiet(j.assign_stages, _log([(2, 0, "c"), (2, 0, "b")])).tolist() == ["use", "buy"]


def test_overlaps_raise_naming_the_events():
    ev = _log([(1, 0, "a"), (1, 1, "b")])
    with pytest.raises(OverlappingRulesError, match="'b' in stages 'x', 'y'"):
        J({"x": ["a", "b"], "y": "b"}).assign_stages(ev)
    # a where= overlap that no row meets is no error
    j = J({"x": "b", "y": R("b", where={"url": "/checkout"})})
    assert j.assign_stages(ev.assign(url="/")).tolist()[1] == "x"
    with pytest.raises(OverlappingRulesError, match="where="):
        j.assign_stages(ev.assign(url="/checkout"))
    with pytest.raises(OverlappingRulesError, match=r"\['b'\].*more than one repeat\(\)/after\(\)"):
        J({"x": "a", "y": fk.repeat("b", 1), "z": fk.after("x", "b")}).assign_stages(ev)


def test_sessions_and_hidden_stages():
    ev = fk.sessionize(_log([(1, 0, "a"), (1, 1, "b"), (1, 2, "c"), (1, 90, "c"), (1, 91, "b"), (1, 92, "c")]),
                       timeout="30min")
    j = J({"visit": "a", "buy": "b", "use": fk.after("buy", "c")})
    assert stages(j.assign_stages(ev)) == ["visit", "buy", "use", "use", "buy", "use"]
    assert stages(j.assign_stages(ev, unit="session")) == ["visit", "buy", "use", None, "buy", "use"]
    sel = j.select(["visit", "use"])  # 'buy' stays as a hidden stage for after()
    assert stages(sel.assign_stages(ev)) == ["visit", None, "use", "use", None, "use"]
    with pytest.raises(fk.errors.MissingColumnError, match="sessionize"):
        j.assign_stages(ev.drop(columns="session_id"), unit="session")


@given(ev=logs(ids="string"))
@examples(40)
def test_property_layout_and_threads_change_nothing(ev):
    j = J({"visit": "a", "buy": R("b", where={"url": "/checkout"}), "again": fk.repeat("b", 2),
           "use": fk.after("buy", ["c", "a"])})
    want = quiet(j.assign_stages, ev)
    with tiny_buckets():
        got = quiet(j.assign_stages, ev)
    pd.testing.assert_series_equal(got, want)


def test_result_keeps_the_callers_index():
    ev = _log([(1, 0, "a"), (1, 1, "b"), (2, 0, "a")])
    ev.index = [10, 20, 30]
    s = J({"visit": "a", "buy": "b"}).assign_stages(ev)
    assert s.index.tolist() == [10, 20, 30]


def test_string_ids_and_row_order():
    rng = np.random.default_rng(1)
    n = 500
    ev = pd.DataFrame({"user_id": [hex_id(int(u)) for u in rng.integers(0, 40, n)],
                       "timestamp": T0 + pd.to_timedelta(rng.integers(0, 50, n), unit="min"),
                       "event": rng.choice(["a", "b", "c", "n"], n)})
    j = J({"visit": "a", "buy": "b", "use": fk.after("buy", "c")})
    want = j.assign_stages(ev)
    perm = rng.permutation(n)
    back = j.assign_stages(ev.iloc[perm].reset_index(drop=True))
    # rows equal in every column are interchangeable; here every c after a b is 'use'
    got = pd.Series(np.asarray(back, dtype=object)[np.argsort(perm)])
    pd.testing.assert_series_equal(got, pd.Series(np.asarray(want, dtype=object)))
