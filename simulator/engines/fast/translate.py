"""Compile a Vensim model, through PySD's translator, into an ordered vectorised Plan.

Parse -> compile -> run: the Model's already parsed AbstractModel (pysd's ``VensimFile``) is
the input; this module expands subscripted equations into cells (:mod:`subscripts`),
translates every cell into a numpy expression over whole batches of runs (:mod:`expressions`,
with macros inlined by :mod:`macros` and GET XLS/DIRECT data read by :mod:`external`), pulls
stateful builtins out into explicit states (:mod:`statefuls`), orders the equations from the
dependency graph and evaluates the control section once. Anything it cannot compute exactly as
PySD does is refused at load time, naming the file, the element and the construct.
:mod:`codegen` writes the kernel and :mod:`integrate` steps it.
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
    from pysd.builders.python.subscripts import SubscriptManager
    from pysd.translators.structures import abstract_expressions as ae
    from pysd.translators.structures.abstract_model import (
        AbstractControlElement,
        AbstractLookup,
        AbstractModel,
    )
    from pysd.translators.vensim.vensim_file import VensimFile

from simulator.engines.fast.codegen import namespace
from simulator.engines.fast.expressions import CompileError, Translator, _number
from simulator.engines.fast.external import ExternalError
from simulator.engines.fast.external import load as load_external
from simulator.engines.fast.ir import TIME, Element, Expr, Stateful, TimePath, TimeSettings
from simulator.engines.fast.macros import macros_of
from simulator.engines.fast.plan import Plan
from simulator.engines.fast.subscripts import Ranges, SubscriptError, cell_key
from simulator.model.naming import canonical_id

CONTROL = ("initial_time", "final_time", "time_step", "saveper")

__all__ = ["CompileError", "Expr", "Plan", "Stateful", "TimePath", "TimeSettings", "compile_model"]

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


def _evaluate(name: str, elements: dict, tables: dict, code: dict, time=None) -> float:
    """Value of an expression at compile time: the time settings (constants only) or, given the
    ``time`` settings, an expression evaluated once at the initial time (a SMOOTH N order)."""
    scope, values = namespace(tables, time), {}
    if time is not None:
        scope["t"] = values[TIME] = np.float64(time.initial)

    def value(node):
        if node not in values:
            element = elements.get(node)
            if element is None:
                changing = "changes during the run" if node == TIME or node.startswith("_sf") \
                    else f"reads {node!r}"
                raise CompileError(f"{elements[name].original!r}: unsupported construct a time "
                                   f"setting that {changing} (it must be a constant expression)")
            for dep in element.expr.deps:
                values.setdefault(dep, value(dep))
            local = {f"v_{code[d]}": values[d] for d in element.expr.deps if d != TIME}
            with np.errstate(all="ignore"):
                values[node] = float(eval(element.expr.src, scope, local))
        return values[node]

    return value(name)


def _cells(section, py: dict, ranges: Ranges, fail) -> dict:
    """Python name -> [(component, cell, binding, array index, array shape)] and the cell keys."""
    out = {}
    for element in section.elements:
        entries = []
        for component in element.components:
            subscripts, excepts = component.subscripts
            if not subscripts:
                entries.append((component, (), [], None, None))
                continue
            try:
                cells = ranges.cells(subscripts, excepts)
                sizes = tuple(len(ranges.of(sub)) for sub in subscripts)
                positions = [{e: i for i, e in enumerate(ranges.of(sub))} for sub in subscripts]
            except SubscriptError as error:
                raise fail(element.name, str(error)) from None
            for cell in cells:
                index = tuple(p[e] for p, e in zip(positions, cell, strict=True))
                entries.append((component, cell, ranges.binding(subscripts, cell), index, sizes))
        seen = [cell for _, cell, *_ in entries]
        if len(set(seen)) != len(seen):
            raise fail(element.name, "a cell defined twice")
        if () in seen and len(seen) > 1:
            raise fail(element.name, "a definition in several equations")
        out[py[element.name]] = entries
    return out


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
        For anything the engine cannot compute exactly as PySD (macros, data, unsupported
        functions or subscript forms, algebraic or initialisation loops): one line naming the
        file, the element and the construct.
    """
    model = _load(source)
    where = Path(str(model.original_path)).name
    try:
        return _compile(model)
    except CompileError as error:
        raise CompileError(f"{where}: {error}") from None
    except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError) as error:
        # A safety net: a construct the translator did not foresee is refused, never a traceback.
        raise CompileError(f"{where}: unsupported construct the fast engine cannot translate "
                           f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}); "
                           "use --engine pysd") from error


