"""Bayesian calibration: emcee's ensemble sampler over the calibrated parameters, diagnostics, posterior file.

Model
-----
The parameters are those :class:`calibration.fit.Problem` declares (every CALIBRATED constant plus the
nuisance parameters of the observations), sampled in unit coordinates ``u = (theta - min) / (max - min)``.

- **Likelihood.** Independent Gaussians with the observation sigmas on the ``fit`` rows: residual
  ``(model - observed) / sigma`` for levels, changes and growth rates; for a range the distance outside
  ``[low, high]`` over sigma (flat inside, Gaussian beyond an edge; a one-sided range penalises one side).
  These are exactly the fit's data residuals (:meth:`Problem.residuals`); a run that fails gets residual
  1e6, i.e. a log-likelihood of about -5e11, which no move accepts.
- **Prior.** Per parameter a Gaussian centred on the model's value with sd ``PRIOR_WIDTH`` (0.5) times the
  Vensim range, truncated to the range, independent across parameters. Reasoning: the range is the
  modeller's hard bound of what is physically or economically possible (outside it the model's equations
  are not meant to hold), and the value is the modeller's documented best guess; an sd of half the range
  makes the prior nearly flat inside the range (at an edge one sd away the density is 61 % of the centre's)
  so the data decide wherever they speak, while a parameter the data cannot see stays spread over its
  range around the modeller's value instead of drifting to an edge. This is the prior the least-squares
  fit already uses, so the maximum a posteriori point is the fit's optimum.
- **Posterior.** ``log p(u | data) = -objective(u) / 2 + const`` inside the unit box, ``-inf`` outside.

Sampler
-------
The sampler moves in ``z = logit(u)`` (density times the Jacobian ``u (1 - u)``), so the range walls are
at infinity: in unit coordinates a dozen parameters the data barely see are spread over their whole range,
and proposals across a wall, rejected outright, kept the acceptance below 10 %. Draws and ``log_posterior``
are reported in the parameters' own units with the density of the model above.

emcee's affine-invariant ensemble sampler (Foreman-Mackey et al. 2013) with ``vectorize=True``: each move
updates half the walkers at once from the other half, so every half-step is one call of the log-posterior
on ``walkers / 2`` parameter rows, i.e. one batch of the fast engine. A batch of 32 or 64 runs costs about
as much as one run (the engine is vectorised over runs), so an ensemble method turns the batch engine's
throughput into samples; a single-chain sampler (Metropolis, NUTS) would pay a whole engine call per
proposal and needs gradients the engine does not give. The moves are an equal mixture of differential
evolution (``DEMove``) and the stretch move: on this problem (~30 dimensions) both reach the same
autocorrelation time, and the mixture leaves fewer walkers with a low acceptance. emcee's snooker variant
(``DESnookerMove``) is not used: in emcee 3.1.6 it fails the linear-Gaussian test of
``tests/test_posterior.py`` (sample variances about half the true ones; its Metropolis factor uses
``(|q - z| / |x - z|) ** ((d - 1) / 2)`` where ter Braak & Vrugt (2008) have the power ``d - 1``).
Walkers start near the posterior: draws from the Gauss-Newton (Laplace) approximation around the
least-squares optimum of :func:`calibration.fit.fit` (reflected into the box) that lie in the posterior's
typical set, which makes the burn-in short.

Diagnostics: acceptance fraction per walker; integrated autocorrelation time tau per parameter
(``emcee.autocorr.integrated_time`` on the post-burn-in chain); rank-normalised split R-hat and bulk/tail
ESS (arviz, walkers as chains); burn-in ``max(steps / 10, 5 tau_max)`` (at most half the chain); thinning
``tau_min / 2`` adjusted so the kept draws lie in ``[min_draws, max_draws]``. ``converged`` requires the
post-burn-in chain to be at least 50 tau_max long and R-hat < 1.01 for every parameter.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np

from simulator.analysis.uncertainty import POSTERIOR_FORMAT, POSTERIOR_METADATA_KEY
from simulator.errors import UserError

from . import POSTERIOR_PATH
from .fit import DEFAULT_SEED, DEFAULT_STARTS, FitResult, Problem, fit
from .sampler import _MOVE_TEXT, MAX_DRAWS, MIN_DRAWS, MOVES, Chain, _r, run_ensemble, summarise

__all__ = ["MOVES", "Chain", "draw", "read_posterior", "run_ensemble", "sample_posterior", "summarise",
           "write_posterior"]

#: The file format and the key of its JSON provenance in the parquet schema metadata: the library's, which
#: reads these files for the ensembles (one definition of the format).
FORMAT_VERSION = POSTERIOR_FORMAT
METADATA_KEY = POSTERIOR_METADATA_KEY
LOG_POSTERIOR = "log_posterior"
DEFAULT_WALKERS = 128
#: Steps per walker: with the compiled backend (1.7-1.9 ms of CPU per step of 128 walkers) 300 000 steps
#: take 9-10 min of CPU (576 s measured, README "Achieved posterior"), and model 0.2's posterior needs
#: them: tau_max ~1 400 steps, and R-hat < 1.01 (worst of 40 parameters) needs ~200 000 post-burn-in steps
#: (R-hat - 1 falls as 1 / chain length; 1.0118 at 135 000, 1.0083 at 180 000 in a 250 000-step
#: exploration run).
DEFAULT_STEPS = 300000
#: Starts of the least-squares fit that finds the mode the walkers start around: the same as
#: ``jinan-sd calibrate``'s, so that mode is calibrated.toml's point (checked as the MAP, calibration.map_point).
FIT_STARTS = DEFAULT_STARTS
#: Steps between stored positions at least: the autocorrelation time is hundreds of steps, so storing every
#: 10th loses nothing; longer chains store fewer (:data:`MAX_STORED`).
STORE_EVERY = 10
#: Stored positions per walker at most (300 000 steps: every 60th): 5 000 x 128 walkers x 40 parameters of
#: float64 is 205 MB, and tau / 60 is still more than 20 stored positions per autocorrelation time.
MAX_STORED = 5000
#: Laplace-approximation candidates per walker for the start.
CANDIDATES = 16


# --- the calibration posterior --------------------------------------------------------------------


def prior_sd_unit(problem: Problem) -> np.ndarray:
    """Standard deviation of each truncated-Gaussian prior in unit coordinates [fraction of the range]."""
    from scipy.stats import truncnorm

    w = problem.prior_width
    a, b = (0.0 - problem.u_default) / w, (1.0 - problem.u_default) / w
    return truncnorm.std(a, b, loc=problem.u_default, scale=w)


def log_posterior(problem: Problem):
    """The log-posterior in unit coordinates: ``(n, P) -> (n,)``, ``-objective / 2`` inside the box."""

    def function(u: np.ndarray) -> np.ndarray:
        u = np.atleast_2d(np.asarray(u, float))
        out = np.full(len(u), -np.inf)
        inside = np.all((u >= 0.0) & (u <= 1.0), axis=1)
        if inside.any():
            out[inside] = -0.5 * problem.objective(u[inside])
        return out

    return function


def logit(u: np.ndarray) -> np.ndarray:
    """Sampler coordinates ``z = log(u / (1 - u))`` from unit coordinates (u clipped to [1e-12, 1 - 1e-12])."""
    from scipy.special import logit as _logit

    return _logit(np.clip(u, 1e-12, 1 - 1e-12))


def log_jacobian(z: np.ndarray) -> np.ndarray:
    """``log du/dz = log u + log(1 - u)`` summed over parameters, per row of ``z (n, P)``."""
    return -np.sum(np.logaddexp(0.0, -z) + np.logaddexp(0.0, z), axis=1)


def logit_log_posterior(problem: Problem):
    """The log-posterior density of ``z = logit(u)``: ``(n, P) -> (n,)`` (unit density times the Jacobian)."""
    from scipy.special import expit

    unit = log_posterior(problem)

    def function(z: np.ndarray) -> np.ndarray:
        z = np.atleast_2d(np.asarray(z, float))
        return unit(expit(z)) + log_jacobian(z)

    return function


def initial_walkers(mode: FitResult, walkers: int, rng: np.random.Generator, log_prob=None,
                    candidates: int = CANDIDATES) -> np.ndarray:
    """Starting walkers near the posterior, in unit coordinates ``(walkers, P)``.

    ``candidates x walkers`` points are drawn from the Laplace (Gauss-Newton) approximation at the fit's
    optimum and reflected into the unit box; with ``log_prob`` they are evaluated in one batch and
    ``walkers`` of them are chosen at random among those in the posterior's typical set
    (``log p >= log p_max - P/2 - 4 sqrt(P/2)``), so the ensemble does not start with stragglers in the
    Laplace approximation's tails, where the nonlinear model puts little posterior mass. Reflection
    (rather than clipping) keeps every walker distinct in every coordinate: walkers sharing a coordinate
    value would span a subspace the ensemble moves could never leave.
    """
    problem = mode.problem
    sd = mode.std_error / problem.span
    cov = mode.correlation * np.outer(sd, sd)
    centre = problem.unit(mode.theta)
    n = walkers * (candidates if log_prob is not None else 1)
    u = rng.multivariate_normal(centre, cov, size=n, method="eigh")
    u = 1.0 - np.abs(1.0 - np.mod(np.abs(u), 2.0))
    u = np.clip(u, 1e-9, 1 - 1e-9)
    if log_prob is None:
        return u
    lp = np.asarray(log_prob(u), float)
    lp = np.where(np.isfinite(lp), lp, -np.inf)
    # The posterior's typical set: -2 log p is about chi2_min + P +/- sqrt(2 P) for a near-Gaussian posterior.
    p = u.shape[1]
    floor = -0.5 * mode.objective - (p / 2 + 4 * np.sqrt(p / 2))
    typical = np.flatnonzero(lp >= floor)
    if len(typical) >= walkers:
        chosen = rng.choice(typical, size=walkers, replace=False)
    else:  # too few: the typical ones and the best of the rest
        rest = np.setdiff1d(np.argsort(-lp, kind="stable")[:walkers], typical)[: walkers - len(typical)]
        chosen = np.concatenate([typical, rest])
    return u[np.sort(chosen)]


def default_stride(steps: int) -> int:
    """Steps between stored positions: a multiple of :data:`STORE_EVERY` that divides ``steps`` and keeps at
    most about :data:`MAX_STORED` positions per walker (1 when ``steps`` is not a multiple of it)."""
    if steps % STORE_EVERY:
        return 1
    stride = STORE_EVERY * max(1, -(-steps // (STORE_EVERY * MAX_STORED)))
    while steps % stride:
        stride -= STORE_EVERY
    return stride


@dataclass
class Posterior:
    """A posterior sample of the calibration and how it was made.

    ``theta`` are natural values [each parameter's units], ``log_posterior`` the log-density up to a constant
    (``-objective / 2``); ``map_theta`` is the highest-density position the chain visited
    (burn-in and the start, which includes the least-squares optimum).
    """

    problem: Problem
    theta: np.ndarray
    log_posterior: np.ndarray
    map_theta: np.ndarray
    map_log_posterior: float
    mode: FitResult
    seed: int
    settings: dict
    diagnostics: dict
    runs: int = 0
    seconds: float = 0.0
    chain: Chain | None = field(default=None, repr=False)
    #: The fast engine's backend that ran the chain ("compiled" or "numpy"; bitwise the same numbers).
    backend: str = "numpy"
    #: The most probable position the chain visited (burn-in included; the optimum not): the MAP check.
    visited_theta: np.ndarray | None = field(default=None, repr=False)
    visited_log_posterior: float = -np.inf

    @property
    def names(self) -> list[str]:
        """Parameter ids, in the problem's order."""
        return [p.id for p in self.problem.parameters]


def sample_posterior(problem: Problem, seed: int = DEFAULT_SEED, walkers: int = DEFAULT_WALKERS,
                     steps: int = DEFAULT_STEPS, moves: str = "mixed", fit_starts: int = FIT_STARTS,
                     burn: int | None = None, thin: int | None = None, min_draws: int = MIN_DRAWS,
                     max_draws: int = MAX_DRAWS, progress: bool = False, mode: FitResult | None = None,
                     stride: int | None = None) -> Posterior:
    """Sample the calibration posterior of ``problem``.

    Parameters
    ----------
    problem : Problem
    seed : int
        Seeds the least-squares starts (``default_rng(seed)``), the walkers' start
        (``default_rng([seed, 1])``) and emcee (RandomState from ``default_rng([seed, 2])``).
    walkers, steps : int
        Ensemble size (even, at least 2 P) and steps per walker.
    moves : {"mixed", "de", "stretch"}
    fit_starts : int
        Least-squares starts for the mode the walkers start around (ignored if ``mode`` is given).
    burn, thin : int, optional
        Default: chosen from the autocorrelation time (module docstring).
    min_draws, max_draws : int
        Bounds of the kept sample size when ``thin`` is chosen.
    progress : bool
        Progress bars on stderr.
    mode : FitResult, optional
        A least-squares fit of ``problem`` to start from instead of fitting.
    stride : int, optional
        Store every ``stride``-th step (default: :func:`default_stride`).
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UserError(f"seed must be a non-negative integer, got {seed!r}", param="seed")
    if stride is None:
        stride = default_stride(steps)
    clock = time.perf_counter()
    full, problem = problem, copy.copy(problem)
    # Every run stops at the last observed year: same numbers, a fraction of the time (Plan.until).
    problem.final_year, problem.runs = float(full.observations.table["year"].max()), 0
    if mode is None:
        mode = fit(problem, seed=seed, starts=fit_starts, progress=progress)
    rng = np.random.default_rng([seed, 1])
    initial = initial_walkers(mode, walkers, rng, log_posterior(problem))
    from scipy.special import expit

    chain = run_ensemble(logit_log_posterior(problem), logit(initial), steps, seed, moves=moves,
                         progress=progress, desc="posterior (emcee)", stride=stride)
    # Report in unit coordinates with the unit density: undo the logit and its Jacobian.
    chain.log_prob = chain.log_prob - log_jacobian(chain.samples.reshape(-1, chain.samples.shape[2])).reshape(
        chain.log_prob.shape)
    chain.samples = expit(chain.samples)
    names = [p.id for p in problem.parameters]
    draws_u, lp, diagnostics = summarise(chain, names, burn, thin, min_draws, max_draws)
    best = np.unravel_index(int(np.argmax(chain.log_prob)), chain.log_prob.shape)
    visited_theta, visited_lp = problem.theta(chain.samples[best]), float(chain.log_prob[best])
    map_theta, map_lp = visited_theta, visited_lp
    if -0.5 * mode.objective >= map_lp:
        map_theta, map_lp = mode.theta.copy(), -0.5 * mode.objective
    settings = {
        "library": "emcee",
        "moves": _MOVE_TEXT[moves],
        "walkers": int(walkers),
        "steps": int(steps),
        "stored_every": int(stride),
        "vectorize": True,
        "initial": f"walkers drawn among {CANDIDATES} x walkers draws of the Laplace approximation at the "
        f"least-squares optimum ({mode.starts} start(s)), reflected into the ranges, that lie in the typical "
        "set (log p >= log p_max - P/2 - 4 sqrt(P/2))",
        "min_draws": int(min_draws),
        "max_draws": int(max_draws),
        "seed_streams": "least-squares starts default_rng(seed); walkers default_rng([seed, 1]); "
        "emcee RandomState(default_rng([seed, 2]).integers(2**32))",
    }
    return Posterior(
        problem=full, theta=problem.theta(draws_u), log_posterior=lp,
        map_theta=map_theta, map_log_posterior=map_lp, visited_theta=visited_theta,
        visited_log_posterior=visited_lp,
        mode=mode, seed=seed, settings=settings, diagnostics=diagnostics, runs=problem.runs,
        seconds=time.perf_counter() - clock, chain=chain, backend=problem.backend or "numpy",
    )


# --- posterior.parquet ----------------------------------------------------------------------------


def metadata(post: Posterior) -> dict:
    """Provenance of a posterior sample (JSON-ready; no timestamps or run times, so same seed, same bytes)."""
    import emcee

    import simulator

    problem = post.problem
    prior_sd = prior_sd_unit(problem) * problem.span
    return {
        "format_version": FORMAT_VERSION,
        "written_by": "jinan-sd calibrate --posterior",
        "package_version": simulator.__version__,
        "model": problem.model.path.name,
        "model_sha256": problem.model.sha256,
        "observations": "calibration/data/observations.csv",
        "observations_sha256": problem.observations.sha256,
        "n_observations": len(problem.predictor),
        "seed": int(post.seed),
        "sampler": {**post.settings, "emcee_version": emcee.__version__},
        "engine": {"name": "fast", "backend": post.backend, "method": "euler", "numpy_version": np.__version__},
        "likelihood": "independent Gaussian on the fit observations with their sigmas; ranges: distance "
        "outside [low, high] / sigma (flat inside)",
        "prior": f"independent Gaussian per parameter, mean = model value, sd = {problem.prior_width:g} x "
        "range, truncated to the range",
        "log_posterior": "-(data chi2 + prior chi2) / 2, up to an additive constant",
        "parameters": [
            {"id": p.id, "default": p.default, "min": p.low, "max": p.high, "units": p.units,
             "nuisance": p.nuisance, "prior_sd": _r(sd)}
            for p, sd in zip(problem.parameters, prior_sd, strict=True)
        ],
        "diagnostics": post.diagnostics,
        "map": {"log_posterior": _r(post.map_log_posterior, 10),
                "theta": {n: float(x) for n, x in zip(post.names, post.map_theta, strict=True)}},
        "best_visited_log_posterior": _r(post.visited_log_posterior, 10),
        "least_squares_optimum": {"objective": _r(post.mode.objective, 10),
                                  "theta": {n: float(x) for n, x in zip(post.names, post.mode.theta,
                                                                        strict=True)}},
    }


def to_parquet_bytes(post: Posterior) -> bytes:
    """The bytes of ``posterior.parquet``: one float64 column per parameter, then ``log_posterior``."""
    import io
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {n: pa.array(post.theta[:, j], pa.float64()) for j, n in enumerate(post.names)}
    columns[LOG_POSTERIOR] = pa.array(post.log_posterior, pa.float64())
    table = pa.table(columns)
    text = json.dumps(metadata(post), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    table = table.replace_schema_metadata({METADATA_KEY: text.encode("utf-8")})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd", compression_level=9)
    return buffer.getvalue()


def write_posterior(post: Posterior, path=POSTERIOR_PATH):
    """Write :func:`to_parquet_bytes` to ``path`` atomically; returns the path."""
    from simulator.atomic import write_bytes as write_atomic

    return write_atomic(path, to_parquet_bytes(post))


def read_posterior(path=POSTERIOR_PATH):
    """The sample as a DataFrame (parameter columns and ``log_posterior``) and its provenance dict.

    Raises
    ------
    UserError
        The file is missing or is not a posterior written by this package.
    """
    from simulator.analysis.uncertainty import read_posterior_file

    return read_posterior_file(path)


def draw(n: int, seed: int, path=POSTERIOR_PATH, nuisance: bool = False):
    """``n`` joint posterior draws, resampled as whole rows (with replacement) so correlations are kept.

    Parameters
    ----------
    n : int
        Number of rows.
    seed : int
        Seeds ``numpy.random.default_rng``: same seed, same rows.
    path : str or Path
        The posterior file (default the packaged ``calibration/posterior.parquet``).
    nuisance : bool
        Keep the nuisance parameters of the observations (not model constants); default drop them.

    Returns
    -------
    pandas.DataFrame
        ``n`` rows, one column per parameter [its units]; ``attrs`` holds ``posterior_sha256`` (of the file),
        ``seed`` and ``source_rows`` (the row of the file each draw came from).
    """
    import hashlib
    from pathlib import Path

    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise UserError(f"posterior draws: n must be a positive integer, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise UserError(f"posterior draws: seed must be a non-negative integer, got {seed!r}")
    frame, info = read_posterior(path)
    drop = [LOG_POSTERIOR] + ([] if nuisance else [p["id"] for p in info["parameters"] if p["nuisance"]])
    rows = np.random.default_rng(int(seed)).integers(0, len(frame), size=int(n))
    out = frame.drop(columns=drop).iloc[rows].reset_index(drop=True)
    out.attrs = {"posterior_sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(), "seed": int(seed),
                 "source_rows": rows}
    return out


# --- calibrated.toml's point ------------------------------------------------------------------------

#: A polished point replaces the optimum only if it lowers the objective by more than this [chi2 units]:
#: less is the optimiser's own tolerance, not a different mode.
POLISH_GAIN = 1e-6


def polish_from(result, theta: np.ndarray, max_nfev: int = 60):
    """One least-squares search of ``result.problem`` from ``theta`` [natural units].

    Returns a :class:`calibration.fit.FitResult` (rounded to 6 digits, Gauss-Newton uncertainty, ``starts``
    one more than ``result``'s, ``describe["method"]`` saying so) if it lowers the objective by more than
    the optimiser's tolerance, else ``None``: ``result`` stays the optimum.
    """
    import dataclasses

    from .fit import _local, _method_text, _round, _uncertainty

    problem = result.problem
    solution = _local(problem, np.clip(problem.unit(np.asarray(theta, float)), 0.0, 1.0), max_nfev)
    polished = np.array([_round(x) for x in problem.theta(np.clip(solution.x, 0, 1))])
    polished = np.clip(polished, problem.low, problem.low + problem.span)
    candidate = _uncertainty(problem, polished)
    if candidate.objective >= result.objective - POLISH_GAIN:
        return None
    return dataclasses.replace(
        candidate, method=result.method, seed=result.seed, starts=result.starts + 1,
        start_costs=[*result.start_costs, candidate.objective],
        describe={**result.describe, "method": _method_text(result) + "; then least_squares from the "
                  "posterior's most probable draw, which found a lower objective"})
