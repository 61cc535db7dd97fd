"""GET XLS/DIRECT CONSTANTS, LOOKUPS and DATA, read once at load time by pysd's own loaders.

The file is resolved against the model's folder (pysd's ``_root``) and read by
``pysd.py_backend.external`` (ExtConstant, ExtLookup, ExtData), so values, cell ranges,
transposition and missing-value handling are exactly pysd's; nothing is written. Each cell of
the equation then becomes a constant, a lookup table or a data series of the plan. What the
loader rejects, or a table with missing values, is refused by name.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

__all__ = ["DATA_METHODS", "ExternalError", "load"]

DATA_METHODS = ("interpolate", "raw", "look_forward", "hold_backward")


class ExternalError(ValueError):
    """The external data cannot be read exactly as pysd reads it."""


def _coords(subscripts: list, ranges) -> dict:
    return {f"_d{i}": list(ranges.of(sub)) for i, sub in enumerate(subscripts)}


def load(kind: str, ast, subscripts: list, ranges, root: Path, keyword=None):
    """Read one GET ... equation; return a function ``cell -> value``.

    Parameters
    ----------
    kind : {"constant", "lookup", "data"}
    ast : pysd GetConstantsStructure, GetLookupsStructure or GetDataStructure
    subscripts : list of str
        The equation's left-hand-side subscripts (they shape the cell range read).
    root : pathlib.Path
        The model's folder, against which the file name is resolved.
    keyword : str, optional
        A data equation's interpolation keyword (default ``interpolate``).

    Returns
    -------
    callable
        ``cell (tuple of element names) ->`` a float (constant), ``(xs, ys)`` sorted arrays
        (lookup) or ``(times, values, method)`` (data).
    """
    from pysd.py_backend import external

    coords = _coords(subscripts, ranges)
    name = f"_ext_{kind}"
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            if kind == "constant":
                obj = external.ExtConstant(ast.file, ast.tab, ast.cell, coords, root, coords, name)
            elif kind == "lookup":
                obj = external.ExtLookup(ast.file, ast.tab, ast.x_row_or_col, ast.cell, coords,
                                         root, coords, name)
            else:
                method = (keyword or "interpolate").replace(" ", "_")
                if method not in DATA_METHODS:
                    raise ExternalError(f"data keyword {keyword!r}")
                obj = external.ExtData(ast.file, ast.tab, ast.time_row_or_col, ast.cell, method,
                                       coords, root, coords, name)
            obj.initialize()
        except ExternalError:
            raise
        except Exception as error:  # pysd's readers raise many kinds
            raise ExternalError(f"{ast.file!r} cannot be read as pysd reads it "
                                f"({type(error).__name__}: {str(error).splitlines()[-1][:80]})") from None
    data = obj.data

    def select(cell: tuple):
        if coords and getattr(data, "dims", None) is not None:
            picked = data.sel({d: e for d, e in zip(coords, cell, strict=True)})
        else:
            picked = data
        if kind == "constant":
            return float(np.asarray(picked, dtype=np.float64))
        axis = "lookup_dim" if kind == "lookup" else "time"
        xs = np.asarray(picked.coords[axis].values, dtype=np.float64)
        ys = np.asarray(picked.values, dtype=np.float64).reshape(-1)
        if xs.size != ys.size or np.any(np.diff(xs) <= 0):
            raise ExternalError(f"{ast.file!r}: {axis} values are not strictly increasing")
        if kind == "lookup":
            if np.isnan(ys).any():
                raise ExternalError(f"{ast.file!r}: lookup with missing values")
            return xs, ys
        if np.isnan(ys).any() and method != "raw":
            raise ExternalError(f"{ast.file!r}: data with missing values")
        return xs, ys, method

    return select