def _compile(model) -> Plan:
    others = [s.name for s in model.sections if s.type not in ("main", "macro")]
    if others:
        raise CompileError(f"unsupported construct model section {others[0]!r} ({model.sections[1].type})")
    section = model.sections[0]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            manager = SubscriptManager(section.subscripts, Path(str(model.original_path)).parent)
        ranges = Ranges(manager.subscripts, manager.mapping, manager.subranges)
    except SubscriptError as error:
        raise CompileError(f"unsupported construct {error}") from None
    except Exception as error:  # pysd's reader of GET XLS SUBSCRIPT raises many kinds
        raise CompileError(f"unsupported construct subscript ranges pysd cannot read "
                           f"({type(error).__name__}: {error})") from None

    def fail(name, construct):
        return CompileError(f"{name!r}: unsupported construct {construct}")

    space = NamespaceManager()  # PySD's own naming, in PySD's order, so names match its columns
    for element in section.elements:
        space.add_to_namespace(element.name)
    # Keys are the canonical ids (pysd's names, except where pysd renames a word it reserves).
    py = {e.name: canonical_id(e.name) for e in section.elements}
    original = {python: name for name, python in space.namespace.items()}
    cleanspace = {clean: py.get(original.get(python), python)
                  for clean, python in space.cleanspace.items()}
    if len(set(py.values())) != len(py):
        raise CompileError("unsupported construct: two elements share a canonical id")
    entries = _cells(section, py, ranges, fail)
    cells, code = {}, {}
    for name, items in entries.items():
        cells[name] = {}
        for j, (_, cell, *_) in enumerate(items):
            key = cell_key(name, cell)
            cells[name][cell] = key
            code[key] = f"{name}__{j}" if cell else name
    if len(set(code.values())) != len(code):
        raise CompileError("unsupported construct: element names that clash with subscripted cells")
    lookups = {cells[py[e.name]][cell]
               for e in section.elements for c, cell, *_ in entries[py[e.name]]
               if isinstance(c, AbstractLookup)}
    translate = Translator(cleanspace, lookups, cells, code, ranges)
    translate.macros = macros_of(model)
    root = Path(str(model.original_path)).parent
    loaded: dict = {}  # id(component) -> cell reader of its GET ... (read once per equation)

    def external(element, component, cell, kind):
        if id(component) not in loaded:
            try:
                loaded[id(component)] = load_external(
                    kind, component.ast, list(component.subscripts[0]), ranges, root,
                    getattr(component, "keyword", None))
            except (ExternalError, SubscriptError) as error:
                raise fail(element.name, f"GET {kind.upper()}: {error}") from None
        try:
            return loaded[id(component)](cell)
        except (ExternalError, KeyError, ValueError) as error:
            raise fail(element.name, f"GET {kind.upper()} cell {list(cell)}: {error}") from None

    for element in section.elements:
        for component, cell, binding, index, shape in entries[py[element.name]]:
            key = cells[py[element.name]][cell]
            if (component.type == "Data" or isinstance(component.ast, ae.DataStructure)) and \
                    not isinstance(component.ast, ae.GetDataStructure):
                raise fail(element.name, "data variable (:=) not read by GET DATA")
            if key in lookups:
                if isinstance(component.ast, ae.GetLookupsStructure):
                    xs, ys = external(element, component, cell, "lookup")
                    translate.tables[f"L_{code[key]}"] = (xs, ys, False)
                    continue
                if not isinstance(component.ast, ae.LookupsStructure):
                    raise fail(element.name, type(component.ast).__name__)
                translate.at(element.name, key, binding, index, shape)
                translate.table(component.ast, f"L_{code[key]}")

    elements, units, docs, limits = {}, {}, {}, {}
    data_elements: list = []
    for element in section.elements:
        name = py[element.name]
        for component, cell, binding, index, shape in entries[name]:
            key = cells[name][cell]
            units[key], docs[key] = element.units or "", element.documentation or ""
            limits[key] = _range(element.limits)
            if key in lookups:
                continue
            original = f"{element.name}[{', '.join(cell)}]" if cell else element.name
            translate.at(original, key, binding, index, shape)
            if isinstance(component.ast, ae.GetConstantsStructure):
                expr = _number(external(element, component, cell, "constant"), bare=True)
            elif isinstance(component.ast, ae.GetDataStructure):
                times, values, method = external(element, component, cell, "data")
                translate.tables[f"D_{code[key]}"] = (times, values)
                expr = Expr(f"_data(t, _X_D_{code[key]}, _Y_D_{code[key]}, {method!r})",
                            frozenset({TIME}))
                data_elements.append(original)
            else:
                expr = translate(component.ast)
            kind = ("control" if isinstance(element, AbstractControlElement) else
                    "constant" if expr.literal is not None else
                    "stock" if isinstance(component.ast, ae.IntegStructure) else "aux")
            elements[key] = Element(key, original, kind, expr)

    elements.update(translate.extra)
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
    time = _time_settings(elements, translate.tables, code)
    fixed = _fix_orders(translate, elements, code, time)
    if data_elements and not all(_dyadic(x) for x in (time.initial, time.dt)):
        # pysd matches data times exactly on its accumulated clock; only binary fractions
        # make that clock equal t0 + k*dt
        raise fail(data_elements[0], f"data variable with TIME STEP {time.dt:g} or INITIAL TIME "
                                     f"{time.initial:g} that is not a binary fraction")
    tables = {n: translate.tables[f"L_{code[n]}"][:2] for n in sorted(lookups)}
    plan = Plan(time, elements, translate.statefuls, translate.tables,
                (units, docs, limits, tables), (dyn_order, init_order), code)
    plan.groups = {name: {cell: key for cell, key in by_cell.items() if key in elements}
                   for name, by_cell in cells.items() if () not in by_cell}
    plan.fixed = fixed
    return plan


