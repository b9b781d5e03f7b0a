"""The notebooks in notebooks/ are executed top to bottom, so they never rot.

Each notebook runs in its own kernel, driven by nbclient in a subprocess, with a fresh
working directory: the executed notebook is written there and checked here. Those
subprocesses (a kernel each, 4-13 s) are started in the background as soon as the
tests are collected (``background_jobs``, see tests/conftest.py), and each test waits
for its notebook.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))

# run in the subprocess: execute the notebook (its kernel's working directory: the
# directory given) and write it, outputs included, as executed.ipynb there
_EXECUTE = """
import sys
import nbclient, nbformat
path, workdir = sys.argv[1], sys.argv[2]
nb = nbformat.read(path, as_version=4)
client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": workdir}})
try:
    client.execute()
finally:
    nbformat.write(nb, workdir + "/executed.ipynb")
"""

_JOBS: dict[str, tuple] = {}


def _job(background, path: Path) -> tuple:
    """``(key, job, workdir)`` of one notebook (one per session)."""
    if path.stem not in _JOBS:
        workdir = background.mkdtemp(f"notebook-{path.stem}")
        argv = [sys.executable, "-c", _EXECUTE, str(path), str(workdir)]
        _JOBS[path.stem] = (f"notebooks:{path.stem}",
                            lambda env: background.run(argv, timeout=1800, env={**env, "MPLBACKEND": "Agg"}),
                            workdir)
    return _JOBS[path.stem]


def background_jobs(background, items):
    """The selected notebooks, started after collection (tests/conftest.py)."""
    wanted = {item.callspec.params["path"] for item in items if item.originalname == "test_notebook_runs"}
    return {key: job for key, job, _ in (_job(background, p) for p in NOTEBOOKS if p in wanted)}


def test_notebooks_exist():
    assert {p.name for p in NOTEBOOKS} >= {"quickstart.ipynb", "experiment.ipynb"}


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, background):
    key, job, workdir = _job(background, path)
    proc = background.result(key, job)
    assert proc.returncode == 0, f"executing {path.name} failed:\n{proc.stderr[-6000:]}"
    nb = nbformat.read(workdir / "executed.ipynb", as_version=4)
    assert len(nb.cells) == len(nbformat.read(path, as_version=4).cells)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    if path.stem == "experiment":
        report = workdir / "experiment_report.html"
        text = report.read_text(encoding="utf-8") if report.is_file() else ""
        assert "Compra" in text
        # the notebook passes the trend and the journey map it computed: their sections are there
        assert "Tendencia de la conversión" in text and "Mapa del recorrido" in text
