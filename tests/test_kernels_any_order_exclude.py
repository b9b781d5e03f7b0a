"""``any_order_funnel`` with exclusions against a brute-force reference (issue 11 item 6).

The reference reads the rule literally: every funnel event starts a window (the
unit's later events within ``window``), a symbol listed ``m`` times is filled by its
first ``m`` events in the window, the fills in position order give the fill times, and
an exclusion ``(x, a, b)`` taints a window with an ``x`` strictly after its ``a``-th
fill time and strictly before its ``b``-th (or, with fewer fills, by the deadline).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelkit.engine.kernels import NAT, any_order_funnel

X = 9


def reference(units, steps, window, rule):
    x, a, b = rule
    syms = sorted(set(steps))
    mult = {s: steps.count(s) for s in syms}
    k = len(steps)
    out = []
    for evs in units:  # (t, code), sorted
        windows = []
        for s, (ts, cs) in enumerate(evs):
            if cs not in syms:
                continue
            inside = [p for p in range(s, len(evs)) if window is None or evs[p][0] <= ts + window]
            taken = []
            for sym in syms:
                taken += [p for p in inside if evs[p][1] == sym][: mult[sym]]
            taken.sort()
            fills = [evs[p][0] for p in taken]
            d = len(fills)
            tx = [t for t, c in evs if c == x]
            bad = False
            if d > a:
                if d > b:
                    bad = any(fills[a] < t < fills[b] for t in tx)
                else:
                    bad = any(t > fills[a] and (window is None or t <= ts + window) for t in tx)
            windows.append((d, bad, fills))
        clean = [w for w in windows if not w[1]]
        if not clean:
            out.append((0, bool(windows), [NAT] * k))
            continue
        lev = max(w[0] for w in clean)
        fills = next(w[2] for w in clean if w[0] == lev)
        out.append((lev, False, fills + [NAT] * (k - len(fills))))
    return out


events = st.lists(st.tuples(st.integers(0, 8), st.sampled_from([0, 1, 2, X, -1])), min_size=0, max_size=7)


@settings(max_examples=150, deadline=None)
@given(units=st.lists(events, min_size=1, max_size=4),
       steps=st.sampled_from([[0, 1], [0, 1, 2], [0, 0, 1], [1, 0, 2]]),
       window=st.sampled_from([None, 0, 2, 5]), ab=st.sampled_from([(0, 1), (0, 2), (1, 2)]))
def test_any_order_exclusions_match_the_reference(units, steps, window, ab):
    a, b = ab
    if b >= len(steps):
        b = len(steps) - 1
    if a >= b:
        a = b - 1
    units = [sorted(u) for u in units]
    ref = reference(units, steps, window, (X, a, b))
    uu = np.array([i for i, u in enumerate(units) for _ in u], dtype=np.int64)
    tt = np.array([t for u in units for t, _ in u], dtype=np.int64)
    cc = np.array([c for u in units for _, c in u], dtype=np.int16)
    res = any_order_funnel(uu, tt, cc, steps, n_units=len(units), window=window, exclude=[(X, a, b)])
    assert res.level.tolist() == [r[0] for r in ref]
    assert res.excluded.tolist() == [r[1] for r in ref]
    assert res.step_time.tolist() == [r[2] for r in ref]


def test_any_order_exclusion_known_answer():
    unit = np.zeros(4, dtype=np.int64)
    t = np.array([0, 5, 10, 20])
    code = np.array([1, X, 0, 1], dtype=np.int16)
    res = any_order_funnel(unit, t, code, [0, 1], n_units=1, window=100, exclude=[(X, 0, 1)])
    assert res.level.tolist() == [2]  # the window from b@0 is tainted, a@10 then b@20 is clean
    assert res.step_time.tolist() == [[10, 20]]
    assert res.n_attempts.tolist() == [3]
