"""Tests for funnelkit.journey.stages: presets, rules, assignment, TOML round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import funnelkit as fk
from funnelkit.errors import (
    FunnelkitWarning,
    JourneyError,
    OverlappingRulesError,
    ParameterError,
    UnknownEventError,
    UnknownStageError,
)
from funnelkit.journey.stages import PRESETS


def make_log(rows):
    """rows: (user, minute, event[, channel])"""
    df = pd.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "timestamp": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta([r[1] for r in rows], unit="min"),
            "event": [r[2] for r in rows],
            "channel": [r[3] if len(r) > 3 else None for r in rows],
        }
    )
    df["event"] = df["event"].astype("category")
    return df


def test_presets_have_design_labels():
    assert [s[0] for s in PRESETS["five_stage"]] == ["discovery", "consideration", "purchase", "use", "loyalty"]
    assert [s[2] for s in PRESETS["five_stage"]] == [
        "Descubrimiento", "Consideración", "Compra", "Uso", "Fidelización"]
    assert [s[2] for s in PRESETS["digital_four"]] == ["Conciencia", "Compromiso", "Transacción", "Retención"]
    assert [s[2] for s in PRESETS["three_phase"]] == [
        "Antes de la compra", "Durante la compra", "Después de la compra"]
    assert [s[0] for s in PRESETS["seven_stage"]] == [
        "awareness", "consideration", "decision", "purchase", "post_purchase", "loyalty", "advocacy"]
    assert PRESETS["seven_stage"][4][2] == "Experiencia posterior a la compra"
    assert PRESETS["seven_stage"][6][2] == "Promoción"


def test_preset_labels_and_subset():
    j = fk.Journey.preset("five_stage", lang="es", events={"discovery": "landing", "purchase": "purchase"})
    assert j.names == ("discovery", "purchase")
    assert j.labels() == ("Descubrimiento", "Compra")
    assert j.labels("en") == ("Discovery", "Purchase")


def test_preset_typo_suggests():
    with pytest.raises(UnknownStageError, match="did you mean 'consideration'|Did you mean 'consideration'"):
        fk.Journey.preset("five_stage", events={"considertion": "product_view"})
    with pytest.raises(ParameterError, match="five_stage"):
        fk.Journey.preset("five_stages", events={"discovery": "x"})


def test_assign_plain_glob_regex_where():
    ev = make_log([
        (1, 0, "landing", "paid_ads"), (1, 1, "product_view"), (1, 2, "product_zoom"),
        (1, 3, "checkout_start"), (1, 4, "purchase"), (1, 5, "landing", "newsletter"), (1, 6, "page_view"),
    ])
    j = fk.Journey({
        "paid": fk.Rule("landing", where={"channel": "paid_ads"}),
        "browse": "product_*",
        "checkout": fk.Rule(regex=r"checkout_\w+"),
        "buy": ["purchase"],
    })
    got = j.assign_stages(ev)
    assert got.iloc[:5].tolist() == ["paid", "browse", "browse", "checkout", "buy"]
    assert got.iloc[5:].isna().all()
    assert got.index.equals(ev.index)


def test_repeat_and_after_take_precedence():
    ev = make_log([
        (1, 0, "app_open"), (1, 1, "landing"), (1, 2, "purchase"), (1, 3, "app_open"),
        (1, 4, "purchase"), (1, 5, "purchase"),
        (2, 0, "purchase"), (2, 1, "app_open"),
    ])
    j = fk.Journey({
        "discovery": "landing",
        "purchase": "purchase",
        "use": fk.after("purchase", ["app_open"]),
        "loyalty": fk.repeat("purchase", nth=2),
    })
    got = j.assign_stages(ev).astype(object).where(lambda s: s.notna(), None).tolist()
    # first app_open is before any purchase: no stage; the 2nd purchase is loyalty; the 3rd is plain.
    assert got == [None, "discovery", "purchase", "use", "loyalty", "purchase", "purchase", "use"]


def test_repeat_counts_per_unit_in_time_order_not_row_order():
    ev = make_log([(1, 5, "purchase"), (1, 0, "purchase"), (2, 1, "purchase")])
    j = fk.Journey({"buy": "purchase", "rebuy": fk.repeat("purchase", 2)})
    assert j.assign_stages(ev).tolist() == ["rebuy", "buy", "buy"]


def test_overlap_error_names_events():
    ev = make_log([(1, 0, "landing"), (1, 1, "product_view")])
    j = fk.Journey({"a": ["landing", "product_view"], "b": "product_*"})
    with pytest.raises(OverlappingRulesError, match="'product_view' in stages 'a', 'b'"):
        j.assign_stages(ev)


def test_unknown_event_typo():
    ev = make_log([(1, 0, "landing"), (1, 1, "purchase")])
    j = fk.Journey({"a": "landing", "b": "purchse"})
    with pytest.warns(FunnelkitWarning, match=r"'purchse'.*did you mean 'purchase'"):
        got = j.assign_stages(ev)
    assert got.tolist()[0] == "a" and pd.isna(got.tolist()[1])  # the absent name selects nothing
    with pytest.raises(UnknownEventError, match=r"'purchse'.*did you mean 'purchase'"):
        j.check_events(["landing", "purchase"], on_unknown="raise")
    with pytest.raises(ParameterError, match="on_unknown"):
        j.check_events(["landing"], on_unknown="error")


def test_check_events_names_the_closest_events_of_the_log():
    j = fk.Journey({"a": "landing", "b": "zzz"})
    with pytest.warns(FunnelkitWarning, match=r"'zzz' \(stage 'b'; closest event names: ") as rec:
        j.check_events(["landing", "purchase"])
    assert len(rec) == 1
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fk.Journey({"a": "landing"}).check_events(["landing"])  # nothing missing: silent


def test_after_unknown_stage_and_cycle():
    with pytest.raises(UnknownStageError, match="purchse"):
        fk.Journey({"buy": "purchase", "use": fk.after("purchse", "app_open")})
    with pytest.raises(JourneyError, match="cycle"):
        fk.Journey({"a": fk.after("b", "x"), "b": fk.after("a", "y")})


def test_bad_specs():
    with pytest.raises(JourneyError):
        fk.Journey({})
    with pytest.raises(JourneyError, match="nth"):
        fk.repeat("purchase", nth=0)
    with pytest.raises(JourneyError, match="regular expression"):
        fk.Rule(regex="(")
    with pytest.raises(JourneyError, match="where"):
        fk.Rule("x", where={})
    with pytest.raises(JourneyError):
        fk.Journey({"a": 3})


def test_toml_round_trip(tmp_path):
    j = fk.Journey.preset("five_stage", lang="es", events={
        "discovery": ["landing", "ad_click"],
        "consideration": fk.Rule(["product_view"], where={"channel": ["web", "app"]}),
        "purchase": "purchase",
        "use": fk.after("purchase", ["app_open", "review"]),
        "loyalty": fk.repeat("purchase", nth=2),
    })
    path = tmp_path / "j.toml"
    text = j.to_toml(path)
    assert "after = \"purchase\"" in text
    back = fk.Journey.from_toml(path)
    assert back == j
    assert back.labels() == ("Descubrimiento", "Consideración", "Compra", "Uso", "Fidelización")


def test_toml_errors(tmp_path):
    with pytest.raises(JourneyError, match="does not exist"):
        fk.Journey.from_toml(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("stages = [ {name = 'a', event = 'x'} ]")
    with pytest.raises(JourneyError, match="unknown key"):
        fk.Journey.from_toml(bad)
    bad.write_text("this is = not toml =")
    with pytest.raises(JourneyError, match="not valid TOML"):
        fk.Journey.from_toml(bad)


def test_select_keeps_hidden_after_targets():
    ev = make_log([(1, 0, "landing"), (1, 1, "app_open"), (1, 2, "purchase"), (1, 3, "app_open")])
    j = fk.Journey({"visit": "landing", "buy": "purchase", "use": fk.after("buy", "app_open")})
    sub = j.select(["visit", "use"])
    assert sub.names == ("visit", "use")
    got = sub.assign_stages(ev).astype(object).where(lambda s: s.notna(), None).tolist()
    assert got == ["visit", None, None, "use"]
    with pytest.raises(UnknownStageError, match="Did you mean 'visit'"):
        j.select(["visti"])


def test_from_steps_and_repr():
    j = fk.Journey.from_steps(["landing", ["product_view", "add_to_cart"], "purchase"])
    assert j.names == ("landing", "product_view | add_to_cart", "purchase")
    assert "3 stages" in repr(j)
    with pytest.raises(JourneyError, match="twice"):
        fk.Journey.from_steps(["a", "a"])


def test_spanish_label_falls_back_to_the_english_one_then_the_name():
    j = fk.Journey([fk.Stage("browse", (fk.Rule("view"),), label_en="Browsing"),
                    fk.Stage("buy", (fk.Rule("purchase"),), label_es="Compra")])
    assert j.labels("es") == ("Browsing", "Compra")
    assert j.labels("en") == ("Browsing", "buy")



def test_from_dict_refuses_a_bare_label_and_names_the_keys():
    from funnelkit.errors import JourneyError

    with pytest.raises(JourneyError, match="no bare `label` key; give `label_en` and/or `label_es`"):
        fk.Journey.from_dict({"stages": [{"name": "browse", "events": ["view"], "label": "Browsing"}]})
    with pytest.raises(JourneyError, match="`label_es` must be text"):
        fk.Journey.from_dict({"stages": [{"name": "browse", "events": ["view"], "label_es": 3}]})
    j = fk.Journey.from_dict({"stages": [{"name": "browse", "events": ["view"], "label_en": "Browsing"}]})
    assert j.labels("es") == ("Browsing",)


# --------------------------------------------------------------------------- mutation audit (journey and input)


def _stages(journey, ev):
    return journey.assign_stages(ev).astype(object).where(lambda s: s.notna(), None).tolist()


def test_where_list_matches_any_of_its_values():
    # where={"channel": ["newsletter", "social"]}: either value selects the landing, another
    # channel none -> newsletter: owned, social: owned, paid_ads: no stage
    ev = make_log([(1, 0, "landing", "newsletter"), (1, 1, "landing", "social"), (1, 2, "landing", "paid_ads")])
    j = fk.Journey({"owned": fk.Rule("landing", where={"channel": ["newsletter", "social"]})})
    assert _stages(j, ev) == ["owned", "owned", None]


def test_where_never_matches_a_missing_property():
    # a purchase with no channel is not channel == "store" -> [store, None]
    ev = make_log([(1, 0, "purchase", "store"), (1, 1, "purchase")])
    j = fk.Journey({"store": fk.Rule("purchase", where={"channel": "store"})})
    assert _stages(j, ev) == ["store", None]


def test_where_on_two_columns_needs_both():
    # channel == ads AND device == mobile: (ads, mobile) yes, (ads, desktop) no, (seo, mobile) no
    ev = make_log([(1, 0, "landing", "ads"), (1, 1, "landing", "ads"), (1, 2, "landing", "seo")])
    ev["device"] = ["mobile", "desktop", "mobile"]
    j = fk.Journey({"ads_mobile": fk.Rule("landing", where={"channel": "ads", "device": "mobile"})})
    assert _stages(j, ev) == ["ads_mobile", None, None]


def test_regex_must_match_the_whole_event_name():
    # re.fullmatch: regex "checkout" selects 'checkout', not 'checkout_start' (a prefix match would)
    ev = make_log([(1, 0, "checkout"), (1, 1, "checkout_start")])
    assert _stages(fk.Journey({"co": fk.Rule(regex="checkout")}), ev) == ["co", None]


def test_after_a_stage_counts_only_events_strictly_after_its_first_event():
    # again = purchase after reaching buy; the first purchase reaches buy and is not after
    # itself -> user 1: buy, again, again; user 2 (one purchase): buy
    ev = make_log([(1, 0, "purchase"), (1, 5, "purchase"), (1, 9, "purchase"), (2, 0, "purchase")])
    j = fk.Journey({"buy": "purchase", "again": fk.after("buy", "purchase")})
    assert _stages(j, ev) == ["buy", "again", "again", "buy"]


def test_labels_for_a_stage_the_journey_lacks_are_refused():
    with pytest.raises(UnknownStageError, match="'chekout'"):
        fk.Journey({"visit": "landing"}, labels={"chekout": ("Checkout", "Pago")})
    j = fk.Journey({"visit": "landing"}, labels={"visit": ("Visit", "Visita")})
    assert j.labels("es") == ("Visita",)


def test_select_follows_chains_of_after_targets():
    # review = review after use; use = app_open after buy. select(visit, review) keeps use and,
    # through it, buy as hidden stages: review@1 precedes any use -> none; purchase@2 (buy,
    # hidden), app_open@3 (use, hidden) -> none; review@4 is after use -> review
    ev = make_log([(1, 0, "landing"), (1, 1, "review"), (1, 2, "purchase"), (1, 3, "app_open"), (1, 4, "review")])
    j = fk.Journey({"visit": "landing", "buy": "purchase", "use": fk.after("buy", "app_open"),
                    "review": fk.after("use", "review")})
    sub = j.select(["visit", "review"])
    assert _stages(sub, ev) == ["visit", None, None, None, "review"]
