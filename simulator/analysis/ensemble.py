"""Monte Carlo ensembles: sample the uncertain inputs, run them in chunks on the fast engine
(locally or on a Dask cluster), and keep per-run target outcomes and quantile bands.

Results do not depend on the chunk size or the number of workers: the whole sample design is made
from the seed before any run (:mod:`simulator.uncertainty`), chunks are contiguous slices of it,
and every run is deterministic given its inputs.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from simulator import runner as api
from simulator._version import __version__
from simulator.analysis.uncertainty import Uncertainty, load_uncertainty
from simulator.errors import UserError
from simulator.model.mdl import Model
from simulator.project import Project
from simulator.scenarios import Scenario
from simulator.targets import load_targets, probabilities, run_outcomes

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
BAND_COLUMNS = ("q05", "q25", "q50", "q75", "q95")

DEFAULT_CHUNK = 4096
FILES = ("manifest.json", "samples.parquet", "outcomes.parquet", "bands.parquet", "probabilities.csv")


@dataclass
class EnsembleResult:
    """What an ensemble keeps: inputs, per-run outcomes, bands and probabilities, with a manifest.

    Attributes
    ----------
    manifest : dict
        model sha256, scenario, uncertainty file hash, sampler, seed, N, engine, package version,
        created time, number of failed runs.
    samples : DataFrame
        N rows (run) x uncertain inputs.
    outcomes : DataFrame
        N rows: ``failed`` (bool) and, per assessable target, ``<id>`` (1 met / 0 missed / -1 not
        valid) and ``<id>:value`` (simulated value in the target's unit).
    bands : DataFrame
        indicator, year, q05, q25, q50, q75, q95 over the valid runs.
    probabilities : DataFrame
        One row per target (see :func:`simulator.targets.probabilities`).
    """

    manifest: dict
    samples: pd.DataFrame
    outcomes: pd.DataFrame
    bands: pd.DataFrame
    probabilities: pd.DataFrame

    @property
    def failed(self) -> np.ndarray:
        return self.outcomes["failed"].to_numpy(bool)

    def peak_years(self, target_id: str) -> np.ndarray:
        """Simulated peak year of a peak_by target per valid run (NaN where not yet peaked)."""
        column = f"{target_id}:value"
        return self.outcomes.loc[~self.failed, column].to_numpy(float)

    def save(self, folder: str | Path, overwrite: bool = False) -> Path:
        """Write the results folder atomically: a temporary folder, then one rename."""
        folder = Path(folder)
        if folder.exists() and not overwrite:
            raise UserError(f"--out {folder}: already exists (choose another folder)")
        if not folder.parent.exists():
            raise UserError(f"--out {folder}: folder {folder.parent} does not exist")
        staging = folder.parent / f".{folder.name}.partial-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        try:
            (staging / "manifest.json").write_text(
                json.dumps(self.manifest, indent=2, ensure_ascii=False, sort_keys=True), encoding="utf-8"
            )
            self.samples.reset_index().to_parquet(staging / "samples.parquet", index=False)
            self.outcomes.reset_index().to_parquet(staging / "outcomes.parquet", index=False)
            self.bands.to_parquet(staging / "bands.parquet", index=False)
            self.probabilities.assign(peak_year_counts=self.probabilities["peak_year_counts"].astype(str)).to_csv(
                staging / "probabilities.csv", index=False, encoding="utf-8-sig"
            )
            if folder.exists():
                old = folder.parent / f".{folder.name}.old-{os.getpid()}"
                folder.rename(old)
                staging.rename(folder)
                shutil.rmtree(old)
            else:
                staging.rename(folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return folder


def load_ensemble(folder: str | Path) -> EnsembleResult:
    """Read a results folder written by :meth:`EnsembleResult.save`."""
    folder = Path(folder)
    missing = [f for f in FILES if not (folder / f).is_file()]
    if missing:
        raise UserError(f"{folder}: not an ensemble folder (missing {', '.join(missing)})")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    samples = pd.read_parquet(folder / "samples.parquet").set_index("run")
    outcomes = pd.read_parquet(folder / "outcomes.parquet").set_index("run")
    probs = pd.read_csv(folder / "probabilities.csv")
    return EnsembleResult(manifest, samples, outcomes, pd.read_parquet(folder / "bands.parquet"), probs)


def _simulate_chunk(model_path: str, fixed: dict, size: int, chunk: dict, variables: list, stocks: list):
    """Run one chunk of ``size`` runs (a task on a Dask worker, or a local call).

    Returns the requested variables as (size, T) arrays and a failed mask (NaN/inf or a negative stock).
    """
    from simulator.engines.fast.adapter import run_batch_arrays

    model = api.load(model_path)
    _, values = run_batch_arrays(model, {**fixed, **chunk}, size, variables=sorted(set(variables) | set(stocks)))
    failed = np.zeros(size, bool)
    for name, array in values.items():
        failed |= ~np.isfinite(array).all(axis=1)
        if name in stocks:
            failed |= (array < 0).any(axis=1)
    return {k: values[k] for k in variables}, failed


def _chunks(samples: pd.DataFrame, n: int, chunk_size: int) -> list[tuple[int, dict]]:
    """Contiguous slices of the sample table: (number of runs, {input: values})."""
    out = []
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        out.append((stop - start, {name: samples[name].to_numpy()[start:stop] for name in samples.columns}))
    return out


def run_ensemble(
    scenario: str = "baseline",
    n: int = 1000,
    seed: int = 0,
    sampler: str = "lhs",
    chunk_size: int = DEFAULT_CHUNK,
    workers: int | None = None,
    scheduler: str | None = None,
    progress=None,
    model: Model | None = None,
    uncertainty_path: Path | None = None,
    lang: str = "zh",
    targets=None,
    indicators: dict | None = None,
) -> EnsembleResult:
    """Run an ensemble of ``n`` samples of the uncertain inputs around ``scenario``.

    Parameters
    ----------
    scenario : str or Path
        Scenario name or path; its own levers are fixed (they win over the uncertainty).
    n, seed, sampler : int, int, {"lhs", "sobol", "random"}
        Number of runs, random seed (recorded), sampling design.
    chunk_size : int
        Runs per task; does not change the results.
    workers, scheduler : int or None, str or None
        ``workers=K`` starts a local Dask cluster of K processes; ``scheduler="tcp://host:port"``
        uses an existing one. Neither: run in this process.
    progress : callable(done, total), optional
        Called after each chunk.
    model, uncertainty_path, targets, indicators : optional
        Another model file, uncertainty file, target list or indicator -> variable map
        (defaults: the Jinan model, ``scenarios/uncertainty.toml``, ``models/targets.toml``, labels).
    """
    model = model or api.load()
    scen = scenario if isinstance(scenario, Scenario) else api.scenario(scenario, model)
    fixed, _ = api.resolve_overrides(model, scen)
    project = Project.default()
    path = project.uncertainty_path if uncertainty_path is None else Path(uncertainty_path)
    unc: Uncertainty = load_uncertainty(path, model, project.root)
    unc = unc.without(scen.overrides)
    samples = unc.sample(n, seed, sampler)
    fixed = {k: v for k, v in fixed.items() if k not in samples.columns}
    targets = load_targets() if targets is None else targets
    indicators = api.labels().indicators if indicators is None else indicators
    variables = sorted(set(indicators.values()))
    stocks = [k for k, e in model.elements.items() if e.kind == "stock"]
    chunk_size = max(1, int(chunk_size))
    chunks = _chunks(samples, n, chunk_size)
    parts = _execute(model, fixed, chunks, variables, stocks, n, workers, scheduler, progress)
    values = {k: np.concatenate([p[0][k] for p in parts]) for k in variables}
    failed = np.concatenate([p[1] for p in parts])
    years = np.asarray(model.years, dtype=int)
    series = {ind: values[var] for ind, var in indicators.items()}
    outcomes = run_outcomes(targets, series, years, failed)
    outcomes.insert(0, "failed", failed)
    outcomes.index = pd.RangeIndex(n, name="run")
    probs = probabilities(targets, series, years, failed, assessable=set(indicators), lang=lang)
    manifest = {
        "format_version": 1,
        "model": model.path.name,
        "model_sha256": model.sha256,
        "scenario": scen.name,
        "scenario_sha256": scen.sha256,
        "uncertainty_sha256": unc.sha256,
        "inputs": unc.names,
        "fixed_by_scenario": sorted(set(scen.overrides) & {i for i in unc.names}),
        "sampler": sampler,
        "seed": int(seed),
        "n": int(n),
        "failed_runs": int(failed.sum()),
        "engine": "fast",
        "method": "euler",
        "package_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    return EnsembleResult(manifest, samples, outcomes, _bands(series, years, failed), probs)


def _bands(series: dict, years: np.ndarray, failed: np.ndarray) -> pd.DataFrame:
    rows = []
    for indicator, array in series.items():
        # (T, runs) rows: each year's runs contiguous, so the partition streams through memory (same values)
        valid = np.ascontiguousarray(np.asarray(array).T)[:, ~failed]
        empty = np.full((len(QUANTILES), len(years)), np.nan)
        q = np.quantile(valid, QUANTILES, axis=1) if valid.shape[1] else empty
        for t, year in enumerate(years):
            rows.append((indicator, int(year), *q[:, t]))
    return pd.DataFrame(rows, columns=["indicator", "year", *BAND_COLUMNS])


def _execute(model, fixed, chunks, variables, stocks, n, workers, scheduler, progress):
    """Run the chunks here or on Dask; return their results in chunk order."""
    args = (str(model.path), fixed)
    if workers is None and scheduler is None:
        parts, done = [], 0
        for size, chunk in chunks:
            parts.append(_simulate_chunk(*args, size, chunk, variables, stocks))
            done += size
            if progress:
                progress(done, n)
        return parts
    from simulator.analysis.distributed import map_chunks

    return map_chunks(_simulate_chunk, args, chunks, (variables, stocks), workers, scheduler, progress, n)
