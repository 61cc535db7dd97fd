"""Weighted least squares of the model on the observations: parameters, objective, optimisers, uncertainty.

The objective is the sum of squared normalised residuals ``(model - observation) / sigma`` of the ``fit``
observations plus one prior residual per parameter, ``(theta - default) / (PRIOR_WIDTH * range)``: a weak
Gaussian prior toward the model's value that holds parameters the data cannot see where the modeller put
them. Parameters are optimised in unit coordinates ``u = (theta - min) / (max - min)`` inside their Vensim
ranges. Every simulation is a batch on the fast engine: one run per start, per Jacobian column (central
differences) or per member of the differential-evolution population.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import differential_evolution, least_squares

# the seed, the starts of the multi-start search and the methods are defined once, in the package's light
# module (the CLI's parsers read them there without importing this module's scipy.optimize)
from calibration import DEFAULT_SEED, DEFAULT_STARTS, METHODS
from calibration.observations import Observations, Predictor
from simulator.errors import UserError
from simulator.runner import run_overrides

#: Prior standard deviation as a fraction of each parameter's range.
PRIOR_WIDTH = 0.5

# Central-difference step in unit coordinates: the Euler model is smooth to ~1e-15, so 1e-6 of a range
# keeps truncation and rounding error both near 1e-10.
_STEP = 1e-6
# Posterior / prior standard deviation below which a parameter counts as identified (weakly below 0.9).
_IDENTIFIED, _WEAK = 0.5, 0.9


@dataclass(frozen=True)
class Parameter:
    """A fitted quantity: a model constant, or a nuisance parameter of the observations.

    Attributes
    ----------
    id : str
        Model constant id, or the nuisance parameter's name.
    default, low, high : float
        Prior mean (the model's value) and bounds (the Vensim range) [``units``].
    units : str
    nuisance : bool
        True for a parameter of the observations only (not written under ``[parameters]``).
    """

    id: str
    default: float
    low: float
    high: float
    units: str = ""
    nuisance: bool = False

    @property
    def span(self) -> float:
        """Width of the range [``units``]."""
        return self.high - self.low


#: The 2020 census re-basing factor k = census basis / pre-census basis: pre-census population
#: observations are compared with model / k. Bounds: the census moved Chinese city totals by a few
#: percent; 0.95-1.10 leaves room either way.
CENSUS_REBASING = Parameter("census_rebasing_factor", 1.0, 0.95, 1.10, "Dmnl", nuisance=True)


def calibrated_parameters(model) -> list[Parameter]:
    """Every constant whose documentation says CALIBRATED, in model order, then the census factor."""
    params = []
    for element in model.elements.values():
        if element.kind == "constant" and element.is_lever and "CALIBRATED" in element.doc:
            low, high, _ = element.limits
            params.append(Parameter(element.id, float(element.default), low, high, element.units))
    return [*params, CENSUS_REBASING]


class Problem:
    """Residuals of the fit observations and the prior as functions of the parameters.

    Parameters
    ----------
    model : simulator.model.Model
    observations : Observations
    parameters : list of Parameter, optional
        Default :func:`calibrated_parameters`.
    base_overrides : dict, optional
        Scenario overrides the fit runs under (default: none, the model as written).
    prior_width : float
        Prior standard deviation as a fraction of each range.
    """

    def __init__(self, model, observations: Observations, parameters=None, base_overrides=None,
                 prior_width: float = PRIOR_WIDTH) -> None:
        self.model = model
        self.observations = observations
        self.parameters = list(parameters if parameters is not None else calibrated_parameters(model))
        ids = [p.id for p in self.parameters]
        if len(set(ids)) != len(ids):
            raise UserError("calibration: a parameter is listed twice")
        for p in self.parameters:
            if not p.nuisance and p.id not in model.elements:
                raise UserError(f"calibration: unknown model constant '{p.id}'")
            if not (p.low < p.high) or not (p.low <= p.default <= p.high):
                raise UserError(f"calibration: '{p.id}' needs low < high and its default inside them")
        self.base_overrides = dict(base_overrides or {})
        self.prior_width = float(prior_width)
        self.table = observations.select("fit")
        if self.table.empty:
            raise UserError(f"{observations.path.name}: no observation has use = fit")
        self.predictor = Predictor(self.table, model.years)
        self.low = np.array([p.low for p in self.parameters])
        self.span = np.array([p.span for p in self.parameters])
        self.u_default = np.array([(p.default - p.low) / p.span for p in self.parameters])
        self._nuisance = {p.id: j for j, p in enumerate(self.parameters) if p.nuisance}
        self.runs = 0
        #: The fast engine's backend that ran the last batch ("compiled" or "numpy"; None before any run).
        self.backend: str | None = None
        #: Stop runs at this year [Year] (None: the model's final time); see :meth:`simulator.engines.fast.Plan.until`.
        self.final_year: float | None = None

    @property
    def n_parameters(self) -> int:
        """Number of fitted quantities P (model constants and nuisance parameters)."""
        return len(self.parameters)

    def theta(self, u: np.ndarray) -> np.ndarray:
        """Natural values from unit coordinates, same shape."""
        return self.low + np.asarray(u, float) * self.span

    def unit(self, theta: np.ndarray) -> np.ndarray:
        """Unit coordinates from natural values, same shape."""
        return (np.asarray(theta, float) - self.low) / self.span

    def simulate(self, theta: np.ndarray, table=None) -> np.ndarray:
        """Model counterparts of the observations, shape ``(n, M)``, for parameter rows ``theta (n, P)``.

        ``table`` (default: the fit observations) may be any validated observations table.
        """
        theta = np.atleast_2d(theta)
        predictor = self.predictor if table is None else Predictor(table, self.model.years)
        values = self.run(theta, sorted({v for row in predictor.rows for v in row[1]}))
        return predictor.quantities(values, self.rebasing(theta))

    def run(self, theta: np.ndarray, variables: list[str]) -> dict:
        """Model values ``{variable: (n, T)}`` for parameter rows ``theta (n, P)`` (one fast-engine batch)."""
        theta = np.atleast_2d(theta)
        overrides = dict(self.base_overrides)
        for j, p in enumerate(self.parameters):
            if not p.nuisance:
                overrides[p.id] = theta[:, j].copy()
        used: dict = {}
        _, values = run_overrides(self.model, overrides, theta.shape[0], variables=list(variables),
                                  until=self.final_year, used=used)
        self.runs += theta.shape[0]
        self.backend = used.get("backend")
        return values

    def rebasing(self, theta: np.ndarray):
        """Census re-basing factor per row of ``theta`` (1 when it is not fitted)."""
        j = self._nuisance.get(CENSUS_REBASING.id)
        return 1.0 if j is None else np.atleast_2d(theta)[:, j]

    def residuals(self, u: np.ndarray) -> np.ndarray:
        """Data residuals then prior residuals, shape ``(n, M + P)``, for unit coordinates ``u (n, P)``."""
        u = np.atleast_2d(u)
        data = self.predictor.residuals(self.simulate(self.theta(u)))
        prior = (u - self.u_default) / self.prior_width
        return np.hstack([data, prior])

    def objective(self, u: np.ndarray) -> np.ndarray:
        """Data chi2 plus prior terms per row of unit coordinates ``u (n, P)``, shape ``(n,)`` [dimensionless]."""
        r = self.residuals(u)
        return np.sum(r * r, axis=1)

    def jacobian(self, u: np.ndarray) -> np.ndarray:
        """d residuals / d u by central differences in one batch of 2P runs, shape ``(M + P, P)``."""
        u = np.asarray(u, float)
        steps = np.eye(self.n_parameters) * _STEP
        batch = np.vstack([u + steps, u - steps])
        r = self.residuals(batch)
        n = self.n_parameters
        return ((r[:n] - r[n:]) / (2 * _STEP)).T


@dataclass
class FitResult:
    """The optimum, its uncertainty and how it was found.

    ``theta`` are natural values rounded to 6 significant digits (what ``calibrated.toml`` holds and the
    report evaluates); ``std_error`` and ``correlation`` come from the Gauss-Newton covariance
    ``s2 * inv(J'J)`` at that point, J the Jacobian of data and prior residuals, ``s2 = max(1, chi2/M)``.
    """

    problem: Problem
    method: str
    seed: int
    starts: int
    theta: np.ndarray
    std_error: np.ndarray
    correlation: np.ndarray
    ratio_to_prior: np.ndarray
    chi2_data: float
    chi2_prior: float
    variance_scale: float
    start_costs: list = field(default_factory=list)
    runs: int = 0
    seconds: float = 0.0
    #: Replaces the header of ``calibrated.toml`` and adds or replaces entries of its ``[calibration]``
    #: table (the posterior's MAP draw says how it was made).
    header: str = ""
    describe: dict = field(default_factory=dict)
    #: Whether the point is the posterior's MAP point: header lines and ``[calibration]`` entries from
    #: :func:`calibration.map_point.check_against_posterior` (None: not checked, nothing written about it).
    map_check: dict | None = None

    @property
    def objective(self) -> float:
        """Sum of squared normalised residuals, data and prior [dimensionless]."""
        return self.chi2_data + self.chi2_prior

    def identification(self) -> list[str]:
        """Per parameter: "identified", "weak" or "prior" (the data barely moves its uncertainty)."""
        return ["identified" if r < _IDENTIFIED else "weak" if r < _WEAK else "prior"
                for r in self.ratio_to_prior]

    def at_bound(self) -> list[bool]:
        """Per parameter: True within 1e-4 of a range's end (its standard error is then one-sided)."""
        u = self.problem.unit(self.theta)
        return [bool(x < 1e-4 or x > 1 - 1e-4) for x in u]


def _round(x: float, digits: int = 6) -> float:
    return float(f"{x:.{digits}g}") if math.isfinite(x) else x


def fit(problem: Problem, seed: int = DEFAULT_SEED, starts: int = DEFAULT_STARTS, method: str = "multistart",
        progress: bool = False, popsize: int = 6, maxiter: int = 150, max_nfev: int = 60) -> FitResult:
    """Minimise the objective; return the optimum with standard errors and correlations.

    Parameters
    ----------
    problem : Problem
    seed : int
        Seeds the start points (multistart) or the population (global); same seed, same result.
    starts : int
        Multistart: least-squares runs from the defaults and ``starts - 1`` uniform random points.
    method : {"multistart", "global"}
        ``global``: ``differential_evolution`` (vectorised: a generation is one batch) polished by
        ``least_squares``, which is also run from the defaults; the better optimum wins.
    progress : bool
        Show a tqdm progress bar on stderr.
    popsize, maxiter : int
        Differential evolution's population multiplier and generation limit.
    max_nfev : int
        Residual evaluations per least-squares run.
    """
    if method not in METHODS:
        raise UserError(f"unknown calibration method '{method}' (use {' or '.join(METHODS)})")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UserError(f"seed must be a non-negative integer, got {seed!r}", param="seed")
    if starts < 1:
        raise UserError(f"starts must be at least 1, got {starts}", param="starts")
    from tqdm import tqdm

    clock = time.perf_counter()
    problem.runs = 0
    rng = np.random.default_rng(seed)
    n = problem.n_parameters
    if method == "multistart":
        points = np.vstack([problem.u_default, rng.uniform(size=(starts - 1, n))])
        bar = tqdm(total=starts, desc="calibrating (multistart)", unit="start", disable=not progress,
                   file=sys.stderr, leave=False)
    else:
        bar = tqdm(total=maxiter + 2, desc="calibrating (global)", unit="gen", disable=not progress,
                   file=sys.stderr, leave=False)
        best = _evolve(problem, rng, popsize, maxiter, bar)
        points = np.vstack([best, problem.u_default])
    solutions = []
    with bar:
        for x0 in points:
            solution = _local(problem, x0, max_nfev)
            solutions.append(solution)
            bar.update()
            bar.set_postfix(best=f"{2 * min(s.cost for s in solutions):.4g}")
    costs = [2 * s.cost for s in solutions]
    winner = solutions[int(np.argmin(costs))]  # argmin: ties go to the earliest start
    theta = np.array([_round(x) for x in problem.theta(np.clip(winner.x, 0, 1))])
    theta = np.clip(theta, problem.low, problem.low + problem.span)
    result = _uncertainty(problem, theta)
    result.method, result.seed, result.starts = method, seed, len(points)
    result.start_costs = costs
    result.runs = problem.runs
    result.seconds = time.perf_counter() - clock
    return result


def _local(problem: Problem, x0: np.ndarray, max_nfev: int):
    return least_squares(
        lambda u: problem.residuals(u)[0], x0, jac=problem.jacobian, bounds=(0.0, 1.0), method="trf",
        x_scale=1.0, ftol=1e-10, xtol=1e-10, gtol=1e-10, max_nfev=max_nfev,
    )


def _evolve(problem: Problem, rng: np.random.Generator, popsize: int, maxiter: int, bar) -> np.ndarray:
    """Best point of a vectorised differential evolution in unit coordinates."""

    def cost(u_columns: np.ndarray) -> np.ndarray:  # (P, S) -> (S,)
        return problem.objective(np.atleast_2d(u_columns.T))

    result = differential_evolution(
        cost, [(0.0, 1.0)] * problem.n_parameters, popsize=popsize, maxiter=maxiter, tol=1e-8,
        rng=rng, polish=False, vectorized=True, updating="deferred", init="latinhypercube",
        x0=problem.u_default, callback=lambda *args, **kwargs: _tick(bar),
    )
    return result.x


def _tick(bar) -> None:
    # tqdm's update() may return True, which differential_evolution would read as "stop".
    bar.update()


def _uncertainty(problem: Problem, theta: np.ndarray) -> FitResult:
    u = problem.unit(theta)
    r = problem.residuals(u)[0]
    m = len(problem.predictor)
    chi2_data, chi2_prior = float(r[:m] @ r[:m]), float(r[m:] @ r[m:])
    jac = problem.jacobian(u)
    information = jac.T @ jac
    cov_u = np.linalg.pinv(information, hermitian=True)
    # Misfit beyond the stated sigmas widens every interval (Birge ratio); never narrows them.
    scale = max(1.0, chi2_data / max(1, m))
    sd_u = np.sqrt(np.clip(np.diag(cov_u), 0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov_u / np.outer(sd_u, sd_u)
    corr = np.where(np.isfinite(corr), corr, 0.0)
    np.fill_diagonal(corr, 1.0)
    return FitResult(
        problem=problem, method="", seed=0, starts=0, theta=theta,
        std_error=np.sqrt(scale) * sd_u * problem.span, correlation=np.clip(corr, -1, 1),
        ratio_to_prior=sd_u / problem.prior_width, chi2_data=chi2_data, chi2_prior=chi2_prior,
        variance_scale=scale,
    )


# --- calibrated.toml -------------------------------------------------------------------------------

_HEADER = """\
# Calibration of models/jinan.mdl on 2015-2020 history, written by `jinan-sd calibrate`; do not edit.
# [parameters.<id>]: fitted value (used under every scenario's levers), std_error, prior and bounds.
# [nuisance.<id>]: parameters of the observations only (not model constants).
# [correlation]: correlation matrix of all fitted quantities, rows and columns in `parameters` order.
"""


def to_toml(result: FitResult) -> str:
    """The text of ``calibrated.toml``: same result, same bytes (no timestamps, fixed rounding).

    ``result.map_check`` (from :func:`calibration.map_point.check_against_posterior`) adds the header lines
    and the ``[calibration]`` entries that say whether the point is the posterior's maximum a posteriori point.
    """
    check = result.map_check
    import tomli_w

    problem = result.problem
    identification, bounds = result.identification(), result.at_bound()
    body: dict = {
        "calibration": {
            "method": _method_text(result),
            "seed": result.seed,
            "starts": result.starts,
            "objective": _round(result.objective, 8),
            "chi2_data": _round(result.chi2_data, 8),
            "chi2_prior": _round(result.chi2_prior, 8),
            "n_observations": len(problem.predictor),
            "n_parameters": problem.n_parameters,
            "n_identified": identification.count("identified"),
            "prior": f"Gaussian toward the model's value, sd = {problem.prior_width:g} x range; "
            "bounds = range",
            "objective_definition": "sum of ((model - observation) / sigma)^2 over the fit observations, "
            "plus the prior terms ((value - default) / sd)^2",
            "uncertainty": "Gauss-Newton covariance s2 * inv(J'J) at the optimum (J: Jacobian of data and "
            "prior residuals, central differences), s2 = max(1, chi2_data / n_observations)",
            "variance_scale": _round(result.variance_scale, 6),
            "identified_when": f"posterior sd < {_IDENTIFIED:g} x prior sd ('weak' below {_WEAK:g})",
            "model": problem.model.path.name,
            "model_sha256": problem.model.sha256,
            "observations": "calibration/data/observations.csv",
            "observations_sha256": problem.observations.sha256,
            **result.describe,
            **(check or {}).get("entries", {}),
        },
        "parameters": {},
        "nuisance": {},
    }
    for j, p in enumerate(problem.parameters):
        entry = {
            "value": float(result.theta[j]),
            "std_error": _round(float(result.std_error[j]), 4),
            "default": p.default,
            "min": p.low,
            "max": p.high,
            "units": p.units,
            "identification": identification[j],
            "at_bound": bounds[j],
        }
        body["nuisance" if p.nuisance else "parameters"][p.id] = entry
    names = [p.id for p in problem.parameters]
    # One matrix row per line (tomli_w would put each of the P*P numbers on a line of its own).
    rows = ",\n".join(
        "  [" + ", ".join(repr(round(float(c), 3) + 0.0) for c in row) + "]" for row in result.correlation
    )
    correlation = (f"[correlation]\nparameters = {tomli_w.dumps({'p': names})[4:].strip()}\n"
                   f"matrix = [\n{rows},\n]\n")
    header = result.header or _HEADER
    if check:
        header += check["header"]
    return header + "\n" + tomli_w.dumps(body) + "\n" + correlation


def _method_text(result: FitResult) -> str:
    if result.method == "global":
        return ("scipy differential_evolution (vectorised, fast engine) polished by least_squares (trf); "
                "least_squares also from the defaults; the lower objective wins")
    return (f"scipy least_squares (trf, central-difference Jacobian in one batch) from the model's defaults "
            f"and {result.starts - 1} uniform random starts; the lower objective wins")


def write_calibrated(result: FitResult, path, posterior=None) -> None:
    """Write :func:`to_toml` to ``path`` (UTF-8, LF line ends) atomically: a temporary file in the same
    folder, fsynced, then renamed, so a failed write leaves the previous calibration whole (every run
    reads this file; :func:`simulator.runner.check_calibration` also refuses one cut short).

    The point is checked against the posterior sample ``posterior`` (default the packaged
    ``calibration/posterior.parquet``) when that sample is of the same density (model, observations,
    parameters, prior): is the optimum at least as probable as the sample's best draw? The answer goes into
    the header (:mod:`calibration.map_point`).
    """
    from simulator.atomic import write_text

    write_text(path, to_toml(with_map_check(result, posterior)))


def with_map_check(result: FitResult, posterior=None) -> FitResult:
    """``result`` with ``map_check`` against the posterior sample file ``posterior`` (default the packaged
    one); anything that is not a :class:`FitResult` is returned as it is (the writer's failure paths)."""
    import dataclasses

    from .map_point import check_against_posterior

    if not isinstance(result, FitResult):
        return result
    return dataclasses.replace(result, map_check=check_against_posterior(result, posterior))
