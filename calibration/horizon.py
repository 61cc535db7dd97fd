"""Runs of the fast engine that stop at the last year the observations need.

The calibration compares the model with 2015-2020 history only, while the model runs to its FINAL TIME
(2035): integrating the remaining years is most of the cost of every likelihood evaluation. A causal
model's values up to a year do not depend on the years after it, so a copy of the compiled plan with an
earlier final time gives the same numbers, bit for bit, in a fraction of the time
(``tests/test_posterior.py`` checks the equality on the Jinan model).
"""

from __future__ import annotations

import copy
import dataclasses
from functools import lru_cache

from simulator.fast import plan_for, to_params


@lru_cache(maxsize=8)
def _plan_until(path: str, sha256: str, final: float):
    import simulator

    base = plan_for(simulator.load(path))
    if final >= base.time.final:
        return base
    plan = copy.copy(base)
    plan.time = dataclasses.replace(base.time, final=max(final, base.time.initial))
    plan._kernels = {}  # kernels are generated for a clock; the copy builds its own
    return plan


def run_until(model, overrides: dict, n: int, variables, final: float) -> dict:
    """``{variable: (n, T')}`` from ``model``'s initial time to ``final`` [Year] (one fast-engine batch).

    Column ``i`` is the same saved time as column ``i`` of a full run; ``final`` at or beyond the model's
    final time runs the whole horizon.
    """
    plan = _plan_until(str(model.path), model.sha256, float(final))
    _, values = plan.run(to_params(overrides), n=n, variables=list(variables))
    return values
