"""Tests for funnelkit.report.conclusions: one plain-language sentence per (variant, step)."""

from __future__ import annotations

import pytest
from _report_helpers import EN, ES, NBSP, pct

import funnelkit as fk
from funnelkit.datasets._journeys import shop_journey
from funnelkit.errors import ParameterError
from funnelkit.report import experiment_conclusions


@pytest.fixture(scope="module")
def exp():
    events = fk.datasets.make_shop(n_users=3000, seed=1)
    return fk.experiment(events, shop_journey(), variant_col="variant", control="A", window="7D")


@pytest.mark.parametrize("lang, labels", [("en", EN), ("es", ES)])
def test_one_sentence_per_treatment_step(exp, lang, labels):
    sentences = experiment_conclusions(exp, lang)
    treat = exp.table[exp.table["variant"].astype(str) != "A"]
    assert len(sentences) == len(treat)
    for s, r, lab in zip(sentences, treat.itertuples(), labels):
        assert lab in s
        if r.verdict == "significant increase":
            assert ("raises" in s) if lang == "en" else ("aumenta" in s)
            assert pct(r.rate, lang).replace(" ", NBSP) in s
        elif r.verdict == "no significant difference":
            assert ("no significant difference" in s) if lang == "en" else ("no muestra" in s)


def test_the_method_and_the_function_agree(exp):
    assert exp.conclusions("es") == experiment_conclusions(exp, "es")
    assert exp.conclusions() == experiment_conclusions(exp)


def test_refuses_other_objects(exp):
    with pytest.raises(ParameterError, match="takes an ExperimentResult"):
        experiment_conclusions(exp.table)
    with pytest.raises(ParameterError, match="lang"):
        experiment_conclusions(exp, "fr")
