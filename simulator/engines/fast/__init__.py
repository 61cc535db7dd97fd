"""The fast engine: a Vensim model compiled into a vectorised numpy plan that runs N parameter sets at once.

translate (pysd AST -> IR, with subscripts, expressions, macros and external data) -> ir / statefuls
(the plan's data and one table entry per stateful kind) -> codegen (numpy kernel) -> integrate
(Euler/RK4 over integer time); adapter joins it to the library's overrides.
"""

from simulator.engines.fast.adapter import plan_for, run_batch_arrays, run_fast, to_params
from simulator.engines.fast.builtins import lookup
from simulator.engines.fast.ir import ParameterError, TimePath, TimeSettings
from simulator.engines.fast.plan import Plan
from simulator.engines.fast.translate import CompileError, compile_model

__all__ = ["CompileError", "ParameterError", "Plan", "TimePath", "TimeSettings", "compile_model", "lookup",
           "plan_for", "run_batch_arrays", "run_fast", "to_params"]
