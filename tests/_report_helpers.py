"""Helpers shared by the report tests (``from _report_helpers import ...``, ``tests/`` on sys.path).

The report tests parse the HTML (well-formed, headings, text) instead of comparing bytes.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import matplotlib

matplotlib.use("Agg")

EN = ("Discovery", "Consideration", "Purchase", "Use", "Loyalty")
ES = ("Descubrimiento", "Consideración", "Compra", "Uso", "Fidelización")
NBSP = "\u00a0"

EVIL_EVENT = "<script>alert(1)</script>"
EVIL_CHANNEL = "<img src=x onerror=alert(1)>"
EVIL_VARIANT = "<b>B</b>"


class _Doc(HTMLParser):
    VOID = {"meta", "img", "br", "hr", "link", "input", "col", "source", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.tags, self.imgs, self.headings = [], [], [], [], []
        self.text = []
        self._h = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a)
        if tag in ("h1", "h2", "h3"):
            self._h = [tag, ""]
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
            return
        self.stack.pop()
        if tag in ("h1", "h2", "h3") and self._h:
            self.headings.append((self._h[0], self._h[1].strip()))
            self._h = None

    def handle_data(self, data):
        self.text.append(data)
        if self._h is not None:
            self._h[1] += data


def parse(html_text):
    """The parsed page (well-formed: every tag closed in order); ``.alltext`` is its text, spaces normalized."""
    d = _Doc()
    d.feed(html_text)
    d.close()
    assert not d.errors, d.errors[:5]
    assert not d.stack, d.stack
    d.alltext = re.sub(r"\s+", " ", " ".join(d.text).replace(NBSP, " "))
    return d


def pct(v, lang="en", digits=1, sign=False):
    s = f"{v * 100:+.{digits}f}" if sign else f"{v * 100:.{digits}f}"
    s = s.replace("-", "−")
    return s.replace(".", ",") + " %" if lang == "es" else s + "%"


def num(n, lang="en"):
    s = f"{int(round(n)):,}"
    return s.replace(",", ".") if lang == "es" else s


def assert_self_contained(text):
    low = text.lower()
    assert "http://" not in low and "https://" not in low
    assert not re.search(r"(src|href)\s*=\s*['\"]?\s*(https?:|//)", low)
    assert "<script" not in low and "<link" not in low and "@import" not in low and "url(" not in low
    assert "<iframe" not in low and "<object" not in low
