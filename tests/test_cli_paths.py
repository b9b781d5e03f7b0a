"""cli/_paths.py: `funnelkit paths` (on a parser built here, and through funnelkit.cli.main)."""

from __future__ import annotations

import argparse

import pandas as pd
import pytest

from funnelkit.cli import _paths as _cli_paths
from funnelkit.errors import ParameterError

pytestmark = pytest.mark.filterwarnings("ignore::funnelkit.errors.DuplicateEventsWarning")


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    import funnelkit as fk

    ev = fk.load_sample("shop")
    ev = ev[ev["user_id"] < 600].reset_index(drop=True)
    path = tmp_path_factory.mktemp("cli") / "ev.parquet"
    ev.to_parquet(path)
    return ev, str(path)


def parse(argv):
    p = argparse.ArgumentParser(prog="funnelkit")
    sub = p.add_subparsers(dest="command")
    _cli_paths.register(sub)
    return p.parse_args(["paths", *argv])


def run(argv) -> int:
    args = parse(argv)
    return args.func(args)


def test_top_paths_text_and_csv(log, capsys):
    from funnelkit.analyses.paths import paths

    ev, path = log
    assert run([path, "--length", "3", "--start", "landing", "--top", "5"]) == 0
    out = capsys.readouterr().out
    want = paths(ev, length=3, start="landing", top=5).table
    assert want["path"].iloc[0] in out
    assert run([path, "--length", "3", "--start", "landing", "--top", "5", "--format", "csv"]) == 0
    import io

    got = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert got["path"].tolist() == want["path"].tolist()
    assert "median_time_s" in got.columns and got["units"].tolist()[:5] == want["units"].tolist()[:5]


def test_dropoff_and_frictions_of_a_funnel(log, capsys, tmp_path):
    ev, path = log
    steps = "landing,product_view,purchase"
    assert run([path, "--steps", steps, "--dropoff", "2"]) == 0
    assert "dropped_share" in capsys.readouterr().out
    out = tmp_path / "fr.csv"
    assert run([path, "--steps", steps, "--frictions", "product_view", "--properties", "channel", "--out", str(out)]) == 0
    fr = pd.read_csv(out)
    assert {"odds_ratio", "p_adjusted", "candidate"} <= set(fr.columns)
    assert fr["candidate"].str.startswith("channel=").any()


@pytest.mark.parametrize("argv, match", [
    (["--properties", "channel"], "--frictions"),
    (["--steps", "a,b", "--dropoff", "1", "--start", "a"], "leave them out"),
    (["--by", "channel"], "--by"),
    (["--length", "0"], "at least 1"),
])
def test_bad_combinations_fail_before_reading(log, argv, match):
    _, path = log
    with pytest.raises(ParameterError, match=match):
        run([path, *argv])


def test_mutually_exclusive_and_sample_default(capsys):
    with pytest.raises(SystemExit):
        parse(["--dropoff", "1", "--frictions", "1"])
    assert run(["--length", "2", "--top", "3"]) == 0  # the bundled sample
    assert "→" in capsys.readouterr().out


def test_funnel_flags_and_tmp_dir_reach_the_analyses(log, monkeypatch, tmp_path, capsys, spy_kwargs):
    """paths' funnel honours the funnel's mode flags, and --tmp-dir reaches every analysis."""
    import funnelkit as fk

    ev, path = log
    seen = spy_kwargs(fk, "funnel")
    assert run([path, "--steps", "landing,product_view,purchase", "--dropoff", "2", "--reuse-events",
                "--tmp-dir", str(tmp_path), "--memory-budget", "1MB"]) == 0
    assert seen["reuse_events"] is True and seen["on_unknown"] == "raise"
    assert "dropped_share" in capsys.readouterr().out
    assert run([path, "--length", "3", "--tmp-dir", str(tmp_path), "--memory-budget", "1MB"]) == 0
