"""Unit-hypercube designs and the normal scores of the Gaussian copula, without importing scipy.stats.

``import scipy.stats`` costs 0.6-0.8 s (0.8-1.0 s cold), most of a ``jinan-sd mc`` start, and the ensemble
needs three of its functions. Same seed must give the same samples as before, so each one here is
scipy's own computation, bit for bit (tests/test_uncertainty_lhs.py compares them with scipy.stats on the
project's inputs and on random cases):

- :func:`latin_hypercube` is ``scipy.stats.qmc.LatinHypercube(d, rng=rng).random(n)`` (scipy 1.17's
  algorithm, written out: numpy only);
- :func:`normal_ppf` / :func:`normal_cdf` are ``scipy.stats.norm.ppf`` / ``.cdf``, which are the ufuncs
  ``scipy.special.ndtri`` / ``ndtr`` behind argument checks; scipy.special imports in ~0.17 s.
"""

from __future__ import annotations

import numpy as np


def latin_hypercube(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """(n, d) Latin hypercube in [0, 1): scipy's algorithm, a generator spawned from ``rng``'s seed sequence
    (so ``rng`` itself draws nothing), n x d uniforms from it, then one shuffle of the ranks 1..n per
    dimension; each point is (rank - uniform) / n."""
    bits = rng.bit_generator
    child = np.random.Generator(type(bits)(bits.seed_seq.spawn(1)[0]))
    samples = child.uniform(size=(n, d))
    ranks = np.tile(np.arange(1, n + 1), (d, 1))
    for i in range(d):
        child.shuffle(ranks[i, :])
    return (ranks.T - samples) / n


def normal_ppf(u: np.ndarray) -> np.ndarray:
    """Standard normal quantiles of ``u`` (as ``scipy.stats.norm.ppf(u)``: ``ndtri(u) * scale + loc`` with
    scale 1 and loc 0; adding the 0.0 is kept because it turns a -0.0 into +0.0, as scipy's does)."""
    from scipy.special import ndtri

    return ndtri(np.asarray(u, dtype=np.float64)) * 1.0 + 0.0


def normal_cdf(z: np.ndarray) -> np.ndarray:
    """Standard normal CDF of ``z`` (as ``scipy.stats.norm.cdf(z)``: ``ndtr((z - loc) / scale)``, 0 and 1
    at the infinities, NaN for NaN)."""
    from scipy.special import ndtr

    return ndtr(np.asarray(z, dtype=np.float64))
