"""Simulation-based calibration (Talts et al. 2018) of the posterior sampler: draw parameters from the prior,
simulate noisy observations, sample the posterior, and check that the true values' ranks among the
posterior draws are uniform and that central 90 % intervals cover the truth about 90 % of the time.

:func:`run_sbc` is generic (any prior, simulator and log-posterior); :func:`jinan_replication` makes one
replication of the Jinan calibration from a :class:`calibration.fit.Problem`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from .sampler import run_ensemble, summarise


@dataclass
class SBCResult:
    """Ranks and interval coverage of the true values.

    Attributes
    ----------
    names : list of str
    ranks : numpy.ndarray
        Shape ``(replications, P)``: number of posterior draws below the true value, in ``[0, draws]``.
    draws : int
        Posterior draws per replication (the ranks' maximum).
    inside90 : numpy.ndarray
        Shape ``(replications, P)``: the truth lies within the central 90 % posterior interval.
    diagnostics : list of dict
        :func:`calibration.posterior.summarise` diagnostics of each replication.
    """

    names: list
    ranks: np.ndarray
    draws: int
    inside90: np.ndarray
    diagnostics: list

    def coverage90(self) -> float:
        """Pooled share of (replication, parameter) pairs whose 90 % interval holds the truth."""
        return float(self.inside90.mean())

    def uniformity_pvalues(self, bins: int = 5) -> np.ndarray:
        """Chi-square p-value per parameter of the ranks' histogram in ``bins`` equal bins against uniform."""
        from scipy.stats import chisquare

        scaled = np.minimum((self.ranks * bins) // (self.draws + 1), bins - 1)
        counts = np.stack([np.bincount(column, minlength=bins) for column in scaled.T.astype(int)])
        return np.array([chisquare(row).pvalue for row in counts])

    def coverage_interval(self, level: float = 0.95) -> tuple[float, float]:
        """Wilson interval of the pooled 90 % coverage (pairs treated as independent trials)."""
        from scipy.stats import norm

        n = self.inside90.size
        p = self.coverage90()
        z = norm.ppf(0.5 + level / 2)
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return float(centre - half), float(centre + half)


def run_sbc(names, prior_draw, simulate, make_log_prob, initial, replications: int, seed: int, walkers: int,
            steps: int, burn: int, thin: int, moves: str = "mixed", progress: bool = False) -> SBCResult:
    """Simulation-based calibration with emcee.

    Parameters
    ----------
    names : list of str
        Parameter names (P).
    prior_draw : callable
        ``rng -> (P,)`` true values from the prior [sampler coordinates].
    simulate : callable
        ``(truth, rng) -> data``: noisy observations at the true values.
    make_log_prob : callable
        ``data -> log_prob``, a vectorised ``(n, P) -> (n,)`` log-posterior.
    initial : callable
        ``(data, log_prob, rng, walkers) -> (walkers, P)`` starting positions (never the truth).
    replications, walkers, steps, burn, thin : int
    seed : int
        Replication ``i`` uses ``default_rng([seed, i])`` and sampler seed ``seed * 100003 + i``.
    """
    from tqdm import tqdm

    ranks, inside, diagnostics = [], [], []
    for i in tqdm(range(replications), desc="SBC", unit="rep", disable=not progress, file=sys.stderr):
        rng = np.random.default_rng([seed, i])
        truth = np.asarray(prior_draw(rng), float)
        data = simulate(truth, rng)
        log_prob = make_log_prob(data)
        chain = run_ensemble(log_prob, initial(data, log_prob, rng, walkers), steps, seed * 100003 + i,
                             moves=moves)
        draws, _, diag = summarise(chain, list(names), burn=burn, thin=thin, min_draws=1,
                                   max_draws=10**9)
        ranks.append(np.sum(draws < truth[None, :], axis=0))
        low, high = np.percentile(draws, [5, 95], axis=0)
        inside.append((truth >= low) & (truth <= high))
        diagnostics.append(diag)
    return SBCResult(list(names), np.array(ranks), int(len(draws)), np.array(inside), diagnostics)


# --- the Jinan calibration ------------------------------------------------------------------------


def prior_draw_unit(problem, rng: np.random.Generator) -> np.ndarray:
    """True values from the calibration prior (truncated Gaussians) in unit coordinates, shape ``(P,)``."""
    from scipy.stats import truncnorm

    w = problem.prior_width
    a, b = (0.0 - problem.u_default) / w, (1.0 - problem.u_default) / w
    return truncnorm.rvs(a, b, loc=problem.u_default, scale=w, random_state=rng)


def simulated_observations(problem, u_true: np.ndarray, rng: np.random.Generator):
    """The fit observations re-drawn at ``u_true`` from the likelihood's own generative model.

    Point observations: model + sigma x N(0, 1). A two-sided range keeps its width and moves its centre by a
    draw from the range likelihood's density (flat over the width, Gaussian tails of sd sigma beyond it);
    a one-sided range, whose likelihood has no generative density, is kept as it is.
    """
    from .observations import Observations

    table = problem.table.copy()
    q = problem.simulate(problem.theta(u_true)[None, :])[0]
    for j, row in enumerate(table.itertuples()):
        if row.kind != "range":
            table.loc[j, "value"] = q[j] + row.sigma * rng.standard_normal()
            continue
        if not (np.isfinite(row.low) and np.isfinite(row.high)):
            continue
        width = row.high - row.low
        if rng.uniform() < width / (width + row.sigma * np.sqrt(2 * np.pi)):
            offset = rng.uniform(-width / 2, width / 2)
        else:
            tail = abs(rng.standard_normal()) * row.sigma
            offset = (width / 2 + tail) * (1 if rng.uniform() < 0.5 else -1)
        centre = q[j] - offset  # the truth lies at ``offset`` from the drawn range's centre
        table.loc[j, "low"], table.loc[j, "high"] = centre - width / 2, centre + width / 2
    return Observations(table=table, path=problem.observations.path, sha256="simulated")


def jinan_problem_for(problem, observations):
    """A copy of ``problem`` on other observations (same model, parameters, overrides and prior)."""
    from .fit import Problem

    replica = Problem(problem.model, observations, problem.parameters, problem.base_overrides, problem.prior_width)
    replica.final_year = problem.final_year
    return replica
