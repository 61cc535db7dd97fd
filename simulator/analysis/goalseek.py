"""Goal seeking: the smallest change to chosen levers that meets chosen plan targets, for certain or with
probability >= p over samples of the uncertain inputs (sample-average constraints, common random numbers).

In normalised lever units ``z_i = (x_i - x0_i) / (max_i - min_i)`` the problem is::

    minimise    sum_i w_i z_i**2         (norm "l2"; "l1": sum_i w_i |z_i|, which moves fewer levers)
    subject to  G_j(z) >= 0 for every chosen target j, each x_i within its Vensim range,

``G_j`` being target j's margin / |target value| in one run or, with probability p over n samples, the
``ceil(p n)``-th largest of the n margins (at least p n samples meet it). The samples are drawn once and
reused at every z (common random numbers), so ``G_j`` is a deterministic, piecewise-smooth function of z.
A peak-year margin (whole years) is a step function; it is replaced by a continuous surrogate of the same
sign, (highest level up to the target year - highest level after it) / highest level.

The solver is sequential linear/quadratic programming in a trust region with forward-difference
gradients: each iteration is one batch on the fast engine (the trial steps and the (k + 1) x n runs of
the next gradient together), because a batch of 100 runs costs about what one run costs. It sees the
order statistic smoothed over neighbouring ranks (the exact one jumps from sample to sample, and its
gradient with it); the answer is checked on the exact one, and re-solved demanding a few more samples
while it falls short. When no point meets every target, the closest reachable point maximises the
smallest normalised margin.

Levers are :class:`simulator.analysis.levers.Lever`: a time-path lever moves with its value in the plan
year, ramping from the last history year (see that module).
A constant lever acts from the model's first year, so moving it also changes the simulated 2015-2020
history; the answer flags such levers (``changes_history``).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from simulator import runner as api
from simulator.analysis.levers import Lever, default_levers, make_lever, round_value
from simulator.analysis.optimize import (
    SAFETY,
    _change_problem,
    _max_min_problem,
    _trust_region,
)
from simulator.analysis.uncertainty import load_uncertainty, timed_columns
from simulator.errors import UserError
from simulator.model.mdl import Model
from simulator.model.naming import canonical_id
from simulator.project import Project
from simulator.runner import run_overrides
from simulator.scenarios import Scenario
from simulator.targets import Target, load_targets, run_outcomes

NORMS = ("l2", "l1")
BIND_TOL = 1e-3  # a target binds when its margin is within 0.1 % of the target value
FAILED = -10.0  # normalised margin of a failed (NaN/inf) run: far below any met target
WINDOW = 0.05  # half-width of the smoothing window of the order statistic, as a share of the samples


def lookup_targets(ids: Sequence[str], targets: Sequence[Target], indicators: dict,
                   param: str = "targets") -> list[Target]:
    """The targets named by ``ids``; an unknown or unassessable id raises a one-line UserError naming ``param``."""
    by_id = {t.id: t for t in targets}
    chosen = []
    for ident in ids:
        target = by_id.get(ident)
        if target is None:
            close = difflib.get_close_matches(ident, list(by_id), n=3, cutoff=0.5)
            hint = f" (did you mean: {', '.join(close)}?)" if close else ""
            raise UserError(f"{param}: unknown target '{ident}'{hint}", param=param)
        if target.value is None or target.indicator not in indicators:
            raise UserError(f"{param}: target '{ident}' cannot be assessed on the model (no value or indicator)",
                            param=param)
        chosen.append(target)
    if not chosen:
        raise UserError(f"{param}: name at least one target id", param=param)
    return chosen


def _peak_surrogate(x: np.ndarray, years: np.ndarray, year: int) -> np.ndarray:
    """(max up to ``year`` - max after it) / max |x|: >= 0 exactly when the run peaks by ``year``."""
    cut = min(year, int(years[-1]) - 1)  # a maximum in the last year means "not yet peaked"
    before = years <= cut
    if not before.any():
        return np.full(x.shape[0], -1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (x[:, before].max(axis=1) - x[:, ~before].max(axis=1)) / np.abs(x).max(axis=1)


class _Problem:
    """Evaluates the targets for batches of lever settings (rows of Z) over the samples."""

    def __init__(self, model, fixed, levers, targets, indicators, samples, p, joint, progress):
        self.model, self.levers, self.targets, self.joint = model, levers, targets, joint
        self.samples = samples if samples is not None and len(samples.columns) else None
        self.before = dict(fixed)  # values before an input's from_year (see timed_columns)
        self.fixed = {k: v for k, v in fixed.items() if self.samples is None or k not in self.samples.columns}
        self.variables = {t.indicator: indicators[t.indicator] for t in targets}
        self.years = np.asarray(model.years, dtype=int)
        self.n = len(samples) if samples is not None else 1
        self.rank = math.ceil(p * self.n - 1e-9) if p is not None else 1
        self.shift = np.zeros(1 if joint else len(targets), int)  # extra samples demanded (see _meet)
        self.scale = np.array([abs(t.value) or 1.0 for t in targets])
        self.progress, self.runs = progress, 0

    def simulate(self, Z: np.ndarray) -> dict:
        """Runs of every row of Z (m, k) x every sample: g, margin (m, n, J) and met (m, n, J)."""
        m, n = Z.shape[0], self.n
        overrides = dict(self.fixed)
        if self.samples is not None:
            tiled = {c: np.tile(self.samples[c].to_numpy(float), m) for c in self.samples.columns}
            overrides.update(timed_columns(tiled, self.samples.attrs.get("from_year", {}), self.before, self.model))
        for i, lever in enumerate(self.levers):
            overrides[lever.id] = lever.override(np.repeat(lever.values(Z[:, i]), n))
        _, values = run_overrides(self.model, overrides, m * n, variables=sorted(set(self.variables.values())))
        series = {ind: values[var] for ind, var in self.variables.items()}
        wide = run_outcomes(self.targets, series, self.years)
        shape = (m, n, len(self.targets))
        margin, g, met = np.empty(shape), np.empty(shape), np.empty(shape, bool)
        for j, target in enumerate(self.targets):
            simulated = wide[f"{target.id}:value"].to_numpy(float)
            margin[:, :, j] = target.margin(simulated).reshape(m, n)
            if target.test == "peak_by":
                surrogate = _peak_surrogate(series[target.indicator], self.years, int(target.value))
            else:
                surrogate = margin[:, :, j].ravel() / self.scale[j]
            g[:, :, j] = np.where(np.isfinite(surrogate), surrogate, FAILED).reshape(m, n)
            met[:, :, j] = (wide[target.id].to_numpy() == 1).reshape(m, n)
        self.series, self.runs = series, self.runs + m * n
        if self.progress:
            self.progress(self.runs)
        return {"g": g, "margin": margin, "met": met}

    def constraints(self, sim: dict, per_target: bool = False, exact: bool = False) -> np.ndarray:
        """G (m, J), or (m, 1) for a joint chance constraint: the rank-th largest g over the samples.

        Unless ``exact``, the order statistic is smoothed by a triangular window over ``WINDOW * n``
        neighbouring ranks: the exact one switches from one sample to another as z moves, and its
        gradient with it, which stalls the solver; the smoothed one changes gradient little at a switch.
        """
        g = sim["g"] if per_target or not self.joint else sim["g"].min(axis=2, keepdims=True)
        ordered = np.sort(g, axis=1)
        centre = self.n - self.rank
        if exact or self.n == 1:
            return ordered[:, centre, :]
        half = max(1, round(WINDOW * self.n))
        offsets = np.arange(-half, half + 1)
        weights = (half + 1 - np.abs(offsets)) / (half + 1) ** 2
        shift = self.shift if g.shape[2] == len(self.shift) else np.zeros(g.shape[2], int)
        index = np.clip(centre - shift[None, :] + offsets[:, None], 0, self.n - 1)
        return np.einsum("mwj,w->mj", np.take_along_axis(ordered, index[None], axis=1), weights)


@dataclass
class GoalSeekResult:
    """What goal seeking found.

    Attributes
    ----------
    start : Scenario
        The starting scenario.
    levers : DataFrame
        One row per lever considered, largest change first: ``lever``, ``kind``, ``from``, ``to`` (lever's
        unit; a time path's value in the plan year), ``change_pct`` (change in % of the lever's range),
        ``changes_history`` (moving it also changes the simulated past, up to the last history year).
    targets : DataFrame
        One row per target: ``id``, ``name_zh``, ``name_en``, ``unit``, ``margin_before``, ``margin_after``
        (target's unit; with p, the margin that p of the samples reach), ``probability_before``,
        ``probability_after`` (share of samples that meet it; 0/1 for one run), ``binds``, ``out_of_reach``,
        ``no_uncertainty`` (with p: the margin is the same in every sample after the change, so the
        probability is 0 or 1 by the levers, not a sampled chance).
    feasible, already_met : bool
        The targets are met at the answer / were met at the start.
    overrides : dict
        Lever id -> new value (number or time path), for the levers that moved.
    settings : dict
        p, n, seed, sampler, norm, joint, runs, targets (ids), dropped (levers without effect on them) and
        history (levers whose move also changes the simulated years up to the last history year).
    """

    start: Scenario
    levers: pd.DataFrame
    targets: pd.DataFrame
    feasible: bool
    already_met: bool
    overrides: dict
    settings: dict = field(default_factory=dict)


def goal_seek(
    scenario: str | Path | Scenario,
    target_ids: Sequence[str],
    levers: Sequence[str] | None = None,
    p: float | None = None,
    n: int = 200,
    seed: int = 0,
    sampler: str = "lhs",
    weights: dict | None = None,
    norm: str = "l2",
    joint: bool = False,
    progress: Callable[[int], None] | None = None,
    model: Model | None = None,
    targets: Sequence[Target] | None = None,
    indicators: dict | None = None,
    sectors: dict | None = None,
    uncertainty_path: Path | None = None,
) -> GoalSeekResult:
    """Find the smallest change to ``levers`` that meets the targets ``target_ids``.

    Parameters
    ----------
    scenario : str, Path or Scenario
        Starting scenario (its levers and calibration are the starting point).
    target_ids : sequence of str
        Target ids (``models/targets.toml`` or ``targets``).
    levers : sequence of str, optional
        Lever ids to move; default the policy levers of the labels' sectors that affect these targets.
    p : float in (0, 1), optional
        Meet each target (every target together if ``joint``) in at least a share p of ``n`` samples of
        the uncertain inputs (``seed``, ``sampler``); None: one deterministic run.
    weights : dict, optional
        Lever id -> cost weight (default 1) on its normalised change.
    norm : {"l2", "l1"}
        Distance: sum of squared or of absolute normalised changes.
    progress : callable(runs), optional
        Called after each batch with the number of runs so far.
    model, targets, indicators, sectors, uncertainty_path : optional
        Another model, target list, indicator -> variable map, lever sectors or uncertainty file
        (defaults: the Jinan model, ``models/targets.toml``, labels, ``scenarios/uncertainty.toml``).

    Returns
    -------
    GoalSeekResult
        The levers' new values, the targets' margins and probabilities before and after, which bind or
        stay out of reach; :func:`write_scenario` writes it as a scenario file.

    Raises
    ------
    UserError
        Unknown or unassessable target, unknown lever or not a lever, p outside (0, 1), bad weight.
    """
    if p is not None and not 0.0 < p < 1.0:
        raise UserError(f"p: a probability strictly between 0 and 1, got {p}", param="p")
    if norm not in NORMS:
        raise UserError(f"norm: '{norm}' is not one of {', '.join(NORMS)}", param="norm")
    if p is not None and n < 2:
        raise UserError(f"n: at least 2 samples for a probability, got {n}", param="n")
    model = model or api.load()
    scen = scenario if isinstance(scenario, Scenario) else api.scenario(scenario, model)
    labels = api.labels() if indicators is None or sectors is None else None
    indicators = labels.indicators if indicators is None else indicators
    sectors = labels.sectors if sectors is None else sectors
    chosen = lookup_targets(list(target_ids), load_targets() if targets is None else targets, indicators)
    fixed, _ = api.resolve_overrides(model, scen)
    project = Project.default()
    path = project.uncertainty_path if uncertainty_path is None else Path(uncertainty_path)
    # the Jinan uncertainty file describes only the Jinan model: read it for another model only when asked
    wanted = p is not None or (path.is_file() and (uncertainty_path is not None or model.path == project.model_path))
    unc = load_uncertainty(path, model, project.root) if wanted else None
    uncertain = unc.names if unc is not None else []
    weights = {canonical_id(k): float(v) for k, v in (weights or {}).items()}
    if levers:
        names = list(dict.fromkeys(map(canonical_id, levers)))
    else:
        names = default_levers(model, sectors, uncertain, labels.policy if labels else None)
    labels = labels or api.labels()
    moved = [make_lever(model, x, fixed, labels, weights.get(x, 1.0)) for x in names]
    for key, w in weights.items():
        if key not in names or not (math.isfinite(w) and w > 0):
            raise UserError(f"weights: '{key}' must be a chosen lever with a positive weight, got {w}", param="weights")
    screen = _Problem(model, fixed, moved, chosen, indicators, None, None, False, progress)
    moved, dropped, corner, history = _screen(screen, moved, labels.year("last_history"))
    if not moved:
        raise UserError(f"levers: none of the levers {', '.join(names)} changes these targets", param="levers")
    samples = None
    if p is not None:
        samples = unc.without(scen.overrides).without([x.id for x in moved]).sample(n, seed, sampler)
    problem = _Problem(model, fixed, moved, chosen, indicators, samples, p, joint, progress)
    problem.runs = screen.runs
    low = np.array([(x.low - x.start) / x.span for x in moved])
    high = np.array([(x.high - x.start) / x.span for x in moved])
    w = np.array([x.weight for x in moved])
    z = np.zeros(len(moved))
    already = bool((problem.constraints(problem.simulate(z[None]), exact=True)[0] >= 0).all())
    if not already:
        z = _solve(problem, low, high, w, norm, corner)
    return _report(problem, scen, moved, z, already, dropped, {"p": p, "n": problem.n, "seed": seed,
                   "sampler": sampler, "norm": norm, "joint": joint, "targets": [t.id for t in chosen],
                   "history": history})


def _meet(problem, low, high, z, change):
    """Smallest change from ``z`` on the smoothed constraints, re-solved demanding more samples while the
    exact order statistic is still short; returns (z, met exactly)."""
    for _ in range(4):
        z, G, _ = _trust_region(problem, low, high, z, *change)
        if not (G >= 0).all():
            return z, False
        sim = problem.simulate(z[None])
        if (problem.constraints(sim, exact=True)[0] >= 0).all():
            return z, True
        g = sim["g"][0] if not problem.joint else sim["g"][0].min(axis=1, keepdims=True)
        problem.shift += np.maximum(problem.rank - (g >= 0).sum(axis=0), 0)
    return z, False


def _solve(problem, low, high, weights, norm, corner) -> np.ndarray:
    """The smallest change that meets every target or, if none is found, the closest reachable point."""
    change = _change_problem(weights, norm, low, high)
    z, met = _meet(problem, low, high, np.zeros(len(low)), change)
    if met:
        return z
    # max-min from there and from the corner that helps the missed targets most (not convex: two tries);
    # of the tries that reach every target the nearer, else the one with the larger smallest margin
    reach = _max_min_problem(low, high)
    tries = [_trust_region(problem, low, high, start, *reach)[:2] for start in (z, corner)]
    z, G = max(tries, key=lambda pair: (min(pair[1].min(), SAFETY), -np.abs(pair[0]).sum()))
    if (problem.constraints(problem.simulate(z[None]), exact=True)[0] >= 0).all():
        nearer, met = _meet(problem, low, high, z, change)
        return nearer if met else z
    return z


def _screen(problem: _Problem, levers: list[Lever], last_history: int):
    """One batch with each lever at its min and max: keep the levers that move a target's margin.

    Returns the kept levers, the ids dropped, the corner of the box that helps the missed targets most,
    and the ids of the levers whose move changes the targets' indicators up to the last history year (history).
    """
    k = len(levers)
    low = np.array([(x.low - x.start) / x.span for x in levers])
    high = np.array([(x.high - x.start) / x.span for x in levers])
    Z = np.zeros((2 * k + 1, k))
    Z[1 : k + 1][np.diag_indices(k)] = low
    Z[k + 1 :][np.diag_indices(k)] = high
    G = problem.constraints(problem.simulate(Z), per_target=True)
    keep = np.abs(G[1:] - G[0]).reshape(2, k, -1).max(axis=(0, 2)) > 1e-9
    early = problem.years <= last_history
    history = np.zeros(k, bool)
    for x in problem.series.values():
        change = np.abs(x[1:, early] - x[0, early]).max(axis=1, initial=0.0) > 1e-9 * np.abs(x[0]).max()
        history |= change.reshape(2, k).any(axis=0)
    missed = G[0] < 0
    gain = (G[k + 1 :] - G[1 : k + 1])[:, missed if missed.any() else slice(None)].sum(axis=1)
    corner = np.where(gain > 0, high, np.where(gain < 0, low, 0.0))[keep]
    kept = [x for x, flag in zip(levers, keep, strict=True) if flag]
    dropped = [x.id for x, flag in zip(levers, keep, strict=True) if not flag]
    return kept, dropped, corner, {x.id for x, flag in zip(levers, history, strict=True) if flag}


def _flat(margins: np.ndarray, tol: float = 1e-6) -> bool:
    """True when a target's margin is the same in every sample: its probability is 0 or 1 by the levers and
    fixed assumptions, not a sampled chance (shown flagged, not as a bare 0 % / 100 %)."""
    finite = margins[np.isfinite(margins)]
    return bool(len(finite) == len(margins) and np.ptp(finite) <= tol * max(1.0, float(np.abs(finite).max())))


def _report(problem, scen, levers, z, already, dropped, settings) -> GoalSeekResult:
    """Round the answer as it will be written, run it and the start, and tabulate both."""
    z = np.where(np.abs(z) < 1e-7, 0.0, z)  # solver dust: far below any effect on a margin (SAFETY)
    x = np.array([min(max(round_value(lv.values(zi)), lv.low), lv.high) for lv, zi in zip(levers, z, strict=True)])
    z = np.array([(xi - lv.start) / lv.span for lv, xi in zip(levers, x, strict=True)])
    z[np.abs(z) < 1e-12] = 0.0
    sim = problem.simulate(np.vstack([np.zeros(len(levers)), z]))
    G = np.minimum(problem.constraints(sim, per_target=True, exact=True),
                   problem.constraints(sim, per_target=True) if not problem.joint else np.inf)
    order = problem.n - problem.rank
    margins = np.sort(np.where(np.isnan(sim["margin"]), -np.inf, sim["margin"]), axis=1)[:, order, :]
    probability = sim["met"].mean(axis=1)
    p = settings["p"] if settings["p"] is not None else 1.0
    joint_met = sim["met"].all(axis=2).mean(axis=1) >= p - 1e-12
    joint_tight = sim["met"].all(axis=2)[1].sum() == problem.rank  # one sample fewer and p is missed
    feasible = bool(joint_met[1] if settings["joint"] else (probability[1] >= p - 1e-12).all())
    rows = [{"id": t.id, "name_zh": t.name_zh, "name_en": t.name_en, "unit": t.unit,
             "margin_before": margins[0, j], "margin_after": margins[1, j],
             "probability_before": probability[0, j], "probability_after": probability[1, j],
             "binds": feasible and not already and (bool(joint_tight and probability[1, j] < 1) if settings["joint"]
                                                    else bool(G[1, j] <= BIND_TOL)),
             "out_of_reach": not feasible and (probability[1, j] < p - 1e-12 or G[1, j] < 0),
             "no_uncertainty": settings["p"] is not None and _flat(sim["margin"][1, :, j])}
            for j, t in enumerate(problem.targets)]
    table = pd.DataFrame(rows).replace([np.inf, -np.inf], np.nan)
    lever_rows = [{"lever": lv.id, "kind": lv.kind, "from": lv.start, "to": xi, "change_pct": 100.0 * zi,
                   "changes_history": lv.id in settings["history"]} for lv, xi, zi in zip(levers, x, z, strict=True)]
    lever_table = pd.DataFrame(lever_rows, columns=["lever", "kind", "from", "to", "change_pct", "changes_history"])
    lever_table = lever_table.reindex(lever_table["change_pct"].abs().sort_values(ascending=False).index)
    overrides = {lv.id: lv.scenario_value(xi) for lv, xi, zi in zip(levers, x, z, strict=True) if zi != 0.0}
    settings.update(runs=problem.runs, dropped=dropped)
    return GoalSeekResult(scen, lever_table.reset_index(drop=True), table, feasible, already, overrides, settings)
