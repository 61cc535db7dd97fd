"""Calibration: observations map to the model, residuals of each kind, identifiability, determinism."""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from calibration import CALIBRATED_PATH, OBSERVATIONS_PATH
from calibration.fit import CENSUS_REBASING, Parameter, Problem, fit, to_toml
from calibration.observations import (
    KINDS,
    Observations,
    Predictor,
    compared_quantity,
    load_observations,
    normalised_residual,
)
from calibration.report import evaluate, goals, series_statistics, theil, write_report
from faces.cli.calibrate import add_calibrate_parser, run_calibrate
from simulator.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
HISTORY = ROOT.parent / "shared" / "data" / "jinan_history.csv"
# A handful of parameters the data identifies, with "true" values inside half a prior sd of the default.
TRUTH = {
    "initial_population_2015": 855.0,
    "nominal_gdp_2015": 6650.0,
    "autonomous_productivity_growth": 0.028,
    "industrial_water_efficiency_rate": 0.05,
    "census_rebasing_factor": 1.03,
}


@pytest.fixture(scope="module")
def observations(model, labels):
    return load_observations(model=model, labels=labels)


def _parameters(model, names) -> list[Parameter]:
    out = []
    for name in names:
        if name == CENSUS_REBASING.id:
            out.append(CENSUS_REBASING)
            continue
        element = model.elements[name]
        low, high, _ = element.limits
        out.append(Parameter(name, element.default, low, high, element.units))
    return out


def _parse(args: list[str]):
    parser = argparse.ArgumentParser()
    add_calibrate_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["calibrate", *args])


# --- observations --------------------------------------------------------------------------------


def test_every_observation_maps_to_a_model_variable(model, labels, observations):
    table = observations.table
    assert set(table["kind"]) == set(KINDS)
    for row in table.itertuples():
        for name in row.variable.split("/"):
            assert name in model.elements, row.id
        if row.indicator:
            assert labels.indicators[row.indicator] == row.variable, row.id
        assert row.source_indicator and row.source_year and row.sigma > 0, row.id
    assert (table["use"] == "fit").sum() >= 30


@pytest.mark.skipif(not HISTORY.is_file(), reason="../shared/data/jinan_history.csv not available")
def test_observations_file_is_rebuilt_identically_from_history(tmp_path):
    spec = importlib.util.spec_from_file_location("build", ROOT / "calibration/data/build_observations.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    out = tmp_path / "observations.csv"
    assert build.main([str(HISTORY), str(out)]) == 0
    assert out.read_bytes() == OBSERVATIONS_PATH.read_bytes(), "run calibration/data/build_observations.py"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "trend"}, "unknown kind 'trend'"),
        ({"variable": "gdp_reel"}, "unknown model variable 'gdp_reel'"),
        ({"sigma": "0"}, "sigma must be a positive number"),
        ({"year": "2040.5"}, "'year' must be an integer"),
        ({"indicator": "population"}, "indicator 'population' maps to 'total_population'"),
    ],
)
def test_bad_observations_raise_one_line(tmp_path, model, labels, change, message):
    frame = pd.read_csv(OBSERVATIONS_PATH, dtype=str, keep_default_na=False)
    row = frame.index[frame["id"] == "gdp-nominal-2019"][0]
    for key, value in change.items():
        frame.loc[row, key] = value
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(UserError, match=message) as info:
        load_observations(path, model=model, labels=labels)
    assert "bad.csv: row 'gdp-nominal-2019'" in str(info.value) and "\n" not in str(info.value)


# --- residuals of each kind on hand-made cases ------------------------------------------------------


