"""Integrate a compiled Plan for N parameter sets at once, on float64 arrays of shape (N,).

Holds the plan's runtime types (:class:`Plan`, :class:`Expr`, :class:`TimeSettings`,
:class:`TimePath`); ``simulator.compile`` fills them from a Vensim model.

The engine knows states, derivatives and saved points, never a model variable. For each
combination of overridden parameters and requested outputs it generates one Python
kernel of numpy statements (equations already ordered by ``simulator.compile``), execs
it once, and then steps it over integer time ``t = t0 + k*dt``, saving when
``k % save_every == 0``. Runs are processed in cache-sized chunks; only the saved points
of the requested variables are kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulator.engines.fast import builtins as bi

__all__ = ["INTEGRATORS", "Expr", "ParameterError", "Plan", "TimePath", "TimeSettings", "run_plan"]

DEFAULT_CHUNK = 4096  # runs per chunk: 32 KiB per array keeps a step's working set in L2


class ParameterError(ValueError):
    """A parameter that names no overridable element, or has an unusable shape."""


TIME = "time"  # the dependency that marks an expression as time-varying


@dataclass(frozen=True)
class TimeSettings:
    """Simulation clock [model time units]; time is ``initial + k * dt`` for integer k."""

    initial: float
    final: float
    dt: float
    saveper: float

    @property
    def n_steps(self) -> int:
        """Number of integration steps; PySD steps while ``t + dt*1e-5 < final``."""
        return max(0, math.ceil((self.final - self.initial) / self.dt - 1e-5))

    @property
    def save_every(self) -> int:
        """Steps between saved points (``saveper / dt``)."""
        return round(self.saveper / self.dt)


@dataclass(frozen=True)
class Expr:
    """One compiled expression.

    ``src`` is numpy source over ``v_<element>`` / ``w<k>`` (stateful outputs) and ``t``;
    ``deps`` are the element names and stateful keys it reads, plus ``"time"``.
    """

    src: str
    deps: frozenset = frozenset()
    is_bool: bool = False
    literal: float | None = None  # set when the expression is a number, for folding
    bare: bool = False  # a number as written in the model, which PySD emits as bare text


@dataclass(frozen=True)
class TimePath:
    """A time series that replaces an element's equation during a run.

    Linear interpolation in time, flat beyond the ends, as PySD does for a pandas Series
    parameter.

    Parameters
    ----------
    years : numpy.ndarray
        Strictly increasing times, shape ``(K,)`` [model time units].
    values : numpy.ndarray
        One path for all runs, shape ``(K,)``, or one per run, shape ``(N, K)``
        [units of the replaced element].
    """

    years: np.ndarray
    values: np.ndarray

    def __post_init__(self):
        years = np.asarray(self.years, dtype=np.float64)
        values = np.asarray(self.values, dtype=np.float64)
        if years.ndim != 1 or years.size == 0 or np.any(np.diff(years) <= 0):
            raise ParameterError("TimePath years must be a non-empty increasing 1-D array")
        if values.ndim not in (1, 2) or values.shape[-1] != years.size:
            raise ParameterError(
                f"TimePath values must have shape ({years.size},) or (N, {years.size})")
        object.__setattr__(self, "years", years)
        object.__setattr__(self, "values", values)


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


def namespace(tables: dict, time) -> dict:
    """Globals of generated code: numpy, the builtins, lookup tables and the clock."""
    ns = {
        "np": np, "_f64": np.float64, "_nan": np.nan, "_inf": np.inf,
        "_full": bi.full, "_xidz": bi.xidz, "_zidz": bi.zidz, "_modulo": bi.modulo,
        "_quantum": bi.quantum, "_step": bi.step, "_ramp": bi.ramp, "_pulse": bi.pulse,
        "_pulse_train": bi.pulse_train, "_lookup": bi.lookup, "_delay_order": bi.delay_order,
        "_last_stage": bi.last_stage, "_Pipe": bi.Pipe,
    }
    if time is not None:
        ns.update(_t0=np.float64(time.initial), _dt=np.float64(time.dt), _nsteps=time.n_steps)
    for key, (xs, ys, _) in tables.items():
        ns[f"_X_{key}"], ns[f"_Y_{key}"] = xs, ys
    return ns


class _Source:
    """Indented line buffer for generated code."""

    def __init__(self):
        self.lines: list[str] = []

    def __call__(self, line: str, level: int = 1):
        self.lines.append("    " * level + line)


def _closure(starts, deps) -> set:
    seen, stack = set(), list(starts)
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(deps(node))
    return seen


def generate(plan, overrides: dict, variables: list) -> str:
    """Python source of ``build(P, n)`` for these overrides and requested outputs.

    Parameters
    ----------
    plan : simulator.compile.Plan
    overrides : dict
        Element name -> ``"value"`` (replaced by ``P[name]``) or ``"path"`` (replaced by
        the time path callable ``P[name]``).
    variables : list of str
        Element names returned at every saved time, in this order.

    Returns
    -------
    str
        Source defining ``build(P, n) -> (states, discrete, pipes, clamp, rates)``.
    """
    exprs = {}
    for name, element in plan.elements.items():
        kind = overrides.get(name)
        exprs[name] = (element.expr if kind is None else
                       Expr(f"_path_{name}(t)", frozenset({TIME})) if kind == "path" else
                       Expr(f"P_{name}"))
    statefuls = {s.key: s for s in plan.statefuls if s.owner not in overrides}

    def dyn_deps(node):
        deps = exprs[node].deps if node in exprs else statefuls[node].output_deps()
        return [d for d in deps if d != TIME]

    def init_deps(node):
        deps = exprs[node].deps if node in exprs else statefuls[node].init_deps()
        return [d for d in deps if d != TIME]

    def with_rates(node):
        extra = statefuls[node].rate_deps() if node in statefuls else ()
        return dyn_deps(node) + [d for d in extra if d != TIME]

    needed = _closure(variables, with_rates)
    states = [statefuls[k] for k in plan.dyn_order if k in statefuls and k in needed]
    rate_roots = [d for s in states for d in s.rate_deps() if d != TIME]
    core = _closure(rate_roots, dyn_deps)
    init_needed = _closure([s.key for s in states], init_deps)

    dynamic = set()
    for node in plan.dyn_order:
        if node in exprs:
            varying = TIME in exprs[node].deps
        elif node in statefuls:
            varying = statefuls[node].kind != "initial"
        else:
            continue  # a stateful of an overridden element: gone with its equation
        if varying or any(d in dynamic for d in dyn_deps(node)):
            dynamic.add(node)

    out = _Source()
    out("def build(P, n):", 0)
    out("t = _t0")
    for name, kind in overrides.items():
        out(f"{'_path_' if kind == 'path' else 'P_'}{name} = P[{name!r}]")
    done = set()
    for node in plan.init_order:  # initial phase: only what the states need, at t0
        if node in init_needed:
            _emit_init(out, node, exprs, statefuls)
            done.add(node)
    for node in plan.dyn_order:  # run constants, computed once per chunk
        if node in needed and node not in dynamic and node not in done:
            _emit_value(out, node, exprs, statefuls, 1)
    continuous = [s for s in states if s.kind not in ("delay_fixed", "initial")]
    pipes = [s for s in states if s.kind == "delay_fixed"]
    state_vars = [f"s{s.index}_{i}" for s in continuous for i in range(_stages(s))]
    out(f"S = [{', '.join(state_vars)}]")
    out(f"D = [{', '.join(f'p{s.index}.state' for s in pipes)}]")
    out(f"pipes = [{', '.join(f'p{s.index}' for s in pipes)}]")
    clamp = [state_vars.index(f"s{s.index}_0") for s in continuous if s.non_negative]
    out(f"clamp = {clamp!r}")

    out("def rates(t, S, D, want):")
    if state_vars:
        out(f"{', '.join(state_vars)}, = S", 2)
    if pipes:
        out(f"{', '.join(f'w{s.index}' for s in pipes)}, = D", 2)
    for node in plan.dyn_order:
        if node in core and node in dynamic:
            _emit_value(out, node, exprs, statefuls, 2)
    slopes = []
    for s in continuous:
        slopes.extend(_emit_slopes(out, s))
    out(f"dS = ({''.join(x + ', ' for x in slopes)})", 2)
    out(f"dIn = ({''.join(s.args['input'].src + ', ' for s in pipes)})", 2)
    out("if want:", 2)
    for node in plan.dyn_order:
        if node in needed and node in dynamic and node not in core:
            _emit_value(out, node, exprs, statefuls, 3)
    out(f"return dS, dIn, ({''.join(f'v_{v}, ' for v in variables)})", 3)
    out("return dS, dIn, None", 2)
    out("return S, D, pipes, clamp, rates")
    return "\n".join(out.lines) + "\n"


def _stages(s) -> int:
    return s.order if s.kind in ("smooth", "delay") else 1


def _last(s) -> str:
    stages = [f"s{s.index}_{i}" for i in range(s.order)]
    return f"({stages[-1]} if f{s.index} else _last_stage(o{s.index}, ({', '.join(stages)},)))"


def _emit_value(out, node, exprs, statefuls, level):
    """Assign an element's value, or a stateful's output, from current states."""
    if node in exprs:
        value = exprs[node]
        src = f"_f64({value.src})" if value.literal is not None else value.src
        out(f"v_{node} = {src}", level)
        return
    s, k = statefuls[node], statefuls[node].index
    a = s.args
    if s.kind in ("integ", "smooth"):
        out(f"w{k} = s{k}_{_stages(s) - 1}", level)
    elif s.kind == "delay":
        out(f"w{k} = {_last(s)} / {a['delay_time'].src}", level)
    elif s.kind == "trend":
        out(f"w{k} = _zidz({a['input'].src} - s{k}_0, "
            f"{a['average_time'].src} * np.abs(s{k}_0))", level)
    elif s.kind == "initial":
        out(f"w{k} = {a['initial'].src}", level)
    # delay_fixed outputs are unpacked from D at the top of rates()


def _emit_init(out, node, exprs, statefuls):
    """Initialise a state exactly as PySD's Stateful.initialize, then its output."""
    if node in exprs:
        return _emit_value(out, node, exprs, statefuls, 1)
    s, k = statefuls[node], statefuls[node].index
    a = s.args
    if s.kind in ("integ", "smooth"):
        out(f"s{k}_0 = _full(n, {a['initial'].src})")
    elif s.kind == "delay":
        out(f"q{k} = {a['delay_time'].src}")
        out(f"o{k} = _delay_order({s.order}, q{k}, _dt)")
        out(f"f{k} = np.ndim(o{k}) == 0 and o{k} == {s.order}")
        out(f"s{k}_0 = _full(n, {a['initial'].src} * q{k})")
    elif s.kind == "trend":
        out(f"s{k}_0 = _full(n, {a['input'].src} / "
            f"(1 + {a['initial_trend'].src} * {a['average_time'].src}))")
    elif s.kind == "delay_fixed":
        out(f"p{k} = _Pipe({a['delay_time'].src}, _dt, {a['initial'].src}, n, _nsteps)")
        out(f"w{k} = p{k}.state")
        return None
    for i in range(1, _stages(s)):
        out(f"s{k}_{i} = s{k}_0.copy()")
    return _emit_value(out, node, exprs, statefuls, 1)


