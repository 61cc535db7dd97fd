"""Scenario files and overrides: valid ones load; every kind of bad input gives a one-line error."""

from __future__ import annotations

import pytest

import simulator
from simulator.errors import ScenarioError
from simulator.scenarios import load_scenario, parse_set


def write(tmp_path, name, text):
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load(model, tmp_path, name):
    return load_scenario(name, model, tmp_path)


def test_baseline_loads_with_titles(model):
    scen = simulator.scenario("baseline", model)
    assert scen.title("zh") == "基准情景" and scen.title("en") == "Baseline"
    assert scen.overrides == {}


def test_constant_and_time_path_and_extends(model, tmp_path):
    write(tmp_path, "base", 'title_en = "B"\n[levers]\ninvestment_rate = 0.5\n')
    write(
        tmp_path,
        "child",
        'extends = "base"\n[levers]\nr_and_d_intensity_target = [[2020, 2.62], [2025, 3.0]]\n'
        "talent_policy_multiplier = 1.2\n",
    )
    scen = load(model, tmp_path, "child")
    assert scen.overrides == {
        "investment_rate": 0.5,
        # the model's points before the scenario's first year are kept
        "r_and_d_intensity_target": [(2015.0, 2.0), (2019.0, 2.39), (2020.0, 2.62), (2025.0, 3.0)],
        "talent_policy_multiplier": 1.2,
    }


def test_display_names_are_accepted(model, tmp_path):
    write(tmp_path, "s", '[levers]\n"investment rate" = 0.5\n')
    assert load(model, tmp_path, "s").overrides == {"investment_rate": 0.5}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[levers]\ninvestment_rat = 0.5\n",
            "s.toml: unknown variable 'investment_rat' (did you mean: investment_rate",
        ),
        ("[levers]\ninvestment_rate = 5\n", "s.toml: 'investment_rate' = 5 is outside its range [0.3, 0.9]"),
        ("[levers]\ninvestment_rate = nan\n", "'investment_rate' must be a finite number"),
        ("[levers]\ninvestment_rate = \"high\"\n", "'investment_rate' must be a number"),
        ("[levers]\ngdp_real = 1\n", "'gdp_real' is not a lever"),
        ("[levers]\ninvestment_rate = [[2020, 0.5]]\n", "'investment_rate' is a constant"),
        (
            "[levers]\nr_and_d_intensity_target = [[2025, 3.0], [2020, 2.6]]\n",
            "time path years must be strictly increasing",
        ),
        ("[levers]\nr_and_d_intensity_target = [[\"x\", 3.0]]\n", "non-numeric year"),
        ("[levers]\nr_and_d_intensity_target = [[2020, 30.0]]\n", "outside its range"),
        ("[levers]\nr_and_d_intensity_target = [2020, 3.0]\n", "must be [[year, value], ...]"),
        ("[levers\ninvestment_rate = 0.5\n", "s.toml: malformed TOML"),
        ("colour = 1\n", "s.toml: unknown key 'colour'"),
    ],
)
def test_bad_scenarios_give_one_line_errors(model, tmp_path, text, message):
    write(tmp_path, "s", text)
    with pytest.raises(ScenarioError) as info:
        load(model, tmp_path, "s")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_circular_extends(model, tmp_path):
    write(tmp_path, "a", 'extends = "b"\n')
    write(tmp_path, "b", 'extends = "a"\n')
    with pytest.raises(ScenarioError, match="circular 'extends': a -> b -> a"):
        load(model, tmp_path, "a")


def test_missing_scenario(model, tmp_path):
    with pytest.raises(ScenarioError, match="unknown scenario 'nosuch'"):
        load(model, tmp_path, "nosuch")
    with pytest.raises(ScenarioError, match="scenario file not found"):
        load(model, tmp_path, str(tmp_path / "nosuch.toml"))


def test_parse_set():
    assert parse_set(["a=1", "b = [[2020, 1], [2025, 2]]"]) == {"a": 1, "b": [[2020, 1], [2025, 2]]}
    with pytest.raises(ScenarioError, match="expected NAME=VALUE"):
        parse_set(["a"])
    with pytest.raises(ScenarioError, match="is not a number"):
        parse_set(["a=high"])


def test_override_changes_the_run(model):
    base = simulator.run("baseline", engine="pysd")
    more = simulator.run("baseline", overrides={"investment_rate": 0.8}, engine="pysd")
    assert more["gdp_real"].loc[2035] > base["gdp_real"].loc[2035]
    assert more.provenance["overrides"] == {"investment_rate": 0.8}


def test_one_number_for_a_time_path_applies_from_the_policy_start(model, labels):
    start = labels.policy["start_year"]
    scen = simulator.scenario("baseline", model).with_overrides(model, {"r_and_d_intensity_target": 3.0})
    path = scen.overrides["r_and_d_intensity_target"]
    assert path[-1] == (float(start), 3.0)
    assert all(year < start for year, _ in path[:-1]) and (2020.0, 2.62) in path


@pytest.mark.parametrize("lever", ["birth_rate_path", "initial_share_aged_0_to_14"])
def test_a_removed_lever_says_so_in_one_line(model, tmp_path, lever):
    """Scenario files and app links of model 0.1 that name a lever model 0.2 removed (issue 12)."""
    write(tmp_path, "old", f"[levers]\n{lever} = 0.1\n")
    with pytest.raises(ScenarioError) as err:
        load(model, tmp_path, "old")
    text = str(err.value)
    assert "\n" not in text and "is no longer in the model" in text and lever in text
