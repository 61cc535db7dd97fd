"""emcee's ensemble sampler with vectorised log-probability calls, and its diagnostics.

Generic: nothing here knows the model or the calibration. :func:`run_ensemble` runs the sampler (every
half-step one call of the log-probability on half the walkers), :func:`summarise` chooses burn-in and
thinning from the integrated autocorrelation time and computes R-hat / ESS with arviz.
"""

from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass

import numpy as np

from simulator.errors import UserError

#: Kept (thinned) draws: at least the issue's 2000, at most what keeps the file under ~1 MB of float64.
MIN_DRAWS, MAX_DRAWS = 2000, 3500
MOVES = ("mixed", "de", "stretch")
_MOVE_TEXT = {"mixed": "DEMove 0.5 + StretchMove 0.5", "de": "DEMove (gamma0 = 2.38 / sqrt(2 P))",
              "stretch": "StretchMove (a = 2)"}
# Convergence rule of thumb (emcee docs): the chain should be at least 50 autocorrelation times long.
_TAU_FACTOR = 50
_RHAT_LIMIT = 1.01


@dataclass
class Chain:
    """The raw ensemble chain.

    Attributes
    ----------
    samples : numpy.ndarray
        Positions, shape ``(steps, walkers, P)`` [sampler coordinates].
    log_prob : numpy.ndarray
        Log-posterior of each position, shape ``(steps, walkers)``.
    acceptance : numpy.ndarray
        Fraction of accepted proposals per walker, shape ``(walkers,)``.
    evaluations : int
        Log-posterior rows evaluated (initial state included).
    stride : int
        Steps between stored positions (``samples`` holds every ``stride``-th step).
    """

    samples: np.ndarray
    log_prob: np.ndarray
    acceptance: np.ndarray
    evaluations: int
    stride: int = 1


def _moves(name: str):
    import emcee

    if name == "de":
        return emcee.moves.DEMove()
    if name == "stretch":
        return emcee.moves.StretchMove()
    if name == "mixed":
        return [(emcee.moves.DEMove(), 0.5), (emcee.moves.StretchMove(), 0.5)]
    raise UserError(f"unknown sampler moves '{name}' (use {' or '.join(MOVES)})")


