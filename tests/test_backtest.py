"""The 2015-2018 -> 2019-2020 backtest of calibration/README.md runs and keeps 2019-2020 out of the fit."""

from __future__ import annotations

import math

import simulator
from calibration import OBSERVATIONS_PATH
from calibration.backtest import LAST_FITTED, held_paths, markdown, run, training_observations
from calibration.observations import load_observations


def test_training_set_has_no_fitted_row_after_2018(model):
    observations = load_observations(OBSERVATIONS_PATH, model=model, labels=simulator.labels())
    fitted = training_observations(observations).select("fit")
    assert fitted["year"].max() <= LAST_FITTED and (fitted["base_year"] <= LAST_FITTED).all()
    for points in held_paths(model).values():
        assert max(year for year, _ in points) == LAST_FITTED


def test_backtest_runs_and_reports_model_and_trend():
    rows = run(starts=1)
    assert len(rows) == 12
    assert all(math.isfinite(r["model_error"]) and math.isfinite(r["trend_error"]) for r in rows)
    assert "mean absolute error" in markdown(rows)
