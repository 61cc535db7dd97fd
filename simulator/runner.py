"""Run scenarios: one run on either engine, or N runs at once on the fast engine.

:func:`run_batch` is the one validated batch entry: every analysis (ensembles, sensitivity, goal seeking,
attribution, calibration) runs the model through it or through :func:`run_overrides` beneath it, so all of
them take the same ``executor=`` (a :class:`concurrent.futures.Executor` or a Dask ``Client``) to spread
chunks of runs over processes or machines. Chunks are pure functions of their slice of the inputs, so
results are identical whatever the executor.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from simulator import runcache, tomlfile
from simulator._version import __version__
from simulator.engines.fast.adapter import run_batch_arrays
from simulator.engines.fast.kernel import available as compiled_available
from simulator.engines.fast.kernel import check_backend
from simulator.errors import ModelError, UserError
from simulator.model import cells
from simulator.model.labels import labels
from simulator.model.mdl import Model
from simulator.model.mdl import load as load_model
from simulator.model.naming import canonical_id
from simulator.project import Project, file_stamp
from simulator.result import Result
from simulator.scenarios import Scenario, load_scenario, time_policy, validate_constants, validate_overrides

ENGINES = ("fast", "pysd")
DEFAULT_ENGINE = "fast"
#: Runs per chunk handed to an executor (bounds each task's memory: 4096 runs x ~300 variables x 21 years).
CHUNK_SIZE = 4096


def load(path: str | Path | None = None, check: bool = True) -> Model:
    """Load a Vensim model (default: the project's ``models/jinan.mdl``); with ``check``, compile it for the
    fast engine too, so a construct that engine does not take is refused here, by name, before any run
    (a one-line :class:`simulator.ModelError`). ``check=False`` for a model run on the pysd engine only.
    Both steps are cached by the file's hash.
    """
    from simulator.engines.fast import plan_for

    model = load_model(path)
    if check:
        plan_for(model)
    return model


def scenario(name_or_path: str | Path = "baseline", model: Model | None = None,
             project: Project | None = None) -> Scenario:
    """Load and validate a scenario by name (under the project's ``scenarios/``) or path."""
    project = project or Project.default()
    return load_scenario(name_or_path, model or load_model(project.model_path), project.scenario_dir)


def list_scenarios(project: Project | None = None) -> list[str]:
    """Names of the project's scenario files (``uncertainty.toml`` excluded)."""
    folder = (project or Project.default()).scenario_dir
    return sorted(p.stem for p in folder.glob("*.toml") if p.stem != "uncertainty")


def defaults(model: Model) -> Scenario:
    """The model's own defaults: no levers set, no calibration (any Vensim model)."""
    return Scenario(name="<model defaults>", use_calibration=False)


def calibration_overrides(model: Model, project: Project | None = None) -> tuple[dict, str]:
    """Fitted values from the project's ``calibrated.toml`` as overrides, and the file's sha256.

    Missing file -> no overrides (the model's own defaults are then the baseline).
    """
    path = (project or Project.default()).calibration_path
    if not path.is_file():
        return {}, ""
    overrides, sha = _calibration_cached(file_stamp(path), model.path, model.sha256)
    return dict(overrides), sha


@lru_cache(maxsize=4)
def _calibration_cached(stamp: tuple, model_path: Path, model_sha: str) -> tuple[dict, str]:
    model, path = load_model(model_path), Path(stamp[0])
    data, raw = tomlfile.load(path)
    check_calibration(data, path.name)
    values = {name: entry["value"] for name, entry in data.get("parameters", {}).items()}
    return validate_overrides(model, values, path.name), hashlib.sha256(raw).hexdigest()


def check_calibration(data: dict, where: str) -> None:
    """Refuse a calibration file that is not whole: the parameter count in ``[calibration]``, the
    ``[parameters]`` and ``[nuisance]`` entries and the correlation matrix must agree (a file cut short
    can still be valid TOML, and would silently drop fitted values)."""
    meta, params, nuisance = data.get("calibration"), data.get("parameters"), data.get("nuisance", {})
    correlation = data.get("correlation", {})
    if not isinstance(meta, dict) or not isinstance(params, dict) or not isinstance(nuisance, dict):
        raise UserError(f"{where}: incomplete calibration file (no [calibration] or [parameters]); "
                        "run jinan-sd calibrate again")
    names = [*params, *nuisance]
    count = meta.get("n_parameters")
    order = correlation.get("parameters") if isinstance(correlation, dict) else None
    matrix = correlation.get("matrix") if isinstance(correlation, dict) else None
    problem = None
    if not isinstance(count, int) or isinstance(count, bool) or count != len(names):
        problem = f"it lists {len(names)} parameters, its header says {count}"
    elif order != names:
        problem = "[correlation] parameters do not match the fitted parameters"
    elif not isinstance(matrix, list) or len(matrix) != count or any(
            not isinstance(row, list) or len(row) != count for row in matrix):
        problem = f"[correlation] matrix is not {count} x {count}"
    else:
        bad = [n for n, e in params.items() if not isinstance(e, dict) or "value" not in e]
        if bad:
            problem = f"parameter '{bad[0]}' has no value"
    if problem:
        raise UserError(f"{where}: incomplete or damaged calibration file ({problem}); run jinan-sd calibrate again")


def resolve_overrides(model: Model, scen: Scenario, project: Project | None = None) -> tuple[dict, str]:
    """Engine-ready overrides: calibrated values (if the scenario uses them) under the scenario's levers,
    the policy levers timed to act from the policy start year (see :func:`simulator.scenarios.time_policy`)."""
    history, cal_sha = calibration_overrides(model, project) if scen.use_calibration else ({}, "")
    overrides = dict(history)
    overrides.update(time_policy(model, labels(project), history, scen.overrides))
    return overrides, cal_sha


def _prepare(scen, model: Model | None, project: Project | None) -> tuple[Model, Scenario]:
    # the model and scenario as loaded before while their files hold the same bytes (simulator/runcache.py;
    # loading them was 0.19 ms of a 0.86 ms compiled run("baseline")); the scenario stays inside run()
    project = project or Project.default()
    model = model or runcache.model(project.model_path)
    if not isinstance(scen, Scenario):
        scen = runcache.scenario(scen, model, project.scenario_dir)
    return model, scen


def run(
    scen: str | Path | Scenario = "baseline",
    overrides: dict | None = None,
    engine: str = DEFAULT_ENGINE,
    method: str = "euler",
    model: Model | None = None,
    *,
    project: Project | None = None,
    backend: str | None = None,
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
    project : Project, optional
        Where the model, scenarios and calibration live (default: this repository).
    backend : {"compiled", "numpy"}, optional
        The fast engine's backend (default compiled, falling back to numpy with one warning).

    Returns
    -------
    Result
        Annual rows x every variable, with units and provenance.
    """
    model, scen = _prepare(scen, model, project)
    # A model's own defaults with overrides that are not all plain levers (any Vensim model: constants
    # without ranges, subscripted cells): validated as constants, no policy timing.
    own_defaults = scen.path is None and not scen.use_calibration and not scen.overrides and any(
        isinstance(v, dict) or "[" in k or not getattr(model.elements.get(k), "is_lever", False)
        for k, v in (overrides or {}).items())
    if overrides and not own_defaults:
        scen = scen.with_overrides(model, overrides)
    backend = check_backend(backend)
    if engine not in ENGINES:
        raise UserError(f"unknown engine '{engine}' (use {' or '.join(ENGINES)})")
    if own_defaults:
        params, cal_sha = validate_constants(model, overrides), ""
    else:
        params, cal_sha = resolve_overrides(model, scen, project)
    if engine == "pysd":
        if method != "euler":
            raise UserError("the pysd engine integrates with Euler only; use the fast engine for rk4")
        from simulator.engines.pysd import load_pysd, run_pysd

        frame = _run_pysd_checked(load_pysd(model.path, model.sha256), params, model, _pysd_cells(model, run_pysd))
        frame = frame[[c for c in frame.columns if c.partition("[")[0] in model.elements]].astype(float)
        frame.index = pd.Index(_labels(frame.index), name="year")
        elements = model.elements  # a list of names: iterating pandas' string columns costs a millisecond
        units = {k: elements[base].units for k in frame.columns.tolist() if (base := k.partition("[")[0]) in elements}
    else:  # built from the kernel's one block, on axes and units made once per plan
        used = {}
        frame, units = runcache.fast_run(model, params, method, backend, used)
        backend = used["backend"]
    check_finite(frame, model, scen.name)
    provenance = {
        "model": model.path.name,
        "model_sha256": model.sha256,
        "scenario": scen.name,
        "scenario_sha256": scen.sha256,
        "calibration_sha256": cal_sha,
        "engine": engine,
        "backend": backend if engine == "fast" else None,
        "method": method,
        "time_step": model.time["time_step"],
        "package_version": __version__,
        "overrides": {k: v for k, v in (overrides or {}).items()},
    }
    return Result(frame=frame, units=units, provenance=provenance)


def _labels(times) -> np.ndarray:
    """Saved times as integers when they all are (annual models), else their exact float values."""
    times = np.asarray(times, float)
    return times.astype(int) if np.all(times == np.round(times)) else times


# --------------------------------------------------------------------------- non-finite values
# The engines compute with IEEE floats (1 / 0 = inf); these checks read what they return, so a run that
# went non-finite is reported with its variable and time instead of flowing on into tables and charts.


def first_nonfinite(times, values: dict) -> tuple[str, float] | None:
    """(variable, time) of the earliest non-finite value in one run's ``values`` (id -> (T,)), or None."""
    first = None
    for name, series in values.items():
        bad = np.flatnonzero(~np.isfinite(np.asarray(series, float)))
        if len(bad) and (first is None or times[bad[0]] < first[1]):
            first = (name, float(times[bad[0]]))
    return first


def check_finite(frame: pd.DataFrame, model: Model, scenario_name: str) -> None:
    """Raise a one-line ModelError naming the first variable and time at which the run is not finite."""
    values = frame.to_numpy(float)
    if np.isfinite(values).all():
        return
    times = np.asarray(frame.index, float)
    name, time = first_nonfinite(times, {c: frame[c].to_numpy(float) for c in frame.columns})
    value = frame.loc[frame.index[np.flatnonzero(times == time)[0]], name]
    raise ModelError(f"{model.path.name}: scenario '{scenario_name}': '{name}' is {value} at {time:g} "
                     "(a division by zero or an overflow in the model)")


def _pysd_cells(model: Model, run_pysd):
    """``run_pysd`` taking cell overrides (``id[a,b]`` -> value) too: pysd sets a subscripted constant
    whole, as an xarray DataArray of its dimensions, so the cells given are written into a copy of the
    constant's own value and the copy is passed under the constant's id."""

    def run(pysd_model, params: dict, times):
        by_element: dict = {}
        plain = {}
        for key, value in params.items():
            base, inner = cells.split(key)
            if inner is None:
                plain[key] = value
            else:
                by_element.setdefault(base, {})[key] = value
        if not by_element:
            return run_pysd(pysd_model, plain, times)
        from simulator.engines.pysd import column_id, pysd_params, run_raw

        python = {canonical_id(name): py for name, py in pysd_model.namespace.items()}
        pysd_model.reload()  # the constants' own values, not an earlier run's
        arrays = {}
        for base, given in by_element.items():
            py = python.get(base, base)
            array = getattr(pysd_model.components, py)().astype(float)  # a copy; "= 100" is an integer array
            for key, value in given.items():
                cell = cells.split(key)[1].split(",")
                array.loc[dict(zip(array.dims, cell, strict=True))] = value
            arrays[py] = array
        params = {python.get(k, k): v for k, v in pysd_params(plain).items()}
        frame = run_raw(pysd_model, {**params, **arrays}, times=times)
        frame = frame.rename(columns=column_id)
        return frame.loc[:, ~frame.columns.duplicated()]

    return run


def _run_pysd_checked(pysd_model, params: dict, model: Model, run_pysd) -> pd.DataFrame:
    """pysd raises Python's own arithmetic errors from inside the translated model: name the element."""
    try:
        return run_pysd(pysd_model, params, model.years)
    except (ZeroDivisionError, OverflowError, FloatingPointError) as exc:
        tb, element = exc.__traceback__, None
        while tb is not None:
            if tb.tb_frame.f_code.co_name in model.elements:
                element = tb.tb_frame.f_code.co_name
            tb = tb.tb_next
        try:
            time = f" at {float(pysd_model.time()):g}"
        except (AttributeError, TypeError, ValueError):  # the time is a detail; the error is raised below
            time = ""
        where = f"'{element}'" if element else "an equation"
        raise ModelError(f"{model.path.name}: {where} failed{time}: {exc} (pysd engine)") from None


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
    #: (N,) True where a run has a NaN or infinite value; ``problems`` run -> "variable at year"
    failed: np.ndarray | None = None
    problems: dict = field(default_factory=dict)

    def __getitem__(self, variable: str) -> np.ndarray:
        """(N, T) values of one variable."""
        return self.values[:, :, self.variables.index(variable)]

    def frame(self, run: int) -> pd.DataFrame:
        """One run as a frame (index year, columns variables)."""
        return pd.DataFrame(self.values[run], index=pd.Index(self.years, name="year"), columns=self.variables)


def _sample_key(model: Model, name: str) -> tuple[str, tuple]:
    """The engine id of a sampled column (``id``, or ``id[a,b]`` for one cell of a subscripted lever; ``id``
    alone samples every cell of it) and the lever's (low, high) range."""
    base, inner = cells.split(name)
    element = model.element(base)
    if not element.is_lever:
        raise UserError(f"samples: '{name}' is not a lever", param="samples")
    if inner is None:
        return element.id, element.limits[:2]
    keys = cells.expand(model, name, 0.0, "samples")  # the cells only; the values are checked below
    if len(keys) != 1:
        raise UserError(f"samples: '{name}' names {len(keys)} cells; sample one cell a column", param="samples")
    return next(iter(keys)), element.limits[:2]


def _check_samples(model: Model, columns: dict) -> int:
    """Validate sampled lever columns (names, cells, kinds, ranges, NaN); return the number of runs."""
    sizes = {len(v.values) if hasattr(v, "years") else len(np.atleast_1d(v)) for v in columns.values()}
    if len(sizes) > 1:
        raise UserError(f"samples: columns have different numbers of runs {sorted(sizes)}", param="samples")
    for name, values in columns.items():
        _, (low, high) = _sample_key(model, name)
        array = np.asarray(values.values if hasattr(values, "years") else values, float)
        if not np.isfinite(array).all() or array.min() < low or array.max() > high:
            raise UserError(f"samples: '{name}' has values outside its range [{low:g}, {high:g}] or NaN",
                            param="samples")
    return sizes.pop() if sizes else 1


def run_batch(
    scen: str | Path | Scenario = "baseline",
    samples=None,
    variables: list | None = None,
    model: Model | None = None,
    method: str = "euler",
    *,
    project: Project | None = None,
    executor=None,
    backend: str | None = None,
) -> Batch:
    """Run N parameter sets at once on the fast engine.

    Parameters
    ----------
    scen : str, Path or Scenario
        The scenario every run starts from.
    samples : pandas.DataFrame or dict
        N rows, one column per lever id (constants), each validated against the lever's range;
        or a dict id -> (N,) array or :class:`simulator.engines.fast.TimePath` (per-run time paths).
        Policy levers act from the policy start year, as in :func:`run`.
    variables : list of str, optional
        Variables to keep (default: every variable).
    project : Project, optional
        Where the model, scenarios and calibration live (default: this repository).
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Runs chunks of :data:`CHUNK_SIZE` runs as tasks (default: in this process).
    backend : {"compiled", "numpy"}, optional
        The fast engine's backend; recorded in the provenance (workers refuse rather than fall back).
    """
    model, scen = _prepare(scen, model, project)
    columns = dict(samples.items()) if samples is not None else {}
    n = _check_samples(model, columns)
    fixed, cal_sha = resolve_overrides(model, scen, project)
    history, _ = calibration_overrides(model, project) if scen.use_calibration else ({}, "")
    sampled = {_sample_key(model, k)[0]: (v if hasattr(v, "years") else np.asarray(v, float))
               for k, v in columns.items()}
    overrides = {**fixed, **time_policy(model, labels(project), history, sampled)}
    names = _variables(model, list(variables) if variables is not None else list(model.elements))
    used = {}
    times, values = run_overrides(model, overrides, n, variables=names, method=method, executor=executor,
                                  backend=backend, used=used)
    cube = np.stack([values[k] for k in names], axis=2)
    failed, problems = _batch_nonfinite(times, cube, names)
    provenance = {"model_sha256": model.sha256, "scenario": scen.name, "scenario_sha256": scen.sha256,
                  "calibration_sha256": cal_sha, "engine": "fast", "backend": used["backend"], "method": method, "n": n,
                  "package_version": __version__}
    provenance["failed_runs"] = int(failed.sum())
    units = {k: model.elements[cells.split(k)[0]].units for k in names}
    return Batch(cube, names, _labels(times), units, provenance,
                 failed, problems)


def _variables(model: Model, names: list) -> list:
    """Result ids of the ``names`` asked for: a subscripted variable stands for each of its cells
    (``growth`` -> ``growth[north]``, ...), as the engines save it; a cell id is kept as given."""
    out = []
    for name in names:
        base, inner = cells.split(name)
        element = model.element(base)
        known = cells.cells(model, element.id)
        if inner is not None and not known:
            raise UserError(f"variables: '{name}': '{base}' has no subscripts", param="variables")
        if inner is not None:
            out += list(cells.expand(model, name, 0.0, "variables"))  # the cells only; 0.0 is not used
        elif known:
            out += [cells.cell_key(element.id, c) for c in known]
        else:
            out.append(name)
    return out


def _batch_nonfinite(times, cube: np.ndarray, names: list) -> tuple[np.ndarray, dict]:
    """Per-run mask of non-finite runs and, for each, the first variable and time."""
    finite = np.isfinite(cube)
    failed = ~finite.all(axis=(1, 2))
    problems = {}
    for run in np.flatnonzero(failed)[:1000]:
        name, time = first_nonfinite(times, {k: cube[run, :, j] for j, k in enumerate(names)})
        problems[int(run)] = f"'{name}' at {time:g}"
    return failed, problems


def _slice(value, lo: int, hi: int, n: int):
    """Rows ``lo:hi`` of a per-run override (an (N,) array or a per-run time path); shared values as they are."""
    if hasattr(value, "years") and np.ndim(value.values) == 2:
        return type(value)(value.years, value.values[lo:hi])
    if isinstance(value, np.ndarray) and value.ndim == 1 and len(value) == n:
        return value[lo:hi]
    return value


def _run_chunk(model_path: str, overrides: dict, size: int, variables: list, method: str, until=None,
               backend: str = "numpy"):
    """One chunk of runs in a worker (the model is loaded there by path and content hash); a worker that
    cannot run the client's backend refuses (``strict``) instead of falling back."""
    return run_batch_arrays(load_model(model_path), overrides, size, variables=variables, method=method,
                            until=until, backend=backend, strict=True)


def run_overrides(model: Model, overrides: dict, n: int, variables: list | None = None, method: str = "euler",
                  executor=None, chunk_size: int = CHUNK_SIZE, until: float | None = None,
                  backend: str | None = None, used: dict | None = None):
    """N runs of engine-ready overrides (already validated and timed, see :func:`resolve_overrides`).

    ``until`` [Year] stops the runs at that time (the saved values up to it are the full run's).

    Returns
    -------
    times : ndarray (T,)
        Saved times [Year].
    values : dict
        id -> (N, T) array for each of ``variables`` (default: every variable).

    ``backend`` as in :func:`run`; the backend that ran is written to ``used["backend"]`` if given.
    """
    used = {} if used is None else used
    if executor is None:
        return run_batch_arrays(model, overrides, n, variables=variables, method=method, until=until,
                                backend=backend, used=used)
    backend = check_backend(backend)
    if backend == "compiled" and not compiled_available():
        backend = "numpy"  # decided once, here, so every worker runs the same backend
    used["backend"] = backend
    if chunk_size < 1:
        raise UserError(f"chunk size must be at least 1, got {chunk_size}")
    bounds = [(lo, min(lo + chunk_size, n)) for lo in range(0, n, chunk_size)]
    futures = [executor.submit(_run_chunk, str(model.path), {k: _slice(v, lo, hi, n) for k, v in overrides.items()},
                               hi - lo, variables, method, until, backend) for lo, hi in bounds]
    parts = [future.result() for future in futures]
    if not parts:
        raise ModelError("no runs to do (n = 0)")
    times = parts[0][0]
    return times, {k: np.concatenate([p[1][k] for p in parts], axis=0) for k in parts[0][1]}
