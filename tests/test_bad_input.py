"""A corpus of bad or odd inputs (issue 15): every public entry point refuses them with a
funnelkit exception (or warns) whose message names the problem, and never modifies the
caller's frame.

Each case is ``(id, make, call, expected, fragment)``: ``make(tmp_path)`` builds the input
(a frame, a path, ...), ``call(input)`` runs the public function, ``expected`` is the
exception class (or a warning class, for inputs that are accepted with a warning), and
``fragment`` a regular expression the message must match. Every frame given is compared
with a deep copy taken before the call (``caller_frame.equals(snapshot)``). CLI cases call
``funnelkit.cli.main([...])`` and check the exit status 2 and the one-line message.

Cases that other areas fix in their own files are marked ``xfail(strict=True)`` with the
owner in the reason, so that they turn into failures (to unmark) once fixed.
"""

from __future__ import annotations

import gzip
import re
import warnings
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import funnelkit as fk
import funnelkit.cli
from funnelkit.errors import (
    ColumnTypeError,
    DroppedRowsWarning,
    DuplicateEventsWarning,
    EmptyEventLogError,
    EventLogError,
    EventSourceError,
    FunnelkitError,
    FunnelkitWarning,
    JourneyError,
    MissingColumnError,
    NullValuesError,
    ParameterError,
    TimestampError,
    TimezoneError,
    UnknownEventError,
    UnknownStageError,
)

T0 = pd.Timestamp("2024-03-01 10:00", tz="UTC")
STEPS = ["view", "cart", "buy"]
HUGE = "x" * 1_000_000  # a 1 MB name


def log(n_users: int = 6, **extra: Any) -> pd.DataFrame:
    """A small valid log: each user views, some add to cart, fewer buy."""
    rows = []
    for u in range(n_users):
        for k, e in enumerate(STEPS[: 1 + u % 3]):
            rows.append((u, T0 + pd.Timedelta(minutes=10 * u + k), e, "AB"[u % 2], ["ads", "seo"][u % 2]))
    df = pd.DataFrame(rows, columns=["user_id", "timestamp", "event", "variant", "channel"])
    for k, v in extra.items():
        df[k] = v(df) if callable(v) else v
    return df


def frame(**kw: Any) -> Callable[[Any], pd.DataFrame]:
    return lambda tmp: pd.DataFrame(kw)


def with_cols(**extra: Any) -> Callable[[Any], pd.DataFrame]:
    return lambda tmp: log(**extra)


def modified(fn: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Any], pd.DataFrame]:
    return lambda tmp: fn(log())


def text_file(name: str, text: str | bytes) -> Callable[[Any], str]:
    def make(tmp: Any) -> str:
        p = tmp / name
        data = text.encode() if isinstance(text, str) else text
        if name.endswith(".gz"):
            p.write_bytes(gzip.compress(data))
        else:
            p.write_bytes(data)
        return str(p)
    return make


def parquet(table_fn: Callable[[], Any], name: str = "ev.parquet") -> Callable[[Any], str]:
    def make(tmp: Any) -> str:
        p = tmp / name
        t = table_fn()
        if isinstance(t, pd.DataFrame):
            t.to_parquet(p)
        else:
            pq.write_table(t, p)
        return str(p)
    return make


def mixed_dir(tmp: Any) -> str:
    d = tmp / "parts"
    d.mkdir()
    ts = pa.array([0], pa.timestamp("s", tz="UTC"))
    pq.write_table(pa.table({"user_id": [1], "timestamp": ts, "event": ["view"]}), d / "a.parquet")
    pq.write_table(pa.table({"user_id": ["u1"], "timestamp": ts, "event": ["view"]}), d / "b.parquet")
    return str(d)


def junk_dir(tmp: Any) -> str:
    d = tmp / "junk"
    d.mkdir()
    log().to_parquet(d / "a.parquet")
    (d / "b.parquet").write_text("not parquet")
    return str(d)


def empty_dir(tmp: Any) -> str:
    d = tmp / "empty"
    d.mkdir()
    (d / "notes.txt").write_text("x")
    return str(d)


def nothing(tmp: Any) -> None:
    return None


