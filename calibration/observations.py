"""Observations of Jinan's history for the calibration: loading, validation and residuals of each kind.

``calibration/data/observations.csv`` (built by ``calibration/data/build_observations.py`` from
``../shared/data/jinan_history.csv``) holds one observation per row:

==============  ===========================================================================================
column          meaning
==============  ===========================================================================================
id              unique key, e.g. ``gdp-nominal-2019``
series          group for the fit statistics and plots; ``series_zh`` / ``series_en`` name it
kind            ``level`` (value of the variable in ``year``), ``change`` (percent change from ``base_year``
                to ``year``), ``growth`` (percent change from ``year - 1`` to ``year``) or ``range``
                (the level, or the change from ``base_year`` if one is given, lies in ``[low, high]``)
indicator       key of the indicator vocabulary (``models/labels.toml`` ``[indicators]``) where one exists
variable        model variable id, or ``a/b`` for the ratio of two variables
value           observed value (level kinds in the variable's units; change and growth in percent)
low, high       bounds of a ``range`` (an empty bound is open)
sigma           observation uncertainty (one standard deviation) in the units of ``value``; for a range,
                how softly its edges hold
rebase          the model value is multiplied by ``k ** rebase`` before comparison, where ``k`` is the 2020
                census re-basing factor (census basis / pre-census basis): -1 for pre-census population
use             ``fit`` (in the objective) or ``check`` (reported only)
confidence      of the source row(s): high, medium or low
boundary        of the source row: current or old (converted to the current boundary, see ``conversion``)
source_*        the row of jinan_history.csv it comes from (indicator, year, value)
conversion      the arithmetic and assumptions from the source row(s) to ``value``
sigma_note      how ``sigma`` was made from the confidence and the breaks
==============  ===========================================================================================
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from calibration import OBSERVATIONS_PATH
from simulator.errors import UserError

KINDS = ("level", "change", "growth", "range")
USES = ("fit", "check")
#: One standard deviation from a row's confidence, relative to the value (levels and ranges) or to the
#: ratio ``x[year] / x[base_year]`` (changes).
CONFIDENCE_RELATIVE = {"high": 0.02, "medium": 0.05, "low": 0.15}
#: One standard deviation of a one-year growth rate [percentage points]: a published growth rate is far
#: more precise than 2 % of the growth factor (2.2 points) would say.
CONFIDENCE_GROWTH_PP = {"high": 0.5, "medium": 1.0, "low": 2.0}
COLUMNS = (
    "id", "series", "series_zh", "series_en", "kind", "indicator", "variable", "year", "base_year",
    "value", "low", "high", "unit", "sigma", "rebase", "use", "confidence", "boundary",
    "source_indicator", "source_year", "source_value", "conversion", "sigma_note",
)
_TEXT_COLUMNS = (
    "id", "series", "series_zh", "series_en", "kind", "indicator", "variable", "unit", "use",
    "confidence", "boundary", "source_indicator", "source_year", "conversion", "sigma_note",
)


@dataclass(frozen=True)
class Observations:
    """A validated observations table.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per observation, columns :data:`COLUMNS`; ``year``, ``base_year`` and ``rebase`` are
        integers (``base_year`` -1 where not given), ``low`` / ``high`` are -inf / +inf where open.
    path : Path
        The file read.
    sha256 : str
        Hash of the file's bytes.
    """

    table: pd.DataFrame
    path: Path
    sha256: str

    def select(self, use: str | None = None) -> pd.DataFrame:
        """Rows with ``use == use`` (all rows if None), in file order."""
        if use is None:
            return self.table
        return self.table[self.table["use"] == use].reset_index(drop=True)

    @property
    def variables(self) -> list[str]:
        """Model variables the observations read, sorted."""
        names = set()
        for expr in self.table["variable"]:
            names.update(split_variable(expr))
        return sorted(names)


def split_variable(expr: str) -> tuple[str, ...]:
    """``"a"`` -> ``("a",)``; ``"a/b"`` -> ``("a", "b")`` (ratio of two model variables)."""
    parts = tuple(p.strip() for p in str(expr).split("/"))
    if len(parts) > 2 or not all(parts):
        raise ValueError(f"variable must be 'name' or 'name/name', got {expr!r}")
    return parts


def load_observations(path: str | Path = OBSERVATIONS_PATH, model=None, labels=None) -> Observations:
    """Read and validate an observations file.

    Parameters
    ----------
    path : str or Path
        CSV with the columns :data:`COLUMNS`.
    model : simulator.model.Model, optional
        If given, every variable must exist in it and every year lie in its saved years.
    labels : simulator.labels.Labels, optional
        If given, every ``indicator`` must map to the row's ``variable``.

    Raises
    ------
    UserError
        One line naming the file, the row id and the problem.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"observations file not found: {path}") from None
    try:
        frame = pd.read_csv(io.BytesIO(raw), dtype={c: str for c in _TEXT_COLUMNS}, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise UserError(f"{path.name}: not a readable CSV: {exc}") from None
    table = _validate(frame, path.name, model, labels)
    return Observations(table=table, path=path, sha256=hashlib.sha256(raw).hexdigest())


def _validate(frame: pd.DataFrame, where: str, model, labels) -> pd.DataFrame:
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise UserError(f"{where}: missing column '{missing[0]}'")
    if frame.empty:
        raise UserError(f"{where}: no observations")
    frame = frame[list(COLUMNS)].copy()
    duplicated = frame["id"][frame["id"].duplicated()]
    if not duplicated.empty:
        raise UserError(f"{where}: duplicate id '{duplicated.iloc[0]}'")
    ids = frame["id"]
    for column in ("year", "base_year", "rebase"):
        frame[column] = [_integer(v, where, rid, column) for v, rid in zip(frame[column], ids, strict=True)]
    for column in ("value", "low", "high", "sigma"):
        frame[column] = [_number(v, where, rid, column) for v, rid in zip(frame[column], ids, strict=True)]
    frame["low"] = frame["low"].fillna(-np.inf)
    frame["high"] = frame["high"].fillna(np.inf)
    years = set(int(round(y)) for y in model.years) if model is not None else None
    for row in frame.itertuples(index=False):
        _check_row(row, f"{where}: row '{row.id}'", model, labels, years)
    return frame.reset_index(drop=True)


def _integer(text, where: str, rid: str, column: str) -> int:
    if pd.isna(text) or str(text).strip() == "":
        if column == "base_year":
            return -1
        if column == "rebase":
            return 0
        raise UserError(f"{where}: row '{rid}': '{column}' is empty")
    try:
        number = float(text)
    except ValueError:
        raise UserError(f"{where}: row '{rid}': '{column}' must be an integer, got {text!r}") from None
    if not number.is_integer():
        raise UserError(f"{where}: row '{rid}': '{column}' must be an integer, got {text!r}")
    return int(number)


def _number(text, where: str, rid: str, column: str) -> float:
    if pd.isna(text) or str(text).strip() == "":
        return math.nan
    try:
        number = float(text)
    except ValueError:
        raise UserError(f"{where}: row '{rid}': '{column}' must be a number, got {text!r}") from None
    if math.isinf(number):
        raise UserError(f"{where}: row '{rid}': '{column}' must be finite (leave a bound empty to open it)")
    return number


def _check_row(row, where: str, model, labels, years) -> None:
    if row.kind not in KINDS:
        raise UserError(f"{where}: unknown kind '{row.kind}' (use {', '.join(KINDS)})")
    if row.use not in USES:
        raise UserError(f"{where}: unknown use '{row.use}' (use {' or '.join(USES)})")
    if row.confidence not in CONFIDENCE_RELATIVE:
        raise UserError(f"{where}: unknown confidence '{row.confidence}' (use high, medium or low)")
    if row.rebase not in (-1, 0, 1):
        raise UserError(f"{where}: rebase must be -1, 0 or 1, got {row.rebase}")
    if not (row.sigma > 0):
        raise UserError(f"{where}: sigma must be a positive number, got {row.sigma}")
    if row.kind == "range":
        if not (row.low < row.high):
            raise UserError(f"{where}: a range needs low < high (one may be empty), "
                            f"got [{row.low}, {row.high}]")
    elif math.isnan(row.value):
        raise UserError(f"{where}: a {row.kind} observation needs a value")
    if row.kind == "change" and row.base_year < 0:
        raise UserError(f"{where}: a change needs base_year")
    if row.base_year >= 0 and row.base_year >= row.year:
        raise UserError(f"{where}: base_year {row.base_year} must be before year {row.year}")
    try:
        parts = split_variable(row.variable)
    except ValueError as exc:
        raise UserError(f"{where}: {exc}") from None
    if model is not None:
        for name in parts:
            if name not in model.elements:
                from simulator.model.mdl import suggest

                raise UserError(f"{where}: unknown model variable '{name}'{suggest(name, model.elements)}")
        needed = [row.year, row.base_year] if row.base_year >= 0 else [row.year]
        if row.kind == "growth":
            needed.append(row.year - 1)
        outside = [y for y in needed if y not in years]
        if outside:
            raise UserError(f"{where}: year {outside[0]} is outside the model's saved years")
    if labels is not None and row.indicator:
        mapped = labels.indicators.get(row.indicator)
        if mapped is None:
            raise UserError(f"{where}: unknown indicator '{row.indicator}'")
        if mapped != row.variable:
            raise UserError(f"{where}: indicator '{row.indicator}' maps to '{mapped}', not '{row.variable}'")


# --- residuals -----------------------------------------------------------------------------------


def compared_quantity(kind: str, series: np.ndarray, year: int, base_year: int = -1) -> np.ndarray:
    """The model's counterpart of an observation.

    Parameters
    ----------
    kind : {"level", "change", "growth", "range"}
    series : numpy.ndarray
        Model values, shape ``(n, T)``, column ``i`` = year index ``i`` (already re-based).
    year, base_year : int
        Column indices of the observation's year and base year (-1: none).

    Returns
    -------
    numpy.ndarray
        Shape ``(n,)``: the level, or the percent change from the base year (``change``, and ``range``
        with a base year), or the percent change over the previous year (``growth``).
    """
    if kind == "growth":
        return 100.0 * (series[:, year] / series[:, year - 1] - 1.0)
    if kind == "change" or (kind == "range" and base_year >= 0):
        return 100.0 * (series[:, year] / series[:, base_year] - 1.0)
    return series[:, year]


def normalised_residual(kind: str, q, value: float, low: float, high: float, sigma: float) -> np.ndarray:
    """(model - observation) / sigma; for a range, the distance outside ``[low, high]`` / sigma (0 inside)."""
    q = np.asarray(q, dtype=float)
    if kind == "range":
        above = np.maximum(q - high, 0.0)
        below = np.minimum(q - low, 0.0)
        return (above + below) / sigma
    return (q - value) / sigma


class Predictor:
    """Model counterparts and residuals of a table of observations, vectorised over runs.

    Parameters
    ----------
    table : pandas.DataFrame
        Validated observations (see :class:`Observations`).
    years : sequence of float
        The model's saved years [Year]; ``values`` passed later have one column per year.
    """

    def __init__(self, table: pd.DataFrame, years) -> None:
        self.table = table.reset_index(drop=True)
        index = {int(round(y)): i for i, y in enumerate(years)}
        self.rows = []
        for row in self.table.itertuples(index=False):
            base = index[row.base_year] if row.base_year >= 0 else -1
            self.rows.append((row.kind, split_variable(row.variable), index[row.year], base, row.rebase,
                              row.value, row.low, row.high, row.sigma))
        # Per-row constants as arrays, so the residuals of all rows are a few whole-array operations (the
        # sampler calls this once per half-step; a Python loop over the rows was a sixth of its time).
        self._range = np.array([r[0] == "range" for r in self.rows], bool)
        self._value, self._low, self._high, self._sigma = (
            np.array([r[k] for r in self.rows], float) for k in (5, 6, 7, 8))

    def __len__(self) -> int:
        return len(self.rows)

    def quantities(self, values: dict, rebasing) -> np.ndarray:
        """Model counterparts, shape ``(n, M)``.

        Parameters
        ----------
        values : dict of str to numpy.ndarray
            Model variable -> ``(n, T)`` values.
        rebasing : float or numpy.ndarray
            Census re-basing factor ``k``, scalar or shape ``(n,)`` [dimensionless].
        """
        k = np.atleast_1d(np.asarray(rebasing, dtype=float))[:, None]
        out = []
        for kind, parts, year, base, rebase, *_ in self.rows:
            series = values[parts[0]] if len(parts) == 1 else values[parts[0]] / values[parts[1]]
            if rebase:
                series = series * k**rebase
            out.append(compared_quantity(kind, series, year, base))
        return np.stack(out, axis=1)

    def residuals(self, quantities: np.ndarray) -> np.ndarray:
        """Normalised residuals, shape ``(n, M)``; a non-finite model value gives a large residual."""
        q = np.asarray(quantities, dtype=float)
        # Elementwise the same operations as normalised_residual, so the same numbers bit for bit.
        with np.errstate(invalid="ignore"):  # a point row's low/high are NaN; that branch is not selected
            ranged = (np.maximum(q - self._high, 0.0) + np.minimum(q - self._low, 0.0)) / self._sigma
        out = np.where(self._range, ranged, (q - self._value) / self._sigma)
        # A run that blew up must lose, not poison the optimiser with NaN.
        return np.where(np.isfinite(out), out, 1e6)
