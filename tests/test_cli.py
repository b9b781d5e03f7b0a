"""Tests for the funnelkit command line (run in-process through cli.main)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import funnelkit as fk
from funnelkit import cli


@pytest.fixture(scope="module")
def own_parquet(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    ev = fk.datasets.make_shop(n_users=1500, seed=2)
    path = d / "own.parquet"
    ev.rename(columns={"user_id": "uid", "timestamp": "ts", "event": "name"}).to_parquet(path)
    journey = d / "journey.toml"
    fk.datasets.shop_journey(lang="es").to_toml(journey)
    return path, journey, ev


def test_help_on_every_subcommand(capsys):
    for sub in ([], ["report"], ["funnel"], ["sessionize"]):
        with pytest.raises(SystemExit) as e:
            cli.main([*sub, "--help"])
        assert e.value.code == 0
        assert "usage: funnelkit" in capsys.readouterr().out


def test_report_on_own_parquet_with_journey(own_parquet, tmp_path, capsys):
    path, journey, _ = own_parquet
    out = tmp_path / "r.html"
    rc = cli.main(["report", str(path), "--user-col", "uid", "--time-col", "ts", "--event-col", "name",
                   "--journey", str(journey), "--variant-col", "variant", "--control", "A",
                   "--lang", "es", "--out", str(out), "--no-progress"])
    assert rc == 0
    html = out.read_text(encoding="utf-8")
    assert "Descubrimiento" in html and "Compra" in html
    assert f"wrote {out}" in capsys.readouterr().err


def test_report_on_the_bundled_sample(tmp_path, capsys):
    out = tmp_path / "report.html"
    assert cli.main(["report", "--out", str(out), "--no-progress"]) == 0
    html = out.read_text(encoding="utf-8")
    heads = re.findall(r"<h2[^>]*>(.*?)</h2>", html)
    assert heads == ["Summary", "Health checks", "Design", "Results by step", "Conclusions", "Conversion by variant",
                     "Time to convert", "Conversion trend", "Journey map", "Power and sample size"]
    assert html.count("data:image/png;base64,") == 4
    # the date range under the title comes from the trend the command computed
    assert "Data: Mar 1, 2026" in html
    assert f"wrote {out}" in capsys.readouterr().err


def test_report_computes_the_results_it_passes(own_parquet, tmp_path, monkeypatch):
    """The command computes the trend and the journey map and hands them to the report as results."""
    from funnelkit import report
    from funnelkit.analyses.journey_map import JourneyMapResult
    from funnelkit.analyses.trends import TrendResult

    seen = {}
    real = report.funnel_report

    def spy(result, path, **kwargs):
        seen.update(kwargs)
        return real(result, path, **kwargs)

    monkeypatch.setattr(report, "funnel_report", spy)
    path, journey, _ = own_parquet
    out = tmp_path / "f.html"
    rc = cli.main(["report", str(path), "--user-col", "uid", "--time-col", "ts", "--event-col", "name",
                   "--journey", str(journey), "--window", "3D", "--out", str(out), "--no-progress"])
    assert rc == 0
    assert isinstance(seen["trend"], TrendResult) and isinstance(seen["journey_map"], JourneyMapResult)
    assert seen["trend"].params["window"] == pd.Timedelta("3D")
    assert seen["journey_map"].params["touchpoint"] == "channel"
    html = out.read_text(encoding="utf-8")
    assert "Tendencia de la conversión" in html and "Mapa del recorrido" in html  # the journey file is Spanish


def test_report_without_the_touchpoint_column_leaves_the_map_out(own_parquet, tmp_path, capsys):
    path, journey, ev = own_parquet
    plain = tmp_path / "plain.parquet"
    ev.drop(columns=["channel"]).to_parquet(plain)
    out = tmp_path / "p.html"
    rc = cli.main(["report", str(plain), "--journey", str(journey), "--variant-col", "variant", "--control", "A",
                   "--out", str(out), "--no-progress"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "no column 'channel'" in err and "--touchpoint" in err
    html = out.read_text(encoding="utf-8")
    assert "Conversion trend" in html and "Journey map" not in html


def test_funnel_prints_the_table_matching_the_library(own_parquet, capsys):
    path, _, ev = own_parquet
    rc = cli.main(["funnel", str(path), "--user-col", "uid", "--time-col", "ts", "--event-col", "name",
                   "--steps", "landing,product_view,purchase", "--window", "1D", "--format", "csv"])
    assert rc == 0
    got = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    want = fk.funnel(ev, ["landing", "product_view", "purchase"], window="1D").table
    assert got["units"].tolist() == want["units"].tolist()


def test_sessionize_writes_a_file(own_parquet, tmp_path):
    path, _, ev = own_parquet
    out = tmp_path / "s.parquet"
    rc = cli.main(["sessionize", str(path), str(out), "--user-col", "uid", "--time-col", "ts",
                   "--event-col", "name", "--timeout", "30min"])
    assert rc == 0
    s = pd.read_parquet(out)
    assert len(s) == len(ev) and "session_id" in s.columns


def test_bad_input_gives_one_line_and_exit_2(own_parquet, tmp_path, capsys):
    path, _, _ = own_parquet
    assert cli.main(["funnel", str(tmp_path / "missing.parquet"), "--steps", "a,b"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("funnelkit: error:") and "missing.parquet" in err and "Traceback" not in err
    assert cli.main(["funnel", str(path), "--steps", "landing,purchase"]) == 2
    err = capsys.readouterr().err
    assert "'uid'" in err and "--user-col" in err and err.count("\n") == 1
    assert cli.main(["funnel", str(path), "--user-col", "uid", "--time-col", "ts", "--event-col", "name",
                     "--steps", "landing,purchse"]) == 2
    assert "did you mean 'purchase'" in capsys.readouterr().err
    assert cli.main(["funnel", "--window", "3600"]) == 2
    assert "bare number" in capsys.readouterr().err
    with pytest.raises(fk.errors.FunnelkitError):
        cli.main(["--debug", "funnel", "--window", "3600"])


def test_sessionize_rejects_unknown_output_suffix(own_parquet, tmp_path, capsys):
    path, _, _ = own_parquet
    rc = cli.main(["sessionize", str(path), str(tmp_path / "x.xlsx"), "--user-col", "uid", "--time-col", "ts",
                   "--event-col", "name"])
    assert rc == 2 and ".parquet or .csv" in capsys.readouterr().err
