"""Monte Carlo ensembles: known probabilities on a toy model, reproducibility whatever the chunking or
workers, failed runs, bad uncertainty files, and Sobol indices on the Ishigami function."""

from __future__ import annotations

import os

import numpy as np
import pytest
from support import control_section

import simulator
from simulator.analysis.ensemble import load_ensemble, run_ensemble
from simulator.analysis.sensitivity import sobol_from_function
from simulator.analysis.uncertainty import load_uncertainty
from simulator.errors import UserError
from simulator.scenarios import Scenario
from simulator.targets.registry import Target

TOY_MODEL = """{UTF-8}
x = INTEG(growth, 0)
\t~\tWidget
\t~\tGrows at growth a year from 0, so x(2021) = growth.
\t|
growth = 0.5
\t~\tWidget/Year [0,1,0.01]
\t~\tThe uncertain input.
\t|
y = SQRT(0.9 - growth) * x
\t~\tWidget
\t~\tNaN (a failed run) when growth > 0.9.
\t|
""" + control_section(2020, 2021, 1, 1)

TOY_UNCERTAINTY = """
[[input]]
name = "growth"
distribution = "uniform"
low = 0
high = 1
reason = "toy"
"""


def toy_target():
    return Target(id="x-2021", name_zh="x", name_en="x", indicator="x", unit="Widget", test="level_ge",
                  base_year=None, year=2021, value=0.7, kind="expected", modelled="yes", source="toy",
                  quote="toy", paragraph=None)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy")
    (folder / "toy.mdl").write_text(TOY_MODEL)
    (folder / "uncertainty.toml").write_text(TOY_UNCERTAINTY)
    return folder


def run_toy(toy, n, seed=1, **kwargs):
    model = simulator.load(toy / "toy.mdl")
    return run_ensemble(Scenario(name="toy", use_calibration=False), n=n, seed=seed, model=model,
                        uncertainty_path=toy / "uncertainty.toml", targets=[toy_target()],
                        indicators={"x": "x", "y": "y"}, **kwargs)


def test_probability_on_a_toy_with_a_known_answer(toy):
    """p ~ U(0, 1); met when x = p >= 0.7; runs with p > 0.9 fail -> P = 0.2 / 0.9 of valid runs."""
    result = run_toy(toy, 20000)
    row = result.probabilities.iloc[0]
    assert row["n_failed"] == pytest.approx(2000, abs=5)  # LHS: almost exactly 10 % of runs fail
    assert row["n_valid"] == 20000 - row["n_failed"]
    assert row["ci_low"] <= 0.2 / 0.9 <= row["ci_high"]
    assert result.manifest["failed_runs"] == row["n_failed"]


def test_probability_without_failures_is_point_three(toy, tmp_path):
    (tmp_path / "u.toml").write_text(TOY_UNCERTAINTY.replace("high = 1", "high = 0.9").replace(
        "low = 0", "low = 0.0"))
    model = simulator.load(toy / "toy.mdl")
    # rescale: p ~ U(0, 0.9), target 0.63 -> P = 0.3
    target = toy_target()
    target = Target(**{**target.__dict__, "value": 0.63})
    result = run_ensemble(Scenario(name="toy", use_calibration=False), n=5000, seed=3, model=model,
                          uncertainty_path=tmp_path / "u.toml", targets=[target], indicators={"x": "x"},
                          sampler="random")
    row = result.probabilities.iloc[0]
    assert row["n_failed"] == 0
    assert row["ci_low"] <= 0.3 <= row["ci_high"]


