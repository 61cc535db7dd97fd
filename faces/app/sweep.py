"""Adapter: each policy lever at the two ends of its range, the others as set, in one fast-engine batch.

The library's :func:`simulator.analysis.sensitivity.tornado` swings the *uncertain inputs*; the analyst's question
"which levers matter most for this target" needs the *levers* swung. A time-path lever keeps its points up
to 2020 (history) and moves linearly to the new level by 2025, held to 2035; a constant policy lever acts
from the policy start year, as the library runs scenarios (:func:`simulator.scenarios.time_policy`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import simulator
from simulator import TimePath
from simulator.targets import evaluate

LAST_HISTORY, REACHED, LAST = 2020.0, 2025.0, 2035.0


def _path_at(points, level: float) -> list:
    """The path kept to 2020, then linear to ``level`` in 2025, held to 2035."""
    kept = [(y, v) for y, v in points if y <= LAST_HISTORY]
    return [*kept, (REACHED, level), (LAST, level)]


def swing_values(element, base, share: float | None) -> tuple[float, float]:
    """Low and high value of a lever: its range's ends (``share`` None) or base -+ share x range, clipped."""
    low, high, _ = element.limits
    if share is None:
        return low, high
    level = (
        float(np.interp(REACHED, *zip(*base, strict=True))) if element.kind == "time_path" else float(base)
    )
    step = share * (high - low)
    return max(low, level - step), min(high, level + step)


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
        element = model.elements[lever]
        low, high = ends[lever] = swing_values(element, base[lever], share)
        if element.kind == "time_path":
            paths = [base[lever]] * n
            paths[2 * k + 1], paths[2 * k + 2] = _path_at(base[lever], low), _path_at(base[lever], high)
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
