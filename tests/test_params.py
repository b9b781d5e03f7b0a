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
