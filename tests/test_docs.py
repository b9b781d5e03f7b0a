"""The documentation site builds with warnings as errors (Sphinx + numpydoc + MyST).

The build runs in a subprocess into a temporary directory (nothing is written to the
source tree). A failure lists the warnings grouped by the file that caused them, so a
page or docstring that breaks the build is named. The build (about 20 s) is started in
the background as soon as the tests are collected (``background_jobs``, see
tests/conftest.py) and the tests here wait for it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
NEEDED = ("sphinx", "numpydoc", "myst_parser")


def _missing() -> list[str]:
    return [m for m in NEEDED if importlib.util.find_spec(m) is None]


_BUILD: dict[str, tuple] = {}


def _build_job(background):
    """``(key, job, out)`` of the site's build (one per session)."""
    if "job" not in _BUILD:
        out = background.mkdtemp("docs_html")
        doctrees = background.mkdtemp("doctrees")
        argv = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "-d", str(doctrees),
                str(DOCS), str(out)]

        def job(env):
            env.update(FUNNELKIT_NUM_THREADS="1", MPLBACKEND="Agg", PYTHONWARNINGS="ignore")
            return background.run(argv, timeout=600, cwd=ROOT, env=env)

        _BUILD["job"] = ("docs:sphinx-build", job, out)
    return _BUILD["job"]


def background_jobs(background, items):
    """The build, started after collection when a test here is selected (tests/conftest.py)."""
    if _missing():
        return {}
    key, job, _ = _build_job(background)
    return {key: job}


@pytest.fixture(scope="module")
def built(background):
    missing = _missing()
    if missing:
        msg = (f"the docs build needs {', '.join(missing)}: install the docs extra "
               "(pip install -e '.[docs]'; the test extra should include it)")
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg)  # in CI a missing builder is a failure, not a skip
        pytest.skip(msg)
    key, job, out = _build_job(background)
    return background.result(key, job), out


def _by_file(stderr: str) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for line in stderr.splitlines():
        m = re.match(r"(?P<file>[^:]+?)(?::docstring of [^:]+)?(?::\d+)?: (?P<kind>WARNING|ERROR|CRITICAL): "
                     r"(?P<msg>.*)", line)
        if m:
            f = m["file"]
            try:
                f = str(Path(f).resolve().relative_to(ROOT))
            except ValueError:
                pass
            groups[f].append(f"{m['kind']}: {m['msg']}")
        elif line.strip() and ("WARNING" in line or "ERROR" in line or "Exception" in line):
            groups["(sphinx)"].append(line.strip())
    return groups


def _site(out: Path, proc: subprocess.CompletedProcess) -> None:
    """The other checks read the site that --keep-going built even when a warning failed the build
    (that failure is test_docs_build_with_warnings_as_errors' alone)."""
    if not (out / "index.html").is_file():
        pytest.fail(f"sphinx-build wrote no site:\n{proc.stderr[-3000:]}")


def test_docs_build_with_warnings_as_errors(built):
    proc, out = built
    if proc.returncode != 0:
        groups = _by_file(proc.stderr)
        report = "\n".join(f"{f}:\n  " + "\n  ".join(msgs) for f, msgs in sorted(groups.items()))
        pytest.fail(f"sphinx-build -W failed (exit {proc.returncode}). Warnings by file:\n{report or proc.stderr}")
    assert (out / "index.html").is_file()


def test_every_page_of_docs_is_in_the_site(built):
    proc, out = built
    _site(out, proc)
    for page in [*DOCS.glob("*.md"), *DOCS.glob("guide/*.md"), *DOCS.glob("gallery/*.md")]:
        rel = page.relative_to(DOCS).with_suffix(".html")
        assert (out / rel).is_file(), f"{page.relative_to(ROOT)} is not part of the site"
    index = (out / "index.html").read_text(encoding="utf-8")
    for page in DOCS.glob("*.md"):
        if page.stem != "index":
            assert f'href="{page.stem}.html"' in index, f"{page.name} is missing from the table of contents"


def test_api_reference_comes_from_the_docstrings(built):
    proc, out = built
    _site(out, proc)
    api = (out / "api" / "index.html").read_text(encoding="utf-8")
    for name in ("funnelkit.read_events", "funnelkit.funnel", "funnelkit.experiment", "funnelkit.Journey",
                 "funnelkit.stats.diff_test", "funnelkit.plotting.funnel_bars", "funnelkit.errors.FunnelkitError"):
        assert f'id="{name}"' in api, f"{name} is not documented in the API reference"
    assert "Parameters" in api and "Returns" in api  # numpydoc sections rendered


def test_gallery_draws_every_plot(built):
    proc, out = built
    _site(out, proc)
    import funnelkit.plotting as plotting

    gallery = (out / "gallery" / "index.html").read_text(encoding="utf-8")
    src = (DOCS / "gallery" / "index.md").read_text(encoding="utf-8")
    drawn = set(re.findall(r"fk\.plotting\.(\w+)\(", src))
    plots = {n for n in plotting.__all__ if callable(getattr(plotting, n)) and n not in
             ("plot_result", "trend_table", "journey_map_table")}
    assert plots <= drawn, f"the gallery lacks {sorted(plots - drawn)}"
    images = re.findall(r'<img[^>]+src="([^"]+\.png)"', gallery)
    assert len(images) >= len(plots)
    for img in images:
        assert (out / "gallery" / img).is_file(), img
