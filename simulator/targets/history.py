"""History points for charts: the calibration observations that are levels of an indicator."""

from __future__ import annotations

import pandas as pd

from simulator.model.labels import Labels
from simulator.project import Project


def history_frame(labels: Labels, project: Project | None = None) -> pd.DataFrame | None:
    """Columns indicator, year, value, low, high, rebase for the observations of mapped indicators.

    Levels come with value +- sigma; an inventory range (kind ``range``: no single value) with its own
    low and high and value NaN. ``rebase`` is nonzero where the data stand on another basis than the model
    (the pre-census population, compared after re-basing).

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
    levels = obs[obs["kind"].isin(("level", "range")) & obs["variable"].isin(by_variable)].copy()
    levels["indicator"] = levels["variable"].map(by_variable)
    point = levels["kind"] == "level"
    for column in ("low", "high", "rebase"):
        if column not in levels:
            levels[column] = float("nan") if column != "rebase" else 0
    levels.loc[point, "low"] = levels["value"] - levels["sigma"]
    levels.loc[point, "high"] = levels["value"] + levels["sigma"]
    levels["rebase"] = levels["rebase"].fillna(0).astype(int)
    return levels[["indicator", "year", "value", "low", "high", "rebase"]].reset_index(drop=True)
