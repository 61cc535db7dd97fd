"""Hostile input and unlucky users (issue 14), library side: scenario files, URLs' validation, results
written atomically, caps and memory estimates, non-finite runs. CLI and race cases: test_hostile_cli.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simulator
from simulator import atomic, tomlfile
from simulator.errors import ScenarioError, UserError
from simulator.model.mdl import Model
from simulator.result import Result
from simulator.runner import check_calibration, defaults, run
from simulator.scenarios import MAX_EXTENDS, load_scenario

SCENARIOS = simulator.Project.default().scenario_dir


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def load(path, model, **kwargs):
    return load_scenario(path, model, SCENARIOS, **kwargs)


# --- extends: uploads read no server file; CLI paths from the including file ---------------------------


@pytest.mark.parametrize("target", ["/etc/passwd", "../../pyproject.toml", "../scenarios/plan.toml",
                                    "/nonexistent/x.toml", "plan.toml", "sub/../plan"])
def test_bundled_only_extends_reveals_nothing(tmp_path, model, target):
    upload = write(tmp_path, "probe.toml", f'extends = "{target}"\n')
    with pytest.raises(ScenarioError) as caught:
        load(upload, model, bundled_extends_only=True)
    message = str(caught.value)
    assert message.startswith("probe.toml: 'extends' may name only a bundled scenario (one of: baseline")
    for leak in ("passwd", "pyproject", "build-system", "malformed", "not found", target):
        assert leak not in message.split("(one of")[0].replace("'extends'", "")


def test_bundled_only_extends_by_name_works(tmp_path, model):
    upload = write(tmp_path, "mine.toml", 'extends = "plan"\n[levers]\ninvestment_rate = 0.6\n')
    scen = load(upload, model, bundled_extends_only=True)
    assert scen.overrides["investment_rate"] == 0.6
    assert len(scen.overrides) > 1  # plan's levers came along


def test_relative_extends_is_taken_from_the_including_file(tmp_path, model, monkeypatch):
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "base.toml", "[levers]\ninvestment_rate = 0.61\n")
    child = write(tmp_path / "sub", "child.toml", 'extends = "base.toml"\n')
    other = tmp_path / "elsewhere"
    other.mkdir()
    write(other, "base.toml", "[levers]\ninvestment_rate = 0.99\n")
    monkeypatch.chdir(other)
    assert load(child, model).overrides["investment_rate"] == 0.61
    nested = write(tmp_path, "top.toml", 'extends = "sub/child.toml"\n')
    assert load(nested, model).overrides["investment_rate"] == 0.61
    missing = write(tmp_path / "sub", "bad.toml", 'extends = "nope/x.toml"\n')
    with pytest.raises(ScenarioError, match=r"^bad.toml: extends 'nope/x.toml': scenario file not found"):
        load(missing, model)


def test_long_extends_chain_is_refused(tmp_path, model):
    for k in range(1500):
        write(tmp_path, f"s{k}.toml", f'extends = "s{k + 1}.toml"\n' if k < 1499 else "")
    with pytest.raises(ScenarioError, match=rf"^s0.toml: 'extends' chain longer than {MAX_EXTENDS} files"):
        load(tmp_path / "s0.toml", model)


# --- field types, years, spellings ------------------------------------------------------------------


@pytest.mark.parametrize("text, message", [
    ('use_calibration = "false"', "'use_calibration' must be true or false (a TOML boolean), got 'false'"),
    ("title_en = 3", "'title_en' must be a string, got a number"),
    ("description_zh = [1]", "'description_zh' must be a string, got an array"),
    ('sources = "x"', "[sources] must be a table of name = \"text\", got a string"),
    ("[sources]\ninvestment_rate = 5", "[sources] 'investment_rate' must be a string, got a number"),
    ('levers = "x"', "[levers] must be a table of name = value"),
])
def test_every_field_is_type_checked(tmp_path, model, text, message):
    path = write(tmp_path, "typed.toml", text + "\n")
    with pytest.raises(ScenarioError) as caught:
        load(path, model)
    assert str(caught.value) == f"typed.toml: {message}"


def test_use_calibration_false_boolean_is_kept(tmp_path, model):
    assert load(write(tmp_path, "a.toml", "use_calibration = false\n"), model).use_calibration is False


@pytest.mark.parametrize("points, message", [
    ("[[1900, 2.5], [2025, 3.0]]", "year 1900 is outside the model's years 2015..2035"),
    ("[[2020, 2.5], [3000, 3.0]]", "year 3000 is outside the model's years 2015..2035"),
    ("[[2020, 2.5], [1e308, 3.0]]", "year 1e+308 is outside the model's years 2015..2035"),
    ("[[2016, 0.1], [2025, 3.0]]", "point 2016 is before 2020 and would rewrite the calibrated history"),
])
def test_time_path_years_outside_the_model_or_before_history_are_refused(tmp_path, model, points, message):
    path = write(tmp_path, "years.toml", f"[levers]\nr_and_d_intensity_target = {points}\n")
    with pytest.raises(ScenarioError) as caught:
        load(path, model)
    assert str(caught.value).startswith("years.toml: 'r_and_d_intensity_target' time path " + message)



def test_time_path_from_the_anchor_and_history_points_unchanged_are_accepted(tmp_path, model):
    default = model.elements["r_and_d_intensity_target"].default
    history = [[y, v] for y, v in default if y < 2020]
    text = json.dumps([*history, [2020, 2.6], [2025, 3.0]])
    scen = load(write(tmp_path, "ok.toml", f"[levers]\nr_and_d_intensity_target = {text}\n"), model)
    assert scen.overrides["r_and_d_intensity_target"][-1] == (2025.0, 3.0)


def test_one_lever_spelt_two_ways_is_refused(tmp_path, model):
    path = write(tmp_path, "twice.toml", '[levers]\ninvestment_rate = 0.5\n"investment-rate" = 0.6\n')
    with pytest.raises(ScenarioError, match="twice.toml: 'investment_rate' and 'investment-rate' are the same"):
        load(path, model)


# --- hostile TOML -------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["x = " + "[" * 100_000 + "]" * 100_000,
                                  "x = " + "{a = " * 5000 + "1" + "}" * 5000])
def test_deep_nesting_is_one_line(tmp_path, model, text):
    path = write(tmp_path, "deep.toml", text + "\n")
    with pytest.raises(ScenarioError, match="^deep.toml: arrays or tables nested deeper than 32 levels$"):
        load(path, model)


def test_nesting_scan_ignores_strings_comments_and_headers():
    text = '[levers]\n# [[[[[[\nx = "[[[[[[[[[[[[[[[["\ny = [[2020, 1], [2025, 2]]\n[[input]]\nz = \'\'\'{{{{\'\'\'\n'
    assert tomlfile.nesting_depth(text) == 2


def test_bom_at_the_start_is_accepted(tmp_path, model):
    path = write(tmp_path, "bom.toml", "\ufefftitle_en = 'Windows'\n[levers]\ninvestment_rate = 0.6\n")
    assert load(path, model).title("en") == "Windows"


def test_file_too_large_names_the_file(tmp_path, model):
    path = write(tmp_path, "huge.toml", b"# " + b"x" * (tomlfile.MAX_BYTES + 10))
    with pytest.raises(ScenarioError, match="^huge.toml: file too large"):
        load(path, model)


def test_set_value_nested_too_deeply():
    from simulator.scenarios import parse_set

    with pytest.raises(ScenarioError, match="^set: 'x' value is nested too deeply"):
        parse_set(["x=" + "[" * 100_000])


# --- non-finite values on both engines -------------------------------------------------------------------

CONTROL = """
FINAL TIME = 4 ~ Year ~ |
INITIAL TIME = 0 ~ Year ~ |
SAVEPER = 1 ~ Year ~ |
TIME STEP = 0.25 ~ Year ~ |
"""


def tiny_model(folder: Path, body: str, control: str = CONTROL) -> Model:
    path = folder / "tiny.mdl"
    path.write_text("{UTF-8}\n" + body + control, encoding="utf-8")
    return Model(path)


@pytest.mark.parametrize("engine, message", [
    ("fast", "tiny.mdl: scenario '<model defaults>': 'ratio' is inf at 0"),
    ("pysd", "tiny.mdl: 'ratio' failed at 0: division by zero (pysd engine)"),
])
def test_division_by_zero_is_flagged_with_variable_and_time(tmp_path, monkeypatch, engine, message):
    monkeypatch.setenv("JINAN_SD_CACHE", str(tmp_path / "cache"))
    model = tiny_model(tmp_path, "zero = 0 ~~|\nratio = 1 / zero ~~|\nstock = INTEG(ratio, 0) ~~|\n")
    with pytest.raises(simulator.ModelError) as caught:
        run(defaults(model), model=model, engine=engine)
    assert str(caught.value).startswith(message)


def test_batches_flag_non_finite_runs_one_by_one(tmp_path):
    from simulator.runner import _batch_nonfinite

    cube = np.ones((3, 4, 2))
    cube[1, 2, 1] = np.inf
    failed, problems = _batch_nonfinite(np.arange(4.0), cube, ["a", "b"])
    assert failed.tolist() == [False, True, False]
    assert problems == {1: "'b' at 2"}


def test_final_time_1e12_is_refused_by_estimate(tmp_path):
    control = CONTROL.replace("FINAL TIME = 4", "FINAL TIME = 1e12")
    with pytest.raises(simulator.ModelError, match=r"^tiny.mdl: FINAL TIME 1e\+12 with TIME STEP 0.25 makes"):
        tiny_model(tmp_path, "x = 1 ~~|\n", control)


# --- memory estimates and caps ---------------------------------------------------------------------------


@pytest.mark.parametrize("n, message", [
    (10**9, r"^n: 1,000,000,000 runs need about [\d.]+ GB of memory; this machine has"),
    (10**7, r"^n: 10,000,000 runs need about [\d.]+ GB of memory; this machine has"),
    (2**63, r"^n = 9223372036854775808 is too large"),
    (0, r"^n must be at least 1, got 0"),
])
def test_huge_ensembles_are_refused_before_any_run(model, monkeypatch, n, message):
    from simulator.analysis import ensemble

    monkeypatch.setattr(ensemble, "_execute", lambda *a, **k: pytest.fail("ran"))
    monkeypatch.setattr("simulator.limits.available_memory", lambda: 16 * 1024**3)
    with pytest.raises(UserError, match=message):
        ensemble.run_ensemble("baseline", n=n, model=model)


def test_sensitivity_2_40_is_refused_by_estimate(monkeypatch):
    from simulator.analysis.sensitivity import sobol

    monkeypatch.setattr("simulator.analysis.sensitivity.sobol_from_function", lambda *a, **k: pytest.fail("ran"))
    with pytest.raises(UserError, match=r"^n: 1099511627776 \(x \d+ = [\d,]+ runs\) need about"):
        sobol("baseline", 2**40)


@pytest.mark.parametrize("address", ["not a url", "http://x:1", "tcp://host", "tcp://h:99999", "", "file:///etc"])
def test_scheduler_address_is_checked_before_connecting(address):
    from simulator.analysis.distributed import check_scheduler

    with pytest.raises(UserError, match="^scheduler '"):
        check_scheduler(address)
    assert check_scheduler("tcp://10.0.0.5:8786") == "tcp://10.0.0.5:8786"


@pytest.mark.parametrize("kwargs, message", [
    ({"step": -5}, "step must be a whole number of at least 0, got -5"),
    ({"n_boxes": 0}, "n_boxes must be a whole number of at least 1, got 0"),
    ({"max_depth": -1}, "max_depth must be a whole number of at least 1, got -1"),
    ({"alpha": 0.0}, "alpha must be a number between 0 and 0.5"),
])
def test_discovery_settings_are_refused_not_clamped(tmp_path, kwargs, message):
    from simulator.analysis.discovery import discover

    with pytest.raises(UserError) as caught:
        discover(tmp_path, "t", **kwargs)
    assert str(caught.value).startswith(message)


# --- atomic writes ----------------------------------------------------------------------------------------


def small_result(**provenance) -> Result:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]}, index=pd.Index([2015, 2016, 2017], name="year"))
    return Result(frame, {"x": "Dmnl"}, {"scenario": "s", **provenance})


def test_failed_csv_write_keeps_the_old_file_and_its_provenance(tmp_path, monkeypatch):
    keep = tmp_path / "keep.csv"
    small_result(version="old").to_file(keep)
    before = keep.read_bytes(), keep.with_suffix(".provenance.json").read_bytes()

    def half_then_fail(self, path, *args, **kwargs):
        Path(path).write_text("year,x\n2015,")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        small_result(version="new").to_file(keep)
    assert (keep.read_bytes(), keep.with_suffix(".provenance.json").read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.csv", "keep.provenance.json"]


def test_failed_xlsx_write_is_one_line_and_keeps_the_old_file(tmp_path):
    out = tmp_path / "keep.xlsx"
    small_result().to_file(out)
    before = out.read_bytes()
    with pytest.raises(UserError, match=r"^out .*keep.xlsx: cannot write: .*previous file, if any, is unchanged"):
        small_result(bad="control \x01 character").to_file(out)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.xlsx"]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_results_round_trip_through_the_atomic_writer(tmp_path, suffix):
    path = small_result().to_file(tmp_path / f"r{suffix}")
    assert path.is_file() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_new_folder_never_deletes_what_it_did_not_create(tmp_path):
    target = tmp_path / "out"
    with atomic.new_folder(target) as staging:
        (staging / "a.txt").write_text("first")
        with pytest.raises(UserError, match="already exists"), atomic.new_folder(target):
            pass
    assert (target / "a.txt").read_text() == "first"
    with pytest.raises(UserError, match="already exists"), atomic.new_folder(target):
        pass
    assert (target / "a.txt").read_text() == "first"


def test_new_folder_removes_only_its_own_claim_on_failure(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(RuntimeError), atomic.new_folder(target) as staging:
        (staging / "half").write_text("x")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_stale_partials_of_dead_processes_are_cleaned(tmp_path):
    dead = 2**22 + 12345  # above the default pid_max: no such process
    stale = tmp_path / f".out.partial-{dead}"
    stale.mkdir()
    (stale / "manifest.json").write_text("{}")
    (tmp_path / "out").mkdir()  # the empty claim the killed writer left
    live = tmp_path / f".out.partial-{os.getppid()}"
    live.mkdir()
    other = tmp_path / f".other.partial-{dead}"
    other.mkdir()
    with atomic.new_folder(tmp_path / "out") as staging:
        (staging / "x").write_text("1")
    assert not stale.exists() and live.exists() and other.exists()
    assert (tmp_path / "out" / "x").read_text() == "1"


def test_calibrated_toml_cut_short_is_refused(tmp_path):
    import tomllib

    text = simulator.Project.default().calibration_path.read_text(encoding="utf-8")
    check_calibration(tomllib.loads(text), "calibrated.toml")  # the real file is whole
    cut = text[: text.index("[parameters.depreciation_rate]")]
    with pytest.raises(UserError, match=r"^calibrated.toml: incomplete or damaged calibration file \(it lists"):
        check_calibration(tomllib.loads(cut), "calibrated.toml")
    no_matrix = text[: text.index("matrix = [")]
    with pytest.raises(UserError, match="matrix is not"):
        check_calibration(tomllib.loads(no_matrix), "calibrated.toml")


def test_write_calibrated_failure_keeps_the_previous_file(tmp_path, monkeypatch):
    from calibration import fit

    path = tmp_path / "calibrated.toml"
    path.write_text("previous")

    def broken(result):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fit, "to_toml", broken)
    with pytest.raises(OSError):
        fit.write_calibrated(None, path)
    monkeypatch.setattr(fit, "to_toml", lambda result: "new = 1\n")
    monkeypatch.setattr(atomic, "_fsync_file", lambda p: (_ for _ in ()).throw(OSError(5, "I/O error")))
    with pytest.raises(OSError):
        fit.write_calibrated(None, path)
    assert path.read_text() == "previous" and [p.name for p in tmp_path.iterdir()] == ["calibrated.toml"]


def test_pysd_cache_cut_short_is_rebuilt(tmp_path, monkeypatch):
    from simulator.engines.pysd import load_pysd

    monkeypatch.setenv("JINAN_SD_CACHE", str(tmp_path / "cache"))
    model = tiny_model(tmp_path, "x = 1 ~~|\nstock = INTEG(x, 0) ~~|\n")
    load_pysd(model.path, model.sha256)
    (py_file,) = (tmp_path / "cache" / "pysd").glob("*/tiny.py")
    py_file.write_text(py_file.read_text()[:200] + "\ndef broken(:\n")
    pysd_model = load_pysd(model.path, model.sha256)
    assert compile(py_file.read_text(), "x", "exec") and pysd_model is not None
    assert not list((tmp_path / "cache" / "pysd").glob(".*"))


def test_run_batch_flags_the_non_finite_run_with_variable_and_time(tmp_path):
    from simulator.runner import run_batch

    model = tiny_model(tmp_path, "x = 1 ~ Dmnl [0, 2] ~|\nratio = 1 / x ~~|\nstock = INTEG(ratio, 0) ~~|\n")
    batch = run_batch(defaults(model), {"x": np.array([1.0, 0.0, 2.0])}, model=model)
    assert batch.failed.tolist() == [False, True, False]
    assert batch.problems == {1: "'ratio' at 0"} and batch.provenance["failed_runs"] == 1
