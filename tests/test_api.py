"""The library's front door: the fast engine is the default, run_batch equals single runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import simulator
from simulator.errors import UserError


def test_fast_is_the_default_and_equals_pysd():
    fast = simulator.run("plan")
    ref = simulator.run("plan", engine="pysd")
    assert fast.provenance["engine"] == "fast"
    pd.testing.assert_frame_equal(fast.frame, ref.frame[fast.frame.columns].astype(float), rtol=1e-9, atol=1e-12)


def test_run_batch_equals_single_runs():
    samples = pd.DataFrame({"investment_rate": [0.4, 0.6, 0.8], "talent_policy_multiplier": [0.5, 1.0, 2.0]})
    batch = simulator.run_batch("plan", samples, variables=["gdp_real", "total_population"])
    assert batch.values.shape == (3, 21, 2)
    for k, row in samples.iterrows():
        single = simulator.run("plan", overrides=row.to_dict())
        np.testing.assert_allclose(batch["gdp_real"][k], single["gdp_real"], rtol=1e-12)
        np.testing.assert_allclose(batch.frame(k)["total_population"], single["total_population"], rtol=1e-12)


def test_model_object_runs(model):
    result = simulator.run(simulator.defaults(model), {"investment_rate": 0.5}, model=model)
    assert result.frame.loc[2015, "initial_population_2015"] == pytest.approx(848.36)
    batch = simulator.run_batch(simulator.defaults(model), {"investment_rate": np.array([0.5, 0.7])},
                                variables=["gdp_real"], model=model)
    assert batch["gdp_real"][1, -1] > batch["gdp_real"][0, -1]


def test_run_batch_rejects_out_of_range_samples():
    with pytest.raises(UserError, match="outside its range"):
        simulator.run_batch("baseline", pd.DataFrame({"investment_rate": [0.5, 5.0]}))
    with pytest.raises(UserError, match="unknown variable"):
        simulator.run_batch("baseline", pd.DataFrame({"investment_rat": [0.5]}))


def test_rk4_is_offered_on_the_fast_engine_only():
    assert simulator.run("baseline", method="rk4").provenance["method"] == "rk4"
    with pytest.raises(UserError, match="Euler only"):
        simulator.run("baseline", engine="pysd", method="rk4")


def test_policy_levers_leave_history_alone(labels):
    """A scenario's investment rate acts from the policy start year; 2015-2020 stay as calibrated."""
    start = labels.policy["start_year"]
    base = simulator.run("baseline")
    more = simulator.run("baseline", overrides={"investment_rate": 0.8})
    before = [y for y in base.frame.index if y < start]
    after = [y for y in base.frame.index if y > start]
    pd.testing.assert_series_equal(base["gdp_real"].loc[before], more["gdp_real"].loc[before])
    assert (more["gdp_real"].loc[after] > base["gdp_real"].loc[after]).all()
    assert more["investment_rate"].loc[start - 1] == base["investment_rate"].loc[start - 1]
    assert more["investment_rate"].loc[start] == pytest.approx(0.8)
    # both engines agree on the timed lever too
    ref = simulator.run("baseline", overrides={"investment_rate": 0.8}, engine="pysd")
    np.testing.assert_allclose(more["gdp_real"], ref["gdp_real"], rtol=1e-9)


def test_non_policy_constants_act_from_the_start():
    base = simulator.run("baseline")
    other = simulator.run("baseline", overrides={"exchange_rate": 7.5})
    assert other["gdp_per_capita_usd"].loc[2015] < base["gdp_per_capita_usd"].loc[2015]
