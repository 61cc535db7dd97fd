"""jinan-sd: a system-dynamics scenario simulator for Jinan's 14th Five-Year Plan and 2035 vision.

``import simulator`` is the public API; the faces (CLI, app) and tools call only what is listed here
and the objects it returns::

    import simulator
    model = simulator.load()                      # models/jinan.mdl, parsed once
    result = simulator.run("baseline")            # fast engine by default
    result = simulator.run("plan", engine="pysd") # the reference engine
    batch = simulator.run_batch("plan", samples, executor=client)   # N runs, optionally on Dask

The layers, lowest first: ``project`` (where files are) -> ``model`` (the .mdl parsed once, labels,
units) -> ``engines`` (fast numpy plan, pysd reference) -> ``scenarios``, ``runner``, ``targets`` ->
``analysis`` (ensembles, sensitivity, goal seeking, attribution, discovery) and ``plots``.
"""

from simulator._version import __version__
from simulator.analysis.levers import Lever
from simulator.engines.fast import TimePath
from simulator.engines.fast.kernel import BACKENDS, DEFAULT_BACKEND, compile_in_background
from simulator.errors import ModelError, ScenarioError, UserError
from simulator.model import labels
from simulator.project import Project
from simulator.result import Result
from simulator.runner import (
    DEFAULT_ENGINE,
    ENGINES,
    Batch,
    calibration_overrides,
    defaults,
    list_scenarios,
    load,
    resolve_overrides,
    run,
    run_batch,
    run_overrides,
    scenario,
)

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "DEFAULT_ENGINE",
    "ENGINES",
    "Batch",
    "Lever",
    "ModelError",
    "Project",
    "Result",
    "ScenarioError",
    "TimePath",
    "UserError",
    "compile_in_background",
    "__version__",
    "calibration_overrides",
    "defaults",
    "labels",
    "list_scenarios",
    "load",
    "resolve_overrides",
    "run",
    "run_batch",
    "run_overrides",
    "scenario",
]
