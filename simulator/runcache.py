"""What :func:`simulator.run` keeps between calls in one process: the parsed model and scenarios, and the
axes and units of a run's result frame, so a run of the compiled backend (~0.1 ms of kernel) is not
buried under ~0.4 ms of re-reading files and building the same frame axes again (bench/RESULTS.md, "End to
end, third session").

A model or scenario comes from here only when the bytes of every file it was made from are the bytes read
now, from the same file (device and inode), found by the same path resolution: a read and a compare
(16-22 µs for the 64 KB model, against 67 µs to read and hash it; 25-27 µs for a scenario, against 118 µs
to parse and validate it), never a modification time, so an edit is seen however soon it follows a run. The objects
kept are the library's own (the Model that :func:`simulator.model.mdl.load` returns for those bytes; the
Scenario it validated), used inside :func:`simulator.run` only, never handed out to be changed.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import numpy as np
import pandas as pd

from simulator import tomlfile
from simulator.engines.fast.adapter import plan_for, to_params
from simulator.engines.fast.kernel import run_with_backend
from simulator.model.labels import labels
from simulator.model.mdl import Model
from simulator.model.mdl import load as load_model
from simulator.scenarios import Scenario, load_scenario, resolve_path

#: Entries kept per kind (models, scenarios, frame axes): the few files one session runs.
SIZE = 16
_LOCK = threading.Lock()
_MODELS: dict = {}
_SCENARIOS: dict = {}
_AXES: dict = {}


def _put(cache: dict, key, value) -> None:
    with _LOCK:
        if key not in cache and len(cache) >= SIZE:
            cache.pop(next(iter(cache)))
        cache[key] = value


def _folder(path: Path) -> str:
    """The working folder when ``path`` is relative (it names another file from another folder), else ""."""
    return "" if path.is_absolute() else os.getcwd()


def _read(path: Path) -> tuple[tuple, bytes] | None:
    """((device, inode), bytes) of the file ``path`` leads to, or None if it cannot be read."""
    try:
        with open(path, "rb") as file:
            stat = os.fstat(file.fileno())
            return (stat.st_dev, stat.st_ino), file.read()
    except OSError:
        return None


def model(path: str | Path) -> Model:
    """``simulator.model.mdl.load(path)``: the same Model while the file holds the same bytes."""
    path = Path(path)
    key = (_folder(path), str(path))
    now = _read(path)
    hit = _MODELS.get(key)
    if now is not None and hit is not None and hit[0] == now:
        return hit[1]
    loaded = load_model(path)  # any problem: its one-line error
    if now is not None and loaded.sha256 == hashlib.sha256(now[1]).hexdigest():  # unchanged between reads
        _put(_MODELS, key, (now, loaded))
    return loaded


def scenario(name_or_path: str | Path, model: Model, scenario_dir: Path) -> Scenario:
    """``load_scenario(name_or_path, model, scenario_dir)``: the same Scenario while every file of its
    ``extends`` chain resolves to the same file with the same bytes, for the same Model and labels (a policy
    lever's timing is checked against the labels' policy start year)."""
    first = Path(name_or_path)  # the path resolve_path starts from: a name is a file of scenario_dir
    if not (first.suffix == ".toml" or first.parent != Path(".")):
        first = scenario_dir / f"{name_or_path}.toml"
    key = (str(name_or_path), str(scenario_dir), _folder(first))
    hit = _SCENARIOS.get(key)
    if hit is not None and hit[0] is model and hit[1] is labels() and _same_chain(first, scenario_dir, hit[2]):
        return hit[3]
    loaded = load_scenario(name_or_path, model, scenario_dir)
    chain = _chain(name_or_path, scenario_dir, loaded.sha256)
    if chain is not None:
        _put(_SCENARIOS, key, (model, labels(), chain, loaded))
    return loaded


def _chain(name_or_path, scenario_dir: Path, sha256: str) -> list | None:
    """[(resolved path, its ``extends`` or None, (file id, bytes))] of a scenario's files as they are now, or
    None if they are not the files the scenario was made from: its sha256 is each file's bytes hashed with
    the sha256 of the file it extends (as :mod:`simulator.scenarios` makes it), recomputed here from the
    bytes read here."""
    chain, path = [], resolve_path(name_or_path, scenario_dir)
    while len(chain) <= 64:
        now = _read(path)
        if now is None:
            return None
        target = tomlfile.loads(now[1], path.name).get("extends")
        chain.append((path, target, now))
        if target is None:
            break
        path = resolve_path(target, scenario_dir, base=path.parent)
    digest = ""
    for _, target, (_, raw) in reversed(chain):
        step = hashlib.sha256(raw)
        if target is not None:
            step.update(digest.encode())
        digest = step.hexdigest()
    return chain if digest == sha256 else None


def _same_chain(first: Path, scenario_dir: Path, chain: list) -> bool:
    """True when the chain leads, file by file, to the same files holding the same bytes. The first file is
    opened by the path :func:`simulator.scenarios.resolve_path` starts from (``first``: its symlinks followed
    by the system, the file checked by device and inode): resolving it again costs more than the check."""
    try:
        if _read(first) != chain[0][2]:
            return False
        for k in range(1, len(chain)):  # an extends target is resolved from the folder of the file naming it
            path = resolve_path(chain[k - 1][1], scenario_dir, base=chain[k - 1][0].parent)
            if path != chain[k][0] or _read(path) != chain[k][2]:
                return False
    except Exception:  # noqa: BLE001 - anything unusual: load it the ordinary way, which words the error
        return False
    return True


def fast_run(model: Model, params: dict, method: str, backend: str | None, used: dict) -> tuple[pd.DataFrame, dict]:
    """One run on the fast engine: the result frame (index ``year``, one column per variable id, as
    ``simulator.engines.fast.run_fast`` makes it and the runner relabelled it) and a fresh units dict of its
    columns. The frame is built from the compiled backend's one (V, T) block, on axes made once per plan
    (views of them: a caller renaming an axis of its frame renames its own). The backend that ran is
    written to ``used["backend"]``."""
    plan = plan_for(model)
    times, values, ran = run_with_backend(plan, to_params(params), n=1, method=method, backend=backend)
    used["backend"] = ran
    years, columns, units = _axes(model, plan, times, values)
    block = next(iter(values.values())).base if ran == "compiled" else None
    if block is not None and block.shape[0] == len(columns):  # the block's rows are the columns, in order
        frame = pd.DataFrame(block[:, :, 0].T, index=years.view(), columns=columns.view())
    else:
        frame = pd.DataFrame({k: values[k][0] for k in columns}, index=years.view())
    return frame, dict(units)


def _axes(model: Model, plan, times: np.ndarray, values: dict) -> tuple:
    """(year index, column index, units) of a plan's full run, made once per plan, saved times and model."""
    hit = _AXES.get(id(plan))
    if hit is not None and hit[0] is plan and hit[1] is model and np.array_equal(hit[2], times):
        return hit[3]
    times = np.asarray(times, float)
    years = times.astype(int) if np.all(times == np.round(times)) else times  # whole years as integers
    columns = [k for k in plan.names if k in values]
    elements = model.elements
    units = {k: elements[base].units for k in columns if (base := k.partition("[")[0]) in elements}
    axes = (pd.Index(years, name="year"), pd.Index(columns), units)
    _put(_AXES, id(plan), (plan, model, times.copy(), axes))
    return axes
