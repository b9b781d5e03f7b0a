"""The command line's options, help texts and examples (private).

Flags for keywords that the library may not have yet (``--dedupe``, ``--sep``,
``--encoding``, ``--tmp-dir``) are added only when the keyword exists
(:func:`keyword_exists`): the command line never offers a flag that does nothing.
"""

from __future__ import annotations

import argparse
import inspect
from typing import Any, Callable

__all__ = ["build_parser", "keyword_exists", "OPTIONAL_KEYWORDS"]

#: flag -> (module, function, keyword) wired only when the keyword exists.
OPTIONAL_KEYWORDS: dict[str, tuple[str, str, str]] = {
    "--dedupe": ("funnelkit.io.read", "read_events", "dedupe"),
    "--sep": ("funnelkit.io.read", "read_events", "sep"),
    "--encoding": ("funnelkit.io.read", "read_events", "encoding"),
    "--tmp-dir": ("funnelkit.analyses.funnel", "funnel", "tmp_dir"),
}

_FMT = argparse.RawDescriptionHelpFormatter

_DURATIONS = ("Durations in CSV and Parquet output are numbers of seconds, in columns whose name ends "
              "in _s (e.g. median_time_from_previous_s).")

EPILOG_MAIN = """\
examples:
  funnelkit report --out report.html            the A/B report of the bundled sample
  funnelkit journey init journey.toml           a commented journey file to edit
  funnelkit funnel events.parquet --journey journey.toml
  funnelkit paths events.parquet --steps landing,product_view,purchase --dropoff 2
  funnelkit retention events.parquet --period W
  funnelkit COMMAND --help                      options and examples of a command

Bad arguments or data end with one line on stderr and exit status 2 (--debug: the traceback).
"""

EPILOG_REPORT = """\
examples:
  funnelkit report --out report.html
      the A/B report of the bundled 'shop' sample (variant column 'variant', control 'A')
  funnelkit report events.parquet --journey journey.toml --out funnel.html
      the funnel report of your log (no --variant-col: no experiment)
  funnelkit report events.parquet --journey journey.toml --variant-col variant --control A \\
      --window 7D --lang es --out informe.html
      the experiment report, in Spanish
  funnelkit report events.csv --user-col uid --time-col ts --event-col name --tz Europe/Madrid \\
      --steps landing,product_view,purchase --out report.html
  funnelkit report --metric 'revenue=sum:order_value@purchase' --metric 'orders=count:purchase' \\
      --metric 'aov=ratio:revenue/orders' --out report.html
      the sample's A/B report with revenue per user, orders per user and average order value

The page holds the funnel (or the experiment), the conversion trend and the journey map
(rows: --touchpoint, default 'channel' when the log has it). Experiment options (--control,
--alpha, --correction, --sequential, --metric) need --variant-col.
"""

EPILOG_FUNNEL = f"""\
examples:
  funnelkit funnel --steps landing,product_view,purchase --window 1D
      the bundled sample, three steps
  funnelkit funnel events.parquet --journey journey.toml --by channel --format csv > funnel.csv
  funnelkit funnel events.csv --user-col uid --time-col ts --event-col name --tz UTC \\
      --steps landing,purchase --out funnel.parquet

{_DURATIONS}
"""

EPILOG_SESSIONIZE = f"""\
examples:
  funnelkit sessionize events.parquet sessions.parquet --timeout 30min
  funnelkit sessionize events.csv sessions.csv --user-col user_pseudo_id --time-col event_ts \\
      --event-col event_name --tz Europe/Madrid --split-at-midnight

The output has every input row and column, under the input's own column names
(--user-col, --time-col, --event-col), plus the session id column (--session-col).
Timestamps are written as UTC instants. {_DURATIONS}
"""

EPILOG_JOURNEY_INIT = """\
examples:
  funnelkit journey init journey.toml
      the five-stage journey with the bundled sample's events (runs on the sample as written)
  funnelkit journey init --preset digital_four --lang es my_journey.toml

Stage keys: name, label_en, label_es (English and Spanish labels; there is no bare
`label`), events, regex, where, after, repeat, rules. The template explains each.
"""


