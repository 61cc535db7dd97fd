"""Adapter for the Calibration tab: the calibration report evaluated at the values of calibrated.toml.

``calibration.report`` takes a fit result; there is no function that reads one back from
``calibrated.toml``, so this builds the part of a ``FitResult`` that ``report.evaluate`` reads (the
problem and the parameter values) from the file.
"""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import streamlit as st

import simulator
from faces.app import data


def calibrated_file() -> dict:
    from calibration import CALIBRATED_PATH

    if not CALIBRATED_PATH.is_file():
        return {}
    return tomllib.loads(CALIBRATED_PATH.read_text(encoding="utf-8"))


@st.cache_resource(show_spinner=False, max_entries=4)
def evaluate(stamp: str) -> dict:
    """Every observation against the model at the calibrated values (defaults where none), the fit
    statistics and goals of ``calibration.report``, and each series' chart data (shared: do not modify)."""
    from calibration import report
    from calibration.fit import FitResult, Problem
    from calibration.observations import load_observations

    model = data.model()
    observations = load_observations(model=model, labels=data.labels())
    # As `jinan-sd calibrate`: the history is explained by the model as written plus the fitted values.
    problem = Problem(model, observations, base_overrides=simulator.scenario("baseline", model).overrides)
    fitted = calibrated_file()
    values = {**fitted.get("parameters", {}), **fitted.get("nuisance", {})}
    theta = np.array([values.get(p.id, {}).get("value", p.default) for p in problem.parameters], float)
    size = problem.n_parameters
    # report.evaluate reads only the problem and the parameter values of a fit result.
    result = FitResult(
        problem=problem,
        method="",
        seed=0,
        starts=0,
        theta=theta,
        std_error=np.full(size, np.nan),
        correlation=np.eye(size),
        ratio_to_prior=np.full(size, np.nan),
        chi2_data=np.nan,
        chi2_prior=np.nan,
        variance_scale=np.nan,
    )
    table = report.evaluate(result)
    series = {}
    for key, rows in table.sort_values("year").groupby("series", sort=False):
        ranged = rows["kind"] == "range"
        series[key] = {
            "observed": pd.DataFrame(
                {
                    "year": rows["year"].astype(int),
                    "value": np.where(ranged, (rows["low"] + rows["high"]) / 2, rows["value"]),
                    "low": np.where(ranged, rows["low"], rows["value"] - rows["sigma"]),
                    "high": np.where(ranged, rows["high"], rows["value"] + rows["sigma"]),
                }
            ),
            "years": rows["year"].astype(int).to_numpy(),
            "model": rows["model"].astype(float).to_numpy(),
            "unit": str(rows["unit"].iloc[0]) if rows["unit"].notna().any() else "",
            "kind": rows["kind"].iloc[0],
            "indicator": str(rows["indicator"].iloc[0]),
            "use": rows["use"].iloc[0],
            "zh": rows["series_zh"].iloc[0],
            "en": rows["series_en"].iloc[0],
        }
    order = list(dict.fromkeys(table["series"]))
    return {
        "table": table,
        "goals": report.goals(table),
        "stats": report.series_statistics(table),
        "series": {k: series[k] for k in order},
    }
