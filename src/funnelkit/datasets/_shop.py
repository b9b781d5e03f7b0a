"""The ``shop`` sample: generator, loader and the registry of bundled samples (private).

Everything public is re-exported by :mod:`funnelkit.datasets`; see the docstrings of
:func:`make_shop` (the generative model and its planted truths) and :func:`load_shop`
(the committed sample).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib.resources import files
from typing import Any

import numpy as np
import pandas as pd

from .._params import parse_timestamp
from ..errors import ParameterError

__all__ = ["make_shop", "load_shop", "load_sample", "list_samples"]

# --- vocabulary -----------------------------------------------------------------

#: Which journey stage each event of the shop belongs to (``None``: browsing noise).
#: ``loyalty`` is the unit's second ``purchase`` (``repeat("purchase", nth=2)``).
SHOP_STAGE_OF_EVENT: dict[str, str | None] = {
    "landing": "discovery",
    "ad_click": "discovery",
    "store_visit": "discovery",
    "product_view": "consideration",
    "add_to_cart": "consideration",
    "checkout_start": "consideration",
    "purchase": "purchase",
    "app_open": "use",
    "review": "use",
    "support_contact": "use",
    "page_view": None,
    "search": None,
    "scroll": None,
}

#: Categories of the categorical columns (sorted, as the event-log contract asks).
SHOP_EVENTS: tuple[str, ...] = tuple(sorted(SHOP_STAGE_OF_EVENT))
SHOP_CHANNELS: tuple[str, ...] = (
    "newsletter",
    "organic_search",
    "paid_ads",
    "referral",
    "social",
    "store",
)
SHOP_DEVICES: tuple[str, ...] = ("desktop", "in_store", "mobile", "tablet")
SHOP_VARIANTS: tuple[str, ...] = ("A", "B")
SHOP_COLUMNS: tuple[str, ...] = (
    "user_id",
    "timestamp",
    "event",
    "channel",
    "device",
    "variant",
    "order_value",
)

# --- the generative model (documented in make_shop) ----------------------------------

# Internal event codes, in the canonical order of a visit: arrival events first, then
# the ordered journey events, then "free" events scattered at random in the visit.
_AD_CLICK, _LANDING, _STORE_VISIT = 0, 1, 2
_PRODUCT_VIEW, _ADD_TO_CART, _CHECKOUT, _PURCHASE = 3, 4, 5, 6
_PAGE_VIEW, _SCROLL, _SEARCH = 7, 8, 9
_APP_OPEN, _REVIEW, _SUPPORT = 10, 11, 12
_CANON = (
    "ad_click",
    "landing",
    "store_visit",
    "product_view",
    "add_to_cart",
    "checkout_start",
    "purchase",
    "page_view",
    "scroll",
    "search",
    "app_open",
    "review",
    "support_contact",
)
_N_CODES = len(_CANON)
# class of each code: 0 arrival, 1 ordered, 2 free
_CLASS = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2], dtype=np.int8)
_TO_EVENT_CODE = np.array([SHOP_EVENTS.index(e) for e in _CANON], dtype=np.int8)

# channels, in SHOP_CHANNELS order: newsletter, organic_search, paid_ads, referral, social, store
_NEWSLETTER, _ORGANIC, _PAID, _REFERRAL, _SOCIAL, _STORE = range(6)
_FIRST_MIX = np.array([0.06, 0.28, 0.32, 0.08, 0.14, 0.12])  # channel of a user's first visit
_RETURN_MIX = np.array([0.30, 0.26, 0.14, 0.05, 0.10, 0.15])  # channel of a fresh return visit
_STICKY = 0.35  # a return visit comes through the previous visit's channel
_P_CONSIDER = np.array([0.50, 0.40, 0.22, 0.50, 0.25, 0.70])  # P(product_view in visit)
_P_CART = np.array([0.45, 0.40, 0.30, 0.50, 0.30, 0.70])  # P(add_to_cart | product_view)
_P_CHECKOUT = np.array([0.65, 0.60, 0.50, 0.65, 0.55, 0.85])  # P(checkout_start | cart)
_P_PURCHASE = np.array([0.65, 0.55, 0.40, 0.65, 0.45, 0.75])  # P(purchase | checkout), A
_ORDER_MEDIAN = np.array([45.0, 45.0, 45.0, 45.0, 45.0, 60.0])  # EUR, lognormal sigma 0.6

# devices, in SHOP_DEVICES order: desktop, in_store, mobile, tablet
_DESKTOP, _IN_STORE, _MOBILE, _TABLET = range(4)
_DEVICE_MIX = np.array([0.38, 0.0, 0.52, 0.10])  # a user's main device (online visits)
_P_MAIN_DEVICE = 0.85  # an online visit uses the user's main device, else a fresh draw
_DEVICE_FACTOR = np.array([1.0, 1.0, 0.85, 0.95])  # multiplies P(purchase | checkout)

_MEAN_EXTRA_VISITS = 1.0  # base visits per user: 1 + Poisson(1.0)
_MEAN_PRODUCT_VIEWS = 1.0  # product views in a considering visit: 1 + Poisson(1.0)
_NOISE_MIX = np.array([0.55, 0.30, 0.15])  # page_view, scroll, search
_HOUR_WEIGHTS = np.array(
    [2, 1, 1, 1, 1, 2, 3, 5, 6, 6, 6, 6, 7, 7, 6, 6, 6, 7, 8, 9, 10, 10, 8, 4], dtype=float
)  # hour of day (UTC) of a user's first visit

# after the first purchase
_MEAN_FOLLOW_UPS = 1.5  # follow-up visits of a buyer: Poisson(1.5)
_P_APP_OPEN = 0.55  # online follow-up visit: app_open 1 + Poisson(0.7) times
_MEAN_EXTRA_APP_OPENS = 0.7
_P_REVIEW = 0.10  # online follow-up visit
_P_SUPPORT_ONLINE = 0.06
_P_SUPPORT_STORE = 0.10  # store follow-up visit (returns desk)
_P_FOLLOW_UP_VIEW = 0.30  # product_view 1 + Poisson(0.5) times in a follow-up visit
_REPEAT_MIN_H, _REPEAT_SPAN_D, _REPEAT_BETA = 12, 20, (1.5, 4.0)  # repeat gap 12 h + 20 d Beta

# time (milliseconds)
_MS_MIN, _MS_H, _MS_D = 60_000, 3_600_000, 86_400_000
_GAP_MIN_MS = 45 * _MS_MIN  # visits of a user are >= 45 min apart (> a 30 min timeout)
_GAP_MEDIAN_H, _GAP_SIGMA = 20.0, 1.3  # + lognormal(median 20 h, sigma 1.3)
_STEP_ONLINE = (1_000, 15_000.0, 1.1, 10 * _MS_MIN)  # min, lognormal median, sigma, cap
_STEP_STORE = (20_000, 90_000.0, 0.8, 10 * _MS_MIN)
_STEP_ARRIVAL = (300, 2_500)  # ad_click -> landing: 0.3 s + U(0, 2.5 s)

_DEFAULT_INCIDENT = ("2026-03-20", "2026-03-23")


# --- helpers ----------------------------------------------------------------------


def _draw_categorical(rng: np.random.Generator, p: np.ndarray, size: int) -> np.ndarray:
    """``size`` draws of 0..len(p)-1 with probabilities ``p`` (int8)."""
    cum = np.cumsum(p / p.sum())
    cum[-1] = 1.0
    return np.searchsorted(cum, rng.random(size), side="right").astype(np.int8)


def _segment_starts(sizes: np.ndarray) -> np.ndarray:
    """Index of the first element of each segment, given the segment sizes."""
    return np.cumsum(sizes) - sizes


def _sticky_channels(
    rng: np.random.Generator, first_in_user: np.ndarray, first_mix: np.ndarray
) -> np.ndarray:
    """Channel of each visit: a fresh draw, or the previous visit's with prob ``_STICKY``."""
    n = first_in_user.size
    u = rng.random(n)
    fresh_draw = np.where(
        first_in_user,
        np.searchsorted(np.cumsum(first_mix), u, side="right"),
        np.searchsorted(np.cumsum(_RETURN_MIX), u, side="right"),
    ).clip(0, len(_RETURN_MIX) - 1)
    fresh = first_in_user | (rng.random(n) >= _STICKY)
    source = np.maximum.accumulate(np.where(fresh, np.arange(n), 0))
    return fresh_draw[source].astype(np.int8)


