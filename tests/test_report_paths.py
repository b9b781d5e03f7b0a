"""report/_paths.py: the drop-off sections in both languages, from results only."""

from __future__ import annotations

import doctest

import pytest

import funnelkit as fk
from funnelkit.analyses.frictions import frictions
from funnelkit.analyses.paths import dropoff_paths
from funnelkit.errors import ParameterError
from funnelkit.report import _paths

pytestmark = pytest.mark.filterwarnings("ignore::funnelkit.errors.DuplicateEventsWarning")


@pytest.fixture(scope="module")
def made():
    ev = fk.load_sample("shop")
    ev = ev[ev["user_id"] < 700].reset_index(drop=True)
    res = fk.funnel(ev, ["landing", "product_view", "purchase"], window="7D")
    k = _paths.largest_dropoff_step(res)
    return ev, res, k, dropoff_paths(ev, res, step=k), frictions(ev, res, step=k, properties=["channel"])


def test_largest_dropoff_step(made):
    _, res, k, _, _ = made
    drops = res.table["dropoff"].tolist()[1:]
    assert drops[k - 1] == max(drops)


@pytest.mark.parametrize("lang, words", [("en", ["Where the drop-outs went", "association, not a cause", "Odds ratio"]),
                                         ("es", ["¿Adónde fueron", "asociación, no causa", "Razón de momios"])])
def test_sections_in_both_languages(made, lang, words):
    _, res, k, dp, fr = made
    html = _paths.dropoff_section(dp, fr, lang=lang)
    for w in words:
        assert w in html
    assert html.count("<table>") == 2 and "data:image/png;base64" in html
    assert dp.table["path"].iloc[0].replace("→", "&#8594;") in html or dp.table["path"].iloc[0] in html
    assert _paths.dropoff_section(dp, lang=lang).count("<table>") == 1


def test_wrong_inputs_raise(made):
    ev, res, k, dp, fr = made
    with pytest.raises(ParameterError, match="DropoffPathsResult"):
        _paths.dropoff_section(res)
    with pytest.raises(ParameterError, match="lang"):
        _paths.dropoff_section(dp, lang="fr")
    other = frictions(ev, res, step=1 if k == 2 else 2)
    with pytest.raises(ParameterError, match="same step"):
        _paths.dropoff_section(dp, other)


def test_docstring_example():
    r = doctest.testmod(_paths, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert r.attempted and not r.failed