def test_same_seed_same_bytes_and_chunking_does_not_matter(toy, tmp_path):
    a = run_toy(toy, 9000, chunk_size=1000).save(tmp_path / "a")
    b = run_toy(toy, 9000, chunk_size=7777).save(tmp_path / "b")
    for name in ("samples.parquet", "outcomes.parquet", "bands.parquet", "probabilities.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    c = run_toy(toy, 9000, seed=2).save(tmp_path / "c")
    assert (a / "samples.parquet").read_bytes() != (c / "samples.parquet").read_bytes()
    loaded = load_ensemble(a)
    assert loaded.manifest["seed"] == 1 and loaded.manifest["n"] == 9000


def test_results_folder_is_written_atomically(toy, tmp_path):
    result = run_toy(toy, 100)
    result.save(tmp_path / "out")
    with pytest.raises(UserError, match="already exists"):
        result.save(tmp_path / "out")
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


@pytest.mark.parametrize("sampler", ["lhs", "sobol", "random"])
def test_samplers_are_seeded(model, sampler):
    path = simulator.Project.default().uncertainty_path
    unc = load_uncertainty(path, model, simulator.Project.default().root)
    a, b = unc.sample(64, 5, sampler), unc.sample(64, 5, sampler)
    assert a.equals(b)
    for inp in unc.inputs:
        low, high = inp.bounds
        assert a[inp.name].between(low, high).all(), inp.name


def test_stated_correlation_is_applied(model):
    unc = load_uncertainty(simulator.Project.default().uncertainty_path, model, simulator.Project.default().root)
    samples = unc.sample(4000, 1, "random")
    rho = np.corrcoef(samples["industrial_energy_share_2015"], samples["initial_coal_share"])[0, 1]
    assert 0.35 < rho < 0.6


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[input]]\nname = "growth"\ndistribution = "gamma"\nlow = 0\nhigh = 1\n', "unknown distribution 'gamma'"),
        ('[[input]]\nname = "growth"\ndistribution = "uniform"\nlow = 0.5\nhigh = 0.1\n', "invalid spread"),
        ('[[input]]\nname = "growth"\ndistribution = "normal"\nmean = 0.5\nsd = -1\n', "invalid spread"),
        ('[[input]]\nname = "q"\ndistribution = "uniform"\nlow = 0\nhigh = 1\n', "'q' is not a constant"),
        ('[[input]]\nname = "growth"\ndistribution = "uniform"\nlow = 0\nhigh = 2\n', "outside the model's range"),
        ("[[input]\n", "malformed TOML"),
    ],
)
def test_bad_uncertainty_files(toy, tmp_path, text, message):
    (tmp_path / "u.toml").write_text(text)
    with pytest.raises(UserError) as info:
        load_uncertainty(tmp_path / "u.toml", simulator.load(toy / "toy.mdl"), tmp_path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_sobol_indices_on_ishigami():
    a, b = 7.0, 0.1

    def ishigami(x):
        return np.atleast_2d(np.sin(x[0]) + a * np.sin(x[1]) ** 2 + b * x[2] ** 4 * np.sin(x[0]))

    def uniform(u):
        return -np.pi + 2 * np.pi * u

    table = sobol_from_function(ishigami, [uniform] * 3, 4096, seed=1)
    # analytic values (Ishigami & Homma 1990; Sobol' 2001)
    var = a**2 / 8 + b * np.pi**4 / 5 + b**2 * np.pi**8 / 18 + 0.5
    s1 = [(0.5 * (1 + b * np.pi**4 / 5) ** 2) / var, (a**2 / 8) / var, 0.0]
    st = [s1[0] + (8 * b**2 * np.pi**8 / 225) / var, s1[1], (8 * b**2 * np.pi**8 / 225) / var]
    for k in range(3):
        row = table.iloc[k]
        assert row["S1_low"] - 0.01 <= s1[k] <= row["S1_high"] + 0.01
        assert row["ST_low"] - 0.01 <= st[k] <= row["ST_high"] + 0.01


@pytest.fixture(scope="module")
def cluster():
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc,
        Client(lc) as client,
    ):
        yield lc, client


# Dask's comm layer may leave a socket to be closed by the garbage collector after a cluster shuts down
# (seen on a loaded machine); that is Dask's housekeeping, not a result of ours.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_dask_cluster_gives_identical_outcomes(toy, cluster):
    lc, _ = cluster
    local = run_toy(toy, 6000, chunk_size=500)
    remote = run_toy(toy, 6000, chunk_size=500, scheduler=lc.scheduler_address)
    assert local.outcomes.equals(remote.outcomes)
    assert local.bands.equals(remote.bands)


# Dask's comm layer may leave a socket to be closed by the garbage collector after a cluster shuts down
# (seen on a loaded machine); that is Dask's housekeeping, not a result of ours.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_killed_worker_does_not_change_the_outcome(toy, cluster):
    lc, client = cluster
    local = run_toy(toy, 6000, chunk_size=200)
    pids = client.run(os.getpid)
    victim = next(iter(pids.values()))
    killed = []

    def progress(done, total):
        if not killed and done >= 1000:
            os.kill(victim, 9)
            killed.append(victim)

    remote = run_toy(toy, 6000, chunk_size=200, scheduler=lc.scheduler_address, progress=progress)
    assert killed, "the worker was not killed mid-run"
    assert local.outcomes.equals(remote.outcomes)


def test_the_series_spool_on_disk_and_one_chunk_give_the_same_bytes(toy, tmp_path):
    """Streaming (chunks merged as they come, series on an unnamed file) equals the whole ensemble done as
    one chunk, failed runs included (the toy fails ~10 % of its runs)."""
    whole = run_toy(toy, 9000, chunk_size=9000).save(tmp_path / "whole")
    spooled = run_toy(toy, 9000, chunk_size=777, spool_in_memory=False).save(tmp_path / "file")
    assert load_ensemble(whole).manifest["failed_runs"] > 500
    for name in ("samples.parquet", "outcomes.parquet", "bands.parquet", "probabilities.csv"):
        assert (whole / name).read_bytes() == (spooled / name).read_bytes(), name


