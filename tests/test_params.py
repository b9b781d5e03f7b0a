"""Tests for funnelkit._params: durations and choices."""

import pandas as pd
import pytest

from funnelkit._params import check_choice, parse_duration
from funnelkit.errors import ParameterError


@pytest.mark.parametrize("value,expected", [("30min", "30min"), ("7D", "7D"), (" 1h ", "1h"),
                                            (pd.Timedelta("90s"), "90s")])
def test_parse_duration(value, expected):
    assert parse_duration(value, name="w") == pd.Timedelta(expected)


@pytest.mark.parametrize("value", [3600, 1.5, "3600", " 12 ", True])
def test_bare_numbers_refused(value):
    with pytest.raises(ParameterError, match="`w`"):
        parse_duration(value, name="w")


def test_other_duration_errors():
    with pytest.raises(ParameterError, match="not a duration"):
        parse_duration("soon", name="w")
    with pytest.raises(ParameterError, match="positive"):
        parse_duration("-1h", name="w")
    with pytest.raises(ParameterError, match="positive"):
        parse_duration("0s", name="w")
    assert parse_duration("0s", name="w", allow_zero=True) == pd.Timedelta(0)
    with pytest.raises(ParameterError, match="required"):
        parse_duration(None, name="w")
    assert parse_duration(None, name="w", allow_none=True) is None


def test_check_choice():
    assert check_choice("a", name="m", choices=("a", "b")) == "a"
    with pytest.raises(ParameterError, match="Did you mean 'ordered'"):
        check_choice("orderd", name="mode", choices=("ordered", "strict"))


def test_parse_timestamp():
    from funnelkit._params import parse_timestamp

    assert parse_timestamp("2026-03-01", name="start") == pd.Timestamp("2026-03-01", tz="UTC")
    assert parse_timestamp(pd.Timestamp("2026-03-01 01:00", tz="Europe/Madrid"), name="s") == pd.Timestamp(
        "2026-03-01 00:00", tz="UTC")
    with pytest.raises(ParameterError, match="`start`='soon' is not a date"):
        parse_timestamp("soon", name="start")
    with pytest.raises(ParameterError, match="not NaT"):
        parse_timestamp(pd.NaT, name="end")


# ---------------------------------------------------------------- issue 15 / 16


import warnings as _warnings

from funnelkit._params import MAX_DURATION, cut_text, cut_value
from funnelkit._params import parse_duration as _pd


@pytest.mark.parametrize("text, want", [
    ("7d", pd.Timedelta(days=7)), ("7D", pd.Timedelta(days=7)), ("1H", pd.Timedelta(hours=1)),
    ("30T", pd.Timedelta(minutes=30)), ("10S", pd.Timedelta(seconds=10)), ("5L", pd.Timedelta(milliseconds=5)),
    ("2W", pd.Timedelta(days=14)), ("1.5h", pd.Timedelta(minutes=90)), ("30 min", pd.Timedelta(minutes=30)),
    ("3 days", pd.Timedelta(days=3)), ("1h30min", pd.Timedelta(minutes=90)), ("0.000000001s", pd.Timedelta(1)),
    ("36500D", MAX_DURATION),
])
def test_durations_without_dependency_warnings(text, want):
    with _warnings.catch_warnings():
        _warnings.simplefilter("error")
        assert _pd(text, name="window") == want


@pytest.mark.parametrize("value", ["36501D", "100000D", "1000000D", "1e30D", pd.Timedelta(days=40_000)])
def test_window_beyond_the_cap_names_the_largest(value):
    with pytest.raises(ParameterError, match=r"longest window funnelkit accepts, 36,500 days.*'36500D'.*window=None"):
        _pd(value, name="window")


def test_other_durations_reach_the_timedelta_range():
    assert _pd("100000D", name="timeout") == pd.Timedelta(days=100_000)
    with pytest.raises(ParameterError, match=r"longest timeout funnelkit accepts, 106,751 days"):
        _pd("1000000D", name="timeout")
    with pytest.raises(ParameterError, match="Months and years have no fixed length"):
        _pd("3M", name="window")


def test_cut_values_in_messages():
    assert cut_text("abc") == "abc"
    assert cut_value("x" * 10**6) == "'" + "x" * 80 + "… (1000000 characters)"
    assert cut_value(list(range(10**6))) == "<list of 1000000 items>"
    assert len(cut_value({"k": "v" * 10**6})) < 200
    with pytest.raises(ParameterError) as exc:
        _pd("y" * 10**6, name="window")
    assert len(str(exc.value)) < 400
    with pytest.raises(ParameterError) as exc:
        check_choice("z" * 10**6, name="mode", choices=("ordered", "strict"))
    assert len(str(exc.value)) < 400
