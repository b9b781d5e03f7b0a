"""The ``funnelkit`` command line: the main jobs of the library from a shell.

``funnelkit report``      the HTML experiment report (or funnel report without --variant-col);
                          the bundled sample by default. The command computes the results
                          (experiment or funnel, conversion trend, journey map) and hands
                          them to :mod:`funnelkit.report`, which only presents them
``funnelkit funnel``      the funnel table in the terminal (or CSV / HTML)
``funnelkit sessionize``  add session ids to an event file

Every subcommand has ``--help``. Bad arguments or bad data end with a one-line
message and exit status 2 (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

__all__ = ["main", "build_parser"]


def _add_input_args(p: argparse.ArgumentParser, *, events_optional: bool = True) -> None:
    if events_optional:
        p.add_argument(
            "events",
            nargs="?",
            default=None,
            help="event log: Parquet file or directory, or CSV (default: the bundled 'shop' sample)",
        )
    p.add_argument("--user-col", default="user_id", help="column with the user id (default: user_id)")
    p.add_argument("--time-col", default="timestamp", help="column with the timestamp (default: timestamp)")
    p.add_argument("--event-col", default="event", help="column with the event name (default: event)")
    p.add_argument("--tz", default=None, help="time zone of naive timestamps, e.g. Europe/Madrid")
    p.add_argument(
        "--time-unit", default=None, choices=["s", "ms", "us", "ns"], help="unit of epoch-number timestamps"
    )
    p.add_argument("--dropna", action="store_true", help="drop rows with a missing user, time or event (reported)")


def _add_funnel_args(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--journey", default=None, help="journey definition (TOML); default: the sample's journey")
    g.add_argument("--steps", default=None, help="comma-separated event names, e.g. landing,product_view,purchase")
    p.add_argument("--window", default="7D", help="conversion window, e.g. 30min, 1D, 7D, or 'none' (default: 7D)")
    p.add_argument("--mode", default="ordered", choices=["ordered", "strict", "any_order"])
    p.add_argument("--window-from", default="entry", choices=["entry", "previous"])
    p.add_argument("--unit", default="user", choices=["user", "session"])
    p.add_argument("--by", default=None, help="break the funnel down by this property column")
    p.add_argument("--lang", default=None, choices=["en", "es"], help="language of labels (default: the journey's)")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="funnelkit",
        description="Clickstream funnel analytics: drop-off, time between stages and A/B significance.",
    )
    parser.add_argument("--version", action="version", version=f"funnelkit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    rep = sub.add_parser("report", help="write an HTML report (bundled sample by default)")
    _add_input_args(rep)
    _add_funnel_args(rep)
    rep.add_argument("--out", default="report.html", help="output HTML file (default: report.html)")
    rep.add_argument(
        "--variant-col",
        default=None,
        help="column with the A/B variant: writes the experiment report (default for the sample: variant)",
    )
    rep.add_argument("--control", default=None, help="the control variant (default for the sample: A)")
    rep.add_argument("--alpha", type=float, default=0.05, help="significance level (default: 0.05)")
    rep.add_argument("--correction", default="holm", choices=["holm", "bh", "none"])
    rep.add_argument("--sequential", action="store_true", help="always-valid p-values (safe for daily looks)")
    rep.add_argument("--touchpoint", default=None, help="property for the journey map (default: channel if present)")
    rep.add_argument("--no-progress", action="store_true", help="no progress messages on stderr")
    rep.set_defaults(func=_cmd_report)

    fun = sub.add_parser("funnel", help="print the funnel table")
    _add_input_args(fun)
    _add_funnel_args(fun)
    fun.add_argument("--format", default="text", choices=["text", "csv", "html"], help="output format")
    fun.set_defaults(func=_cmd_funnel)

    ses = sub.add_parser("sessionize", help="add a session id column to an event file")
    ses.add_argument("input", help="input event log (Parquet or CSV)")
    ses.add_argument("output", help="output file (.parquet or .csv)")
    _add_input_args(ses, events_optional=False)
    ses.add_argument("--timeout", default="30min", help="inactivity timeout (default: 30min)")
    ses.add_argument("--max-duration", default=None, help="maximum session length, e.g. 4h")
    ses.add_argument("--split-at-midnight", action="store_true", help="start a new session at local midnight (needs --tz)")
    ses.add_argument("--split-on", default=None, help="comma-separated columns whose change starts a session")
    ses.add_argument("--session-col", default="session_id", help="name of the new column")
    ses.set_defaults(func=_cmd_sessionize)
    return parser


# --------------------------------------------------------------------------- helpers


def _load(args: argparse.Namespace, source: str | None) -> Any:
    import funnelkit as fk

    if source is None:
        return fk.load_sample("shop")
    return fk.read_events(
        Path(source),
        user_col=args.user_col,
        time_col=args.time_col,
        event_col=args.event_col,
        tz=args.tz,
        time_unit=args.time_unit,
        dropna=args.dropna,
    )


def _steps(args: argparse.Namespace, sample: bool) -> Any:
    import funnelkit as fk

    if args.journey:
        return fk.Journey.from_toml(args.journey)
    if args.steps:
        steps = [s.strip() for s in args.steps.split(",") if s.strip()]
        if not steps:
            from .errors import JourneyError

            raise JourneyError("--steps lists no event; write e.g. --steps landing,product_view,purchase")
        return steps
    if sample:
        return fk.datasets.shop_journey(lang=args.lang or "en")
    from .errors import JourneyError

    raise JourneyError("With your own EVENTS, say which funnel to compute: --journey journey.toml or --steps a,b,c")


def _window(value: str) -> Any:
    return None if value.strip().lower() in ("none", "inf", "") else value


def _funnel(args: argparse.Namespace):
    import funnelkit as fk

    events = _load(args, args.events)
    steps = _steps(args, sample=args.events is None)
    return fk.funnel(
        events,
        steps,
        window=_window(args.window),
        mode=args.mode,
        window_from=args.window_from,
        unit=args.unit,
        by=args.by,
        lang=args.lang,
    )


def _analyses(events: Any, journey: Any, touchpoint: str | None, funnel_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The report's trend and journey map, computed on the same funnel (``trend=``, ``journey_map=``).

    Their warnings were already shown by the main computation on the same events, so
    they are not repeated. Without the touchpoint column the map is left out (said on stderr).
    """
    import warnings

    from .analyses.journey_map import journey_map
    from .analyses.trends import trend

    out: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["trend"] = trend(events, journey, **funnel_kwargs)
        if touchpoint is not None and touchpoint in events.columns:
            out["journey_map"] = journey_map(events, journey, touchpoint=touchpoint, **funnel_kwargs)
    if touchpoint is not None and "journey_map" not in out:
        print(f"funnelkit: the event log has no column {touchpoint!r}: the journey map is left out "
              "(choose its rows with --touchpoint COLUMN).", file=sys.stderr)
    return out