def test_compared_quantity_and_residual_of_each_kind():
    series = np.array([[100.0, 110.0, 121.0], [200.0, 200.0, 180.0]])  # two runs, years 0..2
    np.testing.assert_allclose(compared_quantity("level", series, 1), [110.0, 200.0])
    np.testing.assert_allclose(compared_quantity("change", series, 2, 0), [21.0, -10.0])
    np.testing.assert_allclose(compared_quantity("growth", series, 2), [10.0, -10.0])
    np.testing.assert_allclose(compared_quantity("range", series, 2, 0), [21.0, -10.0])  # range on a change
    np.testing.assert_allclose(compared_quantity("range", series, 1), [110.0, 200.0])
    assert normalised_residual("level", 110.0, 105.0, np.nan, np.nan, 5.0) == pytest.approx(1.0)
    assert normalised_residual("change", 21.0, 20.0, np.nan, np.nan, 0.5) == pytest.approx(2.0)
    assert normalised_residual("growth", 10.0, 12.0, np.nan, np.nan, 1.0) == pytest.approx(-2.0)
    q = np.array([5.0, 10.0, 12.0, 20.0, 25.0])
    np.testing.assert_allclose(normalised_residual("range", q, np.nan, 10.0, 20.0, 2.0), [-2.5, 0, 0, 0, 2.5])
    np.testing.assert_allclose(normalised_residual("range", q, np.nan, -np.inf, 20.0, 2.0), [0, 0, 0, 0, 2.5])


def test_predictor_applies_rebasing_and_ratios():
    table = pd.DataFrame({
        "kind": ["level", "level", "growth", "range"], "variable": ["pop", "pop", "a/b", "pop"],
        "year": [2016, 2016, 2016, 2016], "base_year": [-1, -1, -1, -1], "rebase": [-1, 0, 0, 1],
        "value": [100.0, 102.0, 50.0, np.nan], "low": [-np.inf, -np.inf, -np.inf, 105.0],
        "high": [np.inf, np.inf, np.inf, 110.0], "sigma": [1.0, 2.0, 10.0, 1.0],
    })
    predictor = Predictor(table, [2015.0, 2016.0])
    values = {"pop": np.array([[100.0, 102.0]]), "a": np.array([[2.0, 6.0]]), "b": np.array([[2.0, 4.0]])}
    q = predictor.quantities(values, np.array([1.02]))
    np.testing.assert_allclose(q, [[100.0, 102.0, 50.0, 104.04]])
    np.testing.assert_allclose(predictor.residuals(q), [[0.0, 0.0, 0.0, -0.96]], atol=1e-12)
    q[0, 1] = np.nan  # a blown-up run loses instead of poisoning the optimiser
    assert predictor.residuals(q)[0, 1] == 1e6


def test_theil_proportions():
    actual = np.array([10.0, 12.0, 11.0, 13.0])
    shifted = theil(actual + 1.0, actual)  # pure bias
    assert shifted["um"] == pytest.approx(1.0) and shifted["us"] == pytest.approx(0.0, abs=1e-12)
    mixed = theil(np.array([9.0, 13.5, 12.0, 12.0]), actual)
    assert mixed["um"] + mixed["us"] + mixed["uc"] == pytest.approx(1.0)
    relative = np.array([-1 / 10, 1.5 / 12, 1 / 11, -1 / 13])
    assert mixed["mape"] == pytest.approx(100 * np.mean(np.abs(relative)))
    assert mixed["rmspe"] == pytest.approx(100 * np.sqrt(np.mean(relative**2)))


# --- identifiability --------------------------------------------------------------------------------


@pytest.mark.parametrize("noise_seed", [7, 8, 9, 10])
def test_parameters_are_recovered_from_synthetic_data(model, observations, noise_seed):
    """Data made by the model from known parameters plus noise of the stated sigma is recovered."""
    params = _parameters(model, list(TRUTH))
    table = observations.select("fit")
    table = table[table["kind"] != "range"].reset_index(drop=True)
    synthetic = Observations(table=table, path=OBSERVATIONS_PATH, sha256="synthetic")
    problem = Problem(model, synthetic, parameters=params)
    truth = np.array([TRUTH[p.id] for p in params])
    clean = problem.simulate(truth[None, :])[0]
    noise = np.random.default_rng(noise_seed).standard_normal(len(table)) * table["sigma"].to_numpy()
    table["value"] = clean + noise
    problem = Problem(model, Observations(table=table, path=OBSERVATIONS_PATH, sha256="synthetic"),
                      parameters=params)
    result = fit(problem, seed=3, starts=2)
    z = (result.theta - truth) / result.std_error
    assert np.all(np.abs(z) < 3), dict(zip(TRUTH, z, strict=True))
    assert result.identification() == ["identified"] * len(params)


