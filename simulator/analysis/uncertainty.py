"""Uncertain inputs: read ``scenarios/uncertainty.toml`` and draw seeded samples from it.

Two kinds of uncertainty, sampled differently:

- **Calibrated parameters** (``[calibrated]``): whole rows of the MCMC posterior sample
  (``calibration/posterior.parquet``, written by ``jinan-sd calibrate --posterior``), resampled with
  replacement from the seed, so the correlations the data impose between parameters are kept exactly.
  If the posterior file is absent, they fall back to the Gaussian approximation of ``calibrated.toml``
  (its values, standard errors and correlation; every parameter with a spread, truncated to its range),
  with a one-line :class:`PosteriorFallback` warning; ``Uncertainty.calibrated`` says which was used.
- **Forward inputs** (``[[input]]``): what 2015-2020 cannot tell. Drawn on the unit hypercube (random,
  Latin hypercube (scipy's, in :mod:`simulator.analysis.design`) or Sobol, ``scipy.stats.qmc``), turned
  into correlated standard normals (Gaussian copula of the stated pairs), then into each input's marginal
  distribution by its inverse CDF.

The whole N x d design and the N posterior rows are made from the seed alone (two independent streams
spawned from ``numpy.random.SeedSequence(seed)``), so they do not depend on how runs are chunked.
This module reads the posterior file with pyarrow; it never imports the ``calibration`` package.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from simulator import tomlfile
from simulator.analysis.design import latin_hypercube, normal_cdf, normal_ppf
from simulator.errors import UserError
from simulator.model.mdl import Model, suggest
from simulator.model.naming import canonical_id
from simulator.project import Project

SAMPLERS = ("lhs", "sobol", "random")
DISTRIBUTIONS = ("uniform", "triangular", "normal", "discrete")
#: Key of the JSON provenance in the posterior file's parquet schema metadata (see calibration/posterior.py).
POSTERIOR_METADATA_KEY = b"jinan_sd.posterior"
POSTERIOR_FORMAT = 1
#: How the calibrated parameters are sampled (``Uncertainty.calibrated``).
CALIBRATED_MODES = ("posterior", "gaussian-fallback", "none")
#: Name of the one group input that stands for a whole posterior draw in sensitivity analysis.
POSTERIOR_GROUP = "calibrated_parameters_posterior"


class PosteriorFallback(UserWarning):
    """The posterior sample is missing: calibrated parameters come from the Gaussian approximation."""


@dataclass(frozen=True)
class Input:
    """One uncertain input: a model constant and its marginal distribution.

    ``params`` holds the distribution's numbers (low/high, low/mode/high, mean/sd, values/weights);
    ``bounds`` the model range used to truncate normals.
    """

    name: str
    distribution: str
    params: dict
    bounds: tuple
    reason: str
    #: optional atom: ``(value, probability)``; the distribution above is then conditional on not the atom
    point_mass: tuple | None = None
    #: the sampled value acts from this year on (the calibrated or model value before it), or from the start
    from_year: float | None = None

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF: uniforms in (0, 1) -> values of this input."""
        u = np.asarray(u, float)
        if self.point_mass is not None:
            value, q = self.point_mass
            rest = self._ppf(np.clip((u - q) / (1 - q), 1e-12, 1 - 1e-12))
            return np.where(u < q, value, rest)
        return self._ppf(u)

    def _ppf(self, u: np.ndarray) -> np.ndarray:
        p = self.params
        if self.distribution == "uniform":
            return p["low"] + u * (p["high"] - p["low"])
        if self.distribution == "triangular":
            width = p["high"] - p["low"]
            c = (p["mode"] - p["low"]) / width if width > 0 else 0.5
            # closed-form inverse CDF of the triangular distribution (as scipy.stats.triang.ppf)
            x = np.where(u < c, np.sqrt(u * c), 1 - np.sqrt((1 - u) * (1 - c)))
            return p["low"] + width * x
        if self.distribution == "normal":
            low, high = self.bounds
            a = -np.inf if low is None else (low - p["mean"]) / p["sd"]
            b = np.inf if high is None else (high - p["mean"]) / p["sd"]
            from scipy import stats  # here, not at the top: importing scipy.stats costs 0.6-0.8 s
            return stats.truncnorm.ppf(u, a, b, loc=p["mean"], scale=p["sd"])
        values, weights = np.asarray(p["values"], float), np.asarray(p["weights"], float)
        edges = np.cumsum(weights / weights.sum())
        return values[np.minimum(np.searchsorted(edges, u, side="right"), len(values) - 1)]


