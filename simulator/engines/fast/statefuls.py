"""One table entry per stateful kind (INTEG, SMOOTH, DELAY, DELAY FIXED, TREND, INITIAL, ...).

Each :class:`Kind` says which arguments the state reads when it is initialised, when its
derivative is taken and when its output is formed, how many stages it keeps, and gives the
numpy code templates for those three moments, after ``pysd.py_backend.statefuls``. The
numpy code generator (:mod:`codegen`) only walks this table; a compiled back end would add
its own templates beside these, with the same argument lists.

Templates receive the :class:`~simulator.engines.fast.ir.Stateful` ``s``; names in the
generated code are ``s{k}_{i}`` (stage i of stateful k), ``w{k}`` (its output),
``q{k}``/``o{k}``/``f{k}``/``r{k}_{i}``/``p{k}`` (its temporaries) and ``n`` (runs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["KINDS", "Kind"]


def _src(s, name: str) -> str:
    return s.args[name].src


def _num(s, name: str) -> str:
    e = s.args[name]
    return f"({e.src} * 1.0)" if e.is_bool else e.src


@dataclass(frozen=True)
class Kind:
    """How one kind of stateful builtin initialises, moves and outputs.

    Attributes
    ----------
    name : str
        Key in :data:`KINDS`.
    init_args, rate_args, output_args : tuple of str
        Arguments read at initialisation, by the derivative (or the discrete update) and
        by the output at every step.
    storage : {"continuous", "discrete", "none"}
        Integrated stages; a discrete state ``p{k}`` (DELAY FIXED's ring buffer, SAMPLE IF
        TRUE's held value) whose ``state`` is ``z{k}`` and which is pushed ``next(s)`` once
        per step, after the step's values are computed; or nothing (fixed at initialisation).
    init : callable
        ``init(s) -> list[str]``: statements that create stage 0 (``s{k}_0``) or ``p{k}``
        and ``z{k}``.
    output : callable
        ``output(s) -> str``: the expression of ``w{k}`` from the stages or ``z{k}``.
    next : callable
        ``next(s) -> str``: for a discrete state, the value pushed at the end of a step.
    slopes : callable
        ``slopes(s) -> (list[str], list[str])``: temporaries, then one derivative per stage.
    stages : callable
        ``stages(s) -> int``: number of stages (``s.order`` for SMOOTHn / DELAYn).
    """

    name: str
    init_args: tuple
    rate_args: tuple
    output_args: tuple
    storage: str
    init: Callable
    output: Callable
    slopes: Callable = lambda s: ([], [])
    stages: Callable = lambda s: 1
    next: Callable = lambda s: None


def _last(s) -> str:
    k = s.index
    stages = [f"s{k}_{i}" for i in range(s.order)]
    return f"({stages[-1]} if f{k} else _last_stage(o{k}, ({', '.join(stages)},)))"


def _sample(s) -> str:
    return f"np.where({s.args['condition'].src}, {_num(s, 'input')}, z{s.index})"


def _smooth_slopes(s):
    # PySD: (targets - state) * order / smooth_time, targets = input then stage i-1.
    stages = [f"s{s.index}_{i}" for i in range(s.order)]
    targets = [_num(s, "input")] + stages[:-1]
    return [], [f"({tgt} - {st}) * {s.order} / {_src(s, 'smooth_time')}"
                for tgt, st in zip(targets, stages, strict=True)]


def _delay_init(s):
    k = s.index
    return [f"q{k} = {_src(s, 'delay_time')}", f"o{k} = _delay_order({s.order}, q{k}, _dt)",
            f"f{k} = np.ndim(o{k}) == 0 and o{k} == {s.order}",
            f"s{k}_0 = _full(n, {_num(s, 'initial')} * q{k})"]


def _delay_slopes(s):
    # outflow_i = stage_i / delay_time; d(stage_i) = (inflow_i - outflow_i) * order
    k = s.index
    temps = [f"q{k} = {_src(s, 'delay_time')}"]
    temps += [f"r{k}_{i} = s{k}_{i} / q{k}" for i in range(s.order)]
    inflows = [_num(s, "input")] + [f"r{k}_{i}" for i in range(s.order - 1)]
    return temps, [f"({inflow} - r{k}_{i}) * o{k}" for i, inflow in enumerate(inflows)]


KINDS = {kind.name: kind for kind in (
    Kind("integ", init_args=("initial",), rate_args=("flow",), output_args=(),
         storage="continuous",
         init=lambda s: [f"s{s.index}_0 = _full(n, {_num(s, 'initial')})"],
         output=lambda s: f"s{s.index}_0",
         slopes=lambda s: ([], [_num(s, "flow")])),
    Kind("smooth", init_args=("initial",), rate_args=("input", "smooth_time"), output_args=(),
         storage="continuous",
         init=lambda s: [f"s{s.index}_0 = _full(n, {_num(s, 'initial')})"],
         output=lambda s: f"s{s.index}_{s.order - 1}",
         slopes=_smooth_slopes, stages=lambda s: s.order),
    Kind("delay", init_args=("initial", "delay_time"), rate_args=("input", "delay_time"),
         output_args=("delay_time",), storage="continuous", init=_delay_init,
         output=lambda s: f"{_last(s)} / {_src(s, 'delay_time')}",
         slopes=_delay_slopes, stages=lambda s: s.order),
    Kind("trend", init_args=("initial_trend", "input", "average_time"),
         rate_args=("input", "average_time"), output_args=("input", "average_time"),
         storage="continuous",
         init=lambda s: [f"s{s.index}_0 = _full(n, {_num(s, 'input')} / "
                         f"(1 + {_num(s, 'initial_trend')} * {_src(s, 'average_time')}))"],
         output=lambda s: (f"_zidz({_num(s, 'input')} - s{s.index}_0, "
                           f"{_src(s, 'average_time')} * np.abs(s{s.index}_0))"),
         slopes=lambda s: ([], [f"({_num(s, 'input')} - s{s.index}_0) / "
                                f"{_src(s, 'average_time')}"])),
    Kind("delay_fixed", init_args=("initial", "delay_time"), rate_args=("input",),
         output_args=(), storage="discrete",
         init=lambda s: [f"p{s.index} = _Pipe({_src(s, 'delay_time')}, _dt, "
                         f"{_num(s, 'initial')}, n, _nsteps)", f"z{s.index} = p{s.index}.state"],
         output=lambda s: f"z{s.index}", next=lambda s: _num(s, "input")),
    # pysd's SampleIfTrue: output where(condition, input, held); the held value takes the
    # output's value at the end of each step.
    Kind("sample_if_true", init_args=("initial", "condition", "input"), rate_args=("condition", "input"),
         output_args=("condition", "input"), storage="discrete",
         init=lambda s: [f"p{s.index} = _Held({_num(s, 'initial')}, n)",
                         f"z{s.index} = p{s.index}.state"],
         output=lambda s: _sample(s), next=lambda s: _sample(s)),
    # pysd's Forecast: state starts at input / (1 + initial_trend) (no average time, unlike
    # TREND) and smooths the input; output input * (1 + zidz(input - state,
    # average_time * state) * horizon).
    Kind("forecast", init_args=("input", "initial_trend", "average_time", "horizon"),
         rate_args=("input", "average_time"), output_args=("input", "average_time", "horizon"),
         storage="continuous",
         init=lambda s: [f"s{s.index}_0 = _full(n, {_num(s, 'input')} / "
                         f"(1 + {_num(s, 'initial_trend')}))"],
         output=lambda s: (f"{_num(s, 'input')} * (1 + _zidz({_num(s, 'input')} - s{s.index}_0, "
                           f"{_src(s, 'average_time')} * s{s.index}_0) * {_num(s, 'horizon')})"),
         slopes=lambda s: ([], [f"({_num(s, 'input')} - s{s.index}_0) / "
                                f"{_src(s, 'average_time')}"])),
    Kind("initial", init_args=("initial",), rate_args=(), output_args=(), storage="none",
         init=lambda s: [], output=lambda s: _src(s, "initial")),
)}
