"""Scenarios, targets on results, and the targets / compare / report commands."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import simulator
from faces.cli.main import main
from simulator.targets import check_indicator_mapping, load_targets
from simulator.targets.assess import target_table

SCENARIOS = simulator.list_scenarios()


def test_the_design_scenarios_exist():
    assert {"baseline", "plan", "green", "growth", "downside"} <= set(SCENARIOS)


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_loads_runs_and_cites_its_levers(model, labels, name):
    scen = simulator.scenario(name, model)
    assert scen.title("zh") and scen.title("en") and scen.descriptions.get("zh")
    if scen.path is not None:
        import tomllib

        own = tomllib.loads(scen.path.read_text(encoding="utf-8")).get("levers", {})
        assert set(own) <= set(scen.sources), f"levers without a source: {set(own) - set(scen.sources)}"
    table = target_table(simulator.run(name), labels, "en")
    assert set(table["status"]) <= {"met", "missed", "not assessed"}


def test_every_modelled_indicator_maps_to_a_variable(model, labels):
    assert check_indicator_mapping(load_targets(), labels.indicators, set(model.elements)) == []


def test_not_modelled_targets_are_listed_not_dropped(labels):
    table = target_table(simulator.run("baseline"), labels, "en")
    targets = load_targets()
    assert list(table["id"]) == [t.id for t in targets]
    not_modelled = {t.id for t in targets if t.modelled == "no"}
    assert set(table.loc[table["id"].isin(not_modelled), "status"]) == {"not assessed"}


def test_plan_beats_baseline_on_rd(labels):
    base = target_table(simulator.run("baseline"), labels, "en").set_index("id")
    plan = target_table(simulator.run("plan"), labels, "en").set_index("id")
    assert plan.loc["rd-2025", "simulated"] > base.loc["rd-2025", "simulated"]


def test_targets_json(capsys):
    assert main(["targets", "plan", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["scenario"] == "plan" and len(data["targets"]) == len(load_targets())


def test_compare_writes_xlsx_with_a_sheet_per_table(tmp_path, capsys):
    out = tmp_path / "cmp.xlsx"
    assert main(["--lang", "en", "compare", "baseline", "plan", "green", "--out", str(out)]) == 0
    sheets = pd.read_excel(out, sheet_name=None, engine="openpyxl")
    assert set(sheets) == {"indicators", "targets", "variables"}  # variables: the id behind every header
    assert any("plan" in str(c).lower() for c in sheets["targets"].columns)  # by title: "Plan: simulated"


def test_report_writes_figures_and_tables(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["report", "baseline", "plan", "--out", str(out)]) == 0
    for name in ("trajectories.png", "trajectories.pdf", "feasibility.png", "feasibility.pdf", "tables.xlsx",
                 "run_baseline.csv", "run_plan.csv"):
        assert (out / name).stat().st_size > 0, name


def test_compare_rejects_bad_output(capsys):
    assert main(["compare", "baseline", "--out", "x.docx"]) == 2
    assert "use .xlsx or .csv" in capsys.readouterr().err
