"""`jinan-sd validate` (issue 13): the scores against known answers, and a shortened backtest end to end.

Simulation-based calibration on a toy model is in tests/test_posterior.py (not repeated here)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from calibration.validate import (
    EXCLUDED,
    clopper_pearson,
    crps_sample,
    held_back,
    interval_score,
    naive_trend,
    run_validation,
    write_validation,
)


def test_crps_of_a_normal_sample_matches_the_closed_form():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20000, 1))
    y = np.array([0.7])
    # Gneiting and Raftery: CRPS(N(0, 1), y) = y (2 Phi(y) - 1) + 2 phi(y) - 1 / sqrt(pi)
    exact = y * (2 * stats.norm.cdf(y) - 1) + 2 * stats.norm.pdf(y) - 1 / math.sqrt(math.pi)
    assert crps_sample(x, y)[0] == pytest.approx(exact[0], abs=0.01)
    assert crps_sample(np.full((5, 1), 2.0), np.array([3.0]))[0] == pytest.approx(1.0)  # a point: |error|


def test_interval_score_and_binomial_interval():
    assert interval_score(1.0, 3.0, 2.0) == pytest.approx(2.0)
    assert interval_score(1.0, 3.0, 4.0) == pytest.approx(2.0 + 20 * 1.0)
    low, high = clopper_pearson(18, 20)
    assert low == pytest.approx(0.683, abs=0.002) and high == pytest.approx(0.988, abs=0.002)
    assert clopper_pearson(0, 10)[0] == 0.0 and clopper_pearson(10, 10)[1] == 1.0


def test_naive_trend_continues_compound_growth():
    table = pd.DataFrame({"variable": "x", "kind": "level", "base_year": -1, "use": "fit",
                          "year": [2015, 2016, 2017], "value": [100.0, 105.0, 110.25]})
    row = {"variable": "x", "kind": "level", "base_year": -1, "year": 2019}
    assert naive_trend(table, row, 2017) == pytest.approx(110.25 * 1.05**2)
    assert naive_trend(table, row, 2015) == pytest.approx(100.0)  # one fitted point: held flat
    rates = table.assign(kind="growth", value=[7.0, 8.0, 9.0])
    assert naive_trend(rates, {**row, "kind": "growth"}, 2017) == pytest.approx(8.0)
    assert math.isnan(naive_trend(table, {**row, "variable": "y"}, 2017))


def test_held_back_points_are_after_the_origin_and_not_excluded():
    table = pd.DataFrame({"use": ["fit", "fit", "check", "fit", "fit"], "kind": ["level"] * 4 + ["range"],
                          "year": [2018, 2019, 2019, 2020, 2020],
                          "series": ["a", "a", "a", "gdp_deflator", "a"]})
    out = held_back(table, 2018)
    assert out["year"].tolist() == [2019] and "gdp_deflator" in EXCLUDED


def test_a_shortened_backtest_runs_end_to_end(tmp_path):
    results, table, pooled, settings = run_validation(origins=(2018,), walkers=80, steps=12, runs=60, starts=1)
    points = results[0].points
    assert (points["year"] > 2018).all() and len(points) >= 20
    assert {"gdp_nominal", "population", "urbanization"} <= set(points["series"])
    assert ((points["q05"] <= points["q50"]) & (points["q50"] <= points["q95"])).all()
    assert 0 <= pooled["inside90"] <= 1 and pooled["inside90_ci95"][0] <= pooled["inside90"]
    gdp = table.set_index("series").loc["gdp_nominal"]
    assert gdp["naive_points"] == 2 and np.isfinite(gdp["skill_vs_naive"])
    written = write_validation(tmp_path / "report", results, table, pooled, settings)
    names = {p.name for p in written}
    assert {"report.txt", "heldout.csv", "series.csv", "backtest_2018_zh.png", "backtest_2018_en.png"} <= names
    assert "pooled 90 % coverage" in (tmp_path / "report" / "report.txt").read_text(encoding="utf-8")


def test_the_backtest_runs_on_the_compiled_backend_over_two_origins(tmp_path):
    # The suite runs numpy; the library default is compiled. In one process, a full-horizon compiled run
    # followed by runs of a Plan.until copy corrupted memory (the copy shared the full plan's kernel
    # cache) and `jinan-sd validate` died with SIGSEGV; the backtest now runs every model to 2020 only.
    # A child process, so a crash fails this test instead of killing the suite.
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    code = ("from calibration.validate import run_validation\n"
            "r, t, p, s = run_validation(origins=(2017, 2018), walkers=80, steps=12, runs=30, starts=1)\n"
            "print(len(r), p['points'])\n")
    env = {**os.environ, "PYTHONPATH": str(root), "JINAN_SD_BACKEND": "compiled"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[0] == "2"
