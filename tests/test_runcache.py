"""simulator.run's in-process reuse (simulator/runcache.py): the same result as loading everything again,
and an edited file is seen at once, even one rewritten to the same size with its modification time put
back (the reuse compares bytes, not times)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simulator
from simulator import runcache
from simulator.engines.fast.adapter import run_fast
from simulator.model.mdl import load as load_model
from simulator.runner import _labels, resolve_overrides

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("backend", ["compiled", "numpy"])
@pytest.mark.parametrize("name", ["baseline", "plan"])
def test_run_gives_the_frame_and_units_of_the_engine_frame(name, backend):
    """The frame from the kernel's block on kept axes = the engine's own frame relabelled (the path run()
    took before), bit for bit, with the same axes' types and the same units."""
    simulator.run(name, backend=backend)  # the second call is the one served from the kept objects
    result = simulator.run(name, backend=backend)
    model = load_model(simulator.Project.default().model_path)
    params, _ = resolve_overrides(model, simulator.scenario(name, model))
    frame = run_fast(model, params, backend=backend)
    frame.index = pd.Index(_labels(frame.index), name="year")
    pd.testing.assert_frame_equal(result.frame, frame, check_exact=True)
    assert result.frame.columns.dtype == frame.columns.dtype and result.frame.index.dtype == frame.index.dtype
    assert np.array_equal(result.frame.to_numpy().view(np.int64), frame.to_numpy().view(np.int64))
    assert result.units == {k: model.elements[k.partition("[")[0]].units for k in frame.columns}
    assert result.provenance["backend"] == backend
    assert result.provenance["scenario_sha256"] == simulator.scenario(name, model).sha256


def test_a_result_changed_by_its_caller_does_not_change_the_next():
    first = simulator.run("baseline")
    first.frame.index.name = "changed"
    first.frame.columns.name = "changed too"
    first.units.clear()
    first.frame.iloc[:, :] = 0.0
    second = simulator.run("baseline")
    assert second.frame.index.name == "year" and second.frame.columns.name is None
    assert second.units and (second.frame.to_numpy() != 0).any()


def _rewrite_keeping_time(path: Path, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` (same length) and put the file's times back: size and mtime unchanged."""
    assert len(old) == len(new)
    stat = path.stat()
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns


def test_an_edited_scenario_is_seen_at_once(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text("[levers]\ninvestment_rate = 0.51\n", encoding="utf-8")
    before = simulator.run(path)
    assert simulator.run(path).frame.equals(before.frame)  # kept, same numbers
    _rewrite_keeping_time(path, "0.51", "0.55")
    after = simulator.run(path)
    assert after.provenance["scenario_sha256"] != before.provenance["scenario_sha256"]
    assert not after.frame.equals(before.frame)
    fresh = simulator.run(simulator.scenario(path))  # a Scenario object is never taken from the keep
    pd.testing.assert_frame_equal(after.frame, fresh.frame, check_exact=True)


def test_an_edited_file_an_extends_chain_reaches_is_seen(tmp_path):
    base = tmp_path / "base.toml"
    base.write_text("[levers]\ninvestment_rate = 0.51\n", encoding="utf-8")
    top = tmp_path / "top.toml"
    top.write_text('extends = "base.toml"\n[levers]\nurbanization_speed = 0.125\n', encoding="utf-8")
    before = simulator.run(top)
    simulator.run(top)
    _rewrite_keeping_time(base, "0.51", "0.55")
    after = simulator.run(top)
    assert after.provenance["scenario_sha256"] != before.provenance["scenario_sha256"]
    pd.testing.assert_frame_equal(after.frame, simulator.run(simulator.scenario(top)).frame, check_exact=True)
    base.unlink()  # the chain broken: the ordinary one-line error, not a kept result
    with pytest.raises(simulator.ScenarioError, match="base.toml"):
        simulator.run(top)


def test_a_replaced_scenario_file_is_seen(tmp_path):
    """Same bytes under the same name is the same scenario; a different file of other bytes is not."""
    path = tmp_path / "mine.toml"
    path.write_text("[levers]\ninvestment_rate = 0.51\n", encoding="utf-8")
    first = simulator.run(path)
    other = tmp_path / "other.toml"
    other.write_text("[levers]\ninvestment_rate = 0.57\n", encoding="utf-8")
    os.replace(other, path)
    assert simulator.run(path).provenance["scenario_sha256"] != first.provenance["scenario_sha256"]


def test_an_edited_model_is_seen_at_once(tmp_path):
    path = tmp_path / "jinan.mdl"
    shutil.copy(ROOT / "models" / "jinan.mdl", path)
    first = runcache.model(path)
    assert runcache.model(path) is first  # the same bytes: the same Model
    _rewrite_keeping_time(path, "female share = 0.4987", "female share = 0.4988")
    second = runcache.model(path)
    assert second is not first and second.sha256 != first.sha256
    assert second.sha256 == load_model(path).sha256


def test_a_missing_model_is_the_ordinary_error(tmp_path):
    with pytest.raises(simulator.ModelError, match="not found"):
        runcache.model(tmp_path / "nothing.mdl")


def test_a_retargeted_link_is_seen(tmp_path):
    """Two files of the same bytes: a link moved from one to the other names the other scenario."""
    for name in ("first", "second"):
        (tmp_path / f"{name}.toml").write_text("[levers]\ninvestment_rate = 0.51\n", encoding="utf-8")
    link = tmp_path / "link.toml"
    link.symlink_to(tmp_path / "first.toml")
    assert simulator.run(link).provenance["scenario"] == "first"
    assert simulator.run(link).provenance["scenario"] == "first"
    link.unlink()
    link.symlink_to(tmp_path / "second.toml")
    assert simulator.run(link).provenance["scenario"] == "second"
