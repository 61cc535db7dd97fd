"""Scenario discovery: under which conditions of the uncertain inputs is a target missed (or met)?

Two views of an ensemble's inputs (``samples.parquet``) against one target's per-run outcome
(``outcomes.parquet``; failed and not-assessable runs are left out):

* PRIM, the Patient Rule Induction Method (Friedman & Fisher 1999, "Bump hunting in high-dimensional
  data"): starting from the box holding every run, repeatedly peel off the ``alpha`` share of the runs
  at the low or high end of one input -- whichever peel leaves the highest share of cases (density) --
  until the box holds less than ``min_support`` of the runs. Every step is kept (the peeling
  trajectory); the box shown maximises coverage x density, optionally pasted back out where that
  raises the density, and stripped of restrictions that do not change it. Coverage = cases in the box
  / all cases; density = cases in the box / runs in the box.
* CART, a classification tree (Breiman et al. 1984) grown with the Gini impurity to a small depth: its
  first split is the single most telling input threshold.

Both are written with numpy; inputs are read as numbers (discrete inputs such as a shock year peel by
whole values).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.analysis.ensemble import load_ensemble
from simulator.errors import UserError
from simulator.targets import Target, load_targets
from simulator.text import catalogue


@dataclass
class Box:
    """A PRIM box: ``limits`` input -> (low, high), only the restricted inputs; None = unbounded side."""

    limits: dict
    coverage: float
    density: float
    mass: float
    n_runs: int
    n_cases: int


@dataclass
class Prim:
    """PRIM's peeling ``trajectory`` (one row per step: step, coverage, density, mass, n_runs,
    n_restricted, limits) and the chosen, pasted and simplified ``boxes`` (one per covering round)."""

    trajectory: pd.DataFrame
    boxes: list
    chosen: list = field(default_factory=list)  # the trajectory step each box was taken from


def _stats(inside: np.ndarray, y: np.ndarray, n_cases: int, n_runs: int) -> tuple[float, float, float]:
    """Coverage, density and mass of a box over all ``n_cases`` cases and ``n_runs`` runs."""
    n_in, hits = int(inside.sum()), int(y[inside].sum())
    return hits / max(n_cases, 1), hits / n_in if n_in else 0.0, n_in / n_runs


def _inside(x: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return ((x >= low) & (x <= high)).all(axis=1)


def _peel_candidates(x: np.ndarray, inside: np.ndarray, alpha: float):
    """Each (input, side, bound) that peels about ``alpha`` of the box's runs off one end of one input;
    the bound is the most extreme value kept, so a discrete input peels by whole values."""
    for j in range(x.shape[1]):
        values = x[inside, j]
        above = values[values > np.quantile(values, alpha)]
        if len(above):
            yield j, 0, above.min()
        below = values[values < np.quantile(values, 1 - alpha)]
        if len(below):
            yield j, 1, below.max()


def _peel(x, y, alpha, min_support):
    """The peeling trajectory: list of (low, high) bounds, from the full box down to min_support.

    Friedman & Fisher's criterion: the peel with the largest gain in density per run removed, so a
    discrete input whose lowest value holds 40 % of the runs is not peeled at once for a small gain.
    """
    low, high = x.min(axis=0).astype(float), x.max(axis=0).astype(float)
    boxes = [(low.copy(), high.copy())]
    inside = np.ones(len(y), bool)
    while True:
        best = None
        n_in, density = inside.sum(), y[inside].mean()
        for j, side, bound in _peel_candidates(x, inside, alpha):
            keep = inside & ((x[:, j] >= bound) if side == 0 else (x[:, j] <= bound))
            n_keep = keep.sum()
            if n_keep < min_support * len(y) or n_keep == n_in:
                continue
            score = ((y[keep].mean() - density) / (n_in - n_keep), n_keep)  # on a tie, the larger box
            if best is None or score > best[0]:
                best = (score, j, side, bound, keep)
        if best is None:
            return boxes
        _, j, side, bound, inside = best
        (low if side == 0 else high)[j] = bound
        boxes.append((low.copy(), high.copy()))


def _paste(x, y, low, high, alpha):
    """Widen a box by ``alpha`` of its runs on one side of one input while that raises the density."""
    low, high = low.copy(), high.copy()
    full_low, full_high = x.min(axis=0), x.max(axis=0)
    while True:
        inside = _inside(x, low, high)
        density = y[inside].mean()
        best = None
        for j in range(x.shape[1]):
            others = _inside(np.delete(x, j, axis=1), np.delete(low, j), np.delete(high, j))
            for side in (0, 1):
                outside = others & ((x[:, j] < low[j]) if side == 0 else (x[:, j] > high[j]))
                if not outside.any():
                    continue
                count = max(1, int(alpha * inside.sum()))
                near = np.sort(x[outside, j])[::-1][:count] if side == 0 else np.sort(x[outside, j])[:count]
                bound = near[-1]
                trial_low, trial_high = low.copy(), high.copy()
                (trial_low if side == 0 else trial_high)[j] = bound
                trial = _inside(x, trial_low, trial_high)
                if y[trial].mean() > density + 1e-12 and (best is None or y[trial].mean() > best[0]):
                    best = (y[trial].mean(), trial_low, trial_high)
        if best is None:
            # a bound that reached the edge of the data is no restriction
            return np.where(low <= full_low, full_low, low), np.where(high >= full_high, full_high, high)
        _, low, high = best


def _simplify(x, y, low, high, tolerance=0.01):
    """Drop restrictions whose removal lowers the density by less than ``tolerance``."""
    full_low, full_high = x.min(axis=0), x.max(axis=0)
    while True:
        density = y[_inside(x, low, high)].mean()
        best = None
        for j in np.flatnonzero((low > full_low) | (high < full_high)):
            trial_low, trial_high = low.copy(), high.copy()
            trial_low[j], trial_high[j] = full_low[j], full_high[j]
            loss = density - y[_inside(x, trial_low, trial_high)].mean()
            if loss < tolerance and (best is None or loss < best[0]):
                best = (loss, trial_low, trial_high)
        if best is None:
            return low, high
        _, low, high = best


def _box(x, y, low, high, names, n_cases, n_runs) -> Box:
    """Box statistics; a limit is shown halfway between the last run kept and the first run left out."""
    inside = _inside(x, low, high)
    limits = {}
    for j in range(x.shape[1]):
        below, above = x[x[:, j] < low[j], j], x[x[:, j] > high[j], j]
        if len(below) or len(above):
            limits[names[j]] = (float(low[j] + below.max()) / 2 if len(below) else None,
                                float(high[j] + above.min()) / 2 if len(above) else None)
    coverage, density, mass = _stats(inside, y, n_cases, n_runs)
    return Box(limits, coverage, density, mass, int(inside.sum()), int(y[inside].sum()))


def prim(x: pd.DataFrame, y: np.ndarray, alpha: float = 0.05, min_support: float = 0.05, paste: bool = True,
         n_boxes: int = 1, step: int | None = None) -> Prim:
    """PRIM boxes for the cases ``y`` (bool, one per row of ``x``).

    Parameters
    ----------
    x : DataFrame
        One row per run, one numeric column per input.
    alpha : float
        Share of the box's runs peeled (and pasted) per step (0.05 is Friedman & Fisher's default).
    min_support : float
        Smallest box, as a share of the runs peeled (all runs for the first box, the rest after).
    paste, n_boxes : bool, int
        Paste the chosen box; find up to ``n_boxes`` boxes, each on the runs outside the earlier ones.
    step : int, optional
        Take the first box from this step of the trajectory instead of the coverage x density optimum.
    """
    if not 0 < alpha < 0.5 or not 0 < min_support < 1:
        raise UserError(f"PRIM: alpha must be in (0, 0.5) and min_support in (0, 1), got {alpha}, {min_support}")
    names, values, y = list(x.columns), x.to_numpy(float), np.asarray(y, bool)
    n_cases = int(y.sum())
    rows, boxes, chosen = [], [], []
    remaining = np.ones(len(y), bool)
    for round_ in range(n_boxes):
        xr, yr = values[remaining], y[remaining]
        if yr.sum() == 0 or len(yr) < 2:
            break
        trajectory = _peel(xr, yr, alpha, min_support)
        scores = []
        for index, (low, high) in enumerate(trajectory):
            box = _box(xr, yr, low, high, names, n_cases, len(y))
            scores.append(box.coverage * box.density)
            if round_ == 0:
                rows.append({"step": index, "coverage": box.coverage, "density": box.density, "mass": box.mass,
                             "n_runs": box.n_runs, "n_restricted": len(box.limits), "limits": box.limits})
        pick = int(np.argmax(scores)) if step is None or round_ else min(max(step, 0), len(trajectory) - 1)
        low, high = trajectory[pick]
        if paste:
            low, high = _paste(xr, yr, low, high, alpha)
        low, high = _simplify(xr, yr, low, high)
        box = _box(xr, yr, low, high, names, n_cases, len(y))
        if round_ and box.density <= yr.mean():
            break  # no better than the rest of the runs: stop covering
        boxes.append(box)
        chosen.append(pick)
        remaining &= ~_inside(values, low, high)
    return Prim(pd.DataFrame(rows), boxes, chosen)


def cart(x: pd.DataFrame, y: np.ndarray, max_depth: int = 3, min_leaf: int | None = None) -> list[dict]:
    """A classification tree grown with the Gini impurity (Breiman et al. 1984), depth-first.

    Returns
    -------
    list of dict
        Nodes, root first: ``depth``, ``n_runs``, ``n_cases``, and for a split ``input``, ``threshold``
        (left: value < threshold), ``left``, ``right`` (indices of the children).
    """
    values, y = x.to_numpy(float), np.asarray(y, bool)
    min_leaf = max(1, int(0.01 * len(y))) if min_leaf is None else min_leaf
    nodes: list[dict] = []

    def grow(rows: np.ndarray, depth: int) -> int:
        node = {"depth": depth, "n_runs": int(len(rows)), "n_cases": int(y[rows].sum())}
        nodes.append(node)
        index = len(nodes) - 1
        split = _best_split(values[rows], y[rows], min_leaf) if depth < max_depth else None
        if split is not None:
            j, threshold = split
            node.update(input=x.columns[j], threshold=threshold)
            node["left"] = grow(rows[values[rows, j] < threshold], depth + 1)
            node["right"] = grow(rows[values[rows, j] >= threshold], depth + 1)
        return index

    grow(np.arange(len(y)), 0)
    return nodes


def _best_split(x: np.ndarray, y: np.ndarray, min_leaf: int):
    """(input, threshold) with the lowest weighted Gini impurity, or None if nothing improves on the node."""
    n = len(y)
    parent = 1 - (y.mean() ** 2 + (1 - y.mean()) ** 2)
    best, best_score = None, parent - 1e-12
    for j in range(x.shape[1]):
        order = np.argsort(x[:, j], kind="stable")
        xs, ys = x[order, j], y[order]
        left_n = np.arange(1, n)
        left_pos = np.cumsum(ys)[:-1]
        right_n, right_pos = n - left_n, ys.sum() - left_pos
        valid = (xs[1:] > xs[:-1]) & (left_n >= min_leaf) & (right_n >= min_leaf)
        if not valid.any():
            continue
        pl, pr = left_pos / left_n, right_pos / right_n
        score = (left_n * 2 * pl * (1 - pl) + right_n * 2 * pr * (1 - pr)) / n
        score[~valid] = np.inf
        i = int(np.argmin(score))
        if score[i] < best_score:
            best, best_score = (j, float((xs[i] + xs[i + 1]) / 2)), score[i]
    return best


@dataclass
class Discovery:
    """PRIM boxes and a CART tree for the runs of an ensemble that miss (or meet) one target."""

    target: Target | None
    target_id: str
    outcome: str  # "miss" or "meet"
    n_valid: int
    n_cases: int
    prim: Prim | None
    tree: list
    inputs: list


def discover(folder: str | Path, target_id: str, outcome: str = "miss", alpha: float = 0.05,
             min_support: float = 0.05, paste: bool = True, n_boxes: int = 1, max_depth: int = 3,
             step: int | None = None, targets: Sequence[Target] | None = None) -> Discovery:
    """PRIM and CART on an ensemble folder for the runs that ``outcome`` ("miss" or "meet") ``target_id``.

    ``alpha``, ``min_support``, ``paste``, ``n_boxes`` and ``step`` are PRIM's (see :func:`prim`),
    ``max_depth`` CART's; ``targets`` gives the target's name (default ``models/targets.toml``).
    """
    if outcome not in ("miss", "meet"):
        raise UserError(f"outcome must be 'miss' or 'meet', got {outcome!r}")
    check_settings(alpha, min_support, n_boxes, max_depth, step)
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: ensemble folder not found (save an ensemble there first)")
    ensemble = load_ensemble(folder)
    known = [c for c in ensemble.outcomes.columns if c != "failed" and ":" not in c]
    if target_id not in known:
        close = difflib.get_close_matches(target_id, known, n=3, cutoff=0.5)
        hint = f" (did you mean: {', '.join(close)}?)" if close else f" (assessed: {', '.join(known)})"
        raise UserError(f"target: '{target_id}' is not a target of the ensemble in {folder}{hint}", param="target")
    flags = ensemble.outcomes[target_id].to_numpy()
    valid = (flags >= 0) & ~ensemble.outcomes["failed"].to_numpy(bool)
    x = ensemble.samples.loc[valid]
    x = x[[c for c in x.columns if x[c].nunique() > 1]].astype(float)  # a fixed input explains nothing
    y = flags[valid] == (0 if outcome == "miss" else 1)
    target = next((t for t in (load_targets() if targets is None else targets) if t.id == target_id), None)
    found = None
    if 0 < y.sum() < len(y) and len(x.columns):
        found = prim(x, y, alpha, min_support, paste, n_boxes, step)
    tree = cart(x, y, max_depth) if len(x.columns) and len(y) else []
    return Discovery(target, target_id, outcome, int(valid.sum()), int(y.sum()), found, tree, list(x.columns))


def check_settings(alpha, min_support, n_boxes, max_depth, step) -> None:
    """Refuse PRIM/CART settings that would otherwise be clamped or ignored, each naming its parameter."""
    def whole(value, param, low):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise UserError(f"{param} must be a whole number of at least {low}, got {value!r}", param=param)

    for value, param, high in ((alpha, "alpha", 0.5), (min_support, "min_support", 1.0)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < high:
            raise UserError(f"{param} must be a number between 0 and {high:g} (exclusive), got {value!r}",
                            param=param)
    whole(n_boxes, "n_boxes", 1)
    whole(max_depth, "max_depth", 1)
    if step is not None:
        whole(step, "step", 0)


SENTENCE = catalogue("lib.discovery.sentence")


def number(value: float) -> str:
    """A threshold as people read it: 3 significant digits, whole part kept (a year stays a year)."""
    if abs(value) >= 100:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return np.format_float_positional(value, precision=3, fractional=False, trim="-")


def _percent(share: float) -> str:
    return f"{100 * share:.0f} %"


def box_sentence(box: Box, target_name: str, outcome: str, name_of, lang: str = "zh") -> str:
    """The box in one plain sentence; ``name_of(input_id)`` gives an input's display name."""
    template, joiner, verbs = SENTENCE["en" if lang == "en" else "zh"]
    conditions = []
    for ident, (low, high) in box.limits.items():
        name = name_of(ident)
        if low is not None and high is not None:
            conditions.append(f"{number(low)} < {name} < {number(high)}")
        else:
            conditions.append(f"{name} > {number(low)}" if low is not None else f"{name} < {number(high)}")
    verb, cases = verbs[outcome]
    return template.format(conditions=joiner.join(conditions), target=target_name, verb=verb, cases=cases,
                           density=_percent(box.density), coverage=_percent(box.coverage), mass=_percent(box.mass))


def tree_lines(tree: list, outcome: str, name_of, lang: str = "zh") -> list[str]:
    """The CART tree as indented lines: the condition, the runs reaching it and the share of cases."""
    verb = SENTENCE["en" if lang == "en" else "zh"][2][outcome][0]
    runs = "runs" if lang == "en" else "次模拟"
    everything = "all runs" if lang == "en" else "全部模拟"
    lines = []

    def walk(index: int, condition: str, indent: int) -> None:
        node = tree[index]
        share = node["n_cases"] / node["n_runs"] if node["n_runs"] else 0.0
        lines.append(f"{'  ' * indent}{condition}: {node['n_runs']} {runs}, {_percent(share)} {verb}")
        if "input" in node:
            name, threshold = name_of(node["input"]), number(node["threshold"])
            walk(node["left"], f"{name} < {threshold}", indent + 1)
            walk(node["right"], f"{name} ≥ {threshold}", indent + 1)

    if tree:
        walk(0, everything, 0)
    return lines
