"""A progress bar on stderr for long steps (private): tqdm when installed, else plain text."""

from __future__ import annotations

import sys
import time
from typing import Any

from .errors import ParameterError

__all__ = ["_Bar", "_progress_enabled", "_human", "Steps"]


def _progress_enabled(progress: Any) -> bool:
    if progress is None or progress is False:
        return False
    if progress is True:
        try:
            return bool(sys.stderr.isatty())
        except Exception:  # pragma: no cover
            return False
    if progress in ("force", "always"):
        return True
    raise ParameterError(
        f"`progress`={progress!r}: use True (a bar on stderr when it is a terminal), False, or 'force'."
    )


class _Bar:
    """tqdm when installed, else a small text bar; on stderr; a no-op when disabled."""

    def __init__(self, total: int, desc: str, unit: str, enabled: bool) -> None:
        self.enabled, self.total, self.desc, self.unit = enabled, max(int(total), 0), desc, unit
        self.n, self._t0, self._last, self._tqdm = 0, time.monotonic(), 0.0, None
        if not enabled:
            return
        try:
            from tqdm import tqdm

            self._tqdm = tqdm(total=self.total, desc=desc, unit=unit, unit_scale=True, file=sys.stderr,
                              dynamic_ncols=True, leave=True)
        except ImportError:
            self._draw(force=True)

    def update(self, n: int) -> None:
        if not self.enabled:
            return
        self.n += int(n)
        if self._tqdm is not None:
            self._tqdm.update(int(n))
        else:
            self._draw()

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < 0.2 and self.n < self.total:
            return
        self._last = now
        frac = min(self.n / self.total, 1.0) if self.total else 1.0
        width = 24
        bar = "#" * int(frac * width) + "." * (width - int(frac * width))
        el = now - self._t0
        sys.stderr.write(f"\r{self.desc}: [{bar}] {frac:4.0%} {_human(self.n)}/{_human(self.total)} "
                         f"{self.unit} {el:5.1f}s")
        sys.stderr.flush()

    def close(self) -> None:
        if not self.enabled:
            return
        if self._tqdm is not None:
            self._tqdm.close()
        else:
            self._draw(force=True)
            sys.stderr.write("\n")
            sys.stderr.flush()
        self.enabled = False


def _human(n: float) -> str:
    for div, suf in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            return f"{n / div:.1f}{suf}"
    return str(int(n))


class Steps:
    """Numbered steps of a long job (``[2/4] computing the funnel...``), on stderr.

    Shown only when ``enabled``; each step prints its elapsed time when the next starts.
    """

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total, self.enabled, self.i, self._t0 = total, enabled, 0, None

    def __call__(self, text: str) -> None:
        self._finish()
        self.i += 1
        self._t0 = time.monotonic()
        if self.enabled:
            sys.stderr.write(f"[{self.i}/{self.total}] {text}...")
            sys.stderr.flush()

    def _finish(self) -> None:
        if self.enabled and self._t0 is not None:
            sys.stderr.write(f" {time.monotonic() - self._t0:.1f}s\n")
            sys.stderr.flush()
        self._t0 = None

    def done(self) -> None:
        self._finish()
