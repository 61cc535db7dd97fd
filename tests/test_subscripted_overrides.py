"""Overrides of subscripted constants (issue 15): every cell, one cell or named cells, from the library,
scenario TOML, the command line and uncertainty files, on both engines; bad elements are one line.

The peer model (../shared/peer-models, skipped when absent) is a 2-D case with spaces in its element
names; each override must change exactly the cells it names, and the fast engine must equal pysd run
with the same override to 1e-9.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from peers import PEERS
from support import assert_results_close

import simulator
from faces.cli.main import main
from simulator.analysis.uncertainty import load_uncertainty
from simulator.errors import UserError
from simulator.scenarios import load_scenario

PEER = PEERS / "tests" / "subscript_2d_arrays" / "test_subscript_2d_arrays.mdl"
needs_peer = pytest.mark.skipif(not PEER.is_file(), reason="../shared/peer-models is absent")
CELLS = [f"rate_a[Entry {i},Column {j}]" for i in (1, 2, 3) for j in (1, 2)]


@pytest.fixture(scope="module")
def peer():
    return simulator.load(PEER)


def both(model, overrides):
    """(fast, pysd) frames of one run of the model's own defaults with ``overrides``."""
    runs = [simulator.run(simulator.defaults(model), overrides=overrides, model=model, engine=engine).frame
            for engine in ("fast", "pysd")]
    return runs


@needs_peer
@pytest.mark.parametrize("overrides, expected", [
    ({"rate_a[Entry 2,Column 1]": 0.5}, {"rate_a[Entry 2,Column 1]": 0.5}),
    ({"rate_a[entry_3,column_2]": 0.25}, {"rate_a[Entry 3,Column 2]": 0.25}),  # canonical ids of the names
    ({"rate_a": 0.07}, dict.fromkeys(CELLS, 0.07)),
    ({"rate_a": {"Entry 1,Column 2": 0.2, "Entry 3, Column 1": 0.3}},
     {"rate_a[Entry 1,Column 2]": 0.2, "rate_a[Entry 3,Column 1]": 0.3}),
    ({"rate_a[One Dimensional Subscript,Column 2]": 0.0},  # a whole range in one position
     {f"rate_a[Entry {i},Column 2]": 0.0 for i in (1, 2, 3)}),
])
def test_override_changes_the_named_cells_and_equals_pysd(peer, overrides, expected):
    base = simulator.run(simulator.defaults(peer), model=peer).frame
    fast, reference = both(peer, overrides)
    assert_results_close(fast[reference.columns], reference, 1e-9, 1e-12)
    for cell in CELLS:
        stock = cell.replace("rate_a", "stock_a")
        if cell in expected:
            assert (fast[cell] == expected[cell]).all() and (reference[cell] == expected[cell]).all()
            assert expected[cell] == base[cell].iloc[0] or not fast[stock].equals(base[stock])
        else:  # a cell not named keeps its value, and so does everything it drives
            assert fast[cell].equals(base[cell]) and fast[stock].equals(base[stock])


@needs_peer
@pytest.mark.parametrize("overrides, words", [
    ({"rate_a[Entry 4,Column 1]": 1.0}, ["'Entry 4' is not an element of subscript 1 of 'rate_a'",
                                          "did you mean: Entry"]),
    ({"rate_a[Column 1,Entry 1]": 1.0}, ["'Column 1' is not an element of subscript 1 of 'rate_a'",
                                          "an element of another range"]),
    ({"rate_a[Entry 1]": 1.0}, ["'rate_a' has 2 subscript(s), got 1"]),
    ({"rate_a": {"Entry 1,Colum 2": 1.0}}, ["'rate_a[Entry 1,Colum 2]'", "did you mean: Column 2"]),
    ({"rate_b[Entry 1,Column 1]": 1.0}, ["unknown variable 'rate_b'", "did you mean: rate_a"]),
    ({"stock_a[Entry 1,Column 1]": 1.0}, ["'stock_a[Entry 1,Column 1]' is not a constant (it is a stock)"]),
    ({"rate_a[Entry 1,Column 1]": "x"}, ["'rate_a[Entry 1,Column 1]' must be a finite number"]),
])
def test_bad_cells_are_one_line_naming_variable_and_element(peer, overrides, words):
    for engine in ("fast", "pysd"):
        with pytest.raises(UserError) as error:
            simulator.run(simulator.defaults(peer), overrides=overrides, model=peer, engine=engine)
        message = str(error.value)
        assert message.startswith("overrides: ") and error.value.param == "overrides"
        assert "--" not in message and "\n" not in message  # the library names no flag
        for word in words:
            assert word in message


