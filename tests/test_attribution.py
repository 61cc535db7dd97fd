"""Attribution (wedges): Shapley values on known games, exact sums and order symmetry on the Jinan model,
grouping by sector above 12 levers, the wedge chart and bad input."""

from __future__ import annotations

import numpy as np
import pytest

import simulator
from simulator.analysis.attribution import MAX_PLAYERS, attribute, shapley
from simulator.errors import UserError
from simulator.plots.charts import save
from simulator.plots.decisions import wedge_chart
from simulator.scenarios import Scenario
from simulator.targets.registry import Target


def coalition_values(worth, k: int) -> np.ndarray:
    """(2**k, 1) worths of every coalition (members = set bits of the row index)."""
    return np.array([[worth([i for i in range(k) if s >> i & 1])] for s in range(1 << k)], float)


def test_shapley_of_an_additive_game_is_each_players_own_worth():
    x = np.array([1.5, -2.0, 4.0, 0.25])
    phi = shapley(coalition_values(lambda members: x[members].sum(), 4))[:, 0]
    np.testing.assert_allclose(phi, x, rtol=0, atol=1e-12)


def test_shapley_of_a_square_game_shares_the_interaction_evenly():
    """v(S) = (sum of x_i over S)^2: phi_i = x_i * sum(x) (the cross terms x_i x_j split in half)."""
    x = np.array([1.0, 2.0, 3.0])
    phi = shapley(coalition_values(lambda members: x[members].sum() ** 2, 3))[:, 0]
    np.testing.assert_allclose(phi, x * x.sum(), rtol=0, atol=1e-12)


@pytest.fixture(scope="module")
def carbon(model):
    # green extends plan and differs in 8 levers: few enough for exact, ungrouped Shapley values
    return attribute("green", "carbon-peak-2030", against="plan")


def test_parts_add_up_to_the_difference_every_year(carbon, model):
    assert len(carbon.parts.columns) >= 2 and not carbon.grouped
    np.testing.assert_allclose(carbon.parts.sum(axis=1), carbon.total, rtol=0, atol=1e-9)
    green, plan = simulator.run("green", model=model).frame, simulator.run("plan", model=model).frame
    np.testing.assert_allclose(carbon.levels["scenario"], green["co2_emissions"], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(carbon.levels["against"], plan["co2_emissions"], rtol=1e-12, atol=1e-9)
    assert carbon.variable == "co2_emissions"


def test_parts_do_not_depend_on_the_order_of_the_levers(carbon):
    for order in (list(carbon.parts.columns)[::-1], list(np.random.default_rng(3).permutation(carbon.parts.columns))):
        again = attribute("green", "carbon-peak-2030", against="plan", levers=order)
        assert list(again.parts.columns) == order
        np.testing.assert_allclose(again.parts[carbon.parts.columns], carbon.parts, rtol=0, atol=1e-9)


def test_table_ranks_the_parts_and_shares_sum_to_100(carbon):
    table = carbon.table()
    assert table["contribution"].abs().is_monotonic_decreasing
    assert table["share_pct"].sum() == pytest.approx(100.0, abs=1e-6)
    with pytest.raises(UserError, match="not a simulated year"):
        carbon.table(2050)


def test_wedge_chart_draws_in_both_languages(carbon, labels, tmp_path):
    for lang in ("zh", "en"):
        figure = wedge_chart(carbon, labels, lang)
        ax = figure.axes[0]
        assert ax.get_xlabel() in ("年份", "Year") and ax.get_ylabel()
        written = save(figure, tmp_path / f"wedges-{lang}", formats=("png",))
        assert written[0].stat().st_size > 10_000


def many_levers_model(k: int) -> str:
    parts = ["{UTF-8}", "y = " + " + ".join(f"c{i}" for i in range(k)), "\t~\tWidget", "\t~\tSum.", "\t|"]
    for i in range(k):
        parts += [f"c{i} = 0", "\t~\tWidget [0,10,1]", f"\t~\tLever {i}.", "\t|"]
    for name, value in (("INITIAL TIME", 2020), ("FINAL TIME", 2022), ("TIME STEP", 1), ("SAVEPER", 1)):
        parts += [f"{name} = {value}", "\t~\tYear", "\t~\tControl.", "\t|"]
    return "\n".join(parts) + "\n"


def test_more_than_twelve_levers_are_grouped_by_sector(tmp_path):
    k = MAX_PLAYERS + 2
    (tmp_path / "many.mdl").write_text(many_levers_model(k))
    model = simulator.load(tmp_path / "many.mdl")
    target = Target(id="y-2022", name_zh="y", name_en="y", indicator="y", unit="Widget", test="level_ge",
                    year=2022, value=1.0, kind="expected", modelled="yes", source="toy", quote="toy")
    sectors = {"first": {"levers": [f"c{i}" for i in range(5)]}, "second": {"levers": [f"c{i}" for i in range(5, 9)]}}
    change = {f"c{i}": float(i + 1) for i in range(k)}
    result = attribute(Scenario("more", overrides=change, use_calibration=False), "y-2022",
                       against=Scenario("none", use_calibration=False), model=model, targets=[target],
                       indicators={"y": "y"}, sectors=sectors)
    assert result.grouped and list(result.members) == ["first", "second", "other"]
    # an additive model: each group's part is the sum of its levers' changes
    row = result.parts.loc[2022]
    assert row["first"] == pytest.approx(15.0) and row["second"] == pytest.approx(30.0)
    assert row["other"] == pytest.approx(sum(range(10, k + 1)))
    np.testing.assert_allclose(result.parts.sum(axis=1), result.total, atol=1e-9)


def test_bad_input(model):
    with pytest.raises(UserError) as info:
        attribute("plan", "carbon-peak-2099")
    assert "unknown target 'carbon-peak-2099'" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(UserError, match="nothing to attribute"):
        attribute("plan", "carbon-peak-2030", against="plan")
    with pytest.raises(UserError, match="exactly the levers that differ"):
        attribute("plan", "carbon-peak-2030", levers=["investment_rate"])
    with pytest.raises(UserError, match="unknown scenario"):
        attribute("plann", "carbon-peak-2030")


def test_cli_attribute_writes_table_and_wedges(tmp_path, capsys):
    import argparse

    import pandas as pd

    from faces.cli.decision import COMMANDS, add_parsers

    parser = argparse.ArgumentParser()
    parser.add_argument("--lang", default="en")
    add_parsers(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["--lang", "en", "attribute", "plan", "--against", "baseline", "--target",
                              "carbon-peak-2030", "--out", str(tmp_path / "wedges")])
    assert COMMANDS["attribute"](args) == 0
    assert "delivers the most" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "wedges" / "attribution-carbon-peak-2030.csv", index_col="year")
    parts = table.drop(columns=["total_difference", "against", "scenario"])
    np.testing.assert_allclose(parts.sum(axis=1), table["scenario"] - table["against"], atol=1e-9)
    assert (tmp_path / "wedges" / "wedges-carbon-peak-2030.png").is_file()
