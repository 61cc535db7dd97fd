"""Scenarios: named sets of overrides (constants and time paths), validated against the model.

A scenario is a TOML file under ``scenarios/`` (or any path)::

    title_zh = "规划情景"
    title_en = "Plan"
    description_zh = "..."
    description_en = "..."
    extends = "baseline"            # optional: start from another scenario

    [levers]
    investment_rate = 0.58                                 # a constant
    r_and_d_intensity_target = [[2020, 2.62], [2025, 3.0]] # a time path: [[year, value], ...]
                                                           # (replaces the model's path from 2020 on)

    growth = { north = 0.03, south = 0.04 }                # cells of a subscripted lever (any model with
    "growth[east]" = 0.05                                  # subscripts; growth = 0.03 sets every cell)

    [sources]                                              # optional: why each value
    r_and_d_intensity_target = "seed §6: 全社会研发经费支出占比达到3%以上"

A scenario never holds an equation. Every problem raises :class:`ScenarioError` with one line
naming the file, the key and the reason: every field is type-checked (``use_calibration`` a TOML
boolean, titles strings, ``[sources]`` a table of strings), a lever may be given once however it is spelt,
time-path years lie within INITIAL..FINAL TIME, and a policy path may not rewrite the calibrated history
before the policy start year - 1. ``extends`` names a bundled scenario, or a path taken from the folder of
the file that names it (a file from someone else, e.g. an app upload, may name only a bundled scenario);
chains stop at :data:`MAX_EXTENDS` files, and files are read through :mod:`simulator.tomlfile` (size and
nesting capped, a leading BOM accepted).

Policy timing: Policy timing: a scenario's setting of a policy lever applies from the policy start year.

Before that year the model follows its calibrated history, so changing ``investment_rate`` in a 2021-2035
scenario leaves 2015-2020 as the data made them and targets measured against 2020 stay fair. Which
constants are policy levers, and the start year, are read from ``models/labels.toml`` (``[policy]``).
Time-path levers need no timing: a scenario's path already replaces the model's only from its first year.
"""

from __future__ import annotations

import hashlib
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simulator import tomlfile
from simulator.engines.fast import TimePath
from simulator.errors import ScenarioError, UserError
from simulator.model import cells, compat
from simulator.model.cells import fail
from simulator.model.labels import labels
from simulator.model.mdl import Model, suggest
from simulator.model.naming import canonical_id

TOP_LEVEL_KEYS = {
    "title_zh",
    "title_en",
    "description_zh",
    "description_en",
    "extends",
    "levers",
    "sources",
    "use_calibration",
}


@dataclass
class Scenario:
    """A validated scenario.

    Attributes
    ----------
    name : str
        File stem (``"baseline"``) or ``"<overrides>"`` for an ad-hoc one.
    overrides : dict
        id -> float, or id -> list of (year, value) pairs; includes what ``extends`` brings.
    titles, descriptions : dict
        {"zh": str, "en": str}.
    sources : dict
        id -> citation text for the lever value.
    use_calibration : bool
        Apply ``calibration/calibrated.toml`` under the overrides (default True).
    path : Path or None
        The file, if any; ``sha256`` its hash (the chain of extended files included).
    """

    name: str
    overrides: dict = field(default_factory=dict)
    titles: dict = field(default_factory=dict)
    descriptions: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)
    use_calibration: bool = True
    path: Path | None = None
    sha256: str = ""

    def title(self, lang: str = "zh") -> str:
        """Title in ``lang``, falling back to the other language and then the name."""
        return self.titles.get(lang) or self.titles.get("en") or self.name

    def with_overrides(self, model: Model, extra: dict, where: str = "overrides") -> Scenario:
        """A copy with ``extra`` overrides validated and applied on top (``where`` names their source in
        errors: the library parameter ``overrides`` by default, which a face words as its own input)."""
        merged = dict(self.overrides)
        merged.update(validate_overrides(model, extra, where))
        return Scenario(
            name=self.name,
            overrides=merged,
            titles=self.titles,
            descriptions=self.descriptions,
            sources=self.sources,
            use_calibration=self.use_calibration,
            path=self.path,
            sha256=self.sha256,
        )


#: Longest chain of ``extends`` followed (a scenario extending one extending one ...).
MAX_EXTENDS = 16
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def bundled_names(scenario_dir: Path) -> list[str]:
    """Names of the scenario files under ``scenario_dir`` (``uncertainty.toml`` excluded)."""
    return sorted(p.stem for p in scenario_dir.glob("*.toml") if p.stem != "uncertainty")


