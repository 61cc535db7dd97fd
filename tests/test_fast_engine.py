"""The fast engine: equivalence with PySD on the project model, batch properties, errors."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import PysdModel, assert_results_close

from simulator.engines.fast import ParameterError
from simulator.engines.fast.builtins import lookup
from simulator.engines.fast.translate import CompileError, TimePath, TimeSettings, compile_model

ROOT = Path(__file__).resolve().parent.parent
JINAN = ROOT / "models" / "jinan.mdl"
REFERENCE = Path(__file__).resolve().parent / "reference"
RTOL, ATOL = 1e-9, 1e-9  # the fast engine must equal PySD to 1e-9 at every saved time
SEED = 20240917
needs_jinan = pytest.mark.skipif(not JINAN.is_file(), reason="models/jinan.mdl not written yet")

CONTROL = """
FINAL TIME = {final} ~ Year ~ |
INITIAL TIME = 0 ~ Year ~ |
SAVEPER = {saveper} ~ Year ~ |
TIME STEP = {dt} ~ Year ~ |
"""


def write_model(folder: Path, body: str, final=4, dt=0.25, saveper=None) -> Path:
    path = folder / "model.mdl"
    control = CONTROL.format(final=final, dt=dt, saveper=saveper or dt)
    path.write_text("{UTF-8}\n" + body + control, encoding="utf-8")
    return path


def frame(times, values, run=0) -> pd.DataFrame:
    return pd.DataFrame({name: series[run] for name, series in values.items()}, index=times)


@pytest.fixture(scope="module")
def plan():
    if not JINAN.is_file():
        pytest.skip("models/jinan.mdl not written yet")
    return compile_model(JINAN)


@pytest.fixture(scope="module")
def oracle(plan, tmp_path_factory):
    return PysdModel(JINAN, tmp_path_factory.mktemp("pysd"))


@pytest.fixture(scope="module")
def levers(plan):
    """Constants with a finite Vensim [min, max] range: the model's policy levers."""
    found = {name: bounds[:2] for name, bounds in plan.ranges.items()
             if name in plan.constants and bounds and None not in bounds[:2]}
    assert found, "the project model should declare ranges for its levers"
    return found


def random_sets(levers: dict, count: int, seed: int = SEED) -> dict:
    rng = np.random.default_rng(seed)
    return {name: rng.uniform(lo, hi, count) for name, (lo, hi) in sorted(levers.items())}


# --- equivalence with PySD on the project model -------------------------------------------


@needs_jinan
def test_default_run_matches_pysd(plan, oracle):
    expected = oracle.run()
    assert set(expected.columns) == set(plan.names)  # PySD's python names, all elements
    assert_results_close(frame(*plan.run()), expected, RTOL, ATOL)


@needs_jinan
def test_random_parameter_sets_match_pysd(plan, oracle, levers):
    sets = random_sets(levers, 20)
    times, values = plan.run(sets)  # all 20 sets in one batch
    for run in range(20):
        params = {name: float(column[run]) for name, column in sets.items()}
        assert_results_close(frame(times, values, run), oracle.run(params), RTOL, ATOL)


@needs_jinan
def test_time_paths_match_pysd_series(plan, oracle, levers):
    lever, (lo, hi) = sorted(levers.items())[0]
    auxiliaries = [n for n in plan.names if plan.elements[n].kind == "aux"]
    timed = [n for n in auxiliaries if "time" in plan.elements[n].expr.deps]
    dynamic = (timed or auxiliaries)[0]
    t0, t1 = plan.time.initial, plan.time.final
    years = np.array([t0 + 1.3, t0 + 6.1, t1 - 2.7])  # off the dt grid, inside the horizon
    lever_path = np.array([lo, hi, (lo + hi) / 2])
    base = float(plan.run(variables=[dynamic])[1][dynamic][0, 0])
    dynamic_path = base * np.array([1.0, 1.2, 0.9])
    paths = {lever: TimePath(years, lever_path), dynamic: TimePath(years, dynamic_path)}
    expected = oracle.run({lever: pd.Series(lever_path, index=years),
                           dynamic: pd.Series(dynamic_path, index=years)})
    assert_results_close(frame(*plan.run(paths)), expected, RTOL, ATOL)


