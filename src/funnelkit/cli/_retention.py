"""``funnelkit retention …``: the cohort table, curve or loyalty numbers from the command line (private).

:func:`register` adds the ``retention`` subcommand to the ``funnelkit`` parser; :func:`run`
executes it. It reads the log with the other subcommands' options (``--user-col``,
``--tz`` for naive timestamps, ``--dropna``...), checks every option and the output
path before the log is read, and leaves errors to :func:`funnelkit.cli.main` (one
line on stderr in the command line's terms, exit status 2).
"""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import ParameterError

__all__ = ["EPILOG", "register", "run"]

EPILOG = """\
examples:
  funnelkit retention --period W
      weekly retention of the bundled 'shop' sample (first event, any event)
  funnelkit retention events.parquet --start purchase --return purchase --period 7D --compare variant --control A
      repeat-purchase retention by variant, with Welch differences and Holm-adjusted p-values
  funnelkit retention events.parquet --period D --period-tz Europe/Madrid --kind bracket --brackets 0,1-7,8-30
  funnelkit retention --loyalty --event purchase --within 30D --format csv > loyalty.csv

Output (--show): the cohort table (default), the curve (complete cells only), the comparison
(with --compare), or with --loyalty the repeat rate, medians and Kaplan-Meier curve.
Cells with complete = False have not fully elapsed by the end of the data (censored).
Durations in CSV and Parquet output are numbers of seconds, in columns whose name ends in _s.
"""


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``retention`` to ``subparsers`` (from ``ArgumentParser.add_subparsers()``)."""
    from ._parser import _FMT, _add_input_args, _progress_arg

    p = subparsers.add_parser("retention", help="cohort retention, repeat rate and time to the n-th purchase",
                              description="Cohort retention (N-period, unbounded, bracketed) and loyalty.",
                              epilog=EPILOG, formatter_class=_FMT)
    _add_input_args(p)
    g = p.add_argument_group("retention")
    g.add_argument("--start", help="event that puts a unit in a cohort (default: its first event)")
    g.add_argument("--return", dest="returning", help="event that counts as a return (default: any event)")
    g.add_argument("--period", default="D",
                   help="calendar period h, D, W or M (in --period-tz), or a duration such as 7D (default: D)")
    g.add_argument("--kind", default="n_period", choices=("n_period", "unbounded", "bracket"),
                   help="n_period: returned in exactly period i (default); unbounded: in period i or later; "
                        "bracket: within each of --brackets")
    g.add_argument("--brackets", help="with --kind bracket: period offsets such as 0,1-7,8-30")
    g.add_argument("--cohort", default="first", choices=("first", "recurring"),
                   help="a unit's cohort: its first start (default) or every start (recurring)")
    g.add_argument("--cohort-period", choices=("h", "D", "W", "M"),
                   help="group cohorts by this calendar period (default: the --period)")
    g.add_argument("--period-tz", default="UTC", metavar="ZONE",
                   help="time zone of calendar periods and cohorts, e.g. Europe/Madrid (default: UTC)")
    g.add_argument("--periods", type=int, help="last period offset kept")
    g.add_argument("--by", help="breakdown column (the unit's value at its cohort start)")
    g.add_argument("--compare", metavar="COL", help="variant column: compare retention across its values")
    g.add_argument("--control", help="control value of --compare (default: the first value)")
    g.add_argument("--correction", default="holm", choices=("holm", "bh", "none"),
                   help="multiple-comparison correction over periods x variants (default: holm)")
    g.add_argument("--unit", default="user", choices=("user", "session"),
                   help="what returns: a user (default) or a session (needs a session_id column)")
    g.add_argument("--memory-budget", metavar="SIZE", help="spill beyond this size, e.g. 256MB")
    g.add_argument("--tmp-dir", metavar="DIR",
                   help="directory for the spilled buckets (default: the system's temporary directory)")
    y = p.add_argument_group("loyalty")
    y.add_argument("--loyalty", action="store_true", help="repeat rate and time to the n-th --event instead")
    y.add_argument("--event", default="purchase", help="with --loyalty: the event counted (default purchase)")
    y.add_argument("--nth", type=int, default=2, help="with --loyalty: time to this occurrence (default 2)")
    y.add_argument("--within", default="30D", help="with --loyalty: repeat-rate horizon (default 30D)")
    o = p.add_argument_group("output")
    o.add_argument("--show", default="table",
                   choices=("table", "curve", "comparison", "repeat", "medians", "survival"),
                   help="which table: table, curve, comparison (with --compare); repeat, medians, survival "
                        "(with --loyalty)")
    o.add_argument("--format", default="text", choices=("text", "csv", "json"),
                   help="stdout: a text table (default), CSV (durations in seconds) or JSON records")
    o.add_argument("--out", metavar="FILE", help="write the table to FILE (.csv or .parquet) instead of stdout")
    _progress_arg(p)
    p.set_defaults(func=run)
    return p


def _brackets(text: str | None) -> Any:
    if text is None:
        return None
    out = []
    for part in text.split(","):
        part = part.strip()
        try:
            a, _, b = part.partition("-")
            out.append((int(a), int(b) if b else int(a)))
        except ValueError:
            raise ParameterError(f"--brackets: {part!r} is not an offset or a range such as 1-7 "
                                 "(e.g. --brackets 0,1-7,8-30).") from None
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``funnelkit retention`` with parsed ``args``; the exit status."""
    from ..analyses.retention import loyalty, retention
    from ._checks import output_file
    from ._commands import _check_reading, _load
    from ._output import OUTPUT_SUFFIXES, emit

    _check_reading(args, args.events)
    shows_loyalty = {"repeat", "medians", "survival"}
    if args.loyalty and args.show not in shows_loyalty | {"table"}:
        raise ParameterError(f"--show {args.show} is not a loyalty output; use repeat, medians or survival.")
    if not args.loyalty and args.show in shows_loyalty:
        raise ParameterError(f"--show {args.show} needs --loyalty.")
    if args.show == "comparison" and not args.compare:
        raise ParameterError("--show comparison needs --compare COLUMN.")
    brackets = _brackets(args.brackets)
    dest = output_file(args, args.events, OUTPUT_SUFFIXES)
    events = _load(args, args.events, stream=True)
    common = dict(by=args.by, compare=args.compare, control=args.control, correction=args.correction,
                  unit=args.unit, memory_budget=args.memory_budget, tmp_dir=args.tmp_dir)
    if args.loyalty:
        res = loyalty(events, event=args.event, nth=args.nth, within=args.within, **common)
        frame = {"table": res.repeat, "repeat": res.repeat, "medians": res.medians,
                 "survival": res.survival}[args.show]
    else:
        res = retention(events, start=args.start, returning=args.returning, period=args.period, kind=args.kind,
                        brackets=brackets, cohort=args.cohort, cohort_period=args.cohort_period,
                        tz=args.period_tz, periods=args.periods, **common)
        frame = {"table": res.table, "curve": res.curve, "comparison": res.comparison}[args.show]
    emit(frame, dest, args.format, text=lambda: frame.to_string(index=False))
    return 0
