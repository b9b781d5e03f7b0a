"""The docstring examples of the core modules run and show the output they claim.

(plotting, report, trends, stats, io, _schema, sessions, datasets and _kernels run
their examples in their own test modules.)
"""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "funnelkit.analyses.funnel",
    "funnelkit.journey.stages",
    "funnelkit.analyses.timing",
    "funnelkit.analyses.experiment",
    "funnelkit._params",
    "funnelkit.datasets._journeys",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
