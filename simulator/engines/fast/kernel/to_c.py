"""Translate the plan's expression source (a small numpy subset) into a C expression for one run.

The IR's expressions are numpy source over whole batches (see :mod:`simulator.engines.fast.ir`);
this module reads the same source with :mod:`ast` and writes the scalar C expression that
computes one run's value with numpy's semantics (NaN-propagating min/max, truthy NaN in
``np.where``, Python's float modulo, ``np.interp``'s rules). Anything outside the subset raises
:class:`Unsupported`, and the caller falls back to the numpy backend.
"""

from __future__ import annotations

import ast
import math

__all__ = ["ARRAY", "SCALAR", "UFUNCS", "ZERO_D", "Unsupported", "c_literal", "shape", "to_c"]


class Unsupported(ValueError):
    """A construct the compiled backend does not translate (the numpy backend then runs)."""


def c_literal(value: float) -> str:
    """Exact C literal of a float64 (hexadecimal, so no decimal rounding is involved)."""
    value = float(value)
    if math.isnan(value):
        return "NAN"
    if math.isinf(value):
        return "INFINITY" if value > 0 else "(-INFINITY)"
    return f"({value.hex()})" if value < 0 else value.hex()


#: numpy ufuncs whose float64 loop the kernel calls (numpy's own SIMD code, so the bits are numpy's)
UFUNCS = ("power", "exp", "log", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh")
_U = {f"np.{name}": i for i, name in enumerate(UFUNCS)}

# numpy function -> C template over the translated arguments
_CALLS = {
    "np.abs": "fabs({0})", "np.sqrt": "sqrt({0})",
    "np.minimum": "k_min({0}, {1})", "np.maximum": "k_max({0}, {1})", "np.trunc": "trunc({0})",
    "np.where": "(({0}) != 0.0 ? ({1}) : ({2}))",
    "np.logical_not": "(({0}) == 0.0 ? 1.0 : 0.0)",
    "np.logical_and": "((({0}) != 0.0) && (({1}) != 0.0) ? 1.0 : 0.0)",
    "np.logical_or": "((({0}) != 0.0) || (({1}) != 0.0) ? 1.0 : 0.0)",
    "_xidz": "k_xidz({0}, {1}, {2})", "_zidz": "k_zidz({0}, {1})", "_modulo": "k_modulo({0}, {1})",
    "_quantum": "k_quantum({0}, {1})", "_step": "k_step({0}, {1}, {2}, {3})",
    "_ramp": "k_ramp({0}, {1}, {2}, {3})", "_pulse": "k_pulse({0}, {1}, {2})",
    "_pulse_train": "k_pulse_train({0}, {1}, {2}, {3}, {4})", "_f64": "({0})",
}
# What numpy hands back, which decides how ``a ** b`` is computed: SCALAR (a numpy or Python
# scalar: ``**`` is the C library's pow), ZERO_D (a 0-d array, as np.where returns) or ARRAY.
SCALAR, ZERO_D, ARRAY = 0, 1, 2
_WHERE_LIKE = {"np.where", "_xidz", "_zidz", "_quantum", "_pulse"}
_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_COMPARE = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_REDUCE = {"_vsum": "k_nanadd", "_vprod": "k_nanmul", "_vmin": "fmin", "_vmax": "fmax"}
_CONSTANTS = {"_nan": "NAN", "_inf": "INFINITY", "np.pi": c_literal(math.pi)}


def _dotted(node) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    raise Unsupported(f"call of {ast.dump(node)[:60]}")


def scalar_ufunc(index: int, args: list, strides: list) -> str:
    """One call of numpy's loop ``UFUNCS[index]`` on one element."""
    if len(args) == 1:
        return f"k_u1({index}, {args[0]})"
    return f"k_u2({index}, {args[0]}, {args[1]}, {strides[0]}, {strides[1]})"


class _Writer:
    def __init__(self, ref, table, shape_of, ufunc=scalar_ufunc):
        self.ref, self.table, self.shape_of, self.ufunc = ref, table, shape_of, ufunc

    def __call__(self, node) -> str:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise Unsupported(f"expression node {type(node).__name__}")
        return method(node)

    def _Expression(self, node):
        return self(node.body)

    def _Constant(self, node):
        if isinstance(node.value, bool):
            return "1.0" if node.value else "0.0"
        if isinstance(node.value, (int, float)):
            return c_literal(node.value)
        raise Unsupported(f"constant {node.value!r}")

    def _Name(self, node):
        return _CONSTANTS.get(node.id) or self.ref(node.id)

    def _Attribute(self, node):
        name = _dotted(node)
        return _CONSTANTS.get(name) or self.ref(name)

    def _UnaryOp(self, node):
        if isinstance(node.op, ast.USub):
            return f"(-{self(node.operand)})"
        if isinstance(node.op, ast.Not):
            return f"(({self(node.operand)}) == 0.0 ? 1.0 : 0.0)"
        raise Unsupported(f"unary {type(node.op).__name__}")

    def shape(self, node) -> int:
        """SCALAR, ZERO_D or ARRAY: what numpy's evaluation of ``node`` yields."""
        if isinstance(node, ast.Constant):
            return SCALAR
        if isinstance(node, (ast.Name, ast.Attribute)):
            return self.shape_of(_dotted(node))
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name in ("_full", "_last_stage", "_delay_order") or name.startswith("_path_"):
                return self.shape_of(name + "()") if name.startswith("_path_") else ARRAY
            if name == "_f64":
                return SCALAR
            if name == "np.ndim" or name.endswith(".copy"):
                return SCALAR if name == "np.ndim" else self.shape(node.func.value)
            args = [self.shape(a) for a in node.args]
            if ARRAY in args:
                return ARRAY
            return ZERO_D if name in _WHERE_LIKE or (name == "_lookup" and len(node.args) > 3) else SCALAR
        children = [self.shape(c) for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr)]
        return ARRAY if ARRAY in children else SCALAR

    def _BinOp(self, node):
        left, right = self(node.left), self(node.right)
        if isinstance(node.op, ast.Pow):
            if self.shape(node.left) == SCALAR and self.shape(node.right) == SCALAR:
                return f"pow({left}, {right})"  # numpy scalars: npy_pow, the C library's
            return self.power(node.left, node.right, left, right)
        op = _BINARY.get(type(node.op))
        if op is None:
            raise Unsupported(f"operator {type(node.op).__name__}")
        return f"({left} {op} {right})"

    def power(self, base, exponent, left: str, right: str) -> str:
        """numpy's power loop, with numpy's strides (0 for an operand that is not an array)."""
        strides = ["8L" if self.shape(x) == ARRAY else "0L" for x in (base, exponent)]
        return self.ufunc(_U["np.power"], [left, right], strides)

    def _Compare(self, node):
        if len(node.ops) != 1 or type(node.ops[0]) not in _COMPARE:
            raise Unsupported("chained comparison")
        return f"(({self(node.left)}) {_COMPARE[type(node.ops[0])]} ({self(node.comparators[0])}) ? 1.0 : 0.0)"

    def _BoolOp(self, node):
        op = "&&" if isinstance(node.op, ast.And) else "||"
        return "((" + f") != 0.0 {op} (".join(self(v) for v in node.values) + ") != 0.0 ? 1.0 : 0.0)"

    def _IfExp(self, node):
        return f"(({self(node.test)}) != 0.0 ? ({self(node.body)}) : ({self(node.orelse)}))"

    def _Call(self, node):
        name = _dotted(node.func)
        if node.keywords:
            raise Unsupported(f"keywords in {name}")
        if name in ("np.interp", "_lookup"):
            return self._lookup(name, node.args)
        if name == "_last_stage":
            orders, stages = node.args
            if not isinstance(stages, ast.Tuple):
                raise Unsupported("_last_stage without a tuple")
            out = "NAN"
            for i, stage in reversed(list(enumerate(stages.elts))):
                out = f"(({self(orders)}) == {i + 1}.0 ? ({self(stage)}) : {out})"
            return out
        if name == "_delay_order":
            order, delay, dt = node.args
            return f"k_delay_order({self(order)}, {self(delay)}, {self(dt)})"
        if name == "np.ndim":
            return "0.0"  # every value of the compiled kernel is one run's scalar
        if name == "_full":
            return self(node.args[1])
        if name in _REDUCE:
            terms = [self(a) for a in node.args]
            out = terms[0] if name in ("_vmin", "_vmax") else f"{_REDUCE[name]}({_unit(name)}, {terms[0]})"
            for term in terms[1:]:
                out = f"{_REDUCE[name]}({out}, {term})"
            return out
        if name.startswith("_path_"):
            return self.ref(name + "()")
        if name.endswith(".copy"):
            return self(node.func.value)
        if name == "np.power":
            return self.power(*node.args, *(self(a) for a in node.args))
        if name in _U:
            return self.ufunc(_U[name], [self(a) for a in node.args], ["8L"])
        template = _CALLS.get(name)
        if template is None:
            raise Unsupported(f"function {name}")
        return template.format(*(self(a) for a in node.args))

    def _lookup(self, name, args):
        x, xs, ys = args[:3]
        if not (isinstance(xs, ast.Name) and xs.id.startswith("_X_")):
            raise Unsupported("lookup of a computed table")
        table = xs.id[3:]
        extrapolate = name == "_lookup" and len(args) > 3
        return self.table(table, self(x), extrapolate)


