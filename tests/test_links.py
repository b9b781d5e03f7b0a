"""Every relative link in README.md and docs/ resolves to a file, and every #anchor to a heading.

Anchors are computed as GitHub (and MyST's ``myst_heading_anchors``) do: the heading
in lower case, punctuation removed, spaces turned into hyphens, ``-1``, ``-2``... for
repeated headings.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", ROOT / "CONTRIBUTING.md", *(ROOT / "docs").rglob("*.md")])
PAGES = [p for p in PAGES if "_build" not in p.parts and p.is_file()]

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"(?<!\!)\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?")
_REF_DEF = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.M)
_HTML_ANCHOR = re.compile(r"""<a\s+(?:name|id)=["']([^"']+)["']""")


def slug(heading: str) -> str:
    """GitHub's anchor of a heading.

    >>> slug("Sources (`engine/sources.py`)")
    'sources-enginesourcespy'
    """
    text = re.sub(r"<[^>]+>", "", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link in a heading keeps its text
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = _FENCE.sub("", path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    out = set(_HTML_ANCHOR.findall(text))
    for m in re.finditer(r"^(#{1,6})\s+(.*?)\s*#*\s*$", text, re.M):
        s = slug(m.group(2))
        n = seen.get(s, 0)
        seen[s] = n + 1
        out.add(s if n == 0 else f"{s}-{n}")
        # MyST's explicit targets: (label)= before a heading
    out.update(re.findall(r"^\((\S+)\)=\s*$", text, re.M))
    return out


def links(path: Path) -> list[tuple[int, str]]:
    text = path.read_text(encoding="utf-8")
    # blank out code (fenced blocks and inline spans) but keep line numbers
    text = _FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    text = _INLINE_CODE.sub(lambda m: " " * len(m.group(0)), text)
    found = []
    for rx in (_LINK, _IMAGE, _REF_DEF):
        for m in rx.finditer(text):
            found.append((text.count("\n", 0, m.start()) + 1, m.group(1)))
    return found


def _external(target: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I)) or target.startswith("//")


CASES = [(p, line, t) for p in PAGES for line, t in links(p) if not _external(t)]


def test_pages_have_links_to_check():
    assert any(p.name == "README.md" for p, _, _ in CASES), "README.md has no relative link: the test sees nothing"


@pytest.mark.parametrize("page, line, target", CASES,
                         ids=[f"{p.relative_to(ROOT)}:{line}:{t}" for p, line, t in CASES])
def test_relative_link_resolves(page, line, target):
    where = f"{page.relative_to(ROOT)}:{line}: link {target!r}"
    path_part, _, anchor = target.partition("#")
    dest = page if not path_part else (page.parent / unquote(path_part)).resolve()
    assert dest.exists(), f"{where}: no file {dest}"
    if anchor:
        assert dest.is_file() and dest.suffix == ".md", f"{where}: an anchor into a non-Markdown file"
        assert unquote(anchor).lower() in anchors(dest), (
            f"{where}: no heading with anchor #{anchor} in {dest.relative_to(ROOT)} "
            f"(anchors: {sorted(anchors(dest))[:20]})")


def test_slug_and_anchor_rules():
    assert slug("Date range and censoring") == "date-range-and-censoring"
    assert slug("A/B tests: *testea y optimiza*") == "ab-tests-testea-y-optimiza"
    assert slug("Speed, and data larger than memory") == "speed-and-data-larger-than-memory"
