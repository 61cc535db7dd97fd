"""The SDXorg peer models in ../shared/peer-models: Vensim's reference output, and both engines' runs.

Shared by tests/test_peer_models.py and bench/engine.py. Columns are canonical result ids
(``id`` or ``id[element,element]``) on every side, made by one function
(:func:`simulator.engines.pysd.column_id`).
"""

from __future__ import annotations

import tomllib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT.parent / "shared" / "peer-models"
REFUSED = Path(__file__).resolve().parent / "peer_refusals.toml"
RTOL, ATOL = 2e-3, 1e-6  # what pysd meets against Vensim on these cases


def cases() -> list[str]:
    """Case model paths relative to the peer folder (empty when ../shared is absent)."""
    listing = PEERS / "cases.txt"
    if not listing.is_file():
        return []
    return [line.strip() for line in listing.read_text().splitlines() if line.strip()]


def refusals() -> dict:
    """Case -> the reason the fast engine refuses it (data, not code)."""
    with open(REFUSED, "rb") as handle:
        return tomllib.load(handle)["refused"]


def case_name(case: str) -> str:
    return Path(case).parent.name + ("" if Path(case).stem.endswith(Path(case).parent.name)
                                     else "/" + Path(case).stem)


def reference(mdl: Path) -> pd.DataFrame:
    """Vensim's output beside the model (output.csv or output.tab, either orientation)."""
    from pysd.tools.benchmarking import load_outputs

    from simulator.engines.pysd import column_id

    for name in ("output.csv", "output.tab"):
        path = mdl.parent / name
        if path.is_file():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                frame = load_outputs(str(path))
                if "Time" in frame.index or "TIME" in frame.index:  # variables as rows
                    frame = load_outputs(str(path), transpose=True)
            frame = frame.rename(columns=column_id)
            frame.index = frame.index.astype(float)
            return frame.loc[:, ~frame.columns.duplicated()]
    raise FileNotFoundError(f"no output.csv/.tab beside {mdl}")


def fast_frame(mdl: Path) -> pd.DataFrame:
    """One run of the fast engine with the model's defaults, columns by result id."""
    import simulator
    from simulator.engines.fast.adapter import run_fast

    return run_fast(simulator.load(mdl), {})


def pysd_frame(mdl: Path, cache: Path) -> pd.DataFrame:
    """One pysd run (translated under ``cache``), columns by result id."""
    from simulator.engines.pysd import load_pysd, run_pysd

    return run_pysd(load_pysd(mdl, cache=cache), {})


def shared(actual: pd.DataFrame, expected: pd.DataFrame) -> tuple:
    """Both frames on the columns they share and the expected frame's times."""
    columns = [c for c in expected.columns if c in actual.columns]
    times = np.asarray(expected.index, float)
    index = np.asarray(actual.index, float)
    rows = [int(np.argmin(np.abs(index - t))) for t in times]
    kept = [r for r, t in zip(rows, times, strict=True) if abs(index[r] - t) < 1e-9]
    picked = actual.iloc[kept][columns]
    return picked, expected.loc[[t for r, t in zip(rows, times, strict=True)
                                 if abs(index[r] - t) < 1e-9], columns]


def assert_matches_reference(actual: pd.DataFrame, expected: pd.DataFrame) -> int:
    """Assert the run equals Vensim's output on every shared column and reference time.

    Vensim leaves a constant's cell blank after the first saved time; blanks (NaN) in the
    reference are values it did not report, not values to match. Returns the number of
    shared columns (a case sharing none fails).
    """
    from support import assert_results_close

    a, e = shared(actual, expected)
    assert a.shape[1] > 0, "no column shared with the reference"
    assert len(a) == len(expected), (
        f"reference times missing from the run: {sorted(set(expected.index) - set(a.index))[:5]}")
    reported = e.notna().to_numpy()
    assert_results_close(a.where(reported, np.nan), e, RTOL, ATOL)
    return a.shape[1]
