"""Monte Carlo ensembles: sample the uncertain inputs, run them in chunks on the fast engine
(locally or on a Dask cluster), and keep per-run target outcomes and quantile bands.

Results do not depend on the chunk size or the number of workers: the whole sample design is made
from the seed before any run (:mod:`simulator.uncertainty`), chunks are contiguous slices of it,
and every run is deterministic given its inputs.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from simulator import runner as api
from simulator._version import __version__
from simulator.analysis.distributed import check_scheduler
from simulator.analysis.uncertainty import Uncertainty, load_uncertainty
from simulator.atomic import new_folder
from simulator.errors import UserError
from simulator.limits import check_memory, check_runs, ensemble_bytes
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
        """Write the results folder atomically: a hidden staging folder, then one rename.

        The folder is claimed by an exclusive create, so two runs saving to the same folder cannot mix
        or delete each other's results: the second is refused. ``overwrite`` replaces an existing folder
        only once the new one is complete. Partials left by killed runs are removed first.
        """
        with new_folder(folder, replace=overwrite) as staging:
            self.write_into(staging)
        return Path(folder)

    def write_into(self, staging: Path) -> None:
        """Write the files of the results folder into ``staging`` (see :func:`simulator.atomic.new_folder`)."""
        staging = Path(staging)
        (staging / "manifest.json").write_text(
            json.dumps(self.manifest, indent=2, ensure_ascii=False, sort_keys=True), encoding="utf-8"
        )
        self.samples.reset_index().to_parquet(staging / "samples.parquet", index=False)
        self.outcomes.reset_index().to_parquet(staging / "outcomes.parquet", index=False)
        self.bands.to_parquet(staging / "bands.parquet", index=False)
        self.probabilities.assign(peak_year_counts=self.probabilities["peak_year_counts"].astype(str)).to_csv(
            staging / "probabilities.csv", index=False, encoding="utf-8-sig"
        )


def load_ensemble(folder: str | Path) -> EnsembleResult:
    """Read a results folder written by :meth:`EnsembleResult.save`; a damaged one is a one-line UserError."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such results folder")
    missing = [f for f in FILES if not (folder / f).is_file()]
    if missing:
        raise UserError(f"{folder}: not an ensemble folder (missing {', '.join(missing)})")
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{folder / 'manifest.json'}: damaged ({exc})") from None
    if not isinstance(manifest, dict):
        raise UserError(f"{folder / 'manifest.json'}: damaged (not a JSON object)")
    tables = {}
    for name in ("samples", "outcomes", "bands"):
        file = folder / f"{name}.parquet"
        try:
            tables[name] = pd.read_parquet(file)
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UserError(f"{file}: damaged or not a parquet file ({first})") from None
    for name in ("samples", "outcomes"):
        if "run" not in tables[name].columns:
            raise UserError(f"{folder / (name + '.parquet')}: damaged (no 'run' column)")
    try:
        probs = pd.read_csv(folder / "probabilities.csv")
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{folder / 'probabilities.csv'}: damaged ({exc})") from None
    samples, outcomes = tables["samples"].set_index("run"), tables["outcomes"].set_index("run")
    if "failed" not in outcomes.columns or len(samples) != len(outcomes):
        raise UserError(f"{folder}: damaged (samples and outcomes do not match)")
    return EnsembleResult(manifest, samples, outcomes, tables["bands"], probs)


def _simulate_chunk(model_path: str, fixed: dict, size: int, chunk: dict, variables: list, stocks: list):
    """Run one chunk of ``size`` runs (a task on a Dask worker, or a local call).

    Returns the requested variables as (size, T) arrays and a failed mask (NaN/inf or a negative stock).
    """
    from simulator.runner import run_overrides

    model = api.load(model_path)
    _, values = run_overrides(model, {**fixed, **chunk}, size, variables=sorted(set(variables) | set(stocks)))
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
    targets = load_targets() if targets is None else targets
    indicators = api.labels().indicators if indicators is None else indicators
    variables = sorted(set(indicators.values()))
    check_ensemble(n, chunk_size, len(unc.names), len(variables), len(model.years), len(targets), scheduler)
    samples = unc.sample(n, seed, sampler)
    fixed = {k: v for k, v in fixed.items() if k not in samples.columns}
    stocks = [k for k, e in model.elements.items() if e.kind == "stock"]
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


def check_ensemble(n, chunk_size, n_inputs: int, n_variables: int, n_years: int, n_targets: int,
                   scheduler: str | None = None) -> None:
    """Refuse, before sampling or running anything, an ensemble that could not run or not fit in memory."""
    check_runs(n)
    check_runs(chunk_size, param="chunk_size")
    if scheduler is not None:
        check_scheduler(scheduler)
    check_memory(ensemble_bytes(n, n_inputs, n_variables, n_years, n_targets), f"n: {n:,} runs", param="n",
                 hint="; use a smaller --n")


def _bands(series: dict, years: np.ndarray, failed: np.ndarray) -> pd.DataFrame:
    rows = []
    for indicator, array in series.items():
        valid = array[~failed]
        empty = np.full((len(QUANTILES), len(years)), np.nan)
        q = np.quantile(valid, QUANTILES, axis=0) if len(valid) else empty
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
