"""Adapters for the Model tab: equation text and sector of each element, the named loops, stock flows.

Equation text and sector (Vensim group) come from the model as parsed once (:class:`simulator.model.Element`);
the named loops are read from ``models/loops.toml`` for display.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

import simulator as api
from simulator.model.graph import dependencies

LOOPS_PATH = api.Project.default().loops_path


def equations(model) -> dict[str, tuple[str, str]]:
    """Element id -> (right-hand side as written in the .mdl, sector group such as "Population")."""
    return {k: (e.equation, e.group) for k, e in model.elements.items()}


@lru_cache(maxsize=4)
def _loops(path: str, mtime: int) -> list[dict]:
    return tomllib.loads(Path(path).read_text(encoding="utf-8")).get("loop", [])


def loops() -> list[dict]:
    """The named feedback loops: id, name_zh, name_en, polarity, variables (in causal order)."""
    return _loops(str(LOOPS_PATH), LOOPS_PATH.stat().st_mtime_ns) if LOOPS_PATH.is_file() else []


def loop_edges(loop: dict) -> list[tuple[str, str]]:
    chain = loop["variables"]
    return list(zip(chain, [*chain[1:], chain[0]], strict=True))


def display_name(model, labels, eid: str, lang: str) -> str:
    """The labels' name of an element, else its name as written in the .mdl (nicer than the id)."""
    if eid in labels.names:
        return labels.name(eid, lang)
    return model.elements[eid].name if eid in model.elements else eid


def flows(model) -> dict[str, list[tuple[str, str]]]:
    """Stock id -> [(auxiliary, "+" or "-")] of the rates added or subtracted in its INTEG."""
    from pysd.translators.structures import abstract_expressions as ae

    out = {}
    for eid, element in model.elements.items():
        if element.kind != "stock":
            continue
        rate = element.ast.flow
        terms: list[tuple[object, str]] = []
        if isinstance(rate, ae.ReferenceStructure):
            terms = [(rate, "+")]
        elif isinstance(rate, ae.ArithmeticStructure) and set(rate.operators) <= {"+", "-"}:
            terms = list(zip(rate.arguments, ["+", *rate.operators], strict=True))
        out[eid] = [
            (t.reference, sign)
            for t, sign in terms
            if isinstance(t, ae.ReferenceStructure)
            and t.reference in model.elements
            and model.elements[t.reference].kind == "auxiliary"
        ]
    return out


@lru_cache(maxsize=4)
def _deps(path: str, sha256: str, model) -> dict[str, set[str]]:
    return dependencies(model)


def deps(model) -> dict[str, set[str]]:
    """Element id -> ids its equation refers to (cached per model file)."""
    return _deps(str(model.path), model.sha256, model)


def influences(model, start: str, stop: set[str], limit: int = 8) -> set[str]:
    """Elements in ``stop`` that ``start`` depends on through auxiliaries only (not through ``stop``)."""
    graph = deps(model)
    found, seen, frontier = set(), {start}, [start]
    for _ in range(limit):
        nxt = []
        for node in frontier:
            for cause in graph.get(node, ()):
                if cause in seen:
                    continue
                seen.add(cause)
                if cause in stop:
                    found.add(cause)
                elif model.elements[cause].kind == "auxiliary":
                    nxt.append(cause)
        frontier = nxt
    return found