def resolve_path(name_or_path: str | Path, scenario_dir: Path, base: Path | None = None) -> Path:
    """Find a scenario by name under ``scenario_dir`` or as a path; raise if missing.

    A relative path is taken from ``base`` (the folder of the file that names it) when given, else from
    the working directory.
    """
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.parent != Path("."):
        if base is not None and not candidate.is_absolute():
            candidate = base / candidate
        if candidate.is_file():
            return candidate.resolve()
        raise ScenarioError(f"scenario file not found: {candidate}")
    in_dir = scenario_dir / f"{name_or_path}.toml"
    if _NAME.match(str(name_or_path)) and in_dir.is_file():
        return in_dir.resolve()
    raise ScenarioError(f"unknown scenario '{name_or_path}' (known: {', '.join(bundled_names(scenario_dir))})")


def load_scenario(name_or_path: str | Path, model: Model, scenario_dir: Path, *,
                  bundled_extends_only: bool = False) -> Scenario:
    """Load, follow ``extends`` and validate a scenario against ``model``.

    Parameters
    ----------
    bundled_extends_only : bool
        ``extends`` of this file may name only a scenario of ``scenario_dir``, by name (for files from
        other people, e.g. an upload to the app: no path is followed, and a refusal says nothing about
        which files exist). Otherwise a relative path is taken from the folder of the file naming it.
    """
    return _load(resolve_path(name_or_path, scenario_dir), model, scenario_dir, (), bundled_extends_only)


def _extends_path(path: Path, target, scenario_dir: Path, bundled_only: bool) -> Path:
    where = path.name
    if not isinstance(target, str) or not target.strip():
        raise fail(where, "'extends' must be a scenario name or path")
    known = bundled_names(scenario_dir)
    if bundled_only:
        if target not in known:
            raise fail(where, f"'extends' may name only a bundled scenario (one of: {', '.join(known)})")
        return (scenario_dir / f"{target}.toml").resolve()
    try:
        return resolve_path(target, scenario_dir, base=path.parent)
    except ScenarioError as exc:
        raise fail(where, f"extends '{target}': {exc}") from None


def _load(path: Path, model: Model, scenario_dir: Path, chain: tuple, bundled_only: bool = False) -> Scenario:
    if path in chain:
        cycle = " -> ".join(p.stem for p in (*chain, path))
        raise ScenarioError(f"{path.name}: circular 'extends': {cycle}")
    if len(chain) >= MAX_EXTENDS:
        raise ScenarioError(f"{chain[0].name}: 'extends' chain longer than {MAX_EXTENDS} files")
    try:
        data, raw = tomlfile.load(path)
    except UserError as exc:
        raise ScenarioError(str(exc)) from None
    unknown = set(data) - TOP_LEVEL_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise ScenarioError(f"{path.name}: unknown key '{key}'{suggest(key, TOP_LEVEL_KEYS)}")
    _check_fields(data, path.name)
    digest = hashlib.sha256(raw)
    base_overrides: dict = {}
    if "extends" in data:
        base_path = _extends_path(path, data["extends"], scenario_dir, bundled_only)
        # a bundled scenario is trusted: its own extends follow the usual rules
        base = _load(base_path, model, scenario_dir, (*chain, path))
        base_overrides = dict(base.overrides)
        digest.update(base.sha256.encode())
    levers = data.get("levers", {})
    overrides = base_overrides
    overrides.update(validate_overrides(model, levers, path.name))
    sources = data.get("sources", {})
    return Scenario(
        name=path.stem,
        overrides=overrides,
        titles={k: data[f"title_{k}"] for k in ("zh", "en") if f"title_{k}" in data},
        descriptions={k: data[f"description_{k}"] for k in ("zh", "en") if f"description_{k}" in data},
        sources={canonical_id(k): v for k, v in sources.items()},
        use_calibration=data.get("use_calibration", True),
        path=path,
        sha256=digest.hexdigest(),
    )


def _check_fields(data: dict, where: str) -> None:
    """Type of every top-level field; all problems in one line."""
    problems = []
    for key in ("title_zh", "title_en", "description_zh", "description_en"):
        if key in data and not isinstance(data[key], str):
            problems.append(f"'{key}' must be a string, got {_kind(data[key])}")
    if "use_calibration" in data and not isinstance(data["use_calibration"], bool):
        problems.append(f"'use_calibration' must be true or false (a TOML boolean), got {data['use_calibration']!r}")
    if "levers" in data and not isinstance(data["levers"], dict):
        problems.append("[levers] must be a table of name = value")
    if "sources" in data:
        sources = data["sources"]
        if not isinstance(sources, dict):
            problems.append(f"[sources] must be a table of name = \"text\", got {_kind(sources)}")
        else:
            bad = [k for k, v in sources.items() if not isinstance(v, str)]
            if bad:
                problems.append(f"[sources] '{bad[0]}' must be a string, got {_kind(sources[bad[0]])}")
    if problems:
        raise fail(where, "; ".join(problems))


