"""Shared fixtures: the project model loaded once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The suite runs the numpy backend by default: compiling a C kernel for each of the suite's hundreds of
# small test models would dominate its time. The compiled backend (the library's default) is checked
# bitwise against the numpy backend, scenario by scenario, in tests/test_compiled_backend.py, which asks
# for it by name. Subprocesses (CLI tests) inherit this choice.
os.environ.setdefault("JINAN_SD_BACKEND", "numpy")

import simulator  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def model():
    return simulator.load()


@pytest.fixture(scope="session")
def labels():
    return simulator.labels()


@pytest.fixture(autouse=True)
def _no_background_compile_left_on():
    """The app's page turns ``simulator.compile_in_background()`` on for the process (an AppTest runs it
    in this one): switched off again after each test, so that a later test of the compiled backend gets
    the compiled kernel, not the numpy answer given while it builds."""
    from simulator.engines.fast import kernel

    yield
    kernel.compile_in_background(False)
