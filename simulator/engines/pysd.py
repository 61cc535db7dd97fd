"""The reference engine: pysd's own translation of the model, one run at a time.

The translated Python is kept out of the source tree, in a cache folder keyed by the model's
sha256, so the .mdl stays the single source of truth.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.model.naming import canonical_id


def cache_dir() -> Path:
    """Folder for generated files [``$JINAN_SD_CACHE`` or ``~/.cache/jinan-sd``]."""
    root = os.environ.get("JINAN_SD_CACHE") or Path.home() / ".cache" / "jinan-sd"
    return Path(root)


def load_pysd(mdl_path: Path, sha256: str):
    """Return a pysd model for the .mdl file, translating it once per model hash.

    The translation is made in a hidden staging folder and renamed into place whole; a cached one that
    does not compile (e.g. cut short by an old version or a full disk) is translated again.
    """
    import pysd

    folder = cache_dir() / "pysd" / sha256[:16]
    py_file = folder / (mdl_path.stem + ".py")
    with warnings.catch_warnings():
        # pysd warns about things that are irrelevant to a pure runtime (e.g. future pandas)
        warnings.simplefilter("ignore")
        if py_file.exists() and not _compiles(py_file):
            shutil.rmtree(folder, ignore_errors=True)
        if not py_file.exists():
            folder.parent.mkdir(parents=True, exist_ok=True)
            staging = folder.with_name(f".{folder.name}.partial-{os.getpid()}")
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir()
            try:
                shutil.copyfile(mdl_path, staging / mdl_path.name)
                pysd.read_vensim(str(staging / mdl_path.name))
                # another process may have finished the same translation first: then use theirs
                with contextlib.suppress(OSError):
                    os.rename(staging, folder)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        return pysd.load(str(py_file))


def _compiles(py_file: Path) -> bool:
    try:
        compile(py_file.read_bytes(), str(py_file), "exec")
    except (SyntaxError, ValueError, UnicodeDecodeError):
        return False
    return True


def run_pysd(model, overrides: dict, times: list[float]) -> pd.DataFrame:
    """Run the pysd model once.

    Parameters
    ----------
    model : pysd.py_backend.model.Model
        From :func:`load_pysd`.
    overrides : dict
        id -> float, or id -> list of (year, value) for a time path (linear, flat beyond ends).
    times : list of float
        Saved times [Year].

    Returns
    -------
    pandas.DataFrame
        Index: saved time [Year]; columns: canonical ids of every element.
    """
    params = {}
    for key, value in overrides.items():
        if isinstance(value, (list, tuple)):
            xs, ys = zip(*value, strict=True)
            params[key] = pd.Series(np.asarray(ys, float), index=np.asarray(xs, float))
        else:
            params[key] = float(value)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        model.reload()
        frame = model.run(params=params, return_timestamps=times, progress=False)
    frame = frame.rename(columns=lambda c: canonical_id(c))
    return frame.loc[:, ~frame.columns.duplicated()]
