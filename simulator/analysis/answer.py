"""Goal seeking's answer as a scenario file that ``extends`` the starting scenario."""

from __future__ import annotations

import os
from pathlib import Path

from simulator.analysis.goalseek import GoalSeekResult
from simulator.atomic import write_text
from simulator.errors import UserError
from simulator.project import Project
from simulator.scenarios import scenario_toml


def scenario_text(result: GoalSeekResult, out: Path | None = None) -> str:
    """The answer as a scenario file (TOML) that ``extends`` the starting scenario.

    ``out`` is where it will be written: a starting scenario outside ``scenarios/`` is extended by its
    path relative to that folder; one without a file is copied in whole instead.
    """
    start, settings = result.start, result.settings
    names = ", ".join(settings["targets"])
    how = "deterministically" if settings["p"] is None else (
        f"with probability >= {settings['p']:g} {'jointly ' if settings['joint'] else ''}over {settings['n']} "
        f"samples of the uncertain inputs (seed {settings['seed']}, {settings['sampler']})")
    zh, en = ("", "") if result.feasible else ("(在杠杆取值范围内无法达到,此为最接近的可达点)",
                                               " (out of reach within the levers' ranges: the closest reachable point)")
    head = {"title_zh": f"目标反推:{start.title('zh')} → {names}{zh}",
            "title_en": f"Goal seeking: {start.title('en')} → {names}{en}",
            "description_zh": f"在情景“{start.title('zh')}”基础上,为达到目标 {names} 所需的最小杠杆调整"
                              f"(距离按各杠杆取值范围归一化,{settings['norm']} 范数){zh}。",
            "description_en": f"The smallest change to the levers of '{start.title('en')}' that meets {names} {how} "
                              f"(distance in each lever's range, {settings['norm']} norm){en}."}
    levers = dict(result.overrides)
    if start.path is not None:
        folder = (Path(out).parent if out is not None else Path.cwd()).resolve()
        in_dir = start.path.parent == Project.default().scenario_dir.resolve()
        head["extends"] = start.name if in_dir else os.path.relpath(start.path, folder)
    else:
        levers = {**start.overrides, **levers}
    if not start.use_calibration:
        head["use_calibration"] = False
    changes = dict(zip(result.levers["lever"], result.levers["change_pct"], strict=True))
    sources = {k: f"goal seeking for targets {names} {how}, from scenario '{start.name}': {changes[k]:+.2f} % of "
                  "the lever's range" for k in result.overrides}
    return scenario_toml(head, levers, sources)


def write_scenario(result: GoalSeekResult, path: str | Path) -> Path:
    """Write :func:`scenario_text` to ``path`` (a .toml file in an existing folder)."""
    path = Path(path)
    if path.suffix != ".toml":
        raise UserError(f"out {path}: a scenario file must end in .toml", param="out")
    if not path.resolve().parent.is_dir():
        raise UserError(f"out {path}: folder {path.resolve().parent} does not exist", param="out")
    write_text(path, scenario_text(result, path))
    return path
