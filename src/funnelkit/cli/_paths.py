"""``funnelkit paths``: the top paths of a log, or the drop-off paths / frictions of a funnel step (private).

:func:`register` adds the subcommand to the ``funnelkit`` parser's subparsers and
:func:`run` executes it (``set_defaults(func=run)``); the reading and funnel options are
the other subcommands' (``funnelkit.cli._parser``), so they read the log and name the
funnel the same way.

    funnelkit paths events.parquet --length 5 --start landing
    funnelkit paths events.parquet --steps landing,product_view,purchase --dropoff 2
    funnelkit paths events.parquet --steps landing,product_view,purchase --frictions 2 --properties channel,device
"""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import ParameterError

__all__ = ["register", "run"]

EPILOG = """examples:
  funnelkit paths                                   top paths of the bundled sample
  funnelkit paths events.parquet --length 4 --start landing --top 10
  funnelkit paths events.parquet --attr-col page --format csv > paths.csv
  funnelkit paths events.parquet --steps landing,product_view,purchase --dropoff 2
  funnelkit paths events.parquet --steps landing,product_view,purchase --frictions 2 --properties channel
"""


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``paths`` to ``subparsers`` (from ``parser.add_subparsers()``); returns its parser."""
    from ._parser import _FMT, _add_funnel_args, _add_input_args, _progress_arg

    p = subparsers.add_parser(
        "paths", help="top paths, or where a funnel step's drop-outs went and what goes with dropping out",
        description="Print the most frequent paths of the log (tokens: events, or a property's values), or, for a "
                    "funnel (--steps/--journey), the paths after a step of the units that dropped out there "
                    "(--dropoff) or the events and property values associated with dropping out (--frictions).",
        formatter_class=_FMT, epilog=EPILOG)
    _add_input_args(p)
    _add_funnel_args(p)
    g = p.add_argument_group("paths")
    g.add_argument("--length", type=int, default=5, metavar="N", help="tokens per path (default: 5; drop-off: 3)")
    g.add_argument("--start", default=None, metavar="EVENT", help="paths start at the unit's first EVENT")
    g.add_argument("--end", default=None, metavar="EVENT", help="paths end at the unit's first EVENT")
    g.add_argument("--attr-col", default=None, metavar="COL", help="tokens are this property's values (e.g. page)")
    g.add_argument("--occurrences", default="first", choices=["first", "every"],
                   help="one path per unit (default) or one per anchor / every n-gram")
    g.add_argument("--no-collapse", action="store_true", help="keep immediate repeats of a token")
    g.add_argument("--top", type=int, default=20, metavar="N", help="rows kept, the rest as 'other' (default: 20)")
    f = g.add_mutually_exclusive_group()
    f.add_argument("--dropoff", default=None, metavar="STEP",
                   help="the funnel's step (1-based number or name): what its drop-outs did next, beside converters")
    f.add_argument("--frictions", default=None, metavar="STEP",
                   help="the funnel's step: candidates associated with dropping out (odds ratio, BH-adjusted p)")
    g.add_argument("--direction", default="after", choices=["after", "before"],
                   help="with --dropoff: the events after the step (default) or before it")
    g.add_argument("--properties", default=None, metavar="COLS",
                   help="with --frictions: comma-separated property columns whose values are candidates too")
    o = p.add_argument_group("output")
    o.add_argument("--format", default="text", choices=["text", "csv", "html"],
                   help="stdout: a text table (default), CSV (durations in seconds) or HTML")
    o.add_argument("--out", default=None, metavar="FILE", help="write the table to FILE (.csv or .parquet)")
    _progress_arg(p)
    p.set_defaults(func=run)
    return p


def _step(value: str) -> Any:
    return int(value) if value.strip().isdigit() else value


def run(args: argparse.Namespace) -> int:
    """Execute ``funnelkit paths`` (every option checked before the log is read)."""
    import funnelkit as fk

    from ..analyses.frictions import frictions
    from ..analyses.paths import dropoff_paths, paths
    from ._checks import output_file
    from ._commands import (_check_reading, _check_window, _engine_kwargs, _funnel_options, _load, _steps_of,
                            _unknown_kwargs, _window)
    from ._output import OUTPUT_SUFFIXES, emit

    sample = args.events is None
    _check_reading(args, args.events)
    funnel_mode = args.dropoff is not None or args.frictions is not None
    if args.by is not None:
        raise ParameterError("--by breaks a funnel down; paths have no breakdown: leave it out.")
    if not funnel_mode and (args.properties is not None or args.direction != "after"):
        raise ParameterError("--properties goes with --frictions STEP and --direction with --dropoff STEP.")
    if funnel_mode and any(v is not None for v in (args.start, args.end, args.attr_col)):
        raise ParameterError("--start/--end/--attr-col shape the top paths; with --dropoff/--frictions the "
                             "funnel's step is the anchor: leave them out.")
    if args.length < 1 or args.top < 1:
        raise ParameterError("--length and --top must be at least 1.")
    dest = output_file(args, args.events, OUTPUT_SUFFIXES)
    engine = _engine_kwargs(args)
    steps = None
    options: dict[str, Any] = {}
    if funnel_mode:
        _check_window(args.window)
        steps = _steps_of(args, sample=sample)
        options = {**_unknown_kwargs(args), **_funnel_options(args)}  # the funnel's mode flags
    events = _load(args, args.events, stream=True)
    unit = args.unit or "user"
    if funnel_mode:
        res = fk.funnel(events, steps, window=_window(args.window), mode=args.mode, window_from=args.window_from,
                        unit=unit, lang=args.lang, **engine, **options)
        if args.dropoff is not None:
            length = args.length if args.length != 5 else 3
            out = dropoff_paths(events, res, step=_step(args.dropoff), length=length, direction=args.direction,
                                top=args.top, **engine)
        else:
            props = [c.strip() for c in (args.properties or "").split(",") if c.strip()]
            out = frictions(events, res, step=_step(args.frictions), properties=props, **engine)
    else:
        out = paths(events, length=args.length, start=args.start, end=args.end, attr_col=args.attr_col, unit=unit,
                    collapse=not args.no_collapse, occurrences=args.occurrences, top=args.top, **engine)
    table = out.table.drop(columns=[c for c in ("tokens",) if c in out.table.columns])

    def text() -> str:
        import pandas as pd

        with pd.option_context("display.width", 200, "display.max_columns", 30, "display.max_colwidth", 80):
            return table.to_string(index=False)

    emit(table, dest, args.format, html=out._repr_html_, text=text)
    return 0
