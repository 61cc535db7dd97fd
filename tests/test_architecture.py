"""The architecture contract (design §2): one model file -> two engines -> one library -> two faces.

Layers, highest first; a module may import its own layer or any layer below it, never one above:

    faces        faces.cli, faces.app (and app.py)
    calibration  calibration.*
    api          simulator (the package's __init__: the public API over everything below)
    analysis     simulator.analysis.*, simulator.plots.*
    run          simulator.runner, simulator.runcache, simulator.scenarios, simulator.targets.*
    engines      simulator.engines.*
    model        simulator.model.*
    base         simulator.project, simulator.errors, simulator.result, simulator._version, simulator.atomic,
                 simulator.limits, simulator.tomlfile, simulator.text (files, limits and words every layer uses)

Also: no import cycle between modules, none between top-level packages. Every import counts, including
those inside functions (a lazy import is still a dependency). The contract is checked on the source tree.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("simulator", "calibration", "faces")
LAYERS = ("base", "model", "engines", "run", "analysis", "api", "calibration", "faces")
PREFIXES = {
    "faces": "faces",
    "calibration": "calibration",
    "simulator.analysis": "analysis",
    "simulator.plots": "analysis",
    "simulator.runner": "run",
    "simulator.runcache": "run",
    "simulator.scenarios": "run",
    "simulator.targets": "run",
    "simulator.engines": "engines",
    "simulator.model": "model",
    "simulator.project": "base",
    "simulator.errors": "base",
    "simulator.result": "base",
    "simulator._version": "base",
    "simulator.atomic": "base",
    "simulator.limits": "base",
    "simulator.tomlfile": "base",
    "simulator.text": "base",
}


def layer(module: str) -> str | None:
    """The layer of a project module (``simulator`` alone is the public API), None for others."""
    if module == "simulator":
        return "api"
    best = max((p for p in PREFIXES if module == p or module.startswith(p + ".")), key=len, default=None)
    return PREFIXES.get(best)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Project modules imported by one file (absolute and relative, at any depth in the file)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from package import module` depends on the module; `from module import name` on the module
            modules = known_modules()
            for alias in node.names:
                found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in modules else target)
    modules = known_modules()
    return {m for m in found if m in modules and m != name}


def known_modules() -> set[str]:
    return {module_name(p) for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports(p) for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def upward(edges: dict[str, set[str]]) -> list[str]:
    """Imports that go up the layers."""
    bad = []
    for source, targets in edges.items():
        for target in targets:
            low, high = layer(source), layer(target)
            if low and high and LAYERS.index(high) > LAYERS.index(low):
                bad.append(f"{source} ({low}) imports {target} ({high})")
    return sorted(bad)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan), each sorted."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def package_edges(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    top = {}
    for source, targets in edges.items():
        top.setdefault(source.split(".")[0], set()).update(t.split(".")[0] for t in targets)
    return {k: v - {k} for k, v in top.items()}


def test_every_module_has_a_layer():
    assert [m for m in known_modules() if layer(m) is None] == []


def test_no_import_goes_up_the_layers():
    assert upward(graph()) == []


def test_no_module_imports_a_face():
    bad = [f"{s} imports {t}" for s, ts in graph().items() for t in ts
           if t.startswith("faces") and not s.startswith("faces")]
    assert bad == []


def test_no_import_cycle_between_modules():
    assert cycles(graph()) == []


def test_no_import_cycle_between_packages():
    assert cycles(package_edges(graph())) == []


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("simulator.model.mdl", "simulator.runner"),  # the model layer reaching up for the runner
        ("simulator.engines.pysd", "simulator.scenarios"),
        ("simulator.analysis.ensemble", "calibration.posterior"),  # the library importing calibration
        ("calibration.fit", "faces.cli.main"),
    ],
)
def test_the_contract_fails_on_an_upward_import(source, target):
    edges = graph()
    assert upward(edges) == []
    edges[source] = edges[source] | {target}
    assert upward(edges) == [f"{source} ({layer(source)}) imports {target} ({layer(target)})"]


def test_the_contract_fails_on_a_cycle():
    edges = graph()
    edges["simulator.model.naming"] = edges["simulator.model.naming"] | {"simulator.model.mdl"}
    assert ["simulator.model.mdl", "simulator.model.naming"] in cycles(edges)
