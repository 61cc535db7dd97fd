"""The Jinan model file: it loads and runs, and it documents itself (units, docs, ranges, labels)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from support import control_section

import simulator
from simulator.model.mdl import Model
from simulator.model.units import check_units, parse_units


def test_runs_2015_to_2035_without_warnings(model):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = simulator.run("baseline", engine="pysd")
    assert list(result.frame.index) == list(range(2015, 2036))
    assert np.isfinite(result.frame.to_numpy(float)).all()
    assert result.provenance["model_sha256"] == model.sha256


def test_time_settings(model):
    assert model.time == {"initial_time": 2015, "final_time": 2035, "time_step": 0.25, "saveper": 1}


def test_every_variable_has_units_and_documentation(model):
    missing = [e.name for e in model.elements.values() if not e.units or not e.doc]
    assert missing == []


def test_every_user_lever_has_a_range_and_labels(model, labels):
    grouped = [lever for sector in labels.sectors.values() for lever in sector["levers"]]
    assert grouped, "labels.toml groups no levers"
    for lever in grouped:
        element = model.elements[lever]
        assert element.is_lever, f"{lever} has no Vensim range"
        low, high, _ = element.limits
        value = element.default if element.kind == "constant" else min(y for _, y in element.default)
        assert low <= value <= high, lever
    for lever in model.levers:
        assert lever in labels.names, f"{lever} has no zh/en label"
        assert labels.name(lever, "zh") != labels.name(lever, "en")


def test_every_indicator_names_an_existing_variable(model, labels):
    required = {
        "gdp_real", "gdp_nominal", "gdp_primary", "gdp_secondary", "gdp_tertiary", "population",
        "working_age_population", "water_use_total", "co2_emissions", "industrial_revenue",
        "industrial_value_added", "energy_consumption", "energy_intensity",
    }
    assert required <= set(labels.indicators)
    for indicator, variable in labels.indicators.items():
        assert variable in model.elements, f"{indicator} -> {variable} is not a model variable"
        assert variable in labels.names, f"{variable} has no label"


def test_ids_match_pysd_python_names(model):
    from simulator.engines.pysd import load_pysd

    namespace = load_pysd(model.path, model.sha256).namespace
    assert {v for k, v in namespace.items() if k != "Time"} == set(model.elements)


def test_units_check_passes_on_the_model(model):
    assert check_units(model) == []


BROKEN = {
    "plus of different units": ("y = x + z", "'+' of different units"),
    "flow units": ("S = INTEG(x, 1)", "net flow has units"),
    "declared units": ("y = x * z", "equation has units"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_units_check_fails_on_broken_models(tmp_path, case):
    equation, message = BROKEN[case]
    name = equation.split("=")[0].strip()
    units = {"y": "Widget", "S": "Widget"}[name]
    text = f"""{{UTF-8}}
x = 1
\t~\tWidget
\t~\tx.
\t|
z = 2
\t~\tYear
\t~\tz.
\t|
{equation}
\t~\t{units}
\t~\tThe element under test.
\t|
""" + control_section(0, 1)
    path = tmp_path / "broken.mdl"
    path.write_text(text)
    problems = check_units(Model(path))
    assert any(message in p for p in problems), problems


def test_parse_units():
    assert parse_units("CNY/(Person*Year)") == parse_units("CNY/Person/Year")
    assert parse_units("Dmnl") == {} == parse_units("1")
    assert parse_units("m3x100m/(Year*Year)") == parse_units("m3x100m/Year^2")


def test_every_variable_has_zh_and_en_names(model, labels):
    missing = [k for k, e in model.elements.items() if e.kind != "control" and k not in labels.names]
    assert missing == []