def _unit(name: str) -> str:
    return "0.0" if name == "_vsum" else "1.0"


def to_c(src: str, ref, table, shape_of=lambda name: ARRAY, ufunc=scalar_ufunc) -> str:
    """C expression of one numpy-source expression.

    Parameters
    ----------
    src : str
        Numpy source as written by the translator or a stateful kind's template.
    ref : callable
        ``ref(name) -> str``: the C expression reading a name of the source in the current
        context (``_path_x()`` for a time path).
    table : callable
        ``table(key, x, extrapolate) -> str``: C expression of a lookup of table ``key`` at ``x``.
    shape_of : callable
        ``shape_of(name) -> SCALAR | ZERO_D | ARRAY``: what numpy holds under a name.
    ufunc : callable
        ``ufunc(index, args, strides) -> str``: a call of numpy's loop ``UFUNCS[index]`` (the code
        generator may hoist it out of the expression to call it on a whole block of runs).
    """
    try:
        tree = ast.parse(src.strip(), mode="eval")
    except SyntaxError as error:
        raise Unsupported(f"unparsable source {src[:60]!r}") from error
    return _Writer(ref, table, shape_of, ufunc)(tree)


def statement(line: str) -> tuple[str, str]:
    """Split a template statement ``name = expression`` into (name, expression source)."""
    tree = ast.parse(line.strip())
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Assign) or len(tree.body[0].targets) != 1 \
            or not isinstance(tree.body[0].targets[0], ast.Name):
        raise Unsupported(f"template statement {line.strip()[:60]!r}")
    node = tree.body[0]
    return node.targets[0].id, ast.unparse(node.value)


def shape(src: str, shape_of) -> int:
    """What numpy's evaluation of ``src`` yields (SCALAR, ZERO_D or ARRAY), names looked up by ``shape_of``."""
    return _Writer(None, None, shape_of).shape(ast.parse(src.strip(), mode="eval").body)
