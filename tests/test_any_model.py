"""Any Vensim model: control section as expressions, exact saved times, subscripts, refusals by name.

Each case is a tiny model written here and run on both engines; the fast engine must equal
pysd (labels and values to 1e-9). Refusals are one line from the library and from the CLI.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import PysdModel, assert_results_close

import simulator
from faces.cli.main import main
from simulator.engines.fast.adapter import run_fast
from simulator.engines.fast.translate import CompileError, compile_model
from simulator.errors import ModelError, UserError

BODY = ("x = STEP(1, 0.3) + Time ~~|\ns = INTEG(x, 1) ~~|\nd = DELAY FIXED(x, 0.5, 0) ~~|\n"
        "m = SMOOTH(x, 0.7) ~~|\n")


def write(folder: Path, body: str, initial="0", final="5", dt="0.25", saveper="TIME STEP") -> Path:
    path = folder / "model.mdl"
    control = (f"INITIAL TIME = {initial} ~~|\nFINAL TIME = {final} ~~|\nTIME STEP = {dt} ~~|\n"
               f"SAVEPER = {saveper} ~~|\n")
    path.write_text("{UTF-8}\n" + body + control, encoding="utf-8")
    return path


def fast(path: Path) -> pd.DataFrame:
    times, values = compile_model(path).run()
    return pd.DataFrame({name: series[0] for name, series in values.items()}, index=times)


@pytest.mark.parametrize("initial, final, dt, saveper", [
    ("0", "5", "0.1", "0.1"), ("0", "2", "0.125", "0.25"), ("0", "3", "0.3", "TIME STEP"),
    ("-2", "3", "0.25", "0.5"), ("1.5", "4", "0.5", "TIME STEP"), ("0", "1", "0.3", "0.3"),
    ("0", "10.05", "0.1", "0.5"), ("first year", "first year + 4", "step length", "2 * TIME STEP"),
])
def test_time_settings_labels_and_values_equal_pysd(tmp_path, initial, final, dt, saveper):
    body = BODY + "first year = -1 ~~|\nstep length = 0.25 ~~|\n"
    path = write(tmp_path, body, initial, final, dt, saveper)
    actual = fast(path)
    expected = PysdModel(path, tmp_path / "cache").run()
    assert_results_close(actual[expected.columns], expected, 1e-9, 1e-12)


def test_saved_times_are_exact_decimals(tmp_path):
    times = fast(write(tmp_path, BODY, "0", "50", "0.1", "0.1")).index
    assert len(times) == 501 and times[3] == 0.3 and times[-1] == 50.0
    assert list(times[:4]) == [0.0, 0.1, 0.2, 0.3]
    model = simulator.load(tmp_path / "model.mdl")
    result = simulator.run(simulator.defaults(model), model=model)
    assert result.frame.index.dtype == float and result.frame.index[7] == 0.7
    assert model.years[:4] == [0.0, 0.1, 0.2, 0.3]


def test_final_time_changing_during_the_run_is_refused_by_name(tmp_path):
    path = write(tmp_path, BODY, final="5 + Time")
    with pytest.raises(ModelError, match=r"model.mdl: 'FINAL TIME' must be a constant expression"):
        simulator.load(path)
    with pytest.raises(CompileError, match=r"model.mdl: 'FINAL TIME'.*changes during the run"):
        compile_model(path)


SUBSCRIPTED = """region: north, south, east ~~|
coastal: north, east ~~|
growth[region] = 0.1, 0.2, 0.3 ~~|
initial[region] = 10 ~~|
kind: k1, k2 ~~|
weight[region, kind] = 1, 2; 3, 4; 5, 6; ~~|
population[region] = INTEG(births[region], initial[region]) ~~|
births[region] = population[region] * growth[region] ~~|
coast total = SUM(population[coastal!]) ~~|
smoothed[region] = SMOOTH(births[region], 2) + DELAY3(births[region], 1.5) + TREND(births[region], 2, 0) ~~|
spread = VMAX(population[region!]) - VMIN(population[region!]) + PROD(growth[coastal!]) ~~|
by kind[kind] = SUM(weight[region!, kind] * population[region!]) ~~|
shares[region] :EXCEPT: [east] = population[region] / SUM(population[region!]) ~~|
shares[east] = 0 ~~|
"""


def test_subscripted_model_equals_pysd_with_result_ids(tmp_path):
    path = write(tmp_path, SUBSCRIPTED, final="4", dt="0.5")
    actual = fast(path)
    ids = {"population[north]", "coast_total", "shares[east]", "weight[south,k1]", "by_kind[k2]"}
    assert ids <= set(actual.columns)
    expected = simulator.engines.pysd.run_pysd(simulator.engines.pysd.load_pysd(path, cache=tmp_path / "c"), {})
    assert_results_close(actual[expected.columns], expected, 1e-9, 1e-12)


def test_overrides_of_subscripted_constants(tmp_path):
    model = simulator.load(write(tmp_path, SUBSCRIPTED, final="4", dt="0.5"))
    base = run_fast(model, {})
    every = run_fast(model, model.constant_overrides({"growth": 0.5}))
    one = run_fast(model, model.constant_overrides({"growth[south]": 0.5}))
    some = run_fast(model, model.constant_overrides({"growth": {"south": 0.5, "east": 0.0}}))
    assert np.allclose(every["births[north]"].iloc[0], 5.0) and np.allclose(one["births[south]"].iloc[0], 5.0)
    assert one["births[north]"].equals(base["births[north]"])
    assert np.allclose(some["births[east]"], 0.0) and some["births[north]"].equals(base["births[north]"])
    with pytest.raises(UserError, match=r"unknown subscript element 'sout'.*did you mean: south"):
        model.constant_overrides({"growth[sout]": 1.0})
    with pytest.raises(UserError, match=r"unknown variable 'growht'.*did you mean: growth"):
        model.constant_overrides({"growht": 1.0})


@pytest.mark.parametrize("body, construct", [
    ("y = 1 ~~|\nx = VECTOR SELECT(y, y, y, 0, 0) ~~|\n", "'x': unsupported construct function VECTOR SELECT"),
    ("region: a, b ~~|\nx[region] = 1, 2 ~~|\ny = x ~~|\n", "'y': unsupported construct subscripted variable"),
    ("y = 1 ~~|\nx = GET TIME VALUE(0, 0, 0) * y ~~|\n", "'x': unsupported construct function GET TIME VALUE"),
])
def test_refusal_is_one_line_from_library_and_cli(tmp_path, capsys, body, construct):
    path = write(tmp_path, body)
    model = simulator.load(path)  # the model itself loads: the pysd engine can still run it
    with pytest.raises(UserError) as error:
        simulator.run(simulator.defaults(model), model=model)
    assert construct in str(error.value) and "model.mdl" in str(error.value)
    assert main(["--lang", "en", "run", "--model", str(path), "--out", str(tmp_path / "out.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("jinan-sd: error: model.mdl:") and construct in err and "\n" not in err


def test_macros_are_inlined_per_call(tmp_path):
    body = (":MACRO: GROWN(v, rate)\nGROWN = INTEG(v * rate, v) ~~|\n:END OF MACRO:\n"
            "a = GROWN(1, 0.1) ~~|\nb = GROWN(2, 0.2) + GROWN(a, 0.1) ~~|\n")
    path = write(tmp_path, body, final="3", dt="0.5")
    actual = fast(path)
    assert [c for c in actual.columns if "macro" in c] == []  # a call's copy is not a result
    expected = PysdModel(path, tmp_path / "cache").run()
    assert_results_close(actual[expected.columns], expected, 1e-9, 1e-12)


def test_cli_runs_any_model_on_both_engines_and_lists_constants(tmp_path, capsys):
    path = write(tmp_path, SUBSCRIPTED, final="4", dt="0.5")
    for engine in ("fast", "pysd"):
        out = tmp_path / f"{engine}.csv"
        assert main(["run", "--model", str(path), "--engine", engine, "--out", str(out)]) == 0
    a = pd.read_csv(tmp_path / "fast.csv", index_col=0)
    b = pd.read_csv(tmp_path / "pysd.csv", index_col=0)
    assert_results_close(a[b.columns], b, 1e-9, 1e-12)
    assert main(["run", "--model", str(path), "--set", "growth[south]=0.5", "--out", str(tmp_path / "s.csv")]) == 0
    assert pd.read_csv(tmp_path / "s.csv", index_col=0)["growth[south]"].eq(0.5).all()
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".py") == []  # nothing beside the model
    assert main(["info", "--model", str(path)]) == 0
    assert "growth[region]" in capsys.readouterr().out


def test_sample_if_true_forecast_and_smooth_n_equal_pysd(tmp_path):
    body = ("x = 1 + Time * Time / 10 + STEP(2, 1.5) ~~|\n"
            "held = SAMPLE IF TRUE(MODULO(Time, 1) = 0 :AND: Time > 0.5, x, -1) ~~|\n"
            "ahead = FORECAST(x, 2, 1.5) ~~|\norder = 2 + STEP(1, 1) ~~|\n"
            "smoothed = SMOOTH N(x, 1.5, 0, order) ~~|\n")
    path = write(tmp_path, body, final="4", dt="0.25")
    actual = fast(path)
    expected = PysdModel(path, tmp_path / "cache").run()
    assert_results_close(actual[expected.columns], expected, 1e-9, 1e-12)


def test_a_constant_that_fixes_an_order_cannot_be_overridden(tmp_path):
    body = "x = Time ~~|\norder = 3 ~~|\nsmoothed = SMOOTH N(x, 1.5, 0, order) ~~|\n"
    plan = compile_model(write(tmp_path, body))
    with pytest.raises(UserError, match=r"'order' fixes the order of SMOOTH N in 'smoothed'"):
        plan.run({"order": 2.0})
    with pytest.raises(UserError, match=r"'ordr' is not an element.*did you mean: order"):
        plan.run({"ordr": 2.0})


def test_vector_functions_and_invert_matrix_equal_pysd(tmp_path):
    body = ("item: i1, i2, i3 ~~|\nrow: r1, r2 ~~|\ncol: c1, c2 ~~|\n"
            "value[i1] = 3 + Time ~~|\nvalue[i2] = 1 - Time ~~|\nvalue[i3] = 2 ~~|\n"
            "order[item] = VECTOR SORT ORDER(value[item], 1) ~~|\n"
            "rank[item] = VECTOR RANK(value[item], 0) ~~|\n"
            "sorted[item] = VECTOR REORDER(value[item], order[item]) ~~|\n"
            "base[row, col] = 4, 7; 2, 6; ~~|\nmatrix[row, col] = base[row, col] + Time ~~|\n"
            "inverse[row, col] = INVERT MATRIX(matrix[row, col], 2) ~~|\n")
    path = write(tmp_path, body, final="3", dt="0.5")
    actual = fast(path)
    expected = PysdModel(path, tmp_path / "cache").run()
    expected.columns = [simulator.engines.pysd.column_id(c) for c in expected.columns]
    assert_results_close(actual[expected.columns], expected, 1e-9, 1e-12)
