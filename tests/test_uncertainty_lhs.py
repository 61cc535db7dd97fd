"""The ensemble's Latin hypercube without scipy.stats: the same bits as scipy's own sampler.

``simulator.analysis.uncertainty`` no longer imports scipy.stats at the top (0.6-0.8 s of every
``jinan-sd mc``); its LHS is scipy's algorithm written out. Same seed must give the same samples as before,
so each case here compares the two bit for bit (``np.array_equal``, not a tolerance).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from scipy.stats import qmc

import simulator
from simulator.analysis.design import latin_hypercube, normal_cdf, normal_ppf
from simulator.analysis.uncertainty import load_uncertainty

ROOT = Path(__file__).resolve().parent.parent


def _project_uncertainty():
    project = simulator.Project.default()
    return load_uncertainty(project.uncertainty_path, simulator.load(), project.root, quiet=True)


@pytest.mark.parametrize("n, d, seed", [(1, 1, 0), (2, 3, 1), (7, 9, 2021), (1000, 9, 1), (4096, 2, 12345),
                                        (100_000, 9, 1), (5, 40, 7)])
def test_latin_hypercube_is_scipys_bit_for_bit(n, d, seed):
    design_seed, _ = np.random.SeedSequence(seed).spawn(2)
    ours = latin_hypercube(n, d, np.random.default_rng(design_seed))
    design_seed, _ = np.random.SeedSequence(seed).spawn(2)
    theirs = qmc.LatinHypercube(d, rng=np.random.default_rng(design_seed)).random(n)
    assert ours.shape == theirs.shape == (n, d)
    assert ours.dtype == theirs.dtype
    assert np.array_equal(ours, theirs)


def test_the_design_of_the_project_uncertainty_is_scipys():
    uncertainty = _project_uncertainty()
    d = len(uncertainty.inputs)
    assert d > 0
    for seed in (0, 1, 99):
        design_seed, _ = np.random.SeedSequence(seed).spawn(2)
        expected = qmc.LatinHypercube(d, rng=np.random.default_rng(design_seed)).random(5000)
        assert np.array_equal(uncertainty.design(5000, seed, "lhs"), expected)


def test_normal_scores_are_scipys_bit_for_bit():
    rng = np.random.default_rng(3)
    u = np.concatenate([rng.random(100_000), [1e-12, 1 - 1e-12, 0.5, 0.0, 1.0, np.nan, 0.25, 0.75]])
    _same_bits(normal_ppf(u), stats.norm.ppf(u))
    z = np.concatenate([rng.normal(size=100_000) * 3, [0.0, -0.0, np.inf, -np.inf, np.nan, 40.0, -40.0]])
    _same_bits(normal_cdf(z), stats.norm.cdf(z))


def _same_bits(ours, theirs):
    """Equal bit patterns (so +0.0 and -0.0 differ) where a number; NaN in the same places (a NaN's sign
    bit is not compared: the ensemble never passes NaN, its uniforms are clipped into (0, 1))."""
    assert np.array_equal(np.isnan(ours), np.isnan(theirs))
    keep = ~np.isnan(theirs)
    assert np.array_equal(ours[keep].view(np.int64), theirs[keep].view(np.int64))


def test_the_project_sample_is_what_scipy_stats_gives():
    """The whole sample of the project's inputs (the design, the copula on the stated correlation, the
    marginals) against the same steps done with scipy.stats itself."""
    uncertainty = _project_uncertainty()
    sample = uncertainty.sample(20_000, 5)
    u = np.clip(uncertainty.design(20_000, 5), 1e-12, 1 - 1e-12)
    linked = np.flatnonzero(np.abs(uncertainty.correlation - np.eye(len(uncertainty.inputs))).sum(axis=0) > 0)
    assert len(linked) == 2  # the project states one correlation: this test exercises the copula
    block = uncertainty.correlation[np.ix_(linked, linked)]
    u[:, linked] = stats.norm.cdf(stats.norm.ppf(u[:, linked]) @ np.linalg.cholesky(block).T)
    for k, inp in enumerate(uncertainty.inputs):
        assert np.array_equal(sample[inp.name].to_numpy(), inp.ppf(u[:, k])), inp.name


def test_a_different_seed_gives_a_different_design():
    uncertainty = _project_uncertainty()
    assert not np.array_equal(uncertainty.design(100, 1, "lhs"), uncertainty.design(100, 2, "lhs"))


def test_mc_imports_neither_scipy_stats_nor_optimize():
    """The whole ``jinan-sd mc`` path (parser, sampling of the project's uncertainty, a small ensemble)
    imports scipy.special only (the copula's ndtri/ndtr), not scipy.stats or scipy.optimize."""
    code = ("import sys\nfrom faces.cli.main import main\n"
            "assert main(['mc', 'baseline', '--n', '50', '--seed', '1']) == 0\n"
            "print(sorted({'.'.join(m.split('.')[:2]) for m in sys.modules if m.startswith('scipy.')}))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    imported = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    assert "scipy.special" in imported  # the check sees scipy's modules at all
    assert "scipy.stats" not in imported and "scipy.optimize" not in imported, imported
