"""Uncertain inputs: read ``scenarios/uncertainty.toml`` and draw seeded samples from it.

Samples are drawn on the unit hypercube (random, Latin hypercube or Sobol, ``scipy.stats.qmc``),
turned into correlated standard normals (Gaussian copula: the fitted correlation of the calibrated
parameters and any stated pairs), then into each input's marginal distribution by its inverse CDF.
The whole N x d design is made from the seed alone, so it does not depend on how runs are chunked.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from simulator import tomlfile
from simulator.errors import UserError
from simulator.model.mdl import Model, suggest
from simulator.model.naming import canonical_id

SAMPLERS = ("lhs", "sobol", "random")
DISTRIBUTIONS = ("uniform", "triangular", "normal", "discrete")


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

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF: uniforms in (0, 1) -> values of this input."""
        p = self.params
        if self.distribution == "uniform":
            return p["low"] + u * (p["high"] - p["low"])
        if self.distribution == "triangular":
            width = p["high"] - p["low"]
            c = (p["mode"] - p["low"]) / width if width > 0 else 0.5
            return stats.triang.ppf(u, c, loc=p["low"], scale=width)
        if self.distribution == "normal":
            low, high = self.bounds
            a = -np.inf if low is None else (low - p["mean"]) / p["sd"]
            b = np.inf if high is None else (high - p["mean"]) / p["sd"]
            return stats.truncnorm.ppf(u, a, b, loc=p["mean"], scale=p["sd"])
        values, weights = np.asarray(p["values"], float), np.asarray(p["weights"], float)
        edges = np.cumsum(weights / weights.sum())
        return values[np.minimum(np.searchsorted(edges, u, side="right"), len(values) - 1)]


@dataclass
class Uncertainty:
    """The uncertain inputs and their correlation, ready to sample."""

    inputs: list[Input]
    correlation: np.ndarray
    sha256: str = ""
    path: Path | None = None
    sources: dict = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [i.name for i in self.inputs]

    def without(self, fixed) -> Uncertainty:
        """Drop inputs a scenario fixes (its own value wins over the uncertainty)."""
        keep = [k for k, i in enumerate(self.inputs) if i.name not in fixed]
        return Uncertainty(
            [self.inputs[k] for k in keep], self.correlation[np.ix_(keep, keep)], self.sha256, self.path
        )

    def sample(self, n: int, seed: int, sampler: str = "lhs") -> pd.DataFrame:
        """An (n x d) table of input values, identical for the same (n, seed, sampler)."""
        if sampler not in SAMPLERS:
            raise UserError(f"unknown sampler '{sampler}' (use {', '.join(SAMPLERS)})")
        if n < 1:
            raise UserError(f"n must be at least 1, got {n}", param="n")
        d = len(self.inputs)
        if d == 0:
            return pd.DataFrame(index=pd.RangeIndex(n, name="run"))
        design_seed, = np.random.SeedSequence(seed).spawn(1)
        rng = np.random.default_rng(design_seed)
        if sampler == "random":
            u = rng.random((n, d))
        elif sampler == "lhs":
            u = stats.qmc.LatinHypercube(d, rng=rng).random(n)
        else:
            u = stats.qmc.Sobol(d, scramble=True, rng=rng).random(n)
        # keep the uniforms off 0 and 1 so normal scores stay finite
        u = np.clip(u, 1e-12, 1 - 1e-12)
        z = stats.norm.ppf(u) @ np.linalg.cholesky(self.correlation).T
        correlated = stats.norm.cdf(z)
        columns = {inp.name: inp.ppf(correlated[:, k]) for k, inp in enumerate(self.inputs)}
        return pd.DataFrame(columns, index=pd.RangeIndex(n, name="run"))


def load_uncertainty(path: Path, model: Model, project_root: Path) -> Uncertainty:
    """Read and validate an uncertainty file; every problem is a one-line UserError."""
    if not path.is_file():
        raise UserError(f"uncertainty file not found: {path}")
    where = path.name
    data, raw = tomlfile.load(path)
    digest = hashlib.sha256(raw)
    inputs: list[Input] = []
    blocks: list[tuple[list[int], np.ndarray]] = []
    if "calibrated" in data:
        cal_inputs, cal_corr, cal_raw = _calibrated(data["calibrated"], model, project_root, where)
        blocks.append((list(range(len(cal_inputs))), cal_corr))
        inputs += cal_inputs
        digest.update(cal_raw)
    for k, table in enumerate(data.get("input", [])):
        inputs.append(_input(table, model, f"{where}: input #{k + 1}"))
    names = [i.name for i in inputs]
    duplicates = {n for n in names if names.count(n) > 1}
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
    return Uncertainty(inputs, corr, digest.hexdigest(), path)


def _number(table: dict, key: str, where: str) -> float:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UserError(f"{where}: '{key}' must be a finite number, got {value!r}")
    return float(value)


def _input(table: dict, model: Model, where: str) -> Input:
    name = canonical_id(str(table.get("name", "")))
    element = model.elements.get(name)
    if element is None or element.kind != "constant":
        hint = suggest(name, [k for k, e in model.elements.items() if e.kind == "constant"])
        raise UserError(f"{where}: '{table.get('name')}' is not a constant of the model{hint}")
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
    for value in points:
        if (low is not None and value < low) or (high is not None and value > high):
            raise UserError(f"{where}: {value:g} is outside the model's range [{low:g}, {high:g}]")
    return Input(name, dist, params, (low, high), str(table.get("reason", "")))


def _calibrated(table: dict, model: Model, root: Path, where: str):
    """Calibrated parameters as truncated normals with the fitted correlation."""
    source = root / str(table.get("source", "calibration/calibrated.toml"))
    if not source.is_file():
        return [], np.eye(0), b""
    from simulator.runner import check_calibration

    data, raw = tomlfile.load(source)
    check_calibration(data, source.name)
    inputs = []
    keep = set(table.get("sample", ["identified"]))
    for name, entry in data.get("parameters", {}).items():
        element = model.elements.get(name)
        if element is None:
            raise UserError(f"{source.name}: parameter '{name}' is not in the model")
        if entry.get("identification", "identified") not in keep:
            # the data says nothing about it: its spread would be the prior's, and a wide normal truncated
            # to the range drifts away from the fitted value the deterministic runs use
            continue
        sd = float(entry.get("std_error", 0) or 0)
        if not math.isfinite(sd) or sd <= 0:
            continue  # a parameter fixed by the fit (no spread) stays at its value
        inputs.append(Input(name, "normal", {"mean": float(entry["value"]), "sd": sd},
                            element.limits[:2], f"calibrated ({source.name})"))
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
