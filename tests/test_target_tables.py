"""The ensemble's two target tables from one pass (simulator/targets/probability.py): the same tables as
asking for each alone, and the same whether the targets are tested on two threads or one."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.targets import load_targets, outcomes_and_probabilities, probabilities, run_outcomes
from simulator.targets import probability as module

YEARS = np.arange(2015, 2036)


@pytest.fixture(scope="module")
def ensemble():
    """The project's targets on 10 000 made-up runs of every indicator they read (positive paths with noise,
    some NaN and infinite values, a zero base year, ties), some runs failed."""
    targets = load_targets()
    rng = np.random.default_rng(7)
    n = 10_000
    series = {}
    for indicator in sorted({t.indicator for t in targets}):
        x = np.exp(np.cumsum(rng.normal(0.03, 0.05, size=(n, YEARS.size)), axis=1)) * rng.uniform(1, 100)
        x[rng.random(n) < 0.01, rng.integers(0, YEARS.size)] = np.nan
        x[rng.random(n) < 0.005, rng.integers(0, YEARS.size)] = np.inf
        x[rng.random(n) < 0.005, 5] = 0.0  # a zero base (2020): a non-finite change
        x[:50] = x[50]  # ties
        series[indicator] = x
    del series[sorted(series)[0]]  # an indicator missing from the results: its targets are not assessed
    failed = rng.random(n) < 0.02
    return targets, series, failed


def test_one_pass_gives_both_tables(ensemble):
    targets, series, failed = ensemble
    outcomes, probs = outcomes_and_probabilities(targets, series, YEARS, failed, assessable=set(series), lang="en")
    assert outcomes.equals(run_outcomes(targets, series, YEARS, failed))
    assert probs.equals(probabilities(targets, series, YEARS, failed, assessable=set(series), lang="en"))
    assert (probs["n_valid"] > 0).sum() > 10 and (probs["n_valid"] == 0).any()  # both kinds of row are there


def test_threads_do_not_change_the_tables(ensemble, monkeypatch):
    targets, series, failed = ensemble
    assert len(failed) >= module.THREADED_RUNS  # the call below is the threaded one
    threaded = outcomes_and_probabilities(targets, series, YEARS, failed, assessable=set(series))
    monkeypatch.setattr(module, "THREADED_RUNS", 10**9)
    serial = outcomes_and_probabilities(targets, series, YEARS, failed, assessable=set(series))
    assert threaded[0].equals(serial[0]) and list(threaded[0].columns) == list(serial[0].columns)
    assert threaded[1].equals(serial[1])
