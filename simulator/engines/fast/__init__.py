"""The fast engine: a Vensim model compiled to a vectorised numpy plan that runs N parameter sets at once.

Modules
-------
translate
    pysd's abstract syntax tree -> :class:`Plan` (ordered equations, stateful elements, lookups).
plan
    The plan's data types, numpy code generation and Euler/RK4 integration.
builtins
    Vensim functions over arrays with a runs axis.
adapter
    The library's overrides (numbers, arrays, time paths) -> plan parameters; one run as a frame.
"""

from simulator.engines.fast.adapter import plan_for, run_batch_arrays, run_fast, to_params
from simulator.engines.fast.builtins import lookup
from simulator.engines.fast.plan import ParameterError
from simulator.engines.fast.translate import CompileError, Plan, TimePath, TimeSettings, compile_model

__all__ = [
    "CompileError", "ParameterError", "Plan", "TimePath", "TimeSettings", "compile_model", "lookup", "plan_for",
    "run_batch_arrays", "run_fast", "to_params",
]
