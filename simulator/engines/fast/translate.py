"""Compile a Vensim model, through PySD's translator, into an ordered vectorised Plan.

Parse -> compile -> run: PySD's ``VensimFile`` gives the abstract syntax tree; this module
turns every equation into a numpy expression over whole batches of runs, pulls stateful
builtins (INTEG, SMOOTH, DELAY, TREND, INITIAL, DELAY FIXED) out into explicit states,
orders the equations from the dependency graph and rejects, at load time and with the
element's name, anything it cannot compute exactly as PySD does. :mod:`codegen` writes
the kernel and :mod:`integrate` steps it.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

with warnings.catch_warnings():
    # pysd imports chardet's deprecated module path at import time; not ours to fix.
    warnings.filterwarnings("ignore", "chardet", DeprecationWarning)
    from parsimonious.exceptions import ParsimoniousError
    from pysd.builders.python.namespace import NamespaceManager
    from pysd.translators.structures import abstract_expressions as ae
    from pysd.translators.structures.abstract_model import (
        AbstractControlElement,
        AbstractLookup,
        AbstractModel,
    )
    from pysd.translators.vensim.vensim_file import VensimFile

from simulator.engines.fast.codegen import namespace
from simulator.engines.fast.ir import TIME, Element, Expr, Stateful, TimePath, TimeSettings
from simulator.engines.fast.plan import Plan

__all__ = ["CompileError", "Expr", "Plan", "Stateful", "TimePath", "TimeSettings", "compile_model"]

_COMPARISONS = {"=": "==", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class CompileError(ValueError):
    """A model construct the fast engine cannot compute exactly; raised at load time."""


def _literal(value: float) -> str:
    if math.isnan(value):
        return "_nan"
    if math.isinf(value):
        return "_inf" if value > 0 else "(-_inf)"
    return f"({value!r})" if value < 0 else repr(value)


def _number(value, bare: bool = False) -> Expr:
    value = float(value)
    return Expr(_literal(value), literal=value, bare=bare)


def _num(e: Expr) -> str:
    """Source of ``e`` as a number: Python treats True as 1 in arithmetic, numpy may not."""
    return f"({e.src} * 1.0)" if e.is_bool else e.src


def _join(*exprs: Expr) -> frozenset:
    return frozenset().union(*(e.deps for e in exprs))


# Vensim function (PySD's cleaned name) -> (allowed arities, numpy source template).
_FUNCTIONS = {
    "abs": ({1}, "np.abs({0})"), "exp": ({1}, "np.exp({0})"), "ln": ({1}, "np.log({0})"),
    "sqrt": ({1}, "np.sqrt({0})"), "sin": ({1}, "np.sin({0})"), "cos": ({1}, "np.cos({0})"),
    "tan": ({1}, "np.tan({0})"), "arcsin": ({1}, "np.arcsin({0})"),
    "arccos": ({1}, "np.arccos({0})"), "arctan": ({1}, "np.arctan({0})"),
    "sinh": ({1}, "np.sinh({0})"), "cosh": ({1}, "np.cosh({0})"), "tanh": ({1}, "np.tanh({0})"),
    "log": ({2}, "(np.log({0}) / np.log({1}))"), "power": ({2}, "np.power({0}, {1})"),
    "min": ({2}, "np.minimum({0}, {1})"), "max": ({2}, "np.maximum({0}, {1})"),
    "integer": ({1}, "np.trunc({0})"), "modulo": ({2}, "_modulo({0}, {1})"),
    "quantum": ({2}, "_quantum({0}, {1})"), "xidz": ({3}, "_xidz({0}, {1}, {2})"),
    "zidz": ({2}, "_zidz({0}, {1})"), "pi": ({0}, "np.pi"),
    "step": ({2}, "_step(t, _dt, {0}, {1})"), "ramp": ({3}, "_ramp(t, {0}, {1}, {2})"),
    "pulse": ({2}, "_pulse(t, {0}, {1})"),
    # PySD's parser already reorders PULSE TRAIN(start, width, interval, end) to
    # (start, interval, width, end).
    "pulse_train": ({4}, "_pulse_train(t, {0}, {1}, {2}, {3})"),
}
_TIME_FUNCTIONS = {"step", "ramp", "pulse", "pulse_train"}
_UNSUPPORTED = {
    ae.DelayNStructure: "DELAY N", ae.ForecastStructure: "FORECAST",
    ae.SampleIfTrueStructure: "SAMPLE IF TRUE", ae.AllocateAvailableStructure: "ALLOCATE AVAILABLE",
    ae.AllocateByPriorityStructure: "ALLOCATE BY PRIORITY", ae.DataStructure: "data (:=)",
    ae.GetLookupsStructure: "GET LOOKUPS", ae.GetDataStructure: "GET DATA",
    ae.GetConstantsStructure: "GET CONSTANTS", ae.SubscriptsReferenceStructure: "subscripts",
}


class _Translator:
    """Turns PySD AST nodes into :class:`Expr`, collecting statefuls and lookup tables."""

    def __init__(self, cleanspace: dict, lookup_names: set):
        self.cleanspace = cleanspace
        self.lookup_names = lookup_names
        self.statefuls: list[Stateful] = []
        self.tables: dict[str, tuple] = {}
        self.element = ""  # original name of the element being compiled, for messages
        self.owner = ""

    def fail(self, construct: str) -> CompileError:
        return CompileError(f"{self.element!r}: unsupported construct {construct}")

    def table(self, structure: ae.LookupsStructure, name: str) -> str:
        xs = np.asarray(structure.x, dtype=np.float64)
        ys = np.asarray(structure.y, dtype=np.float64)
        if structure.type not in ("interpolate", "extrapolate"):
            raise self.fail(f"lookup interpolation type {structure.type!r}")
        if xs.size == 0 or xs.size != ys.size or (xs.size < 2 and structure.type == "extrapolate"):
            raise CompileError(f"{self.element!r}: lookup needs matching, non-empty x and y")
        if len(set(xs.tolist())) != xs.size:
            raise CompileError(f"{self.element!r}: lookup x dimension has repeated values")
        order = np.argsort(xs, kind="stable")  # PySD sorts the table by x
        self.tables[name] = (xs[order], ys[order], structure.type == "extrapolate")
        return name

    def call_table(self, table: str, arg: Expr) -> Expr:
        xs, ys, extrapolate = self.tables[table]
        if extrapolate:
            src = f"_lookup({_num(arg)}, _X_{table}, _Y_{table}, True)"
        else:
            src = f"np.interp({_num(arg)}, _X_{table}, _Y_{table})"
        return Expr(src, arg.deps)

    def __call__(self, ast) -> Expr:
        if isinstance(ast, (bool, np.bool_)):
            raise self.fail("boolean literal")
        if isinstance(ast, (int, float, np.integer, np.floating)):
            return _number(ast, bare=True)
        handler = getattr(self, "_" + type(ast).__name__, None)
        if handler is None:
            raise self.fail(_UNSUPPORTED.get(type(ast), type(ast).__name__))
        return handler(ast)

    def _ReferenceStructure(self, ast) -> Expr:
        if ast.subscripts is not None:
            raise self.fail(f"subscripted reference {ast.reference!r}")
        name = self.cleanspace.get(ast.reference)
        if name is None:
            raise CompileError(f"{self.element!r}: unknown variable {ast.reference!r}")
        if name == TIME:
            return Expr("t", frozenset({TIME}))
        if name in self.lookup_names:
            raise CompileError(f"{self.element!r}: lookup {name!r} used without an argument")
        return Expr(f"v_{name}", frozenset({name}))

    def _ArithmeticStructure(self, ast) -> Expr:
        ops, args = list(ast.operators), [self(a) for a in ast.arguments]
        if ops == ["negative"]:
            (a,) = args
            if a.literal is not None:
                return _number(-a.literal)
            return Expr(f"(-{_num(a)})", a.deps)
        if set(ops) <= {"^"}:
            # PySD emits "a**b**c", which Python evaluates right to left.
            result = args[-1]
            for a in reversed(args[:-1]):
                result = self._binary(a, "**", result)
            return result
        if set(ops) <= {"+", "-"} or set(ops) <= {"*", "/"}:
            result = args[0]
            for op, a in zip(ops, args[1:], strict=True):
                result = self._binary(result, op, a)
            return result
        raise self.fail(f"operator mix {ops}")

    @classmethod
    def _binary(cls, left: Expr, op: str, right: Expr) -> Expr:
        if op == "**" and left.bare and left.literal < 0:
            # PySD writes the number as bare text, "-0.5**2", which Python reads as
            # -(0.5**2); so does the fast engine, to stay equal to PySD.
            power = cls._binary(_number(-left.literal), op, right)
            if power.literal is not None:
                return _number(-power.literal)
            return Expr(f"(-{power.src})", power.deps)
        if left.literal is not None and right.literal is not None:
            # Fold with numpy scalars: Python floats would raise on 1/0 or go complex.
            with np.errstate(all="ignore"):
                value = {"+": np.add, "-": np.subtract, "*": np.multiply,
                         "/": np.divide, "**": np.power}[op](
                    np.float64(left.literal), np.float64(right.literal))
            return _number(value)
        return Expr(f"({_num(left)} {op} {_num(right)})", _join(left, right))

    def _LogicStructure(self, ast) -> Expr:
        ops, args = list(ast.operators), [self(a) for a in ast.arguments]
        if ops == [":NOT:"]:
            return Expr(f"np.logical_not({args[0].src})", args[0].deps, is_bool=True)
        if len(ops) == 1 and ops[0] in _COMPARISONS:
            left, right = args
            src = f"({_num(left)} {_COMPARISONS[ops[0]]} {_num(right)})"
            return Expr(src, _join(left, right), is_bool=True)
        if set(ops) <= {":AND:", ":OR:"}:
            # PySD nests from the right: a :AND: b :OR: c -> and(a, or(b, c)).
            result = args[-1]
            for op, a in zip(reversed(ops), reversed(args[:-1]), strict=True):
                fn = "np.logical_and" if op == ":AND:" else "np.logical_or"
                result = Expr(f"{fn}({a.src}, {result.src})", _join(a, result), is_bool=True)
            return result
        raise self.fail(f"chained comparison {ops}")

    def _CallStructure(self, ast) -> Expr:
        function = ast.function.reference
        target = self.cleanspace.get(function)
        if target not in self.lookup_names and function not in _FUNCTIONS \
                and function != "if_then_else":
            raise self.fail(f"function {function.upper().replace('_', ' ')}")
        args = [self(a) for a in ast.arguments]
        if target in self.lookup_names:
            if len(args) != 1:
                raise CompileError(f"{self.element!r}: lookup {target!r} takes one argument")
            return self.call_table(f"L_{target}", args[0])
        if function == "if_then_else":
            if len(args) != 3:
                raise CompileError(f"{self.element!r}: IF THEN ELSE takes three arguments")
            cond, yes, no = args
            both_bool = yes.is_bool and no.is_bool
            src = f"np.where({cond.src}, {yes.src if both_bool else _num(yes)}, " \
                  f"{no.src if both_bool else _num(no)})"
            return Expr(src, _join(*args), is_bool=both_bool)
        arities, template = _FUNCTIONS[function]
        if len(args) not in arities:
            raise CompileError(
                f"{self.element!r}: {function.upper()} takes {sorted(arities)} arguments")
        nums = [_num(a) for a in args]
        deps = _join(*args) | (frozenset({TIME}) if function in _TIME_FUNCTIONS else frozenset())
        return Expr(template.format(*nums), deps)

    def _InlineLookupsStructure(self, ast) -> Expr:
        name = self.table(ast.lookups, f"I{len(self.tables)}")
        return self.call_table(name, self(ast.argument))

    def _GameStructure(self, ast) -> Expr:
        return self(ast.expression)  # PySD ignores GAME too

    def _stateful(self, kind: str, order: int = 1, non_negative=False, **args) -> Expr:
        key = f"_sf{len(self.statefuls)}"
        compiled = {name: self(value) for name, value in args.items()}
        self.statefuls.append(Stateful(key, kind, self.owner, compiled, order, non_negative))
        return Expr(f"w{key[3:]}", frozenset({key}))

    def _IntegStructure(self, ast) -> Expr:
        return self._stateful("integ", flow=ast.flow, initial=ast.initial,
                              non_negative=bool(ast.non_negative))

    def _SmoothStructure(self, ast) -> Expr:
        return self._stateful("smooth", int(ast.order), input=ast.input,
                              smooth_time=ast.smooth_time, initial=ast.initial)

    def _SmoothNStructure(self, ast) -> Expr:
        order = self(ast.order).literal
        if order is None or order != int(order) or order < 1:
            raise self.fail("SMOOTH N with an order that is not a positive integer literal")
        return self._stateful("smooth", int(order), input=ast.input,
                              smooth_time=ast.smooth_time, initial=ast.initial)

    def _DelayStructure(self, ast) -> Expr:
        return self._stateful("delay", int(ast.order), input=ast.input,
                              delay_time=ast.delay_time, initial=ast.initial)

    def _DelayFixedStructure(self, ast) -> Expr:
        return self._stateful("delay_fixed", input=ast.input, delay_time=ast.delay_time,
                              initial=ast.initial)

    def _TrendStructure(self, ast) -> Expr:
        return self._stateful("trend", input=ast.input, average_time=ast.average_time,
                              initial_trend=ast.initial_trend)

    def _InitialStructure(self, ast) -> Expr:
        return self._stateful("initial", initial=ast.initial)


def _toposort(nodes: list, deps, describe, what: str) -> list:
    """Depth-first topological order (dependencies first); a cycle raises CompileError."""
    rank = {node: i for i, node in enumerate(nodes)}
    order, state = [], {}

    def edges(node):
        return sorted((d for d in deps(node) if d in rank), key=rank.__getitem__)

    for root in nodes:
        if root in state:
            continue
        state[root] = "open"
        stack = [(root, iter(edges(root)))]
        while stack:
            node, pending = stack[-1]
            for dep in pending:
                if state.get(dep) == "open":
                    path = [n for n, _ in stack]
                    loop = path[path.index(dep):] + [dep]
                    raise CompileError(
                        f"{what}: " + " -> ".join(describe(n) for n in loop))
                if dep not in state:
                    state[dep] = "open"
                    stack.append((dep, iter(edges(dep))))
                    break
            else:
                stack.pop()
                state[node] = "done"
                order.append(node)
    return order


def _load(source) -> AbstractModel:
    if isinstance(source, AbstractModel):
        return source
    if isinstance(getattr(source, "abstract_model", None), AbstractModel):
        return source.abstract_model  # a simulator Model: parsed once, at load
    path = Path(source)
    if path.suffix.lower() != ".mdl":
        raise CompileError(f"{path}: only Vensim .mdl files are supported")
    if not path.is_file():
        raise FileNotFoundError(path)
    vensim = VensimFile(path)  # parsing only: unlike pysd.read_vensim, writes no file
    try:
        vensim.parse()
    except ParsimoniousError as error:
        raise _parse_error(path, error) from error
    return vensim.get_abstract_model()


def _parse_error(path: Path, error: Exception) -> CompileError:
    """Name the equation PySD's grammar rejects (its own message shows only a parse tree)."""
    vensim = VensimFile(path)
    vensim.parse(parse_all=False)
    for section in vensim.sections:
        section.parse(parse_all=False)
        for element in section.elements:
            try:
                parsed = element.parse()
                if hasattr(parsed, "parse"):  # a component: its right-hand side next
                    parsed.parse()
            except ParsimoniousError as inner:
                equation = " ".join(element.equation.split())[:120]
                reason = str(inner).splitlines()[0]
                return CompileError(f"{path.name}: cannot parse {equation!r}: {reason}")
    return CompileError(f"{path.name}: cannot parse the model: {str(error).splitlines()[0]}")


