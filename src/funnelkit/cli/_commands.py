"""The subcommands: every check first, then the work (private).

Each command checks what it can without data (options, output path, journey file),
then reads the log, then computes. The library's functions do the work; the
commands only translate flags to keywords and results to files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .._progress import Steps, interactive
from ..errors import JourneyError, ParameterError
from ._checks import check_journey_file, check_output, check_same_file, output_file, refuse_without
from ._output import OUTPUT_SUFFIXES, emit, input_names, original_names, write_frame
from ._parser import keyword_exists

__all__ = ["cmd_funnel", "cmd_journey_help", "cmd_journey_init", "cmd_report", "cmd_sessionize"]

_READ_FLAGS = ("--user-col", "--time-col", "--event-col", "--tz", "--time-unit", "--dropna", "--dedupe", "--sep",
               "--encoding")
_CANONICAL = {"user_col": "user_id", "time_col": "timestamp", "event_col": "event"}


# --------------------------------------------------------------------------- shared steps


def _check_reading(args: argparse.Namespace, source: str | None) -> None:
    """With the bundled sample, the reading flags have nothing to read: refuse them."""
    if source is not None:
        return
    given = [f for f in _READ_FLAGS if getattr(args, f[2:].replace("-", "_"), None) not in (None, False)]
    if given:
        raise ParameterError(f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} to your own event "
                             "file: pass EVENTS (a Parquet or CSV file) before the options, or leave "
                             f"{'it' if len(given) == 1 else 'them'} out for the bundled sample.")


def _read_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kw: dict[str, Any] = {k: getattr(args, k) or v for k, v in _CANONICAL.items()}
    kw.update(tz=args.tz, time_unit=args.time_unit, dropna=args.dropna)
    for flag in ("--dedupe", "--sep", "--encoding"):
        dest = flag[2:]
        if keyword_exists(flag) and getattr(args, dest, None) not in (None, False):
            kw[dest] = getattr(args, dest)
    return kw


def _load(args: argparse.Namespace, source: str | None, *, stream: bool = False) -> Any:
    """The event log: the bundled sample, a frame read by ``read_events``, or, with
    ``--memory-budget``, the Parquet path itself (the engine reads it out of core).

    ``stream`` (report, funnel, paths, retention): a Parquet file or directory read as it is (no
    reading flag, units are users) is also passed as the path, so the engine reads only
    the columns it needs, block by block, as ``fk.funnel(path)`` does, instead of the
    whole log into memory first (10M events: about a third of the memory and time)."""
    import funnelkit as fk

    if getattr(args, "memory_budget", None) is not None:
        return _out_of_core_path(args, source)
    if source is None:
        return fk.load_sample("shop")
    if stream and _streams(args, source):
        return source
    return fk.read_events(Path(source), **_read_kwargs(args))


def _streams(args: argparse.Namespace, source: str | None) -> bool:
    """Whether :func:`_load` (with ``stream``) hands ``source`` to the engine as a path."""
    if source is None:
        return False
    if getattr(args, "memory_budget", None) is not None:
        return True
    return _is_parquet(Path(source)) and not _read_flags_given(args) and getattr(args, "unit", None) in (None, "user")


def _event_names(events: Any) -> set[str]:
    """The event names of the log: from a frame, or from the event column alone of a
    Parquet path (its dictionaries when it is dictionary-encoded)."""
    import pandas as pd

    if isinstance(events, pd.DataFrame):
        return set(events["event"].astype(str).unique())
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    col = ds.dataset(events, format="parquet", partitioning="hive").to_table(columns=["event"]).column(0)
    names: set[str] = set()
    for chunk in col.chunks:
        if pa.types.is_dictionary(chunk.type):
            chunk = chunk.dictionary
        names.update(str(v) for v in pc.unique(chunk).to_pylist() if v is not None)
    return names


def _is_parquet(p: Path) -> bool:
    return p.is_dir() or p.suffix.lower() in (".parquet", ".pq")


def _read_flags_given(args: argparse.Namespace) -> list[str]:
    """The reading flags (``--user-col``, ``--tz``, ``--dedupe``...) given on the command line."""
    return [f for f in _READ_FLAGS if getattr(args, f[2:].replace("-", "_"), None) not in (None, False)]


def _out_of_core_path(args: argparse.Namespace, source: str | None) -> str:
    """``--memory-budget``: the engine reads a Parquet file or directory block by block, with
    the canonical columns (user_id, timestamp, event); refuse what it cannot read that way."""
    if source is None:
        raise ParameterError("--memory-budget applies to your own Parquet file (EVENTS); the bundled sample "
                             "is already in memory: leave it out.")
    p = Path(source)
    if not _is_parquet(p):
        raise ParameterError(f"--memory-budget reads a Parquet file or directory out of core, not {source!r}: "
                             "convert the file to Parquet, or leave --memory-budget out.")
    given = _read_flags_given(args)
    if given:
        raise ParameterError(f"--memory-budget reads the Parquet file as it is, so {', '.join(given)} cannot "
                             "apply: write the file with the columns user_id, timestamp (with a time zone) "
                             "and event, or leave --memory-budget out.")
    return str(p)


def _steps_of(args: argparse.Namespace, sample: bool) -> Any:
    """The journey or the step list, checked before the log is read."""
    import funnelkit as fk

    if args.journey:
        return check_journey_file(args.journey)
    if args.steps is not None:
        steps = [s.strip() for s in args.steps.split(",") if s.strip()]
        if not steps:
            raise JourneyError("--steps lists no event; write e.g. --steps landing,product_view,purchase")
        return steps
    if sample:
        return fk.datasets.shop_journey(lang=args.lang or "en")
    raise JourneyError("With your own EVENTS, say which funnel to compute: --journey journey.toml "
                       "(write one with: funnelkit journey init journey.toml) or --steps a,b,c")


def _window(value: str) -> Any:
    return None if value.strip().lower() in ("none", "inf", "") else value


def _check_window(value: str) -> None:
    from .._params import parse_duration

    w = _window(value)
    if w is not None:
        parse_duration(w, name="window")


def _engine_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if args.memory_budget is not None:
        from .._params import parse_bytes

        parse_bytes(args.memory_budget, name="memory_budget")
        kw["memory_budget"] = args.memory_budget
    if keyword_exists("--tmp-dir") and getattr(args, "tmp_dir", None) is not None:
        tmp = Path(args.tmp_dir).expanduser()
        if not tmp.is_dir():
            raise ParameterError(f"--tmp-dir {args.tmp_dir!r} is not an existing directory.")
        kw["tmp_dir"] = tmp
    return kw


def _unknown_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """``--steps`` names events: one missing from the log is a typo, an error on the command line
    (``on_unknown="raise"``); a journey file's unknown names stay a warning. ``--on-unknown``
    chooses either way."""
    if getattr(args, "on_unknown", None) is not None:
        return {"on_unknown": args.on_unknown}
    if args.steps is not None:
        return {"on_unknown": "raise"}
    return {}


_CLICKHOUSE_FLAGS = ("--reuse-events", "--increasing-times", "--stop-at-repeat", "--out-of-order")


def _funnel_options(args: argparse.Namespace) -> dict[str, Any]:
    """``--attribution`` and the ClickHouse windowFunnel options, as fk.funnel keywords."""
    kw: dict[str, Any] = {}
    if getattr(args, "attribution", None) is not None:
        if args.by is None:
            raise ParameterError("--attribution needs --by COLUMN: it says which value of COLUMN a unit is "
                                 "counted under.")
        kw["attribution"] = args.attribution
    for flag in _CLICKHOUSE_FLAGS:
        dest = flag[2:].replace("-", "_")
        v = getattr(args, dest, None)
        if v not in (None, False):
            kw[dest] = v
    return kw


def _steps_enabled(args: argparse.Namespace) -> bool:
    return not args.no_progress and interactive()


# --------------------------------------------------------------------------- report


def _metrics(specs: list[str] | None) -> list[Any]:
    """``--metric`` texts parsed before any work (a ratio may name metrics given before it)."""
    from ..analyses.metrics import parse_metric_spec

    known: dict[str, Any] = {}
    for text in specs or ():
        try:
            m = parse_metric_spec(text, known=known)
        except ParameterError as exc:
            raise ParameterError(f"--metric {text!r}: {exc}") from None
        known[m.name] = m
    return list(known.values())


def cmd_report(args: argparse.Namespace) -> int:
    """``funnelkit report``: the experiment or funnel page with the trend and the journey map."""
    import funnelkit as fk

    from ..io.columns import log_columns

    sample = args.events is None
    _check_reading(args, args.events)
    variant_col = args.variant_col or ("variant" if sample else None)
    if not sample:
        refuse_without(args, "--variant-col", "--control", "--alpha", "--correction", "--sequential", "--metric",
                       why="they are options of the experiment report; without --variant-col the command "
                           "writes the funnel report")
    options = _funnel_options(args)
    if variant_col is not None:
        given = [f for f, v in (("--by", args.by), ("--unit", args.unit)) if v is not None]
        given += [f for f in _CLICKHOUSE_FLAGS + ("--on-unknown",) if getattr(args, f[2:].replace("-", "_"), None)
                  not in (None, False)]
        if given:
            raise ParameterError(
                f"{' and '.join(given)} cannot be combined with the experiment report (--variant-col"
                f"{'' if args.variant_col else ', implied for the sample'}): it compares the variants' users "
                "over the whole funnel; these options apply to the funnel report.")
    control = args.control if args.control is not None else ("A" if sample else None)
    if variant_col is not None and control is None:
        raise ParameterError("--variant-col needs --control (the control variant's value, e.g. --control A)")
    if args.alpha is not None and not 0 < args.alpha < 1:
        raise ParameterError(f"--alpha {args.alpha}: use a significance level between 0 and 1, e.g. 0.05.")
    out = check_output(args.out, flag="--out", suffixes=(".html", ".htm"))
    if args.events is not None:
        check_same_file(args.events, out, flag="--out")
    _check_window(args.window)
    metrics = _metrics(args.metric)
    journey = _steps_of(args, sample=sample)
    engine = _engine_kwargs(args)

    steps = Steps(4, enabled=_steps_enabled(args))
    steps("reading the bundled sample" if sample else f"reading {args.events}" if not _streams(args, args.events)
          else f"opening {args.events} (each analysis reads the columns it needs, block by block)")
    events = _load(args, args.events, stream=True)  # a Parquet path: each analysis reads what it needs
    columns = log_columns(events)
    if columns is None:  # not openable as Parquet here: read_events reads it, or says what is wrong
        events = fk.read_events(Path(args.events), **_read_kwargs(args))
        columns = [str(c) for c in events.columns]
    touchpoint = args.touchpoint or ("channel" if "channel" in columns else None)
    common = dict(window=_window(args.window), mode=args.mode, window_from=args.window_from, lang=args.lang)
    if variant_col is not None:
        steps("comparing the variants")
        exp = fk.experiment(events, journey, variant_col=variant_col, control=control,
                            alpha=0.05 if args.alpha is None else args.alpha,
                            correction=args.correction or "holm", sequential=args.sequential,
                            **({"metrics": metrics} if metrics else {}), **common, **engine)
        steps("computing the conversion trend, the journey map, drop-off paths and retention")
        analyses = _analyses(events, journey, touchpoint or "channel", common, columns, engine=engine)
        analyses.update(_journey_analyses(events, None, journey, common, touchpoint or "channel", columns,
                                          variant_col=variant_col, control=control, engine=engine))
        steps("writing the report")
        written = exp.report(out, lang=args.lang or "en", **analyses)
    else:
        unit = args.unit or "user"
        steps("computing the funnel")
        res = fk.funnel(events, journey, unit=unit, by=args.by, **common, **engine, **_unknown_kwargs(args),
                        **options)
        steps("computing the conversion trend, the journey map, drop-off paths and retention")
        analyses = _analyses(events, journey, touchpoint or args.by, dict(common, unit=unit), columns,
                             engine=engine)
        analyses.update(_journey_analyses(events, res, journey, common, touchpoint or args.by, columns,
                                          engine=engine))
        steps("writing the report")
        written = res.report(out, lang=args.lang, **analyses)
    steps.done()
    print(f"funnelkit: wrote {written}", file=sys.stderr)
    return 0


def _analyses(events: Any, journey: Any, touchpoint: str | None, funnel_kwargs: dict[str, Any],
              columns: list[str], *, engine: dict[str, Any] | None = None) -> dict[str, Any]:
    """The report's trend and journey map, computed on the same funnel (``trend=``, ``journey_map=``),
    with the same engine options (``--memory-budget``, ``--tmp-dir``).

    Their warnings were already shown by the main computation on the same events, so
    they are not repeated. Without the touchpoint column the map is left out (said on stderr).
    """
    import warnings

    from ..analyses.journey_map import journey_map
    from ..analyses.trends import trend

    out: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["trend"] = trend(events, journey, **funnel_kwargs, **(engine or {}))
        if touchpoint is not None and touchpoint in columns:
            out["journey_map"] = journey_map(events, journey, touchpoint=touchpoint, **funnel_kwargs,
                                             **(engine or {}))
    if touchpoint is not None and "journey_map" not in out:
        print(f"funnelkit: the event log has no column {touchpoint!r}: the journey map is left out "
              "(choose its rows with --touchpoint COLUMN).", file=sys.stderr)
    return out


def _journey_analyses(events: Any, res: Any, journey: Any, funnel_kwargs: dict[str, Any], touchpoint: str | None,
                      columns: list[str], *, variant_col: str | None = None, control: Any = None,
                      engine: dict[str, Any] | None = None) -> dict[str, Any]:
    """The report's drop-off paths and frictions (for the step with the largest drop-off) and
    retention and repeat purchase (compared across variants in an experiment); sections
    the log cannot give (one step, no purchase event) are left out."""
    import warnings

    import funnelkit as fk

    from ..report._paths import largest_dropoff_step

    engine = dict(engine or {})
    out: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if res is None:
            res = fk.funnel(events, journey, **funnel_kwargs, **engine)  # the experiment's funnel of all users
        if len(res.steps) >= 2 and int(res.table["units"].iloc[0]):
            k = largest_dropoff_step(res)
            out["dropoff"] = fk.dropoff_paths(events, res, step=k, **engine)
            props = [touchpoint] if touchpoint is not None and touchpoint in columns else []
            out["frictions"] = fk.frictions(events, res, step=k, properties=props, **engine)
        cmp = {"compare": variant_col, "control": control} if variant_col is not None else {}
        out["retention"] = fk.retention(events, period="W", **cmp, **engine)
        if "purchase" in _event_names(events):
            out["loyalty"] = fk.loyalty(events, event="purchase", **cmp, **engine)
    return out


# --------------------------------------------------------------------------- funnel


def cmd_funnel(args: argparse.Namespace) -> int:
    """``funnelkit funnel``: the funnel table on stdout, or in a file."""
    import funnelkit as fk

    sample = args.events is None
    _check_reading(args, args.events)
    dest = output_file(args, args.events, OUTPUT_SUFFIXES)
    _check_window(args.window)
    steps = _steps_of(args, sample=sample)
    engine = _engine_kwargs(args)
    events = _load(args, args.events, stream=True)
    res = fk.funnel(events, steps, window=_window(args.window), mode=args.mode, window_from=args.window_from,
                    unit=args.unit or "user", by=args.by, lang=args.lang, **engine, **_unknown_kwargs(args),
                    **_funnel_options(args))
    table = res.breakdown if res.breakdown is not None else res.table

    def text() -> str:
        if res.breakdown is None:
            return repr(res)
        from ..analyses.funnel import _format_table

        return repr(res) + "\n\n" + _format_table(res.breakdown.drop(columns=["label"])).to_string(index=False)

    emit(table, dest, args.format, html=res._repr_html_, text=text)
    return 0


# --------------------------------------------------------------------------- sessionize


def cmd_sessionize(args: argparse.Namespace) -> int:
    """``funnelkit sessionize``: the log written back with a session id, under its own column names."""
    import funnelkit as fk

    dest = check_output(args.output, flag="OUTPUT", suffixes=OUTPUT_SUFFIXES)
    check_same_file(args.input, dest, flag="OUTPUT")
    if args.split_at_midnight and not args.tz:
        raise ParameterError("--split-at-midnight needs --tz: midnight in which time zone? "
                             "e.g. --tz Europe/Madrid")
    from .._params import parse_duration

    parse_duration(args.timeout, name="timeout")
    if args.max_duration is not None:
        parse_duration(args.max_duration, name="max_duration")
    events = _load(args, args.input)
    split_on = [c.strip() for c in args.split_on.split(",") if c.strip()] if args.split_on else None
    out = fk.sessionize(events, timeout=args.timeout, max_duration=args.max_duration,
                        split_at_midnight=args.split_at_midnight, tz=args.tz, split_on=split_on,
                        session_col=args.session_col)
    given = {v: getattr(args, k) or v for k, v in _CANONICAL.items()}
    names = input_names(events, given)
    n = int(out[args.session_col].nunique())
    write_frame(original_names(out, names), dest)
    print(f"funnelkit: {len(out)} events, {n} sessions -> {dest}", file=sys.stderr)
    return 0


# --------------------------------------------------------------------------- journey


def cmd_journey_init(args: argparse.Namespace) -> int:
    """``funnelkit journey init``: write a commented journey template."""
    from ._template import journey_template

    dest = check_output(args.path, flag="FILE", suffixes=(".toml",), force=args.force)
    dest.write_text(journey_template(args.preset, lang=args.lang, file=dest.name), encoding="utf-8")
    print(f"funnelkit: wrote {dest} (preset {args.preset}); edit its events, then: "
          f"funnelkit report EVENTS --journey {dest}", file=sys.stderr)
    return 0


def cmd_journey_help(args: argparse.Namespace) -> int:
    """``funnelkit journey`` without an action: its help."""
    args.journey_parser.print_help()
    return 0

