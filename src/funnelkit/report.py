"""Self-contained HTML reports (presentation only: nothing is recomputed here)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Literal

__all__ = ["funnel_report"]

_TEXT = {
    "en": {
        "title": "Funnel report",
        "design": "Design",
        "steps": "Steps",
        "window": "Window",
        "mode": "Mode",
        "unit": "Unit",
        "none": "none",
        "table": "Conversion by step",
        "entered": "units entered the funnel",
        "excluded": "units left out by exclusions",
        "censored": "units still inside their window at the end of the data (censored)",
    },
    "es": {
        "title": "Informe del embudo",
        "design": "Diseño",
        "steps": "Etapas",
        "window": "Ventana",
        "mode": "Modo",
        "unit": "Unidad",
        "none": "sin límite",
        "table": "Conversión por etapa",
        "entered": "unidades entraron en el embudo",
        "excluded": "unidades excluidas por exclusiones",
        "censored": "unidades aún dentro de su ventana al final de los datos (censuradas)",
    },
}

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;font-size:.9rem}th,td{padding:.3rem .6rem;border-bottom:1px solid #eee;text-align:right}
th{background:#f6f6f6}td:first-child,th:first-child,td:nth-child(2),th:nth-child(2){text-align:left}
.note{color:#555}
"""


def _esc(v: Any) -> str:
    return html.escape(str(v), quote=True)


def page(title: str, body: str, *, lang: str = "en") -> str:
    """Wrap ``body`` in a complete, self-contained HTML document."""
    return (
        f"<!DOCTYPE html>\n<html lang='{_esc(lang)}'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>{body}</body></html>\n"
    )


def funnel_report(result: Any, path: str | Path, *, lang: Literal["en", "es"] | None = None) -> Path:
    """Write the funnel table of ``result`` (a FunnelResult) as a self-contained HTML page.

    Every string that comes from the data (step names, labels) is HTML-escaped.
    Returns the path written.
    """
    from .funnel import _format_table

    lang = lang or getattr(result.journey, "lang", "en") or "en"
    if lang not in _TEXT:
        from .errors import ParameterError

        raise ParameterError(f"`lang`={lang!r} is not supported; use 'en' or 'es'.")
    tx = _TEXT[lang]
    p = result.params
    labels = result.labels
    if result.journey is not None and hasattr(result.journey, "labels"):
        try:
            labels = result.journey.labels(lang)
        except Exception:  # a plain list of steps has no translations
            labels = result.labels
    table = result.table.copy()
    if len(labels) == len(table):
        table["label"] = list(labels)
    window = tx["none"] if p["window"] is None else str(p["window"])
    entered = int(table["units"].iloc[0]) if len(table) else 0
    parts = [f"<h1>{_esc(tx['title'])}</h1>"]
    parts.append(f"<h2>{_esc(tx['design'])}</h2><ul>")
    parts.append(f"<li>{_esc(tx['steps'])}: {' → '.join(_esc(s) for s in labels)}</li>")
    parts.append(f"<li>{_esc(tx['window'])}: {_esc(window)} ({_esc(p['window_from'])})</li>")
    parts.append(f"<li>{_esc(tx['mode'])}: {_esc(p['mode'])}</li><li>{_esc(tx['unit'])}: {_esc(p['unit'])}</li></ul>")
    parts.append(f"<h2>{_esc(tx['table'])}</h2>")
    parts.append(f"<p class='note'>{entered} {_esc(tx['entered'])}</p>")
    parts.append(_format_table(table).to_html(index=False, escape=True, border=0))
    if result.diagnostics.get("units_excluded"):
        parts.append(f"<p class='note'>{result.diagnostics['units_excluded']} {_esc(tx['excluded'])}</p>")
    if result.censored is not None and int(result.censored["censored"].sum()):
        parts.append(f"<p class='note'>{int(result.censored['censored'].sum())} {_esc(tx['censored'])}</p>")
    out = Path(path)
    out.write_text(page(tx["title"], "".join(parts), lang=lang), encoding="utf-8")
    return out