@needs_peer
def test_cli_set_of_one_cell_on_both_engines(peer, tmp_path, capsys):
    for engine in ("fast", "pysd"):
        out = tmp_path / f"{engine}.csv"
        assert main(["run", "--model", str(PEER), "--engine", engine, "--set", "rate_a[Entry 2,Column 2]=0.5",
                     "--set", "rate_a[Entry 1,Column 1]=0", "--out", str(out)]) == 0
    fast, reference = (pd.read_csv(tmp_path / f"{e}.csv", index_col=0) for e in ("fast", "pysd"))
    assert_results_close(fast[reference.columns], reference, 1e-9, 1e-12)
    assert (fast["rate_a[Entry 2,Column 2]"] == 0.5).all() and (fast["rate_a[Entry 1,Column 1]"] == 0).all()
    assert (fast["stock_a[Entry 1,Column 1]"] == 1.0).all()  # its inflow is now zero
    assert main(["run", "--model", str(PEER), "--set", "rate_a[Entry 9,Column 2]=0.5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("jinan-sd: error: --set: 'rate_a[Entry 9,Column 2]': 'Entry 9' is not an element")
    assert "\n" not in err


SUBSCRIPTED_LEVERS = """region: north, south, east ~~|
growth[region] = 0.1, 0.2, 0.3 ~ 1/Year [0, 1] ~|
population[region] = INTEG(population[region] * growth[region], 10) ~~|
INITIAL TIME = 0 ~~|
FINAL TIME = 4 ~~|
TIME STEP = 0.5 ~~|
SAVEPER = TIME STEP ~~|
"""


@pytest.fixture
def levered(tmp_path):
    path = tmp_path / "levered.mdl"
    path.write_text("{UTF-8}\n" + SUBSCRIPTED_LEVERS, encoding="utf-8")
    return simulator.load(path)


def test_scenario_toml_sets_every_cell_or_named_cells(levered, tmp_path):
    scenario = tmp_path / "what-if.toml"
    scenario.write_text('use_calibration = false\n[levers]\ngrowth = { south = 0.5, east = 0.0 }\n'
                        '"growth[north]" = 0.25\n', encoding="utf-8")
    loaded = load_scenario(scenario, levered, tmp_path)
    assert loaded.overrides == {"growth[south]": 0.5, "growth[east]": 0.0, "growth[north]": 0.25}
    fast = simulator.run(loaded, model=levered).frame
    reference = simulator.run(loaded, model=levered, engine="pysd").frame
    assert_results_close(fast[reference.columns], reference, 1e-9, 1e-12)
    assert list(fast.iloc[0][["growth[north]", "growth[south]", "growth[east]"]]) == [0.25, 0.5, 0.0]
    scenario.write_text("use_calibration = false\n[levers]\ngrowth = 0.4\n", encoding="utf-8")
    assert set(load_scenario(scenario, levered, tmp_path).overrides.values()) == {0.4}


@pytest.mark.parametrize("levers, words", [
    ("growth = { west = 0.5 }", "what-if.toml: 'growth[west]': 'west' is not an element of 'growth'"),
    ("growth = { south = 1.5 }", "what-if.toml: 'growth[south]' = 1.5 is outside its range [0, 1]"),
    ('"growth[north" = 0.5', "what-if.toml: 'growth[north': missing ']'"),
    ("growth = {}", "what-if.toml: 'growth' = {} names no element"),
])
def test_scenario_toml_bad_cells_name_the_file(levered, tmp_path, levers, words):
    scenario = tmp_path / "what-if.toml"
    scenario.write_text(f"use_calibration = false\n[levers]\n{levers}\n", encoding="utf-8")
    with pytest.raises(UserError) as error:
        load_scenario(scenario, levered, tmp_path)
    assert str(error.value).startswith(words) and error.value.param is None


def test_uncertainty_inputs_per_cell_or_for_every_cell(levered, tmp_path):
    path = tmp_path / "uncertainty.toml"
    path.write_text('[[input]]\nname = "growth[south]"\ndistribution = "uniform"\nlow = 0.4\nhigh = 0.6\n'
                    '[[input]]\nname = "growth[east]"\ndistribution = "uniform"\nlow = 0.0\nhigh = 0.1\n',
                    encoding="utf-8")
    unc = load_uncertainty(path, levered, tmp_path)
    assert unc.names == ["growth[south]", "growth[east]"]
    samples = unc.sample(8, seed=3)
    batch = simulator.run_batch(simulator.defaults(levered), samples, model=levered)
    first = batch.values[:, 0, :]
    assert np.array_equal(first[:, batch.variables.index("growth[south]")], samples["growth[south]"].to_numpy())
    assert np.array_equal(first[:, batch.variables.index("growth[east]")], samples["growth[east]"].to_numpy())
    assert (first[:, batch.variables.index("growth[north]")] == 0.1).all()  # not sampled: the model's value
    one = simulator.run(simulator.defaults(levered), overrides={"growth": {"south": float(samples.iloc[5, 0]),
                                                                           "east": float(samples.iloc[5, 1])}},
                        model=levered, engine="pysd").frame
    assert np.allclose(batch.frame(5)[one.columns].to_numpy(), one.to_numpy(), rtol=1e-9, atol=1e-12)
    path.write_text('[[input]]\nname = "growth"\ndistribution = "uniform"\nlow = 0.4\nhigh = 0.6\n', encoding="utf-8")
    whole = load_uncertainty(path, levered, tmp_path).sample(4, seed=1)
    batch = simulator.run_batch(simulator.defaults(levered), whole, model=levered)
    for cell in ("growth[north]", "growth[south]", "growth[east]"):  # one draw sets every cell
        assert np.array_equal(batch[cell][:, 0], whole["growth"].to_numpy())


@pytest.mark.parametrize("name, extra, words", [
    ("growth[sout]", "", "uncertainty.toml: input #1: 'growth[sout]': 'sout' is not an element of 'growth' "
                         "(did you mean: south"),
    ("growth[region]", "", "uncertainty.toml: input #1: 'growth[region]' names 3 cells"),
    ("growth[south]", "from_year = 2\n", "from_year is for scalar inputs"),
    ("growht", "", "uncertainty.toml: input #1: 'growht' is not a constant of the model (did you mean: growth"),
])
def test_uncertainty_bad_cells_name_the_file_and_input(levered, tmp_path, name, extra, words):
    path = tmp_path / "uncertainty.toml"
    path.write_text(f'[[input]]\nname = "{name}"\ndistribution = "uniform"\nlow = 0.4\nhigh = 0.6\n{extra}',
                    encoding="utf-8")
    with pytest.raises(UserError, match=None) as error:
        load_uncertainty(path, levered, tmp_path)
    assert words in str(error.value) and "\n" not in str(error.value)


def test_a_cell_and_its_whole_are_not_both_inputs(levered, tmp_path):
    path = tmp_path / "uncertainty.toml"
    text = '[[input]]\nname = "{}"\ndistribution = "uniform"\nlow = 0.4\nhigh = 0.6\n'
    path.write_text(text.format("growth") + text.format("growth[north]"), encoding="utf-8")
    with pytest.raises(UserError, match=r"input 'growth\[north\]' is given twice"):
        load_uncertainty(path, levered, tmp_path)


def test_samples_of_a_cell_are_checked_against_the_range(levered):
    with pytest.raises(UserError, match=r"samples: 'growth\[south\]' has values outside its range \[0, 1\]"):
        simulator.run_batch(simulator.defaults(levered), {"growth[south]": np.array([0.5, 2.0])}, model=levered)
    with pytest.raises(UserError, match=r"samples: 'growth\[west\]': 'west' is not an element of 'growth'"):
        simulator.run_batch(simulator.defaults(levered), {"growth[west]": np.array([0.5])}, model=levered)


def test_a_scenario_setting_cells_fixes_the_inputs_of_that_constant(levered, tmp_path):
    path = tmp_path / "uncertainty.toml"
    text = '[[input]]\nname = "{}"\ndistribution = "uniform"\nlow = 0.4\nhigh = 0.6\n'
    path.write_text(text.format("growth[south]"), encoding="utf-8")
    unc = load_uncertainty(path, levered, tmp_path)
    assert unc.without({"growth[south]": 0.1}).names == []  # a scenario's lever is never sampled
    assert unc.without({"growth[north]": 0.1, "population": 1.0}).names == ["growth[south]"]
    path.write_text(text.format("growth"), encoding="utf-8")
    assert load_uncertainty(path, levered, tmp_path).without({"growth[east]": 0.2}).names == []


#: Peer cases whose subscripted constants are defined in the different ways Vensim allows: one value for a
#: whole 2-D range (an integer array in pysd), ranges copied from another range (``B <-> A``), mapped
#: subranges with :EXCEPT:, cells defined one by one, 3-D arrays.
SWEEP = ["except/test_except.mdl", "subscript_copy/test_subscript_copy.mdl",
         "except_subranges/test_except_subranges.mdl", "subscripted_trend/test_subscripted_trend.mdl",
         "subscript_individually_defined_1d_arrays/subscript_individually_defined_1d_arrays.mdl",
         "subscript_3d_arrays/test_subscript_3d_arrays.mdl"]


@pytest.mark.parametrize("case", SWEEP)
def test_first_cell_of_every_subscripted_constant_set_equals_pysd(case):
    from simulator.model import cells

    path = PEERS / "tests" / case
    if not path.is_file():
        pytest.skip("../shared/peer-models is absent")
    model = simulator.load(path)
    base = simulator.run(simulator.defaults(model), model=model).frame
    overrides = {}
    for element in model.elements.values():
        known = cells.cells(model, element.id)
        if element.kind == "constant" and known:
            key = cells.cell_key(element.id, known[0])
            overrides[key] = float(base[key].iloc[0]) * 1.5 + 0.1  # not an integer: pysd must not round it
    assert overrides, "the case has no subscripted constant"
    fast, reference = both(model, overrides)
    assert_results_close(fast[reference.columns], reference, 1e-9, 1e-12)
    for key, value in overrides.items():
        assert (fast[key] == value).all() and (reference[key] == value).all()
