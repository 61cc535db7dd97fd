"""The reference engine: pysd's own translation of the model, one run at a time.

The one pysd runner of the project (the library, the tests and the benchmark use it). The
translated Python is kept out of the source tree, in a cache folder keyed by the model's
sha256 and folder, so the .mdl stays the single source of truth and nothing is written beside
it (its folder may be read-only). The translation's data root points back at the model's own
folder, so GET XLS / GET DIRECT find the files that sit beside the model.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.errors import UserError
from simulator.model.naming import canonical_id

_ROOT_LINE = "_root = Path(__file__).parent"
_DATA_SUFFIXES = {".xls", ".xlsx", ".xlsm", ".ods", ".csv", ".tab", ".txt", ".dat"}


def cache_dir() -> Path:
    """Folder for generated files [``$JINAN_SD_CACHE`` or ``~/.cache/jinan-sd``]."""
    root = os.environ.get("JINAN_SD_CACHE") or Path.home() / ".cache" / "jinan-sd"
    return Path(root)


def translate(mdl_path: Path, sha256: str | None = None, cache: Path | None = None) -> Path:
    """Translate ``mdl_path`` with pysd once (per content and folder); return the .py file.

    The .mdl is copied into a fresh folder under ``cache`` (default :func:`cache_dir`), translated
    there, its ``_root`` pointed at the model's folder, and the folder moved into place atomically.
    """
    import pysd

    mdl_path = Path(mdl_path).resolve()
    content = mdl_path.read_bytes()
    sha256 = sha256 or hashlib.sha256(content).hexdigest()
    key = hashlib.sha256(f"{sha256}|{mdl_path.parent}|{pysd.__version__}|3".encode()).hexdigest()
    base = Path(cache or cache_dir()) / "pysd"
    folder = base / key[:16]
    py_file = folder / (mdl_path.stem + ".py")
    if py_file.is_file():
        return py_file
    base.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=base, prefix=".staging-"))
    try:
        staged = staging / mdl_path.name
        staged.write_bytes(content)
        # pysd reads GET XLS/DIRECT SUBSCRIPT files while translating, beside the .mdl it is
        # given: link the model's data files into the staging folder for that moment only
        links = []
        for source in mdl_path.parent.iterdir():
            if source.is_file() and source.suffix.lower() in _DATA_SUFFIXES:
                links.append(staging / source.name)
                links[-1].symlink_to(source)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pysd.read_vensim(str(staged), initialize=False)
        for link in links:
            link.unlink()
        for generated in staging.glob("*.py"):
            text = generated.read_text(encoding="utf-8")
            if _ROOT_LINE in text:  # data files beside the model; macro modules beside the translation
                text = text.replace("_root.joinpath(", "Path(__file__).parent.joinpath(")
                generated.write_text(text.replace(_ROOT_LINE, f"_root = Path({str(mdl_path.parent)!r})"),
                                     encoding="utf-8")
        try:
            staging.rename(folder)
        except OSError:  # another process translated the same model meanwhile
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return py_file


def load_pysd(mdl_path: Path, sha256: str | None = None, cache: Path | None = None):
    """Return a pysd model for the .mdl file, translating it once per model hash (see :func:`translate`)."""
    import pysd

    py_file = translate(mdl_path, sha256, cache)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        # pysd warns about things that are irrelevant to a pure runtime (e.g. future pandas)
        warnings.simplefilter("ignore")
        return pysd.load(str(py_file))


def pysd_params(overrides: dict) -> dict:
    """Overrides as pysd params: id -> float, or a pandas Series for a list of (year, value) points."""
    params = {}
    for key, value in overrides.items():
        if "[" in key or isinstance(value, dict):
            raise UserError(f"override '{key}': the pysd engine takes whole constants only "
                            "(set one cell of a subscripted constant with --engine fast)")
        if isinstance(value, (list, tuple)):
            xs, ys = zip(*value, strict=True)
            params[key] = pd.Series(np.asarray(ys, float), index=np.asarray(xs, float))
        else:
            params[key] = value if isinstance(value, pd.Series) else float(value)
    return params


def run_raw(model, params: dict | None = None, return_columns=None, times=None,
            reload: bool = True) -> pd.DataFrame:
    """One pysd run, pysd's own column names, float time index.

    ``reload`` (default) starts from a fresh model; without it, a pandas-Series parameter
    of an earlier run stays set (the benchmark, which sets floats only, skips it).
    """
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        # reload: a pandas-Series parameter would otherwise stay set for later runs
        if reload:
            model.reload()
        frame = model.run(params=dict(params or {}), return_columns=return_columns,
                          return_timestamps=times, progress=False)
    frame.index = frame.index.astype(float)
    return frame


def run_pysd(model, overrides: dict, times: list[float] | None = None) -> pd.DataFrame:
    """Run the pysd model once.

    Parameters
    ----------
    model : pysd.py_backend.model.Model
        From :func:`load_pysd`.
    overrides : dict
        id -> float, or id -> list of (year, value) for a time path (linear, flat beyond ends).
    times : list of float, optional
        Saved times [model time units] (default: the model's own).

    Returns
    -------
    pandas.DataFrame
        Index: saved time; columns: canonical ids of every element (``id[element,...]`` when
        subscripted).
    """
    # ids are canonical; pysd renames a few reserved words (``input`` -> ``input_1``)
    python = {canonical_id(name): py for name, py in model.namespace.items()}
    params = {python.get(key, key): value for key, value in pysd_params(overrides).items()}
    frame = run_raw(model, params, times=times)
    frame = frame.rename(columns=column_id)
    return frame.loc[:, ~frame.columns.duplicated()]


def column_id(column: str) -> str:
    """Canonical result column of a pysd/Vensim column: ``Name[a, b]`` -> ``name[a,b]``."""
    name, bracket, rest = str(column).partition("[")
    if not bracket:
        return canonical_id(name)
    elements = ",".join(part.strip() for part in rest.rstrip().rstrip("]").split(","))
    return f"{canonical_id(name)}[{elements}]"