@dataclass
class PosteriorDraws:
    """The posterior sample of the calibrated parameters: D rows x P model constants.

    ``info`` is the file's provenance (model sha, seed, sampler, diagnostics...).
    """

    frame: pd.DataFrame
    sha256: str
    path: Path
    info: dict

    @property
    def names(self) -> list[str]:
        return list(self.frame.columns)

    def without(self, fixed) -> PosteriorDraws:
        keep = [c for c in self.frame.columns if c not in set(fixed)]
        return PosteriorDraws(self.frame[keep], self.sha256, self.path, self.info)

    def rows(self, index: np.ndarray) -> dict:
        """Whole rows ``index`` as ``{parameter: values}``."""
        index = np.asarray(index, dtype=np.int64)
        return {c: self.frame[c].to_numpy(float)[index] for c in self.frame.columns}

    def row_index(self, u: np.ndarray) -> np.ndarray:
        """Uniforms in [0, 1) -> row numbers (each row equally likely): the group input's inverse CDF."""
        return np.minimum((np.asarray(u, float) * len(self.frame)).astype(np.int64), len(self.frame) - 1)


@dataclass
class Uncertainty:
    """The uncertain inputs and their correlation, ready to sample.

    ``inputs`` are sampled by the design (forward inputs and, in the Gaussian fallback, the calibrated
    parameters); ``posterior`` holds the draws whose whole rows are resampled; ``calibrated`` is one of
    :data:`CALIBRATED_MODES`; ``notes`` are one-line messages (e.g. the fallback) for the manifest.
    """

    inputs: list[Input]
    correlation: np.ndarray
    sha256: str = ""
    path: Path | None = None
    sources: dict = field(default_factory=dict)
    posterior: PosteriorDraws | None = None
    calibrated: str = "none"
    notes: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """Every sampled model constant: the design's inputs, then the posterior's parameters."""
        return [i.name for i in self.inputs] + (self.posterior.names if self.posterior is not None else [])

    @property
    def forward_names(self) -> list[str]:
        """The inputs the sampler design draws (not the posterior rows)."""
        return [i.name for i in self.inputs]

    def without(self, fixed) -> Uncertainty:
        """Drop inputs a scenario fixes (its own value wins over the uncertainty). An input of a whole
        subscripted constant (one draw for every cell) is dropped when the scenario sets any of its cells, so
        that no lever the analyst set is sampled; an input of one cell when the scenario sets that cell."""
        fixed = set(fixed)
        touched = {name.partition("[")[0] for name in fixed}
        keep = [k for k, i in enumerate(self.inputs)
                if i.name not in fixed and ("[" in i.name or i.name not in touched)
                and i.name.partition("[")[0] not in fixed]
        posterior = self.posterior.without(fixed) if self.posterior is not None else None
        if posterior is not None and not posterior.names:
            posterior = None
        return Uncertainty(
            [self.inputs[k] for k in keep], self.correlation[np.ix_(keep, keep)], self.sha256, self.path,
            dict(self.sources), posterior, self.calibrated, list(self.notes),
        )

    def design(self, n: int, seed: int, sampler: str = "lhs") -> np.ndarray:
        """The (n x d) uniforms of the forward inputs, before the copula."""
        if sampler not in SAMPLERS:
            raise UserError(f"unknown sampler '{sampler}' (use {', '.join(SAMPLERS)})", param="sampler")
        d = len(self.inputs)
        design_seed, _ = np.random.SeedSequence(seed).spawn(2)
        rng = np.random.default_rng(design_seed)
        if d == 0:
            return np.empty((n, 0))
        if sampler == "random":
            return rng.random((n, d))
        if sampler == "lhs":
            return latin_hypercube(n, d, rng)
        from scipy import stats  # here, not at the top (see _ppf)
        return stats.qmc.Sobol(d, scramble=True, rng=rng).random(n)

    def posterior_rows(self, n: int, seed: int) -> np.ndarray:
        """The n posterior row numbers of a seed (with replacement; independent of the design's stream)."""
        if self.posterior is None:
            return np.empty(0, dtype=np.int64)
        _, row_seed = np.random.SeedSequence(seed).spawn(2)
        return np.random.default_rng(row_seed).integers(0, len(self.posterior.frame), size=n)

    def sample(self, n: int, seed: int, sampler: str = "lhs") -> pd.DataFrame:
        """An (n x d) table of input values, identical for the same (n, seed, sampler).

        Columns: the forward inputs, then (if a posterior is used) its parameters, whole rows resampled
        with replacement (:meth:`posterior_rows` gives the row of the posterior file of each run);
        ``attrs["from_year"]`` is :attr:`timing`.
        """
        if sampler not in SAMPLERS:
            raise UserError(f"unknown sampler '{sampler}' (use {', '.join(SAMPLERS)})", param="sampler")
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise UserError(f"n must be at least 1, got {n}", param="n")
        u = self.design(n, seed, sampler)
        columns = {}
        if u.shape[1]:
            # keep the uniforms off 0 and 1 so normal scores stay finite
            u = np.clip(u, 1e-12, 1 - 1e-12)
            # the Gaussian copula on the inputs that have a stated correlation (the others pass unchanged:
            # for them the copula is the identity, and skipping it saves two special-function calls per value)
            linked = np.flatnonzero(np.abs(self.correlation - np.eye(len(self.inputs))).sum(axis=0) > 0)
            correlated = u.copy()
            if len(linked):
                block = self.correlation[np.ix_(linked, linked)]
                z = normal_ppf(u[:, linked]) @ np.linalg.cholesky(block).T
                correlated[:, linked] = normal_cdf(z)
            columns = {inp.name: inp.ppf(correlated[:, k]) for k, inp in enumerate(self.inputs)}
        rows = self.posterior_rows(n, seed)
        if self.posterior is not None:
            columns.update(self.posterior.rows(rows))
        frame = pd.DataFrame(columns, index=pd.RangeIndex(n, name="run"))
        frame.attrs = {"from_year": self.timing}  # small and JSON-ready (parquet keeps attrs as JSON)
        return frame

    @property
    def timing(self) -> dict:
        """``{input: from_year}`` of the inputs that act only from a year on."""
        return {i.name: i.from_year for i in self.inputs if i.from_year is not None}


