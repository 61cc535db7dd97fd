"""Cached calls into the library: model, labels, targets, scenarios, runs and target tables.

Runs and tables are cached by parameter set (scenario hash + the user's edits as canonical JSON), so
moving a slider back to a value seen before costs nothing, and the fast engine's one-time compile is
paid once per server process. They are cached as shared objects (``st.cache_resource``, no copy per
call): callers must not modify what these functions return.
"""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

import simulator
from faces.app.text import with_note
from simulator.targets import default_targets_path, load_targets, run_outcomes
from simulator.targets.assess import indicator_series
from simulator.targets.assess import target_table as _target_table
from simulator.targets.history import history_frame


@functools.lru_cache(maxsize=4)
def _model(stamp: str):
    # simulator.load keeps the parsed model and its plan on disk between processes (the library's parse
    # cache, under its trust rules), so a server start reads them instead of parsing the .mdl again
    return simulator.load(simulator.Project.default().model_path)


def model():
    """The Jinan model (parsed once per process, again when the file changes)."""
    return _model(file_stamp(simulator.Project.default().model_path))


@functools.lru_cache(maxsize=4)
def _labels(stamp: str):
    return simulator.labels()


def labels():
    """Display names, indicator map and lever groups."""
    return _labels(file_stamp(simulator.Project.default().labels_path))


@functools.lru_cache(maxsize=4)
def _targets(stamp: str):
    import dataclasses

    from simulator.text import catalogue

    # names models/targets.toml (kept equal to the shared targets.csv) writes with Chinese units in English
    renamed = catalogue("lib.target_names_en")
    return [dataclasses.replace(t, name_en=renamed[t.id]) if t.id in renamed else t for t in load_targets()]


def targets():
    """The plan's targets (models/targets.toml)."""
    return _targets(file_stamp(default_targets_path()))


_STAMPS: dict[tuple, tuple[float, str]] = {}
STAMP_SECONDS = 1.0  # how long a file stamp is trusted: one look at the disk per rerun, not one per call


def file_stamp(*paths: Path) -> str:
    """A cache key that changes when any of these files (or folders' .toml files) changes."""
    now = time.monotonic()
    known = _STAMPS.get(paths)
    if known is not None and now - known[0] < STAMP_SECONDS:
        return known[1]
    parts = []
    for path in paths:
        files = sorted(path.glob("*.toml")) if path.is_dir() else [path]
        parts += [f"{p.name}:{p.stat().st_mtime_ns}" for p in files if p.exists()]
    stamp = "|".join(parts)
    _STAMPS[paths] = (now, stamp)
    return stamp


def scenario_names() -> list[str]:
    """Scenario files under scenarios/."""
    return simulator.list_scenarios()


@st.cache_resource(show_spinner=False, max_entries=64)
def _scenario(name: str, stamp: str):
    return simulator.scenario(name, model())


def scenario(name: str):
    """A named scenario, reloaded when a scenario file or the calibration changes."""
    project = simulator.Project.default()
    return _scenario(name, file_stamp(project.scenario_dir, project.calibration_path))


def scenario_key(scen) -> str:
    """Identity of a scenario's inputs for caches: name, file hash, calibration file."""
    return f"{scen.name}:{scen.sha256}:{file_stamp(simulator.Project.default().calibration_path)}"


def edits_json(edits: dict) -> str:
    """Canonical text of lever edits (sorted; time paths as [[year, value], ...])."""
    return json.dumps({k: edits[k] for k in sorted(edits)}, separators=(",", ":"))


@st.cache_resource(show_spinner=False, max_entries=64)
def _base_values(key: str, _scen) -> dict:
    history = calibrated_values() if _scen.use_calibration else {}
    values = {**history, **_scen.overrides}
    return {k: values.get(k, e.default) for k, e in model().levers.items()}


def base_values(scen) -> dict:
    """Lever id -> the scenario's setting of it, as a slider shows it: its override, else the calibrated
    value, else the model default. (The engine times policy levers from the policy start year on, see
    :mod:`simulator.policy`; a slider sets the value, not the timing.)"""
    return _base_values(scenario_key(scen), scen)


@st.cache_resource(show_spinner=False, max_entries=128)
def _resolved(key: str, _scen) -> dict:
    return simulator.resolve_overrides(model(), _scen)[0]


def resolved_overrides(scen, key: str) -> dict:
    """``simulator.resolve_overrides`` of ``scen`` (engine-ready values), cached under ``key``
    (e.g. :func:`settings.fingerprint`): it re-reads two TOML files on every call."""
    return _resolved(key, scen)


