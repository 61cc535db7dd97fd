"""The library's front door: load the model, build a scenario, run it on either engine.

The CLI and the app call only these functions (and the modules they return objects from).
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .errors import ModelError, UserError
from .labels import Labels, load_labels
from .model import Model
from .result import Result
from .scenario import Scenario, load_scenario, validate_overrides

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODEL_PATH = PROJECT_ROOT / "models" / "jinan.mdl"
LABELS_PATH = PROJECT_ROOT / "models" / "labels.toml"
SCENARIO_DIR = PROJECT_ROOT / "scenarios"
CALIBRATION_PATH = PROJECT_ROOT / "calibration" / "calibrated.toml"
ENGINES = ("fast", "pysd")
DEFAULT_ENGINE = "fast"


@lru_cache(maxsize=8)
def _load_cached(path: str, sha256: str) -> Model:
    return Model(path)


def load(path: str | Path | None = None) -> Model:
    """Load (and cache by content hash) a Vensim model; default ``models/jinan.mdl``."""
    path = Path(path) if path is not None else MODEL_PATH
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    return _load_cached(str(path.resolve()), sha)


def _stamp(path: Path) -> tuple:
    """Identity of a file's current content for caching: path, modification time, size."""
    stat = path.stat()
    return str(path), stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=4)
def _labels_cached(stamp: tuple) -> Labels:
    return load_labels(stamp[0])


def labels() -> Labels:
    """Display names, the indicator vocabulary and lever groups of the Jinan model (read once per change)."""
    if not LABELS_PATH.is_file():
        return load_labels(LABELS_PATH)  # raises the one-line error
    return _labels_cached(_stamp(LABELS_PATH))


def scenario(name_or_path: str | Path = "baseline", model: Model | None = None) -> Scenario:
    """Load and validate a scenario by name (under ``scenarios/``) or path."""
    return load_scenario(name_or_path, model or load(), SCENARIO_DIR)


