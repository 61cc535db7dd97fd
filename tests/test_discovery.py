"""Scenario discovery: PRIM finds a planted box (coverage and density as designed), CART splits where the
box is, discrete inputs peel by whole values, an ensemble folder is read with failed runs left out, and
bad input is a one-line error."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from simulator.analysis.discovery import box_sentence, cart, discover, number, prim, tree_lines
from simulator.analysis.ensemble import EnsembleResult
from simulator.errors import UserError
from simulator.plots.decisions import peeling_chart
from simulator.targets.registry import Target

# Cases are 90 % of the runs inside a < 0.4 and c > 0.7 (12 % of the unit cube) and 5 % outside:
# density 0.9, coverage 0.9 * 0.12 / (0.9 * 0.12 + 0.05 * 0.88) = 0.711.
DENSITY, COVERAGE = 0.9, 0.9 * 0.12 / (0.9 * 0.12 + 0.05 * 0.88)


def planted(n=6000, seed=1):
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.random((n, 5)), columns=list("abcde"))
    inside = (x["a"] < 0.4) & (x["c"] > 0.7)
    y = np.where(inside, rng.random(n) < DENSITY, rng.random(n) < 0.05)
    return x, y


def test_prim_finds_the_planted_box():
    x, y = planted()
    box = prim(x, y).boxes[0]
    assert set(box.limits) == {"a", "c"}
    assert box.limits["a"][0] is None and box.limits["a"][1] == pytest.approx(0.4, abs=0.03)
    assert box.limits["c"][1] is None and box.limits["c"][0] == pytest.approx(0.7, abs=0.03)
    assert box.density == pytest.approx(DENSITY, abs=0.04)
    assert box.coverage == pytest.approx(COVERAGE, abs=0.05)
    assert box.mass == pytest.approx(0.12, abs=0.02)


def test_peeling_trajectory_starts_with_every_run_and_narrows():
    x, y = planted()
    trajectory = prim(x, y, alpha=0.05, min_support=0.05).trajectory
    first = trajectory.iloc[0]
    assert first["coverage"] == 1.0 and first["mass"] == 1.0 and first["n_restricted"] == 0
    assert first["density"] == pytest.approx(y.mean())
    assert trajectory["mass"].is_monotonic_decreasing and trajectory["mass"].iloc[-1] >= 0.05
    assert trajectory["density"].iloc[-1] > 0.8
    assert (trajectory["mass"].iloc[1:].to_numpy() / trajectory["mass"].iloc[:-1].to_numpy() > 0.9).all()


def test_cart_agrees_with_prim_on_the_main_split():
    x, y = planted()
    box = prim(x, y).boxes[0]
    root = cart(x, y, max_depth=2)[0]
    assert root["input"] in box.limits
    low, high = box.limits[root["input"]]
    assert root["threshold"] == pytest.approx(low if low is not None else high, abs=0.03)


def test_a_discrete_input_peels_by_whole_values():
    rng = np.random.default_rng(2)
    n = 4000
    x = pd.DataFrame({"year": rng.choice([2022, 2023, 2024, 2026, 2028], n, p=[0.4, 0.15, 0.15, 0.15, 0.15]),
                      "noise": rng.random(n)})
    y = np.where(x["year"] >= 2026, rng.random(n) < 0.8, rng.random(n) < 0.05)
    box = prim(x, y).boxes[0]
    assert set(box.limits) == {"year"} and box.limits["year"] == (2025.0, None)
    assert box.density == pytest.approx(0.8, abs=0.05)
    assert cart(x, y)[0]["threshold"] == 2025.0


def test_sentences_name_the_inputs_and_the_shares():
    x, y = planted()
    box = prim(x, y).boxes[0]
    names = {"a": "net migration policy", "c": "R&D intensity in 2025"}.get
    text = box_sentence(box, "GDP per capita 2035", "miss", names, "en")
    a_high, c_low = number(box.limits["a"][1]), number(box.limits["c"][0])
    assert text.startswith(f"when net migration policy < {a_high} and R&D intensity in 2025 > {c_low}, ")
    assert a_high.startswith(("0.3", "0.4")) and c_low.startswith(("0.6", "0.7"))
    assert f"missed in {100 * box.density:.0f} % of runs (covering {100 * box.coverage:.0f} % of all misses" in text
    assert "未达标" in box_sentence(box, "人均GDP", "miss", names, "zh")
    lines = tree_lines(cart(x, y, max_depth=1), "miss", names, "en")
    assert len(lines) == 3 and lines[0].startswith("all runs: 6000 runs")
    assert number(2025.0) == "2025" and number(0.0096731) == "0.00967" and number(12345.678) == "12345.7"


def write_ensemble(folder, x, flags, failed):
    outcomes = pd.DataFrame({"failed": failed, "t-2035": flags.astype(np.int8), "t-2035:value": 1.0})
    outcomes.index = pd.RangeIndex(len(x), name="run")
    probabilities = pd.DataFrame({"id": ["t-2035"], "peak_year_counts": [None]})
    bands = pd.DataFrame(columns=["indicator", "year", "q05", "q25", "q50", "q75", "q95"])
    samples = x.set_axis(pd.RangeIndex(len(x), name="run"))
    EnsembleResult({"n": len(x)}, samples, outcomes, bands, probabilities).save(folder)
    return folder


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory):
    x, y = planted(3000, seed=5)
    flags = np.where(y, 0, 1)  # a case = a miss
    flags[:100] = -1  # not assessable (NaN)
    failed = np.zeros(len(x), bool)
    failed[100:150] = True
    return write_ensemble(tmp_path_factory.mktemp("discover") / "ens", x, flags, failed)


TARGET = Target(id="t-2035", name_zh="目标", name_en="the target", indicator="t", unit="x", test="level_ge",
                year=2035, value=1.0, kind="expected", modelled="yes", source="toy", quote="toy")


def test_discover_reads_an_ensemble_and_leaves_out_invalid_runs(ensemble):
    result = discover(ensemble, "t-2035", targets=[TARGET])
    assert result.n_valid == 2850 and result.target is TARGET
    assert set(result.prim.boxes[0].limits) == {"a", "c"}
    meet = discover(ensemble, "t-2035", outcome="meet", targets=[TARGET])
    assert meet.n_cases == result.n_valid - result.n_cases
    assert meet.tree[0]["input"] == result.tree[0]["input"]


def test_peeling_chart_draws(ensemble, tmp_path):
    result = discover(ensemble, "t-2035", targets=[TARGET])
    box = result.prim.boxes[0]
    for lang in ("zh", "en"):
        figure = peeling_chart(result.prim.trajectory, result.prim.chosen[0], "the target", "miss", lang,
                               final=(box.coverage, box.density))
        assert figure.axes[0].get_xlim() == (0, 1.02)
    json.dumps(result.prim.trajectory["limits"].tolist())  # the limits are plain numbers


def test_cli_discover_writes_its_files(ensemble, tmp_path, capsys):
    import argparse

    from faces.cli.decision import COMMANDS, add_parsers

    parser = argparse.ArgumentParser()
    parser.add_argument("--lang", default="en")
    add_parsers(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["discover", str(ensemble), "--target", "t-2035", "--out", str(tmp_path / "out")])
    assert COMMANDS["discover"](args) == 0
    printed = capsys.readouterr().out
    assert "PRIM" in printed and "CART" in printed
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"prim-trajectory-t-2035.csv", "prim-boxes-t-2035.csv", "cart-t-2035.txt",
            "prim-trajectory-t-2035.png", "prim-trajectory-t-2035.pdf"} <= written


def test_bad_input(ensemble, tmp_path):
    for call, message in (
        (lambda: discover(tmp_path / "nowhere", "t-2035"), "ensemble folder not found"),
        (lambda: discover(tmp_path, "t-2035"), "not an ensemble folder"),
        (lambda: discover(ensemble, "t-2053"), "'t-2053' is not a target of the ensemble"),
        (lambda: discover(ensemble, "t-2035", outcome="hit"), "outcome must be 'miss' or 'meet'"),
        (lambda: prim(*planted(200), alpha=0.7), "alpha must be in (0, 0.5)"),
    ):
        with pytest.raises(UserError) as info:
            call()
        assert message in str(info.value) and "\n" not in str(info.value)