def far_arrow() -> Any:
    return pa.table({"user_id": pa.array([1, 1], pa.int64()),
                     "timestamp": pa.array([0, 10**16], pa.timestamp("ms", tz="UTC")),
                     "event": pa.array(["view", "buy"])})


def cli(*args: str) -> Callable[[Any], int]:
    """A CLI run: args may hold '{tmp}' and '{log}' (a valid Parquet log written there)."""
    def run(tmp: Any) -> int:
        path = tmp / "cli_log.parquet"
        if not path.exists():
            log().to_parquet(path)
        csv = tmp / "semi.csv"
        if not csv.exists():
            csv.write_text("user_id;timestamp;event\n1;2024-03-01T10:00:00Z;view\n")
        real = [a.format(tmp=tmp, log=path, semi=csv) for a in args]
        try:
            return fk.cli.main(real)
        except SystemExit as exc:
            return exc.code
    return run


class Warns:
    """Expected: accepted, with this warning."""

    def __init__(self, category: type[Warning]) -> None:
        self.category = category

    def __repr__(self) -> str:
        return f"Warns({self.category.__name__})"


class Exit2:
    """Expected: a CLI exit status 2 with the message on stderr."""


def xf(owner: str, why: str) -> Any:
    return pytest.mark.xfail(strict=True, reason=f"owned by {owner}: {why}")


R = fk.read_events
S = fk.sessionize
F = fk.funnel
E = fk.experiment
J = fk.Journey

