"""The one lever type: a model input with a range (a constant or a time path), as sampling, goal seeking,
attribution and sweeps move it.

A time-path lever moves with one number, its value in the plan year (``[years] plan`` of labels.toml): the
path keeps its shape and is shifted by ``delta * ramp(t)``, the ramp rising linearly from 0 in the last
history year (so history is untouched) to 1 in the plan year and staying 1 after, clipped to the range. A
policy constant acts from the policy start year (``[policy] start_year``), as every run times it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from simulator.engines.fast import TimePath
from simulator.errors import UserError
from simulator.model.labels import Labels
from simulator.model.mdl import Model, suggest
from simulator.model.naming import canonical_id
from simulator.scenarios import policy_levers, timed


@dataclass(frozen=True)
class Lever:
    """A model input with a range, being moved: a constant, or a time path moved by its value in the
    plan year (``ramp[1]``).

    ``start``, ``low``, ``high`` are in the lever's unit; ``path`` holds the starting path
    (years (K,), values (K,)) of a time-path lever on the years it is written with; ``ramp`` the
    (last history year, plan year) over which a moved path departs from its start [Year].
    """

    id: str
    kind: str
    start: float
    low: float
    high: float
    weight: float = 1.0
    path: tuple | None = None
    timing: tuple | None = None  # (history value, initial time, policy start year) of a timed policy constant
    ramp: tuple | None = None

    @classmethod
    def of(cls, model: Model, ident: str, value=None, weight: float = 1.0) -> Lever:
        """The lever ``ident`` of ``model`` at ``value`` (default: the model's), validated by name and kind."""
        element = model.elements.get(canonical_id(ident))
        if element is None:
            raise UserError(f"levers: unknown lever '{ident}'{suggest(ident, model.levers)}", param="levers")
        if not element.is_lever:
            raise UserError(f"levers: '{ident}' is not a lever (a {element.kind} without a range)", param="levers")
        low, high, _ = element.limits
        return cls(element.id, element.kind, element.default if value is None else value, low, high, weight)

    def contains(self, values) -> bool:
        """True when every value is finite and inside [low, high]."""
        array = np.asarray(values, float)
        return bool(np.isfinite(array).all() and array.min() >= self.low and array.max() <= self.high)

    def swing(self, level: float, share: float | None = None) -> tuple[float, float]:
        """Low and high ends of a swing: the range's ends (``share`` None), else level -+ share x span, clipped."""
        if share is None:
            return self.low, self.high
        step = share * self.span
        return max(self.low, level - step), min(self.high, level + step)

    @property
    def span(self) -> float:
        return self.high - self.low

    def values(self, z: np.ndarray) -> np.ndarray:
        return self.start + np.asarray(z, float) * self.span

    def override(self, values: np.ndarray):
        """Per-run values (R,) as a fast-engine parameter (an array, or per-run TimePath)."""
        if self.kind != "time_path":
            if self.timing is not None:
                history, t0, start = self.timing
                return timed(history, np.asarray(values, float), t0, start)
            return np.asarray(values, float)
        years, base = self.path
        first, reached = self.ramp
        ramp = np.clip((years - first) / (reached - first), 0.0, 1.0)
        paths = np.clip(base + np.outer(np.asarray(values, float) - self.start, ramp), self.low, self.high)
        return TimePath(years, paths)

    def scenario_value(self, value: float):
        """The value as a scenario writes it: a number or [[year, value], ...]."""
        if self.kind != "time_path":
            return float(value)
        path = self.override(np.array([value]))
        # 10 significant digits: far finer than any margin kept (SAFETY), and readable
        return [[int(y) if y == int(y) else float(y), round_value(v)] for y, v in zip(path.years, path.values[0],
                                                                                strict=True)]


def make_lever(model: Model, ident: str, fixed: dict, labels: Labels, weight: float = 1.0) -> Lever:
    """Describe lever ``ident`` at its starting value in ``fixed`` (the resolved scenario overrides).

    ``labels`` gives the policy timing of constants and the ramp years of paths (``[policy]``, ``[years]``).
    """
    element = model.element(Lever.of(model, ident).id)
    low, high, _ = element.limits
    if element.kind == "constant":
        value = fixed.get(element.id, element.default)
        if isinstance(value, list):  # a policy constant timed by simulator.policy: history, then the setting
            (t0, history), *_, (start, setting) = value
            return Lever(element.id, "constant", float(setting), low, high, weight, None,
                         (float(history), float(t0), float(start)))
        start_year, policy = policy_levers(labels)
        if element.id in policy and start_year is not None:
            return Lever(element.id, "constant", float(value), low, high, weight, None,
                         (float(value), float(model.time["initial_time"]), float(start_year)))
        return Lever(element.id, "constant", float(value), low, high, weight)
    points = fixed.get(element.id, element.default)
    base_years, base_values = (np.asarray(a, float) for a in zip(*points, strict=True))
    ramp = (float(labels.year("last_history")), float(labels.year("plan")))
    years = np.union1d(base_years, ramp)
    start = float(np.interp(ramp[1], base_years, base_values))
    return Lever(element.id, "time_path", start, low, high, weight, (years, np.interp(years, base_years, base_values)),
                 ramp=ramp)




def default_levers(model: Model, sectors: dict, uncertain: Sequence[str], policy: dict | None = None) -> list[str]:
    """Policy levers: those of the labels' sectors (else every model lever), minus uncertain inputs;
    when ``policy`` (labels' [policy] table) is given, only its constants and paths (events such as shocks
    are not listed there, so they are never moved by default)."""
    grouped = [lever for sector in sectors.values() for lever in sector.get("levers", []) if lever in model.levers]
    if policy:
        allowed = set(policy.get("levers", [])) | set(policy.get("paths", []))
        grouped = [lever for lever in grouped if lever in allowed]
    candidates = dict.fromkeys(grouped or model.levers)
    return [c for c in candidates if c not in set(uncertain)]




def round_value(value: float) -> float:
    return float(f"{value:.10g}")