def keyword_exists(flag: str) -> bool:
    """Whether the library keyword behind an optional ``flag`` exists (``inspect.signature``)."""
    import importlib

    module, func, kw = OPTIONAL_KEYWORDS[flag]
    try:
        f: Callable[..., Any] = getattr(importlib.import_module(module), func)
        return kw in inspect.signature(f).parameters
    except Exception:  # pragma: no cover - a module being edited
        return False


def _add_input_args(p: argparse.ArgumentParser, *, events_optional: bool = True) -> None:
    if events_optional:
        p.add_argument("events", nargs="?", default=None, metavar="EVENTS",
                       help="event log: a Parquet file or directory, or a CSV/TSV file "
                            "(default: the bundled 'shop' sample)")
    g = p.add_argument_group("reading the event log")
    g.add_argument("--user-col", default=None, metavar="COL", help="column with the user id (default: user_id)")
    g.add_argument("--time-col", default=None, metavar="COL", help="column with the timestamp (default: timestamp)")
    g.add_argument("--event-col", default=None, metavar="COL", help="column with the event name (default: event)")
    g.add_argument("--tz", default=None, metavar="ZONE",
                   help="IANA time zone of naive timestamps, e.g. Europe/Madrid or UTC")
    g.add_argument("--time-unit", default=None, choices=["s", "ms", "us", "ns"],
                   help="unit of timestamps written as epoch numbers (seconds, milli-, micro-, nanoseconds)")
    g.add_argument("--dropna", action="store_true",
                   help="drop rows missing a user, time or event (counted and reported on stderr)")
    if keyword_exists("--dedupe"):
        g.add_argument("--dedupe", action="store_true",
                       help="drop exact duplicate rows (counted and reported on stderr)")
    if keyword_exists("--sep"):
        g.add_argument("--sep", default=None, metavar="CHAR",
                       help="field separator of a CSV file (default: detected from the header line: "
                            "',', ';', tab or '|'; tab for .tsv)")
    if keyword_exists("--encoding"):
        g.add_argument("--encoding", default=None, metavar="NAME",
                       help="text encoding of a CSV file, e.g. latin-1 (default: utf-8)")


_ATTRIBUTIONS = ("first_touch", "last_touch", "all_events", "first_touch_unit", "last_touch_unit")


def _attribution(value: str) -> str:
    if value in _ATTRIBUTIONS or (value.startswith("step:") and value[5:].isdigit()):
        return value
    raise argparse.ArgumentTypeError(f"{value!r}: use one of {', '.join(_ATTRIBUTIONS)} or step:N (e.g. step:2)")


