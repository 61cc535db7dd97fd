"""models/README.md's parameter table is generated from the model and must be current."""

from __future__ import annotations

import simulator
from simulator.model.docs import basis, rewrite

README = simulator.Project.default().root / "models" / "README.md"


def test_parameter_table_is_current(model):
    assert rewrite(README, model) == README.read_text(encoding="utf-8"), (
        "run: python -m simulator.model.docs models/README.md"
    )


def test_every_constant_states_its_basis(model):
    """Every number a user could question cites data, or says ASSUMPTION/CALIBRATED, or is a definition."""
    undocumented = []
    for element in model.elements.values():
        if element.is_lever and basis(element.doc) == "definition":
            undocumented.append(element.id)
    assert undocumented == []
