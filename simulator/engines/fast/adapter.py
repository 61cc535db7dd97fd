"""Adapter between the library's overrides and the fast engine's compiled plan.

Overrides are id -> float, id -> (N,) array, or id -> list of (year, value) pairs (a time path,
the same for all runs) or a :class:`TimePath` (per-run paths). Plans are compiled once per model hash.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.engines.fast.ir import TimePath
from simulator.engines.fast.plan import Plan
from simulator.engines.fast.translate import compile_model
from simulator.model.mdl import Model

_PLANS: dict = {}  # (path, sha256) -> Plan, the few most recent


def plan_for(model: Model, until: float | None = None) -> Plan:
    """The compiled plan of ``model`` (from its already parsed AST; cached by the file's hash), on a clock
    stopping at ``until`` [model time units] when given (see :meth:`Plan.until`)."""
    key = (str(model.path), model.sha256, until)
    if key not in _PLANS:
        if len(_PLANS) >= 8:
            _PLANS.pop(next(iter(_PLANS)))
        _PLANS[key] = compile_model(model) if until is None else plan_for(model).until(float(until))
    return _PLANS[key]


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


def run_fast(model: Model, overrides: dict, method: str = "euler") -> pd.DataFrame:
    """One run on the fast engine as a frame (index: saved time; columns: every element id, and
    ``id[element,...]`` per cell of a subscripted one)."""
    plan = plan_for(model)
    times, values = plan.run(to_params(overrides), n=1, method=method)
    columns = [k for k in plan.names if k in values]
    return pd.DataFrame({k: values[k][0] for k in columns}, index=pd.Index(times, name="time"))


def run_batch_arrays(model: Model, overrides: dict, n: int, variables=None, method: str = "euler",
                     until: float | None = None):
    """N runs at once: returns (times (T,), {id: (N, T) array}); ``until`` stops the runs early [time units]."""
    return plan_for(model, until).run(to_params(overrides), n=n, variables=variables, method=method)
