"""The page itself: skeleton and CSS, escaping, tables, cards, banners and embedded PNG figures.

Each page is one file: figures are embedded as base64 PNG, the CSS is inline and
nothing refers to an external URL, so it can be mailed, archived or opened offline.
It is responsive (tables scroll sideways on a phone) and printable. Every string
that comes from the data or the user goes through :func:`esc`.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

    from matplotlib.figure import Figure

__all__ = ["banner", "cards", "check_out_path", "close", "dl", "esc", "fig_html", "html_table", "new_fig", "page",
           "version"]

CSS = """
:root{--ink:#1d1d1f;--muted:#5f6368;--line:#e3e3e3;--bg:#fff;--soft:#f6f7f9;--blue:#0072B2;
--ok:#1b7f4b;--okbg:#e8f5ee;--warn:#8a5a00;--warnbg:#fff4de;--err:#a3271b;--errbg:#fdecea;--infobg:#eef4fb}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',Arial,sans-serif;margin:0;color:var(--ink);
background:var(--bg);line-height:1.45;font-size:15px}
main{max-width:1120px;margin:0 auto;padding:1.5rem 1.25rem 3rem}
header.top{border-bottom:3px solid var(--blue);padding-bottom:.6rem;margin-bottom:1rem}
.kicker{color:var(--blue);font-weight:600;text-transform:uppercase;letter-spacing:.06em;font-size:.78rem;margin:0}
h1{font-size:1.75rem;margin:.15rem 0 .2rem;line-height:1.2}
.sub{color:var(--muted);margin:0}
h2{font-size:1.25rem;margin:2.2rem 0 .6rem;padding-bottom:.25rem;border-bottom:1px solid var(--line)}
h3{font-size:1.02rem;margin:1.4rem 0 .4rem}
p{margin:.4rem 0}
.note{color:var(--muted);font-size:.88rem;max-width:75ch}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(190px,1fr));gap:.75rem;margin:.6rem 0}
.card{background:var(--soft);border-radius:8px;padding:.7rem .9rem;border-left:4px solid var(--blue)}
.card .k{font-size:.78rem;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:1.15rem;font-weight:650;margin-top:.15rem}
.card.ok{border-left-color:var(--ok)}.card.error{border-left-color:var(--err)}.card.warning{border-left-color:#E69F00}
.banner{border-radius:8px;padding:.6rem .9rem;margin:.45rem 0;border-left:5px solid;font-size:.95rem}
.banner b{margin-right:.35rem}
.banner.ok{background:var(--okbg);border-color:var(--ok);color:#0f4d2e}
.banner.error{background:var(--errbg);border-color:var(--err);color:#6b1a12}
.banner.warning{background:var(--warnbg);border-color:#E69F00;color:#5c3c00}
.banner.info{background:var(--infobg);border-color:var(--blue);color:#0b3a5c}
.tablewrap{overflow-x:auto;-webkit-overflow-scrolling:touch;margin:.5rem 0 .8rem;border:1px solid var(--line);border-radius:6px}
table{border-collapse:collapse;font-size:.86rem;width:100%;background:#fff}
th,td{padding:.38rem .55rem;border-bottom:1px solid var(--line);text-align:right;vertical-align:top}
td{white-space:nowrap}
th{background:var(--soft);font-weight:600;position:sticky;top:0;vertical-align:bottom;font-size:.8rem;line-height:1.25}
td.t,th.t{text-align:left;white-space:normal;overflow-wrap:break-word}
td.w{white-space:normal;min-width:7.5rem}td.w .pill{white-space:normal}
tr.grp td{border-top:2px solid #cfcfcf}
tr:last-child td{border-bottom:none}
td.num{font-variant-numeric:tabular-nums}
.ci{color:var(--muted);font-size:.76rem;display:block}
.pill{display:inline-block;border-radius:6px;padding:.05rem .55rem;font-size:.78rem;font-weight:600;white-space:nowrap}
.pill.up{background:#e1f0fa;color:#004d7a}.pill.down{background:#fde6d8;color:#8a3300}
.pill.none{background:#eeeeee;color:#444}.pill.ctrl{background:#fff;color:var(--muted);border:1px solid var(--line)}
dl.design{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:.5rem 0}
dl.design dt{color:var(--muted)}dl.design dd{margin:0}
figure{margin:1rem 0 1.4rem}
figure img{display:block;width:100%;max-width:100%;height:auto;border:1px solid var(--line);border-radius:6px;background:#fff}
figcaption{color:var(--muted);font-size:.86rem;margin-top:.35rem;max-width:85ch}
ol.conc,ul.conc{padding-left:1.3rem}ol.conc li,ul.conc li{margin:.35rem 0}
code{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:.85em;background:var(--soft);padding:.05rem .3rem;border-radius:4px}
footer{margin-top:3rem;color:var(--muted);font-size:.8rem;border-top:1px solid var(--line);padding-top:.6rem}
@media (max-width:640px){body{font-size:14px}main{padding:1rem .7rem}h1{font-size:1.4rem}
dl.design{grid-template-columns:1fr}dl.design dt{margin-top:.4rem}}
@media print{body{font-size:11pt}main{max-width:none;padding:0}h2{break-after:avoid}
figure,.tablewrap,.banner,.card{break-inside:avoid}.tablewrap{overflow:visible;border:none}
th{position:static}*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


def check_out_path(path: Any, *, func: str = "report") -> Path:
    """The report's file, checked before any figure is drawn: its directory exists and is
    writable, and it is not a directory.

    Parameters
    ----------
    path : str or PathLike
        The HTML file to write.
    func : str
        The caller, for the message (``"funnel_report"``).

    Returns
    -------
    Path

    Raises
    ------
    ParameterError
        Naming the path and the fix (a funnelkit error, not ``[Errno 2]`` after the work).

    Examples
    --------
    >>> check_out_path("report.html").name
    'report.html'
    """
    import os
    from pathlib import Path

    from ..errors import ParameterError

    try:
        p = Path(os.fspath(path)).expanduser()
    except TypeError:
        raise ParameterError(f"{func}(): `path`={path!r} is not a file path; pass e.g. 'report.html'.") from None
    if p.is_dir():
        raise ParameterError(f"{func}(): {str(p)!r} is a directory; pass a file name such as "
                             f"{str(p / 'report.html')!r}.")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise ParameterError(f"{func}(): the directory {str(parent)!r} of {str(p)!r} does not exist. Fix: create "
                             f"it first (Path({str(parent)!r}).mkdir(parents=True)) or write elsewhere.")
    if not os.access(parent, os.W_OK | os.X_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise ParameterError(f"{func}(): cannot write {str(p)!r} (permission denied); write elsewhere.")
    return p


def esc(v: Any) -> str:
    """``v`` as text, HTML-escaped (quotes included).

    >>> esc("<b>B</b> & 'A'")
    '&lt;b&gt;B&lt;/b&gt; &amp; &#x27;A&#x27;'
    """
    return html.escape(str(v), quote=True)


def page(title: str, body: str, *, lang: str = "en") -> str:
    """Wrap ``body`` (trusted HTML) in a complete, self-contained HTML document."""
    return (
        f"<!DOCTYPE html>\n<html lang='{esc(lang)}'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<meta name='generator' content='funnelkit'>"
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>{body}</main></body></html>\n"
    )


def html_table(head: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1,
               row_classes: Sequence[str] | None = None, raw_head: bool = False, wrap: Sequence[int] = ()) -> str:
    """An HTML table. ``head`` is plain text (escaped here); cells are HTML already escaped.

    The first ``left`` columns are text (left-aligned), the others numbers; columns in
    ``wrap`` may wrap.

    >>> html_table(["Step", "Units"], [["a", "3"]])[:60]
    "<div class='tablewrap'><table><thead><tr><th class='t' scope"
    """
    ths = "".join(
        f"<th class='{'t' if i < left else ''}' scope='col'>{h if raw_head else esc(h)}</th>"
        for i, h in enumerate(head))
    body = []
    for j, r in enumerate(rows):
        cls = f" class='{row_classes[j]}'" if row_classes and row_classes[j] else ""
        tds = "".join(f"<td class='{'t' if i < left else 'num'}{' w' if i in wrap else ''}'>{c}</td>"
                      for i, c in enumerate(r))
        body.append(f"<tr{cls}>{tds}</tr>")
    return (f"<div class='tablewrap'><table><thead><tr>{ths}</tr></thead><tbody>{''.join(body)}</tbody>"
            "</table></div>")


def dl(items: Sequence[tuple[str, str]]) -> str:
    """A definition list; keys are plain text, values HTML already escaped."""
    return "<dl class='design'>" + "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def cards(items: Sequence[tuple[str, str, str]]) -> str:
    """Summary cards: (key text, value HTML, css class)."""
    return "<div class='cards'>" + "".join(
        f"<div class='card {c}'><div class='k'>{esc(k)}</div><div class='v'>{v}</div></div>" for k, v, c in items
    ) + "</div>"


def banner(severity: str, text: str) -> str:
    """A coloured banner (``ok``, ``error``, ``warning`` or ``info``) with plain ``text``."""
    sev = severity if severity in ("ok", "error", "warning", "info") else "info"
    icon = {"ok": "✓", "error": "✗", "warning": "!", "info": "i"}[sev]
    return f"<div class='banner {sev}' role='status'><b aria-hidden='true'>{icon}</b>{esc(text)}</div>"


def new_fig(w: float, h: float) -> Figure:
    """A figure of ``w`` × ``h`` inches on the Agg canvas (no pyplot, no global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), layout="constrained", dpi=100)
    FigureCanvasAgg(fig)
    return fig


def fig_html(fig: Figure, alt: str, caption: str | None = None, *, dpi: int = 130) -> str:
    """A figure as an embedded base64 PNG (``alt`` and ``caption`` are plain text, escaped here)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white", metadata={"Software": None})
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return (f"<figure><img src='data:image/png;base64,{data}' alt='{esc(alt)}' "
            f"width='{int(fig.get_figwidth() * dpi)}' height='{int(fig.get_figheight() * dpi)}'>{cap}</figure>")


def close(fig: Figure) -> None:
    """Free a figure's artists once it is embedded."""
    fig.clear()


def version() -> str:
    """funnelkit's version, for the footer."""
    try:
        from .. import __version__

        return __version__
    except Exception:  # pragma: no cover
        return ""
