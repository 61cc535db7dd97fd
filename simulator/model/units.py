"""Dimensional-consistency check over pysd's abstract syntax tree (Vensim checks units; pysd does not).

Rules
-----
- Both sides of ``+``, ``-``, comparisons, MIN/MAX and the branches of IF THEN ELSE agree.
- A stock's net flow has the stock's units per Year; its initial value has the stock's units.
- Every equation's units equal the element's declared units (a lookup's output: its declared units).
- A number written in an equation is dimensionless in ``*``, ``/`` and ``^`` and takes the units
  of the other side in ``+``, ``-`` and comparisons (Vensim's convention for unit-less literals).
- The base of a power with a non-literal exponent, and the argument of EXP/LN/LOG, must be dimensionless.
"""

from __future__ import annotations

import re
from fractions import Fraction

from simulator.model.mdl import Model

Units = dict  # base unit -> Fraction exponent; {} is dimensionless
WILD = None  # a literal number: adopts the units it is combined with
DIMENSIONLESS = {"dmnl", "dimensionless", "1", "%", "percent", ""}


class UnitSyntaxError(ValueError):
    """A units string that cannot be parsed."""


def parse_units(text: str) -> Units:
    """Parse a Vensim units string such as ``"CNY/(Person*Year)"`` into base exponents."""
    tokens = re.findall(r"[A-Za-z_][A-Za-z0-9_$]*|\d+(?:\.\d+)?|[*/()^-]", text.replace(" ", ""))
    if "".join(tokens) != text.replace(" ", ""):
        raise UnitSyntaxError(f"cannot parse units '{text}'")
    pos = 0

    def factor() -> Units:
        nonlocal pos
        if pos >= len(tokens):
            raise UnitSyntaxError(f"units '{text}' end unexpectedly")
        tok = tokens[pos]
        pos += 1
        if tok == "(":
            inner = product()
            if pos >= len(tokens) or tokens[pos] != ")":
                raise UnitSyntaxError(f"unbalanced parentheses in units '{text}'")
            pos += 1
            base = inner
        elif tok.lower() in DIMENSIONLESS or re.fullmatch(r"\d+(?:\.\d+)?", tok):
            base = {}
        else:
            base = {tok: Fraction(1)}
        if pos < len(tokens) and tokens[pos] == "^":
            pos += 1
            sign = -1 if tokens[pos] == "-" else 1
            pos += 1 if sign < 0 else 0
            power = Fraction(tokens[pos]) * sign
            pos += 1
            base = {k: v * power for k, v in base.items()}
        return base

    def product() -> Units:
        nonlocal pos
        result = factor()
        while pos < len(tokens) and tokens[pos] in "*/":
            op = tokens[pos]
            pos += 1
            result = combine(result, factor(), 1 if op == "*" else -1)
        return result

    if not tokens:
        return {}
    units = product()
    if pos != len(tokens):
        raise UnitSyntaxError(f"unexpected '{tokens[pos]}' in units '{text}'")
    return units


def combine(a: Units, b: Units, sign: int) -> Units:
    """a * b (sign = 1) or a / b (sign = -1)."""
    out = dict(a)
    for key, power in b.items():
        out[key] = out.get(key, Fraction(0)) + sign * power
        if out[key] == 0:
            del out[key]
    return out


def show(units: Units | None) -> str:
    """Readable form of parsed units."""
    if units is WILD:
        return "(number)"
    if not units:
        return "Dmnl"
    up = [k if v == 1 else f"{k}^{v}" for k, v in sorted(units.items()) if v > 0]
    down = [k if v == -1 else f"{k}^{-v}" for k, v in sorted(units.items()) if v < 0]
    text = "*".join(up) or "1"
    return f"{text}/({'*'.join(down)})" if len(down) > 1 else (f"{text}/{down[0]}" if down else text)