@st.cache_resource(show_spinner=False, max_entries=8)
def _calibrated(stamp: str) -> dict:
    return simulator.calibration_overrides(model())[0]


def calibrated_values() -> dict:
    """Lever id -> fitted value from calibration/calibrated.toml (empty when there is none)."""
    return _calibrated(file_stamp(simulator.Project.default().calibration_path))


@st.cache_resource(show_spinner=False, max_entries=512)
def _run(key: str, edits: str, _scen):
    overrides = json.loads(edits)
    return simulator.run(_scen, overrides=overrides or None, model=model())


def run(scen, edits: dict):
    """The fast-engine result of ``scen`` with ``edits`` on top (cached by parameter set)."""
    return _run(scenario_key(scen), edits_json(edits), scen)


@st.cache_resource(show_spinner=False, max_entries=512)
def _table(key: str, edits: str, lang: str, _result, _assessable: frozenset) -> pd.DataFrame:
    order = {t.id: i for i, t in enumerate(targets())}
    live = [t for t in targets() if t.id in _assessable]
    parts = [_target_table(_result, labels(), lang, targets=live)] if live else []
    fixed = _unassessable(lang, _assessable, _result)
    if len(fixed):
        parts.append(fixed)
    table = pd.concat(parts, ignore_index=True)
    return table.sort_values("id", key=lambda ids: ids.map(order), kind="stable").reset_index(drop=True)


@st.cache_resource(show_spinner=False, max_entries=8)
def _unassessable(lang: str, _assessable: frozenset, _result) -> pd.DataFrame:
    # Why a target cannot be assessed (no model indicator, no value, years outside the run) does not
    # depend on the levers: evaluated once, not on every slider move.
    rest = [t for t in targets() if t.id not in _assessable]
    return _target_table(_result, labels(), lang, targets=rest) if rest else pd.DataFrame()


def unassessable(scen, edits: dict, lang: str) -> pd.DataFrame:
    """The targets the model cannot assess, with the reason (the same whatever the levers)."""
    assessable = frozenset(k for k in outcomes(scen, edits) if ":" not in k)
    return _unassessable(lang, assessable, run(scen, edits))


def target_table(scen, edits: dict, lang: str) -> pd.DataFrame:
    """Every target evaluated on the run of ``scen`` + ``edits`` (as ``simulator.assess.target_table``)."""
    assessable = frozenset(k for k in outcomes(scen, edits) if ":" not in k)
    return _table(scenario_key(scen), edits_json(edits), lang, run(scen, edits), assessable)


@st.cache_resource(show_spinner=False, max_entries=512)
def _outcomes(key: str, edits: str, _result) -> dict:
    years = np.asarray(_result.frame.index, dtype=int)
    frame = run_outcomes(targets(), indicator_series(_result, labels()), years)
    return frame.iloc[0].to_dict()


def outcomes(scen, edits: dict) -> dict:
    """Target id -> 1 met / 0 missed / -1 not valid, and ``id:value`` -> simulated value, for the assessable
    targets of one run: what the headline needs, ~30x faster than the full :func:`target_table`."""
    return _outcomes(scenario_key(scen), edits_json(edits), run(scen, edits))


def assessed_targets(scen, edits: dict, lang: str) -> dict[str, tuple[str, str, bool]]:
    """Assessable target id -> (name with year, unit, met) for one run, in the targets' order."""
    flags = outcomes(scen, edits)
    return {
        t.id: (with_note(t.name(lang), t.year, lang), t.unit, flags[t.id] == 1)
        for t in targets()
        if flags.get(t.id, -1) >= 0
    }


def indicators(result) -> pd.DataFrame:
    """The result's columns renamed to the indicator vocabulary."""
    return result.indicators(labels().indicators)


@st.cache_data(show_spinner=False)
def _history(stamp: str) -> pd.DataFrame | None:
    return history_frame(labels())


def history() -> pd.DataFrame | None:
    """2015-2020 observations of indicators (None until the calibration data is there)."""
    return _history(file_stamp(simulator.Project.default().observations_path))


def chart_labels() -> dict:
    """Indicator -> names and units in both languages, as :mod:`simulator.charts` wants them."""
    lab = labels()
    return {
        ind: {
            "zh": lab.name(var, "zh"),
            "en": lab.name(var, "en"),
            "unit_zh": lab.unit(var, "zh"),
            "unit_en": lab.unit(var, "en"),
        }
        for ind, var in lab.indicators.items()
    }
