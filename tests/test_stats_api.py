"""Tests of the public surface of funnelkit.stats: its names and its docstring examples
(the examples of every module of the package)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import funnelkit.stats as fs


def test_public_api():
    assert set(fs.__all__) == {
        "proportion_ci", "diff_test", "lift_test", "srm_test", "adjust_pvalues",
        "bayes_test", "sequential_test", "power", "mde", "sample_size",
        "DiffTest", "LiftTest", "SRMResult", "BayesTest", "SequentialTest",
    }  # fmt: skip
    for name in fs.__all__:
        assert getattr(fs, name).__doc__


def test_docstring_examples_run():
    """The numpydoc examples are doctests; they must print what they claim."""
    modules = [fs] + [
        importlib.import_module(f"{fs.__name__}.{info.name}") for info in pkgutil.iter_modules(fs.__path__)
    ]
    attempted = failed = 0
    for module in modules:
        res = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        attempted += res.attempted
        failed += res.failed
    assert attempted > 15
    assert failed == 0
