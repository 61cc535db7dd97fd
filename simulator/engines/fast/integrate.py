"""Step a generated kernel over integer time for N runs: the integrators and the run loop.

Integrators are looked up by name (:data:`INTEGRATORS`, after scipy's ``METHODS``). The
loop steps ``t = t0 + k*dt`` for integer k and saves when ``k % save_every == 0``; runs
are processed in cache-sized chunks and only the saved points of the requested variables
are kept.
"""

from __future__ import annotations

import numpy as np

from simulator.engines.fast import builtins as bi
from simulator.engines.fast.ir import ParameterError, TimePath

__all__ = ["DEFAULT_CHUNK", "INTEGRATORS", "run_plan"]

DEFAULT_CHUNK = 4096  # runs per chunk: 32 KiB per array keeps a step's working set in L2


def euler(rates, t, states, discrete, dt, slopes):
    """Explicit Euler step, exactly PySD's ``state + ddt * dt``."""
    return [s + d * dt for s, d in zip(states, slopes, strict=True)]


def rk4(rates, t, states, discrete, dt, slopes):
    """Classic fourth-order Runge-Kutta step; discrete states are held over the step."""
    half = dt / 2
    k2 = rates(t + half, [s + half * d for s, d in zip(states, slopes, strict=True)], discrete, False)[0]
    k3 = rates(t + half, [s + half * d for s, d in zip(states, k2, strict=True)], discrete, False)[0]
    k4 = rates(t + dt, [s + dt * d for s, d in zip(states, k3, strict=True)], discrete, False)[0]
    return [s + dt / 6 * (a + 2 * b + 2 * c + e)
            for s, a, b, c, e in zip(states, slopes, k2, k3, k4, strict=True)]


INTEGRATORS = {"euler": euler, "rk4": rk4}


def _suggest(word: str, choices) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.5)
    return f" (did you mean: {', '.join(close)}?)" if close else ""


def expand_subscripted(plan, params: dict) -> dict:
    """Overrides of subscripted constants, cell by cell.

    ``id`` sets every cell; ``id[a,b]`` one cell; ``id`` -> ``{"a": v, "b": w}`` (1-D) or
    ``{"a,b": v}`` the named cells. Unknown ids or elements raise ParameterError naming them.
    """
    out = {}
    for name, value in params.items():
        base, bracket, rest = name.partition("[")
        if bracket and name not in plan.elements:
            cells = plan.groups.get(base)
            if cells is None:
                raise ParameterError(f"parameter {name!r}: {base!r} is not a subscripted element"
                                     f"{_suggest(base, plan.groups)}")
            cell = tuple(part.strip() for part in rest.rstrip("]").split(","))
            if cell not in cells:
                raise ParameterError(f"parameter {name!r}: no cell [{','.join(cell)}] of {base!r}"
                                     f"{_suggest(','.join(cell), [','.join(c) for c in cells])}")
            out[cells[cell]] = value
        elif name in plan.groups:
            cells = plan.groups[name]
            if isinstance(value, dict):
                for element, cell_value in value.items():
                    cell = tuple(part.strip() for part in str(element).split(","))
                    if cell not in cells:
                        raise ParameterError(
                            f"parameter {name!r}: no element {element!r}"
                            f"{_suggest(str(element), [','.join(c) for c in cells])}")
                    out[cells[cell]] = cell_value
            else:
                out.update({key: value for key in cells.values()})
        else:
            out[name] = value
    return out


