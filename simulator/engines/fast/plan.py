"""The compiled model: ordered equations and states (the IR) with a cache of generated kernels.

:func:`simulator.engines.fast.translate.compile_model` builds a :class:`Plan`;
:mod:`codegen` writes its kernels and :mod:`integrate` runs them.
"""

from __future__ import annotations

from simulator.engines.fast.codegen import generate, namespace
from simulator.engines.fast.integrate import INTEGRATORS, run_plan
from simulator.engines.fast.ir import Expr, ParameterError, TimePath, TimeSettings

# The IR types are re-exported: plan.py held them before the split into ir/codegen/integrate.
__all__ = ["INTEGRATORS", "Expr", "ParameterError", "Plan", "TimePath", "TimeSettings", "run_plan"]


# Per-object caches: the numpy kernels, the compiled backend's kernels, notes and sources being built.
_CACHES = ("_kernels", "_compiled_kernels", "_fallback_reasons", "_kernels_building", "_literal_constants")


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
        and for the initial time (built by :func:`simulator.engines.fast.translate.compile_model`).
    """

    def __init__(self, time, elements, statefuls, tables, metadata, orders, code_names=None):
        self.time, self.elements, self.statefuls, self.tables = time, elements, statefuls, tables
        self.units, self.docs, self.ranges, self.lookups = metadata
        self.dyn_order, self.init_order = orders
        self.names = [n for n in elements if not n.startswith("_macro")]  # macro copies are hidden
        self.stocks = [n for n, x in elements.items() if x.kind == "stock"]
        self.constants = {n: x.expr.literal for n, x in elements.items() if x.kind == "constant"}
        self.code_names = code_names or {n: n for n in elements}  # element -> kernel identifier
        self.groups: dict = {}  # subscripted id -> {cell (element names): cell key}
        self.fixed: dict = {}  # element -> why it cannot be overridden (it fixes a structure)
        self._kernels: dict = {}

    def until(self, final: float) -> Plan:
        """This plan on a clock that stops at ``final`` [model time units]; unchanged at or past FINAL TIME.

        A causal model's values up to a time do not depend on later times, so every saved value up to
        ``final`` is identical, bit for bit, to the full run's (the calibration runs only to its last
        observation).
        """
        import dataclasses

        if final >= self.time.final:
            return self
        # kernels (numpy and compiled) are generated for a clock: the copy must build its own. A compiled
        # kernel of the full clock writes more saved times than the shorter run allocates (this was a
        # memory corruption: a full-horizon run, then runs of an ``until`` copy, crashed the process).
        plan = self.without_caches()
        plan.time = dataclasses.replace(self.time, final=max(final, self.time.initial))
        return plan

    def without_caches(self) -> Plan:
        """A shallow copy of this plan with empty kernel caches (generated code, loaded libraries and
        fallback notes are per plan object, so neither copy sees the other's)."""
        import copy

        clean = copy.copy(self)
        for attribute, value in self.__dict__.items():
            if attribute in _CACHES:
                clean.__dict__[attribute] = type(value)()
        return clean

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