def _range(limits) -> tuple | None:
    limits = tuple(None if x is None else float(x) for x in (tuple(limits) + (None,) * 3)[:3])
    return None if all(x is None for x in limits) else limits


def _evaluate(name: str, elements: dict, tables: dict) -> float:
    """Value of a constant expression at compile time (for the time settings)."""
    scope, values = namespace(tables, None), {}

    def value(node):
        if node not in values:
            element = elements.get(node)
            if element is None:
                raise CompileError(f"{elements[name].original!r} must be a constant expression")
            for dep in element.expr.deps:
                values.setdefault(dep, value(dep))
            local = {f"v_{d}": values[d] for d in element.expr.deps}
            with np.errstate(all="ignore"):
                values[node] = float(eval(element.expr.src, scope, local))
        return values[node]

    return value(name)


def compile_model(source) -> Plan:
    """Compile a Vensim model into a :class:`Plan`.

    Parameters
    ----------
    source : simulator.model.Model, pysd AbstractModel, str or pathlib.Path
        A loaded model (its already parsed ``abstract_model`` is used), a PySD abstract
        model, or a path to a ``.mdl`` file (parsed in place, nothing written beside it).

    Raises
    ------
    CompileError
        For anything the engine cannot compute exactly as PySD: subscripts, macros, data,
        unsupported functions, algebraic or initialisation loops. The message names the
        element and the construct.
    """
    model = _load(source)
    macros = [s.name for s in model.sections if s.type != "main"]
    if macros:
        raise CompileError(f"macros are not supported: {macros}")
    section = model.sections[0]
    if section.subscripts:
        raise CompileError(
            f"subscript ranges are not supported: {[s.name for s in section.subscripts]}")
    space = NamespaceManager()  # PySD's own naming, in PySD's order, so names match its columns
    for element in section.elements:
        space.add_to_namespace(element.name)
    py = {e.name: space.namespace[e.name] for e in section.elements}
    lookups = {py[e.name] for e in section.elements
               if any(isinstance(c, AbstractLookup) for c in e.components)}
    translate = _Translator(space.cleanspace, lookups)
    for element in section.elements:
        translate.element = element.name
        for component in element.components:
            if component.subscripts[0] or component.subscripts[1]:
                raise translate.fail(f"subscripts {component.subscripts[0]}")
        if len(element.components) != 1:
            raise translate.fail("a definition in several equations")
        component = element.components[0]
        if component.type == "Data":
            raise translate.fail("data variable")
        if py[element.name] in lookups:
            if not isinstance(component.ast, ae.LookupsStructure):
                raise translate.fail(type(component.ast).__name__)
            translate.table(component.ast, f"L_{py[element.name]}")

    elements, units, docs, ranges = {}, {}, {}, {}
    for element in section.elements:
        name = py[element.name]
        units[name], docs[name] = element.units or "", element.documentation or ""
        ranges[name] = _range(element.limits)
        if name in lookups:
            continue
        translate.element, translate.owner = element.name, name
        expr = translate(element.components[0].ast)
        kind = ("control" if isinstance(element, AbstractControlElement) else
                "constant" if expr.literal is not None else
                "stock" if isinstance(element.components[0].ast, ae.IntegStructure) else "aux")
        elements[name] = Element(name, element.name, kind, expr)

    by_key = {s.key: s for s in translate.statefuls}

    def describe(node):
        if node in elements:
            return repr(elements[node].original)
        return f"{elements[by_key[node].owner].original!r} ({by_key[node].kind.upper()})"

    nodes = list(elements) + list(by_key)
    dyn_order = _toposort(
        nodes, lambda x: elements[x].expr.deps if x in elements else by_key[x].output_deps(),
        describe, "algebraic loop (simultaneous equations without a stock)")
    init_order = _toposort(
        nodes, lambda x: elements[x].expr.deps if x in elements else by_key[x].init_deps(),
        describe, "initialisation loop (initial values depend on each other)")
    control = {}
    for key in ("initial_time", "final_time", "time_step", "saveper"):
        if key not in elements or elements[key].kind != "control":
            raise CompileError(f"the model lacks the time setting {key.upper()}")
        control[key] = _evaluate(key, elements, translate.tables)
    time = TimeSettings(control["initial_time"], control["final_time"],
                        control["time_step"], control["saveper"])
    if not time.dt > 0 or not time.final >= time.initial or not time.saveper > 0:
        raise CompileError(f"invalid time settings {time}")
    if abs(time.saveper / time.dt - time.save_every) > 1e-9 * time.save_every:
        raise CompileError(f"SAVEPER {time.saveper} is not a multiple of TIME STEP {time.dt}")
    tables = {n: translate.tables[f"L_{n}"][:2] for n in sorted(lookups)}
    return Plan(time, elements, translate.statefuls, translate.tables,
                (units, docs, ranges, tables), (dyn_order, init_order))
