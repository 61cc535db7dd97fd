"""History points for charts: the calibration observations that are levels of an indicator."""

from __future__ import annotations

import pandas as pd

from simulator.model.labels import Labels
from simulator.project import Project


def history_frame(labels: Labels, project: Project | None = None) -> pd.DataFrame | None:
    """Columns indicator, year, value, low, high for level observations of mapped indicators.

    Returns None when the calibration data is not there (charts then show no history points).
    """
    path = (project or Project.default()).observations_path
    if not path.is_file():
        return None
    obs = pd.read_csv(path)
    needed = {"kind", "variable", "year", "value", "sigma"}
    if not needed <= set(obs.columns):
        return None
    by_variable = {v: k for k, v in labels.indicators.items()}
    levels = obs[(obs["kind"] == "level") & obs["variable"].isin(by_variable)].copy()
    levels["indicator"] = levels["variable"].map(by_variable)
    levels["low"] = levels["value"] - levels["sigma"]
    levels["high"] = levels["value"] + levels["sigma"]
    return levels[["indicator", "year", "value", "low", "high"]].reset_index(drop=True)