def run_ensemble(log_prob, initial: np.ndarray, steps: int, seed: int, moves: str = "mixed",
                 progress: bool = False, desc: str = "sampling", stride: int = 1) -> Chain:
    """Run emcee's ensemble sampler with vectorised log-probability calls.

    Parameters
    ----------
    log_prob : callable
        ``(n, P) -> (n,)`` log-density (``-inf`` where impossible); called once per half-step on half the
        walkers.
    initial : numpy.ndarray
        Starting positions, shape ``(walkers, P)``; ``walkers`` even and at least ``2 P``.
    steps : int
        Steps of every walker.
    seed : int
        Seeds emcee's random state (same seed and inputs, same chain).
    moves : {"mixed", "de", "stretch"}
    progress : bool
        tqdm bar on stderr with the running acceptance fraction.
    stride : int
        Store every ``stride``-th step only (``steps`` must be a multiple): bounds the chain's memory.
    """
    import emcee
    from tqdm import tqdm

    initial = np.asarray(initial, float)
    walkers, dim = initial.shape
    if walkers % 2 or walkers < 2 * dim:
        raise UserError(f"walkers must be even and at least 2 x {dim} parameters, got {walkers}")
    if steps < 1:
        raise UserError(f"steps must be at least 1, got {steps}")
    if stride < 1 or steps % stride:
        raise UserError(f"steps ({steps}) must be a positive multiple of the stored stride ({stride})")
    counter = {"rows": 0}

    def counted(x):
        counter["rows"] += len(x)
        return np.asarray(log_prob(x), float)

    sampler = emcee.EnsembleSampler(walkers, dim, counted, moves=_moves(moves), vectorize=True)
    state = emcee.State(initial, random_state=np.random.RandomState(_derived_seed(seed)).get_state())
    samples = np.empty((steps // stride, walkers, dim))
    log_probs = np.empty((steps // stride, walkers))
    accepted = np.zeros(walkers)
    previous = initial
    # store=False and our own arrays: emcee's backend would keep every step (steps x walkers x P floats)
    # and, when thinning, count acceptances on the stored steps only. A walker moved iff its proposal was
    # accepted (a proposal equal to the current point has probability zero).
    with tqdm(total=steps, desc=desc, unit="step", disable=not progress, file=sys.stderr,
              leave=False) as bar:
        for i, current in enumerate(sampler.sample(state, iterations=steps, store=False)):
            accepted += np.any(current.coords != previous, axis=1)
            previous = current.coords.copy()  # emcee updates the state's arrays in place
            if (i + 1) % stride == 0:
                samples[i // stride], log_probs[i // stride] = current.coords, current.log_prob
            bar.update()
            if i % 100 == 0:
                bar.set_postfix(acceptance=f"{accepted.mean() / (i + 1):.2f}")
    return Chain(samples, log_probs, accepted / steps, counter["rows"], stride)


def _derived_seed(seed: int) -> int:
    """emcee's legacy RandomState seed (32 bits) from the user's seed, independent of the other streams."""
    return int(np.random.default_rng([seed, 2]).integers(2**32))


def integrated_time(samples: np.ndarray) -> np.ndarray:
    """Integrated autocorrelation time per parameter [steps] of a chain ``(steps, walkers, P)``.

    emcee's estimator (autocorrelation averaged over walkers, Sokal's window c = 5) over the walkers that
    moved in that coordinate; a walker that never moved has no autocorrelation (0/0), and a parameter no
    walker moved gets tau = inf.
    """
    import emcee

    out = np.empty(samples.shape[2])
    for d in range(samples.shape[2]):
        moved = np.ptp(samples[:, :, d], axis=0) > 0
        out[d] = (emcee.autocorr.integrated_time(samples[:, moved, d:d + 1], tol=0, quiet=True)[0]
                  if moved.any() else np.inf)
    return out


def rhat_ess(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank-normalised split R-hat, bulk ESS and tail ESS per parameter (arviz; walkers as chains)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # arviz announces its refactor at import
        import arviz as az

    chains = np.ascontiguousarray(np.transpose(samples, (1, 0, 2)))  # (chain, draw, P)
    data = az.convert_to_dataset({"x": chains})
    rhat = az.rhat(data)["x"].to_numpy()
    bulk = az.ess(data, method="bulk")["x"].to_numpy()
    tail = az.ess(data, method="tail")["x"].to_numpy()
    return rhat, bulk, tail


def summarise(chain: Chain, names: list[str], burn: int | None = None, thin: int | None = None,
              min_draws: int = MIN_DRAWS, max_draws: int = MAX_DRAWS) -> tuple[np.ndarray, np.ndarray, dict]:
    """Burn-in, thinning and diagnostics of a chain.

    Returns
    -------
    draws : numpy.ndarray
        Kept positions, shape ``(D, P)``, step-major (all walkers of a kept step, then the next step).
    log_prob : numpy.ndarray
        Their log-posterior, shape ``(D,)``.
    diagnostics : dict
        JSON-ready: burn and thin [steps], draws, acceptance (mean, min), tau per parameter and its max
        [steps], chain length over tau_max, R-hat / ESS per parameter (of the stored positions) and their
        worst values, ``converged``.
    """
    # Internally in stored positions (every `stride`-th step); burn, thin and tau are reported in steps.
    stride = chain.stride
    steps, walkers, _ = chain.samples.shape
    if burn is None:
        # A tenth of the chain or 5 tau, whichever is longer (at most half): the calibration's walkers start
        # inside the posterior's typical set, so the burn-in only has to forget the start. (Model 0.2, 250 000
        # steps: the walkers' mean log-posterior is flat from the first 10 000 steps; discarding a quarter
        # instead of a tenth raised the worst R-hat from 1.0085 to 1.0101.)
        tau_guess = float(np.max(integrated_time(chain.samples[steps // 2:])))
        burn = min(steps // 2, max(steps // 10, math.ceil(5 * tau_guess)))
    else:
        if burn % stride:
            raise UserError(f"burn-in ({burn}) must be a multiple of the stored stride ({stride})")
        burn //= stride
    if not 0 <= burn < steps:
        raise UserError(f"burn-in must be in [0, {steps * stride}) steps, got {burn * stride}")
    kept = chain.samples[burn:]
    tau = integrated_time(kept)
    if thin is None:
        thin = max(1, int(np.min(tau) // 2))
        thin = max(1, min(thin, (len(kept) * walkers) // min_draws))  # enough draws
        thin = max(thin, math.ceil(len(kept) * walkers / max_draws))  # not too many
    else:
        if thin < 1 or thin % stride:
            raise UserError(f"thin ({thin}) must be a positive multiple of the stored stride ({stride})")
        thin //= stride
    index = np.arange(len(kept) - 1, -1, -thin)[::-1]  # keep the last step, count back
    draws = kept[index].reshape(-1, kept.shape[2])
    log_prob = chain.log_prob[burn:][index].reshape(-1)
    rhat, bulk, tail = rhat_ess(kept)
    tau_max = float(np.max(tau))
    diagnostics = {
        "burn": int(burn * stride),
        "thin": int(thin * stride),
        "stored_every": int(stride),
        "draws": int(len(draws)),
        "acceptance_mean": _r(np.mean(chain.acceptance)),
        "acceptance_min": _r(np.min(chain.acceptance)),
        "tau": {n: _r(t * stride) for n, t in zip(names, tau, strict=True)},
        "tau_max": _r(tau_max * stride),
        "chain_over_tau_max": _r(len(kept) / tau_max),
        "rhat": {n: _r(x) for n, x in zip(names, rhat, strict=True)},
        "rhat_max": _r(np.max(rhat)),
        "ess_bulk": {n: _r(x) for n, x in zip(names, bulk, strict=True)},
        "ess_bulk_min": _r(np.min(bulk)),
        "ess_tail_min": _r(np.min(tail)),
        "converged": bool(len(kept) >= _TAU_FACTOR * tau_max and np.max(rhat) < _RHAT_LIMIT),
    }
    return draws, log_prob, diagnostics


def _r(x, digits: int = 6) -> float:
    """Rounded float for the metadata (fewer digits than float64's noise)."""
    x = float(x)
    return float(f"{x:.{digits}g}") if math.isfinite(x) else x
