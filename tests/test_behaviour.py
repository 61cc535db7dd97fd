"""Runs the behaviour checks of tests/behaviour/checks.toml on both engines."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

import simulator
from simulator.runner import resolve_overrides

CHECKS = tomllib.loads((Path(__file__).parent / "behaviour" / "checks.toml").read_text(encoding="utf-8"))
CASES = {case["name"]: case for case in CHECKS["case"]}


def raw_run(model, overrides: dict, engine: str):
    """Run with overrides that bypass the lever ranges (extreme-condition tests)."""
    base, _ = resolve_overrides(model, simulator.scenario("baseline", model))
    params = {**base, **overrides}
    if engine == "pysd":
        from simulator.engines.pysd import load_pysd, run_pysd

        frame = run_pysd(load_pysd(model.path, model.sha256), params, model.years)
    else:
        from simulator.engines.fast.adapter import run_fast

        frame = run_fast(model, params)
    frame.index = np.round(frame.index.to_numpy(float)).astype(int)
    return frame


def case_overrides(model, case) -> dict:
    if case.get("levers") in ("min", "max"):
        pick = 0 if case["levers"] == "min" else 1
        out = {}
        for lever in model.levers.values():
            value = lever.limits[pick]
            out[lever.id] = [(2015.0, value)] if lever.kind == "time_path" else value
        return out
    return dict(case.get("overrides", {}))


@pytest.mark.parametrize("engine", ["fast", "pysd"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_behaviour(model, name, engine):
    case = CASES[name]
    frame = raw_run(model, case_overrides(model, case), engine)
    if case.get("finite"):
        bad = frame.columns[~np.isfinite(frame.to_numpy(float)).all(axis=0)]
        assert list(bad) == [], f"non-finite values in {list(bad)}"
    if case.get("stocks_nonnegative"):
        stocks = [k for k, e in model.elements.items() if e.kind == "stock"]
        negative = [s for s in stocks if (frame[s] < 0).any()]
        assert negative == [], f"negative stocks: {negative}"
    for check in case.get("between", []):
        series = frame[check["variable"]]
        assert series.min() >= check["low"] - 1e-9 and series.max() <= check["high"] + 1e-9, check
    for check in case.get("approx", []):
        value = frame.loc[check["year"], check["variable"]]
        assert value == pytest.approx(check["value"], rel=check["rtol"]), check["source"]
    for check in case.get("relation", []):
        series = frame[check["variable"]]
        if check["direction"] == "rising":
            assert series.iloc[-1] > series.iloc[0], check
        else:
            assert series.iloc[-1] < series.iloc[0], check


def test_aging_chain_conserves_people(model):
    """Sum of cohorts = total, and each Euler step changes the total by births - deaths + migration."""
    from simulator.engines.pysd import load_pysd, run_pysd

    dt = model.time["time_step"]
    times = list(np.arange(2015, 2035 + dt / 2, dt))
    frame = run_pysd(load_pysd(model.path, model.sha256), {}, times)
    cohorts = frame[["population_aged_0_to_14", "population_aged_15_to_64", "population_aged_65_plus"]]
    np.testing.assert_allclose(cohorts.sum(axis=1), frame["total_population"], rtol=1e-12)
    stocks = ["population_aged_0_to_9", "population_aged_10_to_14", "population_aged_15_to_19",
              "population_aged_20_to_39", "population_aged_40_to_59", "population_aged_60_to_64",
              "population_aged_65_plus"]
    np.testing.assert_allclose(frame[stocks].sum(axis=1), frame["total_population"], rtol=1e-12)
    deaths = frame[["deaths_aged_0_to_14", "deaths_aged_15_to_64", "deaths_aged_65_plus"]].sum(axis=1)
    net = (frame["births"] - deaths + frame["net_migration"]).to_numpy()[:-1]
    change = np.diff(frame["total_population"].to_numpy())
    np.testing.assert_allclose(change, dt * net, rtol=1e-9)
