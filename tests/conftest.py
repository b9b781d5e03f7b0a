"""Test configuration shared by all test modules."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# In CI the property tests draw a fixed sequence of examples, so a run is reproducible
# (a failure there is replayed by `CI=true python -m pytest`); locally they explore anew.
settings.register_profile(
    "ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
if os.environ.get("CI"):
    settings.load_profile("ci")


# --------------------------------------------------------------------------- background lane


class Background:
    """Subprocess work of the selected tests, run one job at a time while the tests run.

    Some slow tests only wait on a subprocess (the Sphinx build, the notebooks' kernels,
    a fresh interpreter that checks what ``import funnelkit`` loads, the command line
    writing into a closed pipe), leaving the machine's other core idle. A test module
    with such work names it in ``background_jobs(background, items)``: its selected test
    items -> ``{key: job}``, a job being a function of the environment that runs the
    subprocess and returns what the test checks. After collection every job is queued on
    one worker thread (at most one runs beside the tests); the test takes its job's
    result with :meth:`result`, waiting for it if need be (or running it then, if it was
    never queued). A job is exactly the subprocess the test ran inline, started earlier:
    the checks stay in the test. Jobs get the environment of the session's start
    (:attr:`env`), never what a test running meanwhile has set in ``os.environ``.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="funnelkit-tests-background")
        self._jobs: dict[str, Future[Any]] = {}
        self._live: set[subprocess.Popen[str]] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._dirs: list[Path] = []
        self.env = dict(os.environ)

    def submit(self, key: str, job: Callable[[dict[str, str]], Any]) -> None:
        with self._lock:
            if key not in self._jobs:
                self._jobs[key] = self._pool.submit(self._guarded, job)

    def result(self, key: str, job: Callable[[dict[str, str]], Any]) -> Any:
        """What ``job(env)`` returned (its exception, if it raised): queued now if it was not."""
        self.submit(key, job)
        return self._jobs[key].result()

    def _guarded(self, job: Callable[[dict[str, str]], Any]) -> Any:
        if self._closed:
            raise RuntimeError("the test session ended before this background job started")
        return job(dict(self.env))

    def mkdtemp(self, name: str) -> Path:
        """A fresh directory for a job's output, removed at the end of the session."""
        d = Path(tempfile.mkdtemp(prefix=f"funnelkit-tests-{name}-"))
        self._dirs.append(d)
        return d

    def run(self, argv: Sequence[str], *, timeout: float, **popen: Any) -> subprocess.CompletedProcess[str]:
        """``subprocess.run(argv, capture_output=True, text=True, **popen)`` for a long job: a
        timeout kills it (said in its stderr) and the end of the session stops it."""
        with subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              **popen) as proc:
            self._live.add(proc)
            try:
                out, err = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
                err += f"\n(killed after {timeout:.0f} s)"
            finally:
                self._live.discard(proc)
        return subprocess.CompletedProcess(list(argv), proc.returncode, out, err)

    def close(self) -> None:
        """Cancel the jobs not started, stop a long one still running (e.g. after -x), remove the directories."""
        self._closed = True
        for job in self._jobs.values():
            job.cancel()
        for proc in list(self._live):
            proc.kill()
        self._pool.shutdown(wait=True)
        for d in self._dirs:
            shutil.rmtree(d, ignore_errors=True)


_BACKGROUND = Background()


@pytest.fixture(scope="session")
def background() -> Background:
    return _BACKGROUND


@pytest.hookimpl(trylast=True)  # after -k / -m have deselected
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Queue the selected tests' background jobs (``FUNNELKIT_TESTS_BACKGROUND=0``: none; each
    test then runs its job when it needs it, inline as before)."""
    if config.option.collectonly or os.environ.get("FUNNELKIT_TESTS_BACKGROUND", "1") == "0":
        return
    by_module: dict[Any, list[pytest.Item]] = {}
    for item in items:
        module = getattr(item, "module", None)
        if module is not None and hasattr(module, "background_jobs"):
            by_module.setdefault(module, []).append(item)
    for module, selected in by_module.items():
        for key, job in module.background_jobs(_BACKGROUND, selected).items():
            _BACKGROUND.submit(key, job)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _BACKGROUND.close()


@pytest.fixture
def spy_calls(monkeypatch):
    """``spy_calls(owner, "name")`` replaces ``owner.name`` (for this test) by a wrapper that
    calls it and appends each call's keyword arguments to the list returned."""

    def install(owner, name):
        calls = []
        real = getattr(owner, name)

        def spy(*args, **kwargs):
            calls.append(kwargs)
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, spy)
        return calls

    return install


class _MergedCalls(Mapping):
    """The keyword arguments of a spy's calls so far, merged (a later call's value wins)."""

    def __init__(self, calls: list) -> None:
        self._calls = calls

    def _merged(self) -> dict:
        out: dict = {}
        for kwargs in self._calls:
            out.update(kwargs)
        return out

    def __getitem__(self, key):
        return self._merged()[key]

    def __iter__(self):
        return iter(self._merged())

    def __len__(self) -> int:
        return len(self._merged())


@pytest.fixture
def spy_kwargs(spy_calls):
    """``spy_kwargs(owner, "name")``: :func:`spy_calls`, with the keyword arguments of all
    its calls merged into one mapping."""
    return lambda owner, name: _MergedCalls(spy_calls(owner, name))


@pytest.fixture
def parquet_layout(tmp_path):
    """``parquet_layout(frame, layout, column)`` writes ``frame`` as a Parquet log under
    ``tmp_path`` and returns its path: ``"pq_file"``, one ``log.pq`` file; ``"hive_dir"``, a
    ``log/`` directory partitioned by ``column`` (``log/column=value/p.parquet``, the column
    left out of the files, as hive partitioning does)."""

    def write(frame, layout: str, column: str) -> Path:
        if layout == "pq_file":
            path = tmp_path / "log.pq"
            frame.to_parquet(path)
            return path
        assert layout == "hive_dir", layout
        path = tmp_path / "log"
        for value, part in frame.groupby(column):
            (path / f"{column}={value}").mkdir(parents=True)
            part.drop(columns=column).to_parquet(path / f"{column}={value}" / "p.parquet")
        return path

    return write