def timed_columns(columns: dict, timing: dict, base: dict, model: Model) -> dict:
    """Engine overrides of sampled columns: an input with a ``from_year`` becomes a per-run time path,
    ``base`` (the calibrated value, else the model's) before that year and the sampled value from it on."""
    if not timing:
        return dict(columns)
    from simulator.scenarios import timed

    t0 = model.time["initial_time"]
    out = dict(columns)
    for name, year in timing.items():
        if name not in out:
            continue
        before = base.get(name, model.elements[name].default)
        if not isinstance(before, int | float | np.floating):
            before = model.elements[name].default
        out[name] = timed(float(before), np.asarray(out[name], float), t0, float(year))
    return out


def load_uncertainty(path: Path, model: Model, project_root: Path, posterior_path: Path | None = None,
                     quiet: bool = False) -> Uncertainty:
    """Read and validate an uncertainty file; every problem is a one-line UserError.

    ``posterior_path`` replaces the ``[calibrated] posterior`` file of the uncertainty file (e.g. a
    posterior of truncated data in a backtest). If the posterior is missing, the calibrated parameters fall
    back to the Gaussian approximation of ``[calibrated] fallback`` with a :class:`PosteriorFallback`
    warning (not issued if ``quiet``; the note is in ``Uncertainty.notes`` either way).
    """
    if not path.is_file():
        raise UserError(f"uncertainty file not found: {path}")
    where = path.name
    data, raw = tomlfile.load(path)
    digest = hashlib.sha256(raw)
    inputs: list[Input] = []
    blocks: list[tuple[list[int], np.ndarray]] = []
    posterior, mode, notes = None, "none", []
    if "calibrated" in data:
        table = data["calibrated"]
        if not isinstance(table, dict):
            raise UserError(f"{where}: [calibrated] must be a table")
        default = Project(project_root).posterior_path.relative_to(project_root)
        source = Path(posterior_path) if posterior_path is not None else (
            project_root / str(table.get("posterior", default)))
        if source.is_file():
            posterior = load_posterior(source, model)
            mode = "posterior"
            digest.update(posterior.sha256.encode())
            if posterior.info.get("model_sha256") not in (None, model.sha256):
                notes.append(f"posterior {source.name} was sampled on another version of {model.path.name} "
                             "(model sha differs): re-run jinan-sd calibrate --posterior")
        else:
            cal_inputs, cal_corr, cal_raw = _calibrated(table, model, project_root, where)
            if cal_inputs:
                mode = "gaussian-fallback"
                notes.append(f"posterior {source.name} not found: calibrated parameters drawn from the Gaussian "
                             "approximation of calibrated.toml (run: jinan-sd calibrate --posterior)")
            blocks.append((list(range(len(cal_inputs))), cal_corr))
            inputs += cal_inputs
            digest.update(cal_raw)
        if not quiet:
            for note in notes:
                warnings.warn(note, PosteriorFallback, stacklevel=2)
    for k, table in enumerate(data.get("input", [])):
        inputs.append(_input(table, model, f"{where}: input #{k + 1}"))
    names = [i.name for i in inputs]
    duplicates = {n for n in names if names.count(n) > 1}
    duplicates |= {n for n in names if "[" in n and n.partition("[")[0] in names}  # a cell and its whole
    if duplicates:
        raise UserError(f"{where}: input '{sorted(duplicates)[0]}' is given twice")
    corr = np.eye(len(inputs))
    for index, block in blocks:
        corr[np.ix_(index, index)] = block
    for table in data.get("correlation", []):
        a, b = (canonical_id(x) for x in table.get("between", ["?", "?"]))
        rho = table.get("rho")
        if a not in names or b not in names:
            missing = a if a not in names else b
            raise UserError(f"{where}: correlation names '{missing}', which is not an uncertain input")
        if not isinstance(rho, (int, float)) or not -1 < rho < 1:
            raise UserError(f"{where}: correlation between {a} and {b} must be a number in (-1, 1)")
        corr[names.index(a), names.index(b)] = corr[names.index(b), names.index(a)] = rho
    if len(inputs) and np.linalg.eigvalsh(corr).min() <= 0:
        raise UserError(f"{where}: the correlations are not a valid (positive-definite) correlation matrix")
    if posterior is not None:
        clash = sorted(set(posterior.names) & set(names))
        if clash:
            raise UserError(f"{where}: '{clash[0]}' is both a calibrated (posterior) parameter and an [[input]]")
    return Uncertainty(inputs, corr, digest.hexdigest(), path, posterior=posterior, calibrated=mode, notes=notes)


