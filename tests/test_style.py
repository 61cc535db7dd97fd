"""House rules that can be checked mechanically (style §2, §15)."""

from __future__ import annotations

import ast
from pathlib import Path

import simulator

PACKAGE = Path(simulator.__file__).parent


def string_literals(path: Path):
    """(line, text) of every string constant that is not a docstring."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def test_the_library_never_names_a_model_variable(model, labels):
    """Model names live in models/, scenarios/, calibration/ and tests; the library reads them from there."""
    from simulator.model.mdl import CONTROL_NAMES  # Vensim's own control names, in every model

    names = {k for k in model.elements if "_" in k} | {k for k in labels.indicators if "_" in k}
    names -= set(CONTROL_NAMES)
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for line, text in string_literals(path):
            if text in names:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{line}: '{text}'")
    assert found == []


#: every package of the project: the library, calibration and both faces
PACKAGES = [PACKAGE.parent / name for name in ("simulator", "calibration", "faces")]


def test_modules_stay_small():
    big = [f"{p.relative_to(PACKAGE.parent)} ({n} lines)" for folder in PACKAGES for p in sorted(folder.rglob("*.py"))
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500]
    assert big == []
