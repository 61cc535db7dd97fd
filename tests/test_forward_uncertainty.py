"""Forward uncertainty (issue 13): whole posterior rows with their correlation, seeded; the baseline knows
nothing after 2020 (no 2022 shock weight); the Gaussian fallback; targets without sampled spread are
flagged; inputs that act from 2021 leave the fitted history alone; the posterior as one Sobol group."""

from __future__ import annotations

import hashlib
import io
import json
import tomllib
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import simulator
from simulator.analysis.ensemble import flag_no_uncertainty, run_ensemble
from simulator.analysis.uncertainty import (
    POSTERIOR_GROUP,
    PosteriorFallback,
    load_posterior,
    load_uncertainty,
    timed_columns,
)
from simulator.errors import UserError

PROJECT = simulator.Project.default()
#: two calibrated constants of the Jinan model, strongly correlated in the synthetic posterior
PAIR = ("autonomous_productivity_growth", "capital_elasticity")


@pytest.fixture(scope="module")
def model():
    return simulator.load()


def write_posterior(path, model, frame: pd.DataFrame, nuisance=(), fmt=1):
    info = {"format_version": fmt, "model_sha256": model.sha256, "seed": 7,
            "parameters": [{"id": c, "nuisance": c in nuisance} for c in frame.columns if c != "log_posterior"],
            "diagnostics": {"converged": False}}
    table = pa.table({c: pa.array(frame[c].to_numpy(float)) for c in frame.columns})
    table = table.replace_schema_metadata({b"jinan_sd.posterior": json.dumps(info).encode()})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory, model):
    """500 rows with correlation -0.9 between the pair, a nuisance column and the log-posterior."""
    rng = np.random.default_rng(3)
    z = rng.multivariate_normal([0, 0], [[1, -0.9], [-0.9, 1]], size=500)
    frame = pd.DataFrame({PAIR[0]: 0.025 + 0.004 * z[:, 0], PAIR[1]: 0.4 + 0.03 * z[:, 1],
                          "census_rebasing_factor": 1.0 + 0.01 * rng.standard_normal(500),
                          "log_posterior": -rng.random(500)})
    return write_posterior(tmp_path_factory.mktemp("post") / "posterior.parquet", model, frame,
                           nuisance=("census_rebasing_factor",))


def test_ensemble_draws_whole_posterior_rows_with_their_correlation(model, synthetic):
    unc = load_uncertainty(PROJECT.uncertainty_path, model, PROJECT.root, posterior_path=synthetic)
    assert unc.calibrated == "posterior"
    assert unc.posterior.names == list(PAIR)  # nuisance and log_posterior dropped
    draws = unc.sample(4000, seed=11, sampler="lhs")
    source = pq.read_table(synthetic).to_pandas()
    rows = unc.posterior_rows(4000, seed=11)
    # every run carries one whole row of the file: both parameters from the same row
    np.testing.assert_array_equal(draws[PAIR[0]].to_numpy(), source[PAIR[0]].to_numpy()[rows])
    np.testing.assert_array_equal(draws[PAIR[1]].to_numpy(), source[PAIR[1]].to_numpy()[rows])
    r_file = np.corrcoef(source[PAIR[0]], source[PAIR[1]])[0, 1]
    r_draw = np.corrcoef(draws[PAIR[0]], draws[PAIR[1]])[0, 1]
    assert r_file < -0.85 and abs(r_draw - r_file) < 0.02
    # the forward inputs are still drawn by the design (LHS: one draw per stratum of each input)
    u = (draws["exchange_rate"].to_numpy() - 6.3) / 1.2
    assert sorted(np.floor(u * 4000).astype(int)) == list(range(4000))