def _cmd_report(args: argparse.Namespace) -> int:
    import funnelkit as fk

    from ._progress import Steps

    sample = args.events is None
    variant_col = args.variant_col or ("variant" if sample else None)
    control = args.control if args.control is not None else ("A" if sample else None)
    if variant_col is not None and control is None:
        from .errors import ParameterError

        raise ParameterError("--variant-col needs --control (the control variant's value, e.g. --control A)")
    steps = Steps(4, enabled=not args.no_progress and sys.stderr.isatty())
    steps("reading the bundled sample" if sample else f"reading {args.events}")
    events = _load(args, args.events)
    journey = _steps(args, sample=sample)
    touchpoint = args.touchpoint or ("channel" if "channel" in events.columns else None)
    common = dict(window=_window(args.window), mode=args.mode, window_from=args.window_from, lang=args.lang)
    if variant_col is not None:
        steps("comparing the variants")
        exp = fk.experiment(events, journey, variant_col=variant_col, control=control, alpha=args.alpha,
                            correction=args.correction, sequential=args.sequential, **common)
        steps("computing the conversion trend and the journey map")
        analyses = _analyses(events, journey, touchpoint or "channel", common)
        steps("writing the report")
        out = exp.report(args.out, lang=args.lang or "en", **analyses)
    else:
        steps("computing the funnel")
        res = fk.funnel(events, journey, unit=args.unit, by=args.by, **common)
        steps("computing the conversion trend and the journey map")
        analyses = _analyses(events, journey, touchpoint or args.by, dict(common, unit=args.unit))
        steps("writing the report")
        out = res.report(args.out, lang=args.lang, **analyses)
    steps.done()
    print(f"funnelkit: wrote {out}", file=sys.stderr)
    return 0


def _cmd_funnel(args: argparse.Namespace) -> int:
    res = _funnel(args)
    if args.format == "csv":
        (res.breakdown if res.breakdown is not None else res.table).to_csv(sys.stdout, index=False)
    elif args.format == "html":
        sys.stdout.write(res._repr_html_() + "\n")
    else:
        print(repr(res))
        if res.breakdown is not None:
            from .analyses.funnel import _format_table

            print()
            print(_format_table(res.breakdown.drop(columns=["label"])).to_string(index=False))
    return 0


def _cmd_sessionize(args: argparse.Namespace) -> int:
    import funnelkit as fk

    events = _load(args, args.input)
    split_on = [c.strip() for c in args.split_on.split(",")] if args.split_on else None
    out = fk.sessionize(
        events,
        timeout=args.timeout,
        max_duration=args.max_duration,
        split_at_midnight=args.split_at_midnight,
        tz=args.tz,
        split_on=split_on,
        session_col=args.session_col,
    )
    dest = Path(args.output)
    if dest.suffix.lower() == ".csv":
        out.to_csv(dest, index=False)
    elif dest.suffix.lower() in (".parquet", ".pq"):
        out.to_parquet(dest, index=False)
    else:
        from .errors import ParameterError

        raise ParameterError(f"Output {args.output!r}: use a .parquet or .csv file name.")
    n = int(out[args.session_col].nunique())
    print(f"funnelkit: {len(out)} events, {n} sessions -> {dest}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    from .errors import FunnelkitError

    try:
        return int(args.func(args) or 0)
    except (FunnelkitError, OSError) as exc:
        if args.debug:
            raise
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "user_col=" in msg or "time_col=" in msg or "event_col=" in msg:
            msg += " On the command line: --user-col, --time-col, --event-col."
        print(f"funnelkit: error: {msg}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `funnelkit funnel | head`
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:  # pragma: no cover
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
