"""The jinan-sd command line: files are written; bad input exits non-zero with one line, no traceback."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from faces.cli.main import main


def test_run_writes_xlsx_with_all_sectors(tmp_path, capsys):
    out = tmp_path / "out.xlsx"
    assert main(["run", "baseline", "--engine", "pysd", "--out", str(out)]) == 0
    sheets = pd.read_excel(out, sheet_name=None, engine="openpyxl")
    assert set(sheets) == {"results", "variables", "provenance"}
    # the results are headed by display names with units; the variables sheet gives the id of each, in order
    variables = sheets["variables"]
    assert list(sheets["results"].columns[1:]) == list(variables["header"])
    sectors = ("total_population", "gdp_real", "industrial_revenue", "water_use_total", "co2_emissions")
    for variable in sectors:
        assert variable in set(variables["id"])
    assert "total_population" not in set(sheets["results"].columns)
    assert len(sheets["results"]) == 21


def test_run_writes_csv_and_provenance(tmp_path):
    out = tmp_path / "out.csv"
    args = ["run", "baseline", "--engine", "pysd", "--out", str(out), "--set", "investment_rate=0.5"]
    assert main(args) == 0
    frame = pd.read_csv(out, index_col="year")
    assert frame.index[0] == 2015 and frame.index[-1] == 2035
    assert '"investment_rate": 0.5' in out.with_suffix(".provenance.json").read_text()


def test_info_lists_levers(capsys):
    assert main(["--lang", "en", "info"]) == 0
    text = capsys.readouterr().out
    assert "investment_rate" in text and "[0.3, 0.9]" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "nosuch"], "unknown scenario 'nosuch'"),
        (["run", "baseline", "--set", "investment_rat=0.5"], "unknown variable 'investment_rat'"),
        (["run", "baseline", "--set", "investment_rate=5"], "outside its range"),
        (["run", "baseline", "--set", "investment_rate=nan"], "must be a finite number"),
        (["run", "baseline", "--out", "x.docx"], "unknown format '.docx'"),
        (["run", "baseline", "--out", "/nonexistent/dir/x.csv"], "does not exist"),
        (["run", "{tmp}/bad.toml"], "bad.toml: malformed TOML"),
    ],
)
def test_bad_input_exits_with_one_line(tmp_path, capsys, args, message):
    (tmp_path / "bad.toml").write_text("[levers\n")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1


def test_no_traceback_from_the_real_command(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "faces.cli", "run", "baseline", "--set", "investment_rate=5"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("jinan-sd: error:")
