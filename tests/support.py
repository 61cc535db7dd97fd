"""Shared test helpers: tolerance comparison of result tables, and PySD as the oracle."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd


def assert_results_close(actual: pd.DataFrame, expected: pd.DataFrame, rtol: float,
                         atol: float) -> None:
    """Assert two result tables (index: time, columns: variables) agree within tolerance.

    Every expected column must be in ``actual``; times must match to 1e-9. A value passes
    when ``|actual - expected| <= atol + rtol * |expected|``; NaN matches only NaN.

    Raises
    ------
    AssertionError
        Naming the first time at which any variable diverges, and those variables with
        both values (after PySD's ``assert_frames_close``).
    """
    missing = [c for c in expected.columns if c not in actual.columns]
    assert not missing, f"variables missing from the actual results: {missing}"
    a_times = np.asarray(actual.index, dtype=float)
    e_times = np.asarray(expected.index, dtype=float)
    assert a_times.shape == e_times.shape and np.allclose(a_times, e_times, rtol=0, atol=1e-9), (
        f"saved times differ: actual {a_times[:5]}... ({a_times.size}), "
        f"expected {e_times[:5]}... ({e_times.size})")
    columns = list(expected.columns)
    a = actual[columns].to_numpy(dtype=float)
    e = expected[columns].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        close = np.abs(a - e) <= atol + rtol * np.abs(e)
    close |= (np.isnan(a) & np.isnan(e)) | (a == e)  # NaN==NaN, inf==inf
    if close.all():
        return
    row = int(np.argmax(~close.all(axis=1)))
    bad = [columns[j] for j in np.flatnonzero(~close[row])]
    details = ", ".join(f"{c}: actual {a[row, columns.index(c)]!r} expected "
                        f"{e[row, columns.index(c)]!r}" for c in bad[:5])
    raise AssertionError(
        f"results diverge first at time {e_times[row]!r} in {len(bad)} variable(s) "
        f"(rtol={rtol}, atol={atol}): {details}")


class PysdModel:
    """A model translated once by PySD, run afresh (reloaded) for every parameter set.

    Uses the project's one pysd runner (``simulator.engines.pysd``), translating into
    ``folder`` (a cache), never beside the .mdl. PySD's warnings are silenced there: the
    test suite turns warnings into errors.
    """

    def __init__(self, mdl: Path, folder: Path):
        from simulator.engines.pysd import load_pysd

        self.model = load_pysd(Path(mdl), cache=Path(folder))

    def run(self, params: dict | None = None, return_columns=None) -> pd.DataFrame:
        """Results with columns renamed to PySD's python names, index as float time."""
        from simulator.engines.pysd import run_raw

        result = run_raw(self.model, params, return_columns)
        return result.rename(columns=self.model.namespace)


def run_pysd(mdl: Path, params: dict | None = None, return_columns=None) -> pd.DataFrame:
    """One PySD run of ``mdl`` (translated in a temporary folder); see :class:`PysdModel`."""
    with tempfile.TemporaryDirectory() as folder:
        return PysdModel(mdl, Path(folder)).run(params, return_columns)


def control_section(initial: float, final: float, step: float = 1, saveper: float = 1) -> str:
    """The four Vensim control elements, for tiny models written by tests."""
    parts = []
    for name, value in (("INITIAL TIME", initial), ("FINAL TIME", final), ("TIME STEP", step),
                        ("SAVEPER", saveper)):
        parts.append(f"{name} = {value:g}\n\t~\tYear\n\t~\t{name.title()}.\n\t|\n")
    return "".join(parts)
