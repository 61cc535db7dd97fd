"""Shared fixtures: the project model loaded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

import simulator

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def model():
    return simulator.load()


@pytest.fixture(scope="session")
def labels():
    return simulator.labels()