def _normalise(plan, params: dict | None, n: int | None):
    """Validate parameters; return ({name: value}, {name: kind}, N)."""
    values, kinds, sizes = {}, {}, set()
    for name, value in expand_subscripted(plan, params or {}).items():
        element = plan.elements.get(name)
        if element is None or element.kind == "control":
            known = "an element" if element is None else "overridable (time settings are fixed)"
            raise ParameterError(f"parameter {name!r} is not {known} of the model"
                                 f"{_suggest(name, plan.elements) if element is None else ''}")
        if name in getattr(plan, "fixed", {}):
            raise ParameterError(f"parameter {name!r} fixes {plan.fixed[name]} (its number of "
                                 "stages); it cannot be overridden")
        if hasattr(value, "index") and hasattr(value, "to_numpy"):  # a pandas Series
            value = TimePath(np.asarray(value.index, dtype=np.float64), value.to_numpy())
        if isinstance(value, TimePath):
            kinds[name] = "path"
            if value.values.ndim == 2:
                sizes.add(value.values.shape[0])
        else:
            array = np.asarray(value, dtype=np.float64)
            if array.ndim > 1:
                raise ParameterError(f"parameter {name!r} must be a float or a 1-D array")
            if array.ndim == 1:
                sizes.add(array.size)
            value = array if array.ndim == 1 else np.float64(array)
            kinds[name] = "value"
        values[name] = value
    if n is not None:
        sizes.add(int(n))
    if len(sizes) > 1:
        raise ParameterError(f"parameter arrays disagree on the number of runs: {sorted(sizes)}")
    return values, kinds, (sizes.pop() if sizes else 1)


def _chunk(values: dict, lo: int, hi: int) -> dict:
    chunk = {}
    for name, value in values.items():
        if isinstance(value, TimePath):
            rows = value.values[lo:hi] if value.values.ndim == 2 else value.values
            chunk[name] = bi.PathInterpolator(value.years, rows)
        else:
            chunk[name] = value[lo:hi] if np.ndim(value) else value
    return chunk


def _integrate(build, params: dict, n: int, time, step, sinks: list) -> None:
    """Run one chunk, writing saved point j of variable i into ``sinks[i][j]`` (shape (n,))."""
    states, discrete, pipes, clamp, rates = build(params, n)
    every, last = time.save_every, time.n_steps
    t0, dt = np.float64(time.initial), np.float64(time.dt)
    j = 0
    for k in range(last + 1):
        t = t0 + k * dt  # integer time: no drift, no save-time fudge
        want = k % every == 0
        slopes, inputs, values = rates(t, states, discrete, want)
        if want:
            for sink, value in zip(sinks, values, strict=True):
                sink[j] = value
            j += 1
        if k == last:
            break
        states = step(rates, t, states, discrete, dt, slopes)
        for i in clamp:
            states[i] = np.maximum(states[i], 0.0)
        if pipes:
            discrete = [pipe.push(x) for pipe, x in zip(pipes, inputs, strict=True)]


def run_plan(plan, params=None, n=None, variables=None, method="euler", chunk_size=None):
    """Simulate ``plan`` for N parameter sets; see :meth:`simulator.engines.fast.plan.Plan.run`."""
    if method not in INTEGRATORS:
        raise ValueError(f"unknown method {method!r}; choose from {sorted(INTEGRATORS)}")
    values, kinds, n_runs = _normalise(plan, params, n)
    variables = list(plan.names if variables is None else variables)
    unknown = [v for v in variables if v not in plan.elements]
    if unknown:
        raise ParameterError(f"unknown variables requested: {unknown}")
    build = plan.kernel(kinds, variables)
    time = plan.time
    times = time.saved_times()
    # One (variables, T, N) block: each saved point is a contiguous write of a chunk's
    # runs, and each variable is handed out as an (N, T) view without a transposing copy.
    block = np.empty((len(variables), times.size, n_runs))
    size = int(chunk_size or DEFAULT_CHUNK)
    if size < 1:
        raise ValueError("chunk_size must be positive")
    with np.errstate(all="ignore"):  # a blown-up run yields inf/NaN in its own row only
        for lo in range(0, n_runs, size):
            hi = min(lo + size, n_runs)
            _integrate(build, _chunk(values, lo, hi), hi - lo, time, INTEGRATORS[method],
                       [block[i, :, lo:hi] for i in range(len(variables))])
    return times, {v: block[i].T for i, v in enumerate(variables)}
