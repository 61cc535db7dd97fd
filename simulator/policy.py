"""Policy timing: a scenario's setting of a policy lever applies from the policy start year.

Before that year the model follows its calibrated history, so changing ``investment_rate`` in a 2021-2035
scenario leaves 2015-2020 as the data made them and targets measured against 2020 stay fair. Which
constants are policy levers, and the start year, are read from ``models/labels.toml`` (``[policy]``).
Time-path levers need no timing: a scenario's path already replaces the model's only from its first year.
"""

from __future__ import annotations

import numpy as np

from .compile import TimePath
from .model import Model

# the step sits just before the start year, so every time step up to it reads the old value
_EDGE = 1e-6


def policy_levers(labels) -> tuple[float | None, frozenset]:
    """(start year or None, ids of the constants that are policy levers)."""
    table = labels.policy or {}
    return table.get("start_year"), frozenset(table.get("levers", []))


def timed(base, value, t0: float, start: float):
    """``base`` before ``start``, ``value`` from ``start`` on.

    Parameters
    ----------
    base, value : float or ndarray (R,)
        Value before and from the start year (per run when arrays).
    t0, start : float
        Initial time and policy start year [Year].

    Returns
    -------
    list of (year, value) for scalars, :class:`TimePath` with per-run values for arrays.
    """
    if start <= t0:
        return value
    years = [t0, start - _EDGE, start]
    if np.ndim(value) == 0 and np.ndim(base) == 0:
        return [(t0, float(base)), (start - _EDGE, float(base)), (start, float(value))]
    n = max(np.size(value), np.size(base))
    base = np.broadcast_to(np.asarray(base, float), (n,))
    value = np.broadcast_to(np.asarray(value, float), (n,))
    return TimePath(np.asarray(years), np.stack([base, base, value], axis=1))


def apply(model: Model, labels, history: dict, overrides: dict) -> dict:
    """Time the policy constants of ``overrides``; ``history`` gives their pre-policy values
    (calibrated values, else the model's defaults)."""
    start, levers = policy_levers(labels)
    if start is None:
        return dict(overrides)
    t0 = model.time["initial_time"]
    out = {}
    for key, value in overrides.items():
        element = model.elements.get(key)
        if key in levers and element is not None and element.kind == "constant" and not isinstance(value, list):
            out[key] = timed(history.get(key, element.default), value, t0, start)
        else:
            out[key] = value
    return out
