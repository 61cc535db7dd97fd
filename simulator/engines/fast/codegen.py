"""Generate the numpy kernel of a Plan: one Python function of vectorised statements.

For a set of overridden parameters and requested outputs, :func:`generate` writes the
source of ``build(P, n)``: the initial phase (only what the states need), the run
constants (computed once per chunk) and ``rates(t, S, D, want)``, which evaluates the
time-varying equations in dependency order and returns the derivatives, the discrete
inputs and, on saved steps, the requested outputs. Stateful code comes from the
:data:`~simulator.engines.fast.statefuls.KINDS` table; this module knows no kind by name.
"""

from __future__ import annotations

import numpy as np

from simulator.engines.fast import builtins as bi
from simulator.engines.fast.schedule import PATHS, Schedule

__all__ = ["generate", "namespace"]


def namespace(tables: dict, time) -> dict:
    """Globals of generated code: numpy, the builtins, lookup tables and the clock."""
    ns = {
        "np": np, "_f64": np.float64, "_nan": np.nan, "_inf": np.inf,
        "_full": bi.full, "_xidz": bi.xidz, "_zidz": bi.zidz, "_modulo": bi.modulo,
        "_quantum": bi.quantum, "_step": bi.step, "_ramp": bi.ramp, "_pulse": bi.pulse,
        "_pulse_train": bi.pulse_train, "_lookup": bi.lookup, "_delay_order": bi.delay_order,
        "_last_stage": bi.last_stage, "_Pipe": bi.Pipe, "_Held": bi.Held,
    }
    ns.update(bi.EXTRA)
    if time is not None:
        ns.update(_t0=np.float64(time.initial), _dt=np.float64(time.dt), _nsteps=time.n_steps,
                  _tfinal=np.float64(time.final))
    for key, table in tables.items():
        ns[f"_X_{key}"], ns[f"_Y_{key}"] = table[0], table[1]
    return ns


class _Source:
    """Indented line buffer for generated code."""

    def __init__(self):
        self.lines: list[str] = []

    def __call__(self, line: str, level: int = 1):
        self.lines.append("    " * level + line)


def generate(plan, overrides: dict, variables: list) -> str:
    """Python source of ``build(P, n)`` for these overrides and requested outputs.

    Parameters
    ----------
    plan : simulator.engines.fast.plan.Plan
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
    code = plan.code_names
    sched = Schedule(plan, overrides, variables)
    exprs, statefuls, states = sched.exprs, sched.statefuls, sched.states
    needed, core, init_needed, dynamic = sched.needed, sched.core, sched.init_needed, sched.dynamic

    out = _Source()
    out("def build(P, n):", 0)
    out("t = _t0")
    for name, kind in overrides.items():
        out(f"{'_path_' if kind in PATHS else 'P_'}{code[name]} = P[{name!r}]")
    done = set()
    for node in plan.init_order:  # initial phase: only what the states need, at t0
        if node in init_needed:
            _emit_init(out, node, exprs, statefuls, code)
            done.add(node)
    for node in plan.dyn_order:  # run constants, computed once per chunk
        if node in needed and node not in dynamic and node not in done:
            _emit_value(out, node, exprs, statefuls, 1, code)
    continuous = [s for s in states if s.spec.storage == "continuous"]
    pipes = [s for s in states if s.spec.storage == "discrete"]
    state_vars = [f"s{s.index}_{i}" for s in continuous for i in range(s.spec.stages(s))]
    out(f"S = [{', '.join(state_vars)}]")
    out(f"D = [{', '.join(f'p{s.index}.state' for s in pipes)}]")
    out(f"pipes = [{', '.join(f'p{s.index}' for s in pipes)}]")
    clamp = [state_vars.index(f"s{s.index}_0") for s in continuous if s.non_negative]
    out(f"clamp = {clamp!r}")

    out("def rates(t, S, D, want):")
    if state_vars:
        out(f"{', '.join(state_vars)}, = S", 2)
    if pipes:
        out(f"{', '.join(f'z{s.index}' for s in pipes)}, = D", 2)
    for node in plan.dyn_order:
        if node in core and node in dynamic:
            _emit_value(out, node, exprs, statefuls, 2, code)
    slopes = []
    for s in continuous:
        temps, derivatives = s.spec.slopes(s)
        for line in temps:
            out(line, 2)
        slopes.extend(derivatives)
    out(f"dS = ({''.join(x + ', ' for x in slopes)})", 2)
    out(f"dIn = ({''.join(s.spec.next(s) + ', ' for s in pipes)})", 2)
    out("if want:", 2)
    for node in plan.dyn_order:
        if node in needed and node in dynamic and node not in core:
            _emit_value(out, node, exprs, statefuls, 3, code)
    out(f"return dS, dIn, ({''.join(f'v_{code[v]}, ' for v in variables)})", 3)
    out("return dS, dIn, None", 2)
    out("return S, D, pipes, clamp, rates")
    return "\n".join(out.lines) + "\n"


def _emit_value(out, node, exprs, statefuls, level, code):
    """Assign an element's value, or a stateful's output, from current states."""
    if node in exprs:
        value = exprs[node]
        src = f"_f64({value.src})" if value.literal is not None else value.src
        out(f"v_{code[node]} = {src}", level)
        return
    s = statefuls[node]
    out(f"w{s.index} = {s.spec.output(s)}", level)


def _emit_init(out, node, exprs, statefuls, code):
    """Initialise a state exactly as PySD's Stateful.initialize, then its output."""
    if node in exprs:
        return _emit_value(out, node, exprs, statefuls, 1, code)
    s = statefuls[node]
    for line in s.spec.init(s):
        out(line)
    for i in range(1, s.spec.stages(s) if s.spec.storage == "continuous" else 0):
        out(f"s{s.index}_{i} = s{s.index}_0.copy()")
    return _emit_value(out, node, exprs, statefuls, 1, code)