# --- determinism, calibrated.toml, report, CLI ------------------------------------------------------


@pytest.fixture(scope="module")
def small_fit(model, observations):
    names = ["initial_population_2015", "nominal_gdp_2015", "industrial_water_efficiency_rate",
             CENSUS_REBASING.id]
    return lambda seed, method="multistart": fit(
        Problem(model, observations, parameters=_parameters(model, names)), seed=seed, starts=2,
        method=method, popsize=3, maxiter=4)


def test_same_seed_gives_the_same_toml(small_fit):
    first = to_toml(small_fit(11))
    assert to_toml(small_fit(11)) == first
    assert "model_sha256" in first and "observations_sha256" in first and "[correlation]" in first
    data = tomllib.loads(first)
    assert set(data["parameters"]) == {"initial_population_2015", "nominal_gdp_2015",
                                       "industrial_water_efficiency_rate"}
    assert {"value", "std_error"} <= set(data["parameters"]["nominal_gdp_2015"])
    assert set(data["nuisance"]) == {CENSUS_REBASING.id}
    assert np.allclose(np.diag(data["correlation"]["matrix"]), 1.0)
    assert to_toml(small_fit(5, "global")) == to_toml(small_fit(5, "global"))


def test_committed_calibration_matches_model_and_observations(model):
    data = tomllib.loads(CALIBRATED_PATH.read_text(encoding="utf-8"))
    meta = data["calibration"]
    assert meta["model_sha256"] == model.sha256, "models/jinan.mdl changed: run `jinan-sd calibrate`"
    assert meta["observations_sha256"] == hashlib.sha256(OBSERVATIONS_PATH.read_bytes()).hexdigest(), (
        "observations.csv changed: run `jinan-sd calibrate`")
    for name, entry in data["parameters"].items():
        low, high, _ = model.elements[name].limits
        assert low <= entry["value"] <= high and entry["std_error"] >= 0, name


def test_calibrate_command_reproduces_calibrated_toml(tmp_path, capsys):
    out = tmp_path / "calibrated.toml"
    args = ["--out", str(out), "--no-report", "--no-progress"]
    assert run_calibrate(_parse(args)) == 0
    assert out.read_bytes() == CALIBRATED_PATH.read_bytes(), "run `jinan-sd calibrate` and commit the result"
    text = capsys.readouterr().out
    assert "Goals" in text and "MISSED" not in text
    for row in pd.read_csv(OBSERVATIONS_PATH)["id"]:  # every observation's residual is listed
        assert f"  {row} " in text


def test_report_tables_and_plots(small_fit, tmp_path):
    result = small_fit(11)
    table = evaluate(result)
    assert table["model"].notna().all()
    stats = series_statistics(table)
    assert {"mape", "rmspe", "um", "us", "uc"} <= set(stats.columns)
    assert set(goals(table)["goal"]) >= {"nominal GDP", "resident population (re-based)"}
    # pytest turns warnings into errors: a missing CJK glyph would fail here. A few series keep it quick.
    few = table[table["series"].isin(["population", "gdp_growth", "co2", "water_per_gdp"])]
    written = write_report(result, tmp_path, lang="zh", table=few)
    names = {p.name for p in written}
    assert {"fit_overview.png", "fit_population.png", "residuals.csv", "report.txt"} <= names
    assert all(p.stat().st_size > 0 for p in written)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "x.txt"], "--out must be a .toml file"),
        (["--out", "/nonexistent/dir/x.toml"], "does not exist"),
        (["--observations", "/nonexistent/obs.csv"], "observations file not found"),
    ],
)
def test_calibrate_bad_input_raises_user_error(tmp_path, args, message):
    defaults = ["--out", str(tmp_path / "c.toml"), "--report", str(tmp_path / "r"), "--no-progress"]
    with pytest.raises(UserError, match=message):
        run_calibrate(_parse(defaults + args))


def test_calibrate_rejects_a_negative_seed_at_the_command_line(capsys):
    with pytest.raises(SystemExit) as info:
        _parse(["--seed", "-1"])
    assert info.value.code == 2
    assert "seed must be 0 or more" in capsys.readouterr().err
