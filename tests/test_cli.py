"""Tests for the funnelkit command line (run in-process through cli.main)."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
import warnings

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
                     "Time to convert", "Conversion trend", "Journey map", "Where the drop-outs went",
                     "What goes with dropping out", "Retention: who comes back", "Power and sample size"]
    assert html.count("data:image/png;base64,") == 8  # 4 + drop-off shares, frictions, retention curve and KM
    # the date range under the title comes from the trend the command computed
    assert "Data: Mar 1, 2026" in html
    assert f"wrote {out}" in capsys.readouterr().err


def test_report_computes_the_results_it_passes(own_parquet, tmp_path, monkeypatch, spy_kwargs):
    """The command computes the trend and the journey map and hands them to the report as results."""
    from funnelkit import report
    from funnelkit.analyses.journey_map import JourneyMapResult
    from funnelkit.analyses.trends import TrendResult

    seen = spy_kwargs(report, "funnel_report")
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



# --------------------------------------------------------------------------- issue 16: messages in CLI terms


@pytest.fixture()
def csvs(tmp_path):
    """Small CSV logs that trigger read_events' advice about dropna=, time_unit= and tz=."""
    ts = ["2024-03-01 10:00Z", "2024-03-01 10:01Z", "2024-03-01 10:02Z"]
    files = {
        "nulls": pd.DataFrame({"user_id": [1, None, 1], "timestamp": ts, "event": ["a", "b", "b"]}),
        "epoch": pd.DataFrame({"user_id": [1, 1, 2], "timestamp": [1709287200, 1709287260, 1709287320],
                               "event": ["a", "b", "a"]}),
        "naive": pd.DataFrame({"user_id": [1, 1, 2], "timestamp": [t[:-1] for t in ts], "event": ["a", "b", "a"]}),
        "ok": pd.DataFrame({"user_id": [1, 1, 2], "timestamp": ts, "event": ["a", "b", "a"]}),
    }
    out = {}
    for name, df in files.items():
        out[name] = tmp_path / f"{name}.csv"
        df.to_csv(out[name], index=False)
    return out


