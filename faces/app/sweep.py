"""Adapter: each policy lever at the two ends of its range, the others as set, in one fast-engine batch.

The library's :func:`simulator.analysis.sensitivity.tornado` swings the *uncertain inputs*; the analyst's question
"which levers matter most for this target" needs the *levers* swung. A time-path lever keeps its points up
to the last history year and moves linearly to the new level by the plan year, held to the vision year
(labels.toml ``[years]``); a constant policy lever acts
from the policy start year, as the library runs scenarios (:func:`simulator.scenarios.time_policy`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import simulator
from simulator import TimePath
from simulator.targets import evaluate


def _path_at(points, level: float, labels) -> list:
    """The path kept to the last history year, then linear to ``level`` in the plan year, held to the vision year."""
    kept = [(y, v) for y, v in points if y <= labels.year("last_history")]
    return [*kept, (float(labels.year("plan")), level), (float(labels.year("vision")), level)]


def swing_values(lever, base, share: float | None, labels) -> tuple[float, float]:
    """Low and high value of a :class:`simulator.Lever`: its range's ends (``share`` None) or the level as set
    (a time path's plan-year value) -+ share x range, clipped."""
    points = base if isinstance(base, (list, tuple)) else None
    level = float(np.interp(labels.year("plan"), *zip(*points, strict=True))) if points else float(base)
    return lever.swing(level, share)


def lever_sweep(
    model,
    scen,
    levers: list[str],
    target,
    labels,
    base: dict,
    share: float | None = None,
) -> pd.DataFrame:
    """Simulated value of ``target`` with each lever at its low and high value (see :func:`swing_values`).

    ``base`` holds the levers' values as set (the sliders' values). The runs go through
    :func:`simulator.run_batch`, which validates them and times the policy levers as every run is timed.

    Returns
    -------
    DataFrame
        lever, low_value, high_value, output_low, output_high, swing (high - low), base (all as set),
        sorted by |swing|, largest first; unit: the target's.
    """
    n = 1 + 2 * len(levers)
    samples, ends = {}, {}
    for k, lever in enumerate(levers):
        item = simulator.Lever.of(model, lever)
        low, high = ends[lever] = swing_values(item, base[lever], share, labels)
        if item.kind == "time_path":
            paths = [base[lever]] * n
            paths[2 * k + 1], paths[2 * k + 2] = _path_at(base[lever], low, labels), _path_at(base[lever], high, labels)
            samples[lever] = _time_paths(paths)
            continue
        column = np.full(n, float(base[lever]))
        column[2 * k + 1], column[2 * k + 2] = low, high
        samples[lever] = column
    # the one validated batch entry: ranges checked, calibration under the levers, policy timing applied
    variable = labels.indicators[target.indicator]
    batch = simulator.run_batch(scen, samples, variables=[variable], model=model)
    years, values = batch.years, {variable: batch[variable]}
    table = evaluate([target], {target.indicator: values[variable]}, np.round(years).astype(int), lang="en")
    simulated = table["simulated"].to_numpy(float)
    out = pd.DataFrame(
        {
            "lever": levers,
            "low_value": [ends[lv][0] for lv in levers],
            "high_value": [ends[lv][1] for lv in levers],
            "output_low": simulated[1::2],
            "output_high": simulated[2::2],
        }
    )
    out["swing"] = out["output_high"] - out["output_low"]
    out["base"] = simulated[0]
    order = out["swing"].abs().fillna(-1).sort_values(ascending=False).index
    return out.loc[order].reset_index(drop=True)


def _time_paths(paths: list) -> TimePath:
    """Per-run time paths on a common year grid (the union of every path's years)."""
    years = sorted({y for path in paths for y, _ in path})
    values = np.array([np.interp(years, *zip(*path, strict=True)) for path in paths])
    return TimePath(np.asarray(years, float), values)
