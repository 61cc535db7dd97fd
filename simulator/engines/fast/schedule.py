"""What to compute when, for one kernel: the schedule both code generators follow.

For a set of overridden parameters and requested outputs, :class:`Schedule` resolves each element's
expression (its equation, or the override's ``P_`` name or ``_path_`` call), keeps the statefuls whose
owner is not overridden, and works out from the plan's dependency order: what the requested outputs
need (``needed``), the states and what their rates need (``states``, ``core``), what the initial phase
needs (``init_needed``) and what moves in time (``dynamic``; the rest are run constants). The numpy
generator (:mod:`.codegen`) and the C generator (:mod:`.kernel.codegen_c`) both write this schedule, so
the two backends compute the same things in the same order; the C one also reads ``literal`` and
``uniform`` (values equal in every run).
"""

from __future__ import annotations

from simulator.engines.fast.ir import TIME, Expr

__all__ = ["PATHS", "Schedule", "closure"]

#: override kinds that are time paths: "path" (one path for all runs), "rows" (one per run; the C backend)
PATHS = ("path", "rows")


def closure(starts, deps) -> set:
    """Every node reachable from ``starts`` through ``deps(node)``, the starts included."""
    seen, stack = set(), list(starts)
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(deps(node))
    return seen


class Schedule:
    """The schedule of one kernel of ``plan`` for ``overrides`` (name -> kind) and ``variables``."""

    def __init__(self, plan, overrides: dict, variables: list):
        code = plan.code_names
        self.exprs = {}
        for name, element in plan.elements.items():
            kind = overrides.get(name)
            self.exprs[name] = (element.expr if kind is None else
                                Expr(f"_path_{code[name]}(t)", frozenset({TIME})) if kind in PATHS else
                                Expr(f"P_{code[name]}"))
        self.statefuls = {s.key: s for s in plan.statefuls if s.owner not in overrides}
        exprs, statefuls = self.exprs, self.statefuls

        def dyn_deps(node):
            deps = exprs[node].deps if node in exprs else statefuls[node].output_deps()
            return [d for d in deps if d != TIME]

        def init_deps(node):
            deps = exprs[node].deps if node in exprs else statefuls[node].init_deps()
            return [d for d in deps if d != TIME]

        def with_rates(node):
            extra = statefuls[node].rate_deps() if node in statefuls else ()
            return dyn_deps(node) + [d for d in extra if d != TIME]

        self.dyn_deps = dyn_deps
        self.needed = closure(variables, with_rates)
        self.states = [statefuls[k] for k in plan.dyn_order if k in statefuls and k in self.needed]
        rate_roots = [d for s in self.states for d in s.rate_deps() if d != TIME]
        self.core = closure(rate_roots, dyn_deps)
        self.init_needed = closure([s.key for s in self.states], init_deps)
        self.dynamic = set()
        for node in plan.dyn_order:
            if node in exprs:
                varying = TIME in exprs[node].deps
            elif node in statefuls:
                varying = statefuls[node].spec.storage != "none"
            else:
                continue  # a stateful of an overridden element: gone with its equation
            if varying or any(d in self.dynamic for d in dyn_deps(node)):
                self.dynamic.add(node)
        self.literal = {n for n, e in exprs.items() if e.literal is not None and n not in overrides}
        self.uniform = set()  # time-varying values equal in every run: computed once per step
        for node in plan.dyn_order:
            if node in self.dynamic and node in exprs and node not in overrides and all(
                    d in self.literal or d in self.uniform for d in dyn_deps(node)):
                self.uniform.add(node)
