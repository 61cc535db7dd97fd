"""What the CLI prints and writes (issue 16): tables that align with Chinese text and fit 120 columns,
numbers formatted by quantity, exports with display headers (XLSX) or one header row of ids at full
precision (CSV), --set on the ensemble commands, the README's tour writing into out/ only."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pandas as pd
import pytest

import simulator
from faces.cli.main import build_parser, main
from faces.cli.table import WIDTH, blocks, records, width, wrap

ROOT = Path(__file__).resolve().parent.parent
YEAR = re.compile(r"(?<![\d,.])20[1-3]\d(?![\d,.])")


def lines_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def assert_fits(text: str) -> None:
    too_wide = [line for line in text.splitlines() if width(line) > WIDTH]
    assert not too_wide, f"{len(too_wide)} line(s) wider than {WIDTH} columns, e.g. {too_wide[0]!r}"


def columns_of(line: str, start: int, stop: int) -> str:
    """The characters of ``line`` at display columns ``start``..``stop``."""
    out, at = "", 0
    for ch in line:
        if start <= at < stop:
            out += ch
        at += width(ch)
    return out


def assert_years_line_up(table: str, header: str) -> int:
    """Every row of ``table`` (label lines, not wrapped continuations or notes) holds a year right under
    the ``header`` column (right-aligned to it); returns the number of rows checked."""
    lines = table.splitlines()
    head = lines[0]
    end = width(head[:head.index(header) + len(header)])
    rows = [line for line in lines[1:] if line.strip() and not line.startswith((" ", "*", "["))]
    bad = [line for line in rows if not YEAR.fullmatch(columns_of(line, end - 4, end))]
    assert not bad, f"{len(bad)} row(s) whose year is not under '{header}', e.g. {bad[0]!r}"
    return len(rows)


def test_blocks_align_mixed_scripts_and_wrap_labels():
    labels = ["地区生产总值年均增长率(按可比价格计算的五年平均)", "GDP growth", "人口"]
    cells = [["2025", "7.0", "达标"], ["2025", "6.5", "missed"], ["2030", "1,000", "未评估"]]
    text = blocks(labels, ["年份", "值", "状态"], cells, head="目标", line_width=44, left={2})
    assert max(width(line) for line in text.splitlines()) <= 44
    assert assert_years_line_up(text, "年份") == 3
    assert "".join(text.split()).count("地区生产总值年均增长率") == 1  # wrapped, not cut
    assert wrap("GDP per capita in USD in 2035", 12) == ["GDP per", "capita in", "USD in 2035"]
    assert wrap("单位地区生产总值", 6) == ["单位地", "区生产", "总值"]


def test_records_format_numbers_by_quantity():
    frame = pd.DataFrame({"name": ["a", "b"], "year": [2025.0, 2030.0], "v": [12345.678, 0.04567],
                          "unit": ["亿元", "year"], "p": [0.5, 1.0]})
    text = records(frame, "name", {"year": "year", "v": "value", "p": "share"}, unit_column="unit")
    assert "12,345.7" in text and "50.0%" in text and "100.0%" in text
    assert "2,025" not in text and "2025.0" not in text and re.search(r"\b2025\b", text)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_mc_table_aligns_and_fits(capsys, lang):
    assert main(["--lang", lang, "mc", "plan", "--n", "16", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert_fits(out)
    assert assert_years_line_up(out.split("\n\n")[0], {"zh": "年份", "en": "year"}[lang]) > 10
    assert "NaN" not in out and "0.224" not in out  # intervals as percentages, not raw shares


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_targets_table_aligns_fits_and_writes_years_as_years(capsys, lang):
    assert main(["--lang", lang, "targets", "plan"]) == 0
    out = capsys.readouterr().out
    assert_fits(out)
    assert "2,025" not in out and "2025.0" not in out
    assert assert_years_line_up(out.split("\n\n")[0], {"zh": "年份", "en": "year"}[lang]) > 20
    assert re.search(r"^\[1\] ", out, re.M)  # long notes are footnotes under the table


def test_compare_tables_fit_and_years_are_years(capsys):
    assert main(["--lang", "zh", "compare", "baseline", "plan"]) == 0
    out = capsys.readouterr().out
    assert_fits(out)
    assert "2,025" not in out and "2025.0" not in out


def test_sensitivity_prints_an_aligned_table_with_names(capsys):
    assert main(["--lang", "zh", "sensitivity", "plan", "--n", "8", "--target", "gdp-growth-2025"]) == 0
    out = capsys.readouterr().out
    assert_fits(out)
    assert "calibrated_parameters_posterior" not in out and "校准参数" in out
    rows = [line for line in out.splitlines() if re.search(r"\d\.\d\d\s+\d", line)]
    starts = {width(line[:re.search(r"\d\.\d\d", line).start()]) for line in rows}
    assert len(rows) == 3 and len(starts) == 1  # the ST column lines up under Chinese input names


def test_compare_exports_ids_in_csv_and_names_in_xlsx(tmp_path, capsys):
    assert main(["--lang", "en", "compare", "baseline", "plan", "--out", str(tmp_path / "cmp.csv")]) == 0
    indicators = pd.read_csv(tmp_path / "cmp_indicators.csv")
    targets = pd.read_csv(tmp_path / "cmp_targets.csv")
    labels = simulator.labels()
    assert list(indicators.columns[:2]) == ["scenario", "year"]
    assert set(indicators.columns[2:]) <= set(labels.indicators)  # one header row of ids
    run = simulator.run("plan").indicators(labels.indicators)
    row = indicators[(indicators["scenario"] == "plan") & (indicators["year"] == 2025)].iloc[0]
    assert row["gdp_real"] == run.loc[2025, "gdp_real"]  # full precision
    assert {"id", "year", "target", "baseline:simulated", "plan:status", "plan:margin"} <= set(targets.columns)
    assert set(targets["plan:status"]) <= {"met", "missed", "not assessed"}
    tables = {t["id"]: t for t in simulator.targets.assess.target_table(simulator.run("plan"), labels,
                                                                         "en").to_dict("records")}
    assert targets.loc[0, "plan:simulated"] == tables[targets.loc[0, "id"]]["simulated"]  # full precision
    assert main(["--lang", "en", "compare", "baseline", "plan", "--out", str(tmp_path / "cmp.xlsx")]) == 0
    book = pd.read_excel(tmp_path / "cmp.xlsx", sheet_name=None, engine="openpyxl")
    assert set(book) == {"indicators", "targets", "variables"}
    gdp = labels.label(labels.indicators["gdp_real"], "en")
    assert gdp in book["indicators"].columns and "gdp_real" not in book["indicators"].columns
    variables = book["variables"]
    assert variables.loc[variables["id"] == "gdp_real", "header"].iloc[0] == gdp
    assert book["indicators"][gdp].iloc[0] == indicators["gdp_real"].iloc[0]
    assert "Baseline" in " ".join(book["indicators"].iloc[:, 0].astype(str))  # titles, not file names
    assert any(c.startswith("Plan") and c.endswith(": simulated") for c in book["targets"].columns)
    assert "plan:simulated" in set(variables["id"])
    capsys.readouterr()


def test_run_xlsx_has_display_headers_and_ids_in_variables(tmp_path, capsys):
    out = tmp_path / "run.xlsx"
    assert main(["--lang", "zh", "run", "baseline", "--out", str(out)]) == 0
    book = pd.read_excel(out, sheet_name=None, engine="openpyxl")
    results, variables = book["results"], book["variables"]
    labels = simulator.labels()
    assert results.columns[0] == "年份"
    assert list(results.columns[1:]) == list(variables["header"])
    ident = labels.indicators["population"]
    population = labels.label(ident, "zh")
    assert variables.loc[variables["id"] == ident, "header"].iloc[0] == population
    assert results[population].iloc[0] == simulator.run("baseline")[ident].iloc[0]
    capsys.readouterr()


def test_sensitivity_exports(tmp_path, capsys):
    args = ["--lang", "zh", "sensitivity", "plan", "--n", "8", "--target", "rd-2025"]
    assert main([*args, "--out", str(tmp_path / "s.csv")]) == 0
    table = pd.read_csv(tmp_path / "s.csv")
    assert list(table.columns[:2]) == ["target", "input"] and "calibrated_parameters_posterior" in set(table["input"])
    assert main([*args, "--out", str(tmp_path / "s.xlsx")]) == 0
    book = pd.read_excel(tmp_path / "s.xlsx", sheet_name=None, engine="openpyxl")
    assert set(book) == {"indices", "variables"} and "校准参数(后验样本整体)" in set(book["indices"].iloc[:, 1])
    capsys.readouterr()


def test_mc_and_sensitivity_take_set_and_word_its_errors_as_the_flag(capsys):
    for command in (["mc", "plan", "--n", "8"], ["sensitivity", "plan", "--n", "8"]):
        assert main(["--lang", "en", *command, "--set", "investment_rat=0.5"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("jinan-sd: error: --set: unknown variable 'investment_rat'"), err
    assert main(["--lang", "en", "mc", "baseline", "--n", "8", "--set", "r_and_d_intensity_target=3.5"]) == 0
    what_if = capsys.readouterr().out
    assert main(["--lang", "en", "mc", "baseline", "--n", "8"]) == 0
    base = capsys.readouterr().out
    rd = [line for line in what_if.splitlines() if line.startswith("R&D expenditure")]
    assert "missed*" in [x for x in base.splitlines() if x.startswith("R&D expenditure")][0]
    assert "missed" not in rd[0] and "3.5" in rd[0]  # the ensemble ran with R&D at 3.5 %


def test_library_messages_name_the_parameter_not_the_flag():
    with pytest.raises(simulator.errors.UserError) as error:
        simulator.run("baseline", overrides={"investment_rat": 0.5})
    assert str(error.value).startswith("overrides: unknown variable 'investment_rat'")
    assert "--" not in str(error.value) and error.value.param == "overrides"
    model = simulator.load()
    with pytest.raises(simulator.errors.UserError, match=r"^overrides: 'investment_rate' = 5"):
        simulator.scenario("baseline", model).with_overrides(model, {"investment_rate": 5})


def tour() -> list[str]:
    """The commands of README.md's CLI tour (continuation lines joined)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## A five-minute tour of the CLI", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash", 1)[1].split("```", 1)[0].replace("\\\n", " ")
    return [line.split("#", 1)[0].strip() for line in block.splitlines()
            if line.strip().startswith("jinan-sd")]