@needs_jinan
def test_per_run_time_paths_equal_single_paths(plan, levers):
    lever, (lo, hi) = sorted(levers.items())[-1]
    years = np.array([plan.time.initial, plan.time.final])
    rows = np.array([[lo, hi], [hi, lo], [lo, lo]])
    times, batch = plan.run({lever: TimePath(years, rows)})
    for run, row in enumerate(rows):
        _, single = plan.run({lever: TimePath(years, row)})
        for name in plan.names:
            np.testing.assert_allclose(batch[name][run], single[name][0], rtol=1e-12, atol=0)


# --- batch properties -------------------------------------------------------------------------


@needs_jinan
def test_identical_sets_equal_single_runs_across_chunks(plan, levers):
    one = {name: float(column[0]) for name, column in random_sets(levers, 1).items()}
    _, single = plan.run(one)
    _, batch = plan.run({name: np.full(7, value) for name, value in one.items()}, chunk_size=3)
    for name in plan.names:
        assert batch[name].shape == (7, single[name].shape[1])
        np.testing.assert_allclose(batch[name], np.repeat(single[name], 7, axis=0),
                                   rtol=1e-12, atol=0)


@needs_jinan
def test_extreme_sets_stay_in_their_own_rows(plan, levers):
    sets = random_sets(levers, 4)
    for name in sets:
        sets[name][1] = np.nan  # run 1: every lever undefined
        sets[name][2] = 0.0  # run 2: every lever zero (divisions by zero time constants)
    times, values = plan.run(sets)  # must not raise, nor warn (warnings are errors here)
    assert not all(np.isfinite(values[name][1]).all() for name in plan.names)
    for run in (0, 3):
        _, single = plan.run({name: float(column[run]) for name, column in sets.items()})
        for name in plan.names:
            np.testing.assert_allclose(values[name][run], single[name][0], rtol=1e-12, atol=0)


@needs_jinan
def test_requested_variables_alone_equal_the_full_run(plan):
    times, full = plan.run()
    for name in plan.names[::7] + plan.stocks[:3]:
        sub_times, alone = plan.run(variables=[name])
        assert list(alone) == [name]
        np.testing.assert_array_equal(alone[name], full[name])
    assert np.allclose(np.diff(times), plan.time.saveper)
    assert times[0] == plan.time.initial and np.isclose(times[-1], plan.time.final)


@needs_jinan
def test_engine_names_no_model_variable(plan):
    sources = " ".join(f.read_text(encoding="utf-8") for f in (ROOT / "simulator" / "engines").rglob("*.py"))
    words = set(re.findall(r"[a-z_][a-z0-9_]*", sources.lower()))
    specific = [n for n in plan.names if plan.elements[n].kind != "control" and "_" in n]
    assert specific and not [n for n in specific if n in words]


def test_per_run_delay_orders_match_pysd(tmp_path):
    """Delay times given per run change DELAY FIXED's pipe length and DELAY3's order per run."""
    body = ("x = 10 + STEP(5, 1) + RAMP(2, 2, 3) ~~|\n"
            "fixed time = 1 ~~|\nsmooth time = 2 ~~|\n"
            "fixed = DELAY FIXED(x, fixed time, 3) ~~|\n"
            "third = DELAY3I(x, smooth time, 4) + DELAY1(x, smooth time) ~~|\n"
            "stock = INTEG(fixed - third, 0) ~~|\n")
    mdl = write_model(tmp_path, body, final=5, dt=0.25)
    fixed_times = np.array([0.1, 0.6, 1.0, 2.3, 0.25])
    smooth_times = np.array([0.5, 0.3, 2.0, 0.7, 1.0])  # 0.5 and 0.7: order 2; 0.3: order 1
    times, values = compile_model(mdl).run({"fixed_time": fixed_times,
                                            "smooth_time": smooth_times})
    folder = tmp_path / "pysd"
    folder.mkdir()
    oracle = PysdModel(mdl, folder)
    for run, (fixed, smooth) in enumerate(zip(fixed_times, smooth_times, strict=True)):
        expected = oracle.run({"fixed_time": float(fixed), "smooth_time": float(smooth)})
        assert_results_close(frame(times, values, run), expected, RTOL, ATOL)