def test_same_seed_same_bytes_other_seed_other_rows(model, synthetic):
    unc = load_uncertainty(PROJECT.uncertainty_path, model, PROJECT.root, posterior_path=synthetic)

    def digest(seed):
        frame = unc.sample(256, seed=seed, sampler="sobol")
        return hashlib.sha256(frame.to_numpy().tobytes()).hexdigest(), unc.posterior_rows(256, seed)

    (a, rows_a), (b, rows_b), (c, rows_c) = digest(5), digest(5), digest(6)
    assert a == b and (rows_a == rows_b).all()
    assert a != c and (rows_a != rows_c).any()


def test_manifest_records_posterior_sha_and_backend(synthetic):
    result = run_ensemble("baseline", n=16, seed=2, posterior_path=synthetic)
    m = result.manifest
    assert m["calibrated"] == "posterior"
    assert m["posterior"]["sha256"] == hashlib.sha256(synthetic.read_bytes()).hexdigest()
    assert m["posterior"]["rows"] == 500
    assert m["engine_backend"].startswith("numpy")
    assert set(PAIR) <= set(result.samples.columns)


def test_missing_posterior_falls_back_to_the_gaussian_with_a_warning(model, tmp_path):
    with pytest.warns(PosteriorFallback, match="not found"):
        unc = load_uncertainty(PROJECT.uncertainty_path, model, PROJECT.root,
                               posterior_path=tmp_path / "absent.parquet")
    assert unc.calibrated == "gaussian-fallback" and unc.posterior is None
    calibrated = tomllib.loads(PROJECT.calibration_path.read_text(encoding="utf-8"))["parameters"]
    # no "identified only" special case: every calibrated parameter with a spread is sampled
    spread = {k for k, v in calibrated.items() if float(v.get("std_error", 0) or 0) > 0}
    assert spread <= set(unc.names)


def test_bad_posterior_files_are_one_line_errors(model, tmp_path):
    frame = pd.DataFrame({"not_a_constant": [1.0, 2.0]})
    with pytest.raises(UserError, match="not a constant"):
        load_posterior(write_posterior(tmp_path / "a.parquet", model, frame), model)
    with pytest.raises(UserError, match="format"):
        load_posterior(write_posterior(tmp_path / "b.parquet", model, pd.DataFrame({PAIR[0]: [0.02]}), fmt=9), model)
    (tmp_path / "c.parquet").write_bytes(b"garbage")
    with pytest.raises(UserError, match="parquet"):
        load_posterior(tmp_path / "c.parquet", model)


