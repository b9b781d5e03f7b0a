"""funnelkit.engine.plan: rule bits per block, rows kept, split by unit range, attributes.

Every rule gets one bit (stages' plain rules, each ``repeat()``/``after()`` rule, each
exclusion); a row's bits are the OR of what it matches (several steps at once for
overlapping steps); name rules are evaluated once per block dictionary, ``where=``
rules on the block's columns; the row's *position* is the first step it can fill.
Then typos and absent event names, found from the blocks' dictionaries (Parquet row
groups each have their own) before any funnel is computed.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pandas as pd
import pytest

import funnelkit as fk
from funnelkit.journey.steps import resolve_steps, symbol_table
from funnelkit.engine.plan import Plan, rule_bits
from funnelkit.engine.sources import Block
from funnelkit.errors import FunnelkitWarning, ParameterError, UnknownEventError
from test_engine_run import assert_same, hex_id

J = fk.Journey
R = fk.Rule
SHOP = J({"visit": ["a", "b*"], "buy": "c", "again": fk.repeat("c", 2), "use": fk.after("buy", "d"),
          "co": R("e", where={"url": "/checkout"})})


def _plan(journey, cats, exclude=(), *, n_ids=8, shift=30, n_buckets=1, keep_all=False, attr_mode=None):
    spec = resolve_steps(journey)
    syms = symbol_table(spec, cats, exclude)
    rb = rule_bits(spec.journey, spec.steps, syms.exclude, syms.exclude_rules)
    return Plan(bits=rb, keep_all=keep_all, lo=0, shift=shift, n_buckets=n_buckets,
                present=np.zeros(n_ids, dtype=bool), attr_mode=attr_mode, k_steps=len(spec.steps))


def _block(unit, t, ev_names, cats, **kw):
    ev = np.array([cats.index(e) for e in ev_names], dtype=np.int16)
    return Block(np.asarray(unit, np.int64), np.asarray(t, np.int64), ev, tuple(cats), **kw)


CATS = ["a", "bx", "by", "c", "d", "e", "x", "zz"]


def test_rule_bits_numbering():
    plan = _plan(SHOP, CATS, exclude=[("x", 1, 2)])
    rb = plan.bits
    assert rb.n_stages == 5 and rb.n_bits == 8 and rb.dtype == np.uint8
    assert [b for b, _, _ in rb.special] == [5, 6]  # repeat, then after, after the stages' bits
    assert [(b, sym) for b, sym, _ in rb.excl] == [(7, 5)]  # exclusion symbol after the stages
    assert rb.step_pos.tolist() == [0, 1, 2, 3, 4, 2, 3, 5]  # K = 5 for the exclusion
    assert rb.special_by_stage() == {2: [(5, SHOP["again"].rules[0])], 3: [(6, SHOP["use"].rules[0])]}


def test_at_most_64_rules():
    cats = [f"e{i}" for i in range(62)]
    # plain rules share their stage's bit; repeat()/after() rules and exclusions get one each
    ok = J({f"s{i}": [f"e{i}", R(f"e{i}")] for i in range(62)} | {"r": fk.repeat("e0", 2)})
    assert _plan(ok, cats).bits.n_bits == 64  # 63 stages + 1 repeat rule: at the limit
    many = J({f"s{i}": f"e{i}" for i in range(61)} | {"r": fk.repeat("e0", 2), "q": fk.repeat("e1", 2)})
    with pytest.raises(ParameterError, match="at most 64"):
        _plan(many, cats, exclude=[("e61", 1, 2)])


def test_luts_names_globs_and_positions():
    plan = _plan(SHOP, CATS, exclude=[("x", 1, 2)])
    lut, pos, where = plan.luts(tuple(CATS))
    bit = {n: int(v) for n, v in zip(CATS, lut[:-1])}
    assert bit == {"a": 1, "bx": 1, "by": 1, "c": 2 | 32, "d": 64, "e": 0, "x": 128, "zz": 0}
    assert pos[:-1].tolist() == [0, 0, 0, 1, 3, 5, 5, 5]  # d: the first step its after() rule can fill
    assert [(b, r.events) for b, r, _, _ in where] == [(4, ("e",))]  # where= rules are evaluated per row
    assert plan.luts(tuple(CATS)) is plan.luts(tuple(CATS))  # once per block dictionary


def test_evaluate_where_and_overlapping_steps():
    j = J({"pv": "pv", "cart": "cart", "co": R("pv", where={"url": "/checkout"})})
    cats = ["cart", "pv", "n"]
    plan = _plan(j, cats)
    blk = _block([0, 0, 0, 1], [0, 1, 2, 0], ["pv", "cart", "pv", "n"], cats,
                 props={"url": pd.Series(["/", None, "/checkout", "/checkout"])})
    bits, pos = plan.evaluate(blk)
    assert bits.tolist() == [1, 2, 1 | 4, 0]  # the checkout pageview plays steps 1 and 3
    assert pos.tolist() == [0, 1, 0, 3]


def test_split_keeps_rule_rows_and_splits_by_unit_range():
    cats = ["a", "b", "n"]
    plan = _plan(["a", "b"], cats, n_ids=8, shift=1, n_buckets=4)
    blk = _block([5, 0, 3, 2, 5, 1, 7], [9, 1, 2, 3, 4, 5, 6], ["a", "b", "n", "a", "b", "a", "n"], cats)
    parts, used, kept, t_max = plan.split(blk)
    assert used == {"a", "b", "n"} and kept == 5 and t_max == 9
    assert plan.present.tolist() == [True, True, True, True, False, True, False, True]
    got = {j: (p[0].tolist(), p[1].tolist()) for j, p in enumerate(parts) if p is not None}
    # bucket j holds ids 2j, 2j+1 (offsets 0/1 within it), rows in input order; 'n' rows dropped
    assert got == {0: ([0, 1], [1, 5]), 1: ([0], [3]), 2: ([1, 1], [9, 4])}
    assert parts[3] is None  # unit 7 has only an 'n' row
    # strict funnels keep every row (any event breaks adjacency)
    plan = _plan(["a", "b"], cats, n_ids=8, shift=1, n_buckets=4, keep_all=True)
    parts, _, kept, _ = plan.split(blk)
    assert kept == 5 and sum(len(p[0]) for p in parts if p is not None) == 7


@pytest.mark.parametrize("mode", ["first_touch", "last_touch", "range"])
def test_attributes_fold_over_blocks_and_threads(mode):
    cats = ["a", "n"]
    plan = _plan(["a"], cats, n_ids=3, attr_mode=mode)
    # unit 0: times 5 (codes 3, 1) and 2 (code 4); unit 1: code 2 at 7 and 9, null at 1; unit 2: nulls
    blocks = [
        _block([0, 1, 2], [5, 7, 1], ["a", "n", "n"], cats, attr=np.array([3, 2, -1])),
        _block([0, 1, 0], [5, 1, 2], ["n", "a", "a"], cats, attr=np.array([1, -1, 4])),
        _block([1, 2], [9, 3], ["n", "a"], cats, attr=np.array([2, -1])),
    ]
    threads = [threading.Thread(target=plan.split, args=(b,)) for b in blocks]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(plan._acc) >= 1
    a, b = plan.attributes()
    if mode == "first_touch":
        assert a.tolist() == [4, 2, -1] and b is None
    elif mode == "last_touch":
        assert a.tolist() == [1, 2, -1] and b is None  # unit 0: codes 3 and 1 tie at t=5: the smallest
    else:
        assert a.tolist() == [1, 2, -1] and b.tolist() == [4, 2, -1]


# --------------------------------------------------------------------------- typos and absent names


def _events(n=60, seed=0):
    rng = np.random.default_rng(seed)
    users = rng.integers(0, 12, n)
    return pd.DataFrame({
        "user_id": [hex_id(int(u)) for u in users],
        "variant": np.where(users % 2, "A", "B"),
        "timestamp": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 500, n), unit="min"),
        "event": rng.choice(["landing", "product_view", "purchase", "noise"], n),
    })


@pytest.fixture(params=["frame", "parquet"])
def log(request, tmp_path):
    ev = _events()
    if request.param == "frame":
        return ev
    path = tmp_path / "ev.parquet"
    ev.sort_values("event").to_parquet(path, row_group_size=10)  # row groups with different dictionaries
    return str(path)


def test_typos_fail_before_any_funnel_with_on_unknown_raise(log):
    with pytest.raises(UnknownEventError, match="'purchse'.*'purchase'"):
        fk.funnel(log, ["landing", "purchse"], on_unknown="raise")
    if isinstance(log, str):
        with pytest.raises(UnknownEventError, match="'purchse'"):
            fk.funnel(log, ["landing", "purchse"], memory_budget=1, on_unknown="raise")
    with pytest.raises(UnknownEventError, match="exclude.*'nosie'"):
        fk.funnel(log, ["landing", "purchase"], exclude=[("nosie", 1, 2)], on_unknown="raise")
    # by default a typo is an absent step: a warning naming the closest names, zero units
    with pytest.warns(FunnelkitWarning, match="'purchse'.*'purchase'"):
        res = fk.funnel(log, ["landing", "purchse"])
    assert res.table["units"].tolist()[1] == 0
    with pytest.warns(FunnelkitWarning, match="product_vew"):
        fk.experiment(log, ["landing", "product_vew"], variant_col="variant", control="A")


def test_absent_names_warn_at_the_caller_and_count_zero(log):
    with pytest.warns(FunnelkitWarning, match="refund_requested") as rec:
        res = fk.funnel(log, ["landing", "refund_requested"])
    assert rec[0].filename == __file__  # the warning points at the caller
    assert res.table["units"].tolist()[1] == 0
    # patterns: globs and regexes are matched against every block's names
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = fk.funnel(log, J({"in": R(["land*"]), "look": R(regex="product_.*"), "buy": "purchase"}))
    ev = _events()
    assert_same(res, fk.funnel(ev, J({"in": R(["land*"]), "look": R(regex="product_.*"), "buy": "purchase"})))


def test_overlapping_stages_are_steps_not_errors_in_a_funnel(log):
    # two stages selecting one event: a funnel's steps may overlap (role rows)
    j = J({"first": ["landing", "product_view"], "second": ["product_view", "purchase"]})
    res = fk.funnel(log, j)
    assert_same(res, fk.funnel(_events(), j))
    # ... while a partition of the events refuses it
    with pytest.raises(fk.errors.OverlappingRulesError, match="product_view"):
        j.assign_stages(_events())


# --------------------------------------------------------------------------- mutation audit (journey and input)

T0 = pd.Timestamp("2024-01-01 10:00", tz="UTC")


@pytest.mark.parametrize("kw", [{}, {"window": "1h", "window_from": "previous"}, {"mode": "strict"}])
def test_a_repeated_step_event_plays_its_first_step_at_a_tie(kw):
    # docs/funnels.md: steps [a, b, a] on a@0, b@0 reach step 2: at one instant the a is the
    # step-1 candidate (position 1, the first step it can fill, not 3), sorted before b
    # (position 2), whatever the row order -> [1, 1, 0] in every mode that sorts by position
    ev = pd.DataFrame({"user_id": [1, 1], "timestamp": [T0, T0], "event": ["b", "a"]})
    assert fk.funnel(ev, ["a", "b", "a"], **kw).table["units"].tolist() == [1, 1, 0]


def test_a_where_rule_gives_its_rows_their_step_position():
    # start = a where url == /x (step 1), next = b (step 2), both at one instant: the a row
    # gets position 1 from its where= rule and comes before b -> the unit reaches step 2: [1, 1]
    ev = pd.DataFrame({"user_id": [1, 1], "timestamp": [T0, T0], "event": ["b", "a"], "url": [None, "/x"]})
    j = J({"start": R("a", where={"url": "/x"}), "next": "b"})
    assert fk.funnel(ev, j).table["units"].tolist() == [1, 1]


def test_data_end_of_a_parquet_file_with_millisecond_times(tmp_path):
    # times stored as timestamp[ms] are read by the engine in ms (factor 10**6 to ns): the
    # data end is the last event, 10:30. User 1 entered at 08:00, so its 1h window closed at
    # 09:00 < 10:30: not censored; user 2 converted -> censored [0, 0]
    import pyarrow as pa
    import pyarrow.parquet as pq

    times = pd.to_datetime(["2024-01-01 08:00", "2024-01-01 10:00", "2024-01-01 10:30"], utc=True)
    table = pa.table({"user_id": pa.array([1, 2, 2], pa.int64()),
                      "timestamp": pa.array(times, pa.timestamp("ms", tz="UTC")),
                      "event": ["a", "a", "b"]})
    path = tmp_path / "ms.parquet"
    pq.write_table(table, path)
    res = fk.funnel(str(path), ["a", "b"], window="1h")
    assert res.table["units"].tolist() == [2, 1]
    assert res.diagnostics["data_end"] == pd.Timestamp("2024-01-01 10:30", tz="UTC")
    assert res.censored["censored"].tolist() == [0, 0]


def test_an_exclusion_needs_from_step_before_to_step():
    # from_step == to_step leaves no span to exclude from: refused
    ev = pd.DataFrame({"user_id": [1, 1, 1], "timestamp": [T0] * 3, "event": ["a", "b", "x"]})
    with pytest.raises(ParameterError, match="from_step must come before to_step"):
        fk.funnel(ev, ["a", "b", "c"], exclude=[("x", "b", "b")])


def test_only_the_first_step_cannot_be_optional():
    from funnelkit.errors import JourneyError

    with pytest.raises(JourneyError, match="first step 'a' cannot be optional"):
        resolve_steps([fk.optional("a"), "b"])
    assert resolve_steps(["a", fk.optional("b"), "c"]).optional == (False, True, False)
