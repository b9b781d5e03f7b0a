"""Progress on long runs (private): ``tqdm.auto`` in an interactive terminal or a notebook, nothing otherwise.

The engine calls :func:`_progress_enabled` once per computation and draws
:class:`_Bar` objects; the command line numbers its steps with :class:`Steps`.

* A bar appears only after :data:`DELAY` seconds: short runs print nothing.
* Only when someone can watch it: stderr is a terminal, or the code runs in a
  Jupyter kernel (a notebook widget through ``tqdm.auto``). Redirected to a file,
  piped, under CI or pytest's capture: no output at all.
* ``progress=True`` asks for a bar when interactive, ``"force"`` always (tests),
  ``False`` for none, unless an enclosing :func:`progress_scope` (the command line,
  unless ``--no-progress``) asks for bars on every long run.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
import time
import warnings
from collections.abc import Iterator
from typing import Any

from .errors import ParameterError

__all__ = ["DELAY", "Steps", "_Bar", "_human", "_progress_enabled", "interactive", "progress_scope"]

#: Seconds a run must last before its bar shows.
DELAY = 2.0

# Set by :func:`progress_scope`: bars for every long run of the enclosed block.
_SCOPE: contextvars.ContextVar[bool] = contextvars.ContextVar("funnelkit_progress_scope", default=False)


def _in_notebook() -> bool:
    """Whether the code runs in a Jupyter kernel (a notebook, JupyterLab, VS Code...)."""
    if "ipykernel" not in sys.modules:
        return False
    try:
        shell = sys.modules["IPython"].get_ipython()
    except Exception:
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def interactive() -> bool:
    """Whether someone can watch a bar: stderr is a terminal, or a notebook kernel runs the code.

    ``CI`` set in the environment (GitHub Actions, GitLab...) counts as not interactive.
    """
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        return False
    if _in_notebook():
        return True
    try:
        return bool(sys.stderr.isatty())
    except Exception:  # pragma: no cover - a closed or odd stderr
        return False


@contextlib.contextmanager
def progress_scope(enabled: bool = True) -> Iterator[None]:
    """Within the block, every long engine run shows a bar when :func:`interactive`.

    The command line wraps its commands in it (``--no-progress`` leaves it out).
    """
    token = _SCOPE.set(bool(enabled))
    try:
        yield
    finally:
        _SCOPE.reset(token)


def _progress_enabled(progress: Any) -> bool:
    """Whether a computation draws bars: ``True``/``"auto"`` when interactive, ``"force"`` always.

    ``False``/``None``: none, unless inside :func:`progress_scope` and interactive.

    Examples
    --------
    >>> _progress_enabled("force"), _progress_enabled(False)
    (True, False)
    """
    if progress is None or progress is False:
        return _SCOPE.get() and interactive()
    if progress is True or progress == "auto":
        return interactive()
    if progress in ("force", "always"):
        return True
    raise ParameterError(
        f"`progress`={progress!r}: use True (a bar when interactive: a terminal or a notebook), "
        "False, or 'force'."
    )


def _tqdm_class() -> Any:
    """The bar class: ``tqdm.auto.tqdm`` in a notebook kernel (a widget, or text without
    ipywidgets), without its import warning; the text bar ``tqdm.std.tqdm`` everywhere else.

    ``tqdm.auto`` alone is not enough outside a notebook: once a library has imported
    IPython and ipykernel (as some analytics packages do at import), it picks the widget
    class in a plain terminal, which then draws nothing.
    """
    if not _in_notebook():
        from tqdm.std import tqdm

        return tqdm
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm

    return tqdm


class _Bar:
    """A progress bar of ``total`` items (``tqdm.auto``, on stderr); a no-op when not ``enabled``.

    Shown only once the run has lasted :data:`DELAY` seconds (``delay=0`` in tests
    that force it).
    """

    def __init__(self, total: int, desc: str, unit: str, enabled: bool, *, delay: float | None = None) -> None:
        self.enabled, self.total, self.desc, self.unit = bool(enabled), max(int(total), 0), desc, unit
        self.n = 0
        self._tqdm: Any = None
        if not self.enabled:
            return
        self._tqdm = _tqdm_class()(total=self.total, desc=desc, unit=unit, unit_scale=True, file=sys.stderr,
                                   dynamic_ncols=True, leave=False, delay=DELAY if delay is None else delay)

    def update(self, n: int) -> None:
        """Advance by ``n`` items."""
        if not self.enabled:
            return
        self.n += int(n)
        self._tqdm.update(int(n))

    def close(self) -> None:
        """Remove the bar (idempotent)."""
        if not self.enabled:
            return
        self._tqdm.close()
        self.enabled = False

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _human(n: float) -> str:
    """``1234567`` -> ``'1.2M'``.

    >>> _human(1234567), _human(999)
    ('1.2M', '999')
    """
    for div, suf in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            return f"{n / div:.1f}{suf}"
    return str(int(n))


class Steps:
    """Numbered steps of a long command (``[2/4] computing the funnel``), one line each on stderr.

    Shown only when ``enabled`` (the command line: interactive and no ``--no-progress``);
    :meth:`done` prints the total time. Each step is a whole line, so the engine's bars
    (drawn below it) never overwrite it.
    """

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total, self.enabled, self.i = total, enabled, 0
        self._t0 = time.monotonic()

    def __call__(self, text: str) -> None:
        self.i += 1
        if self.enabled:
            sys.stderr.write(f"[{self.i}/{self.total}] {text}\n")
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write(f"done in {time.monotonic() - self._t0:.1f}s\n")
            sys.stderr.flush()
