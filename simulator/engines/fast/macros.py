"""Vensim macros, inlined: every call of a macro gets its own copy of the macro's equations.

PySD runs each call as a separate macro model; here the call's copy becomes ordinary hidden
elements of the plan (``_macro<k>.<id>``), its parameters are the call's argument
expressions and its value is the macro's own-named element. Macros with extra outputs
(``:MACRO: NAME(in : out)``) or subscripted equations are refused by name.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "chardet", DeprecationWarning)
    from pysd.builders.python.namespace import NamespaceManager

from simulator.engines.fast.ir import Element, Expr
from simulator.model.naming import canonical_id

__all__ = ["HIDDEN", "Macro", "macros_of"]

HIDDEN = "_macro"  # prefix of the elements a macro call adds (not model results)


@dataclass
class Macro:
    """One macro definition: its parameters, its equations and pysd's names inside it."""

    name: str
    params: list
    section: object
    local: dict  # pysd's cleaned name inside the macro -> original name

    @property
    def result(self) -> str:
        """The element that holds the macro's value (named as the macro)."""
        return self.name


def macros_of(model) -> dict:
    """Cleaned macro name (as pysd writes a call) -> :class:`Macro`."""
    out = {}
    for section in model.sections:
        if section.type != "macro":
            continue
        space = NamespaceManager(list(section.params))
        for element in section.elements:
            space.add_to_namespace(element.name)
        python = {py: name for name, py in space.namespace.items()}
        local = {clean: python.get(py, py) for clean, py in space.cleanspace.items()}
        out[canonical_id(section.name)] = Macro(section.name, list(section.params), section, local)
    return out


def expand(translator, macro: Macro, arguments) -> Expr:
    """Inline one call of ``macro`` inside ``translator``'s current element; return its value."""
    section = macro.section
    if section.returns:
        raise translator.fail(f"macro {macro.name!r} with extra outputs {list(section.returns)}")
    if len(arguments) != len(macro.params):
        raise translator.fail(f"macro {macro.name!r} called with {len(arguments)} arguments, "
                              f"defined with {len(macro.params)}")
    args = [translator(a) for a in arguments]
    translator.calls += 1
    prefix = f"{HIDDEN}{translator.calls}"
    keys = {}
    for element in section.elements:
        if len(element.components) != 1 or element.components[0].subscripts[0]:
            raise translator.fail(f"subscripted equation {element.name!r} inside macro {macro.name!r}")
        key = f"{prefix}.{canonical_id(element.name)}"
        keys[element.name] = key
        translator.code[key] = f"{prefix}_{canonical_id(element.name)}"
    scope = {}
    for clean, original in macro.local.items():
        if original in macro.params:
            scope[clean] = args[macro.params.index(original)]
        elif original in keys:
            scope[clean] = Expr(f"v_{translator.code[keys[original]]}", frozenset({keys[original]}))
    saved = translator.save()
    try:
        translator.scopes.append(scope)
        for element in section.elements:
            key = keys[element.name]
            translator.at(f"{element.name} (in macro {macro.name!r}, called from "
                          f"{saved[0]!r})", key)
            expr = translator(element.components[0].ast)
            translator.extra[key] = Element(key, f"{macro.name}.{element.name}", "aux", expr)
    finally:
        translator.scopes.pop()
        translator.restore(saved)
    result = keys.get(macro.result) or next(
        (k for name, k in keys.items() if canonical_id(name) == canonical_id(macro.result)), None)
    if result is None:
        raise translator.fail(f"macro {macro.name!r} defines no element named as itself")
    return Expr(f"v_{translator.code[result]}", frozenset({result}))
