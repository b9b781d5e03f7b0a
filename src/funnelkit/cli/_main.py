"""``funnelkit`` itself: parse, run one command, turn every problem into one line (private)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _silence_stdout() -> None:
    """After a closed pipe (``funnelkit funnel ... | head``): send what is left to /dev/null,
    so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # pragma: no cover - stdout without a descriptor
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success; 2 for bad arguments or bad data, after one line on stderr
        (``funnelkit: error: ...``, in the command line's terms); 130 on Ctrl-C.
        A closed output pipe (``| head``) ends quietly with 0.
    """
    from .._progress import progress_scope
    from ..errors import FunnelkitError
    from ._messages import error_line, warnings_as_lines
    from ._parser import build_parser

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    debug = bool(args.debug)
    try:
        with warnings_as_lines(show_foreign=debug), progress_scope(not getattr(args, "no_progress", False)):
            rc = int(args.func(args) or 0)
        sys.stdout.flush()
        return rc
    except BrokenPipeError:  # the reader went away (`| head`): not an error
        _silence_stdout()
        return 0
    except (FunnelkitError, OSError) as exc:
        if debug:
            raise
        print(error_line(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover - interactive
        print("funnelkit: interrupted", file=sys.stderr)
        return 130