CASES: list[Any] = [
    # ------------------------------------------------------------------ read_events: objects
    ("read/list", lambda t: [[1, T0, "view"]], R, ColumnTypeError, r"cannot read a list.*pd\.DataFrame\(records\)"),
    ("read/dict", lambda t: {"user_id": [1]}, R, ColumnTypeError, r"cannot read a dict.*pd\.DataFrame\(obj\)"),
    ("read/ndarray", lambda t: np.zeros((2, 3)), R, ColumnTypeError, r"numpy.*columns=\['user_id'"),
    ("read/series", lambda t: log()["event"], R, ColumnTypeError, r"pandas Series \('event'\)"),
    ("read/int", lambda t: 42, R, ColumnTypeError, r"cannot read a int"),
    ("read/empty-frame", frame(), R, EmptyEventLogError, r"empty \(no rows, no columns\)"),
    ("read/no-rows", lambda t: log().iloc[:0], R, EmptyEventLogError, r"has no rows"),
    # ------------------------------------------------------------------ read_events: columns
    ("read/missing-user", modified(lambda d: d.drop(columns="user_id")), R, MissingColumnError,
     r"Column 'user_id' \(user ids.*Available columns"),
    ("read/typo-column", modified(lambda d: d.rename(columns={"timestamp": "timestmp"})), R, MissingColumnError,
     r"closest match: 'timestmp'"),
    ("read/index-user", modified(lambda d: d.set_index("user_id")), R, MissingColumnError,
     r"is the index of the frame.*reset_index"),
    ("read/duplicate-columns", modified(lambda d: pd.concat([d, d[["channel"]]], axis=1)), R, EventLogError,
     r"'channel' appears 2 times"),
    ("read/user-col-list", lambda t: log(), lambda d: R(d, user_col=["a", "b"]), ParameterError,
     r"`user_col` must be the name of one column"),
    ("read/same-col-twice", lambda t: log(), lambda d: R(d, user_col="event"), ParameterError,
     r"both name column 'event'"),
    ("read/columns-str", lambda t: log(), lambda d: R(d, columns="channel"), ParameterError,
     r"`columns` must be a list"),
    ("read/columns-missing", lambda t: log(), lambda d: R(d, columns=["chanel"]), MissingColumnError,
     r"'chanel' \(listed in columns=\).*closest match: 'channel'"),
    ("read/columns-twice", lambda t: log(), lambda d: R(d, columns=["channel", "channel"]), ParameterError,
     r"lists 'channel' twice"),
    ("read/huge-column-name", lambda t: log(), lambda d: R(d, user_col=HUGE), MissingColumnError,
     r"xxxx… \(1000000 characters\)"),
    # ------------------------------------------------------------------ read_events: values
    ("read/null-user", modified(lambda d: d.assign(user_id=d["user_id"].astype("Int64").where(d.index != 2))), R,
     NullValuesError, r"'user_id' \(user ids\) has 1 missing value \(first at row 2\).*dropna=True"),
    ("read/blank-time", modified(lambda d: d.assign(timestamp=["2024-03-01T10:00Z"] * (len(d) - 1) + ["  "])), R,
     NullValuesError, r"missing or blank value"),
    ("read/bool-users", modified(lambda d: d.assign(user_id=d.index % 2 == 0)), R, ColumnTypeError,
     r"'user_id' \(user ids\) holds booleans"),
    ("read/mixed-users", modified(lambda d: d.assign(user_id=pd.Series([1, "a"] * (len(d) // 2), dtype=object))),
     R, ColumnTypeError, r"mixes values of different types \(numbers and strings\), e.g. 1 at row 0"),
    ("read/fractional-users", modified(lambda d: d.assign(user_id=d["user_id"] + 0.5)), R, ColumnTypeError,
     r"not whole numbers"),
    ("read/bool-events", modified(lambda d: d.assign(event=d.index % 2 == 0)), R, ColumnTypeError,
     r"'event' \(events\) holds booleans"),
    ("read/dict-events", modified(lambda d: d.assign(event=[{"a": 1}] * len(d))), R, ColumnTypeError,
     r"'event' \(events\)"),
    ("read/naive-times", modified(lambda d: d.assign(timestamp=d["timestamp"].dt.tz_localize(None))), R,
     TimezoneError, r"tz="),
    ("read/bad-tz", lambda t: log(), lambda d: R(d, tz="Europe/Madird"), ParameterError,
     r"not a time zone.*Did you mean 'Europe/Madrid'"),
    ("read/tz-int", lambda t: log(), lambda d: R(d, tz=5), ParameterError, r"`tz` must be an IANA"),
    ("read/time-unit-on-datetimes", lambda t: log(), lambda d: R(d, time_unit="s"), ParameterError,
     r"applies only to epoch numbers"),
    ("read/epoch-no-unit", modified(lambda d: d.assign(timestamp=1709287200 + d.index)), R, TimestampError,
     r"time unit is ambiguous.*time_unit='s'"),
    ("read/bad-time-unit", lambda t: log(), lambda d: R(d, time_unit="sec"), ParameterError,
     r"`time_unit`='sec' is not valid"),
    ("read/epoch-out-of-range", modified(lambda d: d.assign(timestamp=10**12 + d.index)),
     lambda d: R(d, time_unit="s"), TimestampError, r"outside the range.*time_unit='s'"),
    ("read/epoch-seconds-as-ns", modified(lambda d: d.assign(timestamp=1709287200 + d.index)),
     lambda d: R(d, time_unit="ns"), Warns(FunnelkitWarning), r"implausible.*time_unit='s'"),
    ("read/placeholder-9999", modified(lambda d: d.assign(timestamp=pd.Series(
        np.array(["2024-03-01"] * (len(d) - 1) + ["9999-12-31"], dtype="datetime64[s]")).dt.tz_localize("UTC"))),
     R, TimestampError, r"outside the range.*9999-12-31.*row"),
    ("read/arrow-beyond-2262", lambda t: far_arrow(), R, TimestampError, r"outside the range.*at row 1"),
    ("read/mixed-offset-and-naive", modified(lambda d: d.assign(
        timestamp=["2024-03-01T10:00:00+01:00"] + ["2024-03-01 10:00"] * (len(d) - 1))), R, TimezoneError, r"."),
    ("read/dst-gap", modified(lambda d: d.assign(timestamp=["2024-03-31 02:30"] * len(d))),
     lambda d: R(d, tz="Europe/Madrid"), TimezoneError, r"2024-03-31 02:30"),
    ("read/unparseable-time", modified(lambda d: d.assign(timestamp=["yesterday"] * len(d))), R, TimestampError,
     r"'yesterday'"),
    ("read/dropna-str", lambda t: log(), lambda d: R(d, dropna="yes"), ParameterError, r"`dropna` must be True or False"),
    ("read/dedupe-str", lambda t: log(), lambda d: R(d, dedupe="yes"), ParameterError, r"`dedupe` must be True or False"),
    ("read/duplicates-warn", modified(lambda d: pd.concat([d, d.iloc[[0, 1]]], ignore_index=True)), R,
     Warns(DuplicateEventsWarning), r"2 exact duplicate rows.*row \d+ repeats row [01].*dedupe=True"),
    ("read/dedupe-reports", modified(lambda d: pd.concat([d, d.iloc[[0]]], ignore_index=True)),
     lambda d: R(d, dedupe=True), Warns(DroppedRowsWarning), r"dedupe=True dropped 1 of"),
    ("read/dropna-all", modified(lambda d: d.assign(event=None)), lambda d: R(d, dropna=True), EmptyEventLogError,
     r"no rows left"),
    ("read/sep-on-frame", lambda t: log(), lambda d: R(d, sep=";"), ParameterError, r"applies to CSV/TSV files only"),
    # ------------------------------------------------------------------ read_events: files
    ("read/missing-path", lambda t: str(t / "nope.parquet"), R, EventSourceError, r"No file or directory"),
    ("read/close-path", lambda t: (log().to_parquet(t / "events.parquet"), str(t / "event.parquet"))[1], R,
     EventSourceError, r"Did you mean .*events\.parquet"),
    ("read/bad-suffix", text_file("ev.json", "[]"), R, ColumnTypeError, r"suffix '\.json'.*pd\.read_json"),
    ("read/empty-dir", empty_dir, R, EventSourceError, r"holds no Parquet files"),
    ("read/mixed-schema-dir", mixed_dir, R, ColumnTypeError, r"b\.parquet.*'user_id' as string.*a\.parquet.*int64"),
    ("read/junk-file-in-dir", junk_dir, R, ColumnTypeError, r"b\.parquet.*cannot be read as Parquet"),
    ("read/csv-extra-field", text_file("ev.csv", "user_id,timestamp,event\n1,2024-03-01T10:00Z,view\n"
                                                   "2,2024-03-01T10:00Z,view,extra\n"), R, EventLogError,
     r"line 3 .*has 4 fields, but the header has 3"),
    ("read/csv-missing-field", text_file("ev.csv", "user_id,timestamp,event\n1,2024-03-01T10:00Z\n"), R,
     EventLogError, r"line 2 .*has 2 fields"),
    ("read/csv-gz-extra-field", text_file("ev.csv.gz", "user_id,timestamp,event\n1,2024-03-01T10:00Z,a,b\n"), R,
     EventLogError, r"line 2 .*has 4 fields"),
    ("read/csv-semicolon-forced-comma", text_file("ev.csv", "user_id;timestamp;event\n1;2024-03-01T10:00Z;view\n"),
     lambda p: R(p, sep=","), MissingColumnError, r"looks semicolon-separated.*sep=';'"),
    ("read/csv-latin1", text_file("ev.csv", "user_id,timestamp,event\n1,2024-03-01T10:00Z,caf\xe9\n".encode("latin-1")),
     R, ColumnTypeError, r"not valid utf-8.*encoding='latin-1'"),
    ("read/csv-bad-encoding-name", text_file("ev.csv", "user_id,timestamp,event\n"), lambda p: R(p, encoding="latin-9x"),
     ParameterError, r"`encoding`='latin-9x' is not a text encoding"),
    ("read/csv-bad-sep", text_file("ev.csv", "user_id,timestamp,event\n"), lambda p: R(p, sep=",,"), ParameterError,
     r"`sep`=',,' must be one character"),
    ("read/csv-empty", text_file("ev.csv", ""), R, EmptyEventLogError, r"is empty"),
    ("read/csv-header-only", text_file("ev.csv", "user_id,timestamp,event\n"), R, EmptyEventLogError, r"no rows"),
    ("read/parquet-junk", text_file("ev.parquet", "PAR1 nope"), R, ColumnTypeError, r"cannot be read as Parquet"),
    # ------------------------------------------------------------------ sessionize
    ("sessionize/bare-number", lambda t: log(), lambda d: S(d, timeout=1800), ParameterError,
     r"`timeout`=1800 is a bare number.*'1800s'"),
    ("sessionize/bare-number-str", lambda t: log(), lambda d: S(d, timeout="1800"), ParameterError, r"bare number"),
    ("sessionize/not-a-duration", lambda t: log(), lambda d: S(d, timeout="half an hour"), ParameterError,
     r"not a duration funnelkit understands"),
    ("sessionize/overflowing-timeout", lambda t: log(), lambda d: S(d, timeout="1000000D"), ParameterError,
     r"longer than the longest timeout.*106,751 days"),
    ("sessionize/negative-max", lambda t: log(), lambda d: S(d, max_duration="-1h"), ParameterError,
     r"must be a positive duration"),
    ("sessionize/split-on-missing", lambda t: log(), lambda d: S(d, split_on="utm_campaing"), FunnelkitError,
     r"utm_campaing"),
    ("sessionize/bad-tz", lambda t: log(), lambda d: S(d, split_at_midnight=True, tz="Mars/Base"), ParameterError,
     r"Mars/Base"),
    ("sessionize/midnight-str", lambda t: log(), lambda d: S(d, split_at_midnight="yes"), ParameterError,
     r"split_at_midnight"),
    ("sessionize/not-a-log", lambda t: log().drop(columns="event"), S, MissingColumnError, r"'event'"),
    ("sessionize/huge-timeout-text", lambda t: log(), lambda d: S(d, timeout=HUGE), ParameterError,
     r"… \(1000000 characters\) is not a duration"),
    # ------------------------------------------------------------------ Journey
    ("journey/empty", nothing, lambda _: J({}), JourneyError, r"."),
    ("journey/after-unknown", nothing, lambda _: J({"buy": "buy", "use": fk.after("buyy", "view")}),
     UnknownStageError, r"buyy"),
    ("journey/stage-int", nothing, lambda _: J({"buy": 3}), JourneyError, r"buy"),
    ("journey/check-events-typo", nothing, lambda _: J({"v": "view", "b": "purchse"}).check_events(
        ["view", "purchase"], on_unknown="raise") if "on_unknown" in J.check_events.__code__.co_varnames
        else J({"v": "view", "b": "purchse"}).assign_stages(log(), on_unknown="raise"), UnknownEventError, r"purchse"),
    # ------------------------------------------------------------------ funnel
    ("funnel/empty-steps", lambda t: log(), lambda d: F(d, []), JourneyError, r"."),
    ("funnel/typo-raise", lambda t: log(), lambda d: F(d, ["view", "crat"], on_unknown="raise"), UnknownEventError,
     r"'crat'.*'cart'"),
    ("funnel/typo-warn", lambda t: log(), lambda d: F(d, ["view", "crat"]), Warns(FunnelkitWarning), r"crat"),
    ("funnel/window-bare", lambda t: log(), lambda d: F(d, STEPS, window=3600), ParameterError, r"bare number"),
    ("funnel/window-100000D", lambda t: log(), lambda d: F(d, STEPS, window="100000D"), ParameterError,
     r"longer than the longest window funnelkit accepts, 36,500 days.*'36500D'.*window=None"),
    ("funnel/window-1000000D", lambda t: log(), lambda d: F(d, STEPS, window="1000000D"), ParameterError,
     r"longer than the longest window.*1,000,000 days"),
    ("funnel/window-months", lambda t: log(), lambda d: F(d, STEPS, window="3M"), ParameterError,
     r"Months and years have no fixed length"),
    ("funnel/bad-mode", lambda t: log(), lambda d: F(d, STEPS, mode="strcit"), ParameterError, r"Did you mean 'strict'"),
    ("funnel/by-missing", lambda t: log(), lambda d: F(d, STEPS, by="chanel"), MissingColumnError,
     r"'chanel' \(needed for by='chanel'\).*closest match: 'channel'"),
    ("funnel/by-mixed-types", with_cols(tier=lambda d: pd.Series([1, "1"] * (len(d) // 2), dtype=object)),
     lambda d: F(d, STEPS, by="tier"), ColumnTypeError, r"'tier'.*mixes values of different types.*1 \(int\).*'1' \(str\)"),
    ("funnel/by-dict", with_cols(meta=lambda d: [{"plan": "pro"}] * len(d)), lambda d: F(d, STEPS, by="meta"),
     ColumnTypeError, r"'meta'.*holds dict values.*\.str\.get"),
    ("funnel/by-struct-parquet", parquet(lambda: log(meta=lambda d: [{"plan": "pro"}] * len(d))),
     lambda p: F(p, STEPS, by="meta"), ColumnTypeError, r"'meta'.*holds dict values"),
    ("funnel/memory-budget-frame", lambda t: log(), lambda d: F(d, STEPS, memory_budget="1GB"), ParameterError,
     r"memory_budget"),
    ("funnel/memory-budget-text", parquet(log), lambda p: F(p, STEPS, memory_budget="lots"), ParameterError,
     r"`memory_budget`='lots'"),
    ("funnel/start-not-a-date", lambda t: log(), lambda d: F(d, STEPS, start="someday"), ParameterError,
     r"`start`='someday' is not a date"),
    ("funnel/huge-step-typo", lambda t: log(), lambda d: F(d, ["view", HUGE], on_unknown="raise"),
     UnknownEventError, r"no event matching"),  # fixed in journey/stages.py (was a strict xfail)
    ("funnel/session-without-sessions", lambda t: log(), lambda d: F(d, STEPS, unit="session"), MissingColumnError,
     r"sessionize"),
    ("funnel/path-beyond-2262", parquet(far_arrow), lambda p: F(p, ["view", "buy"]), TimestampError,
     r"outside the range funnelkit supports"),
    ("funnel/duplicates-in-path", parquet(lambda: pd.concat([log(), log().iloc[[0]]], ignore_index=True)),
     lambda p: F(p, STEPS), Warns(DuplicateEventsWarning), r"1 rows of .* repeat an earlier row.*dedupe=True"),
    ("funnel/step-named-level", lambda t: log(),
     lambda d: fk.time_between(F(d, J({"level": "view", "excluded": "cart"}))) is not None
     and list(F(d, J({"level": "view", "excluded": "cart"})).units.columns).count("level") == 1,
     True, r"."),  # fixed in funnel.py (was a strict xfail)
    ("funnel/missing-label-collides", with_cols(channel=lambda d: ["(missing)", None] * (len(d) // 2)),
     lambda d: F(d, STEPS, by="channel", attribution="step:1").breakdown["channel"].nunique(), 2, r"."),  # fixed in funnel.py
    # ------------------------------------------------------------------ experiment
    ("experiment/variant-missing", lambda t: log(), lambda d: E(d, STEPS, variant_col="varaint", control="A"),
     MissingColumnError, r"'varaint'.*closest match: 'variant'"),
    ("experiment/control-absent", lambda t: log(), lambda d: E(d, STEPS, variant_col="variant", control="C"),
     FunnelkitError, r"'C'"),
    ("experiment/mixed-variant", with_cols(variant=lambda d: pd.Series([1, "1"] * (len(d) // 2), dtype=object)),
     lambda d: E(d, STEPS, variant_col="variant", control=1), ColumnTypeError, r"'variant'.*mixes values"),
    ("experiment/dict-variant", with_cols(variant=lambda d: [{"arm": "A"}] * len(d)),
     lambda d: E(d, STEPS, variant_col="variant", control="A"), ColumnTypeError, r"holds dict values"),
    ("experiment/window-bad", lambda t: log(), lambda d: E(d, STEPS, variant_col="variant", control="A", window="soon"),
     ParameterError, r"not a duration"),
    ("experiment/alpha-str", lambda t: log(), lambda d: E(d, STEPS, variant_col="variant", control="A", alpha="x"),
     ParameterError, r"alpha"),
    ("experiment/bad-correction", lambda t: log(), lambda d: E(d, STEPS, variant_col="variant", control="A",
                                                               correction="bonferoni"), ParameterError, r"correction"),
    # ------------------------------------------------------------------ time_between
    ("time_between/not-events", nothing, lambda _: fk.time_between(42, STEPS), ColumnTypeError, r"int"),
    ("time_between/bad-quantile", lambda t: log(), lambda d: fk.time_between(d, STEPS, quantiles=[1.5]),
     ParameterError, r"quantile"),
    ("time_between/window-bare", lambda t: log(), lambda d: fk.time_between(d, STEPS, window=60), ParameterError,
     r"bare number"),
    ("time_between/typo-raise", lambda t: log(), lambda d: fk.time_between(d, ["view", "byu"], on_unknown="raise"),
     UnknownEventError, r"'byu'"),
    # ------------------------------------------------------------------ reports
    ("report/missing-dir", lambda t: log(), lambda d: F(d, STEPS).report("/nonexistent_funnelkit_dir/missing_dir/x.html"),
     FunnelkitError, r"missing_dir"),
    # ------------------------------------------------------------------ CLI
    ("cli/missing-file", cli("funnel", "{tmp}/nope.parquet", "--steps", "view,buy"), None, Exit2, r"nope\.parquet"),
    ("cli/window-overflow", cli("funnel", "{log}", "--steps", "view,buy", "--window", "100000D"), None, Exit2,
     r"36,500 days"),
    ("cli/bad-window", cli("funnel", "{log}", "--steps", "view,buy", "--window", "soon"), None, Exit2,
     r"not a duration"),
    ("cli/by-missing", cli("funnel", "{log}", "--steps", "view,buy", "--by", "chanel"), None, Exit2, r"chanel"),
    ("cli/bad-encoding", cli("funnel", "{semi}", "--steps", "view", "--encoding", "nope-enc"), None, Exit2,
     r"nope-enc"),
    ("cli/semicolon-forced-comma", cli("funnel", "{semi}", "--steps", "view", "--sep", ","), None, Exit2,
     r"semicolon"),
    ("cli/sessionize-bare-timeout", cli("sessionize", "{log}", "{tmp}/out.parquet", "--timeout", "1800"), None, Exit2, r"1800"),
    ("cli/memory-budget-text", cli("funnel", "{log}", "--steps", "view,buy", "--memory-budget", "lots"), None, Exit2,
     r"lots"),
]


def _check_message(text: str, fragment: str) -> None:
    assert re.search(fragment, text, flags=re.S), f"message {text[:500]!r} lacks {fragment!r}"
    assert len(text) < 5000, f"message of {len(text)} characters"


@pytest.mark.parametrize("name, make, call, expected, fragment",
                         [pytest.param(*c, id=c[0]) if type(c) is tuple else c for c in CASES])
def test_bad_input(name, make, call, expected, fragment, tmp_path, capsys):
    obj = make(tmp_path)
    snapshot = obj.copy(deep=True) if isinstance(obj, pd.DataFrame) else None
    attrs = dict(obj.attrs) if isinstance(obj, pd.DataFrame) else None
    try:
        if expected is Exit2:
            rc = obj  # make() ran the command (argparse errors exit 2 as well)
            err = capsys.readouterr().err
            assert rc == 2, f"exit status {rc}, stderr {err!r}"
            assert err.count("\n") <= 2 and "Traceback" not in err
            _check_message(err, fragment)
        elif isinstance(expected, Warns):
            with warnings.catch_warnings(record=True) as rec:
                warnings.simplefilter("always")
                call(obj)
            got = [w for w in rec if issubclass(w.category, expected.category)]
            assert got, f"no {expected!r}; got {[str(w.message)[:200] for w in rec]}"
            _check_message(str(got[0].message), fragment)
        elif isinstance(expected, type) and issubclass(expected, BaseException):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with pytest.raises(expected) as exc:
                    call(obj)
            assert isinstance(exc.value, FunnelkitError), f"{type(exc.value).__name__} is not a FunnelkitError"
            _check_message(str(exc.value), fragment)
        else:  # a value the call must return (cases that are not errors)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                assert call(obj) == expected
    finally:
        if snapshot is not None:
            assert obj.equals(snapshot), "the caller's frame was modified"
            assert list(obj.columns) == list(snapshot.columns) and (obj.dtypes == snapshot.dtypes).all()
            assert dict(obj.attrs) == attrs


def test_corpus_size():
    assert len(CASES) >= 80


def test_window_7d_has_no_dependency_warning():
    """window='7d' (and 'H', 'T', 'S' spellings) parse without pandas' FutureWarnings (issue 16)."""
    ev = log()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for w in ("7d", "7D", "1H", "30T", "10S", "1h30min", "2W", "1.5h"):
            fk.funnel(ev, STEPS, window=w)
