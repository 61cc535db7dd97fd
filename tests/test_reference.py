"""Reference cases: the fast engine against closed forms (or PySD), and PySD against it.

Each folder under tests/reference/ holds model.mdl, the expected output.csv, the script
make_expected.py that wrote it and manifest.toml with the tolerances and the source.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest
from support import assert_results_close, run_pysd

from simulator.engines.fast.translate import compile_model

REFERENCE = Path(__file__).resolve().parent / "reference"
CASES = sorted(p for p in REFERENCE.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
KEYS = {"description", "source", "method", "rtol", "atol", "pysd_rtol", "pysd_atol"}


def manifest(case: Path) -> dict:
    with open(case / "manifest.toml", "rb") as handle:
        return tomllib.load(handle)


def fast_frame(case: Path, method: str) -> pd.DataFrame:
    times, values = compile_model(case / "model.mdl").run(method=method)
    return pd.DataFrame({name: series[0] for name, series in values.items()}, index=times)


def test_every_case_is_complete():
    assert len(CASES) >= 10
    for case in CASES:
        files = {p.name for p in case.iterdir()}
        assert {"model.mdl", "output.csv", "manifest.toml", "make_expected.py"} <= files, case
        assert set(manifest(case)) >= KEYS, case


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_fast_engine_matches_expected(case):
    spec = manifest(case)
    expected = pd.read_csv(case / "output.csv", index_col=0)
    actual = fast_frame(case, spec["method"])
    assert_results_close(actual, expected, spec["rtol"], spec["atol"])


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_pysd_matches_fast_engine(case):
    spec = manifest(case)
    actual = fast_frame(case, "euler")
    expected = run_pysd(case / "model.mdl")
    assert set(expected.columns) == set(actual.columns)  # same elements, same python names
    assert_results_close(actual, expected, spec["pysd_rtol"], spec["pysd_atol"])
