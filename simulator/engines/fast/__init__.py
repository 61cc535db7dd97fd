"""The fast engine: a Vensim model compiled into a vectorised numpy plan that runs N parameter sets at once.

translate (pysd AST -> IR, with subscripts, expressions, macros and external data) -> ir / statefuls
(the plan's data and one table entry per stateful kind) -> codegen (numpy kernel) -> integrate
(Euler/RK4 over integer time); adapter joins it to the library's overrides.
"""

from simulator.engines.fast.adapter import plan_for, run_batch_arrays, run_fast, to_params
from simulator.engines.fast.builtins import lookup
from simulator.engines.fast.ir import CompileError, ParameterError, TimePath, TimeSettings
from simulator.engines.fast.plan import Plan

__all__ = ["CompileError", "ParameterError", "Plan", "TimePath", "TimeSettings", "compile_model", "lookup",
           "plan_for", "run_batch_arrays", "run_fast", "to_params"]


def __getattr__(name: str):
    """``compile_model`` is imported on first use: the translator imports pysd (about 0.8 s), which a
    process reading its plan from the cache never needs."""
    if name == "compile_model":
        from simulator.engines.fast.translate import compile_model

        return compile_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
