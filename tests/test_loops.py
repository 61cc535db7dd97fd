"""Every feedback loop named in models/loops.toml exists in the model's equations."""

from __future__ import annotations

import tomllib

import pytest

import simulator
from simulator.model.graph import missing_links

LOOPS_FILE = simulator.Project.default().loops_path
LOOPS = tomllib.loads(LOOPS_FILE.read_text(encoding="utf-8"))["loop"]


@pytest.mark.parametrize("loop", LOOPS, ids=[loop["id"] for loop in LOOPS])
def test_loop_exists(model, loop):
    assert missing_links(model, loop["variables"]) == []


def test_design_loops_are_all_named():
    names = " ".join(loop["name_en"].lower() for loop in LOOPS)
    for words in ("capital accumulation", "innovation", "migration", "congestion", "diminishing returns",
                  "water constraint", "carbon-target"):
        assert words in names


def test_a_broken_chain_is_reported(model):
    assert missing_links(model, ["gdp_real", "total_population"]) != []
