"""What the benchmark measures: the funnel, the window, the session timeout, the data.

Standard library only: the engine modules in ``peers/`` import this file from any
interpreter (including a separate virtualenv for a peer whose dependencies clash).
"""

from __future__ import annotations

#: The 5-step funnel: each step is a list of event names of ``make_shop``'s log (one
#: event name belongs to at most one step, so SQL ``CASE``/``IN`` conditions are exact).
STEPS: list[list[str]] = [
    ["landing", "ad_click", "store_visit"],  # discovery
    ["product_view", "add_to_cart"],  # consideration
    ["checkout_start"],
    ["purchase"],
    ["app_open", "review"],  # use (only after a purchase in make_shop)
]
STEP_NAMES: list[str] = [" | ".join(s) for s in STEPS]
FUNNEL_EVENTS: list[str] = [e for s in STEPS for e in s]

#: Conversion window of the ordered funnel, measured from the step-1 event, inclusive.
WINDOW = "1D"
WINDOW_MS = 86_400_000

#: Session inactivity timeout (a gap strictly greater than this starts a session).
SESSION_TIMEOUT = "30min"
SESSION_TIMEOUT_MS = 30 * 60 * 1000

#: ``make_shop`` parameters. With ``browse_events=4.0`` a user has about 12.5 events
#: and the funnel's events are about 42% of all rows (the rest is browsing noise:
#: page_view / scroll / search, plus support_contact).
SEED = 0
BROWSE_EVENTS = 4.0
#: Users of the pilot run that calibrates events per user (n_users = size / rate).
PILOT_USERS = 20_000

#: Parquet layout of the generated files.
PARQUET_COMPRESSION = "zstd"
PARQUET_TIME_UNIT = "ms"  # make_shop's timestamps are whole milliseconds

# --------------------------------------------------------------------------- shapes (--shapes a..f)

#: (c) a ``where=`` rule on one step: step 4 (``purchase``) only where ``channel`` has this
#: value. make_shop's channels are paid_ads, organic_search, newsletter, social, store and
#: referral (no nulls); paid_ads carries about 6% of the purchase rows (store about half).
WHERE_STEP = 4  # 1-based
WHERE_COL = "channel"
WHERE_VALUE = "paid_ads"

#: (d) the breakdown column, attributed first touch: each unit gets the first non-null
#: value of the column over all of its events, by time.
BY_COL = "channel"
ATTRIBUTION = "first_touch_unit"  # funnelkit's unit-wide reading; "first_touch" reads the reported attempt

#: (f) the experiment: make_shop's variant column ("A" or "B", one per user).
VARIANT_COL = "variant"
CONTROL = "A"

#: The out-of-core rows: ``memory_budget=`` given to funnelkit for a Parquet path.
OOC_BUDGET = "256MB"

#: shape -> (title, which data file). "main": the make_shop log; "strid": the same log
#: with each integer user id replaced by a 32-hex-character string (md5 of the id).
SHAPES: dict[str, tuple[str, str]] = {
    "a": ("(a) integer ids, plain steps", "main"),
    "b": ("(b) 32-hex string user ids (Parquet)", "strid"),
    "c": (f"(c) where= rule: {STEPS[WHERE_STEP - 1][0]} where {WHERE_COL} = {WHERE_VALUE!r}", "main"),
    "d": (f"(d) by={BY_COL!r}, {ATTRIBUTION}", "main"),
    "e": ("(e) unit='session' (sessionize, 30 min)", "main"),
    "f": (f"(f) experiment, variant_col={VARIANT_COL!r}, control={CONTROL!r}", "main"),
}