def test_further_builtins_match_pysd(tmp_path):
    """Builtins supported beyond the core list: SMOOTH N, QUANTUM, trigonometry, GAME."""
    body = ("x = Time / 5 - 0.4 ~~|\n"
            "smooth n = SMOOTH N(x, 2, 1.5, 2) ~~|\nquantised = QUANTUM(x, 0.3) ~~|\n"
            "trig = SIN(x) + COS(x) + TAN(x) + ARCSIN(x / 2) + ARCCOS(x / 2) + ARCTAN(x) ~~|\n"
            "hyperbolic = SINH(x) + COSH(x) + TANH(x) + PI() ~~|\ngame = GAME(x * 2) ~~|\n")
    mdl = write_model(tmp_path, body, final=4, dt=0.25)
    times, values = compile_model(mdl).run()
    folder = tmp_path / "pysd"
    folder.mkdir()
    assert_results_close(frame(times, values), PysdModel(mdl, folder).run(), RTOL, ATOL)


def test_smooth_with_integer_initial_value_is_not_truncated(tmp_path):
    """A deliberate difference from PySD 3.14.3.

    PySD stores SMOOTHI(x, T, 1)'s stages as an integer array when the initial value is
    an integer literal, so its first step truncates x toward zero (-0.4 -> 0). The fast
    engine computes in float64 throughout: the first step is 1 + dt * (x - 1) / T.
    """
    body = "x = -0.4 ~~|\ny = SMOOTHI(x, 2, 1) ~~|\n"
    times, values = compile_model(write_model(tmp_path, body, final=1, dt=0.25)).run()
    assert values["y"][0, 1] == pytest.approx(1 + 0.25 * (-0.4 - 1) / 2, rel=1e-15)