def _fix_orders(translate, elements: dict, code: dict, time) -> dict:
    """Evaluate SMOOTH N orders once at the initial time, as pysd does at initialisation.

    Returns element -> reason for the constants an order depends on: they cannot be
    overridden, since the number of stages is fixed in the compiled plan.
    """
    fixed = {}
    for index, order, construct in translate.orders:
        stateful = translate.statefuls[index]
        owner = elements[stateful.owner].original
        probe = {**elements, "_order": Element("_order", owner, "aux", order)}
        try:
            value = _evaluate("_order", probe, translate.tables, code, time)
        except CompileError:
            raise CompileError(f"{owner!r}: unsupported construct {construct} whose order depends "
                               "on a state") from None
        if value != int(value) or value < 1:
            raise CompileError(f"{owner!r}: unsupported construct {construct} of order {value:g}")
        stateful.order = int(value)
        stack = list(order.deps)
        while stack:
            dep = stack.pop()
            if dep in elements and dep not in fixed:
                fixed[dep] = f"the order of {construct} in {owner!r}"
                stack.extend(elements[dep].expr.deps)
    return fixed


def _dyadic(x: float) -> bool:
    """True when x is exactly k / 2**20 (sums of such steps are exact in floating point)."""
    return float(x * 2**20).is_integer()


def _time_settings(elements: dict, tables: dict, code: dict) -> TimeSettings:
    """The control section, evaluated once at initialisation (it may be any constant expression)."""
    control = {}
    for key in CONTROL:
        if key not in elements:
            raise CompileError(f"the model lacks the time setting {key.upper()}")
        control[key] = _evaluate(key, elements, tables, code)
    time = TimeSettings(control["initial_time"], control["final_time"],
                        control["time_step"], control["saveper"])
    if not all(math.isfinite(x) for x in control.values()):
        raise CompileError(f"time settings are not finite numbers: {control}")
    if not time.dt > 0 or not time.final >= time.initial or not time.saveper > 0:
        raise CompileError(f"invalid time settings {time}")
    if abs(time.saveper / time.dt - time.save_every) > 1e-9 * time.save_every:
        raise CompileError(f"SAVEPER {time.saveper:g} is not a multiple of TIME STEP {time.dt:g}")
    return time
