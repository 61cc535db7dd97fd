"""Translate one pysd AST into a numpy :class:`~simulator.engines.fast.ir.Expr`, cell by cell.

The translator walks pysd's abstract expressions (arithmetic, logic, calls, lookups and
stateful builtins) and writes numpy source over whole batches of runs; stateful builtins
become :class:`~simulator.engines.fast.ir.Stateful` entries. For a subscripted equation it
is called once per cell, with the cell's binding of the left-hand-side subscripts, and
resolves every subscripted reference to the one cell it reads (see :mod:`subscripts`).
Anything it cannot compute exactly as PySD does raises :class:`CompileError` by name.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "chardet", DeprecationWarning)
    from pysd.translators.structures import abstract_expressions as ae

from simulator.engines.fast.ir import TIME, CompileError, Expr, Stateful
from simulator.engines.fast.subscripts import SubscriptError, norm

__all__ = ["CompileError", "Translator"]

_COMPARISONS = {"=": "==", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


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
    ae.DelayNStructure: "DELAY N", ae.AllocateAvailableStructure: "ALLOCATE AVAILABLE",
    ae.AllocateByPriorityStructure: "ALLOCATE BY PRIORITY", ae.DataStructure: "data (:=)",
    ae.GetLookupsStructure: "GET LOOKUPS", ae.GetDataStructure: "GET DATA",
    ae.GetConstantsStructure: "GET CONSTANTS", ae.SubscriptsReferenceStructure: "subscripts",
}


_VECTOR = {"vector_sort_order": "_sort_order", "vector_rank": "_rank",
           "vector_reorder": "_reorder"}
_AGGREGATIONS = {"sum": "_vsum", "prod": "_vprod", "vmin": "_vmin", "vmax": "_vmax"}


class Translator:
    """Turns PySD AST nodes into :class:`Expr`, collecting statefuls and lookup tables.

    Parameters
    ----------
    cleanspace : dict
        PySD's cleaned names -> Python names.
    lookup_names : set
        Keys (cells) of the lookup tables.
    cells : dict
        Python name -> {cell tuple: key}; ``{(): name}`` for an unsubscripted element.
    code : dict
        Key -> identifier used in the generated code.
    ranges : simulator.engines.fast.subscripts.Ranges
    """

    def __init__(self, cleanspace: dict, lookup_names: set, cells: dict, code: dict, ranges):
        self.cleanspace = cleanspace
        self.lookup_names = lookup_names
        self.cells, self.code, self.ranges = cells, code, ranges
        self.statefuls: list[Stateful] = []
        self.tables: dict[str, tuple] = {}
        self.element = ""  # original name of the element being compiled, for messages
        self.owner = ""
        self.binding: list = []  # (left-hand-side subscript, element) of the current cell
        self.bang: dict = {}  # range -> element, inside an aggregation over ``range!``
        self.array_index: tuple | None = None  # position of the cell in an array constant
        self.array_shape: tuple | None = None
        self.macros: dict = {}  # cleaned macro name -> macros.Macro
        self.scopes: list = []  # inside a macro call: cleaned name -> Expr (params, locals)
        self.extra: dict = {}  # elements added by macro calls
        self.orders: list = []  # (stateful index, order Expr, construct) fixed at load time
        self.calls = 0

    def save(self) -> tuple:
        return (self.element, self.owner, self.binding, self.bang, self.array_index,
                self.array_shape)

    def restore(self, saved: tuple) -> None:
        (self.element, self.owner, self.binding, self.bang, self.array_index,
         self.array_shape) = saved

    def at(self, element: str, owner: str, binding=(), index=None, shape=None):
        """Set the cell about to be translated (for messages, statefuls, references)."""
        self.element, self.owner, self.binding = element, owner, list(binding)
        self.array_index, self.array_shape, self.bang = index, shape, {}

    def key_of(self, name: str, subscripts) -> str:
        """The cell key a (possibly subscripted) reference to ``name`` reads."""
        cells = self.cells[name]
        if subscripts is None:
            if () not in cells:
                raise self.fail(f"subscripted variable {name!r} used without subscripts")
            return cells[()]
        if () in cells:
            raise self.fail(f"subscripts on the unsubscripted variable {name!r}")
        try:
            chosen = []
            for sub in subscripts.subscripts:
                found = self.ranges.resolve(sub, self.binding, self.bang)
                if len(found) != 1:
                    raise SubscriptError(f"{sub!r} outside an aggregation (SUM, PROD, VMIN, VMAX)")
                chosen.append(found[0])
        except SubscriptError as error:
            raise self.fail(str(error)) from None
        key = cells.get(tuple(chosen))
        if key is None:
            raise self.fail(f"{name}[{','.join(chosen)}] is not defined")
        return key

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
        if isinstance(ast, np.ndarray):
            if self.array_index is None or ast.size != math.prod(self.array_shape):
                raise self.fail("an array of values that does not match its subscripts")
            return _number(ast.reshape(self.array_shape)[self.array_index], bare=True)
        if isinstance(ast, (bool, np.bool_)):
            raise self.fail("boolean literal")
        if isinstance(ast, (int, float, np.integer, np.floating)):
            return _number(ast, bare=True)
        handler = getattr(self, "_" + type(ast).__name__, None)
        if handler is None:
            raise self.fail(_UNSUPPORTED.get(type(ast), type(ast).__name__))
        return handler(ast)

    def _ReferenceStructure(self, ast) -> Expr:
        if self.scopes:  # inside a macro: only its parameters, its own elements and Time
            found = self.scopes[-1].get(ast.reference)
            if found is not None and ast.subscripts is None:
                return found
            if ast.reference != "time":
                raise self.fail(f"reference {ast.reference!r} that is not a macro parameter "
                                "or element")
        name = self.cleanspace.get(ast.reference)
        if name is None and ast.subscripts is None and self.ranges.knows(ast.reference):
            try:  # a subscript used as a number: its position in its main range
                return _number(self.ranges.value(ast.reference, self.binding, self.bang))
            except SubscriptError as error:
                raise self.fail(str(error)) from None
        if name is None:
            raise CompileError(f"{self.element!r}: unknown variable {ast.reference!r}")
        if name == TIME:
            if ast.subscripts is not None:
                raise self.fail("subscripted Time")
            return Expr("t", frozenset({TIME}))
        if name not in self.cells:
            raise CompileError(f"{self.element!r}: {name!r} has no value (a lookup or data)")
        key = self.key_of(name, ast.subscripts)
        if key in self.lookup_names:
            raise CompileError(f"{self.element!r}: lookup {name!r} used without an argument")
        return Expr(f"v_{self.code[key]}", frozenset({key}))

    def _along_last(self, ast, count: int = 1) -> tuple[list, tuple]:
        """A reference's values over its last ``count`` subscripts (C order), and this cell's
        position on each of them."""
        if not isinstance(ast, ae.ReferenceStructure) or ast.subscripts is None or \
                len(ast.subscripts.subscripts) < count:
            raise self.fail("a vector function of something other than a subscripted variable")
        subs = list(ast.subscripts.subscripts)
        lasts = subs[-count:]
        if len({norm(s) for s in lasts}) != count:
            raise self.fail(f"a vector function over the repeated subscripts {lasts}")
        try:
            mine = [self.ranges.resolve(s, self.binding, self.bang) for s in lasts]
            axes = [self.ranges.of(s) for s in lasts]
            position = tuple(axis.index(m) for axis, (m,) in zip(axes, mine, strict=True))
        except (SubscriptError, ValueError) as error:
            raise self.fail(f"vector function over {lasts}: {error}") from None
        iterated = ae.ReferenceStructure(ast.reference, ae.SubscriptsReferenceStructure(
            subs[:-count] + [s + "!" for s in lasts]))
        saved, values = dict(self.bang), []
        for combination in itertools.product(*axes):
            self.bang = {**saved, **{norm(s): e for s, e in zip(lasts, combination, strict=True)}}
            values.append(self(iterated))
        self.bang = saved
        return values, position

    def _invert_matrix(self, args) -> Expr:
        """INVERT MATRIX over the last two subscripts: pysd's ``np.linalg.inv``."""
        values, (i, j) = self._along_last(args[0], 2)
        size = math.isqrt(len(values))
        if size * size != len(values):
            raise self.fail("INVERT MATRIX of a matrix that is not square")
        return Expr(f"_invert({i}, {j}, {size}, {', '.join(_num(v) for v in values)})",
                    _join(*values))

    def _vector(self, function: str, args) -> Expr:
        """VECTOR SORT ORDER / RANK / REORDER along the last subscript (pysd's functions)."""
        if len(args) != 2:
            raise self.fail(f"{function.upper()} with {len(args)} arguments")
        values, (position,) = self._along_last(args[0])
        second = self(args[1])
        if function != "vector_reorder" and second.literal is None:
            name = function.upper().replace("_", " ")
            raise self.fail(f"{name} with a direction that is not a number")
        src = f"{_VECTOR[function]}({position}, {_num(second)}, {', '.join(_num(v) for v in values)})"
        return Expr(src, _join(second, *values))

    def _aggregate(self, function: str, args) -> Expr:
        if len(args) != 1:
            raise self.fail(f"{function.upper()} with {len(args)} arguments")
        bangs = []
        for sub in _bang_subscripts(args[0]):
            if sub not in bangs and norm(sub[:-1]) not in self.bang:
                bangs.append(sub)
        if not bangs:
            raise self.fail(f"{function.upper()} without a ``dim!`` subscript")
        saved = dict(self.bang)
        parts = []
        try:
            axes = [self.ranges.of(sub[:-1]) for sub in bangs]
        except SubscriptError as error:
            raise self.fail(str(error)) from None
        for combination in itertools.product(*axes):
            self.bang = dict(saved)
            for sub, element in zip(bangs, combination, strict=True):
                self.bang[norm(sub[:-1])] = element
            parts.append(self(args[0]))
        self.bang = saved
        src = f"{_AGGREGATIONS[function]}({', '.join(_num(p) for p in parts)})"
        return Expr(src, _join(*parts))

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
        if function in self.macros and ast.function.subscripts is None:
            from simulator.engines.fast.macros import expand

            return expand(self, self.macros[function], ast.arguments)
        target = self.cleanspace.get(function)
        if target in self.cells:
            target = self.key_of(target, ast.function.subscripts)
        elif ast.function.subscripts is not None:
            raise self.fail(f"subscripted function {function!r}")
        if function in _AGGREGATIONS and target not in self.lookup_names:
            return self._aggregate(function, ast.arguments)
        if function in _VECTOR:
            return self._vector(function, ast.arguments)
        if function == "invert_matrix" and ast.arguments:
            return self._invert_matrix(ast.arguments)
        if function == "elmcount" and len(ast.arguments) == 1 and isinstance(
                ast.arguments[0], ae.ReferenceStructure) and self.ranges.is_range(
                ast.arguments[0].reference):
            return _number(len(self.ranges.of(ast.arguments[0].reference)))
        if target not in self.lookup_names and function not in _FUNCTIONS \
                and function != "if_then_else":
            raise self.fail(f"function {function.upper().replace('_', ' ')}")
        args = [self(a) for a in ast.arguments]
        if target in self.lookup_names:
            if len(args) != 1:
                raise CompileError(f"{self.element!r}: lookup {target!r} takes one argument")
            return self.call_table(f"L_{self.code[target]}", args[0])
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

    def _SubscriptsReferenceStructure(self, ast) -> Expr:
        raise self.fail(f"subscripts {list(ast.subscripts)} as a value")

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
        order = self(ast.order)
        if order.literal is None:  # fixed once the model's constants are known (see translate)
            self.orders.append((len(self.statefuls), order, "SMOOTH N"))
        elif order.literal != int(order.literal) or order.literal < 1:
            raise self.fail("SMOOTH N with an order that is not a positive integer")
        return self._stateful("smooth", int(order.literal or 1), input=ast.input,
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

    def _SampleIfTrueStructure(self, ast) -> Expr:
        return self._stateful("sample_if_true", condition=ast.condition, input=ast.input,
                              initial=ast.initial)

    def _ForecastStructure(self, ast) -> Expr:
        return self._stateful("forecast", input=ast.input, average_time=ast.average_time,
                              horizon=ast.horizon, initial_trend=ast.initial_trend)

    def _InitialStructure(self, ast) -> Expr:
        return self._stateful("initial", initial=ast.initial)




def _bang_subscripts(ast) -> list:
    """``dim!`` subscripts referenced anywhere inside ``ast``, in order of appearance."""
    found = []
    if isinstance(ast, ae.ReferenceStructure):
        if ast.subscripts is not None:
            found.extend(s for s in ast.subscripts.subscripts if s.endswith("!"))
        return found
    if isinstance(ast, (list, tuple)):
        for item in ast:
            found.extend(_bang_subscripts(item))
        return found
    if isinstance(ast, ae.AbstractSyntax):
        for value in vars(ast).values():
            found.extend(_bang_subscripts(value))
    return found