def _add_funnel_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("the funnel")
    ex = g.add_mutually_exclusive_group()
    ex.add_argument("--journey", default=None, metavar="TOML",
                    help="journey file (TOML; write one with: funnelkit journey init journey.toml); "
                         "default for the sample: its five-stage journey")
    ex.add_argument("--steps", default=None, metavar="A,B,C",
                    help="comma-separated event names, e.g. landing,product_view,purchase")
    g.add_argument("--window", default="7D", metavar="DURATION",
                   help="conversion window: 30min, 12h, 1D, 7D... or 'none' for no limit (default: 7D)")
    g.add_argument("--mode", default="ordered", choices=["ordered", "strict", "uninterrupted", "any_order"],
                   help="ordered: steps in order, other events allowed between them (default); strict: "
                        "PostHog's strict funnel, only repeats of the step reached may come between steps; "
                        "uninterrupted: ClickHouse windowFunnel's strict_order; any_order: every step "
                        "within the window")
    g.add_argument("--window-from", default="entry", choices=["entry", "previous"],
                   help="measure the window from the first step (entry, default) or from the previous step")
    g.add_argument("--unit", default=None, choices=["user", "session"],
                   help="what converts: a user (default) or a session (needs a session_id column: "
                        "funnelkit sessionize)")
    g.add_argument("--by", default=None, metavar="COL",
                   help="break the funnel down by this property column (first touch)")
    g.add_argument("--attribution", default=None, type=_attribution, metavar="HOW",
                   help="with --by: the value on the reported attempt's first step event (first_touch, "
                        "default) or last one up to the deepest step (last_touch), every value on a step "
                        "event (all_events: groups need not sum to the total), or the unit's first/last "
                        "value on any event (first_touch_unit, last_touch_unit: the channel that brought "
                        "the user); step:N reads step N's event")
    g.add_argument("--on-unknown", default=None, choices=["warn", "raise"],
                   help="a step no event matches: count zero with a warning (warn; the default for "
                        "--journey) or fail (raise; the default for --steps, where it is likely a typo)")
    c = p.add_argument_group("ClickHouse windowFunnel options (ordered or uninterrupted mode)")
    c.add_argument("--reuse-events", action="store_true",
                   help="one event may fill several steps (windowFunnel's default; funnelkit's is strict_once)")
    c.add_argument("--increasing-times", action="store_true",
                   help="each step strictly later than the previous one (strict_increase)")
    c.add_argument("--stop-at-repeat", action="store_true",
                   help="stop when an event of the step just reached repeats (strict_deduplication)")
    c.add_argument("--out-of-order", default=None, choices=["stop", "ignore"],
                   help="with --mode uninterrupted: an earlier step's event after progress stops the chain "
                        "(stop, strict_order) or is ignored (ignore, allow_reentry)")
    g.add_argument("--lang", default=None, choices=["en", "es"],
                   help="language of labels and of the report (default: the journey's)")
    g.add_argument("--memory-budget", default=None, metavar="SIZE",
                   help="read a Parquet EVENTS file (columns user_id, timestamp, event) out of core, "
                        "holding at most about this much of its rows in memory (e.g. 256MB) and "
                        "spilling to a temporary directory beyond it")
    if keyword_exists("--tmp-dir"):
        g.add_argument("--tmp-dir", default=None, metavar="DIR",
                       help="directory for the spilled buckets (default: the system's temporary directory)")


def _progress_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-progress", action="store_true",
                   help="no progress on stderr (it shows only on a terminal, for runs longer than 2 s)")