def _kind(value) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array",
             dict: "a table"}
    return names.get(type(value), type(value).__name__)


def validate_overrides(model: Model, levers: dict, where: str) -> dict:
    """Check names, kinds, ranges and years; return id -> float or list of (year, value), and one
    ``id[element,...]`` -> float per cell of a subscripted lever (see :mod:`simulator.model.cells`).

    ``where`` names the file, or the library parameter (``"overrides"``) the levers came through.
    """
    out = {}
    spelt: dict[str, str] = {}
    for key, value in levers.items():
        base, inner = cells.split(key)
        eid = canonical_id(base)
        if inner is None and eid in spelt and spelt[eid] != key:
            raise fail(where, f"'{spelt[eid]}' and '{key}' are the same lever; give it once")
        spelt.setdefault(eid, key)
        element = model.elements.get(eid)
        if element is None:
            known = compat.message(base)
            if known:
                raise fail(where, known)
            raise fail(where, f"unknown variable '{base}'{suggest(base, model.levers)}")
        if not element.is_lever:
            raise fail(where, f"'{base}' is not a lever (it is a {element.kind} without a range)")
        if cells.is_subscripted(model, key, value):
            if element.kind != "constant" and cells.cells(model, eid):
                raise fail(where, f"'{key}': only subscripted constants can be set, '{base}' is a {element.kind}")
            out.update(cells.expand(model, key, value, where, element.limits[:2]))
            continue
        if element.kind == "time_path" and not isinstance(value, (list, tuple)):
            # one number for a path: the policy holds it from the policy start year; history is kept
            value = [[labels().policy.get("start_year", model.time["initial_time"]), value]]
        if isinstance(value, (list, tuple)):
            if element.kind != "time_path":
                raise fail(where, f"'{key}' is a constant; give one number, not a time path")
            path = _time_path(value, element, where, key)
            _check_years(model, element, path, where, key)
            out[eid] = _splice(element.default, path)
        else:
            out[eid] = _number(value, element, where, key)
    return out


def validate_constants(model: Model, overrides: dict, where: str = "overrides") -> dict:
    """Overrides of any constant of ``model`` on its own defaults (any Vensim model: no lever ranges needed).

    ``name = 3.0`` sets a constant (every cell of a subscripted one), ``name[a,b] = 3.0`` one cell,
    ``name = {a = 3.0, b = 4.0}`` the named cells; values must be finite numbers. Returns id -> float and
    ``id[a,b]`` -> float per cell; unknown names and elements raise one line with the closest matches.
    """
    out = {}
    for key, value in overrides.items():
        base, _ = cells.split(key)
        element = model.elements.get(canonical_id(base))
        if element is None:
            constants = [k for k, e in model.elements.items() if e.kind == "constant"]
            raise fail(where, f"unknown variable '{base}'{suggest(base, constants)}")
        if element.kind != "constant":
            raise fail(where, f"'{key}' is not a constant (it is a{'n' if element.kind[0] in 'aeiou' else ''} "
                              f"{element.kind})")
        if cells.is_subscripted(model, key, value):
            out.update(cells.expand(model, key, value, where))
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise fail(where, f"'{key}' must be a finite number, got {value!r}")
        else:
            out[element.id] = float(value)
    return out


def history_anchor(model: Model) -> float | None:
    """The last year of calibrated history (policy start year - 1), before which a policy path may not
    differ from the model's; None when the labels name no policy start."""
    start = labels().policy.get("start_year")
    return None if start is None else float(start) - 1


def _check_years(model: Model, element, path: list, where: str, key: str) -> None:
    """Years within INITIAL..FINAL TIME; a policy path may not rewrite the history before the anchor."""
    t0, t1 = model.time["initial_time"], model.time["final_time"]
    for year, _ in path:
        if not t0 <= year <= t1:
            raise fail(where, f"'{key}' time path year {year:g} is outside the model's years "
                                f"{t0:g}..{t1:g}")
    anchor = history_anchor(model)
    if anchor is None or element.id not in set(labels().policy.get("paths", [])):
        return
    years, values = zip(*element.default, strict=True)
    for year, value in path:
        if year < anchor:
            history = float(np.interp(year, years, values))
            if abs(value - history) > 1e-9 * max(1.0, abs(history)):
                raise fail(
                    where, f"'{key}' time path point {year:g} is before {anchor:g} and would rewrite the "
                    f"calibrated history (there {history:g}); start the path at {anchor:g} or later")


