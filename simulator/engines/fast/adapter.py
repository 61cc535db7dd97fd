"""Adapter between the library's overrides and the fast engine's compiled plan.

Overrides are id -> float, id -> (N,) array, or id -> list of (year, value) pairs (a time path,
the same for all runs) or a :class:`TimePath` (per-run paths). Plans are compiled once per model hash.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.engines.fast.ir import TimePath
from simulator.engines.fast.kernel import run_with_backend
from simulator.engines.fast.plan import Plan
from simulator.model.mdl import Model

_PLANS: dict = {}  # (path, sha256) -> Plan, the few most recent


def plan_for(model: Model, until: float | None = None) -> Plan:
    """The compiled plan of ``model`` (from its already parsed AST; cached by the file's hash), on a clock
    stopping at ``until`` [model time units] when given (see :meth:`Plan.until`)."""
    key = (str(model.path), model.sha256, until)
    if key not in _PLANS:
        if len(_PLANS) >= 8:
            _PLANS.pop(next(iter(_PLANS)))
        _PLANS[key] = _compiled(model) if until is None else plan_for(model).until(float(until))
    return _PLANS[key]


def _compiled(model: Model) -> Plan:
    """Compile ``model``, or read its plan from the on-disk cache (:mod:`simulator.model.cache`, keyed by the
    model's content and path and the translator's source). A model that reads external data (GET XLS/DIRECT)
    is compiled every time: its plan holds data the key does not hash."""
    from simulator.model import cache

    name = cache.key("plan", model.sha256, model.path)
    plan = cache.read("plans", name)
    if isinstance(plan, Plan):
        return plan
    from simulator.engines.fast.translate import compile_model

    plan = compile_model(model)
    if not _reads_external_data(model):
        cache.write("plans", name, plan.without_caches())
    return plan


def _reads_external_data(model: Model) -> bool:
    """True when an equation of the model (or of a macro) reads a data file (pysd's Get* structures)."""
    return any(type(component.ast).__name__.startswith("Get")
               for section in model.abstract_model.sections for element in section.elements
               for component in element.components)


def to_params(overrides: dict) -> dict:
    """Convert override values to the plan's parameter types."""
    params = {}
    for key, value in overrides.items():
        if isinstance(value, (list, tuple)):
            years, values = zip(*value, strict=True)
            params[key] = TimePath(np.asarray(years, float), np.asarray(values, float))
        else:
            params[key] = value
    return params


def run_fast(model: Model, overrides: dict, method: str = "euler", backend: str | None = None,
             used: dict | None = None) -> pd.DataFrame:
    """One run on the fast engine as a frame (index: saved time; columns: every element id, and
    ``id[element,...]`` per cell of a subscripted one). ``backend``: "numpy" or "compiled" (default);
    the backend that ran is written to ``used["backend"]`` when ``used`` is given."""
    plan = plan_for(model)
    times, values, ran = run_with_backend(plan, to_params(overrides), n=1, method=method, backend=backend)
    if used is not None:
        used["backend"] = ran
    columns = [k for k in plan.names if k in values]
    if ran == "compiled":  # one (V, T) block: the frame is built from it without copying column by column
        block = next(iter(values.values())).base
        if block is not None and block.shape[0] == len(columns):
            return pd.DataFrame(block[:, :, 0].T, index=pd.Index(times, name="time"), columns=columns)
    return pd.DataFrame({k: values[k][0] for k in columns}, index=pd.Index(times, name="time"))


def run_batch_arrays(model: Model, overrides: dict, n: int, variables=None, method: str = "euler",
                     until: float | None = None, backend: str | None = None, used: dict | None = None,
                     strict: bool = False, out=None):
    """N runs at once: returns (times (T,), {id: (N, T) array}); ``until`` stops the runs early [time units];
    ``backend``/``used``/``strict``/``out`` as in :func:`simulator.engines.fast.kernel.run_with_backend`."""
    times, values, ran = run_with_backend(plan_for(model, until), to_params(overrides), n=n, variables=variables,
                                          method=method, backend=backend, strict=strict, out=out)
    if used is not None:
        used["backend"] = ran
    return times, values