def build_parser() -> argparse.ArgumentParser:
    """The ``funnelkit`` argument parser with its subcommands.

    Returns
    -------
    argparse.ArgumentParser
    """
    from .. import __version__
    from ..journey.stages import PRESETS
    from . import _commands as c

    parser = argparse.ArgumentParser(
        prog="funnelkit", formatter_class=_FMT, epilog=EPILOG_MAIN,
        description="Clickstream funnel analytics: drop-off, time between stages and A/B significance.",
    )
    parser.add_argument("--version", action="version", version=f"funnelkit {__version__}",
                        help="print the version and exit")
    parser.add_argument("--debug", action="store_true",
                        help="show tracebacks on errors, and other libraries' warnings")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    rep = sub.add_parser("report", help="write an HTML report (bundled sample by default)",
                         description="Write one self-contained HTML page: the experiment (with --variant-col) "
                                     "or the funnel, the conversion trend and the journey map.",
                         formatter_class=_FMT, epilog=EPILOG_REPORT)
    _add_input_args(rep)
    _add_funnel_args(rep)
    o = rep.add_argument_group("the report")
    o.add_argument("--out", default="report.html", metavar="FILE.html",
                   help="output HTML file (default: report.html); its directory must exist")
    o.add_argument("--touchpoint", default=None, metavar="COL",
                   help="property column for the journey map's rows (default: channel, when the log has it)")
    e = rep.add_argument_group("experiment (A/B test)")
    e.add_argument("--variant-col", default=None, metavar="COL",
                   help="column with each user's variant: writes the experiment report "
                        "(default for the sample: variant)")
    e.add_argument("--control", default=None, metavar="VALUE",
                   help="the control variant's value (needed with --variant-col; default for the sample: A)")
    e.add_argument("--alpha", type=float, default=None, metavar="P",
                   help="significance level (default: 0.05)")
    e.add_argument("--correction", default=None, choices=["holm", "bh", "none"],
                   help="multiple-comparison correction over steps x variants: holm (default), "
                        "bh (Benjamini-Hochberg) or none")
    e.add_argument("--sequential", action="store_true",
                   help="always-valid p-values: safe to look at the result every day")
    e.add_argument("--metric", action="append", default=None, metavar="NAME=KIND:WHAT[;OPT=V...]",
                   help="a per-user metric to compare, repeatable: sum:COL[@EVENT], mean:COL[@EVENT], "
                        "count:EVENT or ratio:NUM/DEN (of metrics named before); options role=guardrail, "
                        "margin=0.02, cap=500 or cap=0.99q, cuped=14D, window=7D, lower_is_better "
                        "(e.g. --metric 'revenue=sum:order_value@purchase;cuped=14D'; see docs/experiments.md)")
    _progress_arg(rep)
    rep.set_defaults(func=c.cmd_report)

    fun = sub.add_parser("funnel", help="print the funnel table (or write CSV / Parquet / HTML)",
                         description="Compute a funnel and print its table (one row per step; with --by, "
                                     "one row per group and step).",
                         formatter_class=_FMT, epilog=EPILOG_FUNNEL)
    _add_input_args(fun)
    _add_funnel_args(fun)
    o = fun.add_argument_group("output")
    o.add_argument("--format", default="text", choices=["text", "csv", "html"],
                   help="what to print on stdout: a text table (default), CSV (durations in seconds) or HTML")
    o.add_argument("--out", default=None, metavar="FILE",
                   help="write the table to FILE (.csv or .parquet; durations in seconds) instead of stdout")
    _progress_arg(fun)
    fun.set_defaults(func=c.cmd_funnel)

    ses = sub.add_parser("sessionize", help="add a session id column to an event file",
                         description="Split each user's events into sessions and write the log back with a "
                                     "session id column.",
                         formatter_class=_FMT, epilog=EPILOG_SESSIONIZE)
    ses.add_argument("input", metavar="INPUT", help="input event log (Parquet or CSV/TSV)")
    ses.add_argument("output", metavar="OUTPUT", help="output file (.parquet or .csv); not the input file")
    _add_input_args(ses, events_optional=False)
    s = ses.add_argument_group("sessions")
    s.add_argument("--timeout", default="30min", metavar="DURATION",
                   help="inactivity that ends a session (default: 30min)")
    s.add_argument("--max-duration", default=None, metavar="DURATION",
                   help="longest session, e.g. 4h (default: no limit)")
    s.add_argument("--split-at-midnight", action="store_true",
                   help="start a new session at local midnight (needs --tz)")
    s.add_argument("--split-on", default=None, metavar="COLS",
                   help="comma-separated columns whose change starts a session, e.g. channel")
    s.add_argument("--session-col", default="session_id", metavar="NAME",
                   help="name of the new column (default: session_id)")
    _progress_arg(ses)
    ses.set_defaults(func=c.cmd_sessionize)

    jou = sub.add_parser("journey", help="journey files: write a commented template",
                         description="Journey files (TOML) for --journey.", formatter_class=_FMT,
                         epilog=EPILOG_JOURNEY_INIT)
    jsub = jou.add_subparsers(dest="journey_command", metavar="ACTION")
    ini = jsub.add_parser("init", help="write a commented journey template",
                          description="Write a commented journey file with a preset's stages and labels.",
                          formatter_class=_FMT, epilog=EPILOG_JOURNEY_INIT)
    ini.add_argument("path", metavar="FILE.toml", help="the file to write (e.g. journey.toml)")
    ini.add_argument("--preset", default="five_stage", choices=list(PRESETS),
                     help="the stages and their English/Spanish labels (default: five_stage)")
    ini.add_argument("--lang", default="en", choices=["en", "es"],
                     help="the journey's language for labels (default: en)")
    ini.add_argument("--force", action="store_true", help="replace FILE if it exists")
    ini.set_defaults(func=c.cmd_journey_init)
    jou.set_defaults(func=c.cmd_journey_help, journey_parser=jou)

    from . import _paths, _retention

    _paths.register(sub)
    _retention.register(sub)
    return parser
