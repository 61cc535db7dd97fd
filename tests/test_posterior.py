"""Bayesian calibration: the sampler against a known posterior, determinism of posterior.parquet, atomic
writes, joint draws, simulation-based calibration on a toy model."""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import simulator
from calibration.fit import CENSUS_REBASING, Parameter, Problem, fit, write_calibrated
from calibration.observations import load_observations
from calibration.posterior import (
    LOG_POSTERIOR,
    draw,
    read_posterior,
    run_ensemble,
    sample_posterior,
    summarise,
    to_parquet_bytes,
    write_posterior,
)
from calibration.sbc import run_sbc
from simulator import atomic
from simulator.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
PARAMETERS = ("initial_population_2015", "nominal_gdp_2015", "autonomous_productivity_growth",
              "census_rebasing_factor")


# --- linear-Gaussian problem with a closed-form posterior ------------------------------------------


def _linear_gaussian(seed: int = 7):
    """y = A x + e, e ~ N(0, s^2 I), prior x ~ N(0, L^-1): posterior N(mean, cov) in closed form."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(12, 3))
    a[:, 1] += 0.8 * a[:, 0]  # correlated posterior
    s = 0.7
    prior_precision = np.diag([0.5, 1.0, 2.0])
    y = a @ np.array([1.0, -0.5, 0.3]) + s * rng.normal(size=12)
    cov = np.linalg.inv(a.T @ a / s**2 + prior_precision)
    mean = cov @ a.T @ y / s**2

    def log_prob(x, scale=1.0):
        r = (y[None, :] - x @ a.T) / s
        return -0.5 * scale * (np.sum(r * r, axis=1) + np.einsum("ni,ij,nj->n", x, prior_precision, x))

    return log_prob, mean, cov


def _agrees(draws, mean, cov, ess, k=5.0) -> bool:
    """Sample mean and covariance within k Monte-Carlo standard errors of the truth (ESS-based)."""
    ess = min(ess, len(draws))
    mean_ok = np.all(np.abs(draws.mean(axis=0) - mean) <= k * np.sqrt(np.diag(cov) / ess))
    sample_cov = np.cov(draws, rowvar=False)
    se = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / ess)  # sd of a sample covariance
    return bool(mean_ok and np.all(np.abs(sample_cov - cov) <= k * se))


@pytest.mark.parametrize("moves", ["mixed", "de", "stretch"])
def test_sampler_recovers_linear_gaussian_posterior(moves):
    log_prob, mean, cov = _linear_gaussian()
    initial = np.random.default_rng(1).normal(size=(24, 3))
    chain = run_ensemble(log_prob, initial, steps=3000, seed=11, moves=moves)
    draws, lp, diag = summarise(chain, ["a", "b", "c"])
    assert diag["draws"] >= 2000 and len(draws) == len(lp) == diag["draws"]
    assert 0.15 < diag["acceptance_mean"] < 0.8
    assert diag["rhat_max"] < 1.02
    assert _agrees(draws, mean, cov, diag["ess_bulk_min"])
    # The check can fail: the same sampler on a posterior twice as wide does not agree with the truth.
    wide = run_ensemble(lambda x: log_prob(x, scale=0.5), initial, steps=3000, seed=11, moves=moves)
    wide_draws, _, wide_diag = summarise(wide, ["a", "b", "c"])
    assert not _agrees(wide_draws, mean, cov, wide_diag["ess_bulk_min"])


def test_same_seed_same_chain_other_seed_other_chain():
    log_prob, _, _ = _linear_gaussian()
    initial = np.random.default_rng(1).normal(size=(8, 3))
    one, two = (run_ensemble(log_prob, initial, steps=50, seed=3) for _ in range(2))
    other = run_ensemble(log_prob, initial, steps=50, seed=4)
    assert np.array_equal(one.samples, two.samples)
    assert not np.array_equal(one.samples, other.samples)


def test_bad_sampler_settings_are_one_line_user_errors():
    log_prob, _, _ = _linear_gaussian()
    with pytest.raises(UserError, match="walkers must be even"):
        run_ensemble(log_prob, np.zeros((5, 3)), steps=10, seed=1)
    with pytest.raises(UserError, match="steps must be at least 1"):
        run_ensemble(log_prob, np.zeros((8, 3)), steps=0, seed=1)
    with pytest.raises(UserError, match="unknown sampler moves"):
        run_ensemble(log_prob, np.random.default_rng(0).normal(size=(8, 3)), steps=2, seed=1, moves="gibbs")


# --- simulation-based calibration on a toy model ---------------------------------------------------

_TIMES = np.arange(6.0)


def _toy_sbc(sigma_factor: float, replications: int = 60):
    """x(t) = x0 exp(r t) observed with 3 % noise; truncated-Gaussian priors in unit coordinates."""
    low, span = np.array([50.0, 0.0]), np.array([100.0, 0.15])
    centre, width = np.array([0.5, 1 / 3]), 0.5

    def curve(u):
        theta = low + u * span
        return theta[:, :1] * np.exp(theta[:, 1:] * _TIMES[None, :])

    def prior_draw(rng):
        while True:  # rejection from the truncated Gaussian
            u = centre + width * rng.standard_normal(2)
            if np.all((u >= 0) & (u <= 1)):
                return u

    def simulate(u, rng):
        clean = curve(u[None, :])[0]
        return clean + 0.03 * clean * rng.standard_normal(clean.shape)

    def make_log_prob(data):
        sigma = 0.03 * np.abs(data) * sigma_factor

        def log_prob(u):
            out = np.full(len(u), -np.inf)
            ok = np.all((u >= 0) & (u <= 1), axis=1)
            r = (curve(u[ok]) - data[None, :]) / sigma
            out[ok] = -0.5 * (np.sum(r * r, axis=1) + np.sum(((u[ok] - centre) / width) ** 2, axis=1))
            return out

        return log_prob

    def initial(data, log_prob, rng, walkers):
        return rng.uniform(0.05, 0.95, size=(walkers, 2))  # from the box, never from the truth

    return run_sbc(["x0", "r"], prior_draw, simulate, make_log_prob, initial, replications=replications,
                   seed=2021, walkers=16, steps=500, burn=200, thin=5)


def test_sbc_toy_ranks_uniform_and_90_percent_intervals_cover():
    result = _toy_sbc(1.0)
    assert result.ranks.shape == (60, 2) and result.draws == 16 * 60
    assert result.ranks.min() >= 0 and result.ranks.max() <= result.draws
    assert np.all(result.uniformity_pvalues() > 0.001)
    low, high = result.coverage_interval()
    assert low <= 0.90 <= high
    assert 0.82 <= result.coverage90() <= 0.97


def test_sbc_toy_detects_an_overconfident_likelihood():
    # Sigmas halved in the likelihood: intervals too narrow, ranks piled at the ends; the checks must see it.
    result = _toy_sbc(0.5)
    assert result.coverage90() < 0.82 or np.any(result.uniformity_pvalues() <= 0.001)


# --- the calibration posterior: determinism, files, draws -----------------------------------------


@pytest.fixture(scope="module")
def small_problem(model, labels):
    observations = load_observations(model=model, labels=labels)
    parameters = []
    for name in PARAMETERS:
        if name == CENSUS_REBASING.id:
            parameters.append(CENSUS_REBASING)
            continue
        element = model.elements[name]
        low, high, _ = element.limits
        parameters.append(Parameter(name, element.default, low, high, element.units))
    base = simulator.scenario("baseline", model).overrides
    return Problem(model, observations, parameters, base_overrides=base)


@pytest.fixture(scope="module")
def small_mode(small_problem):
    return fit(small_problem, seed=5, starts=1)


def _sample(problem, mode, seed):
    return sample_posterior(problem, seed=seed, walkers=8, steps=120, mode=mode, burn=40, thin=2, stride=1,
                            min_draws=1, max_draws=10**6)


def test_same_seed_same_posterior_bytes(small_problem, small_mode, tmp_path):
    one = to_parquet_bytes(_sample(small_problem, small_mode, 9))
    two = to_parquet_bytes(_sample(small_problem, small_mode, 9))
    other = to_parquet_bytes(_sample(small_problem, small_mode, 10))
    assert one == two
    assert one != other


def test_posterior_file_round_trip_and_draws(small_problem, small_mode, tmp_path):
    post = _sample(small_problem, small_mode, 9)
    path = write_posterior(post, tmp_path / "posterior.parquet")
    frame, info = read_posterior(path)
    assert list(frame.columns) == [*PARAMETERS, LOG_POSTERIOR]
    assert len(frame) == post.diagnostics["draws"] == 8 * 40
    assert np.array_equal(frame[list(PARAMETERS)].to_numpy(), post.theta)
    assert info["seed"] == 9 and info["model_sha256"] == small_problem.model.sha256
    assert info["observations_sha256"] == small_problem.observations.sha256
    assert info["sampler"]["walkers"] == 8 and info["engine"]["name"] == "fast"
    # the backend that ran the chain, not a fixed name (the suite runs numpy, the library default is compiled)
    assert info["engine"]["backend"] == small_problem.backend == os.environ.get("JINAN_SD_BACKEND", "compiled")
    assert set(info["diagnostics"]) >= {"acceptance_mean", "tau", "rhat", "ess_bulk", "burn", "thin"}
    # Every draw respects the ranges, and the log-posterior column is the objective's.
    assert np.all(post.theta >= small_problem.low) and np.all(post.theta <= small_problem.low + small_problem.span)
    u = small_problem.unit(post.theta[:5])
    assert np.allclose(frame[LOG_POSTERIOR][:5], -0.5 * small_problem.objective(u))
    # MAP: never below the least-squares optimum, never below any kept draw.
    assert post.map_log_posterior >= -0.5 * small_mode.objective - 1e-12
    assert post.map_log_posterior >= post.log_posterior.max()

    draws = draw(500, seed=4, path=path)
    again = draw(500, seed=4, path=path)
    assert draws.equals(again) and not draws.equals(draw(500, seed=5, path=path))
    assert list(draws.columns) == list(PARAMETERS[:-1])  # the nuisance parameter is dropped by default
    assert "census_rebasing_factor" in draw(3, seed=4, path=path, nuisance=True).columns
    # Whole rows: every drawn row is a row of the file, so correlations are those of the sample.
    rows = draws.attrs["source_rows"]
    assert np.array_equal(draws.to_numpy(), frame[list(PARAMETERS[:-1])].to_numpy()[rows])
    with pytest.raises(UserError, match="n must be a positive integer"):
        draw(0, seed=1, path=path)
    with pytest.raises(UserError, match="posterior file not found"):
        draw(1, seed=1, path=tmp_path / "missing.parquet")


def test_calibrated_toml_says_whether_the_optimum_is_the_map_of_the_sample(small_problem, small_mode, tmp_path):
    import dataclasses
    import tomllib

    from calibration.map_point import check_against_posterior
    from calibration.posterior import polish_from

    post = _sample(small_problem, small_mode, 9)
    path = write_posterior(post, tmp_path / "posterior.parquet")
    out = tmp_path / "calibrated.toml"
    # The optimum against a sample of the same density: at least as probable as every draw -> the MAP point.
    write_calibrated(small_mode, out, posterior=path)
    text = out.read_text(encoding="utf-8")
    assert "MAXIMUM A POSTERIORI point" in text
    meta = tomllib.loads(text)["calibration"]
    assert meta["map_point"] is True and meta["map_posterior"] == "posterior.parquet"
    assert meta["map_posterior_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert meta["map_optimum_log_posterior"] == pytest.approx(-0.5 * small_mode.objective)
    assert meta["map_best_draw_log_posterior"] == pytest.approx(post.log_posterior.max())
    assert meta["map_best_draw_recomputed"] == pytest.approx(meta["map_best_draw_log_posterior"], abs=1e-8)
    assert meta["map_optimum_log_posterior"] >= meta["map_best_draw_log_posterior"]
    # A point that is not the optimum (the model's defaults) is beaten by a draw: said so, never called the MAP.
    worse = fit(small_problem, seed=5, starts=1, max_nfev=1)
    assert worse.objective > -2 * post.log_posterior.max()
    check = check_against_posterior(worse, path)
    assert check["entries"]["map_point"] is False and "NOT the MAP point" in check["header"]
    # ... and polishing from the sample's most probable draw recovers a point at least as good as the optimum.
    polished = polish_from(worse, post.visited_theta)
    assert polished is not None and polished.objective <= small_mode.objective + 1e-6
    assert polished.starts == worse.starts + 1 and "most probable draw" in polished.describe["method"]
    assert polish_from(small_mode, small_mode.theta) is None  # the optimum stays
    # A sample of another density (other observations, other parameters) or none at all: not checked.
    other = dataclasses.replace(small_mode, problem=Problem(small_problem.model, small_problem.observations,
                                                            small_problem.parameters[:2]))
    assert check_against_posterior(other, path)["entries"]["map_point"] == "not checked"
    missing = check_against_posterior(small_mode, tmp_path / "none.parquet")
    assert missing["entries"]["map_check"] == "no posterior sample" and "not checked" in missing["header"]
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    assert "not a readable parquet" in check_against_posterior(small_mode, tmp_path / "bad.parquet")[
        "entries"]["map_check"]


# --- atomic writes --------------------------------------------------------------------------------


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "posterior.parquet"
    target.write_bytes(b"old")

    def fail(fd):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "fsync", fail)
    with pytest.raises(OSError, match="disk full"):
        atomic.write_bytes(target, b"new" * 1000)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["posterior.parquet"]


def test_calibration_writers_go_through_the_atomic_rename(small_problem, small_mode, tmp_path, monkeypatch):
    post = _sample(small_problem, small_mode, 9)
    toml, parquet = tmp_path / "calibrated.toml", tmp_path / "posterior.parquet"
    toml.write_bytes(b"old toml")
    parquet.write_bytes(b"old parquet")

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.os, "replace", interrupted)
    for write, target in ((lambda: write_posterior(post, parquet), parquet),
                          (lambda: write_calibrated(small_mode, toml), toml)):
        with pytest.raises(KeyboardInterrupt):
            write()
        assert target.read_bytes().startswith(b"old")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calibrated.toml", "posterior.parquet"]


def test_killed_writer_never_leaves_a_partial_file(tmp_path):
    # The child is killed (SIGKILL: no clean-up runs) after writing the temporary file, before the rename.
    target = tmp_path / "posterior.parquet"
    target.write_bytes(b"old")
    code = (
        "import os, signal, sys; from simulator import atomic\n"
        "atomic.os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)\n"
        f"atomic.write_bytes({str(target)!r}, b'x' * 10_000_000)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=60)
    assert done.returncode == -9
    assert target.read_bytes() == b"old"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "posterior.parquet"]
    # only a hidden partial beside it, which the next write cleans (simulator.atomic.clean_stale)
    assert all(name.startswith(".posterior.parquet.partial-") for name in leftovers)


def test_cli_interrupted_posterior_touches_no_file(tmp_path, monkeypatch):
    from calibration import posterior
    from faces.cli.calibrate import add_calibrate_parser, run_calibrate

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(posterior, "run_ensemble", interrupted)
    parser = argparse.ArgumentParser()
    add_calibrate_parser(parser.add_subparsers(dest="command"))
    out, post = tmp_path / "calibrated.toml", tmp_path / "posterior.parquet"
    args = parser.parse_args(["calibrate", "--posterior", "--out", str(out), "--posterior-out", str(post),
                              "--no-report", "--no-progress", "--steps", "10"])
    with pytest.raises(KeyboardInterrupt):
        run_calibrate(args)
    assert list(tmp_path.iterdir()) == []
    args = parser.parse_args(["calibrate", "--posterior", "--out", str(out), "--posterior-out",
                              str(tmp_path / "p.csv"), "--no-report"])
    with pytest.raises(UserError, match=r"posterior_out must be a \.parquet file"):
        run_calibrate(args)
    for option, value, message in (("--steps", "15", "multiple of 10"), ("--walkers", "7", "must be even")):
        args = parser.parse_args(["calibrate", "--posterior", "--out", str(out), "--posterior-out", str(post),
                                  "--no-report", option, value])
        with pytest.raises(UserError, match=message):
            run_calibrate(args)
    assert list(tmp_path.iterdir()) == []


def test_posterior_predictive_table_and_figures(small_problem, small_mode, tmp_path):
    import dataclasses

    from calibration.observations import Observations
    from calibration.posterior_report import coverage, format_summary, plot_ppc, predictive_table
    from calibration.sbc import jinan_problem_for

    post = _sample(small_problem, small_mode, 9)
    table = predictive_table(post, seed=1)
    assert len(table) == len(small_problem.observations.table)
    points = table[table["kind"] != "range"]
    assert np.all(points["q05"] <= points["q25"]) and np.all(points["q75"] <= points["q95"])
    assert 0 < coverage(table)["all"]["inside90"] <= 1
    # The flags are computed, not assumed: observations moved 10 sigma above their bands are all outside.
    shifted = small_problem.observations.table.copy()
    is_point = shifted["kind"] != "range"
    shifted.loc[is_point, "value"] = points["q95"] + 10 * points["sigma"]
    moved = Observations(shifted, small_problem.observations.path, "moved")
    moved_post = dataclasses.replace(post, problem=jinan_problem_for(small_problem, moved))
    assert coverage(predictive_table(moved_post, seed=1))["all"]["inside90"] == 0
    text = format_summary(post, table)
    assert "acceptance" in text and "R-hat" in text
    for lang in ("zh", "en"):
        path = plot_ppc(post, table, tmp_path / f"ppc_{lang}.png", lang)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(UserError, match="zh or en"):
        plot_ppc(post, table, tmp_path / "x.png", "fr")


def test_committed_posterior_matches_model_and_observations(model):
    from calibration import OBSERVATIONS_PATH
    from calibration.fit import calibrated_parameters
    from calibration.posterior import MIN_DRAWS, POSTERIOR_PATH

    frame, info = read_posterior(POSTERIOR_PATH)
    assert info["model_sha256"] == model.sha256, "models/jinan.mdl changed: run `jinan-sd calibrate --posterior`"
    assert info["observations_sha256"] == hashlib.sha256(OBSERVATIONS_PATH.read_bytes()).hexdigest(), (
        "observations.csv changed: run `jinan-sd calibrate --posterior`")
    assert list(frame.columns) == [p.id for p in calibrated_parameters(model)] + [LOG_POSTERIOR]
    # a thinned sample stays small enough to commit: model 0.2's 40 columns x ~3 600 draws are ~1.3 MB
    assert len(frame) >= MIN_DRAWS and POSTERIOR_PATH.stat().st_size < 2_000_000
    assert frame.dtypes.eq(np.float64).all() and np.isfinite(frame.to_numpy()).all()


def test_runs_stopped_at_the_last_observed_year_give_the_same_numbers(small_problem):
    import copy

    fast = copy.copy(small_problem)
    fast.final_year = 2020.0
    u = np.random.default_rng(3).uniform(size=(16, small_problem.n_parameters))
    table = small_problem.observations.table
    assert np.array_equal(fast.simulate(small_problem.theta(u), table), small_problem.simulate(small_problem.theta(u),
                                                                                               table))
    values = fast.run(small_problem.theta(u), ["nominal_gdp"])["nominal_gdp"]
    assert values.shape == (16, 6)  # 2015-2020 only


def test_stored_stride_keeps_acceptance_and_reports_steps():
    log_prob, _, _ = _linear_gaussian()
    initial = np.random.default_rng(1).normal(size=(8, 3))
    every = run_ensemble(log_prob, initial, steps=200, seed=3)
    strided = run_ensemble(log_prob, initial, steps=200, seed=3, stride=10)
    assert np.array_equal(strided.samples, every.samples[9::10])
    assert np.array_equal(strided.acceptance, every.acceptance) and 0 < every.acceptance.mean() < 1
    _, _, diag = summarise(strided, ["a", "b", "c"], burn=50, thin=10)
    assert diag["burn"] == 50 and diag["thin"] == 10 and diag["stored_every"] == 10
    with pytest.raises(UserError, match="multiple of the stored stride"):
        run_ensemble(log_prob, initial, steps=205, seed=3, stride=10)


def test_long_chains_are_stored_sparser_but_every_stride_divides_the_steps():
    from calibration.posterior import MAX_STORED, STORE_EVERY, default_stride

    assert default_stride(30000) == STORE_EVERY and default_stride(15) == 1
    for steps in (300000, 250000, 240000, 123450, 60000):
        stride = default_stride(steps)
        assert steps % stride == 0 and stride % STORE_EVERY == 0
        assert steps // stride <= MAX_STORED * 1.2, steps  # about MAX_STORED positions at most
    assert default_stride(300000) == 60


def test_sbc_simulated_observations_follow_the_likelihood(small_problem):
    from calibration.sbc import jinan_problem_for, prior_draw_unit, simulated_observations

    rng = np.random.default_rng(8)
    u = prior_draw_unit(small_problem, rng)
    assert u.shape == (small_problem.n_parameters,) and np.all((u >= 0) & (u <= 1))
    z = []
    for _ in range(40):
        replica = jinan_problem_for(small_problem, simulated_observations(small_problem, u, rng))
        z.append(replica.residuals(u[None, :])[0][: len(replica.predictor)])
    z = np.array(z)
    points = (small_problem.table["kind"] != "range").to_numpy()
    # Point residuals at the truth are standard normal; range residuals are 0 inside, so their share of
    # zeros is the range likelihood's flat mass.
    assert abs(z[:, points].mean()) < 0.15 and 0.9 < z[:, points].std() < 1.1
    ranges = small_problem.table[~points]
    width = (ranges["high"] - ranges["low"]).to_numpy()
    two_sided = np.isfinite(width)  # a floor (no upper bound, model 0.2's high-tech 2019) has no finite flat mass
    flat = width[two_sided] / (width[two_sided] + ranges["sigma"].to_numpy()[two_sided] * np.sqrt(2 * np.pi))
    assert abs(np.mean(z[:, ~points][:, two_sided] == 0) - flat.mean()) < 0.1