def test_readme_tour_parses_and_writes_only_into_out():
    commands = tour()
    assert len(commands) >= 10
    parser = build_parser()
    for command in commands:
        argv = shlex.split(command)[1:]
        args = parser.parse_args(argv)  # every flag of the tour exists
        for flag in ("out", "report"):
            value = getattr(args, flag, None)
            if value is not None and f"--{flag}" in argv:
                assert Path(value).parts[0] == "out", f"{command}: writes outside out/"
    assert any(" --set " in c for c in commands if c.split()[1] == "mc")


def test_calibrate_prints_aligned_tables_in_either_language():
    from calibration.fit import CENSUS_REBASING, Parameter, Problem, fit
    from calibration.observations import load_observations
    from calibration.report import evaluate
    from faces.cli.fit_tables import fit_text

    model, labels = simulator.load(), simulator.labels()
    names = ["initial_population_2015", "nominal_gdp_2015"]
    parameters = [Parameter(n, model.elements[n].default, *model.elements[n].limits[:2], model.elements[n].units)
                  for n in names] + [CENSUS_REBASING]
    result = fit(Problem(model, load_observations(model=model, labels=labels), parameters=parameters), seed=1,
                 starts=1, popsize=3, maxiter=2)
    table = evaluate(result)
    zh, en = (fit_text(result, table, lang, labels) for lang in ("zh", "en"))
    for text in (zh, en):
        assert_fits(text)
        for ident in table["id"]:
            assert f"  {ident} " in text
    assert "校准目标" in zh and "Goals" not in zh and "identified" not in zh and "可识别" in zh
    assert "Goals" in en and labels.name("nominal_gdp_2015", "en") in en