def list_scenarios() -> list[str]:
    """Names of the scenario files under ``scenarios/`` (``uncertainty.toml`` excluded)."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml") if p.stem != "uncertainty")


def calibration_overrides(model: Model, path: Path = CALIBRATION_PATH) -> tuple[dict, str]:
    """Fitted values from ``calibrated.toml`` as overrides, and the file's sha256.

    Missing file -> no overrides (the model's own defaults are then the baseline).
    """
    if not path.is_file():
        return {}, ""
    overrides, sha = _calibration_cached(_stamp(path), model.path, model.sha256)
    return dict(overrides), sha


@lru_cache(maxsize=4)
def _calibration_cached(stamp: tuple, model_path: Path, model_sha: str) -> tuple[dict, str]:
    model, path = load(model_path), Path(stamp[0])
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path.name}: malformed TOML: {exc}") from None
    values = {name: entry["value"] for name, entry in data.get("parameters", {}).items()}
    return validate_overrides(model, values, path.name), hashlib.sha256(raw).hexdigest()


def resolve_overrides(model: Model, scen: Scenario) -> tuple[dict, str]:
    """Engine-ready overrides: calibrated values (if the scenario uses them) under the scenario's levers,
    the policy levers timed to act from the policy start year (see :mod:`simulator.policy`)."""
    from . import policy

    history, cal_sha = calibration_overrides(model) if scen.use_calibration else ({}, "")
    overrides = dict(history)
    overrides.update(policy.apply(model, labels(), history, scen.overrides))
    return overrides, cal_sha


def run(
    scen: str | Path | Scenario = "baseline",
    overrides: dict | None = None,
    engine: str = DEFAULT_ENGINE,
    method: str = "euler",
    model: Model | None = None,
) -> Result:
    """Run one scenario on one engine.

    Parameters
    ----------
    scen : str, Path or Scenario
        Scenario name under ``scenarios/``, a path, or a loaded Scenario.
    overrides : dict, optional
        Extra id -> value (or time path) applied on top, validated like a scenario's levers.
    engine : {"fast", "pysd"}
        ``fast`` (vectorised numpy, default) or ``pysd`` (the reference).
    method : {"euler", "rk4"}
        Integration method; pysd offers only Euler.

    Returns
    -------
    Result
        Annual rows x every variable, with units and provenance.
    """
    model = model or load()
    if not isinstance(scen, Scenario):
        scen = scenario(scen, model)
    if overrides:
        scen = scen.with_overrides(model, overrides)
    if engine not in ENGINES:
        raise UserError(f"unknown engine '{engine}' (use {' or '.join(ENGINES)})")
    params, cal_sha = resolve_overrides(model, scen)
    years = model.years
    if engine == "pysd":
        if method != "euler":
            raise UserError("the pysd engine integrates with Euler only; use --engine fast for rk4")
        from .pysd_engine import load_pysd, run_pysd

        frame = run_pysd(load_pysd(model.path, model.sha256), params, years)
        frame = frame[[c for c in model.elements if c in frame.columns]].astype(float)
    else:
        from .fast import run_fast

        frame = run_fast(model, params, method=method)
    frame.index = pd.Index(np.round(np.asarray(frame.index, float)).astype(int), name="year")
    provenance = {
        "model": model.path.name,
        "model_sha256": model.sha256,
        "scenario": scen.name,
        "scenario_sha256": scen.sha256,
        "calibration_sha256": cal_sha,
        "engine": engine,
        "method": method,
        "time_step": model.time["time_step"],
        "package_version": __version__,
        "overrides": {k: v for k, v in (overrides or {}).items()},
    }
    units = {k: model.elements[k].units for k in frame.columns if k in model.elements}
    return Result(frame=frame, units=units, provenance=provenance)


@dataclass
class Batch:
    """N runs at once: values (N, T, V) with names, units and provenance.

    Attributes
    ----------
    values : ndarray, shape (N, T, V)
        Saved values of the V ``variables`` at the T ``years`` for the N runs.
    """

    values: np.ndarray
    variables: list
    years: np.ndarray
    units: dict
    provenance: dict

    def __getitem__(self, variable: str) -> np.ndarray:
        """(N, T) values of one variable."""
        return self.values[:, :, self.variables.index(variable)]

    def frame(self, run: int) -> pd.DataFrame:
        """One run as a frame (index year, columns variables)."""
        return pd.DataFrame(self.values[run], index=pd.Index(self.years, name="year"), columns=self.variables)


def run_batch(
    scen: str | Path | Scenario = "baseline",
    samples=None,
    variables: list | None = None,
    model: Model | None = None,
    method: str = "euler",
) -> Batch:
    """Run N parameter sets at once on the fast engine.

    Parameters
    ----------
    scen : str, Path or Scenario
        The scenario every run starts from.
    samples : pandas.DataFrame or dict
        N rows, one column per lever id (constants), each validated against the lever's range;
        or a dict id -> (N,) array or :class:`simulator.compile.TimePath` (per-run time paths).
        Policy levers act from the policy start year, as in :func:`run`.
    variables : list of str, optional
        Variables to keep (default: every variable).
    """
    from .fast import run_batch_arrays

    model = model or load()
    if not isinstance(scen, Scenario):
        scen = scenario(scen, model)
    columns = dict(samples.items()) if samples is not None else {}
    sizes = {len(v.values) if hasattr(v, "years") else len(np.atleast_1d(v)) for v in columns.values()}
    if len(sizes) > 1:
        raise UserError(f"samples: columns have different numbers of runs {sorted(sizes)}")
    n = sizes.pop() if sizes else 1
    for name, values in columns.items():
        element = model.element(name)
        if not element.is_lever:
            raise UserError(f"samples: '{name}' is not a lever")
        low, high, _ = element.limits
        array = np.asarray(values.values if hasattr(values, "years") else values, float)
        if not np.isfinite(array).all() or array.min() < low or array.max() > high:
            raise UserError(f"samples: '{name}' has values outside its range [{low:g}, {high:g}] or NaN")
    from . import policy

    fixed, cal_sha = resolve_overrides(model, scen)
    history, _ = calibration_overrides(model) if scen.use_calibration else ({}, "")
    sampled = {model.element(k).id: (v if hasattr(v, "years") else np.asarray(v, float)) for k, v in columns.items()}
    overrides = {**fixed, **policy.apply(model, labels(), history, sampled)}
    names = list(variables) if variables is not None else [k for k in model.elements]
    for name in names:
        model.element(name)
    times, values = run_batch_arrays(model, overrides, n, variables=names, method=method)
    cube = np.stack([values[k] for k in names], axis=2)
    provenance = {"model_sha256": model.sha256, "scenario": scen.name, "scenario_sha256": scen.sha256,
                  "calibration_sha256": cal_sha, "engine": "fast", "method": method, "n": n,
                  "package_version": __version__}
    return Batch(cube, names, np.round(times).astype(int), {k: model.elements[k].units for k in names}, provenance)