class _Checker:
    def __init__(self, model: Model) -> None:
        self.model = model
        self.declared: dict[str, Units] = {}
        self.problems: list[str] = []
        for eid, el in model.elements.items():
            try:
                self.declared[eid] = parse_units(el.units)
            except UnitSyntaxError as exc:
                self.problems.append(f"{el.name}: {exc}")
        self.declared["time"] = {"Year": Fraction(1)}
        self.current = ""

    def fail(self, message: str) -> None:
        self.problems.append(f"{self.current}: {message}")

    def same(self, a, b, what: str):
        if a is WILD:
            return b
        if b is WILD or a == b:
            return a
        self.fail(f"{what}: {show(a)} vs {show(b)}")
        return a

    def infer(self, node):  # noqa: C901 - one branch per construct reads best here
        from pysd.translators.structures import abstract_expressions as ae

        if isinstance(node, bool):
            return {}
        if isinstance(node, (int, float)) or type(node).__module__ == "numpy":
            return WILD
        if isinstance(node, ae.ReferenceStructure):
            if node.reference in self.declared:
                return self.declared[node.reference]
            self.fail(f"reference to unknown '{node.reference}'")
            return WILD
        if isinstance(node, ae.ArithmeticStructure):
            return self.arithmetic(node)
        if isinstance(node, ae.LogicStructure):
            args = [self.infer(a) for a in node.arguments]
            if node.operators and node.operators[0] in ("=", "<>", "<", ">", "<=", ">="):
                self.same(args[0], args[1], f"comparison '{node.operators[0]}'")
            return {}
        if isinstance(node, ae.CallStructure):
            return self.call(node.function.reference, [self.infer(a) for a in node.arguments])
        if isinstance(node, ae.IntegStructure):
            return self.integ(node)
        if isinstance(node, ae.InlineLookupsStructure):
            self.infer(node.argument)
            return WILD  # the lookup's output carries the element's declared units
        if isinstance(node, (ae.DelayFixedStructure, ae.DelayStructure, ae.DelayNStructure)):
            value = self.infer(node.input)
            self.same(self.infer(node.delay_time), {"Year": Fraction(1)}, "delay time")
            return self.same(value, self.infer(node.initial), "delay initial value")
        if isinstance(node, (ae.SmoothStructure, ae.SmoothNStructure)):
            value = self.infer(node.input)
            self.same(self.infer(node.smooth_time), {"Year": Fraction(1)}, "smooth time")
            return self.same(value, self.infer(node.initial), "smooth initial value")
        if isinstance(node, ae.InitialStructure):
            return self.infer(node.initial)
        self.fail(f"units of {type(node).__name__} not checked")
        return WILD

    def arithmetic(self, node):
        ops, args = list(node.operators), list(node.arguments)
        if len(ops) == 1 and len(args) == 1:  # unary minus / plus
            return self.infer(args[0])
        result = self.infer(args[0])
        for op, arg in zip(ops, args[1:], strict=True):
            right = self.infer(arg)
            if op in ("+", "-"):
                result = self.same(result, right, f"'{op}' of different units")
            elif op in ("*", "/"):
                result = combine(result or {}, right or {}, 1 if op == "*" else -1)
            elif op == "^":
                if isinstance(arg, (int, float)) and not isinstance(arg, bool):
                    result = {k: v * Fraction(arg).limit_denominator(1000) for k, v in (result or {}).items()}
                else:
                    if result not in (WILD, {}):
                        self.fail(f"power of a quantity with units {show(result)} by a variable exponent")
                    if right not in (WILD, {}):
                        self.fail(f"exponent with units {show(right)}")
                    result = {}
            else:
                self.fail(f"operator '{op}' not checked")
        return result

    def call(self, name: str, args: list):
        if name in ("min", "max", "abs", "integer", "modulo"):
            result = args[0]
            for other in args[1:]:
                result = self.same(result, other, f"{name.upper()} arguments")
            return result
        if name in ("exp", "ln", "log"):
            if args[0] not in (WILD, {}):
                self.fail(f"{name.upper()} of a quantity with units {show(args[0])}")
            return {}
        if name == "sqrt":
            return WILD if args[0] is WILD else {k: v / 2 for k, v in args[0].items()}
        if name in ("xidz", "zidz"):
            return combine(args[0] or {}, args[1] or {}, -1)
        if name == "if_then_else":
            return self.same(args[1], args[2], "IF THEN ELSE branches")
        if name == "step":
            return args[0]
        if name in ("pulse", "pulse_train"):
            return {}
        if name == "ramp":
            return combine(args[0] or {}, {"Year": Fraction(1)}, 1)
        self.fail(f"units of function {name.upper()} not checked")
        return WILD

    def integ(self, node):
        stock = self.declared.get(self.current_id, {})
        per_year = combine(stock, {"Year": Fraction(1)}, -1)
        flow = self.infer(node.flow)
        if flow is not WILD and flow != per_year:
            self.fail(f"net flow has units {show(flow)}, expected {show(per_year)}")
        initial = self.infer(node.initial)
        if initial is not WILD and initial != stock:
            self.fail(f"initial value has units {show(initial)}, expected {show(stock)}")
        return stock

    def run(self) -> list[str]:
        for eid, el in self.model.elements.items():
            if eid not in self.declared:
                continue
            self.current, self.current_id = el.name, eid
            inferred = self.infer(el.ast)
            if inferred is not WILD and inferred != self.declared[eid]:
                self.fail(f"equation has units {show(inferred)}, declared {show(self.declared[eid])}")
        return self.problems


def check_units(model: Model) -> list[str]:
    """Return one line per units problem in ``model`` (an empty list when consistent)."""
    return _Checker(model).run()
