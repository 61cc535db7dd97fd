"""Backtest: calibrate on 2015-2018 only, forecast 2019-2020, and compare with a naive compound-growth trend.

Run from the project root: ``python -m calibration.backtest [--starts N] [--seed S]``. It prints a Markdown
table (the one in ``calibration/README.md``).

What a modeller at the end of 2018 knew, and nothing more:

- the fit uses only the ``fit`` observations of 2015-2018 (a change or range observation also needs its base
  year in 2015-2018); parameters those rows cannot see stay near their defaults through the prior;
- every time path of the model (R&D intensity, sector shares, fertility index, ...) is cut after 2018 and
  held at its 2018 value, since their 2019-2020 points are data;
- the 2020 shock is entered as the known event it was: ``first_shock_size`` is fixed at its value in
  ``calibration/calibrated.toml`` (the size of the COVID-19 loss is not something 2015-2018 could tell);
- the census re-basing factor is not fitted (no census row before 2019), so the model, like the trend,
  forecasts on the pre-census basis.

The naive trend continues the compound growth of the observed series between its first and last fitted
year (rates: the same on the level). Errors are ``100 * (forecast / observed - 1)``; for the 2019 high-tech
floor, a forecast above 2200 is counted as 0 error.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import tomllib

import numpy as np

from . import CALIBRATED_PATH, OBSERVATIONS_PATH
from .fit import DEFAULT_SEED, Problem, calibrated_parameters, fit
from .observations import load_observations

LAST_FITTED = 2018
#: Forecast rows: (observation id, label, id of the first and last fitted observation of the trend, or a
#: fixed (year, value) pair where the series has none before 2019).
FORECASTS = (
    ("gdp-nominal-2019", "Nominal GDP 2019 (亿元)", "gdp-nominal-2015", "gdp-nominal-2018"),
    ("gdp-nominal-2020", "Nominal GDP 2020 (亿元)", "gdp-nominal-2015", "gdp-nominal-2018"),
    ("gdp-growth-2019", "Real GDP growth 2019 (%)", "gdp-growth-2016", "gdp-growth-2018"),
    ("gdp-growth-2020", "Real GDP growth 2020 (%)", "gdp-growth-2016", "gdp-growth-2018"),
    ("population-2019", "Population 2019 (万人, pre-census)", "population-2015", "population-2018"),
    ("population-2020", "Population 2020 (万人, census)", "population-2015", "population-2018"),
    ("urbanization-2019", "Urbanisation 2019 (%)", "urbanization-2015", "urbanization-2016"),
    ("urbanization-2020", "Urbanisation 2020 (%, census)", "urbanization-2015", "urbanization-2016"),
    ("rd-intensity-2019", "R&D intensity 2019 (%)", "rd-intensity-2016", "rd-intensity-2017"),
    ("rd-intensity-2020", "R&D intensity 2020 (%)", "rd-intensity-2016", "rd-intensity-2017"),
    ("high-tech-2019", "High-tech enterprises 2019 (floor 2200)", (2015, 612.0), "high-tech-2018"),
    ("high-tech-2020", "High-tech enterprises 2020", (2015, 612.0), "high-tech-2018"),
)
#: Growth rates are trended as levels (mean of the fitted years), not compounded.
RATE_SERIES = ("gdp_growth",)


def training_observations(observations):
    """The observations with every ``fit`` row after LAST_FITTED turned into a ``check``."""
    table = observations.table.copy()
    late = (table["year"] > LAST_FITTED) | (table["base_year"] > LAST_FITTED)
    table.loc[late & (table["use"] == "fit"), "use"] = "check"
    return dataclasses.replace(observations, table=table)


def held_paths(model) -> dict:
    """Every time path cut after LAST_FITTED and held at its LAST_FITTED value."""
    out = {}
    for element in model.elements.values():
        if element.kind != "time_path":
            continue
        xs, ys = zip(*element.default, strict=True)
        held = float(np.interp(LAST_FITTED, xs, ys))
        out[element.id] = [p for p in element.default if p[0] < LAST_FITTED] + [(float(LAST_FITTED), held)]
    return out


def _observed(row) -> float:
    if row["kind"] == "range":
        finite = [v for v in (row["low"], row["high"]) if math.isfinite(v)]
        return sum(finite) / len(finite)
    return float(row["value"])


def naive(table, first, last, year: int) -> float:
    """Compound growth of the observed series from ``first`` to ``last`` continued to ``year``."""
    rows = table.set_index("id")
    y1, v1 = first if isinstance(first, tuple) else (int(rows.loc[first, "year"]), _observed(rows.loc[first]))
    y2, v2 = int(rows.loc[last, "year"]), _observed(rows.loc[last])
    if rows.loc[last, "series"] in RATE_SERIES:
        ids = [i for i in rows.index if rows.loc[i, "series"] == rows.loc[last, "series"]
               and y1 <= rows.loc[i, "year"] <= y2]
        return float(np.mean([_observed(rows.loc[i]) for i in ids]))
    return v2 * (v2 / v1) ** ((year - y2) / (y2 - y1))


def run(seed: int = DEFAULT_SEED, starts: int = 4, variant: dict | None = None) -> list[dict]:
    """Fit on 2015-2018, forecast; one dict per FORECASTS row. ``variant``: constants set for a structural
    alternative (e.g. ``{"productivity_convergence_speed": 0.0}``), held out of the fit."""
    import simulator

    model = simulator.load()
    observations = load_observations(OBSERVATIONS_PATH, model=model, labels=simulator.labels())
    train = training_observations(observations)
    calibrated = tomllib.loads(CALIBRATED_PATH.read_text(encoding="utf-8"))["parameters"]
    shock = {"first_shock_size": float(calibrated["first_shock_size"]["value"])}
    variant = dict(variant or {})
    base = {**simulator.scenario("baseline", model).overrides, **held_paths(model), **shock, **variant}
    parameters = [p for p in calibrated_parameters(model)
                  if p.id not in shock and p.id not in variant and p.id != "census_rebasing_factor"]
    problem = Problem(model, train, parameters=parameters, base_overrides=base)
    result = fit(problem, seed=seed, starts=starts)
    table = observations.table
    wanted = table[table["id"].isin([f[0] for f in FORECASTS])].reset_index(drop=True)
    values = problem.simulate(result.theta[np.newaxis, :], wanted)[0]
    simulated = dict(zip(wanted["id"], values, strict=True))
    rows = []
    for oid, label, first, last in FORECASTS:
        obs = table.set_index("id").loc[oid]
        observed = _observed(obs)
        model_value = float(simulated[oid])
        trend = naive(table, first, last, int(obs["year"]))
        floor = obs["kind"] == "range" and not math.isfinite(obs["high"])

        def error(x, observed=observed, floor=floor, obs=obs):
            if floor:
                return 0.0 if x >= obs["low"] else 100 * (x / obs["low"] - 1)
            return 100 * (x / observed - 1)

        rows.append(dict(label=label, observed=observed, model=model_value, model_error=error(model_value),
                         trend=trend, trend_error=error(trend)))
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| 2019-2020 forecast from 2015-2018 | observed | model | error % | naive trend | error % |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['label']} | {r['observed']:.4g} | {r['model']:.4g} | {r['model_error']:+.1f} | "
                     f"{r['trend']:.4g} | {r['trend_error']:+.1f} |")
    model_mae = np.mean([abs(r["model_error"]) for r in rows])
    trend_mae = np.mean([abs(r["trend_error"]) for r in rows])
    lines.append(f"| mean absolute error | | | {model_mae:.1f} | | {trend_mae:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m calibration.backtest", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--starts", type=int, default=4)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a structural variant: set a model constant (repeatable)")
    args = parser.parse_args(argv)
    variant = {}
    for item in args.set:
        name, _, value = item.partition("=")
        variant[name.strip()] = float(value)
    print(markdown(run(args.seed, args.starts, variant)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
