"""Checks the command line makes before any work (private).

Everything that can be checked without reading the event log is checked first: the
output path and its directory, the journey file, the combination of options. A
problem ends the command with one line and exit status 2 before the log is read.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from ..errors import JourneyError, ParameterError

__all__ = ["check_journey_file", "check_output", "check_same_file", "output_file", "refuse_without"]


def check_output(path: str | os.PathLike[str], *, flag: str, suffixes: tuple[str, ...] | None = None,
                 force: bool = True) -> Path:
    """The output file ``path``, checked: its directory exists and is writable, it is not a directory.

    Parameters
    ----------
    path : str or PathLike
        The file the command will write.
    flag : str
        How the command line names it (``--out``, ``OUTPUT``), for the message.
    suffixes : tuple of str, optional
        Accepted file name endings (lower case), e.g. ``(".parquet", ".csv")``.
    force : bool
        Whether an existing file may be replaced (``False``: refused, say ``--force``).

    Returns
    -------
    Path
        The path.

    Raises
    ------
    ParameterError
        With the fix, before anything is computed.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        example = p / ("out" + (suffixes[0] if suffixes else ""))
        raise ParameterError(f"{flag} {str(path)!r} is a directory: give a file name, e.g. {str(example)!r}.")
    if suffixes is not None and not p.name.lower().endswith(suffixes):
        raise ParameterError(f"{flag} {str(path)!r}: use a {' or '.join(suffixes[:2])} file name.")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise ParameterError(f"{flag} {str(path)!r}: the directory {str(parent)!r} does not exist. "
                             f"Create it first (mkdir -p {str(parent)!r}) or write elsewhere.")
    if not parent.is_dir():
        raise ParameterError(f"{flag} {str(path)!r}: {str(parent)!r} is a file, not a directory.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ParameterError(f"{flag} {str(path)!r}: the directory {str(parent)!r} is not writable.")
    if p.exists() and not os.access(p, os.W_OK):
        raise ParameterError(f"{flag} {str(path)!r} exists and is not writable.")
    if p.exists() and not force:
        raise ParameterError(f"{flag} {str(path)!r} exists already: pass --force to replace it.")
    return p


def check_same_file(inp: str | os.PathLike[str], out: Path, *, flag: str) -> None:
    """Refuse to write the output over the input file (it would replace the data silently)."""
    a = Path(inp).expanduser()
    if a.exists() and out.exists():
        same = os.path.samefile(a, out)
    else:
        same = a.resolve() == out.resolve()
    if same:
        raise ParameterError(f"{flag} {str(out)!r} is the input file: write the result to another file.")


def check_journey_file(path: str | os.PathLike[str]) -> Any:
    """Read a journey TOML file, before the event log, with command-line messages.

    Besides :meth:`funnelkit.Journey.from_toml`'s checks, a stage with a bare
    ``label`` key gets a message listing ``label_en`` and ``label_es``.

    Returns
    -------
    Journey
    """
    from ..journey import Journey

    p = Path(path).expanduser()
    if not p.is_file():
        where = "" if p.is_absolute() else f" (relative to {os.getcwd()!r})"
        hint = (" Write a template with: funnelkit journey init journey.toml" if not p.exists() else
                " It is a directory, not a file.")
        raise JourneyError(f"--journey {str(path)!r}: no such file{where}.{hint}")
    try:
        import tomllib  # type: ignore[import-not-found]
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise JourneyError(f"--journey {str(path)!r} is not valid TOML: {exc}.") from None
    stages = data.get("stages")
    if isinstance(stages, list):
        for i, sd in enumerate(stages):
            if isinstance(sd, dict) and "label" in sd:
                name = sd.get("name", f"#{i + 1}")
                raise JourneyError(
                    f"--journey {str(path)!r}, stage {name!r}: a stage has no `label` key; its labels are "
                    f"`label_en` (English reports) and `label_es` (Spanish reports), e.g. "
                    f"label_en = {sd['label']!r}. See: funnelkit journey init --help.")
    try:
        return Journey.from_toml(p)
    except JourneyError as exc:
        raise JourneyError(f"--journey {str(path)!r}: {exc}") from None


def output_file(args: argparse.Namespace, source: str | None, suffixes: tuple[str, ...]) -> Path | None:
    """``--out FILE`` of a table command, checked before any work (``None``: print on stdout):
    a writable file with one of ``suffixes``, not the input ``source``, and not given with
    ``--format`` (which chooses what is printed on stdout)."""
    if args.out is None:
        return None
    dest = check_output(args.out, flag="--out", suffixes=suffixes)
    if source is not None:
        check_same_file(source, dest, flag="--out")
    if args.format != "text":
        raise ParameterError("--format and --out cannot be combined: --out writes the file its name says "
                             "(.csv or .parquet); --format chooses what is printed on stdout.")
    return dest


def refuse_without(args: argparse.Namespace, needs: str, *flags: str, why: str) -> None:
    """Refuse ``flags`` that were given while the option ``needs`` was not."""
    if _given(args, needs):
        return
    given = [f for f in flags if _given(args, f)]
    if given:
        verb = "needs" if len(given) == 1 else "need"
        raise ParameterError(f"{', '.join(given)} {verb} {needs}: {why}.")


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def _given(args: argparse.Namespace, flag: str) -> bool:
    v = getattr(args, _dest(flag), None)
    return v is not None and v is not False