def test_calibrate_says_which_parameters_moved_by_more_than_their_standard_error(tmp_path, monkeypatch,
                                                                                 capsys):
    import argparse

    from calibration import posterior_report
    from faces.cli.calibrate import add_calibrate_parser, changes, run_calibrate

    before = {"a": {"value": 1.0, "std_error": 0.1}, "b": {"value": 2.0, "std_error": 0.5}}
    after = {"a": {"value": 1.3, "std_error": 0.1}, "b": {"value": 2.2, "std_error": 0.5}}
    moved = changes(before, after, "en")
    assert "1 parameter(s) moved" in moved and "a: 1 -> 1.3 (standard error 0.1)" in moved and "b:" not in moved
    assert changes(after, after, "zh") == "与上次校准相比,没有参数的变化超过其标准误。"
    assert "first time" in changes({}, after, "en")

    out = tmp_path / "calibrated.toml"
    out.write_text('[parameters.nominal_gdp_2015]\nvalue = 6000.0\nstd_error = 50.0\n', encoding="utf-8")

    def fake_posterior(args, problem, target, report):  # the MCMC run, replaced: it writes the MAP draw
        target.write_text('[parameters.nominal_gdp_2015]\nvalue = 6200.0\nstd_error = 60.0\n', encoding="utf-8")
        print(f"wrote {target}")
        return 0

    monkeypatch.setattr(posterior_report, "run_posterior", fake_posterior)
    parser = argparse.ArgumentParser()
    add_calibrate_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["calibrate", "--posterior", "--out", str(out), "--no-report", "--no-progress"])
    assert run_calibrate(args) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "nominal_gdp_2015: 6000 -> 6200 (standard error 60)" in printed
