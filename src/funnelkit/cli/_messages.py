"""Messages in the command line's own terms (private).

The library's messages speak Python (``pass time_unit='s' to funnelkit.read_events``);
on the command line the same advice must name the flags (``pass --time-unit s``). The
library stays in Python terms: the translation happens here, at the CLI boundary, from
one table of keyword names to flags (:data:`FLAGS`), plus a few phrases that only make
sense in Python (``df.attrs[...]``, ``df.rename(...)``).

Warnings print as one readable line on stderr (``funnelkit: warning: ...``) instead of
Python's two-line form with a source line.
"""

from __future__ import annotations

import contextlib
import re
import shlex
import sys
import warnings
from collections.abc import Iterator
from typing import Any, TextIO

__all__ = ["FLAGS", "cli_text", "error_line", "warnings_as_lines"]

#: Keyword argument of the Python API -> the command line's flag.
FLAGS: dict[str, str] = {
    "user_col": "--user-col",
    "time_col": "--time-col",
    "event_col": "--event-col",
    "tz": "--tz",
    "time_unit": "--time-unit",
    "dropna": "--dropna",
    "dedupe": "--dedupe",
    "sep": "--sep",
    "encoding": "--encoding",
    "window": "--window",
    "mode": "--mode",
    "window_from": "--window-from",
    "unit": "--unit",
    "by": "--by",
    "lang": "--lang",
    "variant_col": "--variant-col",
    "control": "--control",
    "alpha": "--alpha",
    "correction": "--correction",
    "sequential": "--sequential",
    "touchpoint": "--touchpoint",
    "timeout": "--timeout",
    "max_duration": "--max-duration",
    "split_at_midnight": "--split-at-midnight",
    "split_on": "--split-on",
    "session_col": "--session-col",
    "memory_budget": "--memory-budget",
    "tmp_dir": "--tmp-dir",
}

# Phrases that only make sense in Python, replaced before the keywords are translated.
_PHRASES: tuple[tuple[str, str], ...] = (
    (r" \(they are counted in df\.attrs\[['\"]funnelkit_dropped['\"]\]\)", " (they are counted and reported)"),
    (r";? ?the counts are in df\.attrs\[['\"]funnelkit_dropped['\"]\]", ""),
    (r"df\.attrs\[['\"]funnelkit_dropped['\"]\]", "the count of dropped rows"),
    (r",? or rename the columns? \(df\.rename\(columns=\{[^}]*\}\)\)", ""),
    (r",? or make the column tz-aware yourself with \.dt\.tz_localize\(\.\.\.\)", ""),
    (r",? or load it yourself \(e\.g\. pd\.read_\w+\(\.\.\.\)\) and pass the DataFrame", ""),
    (r" \((?:--[\w-]+|`--[\w-]+`) (?:in|on) the (?:CLI|command line)\)", ""),  # io's own CLI hints: said already
    (r",? or pass on_unknown='warn' to count such steps as zero", ""),
    (r" \(on_unknown='raise' makes this an error\)", ""),
    (r" to (?:funnelkit|fk)\.read_events\b", ""),
    (r" to read_events\b", ""),
    (r"\b(?:funnelkit\.|fk\.)?read_events(?:\(\))?", "funnelkit"),
)

_NAMES = "|".join(sorted(map(re.escape, FLAGS), key=len, reverse=True))
# `name`=value, name=value or a bare name= ; the value: quoted text, <placeholder>, a word
_KWARG = re.compile(
    rf"(?<![\w.\-])(`?)(?P<name>{_NAMES})\1=(?P<value>'[^']*'|\"[^\"]*\"|<[^>]*>|[\w.+\-/:]+)?"
)


def _value(text: str) -> str:
    if text[:1] in "'\"" and text[-1:] == text[:1]:
        text = text[1:-1]
    return shlex.quote(text) if text and not text.startswith("<") else text


def _kwarg(m: re.Match[str]) -> str:
    flag, value = FLAGS[m["name"]], m["value"]
    if value is None:
        return flag
    if value == "True":
        return flag
    if value in ("False", "None"):
        return f"no {flag}"
    return f"{flag} {_value(value)}"


def cli_text(message: str) -> str:
    """``message`` with the Python API's keywords named as the command line's flags.

    Parameters
    ----------
    message : str
        A message of the library (an exception's or a warning's text).

    Returns
    -------
    str
        The same advice in command-line terms.

    Examples
    --------
    >>> cli_text("Fix: pass time_unit='s' (or one of 's', 'ms', 'us', 'ns') to funnelkit.read_events.")
    "Fix: pass --time-unit s (or one of 's', 'ms', 'us', 'ns')."
    >>> cli_text("Fix: pass dropna=True to funnelkit.read_events to drop rows missing a user id.")
    'Fix: pass --dropna to drop rows missing a user id.'
    >>> cli_text("pass tz='Europe/Madrid' (the IANA zone) to funnelkit.read_events")
    'pass --tz Europe/Madrid (the IANA zone)'
    """
    for pattern, repl in _PHRASES:
        message = re.sub(pattern, repl, message)
    return _KWARG.sub(_kwarg, message)


def error_line(exc: BaseException) -> str:
    """The one line the command line prints for an error (``funnelkit: error: ...``)."""
    text = str(exc).strip()
    if isinstance(exc, OSError) and getattr(exc, "strerror", None) and getattr(exc, "filename", None):
        text = f"{exc.strerror}: {exc.filename!r}"
    first = text.splitlines()[0] if text else type(exc).__name__
    return f"funnelkit: error: {cli_text(first)}"


@contextlib.contextmanager
def warnings_as_lines(*, show_foreign: bool = False, stream: TextIO | None = None) -> Iterator[list[str]]:
    """Within the block, warnings print as ``funnelkit: warning: <one line>`` on stderr.

    Each distinct text is printed once. funnelkit's own warnings are always shown;
    those of other libraries (pandas, numpy...) only with ``show_foreign`` (``--debug``).
    Yields the list of lines printed.
    """
    from ..errors import FunnelkitWarning

    seen: list[str] = []

    def show(message: Any, category: type[Warning], filename: str, lineno: int,
             file: TextIO | None = None, line: str | None = None) -> None:
        ours = issubclass(category, FunnelkitWarning)
        if not ours and not show_foreign:
            return
        text = cli_text(" ".join(str(message).split()))
        if not ours:
            text = f"({category.__name__}) {text}"
        out = f"funnelkit: warning: {text}"
        if out in seen:
            return
        seen.append(out)
        print(out, file=stream or sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        yield seen