def _devices(
    rng: np.random.Generator, main_device: np.ndarray, channel: np.ndarray
) -> np.ndarray:
    """Device of each visit: the user's main device, a fresh draw, or in_store."""
    n = channel.size
    other = _draw_categorical(rng, _DEVICE_MIX, n)
    device = np.where(rng.random(n) < _P_MAIN_DEVICE, main_device, other).astype(np.int8)
    device[channel == _STORE] = _IN_STORE
    return device


def _gaps_ms(rng: np.random.Generator, n: int) -> np.ndarray:
    """Gaps between the end of a visit and the start of the next one."""
    g = rng.lognormal(np.log(_GAP_MEDIAN_H * _MS_H), _GAP_SIGMA, n)
    return _GAP_MIN_MS + np.minimum(g, 90.0 * _MS_D).astype(np.int64)


def _materialize(
    rng: np.random.Generator, counts: np.ndarray, in_store: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Lay out the events of each visit in time.

    ``counts`` is a (visits, codes) matrix of how many events of each internal code a
    visit has. Arrival events open the visit (ad_click before landing); ordered events
    (product_view < add_to_cart < checkout_start < purchase) keep their order; every
    other event falls at a random place after the arrival. Consecutive events are
    seconds to minutes apart.

    Returns ``visit`` (int64, non-decreasing), ``code`` (int8), ``offset`` (int64 ms
    from the visit start) per event, and ``duration`` (int64 ms) per visit.
    """
    n_visits = counts.shape[0]
    sizes = counts.sum(axis=1, dtype=np.int64)
    code = np.repeat(np.tile(np.arange(_N_CODES, dtype=np.int8), n_visits), counts.ravel())
    visit = np.repeat(np.arange(n_visits, dtype=np.int64), sizes)
    n = code.size
    cls = _CLASS[code]
    # Random order inside a visit: arrival events get keys 0..2, the others random keys.
    key = rng.integers(16, 1 << 24, size=n, dtype=np.int64)
    key = np.where(cls == 0, code.astype(np.int64), key)
    order = np.argsort((visit << 24) | key, kind="stable")
    del key
    code = code[order]
    del order
    # The positions that hold ordered events get them back in their canonical order.
    ordered = _CLASS[code] == 1
    canonical_ordered = np.repeat(
        np.tile(np.arange(_N_CODES, dtype=np.int8), n_visits),
        np.where(_CLASS == 1, counts, 0).ravel(),
    )
    code[ordered] = canonical_ordered
    del canonical_ordered, ordered
    # Time steps between consecutive events of a visit.
    starts = _segment_starts(sizes)
    store = in_store[visit]
    z = rng.standard_normal(n)
    lo, med, sig, cap = _STEP_ONLINE
    step = np.minimum(lo + med * np.exp(sig * z), cap)
    lo, med, sig, cap = _STEP_STORE
    step = np.where(store, np.minimum(lo + med * np.exp(sig * z), cap), step)
    del z, store
    arrival_step = _STEP_ARRIVAL[0] + rng.random(n) * _STEP_ARRIVAL[1]
    step = np.where(_CLASS[code] == 0, arrival_step, step).astype(np.int64)
    del arrival_step
    step[starts] = 0
    offset = np.cumsum(step)
    del step
    offset -= offset[starts][visit]
    duration = offset[starts + sizes - 1]
    return visit, code, offset, duration


def _visit_starts(
    first_start: np.ndarray, duration: np.ndarray, gap: np.ndarray, first_in_user: np.ndarray
) -> np.ndarray:
    """Sequential visit starts: previous start + previous duration + gap.

    ``first_start`` (per visit) is used on the first visit of each user only.
    """
    step = np.zeros(duration.size, dtype=np.int64)
    step[1:] = duration[:-1] + gap[1:]
    step[first_in_user] = first_start[first_in_user]
    # segmented cumulative sum (each user's first visit restarts the sum)
    cs = np.cumsum(step)
    seg = np.cumsum(first_in_user) - 1
    firsts = np.flatnonzero(first_in_user)
    return cs - (cs[firsts] - step[firsts])[seg]


def _to_ms(value: Any, name: str) -> int:
    return int(parse_timestamp(value, name=name).value // 1_000_000)


def _check_params(
    n_users: Any,
    seed: Any,
    days: Any,
    browse_events: Any,
    lift: Any,
    incident_factor: Any,
    repeat_rate: Any,
) -> None:
    def is_int(x: Any) -> bool:
        return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))

    def is_real(x: Any) -> bool:
        return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(
            x, (bool, np.bool_)
        )

    if not is_int(n_users) or n_users < 1:
        raise ParameterError(
            f"`n_users` must be a positive integer, e.g. 20_000; got {n_users!r}."
        )
    if seed is not None and (not is_int(seed) or seed < 0):
        raise ParameterError(f"`seed` must be a non-negative integer (or None); got {seed!r}.")
    if not is_int(days) or days < 1:
        raise ParameterError(f"`days` must be a positive integer, e.g. 60; got {days!r}.")
    if not is_real(browse_events) or not (0 <= browse_events <= 1000):
        raise ParameterError(
            "`browse_events` is the mean number of page_view/scroll/search events per online "
            f"visit and must be a number in [0, 1000]; got {browse_events!r}."
        )
    max_lift = 1.0 / float(_P_PURCHASE.max())
    if not is_real(lift) or not (0 < lift <= max_lift):
        raise ParameterError(
            f"`lift` must be a number in (0, {max_lift:.4f}] (so that every purchase "
            f"probability stays <= 1); got {lift!r}. Use 1.0 for an A/A test."
        )
    if not is_real(incident_factor) or not (0 <= incident_factor <= 1):
        raise ParameterError(
            f"`incident_factor` must be a number in [0, 1], e.g. 0.2; got {incident_factor!r}."
        )
    if not is_real(repeat_rate) or not (0 <= repeat_rate <= 1):
        raise ParameterError(
            f"`repeat_rate` must be a number in [0, 1], e.g. 0.3; got {repeat_rate!r}."
        )


def _categorical(codes: np.ndarray, categories: tuple[str, ...]) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(list(categories)))


# --- the generator ------------------------------------------------------------------


def make_shop(
    n_users: int = 20_000,
    *,
    seed: int | None = 0,
    start: str | pd.Timestamp = "2026-03-01",
    days: int = 60,
    browse_events: float = 3.5,
    lift: float = 1.2,
    incident: tuple[Any, Any] | None = _DEFAULT_INCIDENT,
    incident_factor: float = 0.2,
    repeat_rate: float = 0.3,
    order_value_lift: float = 1.0,
    repeat_lift: float = 1.0,
    weekly_return: float = 0.0,
) -> pd.DataFrame:
    """Simulate the clickstream of an online shop with physical stores and an A/B test.

    A vectorized generator (numpy, no loop over users). On a 2-core machine, ten
    million events (860,000 users with the defaults) take about 6 s and 1 GB of
    memory at peak; fifty million about 40 s and 4.3 GB. The output is a normalized event log (see
    ``CONTRIBUTING.md``) with known, planted answers, for examples, tests and
    benchmarks.

    Parameters
    ----------
    n_users : int, default 20_000
        Number of users. Every user has at least one visit in the period, so the
        frame has exactly ``n_users`` distinct ``user_id`` values (``1..n_users``,
        numbered in order of first visit).
    seed : int or None, default 0
        Seed of ``numpy.random.default_rng``. The same seed gives the same frame, bit
        for bit; the global random state is neither used nor changed. ``None`` draws
        fresh entropy.
    start : str or pandas.Timestamp, default "2026-03-01"
        First day of the period (naive values are UTC).
    days : int, default 60
        Length of the period. Events at or after ``start + days`` are cut off, so the
        period end censors late users like real data does.
    browse_events : float, default 3.5
        Mean number of browsing-noise events (``page_view``, ``scroll``, ``search``:
        in no journey stage) per online visit, Poisson. With 3.5 a user has about 11.6
        events, 45% of them journey events; with 0 a user has about 5 events, all in
        the journey. It changes no journey probability.
    lift : float, default 1.2
        Variant ``B`` multiplies P(purchase | checkout_start) by ``lift``; at most
        1.3333 (=1/0.75, so every probability stays <= 1). ``1.0`` makes an A/A test.
    incident : (start, end) or None, default ("2026-03-20", "2026-03-23")
        A checkout incident: during ``[start, end)`` (UTC, end exclusive), every
        checkout converts with its probability multiplied by ``incident_factor``, in
        both variants. ``None`` for no incident.
    incident_factor : float, default 0.2
        How much the incident multiplies P(purchase | checkout_start).
    repeat_rate : float, default 0.3
        Share of buyers who come back for a second purchase (the loyalty stage).
    order_value_lift : float, default 1.0
        Variant ``B`` multiplies every ``order_value`` by this (in (0, 10]); with
        ``lift`` it sets the planted effect on revenue per user (truth 8).
    repeat_lift : float, default 1.0
        Variant ``B`` multiplies ``repeat_rate`` by this (the product must stay <= 1):
        the planted effect of B on repeat purchase (truth 9).
    weekly_return : float, default 0.0
        Probability that a user comes back in each later week of the period
        (truth 10; 0 adds nothing, so the defaults give the bundled sample bit for bit).

    Returns
    -------
    pandas.DataFrame
        A new frame with a ``RangeIndex``, rows sorted by (``timestamp``,
        ``user_id``), and the columns

        =============  ===========================  ============================================
        column         dtype                        meaning
        =============  ===========================  ============================================
        user_id        int64                        user (1..n_users, by first visit)
        timestamp      datetime64[ns, UTC]          event time, whole milliseconds
        event          category (13, sorted)        see the table of events below
        channel        category (6)                 touchpoint of the visit: ``organic_search``,
                                                    ``paid_ads``, ``newsletter``, ``social``,
                                                    ``referral`` (word of mouth), ``store``
        device         category (4)                 ``desktop``, ``mobile``, ``tablet``;
                                                    ``in_store`` for store visits
        variant        category (``A``, ``B``)      A/B-test arm of the user (50/50)
        order_value    float64                      EUR on ``purchase`` rows, NaN elsewhere
        =============  ===========================  ============================================

        No column but ``order_value`` holds nulls. The categories are the full fixed
        lists (sorted), whether or not every value occurs.

    Notes
    -----
    **Events and the journey stage they belong to** (``five_stage`` journey):

    - discovery: ``landing`` (arrival from an online touchpoint), ``ad_click``
      (opens every ``paid_ads`` visit, right before its ``landing``),
      ``store_visit`` (opens every ``store`` visit);
    - consideration: ``product_view``, ``add_to_cart``, ``checkout_start``
      (in stores these come from the store app / till);
    - purchase: ``purchase`` (with ``order_value``);
    - use (only after the user's first purchase): ``app_open``, ``review``,
      ``support_contact``;
    - loyalty: the user's second ``purchase`` (rule ``repeat("purchase", nth=2)``);
    - no stage (browsing noise): ``page_view``, ``scroll``, ``search``.

    **Visits.** A user has 1 + Poisson(1.0) visits (mean 2.0). The first starts on a
    uniformly drawn day of the period at an hour drawn from a daily profile (busiest
    19:00-22:00 UTC); each next visit starts 45 min + lognormal(median 20 h, sigma
    1.3) after the previous one ends, so visits are hours to days apart and a 30-minute
    timeout separates them. Inside a visit, events are 1 s + lognormal(median 15 s,
    sigma 1.1) apart online and 20 s + lognormal(median 90 s, sigma 0.8) apart in a
    store (each step capped at 10 min); ``ad_click`` precedes ``landing`` by 0.3-2.8 s.

    **Channel of a visit.** The first visit's channel is drawn from the acquisition
    mix below; a later visit keeps the previous visit's channel with probability 0.35,
    else draws from the return mix, so first touch and last touch differ for many
    users. Device: each user has a main device (desktop 0.38, mobile 0.52, tablet
    0.10) used on an online visit with probability 0.85, else a fresh draw; store
    visits are ``in_store``.

    **Journey inside a visit** (independent of the variant except where said):

    ==============  ===========  ======  ======================  ===========  ======================
    channel         acquisition  return  P(product_view)         P(cart |     P(checkout_start |
                    mix          mix     (1 + Poisson(1) views)  view)        cart)
    ==============  ===========  ======  ======================  ===========  ======================
    paid_ads        0.32         0.14    0.22                    0.30         0.50
    organic_search  0.28         0.26    0.40                    0.40         0.60
    social          0.14         0.10    0.25                    0.30         0.55
    store           0.12         0.15    0.70                    0.70         0.85
    referral        0.08         0.05    0.50                    0.50         0.65
    newsletter      0.06         0.30    0.50                    0.45         0.65
    ==============  ===========  ======  ======================  ===========  ======================

    A user starts checkout at most once before buying: only the first visit whose
    draws reach ``checkout_start`` keeps it (later visits of a user who abandoned
    checkout can still view products and add to cart, but not check out). That
    checkout converts, seconds to minutes later in the same visit, with probability

        P(purchase | checkout_start) = b[channel] x d[device] x (``lift`` if B)
        x (``incident_factor`` if the checkout is in the incident)

    with b = paid_ads 0.40, social 0.45, organic_search 0.55, newsletter 0.65,
    referral 0.65, store 0.75 and d = desktop 1.0, in_store 1.0, tablet 0.95, mobile
    0.85. Browsing noise (``browse_events``: page_view 0.55, scroll 0.30, search 0.15)
    is scattered through online visits; store visits have none. Paid ads thus bring
    the most first visits and convert worst; newsletter and referral visits convert
    best; stores convert best of all, in the store.

    **After the first purchase.** The buyer's base visits after the purchase visit are
    replaced by Poisson(1.5) follow-up visits (same gaps as above, channel from the
    return mix, with the same stickiness). An online follow-up has ``app_open`` with
    probability 0.55 (1 + Poisson(0.7) times), ``review`` 0.10, ``support_contact``
    0.06, product views 0.30, plus browsing noise; a store follow-up has
    ``support_contact`` 0.10 and product views 0.30. Independently, a share
    ``repeat_rate`` of buyers is loyal: 12 h + 20 d x Beta(1.5, 4) after the first
    purchase (between 12 h and 20.5 d, mean 6.0 d) they make a repeat visit (return-mix
    channel) with product views, ``add_to_cart``, ``checkout_start`` and a second
    ``purchase``, which always converts except that the incident multiplies it by
    ``incident_factor`` too. Follow-ups that would overlap the repeat visit are
    dropped. ``order_value`` is lognormal(median 45 EUR, sigma 0.6) online and
    lognormal(median 60 EUR, sigma 0.6) in stores, in cents.

    **Planted truths.** Exact in expectation for any seed and size; the "about"
    values are those of the defaults, measured on 2,000,000 users (users counted with
    plain pandas over the whole period, no time window):

    1. *A/B lift.* Among users who reach consideration, and among users who reach
       checkout, the share who purchase is exactly ``lift`` = 1.20 times higher in B
       than in A: about 0.227 (A) vs 0.273 (B) given consideration, 0.590 vs 0.710
       given checkout. Only the purchase probability depends on the variant; the
       channel, device and time of a user's checkout do not.
    2. *A/A steps.* The variant changes nothing else: P(reach consideration), about
       0.572, and P(reach checkout), about 0.220, are the same in A and B, and so are
       usage (about 0.52 of buyers) and loyalty given a first purchase.
    3. *Incident.* A checkout on 2026-03-20, -21 or -22 (UTC) converts at exactly 0.2
       times the usual rate, in both variants: first checkouts about 0.14 instead of
       0.68 (A 0.13 instead of 0.62, B 0.15 instead of 0.74).
    4. *Usage only after purchase.* Every ``app_open``, ``review`` and
       ``support_contact`` comes after the user's first ``purchase``.
    5. *Loyalty.* ``repeat_rate`` = 30% of buyers buy again, 12 h to 20.5 d after the
       first purchase. It shows exactly (in expectation) among buyers whose first
       purchase leaves room for it: at least 21 days before the end of the period and,
       with the default incident, on or after 2026-03-23. Over all buyers the end of
       the period and the incident cut it to about 26%.
    6. *Channels* (by first touch): paid_ads brings the most users (32%) and converts
       worst (about 7.7% of its users buy); social 8.3%; organic_search 12.0%;
       newsletter 16.5%; referral 17.6%; store 41.1%. About 41% of users have a
       last-touch channel different from their first.
    7. *Variant* is constant per user and 50/50 (no sample-ratio mismatch).
    8. *Revenue per user.* Orders per buyer and the order value do not depend on the
       variant except through ``order_value_lift`` and ``repeat_lift``, so revenue per
       exposed user (the sum of ``order_value``) is exactly ``lift`` x
       ``order_value_lift`` times higher in B than in A in expectation when
       ``repeat_lift`` is 1 (the incident and the end of the period cut both arms
       alike): **+20 % with the defaults (the bundled sample)**, +32 % with
       ``order_value_lift=1.1``; a ``repeat_lift`` multiplies it by
       (1 + ρ ``repeat_lift``) / (1 + ρ), ρ ≈ 0.26 the share of buyers whose repeat
       purchase falls in the period (measured 1.374 for 1.2 x 1.1 x 1.2 on 200,000 users). Revenue per *buyer* differs only by
       ``order_value_lift``; average order value (revenue / orders) is exactly
       ``order_value_lift`` times higher in B.
    9. *Repeat purchase.* A buyer of B buys again with probability ``repeat_rate`` x
       ``repeat_lift`` (A: ``repeat_rate``); no effect with the defaults.
    10. *Weekly return.* With ``weekly_return`` = r > 0, every user, in each full week
        k = 1, 2, ... after the start of their first visit (week k is
        ``[first + 7k d, first + 7(k+1) d)``, inside the period), independently makes
        one return visit with probability r (the same in A and B), at a uniform time in
        the week, through the return-mix channel: a ``landing`` (``store_visit`` in a
        store) with browsing noise and, with probability 0.3, product views. So the
        share of users active in week k is at least r; it is about r + 0.06 in week 1,
        r + 0.01 in week 2 and r from week 3 on (0.307, 0.263, 0.253, 0.251, 0.252), the extra being base and
        follow-up visits (measured with r = 0.25 on 200,000 users; users whose week k
        ends after the period are censored). The user's journey (purchase, usage,
        loyalty) is not changed by return visits.

    The stream of numpy's ``Generator`` is stable within a numpy version; a new numpy
    may in principle change the bits (``tests/test_datasets.py`` would tell).

    Examples
    --------
    >>> from funnelkit.datasets import make_shop
    >>> events = make_shop(1_000, seed=1)
    >>> events.columns.tolist()
    ['user_id', 'timestamp', 'event', 'channel', 'device', 'variant', 'order_value']
    >>> events["user_id"].nunique()
    1000
    >>> str(events["timestamp"].dtype)
    'datetime64[ns, UTC]'
    >>> make_shop(1_000, seed=1).equals(events)
    True
    """
    _check_params(n_users, seed, days, browse_events, lift, incident_factor, repeat_rate)
    for name, v, lo, hi in (("order_value_lift", order_value_lift, 0.0, 10.0),
                            ("repeat_lift", repeat_lift, 0.0, 1.0 / max(float(repeat_rate), 1e-12)),
                            ("weekly_return", weekly_return, -1e-300, 1.0)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)) \
                or not (lo < float(v) <= hi) and not (name == "weekly_return" and v == 0):
            raise ParameterError(
                f"`{name}` must be a number in ({max(lo, 0):g}, {hi:g}]"
                + (" (repeat_rate x repeat_lift is a probability)" if name == "repeat_lift" else "")
                + f"; got {v!r}.")
    t_start = _to_ms(start, "start")
    t_end = t_start + int(days) * _MS_D
    if incident is None:
        inc_lo = inc_hi = t_start  # empty
    else:
        try:
            if isinstance(incident, (str, bytes)) or len(incident) != 2:
                raise TypeError
            inc_lo, inc_hi = (_to_ms(x, "incident") for x in incident)
        except (TypeError, ValueError):
            raise ParameterError(
                "`incident` must be a (start, end) pair of dates such as "
                f"('2026-03-20', '2026-03-23') or None; got {incident!r}."
            ) from None
        if inc_hi < inc_lo:
            raise ParameterError(
                f"`incident`={incident!r} ends before it starts; "
                "give (start, end) with start <= end."
            )
    rng = np.random.default_rng(seed)
    lift_f, inc_f = float(lift), float(incident_factor)
    n_users = int(n_users)

    # ---- users --------------------------------------------------------------------
    is_b = rng.random(n_users) < 0.5
    main_device = _draw_categorical(rng, _DEVICE_MIX, n_users)
    n_visits = 1 + rng.poisson(_MEAN_EXTRA_VISITS, n_users)
    hour_cum = np.cumsum(_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum())
    hour = np.searchsorted(hour_cum, rng.random(n_users), side="right").clip(0, 23)
    first_start = (
        t_start
        + rng.integers(0, int(days), n_users) * _MS_D
        + hour * _MS_H
        + rng.integers(0, _MS_H, n_users)
    )
    # user ids in order of first visit
    user_id = np.empty(n_users, dtype=np.int64)
    user_id[np.argsort(first_start, kind="stable")] = np.arange(1, n_users + 1)

    # ---- base visits ----------------------------------------------------------------
    nv_total = int(n_visits.sum())
    v_user = np.repeat(np.arange(n_users, dtype=np.int64), n_visits)
    v_first_idx = _segment_starts(n_visits)
    v_first = np.zeros(nv_total, dtype=bool)
    v_first[v_first_idx] = True
    v_chan = _sticky_channels(rng, v_first, _FIRST_MIX)
    v_dev = _devices(rng, main_device[v_user], v_chan)
    v_store = v_chan == _STORE
    consider = rng.random(nv_total) < _P_CONSIDER[v_chan]
    cart = consider & (rng.random(nv_total) < _P_CART[v_chan])
    checkout = cart & (rng.random(nv_total) < _P_CHECKOUT[v_chan])
    cum = np.cumsum(checkout)
    checkout &= (cum - (cum[v_first_idx] - checkout[v_first_idx])[v_user]) == 1  # first only
    del cum

    counts = np.zeros((nv_total, _N_CODES), dtype=np.int32)
    counts[:, _AD_CLICK] = v_chan == _PAID
    counts[:, _LANDING] = ~v_store
    counts[:, _STORE_VISIT] = v_store
    counts[:, _PRODUCT_VIEW] = consider * (1 + rng.poisson(_MEAN_PRODUCT_VIEWS, nv_total))
    counts[:, _ADD_TO_CART] = cart
    counts[:, _CHECKOUT] = checkout
    counts[:, _PURCHASE] = checkout  # dropped later when the checkout does not convert
    noise = rng.poisson(float(browse_events), nv_total) * ~v_store
    counts[:, _PAGE_VIEW : _SEARCH + 1] = rng.multinomial(noise, _NOISE_MIX)
    del noise, consider, cart
    e_visit, e_code, e_off, v_dur = _materialize(rng, counts, v_store)
    del counts
    v_start = _visit_starts(first_start[v_user], v_dur, _gaps_ms(rng, nv_total), v_first)
    e_time = v_start[e_visit] + e_off
    del e_off

    # ---- the (first) checkout decision ---------------------------------------------
    co_pos = np.flatnonzero(e_code == _CHECKOUT)
    co_visit = e_visit[co_pos]
    co_time = e_time[co_pos]
    p = _P_PURCHASE[v_chan[co_visit]] * _DEVICE_FACTOR[v_dev[co_visit]]
    p = np.where(is_b[v_user[co_visit]], p * lift_f, p)
    p = np.where((co_time >= inc_lo) & (co_time < inc_hi), p * inc_f, p)
    bought_visit = np.zeros(nv_total, dtype=bool)
    bought_visit[co_visit[rng.random(co_pos.size) < p]] = True
    del co_pos, co_visit, co_time, p
    pur_pos = np.flatnonzero(e_code == _PURCHASE)
    pur_visit = e_visit[pur_pos]
    ok = bought_visit[pur_visit] & (e_time[pur_pos] < t_end)
    buyer_visit = pur_visit[ok]  # at most one per user
    t1_buyer = e_time[pur_pos[ok]]
    buyer = v_user[buyer_visit]
    del pur_pos, pur_visit, ok
    # keep: not a failed purchase; not a base visit after the purchase visit
    purchase_visit_k = np.full(n_users, np.iinfo(np.int64).max, dtype=np.int64)
    purchase_visit_k[buyer] = buyer_visit
    keep = (e_code != _PURCHASE) | bought_visit[e_visit]
    keep &= e_visit <= purchase_visit_k[v_user[e_visit]]
    keep &= e_time < t_end
    parts = [
        (
            v_user[e_visit[keep]],
            e_time[keep],
            e_code[keep],
            v_chan[e_visit[keep]],
            v_dev[e_visit[keep]],
        )
    ]
    pv_end = v_start[buyer_visit] + v_dur[buyer_visit]
    del e_visit, e_time, e_code, keep, bought_visit, v_start, v_dur

    # ---- loyal buyers: the repeat visit ----------------------------------------------
    n_buyers = buyer.size
    loyal = rng.random(n_buyers) < np.where(is_b[buyer], float(repeat_rate) * float(repeat_lift),
                                            float(repeat_rate))
    r_user = buyer[loyal]
    n_rep = r_user.size
    r_first = np.ones(n_rep, dtype=bool)
    r_chan = _sticky_channels(rng, r_first, _RETURN_MIX)
    r_dev = _devices(rng, main_device[r_user], r_chan)
    r_store = r_chan == _STORE
    gap = _REPEAT_MIN_H * _MS_H + (
        _REPEAT_SPAN_D * _MS_D * rng.beta(*_REPEAT_BETA, n_rep)
    ).astype(np.int64)
    r_start = np.maximum(t1_buyer[loyal] + gap, pv_end[loyal] + _GAP_MIN_MS)
    counts = np.zeros((n_rep, _N_CODES), dtype=np.int32)
    counts[:, _AD_CLICK] = r_chan == _PAID
    counts[:, _LANDING] = ~r_store
    counts[:, _STORE_VISIT] = r_store
    counts[:, _PRODUCT_VIEW] = 1 + rng.poisson(_MEAN_PRODUCT_VIEWS, n_rep)
    counts[:, _ADD_TO_CART] = 1
    counts[:, _CHECKOUT] = 1
    counts[:, _PURCHASE] = 1
    noise = rng.poisson(float(browse_events), n_rep) * ~r_store
    counts[:, _PAGE_VIEW : _SEARCH + 1] = rng.multinomial(noise, _NOISE_MIX)
    e_visit, e_code, e_off, r_dur = _materialize(rng, counts, r_store)
    e_time = r_start[e_visit] + e_off
    co_pos = np.flatnonzero(e_code == _CHECKOUT)
    co_time = e_time[co_pos]
    p = np.where((co_time >= inc_lo) & (co_time < inc_hi), inc_f, 1.0)
    converted = np.zeros(n_rep, dtype=bool)
    converted[e_visit[co_pos]] = rng.random(co_pos.size) < p
    keep = ((e_code != _PURCHASE) | converted[e_visit]) & (e_time < t_end)
    parts.append(
        (
            r_user[e_visit[keep]],
            e_time[keep],
            e_code[keep],
            r_chan[e_visit[keep]],
            r_dev[e_visit[keep]],
        )
    )
    # the interval the repeat visit blocks, per buyer
    block_lo = np.full(n_buyers, np.iinfo(np.int64).max, dtype=np.int64)
    block_hi = np.full(n_buyers, np.iinfo(np.int64).min, dtype=np.int64)
    block_lo[loyal] = r_start - _GAP_MIN_MS
    block_hi[loyal] = r_start + r_dur + _GAP_MIN_MS
    del e_visit, e_code, e_off, e_time, counts, co_pos, co_time, p, converted, keep

    # ---- follow-up visits of buyers (usage) ------------------------------------------
    n_follow = rng.poisson(_MEAN_FOLLOW_UPS, n_buyers)
    nf_total = int(n_follow.sum())
    f_buyer = np.repeat(np.arange(n_buyers, dtype=np.int64), n_follow)
    f_user = buyer[f_buyer]
    f_first = np.zeros(nf_total, dtype=bool)
    f_first[_segment_starts(n_follow)[n_follow > 0]] = True
    f_chan = _sticky_channels(rng, f_first, _RETURN_MIX)
    f_dev = _devices(rng, main_device[f_user], f_chan)
    f_store = f_chan == _STORE
    counts = np.zeros((nf_total, _N_CODES), dtype=np.int32)
    counts[:, _AD_CLICK] = f_chan == _PAID
    counts[:, _LANDING] = ~f_store
    counts[:, _STORE_VISIT] = f_store
    counts[:, _PRODUCT_VIEW] = (rng.random(nf_total) < _P_FOLLOW_UP_VIEW) * (
        1 + rng.poisson(0.5, nf_total)
    )
    counts[:, _APP_OPEN] = (
        ~f_store
        * (rng.random(nf_total) < _P_APP_OPEN)
        * (1 + rng.poisson(_MEAN_EXTRA_APP_OPENS, nf_total))
    )
    counts[:, _REVIEW] = ~f_store & (rng.random(nf_total) < _P_REVIEW)
    counts[:, _SUPPORT] = rng.random(nf_total) < np.where(
        f_store, _P_SUPPORT_STORE, _P_SUPPORT_ONLINE
    )
    noise = rng.poisson(float(browse_events), nf_total) * ~f_store
    counts[:, _PAGE_VIEW : _SEARCH + 1] = rng.multinomial(noise, _NOISE_MIX)
    e_visit, e_code, e_off, f_dur = _materialize(rng, counts, f_store)
    f_gap = _gaps_ms(rng, nf_total)
    f_start = _visit_starts(pv_end[f_buyer] + f_gap, f_dur, f_gap, f_first)
    f_ok = (f_start + f_dur < block_lo[f_buyer]) | (f_start > block_hi[f_buyer])
    e_time = f_start[e_visit] + e_off
    keep = f_ok[e_visit] & (e_time < t_end)
    parts.append(
        (
            f_user[e_visit[keep]],
            e_time[keep],
            e_code[keep],
            f_chan[e_visit[keep]],
            f_dev[e_visit[keep]],
        )
    )
    del e_visit, e_code, e_off, e_time, counts, keep

    # ---- weekly return visits (drawn after everything else: r = 0 changes nothing) --------
    w_parts = None
    if float(weekly_return) > 0:
        week = 7 * _MS_D
        n_weeks = np.maximum((t_end - first_start - 1) // week, 0).astype(np.int64)
        w_user = np.repeat(np.arange(n_users, dtype=np.int64), n_weeks)
        w_k = np.arange(int(n_weeks.sum()), dtype=np.int64) - np.repeat(_segment_starts(n_weeks), n_weeks) + 1
        back = rng.random(w_user.size) < float(weekly_return)
        w_user, w_k = w_user[back], w_k[back]
        nw = w_user.size
        w_chan = _sticky_channels(rng, np.ones(nw, dtype=bool), _RETURN_MIX)
        w_dev = _devices(rng, main_device[w_user], w_chan)
        w_store = w_chan == _STORE
        counts = np.zeros((nw, _N_CODES), dtype=np.int32)
        counts[:, _AD_CLICK] = w_chan == _PAID
        counts[:, _LANDING] = ~w_store
        counts[:, _STORE_VISIT] = w_store
        counts[:, _PRODUCT_VIEW] = (rng.random(nw) < 0.3) * (1 + rng.poisson(0.5, nw))
        noise = rng.poisson(float(browse_events), nw) * ~w_store
        counts[:, _PAGE_VIEW : _SEARCH + 1] = rng.multinomial(noise, _NOISE_MIX)
        e_visit, e_code, e_off, _ = _materialize(rng, counts, w_store)
        w_start = first_start[w_user] + w_k * week + (rng.random(nw) * week).astype(np.int64)
        e_time = w_start[e_visit] + e_off
        keep = e_time < t_end
        w_parts = (w_user[e_visit[keep]], e_time[keep], e_code[keep], w_chan[e_visit[keep]],
                   w_dev[e_visit[keep]])
        del counts, e_visit, e_code, e_off, e_time, keep

    # ---- assemble ------------------------------------------------------------------------
    users = np.concatenate([q[0] for q in parts])
    times = np.concatenate([q[1] for q in parts])
    codes = np.concatenate([q[2] for q in parts])
    chans = np.concatenate([q[3] for q in parts])
    devs = np.concatenate([q[4] for q in parts])
    del parts
    uid = user_id[users]
    variant_codes = is_b[users].astype(np.int8)
    del users
    span = int(times.max() - t_start + 1) if times.size else 1
    if span * (n_users + 1) < 2**62:  # one int64 key is much faster than lexsort
        order = np.argsort((times - t_start) * (n_users + 1) + uid, kind="stable")
    else:  # pragma: no cover - only for periods of centuries
        order = np.lexsort((uid, times))
    uid, times, codes, chans, devs, variant_codes = (
        a[order] for a in (uid, times, codes, chans, devs, variant_codes)
    )
    del order
    order_value = np.full(codes.size, np.nan)
    is_purchase = codes == _PURCHASE
    median = _ORDER_MEDIAN[chans[is_purchase]]
    order_value[is_purchase] = np.round(
        median * np.exp(0.6 * rng.standard_normal(median.size))
        * np.where(variant_codes[is_purchase] == 1, float(order_value_lift), 1.0), 2
    )
    if w_parts is not None:  # return visits hold no purchase: appended and re-sorted
        wu, wt, wc, wch, wd = w_parts
        uid = np.concatenate([uid, user_id[wu]])
        times = np.concatenate([times, wt])
        codes = np.concatenate([codes, wc])
        chans = np.concatenate([chans, wch])
        devs = np.concatenate([devs, wd])
        variant_codes = np.concatenate([variant_codes, is_b[wu].astype(np.int8)])
        order_value = np.concatenate([order_value, np.full(wu.size, np.nan)])
        o = np.lexsort((uid, times))
        uid, times, codes, chans, devs, variant_codes, order_value = (
            a[o] for a in (uid, times, codes, chans, devs, variant_codes, order_value))
    times_ns = times * 1_000_000
    frame = pd.DataFrame(
        {
            "user_id": uid,
            "timestamp": pd.DatetimeIndex(
                times_ns.view("datetime64[ns]"), copy=False
            ).tz_localize("UTC"),
            "event": _categorical(_TO_EVENT_CODE[codes], SHOP_EVENTS),
            "channel": _categorical(chans, SHOP_CHANNELS),
            "device": _categorical(devs, SHOP_DEVICES),
            "variant": _categorical(variant_codes, SHOP_VARIANTS),
            "order_value": order_value,
        }
    )
    return frame


# --- the committed sample and the registry -----------------------------------------------


def _as_categorical(column: Any, categories: tuple[str, ...], name: str) -> pd.Categorical:
    """A pyarrow (dictionary or string) column as a pandas Categorical on ``categories``."""
    import pyarrow as pa

    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_dictionary(column.type):
        # map the file's dictionary onto the fixed categories, then the indices
        lookup = pd.Index(list(categories)).get_indexer(column.dictionary.to_pylist())
        codes = lookup[column.indices.to_numpy(zero_copy_only=False)]
    else:
        values = np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)
        codes = pd.Index(list(categories)).get_indexer(values)
    if (codes < 0).any():  # pragma: no cover - only with a damaged file
        raise ParameterError(
            f"the bundled sample has an unexpected value in column {name!r}; reinstall funnelkit."
        )
    return _categorical(codes.astype(np.int8), categories)


def _read_shop_file() -> pd.DataFrame:
    """Read ``_data/shop.parquet`` and normalize it (ms timestamps -> ns UTC, categoricals)."""
    import pyarrow.parquet as pq

    resource = files("funnelkit.datasets").joinpath("_data", "shop.parquet")
    with resource.open("rb") as fh:
        table = pq.ParquetFile(fh).read()  # (pq.read_table starts the slower dataset API)
    table = table.unify_dictionaries()  # one dictionary per column across row groups
    col = {name: table.column(name) for name in SHOP_COLUMNS}
    ts_ns = col["timestamp"].cast("int64").to_numpy()
    unit = col["timestamp"].type.unit
    ts_ns = ts_ns * {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}[unit]
    return pd.DataFrame(
        {
            "user_id": col["user_id"].to_numpy().astype(np.int64, copy=False),
            "timestamp": pd.DatetimeIndex(ts_ns.view("datetime64[ns]"), copy=False).tz_localize(
                "UTC"
            ),
            "event": _as_categorical(col["event"], SHOP_EVENTS, "event"),
            "channel": _as_categorical(col["channel"], SHOP_CHANNELS, "channel"),
            "device": _as_categorical(col["device"], SHOP_DEVICES, "device"),
            "variant": _as_categorical(col["variant"], SHOP_VARIANTS, "variant"),
            "order_value": col["order_value"].to_numpy().astype(np.float64, copy=False),
        }
    )


@functools.lru_cache(maxsize=None)
def _cached_shop() -> pd.DataFrame:
    return _read_shop_file()


def load_shop() -> pd.DataFrame:
    """Load the ``shop`` sample: 60 days of a shop's clickstream with an A/B test.

An online shop with physical stores runs an A/B test on its checkout (variant
``B`` converts 1.2 times better) and suffers a checkout incident for three days.
Users arrive through six touchpoints, browse, consider, buy, use what they bought
and sometimes buy again: the five stages of the customer journey. Every row is one
event of a normalized event log, ready for ``funnelkit`` (and for plain pandas).

**Size**: 230,712 rows x 7 columns; 20,000 users (variant A 10,067, B 9,933); from
2026-03-01 00:08:52.821 to 2026-04-29 23:55:13.592 UTC; 1.35 MiB on disk
(``funnelkit/datasets/_data/shop.parquet``, zstd), about 6.5 MB in memory.

**Made by** ``data/samples/make_samples.py``, i.e. exactly::

    make_shop(n_users=20_000, seed=0, start="2026-03-01", days=60, browse_events=3.5,
              lift=1.2, incident=("2026-03-20", "2026-03-23"), incident_factor=0.2,
              repeat_rate=0.3)

(the defaults of :func:`make_shop`, whose docstring gives the whole generative
model); ``load_shop()`` equals that call's frame exactly.

**Columns** (rows sorted by ``timestamp``, then ``user_id``; no nulls except in
``order_value``):

=============  ===================  ==================================================
column         dtype                meaning
=============  ===================  ==================================================
user_id        int64                user, 1..20000 in order of first visit
timestamp      datetime64[ns, UTC]  event time (whole milliseconds)
event          category             one of the 13 events below
channel        category             touchpoint of the visit: organic_search, paid_ads,
                                    newsletter, social, referral (word of mouth), store
device         category             desktop, mobile, tablet; in_store for store visits
variant        category             A/B-test arm of the user (A, B), constant per user
order_value    float64              EUR on purchase rows, NaN elsewhere
=============  ===================  ==================================================

**Events** (journey stage: event, rows):

- discovery: ``landing`` 36,265; ``ad_click`` 10,475; ``store_visit`` 5,073
- consideration: ``product_view`` 32,110; ``add_to_cart`` 7,328;
  ``checkout_start`` 5,084
- purchase: ``purchase`` 3,517 (2,810 buyers; revenue 216,375.50 EUR, median
  order 50.10 EUR)
- use (after a purchase only): ``app_open`` 3,123; ``review`` 346;
  ``support_contact`` 249
- loyalty: the second ``purchase`` of a user (707 users)
- browsing noise, in no stage: ``page_view`` 69,867; ``scroll`` 37,974;
  ``search`` 19,301 (55% of all rows)

**Planted truths, and what they look like in this sample** (users counted with
plain pandas, no time window):

1. A/B lift on purchase: among users who reached consideration, A 1,281/5,765 =
   0.222 and B 1,529/5,645 = 0.271 purchased (ratio 1.22, planted 1.20;
   two-proportion z = 6.03, p = 1.6e-9). Among users who started checkout: A 0.578,
   B 0.719.
2. No difference elsewhere (A/A steps): reached consideration A 0.573, B 0.568
   (p = 0.53); reached checkout A 0.220, B 0.214 (p = 0.30).
3. Checkout incident from 2026-03-20 to 2026-03-22 (UTC, both variants): users
   whose first checkout fell in it bought in 29 of 232 cases (0.125) against
   2,781 of 4,111 (0.676) on the other days; planted: x 0.2.
4. ``app_open``, ``review`` and ``support_contact`` only after a user's first
   purchase.
5. Loyalty: 30% of buyers are planted to buy again 12 h to 20.5 days later; with
   the end of the period and the incident cutting some off, 707 of the 2,810 buyers
   (25%) have two purchases here.
6. 7,990 users (40%) came through a different channel on their last visit than on
   their first (first touch != last touch).

Returns
-------
pandas.DataFrame
    A new frame on every call (changing it never changes the next one).

See Also
--------
make_shop : the generator, its parameters and the full generative model.
load_sample : load any bundled sample by name.

Examples
--------
>>> from funnelkit.datasets import load_shop
>>> events = load_shop()
>>> events.shape
(230712, 7)
>>> events.groupby("variant", observed=True)["user_id"].nunique().to_dict()
{'A': 10067, 'B': 9933}
"""
    return _cached_shop().copy(deep=True)


#: name -> loader of every bundled sample
_SAMPLES: dict[str, Callable[[], pd.DataFrame]] = {"shop": load_shop}


def list_samples() -> list[str]:
    """Names of the bundled samples, for :func:`load_sample`.

    Examples
    --------
    >>> from funnelkit.datasets import list_samples
    >>> list_samples()
    ['shop']
    """
    return sorted(_SAMPLES)


def load_sample(name: str = "shop") -> pd.DataFrame:
    """Load a bundled sample event log as a normalized DataFrame.

    Each call returns a new frame: changing it never changes what the next call
    returns. The samples and their documentation:

    - ``"shop"``: :func:`load_shop` (an online shop with stores, an A/B test on
      checkout and a checkout incident; made by :func:`make_shop`).

    Parameters
    ----------
    name : str, default "shop"
        One of :func:`list_samples`.

    Returns
    -------
    pandas.DataFrame
        The normalized event log (``user_id``, ``timestamp`` as
        ``datetime64[ns, UTC]``, ``event`` categorical, then the properties).

    Raises
    ------
    funnelkit.errors.ParameterError
        When ``name`` is not a bundled sample; the message lists the available ones.

    Examples
    --------
    >>> from funnelkit.datasets import load_sample
    >>> events = load_sample("shop")
    >>> events.columns[:3].tolist()
    ['user_id', 'timestamp', 'event']
    """
    if not isinstance(name, str) or name not in _SAMPLES:
        import difflib

        hint = ""
        if isinstance(name, str):
            close = difflib.get_close_matches(name, list(_SAMPLES), n=1)
            if close:
                hint = f" Did you mean {close[0]!r}?"
        raise ParameterError(
            f"`name`={name!r} is not a bundled sample; available samples: "
            + ", ".join(repr(n) for n in list_samples())
            + " (see funnelkit.datasets.list_samples())."
            + hint
        )
    return _SAMPLES[name]()