@pytest.mark.parametrize("kind", ["interpolate", "extrapolate"])
def test_lookup_matches_pysd_lookup_objects(kind):
    import warnings

    from pysd.py_backend.lookups import HardcodedLookups

    xs, ys = np.array([1.0, 3.0, 6.0, 8.0]), np.array([0.5, 1.0, 1.8, 2.0])
    reference = HardcodedLookups(list(xs), list(ys), {}, kind, {}, "table")
    reference.initialize()
    points = np.array([-2.0, 0.999, 1.0, 2.2, 3.0, 5.5, 8.0, 8.5, 40.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PySD warns when it extrapolates
        expected = [reference(float(x)) for x in points]
    actual = lookup(points, xs, ys, extrapolate=kind == "extrapolate")
    np.testing.assert_allclose(actual, expected, rtol=1e-15, atol=0)


# --- the integrators --------------------------------------------------------------------------


def test_rk4_is_fourth_order(tmp_path):
    errors = []
    for dt in (0.25, 0.125):
        folder = tmp_path / str(dt)
        folder.mkdir()
        plan = compile_model(write_model(folder, "x = INTEG(-x * 0.8, 1) ~~|\n", final=4, dt=dt,
                                         saveper=1))
        times, values = plan.run(method="rk4")
        errors.append(np.abs(values["x"][0] - np.exp(-0.8 * times)).max())
    assert 15 < errors[0] / errors[1] < 19  # halving dt divides the error by ~2^4


def test_unknown_method_and_bad_parameters(tmp_path):
    plan = compile_model(write_model(tmp_path, "k = 2 ~~|\nx = INTEG(k, 0) ~~|\n"))
    with pytest.raises(ValueError, match="rk45"):
        plan.run(method="rk45")
    with pytest.raises(ParameterError, match="'nope'"):
        plan.run({"nope": 1.0})
    with pytest.raises(ParameterError, match="time settings"):
        plan.run({"time_step": 1.0})
    with pytest.raises(ParameterError, match="disagree"):
        plan.run({"k": np.ones(3)}, n=4)
    times, values = plan.run({"k": np.array([1.0, 2.0])})
    np.testing.assert_allclose(values["x"][:, -1], [4.0, 8.0])


# --- compile-time checks ----------------------------------------------------------------------


def test_plan_metadata():
    plan = compile_model(REFERENCE / "exponential_growth" / "model.mdl")
    assert plan.time == TimeSettings(0.0, 20.0, 0.125, 1.0)
    assert plan.stocks == ["population"]
    assert plan.constants == {"growth_rate": 0.05, "initial_population": 100.0}
    assert plan.ranges["growth_rate"] == (0.0, 0.2, 0.01)
    assert plan.ranges["initial_population"] == (50.0, 200.0, None)
    assert plan.ranges["growth"] is None
    assert plan.units["growth"] == "people/Year"
    assert plan.docs["population"] == "A stock growing at a constant fractional rate."
    lookups = compile_model(REFERENCE / "lookup_extrapolation" / "model.mdl").lookups
    np.testing.assert_array_equal(lookups["effect_table"][0], [1, 3, 6, 8])


def test_compiling_writes_no_file(tmp_path):
    write_model(tmp_path, "x = INTEG(1, 0) ~~|\n")
    before = sorted(tmp_path.iterdir())
    compile_model(tmp_path / "model.mdl")
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.parametrize("body, message", [
    ("x = RANDOM UNIFORM(0, 1, 0) ~~|\n", r"'x'.*RANDOM UNIFORM"),
    ("y = 1 ~~|\nx = DELAY N(y, 2, 0, 3) ~~|\n", r"'x'.*DELAY N"),
    ("y = 1 ~~|\nx = GET TIME VALUE(0, 0, 0) + y ~~|\n", r"'x'.*GET TIME VALUE"),
    ("t(\n[(0,0)-(1,1)],(0,0),(1,1)) ~~|\nx = LOOKUP EXTRAPOLATE(t, 2) ~~|\n",
     r"'x'.*LOOKUP EXTRAPOLATE"),
    ("region: north, south ~~|\nx[region] = 1, 2 ~~|\ny = x ~~|\n",
     r"'y'.*subscripted variable 'x' used without subscripts"),
    ("x = y + 1 ~~|\n", r"'x'.*unknown variable 'y'"),
    ("x = DELAY3(1, 2, 3) ~~|\n", r"cannot parse 'x = DELAY3\(1, 2, 3\)'"),
])
def test_unsupported_constructs_fail_at_compile_time(tmp_path, body, message):
    with pytest.raises(CompileError, match=message):
        compile_model(write_model(tmp_path, body))


def test_algebraic_loop_names_its_variables(tmp_path):
    body = "a = b + 1 ~~|\nb = c * 2 ~~|\nc = a - s ~~|\ns = INTEG(a, 0) ~~|\nd = s ~~|\n"
    with pytest.raises(CompileError, match="algebraic loop") as error:
        compile_model(write_model(tmp_path, body))
    assert all(f"'{name}'" in str(error.value) for name in "abc")
    assert "'s'" not in str(error.value) and "'d'" not in str(error.value)


def test_initialisation_loop_names_its_variables(tmp_path):
    body = "s = INTEG(1, x) ~~|\nx = s * 2 ~~|\n"
    with pytest.raises(CompileError, match=r"initialisation loop.*'s'.*'x'|initialisation loop.*'x'.*'s'"):
        compile_model(write_model(tmp_path, body))


# --- the on-disk parse cache (simulator.model.cache) ------------------------------------------------------

def _fresh_process_load(path: Path, cache: Path, *lines: str) -> str:
    """Load ``path`` in a new Python process with ``cache`` as the cache folder; run ``lines``; its stdout."""
    import os
    import subprocess
    import sys

    code = "\n".join(["import sys", "import simulator", f"m = simulator.load({str(path)!r})", *lines])
    env = {**os.environ, "JINAN_SD_CACHE": str(cache), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                          timeout=300).stdout


def test_a_cached_model_is_the_parsed_one_and_needs_no_pysd(tmp_path):
    path = write_model(tmp_path, "stock = INTEG(flow, 1) ~ Widget ~ |\nflow = rate * stock ~ Widget/Year ~ |\n"
                                 "rate = 0.1 ~ 1/Year [0, 1, 0.01] ~ The lever. |\n")
    cache = tmp_path / "cache"
    first = _fresh_process_load(path, cache, "print(sorted(m.elements), m.levers['rate'].limits)")
    entries = list((cache / "models").glob("*.pickle")) + list((cache / "plans").glob("*.pickle"))
    assert len(entries) == 2, entries
    assert all(e.stat().st_mode & 0o077 == 0 for e in entries)  # readable by the owner only
    second = _fresh_process_load(
        path, cache, "print(sorted(m.elements), m.levers['rate'].limits)",
        "print('pysd' in sys.modules)",
        "print(type(m.elements['stock'].ast).__name__, 'pysd' in sys.modules)",
        "print(repr(float(simulator.run(simulator.defaults(m), model=m).frame['stock'].iloc[-1])))")
    lines = second.splitlines()
    assert lines[0] == first.strip()
    assert lines[1] == "False"  # read from the cache: the model and its plan without importing pysd
    assert lines[2] == "IntegStructure True"  # a syntax tree asked for: unpickled (and pysd imported) then
    expected = simulator_run_stock(path)
    assert float(lines[3]) == expected


def simulator_run_stock(path: Path) -> float:
    import simulator

    model = simulator.load(path)
    return float(simulator.run(simulator.defaults(model), model=model).frame["stock"].iloc[-1])


def test_an_untrusted_or_damaged_cache_entry_is_not_read(tmp_path):
    import os

    path = write_model(tmp_path, "x = 2 ~ Widget ~ |\n")
    cache = tmp_path / "cache"
    _fresh_process_load(path, cache, "print(m.elements['x'].default)")
    (entry,) = (cache / "models").glob("*.pickle")
    # a pickle that would run code when read: group-writable, it must be ignored (the model parsed again)
    import pickle

    class Boom:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'ran'}",))

    entry.write_bytes(pickle.dumps(Boom()))
    os.chmod(entry, 0o664)
    assert _fresh_process_load(path, cache, "print(m.elements['x'].default)").strip() == "2.0"
    assert not (tmp_path / "ran").exists()
    # damaged but trusted: a miss, parsed again, replaced
    entry.write_bytes(b"not a pickle")
    os.chmod(entry, 0o600)
    assert _fresh_process_load(path, cache, "print(m.elements['x'].default)").strip() == "2.0"
    with open(entry, "rb") as file:
        assert file.read(2) != b"no"


def test_an_edited_model_misses_the_cache(tmp_path):
    path = write_model(tmp_path, "x = 2 ~ Widget ~ |\n")
    cache = tmp_path / "cache"
    assert _fresh_process_load(path, cache, "print(m.elements['x'].default)").strip() == "2.0"
    path.write_text(path.read_text(encoding="utf-8").replace("x = 2", "x = 3"), encoding="utf-8")
    assert _fresh_process_load(path, cache, "print(m.elements['x'].default)").strip() == "3.0"
    assert len(list((cache / "models").glob("*.pickle"))) == 2