@pytest.mark.parametrize("name, flag, python", [
    ("nulls", "--dropna", "dropna=True"),
    ("epoch", "--time-unit s", "time_unit="),
    ("naive", "--tz", "tz="),
])
def test_read_errors_name_the_flags(csvs, capsys, name, flag, python):
    assert cli.main(["funnel", str(csvs[name]), "--steps", "a,b"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("funnelkit: error:") and err.count("\n") == 1
    assert flag in err
    assert python not in err and "read_events" not in err and "df.attrs" not in err


def test_missing_columns_name_the_column_flags(own_parquet, capsys):
    path, _, _ = own_parquet
    assert cli.main(["funnel", str(path), "--steps", "landing,purchase"]) == 2
    err = capsys.readouterr().err
    assert "--user-col uid" in err and "--time-col ts" in err and "--event-col name" in err
    assert "user_col=" not in err and "df.rename" not in err


def test_cli_text_translates_keywords_not_other_words():
    from funnelkit.cli._messages import cli_text

    assert cli_text("pass time_unit='ms' to funnelkit.read_events") == "pass --time-unit ms"
    assert cli_text("leave out tz= (tz-aware timestamps need none)") == "leave out --tz (tz-aware timestamps need none)"
    assert cli_text("with split_on=<column>") == "with --split-on <column>"
    assert cli_text("repeat('purchase', nth=2)") == "repeat('purchase', nth=2)"  # not a flag: unchanged
    assert cli_text("`window`='3600' is a bare number") == "--window 3600 is a bare number"
    assert cli_text("Fix: pass sep=';' (--sep in the CLI).") == "Fix: pass --sep ';'."


def test_warnings_are_one_line_on_stderr(csvs, capsys):
    rc = cli.main(["funnel", str(csvs["nulls"]), "--steps", "a,b", "--dropna"])
    assert rc == 0
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln]
    dropped = [ln for ln in lines if "dropped" in ln]
    assert len(dropped) == 1 and dropped[0].startswith("funnelkit: warning: --dropna dropped 1 of 3 rows")
    assert "null_user_id: 1" in dropped[0] and "df.attrs" not in dropped[0]
    assert all(ln.startswith("funnelkit: ") for ln in lines), lines  # no Python source line, no file:lineno
    assert "Warning:" not in err


def test_other_libraries_warnings_only_with_debug(capsys):
    from funnelkit.cli._messages import warnings_as_lines

    with warnings_as_lines():
        warnings.warn("a pandas deprecation", DeprecationWarning)
        warnings.warn(fk.errors.FunnelkitWarning("ours"))
        warnings.warn(fk.errors.FunnelkitWarning("ours"))  # printed once
    assert capsys.readouterr().err == "funnelkit: warning: ours\n"
    with warnings_as_lines(show_foreign=True):
        warnings.warn("a pandas deprecation", DeprecationWarning)
    assert capsys.readouterr().err == "funnelkit: warning: (DeprecationWarning) a pandas deprecation\n"


def test_duplicates_warning_is_one_line(csvs, tmp_path, capsys):
    dup = tmp_path / "dup.csv"
    df = pd.read_csv(csvs["ok"])
    pd.concat([df, df.iloc[[0]]]).to_csv(dup, index=False)
    rc = cli.main(["funnel", str(dup), "--steps", "a,b"])
    err = capsys.readouterr().err
    assert rc == 0
    dups = [ln for ln in err.splitlines() if "duplicate" in ln.lower()]
    if not dups:
        pytest.skip("read_events does not warn about duplicate rows (yet)")
    assert len(dups) == 1 and dups[0].startswith("funnelkit: warning: ")
    assert "dedupe=" not in dups[0]


# --------------------------------------------------------------------------- checks before computing


@pytest.fixture()
def no_reading(monkeypatch):
    """Fail the test if the command reads the event log or loads the sample."""
    def boom(*a, **k):
        raise AssertionError("the event log was read before the options were checked")

    monkeypatch.setattr(fk, "read_events", boom)
    monkeypatch.setattr(fk, "load_sample", boom)


@pytest.mark.parametrize("argv, words", [
    (["report", "{csv}", "--steps", "a,b", "--out", "{tmp}/missing/r.html"], ["does not exist", "mkdir"]),
    (["report", "{csv}", "--steps", "a,b", "--out", "{tmp}"], ["is a directory"]),
    (["report", "{csv}", "--steps", "a,b", "--out", "{tmp}/r.pdf"], [".html"]),
    (["report", "--out", "{tmp}/nope/r.html"], ["does not exist"]),
    (["funnel", "{csv}", "--steps", "a,b", "--out", "{tmp}/missing/f.csv"], ["does not exist"]),
    (["funnel", "{csv}", "--steps", "a,b", "--out", "{tmp}/f.csv", "--format", "csv"], ["--format", "--out"]),
    (["sessionize", "{csv}", "{tmp}/missing/s.parquet"], ["does not exist"]),
    (["sessionize", "{csv}", "{csv}"], ["is the input file"]),
    (["sessionize", "{csv}", "{tmp}/s.xlsx"], [".parquet", ".csv"]),
    (["sessionize", "{csv}", "{tmp}/s.csv", "--split-at-midnight"], ["--split-at-midnight needs --tz"]),
    (["report", "{csv}", "--steps", "a,b", "--control", "A"], ["--control needs --variant-col"]),
    (["report", "{csv}", "--steps", "a,b", "--alpha", "0.1", "--sequential"], ["--alpha, --sequential need"]),
    (["report", "{csv}", "--steps", "a,b", "--variant-col", "v"], ["--variant-col needs --control"]),
    (["report", "{csv}", "--steps", "a,b", "--variant-col", "v", "--control", "A", "--by", "channel"],
     ["--by", "experiment"]),
    (["report", "--unit", "session"], ["--unit", "implied for the sample"]),
    (["report", "{csv}", "--steps", "a,b", "--variant-col", "v", "--control", "A", "--alpha", "5"], ["between 0"]),
    (["funnel", "--user-col", "uid", "--steps", "a,b"], ["--user-col applies to your own event file"]),
    (["funnel", "--tz", "UTC", "--dropna"], ["--tz, --dropna apply"]),
    (["funnel", "{csv}", "--steps", "a,b", "--window", "7 parsecs"], ["window"]),
    (["funnel", "{csv}", "--steps", "a,b", "--memory-budget", "lots"], ["memory"]),
    (["funnel", "{csv}"], ["--journey", "--steps", "journey init"]),
    (["funnel", "{csv}", "--journey", "{tmp}/none.toml"], ["no such file", "journey init"]),
])
def test_problems_found_before_the_log_is_read(csvs, tmp_path, capsys, no_reading, argv, words):
    argv = [a.format(csv=csvs["ok"], tmp=tmp_path) for a in argv]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("funnelkit: error:") and err.count("\n") == 1, err
    for w in words:
        assert w in err, (w, err)
    assert "Errno" not in err


def test_bad_journey_file_is_refused_before_the_log_is_read(csvs, tmp_path, capsys, no_reading):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[stages]\nname = 'a'\n", encoding="utf-8")
    assert cli.main(["funnel", str(csvs["ok"]), "--journey", str(bad)]) == 2
    assert "not valid TOML" in capsys.readouterr().err
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[[stages]]\nname = 'a'\nevent = ['a']\n", encoding="utf-8")
    assert cli.main(["funnel", str(csvs["ok"]), "--journey", str(unknown)]) == 2
    assert "unknown key" in capsys.readouterr().err


def test_bare_label_lists_label_en_and_label_es(csvs, tmp_path, capsys, no_reading):
    j = tmp_path / "j.toml"
    j.write_text("[[stages]]\nname = 'a'\nlabel = 'Landing'\nevents = ['a']\n", encoding="utf-8")
    assert cli.main(["report", str(csvs["ok"]), "--journey", str(j), "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert "label_en" in err and "label_es" in err and "'a'" in err and "label_en = 'Landing'" in err


def test_label_en_and_label_es_are_used(csvs, tmp_path, capsys):
    j = tmp_path / "j.toml"
    j.write_text("lang = 'es'\n[[stages]]\nname = 'a'\nlabel_en = 'Landing'\nlabel_es = 'Llegada'\nevents = ['a']\n"
                 "[[stages]]\nname = 'b'\nlabel_en = 'Buy'\nevents = ['b']\n", encoding="utf-8")
    assert cli.main(["funnel", str(csvs["ok"]), "--journey", str(j), "--format", "csv"]) == 0
    got = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert got["label"].tolist()[0] == "Llegada"


def test_oserror_is_one_line_without_errno(own_parquet, tmp_path, capsys, monkeypatch):
    path, journey, _ = own_parquet

    def denied(self, *a, **k):
        raise PermissionError(13, "Permission denied", str(tmp_path / "r.html"))

    monkeypatch.setattr("pathlib.Path.write_text", denied)
    rc = cli.main(["report", str(path), "--user-col", "uid", "--time-col", "ts", "--event-col", "name",
                   "--journey", str(journey), "--out", str(tmp_path / "r.html"), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("funnelkit: error: Permission denied:") and "Errno" not in err


# --------------------------------------------------------------------------- pipes


def _run_into_closed_pipe(args, env):
    """Run the command line with stdout a pipe whose reader is already gone (as `| head` after its lines)."""
    r, w = os.pipe()
    os.close(r)
    try:
        proc = subprocess.run([sys.executable, "-m", "funnelkit.cli", *args], stdout=w, stderr=subprocess.PIPE,
                              text=True, timeout=300, env={**env, "PYTHONWARNINGS": "ignore"})
    finally:
        os.close(w)
    return proc


def _closed_pipe(fmt):
    return lambda env: _run_into_closed_pipe(["funnel", "--steps", "landing,product_view,purchase", "--format", fmt],
                                             env)


def _into_head(env):
    return subprocess.run(
        f"{sys.executable} -m funnelkit.cli funnel --steps landing,product_view,purchase --format csv | head -n 1",
        shell=True, capture_output=True, text=True, timeout=300, env=env)


_PIPE_JOBS = {"cli:closed-pipe-csv": _closed_pipe("csv"), "cli:closed-pipe-text": _closed_pipe("text"),
              "cli:into-head": _into_head}


def background_jobs(background, items):
    """The pipe tests' command lines (fresh interpreters, a second or two each), run in the
    background after collection (tests/conftest.py) when their tests are selected."""
    names = {item.name for item in items}
    wanted = {"cli:closed-pipe-csv": "test_closed_pipe_is_not_an_error[csv]",
              "cli:closed-pipe-text": "test_closed_pipe_is_not_an_error[text]",
              "cli:into-head": "test_pipe_into_head_reads_the_first_lines"}
    return {key: _PIPE_JOBS[key] for key, name in wanted.items() if name in names}


@pytest.mark.parametrize("fmt", ["csv", "text"])
def test_closed_pipe_is_not_an_error(fmt, background):
    proc = background.result(f"cli:closed-pipe-{fmt}", _PIPE_JOBS[f"cli:closed-pipe-{fmt}"])
    assert proc.returncode == 0, proc.stderr
    assert "Broken pipe" not in proc.stderr and "Errno" not in proc.stderr and "Traceback" not in proc.stderr


def test_pipe_into_head_reads_the_first_lines(background):
    head = background.result("cli:into-head", _into_head)
    assert head.returncode == 0
    assert head.stdout.startswith("step,label,units")
    assert "Broken pipe" not in head.stderr


# --------------------------------------------------------------------------- durations as numbers


def test_durations_are_seconds_in_csv(own_parquet, tmp_path, capsys):
    path, _, ev = own_parquet
    argv = ["funnel", str(path), "--user-col", "uid", "--time-col", "ts", "--event-col", "name",
            "--steps", "landing,product_view,purchase", "--window", "1D"]
    assert cli.main([*argv, "--format", "csv"]) == 0
    text = capsys.readouterr().out
    got = pd.read_csv(__import__("io").StringIO(text))
    assert "days" not in text
    want = fk.funnel(ev, ["landing", "product_view", "purchase"], window="1D").table
    assert "median_time_from_previous" not in got.columns
    assert got["median_time_from_previous_s"].dtype.kind == "f"
    assert got["median_time_from_previous_s"].iloc[1] == pytest.approx(
        want["median_time_from_previous"].iloc[1].total_seconds())
    out = tmp_path / "f.parquet"
    assert cli.main([*argv, "--out", str(out)]) == 0
    pq = pd.read_parquet(out)
    assert pq["median_time_from_previous_s"].dtype.kind == "f"
    assert not any(pd.api.types.is_timedelta64_dtype(t) for t in pq.dtypes)


def test_help_says_durations_are_seconds(capsys):
    with pytest.raises(SystemExit):
        cli.main(["funnel", "--help"])
    out = capsys.readouterr().out
    assert "median_time_from_previous_s" in out and "seconds" in out


# --------------------------------------------------------------------------- help


def _subparsers(parser):
    import argparse

    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            for name, p in a.choices.items():
                yield name, p
                yield from ((f"{name} {n}", q) for n, q in _subparsers(p))


def test_every_option_has_help_and_every_command_examples():
    parser = cli.build_parser()
    subs = dict(_subparsers(parser))
    assert {"report", "funnel", "sessionize", "journey", "journey init"} <= set(subs)
    for name, p in [("", parser), *subs.items()]:
        for a in p._actions:
            if a.dest == "help" or a.__class__.__name__ == "_SubParsersAction":
                continue
            assert a.help, f"funnelkit {name}: {a.option_strings or a.dest} has no help text"
        assert "examples:" in (p.epilog or ""), f"funnelkit {name} --help has no examples"
    for flag in ("--mode", "--window-from", "--unit"):
        action = next(a for a in subs["funnel"]._actions if flag in a.option_strings)
        assert len(action.help) > 20
    assert next(a for a in subs["report"]._actions if "--correction" in a.option_strings).help


def test_examples_show_in_help_output(capsys):
    for sub in (["report"], ["funnel"], ["sessionize"], ["journey", "init"]):
        with pytest.raises(SystemExit):
            cli.main([*sub, "--help"])
        out = capsys.readouterr().out
        assert "examples:" in out and "  funnelkit " in out


# --------------------------------------------------------------------------- journey init


def test_journey_init_writes_a_commented_template_that_runs(tmp_path, capsys):
    dest = tmp_path / "journey.toml"
    assert cli.main(["journey", "init", str(dest)]) == 0
    text = dest.read_text(encoding="utf-8")
    assert text.count("\n# ") > 20 and "label_en" in text and "label_es" in text and "bare `label`" in text
    j = fk.Journey.from_toml(dest)
    want = fk.datasets.shop_journey()
    assert j.names == want.names and j.labels("es") == want.labels("es")
    capsys.readouterr()
    assert cli.main(["funnel", "--journey", str(dest), "--format", "csv"]) == 0
    got = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    ref = fk.funnel(fk.load_sample("shop"), want, window="7D").table
    assert got["units"].tolist() == ref["units"].tolist()


def test_journey_init_presets_and_overwrite(tmp_path, capsys):
    from funnelkit.journey.stages import PRESETS

    for preset, spec in PRESETS.items():
        dest = tmp_path / f"{preset}.toml"
        assert cli.main(["journey", "init", "--preset", preset, "--lang", "es", str(dest)]) == 0
        j = fk.Journey.from_toml(dest)
        assert j.names == tuple(s[0] for s in spec) and j.lang == "es"
        assert j.labels("es") == tuple(s[2] for s in spec)
    capsys.readouterr()
    assert cli.main(["journey", "init", str(tmp_path / "five_stage.toml")]) == 2
    assert "--force" in capsys.readouterr().err
    assert cli.main(["journey", "init", "--force", str(tmp_path / "five_stage.toml")]) == 0
    assert cli.main(["journey", "init", str(tmp_path / "j.json")]) == 2
    with pytest.raises(SystemExit) as e:
        cli.main(["journey", "init", "--preset", "nine_stage", str(tmp_path / "x.toml")])
    assert e.value.code == 2


def test_journey_without_action_prints_its_help(capsys):
    assert cli.main(["journey"]) == 0
    assert "init" in capsys.readouterr().out


# --------------------------------------------------------------------------- column names survive


def test_sessionize_writes_the_input_column_names_back(tmp_path, capsys):
    ev = fk.datasets.make_shop(n_users=300, seed=4)
    raw = ev.rename(columns={"user_id": "user_pseudo_id", "timestamp": "event_ts", "event": "event_name"})
    src = tmp_path / "ga4.parquet"
    raw.to_parquet(src)
    for out in (tmp_path / "s.parquet", tmp_path / "s.csv"):
        rc = cli.main(["sessionize", str(src), str(out), "--user-col", "user_pseudo_id", "--time-col", "event_ts",
                       "--event-col", "event_name"])
        assert rc == 0
        got = pd.read_parquet(out) if out.suffix == ".parquet" else pd.read_csv(out)
        assert list(got.columns) == [*raw.columns, "session_id"]
        assert "user_id" not in got.columns and "event" not in got.columns
        assert len(got) == len(raw)
    assert "sessions ->" in capsys.readouterr().err


def test_input_names_prefers_what_read_events_records():
    from funnelkit.cli._output import input_names

    df = pd.DataFrame({"user_id": [1]})
    assert input_names(df, {"user_id": "uid"}) == {"user_id": "uid"}
    df.attrs["funnelkit_columns"] = {"user_id": "user_pseudo_id"}
    assert input_names(df, {"user_id": "uid"}) == {"user_id": "user_pseudo_id"}


# --------------------------------------------------------------------------- flags wired to new keywords


@pytest.mark.parametrize("flag", ["--dedupe", "--sep", "--encoding", "--tmp-dir"])
def test_optional_flags_exist_exactly_when_their_keyword_does(flag, capsys):
    from funnelkit.cli._parser import OPTIONAL_KEYWORDS
    import importlib

    module, func, kw = OPTIONAL_KEYWORDS[flag]
    exists = kw in inspect.signature(getattr(importlib.import_module(module), func)).parameters
    with pytest.raises(SystemExit):
        cli.main(["funnel", "--help"])
    assert (flag in capsys.readouterr().out) == exists


def test_read_flags_reach_read_events(csvs, tmp_path, monkeypatch, capsys, spy_kwargs):
    from funnelkit.cli._parser import keyword_exists

    seen = spy_kwargs(fk, "read_events")
    argv = ["funnel", str(csvs["ok"]), "--steps", "a,b", "--format", "csv"]
    extra, want = [], {}
    if keyword_exists("--dedupe"):
        extra.append("--dedupe")
        want["dedupe"] = True
    if keyword_exists("--sep"):
        extra += ["--sep", ","]
        want["sep"] = ","
    if keyword_exists("--encoding"):
        extra += ["--encoding", "utf-8"]
        want["encoding"] = "utf-8"
    assert cli.main([*argv, *extra]) == 0, capsys.readouterr().err
    assert {k: seen[k] for k in want} == want
    assert seen["user_col"] == "user_id" and seen["dropna"] is False


# --------------------------------------------------------------------------- progress


def test_progress_only_when_interactive(monkeypatch):
    from funnelkit import _progress

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(_progress, "_in_notebook", lambda: False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert not _progress.interactive()
    assert not _progress._progress_enabled(True)
    assert _progress._progress_enabled("force")
    monkeypatch.setattr(_progress, "_in_notebook", lambda: True)
    assert _progress.interactive() and _progress._progress_enabled(True)
    assert not _progress._progress_enabled(False)
    with _progress.progress_scope():
        assert _progress._progress_enabled(False)  # the command line asks for bars on long runs
    assert not _progress._progress_enabled(False)
    monkeypatch.setenv("CI", "true")
    assert not _progress.interactive()
    with pytest.raises(fk.errors.ParameterError):
        _progress._progress_enabled("sometimes")


def test_bar_draws_with_tqdm_only_when_enabled(capsys):
    from funnelkit._progress import _Bar

    bar = _Bar(10, "funnelkit: test", "blocks", False)
    bar.update(5)
    bar.close()
    assert capsys.readouterr().err == ""
    with _Bar(10, "funnelkit: test", "blocks", True, delay=0) as bar:
        bar.update(10)
    err = capsys.readouterr().err
    assert "funnelkit: test" in err and "blocks" in err


def test_bar_is_the_text_bar_outside_a_notebook_whatever_tqdm_auto_picked(capsys, monkeypatch):
    # once a library has imported IPython and ipykernel (retentioneering does), tqdm.auto
    # picks its notebook class in a terminal too, which draws nothing there
    import tqdm.auto
    import tqdm.notebook
    import tqdm.std

    from funnelkit import _progress

    monkeypatch.setattr(tqdm.auto, "tqdm", tqdm.notebook.tqdm)
    monkeypatch.setattr(_progress, "_in_notebook", lambda: False)
    assert _progress._tqdm_class() is tqdm.std.tqdm
    with _progress._Bar(10, "funnelkit: test", "blocks", True, delay=0) as bar:
        bar.update(10)
        assert not bar._tqdm.disable  # the widget class disables itself outside a kernel
    assert "funnelkit: test" in capsys.readouterr().err
    monkeypatch.setattr(_progress, "_in_notebook", lambda: True)
    assert _progress._tqdm_class() is tqdm.notebook.tqdm


def test_cli_prints_no_progress_when_not_interactive(own_parquet, tmp_path, capsys):
    path, journey, _ = own_parquet
    rc = cli.main(["report", str(path), "--user-col", "uid", "--time-col", "ts", "--event-col", "name",
                   "--journey", str(journey), "--out", str(tmp_path / "r.html")])
    assert rc == 0
    err = capsys.readouterr().err
    assert "[1/4]" not in err and "it/s" not in err and err.startswith("funnelkit: wrote")


def test_cli_steps_and_engine_bars_when_interactive(own_parquet, tmp_path, capsys, monkeypatch):
    from funnelkit import _progress

    monkeypatch.setattr(_progress, "interactive", lambda: True)
    monkeypatch.setattr("funnelkit.cli._commands.interactive", lambda: True)
    monkeypatch.setattr(_progress, "DELAY", 0.0)
    path, journey, _ = own_parquet
    rc = cli.main(["report", str(path), "--user-col", "uid", "--time-col", "ts", "--event-col", "name",
                   "--journey", str(journey), "--out", str(tmp_path / "r.html")])
    assert rc == 0
    err = capsys.readouterr().err
    assert "[1/4] reading" in err and "[4/4] writing the report" in err
    assert re.search(r"\d+%\|", err)  # the engine's bars, drawn by tqdm
    # the same command with --no-progress: every step runs, silently. Its page would be the
    # one just drawn and written (same log, same flags), so it is not drawn a second time
    # (the figures are most of a report's time): the command's last call is recorded instead
    from funnelkit import report

    written = []
    monkeypatch.setattr(report, "funnel_report", lambda result, out, **kw: written.append(out) or out)
    assert cli.main(["report", str(path), "--user-col", "uid", "--time-col", "ts", "--event-col", "name",
                     "--journey", str(journey), "--out", str(tmp_path / "r.html"), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "[1/4]" not in err
    assert written == [tmp_path / "r.html"]  # every step ran, up to the report's


def test_cli_modules_examples_run():
    import doctest
    import importlib

    for name in ("funnelkit.cli._messages", "funnelkit.cli._output", "funnelkit.cli._template",
                 "funnelkit._progress"):
        res = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
        assert res.attempted > 0 and res.failed == 0, name


def test_report_metric_flags_reach_the_experiment(tmp_path, monkeypatch, capsys, spy_kwargs):
    """--metric texts are parsed before any work and become fk.experiment(metrics=[...])."""
    seen = spy_kwargs(fk, "experiment")
    out = tmp_path / "r.html"
    rc = cli.main(["report", "--metric", "revenue=sum:order_value@purchase", "--metric", "orders=count:purchase",
                   "--metric", "aov=ratio:revenue/orders", "--out", str(out), "--no-progress"])
    assert rc == 0
    assert [m.name for m in seen["metrics"]] == ["revenue", "orders", "aov"]
    assert [m.kind for m in seen["metrics"]] == ["sum", "count", "ratio"]
    # a bad spec fails before the log is read, naming the flag
    capsys.readouterr()
    rc = cli.main(["report", "--metric", "aov=ratio:revenue/orders", "--out", str(tmp_path / "x.html")])
    err = capsys.readouterr().err
    assert rc == 2 and "--metric 'aov=ratio:revenue/orders'" in err
    assert not (tmp_path / "x.html").exists()


def test_metric_needs_variant_col_on_own_log(own_parquet, tmp_path, capsys):
    path, journey, _ = own_parquet
    rc = cli.main(["report", str(path), "--user-col", "uid", "--time-col", "ts", "--event-col", "name",
                   "--journey", str(journey), "--metric", "orders=count:purchase", "--out", str(tmp_path / "f.html")])
    assert rc == 2
    assert "--metric needs --variant-col" in capsys.readouterr().err


def test_funnel_mode_attribution_and_unknown_flags_reach_fk_funnel(monkeypatch, capsys, spy_kwargs):
    seen = spy_kwargs(fk, "funnel")
    rc = cli.main(["funnel", "--steps", "landing,product_view,purchase", "--mode", "uninterrupted",
                   "--out-of-order", "ignore", "--reuse-events", "--by", "channel", "--attribution", "last_touch",
                   "--on-unknown", "warn"])
    assert rc == 0
    assert seen["mode"] == "uninterrupted" and seen["out_of_order"] == "ignore" and seen["reuse_events"] is True
    assert seen["attribution"] == "last_touch" and seen["on_unknown"] == "warn"
    capsys.readouterr()
    # --steps makes an unknown step an error by default; --attribution needs --by
    assert cli.main(["funnel", "--steps", "landing,purchse"]) == 2
    assert "purchse" in capsys.readouterr().err
    assert cli.main(["funnel", "--steps", "landing,purchase", "--attribution", "step:2"]) == 2
    assert "--attribution needs --by" in capsys.readouterr().err
    assert cli.main(["report", "--reuse-events", "--out", "x.html"]) == 2  # the sample's experiment report
    assert "--reuse-events" in capsys.readouterr().err


def test_memory_budget_reads_a_parquet_file_out_of_core(tmp_path, capsys):
    """--memory-budget hands the Parquet path to the engine (it was refused by the library when
    the CLI passed a frame); what the engine cannot read that way is refused before any work."""
    ev = fk.load_sample("shop")
    path = tmp_path / "ev.parquet"
    ev.to_parquet(path)
    out = tmp_path / "f.csv"
    assert cli.main(["funnel", str(path), "--steps", "landing,purchase", "--memory-budget", "1MB",
                     "--tmp-dir", str(tmp_path), "--out", str(out)]) == 0
    got = pd.read_csv(out)
    assert got["units"].tolist() == fk.funnel(ev, ["landing", "purchase"]).table["units"].tolist()
    capsys.readouterr()
    for argv, msg in [(["funnel", "--steps", "landing,purchase", "--memory-budget", "1MB"], "bundled sample"),
                      (["funnel", str(path), "--user-col", "user_id", "--steps", "landing,purchase",
                        "--memory-budget", "1MB"], "--user-col cannot apply"),
                      (["report", str(path), "--steps", "landing,purchase", "--memory-budget", "1MB", "--tz", "UTC",
                        "--out", str(tmp_path / "r.html")], "--tz cannot apply"),
                      (["report", "--memory-budget", "1MB", "--out", str(tmp_path / "r.html")], "bundled sample")]:
        assert cli.main(argv) == 2
        assert msg in capsys.readouterr().err


def test_report_streams_a_parquet_file_and_writes_the_same_page(own_parquet, tmp_path, spy_calls, capsys):
    # a Parquet file with the canonical columns goes to every analysis as the path (each
    # reads only what it needs); a reading flag reads the whole log first: the same page
    _, journey, ev = own_parquet
    path = tmp_path / "canonical.parquet"
    ev.to_parquet(path)
    calls = spy_calls(fk, "read_events")
    pages = []
    for extra in ([], ["--tz", "UTC"]):
        out = tmp_path / f"r{len(pages)}.html"
        rc = cli.main(["report", str(path), "--journey", str(journey), "--variant-col", "variant", "--control", "A",
                       "--out", str(out), "--no-progress", *extra])
        assert rc == 0
        pages.append(out.read_bytes())
    assert len(calls) == 1 and calls[0]["tz"] == "UTC"  # only the run with a reading flag read the log
    assert pages[0] == pages[1]
    html = pages[0].decode("utf-8")
    assert "Journey map" in html or "Mapa del recorrido" in html  # the channel column was seen in the schema
    assert "Retention" in html or "Retención" in html
    # 4 + drop-off shares, frictions, retention curve and the KM curve of repeat purchase
    # (the purchase event was found in the file's event column)
    assert html.count("data:image/png;base64,") == 8


def test_report_memory_budget_reaches_every_analysis_and_writes_the_same_page(own_parquet, tmp_path,
                                                                                monkeypatch):
    # --memory-budget: every analysis of the page (experiment, trend, journey map, drop-off
    # paths, frictions, retention, repeat purchase) runs under the budget and spills to
    # --tmp-dir, and the page is byte-identical to the one without it
    from funnelkit.engine import buckets as _buckets
    from funnelkit.engine import drive as _drive
    from funnelkit.engine import run as _run

    _, journey, ev = own_parquet
    path = tmp_path / "canonical.parquet"
    ev.to_parquet(path)
    budgets, writes = [], []
    real_drive, real_write = _drive.drive, _buckets.Buckets._write

    def drive_spy(events, req, *a, **k):
        budgets.append(req.memory_budget)
        return real_drive(events, req, *a, **k)

    def write_spy(self, j, parts):
        writes.append(j)
        return real_write(self, j, parts)

    monkeypatch.setattr(_drive, "drive", drive_spy)
    monkeypatch.setattr(_run, "drive", drive_spy)
    monkeypatch.setattr(_buckets.Buckets, "_write", write_spy)
    spill = tmp_path / "spill"
    spill.mkdir()
    pages = []
    for extra in ([], ["--memory-budget", "1KB", "--tmp-dir", str(spill)]):
        out = tmp_path / f"r{len(pages)}.html"
        budgets.clear()
        writes.clear()
        rc = cli.main(["report", str(path), "--journey", str(journey), "--variant-col", "variant", "--control", "A",
                       "--out", str(out), "--no-progress", *extra])
        assert rc == 0
        pages.append(out.read_bytes())
        if extra:
            assert len(budgets) >= 7 and set(budgets) == {1024}, budgets
            assert writes  # the budget was exceeded: buckets went to disk
            assert list(spill.iterdir()) == []  # and the spill files are gone
        else:
            assert writes == []  # the default budget (a quarter of the machine's memory) holds it all
    assert pages[0] == pages[1]


@pytest.mark.parametrize("what", ["corrupt", "missing"])
def test_report_on_a_bad_parquet_path_is_one_line_error(what, tmp_path, capsys):
    # the report opens a Parquet path itself (to stream it): a file that is not Parquet, or
    # no file at all, must still end in funnelkit's one-line error, not Arrow's traceback
    path = tmp_path / "events.parquet"
    if what == "corrupt":
        path.write_text("not parquet")
    rc = cli.main(["report", str(path), "--steps", "a,b", "--out", str(tmp_path / "r.html"), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("funnelkit: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert ("cannot be read as Parquet" if what == "corrupt" else "No file or directory") in err