def _emit_slopes(out, s) -> list:
    """Emit temporaries and return the derivative expressions of a continuous stateful."""
    k, a = s.index, s.args
    if s.kind == "integ":
        return [a["flow"].src if not a["flow"].is_bool else f"({a['flow'].src} * 1.0)"]
    if s.kind == "trend":
        return [f"({a['input'].src} - s{k}_0) / {a['average_time'].src}"]
    stages = [f"s{k}_{i}" for i in range(s.order)]
    if s.kind == "smooth":
        # PySD: (targets - state) * order / smooth_time, targets = input then stage i-1.
        targets = [a["input"].src] + stages[:-1]
        return [f"({tgt} - {st}) * {s.order} / {a['smooth_time'].src}"
                for tgt, st in zip(targets, stages, strict=True)]
    # delay: outflow_i = stage_i / delay_time; (inflow - outflow) * order
    out(f"q{k} = {a['delay_time'].src}", 2)
    for i, st in enumerate(stages):
        out(f"r{k}_{i} = {st} / q{k}", 2)
    inflows = [a["input"].src] + [f"r{k}_{i}" for i in range(s.order - 1)]
    return [f"({inflow} - r{k}_{i}) * o{k}" for i, inflow in enumerate(inflows)]


def _normalise(plan, params: dict | None, n: int | None):
    """Validate parameters; return ({name: value}, {name: kind}, N)."""
    values, kinds, sizes = {}, {}, set()
    for name, value in (params or {}).items():
        element = plan.elements.get(name)
        if element is None or element.kind == "control":
            known = "an element" if element is None else "overridable (time settings are fixed)"
            raise ParameterError(f"parameter {name!r} is not {known} of the model")
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
    """Simulate ``plan`` for N parameter sets; see :meth:`simulator.compile.Plan.run`."""
    if method not in INTEGRATORS:
        raise ValueError(f"unknown method {method!r}; choose from {sorted(INTEGRATORS)}")
    values, kinds, n_runs = _normalise(plan, params, n)
    variables = list(plan.names if variables is None else variables)
    unknown = [v for v in variables if v not in plan.elements]
    if unknown:
        raise ParameterError(f"unknown variables requested: {unknown}")
    build = plan.kernel(kinds, variables)
    time = plan.time
    times = time.initial + time.dt * np.arange(0, time.n_steps + 1, time.save_every)
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


