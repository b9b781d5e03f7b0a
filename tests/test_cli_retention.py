"""cli/_retention.py: `funnelkit retention ...` through funnelkit.cli.main."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from funnelkit import cli
from funnelkit.analyses.retention import loyalty, retention


@pytest.fixture(scope="module")
def path(tmp_path_factory) -> str:
    rng = np.random.default_rng(8)
    n = 3000
    users = rng.integers(0, 300, n)
    ev = pd.DataFrame({"user_id": users,
                       "timestamp": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 20 * 24 * 60, n), "min"),
                       "event": rng.choice(["view", "purchase"], n, p=[0.8, 0.2]),
                       "variant": np.where(users % 2, "A", "B")}).drop_duplicates()
    p = tmp_path_factory.mktemp("cli") / "ev.parquet"
    ev.to_parquet(p)
    return str(p)


def _run(argv, capsys):
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_table_csv_equals_the_library(path, capsys) -> None:
    code, out, _ = _run(["retention", path, "--period", "W", "--format", "csv"], capsys)
    assert code == 0
    got = pd.read_csv(io.StringIO(out))
    want = retention(path, period="W").table
    assert got["retained"].tolist() == want["retained"].tolist()
    assert got["complete"].tolist() == want["complete"].tolist()


def test_comparison_json_and_brackets(path, capsys) -> None:
    code, out, _ = _run(["retention", path, "--start", "purchase", "--return", "purchase", "--period", "7D",
                         "--compare", "variant", "--control", "A", "--show", "comparison", "--format", "json"], capsys)
    assert code == 0
    rows = json.loads(out)
    want = retention(path, start="purchase", returning="purchase", period="7D", compare="variant", control="A")
    got = np.array([np.nan if r["p_adjusted"] is None else r["p_adjusted"] for r in rows], dtype=float)
    assert np.isfinite(got).sum() >= 1
    np.testing.assert_allclose(got, want.comparison["p_adjusted"].to_numpy(dtype=float))
    code, out, _ = _run(["retention", path, "--kind", "bracket", "--brackets", "0,1-7", "--show", "curve"], capsys)
    assert code == 0 and "1-7" in out


def test_output_path_checked_before_the_log_is_read(path, tmp_path, capsys) -> None:
    code, out, err = _run(["retention", path, "--out", str(tmp_path / "missing" / "t.csv")], capsys)
    assert code == 2 and out == "" and "--out" in err and err.count("\n") == 1
    code, _, err = _run(["retention", "--user-col", "uid"], capsys)  # reading flags need EVENTS
    assert code == 2 and "--user-col" in err


def test_loyalty_output(path, capsys, tmp_path) -> None:
    out_file = tmp_path / "rep.csv"
    code, _, _ = _run(["retention", path, "--loyalty", "--within", "5D", "--out", str(out_file)],
                      capsys)
    assert code == 0
    got = pd.read_csv(out_file)
    want = loyalty(path, within="5D").repeat
    assert got[["buyers", "eligible", "repeaters"]].values.tolist() == want[["buyers", "eligible", "repeaters"]].values.tolist()


@pytest.mark.parametrize("argv, msg", [
    (["--period", "d"], "calendar periods"),
    (["--kind", "bracket", "--brackets", "0,x"], "--brackets"),
    (["--show", "medians"], "needs --loyalty"),
    (["--show", "comparison"], "needs --compare"),
])
def test_errors_exit_2_with_one_line(path, capsys, argv, msg) -> None:
    code, out, err = _run(["retention", path, *argv], capsys)
    assert code == 2 and out == ""
    assert msg in err and err.count("\n") == 1


def test_tmp_dir_checked_before_the_log_is_read(path, tmp_path, capsys) -> None:
    code, out, err = _run(["retention", path, "--memory-budget", "1MB", "--tmp-dir", str(tmp_path / "nope")], capsys)
    assert code == 2 and out == "" and "does not exist" in err
    code, out, _ = _run(["retention", path, "--memory-budget", "1MB", "--tmp-dir", str(tmp_path)], capsys)
    assert code == 0 and "cohort" in out


def test_a_parquet_file_is_streamed_unless_a_reading_flag_needs_the_whole_log(path, capsys, spy_calls) -> None:
    # as fk.retention(path): the engine reads only the columns it needs, block by block;
    # a reading flag (here --tz) reads the log first, with the same table
    import funnelkit as fk

    calls = spy_calls(fk, "read_events")  # the name the command line calls
    code, streamed, _ = _run(["retention", path, "--period", "W", "--format", "csv"], capsys)
    assert code == 0 and calls == []
    code, framed, _ = _run(["retention", path, "--period", "W", "--format", "csv", "--tz", "UTC"], capsys)
    assert code == 0 and len(calls) == 1 and calls[0]["tz"] == "UTC"
    assert streamed == framed
