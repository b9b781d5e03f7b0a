"""Tests of the public surface of funnelkit.stats: its names and its docstring examples
(the examples of every module of the package)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import funnelkit.stats as fs
from funnelkit import stats


def test_public_api():
    assert set(fs.__all__) == {
        "proportion_ci", "diff_test", "lift_test", "srm_test", "adjust_pvalues",
        "bayes_test", "sequential_test", "power", "mde", "sample_size",
        "DiffTest", "LiftTest", "SRMResult", "BayesTest", "SequentialTest",
        "mean_test", "sample_moments", "ratio_moments", "cuped", "mean_bayes_test",
        "MeanTest", "CupedResult", "MeanBayesTest",
        "association_test", "odds_ratio", "fisher_pvalue", "chi2_pvalue", "AssociationTest",
        "kaplan_meier", "logrank_test", "KaplanMeier", "LogRankTest",
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


@pytest.mark.parametrize("call", [
    lambda: stats.diff_test("one", 10, 2, 10),
    lambda: stats.power(0.2, 0.05, "a hundred"),
    lambda: stats.proportion_ci(3, 40, alpha="x"),
    lambda: stats.sequential_test(1, 10, 2, 10, n_star=None),
    lambda: stats.adjust_pvalues([0.1, "x"]),
    lambda: stats.srm_test([10, 10], threshold="x"),
    lambda: stats.mde(0.2, 100, power="x"),
    lambda: stats.bayes_test(1, 10, 2, 10, prior="x"),
])
def test_text_and_bad_options_raise_parameter_error(call):
    # issue 14, defect 6: every argument of fk.stats is checked at the boundary
    from funnelkit.errors import ParameterError

    with pytest.raises(ParameterError):
        call()
