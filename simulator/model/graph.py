"""The model's dependency graph (who refers to whom), read from pysd's abstract syntax tree."""

from __future__ import annotations

from simulator.model.mdl import Model


def references(ast) -> set[str]:
    """Ids of every element an equation refers to (``time`` included)."""
    from pysd.translators.structures import abstract_expressions as ae

    found: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, ae.ReferenceStructure):
            found.add(node.reference)
        if isinstance(node, (list, tuple)):
            for item in node:
                walk(item)
        elif hasattr(node, "__dict__"):
            for value in vars(node).values():
                walk(value)

    walk(ast)
    return found


def dependencies(model: Model) -> dict[str, set[str]]:
    """id -> ids its equation refers to (only model elements; builtin names dropped)."""
    return {eid: references(el.ast) & set(model.elements) for eid, el in model.elements.items()}


def missing_links(model: Model, chain: list[str]) -> list[tuple[str, str]]:
    """Links ``a -> b`` of a closed loop ``chain`` whose equation of b does not refer to a."""
    deps = dependencies(model)
    closed = [*chain, chain[0]]
    return [(a, b) for a, b in zip(closed, closed[1:], strict=False) if a not in deps.get(b, set())]