class Plan:
    """A compiled model: ordered equations, states and metadata, ready to run in batches.

    Attributes
    ----------
    time : TimeSettings
        Initial time, final time, dt and saveper [model time units].
    names : list of str
        Python names (PySD's) of every element that has a value: constants, auxiliaries,
        stocks and the time settings. Lookup tables are in ``lookups`` instead.
    stocks : list of str
        Elements defined by INTEG.
    constants : dict of str to float
        Elements defined by a number, with their default value.
    lookups : dict of str to (numpy.ndarray, numpy.ndarray)
        Standalone lookup tables: sorted x points and their y values.
    units, docs : dict of str to str
        Units and documentation strings from the model file.
    ranges : dict of str to tuple or None
        Vensim ``[min, max, step]`` range per element (None where not given).
    elements, statefuls, dyn_order, init_order
        The compiled equations and states, and their dependency orders for each step
        and for the initial time (built by :func:`simulator.compile.compile_model`).
    """

    def __init__(self, time, elements, statefuls, tables, metadata, orders):
        self.time, self.elements, self.statefuls, self.tables = time, elements, statefuls, tables
        self.units, self.docs, self.ranges, self.lookups = metadata
        self.dyn_order, self.init_order = orders
        self.names = list(elements)
        self.stocks = [n for n, x in elements.items() if x.kind == "stock"]
        self.constants = {n: x.expr.literal for n, x in elements.items() if x.kind == "constant"}
        self._kernels: dict = {}

    def source(self, overrides: dict | None = None, variables=None) -> str:
        """Generated kernel source, for reading; ``overrides`` maps name -> value|path."""
        return generate(self, dict(overrides or {}), list(variables or self.names))

    def kernel(self, overrides: dict, variables: list):
        """The compiled ``build(P, n)`` function for these overrides and outputs (cached)."""
        key = (tuple(sorted(overrides.items())), tuple(variables))
        if key not in self._kernels:
            if len(self._kernels) >= 64:  # bound the cache for long interactive sessions
                self._kernels.clear()
            scope = namespace(self.tables, self.time)
            exec(compile(self.source(overrides, variables), "<fast-engine kernel>", "exec"),
                 scope)
            self._kernels[key] = scope["build"]
        return self._kernels[key]

    def run(self, params=None, n=None, variables=None, method="euler", chunk_size=None):
        """Simulate N parameter sets at once.

        Parameters
        ----------
        params : dict, optional
            Element name -> float (all runs), ``(N,)`` array (one value per run) or
            :class:`TimePath` (replaces the element's equation by a time series; a pandas
            Series is accepted too). Unknown names raise ``ParameterError`` (a ValueError).
        n : int, optional
            Number of runs when no parameter array fixes it; default 1.
        variables : list of str, optional
            Elements to return; default all of ``names``. Fewer variables run faster:
            only what they and the stocks they need depend on is computed.
        method : {"euler", "rk4"}
            Integrator; "euler" reproduces PySD.
        chunk_size : int, optional
            Runs integrated together; bounds the working set (default 4096).

        Returns
        -------
        times : numpy.ndarray
            Saved times, shape ``(T,)`` [model time units].
        values : dict of str to numpy.ndarray
            Saved values per variable, shape ``(N, T)`` (column-major views into one
            block, so no transposing copy is made); a failing run holds inf/NaN in its
            own row only.
        """
        return run_plan(self, params, n, variables, method, chunk_size)
