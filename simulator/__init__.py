"""jinan-sd: a system-dynamics scenario simulator for Jinan's 14th Five-Year Plan and 2035 vision.

Public API::

    import simulator
    model = simulator.load()                      # models/jinan.mdl
    result = simulator.run("baseline")            # fast engine by default
    result = simulator.run("plan", engine="pysd") # the reference engine
"""

__version__ = "0.2.0"

from .api import Batch, labels, list_scenarios, load, run, run_batch, scenario  # noqa: E402
from .errors import ModelError, ScenarioError, UserError  # noqa: E402
from .result import Result  # noqa: E402

__all__ = [
    "Batch",
    "ModelError",
    "Result",
    "ScenarioError",
    "UserError",
    "__version__",
    "labels",
    "list_scenarios",
    "load",
    "run",
    "run_batch",
    "scenario",
]