def _number(value, element, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise fail(where, f"'{key}' must be a number, got {value!r}")
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        raise fail(where, f"'{key}' must be a finite number, got {value}")
    low, high, _ = element.limits
    if (low is not None and value < low) or (high is not None and value > high):
        raise fail(where, f"'{key}' = {value:g} is outside its range [{low:g}, {high:g}] {element.units}")
    return value


def _time_path(points, element, where: str, key: str) -> list:
    path = []
    for point in points:
        if not isinstance(point, (list, tuple)) or len(point) != 2:
            raise fail(where, f"'{key}' time path must be [[year, value], ...], got {point!r}")
        year, value = point
        if isinstance(year, bool) or not isinstance(year, (int, float)) or not math.isfinite(year):
            raise fail(where, f"'{key}' time path has a non-numeric year {year!r}")
        path.append((float(year), _number(value, element, where, f"{key}[{year}]")))
    if not path:
        raise fail(where, f"'{key}' time path is empty")
    years = [p[0] for p in path]
    if any(b <= a for a, b in zip(years, years[1:], strict=False)):
        raise fail(where, f"'{key}' time path years must be strictly increasing, got {years}")
    return path


def _splice(default: list, path: list) -> list:
    """A scenario's path replaces the model's from its first year on; earlier points are kept
    (so a path given from 2020 leaves the calibrated 2015-2019 history as it is)."""
    first = path[0][0]
    return [p for p in default if p[0] < first] + path


def parse_set(items: list[str]) -> dict:
    """Parse CLI ``NAME=VALUE`` items; VALUE is a number or a TOML array of [year, value]."""
    out = {}
    for item in items:
        if "=" not in item:
            raise ScenarioError(f"set: expected NAME=VALUE, got '{item}'", param="set")
        name, text = item.split("=", 1)
        if tomlfile.nesting_depth(f"v = {text}") > tomlfile.MAX_DEPTH:
            raise ScenarioError(f"set: '{name.strip()}' value is nested too deeply", param="set")
        try:
            out[name.strip()] = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            raise ScenarioError(f"set: '{name.strip()}' value '{text}' is not a number", param="set") from None
    return out


def scenario_toml(head: dict, levers: dict, sources: dict | None = None) -> str:
    """A scenario file's text: the one writer of scenario TOML (the app's downloads, goal seeking's answers).

    ``head`` holds the top-level keys (titles, descriptions, ``extends``, ``use_calibration``); ``levers``
    id -> number or time path [[year, value], ...], written one lever a line with integer years as
    integers; ``sources`` id -> why.
    """
    import tomli_w

    def value(v):
        if isinstance(v, (list, tuple)):
            points = ", ".join(f"[{int(y) if float(y).is_integer() else float(y)!r}, {float(x)!r}]" for y, x in v)
            return f"[{points}]"
        return repr(float(v))

    lines = "\n".join(f"{k} = {value(v)}" for k, v in levers.items())
    text = f"{tomli_w.dumps(head)}\n[levers]\n{lines}\n"
    if sources:
        text += f"\n{tomli_w.dumps({'sources': sources})}"
    return text


# --------------------------------------------------------------------------- policy timing
# the step sits just before the start year, so every time step up to it reads the old value
_EDGE = 1e-6


def policy_levers(labels) -> tuple[float | None, frozenset]:
    """(start year or None, ids of the constants that are policy levers)."""
    table = labels.policy or {}
    return table.get("start_year"), frozenset(table.get("levers", []))


def timed(base, value, t0: float, start: float):
    """``base`` before ``start``, ``value`` from ``start`` on.

    Parameters
    ----------
    base, value : float or ndarray (R,)
        Value before and from the start year (per run when arrays).
    t0, start : float
        Initial time and policy start year [Year].

    Returns
    -------
    list of (year, value) for scalars, :class:`TimePath` with per-run values for arrays.
    """
    if start <= t0:
        return value
    years = [t0, start - _EDGE, start]
    if np.ndim(value) == 0 and np.ndim(base) == 0:
        return [(t0, float(base)), (start - _EDGE, float(base)), (start, float(value))]
    n = max(np.size(value), np.size(base))
    base = np.broadcast_to(np.asarray(base, float), (n,))
    value = np.broadcast_to(np.asarray(value, float), (n,))
    return TimePath(np.asarray(years), np.stack([base, base, value], axis=1))


def time_policy(model: Model, labels, history: dict, overrides: dict) -> dict:
    """Time the policy constants of ``overrides``; ``history`` gives their pre-policy values
    (calibrated values, else the model's defaults)."""
    start, levers = policy_levers(labels)
    if start is None:
        return dict(overrides)
    t0 = model.time["initial_time"]
    out = {}
    for key, value in overrides.items():
        element = model.elements.get(key)
        if key in levers and element is not None and element.kind == "constant" and not isinstance(value, list):
            out[key] = timed(history.get(key, element.default), value, t0, start)
        else:
            out[key] = value
    return out
