"""Numbers, percentages and durations as text, in English or Spanish (figures and reports).

``1,234`` / ``1.234``, ``56.6%`` / ``56,6 %`` (with a no-break space), ``−3.2`` with a
true minus sign, ``45 s`` / ``6.0 min`` / ``3.5 h`` / ``2 d``.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import ParameterError

#: The languages of figures and reports.
Lang = Literal["en", "es"]
LANGS: tuple[str, ...] = ("en", "es")

MONTHS: dict[str, tuple[str, ...]] = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "es": ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"),
}


def check_lang(lang: Any, journey: Any = None) -> str:
    """``lang``, or the journey's language when ``None`` (else ``"en"``); anything else is refused.

    >>> check_lang(None), check_lang("es")
    ('en', 'es')
    """
    if lang is None:
        lang = getattr(journey, "lang", None) or "en"
    if lang not in LANGS:
        raise ParameterError(f"`lang`={lang!r} is not supported; use 'en' or 'es'.")
    return str(lang)


def num(n: Any, lang: str) -> str:
    """An integer with thousands separators (``1,234`` / ``1.234``).

    >>> num(1234.4, "en"), num(1234, "es"), num(float("nan"), "en")
    ('1,234', '1.234', '–')
    """
    if pd.isna(n):
        return "–"
    s = f"{int(round(float(n))):,}"
    return s.replace(",", ".") if lang == "es" else s


def dec(x: float, digits: int, lang: str, sign: bool = False) -> str:
    """A decimal number with a true minus sign and the language's decimal mark.

    >>> dec(-0.25, 2, "es"), dec(3.0, 1, "en", sign=True)
    ('−0,25', '+3.0')
    """
    s = f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"
    s = s.replace("-", "−")
    return s.replace(".", ",") if lang == "es" else s


def pct(v: Any, lang: str, digits: int = 1, sign: bool = False) -> str:
    """A fraction as a percentage: ``0.566`` -> ``56.6%`` (en) / ``56,6 %`` (es).

    >>> pct(0.566, "en"), pct(0.566, "es") == "56,6\\u00a0%", pct(None, "en")
    ('56.6%', True, '–')
    """
    if v is None or pd.isna(v):
        return "–"
    s = dec(float(v) * 100, digits, lang, sign)
    return f"{s}\u00a0%" if lang == "es" else f"{s}%"


def fmt_duration(seconds: float | None, lang: str = "en") -> str:
    """A duration in seconds, humanly: ``45 s``, ``6 min``, ``1.5 h``, ``2 d``.

    >>> [fmt_duration(s) for s in (0, 45, 90, 5400, 86400 * 2.5)]
    ['0 s', '45 s', '1.5 min', '1.5 h', '2.5 d']
    >>> fmt_duration(90, "es")
    '1,5 min'
    """
    if seconds is None or not np.isfinite(seconds):
        return "–"
    s = float(seconds)
    if s == 0:
        return "0 s"
    a = abs(s)
    if a < 1:
        return f"{dec(s * 1000, 0, lang)} ms"
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0), ("s", 1.0)):
        if a >= size or unit == "s":
            v = s / size
            digits = 0 if (abs(v) >= 10 or float(v).is_integer()) else 1
            return f"{dec(v, digits, lang)} {unit}"
    return f"{s} s"  # pragma: no cover