def read_posterior_file(path: Path, raw: bytes | None = None) -> tuple[pd.DataFrame, dict]:
    """A posterior sample file (``jinan-sd calibrate --posterior``) as (every column, provenance dict); the one
    reader of the format, used by the ensembles and by :mod:`calibration.posterior`. Problems are one line."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if raw is None and not path.is_file():
        raise UserError(f"posterior file not found: {path} (run: jinan-sd calibrate --posterior)")
    try:
        table = pq.read_table(pa.BufferReader(path.read_bytes() if raw is None else raw))
    except (OSError, pa.ArrowException) as exc:
        raise UserError(f"{path.name}: not a readable parquet file: {exc}") from None
    text = (table.schema.metadata or {}).get(POSTERIOR_METADATA_KEY)
    if text is None:
        raise UserError(f"{path.name}: no posterior provenance (not written by jinan-sd calibrate --posterior)")
    info = json.loads(text)
    if info.get("format_version") != POSTERIOR_FORMAT:
        raise UserError(f"{path.name}: posterior format {info.get('format_version')} is not {POSTERIOR_FORMAT}; "
                        "re-run jinan-sd calibrate --posterior")
    return table.to_pandas(), info


def load_posterior(path: Path, model: Model) -> PosteriorDraws:
    """Read a posterior sample file: the model constants' columns (nuisance parameters and the
    log-posterior dropped) and its provenance. Every problem is a one-line UserError."""
    path = Path(path)
    raw = path.read_bytes()
    frame, info = read_posterior_file(path, raw)
    nuisance = {p["id"] for p in info.get("parameters", []) if p.get("nuisance")}
    keep = [c for c in frame.columns if c != "log_posterior" and c not in nuisance]
    for name in keep:
        element = model.elements.get(name)
        if element is None or element.kind != "constant":
            raise UserError(f"{path.name}: parameter '{name}' is not a constant of {model.path.name}")
    frame = frame[keep].astype(float).reset_index(drop=True)
    if len(frame) == 0 or not np.isfinite(frame.to_numpy()).all():
        raise UserError(f"{path.name}: the posterior sample is empty or has non-finite values")
    return PosteriorDraws(frame, hashlib.sha256(raw).hexdigest(), path, info)


def _number(table: dict, key: str, where: str) -> float:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UserError(f"{where}: '{key}' must be a finite number, got {value!r}")
    return float(value)


def _input_name(table: dict, model: Model, where: str) -> tuple[str, object]:
    """The engine id an input samples and its element: ``name`` a constant (every cell of a subscripted
    one, all drawn as one value), or ``name[a,b]`` one cell of a subscripted constant (a distribution per
    cell: one ``[[input]]`` each)."""
    from simulator.model import cells

    given = table.get("name", "")
    base, inner = cells.split(str(given))
    name = canonical_id(base)
    element = model.elements.get(name)
    if element is None or element.kind != "constant":
        hint = suggest(name, [k for k, e in model.elements.items() if e.kind == "constant"])
        raise UserError(f"{where}: '{given}' is not a constant of the model{hint}")
    if inner is None:
        return name, element
    keys = cells.expand(model, str(given), 0.0, where)  # which cells it names; the values are checked below
    if len(keys) != 1:
        raise UserError(f"{where}: '{given}' names {len(keys)} cells; give one [[input]] per cell, or the "
                        f"whole '{name}' for one value in every cell")
    return next(iter(keys)), element


def _input(table: dict, model: Model, where: str) -> Input:
    name, element = _input_name(table, model, where)
    if element.subscripts and "from_year" in table:
        raise UserError(f"{where}: '{name}': from_year is for scalar inputs (a subscripted constant takes its "
                        "sampled value from the start)")
    where = f"{where} ({name})"
    dist = table.get("distribution")
    if dist not in DISTRIBUTIONS:
        raise UserError(f"{where}: unknown distribution '{dist}' (use {', '.join(DISTRIBUTIONS)})")
    if dist == "uniform":
        params = {k: _number(table, k, where) for k in ("low", "high")}
        spread_ok = params["high"] > params["low"]
    elif dist == "triangular":
        params = {k: _number(table, k, where) for k in ("low", "mode", "high")}
        spread_ok = params["low"] <= params["mode"] <= params["high"] and params["high"] > params["low"]
    elif dist == "normal":
        params = {k: _number(table, k, where) for k in ("mean", "sd")}
        spread_ok = params["sd"] > 0
    else:
        values, weights = table.get("values"), table.get("weights")
        if not isinstance(values, list) or not values or not isinstance(weights, list):
            raise UserError(f"{where}: discrete needs 'values' and 'weights' lists")
        params = {"values": [_number({"v": v}, "v", where) for v in values],
                  "weights": [_number({"w": w}, "w", where) for w in weights]}
        spread_ok = len(values) == len(weights) and all(w >= 0 for w in params["weights"]) and sum(
            params["weights"]) > 0
    if not spread_ok:
        raise UserError(f"{where}: invalid spread for a {dist} distribution: {params}")
    low, high, _ = element.limits
    support = {"uniform": ("low", "high"), "triangular": ("low", "high")}.get(dist)
    points = [params[k] for k in support] if support else (params["values"] if dist == "discrete" else [])
    atom = None
    if "point_mass" in table or "point_mass_probability" in table:
        value, q = _number(table, "point_mass", where), _number(table, "point_mass_probability", where)
        if not 0 < q < 1:
            raise UserError(f"{where}: point_mass_probability must be in (0, 1), got {q:g}")
        if dist == "discrete":
            raise UserError(f"{where}: a discrete distribution takes its atoms in 'values', not point_mass")
        atom = (value, q)
        points = [*points, value]
    from_year = None
    if "from_year" in table:
        from_year = _number(table, "from_year", where)
        t0, t1 = model.time["initial_time"], model.time["final_time"]
        if not t0 < from_year <= t1:
            raise UserError(f"{where}: from_year must be after {t0:g} and at most {t1:g}, got {from_year:g}")
    for value in points:
        if (low is not None and value < low) or (high is not None and value > high):
            raise UserError(f"{where}: {value:g} is outside the model's range [{low:g}, {high:g}]")
    return Input(name, dist, params, (low, high), str(table.get("reason", "")), atom, from_year)


def _calibrated(table: dict, model: Model, root: Path, where: str):
    """The fallback: every calibrated parameter with a spread as a truncated normal (value, std_error),
    with the correlation of ``calibrated.toml``."""
    source = root / str(table.get("fallback", table.get("source", "calibration/calibrated.toml")))
    if not source.is_file():
        return [], np.eye(0), b""
    from simulator.runner import check_calibration

    data, raw = tomlfile.load(source)
    check_calibration(data, source.name)
    inputs = []
    for name, entry in data.get("parameters", {}).items():
        element = model.elements.get(name)
        if element is None:
            raise UserError(f"{source.name}: parameter '{name}' is not in the model")
        sd = float(entry.get("std_error", 0) or 0)
        if not math.isfinite(sd) or sd <= 0:
            continue  # a parameter fixed by the fit (no spread) stays at its value
        inputs.append(Input(name, "normal", {"mean": float(entry["value"]), "sd": sd},
                            element.limits[:2], f"calibrated ({source.name}, Gaussian fallback)"))
    names = [i.name for i in inputs]
    corr = np.eye(len(inputs))
    block = data.get("correlation", {})
    if block.get("parameters") and block.get("matrix"):
        order = list(block["parameters"])
        matrix = np.asarray(block["matrix"], float)
        for i, a in enumerate(names):
            for j, b in enumerate(names):
                if a in order and b in order:
                    corr[i, j] = matrix[order.index(a), order.index(b)]
        # a fitted correlation can be numerically indefinite; nudge it to the nearest valid one
        w, v = np.linalg.eigh(corr)
        corr = v @ np.diag(np.maximum(w, 1e-6)) @ v.T
        d = np.sqrt(np.diag(corr))
        corr = corr / np.outer(d, d)
    return inputs, corr, raw
