"""Goal seeking: analytic answers on a toy model (deterministic, l1, with probability), infeasible and
already-met targets, a written scenario that loads and meets what it claims, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from support import control_section

import simulator
from simulator import api
from simulator.assess import target_table
from simulator.errors import UserError
from simulator.goalseek import goal_seek, scenario_text, write_scenario
from simulator.scenario import Scenario, load_scenario
from simulator.target_registry import Target
from simulator.uncertainty import load_uncertainty

TOY_MODEL = """{UTF-8}
y = INTEG(a + b + u, 0)
\t~\tWidget
\t~\tGrows by a + b + u a year from 0, so y(2021) = a + b + u.
\t|
a = 0.5
\t~\tWidget/Year [0,2,0.01]
\t~\tLever a (range 2).
\t|
b = 0.5
\t~\tWidget/Year [0,4,0.01]
\t~\tLever b (range 4).
\t|
u = 0
\t~\tWidget/Year [0,1,0.01]
\t~\tThe uncertain input.
\t|
""" + control_section(2020, 2021, 1, 1)

TOY_UNCERTAINTY = """
[[input]]
name = "u"
distribution = "uniform"
low = 0
high = 1
reason = "toy"
"""


def toy_target(value: float) -> Target:
    return Target(id="y-2021", name_zh="y", name_en="y", indicator="y", unit="Widget", test="level_ge",
                  year=2021, value=value, kind="expected", modelled="yes", source="toy", quote="toy")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("goalseek")
    (folder / "toy.mdl").write_text(TOY_MODEL)
    (folder / "uncertainty.toml").write_text(TOY_UNCERTAINTY)
    (folder / "start.toml").write_text('title_en = "Toy start"\nuse_calibration = false\n\n[levers]\na = 0.5\n')
    return folder


def seek(toy, value, **kwargs):
    model = simulator.load(toy / "toy.mdl")
    start = load_scenario(toy / "start.toml", model, toy)
    return goal_seek(start, ["y-2021"], model=model, targets=[toy_target(value)], indicators={"y": "y"},
                     sectors={}, uncertainty_path=toy / "uncertainty.toml", **kwargs)


def test_deterministic_answer_is_the_nearest_point_of_the_constraint(toy):
    """y = a + b >= 3 from (0.5, 0.5); normalised z = (a - 0.5) / 2, (b - 0.5) / 4: minimise |z|^2 subject
    to 2 z_a + 4 z_b >= 2, so z = (0.2, 0.4), a = 0.9 and b = 2.1."""
    result = seek(toy, 3.0)
    assert result.feasible and not result.already_met
    assert result.overrides["a"] == pytest.approx(0.9, abs=1e-4)
    assert result.overrides["b"] == pytest.approx(2.1, abs=1e-4)
    changes = result.levers.set_index("lever")["change_pct"]
    assert changes["a"] == pytest.approx(20.0, abs=0.01) and changes["b"] == pytest.approx(40.0, abs=0.01)
    assert bool(result.targets["binds"].iloc[0])


def test_l1_moves_only_the_cheapest_lever(toy):
    """Per unit of y, b costs 1/4 of its range and a 1/2: the l1 answer moves b alone, to 2.5."""
    result = seek(toy, 3.0, norm="l1")
    assert set(result.overrides) == {"b"}
    assert result.overrides["b"] == pytest.approx(2.5, abs=1e-4)


def test_probabilistic_answer_matches_the_order_statistic(toy):
    """With u ~ U(0, 1): P(a + b + u >= 3) >= 0.8 on 200 samples needs a + b >= 3 - (the 160th largest u)."""
    result = seek(toy, 3.0, p=0.8, n=200, seed=4)
    model = simulator.load(toy / "toy.mdl")
    u = load_uncertainty(toy / "uncertainty.toml", model, toy).sample(200, 4, "lhs")["u"].to_numpy()
    needed = 3.0 - np.sort(u)[::-1][159]
    a, b = result.overrides["a"], result.overrides["b"]
    assert needed - 1e-9 <= a + b <= needed + 0.02
    assert b - 0.5 == pytest.approx(4 * (a - 0.5), rel=1e-3)  # still along the nearest direction
    assert result.targets["probability_after"].iloc[0] >= 0.8
    assert result.targets["probability_before"].iloc[0] == 0.0


def test_infeasible_target_reports_the_closest_reachable_point(toy):
    result = seek(toy, 10.0)
    assert not result.feasible
    row = result.targets.iloc[0]
    assert bool(row["out_of_reach"]) and not bool(row["binds"])
    assert result.overrides == {"a": 2.0, "b": 4.0}  # max-min: both levers at the top of their ranges
    assert row["margin_after"] == pytest.approx(-4.0)
    assert "out of reach" in scenario_text(result)


def test_met_target_needs_no_change(toy):
    result = seek(toy, 0.5)
    assert result.already_met and result.feasible and result.overrides == {}
    assert (result.levers["change_pct"] == 0).all()


def test_written_toy_scenario_extends_its_start_by_relative_path(toy):
    result = seek(toy, 3.0)
    (toy / "answers").mkdir(exist_ok=True)
    path = write_scenario(result, toy / "answers" / "answer.toml")
    assert 'extends = "../start.toml"' in path.read_text(encoding="utf-8")
    model = simulator.load(toy / "toy.mdl")
    loaded = load_scenario(path, model, toy)
    assert not loaded.use_calibration
    y = api.run(loaded, model=model).frame["y"]
    assert y.iloc[-1] >= 3.0


def test_jinan_answer_file_loads_and_meets_its_targets(model, labels, tmp_path):
    ids = ["carbon-intensity-2025", "non-fossil-2025"]
    result = goal_seek("baseline", ids, levers=["non_fossil_share_target", "industrial_energy_efficiency_rate"])
    assert result.feasible
    path = write_scenario(result, tmp_path / "answer.toml")
    scenario = load_scenario(path, model, api.SCENARIO_DIR)
    assert path.read_text(encoding="utf-8").count("goal seeking for targets") == len(result.overrides)
    table = target_table(api.run(scenario, model=model), labels, "en").set_index("id")
    assert (table.loc[ids, "status"] == "met").all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target_ids": ["energy-intensity-2052"]}, "unknown target 'energy-intensity-2052'"),
        ({"target_ids": ["biomed-2025"]}, "cannot be assessed"),
        ({"levers": ["investment_rat"]}, "unknown lever 'investment_rat'"),
        ({"levers": ["total_population"]}, "is not a lever"),
        ({"p": 1.0}, "strictly between 0 and 1"),
        ({"p": 0.0}, "strictly between 0 and 1"),
        ({"p": -0.5}, "strictly between 0 and 1"),
        ({"norm": "l3"}, "'l3' is not one of"),
        ({"weights": {"investment_rate": -1}}, "positive weight"),
    ],
)
def test_bad_input_is_a_one_line_user_error(kwargs, message):
    arguments = {"target_ids": ["energy-intensity-2025"], **kwargs}
    with pytest.raises(UserError) as info:
        goal_seek("baseline", **arguments)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_bad_out_path(toy, tmp_path):
    result = seek(toy, 0.5)
    with pytest.raises(UserError, match="must end in .toml"):
        write_scenario(result, tmp_path / "answer.txt")
    with pytest.raises(UserError, match="does not exist"):
        write_scenario(result, tmp_path / "missing" / "answer.toml")


def test_start_without_a_file_is_copied_in_whole(toy):
    model = simulator.load(toy / "toy.mdl")
    start = Scenario(name="adhoc", overrides={"a": 0.6}, use_calibration=False)
    result = goal_seek(start, ["y-2021"], levers=["b"], model=model, targets=[toy_target(3.0)],
                       indicators={"y": "y"}, sectors={})
    text = scenario_text(result)
    assert "extends" not in text and "a = 0.6" in text and "use_calibration = false" in text
    assert result.overrides["b"] == pytest.approx(2.4, abs=1e-4)


def run_cli(argv: list[str]) -> int:
    import argparse

    from simulator.cli_decision import COMMANDS, add_parsers

    parser = argparse.ArgumentParser()
    parser.add_argument("--lang", default="en")
    add_parsers(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return COMMANDS[args.command](args)


def test_cli_goalseek_writes_the_answer_and_says_which_target_binds(tmp_path, capsys):
    out = tmp_path / "answer.toml"
    argv = ["--lang", "en", "goalseek", "baseline", "--targets", "non-fossil-2025", "--levers",
            "non_fossil_share_target,coal_share_target", "--out", str(out)]
    assert run_cli(argv) == 0
    printed = capsys.readouterr().out
    assert "Non-fossil share" in printed and "yes" in printed and out.is_file()
    # neither lever moves the four-new share (R&D intensity does): out of reach, exit code 1. (Model 0.1 used
    # urbanization-2025 here; model 0.2's baseline meets it.)
    assert run_cli(["--lang", "zh", "goalseek", "baseline", "--targets", "four-new-2025,non-fossil-2025",
                    "--levers", "non_fossil_share_target,talent_policy_multiplier"]) == 1
    assert "达不到的目标:four-new-2025" in capsys.readouterr().out
    with pytest.raises(UserError, match="must end in .toml"):
        run_cli(["goalseek", "baseline", "--targets", "non-fossil-2025", "--out", str(tmp_path / "a.txt")])
