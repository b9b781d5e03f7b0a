"""``funnelkit retention …``: the cohort table, curve or loyalty numbers from the command line.

:func:`register` adds the ``retention`` sub-command to an ``argparse`` sub-parsers object;
:func:`run` executes it and returns the exit status (0, or 2 with one line on stderr
for bad arguments or data). The main CLI wires both in.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["EPILOG", "register", "run"]

EPILOG = """\
examples:
  funnelkit retention --period W
      weekly retention of the bundled 'shop' sample (first event, any event)
  funnelkit retention events.parquet --start purchase --return purchase --period 7D --compare variant --control A
      repeat-purchase retention by variant, with Welch differences and Holm-adjusted p-values
  funnelkit retention events.parquet --period D --tz Europe/Madrid --kind bracket --brackets 0,1-7,8-30
  funnelkit retention --loyalty --event purchase --within 30D --format csv > loyalty.csv

Output (--show): the cohort table (default), the curve (complete cells only), the comparison
(with --compare), or with --loyalty the repeat rate, medians and Kaplan-Meier curve.
Cells with complete = False have not fully elapsed by the end of the data (censored).
"""


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``retention`` to ``subparsers`` (from ``ArgumentParser.add_subparsers()``)."""
    p = subparsers.add_parser("retention", help="cohort retention, repeat rate and time to the n-th purchase",
                              description="Cohort retention (N-period, unbounded, bracketed) and loyalty.",
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("events", nargs="?", help="event log (Parquet, CSV...); default: the bundled 'shop' sample")
    p.add_argument("--start", help="event that puts a unit in a cohort (default: its first event)")
    p.add_argument("--return", dest="returning", help="event that counts as a return (default: any event)")
    p.add_argument("--period", default="D", help="'h', 'D', 'W', 'M' (calendar) or a duration such as 7D")
    p.add_argument("--kind", default="n_period", choices=("n_period", "unbounded", "bracket"))
    p.add_argument("--brackets", help="with --kind bracket: offsets such as 0,1-7,8-30")
    p.add_argument("--cohort", default="first", choices=("first", "recurring"))
    p.add_argument("--cohort-period", choices=("h", "D", "W", "M"))
    p.add_argument("--tz", default="UTC", help="time zone of calendar periods (default UTC)")
    p.add_argument("--periods", type=int, help="last period offset kept")
    p.add_argument("--by", help="breakdown column (value at the cohort start)")
    p.add_argument("--compare", help="variant column: compare retention across its values")
    p.add_argument("--control", help="control value of --compare (default: the first by value)")
    p.add_argument("--correction", default="holm", choices=("holm", "bh", "none"))
    p.add_argument("--unit", default="user", choices=("user", "session"))
    p.add_argument("--memory-budget", help="spill beyond this size, e.g. 256MB")
    p.add_argument("--loyalty", action="store_true", help="repeat rate and time to the n-th --event instead")
    p.add_argument("--event", default="purchase", help="with --loyalty: the event counted (default purchase)")
    p.add_argument("--nth", type=int, default=2, help="with --loyalty: time to this occurrence (default 2)")
    p.add_argument("--within", default="30D", help="with --loyalty: repeat-rate horizon (default 30D)")
    p.add_argument("--show", default="table", choices=("table", "curve", "comparison", "repeat", "medians", "survival"))
    p.add_argument("--format", default="text", choices=("text", "csv", "json"))
    p.add_argument("--out", help="write here instead of stdout")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    p.set_defaults(func=run)
    return p


def _brackets(text: str | None) -> Any:
    from .errors import ParameterError

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
    from .errors import FunnelkitError, ParameterError

    try:
        import funnelkit as fk
        from .analyses.retention import loyalty, retention

        shows_loyalty = {"repeat", "medians", "survival"}
        if args.loyalty and args.show not in shows_loyalty | {"table"}:
            raise ParameterError(f"--show {args.show} is not a loyalty output; use repeat, medians or survival.")
        if not args.loyalty and args.show in shows_loyalty:
            raise ParameterError(f"--show {args.show} needs --loyalty.")
        if args.show == "comparison" and not args.compare:
            raise ParameterError("--show comparison needs --compare COLUMN.")
        events = fk.load_sample("shop") if args.events is None else args.events
        common = dict(by=args.by, compare=args.compare, control=args.control, correction=args.correction,
                      unit=args.unit, memory_budget=args.memory_budget)
        if args.loyalty:
            res = loyalty(events, event=args.event, nth=args.nth, within=args.within, **common)
            frame = {"table": res.repeat, "repeat": res.repeat, "medians": res.medians,
                     "survival": res.survival}[args.show]
        else:
            res = retention(events, start=args.start, returning=args.returning, period=args.period, kind=args.kind,
                            brackets=_brackets(args.brackets), cohort=args.cohort, cohort_period=args.cohort_period,
                            tz=args.tz, periods=args.periods, **common)
            frame = {"table": res.table, "curve": res.curve, "comparison": res.comparison}[args.show]
        if args.format == "csv":
            text = frame.to_csv(index=False)
        elif args.format == "json":
            text = frame.to_json(orient="records", date_format="iso", force_ascii=False) + "\n"
        else:
            text = frame.to_string(index=False) + "\n"
        if args.out:
            with open(args.out, "w", encoding="utf-8") as fh:
                fh.write(text)
        else:
            sys.stdout.write(text)
        return 0
    except (FunnelkitError, OSError) as exc:
        if getattr(args, "debug", False):
            raise
        sys.stderr.write(f"funnelkit retention: error: {exc}\n")
        return 2