@pytest.mark.parametrize("n", [1, 2, 3, 255, 256, 257, 1000, 4097, 30001])
def test_band_quantiles_are_numpys_bit_for_bit(n):
    from simulator.analysis.ensemble import QUANTILES
    from simulator.analysis.spool import quantiles

    rng = np.random.default_rng(n)
    rows = [rng.normal(size=n), rng.lognormal(size=n) * 1e5, np.sort(rng.normal(size=n))[::-1],
            rng.integers(0, 4, size=n).astype(float), np.full(n, 2.5), rng.normal(size=n) * 1e-300]
    with_nan = rng.normal(size=n)
    with_nan[n // 2] = np.nan
    rows.append(with_nan)
    for row in rows:
        expected = np.quantile(row, QUANTILES)
        got = quantiles(row.copy(), QUANTILES, overwrite_input=True)
        assert np.array_equal(got, expected, equal_nan=True)
        assert np.array_equal(np.asarray(got).view(np.int64), np.asarray(expected).view(np.int64))


def _set_worker_backend_variable(value):
    os.environ["JINAN_SD_BACKEND"] = value


# Dask's comm layer may leave a socket to be closed by the garbage collector after a cluster shuts down
# (seen on a loaded machine); that is Dask's housekeeping, not a result of ours.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_dask_workers_run_the_backend_the_client_chose(toy, cluster):
    """The choice travels with the task: workers whose environment says otherwise still run it, and the
    manifest records what the workers report having run."""
    from simulator.engines.fast.kernel import available

    if not available():
        pytest.skip("no C compiler: the compiled backend cannot be chosen")
    lc, client = cluster
    local = run_toy(toy, 3000, chunk_size=500, backend="numpy")
    try:
        for chosen, worker_env in (("compiled", "numpy"), ("numpy", "compiled")):
            client.run(_set_worker_backend_variable, worker_env)
            remote = run_toy(toy, 3000, chunk_size=500, scheduler=lc.scheduler_address, backend=chosen)
            assert remote.manifest["engine_backend"].startswith(chosen + " ")
            assert local.outcomes.equals(remote.outcomes) and local.bands.equals(remote.bands)
    finally:
        client.run(_set_worker_backend_variable, "numpy")


def _break_compiled_backend():
    from simulator.engines.fast.kernel import build, run

    def refuse(*args, **kwargs):
        raise build.BuildError("no C compiler found (removed by the test)")

    run.__dict__.setdefault("_saved_kernel_for", run.kernel_for)
    run.kernel_for = refuse


def _repair_compiled_backend():
    from simulator.engines.fast.kernel import run

    run.kernel_for = run.__dict__.pop("_saved_kernel_for", run.kernel_for)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_worker_that_cannot_run_the_chosen_backend_refuses(toy, cluster):
    """No silent fallback on a worker: the task fails with one line naming the backend and the reason."""
    lc, client = cluster
    client.run(_break_compiled_backend)
    try:
        with pytest.raises(UserError, match=r"^compiled backend unavailable here: no C compiler found"):
            run_toy(toy, 1000, chunk_size=500, scheduler=lc.scheduler_address, backend="compiled")
        numpy_run = run_toy(toy, 1000, chunk_size=500, scheduler=lc.scheduler_address, backend="numpy")
        assert numpy_run.manifest["engine_backend"].startswith("numpy ")
    finally:
        client.run(_repair_compiled_backend)


def test_the_manifest_records_the_posterior_file_and_the_backend_that_ran():
    import hashlib

    from simulator.project import Project

    result = run_ensemble("baseline", n=64, seed=5, backend="numpy")
    post = result.manifest["posterior"]
    path = Project.default().root / post["file"]
    assert post["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert result.manifest["engine_backend"].startswith("numpy ")


def test_target_groups_merge_to_the_whole_ensembles_bytes(toy, tmp_path, monkeypatch):
    """Outcomes and probability counts taken over groups of chunks (as 10^6 runs are) and merged equal the
    whole ensemble's, failed runs and the Wilson interval included."""
    from simulator.analysis import collect

    whole = run_toy(toy, 9000, chunk_size=1000).save(tmp_path / "whole")
    monkeypatch.setattr(collect, "TARGET_GROUP", 1500)
    grouped = run_toy(toy, 9000, chunk_size=1000).save(tmp_path / "grouped")
    monkeypatch.setattr(collect, "TARGET_GROUP", 1)
    per_chunk = run_toy(toy, 9000, chunk_size=333, spool_in_memory=False).save(tmp_path / "per_chunk")
    for name in ("samples.parquet", "outcomes.parquet", "bands.parquet", "probabilities.csv"):
        assert (whole / name).read_bytes() == (grouped / name).read_bytes(), name
        assert (whole / name).read_bytes() == (per_chunk / name).read_bytes(), name