def test_baseline_has_no_knowledge_of_the_2022_shock(model):
    """The baseline's later-shock distribution comes from the 2011-2020 hazard: no year after 2020 is favoured
    (first-arrival weights never rise), 2022 carries no special weight, and a 2022 shock lives in a what-if."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PosteriorFallback)
        unc = load_uncertainty(PROJECT.uncertainty_path, model, PROJECT.root)
    start = next(i for i in unc.inputs if i.name == "second_shock_start")
    values, weights = np.asarray(start.params["values"]), np.asarray(start.params["weights"], float)
    weights = weights / weights.sum()
    assert values.min() == 2021 and values.max() == 2035
    assert (np.diff(weights) <= 1e-12).all()  # geometric first arrival: nothing singles out a later year
    size = next(i for i in unc.inputs if i.name == "second_shock_size")
    no_shock = size.point_mass[1]
    assert 0.1 < no_shock < 0.5
    draws = unc.sample(20000, seed=1, sampler="random")
    shock_2022 = ((draws["second_shock_start"] == 2022) & (draws["second_shock_size"] > 0)).mean()
    # the old file gave 2022 a weight of 0.4; history gives about (1 - 0.247) * 0.143 = 0.108
    assert abs(shock_2022 - (1 - no_shock) * weights[values == 2022][0]) < 0.01
    assert shock_2022 < 0.15
    # the baseline scenario sets no shock of its own; the 2022 shock is the what-if scenario
    assert not {k for k in simulator.scenario("baseline", model).overrides if k.startswith("second_shock")}
    what_if = simulator.scenario("shock-2022", model).overrides
    assert what_if["second_shock_start"] == 2022 and what_if["second_shock_size"] > 0


def test_a_scenarios_levers_stay_fixed(synthetic):
    result = run_ensemble("shock-2022", n=8, seed=1, posterior_path=synthetic)
    assert "second_shock_start" not in result.samples.columns
    assert "second_shock_size" not in result.samples.columns
    assert set(result.manifest["fixed_by_scenario"]) == {"second_shock_size", "second_shock_start"}


def test_targets_without_sampled_spread_are_flagged(synthetic):
    result = run_ensemble("baseline", n=40, seed=3, posterior_path=synthetic)
    probs = result.probabilities.set_index("id")
    # the non-fossil share follows its lever path: the same value in every run
    assert probs.loc["non-fossil-2025", "no_uncertainty"]
    assert probs.loc["non-fossil-2025", "probability"] in (0.0, 1.0)
    assert not probs.loc["gdp-growth-2025", "no_uncertainty"]
    assert probs.loc["gdp-growth-2025", "value_q95"] > probs.loc["gdp-growth-2025", "value_q05"]
    from faces.cli.ensemble import probability_words

    assert probability_words(probs.loc["non-fossil-2025"].to_dict(), "en") in ("met*", "missed*")


def test_flag_rule_on_a_table():
    probs = pd.DataFrame({"id": ["a", "b", "c"], "n_valid": [3, 3, 0]})
    outcomes = pd.DataFrame({"failed": [False, False, True], "a:value": [1.0, 1.0, 5.0],
                             "b:value": [1.0, 1.1, 1.0], "c:value": [np.nan] * 3})
    out = flag_no_uncertainty(probs, outcomes).set_index("id")
    assert out.loc["a", "no_uncertainty"]  # the failed run's 5.0 does not count
    assert not out.loc["b", "no_uncertainty"] and not out.loc["c", "no_uncertainty"]


def test_inputs_from_2021_leave_the_fitted_history_alone(model):
    columns = {"inflation_rate": np.array([0.0, 0.04])}
    timed = timed_columns(columns, {"inflation_rate": 2021}, {}, model)["inflation_rate"]
    from simulator.runner import run_overrides

    _, values = run_overrides(model, {"inflation_rate": timed}, 2, variables=["GDP_Deflator".lower()])
    deflator = values["gdp_deflator"]
    years = np.asarray(model.years)
    before = years <= 2020
    np.testing.assert_allclose(deflator[0, before], deflator[1, before], rtol=1e-12)
    assert deflator[1, -1] > deflator[0, -1] * 1.5


def test_sensitivity_treats_the_posterior_as_one_group(synthetic):
    from simulator.analysis.sensitivity import _TargetOutputs

    outputs = _TargetOutputs("baseline", ["gdp-growth-2025"], posterior_path=synthetic)
    assert outputs.input_names.count(POSTERIOR_GROUP) == 1
    assert not set(PAIR) & set(outputs.input_names)
    rows = outputs.ppfs[-1](np.array([0.0, 0.5, 0.999999]))
    assert rows.tolist() == [0, 250, 499]
    x = np.array([[inp.ppf(np.array([0.5]))[0]] * 2 for inp in outputs.uncertainty.inputs] + [[0, 499]])
    y = outputs(x)
    assert y.shape == (1, 2) and y[0, 0] != y[0, 1]  # different rows, different outcome


def test_goal_seeking_flags_a_margin_without_sampled_spread():
    from simulator.analysis.goalseek import _flat

    assert _flat(np.array([0.3, 0.3, 0.3]))
    assert not _flat(np.array([0.3, 0.31, 0.3]))
    assert not _flat(np.array([0.3, np.nan, 0.3]))  # a failed sample is not "the same in every sample"


def test_targets_probability_cli_adds_the_column_and_flags(capsys):
    from faces.cli.main import main

    assert main(["--lang", "en", "targets", "baseline", "--probability", "20", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "probability" in out and "missed*" in out and "the same in every run" in out
    assert "calibrated parameters: whole posterior rows resampled" in out
    assert main(["targets", "baseline", "--probability", "1"]) == 2
